"""Security administrator API (安全管理员): operator and tenant-administrator accounts, security configuration."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import fields, validate

from jixiao.auth import require_login
from jixiao.db import session
from jixiao.dumping import Schema
from jixiao.system import security_admin
from jixiao.system.duties import DUTY_NAMES, Duty

blp = Blueprint("security_api", __name__, description="Operator and tenant-administrator accounts (security administrator only)")


class AccountSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    tenant_code = fields.String(allow_none=True)
    tenant_name = fields.String(allow_none=True)
    duty = fields.String(allow_none=True, metadata={"description": "system_admin, security_admin or audit_admin"})
    duty_label = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()
    locked = fields.Boolean()
    last_login_at = fields.DateTime(allow_none=True)
    second_factor = fields.Boolean()
    version = fields.Integer()


#: What ``duty`` may name: the short names and the stored values.
DUTY_CHOICES = sorted(DUTY_NAMES) + sorted(duty.value for duty in Duty)


class AccountCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    display_name = fields.String(load_default="", validate=validate.Length(max=100))
    duty = fields.Raw(load_default=None, metadata={
        "description": "an operator's one duty: system, security or audit (a list of two is refused)",
        "anyOf": [{"type": "string", "enum": DUTY_CHOICES},
                  {"type": "array", "items": {"type": "string", "enum": DUTY_CHOICES}, "maxItems": 3}],
        "nullable": True})
    roles = fields.List(fields.String(validate=validate.Length(max=32)), load_default=list)
    tenant_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32), metadata={
        "description": "instead of a duty: create an administrator of this tenant"})


class AccountActionSchema(Schema):
    version = fields.Integer(load_default=None, allow_none=True)


class SettingSchema(Schema):
    name = fields.String()
    label = fields.String()
    value = fields.String()


@blp.route("/operator/accounts")
class Accounts(MethodView):
    @require_login
    @blp.response(200, AccountSchema(many=True))
    def get(self) -> Any:
        """Every operator (with its duty) and every tenant administrator."""
        return security_admin.list_accounts(session(), current_user)

    @require_login
    @blp.arguments(AccountCreateSchema)
    @blp.response(201, AccountSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create an operator holding exactly one duty, or an administrator of a tenant (``tenant_code``)."""
        duty = data["duty"]
        if duty is not None and not isinstance(duty, str | list):
            duty = str(duty)
        return security_admin.create_account(session(), current_user, username=data["username"],
                                             password=data["password"], display_name=data["display_name"],
                                             duty=duty, tenant_code=data["tenant_code"], roles=data["roles"])


@blp.route("/operator/accounts/<int:user_id>/<action>")
class AccountAction(MethodView):
    @require_login
    @blp.arguments(AccountActionSchema)
    @blp.response(200, AccountSchema)
    def post(self, data: dict[str, Any], user_id: int, action: str) -> Any:
        """Deactivate, activate, unlock, sign out everywhere (every session and API token) or reset the second factor."""
        return security_admin.act_on_account(session(), current_user, user_id, action, version=data["version"])


@blp.route("/operator/security")
class SecurityConfiguration(MethodView):
    @require_login
    @blp.response(200, SettingSchema(many=True))
    def get(self) -> Any:
        """The security configuration in force, read-only (it comes from the environment)."""
        return security_admin.security_configuration(current_user)
