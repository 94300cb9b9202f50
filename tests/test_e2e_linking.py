"""Linking end to end: codes, the parent's phone, link requests, trusted persons, refusals."""

from __future__ import annotations

import asyncio
from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import callbacks as cbs
from bot.callbacks import ChildCb, GrantCb, GrantOp, InviteCb, LinkDecisionCb, UnlinkCb
from db.enums import CodeKind, LinkMethod, RequestStatus
from db.models import (
    AccessCode,
    Account,
    AuditEntry,
    Guardianship,
    LinkRequest,
    Student,
    TrustedAccess,
)
from services.core.audit import AuditAction
from services.people.codes import issue_code_for
from tests import factories as f
from tests.harness import CODE_KEYS, App
from tests.snapshot import assert_unchanged, db_snapshot
from tests.test_linking_integrity import table_contents


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


async def _count(app: App, model: Any, *where: Any) -> int:
    async with app.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def test_parent_with_matching_phone_is_confirmed_at_once(
    app: App, school: f.SmallSchool
) -> None:
    code = await f.parent_code(app.session_factory, school.unlinked_student_id, None)
    mom = app.user(5001, first_name="Анна", language_code="ru")
    await mom.send(f"/start {code}")
    assert mom.last.reply_markup is not None
    assert "keyboard" in mom.last.reply_markup
    assert "Мария" not in mom.last.text, "nothing of the child before confirmation"
    await mom.send_contact("8 (916) 123-45-67")
    assert "Мария &lt;Смирнова&gt;" in mom.last.html
    async with app.session_factory() as session:
        link = await session.scalar(
            select(Guardianship)
            .join(Account, Account.id == Guardianship.account_id)
            .where(Account.telegram_id == 5001)
        )
        assert link is not None
        assert link.student_id == school.unlinked_student_id
        assert link.method == LinkMethod.PHONE_MATCH
        used = await session.scalar(
            select(AccessCode.used_at).where(AccessCode.used_by_id.is_not(None))
        )
        assert used is not None
    await mom.send("/start")
    assert "Мария" in mom.last.text
    assert app.fake.errors == []


async def test_unknown_phone_goes_to_class_teacher_who_approves(
    app: App, school: f.SmallSchool
) -> None:
    code = await f.parent_code(
        app.session_factory, school.unlinked_student_id, school.unlinked_guardian_id
    )
    dad = app.user(5002, first_name="Пётр", last_name="<Смирнов>", language_code="en")
    teacher = app.user(f.CLASS_TEACHER, language_code="ru")
    admin = app.user(f.ADMIN, language_code="ru")
    await dad.send(code.lower())
    await dad.send_contact("+7 900 000-00-00")
    assert "went to the class teacher" in dad.last.text
    assert await _count(app, Guardianship, Guardianship.account_id.is_not(None)) == 2
    assert await app.deliver_notifications() == 2
    request_message = teacher.last
    assert "&lt;Смирнов&gt;" in request_message.html
    assert "Анна Смирнова" in request_message.text
    assert admin.last.text == request_message.text
    await teacher.press(request_message, text="✅ Подтвердить")
    assert "Подтверждено" in teacher.last.text
    async with app.session_factory() as session:
        request = await session.scalar(select(LinkRequest))
        assert request is not None
        assert request.status == RequestStatus.APPROVED
        link = await session.scalar(
            select(Guardianship).where(Guardianship.student_id == school.unlinked_student_id)
        )
        assert link is not None
        assert link.method == LinkMethod.APPROVED
    # the admin's copy is now stale: pressing it says it was decided, changes nothing
    await admin.press(admin.last, text="❌ Отклонить")
    assert "уже" in admin.callback_answers[-1]["text"]
    assert await app.deliver_notifications() == 1
    assert "confirmed you" in dad.last.text
    assert app.fake.errors == []


