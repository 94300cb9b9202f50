"""One-time access codes: generation, hashing, issuing per class or person, checking, and the
per-account attempt limit.

A code is 10 characters of a 32-letter alphabet without look-alikes (50 bits from `secrets`),
printed grouped as ``ABCD-EFGH-JK``. Only its HMAC-SHA256 under a server-side secret
(`CodeKeys`, from the ``CODE_SECRET`` setting, never stored in the database) is stored, with the
id of the key next to it, so a leaked database or backup cannot be brute-forced offline and keys
can be rotated (rows are verified against the current and the previous keys). Rows from before
the HMAC (migration 006) carry the key id ``legacy`` and their plain SHA-256; they are still
accepted until they expire. The plain code exists once, in the `IssuedCode` handed to the letter
printer. Issuing a code for a person revokes the person's earlier unused codes, which is how
access is restored after a lost phone.

Failed redemptions are limited per Telegram account and across the whole deployment (a guessing
wave spread over many accounts); when the latter limit is reached the schools' admins are told
once per window through the outbox. Nothing here commits: the caller owns the transaction.
A refused request raises `DomainError` with a ``codes.*`` key: ``unknown_class``,
``no_current_year``, ``class_required``, ``class_not_allowed``, ``bad_ttl``, ``bad_target``,
``unknown_person``, ``not_guardian``, ``malformed``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Update,
    and_,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import CodeKind
from db.models import (
    AcademicYear,
    AccessCode,
    CodeAttempt,
    Enrollment,
    Guardian,
    OutboxMessage,
    School,
    SchoolClass,
    Staff,
    StaffRoleGrant,
    Student,
    StudentGuardian,
)
from services.core import audit, enrolment
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.core.schooltime import local_date, zone_of
from services.notify import DedupKey, NotificationEvent, enqueue

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
GROUP = 4
DEFAULT_TTL_DAYS = 30
MAX_TTL_DAYS = 366
ATTEMPT_LIMIT = 5
ATTEMPT_WINDOW = timedelta(hours=1)
#: failed attempts per window across every account before code entry pauses for everyone
SCHOOL_ATTEMPT_LIMIT = 200
#: how long attempts are kept (they only feed the limits above; the audit keeps the facts)
ATTEMPT_KEEP = timedelta(days=1)
LEGACY_KEY_ID = "legacy"
MIN_SECRET_LENGTH = 32

# Separators people type or copy from the letter (spaces, hyphens, dashes, dots, underscores).
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―_.·]+")
# Cyrillic capitals that look exactly like Latin ones: typing the code in a Russian keyboard
# layout (or a phone's autocorrect) yields these.
_HOMOGLYPHS = str.maketrans("АВСЕНКМРТХ", "ABCEHKMPTX")
_ALPHABET_SET = frozenset(ALPHABET)
_USERNAME = re.compile(r"[A-Za-z0-9_]{3,64}")


class CodeStatus(enum.StrEnum):
    OK = "ok"
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"


# --- the code itself ----------------------------------------------------------------------


def generate_code() -> str:
    """A fresh normalized code: `CODE_LENGTH` characters of `ALPHABET` from `secrets`."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str, length: int = CODE_LENGTH) -> str | None:
    """The canonical form of user-typed text, or None if it cannot be a code of `length`
    characters (a school code; a trusted person's invitation is 12).

    Folds compatibility forms (NFKC: fullwidth letters of an East Asian keyboard), strips
    spaces and dashes, uppercases, and maps Cyrillic look-alike capitals to Latin.
    Characters outside the alphabet (0, O, 1, I …, any other letter or emoji) or a wrong length
    give None, so what comes back is plain ASCII of the alphabet.
    """
    if len(text) > 4 * length:
        return None
    code = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper().translate(_HOMOGLYPHS)
    if len(code) != length or not set(code) <= _ALPHABET_SET:
        return None
    return code


