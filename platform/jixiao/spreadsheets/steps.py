"""The spreadsheet steps a page and an endpoint both take — check, then do it now or hand it to a job — written
once, so the two refuse the same things the same way and choose a job at the same size."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.orm import Session

from jixiao.accounts.models import User
from jixiao.documents import store
from jixiao.jobs import service as jobs
from jixiao.spreadsheets import bulk, export, importer, job_kinds, xlsx
from jixiao.tenancy.models import Tenant


@dataclasses.dataclass(frozen=True)
class ImportOutcome:
    """A project list taken in: ``created`` projects now, or ``job`` creates them (a long list)."""

    rows: int
    created: int
    job: Any | None


def import_project_list(session: Session, actor: User, tenant: Tenant, data: bytes, filename: str) -> ImportOutcome:
    """Take in a 项目清单. Up to ``SPREADSHEET_IMPORT_REQUEST_ROWS`` (5,000) rows every row is checked now (any
    problem: :class:`ValidationFailed` with the error report, nothing created); then the projects are created,
    or — longer than ``SPREADSHEET_JOB_ROWS`` (200) — a job checks again and creates them. A longer list (up
    to ``SPREADSHEET_MAX_IMPORT_ROWS``, 50,000) is only identified and its rows counted here: its job checks
    every row, then creates them all or none."""
    bulk.require_may_create(actor, tenant)
    survey = importer.survey_project_list(data, filename, tenant)
    if survey.errors:
        raise importer.reject(session, actor, tenant, survey.errors, filename=filename, what="项目清单",
                              owner_id=tenant.id)
    if survey.rows > importer.request_rows():
        return ImportOutcome(rows=survey.rows, created=0, job=_queue(session, actor, tenant, data, filename, survey.rows))
    checked = importer.check_project_list(session, actor, tenant, data, filename)
    if checked.errors:
        raise importer.reject(session, actor, tenant, checked.errors, filename=filename, what="项目清单",
                              owner_id=tenant.id)
    if checked.count > xlsx.config("SPREADSHEET_JOB_ROWS", 200):
        return ImportOutcome(rows=checked.count, created=0,
                             job=_queue(session, actor, tenant, data, filename, checked.count))
    created = bulk.create_projects(session, actor, tenant, checked.rows, total=checked.count)
    return ImportOutcome(rows=checked.count, created=created.count, job=None)


def _queue(session: Session, actor: User, tenant: Tenant, data: bytes, filename: str, rows: int) -> Any:
    sha256 = store.write_bytes(tenant.id, data)
    return jobs.enqueue(session, actor, tenant, job_kinds.IMPORT_PROJECTS,
                        {"sha256": sha256, "filename": filename, "rows": rows})


@dataclasses.dataclass(frozen=True)
class ExportOutcome:
    """An export: the workbook now (``filename``, ``data``), or ``job`` builds it (a long list)."""

    rows: int
    filename: str = ""
    data: bytes = b""
    job: Any | None = None


def start_export(session: Session, actor: User, tenant: Tenant, name: str, args: dict[str, Any]) -> ExportOutcome:
    """Build the export ``name`` of the list ``actor`` sees with ``args``; beyond the threshold a job in the
    actor's own tenant builds it and notifies them."""
    rows = export.size(session, actor, tenant, name, args)
    if rows > export.threshold():
        job = jobs.enqueue(session, actor, actor.tenant, job_kinds.EXPORT,
                           {"name": name, "tenant_id": tenant.id, "args": export.clean_args(name, args)})
        return ExportOutcome(rows=rows, job=job)
    filename, data = export.build(session, actor, tenant, name, args)
    return ExportOutcome(rows=rows, filename=filename, data=data)
