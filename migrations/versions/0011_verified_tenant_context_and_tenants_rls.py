"""a verified tenant context and row-level security on tenants

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 12:30:00.000000

Every policy so far read the tenant context straight from settings the application role can set itself, and
re-parsed it for every row. From here the policies call SECURITY DEFINER functions that verify an HMAC over the
whole context (key in jixiao_private.context_key, out of the application role's reach) and are evaluated once
per statement. Every existing policy is rewritten in that form (its former expressions are kept for the
downgrade), the older functions are dropped, and the tenants table gets policies of its own.
See docs/security.md, "A tenant context that cannot be forged".
"""

from __future__ import annotations

import re
from typing import Any

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# ---- Row-level security, frozen -------------------------------------------------------------------------
# The statements and helpers of jixiao.rls as they were when this revision was made, copied here so that the
# revision keeps writing the same functions and policies whatever the live code becomes. Never edit. The app's
# signing (jixiao.rls.SIGNED_SETTINGS, context_payload) must stay the twin of context_verified() below until a
# later revision replaces that function; tests/test_rls_coverage.py compares the two.

PRIVATE_SCHEMA = "jixiao_private"
# The settings the MAC covers, in the order they are signed.
SIGNED_SETTINGS = (
    "jixiao.tenant_ids",
    "jixiao.write_tenant_id",
    "jixiao.user_id",
    "jixiao.login_username",
    "jixiao.token_hash",
    "jixiao.tenant_code",
    "jixiao.platform",
)
MAC_SETTING = "jixiao.context_mac"
PAYLOAD_PREFIX = "jixiao-context-v1"


def verified_functions_sql(pgcrypto_schema: str) -> str:
    """The key table and the functions the policies call; ``pgcrypto_schema`` is where ``hmac()`` lives."""
    setting = "coalesce(current_setting('{}', true), '')"
    payload = " || ".join(
        [f"'{PAYLOAD_PREFIX}'"]
        + [f"'|' || octet_length({setting.format(n)}) || ':' || {setting.format(n)}" for n in SIGNED_SETTINGS]
    )
    definer = "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp"
    verified = f"{PRIVATE_SCHEMA}.context_verified()"
    return f"""
CREATE SCHEMA IF NOT EXISTS {PRIVATE_SCHEMA};
REVOKE ALL ON SCHEMA {PRIVATE_SCHEMA} FROM PUBLIC;
CREATE TABLE IF NOT EXISTS {PRIVATE_SCHEMA}.context_key (
  id integer PRIMARY KEY CHECK (id = 1),
  key bytea NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON {PRIVATE_SCHEMA}.context_key FROM PUBLIC;

CREATE OR REPLACE FUNCTION {verified} RETURNS boolean {definer} AS $$
  SELECT coalesce((
    SELECT current_setting('{MAC_SETTING}', true)
           = encode({pgcrypto_schema}.hmac(convert_to({payload}, 'UTF8'), k.key, 'sha256'), 'hex')
    FROM {PRIVATE_SCHEMA}.context_key k WHERE k.id = 1), false)
$$;
REVOKE ALL ON FUNCTION {verified} FROM PUBLIC;

CREATE OR REPLACE FUNCTION public.jixiao_context_read_ids() RETURNS integer[] {definer} AS $$
  SELECT CASE WHEN {verified}
    THEN coalesce(string_to_array(NULLIF(current_setting('jixiao.tenant_ids', true), ''), ',')::integer[], '{{}}')
    ELSE '{{}}'::integer[] END
$$;
CREATE OR REPLACE FUNCTION public.jixiao_context_write_id() RETURNS integer {definer} AS $$
  SELECT CASE WHEN {verified} THEN NULLIF(current_setting('jixiao.write_tenant_id', true), '')::integer END
$$;
CREATE OR REPLACE FUNCTION public.jixiao_context_platform() RETURNS boolean {definer} AS $$
  SELECT {verified} AND coalesce(current_setting('jixiao.platform', true), '') = 'on'
$$;
CREATE OR REPLACE FUNCTION public.jixiao_context_setting(name text) RETURNS text {definer} AS $$
  SELECT CASE WHEN name IN ('jixiao.user_id', 'jixiao.login_username', 'jixiao.token_hash', 'jixiao.tenant_code')
              AND {verified}
    THEN NULLIF(current_setting(name, true), '') END
$$;
-- The tenants the context may see rows of in `tenants`: the readable ones; the principal's own tenant and its
-- subtree (the access rule: a user reads their tenant and everything below it; found before the request's scope
-- is, at login, from a token, or from the user id); the one a public page names; and the ancestors of all of
-- these (breadcrumbs, inherited plugins and settings). The owner reads users and tokens here; their policies
-- admit the principal's own rows anyway, so this works with or without BYPASSRLS.
CREATE OR REPLACE FUNCTION public.jixiao_context_tenant_ids() RETURNS integer[] {definer} AS $$
  WITH ctx AS (
    SELECT public.jixiao_context_read_ids() AS read_ids,
           public.jixiao_context_setting('jixiao.user_id')::integer AS user_id,
           public.jixiao_context_setting('jixiao.login_username') AS login_username,
           public.jixiao_context_setting('jixiao.token_hash') AS token_hash,
           public.jixiao_context_setting('jixiao.tenant_code') AS tenant_code
  ), principal AS (
    SELECT u.tenant_id FROM public.users u, ctx WHERE u.id = ctx.user_id OR u.username = ctx.login_username
    UNION SELECT k.tenant_id FROM public.api_tokens k, ctx WHERE k.token_hash = ctx.token_hash
  ), seeds AS (
    SELECT unnest(ctx.read_ids) AS id FROM ctx
    UNION SELECT t.id FROM public.tenants t, ctx WHERE t.code = ctx.tenant_code
    UNION SELECT d.id FROM public.tenants p JOIN public.tenants d ON starts_with(d.path, p.path)
          WHERE p.id IN (SELECT tenant_id FROM principal)
  ), codes AS (
    SELECT DISTINCT unnest(string_to_array(trim(both '/' from t.path), '/')) AS code
    FROM public.tenants t WHERE t.id IN (SELECT id FROM seeds)
  )
  SELECT coalesce(array_agg(t.id), '{{}}') FROM public.tenants t WHERE t.code IN (SELECT code FROM codes)
$$;
"""


