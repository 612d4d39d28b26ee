"""The core's tests. Fixtures (app, client, login, create_user) come from jixiao.testing (a pytest plugin)."""

from __future__ import annotations

import pytest
from flask import Flask


def pytest_report_header(config: pytest.Config) -> list[str]:
    import os

    database = "PostgreSQL (" + os.environ["JIXIAO_TEST_DATABASE_URL"].split("@")[-1] + ")" if os.environ.get(
        "JIXIAO_TEST_DATABASE_URL") else "SQLite (embedded default)"
    redis = os.environ.get("JIXIAO_TEST_REDIS_URL") or "none (jobs in-process)"
    return [f"jixiao database: {database}", f"jixiao redis: {redis}"]


@pytest.fixture
def is_postgres(jixiao_app: Flask) -> bool:
    return jixiao_app.extensions["jixiao.db"].engine.dialect.name == "postgresql"
