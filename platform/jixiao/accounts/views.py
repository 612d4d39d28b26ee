"""Pages: login, the user's own tokens, and the tenant administrator's users and departments."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from jixiao import policy, units
from jixiao.accounts import passwords, service, sessions
from jixiao.accounts.models import ROLE_LABELS, Role
from jixiao.accounts.throttle import TooManyAttempts
from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.errors import Conflict, DomainError, ValidationFailed

bp = Blueprint("accounts", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("tenancy.index"))
    error, status, headers, otp_needed = None, 200, {}, False
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        try:
            result = service.log_in(session(), username, request.form.get("password", ""),
                                    request.form.get("otp", ""), address=request.remote_addr)
        except TooManyAttempts as exc:
            session().rollback()
            error, status, headers = exc.message, exc.status, {"Retry-After": str(exc.retry_after)}
        except DomainError as exc:
            session().rollback()
            error, status = exc.message, exc.status
            otp_needed = isinstance(exc, service.SecondFactorRequired | service.SecondFactorInvalid)
        else:
            sessions.begin(result.user, second_factor_verified=result.second_factor_verified)
            if result.enrollment_required:
                flash("您的账户须启用动态口令（第二重身份鉴别），请先完成登记", "info")
                return redirect(url_for("accounts.second_factor"))
            if result.password_change_due:
                flash(_password_due_message(result.user), "info")
            return redirect(_safe_next(request.args.get("next")) or url_for("tenancy.index"))
    return render_template("accounts/login.html", error=error, username=username,
                           otp_needed=otp_needed), status, headers


def _password_due_message(user: Any) -> str:
    due = passwords.change_due_at(user)
    when = units.local_date(due).isoformat() if due else ""
    return f"您的密码已于 {when} 到期，请尽快修改密码（账户 → 修改密码）"


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    if current_user.is_authenticated:
        service.log_out(session(), current_user._get_current_object())
    sessions.end()
    flash("您已退出登录", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@require_login
def password() -> Any:
    user = current_user._get_current_object()
    errors: dict[str, Any] = {}
    active_tokens = None
    if request.method == "POST":
        try:
            active_tokens = service.change_password(
                session(), user, request.form.get("current_password", ""), request.form.get("password", ""),
                address=request.remote_addr)
        except TooManyAttempts as exc:
            session().rollback()
            errors = {"current_password": exc.message}
        except ValidationFailed as exc:
            session().rollback()
            errors = exc.fields
        else:
            sessions.begin(user, second_factor_verified=sessions.second_factor_verified())
            flash("密码已修改；您在其他设备上的登录已全部退出", "success")
    return render_template("accounts/password.html", errors=errors, active_tokens=active_tokens,
                           due_at=passwords.change_due_at(user), changed_at=passwords.changed_at(user),
                           policy=passwords.current_policy()), (400 if errors else 200)


@bp.route("/account/second-factor", methods=["GET", "POST"])
@require_login
def second_factor() -> Any:
    user = current_user._get_current_object()
    errors: dict[str, Any] = {}
    recovery_codes = None
    if request.method == "POST" and not user.second_factor_enrolled:
        try:
            recovery_codes = service.confirm_enrollment(session(), user, request.form.get("otp", ""))
        except ValidationFailed as exc:
            session().rollback()
            errors = exc.fields
        else:
            sessions.mark_second_factor_verified()
    secret = uri = None
    if not user.second_factor_enrolled:
        secret, uri = service.pending_enrollment(session(), user)
    return render_template("accounts/second_factor.html", user=user, secret=secret, otpauth_uri=uri,
                           errors=errors, recovery_codes=recovery_codes,
                           required=service.second_factor.required_for(user)), (400 if errors else 200)


@bp.route("/account/tokens", methods=["GET", "POST"])
@require_login
def tokens() -> Any:
    policy.require_token_holder(current_user)
    new_token = None
    status = 200
    if request.method == "POST":
        if request.form.get("revoke"):
            service.revoke_token(session(), current_user, int(request.form["revoke"]))
            flash("令牌已吊销", "success")
            return redirect(url_for("accounts.tokens"))
        try:
            _, new_token = service.create_token(session(), current_user, request.form.get("name", "").strip())
        except ValidationFailed as exc:
            session().rollback()
            flash(exc.fields.get("name", exc.message), "error")
            status = 400
    return render_template("accounts/tokens.html", tokens=service.list_tokens(session(), current_user),
                           new_token=new_token), status


@bp.route("/t/<tenant_code>/users", methods=["GET", "POST"])
@require_login
def users() -> Any:
    tenant = current_tenant()
    errors: dict[str, Any] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            _admin_only()
            service.create_user(
                session(), current_user, tenant,
                username=form.get("username", "").strip(), password=form.get("password", ""),
                display_name=form.get("display_name", "").strip(), roles=request.form.getlist("roles"),
                department_code=form.get("department_code") or None,
                agency_id=int(form["agency_id"]) if form.get("agency_id", "").isdigit() else None,
                email=form.get("email") or None,
            )
        except (ValidationFailed, Conflict) as exc:  # a taken username or code is shown on the form
            session().rollback()
            errors = exc.fields
        else:
            flash(f"已创建用户 {form.get('username')}", "success")
            return redirect(url_for("accounts.users"))
    return render_template(
        "accounts/users.html", tenant=tenant, users=service.users_for(session(), current_user, tenant),
        departments=service.list_departments(session(), tenant), roles=list(Role), role_labels=ROLE_LABELS,
        errors=errors, form=form, can_manage=_can_manage(tenant), agencies=_agencies(tenant),
    ), (400 if errors else 200)


def _agencies(tenant: Any) -> list[Any]:
    from jixiao.lifecycle.evaluations import list_agencies

    return list_agencies(session(), tenant)


@bp.route("/t/<tenant_code>/users/<int:user_id>", methods=["GET", "POST"])
@require_login
def user_edit(user_id: int) -> Any:
    tenant = current_tenant()
    user = service.user_for(session(), current_user, tenant, user_id)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        _admin_only()
        changes: dict[str, Any] = {
            "display_name": request.form.get("display_name", ""),
            "roles": request.form.getlist("roles"),
            "department_code": request.form.get("department_code") or None,
            "active": request.form.get("active") == "on",
            "version": int(request.form.get("version", "0")),
        }
        if "email" in request.form:
            changes["email"] = request.form["email"]
        if request.form.get("password"):
            changes["password"] = request.form["password"]
        if request.form.get("unlock"):
            changes["unlock"] = True
        try:
            service.update_user(session(), current_user, tenant, user_id, changes)
        except ValidationFailed as exc:
            session().rollback()
            errors = exc.fields
            user = service.get_user(session(), tenant, user_id)
        else:
            flash(f"已保存用户 {user.username}", "success")
            return redirect(url_for("accounts.users"))
    from jixiao.audit import history

    return render_template(
        "accounts/user_edit.html", tenant=tenant, user=user, roles=list(Role), role_labels=ROLE_LABELS,
        can_manage=_can_manage(tenant),
        departments=service.list_departments(session(), tenant), errors=errors,
        history=history(session(), "users", user.id),
    ), (400 if errors else 200)


@bp.route("/t/<tenant_code>/users/<int:user_id>/unlock", methods=["POST"])
@require_login
def user_unlock(user_id: int) -> Any:
    user = service.update_user(session(), current_user, current_tenant(), user_id,
                               {"unlock": True, "version": int(request.form.get("version", "0"))})
    flash(f"已解除用户 {user.username} 的锁定", "success")
    return redirect(url_for("accounts.user_edit", user_id=user_id))


@bp.route("/t/<tenant_code>/users/<int:user_id>/sessions/revoke", methods=["POST"])
@require_login
def user_sessions_revoke(user_id: int) -> Any:
    user = service.revoke_sessions(session(), current_user, current_tenant(), user_id)
    flash(f"用户 {user.username} 的所有登录会话已强制下线", "success")
    return redirect(url_for("accounts.user_edit", user_id=user_id))


@bp.route("/t/<tenant_code>/users/<int:user_id>/second-factor/reset", methods=["POST"])
@require_login
def user_second_factor_reset(user_id: int) -> Any:
    user = service.reset_second_factor(session(), current_user, current_tenant(), user_id)
    flash(f"已重置用户 {user.username} 的动态口令；其下次登录时须重新登记", "success")
    return redirect(url_for("accounts.user_edit", user_id=user_id))


@bp.route("/t/<tenant_code>/departments", methods=["GET", "POST"])
@require_login
def departments() -> Any:
    tenant = current_tenant()
    errors: dict[str, Any] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            _admin_only()
            service.create_department(
                session(), current_user, tenant, code=form.get("code", "").strip(),
                name=form.get("name", ""), parent_code=form.get("parent_code") or None,
            )
        except (ValidationFailed, Conflict) as exc:  # a taken username or code is shown on the form
            session().rollback()
            errors = exc.fields
        else:
            flash(f"已添加部门 {form.get('name')}", "success")
            return redirect(url_for("accounts.departments"))
    return render_template(
        "accounts/departments.html", tenant=tenant, departments=service.departments_for(session(), current_user, tenant),
        errors=errors, form=form, can_manage=_can_manage(tenant),
    ), (400 if errors else 200)


@bp.route("/t/<tenant_code>/departments/<int:department_id>", methods=["GET", "POST"])
@require_login
def department_edit(department_id: int) -> Any:
    from jixiao.audit import history

    tenant = current_tenant()
    department = service.department_for(session(), current_user, tenant, department_id)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        _admin_only()
        try:
            service.update_department(session(), current_user, tenant, department_id, {
                "name": request.form.get("name", ""),
                "parent_code": request.form.get("parent_code") or None,
                "active": request.form.get("active") == "on",
                "version": int(request.form.get("version", "0")),
            })
        except ValidationFailed as exc:
            session().rollback()
            errors = exc.fields
            department = service.get_department(session(), tenant, department_id)
        else:
            flash(f"已保存部门 {department.name}", "success")
            return redirect(url_for("accounts.departments"))
    return render_template(
        "accounts/department_edit.html", tenant=tenant, department=department, errors=errors,
        departments=[d for d in service.departments_for(session(), current_user, tenant) if d.id != department.id],
        can_manage=_can_manage(tenant), history=history(session(), "departments", department.id),
    ), (400 if errors else 200)


def _can_manage(tenant: Any) -> bool:
    return current_user.tenant_id == tenant.id and current_user.has_role(Role.ADMIN)


def _admin_only() -> None:
    from jixiao.errors import Forbidden

    if not _can_manage(current_tenant()):
        raise Forbidden("只有本级管理员可以管理用户和部门")
