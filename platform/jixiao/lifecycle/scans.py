"""The lifecycle's periodic scans, and the schedule that runs them (registered by the lifecycle's plugin, read by
``jixiao scheduler``).

Scans span tenants: each runs as a platform job and works tenant by tenant, each tenant under its own scope,
so row-level security holds inside the scan too. They are idempotent: notifications are written once
(``dedupe_key``), and a payment already suspended stays as it is.

A notification about a project goes to ``jixiao.policy.project_audience``: those whom it concerns among the
users who may open the project, by the same rule as the project pages. Each kind is set-based: a fixed
number of statements per tenant, whatever the number of records and users.
"""

from __future__ import annotations

import collections
import functools
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from jixiao import units
from jixiao.db import TenantScope, scoped, select_many
from jixiao.jobs import channels
from jixiao.jobs.notifications import write_many
from jixiao.jobs.service import JobContext, Schedule, job_kind
from jixiao.lifecycle import projects
from jixiao.lifecycle.models import (
    Light,
    MonitoringReport,
    NoticeStatus,
    Project,
    RectificationNotice,
)
from jixiao.policy import Concern, SystemActor, audience_of
from jixiao.tenancy.models import Tenant

#: The schedule, as data (cron expressions in the server's time zone).
SCHEDULE = [
    Schedule("scan.monitoring_reminders", "0 9 1 * *", "每月1日提醒预算单位报送上月绩效监控"),
    Schedule("scan.daily", "30 2 * * *", "每日标记逾期整改、监控偏差和逾期未回应的预警，提醒即将到期的整改和预警回应"),
]


def _local_now() -> datetime:
    return units.local_now()


def _tenants_with_projects(year: int | None = None) -> list[Tenant]:
    with scoped(TenantScope(system=True)) as session:
        every_tenant = tuple(session.scalars(sa.select(Tenant.id)))
    # Reading across tenants is what a platform scan is for; row-level security needs to be told so.
    with scoped(TenantScope(system=True, read_ids=every_tenant)) as session:
        # One index probe per tenant: the distinct tenant ids of every project would read the whole table, each
        # row checked against the list of every tenant by row-level security (48 ms at 170,000 projects; 2 ms).
        has_projects = sa.select(Project.id).where(Project.tenant_id == Tenant.id)
        if year is not None:
            has_projects = has_projects.where(Project.year == year)
        return list(session.scalars(sa.select(Tenant).where(has_projects.exists()).order_by(Tenant.code)))


def _project_url(tenant: Tenant, project_id: int, anchor: str) -> str:
    # Built by hand: a worker has no request to build URLs from (the page is lifecycle.project).
    return f"/t/{tenant.code}/projects/{project_id}#{anchor}"


def _named_rows(session: Any, statements: tuple[Any, ...]) -> list[list[Any]]:
    """Each statement's rows, with their columns by name, all read in one round trip (``db.select_many``)."""
    shapes = [_row_shape(tuple(statement.selected_columns.keys())) for statement in statements]
    return [[shape._make(row) for row in rows]
            for shape, rows in zip(shapes, select_many(session, statements), strict=True)]


@functools.cache
def _row_shape(columns: tuple[str, ...]) -> Any:
    """A row class for these column names, made once per process (not twice per tenant of every scan)."""
    return collections.namedtuple("Row", columns)


def _audience(session: Any, project_ids: Any, *concern: Concern) -> dict[int, list[int]]:
    """Project id → the ids of the users a notification about it goes to (one statement; see ``policy``)."""
    recipients: dict[int, list[int]] = {}
    for user_id, project_id in audience_of(session, project_ids, *concern):
        recipients.setdefault(project_id, []).append(user_id)
    return recipients


def _reminded(result: dict[str, Any]) -> str:
    return f"检查了 {result.get('tenants', 0)} 个财政部门，发出 {result.get('notifications', 0)} 条报送提醒"


def _scanned(result: dict[str, Any]) -> str:
    return (f"逾期未整改 {result.get('overdue_notices', 0)} 项，红灯项目 {result.get('off_track', 0)} 个，"
            f"暂停拨款 {result.get('suspended', 0)} 个，即将到期 {result.get('due_soon', 0)} 项，"
            f"发出提醒 {result.get('notifications', 0)} 条")


@job_kind("scan.monitoring_reminders", label="绩效监控报送提醒", queue="scheduled", max_attempts=2,
          describe=_reminded)
