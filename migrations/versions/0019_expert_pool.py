"""the expert pool (专家库): experts, fields, conflicts, reviewer draws

experts: a tenant's pool (name, organisation, fields of expertise, declared conflicts with departments and
projects, an optional login, active, version). expert_draws: each random draw of a project's ex-ante reviewers
(field, count, seed, the pool, who was excluded and why, who was drawn, the logins assigned, the deadline), kept as
drawn. Both tenant-owned, under forced row-level security. A county reads its ancestors' experts through a read
set limited to its chain of tenants (jixiao.lifecycle.experts); the policies are the usual ones.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 01:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jixiao.db

revision = '0019'
down_revision = '0018'
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
RLS_TABLES = ["experts", "expert_draws"]

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
    op.create_table('experts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('expertise', sa.JSON(), nullable=False),
    sa.Column('conflict_department_ids', sa.JSON(), nullable=False),
    sa.Column('conflict_project_ids', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', jixiao.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', jixiao.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_experts_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_experts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experts'))
    )
    op.create_index(op.f('ix_experts_tenant_id'), 'experts', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_experts_user_id'), 'experts', ['user_id'], unique=False)
    op.create_table('expert_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('pool_ids', sa.JSON(), nullable=False),
    sa.Column('excluded', sa.JSON(), nullable=False),
    sa.Column('drawn_ids', sa.JSON(), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('assigned_user_ids', sa.JSON(), nullable=False),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('drawn_by_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', jixiao.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', jixiao.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['drawn_by_id'], ['users.id'], name=op.f('fk_expert_draws_drawn_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_expert_draws_project_id_projects')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_expert_draws_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expert_draws'))
    )
    op.create_index('ix_expert_draws_project', 'expert_draws', ['project_id', 'id'], unique=False)
    op.create_index(op.f('ix_expert_draws_tenant_id'), 'expert_draws', ['tenant_id'], unique=False)
    for table in RLS_TABLES:
        protect(table)


def downgrade() -> None:
    for table in RLS_TABLES:
        unprotect(table)
    op.drop_index(op.f('ix_expert_draws_tenant_id'), table_name='expert_draws')
    op.drop_index('ix_expert_draws_project', table_name='expert_draws')
    op.drop_table('expert_draws')
    op.drop_index(op.f('ix_experts_user_id'), table_name='experts')
    op.drop_index(op.f('ix_experts_tenant_id'), table_name='experts')
    op.drop_table('experts')
