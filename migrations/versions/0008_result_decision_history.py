"""result decision history and redraws that keep assignments

Revision ID: 0008
Revises: 0007
Every decision on an evaluation's result is kept in result_decisions (tenant-owned, under row-level
security, rows never changed); result_applications stays the current decision per evaluation. Each existing
result application becomes its evaluation's first recorded decision, dated when it was last decided.
A sample draw records which drawn projects it assigned and which were already assigned; the draws before
this revision assigned every project they drew.

Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jixiao.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# ---- Row-level security, frozen -------------------------------------------------------------------------
# The statements jixiao.rls wrote when this revision was made, copied here so that the revision keeps writing
# them whatever the live code becomes. Never edit: the form is the unverified one of revisions 0001-0010, which
# revision 0011 rewrites. tests/test_migrations.py keeps live jixiao code out of the migrations.

# The tables this revision puts under forced row-level security (the SQLite run checks every table with a
# tenant_id against these lists: jixiao.migrate.check_row_level_security).
RLS_TABLES = ["result_decisions"]

READ = "jixiao_readable(tenant_id) OR jixiao_platform_row(tenant_id)"
WRITE = "jixiao_writable(tenant_id) OR jixiao_platform_row(tenant_id)"


def is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def protect(table: str, *, append_only: bool = False) -> None:
    if not is_postgres():
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING ({READ})")
    op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({WRITE})")
    if not append_only:
        op.execute(f"CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({WRITE}) WITH CHECK ({WRITE})")
        op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({WRITE})")


def unprotect(table: str) -> None:
    if not is_postgres():
        return
    for action in ("read", "insert", "update", "delete"):
        op.execute(f"DROP POLICY IF EXISTS {table}_{action} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


# The columns both tables share, copied as they are.
COPIED = ["tenant_id", "evaluation_id", "project_id", "grade", "suggested_action", "decision", "decision_note",
          "amount_change", "idle_recovered", "next_year", "decided_by_id"]


def upgrade() -> None:
    op.create_table('result_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=8), nullable=False),
    sa.Column('suggested_action', sa.String(length=40), nullable=False),
    sa.Column('decision', sa.String(length=40), nullable=False),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('amount_change', jixiao.db.Money(precision=18, scale=2), nullable=False),
    sa.Column('idle_recovered', jixiao.db.Money(precision=18, scale=2), nullable=False),
    sa.Column('next_year', sa.Integer(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', jixiao.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_result_decisions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], name=op.f('fk_result_decisions_evaluation_id_evaluations')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_result_decisions_project_id_projects')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_result_decisions_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_decisions'))
    )
    with op.batch_alter_table('result_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_decisions_evaluation_id'), ['evaluation_id'], unique=False)
        batch_op.create_index('ix_result_decisions_project_decided', ['project_id', 'decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_result_decisions_tenant_id'), ['tenant_id'], unique=False)

    # Copied before the table is protected, in id order so the history keeps the order they were made in.
    applications = sa.table('result_applications', sa.column('id', sa.Integer), sa.column('updated_at'),
                            *(sa.column(name) for name in COPIED))
    decisions = sa.table('result_decisions', sa.column('decided_at'), *(sa.column(name) for name in COPIED))
    op.execute(decisions.insert().from_select(
        [*COPIED, 'decided_at'],
        sa.select(*(applications.c[name] for name in COPIED), applications.c.updated_at)
        .order_by(applications.c.id)))

    with op.batch_alter_table('sample_draws', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_ids', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('already_assigned_ids', sa.JSON(), nullable=False, server_default='[]'))
    draws = sa.table('sample_draws', sa.column('drawn_ids', sa.JSON), sa.column('assigned_ids', sa.JSON))
    op.execute(draws.update().values(assigned_ids=draws.c.drawn_ids))

    for table in RLS_TABLES:
        protect(table, append_only=True)


def downgrade() -> None:
    for table in RLS_TABLES:
        unprotect(table)
    with op.batch_alter_table('sample_draws', schema=None) as batch_op:
        batch_op.drop_column('already_assigned_ids')
        batch_op.drop_column('assigned_ids')
    with op.batch_alter_table('result_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_result_decisions_tenant_id'))
        batch_op.drop_index('ix_result_decisions_project_decided')
        batch_op.drop_index(batch_op.f('ix_result_decisions_evaluation_id'))

    op.drop_table('result_decisions')
