"""Rules that were wrong (items 4 and 5): results decisions accepted anything, and a redrawn sample assigned a
project a second evaluation. Records are made through the API, as a finance bureau would make them."""

from __future__ import annotations

import json
import re
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from jixiao import migrate
from jixiao.db import create_engine
from jixiao.rules import national
from jixiao.testing import create_test_database, drop_test_database, make_app, prepare_database, unique

YEAR = 2026
INDICATORS = [
    {"level1": "产出", "level2": "数量指标", "name": "改造校舍面积", "direction": "ge", "target_value": "2000",
     "unit": "平方米", "weight": "50"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益学生人数", "direction": "ge", "target_value": "800",
     "unit": "人", "weight": "30"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "师生满意度", "direction": "ge",
     "target_value": "90", "unit": "%", "weight": "20"},
]


def url(path: str = "") -> str:
    return f"/api/v1/tenants/431102{path}"


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def budgeted(client, *, amount: str = "1000000.00", year: int = YEAR, is_key: bool = False) -> dict:
    """A continuing project (no ex-ante assessment) with approved targets and budget ``amount``."""
    project = ok(client.post(url("/projects"), json={
        "code": unique("RR"), "name": "校舍改造项目", "year": year, "kind": "project", "fund_type": "general_public",
        "department_code": "101", "is_new": False, "is_key": is_key, "requested_amount": amount}), 201)
    pid = project["id"]
    ok(client.put(url(f"/projects/{pid}/targets"), json={"overall_target": "改造校舍2000平方米。",
                                                          "indicators": INDICATORS}))
    ok(client.post(url(f"/projects/{pid}/targets/submit")))
    ok(client.post(url(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    return ok(client.post(url(f"/projects/{pid}/budget"), json={
        "approved_amount": amount, "version": ok(client.get(url(f"/projects/{pid}")))["version"]}))


def self_evaluated(client, project: dict) -> int:
    """The project's self-evaluation, submitted with every target met and the budget spent."""
    pid = project["id"]
    evaluation = ok(client.post(url(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    indicators = ok(client.get(url(f"/projects/{pid}/targets")))["indicators"]
    ok(client.post(url(f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": project["approved_amount"], "summary": "完成年度目标",
        "scores": [{"indicator_id": i["id"], "actual_value": i["target_value"]} for i in indicators]}))
    return evaluation["id"]


@pytest.fixture
def finance(login):
    return login("lingling_finance")


def decide(client, pid: int, evaluation_id: int, **data):
    return client.post(url(f"/projects/{pid}/results"), json={"evaluation_id": evaluation_id, **data})


# ---- Item 4: results decisions ------------------------------------------------------------------------------


def test_hook_results_actions(jixiao_app):
    from jixiao.db import system_scope
    from jixiao.plugins import host
    from jixiao.tenancy import service as tenancy

    with jixiao_app.app_context(), system_scope() as db:
        lingling = host().for_tenant(tenancy.view(db, host(), tenancy.get_by_code(db, "431102")))
    allowed = lingling.results_actions(year=YEAR)
    assert allowed == [dict(a) for a in national.RESULT_ACTIONS.values()]
    # Each grade's suggestion is one of them.
    suggested = [lingling.suggest_results_action(grade=g, year=YEAR) for g in national.RESULT_ACTIONS]
    assert suggested == allowed


def test_a_decision_the_rules_do_not_allow_is_refused_and_nothing_is_stored(finance):
    project = budgeted(finance)
    evaluation = self_evaluated(finance, project)
    refused = decide(finance, project["id"], evaluation, decision="随便写")
    assert refused.status_code == 400
    message = refused.get_json()["error"]["fields"]["decision"]
    assert "随便写" in message and all(a["label"] in message for a in national.RESULT_ACTIONS.values())
    assert ok(finance.get(url(f"/projects/{project['id']}/results"))) == []


def test_without_a_decision_the_suggestion_is_decided(finance):
    project = budgeted(finance)
    evaluation = self_evaluated(finance, project)
    grade = ok(finance.get(url(f"/evaluations/{evaluation}")))["grade"]
    applied = ok(decide(finance, project["id"], evaluation), 201)
    expected = national.RESULT_ACTIONS[grade]
    assert (applied["decision"], applied["decision_label"]) == (expected["action"], expected["label"])
    assert (applied["suggested_action"], applied["suggested_label"]) == (expected["action"], expected["label"])


def test_a_cut_larger_than_the_budget_is_refused(finance):
    project = budgeted(finance, amount="1000000.00")
    evaluation = self_evaluated(finance, project)
    budget = D(project["approved_amount"])
    absurd = decide(finance, project["id"], evaluation, decision="cut", amount_change="-99999999")
    assert absurd.status_code == 400
    assert "超过了项目预算" in absurd.get_json()["error"]["fields"]["amount_change"]
    one_cent_more = decide(finance, project["id"], evaluation, decision="cut", amount_change=str(-budget - D("0.01")))
    assert one_cent_more.status_code == 400 and "amount_change" in one_cent_more.get_json()["error"]["fields"]
    assert ok(finance.get(url(f"/projects/{project['id']}/results"))) == []
    # Cutting the whole budget (取消) is a decision a bureau may take.
    whole = ok(decide(finance, project["id"], evaluation, decision="cut", amount_change=str(-budget)), 201)
    assert D(whole["amount_change"]) == -budget


@pytest.mark.parametrize(("field", "value"), [
    ("amount_change", "abc"),
    ("amount_change", "NaN"),
    ("amount_change", "Infinity"),
    ("amount_change", "1e30"),
    ("amount_change", "1e20"),
    ("amount_change", [1]),
    ("idle_recovered", "abc"),
    ("idle_recovered", "-1"),
    ("idle_recovered", "1e20"),
])
def test_a_bad_amount_answers_400_naming_the_field(finance, field, value):
    project = budgeted(finance)
    evaluation = self_evaluated(finance, project)
    response = decide(finance, project["id"], evaluation, decision="maintain", **{field: value})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and field in error["fields"]
    assert re.search(r"[\u4e00-\u9fff]", str(error["fields"][field])), error["fields"]


def test_a_changed_decision_is_a_new_decision_and_statistics_count_the_current_one(finance, login):
    year = 2037  # a year of its own: the statistics below are this test's only
    project = budgeted(finance, year=year)
    pid = project["id"]
    evaluation = self_evaluated(finance, project)
    before = ok(finance.get(url(f"/statistics?year={year}")))["results"]
    first = ok(decide(finance, pid, evaluation, decision="reduce", amount_change="-50000", decision_note="压缩规模"), 201)
    # A changed decision names the decision it changes (its version); without it, it would be a repeat (409).
    assert decide(finance, pid, evaluation, decision="cut", amount_change="-100000").status_code == 409
    second = ok(decide(finance, pid, evaluation, decision="cut", amount_change="-100000", idle_recovered="20000",
                       decision_note="改为削减", version=first["version"]), 201)

    assert first["id"] == second["id"]  # one current decision per evaluation
    current = ok(finance.get(url(f"/projects/{pid}/results")))
    assert [r["decision"] for r in current] == ["cut"]
    history = current[0]["history"]
    labels = {a["action"]: a["label"] for a in national.RESULT_ACTIONS.values()}
    assert [(h["decision"], h["decision_label"], h["amount_change"], h["decision_note"]) for h in history] == [
        ("reduce", labels["reduce"], first["amount_change"], "压缩规模"),
        ("cut", labels["cut"], second["amount_change"], "改为削减")]
    assert history[0]["decided_at"] <= history[1]["decided_at"]
    assert all(h["decided_by"] for h in history)
    assert second["history"] == history

    after = ok(finance.get(url(f"/statistics?year={year}")))["results"]
    assert after["count"] - before["count"] == 1
    assert D(after["amount_change"]) - D(before["amount_change"]) == D(second["amount_change"])
    assert D(after["idle_recovered"]) - D(before["idle_recovered"]) == D(second["idle_recovered"])
    assert set(after["by_decision"]) - set(before["by_decision"]) == {"cut"}

    # The project page shows every decision, in words.
    page = finance.client.get(f"/t/431102/projects/{pid}").get_data(as_text=True)
    section = page[page.index('id="results-history"'):page.index("</details>", page.index('id="results-history"'))]
    text = re.sub(r"<[^>]+>", " ", section)
    assert text.count(labels["reduce"]) >= 1 and text.count(labels["cut"]) >= 1
    assert "压缩规模" in text and "改为削减" in text
    assert not re.search(r"\b(reduce|cut|prioritise|maintain)\b", text)


def test_the_page_refuses_a_decision_the_rules_do_not_allow(jixiao_app, finance):
    from tests.test_lifecycle_pages import Browser

    project = budgeted(finance)
    evaluation = self_evaluated(finance, project)
    browser = Browser(jixiao_app, "lingling_finance")
    page = browser.get(f"/t/431102/projects/{project['id']}")
    # The form offers the allowed decisions only.
    select = page[page.index('name="decision"'):page.index("</select>", page.index('name="decision"'))]
    offered = re.findall(r'<option value="([^"]+)"', select)
    assert offered == [a["action"] for a in national.RESULT_ACTIONS.values()]
    refused = browser.post(f"/t/431102/projects/{project['id']}/results", {
        "evaluation_id": str(evaluation), "decision": "随便写", "amount_change": "-9999.9999"}, status=400, page=page)
    html = refused.get_data(as_text=True)
    assert "不是本级可选的结果应用方式" in html and "超过了项目预算" in html
    assert ok(finance.get(url(f"/projects/{project['id']}/results"))) == []


def test_migration_0008_copies_each_result_application_as_its_first_decision(tmp_path):
    database = create_test_database(tmp_path)
    app = make_app(database, tmp_path)
    owner = create_engine(database.owner_url)
    try:
        prepare_database(app)  # the demo data decides results and draws samples
        migrate.downgrade(app.config, "0007")
        columns = ["tenant_id", "evaluation_id", "project_id", "grade", "suggested_action", "decision",
                   "decision_note", "amount_change", "idle_recovered", "next_year", "decided_by_id"]
        with owner.connect() as connection:
            applications = connection.execute(sa.text(
                f"SELECT {', '.join(columns)}, updated_at FROM result_applications ORDER BY id")).all()
            draws = connection.execute(sa.text("SELECT id, drawn_ids FROM sample_draws ORDER BY id")).all()
        assert len({a.tenant_id for a in applications}) >= 2 and draws
        migrate.upgrade(app.config)
        with owner.connect() as connection:
            decisions = connection.execute(sa.text(
                f"SELECT {', '.join(columns)}, decided_at FROM result_decisions ORDER BY id")).all()
            kept = connection.execute(sa.text(
                "SELECT id, assigned_ids, already_assigned_ids FROM sample_draws ORDER BY id")).all()
        assert [tuple(d) for d in decisions] == [tuple(a) for a in applications]
        assert [(k.id, as_list(k.assigned_ids), as_list(k.already_assigned_ids)) for k in kept] == [
            (d.id, as_list(d.drawn_ids), []) for d in draws]
    finally:
        owner.dispose()
        app.extensions["jixiao.db"].engine.dispose()
        drop_test_database(database)


# ---- Item 5: redrawing the re-evaluation sample ---------------------------------------------------------------


def as_list(value):
    """A JSON column read with raw SQL: text on SQLite, already a list on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def finance_evaluations(client, pid: int) -> list[dict]:
    return [e for e in ok(client.get(url(f"/projects/{pid}/evaluations"))) if e["kind"] != "self"]


def test_a_redraw_keeps_existing_assignments_and_says_so(finance):
    year = 2039  # a year of its own: the draws below draw from this test's projects only
    projects = [budgeted(finance, year=year, is_key=True) for _ in range(3)]
    for project in projects:
        self_evaluated(finance, project)
    ids = sorted(p["id"] for p in projects)
    commissioned = ids[0]
    ok(finance.post(url(f"/projects/{commissioned}/evaluations"), json={"kind": "finance"}), 201)

    first = ok(finance.post(url("/evaluations/sample"), json={"year": year, "seed": 7}), 201)
    drawn = first["drawn_ids"]
    assert drawn == ids  # national rule: every key project is drawn
    assert first["already_assigned_ids"] == [commissioned]
    assert first["assigned_ids"] == [i for i in drawn if i != commissioned]
    assert "已有 1 个项目此前已安排评价，未重复安排" in first["message"]

    again = ok(finance.post(url("/evaluations/sample"), json={"year": year, "seed": 7}), 201)
    assert again["drawn_ids"] == drawn
    assert again["assigned_ids"] == [] and again["already_assigned_ids"] == drawn
    assert f"已有 {len(drawn)} 个项目此前已安排评价，未重复安排" in again["message"]
    assert {pid: [e["kind"] for e in finance_evaluations(finance, pid)] for pid in ids} == {
        pid: ["finance"] for pid in ids}

    # A third-party draw: projects drawn before keep their evaluation; the one commissioned outside any draw,
    # with no third-party evaluation, gets one.
    agency = ok(finance.post(url("/agencies"), json={"name": unique("评价机构")}), 201)
    third = ok(finance.post(url("/evaluations/sample"), json={"year": year, "seed": 7, "kind": "third_party",
                                                               "agency_id": agency["id"]}), 201)
    assert third["assigned_ids"] == [commissioned]
    assert third["already_assigned_ids"] == [i for i in drawn if i != commissioned]
    assert [e["kind"] for e in finance_evaluations(finance, commissioned)] == ["finance", "third_party"]
    listed = ok(finance.get(url(f"/evaluations/sample?year={year}")))
    assert [d["id"] for d in listed] == [third["id"], again["id"], first["id"]]
    assert listed[1]["already_assigned_ids"] == drawn


def test_a_third_party_draw_needs_an_agency_of_the_bureau(finance):
    response = finance.post(url("/evaluations/sample"), json={"year": YEAR, "kind": "third_party"})
    assert response.status_code == 400 and "agency_id" in response.get_json()["error"]["fields"]
