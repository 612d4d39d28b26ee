"""Computed assessment indicators, measured from the subjects' own records, for all subjects at once.

Each metric is a ratio: two GROUP BY statements (numerator and denominator) over every subject together,
keyed by the subject (a tenant, or a top-level department of the assessor). A scheme's computed indicator
names a metric here; its points are ``max × min(ratio, 1)`` — or what its ``bands`` give the ratio, uncapped —
and ``no_data`` says what a subject with nothing to measure (denominator 0) gets: left out (``not_applicable``),
``full`` points (nothing was owed) or ``zero``. A plugin's metric may measure amounts as well as counts
(``Subjects.projects`` gives the grouped statement to build on).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session, aliased

from jixiao.accounts.models import Department
from jixiao.lifecycle import facts, rectification
from jixiao.lifecycle.models import (
    Evaluation,
    ExAnteAssessment,
    Project,
    RectificationNotice,
    ResultApplication,
    TargetSet,
)
from jixiao.plugins import by_name
from jixiao.toolkit import Metric


@dataclasses.dataclass(frozen=True)
class Subjects:
    """Who is measured: tenants (``by="tenant"``) or the assessor's top-level departments (``by="department"``).

    ``members`` maps the tenants whose records count to the subject they count for — a city measured on its
    whole jurisdiction counts its counties' records too — and is ``None`` when each subject is measured on its
    own records. ``cutoff`` is the moment the records are read as of (``None``: as they are now).
    """

    by: str
    ids: tuple[int, ...]
    year: int
    cutoff: datetime | None = None
    members: tuple[tuple[int, int], ...] | None = None

    def by_cutoff(self, column: Any) -> Any:
        """Records made (or submitted, verified …) by the cut-off."""
        return sa.true() if self.cutoff is None else sa.and_(column.is_not(None), column <= self.cutoff)

    def projects(self, *columns: Any) -> tuple[sa.Select[Any], Any]:
        """``SELECT key, *columns`` over these subjects' projects of the year (made by the cut-off), grouped by
        subject, and its key: what a plugin's metric joins and filters (its columns may be any aggregate, e.g.
        ``abs(sum(executed) - sum(approved))``), so it measures every subject in one statement as the core's do."""
        return _projects(self, *columns)


def _projects(subjects: Subjects, *columns: Any) -> tuple[sa.Select[Any], Any]:
    """A statement over the subjects' projects of the year (made by the cut-off), grouped by subject."""
    made = [Project.year == subjects.year, subjects.by_cutoff(Project.created_at)]
    if subjects.by == "department":
        unit = aliased(Department)
        key: sa.ColumnElement[Any] = sa.func.coalesce(unit.parent_id, unit.id)
        stmt = sa.select(key.label("key"), *columns).select_from(Project).join(unit, unit.id == Project.department_id)
        return stmt.where(key.in_(subjects.ids), *made).group_by(key), key
    if not subjects.members:
        # Own records (or an empty jurisdiction, which then measures nothing).
        ids = subjects.ids if subjects.members is None else ()
        stmt = sa.select(Project.tenant_id.label("key"), *columns).select_from(Project)
        return stmt.where(Project.tenant_id.in_(ids), *made).group_by(Project.tenant_id), Project.tenant_id
    # The membership travels inside the statement (a UNION ALL of literal rows, which SQLite and PostgreSQL both
    # read), so a jurisdiction costs no statement per subject.
    members = sa.union_all(*(sa.select(sa.literal(tenant_id, sa.Integer).label("tenant_id"),
                                       sa.literal(subject_id, sa.Integer).label("subject_id"))
                             for tenant_id, subject_id in subjects.members)).subquery("subject_members")
    key = members.c.subject_id
    stmt = (sa.select(key.label("key"), *columns).select_from(Project)
            .join(members, members.c.tenant_id == Project.tenant_id))
    return stmt.where(*made).group_by(key), key


def _count_distinct_departments(subjects: Subjects, *joins: Any, where: list[Any]) -> sa.Select[Any]:
    stmt, _ = _projects(subjects, sa.func.count(sa.distinct(Project.department_id)))
    for target, on in joins:
        stmt = stmt.join(target, on)
    return stmt.where(*where)


def _targets_units_num(_: Any, s: Subjects) -> sa.Select[Any]:
    return _count_distinct_departments(s, (TargetSet, TargetSet.project_id == Project.id),
                                       where=[facts.targets_filed(s.by_cutoff)])


def _units_den(_: Any, s: Subjects) -> sa.Select[Any]:
    return _count_distinct_departments(s, where=[])


def _budgeted_units_den(_: Any, s: Subjects) -> sa.Select[Any]:
    return _count_distinct_departments(s, where=[facts.budgeted()])


def _targets_amount_num(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(Project.id), sa.func.sum(_amount()))
    return stmt.join(TargetSet, TargetSet.project_id == Project.id).where(facts.targets_filed(s.by_cutoff))


def _amount_den(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(Project.id), sa.func.sum(_amount()))
    return stmt


def _amount() -> Any:
    # Money is text on SQLite: sum it as a number there (exact enough for a ratio).
    return sa.cast(Project.requested_amount, sa.Numeric(18, 2))


def _monitoring_units_num(_: Any, s: Subjects) -> sa.Select[Any]:
    return _count_distinct_departments(s, where=[Project.id.in_(facts.monitored_projects(s.by_cutoff))])


