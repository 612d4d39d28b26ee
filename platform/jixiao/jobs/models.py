"""Durable records of background work and the notifications it leaves for people.

Redis holds the queue; everything that matters — who asked, what, how far it got, what came out or why it
failed — is here, so a restarted Redis or a killed worker loses nothing.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jixiao.db import Base, TenantOwned, TimestampMixin


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {"queued": "排队中", "running": "执行中", "retrying": "等待重试", "succeeded": "已完成",
                "failed": "失败"}[self.value]

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class Job(TenantOwned, TimestampMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Scheduled scans that span tenants belong to none.
    tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True)  # type: ignore[assignment]
    kind: Mapped[str] = mapped_column(sa.String(60))
    queue: Mapped[str] = mapped_column(sa.String(30))
    args: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[JobStatus] = mapped_column(
        sa.Enum(JobStatus, native_enum=False, length=12, values_callable=lambda e: [m.value for m in e]),
        default=JobStatus.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(sa.String(300), default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=1)
    rq_job_id: Mapped[str | None] = mapped_column(sa.String(64))
    worker: Mapped[str] = mapped_column(sa.String(200), default="")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]


class Notification(TenantOwned, Base):
    """A message in a user's bell (站内通知)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
        sa.UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_dedupe"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    url: Mapped[str] = mapped_column(sa.String(300), default="")
    # Scans run again and again: the same reminder is written once.
    dedupe_key: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class NotificationDelivery(TenantOwned, Base):
    """A notification a channel beyond the bell accepted for its recipient (the notification's user): the delivery
    job skips what is recorded here when it runs again — a retry after a mail server failed half-way, a second job
    for the same notifications — so nobody gets the same e-mail twice."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "channel", name="uq_notification_deliveries_notification_channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(sa.ForeignKey("notifications.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(sa.String(40))
    sent_at: Mapped[datetime]
