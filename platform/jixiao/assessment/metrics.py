"""Computed assessment indicators, measured from the subjects' own records, for all subjects at once.

Each metric is a ratio: two GROUP BY statements (numerator and denominator) over every subject together,
keyed by the subject (a tenant, or a top-level department of the assessor). A scheme's computed indicator
names a metric here; its points are ``max × min(ratio, 1)``, and ``empty`` says what a subject with nothing
to measure (denominator 0) gets: ``full`` points (nothing was owed) or ``zero``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from jixiao.accounts.models import Department
from jixiao.lifecycle import rectification
from jixiao.lifecycle.models import (
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    ExAnteAssessment,
    MonitoringReport,
    Project,
    ProjectKind,
    RectificationNotice,
    ResultApplication,
    Stage,
    TargetSet,
    TargetStatus,
)

BUDGETED = [Stage.BUDGETED, Stage.EVALUATED, Stage.RECTIFYING, Stage.CLOSED]
EXTERNAL = [EvaluationKind.DEPARTMENT, EvaluationKind.FINANCE, EvaluationKind.THIRD_PARTY]


@dataclasses.dataclass(frozen=True)
class Subjects:
    """Who is measured: tenants (``by="tenant"``) or the assessor's top-level departments (``by="department"``)."""

    by: str
    ids: tuple[int, ...]
    year: int


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str
    label: str
    numerator: Callable[[Any, Subjects], sa.Select[Any]]
    denominator: Callable[[Any, Subjects], sa.Select[Any]]


def _base(subjects: Subjects) -> tuple[Any, list[Any], Any]:
    """The grouping key for projects and the conditions selecting the subjects' projects of the year."""
    if subjects.by == "tenant":
        return Project.tenant_id, [Project.tenant_id.in_(subjects.ids), Project.year == subjects.year], None
    unit = aliased(Department)
    key = sa.func.coalesce(unit.parent_id, unit.id)
    return key, [key.in_(subjects.ids), Project.year == subjects.year], unit


def _projects(subjects: Subjects, *columns: Any) -> tuple[sa.Select[Any], Any]:
    key, conditions, unit = _base(subjects)
    stmt = sa.select(key.label("key"), *columns).select_from(Project)
    if unit is not None:
        stmt = stmt.join(unit, unit.id == Project.department_id)
    return stmt.where(*conditions).group_by(key), key


def _count_distinct_departments(subjects: Subjects, *joins: Any, where: list[Any]) -> sa.Select[Any]:
    stmt, _ = _projects(subjects, sa.func.count(sa.distinct(Project.department_id)))
    for target, on in joins:
        stmt = stmt.join(target, on)
    return stmt.where(*where)


def _targets_units_num(_: Any, s: Subjects) -> sa.Select[Any]:
    return _count_distinct_departments(s, (TargetSet, TargetSet.project_id == Project.id),
                                       where=[TargetSet.status.in_([TargetStatus.SUBMITTED, TargetStatus.APPROVED])])


def _units_den(_: Any, s: Subjects) -> sa.Select[Any]:
    return _count_distinct_departments(s, where=[])


def _budgeted_units_den(_: Any, s: Subjects) -> sa.Select[Any]:
    return _count_distinct_departments(s, where=[Project.stage.in_(BUDGETED)])


def _targets_amount_num(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(Project.id), sa.func.sum(_amount()))
    return stmt.join(TargetSet, TargetSet.project_id == Project.id).where(
        TargetSet.status.in_([TargetStatus.SUBMITTED, TargetStatus.APPROVED]))


def _amount_den(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(Project.id), sa.func.sum(_amount()))
    return stmt


def _amount() -> Any:
    # Money is text on SQLite: sum it as a number there (exact enough for a ratio).
    return sa.cast(Project.requested_amount, sa.Numeric(18, 2))


def _monitoring_units_num(_: Any, s: Subjects) -> sa.Select[Any]:
    filed = sa.select(MonitoringReport.project_id)
    return _count_distinct_departments(s, where=[Project.id.in_(filed)])


def _self_eval_units_num(_: Any, s: Subjects) -> sa.Select[Any]:
    evaluated = sa.select(Evaluation.project_id).where(Evaluation.kind == EvaluationKind.SELF,
                                                       Evaluation.status == EvaluationStatus.SUBMITTED)
    return _count_distinct_departments(s, where=[Project.id.in_(evaluated)])


