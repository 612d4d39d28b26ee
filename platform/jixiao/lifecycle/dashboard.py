"""The figures of the home dashboards of a county bureau: finance's (the whole bureau's year), a unit's (its own
projects) and the early-warning page (预警: red and yellow projects with what was done about them).

Every figure is read set-based under the reader's visibility (:func:`jixiao.policy.visible_projects`): one
GROUP BY statement per chart, whatever the number of projects, no project loaded as an object except the
months owed (a plugin's answer per project, read in one statement by :func:`jixiao.lifecycle.todo.monitoring_due`).
A project's latest report is the one of its latest month; its attainment is the mean of its indicators'
attainments (qualitative indicators have none). The charts themselves are drawn by ``jixiao.lifecycle.charts``.
"""

from __future__ import annotations

import calendar
import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import policy, units
from jixiao.accounts.models import Department, Role, User
from jixiao.errors import Forbidden
from jixiao.lifecycle import common, facts, rectification, scoring, todo
from jixiao.lifecycle.models import (
    Conclusion,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    ExAnteAssessment,
    Light,
    MonitoringReport,
    MonitoringValue,
    NoticeStatus,
    Project,
    RectificationNotice,
    Stage,
    WarningResponse,
)
from jixiao.tenancy.models import Tenant, TenantLevel

STAGE_ORDER = (Stage.DRAFT, Stage.TARGETS_SUBMITTED, Stage.TARGETS_APPROVED, Stage.BUDGETED, Stage.EVALUATED,
               Stage.RECTIFYING, Stage.CLOSED)
LIGHT_ORDER = (Light.RED, Light.YELLOW, Light.GREEN, Light.BLUE)
OFF_TRACK = (Light.RED, Light.YELLOW)
NO_GRADE = "未定级"
#: Rows a list on a dashboard (the scatter's points, this month's dues, the warnings) reads at most.
ROW_LIMIT = 500

FINANCE_HOME, UNIT_HOME, BUREAU_HOME = "finance", "unit", "bureau"


def home_kind(actor: User, tenant: Tenant) -> str | None:
    """Which dashboard the tenant's home shows ``actor``: a county's figures to those who read a bureau's figures
    (finance, administrators, auditors, viewers, of the county or above), a unit's own to department staff of
    the county, the subordinates' roll-up on a province's or a city's home; none to anyone else."""
    if TenantLevel(tenant.level) is not TenantLevel.COUNTY:
        return BUREAU_HOME if policy.may_read_bureau_figures(actor) else None
    if policy.may_read_bureau_figures(actor):
        return FINANCE_HOME
    if common.is_own_tenant(actor, tenant) and actor.has_role(Role.DEPARTMENT) and actor.department_id:
        return UNIT_HOME
    return None


# ---- SQL helpers ------------------------------------------------------------------------------------------


def _money_sum(session: Session, expr: Any) -> Any:
    """An exact sum of money, 0 for nothing; SQLite keeps money as text, so it sums whole cents."""
    if session.get_bind().dialect.name == "sqlite":
        cents = sa.cast(sa.func.round(sa.cast(expr, sa.Float) * 100), sa.BigInteger)
        return sa.func.coalesce(sa.func.sum(cents), 0)
    return sa.func.coalesce(sa.func.sum(expr), 0) * 100


def _yuan(session: Session, value: Any) -> Decimal:
    """What :func:`_money_sum` answered, as yuan with two places."""
    return units.money(Decimal(str(value or 0)) / 100)


def _latest_reports() -> Any:
    """Each monitored project's latest report (the report of its latest month), as a subquery."""
    latest = (sa.select(MonitoringReport.project_id.label("project_id"),
                        sa.func.max(MonitoringReport.period).label("period"))
              .group_by(MonitoringReport.project_id).subquery())
    return (sa.select(MonitoringReport)
            .join(latest, sa.and_(latest.c.project_id == MonitoringReport.project_id,
                                  latest.c.period == MonitoringReport.period))
            .subquery("latest_report"))


def _latest_grade() -> Any:
    """A project's latest grade: the latest submitted evaluation by another party, else its self-evaluation's."""
    return (sa.select(Evaluation.grade)
            .where(Evaluation.project_id == Project.id, Evaluation.status == EvaluationStatus.SUBMITTED)
            .order_by(sa.case((Evaluation.kind == EvaluationKind.SELF, 1), else_=0), Evaluation.submitted_at.desc())
            .limit(1).correlate(Project).scalar_subquery())


# ---- Finance's home ----------------------------------------------------------------------------------------


