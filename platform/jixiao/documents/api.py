"""Documents API: ask for a PDF (a job, 202), list a record's documents, download one.

Asking is a write (the record's own tenant, a role that works on it); reading follows the record's own
visibility rules (``jixiao.documents.service``). A document of another tenant, or of a record the user may not
see, does not exist (404).
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.documents import service, uploads
from jixiao.documents.schemas import DocumentQuerySchema, DocumentSchema
from jixiao.documents.store import path_of
from jixiao.errors import NotFound
from jixiao.jobs.schemas import JobSchema
from jixiao.statistics.schemas import YearArgs

blp = Blueprint("documents_api", __name__, description="Generated documents (PDF reports and notices)")
PREFIX = "/tenants/<tenant_code>"


@blp.route(f"{PREFIX}/evaluations/<int:evaluation_id>/report")
class EvaluationReport(MethodView):
    @require_login
    @blp.response(202, JobSchema)
    def post(self, evaluation_id: int) -> Any:
        """Generate the evaluation report (绩效评价报告, PDF) of a submitted evaluation: a job on the "documents"
        queue (embedded mode: done before the answer). Its result is ``{"document_id", "url"}``."""
        return service.request_evaluation_report(session(), current_user, current_tenant(), evaluation_id)


@blp.route(f"{PREFIX}/rectifications/<int:notice_id>/notice-pdf")
class RectificationNoticePdf(MethodView):
    @require_login
    @blp.response(202, JobSchema)
    def post(self, notice_id: int) -> Any:
        """Generate the rectification notice (整改通知书, PDF) as an official notice to the unit: a job."""
        return service.request_rectification_notice(session(), current_user, current_tenant(), notice_id)


@blp.route(f"{PREFIX}/statistics/report")
class StatisticsReport(MethodView):
    @require_login
    @blp.arguments(YearArgs, location="query")
    @blp.response(202, JobSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Generate the tenant's yearly report (预算绩效管理工作情况, PDF): each stage's figures in prose and
        tables, overdue rectifications counted as of today. Finance and administrators; a job."""
        return service.request_statistics_report(session(), current_user, current_tenant(), args["year"])


@blp.route(f"{PREFIX}/documents")
class Documents(MethodView):
    @require_login
    @blp.arguments(DocumentQuerySchema, location="query")
    @blp.response(200, DocumentSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """The tenant's generated documents the user may read, newest first; ``owner_type`` and ``owner_id``
        give those of one record (e.g. ``owner_type=evaluations&owner_id=12``)."""
        return service.list_documents(session(), current_user, current_tenant(), owner_type=args["owner_type"],
                                      owner_id=args["owner_id"], kind=args["kind"])


@blp.route(f"{PREFIX}/documents/<int:document_id>")
class DocumentItem(MethodView):
    @require_login
    @blp.response(200, DocumentSchema)
    def get(self, document_id: int) -> Any:
        """One document's description."""
        return service.get_document(session(), current_user, current_tenant(), document_id)


@blp.route(f"{PREFIX}/documents/<int:document_id>/download")
class DocumentDownload(MethodView):
    @require_login
    @blp.response(200, content_type="application/pdf")
    def get(self, document_id: int) -> Any:
        """The file itself, as an attachment with its (UTF-8) file name."""
        tenant = current_tenant()
        document = service.get_document(session(), current_user, tenant, document_id)
        path = path_of(document.tenant_id, document.sha256)
        if not path.is_file():
            raise NotFound("文件已不在文件库中，请重新生成")
        response = uploads.attachment(path, document.filename, document.content_type, etag=document.sha256)
        response.headers["Cache-Control"] = "private, no-cache"
        return response
