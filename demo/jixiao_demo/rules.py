"""The tenant's rules as the generator asks them, and the row builders that turn readings into scored rows.

The builders compute every derived value with the core's own rule functions — ``scoring`` for rates, ratios,
forms, scores and grades, ``monitoring.worst`` for a report's light — and the tenant's hooks, called through the
plugin host exactly as the services call them. ``monitoring_report`` mirrors ``monitoring.submit_report`` and
``evaluation_scores`` mirrors ``evaluations.submit``; demo/tests/test_agreement.py proves that the same inputs
give the same values both ways. They build plain dicts, not ORM objects: a province has millions of rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from jixiao.catalog import service as catalog
from jixiao.lifecycle import common, monitoring, scoring
from jixiao.lifecycle.models import Direction, Light
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import MonitoredIndicatorView, MonitoringView, ProjectView, TenantView

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
ONE = Decimal(1)
ZERO = Decimal(0)
# What the platform suggests for a grade no rule knows (results.UNDECIDED): not a decision.
UNDECIDED = "review"


@dataclasses.dataclass(slots=True, eq=False)
class IndicatorSpec:
    """A level-3 indicator as the builders read it: the attributes of ``lifecycle.models.Indicator`` they use.

    ``id`` is whatever names the indicator in readings and rows: the generator's local index before the rows are
    written, a real id in tests.
    """

    id: int
    position: int
    level1: str
    level2: str
    name: str
    direction: Direction
    target_value: Decimal | None
    target_text: str
    unit: str
    nature: str
    weight: Decimal
    catalog_code: str | None = None


class TenantRules:
    """One tenant's answers to the hooks the generator needs, asked through the plugin host once and kept.

    Hooks are pure questions about a tenant (the hookspecs say so), so an answer given once holds for the whole
    generation: lights are remembered per (ratio, subject), forms and bands per kind, suggestions per grade.
    """

    def __init__(self, session: Session, tenant: Tenant, year: int) -> None:
        self.tenant = tenant
        self.year = year
        self.view: TenantView = common.tenant_view(session, tenant)
        self.hooks = common.hooks(session, tenant)
        self.settings = self.view.settings
        self._lights: dict[tuple[Decimal, str], str] = {}
        # The hook's caller for this tenant's plugins, taken once from the host (it is called for every reading).
        self._light_hook = common.host().hook("monitoring_light", self.view.plugins)
        self._forms: dict[str, scoring.EvaluationForm | None] = {}
        self._form_errors: dict[str, str] = {}
        self._bands: dict[str, list[list[Any]]] = {}
        self._suggestions: dict[tuple[str, int], dict[str, str]] = {}
        self._actions: dict[int, list[dict[str, str]]] = {}
        self.exante_dimensions: list[dict[str, Any]] = list(self.hooks.exante_dimensions() or [])
        self.default_days = int(self.settings["rectification.default_days"])
        # Only a tenant whose plugins implement monitoring_warnings pays for the views that hook reads.
        self.has_warnings = bool(common.host().hook("monitoring_warnings", self.view.plugins).implementations)
        # Where a catalog is in force, a project's category is one of its categories and its targets the category's
        # common indicators (the catalog rules refuse others), as the demo of the seed bureaus does.
        self.categories = [c["name"] for c in catalog.category_choices(session, tenant, year)]
        self.catalog_items = {name: catalog.search(session, tenant, year, category=name) for name in self.categories}

    # ---- monitoring -------------------------------------------------------------------------------------------

    def light(self, ratio: Decimal, subject: str) -> str:
        key = (ratio, subject)
        found = self._lights.get(key)
        if found is None:
            found = self._lights[key] = str(self._light_hook(tenant=self.view, ratio=ratio, subject=subject))
        return found

    def periods(self, project: ProjectView) -> list[int]:
        months = self.hooks.monitoring_periods(project=project, year=project.year)
        return sorted(int(m) for m in months or [])

    def warnings(self, project: ProjectView, report: MonitoringView) -> list[dict[str, Any]]:
        answers = self.hooks.monitoring_warnings(project=project, report=report)
        return [w for answer in reversed(answers) for w in (answer or [])]

    # ---- ex-ante and evaluation -------------------------------------------------------------------------------

    def exante_required(self, project: ProjectView) -> bool:
        return bool(self.hooks.exante_required(project=project))

    def form(self, kind: str) -> scoring.EvaluationForm | None:
        """The evaluation form of ``kind``, or ``None`` when the region's form is refused (as ``form_of`` would)."""
        if kind not in self._forms:
            try:
                self._forms[kind] = scoring.evaluation_form(self.hooks.evaluation_weights(kind=kind), kind)
            except ValueError as exc:
                self._forms[kind] = None
                self._form_errors[kind] = str(exc)
        return self._forms[kind]

    def form_error(self, kind: str) -> str:
        """Why the form of ``kind`` was refused (empty when it was not)."""
        return self._form_errors.get(kind, "")

    def bands(self, kind: str) -> list[list[Any]]:
        if kind not in self._bands:
            self._bands[kind] = list(self.hooks.evaluation_grade_bands(kind=kind) or [])
        return self._bands[kind]

    # ---- results ------------------------------------------------------------------------------------------------

    def suggestion(self, grade: str, year: int) -> dict[str, str]:
        key = (grade, year)
        if key not in self._suggestions:
            answer = self.hooks.suggest_results_action(grade=grade, year=year)
            self._suggestions[key] = dict(answer) if answer else {"action": UNDECIDED, "label": "由财政研究决定"}
        return self._suggestions[key]

    def allowed_actions(self, grade: str, year: int) -> list[str]:
        """The decision codes finance may record for ``grade`` (``results.allowed_actions``, as codes)."""
        if year not in self._actions:
            seen: dict[str, str] = {}
            for item in self.hooks.results_actions(year=year) or []:
                code = str(item.get("action") or "").strip()
                if code:
                    seen.setdefault(code, str(item.get("label") or code))
            self._actions[year] = [{"action": code, "label": label} for code, label in seen.items()]
        codes = [a["action"] for a in self._actions[year]]
        suggested = self.suggestion(grade, year)["action"]
        if suggested != UNDECIDED and suggested not in codes:
            codes.append(suggested)
        return codes


