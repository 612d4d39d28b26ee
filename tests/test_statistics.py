"""Yearly statistics reproduce the seeds' figures from records the product made.

Departments and projects are inserted as rows (what units enter); every later step goes through the lifecycle
services, acting as the bureau's finance staff: target tables filed and reviewed, ex-ante assessments, budgets
approved and adjusted, monitoring reports, evaluations scored from actual values, rectification notices from
the evaluations' findings, results decisions. Lights, execution rates, scores, grades, stages and decision
codes are therefore the product's, never typed in here.

Seed 002 (Hengyang 430400, 2021), seed 001 (Biangba 540330, 2024), seed 000 (Lingling 431102, 2019) and seed
003 (Enyang 511903, 2023) are rebuilt once per module in their own years (other tests use the current year).
A child of Hengyang (衡阳县 430421, 2021) gets a few records too: the parent's figures must not count them.
Heshan (430903) gets the definitions' edge cases in years of their own (2032, 2033).
"""

from __future__ import annotations

import collections
import contextlib
import copy
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from jixiao.accounts.models import Department, User
from jixiao.db import session
from jixiao.lifecycle import (
    common,
    evaluations,
    monitoring,
    projects,
    rectification,
    results,
    scoring,
    targets,
)
from jixiao.lifecycle.models import (
    Conclusion,
    Evaluation,
    EvaluationKind,
    FundType,
    Light,
    MonitoringReport,
    Project,
    ProjectKind,
    ResultApplication,
)
from jixiao.testing import DEMO_PASSWORD, unique

SHANGHAI = timezone(timedelta(hours=8))
CENT = Decimal("0.01")
HENGYANG, BIANGBA, LINGLING, ENYANG, HESHAN, HENGYANG_COUNTY = "430400", "540330", "431102", "511903", "430903", "430421"
FINANCE = {HENGYANG: "hengyang_finance", BIANGBA: "biangba_finance", LINGLING: "lingling_finance",
           ENYANG: "enyang_finance", HESHAN: "heshan_finance"}

# The seeds' figures (docs/domain.md, "Figures in the seeds …"): the records are built to their shape, and
# the statistics must report them.
HENGYANG_TARGET_UNITS, HENGYANG_MONITORED_UNITS, HENGYANG_SELF_EVALUATED_UNITS = 268, 248, 243
HENGYANG_EVALUATIONS, HENGYANG_DEPARTMENT_WHOLE, HENGYANG_THIRD_PARTY = 41, 27, 29
HENGYANG_TOTAL = Decimal("13898000000.00")  # 138.98亿元 over the 41 evaluated projects
BIANGBA_EXANTE, BIANGBA_KEY_EXCELLENT, BIANGBA_KEY_GOOD = 223, 18, 9
LINGLING_PROJECTS_CUT, LINGLING_CUT = 90, Decimal("498000000.00")  # 4.98亿元
LINGLING_MONITORED_UNITS, LINGLING_MONITORED = 32, Decimal("251000000.00")  # 2.51亿元
LINGLING_KEY_EVALUATIONS, LINGLING_IDLE = 9, Decimal("120000000.00")  # 9 problem lists, 1.2亿元 recovered
ENYANG_DEPARTMENTS, ENYANG_PROJECTS, ENYANG_PROJECT_AMOUNT = 89, 345, Decimal("236000000.00")  # 2.36亿元

HENGYANG_YEAR, BIANGBA_YEAR, LINGLING_YEAR, ENYANG_YEAR = 2021, 2024, 2019, 2023
LINGLING_TODAY = date(2020, 6, 30)
HENGYANG_TODAY = date(2022, 6, 30)

# What an evaluator's readings achieve, as a share of every row's points (see ``answers``), and the grade
# such an evaluation deserves under the national bands (优 ≥ 90, 良 ≥ 80, 中 ≥ 60, 差 below).
EXCELLENT, GOOD, FAIR, POOR = Decimal("1"), Decimal("0.85"), Decimal("0.7"), Decimal("0.5")
DESERVED = {EXCELLENT: "优", GOOD: "良", FAIR: "中", POOR: "差"}
FUNDS = list(FundType)
# Monitoring pace: executed and attained as a share of what the month expects.
ON_PLAN, AHEAD, BEHIND, FAR_BEHIND = Decimal("1"), Decimal("1.3"), Decimal("0.7"), Decimal("0.3")
PACES = [ON_PLAN, BEHIND, FAR_BEHIND, AHEAD]

INDICATORS = {
    ProjectKind.PROJECT: [
        {"level1": "产出", "level2": "数量指标", "name": "完成建设（服务）任务量", "direction": "ge",
         "target_value": "120", "unit": "个", "nature": "cumulative", "weight": "30"},
        {"level1": "产出", "level2": "质量指标", "name": "验收合格率", "direction": "ge", "target_value": "95",
         "unit": "%", "nature": "level", "weight": "10"},
        {"level1": "产出", "level2": "成本指标", "name": "单位建设成本", "direction": "le", "target_value": "50",
         "unit": "万元/个", "nature": "level", "weight": "10"},
        {"level1": "效益", "level2": "社会效益指标", "name": "受益群众人数", "direction": "ge",
         "target_value": "2400", "unit": "人", "nature": "cumulative", "weight": "20"},
        {"level1": "效益", "level2": "可持续影响指标", "name": "形成长效管护机制", "direction": "qualitative",
         "target_text": "建立", "weight": "10"},
        {"level1": "满意度", "level2": "服务对象满意度指标", "name": "受益群众满意度", "direction": "ge",
         "target_value": "90", "unit": "%", "nature": "level", "weight": "10"},
    ],
    ProjectKind.DEPARTMENT_WHOLE: [
        {"level1": "产出", "level2": "数量指标", "name": "重点工作任务完成数", "direction": "ge",
         "target_value": "12", "unit": "项", "nature": "cumulative", "weight": "30"},
        {"level1": "产出", "level2": "时效指标", "name": "资金按时支付率", "direction": "ge", "target_value": "95",
         "unit": "%", "nature": "level", "weight": "20"},
        {"level1": "效益", "level2": "社会效益指标", "name": "履职目标实现程度", "direction": "qualitative",
         "target_text": "有效履职", "weight": "30"},
        {"level1": "满意度", "level2": "服务对象满意度指标", "name": "服务对象满意度", "direction": "ge",
         "target_value": "90", "unit": "%", "nature": "level", "weight": "10"},
    ],
}
FINDINGS = ["绩效目标细化不足", "资金支付进度滞后于序时进度"]


