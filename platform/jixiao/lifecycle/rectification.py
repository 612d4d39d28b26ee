"""Rectification (整改): a notice per evaluation, the unit's answer with evidence, finance's verification.

The ledger (整改台账) lists every notice with its state; a notice past its deadline and not verified is
overdue; one verified on a day (in the bureau's time zone) no later than its deadline was closed on time.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, contains_eager

from jixiao import audit, inputs, pagination, policy, units
from jixiao.accounts.models import Role, User
from jixiao.db import utcnow
from jixiao.documents import store, uploads
from jixiao.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jixiao.lifecycle import common
from jixiao.lifecycle.models import (
    EvaluationStatus,
    EvidenceFile,
    NoticeStatus,
    Project,
    RectificationNotice,
    Stage,
)
from jixiao.tenancy.models import Tenant

NOTICE_FIELDS = ["status", "problems", "deadline", "measures", "return_reason"]
ALLOWED_EXTENSIONS = uploads.ALLOWED_EXTENSIONS  # each checked by its content, not only its name


def today() -> date:
    """The day deadlines are compared with: the bureau's (``jixiao.units.local_today``).

    The services call it through this module so that tests can stop the rectification clock in one place.
    """
    return units.local_today()


def local_day_end(day: date) -> datetime:
    """The last instant of ``day`` in the bureau's time zone, in UTC: what "by the end of that day" means."""
    start = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=units.local_zone())
    return (start - timedelta(microseconds=1)).astimezone(UTC)


def local_date_sql(session: Session, timestamp: Any) -> sa.ColumnElement[date]:
    """The day a stored (UTC) timestamp falls on in the bureau's time zone, as SQL."""
    zone = units.timezone_name()
    if session.get_bind().dialect.name == "sqlite":
        # SQLite keeps naive UTC text and knows no zones: shift by the zone's current offset (exact for a zone
        # without DST, such as Asia/Shanghai).
        offset = units.local_now().utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        return sa.func.date(timestamp, f"{minutes:+d} minutes")
    return sa.cast(sa.func.timezone(zone, timestamp), sa.Date)


def closed_on_time(session: Session) -> sa.ColumnElement[bool]:
    """A notice closed on time (按期整改), as SQL: verified, on a local day no later than its deadline.

    The one definition: the yearly statistics and the assessment metric ``rectification_on_time`` both count
    it. The deadline is a day in the bureau's time zone, so the verification is judged by its local day too —
    its UTC day would count a verification at 00:30 the day after the deadline as on time.
    """
    notice = RectificationNotice
    return sa.and_(notice.status == NoticeStatus.VERIFIED,
                   local_date_sql(session, notice.verified_at) <= notice.deadline)


def is_overdue(notice: RectificationNotice, on: date | None = None) -> bool:
    return notice.status is not NoticeStatus.VERIFIED and notice.deadline < (on or today())


