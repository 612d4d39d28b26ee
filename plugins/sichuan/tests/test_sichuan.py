"""Sichuan's rules: ex-ante over 50万元 (seed 003), monitoring warnings (illustrative), results mapping and the
re-evaluation sample — through the API where a person would meet them, through the plugin host otherwise.

Enyang 511903 enables ``sichuan`` (inherited from 510000); Lingling 431102 enables ``hunan`` only, so every
Lingling case below shows the Sichuan rule is never asked there.
"""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal as D
from types import MappingProxyType
from typing import Any

import pytest

import jixiao_sichuan
from jixiao.db import system_scope
from jixiao.lifecycle.rectification import today
from jixiao.plugins import host
from jixiao.rules import national
from jixiao.tenancy import service as tenancy
from jixiao.testing import unique
from jixiao.toolkit import MonitoredIndicatorView, MonitoringView, ProjectView, TenantView, add_working_days

YEAR = 2026
INDICATORS = [
    {"level1": "产出", "level2": "数量指标", "name": "改造村道公里数", "direction": "ge", "target_value": "1000",
     "unit": "米", "weight": "40"},
    {"level1": "产出", "level2": "质量指标", "name": "验收合格率", "direction": "ge", "target_value": "95",
     "unit": "%", "weight": "20"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益群众人数", "direction": "ge", "target_value": "5000",
     "unit": "人", "weight": "30"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "群众满意度", "direction": "ge",
     "target_value": "90", "unit": "%", "weight": "10"},
]
EXANTE_SCORES = {"necessity": "18", "economy": "16", "targets": "17", "feasibility": "18", "compliance": "19"}


def test_hook_tenant_default_settings(jixiao_app):
    with jixiao_app.app_context(), system_scope() as db:
        enyang = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "511903"))
        heshan = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "430903"))
    assert enyang["exante.threshold_yuan"] == "500000.00"
    # A Sichuan rule never answers for a Hunan district.
    assert "exante.threshold_yuan" not in heshan


def test_discovered(jixiao_app):
    infos = {i.name: i for i in jixiao_app.extensions["jixiao.plugins"].info()}
    assert infos["sichuan"].distribution == "jixiao-sichuan"


# ---- Helpers ------------------------------------------------------------------------------------------------


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def url(code: str, path: str = "") -> str:
    return f"/api/v1/tenants/{code}{path}"


def submitted_project(client, code: str, *, amount: str, is_new: bool, year: int = YEAR) -> int:
    """A project (kind ``project``) whose targets pass the national validation and are submitted."""
    project = ok(client.post(url(code, "/projects"), json={
        "code": unique("SC"), "name": "村道改造项目", "year": year, "kind": "project",
        "fund_type": "general_public", "department_code": "101", "is_new": is_new, "requested_amount": amount}), 201)
    pid = project["id"]
    ok(client.put(url(code, f"/projects/{pid}/targets"), json={"overall_target": "全年改造村道1000米。",
                                                                 "indicators": INDICATORS}))
    ok(client.post(url(code, f"/projects/{pid}/targets/submit")))
    return pid


def approve(client, code: str, pid: int):
    return client.post(url(code, f"/projects/{pid}/targets/review"), json={"decision": "approve"})


def budget(client, code: str, pid: int, amount: str):
    version = client.get(url(code, f"/projects/{pid}")).get_json()["version"]
    return client.post(url(code, f"/projects/{pid}/budget"), json={"approved_amount": amount, "version": version})


def view_of(app, code: str) -> TenantView:
    """The tenant as the platform's hooks see it: its plugins in force and its effective settings."""
    with app.app_context(), system_scope() as db:
        return tenancy.view(db, host(), tenancy.get_by_code(db, code))


def hooks_of(app, view: TenantView):
    return app.extensions["jixiao.plugins"].for_tenant(view)


def with_settings(view: TenantView, **settings: Any) -> TenantView:
    """``view`` as a bureau that overrides ``settings`` in its tenants YAML would see it."""
    return dataclasses.replace(view, settings=MappingProxyType({**view.settings, **settings}))


def project_view(id: int = 1, *, year: int = YEAR, amount: str = "600000.00", is_new: bool = True,
                 kind: str = "project", is_key: bool = False) -> ProjectView:
    return ProjectView(id=id, code=f"P{id:03d}", name=f"项目{id}", year=year, kind=kind, fund_type="general_public",
                       category="", is_new=is_new, is_key=is_key, requested_amount=D(amount), approved_amount=None,
                       department_code="101")


