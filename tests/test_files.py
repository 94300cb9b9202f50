"""Files belong to the school: the bytes of homework attachments and submitted work are kept
under FILES_DIR when they arrive, fetched again by a job when that failed, and uploaded from
there when Telegram no longer knows a file_id (a new bot token); with no copy either, the
user is told. End to end through the fake Bot API on both databases."""

from __future__ import annotations

import logging
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendDocument
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks.diary import HomeworkFilesCb, HomeworkItemCb
from bot.config import Settings, files_dir_for
from bot.files import Files, files_gone, is_dead_file_id, upload_name
from db.enums import AttachmentKind
from db.models import (
    Homework,
    HomeworkAttachment,
    Lesson,
    SubmissionFile,
    TeachingAssignment,
)
from services.core.files import KeepOutcome, KeptFile, NewFile, keep_file
from services.core.filestore import DownloadError, FileStore
from tests import clock
from tests import factories as f
from tests.fakes.telegram_api import ChatMessage, FakeUser
from tests.harness import App

MB = 1024 * 1024
TASK = b"%PDF-1.4 the task " + bytes(range(256)) * 40


# --- the store ------------------------------------------------------------------------------


async def test_store_paths_are_sharded_hex_names_under_the_root(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    path = store.path_for("AQADx7oxG-abc_1")
    assert path.parent.parent.parent == store.root
    assert len(path.parent.name) == len(path.parent.parent.name) == 2
    # ids only Telegram should send, but a restored database may hold anything: never a way out
    for hostile in ("../../etc/passwd", "/abs", "a/b", "..", "con", "ä\0x"):
        resolved = store.path_for(hostile).resolve()
        assert resolved.is_relative_to(store.root.resolve()), hostile
        assert resolved.parent.parent.parent == store.root.resolve(), hostile
    assert bytes.fromhex(path.name).decode() == "AQADx7oxG-abc_1"
    # ids differing only in case stay apart on case-insensitive file systems
    assert store.path_for("AbC").name.lower() != store.path_for("aBc").name.lower()
    for bad in ("", "x" * 65):
        with pytest.raises(ValueError, match="not a file_unique_id"):
            store.path_for(bad)


async def test_store_saves_atomically_reads_back_and_lists(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    assert not store.exists("U1")
    assert await store.read("U1") is None
    assert store.files() == []
    path = await store.save("U1", b"first")
    await store.save("U1", b"second")  # the same file again: replaced whole
    assert store.exists("U1")
    assert await store.read("U1") == b"second"
    assert store.files() == [path]
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file left"
    assert store.missing(["U1", "U2"]) == {"U2"}


async def test_keep_file_outcomes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = FileStore(tmp_path)
    asked: list[str] = []

    async def download(file_id: str, destination: BinaryIO) -> None:
        asked.append(file_id)
        destination.write(b"bytes of ")
        if file_id == "broken":  # a download that fails half-way leaves nothing behind
            raise DownloadError("Bad Request: file is too big")
        destination.write(file_id.encode())

    file = KeptFile(AttachmentKind.DOCUMENT, "F1", "U1", "a.txt", 10)
    assert await keep_file(store, download, file, max_size=None) == KeepOutcome.KEPT
    assert await keep_file(store, download, file, max_size=None) == KeepOutcome.PRESENT
    assert asked == ["F1"]
    big = KeptFile(AttachmentKind.DOCUMENT, "F2", "U2", None, 21 * MB)
    assert await keep_file(store, download, big, max_size=20 * MB) == KeepOutcome.TOO_BIG
    assert asked == ["F1"], "known too big for the Bot API: not even tried"
    broken = KeptFile(AttachmentKind.DOCUMENT, "broken", "U3")
    with caplog.at_level(logging.WARNING, "parta.files"):
        assert await keep_file(store, download, broken, max_size=None) == KeepOutcome.FAILED
    assert "file is too big" in caplog.text
    assert await store.read("U1") == b"bytes of F1"
    assert store.missing(["U2", "U3"]) == {"U2", "U3"}
    assert not [p for p in store.root.glob("*/*/.*") if p.is_file()], "no temporary file left"


# --- settings -------------------------------------------------------------------------------


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_files_dir_defaults_next_to_the_sqlite_file_else_the_working_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FILES_DIR", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert _settings().files_dir == Path("parta-files")
    url = "sqlite+aiosqlite:///data/school.sqlite3"
    assert _settings(database_url=url).files_dir == Path("data/parta-files")
    assert files_dir_for("sqlite+aiosqlite:///:memory:") == Path("parta-files")
    postgres = "postgresql+asyncpg://parta@db/parta"
    assert _settings(database_url=postgres).files_dir == Path("parta-files")
    monkeypatch.setenv("FILES_DIR", "store/kept")
    assert _settings(database_url=url).files_dir == Path("store/kept")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("FILES_DIR")
    assert _settings().files_dir == Path("data/parta-files")


def test_a_new_file_is_kept_cut_to_what_its_row_holds() -> None:
    """`NewFile.columns` is the one place a file meets the column sizes: the teacher's homework
    attachments and the student's submitted files both go through it."""
    long = NewFile(AttachmentKind.DOCUMENT, "i" * 300, "u" * 70, "n" * 300, "m" * 200, 5)
    columns = long.columns()
    assert {name: len(columns[name]) for name in ("file_id", "file_unique_id")} == {
        "file_id": 255,
        "file_unique_id": 64,
    }
    assert {name: len(columns[name]) for name in ("file_name", "mime_type")} == {
        "file_name": 255,
        "mime_type": 128,
    }
    assert (columns["kind"], columns["file_size"]) == (AttachmentKind.DOCUMENT, 5)
    bare = NewFile(AttachmentKind.PHOTO, "id", "uid", "", "").columns()
    assert (bare["file_name"], bare["mime_type"], bare["file_size"]) == (None, None, None)
    assert set(columns) <= set(HomeworkAttachment.__table__.c.keys())
    assert set(columns) <= set(SubmissionFile.__table__.c.keys())


def test_dead_file_id_answers() -> None:
    method = SendDocument(chat_id=1, document="x")
    for text in (
        "Bad Request: wrong file identifier/HTTP URL specified",
        "Bad Request: FILE_REFERENCE_EXPIRED",
        "Bad Request: invalid file_id",
        "Bad Request: wrong remote file identifier specified: Wrong padding in the string",
    ):
        assert is_dead_file_id(TelegramBadRequest(method, text)), text
    for text in ("Bad Request: type of file mismatch", "Bad Request: chat not found"):
        assert not is_dead_file_id(TelegramBadRequest(method, text)), text


# --- the fake Bot API can play a new bot token and a local Bot API server --------------------


@pytest.mark.allow_telegram_errors("api")
async def test_fake_forgets_file_ids_and_can_allow_big_downloads(app: App) -> None:
    user = app.user(f.PARENT, language_code="en")
    kept = app.fake.store_file("document", b"x" * 100, file_name="a.txt")
    big = app.fake.store_file("document", b"\0" * (20 * MB + 1), file_name="big.bin")
    await app.bot.send_document(user.id, kept.file_id)
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await app.bot.get_file(big.file_id)
    app.fake.download_limit = 30 * MB
    assert (await app.bot.get_file(big.file_id)).file_size == 20 * MB + 1
    app.fake.forget_files(kept.file_id)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await app.bot.send_document(user.id, kept.file_id)
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await app.bot.get_file(kept.file_id)
    await app.bot.get_file(big.file_id)
    app.fake.forget_files()
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await app.bot.get_file(big.file_id)


# --- end to end -----------------------------------------------------------------------------


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


async def _lesson(
    session_factory: async_sessionmaker[AsyncSession], class_id: int, day: date, number: int
) -> int:
    async with session_factory() as session:
        assignment = await session.scalar(
            select(TeachingAssignment).where(TeachingAssignment.class_id == class_id)
        )
        assert assignment is not None
        lesson = Lesson(
            assignment_id=assignment.id,
            class_id=class_id,
            subject_id=assignment.subject_id,
            date=day,
            lesson_number=number,
            starts_at=time(8 + number, 0),
            ends_at=time(8 + number, 45),
        )
        session.add(lesson)
        await session.commit()
        return lesson.id


@pytest.fixture
async def lessons(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> tuple[int, int]:
    """Today's 7B lesson of the factory's teacher, and the next one (the homework's due day)."""
    today = clock.school_today()
    return (
        await _lesson(session_factory, school.class_7b, today, 1),
        await _lesson(session_factory, school.class_7b, today + timedelta(days=3), 2),
    )


def _button(message: ChatMessage | None, fragment: str) -> str:
    assert message is not None
    for text in message.button_texts():
        if fragment in text:
            return text
    raise AssertionError(f"no button with {fragment!r}: {message.button_texts()}")


async def _homework_with_a_file(app: App, content: bytes, name: str = "task.pdf") -> int:
    """The teacher writes today's homework with a document; returns the homework id."""
    teacher = app.user(f.TEACHER, language_code="en")
    await teacher.send(f"/journal {clock.school_today().isoformat()}")
    await teacher.press(teacher.last, text=_button(teacher.last, "7B"))
    await teacher.press(teacher.last, text="📚 Homework")
    await teacher.press(teacher.last, text="✏️ Write")
    await teacher.send_document(name, content, caption="Exercises 1-5")
    assert teacher.last is not None
    assert name in teacher.last.text
    async with app.session_factory() as session:
        homework_id = await session.scalar(select(Homework.id))
    assert homework_id is not None
    return homework_id


async def _attachments(app: App) -> list[HomeworkAttachment]:
    async with app.session_factory() as session:
        return list(await session.scalars(select(HomeworkAttachment)))


async def _open_attachments(
    app: App, school: f.SmallSchool, homework_id: int
) -> tuple[FakeUser, ChatMessage]:
    """The parent opens the homework and asks for its attachments; returns the parent and
    the homework's message."""
    parent = app.user(f.PARENT, language_code="en")
    await parent.send("/homework")
    item = HomeworkItemCb(student_id=school.student_id, homework_id=homework_id)
    await parent.press(parent.last, data=item.pack())
    screen = parent.last
    assert screen is not None
    await parent.press(screen, text=_button(screen, "📎 Attachments"))
    return parent, screen


@pytest.mark.allow_telegram_errors("api")  # Telegram's answer to the forgotten file_id
async def test_attachment_is_kept_and_uploaded_again_after_a_new_bot_token(
    app: App, school: f.SmallSchool, lessons: tuple[int, int]
) -> None:
    homework_id = await _homework_with_a_file(app, TASK)
    await app.files.drain()
    [row] = await _attachments(app)
    assert app.files.store.root == app.settings.files_dir
    assert await app.files.store.read(row.file_unique_id) == TASK
    assert app.files.store.path_for(row.file_unique_id).is_relative_to(app.settings.files_dir)

    app.fake.forget_files()  # the school's bot gets a new token: every old file_id is dead
    app.fake.reset_records()
    parent, screen = await _open_attachments(app, school, homework_id)
    sent = parent.last
    assert sent is not None
    assert sent.document is not None
    assert sent.document["file_name"] == "task.pdf"
    assert "task.pdf (1/1)" in sent.content
    assert [e.description for e in app.fake.errors] == [
        "Bad Request: wrong file identifier/HTTP URL specified"
    ]
    upload = app.fake.calls_to("sendDocument")[-1]["document"]
    assert (upload.filename, upload.content) == ("task.pdf", TASK)
    [again] = await _attachments(app)
    assert again.file_id == sent.document["file_id"] != row.file_id
    assert again.file_unique_id == row.file_unique_id, "the copy keeps its name"
    assert "show_alert" not in parent.callback_answers[-1]

    # the next time it goes by the new file_id: no error, no upload
    app.fake.reset_records()
    await parent.press(screen, text=_button(screen, "📎 Attachments"))
    assert app.fake.calls_to("sendDocument")[-1]["document"] == again.file_id
    assert app.fake.errors == []


@pytest.mark.allow_telegram_errors("api")
async def test_a_file_gone_from_telegram_without_a_copy_is_said_so(
    app: App, school: f.SmallSchool, lessons: tuple[int, int]
) -> None:
    homework_id = await _homework_with_a_file(app, TASK)
    await app.files.drain()
    [row] = await _attachments(app)
    app.files.store.path_for(row.file_unique_id).unlink()
    app.fake.forget_files()
    parent, _screen = await _open_attachments(app, school, homework_id)
    answer = parent.callback_answers[-1]
    assert answer["show_alert"] is True
    assert answer["text"] == (
        "This file is no longer on Telegram, and the school kept no copy of it."
    )
    [unchanged] = await _attachments(app)
    assert unchanged.file_id == row.file_id
    assert parent.last is not None
    assert parent.last.document is None, "nothing was sent"
    # in Russian (the default locale) too
    parent.language_code = "ru"
    files = HomeworkFilesCb(student_id=school.student_id, homework_id=homework_id, offset=0)
    await parent.press(data=files.pack())
    i18n = app.dp["i18n"]
    with i18n.context(), i18n.use_locale("ru"):
        expected = files_gone(1)
    assert expected == "Этого файла больше нет в Telegram, а копии у школы не осталось."
    assert parent.callback_answers[-1]["text"] == expected


@pytest.mark.allow_telegram_errors("api")
async def test_submitted_work_is_kept_and_reaches_the_teacher_after_a_new_token(
    app: App, school: f.SmallSchool, lessons: tuple[int, int]
) -> None:
    homework_id = await _homework_with_a_file(app, TASK)
    student = app.user(f.STUDENT, language_code="en")
    await student.send("/homework")
    item = HomeworkItemCb(student_id=school.student_id, homework_id=homework_id)
    await student.press(student.last, data=item.pack())
    await student.press(student.last, text="📤 Hand in")
    work = b"my work " * 1000
    await student.send_document("work.txt", work)
    await student.press(student.last, text="✅ Done")
    await app.files.drain()
    async with app.session_factory() as session:
        [row] = list(await session.scalars(select(SubmissionFile)))
    assert await app.files.store.read(row.file_unique_id) == work

    app.fake.forget_files()
    app.fake.reset_records()
    teacher = app.user(f.TEACHER)
    await teacher.press(teacher.last, text=_button(teacher.last, "📥 Submissions"))
    await teacher.press(teacher.last, text=_button(teacher.last, "Иванов"))
    await teacher.press(teacher.last, text="📎 Files (1)")
    documents = [m.document for m in teacher.messages if m.document is not None]
    assert documents[-1]["file_name"] == "work.txt"
    upload = app.fake.calls_to("sendDocument")[-1]["document"]
    assert upload.content == work
    async with app.session_factory() as session:
        [again] = list(await session.scalars(select(SubmissionFile)))
    assert again.file_id == documents[-1]["file_id"] != row.file_id


async def test_a_25_mb_file_is_saved_and_its_bytes_fetched_once_a_local_server_allows_it(
    app: App, school: f.SmallSchool, lessons: tuple[int, int]
) -> None:
    """Over the Bot API's 20 MB (also through a server at TELEGRAM_API_URL that is not in
    local mode): the file is saved, its bytes never asked for (getFile would answer 400), and
    fetched once TELEGRAM_API_LOCAL says the server has no such limit."""
    big = b"\x01" * (25 * MB)
    await _homework_with_a_file(app, big, "video.mp4")
    await app.files.drain()
    [row] = await _attachments(app)
    assert row.file_size == 25 * MB
    assert row.file_name == "video.mp4"
    assert not app.files.store.exists(row.file_unique_id)
    report = await app.files.keep_missing(app.bot, app.session_factory)
    assert report.counts[KeepOutcome.TOO_BIG] == 1
    assert app.fake.calls_to("getFile") == [], "known too big: not asked for"
    assert app.fake.errors == []

    app.fake.download_limit = 2000 * MB  # the school moved to a local Bot API server
    local = Settings(_env_file=None, telegram_api_local=True, files_dir=app.files.store.root)  # type: ignore[call-arg]
    app.files.max_size = Files.from_settings(local).max_size
    report = await app.files.keep_missing(app.bot, app.session_factory)
    assert report.counts[KeepOutcome.KEPT] == 1
    assert await app.files.store.read(row.file_unique_id) == big
    report = await app.files.keep_missing(app.bot, app.session_factory)
    assert report.counts == dict.fromkeys(KeepOutcome, 0), "nothing missing any more"


def test_only_a_local_bot_api_server_lifts_the_download_limit(tmp_path: Path) -> None:
    def limit(**values: Any) -> int | None:
        settings = Settings(_env_file=None, files_dir=tmp_path, **values)  # type: ignore[call-arg]
        return Files.from_settings(settings).max_size

    assert limit() == 20 * MB
    assert limit(telegram_api_url="http://127.0.0.1:8081") == 20 * MB
    assert limit(telegram_api_url="http://127.0.0.1:8081", telegram_api_local=True) is None


async def test_the_job_respects_the_official_limit_and_the_batch(
    app: App, school: f.SmallSchool, lessons: tuple[int, int]
) -> None:
    """With the official Bot API (no TELEGRAM_API_URL) files known to be over 20 MB are not
    even asked for; a run takes at most its batch, newest first, and leaves the rest."""
    from services.core.files import keep_missing_files

    async with app.session_factory() as session:
        homework = Homework(
            lesson_id=lessons[0],
            class_id=school.class_7b,
            subject_id=(await session.get(Lesson, lessons[0])).subject_id,  # type: ignore[union-attr]
            due_date=clock.school_today(),
            text="t",
        )
        session.add(homework)
        await session.flush()
        for number in range(3):
            stored = app.fake.store_file("document", b"%d" % number, file_name=f"{number}.txt")
            session.add(
                HomeworkAttachment(
                    homework_id=homework.id,
                    kind=AttachmentKind.DOCUMENT,
                    file_id=stored.file_id,
                    file_unique_id=stored.file_unique_id,
                    file_size=21 * MB if number == 0 else stored.size,
                )
            )
        await session.commit()
    download = app.files.downloader(app.bot)
    store = app.files.store
    report = await keep_missing_files(
        app.session_factory, store, download, max_size=20 * MB, limit=1
    )
    assert report.counts[KeepOutcome.KEPT] == 1
    assert report.deferred == 2
    assert {p.name for p in store.files()} == {store.path_for(_uid(app, "2.txt")).name}
    report = await keep_missing_files(app.session_factory, store, download, max_size=20 * MB)
    assert report.counts[KeepOutcome.KEPT] == 1
    assert report.counts[KeepOutcome.TOO_BIG] == 1
    assert app.fake.calls_to("getFile")
    assert all(c["file_id"] != _file_id(app, "0.txt") for c in app.fake.calls_to("getFile"))


def _uid(app: App, name: str) -> str:
    return next(s.file_unique_id for s in app.fake.files.values() if s.file_name == name)


def _file_id(app: App, name: str) -> str:
    return next(s.file_id for s in app.fake.files.values() if s.file_name == name)


@pytest.mark.allow_telegram_errors("api")
async def test_one_gone_file_does_not_stop_the_others(
    app: App, school: f.SmallSchool, lessons: tuple[int, int]
) -> None:
    homework_id = await _homework_with_a_file(app, TASK)
    teacher = app.user(f.TEACHER)
    await teacher.press(teacher.last, text="📎 Add files")
    await teacher.send_document("answers.txt", b"the answers")
    await teacher.press(teacher.last, text="✅ Done")
    await app.files.drain()
    first, second = sorted(await _attachments(app), key=lambda row: row.id)
    app.files.store.path_for(first.file_unique_id).unlink()
    app.fake.forget_files()
    parent, _screen = await _open_attachments(app, school, homework_id)
    answer = parent.callback_answers[-1]
    assert answer["show_alert"] is True
    assert answer["text"].startswith("This file is no longer on Telegram")
    documents = [m.document for m in parent.messages if m.document is not None]
    assert [d["file_name"] for d in documents] == ["answers.txt"]
    rows = {row.id: row for row in await _attachments(app)}
    assert rows[first.id].file_id == first.file_id
    assert rows[second.id].file_id == documents[0]["file_id"]


async def test_the_job_forgets_copies_no_row_uses(
    app: App, school: f.SmallSchool, lessons: tuple[int, int]
) -> None:
    """A copy whose file no homework or submission row uses any more (a replaced
    submission) is deleted by the job once it is older than the grace period; a copy in use,
    and an unused one written just now (its row may be on its way), stay."""
    import os
    import time

    from services.core.files import UNUSED_GRACE, keep_missing_files

    async with app.session_factory() as session:
        homework = Homework(
            lesson_id=lessons[0],
            class_id=school.class_7b,
            subject_id=(await session.get(Lesson, lessons[0])).subject_id,  # type: ignore[union-attr]
            due_date=clock.school_today(),
            text="t",
        )
        session.add(homework)
        await session.flush()
        kept = app.fake.store_file("document", b"in use", file_name="used.txt")
        session.add(
            HomeworkAttachment(
                homework_id=homework.id,
                kind=AttachmentKind.DOCUMENT,
                file_id=kept.file_id,
                file_unique_id=kept.file_unique_id,
                file_size=kept.size,
            )
        )
        await session.commit()
    store = app.files.store
    old = time.time() - 2 * UNUSED_GRACE.total_seconds()  # the product's clock, travelled or not
    for uid in (kept.file_unique_id, "replaced-submission"):
        path = await store.save(uid, b"bytes")
        os.utime(path, (old, old))
    fresh = await store.save("just-arrived", b"bytes")
    os.utime(fresh, (time.time(), time.time()))  # "now" on the product's clock
    report = await keep_missing_files(
        app.session_factory, store, app.files.downloader(app.bot), max_size=None
    )
    assert report.forgotten == 1
    assert store.exists(kept.file_unique_id)
    assert store.exists("just-arrived")
    assert not store.exists("replaced-submission")
    # a second run has nothing left to forget
    again = await keep_missing_files(
        app.session_factory, store, app.files.downloader(app.bot), max_size=None
    )
    assert again.forgotten == 0


async def test_a_revoked_parent_pressing_next_under_a_file_is_told_why(
    app: App, school: f.SmallSchool, lessons: tuple[int, int]
) -> None:
    """The "📎 Next" button sits under the last file sent, a document. A parent whose link
    was revoked since presses it: the explanation that replaces the pressed screen cannot be
    written into a document ("there is no text in the message to edit"), so it comes as a
    new message; it used to end in Telegram's 400, an unhandled error and the apology."""
    from sqlalchemy import update

    from db.base import utcnow
    from db.models import Guardianship

    homework_id = await _homework_with_a_file(app, TASK)
    teacher = app.user(f.TEACHER)
    await teacher.press(teacher.last, text="📎 Add files")
    for name in ("b.txt", "c.txt", "d.txt"):
        await teacher.send_document(name, name.encode())
    await teacher.press(teacher.last, text="✅ Done")
    parent, _screen = await _open_attachments(app, school, homework_id)
    under = parent.last
    assert under is not None
    assert under.document is not None
    assert under.button_texts() == ["📎 Next: 4–4 of 4"]
    async with app.session_factory() as session:
        await session.execute(
            update(Guardianship)
            .where(Guardianship.id == school.parent_guardianship_id)
            .values(revoked_at=utcnow())
        )
        await session.commit()
    sent = len(parent.messages)
    await parent.press(under, text="📎 Next: 4–4 of 4")
    assert app.fake.errors == []
    assert len(parent.messages) == sent + 1
    assert under.document is not None  # the file stays as it was
    assert "something went wrong" not in parent.last.text  # type: ignore[union-attr]
    assert "Пётр" in parent.last.text  # type: ignore[union-attr]


def test_names_of_uploads_lose_what_a_file_system_or_a_multipart_header_refuses() -> None:
    """One rule for every file the bot sends: a report card named after a student, a file a
    teacher attached, the report of an uploaded roster."""
    assert upload_name('Иванов; "Ваня" <b>/\\:*?|', "pdf") == "Иванов Ваня b.pdf"
    assert upload_name(";;;", "txt") == "file.txt"
    assert upload_name("x" * 300, "pdf") == "x" * 120 + ".pdf"
    assert upload_name("tab\there\nnewline", "") == "tab here newline"
