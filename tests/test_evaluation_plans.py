"""Yearly plans of key evaluations (issue 16 §3) and what was done against them, read from the statistics.

Seed 002 (Hengyang 430400, line 15): "2022年财政重点绩效评价……共确定项目34个，其中部门整体支出22个，专项资金和项目12个，
会计师事务所评价29个项目，财政绩效评价组评价5个". The plan is written through the API as lines (project kind ×
performer); the statistics add them up by kind and by performer, and count the evaluations done, each by its
project's kind and its performer: the commissioned agency's type, or finance's own team for a finance evaluation
without an agency. Hengyang's 2022 is used by no other test's records; Lingling's 2075–2079 for the rest.
"""

from __future__ import annotations

from typing import Any

import pytest

from jixiao.lifecycle.models import EvaluationKind, ProjectKind
from tests.test_agency_library import budgeted_projects, evaluated_by, ok, refusal, register, url
from tests.test_statistics import GOOD, bureau

HENGYANG, LINGLING, HESHAN = "430400", "431102", "430903"
SEED_YEAR, YEAR = 2022, 2076
# Seed 002's figures for the 2022 plan.
PLANNED, DEPARTMENT_WHOLE, PROJECTS, BY_ACCOUNTING_FIRMS, BY_FINANCE_TEAM = 34, 22, 12, 29, 5
# How the bureau split them (the seed gives only the sums): department-whole budgets by accounting firms and by
# the team, projects and special funds likewise.
WHOLE_BY_TEAM, PROJECTS_BY_TEAM = 3, BY_FINANCE_TEAM - 3
SEED_PLAN = [
    {"project_kind": "department_whole", "performer": "accounting_firm", "planned_count": DEPARTMENT_WHOLE - WHOLE_BY_TEAM},
    {"project_kind": "department_whole", "performer": "finance_team", "planned_count": WHOLE_BY_TEAM},
    {"project_kind": "project", "performer": "accounting_firm", "planned_count": PROJECTS - PROJECTS_BY_TEAM},
    {"project_kind": "project", "performer": "finance_team", "planned_count": PROJECTS_BY_TEAM},
]


def plan_url(year: int, code: str = LINGLING) -> str:
    return url(f"/evaluation-plans/{year}", code)


def progress(client: Any, year: int, code: str) -> dict[str, Any]:
    return ok(client.get(f"/api/v1/tenants/{code}/statistics/evaluation-plan?year={year}"))


@pytest.fixture(scope="module")
def seed_002(jixiao_app: Any) -> dict[str, Any]:
    """Hengyang's 2022 plan and a few of its evaluations, done and in progress, as the bureau made them."""
    from jixiao.testing import api_login

    finance = api_login(jixiao_app, "hengyang_finance")
    ok(finance.put(plan_url(SEED_YEAR, HENGYANG), json={"lines": SEED_PLAN, "note": "由被评价单位的分管领导带队"}))
    firm = register(finance, "accounting_firm", HENGYANG)
    consultancy = register(finance, "consultancy", HENGYANG)
    wholes = budgeted_projects(jixiao_app, SEED_YEAR, 3, HENGYANG, ProjectKind.DEPARTMENT_WHOLE)
    projects = budgeted_projects(jixiao_app, SEED_YEAR, 4, HENGYANG)
    done = [
        ("department_whole", "accounting_firm", evaluated_by(jixiao_app, SEED_YEAR, wholes[0], firm["id"], code=HENGYANG)),
        ("department_whole", "accounting_firm", evaluated_by(jixiao_app, SEED_YEAR, wholes[1], firm["id"], code=HENGYANG)),
        ("project", "finance_team", evaluated_by(jixiao_app, SEED_YEAR, projects[0], None, EvaluationKind.FINANCE,
                                                 code=HENGYANG)),
        # Not in the plan: a consultancy's evaluation shows as a line planned 0.
        ("project", "consultancy", evaluated_by(jixiao_app, SEED_YEAR, projects[1], consultancy["id"],
                                                code=HENGYANG)),
    ]
    # A department evaluation is not a key evaluation of finance's plan.
    evaluated_by(jixiao_app, SEED_YEAR, wholes[2], None, EvaluationKind.DEPARTMENT, code=HENGYANG)
    ok(finance.post(url(f"/projects/{projects[2]}/evaluations", HENGYANG),
                    json={"kind": "third_party", "agency_id": firm["id"]}), 201)
    in_progress = [("project", "accounting_firm")]
    return {"done": done, "in_progress": in_progress}


