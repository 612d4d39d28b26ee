"""Pages: login, the user's own tokens, and the tenant administrator's users and departments."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from jixiao.accounts import service
from jixiao.accounts.models import ROLE_LABELS, Role
from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.errors import DomainError, ValidationFailed

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
    error = None
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        try:
            user = service.authenticate(
                session(), username, request.form.get("password", ""),
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
            )
        except DomainError as exc:
            session().rollback()
            error = exc.message
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("tenancy.index"))
    return render_template("accounts/login.html", error=error, username=username), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
    flash("您已退出登录", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/tokens", methods=["GET", "POST"])
@require_login
def tokens() -> Any:
    new_token = None
    if request.method == "POST":
        if request.form.get("revoke"):
            service.revoke_token(session(), current_user, int(request.form["revoke"]))
            flash("令牌已吊销", "success")
            return redirect(url_for("accounts.tokens"))
        _, new_token = service.create_token(session(), current_user, request.form.get("name", "").strip())
    return render_template("accounts/tokens.html", tokens=service.list_tokens(session(), current_user),
                           new_token=new_token)


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
            )
        except ValidationFailed as exc:
            session().rollback()
            errors = exc.fields
        else:
            flash(f"已创建用户 {form.get('username')}", "success")
            return redirect(url_for("accounts.users"))
    return render_template(
        "accounts/users.html", tenant=tenant, users=service.list_users(session(), tenant),
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
    user = service.get_user(session(), tenant, user_id)
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
        except ValidationFailed as exc:
            session().rollback()
            errors = exc.fields
        else:
            flash(f"已添加部门 {form.get('name')}", "success")
            return redirect(url_for("accounts.departments"))
    return render_template(
        "accounts/departments.html", tenant=tenant, departments=service.list_departments(session(), tenant),
        errors=errors, form=form, can_manage=_can_manage(tenant),
    ), (400 if errors else 200)


@bp.route("/t/<tenant_code>/departments/<int:department_id>", methods=["GET", "POST"])
@require_login
def department_edit(department_id: int) -> Any:
    from jixiao.audit import history

    tenant = current_tenant()
    department = service.get_department(session(), tenant, department_id)
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
        departments=[d for d in service.list_departments(session(), tenant) if d.id != department.id],
        can_manage=_can_manage(tenant), history=history(session(), "departments", department.id),
    ), (400 if errors else 200)


def _can_manage(tenant: Any) -> bool:
    return current_user.tenant_id == tenant.id and current_user.has_role(Role.ADMIN)


def _admin_only() -> None:
    from jixiao.errors import Forbidden

    if not _can_manage(current_tenant()):
        raise Forbidden("只有本级管理员可以管理用户和部门")