def split(total: Decimal, parts: int) -> list[Decimal]:
    """``parts`` amounts in cents summing exactly to ``total`` (the last one takes the remainder)."""
    each = (total / parts).quantize(CENT, rounding=ROUND_DOWN)
    return [each] * (parts - 1) + [total - each * (parts - 1)]


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A moment in Beijing time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@contextlib.contextmanager
def clock(moment: datetime) -> Iterator[None]:
    """The rectification services' clock stopped at ``moment``: notices of past years are issued, answered and
    verified when the bureau did it (the services refuse a deadline before their today)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rectification, "utcnow", lambda: moment.astimezone(UTC))
        patch.setattr(rectification, "today", lambda: moment.astimezone(SHANGHAI).date())
        yield


def answers(rows: list[Any], quality: Decimal) -> list[dict[str, Any]]:
    """An evaluator's readings of every row of an evaluation's table that each score ``quality`` × its points.

    Quantitative rows read the target × quality (caps: target × (2 − quality), since a cap loses its points
    linearly up to twice the target); qualitative ones the band that holds ``quality``, at that fraction.
    Rows the rules score themselves (the budget execution row) take no reading.
    """
    given = []
    for row in rows:
        item = row.form_indicator if row.form_indicator is not None else row.indicator
        if row.form_indicator is not None and row.form_indicator.scored_by:
            continue
        key = {"form_code": item.code} if row.form_indicator is not None else {"indicator_id": item.id}
        direction = str(item.direction)
        if direction == "qualitative":
            band = "achieved" if quality >= Decimal("0.8") else "partial" if quality >= Decimal("0.6") else "not_achieved"
            given.append({**key, "band": band, "band_fraction": str(quality)})
        elif direction in ("le", "lt"):
            given.append({**key, "actual_value": str(item.target_value * (2 - quality))})
        else:
            given.append({**key, "actual_value": str(item.target_value * quality)})
    return given


class Bureau:
    """One finance bureau's budget year, worked through the lifecycle services by its finance staff."""

    def __init__(self, db: Any, tenant: Any, actor: User, year: int) -> None:
        from jixiao.catalog import service as catalog

        self.db, self.tenant, self.actor, self.year = db, tenant, actor, year
        self._codes = itertools.count(1)
        self._dimensions: list[dict[str, Any]] | None = None
        # Where a common indicator catalog is in force (Xizang, seed 001), projects are in one of its categories
        # and take their indicators from it; elsewhere the units write their own.
        catalogs = catalog.catalogs_for(db, tenant, year)
        if catalogs:
            category = catalogs[0]["categories"][0]
            self.category = category["name"]
            rows = [catalog_row(item) for item in category["indicators"] if scorable(item)]
            self.indicators = {kind: rows for kind in ProjectKind}
        else:
            self.category, self.indicators = "", INDICATORS

    # -- what units enter (rows) ---------------------------------------------------------------------------

    def departments(self, n: int) -> list[Department]:
        rows = []
        for _ in range(n):
            code = unique("st")
            rows.append(Department(tenant_id=self.tenant.id, code=code, name=f"统计测试单位{code}"))
        self.db.add_all(rows)
        self.db.commit()
        return rows

    def projects(self, specs: list[dict[str, Any]]) -> list[Project]:
        """Projects as units enter them: ``{"department", "kind", "requested", "is_key", "is_new", "classified"}``."""
        rows = []
        for spec in specs:
            n = next(self._codes)
            rows.append(Project(
                tenant_id=self.tenant.id, department_id=spec["department"].id, year=self.year,
                code=f"{unique('p')}-{n}", name=f"统计测试项目{n}", kind=spec.get("kind", ProjectKind.PROJECT),
                category=self.category, fund_type=FUNDS[n % len(FUNDS)], requested_amount=Decimal(spec.get("requested", "1000000.00")), is_key=spec.get("is_key", False),
                is_new=spec.get("is_new", False), classified=spec.get("classified", False),
                created_by_id=self.actor.id))
        self.db.add_all(rows)
        self.db.commit()
        return rows

    # -- the services ---------------------------------------------------------------------------------------

    def file_targets(self, project: Project, *, submit: bool = True) -> None:
        targets.replace_targets(self.db, self.actor, self.tenant, project, {
            "overall_target": f"{project.name}：按期完成年度任务，资金使用规范高效。",
            "indicators": self.indicators[project.kind]})
        if submit:
            targets.submit_targets(self.db, self.actor, self.tenant, project)

    def review_targets(self, project: Project, *, approve: bool = True) -> None:
        targets.review_targets(self.db, self.actor, self.tenant, project, approve=approve,
                               comment="" if approve else "指标值设置偏低，请修改")

    def exante(self, project: Project, conclusion: Conclusion, cut: Decimal) -> None:
        if self._dimensions is None:
            self._dimensions = common.hooks(self.db, self.tenant).exante_dimensions()
        projects.record_exante(self.db, self.actor, self.tenant, project, {
            "scores": {d["key"]: str(Decimal(str(d["max"])) * Decimal("0.85")) for d in self._dimensions},
            "conclusion": conclusion.value, "amount_cut": str(cut)})

    def approve(self, project: Project) -> None:
        """Targets approved, after the ex-ante assessment the bureau's rules ask for (support, nothing cut)."""
        if projects.exante_required(self.db, self.tenant, project) and projects.exante_for(self.db, project) is None:
            self.exante(project, Conclusion.SUPPORT, Decimal(0))
        self.review_targets(project)

    def budget(self, project: Project, approved: Decimal, adjusted: Decimal | None = None) -> None:
        projects.approve_budget(self.db, self.actor, self.tenant, project, approved, project.version,
                                confirm_over_request=True)
        if adjusted is not None:
            projects.update_project(self.db, self.actor, self.tenant, project,
                                    {"adjusted_amount": adjusted, "version": project.version})

    def monitor(self, project: Project, period: int, pace: Decimal, executed: Decimal | None = None,
                explain: bool = False) -> MonitoringReport:
        """The unit's report for ``period``: spending (``executed``, else the budget's share) and the cumulative
        counts at ``pace`` × what the month expects; a unit behind plan (or asked to) explains why."""
        expected = Decimal(period) / 12
        values = [{"indicator_id": i.id, "actual_value": str((i.target_value * expected * pace).quantize(CENT))}
                  for i in targets.targets_for(self.db, project).indicators if row_is_cumulative_count(i)]
        behind = pace < ON_PLAN or explain
        if executed is None:
            executed = (project.budget_amount * expected * pace).quantize(CENT)
        return monitoring.submit_report(self.db, self.actor, self.tenant, project, {
            "period": period, "executed_amount": str(executed),
            "values": values, "cause": "项目前期手续办理时间较长" if behind else "",
            "measure": "倒排工期，加快支付进度" if behind else ""})

    def evaluate(self, project: Project, kind: EvaluationKind, quality: Decimal, *, agency: Any = None,
                 findings: list[str] | None = None) -> Evaluation:
        if kind is EvaluationKind.SELF:
            evaluation = evaluations.start_self_evaluation(self.db, self.actor, self.tenant, project)
        else:
            evaluation = evaluations.assign(self.db, self.actor, self.tenant, project, kind.value,
                                            agency.id if agency is not None else None)
        return self.submit(evaluation, quality, findings)

    def submit(self, evaluation: Evaluation, quality: Decimal, findings: list[str] | None = None) -> Evaluation:
        rows = evaluations.table_of(self.db, self.tenant, evaluation)
        executed = (evaluation.project.budget_amount * quality).quantize(CENT)
        return evaluations.submit(self.db, self.actor, self.tenant, evaluation, {
            "executed_amount": str(executed), "scores": answers(rows, quality), "summary": "项目总体按计划实施。",
            "findings": [{"problem": p, "suggestion": "限期整改"} for p in findings or []]})

    def agency(self) -> Any:
        return evaluations.create_agency(self.db, self.actor, self.tenant, f"第三方机构{unique('ag')}")

    def publish(self, evaluation: Evaluation) -> None:
        projects.publish(self.db, self.actor, self.tenant, evaluation.project, evaluation_id=evaluation.id)

    def notice(self, evaluation: Evaluation, deadline: date, issued: datetime) -> Any:
        """The rectification notice of the evaluation's findings (its problem list)."""
        with clock(issued):
            return rectification.issue(self.db, self.actor, self.tenant, evaluation.id, deadline=deadline)

    def answer(self, notice: Any, at: datetime) -> None:
        with clock(at):
            rectification.answer(self.db, self.actor, self.tenant, notice, "已按要求完成整改，建立了跟踪台账。")

    def verify(self, notice: Any, at: datetime, *, accept: bool = True) -> None:
        with clock(at):
            rectification.verify(self.db, self.actor, self.tenant, notice, accept=accept,
                                 reason="" if accept else "佐证材料不足")

    def decide(self, evaluation: Evaluation, change: Decimal, idle: Decimal) -> Any:
        return results.decide(self.db, self.actor, self.tenant, evaluation,
                              {"amount_change": str(change), "idle_recovered": str(idle)})


