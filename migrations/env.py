"""Alembic environment: the models' metadata, the owner's connection, and the app role for grants."""

from __future__ import annotations

from alembic import context

import jixiao.models  # noqa: F401 - registers every table on the metadata
from jixiao import migrate
from jixiao.db import Base, create_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # Batch migrations rebuild tables; with foreign keys on, dropping the old copy would cascade.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            with connection.begin():
                _run(connection)
    finally:
        engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
    if config.attributes.get("check_row_level_security"):
        # Still inside the upgrade's transaction: on PostgreSQL a refused schema is rolled back, not committed.
        migrate.check_row_level_security(connection, context.script)


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `jixiao db upgrade` against a database")
run_migrations_online()