def format_code(code: str) -> str:
    """The printed form, e.g. ``ABCD-EFGH-JK``."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


# --- keyed hashes -------------------------------------------------------------------------


class Purpose(enum.StrEnum):
    """What a digest is of (domain separation: a code can never match an invitation)."""

    CODE = "code"
    INVITE = "invite"


def _legacy_digest(purpose: Purpose, text: str) -> str:
    """The unsalted SHA-256 stored before migration 006 (rows with key id ``legacy``)."""
    prefix = "invite:" if purpose is Purpose.INVITE else ""
    return hashlib.sha256((prefix + text).encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class CodeKey:
    """One server-side secret and its public id (derived from it, safe to store and log)."""

    id: str
    secret: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: str) -> CodeKey:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"a code secret needs at least {MIN_SECRET_LENGTH} characters")
        raw = secret.encode("utf-8")
        return cls(hmac.new(raw, b"parta code key id", hashlib.sha256).hexdigest()[:12], raw)

    def digest(self, purpose: Purpose, text: str) -> str:
        message = f"{purpose.value}:{text}".encode("ascii")
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class CodeKeys:
    """The current key (new codes and invitations are hashed with it) and earlier keys that
    are still accepted while rows hashed with them live. Rows of key id ``legacy`` (plain
    SHA-256, from before migration 006) are accepted when `accept_legacy` is set."""

    current: CodeKey
    previous: tuple[CodeKey, ...] = ()
    accept_legacy: bool = True

    @classmethod
    def from_secrets(cls, current: str, previous: Iterable[str] = ()) -> CodeKeys:
        now = CodeKey.from_secret(current)
        earlier = {k.id: k for k in map(CodeKey.from_secret, previous) if k.id != now.id}
        return cls(now, tuple(earlier.values()))

    def sign(self, purpose: Purpose, text: str) -> tuple[str, str]:
        """(key id, digest) to store for a new code or invitation."""
        return self.current.id, self.current.digest(purpose, text)

    def candidates(self, purpose: Purpose, text: str) -> dict[str, str]:
        """Every digest a stored row of this text may carry → the key id it must carry."""
        found = {key.digest(purpose, text): key.id for key in (self.current, *self.previous)}
        if self.accept_legacy:
            found[_legacy_digest(purpose, text)] = LEGACY_KEY_ID
        return found


def hash_code(code: str, keys: CodeKeys) -> tuple[str, str]:
    """(key id, HMAC-SHA256 hex) of the normalized code under the current key: what is
    stored."""
    normalized = normalize_code(code)
    if normalized is None:
        raise DomainError("codes.malformed")
    return keys.sign(Purpose.CODE, normalized)


def deep_link(bot_username: str, code: str) -> str:
    """``https://t.me/<bot>?start=<normalized code>`` (the payload is A-Z/2-9 only)."""
    username = bot_username.strip().removeprefix("@")
    if not _USERNAME.fullmatch(username):
        raise ValueError(f"not a bot username: {bot_username!r}")
    normalized = normalize_code(code)
    if normalized is None:
        raise DomainError("codes.malformed")
    return f"https://t.me/{username}?start={normalized}"


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A code just issued. `code` is the plain normalized code: show it once, never store it.

    `person_name` is the student's name for student and parent codes, the staff member's for
    staff codes; `guardian_name` is set for parent codes when the guardian is on file.
    """

    code: str
    kind: CodeKind
    person_name: str
    class_name: str | None
    expires_at: datetime
    student_id: int | None = None
    staff_id: int | None = None
    guardian_id: int | None = None
    guardian_name: str | None = None
    code_id: int | None = None

    @property
    def display(self) -> str:
        return format_code(self.code)

    def link(self, bot_username: str) -> str:
        return deep_link(bot_username, self.code)


@dataclass(frozen=True, slots=True)
class _Target:
    kind: CodeKind
    school_id: int
    person_name: str
    class_name: str | None
    student_id: int | None = None
    staff_id: int | None = None
    guardian_id: int | None = None
    guardian_name: str | None = None


# --- issuing ------------------------------------------------------------------------------


def _check_ttl(ttl_days: int) -> timedelta:
    if not 1 <= ttl_days <= MAX_TTL_DAYS:
        raise DomainError("codes.bad_ttl")
    return timedelta(days=ttl_days)


def _name_key(name: str | None, ident: int | None) -> tuple[str, int]:
    return ((name or "").casefold(), ident or 0)


async def _current_class(
    session: AsyncSession, school_id: int, class_name: str, now: datetime
) -> tuple[SchoolClass, date]:
    """The class of that name in the school's current year (exact, then case-insensitive) and
    the school-local date at `now`."""
    wanted = class_name.strip()
    rows = (
        await session.execute(
            select(SchoolClass, School.timezone)
            .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
            .join(School, School.id == SchoolClass.school_id)
            .where(
                SchoolClass.school_id == school_id,
                AcademicYear.school_id == school_id,
                AcademicYear.is_current,
            )
        )
    ).all()
    classes = [cls for cls, _tz in rows]
    today = local_date(now, zone_of(rows[0][1])) if rows else now.date()
    for cls in classes:
        if cls.name == wanted:
            return cls, today
    matches = [c for c in classes if c.name.casefold() == wanted.casefold()]
    if len(matches) == 1:
        return matches[0], today
    if not classes:
        has_year = await session.scalar(
            select(AcademicYear.id).where(
                AcademicYear.school_id == school_id, AcademicYear.is_current
            )
        )
        if has_year is None:
            raise DomainError("codes.no_current_year")
    raise DomainError("codes.unknown_class")


async def _class_targets(
    session: AsyncSession, school_id: int, cls: SchoolClass, kind: CodeKind, today: date
) -> list[_Target]:
    """The class's students on the school-local `today` (`services.core.enrolment`), or their
    guardians on file."""
    enrolled = and_(
        Enrollment.student_id == Student.id,
        Enrollment.class_id == cls.id,
        enrolment.covers_day(today),
    )
    if kind is CodeKind.STUDENT:
        rows = await session.execute(
            select(Student.id, Student.full_name)
            .join(Enrollment, enrolled)
            .where(Student.school_id == school_id)
        )
        targets = [_Target(kind, school_id, name, cls.name, student_id=sid) for sid, name in rows]
        return sorted(targets, key=lambda t: _name_key(t.person_name, t.student_id))
    pairs = await session.execute(
        select(Student.id, Student.full_name, Guardian.id, Guardian.full_name)
        .join(Enrollment, enrolled)
        .outerjoin(StudentGuardian, StudentGuardian.student_id == Student.id)
        .outerjoin(Guardian, Guardian.id == StudentGuardian.guardian_id)
        .where(Student.school_id == school_id)
    )
    targets = [
        _Target(
            kind,
            school_id,
            sname,
            cls.name,
            student_id=sid,
            guardian_id=gid,
            guardian_name=gname,
        )
        for sid, sname, gid, gname in pairs
    ]
    return sorted(
        targets,
        key=lambda t: (
            _name_key(t.person_name, t.student_id),
            _name_key(t.guardian_name, t.guardian_id),
        ),
    )


async def _staff_targets(session: AsyncSession, school_id: int) -> list[_Target]:
    rows = await session.execute(
        select(Staff.id, Staff.full_name).where(Staff.school_id == school_id)
    )
    targets = [_Target(CodeKind.STAFF, school_id, name, None, staff_id=sid) for sid, name in rows]
    return sorted(targets, key=lambda t: _name_key(t.person_name, t.staff_id))


def _same_person(kind: CodeKind, targets: Sequence[_Target]) -> ColumnElement[bool]:
    """Codes of the same kind for the same persons (parent codes: the student × guardian)."""
    if kind is CodeKind.STAFF:
        return AccessCode.staff_id.in_(sorted({t.staff_id for t in targets if t.staff_id}))
    if kind is CodeKind.STUDENT:
        return AccessCode.student_id.in_(sorted({t.student_id for t in targets if t.student_id}))
    pairs = {(t.student_id, t.guardian_id) for t in targets if t.guardian_id is not None}
    bare = {t.student_id for t in targets if t.guardian_id is None and t.student_id is not None}
    clauses: list[ColumnElement[bool]] = []
    if pairs:
        clauses.append(tuple_(AccessCode.student_id, AccessCode.guardian_id).in_(sorted(pairs)))
    if bare:
        clauses.append(
            and_(AccessCode.student_id.in_(sorted(bare)), AccessCode.guardian_id.is_(None))
        )
    return or_(*clauses) if clauses else false()


async def _revoke_earlier(
    session: AsyncSession, kind: CodeKind, targets: Sequence[_Target], now: datetime
) -> int:
    """Revoke every unused, unrevoked code of these persons; one UPDATE."""
    if not targets:
        return 0
    result = await session.execute(
        update(AccessCode)
        .where(
            AccessCode.kind == kind,
            AccessCode.used_at.is_(None),
            AccessCode.revoked_at.is_(None),
            _same_person(kind, targets),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _fresh_codes(
    session: AsyncSession, count: int, keys: CodeKeys
) -> list[tuple[str, str, str]]:
    """`count` new (code, key id, digest) whose digests are in no row yet (one query
    normally)."""
    found: dict[str, tuple[str, str]] = {}
    while len(found) < count:
        batch: dict[str, tuple[str, str]] = {}
        while len(found) + len(batch) < count:
            code = generate_code()
            key_id, digest = hash_code(code, keys)
            if digest not in found:
                batch[digest] = (code, key_id)
        taken = set(
            await session.scalars(
                select(AccessCode.code_hash).where(AccessCode.code_hash.in_(list(batch)))
            )
        )
        found.update((h, v) for h, v in batch.items() if h not in taken)
    return [(code, key_id, digest) for digest, (code, key_id) in found.items()]


async def _issue(
    session: AsyncSession,
    targets: Sequence[_Target],
    *,
    kind: CodeKind,
    created_by_id: int | None,
    ttl: timedelta,
    now: datetime,
    keys: CodeKeys,
) -> tuple[list[IssuedCode], int]:
    revoked = await _revoke_earlier(session, kind, targets, now)
    if not targets:
        return [], revoked
    expires_at = now + ttl
    fresh = await _fresh_codes(session, len(targets), keys)
    params = [
        {
            "school_id": t.school_id,
            "code_hash": digest,
            "key_id": key_id,
            "kind": kind,
            "student_id": t.student_id,
            "staff_id": t.staff_id,
            "guardian_id": t.guardian_id,
            "created_by_id": created_by_id,
            "created_at": now,
            "expires_at": expires_at,
        }
        for t, (_code, key_id, digest) in zip(targets, fresh, strict=True)
    ]
    # Core bulk INSERT … RETURNING: batched into one statement on both backends.
    result = await session.execute(
        insert(AccessCode).returning(AccessCode.code_hash, AccessCode.id), params
    )
    ids: dict[str, int] = dict(result.all())
    issued = [
        IssuedCode(
            code=code,
            kind=kind,
            person_name=t.person_name,
            class_name=t.class_name,
            expires_at=expires_at,
            student_id=t.student_id,
            staff_id=t.staff_id,
            guardian_id=t.guardian_id,
            guardian_name=t.guardian_name,
            code_id=ids[digest],
        )
        for t, (code, _key_id, digest) in zip(targets, fresh, strict=True)
    ]
    return issued, revoked


def _audit(
    session: AsyncSession,
    *,
    actor_id: int | None,
    entity: str,
    entity_id: int | None,
    new: dict[str, Any],
    now: datetime,
) -> None:
    audit.record(
        session,
        audit.By(actor_id),
        AuditAction.CODES_ISSUE,
        audit.Target(entity, entity_id),
        at=now,
        new=new,
    )


async def issue_codes(
    session: AsyncSession,
    *,
    school_id: int,
    class_name: str | None,
    kind: CodeKind,
    created_by_id: int | None,
    keys: CodeKeys,
    ttl_days: int = DEFAULT_TTL_DAYS,
    now: datetime | None = None,
) -> list[IssuedCode]:
    """Issue one code per person of a class (student and parent codes) or of the school's
    staff (staff codes, `class_name` must be None).

    Parent codes: one per guardian on file of each student, or one with no guardian for a
    student with none on file. Earlier unused codes of the same persons are revoked. A fixed
    number of queries whatever the class size; flushes, does not commit.
    """
    kind = CodeKind(kind)
    ttl = _check_ttl(ttl_days)
    now = now or utcnow()
    if kind is CodeKind.STAFF:
        if class_name is not None:
            raise DomainError("codes.class_not_allowed")
        targets = await _staff_targets(session, school_id)
        entity, entity_id = "school", school_id
    else:
        if class_name is None or not class_name.strip():
            raise DomainError("codes.class_required")
        cls, today = await _current_class(session, school_id, class_name, now)
        targets = await _class_targets(session, school_id, cls, kind, today)
        entity, entity_id = "class", cls.id
    issued, revoked = await _issue(
        session, targets, kind=kind, created_by_id=created_by_id, ttl=ttl, now=now, keys=keys
    )
    new: dict[str, Any] = {"count": len(issued), "kind": kind.value, "revoked": revoked}
    if class_name is not None:
        new["class"] = targets[0].class_name if targets else class_name.strip()
    _audit(session, actor_id=created_by_id, entity=entity, entity_id=entity_id, new=new, now=now)
    await session.flush()
    return issued


async def _student_with_class(
    session: AsyncSession, student_id: int, now: datetime
) -> tuple[Student, str | None] | None:
    """The student and the name of their current class (`services.core.enrolment`)."""
    stint = enrolment.stints()
    rows = await session.execute(
        select(Student, *enrolment.stint_columns(stint))
        .outerjoin(stint, stint.c.student_id == Student.id)
        .where(Student.id == student_id)
    )
    found = enrolment.with_current(rows.all(), now)
    if not found:
        return None
    (student,), stay = found[0]
    return student, stay.class_name if stay is not None else None


async def _single_target(
    session: AsyncSession,
    kind: CodeKind,
    *,
    student_id: int | None,
    guardian_id: int | None,
    staff_id: int | None,
    school_id: int | None,
    now: datetime,
) -> _Target:
    if kind is CodeKind.STAFF:
        if staff_id is None or student_id is not None or guardian_id is not None:
            raise DomainError("codes.bad_target")
        staff = await session.get(Staff, staff_id)
        if staff is None or (school_id is not None and staff.school_id != school_id):
            raise DomainError("codes.unknown_person")
        return _Target(kind, staff.school_id, staff.full_name, None, staff_id=staff.id)

    if student_id is None or staff_id is not None:
        raise DomainError("codes.bad_target")
    if kind is CodeKind.STUDENT and guardian_id is not None:
        raise DomainError("codes.bad_target")
    found = await _student_with_class(session, student_id, now)
    if found is None or (school_id is not None and found[0].school_id != school_id):
        raise DomainError("codes.unknown_person")
    student, class_name = found
    guardian_name: str | None = None
    if guardian_id is not None:
        guardian_name = await session.scalar(
            select(Guardian.full_name)
            .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
            .where(Guardian.id == guardian_id, StudentGuardian.student_id == student.id)
        )
        if guardian_name is None:
            raise DomainError("codes.not_guardian")
    return _Target(
        kind,
        student.school_id,
        student.full_name,
        class_name,
        student_id=student.id,
        guardian_id=guardian_id,
        guardian_name=guardian_name,
    )


async def issue_code_for(
    session: AsyncSession,
    *,
    kind: CodeKind,
    student_id: int | None = None,
    guardian_id: int | None = None,
    staff_id: int | None = None,
    created_by_id: int | None,
    keys: CodeKeys,
    ttl_days: int = DEFAULT_TTL_DAYS,
    now: datetime | None = None,
    school_id: int | None = None,
) -> IssuedCode:
    """Issue a code for one person (an admin restoring access), revoking their earlier unused
    codes of that kind. Parent codes target the student × guardian (guardian optional; it must
    be on file for the student). With `school_id`, a person of another school is
    ``unknown_person``. Flushes, does not commit.
    """
    kind = CodeKind(kind)
    ttl = _check_ttl(ttl_days)
    now = now or utcnow()
    target = await _single_target(
        session,
        kind,
        student_id=student_id,
        guardian_id=guardian_id,
        staff_id=staff_id,
        school_id=school_id,
        now=now,
    )
    issued, revoked = await _issue(
        session, [target], kind=kind, created_by_id=created_by_id, ttl=ttl, now=now, keys=keys
    )
    entity, entity_id = (
        ("staff", target.staff_id) if kind is CodeKind.STAFF else ("student", target.student_id)
    )
    new: dict[str, Any] = {"count": 1, "kind": kind.value, "revoked": revoked}
    if guardian_id is not None:
        new["guardian_id"] = guardian_id
    _audit(session, actor_id=created_by_id, entity=entity, entity_id=entity_id, new=new, now=now)
    await session.flush()
    return issued[0]


@dataclass(frozen=True, slots=True)
class LiveCodes:
    """Codes of a class that are unused, unrevoked and unexpired, so possibly printed and
    handed out: how many, and the newest one's id (0 if none) — what an admin who confirms a
    re-issue agrees to cancel."""

    count: int
    newest_id: int


async def live_class_codes(
    session: AsyncSession, *, school_id: int, class_name: str, kind: CodeKind, now: datetime
) -> LiveCodes:
    """The live codes of this kind that re-issuing for the class would revoke."""
    kind = CodeKind(kind)
    cls, today = await _current_class(session, school_id, class_name, now)
    targets = await _class_targets(session, school_id, cls, kind, today)
    if not targets:
        return LiveCodes(0, 0)
    count, newest = (
        await session.execute(
            select(func.count(AccessCode.id), func.coalesce(func.max(AccessCode.id), 0)).where(
                AccessCode.kind == kind,
                AccessCode.used_at.is_(None),
                AccessCode.revoked_at.is_(None),
                AccessCode.expires_at > now,
                _same_person(kind, targets),
            )
        )
    ).one()
    return LiveCodes(int(count), int(newest))


# --- checking -----------------------------------------------------------------------------


async def check_code(
    session: AsyncSession, code_text: str, *, now: datetime, keys: CodeKeys
) -> tuple[CodeStatus, AccessCode | None]:
    """Status of typed text as a code, and the row when it exists (any status but malformed).

    The row must carry the digest of the text under the key its `key_id` names (the current,
    a previous or, for old rows, the legacy key). Statuses in order of precedence: malformed,
    unknown, used, revoked, expired, ok.
    """
    normalized = normalize_code(code_text)
    if normalized is None:
        return CodeStatus.MALFORMED, None
    candidates = keys.candidates(Purpose.CODE, normalized)
    rows = await session.scalars(
        select(AccessCode).where(AccessCode.code_hash.in_(list(candidates)))
    )
    row = next((r for r in rows if candidates[r.code_hash] == r.key_id), None)
    if row is None:
        return CodeStatus.UNKNOWN, None
    if row.used_at is not None:
        return CodeStatus.USED, row
    if row.revoked_at is not None:
        return CodeStatus.REVOKED, row
    if row.expires_at <= now:
        return CodeStatus.EXPIRED, row
    return CodeStatus.OK, row


async def find_code(
    session: AsyncSession, code_text: str, *, now: datetime, keys: CodeKeys
) -> AccessCode | None:
    """The code's row if it is valid now (not used, revoked or expired), else None."""
    status, row = await check_code(session, code_text, now=now, keys=keys)
    return row if status is CodeStatus.OK else None


