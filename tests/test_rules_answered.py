"""Which plugin answered: an evaluation keeps the plugins whose rules it was scored by, and the operator's page
asks a hook for a tenant plugin by plugin (the page form of ``jixiao plugins explain``)."""

from __future__ import annotations

import pytest

from jixiao import hookimpl
from jixiao.testing import api_login, unique
from tests.test_duties import SYSTEM
from tests.test_results_rules import budgeted, ok, url

LINGLING = "431102"


class StricterBands:
    """A county's own grade bands for self-evaluations only (every other kind: the next plugin answers)."""

    @hookimpl
    def evaluation_grade_bands(self, tenant, kind):
        return [["优", 95], ["良", 85], ["中", 60], ["差", 0]] if kind == "self" else None


def _self_evaluate(client, project: dict, met: bool = True) -> dict:
    pid = project["id"]
    evaluation = ok(client.post(url(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    assert evaluation["answered_by"] == {}  # nothing answered before it is scored
    indicators = ok(client.get(url(f"/projects/{pid}/targets")))["indicators"]
    return ok(client.post(url(f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": project["approved_amount"], "summary": "完成年度目标",
        "scores": [{"indicator_id": i["id"], "actual_value": i["target_value"]} for i in indicators]}))


def test_an_evaluation_keeps_which_plugin_answered_each_rule_it_was_scored_by(jixiao_app, with_plugin):
    # Without a plugin of its own, Lingling's self-evaluation form and bands are the national rules'.
    finance = api_login(jixiao_app, "lingling_finance")
    national = _self_evaluate(finance, budgeted(finance))
    assert national["answered_by"] == {"evaluation_weights": "national", "evaluation_grade_bands": "national"}

    # A plugin of the county's own answers the bands first; the form is still the national one.
    made = with_plugin(StricterBands(), LINGLING, name="lingling_bands")
    client = api_login(made, "lingling_finance")
    own = _self_evaluate(client, budgeted(client))
    assert own["answered_by"] == {"evaluation_weights": "national", "evaluation_grade_bands": "lingling_bands"}
    # Read back later, the record still says so (kept, not recomputed).
    assert ok(client.get(url(f"/evaluations/{own['id']}")))["answered_by"] == own["answered_by"]
    page = client.get(f"/t/{LINGLING}/projects/{own['project_id']}").get_data(as_text=True)
    assert "等级划分 由插件 <code>lingling_bands</code> 给出" in page


def test_the_operators_page_shows_who_answers_a_hook_for_a_tenant(jixiao_app, with_plugin):
    made = with_plugin(StricterBands(), LINGLING, name="lingling_bands")
    operator = api_login(made, SYSTEM)
    asked = operator.get(f"/operator/rules?tenant={LINGLING}&hook=evaluation_grade_bands&arguments=kind%3D%22self%22")
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    # The county's plugin is asked first and answers; national, asked last, is listed without being taken.
    first, last = html.index("<code>lingling_bands</code>"), html.index("<code>national</code>")
    assert first < last
    assert html.count("<b>采用</b>") == 1 and html.index("<b>采用</b>") < last

    other_kind = operator.get(f"/operator/rules?tenant={LINGLING}&hook=evaluation_grade_bands"
                              "&arguments=kind%3D%22finance%22").get_data(as_text=True)
    assert other_kind.index("<b>采用</b>") > other_kind.index("<code>national</code>")


@pytest.mark.parametrize(("query", "named"), [
    (f"tenant={LINGLING}&hook=no_such_hook", "没有这个钩子"),
    ("tenant=000000&hook=evaluation_grade_bands&arguments=kind%3D%22self%22", "没有代码为 000000 的财政部门"),
    (f"tenant={LINGLING}&hook=evaluation_grade_bands", "需要参数 kind"),
    (f"tenant={LINGLING}&hook=evaluation_grade_bands&arguments=kind", "参数应写成 名称=值"),
    (f"tenant={LINGLING}&hook=exante_required&project=abc", "项目编号应为整数"),
    (f"tenant={LINGLING}&hook=exante_required&project=999999999", "没有编号为 999999999 的项目"),
])
def test_a_question_the_page_cannot_ask_is_answered_400_naming_what_is_wrong(jixiao_app, query, named):
    response = api_login(jixiao_app, SYSTEM).get(f"/operator/rules?{query}")
    assert response.status_code == 400
    assert named in response.get_data(as_text=True)


def test_a_project_hook_is_asked_with_the_tenants_own_project(jixiao_app):
    finance = api_login(jixiao_app, "lingling_finance")
    project = ok(finance.post(url("/projects"), json={
        "code": unique("RA"), "name": "新建校舍项目", "year": 2026, "kind": "project", "fund_type": "general_public",
        "department_code": "101", "is_new": True, "requested_amount": "500000.00"}), 201)
    html = api_login(jixiao_app, SYSTEM).get(
        f"/operator/rules?tenant={LINGLING}&hook=exante_required&project={project['id']}").get_data(as_text=True)
    # A new project of kind "project" owes an ex-ante assessment by the national rule.
    assert "<code class=\"answer\">true</code>" in html
    # Another tenant's project is not found through this tenant.
    refused = api_login(jixiao_app, SYSTEM).get(f"/operator/rules?tenant=430400&hook=exante_required"
                                                f"&project={project['id']}")
    assert refused.status_code == 400 and "没有编号为" in refused.get_data(as_text=True)


def test_only_the_system_administrator_may_ask(jixiao_app):
    for username in ("lingling_finance", "lingling_admin", "operator_security"):
        response = api_login(jixiao_app, username).get(f"/operator/rules?tenant={LINGLING}&hook=exante_dimensions")
        assert response.status_code == 403, username


class TracedScheme:
    """A city's one-item scheme for its counties; its own grade for 零陵区 only (the next plugin grades the rest)."""

    @hookimpl
    def register_assessment_schemes(self, tenant, year):
        return [{"code": "traced-counties", "name": "规则来源测试考核", "rule_set": "traced-1", "years": [2044, 2044],
                 "for_levels": ["city"], "subjects": "counties", "coverage_threshold": "0",
                 "grades": [["好", 60], ["差", 0]],
                 "groups": [{"name": "基础工作", "indicators": [
                     {"code": "E1", "name": "制度建设", "max": 10, "kind": "assessed"}]}]}]

    @hookimpl
    def assessment_grade(self, tenant, scheme, total, result):
        if scheme["code"] != "traced-counties" or result.code != "431102":
            return None
        return "甲"


def test_a_campaign_keeps_which_plugin_offered_its_scheme_and_answered_its_grades(jixiao_app, with_plugin):
    from datetime import date, timedelta

    made = with_plugin(TracedScheme(), "431100", name="city_rules")
    made.config["REDIS_URL"] = None  # jobs run in-process: finalising answers when it is done
    city = api_login(made, "yongzhou_finance")
    base = "/api/v1/tenants/431100/assessments"
    campaign = ok(city.post(base, json={"year": 2044, "scheme": "traced-counties",
                                        "deadline": (date.today() + timedelta(days=30)).isoformat()}), 201)
    assert campaign["answered_by"] == {"register_assessment_schemes": "city_rules"}
    version = ok(city.get(f"{base}/{campaign['id']}"))["version"]
    job = ok(city.post(f"{base}/{campaign['id']}/finalize",
                       json={"force": True, "reason": "测试提前汇总", "version": version}), 202)
    assert job["status"] == "succeeded", job
    finalised = ok(city.get(f"{base}/{campaign['id']}"))
    # 零陵区 is graded by the city's plugin, every other county by national (asked last); nobody answers awards
    # for a scheme without an incentive rule, so none is recorded.
    assert finalised["answered_by"] == {"register_assessment_schemes": "city_rules",
                                        "assessment_grade": "city_rules、national"}
    grades = {row["code"]: row["grade"] for row in ok(city.get(f"{base}/{campaign['id']}/ranking"))}
    assert grades.pop("431102") == "甲" and set(grades.values()) == {"差"}
    page = city.get(f"/t/431100/assessments/{campaign['id']}").get_data(as_text=True)
    assert "考核方案 由插件 <code>city_rules</code> 给出" in page


class BrokenScheme:
    @hookimpl
    def register_assessment_schemes(self, tenant, year):
        return [{"code": "broken-counties", "name": "有误的方案", "years": [2044, 2044], "for_levels": ["city"],
                 "subjects": "counties", "aggregate": {"method": "average"},
                 "groups": [{"name": "基础工作", "indicators": [
                     {"code": "E1", "name": "制度建设", "max": 10, "kind": "assessed"}]}]}]


def test_a_plugins_scheme_the_core_cannot_read_is_refused_naming_the_plugin_never_a_500(with_plugin):
    made = with_plugin(BrokenScheme(), "431100", name="broken_rules")
    city = api_login(made, "yongzhou_finance")
    response = city.get("/api/v1/tenants/431100/assessments/schemes?year=2044")
    assert response.status_code == 409
    message = response.get_json()["error"]["message"]
    assert "broken_rules" in message and "broken-counties" in message and "method" in message
    page = city.get("/t/431100/assessments?year=2044")
    assert page.status_code == 409 and "broken_rules" in page.get_data(as_text=True)
