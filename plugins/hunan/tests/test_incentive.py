"""Hengyang's incentive rule (seed 002), read as the scheme's ``incentive.conditions`` says.

"对县市区考核评分80分（区考核评分70分）以上的，考核等级为优秀的，考核进入全省前十名的县市区奖励工作经费":
with ``any`` (the default) one condition suffices, with ``all`` a county needs the three. The records below are
made through the API and the product computes every score, grade and rank: 衡阳县 (a 县) meets all three
conditions, 珠晖区 (a 区) reaches the district threshold and the province's top ten but is not rated 优秀.
"""

from __future__ import annotations

import copy
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

import jixiao_hunan
from jixiao.testing import DEMO_PASSWORD, api_login, unique
from tests.test_audit_and_api import make_app_like

YEAR = 2029  # no other test records anything in Hunan for this year
PROVINCE, CITY, COUNTY, DISTRICT = "430000", "430400", "430421", "430405"
SCHEME = "hunan-city-counties"


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def new_user(app, tenant_code: str, roles: list[str]) -> str:
    from jixiao.accounts import service
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    username = unique("u")
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, tenant_code)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=username)) as db:
            service.create_user(db, None, tenant, username=username, password=DEMO_PASSWORD, roles=roles)
    return username


def department_whole_budget(user, code: str, *, budgeted: bool) -> None:
    """One unit's department-whole budget with targets filed; when ``budgeted``, approved and monitored too."""
    department = unique("D")[-12:]
    ok(user.post(f"/api/v1/tenants/{code}/departments", json={"code": department, "name": "考核单位"}), 201)
    base = f"/api/v1/tenants/{code}/projects"
    project = ok(user.post(base, json={
        "code": unique("K"), "name": "部门整体支出", "year": YEAR, "kind": "department_whole",
        "fund_type": "general_public", "department_code": department, "is_new": False,
        "requested_amount": "1000000.00"}), 201)
    base = f"{base}/{project['id']}"
    ok(user.put(f"{base}/targets", json={"overall_target": "全面履行部门职责，保障重点工作。", "indicators": [
        {"level1": "产出", "level2": "数量指标", "name": "重点工作任务完成数", "direction": "ge",
         "target_value": "12", "unit": "项", "weight": "50"},
        {"level1": "效益", "level2": "社会效益指标", "name": "重点工作按期完成率", "direction": "ge",
         "target_value": "90", "unit": "%", "weight": "40"},
        {"level1": "满意度", "level2": "服务对象满意度指标", "name": "服务对象满意度", "direction": "ge",
         "target_value": "90", "unit": "%", "weight": "10"}]}))
    ok(user.post(f"{base}/targets/submit"))
    if budgeted:
        ok(user.post(f"{base}/targets/review", json={"decision": "approve"}))
        ok(user.post(f"{base}/budget", json={"approved_amount": "1000000.00", "version": ok(user.get(base))["version"]}))
        ok(user.post(f"{base}/monitoring", json={"period": 12, "executed_amount": "1000000.00"}), 201)
        indicators = ok(user.get(f"{base}/targets"))["indicators"]
        evaluation = ok(user.post(f"{base}/evaluations", json={"kind": "self"}), 201)
        ok(user.post(f"/api/v1/tenants/{code}/evaluations/{evaluation['id']}/submit", json={
            "executed_amount": "1000000.00",
            "scores": [{"indicator_id": i["id"], "actual_value": i["target_value"]} for i in indicators]}))
    # A new project assessed ex ante, so the county is measured on 新增项目事前评估 too.
    new = ok(user.post(f"/api/v1/tenants/{code}/projects", json={
        "code": unique("N"), "name": "新建项目", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "department_code": department, "is_new": True, "requested_amount": "300000.00"}), 201)
    ok(user.put(f"/api/v1/tenants/{code}/projects/{new['id']}/exante", json={
        "scores": {"necessity": "18", "economy": "16", "targets": "17", "feasibility": "17", "compliance": "18"},
        "conclusion": "support"}))


def open_campaign(user, code: str, scheme: str) -> dict:
    return ok(user.post(f"/api/v1/tenants/{code}/assessments", json={
        "year": YEAR, "scheme": scheme, "deadline": (date.today() + timedelta(days=30)).isoformat()}), 201)


def version_of(user, code: str, campaign_id: int) -> int:
    """The campaign's version, read as a client reads it before a write (sent back with it)."""
    return ok(user.get(f"/api/v1/tenants/{code}/assessments/{campaign_id}"))["version"]


def finalize(user, code: str, campaign_id: int) -> dict[str, dict]:
    """Finalised before its deadline (the counties report today): forced, with a reason."""
    job = ok(user.post(f"/api/v1/tenants/{code}/assessments/{campaign_id}/finalize",
                       json={"force": True, "reason": "测试提前汇总", "version": version_of(user, code, campaign_id)}),
             202)
    assert job["status"] == "succeeded", job
    return {row["code"]: row for row in ok(user.get(f"/api/v1/tenants/{code}/assessments/{campaign_id}/ranking"))}


