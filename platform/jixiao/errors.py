"""Domain errors raised by services, and how the API and the pages render them.

Services raise these; adapters never build error responses by hand. The API answers
``{"error": {"code", "message", "fields"}}`` with the status below; pages show the message in Chinese.
"""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    status = 400
    code = "bad_request"
    default_message = "请求有误"

    def __init__(self, message: str | None = None, *, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.fields = fields or {}


class ValidationFailed(DomainError):
    status = 400
    code = "validation_failed"
    default_message = "提交的数据有误，请按提示修改"


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    default_message = "请先登录"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = "您没有执行此操作的权限"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = "未找到该对象，或您无权查看"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = "数据已被他人修改，请刷新后重试"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    default_message = "提交的内容过大"


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"
    default_message = "后台服务暂不可用，请稍后重试"


HTTP_MESSAGES = {
    400: ("bad_request", "请求有误"),
    401: ("not_authenticated", "请先登录"),
    403: ("forbidden", "您没有执行此操作的权限"),
    404: ("not_found", "未找到该对象，或您无权查看"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "请求与当前状态冲突"),
    413: ("payload_too_large", "上传的内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("unprocessable", "请求内容无法处理"),
    429: ("too_many_requests", "请求过于频繁"),
    500: ("internal_error", "服务器内部错误，请联系管理员"),
    503: ("service_unavailable", "后台服务暂不可用，请稍后重试"),
}


#: marshmallow's own messages, said the way the product's fields say theirs (the field is the key).
SCHEMA_MESSAGES_IN_CHINESE = {
    "Unknown field.": "未知字段：接口不接受此字段，请删除或检查拼写",
    "Missing data for required field.": "必填",
    "Field may not be null.": "不能为空（null）",
    "Not a valid string.": "应为文字",
    "Not a valid boolean.": "应为 true 或 false",
    "Not a valid integer.": "应为整数",
    "Not a valid number.": "应为数字",
    "Not a valid list.": "应为列表",
    "Not a valid mapping type.": "应为键值对象",
    "Invalid input type.": "类型不对",
    "Not a valid date.": "应为日期（YYYY-MM-DD）",
    "Not a valid datetime.": "应为日期时间（ISO 8601）",
}


def in_chinese(messages: Any) -> Any:
    """Schema errors with marshmallow's English messages replaced (nested dicts and lists kept as they are)."""
    if isinstance(messages, dict):
        return {key: in_chinese(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [in_chinese(value) for value in messages]
    return SCHEMA_MESSAGES_IN_CHINESE.get(messages, messages) if isinstance(messages, str) else messages


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = status
    return response


#: SQLite's words for a database that cannot be reached now (locked by another writer, file unreachable).
SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk i/o error")
RETRY_AFTER_SECONDS = "10"


#: SQLSTATEs of a write that lost a race: a unique key taken meanwhile, a serialization failure, a deadlock.
RACE_SQLSTATES = {"23505", "40001", "40P01"}
RACE_MESSAGE = "该记录刚被他人同时修改或创建，请刷新后查看，必要时重试"


def lost_race(exc: BaseException) -> bool:
    """Whether a database error means "another request wrote first" (409), not a bug or an outage.

    A unique key taken by a concurrent insert (PostgreSQL 23505, SQLite "UNIQUE constraint failed"), a
    serialization failure or a deadlock: the other request won, so this one is a conflict to show the user.
    """
    import sqlalchemy as sa
    from sqlalchemy.orm.exc import StaleDataError

    if isinstance(exc, StaleDataError):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    original = exc.orig
    if getattr(original, "sqlstate", None) in RACE_SQLSTATES:
        return True
    return isinstance(exc, sa.exc.IntegrityError) and "unique constraint failed" in str(original).lower()


def database_unavailable(exc: BaseException) -> bool:
    """Whether a database error means "cannot reach the database now" (an outage, a restart), not a bug."""
    import sqlalchemy as sa

    if not isinstance(exc, sa.exc.DBAPIError) or lost_race(exc):
        return False
    if exc.connection_invalidated:
        return True
    original = exc.orig
    try:
        import psycopg

        if isinstance(original, psycopg.OperationalError):
            return True
    except ImportError:  # pragma: no cover - psycopg is a dependency
        pass
    return isinstance(exc, sa.exc.OperationalError) and any(
        words in str(original).lower() for words in SQLITE_UNAVAILABLE)


def init_app(app: Flask) -> None:
    import sqlalchemy as sa
    from sqlalchemy.orm.exc import StaleDataError

    @app.errorhandler(StaleDataError)
    def _stale_data(exc: StaleDataError) -> Any:
        return _conflict_response(app, exc)

    @app.errorhandler(sa.exc.DBAPIError)
    def _database_error(exc: sa.exc.DBAPIError) -> Any:
        if lost_race(exc):
            return _conflict_response(app, exc)
        if not database_unavailable(exc):
            raise exc
        return _unavailable_response(app, exc)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Any:
        return _domain_error_response(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        return _http_error_response(app, exc)


def _conflict_response(app: Flask, exc: BaseException) -> Any:
    """409: the write lost a race with another one (a stale version, a unique key taken meanwhile)."""
    import sqlalchemy as sa

    from jixiao.db import session

    with contextlib.suppress(sa.exc.DBAPIError):
        session().rollback()
    app.logger.info("write lost a race: %s", exc)
    if wants_json():
        return error_response(409, "conflict", RACE_MESSAGE)
    return render_template("error.html", status=409, message=RACE_MESSAGE, fields={}), 409


def _unavailable_response(app: Flask, exc: Any) -> Response:
    """503 with Retry-After: the database cannot be reached now."""
    import sqlalchemy as sa

    from jixiao.db import session

    with contextlib.suppress(sa.exc.DBAPIError):  # the connection is gone: nothing to roll back
        session().rollback()
    app.logger.warning("database unavailable: %s", exc.orig)
    message = "数据库暂时无法访问，请稍后重试；已提交的内容不会丢失"
    if wants_json():
        response = error_response(503, "service_unavailable", message)
    else:
        response = app.make_response((render_template("error.html", status=503, message=message, fields={}), 503))
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def _domain_error_response(exc: DomainError) -> Any:
    from jixiao.db import session

    session().rollback()
    if isinstance(exc, NotAuthenticated) and not wants_json() and request.method == "GET":
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    if wants_json():
        return error_response(exc.status, exc.code, exc.message, exc.fields)
    return render_template("error.html", status=exc.status, message=exc.message, fields=exc.fields,
                           back=same_site_referrer()), exc.status


def upload_limit_text(limit_bytes: int) -> str:
    """The configured upload limit (``MAX_CONTENT_LENGTH``, set in MB by ``JIXIAO_MAX_UPLOAD_MB``) in words."""
    megabytes = limit_bytes / (1024 * 1024)
    if megabytes >= 1:
        return f"{megabytes:.2f}".rstrip("0").rstrip(".") + " MB"
    return f"{max(1, round(limit_bytes / 1024))} KB"


def same_site_referrer() -> str | None:
    """The page the user came from, for a "back" link on an error page: only a page of this site (the
    Referrer-Policy is same-origin, so another site's address never arrives; checked anyway, it is input)."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url):
        return referrer
    return None


def _http_error_response(app: Flask, exc: HTTPException) -> Response:
    status = exc.code or 500
    code, message = HTTP_MESSAGES.get(status, ("error", exc.description or "请求失败"))
    fields: dict[str, Any] = {}
    # webargs (flask-smorest) puts schema validation errors on the exception.
    messages = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
    if messages:
        status, code, message = 400, "validation_failed", "提交的数据有误，请按提示修改"
        for location_errors in messages.values():
            fields.update(in_chinese(location_errors) if isinstance(location_errors, dict)
                          else {"_": in_chinese(location_errors)})
    elif status == 400 and getattr(exc, "description", None) and "CSRF" in str(exc.description):
        code, message = "csrf_failed", "安全令牌无效或已过期（CSRF），请刷新页面后重试"
    elif status == 413 and app.config.get("MAX_CONTENT_LENGTH"):
        # Werkzeug refuses the body before any view runs: only here can the page say what the limit is.
        message = f"上传的内容过大：每次上传最多 {upload_limit_text(app.config['MAX_CONTENT_LENGTH'])}，请压缩或分批上传"
    if wants_json():
        response = error_response(status, code, message, fields)
    else:
        response = app.make_response((render_template("error.html", status=status, message=message,
                                                       fields=fields, back=same_site_referrer()), status))
    # RFC 9110 §15.5.6: a 405 names the methods the resource does support.
    valid_methods = getattr(exc, "valid_methods", None)  # werkzeug's MethodNotAllowed alone carries them
    if status == 405 and valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response
