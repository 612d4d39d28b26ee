"""Yearly statistics reproduce the seeds' figures from records rebuilt row by row.

Seed 002 (Hengyang 430400, 2021), seed 001 (Biangba 540330, 2024) and seed 000 (Lingling 431102, 2019) are
rebuilt once per module in their own years (other tests use the current year), with departments created here.
A child of Hengyang (衡阳县 430421, 2021) gets a few records too: the parent's figures must not count them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from jixiao.accounts.models import Department
from jixiao.lifecycle.models import (
    Agency,
    Conclusion,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    ExAnteAssessment,
    FundType,
    Light,
    MonitoringReport,
    NoticeStatus,
    Project,
    ProjectKind,
    RectificationNotice,
    ResultApplication,
    TargetSet,
    TargetStatus,
)
from jixiao.testing import unique

SHANGHAI = timezone(timedelta(hours=8))
HENGYANG, BIANGBA, LINGLING, HENGYANG_COUNTY = "430400", "540330", "431102", "430421"
HENGYANG_TOTAL = Decimal("13898000000.00")  # 138.98亿元 over 41 evaluated projects
LINGLING_CUT = Decimal("498000000.00")  # 4.98亿元 cut from 90 projects
LINGLING_MONITORED = Decimal("251000000.00")  # 2.51亿元 under dual monitoring
LINGLING_IDLE = Decimal("120000000.00")  # 1.2亿元 idle funds recovered
LINGLING_TODAY = date(2020, 6, 30)
FUNDS = list(FundType)


def split(total: Decimal, parts: int) -> list[Decimal]:
    """``parts`` amounts in cents summing exactly to ``total`` (the last one takes the remainder)."""
    each = (total / parts).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    return [each] * (parts - 1) + [total - each * (parts - 1)]


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


class Records:
    """Rows for one tenant and year, inserted in one flush."""

    def __init__(self, tenant: Any, year: int) -> None:
        self.tenant, self.year, self.rows = tenant, year, []
        self._codes = itertools.count(1)

    def add(self, row: Any) -> Any:
        row.tenant_id = self.tenant.id
        self.rows.append(row)
        return row

    def department(self) -> Department:
        code = unique("st")
        return self.add(Department(code=code, name=f"统计测试单位{code}"))

    def agency(self) -> Agency:
        return self.add(Agency(name=f"第三方机构{unique('ag')}"))

    def project(self, department: Department, *, kind: ProjectKind = ProjectKind.PROJECT,
                requested: Decimal | str = "1000000.00", approved: Decimal | str | None = None,
                adjusted: Decimal | str | None = None, **extra: Any) -> Project:
        n = next(self._codes)
        return self.add(Project(
            department=department, year=self.year, code=f"{unique('p')}-{n}", name=f"统计测试项目{n}", kind=kind,
            fund_type=FUNDS[n % len(FUNDS)], requested_amount=Decimal(requested),
            approved_amount=None if approved is None else Decimal(approved),
            adjusted_amount=None if adjusted is None else Decimal(adjusted), **extra))

    def targets(self, project: Project, status: TargetStatus = TargetStatus.APPROVED) -> TargetSet:
        return self.add(TargetSet(project=project, overall_target="完成年度目标", status=status))

    def monitoring(self, project: Project, period: int = 6) -> MonitoringReport:
        return self.add(MonitoringReport(project=project, period=period, executed_amount=Decimal("500000.00"),
                                         execution_rate=Decimal("50.00"), light=Light.GREEN))

    def evaluation(self, project: Project, kind: EvaluationKind, *, grade: str | None = "良",
                   status: EvaluationStatus = EvaluationStatus.SUBMITTED, agency: Agency | None = None,
                   published: bool = False) -> Evaluation:
        score = {"优": "92.00", "良": "85.00", "中": "70.00", "差": "50.00"}.get(grade or "")
        return self.add(Evaluation(
            project=project, kind=kind, status=status, agency=agency, grade=grade,
            total_score=None if score is None else Decimal(score),
            published_at=at(date(self.year + 1, 5, 20)) if published else None))

    def notice(self, evaluation: Evaluation, deadline: date, status: NoticeStatus = NoticeStatus.ISSUED,
               verified_at: datetime | None = None) -> RectificationNotice:
        return self.add(RectificationNotice(evaluation=evaluation, project=evaluation.project, problems=["问题一"],
                                            deadline=deadline, status=status, verified_at=verified_at))

    def exante(self, project: Project, conclusion: Conclusion, cut: Decimal | str = "0") -> ExAnteAssessment:
        return self.add(ExAnteAssessment(project=project, scores={}, total_score=Decimal("85.00"),
                                         conclusion=conclusion, amount_cut=Decimal(cut),
                                         assessed_at=at(date(self.year - 1, 10, 15))))

    def result(self, evaluation: Evaluation, decision: str, change: Decimal | str = "0",
               idle: Decimal | str = "0") -> ResultApplication:
        return self.add(ResultApplication(evaluation=evaluation, project=evaluation.project,
                                          grade=evaluation.grade or "", suggested_action=decision, decision=decision,
                                          amount_change=Decimal(change), idle_recovered=Decimal(idle),
                                          next_year=self.year + 1))


def seed_002_hengyang(r: Records) -> None:
    """268 units filed targets, 248 monitoring, 243 self-evaluations; 41 evaluations worth 138.98亿元."""
    agencies = [r.agency() for _ in range(3)]
    amounts = split(HENGYANG_TOTAL, 41)
    projects = []
    for i in range(268):
        department = r.department()
        if i < 41:
            # The evaluated budgets come from each of the three columns in turn (COALESCE order).
            amount = amounts[i]
            columns = [
                {"requested": amount},
                {"requested": amount + 1000000, "approved": amount},
                {"requested": amount + 5000000, "approved": amount + 2000000, "adjusted": amount},
            ][i % 3]
            kind = ProjectKind.DEPARTMENT_WHOLE if i < 27 else ProjectKind.PROJECT
            projects.append(r.project(department, kind=kind, is_key=True, classified=i == 40, **columns))
        else:
            projects.append(r.project(department, requested="800000.00", approved="750000.00"))
    for i, project in enumerate(projects):
        r.targets(project, TargetStatus.APPROVED if i % 2 else TargetStatus.SUBMITTED)
        if i < 248:
            r.monitoring(project)
        if i < 243:
            r.evaluation(project, EvaluationKind.SELF, grade="良")
    grades = ["优", "良", "中"]
    for i, project in enumerate(projects[:41]):
        third = i < 29
        evaluation = r.evaluation(project, EvaluationKind.THIRD_PARTY if third else EvaluationKind.FINANCE,
                                  grade=grades[i % 3], agency=agencies[i % 3] if third else None,
                                  published=i != 40)
        status = [NoticeStatus.VERIFIED, NoticeStatus.ANSWERED, NoticeStatus.ISSUED][i % 3]
        r.notice(evaluation, date(2022, 3, 31), status,
                 verified_at=at(date(2022, 3, 1)) if status is NoticeStatus.VERIFIED else None)
    # Noise that must not count: unfiled target tables, an unsubmitted self-evaluation and evaluation.
    for status in (TargetStatus.DRAFT, TargetStatus.RETURNED):
        for _ in range(3):
            r.targets(r.project(r.department(), requested="100000.00"), status)
    r.evaluation(projects[250], EvaluationKind.SELF, grade=None, status=EvaluationStatus.ASSIGNED)
    r.evaluation(projects[41], EvaluationKind.FINANCE, grade=None, status=EvaluationStatus.ASSIGNED)


def hengyang_county(r: Records) -> None:
    """A child tenant's records in the same year: Hengyang's own figures must leave them out."""
    project = r.project(r.department(), requested="5000000.00", is_key=True)
    r.targets(project)
    r.monitoring(project)
    r.evaluation(project, EvaluationKind.SELF)
    evaluation = r.evaluation(project, EvaluationKind.THIRD_PARTY, grade="优", agency=r.agency(), published=True)
    r.notice(evaluation, date(2022, 3, 31))


def seed_001_biangba(r: Records) -> None:
    """223 ex-ante assessments; 27 key evaluations, 18 优 and 9 良."""
    departments = [r.department() for _ in range(12)]
    projects = [r.project(departments[i % 12], requested="600000.00") for i in range(223)]
    conclusions = [Conclusion.SUPPORT, Conclusion.ADJUST, Conclusion.REJECT]
    for i, project in enumerate(projects):
        conclusion = conclusions[i % 3]
        cut = {"support": "0", "adjust": "100000.00", "reject": "600000.00"}[conclusion.value]
        r.exante(project, conclusion, cut)
    agency = r.agency()
    for i in range(27):
        project = r.project(departments[i % 12], requested="3000000.00", is_key=True)
        third = i % 2 == 0
        r.evaluation(project, EvaluationKind.THIRD_PARTY if third else EvaluationKind.FINANCE,
                     grade="优" if i < 18 else "良", agency=agency if third else None, published=True)
    # Not key evaluations: a department's evaluation of a key project, a finance evaluation of an ordinary
    # project, an unsubmitted one, and a self-evaluation.
    r.evaluation(r.project(departments[0], is_key=True), EvaluationKind.DEPARTMENT, grade="良", published=True)
    r.evaluation(r.project(departments[1]), EvaluationKind.FINANCE, grade="中", published=True)
    r.evaluation(r.project(departments[2], is_key=True), EvaluationKind.FINANCE, grade=None,
                 status=EvaluationStatus.ASSIGNED)
    r.evaluation(r.project(departments[3], is_key=True), EvaluationKind.SELF, grade="优")


def seed_000_lingling(r: Records) -> None:
    """90 projects cut by ex-ante, 4.98亿元; 32 units monitored, 2.51亿元; 9 key evaluations and 9 problem
    lists; 1.2亿元 idle funds recovered. Plus the edge cases of the definitions."""
    departments = [r.department() for _ in range(40)]
    monitored_budget = split(LINGLING_MONITORED, 40)
    projects = []
    for i in range(120):
        if i < 40:
            budget = monitored_budget[i]
            columns = {"requested": budget + 300000, "approved": budget} if i % 2 else {"requested": budget}
            projects.append(r.project(departments[i % 32], **columns))
        else:
            projects.append(r.project(departments[i % 40], requested="2000000.00",
                                      is_key=40 <= i < 49, classified=i == 48))
    cuts = split(LINGLING_CUT, 90)
    for i, project in enumerate(projects):
        if i < 90:
            r.exante(project, Conclusion.REJECT if i < 10 else Conclusion.ADJUST, cuts[i])
        else:
            r.exante(project, Conclusion.SUPPORT)
    for i, project in enumerate(projects[:40]):
        r.targets(project)
        r.monitoring(project, 4)
        r.monitoring(project, 6)
        if i < 30:
            r.evaluation(project, EvaluationKind.SELF)
    r.evaluation(projects[30], EvaluationKind.SELF, grade=None, status=EvaluationStatus.ASSIGNED)
    for project in projects[40:45]:
        r.targets(project, TargetStatus.DRAFT)
    for project in projects[45:48]:
        r.targets(project, TargetStatus.RETURNED)

    grades = ["优", "优", "优", "良", "良", "良", "良", "中", "差"]
    evaluations = [r.evaluation(project, EvaluationKind.FINANCE, grade=grades[i], published=i not in (7, 8))
                   for i, project in enumerate(projects[40:49])]
    # Deadlines against today = 2020-06-30; verification dates are judged in Beijing time.
    march_31 = date(2020, 3, 31)
    r.notice(evaluations[0], march_31, NoticeStatus.VERIFIED, at(march_31, 9))
    r.notice(evaluations[1], march_31, NoticeStatus.VERIFIED, at(march_31, 23, 30))  # 15:30 UTC: on time
    r.notice(evaluations[2], date(2020, 4, 30), NoticeStatus.VERIFIED, at(date(2020, 4, 2)))
    r.notice(evaluations[3], march_31, NoticeStatus.VERIFIED, at(date(2020, 4, 1), 0, 30))  # 3-31 in UTC: late
    r.notice(evaluations[4], date(2020, 5, 31))  # overdue
    r.notice(evaluations[5], date(2020, 5, 31))  # overdue
    r.notice(evaluations[6], date(2020, 6, 29), NoticeStatus.ANSWERED)  # overdue
    r.notice(evaluations[7], LINGLING_TODAY)  # due today: not overdue yet
    r.notice(evaluations[8], date(2020, 7, 31), NoticeStatus.RETURNED)
    decisions = [("优先保障", "500000.00", "0"), ("优先保障", "0", "50000000.00"), ("优先保障", "0", "0"),
                 ("保障", "0", "40000000.00"), ("保障", "0", "20000000.00"), ("保障", "0", "10000000.00"),
                 ("保障", "0", "0"), ("压缩", "-1000000.00", "0"), ("削减", "-2345678.91", "0")]
    for evaluation, (decision, change, idle) in zip(evaluations, decisions, strict=True):
        r.result(evaluation, decision, change, idle)


def build(app: Flask, code: str, year: int, recipe: Any) -> None:
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, code)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            records = Records(tenant, year)
            recipe(records)
            db.add_all(records.rows)
            db.commit()


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
    """Build the seeds' records once; return figures of neighbouring years taken before and after."""
    neighbours = [(LINGLING, 2018), (LINGLING, 2020), (HENGYANG, 2020), (HENGYANG, 2022), (BIANGBA, 2023)]
    before = {key: statistics(jixiao_app, *key, today=LINGLING_TODAY) for key in neighbours}
    build(jixiao_app, HENGYANG, 2021, seed_002_hengyang)
    build(jixiao_app, HENGYANG_COUNTY, 2021, hengyang_county)
    build(jixiao_app, BIANGBA, 2024, seed_001_biangba)
    build(jixiao_app, LINGLING, 2019, seed_000_lingling)
    after = {key: statistics(jixiao_app, *key, today=LINGLING_TODAY) for key in neighbours}
    return {"before": before, "after": after}


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


