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
be forged"). Revisions 0001–0010 wrote an older form (read per row, unverified), which 0011 rewrote.

The policies and functions are the migrations' own: each revision carries the SQL it writes, frozen, so that
it writes the same statements whatever this module becomes (tests/test_migrations.py keeps live ``jixiao``
code out of them). A revision adding a tenant-owned table copies the helper block of the newest revision that
has one (0012) and lists the table in its ``RLS_TABLES``. What stays here is what the running app and
``jixiao db upgrade`` need: the signing key and MAC, storing the key, and :func:`unprotected_tables`, the check
``jixiao.migrate.upgrade`` makes before it commits that every table with a ``tenant_id`` column is under forced
row-level security with a policy.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa

from jixiao.config import ConfigurationError

# The settings the MAC covers, in the order they are signed. Changing this tuple needs a migration that
# replaces jixiao_private.context_verified() (written by revision 0011, again by 0024), or no context will verify;
# tests/test_rls_coverage.py compares it with the newest such revision's copy.
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

    The SQL twin is the payload expression of ``jixiao_private.context_verified()`` (revision 0011's
    ``verified_functions_sql``); both must agree byte for byte.
    """
    payload = PAYLOAD_PREFIX.encode()
    for name in SIGNED_SETTINGS:
        value = settings.get(name, "").encode()
        payload += b"|" + str(len(value)).encode() + b":" + value
    return payload


def context_mac(key: bytes, settings: Mapping[str, str]) -> str:
    return hmac.new(key, context_payload(settings), hashlib.sha256).hexdigest()


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


# ---- Coverage: no table with a tenant_id escapes the second wall ----------------------------------------------

# Every base table with a tenant_id column, with its row-level security flags and whether it has a policy. From
# the catalog, not the models: a table a migration created and the models forgot is as exposed as any other.
_COVERAGE_SQL = """
SELECT CASE WHEN c.table_schema = current_schema() THEN c.table_name::text
            ELSE c.table_schema || '.' || c.table_name END,
       k.relrowsecurity, k.relforcerowsecurity,
       EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = c.table_schema AND p.tablename = c.table_name)
FROM information_schema.columns c
JOIN information_schema.tables t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
JOIN pg_namespace n ON n.nspname = c.table_schema
JOIN pg_class k ON k.relnamespace = n.oid AND k.relname = c.table_name
WHERE c.column_name = 'tenant_id' AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1
"""


def unprotected_tables(connection: sa.Connection, declared: Collection[str] = (),
                       mapped: Collection[str] = ()) -> dict[str, str]:
    """Each table with a ``tenant_id`` column that row-level security does not cover, and what it lacks.

    On PostgreSQL, from the catalog: row-level security enabled and forced, and at least one policy. SQLite has
    no row-level security, so there the same rule is checked against the migrations: every table of the
    database with a ``tenant_id`` column, and every table in ``mapped`` (the models' tables with one), must be
    in ``declared``, the tables the applied revisions list in ``RLS_TABLES`` (and protect on PostgreSQL).
    """
    if connection.dialect.name == "postgresql":
        missing: dict[str, str] = {}
        for table, enabled, forced, has_policy in connection.exec_driver_sql(_COVERAGE_SQL).all():
            gaps = [gap for ok, gap in ((enabled, "not enabled"), (forced, "not forced"), (has_policy, "no policy"))
                    if not ok]
            if gaps:
                missing[table] = ", ".join(gaps)
        return missing
    inspector = sa.inspect(connection)
    tables = {name for name in inspector.get_table_names()
              if any(column["name"] == "tenant_id" for column in inspector.get_columns(name))}
    return {table: "in no applied revision's RLS_TABLES" for table in sorted((tables | set(mapped)) - set(declared))}


class UnprotectedTables(RuntimeError):
    """Tables with a ``tenant_id`` column outside row-level security: ``jixiao db upgrade`` refuses the schema."""

    def __init__(self, missing: Mapping[str, str]) -> None:
        self.missing = dict(missing)
        listed = "; ".join(f"{table} ({gaps})" for table, gaps in self.missing.items())
        super().__init__(
            f"row-level security does not cover every table with a tenant_id column: {listed}. The migration "
            "that creates a tenant-owned table must enable and force row-level security on it, create its "
            "policies and list it in RLS_TABLES (docs/tenancy.md); the upgrade is refused")
