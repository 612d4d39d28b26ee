"""Assessment campaigns: open one with a scheme, let subjects self-report, score, finalise, rank, publish.

Finalising and publishing run as jobs (``assessment.finalize``, ``assessment.publish``) and are reproducible:
the campaign keeps the scheme it was opened with, the computed indicators are measured again from the
records, and the assessors' scores are kept as entered.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from jixiao import audit
from jixiao.accounts.models import Department, Role, User
from jixiao.assessment import metrics
from jixiao.assessment.models import (
    Campaign,
    CampaignScore,
    CampaignStatus,
    CampaignSubject,
    ScoreStatus,
    SubjectAssignment,
)
from jixiao.db import TenantScope, scoped, utcnow
from jixiao.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jixiao.lifecycle import common
from jixiao.tenancy.models import Tenant, TenantLevel
from jixiao.toolkit import AssessmentResultView

ASSESSED_KINDS = {"assessed", "bonus", "deduction", "veto"}


# ---- Schemes ------------------------------------------------------------------------------------------------


def schemes_for(session: Session, tenant: Tenant, year: int) -> list[dict[str, Any]]:
    """The schemes the tenant's plugins offer for ``year`` at the tenant's level."""
    offered = [s for answer in reversed(common.hooks(session, tenant).register_assessment_schemes(year=year))
               for s in (answer or [])]
    return [s for s in offered if str(tenant.level) in s.get("for_levels", ["province", "city"])]


def indicators_of(scheme: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(indicator, group=group["name"]) for group in scheme["groups"] for indicator in group["indicators"]]


def _require_assessor(actor: User, tenant: Tenant) -> None:
    if actor.tenant_id != tenant.id or not actor.has_role(Role.FINANCE, Role.ADMIN):
        raise Forbidden("只有本级财政绩效人员可以组织考核")


# ---- Opening a campaign -------------------------------------------------------------------------------------


def _subjects(session: Session, tenant: Tenant, kind: str) -> list[dict[str, Any]]:
    if kind == "departments":
        departments = session.scalars(sa.select(Department).where(Department.tenant_id == tenant.id,
                                                                  Department.parent_id.is_(None), Department.active))
        return [{"department_id": d.id, "tenant_id": None, "code": d.code, "name": d.name, "division_type": "部门",
                 "level": "department", "parent_code": tenant.code} for d in departments]
    levels = {"counties": [TenantLevel.COUNTY], "cities": [TenantLevel.CITY],
              "cities_and_counties": [TenantLevel.CITY, TenantLevel.COUNTY]}[kind]
    below = session.scalars(sa.select(Tenant).where(Tenant.path.startswith(tenant.path), Tenant.id != tenant.id,
                                                    Tenant.level.in_(levels)).order_by(Tenant.code))
    return [{"tenant_id": t.id, "department_id": None, "code": t.code, "name": t.name,
             "division_type": t.division_type, "level": str(t.level), "parent_code": t.parent_code} for t in below]


def create_campaign(session: Session, actor: User, tenant: Tenant, *, year: int, scheme_code: str,
                    deadline: date, title: str | None = None) -> Campaign:
    """Open a campaign with one of the schemes the tenant's plugins offer for the year."""
    _require_assessor(actor, tenant)
    schemes = {s["code"]: s for s in schemes_for(session, tenant, year)}
    if scheme_code not in schemes:
        offered = "、".join(f"{c}（{s['name']}）" for c, s in schemes.items()) or "无"
        raise ValidationFailed(fields={"scheme": f"{year} 年本级可用的考核方案：{offered}"})
    scheme = schemes[scheme_code]
    subjects = _subjects(session, tenant, scheme["subjects"])
    if not subjects:
        raise Conflict("没有可考核的对象（下级财政部门或本级部门）")
    campaign = Campaign(tenant_id=tenant.id, year=year, title=title or f"{year}年度{scheme['name']}",
                        scheme_code=scheme_code, scheme=scheme, rule_set=scheme.get("rule_set", scheme_code),
                        status=CampaignStatus.OPEN, deadline=deadline, created_by_id=actor.id)
    for subject in subjects:
        campaign.subjects.append(CampaignSubject(
            tenant_id=tenant.id, subject_tenant_id=subject["tenant_id"], subject_department_id=subject["department_id"],
            code=subject["code"], name=subject["name"], division_type=subject["division_type"],
            level=subject["level"], parent_code=subject["parent_code"]))
    session.add(campaign)
    session.flush()
    audit.record(session, actor=actor, action="assessment.create", obj=campaign,
                 after={"year": year, "scheme": scheme_code, "subjects": len(subjects)})
    session.commit()
    _invite(session, tenant, campaign)
    return campaign