# ---- Ex-ante assessment -------------------------------------------------------------------------------------


def test_hook_exante_required(jixiao_app, login):
    enyang, lingling = login("enyang_finance"), login("lingling_finance")
    enyang_view, lingling_view = view_of(jixiao_app, "511903"), view_of(jixiao_app, "431102")
    assert "sichuan" in enyang_view.plugins and "sichuan" not in lingling_view.plugins

    # Enyang, a new 60万元 project: no targets approved, hence no budget, until the finance bureau's ex-ante
    # assessment supports it; 不予支持 holds it back too.
    pid = submitted_project(enyang, "511903", amount="600000.00", is_new=True)
    assert ok(enyang.get(url("511903", f"/projects/{pid}/exante")))["required"] is True
    refused = approve(enyang, "511903", pid)
    assert refused.status_code == 409 and "事前绩效评估" in refused.get_json()["error"]["message"]
    ok(enyang.put(url("511903", f"/projects/{pid}/exante"), json={"scores": EXANTE_SCORES, "conclusion": "reject"}))
    rejected = approve(enyang, "511903", pid)
    assert rejected.status_code == 409 and "不予支持" in rejected.get_json()["error"]["message"]
    version = ok(enyang.get(url("511903", f"/projects/{pid}/exante")))["version"]  # replacing the assessment
    ok(enyang.put(url("511903", f"/projects/{pid}/exante"), json={"scores": EXANTE_SCORES, "conclusion": "support",
                                                                  "version": version}))
    assert ok(approve(enyang, "511903", pid))["status"] == "approved"
    assert ok(budget(enyang, "511903", pid, "600000"))["stage"] == "budgeted"

    # Enyang, a new 40万元 project: approved and budgeted without an assessment. The national rule alone
    # would hold a new project back, so this proves Sichuan's answer (False at or under 50万元) wins.
    small = submitted_project(enyang, "511903", amount="400000.00", is_new=True)
    assert national.exante_required(tenant=enyang_view, project=project_view(amount="400000.00")) is True
    assert ok(enyang.get(url("511903", f"/projects/{small}/exante")))["required"] is False
    assert ok(approve(enyang, "511903", small))["status"] == "approved"
    assert ok(budget(enyang, "511903", small, "400000"))["stage"] == "budgeted"

    # A continuing 60万元 project: in Enyang the amount alone decides (seed 003 covers 年初预算 projects, not only
    # new ones), so it is held back; the identical project in Lingling (Hunan) is not. The national rule
    # exempts continuing projects, so the only difference between the two is the Sichuan rule, which Lingling
    # never asks — although it would answer True if it were asked.
    continuing = project_view(amount="600000.00", is_new=False)
    assert national.exante_required(tenant=enyang_view, project=continuing) is False
    assert national.exante_required(tenant=lingling_view, project=continuing) is False
    assert jixiao_sichuan.exante_required(tenant=lingling_view, project=continuing) is True
    assert hooks_of(jixiao_app, lingling_view).exante_required(project=continuing) is False

    held = submitted_project(enyang, "511903", amount="600000.00", is_new=False)
    assert "事前绩效评估" in approve(enyang, "511903", held).get_json()["error"]["message"]
    free = submitted_project(lingling, "431102", amount="600000.00", is_new=False)
    assert ok(lingling.get(url("431102", f"/projects/{free}/exante")))["required"] is False
    assert ok(approve(lingling, "431102", free))["status"] == "approved"
    assert ok(budget(lingling, "431102", free, "600000"))["stage"] == "budgeted"


def test_hook_exante_required_threshold_and_kinds(jixiao_app):
    hooks = hooks_of(jixiao_app, view_of(jixiao_app, "511903"))
    # "超过50万元": strictly over.
    assert hooks.exante_required(project=project_view(amount="500000.00")) is False
    assert hooks.exante_required(project=project_view(amount="500000.01")) is True
    assert hooks.exante_required(project=project_view(amount="600000.00", kind="policy", is_new=False)) is True
    assert hooks.exante_required(project=project_view(amount="100000.00", kind="policy")) is False
    # Department-whole budgets are left to the national rule (exante.required_kinds), which exempts them.
    assert jixiao_sichuan.exante_required(tenant=hooks.tenant, project=project_view(kind="department_whole")) is None
    assert hooks.exante_required(project=project_view(amount="9000000.00", kind="department_whole")) is False


