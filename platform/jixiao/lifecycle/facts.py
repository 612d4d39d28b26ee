"""The lifecycle's facts, as SQL: what counts as filed targets, a monitored project, a self-evaluated one, an
external evaluation done — written once for the statistics, the assessment metrics and the to-do list, so a
computed score, the statistics page and a unit's to-dos count the same records the same way.

Each fact is a condition or a ``SELECT project_id`` to put inside the caller's own statement (one GROUP BY over
every subject stays one statement). ``by`` is an optional cut-off: a function turning a timestamp column into
the condition "made by the cut-off" (an assessment reads the records as of its data cut-off date).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from jixiao.lifecycle.models import (
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    MonitoringReport,
    Project,
    ProjectKind,
    Stage,
    TargetSet,
    TargetStatus,
)

Cutoff = Callable[[Any], Any] | None

#: A project whose budget was approved (批复) is monitored, evaluated, rectified: every stage from then on.
BUDGETED_STAGES = (Stage.BUDGETED, Stage.EVALUATED, Stage.RECTIFYING, Stage.CLOSED)
#: Targets count as filed (报送) once submitted, and stay filed when approved; a returned table is not filed.
FILED_TARGET_STATUSES = (TargetStatus.SUBMITTED, TargetStatus.APPROVED)
#: Evaluations beyond the unit's own (部门评价, 财政评价, 第三方评价).
EXTERNAL_EVALUATION_KINDS = (EvaluationKind.DEPARTMENT, EvaluationKind.FINANCE, EvaluationKind.THIRD_PARTY)
#: What covers a key project (重点项目): an evaluation finance organises, itself or through an agency.
KEY_EVALUATION_KINDS = (EvaluationKind.FINANCE, EvaluationKind.THIRD_PARTY)
#: The kinds an ex-ante assessment is asked of by the national default (a new project or policy).
EXANTE_KINDS = (ProjectKind.PROJECT, ProjectKind.POLICY)


def _by(cutoff: Cutoff, column: Any) -> Any:
    return cutoff(column) if cutoff is not None else sa.true()


def budgeted() -> sa.ColumnElement[bool]:
    """The project's budget is approved (it is monitored and evaluated from then on)."""
    return Project.stage.in_(BUDGETED_STAGES)


def targets_filed(cutoff: Cutoff = None) -> sa.ColumnElement[bool]:
    """A ``TargetSet`` that is filed (submitted or approved), by the cut-off."""
    return sa.and_(TargetSet.status.in_(FILED_TARGET_STATUSES), _by(cutoff, TargetSet.submitted_at))


def monitored_projects(cutoff: Cutoff = None) -> sa.Select[Any]:
    """The projects with at least one monitoring report (双监控), by the cut-off."""
    return sa.select(MonitoringReport.project_id).where(_by(cutoff, MonitoringReport.created_at))


def self_evaluated_projects(cutoff: Cutoff = None) -> sa.Select[Any]:
    """The projects whose unit submitted its self-evaluation (单位自评), by the cut-off."""
    return sa.select(Evaluation.project_id).where(submitted_evaluations((EvaluationKind.SELF,), cutoff))


def submitted_evaluations(kinds: tuple[EvaluationKind, ...] = EXTERNAL_EVALUATION_KINDS,
                          cutoff: Cutoff = None) -> sa.ColumnElement[bool]:
    """An ``Evaluation`` of one of ``kinds`` that was submitted, by the cut-off."""
    return sa.and_(Evaluation.kind.in_(kinds), Evaluation.status == EvaluationStatus.SUBMITTED,
                   _by(cutoff, Evaluation.submitted_at))


def externally_evaluated_projects(kinds: tuple[EvaluationKind, ...] = EXTERNAL_EVALUATION_KINDS,
                                  cutoff: Cutoff = None) -> sa.Select[Any]:
    """The projects with a submitted evaluation of one of ``kinds`` (beyond the self-evaluation), by the cut-off."""
    return sa.select(Evaluation.project_id).where(submitted_evaluations(kinds, cutoff))


def exante_asked_by_default() -> sa.ColumnElement[bool]:
    """A new project or policy: what the national rule asks an ex-ante assessment of."""
    return sa.and_(Project.is_new.is_(True), Project.kind.in_(EXANTE_KINDS))
