"""Access codes: format, normalization, hashing, issuing, revocation, statuses and the attempt
limit, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.enums import CodeKind
from db.models import (
    AcademicYear,
    AccessCode,
    Account,
    AuditEntry,
    CodeAttempt,
    Enrollment,
    Guardian,
    School,
    SchoolClass,
    Staff,
    Student,
    StudentGuardian,
)
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.people import codes
from services.people.codes import (
    ALPHABET,
    CODE_LENGTH,
    CodeStatus,
    attempts_left,
    claim_code,
    deep_link,
    format_code,
    generate_code,
    normalize_code,
    prune_attempts,
    record_attempt,
)
from tests.harness import CODE_KEYS

NOW = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)

# the service under the test key (every caller passes the deployment's keys)
issue_codes = partial(codes.issue_codes, keys=CODE_KEYS)
issue_code_for = partial(codes.issue_code_for, keys=CODE_KEYS)
check_code = partial(codes.check_code, keys=CODE_KEYS)
find_code = partial(codes.find_code, keys=CODE_KEYS)


def hash_code(code: str) -> str:
    return codes.hash_code(code, CODE_KEYS)[1]


# --- a small school -----------------------------------------------------------------------


@dataclass
class SchoolData:
    school_id: int
    admin_id: int
    class_id: int
    students: dict[str, int] = field(default_factory=dict)
    guardians: dict[str, int] = field(default_factory=dict)
    staff: dict[str, int] = field(default_factory=dict)


async def make_school(session: AsyncSession, *, name: str = "Школа № 1") -> SchoolData:
    """School, a past and a current year, class 7B (3 students, one who left), guardians,
    staff, and an admin account."""
    school = School(name=name)
    session.add(school)
    await session.flush()
    past = AcademicYear(
        school_id=school.id,
        name="2024/25",
        starts_on=date(2024, 9, 1),
        ends_on=date(2025, 5, 31),
        is_current=False,
    )
    year = AcademicYear(
        school_id=school.id,
        name="2025/26",
        starts_on=date(2025, 9, 1),
        ends_on=date(2026, 5, 31),
        is_current=True,
    )
    admin = Account(telegram_id=1000 + school.id, full_name="Admin")
    session.add_all([past, year, admin])
    await session.flush()
    old_class = SchoolClass(school_id=school.id, year_id=past.id, name="7B", grade_level=7)
    cls = SchoolClass(school_id=school.id, year_id=year.id, name="7B", grade_level=7)
    session.add_all([old_class, cls])
    await session.flush()

    data = SchoolData(school_id=school.id, admin_id=admin.id, class_id=cls.id)
    names = ["Иванова Мария", "Петров Пётр", "Сидоров Саша", "Ушедший Ученик", "Old Student"]
    students = {n: Student(school_id=school.id, full_name=n) for n in names}
    guardians = {
        n: Guardian(school_id=school.id, full_name=n, phone=p)
        for n, p in [
            ("Иванова Анна", "+79990000001"),
            ("Иванов Олег", "+79990000002"),
            ("Петрова Ольга", None),
        ]
    }
    staff = {n: Staff(school_id=school.id, full_name=n) for n in ["Учитель Один", "Учитель Два"]}
    session.add_all([*students.values(), *guardians.values(), *staff.values()])
    await session.flush()
    session.add_all(
        [
            Enrollment(student_id=students["Иванова Мария"].id, class_id=cls.id),
            Enrollment(student_id=students["Петров Пётр"].id, class_id=cls.id),
            Enrollment(student_id=students["Сидоров Саша"].id, class_id=cls.id),
            Enrollment(
                student_id=students["Ушедший Ученик"].id,
                class_id=cls.id,
                left_on=date(2025, 9, 20),
            ),
            Enrollment(student_id=students["Old Student"].id, class_id=old_class.id),
            StudentGuardian(
                student_id=students["Иванова Мария"].id, guardian_id=guardians["Иванова Анна"].id
            ),
            StudentGuardian(
                student_id=students["Иванова Мария"].id, guardian_id=guardians["Иванов Олег"].id
            ),
            StudentGuardian(
                student_id=students["Петров Пётр"].id, guardian_id=guardians["Петрова Ольга"].id
            ),
        ]
    )
    await session.flush()
    data.students = {n: s.id for n, s in students.items()}
    data.guardians = {n: g.id for n, g in guardians.items()}
    data.staff = {n: s.id for n, s in staff.items()}
    return data


async def add_class(
    session: AsyncSession, data: SchoolData, name: str, size: int, guardians_each: int
) -> None:
    year_id = await session.scalar(
        select(AcademicYear.id).where(
            AcademicYear.school_id == data.school_id, AcademicYear.is_current
        )
    )
    assert year_id is not None
    cls = SchoolClass(school_id=data.school_id, year_id=year_id, name=name, grade_level=5)
    students = [
        Student(school_id=data.school_id, full_name=f"{name} ученик {i}") for i in range(size)
    ]
    guardians = [
        Guardian(school_id=data.school_id, full_name=f"{name} родитель {i}")
        for i in range(size * guardians_each)
    ]
    session.add_all([cls, *students, *guardians])
    await session.flush()
    session.add_all([Enrollment(student_id=s.id, class_id=cls.id) for s in students])
    session.add_all(
        [
            StudentGuardian(student_id=s.id, guardian_id=guardians[i * guardians_each + j].id)
            for i, s in enumerate(students)
            for j in range(guardians_each)
        ]
    )
    await session.flush()


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


# --- the code itself ----------------------------------------------------------------------


def test_alphabet_has_no_look_alikes_and_enough_entropy() -> None:
    assert len(set(ALPHABET)) == len(ALPHABET) == 32
    assert not set(ALPHABET) & set("0O1I")
    assert CODE_LENGTH * math.log2(len(ALPHABET)) >= 50


def test_generated_codes_are_random_over_the_alphabet() -> None:
    codes = [generate_code() for _ in range(4000)]
    assert all(len(c) == CODE_LENGTH and set(c) <= set(ALPHABET) for c in codes)
    assert len(set(codes)) == len(codes)
    counts = Counter("".join(codes))
    expected = 4000 * CODE_LENGTH / len(ALPHABET)  # 1250 per character
    assert set(counts) == set(ALPHABET)
    assert all(abs(n - expected) < 0.2 * expected for n in counts.values())


def test_display_and_deep_link() -> None:
    assert format_code("ABCDEFGHJK") == "ABCD-EFGH-JK"
    link = deep_link("@Parta_Bot", "abcd-efgh-jk")
    assert link == "https://t.me/Parta_Bot?start=ABCDEFGHJK"
    payload = link.rsplit("=", 1)[1]
    assert payload.isalnum()
    assert len(payload) <= 64
    with pytest.raises(ValueError, match="username"):
        deep_link("bad bot/../x", "ABCDEFGHJK")


@pytest.mark.parametrize(
    "typed",
    [
        "ABCDEFGHJK",
        "abcd efgh jk",
        "ABCD-EFGH-JK",
        "  abcd-efgh-jk\n",
        "ab cd–ef gh—jk",
        "АВСD-ЕFGН-JК",  # Cyrillic А, В, С, Е, Н, К typed in a Russian layout
        "ＡＢＣＤ－ＥＦＧＨ－ＪＫ",  # fullwidth, as an East Asian keyboard types it
    ],
)
def test_normalize_accepts_what_people_type(typed: str) -> None:
    assert normalize_code(typed) == "ABCDEFGHJK"
    secret = CODE_KEYS.current.secret
    expected = hmac.new(secret, b"code:ABCDEFGHJK", hashlib.sha256).hexdigest()
    assert hash_code(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["", "ABCD-EFGH-J", "ABCD-EFGH-JKL", "ABCD-EFGH-J0", "ABCD-EFGH-JO", "ABCD-EFGH-J1", "ЖЖЖЖ"],
)
def test_normalize_rejects_malformed(typed: str) -> None:
    assert normalize_code(typed) is None
    with pytest.raises(DomainError) as info:
        hash_code(typed)
    assert info.value.key == "codes.malformed"


# --- issuing ------------------------------------------------------------------------------


async def _all_values(session: AsyncSession, table: str) -> list[str]:
    rows = (await session.execute(text(f'SELECT * FROM "{table}"'))).all()
    return [str(v) for row in rows for v in row]


async def test_issue_student_codes_stores_only_hashes(session: AsyncSession) -> None:
    data = await make_school(session)
    issued = await issue_codes(
        session,
        school_id=data.school_id,
        class_name="7B",
        kind=CodeKind.STUDENT,
        created_by_id=data.admin_id,
        now=NOW,
    )
    await session.commit()

    assert [c.person_name for c in issued] == ["Иванова Мария", "Петров Пётр", "Сидоров Саша"]
    assert {c.student_id for c in issued} == {
        data.students[n] for n in ["Иванова Мария", "Петров Пётр", "Сидоров Саша"]
    }
    assert all(c.kind is CodeKind.STUDENT and c.class_name == "7B" for c in issued)
    assert all(c.expires_at == NOW + timedelta(days=30) for c in issued)

    rows = list(await session.scalars(select(AccessCode).order_by(AccessCode.id)))
    assert len(rows) == 3
    assert {r.code_hash for r in rows} == {hash_code(c.code) for c in issued}
    assert all(r.created_by_id == data.admin_id and r.staff_id is None for r in rows)
    stored = await _all_values(session, "access_codes") + await _all_values(session, "audit_log")
    for c in issued:
        assert not any(c.code in v or c.display in v for v in stored)

    audit = (await session.scalars(select(AuditEntry))).one()
    assert (audit.action, audit.entity, audit.entity_id) == (
        AuditAction.CODES_ISSUE,
        "class",
        data.class_id,
    )
    assert audit.actor_id == data.admin_id
    assert audit.new is not None
    assert audit.new["count"] == 3
    assert audit.new["kind"] == "student"


async def test_issue_parent_codes_one_per_guardian(session: AsyncSession) -> None:
    data = await make_school(session)
    issued = await issue_codes(
        session,
        school_id=data.school_id,
        class_name="7b",  # case-insensitive match
        kind=CodeKind.PARENT,
        created_by_id=None,
        ttl_days=7,
        now=NOW,
    )
    await session.commit()
    got = {(c.person_name, c.guardian_name) for c in issued}
    assert got == {
        ("Иванова Мария", "Иванова Анна"),
        ("Иванова Мария", "Иванов Олег"),
        ("Петров Пётр", "Петрова Ольга"),
        ("Сидоров Саша", None),  # no guardian on file: one code for "a parent"
    }
    assert len(issued) == 4
    assert all(c.expires_at == NOW + timedelta(days=7) for c in issued)
    rows = list(await session.scalars(select(AccessCode)))
    assert {(r.student_id, r.guardian_id) for r in rows} == {
        (c.student_id, c.guardian_id) for c in issued
    }
    assert all(r.kind is CodeKind.PARENT for r in rows)


async def test_issue_staff_codes(session: AsyncSession) -> None:
    data = await make_school(session)
    other = await make_school(session, name="Другая школа")
    issued = await issue_codes(
        session,
        school_id=data.school_id,
        class_name=None,
        kind=CodeKind.STAFF,
        created_by_id=data.admin_id,
        now=NOW,
    )
    await session.commit()
    assert {c.staff_id for c in issued} == set(data.staff.values())
    assert not {c.staff_id for c in issued} & set(other.staff.values())
    assert all(c.class_name is None and c.student_id is None for c in issued)
    audit = (await session.scalars(select(AuditEntry))).one()
    assert (audit.entity, audit.entity_id) == ("school", data.school_id)

    with pytest.raises(DomainError) as info:
        await issue_codes(
            session,
            school_id=data.school_id,
            class_name="7B",
            kind=CodeKind.STAFF,
            created_by_id=None,
            now=NOW,
        )
    assert info.value.key == "codes.class_not_allowed"


async def test_bad_requests_have_stable_keys(session: AsyncSession) -> None:
    data = await make_school(session)
    await session.commit()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"class_name": "9Z", "kind": CodeKind.STUDENT}, "unknown_class"),
        ({"class_name": None, "kind": CodeKind.PARENT}, "class_required"),
        ({"class_name": "7B", "kind": CodeKind.STUDENT, "ttl_days": 0}, "bad_ttl"),
    ]
    for kwargs, key in cases:
        with pytest.raises(DomainError) as info:
            await issue_codes(
                session, school_id=data.school_id, created_by_id=None, now=NOW, **kwargs
            )
        assert info.value.key == f"codes.{key}"

    bare = School(name="Без года")
    session.add(bare)
    await session.flush()
    with pytest.raises(DomainError) as info:
        await issue_codes(
            session,
            school_id=bare.id,
            class_name="7B",
            kind=CodeKind.STUDENT,
            created_by_id=None,
            now=NOW,
        )
    assert info.value.key == "codes.no_current_year"
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(AccessCode)) == 0


async def test_reissue_revokes_earlier_unused_codes(session: AsyncSession) -> None:
    data = await make_school(session)
    first = await issue_codes(
        session,
        school_id=data.school_id,
        class_name="7B",
        kind=CodeKind.PARENT,
        created_by_id=None,
        now=NOW,
    )
    students = await issue_codes(
        session,
        school_id=data.school_id,
        class_name="7B",
        kind=CodeKind.STUDENT,
        created_by_id=None,
        now=NOW,
    )
    await session.commit()
    later = NOW + timedelta(days=1)
    second = await issue_codes(
        session,
        school_id=data.school_id,
        class_name="7B",
        kind=CodeKind.PARENT,
        created_by_id=None,
        now=later,
    )
    await session.commit()

    for old in first:
        status, row = await check_code(session, old.code, now=later)
        assert status == "revoked"
        assert row is not None
        assert row.revoked_at == later
    for new in second:
        assert (await check_code(session, new.code, now=later))[0] == "ok"
    for other_kind in students:  # another kind for the same students is untouched
        assert (await check_code(session, other_kind.code, now=later))[0] == "ok"
    audit = (
        await session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    ).one()
    assert audit.new is not None
    assert audit.new["revoked"] == 4


async def test_issue_code_for_one_person_revokes_only_theirs(session: AsyncSession) -> None:
    data = await make_school(session)
    maria = data.students["Иванова Мария"]
    anna, oleg = data.guardians["Иванова Анна"], data.guardians["Иванов Олег"]
    batch = await issue_codes(
        session,
        school_id=data.school_id,
        class_name="7B",
        kind=CodeKind.PARENT,
        created_by_id=None,
        now=NOW,
    )
    await session.commit()
    later = NOW + timedelta(hours=2)
    new = await issue_code_for(
        session,
        kind=CodeKind.PARENT,
        student_id=maria,
        guardian_id=anna,
        created_by_id=data.admin_id,
        now=later,
        school_id=data.school_id,
    )
    await session.commit()
    assert (new.person_name, new.guardian_name, new.class_name) == (
        "Иванова Мария",
        "Иванова Анна",
        "7B",
    )
    statuses: dict[tuple[int | None, int | None], str] = {
        (c.student_id, c.guardian_id): (await check_code(session, c.code, now=later))[0]
        for c in batch
    }
    assert statuses[(maria, anna)] == "revoked"
    assert statuses[(maria, oleg)] == "ok"
    assert list(statuses.values()).count("ok") == 3
    assert (await check_code(session, new.code, now=later))[0] == "ok"

    staff_id = data.staff["Учитель Один"]
    first = await issue_code_for(
        session, kind=CodeKind.STAFF, staff_id=staff_id, created_by_id=None, now=NOW
    )
    second = await issue_code_for(
        session, kind=CodeKind.STAFF, staff_id=staff_id, created_by_id=None, now=later
    )
    await session.commit()
    assert (await check_code(session, first.code, now=later))[0] == "revoked"
    assert (await check_code(session, second.code, now=later))[0] == "ok"
    audit = (
        await session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    ).one()
    assert (audit.action, audit.entity, audit.entity_id) == (
        AuditAction.CODES_ISSUE,
        "staff",
        staff_id,
    )


async def test_issue_code_for_refuses_bad_targets(session: AsyncSession) -> None:
    data = await make_school(session)
    other = await make_school(session, name="Чужая школа")
    await session.commit()
    maria = data.students["Иванова Мария"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": CodeKind.STAFF}, "bad_target"),
        ({"kind": CodeKind.STUDENT, "staff_id": data.staff["Учитель Один"]}, "bad_target"),
        ({"kind": CodeKind.STUDENT, "student_id": maria, "guardian_id": 1}, "bad_target"),
        ({"kind": CodeKind.STUDENT, "student_id": 999_999}, "unknown_person"),
        ({"kind": CodeKind.STAFF, "staff_id": 999_999}, "unknown_person"),
        (
            {"kind": CodeKind.PARENT, "student_id": other.students["Иванова Мария"]},
            "unknown_person",
        ),
        (
            {
                "kind": CodeKind.PARENT,
                "student_id": maria,
                "guardian_id": data.guardians["Петрова Ольга"],
            },
            "not_guardian",
        ),
    ]
    for kwargs, key in cases:
        with pytest.raises(DomainError) as info:
            await issue_code_for(
                session, created_by_id=None, now=NOW, school_id=data.school_id, **kwargs
            )
        assert info.value.key == f"codes.{key}", kwargs
    assert await session.scalar(select(func.count()).select_from(AccessCode)) == 0


# --- checking -----------------------------------------------------------------------------


async def test_statuses(session: AsyncSession) -> None:
    data = await make_school(session)
    a, b, c = await issue_codes(
        session,
        school_id=data.school_id,
        class_name="7B",
        kind=CodeKind.STUDENT,
        created_by_id=None,
        now=NOW,
    )
    await session.commit()
    soon = NOW + timedelta(minutes=5)

    status, row = await check_code(session, a.display.lower(), now=soon)
    assert status is CodeStatus.OK
    assert str(status) == "ok"
    assert row is not None
    assert row.student_id == a.student_id
    found = await find_code(session, a.code, now=soon)
    assert found is not None
    assert found.id == a.code_id

    assert await check_code(session, "nonsense", now=soon) == ("malformed", None)
    unknown = next(x for x in iter(generate_code, None) if x not in {a.code, b.code, c.code})
    assert await check_code(session, unknown, now=soon) == ("unknown", None)

    expiry = NOW + timedelta(days=30)
    assert (await check_code(session, a.code, now=expiry - timedelta(seconds=1)))[0] == "ok"
    assert (await check_code(session, a.code, now=expiry))[0] == "expired"
    assert await find_code(session, a.code, now=expiry) is None

    assert b.code_id is not None
    assert await claim_code(session, b.code_id, account_id=None, now=soon)
    assert not await claim_code(session, b.code_id, account_id=None, now=soon)  # only once
    await session.commit()
    assert (await check_code(session, b.code, now=soon))[0] == "used"
    assert await find_code(session, b.code, now=soon) is None

    await issue_code_for(
        session, kind=CodeKind.STUDENT, student_id=c.student_id, created_by_id=None, now=soon
    )
    await session.commit()
    assert (await check_code(session, c.code, now=soon))[0] == "revoked"
    assert await find_code(session, c.code, now=soon) is None
    assert c.code_id is not None
    assert not await claim_code(session, c.code_id, account_id=None, now=soon)
    # A used code is not revoked by re-issuing (it is history, not a live credential).
    await issue_code_for(
        session, kind=CodeKind.STUDENT, student_id=b.student_id, created_by_id=None, now=soon
    )
    await session.commit()
    assert (await check_code(session, b.code, now=soon))[0] == "used"


# --- attempt limit ------------------------------------------------------------------------


async def test_attempt_limit(session: AsyncSession) -> None:
    tg = 424242
    assert await attempts_left(session, tg, now=NOW) == (5, None)
    for minute in range(4):
        await record_attempt(session, tg, success=False, now=NOW + timedelta(minutes=minute))
        await record_attempt(session, tg, success=True, now=NOW + timedelta(minutes=minute))
    await record_attempt(session, 777, success=False, now=NOW)  # someone else
    await session.commit()
    assert await attempts_left(session, tg, now=NOW + timedelta(minutes=5)) == (1, None)

    await record_attempt(session, tg, success=False, now=NOW + timedelta(minutes=10))
    await session.commit()
    left, retry_at = await attempts_left(session, tg, now=NOW + timedelta(minutes=11))
    assert left == 0
    assert retry_at == NOW + timedelta(hours=1)  # the first failure leaves the window

    assert await attempts_left(session, tg, now=NOW + timedelta(hours=1)) == (1, None)
    later = NOW + timedelta(hours=1, minutes=5)
    assert await attempts_left(session, tg, now=later) == (4, None)
    assert await attempts_left(session, tg, now=later, limit=1) == (
        0,
        NOW + timedelta(hours=1, minutes=10),
    )
    assert await attempts_left(session, tg, now=later, window=timedelta(hours=2)) == (
        0,
        NOW + timedelta(hours=2),
    )
    assert await attempts_left(session, tg, now=NOW + timedelta(hours=2)) == (5, None)

    assert await prune_attempts(session, before=NOW + timedelta(minutes=2)) == 5
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(CodeAttempt)) == 5


# --- query count --------------------------------------------------------------------------


async def test_issuing_uses_a_constant_number_of_queries(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    data = await make_school(session)
    await add_class(session, data, "5A", 10, 2)
    await add_class(session, data, "5B", 30, 2)
    await session.commit()

    counts: dict[tuple[str, int], int] = {}
    for kind in (CodeKind.PARENT, CodeKind.STUDENT):
        for class_name, size in (("5A", 10), ("5B", 30)):
            for round_ in range(2):  # the second round also revokes the first one's codes
                with count_statements(engine) as statements:
                    issued = await issue_codes(
                        session,
                        school_id=data.school_id,
                        class_name=class_name,
                        kind=kind,
                        created_by_id=data.admin_id,
                        now=NOW + timedelta(minutes=round_),
                    )
                    await session.commit()
                assert len(issued) == size * (2 if kind is CodeKind.PARENT else 1)
                counts[(f"{kind}-{round_}", size)] = len(statements)
    for key in {k for k, _ in counts}:
        assert counts[(key, 10)] == counts[(key, 30)], counts
    assert max(counts.values()) <= 8, counts
    revoked = await session.scalar(
        select(func.count()).select_from(AccessCode).where(AccessCode.revoked_at.is_not(None))
    )
    assert revoked == 10 * 2 + 30 * 2 + 10 + 30
