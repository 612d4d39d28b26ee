"""Yearly statistics of one tenant: counts and amounts per lifecycle stage (the figures of the seeds' reports).

Everything is computed set-based: :func:`yearly_statistics` runs a fixed number of aggregate statements
(``STATEMENTS``, GROUP BY queries), whatever the number of rows; no row is loaded as an object. Only the
tenant's own rows count (``tenant_id == tenant.id``), not its descendants'; the session's scope (and
row-level security on PostgreSQL) already limits what is visible at all.

"Of the year" means: of the projects whose budget ``year`` is the year asked for. Every stage's records are
attributed to their project's year (an ex-ante assessment, a target table, a monitoring report, an
evaluation, a rectification notice and a result application of a 2021 project are 2021's).

A project's **budget** is ``Project.budget_amount`` (its SQL side): the adjusted amount, else the approved
amount, else the requested amount — the first that is set, so an adjusted amount of 0 is a budget of 0.
Money is ``Decimal`` yuan with two decimals. A **unit** (单位) is a department row (部门/单位).

Definitions (the product's):

``projects``
    count and requested / approved / budget amounts of the year's projects, in total, by kind
    (``project``, ``policy``, ``department_whole``) and by fund type (the four budgets).
``exante``
    ex-ante assessments (事前绩效评估) of the year's projects: count, count by conclusion
    (``support`` / ``adjust`` / ``reject``), ``amount_cut`` the sum of the amounts cut, ``projects_cut`` the
    number of assessments that cut something (``amount_cut > 0``).
``filing`` (what the units filed; seed 002: 268 / 248 / 243)
    ``targets``: units = distinct departments with at least one target table whose status is ``submitted``
    or ``approved``; records = those target tables; amount = the budget of their projects; ``approved`` =
    the ``approved`` target tables, count and budget, in total and by project kind (seed 003: 89
    department-whole budgets and 345 projects, 2.36亿元).
    ``monitoring``: units = distinct departments with at least one monitoring report; projects = distinct
    projects monitored; records = monitoring reports (one per project and month); ``by_light`` = the reports
    by their overall light; amount = the budget of the monitored projects (seed 000: 32 units, 2.51亿元).
    ``self_evaluation``: units = distinct departments with a ``submitted`` evaluation of kind ``self``;
    records = those self-evaluations.
``evaluations`` (submitted evaluations other than self-evaluations, unless stated)
    ``count``; ``by_kind`` counts *all* submitted evaluations, self-evaluations included (``self``,
    ``department``, ``finance``, ``third_party``); ``by_grade`` (``"未定级"`` for no grade);
    ``by_project_kind`` count and amount (each evaluation counts its project's budget);
    ``third_party`` = performed by third parties (``agency_id`` not null, whatever the kind);
    ``key`` = key evaluations (重点评价): of projects with ``is_key`` true and kind ``finance`` or
    ``third_party``, with their count by grade (seed 001: 27, 18 优 and 9 良);
    ``projects`` = distinct projects evaluated and ``amount`` = their budget, each project once
    (seed 002: 41 evaluations, 138.98亿元).
``reports`` (the evaluations above; a classified (涉密) item cannot be published and is counted apart)
    ``withheld`` = of a classified project; ``published`` = not classified and ``published_at`` set;
    ``unpublished`` = the rest. published + withheld + unpublished = evaluations.count
    (seed 002: 40 published, 1 withheld).
``rectification``
    ``issued`` = rectification notices (整改通知书) of the year's projects, whatever their state;
    ``closed`` = status ``verified``; ``closed_on_time`` = ``rectification.closed_on_time`` (verified on a day,
    in the bureau's time zone, no later than the deadline); ``overdue`` = deadline before ``today`` and not
    verified; ``open`` = issued − closed. ``today`` defaults to the current date in the bureau's time zone.
``results``
    result applications (结果应用) of the year's evaluated projects: ``count``, ``by_decision`` (count, sum of
    amount changes, idle funds recovered), ``budget_changes`` = applications that changed the budget
    (``amount_change`` ≠ 0), ``amount_change`` the net sum (negative = cuts), ``reductions`` the sum of the
    negative changes, ``increases`` the sum of the positive ones, ``idle_recovered`` the idle funds recovered.
    Decisions are keyed by their code; :func:`decision_labels` names them for people.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao.lifecycle import common, rectification, results
from jixiao.lifecycle.models import (
    Conclusion,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    ExAnteAssessment,
    FundType,
    Light,
    MonitoringReport,
    NoticeStatus,
    Project,
    ProjectKind,
    RectificationNotice,
    ResultApplication,
    TargetSet,
    TargetStatus,
)

DEFAULT_TIMEZONE = rectification.DEFAULT_TIMEZONE
NO_GRADE = "未定级"
CENT = Decimal("0.01")
# The number of SQL statements yearly_statistics runs (plus, on PostgreSQL, the scope's settings when a
# transaction begins): fixed, whatever the number of rows.
STATEMENTS = 9
FILED_TARGET_STATUSES = (TargetStatus.SUBMITTED, TargetStatus.APPROVED)
KEY_EVALUATION_KINDS = (EvaluationKind.FINANCE, EvaluationKind.THIRD_PARTY)


def timezone_name() -> str:
    """The bureau's time zone (the one rectification deadlines are days in)."""
    return rectification.timezone_name()


