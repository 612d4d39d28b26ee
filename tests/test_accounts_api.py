"""Login, CSRF, tokens and the current user, through the API (failed-login handling: test_login_throttle.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jixiao.testing import DEMO_PASSWORD, api_login


def test_login_returns_user_and_csrf_token_and_sets_httponly_cookie(client):
    response = client.post("/api/v1/auth/login", json={"username": "lingling_finance", "password": DEMO_PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["username"] == "lingling_finance"
    assert body["user"]["tenant"]["code"] == "431102"
    assert body["csrf_token"]
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/api/v1/me").get_json()["username"] == "lingling_finance"


def test_wrong_password_is_401_with_structured_error(client):
    response = client.post("/api/v1/auth/login", json={"username": "lingling_finance", "password": "nope-nope"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"


def test_missing_field_names_the_field(client):
    response = client.post("/api/v1/auth/login", json={"username": "x"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert "password" in error["fields"]


def test_anonymous_me_is_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"


def test_cookie_write_without_csrf_token_is_refused(app):
    session = api_login(app, "lingling_admin")
    response = session.client.post("/api/v1/tenants/431102/departments", json={"code": "X1", "name": "无令牌"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    ok = session.post("/api/v1/tenants/431102/departments", json={"code": "CSRF1", "name": "有令牌的部门"})
    assert ok.status_code == 201, ok.get_json()


def test_bearer_token_needs_no_cookie_nor_csrf_and_can_be_revoked(app):
    session = api_login(app, "lingling_admin")
    created = session.post("/api/v1/auth/tokens", json={"name": "预算系统对接"})
    assert created.status_code == 201
    token, token_id = created.get_json()["token"], created.get_json()["id"]
    listed = session.get("/api/v1/auth/tokens").get_json()
    assert [t["id"] for t in listed if t["id"] == token_id]
    assert all("token" not in t for t in listed)

    machine = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert machine.get("/api/v1/me", headers=headers).get_json()["username"] == "lingling_admin"
    write = machine.post("/api/v1/tenants/431102/departments", headers=headers, json={"code": "TOK1", "name": "令牌部门"})
    assert write.status_code == 201, write.get_json()

    assert session.delete(f"/api/v1/auth/tokens/{token_id}").status_code == 204
    assert machine.get("/api/v1/me", headers=headers).status_code == 401
    # A revoked token on a write is 401 too, never a CSRF failure (it used to answer 400 csrf_failed).
    revoked = machine.post("/api/v1/tenants/431102/departments", headers=headers, json={"code": "TOK2", "name": "x"})
    assert (revoked.status_code, revoked.get_json()["error"]["code"]) == (401, "not_authenticated")


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer not-a-token"}, {}])
def test_an_unauthenticated_api_write_is_401_before_csrf(client, headers):
    """An invalid token, or neither a session nor a token: 401 (it was 400 csrf_failed)."""
    response = client.post("/api/v1/tenants/431102/departments", headers=headers, json={"code": "T", "name": "x"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (401, "not_authenticated")
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_token_is_stored_hashed(app):
    from jixiao.accounts.models import ApiToken
    from jixiao.db import system_scope

    session = api_login(app, "lingling_admin")
    token = session.post("/api/v1/auth/tokens", json={"name": "哈希检查"}).get_json()["token"]
    engine = app.extensions["jixiao.db"].engine
    with app.app_context(), system_scope():
        pass
    owner = sa.create_engine(app.config["MIGRATION_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
    with owner.connect() as connection:
        stored = [row[0] for row in connection.execute(sa.select(ApiToken.__table__.c.token_hash))]
    owner.dispose()
    assert token not in stored
    assert engine is not None


def test_passwords_use_a_modern_kdf(app):
    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped

    with app.app_context(), scoped(TenantScope(login_username="lingling_finance")) as db:
        user = db.scalar(sa.select(User).where(User.username == "lingling_finance"))
        assert user.password_hash.startswith("scrypt:")


def test_logout_ends_the_session(app):
    session = api_login(app, "lingling_viewer")
    assert session.post("/api/v1/auth/logout").status_code == 204
    assert session.get("/api/v1/me").status_code == 401
