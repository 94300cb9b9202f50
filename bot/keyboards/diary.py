"""Inline keyboards of the diary (labels through gettext, dates through Babel)."""

from __future__ import annotations

from datetime import date, timedelta

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuCb, Screen
from bot.callbacks import diary as cb
from bot.dates import format_day
from bot.keyboards import back_button, button, one_button
from bot.keyboards.builder import KeyboardBuilder
from db.enums import PeriodKind
from services.diary import (
    ATTACHMENTS_PER_PRESS,
    AttendanceView,
    CalculatorView,
    DayView,
    DiaryMenu,
    FamilyReport,
    GradesView,
    HomeworkDetail,
    HomeworkItem,
    HomeworkListView,
    PeriodInfo,
    WeekView,
    YearsView,
)

MAX_LABEL = 40
MAX_HOMEWORK_BUTTONS = 8


def _label(text: str, limit: int = MAX_LABEL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def period_label(period: PeriodInfo) -> str:
    """A period's button: "Q1", "T2", "S1", "Year" (localized)."""
    number = {"number": period.number}
    if period.kind == PeriodKind.QUARTER:
        return _("Q%(number)d") % number
    if period.kind == PeriodKind.TRIMESTER:
        return _("T%(number)d") % number
    if period.kind == PeriodKind.SEMESTER:
        return _("S%(number)d") % number
    return _("Year")


def _mark(chosen: bool, label: str) -> str:
    return f"• {label}" if chosen else label


def _to_diary(builder: KeyboardBuilder, *sizes: int) -> InlineKeyboardMarkup:
    """The keyboard: rows of `sizes` buttons (as they are when none given), then « Back to
    the diary."""
    if sizes:
        builder.adjust(*sizes)
    back_button(builder, Screen.DIARY)
    return builder.as_markup()


def diary_menu_keyboard(menu: DiaryMenu) -> InlineKeyboardMarkup:
    """Today, Tomorrow, Week, Grades, Homework, Schedule, Attendance, Reports, Calendar file,
    Settings and the child switcher; buttons outside a trusted person's scopes are left out."""
    child = menu.child
    sid = child.student_id
    scopes = child.scopes
    tomorrow = child.today + timedelta(days=1)
    builder = KeyboardBuilder()
    builder.button(text=_("📅 Today"), callback_data=cb.DayCb(student_id=sid))
    builder.button(
        text=_("➡️ Tomorrow"), callback_data=cb.DayCb(student_id=sid, day=tomorrow.toordinal())
    )
    builder.button(text=_("🗓 Week"), callback_data=cb.WeekCb(student_id=sid))
    sizes = [3]
    row: list[tuple[str, object]] = []
    if scopes.grades:
        row.append((_("📊 Grades"), cb.GradesCb(student_id=sid, entry=True)))
    if scopes.homework:
        row.append((_("📝 Homework"), cb.HomeworkCb(student_id=sid)))
    if scopes.schedule:
        row.append((_("🕘 Schedule"), cb.ScheduleCb(student_id=sid)))
    if scopes.attendance:
        row.append((_("🚸 Attendance"), cb.AttendanceCb(student_id=sid)))
    if scopes.grades or scopes.attendance:
        row.append((_("📄 Report"), cb.ReportCb(student_id=sid)))
    if scopes.schedule or scopes.homework:
        row.append((_("📆 Calendar file"), cb.CalendarFileCb(student_id=sid)))
    for text, data in row:
        builder.button(text=text, callback_data=data)  # type: ignore[arg-type]
    sizes += [2] * (len(row) // 2) + ([1] if len(row) % 2 else [])
    builder.button(text=_("⚙️ Settings"), callback_data=MenuCb(screen=Screen.SETTINGS))
    sizes.append(1)
    if menu.several:
        builder.button(text=_("🔄 Switch child"), callback_data=MenuCb(screen=Screen.CHILDREN))
        sizes.append(1)
    builder.adjust(*sizes)
    back_button(builder)
    return builder.as_markup()


def _homework_buttons(
    builder: KeyboardBuilder, student_id: int, items: list[HomeworkItem], day: date
) -> int:
    """A button per homework of the day: 📌 due that day, 📝 given that day."""
    seen: set[int] = set()
    count = 0
    for item in items:
        if item.id in seen or count >= MAX_HOMEWORK_BUTTONS:
            continue
        seen.add(item.id)
        count += 1
        icon = "📌" if item.due_date == day else "📝"
        clip = " 📎" if item.attachments else ""
        builder.button(
            text=_label(f"{icon} {item.subject}") + clip,
            callback_data=cb.HomeworkItemCb(student_id=student_id, homework_id=item.id),
        )
    return count


def day_keyboard(view: DayView) -> InlineKeyboardMarkup:
    """◀ day, Today, day ▶; ◀◀ week, Week, week ▶▶; the day's homework; back."""
    sid = view.child.student_id
    day = view.day.date
    builder = KeyboardBuilder()
    count = _homework_buttons(builder, sid, view.day.homework, day)

    def go(delta: int) -> cb.DayCb:
        return cb.DayCb(student_id=sid, day=(day + timedelta(days=delta)).toordinal())

    builder.button(text="◀", callback_data=go(-1))
    builder.button(text=_("Today"), callback_data=cb.DayCb(student_id=sid))
    builder.button(text="▶", callback_data=go(1))
    builder.button(text="◀◀", callback_data=go(-7))
    builder.button(text=_("🗓 Week"), callback_data=cb.WeekCb(student_id=sid, day=day.toordinal()))
    builder.button(text="▶▶", callback_data=go(7))
    return _to_diary(builder, *([2] * (count // 2) + [1] * (count % 2)), 3, 3)


def _week_days(view: WeekView) -> list[date]:
    return [
        d.date for d in view.days if d.date.isoweekday() <= 5 or d.kind in ("lessons", "planned")
    ]


def week_keyboard(view: WeekView) -> InlineKeyboardMarkup:
    """A button per school day, ◀ week, This week, week ▶, back."""
    sid = view.child.student_id
    builder = KeyboardBuilder()
    days = _week_days(view)
    for day in days:
        builder.button(
            text=format_day(day), callback_data=cb.DayCb(student_id=sid, day=day.toordinal())
        )
    prev_week = (view.monday - timedelta(days=7)).toordinal()
    next_week = (view.monday + timedelta(days=7)).toordinal()
    builder.button(text="◀", callback_data=cb.WeekCb(student_id=sid, day=prev_week))
    builder.button(text=_("This week"), callback_data=cb.WeekCb(student_id=sid))
    builder.button(text="▶", callback_data=cb.WeekCb(student_id=sid, day=next_week))
    per_row = 3 if len(days) > 5 else len(days) or 1
    rows = [per_row] * (len(days) // per_row) + (
        [len(days) % per_row] if len(days) % per_row else []
    )
    return _to_diary(builder, *rows, 3)


def schedule_keyboard(view: WeekView) -> InlineKeyboardMarkup:
    sid = view.child.student_id
    builder = KeyboardBuilder()
    prev_week = (view.monday - timedelta(days=7)).toordinal()
    next_week = (view.monday + timedelta(days=7)).toordinal()
    builder.button(text="◀", callback_data=cb.ScheduleCb(student_id=sid, day=prev_week))
    builder.button(text=_("This week"), callback_data=cb.ScheduleCb(student_id=sid))
    builder.button(text="▶", callback_data=cb.ScheduleCb(student_id=sid, day=next_week))
    return _to_diary(builder, 3)


def _period_row(
    builder: KeyboardBuilder,
    periods: list[PeriodInfo],
    chosen: PeriodInfo,
    make: type[cb.GradesCb] | type[cb.AttendanceCb] | type[cb.ReportCb],
    student_id: int,
) -> int:
    shown = [p for p in periods if p.id]
    for period in shown:
        builder.button(
            text=_mark(period.id == chosen.id, period_label(period)),
            callback_data=make(student_id=student_id, period_id=period.id),
        )
    return len(shown)


def _rows(count: int, width: int) -> list[int]:
    return [width] * (count // width) + ([count % width] if count % width else [])


def grades_keyboard(view: GradesView) -> InlineKeyboardMarkup:
    """Subjects (3 a row), the periods, earlier years, the spoiler switch, back."""
    sid = view.child.student_id
    builder = KeyboardBuilder()
    for subject in view.subjects:
        new = "🆕 " if subject.new_count else ""
        builder.button(
            text=_label(new + subject.short_name, 24),
            callback_data=cb.GradesCb(
                student_id=sid, period_id=view.period.id, subject_id=subject.subject_id
            ),
        )
    periods = _period_row(builder, view.periods, view.period, cb.GradesCb, sid)
    builder.button(text=_("🗂 Earlier years"), callback_data=cb.YearsCb(student_id=sid))
    sizes = [*_rows(len(view.subjects), 3), *_rows(periods, 5), 1]
    if view.child.is_own:
        on = view.child.spoiler_setting
        builder.button(
            text=_("🙈 Grades under a spoiler: on") if on else _("🙈 Grades under a spoiler: off"),
            callback_data=cb.SpoilerCb(on=not on, period_id=view.period.id),
        )
        sizes.append(1)
    return _to_diary(builder, *sizes)


def subject_keyboard(view: GradesView) -> InlineKeyboardMarkup:
    """The calculator (while the period runs), back to all subjects, back to the diary."""
    sid = view.child.student_id
    assert view.subject is not None
    builder = KeyboardBuilder()
    if not view.period_over:
        builder.button(
            text=_("🎯 What do I need?"),
            callback_data=cb.CalcCb(
                student_id=sid, period_id=view.period.id, subject_id=view.subject.subject_id
            ),
        )
    builder.button(
        text=_("« All subjects"),
        callback_data=cb.GradesCb(student_id=sid, period_id=view.period.id),
    )
    return _to_diary(builder, 1)


def calculator_keyboard(view: CalculatorView) -> InlineKeyboardMarkup:
    sid = view.child.student_id
    builder = KeyboardBuilder()
    builder.button(
        text=_("« Back to %(subject)s") % {"subject": _label(view.subject.short_name, 24)},
        callback_data=cb.GradesCb(
            student_id=sid, period_id=view.period.id, subject_id=view.subject.subject_id
        ),
    )
    return _to_diary(builder, 1)


def years_keyboard(view: YearsView) -> InlineKeyboardMarkup:
    sid = view.child.student_id
    builder = KeyboardBuilder()
    for year in view.years[:20]:
        builder.button(text=year.name, callback_data=cb.GradesCb(student_id=sid, year_id=year.id))
    builder.adjust(2)
    builder.row(button(_("« Grades"), cb.GradesCb(student_id=sid)))
    return _to_diary(builder)


def homework_list_keyboard(view: HomeworkListView) -> InlineKeyboardMarkup:
    """A button per homework shown, the subjects as filters, back."""
    sid = view.child.student_id
    builder = KeyboardBuilder()
    count = 0
    for item in view.items[:MAX_HOMEWORK_BUTTONS]:
        count += 1
        clip = " 📎" if item.attachments else ""
        builder.button(
            text=_label(f"{format_day(item.due_date, 'd MMM')} · {item.subject}") + clip,
            callback_data=cb.HomeworkItemCb(student_id=sid, homework_id=item.id),
        )
    for subject in view.subjects:
        chosen = view.subject is not None and view.subject.id == subject.id
        builder.button(
            text=_mark(chosen, _label(subject.short_name, 24)),
            callback_data=cb.HomeworkCb(student_id=sid, subject_id=subject.id),
        )
    builder.button(
        text=_mark(view.subject is None, _("All upcoming")),
        callback_data=cb.HomeworkCb(student_id=sid),
    )
    return _to_diary(builder, *([1] * count), *_rows(len(view.subjects), 3), 1)


def homework_item_keyboard(detail: HomeworkDetail) -> InlineKeyboardMarkup:
    """Attachments, hand in (students), back to the homework list."""
    sid = detail.child.student_id
    item = detail.item
    builder = KeyboardBuilder()
    if item.attachments:
        builder.button(
            text=_("📎 Attachments (%(count)d)") % {"count": item.attachments},
            callback_data=cb.HomeworkFilesCb(student_id=sid, homework_id=item.id),
        )
    if detail.may_submit:
        label = _("📤 Hand in again") if detail.submission else _("📤 Hand in")
        builder.button(
            text=label, callback_data=cb.SubmitCb(homework_id=item.id, op=cb.SubmitOp.START)
        )
    builder.button(text=_("« Homework"), callback_data=cb.HomeworkCb(student_id=sid, subject_id=0))
    return _to_diary(builder, 1)


def more_attachments_keyboard(
    student_id: int, homework_id: int, offset: int, total: int
) -> InlineKeyboardMarkup | None:
    """ "Next attachments" under the last one sent, when more are left."""
    if offset >= total:
        return None
    builder = KeyboardBuilder()
    last = min(total, offset + ATTACHMENTS_PER_PRESS)
    builder.button(
        text=_("📎 Next: %(first)d–%(last)d of %(total)d")
        % {"first": offset + 1, "last": last, "total": total},
        callback_data=cb.HomeworkFilesCb(
            student_id=student_id, homework_id=homework_id, offset=offset
        ),
    )
    return builder.as_markup()


def submit_keyboard(homework_id: int) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    builder.button(
        text=_("✅ Done"), callback_data=cb.SubmitCb(homework_id=homework_id, op=cb.SubmitOp.DONE)
    )
    builder.button(
        text=_("✖️ Cancel"),
        callback_data=cb.SubmitCb(homework_id=homework_id, op=cb.SubmitOp.CANCEL),
    )
    builder.adjust(2)
    return builder.as_markup()


def _periods_keyboard(
    periods: list[PeriodInfo],
    chosen: PeriodInfo,
    make: type[cb.AttendanceCb] | type[cb.ReportCb],
    student_id: int,
) -> InlineKeyboardMarkup:
    """A screen by period: a button per period (five a row), then « Back to the diary."""
    builder = KeyboardBuilder()
    return _to_diary(builder, *_rows(_period_row(builder, periods, chosen, make, student_id), 5))


def attendance_keyboard(view: AttendanceView) -> InlineKeyboardMarkup:
    return _periods_keyboard(view.periods, view.period, cb.AttendanceCb, view.child.student_id)


def report_keyboard(report: FamilyReport) -> InlineKeyboardMarkup:
    """The periods; with the grades scope, the report card (PDF) and the progress chart of
    the chosen period, and the card of the whole year (when a shorter period is chosen)."""
    sid, period = report.child.student_id, report.period
    builder = KeyboardBuilder()
    sizes = _rows(_period_row(builder, report.periods, period, cb.ReportCb, sid), 5)
    if report.has_files:
        builder.button(
            text=_("🖨 Report card (PDF)"),
            callback_data=cb.ReportCardCb(student_id=sid, period_id=period.id),
        )
        builder.button(
            text=_("📈 Progress chart"),
            callback_data=cb.ProgressChartCb(student_id=sid, period_id=period.id),
        )
        sizes.append(2)
        if period.kind != PeriodKind.YEAR:
            builder.button(
                text=_("🖨 Report card: whole year"),
                callback_data=cb.ReportCardCb(student_id=sid, period_id=period.id, whole_year=True),
            )
            sizes.append(1)
    return _to_diary(builder, *sizes)


def home_keyboard() -> InlineKeyboardMarkup:
    """Only « Back to the main screen."""
    return one_button(_("« Back"), MenuCb(screen=Screen.HOME))


def diary_back_keyboard() -> InlineKeyboardMarkup:
    """Only « Back to the diary."""
    return one_button(_("« Back"), MenuCb(screen=Screen.DIARY))
