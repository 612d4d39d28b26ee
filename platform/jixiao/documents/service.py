"""Generated documents: who may ask for one, what goes in it, who may read it.

- **Asking** for a PDF is a write: only users of the record's own tenant who may see the record and whose role
  works on it (administrators, finance, the project's unit, the commissioned agency) may ask; the statistics
  report is for finance and administrators. Upper levels read, they do not generate.
- **Reading** a document is for whoever may read the record it belongs to, by the record's own rules
  (department staff see their department's projects, an agency only what it was assigned): a document is
  listed and downloadable through the URL's tenant only, and only if its record is visible (else 404).
- **Rendering** is done by the jobs (``jixiao.documents.jobs``) with the functions below; each stores its PDF
  with ``save_document`` (content-addressed: the same content gives the same document back).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from jixiao import policy, units
from jixiao.accounts.models import Role, User
from jixiao.documents import pdf
from jixiao.documents.models import Document
from jixiao.documents.store import save_document
from jixiao.errors import Conflict, Forbidden, NotFound
from jixiao.lifecycle import common
from jixiao.lifecycle.models import (
    LABELS,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    Project,
    RectificationNotice,
)
from jixiao.plugins import by_name
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import DocumentOwner

PDF = "application/pdf"
CENT = Decimal("0.01")
#: Roles that work on evaluations and notices, and so may ask for their PDFs (in their own tenant).
GENERATOR_ROLES = (Role.ADMIN, Role.FINANCE, Role.DEPARTMENT, Role.EVALUATOR)
STATISTICS_ROLES = (Role.ADMIN, Role.FINANCE)

KIND_LABELS = {
    "evaluation_report": "绩效评价报告",
    "rectification_notice": "整改通知书",
    "ranking_notice": "考核结果通报",
    "statistics_report": "年度统计报告",
    "export": "数据导出",
    "import_errors": "导入错误报告",
}


# ---- Who may read which documents ---------------------------------------------------------------------------

#: fn(session, actor, tenant) giving the SQL condition on ``Document`` for the visible documents of one owner type.
VisibleCondition = Callable[[Session, User, Tenant], Any]


def init_app(app: Flask, owners: list[DocumentOwner]) -> None:
    """Record the app's document owner types (collected from the plugins' ``register_document_owners``)."""
    app.extensions["jixiao.document_owners"] = by_name(owners, lambda owner: owner.owner_type, "document owner type")


def owner_types() -> dict[str, DocumentOwner]:
    """The current app's document owner types."""
    return current_app.extensions["jixiao.document_owners"]


def owner_labels() -> dict[str, str]:
    return {owner_type: owner.label for owner_type, owner in owner_types().items()}


def _evaluations_visible(session: Session, actor: User, tenant: Tenant) -> Any:
    from jixiao.lifecycle import evaluations

    # The evaluation service's own rule (project visibility, evaluators limited to their agency's work).
    return Document.owner_id.in_(
        sa.select(Evaluation.id).where(evaluations.visible_evaluations_condition(session, actor, tenant)))


def _notices_visible(session: Session, actor: User, tenant: Tenant) -> Any:
    # As rectification.get_notice: the notices of the projects the actor may see.
    projects = sa.select(Project.id).where(common.project_filter(session, actor, tenant))
    return Document.owner_id.in_(sa.select(RectificationNotice.id).where(RectificationNotice.project_id.in_(projects)))


def _projects_visible(session: Session, actor: User, tenant: Tenant) -> Any:
    return Document.owner_id.in_(sa.select(Project.id).where(common.project_filter(session, actor, tenant)))


def _tenant_visible(session: Session, actor: User, tenant: Tenant) -> Any:
    # Tenant-wide documents (the yearly statistics report) are read by whoever reads the tenant's statistics.
    return Document.owner_id == tenant.id if policy.may_read_bureau_figures(actor) else sa.false()


