"""Marshmallow schemas for the lifecycle API. Money travels as strings of yuan ("1234.50")."""

from __future__ import annotations

import enum
from typing import Any

from marshmallow import fields, validate

from jixiao import inputs, pagination
from jixiao.accounts.schemas import DepartmentRefSchema
from jixiao.dumping import Schema
from jixiao.inputs import Code, Fixed, Id, IndicatorValue, Integer, Name, Score, Text, Year
from jixiao.lifecycle.models import (
    AgencyType,
    Conclusion,
    Direction,
    EvaluationKind,
    EvaluationPerformer,
    FundSource,
    FundType,
    IndicatorNature,
    Light,
    ProjectKind,
    QualitativeBand,
    SpendingModality,
    Stage,
)


def choices(enum_cls: type[enum.Enum]) -> validate.OneOf:
    """One of the enum's codes; the refusal names the value given and the codes allowed, in Chinese."""
    return validate.OneOf([m.value for m in enum_cls], error="“{input}”不是可选的值；应为：{choices}")


def Money(**kwargs: object) -> fields.Decimal:  # noqa: N802 - reads like a field class
    # Exact: a third decimal or a 17th integer digit is refused, never rounded away (jixiao.inputs).
    return inputs.Money(**kwargs)


def OneLine(max_length: int = inputs.CODE_MAX_LENGTH, **kwargs: Any) -> Text:  # noqa: N802 - a field factory
    return Text(max_length=max_length, multiline=False, **kwargs)


class ProjectSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    year = fields.Integer()
    kind = fields.String()
    fund_type = fields.String()
    category = fields.String()
    is_new = fields.Boolean()
    is_key = fields.Boolean()
    classified = fields.Boolean()
    spending_modalities = fields.List(fields.String(), metadata={
        "description": "支出方式, codes: ppp, investment_fund, procurement, purchase_of_services, government_debt, "
                       "or none alone (none applies); [] = not recorded"})
    is_special_fund = fields.Boolean(metadata={"description": "专项资金 (projects only); the other projects are "
                                                              "department budget projects (部门预算项目)"})
    fund_source = fields.String(allow_none=True, metadata={
        "description": "a special fund's source: central, provincial, city or own; null = not recorded"})
    requested_amount = Money()
    approved_amount = Money(allow_none=True)
    adjusted_amount = Money(allow_none=True)
    stage = fields.String()
    payment_suspended = fields.Boolean()
    suspension_reason = fields.String()
    department = fields.Nested(DepartmentRefSchema)
    continues_project_id = fields.Integer(allow_none=True, metadata={
        "description": "延续项目: the earlier year's project this one continues when its code changed (a project "
                       "keeping its code continues that code's earlier year without a link)"})
    version = fields.Integer()


class ProjectRowSchema(ProjectSchema):
    light = fields.String(allow_none=True, metadata={"description": "the latest monitoring report's light"})
    grade = fields.String(allow_none=True, metadata={"description": "the latest evaluation's grade"})