def issue(session: Session, actor: User, tenant: Tenant, evaluation_id: int, problems: list[str] | None = None,
          deadline: date | None = None) -> RectificationNotice:
    """Finance issues the notice for an evaluation's findings (one notice per evaluation)."""
    common.require_finance(actor, tenant, "下达整改通知")
    from jixiao.lifecycle.evaluations import get_evaluation

    evaluation = get_evaluation(session, actor, tenant, evaluation_id)
    if evaluation.status is not EvaluationStatus.SUBMITTED:
        raise Conflict("评价尚未提交，不能下达整改通知")
    common.lock(session, evaluation)  # concurrent issues queue here: one creates, the others find it
    if session.scalar(sa.select(RectificationNotice.id).where(RectificationNotice.evaluation_id == evaluation.id)):
        raise Conflict("这项评价已经下达过整改通知")
    listed = [p.strip() for p in (problems if problems is not None else
                                  [f.get("problem", "") for f in evaluation.findings]) if p and p.strip()]
    if not listed:
        raise ValidationFailed(fields={"problems": "请列出需要整改的问题（问题清单）"})
    inputs.check_count(listed, "problems", "整改问题", inputs.MAX_PROBLEMS_PER_NOTICE)
    for position, problem in enumerate(listed, start=1):
        inputs.check_text(problem, "problems", f"第 {position} 条问题", max_length=inputs.COMMENT_MAX_LENGTH)
    settings = common.tenant_view(session, tenant).settings
    due = deadline or today() + timedelta(days=int(settings["rectification.default_days"]))
    if due < today():
        raise ValidationFailed(fields={"deadline": "整改期限不能早于今天"})
    notice = RectificationNotice(tenant_id=tenant.id, evaluation_id=evaluation.id, project_id=evaluation.project_id,
                                 problems=listed, deadline=due, status=NoticeStatus.ISSUED, issued_by_id=actor.id)
    session.add(notice)
    project = evaluation.project
    if project.stage in (Stage.EVALUATED, Stage.BUDGETED):
        project.stage = Stage.RECTIFYING
    session.flush()
    common.record(session, actor, "rectification.issue", notice, after=audit.snapshot(notice, NOTICE_FIELDS))
    common.commit(session)
    common.emit(session, tenant, "rectification.issued", project, actor, deadline=due, problems=len(listed),
                notice_id=notice.id, version=notice.version)
    return notice


def get_notice(session: Session, actor: User, tenant: Tenant, notice_id: int) -> RectificationNotice:
    notice = session.scalar(sa.select(RectificationNotice).where(
        RectificationNotice.id == notice_id,
        RectificationNotice.project_id.in_(sa.select(Project.id).where(common.project_filter(session, actor, tenant)))))
    if notice is None:
        raise NotFound("未找到该整改通知，或您无权查看")
    return notice


def answer(session: Session, actor: User, tenant: Tenant, notice: RectificationNotice, measures: str,
           version: int | None = None) -> RectificationNotice:
    """The unit reports what it did (整改报告); evidence files are uploaded to the notice."""
    common.require_unit_or_finance(session, actor, notice.project, "反馈整改情况")
    notice = common.lock(session, notice)  # a one-way transition: a concurrent answer finds this one answered
    if version is not None:
        common.check_version(notice, version, "整改通知")
    if notice.status not in (NoticeStatus.ISSUED, NoticeStatus.RETURNED):
        raise Conflict(f"整改通知{notice.status.label}，不能再反馈")
    if not measures.strip():
        raise ValidationFailed(fields={"measures": "请填写整改措施和结果"})
    inputs.check_text(measures, "measures", "整改措施和结果", max_length=inputs.LONG_TEXT_MAX_LENGTH)
    before = audit.snapshot(notice, NOTICE_FIELDS)
    notice.measures, notice.status, notice.answered_at = measures.strip(), NoticeStatus.ANSWERED, utcnow()
    common.record(session, actor, "rectification.answer", notice, before, audit.snapshot(notice, NOTICE_FIELDS))
    common.commit(session)
    common.emit(session, tenant, "rectification.answered", notice.project, actor, notice_id=notice.id,
                version=notice.version)
    return notice


def verify(session: Session, actor: User, tenant: Tenant, notice: RectificationNotice, *, accept: bool,
           reason: str = "", version: int | None = None) -> RectificationNotice:
    """Finance accepts the rectification, or returns it with the reason."""
    common.require_finance(actor, tenant, "核验整改情况")
    notice = common.lock(session, notice)  # a one-way transition: a concurrent check finds this one done
    if version is not None:
        common.check_version(notice, version, "整改通知")
    if notice.status is not NoticeStatus.ANSWERED:
        raise Conflict(f"只能核验单位已反馈的整改（当前：{notice.status.label}）")
    if not accept and not reason.strip():
        raise ValidationFailed(fields={"reason": "退回时请写明原因"})
    inputs.check_text(reason, "reason", "退回原因", max_length=inputs.COMMENT_MAX_LENGTH)
    before = audit.snapshot(notice, NOTICE_FIELDS)
    if accept:
        notice.status, notice.verified_at, notice.verifier_id = NoticeStatus.VERIFIED, utcnow(), actor.id
    else:
        notice.status, notice.return_reason = NoticeStatus.RETURNED, reason.strip()
    common.record(session, actor, "rectification.verify" if accept else "rectification.return", notice, before,
                  audit.snapshot(notice, NOTICE_FIELDS))
    common.commit(session)
    common.emit(session, tenant, "rectification.verified" if accept else "rectification.returned", notice.project, actor,
                notice_id=notice.id, version=notice.version, reason=notice.return_reason if not accept else "")
    return notice


