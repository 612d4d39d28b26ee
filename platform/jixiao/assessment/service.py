"""Assessment campaigns: open one with a scheme, let subjects self-report, score, finalise, rank, publish.

Finalising and publishing run as jobs (``assessment.finalize``, ``assessment.publish``) and are reproducible:
the campaign keeps the scheme it was opened with, the computed indicators are measured again from the
records, and the assessors' scores are kept as entered. A scheme is read through ``jixiao.assessment.scheme``
(whatever release saved it): items scored in points or on a scale, groups and the subject's result combined
by their declared aggregation.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified

from jixiao import audit, units
from jixiao.accounts.models import Department, Role, User
from jixiao.assessment import metrics, notices
from jixiao.assessment.models import (
    Appeal,
    AppealOutcome,
    Campaign,
    CampaignScore,
    CampaignStatus,
    CampaignSubject,
    ScoreSource,
    ScoreStatus,
    SubjectAssignment,
)
from jixiao.assessment.scheme import (
    ASSESSED_KINDS,
    ASSESSOR_STATES,
    LABEL_MAX_LENGTH,
    Group,
    Item,
    Scheme,
    SchemeError,
    band,
    convert,
    number,
    weakest,
)
from jixiao.assessment.scheme import normalised as normalised_scheme
from jixiao.assessment.scheme import read as read_scheme
from jixiao.db import TenantScope, scoped, utcnow
from jixiao.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jixiao.jobs.service import enqueue
from jixiao.lifecycle import common, rectification
from jixiao.lifecycle.models import Project
from jixiao.tenancy.models import Tenant, TenantLevel
from jixiao.toolkit import (
    AssessmentAggregate,
    AssessmentGroupView,
    AssessmentItemView,
    AssessmentResultView,
    in_force,
)

#: What a version error calls a campaign (see ``common.check_version``).
CAMPAIGN = "考核"
#: The stage actions that run as background jobs (``assessment.finalize``, ``assessment.publish``).
STAGE_JOBS = ("finalize", "publish")


# ---- Schemes ------------------------------------------------------------------------------------------------


def scheme_offers(session: Session, tenant: Tenant, year: int) -> list[tuple[str, dict[str, Any]]]:
    """The schemes the tenant's plugins offer for ``year`` at the tenant's level, in force that year (the core
    filters by each scheme's ``years``, so a plugin need not), each normalised (every default written out) and
    with the plugin that offered it. A scheme the core cannot read stops here, naming it and the place."""
    answers = common.hooks(session, tenant).answers("register_assessment_schemes", year=year)
    # Most specific first when asked; listed national first, as before, so a nearer plugin's comes last.
    offered = [(plugin, s) for plugin, answer in reversed(answers) for s in answer]
    found = []
    for plugin, scheme in offered:
        if str(tenant.level) not in scheme.get("for_levels", ["province", "city"]) or not in_force(scheme.get("years"), year):
            continue
        try:
            found.append((plugin, normalised_scheme(scheme)))
        except SchemeError as exc:
            # A configuration error of the region's rules, not of the request: said, with who to ask, never a 500.
            raise Conflict(f"插件 {plugin} 提供的考核方案有误，请联系平台运维：{exc}") from exc
    return found


def schemes_for(session: Session, tenant: Tenant, year: int) -> list[dict[str, Any]]:
    """The schemes of :func:`scheme_offers`: what a campaign opened with one keeps."""
    return [scheme for _plugin, scheme in scheme_offers(session, tenant, year)]


def indicators_of(scheme: dict[str, Any]) -> list[Item]:
    """The scheme's items in order, each knowing its group (``group``: its name, ``group_code``)."""
    return list(read_scheme(scheme).items)


def require_assessor(actor: User, tenant: Tenant) -> None:
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


def latest_records_year(session: Session, tenant: Tenant) -> int:
    """The latest budget year with records in the tenant's jurisdiction (what a new campaign assesses by
    default), else last year."""
    year = session.scalar(sa.select(sa.func.max(Project.year)).join(Tenant, Tenant.id == Project.tenant_id)
                          .where(Tenant.path.startswith(tenant.path)))
    return int(year) if year else rectification.today().year - 1


def create_campaign(session: Session, actor: User, tenant: Tenant, *, year: int, scheme_code: str,
                    deadline: date, title: str | None = None, cutoff: date | None = None) -> Campaign:
    """Open a campaign with one of the schemes the tenant's plugins offer for the year.

    One campaign per year and scheme (so per set of subjects): a second is refused until the first is withdrawn.
    ``cutoff`` is the day computed items read the records as of (the deadline by default).
    """
    require_assessor(actor, tenant)
    offers = scheme_offers(session, tenant, year)
    schemes = {s["code"]: s for _plugin, s in offers}
    offered_by = {s["code"]: plugin for plugin, s in offers}
    if scheme_code not in schemes:
        offered = "、".join(f"{c}（{s['name']}）" for c, s in schemes.items()) or "无"
        raise ValidationFailed(fields={"scheme": f"{year} 年本级可用的考核方案：{offered}"})
    if cutoff is not None and cutoff < deadline:
        raise ValidationFailed(fields={"cutoff": "数据截止日期不能早于自评截止日期"})
    # Concurrent openings of the year's campaign queue here, so the second finds the first.
    common.serialise(session, "assessment_campaign", tenant.id, year, scheme_code)
    existing = session.scalar(sa.select(Campaign).where(
        Campaign.tenant_id == tenant.id, Campaign.year == year, Campaign.scheme_code == scheme_code,
        Campaign.status != CampaignStatus.WITHDRAWN))
    if existing is not None:
        raise Conflict(f"{year} 年已按该方案发起考核（{existing.title}，{existing.status.label}）；如需重新发起，请先撤回")
    scheme = schemes[scheme_code]
    subjects = _subjects(session, tenant, scheme["subjects"])
    if not subjects:
        raise Conflict("没有可考核的对象（下级财政部门或本级部门）")
    campaign = Campaign(tenant_id=tenant.id, year=year, title=title or f"{year}年度{scheme['name']}",
                        scheme_code=scheme_code, scheme=scheme, rule_set=scheme.get("rule_set", scheme_code),
                        status=CampaignStatus.OPEN, deadline=deadline, cutoff=cutoff or deadline,
                        created_by_id=actor.id, answered_by={"register_assessment_schemes": offered_by[scheme_code]})
    for subject in subjects:
        campaign.subjects.append(CampaignSubject(
            tenant_id=tenant.id, subject_tenant_id=subject["tenant_id"], subject_department_id=subject["department_id"],
            code=subject["code"], name=subject["name"], division_type=subject["division_type"],
            level=subject["level"], parent_code=subject["parent_code"]))
    session.add(campaign)
    session.flush()
    audit.record(session, actor=actor, action="assessment.create", obj=campaign,
                 after={"year": year, "scheme": scheme_code, "subjects": len(subjects), "deadline": deadline,
                        "cutoff": campaign.cutoff})
    session.commit()
    _invite(session, tenant, campaign)
    notices.tell_subjects(session, tenant, campaign, notices.OPENED)
    return campaign


def _invite(session: Session, tenant: Tenant, campaign: Campaign) -> None:
    """Give each subject its own row to self-report in, in the subject's tenant."""
    items = [{"code": i.code, "name": i.name, "max": number(i.max), "kind": i.kind,
              **({"scale": list(i.scale_labels)} if i.scale else {}), **({"states": list(i.states)} if i.states else {})}
             for i in indicators_of(campaign.scheme) if i.kind in ASSESSED_KINDS]
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
                file_ids: list[int] | None = None, *, version: int | None) -> SubjectAssignment:
    """The subject reports on an assessed item, with evidence files, before the deadline.

    ``version`` is the assignment's version the reporter read: the self-reports are one record, so a report
    written over another one made meanwhile is refused (409) rather than replacing it.
    """
    if actor.tenant_id != tenant.id or not actor.has_role(Role.FINANCE, Role.ADMIN):
        raise Forbidden("只有本级财政绩效人员可以填报考核自评")
    assignment = common.lock_version(session, get_assignment(session, tenant, campaign_id), version, "考核自评")
    if rectification.today() > assignment.deadline:
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
    from jixiao.documents.uploads import check_upload, safe_filename
    from jixiao.lifecycle.models import EvidenceFile

    if actor.tenant_id != tenant.id or not actor.has_role(Role.FINANCE, Role.ADMIN):
        raise Forbidden("只有本级财政绩效人员可以上传考核佐证材料")
    assignment = get_assignment(session, tenant, campaign_id)
    content_type = check_upload(filename, data)  # what the content is, not what the browser said
    evidence = EvidenceFile(tenant_id=tenant.id, owner_type="assessment_assignments", owner_id=assignment.id,
                            filename=safe_filename(filename), content_type=content_type,
                            size=len(data), sha256=write_bytes(tenant.id, data), uploaded_by_id=actor.id)
    session.add(evidence)
    session.flush()
    # A file is added to what the item holds now (read under the lock), so it needs no version of its own.
    assignment = common.lock(session, assignment)
    text = (assignment.self_reports.get(indicator_code) or {}).get("text", "")
    return self_report(session, actor, tenant, campaign_id, indicator_code, text, [evidence.id],
                       version=assignment.version)


