"""The wire format of every callback-data factory is pinned: buttons already sent to chats
must keep working, so a refactoring of the factories (shared field groups, moves between
modules) has to pack the same button to the same bytes. Each factory packs one button with
every field set (distinct values, so a reordering shows) and one with only its required
fields (so a changed default shows).

A new factory adds its row here (the test prints what it packs)."""

from __future__ import annotations

import enum
import typing
from typing import Any

import annotated_types
from aiogram.filters.callback_data import CallbackData

from bot.callbacks import LAST_DAY
from tests.test_callbacks import _factories

PINNED: dict[tuple[str, str], tuple[str, str]] = {
    ("bot.callbacks", "ChildCb"): ("ch:11", "ch:11"),
    ("bot.callbacks", "ClassCb"): ("cl:11", "cl:11"),
    ("bot.callbacks", "CodesCb"): ("cd:11:staff:13", "cd:11::0"),
    ("bot.callbacks", "GrantCb"): ("tg:11:r:13:1", "tg:11:r:0:0"),
    ("bot.callbacks", "InviteCb"): ("ti:11:12:13:1", "ti:11:12:13:0"),
    ("bot.callbacks", "LanguageCb"): ("lng:en", "lng:en"),
    ("bot.callbacks", "LinkDecisionCb"): ("lr:11:1", "lr:11:1"),
    ("bot.callbacks", "MenuCb"): ("mn:school", "mn:school"),
    ("bot.callbacks", "StudentAccessCb"): ("sa:11", "sa:11"),
    ("bot.callbacks", "UnlinkCb"): ("ul:11:1", "ul:11:0"),
    ("bot.callbacks.diary", "AttendanceCb"): ("da:11:12", "da:11:0"),
    ("bot.callbacks.diary", "CalcCb"): ("dc:11:12:13", "dc:11:12:13"),
    ("bot.callbacks.diary", "CalendarFileCb"): ("dic:11", "dic:11"),
    ("bot.callbacks.diary", "DayCb"): ("dd:11:739002", "dd:11:0"),
    ("bot.callbacks.diary", "GradesCb"): ("dg:11:12:13:14:1", "dg:11:0:0:0:0"),
    ("bot.callbacks.diary", "HomeworkCb"): ("dh:11:12", "dh:11:0"),
    ("bot.callbacks.diary", "HomeworkFilesCb"): ("dhf:11:12:13", "dhf:11:12:0"),
    ("bot.callbacks.diary", "HomeworkItemCb"): ("dhi:11:12", "dhi:11:12"),
    ("bot.callbacks.diary", "ProgressChartCb"): ("drp:11:12", "drp:11:0"),
    ("bot.callbacks.diary", "ReportCardCb"): ("drc:11:12:1", "drc:11:0:0"),
    ("bot.callbacks.diary", "ReportCb"): ("dr:11:12", "dr:11:0"),
    ("bot.callbacks.diary", "ScheduleCb"): ("dt:11:739002", "dt:11:0"),
    ("bot.callbacks.diary", "SpoilerCb"): ("dsp:1:12", "dsp:1:0"),
    ("bot.callbacks.diary", "SubmitCb"): ("dsb:11:c", "dsb:11:c"),
    ("bot.callbacks.diary", "WeekCb"): ("dw:11:739002", "dw:11:0"),
    ("bot.callbacks.diary", "YearsCb"): ("dy:11", "dy:11"),
    ("bot.callbacks.journal", "JAssignCb"): ("jas:11:12", "jas:11:0"),
    ("bot.callbacks.journal", "JAttendCb"): ("jat:11:12:e", "jat:11:12:e"),
    ("bot.callbacks.journal", "JAuditCb"): ("jau:11:12:13", "jau:0:0:0"),
    ("bot.callbacks.journal", "JCancelCb"): ("jx:11", "jx:0"),
    ("bot.callbacks.journal", "JDayCb"): ("jd:739001:12", "jd:739001:0"),
    ("bot.callbacks.journal", "JDueCb"): ("jdu:11:739002", "jdu:11:739002"),
    ("bot.callbacks.journal", "JGradeCb"): ("jg:11:12:13:exam:1", "jg:11:12:13:exam:0"),
    ("bot.callbacks.journal", "JHoldCb"): ("jmh:11:p", "jmh:11:p"),
    ("bot.callbacks.journal", "JHomeworkFilesCb"): ("jhf:11:12", "jhf:11:12"),
    ("bot.callbacks.journal", "JLessonCb"): ("jl:11:a", "jl:11:c"),
    ("bot.callbacks.journal", "JLessonOpCb"): ("jlo:11:f", "jlo:11:f"),
    ("bot.callbacks.journal", "JMarkCb"): ("jm:11:r", "jm:11:o"),
    ("bot.callbacks.journal", "JMarkKindCb"): ("jmk:11:exam", "jmk:11:exam"),
    ("bot.callbacks.journal", "JMarkValueCb"): ("jmv:11:12", "jmv:11:12"),
    ("bot.callbacks.journal", "JPeriodCb"): ("jpe:11:12:x", "jpe:11:0:o"),
    ("bot.callbacks.journal", "JPeriodGradeCb"): ("jpg:11:12:13:t", "jpg:11:12:13:o"),
    ("bot.callbacks.journal", "JPeriodValueCb"): ("jpv:11:12:13:14", "jpv:11:12:13:14"),
    ("bot.callbacks.journal", "JPickCb"): ("jpk:w:739002:13", "jpk:w:739002:0"),
    ("bot.callbacks.journal", "JReplaceCb"): ("jrp:11:12", "jrp:11:0"),
    ("bot.callbacks.journal", "JReplaceSetCb"): ("jrs:11:12", "jrs:11:12"),
    ("bot.callbacks.journal", "JRosterCb"): ("jro:11:e:13", "jro:11:e:0"),
    ("bot.callbacks.journal", "JRunCb"): ("jr:11:12:exam:x", "jr:11:12:exam:x"),
    ("bot.callbacks.journal", "JStudentCb"): ("jst:11:12:exam", "jst:11:12:classwork"),
    ("bot.callbacks.journal", "JSubmissionCb"): ("jsb:11:r:13", "jsb:11:o:0"),
    ("bot.callbacks.journal", "JTypeCb"): ("jty:11:12:exam", "jty:11:12:exam"),
    ("bot.callbacks.journal", "JUndoCb"): ("ju:11:12:exam", "ju:11:0:"),
    ("bot.callbacks.journal", "JUnseenCb"): ("jun:11", "jun:11"),
    ("bot.callbacks.notify", "CalendarFeedCb"): ("ncf:r", "ncf:s"),
    ("bot.callbacks.notify", "DeadLetterCb"): ("ndl:1", "ndl:0"),
    ("bot.callbacks.notify", "EraseCb"): ("npd:11:1", "npd:11:0"),
    ("bot.callbacks.notify", "NoteCancelCb"): ("nx", "nx"),
    ("bot.callbacks.notify", "PrefCb"): ("npf:t:system:13", "npf:t::0"),
    ("bot.callbacks.notify", "ReactCb"): ("nr:11:t", "nr:11:t"),
    ("bot.callbacks.notify", "ReplyCb"): ("nrp:11", "nrp:11"),
    ("bot.callbacks.reports", "ReportCb"): ("rep:progress:12:13:png", "rep::0:0:"),
    ("bot.callbacks.roster", "RosterCb"): ("ros:c", "ros:c"),
}