def stage_funnel(session: Session, visible: Any, year: int) -> list[dict[str, Any]]:
    """Projects of ``year`` per stage: ``now`` at the stage, ``reached`` at it or beyond (one statement)."""
    counts = dict(session.execute(sa.select(Project.stage, sa.func.count(Project.id))
                                  .where(visible, Project.year == year).group_by(Project.stage)).all())
    now = [int(counts.get(stage, 0)) for stage in STAGE_ORDER]
    return [{"stage": stage.value, "label": stage.label, "now": n, "reached": sum(now[i:])}
            for i, (stage, n) in enumerate(zip(STAGE_ORDER, now, strict=True))]


def lights_by_department(session: Session, visible: Any, year: int) -> list[dict[str, Any]]:
    """Monitored projects of ``year`` by their latest light, per department (one statement)."""
    report = _latest_reports()
    rows = session.execute(
        sa.select(Department.code, Department.name, report.c.light, sa.func.count(Project.id))
        .select_from(Project).join(report, report.c.project_id == Project.id)
        .join(Department, Department.id == Project.department_id)
        .where(visible, Project.year == year)
        .group_by(Department.code, Department.name, report.c.light).order_by(Department.code)).all()
    out: dict[str, dict[str, Any]] = {}
    for code, name, light, n in rows:
        row = out.setdefault(code, {"code": code, "name": name, **{lt.value: 0 for lt in LIGHT_ORDER}})
        row[Light(light).value] += int(n)
    return list(out.values())


def light_bounds(session: Session, tenant: Tenant) -> list[Decimal]:
    """The ratios where the lights change (yellow, green, blue), as the tenant's setting has them."""
    return [Decimal(str(b)) for b in common.tenant_view(session, tenant).settings["monitoring.light_bounds"]]


def execution_and_attainment(session: Session, visible: Any, year: int) -> list[dict[str, Any]]:
    """Each monitored project's latest report: execution against what was expected by its month (the ratio its
    light is read from, in percent) and its indicators' mean attainment (percent, None if none was measured)."""
    report = _latest_reports()
    attainment = (sa.select(MonitoringValue.report_id.label("report_id"),
                            sa.func.avg(MonitoringValue.attainment).label("attainment"))
                  .where(MonitoringValue.attainment.is_not(None)).group_by(MonitoringValue.report_id).subquery())
    rows = session.execute(
        sa.select(Project.id, Project.code, Project.name, Department.name, report.c.period,
                  report.c.executed_amount, Project.budget_amount, report.c.execution_rate, report.c.light,
                  attainment.c.attainment)
        .select_from(Project).join(report, report.c.project_id == Project.id)
        .join(Department, Department.id == Project.department_id)
        .outerjoin(attainment, attainment.c.report_id == report.c.id)
        .where(visible, Project.year == year).order_by(Project.code).limit(ROW_LIMIT)).all()
    points = []
    for pid, code, name, department, period, executed, budget, rate, light, mean in rows:
        ratio = scoring.attainment_ratio("ge", budget, executed, int(period))
        points.append({
            "project_id": pid, "code": code, "name": name, "department": department, "period": int(period),
            "execution_rate": Decimal(str(rate)),
            "execution_progress": (ratio * 100).quantize(Decimal("0.01")) if ratio is not None else None,
            "attainment": Decimal(str(mean)).quantize(Decimal("0.01")) if mean is not None else None,
            "light": Light(light).value})
    return points


def grades(session: Session, visible: Any, year: int) -> dict[str, int]:
    """Projects of ``year`` evaluated (self-evaluation or beyond), by their latest grade (one statement)."""
    grade = _latest_grade().label("grade")
    evaluated = sa.select(grade).where(visible, Project.year == year).subquery()
    rows = session.execute(sa.select(evaluated.c.grade, sa.func.count()).where(evaluated.c.grade.is_not(None))
                           .group_by(evaluated.c.grade)).all()
    return {str(g): int(n) for g, n in rows}


def exante_cuts(session: Session, visible: Any, year: int) -> list[dict[str, Any]]:
    """Ex-ante assessments of ``year``'s projects per department: count by conclusion, requested, cut."""
    conclusions = list(Conclusion)
    rows = session.execute(
        sa.select(Department.code, Department.name, sa.func.count(ExAnteAssessment.id),
                  *(sa.func.count(sa.case((ExAnteAssessment.conclusion == c, 1))) for c in conclusions),
                  _money_sum(session, Project.requested_amount), _money_sum(session, ExAnteAssessment.amount_cut))
        .select_from(ExAnteAssessment).join(Project, Project.id == ExAnteAssessment.project_id)
        .join(Department, Department.id == Project.department_id)
        .where(visible, Project.year == year).group_by(Department.code, Department.name)
        .order_by(Department.code)).all()
    out = []
    for code, name, count, *rest in rows:
        *by_conclusion, requested, cut = rest
        out.append({"code": code, "name": name, "count": int(count),
                    "by_conclusion": {c.value: int(n) for c, n in zip(conclusions, by_conclusion, strict=True)},
                    "requested": _yuan(session, requested), "cut": _yuan(session, cut)})
    return out