class ProjectPageSchema(Schema):
    items = fields.List(fields.Nested(ProjectRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ProjectQuerySchema(Schema):
    year = Year(query=True, minimum=2000)
    department = OneLine()
    stage = fields.String(validate=choices(Stage))
    kind = fields.String(validate=choices(ProjectKind))
    fund_type = fields.String(validate=choices(FundType))
    grade = OneLine()
    light = fields.String(validate=choices(Light))
    q = OneLine(max_length=100)
    modality = fields.List(fields.String(validate=choices(SpendingModality)), validate=validate.Length(max=10),
                           metadata={"description": "any of these spending modalities (repeat the parameter)"})
    fund_source = fields.String(validate=choices(FundSource), metadata={"description": "a special fund's source"})
    page = Integer(query=True, minimum=1, load_default=1)
    per_page = Integer(query=True, minimum=1, maximum=500, load_default=50)


class ProjectCreateSchema(Schema):
    code = Code(required=True)
    name = Name(required=True)
    year = Year(required=True, minimum=2000)
    kind = fields.String(required=True, validate=choices(ProjectKind))
    fund_type = fields.String(required=True, validate=choices(FundType))
    category = OneLine(load_default="")
    department_code = OneLine(load_default=None, allow_none=True)
    is_new = fields.Boolean(load_default=True)
    is_key = fields.Boolean(load_default=False)
    classified = fields.Boolean(load_default=False)
    requested_amount = Money(required=True, validate=validate.Range(min=0))
    # The codes as the document states them; the combinations (none alone, a source only on a special fund) are
    # checked by the service (projects.check_spending), as for the page and the spreadsheet import.
    spending_modalities = fields.List(fields.String(validate=choices(SpendingModality)), load_default=list,
                                      validate=validate.Length(max=inputs.MAX_LIST_ITEMS))
    is_special_fund = fields.Boolean(load_default=False)
    fund_source = fields.String(load_default=None, allow_none=True, validate=choices(FundSource))
    continues_project_id = Id(load_default=None, allow_none=True, metadata={
        "description": "the earlier year's project this one continues, when its code changed"})


class ProjectUpdateSchema(Schema):
    name = Name()
    category = OneLine()
    kind = fields.String(validate=choices(ProjectKind))
    fund_type = fields.String(validate=choices(FundType))
    is_new = fields.Boolean()
    is_key = fields.Boolean()
    classified = fields.Boolean()
    requested_amount = Money(validate=validate.Range(min=0))
    adjusted_amount = Money(validate=validate.Range(min=0))
    spending_modalities = fields.List(fields.String(validate=choices(SpendingModality)),
                                      validate=validate.Length(max=inputs.MAX_LIST_ITEMS))
    is_special_fund = fields.Boolean()
    fund_source = fields.String(allow_none=True, validate=choices(FundSource))
    continues_project_id = Id(allow_none=True, metadata={
        "description": "the earlier year's project this one continues (null: none, or the same code's)"})
    version = fields.Integer(required=True)


class ExAnteSchema(Schema):
    id = fields.Integer(dump_only=True)
    required = fields.Boolean(dump_only=True)
    dimensions = fields.List(fields.Dict(), dump_only=True)
    scores = fields.Dict(keys=fields.String(), values=Score())
    comments = fields.Dict(keys=fields.String(), values=fields.String())
    total_score = Score(dump_only=True)
    conclusion = fields.String(validate=choices(Conclusion))
    amount_cut = Money()
    reviewer_ids = fields.List(fields.Integer())
    assessed_at = fields.DateTime(dump_only=True)
    version = fields.Integer()


class ExAnteInputSchema(Schema):
    scores = fields.Dict(keys=OneLine(), values=Score(), required=True,
                         validate=validate.Length(max=inputs.MAX_LIST_ITEMS))
    comments = fields.Dict(keys=OneLine(), values=Text(), load_default=dict,
                           validate=validate.Length(max=inputs.MAX_LIST_ITEMS))
    conclusion = fields.String(required=True, validate=choices(Conclusion))
    amount_cut = Money(load_default=0)
    reviewer_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=inputs.MAX_LIST_ITEMS))
    version = fields.Integer(load_default=None, allow_none=True)


class IndicatorSchema(Schema):
    id = fields.Integer(dump_only=True)
    level1 = Name(required=True, max_length=20)
    level2 = Name(required=True, max_length=40)
    name = Name(required=True)
    direction = fields.String(required=True, validate=choices(Direction))
    target_value = IndicatorValue(allow_none=True, load_default=None)
    target_text = OneLine(load_default="", max_length=inputs.NAME_MAX_LENGTH)
    unit = OneLine(load_default="", max_length=20)
    # Omitted: the default the unit implies (%, 分, 元/人 … are levels; counts and amounts cumulative).
    nature = fields.String(load_default=None, allow_none=True, validate=choices(IndicatorNature),
                           metadata={"description": "cumulative（累计值，与按月折算的年度目标比较）或 level（水平值，与目标本身比较）"})
    weight = Score(required=True, validate=validate.Range(min=0))
    catalog_code = OneLine(allow_none=True, load_default=None)


