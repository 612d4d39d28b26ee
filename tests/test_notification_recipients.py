"""Who hears about a project: the scans' notifications go to those who may open it, and cost the same whatever
the number of records (jixiao.policy.project_audience, jixiao.lifecycle.scans).

The world is built on its own database (no demo data): two departments of Lingling, A (with a unit A-1 under
it) and B, each with a budgeted project that is off track (a red monitoring report), owes an answer to a
warning and has an overdue rectification notice, plus one project each that owes its monitoring report.
Time passing is the one thing set by hand: the warning's answer date and the notice's deadline are moved into
the past, as the days going by would.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from jixiao import hookimpl
from jixiao.testing import (
    DEMO_PASSWORD,
    api_login,
    create_test_database,
    drop_test_database,
    make_app,
    unique,
)
from tests.helpers import load, small_tree

CODE = "431102"
OTHER_CODE = "431103"
YEAR = date.today().year
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
DAILY_KINDS = ("payment_suspended", "rectification_overdue", "monitoring_red")


def url(path: str = "", code: str = CODE) -> str:
    return f"/api/v1/tenants/{code}{path}"


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


# ---- Building the world --------------------------------------------------------------------------------------


def new_app(tmp_path: Path):
    from jixiao import migrate

    database = create_test_database(tmp_path)
    # Jobs run in this process, so the scans run inside the test.
    app = make_app(database, tmp_path, REDIS_URL=None)
    migrate.upgrade(app.config)
    load(app, small_tree(tmp_path))
    return app, database


def add_department(app, tenant_code: str, code: str, name: str, parent_code: str | None = None) -> None:
    from jixiao.accounts import service
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, tenant_code)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            service.create_department(db, None, tenant, code=code, name=name, parent_code=parent_code)


def add_user(app, tenant_code: str, roles: list[str], department_code: str | None = None) -> str:
    from jixiao.accounts import service
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    username = unique("n")
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, tenant_code)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=username)) as db:
            service.create_user(db, None, tenant, username=username, password=DEMO_PASSWORD, roles=roles,
                                department_code=department_code)
    return username


def budgeted_project(finance, department_code: str, name: str) -> int:
    project = ok(finance.post(url("/projects"), json={
        "code": unique("NP"), "name": name, "year": YEAR, "kind": "project", "fund_type": "general_public",
        "is_new": False, "department_code": department_code, "requested_amount": "500000"}), 201)
    pid = project["id"]
    ok(finance.put(url(f"/projects/{pid}/targets"), json={"overall_target": "全年培训教师1000人次。",
                                                          "indicators": INDICATORS}))
    ok(finance.post(url(f"/projects/{pid}/targets/submit")))
    ok(finance.post(url(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    version = ok(finance.get(url(f"/projects/{pid}")))["version"]
    ok(finance.post(url(f"/projects/{pid}/budget"), json={"approved_amount": "500000", "version": version}))
    return pid


def troubled_project(app, finance, department_code: str, name: str) -> int:
    """A budgeted project with a red June report whose warning was not answered in time, and a rectification
    notice (from its self-evaluation) past its deadline."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle.models import MonitoringReport, RectificationNotice
    from jixiao.lifecycle.rectification import today
    from jixiao.tenancy import service as tenancy

    pid = budgeted_project(finance, department_code, name)
    ids = [i["id"] for i in ok(finance.get(url(f"/projects/{pid}/targets")))["indicators"]]
    report = ok(finance.post(url(f"/projects/{pid}/monitoring"), json={
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
    ok(finance.post(url(f"/projects/{pid}/rectifications"), json={
        "evaluation_id": evaluation["id"], "problems": ["支付进度偏慢"],
        "deadline": (date.today() + timedelta(days=30)).isoformat()}), 201)
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, CODE)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            # Time passes: the warning (a region's rule asking for an answer) and the notice fall due.
            filed = db.scalars(sa.select(MonitoringReport).where(MonitoringReport.project_id == pid)).one()
            filed.warnings = [{"code": "execution_below_floor", "message": "执行率偏低", "response_days": 10}]
            filed.response_due = today() - timedelta(days=1)
            notice = db.scalars(sa.select(RectificationNotice).where(RectificationNotice.project_id == pid)).one()
            notice.deadline = today() - timedelta(days=1)
            db.commit()
    return pid


def run(app, kind: str) -> None:
    from jixiao.cli import main

    result = app.test_cli_runner().invoke(main, ["jobs", "run", kind])
    assert result.exit_code == 0 and "succeeded" in result.output, result.output


def notified(app, username: str) -> dict[str, list[int]]:
    """The user's notifications: kind → the project ids they are about (from each one's link), in order."""
    client = api_login(app, username)
    items = ok(client.get("/api/v1/notifications"))["items"]
    found: dict[str, list[int]] = {}
    for item in items:
        found.setdefault(item["kind"], []).append(int(item["url"].split("/projects/")[1].split("#")[0]))
    return {kind: sorted(ids) for kind, ids in found.items()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("recipients")
    app, database = new_app(tmp_path)
    add_department(app, CODE, "A", "甲局")
    add_department(app, CODE, "A01", "甲局下属单位", parent_code="A")
    add_department(app, CODE, "B", "乙局")
    add_department(app, OTHER_CODE, "A", "冷水滩甲局")
    people = {
        "finance": add_user(app, CODE, ["finance"]),
        "dept_a": add_user(app, CODE, ["department"], "A"),
        "unit_a": add_user(app, CODE, ["department"], "A01"),
        "dept_b": add_user(app, CODE, ["department"], "B"),
        "auditor": add_user(app, CODE, ["auditor"]),
        "expert": add_user(app, CODE, ["expert"]),
        "other_finance": add_user(app, OTHER_CODE, ["finance"]),
        "other_dept": add_user(app, OTHER_CODE, ["department"], "A"),
    }
    finance = api_login(app, people["finance"])
    projects = {
        "a": troubled_project(app, finance, "A", "甲局项目"),
        "a01": troubled_project(app, finance, "A01", "甲局下属单位项目"),
        "b": troubled_project(app, finance, "B", "乙局项目"),
        "a_owes": budgeted_project(finance, "A", "甲局待报送项目"),
        "b_owes": budgeted_project(finance, "B", "乙局待报送项目"),
    }
    run(app, "scan.daily")
    run(app, "scan.daily")  # a second run writes nothing new
    if date.today().month > 1:
        run(app, "scan.monitoring_reminders")
    yield app, people, projects
    app.extensions["jixiao.db"].engine.dispose()
    drop_test_database(database)


# ---- Who is told -----------------------------------------------------------------------------------------------


def test_a_department_hears_of_its_own_projects_and_its_units_only(world):
    app, people, p = world
    for kind in DAILY_KINDS:
        assert notified(app, people["dept_a"])[kind] == sorted([p["a"], p["a01"]]), kind
        assert notified(app, people["unit_a"])[kind] == [p["a01"]], kind
        assert notified(app, people["dept_b"])[kind] == [p["b"]], kind


def test_finance_hears_of_every_project_once(world):
    app, people, p = world
    mine = notified(app, people["finance"])
    for kind in DAILY_KINDS:
        assert mine[kind] == sorted([p["a"], p["a01"], p["b"]]), kind


def test_those_the_project_does_not_concern_and_other_bureaus_hear_nothing(world):
    app, people, _p = world
    for who in ("auditor", "expert", "other_finance", "other_dept"):
        assert notified(app, people[who]) == {}, who


def test_reminders_go_to_the_units_that_owe_the_report(world):
    """Every budgeted project owes last month's report (the troubled ones filed June only): each department
    is reminded of its own and its units', a unit of its own, finance of none (it owes nothing)."""
    app, people, p = world
    if date.today().month == 1:
        pytest.skip("in January no month of this year is due yet")
    assert notified(app, people["dept_a"])["monitoring_due"] == sorted([p["a"], p["a01"], p["a_owes"]])
    assert notified(app, people["unit_a"])["monitoring_due"] == [p["a01"]]
    assert notified(app, people["dept_b"])["monitoring_due"] == sorted([p["b"], p["b_owes"]])
    assert "monitoring_due" not in notified(app, people["finance"])


def test_every_notification_concerns_a_project_its_reader_can_open(world):
    app, people, p = world
    for who in ("finance", "dept_a", "unit_a", "dept_b"):
        client = api_login(app, people[who])
        told = {pid for ids in notified(app, people[who]).values() for pid in ids}
        assert told
        for pid in told:
            assert client.get(url(f"/projects/{pid}")).status_code == 200, (who, pid)
    # And the projects of another department, never notified, do not exist for them.
    for who, others in (("dept_a", ("b", "b_owes")), ("unit_a", ("a", "b")), ("dept_b", ("a", "a01", "a_owes"))):
        client = api_login(app, people[who])
        for name in others:
            assert p[name] not in {pid for ids in notified(app, people[who]).values() for pid in ids}
            assert client.get(url(f"/projects/{p[name]}")).status_code == 404, (who, name)


@contextlib.contextmanager
def in_the_tenant(app):
    """The world's tenant under its own scope: ``(session, tenant, its project ids)``."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle.models import Project
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, CODE)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            yield db, tenant, list(db.scalars(sa.select(Project.id).where(Project.tenant_id == tenant.id)))


def test_the_audience_is_the_visibility_rule(world):
    """For every active user and project of the tenant: in the audience exactly when the project is visible to
    the user by visible_projects and the notification concerns them."""
    from jixiao import policy
    from jixiao.accounts.models import User
    from jixiao.lifecycle.models import Project

    app, _people, _p = world
    with in_the_tenant(app) as (db, tenant, ids):
        everyone = list(db.scalars(sa.select(User).where(User.tenant_id == tenant.id)))
        audience = {(user_id, pid) for user_id, pid in db.execute(
            policy.project_audience(ids, concern=list(policy.Concern)))}
        visible = {(user.id, pid) for user in everyone
                   for pid in db.scalars(sa.select(Project.id).where(policy.visible_projects(user, tenant)))}
        concerned = {(user.id, pid) for user, pid in ((u, i) for u in everyone for i in ids)
                     if user.has_role("finance", "department", "evaluator")}
    assert audience == visible & concerned
    assert audience  # the world has someone to tell


def test_the_audience_of_a_list_is_project_audience_s_for_every_concern(world):
    """``policy.audience_of`` (one statement built once per concern, the ids a parameter) answers the pairs
    ``project_audience`` answers for the same ids, for every combination of concerns."""
    import itertools

    from jixiao import policy

    app, _people, _p = world
    with in_the_tenant(app) as (db, _tenant, ids):
        for size in (1, 2, 3):
            for concern in itertools.combinations(list(policy.Concern), size):
                built = {(user_id, project_id) for user_id, project_id
                         in db.execute(policy.project_audience(ids, concern=concern))}
                assert set(policy.audience_of(db, ids, *concern)) == built, concern
                assert set(policy.audience_of(db, ids[:1], *concern)) == {
                    pair for pair in built if pair[1] == ids[0]}, concern
        assert policy.audience_of(db, [], policy.Concern.FINANCE) == []


# ---- What it costs ---------------------------------------------------------------------------------------------


def count_statements(app, kind: str) -> int:
    engine = app.extensions["jixiao.db"].engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        run(app, kind)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_the_daily_scan_runs_as_many_statements_for_three_projects_as_for_one(tmp_path):
    app, database = new_app(tmp_path)
    try:
        add_department(app, CODE, "A", "甲局")
        for role in (["finance"], ["finance"], ["department"], ["department"]):
            add_user(app, CODE, role, "A" if role == ["department"] else None)
        finance = api_login(app, add_user(app, CODE, ["finance"]))
        troubled_project(app, finance, "A", "一号项目")
        once = count_statements(app, "scan.daily")
        for name in ("二号项目", "三号项目", "四号项目"):
            troubled_project(app, finance, "A", name)
        # Each kind again has new records to tell about (the first project's are told already).
        thrice = count_statements(app, "scan.daily")
    finally:
        app.extensions["jixiao.db"].engine.dispose()
        drop_test_database(database)
    assert thrice == once


class _Progress:
    def progress(self, percent: int, message: str = "") -> None:
        pass


def test_the_daily_scan_reads_its_records_once_per_tenant_and_writes_once(tmp_path):
    """Each tenant's notices and monitoring reports are read once (the scan sorts them into its four kinds; on
    PostgreSQL both in one statement), their audience once per concern, and every notification is written in one
    insert: where it was nine statements and four inserts."""
    from jixiao.lifecycle.scans import daily_scan

    app, database = new_app(tmp_path)
    try:
        add_department(app, CODE, "A", "甲局")
        add_user(app, CODE, ["department"], "A")
        finance = api_login(app, add_user(app, CODE, ["finance"]))
        troubled_project(app, finance, "A", "一号项目")
        engine = app.extensions["jixiao.db"].engine
        statements: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        with app.app_context():
            counts = daily_scan(_Progress())
    finally:
        engine.dispose()
        drop_test_database(database)

    def starting(prefix: str) -> int:
        return sum(1 for s in statements if " ".join(s.split()).startswith(prefix))

    assert counts["overdue_notices"] and counts["off_track"] and counts["suspended"], counts
    if engine.dialect.name == "postgresql":  # both in one round trip (db.select_many)
        both = [s for s in statements if "FROM rectification_notices" in s and "FROM monitoring_reports" in s]
        assert len(both) == 1 and both[0].startswith("SELECT (SELECT CAST(coalesce(json_agg"), both
        assert starting("SELECT rectification_notices.id") == starting("SELECT monitoring_reports.id") == 0
    else:
        assert starting("SELECT rectification_notices.id") == 1
        assert starting("SELECT monitoring_reports.id") == 1
    assert starting("INSERT INTO notifications") == 1
    # Finance and the unit (overdue, red, suspended); nothing falls due within the reminder days here.
    assert starting("WITH RECURSIVE") == 1


# ---- The scan acts through the services ------------------------------------------------------------------------


class SuspensionRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, str, str]] = []

    @hookimpl
    def on_lifecycle_event(self, tenant, event, project, actor, detail):
        self.events.append((event, project.id, actor, detail.get("reason", "")))


def test_the_daily_scan_suspends_through_the_projects_service_so_plugins_hear_of_it(tmp_path):
    """The scan used to write the suspension itself: audited, but the tenant's plugins never heard of it."""
    from jixiao import migrate
    from jixiao.db import system_scope
    from jixiao.tenancy import service as tenancy

    recorder = SuspensionRecorder()
    database = create_test_database(tmp_path)
    app = make_app(database, tmp_path, REDIS_URL=None, EXTRA_PLUGINS=[("suspensions", recorder)])
    try:
        migrate.upgrade(app.config)
        load(app, small_tree(tmp_path))
        with app.app_context(), system_scope() as db:
            tenancy.get_by_code(db, CODE).plugins = ["suspensions"]
            db.commit()
        add_department(app, CODE, "A", "甲局")
        finance = api_login(app, add_user(app, CODE, ["finance"]))
        pid = troubled_project(app, finance, "A", "甲局项目")
        run(app, "scan.daily")
        suspended = [event for event in recorder.events if event[0] == "payment.suspended"]
        project = ok(finance.get(url(f"/projects/{pid}")))
        assert project["payment_suspended"] is True
        assert suspended == [("payment.suspended", pid, "system", project["suspension_reason"])]
        history = ok(finance.get(url(f"/projects/{pid}/history")))
        entries = history["items"] if isinstance(history, dict) else history
        assert [(e["action"], e["actor_name"]) for e in entries if e["action"] == "payment.suspend"] == [
            ("payment.suspend", "system")]
        run(app, "scan.daily")  # already suspended: nothing happens twice
        assert [event for event in recorder.events if event[0] == "payment.suspended"] == suspended
    finally:
        app.extensions["jixiao.db"].engine.dispose()
        drop_test_database(database)
