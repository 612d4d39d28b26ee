"""Who is asking, what they may see: Flask-Login, bearer tokens, CSRF and the request's tenant scope.

Per request: authenticate (session cookie, else bearer token), then set the session's scope to the user's
tenant and its descendants; a URL naming a tenant (``<tenant_code>``) narrows it to that tenant's subtree,
after the access rule said yes (404 for another branch, 403 for an ancestor or for writing a descendant).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app, g, redirect, request, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from jixiao.accounts import service as accounts
from jixiao.accounts import sessions
from jixiao.accounts.models import User
from jixiao.accounts.throttle import TooManyAttempts
from jixiao.db import TenantScope, get_scope, session, set_scope
from jixiao.errors import Forbidden, NotAuthenticated
from jixiao.tenancy import service as tenancy

login_manager = LoginManager()
csrf = CSRFProtect()
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
TENANT_ARG = "tenant_code"
# Endpoints a browser may post to before it has a session (the login itself).
CSRF_EXEMPT_ENDPOINTS = {"accounts_api.Login"}
# What a session that still has to enroll its second factor may reach.
ENROLLMENT_ENDPOINTS = {"accounts_api.SecondFactorEnroll", "accounts_api.SecondFactorConfirm", "accounts_api.Logout",
                        "accounts.second_factor", "accounts.logout", "accounts.login", "static"}


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user of a browser session: its generation current, within its idle and absolute limits, and past its
    second factor when the user has one (jixiao.accounts.sessions)."""
    user_part, _, generation = (session_id or "").partition(":")
    if not sessions.within_limits() or not user_part.isdigit() or not generation.isdigit():
        sessions.forget()
        return None
    found = accounts.session_principal(session(), int(user_part), int(generation))
    if found is None or (found.user.second_factor_enrolled and not sessions.second_factor_verified()):
        # A factor enrolled since this session began (or a cookie that skipped it) is not enough: log in again.
        sessions.forget()
        return None
    sessions.touch()
    g.auth_readable_ids = found.readable_ids
    return found.user


@login_manager.request_loader
def _load_user_from_token(req: Any) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header.removeprefix("Bearer ").strip()
    found = accounts.token_login(session(), token)
    if found is None:
        return None
    g.auth_api_token, g.auth_readable_ids = found.api_token, found.readable_ids
    # CSRF is skipped for this request because a token, not a cookie, authenticated it.
    g.auth_via_token = True
    return found.user


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    raise NotAuthenticated()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"
    csrf.init_app(app)

    @app.url_value_preprocessor
    def _pull_tenant_code(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values and TENANT_ARG in values:
            g.tenant_code = values.pop(TENANT_ARG)

    @app.url_defaults
    def _keep_tenant_code(endpoint: str, values: dict[str, Any]) -> None:
        if TENANT_ARG not in values and "tenant_code" in g and app.url_map.is_endpoint_expecting(endpoint, TENANT_ARG):
            values[TENANT_ARG] = g.tenant_code

    app.before_request(_establish_scope)
    app.register_error_handler(TooManyAttempts, _too_many_attempts)


def _too_many_attempts(exc: TooManyAttempts) -> Any:
    from flask import render_template

    from jixiao.errors import error_response, wants_json

    session().rollback()
    if wants_json():
        response = error_response(exc.status, exc.code, exc.message, exc.fields)
    else:
        response = current_app.make_response(
            (render_template("error.html", status=exc.status, message=exc.message, fields={}), exc.status))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _establish_scope() -> Any:
    db = session()
    g.auth_via_token = False
    user = current_user._get_current_object() if current_user.is_authenticated else None
    unsafe = request.method in UNSAFE_METHODS and request.endpoint not in CSRF_EXEMPT_ENDPOINTS
    if user is None and request.headers.get("Authorization", "").startswith("Bearer "):
        # A token was presented and refused (unknown, revoked, expired): not authenticated, whatever the method —
        # a CSRF failure would tell the client to refresh a page it does not have.
        raise NotAuthenticated("访问令牌无效或已被撤销，请重新获取")
    if user is None and unsafe and request.path.startswith("/api/"):
        # Authentication comes before CSRF: an API write without a session or a token is 401, not 400.
        raise NotAuthenticated()
    if unsafe and not g.get("auth_via_token"):
        csrf.protect()
    if user is None:
        set_scope(db, TenantScope())
        g.tenant = None
        return
    if not g.get("auth_via_token") and accounts.enrollment_pending(user) \
            and request.endpoint not in ENROLLMENT_ENDPOINTS:
        # A password-only session of someone who must use a second factor: enrollment and logout only.
        if request.method == "GET" and not request.path.startswith("/api/"):
            return redirect(url_for("accounts.second_factor"))
        raise accounts.SecondFactorEnrollmentRequired()
    # Authentication read the user's subtree with the user (one statement); a user that came another way (a test's
    # login_user) has it read here.
    read_ids = g.pop("auth_readable_ids", None)
    if read_ids is None:
        read_ids = tuple(tenancy.subtree_ids(db, user.tenant)) if user.tenant else ()
    set_scope(db, TenantScope(read_ids=read_ids, write_id=user.tenant_id, user_id=user.id,
                              platform=user.tenant_id is None))
    # Under the user's own scope: the token's row is the user's to write (authentication's context named only its
    # hash, which admits reading it).
    if g.get("auth_via_token") and accounts.touch_token(db, g.auth_api_token):
        # Committed at once: a read commits nothing of its own (the time was lost with its rollback), and the row
        # lock is not held while the view runs.
        db.commit()
    g.tenant = None
    if "tenant_code" in g:
        writes = request.method in UNSAFE_METHODS
        commission = _commission_check() if writes else None
        tenant = tenancy.resolve(db, user, g.tenant_code, write=writes and commission is None)
        g.tenant = tenant
        if tenant.id != user.tenant_id:
            set_scope(db, get_scope(db).with_(read_ids=tuple(tenancy.subtree_ids(db, tenant))))
            if commission is not None and not commission(db, user, tenant, request.view_args or {}):
                raise Forbidden("您只能修改本级财政部门的数据；下级的数据只读")


COMMISSIONED = "jixiao_commission_check"
CommissionCheck = Callable[[Any, Any, Any, dict[str, Any]], bool]


def takes_commissioned_writes(check: CommissionCheck) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a view (a function, or a method of an API resource; innermost decorator) that an upper level's user may
    write to at a lower bureau's URL when ``check(session, user, tenant, view_args)`` finds a commission from that
    bureau: an expert of the city's pool whom the county's draw assigned records the county's ex-ante review.
    Everyone else gets the 403 of "below is read-only" (``tenancy.resolve``) at the request, before their input
    is read, as on every other write.
    """

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        setattr(view, COMMISSIONED, check)
        return view

    return mark


def _commission_check() -> CommissionCheck | None:
    view = current_app.view_functions.get(request.endpoint or "")
    resource = getattr(view, "view_class", None)
    handler = getattr(resource, request.method.lower(), None) if resource is not None else view
    return getattr(handler, COMMISSIONED, None)


def require_login(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            # The module's manager is the app's: init_app sets it as app.login_manager (untyped there).
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapper


def require_roles(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The view needs a logged-in user holding one of ``roles`` in the URL's tenant."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                raise Forbidden()
            tenant = g.get("tenant")
            if tenant is not None and tenant.id != current_user.tenant_id:
                raise Forbidden("您只能修改本级财政部门的数据；下级的数据只读")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_tenant() -> Any:
    """The tenant named in the URL, already checked against the access rule."""
    tenant = g.get("tenant")
    if tenant is None:
        raise NotAuthenticated()
    return tenant
