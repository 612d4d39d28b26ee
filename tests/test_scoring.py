"""The lifecycle's scoring rules (jixiao.lifecycle.scoring): pure Decimal functions, exact to the cent."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from jixiao.lifecycle.models import Direction, QualitativeBand
from jixiao.lifecycle.scoring import (
    annual_progress,
    attainment_ratio,
    default_nature,
    evaluation_form,
    execution_rate,
    execution_score,
    expected_share,
    form_rows,
    grade_for,
    group_points,
    indicator_score,
)

NATIONAL_WEIGHTS = {"execution": 10, "产出": 50, "效益": 30, "满意度": 10}
NATIONAL_BANDS = [["优", 90], ["良", 80], ["中", 60], ["差", 0]]


def exact(value: D, expected: str) -> None:
    """Equal *and* written with the same places: 5.00 is not 5."""
    assert isinstance(value, D)
    assert str(value) == expected, f"{value!s} != {expected}"


# ---- Budget execution ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("executed", "budget", "rate"),
    [
        ("0", "1000000", "0.00"),
        ("500000", "1000000", "50.00"),
        ("1000000", "1000000", "100.00"),
        ("1200000", "1000000", "120.00"),  # over-spending is shown as it is
        ("1", "3", "33.33"),
        ("2", "3", "66.67"),  # ROUND_HALF_UP
        ("123.45", "0", "0.00"),  # nothing budgeted
    ],
)
def test_execution_rate_is_a_percent_with_two_places(executed, budget, rate):
    exact(execution_rate(D(executed), D(budget)), rate)


@pytest.mark.parametrize(
    ("executed", "budget", "score"),
    [
        ("0", "1000000", "0.00"),
        ("850000", "1000000", "8.50"),
        ("1000000", "1000000", "10.00"),
        ("1500000", "1000000", "10.00"),  # capped at the cap
        ("2", "3", "6.67"),
        ("100", "0", "0.00"),
        ("-5", "100", "0.00"),
    ],
)
def test_execution_score_is_capped_at_ten(executed, budget, score):
    exact(execution_score(D(executed), D(budget)), score)


def test_execution_score_uses_the_cap_it_is_given():
    exact(execution_score(D("750000"), D("1000000"), cap=D(20)), "15.00")
    exact(execution_score(D("3000000"), D("1000000"), cap=D(20)), "20.00")


# ---- Indicator scores: quantitative -------------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["ge", "gt", Direction.GE, Direction.GT])
@pytest.mark.parametrize(
    ("target", "actual", "score"),
    [
        ("100", "100", "20.00"),
        ("100", "80", "16.00"),
        ("100", "150", "20.00"),  # no bonus for overshooting
        ("100", "0", "0.00"),
        ("3", "1", "6.67"),
        ("3", "2", "13.33"),
        ("95.5", "90", "18.85"),
        ("100", "-10", "0.00"),  # never below zero
    ],
)
def test_ge_and_gt_score_min_of_actual_over_target_and_one(direction, target, actual, score):
    exact(indicator_score(direction, D(target), D(actual), D(20)), score)


@pytest.mark.parametrize(
    ("target", "actual", "score"),
    [("100", "100", "10.00"), ("100", "90", "9.00"), ("100", "110", "10.00"), ("98", "49", "5.00")],
)
def test_eq_is_scored_as_ge(target, actual, score):
    exact(indicator_score("eq", D(target), D(actual), D(10)), score)
    exact(indicator_score(Direction.EQ, D(target), D(actual), D(10)), score)


@pytest.mark.parametrize("direction", ["le", "lt", Direction.LE, Direction.LT])
@pytest.mark.parametrize(
    ("actual", "score"),
    [
        ("0", "10.00"),
        ("80", "10.00"),
        ("100", "10.00"),  # at the cap: full points
        ("110", "9.00"),
        ("150", "5.00"),  # 1.5 × target: half the points
        ("175", "2.50"),
        ("199.99", "0.00"),  # 0.001 points rounds to 0.00
        ("200", "0.00"),  # 2 × target: nothing
        ("300", "0.00"),  # 3 × target: still nothing, never negative
    ],
)
def test_le_and_lt_fall_linearly_to_zero_at_twice_the_target(direction, actual, score):
    exact(indicator_score(direction, D(100), D(actual), D(10)), score)


def test_le_just_under_twice_the_target_keeps_a_cent():
    exact(indicator_score("le", D(100), D("199.9"), D(10)), "0.01")


@pytest.mark.parametrize(
    ("direction", "actual", "score"),
    [
        ("ge", "0", "10.00"),
        ("ge", "5", "10.00"),
        ("ge", "-1", "0.00"),
        ("gt", "0", "10.00"),
        ("le", "0", "10.00"),
        ("le", "-1", "10.00"),
        ("le", "1", "0.00"),
        ("lt", "0.01", "0.00"),
        ("eq", "0", "10.00"),
        ("eq", "1", "0.00"),  # "安全事故 = 0": one incident loses the indicator
    ],
)
def test_a_zero_target_is_all_or_nothing(direction, actual, score):
    exact(indicator_score(direction, D(0), D(actual), D(10)), score)


def test_points_are_quantized_to_cents():
    exact(indicator_score("ge", D(3), D(1), D("16.67")), "5.56")
    exact(indicator_score("ge", D(1), D(1), D(5)), "5.00")


@pytest.mark.parametrize("direction", ["ge", "gt", "eq", "le", "lt"])
def test_a_quantitative_indicator_without_an_actual_value_is_refused(direction):
    with pytest.raises(ValueError, match="实际完成值"):
        indicator_score(direction, D(100), None, D(10))


def test_a_quantitative_indicator_without_a_target_is_refused():
    with pytest.raises(ValueError, match="指标值"):
        indicator_score("ge", None, D(100), D(10))


def test_an_unknown_direction_is_refused():
    with pytest.raises(ValueError, match="指标方向"):
        indicator_score("about", D(100), D(100), D(10))


# ---- Indicator scores: qualitative --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("band", "fraction", "score"),
    [
        ("achieved", "1", "10.00"),
        ("achieved", "0.9", "9.00"),
        ("achieved", "0.8", "8.00"),  # inclusive bounds
        ("partial", "0.8", "8.00"),
        ("partial", "0.7", "7.00"),
        ("partial", "0.6", "6.00"),
        ("not_achieved", "0.6", "6.00"),
        ("not_achieved", "0.25", "2.50"),
        ("not_achieved", "0", "0.00"),
        (QualitativeBand.ACHIEVED, "0.8500", "8.50"),
    ],
)
def test_qualitative_scores_the_fraction_the_evaluator_chose_inside_the_band(band, fraction, score):
    exact(indicator_score("qualitative", None, None, D(10), band=band, band_fraction=D(fraction)), score)
    exact(indicator_score(Direction.QUALITATIVE, None, None, D(10), band=band, band_fraction=D(fraction)), score)


@pytest.mark.parametrize(
    ("band", "fraction", "message"),
    [
        ("achieved", "0.79", "“达成”档的得分比例应在 80%–100% 之间"),
        ("achieved", "1.01", "“达成”档的得分比例应在 80%–100% 之间"),
        ("partial", "0.5999", "“部分达成”档的得分比例应在 60%–80% 之间"),
        ("partial", "0.85", "“部分达成”档的得分比例应在 60%–80% 之间"),
        ("not_achieved", "0.61", "“未达成”档的得分比例应在 0%–60% 之间"),
        ("not_achieved", "-0.1", "“未达成”档的得分比例应在 0%–60% 之间"),
    ],
)
def test_a_fraction_outside_its_band_is_refused_naming_the_band_and_its_range(band, fraction, message):
    with pytest.raises(ValueError) as raised:
        indicator_score("qualitative", None, None, D(10), band=band, band_fraction=D(fraction))
    assert message in str(raised.value)


def test_a_qualitative_indicator_needs_a_band_and_a_fraction():
    for missing in (None, ""):
        with pytest.raises(ValueError, match="需要选择评价档次"):
            indicator_score("qualitative", None, None, D(10), band=missing, band_fraction=D("0.9"))
    with pytest.raises(ValueError, match="“达成”时需要填写得分比例（80%–100%）"):
        indicator_score("qualitative", None, None, D(10), band="achieved")
    with pytest.raises(ValueError, match="未知的定性评价档次"):
        indicator_score("qualitative", None, None, D(10), band="excellent", band_fraction=D("0.9"))


def test_a_qualitative_indicator_ignores_target_and_actual():
    exact(indicator_score("qualitative", D(100), D(0), D(10), band="partial", band_fraction=D("0.75")), "7.50")


# ---- Points per indicator -----------------------------------------------------------------------------------


def test_group_points_share_a_group_in_proportion_to_the_indicators_weights():
    indicators = [("产出", D(20)), ("产出", D(30)), ("效益", D(10)), ("效益", D(20)), ("满意度", D(5))]
    points = group_points(indicators, NATIONAL_WEIGHTS)
    assert points == [D("20.00"), D("30.00"), D("10.00"), D("20.00"), D("10.00")]
    assert [str(p) for p in points] == ["20.00", "30.00", "10.00", "20.00", "10.00"]
    assert sum(points) == D(90)  # + execution 10 = 100


def test_group_points_put_the_rounding_residue_on_the_groups_last_indicator():
    indicators = [("产出", D(1)), ("效益", D(1)), ("产出", D(1)), ("效益", D(1)), ("产出", D(1)), ("效益", D(1))]
    points = group_points(indicators, NATIONAL_WEIGHTS)
    assert points == [D("16.67"), D("10.00"), D("16.67"), D("10.00"), D("16.66"), D("10.00")]
    assert points[0] + points[2] + points[4] == D(50)
    assert points[1] + points[3] + points[5] == D(30)


def test_group_points_sum_exactly_to_the_groups_points_whatever_the_weights():
    indicators = [("产出", D(7)), ("产出", D(11)), ("产出", D(13)), ("效益", D("0.3")), ("效益", D("0.7")),
                  ("满意度", D(3)), ("满意度", D(3)), ("满意度", D(3))]
    points = group_points(indicators, NATIONAL_WEIGHTS)
    assert sum(points[:3]) == D(50)
    assert sum(points[3:5]) == D(30)
    assert sum(points[5:]) == D(10)
    assert points[:3] == [D("11.29"), D("17.74"), D("20.97")]
    assert points[3:5] == [D("9.00"), D("21.00")]
    assert points[5:] == [D("3.33"), D("3.33"), D("3.34")]
    assert all(p.as_tuple().exponent == -2 for p in points)


def test_cost_shares_the_output_groups_points_unless_the_weights_name_it():
    """成本 used to add its own weights on top of 100 (a self-evaluation totalled 110.00)."""
    indicators = [("产出", D(1)), ("成本", D(5)), ("效益", D(1)), ("成本", D("2.5"))]
    points = group_points(indicators, NATIONAL_WEIGHTS)
    # 产出's 50 points shared by weight 1 : 5 : 2.5 (8.5 in all), the cent's residue on the last.
    assert points == [D("5.88"), D("29.41"), D("30.00"), D("14.71")]
    assert points[0] + points[1] + points[3] == D(50)


def test_an_indicator_whose_level1_is_in_no_group_is_worth_nothing():
    assert group_points([("产出", D(1)), ("其他", D(7))], NATIONAL_WEIGHTS) == [D("50.00"), D("0.00")]


def test_a_weighted_group_without_indicators_contributes_nothing():
    points = group_points([("产出", D(1)), ("效益", D(1))], NATIONAL_WEIGHTS)
    assert points == [D("50.00"), D("30.00")]
    assert sum(points) == D(80)  # 满意度's 10 points are not moved elsewhere


def test_group_points_of_a_region_that_scores_cost():
    weights = {"execution": 10, "产出": 40, "效益": 30, "满意度": 10, "成本": 10}
    points = group_points([("产出", D(1)), ("成本", D(1)), ("成本", D(3)), ("效益", D(1)), ("满意度", D(1))], weights)
    assert points == [D("40.00"), D("2.50"), D("7.50"), D("30.00"), D("10.00")]


def test_group_points_share_equally_when_all_weights_are_zero():
    assert group_points([("产出", D(0)), ("产出", D(0)), ("产出", D(0))], {"产出": 50}) == [
        D("16.67"), D("16.67"), D("16.66")]


def test_execution_is_never_an_indicator_group():
    assert group_points([("execution", D(3))], NATIONAL_WEIGHTS) == [D("0.00")]


def test_group_points_of_no_indicators():
    assert group_points([], NATIONAL_WEIGHTS) == []


# ---- Grades -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "grade"),
    [
        ("100", "优"), ("90.00", "优"), ("90", "优"), ("89.99", "良"),
        ("80.00", "良"), ("79.99", "中"),
        ("60.00", "中"), ("59.99", "差"),
        ("0", "差"), ("-1", "差"),  # below every bound: the lowest band
    ],
)
def test_grade_for_takes_the_best_band_whose_lower_bound_is_reached(total, grade):
    assert grade_for(D(total), NATIONAL_BANDS) == grade


def test_grade_for_other_bands_and_any_order():
    bands = [["差", 0], ["合格", "70.5"], ["优秀", 85]]
    assert grade_for(D("85"), bands) == "优秀"
    assert grade_for(D("84.99"), bands) == "合格"
    assert grade_for(D("70.50"), bands) == "合格"
    assert grade_for(D("70.49"), bands) == "差"


def test_grade_for_without_bands_is_refused():
    with pytest.raises(ValueError):
        grade_for(D(90), [])


# ---- Monitoring attainment ----------------------------------------------------------------------------------


def test_expected_share_is_month_over_twelve():
    assert expected_share(6) == D("0.5")
    assert expected_share(12) == D(1)
    assert expected_share(3) == D("0.25")
    assert expected_share(1) * 12 == D(1)
    for month in (0, 13):
        with pytest.raises(ValueError, match="月份"):
            expected_share(month)


@pytest.mark.parametrize("direction", ["ge", "gt"])
@pytest.mark.parametrize(
    ("target", "actual", "month", "ratio"),
    [
        ("120", "30", 3, "1.0000"),  # expected 30
        ("120", "18", 3, "0.6000"),
        ("120", "36", 3, "1.2000"),
        ("100", "50", 6, "1.0000"),
        ("100", "0", 6, "0.0000"),
        ("100", "1", 1, "0.1200"),  # expected 8.333…: not rounded before dividing
        ("100", "7", 1, "0.8400"),
        ("100", "100", 12, "1.0000"),
    ],
)
def test_attainment_of_cumulative_higher_is_better_indicators_is_actual_over_pro_rated(
        direction, target, actual, month, ratio):
    exact(attainment_ratio(direction, D(target), D(actual), month), ratio)
    exact(attainment_ratio(direction, D(target), D(actual), month, "cumulative"), ratio)


@pytest.mark.parametrize(("actual", "month", "ratio"), [
    ("95", 3, "0.9500"),   # a rate of 95% against ≥ 100%: compared with the target, whatever the month
    ("95", 12, "0.9500"),
    ("60", 6, "0.6000"),
    ("120", 1, "1.2000"),
])
def test_attainment_of_a_level_is_compared_with_the_target_itself(actual, month, ratio):
    exact(attainment_ratio("ge", D(100), D(actual), month, "level"), ratio)


@pytest.mark.parametrize("direction", ["le", "lt", Direction.LE])
@pytest.mark.parametrize(
    ("actual", "ratio"),
    [
        ("30", "1.0000"),  # exactly the pro-rated cap
        ("25", "1.0000"),  # under the cap: on track (not "ahead", which would light blue)
        ("0", "1.0000"),   # nothing used yet
        ("50", "0.6000"),  # well over: red territory
        ("60", "0.5000"),
    ],
)
def test_attainment_of_cumulative_caps_is_on_track_within_the_pro_rated_cap(direction, actual, ratio):
    exact(attainment_ratio(direction, D(120), D(actual), 3), ratio)


@pytest.mark.parametrize(("actual", "month", "ratio"), [
    ("90", 6, "1.0000"),   # a cap of 100 read 90 in June: inside the cap (it used to score 50/90 = 0.5556, red)
    ("100", 1, "1.0000"),
    ("125", 12, "0.8000"),
    ("200", 6, "0.5000"),
])
def test_attainment_of_a_level_cap_is_on_track_at_or_under_the_cap(actual, month, ratio):
    exact(attainment_ratio("le", D(100), D(actual), month, "level"), ratio)


@pytest.mark.parametrize(("actual", "nature", "month", "ratio"), [
    ("50", "cumulative", 6, "1.0000"),
    ("45", "cumulative", 6, "0.9000"),
    ("55", "cumulative", 6, "0.9000"),   # overshooting an exact target is as far off as falling short
    ("100", "cumulative", 6, "0.0000"),  # twice the expected value: as far as can be
    ("130", "level", 3, "0.7000"),
    ("100", "level", 3, "1.0000"),
])
def test_attainment_of_exact_indicators_is_by_distance_from_the_expected_value(actual, nature, month, ratio):
    exact(attainment_ratio("eq", D(100), D(actual), month, nature), ratio)


@pytest.mark.parametrize(("unit", "nature"), [
    ("%", "level"), ("分", "level"), ("元/人", "level"), ("次/年", "level"), ("天", "level"),
    ("人次", "cumulative"), ("公里", "cumulative"), ("万元", "cumulative"), ("", "cumulative"),
])
def test_the_unit_proposes_an_indicators_nature(unit, nature):
    assert default_nature(unit) == nature


def test_annual_progress_is_the_share_of_the_annual_target():
    exact(annual_progress(D(1000), D(800)), "80.00")
    assert annual_progress(D(0), D(5)) is None
    assert annual_progress(D(100), None) is None


def test_attainment_has_no_ratio_for_qualitative_zero_or_missing_values():
    assert attainment_ratio("qualitative", None, None, 6) is None
    assert attainment_ratio(Direction.QUALITATIVE, D(100), D(50), 6) is None
    assert attainment_ratio("ge", D(0), D(5), 6) is None
    assert attainment_ratio("le", D(0), D(0), 6) is None
    assert attainment_ratio("ge", D(100), None, 6) is None
    assert attainment_ratio("ge", None, D(5), 6) is None


def test_attainment_refuses_a_month_outside_the_year():
    with pytest.raises(ValueError, match="月份"):
        attainment_ratio("ge", D(100), D(50), 13)


# ---- Evaluation forms ---------------------------------------------------------------------------------------

KEY_FORM = {"execution": 0, "groups": [
    {"name": "决策", "points": 20, "indicators": [{"code": "D1", "level2": "项目立项", "name": "立项依据充分性", "points": 20}]},
    {"name": "过程", "points": 20, "indicators": [
        {"code": "P1", "level2": "资金管理", "name": "预算执行率", "points": 8, "scored_by": "execution"},
        {"code": "P2", "level2": "组织实施", "name": "制度执行有效性", "points": 12}]},
    {"name": "产出", "points": 30, "level1": ["产出", "成本"]},
    {"name": "效益", "points": 30, "level1": ["效益", "满意度"]},
]}


def test_the_flat_form_of_earlier_releases_is_read_with_cost_in_output():
    form = evaluation_form(NATIONAL_WEIGHTS, "self")
    assert form.execution == 10 and form.total == 100
    assert form.group_of("成本").name == "产出" and form.group_of("满意度").name == "满意度"


def test_a_form_that_names_cost_keeps_it_apart():
    form = evaluation_form({"execution": 10, "产出": 40, "成本": 10, "效益": 30, "满意度": 10}, "self")
    assert form.group_of("成本").name == "成本" and form.group_of("产出").level1 == ("产出",)


def test_a_finance_form_with_output_and_outcome_under_60_percent_is_refused():
    low = {"execution": 0, "groups": [
        {"name": "决策", "points": 25, "indicators": [{"code": "D", "level2": "x", "name": "d", "points": 25}]},
        {"name": "过程", "points": 25, "indicators": [{"code": "P", "level2": "x", "name": "p", "points": 25}]},
        {"name": "产出", "points": 30, "level1": ["产出"]}, {"name": "效益", "points": 20, "level1": ["效益"]}]}
    with pytest.raises(ValueError, match="不低于 60%"):
        evaluation_form(low, "finance")
    # Exactly 60% is the principle's floor, and allowed.
    at_floor = {**low, "groups": [{**low["groups"][0], "points": 20, "indicators": [{**low["groups"][0]["indicators"][0], "points": 20}]},
                                  {**low["groups"][1], "points": 20, "indicators": [{**low["groups"][1]["indicators"][0], "points": 20}]},
                                  low["groups"][2], {**low["groups"][3], "points": 30}]}
    assert evaluation_form(at_floor, "finance").total == 100
    # The self-evaluation form has no 决策 or 过程 and is not held to it.
    assert evaluation_form({"execution": 50, "产出": 25, "效益": 25}, "self").total == 100


@pytest.mark.parametrize(("form", "message"), [
    ({"execution": 10, "产出": 50, "效益": 30}, "合计应为 100 分"),
    ({"execution": 0, "groups": [{"name": "产出", "points": 100, "level1": ["产出"],
                                  "indicators": [{"code": "x", "name": "x", "points": 100}]}]}, "既取绩效目标"),
    ({"execution": 0, "groups": [{"name": "决策", "points": 30, "indicators": [{"code": "x", "name": "x", "points": 20}]},
                                 {"name": "产出", "points": 70, "level1": ["产出"]}]}, "之和应等于"),
    (None, "没有为"),
])
def test_a_form_that_does_not_add_up_is_refused(form, message):
    with pytest.raises(ValueError, match=message):
        evaluation_form(form, "finance")


def test_form_rows_list_the_forms_own_rows_then_share_target_groups():
    form = evaluation_form(KEY_FORM, "finance")

    class Target:
        def __init__(self, id, level1, weight):
            self.id, self.level1, self.weight = id, level1, D(weight)

    targets = [Target(1, "产出", "2"), Target(2, "成本", "1"), Target(3, "效益", "1"), Target(4, "满意度", "1")]
    rows = form_rows(form, targets)
    assert [(r.group, r.key, r.points) for r in rows] == [
        ("决策", "form:D1", D("20.00")), ("过程", "form:P1", D("8.00")), ("过程", "form:P2", D("12.00")),
        ("产出", "1", D("20.00")), ("产出", "2", D("10.00")), ("效益", "3", D("15.00")), ("效益", "4", D("15.00"))]
    assert sum(r.points for r in rows) + form.execution == 100
