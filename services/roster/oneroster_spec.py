"""The OneRoster 1.2 CSV binding as Parta uses it: the files, their columns (with which are
required and how values are checked), the vocabularies, and the columns Parta writes.

Data only; `services.roster.oneroster` reads with it and `services.roster.oneroster_write`
writes with it. The sources and the choices made where the binding is read leniently are in
docs/oneroster.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from db.enums import PeriodKind, StaffRole

ONEROSTER_VERSION = "1.2"
#: the version 1.1 of the binding, also read (docs/oneroster.md, "OneRoster 1.1")
ONEROSTER_11 = "1.1"
MANIFEST = "manifest.csv"
PARTA = "metadata.parta."  # our extension columns (the CSV binding allows ``metadata.*``)

# ---------------------------------------------------------------------------------------------
# Vocabularies

ORG_TYPES = frozenset({"department", "school", "district", "local", "state", "national"})
SESSION_TYPES = frozenset({"gradingPeriod", "semester", "schoolYear", "term"})
CLASS_TYPES = frozenset({"homeroom", "scheduled"})
STATUSES = frozenset({"active", "tobedeleted"})
ROLE_TYPES = frozenset({"primary", "secondary"})
STUDENT_ROLES = frozenset({"student"})
GUARDIAN_ROLES = frozenset({"guardian", "parent", "relative"})
STAFF_ROLE_MAP: Mapping[str, StaffRole] = {
    "teacher": StaffRole.TEACHER,
    "aide": StaffRole.TEACHER,
    "principal": StaffRole.HEAD_TEACHER,
    "siteAdministrator": StaffRole.ADMIN,
    "districtAdministrator": StaffRole.ADMIN,
    "systemAdministrator": StaffRole.ADMIN,
}
#: in the vocabulary, not mapped: users whose only roles are these are skipped and counted
UNCOVERED_ROLES = frozenset({"counselor", "proctor"})
ROLES = STUDENT_ROLES | GUARDIAN_ROLES | frozenset(STAFF_ROLE_MAP) | UNCOVERED_ROLES
ENROLLMENT_ROLES = frozenset({"administrator", "proctor", "student", "teacher", "aide"})
SCORE_STATUSES = frozenset(
    {"exempt", "fully graded", "not submitted", "partially graded", "submitted"}
)
FILE_MODES = frozenset({"bulk", "delta", "absent"})

#: Parta's staff role → the OneRoster role it is written as
ROLE_OUT: Mapping[StaffRole, str] = {
    StaffRole.TEACHER: "teacher",
    StaffRole.HEAD_TEACHER: "principal",
    StaffRole.ADMIN: "siteAdministrator",
}
PERIODS_BY_COUNT: Mapping[int, PeriodKind] = {
    4: PeriodKind.QUARTER,
    3: PeriodKind.TRIMESTER,
    2: PeriodKind.SEMESTER,
}
#: the session level periods are taken from, finest first
PERIOD_LEVELS = ("gradingPeriod", "term", "semester")


# ---------------------------------------------------------------------------------------------
# The files and their columns


@dataclass(frozen=True, slots=True)
class Col:
    """A column of a OneRoster CSV file and how its values are checked.

    `kind`: ``text``, ``date``, ``datetime`` (a date-time or a date), ``bool``, ``number``,
    ``list`` (comma-separated), ``ref``/``refs`` (one or a list of sourcedIds of `target`),
    ``vocab`` (one of `vocab`; ``ext:`` values are allowed as the standard says).
    """

    name: str
    required: bool = False
    kind: str = "text"
    target: str = ""
    vocab: frozenset[str] = frozenset()


def _c(name: str, kind: str = "text", target: str = "", vocab: Iterable[str] = ()) -> Col:
    return Col(name, False, kind, target, frozenset(vocab))


def _r(name: str, kind: str = "text", target: str = "", vocab: Iterable[str] = ()) -> Col:
    return Col(name, True, kind, target, frozenset(vocab))


_BASE = (_r("sourcedId"), _c("status", "vocab", vocab=STATUSES), _c("dateLastModified", "datetime"))

#: file name → its columns in the order of the 1.2 CSV binding
FILES: Mapping[str, tuple[Col, ...]] = {
    "orgs.csv": (
        *_BASE,
        _r("name"),
        _r("type", "vocab", vocab=ORG_TYPES),
        _c("identifier"),
        _c("parentSourcedId", "ref", "orgs.csv"),
    ),
    "academicSessions.csv": (
        *_BASE,
        _r("title"),
        _r("type", "vocab", vocab=SESSION_TYPES),
        _r("startDate", "date"),
        _r("endDate", "date"),
        _c("parentSourcedId", "ref", "academicSessions.csv"),
        _r("schoolYear", "number"),
    ),
    "courses.csv": (
        *_BASE,
        _c("schoolYearSourcedId", "ref", "academicSessions.csv"),
        _r("title"),
        _c("courseCode"),
        _c("grades", "list"),
        _r("orgSourcedId", "ref", "orgs.csv"),
        _c("subjects", "list"),
        _c("subjectCodes", "list"),
    ),
    "classes.csv": (
        *_BASE,
        _r("title"),
        _c("grades", "list"),
        _r("courseSourcedId", "ref", "courses.csv"),
        _c("classCode"),
        _r("classType", "vocab", vocab=CLASS_TYPES),
        _c("location"),
        _r("schoolSourcedId", "ref", "orgs.csv"),
        _r("termSourcedIds", "refs", "academicSessions.csv"),
        _c("subjects", "list"),
        _c("subjectCodes", "list"),
        _c("periods", "list"),
    ),
    "users.csv": (
        *_BASE,
        _r("enabledUser", "bool"),
        _r("username"),
        _c("userIds", "list"),
        _r("givenName"),
        _r("familyName"),
        _c("middleName"),
        _c("identifier"),
        _c("email"),
        _c("sms"),
        _c("phone"),
        _c("agentSourcedIds", "refs", "users.csv"),
        _c("grades", "list"),
        _c("password"),
        _c("userMasterIdentifier"),
        _c("resourceSourcedIds", "list"),
        _c("preferredGivenName"),
        _c("preferredMiddleName"),
        _c("preferredFamilyName"),
        _c("primaryOrgSourcedId", "ref", "orgs.csv"),
        _c("pronouns"),
    ),
    "roles.csv": (
        *_BASE,
        _r("userSourcedId", "ref", "users.csv"),
        _r("roleType", "vocab", vocab=ROLE_TYPES),
        _r("role", "vocab", vocab=ROLES),
        _c("beginDate", "date"),
        _c("endDate", "date"),
        _r("orgSourcedId", "ref", "orgs.csv"),
        _c("userProfileSourcedId", "ref", "userProfiles.csv"),
    ),
    "enrollments.csv": (
        *_BASE,
        _r("classSourcedId", "ref", "classes.csv"),
        _r("schoolSourcedId", "ref", "orgs.csv"),
        _r("userSourcedId", "ref", "users.csv"),
        _r("role", "vocab", vocab=ENROLLMENT_ROLES),
        _c("primary", "bool"),
        _c("beginDate", "date"),
        _c("endDate", "date"),
    ),
    "demographics.csv": (
        *_BASE,
        _c("birthDate", "date"),
        _c("sex", "vocab", vocab=("male", "female", "other", "unspecified")),
    ),
    "userProfiles.csv": (
        *_BASE,
        _r("userSourcedId", "ref", "users.csv"),
        _r("profileId"),
        _r("profileType"),
        _r("vendorId"),
        _c("applicationId"),
        _c("description"),
        _r("credentialType"),
        _r("username"),
        _c("password"),
    ),
    "categories.csv": (*_BASE, _r("title"), _c("weight", "number")),
    "scoreScales.csv": (
        *_BASE,
        _r("title"),
        _r("type"),
        _c("courseSourcedId", "ref", "courses.csv"),
        _r("classSourcedId", "ref", "classes.csv"),
        _r("scoreScaleValue"),
    ),
    "lineItems.csv": (
        *_BASE,
        _r("title"),
        _c("description"),
        _r("assignDate", "datetime"),
        _r("dueDate", "datetime"),
        _r("classSourcedId", "ref", "classes.csv"),
        _r("categorySourcedId", "ref", "categories.csv"),
        _c("gradingPeriodSourcedId", "ref", "academicSessions.csv"),
        _c("resultValueMin", "number"),
        _c("resultValueMax", "number"),
        _c("schoolSourcedId", "ref", "orgs.csv"),
    ),
    "results.csv": (
        *_BASE,
        _r("lineItemSourcedId", "ref", "lineItems.csv"),
        _r("studentSourcedId", "ref", "users.csv"),
        _r("scoreStatus", "vocab", vocab=SCORE_STATUSES),
        _c("score", "number"),
        _c("textScore"),
        _r("scoreDate", "datetime"),
        _c("comment"),
        _c("scoreScaleSourcedId", "ref", "scoreScales.csv"),
        _c("inProgress", "bool"),
        _c("incomplete", "bool"),
        _c("late", "bool"),
        _c("missing", "bool"),
    ),
}
GRADEBOOK_FILES = ("categories.csv", "lineItems.csv", "results.csv")
#: files of the 1.2 binding Parta neither reads nor writes (listed ``absent`` on export)
OTHER_FILES = (
    "classResources.csv",
    "courseResources.csv",
    "lineItemLearningObjectiveIds.csv",
    "lineItemScoreScales.csv",
    "resources.csv",
    "resultLearningObjectiveIds.csv",
    "resultScoreScales.csv",
    "userResources.csv",
)
#: required columns whose value may be empty here: a one-word name has no given name, a scale
#: no class uses has no class, a school with no year has no terms (what Parta writes in those
#: cases; see docs/oneroster.md)
MAY_BE_EMPTY = frozenset(
    {
        ("users.csv", "givenName"),
        ("scoreScales.csv", "classSourcedId"),
        ("classes.csv", "termSourcedIds"),  # a school with no year yet
        ("users.csv", "username"),  # unused; many systems leave it blank for parents
    }
)
#: OneRoster 1.1 columns 1.2 dropped (``users.role``, ``users.orgSourcedIds`` moved to
#: roles.csv): exports still carry them; they are ignored, never taken for a typo
LEGACY_COLUMNS = frozenset({"role", "orgsourcedids"})
#: without these a roster cannot be read at all
REQUIRED_FILES = ("orgs.csv", "users.csv", "roles.csv")

# ---------------------------------------------------------------------------------------------
# OneRoster 1.1: no roles.csv; each user has one role and its orgs in users.csv

#: the 1.1 user roles (``administrator`` became 1.2's ``siteAdministrator``); 1.2's words are
#: accepted too, as exports half-way between the two write them
ROLES_11 = ROLES | frozenset({"administrator"})
#: a 1.1 role → the 1.2 role it is read as
ROLE_FROM_11: Mapping[str, str] = {"administrator": "siteAdministrator"}
#: the files of a 1.1 package: as 1.2, users.csv with its ``role`` and ``orgSourcedIds``
FILES_11: Mapping[str, tuple[Col, ...]] = {
    **{name: cols for name, cols in FILES.items() if name != "roles.csv"},
    "users.csv": (
        *FILES["users.csv"],
        _r("role", "vocab", vocab=ROLES_11),
        _r("orgSourcedIds", "refs", "orgs.csv"),
    ),
}
REQUIRED_FILES_11 = ("orgs.csv", "users.csv")


# ---------------------------------------------------------------------------------------------
# What Parta writes

SCHOOL_ID = "school"
HOMEROOM_COURSE = "parta-homeroom"

OUT_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "orgs.csv": (
        "sourcedId",
        "status",
        "dateLastModified",
        "name",
        "type",
        PARTA + "timezone",
        PARTA + "phoneRegion",
    ),
    "academicSessions.csv": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "parentSourcedId",
        "schoolYear",
        PARTA + "periodKind",
    ),
    "courses.csv": (
        "sourcedId",
        "status",
        "dateLastModified",
        "schoolYearSourcedId",
        "title",
        "courseCode",
        "orgSourcedId",
    ),
    "classes.csv": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "schoolSourcedId",
        "termSourcedIds",
        PARTA + "scale",
    ),
    "users.csv": (
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
        "username",
        "givenName",
        "familyName",
        "middleName",
        "email",
        "phone",
        "agentSourcedIds",
        PARTA + "relation",
    ),
    "roles.csv": (
        "sourcedId",
        "status",
        "dateLastModified",
        "userSourcedId",
        "roleType",
        "role",
        "orgSourcedId",
    ),
    "enrollments.csv": (
        "sourcedId",
        "status",
        "dateLastModified",
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
    ),
    "demographics.csv": ("sourcedId", "status", "dateLastModified", "birthDate"),
    "scoreScales.csv": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "classSourcedId",
        "scoreScaleValue",
        PARTA + "minScore",
        PARTA + "maxScore",
        PARTA + "passScore",
        PARTA + "allowModifiers",
    ),
    "categories.csv": ("sourcedId", "status", "dateLastModified", "title", "weight"),
    "lineItems.csv": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "assignDate",
        "dueDate",
        "classSourcedId",
        "categorySourcedId",
        "gradingPeriodSourcedId",
        "resultValueMin",
        "resultValueMax",
        "schoolSourcedId",
    ),
    "results.csv": (
        "sourcedId",
        "status",
        "dateLastModified",
        "lineItemSourcedId",
        "studentSourcedId",
        "scoreStatus",
        "score",
        "textScore",
        "scoreDate",
        "comment",
    ),
}
