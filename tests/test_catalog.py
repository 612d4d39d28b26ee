"""Indicator catalogs (共性指标库): collected from the tenant's plugins, searched through the API and the page.

Biangba (540330, Xizang) gets the xizang plugin's catalog (9 categories, 93 indicators, in force from 2024);
Lingling (431102, Hunan) enables no plugin with a catalog and sees the empty state.
"""

from __future__ import annotations

import pytest

from jixiao import hookimpl
from jixiao.db import system_scope
from jixiao.tenancy import service as tenancy
from jixiao.testing import api_login
from tests.helpers import load, small_tree

BIANGBA, LINGLING = "540330", "431102"
API = "/api/v1/tenants/{code}/catalog"
PAGE = "/t/{code}/catalog"


# ---- API ----------------------------------------------------------------------------------------------------

def test_biangba_gets_the_xizang_catalog_with_every_indicator(login):
    body = login("biangba_finance").get(API.format(code=BIANGBA) + "?year=2024").get_json()
    assert body["year"] == 2024
    [catalog] = body["catalogs"]
    assert catalog["code"] == "xizang-common-2024"
    assert catalog["name"] == "西藏自治区分行业分领域共性绩效指标"
    assert catalog["years"] == [2024, None]
    assert "以财政厅文件为准" in catalog["source"]
    assert len(catalog["categories"]) >= 9 and catalog["count"] >= 93
    assert body["total"] == catalog["count"] == len(body["items"])
    first = body["items"][0]
    assert set(first) >= {"code", "level1", "level2", "name", "direction", "unit", "typical_value", "catalog",
                          "category"}
    assert first["catalog"] == {"code": "xizang-common-2024", "name": catalog["name"]}
    assert first["category"] == {"code": "JY", "name": "教育"}


def test_search_by_words_category_and_level1(login):
    client = login("biangba_finance")
    url = API.format(code=BIANGBA) + "?year=2024"

    def codes(query: str) -> list[str]:
        response = client.get(url + query)
        assert response.status_code == 200, response.get_json()
        return [i["code"] for i in response.get_json()["items"]]

    satisfaction = codes("&q=满意度")
    assert len(satisfaction) == 9 and all(code.endswith(("-011", "-010")) for code in satisfaction)
    education = codes("&category=教育")
    assert education and all(code.startswith("JY-") for code in education)
    assert codes("&category=JY") == education  # the category's code works too
    assert codes("&category=行政运行") == codes("&category=一般公共服务")  # an alias
    assert codes("&category=教育&q=资助 及时") == ["JY-007"]  # every word must appear
    assert codes("&q=jy-00") == education[:9]  # codes, ignoring case
    assert set(codes("&level1=成本")) == {"JT-007", "ZJ-006"}
    assert codes("&q=没有这样的指标") == []
    assert codes("&category=不存在的类别") == []


def test_a_catalog_is_only_in_force_in_its_years(login):
    body = login("biangba_finance").get(API.format(code=BIANGBA) + "?year=2023").get_json()
    assert body == {"year": 2023, "catalogs": [], "items": [], "total": 0}
    later = login("biangba_finance").get(API.format(code=BIANGBA) + "?year=2030").get_json()
    assert later["total"] >= 93  # no last year: in force until replaced


def test_the_region_and_the_city_read_the_county_catalog(login):
    assert login("xizang_admin").get(API.format(code=BIANGBA) + "?year=2024").get_json()["total"] >= 93


def test_lingling_has_no_catalog(login):
    body = login("lingling_finance").get(API.format(code=LINGLING) + "?year=2024").get_json()
    assert body == {"year": 2024, "catalogs": [], "items": [], "total": 0}


def test_year_defaults_to_the_current_year(login):
    from jixiao.statistics.service import current_year

    body = login("biangba_finance").get(API.format(code=BIANGBA)).get_json()
    assert body["year"] == current_year() and body["total"] >= 93


@pytest.mark.parametrize("year", ["abc", "1800"])
def test_a_bad_year_is_refused(login, year):
    client = login("biangba_finance")
    api = client.get(API.format(code=BIANGBA) + f"?year={year}")
    assert api.status_code == 400 and "year" in api.get_json()["error"]["fields"]
    page = client.get(PAGE.format(code=BIANGBA) + f"?year={year}")
    assert page.status_code == 400 and "年度" in page.get_data(as_text=True)


def test_anonymous_is_refused(client):
    assert client.get(API.format(code=BIANGBA)).status_code == 401
    assert client.get(PAGE.format(code=BIANGBA)).status_code == 302


def test_another_branch_cannot_read_the_catalog(login):
    assert login("lingling_finance").get(API.format(code=BIANGBA)).status_code == 404
    assert login("lingling_finance").get(PAGE.format(code=BIANGBA)).status_code == 404