# ---- Scoring ------------------------------------------------------------------------------------------------

DEFAULT_COVERAGE = Decimal("0.6")
DEFAULT_APPEAL_DAYS = 5
CENT = Decimal("0.01")
#: The states that leave an item out of the aggregation and of the subject's maximum when an assessor gives them.
LEFT_OUT = (ScoreStatus.NOT_APPLICABLE, ScoreStatus.INSUFFICIENT_INFORMATION)
#: What an assessor's score keeps through finalising (anything else an assessed item is settled again).
KEPT = (ScoreStatus.SCORED, ScoreStatus.INSUFFICIENT_EVIDENCE, *LEFT_OUT)
#: A ratio is kept within its column (NUMERIC(12, 4)); a band's bound beyond it would make no sense.
MAX_RATIO = Decimal("99999999.9999")


def _subject(session: Session, campaign: Campaign, subject_id: int) -> CampaignSubject:
    subject = session.get(CampaignSubject, subject_id)
    if subject is None or subject.campaign_id != campaign.id:
        raise NotFound("未找到该考核对象")
    return subject


def _assignment_of(session: Session, campaign: Campaign, subject: CampaignSubject) -> SubjectAssignment | None:
    return session.scalar(sa.select(SubjectAssignment).where(SubjectAssignment.campaign_id == campaign.id,
                                                             SubjectAssignment.code == subject.code))


def _indicator(campaign: Campaign, code: str) -> Item | None:
    return read_scheme(campaign.scheme).item(code)


def _require_open(campaign: Campaign, doing: str) -> None:
    """Scores and evidence are frozen once the campaign is finalised, until the assessor reopens it."""
    if campaign.status is CampaignStatus.FINALIZED:
        raise Conflict(f"考核已汇总，评分和佐证已冻结，不能{doing}；如需调整，请先说明理由重新打开考核")
    if campaign.status is not CampaignStatus.OPEN:
        raise Conflict(f"考核{campaign.status.label}，不能{doing}")


def lock_campaign(session: Session, campaign: Campaign, version: int | None) -> Campaign:
    """The campaign locked for this write, at the version the assessor read (missing: 400, stale: 409)."""
    return common.lock_version(session, campaign, version, CAMPAIGN)


def score(session: Session, actor: User, tenant: Tenant, campaign: Campaign, subject_id: int, indicator_code: str,
          points: Decimal | None, comment: str = "", *, version: int | None, label: str | None = None,
          state: str | None = None) -> CampaignScore:
    """An assessor scores an assessed item: ``points``, or a ``label`` of the item's scale, or — where the scheme
    allows — a ``state`` (``not_applicable``, ``insufficient_information``: left out of the aggregation and the
    maximum). A score or label without evidence is 'insufficient evidence' (0, the lowest label), not a low score.

    ``version`` is the campaign's version the assessor read: a score given on a campaign that was finalised,
    reopened or withdrawn since is refused (409), not written into a stage the assessor did not see.
    """
    require_assessor(actor, tenant)
    campaign = lock_campaign(session, campaign, version)
    _require_open(campaign, "评分")
    indicator = _indicator(campaign, indicator_code)
    if indicator is None or indicator.kind not in ASSESSED_KINDS:
        raise ValidationFailed(fields={"indicator": "该指标由系统根据记录计算，不能人工评分；如需调整请使用“调整计算结果”并说明理由"})
    status, points, label = _given(indicator, points, label, state)
    subject = _subject(session, campaign, subject_id)
    assignment = _assignment_of(session, campaign, subject)
    evidence = (assignment.self_reports.get(indicator_code) or {}).get("file_ids") if assignment else None
    if status is ScoreStatus.SCORED and indicator.kind == "assessed" and not evidence:
        status, points, label = ScoreStatus.INSUFFICIENT_EVIDENCE, Decimal("0.00"), None
    return _write_score(session, actor, subject, indicator_code, status, ScoreSource.ASSESSOR, points, comment,
                        label=label)


def _given(item: Item, points: Decimal | None, label: str | None, state: str | None
           ) -> tuple[ScoreStatus, Decimal, str | None]:
    """What an assessor gave an item — points, a label of its scale, or a state the scheme allows — checked,
    with the field named: (state, points, label)."""
    if state:
        if state not in ASSESSOR_STATES or state not in item.states:
            allowed = "、".join(f"{s}（{ScoreStatus(s).label}）" for s in item.states) or "无"
            raise ValidationFailed(fields={"state": f"“{item.name}”不能记为 {state}；本方案允许：{allowed}"})
        if points is not None or label:
            raise ValidationFailed(fields={"state": "记为不适用或信息不足时，不再填写得分或等级"})
        return ScoreStatus(state), Decimal("0.00"), None
    if item.scale is not None:
        labels = "、".join(item.scale.labels)
        if points is not None:
            raise ValidationFailed(fields={"points": f"“{item.name}”按等级评定，请给出等级（label）：{labels}"})
        if not label:
            raise ValidationFailed(fields={"label": f"请选择“{item.name}”的等级：{labels}"})
        if label not in item.scale.labels:
            raise ValidationFailed(fields={"label": f"“{label}”不是“{item.name}”的等级；可选：{labels}"})
        return ScoreStatus.SCORED, item.points_of(label), label
    if label:
        raise ValidationFailed(fields={"label": f"“{item.name}”按分值评分，没有等级；请填写得分（points）"})
    if points is None:
        raise ValidationFailed(fields={"points": f"请填写“{item.name}”的得分"})
    if not (Decimal(0) <= points <= item.max):
        raise ValidationFailed(fields={"points": f"“{item.name}”的得分应在 0 到 {item.max} 之间"})
    return ScoreStatus.SCORED, points, None


