"""The answers to the journal's prompts (`handlers.journal.prompts`): a typed grade, the reason
of a change, a topic, homework and its files, why a student is excused, what a returned work
should fix, a typed period grade. Each saves through the services and answers with the
updated screen."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import Message

from bot.callbacks.journal import RosterMode
from bot.keyboards import journal as kb
from bot.rendering import Renderer
from bot.screens import Screen
from bot.telegram import sent_file
from db.enums import AttendanceStatus
from handlers.journal import prompts, screens
from handlers.journal.context import JournalCtx
from handlers.journal.prompts import JournalInput
from services import journal
from services.core.errors import DomainError


async def on_typed_value(message: Message, ctx: JournalCtx) -> None:
    """A grade typed instead of tapped (any value of the scale, e.g. 87)."""
    task, prompt = await prompts.answered(ctx, prompts.TypedGrade)
    change = prompts.AddGrade(
        lesson_id=task.lesson_id,
        student_id=task.student_id,
        value=(message.text or "").strip(),
        kind=task.kind,
    )
    try:
        saved = await change.make(ctx)
    except journal.ReasonRequired:
        await message.answer(ctx.render("journal/error.html.j2", key="period_closed", details={}))
        return
    await prompts.settle(ctx, prompt)
    notice = ctx.toast(change.done, name=saved.student_name, value=saved.value)
    if task.run:
        screen = await screens.run(
            ctx, task.lesson_id, task.kind, after=task.student_id, notice=notice
        )
    else:
        await prompts.leave(ctx.state)
        screen = await screens.student(ctx, task.lesson_id, task.student_id, task.kind, notice)
    await ctx.show(screen)


async def on_reason(message: Message, ctx: JournalCtx) -> None:
    """The reason of a pending change: apply the change with it."""
    task, prompt = await prompts.answered(ctx, prompts.Reason)
    reason = (message.text or "").strip()
    if not reason:
        raise DomainError("journal.need_text")
    await prompts.leave(ctx.state)
    screen = await _apply(ctx, task.change, reason)
    await prompts.settle(ctx, prompt)
    await ctx.show(screen)


async def _apply(ctx: JournalCtx, change: prompts.Change, reason: str) -> Screen:
    """Make `change` with its reason; returns the screen that shows it done."""
    if isinstance(change, prompts.SetPeriodGrade):
        await change.make(ctx, reason)
        notice = ctx.toast("saved")
        return await screens.period(ctx, change.assignment_id, change.period_id, notice)
    saved = await change.make(ctx, reason)
    notice = ctx.toast(change.done, name=saved.student_name, old=saved.old_value, value=saved.value)
    return await screens.student(ctx, saved.lesson_id, saved.student_id, notice=notice)


async def on_topic(message: Message, ctx: JournalCtx) -> None:
    task, prompt = await prompts.answered(ctx, prompts.Topic)
    await journal.set_topic(ctx.session, ctx.actor, task.lesson_id, message.text or "")
    await prompts.done(ctx, prompt)
    await ctx.show(await screens.lesson(ctx, task.lesson_id, ctx.toast("saved")))


async def on_homework(message: Message, ctx: JournalCtx) -> None:
    """The homework text (a file or photo may come with it as the caption's carrier)."""
    task, prompt = await prompts.answered(ctx, prompts.Homework)
    attachment = sent_file(message)
    text = message.text if message.text is not None else message.caption
    await journal.save_homework(
        ctx.session,
        ctx.actor,
        task.lesson_id,
        text=text,
        attachments=[attachment] if attachment else [],
        grace=ctx.grace,
    )
    await prompts.done(ctx, prompt)
    await ctx.show(await screens.homework(ctx, task.lesson_id, ctx.toast("saved")))
    if attachment is not None:
        ctx.files.keep_later(ctx.bot, [attachment])


async def on_files(message: Message, ctx: JournalCtx) -> None:
    """One more file or photo for the homework (anything else: the question again)."""
    task, prompt = await prompts.answered(ctx, prompts.Files)
    markup = kb.files_keyboard(task.lesson_id)
    attachment = sent_file(message)
    if attachment is None:
        await ctx.show(
            Screen(ctx.render("journal/prompt.html.j2", key="files", details={}), markup)
        )
        return
    await journal.save_homework(
        ctx.session, ctx.actor, task.lesson_id, attachments=[attachment], grace=ctx.grace
    )
    more = await prompts.keep_files(ctx, prompt, task)
    await ctx.show(Screen(ctx.toast("files", count=more.count), markup))
    ctx.files.keep_later(ctx.bot, [attachment])


async def on_excuse(message: Message, ctx: JournalCtx) -> None:
    task, prompt = await prompts.answered(ctx, prompts.Excuse)
    saved = await journal.set_attendance(
        ctx.session,
        ctx.actor,
        task.lesson_id,
        task.student_id,
        AttendanceStatus.EXCUSED,
        reason=message.text,
        grace=ctx.grace,
    )
    await prompts.done(ctx, prompt)
    notice = ctx.toast("attendance", name=saved.student_name, status=saved.status)
    await ctx.show(await screens.roster(ctx, task.lesson_id, RosterMode.ATTENDANCE, notice=notice))


async def on_return_comment(message: Message, ctx: JournalCtx) -> None:
    task, prompt = await prompts.answered(ctx, prompts.ReturnComment)
    await journal.review_submission(
        ctx.session, ctx.actor, task.submission_id, accept=False, comment=message.text
    )
    await prompts.done(ctx, prompt)
    await ctx.show(await screens.submission(ctx, task.submission_id, ctx.toast("reviewed")))


async def on_period_value(message: Message, ctx: JournalCtx) -> None:
    """A typed period grade (a closed period then asks for the reason)."""
    task, prompt = await prompts.answered(ctx, prompts.PeriodValue)
    change = prompts.SetPeriodGrade(
        assignment_id=task.assignment_id,
        period_id=task.period_id,
        student_id=task.student_id,
        value=(message.text or "").strip(),
    )
    try:
        await change.make(ctx)
    except journal.ReasonRequired as exc:
        await prompts.settle(ctx, prompt)
        await prompts.ask_reason(ctx, exc, change)
        return
    await prompts.done(ctx, prompt)
    notice = ctx.toast("saved")
    await ctx.show(await screens.period(ctx, task.assignment_id, task.period_id, notice))


async def need_text(message: Message, renderer: Renderer) -> None:
    await message.answer(renderer.render("journal/error.html.j2", key="need_text", details={}))


def create_router() -> Router:
    """The answers, by the state of the prompt waiting (the package gates it to staff and
    registers it before every other router)."""
    router = Router(name="journal_inputs")
    not_command = ~F.text.startswith("/")
    text = F.text & not_command
    register = router.message.register
    register(on_typed_value, StateFilter(JournalInput.value), text)
    register(on_reason, StateFilter(JournalInput.reason), text)
    register(on_topic, StateFilter(JournalInput.topic), text)
    register(on_homework, StateFilter(JournalInput.homework), text | F.document | F.photo)
    register(on_files, StateFilter(JournalInput.files), not_command)
    register(on_excuse, StateFilter(JournalInput.excuse), text)
    register(on_return_comment, StateFilter(JournalInput.comment), text)
    register(on_period_value, StateFilter(JournalInput.period_value), text)
    register(
        need_text,
        StateFilter(
            JournalInput.value,
            JournalInput.reason,
            JournalInput.topic,
            JournalInput.homework,
            JournalInput.excuse,
            JournalInput.comment,
            JournalInput.period_value,
        ),
        not_command,
    )
    return router
