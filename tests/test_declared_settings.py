"""Declared tenant settings (``declare_settings``): one default per key, and every key and value checked where a
tenant's settings are written — the tenants YAML loader, the settings API and the settings page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import yaml

from jixiao import hookimpl
from jixiao.db import system_scope
from jixiao.errors import ValidationFailed
from jixiao.plugins import host
from jixiao.tenancy import service as tenancy
from jixiao.tenancy.models import Tenant
from jixiao.testing import ask_hook, tenant_settings
from jixiao.toolkit import NATIONAL_INDICATOR_FRAMEWORK, Setting, SettingError
from tests.helpers import load, small_tree
from tests.test_input_bounds import csrf_from, page_client

LINGLING, HESHAN, ENYANG = "431102", "430903", "511903"
API = f"/api/v1/tenants/{LINGLING}"


def declared(app, key: str):
    return app.extensions["jixiao.plugins"].settings[key]


def lingling_settings(app) -> dict:
    with app.app_context(), system_scope() as db:
        return dict(tenancy.get_by_code(db, LINGLING).settings or {})


@pytest.fixture
def restored(app):
    """Lingling's own settings as they were before the test."""
    before = lingling_settings(app)
    yield before
    with app.app_context(), system_scope() as db:
        tenancy.get_by_code(db, LINGLING).settings = before
        db.commit()


# ---- The type ---------------------------------------------------------------------------------------------------


def test_a_setting_parses_to_its_normal_form_or_names_its_key():
    days = Setting("rectification.default_days", "integer", default=30, description="天数")
    assert days.parse(45) == 45 and days.parse("45") == 45
    for wrong in ("三十", True, 4.5, [30]):
        with pytest.raises(SettingError, match=r"^设置 rectification\.default_days 应为整数"):
            days.parse(wrong)
    with pytest.raises(SettingError, match="不能为空"):
        days.parse(None)
    rate = Setting("evaluation.sample_rate", "decimal", nullable=True)
    assert rate.parse(0.3) == "0.3" and rate.parse(1) == "1" and rate.parse(" 0.25 ") == "0.25"
    assert rate.parse(None) is None
    months = Setting("monitoring.months", "integers", choices=tuple(range(1, 13)))
    assert months.parse([6, "12"]) == [6, 12]
    with pytest.raises(SettingError, match="的每一项应为 1、2"):
        months.parse([6, 13])
    kinds = Setting("exante.required_kinds", "texts", choices=("project", "policy"))
    with pytest.raises(SettingError, match="应为文字列表"):
        kinds.parse("project")
    assert Setting("x.flag", "boolean").parse(False) is False

    def even(value: int) -> int:
        if value % 2:
            raise ValueError("应为偶数")
        return value

    with pytest.raises(SettingError, match=r"^设置 x\.even 有误：应为偶数$"):
        Setting("x.even", "integer", check=even).parse(3)
    with pytest.raises(ValueError, match="not one of"):
        Setting("x.bad", "float")  # type: ignore[arg-type]


def test_the_national_indicator_framework_is_the_toolkits():
    from jixiao.catalog.views import LEVEL1S

    assert list(NATIONAL_INDICATOR_FRAMEWORK) == LEVEL1S
    assert "服务对象满意度指标" in NATIONAL_INDICATOR_FRAMEWORK["满意度"]
    with pytest.raises(TypeError):
        NATIONAL_INDICATOR_FRAMEWORK["新"] = ()  # type: ignore[index]


# ---- Collected once per app ----------------------------------------------------------------------------------


class ReadsItsDefault:
    """A region that declares a setting with a default and reads it without repeating the default."""

    @hookimpl
    def declare_settings(self):
        return [Setting("under_test.bands_top", "integer", default=95, description="测试：最高档下限")]

    @hookimpl
    def evaluation_grade_bands(self, tenant, kind):
        return [["优", tenant.settings["under_test.bands_top"]], ["差", 0]]


def test_hook_declare_settings_gives_a_reader_its_default_where_the_plugin_is_in_force(app, with_plugin):
    made = with_plugin(ReadsItsDefault(), "430400")
    top = declared(made, "under_test.bands_top").setting.default
    assert ask_hook(made, "430405", "evaluation_grade_bands", kind="finance")[0] == ["优", top]
    assert tenant_settings(made, "430405")["under_test.bands_top"] == top
    assert "under_test.bands_top" not in tenant_settings(made, LINGLING)  # not in force there: no default
    # The core's and national defaults, declared once, reach every tenant.
    lingling = tenant_settings(app, LINGLING)
    assert lingling["rectification.default_days"] == declared(app, "rectification.default_days").setting.default
    assert lingling["monitoring.months"] == declared(app, "monitoring.months").setting.default
    assert declared(app, "rectification.default_days").plugin == "core.lifecycle"
    assert declared(app, "statistics.league_bands").plugin == "core.statistics"
    assert declared(app, "evaluation.grade_bands").plugin == "national"


