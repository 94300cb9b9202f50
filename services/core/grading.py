"""Grading scales: parsing values, keyboards, weights, averages, period grades, "what do I need".

Pure functions, no database. A scale is described by a `ScaleSpec` built from a `GradingScale`
row. Conventions:

* five-point: "1".."5"; when `allow_modifiers`, "2".."5" may carry "+" or "-" worth ±0.3
  ("4+" = 4.3, "4-" = 3.7); values whose score falls outside [min, max] ("5+") are invalid.
  Input accepts the typographic minus "−" and dashes; the stored value uses ASCII "-".
* ten-point "1".."10" and hundred-point "0".."100": integers within [min, max].
* pass/fail: "pass" (score 1) and "fail" (score 0); Russian "зачёт"/"незачёт" are accepted.
  The average is the (weighted) share of passes, and `pass_score` is the share needed.
* An average becomes a period grade by rounding half up (4.5 → "5", 3.5 → "4", 2.5 → "3"),
  clamped to the scale; period grades never carry modifiers.
* A single value passes when its rounded score reaches `pass_score` (so "3-" passes a
  five-point scale whose pass mark is 3, and "2+" does not).
* A value is *good* (it counts for "качество знаний") when its rounded score reaches the
  midpoint between the pass mark and the top: "4" and "5" of five, 7..10 of ten, 75..100 of
  a hundred; on a pass/fail scale a pass is good (it never lowers the quality figure).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from db.enums import GradeKind, ScaleKind

MODIFIER_DELTA = 0.3
_EPS = 1e-9
_MINUS_SIGNS = ("−", "–", "—", "‐", "‑")  # the dashes people actually type
PASS = "pass"
FAIL = "fail"
_PASS_WORDS = frozenset({"pass", "зачёт", "зачет", "зач", "з"})
_FAIL_WORDS = frozenset({"fail", "незачёт", "незачет", "незач", "н/з", "нз"})

DEFAULT_WEIGHTS: dict[GradeKind, float] = {
    GradeKind.ORAL: 1.0,
    GradeKind.CLASSWORK: 1.0,
    GradeKind.HOMEWORK: 1.0,
    GradeKind.TEST: 2.0,
    GradeKind.EXAM: 3.0,
}

#: The scales a new school (and the demo) gets: code → `GradingScale` / `ScaleSpec` kwargs.
DEFAULT_SCALES: dict[str, dict[str, Any]] = {
    "five": {
        "kind": ScaleKind.FIVE,
        "min_score": 1.0,
        "max_score": 5.0,
        "pass_score": 3.0,
        "allow_modifiers": True,
    },
    "ten": {
        "kind": ScaleKind.TEN,
        "min_score": 1.0,
        "max_score": 10.0,
        "pass_score": 4.0,
        "allow_modifiers": False,
    },
    "hundred": {
        "kind": ScaleKind.HUNDRED,
        "min_score": 0.0,
        "max_score": 100.0,
        "pass_score": 50.0,
        "allow_modifiers": False,
    },
    "pass_fail": {
        "kind": ScaleKind.PASS_FAIL,
        "min_score": 0.0,
        "max_score": 1.0,
        "pass_score": 0.5,
        "allow_modifiers": False,
    },
}


class InvalidGrade(ValueError):
    """A grade value (or scale) that does not fit the scale."""


class _ScaleRow(Protocol):
    kind: ScaleKind
    min_score: float
    max_score: float
    pass_score: float
    allow_modifiers: bool


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    """The parts of a `GradingScale` row the maths needs."""

    kind: ScaleKind
    min_score: float
    max_score: float
    pass_score: float
    allow_modifiers: bool = False

    def __post_init__(self) -> None:
        if self.min_score >= self.max_score:
            raise InvalidGrade("min_score must be below max_score")
        if not self.min_score <= self.pass_score <= self.max_score:
            raise InvalidGrade("pass_score must lie within [min_score, max_score]")

    @classmethod
    def from_row(cls, row: _ScaleRow) -> ScaleSpec:
        """Build from a `GradingScale` row (or anything with the same attributes)."""
        return cls(
            kind=ScaleKind(row.kind),
            min_score=float(row.min_score),
            max_score=float(row.max_score),
            pass_score=float(row.pass_score),
            allow_modifiers=bool(row.allow_modifiers),
        )

    @classmethod
    def default(cls, code: str) -> ScaleSpec:
        """One of `DEFAULT_SCALES` by code."""
        try:
            return cls(**DEFAULT_SCALES[code])
        except KeyError:
            raise InvalidGrade(f"unknown scale code {code!r}") from None

    @property
    def modifiers(self) -> bool:
        """Whether "+"/"-" are accepted (five-point scales only)."""
        return self.kind is ScaleKind.FIVE and self.allow_modifiers


@dataclass(frozen=True, slots=True)
class ParsedGrade:
    """A validated value in its stored form and its numeric score."""

    value: str
    score: float


def _int_range(spec: ScaleSpec) -> range:
    return range(math.ceil(spec.min_score - _EPS), math.floor(spec.max_score + _EPS) + 1)


def _in_range(spec: ScaleSpec, score: float) -> bool:
    return spec.min_score - _EPS <= score <= spec.max_score + _EPS


def parse_grade(spec: ScaleSpec, raw: str) -> ParsedGrade:
    """Validate a value typed or tapped by a teacher; raise `InvalidGrade` if it does not fit."""
    if not isinstance(raw, str):
        raise InvalidGrade(f"grade value must be a string, not {type(raw).__name__}")
    text = raw.strip().lower()
    if not text:
        raise InvalidGrade("empty grade value")
    if spec.kind is ScaleKind.PASS_FAIL:
        if text in _PASS_WORDS:
            return ParsedGrade(PASS, 1.0)
        if text in _FAIL_WORDS:
            return ParsedGrade(FAIL, 0.0)
        raise InvalidGrade(f"{raw!r} is not pass or fail")
    for sign in _MINUS_SIGNS:
        text = text.replace(sign, "-")
    modifier = ""
    if spec.kind is ScaleKind.FIVE and text[-1] in "+-" and len(text) > 1:
        modifier, text = text[-1], text[:-1]
    if not (text.isascii() and text.isdigit()) or len(text) > 3:
        raise InvalidGrade(f"{raw!r} is not a grade")
    base = int(text)
    if base not in _int_range(spec):
        raise InvalidGrade(f"{raw!r} is outside {spec.min_score:g}..{spec.max_score:g}")
    if not modifier:
        return ParsedGrade(str(base), float(base))
    if not spec.modifiers:
        raise InvalidGrade(f"{raw!r}: this scale has no +/- modifiers")
    if base < 2:
        raise InvalidGrade(f"{raw!r}: only 2..5 take a modifier")
    score = round(base + (MODIFIER_DELTA if modifier == "+" else -MODIFIER_DELTA), 2)
    if not _in_range(spec, score):
        raise InvalidGrade(f"{raw!r} is outside {spec.min_score:g}..{spec.max_score:g}")
    return ParsedGrade(f"{base}{modifier}", score)


def score_of(spec: ScaleSpec, value: str) -> float:
    """The numeric score of a value (see `parse_grade`)."""
    return parse_grade(spec, value).score


def display_value(value: str) -> str:
    """A stored value for people: "4-" → "4−" (typographic minus), "pass"/"fail" unchanged."""
    return value[:-1] + "−" if value.endswith("-") and len(value) > 1 else value


def keyboard_values(spec: ScaleSpec) -> list[str]:
    """The values for a teacher's keyboard, best first.

    Five-point: every valid value incl. modifiers; ten: all; hundred: 100, 95, …, 0 (other
    values are typed); pass/fail: pass, fail.
    """
    if spec.kind is ScaleKind.PASS_FAIL:
        return [PASS, FAIL]
    if spec.kind is ScaleKind.HUNDRED:
        lo, hi = _int_range(spec)[0], _int_range(spec)[-1]
        steps = list(range(hi, lo - 1, -5))
        if steps[-1] != lo:
            steps.append(lo)
        return [str(v) for v in steps]
    if spec.kind is ScaleKind.TEN:
        return [str(v) for v in reversed(_int_range(spec))]
    values: list[str] = []
    for base in reversed(_int_range(spec)):
        candidates = (
            [f"{base}+", str(base), f"{base}-"] if spec.modifiers and base >= 2 else [str(base)]
        )
        for candidate in candidates:
            try:
                values.append(parse_grade(spec, candidate).value)
            except InvalidGrade:
                continue
    return values


def default_weight(kind: GradeKind | str) -> float:
    """The default weight of a grade kind (oral/classwork/homework 1, test 2, exam 3)."""
    return DEFAULT_WEIGHTS[GradeKind(kind)]


class _GradeRow(Protocol):
    score: float
    weight: float
    deleted_at: Any


def score_pairs(grades: Iterable[_GradeRow]) -> list[tuple[float, float]]:
    """(score, weight) of `Grade` rows, leaving out deleted ones."""
    return [(g.score, g.weight) for g in grades if g.deleted_at is None]


def weighted_average(items: Iterable[tuple[float, float]]) -> float | None:
    """The weighted mean of (score, weight) pairs; None when there is nothing to average."""
    total = weights = 0.0
    for score, weight in items:
        if weight < 0:
            raise InvalidGrade("negative weight")
        total += score * weight
        weights += weight
    if weights <= 0:
        return None
    return total / weights


def period_value(spec: ScaleSpec, average: float) -> str:
    """Round an average to a period grade: half up (4.5 → "5"); pass/fail by the pass share."""
    if spec.kind is ScaleKind.PASS_FAIL:
        return PASS if average + _EPS >= spec.pass_score else FAIL
    rng = _int_range(spec)
    rounded = math.floor(average + 0.5 + _EPS)
    return str(min(max(rounded, rng[0]), rng[-1]))


def is_passing(spec: ScaleSpec, value: str) -> bool:
    """Whether a value reaches the pass mark (a five-point "3-" passes, "2+" does not)."""
    score = score_of(spec, value)
    if spec.kind is ScaleKind.PASS_FAIL:
        return score >= 1.0
    return float(period_value(spec, score)) + _EPS >= spec.pass_score


def good_score(spec: ScaleSpec) -> float:
    """The lowest rounded score that counts as good (module docstring): 4 of five."""
    if spec.kind is ScaleKind.PASS_FAIL:
        return spec.pass_score
    return spec.pass_score + (spec.max_score - spec.pass_score) / 2


def is_good(spec: ScaleSpec, value: str) -> bool:
    """Whether a value is good or excellent ("4" and "5" of five; a pass of pass/fail)."""
    if spec.kind is ScaleKind.PASS_FAIL:
        return is_passing(spec, value)
    return float(period_value(spec, score_of(spec, value))) + _EPS >= good_score(spec)


def average_passes(spec: ScaleSpec, average: float) -> bool:
    """Whether an average gives a passing period grade."""
    return is_passing(spec, period_value(spec, average))


def threshold_for(spec: ScaleSpec, value: str) -> float:
    """The lowest average that rounds to `value` as a period grade ("5" → 4.5)."""
    parsed = parse_grade(spec, value)
    if spec.kind is ScaleKind.PASS_FAIL:
        return spec.pass_score if parsed.value == PASS else spec.min_score
    if parsed.score != int(parsed.score):
        raise InvalidGrade("a period grade has no modifier")
    return max(parsed.score - 0.5, spec.min_score)


def grades_needed(
    spec: ScaleSpec,
    current: Iterable[tuple[float, float]],
    target: float | str,
    *,
    kind: GradeKind | str = GradeKind.CLASSWORK,
    weight: float | None = None,
    max_count: int = 100,
    limit: int | None = None,
) -> list[tuple[str, int]] | None:
    """How many more grades of each value lift the weighted average to `target`.

    `target` is an average (4.5) or a period grade ("5", meaning its threshold). Each new grade
    has `weight` (default: the weight of `kind`). Returns (value, minimal count) for every
    keyboard value that can get there within `max_count` grades, best value first (at most
    `limit` of them); [] when the target is already reached; None when it cannot be reached.
    """
    goal = threshold_for(spec, target) if isinstance(target, str) else float(target)
    w = default_weight(kind) if weight is None else float(weight)
    if w <= 0:
        raise InvalidGrade("weight must be positive")
    pairs = list(current)
    total = sum(s * wt for s, wt in pairs)
    weights = sum(wt for _, wt in pairs)
    deficit = goal * weights - total  # need n·w·(score − goal) ≥ deficit
    if weights > 0 and deficit <= _EPS:
        return []
    result: list[tuple[str, int]] = []
    for value in keyboard_values(spec):
        gain = score_of(spec, value) - goal
        if gain <= _EPS:
            if weights <= 0 and gain >= -_EPS:  # no grades yet: one grade equal to the goal
                result.append((value, 1))
            continue
        count = max(1, math.ceil(deficit / (w * gain) - _EPS))
        if count <= max_count:
            result.append((value, count))
    if not result:
        return None
    return result[:limit] if limit is not None else result