def test_seed_002_2022_plan_planned_vs_done(login, seed_002):
    stats = progress(login("hengyang_finance"), SEED_YEAR, HENGYANG)
    assert stats["has_plan"] is True
    assert stats["planned"] == PLANNED
    assert (stats["by_project_kind"]["department_whole"]["planned"], stats["by_project_kind"]["project"]["planned"]) \
        == (DEPARTMENT_WHOLE, PROJECTS)
    assert (stats["by_performer"]["accounting_firm"]["planned"], stats["by_performer"]["finance_team"]["planned"]) \
        == (BY_ACCOUNTING_FIRMS, BY_FINANCE_TEAM)

    done = seed_002["done"]
    assert stats["done"] == len(done) and stats["in_progress"] == len(seed_002["in_progress"])
    for kind in ("department_whole", "project"):
        assert stats["by_project_kind"][kind]["done"] == sum(1 for k, _, _ in done if k == kind)
    for performer in ("accounting_firm", "finance_team", "consultancy"):
        assert stats["by_performer"][performer]["done"] == sum(1 for _, p, _ in done if p == performer)
    lines = {(line["project_kind"], line["performer"]): line for line in stats["lines"]}
    assert lines["project", "consultancy"]["planned"] == 0 and lines["project", "consultancy"]["done"] == 1
    assert lines["project", "accounting_firm"]["in_progress"] == 1
    assert sum(line["planned"] for line in stats["lines"]) == PLANNED


def test_the_statistics_page_shows_the_plan_in_words(login, seed_002):
    html = login("hengyang_finance").get(f"/t/{HENGYANG}/statistics?year={SEED_YEAR}").get_data(as_text=True)
    table = html.split('id="evaluation-plan"')[1].split("</section>")[0]
    for words in ("重点评价计划完成情况", "部门整体", "会计师事务所", "财政绩效评价组", "咨询机构", f">{PLANNED}<"):
        assert words in table
    for code in ("finance_team", "accounting_firm", "department_whole"):
        assert f">{code}<" not in table


def test_the_plan_is_read_back_and_replaced_with_its_version(login):
    finance = login("lingling_finance")
    created = ok(finance.put(plan_url(YEAR), json={"lines": SEED_PLAN[:2]}))
    assert [line["planned_count"] for line in created["lines"]] == [line["planned_count"] for line in SEED_PLAN[:2]]
    assert ok(finance.get(plan_url(YEAR)))["version"] == created["version"]

    assert "version" in refusal(finance.put(plan_url(YEAR), json={"lines": SEED_PLAN}), 400)["fields"]
    refusal(finance.put(plan_url(YEAR), json={"lines": SEED_PLAN, "version": created["version"] + 1}), 409)
    replaced = ok(finance.put(plan_url(YEAR), json={"lines": SEED_PLAN, "version": created["version"]}))
    assert replaced["version"] == created["version"] + 1 and len(replaced["lines"]) == len(SEED_PLAN)
    assert progress(finance, YEAR, LINGLING)["planned"] == PLANNED
    assert YEAR in [plan["year"] for plan in ok(finance.get(url("/evaluation-plans")))]


def test_a_year_without_a_plan(login):
    finance = login("lingling_finance")
    assert "尚未制定" in refusal(finance.get(plan_url(YEAR + 3)), 404)["message"]
    empty = progress(finance, YEAR + 3, LINGLING)
    assert (empty["has_plan"], empty["planned"]) == (False, 0)
    # Other tests' evaluations of the year may show, each planned 0.
    assert all(line["planned"] == 0 for line in empty["lines"])


