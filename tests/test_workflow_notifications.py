"""Workflow notices in the bell: who hears of each step of a project and of an assessment campaign, once
(jixiao.lifecycle.notices, jixiao.assessment.notices, the daily scan's reminders of what falls due).

The world is built through the API on the session's database, in the budget years 2090–2094 (and 2095, 2097): Lingling gets a
department (with a unit under it) and a second department, each with its own staff; a project of the unit goes
through targets returned and approved, a red monitoring report with a warning to answer, and a rectification
notice answered and returned. Every assertion reads the bell through the API, filtered to this world's projects
and campaign (other tests write to the same bell).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from jixiao.testing import DEMO_PASSWORD, api_login, unique
from tests.test_audit_and_api import make_app_like
from tests.test_notification_recipients import INDICATORS

CODE, OTHER_CODE, CITY_CODE, FAR_CODE = "431102", "431103", "431100", "430903"
YEAR, CAMPAIGN_YEAR = 2090, 2091
EDIT_YEAR = 2095  # the red-light corrections' project
REMIND_YEAR = 2097  # the campaign whose self-report deadline is near


def url(path: str = "", code: str = CODE) -> str:
    return f"/api/v1/tenants/{code}{path}"


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def add_department(app, code: str, name: str, parent_code: str | None = None) -> str:
    from jixiao.accounts import service
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, CODE)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            service.create_department(db, None, tenant, code=code, name=name, parent_code=parent_code)
    return code


def add_user(app, tenant_code: str, roles: list[str], department_code: str | None = None) -> str:
    from jixiao.accounts import service
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    username = unique("wn")
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, tenant_code)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=username)) as db:
            service.create_user(db, None, tenant, username=username, password=DEMO_PASSWORD, roles=roles,
                                department_code=department_code)
    return username


def bell(app, username: str, about: set[str]) -> dict[str, list[str]]:
    """The user's notifications about this world's records: kind → the links, as often as written."""
    items = ok(api_login(app, username).get("/api/v1/notifications?per_page=100"))["items"]
    found: dict[str, list[str]] = {}
    for item in items:
        if item["url"].split("#")[0] in about:
            found.setdefault(item["kind"], []).append(item["url"])
    return found


def project_page(pid: int) -> str:
    return f"/t/{CODE}/projects/{pid}"


def run(app, kind: str) -> None:
    from jixiao.cli import main

    result = app.test_cli_runner().invoke(main, ["jobs", "run", kind])
    assert result.exit_code == 0 and "succeeded" in result.output, result.output


def falls_due(app, pid: int, days: int) -> None:
    """Time passes: the project's warning (a region's rule asking for an answer) and its rectification notice fall
    due in ``days`` days."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle.models import MonitoringReport, RectificationNotice
    from jixiao.lifecycle.rectification import today
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, CODE)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            report = db.scalars(sa.select(MonitoringReport).where(MonitoringReport.project_id == pid)).one()
            report.warnings = [{"code": "execution_below_floor", "message": "执行率偏低", "response_days": 10}]
            report.response_due = today() + timedelta(days=days)
            notice = db.scalars(sa.select(RectificationNotice).where(RectificationNotice.project_id == pid)).one()
            notice.deadline = today() + timedelta(days=days)
            db.commit()


