"""Indicator catalogs, registered like any plugin: their pages and API."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.catalog import api, views


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]
