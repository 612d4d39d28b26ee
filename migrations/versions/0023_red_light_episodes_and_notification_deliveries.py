"""a red light is notified once; a notification is sent once per channel

``monitoring_reports.red_episode``: which red light of the report's this is — a new number each time the light
turns red, kept while it stays red through corrections and answers — so the red-light notices (keyed on it,
no longer on the report's version) are written once per red light. Existing reports start at their version: the
notices already written were keyed on the version, so a report red now keeps the number its last notice was
keyed on, and a report that turns red later gets a number no notice has used.

``notification_deliveries``: each notification a channel beyond the bell (e-mail …) accepted for its recipient,
unique per notification and channel, so the delivery job skips it when retried. Tenant-owned, under forced
row-level security with the usual policies.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jixiao.db

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

# ---- Row-level security, frozen -------------------------------------------------------------------------
# The statements jixiao.rls wrote when this revision was made, copied here (as revision 0019 has them) so that
# the revision keeps writing them whatever the live code becomes. Never edit.

# The tables this revision puts under forced row-level security (the SQLite run checks every table with a
# tenant_id against these lists: jixiao.migrate.check_row_level_security).
RLS_TABLES = ["notification_deliveries"]

PLATFORM_ROW = "(tenant_id IS NULL AND (SELECT jixiao_context_platform()))"
READ = f"tenant_id = ANY ((SELECT jixiao_context_read_ids())::integer[]) OR {PLATFORM_ROW}"
WRITE = f"tenant_id = (SELECT jixiao_context_write_id()) OR {PLATFORM_ROW}"


def is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def protect(table: str) -> None:
    if not is_postgres():
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING ({READ})")
    op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({WRITE})")
    op.execute(f"CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({WRITE}) WITH CHECK ({WRITE})")
    op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({WRITE})")


def unprotect(table: str) -> None:
    if not is_postgres():
        return
    for action in ("read", "insert", "update", "delete"):
        op.execute(f"DROP POLICY IF EXISTS {table}_{action} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def upgrade() -> None:
    with op.batch_alter_table("monitoring_reports") as batch:
        batch.add_column(sa.Column("red_episode", sa.Integer(), nullable=False, server_default=sa.text("0")))
    # The owner reads every row only with BYPASSRLS (docs/operations.md); an owner without it lifts FORCE for
    # this transaction only (DDL is transactional: no other session sees the table unforced), as the purge does.
    unforce = is_postgres() and not op.get_bind().execute(sa.text(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")).scalar()
    if unforce:
        op.execute("ALTER TABLE monitoring_reports NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE monitoring_reports SET red_episode = version")
    if unforce:
        op.execute("ALTER TABLE monitoring_reports FORCE ROW LEVEL SECURITY")
    op.create_table('notification_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('sent_at', jixiao.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'],
                            name=op.f('fk_notification_deliveries_notification_id_notifications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notification_deliveries_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_deliveries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
    sa.UniqueConstraint('notification_id', 'channel', name='uq_notification_deliveries_notification_channel')
    )
    op.create_index(op.f('ix_notification_deliveries_tenant_id'), 'notification_deliveries', ['tenant_id'],
                    unique=False)
    for table in RLS_TABLES:
        protect(table)


def downgrade() -> None:
    for table in RLS_TABLES:
        unprotect(table)
    op.drop_index(op.f('ix_notification_deliveries_tenant_id'), table_name='notification_deliveries')
    op.drop_table('notification_deliveries')
    with op.batch_alter_table("monitoring_reports") as batch:
        batch.drop_column("red_episode")
