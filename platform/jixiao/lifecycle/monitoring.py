"""Dual monitoring (双监控): budget execution and target attainment together, period by period.

The expected value by month m is the annual target × m / 12; the lights come from the tenant's hooks. A
report off track (red or yellow) must say why and what the unit will do about it.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import audit, inputs
from jixiao.accounts.models import User
from jixiao.db import utcnow
from jixiao.errors import Conflict, ValidationFailed
from jixiao.lifecycle import common, facts, scoring
from jixiao.lifecycle.models import (
    Direction,
    Indicator,
    Light,
    MonitoringReport,
    MonitoringValue,
    Project,
    QualitativeBand,
    WarningResponse,
)
from jixiao.lifecycle.rectification import today
from jixiao.lifecycle.targets import targets_for
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import MonitoredIndicatorView, MonitoringView, ProjectView, add_working_days

SEVERITY = {Light.RED: 3, Light.YELLOW: 2, Light.BLUE: 1, Light.GREEN: 0}
OFF_TRACK = {Light.RED, Light.YELLOW}
MONITORED_STAGES = facts.BUDGETED_STAGES  # monitored once the budget is approved


def periods_owed(session: Session, tenant: Tenant, project: Project) -> list[int]:
    months = common.hooks(session, tenant).monitoring_periods(project=ProjectView.build(project), year=project.year)
    return sorted(int(m) for m in months or [])


def reports_for(session: Session, project: Project) -> list[MonitoringReport]:
    stmt = sa.select(MonitoringReport).where(MonitoringReport.project_id == project.id).order_by(MonitoringReport.period)
    return list(session.scalars(stmt))


def worst(lights: list[Light]) -> Light:
    return max(lights, key=lambda light: SEVERITY[light]) if lights else Light.GREEN


def submit_report(session: Session, actor: User, tenant: Tenant, project: Project, data: dict[str, Any]) -> MonitoringReport:
    """File (or correct) the report for one period; lights and rates are computed, never typed in."""
    common.require_unit_or_finance(session, actor, project, "填报监控情况")
    if project.stage not in MONITORED_STAGES:
        raise Conflict("预算尚未批复，还不能填报绩效监控")
    period = _owed_period(session, tenant, project, int(data["period"]))
    target_set = targets_for(session, project)
    indicators = {i.id: i for i in (target_set.indicators if target_set else [])}
    hooks = common.hooks(session, tenant)
    executed = Decimal(str(data["executed_amount"]))
    errors: dict[str, str] = {}
    inputs.collect(errors, inputs.check_money, data["executed_amount"], "executed_amount", "执行数")
    if executed < 0:
        errors["executed_amount"] = "执行数不能为负数"
    rate = scoring.execution_rate(executed, project.budget_amount)
    execution_ratio = scoring.attainment_ratio("ge", project.budget_amount, executed, period) or Decimal(1)
    lights = [Light(hooks.monitoring_light(ratio=execution_ratio, subject="execution"))]
    given = _given_values(data.get("values") or [], indicators, errors)
    values, monitored = _read_values(hooks, tenant, indicators, given, period, lights, errors)
    overall = worst(lights)
    names = {i.id: i.name for i in indicators.values()}
    view = MonitoringView(period=period, executed_amount=executed, budget_amount=project.budget_amount,
                          execution_rate=rate, light=str(overall),
                          attainments=tuple((names[v.indicator_id], v.attainment) for v in values),
                          indicators=tuple(monitored))
    warnings = [w for answer in reversed(hooks.monitoring_warnings(project=ProjectView.build(project), report=view))
                for w in (answer or [])]
    response_days = [int(w["response_days"]) for w in warnings if w.get("response_days")]
    cause, measure = (data.get("cause") or "").strip(), (data.get("measure") or "").strip()
    _check_explanation(cause, measure, overall, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    report, before = _report_to_write(session, tenant, project, period, data.get("version"),
                                      executed=executed, rate=rate, light=overall)
    if overall is Light.RED and (before is None or before.get("light") != Light.RED):
        # A red light kept through a correction is the one already notified; one that went away and came back is
        # a new one (the red-light notices are keyed on this number, not on the report's version).
        report.red_episode = (report.red_episode or 0) + 1
    report.executed_amount, report.execution_rate, report.light = executed, rate, overall
    report.cause, report.measure, report.submitted_by_id = cause, measure, actor.id
    report.warnings = warnings
    report.response, report.response_note, report.responded_at = None, "", None
    report.response_due = add_working_days(today(), min(response_days)) if response_days else None
    report.values.extend(values)
    session.flush()
    common.record(session, actor, "monitoring.submit", report, before, _snapshot(report))
    common.commit(session)
    common.emit(session, tenant, "monitoring.submitted", project, actor, period=period, light=str(overall),
                report_id=report.id, version=report.version, red_episode=report.red_episode)
    return report


def _owed_period(session: Session, tenant: Tenant, project: Project, period: int) -> int:
    """``period``, if it is one of the months the tenant's rules say the project reports in."""
    owed = periods_owed(session, tenant, project)
    if period not in owed:
        raise ValidationFailed(fields={"period": f"本项目应在以下月份报送监控：{'、'.join(str(m) for m in owed)}"})
    return period


