"""Pages of the operators' duties (三员分立): the security administrator's accounts and security configuration,
the audit administrator's audit log. The system administrator's page is ``/operator`` (tenancy views)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from jixiao import hookspecs
from jixiao.audit import labels, log
from jixiao.auth import require_login
from jixiao.db import session
from jixiao.documents.uploads import attachment
from jixiao.errors import DomainError, ValidationFailed
from jixiao.lifecycle import history
from jixiao.spreadsheets.xlsx import XLSX_MIMETYPE
from jixiao.system import duties, security_admin

bp = Blueprint("system", __name__, template_folder="templates")

ACTION_LABELS = {"deactivate": "停用", "activate": "启用", "unlock": "解锁", "sign_out": "强制下线（所有会话）",
                 "reset_second_factor": "重置第二因素"}


@bp.route("/operator/accounts", methods=["GET", "POST"])
@require_login
def accounts() -> Any:
    errors: dict[str, Any] = {}
    form = request.form
    if request.method == "POST":
        try:
            created = security_admin.create_account(
                session(), current_user, username=form.get("username", "").strip(), password=form.get("password", ""),
                display_name=form.get("display_name", "").strip(), duty=form.getlist("duty") or None,
                tenant_code=form.get("tenant_code", "").strip() or None)
        except ValidationFailed as exc:
            session().rollback()
            errors = exc.fields
        else:
            flash(f"已创建账户 {created.username}（{created.duty_label}）", "info")
            return redirect(url_for("system.accounts"))
    return render_template("system/accounts.html", accounts=security_admin.list_accounts(session(), current_user),
                           duties=list(duties.Duty), errors=errors, form=form, actions=ACTION_LABELS), (
        400 if errors else 200)


@bp.route("/operator/accounts/<int:user_id>/<action>", methods=["POST"])
@require_login
def account_action(user_id: int, action: str) -> Any:
    try:
        account = security_admin.act_on_account(session(), current_user, user_id, action,
                                                version=request.form.get("version", type=int))
    except ValidationFailed as exc:
        session().rollback()
        flash("；".join(str(v) for v in exc.fields.values()) or exc.message, "error")
    else:
        flash(f"{account.username}：已{ACTION_LABELS[action]}", "info")
    return redirect(url_for("system.accounts"))


@bp.route("/operator/security")
@require_login
def security() -> Any:
    return render_template("system/security.html",
                           settings=security_admin.security_configuration(current_user))


def _filters() -> log.EventFilter:
    args = request.args
    errors: dict[str, str] = {}

    def day(name: str) -> date | None:
        value = (args.get(name) or "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            errors[name] = "日期格式为 YYYY-MM-DD"
            return None

    filters = log.EventFilter(tenant=(args.get("tenant") or "").strip() or None,
                              action=(args.get("action") or "").strip() or None,
                              actor=(args.get("actor") or "").strip() or None,
                              date_from=day("from"), date_to=day("to"))
    if errors:
        raise ValidationFailed(fields=errors)
    return filters


@bp.route("/operator/audit")
@require_login
def audit() -> Any:
    duties.require_audit_reader(current_user)
    errors: dict[str, Any] = {}
    result: dict[str, Any] = {"total": 0, "page": 1, "per_page": 50, "items": []}
    try:
        filters = _filters()
        result = log.list_events(session(), current_user, filters, page=request.args.get("page", 1, type=int))
    except DomainError as exc:
        if not isinstance(exc, ValidationFailed):
            raise
        errors = exc.fields
    pages = max(1, -(-result["total"] // result["per_page"]))
    return render_template("system/audit.html", result=result, pages=pages, errors=errors, args=request.args,
                           changes=history.audit_log_changes(session(), result["items"]), object_label=labels.object_label,
                           action_label=labels.action_label, action_labels=labels.ACTION_LABELS,
                           query={k: v for k, v in request.args.items() if k != "page" and v}), (
        400 if errors else 200)


@bp.route("/operator/audit/export")
@require_login
def audit_export() -> Any:
    data, filename, _count = log.export_events(session(), current_user, _filters())
    return attachment(data, filename, XLSX_MIMETYPE)


@bp.route("/operator/rules", methods=["GET"])
@require_login
def rules() -> Any:
    """Which plugin answers a question for a tenant: the page form of ``jixiao plugins explain``."""
    from jixiao.plugins import host
    from jixiao.system import service

    duties.require_system_administrator(current_user)
    asked = {"tenant": request.args.get("tenant", "").strip(), "hook": request.args.get("hook", "").strip(),
             "arguments": request.args.get("arguments", ""), "project": request.args.get("project", "").strip()}
    explained, errors = None, {}
    if asked["tenant"] and asked["hook"]:
        try:
            project_id = int(asked["project"]) if asked["project"] else None
        except ValueError:
            errors = {"project": "项目编号应为整数"}
        else:
            try:
                explained = service.explain_for(session(), host(), current_user, asked["tenant"], asked["hook"],
                                                asked["arguments"].splitlines(), project_id)
            except ValidationFailed as exc:
                session().rollback()
                errors = exc.fields
    return render_template("system/rules.html", hooks=service.tenant_hook_specs(), asked=asked,
                           explained=explained, errors=errors, plugin_name=host().display_name,
                           hook_label=hookspecs.label), (400 if errors else 200)
