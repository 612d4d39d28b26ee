"""users get an e-mail address, for the e-mail channel of notifications

``users.email`` is optional (``NULL``: the user is told in the application only). A new column on a table that is
already under row-level security: no new policy.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
