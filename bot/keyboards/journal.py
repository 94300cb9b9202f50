"""Inline keyboards of the teacher's journal. Every write button answers with the updated
screen; labels are short so a phone shows a class roster without scrolling sideways."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import icons
from bot.callbacks import MenuCb, Screen
from bot.callbacks.journal import (
    HOLD_CHOICES,
    AttendOp,
    Hold,
    JAssignCb,
    JAttendCb,
    JAuditCb,
    JCancelCb,
    JDayCb,
    JDueCb,
    JGradeCb,
    JHoldCb,
    JHomeworkFilesCb,
    JLessonCb,
    JLessonOpCb,
    JMarkCb,
    JMarkKindCb,
    JMarkValueCb,
    JPeriodCb,
    JPeriodGradeCb,
    JPeriodValueCb,
    JPickCb,
    JReplaceCb,
    JReplaceSetCb,
    JRosterCb,
    JRunCb,
    JStudentCb,
    JSubmissionCb,
    JTypeCb,
    JUndoCb,
    JUnseenCb,
    LessonOp,
    LessonView,
    MarkOp,
    PeriodGradeOp,
    PeriodOp,
    Pick,
    RosterMode,
    RunOp,
    SubOp,
)
from bot.dates import DAY_MONTH, format_clock, format_day
from bot.i18n import N_
from bot.keyboards import button, one_button
from bot.keyboards.builder import KeyboardBuilder
from db.enums import GradeKind, ScaleKind, SubmissionStatus
from services.core.grading import FAIL, PASS, ScaleSpec, display_value
from services.journal import (
    AssignmentItem,
    AssignmentLessons,
    Choice,
    DayView,
    GradeDetail,
    HomeworkScreen,
    LessonCard,
    LessonItem,
    ReplacementPage,
    RosterLine,
    RunStep,
    StudentSheet,
    SubmissionDetail,
    SubmissionList,
)
from services.journal.periods import PeriodLine, PeriodRef, PeriodSheet

ROSTER_PAGE = 40
FILES_PER_PAGE = 3  # files re-sent per press: with the screen, a burst Telegram tolerates
KINDS = list(GradeKind)
KIND_LABELS = {
    GradeKind.ORAL: N_("Oral"),
    GradeKind.CLASSWORK: N_("Classwork"),
    GradeKind.HOMEWORK: N_("Homework"),
    GradeKind.TEST: N_("Test"),
    GradeKind.EXAM: N_("Exam"),
}
SUBMISSION_ICONS = {
    SubmissionStatus.SUBMITTED: "⏳",
    SubmissionStatus.ACCEPTED: "✅",
    SubmissionStatus.RETURNED: "↩️",
}
HUNDRED_KEYS = ("100", "90", "80", "70", "60", "50", "40", "30", "20", "0")


def kind_label(kind: GradeKind) -> str:
    return _(KIND_LABELS[kind])


def value_label(value: str) -> str:
    """A grade value on a button: "4−", "✔ pass", "✘ fail" (localized)."""
    if value == PASS:
        return "✔ " + _("pass")
    if value == FAIL:
        return "✘ " + _("fail")
    return display_value(value)


def short_name(full: str, limit: int = 22) -> str:
    """A name for a half-width button: its first two words ("Иванова Анна Петровна" →
    "Иванова Анна"), cut to `limit`."""
    name = " ".join(full.split()[:2]) or full
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _marks(line: RosterLine) -> str:
    """Marks as "4 5👁 3💬": values with the family's "Seen" and comments."""
    return " ".join(
        value_label(m.value).split()[0] + ("👁" if m.seen else "") + ("💬" if m.comments else "")
        for m in line.marks
    )


def _all_present() -> str:
    return _("%(icon)s All present") % {"icon": icons.PRESENT}


def _back(builder: KeyboardBuilder, text: str, data: str) -> None:
    builder.row(InlineKeyboardButton(text=text, callback_data=data))


