"""Scoring rules of the lifecycle: budget execution, indicator scores, points per indicator, grades, and the
attainment ratios that monitoring turns into traffic lights.

Pure functions on ``Decimal`` (never ``float``): scores are published, appealed and re-computed by auditors,
so the same inputs must give the same cents on every machine. Every result is quantized with
``ROUND_HALF_UP`` (the rounding people do by hand on the paper forms), scores and rates to 2 places, ratios
to 4. The rules are the common practice described in the domain primer (docs/domain.md, "The lifecycle");
which weights and bands apply is a question for the hooks (``evaluation_weights``, ``evaluation_grade_bands``,
``monitoring_light``), not for this module.

``direction`` and ``band`` accept the plain strings (``"ge"``, ``"achieved"``) or the ``Direction`` /
``QualitativeBand`` enums of :mod:`jixiao.lifecycle.models` (both are ``str``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jixiao import units

__all__ = [
    "QUALITATIVE_BANDS", "QUALITATIVE_LIGHTS", "EvaluationForm", "FormGroup", "FormIndicator", "FormRow",
    "annual_progress", "attainment_ratio", "default_nature", "evaluation_form", "execution_rate", "execution_score",
    "expected_share", "expected_value", "form_rows", "grade_for", "group_points", "indicator_score",
]

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
RATIO_PLACES = Decimal("0.0001")

#: The directions of a quantitative indicator that reward more (≥, >, and = scored as ≥).
HIGHER_IS_BETTER = frozenset({"ge", "gt", "eq"})
#: The directions of a quantitative indicator that reward less (cost caps, complaint rates …).
LOWER_IS_BETTER = frozenset({"le", "lt"})
QUALITATIVE = "qualitative"

#: Qualitative bands: Chinese label and the share of the indicator's points the evaluator may give (inclusive).
QUALITATIVE_BANDS: dict[str, tuple[str, Decimal, Decimal]] = {
    "achieved": ("达成", Decimal("0.8"), Decimal("1")),
    "partial": ("部分达成", Decimal("0.6"), Decimal("0.8")),
    "not_achieved": ("未达成", Decimal("0"), Decimal("0.6")),
}

#: The level-1 group names in evaluation weights that are not indicator groups.
NON_GROUP_WEIGHTS = frozenset({"execution"})


def _decimal(value: Any) -> Decimal:
    """A ``Decimal`` from a ``Decimal``, an int or a string (settings from YAML/JSON may hold ints).

    A float (a YAML ``89.5``) goes through its shortest ``repr`` so that it means what was written.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError(f"not a number: {value!r}")
    return Decimal(repr(value) if isinstance(value, float) else str(value))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def execution_rate(executed: Decimal, budget: Decimal) -> Decimal:
    """Budget execution rate (预算执行率) as a percent with 2 places: ``executed / budget × 100``.

    Not capped: a rate above 100 shows over-spending, which the monitoring page must show as it is.
    A budget of 0 gives 0 (nothing was budgeted, so nothing can be said to be executed) rather than an error,
    because a project may sit at 0 between a cut and an adjustment.
    """
    executed, budget = _decimal(executed), _decimal(budget)
    if budget == 0:
        return _cents(ZERO)
    return _cents(executed / budget * 100)


def execution_score(executed: Decimal, budget: Decimal, cap: Decimal = Decimal(10)) -> Decimal:
    """Budget execution score (预算执行率得分) = ``executed / budget × cap``, at most ``cap``, 2 places.

    The national self-evaluation form gives it 10 points; the cap comes from ``evaluation_weights``'
    ``execution`` part, so a region weighting it differently changes the cap, not this rule. Spending more
    than the budget earns no more than the cap; a negative amount (a refund larger than spending) earns 0.
    A budget of 0 scores 0, like :func:`execution_rate`.
    """
    executed, budget, cap = _decimal(executed), _decimal(budget), _decimal(cap)
    if budget == 0:
        return _cents(ZERO)
    ratio = min(max(executed / budget, ZERO), ONE)
    return _cents(ratio * cap)


