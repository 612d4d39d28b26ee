"""Yearly statistics of a tenant: counts and amounts per lifecycle stage (the figures of the seeds' reports),
for the tenant alone (本级) or with its descendants (含下级), and the league table of its subordinates.

Everything is computed set-based: :func:`yearly_statistics` runs a fixed number of aggregate statements
(:func:`figure_statements`: GROUP BY queries, all in one on PostgreSQL), whatever the number of rows or tenants;
no row is loaded as an object.
The session's scope (and row-level security on PostgreSQL) already limits what is visible at all.

**Scopes.** ``own`` (本级): only the tenant's own records (``Project.tenant_id == tenant.id``). ``all`` (含下级):
the tenant's and every descendant's, in the same statements: each joins the tenant owning the record's project
and groups by the direct child of the asked tenant that it falls under (read off ``Tenant.path``), so the
answer is the tenant's own row, one row per direct child (its whole subtree) and the roll-up, which is own +
Σ children for every figure: every figure is a count or a sum over records that belong to exactly one tenant
(a department, a project, a report), so the subtrees' figures add up. One statement more (the children).

"Of the year" means: of the projects whose budget ``year`` is the year asked for. Every stage's records are
attributed to their project's year (an ex-ante assessment, a target table, a monitoring report, an
evaluation, a rectification notice and a result application of a 2021 project are 2021's).

A project's **budget** is ``Project.budget_amount`` (its SQL side): the adjusted amount, else the approved
amount, else the requested amount — the first that is set, so an adjusted amount of 0 is a budget of 0.
Money is ``Decimal`` yuan with two decimals. A **unit** (单位) is a department row (部门/单位).

Definitions (the product's):

``projects``
    count and requested / approved / budget amounts of the year's projects, in total, by kind
    (``project``, ``policy``, ``department_whole``) and by fund type (the four budgets);
    ``by_modality``: the same per spending modality (支出方式: ``ppp``, ``investment_fund``, ``procurement``,
    ``purchase_of_services``, ``government_debt``, ``none``) and ``unrecorded`` (none recorded). A project
    spent through several counts under each, so these do not add up to the total; ``none`` and
    ``unrecorded`` exclude the others.
    ``split``: the projects divided as seed 003 divides evaluations — ``policy``, ``department_whole``,
    ``special_fund`` (projects marked 专项资金, with ``by_source``: ``central``, ``provincial``, ``city``,
    ``own`` and ``unrecorded``) and ``department_budget`` (the other projects, 部门预算项目) — each ``count`` and
    ``amount`` (budget). The four add up to the total.
``exante``
    ex-ante assessments (事前绩效评估) of the year's projects: count, count by conclusion
    (``support`` / ``adjust`` / ``reject``), ``amount_cut`` the sum of the amounts cut, ``projects_cut`` the
    number of assessments that cut something (``amount_cut > 0``).
``filing`` (what the units filed; seed 002: 268 / 248 / 243)
    ``targets``: units = distinct departments with at least one target table whose status is ``submitted``
    or ``approved``; records = those target tables; amount = the budget of their projects; ``approved`` =
    the ``approved`` target tables, count and budget, in total and by project kind (seed 003: 89
    department-whole budgets and 345 projects, 2.36亿元).
    ``monitoring``: units = distinct departments with at least one monitoring report; projects = distinct
    projects monitored; records = monitoring reports (one per project and month); ``by_light`` = the reports
    by their overall light; amount = the budget of the monitored projects (seed 000: 32 units, 2.51亿元).
    ``self_evaluation``: units = distinct departments with a ``submitted`` evaluation of kind ``self``;
    records = those self-evaluations.
``evaluations`` (submitted evaluations other than self-evaluations, unless stated)
    ``count``; ``by_kind`` counts *all* submitted evaluations, self-evaluations included (``self``,
    ``department``, ``finance``, ``third_party``); ``by_grade`` (``"未定级"`` for no grade);
    ``by_project_kind`` count and amount (each evaluation counts its project's budget);
    ``third_party`` = performed by third parties (``agency_id`` not null, whatever the kind);
    ``key`` = key evaluations (重点评价): of projects with ``is_key`` true and kind ``finance`` or
    ``third_party``, with their count by grade (seed 001: 27, 18 优 and 9 良);
    ``projects`` = distinct projects evaluated and ``amount`` = their budget, each project once
    (seed 002: 41 evaluations, 138.98亿元);
    ``split`` = the evaluated projects divided as ``projects.split`` (policy, department-whole, special funds by
    source, department budget projects): ``count`` the distinct projects evaluated, ``amount`` their budget
    (each project once), ``evaluations`` the evaluations of them (seed 003: 3 policy, 6 department-whole,
    72 central / provincial / city special-fund projects, 25 department budget projects).
``reports`` (the evaluations above; a classified (涉密) item cannot be published and is counted apart)
    ``withheld`` = of a classified project; ``published`` = not classified and ``published_at`` set;
    ``unpublished`` = the rest. published + withheld + unpublished = evaluations.count
    (seed 002: 40 published, 1 withheld).
``rectification``
    ``issued`` = rectification notices (整改通知书) of the year's projects, whatever their state;
    ``closed`` = status ``verified``; ``closed_on_time`` = ``rectification.closed_on_time`` (verified on a day,
    in the bureau's time zone, no later than the deadline); ``overdue`` = deadline before ``today`` and not
    verified; ``open`` = issued − closed. ``today`` defaults to the current date in the bureau's time zone.
``results``
    result applications (结果应用) of the year's evaluated projects: ``count``, ``by_decision`` (count, sum of
    amount changes, idle funds recovered), ``budget_changes`` = applications that changed the budget
    (``amount_change`` ≠ 0), ``amount_change`` the net sum (negative = cuts), ``reductions`` the sum of the
    negative changes, ``increases`` the sum of the positive ones, ``idle_recovered`` the idle funds recovered.
    Decisions are keyed by their code; :func:`decision_labels` names them for people. Only decisions in force
    count (a decision a more authoritative evaluation of the project replaced does not). ``applied``: the same
    figures for the decisions that change the year's budget (the continuing projects' first year not yet
    approved when decided, ``next_year``), whatever year the evaluated project was of.

The league table (:func:`league`, 排名表) of the tenant's subordinates — the direct children by default, or
the descendants at a level (``city``, ``county``; for a province, its counties, optionally of one city) —
takes the figures above per row, for the year and the year before, and turns them into rates (percent, two
places; ``None`` with a reason when nothing was owed, never 0 or 100):

``targets``  filing.targets.units / units (departments) with a project of the year;
``monitoring``  filing.monitoring.units / units with a project whose budget is approved (the stages in which
    monitoring reports are accepted, ``facts.BUDGETED_STAGES``);
``self_evaluation``  filing.self_evaluation.units / units with a budgeted project (``facts.BUDGETED_STAGES``);
``execution``  executed / budget of the monitored projects (filing.monitoring.amount), executed being each
    monitored project's latest report's executed amount; not capped (over-spending shows as it is);
``exante``  ex-ante coverage: the projects the tenant's rules require an assessment of (the hook
    ``exante_required``, asked per project of the owning tenant, as at approval) that have one / those required;
``rectification``  rectification.closed_on_time / rectification.issued;
``publication``  reports.published / (reports.published + reports.unpublished): evaluated, not classified;

plus the lights (filing.monitoring.by_light) and grades (evaluations.by_grade) as counts. Each rate falls in a
legend band (the setting ``statistics.league_bands``, see :func:`league_bands`). :func:`figure_statements` + 4
statements (one more with a ``city``), whatever the number of rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from jixiao import policy
from jixiao.accounts.models import Department
from jixiao.db import select_many
from jixiao.errors import ValidationFailed
from jixiao.lifecycle import common, facts, rectification, results
from jixiao.lifecycle.models import (
    Agency,
    Conclusion,
    Evaluation,
    EvaluationKind,
    EvaluationPerformer,
    EvaluationPlan,
    EvaluationPlanLine,
    EvaluationStatus,
    ExAnteAssessment,
    FundSource,
    FundType,
    Light,
    MonitoringReport,
    NoticeStatus,
    Project,
    ProjectKind,
    RectificationNotice,
    ResultApplication,
    SpendingModality,
    TargetSet,
    TargetStatus,
)
from jixiao.lifecycle.projects import modalities_text
from jixiao.tenancy import service as tenancy
from jixiao.tenancy.models import Tenant, TenantLevel
from jixiao.toolkit import ProjectView, TenantView
from jixiao.units import local_today, money

NO_GRADE = "未定级"
CENT = Decimal("0.01")
# The number of SQL statements yearly_statistics runs (plus, on PostgreSQL, the scope's settings when a
# transaction begins): fixed, whatever the number of rows or tenants.
# The aggregate statements of a tenant's figures, one per part; on PostgreSQL they run as one
# (jixiao.db.select_many).
PARTS = 9


def figure_statements(session: Session) -> int:
    """The statements :func:`yearly_statistics` runs for the figures (本级); 含下级 also reads the direct
    children's names (one more), and the league the rows, what was owed, the projects' ex-ante requirement and
    the tenants' rules (four more)."""
    return 1 if session.get_bind().dialect.name == "postgresql" else PARTS