def _row(builder: KeyboardBuilder, text: str, data: CallbackData) -> None:
    """A row of one button."""
    builder.row(button(text, data))


def _pager(
    builder: KeyboardBuilder,
    page: int,
    has_more: bool,
    data: Callable[[int], CallbackData],
    labels: tuple[str, str] = ("◀️", "▶️"),
) -> None:
    """A row of "previous / next page" buttons (none on a single page)."""
    nav = []
    if page > 0:
        nav.append(button(labels[0], data(page - 1)))
    if has_more:
        nav.append(button(labels[1], data(page + 1)))
    if nav:
        builder.row(*nav)


def _value_rows(spec: ScaleSpec, values: Sequence[str]) -> tuple[list[int], int]:
    """Which keyboard values to show (indexes) and how many per row."""
    if spec.kind == ScaleKind.HUNDRED:
        shown = [values.index(v) for v in HUNDRED_KEYS if v in values]
        return shown, 5
    if spec.kind == ScaleKind.PASS_FAIL:
        return list(range(len(values))), 2
    if spec.kind == ScaleKind.TEN:
        return list(range(len(values))), 5
    width = 3 if spec.modifiers else 5
    return list(range(len(values))), width


def _add_values(
    builder: KeyboardBuilder,
    spec: ScaleSpec,
    values: Sequence[str],
    data: Callable[[int], CallbackData],
) -> None:
    """Value buttons in rows; `data(index)` makes each button's callback data."""
    shown, width = _value_rows(spec, values)
    row: list[InlineKeyboardButton] = []
    for index in shown:
        row.append(button(value_label(values[index]), data(index)))
        if len(row) == width:
            builder.row(*row)
            row = []
    if row:
        builder.row(*row)


# --- days and pickers -----------------------------------------------------------------------


def _lesson_label(item: LessonItem, *, with_date: bool = False) -> str:
    marks = ""
    if item.cancelled:
        marks += " " + icons.CANCELLED
    if item.replacing:
        marks += " 🔁"
    elif item.replaced:
        marks += " ↪️"
    if item.homework:
        marks += " 📚"
    when = format_day(item.date, DAY_MONTH) + " " if with_date else ""
    label = (
        f"{when}{item.lesson_number}. {format_clock(item.starts_at)} "
        f"{item.class_name} · {item.subject_name}{marks}"
    )
    return label[:60]


def day_keyboard(view: DayView) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for item in view.lessons:
        builder.row(button(_lesson_label(item), JLessonCb(lesson_id=item.id)))
    day = view.day.toordinal()
    nav = [button("◀️", JDayCb(day=day - 1, class_id=view.class_id))]
    if view.day != view.today:
        nav.append(button(_("Today"), JDayCb(day=view.today.toordinal(), class_id=view.class_id)))
    nav.append(button("▶️", JDayCb(day=day + 1, class_id=view.class_id)))
    builder.row(*nav)
    builder.row(
        button(_("🏫 Class"), JPickCb(what=Pick.CLASS, day=day)),
        button(_("📖 Subject"), JPickCb(what=Pick.SUBJECT, day=day, class_id=view.class_id)),
        button(_("📅 Week"), JPickCb(what=Pick.WEEK, day=day, class_id=view.class_id)),
    )
    if view.class_id and view.class_journal:
        builder.row(button(_("👀 Not seen by parents"), JUnseenCb(class_id=view.class_id)))
    if view.class_id and view.teaches:
        builder.row(button(_("📘 My lessons"), JDayCb(day=day)))
    _back(builder, _("« Main screen"), MenuCb(screen=Screen.HOME).pack())
    return builder.as_markup()


def classes_keyboard(day: date, classes: Sequence[Choice]) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for item in classes[:80]:
        builder.button(text=item.name, callback_data=JDayCb(day=day.toordinal(), class_id=item.id))
    builder.adjust(4)
    _back(builder, _("« Back"), JDayCb(day=day.toordinal()).pack())
    return builder.as_markup()