def override(session: Session, actor: User, tenant: Tenant, campaign: Campaign, subject_id: int,
             indicator_code: str, points: Decimal | None, reason: str, *, version: int | None,
             label: str | None = None) -> CampaignScore:
    """The assessor replaces a computed item's points (or, for an item rated on a scale, its label), with a
    reason (a record the system cannot see); ``version`` as for :func:`score`."""
    require_assessor(actor, tenant)
    campaign = lock_campaign(session, campaign, version)
    _require_open(campaign, "调整计算结果")
    indicator = _indicator(campaign, indicator_code)
    if indicator is None or indicator.kind != "computed":
        raise ValidationFailed(fields={"indicator": "只有系统计算的指标可以调整"})
    if not reason.strip():
        raise ValidationFailed(fields={"reason": "调整系统计算结果须说明理由"})
    _, points, label = _given(indicator, points, label, None)
    subject = _subject(session, campaign, subject_id)
    row = _write_score(session, actor, subject, indicator_code, ScoreStatus.SCORED, ScoreSource.OVERRIDE, points,
                       reason, commit=False, label=label)
    row.override_reason = reason.strip()
    common.commit(session)
    return row


def _write_score(session: Session, actor: User, subject: CampaignSubject, indicator_code: str, status: ScoreStatus,
                 source: ScoreSource, points: Decimal, comment: str, commit: bool = True,
                 label: str | None = None) -> CampaignScore:
    points = Decimal(points).quantize(CENT, rounding=ROUND_HALF_UP)
    row = next((s for s in subject.scores if s.indicator_code == indicator_code), None)
    before = {"points": row.points, "label": row.label, "status": row.status, "source": row.source} if row else None
    if row is None:
        row = CampaignScore(tenant_id=subject.tenant_id, indicator_code=indicator_code, status=status, points=points)
        subject.scores.append(row)
    row.status, row.source, row.points, row.comment, row.scored_by_id = status, source, points, comment.strip(), actor.id
    row.label = label
    session.flush()
    audit.record(session, actor=actor, action="assessment.override" if source is ScoreSource.OVERRIDE else
                 "assessment.score", obj=row, before=before,
                 after={"subject": subject.code, "indicator": indicator_code, "points": points, "label": label,
                        "status": status, "comment": row.comment})
    if commit:
        common.commit(session)
    return row


def record_evidence_for(session: Session, actor: User, tenant: Tenant, campaign: Campaign, subject_id: int,
                        indicator_code: str, filename: str, data: bytes, content_type: str, note: str) -> None:
    """The assessor records evidence on a subject's behalf (a site visit), in the subject's own record."""
    from jixiao.documents.store import write_bytes
    from jixiao.documents.uploads import check_upload, safe_filename
    from jixiao.lifecycle.models import EvidenceFile

    require_assessor(actor, tenant)
    _require_open(campaign, "补充佐证材料")
    indicator = _indicator(campaign, indicator_code)
    if indicator is None or indicator.kind not in ASSESSED_KINDS:
        raise ValidationFailed(fields={"indicator": "不是本考核需要佐证的指标"})
    content_type = check_upload(filename, data)  # what the content is, not what the browser said
    if not note.strip():
        raise ValidationFailed(fields={"note": "请说明佐证来源（如实地核查的时间和人员）"})
    subject = _subject(session, campaign, subject_id)
    owner_tenant = subject.subject_tenant_id or tenant.id
    with scoped(TenantScope(read_ids=(owner_tenant,), write_id=owner_tenant)) as writer:
        assignment = writer.scalar(sa.select(SubjectAssignment).where(
            SubjectAssignment.campaign_id == campaign.id, SubjectAssignment.code == subject.code))
        if assignment is None:
            raise NotFound("该考核对象没有考核记录")
        evidence = EvidenceFile(tenant_id=owner_tenant, owner_type="assessment_assignments", owner_id=assignment.id,
                                filename=safe_filename(filename), content_type=content_type,
                                size=len(data), sha256=write_bytes(owner_tenant, data), uploaded_by_id=actor.id)
        writer.add(evidence)
        writer.flush()
        reports = dict(assignment.self_reports)
        entry = dict(reports.get(indicator_code) or {})
        entry["file_ids"] = sorted(set(entry.get("file_ids", [])) | {evidence.id})
        entry.setdefault("text", "")
        entry["recorded_by_assessor"] = [*entry.get("recorded_by_assessor", []),
                                         {"file_id": evidence.id, "note": note.strip(), "at": utcnow().isoformat()}]
        reports[indicator_code] = entry
        assignment.self_reports = reports
        writer.commit()
    audit.record(session, actor=actor, action="assessment.evidence_for", obj=subject,
                 after={"subject": subject.code, "indicator": indicator_code, "file": filename, "note": note.strip()})
    common.commit(session)


# ---- Finalising ---------------------------------------------------------------------------------------------


def accept_stage_request(session: Session, actor: User, tenant: Tenant, campaign: Campaign, action: str, *,
                         version: int | None, force: bool = False, reason: str = "") -> str:
    """Accept a request to finalise or publish (the page and the API both call this); the job kind to enqueue.

    The campaign's ``version`` is checked under the campaign's lock when the request is accepted, before the
    job exists: a missing one is 400, a stale one 409, and either enqueues nothing. Accepting bumps the
    version without committing; the caller's ``jobs.service.enqueue`` commits it with the job row, so of
    concurrent requests made with one version exactly one is accepted and the others are stale (409).
    """
    if action not in STAGE_JOBS:
        raise ValidationFailed(fields={"action": "只能汇总排名或发布结果"})
    check = request_finalize if action == "finalize" else request_publish
    campaign = check(session, actor, tenant, campaign, version=version, force=force, reason=reason)
    flag_modified(campaign, "status")  # an UPDATE even when nothing else changed: the version moves on
    return f"assessment.{action}"


def request_stage(session: Session, actor: User, tenant: Tenant, campaign: Campaign, action: str, *,
                  version: int | None, force: bool = False, reason: str = "") -> Any:
    """Finalise or publish: check the request (:func:`accept_stage_request`), then enqueue the job that does it,
    which commits the campaign's new version with the job. The page and the API call this one function, so they
    refuse the same requests and enqueue the same job. Returns the job."""
    kind = accept_stage_request(session, actor, tenant, campaign, action, version=version, force=force, reason=reason)
    return enqueue(session, actor, tenant, kind, {"campaign_id": campaign.id})


def request_ranking_notice(session: Session, actor: User, tenant: Tenant, campaign: Campaign) -> Any:
    """Generate the campaign's ranking notice (考核结果通报) as a PDF job: the assessor's, once totals exist."""
    require_assessor(actor, tenant)
    if campaign.status not in (CampaignStatus.FINALIZED, CampaignStatus.PUBLISHED):
        raise ValidationFailed("请先汇总排名，再生成通报")
    return enqueue(session, actor, tenant, "documents.ranking_notice", notice_data(session, tenant, campaign))


def request_finalize(session: Session, actor: User, tenant: Tenant, campaign: Campaign, *, version: int | None,
                     force: bool = False, reason: str = "") -> Campaign:
    """Check that the campaign may be finalised now, at the ``version`` read (see :func:`accept_stage_request`);
    nothing is committed here.

    Before the self-report deadline has passed, finalising would cut the subjects off: refused with 409,
    unless forced with a reason (kept on the campaign and audited).
    """
    require_assessor(actor, tenant)
    campaign = lock_campaign(session, campaign, version)
    if campaign.status is not CampaignStatus.OPEN:
        hint = "；如需重新汇总，请先说明理由重新打开考核" if campaign.status is CampaignStatus.FINALIZED else ""
        raise Conflict(f"考核{campaign.status.label}，不能汇总{hint}")
    if rectification.today() <= campaign.deadline:
        if not force:
            raise Conflict(f"自评截止日期 {campaign.deadline} 未过，各地仍可报送；如确需提前汇总，请选择强制汇总并说明理由")
        if not reason.strip():
            raise ValidationFailed(fields={"reason": "提前汇总须说明理由"})
        campaign.force_reason = reason.strip()
        audit.record(session, actor=actor, action="assessment.force", obj=campaign,
                     after={"reason": campaign.force_reason, "deadline": campaign.deadline})
    return campaign


