"""Charts of the reports as PNG (matplotlib, imported only when a chart is drawn; a `Figure`
on the Agg canvas, never pyplot, so threads may draw at once). The DejaVu face matplotlib ships
covers Cyrillic.

* progress: a line per subject (each scale's own values; when scales are mixed, the share of
  each scale's range, so a hundred-point subject does not flatten the others);
* class and school summaries: how results spread (good, passing, failing, not graded) per
  subject or per class, as stacked bars;
* attendance: the share of lessons attended per week.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from services.reports.build import category
from services.reports.model import (
    AttendanceReport,
    Category,
    ClassSummary,
    Distribution,
    ProgressReport,
    Report,
    SchoolSummary,
)
from services.reports.views import document

Gettext = Callable[[str], str]

_COLOURS = {
    Category.GOOD: "#4CAF50",
    Category.PASSING: "#FFC107",
    Category.FAILING: "#E53935",
    Category.NOT_GRADED: "#B0BEC5",
}


class NoChart(ValueError):
    """The report has no chart (risk, coverage, report card)."""


def chart_png(report: Report, gettext: Gettext) -> bytes:
    """The report's chart as PNG bytes; `NoChart` for a report that has none."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    _ = gettext
    title = document(report, gettext).title
    figure = Figure(figsize=(9, 5), dpi=110)
    FigureCanvasAgg(figure)
    ax: Any = figure.subplots()
    if isinstance(report, ProgressReport):
        _progress(ax, report, _)
    elif isinstance(report, ClassSummary):
        spreads = [
            Distribution(
                *(
                    [category(s.scale, row.cells[i].result) for row in report.rows].count(c)
                    for c in Category
                )
            )
            for i, s in enumerate(report.subjects)
        ]
        _stacked(ax, [s.short for s in report.subjects], spreads, _)
    elif isinstance(report, SchoolSummary):
        _stacked(
            ax, [c.class_name for c in report.classes], [c.distribution for c in report.classes], _
        )
    elif isinstance(report, AttendanceReport):
        weeks = [w for w in report.weeks if w.present_share is not None]
        ax.plot(
            [w.monday for w in weeks],
            [(w.present_share or 0) * 100 for w in weeks],
            marker="o",
            color="#1E88E5",
        )
        ax.set_ylim(0, 100)
        ax.set_ylabel(_("Attended") + ", %")
        figure.autofmt_xdate()
    else:
        raise NoChart(type(report).__name__)
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _progress(ax: Any, report: ProgressReport, _: Gettext) -> None:
    mixed = len({s.scale for s in report.series}) > 1
    for line in report.series:
        scale = line.scale
        points = [
            (
                week,
                (a - scale.min_score) / (scale.max_score - scale.min_score) * 100 if mixed else a,
            )
            for week, a in zip(report.weeks, line.averages, strict=True)
            if a is not None
        ]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=line.subject)
    if mixed:
        ax.set_ylabel(_("Share of the scale") + ", %")
    if report.series:
        ax.legend(fontsize=8, loc="best")
    ax.figure.autofmt_xdate()


def _stacked(ax: Any, labels: Sequence[str], spreads: Sequence[Distribution], _: Gettext) -> None:
    names = {
        Category.GOOD: _("Good"),
        Category.PASSING: _("Passing"),
        Category.FAILING: _("Failing"),
        Category.NOT_GRADED: _("Not graded"),
    }
    bottoms = [0] * len(labels)
    for field, cat in zip(("good", "passing", "failing", "not_graded"), Category, strict=True):
        values = [getattr(d, field) for d in spreads]
        ax.bar(labels, values, bottom=bottoms, color=_COLOURS[cat], label=names[cat])
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.set_ylabel(_("Students"))
    ax.legend(fontsize=8, loc="upper right")
    for tick in ax.get_xticklabels():
        tick.set_rotation(30)
        tick.set_ha("right")
