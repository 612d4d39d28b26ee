"""Pages: the assessor's campaigns, scoring grid and ranking chart; the subject's own result."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from jixiao import policy, units
from jixiao.assessment import service
from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.errors import DomainError, ValidationFailed
from jixiao.lifecycle import rectification

bp = Blueprint("assessment", __name__, template_folder="templates")


@bp.before_request
def _assessment_readers_only() -> None:
    """Units, agencies and experts have no part in inter-level assessment: every page of it answers 403 (the
    API's blueprint asks the same predicate)."""
    if current_user.is_authenticated:
        policy.require_assessment_reader(current_user)


@bp.route("/t/<tenant_code>/assessments", methods=["GET", "POST"])
@require_login
def campaigns() -> Any:
    tenant, db = current_tenant(), session()
    year = request.values.get("year", type=int) or service.latest_records_year(db, tenant)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        try:
            deadline = date.fromisoformat(request.form.get("deadline") or "")
        except ValueError:
            deadline = None
        try:
            if deadline is None:
                raise ValidationFailed(fields={"deadline": "请填写自评截止日期"})
            campaign = service.create_campaign(db, current_user, tenant, year=year,
                                               scheme_code=request.form.get("scheme", ""), deadline=deadline)
        except DomainError as exc:
            db.rollback()
            errors = exc.fields or {"_": exc.message}
        else:
            flash(f"已发起考核：{campaign.title}", "success")
            return redirect(url_for("assessment.campaign", campaign_id=campaign.id))
    return render_template("assessment/campaigns.html", tenant=tenant, year=year,
                           campaigns=service.list_campaigns(db, tenant), schemes=service.schemes_for(db, tenant, year),
                           assignments=service.assignments_for(db, tenant), errors=errors,
                           default_deadline=units.local_today() + timedelta(days=30),
                           can_assess=current_user.tenant_id == tenant.id and current_user.has_role("finance", "admin"))


@bp.route("/t/<tenant_code>/assessments/<int:campaign_id>", methods=["GET", "POST"])
@require_login
def campaign(campaign_id: int) -> Any:
    tenant, db = current_tenant(), session()
    item = service.get_campaign(db, tenant, campaign_id)
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "score":
                row = service.score(db, current_user, tenant, item, int(request.form["subject_id"]),
                                    request.form["indicator"], _points(), request.form.get("comment", ""),
                                    version=_version(), label=request.form.get("label") or None,
                                    state=request.form.get("state") or None)
                if row.status.value == "insufficient_evidence":
                    flash("该项没有佐证材料，已记为“证据不足”（0 分）；补充佐证后可重新评分", "error")
                elif row.status.value != "scored":
                    flash(f"已记为“{row.status.label}”，不计入汇总和满分", "success")
                else:
                    flash(f"已保存评分：{row.label or f'{row.points} 分'}", "success")
            elif action == "override":
                service.override(db, current_user, tenant, item, int(request.form["subject_id"]),
                                 request.form["indicator"], _points(), request.form.get("reason", ""),
                                 version=_version(), label=request.form.get("label") or None)
                flash("已调整计算结果并记录理由", "success")
            elif action in ("finalize", "publish"):
                job = service.request_stage(db, current_user, tenant, item, action, version=_version(),
                                            force=bool(request.form.get("force")), reason=request.form.get("reason", ""))
                return redirect(url_for("jobs.job", job_id=job.id))
            elif action == "reopen":
                service.reopen(db, current_user, tenant, item, request.form.get("reason", ""), version=_version())
                flash("已重新打开考核，可以调整评分；重新汇总时按同一数据截止日期计算", "success")
            elif action == "withdraw":
                service.withdraw(db, current_user, tenant, item, request.form.get("reason", ""), version=_version())
                flash("已撤回考核", "success")
            elif action == "answer":
                service.answer_appeal(db, current_user, tenant, item, int(request.form["appeal_id"]),
                                      request.form.get("outcome", ""), request.form.get("answer", ""),
                                      version=_version())
                flash("已答复申诉", "success")
            elif action == "notice":
                job = service.request_ranking_notice(db, current_user, tenant, item)
                return redirect(url_for("jobs.job", job_id=job.id))
        except DomainError as exc:
            db.rollback()
            flash(exc.message + ("：" + "；".join(map(str, exc.fields.values())) if exc.fields else ""), "error")
        return redirect(url_for("assessment.campaign", campaign_id=item.id))
    scheme = service.read_scheme(item.scheme)
    indicators = list(scheme.items)
    ranking = service.ranking(db, item)
    assessor = current_user.tenant_id == tenant.id and current_user.has_role("finance", "admin")
    appeals = service.appeals_for(db, item) if assessor else []
    from jixiao.documents.service import documents_by_owner

    notices = documents_by_owner(db, current_user, tenant, "assessment_campaigns", [item.id]).get(item.id, [])
    return render_template("assessment/campaign.html", tenant=tenant, campaign=item, indicators=indicators,
                           notice_documents=notices, appeals=appeals, tie_break=service.tie_break_of(item.scheme),
                           scheme=scheme,
                           today=rectification.today(), ranking=ranking,
                           scores={(s.id, sc.indicator_code): sc for s in ranking for sc in s.scores},
                           group_results={(s.id, g["code"]): g for s in ranking for g in s.groups or []},
                           can_assess=assessor)


def _version() -> int | None:
    """The version of the record the page showed, sent back in the form's hidden ``version`` field."""
    version = request.form.get("version", "")
    return int(version) if version.isdigit() else None


def _points() -> Decimal | None:
    """The points typed, or ``None`` when none were (an item rated by a label or a state)."""
    typed = request.form.get("points", "").strip()
    if not typed:
        return None
    try:
        return Decimal(typed)
    except InvalidOperation as exc:
        raise ValidationFailed(fields={"points": "请填写数字"}) from exc


@bp.route("/t/<tenant_code>/assessment-results/<int:campaign_id>", methods=["GET", "POST"])
@require_login
def result(campaign_id: int) -> Any:
    tenant, db = current_tenant(), session()
    if request.method == "POST":
        try:
            upload = request.files.get("file")
            if request.form.get("action") == "appeal":
                service.appeal(db, current_user, tenant, campaign_id, request.form.get("indicator", ""),
                               request.form.get("text", ""))
                flash("已提出申诉，等待考核单位答复", "success")
            elif upload is not None and upload.filename:
                service.add_evidence(db, current_user, tenant, campaign_id, request.form.get("indicator", ""),
                                     upload.filename, upload.read(), upload.mimetype or "")
            else:
                service.self_report(db, current_user, tenant, campaign_id, request.form.get("indicator", ""),
                                    request.form.get("text", ""), version=_version())
            flash("已保存自评", "success")
        except DomainError as exc:
            db.rollback()
            flash(exc.message, "error")
        return redirect(url_for("assessment.result", campaign_id=campaign_id))
    return render_template("assessment/result.html", tenant=tenant, today=rectification.today(),
                           assignment=service.get_assignment(db, tenant, campaign_id),
                           can_report=current_user.tenant_id == tenant.id and current_user.has_role("finance", "admin"))