def _cutoff_moment(campaign: Campaign) -> Any:
    return rectification.local_day_end(campaign.cutoff or campaign.deadline)


def _members(session: Session, scheme: dict[str, Any], subjects: list[CampaignSubject]) -> tuple[tuple[int, int], ...] | None:
    """Which tenants' records count for each subject: its own (``scope: own``, the default), or its whole
    jurisdiction (``scope: jurisdiction``: a city with its counties). One statement for every subject."""
    if scheme.get("scope", "own") != "jurisdiction":
        return None
    rows = session.execute(sa.select(Tenant.id, Tenant.path).where(
        Tenant.id.in_([s.subject_tenant_id for s in subjects if s.subject_tenant_id]))).all()
    by_path = {path: tenant_id for tenant_id, path in rows}
    prefixes = sorted(by_path, key=len, reverse=True)
    below = session.execute(sa.select(Tenant.id, Tenant.path).where(
        sa.or_(*(Tenant.path.startswith(p) for p in prefixes)))).all() if prefixes else []
    pairs = []
    for tenant_id, path in below:
        owner = next((by_path[p] for p in prefixes if path.startswith(p)), None)
        if owner is not None:
            pairs.append((tenant_id, owner))
    return tuple(sorted(pairs))


def finalize(session: Session, tenant: Tenant, campaign: Campaign, progress: Any = None) -> dict[str, Any]:
    """Measure computed items for all subjects at once as of the cut-off, settle every item, combine the groups
    and the subject's result as the scheme declares, grade, rank, award, and put the provisional results before
    each subject for the publicity period (公示); reproducible."""
    if campaign.status is not CampaignStatus.OPEN:
        raise Conflict(f"考核{campaign.status.label}，不能汇总")
    scheme = read_scheme(campaign.scheme)
    # What hooks receive: the scheme as the campaign keeps it, every default written out.
    data = scheme.to_json()
    subjects = list(session.scalars(sa.select(CampaignSubject).where(CampaignSubject.campaign_id == campaign.id)
                                    .options(selectinload(CampaignSubject.scores))))
    by = "department" if scheme.subjects == "departments" else "tenant"
    key_of = {s.id: _subject_key(s, by) for s in subjects}
    measured = metrics.Subjects(by=by, ids=tuple(key_of.values()), year=campaign.year,
                                cutoff=_cutoff_moment(campaign),
                                members=_members(session, data, subjects) if by == "tenant" else None)
    computed = {i.code: metrics.compute(session, i.metric, measured) for i in scheme.items
                if i.kind == "computed" and i.metric}
    reported = _reports_by_deadline(session, campaign)
    if progress:
        progress(40, "已根据记录计算指标")
    hooks = common.hooks(session, tenant)
    answering: dict[str, list[str]] = {}

    def traced(hook: str, **arguments: Any) -> Any:
        answer, plugin = hooks.answered(hook, scheme=data, **arguments)
        if plugin and plugin not in answering.setdefault(hook, []):
            answering[hook].append(plugin)
        return answer

    def ask(group: dict[str, Any], items: tuple[AssessmentItemView, ...]) -> Any:
        return traced("assessment_aggregate", group=group, items=items)

    threshold = Decimal(str(scheme.extra.get("coverage_threshold", DEFAULT_COVERAGE)))
    for subject in subjects:
        existing = {s.indicator_code: s for s in subject.scores}
        for item in scheme.items:
            row = existing.get(item.code)
            if row is None:
                # Every column _settle may set is set here: rows with the same columns are inserted in one
                # statement (SQLAlchemy batches a flush's INSERTs by the columns they carry; items of different
                # kinds set different ones, which made three INSERTs a subject).
                row = CampaignScore(tenant_id=tenant.id, indicator_code=item.code, status=ScoreStatus.PENDING,
                                    source=ScoreSource.ASSESSOR, points=Decimal("0.00"), value=None, label=None,
                                    maximum=None, computed_points=None, comment="", override_reason="",
                                    scored_by_id=None)
                subject.scores.append(row)
            _settle(row, item, computed.get(item.code, {}).get(key_of[subject.id]), reported.get(subject.code, set()))
        _total(subject, scheme, {s.indicator_code: s for s in subject.scores}, threshold, ask)
        subject.grade = traced("assessment_grade", total=subject.total, result=result_view(subject, scheme)) \
            if subject.ranked else None
    _rank(subjects, scheme)
    session.flush()
    if progress:
        progress(70, "已汇总排名")
    upper = ancestor_results(session, tenant, campaign.year)
    views = [result_view(s, scheme) for s in subjects]
    decided = traced("assessment_awards", results=views, ancestor_results=upper) or {}
    for subject in subjects:
        outcome = decided.get(subject.code) or {}
        subject.awards, subject.notices = list(outcome.get("awards", [])), list(outcome.get("notices", []))
    days = int(scheme.extra.get("appeal_days", DEFAULT_APPEAL_DAYS))
    # Which plugins answered (several when a plugin answers for some subjects and lets the next answer for others).
    campaign.answered_by = {**{hook: plugin for hook, plugin in (campaign.answered_by or {}).items()
                               if hook == "register_assessment_schemes"},
                            **{hook: "、".join(sorted(plugins, key=hooks.tenant.plugins.index))
                               for hook, plugins in answering.items()}}
    campaign.status, campaign.finalized_at = CampaignStatus.FINALIZED, utcnow()
    campaign.appeal_until = rectification.today() + timedelta(days=days)
    audit.record(session, actor=None, action="assessment.finalize", obj=campaign,
                 after={"subjects": len(subjects), "rule_set": campaign.rule_set, "cutoff": campaign.cutoff,
                        "appeal_until": campaign.appeal_until, "ranked": sum(1 for s in subjects if s.ranked)})
    session.commit()
    _send_results(session, tenant, campaign, provisional=True, subjects=subjects)
    return {"campaign_id": campaign.id, "subjects": len(subjects), "ranked": sum(1 for s in subjects if s.ranked),
            "awarded": sum(1 for s in subjects if s.awards), "noticed": sum(1 for s in subjects if s.notices)}


def _reports_by_deadline(session: Session, campaign: Campaign) -> dict[str, set[str]]:
    """Which assessed items each subject reported on by the deadline (read from the subjects' own rows)."""
    end = rectification.local_day_end(campaign.deadline).isoformat()
    found: dict[str, set[str]] = {}
    for code, reports in session.execute(sa.select(SubjectAssignment.code, SubjectAssignment.self_reports)
                                         .where(SubjectAssignment.campaign_id == campaign.id)):
        found[code] = {item for item, entry in (reports or {}).items()
                       if entry.get("recorded_by_assessor") or (entry.get("submitted_at") or "") <= end}
    return found


def counted(item: Item | None, row: CampaignScore) -> bool:
    """Whether an item counts in its group's aggregation and the subject's maximum: a computed or assessed item
    not left out (not applicable, insufficient information, no data read as not applicable)."""
    if item is None or not item.positive or row.status in LEFT_OUT:
        return False
    return not (row.status is ScoreStatus.NO_DATA and item.no_data == "not_applicable")


