"""continuing projects, and results applied to the first budget year not yet approved

Projects get ``continues_project_id``: the earlier year's project a project continues when its code changed
(a project keeping its code continues that code's earlier year without a link). Result applications get
``applies_to_project_id`` (the continuing project whose budget the decision changes; NULL until that year's
project is filed) and ``in_force`` (false once a more authoritative evaluation of the project decides); every
decision in the history records the project it applied to. Existing applications stay in force and keep
``next_year``; none is attached (their continuing projects are found when next decided). New columns on tables
already under row-level security: no new policy.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 01:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("continues_project_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_projects_continues_project_id", "projects", ["continues_project_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index("ix_projects_continues_project_id", ["continues_project_id"])
    with op.batch_alter_table("result_applications") as batch:
        batch.add_column(sa.Column("applies_to_project_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("in_force", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.create_foreign_key("fk_result_applications_applies_to_project_id", "projects",
                                 ["applies_to_project_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_result_applications_applies_to_project_id", ["applies_to_project_id"])
        batch.create_index("ix_result_applications_tenant_next_year", ["tenant_id", "next_year"])
    with op.batch_alter_table("result_decisions") as batch:
        batch.add_column(sa.Column("applies_to_project_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_result_decisions_applies_to_project_id", "projects",
                                 ["applies_to_project_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("result_decisions") as batch:
        batch.drop_constraint("fk_result_decisions_applies_to_project_id", type_="foreignkey")
        batch.drop_column("applies_to_project_id")
    with op.batch_alter_table("result_applications") as batch:
        batch.drop_index("ix_result_applications_tenant_next_year")
        batch.drop_index("ix_result_applications_applies_to_project_id")
        batch.drop_constraint("fk_result_applications_applies_to_project_id", type_="foreignkey")
        batch.drop_column("in_force")
        batch.drop_column("applies_to_project_id")
    with op.batch_alter_table("projects") as batch:
        batch.drop_index("ix_projects_continues_project_id")
        batch.drop_constraint("fk_projects_continues_project_id", type_="foreignkey")
        batch.drop_column("continues_project_id")