def _given_values(submitted: list[dict[str, Any]], indicators: dict[int, Indicator],
                  errors: dict[str, str]) -> dict[int, dict[str, Any]]:
    """The submitted readings by indicator id; one for an indicator not the project's is named in ``errors``."""
    given = {int(v["indicator_id"]): v for v in submitted}
    for indicator_id in given:
        if indicator_id not in indicators:
            errors[f"values.{indicator_id}"] = "不是本项目的绩效指标"
    return given


def _read_values(hooks: Any, tenant: Tenant, indicators: dict[int, Indicator], given: dict[int, dict[str, Any]],
                 period: int, lights: list[Light], errors: dict[str, str],
                 ) -> tuple[list[MonitoringValue], list[MonitoredIndicatorView]]:
    """Every indicator's reading, lit (its light is added to ``lights``), as the row to store and as the hooks see
    it; a reading that cannot be read is named in ``errors``."""
    values: list[MonitoringValue] = []
    monitored: list[MonitoredIndicatorView] = []
    for indicator in indicators.values():
        row = given.get(indicator.id, {})
        where = f"values.{indicator.id}"
        inputs.collect(errors, inputs.check_text, row.get("note"), f"{where}.note", f"指标“{indicator.name}”的说明",
                       max_length=200, multiline=False)
        try:
            value = read_indicator(indicator, row, period)
        except ValueError as exc:
            errors[where] = f"指标“{indicator.name}”：{exc}"
            continue
        light = _light_of(hooks, value)
        if light is not None:
            lights.append(light)
        attainment = (value.ratio * 100).quantize(Decimal("0.01")) if value.ratio is not None else None
        values.append(MonitoringValue(
            tenant_id=tenant.id, indicator_id=indicator.id, actual_value=value.actual, attainment=attainment,
            light=light, band=QualitativeBand(value.band) if value.band else None, note=row.get("note") or "",
        ))
        monitored.append(MonitoredIndicatorView(
            name=indicator.name, direction=str(indicator.direction), nature=str(indicator.nature), unit=indicator.unit,
            target_value=indicator.target_value, actual_value=value.actual, expected_value=value.expected,
            attainment=attainment, annual_progress=scoring.annual_progress(indicator.target_value, value.actual),
            light=str(light) if light else None))
    return values, monitored


def _light_of(hooks: Any, value: IndicatorReading) -> Light | None:
    """A rated indicator's light by its band, a measured one's by the tenant's rules; None when left empty."""
    if value.band is not None:
        return Light(scoring.QUALITATIVE_LIGHTS[value.band])
    if value.ratio is not None:
        return Light(hooks.monitoring_light(ratio=value.ratio, subject="indicator"))
    return None


def _check_explanation(cause: str, measure: str, overall: Light, errors: dict[str, str]) -> None:
    """The cause and the measure within their bounds; both required when the report is off track."""
    inputs.collect(errors, inputs.check_text, cause, "cause", "偏差原因", max_length=inputs.LONG_TEXT_MAX_LENGTH)
    inputs.collect(errors, inputs.check_text, measure, "measure", "纠偏措施", max_length=inputs.LONG_TEXT_MAX_LENGTH)
    if overall in OFF_TRACK:
        if not cause:
            errors["cause"] = f"监控结果为{overall.label}，请说明偏差原因"
        if not measure:
            errors["measure"] = f"监控结果为{overall.label}，请填写纠偏措施"