def _value(factory: type[CallbackData], name: str, index: int, annotation: Any) -> Any:
    """A distinct value per field: ints 10 + position (a day: 739000 + position), True, and
    an enum's last member."""
    args = typing.get_args(annotation)
    if args:  # Optional[X] / X | None
        inner = next(a for a in args if a is not type(None))
        return _value(factory, name, index, inner)
    if annotation is bool:
        return True
    if annotation is int:
        metadata = factory.model_fields[name].metadata
        high = next(item.le for item in metadata if isinstance(item, annotated_types.Le))
        return 739000 + index if high == LAST_DAY else 10 + index
    assert isinstance(annotation, type), annotation
    assert issubclass(annotation, enum.Enum), annotation
    return list(annotation)[-1]


def _packed(factory: type[CallbackData]) -> tuple[str, str]:
    hints = typing.get_type_hints(factory)
    fields = factory.model_fields
    full = {n: _value(factory, n, i, hints[n]) for i, n in enumerate(fields, 1)}
    required = {n: v for n, v in full.items() if fields[n].is_required()}
    return factory(**full).pack(), factory(**required).pack()


def test_every_factory_packs_as_pinned() -> None:
    packed = {(f.__module__, f.__name__): _packed(f) for f in _factories()}
    for key, (full, required) in packed.items():
        assert (full, required) == PINNED.get(key), (key, full, required)
    assert set(packed) == set(PINNED), sorted(set(PINNED) - set(packed))


def test_pinned_buttons_unpack_to_themselves() -> None:
    for factory in _factories():
        for data in PINNED[(factory.__module__, factory.__name__)]:
            assert factory.unpack(data).pack() == data