def indicator_score(
    direction: str,
    target: Decimal | None,
    actual: Decimal | None,
    points: Decimal,
    band: str | None = None,
    band_fraction: Decimal | None = None,
) -> Decimal:
    """The score of one level-3 indicator worth ``points``, by the common scoring practice, 2 places.

    - ``ge`` / ``gt`` / ``eq``: ``min(actual / target, 1) × points`` (never below 0). ``=`` indicators are
      scored as ``≥``, as the national practice does: falling short loses points, overshooting gains none.
    - ``le`` / ``lt``: full points when ``actual ≤ target``, falling linearly to 0 at ``2 × target`` (and 0
      beyond), so exceeding a cap by half loses half the points.
    - A target of 0 (or below) cannot be divided by, so the indicator is all-or-nothing: ``≥``/``>`` score full
      points when ``actual ≥ target``; ``≤``/``<`` and ``=`` when ``actual ≤ target`` (an "= 0" indicator, such as
      safety incidents = 0, is met only by 0).
    - ``qualitative``: the evaluator picks ``band`` — ``achieved`` (达成) 80–100 %, ``partial`` (部分达成)
      60–80 %, ``not_achieved`` (未达成) 0–60 % of the points — and ``band_fraction``, the share within that
      band (e.g. ``Decimal("0.85")``). Both are required: the band is the evaluator's judgement and the
      fraction is what is scored, so neither is guessed. The bounds are inclusive (0.8 is both the top of
      "partial" and the bottom of "achieved").

    Raises ``ValueError`` (a Chinese message fit to show the evaluator) for a quantitative indicator without
    a target or an actual value, for a qualitative one without a band or fraction or with a fraction outside
    its band, and for an unknown direction.
    """
    direction = str(direction)
    points = _decimal(points)

    if direction == QUALITATIVE:
        return _cents(points * _band_fraction(band, band_fraction))

    if direction not in HIGHER_IS_BETTER | LOWER_IS_BETTER:
        raise ValueError(f"未知的指标方向“{direction}”")
    if target is None:
        raise ValueError("定量指标缺少指标值（目标值），无法评分")
    if actual is None:
        raise ValueError("定量指标缺少实际完成值，无法评分")
    return _quantitative_score(direction, _decimal(target), _decimal(actual), points)


def _band_fraction(band: str | None, band_fraction: Decimal | None) -> Decimal:
    """The share of the points a qualitative indicator earns: the evaluator's fraction, checked against the band."""
    if band is None or band == "":  # a form's empty choice is no choice
        raise ValueError("定性指标需要选择评价档次（达成、部分达成、未达成）")
    band = str(band)
    if band not in QUALITATIVE_BANDS:
        raise ValueError(f"未知的定性评价档次“{band}”，应为达成、部分达成或未达成")
    label, low, high = QUALITATIVE_BANDS[band]
    bounds = f"{units.ratio_percent_trimmed(low)}–{units.ratio_percent_trimmed(high)}"
    if band_fraction is None or band_fraction == "":
        raise ValueError(f"定性指标评为“{label}”时需要填写得分比例（{bounds}）")
    fraction = _decimal(band_fraction)
    if not low <= fraction <= high:
        raise ValueError(
            f"“{label}”档的得分比例应在 {bounds} 之间，填写的是 {units.ratio_percent_trimmed(fraction)}"
        )
    return fraction


def _quantitative_score(direction: str, target: Decimal, actual: Decimal, points: Decimal) -> Decimal:
    """A quantitative indicator's score by its direction (the rules are :func:`indicator_score`'s)."""
    if target <= 0:  # cannot be divided by: all or nothing
        if direction in LOWER_IS_BETTER or (direction == "eq" and target == 0):
            met = actual <= target
        else:
            met = actual >= target
        return _cents(points if met else ZERO)

    if direction in HIGHER_IS_BETTER:
        ratio = min(max(actual / target, ZERO), ONE)
    elif actual <= target:
        ratio = ONE
    elif actual >= 2 * target:
        ratio = ZERO
    else:
        ratio = (2 * target - actual) / target
    return _cents(ratio * points)


def group_points(indicators: Sequence[tuple[str, Decimal]], weights: Mapping[str, Any]) -> list[Decimal]:
    """The points each ``(level1, weight)`` indicator is worth under ``weights``, in the order given, 2 places.

    A shortcut over :func:`evaluation_form` and :func:`form_rows` for a form of target groups only (the
    self-evaluation form), e.g. ``{"execution": 10, "产出": 50, "效益": 30, "满意度": 10}``: 成本 shares 产出's
    points unless named, an indicator in no group is worth 0. The form is not checked to add up to 100 here.
    """
    form = _build_form(weights, "self")
    items = [_Weighted(level1, weight) for level1, weight in indicators]
    points = {id(row.indicator): row.points for row in form_rows(form, items)}
    return [points[id(item)] for item in items]


@dataclasses.dataclass(eq=False)
class _Weighted:
    level1: str
    weight: Decimal


