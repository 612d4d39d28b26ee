"""Assessment API: the assessor's campaigns under /assessments, the subject's side under /assessment-results."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import fields, validate

from jixiao import policy
from jixiao.assessment import service
from jixiao.assessment.scheme import normalised as normalised_scheme
from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.dumping import Schema
from jixiao.errors import ValidationFailed
from jixiao.idempotency import idempotent
from jixiao.inputs import (
    COMMENT_MAX_LENGTH,
    LONG_TEXT_MAX_LENGTH,
    MAX_LIST_ITEMS,
    Code,
    Fixed,
    Id,
    Name,
    Score,
    Text,
    Year,
    multipart_body,
)
from jixiao.jobs.schemas import JobSchema
from jixiao.lifecycle.schemas import Version

blp = Blueprint("assessment_api", __name__, description="Inter-level assessment: campaigns, scores, rankings")
PREFIX = "/tenants/<tenant_code>"


@blp.before_request
def _assessment_readers_only() -> None:
    """The pages' rule (``policy.may_read_assessments``): units, agencies and experts get 403 on every endpoint."""
    if current_user.is_authenticated:
        policy.require_assessment_reader(current_user)


class SchemeSchema(Schema):
    code = fields.String()
    name = fields.String()
    rule_set = fields.String()
    years = fields.List(fields.Integer(allow_none=True))
    subjects = fields.String()
    scales = fields.List(fields.Dict(), metadata={
        "description": "the scales the scheme declares: code, name, labels (best first), points per label or null"})
    states = fields.List(fields.String(), metadata={
        "description": "what assessors may give an assessed item instead of a score: not_applicable, "
                       "insufficient_information"})
    aggregate = fields.Dict(metadata={"description": "how the subject's result is combined from its groups: "
                                                     "method sum, weakest, table or hook"})
    groups = fields.List(fields.Dict(), metadata={
        "description": "code, name, aggregate, indicators (code, name, max, kind, metric, no_data, scale, bands, "
                       "states)"})
    grades = fields.List(fields.List(fields.Raw()))


class CampaignSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    title = fields.String()
    scheme_code = fields.String()
    rule_set = fields.String(metadata={"description": "the rule set the scheme names (e.g. the region's edition)"})
    answered_by = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "which plugin answered each rule the campaign was run by (hook → plugin): "
                       "register_assessment_schemes (its scheme) when opened; assessment_grade, assessment_awards "
                       "and assessment_aggregate when finalised (plugins joined by 、 when several answered for "
                       "different subjects); {} for campaigns opened before this was kept"})
    status = fields.String(metadata={"description": "open, finalized (公示), published or withdrawn"})
    status_label = fields.Function(lambda c: c.status.label)
    deadline = fields.Date()
    cutoff = fields.Date(allow_none=True, metadata={"description": "computed items read the records as of this day"})
    appeal_until = fields.Date(allow_none=True, metadata={"description": "the last day subjects may appeal"})
    force_reason = fields.String()
    reopen_reason = fields.String()
    withdraw_reason = fields.String()
    finalized_at = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    subject_count = fields.Function(lambda c: len(c.subjects))
    tie_break = fields.Function(lambda c: service.tie_break_of(c.scheme))
    version = fields.Integer()


class CampaignDetailSchema(CampaignSchema):
    scheme = fields.Function(lambda c: normalised_scheme(c.scheme), metadata={
        "type": "object",
        "description": "the scheme the campaign was opened with, normalised (a scheme saved by an earlier release "
                       "reads as points summed): scales, states, aggregate, groups with their aggregate and "
                       "indicators (code, name, max, kind, metric, no_data, scale, bands, states), grades — so a "
                       "year is read by the rules it was assessed with"})


class CampaignCreateSchema(Schema):
    year = Year(load_default=None, allow_none=True, minimum=2000,
                metadata={"description": "default: the latest budget year with records"})
    scheme = Code(required=True)
    deadline = fields.Date(required=True)
    cutoff = fields.Date(load_default=None, allow_none=True)
    title = Name(load_default=None, allow_none=True)


