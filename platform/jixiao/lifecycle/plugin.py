"""The project lifecycle, registered like any plugin: pages, API, the daily scans, the documents its records
own, the to-do list and the notices of its events (the bell)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jixiao import hookimpl
from jixiao.lifecycle import agencies, api, document_jobs, experts, notices, reports, scans, todo, views
from jixiao.toolkit import Setting


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]


@hookimpl
def register_job_kinds() -> list[Any]:
    return [scans.monitoring_reminders, scans.daily_scan, document_jobs.evaluation_report,
            document_jobs.rectification_notice]


@hookimpl
def register_schedules() -> list[Any]:
    return list(scans.SCHEDULE)


@hookimpl
def register_document_owners() -> list[Any]:
    return reports.lifecycle_owners()


@hookimpl
def register_todo_sources() -> list[Any]:
    return [todo.lifecycle_todo, experts.expert_todo]


@hookimpl
def on_lifecycle_event(tenant: Any, event: str, project: Any, actor: str, detail: dict[str, Any]) -> None:
    """Those who have to act on a change hear of it (``jixiao.lifecycle.notices``), in every tenant."""
    notices.on_lifecycle_event(tenant, event, project, detail)


def _positive_days(days: int) -> int:
    if days < 1:
        raise ValueError("应为至少 1 天")
    return days


def _quality_score(value: str) -> str:
    if not Decimal(0) <= Decimal(value) <= Decimal(100):
        raise ValueError("应在 0 到 100 分之间")
    return value


@hookimpl
def declare_settings() -> list[Setting]:
    """The settings the lifecycle reads: the rectification deadline, the wording of the rectification notice
    (``lifecycle.reports``; without a prefix, the notice's number uses the bureau's name) and the thresholds that
    turn an agency's yearly quality result into a reward or a penalty (``lifecycle.agencies``)."""
    return [
        Setting(agencies.REWARD_FROM, "decimal", default="90", check=_quality_score,
                description="第三方机构年度工作质量平均得分达到此分的，给予奖励"),
        Setting(agencies.NOTICE_BELOW, "decimal", default="70", check=_quality_score,
                description="第三方机构年度工作质量平均得分低于此分的，通报批评"),
        Setting(agencies.BAR_BELOW, "decimal", default="60", check=_quality_score,
                description="第三方机构年度工作质量平均得分低于此分的，暂停委托（当年及次年不得安排新的评价）"),
        Setting("rectification.default_days", "integer", default=30, check=_positive_days,
                description="财政下达整改通知而未指定期限时，单位完成整改的天数"),
        Setting("notifications.reminder_days", "integer", default=3, check=_positive_days,
                description="整改期限、监控预警回应期限到期前多少天提醒单位；考核自评截止前多少天提醒尚未报送完毕的被考核财政部门"),
        Setting("documents.number_prefix", "text",
                description="整改通知书文号的机关代字，如“零财绩”；未设置时取本级名称的第一个字加“财绩”"),
        Setting("documents.rectification_requirements", "texts", default=list(reports.DEFAULT_REQUIREMENTS),
                description="整改通知书中的整改要求，每项一段"),
    ]