class Twice:
    @hookimpl
    def declare_settings(self):
        return [Setting("rectification.default_days", "integer", default=10)]


class WrongDefault:
    @hookimpl
    def declare_settings(self):
        return [Setting("vendor.days", "integer", default="十")]


def test_a_key_declared_twice_stops_the_app_naming_both_plugins(app):
    from tests.test_audit_and_api import make_app_like

    with pytest.raises(ValueError, match="rectification.default_days is declared twice: by core.lifecycle and by twice"):
        make_app_like(app, EXTRA_PLUGINS=[("twice", Twice())])
    with pytest.raises(ValueError, match="plugin wrong: the default of vendor.days is refused"):
        make_app_like(app, EXTRA_PLUGINS=[("wrong", WrongDefault())])


# ---- The tenants YAML ------------------------------------------------------------------------------------------


def tenant_count(app) -> int:
    with app.app_context(), system_scope() as db:
        return db.scalar(sa.select(sa.func.count(Tenant.id)))


def test_load_refuses_an_unknown_key_naming_the_file_the_tenant_and_the_key(fresh_app, tmp_path):
    with pytest.raises(ValidationFailed) as refused:
        load(fresh_app, small_tree(tmp_path, settings={"rectification.default_day": 10}))
    problem = refused.value.fields["small.yaml:431102:settings.rectification.default_day"]
    assert "没有任何已安装的插件声明" in problem and "是否应为 rectification.default_days" in problem
    assert tenant_count(fresh_app) == 0


def test_load_refuses_a_wrong_type_and_a_failed_load_changes_nothing(fresh_app, tmp_path):
    load(fresh_app, small_tree(tmp_path))
    document = yaml.safe_load(small_tree(tmp_path).read_text(encoding="utf-8"))
    yongzhou = document["children"][0]
    lengshuitan = yongzhou["children"][1]
    yongzhou["settings"] = {"monitoring.months": [6, 12]}  # right, but in the same load as a wrong one
    lengshuitan["settings"] = {"rectification.default_days": "三十天"}
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationFailed) as refused:
        load(fresh_app, path)
    assert refused.value.fields == {
        "edited.yaml:431103:settings.rectification.default_days": '设置 rectification.default_days 应为整数（填写的是 "三十天"）'}
    with fresh_app.app_context(), system_scope() as db:
        assert all(not t.settings for t in db.scalars(sa.select(Tenant)))


def test_load_keeps_values_as_their_declarations_read_them(fresh_app, tmp_path):
    load(fresh_app, small_tree(tmp_path, settings={"evaluation.sample_rate": 0.3, "rectification.default_days": "45"}))
    with fresh_app.app_context(), system_scope() as db:
        assert tenancy.get_by_code(db, LINGLING).settings == {"evaluation.sample_rate": "0.3",
                                                              "rectification.default_days": 45}
    again = load(fresh_app, small_tree(tmp_path, settings={"evaluation.sample_rate": 0.3,
                                                           "rectification.default_days": "45"}))
    assert again.updated == {}  # the normal form is stable: a second load changes nothing


def test_the_shipped_trees_and_plugin_data_files_are_valid(app):
    """Every key the shipped plugins default is declared, and each default passes its own declaration."""
    with app.app_context(), system_scope() as db:
        for code in (LINGLING, ENYANG, "540330"):
            tenant = tenancy.get_by_code(db, code)
            values = tenancy.effective_settings(db, host(), tenant)
            normalised, problems = tenancy.check_settings(host(), values)
            assert problems == {}, (code, problems)


# ---- The API ---------------------------------------------------------------------------------------------------


def test_the_api_refuses_an_unknown_key_and_a_wrong_type_naming_each(login, app, restored):
    admin = login("lingling_admin")
    answer = admin.patch(f"{API}/settings", json={"settings": {"rectification.default_days": 45,
                                                              "monitoring.monts": [6, 12],
                                                              "monitoring.months": "六月"}})
    assert answer.status_code == 400, answer.get_json()
    fields = answer.get_json()["error"]["fields"]
    assert set(fields) == {"settings.monitoring.monts", "settings.monitoring.months"}
    assert "是否应为 monitoring.months" in fields["settings.monitoring.monts"]
    assert fields["settings.monitoring.months"].startswith("设置 monitoring.months 应为整数列表")
    assert lingling_settings(app) == restored  # nothing written, not even the right key
    good = admin.patch(f"{API}/settings", json={"settings": {"evaluation.sample_rate": 0.25}})
    assert good.status_code == 200 and good.get_json()["settings"]["evaluation.sample_rate"] == "0.25"