def grade_for(total: Decimal, bands: Sequence[Sequence[Any]]) -> str:
    """The grade of an evaluation ``total``: the best band whose lower bound the total reaches.

    ``bands`` come from the ``evaluation_grade_bands`` hook, best first (``[["优", 90], ["良", 80],
    ["中", 60], ["差", 0]]``); they are sorted here by lower bound anyway, so a region's YAML written worst
    first still grades correctly. A total at the bound gets the band (90.00 → 优, 89.99 → 良). A total below
    every bound (a negative total, or bands without a 0 floor) gets the lowest band: every evaluation has a
    grade.
    """
    if not bands:
        raise ValueError("没有配置评价等级")
    total = _decimal(total)
    ordered = sorted(((str(b[0]), _decimal(b[1])) for b in bands), key=lambda b: b[1], reverse=True)
    for grade, lower in ordered:
        if total >= lower:
            return grade
    return ordered[-1][0]


def expected_share(month: int) -> Decimal:
    """The share of the year's target expected by the end of ``month`` (1–12): ``month / 12``, unrounded.

    Public monitoring practice assumes even progress through the year (expected value = target × month/12).
    Not quantized: callers multiply it and round the product, so 1/12 loses nothing on the way.
    """
    if not 1 <= int(month) <= 12:
        raise ValueError(f"月份应在 1–12 之间，填写的是 {month}")
    return Decimal(int(month)) / 12


#: Units whose indicators are levels by default (rates, scores, unit costs, durations): what the value is at
#: any time, not what has built up since January. Any unit "x/y" (元/人, 次/年 …) is a rate, hence a level too.
LEVEL_UNITS = frozenset({"%", "‰", "分", "天", "日", "小时", "星", "级"})
CUMULATIVE, LEVEL = "cumulative", "level"

#: A qualitative indicator is monitored by the unit's own rating of it (no ratio to compute).
QUALITATIVE_LIGHTS = {"achieved": "green", "partial": "yellow", "not_achieved": "red"}


def default_nature(unit: str | None) -> str:
    """``level`` for rates, scores, unit costs and durations (``%``, ``分``, ``元/人``, ``天`` …), else ``cumulative``.

    Counts and amounts (人次, 个, 公里, 万元 …) build up through the year and are compared with the pro-rated
    annual target; a rate or a unit cost is compared with the target itself. This is only the default the unit
    proposes: the indicator's own ``nature`` decides, because "人" may be a count or a headcount level.
    """
    text = (unit or "").strip()
    return LEVEL if text in LEVEL_UNITS or "/" in text or text.startswith("%") else CUMULATIVE


def expected_value(target: Decimal, month: int, nature: str = CUMULATIVE) -> Decimal:
    """What an indicator should read at the end of ``month``: the target itself for a level, the pro-rated
    target (``target × month / 12``) for a cumulative value. Unrounded, like :func:`expected_share`."""
    share = expected_share(month)
    target = _decimal(target)
    return target if str(nature) == LEVEL else target * share


def annual_progress(target: Decimal | None, actual: Decimal | None) -> Decimal | None:
    """The share of the annual target reached (``actual / target × 100``), a percent with 2 places.

    Comparable with the execution rate (a share of the year's budget): rules that watch target progress and
    spending diverge use it. ``None`` without a positive target or an actual value.
    """
    if target is None or actual is None:
        return None
    target = _decimal(target)
    if target <= 0:
        return None
    return _cents(_decimal(actual) / target * 100)


def attainment_ratio(
    direction: str, target: Decimal | None, actual: Decimal | None, month: int, nature: str = CUMULATIVE
) -> Decimal | None:
    """Attainment against what the indicator should read by the end of ``month``, 4 places; 1 is on track.

    The ratio is what the ``monitoring_light`` hook turns into a traffic light, where a higher ratio is always
    the better side (blue ≥ 120 %). What the value is compared with is :func:`expected_value`: the pro-rated
    annual target for a cumulative indicator, the target itself for a level.

    - ``ge`` / ``gt``: ``actual / expected``.
    - ``le`` / ``lt`` (caps, such as cost per unit or a complaint rate): on track (``1``) while at or under the
      expected cap — being under a cap is not "ahead of plan" — and ``expected / actual`` once over it, so the
      light turns yellow, then red, the further the cap is exceeded.
    - ``eq``: by the distance from the expected value, ``1 − |actual − expected| / expected`` (never below 0):
      overshooting an exact target is as far off as falling short of it, and never lights blue.

    ``None`` when no ratio can be given: a qualitative indicator (monitored by the unit's rating, see
    :data:`QUALITATIVE_LIGHTS`), no target or no actual value reported yet, or an expected value of 0 (a target of
    0 — or below — cannot be pro-rated; the evaluation scores such an indicator all-or-nothing).
    """
    direction = str(direction)
    if direction == QUALITATIVE or target is None or actual is None:
        return None
    if direction not in HIGHER_IS_BETTER | LOWER_IS_BETTER:
        raise ValueError(f"未知的指标方向“{direction}”")
    if str(nature) not in (CUMULATIVE, LEVEL):
        raise ValueError(f"未知的指标性质“{nature}”，应为累计值或水平值")
    actual = _decimal(actual)
    expected = expected_value(target, month, nature)
    if expected <= 0:
        return None
    if direction == "eq":
        ratio = max(ONE - abs(actual - expected) / expected, ZERO)
    elif direction in HIGHER_IS_BETTER:
        ratio = actual / expected
    elif actual <= expected:
        ratio = ONE
    else:
        ratio = expected / actual
    return ratio.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)


