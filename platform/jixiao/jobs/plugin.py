"""Background jobs, registered like any plugin: their pages, API and the self-check job."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.jobs import api, builtin, commands, views


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]


@hookimpl
def register_job_kinds() -> list[Any]:
    return [builtin.selfcheck]


@hookimpl
def register_commands() -> list[Any]:
    return [commands.jobs_group]
