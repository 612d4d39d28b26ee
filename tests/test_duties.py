"""Separation of duties (三员分立): the system, security and audit administrators, each refused the others' work.

The demo loads one operator per duty: operator_system, operator_security, operator_audit.
"""

from __future__ import annotations

import pytest

from jixiao.cli import main
from jixiao.testing import DEMO_PASSWORD, api_login, unique

SYSTEM, SECURITY, AUDIT = "operator_system", "operator_security", "operator_audit"
OPERATORS = (SYSTEM, SECURITY, AUDIT)

# (method, url, the one operator allowed); reads only, and writes that are refused before they change anything.
API = [
    ("GET", "/api/v1/tenants", SYSTEM),
    ("GET", "/api/v1/plugins", SYSTEM),
    ("GET", "/api/v1/jobs", SYSTEM),
    ("GET", "/api/v1/operator/accounts", SECURITY),
    ("GET", "/api/v1/operator/security", SECURITY),
    ("GET", "/api/v1/audit/events", AUDIT),
    ("GET", "/api/v1/audit/events.xlsx?action=no.such.action", AUDIT),
]
PAGES = [
    ("/operator", SYSTEM),
    ("/jobs", SYSTEM),
    ("/operator/rules", SYSTEM),
    ("/operator/accounts", SECURITY),
    ("/operator/security", SECURITY),
    ("/operator/audit", AUDIT),
    ("/operator/audit/export?action=no.such.action", AUDIT),
]


@pytest.fixture(scope="module")
def operators(jixiao_app):
    return {name: api_login(jixiao_app, name) for name in OPERATORS}


@pytest.mark.parametrize(("method", "url", "allowed"), API)
def test_each_duty_alone_reaches_its_api(operators, method, url, allowed):
    for name, client in operators.items():
        response = getattr(client, method.lower())(url)
        if name == allowed:
            assert response.status_code == 200, (name, url, response.get_data(as_text=True)[:300])
        else:
            assert response.status_code == 403, (name, url, response.status_code)
            assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("url", "allowed"), PAGES)
def test_each_duty_alone_reaches_its_pages(operators, url, allowed):
    for name, client in operators.items():
        response = client.get(url)
        if name == allowed:
            assert response.status_code == 200, (name, url, response.status_code)
        elif url == "/operator":
            # The landing page sends the other duties to their own page.
            assert response.status_code == 302, (name, url, response.status_code)
            assert response.headers["Location"].endswith("/operator/accounts" if name == SECURITY else "/operator/audit")
        else:
            assert response.status_code == 403, (name, url, response.status_code)


def test_provisioning_a_tenant_is_the_system_administrators_alone(operators):
    before = [t["code"] for t in operators[SYSTEM].get("/api/v1/tenants").get_json()]
    for name in (SECURITY, AUDIT):
        refused = operators[name].post("/api/v1/tenants", json={"code": "431199"})
        assert refused.status_code == 403, name
    # The system administrator is asked the same: it gets past the duty check to the code's validity.
    invalid = operators[SYSTEM].post("/api/v1/tenants", json={"code": "431199"})
    assert invalid.status_code == 400 and "code" in invalid.get_json()["error"]["fields"]
    assert [t["code"] for t in operators[SYSTEM].get("/api/v1/tenants").get_json()] == before


@pytest.mark.parametrize("username", ["lingling_admin", "hunan_admin"])
def test_a_tenant_administrator_reaches_no_operator_duty(login, username):
    admin = login(username)
    for _method, url, _allowed in API[3:]:
        assert admin.get(url).status_code == 403, url
    for url, _allowed in PAGES[2:]:
        assert admin.get(url).status_code == 403, url
    assert admin.get("/operator").status_code == 403
    assert admin.post("/api/v1/tenants", json={"code": "431122"}).status_code == 403


