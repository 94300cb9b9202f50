"""Staff screens for linking: pending link requests, access by class, revoking, codes."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ClassCb, CodesCb, MenuCb, Screen, StudentAccessCb
from bot.keyboards import (
    class_list_keyboard,
    codes_kind_keyboard,
    codes_reissue_keyboard,
    link_decision_keyboard,
    student_access_keyboard,
    students_keyboard,
)
from bot.rendering import Renderer
from bot.telegram import refuse, send_long, show_for
from db.base import utcnow
from db.enums import CodeKind
from services.core.access import Action, denied, require
from services.core.actors import Actor
from services.people import codes, letters, linking, school


async def _send_requests(
    chat_id: int, session: AsyncSession, actor: Actor, renderer: Renderer, bot: Bot
) -> None:
    if not actor.is_staff:
        raise denied(Action.DECIDE_LINK)
    requests = await linking.pending_requests(session, actor)
    if not requests:
        await bot.send_message(chat_id, renderer.render("school/no_requests.html.j2"))
        return
    for request in requests:
        await bot.send_message(
            chat_id,
            renderer.render("linking/request.html.j2", request=request),
            reply_markup=link_decision_keyboard(request.id, approvable=not request.own_account),
        )


async def requests_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer, bot: Bot
) -> None:
    await _send_requests(message.chat.id, session, actor, renderer, bot)


async def open_requests(
    query: CallbackQuery, session: AsyncSession, actor: Actor, renderer: Renderer, bot: Bot
) -> None:
    await _send_requests(query.from_user.id, session, actor, renderer, bot)


async def _class_menu(
    session: AsyncSession, actor: Actor, renderer: Renderer, *, for_codes: bool
) -> tuple[str, InlineKeyboardMarkup]:
    classes = await school.visible_classes(session, actor)
    if not classes:
        raise denied(Action.READ_CLASS)
    template = "school/codes_classes.html.j2" if for_codes else "school/classes.html.j2"
    return renderer.render(template), class_list_keyboard(classes, for_codes=for_codes)


async def classes_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer
) -> None:
    text, markup = await _class_menu(session, actor, renderer, for_codes=False)
    await message.answer(text, reply_markup=markup)


async def open_classes(
    query: CallbackQuery, session: AsyncSession, actor: Actor, renderer: Renderer, bot: Bot
) -> None:
    text, markup = await _class_menu(session, actor, renderer, for_codes=False)
    await show_for(query, bot, text, markup)


async def on_class(
    query: CallbackQuery,
    callback_data: ClassCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    class_name, rows = await school.class_access(
        session, actor, callback_data.class_id, now=utcnow()
    )
    text = renderer.render("school/class_access.html.j2", class_name=class_name, rows=rows)
    await send_long(bot, query.from_user.id, text, reply_markup=students_keyboard(rows))


async def on_student_access(
    query: CallbackQuery,
    callback_data: StudentAccessCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    holders = await linking.who_can_see(session, actor, callback_data.student_id)
    name = await school.student_name(session, callback_data.student_id)
    may_revoke = "admin" in actor.roles
    await show_for(
        query,
        bot,
        renderer.render("school/student_access.html.j2", name=name or "", holders=holders),
        student_access_keyboard(holders) if may_revoke else None,
    )


async def codes_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer
) -> None:
    await require(session, actor, Action.ISSUE_CODES)
    text, markup = await _class_menu(session, actor, renderer, for_codes=True)
    await message.answer(text, reply_markup=markup)


async def open_codes(
    query: CallbackQuery, session: AsyncSession, actor: Actor, renderer: Renderer, bot: Bot
) -> None:
    await require(session, actor, Action.ISSUE_CODES)
    text, markup = await _class_menu(session, actor, renderer, for_codes=True)
    await show_for(query, bot, text, markup)


async def on_codes(
    query: CallbackQuery,
    callback_data: CodesCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
    callback_answer: CallbackAnswer,
    code_keys: codes.CodeKeys,
) -> None:
    if callback_data.kind is None or callback_data.kind == CodeKind.STAFF:
        class_name = await school.class_name_for_codes(session, actor, callback_data.class_id)
        await show_for(
            query,
            bot,
            renderer.render("school/codes_kind.html.j2", class_name=class_name),
            codes_kind_keyboard(callback_data.class_id),
        )
        return
    batch = await school.issue_class_codes(
        session,
        actor,
        callback_data.class_id,
        callback_data.kind,
        keys=code_keys,
        replacing=callback_data.replace,
    )
    if isinstance(batch, school.ReissueNeeded):
        await show_for(
            query,
            bot,
            renderer.render(
                "school/codes_reissue.html.j2",
                class_name=batch.class_name,
                kind=batch.kind.value,
                count=batch.unused,
                again=bool(callback_data.replace),
            ),
            codes_reissue_keyboard(callback_data.class_id, batch.kind, batch.newest_id),
        )
        return
    if not batch.codes:
        refuse(callback_answer, renderer.render("school/codes_error.html.j2", key="empty"))
        return
    username = (await bot.me()).username or "bot"
    pdf = letters.render_letters_pdf(
        batch.codes,
        school_name=batch.school_name,
        bot_username=username,
        translate=renderer.i18n.gettext,
        timezone=batch.timezone,
    )
    csv_text = letters.render_codes_csv(batch.codes, bot_username=username)
    stem = f"codes-{callback_data.class_id}-{callback_data.kind.value}"
    caption = renderer.render(
        "school/codes_issued.html.j2",
        class_name=batch.class_name,
        kind=callback_data.kind.value,
        count=len(batch.codes),
    )
    if callback_data.replace:  # the confirmation screen: no button on it may act again
        await show_for(query, bot, caption)
    await bot.send_document(
        query.from_user.id, BufferedInputFile(pdf, f"{stem}.pdf"), caption=caption
    )
    await bot.send_document(
        query.from_user.id, BufferedInputFile(csv_text.encode("utf-8"), f"{stem}.csv")
    )


def create_router() -> Router:
    router = Router(name="school")
    router.message.filter(F.chat.type == "private")
    router.message.register(requests_command, Command("requests"))
    router.message.register(classes_command, Command("classes"))
    router.message.register(codes_command, Command("codes"))
    router.callback_query.register(open_requests, MenuCb.filter(F.screen == Screen.REQUESTS))
    router.callback_query.register(open_classes, MenuCb.filter(F.screen == Screen.CLASSES))
    router.callback_query.register(open_codes, MenuCb.filter(F.screen == Screen.CODES))
    router.callback_query.register(on_class, ClassCb.filter())
    router.callback_query.register(on_student_access, StudentAccessCb.filter())
    router.callback_query.register(on_codes, CodesCb.filter())
    return router
