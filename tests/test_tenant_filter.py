"""The ORM's tenant filter (the first wall, jixiao.db): each scope's statements carry that scope's tenants, and on
PostgreSQL the readable set travels as one array parameter, so a province's statement is as short as a county's."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa
from sqlalchemy import event

from jixiao.accounts.models import Department
from jixiao.db import TenantScope, scoped, system_scope
from jixiao.tenancy import service as tenancy


@contextlib.contextmanager
def sent(app):
    engine = app.extensions["jixiao.db"].engine
    statements: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def department_tenants(db) -> list[int]:
    return sorted(set(db.scalars(sa.select(Department.tenant_id))))


def every_department_tenant(app, is_postgres: bool) -> list[int]:
    """Read past both walls: the owner on PostgreSQL (row-level security shows a platform context no bureau's
    departments), the system scope on SQLite."""
    if is_postgres:
        engine = sa.create_engine(app.config["MIGRATION_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as connection:
                return sorted(connection.execute(sa.text("SELECT DISTINCT tenant_id FROM departments")).scalars())
        finally:
            engine.dispose()
    with app.app_context(), system_scope() as db:
        return department_tenants(db)


def test_each_scope_a_session_enters_filters_by_its_own_tenants(app, is_postgres):
    """The criteria are built once per scope and kept on the session: going back and forth between scopes in one
    session must never reuse another scope's tenants."""
    everyone = every_department_tenant(app, is_postgres)
    with app.app_context(), system_scope() as db:
        lingling = tenancy.get_by_code(db, "431102")
        hunan = tuple(tenancy.subtree_ids(db, tenancy.get_by_code(db, "430000")))
    other = next(t for t in everyone if t != lingling.id)
    assert lingling.id in everyone and len(set(hunan) & set(everyone)) > 1
    with app.app_context():
        for platform in (False, True):  # a platform scope's criteria are built by another lambda
            for read_ids in ((lingling.id,), hunan, (other,), (lingling.id, other), (lingling.id,)):
                with scoped(TenantScope(read_ids=read_ids, platform=platform)) as db:
                    expected = sorted(set(read_ids) & set(everyone))
                    assert department_tenants(db) == expected, (read_ids, platform)


def test_the_readable_tenants_are_one_parameter_whatever_their_number(app, is_postgres):
    with app.app_context(), system_scope() as db:
        lingling, hunan = tenancy.get_by_code(db, "431102"), tenancy.get_by_code(db, "430000")
        province = tuple(tenancy.subtree_ids(db, hunan))
    assert len(province) > 100
    texts = []
    with app.app_context():
        for read_ids in ((lingling.id,), province):
            with scoped(TenantScope(read_ids=read_ids)) as db, sent(app) as statements:
                db.scalars(sa.select(Department.id)).all()
            texts.append([statement for statement, _ in statements if "FROM departments" in statement])
    county, whole = texts
    if is_postgres:
        # Before: one bound parameter per tenant, a statement too long for the driver to keep parsed.
        assert county == whole and len(whole) == 1 and "= ANY (" in whole[0], whole
    else:
        assert len(whole) == 1 and len(whole[0]) > len(county[0])  # SQLite has no arrays: the IN list stays