OWN, ALL = "own", "all"
SCOPES = (OWN, ALL)
# Every code is a six-digit GB/T 2260 code (loading and provisioning check each against the dataset), so a
# child's path is its parent's plus "NNNNNN/": the child a record falls under is a prefix of its tenant's path.
PATH_SEGMENT = 7
# Roles that read a bureau's figures as a whole, and so its subordinates' (含下级, the league table). Department
# staff see their unit's records and agencies their commissions; experts review what they are given.
ROLLUP_ROLES = policy.BUREAU_FIGURE_READERS

NOTHING_OWED = "无应报事项"
ZERO_BUDGET = "预算数为零"
BANDS_SETTING = "statistics.league_bands"
BAND_COLOURS = ("green", "yellow", "red", "blue")
LEAGUE_COLUMNS: dict[str, tuple[str, str]] = {
    "targets": ("绩效目标填报率", "编报绩效目标的单位 / 有项目的单位"),
    "monitoring": ("绩效监控填报率", "报送监控表的单位 / 预算已批复的单位"),
    "self_evaluation": ("绩效自评填报率", "提交自评的单位 / 预算已批复的单位"),
    "execution": ("预算执行率", "已监控项目的执行数 / 其预算数"),
    "exante": ("事前评估覆盖率", "已开展事前评估 / 按规定应评估的项目"),
    "rectification": ("整改按期完成率", "按期整改销号 / 下达整改通知书"),
    "publication": ("评价报告公开率", "已公开 / 应公开（不含涉密）的评价报告"),
}
LEAGUE_SORTS = ("code", "name", *LEAGUE_COLUMNS)
LEAGUE_LEVELS = (TenantLevel.CITY.value, TenantLevel.COUNTY.value)
_LEVEL_RANK = {TenantLevel.PROVINCE: 0, TenantLevel.CITY: 1, TenantLevel.COUNTY: 2}


def current_year() -> int:
    """The bureau's current year (``jixiao.units.local_today``): the default budget year of pages and API."""
    return local_today().year


# ---- Who may read subordinates' figures ---------------------------------------------------------------------


def may_read_rollup(actor: Any) -> bool:
    """Whether ``actor`` may read a bureau's figures: its own (本级), its subtree's (含下级) and its league table.

    The tenant itself was already checked by the access rule (the user's own or a descendant), so this is
    about the role: ``jixiao.policy.may_read_bureau_figures`` (finance, administrators, auditors and viewers, of
    the tenant or of an upper level). Department staff, evaluators and experts are refused with 403.
    """
    return policy.may_read_bureau_figures(actor)


def require_rollup(actor: Any) -> None:
    policy.require_bureau_figures(actor)


# ---- SQL helpers ------------------------------------------------------------------------------------------


class _Cents(sa.TypeDecorator[Decimal]):
    """An integer number of cents read back as Decimal yuan (SQLite sums money exactly this way)."""

    impl = sa.BigInteger
    cache_ok = True

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        return None if value is None else Decimal(int(value)).scaleb(-2)


class _Sql:
    """Dialect-aware expressions: money is NUMERIC on PostgreSQL, decimal text on SQLite."""

    def __init__(self, session: Session) -> None:
        self.sqlite = session.get_bind().dialect.name == "sqlite"

    def num(self, expr: Any) -> Any:
        """``expr`` as a number SQL can compare (SQLite would compare the stored text)."""
        return sa.cast(expr, sa.Float) if self.sqlite else sa.type_coerce(expr, sa.Numeric(20, 2))

    def money_sum(self, expr: Any) -> Any:
        """An exact sum of money, 0 when there is nothing to sum, read as Decimal."""
        if self.sqlite:
            # Summing the text as floats could drift; cents as 64-bit integers cannot.
            cents = sa.cast(sa.func.round(sa.cast(expr, sa.Float) * 100), sa.BigInteger)
            return sa.type_coerce(sa.func.coalesce(sa.func.sum(cents), 0), _Cents())
        return sa.type_coerce(sa.func.coalesce(sa.func.sum(expr), 0), sa.Numeric(20, 2, asdecimal=True))


def _amounts() -> dict[str, Any]:
    return {"count": 0, "requested_amount": money(0), "approved_amount": money(0), "budget_amount": money(0)}


UNRECORDED = "unrecorded"
SPECIAL_FUND, DEPARTMENT_BUDGET = "special_fund", "department_budget"
#: The split's parts in the order pages show them (seed 003's order).
SPLIT_PARTS = (ProjectKind.POLICY.value, ProjectKind.DEPARTMENT_WHOLE.value, SPECIAL_FUND, DEPARTMENT_BUDGET)
SOURCES = (*(f.value for f in FundSource), UNRECORDED)


def _split(*extra: str) -> dict[str, Any]:
    """Seed 003's division at zero: policy, department-whole, special funds (by source), department budget."""
    def part() -> dict[str, Any]:
        return {"count": 0, "amount": money(0), **{name: 0 for name in extra}}

    return {ProjectKind.POLICY.value: part(), ProjectKind.DEPARTMENT_WHOLE.value: part(),
            SPECIAL_FUND: {**part(), "by_source": {source: part() for source in SOURCES}},
            DEPARTMENT_BUDGET: part()}


