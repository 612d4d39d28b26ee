"""The lifecycle of every project, policy and department-whole budget (全过程绩效管理).

ex-ante assessment → performance targets → dual monitoring → evaluation → rectification → results applied.
Every record is tenant-owned; money is Decimal yuan (``Money``); times are timezone-aware.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jixiao.accounts.models import Department, User
from jixiao.db import Base, ExactDecimal, TenantOwned, TimestampMixin, utcnow


def _enum(cls: type[enum.Enum], length: int = 24) -> sa.Enum:
    return sa.Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class LabelledEnum(enum.StrEnum):
    @property
    def label(self) -> str:
        return LABELS.get(self.value, self.value)


class ProjectKind(LabelledEnum):
    PROJECT = "project"
    POLICY = "policy"
    DEPARTMENT_WHOLE = "department_whole"


class FundType(LabelledEnum):
    GENERAL_PUBLIC = "general_public"
    GOVERNMENT_FUND = "government_fund"
    STATE_CAPITAL = "state_capital"
    SOCIAL_INSURANCE = "social_insurance"


class SpendingModality(LabelledEnum):
    """What the money is spent through (支出方式, seeds 001 and 004): several may apply to one project, and
    ``none`` says that none does. A project keeps them as a list (``Project.spending_modalities``); an empty list
    means they were not recorded, which is not the same as ``none``."""

    PPP = "ppp"
    INVESTMENT_FUND = "investment_fund"
    PROCUREMENT = "procurement"
    PURCHASE_OF_SERVICES = "purchase_of_services"
    GOVERNMENT_DEBT = "government_debt"
    NONE = "none"

    @property
    def label(self) -> str:
        # Labels of their own: "none" and the like would collide with other enums' values in ``LABELS``.
        return MODALITY_LABELS[self.value]


class FundSource(LabelledEnum):
    """Where a special fund (专项资金) comes from, by level of government (seed 003: 中央省市专项)."""

    CENTRAL = "central"
    PROVINCIAL = "provincial"
    CITY = "city"
    OWN = "own"

    @property
    def label(self) -> str:
        return FUND_SOURCE_LABELS[self.value]


MODALITY_LABELS = {
    "ppp": "政府和社会资本合作（PPP）", "investment_fund": "政府投资基金", "procurement": "政府采购",
    "purchase_of_services": "政府购买服务", "government_debt": "政府债务（专项债券）", "none": "不涉及",
}
FUND_SOURCE_LABELS = {"central": "中央专项", "provincial": "省级专项", "city": "市级专项", "own": "本级专项"}


class Stage(LabelledEnum):
    """Where a project stands; each service that moves it forward sets the next stage."""

    DRAFT = "draft"
    TARGETS_SUBMITTED = "targets_submitted"
    TARGETS_APPROVED = "targets_approved"
    BUDGETED = "budgeted"
    EVALUATED = "evaluated"
    RECTIFYING = "rectifying"
    CLOSED = "closed"


class TargetStatus(LabelledEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class Direction(LabelledEnum):
    GE = "ge"
    GT = "gt"
    EQ = "eq"
    LE = "le"
    LT = "lt"
    QUALITATIVE = "qualitative"

    @property
    def symbol(self) -> str:
        return {"ge": "≥", "gt": ">", "eq": "=", "le": "≤", "lt": "<", "qualitative": "定性"}[self.value]


class IndicatorNature(LabelledEnum):
    """How an indicator's value builds up through the year, which decides what monitoring compares it with.

    ``cumulative`` values (counts, amounts) grow month by month and are compared with the pro-rated annual
    target; ``level`` values (rates, unit costs, satisfaction) are what they are at any time and are compared
    with the target itself.
    """

    CUMULATIVE = "cumulative"
    LEVEL = "level"


class Conclusion(LabelledEnum):
    SUPPORT = "support"
    ADJUST = "adjust"
    REJECT = "reject"


class Light(LabelledEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    BLUE = "blue"


class WarningResponse(LabelledEnum):
    CONTINUE = "continue"
    ADJUST = "adjust_funds"
    CANCEL = "cancel"


class EvaluationKind(LabelledEnum):
    SELF = "self"
    DEPARTMENT = "department"
    FINANCE = "finance"
    THIRD_PARTY = "third_party"


class EvaluationStatus(LabelledEnum):
    ASSIGNED = "assigned"
    SUBMITTED = "submitted"


class QualitativeBand(LabelledEnum):
    ACHIEVED = "achieved"
    PARTIAL = "partial"
    NOT_ACHIEVED = "not_achieved"


class NoticeStatus(LabelledEnum):
    ISSUED = "issued"
    ANSWERED = "answered"
    VERIFIED = "verified"
    RETURNED = "returned"


LABELS = {
    "project": "项目", "policy": "政策", "department_whole": "部门整体",
    "general_public": "一般公共预算", "government_fund": "政府性基金预算",
    "state_capital": "国有资本经营预算", "social_insurance": "社会保险基金预算",
    "draft": "填报中", "targets_submitted": "目标待审核", "targets_approved": "目标已批复",
    "budgeted": "预算已批复", "evaluated": "已评价", "rectifying": "整改中", "closed": "已办结",
    "submitted": "已提交", "approved": "已批复", "returned": "已退回",
    "ge": "≥", "gt": ">", "eq": "=", "le": "≤", "lt": "<", "qualitative": "定性",
    "support": "支持", "adjust": "调整后支持", "reject": "不予支持",
    "red": "红灯", "yellow": "黄灯", "green": "绿灯", "blue": "蓝灯",
    "self": "单位自评", "department": "部门评价", "finance": "财政评价", "third_party": "第三方评价",
    "assigned": "待评价",
    "achieved": "达成", "partial": "部分达成", "not_achieved": "未达成",
    "issued": "已下达", "answered": "已反馈", "verified": "已核验",
    "cumulative": "累计值", "level": "水平值",
    "continue": "继续执行", "adjust_funds": "调剂", "cancel": "取消",
}


class Project(TenantOwned, TimestampMixin, Base):
    """A project, a policy or a department's whole budget, for one budget year."""

    __tablename__ = "projects"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "year", "code", name="uq_projects_tenant_year_code"),
        sa.Index("ix_projects_tenant_year_stage", "tenant_id", "year", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    year: Mapped[int]
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[ProjectKind] = mapped_column(_enum(ProjectKind))
    fund_type: Mapped[FundType] = mapped_column(_enum(FundType))
    category: Mapped[str] = mapped_column(sa.String(40), default="")
    is_new: Mapped[bool] = mapped_column(default=True)
    is_key: Mapped[bool] = mapped_column(default=False)
    classified: Mapped[bool] = mapped_column(default=False)
    # 支出方式: SpendingModality values in the enum's order; [] = not recorded. A JSON list rather than an
    # association table: a handful of fixed codes always read and written with the project, filtered by
    # containment, and no extra table to put under row-level security.
    spending_modalities: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # 专项资金: only a project (not a policy or a department-whole budget) may be one; the rest of the projects
    # are department budget projects (部门预算项目). Only a special fund has a fund source (None: not recorded).
    is_special_fund: Mapped[bool] = mapped_column(default=False)
    fund_source: Mapped[FundSource | None] = mapped_column(_enum(FundSource, 16))
    # 延续项目: the earlier year's project this one continues when its code changed (a project keeping its code
    # continues the same code's earlier year without a link). Results of the earlier project's evaluations
    # reach this one's budget (``lifecycle.continuation``).
    continues_project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="SET NULL", name="fk_projects_continues_project_id"), index=True)
    requested_amount: Mapped[Decimal]
    approved_amount: Mapped[Decimal | None]
    adjusted_amount: Mapped[Decimal | None]
    stage: Mapped[Stage] = mapped_column(_enum(Stage), default=Stage.DRAFT)
    payment_suspended: Mapped[bool] = mapped_column(default=False)
    suspension_reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    department: Mapped[Department] = relationship(lazy="joined")
    targets: Mapped[TargetSet | None] = relationship(back_populates="project", uselist=False)

    __mapper_args__ = {"version_id_col": version}

    @hybrid_property
    def budget_amount(self) -> Decimal:
        """The budget execution is measured against: adjusted, else approved, else requested.

        The first amount that is set, so an adjusted amount of 0 (a budget cut to nothing) is the budget. The
        same rule in Python and in SQL (``COALESCE``), so what monitoring and scoring measure against is what
        the statistics count.
        """
        for amount in (self.adjusted_amount, self.approved_amount):
            if amount is not None:
                return amount
        return self.requested_amount

    @budget_amount.inplace.expression
    @classmethod
    def _budget_amount_expression(cls) -> sa.ColumnElement[Decimal]:
        return sa.func.coalesce(cls.adjusted_amount, cls.approved_amount, cls.requested_amount)


