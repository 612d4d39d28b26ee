"""unpublishing a public result with a reason; removing a wrongly uploaded file

Evaluations get ``unpublished_at``, ``unpublished_by_id`` and ``unpublish_reason``: the last withdrawal of a
published result from the public page (撤回公开), kept when it is published again (every withdrawal is also in
the audit log). Removing a wrongly uploaded evidence file deletes its ``evidence_files`` row and records an
audit event; it needs no column. New columns on a table already under row-level security: no new policy.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 01:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jixiao.db

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evaluations") as batch:
        batch.add_column(sa.Column("unpublished_at", jixiao.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("unpublished_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("unpublish_reason", sa.Text(), nullable=False, server_default=""))
        batch.create_foreign_key("fk_evaluations_unpublished_by_id_users", "users", ["unpublished_by_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_constraint("fk_evaluations_unpublished_by_id_users", type_="foreignkey")
        batch.drop_column("unpublish_reason")
        batch.drop_column("unpublished_by_id")
        batch.drop_column("unpublished_at")
