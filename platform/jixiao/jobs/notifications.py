"""In-app notifications (the bell): written by scans and jobs, read by their one recipient.

Who receives a notification about a project is decided by ``jixiao.policy.project_audience`` (only those who
can open the project); this module only writes them, once per user and ``dedupe_key``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from jixiao.db import utcnow
from jixiao.errors import NotFound
from jixiao.jobs.models import Notification


def notify(session: Session, *, tenant_id: int, user_id: int, kind: str, title: str, body: str = "", url: str = "",
           dedupe_key: str) -> bool:
    """Write a notification unless the same one (``dedupe_key``) was written before; True when written."""
    exists = session.scalar(sa.select(Notification.id).where(Notification.user_id == user_id,
                                                             Notification.dedupe_key == dedupe_key))
    if exists:
        return False
    session.add(Notification(tenant_id=tenant_id, user_id=user_id, kind=kind, title=title[:200], body=body,
                             url=url[:300], dedupe_key=dedupe_key[:120], created_at=utcnow()))
    return True


def notify_many(session: Session, notifications: Iterable[dict[str, Any]]) -> int:
    """Write many notifications at once, each unless its user already has one with its ``dedupe_key``.

    Each item has the keyword arguments of :func:`notify` (``tenant_id``, ``user_id``, ``kind``, ``title``,
    ``body``, ``url``, ``dedupe_key``). Two statements whatever the number (one read of the keys already
    written, one multi-row insert), so a scan's cost does not grow by a round trip per user and record.
    Returns the number written.
    """
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for item in notifications:
        key = (int(item["user_id"]), str(item["dedupe_key"])[:120])
        wanted.setdefault(key, item)
    if not wanted:
        return 0
    users = sorted({user_id for user_id, _key in wanted})
    keys = sorted({key for _user, key in wanted})
    written = {(user_id, key) for user_id, key in session.execute(sa.select(
        Notification.user_id, Notification.dedupe_key).where(Notification.user_id.in_(users),
                                                             Notification.dedupe_key.in_(keys)))}
    now = utcnow()
    rows = [{"tenant_id": item["tenant_id"], "user_id": user_id, "kind": item["kind"], "title": item["title"][:200],
             "body": item.get("body", ""), "url": item.get("url", "")[:300], "dedupe_key": key, "created_at": now,
             "read_at": None}
            for (user_id, key), item in wanted.items() if (user_id, key) not in written]
    if rows:
        session.execute(sa.insert(Notification), rows)
    return len(rows)


def for_user(session: Session, user: Any, limit: int = 30) -> tuple[int, list[Notification]]:
    unread = session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0
    items = list(session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                                 .order_by(Notification.id.desc()).limit(limit)))
    return unread, items


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
