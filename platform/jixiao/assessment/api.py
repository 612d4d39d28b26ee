"""Assessment API: the assessor's campaigns under /assessments, the subject's side under /assessment-results."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from jixiao.assessment import service
from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.errors import Conflict, ValidationFailed
from jixiao.jobs.schemas import JobSchema
from jixiao.jobs.service import enqueue

blp = Blueprint("assessment_api", __name__, description="Inter-level assessment: campaigns, scores, rankings")
PREFIX = "/tenants/<tenant_code>"


class SchemeSchema(Schema):
    code = fields.String()
    name = fields.String()
    rule_set = fields.String()
    years = fields.List(fields.Integer(allow_none=True))
    subjects = fields.String()
    groups = fields.List(fields.Dict())
    grades = fields.List(fields.List(fields.Raw()))


class CampaignSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    title = fields.String()
    scheme_code = fields.String()
    rule_set = fields.String(metadata={"description": "which plugin's rules answered, for that year"})
    status = fields.String()
    deadline = fields.Date()
    finalized_at = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    subject_count = fields.Function(lambda c: len(c.subjects))
    version = fields.Integer()


class CampaignCreateSchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    scheme = fields.String(required=True)
    deadline = fields.Date(required=True)
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ScoreRowSchema(Schema):
    indicator_code = fields.String()
    status = fields.String()
    value = fields.Decimal(as_string=True, allow_none=True)
    points = fields.Decimal(as_string=True)
    comment = fields.String()


class SubjectSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    division_type = fields.String()
    level = fields.String()
    parent_code = fields.String(allow_none=True)
    total = fields.Decimal(as_string=True, allow_none=True)
    grade = fields.String(allow_none=True)
    rank = fields.Integer(allow_none=True)
    rank_in_parent = fields.Integer(allow_none=True)
    vetoed = fields.Boolean()
    awards = fields.List(fields.String())
    notices = fields.List(fields.String())
    scores = fields.List(fields.Nested(ScoreRowSchema))


class ScoreInputSchema(Schema):
    subject_id = fields.Integer(required=True)
    indicator = fields.String(required=True)
    points = fields.Decimal(required=True)
    comment = fields.String(load_default="")


class AssignmentSchema(Schema):
    campaign_id = fields.Integer()
    assessor_name = fields.String()
    title = fields.String()
    year = fields.Integer()
    deadline = fields.Date()
    items = fields.List(fields.Dict())
    self_reports = fields.Dict()
    result = fields.Dict(allow_none=True, metadata={"description": "the subject's own result once published"})


class SelfReportSchema(Schema):
    indicator = fields.String(required=True)
    text = fields.String(required=True, validate=validate.Length(min=1))


class YearArgs(Schema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


@blp.route(f"{PREFIX}/assessments/schemes")
class Schemes(MethodView):
    @require_login
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, SchemeSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """The schemes the tenant's plugins offer for a year (default: last year)."""
        from datetime import date

        return service.schemes_for(session(), current_tenant(), args.get("year") or date.today().year - 1)


@blp.route(f"{PREFIX}/assessments")
class Campaigns(MethodView):
    @require_login
    @blp.response(200, CampaignSchema(many=True))
    def get(self) -> Any:
        """The tenant's campaigns."""
        return service.list_campaigns(session(), current_tenant())

    @require_login
    @blp.arguments(CampaignCreateSchema)
    @blp.response(201, CampaignSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Open a campaign for a year with a scheme, over the scheme's subjects (invited at once)."""
        return service.create_campaign(session(), current_user, current_tenant(), year=data["year"],
                                       scheme_code=data["scheme"], deadline=data["deadline"], title=data["title"])


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>")
class CampaignItem(MethodView):
    @require_login
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id: int) -> Any:
        """One campaign."""
        return service.get_campaign(session(), current_tenant(), campaign_id)


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/subjects")
class Subjects(MethodView):
    @require_login
    @blp.response(200, SubjectSchema(many=True))
    def get(self, campaign_id: int) -> Any:
        """The subjects with their scores per indicator."""
        return service.get_campaign(session(), current_tenant(), campaign_id).subjects


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/scores")
class Scores(MethodView):
    @require_login
    @blp.arguments(ScoreInputSchema)
    @blp.response(200, ScoreRowSchema)
    def put(self, data: dict[str, Any], campaign_id: int) -> Any:
        """An assessor scores an assessed, bonus, deduction or veto item for one subject."""
        db, tenant = session(), current_tenant()
        campaign = service.get_campaign(db, tenant, campaign_id)
        return service.score(db, current_user, tenant, campaign, data["subject_id"], data["indicator"],
                             data["points"], data["comment"])


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/finalize")
class Finalize(MethodView):
    @require_login
    @blp.response(202, JobSchema)
    def post(self, campaign_id: int) -> Any:
        """Total, grade, rank and award every subject, as a background job."""
        db, tenant = session(), current_tenant()
        service._require_assessor(current_user, tenant)
        campaign = service.get_campaign(db, tenant, campaign_id)
        if campaign.status.value not in ("open", "finalized"):
            raise Conflict(f"考核{campaign.status.label}，不能重新汇总")
        return enqueue(db, current_user, tenant, "assessment.finalize", {"campaign_id": campaign.id})


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/publish")
class Publish(MethodView):
    @require_login
    @blp.response(202, JobSchema)
    def post(self, campaign_id: int) -> Any:
        """Publish the results to the subjects, each seeing its own, as a background job."""
        db, tenant = session(), current_tenant()
        service._require_assessor(current_user, tenant)
        campaign = service.get_campaign(db, tenant, campaign_id)
        if campaign.status.value != "finalized":
            raise Conflict("请先汇总排名再发布结果")
        return enqueue(db, current_user, tenant, "assessment.publish", {"campaign_id": campaign.id})


@blp.route(f"{PREFIX}/assessments/<int:campaign_id>/ranking")
class Ranking(MethodView):
    @require_login
    @blp.response(200, SubjectSchema(many=True))
    def get(self, campaign_id: int) -> Any:
        """The ranking: by level, best first, with ranks overall and within each parent."""
        db = session()
        return service.ranking(service.get_campaign(db, current_tenant(), campaign_id))


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
        return service.self_report(session(), current_user, current_tenant(), campaign_id, data["indicator"], data["text"])


@blp.route(f"{PREFIX}/assessment-results/<int:campaign_id>/evidence")
class Evidence(MethodView):
    @require_login
    @blp.response(200, AssignmentSchema)
    def post(self, campaign_id: int) -> Any:
        """Upload an evidence file for an item (multipart: ``indicator`` and ``file``)."""
        upload = request.files.get("file")
        indicator = request.form.get("indicator", "")
        if upload is None or not indicator:
            raise ValidationFailed(fields={"file": "请选择文件", "indicator": "请指明指标"})
        return service.add_evidence(session(), current_user, current_tenant(), campaign_id, indicator,
                                    upload.filename or "evidence", upload.read(), upload.mimetype or "")
