"""Accounts API: login and logout, the current user, tokens, and a tenant's users and departments."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_login import current_user, login_user, logout_user
from flask_smorest import Blueprint
from flask_wtf.csrf import generate_csrf

from jixiao.accounts import service
from jixiao.accounts.schemas import (
    DepartmentCreateSchema,
    DepartmentSchema,
    DepartmentUpdateSchema,
    LoginResultSchema,
    LoginSchema,
    TokenCreatedSchema,
    TokenCreateSchema,
    TokenSchema,
    UserCreateSchema,
    UserSchema,
    UserUpdateSchema,
)
from jixiao.auth import current_tenant, require_login
from jixiao.db import session

blp = Blueprint("accounts_api", __name__, description="Authentication, users, departments and API tokens")


@blp.route("/auth/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, LoginResultSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Log in with a username and password; sets the session cookie and returns a CSRF token."""
        user = service.authenticate(
            session(), data["username"], data["password"],
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
        )
        login_user(user)
        return {"user": user, "csrf_token": generate_csrf()}


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self) -> None:
        """End the session."""
        logout_user()


@blp.route("/me")
class Me(MethodView):
    @require_login
    @blp.response(200, UserSchema)
    def get(self) -> Any:
        """The authenticated user."""
        return current_user


@blp.route("/auth/tokens")
class Tokens(MethodView):
    @require_login
    @blp.response(200, TokenSchema(many=True))
    def get(self) -> Any:
        """The current user's API tokens (never the tokens themselves)."""
        return service.list_tokens(session(), current_user)

    @require_login
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
        """The tenant's users."""
        return service.list_users(session(), current_tenant())

    @require_login
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
        """One user of the tenant."""
        return service.get_user(session(), current_tenant(), user_id)

    @require_login
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, data: dict[str, Any], user_id: int) -> Any:
        """Change a user's roles, department, name, password or state; send ``version`` to detect conflicts."""
        return service.update_user(session(), current_user, current_tenant(), user_id, data)


@blp.route("/tenants/<tenant_code>/departments")
class Departments(MethodView):
    @require_login
    @blp.response(200, DepartmentSchema(many=True))
    def get(self) -> Any:
        """The tenant's budget departments and units."""
        return service.list_departments(session(), current_tenant())

    @require_login
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
        """One department."""
        return service.get_department(session(), current_tenant(), department_id)

    @require_login
    @blp.arguments(DepartmentUpdateSchema)
    @blp.response(200, DepartmentSchema)
    def patch(self, data: dict[str, Any], department_id: int) -> Any:
        """Rename, move or deactivate a department; send ``version`` to detect conflicts."""
        return service.update_department(session(), current_user, current_tenant(), department_id, data)