def monitoring_reminders(ctx: JobContext, year: int | None = None, month: int | None = None) -> dict[str, Any]:
    """Remind each unit of the monitoring reports it owes for the last month due (its staff who can open the
    project: the project's department and the departments above it)."""
    from jixiao.lifecycle.todo import monitoring_due

    now = _local_now()
    year, month = year or now.year, month or now.month
    tenants = _tenants_with_projects(year)
    written = 0
    for index, tenant in enumerate(tenants, start=1):
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as session:
            due = monitoring_due(session, tenant, Project.tenant_id == tenant.id, year, month)
            recipients = _audience(session, [project.id for project, _period in due], Concern.UNIT) if due else {}
            ids = write_many(session, (
                {"tenant_id": tenant.id, "user_id": user_id, "kind": "monitoring_due",
                 "title": f"请报送《{project.name}》{period}月绩效监控", "body": f"{year}年{period}月的双监控报告尚未报送。",
                 "url": _project_url(tenant, project.id, "monitoring"),
                 "dedupe_key": f"monitoring:{project.id}:{year}-{period}"}
                for project, period in due for user_id in recipients.get(project.id, ())))
            written += len(ids)
            session.commit()
            channels.dispatch(session, tenant, ids)
        ctx.progress(index * 100 // max(len(tenants), 1), f"{tenant.name}：已检查")
    return {"tenants": len(tenants), "notifications": written}


@job_kind("scan.daily", label="每日整改与监控检查", queue="scheduled", max_attempts=2, describe=_scanned)
def daily_scan(ctx: JobContext) -> dict[str, Any]:
    """Overdue rectifications, red monitoring reports, overdue answers to warnings, and the rectifications and
    answers falling due within ``notifications.reminder_days``, tenant by tenant.

    A fixed number of statements per tenant, whatever the number of records and users: one read of its open
    rectification notices and one of the monitoring reports that need a word (red, or a warning unanswered),
    sorted into the four kinds here; one read of their audience for each concern (finance and the project's
    unit, or the unit alone); one insert of every notification (skipping those already written); and the
    suspension, when a warning went unanswered. The tenants' settings come from one read of their ancestors.
    The notifications written are then handed to the channels beyond the bell (one job per tenant; none when no
    channel is on).
    """
    from jixiao.lifecycle import common
    from jixiao.lifecycle.rectification import today

    on = today()
    tenants = _tenants_with_projects()
    with scoped(TenantScope(system=True, read_ids=tuple(t.id for t in tenants))) as session:
        views = common.tenant_views(session, tenants)
    counts = {"overdue_notices": 0, "off_track": 0, "suspended": 0, "due_soon": 0, "notifications": 0}
    for index, tenant in enumerate(tenants, start=1):
        until = on + timedelta(days=int(views[tenant.id].settings["notifications.reminder_days"]))
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as session:
            found, written = _scan_tenant(session, tenant, on, until)
            for kind, number in found.items():
                counts[kind] += number
            counts["notifications"] += len(written)
            session.commit()
            channels.dispatch(session, tenant, written)
        ctx.progress(index * 100 // max(len(tenants), 1), f"{tenant.name}：已检查")
    return counts


def _scan_tenant(session: Any, tenant: Tenant, on: Any, until: Any) -> tuple[dict[str, int], list[int]]:
    """One tenant's part of the daily scan (see :func:`daily_scan`): what it found of each kind, and the ids of
    the notifications it wrote."""
    notices, reports = _named_rows(session, (
        sa.select(RectificationNotice.id, RectificationNotice.project_id, RectificationNotice.deadline,
                  RectificationNotice.status, Project.name)
        .join(Project, Project.id == RectificationNotice.project_id)
        .where(RectificationNotice.tenant_id == tenant.id, RectificationNotice.deadline <= until,
               RectificationNotice.status != NoticeStatus.VERIFIED),
        sa.select(MonitoringReport.id, MonitoringReport.project_id, MonitoringReport.period,
                  MonitoringReport.execution_rate, MonitoringReport.cause, MonitoringReport.red_episode,
                  MonitoringReport.light, MonitoringReport.response_due,
                  MonitoringReport.response.is_(None).label("unanswered"), Project.name,
                  Project.payment_suspended, Project.approved_amount.is_not(None).label("approved"))
        .join(Project, Project.id == MonitoringReport.project_id)
        .where(MonitoringReport.tenant_id == tenant.id,
               sa.or_(MonitoringReport.light == Light.RED,
                      sa.and_(MonitoringReport.response.is_(None), MonitoringReport.response_due <= until)))))
    # The first warning of a project that fell due decides its suspension's reason.
    reports.sort(key=lambda r: (r.project_id, r.response_due is None, r.response_due or on, r.id))

    overdue = [n for n in notices if n.deadline < on]
    notices_due = [n for n in notices if n.deadline >= on and n.status in (NoticeStatus.ISSUED, NoticeStatus.RETURNED)]
    red = [r for r in reports if r.light == Light.RED]
    first_late: dict[int, Any] = {}
    for r in reports:
        if (r.response_due is not None and r.response_due < on and r.unanswered and not r.payment_suspended
                and r.approved):
            first_late.setdefault(r.project_id, r)
    answers_due = [r for r in reports if r.response_due is not None and on <= r.response_due <= until and r.unanswered]

    told = sorted({n.project_id for n in overdue} | {r.project_id for r in red} | set(first_late))
    # The unit hears of a red light and a suspension too: it is the one to answer the warning (继续执行 / 调剂 /
    # 取消) before payment stops.
    finance_and_unit = _audience(session, told, Concern.FINANCE, Concern.UNIT) if told else {}
    reminded = sorted({n.project_id for n in notices_due} | {r.project_id for r in answers_due})
    unit = _audience(session, reminded, Concern.UNIT) if reminded else {}
    reasons = {project_id: (f"{r.period}月监控预警未在 {r.response_due} 前回应（继续执行 / 调剂 / 取消），按规定暂停拨款")
               for project_id, r in first_late.items()}

    def to(recipients: dict[int, list[int]], project_id: int, **notification: Any) -> list[dict[str, Any]]:
        return [{"tenant_id": tenant.id, "user_id": user_id, **notification} for user_id in recipients.get(project_id, ())]

    notifications = [
        *(item for n in overdue for item in to(
            finance_and_unit, n.project_id, kind="rectification_overdue", title=f"整改逾期：《{n.name}》",
            body=f"整改期限 {n.deadline} 已过，尚未完成核验。", url=_project_url(tenant, n.project_id, "rectification"),
            dedupe_key=f"overdue:{n.id}:{n.deadline}")),
        # Once per red light (its episode), not per version: a correction or an answer that leaves it red is the
        # same red light, already told; one that went away and came back is told again.
        *(item for r in red for item in to(
            finance_and_unit, r.project_id, kind="monitoring_red", title=f"监控红灯：《{r.name}》{r.period}月",
            body=f"执行率 {r.execution_rate}%，偏差原因：{r.cause or '未填写'}",
            url=_project_url(tenant, r.project_id, "monitoring"), dedupe_key=f"red:{r.id}:{r.red_episode}")),
        *(item for project_id, r in first_late.items() for item in to(
            finance_and_unit, project_id, kind="payment_suspended", title=f"暂停拨款：《{r.name}》",
            body=reasons[project_id], url=_project_url(tenant, project_id, "monitoring"),
            dedupe_key=f"suspend:{r.id}")),
        # Once per record and due date: a deadline moved is a new reminder.
        *(item for n in notices_due for item in to(
            unit, n.project_id, kind="rectification_due_soon", title=f"整改即将到期：《{n.name}》",
            body=f"整改期限为 {n.deadline}，请按期反馈整改情况。", url=_project_url(tenant, n.project_id, "rectification"),
            dedupe_key=f"due-soon:notice:{n.id}:{n.deadline}")),
        *(item for r in answers_due for item in to(
            unit, r.project_id, kind="warning_due_soon", title=f"预警回应即将到期：《{r.name}》{r.period}月",
            body=f"请于 {r.response_due} 前回应监控预警（继续执行 / 调剂 / 取消），逾期将暂停拨款。",
            url=_project_url(tenant, r.project_id, "monitoring"),
            dedupe_key=f"due-soon:warning:{r.id}:{r.response_due}")),
    ]
    written = write_many(session, notifications)
    # The suspension is the projects service's, as finance's own is: audited (as the system), and the tenant's
    # plugins hear of it. The notifications commit with it, or not at all.
    suspended = projects.suspend_payments(session, SystemActor(tenant_id=tenant.id, purpose="scan.daily"), tenant,
                                          reasons) if reasons else []
    return ({"overdue_notices": len(overdue), "off_track": len(red), "suspended": len(suspended),
             "due_soon": len(notices_due) + len(answers_due)}, written)
