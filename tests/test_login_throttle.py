"""Login failure handling (等保 身份鉴别 b): delays per (username, address), a ceiling per address, a lock only
for failures from several addresses — and every refused login answered the same way."""

from __future__ import annotations

import sqlalchemy as sa

from jixiao.testing import DEMO_PASSWORD, make_app, unique
from tests.accounts_clock import bureau_scope, clock_fixture, user_id_of  # noqa: F401 - the clock fixture

LOGIN = "/api/v1/auth/login"


def attempt(app, username: str, password: str, address: str, **extra):
    return app.test_client().post(LOGIN, json={"username": username, "password": password, **extra},
                                  environ_base={"REMOTE_ADDR": address})


def failures_of(app, username: str) -> list[str]:
    from jixiao.accounts.models import LoginFailure
    from jixiao.db import system_scope

    with app.app_context(), system_scope() as db:
        return sorted(db.scalars(sa.select(LoginFailure.address).where(LoginFailure.username == username)))


def test_three_failures_delay_that_pair_only(app, create_user, clock):
    username, here, elsewhere = create_user("431102"), unique("addr"), unique("addr")
    for _ in range(3):
        assert attempt(app, username, "wrong-Password-1", here).status_code == 401
    waiting = attempt(app, username, DEMO_PASSWORD, here)
    assert (waiting.status_code, waiting.headers["Retry-After"]) == (429, "1")
    assert waiting.get_json()["error"]["code"] == "too_many_requests"
    # The owner at another address is not held up by what happened at this one.
    assert attempt(app, username, DEMO_PASSWORD, elsewhere).status_code == 200
    clock.advance(seconds=1)
    assert attempt(app, username, DEMO_PASSWORD, here).status_code == 200


def test_the_delay_doubles_with_each_failure_and_is_capped(app, create_user, clock, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_DELAY_MAX_SECONDS", 8)
    username, address = create_user("431102"), unique("addr")
    waits = []
    for _ in range(8):
        answer = attempt(app, username, "wrong-Password-1", address)
        if answer.status_code == 429:
            waits.append(int(answer.headers["Retry-After"]))
            clock.advance(seconds=waits[-1])
            answer = attempt(app, username, "wrong-Password-1", address)
        assert answer.status_code == 401
    # 2^(n-3) s after the n-th failure, n = 3 … 6, then the cap.
    assert waits == [1, 2, 4, 8, 8]


def test_a_waiting_pair_is_answered_the_same_whether_the_username_exists(app, create_user, clock):
    existing, unknown = create_user("431102"), unique("nobody")
    answers = []
    for username in (existing, unknown):
        address = unique("addr")
        for _ in range(3):
            attempt(app, username, "wrong-Password-1", address)
        answers.append(attempt(app, username, "wrong-Password-1", address))
    assert [a.status_code for a in answers] == [429, 429]
    assert answers[0].get_data() == answers[1].get_data()
    assert answers[0].headers["Retry-After"] == answers[1].headers["Retry-After"] == "1"


def test_failures_from_one_or_two_addresses_never_lock_the_account(app, create_user, clock, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_DELAY_AFTER_FAILURES", 1000)  # only the lock rule is looked at here
    username = create_user("431102")
    two = [unique("addr"), unique("addr")]
    for i in range(30):
        assert attempt(app, username, "wrong-Password-1", two[i % 2]).status_code == 401
    assert attempt(app, username, DEMO_PASSWORD, unique("addr")).status_code == 200


def lock_by_distributed_guessing(app, username: str) -> None:
    """Twenty failures from seven addresses, three each: no address is ever delayed, the account locks."""
    addresses = [unique("attacker") for _ in range(7)]
    for i in range(20):
        assert attempt(app, username, f"guess-Number-{i}", addresses[i % 7]).status_code == 401


def test_distributed_guessing_locks_audits_notifies_and_the_admin_lifts_it(app, create_user, clock, login):
    from jixiao.accounts.models import User
    from jixiao.audit.models import AuditEvent
    from jixiao.jobs.models import Notification

    username = create_user("431102")
    lock_by_distributed_guessing(app, username)
    with app.app_context(), bureau_scope(app, username) as db:
        user = db.scalar(sa.select(User).where(User.username == username))
        user_id = user.id
        assert user.is_locked(clock.now)
        actions = list(db.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "users", AuditEvent.object_id == str(user_id))))
        admin_id = db.scalar(sa.select(User.id).where(User.username == "lingling_admin"))
        notified = db.scalar(sa.select(Notification).where(Notification.user_id == admin_id,
                                                           Notification.kind == "account_locked",
                                                           Notification.url.endswith(f"/users/{user_id}")))
    assert actions.count("user.locked") == 1 and actions.count("user.login_failed") == 20
    assert notified is not None and username in notified.title

    # Locked: the right password from a fresh address is refused, exactly as a wrong one would be.
    assert attempt(app, username, DEMO_PASSWORD, unique("owner")).status_code == 401

    admin = login("lingling_admin")
    page = admin.get(f"/t/431102/users/{user_id}").get_data(as_text=True)
    assert "已锁定" in page and 'id="unlock"' in page
    version = admin.get(f"/api/v1/tenants/431102/users/{user_id}").get_json()["version"]
    lifted = admin.client.post(f"/t/431102/users/{user_id}/unlock",
                               data={"version": version, "csrf_token": admin.csrf_token})
    assert lifted.status_code == 302
    assert attempt(app, username, DEMO_PASSWORD, unique("owner")).status_code == 200


