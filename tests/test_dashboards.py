"""The home dashboards and the early-warning page, server side: the charts' figures against the same records read
another way (the project list API, the statistics, the rectification ledger), each chart's table, what each role
and level sees, isolation and a bounded number of statements.

The records are a demo year made through the services (``demo_data.generate``) in this file's own years.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal

import pytest

from jixiao import hookimpl
from jixiao.testing import api_login

YEAR, SMALL_YEAR, CAMPAIGN_YEAR, WARNING_YEAR, EMPTY_YEAR = 2085, 2086, 2087, 2088, 2089
STAGES = ["draft", "targets_submitted", "targets_approved", "budgeted", "evaluated", "rectifying", "closed"]
LIGHTS = ["red", "yellow", "green", "blue"]
STAGE_LABELS = {"draft": "填报中", "targets_submitted": "目标待审核", "targets_approved": "目标已批复",
                "budgeted": "预算已批复", "evaluated": "已评价", "rectifying": "整改中", "closed": "已办结"}


@pytest.fixture(scope="module")
def years(jixiao_app):
    from jixiao.lifecycle import demo_data

    with jixiao_app.app_context():
        demo_data.generate("431102", YEAR, 24, finance_username="lingling_finance", monitoring_month=10)
        demo_data.generate("431102", SMALL_YEAR, 8, finance_username="lingling_finance", monitoring_month=10)
    return YEAR


def charts_of(html: str) -> dict[str, dict]:
    """Every chart's ECharts option on a page, by its key (the JSON data the static script draws)."""
    found = re.findall(r'<script type="application/json" id="chart-([a-z_-]+)-options">(.*?)</script>', html, re.S)
    return {key: json.loads(text) for key, text in found}


def table_rows(html: str, key: str) -> list[list[str]]:
    """The rows of chart ``key``'s table, as the cells' texts."""
    figure = re.search(rf'<figure class="dash-chart" id="dash-{key}">(.*?)</figure>', html, re.S)
    assert figure, key
    body = re.search(r"<tbody>(.*?)</tbody>", figure.group(1), re.S)
    assert body, f"{key} has no table"
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)] for row in rows]


def projects_of(user, year: int) -> list[dict]:
    body = user.get(f"/api/v1/tenants/431102/projects?year={year}&per_page=500").get_json()
    assert body["total"] == len(body["items"])
    return body["items"]


