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

from alembic import op

from jixiao import rls

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

SAVED = f"{rls.PRIVATE_SCHEMA}.policies_before_0011"

# The older functions as pg_get_expr() prints them in a policy, and their verified equivalents.
REWRITES = [
    (re.compile(r"jixiao_readable\((\w+)\)"), rf"(\1 = ANY ({rls.READ_IDS}))"),
    (re.compile(r"jixiao_writable\((\w+)\)"), rf"(\1 = {rls.WRITE_ID})"),
    (re.compile(r"jixiao_platform_row\((\w+)\)"), rf"(\1 IS NULL AND {rls.PLATFORM})"),
]
OLD_NAMES = re.compile(r"\bjixiao_(readable|writable|platform_row|setting)\(")

# Only a platform context writes tenants: a row carries the tree (parent, path) that every scope is computed
# from, so a bureau's own context (were it injected into) must not rewrite even its own row. The one service
# that changes a bureau's own row (its settings) raises the platform flag for that write, after its check.
TENANTS_WRITE = rls.PLATFORM


def verified(expression: str) -> str:
    for pattern, replacement in REWRITES:
        expression = pattern.sub(replacement, expression)
    return rls.verified_extra(expression)


def _policy_sql(table: str, policy: str, qual: str | None, check: str | None) -> str:
    using = f" USING ({qual})" if qual is not None else ""
    with_check = f" WITH CHECK ({check})" if check is not None else ""
    return f"ALTER POLICY {policy} ON {table}{using}{with_check}"


def upgrade() -> None:
    if not rls.is_postgres():
        return
    bind = op.get_bind()
    # pgcrypto is a trusted extension: the owner of the database may create it (docs/operations.md).
    op.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    pgcrypto_schema = bind.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pgcrypto'").scalar()
    op.execute(rls.verified_functions_sql(pgcrypto_schema))
    key = op.get_context().config.attributes.get("context_key")
    if key is not None:
        rls.store_context_key(bind, key)

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
    op.execute(rls.DROP_FUNCTIONS)

    # Not FORCE: the owner's verifying functions read tenants themselves; the app role is subject regardless.
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenants_read ON tenants FOR SELECT USING ({rls.PLATFORM} "
               f"OR id = ANY ({rls.TENANT_IDS}))")
    op.execute(f"CREATE POLICY tenants_insert ON tenants FOR INSERT WITH CHECK ({rls.PLATFORM})")
    op.execute(f"CREATE POLICY tenants_update ON tenants FOR UPDATE USING ({TENANTS_WRITE}) "
               f"WITH CHECK ({TENANTS_WRITE})")
    op.execute(f"CREATE POLICY tenants_delete ON tenants FOR DELETE USING ({rls.PLATFORM})")


def downgrade() -> None:
    if not rls.is_postgres():
        return
    bind = op.get_bind()
    for action in ("read", "insert", "update", "delete"):
        op.execute(f"DROP POLICY IF EXISTS tenants_{action} ON tenants")
    op.execute("ALTER TABLE tenants DISABLE ROW LEVEL SECURITY")
    op.execute(rls.FUNCTIONS)
    for table, policy, qual, check in bind.exec_driver_sql(
            f"SELECT tablename, policyname, qual, with_check FROM {SAVED}").all():
        op.execute(_policy_sql(table, policy, qual, check))
    op.execute(rls.DROP_VERIFIED_FUNCTIONS)