def lifecycle_owners() -> list[DocumentOwner]:
    """The lifecycle's records that own documents (registered by the lifecycle's plugin)."""
    return [DocumentOwner("evaluations", _evaluations_visible, "绩效评价"),
            DocumentOwner("rectification_notices", _notices_visible, "整改通知"),
            DocumentOwner("projects", _projects_visible, "项目"),
            DocumentOwner("tenants", _tenant_visible, "本级财政部门")]


def reads_everything(actor: User, tenant: Tenant) -> bool:
    """Upper levels, and finance, administrators, auditors, experts and viewers of the tenant itself."""
    return not common.is_own_tenant(actor, tenant) or actor.has_role(*common.READ_ALL_ROLES)


def visible_condition(session: Session, actor: User, tenant: Tenant) -> Any:
    """The documents of ``tenant`` that ``actor`` may read, as an SQL condition."""
    registered = owner_types()
    known = list(registered)
    branches = [sa.and_(Document.owner_type == owner_type, owner.visible(session, actor, tenant))
                for owner_type, owner in registered.items()]
    # A record type nobody registered: the tenant-wide readers, and whoever made the document.
    fallback = sa.true() if reads_everything(actor, tenant) else Document.created_by_id == actor.id
    branches.append(sa.and_(Document.owner_type.not_in(known), fallback))
    return sa.and_(Document.tenant_id == tenant.id, sa.or_(*branches))


def list_documents(session: Session, actor: User, tenant: Tenant, *, owner_type: str | None = None,
                   owner_id: int | None = None, kind: str | None = None, limit: int = 200) -> list[Document]:
    """The tenant's documents the actor may read, newest first (those of one record with ``owner_*``)."""
    stmt = sa.select(Document).where(visible_condition(session, actor, tenant))
    if owner_type:
        stmt = stmt.where(Document.owner_type == owner_type)
    if owner_id is not None:
        stmt = stmt.where(Document.owner_id == owner_id)
    if kind:
        stmt = stmt.where(Document.kind == kind)
    return list(session.scalars(stmt.order_by(Document.id.desc()).limit(limit)))


def get_document(session: Session, actor: User, tenant: Tenant, document_id: int) -> Document:
    """A document of the URL's tenant whose record the actor may read; anything else does not exist (404)."""
    document = session.scalar(sa.select(Document).where(Document.id == document_id,
                                                        visible_condition(session, actor, tenant)))
    if document is None:
        raise NotFound("未找到该文件，或您无权查看")
    return document


def documents_by_owner(session: Session, actor: User, tenant: Tenant, owner_type: str,
                       owner_ids: list[int]) -> dict[int, list[Document]]:
    """The readable documents of several records at once (e.g. each evaluation on a project page), newest
    first: ``{owner_id: [document, ...]}``; one statement."""
    found: dict[int, list[Document]] = {}
    if not owner_ids:
        return found
    stmt = (sa.select(Document).where(visible_condition(session, actor, tenant), Document.owner_type == owner_type,
                                      Document.owner_id.in_(list(owner_ids)))
            .order_by(Document.id.desc()))
    for document in session.scalars(stmt):
        found.setdefault(document.owner_id, []).append(document)
    return found


def download_url(tenant: Tenant | str, document: Document | int) -> str:
    """Built by hand: a worker has no request to build URLs from (the endpoint is DocumentDownload)."""
    code = tenant if isinstance(tenant, str) else tenant.code
    document_id = document if isinstance(document, int) else document.id
    return f"/api/v1/tenants/{code}/documents/{document_id}/download"


def job_result(tenant: Tenant, document: Document) -> dict[str, Any]:
    return {"document_id": document.id, "url": download_url(tenant, document)}


# ---- Who may ask for one ------------------------------------------------------------------------------------


def may_generate(actor: User, tenant: Tenant, roles: tuple[Role, ...] = GENERATOR_ROLES) -> bool:
    """Whether to show the generate buttons (the record's own visibility is checked when asked)."""
    return common.is_own_tenant(actor, tenant) and actor.has_role(*roles)