def test_the_menu_shows_each_duty_its_own_entries(operators):
    menus = {name: client.get(url).get_data(as_text=True) for name, client, url in (
        (SYSTEM, operators[SYSTEM], "/operator"), (SECURITY, operators[SECURITY], "/operator/accounts"),
        (AUDIT, operators[AUDIT], "/operator/audit"))}
    entries = {SYSTEM: 'href="/operator">', SECURITY: 'href="/operator/accounts">', AUDIT: 'href="/operator/audit">'}
    for name, html in menus.items():
        assert {duty for duty, entry in entries.items() if entry in html} == {name}, name


def test_an_operator_holds_exactly_one_duty(app):
    from jixiao.accounts import service
    from jixiao.db import TenantScope, scoped
    from jixiao.errors import ValidationFailed

    cases = [({"duty": ["system", "audit"]}, "duty"), ({"duty": None}, "duty"), ({"duty": "root"}, "duty"),
             ({"duty": "system", "roles": ["admin"]}, "roles"),
             ({"duty": "audit", "roles": ["security_admin"]}, "duty")]
    with app.app_context():
        for extra, field in cases:
            username = unique("op")
            kwargs = {"roles": [], **extra}
            with scoped(TenantScope(platform=True, login_username=username)) as db, \
                    pytest.raises(ValidationFailed) as refused:
                service.create_user(db, None, None, username=username, password=DEMO_PASSWORD, is_operator=True,
                                    **kwargs)
            assert set(refused.value.fields) == {field}, (extra, refused.value.fields)


