"""Tenants, registered like any plugin: the home pages and the tenant API."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.tenancy import api, commands, views


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]


@hookimpl
def register_commands() -> list[Any]:
    return [commands.tenants_group]
