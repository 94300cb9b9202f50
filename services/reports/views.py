"""A report as a `Document`: its title lines and one or more tables (`Sheet`) of `Value`s.

Every format (services/reports/formats.py) renders the same document, so a figure reads the
same in the chat, in Excel and on paper. Labels are gettext messages translated through the
`gettext` the caller passes (the bot's catalogs, in the reader's language); no catalogs are
loaded here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from db.enums import PeriodKind
from services.core.grading import ScaleSpec, average_passes, display_value, is_passing
from services.reports.model import (
    AttendanceReport,
    AttendanceRow,
    ClassSummary,
    CoverageReport,
    Header,
    ProgressReport,
    Report,
    ReportCard,
    ReportKind,
    RiskReason,
    RiskReport,
    SchoolLine,
    SchoolSummary,
    Span,
    Stay,
    SubjectColumn,
    SummaryRow,
)

Gettext = Callable[[str], str]

#: number formats (Excel's codes; text and PDF follow them)
INT, DECIMAL, PERCENT = "0", "0.00", "0%"


@dataclass(frozen=True)
class Value:
    """One cell: its text, its number when it is one (Excel keeps it a number), its number
    format, and whether it is a failing grade (coloured)."""

    text: str
    number: float | None = None
    fmt: str | None = None
    bad: bool = False


@dataclass(frozen=True)
class Sheet:
    name: str  # an Excel sheet name: at most 31 characters
    header: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]
    footer: tuple[tuple[Value, ...], ...] = ()
    chat: bool = True  # shown in the chat message, not only in files
    wide_first: bool = True  # the first column holds names


@dataclass(frozen=True)
class Document:
    title: str
    lines: tuple[str, ...]  # school, class, period, printed on…
    sheets: tuple[Sheet, ...]
    notes: tuple[str, ...] = field(default=())


def _n(number: float | None, fmt: str = DECIMAL, *, bad: bool = False) -> Value:
    if number is None:
        return Value("—")
    if fmt == PERCENT:
        return Value(f"{number * 100:.0f}%", number, fmt, bad)
    if fmt == INT:
        return Value(str(int(number)), number, fmt, bad)
    return Value(f"{number:.2f}", number, fmt, bad)


def _t(text: str, *, bad: bool = False) -> Value:
    return Value(text, bad=bad)


def _grade(value: str | None, _: Gettext, *, bad: bool = False, proposal: bool = False) -> Value:
    """A grade as people read it: "4−", "зачёт"; a proposal not set yet carries "*"."""
    if value is None:
        return Value("—")
    shown = {"pass": _("pass"), "fail": _("fail")}.get(value) or display_value(value)
    number = float(value) if value.isdigit() else None
    return Value(
        shown + ("*" if proposal else ""), number, INT if number is not None else None, bad
    )


def _day(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def span_label(span: Span, _: Gettext) -> str:
    """ "Quarter 2 (01.11.2026–29.12.2026)" or "01.11.2026–15.11.2026"."""
    dates = f"{_day(span.starts_on)}–{_day(span.ends_on)}"
    if span.kind is None:
        return dates
    names = {
        PeriodKind.QUARTER: _("Quarter {number}"),
        PeriodKind.TRIMESTER: _("Trimester {number}"),
        PeriodKind.SEMESTER: _("Semester {number}"),
        PeriodKind.YEAR: _("School year"),
    }
    return f"{names[span.kind].format(number=span.number)} ({dates})"


def _title(kind: ReportKind, _: Gettext) -> str:
    return {
        ReportKind.CLASS: _("Class summary"),
        ReportKind.SCHOOL: _("School summary"),
        ReportKind.COVERAGE: _("Grade coverage"),
        ReportKind.PROGRESS: _("Progress"),
        ReportKind.ATTENDANCE: _("Attendance"),
        ReportKind.RISK: _("Students at risk"),
        ReportKind.CARD: _("Report card"),
    }.get(kind, kind.value)


def _lines(header: Header, _: Gettext) -> tuple[str, ...]:
    lines = [header.school]
    if header.student:
        lines.append(_("Student: {name}").format(name=header.student))
    if header.class_name:
        lines.append(_("Class: {name}").format(name=header.class_name))
    if header.class_teacher:
        lines.append(_("Class teacher: {name}").format(name=header.class_teacher))
    lines.append(_("Period: {period}").format(period=span_label(header.span, _)))
    lines.append(_("Printed on: {day}").format(day=_day(header.made_on)))
    return tuple(lines)


def _document(
    header: Header, _: Gettext, sheets: Sequence[Sheet], notes: Sequence[str] = ()
) -> Document:
    """A report's document: the title names the student, else the class (a school summary
    names neither); the lines under it come from `header`."""
    title = _title(header.kind, _)
    named = header.student if header.student is not None else header.class_name
    return Document(
        title if named is None else f"{title} — {named}",
        _lines(header, _),
        tuple(sheets),
        tuple(notes),
    )


def _name(row: SummaryRow, _: Gettext) -> str:
    return _name_of(row.name, row.stay, _)


def _name_of(name: str, stay: Stay, _: Gettext) -> str:
    if stay.left_on is not None:
        day = stay.left_on.strftime("%d.%m")
        return _("{name} (left {day})").format(name=name, day=day)
    if stay.joined_on is not None:
        day = stay.joined_on.strftime("%d.%m")
        return _("{name} (from {day})").format(name=name, day=day)
    return name


def class_summary(report: ClassSummary, _: Gettext) -> Document:
    subjects = report.subjects
    shorts = tuple(s.short for s in subjects)
    student = _("Student")
    grades = []
    averages = []
    counts = []
    for row in report.rows:
        name = _t(_name(row, _))
        cells = list(zip(subjects, row.cells, strict=True))
        grades.append(
            (
                name,
                *(
                    _grade(
                        c.result,
                        _,
                        bad=c.result is not None and not is_passing(s.scale, c.result),
                        proposal=c.final is None and c.proposed is not None,
                    )
                    for s, c in cells
                ),
                _n(row.absences, INT),
            )
        )
        averages.append(
            (name, *(_n(c.average, bad=_failing_average(s, c.average)) for s, c in cells))
        )
        counts.append((name, *(_n(c.count, INT, bad=c.count == 0) for _s, c in cells)))
    success = (_t(_("Success rate")), *(_n(f.success, PERCENT) for f in report.figures))
    quality = (_t(_("Quality rate")), *(_n(f.quality, PERCENT) for f in report.figures))
    class_avg = (_t(_("Class average")), *(_n(f.average) for f in report.figures))
    notes = (
        _("Success rate: {success} · quality rate: {quality}").format(
            success=_pct(report.success), quality=_pct(report.quality)
        ),
        _("* proposed from the average, not set by the teacher yet"),
    )
    return _document(
        report.header,
        _,
        (
            Sheet(
                _("Period grades"),
                (student, *shorts, _("Absences")),
                tuple(grades),
                ((*success, _t("")), (*quality, _t(""))),
            ),
            Sheet(_("Averages"), (student, *shorts), tuple(averages), (class_avg,), chat=False),
            Sheet(_("Number of grades"), (student, *shorts), tuple(counts), chat=False),
        ),
        notes,
    )


def _failing_average(subject: SubjectColumn, average: float | None) -> bool:
    return average is not None and not average_passes(subject.scale, average)


def _school_cells(line: SchoolLine, *, previous: bool) -> tuple[Value, ...]:
    d = line.distribution
    cells = [
        _n(line.students, INT),
        _n(line.success, PERCENT, bad=line.success is not None and line.success < 1),
        _n(line.quality, PERCENT),
    ]
    if previous:
        cells += [_n(line.previous_success, PERCENT), _n(line.previous_quality, PERCENT)]
    else:
        cells.insert(1, _n(line.average))
    cells += [
        _n(d.good, INT),
        _n(d.passing, INT),
        _n(d.failing, INT, bad=d.failing > 0),
        _n(d.not_graded, INT, bad=d.not_graded > 0),
    ]
    return tuple(cells)


def school_summary(report: SchoolSummary, _: Gettext) -> Document:
    spread = (_("Good"), _("Passing"), _("Failing"), _("Not graded"))
    classes = tuple(
        (_t(line.class_name), *_school_cells(line, previous=True)) for line in report.classes
    )
    lines = tuple(
        (_t(line.class_name), _t(line.subject or ""), *_school_cells(line, previous=False))
        for line in report.lines
    )
    notes = [
        _("Success rate: {success} · quality rate: {quality}").format(
            success=_pct(report.success), quality=_pct(report.quality)
        )
    ]
    if report.previous is not None:
        notes.append(
            _("Previous period ({period}): success rate {success}, quality rate {quality}").format(
                period=span_label(report.previous, _),
                success=_pct(report.previous_success),
                quality=_pct(report.previous_quality),
            )
        )
    return _document(
        report.header,
        _,
        (
            Sheet(
                _("Classes"),
                (
                    _("Class"),
                    _("Students"),
                    _("Success rate"),
                    _("Quality rate"),
                    _("Success before"),
                    _("Quality before"),
                    *spread,
                ),
                classes,
            ),
            Sheet(
                _("Subjects"),
                (
                    _("Class"),
                    _("Subject"),
                    _("Students"),
                    _("Average"),
                    _("Success rate"),
                    _("Quality rate"),
                    *spread,
                ),
                lines,
                chat=False,
            ),
        ),
        tuple(notes),
    )


def coverage(report: CoverageReport, _: Gettext) -> Document:
    shorts = tuple(s.short for s in report.subjects)
    rows = tuple(
        (
            _t(_name_of(row.name, row.stay, _)),
            *(_n(count, INT, bad=count < report.min_grades) for count in row.counts),
        )
        for row in report.rows
    )
    footer = (
        (_t(_("Lessons")), *(_n(n, INT) for n in report.lessons)),
        (
            _t(_("Lessons without grades")),
            *(_n(n, INT, bad=n > 0) for n in report.ungraded_lessons),
        ),
    )
    return _document(
        report.header,
        _,
        (Sheet(_("Number of grades"), (_("Student"), *shorts), rows, footer),),
        (_("Fewer than {count} grades stand out.").format(count=report.min_grades),),
    )


def progress(report: ProgressReport, _: Gettext) -> Document:
    rows = []
    for line in report.series:
        given = [a for a in line.averages if a is not None]
        first, now = (given[0], given[-1]) if given else (None, None)
        change = now - first if first is not None and now is not None else None
        rows.append(
            (
                _t(line.subject),
                _n(line.count, INT),
                _n(first),
                _n(now, bad=now is not None and not average_passes(line.scale, now)),
                _n(change),
            )
        )
    weekly = tuple((_t(line.subject), *(_n(a) for a in line.averages)) for line in report.series)
    return _document(
        report.header,
        _,
        (
            Sheet(
                _("Progress"),
                (_("Subject"), _("Grades"), _("First week"), _("Now"), _("Change")),
                tuple(rows),
            ),
            Sheet(
                _("By week"),
                (_("Subject"), *(w.strftime("%d.%m") for w in report.weeks)),
                weekly,
                chat=False,
            ),
        ),
    )


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def _attendance_cells(row: AttendanceRow) -> tuple[Value, ...]:
    share = row.present_share
    return (
        _n(row.lessons, INT),
        _n(row.absent, INT, bad=row.absent > 0),
        _n(row.excused, INT),
        _n(row.late, INT),
        _n(share, PERCENT),
    )


def _attendance_header(_: Gettext) -> tuple[str, ...]:
    return (_("Lessons"), _("Absent"), _("Excused"), _("Late"), _("Attended"))


def attendance(report: AttendanceReport, _: Gettext) -> Document:
    rows = tuple((_t(row.name), *_attendance_cells(row)) for row in report.rows)
    total = (_t(_("Class total")), *_attendance_cells(report.total))
    days = tuple((_t(_day(day)), _n(count, INT)) for day, count in report.busiest_days)
    weeks = tuple(
        (_t(_day(w.monday)), _n(w.lessons, INT), _n(w.missed, INT), _n(w.present_share, PERCENT))
        for w in report.weeks
    )
    return _document(
        report.header,
        _,
        (
            Sheet(_("Attendance"), (_("Student"), *_attendance_header(_)), rows, (total,)),
            Sheet(_("Most absences"), (_("Day"), _("Absences")), days),
            Sheet(
                _("By week"),
                (_("Week"), _("Lessons"), _("Absences"), _("Attended")),
                weeks,
                chat=False,
            ),
        ),
    )


def _reason(reason: RiskReason, _: Gettext) -> str:
    return {
        RiskReason.FAILING: _("failing"),
        RiskReason.BORDERLINE: _("borderline"),
        RiskReason.NOT_GRADED: _("not graded"),
        RiskReason.ABSENCES: _("absences"),
    }[reason]


def risk(report: RiskReport, _: Gettext) -> Document:
    rows = []
    for item in report.items:
        if item.reason is RiskReason.ABSENCES:
            detail = (_t("—"), _n(item.missed_share, PERCENT, bad=True), _n(item.count, INT))
        else:
            detail = (
                _t(item.subject or "—"),
                _n(item.average, bad=item.reason is RiskReason.FAILING),
                _n(item.count, INT, bad=item.reason is RiskReason.NOT_GRADED),
            )
        rows.append((_t(item.name), _t(_reason(item.reason, _)), *detail))
    limits = report.thresholds
    notes = (
        _("Not graded: fewer than {count} grades.").format(count=limits.min_grades),
        _("Absences: more than {share} of lessons missed.").format(share=_pct(limits.absences)),
        _("Students at risk: {count}").format(count=report.students),
    )
    return _document(
        report.header,
        _,
        (
            Sheet(
                _("At risk"),
                (_("Student"), _("Reason"), _("Subject"), _("Average"), _("Grades")),
                tuple(rows),
            ),
        ),
        notes,
    )


def report_card(report: ReportCard, _: Gettext) -> Document:
    rows = []
    for line in report.lines:
        rows.append(
            (
                _t(line.subject),
                _t(line.teacher),
                _n(line.average),
                _n(line.count, INT, bad=line.count == 0),
                _grade(
                    line.period_value,
                    _,
                    proposal=line.proposed_only,
                    bad=_fails(line.scale, line.period_value),
                ),
                _grade(line.year_value, _, bad=_fails(line.scale, line.year_value)),
            )
        )
    sheets = [
        Sheet(
            _("Report card"),
            (_("Subject"), _("Teacher"), _("Average"), _("Grades"), _("Period"), _("Year")),
            tuple(rows),
        )
    ]
    if report.attendance is not None:
        sheets.append(
            Sheet(
                _("Attendance"),
                _attendance_header(_),
                (_attendance_cells(report.attendance),),
                wide_first=False,
            )
        )
    return _document(
        report.header,
        _,
        tuple(sheets),
        (_("* proposed from the average, not set by the teacher yet"),),
    )


def _fails(scale: ScaleSpec, value: str | None) -> bool:
    return value is not None and not is_passing(scale, value)


def document(report: Report, gettext: Gettext) -> Document:
    """The report's document in the language of `gettext`."""
    if isinstance(report, ClassSummary):
        return class_summary(report, gettext)
    if isinstance(report, AttendanceReport):
        return attendance(report, gettext)
    if isinstance(report, RiskReport):
        return risk(report, gettext)
    if isinstance(report, SchoolSummary):
        return school_summary(report, gettext)
    if isinstance(report, CoverageReport):
        return coverage(report, gettext)
    if isinstance(report, ProgressReport):
        return progress(report, gettext)
    return report_card(report, gettext)
