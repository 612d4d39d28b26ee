"""Row-level security cannot be forgotten: every table with a tenant_id column is under forced row-level security
with a policy, `jixiao db upgrade` refuses a schema where one is not, and the SQLite run checks the same rule
against the tables the migrations list (docs/security.md, "Row-level security cannot be forgotten")."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from jixiao import migrate, rls
from jixiao.db import create_engine
from jixiao.testing import APP_ROLE, create_test_database, drop_test_database


def scripts(location: Path = migrate.MIGRATIONS) -> ScriptDirectory:
    return ScriptDirectory(str(location))


def declared_tables() -> set[str]:
    return {table for revision in scripts().walk_revisions() for table in getattr(revision.module, "RLS_TABLES", ())}


# ---- On every run, SQLite included -------------------------------------------------------------------------


def test_every_mapped_tenant_table_is_listed_by_a_migration():
    """A new model with a tenant_id and a migration that does not protect its table fails here, on SQLite too."""
    assert "projects" in migrate.tenant_tables()
    assert set(migrate.tenant_tables()) - declared_tables() == set()


def test_the_sqlite_check_reports_a_tenant_table_no_migration_lists(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'probe.sqlite3'}")
    try:
        with engine.begin() as connection:
            for table in ("listed", "forgotten"):
                connection.exec_driver_sql(f"CREATE TABLE {table} (id integer PRIMARY KEY, tenant_id integer)")
            connection.exec_driver_sql("CREATE TABLE platform_only (id integer PRIMARY KEY)")
            missing = rls.unprotected_tables(connection, declared={"listed"}, mapped={"listed", "model_only"})
    finally:
        engine.dispose()
    assert missing == {"forgotten": "in no applied revision's RLS_TABLES",
                       "model_only": "in no applied revision's RLS_TABLES"}
    assert "forgotten (in no applied revision's RLS_TABLES)" in str(rls.UnprotectedTables(missing))


def test_the_app_signs_what_the_newest_verifying_revision_verifies():
    """Each revision writing jixiao_private.context_verified() carries a frozen copy of the signing rule for its
    SQL (0011 first, 0024 now); the app's live rule must match the newest of them, or no context verifies."""
    verifying = [revision.module for revision in scripts().walk_revisions()
                 if hasattr(revision.module, "SIGNED_SETTINGS")]
    newest = verifying[0]  # walk_revisions goes from the head down
    assert newest.revision == "0024"
    assert (newest.SIGNED_SETTINGS, newest.MAC_SETTING, newest.PAYLOAD_PREFIX, newest.PRIVATE_SCHEMA) == (
        rls.SIGNED_SETTINGS, rls.MAC_SETTING, rls.PAYLOAD_PREFIX, rls.PRIVATE_SCHEMA)


PROBE = '''
"""probe: a tenant-owned table ({kind})"""
from alembic import op
import sqlalchemy as sa

revision = "probe"
down_revision = "{head}"
branch_labels = None
depends_on = None
{declaration}

def upgrade() -> None:
    op.create_table("rls_probe", sa.Column("id", sa.Integer, primary_key=True), sa.Column("tenant_id", sa.Integer))
    if op.get_bind().dialect.name == "postgresql" and {protected}:
        op.execute("ALTER TABLE rls_probe ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE rls_probe FORCE ROW LEVEL SECURITY")
        op.execute("CREATE POLICY rls_probe_read ON rls_probe FOR SELECT "
                   "USING (tenant_id = ANY ((SELECT jixiao_context_read_ids())::integer[]))")


def downgrade() -> None:
    op.drop_table("rls_probe")
'''


@pytest.fixture
def probe(tmp_path):
    """The real migrations and one more revision on top, on a new database migrated to the real head."""
    location = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    head = scripts().get_current_head()
    database = create_test_database(tmp_path)
    config = {"MIGRATION_DATABASE_URL": database.owner_url, "DB_APP_ROLE": APP_ROLE, "SECRET_KEY": "test-secret",
              "MIGRATIONS_PATH": str(location)}
    migrate.upgrade(config, head)

    def add(kind: str, *, declared: bool, protected: bool) -> None:
        declaration = 'RLS_TABLES = ["rls_probe"]' if declared else ""
        (location / "versions" / "9999_probe.py").write_text(textwrap.dedent(PROBE.format(
            kind=kind, head=head, declaration=declaration, protected=protected)))

    yield SimpleNamespace(add=add, config=config, database=database, head=head)
    drop_test_database(database)