def test_the_finance_home_draws_the_year_from_its_records(app, years):
    finance = api_login(app, "lingling_finance")
    page = finance.get(f"/t/431102/?year={YEAR}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    charts = charts_of(html)
    # This month's dues are drawn when there are some (test_this_months_rectification_dues_are_the_ledgers).
    assert set(charts) - {"dues"} == {"funnel", "lights", "scatter", "grades", "exante", "rectification"}
    assert "本月到期事项" in html
    listed = projects_of(finance, YEAR)
    assert listed

    # The funnel: the projects that reached each stage (at it or beyond), as the project list has them.
    at = Counter(p["stage"] for p in listed)
    reached = [sum(at[s] for s in STAGES[i:]) for i in range(len(STAGES))]
    funnel = charts["funnel"]["series"][0]["data"]
    assert [d["value"] for d in funnel] == reached
    assert [d["name"] for d in funnel] == [STAGE_LABELS[s] for s in STAGES]
    assert [row[1] for row in table_rows(html, "funnel")] == [str(n) for n in reached]

    # Lights by department: each monitored project's latest light, per department.
    # Keyed by the department's code (two departments may share a name): one column per department.
    lit = Counter((p["department"]["code"], p["light"]) for p in listed if p["light"])
    names = {p["department"]["code"]: p["department"]["name"] for p in listed}
    codes = {code for code, _ in lit}
    departments = charts["lights"]["xAxis"]["data"]
    columns = sorted(zip(departments, *(series["data"] for series in charts["lights"]["series"]), strict=True))
    assert columns == sorted((names[code], *(lit[(code, light)] for light in LIGHTS)) for code in codes)
    assert sum(int(n) for row in table_rows(html, "lights") for n in row[1:]) == sum(lit.values())

    # The scatter has a point per monitored project with a measured attainment, in the series of its light; its
    # table lists every monitored project.
    points = {light: len(series["data"]) for light, series in zip(LIGHTS, charts["scatter"]["series"], strict=True)}
    assert sum(points.values()) > 0
    assert len(table_rows(html, "scatter")) == sum(1 for p in listed if p["light"])
    assert charts["scatter"]["series"][0]["markArea"]["data"], "the light bands are drawn"

    # Grades: each evaluated project's latest grade.
    graded = Counter(p["grade"] for p in listed if p["grade"])
    assert graded
    assert dict(zip(charts["grades"]["xAxis"]["data"], charts["grades"]["series"][0]["data"], strict=True)) == graded


def test_ex_ante_cuts_and_rectifications_add_up_to_the_statistics(app, years):
    finance = api_login(app, "lingling_finance")
    html = finance.get(f"/t/431102/?year={YEAR}").get_data(as_text=True)
    charts = charts_of(html)
    stats = finance.get(f"/api/v1/tenants/431102/statistics?year={YEAR}").get_json()

    exante = table_rows(html, "exante")
    assert sum(int(row[1]) for row in exante) == stats["exante"]["count"] > 0
    for i, conclusion in enumerate(("support", "adjust", "reject")):
        assert sum(int(row[2 + i]) for row in exante) == stats["exante"]["by_conclusion"][conclusion]
    cut_wan = [Decimal(str(x)) for x in charts["exante"]["series"][1]["data"]]
    assert [Decimal(row[6].replace(",", "")) for row in exante] == cut_wan

    rectification = table_rows(html, "rectification")
    assert sum(int(row[1]) for row in rectification) == stats["rectification"]["issued"] > 0
    assert sum(int(row[2]) for row in rectification) == stats["rectification"]["open"]
    assert sum(int(row[3]) for row in rectification) == stats["rectification"]["overdue"]
    assert charts["rectification"]["series"][1]["data"] == [int(row[3]) for row in rectification]


def test_the_exact_cut_is_the_statistics_cut(app, years):
    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle import charts, dashboard
    from jixiao.statistics.service import yearly_statistics
    from jixiao.tenancy import service as tenancy

    with app.test_request_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, "431102")
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            actor = db.scalar(__import__("sqlalchemy").select(User).where(User.username == "lingling_finance"))
            home = dashboard.finance_home(db, actor, tenant, YEAR)
            stats = yearly_statistics(db, tenant, YEAR)
            chart = charts.exante_chart(home)
    assert sum((row["cut"] for row in home.exante), Decimal(0)) == stats["exante"]["amount_cut"]
    assert chart.options["series"][1]["data"] == [charts.wan(row["cut"]) for row in home.exante]


def test_this_months_rectification_dues_are_the_ledgers(app, years):
    from jixiao.units import local_today

    finance = api_login(app, "lingling_finance")
    html = finance.get(f"/t/431102/?year={YEAR}").get_data(as_text=True)
    month = local_today().strftime("%Y-%m")
    ledger = finance.get("/api/v1/tenants/431102/rectifications?per_page=500").get_json()["items"]
    due = [n for n in ledger if n["status"] != "verified" and str(n["deadline"]).startswith(month)]
    rows = [row for row in table_rows(html, "dues") if row[0] == "整改到期"] if due else []
    assert len(rows) == len(due)
    assert charts_of(html).get("dues", {"series": [{"data": [0, 0, 0]}]})["series"][0]["data"][2] == len(due)


def test_a_unit_sees_only_its_own_projects(app, years):
    unit = api_login(app, "lingling_dept")
    html = unit.get(f"/t/431102/?year={YEAR}").get_data(as_text=True)
    charts = charts_of(html)
    assert set(charts) <= {"funnel", "owed"}
    own = projects_of(unit, YEAR)
    everyone = projects_of(api_login(app, "lingling_finance"), YEAR)
    assert 0 < len(own) < len(everyone)
    assert {p["department"]["code"] for p in own} == {"101"}
    at = Counter(p["stage"] for p in own)
    assert [d["value"] for d in charts["funnel"]["series"][0]["data"]] == [
        sum(at[s] for s in STAGES[i:]) for i in range(len(STAGES))]
    # What it owes lists only its own projects, with the to-do's items among them.
    owed = table_rows(html, "owed") if "owed" in charts else []
    names = {p["name"] for p in projects_of(unit, YEAR) + projects_of(unit, YEAR + 1)}
    todo = unit.get("/api/v1/tenants/431102/todo?per_page=500").get_json()
    items = todo["items"] if isinstance(todo, dict) else todo
    assert len(owed) >= len(items)
    assert "预警项目" not in html and "各部门监控亮灯情况" not in html
    assert all(row[1] in names or row[1] in {i["project_name"] for i in items} for row in owed)
    assert unit.get(f"/t/431102/warnings?year={YEAR}").status_code == 403