async def test_someone_elses_contact_is_refused(app: App, school: f.SmallSchool) -> None:
    code = await f.parent_code(app.session_factory, school.unlinked_student_id, None)
    user = app.user(5003, language_code="en")
    await user.send(f"/start {code}")
    await user.send_contact(f.MOM_PHONE, user_id=777)
    assert "your own number" in user.last.text
    await user.send("hello")
    assert "waiting for your phone" in user.last.text
    assert await _count(app, Account, Account.telegram_id == 5003) == 0
    await user.send("Cancel")
    assert "Cancelled" in user.last.text
    assert app.fake.errors == []


async def test_student_and_staff_codes_link_at_once(app: App, school: f.SmallSchool) -> None:
    async with app.session_factory() as session:
        student_code = await issue_code_for(
            session,
            kind=CodeKind.STUDENT,
            student_id=school.unlinked_student_id,
            created_by_id=None,
            keys=CODE_KEYS,
        )
        staff_code = await issue_code_for(
            session,
            kind=CodeKind.STAFF,
            staff_id=school.staff["unlinked"],
            created_by_id=None,
            keys=CODE_KEYS,
        )
        await session.commit()
    pupil = app.user(5004, language_code="en")
    await pupil.send(f"/start {student_code.code}")
    assert "Your diary is connected" in pupil.last.text
    teacher = app.user(5005, language_code="en")
    await teacher.send(staff_code.display)
    assert "staff account is connected" in teacher.last.text
    await teacher.send("/start")
    assert "teacher" in teacher.last.text
    # the same code a second time is used up
    intruder = app.user(5006, language_code="en")
    await intruder.send(f"/start {student_code.code}")
    assert "already been used" in intruder.last.text
    async with app.session_factory() as session:
        student = await session.get(Student, school.unlinked_student_id)
        assert student is not None
        owner = await session.get(Account, student.account_id)
        assert owner is not None
        assert owner.telegram_id == 5004
    assert app.fake.errors == []


async def test_brute_force_hits_the_limit(app: App, school: f.SmallSchool) -> None:
    attacker = app.user(5007, language_code="en")
    for _ in range(5):
        await attacker.send("/start ABCDEFGHJK")
        assert "not valid" in attacker.last.text
    await attacker.send("/start ABCDEFGHJM")
    assert "Too many wrong codes" in attacker.last.text
    # even a valid code is refused while locked out
    code = await f.parent_code(app.session_factory, school.unlinked_student_id, None)
    await attacker.send(f"/start {code}")
    assert "Too many wrong codes" in attacker.last.text
    failed = await _count(app, AuditEntry, AuditEntry.action == AuditAction.CODE_FAILED)
    assert failed == 5
    assert app.fake.errors == []


async def test_trusted_person_invited_used_and_revoked(app: App, school: f.SmallSchool) -> None:
    parent = app.user(f.PARENT, language_code="en")
    await parent.send("/access")
    assert "Репетитор" in parent.last.text
    await parent.press(text="➕ Invite a trusted person")
    await parent.press(text="▫️ Attendance")
    await parent.press(text="✅ Homework")
    await parent.press(text="📨 Create the invitation")
    text = parent.last.text
    assert "https://t.me/parta_test_bot?start=" in text
    code = text.split("?start=")[1].split()[0]
    tutor = app.user(5008, first_name="Tutor", language_code="en")
    await tutor.send(f"/start {code}")
    assert "read-only access" in tutor.last.text
    async with app.session_factory() as session:
        grant = await session.scalar(
            select(TrustedAccess)
            .join(Account, Account.id == TrustedAccess.account_id)
            .where(Account.telegram_id == 5008)
        )
        assert grant is not None
        assert grant.scopes == 1 | 4
        grant_id = grant.id
    assert await app.deliver_notifications() == 1
    assert "accepted your invitation" in parent.last.text
    await parent.send("/access")
    await parent.press(text="⚙️ Tutor")
    # revoking asks first; "Cancel" goes back to the grant and changes nothing
    before = await table_contents(app.session_factory)
    await parent.press(text="🚫 Revoke access")
    assert "Revoke Tutor's access to Пётр Иванов's diary?" in parent.last.text
    assert parent.last.button_texts() == ["Yes, revoke", "Cancel"]
    await parent.press(text="Cancel")
    assert "Sees: grades, attendance" in parent.last.text
    assert await table_contents(app.session_factory) == before
    await parent.press(text="🚫 Revoke access")
    await parent.press(text="Yes, revoke")
    assert parent.callback_answers[-1]["text"] == "Access revoked."
    assert "Who can see Пётр Иванов's diary" in parent.last.text
    async with app.session_factory() as session:
        grant = await session.get(TrustedAccess, grant_id)
        assert grant is not None
        assert grant.revoked_at is not None
    await tutor.send("/start")
    assert "Пётр" not in tutor.last.text
    assert app.fake.errors == []