def store_context_key(connection: Any, key: bytes) -> bool:
    """Write ``key`` into the private key table if it is there (revision 0011 on); True if it was written."""
    if connection.dialect.name != "postgresql":
        return False
    if connection.exec_driver_sql(f"SELECT to_regclass('{PRIVATE_SCHEMA}.context_key')").scalar() is None:
        return False
    connection.exec_driver_sql(
        f"INSERT INTO {PRIVATE_SCHEMA}.context_key (id, key) VALUES (1, %s) ON CONFLICT (id) DO UPDATE "
        "SET key = EXCLUDED.key, stored_at = now() WHERE context_key.key IS DISTINCT FROM EXCLUDED.key", (key,))
    return True


DROP_VERIFIED_FUNCTIONS = f"""
DROP FUNCTION IF EXISTS public.jixiao_context_tenant_ids();
DROP FUNCTION IF EXISTS public.jixiao_context_setting(text);
DROP FUNCTION IF EXISTS public.jixiao_context_platform();
DROP FUNCTION IF EXISTS public.jixiao_context_write_id();
DROP FUNCTION IF EXISTS public.jixiao_context_read_ids();
DROP SCHEMA IF EXISTS {PRIVATE_SCHEMA} CASCADE;
"""

# Each policy term in the verified form: the function in a sub-SELECT, so it runs once per statement.
# (The array ones carry a cast: ``= ANY ((SELECT …))`` alone would parse as ``= ANY (subquery)``.)
READ_IDS = "(SELECT jixiao_context_read_ids())::integer[]"
TENANT_IDS = "(SELECT jixiao_context_tenant_ids())::integer[]"
WRITE_ID = "(SELECT jixiao_context_write_id())"
PLATFORM = "(SELECT jixiao_context_platform())"


def setting(name: str) -> str:
    """A verified principal setting in a policy expression (text; cast it as needed)."""
    return f"(SELECT jixiao_context_setting('{name}'))"


_LEGACY_SETTING = re.compile(r"jixiao_setting\('(jixiao\.[a-z_]+)'(?:::text)?\)")


def verified_extra(extra: str) -> str:
    """``extra`` with the older ``jixiao_setting('…')`` calls turned into the verified, once-per-statement form."""
    return _LEGACY_SETTING.sub(lambda m: setting(m.group(1)), extra)


# The older form (revisions 0001–0010), dropped by the upgrade and restored by the downgrade.
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


