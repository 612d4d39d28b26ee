"""jixiao.db.select_many: several aggregate statements in one round trip on PostgreSQL, with the very rows (values
and types) each would give on its own, under the same tenant filter."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from jixiao.db import TenantScope, scoped, select_many, system_scope
from jixiao.lifecycle.models import Project
from jixiao.tenancy import service as tenancy


def statements() -> list[sa.Select]:
    return [
        # Money summed exactly, counts, an enum, a boolean, text.
        sa.select(Project.kind, Project.is_key, sa.func.count(Project.id), sa.func.sum(Project.requested_amount),
                  sa.func.min(Project.code)).group_by(Project.kind, Project.is_key).order_by(Project.kind, Project.is_key),
        # Nothing matches: no rows.
        sa.select(Project.code).where(Project.code == "no-such-project"),
        # An aggregate over nothing: one row of NULL and 0.
        sa.select(sa.func.sum(Project.requested_amount), sa.func.count()).where(Project.year == 1999),
        # Rows, not aggregates: exact decimals at their column's scale, times, dates.
        sa.select(Project.code, Project.requested_amount, Project.approved_amount, Project.created_at,
                  sa.literal(date(2026, 12, 31), sa.Date).label("on")).order_by(Project.code).limit(5),
    ]


def test_the_rows_are_those_of_each_statement_alone(app, is_postgres):
    with app.app_context(), system_scope() as db:
        lingling = tenancy.get_by_code(db, "431102")
    with app.app_context(), scoped(TenantScope(read_ids=(lingling.id,))) as db:
        alone = [[tuple(row) for row in db.execute(statement)] for statement in statements()]
        together = select_many(db, statements())
    assert together == alone
    assert [[tuple(map(type, row)) for row in rows] for rows in together] == \
        [[tuple(map(type, row)) for row in rows] for rows in alone]
    # The very values, as text too: a decimal keeps its column's scale (12.50, not 12.5).
    assert [[tuple(map(str, row)) for row in rows] for rows in together] == \
        [[tuple(map(str, row)) for row in rows] for rows in alone]
    grouped, nothing, over_nothing, listed = together
    assert grouped and nothing == [] and over_nothing == [(None, 0)] and len(listed) == 5
    assert sum(row[2] for row in grouped) > 0


def test_one_statement_on_postgresql_and_the_tenant_filter_in_each_part(app, is_postgres):
    from tests.test_tenant_filter import sent

    with app.app_context(), system_scope() as db:
        lingling, other = tenancy.get_by_code(db, "431102"), tenancy.get_by_code(db, "430000")
    with app.app_context(), scoped(TenantScope(read_ids=(lingling.id,))) as db, sent(app) as seen:
        mine = select_many(db, statements())
    with app.app_context(), scoped(TenantScope(read_ids=(other.id,))) as db:
        theirs = select_many(db, statements())
    assert mine[0] != theirs[0]  # another bureau's scope, another answer
    batched = [statement for statement, _ in seen if "projects" in statement]
    if is_postgres:
        assert len(batched) == 1 and batched[0].count("= ANY (") == len(statements()), batched
    else:
        assert len(batched) == len(statements())