FORGED = [
    (
        "parent decides a link request",
        f.PARENT,
        lambda s: LinkDecisionCb(request_id=1, approve=True),
    ),
    (
        "parent revokes another family's grant",
        f.PARENT,
        lambda s: GrantCb(grant_id=s.other_grant_id, op=GrantOp.REVOKE),
    ),
    (
        "parent opens another family's grant",
        f.PARENT,
        lambda s: GrantCb(grant_id=s.other_grant_id, op=GrantOp.OPEN),
    ),
    (
        "parent invites to another child",
        f.PARENT,
        lambda s: InviteCb(student_id=s.other_student_id, scopes=15, expiry=1, create=True),
    ),
    (
        "parent unlinks another family",
        f.PARENT,
        lambda s: UnlinkCb(guardianship_id=s.other_guardianship_id, confirm=True),
    ),
    (
        "parent switches to another child",
        f.PARENT,
        lambda s: ChildCb(student_id=s.other_student_id),
    ),
    (
        "student invites a tutor",
        f.STUDENT,
        lambda s: InviteCb(student_id=s.student_id, scopes=15, expiry=1, create=True),
    ),
    (
        "student revokes the tutor",
        f.STUDENT,
        lambda s: GrantCb(grant_id=s.trusted_grant_id, op=GrantOp.REVOKE),
    ),
    (
        "tutor unlinks the parent",
        f.TRUSTED,
        lambda s: UnlinkCb(guardianship_id=s.parent_guardianship_id, confirm=True),
    ),
    (
        "tutor widens own scopes",
        f.TRUSTED,
        lambda s: GrantCb(grant_id=s.trusted_grant_id, op=GrantOp.SCOPES, value=15),
    ),
    (
        "teacher revokes a parent",
        f.TEACHER,
        lambda s: UnlinkCb(guardianship_id=s.parent_guardianship_id, confirm=True),
    ),
    (
        "stranger revokes a grant",
        5999,
        lambda s: GrantCb(grant_id=s.trusted_grant_id, op=GrantOp.REVOKE),
    ),
    (
        "student confirms revoking the tutor",
        f.STUDENT,
        lambda s: GrantCb(grant_id=s.trusted_grant_id, op=GrantOp.REVOKE, confirm=True),
    ),
    (
        "parent confirms revoking another family's grant",
        f.PARENT,
        lambda s: GrantCb(grant_id=s.other_grant_id, op=GrantOp.REVOKE, confirm=True),
    ),
    (
        "teacher confirms revoking a grant",
        f.TEACHER,
        lambda s: GrantCb(grant_id=s.trusted_grant_id, op=GrantOp.REVOKE, confirm=True),
    ),
]


@pytest.mark.parametrize(("case", "telegram_id", "make"), FORGED, ids=[c[0] for c in FORGED])
async def test_forged_buttons_change_nothing(
    app: App, school: f.SmallSchool, case: str, telegram_id: int, make: Any
) -> None:
    async with app.session_factory() as session:
        session.add(LinkRequest(student_id=school.unlinked_student_id, account_id=1))
        await session.commit()
    user = app.user(telegram_id, language_code="en")
    await user.send("/language")
    before = await db_snapshot(app.session_factory)
    await user.press(data=make(school).pack())
    answer = user.callback_answers[-1]
    assert answer.get("show_alert") is True, case
    await assert_unchanged(app.session_factory, before, case)
    assert app.fake.unanswered_callbacks() == []
    assert app.fake.errors == []


