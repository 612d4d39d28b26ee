"""A database outage answers 503 with Retry-After (never 500), and health says the database is down."""

from __future__ import annotations

import pytest

from jixiao.app import create_app


@pytest.fixture
def outage_app(tmp_path):
    """An app whose database is a PostgreSQL address where nothing listens (a stopped server)."""
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "outage",
                       "DATABASE_URL": "postgresql://jixiao_app@127.0.0.1:9/jixiao",
                       "MIGRATION_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/jixiao"})


def test_health_reports_the_database_down(outage_app):
    response = outage_app.test_client().get("/api/v1/health")
    assert response.status_code == 503  # it was 500 internal_error
    assert response.headers["Retry-After"] == "10"
    assert (response.get_json()["status"], response.get_json()["database"]) == ("unavailable", "down")


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/api/v1/auth/login", {"username": "lingling_finance", "password": "x"}),
    ("get", "/api/v1/public/431102/targets", None),
])
def test_requests_during_an_outage_answer_503_with_retry_after(outage_app, method, path, body):
    response = getattr(outage_app.test_client(), method)(path, json=body)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    assert response.get_json()["error"]["code"] == "service_unavailable"


def test_a_page_during_an_outage_explains_itself(outage_app):
    response = outage_app.test_client().get("/public/431102/")
    assert response.status_code == 503 and "数据库暂时无法访问" in response.get_data(as_text=True)