def test_a_bureau_overrides_the_exante_rule_in_its_tenants_yaml(jixiao_app):
    enyang = view_of(jixiao_app, "511903")
    higher = hooks_of(jixiao_app, with_settings(enyang, **{"exante.threshold_yuan": "1000000.00"}))
    assert higher.exante_required(project=project_view(amount="600000.00")) is False
    assert higher.exante_required(project=project_view(amount="1000000.01")) is True
    # Switched off: the national rule answers again (new projects, whatever the amount).
    off = hooks_of(jixiao_app, with_settings(enyang, **{"exante.threshold_yuan": None}))
    assert off.exante_required(project=project_view(amount="100.00", is_new=True)) is True
    assert off.exante_required(project=project_view(amount="9000000.00", is_new=False)) is False


# ---- Years in force -----------------------------------------------------------------------------------------


def test_a_rule_outside_its_years_does_not_answer(jixiao_app):
    enyang = view_of(jixiao_app, "511903")
    hooks = hooks_of(jixiao_app, enyang)
    assert enyang.settings["exante.years"] == [2020, None]
    # A continuing 60万元 project: Sichuan holds it back from 2020 on; in 2019 only the national rule answers.
    assert jixiao_sichuan.exante_required(tenant=enyang, project=project_view(year=2019, is_new=False)) is None
    assert hooks.exante_required(project=project_view(year=2019, is_new=False)) is False
    assert hooks.exante_required(project=project_view(year=2020, is_new=False)) is True
    # And a new 40万元 one: national holds it back in 2019, Sichuan lets it through from 2020.
    assert hooks.exante_required(project=project_view(year=2019, amount="400000.00")) is True
    assert hooks.exante_required(project=project_view(year=2020, amount="400000.00")) is False

    late = report(4, "10.00", indicator("指标", "30.00"))
    assert jixiao_sichuan.monitoring_warnings(tenant=enyang, project=project_view(year=2019), report=late) is None
    assert [w for answer in hooks.monitoring_warnings(project=project_view(year=2019), report=late)
            for w in answer or []] == []
    assert jixiao_sichuan.sample_for_reevaluation(
        tenant=enyang, candidates=candidates(year=2019), rng=random.Random(1)) is None


def test_an_edition_changes_a_rule_from_a_given_year(jixiao_app):
    enyang = view_of(jixiao_app, "511903")
    edition = [{"years": [2027, None], "exante.threshold_yuan": "1000000.00"}]
    hooks = hooks_of(jixiao_app, with_settings(enyang, **{"exante.editions": edition}))
    assert hooks.exante_required(project=project_view(year=2026, amount="600000.00")) is True
    assert hooks.exante_required(project=project_view(year=2027, amount="600000.00")) is False
    assert hooks.exante_required(project=project_view(year=2027, amount="1200000.00")) is True
    # The kinds, left out of the edition, keep their value.
    assert jixiao_sichuan.exante_required(
        tenant=hooks.tenant, project=project_view(year=2027, kind="department_whole")) is None


# ---- Monitoring warnings ------------------------------------------------------------------------------------


def budgeted_project(client, code: str) -> tuple[int, dict[str, int]]:
    """A continuing 40万元 project, budgeted (no ex-ante in Enyang or Lingling); its indicator ids by name."""
    pid = submitted_project(client, code, amount="400000.00", is_new=False)
    ok(approve(client, code, pid))
    ok(budget(client, code, pid, "400000"))
    indicators = ok(client.get(url(code, f"/projects/{pid}/targets")))["indicators"]
    return pid, {i["name"]: i["id"] for i in indicators}


def file_report(client, code: str, pid: int, ids: dict[str, int], period: int, executed: str, roads: str):
    return ok(client.post(url(code, f"/projects/{pid}/monitoring"), json={
        "period": period, "executed_amount": executed,
        "values": [{"indicator_id": ids["改造村道公里数"], "actual_value": roads}],
        "cause": "雨季施工受阻", "measure": "增加施工班组"}), 201)