def test_bad_lines_are_refused_in_chinese_naming_the_field(app, login):
    finance = login("lingling_finance")
    wrong = refusal(finance.put(plan_url(YEAR + 1), json={"lines": [
        {"project_kind": "department_whole", "performer": "law_firm", "planned_count": 3}]}), 400)
    assert "law_firm" in str(wrong["fields"])
    refusal(finance.put(plan_url(YEAR + 1), json={"lines": [
        {"project_kind": "project", "performer": "finance_team", "planned_count": 0}]}), 400)
    refusal(finance.put(plan_url(YEAR + 1), json={"lines": []}), 400)
    refusal(finance.get(plan_url(YEAR + 1)), 404)  # a refused write made nothing

    from jixiao.errors import ValidationFailed
    from jixiao.lifecycle import plans
    from tests.test_statistics import bureau

    twice = [SEED_PLAN[0], {**SEED_PLAN[0], "planned_count": 1}, {"project_kind": "fund", "performer": "finance_team",
                                                                  "planned_count": "三"}]
    with bureau(app, LINGLING, YEAR + 1) as b, pytest.raises(ValidationFailed) as caught:
        plans.save_plan(b.db, b.actor, b.tenant, YEAR + 1, {"lines": twice})
    fields = caught.value.fields
    assert "第 2 行与第 1 行" in fields["lines.2"]
    assert "项目类型" in fields["lines.3.project_kind"] and "计划数应为整数" in fields["lines.3.planned_count"]


def test_only_finance_writes_a_plan_and_department_staff_do_not_read_it(login):
    ok(login("lingling_finance").put(plan_url(YEAR + 2), json={"lines": SEED_PLAN[:1]}))
    unit = login("lingling_dept")
    refusal(unit.get(plan_url(YEAR + 2)), 403)
    refusal(unit.put(plan_url(YEAR + 2), json={"lines": SEED_PLAN}), 403)
    refusal(unit.get(f"/api/v1/tenants/{LINGLING}/statistics/evaluation-plan?year={YEAR + 2}"), 403)
    viewer = login("lingling_viewer")
    assert ok(viewer.get(plan_url(YEAR + 2)))["lines"][0]["planned_count"] == SEED_PLAN[0]["planned_count"]
    refusal(viewer.put(plan_url(YEAR + 2), json={"lines": SEED_PLAN, "version": 1}), 403)


def test_another_countys_plan_is_not_found(login, seed_002):
    heshan = login("heshan_finance")
    refusal(heshan.get(plan_url(SEED_YEAR, HENGYANG)), 404)
    refusal(heshan.put(plan_url(SEED_YEAR, HENGYANG), json={"lines": SEED_PLAN}), 404)
    refusal(heshan.get(f"/api/v1/tenants/{HENGYANG}/statistics/evaluation-plan?year={SEED_YEAR}"), 404)
    refusal(heshan.get(plan_url(SEED_YEAR, HESHAN)), 404)  # Hengyang's plan is not Heshan's
    assert progress(heshan, SEED_YEAR, HESHAN)["has_plan"] is False


