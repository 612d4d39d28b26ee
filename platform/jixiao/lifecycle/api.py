"""Lifecycle API: projects and each stage under /api/v1/tenants/<code>/, published items under /api/v1/public/."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from jixiao import pagination
from jixiao.auth import current_tenant, require_login, takes_commissioned_writes
from jixiao.db import session
from jixiao.documents import uploads
from jixiao.errors import NotFound, ValidationFailed
from jixiao.idempotency import idempotent
from jixiao.inputs import multipart_body
from jixiao.jobs.schemas import JobSchema
from jixiao.lifecycle import (
    agencies,
    evaluations,
    experts,
    monitoring,
    plans,
    projects,
    public,
    rectification,
    reports,
    results,
    targets,
    todo,
)
from jixiao.lifecycle.common import get_project, hooks
from jixiao.lifecycle.models import Project
from jixiao.lifecycle.schemas import (
    AgencyBarSchema,
    AgencyQualitySchema,
    AgencySchema,
    AgencyUpdateSchema,
    BudgetSchema,
    EvaluationCreateSchema,
    EvaluationListQuerySchema,
    EvaluationPageSchema,
    EvaluationSchema,
    EvaluationSubmitSchema,
    EvidenceSchema,
    ExAnteInputSchema,
    ExAnteSchema,
    ExpertDrawRequestSchema,
    ExpertDrawSchema,
    ExpertInputSchema,
    ExpertSchema,
    ExpertUpdateSchema,
    HistorySchema,
    LedgerListQuerySchema,
    MonitoringOverviewSchema,
    MonitoringSchema,
    NoticeAnswerSchema,
    NoticeIssueSchema,
    NoticePageSchema,
    NoticeSchema,
    NoticeVerifySchema,
    PaymentSchema,
    PlanSchema,
    ProjectCreateSchema,
    ProjectPageSchema,
    ProjectQuerySchema,
    ProjectSchema,
    ProjectUpdateSchema,
    PublicEvaluationSchema,
    PublicTargetsSchema,
    PublishSchema,
    QualitySchema,
    ResultChainSchema,
    ResultSchema,
    ReviewSchema,
    SampleRequestSchema,
    SampleSchema,
    TargetsSchema,
    TodoPageSchema,
    TodoSchema,
    UnpublishSchema,
    WarningResponseSchema,
    YearQuerySchema,
)
from jixiao.units import local_today

blp = Blueprint("lifecycle_api", __name__, description="Projects and their lifecycle")
PREFIX = "/tenants/<tenant_code>"


def _project(project_id: int) -> Project:
    return get_project(session(), current_user, current_tenant(), project_id)


# ---- Projects -----------------------------------------------------------------------------------------------


@blp.route(f"{PREFIX}/projects")
class Projects(MethodView):
    @require_login
    @blp.arguments(ProjectQuerySchema, location="query")
    @blp.response(200, ProjectPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Projects the user may see, filtered (year, department, stage, kind, fund type, grade, light, spending
        modality — any of those repeated in ``modality`` —, special fund source), paginated."""
        page, per_page = args.pop("page"), args.pop("per_page")
        filters = projects.ProjectFilters(department_code=args.pop("department", None), **args)
        rows, total = projects.list_projects(session(), current_user, current_tenant(), filters, page, per_page)
        # The rows as they are: the response schema dumps each once (a schema per row cost a third of the request).
        return {"items": rows, "total": total, "page": page, "per_page": per_page}

    @require_login
    @idempotent
    @blp.arguments(ProjectCreateSchema)
    @blp.response(201, ProjectSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Enter a project, policy or department-whole budget (unit staff for their department, or finance)."""
        return projects.create_project(session(), current_user, current_tenant(), data)


@blp.route(f"{PREFIX}/projects/<int:project_id>")
class ProjectItem(MethodView):
    @require_login
    @blp.response(200, ProjectSchema)
    def get(self, project_id: int) -> Any:
        """One project."""
        return _project(project_id)

    @require_login
    @blp.arguments(ProjectUpdateSchema)
    @blp.response(200, ProjectSchema)
    def patch(self, data: dict[str, Any], project_id: int) -> Any:
        """Change a project; ``version`` must be the one read (409 when stale)."""
        return projects.update_project(session(), current_user, current_tenant(), _project(project_id), data)


@blp.route(f"{PREFIX}/projects/<int:project_id>/history")
class ProjectHistory(MethodView):
    @require_login
    @blp.response(200, HistorySchema(many=True))
    def get(self, project_id: int) -> Any:
        """Who changed what in the project and its records, when, before and after (newest first)."""
        return projects.project_history(session(), _project(project_id))


def _exante_body(project: Project, assessment: Any) -> dict[str, Any]:
    db, tenant = session(), current_tenant()
    fields = ("id", "scores", "comments", "total_score", "conclusion", "amount_cut", "reviewer_ids", "assessed_at",
              "version")
    body = {name: getattr(assessment, name) for name in fields} if assessment else {}
    body.update(required=projects.exante_required(db, tenant, project), dimensions=hooks(db, tenant).exante_dimensions())
    return body


@blp.route(f"{PREFIX}/projects/<int:project_id>/exante")
class ExAnte(MethodView):
    @require_login
    @blp.response(200, ExAnteSchema)
    def get(self, project_id: int) -> dict[str, Any]:
        """The ex-ante assessment, whether one is required, and the dimensions to score."""
        project, db = _project(project_id), session()
        return _exante_body(project, projects.exante_for(db, project))

    @require_login
    @blp.arguments(ExAnteInputSchema)
    @blp.response(200, ExAnteSchema)
    @takes_commissioned_writes(experts.commissioned_review)
    def put(self, data: dict[str, Any], project_id: int) -> dict[str, Any]:
        """Record the assessment: a score per dimension, comments, the conclusion, the amount cut. The bureau's
        finance or experts; once reviewers were drawn, only the drawn experts — an expert kept by an upper level
        records it here with their own login — and the bureau's finance (else 403)."""
        project = _project(project_id)
        return _exante_body(project, projects.record_exante(session(), current_user, current_tenant(), project, data))


@blp.route(f"{PREFIX}/projects/<int:project_id>/targets")
class Targets(MethodView):
    @require_login
    @blp.response(200, TargetsSchema)
    def get(self, project_id: int) -> Any:
        """The performance targets and their indicator table."""
        target_set = targets.targets_for(session(), _project(project_id))
        if target_set is None:
            raise NotFound("该项目尚未填报绩效目标")
        return target_set

    @require_login
    @blp.arguments(TargetsSchema)
    @blp.response(200, TargetsSchema)
    def put(self, data: dict[str, Any], project_id: int) -> Any:
        """Replace the overall target and the whole indicator table (while a draft or returned)."""
        return targets.replace_targets(session(), current_user, current_tenant(), _project(project_id), data)


@blp.route(f"{PREFIX}/projects/<int:project_id>/targets/submit")
class TargetsSubmit(MethodView):
    @require_login
    @blp.response(200, TargetsSchema)
    def post(self, project_id: int) -> Any:
        """Submit the targets for review; the tenant's rules validate them (400 naming each problem)."""
        return targets.submit_targets(session(), current_user, current_tenant(), _project(project_id))


@blp.route(f"{PREFIX}/projects/<int:project_id>/targets/review")
class TargetsReview(MethodView):
    @require_login
    @blp.arguments(ReviewSchema)
    @blp.response(200, TargetsSchema)
    def post(self, data: dict[str, Any], project_id: int) -> Any:
        """Finance approves the targets or returns them with reasons."""
        return targets.review_targets(session(), current_user, current_tenant(), _project(project_id),
                                      approve=data["decision"] == "approve", comment=data["comment"],
                                      version=data.get("version"))


@blp.route(f"{PREFIX}/projects/<int:project_id>/budget")
class Budget(MethodView):
    @require_login
    @blp.arguments(BudgetSchema)
    @blp.response(200, ProjectSchema)
    def post(self, data: dict[str, Any], project_id: int) -> Any:
        """Set the approved amount: no approved target, no budget (409 says what is missing)."""
        return projects.approve_budget(session(), current_user, current_tenant(), _project(project_id),
                                       data["approved_amount"], data["version"],
                                       confirm_over_request=data["confirm_over_request"])


@blp.route(f"{PREFIX}/projects/<int:project_id>/payment")
class Payment(MethodView):
    @require_login
    @blp.arguments(PaymentSchema)
    @blp.response(200, ProjectSchema)
    def post(self, data: dict[str, Any], project_id: int) -> Any:
        """Suspend payment for a project in serious deviation (with the reason), or resume it."""
        return projects.set_payment(session(), current_user, current_tenant(), _project(project_id),
                                    data["suspended"], data["reason"], data["version"])


@blp.route(f"{PREFIX}/projects/<int:project_id>/monitoring")
class Monitoring(MethodView):
    @require_login
    @blp.response(200, MonitoringOverviewSchema)
    def get(self, project_id: int) -> dict[str, Any]:
        """The months the project owes reports for and the reports filed, with rates and lights."""
        project, db = _project(project_id), session()
        return {"periods_owed": monitoring.periods_owed(db, current_tenant(), project),
                "reports": monitoring.reports_for(db, project)}

    @require_login
    @idempotent
    @blp.arguments(MonitoringSchema)
    @blp.response(201, MonitoringSchema)
    def post(self, data: dict[str, Any], project_id: int) -> Any:
        """File (or correct) one period's report; off-track lights need a cause and a measure."""
        return monitoring.submit_report(session(), current_user, current_tenant(), _project(project_id), data)


@blp.route(f"{PREFIX}/projects/<int:project_id>/monitoring/<int(min=1, max=12):period>/response")
class MonitoringResponse(MethodView):
    @require_login
    @blp.arguments(WarningResponseSchema)
    @blp.response(200, MonitoringSchema)
    def post(self, data: dict[str, Any], project_id: int, period: int) -> Any:
        """Answer a warning that asks for a decision (继续执行 / 调剂 / 取消) before its deadline."""
        return monitoring.respond(session(), current_user, current_tenant(), _project(project_id), period,
                                  data["choice"], data["note"])


@blp.route(f"{PREFIX}/projects/<int:project_id>/evaluations")
class ProjectEvaluations(MethodView):
    @require_login
    @blp.response(200, EvaluationSchema(many=True))
    def get(self, project_id: int) -> Any:
        """The project's evaluations that the user may see."""
        project = _project(project_id)
        return evaluations.list_evaluations(session(), current_user, current_tenant(), project_id=project.id)

    @require_login
    @idempotent
    @blp.arguments(EvaluationCreateSchema)
    @blp.response(201, EvaluationSchema)
    def post(self, data: dict[str, Any], project_id: int) -> Any:
        """Open the unit's self-evaluation (kind ``self``), or commission one (finance: department, finance,
        third_party with ``agency_id``)."""
        project, db, tenant = _project(project_id), session(), current_tenant()
        if data["kind"] == "self":
            return evaluations.start_self_evaluation(db, current_user, tenant, project)
        return evaluations.assign(db, current_user, tenant, project, data["kind"], data.get("agency_id"))


@blp.route(f"{PREFIX}/evaluations")
class TenantEvaluations(MethodView):
    @require_login
    @blp.arguments(EvaluationListQuerySchema, location="query")
    @blp.doc(**pagination.list_or_page_doc(EvaluationSchema, EvaluationPageSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """Evaluations in the tenant the user may see (an evaluator: only those assigned to their agency); with
        ``page`` or ``per_page``, one page of them and their number."""
        wanted, db, tenant = pagination.requested(args), session(), current_tenant()
        if wanted is None:
            found: Any = evaluations.list_evaluations(db, current_user, tenant, **args)
        else:
            found = evaluations.evaluation_page(db, current_user, tenant, page=wanted[0], per_page=wanted[1], **args)
        return pagination.answer(EvaluationSchema, EvaluationPageSchema, found)


@blp.route(f"{PREFIX}/evaluations/<int:evaluation_id>")
class EvaluationItem(MethodView):
    @require_login
    @blp.response(200, EvaluationSchema)
    def get(self, evaluation_id: int) -> Any:
        """One evaluation with its indicator scores."""
        return evaluations.get_evaluation(session(), current_user, current_tenant(), evaluation_id)


@blp.route(f"{PREFIX}/evaluations/<int:evaluation_id>/submit")
class EvaluationSubmit(MethodView):
    @require_login
    @blp.arguments(EvaluationSubmitSchema)
    @blp.response(200, EvaluationSchema)
    def post(self, data: dict[str, Any], evaluation_id: int) -> Any:
        """Submit the actual values (and qualitative bands); scores, total and grade are computed."""
        db, tenant = session(), current_tenant()
        evaluation = evaluations.get_evaluation(db, current_user, tenant, evaluation_id)
        return evaluations.submit(db, current_user, tenant, evaluation, data)


@blp.route(f"{PREFIX}/evaluations/<int:evaluation_id>/quality")
class EvaluationQuality(MethodView):
    @require_login
    @blp.arguments(QualitySchema)
    @blp.response(200, EvaluationSchema)
    def post(self, data: dict[str, Any], evaluation_id: int) -> Any:
        """Finance scores the quality of a third-party agency's evaluation work."""
        db, tenant = session(), current_tenant()
        evaluation = evaluations.get_evaluation(db, current_user, tenant, evaluation_id)
        return evaluations.score_quality(db, current_user, tenant, evaluation, data["score"], data["comment"],
                                         version=data["version"])


@blp.route(f"{PREFIX}/evaluations/<int:evaluation_id>/report")
class EvaluationReport(MethodView):
    @require_login
    @blp.response(202, JobSchema)
    def post(self, evaluation_id: int) -> Any:
        """Generate the evaluation report (绩效评价报告, PDF) of a submitted evaluation: a job on the "documents"
        queue (embedded mode: done before the answer). Its result is ``{"document_id", "url"}``."""
        return reports.request_evaluation_report(session(), current_user, current_tenant(), evaluation_id)


@blp.route(f"{PREFIX}/evaluations/sample")
class Sample(MethodView):
    @require_login
    @blp.arguments(YearQuerySchema, location="query")
    @blp.response(200, SampleSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """The re-evaluation samples drawn, with their seeds and populations (finance only, else 403)."""
        return evaluations.samples_for(session(), current_user, current_tenant(), args.get("year"))

    @require_login
    @idempotent
    @blp.arguments(SampleRequestSchema)
    @blp.response(201, SampleSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Draw the year's re-evaluation sample from self-evaluated projects (a given seed reproduces a draw)."""
        return evaluations.draw_sample(session(), current_user, current_tenant(), data["year"], data.get("seed"),
                                       data["kind"], data.get("agency_id"))


@blp.route(f"{PREFIX}/agencies")
class Agencies(MethodView):
    @require_login
    @blp.response(200, AgencySchema(many=True))
    def get(self) -> Any:
        """Third-party agencies registered with the tenant."""
        return evaluations.list_agencies(session(), current_tenant())

    @require_login
    @idempotent
    @blp.arguments(AgencySchema)
    @blp.response(201, AgencySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register an agency (finance), with its type (``agency_type``, default ``other``)."""
        return evaluations.create_agency(session(), current_user, current_tenant(), data["name"], data["contact"],
                                         data["agency_type"])


@blp.route(f"{PREFIX}/agencies/quality")
class AgencyQuality(MethodView):
    @require_login
    @blp.arguments(YearQuerySchema, location="query")
    @blp.response(200, AgencyQualitySchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """The agency library for a year (default: this year): each agency's quality result (count, sum and mean
        of the quality scores of its evaluations of the year's projects), the verdict the tenant's thresholds
        give it, and whether it may be commissioned a project of that year (``blocked_reason`` when not)."""
        return agencies.library(session(), current_tenant(), args.get("year") or local_today().year)


@blp.route(f"{PREFIX}/agencies/<int:agency_id>")
class AgencyItem(MethodView):
    @require_login
    @blp.response(200, AgencySchema)
    def get(self, agency_id: int) -> Any:
        """One agency of the tenant (404 for another tenant's)."""
        return agencies.get_agency(session(), current_tenant(), agency_id)

    @require_login
    @blp.arguments(AgencyUpdateSchema)
    @blp.response(200, AgencySchema)
    def patch(self, data: dict[str, Any], agency_id: int) -> Any:
        """Correct an agency's name, contact or type (finance; the version read, 409 when stale)."""
        db, tenant = session(), current_tenant()
        agency = agencies.get_agency(db, tenant, agency_id)
        return agencies.update_agency(db, current_user, tenant, agency, data, data["version"])


@blp.route(f"{PREFIX}/agencies/<int:agency_id>/bar")
class AgencyBar(MethodView):
    @require_login
    @blp.arguments(AgencyBarSchema)
    @blp.response(200, AgencySchema)
    def post(self, data: dict[str, Any], agency_id: int) -> Any:
        """Suspend the agency from new commissions (暂停委托, finance), with the reason; audited."""
        db, tenant = session(), current_tenant()
        agency = agencies.get_agency(db, tenant, agency_id)
        return agencies.bar_agency(db, current_user, tenant, agency, data["reason"], data["version"])


@blp.route(f"{PREFIX}/agencies/<int:agency_id>/unbar")
class AgencyUnbar(MethodView):
    @require_login
    @blp.arguments(AgencyBarSchema)
    @blp.response(200, AgencySchema)
    def post(self, data: dict[str, Any], agency_id: int) -> Any:
        """Lift finance's suspension of the agency, with the reason; audited (a bar from the year's quality
        result stays)."""
        db, tenant = session(), current_tenant()
        agency = agencies.get_agency(db, tenant, agency_id)
        return agencies.unbar_agency(db, current_user, tenant, agency, data["reason"], data["version"])


@blp.route(f"{PREFIX}/evaluation-plans")
class EvaluationPlans(MethodView):
    @require_login
    @blp.response(200, PlanSchema(many=True))
    def get(self) -> Any:
        """The tenant's yearly plans of key evaluations, newest first (readers of the bureau's figures)."""
        return plans.list_plans(session(), current_user, current_tenant())


@blp.route(f"{PREFIX}/evaluation-plans/<int:year>")
class EvaluationPlanItem(MethodView):
    @require_login
    @blp.response(200, PlanSchema)
    def get(self, year: int) -> Any:
        """The year's plan (404 when none was made). What was done against it: ``statistics/evaluation-plan``."""
        return plans.get_plan(session(), current_user, current_tenant(), year)

    @require_login
    @blp.arguments(PlanSchema)
    @blp.response(200, PlanSchema)
    def put(self, data: dict[str, Any], year: int) -> Any:
        """Write the year's plan whole (finance): its lines (project kind, performer, planned count) replace the
        old ones; the version read is required when the plan exists (409 when stale)."""
        return plans.save_plan(session(), current_user, current_tenant(), year, data)


# ---- Rectification ------------------------------------------------------------------------------------------


NOTICE_FIELDS = ("id", "evaluation_id", "project_id", "problems", "deadline", "status", "measures", "answered_at",
                 "verified_at", "return_reason", "version")


def _notice_body(notice: Any) -> dict[str, Any]:
    body = {name: getattr(notice, name) for name in NOTICE_FIELDS}
    body.update(project_name=notice.project.name, overdue=rectification.is_overdue(notice))
    return body


@blp.route(f"{PREFIX}/projects/<int:project_id>/rectifications")
class ProjectRectifications(MethodView):
    @require_login
    @blp.response(200, NoticeSchema(many=True))
    def get(self, project_id: int) -> Any:
        """The project's rectification notices."""
        project = _project(project_id)
        return [_notice_body(n) for n in rectification.ledger(session(), current_user, current_tenant(),
                                                              project_id=project.id)]

    @require_login
    @idempotent
    @blp.arguments(NoticeIssueSchema)
    @blp.response(201, NoticeSchema)
    def post(self, data: dict[str, Any], project_id: int) -> Any:
        """Issue the rectification notice for one of the project's evaluations (finance)."""
        _project(project_id)
        notice = rectification.issue(session(), current_user, current_tenant(), data["evaluation_id"],
                                     data.get("problems"), data.get("deadline"))
        return _notice_body(notice)


@blp.route(f"{PREFIX}/rectifications")
class Ledger(MethodView):
    @require_login
    @blp.arguments(LedgerListQuerySchema, location="query")
    @blp.doc(**pagination.list_or_page_doc(NoticeSchema, NoticePageSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """The rectification ledger (整改台账), with overdue notices marked; ``overdue=true`` lists only those;
        with ``page`` or ``per_page``, one page of it and its number."""
        wanted, db, tenant = pagination.requested(args), session(), current_tenant()
        if wanted is None:
            notices = rectification.ledger(db, current_user, tenant, **args)
            return pagination.answer(NoticeSchema, NoticePageSchema, [_notice_body(n) for n in notices])
        found = rectification.ledger_page(db, current_user, tenant, page=wanted[0], per_page=wanted[1], **args)
        return pagination.answer(NoticeSchema, NoticePageSchema, found.with_items(map(_notice_body, found.items)))


@blp.route(f"{PREFIX}/rectifications/<int:notice_id>/answer")
class NoticeAnswer(MethodView):
    @require_login
    @blp.arguments(NoticeAnswerSchema)
    @blp.response(200, NoticeSchema)
    def post(self, data: dict[str, Any], notice_id: int) -> Any:
        """The unit reports its measures (evidence files go to ``files``)."""
        db, tenant = session(), current_tenant()
        notice = rectification.get_notice(db, current_user, tenant, notice_id)
        return _notice_body(rectification.answer(db, current_user, tenant, notice, data["measures"], data.get("version")))


@blp.route(f"{PREFIX}/rectifications/<int:notice_id>/verify")
class NoticeVerify(MethodView):
    @require_login
    @blp.arguments(NoticeVerifySchema)
    @blp.response(200, NoticeSchema)
    def post(self, data: dict[str, Any], notice_id: int) -> Any:
        """Finance accepts the rectification or returns it with the reason."""
        db, tenant = session(), current_tenant()
        notice = rectification.get_notice(db, current_user, tenant, notice_id)
        return _notice_body(rectification.verify(db, current_user, tenant, notice, accept=data["decision"] == "accept",
                                                 reason=data["reason"], version=data.get("version")))


@blp.route(f"{PREFIX}/rectifications/<int:notice_id>/notice-pdf")
class RectificationNoticePdf(MethodView):
    @require_login
    @blp.response(202, JobSchema)
    def post(self, notice_id: int) -> Any:
        """Generate the rectification notice (整改通知书, PDF) as an official notice to the unit: a job."""
        return reports.request_rectification_notice(session(), current_user, current_tenant(), notice_id)


@blp.route(f"{PREFIX}/rectifications/<int:notice_id>/files")
class NoticeFiles(MethodView):
    @require_login
    @blp.response(200, EvidenceSchema(many=True))
    def get(self, notice_id: int) -> Any:
        """The evidence files uploaded for a notice."""
        db, tenant = session(), current_tenant()
        return rectification.evidence_of(db, rectification.get_notice(db, current_user, tenant, notice_id))

    @require_login
    @idempotent
    @blp.doc(requestBody=multipart_body("the evidence file (PDF, image, Office document)"))
    @blp.response(201, EvidenceSchema)
    def post(self, notice_id: int) -> Any:
        """Upload one evidence file (multipart field ``file``)."""
        db, tenant = session(), current_tenant()
        notice = rectification.get_notice(db, current_user, tenant, notice_id)
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed(fields={"file": "请选择要上传的文件（表单字段 file）"})
        return rectification.store_evidence(db, current_user, tenant, notice, upload.filename or "", upload.stream,
                                            upload.mimetype or "")


@blp.route(f"{PREFIX}/rectifications/<int:notice_id>/files/<int:file_id>")
class NoticeFile(MethodView):
    @require_login
    @blp.response(200)
    def get(self, notice_id: int, file_id: int) -> Any:
        """Download an evidence file."""
        db, tenant = session(), current_tenant()
        notice = rectification.get_notice(db, current_user, tenant, notice_id)
        evidence = rectification.get_evidence(db, current_user, tenant, notice, file_id)
        path = rectification.evidence_path(tenant, evidence)
        if not path.is_file():
            raise NotFound("文件已不在文件库中")
        return uploads.attachment(path, evidence.filename, evidence.content_type)

    @require_login
    @blp.response(204)
    def delete(self, notice_id: int, file_id: int) -> None:
        """Delete a wrongly uploaded evidence file (its uploader, or the tenant's finance staff; else 403) while
        the notice is not verified (after 核验销号: 409). Audited with the file's name, size and SHA-256."""
        db, tenant = session(), current_tenant()
        notice = rectification.get_notice(db, current_user, tenant, notice_id)
        evidence = rectification.get_evidence(db, current_user, tenant, notice, file_id)
        rectification.remove_evidence(db, current_user, tenant, notice, evidence)


# ---- Results and publication --------------------------------------------------------------------------------


@blp.route(f"{PREFIX}/projects/<int:project_id>/results")
class Results(MethodView):
    @require_login
    @blp.response(200, ResultSchema(many=True))
    def get(self, project_id: int) -> Any:
        """How the project's evaluation results were applied to next year's budget: the current decision on each
        evaluation, with every decision made on it (``history``)."""
        return results.applied(session(), current_tenant(), _project(project_id))

    @require_login
    @idempotent
    @blp.arguments(ResultSchema)
    @blp.response(201, ResultSchema)
    def post(self, data: dict[str, Any], project_id: int) -> Any:
        """Finance decides on an evaluation's result (the grade's suggested action is the default)."""
        db, tenant = session(), current_tenant()
        project = _project(project_id)
        evaluation = evaluations.get_evaluation(db, current_user, tenant, data["evaluation_id"])
        if evaluation.project_id != project.id:
            raise ValidationFailed(fields={"evaluation_id": "该项目没有这份评价"})
        results.decide(db, current_user, tenant, evaluation, data)
        return results.applied(db, tenant, project, evaluation.id)[0]


@blp.route(f"{PREFIX}/projects/<int:project_id>/result-chain")
class ResultChain(MethodView):
    @require_login
    @blp.response(200, ResultChainSchema)
    def get(self, project_id: int) -> Any:
        """grade → suggestion → decision → next year's amount, both ways: the projects this one continues and that
        continue it, the decisions on its evaluations and the budgets they reach, and the earlier decisions that
        change its own budget (what finance reads at budget review beside the request)."""
        return results.chain(session(), current_tenant(), _project(project_id))


@blp.route(f"{PREFIX}/projects/<int:project_id>/publish")
class Publish(MethodView):
    @require_login
    @blp.arguments(PublishSchema)
    @blp.response(200, ProjectSchema)
    def post(self, data: dict[str, Any], project_id: int) -> Any:
        """Publish the approved targets and/or an evaluation report (never a classified project)."""
        return projects.publish(session(), current_user, current_tenant(), _project(project_id),
                                targets=data["targets"], evaluation_id=data.get("evaluation_id"))


@blp.route(f"{PREFIX}/evaluations/<int:evaluation_id>/unpublish")
class EvaluationUnpublish(MethodView):
    @require_login
    @blp.arguments(UnpublishSchema)
    @blp.response(200, EvaluationSchema)
    def post(self, data: dict[str, Any], evaluation_id: int) -> Any:
        """Withdraw a published evaluation result from the public page, with the reason (finance only, else
        403; not published: 409). The evaluation keeps who withdrew it, when and why; it may be published again."""
        db, tenant = session(), current_tenant()
        evaluation = evaluations.get_evaluation(db, current_user, tenant, evaluation_id)
        return projects.unpublish_evaluation(db, current_user, tenant, evaluation, data["reason"],
                                             version=data["version"])


@blp.route(f"{PREFIX}/todo")
class Todo(MethodView):
    @require_login
    @blp.arguments(pagination.OptionalPageQuerySchema, location="query")
    @blp.doc(**pagination.list_or_page_doc(TodoSchema, TodoPageSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """The user's to-do list (待办), each item with the page that clears it; with ``page`` or ``per_page``,
        one page of it and its number (each source lists at most 500)."""
        tenant, wanted = current_tenant(), pagination.requested(args)

        def body(item: Any) -> dict[str, Any]:
            return {**item.__dict__, "url": url_for("lifecycle.project", tenant_code=item.tenant_code or tenant.code,
                                                    project_id=item.project_id, _anchor=item.anchor)}

        if wanted is None:
            return pagination.answer(TodoSchema, TodoPageSchema,
                                     [body(item) for item in todo.todo(session(), current_user, tenant)])
        found = todo.todo_page(session(), current_user, tenant, page=wanted[0], per_page=wanted[1])
        return pagination.answer(TodoSchema, TodoPageSchema, found.with_items(map(body, found.items)))


# ---- Public (no login) --------------------------------------------------------------------------------------


@blp.route("/public/<public_code>/targets")
class PublicTargets(MethodView):
    @blp.arguments(YearQuerySchema, location="query")
    @blp.response(200, PublicTargetsSchema(many=True))
    def get(self, args: dict[str, Any], public_code: str) -> Any:
        """Published performance targets of a tenant (公开), without login."""
        db = session()
        return public.published_targets(db, public.public_tenant(db, public_code), args.get("year"))


@blp.route("/public/<public_code>/evaluations")
class PublicEvaluations(MethodView):
    @blp.arguments(YearQuerySchema, location="query")
    @blp.response(200, PublicEvaluationSchema(many=True))
    def get(self, args: dict[str, Any], public_code: str) -> Any:
        """Published evaluation results of a tenant: grade, score, summary and findings; nothing internal."""
        db = session()
        return public.published_evaluations(db, public.public_tenant(db, public_code), args.get("year"))




# ---- The expert pool (专家库) ----------------------------------------------------------------------------------


def _expert_body(expert: Any, kept_by: dict[int, Any], tenant: Any) -> dict[str, Any]:
    keeper = kept_by[expert.tenant_id]
    return {**ExpertSchema().dump(expert), "kept_by": keeper.code, "kept_by_name": keeper.name,
            "own": expert.tenant_id == tenant.id}


@blp.route(f"{PREFIX}/experts")
class Experts(MethodView):
    @require_login
    @blp.response(200, ExpertSchema(many=True))
    def get(self) -> Any:
        """The experts the tenant may draw reviewers from: its own pool and its ancestors' (``own`` false, read-only
        here), the nearest pool first (finance, administrators, auditors; else 403)."""
        db, tenant = session(), current_tenant()
        kept_by = experts.keepers(db, tenant)
        return [_expert_body(e, kept_by, tenant) for e in experts.list_experts(db, current_user, tenant)]

    @require_login
    @idempotent
    @blp.arguments(ExpertInputSchema)
    @blp.response(201, ExpertSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register an expert in the tenant's pool: fields of expertise, declared conflicts, optional login
        (finance or administrators of the tenant)."""
        db, tenant = session(), current_tenant()
        expert = experts.create_expert(db, current_user, tenant, data)
        return _expert_body(expert, experts.keepers(db, tenant), tenant)


@blp.route(f"{PREFIX}/experts/<int:expert_id>")
class ExpertItem(MethodView):
    @require_login
    @blp.response(200, ExpertSchema)
    def get(self, expert_id: int) -> Any:
        """One expert of the tenant's own pool (an ancestor's is listed, not addressed, here: 404)."""
        db, tenant = session(), current_tenant()
        expert = experts.get_own_expert(db, current_user, tenant, expert_id)
        return _expert_body(expert, experts.keepers(db, tenant), tenant)

    @require_login
    @blp.arguments(ExpertUpdateSchema)
    @blp.response(200, ExpertSchema)
    def patch(self, data: dict[str, Any], expert_id: int) -> Any:
        """Correct an expert of the own pool, or take them out of it (``active``: false), with the version read."""
        db, tenant = session(), current_tenant()
        expert = experts.update_expert(db, current_user, tenant,
                                       experts.get_own_expert(db, current_user, tenant, expert_id), data)
        return _expert_body(expert, experts.keepers(db, tenant), tenant)


@blp.route(f"{PREFIX}/projects/<int:project_id>/expert-draws")
class ExpertDraws(MethodView):
    @require_login
    @blp.response(200, ExpertDrawSchema(many=True))
    def get(self, project_id: int) -> Any:
        """The project's reviewer draws, the one in force first: seed, pool, who was excluded and why, who was
        drawn (finance, administrators, auditors; else 403)."""
        return experts.draws_for(session(), current_user, current_tenant(), _project(project_id))

    @require_login
    @idempotent
    @blp.arguments(ExpertDrawRequestSchema)
    @blp.response(201, ExpertDrawSchema)
    def post(self, data: dict[str, Any], project_id: int) -> Any:
        """Draw the project's ex-ante reviewers by field from the usable pools, conflicts excluded; the seed is
        recorded (a given seed over the same pool draws the same experts). Finance of the project's tenant."""
        return experts.draw_reviewers(session(), current_user, current_tenant(), _project(project_id), data)
