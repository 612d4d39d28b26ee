"""The bell for inter-level assessment: the assessed hear that a campaign opened (self-report by its deadline) and
that its results are published, with a link to their own page of it; and a lower bureau that has not reported
on every assessed item is reminded as the self-report deadline comes within its ``notifications.reminder_days``
(the daily ``scan.assessment_deadlines``, which the assessment's plugin registers beside the lifecycle's scans).

Who hears: for a lower bureau assessed, its finance staff; for one of the assessor's own departments, the staff
of that department and of the units under it. Each subject's notices are written in its own tenant (as its
assignment is), one ``INSERT`` per tenant; one statement reads the users of every subject, one the departments.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao.accounts.models import Department, Role, User
from jixiao.assessment.models import Campaign, CampaignStatus, SubjectAssignment
from jixiao.db import TenantScope, scoped
from jixiao.jobs import channels
from jixiao.jobs.notifications import write_many
from jixiao.lifecycle import common
from jixiao.policy import has_role_sql
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


def remind_self_reports(on: date, progress: Callable[[int, str], None] | None = None) -> dict[str, int]:
    """Remind the finance staff of each lower bureau assessed in an open campaign whose self-report deadline falls
    within its ``notifications.reminder_days`` (from ``on``, its day, on) and that has not reported on every
    assessed item. Once per user, campaign and deadline: a deadline moved is a new reminder, a scan run again
    writes nothing. ``{"campaigns", "subjects", "notifications"}``: the campaigns and bureaus reminded, the
    notifications written.

    A platform scan: one read of the open campaigns' lower-bureau assignments, across tenants (their rows are in
    the subjects' own tenants), one of those bureaus' finance staff; then per bureau its settings and one
    ``INSERT`` in its own scope, handed to the channels beyond the bell as the lifecycle's reminders are."""
    with scoped(TenantScope(system=True)) as session:
        every_tenant = tuple(session.scalars(sa.select(Tenant.id)))
    due: list[tuple[Tenant, SubjectAssignment, int]] = []
    with scoped(TenantScope(system=True, read_ids=every_tenant)) as session:
        rows = session.execute(
            sa.select(SubjectAssignment, Tenant)
            .join(Campaign, Campaign.id == SubjectAssignment.campaign_id)
            .join(Tenant, Tenant.id == SubjectAssignment.tenant_id)
            .where(Campaign.status == CampaignStatus.OPEN, SubjectAssignment.tenant_id != Campaign.tenant_id,
                   SubjectAssignment.deadline >= on)
            .order_by(Tenant.code, SubjectAssignment.campaign_id)).all()
        days: dict[int, int] = {}
        for assignment, tenant in rows:
            if tenant.id not in days:
                days[tenant.id] = int(common.tenant_view(session, tenant).settings["notifications.reminder_days"])
            missing = len({item["code"] for item in assignment.items} - set(assignment.self_reports or {}))
            if missing and assignment.deadline <= on + timedelta(days=days[tenant.id]):
                due.append((tenant, assignment, missing))
        staff: dict[int, list[int]] = {}
        if due:
            for user_id, tenant_id in session.execute(
                    sa.select(User.id, User.tenant_id)
                    .where(User.tenant_id.in_({tenant.id for tenant, _a, _m in due}), User.active.is_(True),
                           has_role_sql(User.roles, Role.FINANCE)).order_by(User.id)):
                if tenant_id is not None:  # always so: the bureaus' users, never an operator
                    staff.setdefault(tenant_id, []).append(user_id)
    by_tenant: dict[int, list[tuple[Tenant, SubjectAssignment, int]]] = {}
    for entry in due:
        by_tenant.setdefault(entry[0].id, []).append(entry)
    written = 0
    for index, (tenant_id, entries) in enumerate(by_tenant.items(), start=1):
        with scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id)) as writer:
            ids = write_many(writer, (_reminder(tenant, assignment, missing, user_id)
                                      for tenant, assignment, missing in entries
                                      for user_id in staff.get(tenant_id, ())))
            writer.commit()
            channels.dispatch(writer, _TenantRef(tenant_id), ids)
            written += len(ids)
        if progress is not None:
            progress(index * 100 // len(by_tenant), f"{entries[0][0].name}：已提醒")
    return {"campaigns": len({assignment.campaign_id for _t, assignment, _m in due}), "subjects": len(by_tenant),
            "notifications": written}


def _reminder(tenant: Tenant, assignment: SubjectAssignment, missing: int, user_id: int) -> dict[str, Any]:
    return {"tenant_id": tenant.id, "user_id": user_id, "kind": "assessment_due_soon",
            "title": f"考核自评即将截止：{assignment.title}",
            "body": f"{assignment.assessor_name}{assignment.year}年度考核的自评将于 {assignment.deadline} 截止，"
                    f"本级尚有 {missing} 项未报送，请按期完成自评。",
            "url": f"/t/{tenant.code}/assessment-results/{assignment.campaign_id}",
            "dedupe_key": f"assessment:{assignment.campaign_id}:due-soon:{assignment.deadline}"}
