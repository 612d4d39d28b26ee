"""The agency library (第三方机构库): each agency's type, its yearly quality result, rewards and penalties.

Finance scores the quality of every evaluation an agency performs (``evaluations.score_quality``). A year's
result (:func:`quality_summaries`) is, per agency, the count, sum and mean of those scores over the
evaluations of the year's projects; the tenant's thresholds (settings ``agencies.reward_from``,
``agencies.notice_below``, ``agencies.bar_below``, on the mean) turn it into a verdict: 奖励, 合格, 通报 or
暂停委托 ("根据考评结果进行奖罚"). An agency is barred from new commissions (:func:`assignment_blocker`) when
finance suspended it (``Agency.barred``, with a reason) or when its result of the project's year or of the
year before is 暂停委托: a bad year stops the rest of that year's commissions and the next year's round.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import audit, inputs
from jixiao.accounts.models import User
from jixiao.errors import Conflict, NotFound, ValidationFailed
from jixiao.lifecycle import common
from jixiao.lifecycle.models import Agency, AgencyType, Evaluation, LabelledEnum, Project
from jixiao.tenancy.models import Tenant

AGENCY_FIELDS = ["name", "contact", "agency_type", "barred", "bar_reason"]
REWARD_FROM, NOTICE_BELOW, BAR_BELOW = "agencies.reward_from", "agencies.notice_below", "agencies.bar_below"
MEAN_PLACES = Decimal("0.01")


class Verdict(LabelledEnum):
    """What a year's quality result earns an agency."""

    REWARD = "reward"
    QUALIFIED = "qualified"
    NOTICE = "notice"
    BAR = "bar"

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self.value]


VERDICT_LABELS = {"reward": "奖励", "qualified": "合格", "notice": "通报批评", "bar": "暂停委托"}


@dataclasses.dataclass(frozen=True)
class QualityRules:
    """The thresholds on a year's mean quality score (0–100)."""

    reward_from: Decimal
    notice_below: Decimal
    bar_below: Decimal

    def verdict(self, mean: Decimal) -> Verdict:
        if mean < self.bar_below:
            return Verdict.BAR
        if mean < self.notice_below:
            return Verdict.NOTICE
        if mean >= self.reward_from:
            return Verdict.REWARD
        return Verdict.QUALIFIED


@dataclasses.dataclass(frozen=True)
class QualitySummary:
    """One agency's quality result for one year: the evaluations scored, their sum and mean, the verdict."""

    agency_id: int
    year: int
    count: int
    total: Decimal
    mean: Decimal | None
    verdict: Verdict | None

    @property
    def verdict_label(self) -> str:
        return self.verdict.label if self.verdict else "未评定"


@dataclasses.dataclass(frozen=True)
class LibraryEntry:
    """An agency as the library and the assignment form show it: its result for the year and, when it may not
    be commissioned, why."""

    agency: Agency
    summary: QualitySummary
    blocker: str | None

    @property
    def id(self) -> int:
        return self.agency.id

    @property
    def name(self) -> str:
        return self.agency.name


def quality_rules(session: Session, tenant: Tenant) -> QualityRules:
    settings = common.tenant_view(session, tenant).settings
    return QualityRules(Decimal(str(settings[REWARD_FROM])), Decimal(str(settings[NOTICE_BELOW])),
                        Decimal(str(settings[BAR_BELOW])))


def quality_summaries(session: Session, tenant: Tenant, year: int,
                      agency_ids: list[int] | None = None) -> dict[int, QualitySummary]:
    """Every agency's result for ``year`` (of the year's projects' evaluations whose quality was scored), in one
    statement; an agency with nothing scored has count 0 and no verdict."""
    rules = quality_rules(session, tenant)
    stmt = (
        sa.select(Evaluation.agency_id, sa.func.count(Evaluation.id), sa.func.sum(Evaluation.quality_score))
        .join(Project, Project.id == Evaluation.project_id)
        .where(Evaluation.tenant_id == tenant.id, Project.year == year, Evaluation.agency_id.is_not(None),
               Evaluation.quality_score.is_not(None))
        .group_by(Evaluation.agency_id)
    )
    if agency_ids is not None:
        stmt = stmt.where(Evaluation.agency_id.in_(agency_ids))
    found: dict[int, QualitySummary] = {}
    for agency_id, count, scored in session.execute(stmt):
        total = Decimal(str(scored)).quantize(MEAN_PLACES)
        mean = (total / count).quantize(MEAN_PLACES, rounding=ROUND_HALF_UP)
        assert agency_id is not None, "the statement keeps only evaluations with an agency"
        found[agency_id] = QualitySummary(agency_id, year, count, total, mean, rules.verdict(mean))
    ids = agency_ids if agency_ids is not None else list(session.scalars(
        sa.select(Agency.id).where(Agency.tenant_id == tenant.id)))
    for agency_id in ids:
        found.setdefault(agency_id, QualitySummary(agency_id, year, 0, Decimal("0.00"), None, None))
    return found


def assignment_blocker(session: Session, tenant: Tenant, agency: Agency, year: int) -> str | None:
    """Why ``agency`` may not be commissioned an evaluation of a project of ``year`` (None: it may)."""
    return _blockers(session, tenant, [agency], year)[agency.id]