def subjects_keyboard(
    day: date, items: Sequence[AssignmentItem], class_id: int
) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for item in items[:80]:
        label = f"{item.class_name} · {item.subject_name}" + ("" if item.mine else " 👁")
        builder.button(text=label[:60], callback_data=JAssignCb(assignment_id=item.id))
    builder.adjust(1)
    _back(builder, _("« Back"), JDayCb(day=day.toordinal(), class_id=class_id).pack())
    return builder.as_markup()


def week_keyboard(day: date, class_id: int, today: date) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    monday = day - timedelta(days=day.weekday())
    for offset in range(7):
        current = monday + timedelta(days=offset)
        label = format_day(current, DAY_MONTH) + (" •" if current == today else "")
        builder.button(text=label, callback_data=JDayCb(day=current.toordinal(), class_id=class_id))
    builder.adjust(4, 3)
    builder.row(
        button(
            _("◀️ Week"),
            JPickCb(what=Pick.WEEK, day=(day - timedelta(days=7)).toordinal(), class_id=class_id),
        ),
        button(
            _("Week ▶️"),
            JPickCb(what=Pick.WEEK, day=(day + timedelta(days=7)).toordinal(), class_id=class_id),
        ),
    )
    _back(builder, _("« Back"), JDayCb(day=day.toordinal(), class_id=class_id).pack())
    return builder.as_markup()


def assignment_keyboard(view: AssignmentLessons, today: date) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for item in view.lessons:
        builder.row(button(_lesson_label(item, with_date=True), JLessonCb(lesson_id=item.id)))
    _pager(
        builder,
        view.page,
        view.has_more,
        lambda p: JAssignCb(assignment_id=view.assignment.id, page=p),
        (_("« Newer"), _("Older »")),
    )
    _row(builder, _("📊 Period grades"), JPeriodCb(assignment_id=view.assignment.id))
    _back(builder, _("« Back"), JDayCb(day=today.toordinal()).pack())
    return builder.as_markup()


# --- the lesson -----------------------------------------------------------------------------


def _day_of(card_date: date, class_id: int) -> str:
    return JDayCb(day=card_date.toordinal(), class_id=class_id).pack()


def lesson_keyboard(card: LessonCard) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    lesson = card.lesson
    lid = lesson.id
    if card.gradable:
        builder.row(
            button(
                _("▶️ Run-through"),
                JRunCb(lesson_id=lid, student_id=0, kind=GradeKind.CLASSWORK, op=RunOp.START),
            ),
            button(_("👥 Grades"), JRosterCb(lesson_id=lid, mode=RosterMode.GRADES)),
        )
        attendance = [
            button(_("🚸 Attendance"), JRosterCb(lesson_id=lid, mode=RosterMode.ATTENDANCE))
        ]
        if not card.closed:  # a closed period's attendance is frozen
            attendance.insert(
                0,
                button(_all_present(), JAttendCb(lesson_id=lid, student_id=0, op=AttendOp.ALL)),
            )
        builder.row(*attendance)
    else:
        builder.row(button(_("👥 Students"), JRosterCb(lesson_id=lid, mode=RosterMode.GRADES)))
    builder.row(
        button(_("📚 Homework"), JLessonCb(lesson_id=lid, view=LessonView.HOMEWORK)),
        button(_("📊 Period grades"), JPeriodCb(assignment_id=lesson.assignment_id)),
    )
    if (card.can_write or card.can_replace) and not card.closed:
        builder.row(
            button(
                _("⚙️ Topic, cancel, replacement"),
                JLessonCb(lesson_id=lid, view=LessonView.SETTINGS),
            )
        )
    row = []
    if card.can_write:
        row.append(button(_("↩️ Undo"), JUndoCb(lesson_id=lid)))
    row.append(button(_("🧾 History"), JAuditCb(lesson_id=lid)))
    builder.row(*row)
    back_class = 0 if card.can_write else lesson.class_id
    _back(builder, _("« Day"), _day_of(lesson.date, back_class))
    return builder.as_markup()