def scorable(item: dict[str, str]) -> bool:
    """A catalog indicator a target can be set from: qualitative, or with a numeric reference value."""
    if item["direction"] == "qualitative":
        return True
    try:
        return Decimal(item["typical_value"]) > 0
    except ArithmeticError:
        return False


def catalog_row(item: dict[str, str]) -> dict[str, Any]:
    """A target table row taking a catalog indicator as it is, its reference value as the target."""
    qualitative = item["direction"] == "qualitative"
    return {"level1": item["level1"], "level2": item["level2"], "name": item["name"], "direction": item["direction"],
            "target_value": None if qualitative else item["typical_value"],
            "target_text": item["typical_value"] if qualitative else "", "unit": item["unit"], "weight": "10",
            "catalog_code": item["code"]}


def row_is_cumulative_count(indicator: Any) -> bool:
    """The indicators a monitoring report reads here: counts that build up through the year (ge, cumulative)."""
    return str(indicator.direction) == "ge" and str(indicator.nature) == "cumulative"


@contextlib.contextmanager
def bureau(app: Flask, code: str, year: int, username: str | None = None) -> Iterator[Bureau]:
    from jixiao.db import TenantScope, scoped, set_scope, system_scope
    from jixiao.tenancy import service as tenancy

    username = username or FINANCE[code]
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, code)
        scope = TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=username)
        with scoped(scope) as db:
            actor = db.scalar(sa.select(User).where(User.username == username))
            set_scope(db, scope.with_(user_id=actor.id))
            yield Bureau(db, tenant, actor, year)


def finance_user(app: Flask, code: str) -> str:
    """A finance user of a bureau the demo has none in."""
    from jixiao.accounts import service as accounts
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    username = unique("fin")
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, code)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=username)) as db:
            accounts.create_user(db, None, tenant, username=username, password=DEMO_PASSWORD, roles=["finance"])
    return username


# --- the seeds, rebuilt -----------------------------------------------------------------------------------

HENGYANG_NOTICE_STATES = ["verified", "answered", "issued"]  # notice i is in state i % 3


def seed_002_hengyang(b: Bureau) -> dict[str, Any]:
    """268 units filed target tables, 248 monitoring tables, 243 self-evaluation reports; 41 finance
    evaluations (27 department-whole, 14 projects; 29 by third parties) worth 138.98亿元; 40 reports published,
    1 withheld (classified); 41 rectification notices."""
    agencies = [b.agency() for _ in range(3)]
    departments = b.departments(HENGYANG_TARGET_UNITS + 6)
    amounts = split(HENGYANG_TOTAL, HENGYANG_EVALUATIONS)
    specs = []
    for i, department in enumerate(departments[:HENGYANG_TARGET_UNITS]):
        if i < HENGYANG_EVALUATIONS:
            kind = ProjectKind.DEPARTMENT_WHOLE if i < HENGYANG_DEPARTMENT_WHOLE else ProjectKind.PROJECT
            specs.append({"department": department, "kind": kind, "requested": amounts[i] + 1000000, "is_key": True,
                          "classified": i == HENGYANG_EVALUATIONS - 1})
        else:
            specs.append({"department": department, "requested": "800000.00",
                          "kind": [ProjectKind.DEPARTMENT_WHOLE, ProjectKind.PROJECT][i % 2]})
    made = b.projects(specs)
    for i, project in enumerate(made):
        b.file_targets(project)
        if i >= HENGYANG_MONITORED_UNITS:
            continue  # filed, not yet approved: the budget is still the requested amount
        b.approve(project)
        if i < HENGYANG_EVALUATIONS:
            # The budget is the approved amount, or the adjusted one where finance adjusted it.
            if i % 2:
                b.budget(project, amounts[i] + 2000000, adjusted=amounts[i])
            else:
                b.budget(project, amounts[i])
        else:
            b.budget(project, Decimal("750000.00"))
        b.monitor(project, 6, PACES[i % len(PACES)])
        if i < HENGYANG_SELF_EVALUATED_UNITS:
            b.evaluate(project, EvaluationKind.SELF, [EXCELLENT, GOOD, FAIR][i % 3])
    notices, qualities = [], []
    for i, project in enumerate(made[:HENGYANG_EVALUATIONS]):
        third = i < HENGYANG_THIRD_PARTY
        qualities.append([EXCELLENT, GOOD, FAIR][i % 3])
        evaluation = b.evaluate(project, EvaluationKind.THIRD_PARTY if third else EvaluationKind.FINANCE,
                                qualities[-1], agency=agencies[i % 3] if third else None, findings=FINDINGS)
        if not project.classified:
            b.publish(evaluation)
        notice = b.notice(evaluation, date(2022, 3, 31), local(date(2022, 1, 10)))
        state = HENGYANG_NOTICE_STATES[i % 3]
        if state in ("answered", "verified"):
            b.answer(notice, local(date(2022, 2, 20)))
        if state == "verified":
            b.verify(notice, local(date(2022, 3, 1)))
        notices.append(state)
    # Noise that must not count: target tables not filed (a draft, a returned one), an unsubmitted
    # self-evaluation and an unsubmitted finance evaluation.
    noise = b.projects([{"department": d, "requested": "100000.00"} for d in departments[HENGYANG_TARGET_UNITS:]])
    for project in noise[:3]:
        b.file_targets(project, submit=False)
    for project in noise[3:]:
        b.file_targets(project)
        b.review_targets(project, approve=False)
    evaluations.start_self_evaluation(b.db, b.actor, b.tenant, made[HENGYANG_SELF_EVALUATED_UNITS])
    evaluations.assign(b.db, b.actor, b.tenant, made[HENGYANG_SELF_EVALUATED_UNITS + 1], "finance")
    return {"notices": notices, "qualities": qualities}