# ---- Evaluation forms -----------------------------------------------------------------------------------------

#: The level-1 groups whose points the national principle keeps at 60% or more of a finance or key evaluation
#: (产出 + 效益 ≥ 60%: an evaluation judges what the money achieved more than how it was decided and managed).
OUTPUT_OUTCOME_GROUPS = ("产出", "效益")
OUTPUT_OUTCOME_MIN_SHARE = Decimal("0.6")
FORM_TOTAL = Decimal(100)
#: A form row scored by the budget execution rule instead of an evaluator's reading (预算执行率 under 过程).
SCORED_BY_EXECUTION = "execution"


@dataclasses.dataclass(frozen=True)
class FormIndicator:
    """An indicator of the evaluation form itself (决策 and 过程 rows), not of the project's targets."""

    code: str
    level2: str
    name: str
    points: Decimal
    direction: str = QUALITATIVE
    target_value: Decimal | None = None
    unit: str = ""
    scored_by: str | None = None


@dataclasses.dataclass(frozen=True)
class FormGroup:
    """A level-1 group of an evaluation form: its points, shared by the target indicators of the level-1 names
    in ``level1`` (in proportion to their weights) or by the form's own ``indicators``."""

    name: str
    points: Decimal
    level1: tuple[str, ...] = ()
    indicators: tuple[FormIndicator, ...] = ()