def roster_keyboard(card: LessonCard, mode: RosterMode, page: int) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    lid = card.lesson.id
    lines = card.roster[page * ROSTER_PAGE : (page + 1) * ROSTER_PAGE]
    for line in lines:
        icon = icons.attendance(line.attendance)
        if mode == RosterMode.GRADES:
            marks = _marks(line)
            text = f"{short_name(line.name)} {marks}".strip()
            if line.away:
                text = f"{icon} {text}"
            data = JStudentCb(lesson_id=lid, student_id=line.student_id).pack()
        elif mode == RosterMode.ATTENDANCE:
            text = f"{icon} {short_name(line.name)}"
            data = JAttendCb(lesson_id=lid, student_id=line.student_id, op=AttendOp.CYCLE).pack()
        else:
            text = f"{icon} {short_name(line.name)}"
            data = JAttendCb(lesson_id=lid, student_id=line.student_id, op=AttendOp.EXCUSE).pack()
        builder.button(text=text[:60], callback_data=data)
    builder.adjust(2)
    more = len(card.roster) > (page + 1) * ROSTER_PAGE
    _pager(builder, page, more, lambda p: JRosterCb(lesson_id=lid, mode=mode, page=p))
    if mode == RosterMode.ATTENDANCE and card.gradable and not card.closed:
        builder.row(
            button(_all_present(), JAttendCb(lesson_id=lid, student_id=0, op=AttendOp.ALL)),
            button(
                _("%(icon)s Excused…") % {"icon": icons.EXCUSED},
                JRosterCb(lesson_id=lid, mode=RosterMode.EXCUSE),
            ),
        )
    if mode != RosterMode.GRADES and card.can_write:
        builder.row(button(_("↩️ Undo"), JUndoCb(lesson_id=lid)))
    back = (
        JRosterCb(lesson_id=lid, mode=RosterMode.ATTENDANCE).pack()
        if mode == RosterMode.EXCUSE
        else JLessonCb(lesson_id=lid).pack()
    )
    _back(builder, _("« Back"), back)
    return builder.as_markup()


def _kind_row(
    builder: KeyboardBuilder, current: GradeKind, data: Callable[[GradeKind], CallbackData]
) -> None:
    buttons = [
        button(("• " if kind == current else "") + kind_label(kind), data(kind)) for kind in KINDS
    ]
    builder.row(*buttons[:3])
    builder.row(*buttons[3:])


def student_keyboard(sheet: StudentSheet, kind: GradeKind) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    lid, sid = sheet.lesson.id, sheet.line.student_id
    for mark in sheet.line.marks:
        label = f"✏️ {value_label(mark.value)} · {kind_label(mark.kind)}"
        builder.row(button(label[:60], JMarkCb(grade_id=mark.id)))
    if sheet.gradable:
        _kind_row(builder, kind, lambda k: JStudentCb(lesson_id=lid, student_id=sid, kind=k))
        _add_values(
            builder,
            sheet.lesson.scale,
            sheet.values,
            lambda i: JGradeCb(lesson_id=lid, student_id=sid, value=i, kind=kind),
        )
        row = [button(_("⌨️ Type a value"), JTypeCb(lesson_id=lid, student_id=sid, kind=kind))]
        if not sheet.closed:  # a closed period's attendance is frozen
            row.append(
                button(
                    icons.attendance(sheet.line.attendance) + " " + _("Attendance"),
                    JAttendCb(lesson_id=lid, student_id=sid, op=AttendOp.TOGGLE),
                )
            )
        builder.row(*row)
    if sheet.class_journal:
        builder.row(button(_("🧾 Student's history"), JAuditCb(student_id=sid)))
    _back(builder, _("« Roster"), JRosterCb(lesson_id=lid, mode=RosterMode.GRADES).pack())
    return builder.as_markup()


