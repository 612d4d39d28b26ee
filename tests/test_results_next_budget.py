"""Results applied to next year's budget, traceably (issue 16 §1).

A results decision reaches the continuing project's first budget year not yet approved (not blindly year + 1),
shows on both years' pages and in both years' statistics, and in next year's budget review beside the request;
when several evaluations of a project disagree, the most authoritative decides (a hook); the chain can be
followed both ways. Seed 002's budget changes and seed 000's idle funds are reproduced through the API.
Records are made through the API; grades, suggestions and totals are the product's.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from jixiao import hookimpl
from jixiao.rules import national
from jixiao.testing import api_login, unique

LINGLING, HESHAN = "431102", "430903"
INDICATORS = [
    {"level1": "产出", "level2": "数量指标", "name": "完成项目数量", "direction": "ge", "target_value": "100",
     "unit": "个", "weight": "50"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益人数", "direction": "ge", "target_value": "1000",
     "unit": "人", "weight": "30"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "服务对象满意度", "direction": "ge",
     "target_value": "90", "unit": "%", "weight": "20"},
]


def url(path: str = "", code: str = LINGLING) -> str:
    return f"/api/v1/tenants/{code}{path}"


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    return response.get_json()


@pytest.fixture
def finance(login):
    return login("lingling_finance")


def filed(client, year: int, *, code: str | None = None, amount: str = "1000000.00", name: str = "延续项目",
          **extra) -> dict:
    """A draft project of ``year`` (its budget not approved)."""
    return ok(client.post(url("/projects"), json={
        "code": code or unique("NB"), "name": name, "year": year, "kind": "project", "fund_type": "general_public",
        "department_code": "101", "is_new": False, "requested_amount": amount, **extra}), 201)


def approved(client, project: dict) -> dict:
    """``project`` with approved targets and its budget approved at the amount requested."""
    pid = project["id"]
    ok(client.put(url(f"/projects/{pid}/targets"), json={"overall_target": "完成年度任务。", "indicators": INDICATORS}))
    ok(client.post(url(f"/projects/{pid}/targets/submit")))
    ok(client.post(url(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    return ok(client.post(url(f"/projects/{pid}/budget"), json={
        "approved_amount": project["requested_amount"], "version": ok(client.get(url(f"/projects/{pid}")))["version"]}))


def form_scores(app, evaluation_id: int, share: str) -> list[dict]:
    """A submission of every row of the evaluation's own form (its kind's rows and the project's indicators),
    each at ``share`` of its target, read from the form the product builds."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle import evaluations, scoring
    from jixiao.lifecycle.models import Evaluation
    from jixiao.tenancy import service as tenancy

    scores = []
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, LINGLING)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            rows = evaluations.table_of(db, tenant, db.get(Evaluation, evaluation_id))
        for row in rows:
            item = row.form_indicator if row.form_indicator is not None else row.indicator
            key = {"form_code": item.code} if row.form_indicator is not None else {"indicator_id": item.id}
            if getattr(item, "scored_by", None):
                continue
            if str(item.direction) == "qualitative":
                # The band whose range holds the share; a share on a boundary takes the higher band.
                band = next(code for code, (_, low, high) in scoring.QUALITATIVE_BANDS.items()
                            if low <= D(share) <= high)
                scores.append({**key, "band": band, "band_fraction": share})
            else:
                scores.append({**key, "actual_value": str(D(item.target_value) * D(share))})
    return scores


def evaluated(client, app, project: dict, kind: str = "self", share: str = "1") -> dict:
    """A submitted evaluation of ``project``: every row at ``share`` of its target, the budget spent."""
    pid = project["id"]
    evaluation = ok(client.post(url(f"/projects/{pid}/evaluations"), json={"kind": kind}), 201)
    ok(client.post(url(f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": project["approved_amount"], "summary": "评价完成",
        "scores": form_scores(app, evaluation["id"], share)}))
    return ok(client.get(url(f"/evaluations/{evaluation['id']}")))


def decide(client, project: dict, evaluation: dict, **data):
    return client.post(url(f"/projects/{project['id']}/results"), json={"evaluation_id": evaluation["id"], **data})


def chain(client, project: dict, code: str = LINGLING) -> dict:
    return ok(client.get(url(f"/projects/{project['id']}/result-chain", code)))


def statistics(client, year: int) -> dict:
    """The bureau's own figures for ``year`` (本级)."""
    return ok(client.get(url(f"/statistics?year={year}")))


def label(grade: str) -> str:
    return national.RESULT_ACTIONS[grade]["label"]


# ---- Which budget a result reaches -----------------------------------------------------------------------------