@pytest.fixture(scope="module")
def world(jixiao_app):
    app = make_app_like(jixiao_app, REDIS_URL=None)  # jobs (the scan) run in this process
    dept_a = add_department(app, unique("WA")[:20], "通知甲局")
    unit_a = add_department(app, unique("WU")[:20], "通知甲局下属单位", parent_code=dept_a)
    dept_b = add_department(app, unique("WB")[:20], "通知乙局")
    people = {
        "finance": add_user(app, CODE, ["finance"]),
        "dept_a": add_user(app, CODE, ["department"], dept_a),
        "unit_a": add_user(app, CODE, ["department"], unit_a),
        "dept_b": add_user(app, CODE, ["department"], dept_b),
        "auditor": add_user(app, CODE, ["auditor"]),
        "other_finance": add_user(app, OTHER_CODE, ["finance"]),
        "far_finance": add_user(app, FAR_CODE, ["finance"]),
    }
    finance, unit = api_login(app, people["finance"]), api_login(app, people["unit_a"])
    pid = ok(finance.post(url("/projects"), json={
        "code": unique("WN"), "name": "通知测试项目", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "is_new": False, "department_code": unit_a, "requested_amount": "500000"}), 201)["id"]
    ok(finance.put(url(f"/projects/{pid}/targets"), json={"overall_target": "全年培训教师1000人次。",
                                                          "indicators": INDICATORS}))
    ok(finance.post(url(f"/projects/{pid}/targets/submit")))
    ok(finance.post(url(f"/projects/{pid}/targets/review"), json={"decision": "return", "comment": "指标值偏低"}))
    ok(unit.post(url(f"/projects/{pid}/targets/submit")))
    ok(finance.post(url(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    version = ok(finance.get(url(f"/projects/{pid}")))["version"]
    ok(finance.post(url(f"/projects/{pid}/budget"), json={"approved_amount": "500000", "version": version}))
    ids = [i["id"] for i in ok(finance.get(url(f"/projects/{pid}/targets")))["indicators"]]
    report = ok(unit.post(url(f"/projects/{pid}/monitoring"), json={
        "period": 6, "executed_amount": "100000", "cause": "场地改造推迟", "measure": "下半年集中培训",
        "values": [{"indicator_id": ids[0], "actual_value": "200"}, {"indicator_id": ids[1], "actual_value": "96"},
                   {"indicator_id": ids[2], "actual_value": "2600"}, {"indicator_id": ids[4], "actual_value": "92"}]}), 201)
    assert report["light"] == "red"
    evaluation = ok(finance.post(url(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    ok(finance.post(url(f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": "450000", "summary": "基本完成",
        "scores": [{"indicator_id": ids[0], "actual_value": "1000"}, {"indicator_id": ids[1], "actual_value": "97"},
                   {"indicator_id": ids[2], "actual_value": "4000"},
                   {"indicator_id": ids[3], "band": "partial", "band_fraction": "0.7"},
                   {"indicator_id": ids[4], "actual_value": "95"}],
        "version": evaluation.get("version")}))
    notice = ok(finance.post(url(f"/projects/{pid}/rectifications"), json={
        "evaluation_id": evaluation["id"], "problems": ["支付进度偏慢"],
        "deadline": (date.today() + timedelta(days=30)).isoformat()}), 201)
    ok(unit.post(url(f"/rectifications/{notice['id']}/answer"), json={"measures": "已加快支付"}))
    ok(finance.post(url(f"/rectifications/{notice['id']}/verify"), json={"decision": "return", "reason": "缺少凭证"}))
    falls_due(app, pid, days=1)
    run(app, "scan.daily")
    run(app, "scan.daily")  # a second run reminds of nothing again
    ok(unit.post(url(f"/projects/{pid}/monitoring/6/response"), json={"choice": "adjust_funds", "note": "调减预算"}))
    yield app, people, pid


def test_the_unit_hears_of_targets_notices_returns_and_what_falls_due(world):
    app, people, pid = world
    link = project_page(pid)
    expected = {"targets_returned": [f"{link}#targets"], "targets_approved": [f"{link}#targets"],
                "rectification_issued": [f"{link}#rectification"],
                "rectification_returned": [f"{link}#rectification"],
                "rectification_due_soon": [f"{link}#rectification"], "warning_due_soon": [f"{link}#monitoring"],
                # the daily scan's, as before: the unit is the one to answer a red report's warning
                "monitoring_red": [f"{link}#monitoring"]}
    # The unit's own staff, and the department above it, each once.
    assert bell(app, people["unit_a"], {link}) == expected
    assert bell(app, people["dept_a"], {link}) == expected


def test_finance_hears_of_red_lights_and_of_answers(world):
    app, people, pid = world
    link = project_page(pid)
    mine = bell(app, people["finance"], {link})
    assert mine["light_red"] == [f"{link}#monitoring"]
    assert mine["rectification_answered"] == [f"{link}#rectification"]
    assert mine["warning_answered"] == [f"{link}#monitoring"]
    # What the unit is told is the unit's to act on.
    assert not {"targets_returned", "targets_approved", "rectification_issued", "warning_due_soon"} & set(mine)


def test_the_words_are_chinese_and_name_the_project(world):
    app, people, pid = world
    items = ok(api_login(app, people["unit_a"]).get("/api/v1/notifications?per_page=100"))["items"]
    returned = next(i for i in items if i["kind"] == "targets_returned" and i["url"].startswith(project_page(pid)))
    assert returned["title"] == "绩效目标被退回：《通知测试项目》"
    assert "指标值偏低" in returned["body"]
    answered = next(i for i in ok(api_login(app, people["finance"]).get("/api/v1/notifications?per_page=100"))[
        "items"] if i["kind"] == "warning_answered" and i["url"].startswith(project_page(pid)))
    assert "调剂" in answered["body"]


def test_those_the_project_does_not_concern_and_other_bureaus_hear_nothing(world):
    app, people, pid = world
    for who in ("dept_b", "auditor", "other_finance", "far_finance"):
        assert bell(app, people[who], {project_page(pid)}) == {}, who


def test_telling_again_writes_nothing(world):
    """The same event told twice (a retried hook, a second scan) is one notice per user."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle import common
    from jixiao.lifecycle.models import Project, TargetSet
    from jixiao.policy import SystemActor
    from jixiao.tenancy import service as tenancy

    app, people, pid = world
    before = bell(app, people["unit_a"], {project_page(pid)})
    with app.test_request_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, CODE)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            project = db.get_one(Project, pid)
            target_set = db.scalars(sa.select(TargetSet).where(TargetSet.project_id == pid)).one()
            common.emit(db, tenant, "targets.approved", project, SystemActor(tenant_id=tenant.id, purpose="test"), comment="",
                        target_set_id=target_set.id, version=target_set.version)
    run(app, "scan.daily")
    # The unit's answer to the warning moved the red report to a new version: the same red light all the same.
    assert bell(app, people["unit_a"], {project_page(pid)}) == before


def test_a_notice_another_bureau_writes_is_not_read_by_id(world):
    app, people, pid = world
    items = ok(api_login(app, people["unit_a"]).get("/api/v1/notifications?per_page=100"))["items"]
    mine = next(i for i in items if i["url"].startswith(project_page(pid)))
    other = api_login(app, people["other_finance"])
    assert other.post(f"/api/v1/notifications/{mine['id']}/read").status_code == 404


def test_a_red_light_is_told_once_however_often_its_report_is_corrected(world):
    """A unit corrects its red June report twice (still red) with the daily scan running in between: finance and
    the unit are told of that red light once. When the light goes away and comes back, it is a new red light."""
    app, people, world_pid = world
    finance, unit = api_login(app, people["finance"]), api_login(app, people["unit_a"])
    department = ok(finance.get(url(f"/projects/{world_pid}")))["department"]["code"]
    pid = ok(finance.post(url("/projects"), json={
        "code": unique("RL"), "name": "红灯更正项目", "year": EDIT_YEAR, "kind": "project",
        "fund_type": "general_public", "is_new": False, "department_code": department,
        "requested_amount": "500000"}), 201)["id"]
    ok(finance.put(url(f"/projects/{pid}/targets"), json={"overall_target": "全年培训教师1000人次。",
                                                          "indicators": INDICATORS}))
    ok(finance.post(url(f"/projects/{pid}/targets/submit")))
    ok(finance.post(url(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    version = ok(finance.get(url(f"/projects/{pid}")))["version"]
    ok(finance.post(url(f"/projects/{pid}/budget"), json={"approved_amount": "500000", "version": version}))
    ids = [i["id"] for i in ok(finance.get(url(f"/projects/{pid}/targets")))["indicators"]]
    filed: dict = {}

    def file(executed: str, trained: str, cause: str) -> str:
        body = {"period": 6, "executed_amount": executed, "cause": cause, "measure": "下半年集中培训",
                "values": [{"indicator_id": ids[0], "actual_value": trained},
                           {"indicator_id": ids[1], "actual_value": "96"},
                           {"indicator_id": ids[2], "actual_value": "2600"},
                           {"indicator_id": ids[4], "actual_value": "92"}]}
        if filed:
            body["version"] = filed["version"]
        filed.update(ok(unit.post(url(f"/projects/{pid}/monitoring"), json=body), 201))
        run(app, "scan.daily")
        return filed["light"]

    def reds(who: str) -> dict[str, list[str]]:
        told = bell(app, people[who], {project_page(pid)})
        return {kind: told[kind] for kind in ("light_red", "monitoring_red") if kind in told}

    assert file("100000", "200", "场地改造推迟") == "red"
    assert file("100000", "210", "场地改造推迟，教师借调") == "red"  # corrected, still red
    assert file("110000", "220", "场地改造推迟，教师借调，已调整计划") == "red"  # corrected again
    told = [f"{project_page(pid)}#monitoring"]
    assert reds("finance") == {"light_red": told, "monitoring_red": told}
    assert reds("unit_a") == {"monitoring_red": told}
    assert file("250000", "500", "") != "red"  # on track: the red light went away
    assert reds("finance") == {"light_red": told, "monitoring_red": told}
    assert file("100000", "200", "场地改造再次推迟") == "red"  # and came back: a new red light
    assert reds("finance") == {"light_red": told * 2, "monitoring_red": told * 2}
    assert reds("unit_a") == {"monitoring_red": told * 2}


# ---- Assessment campaigns ------------------------------------------------------------------------------------


def test_the_assessed_bureaus_finance_hears_when_a_campaign_opens_and_publishes(world):
    app, people, _pid = world
    city = api_login(app, "yongzhou_finance")
    schemes = ok(city.get(url(f"/assessments/schemes?year={CAMPAIGN_YEAR}", CITY_CODE)))
    scheme = next(s["code"] for s in schemes if s.get("subjects") == "counties")
    campaign = ok(city.post(url("/assessments", CITY_CODE), json={
        "year": CAMPAIGN_YEAR, "scheme": scheme, "deadline": (date.today() + timedelta(days=30)).isoformat()}), 201)
    pages = {f"/t/{CODE}/assessment-results/{campaign['id']}", f"/t/{OTHER_CODE}/assessment-results/{campaign['id']}"}
    assert bell(app, people["finance"], pages) == {
        "assessment_opened": [f"/t/{CODE}/assessment-results/{campaign['id']}"]}
    assert bell(app, people["other_finance"], pages) == {
        "assessment_opened": [f"/t/{OTHER_CODE}/assessment-results/{campaign['id']}"]}

    def act(action: str, body: dict) -> dict:
        version = ok(city.get(url(f"/assessments/{campaign['id']}", CITY_CODE)))["version"]
        return ok(city.post(url(f"/assessments/{campaign['id']}/{action}", CITY_CODE),
                            json={**body, "version": version}), 202)

    assert act("finalize", {"force": True, "reason": "测试提前汇总"})["status"] == "succeeded"
    assert act("publish", {"force": True, "reason": "测试提前发布"})["status"] == "succeeded"
    told = bell(app, people["finance"], pages)
    assert told == {"assessment_opened": [f"/t/{CODE}/assessment-results/{campaign['id']}"],
                    "assessment_published": [f"/t/{CODE}/assessment-results/{campaign['id']}"]}
    published = next(i for i in ok(api_login(app, people["finance"]).get("/api/v1/notifications?per_page=100"))[
        "items"] if i["kind"] == "assessment_published" and i["url"] in pages)
    assert published["title"].startswith("考核结果已发布：")
    # Not the units of the county, nor a county the city does not assess.
    for who in ("dept_a", "unit_a", "far_finance"):
        assert bell(app, people[who], pages) == {}, who


def test_an_assessed_bureau_that_has_not_reported_is_reminded_of_the_self_report_deadline(world):
    """The daily reminder (``scan.assessment_deadlines``): the self-report deadline falls within the assessed
    bureaus' ``notifications.reminder_days``. Lingling has reported on every assessed item and is not reminded;
    Lengshuitan has not and is, once however often the scan runs; nobody else is."""
    from jixiao import units
    from jixiao.testing import tenant_settings

    app, people, _pid = world
    city = api_login(app, "yongzhou_finance")
    scheme = "hunan-city-counties"  # Hunan's: counties self-report on its assessed items (制度建设 …)
    days = int(tenant_settings(app, OTHER_CODE)["notifications.reminder_days"])
    deadline = units.local_today() + timedelta(days=days)  # the last day that is still "within"
    campaign = ok(city.post(url("/assessments", CITY_CODE), json={
        "year": REMIND_YEAR, "scheme": scheme, "deadline": deadline.isoformat()}), 201)
    try:
        finance = api_login(app, people["finance"])
        assignment = ok(finance.get(url(f"/assessment-results/{campaign['id']}")))
        assert assignment["items"]
        for item in assignment["items"]:
            assignment = ok(finance.post(url(f"/assessment-results/{campaign['id']}/self-report"), json={
                "indicator": item["code"], "text": "已按考核要求报送。", "version": assignment["version"]}))
        run(app, "scan.assessment_deadlines")
        run(app, "scan.assessment_deadlines")  # a second run reminds of nothing again
        ours, theirs = (f"/t/{code}/assessment-results/{campaign['id']}" for code in (CODE, OTHER_CODE))
        pages = {ours, theirs}
        assert bell(app, people["other_finance"], pages) == {"assessment_opened": [theirs],
                                                             "assessment_due_soon": [theirs]}
        assert bell(app, people["finance"], pages) == {"assessment_opened": [ours]}
        for who in ("dept_a", "unit_a", "far_finance"):
            assert bell(app, people[who], pages) == {}, who
        reminder = next(i for i in ok(api_login(app, people["other_finance"]).get(
            "/api/v1/notifications?per_page=100"))["items"] if i["kind"] == "assessment_due_soon" and i["url"] == theirs)
        assert reminder["title"] == f"考核自评即将截止：{campaign['title']}"
        assert str(deadline) in reminder["body"] and f"尚有 {len(assignment['items'])} 项未报送" in reminder["body"]
    finally:
        version = ok(city.get(url(f"/assessments/{campaign['id']}", CITY_CODE)))["version"]
        city.post(url(f"/assessments/{campaign['id']}/withdraw", CITY_CODE),
                  json={"reason": "测试结束撤回", "version": version})