def _self_eval_units_num(_: Any, s: Subjects) -> sa.Select[Any]:
    return _count_distinct_departments(s, where=[Project.id.in_(facts.self_evaluated_projects(s.by_cutoff))])


def _exante_num(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(ExAnteAssessment.id))
    return stmt.join(ExAnteAssessment, ExAnteAssessment.project_id == Project.id).where(
        s.by_cutoff(ExAnteAssessment.assessed_at))


def _exante_den(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(Project.id))
    return stmt.where(facts.exante_asked_by_default())


def _key_eval_num(_: Any, s: Subjects) -> sa.Select[Any]:
    evaluated = facts.externally_evaluated_projects(facts.KEY_EVALUATION_KINDS, s.by_cutoff)
    stmt, _ = _projects(s, sa.func.count(Project.id))
    return stmt.where(Project.is_key.is_(True), Project.id.in_(evaluated))


def _key_den(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(Project.id))
    return stmt.where(Project.is_key.is_(True), facts.budgeted())


def _external_evaluations(s: Subjects, *where: Any) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(Evaluation.id))
    return stmt.join(Evaluation, Evaluation.project_id == Project.id).where(
        facts.submitted_evaluations(facts.EXTERNAL_EVALUATION_KINDS, s.by_cutoff), *where)


def _published_num(_: Any, s: Subjects) -> sa.Select[Any]:
    return _external_evaluations(s, s.by_cutoff(Evaluation.published_at), Project.classified.is_(False))


def _publishable_den(_: Any, s: Subjects) -> sa.Select[Any]:
    return _external_evaluations(s, Project.classified.is_(False))


def _notices(s: Subjects, *where: Any) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(RectificationNotice.id))
    return stmt.join(RectificationNotice, RectificationNotice.project_id == Project.id).where(
        s.by_cutoff(RectificationNotice.created_at), *where)


def _on_time_num(session: Session, s: Subjects) -> sa.Select[Any]:
    return _notices(s, rectification.closed_on_time(session), s.by_cutoff(RectificationNotice.verified_at))


def _notices_den(_: Any, s: Subjects) -> sa.Select[Any]:
    return _notices(s)


def _results_num(_: Any, s: Subjects) -> sa.Select[Any]:
    stmt, _ = _projects(s, sa.func.count(ResultApplication.id))
    return stmt.join(ResultApplication, ResultApplication.project_id == Project.id).where(
        s.by_cutoff(ResultApplication.created_at))


def _evaluations_den(_: Any, s: Subjects) -> sa.Select[Any]:
    return _external_evaluations(s)


#: The core's metrics (registered by the assessment plugin; plugins add theirs with ``register_assessment_metrics``).
CORE_METRICS = [
    Metric("targets_units", "报送绩效目标的单位占比", _targets_units_num, _units_den),
    Metric("targets_amount", "设定绩效目标的资金占比", _targets_amount_num, _amount_den, amount=True),
    Metric("monitoring_units", "开展绩效监控的单位占比", _monitoring_units_num, _budgeted_units_den),
    Metric("self_evaluation_units", "开展单位自评的单位占比", _self_eval_units_num, _budgeted_units_den),
    Metric("exante_done", "新增项目政策事前评估开展率", _exante_num, _exante_den),
    Metric("key_evaluations", "重点项目财政评价覆盖率", _key_eval_num, _key_den),
    Metric("reports_published", "评价报告公开率", _published_num, _publishable_den),
    Metric("rectification_on_time", "整改按期完成率", _on_time_num, _notices_den),
    Metric("results_applied", "评价结果应用率", _results_num, _evaluations_den),
]


def init_app(app: Flask, metrics: list[Metric]) -> None:
    """Record the metrics computed indicators may name (collected when the app is made)."""
    app.extensions["jixiao.assessment_metrics"] = by_name(metrics, lambda metric: metric.name, "assessment metric")


def registered() -> dict[str, Metric]:
    """The current app's metrics, by name."""
    return current_app.extensions["jixiao.assessment_metrics"]


def compute(session: Session, metric: str, subjects: Subjects) -> dict[int, tuple[Decimal, Decimal]]:
    """``{subject id: (numerator, denominator)}`` for every subject; two statements whatever their number."""
    spec = registered()[metric]
    numerators = {row[0]: row[-1] for row in session.execute(spec.numerator(session, subjects))}
    denominators = {row[0]: row[-1] for row in session.execute(spec.denominator(session, subjects))}
    return {sid: (Decimal(str(numerators.get(sid) or 0)), Decimal(str(denominators.get(sid) or 0)))
            for sid in subjects.ids}


def points(maximum: Decimal, numerator: Decimal, denominator: Decimal, empty: str) -> tuple[Decimal | None, Decimal]:
    """(ratio, points) for a computed indicator: ``max × min(ratio, 1)``; no denominator → ``empty`` decides
    (``full`` or ``zero``; a not-applicable item is left out by the caller and scores 0 here)."""
    if denominator <= 0:
        return None, (maximum if empty == "full" else Decimal(0)).quantize(Decimal("0.01"))
    ratio = min(numerator / denominator, Decimal(1))
    return ratio.quantize(Decimal("0.0001")), (maximum * ratio).quantize(Decimal("0.01"))


def count_text(value: Decimal, amount: bool = False) -> str:
    """A count as people write it (``10``, never ``1E+1``), an amount in 万元 with separators (``8,528.00万元``,
    never ``8.528E+7``)."""
    if amount:
        return f"{(value / 10000).quantize(Decimal('0.01')):,}万元"
    return f"{value.normalize():f}"