def test_a_result_reaches_the_first_year_not_yet_approved_and_shows_on_both_years(finance, jixiao_app):
    code = unique("CT")
    evaluated_year = approved(finance, filed(finance, 2060, code=code))
    approved(finance, filed(finance, 2061, code=code))  # next year's budget is already approved
    open_year = filed(finance, 2062, code=code)
    evaluation = evaluated(finance, jixiao_app, evaluated_year)

    applied = ok(decide(finance, evaluated_year, evaluation, amount_change="-600000.00"), 201)
    assert applied["next_year"] == 2062 and applied["applies_to"]["id"] == open_year["id"]
    expected = f"评价结果：{evaluation['grade']} → {label(evaluation['grade'])}，调减 60 万元"
    assert applied["text"] == expected and applied["in_force"] is True

    # Forward from the evaluated year, backward from the year it reaches.
    forward = chain(finance, evaluated_year)
    assert [p["year"] for p in forward["continued_by"]] == [2061, 2062]
    assert forward["applied"][0]["applies_to"]["code"] == code
    backward = chain(finance, open_year)
    assert [p["year"] for p in backward["continues"]] == [2061, 2060]
    assert [(r["evaluated_project"]["id"], r["text"]) for r in backward["reaching"]] == [(evaluated_year["id"], expected)]
    assert D(backward["budget_effect"]) == D("-600000.00")
    assert D(backward["requested_after_results"]) == D(open_year["requested_amount"]) - D("600000.00")
    assert chain(finance, ok(finance.get(url(f"/projects/{open_year['id']}"))))["reaching"] == backward["reaching"]

    # Both years' statistics: the evaluated year's decisions, and the year whose budget they change.
    decided = statistics(finance, 2060)["results"]
    assert (decided["count"], D(decided["amount_change"])) == (1, D("-600000.00"))
    reached = statistics(finance, 2062)["results"]["applied"]
    decision = national.RESULT_ACTIONS[evaluation["grade"]]["action"]
    assert reached["by_decision"] == {decision: {"count": 1, "amount_change": "-600000.00", "idle_recovered": "0.00"}}
    assert statistics(finance, 2061)["results"]["applied"]["count"] == 0

    # Both years' pages; next year's budget review shows the line beside the request.
    assert expected in finance.get(f"/t/{LINGLING}/projects/{open_year['id']}").get_data(as_text=True)
    page = finance.get(f"/t/{LINGLING}/projects/{evaluated_year['id']}").get_data(as_text=True)
    assert expected in page and f"{code}（2062 年）" in page
    yearly = finance.get(f"/t/{LINGLING}/statistics?year=2062").get_data(as_text=True)
    applied_part = yearly[yearly.index('id="results-applied"'):]
    assert label(evaluation["grade"]) in applied_part[:applied_part.index("</table>")]


def test_a_decision_waits_for_next_year_s_project_and_is_attached_when_it_is_filed(finance, jixiao_app):
    code = unique("WT")
    project = approved(finance, filed(finance, 2063, code=code))
    applied = ok(decide(finance, project, evaluated(finance, jixiao_app, project), amount_change="-100000.00"), 201)
    assert (applied["next_year"], applied["applies_to"]) == (2064, None)

    following = filed(finance, 2064, code=code)
    assert [r["evaluated_project"]["id"] for r in chain(finance, following)["reaching"]] == [project["id"]]
    assert ok(finance.get(url(f"/projects/{project['id']}/results")))[0]["applies_to"]["id"] == following["id"]


def test_a_renamed_project_continues_by_an_explicit_link(finance, jixiao_app):
    earlier = approved(finance, filed(finance, 2063))
    later = filed(finance, 2064, continues_project_id=earlier["id"])
    assert later["continues_project_id"] == earlier["id"]
    applied = ok(decide(finance, earlier, evaluated(finance, jixiao_app, earlier)), 201)
    assert applied["applies_to"]["id"] == later["id"]
    assert [p["id"] for p in chain(finance, later)["continues"]] == [earlier["id"]]

    # One successor per project, an earlier year only, and only the bureau's own projects.
    taken = finance.post(url("/projects"), json={
        "code": unique("NB"), "name": "重复延续", "year": 2064, "kind": "project", "fund_type": "general_public",
        "department_code": "101", "requested_amount": "1000.00", "continues_project_id": earlier["id"]})
    assert taken.status_code == 400 and "已由 2064 年" in taken.get_json()["error"]["fields"]["continues_project_id"]
    backwards = finance.patch(url(f"/projects/{earlier['id']}"), json={
        "continues_project_id": later["id"], "version": ok(finance.get(url(f"/projects/{earlier['id']}")))["version"]})
    assert backwards.status_code == 400
    assert "2063 年以前" in backwards.get_json()["error"]["fields"]["continues_project_id"]