def _invite(session: Session, tenant: Tenant, campaign: Campaign) -> None:
    """Give each subject its own row to self-report in, in the subject's tenant."""
    items = [{"code": i["code"], "name": i["name"], "max": i["max"], "kind": i["kind"]}
             for i in indicators_of(campaign.scheme) if i["kind"] in ASSESSED_KINDS]
    rows = [(s.subject_tenant_id or tenant.id, s.code) for s in campaign.subjects]
    for tenant_id, code in rows:
        with scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id)) as writer:
            writer.add(SubjectAssignment(tenant_id=tenant_id, campaign_id=campaign.id, code=code,
                                         assessor_name=tenant.bureau_name, title=campaign.title, year=campaign.year,
                                         deadline=campaign.deadline, items=items, self_reports={}))
            writer.commit()


def get_campaign(session: Session, tenant: Tenant, campaign_id: int) -> Campaign:
    campaign = session.scalar(sa.select(Campaign).where(Campaign.id == campaign_id, Campaign.tenant_id == tenant.id))
    if campaign is None:
        raise NotFound("未找到该考核")
    return campaign


def list_campaigns(session: Session, tenant: Tenant) -> list[Campaign]:
    return list(session.scalars(sa.select(Campaign).where(Campaign.tenant_id == tenant.id)
                                .order_by(Campaign.year.desc(), Campaign.id.desc())))


# ---- The subject's side -------------------------------------------------------------------------------------


def assignments_for(session: Session, tenant: Tenant) -> list[SubjectAssignment]:
    return list(session.scalars(sa.select(SubjectAssignment).where(SubjectAssignment.tenant_id == tenant.id)
                                .order_by(SubjectAssignment.year.desc(), SubjectAssignment.id.desc())))


def get_assignment(session: Session, tenant: Tenant, campaign_id: int) -> SubjectAssignment:
    assignment = session.scalar(sa.select(SubjectAssignment).where(
        SubjectAssignment.tenant_id == tenant.id, SubjectAssignment.campaign_id == campaign_id))
    if assignment is None:
        raise NotFound("本级没有参加这项考核")
    return assignment


def self_report(session: Session, actor: User, tenant: Tenant, campaign_id: int, indicator_code: str, text: str,
                file_ids: list[int] | None = None) -> SubjectAssignment:
    """The subject reports on an assessed item, with evidence files, before the deadline."""
    if actor.tenant_id != tenant.id or not actor.has_role(Role.FINANCE, Role.ADMIN):
        raise Forbidden("只有本级财政绩效人员可以填报考核自评")
    assignment = get_assignment(session, tenant, campaign_id)
    from jixiao.lifecycle.rectification import today

    if today() > assignment.deadline:
        raise Conflict(f"自评截止日期 {assignment.deadline} 已过")
    if indicator_code not in {i["code"] for i in assignment.items}:
        raise ValidationFailed(fields={"indicator": "不是本考核需要自评的指标"})
    reports = dict(assignment.self_reports)
    entry = dict(reports.get(indicator_code) or {})
    entry["text"] = text.strip()
    entry["file_ids"] = sorted(set(entry.get("file_ids", [])) | set(file_ids or []))
    entry["submitted_at"] = utcnow().isoformat()
    reports[indicator_code] = entry
    assignment.self_reports = reports
    audit.record(session, actor=actor, action="assessment.self_report", obj=assignment,
                 after={"indicator": indicator_code, "files": entry["file_ids"]})
    common.commit(session)
    return assignment


