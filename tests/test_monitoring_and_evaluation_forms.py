"""Monitoring lights by each indicator's nature and direction, and evaluations scored on their own forms.

Defects of "Rules that are wrong": caps lit red while inside their cap (every indicator was pro-rated), finance
and key evaluations scored on the self-evaluation form, and 成本 adding points on top of 100. Everything here
goes through the API, and the product computes every light, score and grade.
"""

from __future__ import annotations

import pytest

from jixiao.testing import unique

CODE = "431102"
YEAR = 2026


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def url(path: str = "") -> str:
    return f"/api/v1/tenants/{CODE}{path}"


def indicator(level1: str, level2: str, name: str, direction: str, target: str | None, unit: str, weight: str,
              **extra: str) -> dict[str, str | None]:
    row = {"level1": level1, "level2": level2, "name": name, "direction": direction, "target_value": target,
           "unit": unit, "weight": weight, **extra}
    if direction == "qualitative":
        row["target_text"] = "建立"
    return row


def budgeted_project(unit, finance, indicators: list[dict], amount: str = "400000") -> tuple[int, dict[str, dict]]:
    """A continuing project (no ex-ante owed) with these targets, approved and budgeted; its indicators by name."""
    project = ok(unit.post(url("/projects"), json={
        "code": unique("MR"), "name": "监控与评价规则项目", "year": YEAR, "kind": "project",
        "fund_type": "general_public", "is_new": False, "requested_amount": amount}), 201)
    pid = project["id"]
    ok(unit.put(url(f"/projects/{pid}/targets"), json={"overall_target": "按期完成。", "indicators": indicators}))
    ok(unit.post(url(f"/projects/{pid}/targets/submit")))
    ok(finance.post(url(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    ok(finance.post(url(f"/projects/{pid}/budget"), json={
        "approved_amount": amount, "version": ok(finance.get(url(f"/projects/{pid}")))["version"]}))
    listed = ok(unit.get(url(f"/projects/{pid}/targets")))["indicators"]
    return pid, {i["name"]: i for i in listed}


@pytest.fixture
def unit(login):
    return login("lingling_dept")


@pytest.fixture
def finance(login):
    return login("lingling_finance")


MONITORED = [
    indicator("产出", "数量指标", "培训人次", "ge", "1200", "人次", "20"),
    indicator("产出", "成本指标", "人均培训成本", "le", "100", "元/人", "10"),
    indicator("产出", "成本指标", "差旅费", "le", "12", "万元", "10"),
    indicator("产出", "质量指标", "考核合格率", "eq", "100", "%", "10"),
    indicator("效益", "社会效益指标", "持证上岗人数", "ge", "300", "人", "20", nature="level"),
    indicator("效益", "可持续影响指标", "培训机制", "qualitative", None, "", "20"),
    indicator("满意度", "服务对象满意度指标", "学员满意度", "ge", "90", "%", "10"),
]


def test_indicators_take_their_nature_from_the_unit_unless_told(unit, finance):
    _, by_name = budgeted_project(unit, finance, MONITORED)
    natures = {name: i["nature"] for name, i in by_name.items()}
    assert natures == {"培训人次": "cumulative", "人均培训成本": "level", "差旅费": "cumulative",
                       "考核合格率": "level", "持证上岗人数": "level", "培训机制": "cumulative",
                       "学员满意度": "level"}


def test_a_wrong_nature_is_refused_naming_the_row(unit):
    project = ok(unit.post(url("/projects"), json={
        "code": unique("MR"), "name": "性质错误项目", "year": YEAR, "kind": "project",
        "fund_type": "general_public", "is_new": False, "requested_amount": "100000"}), 201)
    rows = [indicator("产出", "数量指标", "培训人次", "ge", "1200", "人次", "20", nature="sometimes")]
    refused = unit.put(url(f"/projects/{project['id']}/targets"), json={"overall_target": "x", "indicators": rows})
    assert refused.status_code == 400
    assert "nature" in str(refused.get_json()["error"]["fields"])


def test_june_lights_compare_each_indicator_with_what_it_should_read(unit, finance):
    pid, by_name = budgeted_project(unit, finance, MONITORED)
    ids = {name: i["id"] for name, i in by_name.items()}
    values = [
        {"indicator_id": ids["培训人次"], "actual_value": "600"},     # half of 1200 by June: on track
        {"indicator_id": ids["人均培训成本"], "actual_value": "90"},   # a level cap of 100: inside it
        {"indicator_id": ids["差旅费"], "actual_value": "5"},          # cumulative cap: 6 expected by June
        {"indicator_id": ids["考核合格率"], "actual_value": "100"},    # = 100%: exactly
        {"indicator_id": ids["持证上岗人数"], "actual_value": "290"},  # a headcount level, told so: 290 of 300
        {"indicator_id": ids["培训机制"], "band": "achieved"},
        {"indicator_id": ids["学员满意度"], "actual_value": "92"},
    ]
    report = ok(unit.post(url(f"/projects/{pid}/monitoring"), json={
        "period": 6, "executed_amount": "200000", "values": values}), 201)
    lights = {v["indicator_id"]: v["light"] for v in report["values"]}
    # Before, the level cap of 100 read 90 scored 50/90 against the pro-rated 50 and lit red; the rates were
    # compared with half their targets and lit blue.
    assert {name: lights[i] for name, i in ids.items()} == {
        "培训人次": "green", "人均培训成本": "green", "差旅费": "green", "考核合格率": "green",
        "持证上岗人数": "green", "培训机制": "green", "学员满意度": "green"}
    assert report["light"] == "green"


def test_off_track_readings_light_by_how_far_off_they_are(unit, finance):
    pid, by_name = budgeted_project(unit, finance, MONITORED)
    ids = {name: i["id"] for name, i in by_name.items()}
    values = [
        {"indicator_id": ids["人均培训成本"], "actual_value": "130"},  # 100/130 = 77%: yellow
        {"indicator_id": ids["差旅费"], "actual_value": "11"},         # 6/11 = 55% of the pro-rated cap: red
        {"indicator_id": ids["考核合格率"], "actual_value": "70"},     # 30 points from = 100: 70%, yellow
        {"indicator_id": ids["培训机制"], "band": "not_achieved"},    # the unit's own rating: red
    ]
    report = ok(unit.post(url(f"/projects/{pid}/monitoring"), json={
        "period": 6, "executed_amount": "200000", "values": values, "cause": "物价上涨", "measure": "压减开支"}), 201)
    by_id = {v["indicator_id"]: v for v in report["values"]}
    assert {name: by_id[ids[name]]["light"] for name in ("人均培训成本", "差旅费", "考核合格率", "培训机制")} == {
        "人均培训成本": "yellow", "差旅费": "red", "考核合格率": "yellow", "培训机制": "red"}
    assert by_id[ids["培训机制"]]["band"] == "not_achieved" and by_id[ids["培训机制"]]["attainment"] is None
    assert report["light"] == "red"


def test_a_qualitative_rating_outside_the_bands_is_refused(unit, finance):
    pid, by_name = budgeted_project(unit, finance, MONITORED)
    refused = unit.post(url(f"/projects/{pid}/monitoring"), json={
        "period": 6, "executed_amount": "200000",
        "values": [{"indicator_id": by_name["培训机制"]["id"], "band": "great"}]})
    assert refused.status_code == 400
    assert "band" in str(refused.get_json()["error"]["fields"])


COSTED = [
    indicator("产出", "数量指标", "改造公里数", "ge", "10", "公里", "30"),
    indicator("成本", "经济成本指标", "每公里造价", "le", "50", "万元/公里", "10"),
    indicator("效益", "社会效益指标", "受益人口", "ge", "5000", "人", "30"),
    indicator("满意度", "服务对象满意度指标", "群众满意度", "ge", "90", "%", "10"),
]


def full_marks(by_name: dict[str, dict]) -> list[dict]:
    return [{"indicator_id": i["id"], "actual_value": i["target_value"]} for i in by_name.values()]


def test_a_self_evaluation_with_a_cost_indicator_totals_100(unit, finance):
    """成本 used to add its weight on top of 100: this evaluation totalled 110.00."""
    pid, by_name = budgeted_project(unit, finance, COSTED)
    evaluation = ok(unit.post(url(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    done = ok(unit.post(url(f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": "400000", "scores": full_marks(by_name)}))
    assert done["total_score"] == "100.00" and done["grade"] == "优"
    points = {s["name"]: (s["group"], s["points"]) for s in done["scores"]}
    # 成本 shares 产出's 50 points with the output indicators, 30 : 10.
    assert points == {"改造公里数": ("产出", "37.50"), "每公里造价": ("产出", "12.50"),
                      "受益人口": ("效益", "30.00"), "群众满意度": ("满意度", "10.00")}


def test_a_finance_evaluation_scores_decision_process_output_and_outcome(unit, finance):
    pid, by_name = budgeted_project(unit, finance, COSTED)
    evaluation = ok(finance.post(url(f"/projects/{pid}/evaluations"), json={"kind": "finance"}), 201)
    rows = full_marks(by_name) + [{"form_code": c, "band": "achieved", "band_fraction": "1"}
                                  for c in ("D1", "D2", "D3", "D4", "D5", "D6", "P3", "P4", "P5")]
    rows.append({"form_code": "P1", "actual_value": "100"})
    done = ok(finance.post(url(f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": "300000", "scores": rows}))
    assert [g["name"] for g in done["form"]["groups"]] == ["决策", "过程", "产出", "效益"]
    # Everything achieved but the execution: 预算执行率 (5 points in 过程) at 75% gives 3.75.
    assert (done["execution_score"], done["total_score"], done["grade"]) == ("3.75", "98.75", "优")
    execution_row = next(s for s in done["scores"] if s["form_code"] == "P2")
    assert (execution_row["name"], execution_row["points"], execution_row["score"]) == ("预算执行率", "5.00", "3.75")
    # 满意度 counts in 效益 here: 效益 30 shared 30 : 10 by the target weights.
    points = {s["name"]: s["points"] for s in done["scores"] if s["indicator_id"]}
    assert points == {"改造公里数": "22.50", "每公里造价": "7.50", "受益人口": "22.50", "群众满意度": "7.50"}


def test_a_form_row_that_is_not_on_the_form_is_refused(unit, finance):
    pid, by_name = budgeted_project(unit, finance, COSTED)
    evaluation = ok(unit.post(url(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    refused = unit.post(url(f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": "400000", "scores": full_marks(by_name) + [{"form_code": "D1", "band": "achieved",
                                                                      "band_fraction": "1"}]})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["fields"]["scores.form:D1"] == "不是本评价表中的指标"


def test_a_finance_form_under_the_60_percent_principle_is_refused(unit, finance, login):
    admin = login("lingling_admin")
    lopsided = {"execution": 0, "groups": [
        {"name": "决策", "points": 30, "indicators": [{"code": "D", "level2": "项目立项", "name": "立项规范性", "points": 30}]},
        {"name": "过程", "points": 30, "indicators": [{"code": "P", "level2": "资金管理", "name": "资金使用合规性",
                                                      "points": 30}]},
        {"name": "产出", "points": 20, "level1": ["产出", "成本"]},
        {"name": "效益", "points": 20, "level1": ["效益", "满意度"]}]}
    pid, by_name = budgeted_project(unit, finance, COSTED)
    evaluation = ok(finance.post(url(f"/projects/{pid}/evaluations"), json={"kind": "finance"}), 201)
    ok(admin.patch(url("/settings"), json={"settings": {"evaluation.forms": {"finance": lopsided}}}))
    try:
        refused = finance.post(url(f"/evaluations/{evaluation['id']}/submit"), json={
            "executed_amount": "400000", "scores": full_marks(by_name)})
        assert refused.status_code == 409
        assert "不低于 60%" in refused.get_json()["error"]["message"]
    finally:
        ok(admin.patch(url("/settings"), json={"settings": {"evaluation.forms": {}}}))
