"""idempotency keys for repeated creates, and versions on result applications

Revision ID: 0012
Revises: 0011
idempotency_keys keeps, per tenant, user and key, the first successful answer to a create sent with an
``Idempotency-Key`` header (tenant-owned, under row-level security). result_applications gets a version, so a
changed decision names the decision it changes (optimistic locking, like the other edited records).

Create Date: 2026-12-01 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jixiao.db

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# ---- Row-level security, frozen -------------------------------------------------------------------------
# The statements jixiao.rls wrote when this revision was made, copied here so that the revision keeps writing
# them whatever the live code becomes. Never edit. The form is the verified one of revision 0011: each policy
# calls the SECURITY DEFINER functions that check the context's MAC, in a sub-select so that the planner makes
# it an InitPlan, run once per statement (docs/security.md, "A tenant context that cannot be forged"). The array
# term carries a cast: `= ANY ((SELECT ...))` alone would parse as `= ANY (subquery)`. A later revision adding a
# tenant-owned table copies this block. tests/test_migrations.py keeps live jixiao code out of the migrations.

# The tables this revision puts under forced row-level security (the SQLite run checks every table with a
# tenant_id against these lists: jixiao.migrate.check_row_level_security).
RLS_TABLES = ["idempotency_keys"]

PLATFORM_ROW = "(tenant_id IS NULL AND (SELECT jixiao_context_platform()))"
READ = f"tenant_id = ANY ((SELECT jixiao_context_read_ids())::integer[]) OR {PLATFORM_ROW}"
WRITE = f"tenant_id = (SELECT jixiao_context_write_id()) OR {PLATFORM_ROW}"


def is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def protect(table: str) -> None:
    if not is_postgres():
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING ({READ})")
    op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({WRITE})")
    op.execute(f"CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({WRITE}) WITH CHECK ({WRITE})")
    op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({WRITE})")


def unprotect(table: str) -> None:
    if not is_postgres():
        return
    for action in ("read", "insert", "update", "delete"):
        op.execute(f"DROP POLICY IF EXISTS {table}_{action} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('created_at', jixiao.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_idempotency_keys_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('tenant_id', 'user_id', 'key', name='uq_idempotency_keys_tenant_user_key')
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_idempotency_keys_tenant_id'), ['tenant_id'], unique=False)
    for table in RLS_TABLES:
        protect(table)

    with op.batch_alter_table('result_applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('result_applications', schema=None) as batch_op:
        batch_op.alter_column('version', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('result_applications', schema=None) as batch_op:
        batch_op.drop_column('version')
    for table in RLS_TABLES:
        unprotect(table)
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_tenant_id'))
        batch_op.drop_index('ix_idempotency_keys_created_at')
    op.drop_table('idempotency_keys')
