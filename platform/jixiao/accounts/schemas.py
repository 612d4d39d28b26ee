"""Marshmallow schemas for accounts: what the API accepts and returns."""

from __future__ import annotations

from marshmallow import fields, validate

from jixiao.accounts.models import Role
from jixiao.dumping import Schema
from jixiao.inputs import MAX_LIST_ITEMS, Code, Id, Name, Text
from jixiao.tenancy.schemas import TenantRefSchema

ROLE_CHOICES = [r.value for r in Role]


class LoginSchema(Schema):
    username = Text(required=True, multiline=False, max_length=64, validate=validate.Length(min=1))
    password = Text(required=True, load_only=True, multiline=False, max_length=256, validate=validate.Length(min=1))
    otp = Text(load_default=None, allow_none=True, load_only=True, multiline=False, max_length=64, metadata={
        "description": "动态口令: the 6 digits of the authenticator app, or a recovery code; needed by the roles "
                       "of JIXIAO_MFA_ROLES once enrolled (401 second_factor_required / second_factor_invalid)"})


class DepartmentRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String()
    display_name = fields.String()
    email = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    is_operator = fields.Boolean()
    active = fields.Boolean()
    tenant = fields.Nested(TenantRefSchema, allow_none=True)
    department = fields.Nested(DepartmentRefSchema, allow_none=True)
    agency_id = fields.Integer(allow_none=True)
    last_login_at = fields.DateTime(allow_none=True)
    locked_until = fields.DateTime(allow_none=True)
    second_factor_enrolled = fields.Boolean()
    version = fields.Integer()


def _password_change_due_at(user: object) -> object:
    from jixiao.accounts.passwords import change_due_at

    return change_due_at(user)


class MeSchema(UserSchema):
    password_changed_at = fields.DateTime(allow_none=True)
    password_change_due_at = fields.Function(
        lambda user: _iso(_password_change_due_at(user)), allow_none=True,
        metadata={"type": "string", "format": "date-time", "description": "when a password change is due "
                  "(JIXIAO_PASSWORD_MAX_AGE_DAYS); null when passwords do not age"})
    password_change_due = fields.Function(
        lambda user: _due(user), metadata={"type": "boolean", "description": "the password change is due now"})
    second_factor_required = fields.Function(
        lambda user: _second_factor_required(user), metadata={"type": "boolean"})


def _iso(value: object) -> str | None:
    return value.isoformat() if value is not None else None  # type: ignore[attr-defined]


def _due(user: object) -> bool:
    from jixiao.accounts.passwords import change_due

    return change_due(user)


def _second_factor_required(user: object) -> bool:
    from jixiao.accounts.second_factor import required_for

    return required_for(user)


class LoginResultSchema(Schema):
    user = fields.Nested(UserSchema)
    csrf_token = fields.String()
    second_factor_enrollment_required = fields.Boolean(metadata={
        "description": "the session may only enroll a second factor (POST /auth/second-factor/enroll, /confirm) "
                       "and log out until it is confirmed"})
    password_change_due = fields.Boolean()


class PasswordChangeSchema(Schema):
    current_password = Text(required=True, load_only=True, multiline=False, max_length=256,
                            validate=validate.Length(min=1))
    password = Text(required=True, load_only=True, multiline=False, max_length=256,
                    metadata={"description": "the new password (JIXIAO_PASSWORD_* policy)"})


class SecondFactorEnrollmentSchema(Schema):
    secret = fields.String(metadata={"description": "base32 TOTP secret, to type into the authenticator app"})
    otpauth_uri = fields.String(metadata={"description": "otpauth:// URI (RFC 6238 parameters) for a QR code"})


class SecondFactorConfirmSchema(Schema):
    otp = Text(required=True, multiline=False, max_length=16, validate=validate.Length(min=1))


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String(), metadata={
        "description": "ten one-time recovery codes, shown this once; only their hashes are kept"})


class UserCreateSchema(Schema):
    username = Name(required=True, max_length=64, validate=validate.Length(min=3))
    password = Text(required=True, load_only=True, multiline=False, max_length=256, validate=validate.Length(min=1))
    display_name = Text(load_default="", multiline=False, max_length=100)
    email = Text(load_default=None, allow_none=True, multiline=False, max_length=254,
                 metadata={"description": "where the e-mail channel sends the user's notifications"})
    roles = fields.List(fields.String(validate=validate.OneOf(ROLE_CHOICES)), required=True,
                        validate=validate.Length(min=1, max=MAX_LIST_ITEMS))
    department_code = Code(load_default=None, allow_none=True)
    agency_id = Id(load_default=None, allow_none=True,
                               metadata={"description": "for evaluators: their third-party agency"})


class UserUpdateSchema(Schema):
    display_name = Text(multiline=False, max_length=100)
    email = Text(allow_none=True, multiline=False, max_length=254)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLE_CHOICES)),
                        validate=validate.Length(min=1, max=MAX_LIST_ITEMS))
    department_code = Code(allow_none=True)
    active = fields.Boolean()
    password = Text(load_only=True, multiline=False, max_length=256)
    unlock = fields.Boolean()
    agency_id = Id(allow_none=True)
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
    name = Name(required=True)
    parent_code = Code(load_default=None, allow_none=True)


class DepartmentUpdateSchema(Schema):
    name = Name()
    parent_code = Code(allow_none=True)
    active = fields.Boolean()
    version = fields.Integer()


class TokenCreateSchema(Schema):
    name = Text(required=True, multiline=False, blank=False, max_length=100,
                metadata={"description": "what the token is for (its purpose); not blank"})


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


class PasswordChangedSchema(Schema):
    tokens = fields.List(fields.Nested(TokenSchema), metadata={
        "description": "the user's active API tokens, for review: a password change does not revoke them"})
    password_change_due_at = fields.DateTime(allow_none=True)
