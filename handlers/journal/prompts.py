"""The journal's questions waiting for a typed answer, and the changes that may wait for one
(each change knows how to make itself, with or without a reason).

While a prompt waits, the FSM state says which kind of answer it takes (`JournalInput`) and
FSM storage holds a `Prompt` in the `PROMPT` slot (`bot.states.Slot`): a typed task (what the
answer is for), when it was asked and which message asked it. A payload that does not validate
(written by an older version) counts as expired, like one left longer than `INPUT_TTL`.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardMarkup
from pydantic import Field

from bot.keyboards import journal as kb
from bot.states import Payload, Slot
from db.enums import GradeKind
from handlers.journal.context import JournalCtx
from services import journal
from services.core.errors import DomainError
from services.core.schooltime import utcnow
from services.journal import periods

INPUT = "journal"  # the FSM data key of a pending typed input
INPUT_TTL = 30 * 60  # seconds a prompt (or an armed run-through) waits for its answer


class JournalInput(StatesGroup):
    value = State()  # a typed grade (also armed during a run-through)
    reason = State()  # the reason of a change after the grace window or in a closed period
    topic = State()
    homework = State()  # text and/or files
    files = State()  # more files for the homework
    excuse = State()  # why a student is excused
    comment = State()  # what a returned submission should fix
    period_value = State()  # a typed period grade


class _PeriodStudent(Payload):
    """A student's line of a period sheet."""

    assignment_id: int
    period_id: int
    student_id: int


# --- the changes that may wait for a reason ------------------------------------------------


class AddGrade(Payload):
    """A new grade: `value` indexes the scale's keyboard (int) or was typed (str)."""

    done: ClassVar[str] = "grade"  # the confirmation (journal/toast.html.j2)
    what: Literal["add"] = "add"
    lesson_id: int
    student_id: int
    value: int | str
    kind: GradeKind

    async def make(self, ctx: JournalCtx, reason: str | None = None) -> journal.GradeWrite:
        return await journal.add_grade(
            ctx.session,
            ctx.actor,
            self.lesson_id,
            self.student_id,
            self.value,
            self.kind,
            grace=ctx.grace,
            reason=reason,
        )


class ChangeGrade(Payload):
    """A new value (a keyboard index) or a new kind for a grade."""

    done: ClassVar[str] = "changed"
    what: Literal["change"] = "change"
    grade_id: int
    value: int | None = None
    kind: GradeKind | None = None

    async def make(self, ctx: JournalCtx, reason: str | None = None) -> journal.GradeWrite:
        return await journal.change_grade(
            ctx.session,
            ctx.actor,
            self.grade_id,
            value=self.value,
            kind=self.kind,
            reason=reason,
            grace=ctx.grace,
        )


class DeleteGrade(Payload):
    done: ClassVar[str] = "deleted"
    what: Literal["delete"] = "delete"
    grade_id: int

    async def make(self, ctx: JournalCtx, reason: str | None = None) -> journal.GradeWrite:
        return await journal.delete_grade(
            ctx.session, ctx.actor, self.grade_id, reason=reason, grace=ctx.grace
        )


class SetPeriodGrade(_PeriodStudent):
    """A period grade: a keyboard index (int) or a typed value (str)."""

    what: Literal["period"] = "period"
    value: int | str

    async def make(self, ctx: JournalCtx, reason: str | None = None) -> None:
        await periods.set_period_grade(
            ctx.session,
            ctx.actor,
            self.assignment_id,
            self.period_id,
            self.student_id,
            self.value,
            reason=reason,
        )


Change = Annotated[
    AddGrade | ChangeGrade | DeleteGrade | SetPeriodGrade, Field(discriminator="what")
]


# --- what a prompt asks for -----------------------------------------------------------------


class _Task(Payload):
    """What a prompt asks for. Its `what` names the `JournalInput` state that waits for the
    answer (`state`, set on each kind of task as it is defined)."""

    state: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        what = cls.model_fields.get("what")
        if what is not None:
            cls.state = getattr(JournalInput, what.default).state


class _LessonTask(_Task):
    lesson_id: int


class TypedGrade(_LessonTask):
    """A grade typed for a student; `run`: the run-through goes on after it."""

    what: Literal["value"] = "value"
    student_id: int
    kind: GradeKind
    run: bool = False


class Reason(_Task):
    """The reason `change` needs; the change is applied with it."""

    what: Literal["reason"] = "reason"
    change: Change


class Topic(_LessonTask):
    what: Literal["topic"] = "topic"


class Homework(_LessonTask):
    what: Literal["homework"] = "homework"


