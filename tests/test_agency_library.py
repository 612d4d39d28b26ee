"""The agency library (第三方机构库, issue 16 §3): agency types, each year's quality result computed from the
quality scores finance gave the agencies' evaluations, the verdict it earns (奖励 / 通报批评 / 暂停委托), and a
bar — from the result or finance's own, with its reason — refusing new commissions.

Projects are built and evaluated through the lifecycle services (``tests.test_statistics.Bureau``); agencies,
quality scores and commissions go through the API, as finance would make them. Lingling (431102) in the years
2075–2079, which no other test uses.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from jixiao.lifecycle.models import Agency, EvaluationKind, Project, ProjectKind
from jixiao.testing import unique
from tests.test_statistics import GOOD, bureau

LINGLING, HESHAN = "431102", "430903"
YEAR, BAD_YEAR = 2075, 2077


def url(path: str, code: str = LINGLING) -> str:
    return f"/api/v1/tenants/{code}{path}"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.fixture
def finance(login: Any) -> Any:
    return login("lingling_finance")


def budgeted_projects(app: Any, year: int, count: int, code: str = LINGLING,
                      kind: ProjectKind = ProjectKind.PROJECT) -> list[int]:
    """``count`` projects of ``year`` with approved targets and budgets, as the services make them."""
    with bureau(app, code, year) as b:
        department = b.departments(1)[0]
        made = b.projects([{"department": department, "kind": kind} for _ in range(count)])
        for project in made:
            b.file_targets(project)
            b.approve(project)
            b.budget(project, project.requested_amount)
        return [p.id for p in made]


def evaluated_by(app: Any, year: int, project_id: int, agency_id: int | None,
                 kind: EvaluationKind = EvaluationKind.THIRD_PARTY, code: str = LINGLING) -> int:
    """A submitted evaluation of the project, commissioned to the agency and scored by the rules."""
    with bureau(app, code, year) as b:
        project = b.db.get(Project, project_id)
        agency = b.db.get(Agency, agency_id) if agency_id else None
        return b.evaluate(project, kind, GOOD, agency=agency).id


def register(client: Any, agency_type: str = "accounting_firm", code: str = LINGLING) -> dict[str, Any]:
    return ok(client.post(url("/agencies", code), json={"name": unique("评价事务所"), "contact": "0746-1234567",
                                                         "agency_type": agency_type}), 201)


def score_quality(client: Any, evaluation_id: int, score: str) -> None:
    version = ok(client.get(url(f"/evaluations/{evaluation_id}")))["version"]
    ok(client.post(url(f"/evaluations/{evaluation_id}/quality"),
                   json={"score": score, "comment": "报告规范", "version": version}))


def refusal(response: Any, status: int) -> dict[str, Any]:
    """The error of a refused request (``{"code", "message", "fields"}``), after checking its status."""
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]


def library_row(client: Any, year: int, agency_id: int) -> dict[str, Any]:
    rows = ok(client.get(url(f"/agencies/quality?year={year}")))
    return next(row for row in rows if row["agency_id"] == agency_id)


def commission(client: Any, project_id: int, agency_id: int) -> Any:
    return client.post(url(f"/projects/{project_id}/evaluations"), json={"kind": "third_party", "agency_id": agency_id})


# ---- Types ---------------------------------------------------------------------------------------------------


def test_an_agency_has_a_type_with_a_chinese_label_and_is_edited_with_its_version(finance):
    agency = register(finance, "consultancy")
    assert (agency["agency_type"], agency["agency_type_label"]) == ("consultancy", "咨询机构")
    assert agency["barred"] is False

    missing = finance.patch(url(f"/agencies/{agency['id']}"), json={"agency_type": "university"})
    assert "version" in refusal(missing, 400)["fields"]
    stale = finance.patch(url(f"/agencies/{agency['id']}"),
                          json={"agency_type": "university", "version": agency["version"] + 1})
    assert stale.status_code == 409
    changed = ok(finance.patch(url(f"/agencies/{agency['id']}"),
                               json={"agency_type": "university", "version": agency["version"]}))
    assert (changed["agency_type_label"], changed["version"]) == ("高校", agency["version"] + 1)
    assert ok(finance.get(url(f"/agencies/{agency['id']}")))["agency_type"] == "university"


def test_a_wrong_type_is_refused_in_chinese_naming_the_field(finance, app):
    refused = finance.post(url("/agencies"), json={"name": unique("机构"), "agency_type": "law_firm"})
    assert "law_firm" in str(refusal(refused, 400)["fields"]["agency_type"])
    agency = register(finance)
    wrong = finance.patch(url(f"/agencies/{agency['id']}"), json={"agency_type": "bank", "version": agency["version"]})
    assert "agency_type" in refusal(wrong, 400)["fields"]
    assert ok(finance.get(url(f"/agencies/{agency['id']}")))["version"] == agency["version"]  # nothing changed

    from jixiao.errors import ValidationFailed
    from jixiao.lifecycle import evaluations

    with bureau(app, LINGLING, YEAR) as b, pytest.raises(ValidationFailed) as caught:
        evaluations.create_agency(b.db, b.actor, b.tenant, unique("机构"), agency_type="bank")
    assert "机构类型" in caught.value.fields["agency_type"]


def test_department_staff_may_not_edit_or_bar_an_agency(finance, login):
    agency = register(finance)
    unit = login("lingling_dept")
    assert unit.patch(url(f"/agencies/{agency['id']}"), json={"agency_type": "other",
                                                               "version": agency["version"]}).status_code == 403
    assert unit.post(url(f"/agencies/{agency['id']}/bar"), json={"reason": "质量差",
                                                                  "version": agency["version"]}).status_code == 403


# ---- The yearly quality result -------------------------------------------------------------------------------


def test_the_years_quality_result_sums_the_scores_of_that_years_evaluations(app, finance):
    agency = register(finance)
    this_year = budgeted_projects(app, YEAR, 2)
    next_year = budgeted_projects(app, YEAR + 1, 1)
    scores = {evaluated_by(app, YEAR, pid, agency["id"]): score for pid, score in zip(this_year, ("95", "88.5"), strict=True)}
    for evaluation_id, score in scores.items():
        score_quality(finance, evaluation_id, score)
    score_quality(finance, evaluated_by(app, YEAR + 1, next_year[0], agency["id"]), "72")

    row = library_row(finance, YEAR, agency["id"])
    total = sum(Decimal(s) for s in scores.values())
    mean = (total / len(scores)).quantize(Decimal("0.01"))
    assert (row["count"], Decimal(row["total"]), Decimal(row["mean"])) == (len(scores), total, mean)
    assert mean >= Decimal("90") and (row["verdict"], row["verdict_label"]) == ("reward", "奖励")
    assert row["agency_type_label"] == "会计师事务所" and row["assignable"] is True

    other = library_row(finance, YEAR + 1, agency["id"])
    assert (other["count"], Decimal(other["total"]), other["verdict_label"]) == (1, Decimal("72"), "合格")
    nothing = library_row(finance, YEAR + 2, agency["id"])
    assert (nothing["count"], nothing["mean"], nothing["verdict"], nothing["verdict_label"]) == (0, None, None, "未评定")


def test_a_barring_result_refuses_new_commissions_that_year_and_the_next(app, finance, login):
    agency, sound = register(finance), register(finance, "research_institute")
    scored, later, next_round, after = (budgeted_projects(app, year, 1)[0]
                                        for year in (BAD_YEAR, BAD_YEAR, BAD_YEAR + 1, BAD_YEAR + 2))
    # Before any score, the agency may be commissioned a project of the year.
    score_quality(finance, evaluated_by(app, BAD_YEAR, scored, agency["id"]), "50")

    row = library_row(finance, BAD_YEAR, agency["id"])
    assert (row["verdict"], row["verdict_label"], row["assignable"]) == ("bar", "暂停委托", False)
    for project_id in (later, next_round):
        body = refusal(commission(finance, project_id, agency["id"]), 409)
        assert agency["name"] in body["message"] and "暂停委托" in body["message"]
        assert f"{BAD_YEAR} 年度" in body["fields"]["agency_id"]
    ok(commission(finance, after, agency["id"]), 201)  # two years on, the bad year no longer bars it
    ok(commission(finance, later, sound["id"]), 201)

    page = finance.get(f"/t/{LINGLING}/projects/{next_round}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'<option value="{agency["id"]}" disabled>' in html and "工作质量考评平均" in html
    assert f'<option value="{sound["id"]}" >' in html and "科研院所" in html


def test_the_thresholds_are_the_tenants_settings(app, finance):
    from jixiao.lifecycle import agencies

    with bureau(app, LINGLING, YEAR) as b:
        rules = agencies.quality_rules(b.db, b.tenant)
    assert rules.verdict(rules.bar_below - Decimal("0.01")) is agencies.Verdict.BAR
    assert rules.verdict(rules.bar_below) is agencies.Verdict.NOTICE
    assert rules.verdict(rules.notice_below) is agencies.Verdict.QUALIFIED
    assert rules.verdict(rules.reward_from) is agencies.Verdict.REWARD


# ---- Finance's own bar ---------------------------------------------------------------------------------------


def test_finance_bars_an_agency_with_a_reason_that_is_audited(app, finance):
    agency = register(finance)
    project_id, other_id = budgeted_projects(app, YEAR + 3, 2)
    no_reason = finance.post(url(f"/agencies/{agency['id']}/bar"), json={"reason": " ", "version": agency["version"]})
    assert "reason" in refusal(no_reason, 400)["fields"]

    reason = "评价报告存在抄袭，经调查属实"
    barred = ok(finance.post(url(f"/agencies/{agency['id']}/bar"), json={"reason": reason,
                                                                         "version": agency["version"]}))
    assert (barred["barred"], barred["bar_reason"]) == (True, reason)
    refused = refusal(commission(finance, project_id, agency["id"]), 409)
    assert reason in refused["message"] and agency["name"] in refused["message"]
    assert library_row(finance, YEAR + 3, agency["id"])["blocked_reason"].endswith(reason)
    again = finance.post(url(f"/agencies/{agency['id']}/bar"), json={"reason": reason, "version": barred["version"]})
    assert again.status_code == 409

    page = finance.get(f"/t/{LINGLING}/agencies?year={YEAR + 3}").get_data(as_text=True)
    assert reason in page and "恢复委托" in page

    lifted = ok(finance.post(url(f"/agencies/{agency['id']}/unbar"), json={"reason": "整改完成，恢复委托",
                                                                           "version": barred["version"]}))
    assert lifted["barred"] is False
    ok(commission(finance, other_id, agency["id"]), 201)

    from jixiao.audit.models import AuditEvent
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, LINGLING)
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            events = db.execute(sa.select(AuditEvent.action, AuditEvent.after, AuditEvent.actor_name)
                                .where(AuditEvent.object_id == str(agency["id"]),
                                       AuditEvent.action.in_(("agency.bar", "agency.unbar")))
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.after["reason"], e.actor_name) for e in events] == [
        ("agency.bar", reason, "lingling_finance"), ("agency.unbar", "整改完成，恢复委托", "lingling_finance")]


def test_the_agencies_page_shows_types_results_and_keeps_the_input_on_error(app, finance):
    agency = register(finance, "accounting_firm")
    project_id = budgeted_projects(app, YEAR + 4, 1)[0]
    score_quality(finance, evaluated_by(app, YEAR + 4, project_id, agency["id"]), "65")
    html = finance.get(f"/t/{LINGLING}/agencies?year={YEAR + 4}").get_data(as_text=True)
    assert "第三方机构库" in html and "会计师事务所" in html and "通报批评" in html
    assert "accounting_firm</td>" not in html and ">notice<" not in html

    page = finance.get(f"/t/{LINGLING}/agencies")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    refused = finance.post(f"/t/{LINGLING}/agencies/{agency['id']}/bar",
                           data={"csrf_token": token, "reason": "", "version": str(agency["version"]), "action": "bar"})
    assert refused.status_code == 400 and "暂停委托的原因" in refused.get_data(as_text=True)
    named = unique("研究院")
    taken = finance.post(f"/t/{LINGLING}/agencies", data={"csrf_token": token, "name": agency["name"],
                                                          "agency_type": "university", "contact": named})
    assert taken.status_code == 409 and named in taken.get_data(as_text=True)


# ---- Isolation -----------------------------------------------------------------------------------------------


def test_another_countys_agency_is_not_found(finance, login):
    agency = register(finance)
    heshan = login("heshan_finance")
    assert heshan.get(url(f"/agencies/{agency['id']}", HESHAN)).status_code == 404
    assert heshan.patch(url(f"/agencies/{agency['id']}", HESHAN),
                        json={"agency_type": "other", "version": agency["version"]}).status_code == 404
    assert heshan.post(url(f"/agencies/{agency['id']}/bar", HESHAN),
                       json={"reason": "越权", "version": agency["version"]}).status_code == 404
    assert heshan.get(url(f"/agencies/{agency['id']}")).status_code == 404
    assert agency["id"] not in {row["agency_id"] for row in ok(heshan.get(url(f"/agencies/quality?year={YEAR}", HESHAN)))}
