"""Marshmallow schemas for accounts: what the API accepts and returns."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from jixiao.accounts.models import Role
from jixiao.tenancy.schemas import TenantRefSchema

ROLE_CHOICES = [r.value for r in Role]


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class DepartmentRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())
    is_operator = fields.Boolean()
    active = fields.Boolean()
    tenant = fields.Nested(TenantRefSchema, allow_none=True)
    department = fields.Nested(DepartmentRefSchema, allow_none=True)
    agency_id = fields.Integer(allow_none=True)
    last_login_at = fields.DateTime(allow_none=True)
    locked_until = fields.DateTime(allow_none=True)
    version = fields.Integer()


class LoginResultSchema(Schema):
    user = fields.Nested(UserSchema)
    csrf_token = fields.String()


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=3, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=256))
    display_name = fields.String(load_default="", validate=validate.Length(max=100))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLE_CHOICES)), required=True,
                        validate=validate.Length(min=1))
    department_code = fields.String(load_default=None, allow_none=True)
    agency_id = fields.Integer(load_default=None, allow_none=True,
                               metadata={"description": "for evaluators: their third-party agency"})


class UserUpdateSchema(Schema):
    display_name = fields.String(validate=validate.Length(max=100))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLE_CHOICES)), validate=validate.Length(min=1))
    department_code = fields.String(allow_none=True)
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(min=8, max=256))
    unlock = fields.Boolean()
    agency_id = fields.Integer(allow_none=True)
    version = fields.Integer(metadata={"description": "the version read; a stale one answers 409"})


class DepartmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String()
    name = fields.String()
    parent_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    version = fields.Integer()


class DepartmentCreateSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_\-]{1,32}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    parent_code = fields.String(load_default=None, allow_none=True)


class DepartmentUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    parent_code = fields.String(allow_none=True)
    active = fields.Boolean()
    version = fields.Integer()


class TokenCreateSchema(Schema):
    name = fields.String(load_default="", validate=validate.Length(max=100))


class TokenCreatedSchema(Schema):
    id = fields.Integer()
    token = fields.String(metadata={"description": "shown once; only its hash is kept"})


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