REFUSAL = "Sorry, you don't have access to this."
STAFF_SERVICES = [
    ("services.people.linking", "pending_requests"),
    ("services.people.linking", "decide"),
    ("services.people.linking", "who_can_see"),
    ("services.people.school", "visible_classes"),
    ("services.people.school", "class_access"),
    ("services.people.school", "class_name_for_codes"),
    ("services.people.school", "issue_class_codes"),
]


async def test_staff_screens_are_gated_to_staff_before_any_service_runs(
    app: App, school: f.SmallSchool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Families and strangers never reach the staff's linking screens: the router refuses
    /requests, /classes, /codes and their buttons with the policy's refusal (the services
    would refuse too, but for a parent's own child's access list; remove the gate and this
    test fails)."""
    reached: list[str] = []

    def tripwire(name: str) -> Any:
        async def called(*args: Any, **kwargs: Any) -> Any:
            reached.append(name)
            raise AssertionError(f"{name} reached")

        return called

    for module, name in STAFF_SERVICES:
        monkeypatch.setattr(f"{module}.{name}", tripwire(name))
    async with app.session_factory() as session:
        request = LinkRequest(student_id=school.unlinked_student_id, account_id=1)
        session.add(request)
        await session.commit()
        request_id = request.id
    presses = [
        cbs.MenuCb(screen=cbs.Screen.REQUESTS),
        cbs.MenuCb(screen=cbs.Screen.CLASSES),
        cbs.MenuCb(screen=cbs.Screen.CODES),
        LinkDecisionCb(request_id=request_id, approve=True),
        cbs.ClassCb(class_id=school.class_7b),
        cbs.StudentAccessCb(student_id=school.student_id),
        cbs.CodesCb(class_id=school.class_7b, kind=CodeKind.PARENT),
    ]
    before = await db_snapshot(app.session_factory)
    for telegram_id in (f.PARENT, f.STUDENT, f.TRUSTED, 5999):
        user = app.user(telegram_id, language_code="en")
        for command in ("/requests", "/classes", "/codes"):
            await user.send(command)
            assert user.last.text == REFUSAL, (telegram_id, command)
        for data in presses:
            await user.press(user.last, data=data.pack())
            answer = user.callback_answers[-1]
            assert (answer["text"], answer.get("show_alert")) == (REFUSAL, True), data
    assert reached == []
    await assert_unchanged(app.session_factory, before)
    assert app.fake.unanswered_callbacks() == []
    assert app.fake.errors == []


async def test_admin_issues_letters_from_the_bot(app: App, school: f.SmallSchool) -> None:
    admin = app.user(f.ADMIN, language_code="en")
    await admin.send("/codes")
    await admin.press(text="7B")
    await admin.press(text="👨‍👩‍👧 Parents' letters")
    documents = [m for m in admin.messages if m.document]
    assert len(documents) == 2
    pdf = app.fake.files[documents[0].document["file_id"]].content
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "Мария" in text
    assert await _count(app, AccessCode) == 2  # one per student of 7B (Пётр's guardian, Мария's)
    teacher = app.user(f.TEACHER, language_code="en")
    await teacher.send("/codes")
    assert "don't have access" in teacher.last.text
    assert app.fake.errors == []


async def test_class_teacher_sees_who_has_access(app: App, school: f.SmallSchool) -> None:
    teacher = app.user(f.CLASS_TEACHER, language_code="en")
    await teacher.send("/classes")
    await teacher.press(text="7B")
    overview = teacher.last.text
    assert "Ирина Иванова" in overview
    assert "Репетитор Репетиторович" in overview
    assert "no parent connected" in overview
    assert "Олег" not in overview
    before = await db_snapshot(app.session_factory)
    await teacher.press(data=f"cl:{school.class_5a}")
    assert teacher.callback_answers[-1].get("show_alert") is True
    await assert_unchanged(app.session_factory, before)
    assert app.fake.errors == []


async def test_attempt_limit_is_configurable(
    fake_telegram: Any,
    db_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    school: f.SmallSchool,
) -> None:
    strict = await App.start(fake_telegram, db_url, session_factory, code_attempts_per_hour=2)
    try:
        attacker = strict.user(5010, language_code="en")
        await attacker.send("/start ABCDEFGHJK")
        await attacker.send("/start ABCDEFGHJK")
        assert "1 attempt left" not in attacker.last.text
        await attacker.send("/start ABCDEFGHJK")
        assert "Too many wrong codes" in attacker.last.text
    finally:
        await strict.stop()


# --- issue 9: one winner, nobody their own parent, no phone kept, run-through ---------------


async def _invitation_link(parent: Any) -> str:
    await parent.send("/access")
    await parent.press(text="➕ Invite a trusted person")
    await parent.press(text="📨 Create the invitation")
    return str(parent.last.text.split("?start=")[1].split()[0])


async def test_invitation_opened_by_two_accounts_at_once(
    app: App, school: f.SmallSchool, db_url: str
) -> None:
    """Both open the link at the same moment: one gets access, the other is told in their
    language that it was taken; the parent is told the winner's name."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a real race needs concurrent writers: PostgreSQL")
    parent = app.user(f.PARENT, language_code="en")
    for round_ in range(5):
        code = await _invitation_link(parent)
        tutor = app.user(5100 + 2 * round_, first_name=f"Tutor{round_}", language_code="en")
        granny = app.user(5101 + 2 * round_, first_name=f"Granny{round_}", language_code="ru")
        await asyncio.gather(tutor.send(f"/start {code}"), granny.send(f"/start {code}"))
        granted = [u for u in (tutor, granny) if "Пётр Иванов" in u.last.text]
        assert len(granted) == 1, (tutor.last.text, granny.last.text)
        winner = granted[0]
        loser = granny if winner is tutor else tutor
        taken = {
            "en": "already been accepted from another Telegram account",
            "ru": "уже принято с другого аккаунта Telegram",
        }
        assert taken[loser.language_code] in loser.last.text
        async with app.session_factory() as session:
            holder = await session.scalar(
                select(Account.telegram_id)
                .join(TrustedAccess, TrustedAccess.account_id == Account.id)
                .order_by(TrustedAccess.id.desc())
                .limit(1)
            )
        assert holder == winner.id
        assert await app.deliver_notifications() == 1
        assert f"{winner.first_name} accepted your invitation" in parent.last.text
        await loser.send("/start")
        assert "Пётр" not in loser.last.text
    assert app.fake.errors == []