def run_keyboard(step: RunStep, kind: GradeKind) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    lid, sid = step.lesson.id, step.line.student_id
    _add_values(
        builder,
        step.lesson.scale,
        step.values,
        lambda i: JGradeCb(lesson_id=lid, student_id=sid, value=i, kind=kind, run=True),
    )
    builder.row(
        button(_("⏭ Skip"), JRunCb(lesson_id=lid, student_id=sid, kind=kind, op=RunOp.SKIP)),
        button(
            _("%(icon)s Absent") % {"icon": icons.ABSENT},
            JRunCb(lesson_id=lid, student_id=sid, kind=kind, op=RunOp.ABSENT),
        ),
    )
    next_kind = KINDS[(KINDS.index(kind) + 1) % len(KINDS)]
    builder.row(
        button(
            "🔁 " + kind_label(kind),
            JRunCb(lesson_id=lid, student_id=sid, kind=next_kind, op=RunOp.KIND),
        ),
        button(_("↩️ Undo"), JUndoCb(lesson_id=lid, student_id=sid, kind=kind)),
        button(_("⏹ Stop"), JRunCb(lesson_id=lid, student_id=sid, kind=kind, op=RunOp.STOP)),
    )
    return builder.as_markup()


HOLD_LABELS = {
    Hold.WEEK: N_("🙈 Hold 1 week"),
    Hold.TWO_WEEKS: N_("🙈 Hold 2 weeks"),
    Hold.PERIOD_END: N_("🙈 Hold to period end"),
}


def grade_keyboard(detail: GradeDetail) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    gid = detail.mark.id
    if detail.can_write:
        _add_values(
            builder,
            detail.lesson.scale,
            detail.values,
            lambda i: JMarkValueCb(grade_id=gid, value=i),
        )
        _kind_row(builder, detail.mark.kind, lambda k: JMarkKindCb(grade_id=gid, kind=k))
        if detail.mark.hidden_until is not None:
            builder.row(
                button(_("🔓 Show to the family now"), JMarkCb(grade_id=gid, op=MarkOp.RELEASE))
            )
        if not detail.announced:
            holds = [
                button(_(HOLD_LABELS[hold]), JHoldCb(grade_id=gid, hold=hold))
                for hold, choice in HOLD_CHOICES.items()
                if choice in detail.hold_choices
            ]
            builder.row(*holds[:2])
            if holds[2:]:
                builder.row(*holds[2:])
        builder.row(button(_("🗑 Delete"), JMarkCb(grade_id=gid, op=MarkOp.DELETE)))
    _back(
        builder,
        _("« Back"),
        JStudentCb(lesson_id=detail.lesson.id, student_id=detail.student_id).pack(),
    )
    return builder.as_markup()


# --- homework and submissions ---------------------------------------------------------------


def _files_button(
    count: int, page: int, label: str, data: Callable[[int], CallbackData]
) -> InlineKeyboardButton | None:
    """The "Show files" button (or "More files" after page `page`); None when all are shown."""
    if page * FILES_PER_PAGE >= count:
        return None
    text = label if page == 0 else _("📎 More files")
    return button(text, data(page + 1))


def homework_keyboard(screen: HomeworkScreen, files_page: int = 0) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    lid = screen.lesson.id
    homework = screen.homework
    if screen.can_write:
        builder.row(
            button(
                _("✏️ Write") if homework is None else _("✏️ Rewrite"),
                JLessonOpCb(lesson_id=lid, op=LessonOp.HOMEWORK),
            ),
            button(_("📎 Add files"), JLessonOpCb(lesson_id=lid, op=LessonOp.FILES)),
        )
        if homework is not None:
            builder.row(
                *[
                    button(
                        ("📅 " if due == homework.due_date else "") + format_day(due, DAY_MONTH),
                        JDueCb(lesson_id=lid, day=due.toordinal()),
                    )
                    for due in screen.due_choices
                ]
            )
    files = _files_button(
        len(screen.attachments),
        files_page,
        _("📎 Show files"),
        lambda p: JHomeworkFilesCb(lesson_id=lid, page=p),
    )
    if files is not None:
        builder.row(files)
    if homework is not None:
        builder.row(
            button(
                _("📥 Submissions") + f" ({homework.submissions})",
                JLessonCb(lesson_id=lid, view=LessonView.SUBMISSIONS),
            )
        )
    _back(builder, _("« Lesson"), JLessonCb(lesson_id=lid).pack())
    return builder.as_markup()