def _overdue() -> sa.ColumnElement[bool]:
    return sa.and_(RectificationNotice.deadline < today(), RectificationNotice.status != NoticeStatus.VERIFIED)


def _ledger(session: Session, actor: User, tenant: Tenant, year: int | None, status: str | None,
            overdue: bool | None, project_id: int | None) -> sa.Select[RectificationNotice]:
    stmt = (sa.select(RectificationNotice).join(RectificationNotice.project)
            .where(common.project_filter(session, actor, tenant)))
    if year:
        stmt = stmt.where(Project.year == year)
    if status:
        stmt = stmt.where(RectificationNotice.status == NoticeStatus(status))
    if overdue is True:
        stmt = stmt.where(_overdue())
    if project_id:
        stmt = stmt.where(RectificationNotice.project_id == project_id)
    return stmt.order_by(RectificationNotice.deadline, RectificationNotice.id)


def ledger(session: Session, actor: User, tenant: Tenant, *, year: int | None = None, status: str | None = None,
           overdue: bool | None = None, project_id: int | None = None) -> list[RectificationNotice]:
    """整改台账: auditors and finance see the whole tenant; units their own notices (``project_id``: one
    project's). The whole ledger is for its readers only (``policy.may_read_ledger``)."""
    if project_id is None:
        policy.require_ledger_reader(actor)
    stmt = _ledger(session, actor, tenant, year, status, overdue, project_id)
    return list(session.scalars(stmt.options(contains_eager(RectificationNotice.project))))


def ledger_page(session: Session, actor: User, tenant: Tenant, *, page: int = 1,
                per_page: int = pagination.DEFAULT_PER_PAGE, year: int | None = None, status: str | None = None,
                overdue: bool | None = None, project_id: int | None = None) -> pagination.Page[RectificationNotice]:
    """One page of the ledger (:func:`ledger`), each notice with its project and department: two statements.
    The whole ledger (no ``project_id``) is for its readers only (``policy.may_read_ledger``)."""
    if project_id is None:
        policy.require_ledger_reader(actor)
    stmt = _ledger(session, actor, tenant, year, status, overdue, project_id)
    return pagination.fetch(session, stmt, page, per_page, options=(contains_eager(RectificationNotice.project),))


def overdue_count(session: Session, actor: User, tenant: Tenant, *, year: int | None = None,
                  status: str | None = None) -> int:
    """How many notices of the ledger (with these filters) are overdue: one statement."""
    stmt = _ledger(session, actor, tenant, year, status, True, None)
    return session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0


# ---- Evidence files -----------------------------------------------------------------------------------------


