"""Marshmallow schemas of the yearly statistics (money as decimal strings in yuan)."""

from __future__ import annotations

from marshmallow import fields, validate

from jixiao import inputs
from jixiao.dumping import Schema
from jixiao.statistics.service import LEAGUE_COLUMNS, LEAGUE_LEVELS, LEAGUE_SORTS, SCOPES, current_year

MIN_YEAR, MAX_YEAR = 1990, 2100


def Money(description: str = "") -> fields.Decimal:  # noqa: N802 - a field factory, named like a field
    text = "yuan (元), a decimal string with two decimals" + (f"; {description}" if description else "")
    return fields.Decimal(as_string=True, places=2, metadata={"description": text})


class YearArgs(Schema):
    year = inputs.Year(
        query=True, minimum=MIN_YEAR, maximum=MAX_YEAR,
        load_default=current_year,
        metadata={"description": "budget year; default: the current year (Asia/Shanghai)"},
    )


class StatisticsArgs(YearArgs):
    scope = fields.String(
        load_default="own",
        validate=validate.OneOf(SCOPES, error="统计范围应为 own（本级）或 all（含下级）"),
        metadata={"description": "own (本级, the default): the tenant's own records; all (含下级): the tenant and "
                                 "every descendant, with the roll-up, the tenant's own row and one row per direct child"},
    )


class LeagueArgs(YearArgs):
    sort = fields.String(
        load_default="code",
        validate=validate.OneOf(LEAGUE_SORTS, error="排序列应为 {choices} 之一"),
        metadata={"description": "code, name, or a column (this year's rate; rows without a rate come last)"},
    )
    order = fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc"), error="排序方向应为 asc 或 desc"))
    level = fields.String(
        load_default=None,
        validate=validate.OneOf(LEAGUE_LEVELS, error="层级应为 city（市级）或 county（县级）"),
        metadata={"description": "the descendants at this level (below the tenant's); default: the direct children"},
    )
    city = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^\d{6}$", error="应为 6 位行政区划代码"),
        metadata={"description": "only the descendants of this city (a province's); implies level=county"},
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


class StatsModalityAmountsSchema(Schema):
    ppp = fields.Nested(StatsAmountsSchema)
    investment_fund = fields.Nested(StatsAmountsSchema)
    procurement = fields.Nested(StatsAmountsSchema)
    purchase_of_services = fields.Nested(StatsAmountsSchema)
    government_debt = fields.Nested(StatsAmountsSchema)
    none = fields.Nested(StatsAmountsSchema, metadata={"description": "recorded as spent through none of them"})
    unrecorded = fields.Nested(StatsAmountsSchema, metadata={"description": "no modality recorded"})


def _split_schemas(name: str, evaluations: bool) -> type[Schema]:
    """Seed 003's division (policy, department-whole, special funds by source, department budget projects)."""
    extra = {"evaluations": fields.Integer(metadata={"description": "evaluations of these projects"})} \
        if evaluations else {}
    part = Schema.from_dict({"count": fields.Integer(), "amount": Money("budget"), **extra}, name=f"{name}PartSchema")
    sources = Schema.from_dict({source: fields.Nested(part) for source in ("central", "provincial", "city", "own",
                                                                         "unrecorded")},
                               name=f"{name}SourcesSchema")
    special = Schema.from_dict({"count": fields.Integer(), "amount": Money("budget"), **extra,
                                "by_source": fields.Nested(sources)}, name=f"{name}SpecialFundSchema")
    return Schema.from_dict({
        "policy": fields.Nested(part), "department_whole": fields.Nested(part),
        "special_fund": fields.Nested(special, metadata={"description": "projects marked 专项资金, by fund source"}),
        "department_budget": fields.Nested(part, metadata={"description": "the other projects (部门预算项目)"}),
    }, name=f"{name}Schema")


StatsProjectSplitSchema = _split_schemas("StatsProjectSplit", evaluations=False)
StatsEvaluationSplitSchema = _split_schemas("StatsEvaluationSplit", evaluations=True)


class StatsProjectSchema(StatsAmountsSchema):
    by_kind = fields.Nested(StatsProjectKindAmountsSchema)
    by_fund_type = fields.Nested(StatsFundTypeAmountsSchema)
    by_modality = fields.Nested(StatsModalityAmountsSchema, metadata={
        "description": "per spending modality; a project spent through several counts under each"})
    split = fields.Nested(StatsProjectSplitSchema, metadata={
        "description": "policy, department-whole, special funds by source, department budget projects (they add up)"})


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
    split = fields.Nested(StatsEvaluationSplitSchema, metadata={
        "description": "the evaluated projects as seed 003 divides them: count = distinct projects, amount = their "
                       "budget (each once), evaluations = the evaluations of them"})


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


class StatsAppliedResultSchema(Schema):
    count = fields.Integer()
    budget_changes = fields.Integer(metadata={"description": "applications with amount_change ≠ 0"})
    amount_change = Money("net change; negative = cuts")
    reductions = Money()
    increases = Money()
    idle_recovered = Money()
    by_decision = fields.Dict(keys=fields.String(), values=fields.Nested(StatsDecisionSchema))


class StatsResultSchema(StatsAppliedResultSchema):
    applied = fields.Nested(StatsAppliedResultSchema, metadata={
        "description": "the decisions in force that change this year's budget (from earlier years' evaluations)"})


class StatsFiguresSchema(Schema):
    projects = fields.Nested(StatsProjectSchema)
    exante = fields.Nested(StatsExAnteSchema)
    filing = fields.Nested(StatsFilingSchema)
    evaluations = fields.Nested(StatsEvaluationSchema)
    reports = fields.Nested(StatsReportSchema)
    rectification = fields.Nested(StatsRectificationSchema)
    results = fields.Nested(StatsResultSchema)


