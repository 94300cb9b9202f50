"""`parta year new [--dry-run] [--last-grade N] [--school NAME]`: the plan of the next school
year printed in English like the console's other output, applied unless ``--dry-run``
(`services.people.newyear`). A refusal is one line (the bot's own explanation, in English)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import date

from db.engine import create_engine, create_session_factory
from services.core.errors import DomainError
from services.people.newyear import MAX_GRADE, YearPlan, YearWarning

#: how many graduates' names are printed per class
NAMES_SHOWN = 40
_WARNINGS = {
    "unnumbered_name": 'class "{}" has no leading number: it keeps its name in the new year',
    "period_dropped": "{} falls outside the new year once shifted: not created",
}


class YearRefused(Exception):
    """The service refused: the message is the one line to print."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``year`` command and its ``new`` subcommand."""
    year = commands.add_parser("year", help="school years")
    year_commands = year.add_subparsers(dest="year_command", required=True)
    new = year_commands.add_parser(
        "new", help="start the next school year: promote classes, graduate the last grade"
    )
    new.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    new.add_argument(
        "--last-grade", type=int, default=11, help="the grade that graduates (default 11)"
    )
    new.add_argument("--school", help="school name (when the database holds several)")


def refusal_text(error: DomainError) -> str:
    """The bot's explanation of a refusal, in English plain text."""
    from bot.i18n import create_i18n
    from bot.middlewares.domain_errors import error_text
    from bot.rendering import Renderer
    from bot.telegram import plain_text

    renderer = Renderer(create_i18n("en"))
    with renderer.i18n.context(), renderer.i18n.use_locale("en"):
        return plain_text(error_text(renderer, error), limit=1000).replace("\n", " ")


def _n(count: int, noun: str) -> str:
    """``"1 student"``, ``"3 students"``, ``"2 classes"``."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {noun}es" if noun.endswith("s") else f"{count} {noun}s"


def _day(day: date) -> str:
    return day.isoformat()


def _warning(warning: YearWarning) -> str:
    return "warning: " + _WARNINGS.get(warning.key, warning.key + ": {}").format(warning.subject)


def describe(plan: YearPlan, *, today: date, applied: bool) -> Iterator[str]:
    """The plan as console lines."""
    yield (
        f"{plan.school_name}: school year {plan.current.name} → {plan.name} "
        f"({_day(plan.starts_on)} – {_day(plan.ends_on)}); students move on {_day(plan.switch_on)}"
    )
    yield f"periods: {len(plan.periods)}" + ("" if plan.periods else " (the year has none)")
    for period in plan.periods:
        yield (
            f"  {period.kind.value} {period.number}: "
            f"{_day(period.starts_on)} – {_day(period.ends_on)}"
        )
    yield f"promoted: {_n(len(plan.promotions), 'class')}, {_n(plan.promoted, 'student')}"
    for promotion in plan.promotions:
        yield f"  {promotion.name} → {promotion.new_name} ({_n(promotion.students, 'student')})"
    graduating = f"{_n(len(plan.graduations), 'class')}, {_n(len(plan.graduates), 'student')}"
    yield f"graduating: {graduating}"
    for graduation in plan.graduations:
        names = ", ".join(graduation.students[:NAMES_SHOWN])
        more = len(graduation.students) - NAMES_SHOWN
        tail = f" and {more} more" if more > 0 else ""
        yield f"  {graduation.name} ({len(graduation.students)}): {names}{tail}"
    ended = plan.ended
    yield (
        f"graduates' links ended: {_n(ended.guardianships, 'guardianship')}, "
        f"{_n(ended.trusted, 'trusted grant')}, {_n(ended.codes, 'access code')}, "
        f"{_n(ended.requests, 'link request')}"
    )
    if plan.left:
        yield f"left the school earlier, not carried: {_n(plan.left, 'student')}"
    yield from (_warning(w) for w in plan.warnings)
    yield (
        "not carried: teaching assignments, timetable, holidays "
        "(import them for the new year); the old year stays readable"
    )
    if applied:
        yield f"school year {plan.name} started and is now the current year"
    elif plan.ready(today):
        yield "dry run: nothing written"
    else:
        yield f"dry run: nothing written; it can be applied from {_day(plan.ready_on)}"


async def year_new(database_url: str, default_zone: str, args: argparse.Namespace) -> list[str]:
    """Plan (``--dry-run``) or start the new year; the lines to print. Raises `YearRefused`
    with one line when the service refuses, `LookupError` for an unknown school."""
    from services.core.schooltime import local_today, zone_of
    from services.people.newyear import plan_new_year, start_new_year
    from services.people.school import find_school

    if not 1 <= args.last_grade <= MAX_GRADE:
        raise YearRefused(f"--last-grade must be between 1 and {MAX_GRADE}")
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            school = await find_school(session, args.school)
            today = local_today(zone_of(school.timezone, default_zone))
            try:
                if args.dry_run:
                    plan = await plan_new_year(
                        session, today=today, last_grade=args.last_grade, school_id=school.id
                    )
                else:
                    plan = await start_new_year(
                        session,
                        today=today,
                        actor_account_id=None,
                        last_grade=args.last_grade,
                        school_id=school.id,
                    )
            except DomainError as exc:
                raise YearRefused(refusal_text(exc)) from None
    finally:
        await engine.dispose()
    return list(describe(plan, today=today, applied=not args.dry_run))
