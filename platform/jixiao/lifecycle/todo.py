"""The to-do list (待办) every home page leads with: derived from the records, never stored.

Each item says what to do, for which project, and links to the form that clears it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from jixiao import pagination, units
from jixiao.accounts.models import Role, User
from jixiao.lifecycle import common, facts
from jixiao.lifecycle.models import (
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    MonitoringReport,
    NoticeStatus,
    Project,
    RectificationNotice,
    Stage,
    TargetSet,
    TargetStatus,
)
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import ProjectView, TodoItem

#: Rows one statement of the scans' ``monitoring_due`` reads at most.
LIMIT = 200
#: What one to-do source lists at most: a source past it is cut. The bound keeps a to-do list's statements and
#: rows the same whatever the tenant's size (one API page of the largest size holds a whole source).
SOURCE_LIMIT = pagination.MAX_PER_PAGE


TodoSource = Callable[..., list[TodoItem]]
BoundedSource = Callable[[Session, User, Tenant, int], list[TodoItem]]


def init_app(app: Flask, sources: list[TodoSource]) -> None:
    """Record the app's to-do sources (collected from the plugins' ``register_todo_sources``)."""
    app.extensions["jixiao.todo_sources"] = [_bounded(source) for source in sources]


def _bounded(source: TodoSource) -> BoundedSource:
    """``source`` called with its limit (``fn(session, actor, tenant, *, limit)``), its answer cut there. A source
    written before the limit (``fn(session, actor, tenant)``) is called as it was: its answer is cut, its
    statements are its own to bound."""
    try:
        takes_limit = "limit" in inspect.signature(source).parameters
    except (TypeError, ValueError):  # a callable whose signature Python cannot read: the older form
        takes_limit = False

    def call(session: Session, actor: User, tenant: Tenant, limit: int) -> list[TodoItem]:
        items = source(session, actor, tenant, limit=limit) if takes_limit else source(session, actor, tenant)
        return list(items)[:limit]

    return call


def todo(session: Session, actor: User, tenant: Tenant, *, limit: int | None = None) -> list[TodoItem]:
    """What ``actor`` has to do in their own tenant: every registered source's items (at most ``limit`` each,
    default :data:`SOURCE_LIMIT`), in registration order."""
    if not common.is_own_tenant(actor, tenant):
        return []
    sources: list[BoundedSource] = current_app.extensions["jixiao.todo_sources"]
    each = SOURCE_LIMIT if limit is None else limit
    return [item for source in sources for item in source(session, actor, tenant, each)]


def todo_page(session: Session, actor: User, tenant: Tenant, *, page: int = 1,
              per_page: int = pagination.DEFAULT_PER_PAGE) -> pagination.Page[TodoItem]:
    """One page of :func:`todo`; ``total`` counts what the sources listed (each at most :data:`SOURCE_LIMIT`).

    The sources cannot be asked for "items 51 to 100" of a merge, and some cannot count in SQL (the months a
    project owes are a plugin's answer per project), so each lists up to its limit and the page is cut from the
    merge: the same statements for page 1 and page 9, for 3 to-dos and for 3,000."""
    return pagination.cut(todo(session, actor, tenant), page, per_page)


def lifecycle_todo(session: Session, actor: User, tenant: Tenant, *, limit: int = SOURCE_LIMIT) -> list[TodoItem]:
    """The lifecycle's to-dos for ``actor`` in their own tenant: a fixed number of statements, each reading at
    most ``limit`` rows, at most ``limit`` items."""
    if not common.is_own_tenant(actor, tenant):
        return []
    items: list[TodoItem] = []
    visible = common.project_filter(session, actor, tenant)
    if actor.has_role(Role.DEPARTMENT):
        items += _unit_items(session, tenant, visible, limit)
    if actor.has_role(Role.FINANCE):
        items += _finance_items(session, visible, limit)
    if actor.has_role(Role.EVALUATOR) and actor.agency_id:
        assigned = session.execute(
            sa.select(Evaluation.id, Project.id, Project.name, Evaluation.kind).join(Evaluation.project)
            .where(Evaluation.agency_id == actor.agency_id, Evaluation.status == EvaluationStatus.ASSIGNED)
            .order_by(Evaluation.id).limit(limit)).all()
        items += [TodoItem("evaluation", f"开展{kind.label}", pid, name, "evaluations", eid)
                  for eid, pid, name, kind in assigned]
    if actor.has_role(Role.AUDITOR):
        from jixiao.lifecycle.rectification import today

        overdue = session.execute(
            sa.select(RectificationNotice.id, Project.id, Project.name, RectificationNotice.deadline)
            .join(RectificationNotice.project)
            .where(visible, RectificationNotice.status != NoticeStatus.VERIFIED, RectificationNotice.deadline < today())
            .order_by(RectificationNotice.deadline, RectificationNotice.id).limit(limit)).all()
        items += [TodoItem("overdue", "跟踪逾期未完成的整改", pid, name, "rectification", nid, str(due))
                  for nid, pid, name, due in overdue]
    return items[:limit]


def _unit_items(session: Session, tenant: Tenant, visible: sa.ColumnElement[bool], limit: int) -> list[TodoItem]:
    items: list[TodoItem] = []
    drafts = session.execute(
        sa.select(Project.id, Project.name, TargetSet.status).outerjoin(TargetSet, TargetSet.project_id == Project.id)
        .where(visible, Project.stage == Stage.DRAFT).order_by(Project.id).limit(limit)).all()
    for pid, name, status in drafts:
        label = "按财政意见修改并重新提交绩效目标" if status is TargetStatus.RETURNED else "填报并提交绩效目标"
        items.append(TodoItem("targets", label, pid, name, "targets"))
    today = units.local_today()  # the bureau's month decides which monitoring reports are due
    year, month = today.year, today.month
    for project, period in monitoring_due(session, tenant, visible, year, month, limit=limit):
        items.append(TodoItem("monitoring", f"报送 {period} 月绩效监控", project.id, project.name, "monitoring",
                              due=f"{year}-{period:02d}"))
    unevaluated = session.execute(
        sa.select(Project.id, Project.name).where(
            visible, Project.year < year, facts.budgeted(), ~Project.id.in_(facts.self_evaluated_projects()))
        .order_by(Project.id).limit(limit)).all()
    items += [TodoItem("self_evaluation", "完成单位自评", pid, name, "evaluations") for pid, name in unevaluated]
    notices = session.execute(
        sa.select(RectificationNotice.id, Project.id, Project.name, RectificationNotice.deadline)
        .join(RectificationNotice.project)
        .where(visible, RectificationNotice.status.in_([NoticeStatus.ISSUED, NoticeStatus.RETURNED]))
        .order_by(RectificationNotice.deadline, RectificationNotice.id).limit(limit)).all()
    items += [TodoItem("rectification", "反馈整改情况", pid, name, "rectification", nid, str(due))
              for nid, pid, name, due in notices]
    return items


def monitoring_due(session: Session, tenant: Tenant, visible: sa.ColumnElement[bool], year: int,
                   month: int, *, limit: int = LIMIT) -> list[tuple[Project, int]]:
    """Budgeted projects of ``year`` whose report for the last month owed before ``month`` is missing (among the
    first ``limit`` of them)."""
    if month - 1 < 1:
        return []
    projects = list(session.scalars(
        sa.select(Project).where(visible, Project.year == year, facts.budgeted()).order_by(Project.id)
        .limit(limit)))
    filed = set(session.execute(sa.select(MonitoringReport.project_id, MonitoringReport.period).where(
        MonitoringReport.project_id.in_([p.id for p in projects]))).all())
    hooks = common.hooks(session, tenant)
    due = []
    for project in projects:
        owed = [m for m in hooks.monitoring_periods(project=ProjectView.build(project), year=year) or [] if m < month]
        if owed and (project.id, max(owed)) not in filed:
            due.append((project, max(owed)))
    return due


def _finance_items(session: Session, visible: sa.ColumnElement[bool], limit: int) -> list[TodoItem]:
    items: list[TodoItem] = []
    submitted = session.execute(sa.select(Project.id, Project.name).join(TargetSet, TargetSet.project_id == Project.id)
                                .where(visible, TargetSet.status == TargetStatus.SUBMITTED).order_by(Project.id)
                                .limit(limit)).all()
    items += [TodoItem("targets_review", "审核绩效目标", pid, name, "targets") for pid, name in submitted]
    approved = session.execute(sa.select(Project.id, Project.name).where(visible, Project.stage == Stage.TARGETS_APPROVED)
                               .order_by(Project.id).limit(limit)).all()
    items += [TodoItem("budget", "批复预算", pid, name, "budget") for pid, name in approved]
    assigned = session.execute(
        sa.select(Evaluation.id, Project.id, Project.name, Evaluation.kind).join(Evaluation.project)
        .where(visible, Evaluation.status == EvaluationStatus.ASSIGNED, Evaluation.agency_id.is_(None),
               Evaluation.kind.in_([EvaluationKind.FINANCE])).order_by(Evaluation.id).limit(limit)).all()
    items += [TodoItem("evaluation", f"开展{kind.label}", pid, name, "evaluations", eid)
              for eid, pid, name, kind in assigned]
    answered = session.execute(
        sa.select(RectificationNotice.id, Project.id, Project.name).join(RectificationNotice.project)
        .where(visible, RectificationNotice.status == NoticeStatus.ANSWERED)
        .order_by(RectificationNotice.id).limit(limit)).all()
    items += [TodoItem("rectification_verify", "核验整改情况", pid, name, "rectification", nid)
              for nid, pid, name in answered]
    return items
