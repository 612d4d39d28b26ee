"""Platform operation, registered like any plugin: the operator pages and the system and security API."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.system import api, security_api, views


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp, security_api.blp]
