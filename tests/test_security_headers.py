"""Security headers on pages, the API and downloads; no inline script anywhere (the CSP allows none)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jixiao.testing import api_login

ROOT = Path(__file__).resolve().parents[1] / "platform" / "jixiao"


@pytest.mark.parametrize("path", ["/login", "/api/v1/health", "/api/v1/openapi.json", "/static/jixiao.css",
                                  "/api/v1/me", "/public/431102/"])
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    headers = response.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert (headers["X-Frame-Options"], headers["X-Content-Type-Options"], headers["Referrer-Policy"]) == (
        "DENY", "nosniff", "same-origin")
    assert "Strict-Transport-Security" not in headers  # development: no HTTPS to pin


def test_a_logged_in_page_and_a_download_carry_them_too(app):
    user = api_login(app, "lingling_finance")
    for path in ("/t/431102/projects", "/api/v1/tenants/431102/exports/projects"):
        response = user.get(path)
        assert response.status_code == 200, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path


def test_production_pins_https(tmp_path):
    from jixiao.app import create_app

    app = create_app({"ENV": "production", "SECRET_KEY": "x" * 32, "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite3"})
    response = app.test_client().get("/api/v1/health")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_no_template_holds_an_inline_script_or_handler():
    """The job page's script used to be inline; every script is now a static file the CSP allows."""
    offending = []
    for template in ROOT.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", text):
            offending.append(f"{template.relative_to(ROOT)}: {match.group(0)}")
        if re.search(r"\son[a-z]+=\"", text) or "javascript:" in text:
            offending.append(str(template.relative_to(ROOT)))
    assert offending == []


@pytest.mark.parametrize("path", ["/api/v1/tenants/431102/projects/2147483648", "/t/431102/projects/99999999999",
                                  "/api/v1/tenants/431102/evaluations/2147483648"])
def test_an_id_beyond_the_database_range_is_404_not_500(app, path):
    """Path ids above 2³¹−1 reached the database and answered 500 (NumericValueOutOfRange on PostgreSQL)."""
    user = api_login(app, "lingling_finance")
    assert user.get(path).status_code == 404
    assert user.get(path.replace("2147483648", "2147483647").replace("99999999999", "2147483647")).status_code == 404
