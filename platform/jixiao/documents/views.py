"""Documents pages: the tenant's generated documents with download links and a link to each one's record.

The buttons that generate PDFs are on the records' own pages (the project page's evaluations and
rectification, the statistics page, a campaign) and post to their domain's routes, which ask for the job
through the same service the API uses and go to the job's page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user

from jixiao.accounts.models import Role
from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.documents import service
from jixiao.units import local_today

bp = Blueprint("documents", __name__, template_folder="templates")

@bp.route("/t/<tenant_code>/documents", endpoint="documents")
@require_login
def documents() -> Any:
    tenant, db = current_tenant(), session()
    owner_type = request.args.get("owner_type") or None
    owner_id = request.args.get("owner_id", type=int)
    kind = request.args.get("kind") or None
    items = service.list_documents(db, current_user, tenant, owner_type=owner_type, owner_id=owner_id, kind=kind)
    return render_template(
        "documents/documents.html", tenant=tenant, documents=items, links=service.record_pages(db, tenant, items),
        kinds=service.KIND_LABELS, owners=service.owner_labels(), kind=kind, owner_type=owner_type, owner_id=owner_id,
        may_report=service.may_generate(current_user, tenant, (Role.ADMIN, Role.FINANCE)),
        this_year=local_today().year, download_url=service.download_url,
    )
