"""what the money is spent through (支出方式) and where a special fund comes from (专项资金来源)

Projects get ``spending_modalities`` (a JSON list of codes: ppp, investment_fund, procurement,
purchase_of_services, government_debt, or none alone), ``is_special_fund`` and ``fund_source`` (central,
provincial, city, own; only on a special fund). Existing projects: ``[]`` (not recorded — not "none"), not a
special fund, no fund source. New columns on a table already under row-level security: no new policy.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 22:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("spending_modalities", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("is_special_fund", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("fund_source", sa.Enum("central", "provincial", "city", "own", name="fundsource",
                                                          native_enum=False, length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("fund_source")
        batch.drop_column("is_special_fund")
        batch.drop_column("spending_modalities")
