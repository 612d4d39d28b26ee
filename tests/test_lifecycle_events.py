"""Lifecycle events reach the plugins the tenant enables, after the change committed."""

from __future__ import annotations

from jixiao import hookimpl
from jixiao.db import system_scope
from jixiao.tenancy import service as tenancy
from jixiao.testing import api_login, unique
from tests.test_audit_and_api import make_app_like


class EventRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    @hookimpl
    def on_lifecycle_event(self, tenant, event, project, actor, detail):
        self.events.append((tenant.code, event, project.code))


def test_hook_on_lifecycle_event_fires_for_tenants_that_enable_the_plugin(app):
    recorder = EventRecorder()
    with_plugin = make_app_like(app, EXTRA_PLUGINS=[("eventrecorder", recorder)])
    with with_plugin.app_context(), system_scope() as db:
        heshan = tenancy.get_by_code(db, "430903")
        heshan.plugins = ["eventrecorder"]
        db.commit()
    try:
        code = submit_targets(with_plugin, "heshan_finance", "430903")
        assert ("430903", "targets.submitted", code) in recorder.events
        # Lingling does not enable it: its events never reach the plugin.
        before = len(recorder.events)
        submit_targets(with_plugin, "lingling_finance", "431102")
        assert len(recorder.events) == before
    finally:
        with with_plugin.app_context(), system_scope() as db:
            tenancy.get_by_code(db, "430903").plugins = []
            db.commit()


def submit_targets(app, username: str, tenant_code: str) -> str:
    code = unique("E")
    finance = api_login(app, username)
    base = f"/api/v1/tenants/{tenant_code}/projects"
    created = finance.post(base, json={
        "code": code, "name": "事件项目", "year": 2026, "kind": "department_whole",
        "fund_type": "general_public", "department_code": "101", "requested_amount": "100"})
    assert created.status_code == 201, created.get_json()
    pid = created.get_json()["id"]
    finance.put(f"{base}/{pid}/targets", json={"overall_target": "x", "indicators": [
        {"level1": "产出", "level2": "数量指标", "name": "a", "direction": "ge", "target_value": "1", "weight": "50"},
        {"level1": "效益", "level2": "社会效益指标", "name": "b", "direction": "ge", "target_value": "1", "weight": "50"}]})
    assert finance.post(f"{base}/{pid}/targets/submit").status_code == 200
    return code
