"""In-app notifications (the bell): written by scans and jobs, read by their one recipient.

Who receives a notification about a project is decided by ``jixiao.policy.project_audience`` (only those who
can open the project); this module only writes them, once per user and ``dedupe_key`` (the unique key
``uq_notifications_user_dedupe`` of revision 0004 holds that, whoever writes at the same moment).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from jixiao import pagination
from jixiao.db import insert_many, utcnow
from jixiao.errors import NotFound
from jixiao.jobs.models import Notification

#: Rows per INSERT of :func:`notify_many`: 9 bound values a row stays far below SQLite's and PostgreSQL's limits on
#: the parameters of one statement (32,766 and 65,535), so a scan's statements grow with thousands, not rows.
CHUNK = 1000


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """One ``INSERT … ON CONFLICT (user_id, dedupe_key) DO NOTHING … RETURNING id`` of ``rows``; the ids of those
    written (the channels beyond the bell send only these).

    The unique key ``uq_notifications_user_dedupe`` decides, not a read before the write: no round trip per
    notification, and two writers of the same notification at the same moment (two workers, a retried job) leave
    one row and raise nothing. Row-level security applies to the insert as to any other.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    key = ["user_id", "dedupe_key"]
    stmt: Any
    if dialect == "postgresql":
        # The rows as one JSON parameter of one statement text (``db.insert_many``): multi-row VALUES would make
        # psycopg split a new statement of thousands of placeholders in Python for every batch.
        written = insert_many(session, Notification, {}, {name: [row[name] for row in rows] for name in rows[0]},
                              ("id",), skip_conflicts_on=tuple(key))
        return [int(id_) for (id_,) in written]
    if dialect == "sqlite":
        stmt = sqlite.insert(Notification).on_conflict_do_nothing(index_elements=key)
    else:
        raise NotImplementedError(f"notifications need INSERT … ON CONFLICT, which jixiao writes for PostgreSQL "
                                  f"and SQLite; not for {dialect}")
    # The rows as parameters of one statement, not inlined into it: the statement is compiled once and cached,
    # and SQLAlchemy's "insertmanyvalues" still sends them as multi-row VALUES (one round trip per batch).
    # RETURNING answers the rows inserted only: those skipped by ON CONFLICT are not returned.
    return [int(written) for written in session.scalars(stmt.returning(Notification.id), rows)]


def _row(item: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"tenant_id": item["tenant_id"], "user_id": int(item["user_id"]), "kind": item["kind"],
            "title": item["title"][:200], "body": item.get("body", ""), "url": item.get("url", "")[:300],
            "dedupe_key": str(item["dedupe_key"])[:120], "created_at": now, "read_at": None}


def notify(session: Session, *, tenant_id: int, user_id: int, kind: str, title: str, body: str = "", url: str = "",
           dedupe_key: str) -> bool:
    """Write a notification unless the same one (``dedupe_key``) was written before; True when written.

    One statement (see :func:`_insert`)."""
    return _insert(session, [_row({"tenant_id": tenant_id, "user_id": user_id, "kind": kind, "title": title,
                                   "body": body, "url": url, "dedupe_key": dedupe_key}, utcnow())]) != []


def notify_many(session: Session, notifications: Iterable[dict[str, Any]]) -> int:
    """:func:`write_many`, answering the number written."""
    return len(write_many(session, notifications))


def write_many(session: Session, notifications: Iterable[dict[str, Any]]) -> list[int]:
    """Write many notifications at once, each unless its user already has one with its ``dedupe_key``.

    Each item has the keyword arguments of :func:`notify` (``tenant_id``, ``user_id``, ``kind``, ``title``,
    ``body``, ``url``, ``dedupe_key``). One statement per :data:`CHUNK` notifications (a multi-row insert that
    skips those already written, see :func:`_insert`), so a scan's cost does not grow by a round trip per user
    and record. Returns the ids of those written (not of those skipped).
    """
    now = utcnow()
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for item in notifications:
        row = _row(item, now)
        # The first of two items with the same key is the one written, as a second call would leave it.
        wanted.setdefault((row["user_id"], row["dedupe_key"]), row)
    rows = list(wanted.values())
    return [written for start in range(0, len(rows), CHUNK) for written in _insert(session, rows[start:start + CHUNK])]


def page_for_user(session: Session, user: Any, page: int = 1,
                  per_page: int = pagination.DEFAULT_PER_PAGE) -> tuple[int, pagination.Page[Notification]]:
    """The user's unread count and one page of their notifications, newest first: three statements, whatever
    the number."""
    stmt = sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc())
    return unread_count(session, user), pagination.fetch(session, stmt, page, per_page)


def target(session: Session, user: Any, notification_id: int) -> str:
    """Where one of the user's notifications points ("" for none, or for another user's)."""
    return session.scalar(sa.select(Notification.url).where(Notification.id == notification_id,
                                                            Notification.user_id == user.id)) or ""


def unread_count(session: Session, user: Any) -> int:
    return session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(session: Session, user: Any, notification_id: int | None = None) -> int:
    """Mark one notification (or all) of ``user`` read; another user's notification does not exist for them."""
    stmt = sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        owned = session.scalar(sa.select(Notification.id).where(Notification.id == notification_id,
                                                                Notification.user_id == user.id))
        if owned is None:
            raise NotFound("未找到该通知")
        stmt = stmt.where(Notification.id == notification_id)
    # Session.execute is typed for any statement; an UPDATE's result is a CursorResult, which counts the rows.
    count = cast(CursorResult, session.execute(stmt.values(read_at=utcnow()))).rowcount
    session.commit()
    return count
