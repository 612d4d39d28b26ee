"""Documents API: list a record's documents, download one (each domain's API asks for its PDFs: a job, 202).

Reading follows the record's own visibility rules (each owner type's, see ``jixiao.documents.service``). A document of another tenant, or of a record the user may not
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

blp = Blueprint("documents_api", __name__, description="Generated documents (PDF reports and notices)")
PREFIX = "/tenants/<tenant_code>"


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