def test_another_bureau_cannot_link_to_or_read_the_chain(finance, login):
    project = approved(finance, filed(finance, 2063))
    other = login("heshan_finance")
    response = other.post(url("/projects", HESHAN), json={
        "code": unique("NB"), "name": "他县项目", "year": 2064, "kind": "project", "fund_type": "general_public",
        "department_code": "101", "requested_amount": "1000.00", "continues_project_id": project["id"]})
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"continues_project_id": f"本级没有编号为 {project['id']} 的项目"}
    assert other.get(url(f"/projects/{project['id']}/result-chain")).status_code == 404
    assert other.get(url(f"/projects/{project['id']}/result-chain", HESHAN)).status_code == 404


# ---- Which evaluation decides ---------------------------------------------------------------------------------


def test_the_most_authoritative_evaluation_decides(finance, jixiao_app):
    project = approved(finance, filed(finance, 2065))
    self_evaluation = evaluated(finance, jixiao_app, project, "self", share="1")
    first = ok(decide(finance, project, self_evaluation, amount_change="100000.00"), 201)
    assert first["in_force"] is True

    re_evaluation = evaluated(finance, jixiao_app, project, "finance", share="0.5")
    assert re_evaluation["grade"] != self_evaluation["grade"]  # they disagree
    refused = decide(finance, project, self_evaluation, version=first["version"])
    assert refused.status_code == 409
    assert "财政" in refused.get_json()["error"]["message"]

    deciding = ok(decide(finance, project, re_evaluation, amount_change="-200000.00"), 201)
    assert (deciding["grade"], deciding["in_force"]) == (re_evaluation["grade"], True)
    by_evaluation = {r["evaluation_id"]: r for r in ok(finance.get(url(f"/projects/{project['id']}/results")))}
    assert by_evaluation[self_evaluation["id"]]["in_force"] is False
    decided = statistics(finance, 2065)["results"]
    assert (decided["count"], D(decided["amount_change"])) == (1, D("-200000.00"))
    assert list(decided["by_decision"]) == [national.RESULT_ACTIONS[re_evaluation["grade"]]["action"]]


class SelfFirst:
    """A region whose rule lets the unit's self-evaluation decide over finance's."""

    @hookimpl
    def evaluation_authority(self, tenant):
        return [["self"], ["department"], ["finance", "third_party"]]


def test_hook_evaluation_authority(with_plugin):
    """The order of evaluation kinds is the tenant's rule: a region may let the self-evaluation decide."""
    made = with_plugin(SelfFirst(), LINGLING)
    client = api_login(made, "lingling_finance")
    project = approved(client, filed(client, 2063))
    self_evaluation = evaluated(client, made, project, "self")
    re_evaluation = evaluated(client, made, project, "finance", share="0.5")
    refused = decide(client, project, re_evaluation)
    assert refused.status_code == 409 and "单位自评" in refused.get_json()["error"]["message"]
    assert ok(decide(client, project, self_evaluation), 201)["in_force"] is True


# ---- The seeds' figures ---------------------------------------------------------------------------------------


def special_fund(client, year: int, code: str, name: str, amount: str) -> dict:
    return filed(client, year, code=code, name=name, amount=amount, is_special_fund=True, fund_source="city")


def test_seed_002_budget_changes_follow_the_results(finance, jixiao_app):
    """Seed 002: "2021年预算对科技专项资金调增960万元，2022年预算对人才专项、旅游专项资金调减6000万元"
    (the seed's 2020, 2021 and 2022 budgets are this test's 2066, 2067 and 2068)."""
    science, talent, tourism = unique("KJ"), unique("RC"), unique("LY")
    science_2020 = approved(finance, special_fund(finance, 2066, science, "科技专项资金", "30000000.00"))
    science_2021 = special_fund(finance, 2067, science, "科技专项资金", "30000000.00")
    ok(decide(finance, science_2020, evaluated(finance, jixiao_app, science_2020), amount_change="9600000.00"), 201)

    talent_2021 = approved(finance, special_fund(finance, 2067, talent, "人才专项资金", "50000000.00"))
    tourism_2021 = approved(finance, special_fund(finance, 2067, tourism, "旅游专项资金", "40000000.00"))
    for project, cut in ((talent_2021, "-35000000.00"), (tourism_2021, "-25000000.00")):
        ok(decide(finance, project, evaluated(finance, jixiao_app, project, share="0.5"), amount_change=cut), 201)
    talent_2022 = special_fund(finance, 2068, talent, "人才专项资金", "50000000.00")
    tourism_2022 = special_fund(finance, 2068, tourism, "旅游专项资金", "40000000.00")

    budget_2021 = statistics(finance, 2067)["results"]["applied"]
    assert (budget_2021["count"], D(budget_2021["increases"]), D(budget_2021["reductions"])) == (
        1, D("9600000.00"), D("0.00"))
    budget_2022 = statistics(finance, 2068)["results"]["applied"]
    assert (budget_2022["count"], D(budget_2022["amount_change"])) == (2, D("-60000000.00"))
    assert D(chain(finance, science_2021)["budget_effect"]) == D("9600000.00")
    assert D(chain(finance, talent_2022)["budget_effect"]) + D(chain(finance, tourism_2022)["budget_effect"]) == D(
        "-60000000.00")


