"""Every template renders in every locale with hostile data as valid Telegram HTML, and the
catalogs hold every message of the code."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.config import SUPPORTED_LOCALES
from bot.i18n import LOCALES_DIR, create_i18n
from bot.rendering import Renderer
from bot.telegram import MESSAGE_LIMIT, split_html, visible_length
from db.enums import RequestStatus
from services.actors import Actor, ChildRef, Role
from services.linking import AccessHolder, GrantView, LinkResult, Outcome, RequestView
from services.school import StudentAccess
from tests.fakes.html import parse_html, utf16_len

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "<b>Иванов & Co</b> 😀 " + "Ё" * 300 + " </i>&amp;"

HOSTILE_ACTOR = Actor(
    telegram_id=1,
    account_id=1,
    name=HOSTILE,
    roles=frozenset(Role),
    staff_id=1,
    class_teacher_of=(1, 2),
    children=(
        ChildRef(1, HOSTILE, "<7B>", Role.PARENT),
        ChildRef(2, HOSTILE, None, Role.TRUSTED, 1),
    ),
)
ALL_ROLES = [r.value for r in Role]
WHEN = datetime(2026, 12, 31, 20, 59, tzinfo=UTC)
HOLDERS = [
    AccessHolder("guardian", 1, HOSTILE, None, None, WHEN, True),
    AccessHolder("guardian", 2, HOSTILE, None, None, None, False),
    AccessHolder("trusted", 3, HOSTILE, 15, WHEN, None, False),
    AccessHolder("invited", 4, HOSTILE, 6, None, None, False),
]

# One or more sample contexts per template; a new template must add its samples here.
SAMPLES: dict[str, list[dict[str, Any]]] = {
    "macros.html.j2": [{}],
    "common/welcome.html.j2": [{}],
    "common/home.html.j2": [{"actor": HOSTILE_ACTOR, "roles": ALL_ROLES}],
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
    "errors/apology.html.j2": [{}],
    "linking/error.html.j2": [
        {"key": key, "details": {"attempts_left": 1, "retry_at": WHEN}}
        for key in [
            "too_many_attempts",
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
        ]
    ],
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
                1, status, HOSTILE, "user_name", "+79161234567", HOSTILE, "<7B>", HOSTILE, HOSTILE
            )
        }
        for status in RequestStatus
    ],
    "linking/request_staff.html.j2": [
        {
            "parent_name": HOSTILE,
            "username": None,
            "phone": "+79161234567",
            "student_name": HOSTILE,
            "class_name": None,
            "guardian_on_file": HOSTILE,
        }
    ],
    "linking/decision_parent.html.j2": [
        {"approved": True, "student_name": HOSTILE},
        {"approved": False, "student_name": None},
    ],
    "linking/trusted_accepted.html.j2": [{"name": HOSTILE, "student_name": HOSTILE}],
    "linking/access_revoked.html.j2": [{"student_name": HOSTILE}],
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
    "school/no_requests.html.j2": [{}],
    "school/classes.html.j2": [{}],
    "school/codes_classes.html.j2": [{}],
    "school/codes_kind.html.j2": [{"class_name": "<7B>"}],
    "school/codes_error.html.j2": [{"key": k} for k in ["empty", "unknown_class", "bad_ttl"]],
    "school/codes_issued.html.j2": [
        {"class_name": "<7B>", "kind": "parent", "count": 21},
        {"class_name": "<7B>", "kind": "student", "count": 1},
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


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(create_i18n("ru"), strict=True)


def _is_partial(name: str) -> bool:
    return name.rsplit("/", 1)[-1].startswith("_")


def test_every_template_has_samples(renderer: Renderer) -> None:
    assert {n for n in renderer.template_names() if not _is_partial(n)} == set(SAMPLES)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_template_renders_valid_telegram_html(renderer: Renderer, name: str, locale: str) -> None:
    for context in SAMPLES[name]:
        with renderer.i18n.context(), renderer.i18n.use_locale(locale):
            html = renderer.render(name, **context)
        if name == "macros.html.j2":
            continue
        plain, _entities = parse_html(html)
        assert plain.strip(), f"{name} renders empty"
        assert "<b>Иванов" not in html, "user data must be escaped"
        for part in split_html(html):
            parse_html(part)
            assert utf16_len(parse_html(part)[0]) <= MESSAGE_LIMIT


def test_russian_is_the_default_and_english_differs(renderer: Renderer) -> None:
    with renderer.i18n.context():
        with renderer.i18n.use_locale("ru"):
            ru = renderer.render("common/welcome.html.j2")
        with renderer.i18n.use_locale("en"):
            en = renderer.render("common/welcome.html.j2")
    assert "Парта" in ru
    assert "Parta" in en
    assert ru != en


def _extracted_ids() -> set[str]:
    method_map = [
        ("bot/**.py", "python"),
        ("handlers/**.py", "python"),
        ("services/**.py", "python"),
        ("bot/templates/**.j2", "jinja2"),
    ]
    options = {
        "bot/templates/**.j2": {
            "extensions": "jinja2.ext.i18n",
            "trim_blocks": "true",
            "lstrip_blocks": "true",
        }
    }
    ids: set[str] = set()
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "__": None}
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map, options, keywords=keywords
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_has_every_message(locale: str) -> None:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    missing = _extracted_ids() - known
    assert not missing, f"run pybabel extract/update: {sorted(missing)[:5]}"
    if locale == "ru":
        untranslated = [
            m.id
            for m in catalog
            if m.id and (m.fuzzy or not (m.string if isinstance(m.string, str) else all(m.string)))
        ]
        assert not untranslated, untranslated[:5]


def test_split_html_keeps_markup_balanced() -> None:
    line = "<b>Жирный &amp; текст</b> <i>курсив</i> 😀"
    html = "\n".join([line] * 400)
    parts = split_html(html)
    assert len(parts) > 1
    total = 0
    for part in parts:
        plain, _ = parse_html(part)
        assert utf16_len(plain) <= MESSAGE_LIMIT
        total += visible_length(part)
    assert total >= visible_length(html) - len(parts)  # only cut newlines are dropped


def test_split_html_cuts_a_single_long_line_inside_a_tag() -> None:
    html = "<b>" + "слово " * 1500 + "</b>"
    parts = split_html(html)
    assert len(parts) == 3
    for part in parts:
        assert part.startswith("<b>")
        assert part.endswith("</b>")
        _plain, entities = parse_html(part)
        assert entities[0]["type"] == "bold"
