"""Authentication reads its principal in one statement (revision 0026): a bearer token with its user, the user's
bureau and the bureau's subtree under a context naming only the token's hash; a browser session's user with the
same. Both walls admit the token's user through the live token alone: nobody else, and nobody for a revoked
token."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jixiao import rls
from jixiao.accounts import service as accounts
from jixiao.accounts.models import ApiToken, User
from jixiao.db import TenantScope, apply_settings, create_engine, register_context_key, scoped, system_scope
from jixiao.tenancy import service as tenancy
from jixiao.testing import api_login, unique
from tests.test_query_budget import count_statements

PATH = "/api/v1/tenants/431102/projects?per_page=5"
PRINCIPAL_TABLES = ("FROM api_tokens", "FROM users", "FROM tenants")


def reads_of_principal(statements: list[str]) -> list[str]:
    return [s for s in statements if any(table in s for table in PRINCIPAL_TABLES) and "projects" not in s]


def make_token(app, username: str = "lingling_finance") -> tuple[int, str]:
    made = api_login(app, username).post("/api/v1/auth/tokens", json={"name": unique("一次认证")}).get_json()
    return made["id"], made["token"]


def test_a_bearer_token_authenticates_in_one_statement(app):
    _, token = make_token(app)
    machine, bearer = app.test_client(), {"Authorization": f"Bearer {token}"}
    machine.get(PATH, headers=bearer)  # the first use records the token's use; the second is every other request
    with count_statements(app) as statements:
        assert machine.get(PATH, headers=bearer).status_code == 200
    assert len(reads_of_principal(statements)) == 1, statements
    contexts = [s for s in statements if "set_config" in s]
    # The token's hash, then the request's scope.
    assert len(contexts) == (2 if app.extensions["jixiao.db"].engine.dialect.name == "postgresql" else 0)


def test_a_browser_session_reads_its_user_and_subtree_in_one_statement(app):
    browser = api_login(app, "lingling_finance")
    browser.get(PATH)
    with count_statements(app) as statements:
        assert browser.get(PATH).status_code == 200
    assert len(reads_of_principal(statements)) == 1, statements


def test_the_principal_read_finds_the_same_subtree_as_the_tenancy_service(app):
    _, token = make_token(app, "yongzhou_finance")
    user_id = api_login(app, "yongzhou_finance").user["id"]
    with app.app_context():
        with system_scope() as db:
            expected = tuple(sorted(tenancy.subtree_ids(db, tenancy.get_by_code(db, "431100"))))
        with scoped(TenantScope()) as db:
            by_token = accounts.token_login(db, token)
            db.rollback()
            by_session = accounts.session_principal(db, user_id)
            db.rollback()
    assert len(expected) > 1
    assert by_token is not None and by_token.readable_ids == expected
    assert by_session is not None and by_session.readable_ids == expected


def users_seen(app, scope: TenantScope) -> list[str]:
    with app.app_context(), scoped(scope) as db:
        found = sorted(db.scalars(sa.select(User.username)))
        db.rollback()
        return found


def test_a_token_s_hash_admits_its_own_user_and_no_other(app):
    token_id, token = make_token(app)
    digest = accounts.hash_token(token)
    assert users_seen(app, TenantScope(token_hash=digest)) == ["lingling_finance"]
    assert users_seen(app, TenantScope(token_hash="0" * 64)) == []
    assert users_seen(app, TenantScope()) == []


def test_a_revoked_token_s_hash_admits_no_user(app):
    token_id, token = make_token(app)
    assert api_login(app, "lingling_finance").delete(f"/api/v1/auth/tokens/{token_id}").status_code in (200, 204)
    digest = accounts.hash_token(token)
    assert users_seen(app, TenantScope(token_hash=digest)) == []
    with app.app_context(), scoped(TenantScope(token_hash=digest)) as db:
        # The token's own row stays readable by its hash: that is how authentication tells it was revoked.
        assert db.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1
        assert accounts.token_login(db, token) is None
        db.rollback()


def test_row_level_security_alone_admits_only_the_token_s_user(app, is_postgres):
    """The second wall without the first: a plain SQL read as the application role under the token's context."""
    if not is_postgres:
        pytest.skip("row-level security is PostgreSQL's; CI runs this suite on PostgreSQL")

    _, token = make_token(app)
    engine = create_engine(app.config["DATABASE_URL"])
    register_context_key(engine, rls.context_key(app.config))
    try:
        with engine.begin() as connection:
            apply_settings(connection, TenantScope(token_hash=accounts.hash_token(token)))
            seen = connection.execute(sa.text("SELECT username FROM users")).scalars().all()
            apply_settings(connection, TenantScope(token_hash="f" * 64))
            none = connection.execute(sa.text("SELECT username FROM users")).scalars().all()
    finally:
        engine.dispose()
    assert seen == ["lingling_finance"]
    assert none == []
