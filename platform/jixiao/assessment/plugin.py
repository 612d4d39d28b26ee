"""Inter-level assessment, registered like any plugin: pages, API, jobs (and the daily reminder of self-report
deadlines, scheduled beside the lifecycle's scans), ranking notices and the metrics."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.assessment import api, jobs, metrics, views


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]


@hookimpl
def register_job_kinds() -> list[Any]:
    return [jobs.finalize, jobs.publish, jobs.ranking_notice, jobs.self_report_reminders]


@hookimpl
def register_schedules() -> list[Any]:
    return list(jobs.SCHEDULE)


@hookimpl
def register_document_owners() -> list[Any]:
    return [jobs.CAMPAIGN_DOCUMENTS]


@hookimpl
def register_assessment_metrics() -> list[Any]:
    return list(metrics.CORE_METRICS)
