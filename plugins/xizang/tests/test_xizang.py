from datetime import date
from decimal import Decimal

import pytest

import jixiao_xizang
from jixiao.db import system_scope
from jixiao.lifecycle.common import hooks
from jixiao.plugins import host
from jixiao.tenancy import service as tenancy
from jixiao.testing import unique
from jixiao.toolkit import NATIONAL_INDICATOR_FRAMEWORK, IndicatorView, ProjectView, TargetsView, TenantView

BIANGBA, LINGLING = "540330", "431102"
LUOLONG = "540329"  # 洛隆县, Biangba's neighbour in Qamdo: Xizang, without Biangba's own ex-ante dimensions
DIRECTIONS = {"ge", "gt", "eq", "le", "lt", "qualitative"}


def test_hook_tenant_default_settings(jixiao_app):
    with jixiao_app.app_context(), system_scope() as db:
        biangba = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "540330"))
        lingling = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "431102"))
        luolong = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, LUOLONG))
    assert biangba["monitoring.months_by_kind"]["department_whole"] == [6]
    assert "monitoring.months_by_kind" not in lingling
    assert biangba["targets.common_indicators_from_catalog"] is True
    assert "targets.common_indicators_from_catalog" not in lingling
    # Biangba's own ex-ante dimensions (data/exante.yaml), and no other tenant's.
    assert biangba["exante.dimension_set"] == "biangba"
    assert "exante.dimension_set" not in lingling and "exante.dimension_set" not in luolong


def test_discovered(jixiao_app):
    infos = {i.name: i for i in jixiao_app.extensions["jixiao.plugins"].info()}
    assert infos["xizang"].distribution == "jixiao-xizang"
    assert {"register_indicator_catalogs", "validate_targets"} <= set(infos["xizang"].hooks)


# ---- The catalog (seed 001: 9 categories, 93 indicators) ------------------------------------------------------


def catalogs_of(app, code: str, year: int) -> list:
    with app.app_context(), system_scope() as db:
        answers = hooks(db, tenancy.get_by_code(db, code)).register_indicator_catalogs(year=year)
    return [catalog for answer in answers for catalog in answer or []]


def test_hook_register_indicator_catalogs(jixiao_app):
    [catalog] = catalogs_of(jixiao_app, BIANGBA, 2024)
    assert catalog["code"] == "xizang-common-2024"
    assert catalog["name"] == "西藏自治区分行业分领域共性绩效指标"
    assert catalog["years"] == [2024, None]
    assert "9类93条" in catalog["source"] and "以财政厅文件为准" in catalog["source"]
    categories = catalog["categories"]
    assert len(categories) >= 9
    assert {"教育", "卫生健康", "农业农村", "交通运输", "社会保障和就业", "文化旅游体育", "生态环境",
            "住房城乡建设", "一般公共服务"} <= {c["name"] for c in categories}
    indicators = [i for c in categories for i in c["indicators"]]
    assert len(indicators) >= 93
    assert len({i["code"] for i in indicators}) == len(indicators)
    for category in categories:
        assert category["code"] and category["name"] and len(category["indicators"]) >= 3
        names = [i["name"] for i in category["indicators"]]
        assert len(set(names)) == len(names), category["name"]
        for item in category["indicators"]:
            assert item["code"].startswith(category["code"] + "-"), item
            assert item["level2"] in NATIONAL_INDICATOR_FRAMEWORK[item["level1"]], item
            assert item["direction"] in DIRECTIONS, item
            assert item["name"].strip() and isinstance(item["unit"], str), item
            assert isinstance(item["typical_value"], str) and item["typical_value"], item
            assert item["unit"] or item["direction"] == "qualitative", item
        level1s = {i["level1"] for i in category["indicators"]}
        assert {"产出", "效益", "满意度"} <= level1s, category["name"]  # enough to fill a valid target table


def test_the_catalog_is_in_force_from_2024_only(jixiao_app):
    assert catalogs_of(jixiao_app, BIANGBA, 2023) == []
    assert len(catalogs_of(jixiao_app, BIANGBA, 2031)) == 1


