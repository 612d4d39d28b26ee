"""Marshmallow schemas for tenants."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from jixiao.inputs import MAX_LIST_ITEMS, Code, Text


class TenantRefSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()


class TenantSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    division_type = fields.String()
    parent_code = fields.String(allow_none=True)
    plugins = fields.List(fields.String(), metadata={"description": "plugins the tenants YAML lists for this tenant"})
    plugins_enabled = fields.List(fields.String(), metadata={
        "description": "plugins an operator enabled for this tenant beside its YAML (kept across YAML reloads)"})
    plugins_disabled = fields.List(fields.String(), metadata={
        "description": "plugins an operator disabled for this tenant and its descendants"})


class PluginInForceSchema(Schema):
    name = fields.String()
    source_code = fields.String(metadata={"description": "the tenant whose file enabled it; empty for built-in"})
    source_name = fields.String()
    inherited = fields.Boolean()
    installed = fields.Boolean()


class TenantDetailSchema(TenantSchema):
    parent = fields.Nested(TenantRefSchema, allow_none=True)
    children_count = fields.Integer()
    plugins_in_force = fields.List(fields.Nested(PluginInForceSchema))
    missing_plugins = fields.List(fields.String())
    settings = fields.Dict(metadata={"description": "effective settings: plugin defaults, then the YAML files"})


class TenantProvisionSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="行政区划代码为 6 位数字"))
    plugins = fields.List(Code(), load_default=list, validate=validate.Length(max=MAX_LIST_ITEMS))


class TenantSettingsSchema(Schema):
    # The size of the settings as a whole is bounded by the service (MAX_TENANT_SETTINGS_BYTES).
    settings = fields.Dict(required=True, keys=Text(multiline=False, max_length=100, validate=validate.Length(min=1)))