class TargetsSchema(Schema):
    id = fields.Integer(dump_only=True)
    overall_target = Text(load_default="", max_length=inputs.LONG_TEXT_MAX_LENGTH)
    status = fields.String(dump_only=True)
    review_comment = fields.String(dump_only=True)
    submitted_at = fields.DateTime(dump_only=True, allow_none=True)
    reviewed_at = fields.DateTime(dump_only=True, allow_none=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)
    indicators = fields.List(fields.Nested(IndicatorSchema), load_default=list, validate=validate.Length(
        max=inputs.MAX_INDICATORS_PER_PROJECT, error=f"绩效指标最多 {inputs.MAX_INDICATORS_PER_PROJECT} 条"))
    version = fields.Integer(allow_none=True, load_default=None)


class ReviewSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "return"]))
    comment = Text(load_default="")
    version = fields.Integer(load_default=None, allow_none=True,
                             metadata={"description": "the target set's version reviewed; checked when sent"})


def Version(**kwargs: Any) -> fields.Integer:  # noqa: N802 - reads like a field class
    """The version of the record the client read: required on writes to it (missing 400, stale 409)."""
    return fields.Integer(required=True, error_messages={"required": "请提交所读取的版本号（version）",
                                                         "null": "请提交所读取的版本号（version）"},
                          metadata={"description": "the version read (GET); a stale one answers 409"}, **kwargs)


class BudgetSchema(Schema):
    approved_amount = Money(required=True, validate=validate.Range(min=0))
    version = Version()
    confirm_over_request = fields.Boolean(load_default=False, metadata={
        "description": "true to approve more than the requested amount (otherwise 400)"})


class PaymentSchema(Schema):
    suspended = fields.Boolean(required=True)
    reason = Text(load_default="")
    version = Version()


class MonitoringValueSchema(Schema):
    indicator_id = Id(required=True)
    actual_value = IndicatorValue(allow_none=True, load_default=None)
    # A qualitative indicator is rated by the unit: achieved（达成）, partial（部分达成）, not_achieved（未达成）.
    band = fields.String(allow_none=True, load_default=None, validate=choices(QualitativeBand))
    attainment = Fixed(2, 6, dump_only=True, allow_none=True)
    light = fields.String(dump_only=True, allow_none=True)
    note = OneLine(load_default="", max_length=200)


class MonitoringSchema(Schema):
    id = fields.Integer(dump_only=True)
    period = Integer(required=True, minimum=1, maximum=12)
    executed_amount = Money(required=True, validate=validate.Range(min=0))
    execution_rate = Fixed(2, 6, dump_only=True)
    light = fields.String(dump_only=True)
    cause = Text(load_default="", max_length=inputs.LONG_TEXT_MAX_LENGTH)
    measure = Text(load_default="", max_length=inputs.LONG_TEXT_MAX_LENGTH)
    values = fields.List(fields.Nested(MonitoringValueSchema), load_default=list,
                         validate=validate.Length(max=inputs.MAX_INDICATORS_PER_PROJECT))
    warnings = fields.List(fields.Dict(), dump_only=True)
    response = fields.String(dump_only=True, allow_none=True)
    response_note = fields.String(dump_only=True)
    response_due = fields.Date(dump_only=True, allow_none=True)
    responded_at = fields.DateTime(dump_only=True, allow_none=True)
    version = fields.Integer(load_default=None, allow_none=True)


class WarningResponseSchema(Schema):
    choice = fields.String(required=True, validate=validate.OneOf(["continue", "adjust_funds", "cancel"]))
    note = Text(load_default="")