@pytest.fixture(scope="module")
def hengyang(jixiao_app):
    """The records, and the province's published ranking of the year (the top ten the rule reads)."""
    app = make_app_like(jixiao_app, REDIS_URL=None)  # jobs run in the request
    users = {code: api_login(app, new_user(app, code, ["admin", "finance"])) for code in (COUNTY, DISTRICT)}
    department_whole_budget(users[COUNTY], COUNTY, budgeted=True)
    department_whole_budget(users[DISTRICT], DISTRICT, budgeted=True)
    province = api_login(app, "hunan_admin")
    campaign = open_campaign(province, PROVINCE, "hunan-province-counties")
    provincial = finalize(province, PROVINCE, campaign["id"])
    ok(province.post(f"/api/v1/tenants/{PROVINCE}/assessments/{campaign['id']}/publish",
                     json={"force": True, "reason": "测试提前发布",
                           "version": version_of(province, PROVINCE, campaign["id"])}), 202)
    return {"app": app, "users": users, "city": api_login(app, "hengyang_finance"), "province": provincial}


def city_campaign(hengyang) -> dict[str, dict]:
    """The city's assessment of its counties: 衡阳县 shows evidence for 制度建设 and 宣传培训, and both get the
    innovation bonus; finalised."""
    city = hengyang["city"]
    campaign = open_campaign(city, CITY, SCHEME)
    base = f"/api/v1/tenants/{CITY}/assessments/{campaign['id']}"
    subjects = {s["code"]: s for s in ok(city.get(f"{base}/subjects"))}
    for indicator, points in (("E1", 10), ("E2", 5)):
        ok(hengyang["users"][COUNTY].post(f"/api/v1/tenants/{COUNTY}/assessment-results/{campaign['id']}/evidence",
                                          data={"indicator": indicator,
                                                "file": (io.BytesIO("%PDF-1.4\n制度文件".encode()), "制度文件.pdf")},
                                          content_type="multipart/form-data"))
        ok(city.put(f"{base}/scores", json={"subject_id": subjects[COUNTY]["id"], "indicator": indicator,
                                            "points": str(points), "version": version_of(city, CITY, campaign["id"])}))
    for code in (COUNTY, DISTRICT):
        ok(city.put(f"{base}/scores", json={"subject_id": subjects[code]["id"], "indicator": "F1", "points": "5",
                                            "version": version_of(city, CITY, campaign["id"])}))
    ranking = finalize(city, CITY, campaign["id"])
    # Withdrawn once read, so that the next test may open the year's campaign again.
    ok(city.post(f"{base}/withdraw", json={"reason": "测试：换一种读法再算",
                                           "version": version_of(city, CITY, campaign["id"])}))
    return ranking


def conditions_met(hengyang, row: dict) -> dict[str, bool]:
    """The rule's three conditions for one county, read from what the product computed."""
    threshold = Decimal(70 if row["division_type"] == "区" else 80)
    upper = hengyang["province"][row["code"]]
    return {"score": Decimal(row["total"]) >= threshold, "grade": "优秀" in (row["grade"], upper["grade"]),
            "top_ten": upper["rank"] <= 10}


def test_the_setup_tells_the_two_readings_apart(hengyang):
    ranking = city_campaign(hengyang)
    assert conditions_met(hengyang, ranking[COUNTY]) == {"score": True, "grade": True, "top_ten": True}
    assert conditions_met(hengyang, ranking[DISTRICT]) == {"score": True, "grade": False, "top_ten": True}


def test_by_default_any_one_condition_is_rewarded(hengyang):
    assert next(s for s in jixiao_hunan._schemes() if s["code"] == SCHEME)["incentive"]["conditions"] == "any"
    ranking = city_campaign(hengyang)
    county, district = ranking[COUNTY], ranking[DISTRICT]
    # One award per condition met: three for 衡阳县, two for 珠晖区 (its score and its place in the province).
    assert len(county["awards"]) == 3
    assert len(district["awards"]) == 2
    assert any("达到区70分以上" in award for award in district["awards"])
    assert any(f"进入全省前10名（第{hengyang['province'][DISTRICT]['rank']}名）" in award
               for award in district["awards"])


def test_with_all_only_a_county_meeting_the_three_conditions_is_rewarded(hengyang, monkeypatch):
    schemes = copy.deepcopy(jixiao_hunan._schemes())
    next(s for s in schemes if s["code"] == SCHEME)["incentive"]["conditions"] = "all"
    monkeypatch.setattr(jixiao_hunan, "_schemes", lambda: schemes)
    ranking = city_campaign(hengyang)
    # 珠晖区 reaches 70 and the province's top ten but is not rated 优秀: not rewarded, unlike under "any".
    assert ranking[DISTRICT]["awards"] == []
    assert [code for code, row in ranking.items() if row["awards"]] == [COUNTY]
    [award] = ranking[COUNTY]["awards"]
    rank = hengyang["province"][COUNTY]["rank"]
    assert award == (f"考核评分 {ranking[COUNTY]['total']} 分，达到县市80分以上；考核等级为优秀；"
                     f"进入全省前10名（第{rank}名），奖励工作经费")


def test_an_unknown_reading_in_the_data_file_is_refused(monkeypatch):
    data = {"s": {"code": "x", "years": [2021, None], "incentive": {"conditions": "either"}}}
    monkeypatch.setattr(jixiao_hunan, "load_data_file", lambda package, name: data)
    with pytest.raises(ValueError, match="incentive.conditions 应为 any 或 all"):
        jixiao_hunan._schemes.__wrapped__()