def store_evidence(session: Session, actor: User, tenant: Tenant, notice: RectificationNotice, filename: str,
                   stream: IO[bytes], content_type: str = "") -> EvidenceFile:
    """Keep an evidence file; ``content_type`` (the browser's claim) is ignored for the one the content shows."""
    common.require_unit_or_finance(session, actor, notice.project, "上传整改佐证材料")
    if not actor.has_role(Role.FINANCE) and notice.status is NoticeStatus.VERIFIED:
        raise Conflict("整改已核验，不能再上传材料")
    held = session.scalar(sa.select(sa.func.count(EvidenceFile.id)).where(
        EvidenceFile.owner_type == "rectification_notices", EvidenceFile.owner_id == notice.id)) or 0
    if held >= inputs.MAX_FILES_PER_RECORD:
        raise ValidationFailed(fields={"file": f"每份整改通知最多 {inputs.MAX_FILES_PER_RECORD} 个佐证材料"})
    data = stream.read()
    content_type = uploads.check_upload(filename, data)
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(current_app.instance_path) / "files" / str(tenant.id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    evidence = EvidenceFile(tenant_id=tenant.id, owner_type="rectification_notices", owner_id=notice.id,
                            filename=uploads.safe_filename(filename), content_type=content_type,
                            size=len(data), sha256=digest, uploaded_by_id=actor.id)
    session.add(evidence)
    session.flush()
    common.record(session, actor, "evidence.upload", evidence, after={"filename": evidence.filename, "size": evidence.size})
    common.commit(session)
    return evidence


def evidence_of(session: Session, notice: RectificationNotice) -> list[EvidenceFile]:
    return list(session.scalars(sa.select(EvidenceFile).where(
        EvidenceFile.owner_type == "rectification_notices", EvidenceFile.owner_id == notice.id).order_by(EvidenceFile.id)))


def evidence_path(tenant: Tenant, evidence: EvidenceFile) -> Path:
    return Path(current_app.instance_path) / "files" / str(tenant.id) / evidence.sha256


def get_evidence(session: Session, actor: User, tenant: Tenant, notice: RectificationNotice, file_id: int) -> EvidenceFile:
    evidence = session.get(EvidenceFile, file_id)
    if evidence is None or evidence.owner_type != "rectification_notices" or evidence.owner_id != notice.id:
        raise NotFound("未找到该文件")
    return evidence


def require_evidence_remover(session: Session, actor: User, tenant: Tenant, notice: RectificationNotice,
                             evidence: EvidenceFile) -> None:
    """Raise :class:`Forbidden` unless ``actor`` may remove ``evidence``: the tenant's finance staff, or whoever
    uploaded it while they still work on the project (its unit)."""
    if common.is_finance(actor, tenant):
        return
    if evidence.uploaded_by_id == actor.id and common.is_unit_or_finance(session, actor, notice.project):
        return
    raise Forbidden("只有上传人或本级财政绩效人员可以删除佐证材料")


def may_remove_evidence(session: Session, actor: User, tenant: Tenant, notice: RectificationNotice,
                        evidence: EvidenceFile) -> bool:
    """Whether the page shows the delete button: the rule :func:`remove_evidence` enforces."""
    if notice.status is NoticeStatus.VERIFIED:
        return False
    try:
        require_evidence_remover(session, actor, tenant, notice, evidence)
    except Forbidden:
        return False
    return True


def remove_evidence(session: Session, actor: User, tenant: Tenant, notice: RectificationNotice,
                    evidence: EvidenceFile) -> None:
    """Delete a wrongly uploaded evidence file while the notice is not verified (核验销号).

    Once finance has verified the rectification, its evidence is what the verification rests on: 409. The
    removal is audited on the notice with the file's name, size and SHA-256 (the audit log is append-only);
    the stored bytes are deleted too, unless another record of the tenant holds the same content.
    """
    require_evidence_remover(session, actor, tenant, notice, evidence)
    notice = common.lock(session, notice)  # a concurrent verification queues here: either it sees the file or not
    if notice.status is NoticeStatus.VERIFIED:
        raise Conflict("整改已核验销号，佐证材料是核验的依据，不能删除")
    uploader = session.get(User, evidence.uploaded_by_id) if evidence.uploaded_by_id else None
    removed = {"file_id": evidence.id, "filename": evidence.filename, "sha256": evidence.sha256,
               "bytes": evidence.size, "uploaded_by": uploader.username if uploader else ""}
    digest = evidence.sha256
    session.delete(evidence)
    session.flush()
    common.record(session, actor, "evidence.remove", notice, before=removed)
    common.commit(session)
    still_held = session.scalar(sa.select(EvidenceFile.id).where(
        EvidenceFile.tenant_id == tenant.id, EvidenceFile.sha256 == digest).limit(1)) is not None
    if not still_held and not store.referenced_by_documents(session, tenant.id, digest):
        store.discard_bytes(tenant.id, digest)

