"""The audit log, the error format and the OpenAPI document."""

from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa

from jixiao.testing import unique


def test_state_changes_write_audit_events_with_before_and_after(login):
    admin = login("lingling_admin")
    code = unique("A")[-10:]
    created = admin.post("/api/v1/tenants/431102/departments", json={"code": code, "name": "审计前"}).get_json()
    renamed = admin.patch(f"/api/v1/tenants/431102/departments/{created['id']}",
                          json={"name": "审计后", "version": created["version"]})
    assert renamed.status_code == 200

    from jixiao.audit.models import AuditEvent
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with admin.client.application.app_context():
        with system_scope() as db:
            tenant_id = tenancy.get_by_code(db, "431102").id
        with scoped(TenantScope(read_ids=(tenant_id,))) as db:
            events = db.scalars(sa.select(AuditEvent).where(
                AuditEvent.object_type == "departments", AuditEvent.object_id == str(created["id"]))
                .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["department.create", "department.update"]
    assert events[1].before["name"] == "审计前" and events[1].after["name"] == "审计后"
    assert events[1].actor_name == "lingling_admin" and events[1].tenant_id == tenant_id


def test_a_stale_write_is_409(login):
    admin = login("lingling_admin")
    created = admin.post("/api/v1/tenants/431102/departments", json={"code": unique("V")[-10:], "name": "版本"}).get_json()
    first = admin.patch(f"/api/v1/tenants/431102/departments/{created['id']}", json={"name": "一", "version": 1})
    assert first.status_code == 200
    stale = admin.patch(f"/api/v1/tenants/431102/departments/{created['id']}", json={"name": "二", "version": 1})
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "conflict"


def test_audit_events_are_append_only_in_the_orm(app):
    from jixiao.audit.models import AuditEvent
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant_id = tenancy.get_by_code(db, "431102").id
        with scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id)) as db:
            event = db.scalars(sa.select(AuditEvent).limit(1)).one()
            event.action = "tampered"
            with pytest.raises(PermissionError):
                db.flush()
            db.rollback()


def test_errors_are_structured_json(login):
    finance = login("lingling_finance")
    # The staff list is the administrators' (finance is refused before the id is looked up).
    not_found = login("lingling_admin").get("/api/v1/tenants/431102/users/999999")
    assert not_found.status_code == 404
    assert set(not_found.get_json()["error"]) == {"code", "message", "fields"}
    forbidden = finance.post("/api/v1/tenants/431102/departments", json={"code": "F1", "name": "无权"})
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"
    invalid = login("lingling_admin").post("/api/v1/tenants/431102/users", json={"username": "ab", "roles": ["king"]})
    assert invalid.status_code == 400
    fields = invalid.get_json()["error"]["fields"]
    assert {"username", "password", "roles"} <= set(fields)
    assert finance.get("/api/v1/no-such-thing").get_json()["error"]["code"] == "not_found"


def test_openapi_documents_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "Jixiao API"
    documented = {path for path in spec["paths"]}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api-docs.openapi_json":
            path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule.rule)
            assert path in documented, path
    assert "bearer" in spec["components"]["securitySchemes"]


def test_health_reports_the_database(client, is_postgres):
    body = client.get("/api/v1/health").get_json()
    assert body["status"] == "ok"
    assert body["database"] == ("postgresql" if is_postgres else "sqlite")
    assert body["redis"] == ("ok" if os.environ.get("JIXIAO_TEST_REDIS_URL") else "embedded")


def test_health_says_when_redis_is_down(app):

    broken = make_app_like(app, REDIS_URL="redis://127.0.0.1:1/0")
    assert broken.test_client().get("/api/v1/health").get_json()["redis"] == "unavailable"


def make_app_like(app, **overrides):
    from jixiao.app import create_app

    return create_app({**{k: app.config[k] for k in (
        "DATABASE_URL", "MIGRATION_DATABASE_URL", "DB_APP_ROLE", "INSTANCE_PATH", "SECRET_KEY", "MFA_ROLES")},
        "TESTING": True, **overrides})
