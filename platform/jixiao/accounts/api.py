"""Accounts API: login and logout, the current user, tokens, and a tenant's users and departments."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from flask_wtf.csrf import generate_csrf

from jixiao.accounts import passwords, service, sessions
from jixiao.accounts.schemas import (
    DepartmentCreateSchema,
    DepartmentSchema,
    DepartmentUpdateSchema,
    LoginResultSchema,
    LoginSchema,
    MeSchema,
    PasswordChangedSchema,
    PasswordChangeSchema,
    RecoveryCodesSchema,
    SecondFactorConfirmSchema,
    SecondFactorEnrollmentSchema,
    TokenCreatedSchema,
    TokenCreateSchema,
    TokenSchema,
    UserCreateSchema,
    UserSchema,
    UserUpdateSchema,
)
from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.idempotency import idempotent

blp = Blueprint("accounts_api", __name__, description="Authentication, users, departments and API tokens")


@blp.route("/auth/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, LoginResultSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Log in with a username, password and, for the roles that need it, ``otp``; sets the session cookie and
        returns a CSRF token.

        Every refused login is the same 401 ``not_authenticated``; a (username, address) pair that failed too
        often is 429 with ``Retry-After``. After a right password: 401 ``second_factor_required`` /
        ``second_factor_invalid`` for an enrolled user without a valid ``otp``; a user who must enroll gets a
        session that can only enroll (``second_factor_enrollment_required``)."""
        result = service.log_in(session(), data["username"], data["password"], data.get("otp"),
                                address=request.remote_addr)
        sessions.begin(result.user, second_factor_verified=result.second_factor_verified)
        return {"user": result.user, "csrf_token": generate_csrf(),
                "second_factor_enrollment_required": result.enrollment_required,
                "password_change_due": result.password_change_due}


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self) -> None:
        """End the session — and every other session of the same user."""
        if current_user.is_authenticated and not g.get("auth_via_token"):
            service.log_out(session(), current_user._get_current_object())
        sessions.end()


@blp.route("/auth/password")
class Password(MethodView):
    @require_login
    @blp.arguments(PasswordChangeSchema)
    @blp.response(200, PasswordChangedSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change one's own password (the current one is needed). Every other session ends; the user's active API
        tokens are listed for review (they keep working until revoked)."""
        user = current_user._get_current_object()
        tokens = service.change_password(session(), user, data["current_password"], data["password"],
                                         address=request.remote_addr)
        sessions.begin(user, second_factor_verified=sessions.second_factor_verified())
        return {"tokens": tokens, "password_change_due_at": passwords.change_due_at(user)}


@blp.route("/auth/second-factor/enroll")
class SecondFactorEnroll(MethodView):
    @require_login
    @blp.response(200, SecondFactorEnrollmentSchema)
    def post(self) -> dict[str, Any]:
        """Start enrolling a TOTP second factor: a new secret and its otpauth:// URI (not in force until
        confirmed)."""
        secret, uri = service.begin_enrollment(session(), current_user._get_current_object())
        return {"secret": secret, "otpauth_uri": uri}


@blp.route("/auth/second-factor/confirm")
class SecondFactorConfirm(MethodView):
    @require_login
    @blp.arguments(SecondFactorConfirmSchema)
    @blp.response(200, RecoveryCodesSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Confirm the enrollment with a code from the app; answers the recovery codes, this once."""
        codes = service.confirm_enrollment(session(), current_user._get_current_object(), data["otp"])
        sessions.mark_second_factor_verified()
        return {"recovery_codes": codes}


@blp.route("/me")
class Me(MethodView):
    @require_login
    @blp.response(200, MeSchema)
    def get(self) -> Any:
        """The authenticated user, with when a password change is due and whether a second factor is needed."""
        return current_user


@blp.route("/auth/tokens")
class Tokens(MethodView):
    @require_login
    @blp.response(200, TokenSchema(many=True))
    def get(self) -> Any:
        """The current user's API tokens (never the tokens themselves)."""
        return service.list_tokens(session(), current_user)

    @require_login
    @idempotent(withhold=("token",))
    @blp.arguments(TokenCreateSchema)
    @blp.response(201, TokenCreatedSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a bearer token for the current user; the token is in this answer only."""
        api_token, token = service.create_token(session(), current_user, data["name"])
        return {"id": api_token.id, "token": token}


@blp.route("/auth/tokens/<int:token_id>")
class TokenItem(MethodView):
    @require_login
    @blp.response(204)
    def delete(self, token_id: int) -> None:
        """Revoke one of the current user's tokens."""
        service.revoke_token(session(), current_user, token_id)


@blp.route("/tenants/<tenant_code>/users")
class Users(MethodView):
    @require_login
    @blp.response(200, UserSchema(many=True))
    def get(self) -> Any:
        """The tenant's users (administrators only, else 403: names, roles and last-login times are staff data)."""
        return service.users_for(session(), current_user, current_tenant())

    @require_login
    @idempotent
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a user in the tenant (its administrators only)."""
        return service.create_user(session(), current_user, current_tenant(), **data)


@blp.route("/tenants/<tenant_code>/users/<int:user_id>")
class UserItem(MethodView):
    @require_login
    @blp.response(200, UserSchema)
    def get(self, user_id: int) -> Any:
        """One user of the tenant (administrators only, else 403)."""
        return service.user_for(session(), current_user, current_tenant(), user_id)

    @require_login
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, data: dict[str, Any], user_id: int) -> Any:
        """Change a user's roles, department, name, password or state; send ``version`` to detect conflicts."""
        return service.update_user(session(), current_user, current_tenant(), user_id, data)


@blp.route("/tenants/<tenant_code>/users/<int:user_id>/sessions/revoke")
class UserSessionsRevoke(MethodView):
    @require_login
    @blp.response(204)
    def post(self, user_id: int) -> None:
        """Sign the user out everywhere (the tenant's administrators): every session of the user ends."""
        service.revoke_sessions(session(), current_user, current_tenant(), user_id)


@blp.route("/tenants/<tenant_code>/users/<int:user_id>/second-factor/reset")
class UserSecondFactorReset(MethodView):
    @require_login
    @blp.response(200, UserSchema)
    def post(self, user_id: int) -> Any:
        """Clear the user's second factor (a lost phone); they enroll again at their next login."""
        return service.reset_second_factor(session(), current_user, current_tenant(), user_id)


@blp.route("/tenants/<tenant_code>/departments")
class Departments(MethodView):
    @require_login
    @blp.response(200, DepartmentSchema(many=True))
    def get(self) -> Any:
        """The tenant's budget departments and units: all for administrators and finance, their own department
        (and its units) for department staff; 403 for other roles."""
        return service.departments_for(session(), current_user, current_tenant())

    @require_login
    @idempotent
    @blp.arguments(DepartmentCreateSchema)
    @blp.response(201, DepartmentSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a department, or a unit under one (``parent_code``)."""
        return service.create_department(session(), current_user, current_tenant(), **data)


@blp.route("/tenants/<tenant_code>/departments/<int:department_id>")
class DepartmentItem(MethodView):
    @require_login
    @blp.response(200, DepartmentSchema)
    def get(self, department_id: int) -> Any:
        """One department, as the departments list allows (another department is 404 for department staff)."""
        return service.department_for(session(), current_user, current_tenant(), department_id)

    @require_login
    @blp.arguments(DepartmentUpdateSchema)
    @blp.response(200, DepartmentSchema)
    def patch(self, data: dict[str, Any], department_id: int) -> Any:
        """Rename, move or deactivate a department; send ``version`` to detect conflicts."""
        return service.update_department(session(), current_user, current_tenant(), department_id, data)