class MonitoringOverviewSchema(Schema):
    periods_owed = fields.List(fields.Integer())
    reports = fields.List(fields.Nested(MonitoringSchema))


class ScoreSchema(Schema):
    # A row scores a target indicator (indicator_id) or a row of the evaluation form itself (form_code: the 决策
    # and 过程 rows of finance and key evaluations); exactly one of the two.
    indicator_id = Id(load_default=None, allow_none=True)
    form_code = OneLine(load_default=None, allow_none=True)
    group = fields.String(dump_only=True, attribute="group_name")
    level2 = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    actual_value = IndicatorValue(allow_none=True, load_default=None)
    band = fields.String(allow_none=True, load_default=None, validate=choices(QualitativeBand))
    band_fraction = inputs.ExactNumber(places=4, integer_digits=2, allow_none=True, load_default=None)
    points = Score(dump_only=True)
    score = Score(dump_only=True)
    note = Text(load_default="")


class FindingSchema(Schema):
    problem = Text(required=True)
    suggestion = Text(load_default="")


class EvaluationSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    agency_id = fields.Integer(allow_none=True)
    sample_id = fields.Integer(allow_none=True)
    executed_amount = Money(allow_none=True)
    execution_score = Score(allow_none=True)
    total_score = Score(allow_none=True)
    grade = fields.String(allow_none=True)
    summary = fields.String()
    findings = fields.List(fields.Nested(FindingSchema))
    internal_comment = fields.String()
    submitted_at = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    unpublished_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the result was last withdrawn from the public page (kept if published again)"})
    unpublished_by_id = fields.Integer(allow_none=True)
    unpublish_reason = fields.String(metadata={"description": "why it was last withdrawn"})
    quality_score = Fixed(2, 4, allow_none=True)
    quality_comment = fields.String()
    scores = fields.List(fields.Nested(ScoreSchema))
    form = fields.Dict(allow_none=True, metadata={"description": "the evaluation form it was scored on"})
    answered_by = fields.Dict(
        keys=fields.String(), values=fields.String(),
        metadata={"description": "which plugin answered each rule it was scored by (hook → plugin), kept at "
                                 "submission: evaluation_weights (the form), evaluation_grade_bands (the grade); "
                                 "{} before submission and for evaluations submitted before this was kept"})
    version = fields.Integer()


class EvaluationCreateSchema(Schema):
    kind = fields.String(required=True, validate=choices(EvaluationKind))
    agency_id = Id(load_default=None, allow_none=True)


class EvaluationSubmitSchema(Schema):
    executed_amount = Money(required=True, validate=validate.Range(min=0))
    scores = fields.List(fields.Nested(ScoreSchema), required=True,
                         validate=validate.Length(max=inputs.MAX_SCORES_PER_EVALUATION))
    summary = Text(load_default="", max_length=inputs.LONG_TEXT_MAX_LENGTH)
    findings = fields.List(fields.Nested(FindingSchema), load_default=list,
                           validate=validate.Length(max=inputs.MAX_FINDINGS_PER_EVALUATION))
    internal_comment = Text(load_default="", max_length=inputs.LONG_TEXT_MAX_LENGTH)
    version = fields.Integer(load_default=None, allow_none=True)


class EvaluationQuerySchema(Schema):
    year = Year(query=True)
    kind = fields.String(validate=choices(EvaluationKind))
    status = fields.String(validate=validate.OneOf(["assigned", "submitted"]))


class EvaluationListQuerySchema(EvaluationQuerySchema, pagination.OptionalPageQuerySchema):
    pass


EvaluationPageSchema = Schema.from_dict(pagination.page_fields(EvaluationSchema), name="EvaluationPageSchema")


class QualitySchema(Schema):
    score = Score(required=True)
    comment = Text(load_default="")
    version = Version()


class SampleRequestSchema(Schema):
    year = Year(required=True, minimum=2000)
    seed = Integer(load_default=None, allow_none=True)
    kind = fields.String(load_default="finance", validate=validate.OneOf(["finance", "third_party", "department"]))
    agency_id = Id(load_default=None, allow_none=True)


class SampleSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    seed = fields.Integer()
    rule = fields.String()
    population_ids = fields.List(fields.Integer())
    drawn_ids = fields.List(fields.Integer())
    assigned_ids = fields.List(fields.Integer(), metadata={"description": "drawn projects this draw assigned"})
    already_assigned_ids = fields.List(fields.Integer(), metadata={
        "description": "drawn projects not assigned again: they already had an evaluation of the kind, or one "
                       "from an earlier draw"})
    message = fields.String(attribute="summary", metadata={"description": "what the draw did, in Chinese"})
    created_at = fields.DateTime()


class AgencySchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Name(required=True)
    contact = OneLine(load_default="", max_length=200)
    agency_type = fields.String(load_default="other", validate=choices(AgencyType),
                                metadata={"description": "accounting_firm, consultancy, university, "
                                                         "research_institute or other"})
    agency_type_label = fields.Function(lambda a: a.agency_type.label, dump_only=True)
    active = fields.Boolean(dump_only=True)
    barred = fields.Boolean(dump_only=True, metadata={"description": "finance suspended it (暂停委托)"})
    bar_reason = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)


class EvidenceSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    sha256 = fields.String()
    created_at = fields.DateTime()


class NoticeSchema(Schema):
    id = fields.Integer()
    evaluation_id = fields.Integer()
    project_id = fields.Integer()
    project_name = fields.String()
    problems = fields.List(fields.String())
    deadline = fields.Date()
    status = fields.String()
    overdue = fields.Boolean()
    measures = fields.String()
    answered_at = fields.DateTime(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    return_reason = fields.String()
    version = fields.Integer()


class NoticeIssueSchema(Schema):
    evaluation_id = Id(required=True)
    problems = fields.List(Text(), load_default=None, allow_none=True, validate=validate.Length(
        max=inputs.MAX_PROBLEMS_PER_NOTICE, error=f"整改问题最多 {inputs.MAX_PROBLEMS_PER_NOTICE} 条"))
    deadline = fields.Date(load_default=None, allow_none=True)


class NoticeAnswerSchema(Schema):
    measures = Text(required=True, max_length=inputs.LONG_TEXT_MAX_LENGTH)
    version = fields.Integer(load_default=None, allow_none=True)


class NoticeVerifySchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["accept", "return"]))
    reason = Text(load_default="")
    version = fields.Integer(load_default=None, allow_none=True)


class LedgerQuerySchema(Schema):
    year = Year(query=True)
    status = fields.String(validate=validate.OneOf(["issued", "answered", "verified", "returned"]))
    overdue = fields.Boolean()


class LedgerListQuerySchema(LedgerQuerySchema, pagination.OptionalPageQuerySchema):
    pass


NoticePageSchema = Schema.from_dict(pagination.page_fields(NoticeSchema), name="NoticePageSchema")


AMOUNT_ERRORS = {"invalid": "应为金额（元），如 -50000.00", "special": "应为金额（元），如 -50000.00"}


class ResultDecisionSchema(Schema):
    """One decision as it was made; ``decision_label`` is the action in words."""

    id = fields.Integer()
    evaluation_id = fields.Integer()
    evaluation_kind = fields.String()
    grade = fields.String()
    suggested_action = fields.String()
    suggested_label = fields.String()
    decision = fields.String()
    decision_label = fields.String()
    decision_note = fields.String()
    amount_change = Money()
    idle_recovered = Money()
    next_year = fields.Integer()
    applies_to_project_id = fields.Integer(allow_none=True, metadata={
        "description": "the continuing project whose budget the decision changed, as known when it was made"})
    decided_by = fields.String(allow_none=True, metadata={"description": "the name of whoever decided"})
    decided_at = fields.DateTime()


class ProjectRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    year = fields.Integer()
    name = fields.String()


class ResultSchema(Schema):
    id = fields.Integer(dump_only=True)
    evaluation_id = Id(required=True)
    grade = fields.String(dump_only=True)
    suggested_action = fields.String(dump_only=True)
    suggested_label = fields.String(dump_only=True)
    decision = OneLine(load_default=None, allow_none=True,
                             metadata={"description": "an action code the tenant's rules allow; default: the suggestion"})
    decision_label = fields.String(dump_only=True)
    decision_note = Text(load_default="")
    amount_change = Money(load_default=0, error_messages=AMOUNT_ERRORS,
                          metadata={"description": "next year's budget change in yuan; a cut is negative and at most the budget"})
    idle_recovered = Money(load_default=0, validate=validate.Range(min=0, error="收回的闲置资金不能为负数"),
                           error_messages=AMOUNT_ERRORS)
    next_year = fields.Integer(dump_only=True, metadata={
        "description": "the budget year the decision changes: the continuing project's first year not yet approved"})
    applies_to = fields.Nested(ProjectRefSchema, dump_only=True, allow_none=True, metadata={
        "description": "that year's continuing project; null while it is not filed (attached when it is)"})
    in_force = fields.Boolean(dump_only=True, metadata={
        "description": "false once a more authoritative evaluation of the project decided (hook evaluation_authority)"})
    evaluation_kind = fields.String(dump_only=True)
    text = fields.String(dump_only=True, metadata={"description": "评价结果：良 → 保障，调减 60 万元"})
    version = fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "to change a decision: the version of the current one (a repeat without it is 409)"})
    history = fields.List(fields.Nested(ResultDecisionSchema), dump_only=True,
                          metadata={"description": "every decision on this evaluation, oldest first"})


class ReachingResultSchema(Schema):
    """An earlier year's decision that changes this project's budget."""

    id = fields.Integer()
    evaluation_id = fields.Integer()
    evaluation_kind = fields.String()
    evaluated_project = fields.Nested(ProjectRefSchema)
    grade = fields.String()
    suggested_action = fields.String()
    suggested_label = fields.String()
    decision = fields.String()
    decision_label = fields.String()
    decision_note = fields.String()
    amount_change = Money()
    idle_recovered = Money()
    next_year = fields.Integer()
    text = fields.String()


class ResultChainSchema(Schema):
    project = fields.Nested(ProjectRefSchema)
    continues = fields.List(fields.Nested(ProjectRefSchema), metadata={
        "description": "the projects this one continues, nearest year first"})
    continued_by = fields.List(fields.Nested(ProjectRefSchema), metadata={
        "description": "the projects continuing this one, year by year"})
    authority = fields.String(metadata={"description": "which evaluation decides, in words"})
    applied = fields.List(fields.Nested(ResultSchema), metadata={
        "description": "the decisions on this project's evaluations and the budgets they reach"})
    reaching = fields.List(fields.Nested(ReachingResultSchema), metadata={
        "description": "earlier decisions in force that change this project's budget"})
    budget_effect = Money(metadata={"description": "their net change, yuan"})
    requested_amount = Money()
    requested_after_results = Money(metadata={"description": "the request with that change"})


class PublishSchema(Schema):
    targets = fields.Boolean(load_default=False)
    evaluation_id = Id(load_default=None, allow_none=True)


class UnpublishSchema(Schema):
    reason = Text(required=True, metadata={"description": "why the result is withdrawn (blank is 400 naming "
                                                          "``reason``)"})
    version = Version()