def test_a_key_declared_by_an_installed_plugin_not_in_force_is_accepted_and_checked(login, app, restored):
    """Lingling (Hunan) may write a Sichuan setting — the value is checked all the same, and read only where
    that plugin is in force."""
    admin = login("lingling_admin")
    wrong = admin.patch(f"{API}/settings", json={"settings": {"exante.threshold_yuan": "五十万"}})
    assert "settings.exante.threshold_yuan" in wrong.get_json()["error"]["fields"]
    right = admin.patch(f"{API}/settings", json={"settings": {"exante.threshold_yuan": 600000}})
    assert right.status_code == 200 and right.get_json()["settings"]["exante.threshold_yuan"] == "600000"


def test_declared_settings_say_where_each_value_comes_from(login, app, restored):
    admin = login("lingling_admin")
    admin.patch(f"{API}/settings", json={"settings": {"rectification.default_days": 20}})
    listing = {s["key"]: s for s in admin.get(f"{API}/settings/declared").get_json()}
    days = listing["rectification.default_days"]
    assert days["value"] == 20 and days["source"] == "tenant" and days["source_name"] == LINGLING and days["own"]
    assert days["declared_by"] == "core.lifecycle" and days["type"] == "integer" and days["description"]
    months = listing["monitoring.months"]
    assert months["source"] == "default" and months["declared_by"] == "national" and months["value"] == months["default"]
    reward = listing["assessment.reward_min_score.county"]
    assert reward["source"] == "plugin" and reward["source_name"] == "hunan" and reward["in_force"]
    assert "exante.threshold_yuan" not in listing  # Sichuan's, not in force for Lingling
    assert login("yongzhou_finance").get(f"{API}/settings/declared").status_code == 200  # its county: read


def test_declared_settings_are_isolated_like_every_tenant_endpoint(login):
    assert login("lingling_finance").get(f"/api/v1/tenants/{HESHAN}/settings/declared").status_code == 404
    assert login("lingling_finance").get("/api/v1/tenants/431100/settings/declared").status_code == 403
    assert login("yongzhou_finance").get("/api/v1/tenants/430400/settings/declared").status_code == 404


# ---- The settings page -----------------------------------------------------------------------------------------


def test_the_settings_page_shows_each_setting_with_its_description_and_source(app):
    page = page_client(app, "lingling_viewer").get(f"/t/{LINGLING}/settings")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for key in ("rectification.default_days", "monitoring.months", "assessment.reward_province_top"):
        assert f"<code>{key}</code>" in html
        assert declared(app, key).setting.description in html
    assert "默认值（core.lifecycle 声明）" in html and "插件 湖南省规则 hunan 的默认设置" in html
    assert "默认值（全国通用规则 national 声明）" in html
    assert "只有本级管理员可以修改本级设置" in html and 'name="value"' not in html  # a viewer only reads


def test_the_settings_page_refuses_in_chinese_naming_the_key_then_saves_and_clears(app, restored):
    admin = page_client(app, "lingling_admin")
    url = f"/t/{LINGLING}/settings"
    token = csrf_from(admin.get(url).get_data(as_text=True))
    wrong = admin.post(url, data={"key": "rectification.default_days", "value": "三十", "csrf_token": token})
    assert wrong.status_code == 400
    assert "设置 rectification.default_days 应为整数" in wrong.get_data(as_text=True)
    unknown = admin.post(url, data={"key": "rectification.days", "value": "30", "csrf_token": token})
    assert unknown.status_code == 400 and "设置 rectification.days 没有任何已安装的插件声明" in unknown.get_data(as_text=True)
    assert lingling_settings(app) == restored
    saved = admin.post(url, data={"key": "monitoring.months", "value": "[6, 12]", "csrf_token": token})
    assert saved.status_code == 302
    assert lingling_settings(app)["monitoring.months"] == [6, 12]
    assert "本级设置" in admin.get(url).get_data(as_text=True)
    cleared = admin.post(url, data={"key": "monitoring.months", "action": "clear", "csrf_token": token})
    assert cleared.status_code == 302 and "monitoring.months" not in lingling_settings(app)


def test_the_province_reads_a_countys_settings_page_but_cannot_change_it(app):
    province = page_client(app, "hunan_admin")
    assert province.get(f"/t/{LINGLING}/settings").status_code == 200
    token = csrf_from(province.get(f"/t/{LINGLING}/settings").get_data(as_text=True))
    answer = province.post(f"/t/{LINGLING}/settings", data={"key": "rectification.default_days", "value": "10",
                                                           "csrf_token": token})
    assert answer.status_code == 403


def test_the_light_bounds_are_checked_and_kept_as_decimal_texts(app):
    bounds = declared(app, "monitoring.light_bounds").setting
    assert bounds.parse([0.5, "0.9", 1.3]) == ["0.5", "0.9", "1.3"]
    with pytest.raises(SettingError, match="由低到高"):
        bounds.parse(["0.9", "0.5", "1.3"])