def _exante_num(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(ExAnteAssessment.id))
    return stmt.join(ExAnteAssessment, ExAnteAssessment.project_id == Project.id)


def _exante_den(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(Project.id))
    return stmt.where(Project.is_new.is_(True), Project.kind.in_([ProjectKind.PROJECT, ProjectKind.POLICY]))


def _key_eval_num(_: Any, s: Subjects) -> sa.Select[Any]:
    evaluated = sa.select(Evaluation.project_id).where(
        Evaluation.kind.in_([EvaluationKind.FINANCE, EvaluationKind.THIRD_PARTY]),
        Evaluation.status == EvaluationStatus.SUBMITTED)
    stmt, _ = _projects(s, sa.func.count(Project.id))
    return stmt.where(Project.is_key.is_(True), Project.id.in_(evaluated))


def _key_den(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(Project.id))
    return stmt.where(Project.is_key.is_(True), Project.stage.in_(BUDGETED))


def _external_evaluations(s: Subjects, *where: Any) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(Evaluation.id))
    return stmt.join(Evaluation, Evaluation.project_id == Project.id).where(
        Evaluation.kind.in_(EXTERNAL), Evaluation.status == EvaluationStatus.SUBMITTED, *where)


def _published_num(_: Any, s: Subjects) -> sa.Select[Any]:
    return _external_evaluations(s, Evaluation.published_at.is_not(None), Project.classified.is_(False))


def _publishable_den(_: Any, s: Subjects) -> sa.Select[Any]:
    return _external_evaluations(s, Project.classified.is_(False))


def _notices(s: Subjects, *where: Any) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(RectificationNotice.id))
    return stmt.join(RectificationNotice, RectificationNotice.project_id == Project.id).where(*where)


def _on_time_num(session: Session, s: Subjects) -> sa.Select[Any]:
    return _notices(s, rectification.closed_on_time(session))


def _notices_den(_: Any, s: Subjects) -> sa.Select[Any]:
    return _notices(s)


def _results_num(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(ResultApplication.id))
    return stmt.join(ResultApplication, ResultApplication.project_id == Project.id)


def _evaluations_den(_: Any, s: Subjects) -> sa.Select[Any]:
    return _external_evaluations(s)


METRICS = {m.name: m for m in [
    Metric("targets_units", "报送绩效目标的单位占比", _targets_units_num, _units_den),
    Metric("targets_amount", "设定绩效目标的资金占比", _targets_amount_num, _amount_den),
    Metric("monitoring_units", "开展绩效监控的单位占比", _monitoring_units_num, _budgeted_units_den),
    Metric("self_evaluation_units", "开展单位自评的单位占比", _self_eval_units_num, _budgeted_units_den),
    Metric("exante_done", "新增项目政策事前评估开展率", _exante_num, _exante_den),
    Metric("key_evaluations", "重点项目财政评价覆盖率", _key_eval_num, _key_den),
    Metric("reports_published", "评价报告公开率", _published_num, _publishable_den),
    Metric("rectification_on_time", "整改按期完成率", _on_time_num, _notices_den),
    Metric("results_applied", "评价结果应用率", _results_num, _evaluations_den),
]}


def compute(session: Session, metric: str, subjects: Subjects) -> dict[int, tuple[Decimal, Decimal]]:
    """``{subject id: (numerator, denominator)}`` for every subject; two statements whatever their number."""
    spec = METRICS[metric]
    numerators = {row[0]: row[-1] for row in session.execute(spec.numerator(session, subjects))}
    denominators = {row[0]: row[-1] for row in session.execute(spec.denominator(session, subjects))}
    return {sid: (Decimal(str(numerators.get(sid) or 0)), Decimal(str(denominators.get(sid) or 0)))
            for sid in subjects.ids}


def points(maximum: Decimal, numerator: Decimal, denominator: Decimal, empty: str) -> tuple[Decimal | None, Decimal]:
    """(ratio, points) for a computed indicator; no denominator → ``empty`` decides."""
    if denominator <= 0:
        return None, (maximum if empty == "full" else Decimal(0)).quantize(Decimal("0.01"))
    ratio = min(numerator / denominator, Decimal(1))
    return ratio.quantize(Decimal("0.0001")), (maximum * ratio).quantize(Decimal("0.01"))
