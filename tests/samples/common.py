"""Sample contexts for the common, linking, family and school templates."""

from __future__ import annotations

from typing import Any

from db.enums import RequestStatus
from services.core.actors import Actor
from services.people.linking import (
    AccessHolder,
    GrantView,
    LinkResult,
    Outcome,
    RequestView,
    RevokeView,
)
from services.people.school import StudentAccess
from tests.samples.base import ALL_ROLES, HOSTILE, HOSTILE_ACTOR, WHEN

HOLDERS = [
    AccessHolder("guardian", 1, HOSTILE, None, None, WHEN, True),
    AccessHolder("guardian", 2, HOSTILE, None, None, None, False),
    AccessHolder("trusted", 3, HOSTILE, 15, WHEN, None, False),
    AccessHolder("invited", 4, HOSTILE, 6, None, None, False),
]

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "macros.html.j2": [{}],
    "common/welcome.html.j2": [{}],
    "common/home.html.j2": [
        {"actor": HOSTILE_ACTOR, "roles": ALL_ROLES},
        {"actor": Actor(telegram_id=5, account_id=5), "roles": []},  # unlinked: no name
    ],
    "common/help.html.j2": [
        {"actor": HOSTILE_ACTOR, "roles": ALL_ROLES},
        {"actor": Actor(telegram_id=5), "roles": []},
    ],
    "common/language.html.j2": [{}],
    "common/language_set.html.j2": [{}],
    "common/unknown_message.html.j2": [
        {"actor": HOSTILE_ACTOR},
        {"actor": Actor(telegram_id=5)},
    ],
    "common/private_only.html.j2": [{"bot_username": "parta_bot"}, {"bot_username": None}],
    "errors/apology.html.j2": [{}],
    "errors/refused.html.j2": [{}],
    "errors/slow_down.html.j2": [{"short": False}, {"short": True}],
    "linking/error.html.j2": [
        {"key": key, "details": {"attempts_left": 1, "retry_at": WHEN}}
        for key in [
            "too_many_attempts",
            "too_many_attempts_school",
            "invite_expired",
            "code_malformed",
            "code_unknown",
            "code_expired",
            "code_used",
            "code_revoked",
            "not_own_contact",
            "bad_phone",
            "no_scopes",
            "expiry_in_past",
            "revoked",
            "not_found",
            "invite_used",
            "invite_revoked",
            "invite_expired",
            "request_pending",
            "request_rejected",
            "already_linked",
            "own_parent_code",
            "family_student_code",
            "same_person",
        ]
    ],
    "linking/pending.html.j2": [{}],
    "linking/need_contact.html.j2": [{"reminder": False}, {"reminder": True}],
    "linking/linked.html.j2": [
        {"result": LinkResult(outcome, HOSTILE, "<7B>")}
        for outcome in Outcome
        if outcome != Outcome.NEED_CONTACT
    ],
    "linking/cancelled.html.j2": [{}],
    "linking/request.html.j2": [
        {
            "request": RequestView(
                1,
                status,
                HOSTILE,
                "user_name",
                "+79161234567",
                HOSTILE,
                "<7B>",
                HOSTILE,
                HOSTILE,
                own_account=own_account,
                same_name=same,
            )
        }
        for status in RequestStatus
        for own_account, same in [(False, False), (True, True), (False, True)]
    ],
    "linking/request_staff.html.j2": [
        {
            "parent_name": HOSTILE,
            "username": None,
            "phone": "+79161234567",
            "student_name": HOSTILE,
            "class_name": None,
            "guardian_on_file": HOSTILE,
        },
        {
            "parent_name": HOSTILE,
            "username": "user_name",
            "phone": None,
            "student_name": HOSTILE,
            "class_name": "<7B>",
            "guardian_on_file": None,
            "same_name": True,
        },
    ],
    "linking/decision_parent.html.j2": [
        {"approved": True, "student_name": HOSTILE},
        {"approved": False, "student_name": None},
    ],
    "linking/trusted_accepted.html.j2": [{"name": HOSTILE, "student_name": HOSTILE}],
    "linking/access_revoked.html.j2": [{"student_name": HOSTILE}],
    "linking/code_wave.html.j2": [{"limit": 200, "minutes": 60}, {"limit": 1, "minutes": 1}],
    "family/access.html.j2": [{"child": HOSTILE_ACTOR.children[0], "holders": HOLDERS}],
    "family/no_child.html.j2": [{}],
    "family/children.html.j2": [{"actor": HOSTILE_ACTOR}],
    "family/invite.html.j2": [
        {"child": HOSTILE_ACTOR.children[0], "scopes": 15, "expires_at": WHEN},
        {"child": HOSTILE_ACTOR.children[0], "scopes": 0, "expires_at": WHEN},
    ],
    "family/invite_created.html.j2": [
        {
            "child": HOSTILE_ACTOR.children[0],
            "link": "https://t.me/parta_bot?start=ABCDEFGHJKLM",
            "code": "ABCDEFGHJKLM",
            "scopes": 5,
            "expires_at": WHEN,
            "invite_expires_at": WHEN,
        }
    ],
    "family/grant.html.j2": [
        {"grant": GrantView(1, 1, HOSTILE, HOSTILE, HOSTILE, 15, WHEN, True, False, WHEN)},
        {"grant": GrantView(1, 1, HOSTILE, None, HOSTILE, 1, None, False, False, None)},
        {"grant": GrantView(1, 1, HOSTILE, HOSTILE, HOSTILE, 1, None, True, True, None)},
    ],
    "family/unlink_confirm.html.j2": [
        {"is_self": True, "name": HOSTILE},
        {"is_self": False, "name": HOSTILE},
    ],
    "family/unlinked.html.j2": [{"is_self": True}, {"is_self": False}],
    "family/revoke_confirm.html.j2": [
        {"grant": RevokeView(1, 2, HOSTILE, HOSTILE, accepted, manager)}
        for accepted, manager in [(True, True), (False, False)]
    ],
    "school/no_requests.html.j2": [{}],
    "school/classes.html.j2": [{}],
    "school/codes_classes.html.j2": [{}],
    "school/codes_kind.html.j2": [{"class_name": "<7B>"}],
    "school/codes_error.html.j2": [{"key": k} for k in ["empty", "unknown_class", "bad_ttl"]],
    "school/roster_error.html.j2": [
        {"key": "invalid", "details": {"problems": n}} for n in (1, 3, 25)
    ]
    + [{"key": "other", "details": {}}],
    "school/roster_menu.html.j2": [{}],
    "school/roster_status.html.j2": [
        {"stage": stage, "name": HOSTILE}
        for stage in (
            "reading",
            "checking",
            "applying",
            "too_big",
            "not_school_file",
            "download_failed",
            "expired",
            "changed",
            "cancelled",
        )
    ],
    "school/roster_report.html.j2": [
        {
            "name": HOSTILE,
            "kind": kind,
            "outcome": outcome,
            "report": HOSTILE + "\n• " + HOSTILE,
            "truncated": long,
            "attached": long,
        }
        for kind, outcome, long in [
            ("workbook", "invalid", False),
            ("workbook", "plan", True),
            ("oneroster", "noop", False),
            ("oneroster", "applied", False),
        ]
    ],
    "school/codes_issued.html.j2": [
        {"class_name": "<7B>", "kind": "parent", "count": 21},
        {"class_name": "<7B>", "kind": "student", "count": 1},
    ],
    "school/codes_reissue.html.j2": [
        {"class_name": "<7B>", "kind": kind, "count": count, "again": again}
        for kind, count, again in [("parent", 25, False), ("student", 1, True)]
    ],
    "school/class_access.html.j2": [
        {
            "class_name": "<7B>",
            "rows": [
                StudentAccess(i, HOSTILE, [HOSTILE, HOSTILE], [(HOSTILE, 15, WHEN)])
                for i in range(40)
            ]
            + [StudentAccess(99, HOSTILE)],
        }
    ],
    "school/student_access.html.j2": [
        {"name": HOSTILE, "holders": HOLDERS},
        {"name": HOSTILE, "holders": []},
    ],
}