def test_roles_without_a_dashboard_keep_their_to_do(app, years):
    evaluator = api_login(app, "lingling_evaluator")
    html = evaluator.get(f"/t/431102/?year={YEAR}").get_data(as_text=True)
    assert charts_of(html) == {}
    assert "我的待办" in html


def test_an_upper_level_reads_the_countys_dashboard(app, years):
    city = api_login(app, "yongzhou_finance")
    html = city.get(f"/t/431102/?year={YEAR}").get_data(as_text=True)
    assert "funnel" in charts_of(html)
    page = city.get(f"/t/431102/warnings?year={YEAR}")
    assert page.status_code == 200
    assert "您只能查看" in page.get_data(as_text=True)
    assert "#budget" not in page.get_data(as_text=True)  # finance's link to the payment form is the county's own


def test_another_countys_dashboard_and_warnings_are_not_found(app, years):
    other = api_login(app, "heshan_finance")
    assert other.get(f"/t/431102/?year={YEAR}").status_code == 404
    assert other.get(f"/t/431102/warnings?year={YEAR}").status_code == 404


def test_a_year_that_is_not_a_year_is_refused_naming_it(app, years):
    finance = api_login(app, "lingling_finance")
    page = finance.get("/t/431102/?year=abc")
    assert page.status_code == 400
    assert "年度" in page.get_data(as_text=True)
    assert finance.get("/t/431102/warnings?year=99999").status_code == 400


