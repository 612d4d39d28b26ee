"""The verified tenant context (revision 0011): forged settings see nothing, the check runs once per statement,
and the tenants table is under row-level security. PostgreSQL only, as the application role."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from jixiao import migrate, rls
from jixiao.db import TenantScope, apply_settings, create_engine, register_context_key, scoped, system_scope
from jixiao.tenancy import service as tenancy


@pytest.fixture
def pg(app, is_postgres):
    if not is_postgres:
        pytest.skip("row-level security and its verified context are PostgreSQL's; CI runs this suite on PostgreSQL")
    return app.extensions["jixiao.db"].engine


@pytest.fixture
def owner(app, pg):
    engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
    yield engine
    engine.dispose()


def tenant(app, code: str):
    with app.app_context(), system_scope() as db:
        return tenancy.get_by_code(db, code)


def owner_count(owner, table: str, tenant_id: int) -> int:
    with owner.connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"),
                                  {"t": tenant_id}).scalar()


def visible_tenant_ids(connection) -> list[int]:
    return connection.execute(sa.text("SELECT DISTINCT tenant_id FROM departments ORDER BY 1")).scalars().all()


# ---- The signature ---------------------------------------------------------------------------------------------


def test_every_setting_is_signed_and_no_two_contexts_encode_alike():
    key = rls.context_key({"SECRET_KEY": "test-secret"})
    base = TenantScope(read_ids=(1, 2), write_id=1, user_id=7, login_username="ab", token_hash="c")
    settings = base.settings(key)
    assert sorted(settings) == sorted([*rls.SIGNED_SETTINGS, rls.MAC_SETTING])
    # Moving a character from one setting to the next changes what is signed.
    shifted = base.with_(login_username="a", token_hash="bc").settings(key)
    assert shifted[rls.MAC_SETTING] != settings[rls.MAC_SETTING]
    variants = [base.with_(read_ids=(1, 2, 3)), base.with_(write_id=2), base.with_(user_id=8),
                base.with_(tenant_code="430903"), base.with_(platform=True)]
    macs = {v.settings(key)[rls.MAC_SETTING] for v in variants}
    assert len(macs) == len(variants) and settings[rls.MAC_SETTING] not in macs


def test_the_key_follows_the_context_key_when_set_and_the_secret_key_otherwise():
    from_secret = rls.context_key({"SECRET_KEY": "s1"})
    assert rls.context_key({"SECRET_KEY": "s2"}) != from_secret
    assert rls.context_key({"SECRET_KEY": "s1", "CONTEXT_KEY": "k"}) == rls.context_key({"SECRET_KEY": "s2",
                                                                                          "CONTEXT_KEY": "k"})
    assert rls.context_key({"SECRET_KEY": "s1", "CONTEXT_KEY": "k"}) != from_secret


# ---- Forged and altered contexts ------------------------------------------------------------------------------


def test_a_context_set_without_the_signature_sees_nothing(app, pg, owner):
    lingling = tenant(app, "431102")
    assert owner_count(owner, "departments", lingling.id) > 0
    with pg.begin() as connection:
        connection.execute(sa.text("SELECT set_config('jixiao.tenant_ids', :ids, true), "
                                   "set_config('jixiao.platform', 'on', true)"), {"ids": str(lingling.id)})
        assert visible_tenant_ids(connection) == []
        assert connection.execute(sa.text("SELECT count(*) FROM tenants")).scalar() == 0


def test_another_tenants_id_under_an_old_signature_sees_nothing(app, pg, owner):
    lingling, heshan = tenant(app, "431102"), tenant(app, "430903")
    assert owner_count(owner, "departments", heshan.id) > 0
    with pg.begin() as connection:
        apply_settings(connection, TenantScope(read_ids=(lingling.id,), write_id=lingling.id))
        assert visible_tenant_ids(connection) == [lingling.id]
        # The MAC of lingling's context stays; only the readable ids are swapped for heshan's.
        connection.execute(sa.text("SELECT set_config('jixiao.tenant_ids', :ids, true)"), {"ids": str(heshan.id)})
        assert visible_tenant_ids(connection) == []


def test_a_signature_copied_from_another_transaction_does_not_verify_a_wider_context(app, pg):
    lingling, heshan = tenant(app, "431102"), tenant(app, "430903")
    with pg.begin() as connection:
        apply_settings(connection, TenantScope(read_ids=(lingling.id,)))
        lingling_mac = connection.execute(sa.text("SELECT current_setting('jixiao.context_mac')")).scalar()
    with pg.begin() as connection:
        connection.execute(sa.text("SELECT set_config('jixiao.tenant_ids', :ids, true), "
                                   "set_config('jixiao.context_mac', :mac, true)"),
                           {"ids": f"{lingling.id},{heshan.id}", "mac": lingling_mac})
        assert visible_tenant_ids(connection) == []


def test_an_injected_set_config_in_a_scoped_request_transaction_cannot_widen_it(app, pg):
    lingling = tenant(app, "431102")
    with app.app_context(), system_scope() as db:
        every = ",".join(str(i) for i in db.scalars(sa.text("SELECT id FROM tenants")))
    with app.app_context(), scoped(TenantScope(read_ids=(lingling.id,), write_id=lingling.id)) as db:
        before = db.execute(sa.text("SELECT DISTINCT tenant_id FROM departments")).scalars().all()
        # What a SQL injection in this request could send: widen the readable tenants, claim the platform.
        db.execute(sa.text("SELECT set_config('jixiao.tenant_ids', :ids, true), "
                           "set_config('jixiao.platform', 'on', true)"), {"ids": every})
        after = db.execute(sa.text("SELECT DISTINCT tenant_id FROM departments")).scalars().all()
        tenants_after = db.execute(sa.text("SELECT count(*) FROM tenants")).scalar()
        db.rollback()
    assert before == [lingling.id]
    assert after == []
    assert tenants_after == 0


def test_a_forged_write_tenant_cannot_insert_into_it(app, pg):
    lingling, heshan = tenant(app, "431102"), tenant(app, "430903")
    with pg.connect() as connection, connection.begin():
        apply_settings(connection, TenantScope(read_ids=(lingling.id,), write_id=lingling.id))
        connection.execute(sa.text("SELECT set_config('jixiao.write_tenant_id', :w, true)"), {"w": str(heshan.id)})
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            connection.execute(sa.text(
                "INSERT INTO departments (tenant_id, code, name, active, version, created_at, updated_at) "
                "VALUES (:t, 'RLS-F', 'forged', true, 1, now(), now())"), {"t": heshan.id})


def test_the_key_is_out_of_the_application_roles_reach(pg):
    with pg.connect() as connection, connection.begin(), pytest.raises(sa.exc.ProgrammingError,
                                                                       match="permission denied"):
        connection.execute(sa.text(f"SELECT key FROM {rls.PRIVATE_SCHEMA}.context_key"))


def test_an_engine_without_the_key_sees_nothing_and_db_upgrade_puts_a_new_key_in_step(app, pg, owner, tmp_path):
    """Rotation: another secret signs contexts the database refuses until `jixiao db upgrade` stores its key."""
    from jixiao.testing import make_app

    lingling = tenant(app, "431102")
    database = type("Database", (), {"app_url": app.config["DATABASE_URL"],
                                     "owner_url": app.config["MIGRATION_DATABASE_URL"]})
    rotated = make_app(database, tmp_path, SECRET_KEY="rotated-secret")
    rotated_engine = rotated.extensions["jixiao.db"].engine
    scope = TenantScope(read_ids=(lingling.id,))
    try:
        with rotated_engine.begin() as connection:
            apply_settings(connection, scope)
            assert visible_tenant_ids(connection) == []
        migrate.upgrade(rotated.config)
        with rotated_engine.begin() as connection:
            apply_settings(connection, scope)
            assert visible_tenant_ids(connection) == [lingling.id]
        with pg.begin() as connection:
            apply_settings(connection, scope)
            assert visible_tenant_ids(connection) == []
    finally:
        migrate.store_context_key(app.config)
        rotated_engine.dispose()
    with pg.begin() as connection:
        apply_settings(connection, scope)
        assert visible_tenant_ids(connection) == [lingling.id]


# ---- Once per statement ----------------------------------------------------------------------------------------


def test_the_policy_check_is_an_initplan_not_a_call_per_row(app, pg):
    hunan = tenant(app, "430000")
    with app.app_context(), system_scope() as db:
        province = tuple(tenancy.subtree_ids(db, hunan))
    with pg.begin() as connection:
        apply_settings(connection, TenantScope(read_ids=province))
        plan = connection.execute(sa.text("EXPLAIN (VERBOSE) SELECT count(*) FROM departments")).scalars().all()
    initplans = [line for line in plan if "InitPlan" in line]
    conditions = [line for line in plan if "Filter:" in line or "Cond:" in line]
    assert initplans, plan
    assert conditions, plan
    assert [line for line in conditions if "jixiao_context" in line] == []


def test_the_verifying_function_runs_once_for_a_statement_over_many_rows(app, pg, owner):
    hunan = tenant(app, "430000")
    with app.app_context(), system_scope() as db:
        province = tuple(tenancy.subtree_ids(db, hunan))
    database = sa.engine.make_url(app.config["DATABASE_URL"]).database
    with owner.connect() as connection:
        connection.execute(sa.text(f'ALTER ROLE {app.config["DB_APP_ROLE"]} IN DATABASE "{database}" '
                                   "SET track_functions = 'all'"))
        connection.commit()
    engine = create_engine(app.config["DATABASE_URL"])
    register_context_key(engine, rls.context_key(app.config))
    try:
        with engine.begin() as connection:
            apply_settings(connection, TenantScope(read_ids=province))
            rows = connection.execute(sa.text("SELECT count(*) FROM departments")).scalar()
            calls = connection.execute(sa.text(
                "SELECT calls FROM pg_stat_xact_user_functions WHERE funcname = 'jixiao_context_read_ids'")).scalar()
    finally:
        engine.dispose()
        with owner.connect() as connection:
            connection.execute(sa.text(f'ALTER ROLE {app.config["DB_APP_ROLE"]} IN DATABASE "{database}" '
                                       "RESET track_functions"))
            connection.commit()
    assert rows > 1
    assert calls == 1


# ---- The tenants table -----------------------------------------------------------------------------------------


def codes_seen(connection) -> list[str]:
    return connection.execute(sa.text("SELECT code FROM tenants ORDER BY code")).scalars().all()


def test_a_tenant_context_reads_its_tenants_and_their_ancestors_only(app, pg):
    lingling = tenant(app, "431102")
    with pg.begin() as connection:
        assert codes_seen(connection) == []
        apply_settings(connection, TenantScope(read_ids=(lingling.id,)))
        assert codes_seen(connection) == sorted([*lingling.ancestor_codes, lingling.code])


def test_the_principal_sees_its_own_subtree_and_ancestors_before_its_scope_is_known(app, pg):
    yongzhou = tenant(app, "431100")
    with app.app_context(), system_scope() as db:
        subtree = [t.code for t in db.scalars(sa.select(tenancy.Tenant).where(
            tenancy.Tenant.path.startswith(yongzhou.path)))]
    with pg.begin() as connection:
        apply_settings(connection, TenantScope(login_username="yongzhou_finance"))
        assert codes_seen(connection) == sorted([*yongzhou.ancestor_codes, *subtree])


def test_a_public_page_context_reads_the_tenant_it_names(app, pg, client):
    heshan = tenant(app, "430903")
    with pg.begin() as connection:
        apply_settings(connection, TenantScope(tenant_code=heshan.code))
        assert codes_seen(connection) == sorted([*heshan.ancestor_codes, heshan.code])
    assert client.get(f"/api/v1/public/{heshan.code}/targets").status_code == 200
    assert client.get("/api/v1/public/999999/targets").status_code == 404


def test_the_app_role_cannot_change_another_tenants_settings(app, pg, owner):
    lingling, heshan = tenant(app, "431102"), tenant(app, "430903")
    forged = json.dumps({"monitoring.months": [1]})
    with pg.connect() as connection, connection.begin():
        apply_settings(connection, TenantScope(read_ids=(lingling.id,), write_id=lingling.id))
        changed = connection.execute(sa.text("UPDATE tenants SET settings = :s WHERE id = :t"),
                                     {"s": forged, "t": heshan.id}).rowcount
    assert changed == 0
    with owner.connect() as connection:
        stored = connection.execute(sa.text("SELECT settings FROM tenants WHERE id = :t"), {"t": heshan.id}).scalar()
    assert stored == heshan.settings


def test_a_bureaus_own_context_cannot_rewrite_its_own_row_either(app, pg, owner):
    # The row holds the tree every scope is computed from: a county that could set its own path to its
    # province's would read the whole province.
    lingling = tenant(app, "431102")
    province_path = "/" + lingling.path.strip("/").split("/")[0] + "/"
    with pg.connect() as connection, connection.begin():
        apply_settings(connection, TenantScope(read_ids=(lingling.id,), write_id=lingling.id))
        changed = connection.execute(sa.text("UPDATE tenants SET path = :p, settings = '{}' WHERE id = :t"),
                                     {"p": province_path, "t": lingling.id}).rowcount
    assert changed == 0
    with owner.connect() as connection:
        stored = connection.execute(sa.text("SELECT path FROM tenants WHERE id = :t"), {"t": lingling.id}).scalar()
    assert stored == lingling.path


def test_the_app_role_cannot_create_a_tenant_outside_the_platform_context(app, pg):
    lingling = tenant(app, "431102")
    with pg.connect() as connection, connection.begin():
        apply_settings(connection, TenantScope(read_ids=(lingling.id,), write_id=lingling.id))
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            connection.execute(sa.text(
                "INSERT INTO tenants (code, name, level, division_type, parent_id, path, plugins, settings, active, "
                "created_at, updated_at) VALUES ('431199', 'x', 'county', '区', :p, :path, '[]', '{}', true, "
                "now(), now())"), {"p": lingling.parent_id, "path": lingling.path.replace("431102", "431199")})


def test_the_loader_context_still_writes_tenants(app, pg, owner):
    heshan = tenant(app, "430903")
    before = dict(heshan.settings or {})
    try:
        with app.app_context(), system_scope() as db:
            row = tenancy.get_by_code(db, heshan.code)
            row.settings = {**before, "rls.check": "loader"}
            db.commit()
        with owner.connect() as connection:
            stored = connection.execute(sa.text("SELECT settings FROM tenants WHERE id = :t"),
                                        {"t": heshan.id}).scalar()
        assert stored == {**before, "rls.check": "loader"}
    finally:
        with app.app_context(), system_scope() as db:
            tenancy.get_by_code(db, heshan.code).settings = before
            db.commit()


def test_a_tenants_own_administrator_still_changes_its_own_settings(app, pg, login):
    before = dict(tenant(app, "431102").settings or {})
    admin = login("lingling_admin")
    try:
        response = admin.patch("/api/v1/tenants/431102/settings", json={"settings": {"documents.number_prefix": "零财"}})
        assert response.status_code == 200, response.get_json()
        assert tenant(app, "431102").settings == {**before, "documents.number_prefix": "零财"}
    finally:
        with app.app_context(), system_scope() as db:
            tenancy.get_by_code(db, "431102").settings = before
            db.commit()


# ---- The functions' cost and their answers (revision 0024) ------------------------------------------------------


def context_functions(owner) -> dict[str, str]:
    with owner.connect() as connection:
        return dict(connection.execute(sa.text(
            "SELECT p.proname, l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
            "WHERE p.proname = 'context_verified' OR p.proname LIKE 'jixiao_context_%'")).all())


def test_the_context_functions_keep_their_plans_for_the_session(pg, owner):
    """A ``LANGUAGE sql`` function with ``SET search_path`` is parsed and planned again on every call: 0.3 ms an
    InitPlan, 2–3 ms for the tenants' on a province, paid by every statement. PL/pgSQL keeps its plans."""
    assert context_functions(owner) == {
        "context_verified": "plpgsql", "jixiao_context_read_ids": "plpgsql", "jixiao_context_write_id": "plpgsql",
        "jixiao_context_platform": "plpgsql", "jixiao_context_setting": "plpgsql",
        "jixiao_context_tenant_ids": "plpgsql"}