def _blockers(session: Session, tenant: Tenant, agency_list: list[Agency], year: int) -> dict[int, str | None]:
    ids = [a.id for a in agency_list]
    this_year = quality_summaries(session, tenant, year, ids)
    last_year = quality_summaries(session, tenant, year - 1, ids)
    bar_below = quality_rules(session, tenant).bar_below
    found: dict[int, str | None] = {}
    for agency in agency_list:
        if agency.barred:
            found[agency.id] = f"财政部门已暂停委托：{agency.bar_reason}"
            continue
        found[agency.id] = None
        for summary in (this_year[agency.id], last_year[agency.id]):
            if summary.verdict is Verdict.BAR:
                found[agency.id] = (f"{summary.year} 年度工作质量考评平均 {summary.mean} 分，"
                                    f"低于 {bar_below} 分，暂停委托")
                break
    return found


def require_assignable(session: Session, tenant: Tenant, agency: Agency, year: int) -> None:
    """Refuse (409) a new commission of ``agency`` that it is barred from, naming the agency and the reason."""
    blocker = assignment_blocker(session, tenant, agency, year)
    if blocker:
        message = f"第三方机构“{agency.name}”不能接受新的委托：{blocker}"
        raise Conflict(message, fields={"agency_id": message})


def library(session: Session, tenant: Tenant, year: int, *, active_only: bool = False) -> list[LibraryEntry]:
    """The agencies with their result for ``year`` and whether each may be commissioned a project of that year."""
    stmt = sa.select(Agency).where(Agency.tenant_id == tenant.id)
    if active_only:
        stmt = stmt.where(Agency.active.is_(True))
    agency_list = list(session.scalars(stmt.order_by(Agency.name)))
    summaries = quality_summaries(session, tenant, year, [a.id for a in agency_list])
    blockers = _blockers(session, tenant, agency_list, year)
    return [LibraryEntry(a, summaries[a.id], blockers[a.id]) for a in agency_list]


def get_agency(session: Session, tenant: Tenant, agency_id: int) -> Agency:
    agency = session.get(Agency, agency_id)
    if agency is None or agency.tenant_id != tenant.id:
        raise NotFound("未找到该第三方机构")
    return agency


def agency_type(value: Any, field: str = "agency_type") -> AgencyType:
    """The agency type ``value`` names, or a refusal naming the field and the types."""
    try:
        return AgencyType(value)
    except ValueError:
        allowed = "、".join(f"{t.value}（{t.label}）" for t in AgencyType)
        raise ValidationFailed(fields={field: f"机构类型“{value}”不是可选的值；应为：{allowed}"}) from None


def update_agency(session: Session, actor: User, tenant: Tenant, agency: Agency, data: dict[str, Any],
                  version: int | None) -> Agency:
    """Finance corrects an agency's name, contact or type (the version read is required)."""
    common.require_finance(actor, tenant, "修改第三方机构")
    errors: dict[str, str] = {}
    name = data.get("name")
    if name is not None:
        if not str(name).strip():
            errors["name"] = "请填写机构名称"
        else:
            inputs.collect(errors, inputs.check_text, name, "name", "机构名称", max_length=inputs.NAME_MAX_LENGTH,
                           name=True)
    if data.get("contact") is not None:
        inputs.collect(errors, inputs.check_text, data["contact"], "contact", "联系方式",
                       max_length=inputs.NAME_MAX_LENGTH, multiline=False)
    kind = None
    if data.get("agency_type") is not None:
        try:
            kind = agency_type(data["agency_type"])
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    agency = common.lock_version(session, agency, version, "机构信息")
    if name is not None and str(name).strip() != agency.name and session.scalar(sa.select(Agency.id).where(
            Agency.tenant_id == tenant.id, Agency.name == str(name).strip())):
        raise Conflict(f"已登记名为 {name} 的机构", fields={"name": f"已登记名为 {name} 的机构"})
    before = audit.snapshot(agency, AGENCY_FIELDS)
    if name is not None:
        agency.name = str(name).strip()
    if data.get("contact") is not None:
        agency.contact = str(data["contact"]).strip()
    if kind is not None:
        agency.agency_type = kind
    session.flush()
    common.record(session, actor, "agency.update", agency, before, audit.snapshot(agency, AGENCY_FIELDS))
    common.commit(session)
    return agency


def bar_agency(session: Session, actor: User, tenant: Tenant, agency: Agency, reason: str,
               version: int | None) -> Agency:
    """Finance suspends an agency from new commissions (暂停委托), saying why; audited."""
    return _set_barred(session, actor, tenant, agency, True, reason, version)


def unbar_agency(session: Session, actor: User, tenant: Tenant, agency: Agency, reason: str,
                 version: int | None) -> Agency:
    """Finance lifts its own suspension, saying why; audited. A bar from the quality result stays until the
    result changes (it is the scores' verdict, not finance's decision)."""
    return _set_barred(session, actor, tenant, agency, False, reason, version)


def _set_barred(session: Session, actor: User, tenant: Tenant, agency: Agency, barred: bool, reason: str,
                version: int | None) -> Agency:
    common.require_finance(actor, tenant, "暂停或恢复委托第三方机构")
    label = "暂停委托的原因" if barred else "恢复委托的原因"
    reason = inputs.check_text(reason, "reason", label, max_length=inputs.COMMENT_MAX_LENGTH, required=True).strip()
    agency = common.lock_version(session, agency, version, "机构信息")
    if agency.barred == barred:
        raise Conflict(f"第三方机构“{agency.name}”{'已经暂停委托' if barred else '未被暂停委托'}")
    before = audit.snapshot(agency, AGENCY_FIELDS)
    agency.barred = barred
    agency.bar_reason = reason if barred else ""
    session.flush()
    common.record(session, actor, "agency.bar" if barred else "agency.unbar", agency, before,
                  {**audit.snapshot(agency, AGENCY_FIELDS), "reason": reason})
    common.commit(session)
    return agency