class ExAnteAssessment(TenantOwned, TimestampMixin, Base):
    """事前绩效评估: dimension scores and comments, the reviewers, the conclusion and the amount cut."""

    __tablename__ = "exante_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), unique=True)
    scores: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    comments: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    total_score: Mapped[Decimal]
    reviewer_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    conclusion: Mapped[Conclusion] = mapped_column(_enum(Conclusion))
    amount_cut: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    assessed_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)

    project: Mapped[Project] = relationship()

    __mapper_args__ = {"version_id_col": version}


class TargetSet(TenantOwned, TimestampMixin, Base):
    """绩效目标: the overall target and its indicator table, submitted by the unit, reviewed by finance."""

    __tablename__ = "target_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), unique=True)
    overall_target: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[TargetStatus] = mapped_column(_enum(TargetStatus), default=TargetStatus.DRAFT)
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    review_comment: Mapped[str] = mapped_column(sa.Text, default="")
    published_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    project: Mapped[Project] = relationship(back_populates="targets")
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="target_set", order_by="Indicator.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class Indicator(TenantOwned, Base):
    """A level-3 indicator under level 1 (产出/效益/满意度/成本) and level 2 (数量, 质量, …)."""

    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_set_id: Mapped[int] = mapped_column(sa.ForeignKey("target_sets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    level1: Mapped[str] = mapped_column(sa.String(20))
    level2: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, 12))
    target_value: Mapped[Decimal | None] = mapped_column(ExactDecimal(20, 4))
    target_text: Mapped[str] = mapped_column(sa.String(200), default="")
    unit: Mapped[str] = mapped_column(sa.String(20), default="")
    nature: Mapped[IndicatorNature] = mapped_column(_enum(IndicatorNature, 12), default=IndicatorNature.CUMULATIVE)
    weight: Mapped[Decimal] = mapped_column(ExactDecimal(8, 2))
    catalog_code: Mapped[str | None] = mapped_column(sa.String(40))

    target_set: Mapped[TargetSet] = relationship(back_populates="indicators")


