"""Tenants API: the visible tenants, one tenant with its plugins and settings, its children."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.plugins import host
from jixiao.tenancy import service
from jixiao.tenancy.schemas import (
    DeclaredSettingSchema,
    TenantDetailSchema,
    TenantProvisionSchema,
    TenantSchema,
    TenantSettingsSchema,
)

blp = Blueprint("tenancy_api", __name__, description="Finance bureaus (tenants) and their tree")


def detail(tenant: Any) -> dict[str, Any]:
    db = session()
    in_force = service.plugins_in_force(db, host(), tenant)
    return {
        "code": tenant.code,
        "name": tenant.name,
        "level": str(tenant.level),
        "division_type": tenant.division_type,
        "parent": tenant.parent,
        "parent_code": tenant.parent_code,
        "plugins": tenant.plugins,
        "plugins_enabled": tenant.plugins_enabled,
        "plugins_disabled": tenant.plugins_disabled,
        "children_count": len(service.children(db, tenant)),
        "plugins_in_force": in_force,
        "missing_plugins": [p.name for p in in_force if not p.installed],
        "settings": service.effective_settings(db, host(), tenant),
    }


@blp.route("/tenants")
class Tenants(MethodView):
    @require_login
    @blp.response(200, TenantSchema(many=True))
    def get(self) -> Any:
        """The tenants the user may read: their own and its descendants."""
        return service.visible_tenants(session(), current_user)

    @require_login
    @blp.arguments(TenantProvisionSchema)
    @blp.response(201, TenantSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Provision a tenant by its GB/T 2260 code (platform operators only)."""
        return service.provision(session(), host(), current_user, data["code"], data["plugins"])


@blp.route("/operator/tenants/<code>/plugins/<plugin>")
class TenantPlugin(MethodView):
    @require_login
    @blp.response(200, TenantSchema)
    def put(self, code: str, plugin: str) -> Any:
        """Enable an installed plugin for a tenant and its descendants, beside its YAML (system administrator;
        audited; kept when the YAML is loaded again). 409 when it is enabled already."""
        return service.set_plugin(session(), host(), current_user, code, plugin, enabled=True)

    @require_login
    @blp.response(200, TenantSchema)
    def delete(self, code: str, plugin: str) -> Any:
        """Disable a plugin for a tenant and its descendants, even where its YAML or an ancestor enables it
        (system administrator; audited). 409 when it is disabled already."""
        return service.set_plugin(session(), host(), current_user, code, plugin, enabled=False)


@blp.route("/tenants/<tenant_code>")
class TenantItem(MethodView):
    @require_login
    @blp.response(200, TenantDetailSchema)
    def get(self) -> Any:
        """One tenant: parent, plugins in force (own or inherited), effective settings."""
        return detail(current_tenant())


@blp.route("/tenants/<tenant_code>/settings")
class TenantSettings(MethodView):
    @require_login
    @blp.arguments(TenantSettingsSchema)
    @blp.response(200, TenantDetailSchema)
    def patch(self, data: dict[str, Any]) -> Any:
        """Change the tenant's own settings (its administrators only); descendants inherit them."""
        service.update_settings(session(), host(), current_user, current_tenant(), data["settings"])
        return detail(current_tenant())


def declared(state: service.SettingState) -> dict[str, Any]:
    setting = state.declared.setting if state.declared else None
    return {
        "key": state.key, "type": setting.type if setting else None, "type_label": setting.type_label if setting else None,
        "description": setting.description if setting else "", "default": setting.default if setting else None,
        "choices": list(setting.choices) if setting and setting.choices is not None else None,
        "nullable": bool(setting and setting.nullable), "declared_by": state.declared.plugin if state.declared else None,
        "in_force": state.in_force, "value": state.value, "source": state.source, "source_name": state.source_name,
        "source_label": state.source_label, "own": state.own,
    }


@blp.route("/tenants/<tenant_code>/settings/declared")
class TenantDeclaredSettings(MethodView):
    @require_login
    @blp.response(200, DeclaredSettingSchema(many=True))
    def get(self) -> Any:
        """Every setting declared by a plugin in force for the tenant (and any other key it has a value for), by
        key: its type, default and meaning, the value in force and where that value comes from."""
        return [declared(state) for state in service.explained_settings(session(), host(), current_tenant())]


@blp.route("/tenants/<tenant_code>/children")
class TenantChildren(MethodView):
    @require_login
    @blp.response(200, TenantSchema(many=True))
    def get(self) -> Any:
        """The tenant's direct children."""
        return service.children(session(), current_tenant())