def _measure(item: Item, maximum: Decimal, numerator: Decimal, denominator: Decimal
             ) -> tuple[Decimal | None, Decimal, str | None]:
    """(ratio, points, label) of a computed item: by its bands (the ratio not capped: a deviation may pass 1),
    else ``max × min(ratio, 1)``; no denominator → the item's ``no_data`` rule (the best or lowest label)."""
    if denominator <= 0:
        full = item.no_data == "full"
        label = None if item.scale is None or item.no_data == "not_applicable" else (
            item.scale.best if full else item.scale.lowest)
        return None, (maximum if full else Decimal(0)).quantize(CENT), label
    if not item.bands:
        ratio, pts = metrics.points(maximum, numerator, denominator, item.no_data)
        return ratio, pts, None
    ratio = min(numerator / denominator, MAX_RATIO).quantize(Decimal("0.0001"))
    hit = band(item, ratio)
    if item.scale is not None:
        label = hit.label if hit and hit.label else item.scale.lowest
        return ratio, item.points_of(label).quantize(CENT), label
    return ratio, (hit.points if hit and hit.points is not None else Decimal(0)).quantize(CENT), None


def _settle(row: CampaignScore, item: Item, measured: tuple[Decimal, Decimal] | None, reported: set[str]) -> None:
    """The item's state, points, label and counted maximum for one subject, from the records and the scores given."""
    maximum = item.max.quantize(CENT)
    if item.kind == "computed":
        numerator, denominator = measured or (Decimal(0), Decimal(0))
        spec = metrics.registered()[item.metric or ""]
        ratio, pts, label = _measure(item, maximum, numerator, denominator)
        row.value, row.computed_points = ratio, pts
        if denominator > 0:
            row.comment = (f"{spec.label}：{metrics.count_text(numerator, spec.amount)} / "
                           f"{metrics.count_text(denominator, spec.amount)}，{units.ratio_percent(ratio)}"
                           + (f"，{label}" if label else ""))
        if row.source is ScoreSource.OVERRIDE:
            row.status, row.maximum = ScoreStatus.SCORED, maximum
            return
        row.source, row.label = ScoreSource.COMPUTED, label
        if denominator > 0:
            row.status, row.points, row.maximum = ScoreStatus.SCORED, pts, maximum
            return
        rule = item.no_data
        row.status = ScoreStatus.NO_DATA
        row.points = pts
        row.maximum = Decimal("0.00") if rule == "not_applicable" else maximum
        row.comment = {"not_applicable": "无应报事项，不计入满分（按可计量分值折算）",
                       "zero": "无应报事项，按方案计 0 分", "full": "无应报事项，按方案计满分"}[rule]
        return
    if item.kind == "assessed":
        if row.status in KEPT and row.scored_by_id is not None:
            row.maximum = Decimal("0.00") if row.status in LEFT_OUT else maximum
            return
        row.maximum = maximum
        row.points, row.label = Decimal("0.00"), None
        if item.code in reported:
            row.status, row.comment = ScoreStatus.PENDING, "已报送，尚未评分"
        else:
            row.status, row.comment = ScoreStatus.NOT_SUBMITTED, "截止日期前未报送"
        return
    # Bonus, deduction and veto items add, take away or zero; they are not part of the maximum.
    row.maximum = None
    if row.scored_by_id is None:
        row.status, row.points = ScoreStatus.PENDING, Decimal("0.00")


def _label_of(item: Item, row: CampaignScore) -> str | None:
    """The label an item counts with: its own, or — counted without one (not submitted, insufficient evidence,
    pending: 0 points) — its scale's lowest."""
    return row.label or (item.scale.lowest if item.scale else None)


def _views(group: Group, rows: dict[str, CampaignScore]) -> tuple[AssessmentItemView, ...]:
    return tuple(AssessmentItemView(code=i.code, name=i.name, kind=i.kind, state=str(rows[i.code].status),
                                    points=rows[i.code].points, maximum=rows[i.code].maximum, label=rows[i.code].label,
                                    group=group.code, counted=counted(i, rows[i.code])) for i in group.items)


def _answer(answer: Any, order: tuple[str, ...]) -> AssessmentAggregate | None:
    """A hook's answer as the toolkit's type (a plain dict is read too). A label off the aggregate's scale (or
    too long to keep) is not kept: the note says what the plugin gave."""
    if answer is None:
        return None
    if not isinstance(answer, AssessmentAggregate):
        found = dict(answer)
        answer = AssessmentAggregate(label=found.get("label"), points=found.get("points"),
                                     note=str(found.get("note", "")))
    label = None if answer.label is None else str(answer.label)
    if label is not None and (len(label) > LABEL_MAX_LENGTH + 1 or (order and label not in order)):
        return AssessmentAggregate(label=None, points=answer.points,
                                   note=f"插件给出的等级“{label[:40]}”不在本方案的等级中")
    return AssessmentAggregate(label=label, points=answer.points, note=str(answer.note or ""))


def _hook_note(name: str) -> str:
    return f"没有插件给出汇总规则“{name or '（未命名）'}”的结果"


def _group_result(group: Group, rows: dict[str, CampaignScore], ask: Any) -> dict[str, Any]:
    """One group's result for one subject: its counted items' points and maximum, and — for a labelled
    aggregation — its label (items left out take no part; a group all left out is not applicable)."""
    positive = [(item, rows[item.code]) for item in group.positive]
    taken = [(item, row) for item, row in positive if counted(item, row)]
    points = sum((row.points for _, row in taken), Decimal(0)) if positive else None
    maximum = sum((row.maximum or Decimal(0) for _, row in taken), Decimal(0)) if positive else None
    label, note, how = None, "", group.aggregate
    if how.labelled and taken:
        labels = [_label_of(item, row) or "" for item, row in taken]
        if how.method == "weakest":
            label = weakest(labels, how, how.inputs)
        elif how.method == "table":
            by_points = how.table[0].labels is None
            # A points range reads the group's points rescaled to its full points, as the total is.
            value = (points or Decimal(0)) * _group_full(group) / maximum if by_points and maximum else None
            label = convert(None if by_points else labels, value, how)
            if label is None:
                note = "换算表中没有这一分数" if by_points else "换算表中没有这一组合：" + "、".join(labels)
        else:
            answer = _answer(ask({**group.to_json(), "level": "group"}, _views(group, rows)), how.order)
            if answer is None:
                note = _hook_note(how.name)
            else:
                label, note = answer.label, answer.note
                if answer.points is not None:
                    points = Decimal(str(answer.points))
    return {"code": group.code, "name": group.name, "method": how.method,
            "state": "not_applicable" if positive and not taken else "scored", "label": label,
            "points": None if points is None else str(points.quantize(CENT, rounding=ROUND_HALF_UP)),
            "maximum": None if maximum is None else str(maximum.quantize(CENT)), "note": note}


def _group_full(group: Group) -> Decimal:
    return sum((item.max for item in group.positive), Decimal(0))


def _total(subject: CampaignSubject, scheme: Scheme, rows: dict[str, CampaignScore], threshold: Decimal,
           ask: Any) -> None:
    """Total = the groups' points rescaled to full marks, + bonus − deductions (0 if vetoed); the subject's label
    as the scheme's aggregate says (a veto gives the lowest)."""
    groups = [_group_result(group, rows, ask) for group in scheme.groups]
    full_marks = scheme.full_marks
    measurable = sum((Decimal(g["maximum"]) for g in groups if g["maximum"] is not None), Decimal(0))
    earned = sum((Decimal(g["points"]) for g in groups if g["points"] is not None), Decimal(0))
    scaled = (earned * full_marks / measurable).quantize(CENT, rounding=ROUND_HALF_UP) if measurable > 0 \
        else Decimal("0.00")
    items = scheme.items
    bonus = sum((rows[i.code].points for i in items if i.kind == "bonus"), Decimal(0))
    deduction = sum((rows[i.code].points for i in items if i.kind == "deduction"), Decimal(0))
    vetoed = any(rows[i.code].points > 0 for i in items if i.kind == "veto")
    subject.measurable, subject.full_marks = measurable.quantize(CENT), full_marks.quantize(CENT)
    if full_marks > 0:
        subject.coverage = (measurable / full_marks).quantize(Decimal("0.0001"))
    else:
        # A scheme without points (an ordinal one) is measured on the share of its items that count.
        positive = [i for i in items if i.positive]
        share = Decimal(sum(1 for i in positive if counted(i, rows[i.code]))) / len(positive) if positive else 0
        subject.coverage = Decimal(share).quantize(Decimal("0.0001"))
    subject.vetoed = vetoed
    subject.total = Decimal("0.00") if vetoed else max(scaled + bonus - deduction, Decimal(0)).quantize(CENT)
    subject.label = _subject_label(scheme, groups, subject, ask)
    if vetoed and scheme.aggregate.order:
        subject.label = scheme.aggregate.order[-1]
    subject.groups = groups
    subject.ranked = subject.coverage >= threshold


