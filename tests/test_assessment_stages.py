"""Assessment stages: the deadline guard, 公示 and appeals, frozen scores, reopening as of the cut-off, withdrawal,
evidence on a subject's behalf, overriding a computed item, the default year, bounded statements.

Records are made in 2027 (no other test uses it) in 益阳市's counties and 衡阳县; the clock of the deadline rules
(``rectification.today``) is moved where a stage needs a deadline to have passed.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from jixiao.assessment import metrics
from jixiao.db import TenantScope, scoped, system_scope
from jixiao.lifecycle import rectification
from jixiao.lifecycle.models import MonitoringReport, Project
from jixiao.tenancy import service as tenancy
from jixiao.testing import api_login
from tests.test_assessment import ALL_IN, act, base, by_code, ok, seed_units, state, version_from
from tests.test_audit_and_api import make_app_like
from tests.test_query_budget import count_statements

YEAR = 2027
#: The bureau's day (the deadline rules judge by it), not the machine's: after 16:00 UTC they differ.
BUREAU_ZONE = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(BUREAU_ZONE).date()


@pytest.fixture(scope="module")
def staged(jixiao_app):
    import tests.test_assessment as shared

    previous, shared.YEAR = shared.YEAR, YEAR
    try:
        seed_units(jixiao_app, "430902", [ALL_IN, {"targets": True, "budgeted": True}])  # 资阳区
        seed_units(jixiao_app, "430921", [ALL_IN, ALL_IN])  # 南县
        seed_units(jixiao_app, "430421", [ALL_IN])  # 衡阳县
    finally:
        shared.YEAR = previous
    return make_app_like(jixiao_app, REDIS_URL=None)


@pytest.fixture
def clock(monkeypatch):
    """Move the bureau's today (the deadline rules' clock) to a given day."""
    def move(day: date) -> None:
        monkeypatch.setattr(rectification, "today", lambda: day)
    return move


def open_city_campaign(user, deadline: date = TODAY, **extra) -> dict:
    return ok(user.post(base("430900"), json={"year": YEAR, "scheme": "hunan-city-counties",
                                              "deadline": deadline.isoformat(), **extra}), 201)


def run(user, code: str, campaign_id: int, action: str, **body) -> dict:
    return ok(act(user, code, campaign_id, action, body), 202)


@pytest.fixture
def yiyang(staged):
    return api_login(staged, "yiyang_finance_stages")


@pytest.fixture(scope="module", autouse=True)
def yiyang_user(staged):
    from jixiao.accounts import service as accounts
    from jixiao.testing import DEMO_PASSWORD

    with staged.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, "430900")
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username="yiyang_finance_stages")) as db:
            accounts.create_user(db, None, tenant, username="yiyang_finance_stages", password=DEMO_PASSWORD,
                                 roles=["finance"], department_code=None)


def test_a_new_campaign_defaults_to_the_latest_year_with_records(staged, yiyang):
    import sqlalchemy as sa

    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle.models import Project
    from jixiao.tenancy import service as tenancy
    from jixiao.tenancy.models import Tenant

    later = ok(yiyang.post(base("430900"), json={"scheme": "hunan-city-counties", "deadline": TODAY.isoformat(),
                                                 "title": "默认年度"}), 201)
    # The latest budget year with records below Yiyang, not last calendar year (other tests of the session may
    # give Yiyang's counties later years than this file's).
    with staged.app_context():
        with system_scope() as db:
            below = tuple(db.scalars(sa.select(Tenant.id).where(
                Tenant.path.startswith(tenancy.get_by_code(db, "430900").path))))
        with scoped(TenantScope(read_ids=below)) as db:
            latest = db.scalar(sa.select(sa.func.max(Project.year)))
    assert latest >= YEAR and later["year"] == latest
    ok(act(yiyang, "430900", later["id"], "withdraw", {"reason": "只为检查默认年度"}))


def test_finalising_before_the_deadline_needs_force_and_a_reason(staged, yiyang, clock):
    campaign = open_city_campaign(yiyang, deadline=TODAY + timedelta(days=3))
    early = act(yiyang, "430900", campaign["id"], "finalize", {})
    assert early.status_code == 409 and "未过" in early.get_json()["error"]["message"]
    reasonless = act(yiyang, "430900", campaign["id"], "finalize", {"force": True})
    assert reasonless.status_code == 400 and "reason" in reasonless.get_json()["error"]["fields"]
    # The page refuses the same way, with the same service: nothing is enqueued.
    from tests.test_pages import csrf_from, page_login

    client = staged.test_client()
    page_login(client, "yiyang_finance_stages")
    page = client.get(f"/t/430900/assessments/{campaign['id']}").get_data(as_text=True)
    refused = client.post(f"/t/430900/assessments/{campaign['id']}", data={
        "action": "finalize", "version": version_from(page), "csrf_token": csrf_from(page)})
    assert refused.status_code == 302 and "/jobs/" not in refused.headers["Location"]
    assert ok(yiyang.get(base("430900", f"/{campaign['id']}")))["status"] == "open"
    # Once the deadline has passed, it simply finalises; the results are publicised to each subject.
    clock(TODAY + timedelta(days=4))
    assert run(yiyang, "430900", campaign["id"], "finalize")["status"] == "succeeded"
    done = ok(yiyang.get(base("430900", f"/{campaign['id']}")))
    assert done["status"] == "finalized" and done["appeal_until"] == (TODAY + timedelta(days=9)).isoformat()
    ok(act(yiyang, "430900", campaign["id"], "withdraw", {"reason": "测试结束"}))


def test_a_reopened_campaign_recomputes_to_the_same_values_as_of_its_cut_off(staged, yiyang, clock):
    campaign = open_city_campaign(yiyang, title="截止日期测试", deadline=TODAY - timedelta(days=1))
    assert campaign["cutoff"] == (TODAY - timedelta(days=1)).isoformat()
    # An override needs a reason, and is kept over the computed value.
    subject = by_code(ok(yiyang.get(base("430900", f"/{campaign['id']}/subjects"))))["430902"]
    reasonless = act(yiyang, "430900", campaign["id"], "overrides", {
        "subject_id": subject["id"], "indicator": "A1", "points": "10", "reason": ""})
    assert reasonless.status_code == 400
    # Records made yesterday count; today's are after the cut-off and do not.
    yesterday = datetime.combine(TODAY - timedelta(days=1), time(12), tzinfo=BUREAU_ZONE).astimezone(UTC)
    with staged.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, "430902")
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            db.execute(sa.update(Project).where(Project.tenant_id == tenant.id, Project.year == YEAR)
                       .values(created_at=yesterday))
            db.execute(sa.update(MonitoringReport).where(MonitoringReport.tenant_id == tenant.id)
                       .values(created_at=yesterday))
            from tests.test_assessment import Evaluation, TargetSet

            db.execute(sa.update(TargetSet).where(TargetSet.tenant_id == tenant.id).values(submitted_at=yesterday))
            db.execute(sa.update(Evaluation).where(Evaluation.tenant_id == tenant.id)
                       .values(submitted_at=yesterday, published_at=yesterday))
            db.commit()
    clock(TODAY)
    run(yiyang, "430900", campaign["id"], "finalize")
    first = by_code(ok(yiyang.get(base("430900", f"/{campaign['id']}/ranking"))))
    # 资阳区 measured on yesterday's records: B1 is 1 of 2 budgeted units.
    assert first["430902"]["total"] is not None and state(first["430902"], "B1") == "scored"
    before = {code: (r["total"], [(s["indicator_code"], s["points"]) for s in r["scores"]]) for code, r in first.items()}
    # Today 资阳区's second unit files its monitoring report: after the cut-off.
    with staged.app_context(), scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
        second = db.scalars(sa.select(Project).where(Project.tenant_id == tenant.id, Project.year == YEAR)
                            .order_by(Project.id)).all()[1]
        db.add(MonitoringReport(tenant_id=tenant.id, project_id=second.id, period=6, executed_amount=1,
                                execution_rate=1, light="red"))
        db.commit()
    ok(act(yiyang, "430900", campaign["id"], "reopen", {"reason": "复核"}))
    run(yiyang, "430900", campaign["id"], "finalize")
    again = by_code(ok(yiyang.get(base("430900", f"/{campaign['id']}/ranking"))))
    after = {code: (r["total"], [(s["indicator_code"], s["points"]) for s in r["scores"]]) for code, r in again.items()}
    assert after == before
    ok(act(yiyang, "430900", campaign["id"], "withdraw", {"reason": "测试结束"}))


def test_an_override_replaces_a_computed_item_with_its_reason(staged, yiyang):
    campaign = open_city_campaign(yiyang, title="调整测试")
    subject = by_code(ok(yiyang.get(base("430900", f"/{campaign['id']}/subjects"))))["430902"]
    row = ok(act(yiyang, "430900", campaign["id"], "overrides", {
        "subject_id": subject["id"], "indicator": "C1", "points": "10", "reason": "自评报告以纸质报送，已核实"}))
    assert (row["source"], row["override_reason"]) == ("override", "自评报告以纸质报送，已核实")
    not_computed = act(yiyang, "430900", campaign["id"], "overrides", {
        "subject_id": subject["id"], "indicator": "E1", "points": "5", "reason": "x"})
    assert not_computed.status_code == 400
    run(yiyang, "430900", campaign["id"], "finalize", force=True, reason="测试")
    rows = by_code(ok(yiyang.get(base("430900", f"/{campaign['id']}/ranking"))))
    # 资阳区: one of its two budgeted units self-evaluated (5.00 computed); the assessor's 10 stands, with both shown.
    c1 = next(s for s in rows["430902"]["scores"] if s["indicator_code"] == "C1")
    assert (c1["points"], c1["computed_points"], c1["source"]) == ("10.00", "5.00", "override")
    ok(act(yiyang, "430900", campaign["id"], "withdraw", {"reason": "测试结束"}))


def test_the_page_says_when_a_score_was_recorded_as_insufficient_evidence(staged, yiyang):
    """The page said 已保存评分 while the score was kept as 0.00 证据不足."""
    from tests.test_pages import csrf_from, page_login

    campaign = open_city_campaign(yiyang, title="页面评分")
    subject = by_code(ok(yiyang.get(base("430900", f"/{campaign['id']}/subjects"))))["430902"]
    client = staged.test_client()
    page_login(client, "yiyang_finance_stages")
    url = f"/t/430900/assessments/{campaign['id']}"
    page = client.get(url).get_data(as_text=True)
    assert "证据不足" in page and "未报送" in page  # the page explains the states it will show
    answer = client.post(url, data={"action": "score", "subject_id": subject["id"], "indicator": "E1",
                                    "points": "8", "version": version_from(page), "csrf_token": csrf_from(page)},
                         follow_redirects=True)
    text = answer.get_data(as_text=True)
    assert "已记为“证据不足”（0 分）" in text and "已保存评分" not in text
    ok(act(yiyang, "430900", campaign["id"], "withdraw", {"reason": "测试结束"}))


def test_a_jurisdiction_scope_counts_the_counties_records_for_their_city(staged):
    with staged.app_context():
        with system_scope() as db:
            city = tenancy.get_by_code(db, "430900")
            counties = [tenancy.get_by_code(db, code) for code in ("430902", "430921")]
        # Read as the city's assessors do: the city and what is below it.
        with scoped(TenantScope(read_ids=(city.id, *(c.id for c in counties)), write_id=city.id)) as db:
            own = metrics.compute(db, "targets_units", metrics.Subjects(by="tenant", ids=(city.id,), year=YEAR))
            whole = metrics.compute(db, "targets_units", metrics.Subjects(
                by="tenant", ids=(city.id,), year=YEAR, members=tuple((c.id, city.id) for c in [city, *counties])))
    assert own[city.id] == (0, 0)
    # 资阳区 2 units with targets of 2; 南县 2 of 2.
    assert whole[city.id] == (4, 4)


def test_ranking_subjects_and_a_result_run_the_same_statements_at_12_and_122_subjects(staged, yiyang):
    province = api_login(staged, "hunan_admin")
    city = api_login(staged, "hengyang_finance")
    counted = {}
    for user, code in ((city, "430400"), (province, "430000")):
        scheme = "hunan-province-counties" if code == "430000" else "hunan-city-counties"
        # A year of its own (2028): another module's campaign for 2027 may stand, and counts need no records.
        campaign = ok(user.post(base(code), json={"year": YEAR + 1, "scheme": scheme,
                                                  "deadline": TODAY.isoformat()}), 201)
        ok(act(user, code, campaign["id"], "finalize", {"force": True, "reason": "测试"}), 202)
        subjects = ok(user.get(base(code, f"/{campaign['id']}/subjects")))
        one = subjects[0]["id"]
        counted[len(subjects)] = [statements(staged, user, base(code, f"/{campaign['id']}{path}"))
                                  for path in ("/ranking", "/subjects", f"/subjects/{one}")]
        ok(act(user, code, campaign["id"], "withdraw", {"reason": "测试结束"}))
    assert set(counted) == {12, 122}
    assert counted[12] == counted[122]
    assert max(counted[122]) <= 12



# Last for Yiyang: a published campaign cannot be withdrawn, so it keeps the year and scheme.
def test_publicity_appeals_and_publishing(staged, yiyang, clock, create_user):
    campaign = open_city_campaign(yiyang)
    clock(TODAY + timedelta(days=1))
    run(yiyang, "430900", campaign["id"], "finalize")
    county = api_login(staged, create_user("430921", roles=["finance"]))
    mine = ok(county.get(f"/api/v1/tenants/430921/assessment-results/{campaign['id']}"))["result"]
    assert mine["provisional"] and mine["appeal_until"] == (TODAY + timedelta(days=6)).isoformat()
    e1 = next(i for i in mine["items"] if i["code"] == "E1")
    assert (e1["state"], e1["reason"]) == ("not_submitted", "截止日期前未报送")
    # The county's page lists the same items (the result is a dict there: its "items" is not dict.items).
    page = county.get(f"/t/430921/assessment-results/{campaign['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "各项得分" in html and e1["reason"] in html
    appeal = ok(county.post(f"/api/v1/tenants/430921/assessment-results/{campaign['id']}/appeals",
                            json={"indicator": "E1", "text": "制度建设材料已于截止前报送纸质版"}), 201)
    wrong = county.post(f"/api/v1/tenants/430921/assessment-results/{campaign['id']}/appeals",
                        json={"indicator": "ZZ", "text": "x"})
    assert wrong.status_code == 400 and "indicator" in wrong.get_json()["error"]["fields"]
    # A sibling county neither sees nor answers it; the assessor sees it.
    sibling = api_login(staged, create_user("430902", roles=["finance"]))
    assert sibling.get(base("430900", f"/{campaign['id']}/appeals")).status_code == 403
    listed = ok(yiyang.get(base("430900", f"/{campaign['id']}/appeals")))
    assert [(a["id"], a["code"], a["outcome"]) for a in listed] == [(appeal["id"], "430921", None)]
    # Publishing waits for the answers, and for the window to close (unless forced with a reason).
    clock(TODAY + timedelta(days=7))
    pending = act(yiyang, "430900", campaign["id"], "publish", {})
    assert pending.status_code == 409 and "未答复" in pending.get_json()["error"]["message"]
    late = county.post(f"/api/v1/tenants/430921/assessment-results/{campaign['id']}/appeals",
                       json={"indicator": "E2", "text": "逾期申诉"})
    assert late.status_code == 409 and "申诉期" in late.get_json()["error"]["message"]
    answer_url = base("430900", f"/{campaign['id']}/appeals/{appeal['id']}/answer")
    upheld = {"outcome": "upheld", "answer": "经核实属实，重新评分"}
    missing = yiyang.post(answer_url, json=upheld)  # the appeal's version is required, and checked
    assert missing.status_code == 400 and "version" in missing.get_json()["error"]["fields"]
    stale = yiyang.post(answer_url, json={**upheld, "version": listed[0]["version"] + 1})
    assert stale.status_code == 409 and "version" in stale.get_json()["error"]["fields"]
    answered = ok(yiyang.post(answer_url, json={**upheld, "version": listed[0]["version"]}))
    assert answered["outcome"] == "upheld"
    # Upheld: the assessor reopens, records the evidence on the county's behalf and rescores.
    ok(act(yiyang, "430900", campaign["id"], "reopen", {"reason": "南县申诉成立"}))
    gone = ok(county.get(f"/api/v1/tenants/430921/assessment-results/{campaign['id']}"))["result"]
    assert gone is None  # the provisional result is taken back while the campaign is rescored
    subject = by_code(ok(yiyang.get(base("430900", f"/{campaign['id']}/subjects"))))["430921"]
    no_note = yiyang.post(base("430900", f"/{campaign['id']}/subjects/{subject['id']}/evidence"),
                          data={"indicator": "E1", "file": (io.BytesIO(b"%PDF-1.4 x"), "visit.pdf")},
                          content_type="multipart/form-data")
    assert no_note.status_code == 400 and "note" in no_note.get_json()["error"]["fields"]
    assert yiyang.post(base("430900", f"/{campaign['id']}/subjects/{subject['id']}/evidence"),
                       data={"indicator": "E1", "note": "2027-03-02 实地核查", "file": (
                           io.BytesIO("%PDF-1.4\n制度汇编".encode()), "制度汇编.pdf")},
                       content_type="multipart/form-data").status_code == 204
    scored = ok(act(yiyang, "430900", campaign["id"], "scores", {
        "subject_id": subject["id"], "indicator": "E1", "points": "9"}))
    assert (scored["status"], scored["points"]) == ("scored", "9.00")  # evidence now on record: not 证据不足
    run(yiyang, "430900", campaign["id"], "finalize")
    clock(TODAY + timedelta(days=20))
    assert run(yiyang, "430900", campaign["id"], "publish")["status"] == "succeeded"
    final = ok(county.get(f"/api/v1/tenants/430921/assessment-results/{campaign['id']}"))["result"]
    assert not final["provisional"] and {i["code"]: i["points"] for i in final["items"]}["E1"] == "9.00"
    # Published: no more withdrawing or reopening.
    assert act(yiyang, "430900", campaign["id"], "withdraw", {"reason": "x"}).status_code == 409
    assert act(yiyang, "430900", campaign["id"], "reopen", {"reason": "x"}).status_code == 409


def statements(app, user, url: str) -> int:
    user.get(url)  # warm what is cached per process, not per row
    with count_statements(app) as seen:
        assert user.get(url).status_code == 200
    return len(seen)


def test_a_campaign_answers_with_the_scheme_it_was_opened_with(staged, yiyang):
    """The API never returned a campaign's saved scheme: a vendor could not read back the rules a year was
    assessed by."""
    from jixiao.assessment import service
    from jixiao.db import system_scope
    from jixiao.tenancy import service as tenancy

    year = YEAR + 3  # a year no other test of this file opens a campaign for
    campaign = open_city_campaign(yiyang, title="读回方案", year=year)
    try:
        read = ok(yiyang.get(base("430900", f"/{campaign['id']}")))
        with staged.test_request_context(), system_scope() as db:
            offered = {s["code"]: s for s in service.schemes_for(db, tenancy.get_by_code(db, "430900"), year)}
        assert read["scheme"]["code"] == campaign["scheme"]["code"] == "hunan-city-counties"
        assert read["scheme"]["groups"] == offered["hunan-city-counties"]["groups"]
        assert "scheme" not in ok(yiyang.get(base("430900")))[0]  # the list stays a summary
    finally:
        ok(act(yiyang, "430900", campaign["id"], "withdraw", {"reason": "测试结束"}))