def test_a_tenant_that_does_not_enable_xizang_gets_no_catalog(jixiao_app):
    assert catalogs_of(jixiao_app, LINGLING, 2024) == []


def test_every_xizang_tenant_inherits_the_catalog(jixiao_app):
    assert len(catalogs_of(jixiao_app, "540000", 2024)) == 1  # the region, which enables the plugin
    assert len(catalogs_of(jixiao_app, "540102", 2024)) == 1  # Chengguan, Lhasa: inherited


def test_a_broken_data_file_is_refused_naming_the_entry():
    good = {"code": "c", "name": "n", "years": [2024, None], "categories": [
        {"code": "JY", "name": "教育", "indicators": [
            {"code": "JY-001", "level1": "产出", "level2": "数量指标", "name": "受资助学生人数", "direction": "ge",
             "unit": "人", "typical_value": 500}]}]}
    checked = jixiao_xizang._checked_catalog(good)
    assert checked["categories"][0]["indicators"][0]["typical_value"] == "500"
    bad_level = {**good, "categories": [{**good["categories"][0], "indicators": [
        {**good["categories"][0]["indicators"][0], "level2": "效益指标"}]}]}
    with pytest.raises(jixiao_xizang.CatalogFileError, match="JY-001"):
        jixiao_xizang._checked_catalog(bad_level)
    repeated = {**good, "categories": [{**good["categories"][0], "indicators": good["categories"][0]["indicators"] * 2}]}
    with pytest.raises(jixiao_xizang.CatalogFileError, match="重复"):
        jixiao_xizang._checked_catalog(repeated)
    with pytest.raises(jixiao_xizang.CatalogFileError, match="years"):
        jixiao_xizang._checked_catalog({**good, "years": [2025, 2024]})


def test_successive_versions_each_in_force_in_their_years(monkeypatch):
    def version(code, years, name):
        return {"code": code, "name": code, "years": years, "categories": [{"code": "JY", "name": "教育", "indicators": [
            {"code": "JY-001", "level1": "产出", "level2": "数量指标", "name": name, "direction": "ge", "unit": "人",
             "typical_value": "1"}]}]}

    data = {"catalogs": [version("old", [2024, 2025], "旧指标"), version("new", [2026, None], "新指标")]}
    monkeypatch.setattr(jixiao_xizang, "load_data_file", lambda package, name: data)
    monkeypatch.setattr(jixiao_xizang, "_stamp", lambda: -1)  # a fresh cache entry
    assert [c["code"] for c in jixiao_xizang.register_indicator_catalogs(tenant=None, year=2025)] == ["old"]
    assert [c["code"] for c in jixiao_xizang.register_indicator_catalogs(tenant=None, year=2026)] == ["new"]
    assert jixiao_xizang.register_indicator_catalogs(tenant=None, year=2023) == []
    assert jixiao_xizang.category_for("教育", 2027)[1]["indicators"][0]["name"] == "新指标"


# ---- Target validation: common indicators from the catalog ----------------------------------------------------


def row(level1, level2, name, direction, value, unit, weight, code=None, text=""):
    return {"level1": level1, "level2": level2, "name": name, "direction": direction,
            "target_value": value, "unit": unit, "weight": weight, "catalog_code": code, "target_text": text}


CATALOG_ROWS = [
    row("产出", "数量指标", "新建（改扩建）校舍面积", "ge", "2000", "平方米", "30", "JY-003"),
    row("产出", "时效指标", "资助资金发放及时率", "eq", "100", "%", "20", "JY-007"),
    row("效益", "社会效益指标", "义务教育巩固率", "ge", "97", "%", "30", "JY-009"),
    row("满意度", "服务对象满意度指标", "学生及家长满意度", "ge", "90", "%", "10", "JY-011"),
]
OUTSIDE = row("产出", "数量指标", "购置图书册数", "ge", "5000", "册", "10")