def _report_to_write(session: Session, tenant: Tenant, project: Project, period: int, version: Any, *,
                     executed: Decimal, rate: Decimal, light: Light) -> tuple[MonitoringReport, dict[str, Any] | None]:
    """The period's report, locked, at the version the unit read and emptied of its values, or a new one; and
    its audit snapshot before the change (None for a new one)."""
    # Concurrent filings for the project queue on its row: the first creates the month's report, the others
    # then find it (409 without its version, or a stale version); the unique key is the last word.
    common.lock(session, project)
    report = session.scalar(sa.select(MonitoringReport).where(
        MonitoringReport.project_id == project.id, MonitoringReport.period == period))
    if report is None:
        report = MonitoringReport(tenant_id=tenant.id, project_id=project.id, period=period, executed_amount=executed,
                                  execution_rate=rate, light=light)
        session.add(report)
        return report, None
    report = common.lock(session, report)
    common.check_existing(report, version, f"{period} 月的监控报告")
    before = _snapshot(report)
    report.values.clear()
    session.flush()
    return report, before


def respond(session: Session, actor: User, tenant: Tenant, project: Project, period: int, choice: str,
            note: str = "") -> MonitoringReport:
    """The unit answers a warning that asks for a decision: 继续执行, 调剂 or 取消."""
    common.require_unit_or_finance(session, actor, project, "回应监控预警")
    report = session.scalar(sa.select(MonitoringReport).where(
        MonitoringReport.project_id == project.id, MonitoringReport.period == period))
    if report is None:
        raise ValidationFailed(fields={"period": f"没有 {period} 月的监控报告"})
    report = common.lock(session, report)  # a second answer, concurrent or later, finds the first
    if report.response_due is None:
        raise Conflict("这份监控报告没有需要回应的预警")
    if report.response is not None:
        raise Conflict(f"已于 {report.responded_at:%Y-%m-%d} 回应：{report.response.label}")
    try:
        response = WarningResponse(choice)
    except ValueError as exc:
        raise ValidationFailed(fields={"choice": "请选择 继续执行（continue）、调剂（adjust_funds）或 取消（cancel）"}) from exc
    if response is not WarningResponse.CONTINUE and not note.strip():
        raise ValidationFailed(fields={"note": f"选择“{response.label}”时请说明安排"})
    report.response, report.response_note, report.responded_at = response, note.strip(), utcnow()
    common.record(session, actor, "monitoring.respond", report, None, {"response": response, "note": report.response_note})
    common.commit(session)
    common.emit(session, tenant, "monitoring.responded", project, actor, period=period, response=str(response),
                report_id=report.id, version=report.version)
    return report


@dataclasses.dataclass(frozen=True)
class IndicatorReading:
    """What one indicator of a monitoring report reads, and how it compares with what was expected."""

    actual: Decimal | None
    band: str | None
    expected: Decimal | None
    ratio: Decimal | None


def read_indicator(indicator: Indicator, row: dict[str, Any], period: int) -> IndicatorReading:
    """The unit's reading of one indicator at the end of ``period``.

    Quantitative indicators are compared with their expected value (the pro-rated target for cumulative ones,
    the target for levels); a qualitative one is rated by the unit (达成 / 部分达成 / 未达成), which lights it.
    A value left empty is not lit: the report may be filed before every indicator can be measured.
    """
    if indicator.direction is Direction.QUALITATIVE:
        band = row.get("band") or None
        if band is not None and band not in scoring.QUALITATIVE_LIGHTS:
            raise ValueError("定性指标请选择 达成（achieved）、部分达成（partial）或 未达成（not_achieved）")
        return IndicatorReading(actual=None, band=band, expected=None, ratio=None)
    raw = row.get("actual_value")
    actual = None if raw in (None, "") else Decimal(str(raw))
    if actual is None or indicator.target_value is None:
        return IndicatorReading(actual=actual, band=None, expected=None, ratio=None)
    expected = scoring.expected_value(indicator.target_value, period, str(indicator.nature))
    ratio = scoring.attainment_ratio(str(indicator.direction), indicator.target_value, actual, period,
                                     str(indicator.nature))
    return IndicatorReading(actual=actual, band=None, expected=expected.quantize(Decimal("0.0001")), ratio=ratio)


def _snapshot(report: MonitoringReport) -> dict[str, Any]:
    return {
        "period": report.period, "executed_amount": report.executed_amount, "execution_rate": report.execution_rate,
        "light": report.light, "cause": report.cause, "measure": report.measure, "warnings": report.warnings,
        "values": [audit.snapshot(v, ["indicator_id", "actual_value", "band", "attainment", "light"])
                   for v in report.values],
    }


def indicator_names(session: Session, ids: list[int]) -> dict[int, str]:
    return dict(session.execute(sa.select(Indicator.id, Indicator.name).where(Indicator.id.in_(ids))).all())
