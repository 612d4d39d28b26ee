"""Dual monitoring (双监控): budget execution and target attainment together, period by period.

The expected value by month m is the annual target × m / 12; the lights come from the tenant's hooks. A
report off track (red or yellow) must say why and what the unit will do about it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import audit
from jixiao.accounts.models import User
from jixiao.errors import Conflict, ValidationFailed
from jixiao.lifecycle import common, scoring
from jixiao.lifecycle.models import Indicator, Light, MonitoringReport, MonitoringValue, Project, Stage
from jixiao.lifecycle.targets import targets_for
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import ProjectView

SEVERITY = {Light.RED: 3, Light.YELLOW: 2, Light.BLUE: 1, Light.GREEN: 0}
OFF_TRACK = {Light.RED, Light.YELLOW}
MONITORED_STAGES = {Stage.BUDGETED, Stage.EVALUATED, Stage.RECTIFYING, Stage.CLOSED}


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
    period = int(data["period"])
    owed = periods_owed(session, tenant, project)
    if period not in owed:
        raise ValidationFailed(fields={"period": f"本项目应在以下月份报送监控：{'、'.join(str(m) for m in owed)}"})
    target_set = targets_for(session, project)
    indicators = {i.id: i for i in (target_set.indicators if target_set else [])}
    hooks = common.hooks(session, tenant)
    executed = Decimal(str(data["executed_amount"]))
    errors: dict[str, str] = {}
    if executed < 0:
        errors["executed_amount"] = "执行数不能为负数"
    rate = scoring.execution_rate(executed, project.budget_amount)
    execution_ratio = scoring.attainment_ratio("ge", project.budget_amount, executed, period) or Decimal(1)
    lights = [Light(hooks.monitoring_light(ratio=execution_ratio, subject="execution"))]
    values: list[MonitoringValue] = []
    given = {int(v["indicator_id"]): v for v in data.get("values") or []}
    for indicator_id in given:
        if indicator_id not in indicators:
            errors[f"values.{indicator_id}"] = "不是本项目的绩效指标"
    for indicator in indicators.values():
        row = given.get(indicator.id, {})
        actual = row.get("actual_value")
        actual_value = None if actual in (None, "") else Decimal(str(actual))
        ratio = (scoring.attainment_ratio(str(indicator.direction), indicator.target_value, actual_value, period)
                 if actual_value is not None else None)
        light = Light(hooks.monitoring_light(ratio=ratio, subject="indicator")) if ratio is not None else None
        if light is not None:
            lights.append(light)
        values.append(MonitoringValue(
            tenant_id=tenant.id, indicator_id=indicator.id, actual_value=actual_value,
            attainment=(ratio * 100).quantize(Decimal("0.01")) if ratio is not None else None, light=light,
            note=(row.get("note") or "")[:200],
        ))
    overall = worst(lights)
    cause, measure = (data.get("cause") or "").strip(), (data.get("measure") or "").strip()
    if overall in OFF_TRACK:
        if not cause:
            errors["cause"] = f"监控结果为{overall.label}，请说明偏差原因"
        if not measure:
            errors["measure"] = f"监控结果为{overall.label}，请填写纠偏措施"
    if errors:
        raise ValidationFailed(fields=errors)
    report = session.scalar(sa.select(MonitoringReport).where(
        MonitoringReport.project_id == project.id, MonitoringReport.period == period))
    before = _snapshot(report) if report else None
    if report is None:
        report = MonitoringReport(tenant_id=tenant.id, project_id=project.id, period=period, executed_amount=executed,
                                  execution_rate=rate, light=overall)
        session.add(report)
    else:
        common.check_version(report, data.get("version"), "监控报告")
        report.values.clear()
        session.flush()
    report.executed_amount, report.execution_rate, report.light = executed, rate, overall
    report.cause, report.measure, report.submitted_by_id = cause, measure, actor.id
    report.values.extend(values)
    session.flush()
    common.record(session, actor, "monitoring.submit", report, before, _snapshot(report))
    common.commit(session)
    common.emit(session, tenant, "monitoring.submitted", project, actor, period=period, light=str(overall))
    return report


def _snapshot(report: MonitoringReport) -> dict[str, Any]:
    return {
        "period": report.period, "executed_amount": report.executed_amount, "execution_rate": report.execution_rate,
        "light": report.light, "cause": report.cause, "measure": report.measure,
        "values": [audit.snapshot(v, ["indicator_id", "actual_value", "attainment", "light"]) for v in report.values],
    }


def indicator_names(session: Session, ids: list[int]) -> dict[int, str]:
    return dict(session.execute(sa.select(Indicator.id, Indicator.name).where(Indicator.id.in_(ids))).all())