class ScoreRowSchema(Schema):
    indicator_code = fields.String()
    status = fields.String(metadata={"description": "scored, no_data, not_applicable, insufficient_information, "
                                                   "not_submitted, insufficient_evidence or pending"})
    status_label = fields.Function(lambda s: s.status.label)
    source = fields.String(metadata={"description": "computed, assessor or override"})
    value = Fixed(4, 8, allow_none=True)
    points = Score()
    label = fields.String(allow_none=True, metadata={"description": "the label of the item's scale, when it is "
                                                                    "rated on one"})
    maximum = Score(allow_none=True,
                    metadata={"description": "what the item counts for in the subject's maximum"})
    computed_points = Score(allow_none=True)
    override_reason = fields.String()
    comment = fields.String()


class GroupResultSchema(Schema):
    code = fields.String()
    name = fields.String()
    method = fields.String(metadata={"description": "the group's aggregation: sum, weakest, table or hook"})
    state = fields.String(metadata={"description": "not_applicable when every item of it was left out, else scored"})
    label = fields.String(allow_none=True, metadata={"description": "what a labelled aggregation gave"})
    points = Score(allow_none=True, metadata={"description": "the points of its counted items"})
    maximum = Score(allow_none=True, metadata={"description": "the maximum its counted items count for"})
    note = fields.String()


class SubjectSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    division_type = fields.String()
    level = fields.String()
    parent_code = fields.String(allow_none=True)
    total = Score(allow_none=True)
    label = fields.String(allow_none=True, metadata={
        "description": "the subject's result on the scheme's scale (null when the scheme sums points)"})
    groups = fields.List(fields.Nested(GroupResultSchema), metadata={"description": "each group's result"})
    grade = fields.String(allow_none=True)
    rank = fields.Integer(allow_none=True)
    rank_in_parent = fields.Integer(allow_none=True)
    vetoed = fields.Boolean()
    ranked = fields.Boolean(metadata={"description": "false: below the coverage threshold (数据不足), not ranked"})
    coverage = Fixed(4, 2, allow_none=True)
    measurable = Score(allow_none=True)
    full_marks = Score(allow_none=True)
    awards = fields.List(fields.String())
    notices = fields.List(fields.String())
    scores = fields.List(fields.Nested(ScoreRowSchema))


#: What an assessor may give an item instead of a score, where the scheme allows it.
STATE_CHOICES = ["not_applicable", "insufficient_information"]


class ScoreInputSchema(Schema):
    version = Version()
    subject_id = Id(required=True)
    indicator = Code(required=True)
    points = Score(load_default=None, allow_none=True,
                   metadata={"description": "for an item scored in points (0 to its max)"})
    label = Code(load_default=None, allow_none=True,
                 metadata={"description": "for an item rated on a scale: one of its labels (the scheme's scales)"})
    state = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATE_CHOICES), metadata={
        "description": "instead of a score, where the scheme allows it: not applicable or insufficient "
                       "information (left out of the aggregation and the maximum)"})
    comment = Text(load_default="", max_length=COMMENT_MAX_LENGTH)


class OverrideSchema(Schema):
    version = Version()
    subject_id = Id(required=True)
    indicator = Code(required=True)
    points = Score(load_default=None, allow_none=True, metadata={"description": "the points (an item in points)"})
    label = Code(load_default=None, allow_none=True,
                 metadata={"description": "the label (an item rated on a scale by bands)"})
    reason = Text(required=True, max_length=COMMENT_MAX_LENGTH)


class ForceSchema(Schema):
    version = Version()
    force = fields.Boolean(load_default=False)
    reason = Text(load_default="", max_length=COMMENT_MAX_LENGTH)


class ReasonSchema(Schema):
    version = Version()
    reason = Text(required=True, max_length=COMMENT_MAX_LENGTH)


class AppealSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    indicator = fields.String(required=True, attribute="indicator_code", data_key="indicator")
    text = Text(required=True, max_length=LONG_TEXT_MAX_LENGTH)
    file_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=MAX_LIST_ITEMS))
    outcome = fields.String(dump_only=True, allow_none=True)
    answer = fields.String(dump_only=True)
    answered_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={"description": "send it back with an answer (409 when stale)"})


class AppealAnswerSchema(Schema):
    version = Version()
    outcome = fields.String(required=True, validate=validate.OneOf(["upheld", "rejected"]))
    answer = Text(required=True, max_length=LONG_TEXT_MAX_LENGTH)


class AssignmentSchema(Schema):
    campaign_id = fields.Integer()
    assessor_name = fields.String()
    title = fields.String()
    year = fields.Integer()
    deadline = fields.Date()
    items = fields.List(fields.Dict())
    self_reports = fields.Dict()
    result = fields.Dict(allow_none=True, metadata={"description": "the subject's own result once published"})
    version = fields.Integer(metadata={"description": "send it back with a self-report (409 when stale)"})


class SelfReportSchema(Schema):
    indicator = Code(required=True)
    text = Text(required=True, max_length=LONG_TEXT_MAX_LENGTH, validate=validate.Length(min=1))
    version = fields.Integer(required=True, error_messages={"required": "请提交所读取的版本号（version）"},
                             metadata={"description": "the assignment's version read (GET); a stale one answers 409"})


class YearArgs(Schema):
    year = Year(query=True, minimum=2000)


@blp.route(f"{PREFIX}/assessments/schemes")
class Schemes(MethodView):
    @require_login
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, SchemeSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """The schemes the tenant's plugins offer for a year (default: the latest budget year with records)."""
        db, tenant = session(), current_tenant()
        return service.schemes_for(db, tenant, args.get("year") or service.latest_records_year(db, tenant))


