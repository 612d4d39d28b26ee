"""The project page's read model says what each reader may do, and the API agrees with it: a form is shown
exactly when the endpoint behind it accepts the request."""

from __future__ import annotations

import pytest

from jixiao.testing import api_login, unique

BASE = "/api/v1/tenants/431102"
TARGETS = {"overall_target": "全年完成", "indicators": [
    {"level1": "产出", "level2": "数量指标", "name": "培训人次", "direction": "ge", "target_value": "100", "weight": "50"},
    {"level1": "效益", "level2": "社会效益指标", "name": "满意度", "direction": "ge", "target_value": "90", "weight": "50"}]}


@pytest.fixture()
def project_id(app) -> int:
    finance = api_login(app, "lingling_finance")
    created = finance.post(f"{BASE}/projects", json={
        "code": unique("OV"), "name": "读模型项目", "year": 2026, "kind": "project", "fund_type": "general_public",
        "department_code": "101001", "requested_amount": "100000"})
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def permissions(app, username: str, project_id: int):
    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle import common, overview
    from jixiao.tenancy import service as tenancy

    with app.test_request_context(), system_scope() as db:
        tenant = tenancy.get_by_code(db, "431102")
    with app.test_request_context(), scoped(TenantScope(login_username=username)) as db:
        user = db.query(User).filter_by(username=username).one()
    with app.test_request_context(), scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id,
                                                        user_id=user.id)) as db:
        project = common.get_project(db, user, tenant, project_id)
        return overview.project_overview(db, user, tenant, project).may


@pytest.mark.parametrize("username", ["lingling_finance", "lingling_dept", "lingling_auditor", "lingling_viewer",
                                      "lingling_expert"])
def test_the_targets_form_is_offered_exactly_when_the_api_accepts_the_targets(app, project_id, username):
    may = permissions(app, username, project_id)
    answer = api_login(app, username).put(f"{BASE}/projects/{project_id}/targets", json=TARGETS)
    assert answer.status_code in (200, 403), answer.get_json()
    assert may.edit_targets is (answer.status_code == 200), (username, answer.get_json())
    assert may.unit is (username in ("lingling_finance", "lingling_dept"))
    assert may.finance is (username == "lingling_finance")
