"""The journal database: every table of the domain, typed with SQLAlchemy 2.

Persons the school keeps on file (staff, students, guardians) are separate from Telegram
accounts; an account gets its roles by being linked to them (codes, confirmed guardianship,
trusted access). All timestamps are UTC; dates are the school's local calendar dates.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, UTCDateTime, str_enum, utcnow
from db.enums import (
    AttachmentKind,
    AttendanceStatus,
    CodeKind,
    DeliveryMode,
    GradeKind,
    LinkMethod,
    NotificationKind,
    OutboxStatus,
    PeriodKind,
    RequestStatus,
    ScaleKind,
    SlotFrequency,
    StaffRole,
    SubmissionStatus,
)

NAME = 200
PHONE = 20


def _fk(target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> Any:
    return mapped_column(
        Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True
    )


def _created() -> Any:
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def _source_id() -> Any:
    """The id the row came with from a roster file (services.roster); None: made here."""
    return mapped_column(String(64))


# --- school structure -------------------------------------------------------------------


class School(Base):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    #: ISO 3166 region that phones without a country code are read in
    phone_region: Mapped[str] = mapped_column(String(2), default="RU")
    created_at: Mapped[datetime] = _created()


class Bell(Base):
    """When lesson `lesson_number` starts and ends (one bell schedule per school)."""

    __tablename__ = "bells"
    __table_args__ = (
        UniqueConstraint("school_id", "lesson_number"),
        CheckConstraint("lesson_number BETWEEN 0 AND 12", name="lesson_number"),
        CheckConstraint("starts_at < ends_at", name="times"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = _fk("schools.id")
    lesson_number: Mapped[int] = mapped_column(SmallInteger)
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)


class AcademicYear(Base):
    __tablename__ = "academic_years"
    __table_args__ = (
        UniqueConstraint("school_id", "name"),
        UniqueConstraint("school_id", "source_id"),
        CheckConstraint("starts_on < ends_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = _fk("schools.id")
    name: Mapped[str] = mapped_column(String(32))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    source_id: Mapped[str | None] = _source_id()


class Period(Base):
    """A reporting period (quarter, trimester, semester or the whole year)."""

    __tablename__ = "periods"
    __table_args__ = (
        UniqueConstraint("year_id", "kind", "number"),
        UniqueConstraint("year_id", "source_id"),
        CheckConstraint("starts_on <= ends_on", name="dates"),
        CheckConstraint("number >= 1", name="number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = _fk("academic_years.id")
    kind: Mapped[PeriodKind] = mapped_column(str_enum(PeriodKind, "period_kind"))
    number: Mapped[int] = mapped_column(SmallInteger)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    source_id: Mapped[str | None] = _source_id()


class Holiday(Base):
    __tablename__ = "holidays"
    __table_args__ = (
        UniqueConstraint("school_id", "source_id"),
        CheckConstraint("starts_on <= ends_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = _fk("schools.id")
    name: Mapped[str] = mapped_column(String(NAME))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    source_id: Mapped[str | None] = _source_id()


class GradingScale(Base):
    """A grading scale: its keyboard, average rule and pass mark follow from `kind`."""

    __tablename__ = "grading_scales"
    __table_args__ = (
        UniqueConstraint("school_id", "code"),
        CheckConstraint("min_score < max_score", name="range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = _fk("schools.id")
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[ScaleKind] = mapped_column(str_enum(ScaleKind, "scale_kind"))
    min_score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    pass_score: Mapped[float] = mapped_column(Float)
    allow_modifiers: Mapped[bool] = mapped_column(Boolean, default=False)


class Subject(Base):
    __tablename__ = "subjects"
    __table_args__ = (
        UniqueConstraint("school_id", "name"),
        UniqueConstraint("school_id", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = _fk("schools.id")
    name: Mapped[str] = mapped_column(String(NAME))
    short_name: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = _source_id()


# --- people and accounts ----------------------------------------------------------------


class Account(Base):
    """A Telegram user known to Parta. Created by linking, never automatically."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    full_name: Mapped[str] = mapped_column(String(NAME))
    username: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(PHONE))
    locale: Mapped[str | None] = mapped_column(String(8))
    language_code: Mapped[str | None] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    current_student_id: Mapped[int | None] = mapped_column(Integer)
    current_role: Mapped[str | None] = mapped_column(String(16))
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    digest_time: Mapped[time | None] = mapped_column(Time)
    created_at: Mapped[datetime] = _created()
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Staff(Base):
    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("school_id", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = _fk("schools.id")
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), unique=True
    )
    full_name: Mapped[str] = mapped_column(String(NAME))
    phone: Mapped[str | None] = mapped_column(String(PHONE))
    email: Mapped[str | None] = mapped_column(String(NAME))
    source_id: Mapped[str | None] = _source_id()
    #: the day the school's roster stopped listing them (links ended, history kept)
    left_on: Mapped[date | None] = mapped_column(Date)

    roles: Mapped[list[StaffRoleGrant]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", lazy="raise"
    )


