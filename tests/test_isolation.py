"""Tenant isolation through every tenant-scoped route, generated from the app's URL map.

A new route under /api/v1/tenants/<tenant_code>/ or /t/<tenant_code>/ is covered without editing this file:
- a Lingling (431102) user asking about Heshan (430903, another city's district) gets 404, whatever the method;
- a Hunan province (430000) user reads Lingling but cannot write it (403);
- a Yongzhou (431100) user sees Lingling (its county) and not Hengyang (430400, another city): 404;
- a Lingling user writing to Yongzhou (its parent) gets 403.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from jixiao.testing import api_login

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SKIP_METHODS = {"HEAD", "OPTIONS"}


def tenant_routes(app) -> list[tuple[str, str, tuple[str, ...]]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if "tenant_code" not in rule.arguments:
            continue
        for method in sorted((rule.methods or set()) - SKIP_METHODS):
            routes.append((rule.rule, method, tuple(sorted(rule.arguments - {"tenant_code"}))))
    return routes


def known_ids(app, tenant_code: str) -> dict[str, int]:
    """Real object ids in ``tenant_code`` for the routes' other arguments (so reads can succeed)."""
    from jixiao.accounts.models import Department, User
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, tenant_code)
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            return {
                "user_id": db.scalar(sa.select(sa.func.min(User.id)).where(User.tenant_id == tenant.id)),
                "department_id": db.scalar(sa.select(sa.func.min(Department.id)).where(Department.tenant_id == tenant.id)),
            }


def url_for_rule(rule: str, tenant_code: str, ids: dict[str, int]) -> str:
    url = rule.replace("<tenant_code>", tenant_code)
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", lambda m: str(ids.get(m.group(1)) or 1), url)


def call(session, method: str, url: str):
    kwargs = {"json": {}} if method in UNSAFE else {}
    return getattr(session, method.lower())(url, **kwargs)


def test_the_url_map_has_tenant_routes_in_the_api_and_the_pages(app):
    rules = {r for r, _, _ in tenant_routes(app)}
    assert any(r.startswith("/api/v1/tenants/<tenant_code>") for r in rules)
    assert any(r.startswith("/t/<tenant_code>") for r in rules)


def test_a_sibling_branch_is_404_on_every_route_and_method(app):
    lingling = api_login(app, "lingling_finance")
    ids = known_ids(app, "430903")
    for rule, method, _ in tenant_routes(app):
        response = call(lingling, method, url_for_rule(rule, "430903", ids))
        assert response.status_code == 404, (method, rule, response.status_code)


def test_the_province_reads_a_county_but_cannot_write_it(app):
    province = api_login(app, "hunan_admin")
    ids = known_ids(app, "431102")
    for rule, method, extra in tenant_routes(app):
        response = call(province, method, url_for_rule(rule, "431102", ids))
        if method in UNSAFE:
            assert response.status_code == 403, (method, rule, response.status_code)
        elif not extra or set(extra) <= set(ids):
            assert response.status_code == 200, (method, rule, response.status_code)
        else:
            assert response.status_code not in (401, 403), (method, rule, response.status_code)


def test_a_city_sees_its_county_and_not_another_city(app):
    yongzhou = api_login(app, "yongzhou_finance")
    assert yongzhou.get("/api/v1/tenants/431102").status_code == 200
    assert yongzhou.get("/t/431102/").status_code == 200
    ids = known_ids(app, "430400")
    for rule, method, _ in tenant_routes(app):
        response = call(yongzhou, method, url_for_rule(rule, "430400", ids))
        assert response.status_code == 404, (method, rule, response.status_code)


def test_writing_to_the_parent_is_403(app):
    lingling = api_login(app, "lingling_admin")
    for rule, method, _ in tenant_routes(app):
        if method in UNSAFE:
            response = call(lingling, method, url_for_rule(rule, "431100", {}))
            assert response.status_code == 403, (method, rule, response.status_code)


def test_visible_tenants_are_the_own_subtree(app):
    yongzhou = api_login(app, "yongzhou_finance")
    codes = {t["code"] for t in yongzhou.get("/api/v1/tenants").get_json()}
    assert "431100" in codes and "431102" in codes
    assert "430400" not in codes and "430000" not in codes
    assert all(code.startswith("4311") for code in codes)


@pytest.mark.parametrize("url", ["/api/v1/tenants/431102", "/api/v1/tenants/431102/users", "/t/431102/"])
def test_anonymous_requests_are_refused(client, url):
    response = client.get(url)
    assert response.status_code in (302, 401)
    assert "431102" not in (response.get_data(as_text=True) if response.status_code == 401 else "")


def test_orm_scope_hides_other_tenants_rows_even_without_a_filter(app):
    """Wall one: a query with no tenant filter at all returns only the scope's rows."""
    from jixiao.accounts.models import Department
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            lingling = tenancy.get_by_code(db, "431102")
            everything = db.scalars(sa.select(Department)).all()
        with scoped(TenantScope(read_ids=(lingling.id,))) as db:
            scoped_rows = db.scalars(sa.select(Department)).all()
        with scoped(TenantScope()) as db:
            nothing = db.scalars(sa.select(Department)).all()
    assert {d.tenant_id for d in everything} != {lingling.id}
    assert scoped_rows and {d.tenant_id for d in scoped_rows} == {lingling.id}
    assert nothing == []
