"""Pages: the tenant's home (the user's to-do list, the tenant, its parent and children, plugins in force, roles)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from jixiao import hookspecs, inputs, policy, units
from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.errors import DomainError, Forbidden, ValidationFailed
from jixiao.lifecycle import charts, dashboard, todo
from jixiao.plugins import host
from jixiao.statistics import charts as bureau_charts
from jixiao.statistics import dashboard as bureau
from jixiao.system import duties
from jixiao.system import service as system
from jixiao.tenancy import service

bp = Blueprint("tenancy", __name__, template_folder="templates")


@bp.route("/")
@require_login
def index() -> Any:
    if current_user.is_operator:
        return redirect(url_for("tenancy.operator"))
    return redirect(url_for("tenancy.home", tenant_code=current_user.tenant.code))


@bp.route("/t/<tenant_code>/")
@require_login
def home() -> Any:
    tenant = current_tenant()
    db = session()
    in_force = service.plugins_in_force(db, host(), tenant)
    own = tenant.id == current_user.tenant_id
    year = inputs.check_year(request.args.get("year")) or units.local_today().year
    return render_template(
        "tenancy/home.html",
        tenant=tenant,
        own=own,
        year=year,
        dashboard=_dashboard(tenant, year),
        todos=todo.todo(db, current_user, tenant) if own else [],
        parent=tenant.parent,
        parent_visible=tenant.parent is not None and tenant.id != current_user.tenant_id,
        # A county has none; a budget unit's home never lists them (the block is left out, not shown empty).
        children=service.children(db, tenant) if policy.may_list_subordinates(current_user) else [],
        plugins=in_force,
        plugin_name=host().display_name,
        missing=[p for p in in_force if not p.installed],
    )


def _dashboard(tenant: Any, year: int) -> dict[str, Any] | None:
    """The home's dashboard for the reader's role and the tenant's level (``jixiao.lifecycle.dashboard``)."""
    db = session()
    kind = dashboard.home_kind(current_user, tenant)

    def link(project_id: int, anchor: str) -> str:
        return url_for("lifecycle.project", tenant_code=tenant.code, project_id=project_id, _anchor=anchor)

    if kind == dashboard.FINANCE_HOME:
        found = charts.finance_charts(dashboard.finance_home(db, current_user, tenant, year), link)
    elif kind == dashboard.UNIT_HOME:
        found = charts.unit_charts(dashboard.unit_home(db, current_user, tenant, year), link)
    elif kind == dashboard.BUREAU_HOME:
        home = bureau.bureau_home(db, current_user, tenant, year, sort=request.args.get("sort") or "code",
                                  order=request.args.get("order") or "asc")
        return {"kind": kind, "home": home, "cells": bureau_charts.league_cells,
                "charts": bureau_charts.bureau_charts(home, lambda code: url_for("tenancy.home", tenant_code=code)),
                "sort_link": lambda column: _sort_link(home.league, column), "warnings": False}
    else:
        return None
    return {"kind": kind, "charts": found,
            "warnings": dashboard.may_read_warnings(current_user, tenant) and kind == dashboard.FINANCE_HOME}


def _sort_link(league: dict[str, Any], column: str) -> dict[str, Any]:
    """The home's arguments sorting the league table by ``column``: a rate best first, names in their order; a
    second click reverses."""
    first = "asc" if column in ("code", "name") else "desc"
    again = {"asc": "desc", "desc": "asc"}[league["order"]]
    return {"year": league["year"], "sort": column, "order": again if league["sort"] == column else first}


def _as_text(state: service.SettingState) -> str:
    """A value as the settings page shows it and its box takes it back: a text as it is, anything else as JSON
    (Chinese kept readable)."""
    if state.value is None and not state.source:
        return ""
    if state.declared is not None and state.declared.setting.type == "text" and isinstance(state.value, str):
        return state.value
    return json.dumps(state.value, ensure_ascii=False)


@bp.route("/t/<tenant_code>/settings", methods=["GET", "POST"])
@require_login
def settings() -> Any:
    """The tenant's settings: each declared setting with its meaning, type, default, the value in force and where
    it comes from. Its administrators change or clear its own values, through the service the API calls."""
    tenant = current_tenant()
    db = session()
    errors: dict[str, str] = {}
    if request.method == "POST":
        key = request.form.get("key", "").strip()
        try:
            if request.form.get("action") == "clear":
                service.update_settings(db, host(), current_user, tenant, {}, clear=[key])
            else:
                value = service.setting_from_text(host(), key, request.form.get("value", ""))
                service.update_settings(db, host(), current_user, tenant, {key: value})
        except ValidationFailed as exc:
            db.rollback()
            errors = {name.removeprefix("settings."): str(message) for name, message in exc.fields.items()}
        else:
            flash(f"已{'清除本级的' if request.form.get('action') == 'clear' else '保存'}设置 {key}，下级一并生效", "info")
            return redirect(url_for("tenancy.settings", tenant_code=tenant.code, _anchor=f"setting-{key}"))
    return render_template(
        "tenancy/settings.html", tenant=tenant, states=service.explained_settings(db, host(), tenant),
        may_edit=tenant.id == current_user.tenant_id and current_user.has_role("admin"),
        errors=errors, form=request.form, as_text=_as_text, as_json=lambda value: json.dumps(value, ensure_ascii=False),
    ), (400 if errors else 200)


@bp.route("/operator", methods=["GET", "POST"])
@require_login
def operator() -> Any:
    """The operator's landing page: the system administrator's own; the other duties go to theirs."""
    if duties.may_administer_security(current_user):
        return redirect(url_for("system.accounts"))
    if duties.may_read_audit(current_user):
        return redirect(url_for("system.audit"))
    if not current_user.is_operator:
        raise Forbidden("仅平台运维人员可访问")
    duties.require_system_administrator(current_user)
    db = session()
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        # Enable or disable a plugin for a tenant beside its YAML: the same service as the command and the API.
        enabled = form.get("action") == "enable"
        code, plugin = form.get("code", "").strip(), form.get("plugin", "").strip()
        try:
            tenant = service.set_plugin(db, host(), current_user, code, plugin, enabled)
        except DomainError as exc:
            db.rollback()
            errors = dict(exc.fields)
            if not errors:  # nothing to correct in the form (already so, not found): say it and start again
                flash(exc.message, "error")
                return redirect(url_for("tenancy.operator") + "#overlay")
        else:
            flash(f"已为{tenant.name}（{tenant.code}）{'启用' if enabled else '停用'}插件 {plugin}，下级一并生效", "info")
            return redirect(url_for("tenancy.operator"))
    return render_template(
        "tenancy/operator.html",
        tree=service.tree_rows(db, host()),
        plugins=system.plugin_listing(db, host(), current_user),
        missing=system.missing_plugins(db, host()),
        installed=[name for name in host().installed_names if name != "national" and not name.startswith("core.")],
        plugin_name=host().display_name, hook_label=hookspecs.label,
        errors=errors, form=form,
    ), (400 if errors else 200)