class StaffRoleGrant(Base):
    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("staff_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = _fk("staff.id")
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole, "staff_role"))

    staff: Mapped[Staff] = relationship(back_populates="roles", lazy="raise")


class SchoolClass(Base):
    __tablename__ = "classes"
    __table_args__ = (
        UniqueConstraint("year_id", "name"),
        UniqueConstraint("year_id", "source_id"),
        CheckConstraint("grade_level BETWEEN 1 AND 12", name="grade_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = _fk("schools.id")
    year_id: Mapped[int] = _fk("academic_years.id")
    name: Mapped[str] = mapped_column(String(16))
    grade_level: Mapped[int] = mapped_column(SmallInteger)
    class_teacher_id: Mapped[int | None] = _fk("staff.id", nullable=True, ondelete="SET NULL")
    source_id: Mapped[str | None] = _source_id()


class Student(Base):
    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("school_id", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = _fk("schools.id")
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), unique=True
    )
    full_name: Mapped[str] = mapped_column(String(NAME))
    birth_date: Mapped[date | None] = mapped_column(Date)
    grades_spoiler: Mapped[bool] = mapped_column(Boolean, default=False)
    source_id: Mapped[str | None] = _source_id()


class Enrollment(Base):
    """A student's membership of a class (one per academic year)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("student_id", "class_id"),
        Index("ix_enrollments_class_student", "class_id", "student_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = _fk("students.id")
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    enrolled_on: Mapped[date | None] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)


class Guardian(Base):
    """A guardian as the school has them on file (the roster), before any Telegram link."""

    __tablename__ = "guardians"
    __table_args__ = (UniqueConstraint("school_id", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = _fk("schools.id")
    full_name: Mapped[str] = mapped_column(String(NAME))
    phone: Mapped[str | None] = mapped_column(String(PHONE), index=True)
    email: Mapped[str | None] = mapped_column(String(NAME))
    source_id: Mapped[str | None] = _source_id()
    #: the day the school's roster stopped listing them (links ended, history kept)
    left_on: Mapped[date | None] = mapped_column(Date)


class StudentGuardian(Base):
    __tablename__ = "student_guardians"
    __table_args__ = (UniqueConstraint("student_id", "guardian_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = _fk("students.id")
    guardian_id: Mapped[int] = _fk("guardians.id")
    relation: Mapped[str | None] = mapped_column(String(32))


class Guardianship(Base):
    """A Telegram account confirmed as a guardian of a student."""

    __tablename__ = "guardianships"
    __table_args__ = (UniqueConstraint("student_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = _fk("students.id")
    account_id: Mapped[int] = _fk("accounts.id")
    guardian_id: Mapped[int | None] = _fk("guardians.id", nullable=True, ondelete="SET NULL")
    method: Mapped[LinkMethod] = mapped_column(str_enum(LinkMethod, "link_method"))
    confirmed_at: Mapped[datetime] = _created()
    confirmed_by_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TrustedAccess(Base):
    """Read-only access to one student, granted by a guardian, limited by scopes and time."""

    __tablename__ = "trusted_access"
    __table_args__ = (CheckConstraint("scopes BETWEEN 1 AND 15", name="scopes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = _fk("students.id")
    granted_by_id: Mapped[int] = _fk("accounts.id")
    account_id: Mapped[int | None] = _fk("accounts.id", nullable=True)
    # HMAC-SHA256 of the one-time invitation under the code key `invite_key_id` (see
    # services.people.codes); cleared when accepted or revoked. The invitation itself expires at
    # `invite_expires_at` (INVITE_TTL_HOURS), whatever the grant's own end.
    invite_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_key_id: Mapped[str | None] = mapped_column(String(16))
    invite_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    label: Mapped[str] = mapped_column(String(NAME))
    scopes: Mapped[int] = mapped_column(SmallInteger)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created()
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccessCode(Base):
    """A one-time code the school prints for a person; only its HMAC-SHA256 under the code
    key `key_id` is stored (``legacy``: a plain SHA-256 from before migration 006)."""

    __tablename__ = "access_codes"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'staff' AND staff_id IS NOT NULL AND student_id IS NULL)"
            " OR (kind <> 'staff' AND student_id IS NOT NULL AND staff_id IS NULL)",
            name="target",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = _fk("schools.id")
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(16))
    kind: Mapped[CodeKind] = mapped_column(str_enum(CodeKind, "code_kind"))
    student_id: Mapped[int | None] = _fk("students.id", nullable=True)
    staff_id: Mapped[int | None] = _fk("staff.id", nullable=True)
    guardian_id: Mapped[int | None] = _fk("guardians.id", nullable=True, ondelete="SET NULL")
    created_by_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CodeAttempt(Base):
    """One redemption attempt, for the per-account and school-wide attempt limits."""

    __tablename__ = "code_attempts"
    __table_args__ = (
        Index("ix_code_attempts_telegram_at", "telegram_id", "at"),
        Index("ix_code_attempts_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = _created()
    success: Mapped[bool] = mapped_column(Boolean)


class LinkRequest(Base):
    """A parent whose phone did not match asks the class teacher to confirm them."""

    __tablename__ = "link_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = _fk("students.id")
    account_id: Mapped[int] = _fk("accounts.id")
    code_id: Mapped[int | None] = _fk("access_codes.id", nullable=True, ondelete="SET NULL")
    guardian_id: Mapped[int | None] = _fk("guardians.id", nullable=True, ondelete="SET NULL")
    phone: Mapped[str | None] = mapped_column(String(PHONE))
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, "request_status"), default=RequestStatus.PENDING
    )
    created_at: Mapped[datetime] = _created()
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")


# --- teaching ---------------------------------------------------------------------------


class TeachingAssignment(Base):
    """Teacher × class × subject, with the grading scale of that subject in that class."""

    __tablename__ = "teaching_assignments"
    __table_args__ = (UniqueConstraint("class_id", "subject_id", "teacher_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = _fk("staff.id")
    class_id: Mapped[int] = _fk("classes.id")
    subject_id: Mapped[int] = _fk("subjects.id")
    scale_id: Mapped[int] = _fk("grading_scales.id", ondelete="RESTRICT")
    source_id: Mapped[str | None] = _source_id()


class TimetableSlot(Base):
    __tablename__ = "timetable_slots"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday"),
        CheckConstraint("lesson_number BETWEEN 0 AND 12", name="lesson_number"),
        CheckConstraint("starts_at < ends_at", name="times"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = _fk("teaching_assignments.id")
    weekday: Mapped[int] = mapped_column(SmallInteger)
    lesson_number: Mapped[int] = mapped_column(SmallInteger)
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)
    room: Mapped[str | None] = mapped_column(String(32))
    frequency: Mapped[SlotFrequency] = mapped_column(
        str_enum(SlotFrequency, "slot_frequency"), default=SlotFrequency.WEEKLY
    )
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    source_id: Mapped[str | None] = _source_id()


class Lesson(Base):
    """One lesson on a date, generated from the timetable (class and subject denormalized)."""

    __tablename__ = "lessons"
    __table_args__ = (
        UniqueConstraint("assignment_id", "date", "lesson_number"),
        Index("ix_lessons_class_date", "class_id", "date"),
        Index("ix_lessons_source_id", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = _fk("teaching_assignments.id")
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = _fk("subjects.id")
    slot_id: Mapped[int | None] = _fk("timetable_slots.id", nullable=True, ondelete="SET NULL")
    date: Mapped[dt.date] = mapped_column(Date)
    lesson_number: Mapped[int] = mapped_column(SmallInteger)
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)
    room: Mapped[str | None] = mapped_column(String(32))
    topic: Mapped[str | None] = mapped_column(Text)
    replacement_teacher_id: Mapped[int | None] = _fk("staff.id", nullable=True, ondelete="SET NULL")
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    #: the lesson key of the gradebook line item it was made for (None: from the timetable)
    source_id: Mapped[str | None] = _source_id()


class Homework(Base):
    __tablename__ = "homework"
    __table_args__ = (Index("ix_homework_class_due", "class_id", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = _fk("lessons.id")
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = _fk("subjects.id")
    due_date: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = _fk("staff.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TelegramFile:
    """The columns of a file kept on Telegram's servers: its `file_id` sends it again, and what
    is shown of it (name, type, size) comes with it. Mixed into each table of files."""

    kind: Mapped[AttachmentKind] = mapped_column(str_enum(AttachmentKind, "attachment_kind"))
    file_id: Mapped[str] = mapped_column(String(255))
    file_unique_id: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(255))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    file_size: Mapped[int | None] = mapped_column(Integer)


class HomeworkAttachment(TelegramFile, Base):
    __tablename__ = "homework_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    homework_id: Mapped[int] = _fk("homework.id")


class HomeworkSubmission(Base):
    __tablename__ = "homework_submissions"
    __table_args__ = (UniqueConstraint("homework_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    homework_id: Mapped[int] = _fk("homework.id")
    student_id: Mapped[int] = _fk("students.id")
    status: Mapped[SubmissionStatus] = mapped_column(
        str_enum(SubmissionStatus, "submission_status"), default=SubmissionStatus.SUBMITTED
    )
    comment: Mapped[str | None] = mapped_column(Text)
    teacher_comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = _created()
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = _fk("staff.id", nullable=True, ondelete="SET NULL")


class SubmissionFile(TelegramFile, Base):
    __tablename__ = "submission_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = _fk("homework_submissions.id")


class Grade(Base):
    """A grade on a lesson. Deleted grades are kept (deleted_at) for the audit trail."""

    __tablename__ = "grades"
    __table_args__ = (
        CheckConstraint("weight > 0 AND weight <= 10", name="weight"),
        Index("ix_grades_student_assignment", "student_id", "assignment_id"),
        Index("ix_grades_source_id", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = _fk("students.id")
    lesson_id: Mapped[int] = _fk("lessons.id")
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("teaching_assignments.id", ondelete="CASCADE")
    )
    subject_id: Mapped[int] = _fk("subjects.id")
    date: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    kind: Mapped[GradeKind] = mapped_column(str_enum(GradeKind, "grade_kind"))
    comment: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = _fk("staff.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_until: Mapped[dt.date | None] = mapped_column(Date)
    #: the `sourcedId` of the gradebook result it was imported from (None: given here)
    source_id: Mapped[str | None] = _source_id()


class PeriodGrade(Base):
    __tablename__ = "period_grades"
    __table_args__ = (UniqueConstraint("student_id", "assignment_id", "period_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = _fk("students.id")
    assignment_id: Mapped[int] = _fk("teaching_assignments.id")
    period_id: Mapped[int] = _fk("periods.id")
    proposed_value: Mapped[str | None] = mapped_column(String(8))
    value: Mapped[str | None] = mapped_column(String(8))
    set_by_id: Mapped[int | None] = _fk("staff.id", nullable=True, ondelete="SET NULL")
    set_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("lesson_id", "student_id"),
        Index("ix_attendance_student_lesson", "student_id", "lesson_id"),
        CheckConstraint("minutes_late IS NULL OR minutes_late >= 0", name="minutes_late"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    status: Mapped[AttendanceStatus] = mapped_column(
        str_enum(AttendanceStatus, "attendance_status")
    )
    minutes_late: Mapped[int | None] = mapped_column(SmallInteger)
    reason: Mapped[str | None] = mapped_column(Text)
    marked_by_id: Mapped[int | None] = _fk("staff.id", nullable=True, ondelete="SET NULL")
    marked_at: Mapped[datetime] = _created()


class Acknowledgement(Base):
    """A guardian's "Seen" on a grade."""

    __tablename__ = "acknowledgements"
    __table_args__ = (UniqueConstraint("grade_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grade_id: Mapped[int] = _fk("grades.id")
    account_id: Mapped[int] = _fk("accounts.id")
    seen_at: Mapped[datetime] = _created()


class Comment(Base):
    """A thread of comments on a grade between the family and the teacher."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    grade_id: Mapped[int] = _fk("grades.id")
    author_id: Mapped[int] = _fk("accounts.id")
    reply_to_id: Mapped[int | None] = _fk("comments.id", nullable=True, ondelete="SET NULL")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()


class GradesSeen(Base):
    """When an account last opened a student's grades, for "new since you last looked" marks.

    Opening the grades anew moves `opened_at` to `seen_at` and stamps `opened_at`: grades newer
    than `seen_at` stay marked for the whole visit and lose the mark on the next one.
    """

    __tablename__ = "grades_seen"
    __table_args__ = (UniqueConstraint("account_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = _fk("accounts.id")
    student_id: Mapped[int] = _fk("students.id")
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- notifications and audit -------------------------------------------------------------


class NotificationPreference(Base):
    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("account_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = _fk("accounts.id")
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, "notification_kind"))
    mode: Mapped[DeliveryMode] = mapped_column(str_enum(DeliveryMode, "delivery_mode"))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)


class CalendarFeed(Base):
    """An account's private calendar subscription (services.diary.calendar): the secret token
    in its URL. Revoking deletes the row, so the old URL answers 404; a new one gets a new
    token."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), unique=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created()


class OutboxMessage(Base):
    """A notification to send, written in the same transaction as its cause."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_notification_outbox_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = _fk("accounts.id")
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, "notification_kind"))
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    # what happened (services.notify.events.NotificationEvent): it names the template at send
    # time, so a renamed template never orphans a waiting row
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    not_before: Mapped[datetime] = _created()
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = _created()
    actor_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    # the journal's context of an entry (plain ids: the trail outlives what it describes)
    lesson_id: Mapped[int | None] = mapped_column(Integer, index=True)
    student_id: Mapped[int | None] = mapped_column(Integer, index=True)
