"""the agency library (第三方机构库) and yearly evaluation plans

Revision ID: 0020
Revises: 0019
agencies get a type (agency_type: accounting_firm, consultancy, university, research_institute, other; existing
ones become other), finance's suspension (barred, bar_reason) and a version (optimistic locking). The yearly
plans of key evaluations (evaluation_plans, one per tenant and year) and their lines (evaluation_plan_lines:
project kind, performer, planned count) are tenant-owned, under row-level security.

Create Date: 2026-12-02 01:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jixiao.db

revision = '0020'
down_revision = '0019'
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
RLS_TABLES = ["evaluation_plans", "evaluation_plan_lines"]

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


AGENCY_TYPES = ("accounting_firm", "consultancy", "university", "research_institute", "other")
PERFORMERS = (*AGENCY_TYPES, "finance_team")
PROJECT_KINDS = ("project", "policy", "department_whole")


def upgrade() -> None:
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agency_type', sa.Enum(*AGENCY_TYPES, name='agencytype', native_enum=False,
                                                             length=24), nullable=False, server_default='other'))
        batch_op.add_column(sa.Column('barred', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('bar_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.alter_column('agency_type', server_default=None)
        batch_op.alter_column('barred', server_default=None)
        batch_op.alter_column('bar_reason', server_default=None)
        batch_op.alter_column('version', server_default=None)

    op.create_table('evaluation_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', jixiao.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', jixiao.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_evaluation_plans_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_evaluation_plans_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_plans')),
    sa.UniqueConstraint('tenant_id', 'year', name='uq_evaluation_plans_tenant_year')
    )
    with op.batch_alter_table('evaluation_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_plans_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('evaluation_plan_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('project_kind', sa.Enum(*PROJECT_KINDS, name='projectkind', native_enum=False, length=24), nullable=False),
    sa.Column('performer', sa.Enum(*PERFORMERS, name='evaluationperformer', native_enum=False, length=24), nullable=False),
    sa.Column('planned_count', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['evaluation_plans.id'], name=op.f('fk_evaluation_plan_lines_plan_id_evaluation_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_evaluation_plan_lines_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_plan_lines')),
    sa.UniqueConstraint('plan_id', 'project_kind', 'performer', name='uq_evaluation_plan_lines_plan_kind_performer')
    )
    with op.batch_alter_table('evaluation_plan_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_plan_lines_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_plan_lines_tenant_id'), ['tenant_id'], unique=False)
    for table in RLS_TABLES:
        protect(table)


def downgrade() -> None:
    for table in RLS_TABLES:
        unprotect(table)
    with op.batch_alter_table('evaluation_plan_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_plan_lines_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_plan_lines_plan_id'))
    op.drop_table('evaluation_plan_lines')
    with op.batch_alter_table('evaluation_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_plans_tenant_id'))
    op.drop_table('evaluation_plans')
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('bar_reason')
        batch_op.drop_column('barred')
        batch_op.drop_column('agency_type')
