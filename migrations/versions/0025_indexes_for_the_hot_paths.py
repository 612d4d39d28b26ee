"""indexes for the hot paths: the daily scan's warnings falling due, the published evaluations

Chosen from the plans of every statement the benchmark's paths send (benchmarks/, docs/performance.md: the JSON
and HTML project lists, the to-do and public results pages, province and city statistics 含下级, campaign
finalise, the daily scan, the import and the export), replayed in order as the application role under each
path's own tenant context with ``EXPLAIN (ANALYZE, BUFFERS)``, on the larger size (500 projects per county,
长沙市 and its counties: 5,750 projects, 18,521 monitoring reports, 2,539 evaluations). An index costs every
write to its table, so only those with a measured gain are here; each was timed with and without it on the same
data (medians of 20–40 executions, three alternating rounds, 2 shared cores, so the figures move by about 30%).

``ix_monitoring_reports_response_due_for_daily_scan`` — ``monitoring_reports (tenant_id, response_due) WHERE
response_due IS NOT NULL``. The daily scan (``lifecycle/scans.py``) asks every tenant twice for the warnings
whose answer is due: those past due and unanswered (the payment suspension) and those falling due within the
reminder days (``response_due BETWEEN on AND until``). Only a warning has a ``response_due``; without the index
both statements read every report of the tenant through ``ix_monitoring_reports_tenant_id`` and filter them all
away (2,357 a county here). The index holds the warnings only (partial: the monthly reports without a warning,
nearly all of them, cost it no write), and a comparison on ``response_due`` implies the predicate, so both
statements reach it on PostgreSQL and SQLite alike. Measured, the 20 statements of 10 tenants: 4.2–7.1 ms of
execution without it, 0.35–0.40 ms with it (per statement 0.2–0.35 ms → 0.02 ms; the client's round trips
12.2–15.5 ms → 7.1–7.9 ms). The scan's other statements were measured too and kept no index: the red reports
(``light = 'red'``) are a sixth of a tenant's reports, and the planner keeps the tenant index even with a
``(tenant_id, light)`` index beside it (no gain: 66 ms → 60 ms over 20 statements, within the noise).

``ix_evaluations_published_for_public_page`` — ``evaluations (tenant_id) WHERE published_at IS NOT NULL``. The
public results page (``lifecycle/public.py``, 公开, no login) lists a county's published evaluations, and
finalise's published-evaluations metric (``assessment/metrics.py``, ``by_cutoff(Evaluation.published_at)``)
counts them for every subject: both filtered a tenant's evaluations read through ``ix_evaluations_tenant_id``
(463 of 518 dropped for the public county here). Measured: the public page's statement 0.99–1.30 ms → 0.73–0.90
ms, finalise's metric statement (122 subjects) 1.52–2.10 ms → 1.06–1.14 ms. An evaluation is published once, so
the index is written once per published evaluation.

At this size the gains are small against the whole paths, and below their run-to-run spread: in process, with
and without both indexes alternately on the same data, the daily scan took 837–987 ms with them and 906–958 ms
without, finalise 692–832 ms against 721 ms, the public page (test client) 319–334 ms against 285–328 ms. They
are here because they grow with what they spare: the scan's two statements per tenant read every report of the
tenant without the first, and the second spares a read of every evaluation of the tenant.

Measured and left without an index (the plans read most of a table, or the order cannot come from an index):
the statistics' one set-based statement (it aggregates every project of the subtree and its records), finalise's
other metrics (they count most projects of the 122 subjects), the lists' pages (``tenant_id = ANY(…)`` sorts by
year and code over the county's projects, 500 rows: 0.45 ms), the latest light of each project (served by
``uq_monitoring_reports_project_period`` already), the import and the export.

Plain ``CREATE INDEX`` in the migration's transaction, as every revision here: it holds writes to the table while
it builds (well under a second at a province's size). Both indexes are partial on PostgreSQL and SQLite, mirrored
in the models' ``__table_args__`` (``postgresql_where`` / ``sqlite_where``).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

WARNINGS = "response_due IS NOT NULL"
PUBLISHED = "published_at IS NOT NULL"


def upgrade() -> None:
    op.create_index('ix_monitoring_reports_response_due_for_daily_scan', 'monitoring_reports',
                    ['tenant_id', 'response_due'], unique=False,
                    postgresql_where=sa.text(WARNINGS), sqlite_where=sa.text(WARNINGS))
    op.create_index('ix_evaluations_published_for_public_page', 'evaluations', ['tenant_id'], unique=False,
                    postgresql_where=sa.text(PUBLISHED), sqlite_where=sa.text(PUBLISHED))


def downgrade() -> None:
    op.drop_index('ix_evaluations_published_for_public_page', table_name='evaluations')
    op.drop_index('ix_monitoring_reports_response_due_for_daily_scan', table_name='monitoring_reports')