def test_finance_writes_the_plan_on_its_page_and_a_bad_count_keeps_the_input(login):
    finance = login("lingling_finance")
    page_url = f"/t/{LINGLING}/evaluation-plans?year={YEAR - 1}"
    html = finance.get(page_url).get_data(as_text=True)
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    version = html.split('name="version" value="')[1].split('"')[0]
    cells = {f"count-{line['project_kind']}-{line['performer']}": str(line["planned_count"]) for line in SEED_PLAN}
    refused = finance.post(page_url, data={"csrf_token": token, "version": version, **cells,
                                           "count-policy-university": "两个"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "计划数应为整数" in text and 'value="两个"' in text
    saved = finance.post(page_url, data={"csrf_token": token, "version": version, **cells, "note": "按季度推进"})
    assert saved.status_code == 302
    plan = ok(finance.get(plan_url(YEAR - 1)))
    assert sum(line["planned_count"] for line in plan["lines"]) == PLANNED and plan["note"] == "按季度推进"
    shown = login("lingling_viewer").get(page_url).get_data(as_text=True)
    assert "财政绩效评价组" in shown and "部门整体" in shown and 'name="count-' not in shown
    assert login("lingling_dept").get(page_url).status_code == 403


ROLLUP_YEAR, YONGZHOU = 2058, "431100"


def test_a_city_reads_every_bureau_s_plan_against_its_own_evaluations_rolled_up(login, jixiao_app):
    """含下级: the city's plan and its counties' plans, each against that bureau's own evaluations, added up; a row
    per county for its subtree; the same figures as each bureau's 本级."""
    city, county = login("yongzhou_finance"), login("lingling_finance")
    ok(city.put(plan_url(ROLLUP_YEAR, YONGZHOU), json={"lines": [
        {"project_kind": "project", "performer": "finance_team", "planned_count": 2}], "note": "市本级"}))
    ok(county.put(plan_url(ROLLUP_YEAR, LINGLING), json={"lines": SEED_PLAN[:3]}))
    firm = register(county, "accounting_firm", LINGLING)
    wholes = budgeted_projects(jixiao_app, ROLLUP_YEAR, 2, LINGLING, ProjectKind.DEPARTMENT_WHOLE)
    evaluated_by(jixiao_app, ROLLUP_YEAR, wholes[0], firm["id"], code=LINGLING)
    ok(county.post(url(f"/projects/{wholes[1]}/evaluations", LINGLING),
                   json={"kind": "third_party", "agency_id": firm["id"]}), 201)
    with bureau(jixiao_app, YONGZHOU, ROLLUP_YEAR, "yongzhou_finance") as b:  # the city's own project
        project = b.projects([{"department": b.departments(1)[0]}])[0]
        b.file_targets(project)
        b.approve(project)
        b.budget(project, project.requested_amount)
        b.evaluate(project, EvaluationKind.FINANCE, GOOD)

    rolled = ok(city.get(f"/api/v1/tenants/{YONGZHOU}/statistics/evaluation-plan?year={ROLLUP_YEAR}&scope=all"))
    own, lingling = progress(city, ROLLUP_YEAR, YONGZHOU), progress(county, ROLLUP_YEAR, LINGLING)
    figures = ("planned", "in_progress", "done", "has_plan", "lines", "by_project_kind", "by_performer")
    assert rolled["scope"] == "all" and {k: rolled["own"][k] for k in figures} == {k: own[k] for k in figures}
    children = {c["code"]: c for c in rolled["children"]}
    assert {k: children[LINGLING][k] for k in figures} == {k: lingling[k] for k in figures}
    others = [c for code, c in children.items() if code != LINGLING]
    assert others and all(not c["has_plan"] and c["planned"] == c["done"] == c["in_progress"] == 0 for c in others)
    for name in ("planned", "in_progress", "done"):
        assert rolled["total"][name] == own[name] + sum(c[name] for c in children.values())
    # Line by line too: the county's department-whole budgets by accounting firms, the city's finance team.
    total_lines = {(line["project_kind"], line["performer"]): line for line in rolled["total"]["lines"]}
    for part in (own, lingling):
        for line in part["lines"]:
            assert total_lines[line["project_kind"], line["performer"]]["planned"] >= line["planned"]
    assert sum(line["planned"] for line in rolled["total"]["lines"]) == own["planned"] + lingling["planned"]
    assert rolled["total"]["has_plan"] is True and rolled["own"]["note"] == "市本级"

    html = city.get(f"/t/{YONGZHOU}/statistics?year={ROLLUP_YEAR}&scope=all").get_data(as_text=True)
    section = html.split('id="evaluation-plan"')[1].split("</section>")[0]
    assert "含下级" in section and 'id="evaluation-plan-children"' in section and "零陵区" in section
    assert f'>{rolled["total"]["planned"]}<' in section
    refusal(login("lingling_dept").get(
        f"/api/v1/tenants/{LINGLING}/statistics/evaluation-plan?year={ROLLUP_YEAR}&scope=all"), 403)
    refusal(city.get(f"/api/v1/tenants/{YONGZHOU}/statistics/evaluation-plan?year={ROLLUP_YEAR}&scope=some"), 400)
