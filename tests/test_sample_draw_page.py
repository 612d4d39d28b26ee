"""The sample-draw page (抽评样本): finance draws a year's re-evaluation sample with a seed it may give, and
reads every draw with its seed, population and drawn projects (by code and name), and what a redraw does.

Projects are self-evaluated through the API in budget years 2082–2084 (nobody else's), so each year's
population is what the test made.
"""

from __future__ import annotations

import re

import pytest

from jixiao import units
from jixiao.testing import tenant_settings, unique

LINGLING = "431102"
INDICATORS = [
    {"level1": "产出", "level2": "数量指标", "name": "培训教师人次", "direction": "ge", "target_value": "100",
     "unit": "人次", "weight": "40"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益学生人数", "direction": "ge", "target_value": "500",
     "unit": "人", "weight": "30"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "参训教师满意度", "direction": "ge",
     "target_value": "90", "unit": "%", "weight": "20"},
]
SAMPLES = f"/t/{LINGLING}/evaluations/samples"


def url(path: str = "") -> str:
    return f"/api/v1/tenants/{LINGLING}{path}"


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def self_evaluated_project(client, year: int, *, is_key: bool = False) -> dict:
    """A budgeted project of ``year`` whose self-evaluation is submitted: one of the year's sample population."""
    project = ok(client.post(url("/projects"), json={
        "code": unique("SD"), "name": unique("教师培训项目"), "year": year, "kind": "project",
        "fund_type": "general_public", "department_code": "101", "is_new": False, "is_key": is_key,
        "requested_amount": "300000.00"}), 201)
    pid = project["id"]
    ok(client.put(url(f"/projects/{pid}/targets"), json={"overall_target": "培训教师100人次。",
                                                          "indicators": INDICATORS}))
    ok(client.post(url(f"/projects/{pid}/targets/submit")))
    ok(client.post(url(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    ok(client.post(url(f"/projects/{pid}/budget"), json={
        "approved_amount": "300000.00", "version": ok(client.get(url(f"/projects/{pid}")))["version"]}))
    evaluation = ok(client.post(url(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    indicators = ok(client.get(url(f"/projects/{pid}/targets")))["indicators"]
    ok(client.post(url(f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": "300000.00",
        "scores": [{"indicator_id": i["id"], "actual_value": i["target_value"]} for i in indicators]}))
    return project


@pytest.fixture
def finance(login):
    return login("lingling_finance")


@pytest.fixture(scope="module")
def population(jixiao_app):
    """Year 2082: one key project and three others, self-evaluated."""
    from jixiao.testing import api_login

    finance = api_login(jixiao_app, "lingling_finance")
    return [self_evaluated_project(finance, 2082, is_key=True)] + [
        self_evaluated_project(finance, 2082) for _ in range(3)]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def draw_section(html: str, draw_id: int) -> str:
    start = html.index(f'id="draw-{draw_id}"')
    return html[start:html.index("</article>", start)]


def test_finance_reads_the_rule_and_what_a_redraw_does(app, finance):
    html = finance.get(SAMPLES).get_data(as_text=True)
    text = text_of(html)
    rate = units.ratio_percent_trimmed(tenant_settings(app, LINGLING)["evaluation.sample_rate"])
    assert f"其他项目按 {rate} 的比例随机抽取" in text
    assert "重点项目全部抽取" in text
    assert "不撤销、不覆盖以前的抽样" in text and "不再重复安排" in text
    assert 'name="seed"' in html and "data-confirm=" in html


def test_a_draw_with_a_seed_shows_the_seed_and_the_drawn_projects_by_code_and_name(finance, population):
    by_id = {p["id"]: p for p in population}
    response = finance.post(SAMPLES, data={"year": "2082", "seed": "20820101", "kind": "finance"})
    assert response.status_code == 302
    draw = next(d for d in ok(finance.get(url("/evaluations/sample?year=2082"))) if d["seed"] == 20820101)
    html = finance.get(response.headers["Location"]).get_data(as_text=True)
    section = draw_section(html, draw["id"])

    assert "20820101" in section
    assert f"抽样范围 {len(draw['population_ids'])} 个项目" in text_of(section)
    for pid in draw["drawn_ids"]:
        assert by_id[pid]["code"] in section and by_id[pid]["name"] in section
    for pid in set(by_id) - set(draw["drawn_ids"]):
        assert by_id[pid]["code"] in section  # in the population list
    assert population[0]["id"] in draw["drawn_ids"]  # a key project is always drawn
    assert draw["message"] in text_of(section)


def test_a_redraw_with_the_same_seed_draws_the_same_projects_and_assigns_none_again(finance, population):
    first = finance.post(SAMPLES, data={"year": "2082", "seed": "777", "kind": "finance"})
    second = finance.post(SAMPLES, data={"year": "2082", "seed": "777", "kind": "finance"})
    assert (first.status_code, second.status_code) == (302, 302)
    draws = [d for d in ok(finance.get(url("/evaluations/sample?year=2082"))) if d["seed"] == 777]
    newer, older = draws[0], draws[1]
    assert newer["drawn_ids"] == older["drawn_ids"]
    assert newer["assigned_ids"] == [] and newer["already_assigned_ids"] == newer["drawn_ids"]

    section = text_of(draw_section(finance.get(SAMPLES + "?year=2082").get_data(as_text=True), newer["id"]))
    assert section.count("此前已安排，未重复安排") == len(newer["drawn_ids"])


def test_a_seed_that_is_not_a_number_is_refused_naming_the_field_and_the_input_is_kept(finance, population):
    before = len(ok(finance.get(url("/evaluations/sample?year=2082"))))
    response = finance.post(SAMPLES, data={"year": "2082", "seed": "abc", "kind": "finance"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "随机种子应为非负整数" in html
    assert 'name="seed" inputmode="numeric" value="abc"' in html and 'value="2082"' in html
    assert len(ok(finance.get(url("/evaluations/sample?year=2082")))) == before


def test_a_missing_year_is_refused_naming_the_field(finance):
    response = finance.post(SAMPLES, data={"year": "", "seed": ""})
    assert response.status_code == 400
    assert "请填写预算年度" in response.get_data(as_text=True)


def test_a_year_without_self_evaluations_is_a_409_with_the_reason(finance):
    response = finance.post(SAMPLES, data={"year": "2084", "seed": ""})
    assert response.status_code == 409
    assert "2084 年还没有已提交自评的项目" in response.get_data(as_text=True)


def test_department_staff_may_neither_read_nor_draw(login):
    unit = login("lingling_dept")
    assert unit.get(SAMPLES).status_code == 403
    assert unit.post(SAMPLES, data={"year": "2082"}).status_code == 403


def test_an_upper_levels_finance_reads_the_draws_but_draws_none(login, population):
    city = login("yongzhou_finance")
    html = city.get(SAMPLES).get_data(as_text=True)
    assert 'name="seed"' not in html
    assert city.post(SAMPLES, data={"year": "2082"}).status_code == 403


def test_another_countys_finance_gets_404(login):
    stranger = login("heshan_finance")
    assert stranger.get(SAMPLES).status_code == 404
    assert stranger.post(SAMPLES, data={"year": "2082"}).status_code == 404


def test_the_evaluations_page_links_to_the_samples_for_finance_only(finance, login):
    assert SAMPLES in finance.get(f"/t/{LINGLING}/evaluations").get_data(as_text=True)
    assert SAMPLES not in login("lingling_dept").get(f"/t/{LINGLING}/evaluations").get_data(as_text=True)