@dataclasses.dataclass(frozen=True)
class EvaluationForm:
    """What an evaluation of one kind is scored on: the budget execution row's cap and the level-1 groups."""

    kind: str
    execution: Decimal
    groups: tuple[FormGroup, ...]

    @property
    def total(self) -> Decimal:
        return self.execution + sum((g.points for g in self.groups), ZERO)

    def group_of(self, level1: str) -> FormGroup | None:
        """The group a target indicator of ``level1`` counts in (成本 in 产出 unless the form says otherwise)."""
        return next((g for g in self.groups if level1 in g.level1), None)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able copy, kept on the evaluation so that its score can be read back as it was given."""
        def indicator(i: FormIndicator) -> dict[str, Any]:
            return {"code": i.code, "level2": i.level2, "name": i.name, "points": str(i.points),
                    "direction": i.direction, "target_value": None if i.target_value is None else str(i.target_value),
                    "unit": i.unit, "scored_by": i.scored_by}
        return {"kind": self.kind, "execution": str(self.execution), "groups": [
            {"name": g.name, "points": str(g.points), "level1": list(g.level1),
             "indicators": [indicator(i) for i in g.indicators]} for g in self.groups]}


def evaluation_form(answer: Mapping[str, Any] | None, kind: str) -> EvaluationForm:
    """The evaluation form of ``kind`` from the ``evaluation_weights`` hook's answer, checked.

    Two shapes are accepted. The full one::

        {"execution": 0, "groups": [
            {"name": "决策", "points": 20, "indicators": [{"code": "D1", "level2": "项目立项",
                                                         "name": "立项依据充分性", "points": 5}, …]},
            {"name": "产出", "points": 30, "level1": ["产出", "成本"]}, …]}

    and the flat one of earlier releases, ``{"execution": 10, "产出": 50, "效益": 30, "满意度": 10}``, where each
    name is a group of the target indicators of that level 1. In both, 成本 indicators count in the 产出 group
    unless a group names 成本 (newer practice files cost under output; the total stays 100).

    Raises ``ValueError`` with a Chinese message when the form does not add up to 100, a group both takes target
    indicators and has its own, or — for every kind but the self-evaluation — 产出 and 效益 together have less than
    60% of the points (the national principle for finance and key evaluations).
    """
    form = _build_form(answer, kind)
    _check_form(form)
    return form


def _build_form(answer: Mapping[str, Any] | None, kind: str) -> EvaluationForm:
    if not answer:
        raise ValueError(f"没有为“{kind}”评价配置评价表（evaluation_weights）")
    execution = _decimal(answer.get("execution") or 0)
    groups: list[FormGroup] = []
    if "groups" in answer:
        for raw in answer["groups"]:
            indicators = tuple(
                FormIndicator(code=str(i["code"]), level2=str(i.get("level2") or ""), name=str(i["name"]),
                              points=_cents(_decimal(i["points"])), direction=str(i.get("direction") or QUALITATIVE),
                              target_value=None if i.get("target_value") in (None, "") else _decimal(i["target_value"]),
                              unit=str(i.get("unit") or ""), scored_by=i.get("scored_by"))
                for i in raw.get("indicators") or [])
            level1 = tuple(str(name) for name in raw.get("level1") or ())
            if indicators and level1:
                raise ValueError(f"评价表的一级指标“{raw['name']}”不能既取绩效目标中的指标，又设本表指标")
            groups.append(FormGroup(name=str(raw["name"]), points=_cents(_decimal(raw["points"])),
                                    level1=level1, indicators=indicators))
    else:
        groups = [FormGroup(name=str(name), points=_cents(_decimal(points)), level1=(str(name),))
                  for name, points in answer.items() if name not in NON_GROUP_WEIGHTS]
    named = {name for g in groups for name in g.level1}
    if "成本" not in named:
        groups = [dataclasses.replace(g, level1=g.level1 + ("成本",)) if "产出" in g.level1 else g for g in groups]
    return EvaluationForm(kind=str(kind), execution=_cents(execution), groups=tuple(groups))


def _check_form(form: EvaluationForm) -> None:
    if form.total != FORM_TOTAL:
        raise ValueError(f"评价表各部分分值合计应为 100 分，配置的是 {form.total} 分")
    for group in form.groups:
        if group.indicators and sum((i.points for i in group.indicators), ZERO) != group.points:
            raise ValueError(f"评价表“{group.name}”下各指标分值之和应等于该项的 {group.points} 分")
    if form.kind == "self":
        return
    share = sum((g.points for g in form.groups if g.name in OUTPUT_OUTCOME_GROUPS), ZERO) / form.total
    if share < OUTPUT_OUTCOME_MIN_SHARE:
        raise ValueError("财政评价和重点评价中“产出”“效益”指标权重合计应不低于 60%，"
                         f"配置的是 {units.ratio_percent_trimmed(share)}")


@dataclasses.dataclass(frozen=True)
class FormRow:
    """One row of an evaluation's indicator table: its group, what it scores and the points it is worth.

    ``indicator`` is the target indicator it scores (any object with ``level1``, ``weight``, ``id`` …), else
    ``form_indicator`` the form's own indicator.
    """

    group: str
    points: Decimal
    indicator: Any = None
    form_indicator: FormIndicator | None = None

    @property
    def key(self) -> str:
        """How a submission names the row: the target indicator's id, or the form indicator's code."""
        if self.indicator is not None:
            return str(self.indicator.id)
        assert self.form_indicator is not None, "a form row scores a target indicator or a form indicator"
        return f"form:{self.form_indicator.code}"


def form_rows(form: EvaluationForm, indicators: Sequence[Any]) -> list[FormRow]:
    """The evaluation's indicator table: the form's groups in order, each with its rows and their points.

    A target group's points are shared among its target indicators in proportion to their own weights (the
    target table says how much each matters within its group; the form says what the group is worth), all
    equally if their weights are all 0, the cents' residue on the last one so the group adds up exactly. A group
    with no indicators contributes nothing (its points are not moved: a missing group is a targets problem,
    reported by ``validate_targets``). A target indicator whose level 1 is in no group is listed worth 0.
    """
    rows: list[FormRow] = []
    placed: set[int] = set()
    for group in form.groups:
        if group.indicators:
            rows.extend(FormRow(group=group.name, points=i.points, form_indicator=i) for i in group.indicators)
            continue
        members = [i for i in indicators if i.level1 in group.level1]
        placed.update(id(i) for i in members)
        for indicator, points in zip(members, _shares(group.points, [_decimal(i.weight) for i in members]),
                                     strict=True):
            rows.append(FormRow(group=group.name, points=points, indicator=indicator))
    rows.extend(FormRow(group=i.level1, points=_cents(ZERO), indicator=i) for i in indicators if id(i) not in placed)
    return rows


def _shares(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    if not weights:
        return []
    weight_sum = sum(weights, ZERO)
    shares = weights if weight_sum != 0 else [ONE] * len(weights)
    share_sum = weight_sum if weight_sum != 0 else Decimal(len(weights))
    result = [_cents(total * share / share_sum) for share in shares[:-1]]
    return result + [_cents(total) - sum(result, ZERO)]