def _subject_label(scheme: Scheme, groups: list[dict[str, Any]], subject: CampaignSubject, ask: Any) -> str | None:
    """The subject's result on the scheme's scale, from its groups' labels (those not left out) or its total;
    ``None`` when the scheme sums points, or when no table row or plugin gives one."""
    how = scheme.aggregate
    if not how.labelled:
        return None
    labels = [str(g["label"]) for g in groups if g["state"] != "not_applicable" and g["label"] is not None]
    if how.method == "weakest":
        return weakest(labels, how, how.inputs) if labels else None
    if how.method == "table":
        by_points = how.table[0].labels is None
        return convert(None if by_points else labels, subject.total if by_points else None, how)
    views = tuple(AssessmentItemView(code=g["code"], name=g["name"], kind="group", state=g["state"],
                                     points=Decimal(g["points"] or 0), maximum=None if g["maximum"] is None
                                     else Decimal(g["maximum"]), label=g["label"], group="",
                                     counted=g["state"] != "not_applicable") for g in groups)
    answer = _answer(ask({"code": "", "name": scheme.name, "aggregate": how.to_json(), "level": "scheme"}, views),
                     how.order)
    if answer is None:
        return None
    if answer.points is not None and not subject.vetoed:
        subject.total = Decimal(str(answer.points)).quantize(CENT, rounding=ROUND_HALF_UP)
    return answer.label


def _subject_key(subject: CampaignSubject, by: str) -> int:
    """The tenant or department a subject stands for (the campaign set the one its scheme measures by)."""
    key = subject.subject_department_id if by == "department" else subject.subject_tenant_id
    if key is None:
        raise ValueError(f"assessment subject {subject.code} names no {by}")
    return key


def result_view(subject: CampaignSubject, scheme: Scheme) -> AssessmentResultView:
    """What hooks read of a subject's result: items with their states, labels and points, groups, label."""
    items = []
    for s in subject.scores:
        item = scheme.item(s.indicator_code)
        items.append(AssessmentItemView(code=s.indicator_code, name=item.name if item else "",
                                        kind=item.kind if item else "", state=str(s.status), points=s.points,
                                        maximum=s.maximum, label=s.label, group=item.group_code if item else "",
                                        counted=counted(item, s)))
    groups = tuple(AssessmentGroupView(code=g["code"], name=g["name"], method=g["method"], state=g["state"],
                                       label=g["label"], points=None if g["points"] is None else Decimal(g["points"]),
                                       maximum=None if g["maximum"] is None else Decimal(g["maximum"]),
                                       note=g.get("note", "")) for g in subject.groups or [])
    assert subject.total is not None, "a result is read after finalize() totalled the subject"
    return AssessmentResultView(code=subject.code, name=subject.name, division_type=subject.division_type,
                                parent_code=subject.parent_code, total=subject.total, grade=subject.grade,
                                rank=subject.rank, rank_in_parent=subject.rank_in_parent, vetoed=subject.vetoed,
                                ranked=subject.ranked, coverage=subject.coverage, items=tuple(items),
                                label=subject.label, groups=groups)


def tie_break_of(scheme: dict[str, Any]) -> list[str]:
    """The item codes a scheme breaks equal totals by, in order (none: equal totals share a rank)."""
    return [str(code) for code in scheme.get("tie_break") or []]


def _rank(subjects: list[CampaignSubject], scheme: Scheme) -> None:
    """Competition ranking (1, 2, 2, 4) of the ranked subjects — by their label on the scheme's scale first when
    the scheme aggregates to one, then by total, then by the scheme's tie-break items if it names any — among
    the same level and within each parent; unranked subjects (数据不足) get no rank."""
    breakers = scheme.tie_break
    order = scheme.aggregate.order if scheme.aggregate.labelled else ()

    def key(subject: CampaignSubject) -> tuple[Decimal, ...]:
        points = {s.indicator_code: s.points for s in subject.scores}
        place = (-Decimal(order.index(subject.label) if subject.label in order else len(order)),) if order else ()
        return (*place, subject.total or Decimal(0), *(points.get(code, Decimal(0)) for code in breakers))

    def assign(group: list[CampaignSubject], attribute: str) -> None:
        ordered = sorted(group, key=lambda s: (tuple(-v for v in key(s)), s.code))
        for position, subject in enumerate(ordered, start=1):
            previous = ordered[position - 2] if position > 1 else None
            tied = previous is not None and key(previous) == key(subject)
            setattr(subject, attribute, getattr(previous, attribute) if tied else position)

    for subject in subjects:
        if not subject.ranked:
            subject.rank = subject.rank_in_parent = None
    for level in {s.level for s in subjects}:
        peers = [s for s in subjects if s.level == level and s.ranked]
        assign(peers, "rank")
        for parent in {s.parent_code for s in peers}:
            assign([s for s in peers if s.parent_code == parent], "rank_in_parent")


def ancestor_results(session: Session, tenant: Tenant, year: int) -> dict[str, dict[str, Any]]:
    """What upper levels published this year about the tenant's subjects (e.g. the province's ranking of a
    city's counties), read from the subjects' own copies of their results; the best rank when several.
    Provisional results (公示) and unranked subjects (数据不足) carry no rank."""
    rows = session.execute(
        sa.select(SubjectAssignment.code, SubjectAssignment.result, SubjectAssignment.assessor_name)
        .join(Tenant, Tenant.id == SubjectAssignment.tenant_id)
        .where(SubjectAssignment.year == year, SubjectAssignment.result.is_not(None),
               Tenant.path.startswith(tenant.path), Tenant.id != tenant.id)).all()
    found: dict[str, dict[str, Any]] = {}
    for code, result, assessor in rows:
        if assessor == tenant.bureau_name or not result or result.get("provisional") or not result.get("rank"):
            continue
        if code not in found or int(result["rank"]) < found[code]["rank"]:
            found[code] = {"rank": int(result["rank"]), "of": result.get("of"), "grade": result.get("grade"),
                           "total": result.get("total"), "label": result.get("label"), "assessor": assessor}
    return found


def ranking(session: Session, campaign: Campaign) -> list[CampaignSubject]:
    """Ranked subjects by level and rank, then those with too little data (数据不足); scores loaded at once."""
    subjects = list(session.scalars(sa.select(CampaignSubject).where(CampaignSubject.campaign_id == campaign.id)
                                    .options(selectinload(CampaignSubject.scores))))
    return sorted(subjects, key=lambda s: (s.level, not s.ranked, s.rank or 10**6, s.code))


def subject_detail(session: Session, campaign: Campaign, subject_id: int) -> CampaignSubject:
    subject = session.scalar(sa.select(CampaignSubject).where(
        CampaignSubject.id == subject_id, CampaignSubject.campaign_id == campaign.id)
        .options(selectinload(CampaignSubject.scores)))
    if subject is None:
        raise NotFound("未找到该考核对象")
    return subject