# --- seed 002: Hengyang 2021 ---------------------------------------------------------------------------

def test_seed_002_hengyang_2021_filing_evaluations_reports_notices(app, seeded):
    stats = statistics(app, HENGYANG, 2021, today=date(2022, 6, 30))
    filing = stats["filing"]
    assert (filing["targets"]["units"], filing["monitoring"]["units"], filing["self_evaluation"]["units"]) == (
        268, 248, 243)
    assert (filing["targets"]["records"], filing["monitoring"]["records"], filing["self_evaluation"]["records"]) == (
        268, 248, 243)
    ev = stats["evaluations"]
    assert ev["count"] == 41 and ev["projects"] == 41
    assert ev["by_project_kind"]["department_whole"]["count"] == 27
    assert ev["by_project_kind"]["project"]["count"] == 14
    assert ev["by_project_kind"]["policy"]["count"] == 0
    assert ev["third_party"] == 29
    assert ev["by_kind"] == {"self": 243, "department": 0, "finance": 12, "third_party": 29}
    assert ev["amount"] == HENGYANG_TOTAL == Decimal("13898000000.00")
    assert sum(g["amount"] for g in ev["by_project_kind"].values()) == HENGYANG_TOTAL
    assert ev["key"]["count"] == 41 and ev["by_grade"] == {"优": 14, "良": 14, "中": 13}
    assert stats["reports"] == {"published": 40, "withheld": 1, "unpublished": 0}
    rect = stats["rectification"]
    assert rect["issued"] == 41
    assert (rect["closed"], rect["closed_on_time"], rect["overdue"], rect["open"]) == (14, 14, 27, 27)
    assert stats["projects"]["count"] == 274  # 268 units' projects and 6 with unfiled target tables
    assert stats["projects"]["by_kind"]["department_whole"]["count"] == 27
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
    county = statistics(app, HENGYANG_COUNTY, 2021, today=date(2022, 6, 30))
    assert county["filing"]["targets"] == {"units": 1, "records": 1, "amount": Decimal("5000000.00")}
    assert county["evaluations"]["count"] == 1 and county["evaluations"]["third_party"] == 1
    assert county["rectification"]["overdue"] == 1