def _split_parts(split: dict[str, Any], kind: Any, special: Any, source: Any) -> list[dict[str, Any]]:
    """The parts of ``split`` a project of ``kind`` (special fund or not, from ``source``) counts in."""
    kind = ProjectKind(kind)
    if kind is not ProjectKind.PROJECT:
        return [split[kind.value]]
    if not special:
        return [split[DEPARTMENT_BUDGET]]
    fund = split[SPECIAL_FUND]
    return [fund, fund["by_source"][FundSource(source).value if source else UNRECORDED]]


def _modalities_of(text: Any) -> list[str]:
    """The modalities a project's stored list (its JSON text, as grouped) names; ``unrecorded`` for none."""
    said = set(json.loads(text)) if text else set()
    return [m.value for m in SpendingModality if m.value in said] or [UNRECORDED]


# The tenant owning a record's project; every statement joins it once and groups by the row it falls in.
OWNER = aliased(Tenant, name="owner")
Key = tuple[str, int]  # (the path of the tenant a row stands for, budget year)
# A part of the figures: yields its statement, is sent that statement's rows, adds them into the figures.
Part = Generator[sa.Select[Any] | sa.CompoundSelect, list[tuple[Any, ...]], None]


@dataclasses.dataclass(frozen=True)
class Grouping:
    """Whose records count (``where``, SQL over a tenant) and which row each adds to.

    A row is keyed by a tenant's path: with ``prefix`` None the owning tenant's own, else the first ``prefix``
    characters of it, i.e. the path of the owner's ancestor (or itself) that far down the tree. One join and
    one GROUP BY key, so the statements are the same for one county and for a province.
    """

    where: Callable[[Any], Any]
    prefix: int | None
    years: tuple[int, ...]

    def key(self) -> Any:
        if self.prefix is None:
            return OWNER.path
        # Integers written inline: the SELECT and the GROUP BY must be the same expression to PostgreSQL.
        return sa.func.substr(OWNER.path, sa.literal_column("1"), sa.literal_column(str(int(self.prefix))))

    def select(self, *columns: Any) -> sa.Select[Any]:
        return sa.select(self.key().label("row_key"), Project.year, *columns)

    def scope(self, stmt: sa.Select[Any]) -> sa.Select[Any]:
        """``stmt`` (whose FROM has ``Project``) narrowed to the tenants and years that count."""
        return stmt.join(OWNER, OWNER.id == Project.tenant_id).where(self.where(OWNER), Project.year.in_(self.years))

    def rows(self, stmt: sa.Select[Any], *group_by: Any) -> sa.Select[Any]:
        return self.scope(stmt).group_by(self.key(), Project.year, *group_by)

    def owners(self) -> sa.Select[Any]:
        """The ids of the tenants that count, for a subquery that narrows itself before joining projects."""
        member = aliased(Tenant, name="member")
        return sa.select(member.id).where(self.where(member))


def _own(tenant: Any, years: tuple[int, ...]) -> Grouping:
    return Grouping(where=lambda t: t.id == tenant.id, prefix=None, years=years)


def _by_child(tenant: Any, years: tuple[int, ...], *, with_own: bool, under: Any = None) -> Grouping:
    """A row per direct child of ``tenant`` (its whole subtree) and, ``with_own``, one for ``tenant`` itself (its
    own path is shorter than the prefix, so it keys itself). ``under`` narrows to one child's subtree."""
    base = under if under is not None else tenant

    def where(t: Any) -> Any:
        inside = t.path.startswith(base.path, autoescape=True)
        return inside if with_own else sa.and_(inside, t.id != tenant.id)

    return Grouping(where=where, prefix=len(tenant.path) + PATH_SEGMENT, years=years)


def _by_county(tenant: Any, years: tuple[int, ...], under: Any = None) -> Grouping:
    """A row per county-level descendant: counties are the tree's leaves, so each keys its own records."""
    base = under if under is not None else tenant
    return Grouping(where=lambda t: sa.and_(t.path.startswith(base.path, autoescape=True), t.id != tenant.id,
                                            t.level == TenantLevel.COUNTY),
                    prefix=None, years=years)


def _each(session: Session, stmt: sa.Select[Any] | sa.CompoundSelect, out: dict[Key, dict[str, Any]]) -> Iterator[tuple[dict[str, Any], Any]]:
    """Each result row's figures, the statement run on its own (:func:`_rows_of`)."""
    yield from _rows_of([tuple(row) for row in session.execute(stmt)], out)


def available_years(session: Session, tenant: Any, scope: str = OWN) -> list[int]:
    """The budget years the tenant (``scope="all"``: or any descendant) has projects in, newest first (one
    statement)."""
    grouping = _own(tenant, ()) if scope == OWN else _by_child(tenant, (), with_own=True)
    rows = session.execute(
        sa.select(Project.year).join(OWNER, OWNER.id == Project.tenant_id).where(grouping.where(OWNER))
        .group_by(Project.year).order_by(Project.year.desc())
    )
    return [int(year) for (year,) in rows]


# ---- The yearly figures ------------------------------------------------------------------------------------


def statistics_for(session: Session, actor: Any, tenant: Any, year: int, *, scope: str = OWN) -> dict[str, Any]:
    """The tenant's yearly figures (:func:`yearly_statistics`) for a reader the policy allows: finance,
    administrators, auditors and viewers; department staff, evaluators and experts 403, 本级 as well as 含下级."""
    require_rollup(actor)
    return yearly_statistics(session, tenant, year, scope=scope, actor=actor)


def yearly_statistics(session: Session, tenant: Any, year: int, today: date | None = None, *, scope: str = OWN,
                      actor: Any = None) -> dict[str, Any]:
    """The tenant's figures for the budget year ``year`` (see the module's docstring for the definitions).

    ``scope="own"`` (本级): ``{"tenant", "year", "today", "projects", "exante", "filing", …}``.
    ``scope="all"`` (含下级, only for ``actor`` with :func:`may_read_rollup`): ``{"tenant", "year", "today",
    "scope", "total", "own", "children"}``, where ``own`` and ``total`` hold the figures and each child row
    ``{"code", "name", "level", …figures}`` its subtree's; ``total`` = ``own`` + Σ ``children``.
    """
    today = today or local_today()
    head = {"tenant": {"code": tenant.code, "name": tenant.name}, "year": year, "today": today}
    if scope == OWN:
        key = (tenant.path, year)
        return {**head, **_figures(session, _own(tenant, (year,)), [key], today)[key]}
    if scope != ALL:
        raise ValidationFailed(fields={"scope": "统计范围应为 own（本级）或 all（含下级）"})
    require_rollup(actor)
    children = session.execute(
        sa.select(Tenant.code, Tenant.name, Tenant.level, Tenant.path).where(Tenant.parent_id == tenant.id)
        .order_by(Tenant.code)
    ).all()
    keys = [(tenant.path, year), *((child.path, year) for child in children)]
    figures = _figures(session, _by_child(tenant, (year,), with_own=True), keys, today)
    own = figures[(tenant.path, year)]
    rows = [{"code": c.code, "name": c.name, "level": TenantLevel(c.level).value, **figures[(c.path, year)]}
            for c in children]
    return {**head, "scope": ALL, "total": _total([figures[key] for key in keys]), "own": own, "children": rows}


