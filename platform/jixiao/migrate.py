"""Alembic, driven from the app's configuration: migrations run as the owner (MIGRATION_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import jixiao.models  # noqa: F401 - every table on the metadata, for tenant_tables
from jixiao import rls
from jixiao.db import Base, create_engine

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(app_config: Mapping[str, Any]) -> Config:
    config = Config()
    config.set_main_option("script_location", str(app_config.get("MIGRATIONS_PATH") or MIGRATIONS))
    config.attributes["database_url"] = app_config["MIGRATION_DATABASE_URL"]
    config.attributes["app_role"] = app_config["DB_APP_ROLE"]
    if app_config.get("CONTEXT_KEY") or app_config.get("SECRET_KEY"):
        config.attributes["context_key"] = rls.context_key(app_config)
    return config


def upgrade(app_config: Mapping[str, Any], revision: str = "heads") -> None:
    """Migrate, then store the tenant context's key for the database (every time: that is how it rotates).

    Before the upgrade commits, :func:`check_row_level_security` refuses a schema in which a table with a
    ``tenant_id`` column escapes row-level security (raising :class:`jixiao.rls.UnprotectedTables`); it runs
    even when there is nothing to migrate.
    """
    config = alembic_config(app_config)
    config.attributes["check_row_level_security"] = True
    command.upgrade(config, revision)
    store_context_key(app_config)


def check_row_level_security(connection: sa.Connection, script: ScriptDirectory) -> None:
    """Raise :class:`jixiao.rls.UnprotectedTables` unless every table with a ``tenant_id`` is covered.

    Called by ``migrations/env.py`` at the end of an upgrade, in its transaction, so that on PostgreSQL the
    refused revisions roll back with it. On PostgreSQL the catalog is checked; on SQLite, which has no
    row-level security, the tables the applied revisions list in ``RLS_TABLES`` (and protect on PostgreSQL)
    must include every table with a ``tenant_id`` column, and at the newest revision every such mapped table.
    """
    heads = MigrationContext.configure(connection).get_current_heads()
    applied = script.iterate_revisions(heads, "base") if heads else ()
    declared = {table for revision in applied for table in getattr(revision.module, "RLS_TABLES", ())}
    mapped = tenant_tables() if heads and set(heads) == set(script.get_heads()) else []
    missing = rls.unprotected_tables(connection, declared, mapped)
    if missing:
        raise rls.UnprotectedTables(missing)


def tenant_tables() -> list[str]:
    """The models' tables with a ``tenant_id`` column."""
    return sorted(table.name for table in Base.metadata.sorted_tables if "tenant_id" in table.c)


def store_context_key(app_config: Mapping[str, Any]) -> bool:
    """Give the database the key this configuration signs tenant contexts with (PostgreSQL, revision 0011 on).

    The app derives the same key from ``CONTEXT_KEY`` or ``SECRET_KEY`` (:func:`jixiao.rls.context_key`), so
    after a change of either, ``jixiao db upgrade`` puts the two in step again.
    """
    if not (app_config.get("CONTEXT_KEY") or app_config.get("SECRET_KEY")):
        return False
    engine = create_engine(app_config["MIGRATION_DATABASE_URL"])
    try:
        with engine.begin() as connection:
            return rls.store_context_key(connection, rls.context_key(app_config))
    finally:
        engine.dispose()


def downgrade(app_config: Mapping[str, Any], revision: str) -> None:
    command.downgrade(alembic_config(app_config), revision)


def current(app_config: Mapping[str, Any]) -> str | None:
    engine = create_engine(app_config["MIGRATION_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    return ",".join(heads) if heads else None
