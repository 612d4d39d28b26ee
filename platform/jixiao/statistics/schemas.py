"""Marshmallow schemas of the yearly statistics (money as decimal strings in yuan)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from jixiao.statistics.service import current_year

MIN_YEAR, MAX_YEAR = 1990, 2100


def Money(description: str = "") -> fields.Decimal:  # noqa: N802 - a field factory, named like a field
    text = "yuan (元), a decimal string with two decimals" + (f"; {description}" if description else "")
    return fields.Decimal(as_string=True, places=2, metadata={"description": text})


class YearArgs(Schema):
    year = fields.Integer(
        load_default=current_year,
        validate=validate.Range(min=MIN_YEAR, max=MAX_YEAR, error="年度应在 {min} 至 {max} 之间"),
        metadata={"description": "budget year; default: the current year (Asia/Shanghai)"},
    )


class StatsTenantRefSchema(Schema):
    code = fields.String()
    name = fields.String()


class StatsAmountsSchema(Schema):
    count = fields.Integer()
    requested_amount = Money()
    approved_amount = Money()
    budget_amount = Money("adjusted, else approved, else requested (the first that is set)")


class StatsProjectKindAmountsSchema(Schema):
    project = fields.Nested(StatsAmountsSchema)
    policy = fields.Nested(StatsAmountsSchema)
    department_whole = fields.Nested(StatsAmountsSchema)


class StatsFundTypeAmountsSchema(Schema):
    general_public = fields.Nested(StatsAmountsSchema)
    government_fund = fields.Nested(StatsAmountsSchema)
    state_capital = fields.Nested(StatsAmountsSchema)
    social_insurance = fields.Nested(StatsAmountsSchema)


class StatsProjectSchema(StatsAmountsSchema):
    by_kind = fields.Nested(StatsProjectKindAmountsSchema)
    by_fund_type = fields.Nested(StatsFundTypeAmountsSchema)


class StatsConclusionCountsSchema(Schema):
    support = fields.Integer()
    adjust = fields.Integer()
    reject = fields.Integer()


class StatsExAnteSchema(Schema):
    count = fields.Integer(metadata={"description": "ex-ante assessments of the year's projects"})
    by_conclusion = fields.Nested(StatsConclusionCountsSchema)
    amount_cut = Money()
    projects_cut = fields.Integer(metadata={"description": "assessments with amount_cut > 0"})


class StatsCountAmountSchema(Schema):
    count = fields.Integer()
    amount = Money()


class StatsProjectKindCountsSchema(Schema):
    project = fields.Nested(StatsCountAmountSchema)
    policy = fields.Nested(StatsCountAmountSchema)
    department_whole = fields.Nested(StatsCountAmountSchema)


class StatsApprovedTargetsSchema(StatsCountAmountSchema):
    by_kind = fields.Nested(StatsProjectKindCountsSchema)


class StatsTargetFilingSchema(Schema):
    units = fields.Integer(metadata={"description": "departments with a submitted or approved target table"})
    records = fields.Integer(metadata={"description": "submitted or approved target tables"})
    amount = Money()
    approved = fields.Nested(StatsApprovedTargetsSchema,
                             metadata={"description": "approved target tables and their projects' budget, by kind"})


class StatsLightCountsSchema(Schema):
    red = fields.Integer()
    yellow = fields.Integer()
    green = fields.Integer()
    blue = fields.Integer()


class StatsMonitoringFilingSchema(Schema):
    units = fields.Integer(metadata={"description": "departments with at least one monitoring report"})
    projects = fields.Integer()
    records = fields.Integer(metadata={"description": "monitoring reports"})
    by_light = fields.Nested(StatsLightCountsSchema, metadata={"description": "monitoring reports by overall light"})
    amount = Money("budget of the monitored projects")


class StatsSelfEvaluationFilingSchema(Schema):
    units = fields.Integer(metadata={"description": "departments with a submitted self-evaluation"})
    records = fields.Integer()


class StatsFilingSchema(Schema):
    targets = fields.Nested(StatsTargetFilingSchema)
    monitoring = fields.Nested(StatsMonitoringFilingSchema)
    self_evaluation = fields.Nested(StatsSelfEvaluationFilingSchema)


class StatsEvaluationKindCountsSchema(Schema):
    self = fields.Integer()
    department = fields.Integer()
    finance = fields.Integer()
    third_party = fields.Integer()


class StatsKeyEvaluationsSchema(Schema):
    count = fields.Integer(metadata={"description": "finance or third-party evaluations of key projects"})
    by_grade = fields.Dict(keys=fields.String(), values=fields.Integer())


class StatsEvaluationSchema(Schema):
    count = fields.Integer(metadata={"description": "submitted evaluations other than self-evaluations"})
    projects = fields.Integer(metadata={"description": "distinct projects evaluated"})
    amount = Money("budget of the evaluated projects, each once")
    by_kind = fields.Nested(StatsEvaluationKindCountsSchema, metadata={"description": "self-evaluations included"})
    by_grade = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_project_kind = fields.Nested(StatsProjectKindCountsSchema)
    third_party = fields.Integer(metadata={"description": "performed by a third-party agency"})
    key = fields.Nested(StatsKeyEvaluationsSchema)


class StatsReportSchema(Schema):
    published = fields.Integer()
    withheld = fields.Integer(metadata={"description": "classified (涉密): cannot be published"})
    unpublished = fields.Integer()


class StatsRectificationSchema(Schema):
    issued = fields.Integer()
    closed = fields.Integer(metadata={"description": "verified"})
    closed_on_time = fields.Integer()
    overdue = fields.Integer(metadata={"description": "past the deadline and not verified"})
    open = fields.Integer()


class StatsDecisionSchema(Schema):
    count = fields.Integer()
    amount_change = Money()
    idle_recovered = Money()


class StatsResultSchema(Schema):
    count = fields.Integer()
    budget_changes = fields.Integer(metadata={"description": "applications with amount_change ≠ 0"})
    amount_change = Money("net change; negative = cuts")
    reductions = Money()
    increases = Money()
    idle_recovered = Money()
    by_decision = fields.Dict(keys=fields.String(), values=fields.Nested(StatsDecisionSchema))


class YearlyStatisticsSchema(Schema):
    tenant = fields.Nested(StatsTenantRefSchema)
    year = fields.Integer()
    today = fields.Date(metadata={"description": "the date overdue notices are judged on"})
    projects = fields.Nested(StatsProjectSchema)
    exante = fields.Nested(StatsExAnteSchema)
    filing = fields.Nested(StatsFilingSchema)
    evaluations = fields.Nested(StatsEvaluationSchema)
    reports = fields.Nested(StatsReportSchema)
    rectification = fields.Nested(StatsRectificationSchema)
    results = fields.Nested(StatsResultSchema)