def local_today() -> date:
    """Today in the bureau's time zone (Asia/Shanghai unless configured otherwise)."""
    return datetime.now(ZoneInfo(timezone_name())).date()


def current_year() -> int:
    return local_today().year


class _Cents(sa.TypeDecorator[Decimal]):
    """An integer number of cents read back as Decimal yuan (SQLite sums money exactly this way)."""

    impl = sa.BigInteger
    cache_ok = True

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        return None if value is None else Decimal(int(value)).scaleb(-2)


class _Sql:
    """Dialect-aware expressions: money is NUMERIC on PostgreSQL, decimal text on SQLite."""

    def __init__(self, session: Session) -> None:
        self.sqlite = session.get_bind().dialect.name == "sqlite"

    def num(self, expr: Any) -> Any:
        """``expr`` as a number SQL can compare (SQLite would compare the stored text)."""
        return sa.cast(expr, sa.Float) if self.sqlite else sa.type_coerce(expr, sa.Numeric(20, 2))

    def money_sum(self, expr: Any) -> Any:
        """An exact sum of money, 0 when there is nothing to sum, read as Decimal."""
        if self.sqlite:
            # Summing the text as floats could drift; cents as 64-bit integers cannot.
            cents = sa.cast(sa.func.round(sa.cast(expr, sa.Float) * 100), sa.BigInteger)
            return sa.type_coerce(sa.func.coalesce(sa.func.sum(cents), 0), _Cents())
        return sa.type_coerce(sa.func.coalesce(sa.func.sum(expr), 0), sa.Numeric(20, 2, asdecimal=True))


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def _amounts() -> dict[str, Any]:
    return {"count": 0, "requested_amount": _money(0), "approved_amount": _money(0), "budget_amount": _money(0)}


def available_years(session: Session, tenant: Any) -> list[int]:
    """The budget years the tenant has projects in, newest first (one statement)."""
    rows = session.execute(
        sa.select(Project.year).where(Project.tenant_id == tenant.id).group_by(Project.year).order_by(Project.year.desc())
    )
    return [int(year) for (year,) in rows]


