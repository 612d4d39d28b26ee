"""Sessions that end: logout, password change, deactivation and "sign out everywhere" end every session of the
user; idle and absolute limits are enforced by the server; tokens are refused with 401 once revoked."""

from __future__ import annotations

import pytest

from jixiao.testing import DEMO_PASSWORD, api_login, unique
from tests.accounts_clock import clock_fixture, user_id_of  # noqa: F401 - the clock fixture

NEW_PASSWORD = "Changed-pass-2027"


def copy_of(app, logged_in) -> object:
    """Another browser holding a copy of the session cookie (saved, stolen, or a second tab)."""
    other = app.test_client()
    other.set_cookie("session", logged_in.client.get_cookie("session").value)
    return other


def test_a_saved_cookie_is_refused_after_logout(app, create_user):
    username = create_user("431102")
    browser = api_login(app, username)
    saved = copy_of(app, browser)
    assert saved.get("/api/v1/me").status_code == 200
    assert browser.post("/api/v1/auth/logout").status_code == 204
    assert saved.get("/api/v1/me").status_code == 401


def test_logout_ends_every_session_of_the_user(app, create_user):
    username = create_user("431102")
    laptop, phone = api_login(app, username), api_login(app, username)
    assert laptop.post("/api/v1/auth/logout").status_code == 204
    assert phone.get("/api/v1/me").status_code == 401
    assert api_login(app, username).get("/api/v1/me").status_code == 200


def test_the_page_logout_ends_a_saved_cookie_too(app, create_user):
    username = create_user("431102")
    browser = api_login(app, username)
    saved = copy_of(app, browser)
    assert browser.client.post("/logout", data={"csrf_token": browser.csrf_token}).status_code == 302
    assert saved.get("/api/v1/me").status_code == 401


def test_a_password_change_ends_other_sessions_and_lists_the_tokens_to_review(app, create_user):
    username = create_user("431102", roles=["finance"])  # a role that holds API tokens
    me, elsewhere = api_login(app, username), api_login(app, username)
    token = me.post("/api/v1/auth/tokens", json={"name": "对接"}).get_json()
    revoked = me.post("/api/v1/auth/tokens", json={"name": "旧的"}).get_json()
    assert me.delete(f"/api/v1/auth/tokens/{revoked['id']}").status_code == 204

    changed = me.post("/api/v1/auth/password", json={"current_password": DEMO_PASSWORD, "password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.get_json()
    assert [t["id"] for t in changed.get_json()["tokens"]] == [token["id"]]
    assert elsewhere.get("/api/v1/me").status_code == 401
    # The session that changed it goes on (renewed), and so does the token (listed for review, not revoked).
    assert me.get("/api/v1/me").status_code == 200
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"}).status_code == 200
    assert app.test_client().post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD},
                                  environ_base={"REMOTE_ADDR": unique("addr")}).status_code == 401
    assert api_login(app, username, NEW_PASSWORD).get("/api/v1/me").status_code == 200


def test_a_password_change_needs_the_current_password(app, create_user):
    username = create_user("431102")
    me = api_login(app, username)
    refused = me.post("/api/v1/auth/password", json={"current_password": "not-It-2026", "password": NEW_PASSWORD})
    assert refused.status_code == 400
    assert list(refused.get_json()["error"]["fields"]) == ["current_password"]
    assert me.get("/api/v1/me").status_code == 200


def test_the_password_page_shows_the_active_tokens_after_a_change(app, create_user):
    username = create_user("431102", roles=["finance"])  # a role that holds API tokens
    me = api_login(app, username)
    token = me.post("/api/v1/auth/tokens", json={"name": "预算系统"}).get_json()
    page = me.client.post("/account/password", data={"current_password": DEMO_PASSWORD, "password": NEW_PASSWORD,
                                                     "csrf_token": me.csrf_token})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="active-tokens"' in html
    assert token["token"][:10] in html and "预算系统" in html