def new_project(client, tenant_code: str, *, kind: str = "project", category: str = "教育", year: int = 2024) -> dict:
    response = client.post(f"/api/v1/tenants/{tenant_code}/projects", json={
        "code": unique("xz"), "name": "义务教育学校办学条件改善", "year": year, "kind": kind,
        "fund_type": "general_public", "category": category, "department_code": "101",
        "requested_amount": "800000.00"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def fill_and_submit(client, tenant_code: str, project: dict, rows: list) -> object:
    base = f"/api/v1/tenants/{tenant_code}/projects/{project['id']}/targets"
    current = client.get(base)  # a set already saved is replaced with the version read
    version = current.get_json()["version"] if current.status_code == 200 else None
    put = client.put(base, json={"overall_target": "改善义务教育学校办学条件，保障适龄儿童少年接受义务教育。",
                                 "indicators": rows, "version": version})
    assert put.status_code == 200, put.get_json()
    return client.post(f"{base}/submit")


def test_hook_validate_targets(login):
    """Xizang: a Biangba education project with a common indicator outside the catalog is rejected naming it."""
    client = login("biangba_finance")
    project = new_project(client, BIANGBA)
    refused = fill_and_submit(client, BIANGBA, project, [OUTSIDE, *CATALOG_ROWS])
    assert refused.status_code == 400, refused.get_json()
    fields = refused.get_json()["error"]["fields"]
    assert list(fields) == ["indicators[1].name"]
    message = fields["indicators[1].name"]
    assert message.startswith("“购置图书册数”不是本行业（教育）共性指标；可选：")
    suggested = message.split("可选：")[1].split("、")
    assert len(suggested) == 3 and all("（JY-" in s for s in suggested)
    assert "受资助学生人数（JY-002）" in suggested  # the closest 数量指标 by name

    # The same table with the catalog's indicator in its place is accepted.
    accepted = fill_and_submit(client, BIANGBA, project, [
        row("产出", "数量指标", "受资助学生人数", "ge", "600", "人", "10", "JY-002"), *CATALOG_ROWS])
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "submitted"


def test_the_same_project_in_lingling_is_not_judged_by_xizang(login):
    """A tenant that does not enable a plugin is never answered by it (Lingling, Hunan)."""
    client = login("lingling_finance")
    project = new_project(client, LINGLING)
    response = fill_and_submit(client, LINGLING, project, [OUTSIDE, *CATALOG_ROWS])
    assert response.status_code == 200, response.get_json()


def test_a_code_from_another_category_or_a_renamed_catalog_indicator_is_refused(login):
    client = login("biangba_finance")
    project = new_project(client, BIANGBA)
    rows = [row("产出", "数量指标", "家庭医生签约服务人数", "ge", "100", "人", "10", "WS-001"),
            row("产出", "数量指标", "受资助学生总人数", "ge", "600", "人", "10", "JY-002"),
            row("产出", "数量指标", "享受“三包”政策学生人数", "eq", "3000", "人", "10", "JY-001"),
            row("产出", "质量指标", "校舍工程验收合格率", "eq", "100", "%", "10", "JY-404"),
            *CATALOG_ROWS]
    fields = fill_and_submit(client, BIANGBA, project, rows).get_json()["error"]["fields"]
    assert "属于“卫生健康”类，不是本行业（教育）共性指标" in fields["indicators[1].catalog_code"]
    assert "名称应为“受资助学生人数”" in fields["indicators[2].name"]
    assert "指标方向应为“≥”" in fields["indicators[3].direction"]
    assert "“JY-404”不在《西藏自治区分行业分领域共性绩效指标》中" in fields["indicators[4].catalog_code"]
    assert "校舍工程验收合格率（JY-006）" in fields["indicators[4].catalog_code"]
    assert len(fields) == 4


def test_catalog_names_without_codes_and_individual_indicators_pass(login):
    client = login("biangba_finance")
    project = new_project(client, BIANGBA)
    rows = [{**r, "catalog_code": None} for r in CATALOG_ROWS]  # the catalog's own names, no codes
    rows.append(row("效益", "经济效益指标", "带动校园周边就业收入", "ge", "5", "万元", "10"))  # 教育 has no 经济效益
    response = fill_and_submit(client, BIANGBA, project, rows)
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("category", ["", "教育"])
def test_in_a_year_without_a_catalog_the_rule_does_not_apply(login, category):
    client = login("biangba_finance")
    project = new_project(client, BIANGBA, category=category, year=2023)
    response = fill_and_submit(client, BIANGBA, project, [OUTSIDE, *CATALOG_ROWS])
    assert response.status_code == 200, response.get_json()


def test_a_category_code_or_alias_selects_the_category_and_its_name_is_kept(login):
    client = login("biangba_finance")
    for category, name in (("JY", "教育"), ("行政运行", "一般公共服务")):
        project = new_project(client, BIANGBA, category=category)
        assert project["category"] == name
        fields = fill_and_submit(client, BIANGBA, project, [OUTSIDE, *CATALOG_ROWS]).get_json()["error"]["fields"]
        assert "购置图书册数" in fields["indicators[1].name"]


# ---- The project's category: chosen from the catalog where one is in force ------------------------------------


def catalog_category_names(client, tenant_code: str, year: int) -> list[str]:
    body = client.get(f"/api/v1/tenants/{tenant_code}/catalog?year={year}").get_json()
    return [c["name"] for catalog in body["catalogs"] for c in catalog["categories"]]


def project_payload(category: str, year: int = 2024) -> dict:
    return {"code": unique("xz"), "name": "义务教育学校办学条件改善", "year": year, "kind": "project",
            "fund_type": "general_public", "category": category, "department_code": "101",
            "requested_amount": "800000.00"}


@pytest.mark.parametrize("category", ["", "科学技术"])
def test_the_category_is_required_and_one_of_the_catalogs(login, category):
    """An empty or unknown category used to escape the catalog rule; now the project is refused on `category`,
    naming the catalog's categories."""
    client = login("biangba_finance")
    names = catalog_category_names(client, BIANGBA, 2024)
    refused = client.post(f"/api/v1/tenants/{BIANGBA}/projects", json=project_payload(category))
    assert refused.status_code == 400, refused.get_json()
    fields = refused.get_json()["error"]["fields"]
    assert list(fields) == ["category"]
    assert fields["category"].endswith("：" + "、".join(names))
    assert (f"“{category}”" in fields["category"]) is bool(category)


def test_a_category_cannot_be_emptied_afterwards(login):
    client = login("biangba_finance")
    project = new_project(client, BIANGBA)
    url = f"/api/v1/tenants/{BIANGBA}/projects/{project['id']}"
    refused = client.patch(url, json={"category": "", "version": project["version"]})
    assert refused.status_code == 400 and list(refused.get_json()["error"]["fields"]) == ["category"]
    changed = client.patch(url, json={"category": "WS", "version": project["version"]})
    assert changed.status_code == 200 and changed.get_json()["category"] == "卫生健康"


def test_a_tenant_without_a_catalog_keeps_a_free_category(app, login):
    from tests.test_lifecycle_pages import Browser

    client = login("lingling_finance")
    assert catalog_category_names(client, LINGLING, 2024) == []
    for category in ("", "科学技术"):
        made = client.post(f"/api/v1/tenants/{LINGLING}/projects", json=project_payload(category))
        assert made.status_code == 201 and made.get_json()["category"] == category
    html = Browser(app, "lingling_finance").get(f"/t/{LINGLING}/projects")
    assert '<input name="category"' in html and '<select name="category"' not in html


def test_the_page_offers_the_catalogs_categories_and_refuses_like_the_api(app, login):
    import re

    from tests.test_lifecycle_pages import Browser

    names = catalog_category_names(login("biangba_finance"), BIANGBA, date.today().year)
    browser = Browser(app, "biangba_finance")
    page = browser.get(f"/t/{BIANGBA}/projects")
    select = re.search(r'<select name="category"[^>]*>(.*?)</select>', page, re.S)
    assert select, "the create form offers no category list"
    assert re.findall(r'<option value="([^"]*)"', select.group(1)) == ["", *names]
    assert '<input name="category"' not in page
    form = {"code": unique("PG"), "name": "义务教育学校办学条件改善", "year": str(date.today().year),
            "kind": "project", "fund_type": "general_public", "department_code": "101", "requested_amount": "80"}
    refused = browser.post(f"/t/{BIANGBA}/projects", {**form, "category": ""}, status=400, page=page)
    api = login("biangba_finance").post(f"/api/v1/tenants/{BIANGBA}/projects", json={
        **project_payload("", date.today().year), "code": form["code"]}).get_json()["error"]["fields"]["category"]
    assert api in refused.get_data(as_text=True)
    made = browser.post(f"/t/{BIANGBA}/projects", {**form, "category": names[1]}, page=page)
    assert "/projects/" in made.headers["Location"]


def test_a_project_without_a_catalog_category_cannot_submit_targets():
    """A project recorded before the category was required (or imported around it) is still judged: the rule
    asks for a category instead of letting the table through."""
    for category in ("", "科学技术"):
        problems = jixiao_xizang.validate_targets(**view([OUTSIDE], category=category))
        assert [p["field"] for p in problems] == ["category"]
        assert problems[0]["message"].endswith("请将项目类别改为：" + "、".join(
            c["name"] for c in jixiao_xizang.catalogs()[0]["categories"]))


def test_the_project_list_import_refuses_a_row_without_a_catalog_category(login):
    from tests.test_spreadsheets import base, list_rows, project_list, upload

    client = login("biangba_finance")
    rows = list_rows(unique("C"), 3, 2024)
    rows[1][7] = ""  # sheet row 5: no category
    rejected = upload(client, base(BIANGBA, "/imports/projects"), project_list(client, BIANGBA, rows), "项目清单.xlsx")
    assert rejected.status_code == 400, rejected.get_json()
    [error] = rejected.get_json()["error"]["fields"]["rows"]
    assert (error["row"], error["column"]) == (5, "项目类别")
    assert error["message"].endswith("：" + "、".join(catalog_category_names(client, BIANGBA, 2024)))


def view(indicators, *, enabled=True, category="教育"):
    tenant = TenantView(id=1, code=BIANGBA, name="边坝县", level="county", division_type="县",
                        ancestor_codes=("540000", "540300"), plugins=("xizang",),
                        settings={"targets.common_indicators_from_catalog": enabled})
    project = ProjectView(id=1, code="p", name="p", year=2024, kind="project", fund_type="general_public",
                          category=category, is_new=True, is_key=False, requested_amount=Decimal("1"),
                          approved_amount=None, department_code="101")
    targets = TargetsView(overall_target="x", indicators=tuple(
        IndicatorView(level1=r["level1"], level2=r["level2"], name=r["name"], direction=r["direction"],
                      target_value=Decimal(r["target_value"]), target_text="", unit=r["unit"],
                      weight=Decimal(r["weight"]), catalog_code=r["catalog_code"]) for r in indicators))
    return {"tenant": tenant, "project": project, "targets": targets}


def test_the_setting_switches_the_rule_off():
    assert jixiao_xizang.validate_targets(**view([OUTSIDE], enabled=False)) is None
    [problem] = jixiao_xizang.validate_targets(**view([OUTSIDE]))
    assert problem["field"] == "indicators[1].name"


def test_a_catalog_name_under_the_wrong_level_is_refused():
    wrong = row("效益", "社会效益指标", "学生及家长满意度", "ge", "90", "%", "10")
    [problem] = jixiao_xizang.validate_targets(**view([wrong]))
    assert problem == {"field": "indicators[1].level2",
                       "message": "共性指标“学生及家长满意度”（JY-011）属于“满意度—服务对象满意度指标”"}


# ---- Monitoring cadence (seed 001): department-whole at June, projects monthly --------------------------------


def periods_owed(client, tenant_code: str, kind: str) -> list:
    project = new_project(client, tenant_code, kind=kind)
    response = client.get(f"/api/v1/tenants/{tenant_code}/projects/{project['id']}/monitoring")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["periods_owed"]


def test_monitoring_cadence(login):
    biangba = login("biangba_finance")
    assert periods_owed(biangba, BIANGBA, "department_whole") == [6]
    assert periods_owed(biangba, BIANGBA, "project") == list(range(1, 13))
    assert periods_owed(biangba, BIANGBA, "policy") == list(range(1, 13))
    # Lingling does not enable xizang: the national default (every month) for a department-whole budget too.
    assert periods_owed(login("lingling_finance"), LINGLING, "department_whole") == list(range(1, 13))


# ---- Ex-ante assessment (seed 001): Biangba's own five dimensions ---------------------------------------------

SEED_001_DIMENSIONS = ["项目必要性", "项目投入", "项目产出", "方案有效性", "财政资金投入的可行性风险"]


def dimensions_of(app, code: str) -> list:
    with app.app_context(), system_scope() as db:
        return hooks(db, tenancy.get_by_code(db, code)).exante_dimensions()


def test_hook_exante_dimensions(jixiao_app):
    from jixiao.rules.national import EXANTE_DIMENSIONS

    biangba = dimensions_of(jixiao_app, BIANGBA)
    assert [d["label"] for d in biangba] == SEED_001_DIMENSIONS
    assert sum(d["max"] for d in biangba) == 100 and len({d["key"] for d in biangba}) == 5
    # Another Xizang county and a Hunan one keep the national five.
    assert dimensions_of(jixiao_app, LUOLONG) == EXANTE_DIMENSIONS
    assert dimensions_of(jixiao_app, LINGLING) == EXANTE_DIMENSIONS


def test_biangbas_exante_is_scored_on_its_dimensions_through_the_api(login):
    client = login("biangba_finance")
    project = new_project(client, BIANGBA)
    url = f"/api/v1/tenants/{BIANGBA}/projects/{project['id']}/exante"
    dimensions = client.get(url).get_json()["dimensions"]
    assert [d["label"] for d in dimensions] == SEED_001_DIMENSIONS
    national = {"necessity": "18", "economy": "16", "targets": "17", "feasibility": "17", "compliance": "18"}
    refused = client.put(url, json={"scores": national, "conclusion": "support"})
    assert refused.status_code == 400
    fields = refused.get_json()["error"]["fields"]
    assert {f"scores.{d['key']}" for d in dimensions} - {f"scores.{k}" for k in national} <= set(fields)
    assert fields["scores.economy"] == "不是本地区事前评估的维度"
    scores = {d["key"]: str(Decimal(d["max"]) - position) for position, d in enumerate(dimensions)}
    recorded = client.put(url, json={"scores": scores, "conclusion": "support"})
    assert recorded.status_code == 200, recorded.get_json()
    assert Decimal(recorded.get_json()["total_score"]) == sum(Decimal(v) for v in scores.values())


def test_biangbas_exante_form_shows_its_dimensions(app, login):
    from tests.test_lifecycle_pages import Browser

    project = new_project(login("biangba_finance"), BIANGBA)
    browser = Browser(app, "biangba_finance")
    url = f"/t/{BIANGBA}/projects/{project['id']}"
    page = browser.get(url)
    dimensions = dimensions_of(app, BIANGBA)
    for dimension in dimensions:
        assert f'name="score-{dimension["key"]}"' in page and dimension["label"] in page
    assert 'name="score-compliance"' not in page and "筹资合规性" not in page
    form = {f"score-{d['key']}": str(d["max"]) for d in dimensions}
    browser.post(f"{url}/exante", {**form, "conclusion": "support", "amount_cut": "0"}, page=page)
    assert "支持" in browser.get(url)


def test_the_demo_data_for_biangba_follows_its_catalog_and_dimensions(app, login):
    """The demo generator (run for the fixture's database) makes Biangba's projects through the services: every
    one in a catalog category, its targets accepted by the catalog rule, its ex-ante scored on seed 001's
    dimensions."""
    client = login("biangba_finance")
    year = date.today().year
    names = catalog_category_names(client, BIANGBA, year)
    items = client.get(f"/api/v1/tenants/{BIANGBA}/projects?year={year}&per_page=500").get_json()["items"]
    demo = [i for i in items if i["code"].startswith(f"{year}-{BIANGBA}-")]
    assert demo and all(i["category"] in names for i in demo)
    assert any(i["stage"] != "draft" for i in demo)
    keys = {d["key"] for d in dimensions_of(app, BIANGBA)}
    assessed = [client.get(f"/api/v1/tenants/{BIANGBA}/projects/{i['id']}/exante").get_json() for i in demo]
    assessed = [a for a in assessed if a.get("id")]
    assert assessed and all(set(a["scores"]) == keys for a in assessed)


def test_the_region_assesses_its_own_departments(jixiao_app):
    """A campaign over region-level departments: computed from their records, departments ranked together."""
    from datetime import date, timedelta
    from decimal import Decimal

    import sqlalchemy as sa

    from jixiao.accounts.models import Department
    from jixiao.db import TenantScope, scoped, system_scope, utcnow
    from jixiao.lifecycle.models import (
        FundType,
        Light,
        MonitoringReport,
        Project,
        ProjectKind,
        Stage,
        TargetSet,
        TargetStatus,
    )
    from jixiao.tenancy import service as tenancy
    from jixiao.testing import api_login
    from tests.test_audit_and_api import make_app_like

    app = make_app_like(jixiao_app, REDIS_URL=None)
    with app.app_context():
        with system_scope() as db:
            region = tenancy.get_by_code(db, "540000")
        with scoped(TenantScope(read_ids=(region.id,), write_id=region.id)) as db:
            if not db.scalar(sa.select(Department.id).where(Department.tenant_id == region.id, Department.code == "XZ1")):
                # Both budgeted with approved targets; only 教育厅 filed a monitoring report.
                for code, name, monitored in (("XZ1", "自治区教育厅", True), ("XZ2", "自治区卫生健康委", False)):
                    department = Department(tenant_id=region.id, code=code, name=name)
                    db.add(department)
                    db.flush()
                    project = Project(tenant_id=region.id, department_id=department.id, year=2024, code=f"{code}-1",
                                      name=f"{name}部门整体支出", kind=ProjectKind.DEPARTMENT_WHOLE,
                                      fund_type=FundType.GENERAL_PUBLIC, is_new=False,
                                      requested_amount=Decimal("1000000"), stage=Stage.BUDGETED)
                    db.add(project)
                    db.flush()
                    db.add(TargetSet(tenant_id=region.id, project_id=project.id, overall_target="x",
                                     status=TargetStatus.APPROVED, submitted_at=utcnow()))
                    if monitored:
                        db.add(MonitoringReport(tenant_id=region.id, project_id=project.id, period=6,
                                                executed_amount=Decimal("1"), execution_rate=Decimal("1"),
                                                light=Light.RED))
                db.commit()
    admin = api_login(app, "xizang_admin")
    campaign = admin.post("/api/v1/tenants/540000/assessments", json={
        "year": 2024, "scheme": "xizang-departments", "deadline": (date.today() + timedelta(days=20)).isoformat()})
    assert campaign.status_code == 201, campaign.get_json()
    campaign_id = campaign.get_json()["id"]
    job = admin.post(f"/api/v1/tenants/540000/assessments/{campaign_id}/finalize",
                     json={"force": True, "reason": "测试提前汇总", "version": campaign.get_json()["version"]}).get_json()
    assert job["status"] == "succeeded", job
    ranking = {r["code"]: r for r in admin.get(f"/api/v1/tenants/540000/assessments/{campaign_id}/ranking").get_json()}
    # Both filed targets (A1 15 + A2 15) and reported no self-evaluation (C1 0 of 15); 教育厅 monitored (B1 15),
    # 卫健委 did not (0). No notices or results are owed: C2 and C3 are not applicable (they used to give full
    # marks). D1 and D2 were not reported: 0 of 20. Measurable 80 of 100: 45 → 56.25, 30 → 37.50.
    assert (ranking["XZ1"]["total"], ranking["XZ1"]["rank"], ranking["XZ1"]["coverage"]) == ("56.25", 1, "0.8000")
    assert (ranking["XZ2"]["total"], ranking["XZ2"]["rank"]) == ("37.50", 2)
    assert campaign.get_json()["rule_set"] == "xizang-2024"
