"""The password policy (等保 身份鉴别 a: 口令复杂度) and the reminder to change an old password."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from jixiao.testing import DEMO_PASSWORD, LoggedInClient, api_login, unique
from tests.accounts_clock import clock_fixture  # noqa: F401 - the clock fixture


def create(admin, username: str, password: str):
    return admin.post("/api/v1/tenants/431102/users", json={"username": username, "password": password,
                                                            "roles": ["viewer"]})


@pytest.mark.parametrize("password, reason", [
    ("12345678", "至少需要 10 个字符"),
    (" " * 8, "不能为空或全是空格"),
    ("abcdefghijkl", "至少 3 类（现有 1 类）"),
    ("woaini1314", "至少 3 类（现有 2 类）"),
    ("1qaz2wsx", "至少需要 10 个字符"),
    ("a123456789", "至少 3 类（现有 2 类）"),
    ("Woaini1314!", "过于常见"),
    ("1qaz@WSX3edc", "过于常见"),
    ("P@ssw0rd123", "过于常见"),
    ("Admin@123456", "过于常见"),
    ("Aa123456789", "过于常见"),
])
def test_weak_passwords_are_refused_saying_why(login, password, reason):
    admin = login("lingling_admin")
    refused = create(admin, unique("weak"), password)
    assert refused.status_code == 400
    fields = refused.get_json()["error"]["fields"]
    assert list(fields) == ["password"] and reason in fields["password"]


@pytest.mark.parametrize("derive", [
    lambda name: name + "-X9",               # contains it
    lambda name: name[::-1] + "-X9",         # reversed
    lambda name: name.upper() + "-x9",       # another case
])
def test_a_password_derived_from_the_username_is_refused(login, derive):
    admin = login("lingling_admin")
    username = unique("staff")
    refused = create(admin, username, derive(username))
    assert refused.status_code == 400
    assert "不能包含用户名" in refused.get_json()["error"]["fields"]["password"]


def test_every_refusal_gives_every_reason(login):
    admin = login("lingling_admin")
    message = create(admin, "zhangsan", "zhangsan").get_json()["error"]["fields"]["password"]
    reasons = message.split("；")
    assert len(reasons) == 4
    for reason, expected in zip(reasons, ["至少需要 10 个字符", "至少 3 类", "不能包含用户名", "过于常见"], strict=True):
        assert expected in reason


def test_the_demo_password_meets_the_policy_for_every_demo_user(app):
    from jixiao import demo
    from jixiao.accounts import passwords

    with app.app_context():
        for username in [u[1] for u in demo.USERS] + [o[0] for o in demo.OPERATORS]:
            assert passwords.problems(DEMO_PASSWORD, username=username) == [], username


def test_a_reset_by_the_administrator_and_the_own_change_follow_the_policy(app, create_user, login):
    username = create_user("431102")
    admin = login("lingling_admin")
    users = {u["username"]: u for u in admin.get("/api/v1/tenants/431102/users").get_json()}
    reset = admin.patch(f"/api/v1/tenants/431102/users/{users[username]['id']}",
                        json={"password": "12345678", "version": users[username]["version"]})
    assert reset.status_code == 400 and "password" in reset.get_json()["error"]["fields"]
    me = api_login(app, username)
    own = me.post("/api/v1/auth/password", json={"current_password": DEMO_PASSWORD, "password": "woaini1314"})
    assert own.status_code == 400 and "至少 3 类" in own.get_json()["error"]["fields"]["password"]
    same = me.post("/api/v1/auth/password", json={"current_password": DEMO_PASSWORD, "password": DEMO_PASSWORD})
    assert same.status_code == 400 and "不能与当前密码相同" in same.get_json()["error"]["fields"]["password"]


def test_the_policy_values_are_configuration(login, monkeypatch, app):
    monkeypatch.setitem(app.config, "PASSWORD_MIN_LENGTH", 20)
    admin = login("lingling_admin")
    refused = create(admin, unique("long"), DEMO_PASSWORD)
    assert "至少需要 20 个字符（现有 16 个）" in refused.get_json()["error"]["fields"]["password"]
    monkeypatch.setitem(app.config, "PASSWORD_MIN_LENGTH", 6)
    monkeypatch.setitem(app.config, "PASSWORD_MIN_CLASSES", 1)
    assert create(admin, unique("short"), "qzmxnwbc").status_code == 201


def test_a_change_is_due_after_the_configured_age(app, create_user, clock):
    username = create_user("431102")
    me = api_login(app, username)
    fresh = me.get("/api/v1/me").get_json()
    changed_at = datetime.fromisoformat(fresh["password_changed_at"])
    due_at = datetime.fromisoformat(fresh["password_change_due_at"])
    assert due_at - changed_at == timedelta(days=app.config["PASSWORD_MAX_AGE_DAYS"])
    assert fresh["password_change_due"] is False

    clock.now = due_at + timedelta(seconds=1)
    again = app.test_client()
    page = again.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    logged_in = again.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf},
                           follow_redirects=True)
    assert "请尽快修改密码" in logged_in.get_data(as_text=True)
    assert again.get("/api/v1/me").get_json()["password_change_due"] is True
    assert "应于" in again.get("/account/password").get_data(as_text=True)

    answer = app.test_client()
    body = answer.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}).get_json()
    assert body["password_change_due"] is True
    relogin = LoggedInClient(answer, body["csrf_token"], body["user"])
    changed = relogin.post("/api/v1/auth/password", json={"current_password": DEMO_PASSWORD,
                                                          "password": "Next-password-2027"})
    assert changed.status_code == 200
    assert relogin.get("/api/v1/me").get_json()["password_change_due"] is False


def test_passwords_are_kept_with_scrypt_at_its_full_cost_outside_the_test_suite(app):
    """The suite's app lowers the KDF's cost for speed; a deployment cannot: the configuration read from the
    environment has no such key, and without it a hash is Werkzeug's scrypt at n = 2^15 (等保 8.1.4.1)."""
    from jixiao.accounts import passwords
    from jixiao.config import load_config

    assert "PASSWORD_HASH_METHOD" not in load_config({})
    assert passwords.hash_password("Jixiao-2026!x").startswith("scrypt:32768:8:1$")  # no app: the default
    with app.app_context():
        lowered = passwords.hash_password("Jixiao-2026!x")
    assert lowered.startswith("scrypt:1024:8:1$") and passwords.verify(lowered, "Jixiao-2026!x")
    assert not passwords.verify(None, "Jixiao-2026!x")
