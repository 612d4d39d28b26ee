"""Periodic scans, and the schedule that runs them (data, read by ``jixiao scheduler``).

Scans span tenants: each runs as a platform job and works tenant by tenant, each tenant under its own scope,
so row-level security holds inside the scan too. They are idempotent: notifications are written once
(``dedupe_key``), and a payment already suspended stays as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from jixiao import audit
from jixiao.accounts.models import Role, User
from jixiao.db import TenantScope, scoped
from jixiao.jobs.notifications import notify
from jixiao.jobs.service import JobContext, job_kind
from jixiao.lifecycle.models import (
    Light,
    MonitoringReport,
    NoticeStatus,
    Project,
    RectificationNotice,
)
from jixiao.tenancy.models import Tenant

# The schedule, as data: (job kind, cron expression in the server's time zone, what it is for).
SCHEDULE = [
    ("scan.monitoring_reminders", "0 9 1 * *", "每月1日提醒预算单位报送上月绩效监控"),
    ("scan.daily", "30 2 * * *", "每日标记逾期整改、监控偏差和逾期未回应的预警"),
]


def _local_now() -> datetime:
    return datetime.now(ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")))


def _tenants_with_projects(year: int | None = None) -> list[Tenant]:
    with scoped(TenantScope(system=True)) as session:
        every_tenant = tuple(session.scalars(sa.select(Tenant.id)))
    # Reading across tenants is what a platform scan is for; row-level security needs to be told so.
    with scoped(TenantScope(system=True, read_ids=every_tenant)) as session:
        ids = sa.select(Project.tenant_id).distinct()
        if year is not None:
            ids = ids.where(Project.year == year)
        return list(session.scalars(sa.select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.code)))


def _users(session: Any, tenant: Tenant, role: str) -> list[User]:
    return [u for u in session.scalars(sa.select(User).where(User.tenant_id == tenant.id, User.active.is_(True)))
            if u.has_role(role)]


def _project_url(tenant: Tenant, project_id: int, anchor: str) -> str:
    # Built by hand: a worker has no request to build URLs from (the page is lifecycle.project).
    return f"/t/{tenant.code}/projects/{project_id}#{anchor}"


def run_scheduled(kind: str) -> None:
    """What the cron scheduler enqueues: record the scan as a platform job and run it in this worker."""
    from jixiao.jobs.runner import app
    from jixiao.jobs.service import create_record, execute

    with app().app_context():
        execute(create_record(None, None, kind, {}), None, retries_left=0)


@job_kind("scan.monitoring_reminders", label="绩效监控报送提醒", queue="scheduled", max_attempts=2)
def monitoring_reminders(ctx: JobContext, year: int | None = None, month: int | None = None) -> dict[str, Any]:
    """Remind each unit of the monitoring reports it owes for the last month due."""
    from jixiao.lifecycle.common import department_subtree_ids
    from jixiao.lifecycle.todo import monitoring_due

    now = _local_now()
    year, month = year or now.year, month or now.month
    tenants = _tenants_with_projects(year)
    written = 0
    for index, tenant in enumerate(tenants, start=1):
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as session:
            due = monitoring_due(session, tenant, Project.tenant_id == tenant.id, year, month)
            units = _users(session, tenant, Role.DEPARTMENT)
            for project, period in due:
                for user in units:
                    if project.department_id not in department_subtree_ids(session, user.department_id):
                        continue
                    written += notify(session, tenant_id=tenant.id, user_id=user.id, kind="monitoring_due",
                                      title=f"请报送《{project.name}》{period}月绩效监控",
                                      body=f"{year}年{period}月的双监控报告尚未报送。",
                                      url=_project_url(tenant, project.id, "monitoring"),
                                      dedupe_key=f"monitoring:{project.id}:{year}-{period}")
            session.commit()
        ctx.progress(index * 100 // max(len(tenants), 1), f"{tenant.name}：已检查")
    return {"tenants": len(tenants), "notifications": written}


@job_kind("scan.daily", label="每日整改与监控检查", queue="scheduled", max_attempts=2)
def daily_scan(ctx: JobContext) -> dict[str, Any]:
    """Overdue rectifications, red monitoring reports and overdue answers to warnings, tenant by tenant."""
    from jixiao.lifecycle.rectification import today

    on = today()
    tenants = _tenants_with_projects()
    counts = {"overdue_notices": 0, "off_track": 0, "suspended": 0, "notifications": 0}
    for index, tenant in enumerate(tenants, start=1):
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as session:
            finance = _users(session, tenant, Role.FINANCE)
            units = _users(session, tenant, Role.DEPARTMENT)
            overdue = list(session.scalars(
                sa.select(RectificationNotice).join(RectificationNotice.project)
                .where(RectificationNotice.tenant_id == tenant.id, RectificationNotice.deadline < on,
                       RectificationNotice.status != NoticeStatus.VERIFIED)))
            counts["overdue_notices"] += len(overdue)
            for notice in overdue:
                recipients = finance + [u for u in units if u.department_id == notice.project.department_id]
                for user in recipients:
                    counts["notifications"] += notify(
                        session, tenant_id=tenant.id, user_id=user.id, kind="rectification_overdue",
                        title=f"整改逾期：《{notice.project.name}》", body=f"整改期限 {notice.deadline} 已过，尚未完成核验。",
                        url=_project_url(tenant, notice.project_id, "rectification"),
                        dedupe_key=f"overdue:{notice.id}:{notice.deadline}")
            red = list(session.scalars(
                sa.select(MonitoringReport).join(MonitoringReport.project)
                .where(MonitoringReport.tenant_id == tenant.id, MonitoringReport.light == Light.RED)))
            counts["off_track"] += len(red)
            for report in red:
                for user in finance:
                    counts["notifications"] += notify(
                        session, tenant_id=tenant.id, user_id=user.id, kind="monitoring_red",
                        title=f"监控红灯：《{report.project.name}》{report.period}月",
                        body=f"执行率 {report.execution_rate}%，偏差原因：{report.cause or '未填写'}",
                        url=_project_url(tenant, report.project_id, "monitoring"),
                        dedupe_key=f"red:{report.id}:{report.version}")
            late = list(session.scalars(
                sa.select(MonitoringReport).join(MonitoringReport.project)
                .where(MonitoringReport.tenant_id == tenant.id, MonitoringReport.response_due < on,
                       MonitoringReport.response.is_(None), Project.payment_suspended.is_(False))))
            for report in late:
                project = report.project
                before = {"payment_suspended": False}
                project.payment_suspended = True
                project.suspension_reason = (f"{report.period}月监控预警未在 {report.response_due} 前回应"
                                             "（继续执行 / 调剂 / 取消），按规定暂停拨款")
                audit.record(session, actor=None, action="payment.suspend", obj=project, before=before,
                             after={"payment_suspended": True, "suspension_reason": project.suspension_reason})
                counts["suspended"] += 1
                for user in finance + units:
                    counts["notifications"] += notify(
                        session, tenant_id=tenant.id, user_id=user.id, kind="payment_suspended",
                        title=f"暂停拨款：《{project.name}》", body=project.suspension_reason,
                        url=_project_url(tenant, project.id, "monitoring"), dedupe_key=f"suspend:{report.id}")
            session.commit()
        ctx.progress(index * 100 // max(len(tenants), 1), f"{tenant.name}：已检查")
    return counts
