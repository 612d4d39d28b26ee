"""Alembic, driven from the app's configuration: migrations run as the owner (MIGRATION_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from jixiao.db import create_engine

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(app_config: Mapping[str, Any]) -> Config:
    config = Config()
    config.set_main_option("script_location", str(app_config.get("MIGRATIONS_PATH") or MIGRATIONS))
    config.attributes["database_url"] = app_config["MIGRATION_DATABASE_URL"]
    config.attributes["app_role"] = app_config["DB_APP_ROLE"]
    return config


def upgrade(app_config: Mapping[str, Any], revision: str = "heads") -> None:
    command.upgrade(alembic_config(app_config), revision)


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