class HistorySchema(Schema):
    at = fields.DateTime()
    actor_name = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class TodoSchema(Schema):
    kind = fields.String()
    label = fields.String()
    project_id = fields.Integer()
    project_name = fields.String()
    record_id = fields.Integer(allow_none=True)
    due = fields.String(allow_none=True)
    project_code = fields.String(metadata={"description": "the project's code; \"\" when the source gives none"})
    year = fields.Integer(allow_none=True, metadata={"description": "the project's budget year, when given"})
    tenant_code = fields.String(metadata={
        "description": "the bureau whose project it is when not the user's own (an upper level's expert drawn by a "
                       "county); \"\" for the user's own bureau"})
    tenant_name = fields.String(metadata={"description": "that bureau's name; \"\" for the user's own"})
    url = fields.String()


TodoPageSchema = Schema.from_dict(pagination.page_fields(TodoSchema), name="TodoPageSchema")


class PublicProjectSchema(Schema):
    code = fields.String()
    name = fields.String()
    year = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    fund_type = fields.String()
    department = fields.String()
    approved_amount = Money(allow_none=True)


class PublicIndicatorSchema(Schema):
    level1 = fields.String()
    level2 = fields.String()
    name = fields.String()
    direction = fields.String()
    target_value = IndicatorValue(allow_none=True)
    target_text = fields.String()
    unit = fields.String()
    weight = Score()


class PublicTargetsSchema(Schema):
    project = fields.Nested(PublicProjectSchema)
    overall_target = fields.String()
    published_at = fields.DateTime()
    indicators = fields.List(fields.Nested(PublicIndicatorSchema))


class PublicEvaluationSchema(Schema):
    project = fields.Nested(PublicProjectSchema)
    kind = fields.String()
    kind_label = fields.String()
    total_score = Score(allow_none=True)
    grade = fields.String(allow_none=True)
    summary = fields.String()
    findings = fields.List(fields.Nested(FindingSchema))
    published_at = fields.DateTime()


class YearQuerySchema(Schema):
    year = Year(query=True, minimum=2000)


# ---- The agency library and the yearly evaluation plans -----------------------------------------------------


class AgencyUpdateSchema(Schema):
    name = Name()
    contact = OneLine(max_length=200)
    agency_type = fields.String(validate=choices(AgencyType))
    version = Version()


class AgencyBarSchema(Schema):
    reason = Text(required=True, blank=False, max_length=inputs.COMMENT_MAX_LENGTH,
                  metadata={"description": "why finance suspends (or resumes) commissions to the agency"})
    version = Version()


class AgencyQualitySchema(Schema):
    agency_id = fields.Integer(attribute="agency.id")
    name = fields.String(attribute="agency.name")
    agency_type = fields.Function(lambda e: e.agency.agency_type.value)
    agency_type_label = fields.Function(lambda e: e.agency.agency_type.label)
    year = fields.Integer(attribute="summary.year")
    count = fields.Integer(attribute="summary.count", metadata={"description": "evaluations whose quality was scored"})
    total = Fixed(2, 8, attribute="summary.total", metadata={"description": "the sum of their quality scores"})
    mean = Fixed(2, 4, attribute="summary.mean", allow_none=True)
    verdict = fields.Function(lambda e: e.summary.verdict.value if e.summary.verdict else None, allow_none=True,
                              metadata={"description": "reward, qualified, notice or bar; null with nothing scored"})
    verdict_label = fields.String(attribute="summary.verdict_label")
    barred = fields.Boolean(attribute="agency.barred")
    assignable = fields.Function(lambda e: e.blocker is None)
    blocked_reason = fields.String(attribute="blocker", allow_none=True)


class PlanLineSchema(Schema):
    project_kind = fields.String(required=True, validate=choices(ProjectKind))
    performer = fields.String(required=True, validate=choices(EvaluationPerformer))
    planned_count = Integer(required=True, minimum=1, maximum=100_000)


class PlanSchema(Schema):
    id = fields.Integer(dump_only=True)
    year = fields.Integer(dump_only=True)
    note = Text(load_default="")
    lines = fields.List(fields.Nested(PlanLineSchema), required=True, validate=validate.Length(min=1, max=18))
    updated_at = fields.DateTime(dump_only=True)
    version = fields.Integer(load_default=None, allow_none=True,
                             metadata={"description": "the version read; required when the plan exists"})