def test_seed_000_idle_funds_recovered_as_decisions_on_next_year_s_budget(finance, jixiao_app):
    """Seed 000: 9 key projects evaluated, "清理存量资金1.2亿元" (this test's 2069)."""
    recovered = ["20000000.00", "15000000.00", "15000000.00", "12000000.00", "12000000.00", "12000000.00",
                 "12000000.00", "12000000.00", "10000000.00"]
    for idle in recovered:
        project = approved(finance, filed(finance, 2069, amount="30000000.00", is_key=True))
        applied = ok(decide(finance, project, evaluated(finance, jixiao_app, project, "finance", share="0.8"),
                            idle_recovered=idle), 201)
        assert applied["next_year"] == 2070
    results = statistics(finance, 2069)["results"]
    assert (results["count"], D(results["idle_recovered"])) == (9, D("120000000.00"))
    assert D(statistics(finance, 2070)["results"]["applied"]["idle_recovered"]) == D("120000000.00")


def test_the_new_project_form_links_the_project_it_continues_by_code(finance, jixiao_app):
    earlier = approved(finance, filed(finance, 2063))
    form = {"code": unique("NF"), "name": "更名后的延续项目", "year": "2064", "kind": "project",
            "fund_type": "general_public", "department_code": "101", "requested_amount": "10"}
    unknown = finance.post(f"/t/{LINGLING}/projects", data={**form, "continues_code": "没有这个编码"})
    assert unknown.status_code == 400
    assert "本级 2064 年以前没有编码为 没有这个编码 的项目" in unknown.get_data(as_text=True)
    assert 'value="更名后的延续项目"' in unknown.get_data(as_text=True)  # the form keeps what was typed

    created = finance.post(f"/t/{LINGLING}/projects", data={**form, "continues_code": earlier["code"]})
    assert created.status_code == 302
    later = ok(finance.get(url(f"/projects?year=2064&q={form['code']}")))["items"][0]
    assert later["continues_project_id"] == earlier["id"]


def test_the_project_page_changes_the_link_and_keeps_the_input_on_error(finance, jixiao_app):
    earlier, other = approved(finance, filed(finance, 2063)), approved(finance, filed(finance, 2063))
    later = filed(finance, 2064)  # a new code: no link yet
    page = finance.get(f"/t/{LINGLING}/projects/{later['id']}").get_data(as_text=True)
    assert f'action="/t/{LINGLING}/projects/{later["id"]}/continues"' in page and "更改延续的上年项目" in page

    wrong = finance.post(f"/t/{LINGLING}/projects/{later['id']}/continues",
                         data={"continues_code": "没有这个编码", "version": str(later["version"])})
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 400 and "本级 2064 年以前没有编码为 没有这个编码 的项目" in text
    assert 'value="没有这个编码"' in text
    assert ok(finance.get(url(f"/projects/{later['id']}")))["continues_project_id"] is None  # nothing changed

    linked = finance.post(f"/t/{LINGLING}/projects/{later['id']}/continues",
                          data={"continues_code": earlier["code"], "version": str(later["version"])})
    assert linked.status_code == 302
    assert [p["id"] for p in chain(finance, later)["continues"]] == [earlier["id"]]
    current = ok(finance.get(url(f"/projects/{later['id']}")))
    shown = finance.get(f"/t/{LINGLING}/projects/{later['id']}").get_data(as_text=True)
    assert f'name="continues_code" maxlength="40" value="{earlier["code"]}"' in shown

    relinked = finance.post(f"/t/{LINGLING}/projects/{later['id']}/continues",
                            data={"continues_code": other["code"], "version": str(current["version"])})
    assert relinked.status_code == 302
    assert [p["id"] for p in chain(finance, later)["continues"]] == [other["id"]]
    stale = finance.post(f"/t/{LINGLING}/projects/{later['id']}/continues",
                         data={"continues_code": "", "version": str(current["version"])})
    assert stale.status_code == 409  # a colleague relinked it meanwhile: nothing is overwritten
    cleared = finance.post(f"/t/{LINGLING}/projects/{later['id']}/continues", data={
        "continues_code": "", "version": str(ok(finance.get(url(f"/projects/{later['id']}")))["version"])})
    assert cleared.status_code == 302 and chain(finance, later)["continues"] == []
    assert "project.update" in [e["action"] for e in ok(finance.get(url(f"/projects/{later['id']}/history")))]