async def claim_code(
    session: AsyncSession, code_id: int, *, account_id: int | None, now: datetime
) -> bool:
    """Mark a valid code used, atomically: False if it was used, revoked or expired meanwhile
    (two redemptions racing each other: exactly one wins). Does not commit."""
    return await claims_one(
        session,
        update(AccessCode)
        .where(
            AccessCode.id == code_id,
            AccessCode.used_at.is_(None),
            AccessCode.revoked_at.is_(None),
            AccessCode.expires_at > now,
        )
        .values(used_at=now, used_by_id=account_id),
    )


async def claims_one(session: AsyncSession, statement: Update) -> bool:
    """Run a conditional UPDATE that claims one row (a code, an invitation): True if it
    changed exactly that row, so of two sessions racing for it exactly one wins. Does not
    commit."""
    result = await session.execute(statement.execution_options(synchronize_session="fetch"))
    return int(getattr(result, "rowcount", 0) or 0) == 1


# --- attempt limit ------------------------------------------------------------------------


async def attempts_left(
    session: AsyncSession,
    telegram_id: int,
    *,
    now: datetime,
    limit: int = ATTEMPT_LIMIT,
    window: timedelta = ATTEMPT_WINDOW,
) -> tuple[int, datetime | None]:
    """Remaining attempts in the sliding window, and when the next one is allowed if none
    remain (the moment enough failures leave the window). Successful attempts don't count."""
    recent = await _recent_failures(
        session, CodeAttempt.telegram_id == telegram_id, now=now, limit=limit, window=window
    )
    left = max(0, limit - len(recent))
    if left:
        return left, None
    # The newest `limit` failures: once the oldest of them leaves the window, one is free.
    return 0, min(recent) + window