def test_the_early_warning_page_lists_the_red_and_yellow_projects(app, years):
    finance = api_login(app, "lingling_finance")
    page = finance.get(f"/t/431102/warnings?year={YEAR}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    off_track = [p for p in projects_of(finance, YEAR) if p["light"] in ("red", "yellow")]
    assert off_track
    for project in off_track:
        assert project["name"] in html
    rows = re.findall(r'<table class="list warnings">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert sum(row.count("<tr>") for row in rows) == len(off_track)
    by_department = Counter((p["department"]["name"], p["light"]) for p in off_track)
    chart = charts_of(html)["warnings"]
    for series, light in zip(chart["series"], ("red", "yellow"), strict=True):
        assert series["data"] == [by_department[(name, light)] for name in chart["xAxis"]["data"]]
    # Chinese words, never codes: the light, the cause the unit gave, the payment status.
    assert "红灯" in html or "黄灯" in html
    assert "正常拨款" in html or "已暂停拨款" in html
    assert not re.search(r">\s*(red|yellow|continue|adjust_funds|cancel)\s*<", html)
    assert html.count("#budget") == len(off_track)  # the county's finance suspends or resumes payment from there
    detail = finance.get(f"/api/v1/tenants/431102/projects/{off_track[0]['id']}").get_json()
    assert detail["id"] == off_track[0]["id"]


def test_a_year_without_records_draws_no_empty_chart(app, years):
    finance = api_login(app, "lingling_finance")
    html = finance.get(f"/t/431102/?year={EMPTY_YEAR}").get_data(as_text=True)
    assert "funnel" not in charts_of(html)
    assert "暂无数据" in html
    assert "本年度没有红灯或黄灯项目" in finance.get(f"/t/431102/warnings?year={EMPTY_YEAR}").get_data(as_text=True)


@pytest.mark.parametrize("username", ["lingling_finance", "lingling_dept"])
def test_the_home_dashboard_runs_the_same_statements_for_8_and_24_projects(app, years, username):
    from tests.test_query_budget import count_statements

    user = api_login(app, username)
    user.get(f"/t/431102/?year={SMALL_YEAR}")  # warm what is cached per process
    with count_statements(app) as small:
        assert user.get(f"/t/431102/?year={SMALL_YEAR}").status_code == 200
    with count_statements(app) as large:
        assert user.get(f"/t/431102/?year={YEAR}").status_code == 200
    assert len(small) == len(large), (len(small), len(large))
    assert len(large) <= 45


def league_of(user, code: str, **args) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {"year": YEAR, **args}.items())
    response = user.get(f"/api/v1/tenants/{code}/statistics/league?{query}")
    assert response.status_code == 200
    return response.get_json()


def test_the_city_home_ranks_its_children_as_the_league_table_does(app, years):
    city = api_login(app, "yongzhou_finance")
    html = city.get(f"/t/431100/?year={YEAR}&sort=monitoring&order=desc").get_data(as_text=True)
    league = league_of(city, "431100", sort="monitoring", order="desc")
    chart = charts_of(html)["league"]
    assert chart["xAxis"]["data"] == [row["name"] for row in league["rows"]]
    rates = [row["current"]["monitoring"]["rate"] for row in league["rows"]]
    assert chart["series"][0]["data"] == [{"value": None if r is None else float(r), "itemStyle": d["itemStyle"]}
                                          for r, d in zip(rates, chart["series"][0]["data"], strict=True)]
    assert any(r is not None for r in rates)
    # The page's league table: in the same order, each name a link to the child's (read-only) home.
    table = re.search(r'<table class="list league-home">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    links = re.findall(r'<a href="/t/(\d{6})/\?year=\d+">', table)
    assert links == [row["code"] for row in league["rows"]]
    assert "导出 Excel" in html and "/exports/league" in html
    child = city.get(f"/t/{links[0]}/?year={YEAR}")
    assert child.status_code == 200 and "您只能查看" in child.get_data(as_text=True)


def test_the_months_filing_rates_count_the_units_that_filed(app, years):
    city = api_login(app, "yongzhou_finance")
    html = city.get(f"/t/431100/?year={YEAR}").get_data(as_text=True)
    finance = api_login(app, "lingling_finance")
    filed: dict[int, set[str]] = {}
    for project in projects_of(finance, YEAR):
        if project["light"]:
            for report in finance.get(f"/api/v1/tenants/431102/projects/{project['id']}/monitoring").get_json()["reports"]:
                filed.setdefault(report["period"], set()).add(project["department"]["code"])
    owed = next(row for row in league_of(city, "431100")["rows"] if row["code"] == "431102")
    owed_units = owed["current"]["monitoring"]["denominator"]
    chart = charts_of(html)["filing"]
    lingling = next(s for s in chart["series"] if s["name"] == owed["name"])
    months = [int(m.split()[0]) for m in chart["xAxis"]["data"]]
    assert months == list(range(1, 13))  # not the current year: every month
    assert lingling["data"] == [round(len(filed.get(m, ())) * 100 / owed_units, 2) for m in months]
    assert any(lingling["data"])


def test_the_league_exports_to_excel(app, years):
    import io

    from openpyxl import load_workbook

    city = api_login(app, "yongzhou_finance")
    for url in (f"/t/431100/exports/league?year={YEAR}&sort=monitoring&order=desc",
                f"/api/v1/tenants/431100/exports/league?year={YEAR}&sort=monitoring&order=desc"):
        response = city.get(url)
        assert response.status_code == 200, url
        sheet = load_workbook(io.BytesIO(response.data)).active
        names = [row[0] for row in sheet.iter_rows(min_row=4, values_only=True) if row[0]]
        assert names == [row["name"] for row in league_of(city, "431100", sort="monitoring", order="desc")["rows"]]
    assert city.get("/t/431100/exports/league?year=abc").status_code == 400
    assert api_login(app, "lingling_dept").get(f"/t/431102/exports/league?year={YEAR}").status_code == 403
    assert api_login(app, "heshan_finance").get(f"/t/431100/exports/league?year={YEAR}").status_code == 404


def test_the_province_home_draws_its_children(app, years):
    province = api_login(app, "hunan_admin")
    html = province.get(f"/t/430000/?year={YEAR}").get_data(as_text=True)
    assert {"league", "filing"} <= set(charts_of(html))
    assert charts_of(html)["league"]["xAxis"]["data"] == [row["name"] for row in league_of(province, "430000")["rows"]]


def test_the_latest_campaigns_ranking_and_distribution(app, years):
    from datetime import date, timedelta

    from tests.test_audit_and_api import make_app_like

    # Summing up is a job: run in the process (no Redis), as the assessment tests run it.
    city = api_login(make_app_like(app, REDIS_URL=None), "yongzhou_finance")
    assessments = "/api/v1/tenants/431100/assessments"
    schemes = city.get(f"{assessments}/schemes?year={CAMPAIGN_YEAR}").get_json()
    opened = city.post(assessments, json={"year": CAMPAIGN_YEAR, "scheme": schemes[0]["code"],
                                          "deadline": (date.today() + timedelta(days=30)).isoformat()})
    assert opened.status_code == 201, opened.get_json()
    campaign = opened.get_json()
    version = city.get(f"{assessments}/{campaign['id']}").get_json()["version"]
    job = city.post(f"{assessments}/{campaign['id']}/finalize",
                    json={"force": True, "reason": "测试提前汇总", "version": version}).get_json()
    assert job["status"] == "succeeded", job

    html = city.get(f"/t/431100/?year={YEAR}").get_data(as_text=True)
    shown = int(re.search(r'href="/t/431100/assessments/(\d+)"', html).group(1))
    assert shown >= campaign["id"]  # the latest summed-up campaign (this one, or one opened since)
    ranking = city.get(f"{assessments}/{shown}/ranking").get_json()
    charts = charts_of(html)
    ranked = [row for row in ranking if row["ranked"] and row["total"] is not None]
    assert charts["ranking"]["xAxis"]["data"] == [row["name"] for row in ranked]
    assert charts["ranking"]["series"][0]["data"] == [float(row["total"]) for row in ranked]
    results = Counter((row["grade"] or row.get("label") or "未定级") if row["ranked"] else "数据不足" for row in ranking)
    assert {d["name"]: d["value"] for d in charts["distribution"]["series"][0]["data"]} == results
    assert sum(results.values()) == len(ranking) > 0


class AsksForAnAnswer:
    """A region's rule: a red report asks the unit to decide (继续执行 / 调剂 / 取消) within five working days."""

    @hookimpl
    def monitoring_warnings(self, tenant, project, report):
        if report.light == "red":
            return [{"code": "dashboard_test", "message": "执行严重滞后，请说明是否继续实施", "response_days": 5}]
        return None


def test_the_early_warning_page_follows_a_warning_to_its_answer_and_the_payment(with_plugin, years):
    made = with_plugin(AsksForAnAnswer(), "431102")
    finance, unit = api_login(made, "lingling_finance"), api_login(made, "lingling_dept")
    base = "/api/v1/tenants/431102"

    def ok(response, status=200):
        assert response.status_code == status, response.get_json()
        return response.get_json()

    pid = ok(unit.post(f"{base}/projects", json={
        "code": "DASH-WARN-1", "name": "预警跟踪测试项目", "year": WARNING_YEAR, "kind": "project",
        "fund_type": "general_public", "is_new": False, "requested_amount": "500000"}), 201)["id"]
    ok(unit.put(f"{base}/projects/{pid}/targets", json={"overall_target": "按期完成。", "indicators": [
        {"level1": "产出", "level2": "数量指标", "name": "完成任务量", "direction": "ge", "target_value": "100",
         "unit": "项", "weight": "60"},
        {"level1": "效益", "level2": "社会效益指标", "name": "受益人数", "direction": "ge", "target_value": "1000",
         "unit": "人", "weight": "30"},
        {"level1": "满意度", "level2": "服务对象满意度指标", "name": "群众满意度", "direction": "ge",
         "target_value": "90", "unit": "%", "weight": "10"}]}))
    ok(unit.post(f"{base}/projects/{pid}/targets/submit"))
    ok(finance.post(f"{base}/projects/{pid}/targets/review", json={"decision": "approve"}))
    ok(finance.post(f"{base}/projects/{pid}/budget", json={
        "approved_amount": "500000", "version": ok(finance.get(f"{base}/projects/{pid}"))["version"]}))
    monitoring = ok(unit.get(f"{base}/projects/{pid}/monitoring"))
    period = monitoring["periods_owed"][-1]
    indicator = ok(unit.get(f"{base}/projects/{pid}/targets"))["indicators"][0]["id"]
    filed = ok(unit.post(f"{base}/projects/{pid}/monitoring", json={
        "period": period, "executed_amount": "1000", "cause": "征地拆迁未完成", "measure": "协调加快拆迁进度",
        "values": [{"indicator_id": indicator, "actual_value": "1"}]}), 201)
    assert filed["light"] == "red" and filed["response_due"]

    def row() -> str:
        html = finance.get(f"/t/431102/warnings?year={WARNING_YEAR}").get_data(as_text=True)
        found = re.search(r"<tr>\s*<td><a [^>]*>预警跟踪测试项目</a>.*?</tr>", html, re.S)
        assert found, "the red project is listed"
        return found.group(0)

    waiting = row()
    for said in ("红灯", "征地拆迁未完成", "协调加快拆迁进度", "执行严重滞后，请说明是否继续实施",
                 f"待回应，期限 {filed['response_due']}", "正常拨款"):
        assert said in waiting, said

    ok(unit.post(f"{base}/projects/{pid}/monitoring/{period}/response",
                 json={"choice": "adjust_funds", "note": "调剂至道路养护项目"}))
    ok(finance.post(f"{base}/projects/{pid}/payment", json={
        "suspended": True, "reason": "待调剂方案批复", "version": ok(finance.get(f"{base}/projects/{pid}"))["version"]}))
    answered = row()
    for said in ("调剂：调剂至道路养护项目", "已暂停拨款", "待调剂方案批复"):
        assert said in answered, said
    assert "待回应" not in answered
