"""The audit trail, registered like any plugin: its API (audit pages belong to system)."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.audit import api, commands


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]


@hookimpl
def register_commands() -> list[Any]:
    return [commands.audit_group]