# ---- Monitoring ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class MonitoredValue:
    indicator_id: int
    actual_value: Decimal | None
    attainment: Decimal | None
    light: str | None
    band: str | None
    note: str


@dataclasses.dataclass(slots=True)
class MonitoredReport:
    """What ``monitoring.submit_report`` computes for one period: rate, light, each value's light, warnings."""

    period: int
    executed_amount: Decimal
    execution_rate: Decimal
    light: str
    values: list[MonitoredValue]
    warnings: list[dict[str, Any]]
    response_days: int | None


def monitoring_report(rules: TenantRules, indicators: Sequence[Any], period: int, executed: Decimal, budget: Decimal,
                      readings: Mapping[int, Mapping[str, Any]], project: ProjectView | None = None) -> MonitoredReport:
    """One period's report from the unit's readings (``{indicator_id: {"actual_value" | "band", "note"}}``).

    The same computation as ``monitoring.submit_report``: the execution rate and its light (executed against the
    pro-rated budget), each indicator read by ``monitoring.read_indicator``'s rule — ``scoring.attainment_ratio``
    against its expected value, lit by the tenant's ``monitoring_light``; a qualitative one by the unit's band —
    and the report's light the worst of them. ``project`` is needed only for a tenant with monitoring warnings.
    """
    rate = scoring.execution_rate(executed, budget)
    execution_ratio = scoring.attainment_ratio("ge", budget, executed, period) or ONE
    lights = [rules.light(execution_ratio, "execution")]
    values: list[MonitoredValue] = []
    for indicator in indicators:
        row = readings.get(indicator.id) or {}
        if indicator.direction is Direction.QUALITATIVE:
            band = row.get("band") or None
            if band is not None and band not in scoring.QUALITATIVE_LIGHTS:
                raise ValueError(f"指标“{indicator.name}”：定性指标请选择 达成、部分达成 或 未达成")
            light = scoring.QUALITATIVE_LIGHTS[band] if band is not None else None
            actual = ratio = None
        else:
            band = None
            raw = row.get("actual_value")
            actual = None if raw is None or raw == "" else (raw if isinstance(raw, Decimal) else Decimal(str(raw)))
            ratio = None
            if actual is not None and indicator.target_value is not None:
                ratio = scoring.attainment_ratio(indicator.direction.value, indicator.target_value, actual, period,
                                                 indicator.nature)
            light = rules.light(ratio, "indicator") if ratio is not None else None
        if light is not None:
            lights.append(light)
        values.append(MonitoredValue(
            indicator_id=indicator.id, actual_value=actual,
            attainment=(ratio * HUNDRED).quantize(CENT) if ratio is not None else None,
            light=light, band=band, note=(row.get("note") or "")[:200]))
    overall = str(monitoring.worst([Light(light) for light in lights]))  # the rules answer lights as str
    warnings: list[dict[str, Any]] = []
    response_days = None
    if rules.has_warnings and project is not None:
        warnings = rules.warnings(project, _view(indicators, values, period, executed, budget, rate, overall))
        days = [int(w["response_days"]) for w in warnings if w.get("response_days")]
        response_days = min(days) if days else None
    return MonitoredReport(period=period, executed_amount=executed, execution_rate=rate, light=overall, values=values,
                           warnings=warnings, response_days=response_days)


