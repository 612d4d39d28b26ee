"""PostgreSQL row-level security: the second wall, written by migrations.

:class:`jixiao.db.TenantScope` writes transaction-local settings in ``after_begin``: ``jixiao.tenant_ids``
(readable tenants), ``jixiao.write_tenant_id`` (the one writable tenant), ``jixiao.user_id``,
``jixiao.login_username``, ``jixiao.token_hash`` (authentication finding its principal), ``jixiao.tenant_code``
(a public page naming one tenant), ``jixiao.platform`` (platform rows without a tenant) and
``jixiao.context_mac``, an HMAC-SHA256 over all the others with a key the application role cannot read.

Since revision 0011 the policies never read a setting themselves: they call ``SECURITY DEFINER`` functions
owned by the owner that verify the MAC and return the verified values, or nothing when it does not verify
(a forged or altered setting fails closed). Each call is written ``(SELECT jixiao_context_…())``, an InitPlan
the planner evaluates once per statement, not once per row (docs/security.md, "A tenant context that cannot
be forged"). Revisions 0001–0010 wrote the older form (:data:`FUNCTIONS`, read per row, unverified);
:func:`protect` writes whichever form the database has, and 0011 rewrote the older policies.

A migration adding a tenant-owned table calls :func:`protect` for it; a test checks that every table with
a ``tenant_id`` column has row-level security forced.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from alembic import op

from jixiao.config import ConfigurationError

# The settings the MAC covers, in the order they are signed. Changing this tuple needs a migration that
# replaces jixiao_private.context_verified() (see verified_functions_sql), or no context will verify.
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
KEY_LABEL = b"jixiao tenant context"
PRIVATE_SCHEMA = "jixiao_private"


def context_key(config: Mapping[str, Any]) -> bytes:
    """The key the tenant context is signed with: derived from ``CONTEXT_KEY`` if set, else ``SECRET_KEY``.

    The app signs with it and ``jixiao.migrate.upgrade`` stores it for the database, both from the same
    configuration, so changing the secret and running ``jixiao db upgrade`` rotates it.
    """
    source = config.get("CONTEXT_KEY") or config.get("SECRET_KEY") or ""
    if not source:
        raise ConfigurationError("neither CONTEXT_KEY nor SECRET_KEY is set: the tenant context cannot be signed")
    return hmac.new(str(source).encode(), KEY_LABEL, hashlib.sha256).digest()


def context_payload(settings: Mapping[str, str]) -> bytes:
    """What the MAC covers: every signed setting, length-prefixed so that no two contexts encode alike.

    The SQL twin is the payload expression of :func:`verified_functions_sql`; both must agree byte for byte.
    """
    payload = PAYLOAD_PREFIX.encode()
    for name in SIGNED_SETTINGS:
        value = settings.get(name, "").encode()
        payload += b"|" + str(len(value)).encode() + b":" + value
    return payload


def context_mac(key: bytes, settings: Mapping[str, str]) -> str:
    return hmac.new(key, context_payload(settings), hashlib.sha256).hexdigest()


# ---- The verified context (revision 0011 on) ----------------------------------------------------------------


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
    """A verified principal setting for a policy's ``read_extra``/``write_extra`` (text; cast it as needed)."""
    return f"(SELECT jixiao_context_setting('{name}'))"


_LEGACY_SETTING = re.compile(r"jixiao_setting\('(jixiao\.[a-z_]+)'(?:::text)?\)")


def verified_extra(extra: str) -> str:
    """``extra`` with the older ``jixiao_setting('…')`` calls turned into the verified, once-per-statement form."""
    return _LEGACY_SETTING.sub(lambda m: setting(m.group(1)), extra)


def read_condition(extra: str = "") -> str:
    extra = verified_extra(extra)
    return f"tenant_id = ANY ({READ_IDS}) OR (tenant_id IS NULL AND {PLATFORM}){' OR ' + extra if extra else ''}"


def write_condition(extra: str = "") -> str:
    extra = verified_extra(extra)
    return f"tenant_id = {WRITE_ID} OR (tenant_id IS NULL AND {PLATFORM}){' OR ' + extra if extra else ''}"


# ---- The older form (revisions 0001–0010) -------------------------------------------------------------------

# Read per row and trusted as written: replaced by the verified functions in revision 0011.
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


def verified_context_installed() -> bool:
    """Whether revision 0011's verifying functions exist (so that new policies must use them)."""
    return bool(op.get_bind().exec_driver_sql(
        "SELECT to_regprocedure('public.jixiao_context_read_ids()') IS NOT NULL").scalar())


def protect(table: str, *, read_extra: str = "", write_extra: str = "", append_only: bool = False) -> None:
    """Force row-level security on ``table``: read the readable tenants, write only the writable one.

    ``read_extra`` / ``write_extra`` are SQL alternatives OR-ed into the read / write conditions (for the
    tables authentication must reach before a tenant is known); name a principal setting with
    :func:`setting` (the older spelling ``jixiao_setting('jixiao.user_id')`` is converted).
    ``append_only`` allows no UPDATE or DELETE. The policies take the verified form once revision 0011
    installed it, the older form before (so that the earlier revisions still build the same history).
    """
    if not is_postgres():
        return
    if verified_context_installed():
        read, write = read_condition(read_extra), write_condition(write_extra)
    else:
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
