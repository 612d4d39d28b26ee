"""Writing and reading the audit log. Services call :func:`record` inside the unit of work they commit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from jixiao.audit.models import AuditEvent
from jixiao.db import insert_many, utcnow

#: Types JSON holds as they are (exactly these: a subclass, an enum of str say, goes the long way).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it: dates in ISO form, decimals as strings (exact), enums as their values,
    containers recursively. Audit before/after snapshots and plugin event details both go through here."""
    if type(value) in _PLAIN:  # most values of a snapshot (an import audits every field of every project)
        return value
    if isinstance(value, dict):
        # A snapshot is a dict of mostly plain values: those are kept without a call each.
        return {(k if type(k) is str else str(k)): (v if type(v) in _PLAIN else jsonable(v))
                for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def record(
    session: Session,
    *,
    actor: Any,
    action: str,
    obj: Any | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    tenant_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to ``session``; it commits with the change it describes, or not at all."""
    if obj is not None:
        object_type = object_type or type(obj).__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
        if tenant_id is None:
            tenant_id = getattr(obj, "tenant_id", None)
    if tenant_id is None and actor is not None:
        tenant_id = getattr(actor, "tenant_id", None)
    audit = AuditEvent(
        tenant_id=tenant_id,
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", None) or "system",
        action=action,
        object_type=object_type or "unknown",
        object_id=str(object_id) if object_id is not None else "",
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )
    session.add(audit)
    return audit


def record_many(session: Session, *, actor: Any, action: str, object_type: str, tenant_id: int | None,
                changes: list[tuple[Any, dict[str, Any] | None, dict[str, Any] | None]],
                at: datetime | None = None) -> int:
    """Add one audit event per ``(object_id, before, after)`` of ``changes`` in a single statement (a scan that
    changes many records of one kind at once, an import of many projects); they commit with the change, or not
    at all. ``at``: when (now)."""
    if not changes:
        return 0
    fixed = {"tenant_id": tenant_id, "at": at or utcnow(), "actor_id": getattr(actor, "id", None),
             "actor_name": getattr(actor, "username", None) or "system", "action": action,
             "object_type": object_type}
    insert_many(session, AuditEvent, fixed, {
        "object_id": [str(object_id) for object_id, _before, _after in changes],
        "before": [jsonable(before) if before is not None else None for _object_id, before, _after in changes],
        "after": [jsonable(after) if after is not None else None for _object_id, _before, after in changes],
    })
    return len(changes)


def history(session: Session, object_type: str, object_id: Any, limit: int = 200) -> list[AuditEvent]:
    """An object's history, newest first (only what the session's scope may see)."""
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    return {f: jsonable(getattr(obj, f)) for f in fields}


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, _ctx: Any, _instances: Any) -> None:
    # PostgreSQL enforces this with grants; this keeps SQLite and the tests honest too.
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("audit events are append-only")
