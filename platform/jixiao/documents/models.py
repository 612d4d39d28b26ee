"""A generated document (PDF report, spreadsheet export, import error report) and where it belongs."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jixiao.db import Base, TenantOwned, TimestampMixin


class Document(TenantOwned, TimestampMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (sa.Index("ix_documents_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # What it is: evaluation_report, rectification_notice, ranking_notice, statistics_report, export, import_errors.
    kind: Mapped[str] = mapped_column(sa.String(40))
    # The record it belongs to (evaluations / rectification_notices / tenants / ...), listed on that record.
    owner_type: Mapped[str] = mapped_column(sa.String(40))
    owner_id: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