@blp.route(f"{PREFIX}/assessments")
class Campaigns(MethodView):
    @require_login
    @blp.response(200, CampaignSchema(many=True))
    def get(self) -> Any:
        """The tenant's campaigns."""
        return service.list_campaigns(session(), current_tenant())

    @require_login
    @idempotent
    @blp.arguments(CampaignCreateSchema)
    @blp.response(201, CampaignDetailSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Open a campaign for a year with a scheme, over the scheme's subjects (invited at once)."""
        db, tenant = session(), current_tenant()
        return service.create_campaign(db, current_user, tenant,
                                       year=data["year"] or service.latest_records_year(db, tenant),
                                       scheme_code=data["scheme"], deadline=data["deadline"], title=data["title"],
                                       cutoff=data["cutoff"])


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>")
class CampaignItem(MethodView):
    @require_login
    @blp.response(200, CampaignDetailSchema)
    def get(self, campaign_id: int) -> Any:
        """One campaign, with the scheme it was opened with."""
        return service.get_campaign(session(), current_tenant(), campaign_id)


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/subjects")
class Subjects(MethodView):
    @require_login
    @blp.response(200, SubjectSchema(many=True))
    def get(self, campaign_id: int) -> Any:
        """The subjects with their scores per indicator (each with its state and the maximum it counts for)."""
        db = session()
        return service.ranking(db, service.get_campaign(db, current_tenant(), campaign_id))


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/subjects/<int:subject_id>")
class SubjectItem(MethodView):
    @require_login
    @blp.response(200, SubjectSchema)
    def get(self, campaign_id: int, subject_id: int) -> Any:
        """One subject's result: every item's state, points and why."""
        db = session()
        return service.subject_detail(db, service.get_campaign(db, current_tenant(), campaign_id), subject_id)


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/scores")
class Scores(MethodView):
    @require_login
    @blp.arguments(ScoreInputSchema)
    @blp.response(200, ScoreRowSchema)
    def put(self, data: dict[str, Any], campaign_id: int) -> Any:
        """An assessor scores an assessed, bonus, deduction or veto item for one subject: ``points``, a ``label`` of
        the item's scale, or a ``state`` the scheme allows (400 naming the field otherwise; 409 once finalised)."""
        db, tenant = session(), current_tenant()
        campaign = service.get_campaign(db, tenant, campaign_id)
        return service.score(db, current_user, tenant, campaign, data["subject_id"], data["indicator"],
                             data["points"], data["comment"], version=data["version"], label=data["label"],
                             state=data["state"])


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/overrides")
class Overrides(MethodView):
    @require_login
    @blp.arguments(OverrideSchema)
    @blp.response(200, ScoreRowSchema)
    def put(self, data: dict[str, Any], campaign_id: int) -> Any:
        """The assessor replaces a computed item's points (or its label, on a scale) for one subject, with a reason."""
        db, tenant = session(), current_tenant()
        campaign = service.get_campaign(db, tenant, campaign_id)
        return service.override(db, current_user, tenant, campaign, data["subject_id"], data["indicator"],
                                data["points"], data["reason"], version=data["version"], label=data["label"])


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/subjects/<int:subject_id>/evidence")
class EvidenceFor(MethodView):
    @require_login
    @blp.doc(requestBody=multipart_body("the evidence file", indicator="the item's code", note="what it shows"))
    @blp.response(204)
    def post(self, campaign_id: int, subject_id: int) -> None:
        """The assessor records evidence on a subject's behalf (multipart: ``indicator``, ``note``, ``file``)."""
        db, tenant = session(), current_tenant()
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed(fields={"file": "请选择文件"})
        service.record_evidence_for(db, current_user, tenant, service.get_campaign(db, tenant, campaign_id),
                                    subject_id, request.form.get("indicator", ""), upload.filename or "evidence",
                                    upload.read(), upload.mimetype or "", request.form.get("note", ""))


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/finalize")
class Finalize(MethodView):
    @require_login
    @blp.arguments(ForceSchema)
    @blp.response(202, JobSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> Any:
        """Total, grade, rank and award every subject, as a background job; then the results are 公示.

        The campaign's ``version`` is checked before the job is enqueued (stale: 409, nothing enqueued).
        Refused (409) before the self-report deadline has passed unless ``force`` with a ``reason``.
        """
        db, tenant = session(), current_tenant()
        return service.request_stage(db, current_user, tenant, service.get_campaign(db, tenant, campaign_id),
                                     "finalize", version=data["version"], force=data["force"], reason=data["reason"])


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/reopen")
class Reopen(MethodView):
    @require_login
    @blp.arguments(ReasonSchema)
    @blp.response(200, CampaignSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> Any:
        """Reopen a finalised campaign to rescore, with a reason (finalising again uses the same cut-off)."""
        db, tenant = session(), current_tenant()
        return service.reopen(db, current_user, tenant, service.get_campaign(db, tenant, campaign_id), data["reason"],
                              version=data["version"])


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/withdraw")
class Withdraw(MethodView):
    @require_login
    @blp.arguments(ReasonSchema)
    @blp.response(200, CampaignSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> Any:
        """Withdraw a campaign not yet published, with a reason."""
        db, tenant = session(), current_tenant()
        return service.withdraw(db, current_user, tenant, service.get_campaign(db, tenant, campaign_id), data["reason"],
                                version=data["version"])


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/appeals")
class CampaignAppeals(MethodView):
    @require_login
    @blp.response(200, AppealSchema(many=True))
    def get(self, campaign_id: int) -> Any:
        """The subjects' appeals (申诉) and their answers."""
        db, tenant = session(), current_tenant()
        campaign = service.get_campaign(db, tenant, campaign_id)
        service.require_assessor(current_user, tenant)
        return service.appeals_for(db, campaign)


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/appeals/<int:appeal_id>/answer")
class AppealAnswer(MethodView):
    @require_login
    @blp.arguments(AppealAnswerSchema)
    @blp.response(200, AppealSchema)
    def post(self, data: dict[str, Any], campaign_id: int, appeal_id: int) -> Any:
        """The assessor answers an appeal: upheld (then reopen to rescore) or rejected."""
        db, tenant = session(), current_tenant()
        return service.answer_appeal(db, current_user, tenant, service.get_campaign(db, tenant, campaign_id),
                                     appeal_id, data["outcome"], data["answer"], version=data["version"])


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/publish")
class Publish(MethodView):
    @require_login
    @blp.arguments(ForceSchema)
    @blp.response(202, JobSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> Any:
        """Publish the final results to the subjects, each seeing its own, as a background job.

        The campaign's ``version`` is checked before the job is enqueued (stale: 409, nothing enqueued).
        Refused (409) while appeals are unanswered, and before the appeal window closes unless ``force`` with a
        ``reason``.
        """
        db, tenant = session(), current_tenant()
        return service.request_stage(db, current_user, tenant, service.get_campaign(db, tenant, campaign_id),
                                     "publish", version=data["version"], force=data["force"], reason=data["reason"])


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/ranking")
class Ranking(MethodView):
    @require_login
    @blp.response(200, SubjectSchema(many=True))
    def get(self, campaign_id: int) -> Any:
        """The ranking: by level, best first, with ranks overall and within each parent; then 数据不足."""
        db = session()
        return service.ranking(db, service.get_campaign(db, current_tenant(), campaign_id))


@blp.route(f"{PREFIX}/assessment-results")
class Assignments(MethodView):
    @require_login
    @blp.response(200, AssignmentSchema(many=True))
    def get(self) -> Any:
        """The campaigns this tenant is assessed in: deadlines, items to self-report, and its own results."""
        return service.assignments_for(session(), current_tenant())


@blp.route(f"{PREFIX}/assessment-results/<int:campaign_id>")
class AssignmentItem(MethodView):
    @require_login
    @blp.response(200, AssignmentSchema)
    def get(self, campaign_id: int) -> Any:
        """This tenant's side of one campaign."""
        return service.get_assignment(session(), current_tenant(), campaign_id)


@blp.route(f"{PREFIX}/assessment-results/<int:campaign_id>/self-report")
class SelfReport(MethodView):
    @require_login
    @blp.arguments(SelfReportSchema)
    @blp.response(200, AssignmentSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> Any:
        """Report on an assessed item before the deadline."""
        return service.self_report(session(), current_user, current_tenant(), campaign_id, data["indicator"], data["text"],
                                   version=data["version"])


@blp.route(f"{PREFIX}/assessment-results/<int:campaign_id>/evidence")
class Evidence(MethodView):
    @require_login
    @blp.doc(requestBody=multipart_body("the evidence file", indicator="the item's code (required)"))
    @blp.response(200, AssignmentSchema)
    def post(self, campaign_id: int) -> Any:
        """Upload an evidence file for an item (multipart: ``indicator`` and ``file``)."""
        upload = request.files.get("file")
        indicator = request.form.get("indicator", "")
        if upload is None or not indicator:
            raise ValidationFailed(fields={"file": "请选择文件", "indicator": "请指明指标"})
        return service.add_evidence(session(), current_user, current_tenant(), campaign_id, indicator,
                                    upload.filename or "evidence", upload.read(), upload.mimetype or "")


@blp.route(f"{PREFIX}/assessment-results/<int:campaign_id>/appeals")
class SubjectAppeals(MethodView):
    @require_login
    @idempotent
    @blp.arguments(AppealSchema)
    @blp.response(201, AppealSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> Any:
        """File an appeal (申诉) against an item of the provisional result, within the appeal window."""
        return service.appeal(session(), current_user, current_tenant(), campaign_id, data["indicator_code"],
                              data["text"], data["file_ids"])