def revision_0011_tenant_ids_query(owner) -> str:
    """The body of 0011's ``jixiao_context_tenant_ids()``, to run as a plain query beside the function."""
    from alembic.script import ScriptDirectory

    module = ScriptDirectory(str(migrate.MIGRATIONS)).get_revision("0011").module
    with owner.connect() as connection:
        schema = connection.execute(sa.text(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pgcrypto'")).scalar()
    sql = module.verified_functions_sql(schema)
    start = sql.index("public.jixiao_context_tenant_ids()")
    body = sql[sql.index("AS $$", start) + len("AS $$"):sql.index("$$;", start)]
    return body.replace("'{}'", "'{}'::integer[]")


def test_the_tenants_visible_are_those_revision_0011_computed_for_every_kind_of_context(app, pg, owner):
    key = rls.context_key(app.config)
    yongzhou, lingling, hunan = tenant(app, "431100"), tenant(app, "431102"), tenant(app, "430000")
    token_hash = "e" * 64
    with owner.begin() as connection:
        finance_id, finance_tenant_id = connection.execute(sa.text(
            "SELECT id, tenant_id FROM users WHERE username = 'yongzhou_finance'")).one()
        connection.execute(sa.text("INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, prefix, created_at, updated_at) "
                                   "VALUES (:t, :u, 'rls-equivalence', :h, 'jx_rls-eq', now(), now())"),
                           {"t": finance_tenant_id, "u": finance_id, "h": token_hash})
    with app.app_context(), system_scope() as db:
        province = tuple(tenancy.subtree_ids(db, hunan))
    contexts = {
        "a county's request": TenantScope(read_ids=(lingling.id,), write_id=lingling.id, user_id=finance_id),
        "the province's request": TenantScope(read_ids=province, write_id=hunan.id),
        "a login": TenantScope(login_username="yongzhou_finance"),
        "a bearer token": TenantScope(token_hash=token_hash),
        "the session's user loader": TenantScope(user_id=finance_id),
        "a public page": TenantScope(tenant_code=yongzhou.code),
        "an unknown principal": TenantScope(login_username="nobody-at-all", token_hash="0" * 64),
        "no context": TenantScope(),
    }
    reference = revision_0011_tenant_ids_query(owner)
    for label, scope in contexts.items():
        settings = scope.settings(key)
        with owner.begin() as connection:
            connection.execute(sa.text("SELECT " + ", ".join(f"set_config('{n}', :v{i}, true)"
                                                              for i, n in enumerate(settings))),
                               {f"v{i}": v for i, v in enumerate(settings.values())})
            now = sorted(connection.execute(sa.text("SELECT jixiao_context_tenant_ids()")).scalar())
            before = sorted(connection.execute(sa.text(reference)).scalar())
        assert now == before, label
        assert (len(now) > 0) == (label not in {"an unknown principal", "no context"}), label


def test_reading_a_readable_bureau_s_row_does_not_compute_the_wider_tenant_set(app, pg, owner):
    """The tenants read policy admits the readable tenants before it asks ``jixiao_context_tenant_ids()`` (the
    ancestors and the principal's subtree): a request reading its own bureau's row never computes that set, and one
    reading its ancestor still does, once."""
    lingling = tenant(app, "431102")
    database = sa.engine.make_url(app.config["DATABASE_URL"]).database
    role = app.config["DB_APP_ROLE"]
    with owner.connect() as connection:
        connection.execute(sa.text(f'ALTER ROLE {role} IN DATABASE "{database}" SET track_functions = \'all\''))
        connection.commit()
    engine = create_engine(app.config["DATABASE_URL"])
    register_context_key(engine, rls.context_key(app.config))
    calls = {}
    try:
        for label, code in (("own", lingling.code), ("ancestor", lingling.ancestor_codes[0])):
            with engine.begin() as connection:
                apply_settings(connection, TenantScope(read_ids=(lingling.id,), write_id=lingling.id))
                found = connection.execute(sa.text("SELECT code FROM tenants WHERE code = :c"), {"c": code}).scalar()
                assert found == code
                calls[label] = connection.execute(sa.text(
                    "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions "
                    "WHERE funcname = 'jixiao_context_tenant_ids'")).scalar()
    finally:
        engine.dispose()
        with owner.connect() as connection:
            connection.execute(sa.text(f'ALTER ROLE {role} IN DATABASE "{database}" RESET track_functions'))
            connection.commit()
    assert calls == {"own": 0, "ancestor": 1}