def hengyang_county(b: Bureau) -> None:
    """A child tenant's records in the same year: Hengyang's own figures must leave them out."""
    [department] = b.departments(1)
    [project] = b.projects([{"department": department, "requested": "5000000.00", "is_key": True}])
    b.file_targets(project)
    b.approve(project)
    b.budget(project, Decimal("5000000.00"))
    b.monitor(project, 6, ON_PLAN)
    b.evaluate(project, EvaluationKind.SELF, GOOD)
    evaluation = b.evaluate(project, EvaluationKind.THIRD_PARTY, EXCELLENT, agency=b.agency(), findings=FINDINGS)
    b.publish(evaluation)
    b.notice(evaluation, date(2022, 3, 31), local(date(2022, 1, 10)))


BIANGBA_CONCLUSIONS = [Conclusion.SUPPORT, Conclusion.ADJUST, Conclusion.REJECT]
BIANGBA_CUTS = {Conclusion.SUPPORT: Decimal(0), Conclusion.ADJUST: Decimal("100000.00"),
                Conclusion.REJECT: Decimal("600000.00")}


def seed_001_biangba(b: Bureau) -> dict[str, Any]:
    """223 ex-ante assessments; 27 key evaluations: 18 优 and 9 良, graded from the evaluators' readings."""
    departments = b.departments(12)
    assessed = b.projects([{"department": departments[i % 12], "requested": "600000.00", "is_new": True}
                           for i in range(BIANGBA_EXANTE)])
    conclusions = [BIANGBA_CONCLUSIONS[i % 3] for i in range(BIANGBA_EXANTE)]
    for project, conclusion in zip(assessed, conclusions, strict=True):
        b.exante(project, conclusion, BIANGBA_CUTS[conclusion])
    agency = b.agency()
    key_count = BIANGBA_KEY_EXCELLENT + BIANGBA_KEY_GOOD
    key = b.projects([{"department": departments[i % 12], "requested": "3000000.00", "is_key": True}
                      for i in range(key_count)])
    # Not key evaluations: a department's evaluation of a key project, a finance evaluation of an ordinary
    # project, an unsubmitted finance evaluation of a key project, and a self-evaluation of a key project.
    others = b.projects([{"department": departments[0], "is_key": True}, {"department": departments[1]},
                         {"department": departments[2], "is_key": True}, {"department": departments[3], "is_key": True}])
    for project in key + others:
        b.file_targets(project)
        b.approve(project)
        b.budget(project, project.requested_amount)
    for i, project in enumerate(key):
        third = i % 2 == 0
        b.evaluate(project, EvaluationKind.THIRD_PARTY if third else EvaluationKind.FINANCE,
                   EXCELLENT if i < BIANGBA_KEY_EXCELLENT else GOOD, agency=agency if third else None)
    b.evaluate(others[0], EvaluationKind.DEPARTMENT, GOOD)
    b.evaluate(others[1], EvaluationKind.FINANCE, FAIR)
    evaluations.assign(b.db, b.actor, b.tenant, others[2], "finance")
    b.evaluate(others[3], EvaluationKind.SELF, EXCELLENT)
    return {"conclusions": conclusions}


# Lingling's notices against today = 2020-06-30: (deadline, what happened, on time?, overdue on 06-30?).
# Verification days are the bureau's (Beijing time), whatever the UTC day.
LINGLING_NOTICES = [
    (date(2020, 3, 31), ("verified", local(date(2020, 3, 31), 9)), True, False),
    (date(2020, 3, 31), ("verified", local(date(2020, 3, 31), 23, 30)), True, False),  # 15:30 UTC
    (date(2020, 4, 30), ("verified", local(date(2020, 4, 2))), True, False),
    (date(2020, 3, 31), ("verified", local(date(2020, 4, 1), 0, 30)), False, False),  # 03-31 16:30 UTC: late
    (date(2020, 5, 31), ("issued", None), False, True),
    (date(2020, 5, 31), ("issued", None), False, True),
    (date(2020, 6, 29), ("answered", None), False, True),
    (date(2020, 6, 30), ("issued", None), False, False),  # due today: not overdue yet
    (date(2020, 7, 31), ("returned", None), False, False),
]
LINGLING_QUALITIES = [EXCELLENT, EXCELLENT, EXCELLENT, GOOD, GOOD, GOOD, GOOD, FAIR, POOR]
LINGLING_UNPUBLISHED = 7  # finished, not yet published
LINGLING_CLASSIFIED = 8
# Each key evaluation's results decision: (next year's budget change, idle funds recovered).
LINGLING_RESULTS = [(Decimal("500000.00"), Decimal(0)), (Decimal(0), Decimal("50000000.00")), (Decimal(0), Decimal(0)),
                    (Decimal(0), Decimal("40000000.00")), (Decimal(0), Decimal("20000000.00")),
                    (Decimal(0), Decimal("10000000.00")), (Decimal(0), Decimal(0)), (Decimal("-1000000.00"), Decimal(0)),
                    (Decimal("-1234567.89"), Decimal(0))]