SAVED = f"{PRIVATE_SCHEMA}.policies_before_0011"

# The older functions as pg_get_expr() prints them in a policy, and their verified equivalents.
REWRITES = [
    (re.compile(r"jixiao_readable\((\w+)\)"), rf"(\1 = ANY ({READ_IDS}))"),
    (re.compile(r"jixiao_writable\((\w+)\)"), rf"(\1 = {WRITE_ID})"),
    (re.compile(r"jixiao_platform_row\((\w+)\)"), rf"(\1 IS NULL AND {PLATFORM})"),
]
OLD_NAMES = re.compile(r"\bjixiao_(readable|writable|platform_row|setting)\(")

# Only a platform context writes tenants: a row carries the tree (parent, path) that every scope is computed
# from, so a bureau's own context (were it injected into) must not rewrite even its own row. The one service
# that changes a bureau's own row (its settings) raises the platform flag for that write, after its check.
TENANTS_WRITE = PLATFORM


def verified(expression: str) -> str:
    for pattern, replacement in REWRITES:
        expression = pattern.sub(replacement, expression)
    return verified_extra(expression)


def _policy_sql(table: str, policy: str, qual: str | None, check: str | None) -> str:
    using = f" USING ({qual})" if qual is not None else ""
    with_check = f" WITH CHECK ({check})" if check is not None else ""
    return f"ALTER POLICY {policy} ON {table}{using}{with_check}"


def upgrade() -> None:
    if not is_postgres():
        return
    bind = op.get_bind()
    # pgcrypto is a trusted extension: the owner of the database may create it (docs/operations.md).
    op.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    pgcrypto_schema = bind.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pgcrypto'").scalar()
    op.execute(verified_functions_sql(pgcrypto_schema))
    key = op.get_context().config.attributes.get("context_key")
    if key is not None:
        store_context_key(bind, key)

    op.execute(f"CREATE TABLE {SAVED} (tablename name, policyname name, qual text, with_check text)")
    policies = bind.exec_driver_sql(
        "SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = 'public' "
        "ORDER BY tablename, policyname").all()
    for table, policy, qual, check in policies:
        if not OLD_NAMES.search(f"{qual} {check}"):
            continue
        bind.exec_driver_sql(f"INSERT INTO {SAVED} VALUES (%s, %s, %s, %s)", (table, policy, qual, check))
        new_qual = verified(qual) if qual is not None else None
        new_check = verified(check) if check is not None else None
        op.execute(_policy_sql(table, policy, new_qual, new_check))
    left = bind.exec_driver_sql(
        "SELECT tablename || '.' || policyname FROM pg_policies WHERE schemaname = 'public' "
        "AND (qual ~ 'jixiao_(readable|writable|platform_row|setting)\\(' "
        "OR with_check ~ 'jixiao_(readable|writable|platform_row|setting)\\(')").scalars().all()
    if left:
        raise RuntimeError(f"policies still reading the unverified context: {', '.join(left)}")
    # Without CASCADE: anything else still calling them stops the upgrade here.
    op.execute(DROP_FUNCTIONS)

    # Not FORCE: the owner's verifying functions read tenants themselves; the app role is subject regardless.
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenants_read ON tenants FOR SELECT USING ({PLATFORM} "
               f"OR id = ANY ({TENANT_IDS}))")
    op.execute(f"CREATE POLICY tenants_insert ON tenants FOR INSERT WITH CHECK ({PLATFORM})")
    op.execute(f"CREATE POLICY tenants_update ON tenants FOR UPDATE USING ({TENANTS_WRITE}) "
               f"WITH CHECK ({TENANTS_WRITE})")
    op.execute(f"CREATE POLICY tenants_delete ON tenants FOR DELETE USING ({PLATFORM})")


def downgrade() -> None:
    if not is_postgres():
        return
    bind = op.get_bind()
    for action in ("read", "insert", "update", "delete"):
        op.execute(f"DROP POLICY IF EXISTS tenants_{action} ON tenants")
    op.execute("ALTER TABLE tenants DISABLE ROW LEVEL SECURITY")
    op.execute(FUNCTIONS)
    for table, policy, qual, check in bind.exec_driver_sql(
            f"SELECT tablename, policyname, qual, with_check FROM {SAVED}").all():
        op.execute(_policy_sql(table, policy, qual, check))
    op.execute(DROP_VERIFIED_FUNCTIONS)
