"""Models and migrations agree, and the migrations go down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from jixiao import migrate
from jixiao.db import Base, create_engine
from jixiao.testing import create_test_database, drop_test_database, make_app


def diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_models_match_the_migrated_schema(app):
    assert diff(app.config["MIGRATION_DATABASE_URL"]) == []


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    database = create_test_database(tmp_path)
    try:
        app = make_app(database, tmp_path)
        migrate.upgrade(app.config)
        migrate.downgrade(app.config, "base")
        engine = create_engine(database.owner_url)
        with engine.connect() as connection:
            assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
        engine.dispose()
        migrate.upgrade(app.config)
        assert diff(database.owner_url) == []
        assert migrate.current(app.config) is not None
        app.extensions["jixiao.db"].engine.dispose()
    finally:
        drop_test_database(database)