def submissions_keyboard(view: SubmissionList) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for item in view.items[:60]:
        builder.button(
            text=f"{SUBMISSION_ICONS[item.status]} {short_name(item.student_name)}",
            callback_data=JSubmissionCb(submission_id=item.id),
        )
    builder.adjust(2)
    _back(
        builder,
        _("« Homework"),
        JLessonCb(lesson_id=view.lesson.id, view=LessonView.HOMEWORK).pack(),
    )
    return builder.as_markup()


def submission_keyboard(detail: SubmissionDetail, files_page: int = 0) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    sid = detail.item.id
    files = _files_button(
        len(detail.files),
        files_page,
        _("📎 Files") + f" ({len(detail.files)})",
        lambda p: JSubmissionCb(submission_id=sid, op=SubOp.FILES, page=p),
    )
    if files is not None:
        builder.row(files)
    if detail.can_write:
        builder.row(
            button(_("✅ Accept"), JSubmissionCb(submission_id=sid, op=SubOp.ACCEPT)),
            button(_("↩️ Return with a comment"), JSubmissionCb(submission_id=sid, op=SubOp.RETURN)),
        )
    _back(
        builder,
        _("« Submissions"),
        JLessonCb(lesson_id=detail.lesson.id, view=LessonView.SUBMISSIONS).pack(),
    )
    return builder.as_markup()


# --- lesson settings and replacement --------------------------------------------------------


def settings_keyboard(card: LessonCard) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    lid = card.lesson.id
    if card.can_write:
        builder.row(
            button(_("📝 Topic"), JLessonOpCb(lesson_id=lid, op=LessonOp.TOPIC)),
            button(
                _("♻️ Restore the lesson")
                if card.lesson.cancelled
                else _("%(icon)s Cancel") % {"icon": icons.CANCELLED},
                JLessonOpCb(
                    lesson_id=lid,
                    op=LessonOp.RESTORE if card.lesson.cancelled else LessonOp.CANCEL,
                ),
            ),
        )
    if card.can_replace:
        builder.row(button(_("🔁 Replacement teacher"), JReplaceCb(lesson_id=lid)))
        if card.lesson.replacement_teacher_id is not None:
            _row(
                builder,
                _("✖️ No replacement"),
                JLessonOpCb(lesson_id=lid, op=LessonOp.CLEAR_REPLACEMENT),
            )
    _back(builder, _("« Lesson"), JLessonCb(lesson_id=lid).pack())
    return builder.as_markup()


def replacement_keyboard(page: ReplacementPage) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    lid = page.lesson.id
    for candidate in page.candidates:
        label = ("⏳ " if candidate.busy else "") + candidate.name
        _row(builder, label[:60], JReplaceSetCb(lesson_id=lid, teacher_id=candidate.id))
    _pager(builder, page.page, page.has_more, lambda p: JReplaceCb(lesson_id=lid, page=p))
    _back(builder, _("« Back"), JLessonCb(lesson_id=lid, view=LessonView.SETTINGS).pack())
    return builder.as_markup()


# --- period grades --------------------------------------------------------------------------


def period_short(period: PeriodRef) -> str:
    if period.kind == "year":
        return _("Year")
    return f"{period.number} {_('qtr') if period.kind == 'quarter' else _('term')}"