class MonitoringReport(TenantOwned, TimestampMixin, Base):
    """双监控: budget execution and indicator attainment for one period (month) of the project's year."""

    __tablename__ = "monitoring_reports"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "period", name="uq_monitoring_reports_project_period"),
        # Only warnings have a response_due: the daily scan's due and late warnings (migration 0025).
        sa.Index("ix_monitoring_reports_response_due_for_daily_scan", "tenant_id", "response_due",
                 postgresql_where=sa.text("response_due IS NOT NULL"),
                 sqlite_where=sa.text("response_due IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    period: Mapped[int]
    executed_amount: Mapped[Decimal]
    execution_rate: Mapped[Decimal] = mapped_column(ExactDecimal(8, 2))
    light: Mapped[Light] = mapped_column(_enum(Light, 8))
    cause: Mapped[str] = mapped_column(sa.Text, default="")
    measure: Mapped[str] = mapped_column(sa.Text, default="")
    # Warnings from the tenant's rules (预警) and, when they ask for one, the unit's answer by a deadline.
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    response: Mapped[WarningResponse | None] = mapped_column(_enum(WarningResponse, 12))
    response_note: Mapped[str] = mapped_column(sa.Text, default="")
    response_due: Mapped[date | None]
    responded_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Which red light of the report's this is: a new number each time the light turns red, kept while it stays red
    # through corrections and the unit's answer, so a red light is notified once (not at every new version).
    red_episode: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    version: Mapped[int] = mapped_column(default=1)

    project: Mapped[Project] = relationship()
    values: Mapped[list[MonitoringValue]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="MonitoringValue.indicator_id"
    )

    __mapper_args__ = {"version_id_col": version}


class MonitoringValue(TenantOwned, Base):
    __tablename__ = "monitoring_values"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("monitoring_reports.id", ondelete="CASCADE"), index=True)
    indicator_id: Mapped[int] = mapped_column(sa.ForeignKey("indicators.id"))
    actual_value: Mapped[Decimal | None] = mapped_column(ExactDecimal(20, 4))
    attainment: Mapped[Decimal | None] = mapped_column(ExactDecimal(8, 2))
    light: Mapped[Light | None] = mapped_column(_enum(Light, 8))
    band: Mapped[QualitativeBand | None] = mapped_column(_enum(QualitativeBand, 16))
    note: Mapped[str] = mapped_column(sa.String(200), default="")

    report: Mapped[MonitoringReport] = relationship(back_populates="values")
    indicator: Mapped[Indicator] = relationship()


class AgencyType(LabelledEnum):
    """What kind of body a third-party agency is (第三方机构库: 会计师事务所, 咨询机构, 高校 …)."""

    ACCOUNTING_FIRM = "accounting_firm"
    CONSULTANCY = "consultancy"
    UNIVERSITY = "university"
    RESEARCH_INSTITUTE = "research_institute"
    OTHER = "other"

    @property
    def label(self) -> str:
        return AGENCY_TYPE_LABELS[self.value]


AGENCY_TYPE_LABELS = {"accounting_firm": "会计师事务所", "consultancy": "咨询机构", "university": "高校",
                      "research_institute": "科研院所", "other": "其他机构"}


class Agency(TenantOwned, TimestampMixin, Base):
    """A third-party evaluation agency (第三方机构) registered with the tenant.

    ``barred`` is finance's own suspension (暂停委托) with its reason; a year's quality result can bar the agency
    too (``jixiao.lifecycle.agencies``), without touching this row.
    """

    __tablename__ = "agencies"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name", name="uq_agencies_tenant_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    contact: Mapped[str] = mapped_column(sa.String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    agency_type: Mapped[AgencyType] = mapped_column(_enum(AgencyType), default=AgencyType.OTHER)
    barred: Mapped[bool] = mapped_column(default=False)
    bar_reason: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class SampleDraw(TenantOwned, TimestampMixin, Base):
    """A re-evaluation sample (抽评) drawn from self-evaluated projects, reproducible from its seed."""

    __tablename__ = "sample_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    rule: Mapped[str] = mapped_column(sa.String(100))
    population_ids: Mapped[list[int]] = mapped_column(sa.JSON)
    drawn_ids: Mapped[list[int]] = mapped_column(sa.JSON)
    # A redraw never assigns a project twice: the drawn projects split into those this draw assigned and
    # those that already had an evaluation (from an earlier draw or of the kind this draw assigns).
    assigned_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    already_assigned_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    @property
    def summary(self) -> str:
        """What the draw did, in a sentence for the person who drew it."""
        text = f"抽中 {len(self.drawn_ids)} 个项目，新安排评价 {len(self.assigned_ids or [])} 个"
        if self.already_assigned_ids:
            text += f"；已有 {len(self.already_assigned_ids)} 个项目此前已安排评价，未重复安排"
        return text + "。"


class Evaluation(TenantOwned, TimestampMixin, Base):
    """绩效评价: one evaluation of a project by one party, scored by the indicator rules."""

    __tablename__ = "evaluations"
    __table_args__ = (
        sa.Index("ix_evaluations_tenant_kind", "tenant_id", "kind"),
        # The public results page and finalise's published-evaluations metric (migration 0025).
        sa.Index("ix_evaluations_published_for_public_page", "tenant_id",
                 postgresql_where=sa.text("published_at IS NOT NULL"),
                 sqlite_where=sa.text("published_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    kind: Mapped[EvaluationKind] = mapped_column(_enum(EvaluationKind))
    status: Mapped[EvaluationStatus] = mapped_column(_enum(EvaluationStatus), default=EvaluationStatus.ASSIGNED)
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    sample_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sample_draws.id"))
    executed_amount: Mapped[Decimal | None]
    execution_score: Mapped[Decimal | None] = mapped_column(ExactDecimal(8, 2))
    total_score: Mapped[Decimal | None] = mapped_column(ExactDecimal(8, 2))
    grade: Mapped[str | None] = mapped_column(sa.String(8))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    findings: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    internal_comment: Mapped[str] = mapped_column(sa.Text, default="")
    evaluator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    # The last withdrawal from the public page (撤回公开): who, when and why. Kept when the result is published
    # again, so the record still says it was once withdrawn; every withdrawal is in the audit log.
    unpublished_at: Mapped[datetime | None]
    unpublished_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    unpublish_reason: Mapped[str] = mapped_column(sa.Text, default="")
    quality_score: Mapped[Decimal | None] = mapped_column(ExactDecimal(6, 2))
    quality_comment: Mapped[str] = mapped_column(sa.Text, default="")
    # The evaluation form it was scored on (groups, points, the form's own indicators), as the weights hook
    # answered at submission: a later change of the region's rules does not change a submitted score.
    form: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # Which plugin answered each rule it was scored by (hook name → plugin), kept at submission; {} before.
    answered_by: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)

    project: Mapped[Project] = relationship()
    agency: Mapped[Agency | None] = relationship()
    scores: Mapped[list[EvaluationScore]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan", order_by="[EvaluationScore.position, EvaluationScore.id]"
    )

    __mapper_args__ = {"version_id_col": version}

    def form_item(self, code: str | None) -> dict[str, Any]:
        """The form's own indicator ``code`` (决策 / 过程 rows) as the evaluation kept it, or ``{}``."""
        for group in (self.form or {}).get("groups", []):
            for item in group.get("indicators") or []:
                if item.get("code") == code:
                    return dict(item)
        return {}


class EvaluationScore(TenantOwned, Base):
    """One row of an evaluation's own indicator table.

    A row scores either one of the project's target indicators (``indicator_id``) or an indicator of the
    evaluation form itself (``form_code``: 决策 and 过程 in finance and key evaluations). ``group_name`` is the
    form's level-1 group the row counts in (成本 indicators count in 产出 by default).
    """

    __tablename__ = "evaluation_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluations.id", ondelete="CASCADE"), index=True)
    indicator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("indicators.id"))
    form_code: Mapped[str | None] = mapped_column(sa.String(40))
    position: Mapped[int] = mapped_column(default=0)
    group_name: Mapped[str] = mapped_column(sa.String(20), default="")
    level2: Mapped[str] = mapped_column(sa.String(40), default="")
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    actual_value: Mapped[Decimal | None] = mapped_column(ExactDecimal(20, 4))
    band: Mapped[QualitativeBand | None] = mapped_column(_enum(QualitativeBand, 16))
    band_fraction: Mapped[Decimal | None] = mapped_column(ExactDecimal(6, 4))
    points: Mapped[Decimal] = mapped_column(ExactDecimal(8, 2))
    score: Mapped[Decimal] = mapped_column(ExactDecimal(8, 2))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    evaluation: Mapped[Evaluation] = relationship(back_populates="scores")
    indicator: Mapped[Indicator | None] = relationship()


class RectificationNotice(TenantOwned, TimestampMixin, Base):
    """整改通知书: the problems an evaluation found, a deadline, the unit's answer and finance's check."""

    __tablename__ = "rectification_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluations.id"), unique=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    problems: Mapped[list[str]] = mapped_column(sa.JSON)
    deadline: Mapped[date]
    status: Mapped[NoticeStatus] = mapped_column(_enum(NoticeStatus), default=NoticeStatus.ISSUED)
    measures: Mapped[str] = mapped_column(sa.Text, default="")
    answered_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    verifier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    return_reason: Mapped[str] = mapped_column(sa.Text, default="")
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    project: Mapped[Project] = relationship()
    evaluation: Mapped[Evaluation] = relationship()

    __mapper_args__ = {"version_id_col": version}