class StatsChildSchema(StatsFiguresSchema):
    code = fields.String()
    name = fields.String()
    level = fields.String(metadata={"description": "province, city or county"})


class YearlyStatisticsSchema(StatsFiguresSchema):
    """scope=own: the figures at the top level. scope=all: ``scope``, ``total``, ``own`` and ``children`` instead."""

    tenant = fields.Nested(StatsTenantRefSchema)
    year = fields.Integer()
    today = fields.Date(metadata={"description": "the date overdue notices are judged on"})
    scope = fields.String(metadata={"description": "all (含下级) only"})
    total = fields.Nested(StatsFiguresSchema, metadata={"description": "scope=all: own + the children's, every figure"})
    own = fields.Nested(StatsFiguresSchema, metadata={"description": "scope=all: the tenant's own records (本级)"})
    children = fields.List(fields.Nested(StatsChildSchema),
                           metadata={"description": "scope=all: one row per direct child, its whole subtree"})


def Rate() -> fields.Decimal:  # noqa: N802 - a field factory, named like a field
    return fields.Decimal(as_string=True, places=2, allow_none=True, metadata={
        "description": "percent with two decimals, as a string; null when nothing was owed (see reason)"})


class LeagueBandSchema(Schema):
    band = fields.String(metadata={"description": "green, yellow, red or blue"})
    label = fields.String()
    min = fields.Decimal(as_string=True, places=2, metadata={"description": "lower bound, percent"})


class LeagueColumnSchema(Schema):
    key = fields.String()
    label = fields.String()
    definition = fields.String()
    bands = fields.List(fields.Nested(LeagueBandSchema), metadata={"description": "highest lower bound first"})


class LeagueCountCellSchema(Schema):
    # Any field: the money cells below count yuan as decimals.
    numerator: fields.Field = fields.Integer()
    denominator: fields.Field = fields.Integer()
    rate = Rate()
    reason = fields.String(allow_none=True, metadata={"description": "why there is no rate, e.g. 无应报事项"})
    band = fields.String(allow_none=True)
    band_label = fields.String(allow_none=True)


class LeagueMoneyCellSchema(LeagueCountCellSchema):
    numerator = Money("executed by the monitored projects' latest reports")
    denominator = Money("budget of the monitored projects")


class LeagueCellsSchema(Schema):
    targets = fields.Nested(LeagueCountCellSchema)
    monitoring = fields.Nested(LeagueCountCellSchema)
    self_evaluation = fields.Nested(LeagueCountCellSchema)
    execution = fields.Nested(LeagueMoneyCellSchema)
    exante = fields.Nested(LeagueCountCellSchema)
    rectification = fields.Nested(LeagueCountCellSchema)
    publication = fields.Nested(LeagueCountCellSchema)
    lights = fields.Nested(StatsLightCountsSchema, metadata={"description": "monitoring reports by light"})
    grades = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "evaluations (not self-evaluations) by grade"})


class LeagueYearsSchema(Schema):
    current = fields.Nested(LeagueCellsSchema)
    previous = fields.Nested(LeagueCellsSchema)


class LeagueRowSchema(LeagueYearsSchema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent = fields.Nested(StatsTenantRefSchema)


class LeagueSchema(Schema):
    tenant = fields.Nested(StatsTenantRefSchema)
    year = fields.Integer()
    previous_year = fields.Integer()
    level = fields.String(allow_none=True, metadata={"description": "null: the direct children"})
    city = fields.Nested(StatsTenantRefSchema, allow_none=True)
    sort = fields.String()
    order = fields.String()
    columns = fields.List(fields.Nested(LeagueColumnSchema),
                          metadata={"description": "the rate columns in order: " + ", ".join(LEAGUE_COLUMNS)})
    rows = fields.List(fields.Nested(LeagueRowSchema))
    total = fields.Nested(LeagueYearsSchema, metadata={"description": "the rows added up"})


class PlanProgressCellSchema(Schema):
    planned = fields.Integer()
    in_progress = fields.Integer(metadata={"description": "commissioned, not yet submitted"})
    done = fields.Integer(metadata={"description": "submitted"})


class PlanProgressLineSchema(PlanProgressCellSchema):
    project_kind = fields.String(metadata={"description": "project, policy or department_whole"})
    performer = fields.String(metadata={"description": "an agency type, or finance_team (财政绩效评价组)"})


class PlanFiguresSchema(PlanProgressCellSchema):
    has_plan = fields.Boolean(metadata={"description": "含下级 rows: whether any bureau of the row planned the year"})
    note = fields.String()
    lines = fields.List(fields.Nested(PlanProgressLineSchema))
    by_project_kind = fields.Dict(keys=fields.String(), values=fields.Nested(PlanProgressCellSchema))
    by_performer = fields.Dict(keys=fields.String(), values=fields.Nested(PlanProgressCellSchema))


class PlanChildSchema(PlanFiguresSchema):
    code = fields.String()
    name = fields.String()
    level = fields.String()


class PlanProgressSchema(PlanFiguresSchema):
    """``scope=own``: the tenant's figures at the top level. ``scope=all``: ``scope``, ``total``, ``own`` and
    ``children`` (one row per direct child, its whole subtree) instead."""

    tenant = fields.Nested(StatsTenantRefSchema)
    year = fields.Integer()
    scope = fields.String(metadata={"description": "\"all\" for 含下级; absent for 本级"})
    total = fields.Nested(PlanFiguresSchema, metadata={"description": "含下级: the tenant and everything below it"})
    own = fields.Nested(PlanFiguresSchema, metadata={"description": "含下级: the tenant's own"})
    children = fields.List(fields.Nested(PlanChildSchema))
