"""The to-do list (待办) every home page leads with: derived from the records, never stored.

Each item says what to do, for which project, and links to the form that clears it.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from jixiao import units
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

LIMIT = 200


TodoSource = Callable[[Session, User, Tenant], list[TodoItem]]


def init_app(app: Flask, sources: list[TodoSource]) -> None:
    """Record the app's to-do sources (collected from the plugins' ``register_todo_sources``)."""
    app.extensions["jixiao.todo_sources"] = list(sources)


def todo(session: Session, actor: User, tenant: Tenant) -> list[TodoItem]:
    """What ``actor`` has to do in their own tenant: every registered source's items, in registration order."""
    if not common.is_own_tenant(actor, tenant):
        return []
    return [item for source in current_app.extensions["jixiao.todo_sources"] for item in source(session, actor, tenant)]


def lifecycle_todo(session: Session, actor: User, tenant: Tenant) -> list[TodoItem]:
    """The lifecycle's to-dos for ``actor`` in their own tenant (a bounded number of statements)."""
    if not common.is_own_tenant(actor, tenant):
        return []
    items: list[TodoItem] = []
    visible = common.project_filter(session, actor, tenant)
    if actor.has_role(Role.DEPARTMENT):
        items += _unit_items(session, tenant, visible)
    if actor.has_role(Role.FINANCE):
        items += _finance_items(session, visible)
    if actor.has_role(Role.EVALUATOR) and actor.agency_id:
        assigned = session.execute(
            sa.select(Evaluation.id, Project.id, Project.name, Evaluation.kind).join(Evaluation.project)
            .where(Evaluation.agency_id == actor.agency_id, Evaluation.status == EvaluationStatus.ASSIGNED)
            .limit(LIMIT)).all()
        items += [TodoItem("evaluation", f"开展{kind.label}", pid, name, "evaluations", eid)
                  for eid, pid, name, kind in assigned]
    if actor.has_role(Role.AUDITOR):
        from jixiao.lifecycle.rectification import today

        overdue = session.execute(
            sa.select(RectificationNotice.id, Project.id, Project.name, RectificationNotice.deadline)
            .join(RectificationNotice.project)
            .where(visible, RectificationNotice.status != NoticeStatus.VERIFIED, RectificationNotice.deadline < today())
            .limit(LIMIT)).all()
        items += [TodoItem("overdue", "跟踪逾期未完成的整改", pid, name, "rectification", nid, str(due))
                  for nid, pid, name, due in overdue]
    return items


def _unit_items(session: Session, tenant: Tenant, visible: sa.ColumnElement[bool]) -> list[TodoItem]:
    items: list[TodoItem] = []
    drafts = session.execute(
        sa.select(Project.id, Project.name, TargetSet.status).outerjoin(TargetSet, TargetSet.project_id == Project.id)
        .where(visible, Project.stage == Stage.DRAFT).limit(LIMIT)).all()
    for pid, name, status in drafts:
        label = "按财政意见修改并重新提交绩效目标" if status is TargetStatus.RETURNED else "填报并提交绩效目标"
        items.append(TodoItem("targets", label, pid, name, "targets"))
    today = units.local_today()  # the bureau's month decides which monitoring reports are due
    year, month = today.year, today.month
    for project, period in monitoring_due(session, tenant, visible, year, month):
        items.append(TodoItem("monitoring", f"报送 {period} 月绩效监控", project.id, project.name, "monitoring",
                              due=f"{year}-{period:02d}"))
    unevaluated = session.execute(
        sa.select(Project.id, Project.name).where(
            visible, Project.year < year, facts.budgeted(), ~Project.id.in_(facts.self_evaluated_projects()))
        .limit(LIMIT)).all()
    items += [TodoItem("self_evaluation", "完成单位自评", pid, name, "evaluations") for pid, name in unevaluated]
    notices = session.execute(
        sa.select(RectificationNotice.id, Project.id, Project.name, RectificationNotice.deadline)
        .join(RectificationNotice.project)
        .where(visible, RectificationNotice.status.in_([NoticeStatus.ISSUED, NoticeStatus.RETURNED])).limit(LIMIT)).all()
    items += [TodoItem("rectification", "反馈整改情况", pid, name, "rectification", nid, str(due))
              for nid, pid, name, due in notices]
    return items


def monitoring_due(session: Session, tenant: Tenant, visible: sa.ColumnElement[bool], year: int,
                   month: int) -> list[tuple[Project, int]]:
    """Budgeted projects of ``year`` whose report for the last month owed before ``month`` is missing."""
    if month - 1 < 1:
        return []
    projects = list(session.scalars(
        sa.select(Project).where(visible, Project.year == year, facts.budgeted()).limit(LIMIT)))
    filed = set(session.execute(sa.select(MonitoringReport.project_id, MonitoringReport.period).where(
        MonitoringReport.project_id.in_([p.id for p in projects]))).all())
    hooks = common.hooks(session, tenant)
    due = []
    for project in projects:
        owed = [m for m in hooks.monitoring_periods(project=ProjectView.build(project), year=year) or [] if m < month]
        if owed and (project.id, max(owed)) not in filed:
            due.append((project, max(owed)))
    return due


def _finance_items(session: Session, visible: sa.ColumnElement[bool]) -> list[TodoItem]:
    items: list[TodoItem] = []
    submitted = session.execute(sa.select(Project.id, Project.name).join(TargetSet, TargetSet.project_id == Project.id)
                                .where(visible, TargetSet.status == TargetStatus.SUBMITTED).limit(LIMIT)).all()
    items += [TodoItem("targets_review", "审核绩效目标", pid, name, "targets") for pid, name in submitted]
    approved = session.execute(sa.select(Project.id, Project.name).where(visible, Project.stage == Stage.TARGETS_APPROVED)
                               .limit(LIMIT)).all()
    items += [TodoItem("budget", "批复预算", pid, name, "budget") for pid, name in approved]
    assigned = session.execute(
        sa.select(Evaluation.id, Project.id, Project.name, Evaluation.kind).join(Evaluation.project)
        .where(visible, Evaluation.status == EvaluationStatus.ASSIGNED, Evaluation.agency_id.is_(None),
               Evaluation.kind.in_([EvaluationKind.FINANCE])).limit(LIMIT)).all()
    items += [TodoItem("evaluation", f"开展{kind.label}", pid, name, "evaluations", eid)
              for eid, pid, name, kind in assigned]
    answered = session.execute(
        sa.select(RectificationNotice.id, Project.id, Project.name).join(RectificationNotice.project)
        .where(visible, RectificationNotice.status == NoticeStatus.ANSWERED).limit(LIMIT)).all()
    items += [TodoItem("rectification_verify", "核验整改情况", pid, name, "rectification", nid)
              for nid, pid, name in answered]
    return items
