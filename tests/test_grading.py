"""Grading scales maths: parsing, keyboards, weights, averages, rounding, the calculator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from db.enums import GradeKind, ScaleKind
from services.core.grading import (
    DEFAULT_SCALES,
    DEFAULT_WEIGHTS,
    InvalidGrade,
    ParsedGrade,
    ScaleSpec,
    average_passes,
    default_weight,
    display_value,
    grades_needed,
    is_good,
    is_passing,
    keyboard_values,
    parse_grade,
    period_value,
    score_of,
    score_pairs,
    threshold_for,
    weighted_average,
)

FIVE = ScaleSpec.default("five")
FIVE_PLAIN = ScaleSpec(ScaleKind.FIVE, 2, 5, 3, allow_modifiers=False)
TEN = ScaleSpec.default("ten")
HUNDRED = ScaleSpec.default("hundred")
PASS_FAIL = ScaleSpec.default("pass_fail")


# --- specs ------------------------------------------------------------------------------


def test_default_scales_cover_every_kind() -> None:
    assert {ScaleSpec(**kw).kind for kw in DEFAULT_SCALES.values()} == set(ScaleKind)


def test_spec_from_row_reads_the_row_fields() -> None:
    @dataclass
    class Row:
        kind: ScaleKind = ScaleKind.TEN
        min_score: float = 1
        max_score: float = 10
        pass_score: float = 4
        allow_modifiers: bool = False

    assert ScaleSpec.from_row(Row()) == TEN


@pytest.mark.parametrize(("lo", "hi", "pass_mark"), [(5, 5, 5), (5, 1, 3), (1, 5, 6), (1, 5, 0)])
def test_inconsistent_spec_is_rejected(lo: float, hi: float, pass_mark: float) -> None:
    with pytest.raises(InvalidGrade):
        ScaleSpec(ScaleKind.FIVE, lo, hi, pass_mark)


def test_unknown_default_scale_code() -> None:
    with pytest.raises(InvalidGrade, match="unknown scale"):
        ScaleSpec.default("twelve")


# --- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value", "score"),
    [
        ("5", "5", 5.0),
        (" 4 ", "4", 4.0),
        ("1", "1", 1.0),
        ("4+", "4+", 4.3),
        ("4-", "4-", 3.7),
        ("4−", "4-", 3.7),  # typographic minus
        ("3–", "3-", 2.7),  # en dash
        ("5-", "5-", 4.7),
        ("2+", "2+", 2.3),
        ("2-", "2-", 1.7),
    ],
)
def test_five_point_values(raw: str, value: str, score: float) -> None:
    assert parse_grade(FIVE, raw) == ParsedGrade(value, score)
    assert score_of(FIVE, raw) == score


@pytest.mark.parametrize(
    "raw", ["", " ", "0", "6", "5+", "1+", "1-", "4++", "+", "-4", "4.5", "four", "٤", "10"]
)
def test_five_point_rejects(raw: str) -> None:
    with pytest.raises(InvalidGrade):
        parse_grade(FIVE, raw)


def test_modifiers_only_when_the_scale_allows_them() -> None:
    assert parse_grade(FIVE_PLAIN, "4").score == 4.0
    with pytest.raises(InvalidGrade, match="no \\+/- modifiers"):
        parse_grade(FIVE_PLAIN, "4+")
    with pytest.raises(InvalidGrade, match="outside"):
        parse_grade(FIVE_PLAIN, "1")  # this scale starts at 2


def test_ten_point_values() -> None:
    assert [parse_grade(TEN, str(v)).score for v in range(1, 11)] == [
        float(v) for v in range(1, 11)
    ]
    for raw in ("0", "11", "7+", "7.5", "x"):
        with pytest.raises(InvalidGrade):
            parse_grade(TEN, raw)


def test_hundred_point_values() -> None:
    assert parse_grade(HUNDRED, "0") == ParsedGrade("0", 0.0)
    assert parse_grade(HUNDRED, "100") == ParsedGrade("100", 100.0)
    assert parse_grade(HUNDRED, "007") == ParsedGrade("7", 7.0)
    for raw in ("101", "-1", "1000", "55+", "50%"):
        with pytest.raises(InvalidGrade):
            parse_grade(HUNDRED, raw)


@pytest.mark.parametrize(
    ("raw", "value", "score"),
    [("pass", "pass", 1.0), ("PASS", "pass", 1.0), ("зачёт", "pass", 1.0),
     ("Незачет", "fail", 0.0), ("fail", "fail", 0.0)],
)  # fmt: skip
def test_pass_fail_values(raw: str, value: str, score: float) -> None:
    assert parse_grade(PASS_FAIL, raw) == ParsedGrade(value, score)


@pytest.mark.parametrize("raw", ["1", "0", "5", "yes", ""])
def test_pass_fail_rejects(raw: str) -> None:
    with pytest.raises(InvalidGrade):
        parse_grade(PASS_FAIL, raw)


def test_non_string_value_is_invalid() -> None:
    with pytest.raises(InvalidGrade):
        parse_grade(FIVE, 5)  # type: ignore[arg-type]


def test_invalid_grade_is_a_value_error() -> None:
    assert issubclass(InvalidGrade, ValueError)


def test_display_value_uses_a_real_minus() -> None:
    assert display_value("4-") == "4−"
    assert display_value("4+") == "4+"
    assert display_value("pass") == "pass"


# --- keyboards --------------------------------------------------------------------------


def test_keyboards() -> None:
    assert keyboard_values(FIVE) == [
        "5", "5-", "4+", "4", "4-", "3+", "3", "3-", "2+", "2", "2-", "1",
    ]  # fmt: skip
    assert keyboard_values(FIVE_PLAIN) == ["5", "4", "3", "2"]
    assert keyboard_values(TEN) == [str(v) for v in range(10, 0, -1)]
    assert keyboard_values(HUNDRED) == [str(v) for v in range(100, -1, -5)]
    assert keyboard_values(PASS_FAIL) == ["pass", "fail"]


def test_every_keyboard_value_parses_to_itself() -> None:
    for spec in (FIVE, FIVE_PLAIN, TEN, HUNDRED, PASS_FAIL):
        for value in keyboard_values(spec):
            assert parse_grade(spec, value).value == value


def test_hundred_keyboard_keeps_the_lower_bound() -> None:
    spec = ScaleSpec(ScaleKind.HUNDRED, 2, 100, 50)
    assert keyboard_values(spec)[-2:] == ["5", "2"]


# --- weights and averages ---------------------------------------------------------------


def test_default_weights() -> None:
    assert DEFAULT_WEIGHTS == {
        GradeKind.ORAL: 1.0,
        GradeKind.CLASSWORK: 1.0,
        GradeKind.HOMEWORK: 1.0,
        GradeKind.TEST: 2.0,
        GradeKind.EXAM: 3.0,
    }
    assert default_weight("test") == 2.0
    assert default_weight(GradeKind.EXAM) == 3.0


def test_weighted_average() -> None:
    assert weighted_average([(5, 1), (3, 1)]) == 4.0
    assert weighted_average([(5, 1), (2, 2)]) == 3.0
    assert weighted_average([(4.3, 1), (3.7, 1)]) == pytest.approx(4.0)
    assert weighted_average([]) is None
    assert weighted_average([(5, 0)]) is None
    with pytest.raises(InvalidGrade):
        weighted_average([(5, -1)])


def test_score_pairs_leave_out_deleted_grades() -> None:
    @dataclass
    class G:
        score: float
        weight: float
        deleted_at: datetime | None = None

    grades = [G(5, 1), G(2, 3, datetime(2026, 1, 1, tzinfo=UTC)), G(4, 2)]
    assert score_pairs(grades) == [(5, 1), (4, 2)]
    assert weighted_average(score_pairs(grades)) == pytest.approx(13 / 3)


# --- period grades and pass marks -------------------------------------------------------


@pytest.mark.parametrize(
    ("average", "value"),
    [(4.5, "5"), (4.49, "4"), (3.5, "4"), (3.49, "3"), (2.5, "3"), (2.49, "2"), (1.2, "1"),
     (5.0, "5"), (0.3, "1"), (4.499999999999, "5")],
)  # fmt: skip
def test_five_point_period_grade_rounds_half_up(average: float, value: str) -> None:
    assert period_value(FIVE, average) == value


def test_five_point_period_grade_from_a_float_sum() -> None:
    # "3+" and "2-" with equal weights average 2.5 in decimal but 2.4999999999999996 in binary
    average = weighted_average([(3.3, 1.5), (1.7, 1.5)])
    assert average is not None
    assert average < 2.5
    assert period_value(FIVE, average) == "3"
    assert period_value(FIVE_PLAIN, 1.0) == "2"  # clamped to the scale


def test_ten_and_hundred_period_grades_round_half_up() -> None:
    assert period_value(TEN, 7.5) == "8"
    assert period_value(TEN, 7.49) == "7"
    assert period_value(TEN, 0.2) == "1"
    assert period_value(HUNDRED, 49.5) == "50"
    assert period_value(HUNDRED, 49.4) == "49"
    assert period_value(HUNDRED, 100) == "100"


def test_pass_fail_period_grade_uses_the_share_of_passes() -> None:
    share = weighted_average([(1, 1), (0, 1)])
    assert share == 0.5
    assert period_value(PASS_FAIL, share) == "pass"
    assert period_value(PASS_FAIL, 0.49) == "fail"
    strict = ScaleSpec(ScaleKind.PASS_FAIL, 0, 1, 0.75)
    assert period_value(strict, 2 / 3) == "fail"
    assert period_value(strict, 0.75) == "pass"


@pytest.mark.parametrize(
    ("spec", "value", "passes"),
    [(FIVE, "3", True), (FIVE, "3-", True), (FIVE, "2+", False), (FIVE, "2", False),
     (FIVE, "5", True), (TEN, "4", True), (TEN, "3", False), (HUNDRED, "50", True),
     (HUNDRED, "49", False), (PASS_FAIL, "pass", True), (PASS_FAIL, "fail", False)],
)  # fmt: skip
def test_is_passing(spec: ScaleSpec, value: str, passes: bool) -> None:
    assert is_passing(spec, value) is passes


def test_average_passes() -> None:
    assert average_passes(FIVE, 2.5)
    assert not average_passes(FIVE, 2.49)
    assert average_passes(PASS_FAIL, 0.5)
    assert not average_passes(HUNDRED, 49.4)


def test_threshold_for() -> None:
    assert threshold_for(FIVE, "5") == 4.5
    assert threshold_for(FIVE, "4") == 3.5
    assert threshold_for(FIVE, "1") == 1.0
    assert threshold_for(TEN, "9") == 8.5
    assert threshold_for(PASS_FAIL, "pass") == 0.5
    with pytest.raises(InvalidGrade, match="modifier"):
        threshold_for(FIVE, "4+")


# --- what do I need ---------------------------------------------------------------------


def test_calculator_counts_for_each_value() -> None:
    # 3 and 4 average 3.5; a "5" needs (3 + 4 + 5n) / (2 + n) >= 4.5, i.e. n >= 4
    assert grades_needed(FIVE, [(3, 1), (4, 1)], "5") == [("5", 4), ("5-", 10)]
    # a float target: 4.0 needs one "5", two "5-" (4.7) or four "4+" (4.3)
    result = grades_needed(FIVE, [(3, 1), (4, 1)], 4.0)
    assert result == [("5", 1), ("5-", 2), ("4+", 4)]  # "4" never gets above 4.0


def test_calculator_result_really_reaches_the_target() -> None:
    current = [(2, 1), (3, 2), (4, 1), (3.7, 1)]
    result = grades_needed(FIVE, current, "4", kind=GradeKind.TEST)
    assert result
    for value, count in result:
        score = score_of(FIVE, value)
        new = current + [(score, 2.0)] * count
        fewer = current + [(score, 2.0)] * (count - 1)
        assert period_value(FIVE, weighted_average(new) or 0) in ("4", "5")
        assert (weighted_average(new) or 0) >= 3.5
        assert (weighted_average(fewer) or 0) < 3.5


def test_calculator_heavier_grades_need_fewer() -> None:
    current = [(3, 1)] * 6
    oral = grades_needed(FIVE, current, "4", kind=GradeKind.ORAL)
    exam = grades_needed(FIVE, current, "4", kind=GradeKind.EXAM)
    custom = grades_needed(FIVE, current, "4", weight=1.5)
    assert oral is not None
    assert exam is not None
    assert custom is not None
    # six 3s: each "5" of weight w adds 1.5·w against a deficit of 3
    assert dict(oral)["5"] == 2
    assert dict(exam)["5"] == 1
    assert dict(custom)["5"] == 2
    assert dict(oral)["4"] == 6


def test_calculator_already_reached_returns_empty() -> None:
    assert grades_needed(FIVE, [(5, 1), (4, 1)], "5") == []
    assert grades_needed(FIVE, [(5, 1)], 5.0) == []


def test_calculator_impossible_returns_none() -> None:
    assert grades_needed(FIVE, [(2, 1)], 5.0) is None  # nothing scores above 5
    assert grades_needed(FIVE, [(2, 1)], 5.5) is None
    assert grades_needed(FIVE, [(2, 10)], "5", max_count=20) is None  # needs 50 fives
    assert grades_needed(PASS_FAIL, [(0, 1)], 1.0) is None


def test_calculator_with_no_grades_yet() -> None:
    assert grades_needed(FIVE, [], "5") == [("5", 1), ("5-", 1)]
    assert grades_needed(FIVE, [], 5.0) == [("5", 1)]


def test_calculator_limit_and_other_scales() -> None:
    result = grades_needed(HUNDRED, [(40, 1)], "60", limit=3)
    assert result == [("100", 1), ("95", 1), ("90", 1)]
    tenth = grades_needed(TEN, [(5, 1), (6, 1)], "8")
    assert tenth is not None
    assert tenth[0] == ("10", 2)
    pf = grades_needed(PASS_FAIL, [(0, 1), (0, 1)], "pass")
    assert pf == [("pass", 2)]


def test_calculator_rejects_bad_weight() -> None:
    with pytest.raises(InvalidGrade):
        grades_needed(FIVE, [(3, 1)], "5", weight=0)


@pytest.mark.parametrize(
    ("code", "good", "not_good"),
    [
        ("five", ["4", "4-", "5", "5-"], ["3+", "3", "2"]),
        ("ten", ["7", "10"], ["6", "4", "1"]),
        ("hundred", ["75", "100"], ["74", "50", "0"]),
        ("pass_fail", ["pass"], ["fail"]),
    ],
)
def test_good_values_per_scale(code: str, good: list[str], not_good: list[str]) -> None:
    """ "Качество знаний" counts good and excellent values: the midpoint between the pass mark
    and the top (a five-point "3+" rounds to 3, not good); a pass of pass/fail is good."""
    spec = ScaleSpec.default(code)
    assert all(is_good(spec, v) for v in good)
    assert not any(is_good(spec, v) for v in not_good)
