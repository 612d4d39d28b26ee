"""Writes to versioned records need the version the writer read; transitions are refused once done.

A write without ``version`` is 400 naming the field, a stale one 409; a create-or-correct that finds the record
there without its version is a repeated create (409). Approving more than was requested needs an explicit
confirmation. Pages send the version in hidden fields.
"""

from __future__ import annotations

import io
import re

import pytest

from jixiao.testing import unique

YEAR = 2026
INDICATORS = [
    {"level1": "产出", "level2": "数量指标", "name": "培训教师人次", "direction": "ge", "target_value": "1000",
     "unit": "人次", "weight": "50"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益学生人数", "direction": "ge", "target_value": "5000",
     "unit": "人", "weight": "30"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "参训教师满意度", "direction": "ge",
     "target_value": "90", "unit": "%", "weight": "10"},
]


def url(path: str = "") -> str:
    return f"/api/v1/tenants/431102{path}"


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def version_of(client, path: str) -> int:
    return ok(client.get(url(path)))["version"]


@pytest.fixture
def unit(login):
    return login("lingling_dept")


@pytest.fixture
def finance(login):
    return login("lingling_finance")


def approved_targets(unit, finance, requested: str = "400000") -> int:
    """A continuing project (no ex-ante owed) whose targets finance approved: ready for its budget."""
    pid = ok(unit.post(url("/projects"), json={
        "code": unique("VR"), "name": "版本校验项目", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "is_new": False, "requested_amount": requested}), 201)["id"]
    ok(unit.put(url(f"/projects/{pid}/targets"), json={"overall_target": "按期完成。", "indicators": INDICATORS}))
    ok(unit.post(url(f"/projects/{pid}/targets/submit")))
    ok(finance.post(url(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    return pid


def budgeted(unit, finance, amount: str = "400000") -> int:
    pid = approved_targets(unit, finance, amount)
    ok(finance.post(url(f"/projects/{pid}/budget"), json={
        "approved_amount": amount, "version": version_of(finance, f"/projects/{pid}")}))
    return pid


def audit_actions(client, pid: int, action: str) -> int:
    return sum(1 for row in ok(client.get(url(f"/projects/{pid}/history"))) if row["action"] == action)


def test_budget_approval_needs_the_version_read(unit, finance):
    pid = approved_targets(unit, finance)
    read = version_of(finance, f"/projects/{pid}")

    missing = finance.post(url(f"/projects/{pid}/budget"), json={"approved_amount": "400000"})
    assert missing.status_code == 400 and "version" in missing.get_json()["error"]["fields"]

    first = ok(finance.post(url(f"/projects/{pid}/budget"), json={"approved_amount": "380000", "version": read}))
    assert first["approved_amount"] == "380000.00" and first["version"] == read + 1

    # A second approver who read the same version does not silently replace the first approval.
    stale = finance.post(url(f"/projects/{pid}/budget"), json={"approved_amount": "390000", "version": read})
    assert stale.status_code == 409 and stale.get_json()["error"]["fields"]["version"] == f"当前版本为 {read + 1}"
    assert ok(finance.get(url(f"/projects/{pid}")))["approved_amount"] == "380000.00"
    assert audit_actions(finance, pid, "budget.approve") == 1


def test_approving_more_than_requested_needs_a_confirmation(unit, finance):
    pid = approved_targets(unit, finance, requested="400000")
    read = version_of(finance, f"/projects/{pid}")

    refused = finance.post(url(f"/projects/{pid}/budget"), json={"approved_amount": "4000000", "version": read})
    assert refused.status_code == 400
    message = refused.get_json()["error"]["fields"]["confirm_over_request"]
    assert "400 万元" in message and "40 万元" in message
    assert ok(finance.get(url(f"/projects/{pid}")))["approved_amount"] is None

    confirmed = ok(finance.post(url(f"/projects/{pid}/budget"), json={
        "approved_amount": "4000000", "version": read, "confirm_over_request": True}))
    assert confirmed["approved_amount"] == "4000000.00"


def test_suspending_a_suspended_payment_is_refused(unit, finance):
    pid = budgeted(unit, finance)
    missing = finance.post(url(f"/projects/{pid}/payment"), json={"suspended": True, "reason": "严重滞后"})
    assert missing.status_code == 400 and "version" in missing.get_json()["error"]["fields"]

    read = version_of(finance, f"/projects/{pid}")
    ok(finance.post(url(f"/projects/{pid}/payment"), json={"suspended": True, "reason": "严重滞后", "version": read}))
    again = finance.post(url(f"/projects/{pid}/payment"), json={
        "suspended": True, "reason": "严重滞后", "version": version_of(finance, f"/projects/{pid}")})
    assert again.status_code == 409 and "已暂停" in again.get_json()["error"]["message"]
    assert audit_actions(finance, pid, "payment.suspend") == 1


def test_a_filed_month_is_corrected_only_with_its_version(unit, finance):
    pid = budgeted(unit, finance)
    body = {"period": 6, "executed_amount": "200000", "values": []}
    first = ok(unit.post(url(f"/projects/{pid}/monitoring"), json=body), 201)

    repeated = unit.post(url(f"/projects/{pid}/monitoring"), json={**body, "executed_amount": "210000"})
    assert repeated.status_code == 409 and "version" in repeated.get_json()["error"]["fields"]
    corrected = ok(unit.post(url(f"/projects/{pid}/monitoring"), json={
        **body, "executed_amount": "210000", "version": first["version"]}), 201)
    assert corrected["executed_amount"] == "210000.00" and corrected["version"] == first["version"] + 1
    stale = unit.post(url(f"/projects/{pid}/monitoring"), json={
        **body, "executed_amount": "220000", "version": first["version"]})
    assert stale.status_code == 409
    reports = ok(unit.get(url(f"/projects/{pid}/monitoring")))["reports"]
    assert [(r["period"], r["executed_amount"]) for r in reports] == [(6, "210000.00")]


def test_a_second_self_evaluation_is_refused(unit, finance):
    pid = budgeted(unit, finance)
    first = ok(unit.post(url(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    again = unit.post(url(f"/projects/{pid}/evaluations"), json={"kind": "self"})
    assert again.status_code == 409 and str(first["id"]) in again.get_json()["error"]["message"]
    listed = ok(unit.get(url(f"/projects/{pid}/evaluations")))
    assert [e["id"] for e in listed if e["kind"] == "self"] == [first["id"]]


def test_a_repeated_project_create_is_a_conflict(unit):
    body = {"code": unique("DUP"), "name": "重复申报", "year": YEAR, "kind": "project", "fund_type": "general_public",
            "is_new": False, "requested_amount": "1000"}
    ok(unit.post(url("/projects"), json=body), 201)
    again = unit.post(url("/projects"), json=body)
    assert again.status_code == 409 and "code" in again.get_json()["error"]["fields"]


def test_replacing_targets_needs_their_version(unit):
    pid = ok(unit.post(url("/projects"), json={
        "code": unique("TV"), "name": "目标版本", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "is_new": False, "requested_amount": "1000"}), 201)["id"]
    first = ok(unit.put(url(f"/projects/{pid}/targets"), json={"overall_target": "第一稿", "indicators": INDICATORS}))
    blind = unit.put(url(f"/projects/{pid}/targets"), json={"overall_target": "第二稿", "indicators": INDICATORS})
    assert blind.status_code == 409 and "version" in blind.get_json()["error"]["fields"]
    second = ok(unit.put(url(f"/projects/{pid}/targets"), json={
        "overall_target": "第二稿", "indicators": INDICATORS, "version": first["version"]}))
    assert second["overall_target"] == "第二稿"


def test_renaming_a_department_needs_its_version(login):
    admin = login("lingling_admin")
    created = ok(admin.post("/api/v1/tenants/431102/departments", json={"code": unique("D")[-10:], "name": "改名前"}),
                 201)
    item = f"/api/v1/tenants/431102/departments/{created['id']}"
    blind = admin.patch(item, json={"name": "改名后"})
    assert blind.status_code == 400 and "version" in blind.get_json()["error"]["fields"]
    assert ok(admin.patch(item, json={"name": "改名后", "version": created["version"]}))["name"] == "改名后"
    assert admin.patch(item, json={"name": "再改", "version": created["version"]}).status_code == 409


# ---- Pages ----------------------------------------------------------------------------------------------------


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_budget_page_sends_the_version_and_asks_to_confirm_an_amount_above_the_request(app, unit, finance):
    pid = approved_targets(unit, finance, requested="400000")
    browser = app.test_client()
    login_page = browser.get("/login").get_data(as_text=True)
    browser.post("/login", data={"username": "lingling_finance", "password": "jixiao-demo-2026",
                                 "csrf_token": csrf_of(login_page)})
    page = browser.get(f"/t/431102/projects/{pid}").get_data(as_text=True)
    form = page[page.index(f'action="/t/431102/projects/{pid}/budget"'):]
    form = form[:form.index("</form>")]
    project_version = version_of(finance, f"/projects/{pid}")
    assert f'name="version" value="{project_version}"' in form and 'name="confirm_over_request"' in form

    data = {"approved_amount": "500", "version": str(project_version), "csrf_token": csrf_of(page)}
    refused = browser.post(f"/t/431102/projects/{pid}/budget", data=data)
    assert refused.status_code == 400 and "高于申请金额 40 万元" in refused.get_data(as_text=True)
    accepted = browser.post(f"/t/431102/projects/{pid}/budget", data={**data, "confirm_over_request": "1"})
    assert accepted.status_code == 302, accepted.get_data(as_text=True)
    assert ok(finance.get(url(f"/projects/{pid}")))["approved_amount"] == "5000000.00"


# ---- Spreadsheets ---------------------------------------------------------------------------------------------


def fill_targets(data: bytes, overall: str) -> bytes:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    ws = wb["绩效目标申报表"]
    ws["B7"] = overall
    for offset, row in enumerate(INDICATORS):
        symbol = {"ge": "≥"}[row["direction"]]
        for col, value in enumerate((row["level1"], row["level2"], row["name"], symbol, int(row["target_value"]),
                                     row["unit"], int(row["weight"])), start=1):
            ws.cell(row=10 + offset, column=col, value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def import_targets(client, pid: int, data: bytes):
    return client.post(url(f"/projects/{pid}/imports/targets"), data={"file": (io.BytesIO(data), "目标.xlsx")},
                       content_type="multipart/form-data")


def test_a_spreadsheet_filled_from_an_older_version_imports_nothing(unit):
    pid = ok(unit.post(url("/projects"), json={
        "code": unique("XV"), "name": "表格版本", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "is_new": False, "requested_amount": "1000"}), 201)["id"]
    blank = unit.get(url(f"/projects/{pid}/templates/targets")).data
    ok(import_targets(unit, pid, fill_targets(blank, "第一稿")))
    downloaded = unit.get(url(f"/projects/{pid}/templates/targets")).data

    # Meanwhile a colleague changes the targets on the page or by the API.
    current = ok(unit.get(url(f"/projects/{pid}/targets")))
    ok(unit.put(url(f"/projects/{pid}/targets"), json={"overall_target": "同事的修改", "indicators": INDICATORS,
                                                       "version": current["version"]}))
    for stale in (fill_targets(downloaded, "按旧表填写"), fill_targets(blank, "按空白旧表填写")):
        refused = import_targets(unit, pid, stale)
        assert refused.status_code == 409 and "请重新下载模板" in refused.get_json()["error"]["message"]
    assert ok(unit.get(url(f"/projects/{pid}/targets")))["overall_target"] == "同事的修改"

    fresh = unit.get(url(f"/projects/{pid}/templates/targets")).data
    assert ok(import_targets(unit, pid, fill_targets(fresh, "按新表填写")))["indicators"] == len(INDICATORS)
    assert ok(unit.get(url(f"/projects/{pid}/targets")))["overall_target"] == "按新表填写"


# ---- Assessment campaigns: stage actions and scores carry the campaign's version; appeal answers the appeal's

CITY = "430400"


def campaign_url(path: str = "") -> str:
    return f"/api/v1/tenants/{CITY}/assessments{path}"


def finalize_jobs(app, campaign_id: int) -> int:
    """How many finalising jobs were enqueued for the campaign."""
    import sqlalchemy as sa

    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.jobs.models import Job
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant_id = tenancy.get_by_code(db, CITY).id
        with scoped(TenantScope(read_ids=(tenant_id,))) as db:  # jobs are the tenant's rows (RLS)
            args = list(db.scalars(sa.select(Job.args).where(Job.kind == "assessment.finalize")))
    return sum(1 for a in args if a.get("campaign_id") == campaign_id)


def open_city_campaign(city, year: int) -> dict:
    from datetime import date, timedelta

    return ok(city.post(campaign_url(), json={"year": year, "scheme": "hunan-city-counties",
                                             "deadline": (date.today() + timedelta(days=30)).isoformat()}), 201)


def withdraw(city, campaign_id: int) -> None:
    ok(city.post(campaign_url(f"/{campaign_id}/withdraw"), json={
        "reason": "测试结束", "version": ok(city.get(campaign_url(f"/{campaign_id}")))["version"]}))


def test_finalising_a_campaign_needs_its_version_and_a_stale_one_enqueues_nothing(app, login):
    city = login("hengyang_finance")
    campaign = open_city_campaign(city, 2041)
    finalize = campaign_url(f"/{campaign['id']}/finalize")
    body = {"force": True, "reason": "测试提前汇总"}
    missing = city.post(finalize, json=body)
    assert missing.status_code == 400 and "version" in missing.get_json()["error"]["fields"]
    stale = city.post(finalize, json={**body, "version": campaign["version"] - 1})
    assert stale.status_code == 409 and "version" in stale.get_json()["error"]["fields"]
    assert finalize_jobs(app, campaign["id"]) == 0
    read = ok(city.get(campaign_url(f"/{campaign['id']}")))
    assert (read["version"], read["status"], read["force_reason"]) == (campaign["version"], "open", "")
    # Accepted once with the version read; the same request again is stale, and enqueues no second job.
    ok(city.post(finalize, json={**body, "version": campaign["version"]}), 202)
    again = city.post(finalize, json={**body, "version": campaign["version"]})
    assert again.status_code == 409
    assert finalize_jobs(app, campaign["id"]) == 1
    withdraw(city, campaign["id"])


def test_scores_reopening_withdrawing_and_publishing_need_the_campaign_version(app, login):
    city = login("hengyang_finance")
    campaign = open_city_campaign(city, 2042)
    cid = campaign["id"]
    subject = ok(city.get(campaign_url(f"/{cid}/subjects")))[0]
    writes = [
        ("put", "/scores", {"subject_id": subject["id"], "indicator": "F1", "points": "5"}),
        ("put", "/overrides", {"subject_id": subject["id"], "indicator": "A1", "points": "5", "reason": "已核实"}),
        ("post", "/publish", {"force": True, "reason": "测试"}),
        ("post", "/reopen", {"reason": "复核"}),
        ("post", "/withdraw", {"reason": "测试"}),
    ]
    for method, path, body in writes:
        missing = getattr(city, method)(campaign_url(f"/{cid}{path}"), json=body)
        assert missing.status_code == 400 and "version" in missing.get_json()["error"]["fields"], path
        stale = getattr(city, method)(campaign_url(f"/{cid}{path}"), json={**body, "version": campaign["version"] + 7})
        assert stale.status_code == 409 and "version" in stale.get_json()["error"]["fields"], path
    # Nothing was written: no score, the campaign as it was.
    assert all(s["source"] != "override" and s["indicator_code"] != "F1"
               for s in ok(city.get(campaign_url(f"/{cid}/subjects/{subject['id']}")))["scores"])
    read = ok(city.get(campaign_url(f"/{cid}")))
    assert (read["version"], read["status"]) == (campaign["version"], "open")
    scored = ok(city.put(campaign_url(f"/{cid}/scores"), json={**writes[0][2], "version": read["version"]}))
    assert scored["points"] == "5.00"
    withdraw(city, cid)


def test_the_campaign_page_sends_the_version_and_refuses_a_stale_one(app, login):
    city = login("hengyang_finance")
    campaign = open_city_campaign(city, 2043)
    page_url = f"/t/{CITY}/assessments/{campaign['id']}"
    html = city.get(page_url).get_data(as_text=True)
    assert f'name="version" value="{campaign["version"]}"' in html
    # A colleague withdrew it meanwhile (the version moved on): the page's stale form enqueues nothing.
    withdraw(city, campaign["id"])
    refused = city.post(page_url, data={"action": "finalize", "force": "1", "reason": "测试",
                                        "version": str(campaign["version"]), "csrf_token": csrf_of(html)},
                        follow_redirects=True)
    assert "已被他人修改" in refused.get_data(as_text=True)
    assert finalize_jobs(app, campaign["id"]) == 0
