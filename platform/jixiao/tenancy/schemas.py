"""Marshmallow schemas for tenants."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


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
    plugins = fields.List(fields.String(), metadata={"description": "plugins this tenant enables itself"})


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
    plugins = fields.List(fields.String(), load_default=list)


class TenantSettingsSchema(Schema):
    settings = fields.Dict(required=True, keys=fields.String(validate=validate.Length(min=1, max=100)))