def _empty() -> dict[str, Any]:
    """The figures of a row with no records (every figure there, at zero)."""
    return {
        "projects": {**_amounts(), "by_kind": {kind.value: _amounts() for kind in ProjectKind},
                     "by_fund_type": {fund.value: _amounts() for fund in FundType},
                     "by_modality": {code: _amounts() for code in (*(m.value for m in SpendingModality), UNRECORDED)},
                     "split": _split()},
        "exante": {"count": 0, "by_conclusion": {c.value: 0 for c in Conclusion}, "amount_cut": money(0),
                   "projects_cut": 0},
        "filing": {
            "targets": {"units": 0, "records": 0, "amount": money(0), "approved": {
                "count": 0, "amount": money(0),
                "by_kind": {kind.value: {"count": 0, "amount": money(0)} for kind in ProjectKind}}},
            "monitoring": {"units": 0, "projects": 0, "records": 0, "amount": money(0),
                           "by_light": {light.value: 0 for light in Light}},
            "self_evaluation": {"units": 0, "records": 0},
        },
        "evaluations": {
            "count": 0,
            "projects": 0,
            "amount": money(0),
            "by_kind": {k.value: 0 for k in EvaluationKind},
            "by_grade": {},
            "by_project_kind": {k.value: {"count": 0, "amount": money(0)} for k in ProjectKind},
            "third_party": 0,
            "key": {"count": 0, "by_grade": {}},
            "split": _split("evaluations"),
        },
        "reports": {"published": 0, "withheld": 0, "unpublished": 0},
        "rectification": {"issued": 0, "closed": 0, "closed_on_time": 0, "overdue": 0, "open": 0},
        "results": {**_result_figures(), "applied": _result_figures()},
    }


def _result_figures() -> dict[str, Any]:
    return {"count": 0, "budget_changes": 0, "amount_change": money(0), "reductions": money(0),
            "increases": money(0), "idle_recovered": money(0), "by_decision": {}}