def test_the_page_tells_seed_002_in_prose(login, seeded):
    response = login("hengyang_finance").get("/t/430400/statistics?year=2021")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert ("2021年，共对 41 个项目开展重点绩效评价，涉及资金 138.98 亿元，其中部门整体 27 个、项目 14 个，"
            "委托第三方机构 29 个；") in html
    assert "公开评价报告 40 份（涉密 1 份不予公开）；下达整改通知书 41 份" in html
    assert "268 个单位编报绩效目标" in html and "248 个单位开展绩效运行" in html and "243 个单位提交绩效自评报告" in html
    assert 'option value="2021" selected' in html
    assert 'class="bar" style="width: 100.0%"' in html  # the funnel's widest stage


# --- seed 001: Biangba 2024 ----------------------------------------------------------------------------

def test_seed_001_biangba_2024_exante_and_key_evaluations(app, login, seeded):
    stats = statistics(app, BIANGBA, 2024)
    assert stats["exante"]["count"] == 223
    assert stats["exante"]["by_conclusion"] == {"support": 75, "adjust": 74, "reject": 74}
    assert stats["exante"]["projects_cut"] == 148
    assert stats["exante"]["amount_cut"] == Decimal("100000.00") * 74 + Decimal("600000.00") * 74
    key = stats["evaluations"]["key"]
    assert key == {"count": 27, "by_grade": {"优": 18, "良": 9}}
    assert stats["evaluations"]["count"] == 29
    assert stats["evaluations"]["by_grade"] == {"优": 18, "良": 10, "中": 1}
    body = login("biangba_finance").get("/api/v1/tenants/540330/statistics?year=2024").get_json()
    assert body["exante"]["count"] == 223
    assert body["evaluations"]["key"] == {"count": 27, "by_grade": {"优": 18, "良": 9}}
    html = login("biangba_finance").get("/t/540330/statistics?year=2024").get_data(as_text=True)
    assert "开展事前绩效评估 223 个" in html and "重点绩效评价 27 个，其中优 18 个、良 9 个" in html


