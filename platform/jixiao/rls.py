"""PostgreSQL row-level security: the second wall, written by migrations.

Policies read transaction-local settings that :class:`jixiao.db.TenantScope` writes in ``after_begin``:
``jixiao.tenant_ids`` (readable tenants), ``jixiao.write_tenant_id`` (the one writable tenant),
``jixiao.user_id``, ``jixiao.login_username``, ``jixiao.token_hash`` (authentication finding its principal)
and ``jixiao.platform`` (platform rows without a tenant). An unset setting reads ``''``, which ``NULLIF``
turns into NULL, so an unscoped connection sees nothing (fails closed).

A migration adding a tenant-owned table calls :func:`protect` for it; a test checks that every table with
a ``tenant_id`` column has row-level security forced.
"""

from __future__ import annotations

from alembic import op

FUNCTIONS = """
CREATE OR REPLACE FUNCTION jixiao_readable(tid integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT tid = ANY (string_to_array(NULLIF(current_setting('jixiao.tenant_ids', true), ''), ',')::integer[])
$$;
CREATE OR REPLACE FUNCTION jixiao_writable(tid integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT tid = NULLIF(current_setting('jixiao.write_tenant_id', true), '')::integer
$$;
CREATE OR REPLACE FUNCTION jixiao_platform_row(tid integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT tid IS NULL AND current_setting('jixiao.platform', true) = 'on'
$$;
CREATE OR REPLACE FUNCTION jixiao_setting(name text) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT NULLIF(current_setting(name, true), '')
$$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS jixiao_readable(integer);
DROP FUNCTION IF EXISTS jixiao_writable(integer);
DROP FUNCTION IF EXISTS jixiao_platform_row(integer);
DROP FUNCTION IF EXISTS jixiao_setting(text);
"""


def is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def install_functions() -> None:
    if is_postgres():
        op.execute(FUNCTIONS)


def protect(table: str, *, read_extra: str = "", write_extra: str = "", append_only: bool = False) -> None:
    """Force row-level security on ``table``: read the readable tenants, write only the writable one.

    ``read_extra`` / ``write_extra`` are SQL alternatives OR-ed into the read / write conditions (for the
    tables authentication must reach before a tenant is known). ``append_only`` allows no UPDATE or DELETE.
    """
    if not is_postgres():
        return
    read = f"jixiao_readable(tenant_id) OR jixiao_platform_row(tenant_id){' OR ' + read_extra if read_extra else ''}"
    write = f"jixiao_writable(tenant_id) OR jixiao_platform_row(tenant_id){' OR ' + write_extra if write_extra else ''}"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING ({read})")
    op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({write})")
    if not append_only:
        op.execute(f"CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({write}) WITH CHECK ({write})")
        op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({write})")


def unprotect(table: str) -> None:
    if not is_postgres():
        return
    for action in ("read", "insert", "update", "delete"):
        op.execute(f"DROP POLICY IF EXISTS {table}_{action} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def grant_app_role(role: str) -> None:
    """Let the application role use the tables (not own them): now and for tables created later."""
    if not is_postgres():
        return
    exists = op.get_bind().exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).scalar()
    if not exists:
        # The role is created by the operator (docs/operations.md); without it, grants are postponed.
        op.execute(f"DO $$ BEGIN RAISE NOTICE 'role {role} does not exist: no grants'; END $$")
        return
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}")
    op.execute(f"REVOKE ALL ON alembic_version FROM {role}")
    op.execute(f"GRANT SELECT ON alembic_version TO {role}")


def append_only(table: str, role: str) -> None:
    """The application may add rows to ``table`` but never change or remove them."""
    if is_postgres() and op.get_bind().exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).scalar():
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}")