def test_hook_monitoring_warnings(jixiao_app, login):
    enyang, lingling = login("enyang_finance"), login("lingling_finance")

    # April, 20% executed (floor 25%): 80000 of 400000. 200 of 1000 metres is 20% of the annual target, in step
    # with the spending, so execution is the only warning.
    pid, ids = budgeted_project(enyang, "511903")
    april = file_report(enyang, "511903", pid, ids, 4, "80000", "200")
    assert april["execution_rate"] == "20.00"
    assert [w["code"] for w in april["warnings"]] == ["execution_below_floor"]
    warning = april["warnings"][0]
    assert warning["response_days"] == 10
    assert "20.00%" in warning["message"] and "25%" in warning["message"] and "4月末" in warning["message"]
    assert april["response_due"] == add_working_days(today_in(jixiao_app), 10).isoformat()
    assert april["response"] is None

    answered = ok(enyang.post(url("511903", f"/projects/{pid}/monitoring/4/response"), json={"choice": "continue"}))
    assert answered["response"] == "continue" and answered["responded_at"]

    # June, 50% executed (floor 40%), but 800 of 1000 metres is 80% of the target: 30 points apart.
    june = file_report(enyang, "511903", pid, ids, 6, "200000", "800")
    assert [w["code"] for w in june["warnings"]] == ["divergence"]
    assert "改造村道公里数" in june["warnings"][0]["message"] and "30.00 个百分点" in june["warnings"][0]["message"]
    assert june["response_due"] == add_working_days(today_in(jixiao_app), 10).isoformat()

    # Lingling (Hunan), the same project and the same April numbers: no warning, nothing to answer.
    other, other_ids = budgeted_project(lingling, "431102")
    same = file_report(lingling, "431102", other, other_ids, 4, "80000", "200")
    assert same["execution_rate"] == "20.00" and same["light"] == april["light"]
    assert same["warnings"] == [] and same["response_due"] is None
    refused = lingling.post(url("431102", f"/projects/{other}/monitoring/4/response"), json={"choice": "continue"})
    assert refused.status_code == 409


def today_in(app):
    with app.app_context():
        return today()


def indicator(name: str, progress: str | None, direction: str = "ge", nature: str = "cumulative") -> MonitoredIndicatorView:
    """An indicator at ``progress`` percent of its annual target of 1000."""
    actual = None if progress is None else D(progress) * 10
    return MonitoredIndicatorView(name=name, direction=direction, nature=nature, unit="米", target_value=D(1000),
                                  actual_value=actual, expected_value=None, attainment=None,
                                  annual_progress=None if progress is None else D(progress), light=None)


def report(period: int, rate: str, *indicators: MonitoredIndicatorView) -> MonitoringView:
    return MonitoringView(period=period, executed_amount=D(0), budget_amount=D(0), execution_rate=D(rate),
                          light="green", attainments=(), indicators=indicators)


@pytest.mark.parametrize(("period", "rate", "warned"), [
    (3, "0.00", False),     # no floor before the end of April
    (4, "24.99", True), (4, "25.00", False),
    (5, "24.00", True),     # May: still April's floor
    (6, "39.99", True), (7, "40.00", False),
    (8, "59.00", True), (10, "79.99", True), (12, "79.00", True), (12, "80.00", False),
])
def test_hook_monitoring_warnings_execution_floors(jixiao_app, period, rate, warned):
    enyang = view_of(jixiao_app, "511903")
    answer = jixiao_sichuan.monitoring_warnings(tenant=enyang, project=project_view(), report=report(period, rate))
    assert [w["code"] for w in answer] == (["execution_below_floor"] if warned else [])


def test_hook_monitoring_warnings_divergence_either_way(jixiao_app):
    enyang = view_of(jixiao_app, "511903")
    in_step = report(6, "45.00", indicator("a", "50.00"), indicator("q", None))
    assert jixiao_sichuan.monitoring_warnings(tenant=enyang, project=project_view(), report=in_step) == []
    exactly_ten = report(6, "40.00", indicator("a", "50.00"))
    assert jixiao_sichuan.monitoring_warnings(tenant=enyang, project=project_view(), report=exactly_ten) == []
    ahead = report(6, "60.01", indicator("a", "50.00"), indicator("b", "65.00"))
    codes = [(w["code"], w["message"][:6]) for w in
             jixiao_sichuan.monitoring_warnings(tenant=enyang, project=project_view(), report=ahead)]
    assert codes == [("divergence", "指标“a”的")]
    # A bureau that asks for no answer keeps the warnings, without a deadline.
    relaxed = with_settings(enyang, **{"monitoring.response_working_days": None, "monitoring.divergence_points": 4})
    warnings = jixiao_sichuan.monitoring_warnings(tenant=relaxed, project=project_view(), report=in_step)
    assert [(w["code"], w["response_days"]) for w in warnings] == [("divergence", None)]


