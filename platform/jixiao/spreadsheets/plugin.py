"""Excel import and export, registered like any plugin: pages, API, jobs and the documents they leave."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.spreadsheets import api, importer, job_kinds, views


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]


@hookimpl
def register_job_kinds() -> list[Any]:
    return [job_kinds.import_projects, job_kinds.export_list]


@hookimpl
def register_document_owners() -> list[Any]:
    return [importer.SPREADSHEET_DOCUMENTS]
