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

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from jixiao import units
from jixiao.db import TenantScope, scoped
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
from jixiao.policy import Concern, SystemActor, project_audience
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
        ids = sa.select(Project.tenant_id).distinct()
        if year is not None:
            ids = ids.where(Project.year == year)
        return list(session.scalars(sa.select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.code)))


def _project_url(tenant: Tenant, project_id: int, anchor: str) -> str:
    # Built by hand: a worker has no request to build URLs from (the page is lifecycle.project).
    return f"/t/{tenant.code}/projects/{project_id}#{anchor}"


def _audience(session: Any, project_ids: Any, *concern: Concern) -> dict[int, list[int]]:
    """Project id → the ids of the users a notification about it goes to (one statement; see ``policy``)."""
    recipients: dict[int, list[int]] = {}
    for user_id, project_id in session.execute(project_audience(project_ids, concern=concern)):
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

    Each kind is a fixed number of statements per tenant, whatever the number of records and users: one read
    of the records, one of their audience (finance and the project's unit, among those who can open it), one
    insert (that skips the notifications already written). The notifications written are then handed to the
    channels beyond the bell (one job per tenant; none when no channel is on).
    """
    from jixiao.lifecycle.rectification import today

    on = today()
    tenants = _tenants_with_projects()
    counts = {"overdue_notices": 0, "off_track": 0, "suspended": 0, "due_soon": 0, "notifications": 0}
    for index, tenant in enumerate(tenants, start=1):
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as session:
            overdue_notices = _overdue_notices(session, tenant, on)
            red_reports = _red_reports(session, tenant)
            suspended = _suspend_late_answers(session, tenant, on)
            due_soon = _falling_due(session, tenant, on)
            counts["overdue_notices"] += overdue_notices[0]
            counts["off_track"] += red_reports[0]
            counts["suspended"] += suspended[0]
            counts["due_soon"] += due_soon[0]
            written = [*overdue_notices[1], *red_reports[1], *suspended[1], *due_soon[1]]
            counts["notifications"] += len(written)
            session.commit()
            channels.dispatch(session, tenant, written)
        ctx.progress(index * 100 // max(len(tenants), 1), f"{tenant.name}：已检查")
    return counts


def _overdue_notices(session: Any, tenant: Tenant, on: Any) -> tuple[int, list[int]]:
    overdue = (sa.select(RectificationNotice.id, RectificationNotice.project_id, RectificationNotice.deadline,
                         Project.name)
               .join(Project, Project.id == RectificationNotice.project_id)
               .where(RectificationNotice.tenant_id == tenant.id, RectificationNotice.deadline < on,
                      RectificationNotice.status != NoticeStatus.VERIFIED))
    rows = session.execute(overdue).all()
    if not rows:
        return 0, []
    recipients = _audience(session, overdue.with_only_columns(RectificationNotice.project_id), Concern.FINANCE,
                           Concern.UNIT)
    written = write_many(session, (
        {"tenant_id": tenant.id, "user_id": user_id, "kind": "rectification_overdue",
         "title": f"整改逾期：《{name}》", "body": f"整改期限 {deadline} 已过，尚未完成核验。",
         "url": _project_url(tenant, project_id, "rectification"), "dedupe_key": f"overdue:{notice_id}:{deadline}"}
        for notice_id, project_id, deadline, name in rows for user_id in recipients.get(project_id, ())))
    return len(rows), written


def _red_reports(session: Any, tenant: Tenant) -> tuple[int, list[int]]:
    red = (sa.select(MonitoringReport.id, MonitoringReport.project_id, MonitoringReport.period,
                     MonitoringReport.execution_rate, MonitoringReport.cause, MonitoringReport.red_episode, Project.name)
           .join(Project, Project.id == MonitoringReport.project_id)
           .where(MonitoringReport.tenant_id == tenant.id, MonitoringReport.light == Light.RED))
    rows = session.execute(red).all()
    if not rows:
        return 0, []
    # The unit hears of it too: it is the one to answer the warning (继续执行 / 调剂 / 取消) before payment stops.
    # Once per red light (its episode), not per version: a correction or an answer that leaves it red is the
    # same red light, already told; one that went away and came back is told again.
    recipients = _audience(session, red.with_only_columns(MonitoringReport.project_id), Concern.FINANCE, Concern.UNIT)
    written = write_many(session, (
        {"tenant_id": tenant.id, "user_id": user_id, "kind": "monitoring_red",
         "title": f"监控红灯：《{name}》{period}月", "body": f"执行率 {rate}%，偏差原因：{cause or '未填写'}",
         "url": _project_url(tenant, project_id, "monitoring"), "dedupe_key": f"red:{report_id}:{episode}"}
        for report_id, project_id, period, rate, cause, episode, name in rows
        for user_id in recipients.get(project_id, ())))
    return len(rows), written


def _suspend_late_answers(session: Any, tenant: Tenant, on: Any) -> tuple[int, list[int]]:
    """Suspend the payment of each project with a warning left unanswered past its due date (once per project:
    the first warning that fell due decides the reason) and tell finance and the unit. The suspension is the
    projects service's, as finance's own is: audited (as the system), and the tenant's plugins hear of it."""
    late = (sa.select(MonitoringReport.id, MonitoringReport.project_id, MonitoringReport.period,
                      MonitoringReport.response_due, Project.name)
            .join(Project, Project.id == MonitoringReport.project_id)
            .where(MonitoringReport.tenant_id == tenant.id, MonitoringReport.response_due < on,
                   MonitoringReport.response.is_(None), Project.payment_suspended.is_(False),
                   Project.approved_amount.is_not(None))
            .order_by(MonitoringReport.project_id, MonitoringReport.response_due, MonitoringReport.id))
    first: dict[int, Any] = {}
    for row in session.execute(late):
        first.setdefault(row.project_id, row)
    if not first:
        return 0, []
    reasons = {project_id: (f"{row.period}月监控预警未在 {row.response_due} 前回应（继续执行 / 调剂 / 取消），按规定暂停拨款")
               for project_id, row in first.items()}
    recipients = _audience(session, list(first), Concern.FINANCE, Concern.UNIT)
    written = write_many(session, (
        {"tenant_id": tenant.id, "user_id": user_id, "kind": "payment_suspended", "title": f"暂停拨款：《{row.name}》",
         "body": reasons[project_id], "url": _project_url(tenant, project_id, "monitoring"),
         "dedupe_key": f"suspend:{row.id}"}
        for project_id, row in first.items() for user_id in recipients.get(project_id, ())))
    # The notifications commit with the suspension, or not at all.
    suspended = projects.suspend_payments(session, SystemActor(tenant_id=tenant.id, purpose="scan.daily"), tenant,
                                          reasons)
    return len(suspended), written


def _falling_due(session: Any, tenant: Tenant, on: Any) -> tuple[int, list[int]]:
    """Remind the unit of what falls due within the tenant's ``notifications.reminder_days`` (from today on): a
    rectification not yet answered (or returned to it), and a warning's answer not yet given. Once per record and
    due date: a deadline moved is a new reminder."""
    from jixiao.lifecycle import common

    days = int(common.tenant_view(session, tenant).settings["notifications.reminder_days"])
    until = on + timedelta(days=days)
    notices = (sa.select(RectificationNotice.id, RectificationNotice.project_id, RectificationNotice.deadline,
                         Project.name)
               .join(Project, Project.id == RectificationNotice.project_id)
               .where(RectificationNotice.tenant_id == tenant.id, RectificationNotice.deadline >= on,
                      RectificationNotice.deadline <= until,
                      RectificationNotice.status.in_([NoticeStatus.ISSUED, NoticeStatus.RETURNED])))
    answers = (sa.select(MonitoringReport.id, MonitoringReport.project_id, MonitoringReport.response_due,
                         MonitoringReport.period, Project.name)
               .join(Project, Project.id == MonitoringReport.project_id)
               .where(MonitoringReport.tenant_id == tenant.id, MonitoringReport.response_due >= on,
                      MonitoringReport.response_due <= until, MonitoringReport.response.is_(None)))
    notice_rows, answer_rows = session.execute(notices).all(), session.execute(answers).all()
    if not notice_rows and not answer_rows:
        return 0, []
    project_ids = sorted({row.project_id for row in [*notice_rows, *answer_rows]})
    recipients = _audience(session, project_ids, Concern.UNIT)
    written = write_many(session, [
        *({"tenant_id": tenant.id, "user_id": user_id, "kind": "rectification_due_soon",
           "title": f"整改即将到期：《{name}》", "body": f"整改期限为 {deadline}，请按期反馈整改情况。",
           "url": _project_url(tenant, project_id, "rectification"), "dedupe_key": f"due-soon:notice:{notice_id}:{deadline}"}
          for notice_id, project_id, deadline, name in notice_rows for user_id in recipients.get(project_id, ())),
        *({"tenant_id": tenant.id, "user_id": user_id, "kind": "warning_due_soon",
           "title": f"预警回应即将到期：《{name}》{period}月",
           "body": f"请于 {due} 前回应监控预警（继续执行 / 调剂 / 取消），逾期将暂停拨款。",
           "url": _project_url(tenant, project_id, "monitoring"), "dedupe_key": f"due-soon:warning:{report_id}:{due}"}
          for report_id, project_id, due, period, name in answer_rows for user_id in recipients.get(project_id, ())),
    ])
    return len(notice_rows) + len(answer_rows), written