def _view(indicators: Sequence[Any], values: list[MonitoredValue], period: int, executed: Decimal, budget: Decimal,
          rate: Decimal, light: str) -> MonitoringView:
    """The report as ``monitoring_warnings`` sees it (built as ``submit_report`` builds it)."""
    monitored = []
    for indicator, value in zip(indicators, values, strict=True):
        expected = None
        if value.actual_value is not None and indicator.target_value is not None:
            expected = scoring.expected_value(indicator.target_value, period, indicator.nature).quantize(RATIO)
        monitored.append(MonitoredIndicatorView(
            name=indicator.name, direction=indicator.direction.value, nature=str(indicator.nature), unit=indicator.unit,
            target_value=indicator.target_value, actual_value=value.actual_value, expected_value=expected,
            attainment=value.attainment, annual_progress=scoring.annual_progress(indicator.target_value, value.actual_value),
            light=value.light))
    return MonitoringView(period=period, executed_amount=executed, budget_amount=budget, execution_rate=rate,
                          light=light, attainments=tuple((i.name, v.attainment) for i, v in zip(indicators, values, strict=True)),
                          indicators=tuple(monitored))


# ---- Evaluation ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class ScoredEvaluation:
    """What ``evaluations.submit`` computes: every row's score, the execution score, the total and the grade."""

    form: scoring.EvaluationForm
    rows: list[dict[str, Any]]
    execution_score: Decimal
    total_score: Decimal
    grade: str


def evaluation_scores(rules: TenantRules, kind: str, indicators: Sequence[Any], budget: Decimal, executed: Decimal,
                      readings: Mapping[str, Mapping[str, Any]]) -> ScoredEvaluation:
    """Score an evaluation of ``kind`` from the evaluator's readings, keyed as the form's rows are
    (``str(indicator.id)`` or ``form:CODE``: ``actual_value``, or ``band`` and ``band_fraction``).

    The form is the tenant's ``evaluation_weights`` answer through ``scoring.evaluation_form``; its rows come from
    ``scoring.form_rows``; each is scored with ``scoring.indicator_score``, or ``scoring.execution_score`` for a
    row scored by the budget execution; the total adds the form's execution score and is graded by
    ``scoring.grade_for`` with the tenant's bands. ``ValueError`` when a row cannot be scored, as the service says.
    """
    form = rules.form(kind)
    if form is None:
        raise ValueError(rules.form_error(kind) or f"没有为“{kind}”评价配置评价表")
    rows: list[dict[str, Any]] = []
    total = ZERO
    rule_scored: Decimal | None = None
    for position, row in enumerate(scoring.form_rows(form, indicators)):
        given = readings.get(row.key) or {}
        note = (given.get("note") or "").strip()
        item = row.form_indicator
        if item is not None and item.scored_by == scoring.SCORED_BY_EXECUTION:
            score = scoring.execution_score(executed, budget, row.points)
            rule_scored = score if rule_scored is None else rule_scored
            rows.append({"indicator_id": None, "form_code": item.code, "position": position, "group_name": row.group,
                         "level2": item.level2, "name": item.name,
                         "actual_value": scoring.execution_rate(executed, budget), "band": None, "band_fraction": None,
                         "points": row.points, "score": score, "note": note})
            total += score
            continue
        if item is not None:
            direction, target, name, level2, code, indicator_id = item.direction, item.target_value, item.name, \
                item.level2, item.code, None
        else:
            indicator = row.indicator
            direction, target, name, level2, code, indicator_id = indicator.direction.value, indicator.target_value, \
                indicator.name, indicator.level2, None, indicator.id
        raw = given.get("actual_value")
        actual = None if raw is None or raw == "" else (raw if isinstance(raw, Decimal) else Decimal(str(raw)))
        band = given.get("band") or None
        raw_fraction = given.get("band_fraction")
        fraction = None if raw_fraction is None or raw_fraction == "" else (
            raw_fraction if isinstance(raw_fraction, Decimal) else Decimal(str(raw_fraction)))
        score = scoring.indicator_score(direction, target, actual, row.points, band=band, band_fraction=fraction)
        rows.append({"indicator_id": indicator_id, "form_code": code, "position": position, "group_name": row.group,
                     "level2": level2, "name": name, "actual_value": actual, "band": band, "band_fraction": fraction,
                     "points": row.points, "score": score, "note": note})
        total += score
    execution_score = scoring.execution_score(executed, budget, form.execution)
    total += execution_score
    grade = scoring.grade_for(total, rules.bands(kind))
    # 预算执行率得分: the execution row's score, wherever the form puts it (as the service stores it).
    stored = rule_scored if rule_scored is not None and not form.execution else execution_score
    return ScoredEvaluation(form=form, rows=rows, execution_score=stored, total_score=total, grade=grade)
