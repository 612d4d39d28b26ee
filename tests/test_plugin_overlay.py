"""An operator enables or disables a plugin for a tenant without editing the shipped YAML: stored, audited,
kept across `jixiao tenants load`, and refused to anyone but the system administrator."""

from __future__ import annotations

from pathlib import Path

import pytest

from jixiao.cli import main
from jixiao.testing import tenant_settings
from tests.test_duties import AUDIT, SECURITY, SYSTEM, operators  # noqa: F401 - the operators fixture

ROOT = Path(__file__).resolve().parents[1]
URL = "/api/v1/operator/tenants/{code}/plugins/{plugin}"


@pytest.fixture()
def restored(jixiao_app):
    """Puts back the overlay of the tenants a test changes."""
    from jixiao.db import system_scope
    from jixiao.tenancy import service as tenancy

    codes = ("430000", "430400", "510000")
    with jixiao_app.app_context(), system_scope() as db:
        saved = {code: (list(t.plugins_enabled), list(t.plugins_disabled))
                 for code in codes if (t := tenancy.get_by_code(db, code))}
    yield
    with jixiao_app.app_context(), system_scope() as db:
        for code, (enabled, disabled) in saved.items():
            tenant = tenancy.get_by_code(db, code)
            tenant.plugins_enabled, tenant.plugins_disabled = enabled, disabled
        db.commit()


def test_disabling_a_plugin_takes_it_out_of_force_for_the_subtree_and_survives_a_yaml_reload(app, restored):
    runner = app.test_cli_runner()
    # Hunan's plugin, enabled by the province's YAML, answers for Hengyang's districts.
    assert "hunan" in ask_hook_plugins(app, "430405")
    disabled = runner.invoke(main, ["tenants", "disable", "430400", "hunan"])
    assert disabled.exit_code == 0, disabled.output
    assert "hunan" not in ask_hook_plugins(app, "430405") and "hunan" not in ask_hook_plugins(app, "430400")
    assert "hunan" in ask_hook_plugins(app, "430100")  # another city keeps it
    assert "assessment.reward_min_score.county" not in tenant_settings(app, "430405")
    # Reloading the shipped trees rewrites the YAML's lists, never the operator's overlay.
    reloaded = runner.invoke(main, ["tenants", "load", *map(str, sorted((ROOT / "tenants").glob("*.yaml")))])
    assert reloaded.exit_code == 0, reloaded.output
    assert "hunan" not in ask_hook_plugins(app, "430405")
    again = runner.invoke(main, ["tenants", "disable", "430400", "hunan"])
    assert again.exit_code == 1 and "无需重复" in again.output
    enabled = runner.invoke(main, ["tenants", "enable", "430400", "hunan"])
    assert enabled.exit_code == 0, enabled.output
    assert "hunan" in ask_hook_plugins(app, "430405")


def test_enabling_names_an_installed_plugin(app, restored):
    runner = app.test_cli_runner()
    unknown = runner.invoke(main, ["tenants", "enable", "510000", "guangxi"])
    assert unknown.exit_code == 1 and "guangxi" in unknown.output and "未安装" in unknown.output
    national = runner.invoke(main, ["tenants", "enable", "510000", "national"])
    assert national.exit_code == 1 and "national" in national.output
    made = runner.invoke(main, ["tenants", "enable", "510000", "xizang"])
    assert made.exit_code == 0, made.output
    assert ask_hook_plugins(app, "510100")[:2] == ("sichuan", "xizang")  # the YAML's first, then the operator's


def test_only_the_system_administrator_changes_the_overlay_and_it_is_audited(app, operators, restored):  # noqa: F811
    for name in (SECURITY, AUDIT):
        assert operators[name].put(URL.format(code="430400", plugin="xizang")).status_code == 403, name
    assert app.test_client().put(URL.format(code="430400", plugin="xizang")).status_code == 401
    done = operators[SYSTEM].put(URL.format(code="430400", plugin="xizang"))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["plugins_enabled"] == ["xizang"]
    assert operators[SYSTEM].put(URL.format(code="430400", plugin="xizang")).status_code == 409
    unknown_tenant = operators[SYSTEM].put(URL.format(code="999999", plugin="xizang"))
    assert unknown_tenant.status_code == 404
    removed = operators[SYSTEM].delete(URL.format(code="430400", plugin="xizang"))
    assert removed.status_code == 200 and removed.get_json()["plugins_disabled"] == ["xizang"]
    for action in ("tenant.plugin_enable", "tenant.plugin_disable"):
        events = operators[AUDIT].get(f"/api/v1/audit/events?action={action}").get_json()["items"]
        assert events[0]["object_type"] == "tenants" and events[0]["actor_name"] == operators[SYSTEM].user["username"]


@pytest.mark.parametrize("username", ["lingling_admin", "hunan_admin", "hengyang_finance"])
def test_a_tenants_own_staff_cannot_change_plugins(login, username, restored):
    assert login(username).put(URL.format(code="430000", plugin="xizang")).status_code == 403


def ask_hook_plugins(app, code: str) -> tuple[str, ...]:
    from jixiao.db import system_scope
    from jixiao.lifecycle import common
    from jixiao.tenancy import service as tenancy

    with app.test_request_context(), system_scope() as db:
        return common.tenant_view(db, tenancy.get_by_code(db, code)).plugins



def test_the_operator_page_enables_and_disables_with_the_same_service(app, restored):
    from tests.test_pages import csrf_from, page_login

    client = app.test_client()
    page_login(client, SYSTEM)
    page = client.get("/operator").get_data(as_text=True)
    assert "为财政部门启用或停用插件" in page and "重新加载 YAML 不会覆盖" in page
    token = csrf_from(page)
    done = client.post("/operator", data={"code": "430400", "plugin": "xizang", "action": "enable", "csrf_token": token})
    assert done.status_code == 302
    assert "已为衡阳市（430400）启用插件 xizang" in client.get("/operator").get_data(as_text=True)
    assert "xizang" in ask_hook_plugins(app, "430405")
    again = client.post("/operator", data={"code": "430400", "plugin": "xizang", "action": "enable", "csrf_token": token})
    assert again.status_code == 302 and "无需重复" in client.get("/operator").get_data(as_text=True)
    unknown = client.post("/operator", data={"code": "430400", "plugin": "guangxi", "action": "enable",
                                             "csrf_token": token})
    assert unknown.status_code == 400 and "未安装" in unknown.get_data(as_text=True)
    assert "guangxi" not in ask_hook_plugins(app, "430400")


def test_the_operator_page_refuses_the_other_duties(app):
    from tests.test_pages import csrf_from, page_login

    client = app.test_client()
    page_login(client, AUDIT)
    token = csrf_from(client.get("/operator/audit").get_data(as_text=True))
    refused = client.post("/operator", data={"code": "430400", "plugin": "xizang", "action": "enable",
                                             "csrf_token": token})
    # The audit administrator's /operator is the audit page: the form is never handled for them.
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/operator/audit")
    assert "xizang" not in ask_hook_plugins(app, "430400")
