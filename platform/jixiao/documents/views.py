"""Documents pages: the tenant's generated documents with download links, and the buttons that generate PDFs.

The three POST routes are what the buttons on the project page (evaluations, rectification) and the statistics
page post to: they ask for the job through the same service the API uses and go to the job's page, which shows
its progress and result.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.documents import service
from jixiao.documents.models import Document
from jixiao.errors import ValidationFailed
from jixiao.lifecycle.models import Evaluation, RectificationNotice
from jixiao.statistics.schemas import YearArgs

bp = Blueprint("documents", __name__, template_folder="templates")


def _owner_links(db: Any, tenant: Any, documents: list[Document]) -> dict[tuple[str, int], str]:
    """Where each document's record is shown: the project page at the evaluation or notice, the statistics."""
    links: dict[tuple[str, int], str] = {}
    evaluation_ids = {d.owner_id for d in documents if d.owner_type == "evaluations"}
    notice_ids = {d.owner_id for d in documents if d.owner_type == "rectification_notices"}
    if evaluation_ids:
        for evaluation_id, project_id in db.execute(sa.select(Evaluation.id, Evaluation.project_id)
                                                    .where(Evaluation.id.in_(evaluation_ids))):
            links[("evaluations", evaluation_id)] = url_for(
                "lifecycle.project", tenant_code=tenant.code, project_id=project_id, _anchor=f"evaluation-{evaluation_id}")
    if notice_ids:
        for notice_id, project_id in db.execute(sa.select(RectificationNotice.id, RectificationNotice.project_id)
                                                .where(RectificationNotice.id.in_(notice_ids))):
            links[("rectification_notices", notice_id)] = url_for(
                "lifecycle.project", tenant_code=tenant.code, project_id=project_id, _anchor=f"notice-{notice_id}")
    links[("tenants", tenant.id)] = url_for("statistics.yearly", tenant_code=tenant.code)
    return links


@bp.route("/t/<tenant_code>/documents", endpoint="documents")
@require_login
def documents() -> Any:
    from jixiao.statistics import service as statistics

    tenant, db = current_tenant(), session()
    owner_type = request.args.get("owner_type") or None
    owner_id = request.args.get("owner_id", type=int)
    kind = request.args.get("kind") or None
    items = service.list_documents(db, current_user, tenant, owner_type=owner_type, owner_id=owner_id, kind=kind)
    may_report = current_user.tenant_id == tenant.id and current_user.has_role(*service.STATISTICS_ROLES)
    years = sorted(set(statistics.available_years(db, tenant)) | {statistics.current_year()}, reverse=True)
    return render_template(
        "documents/documents.html", tenant=tenant, documents=items, links=_owner_links(db, tenant, items),
        kinds=service.KIND_LABELS, owners=service.owner_labels(), kind=kind, owner_type=owner_type, owner_id=owner_id,
        may_report=may_report, years=years, download_url=service.download_url,
    )


@bp.route("/t/<tenant_code>/evaluations/<int:evaluation_id>/report", methods=["POST"], endpoint="evaluation_report")
@require_login
def evaluation_report(evaluation_id: int) -> Any:
    job = service.request_evaluation_report(session(), current_user, current_tenant(), evaluation_id)
    return redirect(url_for("jobs.job", job_id=job.id))


@bp.route("/t/<tenant_code>/rectifications/<int:notice_id>/notice-pdf", methods=["POST"],
          endpoint="rectification_notice")
@require_login
def rectification_notice(notice_id: int) -> Any:
    job = service.request_rectification_notice(session(), current_user, current_tenant(), notice_id)
    return redirect(url_for("jobs.job", job_id=job.id))


@bp.route("/t/<tenant_code>/statistics/report", methods=["POST"], endpoint="statistics_report")
@require_login
def statistics_report() -> Any:
    raw = request.form.get("year") or request.args.get("year")
    try:
        year = YearArgs().load({"year": raw} if raw else {})["year"]
    except ValidationError as exc:
        raise ValidationFailed(_("年度有误"), fields={k: "；".join(map(str, v)) for k, v in exc.messages_dict.items()}) from exc
    job = service.request_statistics_report(session(), current_user, current_tenant(), year)
    return redirect(url_for("jobs.job", job_id=job.id))