def test_hook_monitoring_warnings_divergence_ignores_caps_and_levels(jixiao_app):
    """Spending 50% of the budget while a cost cap stands at 10% of its annual value, or a rate at 95% of its
    target, is not a divergence: neither builds up with spending (before, caps were read inverted and warned)."""
    enyang = view_of(jixiao_app, "511903")
    capped = report(6, "50.00", indicator("单位成本", "10.00", direction="le"),
                    indicator("满意度", "95.00", nature="level"), indicator("投诉率", "5.00", "lt", "level"))
    assert jixiao_sichuan.monitoring_warnings(tenant=enyang, project=project_view(), report=capped) == []


# ---- Results application ------------------------------------------------------------------------------------


def test_hook_suggest_results_action(jixiao_app):
    enyang = hooks_of(jixiao_app, view_of(jixiao_app, "511903"))
    assert enyang.suggest_results_action(grade="优", year=YEAR) == {"action": "prioritise", "label": "优先保障"}
    assert enyang.suggest_results_action(grade="良", year=YEAR) == {"action": "maintain", "label": "保障"}
    assert enyang.suggest_results_action(grade="中", year=YEAR) == {"action": "reduce", "label": "压缩"}
    assert enyang.suggest_results_action(grade="差", year=YEAR) == {"action": "cancel", "label": "取消"}
    assert enyang.suggest_results_action(grade="合格", year=YEAR) is None  # neither Sichuan nor national knows it
    # Hunan gets the national mapping.
    lingling = hooks_of(jixiao_app, view_of(jixiao_app, "431102"))
    assert lingling.suggest_results_action(grade="差", year=YEAR) == {"action": "cut", "label": "削减或取消"}
    # A bureau names only the grades it changes in its tenants YAML; the others stay Sichuan's, and a grade
    # set to null is left to national.
    bureau = hooks_of(jixiao_app, with_settings(view_of(jixiao_app, "511903"), **{
        "results.actions": {"差": {"action": "cut", "label": "削减调减或取消"}, "良": None}}))
    assert bureau.suggest_results_action(grade="差", year=YEAR) == {"action": "cut", "label": "削减调减或取消"}
    assert bureau.suggest_results_action(grade="中", year=YEAR) == {"action": "reduce", "label": "压缩"}
    assert bureau.suggest_results_action(grade="良", year=YEAR) == {"action": "maintain", "label": "保障"}  # national's
    assert jixiao_sichuan.suggest_results_action(tenant=bureau.tenant, grade="良", year=YEAR) is None


def test_hook_suggest_results_action_within_the_bureaus_years(jixiao_app):
    """No years are shipped (the seed is undated); a bureau that bounds the mapping gets national's outside."""
    enyang = view_of(jixiao_app, "511903")
    assert jixiao_sichuan.suggest_results_action(tenant=enyang, grade="差", year=2001) == {"action": "cancel",
                                                                                         "label": "取消"}
    bounded = hooks_of(jixiao_app, with_settings(enyang, **{"results.years": [2024, None]}))
    assert bounded.suggest_results_action(grade="差", year=2024) == {"action": "cancel", "label": "取消"}
    assert bounded.suggest_results_action(grade="差", year=2023) == {"action": "cut", "label": "削减或取消"}
    assert jixiao_sichuan.results_actions(tenant=bounded.tenant, year=2023) is None
    assert bounded.results_actions(year=2023) == national.results_actions(tenant=bounded.tenant, year=2023)


