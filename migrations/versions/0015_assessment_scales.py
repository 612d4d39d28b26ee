"""assessment scales: an item's label, a subject's aggregated label and its groups' results

An assessment item may be given a label of a scale the scheme declares (A/B/C/D, 好/较好/一般/差) instead of
points; a group and the scheme declare how they combine their items (points summed, the weakest link, a
conversion table, a plugin's rule). Each score keeps its label, each subject its result on the scheme's scale
and its groups' results. The new state ``insufficient_information`` fits the status column as it is (a
non-native enum of 24 characters). Campaigns keep their saved schemes: an old one reads as points summed, so
no data changes. New columns on tables already under row-level security: no new policy.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assessment_scores") as batch:
        batch.add_column(sa.Column("label", sa.String(length=32), nullable=True))
    with op.batch_alter_table("assessment_subjects") as batch:
        batch.add_column(sa.Column("label", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("groups", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("assessment_subjects") as batch:
        batch.drop_column("groups")
        batch.drop_column("label")
    with op.batch_alter_table("assessment_scores") as batch:
        batch.drop_column("label")