def test_the_openapi_document_describes_the_catalog(app):
    spec = app.extensions["jixiao.api"].spec.to_dict()
    operation = spec["paths"]["/api/v1/tenants/{tenant_code}/catalog"]["get"]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} >= {"year", "q", "category", "level1"}
    assert "CatalogSearch" in spec["components"]["schemas"]


# ---- Page ---------------------------------------------------------------------------------------------------

def test_the_page_lists_the_catalog_with_a_search_box(login):
    response = login("biangba_finance").get(PAGE.format(code=BIANGBA) + "?year=2024")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "西藏自治区分行业分领域共性绩效指标" in html and "2024 年起施行" in html
    assert 'name="q"' in html and 'name="category"' in html and 'name="level1"' in html
    assert "共性指标是同一行业、领域的项目普遍适用的绩效指标" in html
    for header in ("一级指标", "二级指标", "三级指标", "方向", "单位", "参考值", "编码"):
        assert f"<th>{header}</th>" in html
    assert "JY-001" in html and "YB-010" in html and "教育（11）" in html
    assert "全部指标（93）" in html


def test_the_page_searches(login):
    html = login("biangba_finance").get(PAGE.format(code=BIANGBA) + "?year=2024&category=教育&q=满意度"
                                        ).get_data(as_text=True)
    assert "查询结果（1）" in html and "学生及家长满意度" in html and "≥" in html
    assert "JY-001" not in html and "WS-011" not in html
    assert '<option value="教育" selected>' in html
    nothing = login("biangba_finance").get(PAGE.format(code=BIANGBA) + "?year=2024&q=没有这样的指标"
                                           ).get_data(as_text=True)
    assert "没有找到符合条件的指标" in nothing


def test_the_page_says_when_a_region_has_no_catalog(login):
    response = login("lingling_finance").get(PAGE.format(code=LINGLING))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "本地区未配置共性指标库" in html and "<table>" not in html
    before = login("biangba_finance").get(PAGE.format(code=BIANGBA) + "?year=2023").get_data(as_text=True)
    assert "本地区未配置共性指标库" in before


# ---- Service: collected from the enabled plugins only ----------------------------------------------------------

def _catalog(code: str, years: list, name: str = "测试指标库") -> dict:
    return {"code": code, "name": name, "source": "测试", "years": years, "categories": [
        {"code": "T", "name": "测试类", "indicators": [
            {"code": "T-1", "level1": "产出", "level2": "数量指标", "name": "测试指标", "direction": "ge",
             "unit": "个", "typical_value": 3}]}]}


class TwoCatalogs:
    """A test plugin that answers with one catalog in force, one out of force, and a repeated code."""

    @hookimpl
    def register_indicator_catalogs(self, tenant, year):
        return [_catalog("test-a", [2020, None]), _catalog("test-old", [2010, 2015]),
                _catalog("test-a", [2020, None], name="重复")]


@pytest.mark.plugins([("twocatalogs", TwoCatalogs())])
def test_catalogs_are_collected_from_enabled_plugins_only(fresh_app, tmp_path):
    from jixiao.catalog import service

    load(fresh_app, small_tree(tmp_path, plugins=["twocatalogs"]))
    with fresh_app.app_context(), system_scope() as db:
        lingling = service.catalogs_for(db, tenancy.get_by_code(db, "431102"), 2024)
        lengshuitan = service.catalogs_for(db, tenancy.get_by_code(db, "431103"), 2024)
        found = service.search(db, tenancy.get_by_code(db, "431102"), 2024, q="测试", level1="产出")
    assert [c["code"] for c in lingling] == ["test-a"] and lingling[0]["name"] == "测试指标库"
    assert lingling[0]["categories"][0]["aliases"] == []
    assert lingling[0]["categories"][0]["indicators"][0]["typical_value"] == "3"
    assert lengshuitan == []  # a tenant that does not enable the plugin is never answered by it
    assert [i["code"] for i in found] == ["T-1"] and found[0]["category"] == {"code": "T", "name": "测试类"}


def test_the_targets_form_offers_the_catalog_for_the_projects_category(app):
    from tests.test_pages import page_login

    finance = api_login(app, "biangba_finance")
    created = finance.post("/api/v1/tenants/540330/projects", json={
        "code": "CAT-FORM-1", "name": "义务教育营养改善", "year": 2026, "kind": "project",
        "fund_type": "general_public", "category": "教育", "department_code": "101", "requested_amount": "100"})
    assert created.status_code in (201, 400), created.get_json()
    project_id = created.get_json()["id"] if created.status_code == 201 else finance.get(
        "/api/v1/tenants/540330/projects?q=CAT-FORM-1").get_json()["items"][0]["id"]
    client = app.test_client()
    page_login(client, "biangba_finance")
    html = client.get(f"/t/540330/projects/{project_id}").get_data(as_text=True)
    assert 'list="catalog-names"' in html and '<datalist id="catalog-names">' in html
    assert "共性指标库" in html
