"""Idempotency keys: a client that retries a create (a lost answer, a double click) gets the first result.

Without a key, a repeated create answers 409 (the thing exists). With an ``Idempotency-Key`` header the first
successful answer is kept per tenant, user and key for ``JIXIAO_IDEMPOTENCY_TTL_HOURS`` (24 by default): the same
key with the same method, path and body answers the same status and body again, without running the write
twice; the same key with another request is refused (422). A request whose first try failed (4xx, 5xx) keeps
nothing, so the client may fix it and retry with the same key. Two requests with the same key at the same time:
the second finds the first in flight and answers 409.

Applied once, as a decorator on the API's POST endpoints that create a record::

    @require_login
    @idempotent
    @blp.arguments(...)
    @blp.response(201, ...)
    def post(...): ...

A create whose answer holds a secret shown once (an API token) names it: ``@idempotent(withhold=("token",))``
keeps the answer with that field ``null``, so a retry learns what was created (its id) but the secret is never
stored. An endpoint without a tenant in its address (the user's own tokens) keeps its keys in the user's tenant.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, g, request
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy.orm import Mapped, mapped_column

from jixiao.db import Base, TenantOwned, session, utcnow
from jixiao.errors import Conflict, DomainError, ValidationFailed, lost_race

#: The response component of a reused key (422), documented on the ``@idempotent`` creates; the API module
#: registers it (this module imports no adapter, so every domain's API may use the decorator).
IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
#: What a key may be: visible ASCII (a UUID, a ULID, a client's own request number), as the OpenAPI document says.
KEY_PATTERN = f"^[!-~]{{1,{MAX_KEY_LENGTH}}}$"
DEFAULT_TTL_HOURS = 24
#: A row whose status is still this is a request in flight.
PENDING = 0
#: A request still "in flight" after this long died without releasing its key (a crash, a lost connection):
#: the key is taken over by the next try rather than refused until it expires.
ABANDONED_AFTER = timedelta(minutes=10)


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    default_message = "该 Idempotency-Key 已用于另一个请求（方法、地址或内容不同），请为新的请求使用新的键"


class IdempotencyKey(TenantOwned, Base):
    """The first successful answer to a create sent with an ``Idempotency-Key``, per tenant, user and key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "user_id", "key", name="uq_idempotency_keys_tenant_user_key"),
        sa.Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[int] = mapped_column(default=PENDING)
    response_body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def ttl() -> timedelta:
    return timedelta(hours=int(current_app.config.get("IDEMPOTENCY_TTL_HOURS", DEFAULT_TTL_HOURS)))


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and body (JSON compared by its content, not spacing)."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def _read_key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not re.fullmatch(KEY_PATTERN, key):
        raise ValidationFailed(fields={HEADER: f"应为 1–{MAX_KEY_LENGTH} 个可见 ASCII 字符（如 UUID），不含空格"})
    return key


def _replay(row: IdempotencyKey) -> Response:
    response = current_app.response_class(row.response_body, status=row.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _find(db: Any, tenant_id: int, key: str) -> IdempotencyKey | None:
    return db.scalar(sa.select(IdempotencyKey).where(
        IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.user_id == current_user.id, IdempotencyKey.key == key))


def _reserve(db: Any, tenant_id: int, key: str, print_: str) -> IdempotencyKey | Response:
    """The row for this key: a new pending one, or the answer to give (a replay); raises when refused."""
    existing = _find(db, tenant_id, key)
    now = utcnow()
    if existing is not None and (existing.created_at < now - ttl() or (
            existing.status == PENDING and existing.created_at < now - ABANDONED_AFTER)):
        db.delete(existing)  # expired, or abandoned by a request that died: the key starts afresh
        db.commit()
        existing = None
    if existing is not None:
        if existing.fingerprint != print_:
            raise IdempotencyKeyReused()
        if existing.status == PENDING:
            raise Conflict("使用同一 Idempotency-Key 的请求正在处理，请稍后重试")
        return _replay(existing)
    row = IdempotencyKey(tenant_id=tenant_id, user_id=current_user.id, key=key, fingerprint=print_,
                         method=request.method, path=request.path, status=PENDING, response_body="")
    db.add(row)
    try:
        db.commit()
    except sa.exc.DBAPIError as exc:  # the same key, in flight in another request that reserved it first
        db.rollback()
        if not lost_race(exc):
            raise
        return _reserve(db, tenant_id, key, print_)
    return row


def _release(db: Any, row_id: int) -> None:
    """Forget a key whose request failed, so that the client may retry it."""
    try:
        db.rollback()
        db.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
        db.commit()
    except sa.exc.DBAPIError:  # the database is gone: the key is taken over once abandoned (ABANDONED_AFTER)
        with contextlib.suppress(sa.exc.DBAPIError):
            db.rollback()


def _kept_body(response: Response, withhold: tuple[str, ...]) -> str:
    """The answer as kept for a replay: the secrets shown once replaced by ``null``."""
    body = response.get_data(as_text=True)
    if not withhold:
        return body
    answer = json.loads(body)
    return json.dumps({k: (None if k in withhold else v) for k, v in answer.items()}, ensure_ascii=False)


def idempotent(view: Callable[..., Any] | None = None, *,
               withhold: tuple[str, ...] = ()) -> Any:
    """Make a create endpoint answer a retried request (same ``Idempotency-Key``, same body) as it did first;
    ``withhold`` names answer fields never kept (a replay answers them ``null``)."""
    if view is None:
        return lambda inner: idempotent(inner, withhold=withhold)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = _read_key()
        tenant = g.get("tenant")
        if tenant is None and "tenant_code" not in g and current_user.is_authenticated:
            tenant = current_user.tenant  # the user's own records (tokens): kept in the user's tenant
        if key is None or tenant is None or not current_user.is_authenticated or current_user.tenant_id != tenant.id:
            return view(*args, **kwargs)  # no key, or a write the service will refuse anyway
        db = session()
        reserved = _reserve(db, tenant.id, key, fingerprint(request.method, request.path, request.get_data()))
        if isinstance(reserved, Response):
            return reserved
        row_id = reserved.id
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            _release(db, row_id)
            raise
        if not 200 <= response.status_code < 300:
            _release(db, row_id)
            return response
        db.rollback()  # the service committed its work; store the answer in a transaction of its own
        db.execute(sa.update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(
            status=response.status_code, response_body=_kept_body(response, withhold)))
        db.commit()
        return response

    # The OpenAPI document names the one 422 the API answers (``jixiao.api.ErrorResponsesPlugin``).
    return Blueprint.doc(responses={422: IDEMPOTENCY_KEY_REUSED})(wrapper)


def purge_expired(db: Any, now: datetime | None = None) -> int:
    """Delete the keys older than the time to live; returns how many (for a periodic job or the CLI)."""
    cutoff = (now or utcnow()) - ttl()
    result = db.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    db.commit()
    return int(result.rowcount or 0)
