"""The second factor (等保 身份鉴别 c): TOTP for administrators and operators, one-time recovery codes, and a
session that can only enroll until it has one."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import sqlalchemy as sa

from jixiao.accounts import second_factor
from jixiao.testing import DEMO_PASSWORD, LoggedInClient, unique
from tests.accounts_clock import bureau_scope, clock_fixture, user_id_of  # noqa: F401 - the clock fixture

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def mfa(app, monkeypatch):
    """The production default: administrators and operators use a second factor."""
    monkeypatch.setitem(app.config, "MFA_ROLES", ["admin", "operator"])


def log_in(app, username: str, otp: str | None = None, password: str = DEMO_PASSWORD, address: str | None = None):
    client = app.test_client()
    body = {"username": username, "password": password} | ({"otp": otp} if otp is not None else {})
    response = client.post(LOGIN, json=body, environ_base={"REMOTE_ADDR": address or unique("addr")})
    return client, response


def logged_in(app, username: str, otp: str | None = None) -> LoggedInClient:
    client, response = log_in(app, username, otp)
    assert response.status_code == 200, response.get_json()
    return LoggedInClient(client, response.get_json()["csrf_token"], response.get_json()["user"])


def enroll(app, username: str, clock) -> tuple[str, list[str]]:
    """Enroll through the API as the user does; the secret and the recovery codes."""
    user = logged_in(app, username)
    secret = user.post("/api/v1/auth/second-factor/enroll").get_json()["secret"]
    codes = user.post("/api/v1/auth/second-factor/confirm",
                      json={"otp": second_factor.code_at(secret, second_factor.current_step(clock.now))})
    assert codes.status_code == 200, codes.get_json()
    return secret, codes.get_json()["recovery_codes"]


def code(secret: str, clock, steps_ahead: int = 0) -> str:
    return second_factor.code_at(secret, second_factor.current_step(clock.now) + steps_ahead)


def test_an_administrator_without_a_factor_gets_a_session_that_can_only_enroll(app, mfa, create_user, clock):
    username = create_user("431102", roles=["admin"])
    client, response = log_in(app, username)
    assert response.status_code == 200 and response.get_json()["second_factor_enrollment_required"] is True
    user = LoggedInClient(client, response.get_json()["csrf_token"], response.get_json()["user"])

    refused = user.get("/api/v1/me")
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "second_factor_enrollment_required")
    assert user.post("/api/v1/auth/tokens", json={"name": "未登记"}).status_code == 403
    page = user.get("/t/431102/")
    assert page.status_code == 302 and page.headers["Location"].endswith("/account/second-factor")

    enrollment = user.post("/api/v1/auth/second-factor/enroll").get_json()
    uri = urlsplit(enrollment["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [enrollment["secret"]] and parse_qs(uri.query)["issuer"] == ["Jixiao"]
    wrong = user.post("/api/v1/auth/second-factor/confirm", json={"otp": code(enrollment["secret"], clock, 3)})
    assert wrong.status_code == 400 and list(wrong.get_json()["error"]["fields"]) == ["otp"]
    confirmed = user.post("/api/v1/auth/second-factor/confirm", json={"otp": code(enrollment["secret"], clock)})
    codes = confirmed.get_json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    # Confirmed with a code: this session has passed the second factor.
    assert user.get("/api/v1/me").get_json()["second_factor_enrolled"] is True
    assert user.post("/api/v1/auth/logout").status_code == 204


def test_an_enrolled_administrator_needs_the_code_only_after_the_right_password(app, mfa, create_user, clock):
    username = create_user("431102", roles=["admin"])
    secret, _codes = enroll(app, username, clock)
    clock.advance(seconds=30)

    _, wrong_password = log_in(app, username, password="wrong-Password-1")
    _, unknown = log_in(app, unique("nobody"), password="wrong-Password-1")
    assert wrong_password.get_data() == unknown.get_data()
    assert wrong_password.get_json()["error"]["code"] == "not_authenticated"

    _, missing = log_in(app, username)
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (401, "second_factor_required")
    _, invalid = log_in(app, username, otp=code(secret, clock, steps_ahead=3))
    assert (invalid.status_code, invalid.get_json()["error"]["code"]) == (401, "second_factor_invalid")
    assert logged_in(app, username, code(secret, clock)).get("/api/v1/me").status_code == 200


def test_a_totp_step_once_used_is_refused(app, mfa, create_user, clock):
    username = create_user("431102", roles=["admin"])
    secret, _codes = enroll(app, username, clock)
    clock.advance(seconds=30)
    now_code = code(secret, clock)
    assert pyotp.TOTP(secret).at(clock.now) == now_code  # the RFC 6238 code any authenticator app shows
    logged_in(app, username, now_code)
    _, replay = log_in(app, username, otp=now_code)
    assert (replay.status_code, replay.get_json()["error"]["code"]) == (401, "second_factor_invalid")
    # The next step (a phone a little ahead) still works, once; a step before the last used one never does.
    logged_in(app, username, code(secret, clock, steps_ahead=1))
    _, earlier = log_in(app, username, otp=code(secret, clock, steps_ahead=-1))
    assert earlier.get_json()["error"]["code"] == "second_factor_invalid"


def test_a_recovery_code_works_once_and_is_stored_hashed(app, mfa, create_user, clock):
    from jixiao.accounts.models import User
    from jixiao.audit.models import AuditEvent
    username = create_user("431102", roles=["admin"])
    _secret, codes = enroll(app, username, clock)
    with app.app_context(), bureau_scope(app, username) as db:
        stored = db.scalar(sa.select(User).where(User.username == username)).recovery_code_hashes
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)

    logged_in(app, username, codes[3].lower())
    _, again = log_in(app, username, otp=codes[3])
    assert (again.status_code, again.get_json()["error"]["code"]) == (401, "second_factor_invalid")
    me = logged_in(app, username, codes[4])
    with app.app_context(), bureau_scope(app, username) as db:
        user = db.scalar(sa.select(User).where(User.username == username))
        used = db.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "users",
                                                             AuditEvent.object_id == str(user.id),
                                                             AuditEvent.action == "user.recovery_code_used")).all()
    assert len(user.recovery_code_hashes) == 8 and len(used) == 2
    assert me.get("/api/v1/me").status_code == 200


def test_wrong_codes_are_throttled_like_wrong_passwords(app, mfa, create_user, clock):
    username = create_user("431102", roles=["admin"])
    secret, _codes = enroll(app, username, clock)
    address = unique("addr")
    for _ in range(3):
        _, invalid = log_in(app, username, otp=code(secret, clock, steps_ahead=5), address=address)
        assert invalid.get_json()["error"]["code"] == "second_factor_invalid"
    _, waiting = log_in(app, username, otp=code(secret, clock, steps_ahead=1), address=address)
    assert waiting.status_code == 429


def test_guessing_codes_from_many_addresses_locks_the_account(app, mfa, create_user, clock):
    username = create_user("431102", roles=["admin"])
    secret, _codes = enroll(app, username, clock)
    addresses = [unique("attacker") for _ in range(7)]
    for i in range(20):
        _, invalid = log_in(app, username, otp=code(secret, clock, steps_ahead=5), address=addresses[i % 7])
        assert invalid.get_json()["error"]["code"] == "second_factor_invalid"
    _, locked = log_in(app, username, otp=code(secret, clock, steps_ahead=1))
    assert (locked.status_code, locked.get_json()["error"]["code"]) == (401, "not_authenticated")


def test_the_operator_needs_a_factor_too(app, mfa):
    _, response = log_in(app, "operator_system")
    assert response.status_code == 200 and response.get_json()["second_factor_enrollment_required"] is True


def test_the_roles_that_need_a_factor_are_configuration(app, create_user):
    # The general suite's setting (JIXIAO_MFA_ROLES empty): an administrator logs in with the password only.
    assert app.config["MFA_ROLES"] == []
    username = create_user("431102", roles=["admin"])
    _, response = log_in(app, username)
    assert response.get_json()["second_factor_enrollment_required"] is False
    from jixiao.config import load_config

    assert load_config({})["MFA_ROLES"] == ["admin", "operator"]


def test_the_login_page_asks_for_the_code_and_the_enrollment_page_enrolls(app, mfa, create_user, clock):
    username = create_user("431102", roles=["admin"])
    browser = app.test_client()
    form = browser.get("/login").get_data(as_text=True)
    assert 'name="otp"' in form and "动态口令" in form
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    first = browser.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf})
    assert first.status_code == 302 and first.headers["Location"].endswith("/account/second-factor")
    page = browser.get("/account/second-factor").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert secret in re.search(r'id="totp-uri">([^<]+)<', page).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = browser.post("/account/second-factor", data={"otp": code(secret, clock), "csrf_token": csrf})
    shown = done.get_data(as_text=True)
    shown_codes = re.findall(r"<li><code>([A-Z0-9-]{19})</code></li>", shown)
    assert done.status_code == 200 and len(shown_codes) == 10
    # Shown once: the page does not show them again.
    assert shown_codes[0] not in browser.get("/account/second-factor").get_data(as_text=True)
    assert browser.get("/api/v1/me").status_code == 200

    clock.advance(seconds=30)
    other = app.test_client()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', other.get("/login").get_data(as_text=True)).group(1)
    asked = other.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf})
    assert asked.status_code == 401 and "请输入动态口令" in asked.get_data(as_text=True)
    entered = other.post("/login", data={"username": username, "password": DEMO_PASSWORD, "otp": code(secret, clock),
                                         "csrf_token": csrf})
    assert entered.status_code == 302


def test_an_administrator_resets_a_lost_factor(app, mfa, create_user, clock, login, monkeypatch):
    username = create_user("431102", roles=["admin"])
    enroll(app, username, clock)
    user_id = user_id_of(app, username)
    monkeypatch.setitem(app.config, "MFA_ROLES", [])  # the resetting administrator logs in with a password here
    other_bureau = login("heshan_finance")
    assert other_bureau.post(f"/api/v1/tenants/431102/users/{user_id}/second-factor/reset").status_code == 404
    assert other_bureau.post(f"/api/v1/tenants/430903/users/{user_id}/second-factor/reset").status_code == 404
    admin = login("lingling_admin")
    reset = admin.post(f"/api/v1/tenants/431102/users/{user_id}/second-factor/reset")
    assert reset.status_code == 200 and reset.get_json()["second_factor_enrolled"] is False
    monkeypatch.setitem(app.config, "MFA_ROLES", ["admin", "operator"])
    _, again = log_in(app, username)
    assert again.status_code == 200 and again.get_json()["second_factor_enrollment_required"] is True
