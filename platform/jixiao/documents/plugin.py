"""Generated documents, registered like any plugin: their pages, API and the PDF jobs."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.documents import api, jobs, views


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]


@hookimpl
def register_job_kinds() -> list[Any]:
    return [jobs.evaluation_report, jobs.rectification_notice, jobs.statistics_report, jobs.ranking_notice]