def require_generator(actor: User, tenant: Tenant, what: str, roles: tuple[Role, ...] = GENERATOR_ROLES) -> None:
    if not common.is_own_tenant(actor, tenant):
        raise Forbidden(f"只有本级人员可以{what}；下级的数据只读")
    if not actor.has_role(*roles):
        raise Forbidden(f"您的角色不能{what}")


def check_evaluation(session: Session, actor: User, tenant: Tenant, evaluation_id: int) -> Evaluation:
    """The evaluation, if the actor may see it and ask for its report (and it has been submitted)."""
    from jixiao.lifecycle import evaluations

    evaluation = evaluations.get_evaluation(session, actor, tenant, evaluation_id)
    require_generator(actor, tenant, "生成绩效评价报告")
    if evaluation.status is not EvaluationStatus.SUBMITTED:
        raise Conflict("评价尚未提交，不能生成评价报告")
    return evaluation


def check_notice(session: Session, actor: User, tenant: Tenant, notice_id: int) -> RectificationNotice:
    from jixiao.lifecycle import rectification

    notice = rectification.get_notice(session, actor, tenant, notice_id)
    require_generator(actor, tenant, "生成整改通知书")
    return notice


def request_evaluation_report(session: Session, actor: User, tenant: Tenant, evaluation_id: int) -> Any:
    from jixiao.jobs.service import enqueue

    evaluation = check_evaluation(session, actor, tenant, evaluation_id)
    return enqueue(session, actor, tenant, "documents.evaluation_report", {"evaluation_id": evaluation.id})


def request_rectification_notice(session: Session, actor: User, tenant: Tenant, notice_id: int) -> Any:
    from jixiao.jobs.service import enqueue

    notice = check_notice(session, actor, tenant, notice_id)
    return enqueue(session, actor, tenant, "documents.rectification_notice", {"notice_id": notice.id})


def request_statistics_report(session: Session, actor: User, tenant: Tenant, year: int) -> Any:
    """The figures count overdue notices as of a day: the day asked for is fixed in the job's arguments, so a
    retry renders the same document."""
    from jixiao.jobs.service import enqueue

    require_generator(actor, tenant, "生成年度统计报告", STATISTICS_ROLES)
    return enqueue(session, actor, tenant, "documents.statistics_report",
                   {"year": int(year), "as_of": units.local_today().isoformat()})


# ---- Formatting helpers (deterministic, no locale) ----------------------------------------------------------


def local_datetime(value: datetime | None) -> datetime | None:
    """A stored timestamp as the bureau's wall-clock time to the second (documents date themselves with it)."""
    return None if value is None else units.to_local(value).replace(microsecond=0)


def cn_date(value: date | datetime | None) -> str:
    """2026年6月30日 (the form official documents use); a timestamp's day in the bureau's time zone."""
    day = units.local_date(value) if isinstance(value, datetime) else value
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def plain(value: Any) -> str:
    """A number without trailing zeros (100, 95.5), thousands separated."""
    if value is None or value == "":
        return "—"
    number = Decimal(str(value))
    text = f"{number.normalize():,f}" if number == number.to_integral() else f"{number:,f}".rstrip("0").rstrip(".")
    return text


def score(value: Any) -> str:
    return "—" if value is None else f"{Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP):f}"


def helpers() -> dict[str, Any]:
    return {"cn_date": cn_date, "plain": plain, "score": score, "wan": units.format_wan, "percent": units.percent_of,
            "label": lambda value: LABELS.get(str(value), str(value))}


# ---- What goes in each PDF ----------------------------------------------------------------------------------


def evaluator_name(tenant: Tenant, evaluation: Evaluation) -> str:
    """Who evaluated: the unit itself (自评, 部门评价), the agency, or the finance bureau."""
    if evaluation.agency is not None:
        return evaluation.agency.name
    if evaluation.kind in (EvaluationKind.SELF, EvaluationKind.DEPARTMENT):
        return evaluation.project.department.name
    return tenant.bureau_name


