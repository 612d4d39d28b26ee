"""The audit administrator's audit log (审计管理): read and export every tenant's events and the operators' own,
and the purge of events older than the retention (``jixiao audit purge``).

Reading never turns the tenant walls off: :func:`_every_tenant` lists the tenants in the session's scope (the
ORM filter and PostgreSQL's row-level security stay on, and no tenant is writable) for the one query of this
module, and restores the actor's own scope afterwards, so it cannot be used to read any other table.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import audit, units
from jixiao.audit.models import AuditEvent
from jixiao.db import utcnow
from jixiao.errors import ValidationFailed
from jixiao.spreadsheets import xlsx
from jixiao.system import duties
from jixiao.tenancy.models import Tenant

#: The tenant filter's word for the operators' own events, which belong to no tenant.
PLATFORM = "platform"
MAX_PER_PAGE = 200
#: An export larger than this is refused: narrow the dates (one workbook stays small enough to open).
EXPORT_LIMIT = 100_000
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9999, 12, 30)
HEADINGS = ["序号", "时间", "财政部门代码", "财政部门", "操作人", "操作", "对象类型", "对象编号", "变更前", "变更后"]


@dataclasses.dataclass(frozen=True)
class EventFilter:
    """What the audit administrator asks for; every field is optional."""

    tenant: str | None = None
    action: str | None = None
    actor: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def describe(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in dataclasses.asdict(self).items() if v}


@dataclasses.dataclass(frozen=True)
class PurgeResult:
    count: int
    cutoff: datetime
    retention_days: int


@contextlib.contextmanager
def _every_tenant(session: Session, actor: Any) -> Iterator[dict[int, Tenant]]:
    duties.require_audit_reader(actor)
    with duties.every_tenant(session) as tenants:
        yield tenants


def _conditions(filters: EventFilter, tenants: dict[int, Tenant]) -> list[Any]:
    conditions: list[Any] = []
    # Beyond these a day's local midnight is not a representable UTC time (an overflow, not a filter).
    for field, day in (("from", filters.date_from), ("to", filters.date_to)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise ValidationFailed(fields={field: f"日期须在 {FIRST_DAY} 至 {LAST_DAY} 之间"})
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise ValidationFailed(fields={"to": "结束日期不能早于开始日期"})
    if filters.tenant:
        if filters.tenant == PLATFORM:
            conditions.append(AuditEvent.tenant_id.is_(None))
        else:
            tenant_id = next((t.id for t in tenants.values() if t.code == filters.tenant), None)
            if tenant_id is None:
                raise ValidationFailed(fields={"tenant": f"没有代码为 {filters.tenant} 的财政部门（平台运维的事件用 {PLATFORM}）"})
            conditions.append(AuditEvent.tenant_id == tenant_id)
    if filters.action:
        conditions.append(AuditEvent.action == filters.action)
    if filters.actor:
        conditions.append(AuditEvent.actor_name == filters.actor)
    zone = units.local_zone()  # the filter's days are the bureau's
    if filters.date_from:
        conditions.append(AuditEvent.at >= datetime.combine(filters.date_from, time.min, zone))
    if filters.date_to:
        conditions.append(AuditEvent.at < datetime.combine(filters.date_to + timedelta(days=1), time.min, zone))
    return conditions


def _row(event: AuditEvent, tenants: dict[int, Tenant]) -> dict[str, Any]:
    tenant = tenants.get(event.tenant_id) if event.tenant_id is not None else None
    return {
        "id": event.id,
        "at": event.at,
        "tenant_code": tenant.code if tenant else PLATFORM,
        "tenant_name": tenant.name if tenant else "平台运维",
        "actor_name": event.actor_name,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
    }


def list_events(session: Session, actor: Any, filters: EventFilter, *, page: int = 1,
                per_page: int = 50) -> dict[str, Any]:
    """One page of the audit log, newest first, with the total that matches the filters."""
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    with _every_tenant(session, actor) as tenants:
        conditions = _conditions(filters, tenants)
        total = session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(*conditions)) or 0
        events = session.scalars(
            sa.select(AuditEvent).where(*conditions).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(per_page).offset((page - 1) * per_page)).all()
        items = [_row(e, tenants) for e in events]
    return {"total": total, "page": page, "per_page": per_page, "items": items}


def export_events(session: Session, actor: Any, filters: EventFilter) -> tuple[bytes, str, int]:
    """The events matching ``filters`` as an .xlsx (user text written as text), oldest first; the export is audited."""
    with _every_tenant(session, actor) as tenants:
        conditions = _conditions(filters, tenants)
        total = session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(*conditions)) or 0
        if total > EXPORT_LIMIT:
            raise ValidationFailed(fields={"from": f"共 {total} 条，超过一次导出的上限 {EXPORT_LIMIT} 条，请缩小日期范围"})
        events = session.scalars(
            sa.select(AuditEvent).where(*conditions).order_by(AuditEvent.at, AuditEvent.id)).all()
        rows = [_row(e, tenants) for e in events]
    described = filters.describe()
    subtitle = "筛选：" + ("；".join(f"{k}={v}" for k, v in described.items()) or "全部") + f"；共 {len(rows)} 条"
    data = xlsx.rows_to_xlsx(
        "审计日志", HEADINGS,
        ([r["id"], r["at"], r["tenant_code"], r["tenant_name"], r["actor_name"], r["action"], r["object_type"],
          r["object_id"], _json(r["before"]), _json(r["after"])] for r in rows),
        widths=[10, 18, 12, 20, 18, 24, 18, 12, 40, 40], formats={1: "yyyy-mm-dd hh:mm:ss"}, subtitle=subtitle)
    audit.record(session, actor=actor, action="audit.export", object_type="audit_events", object_id="",
                 tenant_id=None, after={"filters": described, "count": len(rows)})
    session.commit()
    stamp = units.local_now(utcnow()).strftime("%Y%m%d-%H%M%S")
    return data, f"审计日志-{stamp}.xlsx", len(rows)


def _json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def purge_expired(connection: sa.Connection, retention_days: int, *, now: datetime | None = None) -> PurgeResult:
    """Delete the events older than ``retention_days`` and record an ``audit.purge`` event, in the caller's
    transaction on ``connection``, which must be the tables' owner's (the application role may not delete
    audit rows).

    The owner has ``BYPASSRLS`` (docs/operations.md). An owner without it is subject to the forced row-level
    security like anyone: then, for this transaction only, FORCE is lifted on ``audit_events`` and set again
    before the commit (DDL is transactional, so no other session ever sees the table unforced; the app's
    audited writes wait for the purge to commit).
    """
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    table = cast(sa.Table, AuditEvent.__table__)  # a declarative model's table, typed as any FromClause
    unforce = connection.dialect.name == "postgresql" and not connection.execute(sa.text(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")).scalar()
    if unforce:
        connection.execute(sa.text("ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY"))
    count = connection.execute(sa.delete(table).where(table.c.at < cutoff)).rowcount
    connection.execute(sa.insert(table).values(
        tenant_id=None, actor_id=None, actor_name="system", action="audit.purge", object_type="audit_events",
        object_id="", at=now or utcnow(), before=None,
        after={"count": count, "cutoff": cutoff.isoformat(), "retention_days": retention_days,
               "run_by": _os_user()}))
    if unforce:
        connection.execute(sa.text("ALTER TABLE audit_events FORCE ROW LEVEL SECURITY"))
    return PurgeResult(count=count, cutoff=cutoff, retention_days=retention_days)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return ""
