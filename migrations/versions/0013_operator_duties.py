"""operator duties (三员分立): existing operators without a duty become system administrators

Until now an operator's ``roles`` was empty and the account could do everything an operator could: provision
tenants and read the plugins and the tenant tree. Those are the system administrator's powers, so each such
account keeps exactly them; security and audit administrators are created afterwards
(``jixiao users create --operator --duty security|audit``). No schema change: the duty is the one entry of
``users.roles``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 13:00:00.000000
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

SYSTEM_ADMIN = "system_admin"
DUTIES = ("system_admin", "security_admin", "audit_admin")


def upgrade() -> None:
    # Runs as the owner, which bypasses row-level security (docs/operations.md), so every operator row is seen.
    bind = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("roles", sa.JSON),
                     sa.column("is_operator", sa.Boolean), sa.column("tenant_id", sa.Integer))
    rows = bind.execute(sa.select(users.c.id, users.c.roles).where(users.c.is_operator.is_(True),
                                                                    users.c.tenant_id.is_(None))).all()
    for user_id, roles in rows:
        roles = json.loads(roles) if isinstance(roles, str) else (roles or [])
        if not roles:
            bind.execute(sa.update(users).where(users.c.id == user_id).values(roles=[SYSTEM_ADMIN]))


def downgrade() -> None:
    # Before duties an operator's roles were empty.
    bind = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("roles", sa.JSON),
                     sa.column("is_operator", sa.Boolean))
    for user_id, roles in bind.execute(sa.select(users.c.id, users.c.roles).where(users.c.is_operator.is_(True))).all():
        roles = json.loads(roles) if isinstance(roles, str) else (roles or [])
        if [r for r in roles if r in DUTIES]:
            bind.execute(sa.update(users).where(users.c.id == user_id).values(roles=[r for r in roles if r not in DUTIES]))
