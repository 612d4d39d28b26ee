"""assessment item states, stages and appeals

Revision ID: 0009
Revises: 0008
An assessment item has a state (scored, no data, not applicable, not submitted, insufficient evidence,
pending) and the maximum it counts for the subject (0 when not applicable, so the total is rescaled). A
subject below the scheme's coverage threshold is listed as 数据不足 and not ranked. Campaigns read the
records as of a cut-off, keep the appeal window of their publicity period (公示) and the reasons given to
force, reopen or withdraw them. Appeals (申诉) are kept in the subject's own tenant, under row-level security.
Computed scores of earlier campaigns become 'scored' by the system.

Create Date: 2026-12-01 10:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jixiao.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# ---- Row-level security, frozen -------------------------------------------------------------------------
# The statements jixiao.rls wrote when this revision was made, copied here so that the revision keeps writing
# them whatever the live code becomes. Never edit: the form is the unverified one of revisions 0001-0010, which
# revision 0011 rewrites. tests/test_migrations.py keeps live jixiao code out of the migrations.

# The tables this revision puts under forced row-level security (the SQLite run checks every table with a
# tenant_id against these lists: jixiao.migrate.check_row_level_security).
RLS_TABLES = ["assessment_appeals"]

READ = "jixiao_readable(tenant_id) OR jixiao_platform_row(tenant_id)"
WRITE = "jixiao_writable(tenant_id) OR jixiao_platform_row(tenant_id)"


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
    with op.batch_alter_table('assessment_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cutoff', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('appeal_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('force_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('reopen_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('withdraw_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('withdrawn_at', jixiao.db.UTCDateTime(timezone=True), nullable=True))
    campaigns = sa.table('assessment_campaigns', sa.column('cutoff', sa.Date), sa.column('deadline', sa.Date))
    op.execute(campaigns.update().values(cutoff=campaigns.c.deadline))

    with op.batch_alter_table('assessment_subjects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ranked', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('coverage', jixiao.db.ExactDecimal(precision=6, scale=4), nullable=True))
        batch_op.add_column(sa.Column('measurable', jixiao.db.ExactDecimal(precision=8, scale=2), nullable=True))
        batch_op.add_column(sa.Column('full_marks', jixiao.db.ExactDecimal(precision=8, scale=2), nullable=True))

    with op.batch_alter_table('assessment_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=False, server_default='assessor'))
        batch_op.add_column(sa.Column('maximum', jixiao.db.ExactDecimal(precision=8, scale=2), nullable=True))
        batch_op.add_column(sa.Column('computed_points', jixiao.db.ExactDecimal(precision=8, scale=2), nullable=True))
        batch_op.add_column(sa.Column('override_reason', sa.Text(), nullable=False, server_default=''))
    scores = sa.table('assessment_scores', sa.column('status', sa.String), sa.column('source', sa.String))
    op.execute(scores.update().where(scores.c.status == 'computed').values(status='scored', source='computed'))

    op.create_table('assessment_appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('indicator_code', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('file_ids', sa.JSON(), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', jixiao.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', jixiao.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', jixiao.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['assessment_campaigns.id'],
                            name=op.f('fk_assessment_appeals_campaign_id_assessment_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['filed_by_id'], ['users.id'], name=op.f('fk_assessment_appeals_filed_by_id_users')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_assessment_appeals_answered_by_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_assessment_appeals_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_appeals'))
    )
    with op.batch_alter_table('assessment_appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_appeals_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_appeals_tenant_id'), ['tenant_id'], unique=False)
    for table in RLS_TABLES:
        protect(table)


def downgrade() -> None:
    for table in RLS_TABLES:
        unprotect(table)
    with op.batch_alter_table('assessment_appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_appeals_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_appeals_campaign_id'))
    op.drop_table('assessment_appeals')
    scores = sa.table('assessment_scores', sa.column('status', sa.String), sa.column('source', sa.String))
    op.execute(scores.update().where(scores.c.source == 'computed').values(status='computed'))
    op.execute(scores.update().where(scores.c.status.in_(['no_data', 'not_applicable', 'not_submitted']))
               .values(status='pending'))
    with op.batch_alter_table('assessment_scores', schema=None) as batch_op:
        batch_op.drop_column('override_reason')
        batch_op.drop_column('computed_points')
        batch_op.drop_column('maximum')
        batch_op.drop_column('source')
    with op.batch_alter_table('assessment_subjects', schema=None) as batch_op:
        batch_op.drop_column('full_marks')
        batch_op.drop_column('measurable')
        batch_op.drop_column('coverage')
        batch_op.drop_column('ranked')
    with op.batch_alter_table('assessment_campaigns', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('withdraw_reason')
        batch_op.drop_column('reopen_reason')
        batch_op.drop_column('force_reason')
        batch_op.drop_column('appeal_until')
        batch_op.drop_column('cutoff')
