"""What every lifecycle service shares: who may see and change a project, the tenant's hooks, commits."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_app_context
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from jixiao import audit, policy
from jixiao.accounts.models import Department, Role, User
from jixiao.errors import RACE_MESSAGE, Conflict, Forbidden, NotFound, ValidationFailed, lost_race
from jixiao.lifecycle.models import Project
from jixiao.plugins import PluginHost, TenantHooks
from jixiao.tenancy import service as tenancy
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import ProjectView, TenantView

FINANCE_ROLES = (Role.FINANCE,)
READ_ALL_ROLES = policy.READ_ALL_ROLES


def host() -> PluginHost:
    return current_app.extensions["jixiao.plugins"]


def tenant_view(session: Session, tenant: Tenant) -> TenantView:
    """The tenant as hooks see it, worked out once per request."""
    cache: dict[int, TenantView] = g.setdefault("jixiao_tenant_views", {}) if has_app_context() else {}
    if tenant.id not in cache:
        cache[tenant.id] = tenancy.view(session, host(), tenant)
    return cache[tenant.id]


def tenant_views(session: Session, tenants: list[Tenant]) -> dict[int, TenantView]:
    """Many tenants as hooks see them (tenant id → view), their ancestors read in one statement, and remembered
    for :func:`tenant_view` as it remembers its own: a job going tenant by tenant asks once, not once a tenant.
    The session's scope must read the ancestors (a platform job's does)."""
    cache: dict[int, TenantView] = g.setdefault("jixiao_tenant_views", {}) if has_app_context() else {}
    wanted = [t for t in tenants if t.id not in cache]
    codes = sorted({code for t in wanted for code in t.ancestor_codes})
    above = {t.code: t for t in session.scalars(sa.select(Tenant).where(Tenant.code.in_(codes)))} if codes else {}
    for tenant in wanted:
        chain = [above[code] for code in tenant.ancestor_codes if code in above]
        cache[tenant.id] = tenancy.view(session, host(), tenant, [*chain, tenant])
    return {t.id: cache[t.id] for t in tenants}


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
    """The SQL condition for the projects ``actor`` may see in ``tenant``: :func:`jixiao.policy.visible_projects`
    (kept with this signature for the services that call it)."""
    return policy.visible_projects(actor, tenant)


def get_project(session: Session, actor: User, tenant: Tenant, project_id: int) -> Project:
    project = session.scalar(sa.select(Project).where(Project.id == project_id, project_filter(session, actor, tenant)))
    if project is None:
        raise NotFound("未找到该项目，或您无权查看")
    return project


def is_finance(actor: User, tenant: Tenant) -> bool:
    """The tenant's own finance staff (财政绩效人员)."""
    return is_own_tenant(actor, tenant) and actor.has_role(Role.FINANCE)


def require_finance(actor: User, tenant: Tenant, what: str) -> None:
    if not is_finance(actor, tenant):
        raise Forbidden(f"只有本级财政绩效人员可以{what}")


def is_unit_or_finance(session: Session, actor: User, project: Project) -> bool:
    """The project's own unit (department staff of its department or a parent) or finance, of its bureau."""
    if actor.tenant_id != project.tenant_id:
        return False
    return actor.has_role(Role.FINANCE) or (
        actor.has_role(Role.DEPARTMENT) and project.department_id in department_subtree_ids(session, actor.department_id))


def require_unit_or_finance(session: Session, actor: User, project: Project, what: str) -> None:
    if actor.tenant_id != project.tenant_id:
        raise Forbidden(f"只有本级人员可以{what}")
    if not is_unit_or_finance(session, actor, project):
        raise Forbidden(f"只有项目所属单位或财政绩效人员可以{what}")


def lock(session: Session, record: Any) -> Any:
    """Read ``record`` again, locked for this transaction (``SELECT … FOR UPDATE`` on PostgreSQL).

    Concurrent writers of the same row queue here; each one then sees what the one before committed (its new
    version, the child row it created), so the version check and the "already exists" checks after the lock
    are decided on committed data and a race ends in one success and 409s. SQLite serialises writers itself.
    """
    if session.get_bind().dialect.name != "postgresql":
        return record
    cls = type(record)
    stmt = sa.select(cls).where(cls.id == record.id).with_for_update(of=cls)
    locked = session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()
    if locked is None:  # row-level security lets this tenant read the row but not write it
        raise Forbidden("只有本级人员可以修改该记录")
    return locked


def serialise(session: Session, *key: Any) -> None:
    """Queue concurrent transactions on ``key`` until this one ends (a PostgreSQL transaction advisory lock):
    for the writes that have no one row to lock, such as drawing a year's sample."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(":".join(map(str, key)), 0))))


def check_version(record: Any, version: int | None, what: str) -> None:
    """The version the writer read must be the record's current one: missing is 400, stale is 409."""
    if version is None:
        raise ValidationFailed(f"请提交所读取的{what}版本号（version），以免覆盖他人的修改",
                               fields={"version": f"请提交所读取的{what}版本号（当前版本 {record.version}）"})
    if version != record.version:
        raise Conflict(f"{what}已被他人修改（当前版本 {record.version}，您提交的是 {version}），请刷新后重试",
                       fields={"version": f"当前版本为 {record.version}"})


def check_existing(record: Any, version: int | None, what: str) -> None:
    """A create-or-correct write found the record already there: without the version read it is a repeated
    create (409, the thing exists); with one it is a correction, checked like any other write."""
    if version is None:
        raise Conflict(f"{what}已存在（版本 {record.version}）；如需修改，请提交所读取的版本号（version）",
                       fields={"version": f"{what}已存在，当前版本为 {record.version}"})
    check_version(record, version, what)


def lock_version(session: Session, record: Any, version: int | None, what: str) -> Any:
    """Lock ``record`` and check the writer's ``version`` against what is committed (see ``lock``)."""
    if version is None:
        check_version(record, version, what)
    record = lock(session, record)
    check_version(record, version, what)
    return record


def commit(session: Session) -> None:
    """Commit; a write that lost a race (a stale version, a unique key taken meanwhile) is a 409."""
    try:
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Conflict() from exc
    except sa.exc.DBAPIError as exc:
        if not lost_race(exc):
            raise
        session.rollback()
        raise Conflict(RACE_MESSAGE) from exc


def emit(session: Session, tenant: Tenant, event: str, project: Project, actor: User, **detail: Any) -> None:
    """Tell the tenant's plugins, after the change committed."""
    emit_many(session, tenant, event, actor, [(project, detail)])


def emit_many(session: Session, tenant: Tenant, event: str, actor: Any,
              changes: list[tuple[Project, dict[str, Any]]]) -> None:
    """:func:`emit` for many projects of one tenant (after the change committed): one view of the tenant."""
    tenant_hooks = hooks(session, tenant)
    for project, detail in changes:
        tenant_hooks.on_lifecycle_event(event=event, project=ProjectView.build(project), actor=actor.username,
                                        detail=audit.service.jsonable(detail))


def record(session: Session, actor: User, action: str, obj: Any, before: dict | None = None,
           after: dict | None = None) -> None:
    audit.record(session, actor=actor, action=action, obj=obj, before=before, after=after)


