"""A project as its page shows it: one read model of every step, with what the reader may do as data.

The page renders it and adds only the state of a form that failed; the permissions are the services' own
predicates, so a button is shown exactly when the endpoint behind it would accept the request.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from jixiao.accounts.models import User
from jixiao.catalog import service as catalog
from jixiao.documents import service as documents
from jixiao.errors import Conflict
from jixiao.lifecycle import (
    agencies,
    common,
    evaluations,
    experts,
    monitoring,
    projects,
    rectification,
    results,
    targets,
)
from jixiao.lifecycle.models import EvaluationKind, EvaluationStatus, Project, Stage, TargetStatus
from jixiao.tenancy.models import Tenant

#: Targets the unit may still change: never filed, or returned by finance.
EDITABLE_TARGETS = (TargetStatus.DRAFT, TargetStatus.RETURNED)


@dataclasses.dataclass(frozen=True)
class ProjectPermissions:
    """What the reader may do on the project page (each a service's own rule)."""

    own: bool  # the reader belongs to the project's bureau (upper levels read only)
    finance: bool
    unit: bool  # the project's unit, or finance
    assess_exante: bool
    edit_targets: bool
    monitor: bool
    start_self_evaluation: bool
    generate_documents: bool
    submit_evaluations: frozenset[int]  # the evaluations whose form the reader may submit


@dataclasses.dataclass(frozen=True)
class ProjectOverview:
    project: Project
    tenant: Tenant
    may: ProjectPermissions
    exante: dict[str, Any]
    target_set: Any
    indicators: list[Any]
    periods_owed: list[int]
    reports: list[Any]
    filed: set[int]
    next_period: int | None
    evaluations: list[Any]
    evaluable: bool
    forms: dict[int, Any]  # evaluation id → (form, table), or why it cannot be filled
    notices: list[Any]
    evidence: dict[int, Any]
    overdue: set[int]
    to_notice: list[Any]
    default_rectification_days: int
    graded: list[Any]
    suggestions: dict[int, Any]
    choices: dict[int, Any]
    actions: dict[str, str]
    decision_history: Any
    result_chain: dict[str, Any]
    grade_actions: list[tuple[str, str]]
    applications: list[Any]
    history: list[Any]
    catalog_items: list[Any]
    evaluation_documents: Any
    notice_documents: Any
    agencies: list[Any]


def next_period_due(owed: list[int], filed: set[int], year: int, today: date) -> int | None:
    """The month the monitoring form offers first: the latest month already over that the project owes,
    unless it was filed (then the first one not filed)."""
    if not owed:
        return None
    over = 12 if year < today.year else (today.month - 1 if year == today.year else 0)
    due = [m for m in owed if m <= over]
    if due and due[-1] not in filed:
        return due[-1]
    return next((m for m in owed if m not in filed), owed[-1])


def project_overview(session: Session, actor: User, tenant: Tenant, project: Project) -> ProjectOverview:
    """Everything the project page shows ``actor`` about ``project`` (already checked visible)."""
    own = common.is_own_tenant(actor, tenant)
    finance = common.is_finance(actor, tenant)
    unit = common.is_unit_or_finance(session, actor, project)
    hooks = common.hooks(session, tenant)

    target_set = targets.targets_for(session, project)
    owed = monitoring.periods_owed(session, tenant, project)
    reports = monitoring.reports_for(session, project)
    filed = {r.period for r in reports}
    evaluation_list = evaluations.list_evaluations(session, actor, tenant, project_id=project.id)
    submittable = frozenset(e.id for e in evaluation_list if e.status is EvaluationStatus.ASSIGNED
                            and evaluations.may_submit_evaluation(session, actor, e))
    evaluable = project.stage in evaluations.EVALUATED_STAGES
    notices = rectification.ledger(session, actor, tenant, project_id=project.id)
    noticed = {n.evaluation_id for n in notices}
    applications = results.results_for(session, project.id)
    decisions = results.decision_history(session, tenant, project)  # the page's and the chain's, read once
    graded = [e for e in evaluation_list if e.status is EvaluationStatus.SUBMITTED and e.grade]
    grades = {e.id: e.grade for e in graded if e.grade}  # the same evaluations: grade of each, as a str
    may = ProjectPermissions(
        own=own, finance=finance, unit=unit,
        assess_exante=projects.may_assess_exante(session, actor, tenant, project)
        and project.stage in (Stage.DRAFT, Stage.TARGETS_SUBMITTED),
        edit_targets=unit and (target_set is None or target_set.status in EDITABLE_TARGETS),
        monitor=unit and project.stage in monitoring.MONITORED_STAGES,
        start_self_evaluation=unit and evaluable and not any(e.kind is EvaluationKind.SELF for e in evaluation_list),
        generate_documents=documents.may_generate(actor, tenant),
        submit_evaluations=submittable)
    return ProjectOverview(
        project=project, tenant=tenant, may=may,
        exante={"required": projects.exante_required(session, tenant, project),
                "assessment": projects.exante_for(session, project),
                "dimensions": hooks.exante_dimensions() or [],
                "blocker": projects.exante_blocker(session, tenant, project), "may": may.assess_exante,
                **experts.draw_overview(session, actor, tenant, project)},
        target_set=target_set, indicators=list(target_set.indicators) if target_set else [],
        periods_owed=owed, reports=reports, filed=filed,
        next_period=next_period_due(owed, filed, project.year, rectification.today()),
        evaluations=evaluation_list, evaluable=evaluable, forms=_forms(session, tenant, evaluation_list, submittable),
        notices=notices, evidence={n.id: rectification.evidence_of(session, n) for n in notices},
        overdue={n.id for n in notices if rectification.is_overdue(n)},
        to_notice=[e for e in evaluation_list if e.status is EvaluationStatus.SUBMITTED and e.id not in noticed],
        default_rectification_days=common.tenant_view(session, tenant).settings["rectification.default_days"],
        graded=graded,
        # Each evaluation offers only the decisions its grade allows; labels cover every code a decision carries.
        suggestions={eid: results.suggestion(session, tenant, grade, project.year) for eid, grade in grades.items()},
        choices={eid: results.allowed_actions(session, tenant, project.year, grade) for eid, grade in grades.items()},
        actions=results.action_labels(session, tenant, project.year,
                                      [*grades.values()] + [a.grade for a in applications]),
        decision_history=decisions,
        result_chain=results.chain(session, tenant, project, decisions),
        grade_actions=[(str(band[0]), results.suggestion(session, tenant, str(band[0]), project.year)["label"])
                       for band in hooks.evaluation_grade_bands(kind="self") or []],
        applications=applications, history=projects.project_history(session, project),
        catalog_items=catalog.search(session, tenant, project.year, category=project.category)
        if project.category else [],
        evaluation_documents=documents.documents_by_owner(session, actor, tenant, "evaluations",
                                                          [e.id for e in evaluation_list]),
        notice_documents=documents.documents_by_owner(session, actor, tenant, "rectification_notices",
                                                      [n.id for n in notices]),
        agencies=agencies.library(session, tenant, project.year, active_only=True) if finance else [])


def _forms(session: Session, tenant: Tenant, evaluation_list: list[Any], submittable: frozenset[int]) -> dict[int, Any]:
    forms: dict[int, Any] = {}
    for evaluation in evaluation_list:
        if evaluation.id in submittable:
            try:
                forms[evaluation.id] = (evaluations.form_of(session, tenant, evaluation),
                                        evaluations.table_of(session, tenant, evaluation))
            except Conflict as exc:
                forms[evaluation.id] = exc.message
    return forms