def rectifications(session: Session, visible: Any, year: int, today: date) -> list[dict[str, Any]]:
    """Rectification notices of ``year``'s projects per department: issued, open (not verified), overdue (open
    past the deadline) — one statement."""
    notice = RectificationNotice
    open_ = notice.status != NoticeStatus.VERIFIED
    rows = session.execute(
        sa.select(Department.code, Department.name, sa.func.count(notice.id), sa.func.count(sa.case((open_, 1))),
                  sa.func.count(sa.case((sa.and_(open_, notice.deadline < today), 1))))
        .select_from(notice).join(Project, Project.id == notice.project_id)
        .join(Department, Department.id == Project.department_id)
        .where(visible, Project.year == year).group_by(Department.code, Department.name)
        .order_by(Department.code)).all()
    return [{"code": code, "name": name, "issued": int(issued), "open": int(n_open), "overdue": int(overdue)}
            for code, name, issued, n_open, overdue in rows]


DUE_KINDS = {"monitoring": "报送绩效监控", "warning": "回应监控预警", "rectification": "整改到期"}


def dues_this_month(session: Session, tenant: Tenant, visible: Any, today: date) -> list[dict[str, Any]]:
    """What falls due in ``today``'s month, whatever the budget year: monitoring reports owed for the month
    before (this year's projects), warnings awaiting the unit's answer, rectifications not yet verified."""
    first, last = today.replace(day=1), today.replace(day=calendar.monthrange(today.year, today.month)[1])
    month = f"{today.year}-{today.month:02d}"
    dues = [{"kind": "monitoring", "label": f"报送 {period} 月绩效监控", "project_id": project.id,
             "project": project.name, "department": project.department.name, "due": month,
             "anchor": "monitoring"}
            for project, period in todo.monitoring_due(session, tenant, visible, today.year, today.month,
                                                       limit=ROW_LIMIT)]
    warnings = session.execute(
        sa.select(Project.id, Project.name, Department.name, MonitoringReport.period, MonitoringReport.response_due)
        .join(Project, Project.id == MonitoringReport.project_id)
        .join(Department, Department.id == Project.department_id)
        .where(visible, MonitoringReport.response.is_(None), MonitoringReport.response_due.between(first, last))
        .order_by(MonitoringReport.response_due, Project.id).limit(ROW_LIMIT)).all()
    dues += [{"kind": "warning", "label": f"回应 {period} 月监控预警", "project_id": pid, "project": name,
              "department": department, "due": str(due), "anchor": "monitoring"}
             for pid, name, department, period, due in warnings]
    notices = session.execute(
        sa.select(Project.id, Project.name, Department.name, RectificationNotice.deadline)
        .join(Project, Project.id == RectificationNotice.project_id)
        .join(Department, Department.id == Project.department_id)
        .where(visible, RectificationNotice.status != NoticeStatus.VERIFIED,
               RectificationNotice.deadline.between(first, last))
        .order_by(RectificationNotice.deadline, Project.id).limit(ROW_LIMIT)).all()
    dues += [{"kind": "rectification", "label": "完成整改并通过核验", "project_id": pid, "project": name,
              "department": department, "due": str(due), "anchor": "rectification"}
             for pid, name, department, due in notices]
    return dues


@dataclasses.dataclass(frozen=True)
class FinanceHome:
    year: int
    today: date
    funnel: list[dict[str, Any]]
    lights: list[dict[str, Any]]
    bounds: list[Decimal]
    points: list[dict[str, Any]]
    grades: dict[str, int]
    grade_order: list[str]
    exante: list[dict[str, Any]]
    rectifications: list[dict[str, Any]]
    dues: list[dict[str, Any]]