# --- seed 000: Lingling 2019 ---------------------------------------------------------------------------

def test_seed_000_lingling_2019_exante_cuts(app, login, seeded):
    stats = statistics(app, LINGLING, 2019, today=LINGLING_TODAY)
    assert stats["exante"]["projects_cut"] == 90
    assert stats["exante"]["amount_cut"] == LINGLING_CUT == Decimal("498000000.00")
    assert stats["exante"]["count"] == 120
    assert stats["exante"]["by_conclusion"] == {"support": 30, "adjust": 80, "reject": 10}
    body = login("lingling_finance").get("/api/v1/tenants/431102/statistics?year=2019").get_json()
    assert body["exante"]["projects_cut"] == 90 and body["exante"]["amount_cut"] == "498000000.00"
    html = login("lingling_finance").get("/t/431102/statistics?year=2019").get_data(as_text=True)
    assert "核减 90 个项目资金 4.98 亿元" in html


def test_seed_000_lingling_2019_monitoring_key_evaluations_and_idle_funds(app, seeded):
    stats = statistics(app, LINGLING, 2019, today=LINGLING_TODAY)
    assert stats["filing"]["monitoring"] == {"units": 32, "projects": 40, "records": 80, "amount": LINGLING_MONITORED}
    assert stats["evaluations"]["key"]["count"] == 9
    assert stats["rectification"]["issued"] == 9
    assert stats["results"]["idle_recovered"] == LINGLING_IDLE


