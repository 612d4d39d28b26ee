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

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "QUALITATIVE_BANDS", "attainment_ratio", "execution_rate", "execution_score", "expected_share",
    "grade_for", "group_points", "indicator_score",
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


def _percent_label(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}%"


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
        if band is None or band == "":  # a form's empty choice is no choice
            raise ValueError("定性指标需要选择评价档次（达成、部分达成、未达成）")
        band = str(band)
        if band not in QUALITATIVE_BANDS:
            raise ValueError(f"未知的定性评价档次“{band}”，应为达成、部分达成或未达成")
        label, low, high = QUALITATIVE_BANDS[band]
        if band_fraction is None or band_fraction == "":
            raise ValueError(
                f"定性指标评为“{label}”时需要填写得分比例（{_percent_label(low)}–{_percent_label(high)}）"
            )
        fraction = _decimal(band_fraction)
        if not low <= fraction <= high:
            raise ValueError(
                f"“{label}”档的得分比例应在 {_percent_label(low)}–{_percent_label(high)} 之间，"
                f"填写的是 {_percent_label(fraction)}"
            )
        return _cents(points * fraction)

    if direction not in HIGHER_IS_BETTER | LOWER_IS_BETTER:
        raise ValueError(f"未知的指标方向“{direction}”")
    if target is None:
        raise ValueError("定量指标缺少指标值（目标值），无法评分")
    if actual is None:
        raise ValueError("定量指标缺少实际完成值，无法评分")
    target, actual = _decimal(target), _decimal(actual)

    if target <= 0:
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
    """The points each indicator is worth in an evaluation, in the order given, 2 places.

    ``indicators`` are each indicator's ``(level1, weight)``; ``weights`` the evaluation weights from the
    ``evaluation_weights`` hook, e.g. ``{"execution": 10, "产出": 50, "效益": 30, "满意度": 10}``.

    - The indicators of a level-1 group named in ``weights`` share the group's points in proportion to their
      own weights (the target table's weights say how much each matters *within* its group; the evaluation
      form says how much each group is worth). If all of a group's weights are 0 they share it equally.
    - Rounding each share to cents may lose or add a cent; the residue goes on the group's last indicator,
      so a group's indicators always add up to exactly the group's points.
    - An indicator whose group is not named in ``weights`` (e.g. 成本 under the national 10/50/30/10 form)
      is worth its own weight: the weights don't say how to scale it, and dropping it would hide it from
      the evaluation. The total may then exceed 100; regions that score 成本 should name it in their weights.
    - A group named in ``weights`` with no indicators contributes nothing (its points are not moved to
      other groups: the missing group is a targets problem, reported by ``validate_targets``).
    - ``execution`` is the budget execution score's cap (see :func:`execution_score`), never a group.
    """
    result: list[Decimal] = [ZERO] * len(indicators)
    members: dict[str, list[int]] = {}
    for position, (level1, weight) in enumerate(indicators):
        if level1 in weights and level1 not in NON_GROUP_WEIGHTS:
            members.setdefault(level1, []).append(position)
        else:
            result[position] = _cents(_decimal(weight))
    for level1, positions in members.items():
        group_total = _cents(_decimal(weights[level1]))
        own = [_decimal(indicators[p][1]) for p in positions]
        weight_sum = sum(own, ZERO)
        shares = own if weight_sum != 0 else [ONE] * len(positions)
        share_sum = weight_sum if weight_sum != 0 else Decimal(len(positions))
        given = ZERO
        for p, share in zip(positions[:-1], shares[:-1], strict=True):
            result[p] = _cents(group_total * share / share_sum)
            given += result[p]
        result[positions[-1]] = group_total - given
    return result


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


def attainment_ratio(
    direction: str, target: Decimal | None, actual: Decimal | None, month: int
) -> Decimal | None:
    """Attainment against the value expected by the end of ``month``, 4 places; 1 means exactly on track.

    The ratio is what the ``monitoring_light`` hook turns into a traffic light, where a higher ratio is always
    the better side (blue ≥ 120 %):

    - ``ge`` / ``gt`` / ``eq``: ``actual / expected`` with ``expected = target × month / 12``.
    - ``le`` / ``lt`` (caps, such as cost per unit): inverted, ``expected / actual``, so spending within the
      pro-rated cap reads ≥ 1 and overshooting it reads < 1 (red when far over). An actual of 0 or below
      has used none of the cap: on track, ratio 1 (not "infinitely ahead", which would light blue).

    ``None`` when no light can be given: a qualitative indicator, no target or no actual value reported yet,
    or an expected value of 0 (a target of 0 — or below — cannot be pro-rated; the evaluation scores such an
    indicator all-or-nothing).
    """
    direction = str(direction)
    if direction == QUALITATIVE or target is None or actual is None:
        return None
    if direction not in HIGHER_IS_BETTER | LOWER_IS_BETTER:
        raise ValueError(f"未知的指标方向“{direction}”")
    target, actual = _decimal(target), _decimal(actual)
    expected_share(month)  # validates the month
    expected = target * int(month) / 12
    if expected <= 0:
        return None
    if direction in HIGHER_IS_BETTER:
        ratio = actual / expected
    elif actual <= 0:
        ratio = ONE
    else:
        ratio = expected / actual
    return ratio.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)
