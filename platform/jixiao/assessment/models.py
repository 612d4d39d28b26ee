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
    """open (self-report until the deadline, then scoring) → finalized (公示: provisional results and appeals)
    → published; a campaign may be withdrawn (撤回) at any stage before it is published."""

    DRAFT = "draft"
    OPEN = "open"
    FINALIZED = "finalized"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {"draft": "草稿", "open": "自评和评分中", "finalized": "已汇总，公示中", "published": "已发布",
                "withdrawn": "已撤回"}[self.value]


class ScoreStatus(enum.StrEnum):
    """The state of one item for one subject: what it scored, and why.

    ``no_data``: a computed item whose base is empty (nothing was owed); the scheme says whether that is not
    applicable (left out of the maximum), zero or full. ``not_applicable``: left out of the subject's maximum.
    ``not_submitted`` (未报送): an assessed item the subject did not report by the deadline (0, counted).
    ``insufficient_evidence``: reported without evidence (0, counted). ``pending``: not scored yet.
    ``insufficient_information`` (信息不足): the assessor could not judge the item; like ``not_applicable``, left
    out of the aggregation and of the subject's maximum. Assessors give these two only where the scheme allows.
    """

    SCORED = "scored"
    NO_DATA = "no_data"
    NOT_APPLICABLE = "not_applicable"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    NOT_SUBMITTED = "not_submitted"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    PENDING = "pending"

    @property
    def label(self) -> str:
        return {"scored": "已计分", "no_data": "无数据", "not_applicable": "不适用",
                "insufficient_information": "信息不足", "not_submitted": "未报送",
                "insufficient_evidence": "证据不足", "pending": "待评分"}[self.value]


class ScoreSource(enum.StrEnum):
    COMPUTED = "computed"
    ASSESSOR = "assessor"
    OVERRIDE = "override"

    @property
    def label(self) -> str:
        return {"computed": "系统根据记录计算", "assessor": "考核人员评分", "override": "考核人员调整"}[self.value]


class AppealOutcome(enum.StrEnum):
    UPHELD = "upheld"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"upheld": "申诉成立", "rejected": "维持原评分"}[self.value]


def _enum(cls: type[enum.Enum], length: int = 24) -> sa.Enum:
    return sa.Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Campaign(TenantOwned, TimestampMixin, Base):
    __tablename__ = "assessment_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    scheme_code: Mapped[str] = mapped_column(sa.String(60))
    # The scheme as it was when the campaign opened: results are reproducible from the recorded inputs.
    scheme: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    rule_set: Mapped[str] = mapped_column(sa.String(100))
    # Which plugin answered each rule the campaign was run by (hook name → plugin): the scheme when opened, the
    # grades and awards when finalised; {} for campaigns opened before this was kept.
    answered_by: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus), default=CampaignStatus.DRAFT)
    deadline: Mapped[date]
    # Computed items read the records as they stood at the end of this day (the deadline by default), so that
    # finalising again later, or after a reopening, gives the same answer.
    cutoff: Mapped[date | None]
    # The last day of the publicity period (公示) in which subjects may appeal; set when finalised.
    appeal_until: Mapped[date | None]
    force_reason: Mapped[str] = mapped_column(sa.Text, default="")
    reopen_reason: Mapped[str] = mapped_column(sa.Text, default="")
    withdraw_reason: Mapped[str] = mapped_column(sa.Text, default="")
    withdrawn_at: Mapped[datetime | None]
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
    # Below the scheme's coverage threshold a subject is listed after the ranked ones as 数据不足.
    ranked: Mapped[bool] = mapped_column(default=True)
    coverage: Mapped[Decimal | None] = mapped_column(ExactDecimal(6, 4))
    # The points the subject could be measured on, and the scheme's full marks the total is rescaled to.
    measurable: Mapped[Decimal | None] = mapped_column(ExactDecimal(8, 2))
    full_marks: Mapped[Decimal | None] = mapped_column(ExactDecimal(8, 2))
    awards: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    notices: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # The subject's result on the scheme's scale (None when the scheme sums points), and its groups' results:
    # [{"code", "name", "method", "state", "label", "points", "maximum", "note"}].
    label: Mapped[str | None] = mapped_column(sa.String(32))
    groups: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list, server_default=sa.text("'[]'"))

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
    source: Mapped[ScoreSource] = mapped_column(_enum(ScoreSource, 16), default=ScoreSource.ASSESSOR)
    value: Mapped[Decimal | None] = mapped_column(ExactDecimal(12, 4))
    points: Mapped[Decimal] = mapped_column(ExactDecimal(8, 2))
    # The label of the item's scale, when it is scored on one (the points are then the label's, if any).
    label: Mapped[str | None] = mapped_column(sa.String(32))
    # What the item counts for in the subject's maximum: its max, or 0 when not applicable.
    maximum: Mapped[Decimal | None] = mapped_column(ExactDecimal(8, 2))
    # An overridden computed item keeps what the records gave, beside the assessor's points and reason.
    computed_points: Mapped[Decimal | None] = mapped_column(ExactDecimal(8, 2))
    override_reason: Mapped[str] = mapped_column(sa.Text, default="")
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


class Appeal(TenantOwned, TimestampMixin, Base):
    """申诉: a subject contests an item of its provisional result during the publicity period, with evidence.

    Kept in the subject's own tenant (like its assignment); the assessor reads it from above and answers it.
    """

    __tablename__ = "assessment_appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_campaigns.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    indicator_code: Mapped[str] = mapped_column(sa.String(40))
    text: Mapped[str] = mapped_column(sa.Text)
    file_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    outcome: Mapped[AppealOutcome | None] = mapped_column(_enum(AppealOutcome, 16))
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    answered_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
