"""a campaign's assessor writes its subjects' results: one UPDATE for every subject, not two statements each

A subject's side of a campaign (``assessment_assignments``) lives in the subject's own tenant, and the assessor
writes the subject's result into it when it finalises, publishes, reopens or withdraws. The update policy
admitted only the write tenant's own rows, so the assessor wrote each subject under that subject's own context:
a ``set_config`` and an ``UPDATE`` per subject, 244 statements of the 273 a province's campaign over 122
counties sent to finalise.

The update policy now also admits the rows of a campaign the write tenant runs: ``campaign_id`` among the
assessor's own campaigns (``assessment_campaigns.tenant_id`` = the verified write tenant, read through that
table's own read policy under the same context). That is the rule the application already kept — only the
campaign's assessor writes its subjects' results — now said by the second wall as well, and the assessor's one
statement writes every subject's result. Nothing else becomes writable: a county's context still writes only
its own rows (it runs no campaign over others), an upper level writes no assignment of a campaign another
bureau runs (a city's campaign over its counties stays the city's), and inserts and deletes are unchanged.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 08:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

WRITE_ID = "(SELECT jixiao_context_write_id())"
PLATFORM = "(SELECT jixiao_context_platform())"
OWN_ROWS = f"tenant_id = {WRITE_ID} OR (tenant_id IS NULL AND {PLATFORM})"
ASSESSORS_CAMPAIGN = f"campaign_id IN (SELECT c.id FROM assessment_campaigns c WHERE c.tenant_id = {WRITE_ID})"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    both = f"{OWN_ROWS} OR {ASSESSORS_CAMPAIGN}"
    op.execute(f"ALTER POLICY assessment_assignments_update ON assessment_assignments USING ({both}) "
               f"WITH CHECK ({both})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER POLICY assessment_assignments_update ON assessment_assignments USING ({OWN_ROWS}) "
               f"WITH CHECK ({OWN_ROWS})")