def test_the_command_line_creates_an_operator_with_one_duty_only(app):
    runner = app.test_cli_runner()
    two = runner.invoke(main, ["users", "create", "--operator", "--username", unique("op"), "--duty", "system",
                               "--duty", "audit"], input=DEMO_PASSWORD + "\n")
    assert two.exit_code == 1 and "duty:" in two.output
    none = runner.invoke(main, ["users", "create", "--operator", "--username", unique("op")], input=DEMO_PASSWORD + "\n")
    assert none.exit_code == 1 and "duty:" in none.output
    with_role = runner.invoke(main, ["users", "create", "--operator", "--username", unique("op"), "--duty", "audit",
                                     "--role", "admin"], input=DEMO_PASSWORD + "\n")
    assert with_role.exit_code == 1 and "roles:" in with_role.output
    username = unique("op")
    made = runner.invoke(main, ["users", "create", "--operator", "--username", username, "--duty", "audit"],
                         input=DEMO_PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    auditor = api_login(app, username)
    assert auditor.user["roles"] == ["audit_admin"]
    assert auditor.get("/api/v1/audit/events").status_code == 200
    assert auditor.get("/api/v1/plugins").status_code == 403


def test_the_security_administrator_creates_operators_and_tenant_administrators(operators, app):
    security = operators[SECURITY]
    two = security.post("/api/v1/operator/accounts", json={
        "username": unique("op"), "password": DEMO_PASSWORD, "duty": ["system", "security"]})
    assert two.status_code == 400 and set(two.get_json()["error"]["fields"]) == {"duty"}
    with_roles = security.post("/api/v1/operator/accounts", json={
        "username": unique("op"), "password": DEMO_PASSWORD, "duty": "audit", "roles": ["finance"]})
    assert with_roles.status_code == 400 and set(with_roles.get_json()["error"]["fields"]) == {"roles"}
    auditor_name = unique("op")
    auditor = security.post("/api/v1/operator/accounts", json={
        "username": auditor_name, "password": DEMO_PASSWORD, "duty": "audit"})
    assert auditor.status_code == 201, auditor.get_json()
    assert auditor.get_json()["duty"] == "audit_admin" and auditor.get_json()["tenant_code"] is None
    admin_name = unique("adm")
    admin = security.post("/api/v1/operator/accounts", json={
        "username": admin_name, "password": DEMO_PASSWORD, "tenant_code": "431102"})
    assert admin.status_code == 201, admin.get_json()
    assert admin.get_json()["roles"] == ["admin"] and admin.get_json()["tenant_code"] == "431102"
    assert api_login(app, admin_name).get("/api/v1/tenants/431102/users").status_code == 200
    listed = {a["username"]: a for a in security.get("/api/v1/operator/accounts").get_json()}
    assert listed[auditor_name]["duty"] == "audit_admin" and listed[admin_name]["tenant_code"] == "431102"
    assert "lingling_finance" not in listed  # not an administrator: not the security administrator's
    # Neither the system nor the audit administrator may create accounts.
    for name in (SYSTEM, AUDIT):
        assert operators[name].post("/api/v1/operator/accounts", json={
            "username": unique("op"), "password": DEMO_PASSWORD, "duty": "system"}).status_code == 403


def test_the_security_administrator_deactivates_signs_out_and_reactivates(operators, app, create_user):
    security = operators[SECURITY]
    admin_name = create_user("431102", roles=["admin"])
    target = api_login(app, admin_name)
    account_id = target.user["id"]
    signed_out = security.post(f"/api/v1/operator/accounts/{account_id}/sign_out", json={})
    assert signed_out.status_code == 200, signed_out.get_json()
    assert target.get("/api/v1/me").status_code == 401
    deactivated = security.post(f"/api/v1/operator/accounts/{account_id}/deactivate", json={})
    assert deactivated.status_code == 200 and deactivated.get_json()["active"] is False
    refused = app.test_client().post("/api/v1/auth/login", json={"username": admin_name, "password": DEMO_PASSWORD})
    assert refused.status_code == 401
    activated = security.post(f"/api/v1/operator/accounts/{account_id}/activate", json={})
    assert activated.status_code == 200 and activated.get_json()["active"] is True
    assert api_login(app, admin_name).get("/api/v1/me").status_code == 200
    # Not an administrator: the security administrator does not manage it (404, as if it did not exist).
    finance = api_login(app, create_user("431102", roles=["finance"]))
    assert security.post(f"/api/v1/operator/accounts/{finance.user['id']}/deactivate", json={}).status_code == 404
    # Only the security administrator acts on accounts.
    for name in (SYSTEM, AUDIT):
        assert operators[name].post(f"/api/v1/operator/accounts/{account_id}/deactivate", json={}).status_code == 403


def test_the_demo_prints_one_login_per_duty(app):
    from jixiao import demo

    with app.app_context():
        lines = demo.describe_logins()
    operators = [line.split()[0] for line in lines if "平台运维" in line]
    assert operators == list(OPERATORS)


def test_the_security_administrator_resets_a_tenant_administrators_second_factor(operators, app, create_user):
    import sqlalchemy as sa

    from jixiao.accounts import second_factor
    from jixiao.accounts import service as accounts
    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped, utcnow

    admin_name = create_user("431102", roles=["admin"])
    with app.app_context(), scoped(TenantScope(login_username=admin_name)) as db:
        admin = db.scalar(sa.select(User).where(User.username == admin_name))
        with scoped(TenantScope(read_ids=(admin.tenant_id,), write_id=admin.tenant_id, user_id=admin.id)) as db:
            admin = db.get(User, admin.id)
            secret, _uri = accounts.begin_enrollment(db, admin)
            now = utcnow()
            accounts.confirm_enrollment(db, admin, second_factor.code_at(secret, second_factor.current_step(now)), now)
    security = operators[SECURITY]
    listed = {a["username"]: a for a in security.get("/api/v1/operator/accounts").get_json()}
    assert listed[admin_name]["second_factor"] is True
    reset = security.post(f"/api/v1/operator/accounts/{listed[admin_name]['id']}/reset_second_factor", json={})
    assert reset.status_code == 200 and reset.get_json()["second_factor"] is False
    events = operators[AUDIT].get(f"/api/v1/audit/events?action=account.reset_second_factor&actor={SECURITY}"
                                  "&tenant=431102").get_json()["items"]
    assert events[0]["object_id"] == str(listed[admin_name]["id"])


def test_the_security_pages_create_and_act_with_the_same_rules(operators):
    import re

    security = operators[SECURITY]
    html = security.get("/operator/accounts").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    two = security.client.post("/operator/accounts", data={
        "username": unique("op"), "password": DEMO_PASSWORD, "duty": ["system_admin", "audit_admin"],
        "csrf_token": token})
    assert two.status_code == 400 and "一个运维账户只能持有一项职责" in two.get_data(as_text=True)
    username = unique("op")
    made = security.client.post("/operator/accounts", data={
        "username": username, "password": DEMO_PASSWORD, "duty": "audit_admin", "csrf_token": token})
    assert made.status_code == 302
    listing = security.get("/operator/accounts").get_data(as_text=True)
    row = re.search(rf'<tr id="account-(\d+)">\s*<td>{username}</td>', listing)
    assert row and "审计管理员" in listing
    done = security.client.post(f"/operator/accounts/{row.group(1)}/deactivate", data={"csrf_token": token})
    assert done.status_code == 302
    assert {a["username"]: a["active"] for a in security.get("/api/v1/operator/accounts").get_json()}[username] is False
    # The security configuration is shown, never changed here.
    settings = {s["name"] for s in security.get("/api/v1/operator/security").get_json()}
    assert "AUDIT_RETENTION_DAYS" in settings
    assert security.post("/api/v1/operator/security", json={}).status_code == 405
    # The system and audit administrators are refused the same form.
    for name, own_page in ((SYSTEM, "/operator"), (AUDIT, "/operator/audit")):
        own_token = re.search(r'name="csrf_token" value="([^"]+)"',
                              operators[name].get(own_page).get_data(as_text=True)).group(1)
        refused = operators[name].client.post("/operator/accounts", data={
            "username": unique("op"), "password": DEMO_PASSWORD, "duty": "system_admin", "csrf_token": own_token})
        assert refused.status_code == 403, name


def test_existing_operators_become_system_administrators_on_upgrade(tmp_path):
    """Migration 0013: an operator without a duty keeps exactly the powers it had (the system administrator's)."""
    import json

    import sqlalchemy as sa

    from jixiao import migrate
    from jixiao.accounts.models import User
    from jixiao.db import create_engine, utcnow
    from jixiao.testing import create_test_database, drop_test_database, make_app

    database = create_test_database(tmp_path)
    try:
        app = make_app(database, tmp_path)
        migrate.upgrade(app.config, "0012")
        owner = create_engine(database.owner_url)
        users = User.__table__
        with owner.begin() as connection:
            for username, roles in (("old_operator", []), ("audit_operator", ["audit_admin"])):
                connection.execute(sa.insert(users).values(
                    username=username, display_name=username, password_hash="x", roles=roles, is_operator=True,
                    created_at=utcnow(), updated_at=utcnow()))

        def roles() -> dict[str, list[str]]:
            with owner.connect() as connection:
                rows = connection.execute(sa.select(users.c.username, users.c.roles)).all()
            return {name: json.loads(value) if isinstance(value, str) else value for name, value in rows}

        migrate.upgrade(app.config)
        assert roles() == {"old_operator": ["system_admin"], "audit_operator": ["audit_admin"]}
        migrate.downgrade(app.config, "0012")
        assert roles() == {"old_operator": [], "audit_operator": []}
        owner.dispose()
        app.extensions["jixiao.db"].engine.dispose()
    finally:
        drop_test_database(database)


def test_a_tenant_user_never_holds_a_duty(login, app):
    admin = login("lingling_admin")
    refused = admin.post("/api/v1/tenants/431102/users", json={
        "username": unique("u"), "password": DEMO_PASSWORD, "roles": ["audit_admin"]})
    assert refused.status_code == 400 and "roles" in refused.get_json()["error"]["fields"]
    cli = app.test_cli_runner().invoke(main, ["users", "create", "--tenant", "431102", "--username", unique("u"),
                                              "--role", "viewer", "--duty", "audit"], input=DEMO_PASSWORD + "\n")
    assert cli.exit_code == 1 and "--duty is for platform operators" in cli.output