class EvidenceFile(TenantOwned, TimestampMixin, Base):
    """A file a user uploaded as evidence; stored under the instance folder, named by its hash."""

    __tablename__ = "evidence_files"
    __table_args__ = (sa.Index("ix_evidence_files_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(sa.String(40))
    owner_id: Mapped[int]
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100), default="application/octet-stream")
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class ResultApplication(TenantOwned, TimestampMixin, Base):
    """结果应用: the action the grade suggests, finance's decision and its effect on next year's budget."""

    __tablename__ = "result_applications"
    # The statistics of a budget year count the decisions applied to it (by next_year, not the evaluated year).
    __table_args__ = (sa.Index("ix_result_applications_tenant_next_year", "tenant_id", "next_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluations.id"), unique=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    grade: Mapped[str] = mapped_column(sa.String(8))
    suggested_action: Mapped[str] = mapped_column(sa.String(40))
    decision: Mapped[str] = mapped_column(sa.String(40))
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    amount_change: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    idle_recovered: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    next_year: Mapped[int]
    # The continuing project whose budget of ``next_year`` the decision changes (the first year of the project
    # not yet approved); None while that year's project is not filed yet: it is attached when it is.
    applies_to_project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="SET NULL", name="fk_result_applications_applies_to_project_id"),
        index=True)
    # False once a more authoritative evaluation of the project decides (the order of the hook
    # ``evaluation_authority``): kept and shown, no longer applied or counted.
    in_force: Mapped[bool] = mapped_column(default=True)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # A changed decision names the version it changes, so two people deciding at once cannot overwrite each other.
    version: Mapped[int] = mapped_column(default=1)

    project: Mapped[Project] = relationship(foreign_keys=[project_id])
    applies_to: Mapped[Project | None] = relationship(foreign_keys=[applies_to_project_id])
    evaluation: Mapped[Evaluation] = relationship()

    __mapper_args__ = {"version_id_col": version}