def seed_000_lingling(b: Bureau) -> dict[str, Any]:
    """90 projects cut by ex-ante, 4.98亿元; 32 units under dual monitoring, 2.51亿元; 9 key evaluations and their
    9 problem lists (rectification notices); 1.2亿元 idle funds recovered. Plus the definitions' edge cases."""
    departments = b.departments(40)
    monitored_budget = split(LINGLING_MONITORED, 40)
    cuts = split(LINGLING_CUT, LINGLING_PROJECTS_CUT)
    # Projects 0–39 are monitored, 40–48 evaluated (key), 49–56 have unfiled targets; 0–79 are cut and
    # supported, 80–89 rejected (the whole request cut), 90–119 supported as requested.
    specs = []
    for i in range(120):
        if i < 40:
            requested = monitored_budget[i] + cuts[i]
        elif i < 80:
            requested = Decimal("2000000.00") + cuts[i]
        elif i < LINGLING_PROJECTS_CUT:
            requested = cuts[i]
        else:
            requested = Decimal("2000000.00")
        specs.append({"department": departments[i % LINGLING_MONITORED_UNITS if i < 40 else i % 40],
                      "requested": requested, "is_new": True, "is_key": 40 <= i < 49,
                      "classified": i == 40 + LINGLING_CLASSIFIED})
    made = b.projects(specs)
    for i, project in enumerate(made):
        cut = cuts[i] if i < LINGLING_PROJECTS_CUT else Decimal(0)
        conclusion = (Conclusion.REJECT if 80 <= i < LINGLING_PROJECTS_CUT else
                      Conclusion.ADJUST if cut else Conclusion.SUPPORT)
        if i < 49:
            b.file_targets(project)
            b.exante(project, conclusion, cut)
            b.approve(project)
        elif i < 54:
            b.file_targets(project, submit=False)
            b.exante(project, conclusion, cut)
        elif i < 57:
            b.file_targets(project)
            b.exante(project, conclusion, cut)
            b.review_targets(project, approve=False)
        else:
            b.exante(project, conclusion, cut)
    for i, project in enumerate(made[:40]):
        budget = project.requested_amount - cuts[i]
        if i % 4 == 1:
            b.budget(project, budget + 300000, adjusted=budget)
        else:
            b.budget(project, budget)
        b.monitor(project, 4, PACES[i % len(PACES)])
        b.monitor(project, 6, PACES[(i + 1) % len(PACES)])
        if i < 30:
            b.evaluate(project, EvaluationKind.SELF, GOOD)
    evaluations.start_self_evaluation(b.db, b.actor, b.tenant, made[30])
    key_evaluations = []
    for i, project in enumerate(made[40:49]):
        b.budget(project, project.requested_amount - cuts[40 + i])
        evaluation = b.evaluate(project, EvaluationKind.FINANCE, LINGLING_QUALITIES[i], findings=FINDINGS)
        if i not in (LINGLING_UNPUBLISHED, LINGLING_CLASSIFIED):
            b.publish(evaluation)
        key_evaluations.append(evaluation)
    issued = local(date(2020, 1, 10))
    for evaluation, (deadline, (state, at), _on_time, _overdue) in zip(key_evaluations, LINGLING_NOTICES, strict=True):
        notice = b.notice(evaluation, deadline, issued)
        if state in ("answered", "verified", "returned"):
            b.answer(notice, local(date(2020, 3, 20)))
        if state == "verified":
            b.verify(notice, at)
        elif state == "returned":
            b.verify(notice, local(date(2020, 3, 25)), accept=False)
    for evaluation, (change, idle) in zip(key_evaluations, LINGLING_RESULTS, strict=True):
        b.decide(evaluation, change, idle)
    # The budgets finance approved (or adjusted to) for the projects whose targets were approved.
    return {"approved_budgets": [p.requested_amount - cuts[i] for i, p in enumerate(made[:49])]}


def seed_003_enyang(b: Bureau) -> dict[str, Any]:
    """Targets approved for 89 department-whole budgets and 345 key projects worth 2.36亿元. Sichuan's rule asks
    for an ex-ante assessment of every project over 50万元 first, so the larger ones get one."""
    departments = b.departments(ENYANG_DEPARTMENTS)
    small = 200
    amounts = [Decimal("400000.00")] * small + split(ENYANG_PROJECT_AMOUNT - Decimal("400000.00") * small,
                                                     ENYANG_PROJECTS - small)
    wholes = b.projects([{"department": d, "kind": ProjectKind.DEPARTMENT_WHOLE, "requested": "2000000.00"}
                         for d in departments])
    key = b.projects([{"department": departments[i % ENYANG_DEPARTMENTS], "requested": amount, "is_key": True,
                       "is_new": True} for i, amount in enumerate(amounts)])
    for project in wholes + key:
        b.file_targets(project)
        b.approve(project)
    # Filed and waiting for review: counted as filed, not as approved.
    [waiting] = b.projects([{"department": departments[0], "requested": "300000.00"}])
    b.file_targets(waiting)
    return {"amounts": amounts}


def build(app: Flask, code: str, year: int, recipe: Any, username: str | None = None) -> Any:
    from jixiao.errors import DomainError

    with bureau(app, code, year, username) as b:
        try:
            return recipe(b)
        except DomainError as exc:  # say which field a service refused, not only that it did
            raise AssertionError(f"{code} {year}: {exc.message} {exc.fields}") from exc


def statistics(app: Flask, code: str, year: int, today: date | None = None) -> dict[str, Any]:
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.statistics.service import yearly_statistics
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, code)
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            return yearly_statistics(db, tenant, year, today)


@pytest.fixture(scope="module")
def seeded(jixiao_app: Flask) -> dict[str, Any]:
    """Build the seeds' records once; return what the recipes made and neighbouring years' figures taken
    before and after."""
    neighbours = [(LINGLING, 2018), (LINGLING, 2020), (HENGYANG, 2020), (HENGYANG, 2022), (BIANGBA, 2023),
                  (ENYANG, 2022)]
    before = {key: statistics(jixiao_app, *key, today=LINGLING_TODAY) for key in neighbours}
    made = {
        HENGYANG: build(jixiao_app, HENGYANG, HENGYANG_YEAR, seed_002_hengyang),
        HENGYANG_COUNTY: build(jixiao_app, HENGYANG_COUNTY, HENGYANG_YEAR, hengyang_county,
                               finance_user(jixiao_app, HENGYANG_COUNTY)),
        BIANGBA: build(jixiao_app, BIANGBA, BIANGBA_YEAR, seed_001_biangba),
        LINGLING: build(jixiao_app, LINGLING, LINGLING_YEAR, seed_000_lingling),
        ENYANG: build(jixiao_app, ENYANG, ENYANG_YEAR, seed_003_enyang),
    }
    after = {key: statistics(jixiao_app, *key, today=LINGLING_TODAY) for key in neighbours}
    return {"before": before, "after": after, **made}