def yearly_statistics(session: Session, tenant: Any, year: int, today: date | None = None) -> dict[str, Any]:
    """The tenant's figures for the budget year ``year`` (see the module's docstring for the definitions)."""
    today = today or local_today()
    sql = _Sql(session)
    of_year = (Project.tenant_id == tenant.id, Project.year == year)
    return {
        "tenant": {"code": tenant.code, "name": tenant.name},
        "year": year,
        "today": today,
        "projects": _projects(session, sql, of_year),
        "exante": _exante(session, sql, tenant, of_year),
        "filing": {
            "targets": _targets(session, sql, tenant, of_year),
            "monitoring": _monitoring(session, sql, tenant, of_year),
            "self_evaluation": _self_evaluation(session, tenant, of_year),
        },
        **_evaluations(session, sql, tenant, of_year),
        "rectification": _rectification(session, sql, tenant, of_year, today),
        "results": _results(session, sql, tenant, of_year),
    }


def _projects(session: Session, sql: _Sql, of_year: tuple[Any, ...]) -> dict[str, Any]:
    stmt = (
        sa.select(
            Project.kind,
            Project.fund_type,
            sa.func.count(Project.id),
            sql.money_sum(Project.requested_amount),
            sql.money_sum(Project.approved_amount),
            sql.money_sum(Project.budget_amount),
        )
        .where(*of_year)
        .group_by(Project.kind, Project.fund_type)
    )
    total = _amounts()
    by_kind = {kind.value: _amounts() for kind in ProjectKind}
    by_fund = {fund.value: _amounts() for fund in FundType}
    for kind, fund, count, requested, approved, budget in session.execute(stmt):
        for group in (total, by_kind[ProjectKind(kind).value], by_fund[FundType(fund).value]):
            group["count"] += count
            group["requested_amount"] += _money(requested)
            group["approved_amount"] += _money(approved)
            group["budget_amount"] += _money(budget)
    return {**total, "by_kind": by_kind, "by_fund_type": by_fund}


def _exante(session: Session, sql: _Sql, tenant: Any, of_year: tuple[Any, ...]) -> dict[str, Any]:
    stmt = (
        sa.select(
            ExAnteAssessment.conclusion,
            sa.func.count(ExAnteAssessment.id),
            sql.money_sum(ExAnteAssessment.amount_cut),
            sa.func.count(sa.case((sql.num(ExAnteAssessment.amount_cut) > 0, 1))),
        )
        .join(Project, Project.id == ExAnteAssessment.project_id)
        .where(ExAnteAssessment.tenant_id == tenant.id, *of_year)
        .group_by(ExAnteAssessment.conclusion)
    )
    result: dict[str, Any] = {"count": 0, "by_conclusion": {c.value: 0 for c in Conclusion},
                              "amount_cut": _money(0), "projects_cut": 0}
    for conclusion, count, cut, projects_cut in session.execute(stmt):
        result["count"] += count
        result["by_conclusion"][Conclusion(conclusion).value] += count
        result["amount_cut"] += _money(cut)
        result["projects_cut"] += projects_cut
    return result


def _targets(session: Session, sql: _Sql, tenant: Any, of_year: tuple[Any, ...]) -> dict[str, Any]:
    """One statement: the filed tables, and the approved ones by project kind as conditional aggregates (a
    GROUP BY kind could not count the distinct units of all kinds together)."""
    budget = Project.budget_amount
    approved = TargetSet.status == TargetStatus.APPROVED
    kinds = list(ProjectKind)
    per_kind = [column for kind in kinds for column in (
        sa.func.count(sa.case((sa.and_(approved, Project.kind == kind), 1))),
        sql.money_sum(sa.case((sa.and_(approved, Project.kind == kind), budget))),
    )]
    stmt = (
        sa.select(sa.func.count(sa.distinct(Project.department_id)), sa.func.count(TargetSet.id),
                  sql.money_sum(budget), *per_kind)
        .join(Project, Project.id == TargetSet.project_id)
        .where(TargetSet.tenant_id == tenant.id, TargetSet.status.in_(FILED_TARGET_STATUSES), *of_year)
    )
    units, records, amount, *figures = session.execute(stmt).one()
    by_kind = {kind.value: {"count": figures[2 * i], "amount": _money(figures[2 * i + 1])}
               for i, kind in enumerate(kinds)}
    approved_total = {"count": sum(g["count"] for g in by_kind.values()),
                      "amount": sum((g["amount"] for g in by_kind.values()), _money(0)), "by_kind": by_kind}
    return {"units": units, "records": records, "amount": _money(amount), "approved": approved_total}