def evaluation_report_context(session: Session, tenant: Tenant, evaluation: Evaluation) -> dict[str, Any]:
    from jixiao.lifecycle.targets import targets_for

    project = evaluation.project
    target_set = targets_for(session, project)
    from jixiao.lifecycle import evaluations

    scores = sorted(evaluation.scores, key=lambda s: (s.position, s.id))
    execution_points = evaluations.form_of(session, tenant, evaluation).execution
    points_total = execution_points + sum((s.points for s in scores), Decimal(0))
    title = f"{project.name}绩效评价报告"
    return {
        "bureau": tenant.bureau_name,
        "header_right": f"{evaluation.kind.label}报告",
        "title": title,
        "document_date": local_datetime(evaluation.submitted_at),
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
        **helpers(),
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


#: How each kind of record is named in a sentence ("该项目", "该政策", "该部门整体支出").
SUBJECTS = {"project": "项目", "policy": "政策", "department_whole": "部门整体支出"}


def rectification_notice_context(session: Session, tenant: Tenant, notice: RectificationNotice) -> dict[str, Any]:
    project, evaluation = notice.project, notice.evaluation
    settings = common.tenant_view(session, tenant).settings
    requirements = settings.get("documents.rectification_requirements") or DEFAULT_REQUIREMENTS
    return {
        "bureau": tenant.bureau_name,
        "header_right": "整改通知书",
        "title": f"关于{project.name}绩效评价发现问题整改的通知",
        "document_date": local_datetime(notice.created_at),
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
        **helpers(),
    }


DEFAULT_REQUIREMENTS = [
    "高度重视，认真对照问题清单逐条制定整改措施，明确整改责任人和完成时限，做到问题不查清不放过、整改不到位不放过。",
    "在整改期限内通过预算绩效管理平台反馈整改报告，逐条说明整改措施和整改结果，并上传相关佐证材料。",
    "本局将对整改情况进行核验；逾期未整改或整改不到位的，列入整改台账重点跟踪，必要时予以通报、约谈。",
    "整改结果将作为以后年度预算安排和政策调整的重要依据。",
]


def statistics_context(session: Session, tenant: Tenant, year: int, as_of: date) -> dict[str, Any]:
    from jixiao.statistics import service as statistics
    from jixiao.statistics.views import decisions, lights, ordered_grades, summary

    stats = statistics.yearly_statistics(session, tenant, year, today=as_of)
    labels = statistics.decision_labels(session, tenant, year)
    return {
        "bureau": tenant.bureau_name,
        "header_right": f"{year}年度预算绩效管理统计报告",
        "title": f"{tenant.bureau_name}{year}年度预算绩效管理工作情况",
        "document_date": as_of,
        "tenant": tenant,
        "year": year,
        "as_of": as_of,
        "stats": stats,
        "summary": summary(stats),
        "stages": stage_paragraphs(stats, units.format_amount_scaled),
        "amount": units.format_amount_scaled,
        "grades": ordered_grades,
        "lights": lights,
        "decisions": lambda by_decision: decisions(by_decision, labels),
        **helpers(),
    }


def stage_paragraphs(stats: dict[str, Any], amount: Callable[[Any], str]) -> dict[str, str]:
    """One sentence per stage, written from the figures (the statistics page's summary groups stages)."""
    p, ex, f = stats["projects"], stats["exante"], stats["filing"]
    ev, rep, rect, res = stats["evaluations"], stats["reports"], stats["rectification"], stats["results"]
    by_kind = p["by_kind"]
    text: dict[str, str] = {}
    text["projects"] = (
        f"纳入预算绩效管理的项目（政策、部门整体）共 {p['count']} 个，申报金额 {amount(p['requested_amount'])}，"
        f"预算金额 {amount(p['budget_amount'])}；其中项目 {by_kind['project']['count']} 个、政策 "
        f"{by_kind['policy']['count']} 个、部门整体 {by_kind['department_whole']['count']} 个。")
    if ex["count"]:
        text["exante"] = (
            f"开展事前绩效评估 {ex['count']} 个，结论为支持的 {ex['by_conclusion']['support']} 个、调整后支持的 "
            f"{ex['by_conclusion']['adjust']} 个、不予支持的 {ex['by_conclusion']['reject']} 个；"
            f"评估核减 {ex['projects_cut']} 个项目资金 {amount(ex['amount_cut'])}。")
    else:
        text["exante"] = "本年度没有事前绩效评估记录。"
    text["filing"] = (
        f"{f['targets']['units']} 个单位编报绩效目标（目标表 {f['targets']['records']} 张，涉及资金 "
        f"{amount(f['targets']['amount'])}）；{f['monitoring']['units']} 个单位对 {f['monitoring']['projects']} 个项目"
        f"开展绩效运行“双监控”（监控表 {f['monitoring']['records']} 份，涉及资金 {amount(f['monitoring']['amount'])}）；"
        f"{f['self_evaluation']['units']} 个单位提交绩效自评报告 {f['self_evaluation']['records']} 份。")
    if ev["count"]:
        grades = "、".join(f"{g} {n} 个" for g, n in _ordered(ev["by_grade"]))
        text["evaluations"] = (
            f"开展绩效评价（不含单位自评）{ev['count']} 个，涉及项目 {ev['projects']} 个、资金 {amount(ev['amount'])}；"
            f"其中委托第三方机构 {ev['third_party']} 个，重点绩效评价 {ev['key']['count']} 个"
            + (f"；评价结果{grades}" if grades else "") + "。")
    else:
        text["evaluations"] = "本年度没有已提交的绩效评价（不含单位自评）。"
    text["reports"] = (f"公开评价报告 {rep['published']} 份，涉密不予公开 {rep['withheld']} 份，尚未公开 "
                       f"{rep['unpublished']} 份。")
    text["rectification"] = (
        f"下达整改通知书 {rect['issued']} 份，已核验销号 {rect['closed']} 份（其中按期整改 {rect['closed_on_time']} 份），"
        f"逾期未整改 {rect['overdue']} 份，尚未销号 {rect['open']} 份。")
    if res["count"]:
        changes = (f"据此调整预算 {res['budget_changes']} 项（调减 {amount(-res['reductions'])}、调增 "
                   f"{amount(res['increases'])}）" if res["budget_changes"] else "未调整预算金额")
        text["results"] = (f"评价结果应用于预算安排 {res['count']} 项，{changes}，收回闲置资金 "
                           f"{amount(res['idle_recovered'])}。")
    else:
        text["results"] = "本年度没有评价结果应用记录。"
    return text


def _ordered(by_grade: dict[str, int]) -> list[tuple[str, int]]:
    from jixiao.statistics.views import ordered_grades

    return ordered_grades(by_grade)


# ---- Rendering and storing ----------------------------------------------------------------------------------


def _store(session: Session, tenant: Tenant, *, kind: str, owner_type: str, owner_id: int, title: str,
           filename: str, data: bytes, job_id: int | None, actor_id: int | None) -> Document:
    document = save_document(session, tenant_id=tenant.id, kind=kind, owner_type=owner_type, owner_id=owner_id,
                             title=title, filename=filename, content_type=PDF, data=data, job_id=job_id,
                             actor_id=actor_id)
    session.commit()
    return document


def _safe(text: str) -> str:
    """A file name part without path separators or control characters."""
    return "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in text).strip() or "文件"


def generate_evaluation_report(session: Session, actor: User | None, tenant: Tenant, evaluation_id: int, *,
                               job_id: int | None = None) -> Document:
    evaluation = _load_evaluation(session, actor, tenant, evaluation_id)
    context = evaluation_report_context(session, tenant, evaluation)
    data = pdf.render_pdf("documents/pdf/evaluation_report.html", **context)
    project = evaluation.project
    return _store(session, tenant, kind="evaluation_report", owner_type="evaluations", owner_id=evaluation.id,
                  title=f"{project.name}绩效评价报告（{evaluation.kind.label}）",
                  filename=_safe(f"绩效评价报告-{project.code}-{evaluation.kind.label}") + ".pdf", data=data,
                  job_id=job_id, actor_id=getattr(actor, "id", None))


def generate_rectification_notice(session: Session, actor: User | None, tenant: Tenant, notice_id: int, *,
                                  job_id: int | None = None) -> Document:
    notice = _load_notice(session, actor, tenant, notice_id)
    context = rectification_notice_context(session, tenant, notice)
    data = pdf.render_pdf("documents/pdf/rectification_notice.html", **context)
    return _store(session, tenant, kind="rectification_notice", owner_type="rectification_notices", owner_id=notice.id,
                  title=f"整改通知书：{notice.project.name}", filename=_safe(f"整改通知书-{notice.project.code}") + ".pdf",
                  data=data, job_id=job_id, actor_id=getattr(actor, "id", None))


def generate_statistics_report(session: Session, actor: User | None, tenant: Tenant, year: int, as_of: date, *,
                               job_id: int | None = None) -> Document:
    context = statistics_context(session, tenant, year, as_of)
    data = pdf.render_pdf("documents/pdf/statistics_report.html", **context)
    return _store(session, tenant, kind="statistics_report", owner_type="tenants", owner_id=tenant.id,
                  title=f"{year}年度预算绩效管理统计报告（截至{cn_date(as_of)}）",
                  filename=_safe(f"{year}年度预算绩效管理统计报告-{tenant.code}") + ".pdf", data=data, job_id=job_id,
                  actor_id=getattr(actor, "id", None))


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


# ---- The ranking notice (考核结果通报), from plain data -------------------------------------------------------


def ranking_rows(rows: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts: each a mapping with rank, name, score, grade, notes, or a sequence in that order."""
    keys = ("rank", "name", "score", "grade", "notes")
    result = []
    for row in rows:
        item = dict(row) if isinstance(row, dict) else dict(zip(keys, row, strict=False))
        row_dict = {k: "" if item.get(k) is None else item.get(k) for k in keys}
        try:
            row_dict["score_text"] = score(row_dict["score"]) if row_dict["score"] != "" else "—"
        except ArithmeticError:  # a score given as text ("免考核"): shown as it is
            row_dict["score_text"] = str(row_dict["score"])
        result.append(row_dict)
    return result


def render_ranking_notice(title: str, year: int, issuer: str, rows: list[Any], rewarded: list[str],
                          summoned: list[str], *, issued_on: date | None = None, number: str = "",
                          intro: str = "", addressees: str = "") -> bytes:
    """The assessment's ranking notice (通报) as PDF bytes, from plain data (no database needed).

    ``rows``: rank, name, score, grade, notes (mappings or sequences); ``rewarded``: names commended (and
    rewarded with working funds); ``summoned``: names to be named and summoned (约谈). ``issued_on`` is the
    notice's date (also the PDF's date); ``number`` its 文号; ``intro`` replaces the opening paragraph;
    ``addressees`` the line it is sent to (e.g. "各县市区财政局："). Deterministic: same data, same bytes.
    """
    return pdf.render_pdf(
        "documents/pdf/ranking_notice.html",
        bureau=issuer,
        header_right="考核结果通报",
        title=title,
        document_date=issued_on,
        issued_on=issued_on,
        year=int(year),
        issuer=issuer,
        number=number,
        intro=intro,
        addressees=addressees,
        rows=ranking_rows(rows),
        rewarded=[str(n) for n in rewarded or []],
        summoned=[str(n) for n in summoned or []],
        **helpers(),
    )


def store_ranking_notice(session: Session, tenant: Tenant, *, owner_type: str, owner_id: int, data: bytes,
                         title: str, filename: str | None = None, job_id: int | None = None,
                         actor_id: int | None = None) -> Document:
    """Store a ranking notice rendered by :func:`render_ranking_notice` on its record (e.g. an assessment)."""
    return _store(session, tenant, kind="ranking_notice", owner_type=owner_type, owner_id=owner_id, title=title,
                  filename=_safe(filename or title) + ("" if (filename or "").endswith(".pdf") else ".pdf"),
                  data=data, job_id=job_id, actor_id=actor_id)
