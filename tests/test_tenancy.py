"""The tenant trees: the shipped YAML, loading (idempotent, validated, all or nothing), inheritance."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from jixiao.db import system_scope
from jixiao.errors import ValidationFailed
from jixiao.plugins import host
from jixiao.tenancy import service as tenancy
from jixiao.tenancy.models import Tenant
from tests.helpers import load, small_tree

TENANTS = Path(__file__).resolve().parents[1] / "tenants"




def test_shipped_trees_hold_every_city_and_county_with_the_seeds_bureaus():
    trees = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in TENANTS.glob("*.yaml")}
    assert set(trees) >= {"hunan", "xizang", "sichuan"}

    def flatten(node, parent=None):
        yield node["code"], parent, node
        for child in node.get("children", []):
            yield from flatten(child, node["code"])

    flat = {code: (parent, node) for tree in trees.values() for code, parent, node in flatten(tree)}
    hunan_counties = [c for c, (p, _) in flat.items() if c.startswith("43") and p and p != "430000"]
    assert len(hunan_counties) == 122
    assert len([c for c, (p, _) in flat.items() if p == "430000"]) == 14
    for code, parent in [("430400", "430000"), ("431102", "431100"), ("430903", "430900"),
                         ("540330", "540300"), ("511903", "511900"), ("540300", "540000"), ("511900", "510000")]:
        assert flat[code][0] == parent, code
    assert flat["430903"][1]["division_type"] == "区"
    assert flat["511903"][1]["division_type"] == "区"
    assert flat["540330"][1]["division_type"] == "县"
    assert trees["hunan"]["plugins"] == ["hunan"]
    assert trees["xizang"]["plugins"] == ["xizang"]
    assert trees["sichuan"]["plugins"] == ["sichuan"]


def test_load_is_idempotent_and_an_edited_file_updates_in_place(fresh_app, tmp_path):
    path = small_tree(tmp_path)
    first = load(fresh_app, path)
    assert sorted(first.created) == ["430000", "431100", "431102", "431103"]
    second = load(fresh_app, path)
    assert second.created == [] and second.updated == {} and second.unchanged == 4
    edited = small_tree(tmp_path, settings={"monitoring.months": [6, 12]})
    third = load(fresh_app, edited)
    assert list(third.updated) == ["431102"]
    assert third.updated["431102"]["settings"] == [{}, {"monitoring.months": [6, 12]}]
    with fresh_app.app_context(), system_scope() as db:
        lingling = tenancy.get_by_code(db, "431102")
        assert lingling.settings == {"monitoring.months": [6, 12]}
        assert db.scalar(sa.select(sa.func.count(Tenant.id))) == 4
        assert "~ 431102 settings" in "\n".join(third.lines())


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"code": "431199"}, "不是有效的行政区划代码"),  # no such division
        ({"code": "430903"}, "上级应为 430900"),  # Heshan is Yiyang's, not Yongzhou's
    ],
)
def test_a_wrong_code_is_rejected_and_nothing_changes(fresh_app, tmp_path, bad, message):
    good = small_tree(tmp_path)
    document = yaml.safe_load(good.read_text(encoding="utf-8"))
    document["children"][0]["children"].append({"name": "错误", **bad})
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationFailed) as excinfo:
        load(fresh_app, broken)
    assert message in str(excinfo.value.fields)
    with fresh_app.app_context(), system_scope() as db:
        assert db.scalar(sa.select(sa.func.count(Tenant.id))) == 0


def test_children_inherit_plugins_and_settings(app):
    with app.app_context(), system_scope() as db:
        lingling = tenancy.get_by_code(db, "431102")
        in_force = {p.name: p for p in tenancy.plugins_in_force(db, host(), lingling)}
        settings = tenancy.effective_settings(db, host(), lingling)
    assert in_force["hunan"].inherited and in_force["hunan"].source_code == "430000"
    assert in_force["national"].installed
    assert "sichuan" not in in_force
    assert settings["monitoring.months"] == list(range(1, 13))  # national default


def test_tenant_api_shows_parent_children_plugins(login):
    yongzhou = login("yongzhou_finance")
    body = yongzhou.get("/api/v1/tenants/431100").get_json()
    assert body["parent"]["code"] == "430000"
    assert body["children_count"] == len(yongzhou.get("/api/v1/tenants/431100/children").get_json()) > 5
    assert {"name": "hunan", "source_code": "430000", "source_name": "湖南省", "inherited": True,
            "installed": True} in body["plugins_in_force"]
    assert body["missing_plugins"] == []


def test_admin_changes_own_settings_and_descendants_inherit(app, login):
    province_admin = login("hunan_admin")
    try:
        response = province_admin.patch("/api/v1/tenants/430000/settings",
                                        json={"settings": {"rectification.default_days": 45}})
        assert response.status_code == 200, response.get_json()
        lingling = login("lingling_finance").get("/api/v1/tenants/431102").get_json()
        assert lingling["settings"]["rectification.default_days"] == 45
    finally:
        with app.app_context(), system_scope() as db:
            hunan = tenancy.get_by_code(db, "430000")
            hunan.settings = {k: v for k, v in (hunan.settings or {}).items() if k != "rectification.default_days"}
            db.commit()
    finance = login("lingling_finance").patch("/api/v1/tenants/431102/settings", json={"settings": {"x": 1}})
    assert finance.status_code == 403


def test_operator_provisions_a_tenant_only_with_a_real_code(fresh_app, tmp_path):
    from jixiao.testing import api_login

    load(fresh_app, small_tree(tmp_path))
    with fresh_app.app_context():
        from jixiao.accounts import service
        from jixiao.db import TenantScope, scoped

        with scoped(TenantScope(system=True, login_username="op1")) as db:
            service.create_user(db, None, None, username="op1", password="operator-pass-1", roles=[], is_operator=True,
                                duty="system")
    operator = api_login(fresh_app, "op1", "operator-pass-1")
    bad = operator.post("/api/v1/tenants", json={"code": "431199"})
    assert bad.status_code == 400 and "code" in bad.get_json()["error"]["fields"]
    ok = operator.post("/api/v1/tenants", json={"code": "431122"})
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["name"] == "东安县" and ok.get_json()["parent_code"] == "431100"
    assert operator.get("/api/v1/tenants/431102").status_code == 404  # operators see no tenant's records