async def _recent_failures(
    session: AsyncSession, *where: Any, now: datetime, limit: int, window: timedelta
) -> list[datetime]:
    """When the newest `limit` failed attempts within the window (and `where`) were made."""
    return list(
        await session.scalars(
            select(CodeAttempt.at)
            .where(*where, CodeAttempt.success.is_(False), CodeAttempt.at > now - window)
            .order_by(CodeAttempt.at.desc())
            .limit(limit)
        )
    )


async def record_attempt(
    session: AsyncSession, telegram_id: int, *, success: bool, now: datetime
) -> None:
    """Remember one redemption attempt (flushed, not committed)."""
    session.add(CodeAttempt(telegram_id=telegram_id, at=now, success=success))
    await session.flush()


async def school_wide_retry_at(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int = SCHOOL_ATTEMPT_LIMIT,
    window: timedelta = ATTEMPT_WINDOW,
) -> datetime | None:
    """None while fewer than `limit` attempts failed in the window across every account; else
    the moment enough of them leave it for one more attempt (a guessing wave spread over many
    accounts pauses code entry for everyone: a valid code cannot be told apart without
    checking it, and checking it is what the wave wants)."""
    recent = await _recent_failures(session, now=now, limit=limit, window=window)
    if len(recent) < limit:
        return None
    return min(recent) + window