def test_definitions_units_records_and_filed_statuses(app, seeded):
    filing = statistics(app, LINGLING, 2019, today=LINGLING_TODAY)["filing"]
    # 40 approved target tables in 32 departments; 5 drafts and 3 returned tables do not count.
    assert filing["targets"] == {"units": 32, "records": 40, "amount": LINGLING_MONITORED}
    # 30 submitted self-evaluations; an assigned one does not count.
    assert filing["self_evaluation"] == {"units": 30, "records": 30}


def test_definitions_reports_rectification_and_results(app, seeded):
    stats = statistics(app, LINGLING, 2019, today=LINGLING_TODAY)
    assert stats["reports"] == {"published": 7, "withheld": 1, "unpublished": 1}
    assert stats["evaluations"]["by_grade"] == {"优": 3, "良": 4, "中": 1, "差": 1}
    assert stats["rectification"] == {"issued": 9, "closed": 4, "closed_on_time": 3, "overdue": 3, "open": 5}
    results = stats["results"]
    assert results["count"] == 9 and results["budget_changes"] == 3
    assert results["reductions"] == Decimal("-3345678.91")
    assert results["increases"] == Decimal("500000.00")
    assert results["amount_change"] == Decimal("-2845678.91")
    assert results["by_decision"]["保障"] == {"count": 4, "amount_change": Decimal("0.00"),
                                            "idle_recovered": Decimal("70000000.00")}
    assert results["by_decision"]["削减"]["amount_change"] == Decimal("-2345678.91")


def test_overdue_depends_on_today(app, seeded):
    early = statistics(app, LINGLING, 2019, today=date(2020, 1, 1))["rectification"]
    late = statistics(app, LINGLING, 2019, today=date(2021, 1, 1))["rectification"]
    assert early["overdue"] == 0
    assert late["overdue"] == 5  # every notice not verified


def test_other_years_are_untouched(seeded):
    assert seeded["before"] == seeded["after"]


def test_budget_is_adjusted_else_approved_else_requested(app, seeded):
    ev = statistics(app, HENGYANG, 2021)["evaluations"]
    projects = statistics(app, HENGYANG, 2021)["projects"]
    # The 41 evaluated projects request more than their budget (approved or adjusted amounts were lower).
    assert ev["amount"] == HENGYANG_TOTAL
    assert projects["budget_amount"] < projects["requested_amount"]


# --- API behaviour -------------------------------------------------------------------------------------

def test_year_defaults_to_the_current_year(login):
    from jixiao.statistics.service import local_today

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
    from jixiao.statistics.service import STATEMENTS, yearly_statistics
    from jixiao.tenancy import service as tenancy

    counts = {}
    for code, year in [(HENGYANG, 2021), (BIANGBA, 2024), (LINGLING, 2019), ("430903", 2021)]:
        with app.app_context():
            with system_scope() as db:
                tenant = tenancy.get_by_code(db, code)
            with scoped(TenantScope(read_ids=(tenant.id,))) as db:
                count_statements.clear()
                yearly_statistics(db, tenant, year, LINGLING_TODAY)
                counts[code] = len(count_statements)
    assert set(counts.values()) == {STATEMENTS}, counts


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