def finance_home(session: Session, actor: User, tenant: Tenant, year: int, today: date | None = None) -> FinanceHome:
    """A county's year as its finance home shows it, for what ``actor`` may see of it."""
    today = today or rectification.today()
    visible = policy.visible_projects(actor, tenant)
    bands = common.hooks(session, tenant).evaluation_grade_bands(kind="self") or []
    return FinanceHome(
        year=year, today=today, funnel=stage_funnel(session, visible, year),
        lights=lights_by_department(session, visible, year), bounds=light_bounds(session, tenant),
        points=execution_and_attainment(session, visible, year), grades=grades(session, visible, year),
        grade_order=[str(b[0]) for b in bands], exante=exante_cuts(session, visible, year),
        rectifications=rectifications(session, visible, year, today),
        dues=dues_this_month(session, tenant, visible, today))


# ---- A unit's home -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class UnitHome:
    year: int
    today: date
    funnel: list[dict[str, Any]]
    owed: list[dict[str, Any]]


def unit_home(session: Session, actor: User, tenant: Tenant, year: int, today: date | None = None) -> UnitHome:
    """A unit's projects of ``year`` by stage and what it owes, by when (its to-do items with their dates, and
    this month's dues), for department staff: only the projects they may open."""
    today = today or rectification.today()
    visible = policy.visible_projects(actor, tenant)
    owed = [{"label": item.label, "project_id": item.project_id, "project": item.project_name,
             "due": item.due or "", "anchor": item.anchor}
            for item in todo.lifecycle_todo(session, actor, tenant, limit=ROW_LIMIT)]
    known = {(d["project_id"], d["anchor"], d["due"]) for d in owed}
    for due in dues_this_month(session, tenant, visible, today):
        if (due["project_id"], due["anchor"], due["due"]) not in known:
            owed.append({key: due[key] for key in ("label", "project_id", "project", "due", "anchor")})
    owed.sort(key=lambda d: (d["due"] == "", d["due"], d["project_id"]))
    return UnitHome(year=year, today=today, funnel=stage_funnel(session, visible, year), owed=owed)


# ---- The early-warning page ----------------------------------------------------------------------------------


def may_read_warnings(actor: Any, tenant: Tenant) -> bool:
    """The early-warning page: the tenant's own finance staff, and the bureau-figure readers of an upper level
    (who read it and change nothing)."""
    if not getattr(actor, "is_authenticated", False) or actor.tenant_id is None:
        return False
    if actor.tenant_id == tenant.id:
        return actor.has_role(Role.FINANCE)
    return policy.may_read_bureau_figures(actor)


def require_warning_reader(actor: Any, tenant: Tenant) -> None:
    if not may_read_warnings(actor, tenant):
        raise Forbidden("只有本级财政绩效人员和上级财政部门可以查看预警项目")


def early_warnings(session: Session, actor: User, tenant: Tenant, year: int) -> list[dict[str, Any]]:
    """Projects of ``year`` whose latest report is red or yellow, by department (one statement): the light, the
    cause and measure the unit gave, the warnings and the unit's answer, and whether payment is suspended."""
    require_warning_reader(actor, tenant)
    report = _latest_reports()
    severity = sa.case((report.c.light == Light.RED, 0), else_=1)
    rows = session.execute(
        sa.select(Department.code, Department.name, Project.id, Project.code, Project.name, Project.budget_amount,
                  Project.payment_suspended, Project.suspension_reason, report.c.period, report.c.light,
                  report.c.execution_rate, report.c.cause, report.c.measure, report.c.warnings, report.c.response,
                  report.c.response_note, report.c.response_due, report.c.responded_at)
        .select_from(Project).join(report, report.c.project_id == Project.id)
        .join(Department, Department.id == Project.department_id)
        .where(policy.visible_projects(actor, tenant), Project.year == year, facts.budgeted(),
               report.c.light.in_(OFF_TRACK))
        .order_by(Department.code, severity, Project.code).limit(ROW_LIMIT)).all()
    out: dict[str, dict[str, Any]] = {}
    for (dcode, dname, pid, code, name, budget, suspended, reason, period, light, rate, cause, measure, warnings,
         response, note, due, responded) in rows:
        department = out.setdefault(dcode, {"code": dcode, "name": dname, "projects": []})
        answer = WarningResponse(response) if response else None
        department["projects"].append({
            "id": pid, "code": code, "name": name, "budget": budget, "period": int(period),
            "light": Light(light).value, "light_label": Light(light).label, "execution_rate": Decimal(str(rate)),
            "cause": cause, "measure": measure, "warnings": [w.get("message", "") for w in warnings or []],
            "response": answer.value if answer else None, "response_label": answer.label if answer else None,
            "response_note": note, "response_due": due, "responded_at": responded,
            "payment_suspended": bool(suspended), "suspension_reason": reason})
    return list(out.values())