async def test_student_cannot_use_own_parents_letter(app: App, school: f.SmallSchool) -> None:
    code = await f.parent_code(app.session_factory, school.student_id, None)
    before = await table_contents(app.session_factory)
    student = app.user(f.STUDENT, language_code="ru")
    await student.send(f"/start {code}")
    assert "Это письмо для родителя ученика" in student.last.text
    assert student.last.reply_markup is None or "keyboard" not in student.last.reply_markup
    await student.send(code)  # typed: the same
    assert "Это письмо для родителя ученика" in student.last.text
    assert await table_contents(app.session_factory) == before
    await student.send("/start")
    assert student.last.text.count("Пётр Иванов") == 2  # the greeting and one child entry
    assert "родитель" not in student.last.text
    # the parent's own letter still works for the parent (a new account: a second guardian)
    dad = app.user(5201, first_name="Папа", language_code="en")
    await dad.send(f"/start {code}")
    assert "The code is valid" in dad.last.text
    assert app.fake.errors == []


async def test_request_from_the_students_account_is_flagged_and_refused(
    app: App, school: f.SmallSchool
) -> None:
    """A request made before the fix (the student's account asked to be the parent): the class
    teacher sees a warning, "Approve" is refused and changes nothing, "Reject" works; the
    student keeps one entry and /access keeps working for the real parent."""
    async with app.session_factory() as session:
        student = await session.get(Student, school.student_id)
        assert student is not None
        session.add(
            LinkRequest(student_id=student.id, account_id=student.account_id, phone="+79005550010")
        )
        await session.commit()
    teacher = app.user(f.CLASS_TEACHER, language_code="en")
    await teacher.send("/requests")
    request_message = teacher.last
    assert "the applicant and the student are the same person" in request_message.text
    assert request_message.button_texts() == ["❌ Reject"]
    forged_approve = LinkDecisionCb(request_id=1, approve=True)
    async with app.session_factory() as session:
        forged_approve.request_id = int(await session.scalar(select(LinkRequest.id)) or 0)
    before = await table_contents(app.session_factory)
    await teacher.press(request_message, data=forged_approve.pack())
    answer = teacher.callback_answers[-1]
    assert answer.get("show_alert") is True
    assert "cannot be approved" in answer["text"]
    assert await table_contents(app.session_factory) == before
    assert teacher.last.button_texts() == ["❌ Reject"]
    await teacher.press(teacher.last, text="❌ Reject")
    assert "Rejected by" in teacher.last.text
    async with app.session_factory() as session:
        request = await session.scalar(select(LinkRequest))
        assert request is not None
        assert request.status == RequestStatus.REJECTED
        assert request.phone is None
    pupil = app.user(f.STUDENT, language_code="en")
    await pupil.send("/start")
    assert pupil.last.text.count("Пётр Иванов") == 2  # the greeting and one child entry
    parent = app.user(f.PARENT, language_code="en")
    await parent.send("/access")
    assert "Who can see Пётр Иванов's diary" in parent.last.text
    assert app.fake.errors == []


