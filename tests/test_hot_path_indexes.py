"""The indexes migration 0025 adds for the hot paths: there after the upgrade (name, table, columns and the rows
they hold, on PostgreSQL and SQLite), gone after its downgrade.

Whether the planner takes them is not tested here: at the size a test can build through the services (demo_data,
a few dozen projects in a budget year of the tests') monitoring_reports and evaluations fill a page or two, and
the planner rightly reads such a table whole whatever its indexes, and the province generator that makes
realistic sizes only fills years up to this one. The plans were measured on the benchmark's province
(docs/performance.md's larger size): migration 0025's docstring gives the figures."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from jixiao.testing import create_migrated_database, drop_test_database, make_app

#: index → (table, columns, the rows it holds).
HOT_PATH_INDEXES = {
    "ix_monitoring_reports_response_due_for_daily_scan":
        ("monitoring_reports", ["tenant_id", "response_due"], "response_due IS NOT NULL"),
    "ix_evaluations_published_for_public_page": ("evaluations", ["tenant_id"], "published_at IS NOT NULL"),
}


def found_indexes(url: str) -> dict[str, tuple[str, list[str], str]]:
    """The hot-path indexes the database has: name → (table, columns, predicate as the database wrote it)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            found = {}
            for table in {table for table, _columns, _where in HOT_PATH_INDEXES.values()}:
                for index in inspector.get_indexes(table):
                    if index["name"] in HOT_PATH_INDEXES:
                        found[index["name"]] = (table, list(index["column_names"]), predicate(connection, index))
            return found
    finally:
        engine.dispose()


def predicate(connection: sa.Connection, index: dict[str, Any]) -> str:
    if connection.dialect.name == "postgresql":
        definition = connection.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                                        {"name": index["name"]}).scalar_one()
    else:
        definition = connection.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"),
                                        {"name": index["name"]}).scalar_one()
    where = definition.partition(" WHERE ")[2]
    return re.sub(r"^\((.*)\)$", r"\1", where.strip())


def test_the_hot_path_indexes_are_there_after_the_upgrade(app):
    assert found_indexes(app.config["MIGRATION_DATABASE_URL"]) == HOT_PATH_INDEXES


def test_the_downgrade_of_0025_drops_them_and_the_upgrade_makes_them_again(tmp_path):
    from jixiao import migrate

    database = create_migrated_database(tmp_path)
    app = make_app(database, tmp_path)
    try:
        migrate.downgrade(app.config, "0024")
        assert found_indexes(database.owner_url) == {}
        migrate.upgrade(app.config)
        assert found_indexes(database.owner_url) == HOT_PATH_INDEXES
    finally:
        app.extensions["jixiao.db"].engine.dispose()
        drop_test_database(database)