def _monitoring(session: Session, sql: _Sql, tenant: Any, of_year: tuple[Any, ...]) -> dict[str, Any]:
    lights = list(Light)
    per_project = (
        sa.select(MonitoringReport.project_id.label("project_id"), sa.func.count(MonitoringReport.id).label("reports"),
                  *(sa.func.count(sa.case((MonitoringReport.light == light, 1))).label(light.value)
                    for light in lights))
        .where(MonitoringReport.tenant_id == tenant.id)
        .group_by(MonitoringReport.project_id)
        .subquery()
    )
    stmt = (
        sa.select(sa.func.count(sa.distinct(Project.department_id)), sa.func.count(Project.id),
                  sa.func.coalesce(sa.func.sum(per_project.c.reports), 0), sql.money_sum(Project.budget_amount),
                  *(sa.func.coalesce(sa.func.sum(per_project.c[light.value]), 0) for light in lights))
        .select_from(Project)
        .join(per_project, per_project.c.project_id == Project.id)
        .where(*of_year)
    )
    units, projects, records, amount, *by_light = session.execute(stmt).one()
    return {"units": units, "projects": projects, "records": int(records), "amount": _money(amount),
            "by_light": {light.value: int(n) for light, n in zip(lights, by_light, strict=True)}}


def _self_evaluation(session: Session, tenant: Any, of_year: tuple[Any, ...]) -> dict[str, Any]:
    stmt = (
        sa.select(sa.func.count(sa.distinct(Project.department_id)), sa.func.count(Evaluation.id))
        .join(Project, Project.id == Evaluation.project_id)
        .where(Evaluation.tenant_id == tenant.id, Evaluation.kind == EvaluationKind.SELF,
               Evaluation.status == EvaluationStatus.SUBMITTED, *of_year)
    )
    units, records = session.execute(stmt).one()
    return {"units": units, "records": records}


def _evaluations(session: Session, sql: _Sql, tenant: Any, of_year: tuple[Any, ...]) -> dict[str, Any]:
    """Two statements: the submitted evaluations grouped every way at once, then the distinct projects."""
    by_agency = Evaluation.agency_id.is_not(None)
    published = Evaluation.published_at.is_not(None)
    stmt = (
        sa.select(
            Evaluation.kind, Evaluation.grade, Project.kind, by_agency, Project.is_key, published, Project.classified,
            sa.func.count(Evaluation.id), sql.money_sum(Project.budget_amount),
        )
        .join(Project, Project.id == Evaluation.project_id)
        .where(Evaluation.tenant_id == tenant.id, Evaluation.status == EvaluationStatus.SUBMITTED, *of_year)
        .group_by(Evaluation.kind, Evaluation.grade, Project.kind, by_agency, Project.is_key, published,
                  Project.classified)
    )
    evaluations: dict[str, Any] = {
        "count": 0,
        "projects": 0,
        "amount": _money(0),
        "by_kind": {k.value: 0 for k in EvaluationKind},
        "by_grade": {},
        "by_project_kind": {k.value: {"count": 0, "amount": _money(0)} for k in ProjectKind},
        "third_party": 0,
        "key": {"count": 0, "by_grade": {}},
    }
    reports = {"published": 0, "withheld": 0, "unpublished": 0}
    for kind, grade, project_kind, agency, is_key, is_published, classified, count, amount in session.execute(stmt):
        kind = EvaluationKind(kind)
        evaluations["by_kind"][kind.value] += count
        if kind is EvaluationKind.SELF:
            continue
        grade = grade or NO_GRADE
        evaluations["count"] += count
        evaluations["by_grade"][grade] = evaluations["by_grade"].get(grade, 0) + count
        group = evaluations["by_project_kind"][ProjectKind(project_kind).value]
        group["count"] += count
        group["amount"] += _money(amount)
        if agency:
            evaluations["third_party"] += count
        if is_key and kind in KEY_EVALUATION_KINDS:
            key = evaluations["key"]
            key["count"] += count
            key["by_grade"][grade] = key["by_grade"].get(grade, 0) + count
        if classified:
            reports["withheld"] += count
        elif is_published:
            reports["published"] += count
        else:
            reports["unpublished"] += count

    evaluated = (
        sa.select(Evaluation.project_id)
        .where(Evaluation.tenant_id == tenant.id, Evaluation.kind != EvaluationKind.SELF,
               Evaluation.status == EvaluationStatus.SUBMITTED)
    )
    projects, amount = session.execute(
        sa.select(sa.func.count(Project.id), sql.money_sum(Project.budget_amount))
        .where(*of_year, Project.id.in_(evaluated))
    ).one()
    evaluations["projects"] = projects
    evaluations["amount"] = _money(amount)
    return {"evaluations": evaluations, "reports": reports}


