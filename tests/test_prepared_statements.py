"""The application's PostgreSQL connections keep the statements psycopg prepared across requests.

psycopg prepares a statement once a connection has run it five times, and forgets them all at every rollback;
every read-only request ends with one, so nothing was ever prepared and every request's statements were
planned anew. A request's rollback keeps them (``jixiao.db._rollback_keeping_prepared_statements``); a
rolled-back write still leaves nothing behind; outside a request psycopg's own rollback forgets them.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jixiao.testing import api_login

LIST = "/api/v1/tenants/431102/projects?per_page=5"


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("prepared statements are psycopg's, on PostgreSQL")


def prepared(app) -> list[str]:
    """The statements prepared on the app's pooled connections (each is checked out in turn)."""
    engine = app.extensions["jixiao.db"].engine
    found: list[str] = []
    for _ in range(engine.pool.checkedin()):
        with engine.connect() as connection:
            found += connection.execute(sa.text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    return found


def test_a_request_s_statements_are_prepared_after_a_few_requests_and_stay(app, postgres_only):
    finance = api_login(app, "lingling_finance")
    # The pool hands its connections out in turn: each of them runs the list's statements five times and more.
    for _ in range(6 * max(app.extensions["jixiao.db"].engine.pool.checkedin(), 1)):
        assert finance.get(LIST).status_code == 200
    statements = prepared(app)
    assert any(counts_the_list(statement) for statement in statements), statements
    assert any(statement.startswith("SELECT set_config('jixiao.tenant_ids'") for statement in statements)


def counts_the_list(statement: str) -> bool:
    """The list's count: run by the list alone (not by the fixtures that made the data)."""
    return statement.startswith("SELECT count(*) AS count_1") and "FROM projects" in statement


def test_a_rolled_back_write_leaves_nothing_and_a_failed_transaction_leaves_the_connection_usable(
        app, postgres_only):
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    finance = api_login(app, "lingling_finance")
    for _ in range(6 * max(app.extensions["jixiao.db"].engine.pool.checkedin(), 1)):
        finance.get(LIST)
    with app.app_context():
        with system_scope() as db:
            tenant_id = tenancy.get_by_code(db, "431102").id
        renamed = sa.text("UPDATE projects SET name = name || '（改）' WHERE tenant_id = :t")
        changed = sa.text("SELECT count(*) FROM projects WHERE tenant_id = :t AND name LIKE '%（改）'")
        with scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id)) as db:
            assert db.execute(renamed, {"t": tenant_id}).rowcount > 0
            db.rollback()
            assert db.execute(changed, {"t": tenant_id}).scalar_one() == 0
        with pytest.raises(sa.exc.DataError), scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id)) as db:
            db.execute(sa.text("SELECT 1/0"))
    assert finance.get(LIST).status_code == 200  # the failed transaction was rolled back: the connection goes on


def test_outside_a_request_a_rollback_forgets_them_as_psycopg_does(app, postgres_only):
    """A job's few large statements over many ids are planned for the ids at hand, not kept for a generic plan.
    (One connection throughout: a session would hand its connection back to the pool at the rollback.)"""
    engine = app.extensions["jixiao.db"].engine
    prepared_here = sa.text("SELECT count(*) FROM pg_prepared_statements")
    with app.app_context(), engine.connect() as connection:
        for _ in range(7):
            connection.execute(sa.text("SELECT count(*) FROM tenants WHERE code = :c"), {"c": "431102"})
        assert connection.execute(prepared_here).scalar_one() > 0
        connection.rollback()
        assert connection.execute(prepared_here).scalar_one() == 0
