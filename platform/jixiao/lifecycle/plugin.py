"""The project lifecycle, registered like any plugin: pages, API, the daily scans, the documents its records
own and the to-do list."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.documents.service import lifecycle_owners
from jixiao.lifecycle import api, scans, todo, views


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]


@hookimpl
def register_job_kinds() -> list[Any]:
    return [scans.monitoring_reminders, scans.daily_scan]


@hookimpl
def register_schedules() -> list[Any]:
    return list(scans.SCHEDULE)


@hookimpl
def register_document_owners() -> list[Any]:
    return lifecycle_owners()


@hookimpl
def register_todo_sources() -> list[Any]:
    return [todo.lifecycle_todo]