def test_every_refused_login_is_the_same_answer_after_one_password_check(app, create_user, clock, login,
                                                                          monkeypatch):
    from jixiao.accounts import passwords

    locked, deactivated, wrong = create_user("431102"), create_user("431102"), create_user("431102")
    lock_by_distributed_guessing(app, locked)
    admin = login("lingling_admin")
    url = f"/api/v1/tenants/431102/users/{user_id_of(app, deactivated)}"
    off = admin.patch(url, json={"active": False, "version": admin.get(url).get_json()["version"]})
    assert off.status_code == 200, off.get_json()

    checks = []
    original = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash", lambda h, p: checks.append(1) or original(h, p))
    answers = {}
    for case, (username, password) in {
        "unknown user": (unique("nobody"), DEMO_PASSWORD),
        "wrong password": (wrong, "wrong-Password-1"),
        "locked, right password": (locked, DEMO_PASSWORD),
        "deactivated, right password": (deactivated, DEMO_PASSWORD),
    }.items():
        before = len(checks)
        response = attempt(app, username, password, unique("addr"))
        answers[case] = (response.status_code, response.get_data())
        assert len(checks) - before == 1, case
    assert len(set(answers.values())) == 1, answers
    status, body = answers["unknown user"]
    assert status == 401 and "锁定" not in body.decode() and "停用" not in body.decode()


def test_one_address_has_a_ceiling_for_all_usernames(app, clock, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_MAX_FAILURES", 5)
    nat = unique("nat")
    for _ in range(5):
        assert attempt(app, unique("someone"), "wrong-Password-1", nat).status_code == 401
    refused = attempt(app, "lingling_finance", DEMO_PASSWORD, nat)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == app.config["LOGIN_FAILURE_WINDOW_MINUTES"] * 60
    assert attempt(app, unique("someone"), "wrong-Password-1", unique("addr")).status_code == 401
    clock.advance(minutes=app.config["LOGIN_FAILURE_WINDOW_MINUTES"])
    assert attempt(app, "lingling_finance", DEMO_PASSWORD, nat).status_code == 200


def test_the_default_ceiling_is_high_enough_for_a_bureau_behind_one_address(app):
    # A bureau's whole staff behind one NAT address: a few hundred mistypes an hour before anyone waits.
    assert app.config["LOGIN_ADDRESS_MAX_FAILURES"] == 300
    assert (app.config["LOGIN_LOCK_FAILURES"], app.config["LOGIN_LOCK_ADDRESSES"]) == (20, 3)


def test_failures_older_than_the_window_are_pruned(app, clock):
    username = unique("nobody")
    attempt(app, username, "wrong-Password-1", "first")
    clock.advance(minutes=app.config["LOGIN_FAILURE_WINDOW_MINUTES"], seconds=1)
    attempt(app, username, "wrong-Password-1", "second")
    assert failures_of(app, username.casefold()) == ["second"]


def test_a_successful_login_forgets_that_pairs_failures(app, create_user, clock):
    username, address = create_user("431102"), unique("addr")
    for _ in range(2):
        attempt(app, username, "wrong-Password-1", address)
    assert attempt(app, username, DEMO_PASSWORD, address).status_code == 200
    assert failures_of(app, username.casefold()) == []


def test_the_client_address_comes_from_trusted_proxies_only(jixiao_database, tmp_path, app, clock):
    proxied = make_app(jixiao_database, tmp_path, TRUSTED_PROXIES=1)
    try:
        forged, real = unique("nobody"), unique("nobody")
        # Without trusted proxies a client cannot choose its address by a header.
        app.test_client().post(LOGIN, json={"username": forged, "password": "x"},
                               headers={"X-Forwarded-For": "198.51.100.7"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
        proxied.test_client().post(LOGIN, json={"username": real, "password": "x"},
                                   headers={"X-Forwarded-For": "198.51.100.7"},
                                   environ_base={"REMOTE_ADDR": "10.0.0.1"})
        assert failures_of(app, forged) == ["10.0.0.1"]
        assert failures_of(app, real) == ["198.51.100.7"]
    finally:
        proxied.extensions["jixiao.db"].engine.dispose()


def test_old_lockout_settings_are_gone(app):
    assert "LOGIN_MAX_FAILURES" not in app.config and "LOGIN_LOCK_MINUTES" not in app.config