def add_evidence(session: Session, actor: User, tenant: Tenant, campaign_id: int, indicator_code: str,
                 filename: str, data: bytes, content_type: str) -> SubjectAssignment:
    from jixiao.documents.store import write_bytes
    from jixiao.lifecycle.models import EvidenceFile

    if actor.tenant_id != tenant.id or not actor.has_role(Role.FINANCE, Role.ADMIN):
        raise Forbidden("只有本级财政绩效人员可以上传考核佐证材料")
    assignment = get_assignment(session, tenant, campaign_id)
    if not data:
        raise ValidationFailed(fields={"file": "文件是空的"})
    evidence = EvidenceFile(tenant_id=tenant.id, owner_type="assessment_assignments", owner_id=assignment.id,
                            filename=filename[:255], content_type=content_type or "application/octet-stream",
                            size=len(data), sha256=write_bytes(tenant.id, data), uploaded_by_id=actor.id)
    session.add(evidence)
    session.flush()
    text = (assignment.self_reports.get(indicator_code) or {}).get("text", "")
    return self_report(session, actor, tenant, campaign_id, indicator_code, text, [evidence.id])


# ---- Scoring ------------------------------------------------------------------------------------------------


def _subject(session: Session, campaign: Campaign, subject_id: int) -> CampaignSubject:
    subject = session.get(CampaignSubject, subject_id)
    if subject is None or subject.campaign_id != campaign.id:
        raise NotFound("未找到该考核对象")
    return subject


def _assignment_of(session: Session, campaign: Campaign, subject: CampaignSubject) -> SubjectAssignment | None:
    return session.scalar(sa.select(SubjectAssignment).where(SubjectAssignment.campaign_id == campaign.id,
                                                             SubjectAssignment.code == subject.code))


def score(session: Session, actor: User, tenant: Tenant, campaign: Campaign, subject_id: int, indicator_code: str,
          points: Decimal, comment: str = "") -> CampaignScore:
    """An assessor scores an assessed item; without evidence it is 'insufficient evidence', not a low score."""
    _require_assessor(actor, tenant)
    if campaign.status not in (CampaignStatus.OPEN, CampaignStatus.FINALIZED):
        raise Conflict(f"考核{campaign.status.label}，不能再评分")
    indicator = next((i for i in indicators_of(campaign.scheme) if i["code"] == indicator_code), None)
    if indicator is None or indicator["kind"] not in ASSESSED_KINDS:
        raise ValidationFailed(fields={"indicator": "该指标由系统根据记录计算，不能人工评分"})
    maximum = Decimal(str(indicator["max"]))
    if not (Decimal(0) <= points <= maximum):
        raise ValidationFailed(fields={"points": f"“{indicator['name']}”的得分应在 0 到 {maximum} 之间"})
    subject = _subject(session, campaign, subject_id)
    assignment = _assignment_of(session, campaign, subject)
    evidence = (assignment.self_reports.get(indicator_code) or {}).get("file_ids") if assignment else None
    status = ScoreStatus.SCORED
    if indicator["kind"] == "assessed" and not evidence:
        status, points = ScoreStatus.INSUFFICIENT_EVIDENCE, Decimal("0.00")
    row = next((s for s in subject.scores if s.indicator_code == indicator_code), None)
    before = {"points": row.points, "status": row.status} if row else None
    if row is None:
        row = CampaignScore(tenant_id=tenant.id, indicator_code=indicator_code, status=status, points=points)
        subject.scores.append(row)
    row.status, row.points, row.comment, row.scored_by_id = status, points, comment.strip(), actor.id
    session.flush()
    audit.record(session, actor=actor, action="assessment.score", obj=row, before=before,
                 after={"subject": subject.code, "indicator": indicator_code, "points": points, "status": status})
    common.commit(session)
    return row


# ---- Finalising ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Line:
    indicator: dict[str, Any]
    points: Decimal
    status: ScoreStatus
    value: Decimal | None
    reason: str