def test_an_upgrade_adding_a_tenant_table_without_row_level_security_is_refused(probe):
    probe.add("forgotten", declared=False, protected=False)
    config = probe.config
    with pytest.raises(rls.UnprotectedTables, match=r"rls_probe \(") as refused:
        migrate.upgrade(config)
    if probe.database.kind == "postgresql":
        assert refused.value.missing == {"rls_probe": "not enabled, not forced, no policy"}
        # The check runs in the upgrade's transaction: the refused revision is not committed.
        assert migrate.current(config) == probe.head
        engine = create_engine(probe.database.owner_url)
        try:
            with engine.connect() as connection:
                assert not sa.inspect(connection).has_table("rls_probe")
        finally:
            engine.dispose()
    else:
        # (SQLite's driver commits DDL outside a transaction: the table stays, the revision is not recorded.)
        assert refused.value.missing == {"rls_probe": "in no applied revision's RLS_TABLES"}


def test_the_check_runs_on_every_upgrade_even_with_nothing_to_apply(probe):
    engine = create_engine(probe.database.owner_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE rls_by_hand (id integer PRIMARY KEY, tenant_id integer)")
    finally:
        engine.dispose()
    with pytest.raises(rls.UnprotectedTables, match=r"rls_by_hand \("):
        migrate.upgrade(probe.config)
    assert migrate.current(probe.config) == probe.head


def test_an_upgrade_adding_a_protected_tenant_table_passes(probe):
    probe.add("protected", declared=True, protected=True)
    migrate.upgrade(probe.config)
    assert migrate.current(probe.config) == "probe"


# ---- PostgreSQL: the catalog itself --------------------------------------------------------------------------


@pytest.fixture
def owner(app, is_postgres):
    if not is_postgres:
        pytest.skip("row-level security is PostgreSQL's; CI runs this suite on PostgreSQL")
    engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
    yield engine
    engine.dispose()


def test_every_table_with_a_tenant_id_has_forced_row_level_security_and_a_policy(owner):
    """Straight from the catalog, whatever the models say: a table only a migration knows counts too."""
    with owner.connect() as connection:
        rows = connection.execute(sa.text("""
            SELECT c.table_name, k.relrowsecurity, k.relforcerowsecurity,
                   (SELECT count(*) FROM pg_policies p WHERE p.schemaname = c.table_schema
                                                         AND p.tablename = c.table_name)
            FROM information_schema.columns c
            JOIN information_schema.tables t USING (table_schema, table_name)
            JOIN pg_namespace n ON n.nspname = c.table_schema
            JOIN pg_class k ON k.relnamespace = n.oid AND k.relname = c.table_name
            WHERE c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
              AND c.table_schema NOT IN ('pg_catalog', 'information_schema')""")).all()
        assert rls.unprotected_tables(connection) == {}
    assert set(migrate.tenant_tables()) <= {table for table, *_ in rows}
    assert [(table, enabled, forced) for table, enabled, forced, policies in rows
            if not (enabled and forced and policies)] == []


def test_the_checker_reports_each_missing_part_of_row_level_security(owner):
    """A throwaway table in the migrated database, in a transaction that is rolled back."""
    with owner.connect() as connection, connection.begin() as transaction:
        connection.exec_driver_sql("CREATE TABLE rls_throwaway (id integer PRIMARY KEY, tenant_id integer)")
        connection.exec_driver_sql("CREATE TABLE rls_no_tenant (id integer PRIMARY KEY)")
        assert rls.unprotected_tables(connection) == {"rls_throwaway": "not enabled, not forced, no policy"}
        connection.exec_driver_sql("ALTER TABLE rls_throwaway ENABLE ROW LEVEL SECURITY")
        assert rls.unprotected_tables(connection) == {"rls_throwaway": "not forced, no policy"}
        connection.exec_driver_sql("ALTER TABLE rls_throwaway FORCE ROW LEVEL SECURITY")
        assert rls.unprotected_tables(connection) == {"rls_throwaway": "no policy"}
        connection.exec_driver_sql("CREATE POLICY rls_throwaway_read ON rls_throwaway FOR SELECT USING (false)")
        assert rls.unprotected_tables(connection) == {}
        connection.exec_driver_sql("ALTER TABLE rls_throwaway NO FORCE ROW LEVEL SECURITY")
        connection.exec_driver_sql("CREATE SCHEMA rls_elsewhere")
        connection.exec_driver_sql("CREATE TABLE rls_elsewhere.t (tenant_id integer)")
        assert rls.unprotected_tables(connection) == {"rls_throwaway": "not forced",
                                                      "rls_elsewhere.t": "not enabled, not forced, no policy"}
        transaction.rollback()
