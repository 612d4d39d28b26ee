"""What every lifecycle service shares: who may see and change a project, the tenant's hooks, commits."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_app_context
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from jixiao import audit
from jixiao.accounts.models import Department, Role, User
from jixiao.errors import Conflict, Forbidden, NotFound
from jixiao.lifecycle.models import Evaluation, Project
from jixiao.plugins import PluginHost, TenantHooks
from jixiao.tenancy import service as tenancy
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import ProjectView, TenantView

FINANCE_ROLES = (Role.FINANCE,)
READ_ALL_ROLES = (Role.ADMIN, Role.FINANCE, Role.AUDITOR, Role.VIEWER, Role.EXPERT)


def host() -> PluginHost:
    return current_app.extensions["jixiao.plugins"]


def tenant_view(session: Session, tenant: Tenant) -> TenantView:
    """The tenant as hooks see it, worked out once per request."""
    cache: dict[int, TenantView] = g.setdefault("jixiao_tenant_views", {}) if has_app_context() else {}
    if tenant.id not in cache:
        cache[tenant.id] = tenancy.view(session, host(), tenant)
    return cache[tenant.id]


def hooks(session: Session, tenant: Tenant) -> TenantHooks:
    return host().for_tenant(tenant_view(session, tenant))


def is_own_tenant(actor: User, tenant: Tenant) -> bool:
    return actor.tenant_id == tenant.id


def department_subtree_ids(session: Session, department_id: int | None) -> list[int]:
    """A department and the units under it (部门 → 单位)."""
    if department_id is None:
        return []
    rows = session.execute(sa.select(Department.id, Department.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for child_id, parent_id in rows:
        children.setdefault(parent_id, []).append(child_id)
    found, frontier = [department_id], [department_id]
    while frontier:
        frontier = [c for p in frontier for c in children.get(p, [])]
        found.extend(frontier)
    return found


def project_filter(session: Session, actor: User, tenant: Tenant) -> Any:
    """The SQL condition for the projects ``actor`` may see in ``tenant``.

    Upper levels read everything below them; inside the tenant, finance, auditors, administrators, experts
    and viewers see every project, department staff their department's (and its units'), evaluators only the
    projects whose evaluations are assigned to their agency.
    """
    condition = Project.tenant_id == tenant.id
    if not is_own_tenant(actor, tenant) or actor.has_role(*READ_ALL_ROLES):
        return condition
    allowed: list[Any] = []
    if actor.has_role(Role.DEPARTMENT) and actor.department_id:
        allowed.append(Project.department_id.in_(department_subtree_ids(session, actor.department_id)))
    if actor.has_role(Role.EVALUATOR) and actor.agency_id:
        assigned = sa.select(Evaluation.project_id).where(Evaluation.agency_id == actor.agency_id)
        allowed.append(Project.id.in_(assigned))
    return sa.and_(condition, sa.or_(*allowed)) if allowed else sa.false()


def get_project(session: Session, actor: User, tenant: Tenant, project_id: int) -> Project:
    project = session.scalar(sa.select(Project).where(Project.id == project_id, project_filter(session, actor, tenant)))
    if project is None:
        raise NotFound("未找到该项目，或您无权查看")
    return project


def require_finance(actor: User, tenant: Tenant, what: str) -> None:
    if not (is_own_tenant(actor, tenant) and actor.has_role(Role.FINANCE)):
        raise Forbidden(f"只有本级财政绩效人员可以{what}")


def require_unit_or_finance(session: Session, actor: User, project: Project, what: str) -> None:
    """The project's own unit (department staff of its department or a parent) or finance."""
    if actor.tenant_id != project.tenant_id:
        raise Forbidden(f"只有本级人员可以{what}")
    if actor.has_role(Role.FINANCE):
        return
    if actor.has_role(Role.DEPARTMENT) and project.department_id in department_subtree_ids(session, actor.department_id):
        return
    raise Forbidden(f"只有项目所属单位或财政绩效人员可以{what}")


def check_version(record: Any, version: int | None, what: str) -> None:
    if version is not None and version != record.version:
        raise Conflict(f"{what}已被他人修改（当前版本 {record.version}，您提交的是 {version}），请刷新后重试")


def commit(session: Session) -> None:
    try:
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Conflict() from exc


def emit(session: Session, tenant: Tenant, event: str, project: Project, actor: User, **detail: Any) -> None:
    """Tell the tenant's plugins, after the change committed."""
    hooks(session, tenant).on_lifecycle_event(
        event=event, project=ProjectView.build(project), actor=actor.username, detail=audit.service._jsonable(detail)
    )


def record(session: Session, actor: User, action: str, obj: Any, before: dict | None = None,
           after: dict | None = None) -> None:
    audit.record(session, actor=actor, action=action, obj=obj, before=before, after=after)


