"""Background jobs, registered like any plugin: their pages, API, the self-check job, and the delivery of
notifications to the channels beyond the bell (the core's e-mail channel)."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.jobs import api, builtin, channels, commands, views


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]


@hookimpl
def register_job_kinds() -> list[Any]:
    return [builtin.selfcheck, channels.deliver]


@hookimpl
def notification_channels() -> list[Any]:
    return [channels.EmailChannel()]


@hookimpl
def register_commands() -> list[Any]:
    return [commands.jobs_group]
