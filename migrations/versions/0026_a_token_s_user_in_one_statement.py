"""a bearer token's user is its principal: authentication in one statement, principal terms first

Authenticating a bearer token took three statements under three contexts: the token by its hash (context: the
hash), the user by the token's user id (context: the hash and that id), the ids of the user's subtree (the same),
each with a ``set_config`` before it — five round trips before a request's own work, about 10 ms of a county's
JSON page of 50 on a province (136 bureaus), and ``jixiao_context_tenant_ids()`` computed twice. Now one statement
reads the token, its user, the user's bureau and the bureau's subtree under the hash alone: ``users_read``
admits the user of the live token the context's verified hash names, the same user the second statement found by
the token's user id. Nothing else becomes visible: a context without a token hash matches no token (the verified
setting is NULL), a revoked token's user stays hidden (the application refused it before too), and the token's
row is reached through ``api_tokens``' own read policy, under the same context.

Both principal tables also ask their principal terms first. PostgreSQL evaluates a policy's ``OR`` from the left
and each ``(SELECT jixiao_context_…())`` InitPlan only when a row needs it: the principal's own row (found by its
id, username or token hash, through a unique index) no longer computes the readable tenants, and a row of the
bureau still does, once per statement. The rows admitted are the same set: reordering an ``OR`` changes nothing
else.

The application mirrors the new term in ``User.__principal_criteria__`` (the ORM wall), so both walls admit the
same rows.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

READ_IDS = "(SELECT jixiao_context_read_ids())::integer[]"
PLATFORM = "(SELECT jixiao_context_platform())"


def setting(name: str) -> str:
    return f"(SELECT jixiao_context_setting('{name}'))"


TENANT_ROWS = f"tenant_id = ANY ({READ_IDS}) OR (tenant_id IS NULL AND {PLATFORM})"
TOKEN_USER = (f"id = (SELECT k.user_id FROM api_tokens k WHERE k.token_hash = {setting('jixiao.token_hash')} "
              "AND k.revoked_at IS NULL)")

USERS_READ = (f"id = {setting('jixiao.user_id')}::integer OR username = {setting('jixiao.login_username')} "
              f"OR {TOKEN_USER} OR {TENANT_ROWS}")
API_TOKENS_READ = (f"token_hash = {setting('jixiao.token_hash')} OR user_id = {setting('jixiao.user_id')}::integer "
                   f"OR {TENANT_ROWS}")

# As revision 0011 left them.
USERS_READ_BEFORE = (f"{TENANT_ROWS} OR id = {setting('jixiao.user_id')}::integer "
                     f"OR username = {setting('jixiao.login_username')}")
API_TOKENS_READ_BEFORE = (f"{TENANT_ROWS} OR user_id = {setting('jixiao.user_id')}::integer "
                          f"OR token_hash = {setting('jixiao.token_hash')}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER POLICY users_read ON users USING ({USERS_READ})")
    op.execute(f"ALTER POLICY api_tokens_read ON api_tokens USING ({API_TOKENS_READ})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER POLICY users_read ON users USING ({USERS_READ_BEFORE})")
    op.execute(f"ALTER POLICY api_tokens_read ON api_tokens USING ({API_TOKENS_READ_BEFORE})")