async def test_waiting_parent_is_told_the_request_is_pending(
    app: App, school: f.SmallSchool
) -> None:
    code = await f.parent_code(app.session_factory, school.unlinked_student_id, None)
    dad = app.user(5202, first_name="Пётр", language_code="en")
    await dad.send(f"/start {code}")
    await dad.send_contact("+7 900 000-00-11")
    assert "went to the class teacher" in dad.last.text
    before = await table_contents(app.session_factory)
    await dad.send(f"/start {code}")
    assert "your request is with the class teacher" in dad.last.text
    assert "already been used" not in dad.last.text
    await dad.send(code)
    assert "your request is with the class teacher" in dad.last.text
    await dad.send("/start")
    assert "Your request to connect is with the class teacher" in dad.last.text
    assert await table_contents(app.session_factory) == before
    # once approved, the same link says so
    teacher = app.user(f.CLASS_TEACHER, language_code="en")
    await teacher.send("/requests")
    await teacher.press(text="✅ Approve")
    await dad.send(f"/start {code}")
    assert "already connected to this child" in dad.last.text
    assert app.fake.errors == []


async def test_non_matching_phone_is_not_kept_after_rejection(
    app: App, school: f.SmallSchool
) -> None:
    code = await f.parent_code(app.session_factory, school.unlinked_student_id, None)
    stranger = app.user(5203, first_name="Чужой", language_code="ru")
    await stranger.send(f"/start {code}")
    await stranger.send_contact("+7 900 555-00-12")
    async with app.session_factory() as session:
        account = await session.scalar(select(Account).where(Account.telegram_id == 5203))
        assert account is not None
        assert account.phone is None
    contents = await table_contents(app.session_factory)
    holders = [name for name, rows in contents.items() if "+79005550012" in repr(rows)]
    assert sorted(holders) == ["link_requests", "notification_outbox"]
    teacher = app.user(f.CLASS_TEACHER, language_code="ru")
    app.user(f.ADMIN, language_code="ru")
    assert await app.deliver_notifications() == 2
    assert "+79005550012" in teacher.last.text  # the class teacher needs it to decide
    await teacher.press(teacher.last, text="❌ Отклонить")
    contents = await table_contents(app.session_factory)
    assert [name for name, rows in contents.items() if "9005550012" in repr(rows)] == []
    assert app.fake.errors == []