def _rectification(session: Session, sql: _Sql, tenant: Any, of_year: tuple[Any, ...], today: date) -> dict[str, Any]:
    notice = RectificationNotice
    verified = notice.status == NoticeStatus.VERIFIED
    on_time = rectification.closed_on_time(session)
    overdue = sa.and_(notice.status != NoticeStatus.VERIFIED, notice.deadline < today)
    stmt = (
        sa.select(sa.func.count(notice.id), sa.func.count(sa.case((verified, 1))),
                  sa.func.count(sa.case((on_time, 1))), sa.func.count(sa.case((overdue, 1))))
        .join(Project, Project.id == notice.project_id)
        .where(notice.tenant_id == tenant.id, *of_year)
    )
    issued, closed, closed_on_time, overdue_count = session.execute(stmt).one()
    return {"issued": issued, "closed": closed, "closed_on_time": closed_on_time, "overdue": overdue_count,
            "open": issued - closed}


def _results(session: Session, sql: _Sql, tenant: Any, of_year: tuple[Any, ...]) -> dict[str, Any]:
    change = ResultApplication.amount_change
    stmt = (
        sa.select(
            ResultApplication.decision,
            sa.func.count(ResultApplication.id),
            sa.func.count(sa.case((sql.num(change) != 0, 1))),
            sql.money_sum(change),
            sql.money_sum(sa.case((sql.num(change) < 0, change), else_=None)),
            sql.money_sum(sa.case((sql.num(change) > 0, change), else_=None)),
            sql.money_sum(ResultApplication.idle_recovered),
        )
        .join(Project, Project.id == ResultApplication.project_id)
        .where(ResultApplication.tenant_id == tenant.id, *of_year)
        .group_by(ResultApplication.decision)
        .order_by(ResultApplication.decision)
    )
    result: dict[str, Any] = {"count": 0, "budget_changes": 0, "amount_change": _money(0), "reductions": _money(0),
                              "increases": _money(0), "idle_recovered": _money(0), "by_decision": {}}
    for decision, count, changes, net, reductions, increases, idle in session.execute(stmt):
        result["count"] += count
        result["budget_changes"] += changes
        result["amount_change"] += _money(net)
        result["reductions"] += _money(reductions)
        result["increases"] += _money(increases)
        result["idle_recovered"] += _money(idle)
        result["by_decision"][decision] = {"count": count, "amount_change": _money(net), "idle_recovered": _money(idle)}
    return result


def decision_labels(session: Session, tenant: Any, year: int) -> dict[str, str]:
    """Results decisions' codes in words (``prioritise`` → 优先保障), as the tenant's rules name them for
    ``year``: the one lookup the statistics page and the yearly report use, so neither shows a code."""
    bands = common.hooks(session, tenant).evaluation_grade_bands(kind=EvaluationKind.FINANCE.value) or []
    return results.action_labels(session, tenant, year, [str(band[0]) for band in bands])
