"""Spreadsheets API: the forms units fill (download, upload), the project list import, exports.

Thin adapters: the services in :mod:`jixiao.spreadsheets` decide; a rejected file answers 400
``validation_failed`` with ``fields.rows`` (the first 50 problems: row, column, message), ``fields.error_count``
and ``fields.report_url`` (the error report, an .xlsx to download from the documents API). Generated files
(error reports, long exports) are documents of owner type ``spreadsheets``, readable by their author only.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import fields

from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.dumping import Schema
from jixiao.errors import NotFound
from jixiao.idempotency import idempotent
from jixiao.inputs import Fixed, Integer, Score
from jixiao.jobs.schemas import JobSchema
from jixiao.lifecycle.common import get_project
from jixiao.lifecycle.schemas import LedgerQuerySchema, ProjectQuerySchema, YearQuerySchema
from jixiao.spreadsheets import export, importer, steps
from jixiao.spreadsheets import templates_xlsx as forms
from jixiao.spreadsheets.transfer import upload, xlsx_response
from jixiao.statistics.schemas import LeagueArgs

blp = Blueprint("spreadsheets_api", __name__, description="Excel templates, imports and exports")
PREFIX = "/tenants/<tenant_code>"


class UploadSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary", "description": "the filled .xlsx"})


class PeriodSchema(Schema):
    period = Integer(query=True, minimum=1, maximum=12,
                     metadata={"description": "绩效监控表: the month (1–12); default the latest month due"})


class ImportResultSchema(Schema):
    kind = fields.String()
    message = fields.String()
    indicators = fields.Integer()
    status = fields.String()
    warnings = fields.List(fields.Dict())
    report_id = fields.Integer()
    period = fields.Integer()
    light = fields.String()
    execution_rate = Fixed(2, 6, dump_only=True)
    evaluation_id = fields.Integer()
    execution_score = Score(dump_only=True)
    total_score = Score(dump_only=True)
    grade = fields.String()


class BulkImportSchema(Schema):
    status = fields.String(metadata={"description": "imported (201) or queued (202: a job does it)"})
    rows = fields.Integer()
    created = fields.Integer()
    job = fields.Nested(JobSchema, allow_none=True)
    job_url = fields.String(allow_none=True)


class QueuedSchema(Schema):
    status = fields.String()
    rows = fields.Integer()
    job = fields.Nested(JobSchema)
    job_url = fields.String()


def queued(job: Any, rows: int) -> dict[str, Any]:
    return {"status": "queued", "rows": rows, "job": job, "job_url": f"/api/v1/jobs/{job.id}"}


def start_export(name: str, args: dict[str, Any]) -> Any:
    """Stream the export, or (a long list) hand it to a job in the user's own tenant: 202 with the job."""
    outcome = steps.start_export(session(), current_user, current_tenant(), name, args)
    if outcome.job is not None:
        return QueuedSchema().dump(queued(outcome.job, outcome.rows)), 202
    return xlsx_response(outcome.data, outcome.filename)


# ---- Templates and imports of one project -----------------------------------------------------------------


@blp.route(f"{PREFIX}/projects/<int:project_id>/templates/<kind>")
class ProjectTemplate(MethodView):
    @require_login
    @blp.arguments(PeriodSchema, location="query")
    @blp.response(200, description="the .xlsx template")
    def get(self, args: dict[str, Any], project_id: int, kind: str) -> Any:
        """Download a project's form, pre-filled from its records: ``targets`` (绩效目标申报表), ``monitoring``
        (绩效监控表, ``period`` = the month) or ``self_evaluation`` (绩效自评表)."""
        db, tenant = session(), current_tenant()
        if kind not in forms.KINDS:
            raise NotFound(f"没有“{kind}”这种模板")
        project = get_project(db, current_user, tenant, project_id)
        filename, data = forms.build(db, tenant, project, kind, args.get("period"))
        return xlsx_response(data, filename)


@blp.route(f"{PREFIX}/projects/<int:project_id>/imports/<kind>")
class ProjectImport(MethodView):
    @require_login
    @blp.arguments(UploadSchema, location="files")
    @blp.response(200, ImportResultSchema)
    def post(self, _files: dict[str, Any], project_id: int, kind: str) -> Any:
        """Upload a filled form: every row is checked, then applied with one service call; any problem → 400
        with the rows, nothing written, and ``report_url`` (the error report)."""
        db, tenant = session(), current_tenant()
        if kind not in forms.KINDS:
            raise NotFound(f"没有“{kind}”这种表格")
        project = get_project(db, current_user, tenant, project_id)
        data, filename = upload()
        return importer.import_project_file(db, current_user, tenant, project, kind, data, filename)