def test_hook_results_actions(jixiao_app, login):
    enyang_view = view_of(jixiao_app, "511903")
    enyang = hooks_of(jixiao_app, enyang_view)
    # The actions Sichuan's grades suggest, best grade first: 取消 (cancel) where national has 削减或取消 (cut).
    shipped = jixiao_sichuan.defaults()["results.actions"]
    expected = [{"action": a["action"], "label": a["label"]} for a in shipped.values()]
    assert enyang.results_actions(year=YEAR) == expected
    assert "cancel" in [a["action"] for a in expected] and "cut" not in [a["action"] for a in expected]
    # Every suggestion is one of the allowed decisions.
    codes = {a["action"] for a in enyang.results_actions(year=YEAR)}
    assert {enyang.suggest_results_action(grade=g, year=YEAR)["action"] for g in shipped} == codes
    # Hunan keeps the national four.
    lingling = hooks_of(jixiao_app, view_of(jixiao_app, "431102"))
    assert lingling.results_actions(year=YEAR) == [dict(a) for a in national.RESULT_ACTIONS.values()]
    # A bureau's map changes the allowed decisions with the suggestions.
    bureau = with_settings(enyang_view, **{"results.actions": {"差": {"action": "cut", "label": "削减调减或取消"}}})
    assert [a["action"] for a in jixiao_sichuan.results_actions(tenant=bureau, year=YEAR)] == [
        "prioritise", "maintain", "reduce", "cut"]

    # Through the API: in Enyang a 差 evaluation may be cancelled, not cut; in Lingling the other way round.
    for code, allowed, refused in (("511903", "cancel", "cut"), ("431102", "cut", "cancel")):
        client = login("enyang_finance" if code == "511903" else "lingling_finance")
        pid, evaluation = poorly_evaluated_project(client, code)
        wrong = client.post(url(code, f"/projects/{pid}/results"), json={"evaluation_id": evaluation,
                                                                          "decision": refused})
        assert wrong.status_code == 400 and "decision" in wrong.get_json()["error"]["fields"], wrong.get_json()
        applied = ok(client.post(url(code, f"/projects/{pid}/results"), json={"evaluation_id": evaluation,
                                                                               "decision": allowed}), 201)
        labels = {a["action"]: a["label"] for a in hooks_of(jixiao_app, view_of(jixiao_app, code)).results_actions(
            year=YEAR)}
        assert (applied["decision"], applied["decision_label"]) == (allowed, labels[allowed])


def poorly_evaluated_project(client, code: str) -> tuple[int, int]:
    """A budgeted project whose self-evaluation is graded 差 (nothing executed, nothing achieved)."""
    pid, ids = budgeted_project(client, code)
    evaluation = ok(client.post(url(code, f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    scores = [{"indicator_id": i, "actual_value": "0"} for i in ids.values()]
    submitted = ok(client.post(url(code, f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": "0", "scores": scores, "summary": "未完成"}))
    assert submitted["grade"] == "差", submitted
    return pid, evaluation["id"]


# ---- Re-evaluation sample -----------------------------------------------------------------------------------


def candidates(keys: tuple[int, ...] = (3, 7), count: int = 12, year: int = YEAR) -> list[ProjectView]:
    return [project_view(i, year=year, is_key=i in keys) for i in range(1, count + 1)]


def test_hook_sample_for_reevaluation(jixiao_app):
    enyang = hooks_of(jixiao_app, view_of(jixiao_app, "511903"))
    population = candidates()
    first = enyang.sample_for_reevaluation(candidates=population, rng=random.Random(20260601))
    assert first == enyang.sample_for_reevaluation(candidates=population, rng=random.Random(20260601))
    assert first == sorted(first) and {3, 7} <= set(first)
    assert len(set(first) - {3, 7}) == 3  # ceil(30% of 10)
    draws = {tuple(enyang.sample_for_reevaluation(candidates=population, rng=random.Random(s))) for s in range(20)}
    assert len(draws) > 1  # rng decides which others

    # Lingling (Hunan): the national 20%.
    lingling = hooks_of(jixiao_app, view_of(jixiao_app, "431102"))
    assert len(set(lingling.sample_for_reevaluation(candidates=population, rng=random.Random(1))) - {3, 7}) == 2
    # Before 2020 Sichuan does not answer: national's 20% in Enyang too.
    old = enyang.sample_for_reevaluation(candidates=candidates(year=2019), rng=random.Random(1))
    assert len(set(old) - {3, 7}) == 2

    # The seed's letter: finance draws among key projects only.
    keys_only = hooks_of(jixiao_app, with_settings(view_of(jixiao_app, "511903"), **{
        "evaluation.sample.key_share": "0.5", "evaluation.sample.other_share": "0"}))
    drawn = keys_only.sample_for_reevaluation(candidates=candidates(keys=(1, 2, 5, 9)), rng=random.Random(7))
    assert len(drawn) == 2 and set(drawn) <= {1, 2, 5, 9}