def deductions(campaign: Campaign, subject: CampaignSubject, scheme: Scheme | None = None) -> list[dict[str, Any]]:
    """Where the subject lost points (or, on a scale without points, fell below the best label), and why;
    items left out of its maximum say so."""
    scheme = scheme or read_scheme(campaign.scheme)
    scores = {s.indicator_code: s for s in subject.scores}
    lost = []
    for item in scheme.items:
        row = scores.get(item.code)
        if row is None:
            continue
        kind = item.kind
        if item.positive and not counted(item, row):
            lost.append({"indicator": item.name, "lost": "不计入", "status": row.status.label,
                         "reason": row.comment or row.status.label})
        elif item.positive and row.points < item.max:
            lost.append({"indicator": item.name, "lost": str((item.max - row.points).quantize(CENT)),
                         "status": row.status.label, "reason": row.override_reason or row.comment or row.status.label})
        elif item.positive and item.scale is not None and row.label != item.scale.best:
            lost.append({"indicator": item.name, "lost": f"{row.label or item.scale.lowest}（最高 {item.scale.best}）",
                         "status": row.status.label, "reason": row.override_reason or row.comment or row.status.label})
        elif kind == "deduction" and row.points > 0:
            lost.append({"indicator": item.name, "lost": str(row.points), "status": row.status.label,
                         "reason": row.comment})
        elif kind == "veto" and row.points > 0:
            lost.append({"indicator": item.name, "lost": "一票否决", "status": row.status.label,
                         "reason": row.comment})
    return lost


def _result_payload(campaign: Campaign, subject: CampaignSubject, of: int, provisional: bool,
                    scheme: Scheme) -> dict[str, Any]:
    return {
        "provisional": provisional, "appeal_until": campaign.appeal_until.isoformat() if campaign.appeal_until else None,
        "total": str(subject.total), "label": subject.label, "grade": subject.grade, "ranked": subject.ranked,
        "rank": subject.rank, "of": of, "rank_in_parent": subject.rank_in_parent, "vetoed": subject.vetoed,
        "coverage": units.ratio_percent(subject.coverage), "measurable": str(subject.measurable),
        "full_marks": str(subject.full_marks), "awards": subject.awards, "notices": subject.notices,
        "groups": list(subject.groups or []),
        "deductions": deductions(campaign, subject, scheme), "items": item_lines(campaign, subject, scheme),
    }


def item_lines(campaign: Campaign, subject: CampaignSubject, scheme: Scheme | None = None) -> list[dict[str, Any]]:
    """Every item of a subject's result: its state, points or label, the maximum it counted for, and why."""
    scheme = scheme or read_scheme(campaign.scheme)
    scores = {s.indicator_code: s for s in subject.scores}
    lines = []
    for item in scheme.items:
        row = scores.get(item.code)
        if row is None:
            continue
        lines.append({"code": item.code, "name": item.name, "group": item.group, "group_code": item.group_code,
                      "kind": item.kind, "state": str(row.status), "state_label": row.status.label,
                      "source": str(row.source), "points": str(row.points), "label": row.label,
                      "scale": list(item.scale_labels) or None, "max": str(number(item.max)),
                      "counted_max": None if row.maximum is None else str(row.maximum),
                      "counted": counted(item, row), "reason": row.override_reason or row.comment})
    return lines


def _send_results(session: Session, tenant: Tenant, campaign: Campaign, *, provisional: bool | None,
                  subjects: list[CampaignSubject] | None = None) -> None:
    """Write each subject's own result into its own tenant (``None``: take the results back). ``subjects``: the
    campaign's subjects with their scores, when the caller holds them current (finalise has just computed them)."""
    subjects = ranking(session, campaign) if subjects is None else subjects
    scheme = read_scheme(campaign.scheme)
    of_level = {level: sum(1 for s in subjects if s.level == level and s.ranked) for level in {s.level for s in subjects}}
    payloads = [(s.subject_tenant_id or tenant.id, s.code,
                 None if provisional is None else _result_payload(campaign, s, of_level[s.level], provisional, scheme))
                for s in subjects]
    # One UPDATE for every subject, under the assessor's own context: revision 0027's policy admits the rows of a
    # campaign the write tenant runs (two statements a subject before, each under its subject's own context). The
    # ORM's tenant filter stands on it as on every statement.
    session.flush()
    if payloads:
        result_type = SubjectAssignment.__table__.c.result.type
        session.execute(
            sa.update(SubjectAssignment)
            .where(SubjectAssignment.campaign_id == campaign.id,
                   SubjectAssignment.tenant_id.in_(sorted({tenant_id for tenant_id, _code, _result in payloads})),
                   SubjectAssignment.code.in_([code for _tenant_id, code, _result in payloads]))
            .values(result=sa.case({code: sa.literal(result, result_type) for _tenant_id, code, result in payloads},
                                   value=SubjectAssignment.code))
            .execution_options(synchronize_session=False))
    # Rows this session holds read their new result from the database, not the one they were loaded with.
    for held in list(session.identity_map.values()):
        if isinstance(held, SubjectAssignment) and held.campaign_id == campaign.id:
            session.expire(held, ["result"])
    session.commit()


# ---- Publicity, appeals, reopening, withdrawing, publishing ---------------------------------------------------


def appeals_for(session: Session, campaign: Campaign) -> list[Appeal]:
    """Every appeal of the campaign, read from the subjects' tenants (the assessor reads down)."""
    return list(session.scalars(sa.select(Appeal).where(Appeal.campaign_id == campaign.id).order_by(Appeal.id)))


def appeal(session: Session, actor: User, tenant: Tenant, campaign_id: int, indicator_code: str, text: str,
           file_ids: list[int] | None = None) -> Appeal:
    """申诉: the subject contests an item of its provisional result during the publicity period."""
    if actor.tenant_id != tenant.id or not actor.has_role(Role.FINANCE, Role.ADMIN):
        raise Forbidden("只有本级财政绩效人员可以提出申诉")
    # Concurrent appeals of the subject queue on its assignment: the second finds the first still pending.
    assignment = common.lock(session, get_assignment(session, tenant, campaign_id))
    result = assignment.result or {}
    if not result.get("provisional"):
        raise Conflict("考核结果尚未公示，或已正式发布，不能申诉")
    until = result.get("appeal_until")
    if until and rectification.today() > date.fromisoformat(until):
        raise Conflict(f"申诉期已于 {until} 结束")
    codes = {item["code"] for item in result.get("items") or []}
    if indicator_code not in codes:
        raise ValidationFailed(fields={"indicator": "不是本考核的指标"})
    if not text.strip():
        raise ValidationFailed(fields={"text": "请写明申诉理由"})
    pending = session.scalar(sa.select(Appeal.id).where(
        Appeal.campaign_id == campaign_id, Appeal.code == assignment.code, Appeal.indicator_code == indicator_code,
        Appeal.outcome.is_(None)))
    if pending is not None:
        raise Conflict(f"该指标的申诉（编号 {pending}）尚未答复，无需重复提出",
                       fields={"indicator": f"已有未答复的申诉（编号 {pending}）"})
    if file_ids:
        from jixiao.lifecycle.models import EvidenceFile

        own = set(session.scalars(sa.select(EvidenceFile.id).where(
            EvidenceFile.id.in_(file_ids), EvidenceFile.tenant_id == tenant.id,
            EvidenceFile.owner_type == "assessment_assignments", EvidenceFile.owner_id == assignment.id)))
        if own != set(file_ids):
            raise ValidationFailed(fields={"file_ids": "申诉材料须是本级在本考核中上传的文件"})
    row = Appeal(tenant_id=tenant.id, campaign_id=campaign_id, code=assignment.code, indicator_code=indicator_code,
                 text=text.strip(), file_ids=sorted(set(file_ids or [])), filed_by_id=actor.id)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="assessment.appeal", obj=row,
                 after={"indicator": indicator_code, "text": row.text, "files": row.file_ids})
    common.commit(session)
    return row


