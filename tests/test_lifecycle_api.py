"""One project walked through every stage by the API, each step done by the role that does it in real life."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from jixiao.testing import DEMO_PASSWORD, unique

YEAR = 2026
INDICATORS = [
    {"level1": "产出", "level2": "数量指标", "name": "培训教师人次", "direction": "ge", "target_value": "1000",
     "unit": "人次", "weight": "30"},
    {"level1": "产出", "level2": "质量指标", "name": "培训合格率", "direction": "ge", "target_value": "95",
     "unit": "%", "weight": "20"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益学生人数", "direction": "ge", "target_value": "5000",
     "unit": "人", "weight": "20"},
    {"level1": "效益", "level2": "可持续影响指标", "name": "形成长效培训机制", "direction": "qualitative",
     "target_text": "建立", "weight": "10"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "参训教师满意度", "direction": "ge",
     "target_value": "90", "unit": "%", "weight": "10"},
]


def base(path: str = "") -> str:
    return f"/api/v1/tenants/431102{path}"


@pytest.fixture
def roles(login, create_user):
    """The people of Lingling's finance bureau and one of its units, logged in."""
    finance = login("lingling_finance")
    agency = finance.post(base("/agencies"), json={"name": unique("评价机构"), "contact": "0746-0000000"})
    assert agency.status_code == 201, agency.get_json()
    admin = login("lingling_admin")
    evaluator_name = unique("ev")
    created = admin.post(base("/users"), json={"username": evaluator_name, "password": DEMO_PASSWORD,
                                               "roles": ["evaluator"], "agency_id": agency.get_json()["id"]})
    assert created.status_code == 201, created.get_json()
    return {
        "unit": login("lingling_dept"),
        "finance": finance,
        "expert": login("lingling_expert"),
        "auditor": login("lingling_auditor"),
        "evaluator": login(evaluator_name),
        "agency_id": agency.get_json()["id"],
        "city": login("yongzhou_finance"),
    }


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_a_project_through_every_stage(roles, client):
    unit, finance, evaluator = roles["unit"], roles["finance"], roles["evaluator"]

    # 1. The unit enters a new project for next year's budget.
    project = ok(unit.post(base("/projects"), json={
        "code": unique("P"), "name": "教师培训项目", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "category": "教育", "is_new": True, "is_key": True, "requested_amount": "600000.00"}), 201)
    pid = project["id"]
    assert project["stage"] == "draft" and project["department"]["code"] == "101"

    # 2. Targets: filled and submitted by the unit.
    ok(unit.put(base(f"/projects/{pid}/targets"), json={"overall_target": "全年培训教师1000人次，提升教学质量。",
                                                         "indicators": INDICATORS}))
    ok(unit.post(base(f"/projects/{pid}/targets/submit")))

    # 3. No approved target, no budget — and no ex-ante support, no approval either (a new project).
    blocked = finance.post(base(f"/projects/{pid}/budget"), json={
        "approved_amount": "500000", "version": ok(finance.get(base(f"/projects/{pid}")))["version"]})
    assert blocked.status_code == 409 and "无目标、不预算" in blocked.get_json()["error"]["message"]
    refused = finance.post(base(f"/projects/{pid}/targets/review"), json={"decision": "approve"})
    assert refused.status_code == 409 and "事前绩效评估" in refused.get_json()["error"]["message"]

    # 4. Ex-ante assessment by an expert: support, after cutting 10万元.
    exante = ok(roles["expert"].put(base(f"/projects/{pid}/exante"), json={
        "scores": {"necessity": "18", "economy": "16", "targets": "17", "feasibility": "18", "compliance": "19"},
        "conclusion": "adjust", "amount_cut": "100000"}))
    assert exante["total_score"] == "88.00", exante["total_score"]
    assert exante["required"] is True and len(exante["dimensions"]) == 5

    # 5. Finance approves the targets, then the budget.
    assert ok(finance.post(base(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))["status"] == "approved"
    budgeted = ok(finance.post(base(f"/projects/{pid}/budget"), json={
        "approved_amount": "500000", "version": ok(finance.get(base(f"/projects/{pid}")))["version"]}))
    assert budgeted["stage"] == "budgeted" and budgeted["approved_amount"] == "500000.00"

    # 6. Dual monitoring: behind schedule in June → red; cause and measure are required.
    indicators = ok(unit.get(base(f"/projects/{pid}/targets")))["indicators"]
    ids = [i["id"] for i in indicators]
    values = [{"indicator_id": ids[0], "actual_value": "200"}, {"indicator_id": ids[1], "actual_value": "96"},
              {"indicator_id": ids[2], "actual_value": "2600"}, {"indicator_id": ids[4], "actual_value": "92"}]
    missing = unit.post(base(f"/projects/{pid}/monitoring"), json={"period": 6, "executed_amount": "100000", "values": values})
    assert missing.status_code == 400
    assert {"cause", "measure"} <= set(missing.get_json()["error"]["fields"])
    report = ok(unit.post(base(f"/projects/{pid}/monitoring"), json={
        "period": 6, "executed_amount": "100000", "values": values,
        "cause": "培训场地改造推迟", "measure": "下半年集中培训"}), 201)
    assert report["execution_rate"] == "20.00" and report["light"] == "red"
    light_of = {v["indicator_id"]: v["light"] for v in report["values"]}
    # 培训合格率 (%, a level) reads 96 against its 95 target, not against a pro-rated 47.5: green, not blue.
    assert light_of[ids[0]] == "red" and light_of[ids[1]] == "green"

    # 7. Finance suspends payment for the serious deviation, then resumes it.
    suspended = ok(finance.post(base(f"/projects/{pid}/payment"), json={
        "suspended": True, "reason": "执行严重滞后", "version": budgeted["version"]}))
    assert suspended["payment_suspended"]
    assert not ok(finance.post(base(f"/projects/{pid}/payment"), json={
        "suspended": False, "version": suspended["version"]}))["payment_suspended"]

    # 8. The unit's self-evaluation at year end.
    self_eval = ok(unit.post(base(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    scores = [{"indicator_id": ids[0], "actual_value": "1000"}, {"indicator_id": ids[1], "actual_value": "97"},
              {"indicator_id": ids[2], "actual_value": "4000"},
              {"indicator_id": ids[3], "band": "partial", "band_fraction": "0.7"},
              {"indicator_id": ids[4], "actual_value": "95"}]
    submitted = ok(unit.post(base(f"/evaluations/{self_eval['id']}/submit"), json={
        "executed_amount": "450000", "scores": scores, "summary": "基本完成年度目标",
        "findings": [{"problem": "受益学生人数未达目标", "suggestion": "扩大覆盖面"}],
        "internal_comment": "内部意见：负责人张三需约谈"}))
    # execution 450000/500000 × 10 = 9; 产出 50 (30:20) full; 效益 30 (20:10): 4000/5000 × 20 = 16 and 0.7 × 10 = 7;
    # 满意度 10 full: 92.00.
    assert submitted["execution_score"] == "9.00"
    assert (submitted["total_score"], submitted["grade"]) == ("92.00", "优")
    assert ok(unit.get(base(f"/projects/{pid}")))["stage"] == "evaluated"

    # 9. Finance draws the re-evaluation sample with a recorded seed; a key project is always drawn.
    sample = ok(finance.post(base("/evaluations/sample"), json={"year": YEAR, "seed": 20261123}), 201)
    assert pid in sample["drawn_ids"] and sample["seed"] == 20261123
    again = ok(finance.post(base("/evaluations/sample"), json={"year": YEAR, "seed": 20261123}), 201)
    assert again["drawn_ids"] == sample["drawn_ids"]

    # 10. A third-party evaluation, assigned to an agency whose staff see only that.
    third = ok(finance.post(base(f"/projects/{pid}/evaluations"), json={"kind": "third_party",
                                                                       "agency_id": roles["agency_id"]}), 201)
    visible = ok(evaluator.get(base("/evaluations")))
    assert [e["id"] for e in visible] == [third["id"]]
    assert evaluator.get(base(f"/evaluations/{self_eval['id']}")).status_code == 404
    listed = ok(evaluator.get(base("/projects")))
    assert [p["id"] for p in listed["items"]] == [pid]
    # A key evaluation is scored on 决策 / 过程 / 产出 / 效益: the form's own rows plus the target indicators.
    form_rows = [{"form_code": code, "band": "achieved", "band_fraction": "0.9"}
                 for code in ("D1", "D2", "D3", "D4", "D5", "D6", "P3", "P4", "P5")] + [
                {"form_code": "P1", "actual_value": "100"}]
    incomplete = evaluator.post(base(f"/evaluations/{third['id']}/submit"), json={
        "executed_amount": "450000", "scores": scores})
    assert incomplete.status_code == 400 and "scores.form:D1" in incomplete.get_json()["error"]["fields"]
    done = ok(evaluator.post(base(f"/evaluations/{third['id']}/submit"), json={
        "executed_amount": "450000", "scores": scores + form_rows, "summary": "第三方评价：总体良好",
        "findings": [{"problem": "资金支付进度偏慢", "suggestion": "加快支付"},
                     {"problem": "绩效目标细化不足", "suggestion": "细化指标"}]}))
    assert done["status"] == "submitted"
    # 决策 20 × 0.9 = 18; 过程: 资金到位率 4 + 预算执行率 0.9 × 5 = 4.5 + 0.9 × 11 = 9.9; 产出 30 full;
    # 效益 30 shared 20:10:10 with 满意度: 0.8 × 15 + 0.7 × 7.5 + 7.5 = 24.75.
    assert (done["total_score"], done["grade"], done["execution_score"]) == ("91.15", "优", "4.50")
    assert [g["name"] for g in done["form"]["groups"]] == ["决策", "过程", "产出", "效益"]
    assert [s["group"] for s in done["scores"]][:2] == ["决策", "决策"]
    version = ok(finance.get(base(f"/evaluations/{third['id']}")))["version"]
    assert ok(finance.post(base(f"/evaluations/{third['id']}/quality"), json={
        "score": "88", "comment": "报告规范", "version": version}))["quality_score"] == "88.00"

    # 11. Rectification: notice from the findings, the unit answers with evidence, finance verifies.
    notice = ok(finance.post(base(f"/projects/{pid}/rectifications"), json={
        "evaluation_id": third["id"], "deadline": (date.today() + timedelta(days=30)).isoformat()}), 201)
    assert notice["problems"] == ["资金支付进度偏慢", "绩效目标细化不足"] and notice["status"] == "issued"
    ok(unit.post(base(f"/rectifications/{notice['id']}/files"),
                 data={"file": (io.BytesIO("%PDF-1.4\n整改报告".encode()), "整改报告.pdf")}, content_type="multipart/form-data"), 201)
    ok(unit.post(base(f"/rectifications/{notice['id']}/answer"), json={"measures": "已加快支付，细化了指标"}))
    verified = ok(finance.post(base(f"/rectifications/{notice['id']}/verify"), json={"decision": "accept"}))
    assert verified["status"] == "verified"
    ledger = ok(roles["auditor"].get(base("/rectifications")))
    assert notice["id"] in [n["id"] for n in ledger]

    # 12. Results applied to next year's budget; the grade suggests the action.
    applied = ok(finance.post(base(f"/projects/{pid}/results"), json={
        "evaluation_id": third["id"], "amount_change": "-50000", "idle_recovered": "20000"}), 201)
    assert applied["next_year"] == YEAR + 1 and applied["suggested_action"] in {"prioritise", "maintain"}
    assert ok(unit.get(base(f"/projects/{pid}")))["stage"] == "closed"

    # 13. Publication: the public sees targets and the grade, never internal comments or staff names.
    ok(finance.post(base(f"/projects/{pid}/publish"), json={"targets": True, "evaluation_id": third["id"]}))
    published = client.get("/api/v1/public/431102/evaluations").get_json()
    mine = [e for e in published if e["project"]["name"] == "教师培训项目"]
    assert mine and mine[0]["grade"] == done["grade"]
    text = str(published)
    assert "内部意见" not in text and "张三" not in text and "lingling" not in text
    assert any(t["project"]["name"] == "教师培训项目" for t in client.get("/api/v1/public/431102/targets").get_json())

    # 14. The history shows who did what.
    actions = {e["action"] for e in ok(unit.get(base(f"/projects/{pid}/history")))}
    assert {"project.create", "targets.submit", "targets.approve", "budget.approve", "monitoring.submit",
            "evaluation.submit", "rectification.issue", "rectification.verify", "results.decide"} <= actions

    # 15. Upper levels read, and cannot write.
    assert roles["city"].get(base(f"/projects/{pid}")).status_code == 200
    version = ok(roles["city"].get(base(f"/projects/{pid}")))["version"]
    assert roles["city"].post(base(f"/projects/{pid}/budget"), json={"approved_amount": "1", "version": version}).status_code == 403


def test_a_classified_project_cannot_be_published(roles):
    finance = roles["finance"]
    project = ok(finance.post(base("/projects"), json={
        "code": unique("S"), "name": "涉密项目", "year": YEAR, "kind": "department_whole", "fund_type": "general_public",
        "department_code": "102", "requested_amount": "100", "classified": True}), 201)
    refused = finance.post(base(f"/projects/{project['id']}/publish"), json={"targets": True})
    assert refused.status_code == 409 and "涉密" in refused.get_json()["error"]["message"]


def test_department_staff_see_only_their_department(roles):
    finance = roles["finance"]
    other = ok(finance.post(base("/projects"), json={
        "code": unique("O"), "name": "卫生项目", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "department_code": "102", "requested_amount": "100"}), 201)
    unit = roles["unit"]
    assert unit.get(base(f"/projects/{other['id']}")).status_code == 404
    assert other["id"] not in [p["id"] for p in ok(unit.get(base("/projects?per_page=500")))["items"]]
    assert unit.post(base("/projects"), json={
        "code": unique("X"), "name": "越权", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "department_code": "102", "requested_amount": "1"}).status_code == 403


def test_illegal_transitions_answer_409_and_change_nothing(roles):
    unit, finance = roles["unit"], roles["finance"]
    project = ok(unit.post(base("/projects"), json={
        "code": unique("T"), "name": "转换测试", "year": YEAR, "kind": "department_whole", "fund_type": "general_public",
        "requested_amount": "1000"}), 201)
    pid = project["id"]
    assert unit.post(base(f"/projects/{pid}/targets/submit")).status_code == 409
    assert finance.post(base(f"/projects/{pid}/targets/review"), json={"decision": "approve"}).status_code == 409
    assert unit.post(base(f"/projects/{pid}/monitoring"), json={"period": 1, "executed_amount": "1"}).status_code == 409
    bad = unit.put(base(f"/projects/{pid}/targets"), json={"overall_target": "", "indicators": [
        {"level1": "产出", "level2": "不存在", "name": "x", "direction": "ge", "weight": "10"}]})
    assert bad.status_code == 200  # a draft may be incomplete ...
    invalid = unit.post(base(f"/projects/{pid}/targets/submit"))
    assert invalid.status_code == 400  # ... but is validated when submitted, naming each problem
    fields = invalid.get_json()["error"]["fields"]
    assert "overall_target" in fields and "indicators[1].level2" in fields and "indicators[1].target_value" in fields
    assert ok(unit.get(base(f"/projects/{pid}/targets")))["status"] == "draft"
    stale = unit.patch(base(f"/projects/{pid}"), json={"name": "新名", "version": project["version"] - 1})
    assert stale.status_code == 409


def test_project_list_filters_and_paginates(roles):
    finance = roles["finance"]
    code = unique("F")
    for n in range(3):
        ok(finance.post(base("/projects"), json={
            "code": f"{code}-{n}", "name": f"筛选{n}", "year": 2031, "kind": "policy", "fund_type": "government_fund",
            "department_code": "103", "requested_amount": "10"}), 201)
    page = ok(finance.get(base("/projects?year=2031&kind=policy&fund_type=government_fund&per_page=2")))
    assert page["total"] == 3 and len(page["items"]) == 2
    second = ok(finance.get(base("/projects?year=2031&kind=policy&per_page=2&page=2")))
    assert len(second["items"]) == 1
    assert ok(finance.get(base("/projects?year=2031&stage=budgeted")))["total"] == 0
    bad = finance.get(base("/projects?kind=castle"))
    assert bad.status_code == 400 and "kind" in bad.get_json()["error"]["fields"]


def test_the_to_do_list_leads_to_the_form(roles):
    unit, finance = roles["unit"], roles["finance"]
    project = ok(unit.post(base("/projects"), json={
        "code": unique("D"), "name": "待办项目", "year": YEAR, "kind": "department_whole", "fund_type": "general_public",
        "requested_amount": "1000"}), 201)
    items = ok(unit.get(base("/todo")))
    mine = [i for i in items if i["project_id"] == project["id"]]
    assert mine and mine[0]["kind"] == "targets"
    assert mine[0]["url"].endswith(f"/t/431102/projects/{project['id']}#targets")
    ok(unit.put(base(f"/projects/{project['id']}/targets"), json={"overall_target": "保障运转", "indicators": INDICATORS}))
    ok(unit.post(base(f"/projects/{project['id']}/targets/submit")))
    review = [i for i in ok(finance.get(base("/todo"))) if i["project_id"] == project["id"]]
    assert review and review[0]["kind"] == "targets_review"
