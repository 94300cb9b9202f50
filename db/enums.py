"""Enumerations stored as short strings (CHECK-constrained)."""

from __future__ import annotations

import enum


class StaffRole(enum.StrEnum):
    TEACHER = "teacher"
    HEAD_TEACHER = "head_teacher"
    ADMIN = "admin"


class PeriodKind(enum.StrEnum):
    QUARTER = "quarter"
    TRIMESTER = "trimester"
    SEMESTER = "semester"
    YEAR = "year"


class ScaleKind(enum.StrEnum):
    FIVE = "five"
    TEN = "ten"
    HUNDRED = "hundred"
    PASS_FAIL = "pass_fail"


class SlotFrequency(enum.StrEnum):
    WEEKLY = "weekly"
    ODD = "odd"
    EVEN = "even"


class GradeKind(enum.StrEnum):
    ORAL = "oral"
    CLASSWORK = "classwork"
    HOMEWORK = "homework"
    TEST = "test"
    EXAM = "exam"


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    LATE = "late"
    EXCUSED = "excused"


class SubmissionStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"


class AttachmentKind(enum.StrEnum):
    DOCUMENT = "document"
    PHOTO = "photo"


class CodeKind(enum.StrEnum):
    STUDENT = "student"
    PARENT = "parent"
    STAFF = "staff"


class LinkMethod(enum.StrEnum):
    PHONE_MATCH = "phone_match"
    APPROVED = "approved"
    ADMIN = "admin"
    DEMO = "demo"


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class TrustScope(enum.IntFlag):
    """Bit flags of what a trusted person may see."""

    GRADES = 1
    HOMEWORK = 2
    ATTENDANCE = 4
    SCHEDULE = 8


ALL_SCOPES = int(
    TrustScope.GRADES | TrustScope.HOMEWORK | TrustScope.ATTENDANCE | TrustScope.SCHEDULE
)


class NotificationKind(enum.StrEnum):
    GRADE = "grade"
    HOMEWORK = "homework"
    ATTENDANCE = "attendance"
    TIMETABLE = "timetable"
    REPLY = "reply"
    DIGEST = "digest"
    LINK = "link"
    SYSTEM = "system"


class DeliveryMode(enum.StrEnum):
    INSTANT = "instant"
    DIGEST = "digest"
    OFF = "off"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"
    DEAD = "dead"
