"""Inter-level assessment (上级对下级的预算绩效管理工作考核).

The assessor's records (campaign, subjects, scores) belong to the assessor's tenant. What a subject sees of a
campaign — the invitation, its self-report and evidence, and, once published, its own result — is copied
into a row of the subject's own tenant, so the walls between tenants hold for assessments too.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jixiao.db import Base, ExactDecimal, TenantOwned, TimestampMixin


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    FINALIZED = "finalized"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return {"draft": "草稿", "open": "自评和评分中", "finalized": "已汇总排名", "published": "已发布"}[self.value]


class ScoreStatus(enum.StrEnum):
    COMPUTED = "computed"
    SCORED = "scored"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    PENDING = "pending"

    @property
    def label(self) -> str:
        return {"computed": "系统计算", "scored": "已评分", "insufficient_evidence": "证据不足",
                "pending": "待评分"}[self.value]


def _enum(cls: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e])


class Campaign(TenantOwned, TimestampMixin, Base):
    __tablename__ = "assessment_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    scheme_code: Mapped[str] = mapped_column(sa.String(60))
    # The scheme as it was when the campaign opened: results are reproducible from the recorded inputs.
    scheme: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    rule_set: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus), default=CampaignStatus.DRAFT)
    deadline: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    finalized_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    finalize_job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id"))
    version: Mapped[int] = mapped_column(default=1)

    subjects: Mapped[list[CampaignSubject]] = relationship(
        back_populates="campaign", order_by="CampaignSubject.code", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}


class CampaignSubject(TenantOwned, Base):
    """One assessed subject: a lower tenant, or one of the assessor's own departments."""

    __tablename__ = "assessment_subjects"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "code", name="uq_assessment_subjects_campaign_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_campaigns.id", ondelete="CASCADE"), index=True)
    subject_tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"))
    subject_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200))
    division_type: Mapped[str] = mapped_column(sa.String(16), default="")
    # Rankings compare like with like: cities with cities, counties with counties, departments together.
    level: Mapped[str] = mapped_column(sa.String(16))
    parent_code: Mapped[str | None] = mapped_column(sa.String(32))
    total: Mapped[Decimal | None] = mapped_column(ExactDecimal(8, 2))
    grade: Mapped[str | None] = mapped_column(sa.String(16))
    rank: Mapped[int | None]
    rank_in_parent: Mapped[int | None]
    vetoed: Mapped[bool] = mapped_column(default=False)
    awards: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    notices: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    campaign: Mapped[Campaign] = relationship(back_populates="subjects")
    scores: Mapped[list[CampaignScore]] = relationship(
        back_populates="subject", order_by="CampaignScore.indicator_code", cascade="all, delete-orphan")


class CampaignScore(TenantOwned, Base):
    """One indicator's points for one subject: computed from records, scored by an assessor, or pending."""

    __tablename__ = "assessment_scores"
    __table_args__ = (sa.UniqueConstraint("subject_id", "indicator_code", name="uq_assessment_scores_subject_indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_subjects.id", ondelete="CASCADE"), index=True)
    indicator_code: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[ScoreStatus] = mapped_column(_enum(ScoreStatus))
    value: Mapped[Decimal | None] = mapped_column(ExactDecimal(12, 4))
    points: Mapped[Decimal] = mapped_column(ExactDecimal(8, 2))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    scored_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    subject: Mapped[CampaignSubject] = relationship(back_populates="scores")


class SubjectAssignment(TenantOwned, TimestampMixin, Base):
    """The subject's side of a campaign, in the subject's own tenant: invitation, self-report, own result."""

    __tablename__ = "assessment_assignments"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "tenant_id", "code", name="uq_assessment_assignments_campaign"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_campaigns.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    assessor_name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(200))
    year: Mapped[int]
    deadline: Mapped[date]
    # The assessed items the subject reports on: [{"code", "name", "max"}].
    items: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    self_reports: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Filled when the assessor publishes: total, grade, ranks, deductions with reasons, awards, notices.
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
