"""an operator's plugin overlay on a tenant: enabled and disabled beside what its YAML lists

``tenants.plugins`` is what the tenants YAML lists, rewritten by every ``jixiao tenants load``. The operator's
own decisions (``jixiao tenants enable/disable``, the operator page and API) live in two columns of their own,
so reloading the YAML never erases them. No new table, so no new row-level security.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 20:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("plugins_enabled", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("plugins_disabled", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("plugins_disabled")
        batch.drop_column("plugins_enabled")