def answer_appeal(session: Session, actor: User, tenant: Tenant, campaign: Campaign, appeal_id: int, outcome: str,
                  answer: str, *, version: int | None) -> Appeal:
    """The assessor answers an appeal; an upheld one is rescored by reopening the campaign.

    ``version`` is the appeal's version the assessor read (two assessors answering it: one wins, one 409).
    """
    require_assessor(actor, tenant)
    if campaign.status is not CampaignStatus.FINALIZED:
        raise Conflict(f"考核{campaign.status.label}，不在公示期，不能答复申诉")
    row = next((a for a in appeals_for(session, campaign) if a.id == appeal_id), None)
    if row is None:
        raise NotFound("未找到该申诉")
    common.check_version(row, version, "申诉")
    if row.outcome is not None:
        raise Conflict(f"该申诉已于 {row.answered_at:%Y-%m-%d} 答复")
    try:
        decided = AppealOutcome(outcome)
    except ValueError as exc:
        raise ValidationFailed(fields={"outcome": "请选择 upheld（申诉成立）或 rejected（维持原评分）"}) from exc
    if not answer.strip():
        raise ValidationFailed(fields={"answer": "请写明答复意见"})
    with scoped(TenantScope(read_ids=(row.tenant_id,), write_id=row.tenant_id)) as writer:
        stored = common.lock_version(writer, writer.get(Appeal, row.id), version, "申诉")
        if stored.outcome is not None:
            raise Conflict(f"该申诉已于 {stored.answered_at:%Y-%m-%d} 答复")
        stored.outcome, stored.answer, stored.answered_by_id, stored.answered_at = (
            decided, answer.strip(), actor.id, utcnow())
        common.commit(writer)
    audit.record(session, actor=actor, action="assessment.appeal_answer", obj=campaign,
                 after={"appeal": row.id, "subject": row.code, "outcome": decided, "answer": answer.strip()})
    common.commit(session)
    session.expire(row)
    return row


def reopen(session: Session, actor: User, tenant: Tenant, campaign: Campaign, reason: str, *,
           version: int | None) -> Campaign:
    """Reopen a finalised campaign to rescore (an upheld appeal, a correction), with a reason; finalising
    again recomputes as of the same cut-off. The provisional results are taken back meanwhile.
    ``version``: the campaign's version read (missing: 400, stale: 409)."""
    require_assessor(actor, tenant)
    campaign = lock_campaign(session, campaign, version)
    if campaign.status is not CampaignStatus.FINALIZED:
        raise Conflict(f"考核{campaign.status.label}，只有已汇总（公示中）的考核可以重新打开")
    if not reason.strip():
        raise ValidationFailed(fields={"reason": "重新打开考核须说明理由"})
    campaign.status, campaign.reopen_reason, campaign.appeal_until = CampaignStatus.OPEN, reason.strip(), None
    audit.record(session, actor=actor, action="assessment.reopen", obj=campaign, after={"reason": campaign.reopen_reason})
    common.commit(session)
    _send_results(session, tenant, campaign, provisional=None)
    return campaign


def withdraw(session: Session, actor: User, tenant: Tenant, campaign: Campaign, reason: str, *,
             version: int | None) -> Campaign:
    """Withdraw (撤回) a campaign not yet published, with a reason: its subjects' invitations are taken back,
    and a new campaign for the same year and scheme may be opened. ``version`` as for :func:`reopen`."""
    require_assessor(actor, tenant)
    campaign = lock_campaign(session, campaign, version)
    if campaign.status in (CampaignStatus.PUBLISHED, CampaignStatus.WITHDRAWN):
        raise Conflict(f"考核{campaign.status.label}，不能撤回")
    if not reason.strip():
        raise ValidationFailed(fields={"reason": "撤回考核须说明理由"})
    subjects = list(campaign.subjects)
    campaign.status, campaign.withdraw_reason, campaign.withdrawn_at = CampaignStatus.WITHDRAWN, reason.strip(), utcnow()
    audit.record(session, actor=actor, action="assessment.withdraw", obj=campaign, after={"reason": reason.strip()})
    common.commit(session)
    for subject in subjects:
        tenant_id = subject.subject_tenant_id or tenant.id
        with scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id)) as writer:
            writer.execute(sa.delete(SubjectAssignment).where(SubjectAssignment.campaign_id == campaign.id,
                                                              SubjectAssignment.code == subject.code))
            writer.commit()
    return campaign


def request_publish(session: Session, actor: User, tenant: Tenant, campaign: Campaign, *, version: int | None,
                    force: bool = False, reason: str = "") -> Campaign:
    """Check that the results may be published now, at the ``version`` read (see :func:`accept_stage_request`):
    finalised, every appeal answered, the appeal window over (or forced with a reason); nothing is committed."""
    require_assessor(actor, tenant)
    campaign = lock_campaign(session, campaign, version)
    if campaign.status is not CampaignStatus.FINALIZED:
        raise Conflict("请先汇总排名再发布结果")
    unanswered = [a for a in appeals_for(session, campaign) if a.outcome is None]
    if unanswered:
        raise Conflict(f"还有 {len(unanswered)} 件申诉未答复，答复后才能发布")
    if campaign.appeal_until and rectification.today() <= campaign.appeal_until:
        if not force:
            raise Conflict(f"公示期至 {campaign.appeal_until}，期间各地可以申诉；如确需提前发布，请选择强制发布并说明理由")
        if not reason.strip():
            raise ValidationFailed(fields={"reason": "提前发布须说明理由"})
        audit.record(session, actor=actor, action="assessment.force_publish", obj=campaign,
                     after={"reason": reason.strip(), "appeal_until": campaign.appeal_until})
        campaign.force_reason = reason.strip()
    return campaign


def publish(session: Session, tenant: Tenant, campaign: Campaign) -> dict[str, Any]:
    """Give each subject its own final result (score, rank, deductions with reasons) in its own tenant."""
    if campaign.status is not CampaignStatus.FINALIZED:
        raise Conflict("请先汇总排名再发布结果")
    count = len(campaign.subjects)
    campaign.status, campaign.published_at = CampaignStatus.PUBLISHED, utcnow()
    audit.record(session, actor=None, action="assessment.publish", obj=campaign, after={"subjects": count})
    session.commit()
    _send_results(session, tenant, campaign, provisional=False)
    notices.tell_subjects(session, tenant, campaign, notices.PUBLISHED)
    return {"campaign_id": campaign.id, "published": count}


def notice_data(session: Session, tenant: Tenant, campaign: Campaign) -> dict[str, Any]:
    """The ranking notice (通报) of a finalised campaign, as plain data for the document job."""
    subjects = ranking(session, campaign)
    rows = [{"rank": s.rank if s.ranked else "数据不足", "name": s.name, "score": str(s.total),
             "grade": s.grade or "—",
             "notes": "；".join([*s.awards, *s.notices, *(["一票否决"] if s.vetoed else []),
                                *([] if s.ranked else [f"可计量分值占 {units.ratio_percent(s.coverage)}，不参与排名"])])}
            for s in subjects]
    return {
        "owner_type": "assessment_campaigns", "owner_id": campaign.id, "title": f"关于{campaign.title}结果的通报",
        "year": campaign.year, "issuer": tenant.bureau_name, "rows": rows,
        "rewarded": [s.name for s in subjects if s.awards], "summoned": [s.name for s in subjects if s.notices],
        "issued_on": (campaign.finalized_at or utcnow()).date().isoformat(),
    }