def finalize(session: Session, tenant: Tenant, campaign: Campaign, progress: Any = None) -> dict[str, Any]:
    """Measure computed indicators for all subjects at once, total, grade, rank, award; reproducible."""
    if campaign.status not in (CampaignStatus.OPEN, CampaignStatus.FINALIZED):
        raise Conflict(f"考核{campaign.status.label}，不能重新汇总")
    scheme = campaign.scheme
    subjects = list(session.scalars(sa.select(CampaignSubject).where(CampaignSubject.campaign_id == campaign.id)
                                    .options(selectinload(CampaignSubject.scores))))
    by = "department" if scheme["subjects"] == "departments" else "tenant"
    key_of = {s.id: (s.subject_department_id if by == "department" else s.subject_tenant_id) for s in subjects}
    measured = metrics.Subjects(by=by, ids=tuple(key_of.values()), year=campaign.year)
    indicators = indicators_of(scheme)
    computed = {i["code"]: metrics.compute(session, i["metric"], measured) for i in indicators if i["kind"] == "computed"}
    if progress:
        progress(40, "已根据记录计算指标")
    hooks = common.hooks(session, tenant)
    for subject in subjects:
        existing = {s.indicator_code: s for s in subject.scores}
        total, vetoed = Decimal(0), False
        for indicator in indicators:
            maximum = Decimal(str(indicator["max"]))
            row = existing.get(indicator["code"])
            if indicator["kind"] == "computed":
                numerator, denominator = computed[indicator["code"]][key_of[subject.id]]
                ratio, pts = metrics.points(maximum, numerator, denominator, indicator.get("empty", "zero"))
                if row is None:
                    row = CampaignScore(tenant_id=tenant.id, indicator_code=indicator["code"],
                                        status=ScoreStatus.COMPUTED, points=pts)
                    subject.scores.append(row)
                row.status, row.value, row.points = ScoreStatus.COMPUTED, ratio, pts
                row.comment = (f"{metrics.METRICS[indicator['metric']].label}：{numerator.normalize()} / "
                               f"{denominator.normalize()}" if denominator else "无应报事项")
            elif row is None:
                row = CampaignScore(tenant_id=tenant.id, indicator_code=indicator["code"], status=ScoreStatus.PENDING,
                                    points=Decimal(0))
                subject.scores.append(row)
            if indicator["kind"] == "deduction":
                total -= row.points
            elif indicator["kind"] == "veto":
                vetoed = vetoed or row.points > 0
            else:
                total += row.points
        subject.vetoed = vetoed
        subject.total = Decimal(0) if vetoed else max(total, Decimal(0)).quantize(Decimal("0.01"))
        subject.grade = hooks.assessment_grade(scheme=scheme, total=subject.total)
    _rank(subjects)
    session.flush()
    if progress:
        progress(70, "已汇总排名")
    upper = ancestor_results(session, tenant, campaign.year)
    views = [AssessmentResultView(code=s.code, name=s.name, division_type=s.division_type, parent_code=s.parent_code,
                                  total=s.total, grade=s.grade, rank=s.rank, rank_in_parent=s.rank_in_parent,
                                  vetoed=s.vetoed) for s in subjects]
    decided = hooks.assessment_awards(scheme=scheme, results=views, ancestor_results=upper) or {}
    for subject in subjects:
        outcome = decided.get(subject.code) or {}
        subject.awards, subject.notices = list(outcome.get("awards", [])), list(outcome.get("notices", []))
    campaign.status, campaign.finalized_at = CampaignStatus.FINALIZED, utcnow()
    audit.record(session, actor=None, action="assessment.finalize", obj=campaign,
                 after={"subjects": len(subjects), "rule_set": campaign.rule_set})
    session.commit()
    return {"campaign_id": campaign.id, "subjects": len(subjects),
            "awarded": sum(1 for s in subjects if s.awards), "noticed": sum(1 for s in subjects if s.notices)}


def _rank(subjects: list[CampaignSubject]) -> None:
    """Standard competition ranking (1, 2, 2, 4) by total, among the same level, and within each parent."""
    def assign(group: list[CampaignSubject], attribute: str) -> None:
        ordered = sorted(group, key=lambda s: (-(s.total or 0), s.code))
        for position, subject in enumerate(ordered, start=1):
            previous = ordered[position - 2] if position > 1 else None
            rank = getattr(previous, attribute) if previous is not None and previous.total == subject.total else position
            setattr(subject, attribute, rank)

    for level in {s.level for s in subjects}:
        peers = [s for s in subjects if s.level == level]
        assign(peers, "rank")
        for parent in {s.parent_code for s in peers}:
            assign([s for s in peers if s.parent_code == parent], "rank_in_parent")


