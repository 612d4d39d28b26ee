"""The project lifecycle, registered like any plugin: pages, API, the daily scans, the documents its records
own and the to-do list."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.lifecycle import api, document_jobs, reports, scans, todo, views
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
    return [todo.lifecycle_todo]


def _positive_days(days: int) -> int:
    if days < 1:
        raise ValueError("应为至少 1 天")
    return days


@hookimpl
def declare_settings() -> list[Setting]:
    """The settings the lifecycle reads: the rectification deadline and the wording of the rectification notice
    (``lifecycle.reports``; without a prefix, the notice's number uses the bureau's name)."""
    return [
        Setting("rectification.default_days", "integer", default=30, check=_positive_days,
                description="财政下达整改通知而未指定期限时，单位完成整改的天数"),
        Setting("documents.number_prefix", "text",
                description="整改通知书文号的机关代字，如“零财绩”；未设置时取本级名称的第一个字加“财绩”"),
        Setting("documents.rectification_requirements", "texts", default=list(reports.DEFAULT_REQUIREMENTS),
                description="整改通知书中的整改要求，每项一段"),
    ]
