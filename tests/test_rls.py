"""Wall two: PostgreSQL row-level security, checked with raw SQL as the application's role."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import jixiao.models  # noqa: F401 - every table on the metadata
from jixiao.db import Base, TenantScope, apply_settings
from jixiao.testing import api_login

TENANT_TABLES = sorted(t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c)


@pytest.fixture
def pg(app, is_postgres):
    if not is_postgres:
        pytest.skip("row-level security is PostgreSQL's; CI runs this suite on PostgreSQL")
    return app.extensions["jixiao.db"].engine


def tenant_id(app, code: str) -> int:
    from jixiao.db import system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context(), system_scope() as db:
        return tenancy.get_by_code(db, code).id


def test_every_tenant_owned_table_is_covered():
    assert {"departments", "users", "api_tokens", "audit_events"} <= set(TENANT_TABLES)


def test_app_role_is_not_owner_nor_superuser(pg):
    with pg.connect() as connection:
        role, superuser, bypass = connection.execute(sa.text(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
        owners = set(connection.execute(sa.text(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")).scalars())
    assert not superuser and not bypass
    assert role not in owners


def test_row_level_security_is_forced_on_every_tenant_owned_table(pg):
    with pg.connect() as connection:
        flags = dict(connection.execute(sa.text(
            "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = ANY(:t)"),
            {"t": TENANT_TABLES}).all())
    assert flags == {t: True for t in TENANT_TABLES}


@pytest.fixture
def rows_everywhere(app, pg):
    """Rows in at least two tenants in every tenant-owned table, made through the product's own paths."""
    from datetime import date, timedelta

    from jixiao.cli import main
    from jixiao.db import TenantScope, scoped
    from jixiao.documents.store import save_document
    from tests.test_audit_and_api import make_app_like
    from tests.test_email_channel import ChannelPlugin, RecordingChannel

    # A channel beyond the bell, so the notifications the campaigns below write are delivered (and recorded).
    embedded = make_app_like(app, REDIS_URL=None, EXTRA_PLUGINS=[("rls_channel", ChannelPlugin(RecordingChannel()))])
    for username in ("lingling_admin", "heshan_finance"):
        user = api_login(embedded, username)
        user.post("/api/v1/auth/tokens", json={"name": "rls"})
        assert user.post("/api/v1/jobs", json={"kind": "system.selfcheck", "args": {"steps": 1}}).status_code == 202
    assert embedded.test_cli_runner().invoke(main, ["jobs", "run", "scan.daily"]).exit_code == 0
    with embedded.app_context():
        for code in ("431102", "430903"):
            tid = tenant_id(embedded, code)
            with scoped(TenantScope(read_ids=(tid,), write_id=tid)) as db:
                save_document(db, tenant_id=tid, kind="export", owner_type="tenants", owner_id=tid, title="rls",
                              filename="rls.txt", content_type="text/plain", data=f"rls {code}".encode())
                db.commit()
    deadline = (date.today() + timedelta(days=10)).isoformat()
    for username, code, scheme in (("hunan_admin", "430000", "hunan-province-counties"),
                                   ("hengyang_finance", "430400", "hunan-city-counties")):
        assessor = api_login(embedded, username)
        created = assessor.post(f"/api/v1/tenants/{code}/assessments", json={"year": 2026, "scheme": scheme,
                                                                            "deadline": deadline})
        assert created.status_code == 201, created.get_json()
        job = assessor.post(f"/api/v1/tenants/{code}/assessments/{created.get_json()['id']}/finalize",
                            json={"force": True, "reason": "测试提前汇总",
                                  "version": created.get_json()["version"]}).get_json()
        assert job["status"] == "succeeded", job
        if code == "430000":
            # Two counties appeal their provisional result, each in its own tenant.
            for county, county_user in (("431102", "lingling_finance"), ("430903", "heshan_finance")):
                appealed = api_login(embedded, county_user).post(
                    f"/api/v1/tenants/{county}/assessment-results/{created.get_json()['id']}/appeals",
                    json={"indicator": "E1", "text": "制度建设材料已报送"},
                    headers={"Idempotency-Key": "rls-appeal"})  # a kept answer in each tenant's idempotency_keys
                assert appealed.status_code == 201, appealed.get_json()
    for username, code in (("lingling_finance", "431102"), ("heshan_finance", "430903")):
        # An expert in each county's pool, and a reviewer draw for one of its draft projects.
        finance, base = api_login(embedded, username), f"/api/v1/tenants/{code}"
        expert = finance.post(f"{base}/experts", json={"name": "行级安全专家", "expertise": ["行级安全"]})
        assert expert.status_code == 201, expert.get_json()
        draft = finance.get(f"{base}/projects?stage=draft&per_page=1").get_json()["items"][0]
        drawn = finance.post(f"{base}/projects/{draft['id']}/expert-draws", json={"field": "行级安全", "count": 1})
        assert drawn.status_code == 201, drawn.get_json()
        # A plan of key evaluations in each (a year no other test plans, so no statistics see it).
        planned = finance.put(f"{base}/evaluation-plans/2098", json={"lines": [
            {"project_kind": "project", "performer": "finance_team", "planned_count": 1}]})
        assert planned.status_code in (200, 201), planned.get_json()
    return embedded


def test_raw_select_without_tenant_sees_nothing_and_with_one_tenant_only_its_rows(app, pg, rows_everywhere):
    owner = sa.create_engine(app.config["MIGRATION_DATABASE_URL"])
    try:
        with owner.connect() as connection:
            tenants_of = {t: connection.execute(sa.text(
                f"SELECT tenant_id, count(*) FROM {t} WHERE tenant_id IS NOT NULL GROUP BY tenant_id "
                "ORDER BY count(*) DESC, tenant_id")).all() for t in TENANT_TABLES}
    finally:
        owner.dispose()
    assert {t: len(rows) for t, rows in tenants_of.items() if len(rows) < 2} == {}

    with pg.connect() as connection:
        for table in TENANT_TABLES:
            assert connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
    for table, rows in tenants_of.items():
        chosen = rows[0][0]
        with pg.begin() as connection:
            apply_settings(connection, TenantScope(read_ids=(chosen,)))
            seen = connection.execute(sa.text(f"SELECT DISTINCT tenant_id FROM {table}")).scalars().all()
        assert seen == [chosen], (table, seen)


def test_a_setting_does_not_leak_into_the_next_transaction(app, pg):
    lingling = tenant_id(app, "431102")
    with pg.connect() as connection:
        with connection.begin():
            apply_settings(connection, TenantScope(read_ids=(lingling,)))
            assert connection.execute(sa.text("SELECT count(*) FROM departments")).scalar() > 0
        with connection.begin():
            assert connection.execute(sa.text("SELECT count(*) FROM departments")).scalar() == 0


def test_cross_tenant_insert_is_refused_by_the_database(app, pg):
    lingling, heshan = tenant_id(app, "431102"), tenant_id(app, "430903")
    with pg.connect() as connection, connection.begin():
        apply_settings(connection, TenantScope(read_ids=(lingling, heshan), write_id=lingling))
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            connection.execute(sa.text(
                "INSERT INTO departments (tenant_id, code, name, active, version, created_at, updated_at) "
                "VALUES (:t, 'RLS-X', 'x', true, 1, now(), now())"), {"t": heshan})


def test_audit_events_cannot_be_changed_by_the_app_role(pg):
    with pg.connect() as connection, connection.begin(), pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        connection.execute(sa.text("UPDATE audit_events SET action = 'x'"))