def _add(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for name, value in other.items():
        if isinstance(value, Mapping):
            _add(into.setdefault(name, {}), value)
        else:
            into[name] = into.get(name, 0) + value


def _total(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Figures added up: counts and sums of records that each belong to one tenant, so subtrees add."""
    total = _empty()
    for part in parts:
        _add(total, part)
    return total


def _figures(session: Session, grouping: Grouping, keys: Iterable[Key], today: date) -> dict[Key, dict[str, Any]]:
    """Every row's figures for every year of ``grouping``, in :func:`figure_statements` statements: each part
    names its aggregate statement and adds up its rows; the statements run together (``jixiao.db.select_many``:
    one on PostgreSQL)."""
    sql = _Sql(session)
    out = {key: _empty() for key in keys}
    parts = [_projects(sql, grouping, out), _exante(sql, grouping, out), _targets(sql, grouping, out),
             _monitoring(sql, grouping, out), _self_evaluation(grouping, out), _evaluations(sql, grouping, out),
             _evaluated_projects(sql, grouping, out), _rectification(session, grouping, out, today),
             _results(sql, grouping, out)]
    statements = [next(part) for part in parts]
    for part, rows in zip(parts, select_many(session, statements), strict=True):
        with contextlib.suppress(StopIteration):
            part.send(rows)
    return out


def _rows_of(rows: list[tuple[Any, ...]], out: dict[Key, dict[str, Any]]) -> Iterator[tuple[dict[str, Any], Any]]:
    """Each row's figures (rows outside ``out``, e.g. a tenant that is not one of the rows, are skipped)."""
    for row_key, year, *values in rows:
        figures = out.get((row_key, int(year)))
        if figures is not None:
            yield figures, values


def _projects(sql: _Sql, g: Grouping, out: dict[Key, dict[str, Any]]) -> Part:
    # Grouped by the modalities' stored text too (one group per combination), split into modalities here: a
    # GROUP BY over the list's elements would need JSON functions the two databases spell differently.
    modalities = modalities_text()
    stmt = g.rows(
        g.select(
            Project.kind,
            Project.fund_type,
            modalities,
            Project.is_special_fund,
            Project.fund_source,
            sa.func.count(Project.id),
            sql.money_sum(Project.requested_amount),
            sql.money_sum(Project.approved_amount),
            sql.money_sum(Project.budget_amount),
        ).select_from(Project),
        Project.kind, Project.fund_type, modalities, Project.is_special_fund, Project.fund_source,
    )
    rows = yield stmt
    for figures, values in _rows_of(rows, out):
        kind, fund, stored, special, source, count, requested, approved, budget = values
        total = figures["projects"]
        by_modality = [total["by_modality"][code] for code in _modalities_of(stored)]
        for group in (total, total["by_kind"][ProjectKind(kind).value], total["by_fund_type"][FundType(fund).value],
                      *by_modality):
            group["count"] += count
            group["requested_amount"] += money(requested)
            group["approved_amount"] += money(approved)
            group["budget_amount"] += money(budget)
        for part in _split_parts(total["split"], kind, special, source):
            part["count"] += count
            part["amount"] += money(budget)


def _exante(sql: _Sql, g: Grouping, out: dict[Key, dict[str, Any]]) -> Part:
    stmt = g.rows(
        g.select(
            ExAnteAssessment.conclusion,
            sa.func.count(ExAnteAssessment.id),
            sql.money_sum(ExAnteAssessment.amount_cut),
            sa.func.count(sa.case((sql.num(ExAnteAssessment.amount_cut) > 0, 1))),
        ).select_from(ExAnteAssessment).join(Project, Project.id == ExAnteAssessment.project_id),
        ExAnteAssessment.conclusion,
    )
    rows = yield stmt
    for figures, (conclusion, count, cut, projects_cut) in _rows_of(rows, out):
        result = figures["exante"]
        result["count"] += count
        result["by_conclusion"][Conclusion(conclusion).value] += count
        result["amount_cut"] += money(cut)
        result["projects_cut"] += projects_cut


def _targets(sql: _Sql, g: Grouping, out: dict[Key, dict[str, Any]]) -> Part:
    """One statement: the filed tables, and the approved ones by project kind as conditional aggregates (a
    GROUP BY kind could not count the distinct units of all kinds together)."""
    budget = Project.budget_amount
    approved = TargetSet.status == TargetStatus.APPROVED
    kinds = list(ProjectKind)
    per_kind = [column for kind in kinds for column in (
        sa.func.count(sa.case((sa.and_(approved, Project.kind == kind), 1))),
        sql.money_sum(sa.case((sa.and_(approved, Project.kind == kind), budget))),
    )]
    stmt = g.rows(
        g.select(sa.func.count(sa.distinct(Project.department_id)), sa.func.count(TargetSet.id),
                 sql.money_sum(budget), *per_kind)
        .select_from(TargetSet).join(Project, Project.id == TargetSet.project_id)
        .where(facts.targets_filed())
    )
    rows = yield stmt
    for figures, (units, records, amount, *per) in _rows_of(rows, out):
        by_kind = {kind.value: {"count": per[2 * i], "amount": money(per[2 * i + 1])} for i, kind in enumerate(kinds)}
        figures["filing"]["targets"] = {
            "units": units, "records": records, "amount": money(amount),
            "approved": {"count": sum(k["count"] for k in by_kind.values()),
                         "amount": sum((k["amount"] for k in by_kind.values()), money(0)), "by_kind": by_kind}}


def _monitoring(sql: _Sql, g: Grouping, out: dict[Key, dict[str, Any]]) -> Part:
    lights = list(Light)
    # Per project first, so that each monitored project's budget counts once however many months it reported.
    per_project = (
        sa.select(MonitoringReport.project_id.label("project_id"), sa.func.count(MonitoringReport.id).label("reports"),
                  *(sa.func.count(sa.case((MonitoringReport.light == light, 1))).label(light.value)
                    for light in lights))
        .where(MonitoringReport.tenant_id.in_(g.owners()))
        .group_by(MonitoringReport.project_id)
        .subquery()
    )
    stmt = g.rows(
        g.select(sa.func.count(sa.distinct(Project.department_id)), sa.func.count(Project.id),
                 sa.func.coalesce(sa.func.sum(per_project.c.reports), 0), sql.money_sum(Project.budget_amount),
                 *(sa.func.coalesce(sa.func.sum(per_project.c[light.value]), 0) for light in lights))
        .select_from(Project)
        .join(per_project, per_project.c.project_id == Project.id)
    )
    rows = yield stmt
    for figures, (units, projects, records, amount, *by_light) in _rows_of(rows, out):
        figures["filing"]["monitoring"] = {
            "units": units, "projects": projects, "records": int(records), "amount": money(amount),
            "by_light": {light.value: int(n) for light, n in zip(lights, by_light, strict=True)}}


def _self_evaluation(g: Grouping, out: dict[Key, dict[str, Any]]) -> Part:
    stmt = g.rows(
        g.select(sa.func.count(sa.distinct(Project.department_id)), sa.func.count(Evaluation.id))
        .select_from(Evaluation).join(Project, Project.id == Evaluation.project_id)
        .where(facts.submitted_evaluations((EvaluationKind.SELF,)))
    )
    rows = yield stmt
    for figures, (units, records) in _rows_of(rows, out):
        figures["filing"]["self_evaluation"] = {"units": units, "records": records}


def _evaluations(sql: _Sql, g: Grouping, out: dict[Key, dict[str, Any]]) -> Part:
    """The submitted evaluations grouped every way at once (the distinct projects: :func:`_evaluated_projects`)."""
    by_agency = Evaluation.agency_id.is_not(None)
    published = Evaluation.published_at.is_not(None)
    stmt = g.rows(
        g.select(
            Evaluation.kind, Evaluation.grade, Project.kind, by_agency, Project.is_key, published, Project.classified,
            Project.is_special_fund, Project.fund_source,
            sa.func.count(Evaluation.id), sql.money_sum(Project.budget_amount),
        ).select_from(Evaluation).join(Project, Project.id == Evaluation.project_id)
        .where(Evaluation.status == EvaluationStatus.SUBMITTED),
        Evaluation.kind, Evaluation.grade, Project.kind, by_agency, Project.is_key, published, Project.classified,
        Project.is_special_fund, Project.fund_source,
    )
    rows = yield stmt
    for figures, values in _rows_of(rows, out):
        kind, grade, project_kind, agency, is_key, is_published, classified, special, source, count, amount = values
        evaluations, reports = figures["evaluations"], figures["reports"]
        kind = EvaluationKind(kind)
        evaluations["by_kind"][kind.value] += count
        if kind is EvaluationKind.SELF:
            continue
        grade = grade or NO_GRADE
        evaluations["count"] += count
        evaluations["by_grade"][grade] = evaluations["by_grade"].get(grade, 0) + count
        group = evaluations["by_project_kind"][ProjectKind(project_kind).value]
        group["count"] += count
        group["amount"] += money(amount)
        for part in _split_parts(evaluations["split"], project_kind, special, source):
            part["evaluations"] += count
        if agency:
            evaluations["third_party"] += count
        if is_key and kind in facts.KEY_EVALUATION_KINDS:
            key = evaluations["key"]
            key["count"] += count
            key["by_grade"][grade] = key["by_grade"].get(grade, 0) + count
        if classified:
            reports["withheld"] += count
        elif is_published:
            reports["published"] += count
        else:
            reports["unpublished"] += count


def _evaluated_projects(sql: _Sql, g: Grouping, out: dict[Key, dict[str, Any]]) -> Part:
    """The distinct projects evaluated (a project evaluated twice counts once), and their budget."""
    evaluated = (
        sa.select(Evaluation.project_id)
        .where(Evaluation.tenant_id.in_(g.owners()), facts.submitted_evaluations())
    )
    stmt = g.rows(
        g.select(Project.kind, Project.is_special_fund, Project.fund_source, sa.func.count(Project.id),
                 sql.money_sum(Project.budget_amount))
        .select_from(Project).where(Project.id.in_(evaluated)),
        Project.kind, Project.is_special_fund, Project.fund_source,
    )
    rows = yield stmt
    for figures, (kind, special, source, projects, amount) in _rows_of(rows, out):
        evaluations = figures["evaluations"]
        evaluations["projects"] += projects
        evaluations["amount"] += money(amount)
        for part in _split_parts(evaluations["split"], kind, special, source):
            part["count"] += projects
            part["amount"] += money(amount)


def _rectification(session: Session, g: Grouping, out: dict[Key, dict[str, Any]], today: date) -> Part:
    notice = RectificationNotice
    verified = notice.status == NoticeStatus.VERIFIED
    on_time = rectification.closed_on_time(session)
    overdue = sa.and_(notice.status != NoticeStatus.VERIFIED, notice.deadline < today)
    stmt = g.rows(
        g.select(sa.func.count(notice.id), sa.func.count(sa.case((verified, 1))),
                 sa.func.count(sa.case((on_time, 1))), sa.func.count(sa.case((overdue, 1))))
        .select_from(notice).join(Project, Project.id == notice.project_id)
    )
    rows = yield stmt
    for figures, (issued, closed, closed_on_time, overdue_count) in _rows_of(rows, out):
        figures["rectification"] = {"issued": issued, "closed": closed, "closed_on_time": closed_on_time,
                                    "overdue": overdue_count, "open": issued - closed}


def _results(sql: _Sql, g: Grouping, out: dict[Key, dict[str, Any]]) -> Part:
    """The decisions in force on the year's evaluated projects, and (``applied``) those that change the year's
    budget — decided on earlier years' evaluations — in one statement (UNION ALL of the two groupings)."""
    application = ResultApplication
    change = application.amount_change

    def figures(part: str) -> list[Any]:
        return [
            sa.literal_column(f"'{part}'").label("part"),
            application.decision,
            sa.func.count(application.id),
            sa.func.count(sa.case((sql.num(change) != 0, 1))),
            sql.money_sum(change),
            sql.money_sum(sa.case((sql.num(change) < 0, change), else_=None)),
            sql.money_sum(sa.case((sql.num(change) > 0, change), else_=None)),
            sql.money_sum(application.idle_recovered),
        ]

    evaluated = g.rows(
        g.select(*figures("evaluated")).select_from(application)
        .join(Project, Project.id == application.project_id).where(application.in_force.is_(True)),
        application.decision,
    )
    reaching = (
        sa.select(g.key().label("row_key"), application.next_year, *figures("applied"))
        .select_from(application).join(OWNER, OWNER.id == application.tenant_id)
        .where(g.where(OWNER), application.next_year.in_(g.years), application.in_force.is_(True))
        .group_by(g.key(), application.next_year, application.decision)
    )
    stmt = sa.union_all(evaluated, reaching)
    rows = yield stmt
    for figures_of, (part, decision, count, changes, net, reductions, increases, idle) in _rows_of(rows, out):
        result = figures_of["results"] if part == "evaluated" else figures_of["results"]["applied"]
        result["count"] += count
        result["budget_changes"] += changes
        result["amount_change"] += money(net)
        result["reductions"] += money(reductions)
        result["increases"] += money(increases)
        result["idle_recovered"] += money(idle)
        result["by_decision"][decision] = {"count": count, "amount_change": money(net), "idle_recovered": money(idle)}


def decision_labels(session: Session, tenant: Any, year: int) -> dict[str, str]:
    """Results decisions' codes in words (``prioritise`` → 优先保障), as the tenant's rules name them for
    ``year``: the one lookup the statistics page and the yearly report use, so neither shows a code."""
    bands = common.hooks(session, tenant).evaluation_grade_bands(kind=EvaluationKind.FINANCE.value) or []
    return results.action_labels(session, tenant, year, [str(band[0]) for band in bands])


# ---- The league table of the subordinates (排名表) -----------------------------------------------------------


def league_bands(settings: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each league column's legend bands, highest lower bound first: ``{column: [{"band", "label", "min"}]}``.

    From the setting ``statistics.league_bands``: ``{"default": [bands], "<column>": [bands]}``, each band
    ``{"band": "green" | "yellow" | "red" | "blue", "label": "较好", "min": 80}``: a rate of at least ``min``
    percent and below the next band's. A column without bands of its own takes ``default``; ``null`` means no
    bands. A setting of another shape is refused, naming it (400): a wrong band would mislabel every row.
    """
    raw = settings.get(BANDS_SETTING)
    if raw is None:
        return {column: [] for column in LEAGUE_COLUMNS}

    def fail(message: str) -> ValidationFailed:
        return ValidationFailed(f"设置 {BANDS_SETTING} 有误：{message}", fields={BANDS_SETTING: message})

    if not isinstance(raw, Mapping):
        raise fail("应为 {列: [分档, …]}，default 适用于未单独设置的列")
    unknown = sorted(str(name) for name in raw if name not in ("default", *LEAGUE_COLUMNS))
    if unknown:
        raise fail(f"没有这些列：{'、'.join(unknown)}（可设置 default、{'、'.join(LEAGUE_COLUMNS)}）")
    parsed: dict[str, list[dict[str, Any]]] = {}
    for column, bands in raw.items():
        if not isinstance(bands, list) or not bands:
            raise fail(f"{column} 应为非空的分档列表")
        items = []
        for band in bands:
            shape = f"{column} 的每一档都需要 band（{'、'.join(BAND_COLOURS)}）、label（名称）和 min（下限，百分数）"
            if not isinstance(band, Mapping) or band.get("band") not in BAND_COLOURS or not str(band.get("label") or "").strip():
                raise fail(shape)
            try:
                low = Decimal(str(band.get("min")))
            except InvalidOperation:
                raise fail(shape) from None
            if not low.is_finite():
                raise fail(shape)
            items.append({"band": band["band"], "label": str(band["label"]).strip(), "min": low.quantize(CENT)})
        parsed[str(column)] = sorted(items, key=lambda item: item["min"], reverse=True)
    default = parsed.get("default", [])
    return {column: parsed.get(column, default) for column in LEAGUE_COLUMNS}


def league(session: Session, actor: Any, tenant: Any, year: int, *, sort: str = "code", order: str = "asc",
           level: str | None = None, city: str | None = None, today: date | None = None) -> dict[str, Any]:
    """The league table of ``tenant``'s subordinates for ``year`` and the year before (definitions: the module's
    docstring): its direct children, or its descendants at ``level`` (``city`` / ``county``), those of ``city``
    only (a city of a province; implies ``level="county"`` unless given). Sorted by ``sort`` (``code``, ``name``
    or a column, on this year's rate, rows without a rate last) in ``order``; ``total`` adds the rows up.
    """
    require_rollup(actor)
    if sort not in LEAGUE_SORTS:
        raise ValidationFailed(fields={"sort": f"排序列应为 {'、'.join(LEAGUE_SORTS)} 之一"})
    if order not in ("asc", "desc"):
        raise ValidationFailed(fields={"order": "排序方向应为 asc（升序）或 desc（降序）"})
    today = today or local_today()
    wanted = _league_level(tenant, level)
    under = _league_city(session, tenant, city) if city else None
    if under is not None and wanted is None:
        wanted = TenantLevel.COUNTY
    rules = _rules_by_tenant(session, tenant)
    bands = league_bands(rules(tenant.id).settings)
    rows = _league_rows(session, tenant, wanted, under)
    years = (year - 1, year)
    grouping = (_by_county(tenant, years, under) if wanted is TenantLevel.COUNTY
                else _by_child(tenant, years, with_own=False, under=under))
    keys = [(row.path, y) for row in rows for y in years]
    figures = _figures(session, grouping, keys, today)
    owed = _owed(session, _Sql(session), grouping, keys)
    exante = _exante_coverage(session, grouping, keys, rules)
    inputs = {key: _league_inputs(figures[key], owed[key], exante[key]) for key in keys}
    table = [{
        "code": row.code, "name": row.name, "level": TenantLevel(row.level).value,
        "parent": {"code": row.parent_code, "name": row.parent_name},
        "current": _cells(inputs[(row.path, year)], bands),
        "previous": _cells(inputs[(row.path, year - 1)], bands),
    } for row in rows]
    return {
        "tenant": {"code": tenant.code, "name": tenant.name},
        "year": year,
        "previous_year": year - 1,
        "level": wanted.value if wanted is not None else None,
        "city": {"code": under.code, "name": under.name} if under is not None else None,
        "sort": sort,
        "order": order,
        "columns": [{"key": column, "label": label, "definition": definition, "bands": bands[column]}
                    for column, (label, definition) in LEAGUE_COLUMNS.items()],
        "rows": _sorted(table, sort, order),
        "total": {"current": _cells(_sum_inputs(inputs[(row.path, year)] for row in rows), bands),
                  "previous": _cells(_sum_inputs(inputs[(row.path, year - 1)] for row in rows), bands)},
    }


def _league_level(tenant: Any, level: str | None) -> TenantLevel | None:
    if not level:
        return None
    below = [lv for lv in (TenantLevel.CITY, TenantLevel.COUNTY) if _LEVEL_RANK[lv] > _LEVEL_RANK[TenantLevel(tenant.level)]]
    if level not in [lv.value for lv in below]:
        allowed = "、".join(f"{lv.value}（{lv.label}）" for lv in below) or "无（本级没有更低的层级）"
        raise ValidationFailed(fields={"level": f"层级应为本级以下的层级：{allowed}"})
    return TenantLevel(level)


def _league_city(session: Session, tenant: Any, code: str) -> Tenant:
    city = tenancy.get_by_code(session, code)
    if (city is None or city.level is not TenantLevel.CITY or city.id == tenant.id
            or not city.path.startswith(tenant.path)):
        raise ValidationFailed(fields={"city": f"{code} 不是本级所辖的市级财政部门"})
    return city


def _league_rows(session: Session, tenant: Any, level: TenantLevel | None, under: Any) -> list[Any]:
    """The tenants the table has a row for, by code, with their parent (one statement)."""
    parent = aliased(Tenant, name="parent")
    if level is None:
        where = [Tenant.parent_id == tenant.id]
    else:
        base = under if under is not None else tenant
        where = [Tenant.path.startswith(base.path, autoescape=True), Tenant.id != tenant.id, Tenant.level == level]
    stmt = (sa.select(Tenant.code, Tenant.name, Tenant.level, Tenant.path, parent.code.label("parent_code"),
                      parent.name.label("parent_name"))
            .join(parent, parent.id == Tenant.parent_id).where(*where).order_by(Tenant.code))
    return list(session.execute(stmt).all())


def _rules_by_tenant(session: Session, tenant: Any) -> Callable[[int], TenantView]:
    """Each tenant of the subtree as its rules see it, from one statement (the subtree and the ancestors),
    where asking tenant by tenant would cost a statement each."""
    loaded = session.scalars(sa.select(Tenant).where(sa.or_(
        Tenant.path.startswith(tenant.path, autoescape=True), Tenant.code.in_(tenant.ancestor_codes)))).all()
    by_code = {t.code: t for t in loaded}
    by_id = {t.id: t for t in loaded}
    views: dict[int, TenantView] = {}

    def view(tenant_id: int) -> TenantView:
        if tenant_id not in views:
            found = by_id.get(tenant_id)
            if found is None:  # created since the statement above: ask for it on its own
                views[tenant_id] = common.tenant_view(session, session.get_one(Tenant, tenant_id))
            else:
                chain = [*(by_code[c] for c in found.ancestor_codes if c in by_code), found]
                views[tenant_id] = tenancy.view(session, common.host(), found, chain=chain)
        return views[tenant_id]

    return view


def _owed(session: Session, sql: _Sql, g: Grouping, keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
    """What the units owed (those with a project, those with an approved budget) and what the monitored
    projects executed by their latest report, in one statement."""
    report = MonitoringReport
    latest_period = (sa.select(report.project_id.label("project_id"), sa.func.max(report.period).label("period"))
                     .where(report.tenant_id.in_(g.owners())).group_by(report.project_id).subquery())
    latest = (sa.select(report.project_id.label("project_id"), report.executed_amount.label("executed"))
              .join(latest_period, sa.and_(latest_period.c.project_id == report.project_id,
                                           latest_period.c.period == report.period))
              .subquery())
    budgeted_unit = sa.case((facts.budgeted(), Project.department_id))
    stmt = g.rows(
        g.select(sa.func.count(sa.distinct(Project.department_id)), sa.func.count(sa.distinct(budgeted_unit)),
                 sql.money_sum(latest.c.executed))
        .select_from(Project).outerjoin(latest, latest.c.project_id == Project.id)
    )
    out = {key: {"units": 0, "monitored_units": 0, "evaluated_units": 0, "executed": money(0)} for key in keys}
    for figures, (units, budgeted_units, executed) in _each(session, stmt, out):
        # Monitoring and self-evaluation are both owed by the units with a budgeted project (facts.budgeted).
        figures.update(units=int(units), monitored_units=int(budgeted_units), evaluated_units=int(budgeted_units),
                       executed=money(executed))
    return out


def _exante_coverage(session: Session, g: Grouping, keys: Iterable[Key],
                     rules: Callable[[int], TenantView]) -> dict[Key, dict[str, int]]:
    """Projects whose tenant's rules require an ex-ante assessment, and those of them that have one.

    The requirement is a hook answered per project (a region decides by amount, kind, novelty, year), so the
    projects are read in one statement and asked here, each of its own tenant's rules, as at approval.
    """
    stmt = g.scope(
        g.select(Project.tenant_id, Project.id, Project.code, Project.name, Project.kind, Project.fund_type,
                 Project.category, Project.is_new, Project.is_key, Project.requested_amount, Project.approved_amount,
                 Department.code, ExAnteAssessment.id.is_not(None))
        .select_from(Project).join(Department, Department.id == Project.department_id)
        .outerjoin(ExAnteAssessment, ExAnteAssessment.project_id == Project.id)
    )
    out = {key: {"required": 0, "done": 0} for key in keys}
    hooks: dict[int, Any] = {}
    for row in session.execute(stmt):
        (row_key, year, tenant_id, project_id, code, name, kind, fund, category, is_new, is_key, requested, approved,
         unit, done) = row
        counts = out.get((row_key, int(year)))
        if counts is None:
            continue
        if tenant_id not in hooks:
            hooks[tenant_id] = common.host().for_tenant(rules(tenant_id))
        project = ProjectView(
            id=project_id, code=code, name=name, year=int(year), kind=ProjectKind(kind).value,
            fund_type=FundType(fund).value, category=category or "", is_new=bool(is_new), is_key=bool(is_key),
            requested_amount=requested, approved_amount=approved, department_code=unit or "")
        if hooks[tenant_id].exante_required(project=project):
            counts["required"] += 1
            counts["done"] += bool(done)
    return out


def _league_inputs(figures: dict[str, Any], owed: dict[str, Any], exante: dict[str, int]) -> dict[str, Any]:
    """A row's (numerator, denominator) per column, from the yearly figures: the same definitions."""
    filing, reports, rect = figures["filing"], figures["reports"], figures["rectification"]
    return {
        "targets": (filing["targets"]["units"], owed["units"]),
        "monitoring": (filing["monitoring"]["units"], owed["monitored_units"]),
        "self_evaluation": (filing["self_evaluation"]["units"], owed["evaluated_units"]),
        "execution": (owed["executed"], filing["monitoring"]["amount"]),
        "exante": (exante["done"], exante["required"]),
        "rectification": (rect["closed_on_time"], rect["issued"]),
        "publication": (reports["published"], reports["published"] + reports["unpublished"]),
        "monitored_projects": filing["monitoring"]["projects"],
        "lights": dict(filing["monitoring"]["by_light"]),
        "grades": dict(figures["evaluations"]["by_grade"]),
    }


def _sum_inputs(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {column: (0, 0) for column in LEAGUE_COLUMNS}
    total.update(execution=(money(0), money(0)), monitored_projects=0, lights={light.value: 0 for light in Light},
                 grades={})
    for part in parts:
        for column in LEAGUE_COLUMNS:
            total[column] = (total[column][0] + part[column][0], total[column][1] + part[column][1])
        total["monitored_projects"] += part["monitored_projects"]
        for name in ("lights", "grades"):
            for value, n in part[name].items():
                total[name][value] = total[name].get(value, 0) + n
    return total


def _cells(inputs: dict[str, Any], bands: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    for column in LEAGUE_COLUMNS:
        numerator, denominator = inputs[column]
        # Monitored projects whose budgets were all cut to nothing owe no execution: say so, not "nothing owed".
        reason = ZERO_BUDGET if column == "execution" and inputs["monitored_projects"] else NOTHING_OWED
        cells[column] = rate_cell(numerator, denominator, bands[column], reason)
    cells["lights"] = inputs["lights"]
    cells["grades"] = inputs["grades"]
    return cells


def rate_cell(numerator: int | Decimal, denominator: int | Decimal, bands: list[dict[str, Any]],
              reason: str = NOTHING_OWED) -> dict[str, Any]:
    """``numerator / denominator`` as a percentage with two places and its band; with nothing owed
    (denominator 0) the rate is ``None`` and ``reason`` says why: never 0 or 100, which would rank a row that
    filed nothing as the worst, or the best."""
    cell: dict[str, Any] = {"numerator": numerator, "denominator": denominator, "rate": None, "reason": reason,
                            "band": None, "band_label": None}
    if not denominator:
        return cell
    rate = (Decimal(numerator) * 100 / Decimal(denominator)).quantize(CENT, rounding=ROUND_HALF_UP)
    band = next((b for b in bands if rate >= b["min"]), None)
    cell.update(rate=rate, reason=None, band=band["band"] if band else None, band_label=band["label"] if band else None)
    return cell


def _sorted(rows: list[dict[str, Any]], sort: str, order: str) -> list[dict[str, Any]]:
    descending = order == "desc"
    if sort in ("code", "name"):
        return sorted(rows, key=lambda row: (row[sort], row["code"]), reverse=descending)

    def key(row: dict[str, Any]) -> tuple[int, Decimal, str]:
        rate = row["current"][sort]["rate"]
        if rate is None:  # nothing owed ranks neither first nor last among those measured: after them
            return (1, Decimal(0), row["code"])
        return (0, -rate if descending else rate, row["code"])

    return sorted(rows, key=key)


# ---- The yearly plan of key evaluations ---------------------------------------------------------------------


def _progress_cell() -> dict[str, int]:
    return {"planned": 0, "in_progress": 0, "done": 0}


def plan_progress(session: Session, actor: Any, tenant: Any, year: int, *, scope: str = OWN) -> dict[str, Any]:
    """The year's plan of key evaluations (``lifecycle.plans``) against what was commissioned and done, for the
    readers of the bureau's figures; two statements, whatever the size of the tree.

    Counted: each bureau's own evaluations of kind ``finance`` or ``third_party`` (``facts.KEY_EVALUATION_KINDS``)
    of its year's projects, by their project's kind and their performer: an evaluation with an agency is
    performed by the agency's type (会计师事务所, 咨询机构 …); a finance evaluation without one by finance's own
    team (``finance_team``, 财政绩效评价组). ``done`` = submitted, ``in_progress`` = commissioned, not yet
    submitted. Lines that were done without being planned appear with ``planned`` 0. ``by_project_kind`` and
    ``by_performer`` add the lines up, and the totals add up the lines.

    ``scope="all"`` (含下级): every bureau's plan against its own evaluations, added up: ``total`` (the tenant
    and all below it), ``own`` (the tenant's own, as with ``scope="own"``) and ``children``, one row per direct
    child for its whole subtree (``has_plan``: whether any bureau of it planned the year); ``total`` = ``own`` +
    Σ ``children``, line by line.
    """
    require_rollup(actor)
    if scope not in (OWN, ALL):
        raise ValidationFailed(fields={"scope": "统计范围应为 own（本级）或 all（含下级）"})
    grouping = _own(tenant, (year,)) if scope == OWN else _by_child(tenant, (year,), with_own=True)
    rows: dict[str, dict[tuple[str, str], dict[str, int]]] = {}
    planned_by: dict[str, bool] = {}
    notes: dict[str, str] = {}
    plan_stmt = (
        sa.select(grouping.key(), EvaluationPlan.note, EvaluationPlanLine.project_kind,
                  EvaluationPlanLine.performer, EvaluationPlanLine.planned_count)
        .select_from(EvaluationPlan).join(OWNER, OWNER.id == EvaluationPlan.tenant_id)
        .outerjoin(EvaluationPlanLine, EvaluationPlanLine.plan_id == EvaluationPlan.id)
        .where(grouping.where(OWNER), EvaluationPlan.year == year)
    )
    for row_key, note, project_kind, who, count in session.execute(plan_stmt):
        planned_by[row_key] = True
        if row_key == tenant.path:
            notes[row_key] = note or ""
        if project_kind is not None:
            cell = rows.setdefault(row_key, {}).setdefault(
                (ProjectKind(project_kind).value, EvaluationPerformer(who).value), _progress_cell())
            cell["planned"] += count
    performer = sa.case((Evaluation.agency_id.is_(None), EvaluationPerformer.FINANCE_TEAM.value),
                        else_=sa.type_coerce(Agency.agency_type, sa.String(24)))
    stmt = grouping.rows(
        grouping.select(Project.kind, performer, Evaluation.status, sa.func.count(Evaluation.id))
        .select_from(Evaluation).join(Project, Project.id == Evaluation.project_id)
        .outerjoin(Agency, Agency.id == Evaluation.agency_id)
        .where(Evaluation.tenant_id == Project.tenant_id, Evaluation.kind.in_(facts.KEY_EVALUATION_KINDS)),
        Project.kind, performer, Evaluation.status)
    for row_key, _year, project_kind, who, status, count in session.execute(stmt):
        cell = rows.setdefault(row_key, {}).setdefault(
            (ProjectKind(project_kind).value, EvaluationPerformer(str(who)).value), _progress_cell())
        cell["done" if EvaluationStatus(status) is EvaluationStatus.SUBMITTED else "in_progress"] += count
    head = {"tenant": {"code": tenant.code, "name": tenant.name}, "year": year}
    own = _plan_figures(rows.get(tenant.path, {}), planned_by.get(tenant.path, False), notes.get(tenant.path, ""))
    if scope == OWN:
        return {**head, **own}
    children = session.execute(sa.select(Tenant.code, Tenant.name, Tenant.level, Tenant.path)
                               .where(Tenant.parent_id == tenant.id).order_by(Tenant.code)).all()
    merged: dict[tuple[str, str], dict[str, int]] = {}
    for cells in rows.values():
        for line, cell in cells.items():
            into = merged.setdefault(line, _progress_cell())
            for name, value in cell.items():
                into[name] += value
    return {**head, "scope": ALL, "total": _plan_figures(merged, any(planned_by.values()), ""), "own": own,
            "children": [{"code": c.code, "name": c.name, "level": TenantLevel(c.level).value,
                          **_plan_figures(rows.get(c.path, {}), planned_by.get(c.path, False), "")}
                         for c in children]}


def _plan_figures(lines: dict[tuple[str, str], dict[str, int]], has_plan: bool, note: str) -> dict[str, Any]:
    """One row of :func:`plan_progress`: its lines in order, their sums by kind and by performer, and in total."""
    kind_order = {k.value: n for n, k in enumerate(ProjectKind)}
    performer_order = {p.value: n for n, p in enumerate(EvaluationPerformer)}
    ordered = sorted(lines.items(), key=lambda item: (kind_order[item[0][0]], performer_order[item[0][1]]))
    by_kind = {k.value: _progress_cell() for k in ProjectKind}
    by_performer = {p.value: _progress_cell() for p in EvaluationPerformer}
    total = _progress_cell()
    for (project_kind, who), cell in ordered:
        for into in (by_kind[project_kind], by_performer[who], total):
            for name, value in cell.items():
                into[name] += value
    return {
        "has_plan": has_plan, "note": note, **total,
        "lines": [{"project_kind": k, "performer": p, **cell} for (k, p), cell in ordered],
        "by_project_kind": by_kind, "by_performer": by_performer,
    }