class Files(_LessonTask):
    """Files for the homework; `count` were received so far."""

    what: Literal["files"] = "files"
    count: int = 0


class Excuse(_LessonTask):
    what: Literal["excuse"] = "excuse"
    student_id: int


class ReturnComment(_Task):
    what: Literal["comment"] = "comment"
    submission_id: int


class PeriodValue(_Task, _PeriodStudent):
    what: Literal["period_value"] = "period_value"


AnyTask = TypedGrade | Reason | Topic | Homework | Files | Excuse | ReturnComment | PeriodValue
Task = Annotated[AnyTask, Field(discriminator="what")]
T = TypeVar("T", bound=_Task)


class Prompt(Payload):
    """A question waiting for its answer: `at` is when it was asked (epoch seconds; refreshed
    by every file received), `prompt_id` the message that asked it (None: a run-through)."""

    task: Task
    at: int
    prompt_id: int | None = None


PROMPT = Slot(INPUT, Prompt)


def _now() -> int:
    return int(utcnow().timestamp())


async def current(state: FSMContext) -> Prompt | None:
    """The prompt waiting now, if any (expired or not)."""
    if not _waiting(await state.get_state()):
        return None
    return await PROMPT.load(state)


def _waiting(state: str | None) -> bool:
    return state is not None and state.startswith(JournalInput.__name__)


async def leave(state: FSMContext) -> None:
    """Drop a pending typed input (a navigation button was pressed instead)."""
    if _waiting(await state.get_state()):
        await PROMPT.clear(state)


async def ask(
    ctx: JournalCtx,
    task: AnyTask,
    key: str,
    *,
    lesson_id: int = 0,
    details: dict[str, Any] | None = None,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Ask for a typed input (`key` picks the question in journal/prompt.html.j2): remember
    what it is for and which message asks it. Its "Cancel" goes back to `lesson_id` (if any)."""
    await ctx.state.set_state(task.state)
    await PROMPT.save(ctx.state, Prompt(task=task, at=_now()))
    text = ctx.render("journal/prompt.html.j2", key=key, details=details or {})
    sent = await ctx.bot.send_message(
        ctx.chat_id, text, reply_markup=markup or kb.cancel_keyboard(lesson_id)
    )
    await PROMPT.save(ctx.state, Prompt(task=task, at=_now(), prompt_id=sent.message_id))


async def ask_reason(
    ctx: JournalCtx, exc: journal.ReasonRequired, change: Change, *, lesson_id: int = 0
) -> None:
    """Ask why `change` is made (the service refused it without a reason)."""
    key = "reason_closed" if exc.key == "journal.closed_period" else f"reason_{change.what}"
    await ask(ctx, Reason(change=change), key, lesson_id=lesson_id, details=exc.details)


async def arm_run(ctx: JournalCtx, lesson_id: int, student_id: int, kind: GradeKind) -> None:
    """During a run-through, a typed message is the grade of the student it shows."""
    await ctx.state.set_state(JournalInput.value)
    task = TypedGrade(lesson_id=lesson_id, student_id=student_id, kind=kind, run=True)
    await PROMPT.save(ctx.state, Prompt(task=task, at=_now()))


async def answered(ctx: JournalCtx, kind: type[T]) -> tuple[T, Prompt]:
    """The task a typed message answers, and its prompt; a prompt left for too long has
    expired (`expired`), and so has one that is not of the state's `kind`."""
    prompt = await current(ctx.state)
    if prompt is None or _now() - prompt.at > INPUT_TTL or not isinstance(prompt.task, kind):
        await leave(ctx.state)
        raise DomainError("journal.expired")
    return prompt.task, prompt


async def keep_files(ctx: JournalCtx, prompt: Prompt, task: Files) -> Files:
    """One more file received: count it, and wait again from now."""
    more = task.model_copy(update={"count": task.count + 1})
    await PROMPT.save(ctx.state, prompt.model_copy(update={"task": more, "at": _now()}))
    return more


async def settle(ctx: JournalCtx, prompt: Prompt) -> None:
    """The prompt has been answered and the change saved: take its buttons off, so its
    "Cancel" can't later claim to cancel a change that stands. Call after the service."""
    if not prompt.prompt_id:
        return
    with suppress(TelegramBadRequest):  # deleted by the user, or too old to edit
        await ctx.bot.edit_message_reply_markup(
            chat_id=ctx.chat_id, message_id=prompt.prompt_id, reply_markup=None
        )


async def done(ctx: JournalCtx, prompt: Prompt) -> None:
    """The answer is saved: leave the input and settle its prompt."""
    await leave(ctx.state)
    await settle(ctx, prompt)
