"""Marshmallow schemas for tenants."""

from __future__ import annotations

from marshmallow import fields, validate

from jixiao.dumping import Schema
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


class DeclaredSettingSchema(Schema):
    key = fields.String()
    type = fields.String(allow_none=True, metadata={
        "description": "text, integer, decimal, boolean, integers, texts or structured; null for a key no installed "
                       "plugin declares"})
    type_label = fields.String(allow_none=True)
    description = fields.String(metadata={"description": "what the setting means (Chinese)"})
    default = fields.Raw(allow_none=True, metadata={"description": "the declared default; null: none"})
    choices = fields.List(fields.Raw(), allow_none=True, metadata={"description": "the values allowed (of each item)"})
    nullable = fields.Boolean(metadata={"description": "null may be written (a rule switched off)"})
    declared_by = fields.String(allow_none=True, metadata={"description": "the plugin declaring it"})
    in_force = fields.Boolean(metadata={"description": "the declaring plugin is in force for this tenant"})
    value = fields.Raw(allow_none=True, metadata={"description": "the value in force (null when unset)"})
    source = fields.String(metadata={
        "description": "default (the declaration), plugin (a plugin's default settings), tenant (written on a tenant: "
                       "its YAML or its administrator's change), or empty when nothing gives a value"})
    source_name = fields.String(metadata={"description": "the plugin, or the code of the tenant it is written on"})
    source_label = fields.String()
    own = fields.Boolean(metadata={"description": "written on this tenant itself"})
