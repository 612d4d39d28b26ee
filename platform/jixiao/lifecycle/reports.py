"""The lifecycle's documents: the evaluation report (绩效评价报告) and the rectification notice (整改通知书).

- **Owning**: evaluations, rectification notices and projects own documents; each owner type
  says who may read its documents by the record's own rules (registered by the lifecycle's plugin).
- **Asking** for a PDF is a write: only users of the record's own tenant who may see the record and whose role
  works on it (administrators, finance, the project's unit, the commissioned agency) may ask.
- **Rendering** is done by the jobs (``jixiao.lifecycle.document_jobs``) with the functions below, which store
  each PDF on its record with ``documents.service.store_pdf`` (content-addressed: same content, same document).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import Session

from jixiao import units
from jixiao.accounts.models import User
from jixiao.documents import pdf
from jixiao.documents import service as documents
from jixiao.documents.models import Document
from jixiao.errors import Conflict, NotFound
from jixiao.lifecycle import common, evaluations, rectification
from jixiao.lifecycle.models import (
    LABELS,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    Project,
    RectificationNotice,
)
from jixiao.lifecycle.targets import targets_for
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import DocumentOwner

#: Where the templates are when rendering outside an app (a script, a test).
TEMPLATES = (Path(__file__).parent / "templates",)

# ---- Who may read the documents of the lifecycle's records --------------------------------------------------


def _evaluations_visible(session: Session, actor: User, tenant: Tenant) -> Any:
    # The evaluation service's own rule (project visibility, evaluators limited to their agency's work).
    return Document.owner_id.in_(
        sa.select(Evaluation.id).where(evaluations.visible_evaluations_condition(session, actor, tenant)))


def _notices_visible(session: Session, actor: User, tenant: Tenant) -> Any:
    # As rectification.get_notice: the notices of the projects the actor may see.
    projects = sa.select(Project.id).where(common.project_filter(session, actor, tenant))
    return Document.owner_id.in_(sa.select(RectificationNotice.id).where(RectificationNotice.project_id.in_(projects)))


def _projects_visible(session: Session, actor: User, tenant: Tenant) -> Any:
    return Document.owner_id.in_(sa.select(Project.id).where(common.project_filter(session, actor, tenant)))


def _project_pages(session: Session, tenant: Tenant, model: Any, anchor: str, ids: set[int]) -> dict[int, str]:
    return {record_id: url_for("lifecycle.project", tenant_code=tenant.code, project_id=project_id,
                               _anchor=f"{anchor}-{record_id}")
            for record_id, project_id in session.execute(sa.select(model.id, model.project_id)
                                                         .where(model.id.in_(ids)))}


def _evaluation_pages(session: Session, tenant: Tenant, ids: set[int]) -> dict[int, str]:
    return _project_pages(session, tenant, Evaluation, "evaluation", ids)


def _notice_pages(session: Session, tenant: Tenant, ids: set[int]) -> dict[int, str]:
    return _project_pages(session, tenant, RectificationNotice, "notice", ids)


def _project_links(session: Session, tenant: Tenant, ids: set[int]) -> dict[int, str]:
    return {project_id: url_for("lifecycle.project", tenant_code=tenant.code, project_id=project_id)
            for project_id in ids}


def lifecycle_owners() -> list[DocumentOwner]:
    """The lifecycle's records that own documents (registered by the lifecycle's plugin)."""
    return [DocumentOwner("evaluations", _evaluations_visible, "绩效评价", _evaluation_pages),
            DocumentOwner("rectification_notices", _notices_visible, "整改通知", _notice_pages),
            DocumentOwner("projects", _projects_visible, "项目", _project_links)]


# ---- Who may ask for one ------------------------------------------------------------------------------------


def check_evaluation(session: Session, actor: User, tenant: Tenant, evaluation_id: int) -> Evaluation:
    """The evaluation, if the actor may see it and ask for its report (and it has been submitted)."""
    evaluation = evaluations.get_evaluation(session, actor, tenant, evaluation_id)
    documents.require_generator(actor, tenant, "生成绩效评价报告")
    if evaluation.status is not EvaluationStatus.SUBMITTED:
        raise Conflict("评价尚未提交，不能生成评价报告")
    return evaluation


def check_notice(session: Session, actor: User, tenant: Tenant, notice_id: int) -> RectificationNotice:
    notice = rectification.get_notice(session, actor, tenant, notice_id)
    documents.require_generator(actor, tenant, "生成整改通知书")
    return notice


def request_evaluation_report(session: Session, actor: User, tenant: Tenant, evaluation_id: int) -> Any:
    from jixiao.jobs.service import enqueue

    evaluation = check_evaluation(session, actor, tenant, evaluation_id)
    return enqueue(session, actor, tenant, "documents.evaluation_report", {"evaluation_id": evaluation.id})


def request_rectification_notice(session: Session, actor: User, tenant: Tenant, notice_id: int) -> Any:
    from jixiao.jobs.service import enqueue

    notice = check_notice(session, actor, tenant, notice_id)
    return enqueue(session, actor, tenant, "documents.rectification_notice", {"notice_id": notice.id})


# ---- What goes in each PDF ----------------------------------------------------------------------------------

#: How each kind of record is named in a sentence ("该项目", "该政策", "该部门整体支出").
SUBJECTS = {"project": "项目", "policy": "政策", "department_whole": "部门整体支出"}

#: The standard requirements of a rectification notice (the declared default of
#: ``documents.rectification_requirements``).
DEFAULT_REQUIREMENTS = (
    "高度重视，认真对照问题清单逐条制定整改措施，明确整改责任人和完成时限，做到问题不查清不放过、整改不到位不放过。",
    "在整改期限内通过预算绩效管理平台反馈整改报告，逐条说明整改措施和整改结果，并上传相关佐证材料。",
    "本局将对整改情况进行核验；逾期未整改或整改不到位的，列入整改台账重点跟踪，必要时予以通报、约谈。",
    "整改结果将作为以后年度预算安排和政策调整的重要依据。",
)


def evaluator_name(tenant: Tenant, evaluation: Evaluation) -> str:
    """Who evaluated: the unit itself (自评, 部门评价), the agency, or the finance bureau."""
    if evaluation.agency is not None:
        return evaluation.agency.name
    if evaluation.kind in (EvaluationKind.SELF, EvaluationKind.DEPARTMENT):
        return evaluation.project.department.name
    return tenant.bureau_name


def evaluation_report_context(session: Session, tenant: Tenant, evaluation: Evaluation) -> dict[str, Any]:
    project = evaluation.project
    target_set = targets_for(session, project)
    scores = sorted(evaluation.scores, key=lambda s: (s.position, s.id))
    execution_points = evaluations.form_of(session, tenant, evaluation).execution
    points_total = execution_points + sum((s.points for s in scores), Decimal(0))
    return {
        "bureau": tenant.bureau_name,
        "header_right": f"{evaluation.kind.label}报告",
        "title": f"{project.name}绩效评价报告",
        "document_date": pdf.local_datetime(evaluation.submitted_at),
        "tenant": tenant,
        "project": project,
        "evaluation": evaluation,
        "overall_target": target_set.overall_target if target_set else "",
        "scores": scores,
        "target_of": lambda s, _f=None: evaluations.target_text(s),
        "actual_of": lambda s, _f=None: evaluations.actual_text(s),
        "execution_points": execution_points,
        "points_total": points_total,
        "execution_rate": units.percent_of(evaluation.executed_amount, project.budget_amount),
        "subject": SUBJECTS.get(str(project.kind), "项目"),
        "evaluator": evaluator_name(tenant, evaluation),
        "findings": [f for f in evaluation.findings or [] if (f.get("problem") or "").strip()],
        **pdf.helpers(LABELS),
    }


def notice_number(session: Session, tenant: Tenant, notice: RectificationNotice) -> str:
    """The notice's number (文号), e.g. 零财绩〔2026〕3号: the bureau's prefix (setting
    ``documents.number_prefix``, else the first character of its name + 财绩, as in the seeds' 零财绩〔2021〕21号),
    the year of issue and the notice's place among the bureau's notices issued that year."""
    settings = common.tenant_view(session, tenant).settings
    prefix = str(settings.get("documents.number_prefix") or f"{tenant.name[:1]}财绩")
    year = units.local_date(notice.created_at).year if notice.created_at else notice.project.year
    rows = session.execute(sa.select(RectificationNotice.id, RectificationNotice.created_at)
                           .where(RectificationNotice.tenant_id == tenant.id, RectificationNotice.id <= notice.id))
    sequence = sum(1 for _id, created in rows if created is not None and units.local_date(created).year == year)
    return f"{prefix}〔{year}〕{max(sequence, 1)}号"


def rectification_notice_context(session: Session, tenant: Tenant, notice: RectificationNotice) -> dict[str, Any]:
    project, evaluation = notice.project, notice.evaluation
    settings = common.tenant_view(session, tenant).settings
    requirements = settings["documents.rectification_requirements"]
    return {
        "bureau": tenant.bureau_name,
        "header_right": "整改通知书",
        "title": f"关于{project.name}绩效评价发现问题整改的通知",
        "document_date": pdf.local_datetime(notice.created_at),
        "issued_on": units.local_date(notice.created_at) if notice.created_at else None,
        "number": notice_number(session, tenant, notice),
        "subject": SUBJECTS.get(str(project.kind), "项目"),
        "tenant": tenant,
        "project": project,
        "evaluation": evaluation,
        "notice": notice,
        "addressee": project.department.name,
        "problems": list(notice.problems or []),
        "requirements": [str(r) for r in requirements],
        **pdf.helpers(LABELS),
    }


# ---- Rendering and storing ----------------------------------------------------------------------------------


def generate_evaluation_report(session: Session, actor: User | None, tenant: Tenant, evaluation_id: int, *,
                               job_id: int | None = None) -> Document:
    evaluation = _load_evaluation(session, actor, tenant, evaluation_id)
    context = evaluation_report_context(session, tenant, evaluation)
    data = pdf.render_pdf("lifecycle/pdf/evaluation_report.html", TEMPLATES, **context)
    project = evaluation.project
    return documents.store_pdf(
        session, tenant, kind="evaluation_report", owner_type="evaluations", owner_id=evaluation.id,
        title=f"{project.name}绩效评价报告（{evaluation.kind.label}）",
        filename=f"绩效评价报告-{project.code}-{evaluation.kind.label}", data=data, job_id=job_id,
        actor_id=getattr(actor, "id", None))


def generate_rectification_notice(session: Session, actor: User | None, tenant: Tenant, notice_id: int, *,
                                  job_id: int | None = None) -> Document:
    notice = _load_notice(session, actor, tenant, notice_id)
    context = rectification_notice_context(session, tenant, notice)
    data = pdf.render_pdf("lifecycle/pdf/rectification_notice.html", TEMPLATES, **context)
    return documents.store_pdf(
        session, tenant, kind="rectification_notice", owner_type="rectification_notices", owner_id=notice.id,
        title=f"整改通知书：{notice.project.name}", filename=f"整改通知书-{notice.project.code}", data=data,
        job_id=job_id, actor_id=getattr(actor, "id", None))


def _load_evaluation(session: Session, actor: User | None, tenant: Tenant, evaluation_id: int) -> Evaluation:
    if actor is not None:
        return check_evaluation(session, actor, tenant, evaluation_id)
    evaluation = session.scalar(sa.select(Evaluation).where(Evaluation.id == evaluation_id,
                                                            Evaluation.tenant_id == tenant.id))
    if evaluation is None:
        raise NotFound("未找到该评价")
    if evaluation.status is not EvaluationStatus.SUBMITTED:
        raise Conflict("评价尚未提交，不能生成评价报告")
    return evaluation


def _load_notice(session: Session, actor: User | None, tenant: Tenant, notice_id: int) -> RectificationNotice:
    if actor is not None:
        return check_notice(session, actor, tenant, notice_id)
    notice = session.scalar(sa.select(RectificationNotice).where(RectificationNotice.id == notice_id,
                                                                 RectificationNotice.tenant_id == tenant.id))
    if notice is None:
        raise NotFound("未找到该整改通知")
    return notice