class ExpertUpdateSchema(Schema):
    """An expert's fields as corrected; what a schema cannot say (a department or a login that is not one) the
    service refuses, naming the field in Chinese."""

    name = Name(max_length=100, metadata={"description": "专家姓名"})
    organisation = OneLine(max_length=inputs.NAME_MAX_LENGTH, metadata={
        "description": "工作单位; an expert working at the project's department is never drawn for it"})
    expertise = fields.List(Name(max_length=40), validate=validate.Length(min=1, max=20, error="专业领域应填 1 至 20 项"),
                            metadata={"description": "专业领域, e.g. [\"教育\", \"工程造价\"]"})
    conflict_department_ids = fields.List(Id(), validate=validate.Length(max=inputs.MAX_LIST_ITEMS), metadata={
        "description": "departments declared as conflicts (回避), of the tenant or below"})
    conflict_project_ids = fields.List(Id(), validate=validate.Length(max=inputs.MAX_LIST_ITEMS), metadata={
        "description": "projects declared as conflicts (回避), of the tenant or below"})
    user_id = Id(allow_none=True, metadata={"description": "the expert's login: an active user of this tenant "
                                                          "with the expert role, linked to no other expert; null: none"})
    active = fields.Boolean(metadata={"description": "in the pool (false: never drawn)"})
    version = Version()


class ExpertInputSchema(ExpertUpdateSchema):
    """An expert as registered: a name and at least one field of expertise."""

    class Meta:
        exclude = ("version",)

    name = Name(max_length=100, required=True, metadata={"description": "专家姓名"})
    expertise = fields.List(Name(max_length=40), required=True,
                            validate=validate.Length(min=1, max=20, error="专业领域应填 1 至 20 项"),
                            metadata={"description": "专业领域, e.g. [\"教育\", \"工程造价\"]"})


class ExpertSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    organisation = fields.String()
    expertise = fields.List(fields.String())
    conflict_department_ids = fields.List(fields.Integer())
    conflict_project_ids = fields.List(fields.Integer())
    user_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    version = fields.Integer()
    kept_by = fields.String(metadata={"description": "the code of the tenant keeping the expert"})
    kept_by_name = fields.String()
    own = fields.Boolean(metadata={"description": "kept by this tenant (editable here); else an ancestor's"})


class ExpertDrawRequestSchema(Schema):
    field = Name(max_length=40, required=True, metadata={"description": "the field of expertise (专业领域) to draw by"})
    count = Integer(required=True, minimum=1, maximum=15, metadata={"description": "how many reviewers"})
    seed = Integer(load_default=None, allow_none=True, metadata={
        "description": "a recorded seed reproduces a draw over the same pool; none: a new one, recorded"})
    due = fields.Date(load_default=None, allow_none=True, metadata={"description": "评审截止日期"})


class DrawnExpertSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    organisation = fields.String()
    tenant = fields.String(metadata={"description": "the tenant keeping the expert, by name"})
    online = fields.Boolean(metadata={"description": "drawn with a login in the project's tenant: reviews in the "
                                                     "system (else offline, recorded by finance)"})
    reason = fields.String(metadata={"description": "why excluded (excluded experts only)"})


class ExpertDrawSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    field = fields.String()
    count = fields.Integer()
    seed = fields.Integer()
    pool_ids = fields.List(fields.Integer(), metadata={"description": "active experts of the field drawn from"})
    drawn_ids = fields.List(fields.Integer())
    drawn = fields.List(fields.Nested(DrawnExpertSchema), attribute="drawn_experts")
    excluded = fields.List(fields.Nested(DrawnExpertSchema), attribute="excluded_experts")
    assigned_user_ids = fields.List(fields.Integer(), metadata={
        "description": "the drawn experts' logins in the project's tenant: its assigned reviewers"})
    due = fields.Date(allow_none=True)
    drawn_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
