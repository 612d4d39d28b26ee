"""which plugin's rule a record was made by: evaluations and assessment campaigns keep it

An evaluation keeps, from its submission, which plugin answered its form (``evaluation_weights``) and its grade
bands (``evaluation_grade_bands``); a campaign which plugin offered its scheme (``register_assessment_schemes``)
and, from finalising, which answered its grades and awards. ``{}`` on records made before: not known. New
columns on tables already under row-level security: no new policy.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

TABLES = ("evaluations", "assessment_campaigns")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("answered_by", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("answered_by")
