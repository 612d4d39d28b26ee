"""The core's tests. Fixtures (app, client, login, create_user) come from jixiao.testing (a pytest plugin)."""

from __future__ import annotations

import pytest
from flask import Flask

from jixiao.testing import create_test_database, drop_test_database, make_app


def pytest_report_header(config: pytest.Config) -> list[str]:
    import os

    database = "PostgreSQL (" + os.environ["JIXIAO_TEST_DATABASE_URL"].split("@")[-1] + ")" if os.environ.get(
        "JIXIAO_TEST_DATABASE_URL") else "SQLite (embedded default)"
    redis = os.environ.get("JIXIAO_TEST_REDIS_URL") or "none (jobs in-process)"
    return [f"jixiao database: {database}", f"jixiao redis: {redis}"]


@pytest.fixture
def is_postgres(jixiao_app: Flask) -> bool:
    return jixiao_app.extensions["jixiao.db"].engine.dialect.name == "postgresql"


@pytest.fixture
def fresh_app(tmp_path, request):
    """An app on a new, migrated, empty database (no tenants). ``@pytest.mark.plugins([...])`` adds plugins."""
    from jixiao import migrate

    marker = request.node.get_closest_marker("plugins")
    database = create_test_database(tmp_path)
    app = make_app(database, tmp_path, EXTRA_PLUGINS=marker.args[0] if marker else ())
    migrate.upgrade(app.config)
    yield app
    app.extensions["jixiao.db"].engine.dispose()
    drop_test_database(database)
