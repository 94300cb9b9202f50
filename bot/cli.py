"""The `parta` console script: run, db upgrade, demo seed, codes issue, year new, backup and
restore, import and export, calendar, report."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import platform
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot import workers
from bot.cli_calendar import add_parser as add_calendar_parser
from bot.cli_report import ReportRefused
from bot.cli_report import add_parser as add_report_parser
from bot.cli_roster import InvalidInput
from bot.cli_roster import add_parsers as add_roster_parsers
from bot.cli_year import add_parser as add_year_parser
from bot.config import ConfigError, Settings, code_keys, settings_summary, version
from bot.logs import configure_logging
from db.engine import create_engine, create_session_factory
from db.enums import CodeKind
from db.migrate import upgrade
from services.people.codes import CodeKeys

BOTFATHER_HINT = (
    "BOT_TOKEN is not set: create a bot with @BotFather in Telegram (send it /newbot), "
    "then put BOT_TOKEN=<the token it gives you> into .env or the environment."
)
UNAUTHORIZED_HINT = (
    "Telegram refused BOT_TOKEN (401 Unauthorized): put the exact token @BotFather gave you "
    "into BOT_TOKEN (or get a new one there with /token)."
)
WEBHOOK_SECRET_HINT = (
    "WEBHOOK_URL is set but WEBHOOK_SECRET is not: without it anyone can post forged updates "
    "to the webhook; set WEBHOOK_SECRET to 1-256 random characters of A-Z, a-z, 0-9, _ and -."
)


logger = logging.getLogger("parta")


class CliError(Exception):
    """An expected failure: printed as one line, exit code 2."""


class InputRefused(Exception):
    """An input file refused (a broken archive, a non-empty target): one line, exit code 1."""


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper()} {err['msg']}" for err in exc.errors()
        )
        raise CliError(f"configuration error: {problems}") from None


def _code_keys(settings: Settings) -> CodeKeys:
    try:
        return code_keys(settings)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot keep the access-code secret: {exc}") from None


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def _migrate(settings: Settings) -> None:
    try:
        await upgrade(settings.database_url)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise CliError(
            f"cannot use the database at {_safe_url(settings.database_url)}: {reason}"
        ) from None


async def _run(settings: Settings) -> None:
    from aiogram.exceptions import TelegramUnauthorizedError

    from bot.runners import MissingWebhookSecret, run_bot

    if settings.bot_token is None:
        raise CliError(BOTFATHER_HINT)
    if settings.webhook_url and settings.webhook_secret is None:
        raise CliError(WEBHOOK_SECRET_HINT)
    _code_keys(settings)  # fail before anything starts
    logger.info("Parta %s starting (Python %s)", version(), platform.python_version())
    logger.info("settings: %s", settings_summary(settings))
    await _migrate(settings)
    engine = create_engine(settings.database_url, pool=settings.db_pool)
    try:
        await run_bot(settings, engine)
    except TelegramUnauthorizedError:
        raise CliError(UNAUTHORIZED_HINT) from None
    except MissingWebhookSecret:
        raise CliError(WEBHOOK_SECRET_HINT) from None
    finally:
        await engine.dispose()
        workers.shutdown()


async def _db_upgrade(settings: Settings) -> None:
    await _migrate(settings)
    print(f"database is up to date: {_safe_url(settings.database_url)}")


async def _demo_seed(settings: Settings, args: argparse.Namespace) -> None:
    from services.demo import OtherSchool, WorkbookError, seed_demo

    await _migrate(settings)
    engine = create_engine(settings.database_url)
    try:
        result = await seed_demo(
            create_session_factory(engine), students=args.students, weeks=args.weeks
        )
    except OtherSchool as exc:  # a non-empty target, like `parta restore`'s
        raise InputRefused(str(exc)) from None
    except WorkbookError as exc:  # a broken install
        raise CliError(str(exc)) from None
    finally:
        await engine.dispose()
    rows = [account.as_json() for account in result.accounts]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    state = "created" if result.created else "already present, nothing added"
    print(f"demo school {state}")
    headers = ["role", "telegram_id", "name", "class", "student"]
    table = [[str(row.get(h) or "") for h in headers] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
    for line in [headers, ["-" * w for w in widths], *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


async def _codes_issue(settings: Settings, args: argparse.Namespace) -> None:
    from bot.i18n import create_i18n
    from db.base import utcnow
    from services.core.errors import DomainError
    from services.people.codes import issue_codes, live_class_codes
    from services.people.letters import render_codes_csv, render_letters_pdf
    from services.people.school import find_school

    kind = CodeKind(args.kind)
    if kind == CodeKind.STAFF and args.class_name:
        raise CliError("staff codes are issued for the whole school: leave out --class")
    if kind != CodeKind.STAFF and not args.class_name:
        raise CliError("--class is required for student and parent codes")
    keys = _code_keys(settings)
    username = args.bot_username or await _bot_username(settings)
    await _migrate(settings)
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            try:
                school = await find_school(session, args.school)
                if kind != CodeKind.STAFF and not args.replace:
                    live = await live_class_codes(
                        session,
                        school_id=school.id,
                        class_name=args.class_name,
                        kind=kind,
                        now=utcnow(),
                    )
                    if live.count:
                        raise CliError(
                            f"{live.count} unused {kind.value} codes of {args.class_name} are "
                            "still valid and may already be printed; add --replace to cancel "
                            "them and issue new ones"
                        )
                issued = await issue_codes(
                    session,
                    school_id=school.id,
                    class_name=args.class_name,
                    kind=kind,
                    created_by_id=None,
                    keys=keys,
                    ttl_days=args.days,
                )
            except LookupError as exc:
                raise CliError(str(exc)) from None
            except DomainError as exc:
                raise CliError(f"cannot issue codes: {exc.reason.replace('_', ' ')}") from None
            if not issued:
                raise CliError("nobody to issue codes for")
            pdf = render_letters_pdf(
                issued,
                school_name=school.name,
                bot_username=username,
                translate=create_i18n(settings.default_locale).gettext,
                timezone=school.timezone,
            )
            csv_text = render_codes_csv(issued, bot_username=username)
            args.out.write_bytes(pdf)
            if args.csv:
                args.csv.write_text(csv_text, encoding="utf-8")
            await session.commit()  # only once the letters are written
    finally:
        await engine.dispose()
    print(f"{len(issued)} {kind.value} codes issued; letters: {args.out}")


async def _bot_username(settings: Settings) -> str:
    from bot.factory import create_bot
    from services.core.redaction import redact_secrets

    if settings.bot_token is None:
        raise CliError("pass --bot-username or set BOT_TOKEN so the deep links name the bot")
    bot = create_bot(settings)
    try:
        me = await bot.get_me()
    except Exception as exc:
        reason = redact_secrets(str(exc), [settings.bot_token.get_secret_value()])
        raise CliError(
            f"cannot ask Telegram for the bot's name ({reason}); pass --bot-username"
        ) from None
    finally:
        await bot.session.close()
    return me.username or ""


async def _year_new(settings: Settings, args: argparse.Namespace) -> None:
    from bot.cli_year import YearRefused, year_new

    await _migrate(settings)
    try:
        lines = await year_new(settings.database_url, settings.timezone, args)
    except (LookupError, YearRefused) as exc:
        raise CliError(str(exc)) from None
    print("\n".join(lines))


async def _backup(settings: Settings, args: argparse.Namespace) -> None:
    from db.base import utcnow
    from services.backup import backup

    await _migrate(settings)
    engine = create_engine(settings.database_url)
    try:
        with _backup_refusals(settings):
            done = await backup(
                engine, args.out, files_dir=args.files or settings.files_dir, now=utcnow()
            )
    finally:
        await engine.dispose()
    print(
        f"backup written: {done.path}: {done.tables} tables, {done.rows} rows, "
        f"{done.files} files, {done.bytes} bytes (schema revision {done.revision})"
    )


async def _restore(settings: Settings, args: argparse.Namespace) -> None:
    from services.backup import restore

    engine = create_engine(settings.database_url)
    try:
        with _backup_refusals(settings):
            done = await restore(engine, args.archive, files_dir=args.files or settings.files_dir)
    finally:
        await engine.dispose()
    print(
        f"restored {done.archive} into {_safe_url(settings.database_url)}: {done.tables} tables, "
        f"{done.rows} rows, {done.files} files, {done.bytes} bytes "
        f"(schema revision {done.revision}, now {done.upgraded_to})"
    )


@contextlib.contextmanager
def _backup_refusals(settings: Settings) -> Iterator[None]:
    """A refused backup or restore as one line in the default language; a database that
    cannot be reached as a `CliError`."""
    from bot.i18n import create_i18n
    from services.backup import BackupError, describe

    try:
        yield
    except BackupError as exc:
        raise InputRefused(describe(exc, create_i18n(settings.default_locale).gettext)) from None
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise CliError(
            f"cannot use the database at {_safe_url(settings.database_url)}: {reason}"
        ) from None


async def _roster(settings: Settings, args: argparse.Namespace) -> None:
    from bot import cli_roster
    from bot.i18n import create_i18n
    from services.roster.formats import Format

    i18n = create_i18n(settings.default_locale)
    if args.command == "import" and args.import_command == "template":
        lines = await cli_roster.write_template_file(i18n, args.file)
    elif args.command == "import":
        await _migrate(settings)
        school = args.import_command == "school"
        lines = await cli_roster.import_file(
            settings.database_url,
            i18n,
            args.file if school else args.path,
            Format.WORKBOOK if school else Format.ONEROSTER,
            dry_run=args.dry_run,
        )
    else:
        await _migrate(settings)
        kind = Format.WORKBOOK if args.export_command == "school" else Format.ONEROSTER
        lines = await cli_roster.export_file(settings.database_url, i18n, args.file, kind)
    print("\n".join(lines))


async def _calendar(settings: Settings, args: argparse.Namespace) -> None:
    from bot.cli_calendar import write_calendar

    await _migrate(settings)
    try:
        line = await write_calendar(
            settings.database_url, args.lang or settings.default_locale, args.student, args.out
        )
    except LookupError as exc:
        raise InputRefused(str(exc)) from None
    print(line)


async def _report(settings: Settings, args: argparse.Namespace) -> None:
    from bot.cli_report import make_report

    if args.out is None and args.format != "text":
        raise CliError(f"--out is required for --format {args.format}")
    await _migrate(settings)
    data, what = await make_report(settings.database_url, settings.default_locale, args)
    if args.out is None:
        sys.stdout.write(data.decode("utf-8"))
        return
    args.out.write_bytes(data)
    print(f"{what} written: {args.out}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parta", description="Parta, a school diary bot")
    parser.add_argument("--version", action="version", version=f"parta {version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="apply migrations, then run the bot")
    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations")
    demo = commands.add_parser("demo", help="demo school")
    demo_commands = demo.add_subparsers(dest="demo_command", required=True)
    seed = demo_commands.add_parser("seed", help="create the demo school and accounts")
    seed.add_argument("--json", action="store_true", help="print the accounts as JSON")
    seed.add_argument("--students", type=int, default=None, help="generate about N students")
    seed.add_argument("--weeks", type=int, default=4, help="weeks of past lessons (default 4)")
    codes = commands.add_parser("codes", help="access codes")
    codes_commands = codes.add_subparsers(dest="codes_command", required=True)
    issue = codes_commands.add_parser("issue", help="issue one-time codes and printable letters")
    issue.add_argument("--class", dest="class_name", help="class name, e.g. 7B")
    issue.add_argument(
        "--kind", choices=[k.value for k in CodeKind], default="parent", help="default: parent"
    )
    issue.add_argument("--out", type=Path, required=True, help="PDF file to write")
    issue.add_argument("--csv", type=Path, help="also write the codes as CSV")
    issue.add_argument("--days", type=int, default=30, help="days the codes stay valid")
    issue.add_argument("--school", help="school name (when the database holds several)")
    issue.add_argument("--bot-username", help="the bot's @username (else asked from Telegram)")
    issue.add_argument(
        "--replace",
        action="store_true",
        help="cancel the class's unused codes of this kind (their letters may be printed)",
    )
    add_year_parser(commands)
    backup = commands.add_parser("backup", help="write a backup archive of the whole school")
    backup.add_argument("out", type=Path, help="the archive to write (.zip)")
    backup.add_argument(
        "--files", type=Path, help="the folder of stored files (default: FILES_DIR)"
    )
    restore = commands.add_parser("restore", help="restore a backup into an empty database")
    restore.add_argument("archive", type=Path, help="the archive written by `parta backup`")
    restore.add_argument(
        "--files", type=Path, help="the empty folder to restore files into (default: FILES_DIR)"
    )
    add_roster_parsers(commands)
    add_calendar_parser(commands)
    add_report_parser(commands)
    return parser


def _secrets(settings: Settings) -> list[str]:
    """Every secret the logs must never show (the redacting filter's list)."""
    found = [settings.bot_token, settings.webhook_secret, settings.code_secret]
    values = [secret.get_secret_value() for secret in found if secret is not None]
    if settings.code_secret_previous is not None:
        values += [s.strip() for s in settings.code_secret_previous.get_secret_value().split(",")]
    # a very short webhook secret would blank every occurrence of its letters: too short to
    # matter in a log line anyway
    return [value for value in values if len(value) >= 8]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(logging.INFO)
    try:
        settings = _load_settings()
        configure_logging(settings.log_level, _secrets(settings), settings.log_format)
        if args.command == "run":
            asyncio.run(_run(settings))
        elif args.command == "db":
            asyncio.run(_db_upgrade(settings))
        elif args.command == "demo":
            if args.students is not None and args.students < 1:
                raise CliError("--students must be a positive number")
            if not 0 <= args.weeks <= 60:
                raise CliError("--weeks must be between 0 and 60")
            asyncio.run(_demo_seed(settings, args))
        elif args.command == "codes":
            if not 1 <= args.days <= 366:
                raise CliError("--days must be between 1 and 366")
            asyncio.run(_codes_issue(settings, args))
        elif args.command == "year":
            asyncio.run(_year_new(settings, args))
        elif args.command == "backup":
            asyncio.run(_backup(settings, args))
        elif args.command == "restore":
            asyncio.run(_restore(settings, args))
        elif args.command in ("import", "export"):
            asyncio.run(_roster(settings, args))
        elif args.command == "calendar":
            asyncio.run(_calendar(settings, args))
        elif args.command == "report":
            asyncio.run(_report(settings, args))
    except InvalidInput as exc:
        print("\n".join(exc.lines))
        return 1
    except CliError as exc:
        print(f"parta: {exc}", file=sys.stderr)
        return 2
    except (InputRefused, ReportRefused) as exc:
        print(f"parta: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