async def _admin_accounts(session: AsyncSession) -> list[int]:
    """Every school's admins (a wave against the bot concerns every school it serves)."""
    ids = await session.scalars(
        select(Staff.account_id)
        .join(StaffRoleGrant, StaffRoleGrant.staff_id == Staff.id)
        .where(StaffRoleGrant.role == "admin", Staff.account_id.is_not(None))
        .distinct()
    )
    return sorted(i for i in ids if i is not None)


async def alert_guessing_wave(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int = SCHOOL_ATTEMPT_LIMIT,
    window: timedelta = ATTEMPT_WINDOW,
) -> int:
    """Tell the admins, through the outbox, that the school-wide limit was reached — once per
    window: nothing if an alert was written within the last window. Returns rows added."""
    recent_alert = await session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.event == NotificationEvent.CODE_WAVE,
            OutboxMessage.created_at > now - window,
        )
        .limit(1)
    )
    if recent_alert is not None:
        return 0
    bucket = int(now.timestamp() // window.total_seconds())
    return await enqueue(
        session,
        account_ids=await _admin_accounts(session),
        event=NotificationEvent.CODE_WAVE,
        payload={"limit": limit, "minutes": int(window.total_seconds() // 60)},
        dedup_key=DedupKey.code_wave(bucket),
        now=now,
    )


async def record_failure(
    session: AsyncSession,
    telegram_id: int,
    *,
    now: datetime,
    school_limit: int = SCHOOL_ATTEMPT_LIMIT,
    window: timedelta = ATTEMPT_WINDOW,
) -> None:
    """Remember a failed attempt; the one that reaches the school-wide limit alerts the
    admins (flushed, not committed)."""
    await record_attempt(session, telegram_id, success=False, now=now)
    if await school_wide_retry_at(session, now=now, limit=school_limit, window=window):
        await alert_guessing_wave(session, now=now, limit=school_limit, window=window)


async def prune_attempts(session: AsyncSession, *, before: datetime) -> int:
    """Delete attempts older than `before` (a housekeeping job); returns how many."""
    result = await session.execute(
        delete(CodeAttempt)
        .where(CodeAttempt.at < before)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