async def test_student_made_their_own_parent_before_the_fix(
    app: App, school: f.SmallSchool
) -> None:
    """Data the old bug left (the student approved as their own parent): the child is listed
    once, as the student; /access answers (no parent screen, no error); the real parent's
    /access works."""
    async with app.session_factory() as session:
        student = await session.get(Student, school.student_id)
        assert student is not None
        assert student.account_id is not None
        session.add(
            Guardianship(
                student_id=student.id, account_id=student.account_id, method=LinkMethod.APPROVED
            )
        )
        await session.commit()
    pupil = app.user(f.STUDENT, language_code="en")
    await pupil.send("/start")
    assert pupil.last.text.count("Пётр Иванов") == 2  # the greeting and one child entry
    assert "👥 Who can see my child" not in pupil.last.button_texts()
    await pupil.send("/access")
    assert "not connected to a child as a parent" in pupil.last.text
    parent = app.user(f.PARENT, language_code="en")
    await parent.send("/access")
    assert "Who can see Пётр Иванов's diary" in parent.last.text
    assert app.fake.errors == []


async def test_invitations_are_read_like_codes_and_other_letters_are_refused_plainly(
    app: App, school: f.SmallSchool
) -> None:
    """A 12-character text that cannot be an invitation (Cyrillic, emoji) is refused as an
    invalid code, costs no attempt and breaks nothing (it used to reach the ASCII-only hash and
    end in the apology); an invitation typed with the Cyrillic look-alikes of a Russian keyboard
    layout is the invitation, as a school code is."""
    from db.models import CodeAttempt
    from services.core.actors import load_actor
    from services.people import linking

    stranger = app.user(5011, language_code="en")
    for text in ["/start АБВГДЕЖЗИЙКЛ", "/start " + "💥" * 12]:
        await stranger.send(text)
        assert "This code is not valid" in stranger.last.text, text
    await stranger.send("ЖЖЖЖ-ЖЖЖЖ-ЖЖЖЖ")  # typed: not taken for a code at all
    assert "did not recognise that as an access code" in stranger.last.text
    assert await _count(app, CodeAttempt) == 0
    async with app.session_factory() as session:
        actor = await load_actor(session, f.PARENT)
        _, code = await linking.create_invitation(
            session,
            actor,
            actor.children[0].student_id,
            scopes=1,
            expires_at=None,
            label="Бабушка",
            keys=CODE_KEYS,
        )
    lookalikes = str.maketrans("ABCEHKMPTX", "АВСЕНКМРТХ")
    typed = f"{code[:4]}-{code[4:8]}-{code[8:]}".translate(lookalikes).lower()
    assert typed.upper() != code.upper()
    tutor = app.user(5012, first_name="Tutor", language_code="en")
    await tutor.send(typed)
    assert "read-only access" in tutor.last.text
    assert app.fake.errors == []


async def test_invitations_waiting_at_once_are_limited(app: App, school: f.SmallSchool) -> None:
    """Pressing "Create the invitation" again and again piles up no invitations: /access, one
    message with a line and a button per invitation, stays whole."""
    from services.core.schooltime import utcnow
    from services.people.linking import PENDING_INVITES_LIMIT, pending_invitations

    parent = app.user(f.PARENT, language_code="en")
    for _ in range(PENDING_INVITES_LIMIT + 1):
        await parent.send("/access")
        await parent.press(text="➕ Invite a trusted person")
        await parent.press(text="📨 Create the invitation")
    assert "Too many invitations are waiting" in parent.callback_answers[-1]["text"]
    async with app.session_factory() as session:
        waiting = await pending_invitations(session, school.student_id, utcnow())
    assert waiting == PENDING_INVITES_LIMIT
    await parent.send("/access")
    assert "Who can see" in parent.last.text
    assert parent.last.button_texts().count("⚙️ Invitation") == PENDING_INVITES_LIMIT
    assert app.fake.errors == []
