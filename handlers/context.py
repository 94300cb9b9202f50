"""What a handler needs of its update, gathered once: `Ctx` (built by `context_middleware`), so a
handler takes its event, its callback data and `ctx` instead of six dependencies, and shows
a `Screen` the one way (`bot.screens.show_screen`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TypeVar

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.chat_action import ChatActionSender
from sqlalchemy.ext.asyncio import AsyncSession

from bot import workers
from bot.config import Settings
from bot.files import Files
from bot.middlewares.base import Handler
from bot.rendering import Renderer
from bot.screens import Screen, show_screen
from bot.telegram import refuse
from services.core.actors import Actor

if TYPE_CHECKING:
    from services.reports import Report

T = TypeVar("T")


@dataclass
class Ctx:
    """One update's dependencies: the event, the database session, the acting user, the
    renderer, settings, the bot, the FSM context, (for a button) its pending answer, and the
    school's kept files."""

    event: CallbackQuery | Message
    session: AsyncSession
    actor: Actor
    renderer: Renderer
    settings: Settings
    bot: Bot
    state: FSMContext
    answer: CallbackAnswer | None
    files: Files

    @classmethod
    def from_data(cls, event: CallbackQuery | Message, data: dict[str, Any]) -> Self:
        return cls(
            event=event,
            session=data["session"],
            actor=data["actor"],
            renderer=data["renderer"],
            settings=data["settings"],
            bot=data["bot"],
            state=data["state"],
            answer=data.get("callback_answer"),
            files=data["files"],
        )

    @property
    def chat_id(self) -> int:
        """The private chat the answer goes to."""
        if isinstance(self.event, Message):
            return self.event.chat.id
        return self.event.from_user.id

    def render(self, template: str, /, **context: Any) -> str:
        return self.renderer.render(template, **context)

    def screen(
        self, template: str, keyboard: InlineKeyboardMarkup | None = None, /, **context: Any
    ) -> Screen:
        """A template rendered with `context`, and its keyboard."""
        return Screen(self.renderer.render(template, **context), keyboard)

    def tell(self, text: str) -> None:
        """Answer the pressed button with a short notice (not an alert; nothing for a message)."""
        if self.answer is not None:
            self.answer.text = text

    def alert(self, html: str) -> None:
        """Answer the pressed button with an alert (nothing for a message)."""
        if self.answer is not None:
            refuse(self.answer, html)

    async def answer_now(self) -> None:
        """Answer the pressed button at once (before slow work: Telegram drops an answer that
        comes too late), unless it was answered already; nothing for a message."""
        answer = self.answer
        if answer is None or answer.answered or answer.disabled:
            return
        if isinstance(self.event, CallbackQuery):
            answer.disable()
            await self.bot.answer_callback_query(self.event.id, text=answer.text)

    async def in_worker(
        self,
        job: Callable[..., T],
        *args: Any,
        action: ChatAction = ChatAction.UPLOAD_DOCUMENT,
        **kwargs: Any,
    ) -> T:
        """`job(*args, **kwargs)` in the worker process (`bot.workers`: PDF, Excel, charts),
        the button answered first and `action` ("sending a file…") shown meanwhile, renewed
        every few seconds. Call it with nothing to write left in the session."""
        await self.answer_now()
        await self.bot.send_chat_action(self.chat_id, action)
        # renewed every 5 s, the first renewal after 4.5 s (the first action was just sent)
        sender = ChatActionSender(
            bot=self.bot, chat_id=self.chat_id, action=action.value, initial_sleep=4.5
        )
        async with sender:
            return await workers.run(job, *args, **kwargs)

    async def report_file(
        self, report: Report | Sequence[Report], fmt: str, action: ChatAction
    ) -> bytes:
        """`bot.workers.report_file` through `in_worker`, in the user's language."""
        i18n = self.renderer.i18n
        return await self.in_worker(
            workers.report_file,
            report,
            fmt,
            str(i18n.path),
            i18n.current_locale,
            domain=i18n.domain,
            action=action,
        )

    async def show(self, screen: Screen, *, anew: bool = False) -> None:
        """Show `screen`: in place for a button press, a new message for a message (see
        `show_screen`)."""
        await show_screen(self.event, self.bot, screen, anew=anew)


Middleware = Callable[[Handler, TelegramObject, dict[str, Any]], Awaitable[Any]]


def context_middleware(kind: type[Ctx] = Ctx) -> Middleware:
    """A middleware that builds the handler's `ctx` (this kind of `Ctx`) before it runs."""

    async def build_context(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, CallbackQuery | Message):
            data["ctx"] = kind.from_data(event, data)
        return await handler(event, data)

    return build_context
