"""The audit administrator's audit log (read, filter, export) and its retention (``jixiao audit purge``)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from jixiao.cli import main
from jixiao.testing import api_login, unique
from tests.helpers import load, small_tree

AUDITOR = "operator_audit"


def make_department(client, tenant_code: str, name: str) -> dict:
    response = client.post(f"/api/v1/tenants/{tenant_code}/departments", json={"code": unique("D")[-10:], "name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_audit_administrator_reads_events_of_two_tenants_and_the_operators(login, create_user):
    lingling_admin = create_user("431102", roles=["admin"])
    heshan_admin = create_user("430903", roles=["admin"])
    lingling = make_department(login(lingling_admin), "431102", "零陵审计")
    heshan = make_department(login(heshan_admin), "430903", "赫山审计")
    auditor = login(AUDITOR)

    both = auditor.get("/api/v1/audit/events?action=department.create&per_page=200").get_json()
    mine = {(e["tenant_code"], e["actor_name"], e["object_id"], e["after"]["name"]) for e in both["items"]
            if e["actor_name"] in (lingling_admin, heshan_admin)}
    assert mine == {("431102", lingling_admin, str(lingling["id"]), "零陵审计"),
                    ("430903", heshan_admin, str(heshan["id"]), "赫山审计")}

    by_tenant = auditor.get(f"/api/v1/audit/events?tenant=430903&actor={heshan_admin}&action=department.create").get_json()
    assert [(e["action"], e["object_id"]) for e in by_tenant["items"]] == [("department.create", str(heshan["id"]))]
    assert auditor.get(f"/api/v1/audit/events?tenant=431102&actor={heshan_admin}").get_json()["total"] == 0

    # The operators' own events belong to no tenant: the audit administrator reads them too.
    own_login = auditor.get(f"/api/v1/audit/events?tenant=platform&actor={AUDITOR}&action=user.login").get_json()
    assert own_login["total"] >= 1 and {e["tenant_code"] for e in own_login["items"]} == {"platform"}


def test_filters_paginate_newest_first_and_bad_values_name_the_field(login, create_user):
    admin_name = create_user("431102", roles=["admin"])
    admin = login(admin_name)
    made = [make_department(admin, "431102", f"分页{i}") for i in range(3)]
    auditor = login(AUDITOR)
    first = auditor.get(f"/api/v1/audit/events?actor={admin_name}&action=department.create&per_page=2").get_json()
    second = auditor.get(f"/api/v1/audit/events?actor={admin_name}&action=department.create&per_page=2&page=2").get_json()
    assert first["total"] == second["total"] == 3
    assert [e["object_id"] for e in first["items"] + second["items"]] == [str(d["id"]) for d in reversed(made)]
    for query, field in (("tenant=999999", "tenant"), ("from=2026-13-01", "from"),
                         ("from=2026-12-02&to=2026-12-01", "to"), ("from=0001-01-01", "from"),
                         ("to=9999-12-31", "to")):
        refused = auditor.get(f"/api/v1/audit/events?{query}")
        assert refused.status_code == 400 and field in refused.get_json()["error"]["fields"], query
    page = auditor.get("/operator/audit?from=2026-12-02&to=2026-12-01")
    assert page.status_code == 400 and "结束日期不能早于开始日期" in page.get_data(as_text=True)


def test_dates_filter_by_the_local_day(login, create_user, app):
    from zoneinfo import ZoneInfo

    from jixiao.db import utcnow

    admin_name = create_user("431102", roles=["admin"])
    department = make_department(login(admin_name), "431102", "按日")
    today = utcnow().astimezone(ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])).date()
    auditor = login(AUDITOR)
    base = f"/api/v1/audit/events?actor={admin_name}&action=department.create"
    same_day = auditor.get(f"{base}&from={today}&to={today}").get_json()
    assert [e["object_id"] for e in same_day["items"]] == [str(department["id"])]
    assert auditor.get(f"{base}&to={today - timedelta(days=1)}").get_json()["total"] == 0
    assert auditor.get(f"{base}&from={today + timedelta(days=1)}").get_json()["total"] == 0


def test_the_export_holds_the_filtered_events_as_text_and_is_itself_audited(login, create_user):
    lingling_admin = create_user("431102", roles=["admin"])
    heshan_admin = create_user("430903", roles=["admin"])
    injected = '=HYPERLINK("http://evil.example","点击")'
    lingling = make_department(login(lingling_admin), "431102", injected)
    heshan = make_department(login(heshan_admin), "430903", "赫山导出")
    auditor = login(AUDITOR)

    rows = {}
    for actor in (lingling_admin, heshan_admin):
        response = auditor.get(f"/api/v1/audit/events.xlsx?action=department.create&actor={actor}")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment")
        sheet = load_workbook(io.BytesIO(response.data)).active
        headings = [c.value for c in sheet[3]]
        assert headings[:6] == ["序号", "时间", "财政部门代码", "财政部门", "操作人", "操作"]
        data = [[c for c in row] for row in sheet.iter_rows(min_row=4)]
        assert len(data) == 1
        rows[actor] = data[0]
    lingling_row, heshan_row = rows[lingling_admin], rows[heshan_admin]
    assert [c.value for c in lingling_row[2:8]] == ["431102", "零陵区", lingling_admin, "department.create",
                                                   "departments", str(lingling["id"])]
    assert [c.value for c in heshan_row[2:8]] == ["430903", "赫山区", heshan_admin, "department.create",
                                                 "departments", str(heshan["id"])]
    assert json.loads(lingling_row[9].value)["name"] == injected and lingling_row[9].data_type == "s"
    # The export is recorded, with its filters and its row count.
    exports = auditor.get(f"/api/v1/audit/events?tenant=platform&action=audit.export&actor={AUDITOR}&per_page=2")
    latest = exports.get_json()["items"][0]
    assert latest["after"] == {"filters": {"action": "department.create", "actor": heshan_admin}, "count": 1}
    # The page's export button is the same export.
    page = auditor.get(f"/operator/audit?actor={heshan_admin}")
    assert page.status_code == 200 and f'href="/operator/audit/export?actor={heshan_admin}"' in page.get_data(as_text=True)
    from_page = auditor.get(f"/operator/audit/export?actor={heshan_admin}&action=department.create")
    assert from_page.status_code == 200
    assert load_workbook(io.BytesIO(from_page.data)).active.cell(row=4, column=8).value == str(heshan["id"])


@pytest.mark.parametrize("username", ["lingling_admin", "hunan_admin", "lingling_auditor", "operator_system",
                                      "operator_security"])
def test_no_one_but_the_audit_administrator_reads_the_audit_log(login, username):
    client = login(username)
    for url in ("/api/v1/audit/events", "/api/v1/audit/events?tenant=431102", "/api/v1/audit/events.xlsx",
                "/operator/audit", "/operator/audit/export"):
        response = client.get(url)
        assert response.status_code == 403, (username, url, response.status_code)


def test_anonymous_requests_to_the_audit_log_are_refused(client):
    assert client.get("/api/v1/audit/events").status_code == 401
    assert client.get("/api/v1/audit/events.xlsx").status_code == 401
    assert client.get("/operator/audit").status_code == 302


def test_reading_every_tenants_audit_log_opens_no_other_table(login):
    auditor = login(AUDITOR)
    assert auditor.get("/api/v1/audit/events?tenant=431102").status_code == 200
    # The wide scope lasted for the audit query only: the audit administrator reads no tenant's records.
    for url in ("/api/v1/tenants/431102", "/api/v1/tenants/431102/users", "/api/v1/tenants/431102/departments",
                "/api/v1/tenants/431102/projects"):
        assert auditor.get(url).status_code == 404, url
    assert auditor.get("/api/v1/tenants").status_code == 403


def test_the_scope_is_the_actors_own_again_after_reading(app):
    from jixiao.accounts.models import User
    from jixiao.audit import log
    from jixiao.db import TenantScope, get_scope, scoped
    from jixiao.lifecycle.models import Project

    with app.app_context():
        with scoped(TenantScope(login_username=AUDITOR)) as db:
            auditor = db.scalar(sa.select(User).where(User.username == AUDITOR))
        own = TenantScope(user_id=auditor.id, platform=True)
        with scoped(own) as db:
            assert log.list_events(db, auditor, log.EventFilter(tenant="431102"), per_page=1)["total"] > 0
            assert get_scope(db) == own
            assert db.scalars(sa.select(Project).limit(1)).all() == []


def test_retention_below_six_months_refuses_to_start(monkeypatch):
    from jixiao.config import ConfigurationError, load_config

    monkeypatch.delenv("JIXIAO_AUDIT_RETENTION_DAYS", raising=False)
    assert load_config()["AUDIT_RETENTION_DAYS"] == 180
    monkeypatch.setenv("JIXIAO_AUDIT_RETENTION_DAYS", "179")
    with pytest.raises(ConfigurationError, match="at least 180"):
        load_config()
    monkeypatch.setenv("JIXIAO_AUDIT_RETENTION_DAYS", "half a year")
    with pytest.raises(ConfigurationError, match="whole number"):
        load_config()
    monkeypatch.setenv("JIXIAO_AUDIT_RETENTION_DAYS", "365")
    assert load_config()["AUDIT_RETENTION_DAYS"] == 365
    with pytest.raises(ConfigurationError):
        load_config({"AUDIT_RETENTION_DAYS": 30})


def test_purge_deletes_only_events_older_than_the_retention_and_records_itself(fresh_app, tmp_path):
    from jixiao.audit.models import AuditEvent
    from jixiao.db import create_engine, utcnow

    load(fresh_app, small_tree(tmp_path))
    owner = create_engine(fresh_app.config["MIGRATION_DATABASE_URL"])
    table = AuditEvent.__table__
    now = utcnow()
    try:
        with owner.begin() as connection:
            lingling = connection.execute(sa.text("SELECT id FROM tenants WHERE code = '431102'")).scalar()
            ids = {}
            for label, age, tenant_id in (("old", 400, lingling), ("older_platform", 181, None),
                                          ("kept", 179, lingling)):
                ids[label] = connection.execute(sa.insert(table).values(
                    tenant_id=tenant_id, actor_name="test", action=f"test.{label}", object_type="test",
                    object_id=label, at=now - timedelta(days=age)).returning(table.c.id)).scalar()
            before = set(connection.execute(sa.select(table.c.id)).scalars())
        result = fresh_app.test_cli_runner().invoke(main, ["audit", "purge"])
        assert result.exit_code == 0, result.output
        assert "deleted 2 audit events" in result.output
        with owner.connect() as connection:
            after = set(connection.execute(sa.select(table.c.id)).scalars())
            purge = connection.execute(sa.select(table.c.after, table.c.tenant_id, table.c.actor_name)
                                       .where(table.c.action == "audit.purge")).one()
    finally:
        owner.dispose()
    assert before - after == {ids["old"], ids["older_platform"]}
    assert ids["kept"] in after
    recorded = purge.after if isinstance(purge.after, dict) else json.loads(purge.after)
    assert recorded["count"] == 2 and recorded["retention_days"] == 180
    cutoff = datetime.fromisoformat(recorded["cutoff"])
    assert now - timedelta(days=181) < cutoff < now - timedelta(days=179)
    assert purge.tenant_id is None and purge.actor_name == "system"


def test_the_application_role_cannot_delete_audit_events(app, is_postgres):
    if not is_postgres:
        pytest.skip("the database's grants are PostgreSQL's; on SQLite the ORM refuses (test_audit_and_api)")
    engine = app.extensions["jixiao.db"].engine
    with engine.connect() as connection, connection.begin(), \
            pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        connection.execute(sa.text("DELETE FROM audit_events"))


def test_an_export_as_someone_else_is_refused_even_with_a_token(app, login):
    token = login("lingling_admin").post("/api/v1/auth/tokens", json={"name": "audit probe"}).get_json()["token"]
    response = app.test_client().get("/api/v1/audit/events.xlsx", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert api_login(app, AUDITOR).get("/api/v1/audit/events?actor=lingling_admin&action=token.create").status_code == 200
