"""The journal's typed prompts survive FSM storage (JSON) unchanged, each waits in its own
state, and a payload that is not a prompt (an older version's dict) is no prompt at all; the
shared icons give every attendance mark and a cancelled lesson an icon of their own."""

from __future__ import annotations

import json
import typing

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from bot import icons
from db.enums import AttendanceStatus, GradeKind
from handlers.journal import prompts
from handlers.journal.prompts import INPUT, JournalInput, Prompt

TASKS: list[prompts.AnyTask] = [
    prompts.TypedGrade(lesson_id=1, student_id=2, kind=GradeKind.TEST, run=True),
    prompts.Reason(
        change=prompts.AddGrade(lesson_id=1, student_id=2, value=3, kind=GradeKind.ORAL)
    ),
    prompts.Reason(change=prompts.ChangeGrade(grade_id=4, kind=GradeKind.EXAM)),
    prompts.Reason(change=prompts.ChangeGrade(grade_id=4, value=0)),
    prompts.Reason(change=prompts.DeleteGrade(grade_id=4)),
    prompts.Reason(
        change=prompts.SetPeriodGrade(assignment_id=5, period_id=6, student_id=2, value="5")
    ),
    prompts.Reason(
        change=prompts.SetPeriodGrade(assignment_id=5, period_id=6, student_id=2, value=5)
    ),
    prompts.Topic(lesson_id=1),
    prompts.Homework(lesson_id=1),
    prompts.Files(lesson_id=1, count=2),
    prompts.Excuse(lesson_id=1, student_id=2),
    prompts.ReturnComment(submission_id=7),
    prompts.PeriodValue(assignment_id=5, period_id=6, student_id=2),
]


@pytest.mark.parametrize("task", TASKS, ids=lambda t: type(t).__name__)
def test_every_prompt_survives_json_storage(task: prompts.AnyTask) -> None:
    prompt = Prompt(task=task, at=1_800_000_000, prompt_id=42)
    stored = json.loads(json.dumps(prompt.model_dump(mode="json")))
    assert Prompt.model_validate(stored) == prompt


def test_every_kind_of_prompt_has_its_own_state() -> None:
    kinds = typing.get_args(prompts.AnyTask)
    states = {kind.state for kind in kinds}
    assert len(states) == len(kinds)
    assert states == {state.state for state in JournalInput.__states__}


async def test_an_older_payload_is_no_prompt() -> None:
    state = FSMContext(MemoryStorage(), StorageKey(bot_id=1, chat_id=2, user_id=2))
    await state.set_state(JournalInput.reason)
    await state.update_data({INPUT: {"op": "change", "grade_id": "4", "at": 1, "value": 2}})
    assert await prompts.current(state) is None
    await state.update_data({INPUT: Prompt(task=TASKS[4], at=1).model_dump(mode="json")})
    assert await prompts.current(state) == Prompt(task=TASKS[4], at=1)
    await state.set_state(None)  # a prompt left behind by another conversation is not waiting
    assert await prompts.current(state) is None


def test_icons_have_one_meaning_each() -> None:
    marks = [icons.attendance(status) for status in [None, *AttendanceStatus]]
    assert len(set(marks)) == len(marks)
    assert icons.CANCELLED not in marks
    assert icons.attendance("absent") == icons.ABSENT == icons.ATTENDANCE[AttendanceStatus.ABSENT]