def period_keyboard(sheet: PeriodSheet) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    aid, pid = sheet.assignment.id, sheet.period.id
    for line in sheet.lines[:80]:
        shown = line.value or (f"({line.proposed})" if line.proposed else "—")
        builder.button(
            text=f"{short_name(line.name)}: {value_label(shown) if line.value else shown}"[:60],
            callback_data=JPeriodGradeCb(
                assignment_id=aid, period_id=pid, student_id=line.student_id
            ),
        )
    builder.adjust(2)
    builder.row(
        *[
            button(
                ("• " if p.id == pid else "") + period_short(p) + (" 🔒" if p.closed else ""),
                JPeriodCb(assignment_id=aid, period_id=p.id),
            )
            for p in sheet.periods[:6]
        ]
    )
    if sheet.can_write and not sheet.period.closed and sheet.unconfirmed:
        _row(
            builder,
            _("✅ Confirm the proposals") + f" ({sheet.unconfirmed})",
            JPeriodCb(assignment_id=aid, period_id=pid, op=PeriodOp.CONFIRM),
        )
    if sheet.can_close:
        _row(
            builder,
            _("🔒 Close the period for the school"),
            JPeriodCb(assignment_id=aid, period_id=pid, op=PeriodOp.CLOSE_ASK),
        )
    _back(builder, _("« Lessons"), JAssignCb(assignment_id=aid).pack())
    return builder.as_markup()


def period_student_keyboard(sheet: PeriodSheet, line: PeriodLine) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    aid, pid, sid = sheet.assignment.id, sheet.period.id, line.student_id
    if sheet.can_write:
        row: list[InlineKeyboardButton] = []
        for index, value in enumerate(sheet.choices):
            label = value_label(value) + (" ✓" if value == line.proposed else "")
            row.append(
                button(
                    label,
                    JPeriodValueCb(assignment_id=aid, period_id=pid, student_id=sid, value=index),
                )
            )
            if len(row) == 5:
                builder.row(*row)
                row = []
        if row:
            builder.row(*row)
        if sheet.typed:
            _row(
                builder,
                _("⌨️ Type a value"),
                JPeriodGradeCb(
                    assignment_id=aid, period_id=pid, student_id=sid, op=PeriodGradeOp.TYPE
                ),
            )
    _back(builder, _("« Back"), JPeriodCb(assignment_id=aid, period_id=pid).pack())
    return builder.as_markup()


def close_period_keyboard(assignment_id: int, period_id: int) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    _row(
        builder,
        _("🔒 Yes, close it"),
        JPeriodCb(assignment_id=assignment_id, period_id=period_id, op=PeriodOp.CLOSE),
    )
    _back(
        builder,
        _("« Back"),
        JPeriodCb(assignment_id=assignment_id, period_id=period_id).pack(),
    )
    return builder.as_markup()


# --- trail, unseen, prompts -----------------------------------------------------------------


def audit_keyboard(
    lesson_id: int, student_id: int, page: int, has_more: bool
) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    _pager(
        builder,
        page,
        has_more,
        lambda p: JAuditCb(lesson_id=lesson_id, student_id=student_id, page=p),
        (_("« Newer"), _("Older »")),
    )
    if lesson_id:
        _back(builder, _("« Lesson"), JLessonCb(lesson_id=lesson_id).pack())
    else:
        _back(builder, _("« Journal"), MenuCb(screen=Screen.JOURNAL).pack())
    return builder.as_markup()


def unseen_keyboard(class_id: int, today: date) -> InlineKeyboardMarkup:
    return one_button(_("« Back"), JDayCb(day=today.toordinal(), class_id=class_id))


def cancel_keyboard(lesson_id: int = 0) -> InlineKeyboardMarkup:
    return one_button(_("✖️ Cancel"), JCancelCb(lesson_id=lesson_id))


def files_keyboard(lesson_id: int) -> InlineKeyboardMarkup:
    return one_button(_("✅ Done"), JLessonCb(lesson_id=lesson_id, view=LessonView.HOMEWORK))


def to_lesson_keyboard(lesson_id: int) -> InlineKeyboardMarkup:
    return one_button(_("« Lesson"), JLessonCb(lesson_id=lesson_id))