def ancestor_results(session: Session, tenant: Tenant, year: int) -> dict[str, dict[str, Any]]:
    """What upper levels published this year about the tenant's subjects (e.g. the province's ranking of a
    city's counties), read from the subjects' own copies of their results; the best rank when several."""
    rows = session.execute(
        sa.select(SubjectAssignment.code, SubjectAssignment.result, SubjectAssignment.assessor_name)
        .join(Tenant, Tenant.id == SubjectAssignment.tenant_id)
        .where(SubjectAssignment.year == year, SubjectAssignment.result.is_not(None),
               Tenant.path.startswith(tenant.path), Tenant.id != tenant.id)).all()
    found: dict[str, dict[str, Any]] = {}
    for code, result, assessor in rows:
        if assessor == tenant.bureau_name or not result or not result.get("rank"):
            continue
        if code not in found or int(result["rank"]) < found[code]["rank"]:
            found[code] = {"rank": int(result["rank"]), "of": result.get("of"), "grade": result.get("grade"),
                           "total": result.get("total"), "assessor": assessor}
    return found


def ranking(campaign: Campaign) -> list[CampaignSubject]:
    return sorted(campaign.subjects, key=lambda s: (s.level, s.rank or 10**6, s.code))


def deductions(campaign: Campaign, subject: CampaignSubject) -> list[dict[str, Any]]:
    """Where the subject lost points, and why."""
    scores = {s.indicator_code: s for s in subject.scores}
    lost = []
    for indicator in indicators_of(campaign.scheme):
        row = scores.get(indicator["code"])
        maximum = Decimal(str(indicator["max"]))
        if row is None:
            continue
        if indicator["kind"] in ("computed", "assessed", "bonus") and row.points < maximum and indicator["kind"] != "bonus":
            lost.append({"indicator": indicator["name"], "lost": str(maximum - row.points), "status": row.status.label,
                         "reason": row.comment or row.status.label})
        elif indicator["kind"] == "deduction" and row.points > 0:
            lost.append({"indicator": indicator["name"], "lost": str(row.points), "status": row.status.label,
                         "reason": row.comment})
        elif indicator["kind"] == "veto" and row.points > 0:
            lost.append({"indicator": indicator["name"], "lost": "一票否决", "status": row.status.label,
                         "reason": row.comment})
    return lost


def publish(session: Session, tenant: Tenant, campaign: Campaign) -> dict[str, Any]:
    """Give each subject its own result (score, rank, deductions with reasons) in its own tenant."""
    if campaign.status is not CampaignStatus.FINALIZED:
        raise Conflict("请先汇总排名再发布结果")
    subjects = ranking(campaign)
    of_level = {level: sum(1 for s in subjects if s.level == level) for level in {s.level for s in subjects}}
    payloads = []
    for subject in subjects:
        payloads.append((subject.subject_tenant_id or tenant.id, subject.code, {
            "total": str(subject.total), "grade": subject.grade, "rank": subject.rank, "of": of_level[subject.level],
            "rank_in_parent": subject.rank_in_parent, "vetoed": subject.vetoed, "awards": subject.awards,
            "notices": subject.notices, "deductions": deductions(campaign, subject),
        }))
    campaign.status, campaign.published_at = CampaignStatus.PUBLISHED, utcnow()
    audit.record(session, actor=None, action="assessment.publish", obj=campaign, after={"subjects": len(subjects)})
    session.commit()
    for tenant_id, code, result in payloads:
        with scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id)) as writer:
            assignment = writer.scalar(sa.select(SubjectAssignment).where(
                SubjectAssignment.campaign_id == campaign.id, SubjectAssignment.code == code))
            if assignment is not None:
                assignment.result = result
                writer.commit()
    return {"campaign_id": campaign.id, "published": len(payloads)}


def notice_data(tenant: Tenant, campaign: Campaign) -> dict[str, Any]:
    """The ranking notice (通报) of a finalised campaign, as plain data for the document job."""
    subjects = ranking(campaign)
    rows = [{"rank": s.rank, "name": s.name, "score": str(s.total), "grade": s.grade,
             "notes": "；".join([*s.awards, *s.notices, *(["一票否决"] if s.vetoed else [])])} for s in subjects]
    return {
        "owner_type": "assessment_campaigns", "owner_id": campaign.id, "title": f"关于{campaign.title}结果的通报",
        "year": campaign.year, "issuer": tenant.bureau_name, "rows": rows,
        "rewarded": [s.name for s in subjects if s.awards], "summoned": [s.name for s in subjects if s.notices],
        "issued_on": (campaign.finalized_at or utcnow()).date().isoformat(),
    }
