"""Generated documents, registered like any plugin: the documents page and API (the domains own their PDFs)."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.documents import api, views


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]
