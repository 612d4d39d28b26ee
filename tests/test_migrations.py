"""Models and migrations agree, and the migrations go down and up again."""

from __future__ import annotations

import ast
import sys

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


# What a migration may import. A revision is history: it must write the same statements on every database,
# today and after any later change to the app, so it carries its own SQL (the row-level security helpers are
# frozen copies inside each revision) and imports nothing live but the standard library, Alembic and
# SQLAlchemy. The one exception is the column types of jixiao.db, named as autogenerate writes them so that the
# migrated schema compares equal to the models (test_models_match_the_migrated_schema): they define how existing
# rows are stored (UTC timestamps, exact decimals kept as text on SQLite), so they cannot change without a data
# migration of their own anyway. migrations/env.py is not a revision: it is the live environment (the models'
# metadata and the coverage check, jixiao.migrate.check_row_level_security).
ALLOWED_PACKAGES = {"alembic", "sqlalchemy", *sys.stdlib_module_names}
ALLOWED_JIXIAO = {"jixiao.db": {"UTCDateTime", "ExactDecimal", "Money"}}


def live_code_used(source: str) -> list[str]:
    """What a migration takes from outside the allowlist: modules imported, and ``jixiao.*`` names used."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names
                      if alias.name.split(".")[0] not in ALLOWED_PACKAGES and alias.name not in ALLOWED_JIXIAO]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            # `from jixiao.db import Money` would hide the use from the attribute check below: not allowed.
            if node.level or module.split(".")[0] not in ALLOWED_PACKAGES | {"__future__"}:
                found += [f"{'.' * node.level}{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "jixiao":
            module = f"jixiao.{node.value.attr}"
            if node.attr not in ALLOWED_JIXIAO.get(module, set()):
                found.append(f"{module}.{node.attr}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "jixiao" \
                and f"jixiao.{node.attr}" not in ALLOWED_JIXIAO:
            found.append(f"jixiao.{node.attr}")
    return sorted(set(found))


def test_migrations_import_no_live_jixiao_code():
    revisions = sorted((migrate.MIGRATIONS / "versions").glob("*.py"))
    assert len(revisions) >= 13
    assert {path.name: live_code_used(path.read_text()) for path in revisions
            if live_code_used(path.read_text())} == {}


def test_the_import_check_sees_live_code():
    assert live_code_used("from jixiao import rls\nrls.protect('t')") == ["jixiao.rls"]
    assert live_code_used("import jixiao.db\njixiao.db.Money(18, 2)\njixiao.db.Base") == ["jixiao.db.Base"]
    assert live_code_used("import jixiao.db\njixiao.rls.protect('t')") == ["jixiao.rls", "jixiao.rls.protect"]
    assert live_code_used("import jixiao.models") == ["jixiao.models"]
    assert live_code_used("from jixiao.db import Money") == ["jixiao.db.Money"]
    assert live_code_used("import re\nimport sqlalchemy as sa\nfrom alembic import op") == []