@pytest.fixture
def count_statements(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.extensions["jixiao.db"].engine

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", _count)


def page(login: Any, username: str, code: str, year: int) -> str:
    response = login(username).get(f"/t/{code}/statistics?year={year}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def report_html(app: Flask, code: str, year: int, as_of: date) -> str:
    """The HTML the yearly PDF report is rendered from (the PDF itself is tested in test_documents)."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.documents.pdf import render_html
    from jixiao.statistics.report import statistics_context
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, code)
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            return render_html("statistics/pdf/statistics_report.html", **statistics_context(db, tenant, year, as_of))


def decision_labels(app: Flask, code: str, year: int) -> dict[str, str]:
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.statistics.service import decision_labels as labels
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, code)
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            return labels(db, tenant, year)


def stored(app: Flask, code: str, year: int, column: Any, *where: Any) -> collections.Counter[str]:
    """What the product stored for the tenant's year, counted by ``column`` (to compare the statistics with)."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, code)
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            stmt = sa.select(column).join(Project, Project.id == column.class_.project_id).where(
                Project.tenant_id == tenant.id, Project.year == year, *where)
            return collections.Counter(str(value) for value in db.scalars(stmt))


# --- seed 002: Hengyang 2021 ---------------------------------------------------------------------------

def test_seed_002_hengyang_2021_filing_evaluations_reports_notices(app, seeded):
    stats = statistics(app, HENGYANG, HENGYANG_YEAR, today=HENGYANG_TODAY)
    filing = stats["filing"]
    assert (filing["targets"]["units"], filing["monitoring"]["units"], filing["self_evaluation"]["units"]) == (
        HENGYANG_TARGET_UNITS, HENGYANG_MONITORED_UNITS, HENGYANG_SELF_EVALUATED_UNITS) == (268, 248, 243)
    assert (filing["targets"]["records"], filing["monitoring"]["records"], filing["self_evaluation"]["records"]) == (
        268, 248, 243)
    ev = stats["evaluations"]
    assert ev["count"] == ev["projects"] == HENGYANG_EVALUATIONS == 41
    assert ev["by_project_kind"]["department_whole"]["count"] == HENGYANG_DEPARTMENT_WHOLE == 27
    assert ev["by_project_kind"]["project"]["count"] == 14
    assert ev["by_project_kind"]["policy"]["count"] == 0
    assert ev["third_party"] == HENGYANG_THIRD_PARTY == 29
    assert ev["by_kind"] == {"self": 243, "department": 0, "finance": 12, "third_party": 29}
    assert ev["amount"] == HENGYANG_TOTAL == Decimal("13898000000.00")
    assert sum(g["amount"] for g in ev["by_project_kind"].values()) == HENGYANG_TOTAL
    assert ev["key"]["count"] == 41
    assert ev["key"]["by_grade"] == ev["by_grade"] == collections.Counter(
        DESERVED[q] for q in seeded[HENGYANG]["qualities"])
    assert stats["reports"] == {"published": 40, "withheld": 1, "unpublished": 0}
    rect = stats["rectification"]
    states = collections.Counter(seeded[HENGYANG]["notices"])
    assert rect["issued"] == 41
    assert (rect["closed"], rect["closed_on_time"], rect["overdue"], rect["open"]) == (
        states["verified"], states["verified"], 41 - states["verified"], 41 - states["verified"])
    assert stats["projects"]["count"] == 274  # 268 units' projects and 6 with unfiled target tables
    assert sum(g["count"] for g in stats["projects"]["by_fund_type"].values()) == 274


def test_seed_002_through_the_api(login, seeded):
    body = login("hengyang_finance").get("/api/v1/tenants/430400/statistics?year=2021").get_json()
    assert body["year"] == 2021 and body["tenant"]["code"] == HENGYANG
    assert body["filing"]["targets"]["units"] == 268
    assert body["filing"]["monitoring"]["units"] == 248
    assert body["filing"]["self_evaluation"]["units"] == 243
    assert body["evaluations"]["count"] == 41
    assert body["evaluations"]["by_project_kind"]["department_whole"]["count"] == 27
    assert body["evaluations"]["by_project_kind"]["project"]["count"] == 14
    assert body["evaluations"]["third_party"] == 29
    assert body["evaluations"]["amount"] == "13898000000.00"  # money is a decimal string
    assert body["reports"] == {"published": 40, "withheld": 1, "unpublished": 0}
    assert body["rectification"]["issued"] == 41


def test_the_parent_counts_only_its_own_records_and_the_child_its_own(app, login, seeded):
    province = login("hunan_admin").get("/api/v1/tenants/430400/statistics?year=2021").get_json()
    assert province["filing"]["targets"]["units"] == 268 and province["evaluations"]["count"] == 41
    county = statistics(app, HENGYANG_COUNTY, HENGYANG_YEAR, today=HENGYANG_TODAY)
    assert county["filing"]["targets"] == {
        "units": 1, "records": 1, "amount": Decimal("5000000.00"),
        "approved": {"count": 1, "amount": Decimal("5000000.00"), "by_kind": {
            "project": {"count": 1, "amount": Decimal("5000000.00")},
            "policy": {"count": 0, "amount": Decimal("0.00")},
            "department_whole": {"count": 0, "amount": Decimal("0.00")}}}}
    assert county["evaluations"]["count"] == 1 and county["evaluations"]["third_party"] == 1
    assert county["rectification"]["overdue"] == 1


def test_the_page_tells_seed_002_in_prose(login, seeded):
    html = page(login, "hengyang_finance", HENGYANG, HENGYANG_YEAR)
    assert ("2021年，共对 41 个项目开展重点绩效评价，涉及资金 138.98 亿元，其中部门整体 27 个、项目 14 个，"
            "委托第三方机构 29 个；") in html
    assert "公开评价报告 40 份（涉密 1 份不予公开）；下达整改通知书 41 份" in html
    assert "268 个单位编报绩效目标" in html and "248 个单位开展绩效运行" in html and "243 个单位提交绩效自评报告" in html
    assert 'option value="2021" selected' in html
    assert 'class="bar" style="width: 100.0%"' in html  # the funnel's widest stage


# --- seed 001: Biangba 2024 ----------------------------------------------------------------------------

def test_seed_001_biangba_2024_exante_and_key_evaluations(app, login, seeded):
    stats = statistics(app, BIANGBA, BIANGBA_YEAR)
    conclusions = collections.Counter(c.value for c in seeded[BIANGBA]["conclusions"])
    assert stats["exante"]["count"] == BIANGBA_EXANTE == 223
    assert stats["exante"]["by_conclusion"] == {c.value: conclusions[c.value] for c in Conclusion}
    assert stats["exante"]["projects_cut"] == conclusions["adjust"] + conclusions["reject"]
    assert stats["exante"]["amount_cut"] == sum(BIANGBA_CUTS[c] for c in seeded[BIANGBA]["conclusions"])
    # The grades are the product's, from the evaluators' readings.
    key = stats["evaluations"]["key"]
    assert key == {"count": 27, "by_grade": {"优": BIANGBA_KEY_EXCELLENT, "良": BIANGBA_KEY_GOOD}} == {
        "count": 27, "by_grade": {"优": 18, "良": 9}}
    # Not key: the department's evaluation of a key project (良) and the finance evaluation of an ordinary one.
    assert stats["evaluations"]["count"] == 29
    assert stats["evaluations"]["by_grade"] == {"优": 18, "良": 10, DESERVED[FAIR]: 1}
    body = login("biangba_finance").get("/api/v1/tenants/540330/statistics?year=2024").get_json()
    assert body["exante"]["count"] == 223
    assert body["evaluations"]["key"] == {"count": 27, "by_grade": {"优": 18, "良": 9}}
    html = page(login, "biangba_finance", BIANGBA, BIANGBA_YEAR)
    assert "开展事前绩效评估 223 个" in html and "重点绩效评价 27 个，其中优 18 个、良 9 个" in html


# --- seed 000: Lingling 2019 ---------------------------------------------------------------------------

def test_seed_000_lingling_2019_exante_cuts(app, login, seeded):
    stats = statistics(app, LINGLING, LINGLING_YEAR, today=LINGLING_TODAY)
    assert stats["exante"]["projects_cut"] == LINGLING_PROJECTS_CUT == 90
    assert stats["exante"]["amount_cut"] == LINGLING_CUT == Decimal("498000000.00")
    assert stats["exante"]["count"] == 120
    assert stats["exante"]["by_conclusion"] == {"support": 30, "adjust": 80, "reject": 10}
    body = login("lingling_finance").get("/api/v1/tenants/431102/statistics?year=2019").get_json()
    assert body["exante"]["projects_cut"] == 90 and body["exante"]["amount_cut"] == "498000000.00"
    assert "核减 90 个项目资金 4.98 亿元" in page(login, "lingling_finance", LINGLING, LINGLING_YEAR)


def test_seed_000_lingling_2019_monitoring_key_evaluations_and_idle_funds(app, seeded):
    stats = statistics(app, LINGLING, LINGLING_YEAR, today=LINGLING_TODAY)
    monitored = stats["filing"]["monitoring"]
    assert (monitored["units"], monitored["projects"], monitored["records"], monitored["amount"]) == (
        LINGLING_MONITORED_UNITS, 40, 80, LINGLING_MONITORED) == (32, 40, 80, Decimal("251000000.00"))
    assert stats["evaluations"]["key"]["count"] == LINGLING_KEY_EVALUATIONS == 9
    assert stats["rectification"]["issued"] == 9  # a problem list per key evaluation
    assert stats["results"]["idle_recovered"] == LINGLING_IDLE == Decimal("120000000.00")


def test_monitoring_lights_are_the_products(app, seeded):
    by_light = statistics(app, LINGLING, LINGLING_YEAR, today=LINGLING_TODAY)["filing"]["monitoring"]["by_light"]
    assert by_light == {light.value: stored(app, LINGLING, LINGLING_YEAR, MonitoringReport.light)[light.value]
                        for light in Light}
    assert sum(by_light.values()) == 80 and all(by_light.values())  # the paces light every colour


def test_definitions_units_records_and_filed_statuses(app, seeded):
    filing = statistics(app, LINGLING, LINGLING_YEAR, today=LINGLING_TODAY)["filing"]
    # The monitored and the key-evaluated projects' tables, approved; 5 drafts and 3 returned tables do not count.
    budgets = seeded[LINGLING]["approved_budgets"]
    assert filing["targets"]["units"] == 32 and filing["targets"]["records"] == len(budgets) == 49
    assert filing["targets"]["amount"] == filing["targets"]["approved"]["amount"] == sum(budgets)
    # 30 submitted self-evaluations; an assigned one does not count.
    assert filing["self_evaluation"] == {"units": 30, "records": 30}


def test_definitions_reports_rectification_and_results(app, seeded):
    stats = statistics(app, LINGLING, LINGLING_YEAR, today=LINGLING_TODAY)
    assert stats["reports"] == {"published": 7, "withheld": 1, "unpublished": 1}
    assert stats["evaluations"]["by_grade"] == collections.Counter(DESERVED[q] for q in LINGLING_QUALITIES)
    verified = [n for n in LINGLING_NOTICES if n[1][0] == "verified"]
    assert stats["rectification"] == {
        "issued": 9, "closed": len(verified), "closed_on_time": sum(n[2] for n in LINGLING_NOTICES),
        "overdue": sum(n[3] for n in LINGLING_NOTICES), "open": 9 - len(verified)}
    res = stats["results"]
    changes = [change for change, _idle in LINGLING_RESULTS]
    assert res["count"] == 9 and res["budget_changes"] == sum(1 for c in changes if c)
    assert res["reductions"] == sum(c for c in changes if c < 0) == Decimal("-2234567.89")
    assert res["increases"] == sum(c for c in changes if c > 0) == Decimal("500000.00")
    assert res["amount_change"] == sum(changes) == Decimal("-1734567.89")
    decisions = stored(app, LINGLING, LINGLING_YEAR, ResultApplication.decision)
    assert sum(decisions.values()) == 9
    assert {code: d["count"] for code, d in res["by_decision"].items()} == dict(decisions)
    assert sum(d["idle_recovered"] for d in res["by_decision"].values()) == LINGLING_IDLE


def test_overdue_depends_on_today(app, seeded):
    early = statistics(app, LINGLING, LINGLING_YEAR, today=date(2020, 1, 1))["rectification"]
    late = statistics(app, LINGLING, LINGLING_YEAR, today=date(2021, 1, 1))["rectification"]
    assert early["overdue"] == 0
    assert late["overdue"] == sum(1 for n in LINGLING_NOTICES if n[1][0] != "verified")


def test_other_years_are_untouched(seeded, app):
    """Neighbouring years keep their figures, except that the results decided on a seeded year reach the next
    year's budget (``results.applied`` of the year after: no continuing project is filed, so next year)."""
    before, after = copy.deepcopy(seeded["before"]), copy.deepcopy(seeded["after"])
    reached = {(code, year + 1): statistics(app, code, year, today=LINGLING_TODAY)["results"]
               for code, year in ((LINGLING, LINGLING_YEAR), (HENGYANG, HENGYANG_YEAR))}
    for key in before:
        was, now = before[key]["results"].pop("applied"), after[key]["results"].pop("applied")
        decided = reached.get(key)
        expected = (0, Decimal(0), Decimal(0)) if decided is None else (
            decided["count"], decided["amount_change"], decided["idle_recovered"])
        assert (now["count"] - was["count"], now["amount_change"] - was["amount_change"],
                now["idle_recovered"] - was["idle_recovered"]) == expected, key
    assert before == after


def test_budget_is_adjusted_else_approved_else_requested(app, seeded):
    stats = statistics(app, HENGYANG, HENGYANG_YEAR)
    # The 41 evaluated projects requested more than their budget (approved or adjusted amounts were lower).
    assert stats["evaluations"]["amount"] == HENGYANG_TOTAL
    assert stats["projects"]["budget_amount"] < stats["projects"]["requested_amount"]


# --- seed 003: Enyang 2023 -----------------------------------------------------------------------------

def test_seed_003_enyang_targets_approved_by_kind(app, login, seeded):
    targets_filed = statistics(app, ENYANG, ENYANG_YEAR)["filing"]["targets"]
    approved = targets_filed["approved"]
    assert approved["by_kind"]["department_whole"]["count"] == ENYANG_DEPARTMENTS == 89
    assert approved["by_kind"]["project"] == {"count": ENYANG_PROJECTS, "amount": ENYANG_PROJECT_AMOUNT} == {
        "count": 345, "amount": Decimal("236000000.00")}
    assert approved["count"] == 89 + 345 and targets_filed["records"] == 89 + 345 + 1  # one waits for review
    body = login("enyang_finance").get("/api/v1/tenants/511903/statistics?year=2023").get_json()
    assert body["filing"]["targets"]["approved"]["by_kind"]["project"] == {"count": 345, "amount": "236000000.00"}
    html = page(login, "enyang_finance", ENYANG, ENYANG_YEAR)
    assert "项目 345 个（涉及资金 2.36 亿元）" in html and "部门整体 89 个" in html


def test_sichuans_exante_rule_was_applied_to_the_larger_projects(app, seeded):
    over = [a for a in seeded[ENYANG]["amounts"] if a > Decimal("500000.00")]  # 50万元 (seed 003)
    assert 0 < len(over) < ENYANG_PROJECTS
    assert statistics(app, ENYANG, ENYANG_YEAR)["exante"]["count"] == len(over)


# --- the page and the yearly report: the same figures, in words ------------------------------------------

CODES = ([light.value for light in Light] + [kind.value for kind in ProjectKind] + [c.value for c in Conclusion]
         + [k.value for k in EvaluationKind])


def test_the_page_and_the_report_show_labels_never_codes(app, login, seeded):
    stats = statistics(app, LINGLING, LINGLING_YEAR, today=LINGLING_TODAY)
    labels = decision_labels(app, LINGLING, LINGLING_YEAR)
    decisions = list(stats["results"]["by_decision"])
    assert decisions and all(code in labels for code in decisions)
    html = page(login, "lingling_finance", LINGLING, LINGLING_YEAR)
    report = report_html(app, LINGLING, LINGLING_YEAR, LINGLING_TODAY)
    lights_shown = [Light(code).label for code, n in stats["filing"]["monitoring"]["by_light"].items() if n]
    assert len(lights_shown) == len(Light)
    for text in (html, report):
        for code in decisions:
            assert f"<td>{labels[code]}</td>" in text and f">{code}<" not in text, code
        for label in lights_shown:
            assert f"<td>{label}</td>" in text, label
        for code in CODES:
            assert f">{code}<" not in text, code


def test_the_page_and_the_report_tell_the_same_story(app, login, seeded):
    from jixiao.statistics.views import summary
    from jixiao.units import local_today

    as_of = local_today()
    for username, code, year in [("lingling_finance", LINGLING, LINGLING_YEAR), ("enyang_finance", ENYANG, ENYANG_YEAR)]:
        paragraphs = summary(statistics(app, code, year, today=as_of))
        html, report = page(login, username, code, year), report_html(app, code, year, as_of)
        for paragraph in paragraphs:
            assert paragraph in html and paragraph in report


# --- one definition each: the budget, and closing a notice on time ---------------------------------------

def test_an_adjusted_amount_of_zero_is_a_budget_of_zero(app):
    """A budget cut to nothing (adjusted 0) is measured as 0 by monitoring and counted as 0 by the statistics."""
    year = 2032
    with bureau(app, HESHAN, year) as b:
        [department] = b.departments(1)
        [project] = b.projects([{"department": department, "requested": "1000000.00"}])
        b.file_targets(project)
        b.approve(project)
        b.budget(project, Decimal("1000000.00"), adjusted=Decimal("0"))
        spent = Decimal("100000.00")  # before the cut
        report = b.monitor(project, 6, ON_PLAN, executed=spent, explain=True)
        in_sql = b.db.scalar(sa.select(Project.budget_amount).where(Project.id == project.id))
        budget, rate = project.budget_amount, report.execution_rate
    monitored = statistics(app, HESHAN, year)["filing"]["monitoring"]
    assert budget == in_sql == monitored["amount"] == Decimal("0")
    assert rate == scoring.execution_rate(spent, monitored["amount"])


def test_closing_on_time_is_judged_by_the_local_day_everywhere(app):
    """Statistics and the assessment metric count the same notices as closed on time: the verification's day
    in Beijing time, not in UTC, against the deadline."""
    from jixiao.assessment import metrics
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    year, deadline = 2033, date(2026, 6, 30)
    with bureau(app, HESHAN, year) as b:
        [department] = b.departments(1)
        made = b.projects([{"department": department} for _ in range(2)])
        for project, verified_at in zip(made, [local(deadline, 23, 30),  # 15:30 UTC, the same day: on time
                                                local(date(2026, 7, 1), 0, 30)], strict=True):  # 06-30 16:30 UTC: late
            b.file_targets(project)
            b.approve(project)
            b.budget(project, project.requested_amount)
            evaluation = b.evaluate(project, EvaluationKind.SELF, GOOD, findings=FINDINGS)
            notice = b.notice(evaluation, deadline, local(date(2026, 6, 1)))
            b.answer(notice, local(date(2026, 6, 20)))
            b.verify(notice, verified_at)
    rect = statistics(app, HESHAN, year, today=date(2026, 7, 2))["rectification"]
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, HESHAN)
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            measured = metrics.compute(db, "rectification_on_time", metrics.Subjects(by="tenant", ids=(tenant.id,),
                                                                                      year=year))
    assert measured[tenant.id] == (Decimal(rect["closed_on_time"]), Decimal(rect["issued"]))
    assert (rect["closed"], rect["closed_on_time"]) == (2, 1)


# --- API behaviour -------------------------------------------------------------------------------------

def test_year_defaults_to_the_current_year(login):
    from jixiao.units import local_today

    response = login("lingling_finance").get("/api/v1/tenants/431102/statistics")
    assert response.status_code == 200
    body = response.get_json()
    assert body["year"] == local_today().year
    assert set(body) >= {"projects", "exante", "filing", "evaluations", "reports", "rectification", "results"}


@pytest.mark.parametrize("year", ["abc", "1800"])
def test_a_bad_year_is_refused(login, year):
    client = login("lingling_finance")
    api = client.get(f"/api/v1/tenants/431102/statistics?year={year}")
    assert api.status_code == 400 and "year" in api.get_json()["error"]["fields"]
    page = client.get(f"/t/431102/statistics?year={year}")
    assert page.status_code == 400 and "年度" in page.get_data(as_text=True)


def test_anonymous_is_refused(client):
    assert client.get("/api/v1/tenants/431102/statistics").status_code == 401
    assert client.get("/t/431102/statistics").status_code == 302


def test_a_sibling_cannot_read_the_statistics(login, seeded):
    assert login("lingling_finance").get("/api/v1/tenants/430400/statistics?year=2021").status_code == 404
    assert login("yongzhou_finance").get("/t/430400/statistics?year=2021").status_code == 404


def test_the_openapi_document_describes_the_statistics(app):
    spec = app.extensions["jixiao.api"].spec.to_dict()
    operation = spec["paths"]["/api/v1/tenants/{tenant_code}/statistics"]["get"]
    assert any(p["name"] == "year" and p["in"] == "query" for p in operation["parameters"])
    assert "YearlyStatistics" in spec["components"]["schemas"]


# --- bounded SQL -----------------------------------------------------------------------------------------

def test_the_service_runs_a_fixed_number_of_statements(app, seeded, count_statements):
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.statistics.service import figure_statements, yearly_statistics
    from jixiao.tenancy import service as tenancy

    counts = {}
    for code, year in [(HENGYANG, 2021), (BIANGBA, 2024), (LINGLING, 2019), (ENYANG, 2023), ("430903", 2021)]:
        with app.app_context():
            with system_scope() as db:
                tenant = tenancy.get_by_code(db, code)
            with scoped(TenantScope(read_ids=(tenant.id,))) as db:
                count_statements.clear()
                yearly_statistics(db, tenant, year, LINGLING_TODAY)
                counts[code] = len(count_statements)
    with app.app_context():
        assert set(counts.values()) == {figure_statements(session())}, counts


def test_the_api_runs_the_same_small_number_of_statements_for_many_rows_and_few(login, seeded, count_statements):
    hengyang = login("hengyang_finance")
    heshan = login("heshan_finance")  # another city's district: no records in 2021
    count_statements.clear()
    assert hengyang.get("/api/v1/tenants/430400/statistics?year=2021").status_code == 200
    many = len(count_statements)
    count_statements.clear()
    assert heshan.get("/api/v1/tenants/430903/statistics?year=2021").status_code == 200
    few = len(count_statements)
    assert many == few <= 25, (many, few)