class ResultDecision(TenantOwned, Base):
    """One decision on an evaluation's result, as it was made: a changed decision is a new row.

    ``ResultApplication`` keeps the current decision per evaluation (statistics count it); this table keeps
    every one, never updated.
    """

    __tablename__ = "result_decisions"
    __table_args__ = (sa.Index("ix_result_decisions_project_decided", "project_id", "decided_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluations.id"), index=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    grade: Mapped[str] = mapped_column(sa.String(8))
    suggested_action: Mapped[str] = mapped_column(sa.String(40))
    decision: Mapped[str] = mapped_column(sa.String(40))
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    amount_change: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    idle_recovered: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    next_year: Mapped[int]
    applies_to_project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="SET NULL", name="fk_result_decisions_applies_to_project_id"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    decided_by: Mapped[User | None] = relationship()
    evaluation: Mapped[Evaluation] = relationship()


class Expert(TenantOwned, TimestampMixin, Base):
    """An expert of the tenant's expert pool (专家库): fields of expertise and declared conflicts of interest.

    A pool is kept by one tenant and usable by its descendants: a county draws ex-ante reviewers from its own
    pool and its ancestors' (``jixiao.lifecycle.experts``). ``user_id`` is the expert's login, a user of the
    keeping tenant holding the expert role, if they have one (an ancestor's expert reviews a county's project
    with it, by the county's draw); without a login the expert reviews offline and finance records the assessment.
    """

    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    organisation: Mapped[str] = mapped_column(sa.String(200), default="")
    # 专业领域: short words ("教育", "工程造价"), each once, as typed; a draw names one of them.
    expertise: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Declared conflicts of interest (回避): departments (a department conflicts for all its projects) and single
    # projects; ids, which are unique across tenants.
    conflict_department_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    conflict_project_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ExpertDraw(TenantOwned, TimestampMixin, Base):
    """A random draw of ex-ante reviewers for one project from the usable pools, reproducible from its seed.

    Kept as drawn, never updated: the pool it drew from, who was excluded and why, who was drawn (their names
    as they were then) and which logins it assigned. The latest draw of a project is the one in force.
    """

    __tablename__ = "expert_draws"
    __table_args__ = (sa.Index("ix_expert_draws_project", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    field: Mapped[str] = mapped_column(sa.String(40))
    count: Mapped[int]
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    # Active experts of the field in the usable pools, by id; the draw picks from those not excluded.
    pool_ids: Mapped[list[int]] = mapped_column(sa.JSON)
    excluded: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)  # [{"id", "reason"}]
    drawn_ids: Mapped[list[int]] = mapped_column(sa.JSON)
    # id (as text) → {"name", "organisation", "tenant"}: the experts named by the draw, as they were then.
    names: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # The drawn experts' logins in the project's tenant: the assessment's assigned reviewers.
    assigned_user_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    due: Mapped[date | None]
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    def _named(self, expert_id: int) -> dict[str, Any]:
        return {"id": expert_id, "name": "", "organisation": "", "tenant": "", "online": False,
                **(self.names or {}).get(str(expert_id), {})}

    @property
    def drawn_experts(self) -> list[dict[str, Any]]:
        """The drawn experts as the draw named them: id, name, organisation and the tenant keeping them."""
        return [self._named(i) for i in self.drawn_ids or []]

    @property
    def excluded_experts(self) -> list[dict[str, Any]]:
        """The experts of the field left out, each with the reason (回避), as the draw named them."""
        return [{**self._named(x["id"]), "reason": x["reason"]} for x in self.excluded or []]


class EvaluationPerformer(LabelledEnum):
    """Who performs a key evaluation of a yearly plan: an agency of one type, or finance's own evaluation team
    (财政绩效评价组)."""

    ACCOUNTING_FIRM = "accounting_firm"
    CONSULTANCY = "consultancy"
    UNIVERSITY = "university"
    RESEARCH_INSTITUTE = "research_institute"
    OTHER = "other"
    FINANCE_TEAM = "finance_team"

    @property
    def label(self) -> str:
        return PERFORMER_LABELS[self.value]


PERFORMER_LABELS = {**AGENCY_TYPE_LABELS, "finance_team": "财政绩效评价组"}


class EvaluationPlan(TenantOwned, TimestampMixin, Base):
    """A bureau's yearly plan of key evaluations (财政重点绩效评价计划): how many of which kind by whom."""

    __tablename__ = "evaluation_plans"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "year", name="uq_evaluation_plans_tenant_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    lines: Mapped[list[EvaluationPlanLine]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="EvaluationPlanLine.position")

    __mapper_args__ = {"version_id_col": version}


class EvaluationPlanLine(TenantOwned, Base):
    """One line of a plan: ``planned_count`` evaluations of projects of ``project_kind`` by ``performer``."""

    __tablename__ = "evaluation_plan_lines"
    __table_args__ = (sa.UniqueConstraint("plan_id", "project_kind", "performer",
                                          name="uq_evaluation_plan_lines_plan_kind_performer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_plans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    project_kind: Mapped[ProjectKind] = mapped_column(_enum(ProjectKind))
    performer: Mapped[EvaluationPerformer] = mapped_column(_enum(EvaluationPerformer))
    planned_count: Mapped[int]

    plan: Mapped[EvaluationPlan] = relationship(back_populates="lines")