# ---- The project list ---------------------------------------------------------------------------------------


@blp.route(f"{PREFIX}/imports/projects/template")
class ProjectListTemplate(MethodView):
    @require_login
    @blp.response(200, description="the .xlsx template")
    def get(self) -> Any:
        """Download the 项目清单 template (one row per project; the tenant's department codes on a second sheet)."""
        filename, data = forms.project_list_template(session(), current_tenant())
        return xlsx_response(data, filename)


@blp.route(f"{PREFIX}/imports/projects")
class ProjectListImport(MethodView):
    @require_login
    @idempotent
    @blp.arguments(UploadSchema, location="files")
    @blp.response(201, BulkImportSchema)
    @blp.alt_response(202, schema=BulkImportSchema, description="a long list: a job creates the projects")
    def post(self, _files: dict[str, Any]) -> Any:
        """Create many projects from a 项目清单 (at most ``SPREADSHEET_MAX_IMPORT_ROWS``, 50,000 rows): every row
        is checked before anything is created (codes new in the file and the tenant, departments known, amounts
        not negative …); any problem → nothing is created and an error report. A list longer than
        ``SPREADSHEET_JOB_ROWS`` (200) is created by a job (202): follow ``job_url``. Up to
        ``SPREADSHEET_IMPORT_REQUEST_ROWS`` (5,000) rows the upload checks every row (a problem → 400); a longer
        list is identified and counted at the upload and checked row by row by its job (a problem → the job
        fails with the error report as its result)."""
        data, filename = upload()
        outcome = steps.import_project_list(session(), current_user, current_tenant(), data, filename)
        if outcome.job is not None:
            return queued(outcome.job, outcome.rows), 202
        return {"status": "imported", "rows": outcome.rows, "created": outcome.created, "job": None,
                "job_url": None}


# ---- Exports ----------------------------------------------------------------------------------------------


class ProjectExportArgs(ProjectQuerySchema):
    """The projects list's filters, all rows (no pages)."""

    class Meta:
        exclude = ("page", "per_page")


LedgerExportArgs = LedgerQuerySchema
YearArgs = YearQuerySchema


@blp.route(f"{PREFIX}/exports/projects")
class ProjectsExport(MethodView):
    @require_login
    @blp.arguments(ProjectExportArgs, location="query")
    @blp.response(200, description="the .xlsx file")
    @blp.alt_response(202, schema=QueuedSchema, description="more than 1,000 rows: a job builds the file")
    def get(self, args: dict[str, Any]) -> Any:
        """The projects list (the list's filters) as .xlsx; amounts in 万元."""
        return start_export("projects", args)


@blp.route(f"{PREFIX}/exports/ledger")
class LedgerExport(MethodView):
    @require_login
    @blp.arguments(LedgerExportArgs, location="query")
    @blp.response(200, description="the .xlsx file")
    @blp.alt_response(202, schema=QueuedSchema, description="more than 1,000 rows: a job builds the file")
    def get(self, args: dict[str, Any]) -> Any:
        """The rectification ledger (整改台账) as .xlsx."""
        return start_export("ledger", args)


@blp.route(f"{PREFIX}/exports/statistics")
class StatisticsExport(MethodView):
    @require_login
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, description="the .xlsx file")
    def get(self, args: dict[str, Any]) -> Any:
        """The tenant's yearly statistics (default: this year) as .xlsx; amounts in 万元."""
        return start_export("statistics", args)


@blp.route(f"{PREFIX}/exports/league")
class LeagueExport(MethodView):
    @require_login
    @blp.arguments(LeagueArgs, location="query")
    @blp.response(200, description="the .xlsx file")
    def get(self, args: dict[str, Any]) -> Any:
        """The league table of the tenant's subordinates (下级排名表) as .xlsx: this year's rates and their bands."""
        filename, data = export.export_league(session(), current_user, current_tenant(), args)
        return xlsx_response(data, filename)


@blp.route(f"{PREFIX}/exports/rankings/<int:campaign_id>")
class RankingExport(MethodView):
    @require_login
    @blp.response(200, description="the .xlsx file")
    def get(self, campaign_id: int) -> Any:
        """An assessment campaign's ranking (考核排名) as .xlsx, as the ranking page lists it."""
        filename, data = export.export_ranking(session(), current_tenant(), campaign_id)
        return xlsx_response(data, filename)
