"""Last resort: anything no other router took gets an answer, never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.rendering import Renderer
from services.core.actors import Actor


async def on_unknown_message(message: Message, actor: Actor, renderer: Renderer) -> None:
    await message.answer(renderer.render("common/unknown_message.html.j2", actor=actor))


async def on_unknown_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = _("This button is out of date. Send /start to get a fresh screen.")
    callback_answer.show_alert = True


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(on_unknown_message, F.chat.type == "private")
    router.callback_query.register(on_unknown_button)
    return router
