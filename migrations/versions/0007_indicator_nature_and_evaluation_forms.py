"""indicator nature and evaluation forms

Revision ID: 0007
Revises: 0006
Indicators say whether they are cumulative (counts, amounts: compared with the pro-rated annual value) or
levels (rates, unit costs, satisfaction: compared with the target itself); existing indicators get the
default their unit implies. Evaluation scores become the evaluation's own indicator table: a row names the
form's group it counts in, and rows of the form's own (决策 / 过程 in finance and key evaluations) carry their
name and level 2 instead of a target indicator. An evaluation keeps the form it was scored on.

Create Date: 2026-12-01 09:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Frozen copy of the units whose indicators default to levels when this revision was written; later changes
# to the live rule (jixiao.lifecycle.scoring.default_nature) must not rewrite history.
LEVEL_UNITS = ("%", "‰", "分", "天", "日", "小时", "星", "级")


def upgrade() -> None:
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nature', sa.String(length=12), nullable=False, server_default='cumulative'))
    indicators = sa.table('indicators', sa.column('unit', sa.String), sa.column('nature', sa.String))
    op.execute(indicators.update().where(sa.or_(indicators.c.unit.in_(LEVEL_UNITS), indicators.c.unit.like('%/%')))
               .values(nature='level'))

    with op.batch_alter_table('evaluation_scores', schema=None) as batch_op:
        batch_op.alter_column('indicator_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('group_name', sa.String(length=20), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('form_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('level2', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=False, server_default='0'))
    scores = sa.table('evaluation_scores', sa.column('indicator_id', sa.Integer), sa.column('group_name', sa.String),
                      sa.column('level2', sa.String), sa.column('name', sa.String))
    source = sa.table('indicators', sa.column('id', sa.Integer), sa.column('level1', sa.String),
                      sa.column('level2', sa.String), sa.column('name', sa.String))
    for column in ('level1', 'level2', 'name'):
        target = 'group_name' if column == 'level1' else column
        op.execute(scores.update().values({target: sa.select(source.c[column]).where(
            source.c.id == scores.c.indicator_id).scalar_subquery()}))

    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form', sa.JSON(), nullable=True))
    # A qualitative indicator is monitored by the unit's own rating (达成 / 部分达成 / 未达成).
    with op.batch_alter_table('monitoring_values', schema=None) as batch_op:
        batch_op.add_column(sa.Column('band', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('monitoring_values', schema=None) as batch_op:
        batch_op.drop_column('band')
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_column('form')
    op.execute("DELETE FROM evaluation_scores WHERE indicator_id IS NULL")
    with op.batch_alter_table('evaluation_scores', schema=None) as batch_op:
        batch_op.drop_column('position')
        batch_op.drop_column('name')
        batch_op.drop_column('level2')
        batch_op.drop_column('form_code')
        batch_op.drop_column('group_name')
        batch_op.alter_column('indicator_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_column('nature')