def test_deactivation_ends_the_sessions_and_revokes_the_tokens(app, create_user, login):
    username = create_user("431102", roles=["finance"])  # a role that holds API tokens
    user = api_login(app, username)
    token = user.post("/api/v1/auth/tokens", json={"name": "停用检查"}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    admin = login("lingling_admin")
    url = f"/api/v1/tenants/431102/users/{user_id_of(app, username)}"
    off = admin.patch(url, json={"active": False, "version": admin.get(url).get_json()["version"]})
    assert off.status_code == 200, off.get_json()
    assert user.get("/api/v1/me").status_code == 401
    machine = app.test_client()
    assert machine.get("/api/v1/me", headers=bearer).status_code == 401
    # Reactivated, the old token stays revoked.
    on = admin.patch(url, json={"active": True, "version": admin.get(url).get_json()["version"]})
    assert on.status_code == 200, on.get_json()
    assert machine.get("/api/v1/me", headers=bearer).status_code == 401


def test_an_admin_signs_a_user_out_everywhere(app, create_user, login):
    username = create_user("431102")
    user = api_login(app, username)
    admin = login("lingling_admin")
    user_id = user_id_of(app, username)
    assert admin.post(f"/api/v1/tenants/431102/users/{user_id}/sessions/revoke").status_code == 204
    assert user.get("/api/v1/me").status_code == 401
    assert api_login(app, username).get("/api/v1/me").status_code == 200


def test_sign_out_everywhere_from_the_user_page(app, create_user, login):
    username = create_user("431102")
    user = api_login(app, username)
    admin = login("lingling_admin")
    user_id = user_id_of(app, username)
    page = admin.get(f"/t/431102/users/{user_id}").get_data(as_text=True)
    assert 'id="revoke-sessions"' in page and "强制下线" in page
    done = admin.client.post(f"/t/431102/users/{user_id}/sessions/revoke", data={"csrf_token": admin.csrf_token})
    assert done.status_code == 302
    assert user.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("who, url_tenant, status", [
    ("lingling_finance", "431102", 403),   # not an administrator
    ("heshan_finance", "430903", 404),     # another bureau's administrator, through their own tenant
    ("heshan_finance", "431102", 404),     # … or naming this one
])
def test_only_the_users_own_administrators_sign_them_out(app, create_user, login, who, url_tenant, status):
    username = create_user("431102")
    user = api_login(app, username)
    other = login(who)
    answer = other.post(f"/api/v1/tenants/{url_tenant}/users/{user_id_of(app, username)}/sessions/revoke")
    assert answer.status_code == status
    assert user.get("/api/v1/me").status_code == 200


def test_an_idle_session_ends(app, create_user, clock):
    username = create_user("431102")
    user = api_login(app, username)
    idle = app.config["SESSION_IDLE_MINUTES"]
    clock.advance(minutes=idle - 1)
    assert user.get("/api/v1/me").status_code == 200
    clock.advance(minutes=idle - 1)
    assert user.get("/api/v1/me").status_code == 200
    clock.advance(minutes=idle, seconds=1)
    assert user.get("/api/v1/me").status_code == 401


def test_a_busy_session_ends_after_the_absolute_limit(app, create_user, clock):
    username = create_user("431102")
    user = api_login(app, username)
    hours = app.config["SESSION_MAX_HOURS"]
    for _ in range(hours * 3):
        clock.advance(minutes=20)
        assert user.get("/api/v1/me").status_code == 200
    clock.advance(seconds=1)
    assert user.get("/api/v1/me").status_code == 401


def test_no_cookie_outlives_the_browser(app, create_user):
    username = create_user("431102")
    response = app.test_client().post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    cookies = response.headers.getlist("Set-Cookie")
    assert [c.split("=")[0] for c in cookies] == ["session"]
    assert "Expires" not in cookies[0] and "Max-Age" not in cookies[0]
    assert app.permanent_session_lifetime.total_seconds() == app.config["SESSION_MAX_HOURS"] * 3600


def test_a_session_signed_before_generations_existed_is_refused(app, create_user):
    # What a cookie saved before this change held: the bare user id.
    username = create_user("431102")
    signer = app.session_interface.get_signing_serializer(app)
    old = app.test_client()
    old.set_cookie("session", signer.dumps({"_user_id": str(user_id_of(app, username)), "_fresh": True}))
    assert old.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("method", ["post", "patch"])
@pytest.mark.parametrize("kind", ["unknown", "revoked", "deactivated"])
def test_a_refused_bearer_token_on_a_write_is_401_not_a_csrf_failure(app, create_user, login, method, kind):
    admin = login("lingling_admin")
    department = admin.get("/api/v1/tenants/431102/departments").get_json()[0]
    # An administrator's token: valid, it could make both writes.
    username = create_user("431102", roles=["admin"])
    user = api_login(app, username)
    created = user.post("/api/v1/auth/tokens", json={"name": kind}).get_json()
    token = created["token"]
    if kind == "unknown":
        token = "jx_" + "x" * 43
    elif kind == "revoked":
        assert user.delete(f"/api/v1/auth/tokens/{created['id']}").status_code == 204
    else:
        url = f"/api/v1/tenants/431102/users/{user_id_of(app, username)}"
        assert admin.patch(url, json={"active": False, "version": admin.get(url).get_json()["version"]}).status_code == 200
    url, body = {
        "post": ("/api/v1/tenants/431102/departments", {"code": unique("T"), "name": "令牌部门"}),
        "patch": (f"/api/v1/tenants/431102/departments/{department['id']}",
                  {"name": "令牌改名", "version": department["version"]}),
    }[method]
    answer = getattr(app.test_client(), method)(url, headers={"Authorization": f"Bearer {token}"}, json=body)
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (401, "not_authenticated")
