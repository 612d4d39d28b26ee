"""The bell for inter-level assessment: the assessed hear that a campaign opened (self-report by its deadline) and
that its results are published, with a link to their own page of it.

Who hears: for a lower bureau assessed, its finance staff; for one of the assessor's own departments, the staff
of that department and of the units under it. Each subject's notices are written in its own tenant (as its
assignment is), one ``INSERT`` per tenant; one statement reads the users of every subject, one the departments.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao.accounts.models import Department, Role, User
from jixiao.assessment.models import Campaign
from jixiao.db import TenantScope, scoped
from jixiao.jobs import channels
from jixiao.jobs.notifications import write_many
from jixiao.tenancy.models import Tenant

OPENED, PUBLISHED = "opened", "published"


def _words(tenant: Tenant, campaign: Campaign, what: str) -> tuple[str, str, str]:
    if what == OPENED:
        return ("assessment_opened", f"考核已发起：{campaign.title}",
                f"{tenant.bureau_name}发起了{campaign.year}年度考核，请于 {campaign.deadline} 前完成自评。")
    return ("assessment_published", f"考核结果已发布：{campaign.title}",
            f"{tenant.bureau_name}已发布考核结果，请查看本级的得分、排名和扣分原因。")


def tell_subjects(session: Session, tenant: Tenant, campaign: Campaign, what: str) -> int:
    """Tell each subject of ``campaign`` that it opened (``OPENED``) or published (``PUBLISHED``); once per user
    and campaign, however often it is called. The number written. Commits each subject tenant's notices."""
    kind, title, body = _words(tenant, campaign, what)
    subjects = list(campaign.subjects)
    lower = {s.subject_tenant_id: s.code for s in subjects if s.subject_tenant_id}
    own_departments = {s.subject_department_id for s in subjects if s.subject_department_id}
    under: dict[int, int] = {}  # a department of the assessor → the subject department it belongs to
    if own_departments:
        parents = dict(session.execute(sa.select(Department.id, Department.parent_id)
                                       .where(Department.tenant_id == tenant.id)).all())
        for department_id in parents:
            root: int | None = department_id
            while root is not None and root not in own_departments:
                root = parents.get(root)
            if root is not None:
                under[department_id] = root
    wanted: list[sa.ColumnElement[bool]] = [User.tenant_id.in_(list(lower))] if lower else []
    if under:
        wanted.append(sa.and_(User.tenant_id == tenant.id, User.department_id.in_(list(under))))
    if not wanted:
        return 0
    by_tenant: dict[int, list[int]] = {}
    for user in session.execute(sa.select(User.id, User.tenant_id, User.roles, User.department_id)
                                .where(User.active.is_(True), sa.or_(*wanted)).order_by(User.id)):
        roles = set(user.roles or ())
        if (user.tenant_id in lower and Role.FINANCE in roles) or (
                user.tenant_id == tenant.id and user.department_id in under and Role.DEPARTMENT in roles):
            by_tenant.setdefault(user.tenant_id, []).append(user.id)
    written = 0
    for tenant_id, user_ids in by_tenant.items():
        code = lower.get(tenant_id, tenant.code)
        with scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id)) as writer:
            ids = write_many(writer, (
                {"tenant_id": tenant_id, "user_id": user_id, "kind": kind, "title": title, "body": body,
                 "url": f"/t/{code}/assessment-results/{campaign.id}",
                 "dedupe_key": f"assessment:{campaign.id}:{what}"} for user_id in user_ids))
            writer.commit()
            channels.dispatch(writer, _TenantRef(tenant_id), ids)
            written += len(ids)
    return written


@dataclasses.dataclass(frozen=True)
class _TenantRef:
    """What queueing a job needs of a tenant: its id (the subject's tenant, not loaded in full)."""

    id: int
