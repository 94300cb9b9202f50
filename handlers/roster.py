"""The school's data from the bot, for admins: /school sends the empty workbook, the school
as a workbook or as OneRoster 1.2; a workbook or zip (OneRoster 1.1 too) sent as a document is
checked (a dry run), the changes shown, and applied when the admin presses "Apply".

The check keeps the document's Telegram file id and checksum in the FSM (`ROSTER_FILE`);
"Apply" downloads it again and refuses a different file, and the planner runs once more
inside the import, so what is written is what the database holds at that moment. The router
is gated to admins (`bot.filters.gated`); others' documents fall through to the other areas.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import tempfile
from pathlib import Path

from aiogram import F, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, StateFilter
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
)

from bot.callbacks import MenuCb
from bot.callbacks import Screen as MenuScreen
from bot.callbacks.roster import RosterAction, RosterCb
from bot.files import upload_name
from bot.filters import AdminOnly, gated, register_buttons
from bot.keyboards.roster import roster_apply_keyboard, roster_menu_keyboard
from bot.states import Payload, Slot
from handlers.context import Ctx
from services.core.access import Action, require
from services.core.schooltime import local_today, utcnow, zone_of
from services.roster import ImportPlan, apply_import, plan_import, snapshot
from services.roster.formats import Format, read_any
from services.roster.model import ReadResult
from services.roster.oneroster import write_oneroster
from services.roster.oneroster_gradebook import load_gradebook
from services.roster.problems import describe, describe_note
from services.roster.summary import summarize

#: the Bot API's download limit
MAX_DOWNLOAD = 20 * 1024 * 1024
ACCEPTED = (".xlsx", ".zip")
#: a report longer than this goes along as a text file, the message keeps its start
MESSAGE_ROOM = 3000
SHOWN = 5


class RosterFile(Payload):
    """The document checked last: applied only if the same bytes come back."""

    file_id: str
    name: str
    sha256: str


ROSTER_FILE = Slot("roster_file", RosterFile)


async def show_school(event: Message | CallbackQuery, ctx: Ctx) -> None:
    """/school and "School data": what can be sent, and the files to take."""
    await require(ctx.session, ctx.actor, Action.ADMINISTER)
    await ctx.show(ctx.screen("school/roster_menu.html.j2", roster_menu_keyboard()))


async def on_roster(query: CallbackQuery, callback_data: RosterCb, ctx: Ctx) -> None:
    await require(ctx.session, ctx.actor, Action.ADMINISTER)
    action = callback_data.action
    if action is RosterAction.APPLY:
        await _apply(query, ctx)
    elif action is RosterAction.CANCEL:
        await ROSTER_FILE.save(ctx.state, None)
        await ctx.show(ctx.screen("school/roster_status.html.j2", stage="cancelled"))
    else:
        await ctx.bot.send_chat_action(ctx.chat_id, ChatAction.UPLOAD_DOCUMENT)
        name, content = await _outgoing(ctx, action)
        await ctx.bot.send_document(ctx.chat_id, BufferedInputFile(content, name))


async def _outgoing(ctx: Ctx, action: RosterAction) -> tuple[str, bytes]:
    """The file a menu button asks for: (name, bytes)."""
    from services.roster.workbook import write_template, write_workbook  # openpyxl, on demand

    gettext = ctx.renderer.i18n.gettext
    buffer = io.BytesIO()
    if action is RosterAction.TEMPLATE:
        await asyncio.to_thread(write_template, buffer, gettext)
        return "parta-school-template.xlsx", buffer.getvalue()
    data = await snapshot(ctx.session, school_id=ctx.actor.school_id)
    stamp = local_today(zone_of(data.school.timezone)).isoformat()
    if action is RosterAction.EXPORT:
        await asyncio.to_thread(write_workbook, buffer, data, gettext)
        return f"school-{stamp}.xlsx", buffer.getvalue()
    gradebook = await load_gradebook(ctx.session, ctx.actor.school_id)
    await ctx.session.rollback()  # nothing more to read: no transaction while writing
    with tempfile.TemporaryDirectory(prefix="parta-") as folder:
        path = Path(folder) / "oneroster.zip"
        await asyncio.to_thread(write_oneroster, path, data, gradebook, modified=utcnow())
        return f"oneroster-{stamp}.zip", path.read_bytes()


async def on_document(message: Message, ctx: Ctx) -> None:
    """A document from an admin: checked as a school file, the dry run shown."""
    await require(ctx.session, ctx.actor, Action.ADMINISTER)
    document = message.document
    assert document is not None  # the filter
    name = document.file_name or "file"
    if not name.lower().endswith(ACCEPTED):
        await message.answer(ctx.render("school/roster_status.html.j2", stage="not_school_file"))
        return
    if (document.file_size or 0) > MAX_DOWNLOAD:
        await message.answer(ctx.render("school/roster_status.html.j2", stage="too_big"))
        return
    status = await message.answer(
        ctx.render("school/roster_status.html.j2", stage="reading", name=name)
    )
    content = await _download_id(ctx, document.file_id)
    if content is None:
        await _edit(
            ctx, status, ctx.render("school/roster_status.html.j2", stage="download_failed")
        )
        return
    outcome = await _check_and_show(ctx, status, name, content, apply=False)
    pending = RosterFile(
        file_id=document.file_id, name=name, sha256=hashlib.sha256(content).hexdigest()
    )
    await ROSTER_FILE.save(ctx.state, pending if outcome == "plan" else None)


async def _apply(query: CallbackQuery, ctx: Ctx) -> None:
    pending = await ROSTER_FILE.load(ctx.state)
    if pending is None:
        await ctx.show(ctx.screen("school/roster_status.html.j2", stage="expired"))
        return
    await ROSTER_FILE.save(ctx.state, None)  # one press applies once
    await ctx.show(ctx.screen("school/roster_status.html.j2", stage="applying", name=pending.name))
    content = await _download_id(ctx, pending.file_id)
    if content is None or hashlib.sha256(content).hexdigest() != pending.sha256:
        await ctx.show(ctx.screen("school/roster_status.html.j2", stage="changed"))
        return
    assert isinstance(query.message, Message)
    await _check_and_show(ctx, query.message, pending.name, content, apply=True)


async def _check_and_show(
    ctx: Ctx, status: Message, name: str, content: bytes, *, apply: bool
) -> str:
    """Read `content`, plan it (and apply it), and show the outcome in `status`: "invalid",
    "noop", "plan" (waits for "Apply") or "applied"."""
    kind, result = await _read(name, content)
    if not result.ok or result.data is None:
        await _report(ctx, status, name, kind, "invalid", _problem_text(ctx, result))
        return "invalid"
    await _edit(
        ctx, status, ctx.render("school/roster_status.html.j2", stage="checking", name=name)
    )
    data = result.data
    today = local_today(zone_of(data.school.timezone))
    school_id = ctx.actor.school_id  # the admin's own school, never "the first one"
    plan = await plan_import(ctx.session, data, today=today, school_id=school_id)
    if apply and not plan.problems and not plan.is_noop:
        plan = await apply_import(
            ctx.session,
            data,
            today=today,
            actor_account_id=ctx.actor.account_id,
            school_id=school_id,
        )
    outcome = _outcome(plan, applied=apply)
    await _report(ctx, status, name, kind, outcome, _plan_text(ctx, result, plan))
    return outcome


def _outcome(plan: ImportPlan, *, applied: bool) -> str:
    if plan.problems:
        return "invalid"
    if plan.is_noop:
        return "noop"
    return "applied" if applied else "plan"


async def _read(name: str, content: bytes) -> tuple[Format, ReadResult]:
    with tempfile.TemporaryDirectory(prefix="parta-") as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(content)
        return await asyncio.to_thread(read_any, path)


def _problem_text(ctx: Ctx, result: ReadResult) -> str:
    gettext = ctx.renderer.i18n.gettext
    lines = [describe(problem, gettext) for problem in result.problems]
    lines += [describe_note(note, gettext) for note in result.notes]
    return "\n".join(f"• {line}" for line in lines)


def _plan_text(ctx: Ctx, result: ReadResult, plan: ImportPlan) -> str:
    gettext = ctx.renderer.i18n.gettext
    notes = [describe_note(note, gettext) for note in result.notes]
    return "\n".join([*notes, summarize(plan, gettext, first=SHOWN)])


async def _report(
    ctx: Ctx, status: Message, name: str, kind: Format, outcome: str, report: str
) -> None:
    """The outcome in place of the status message; a long report also as a text file."""
    long = len(report) > MESSAGE_ROOM
    text = ctx.render(
        "school/roster_report.html.j2",
        name=name,
        kind=kind.value,
        outcome=outcome,
        report=report[:MESSAGE_ROOM] if long else report,
        truncated=long,
        attached=long,
    )
    keyboard = roster_apply_keyboard() if outcome == "plan" else None
    await _edit(ctx, status, text, keyboard)
    if long:
        report_name = upload_name(f"{Path(name).stem}-report", "txt")
        report_file = BufferedInputFile(report.encode("utf-8"), report_name)
        await ctx.bot.send_document(ctx.chat_id, report_file)


async def _edit(
    ctx: Ctx, status: Message, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    await ctx.bot.edit_message_text(
        text, chat_id=status.chat.id, message_id=status.message_id, reply_markup=keyboard
    )


async def _download_id(ctx: Ctx, file_id: str) -> bytes | None:
    """The file's bytes, or None when Telegram will not give them. The session's
    transaction ends first: no database connection is held while Telegram answers."""
    await ctx.session.commit()
    buffer = io.BytesIO()
    try:
        await ctx.bot.download(file_id, destination=buffer)
    except Exception:  # any failure to download is told to the admin, who sends it again
        return None
    return buffer.getvalue()


def _admin_router() -> Router:
    router = Router(name="roster_admin")
    router.message.register(show_school, Command("school"))
    router.callback_query.register(show_school, MenuCb.filter(F.screen == MenuScreen.SCHOOL))
    router.message.register(on_document, StateFilter(None), F.document)
    register_buttons(router, on_roster)
    return router


def create_router() -> Router:
    return gated(
        "roster",
        AdminOnly(),
        _admin_router(),
        refusal=Action.ADMINISTER,
    )
