"""The plugin host: discovery, documentation of every hook, per-tenant calling, missing plugins."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from jixiao import hookimpl, hookspecs
from jixiao.db import system_scope
from jixiao.plugins import host
from jixiao.tenancy import service as tenancy
from jixiao.testing import DEMO_PASSWORD, api_login
from tests.helpers import load, small_tree

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "jixiao_spec"))


def signature(name: str) -> str:
    params = inspect.signature(getattr(hookspecs, name)).parameters
    return f"{name}({', '.join(params)})"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_signature(hook):
    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert f"`{signature(hook)}`" in guide, f"docs/plugins.md does not document {signature(hook)}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test_named_after_it(hook):
    sources = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("plugins/*/tests/**/*.py")]
    pattern = re.compile(rf"def test_hook_{hook}(_\w*)?\(")
    assert any(pattern.search(p.read_text(encoding="utf-8")) for p in sources), f"no test_hook_{hook}"


def test_every_hookspec_has_a_docstring():
    for name in HOOKS:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


def test_national_rules_first_then_installed_region_plugins(app):
    infos = app.extensions["jixiao.plugins"].info()
    assert infos[0].name == "national" and infos[0].builtin
    names = {i.name for i in infos}
    assert {"hunan", "xizang", "sichuan"} <= names


def test_plugins_api_lists_name_version_hooks_and_tenants(login):
    listing = {p["name"]: p for p in login("lingling_viewer").get("/api/v1/plugins").get_json()}
    assert listing["hunan"]["version"] == "0.1.0"
    assert listing["hunan"]["distribution"] == "jixiao-hunan"
    assert "tenant_default_settings" in listing["hunan"]["hooks"]
    assert listing["hunan"]["tenants"] == ["430000"]
    assert listing["sichuan"]["tenants"] == ["510000"]
    assert listing["national"]["tenants"] == ["*"]


def test_plugins_command_lists_the_same(app):
    from jixiao.cli import main

    result = app.test_cli_runner().invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "hunan 0.1.0 [jixiao-hunan]" in result.output
    assert "tenants: 430000" in result.output


class Recorder:
    """A test plugin: records the tenants it was asked about."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.asked: list[str] = []

    @hookimpl
    def on_tenant_loaded(self, tenant, created, changes):
        self.loaded.append(tenant.code)

    @hookimpl
    def tenant_default_settings(self, tenant):
        self.asked.append(tenant.code)
        return {"monitoring.months": [6, 12], "recorder.on": True}


recorder = Recorder()


@pytest.mark.plugins([("recorder", recorder)])
def test_hook_on_tenant_loaded_only_for_tenants_that_enable_it(fresh_app, tmp_path):
    recorder.loaded.clear()
    load(fresh_app, small_tree(tmp_path, plugins=["recorder"]))
    assert recorder.loaded == ["431102"]


@pytest.mark.plugins([("recorder", recorder)])
def test_a_region_overrides_a_national_default_for_its_tenants_only(fresh_app, tmp_path):
    load(fresh_app, small_tree(tmp_path, plugins=["recorder"]))
    recorder.asked.clear()
    with fresh_app.app_context(), system_scope() as db:
        lingling = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "431102"))
        lengshuitan = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "431103"))
    assert lingling["monitoring.months"] == [6, 12] and lingling["recorder.on"] is True
    assert lengshuitan["monitoring.months"] == list(range(1, 13)) and "recorder.on" not in lengshuitan
    assert recorder.asked == ["431102"]


def test_a_missing_plugin_is_reported_at_load_and_on_the_home_page(fresh_app, tmp_path):
    report = load(fresh_app, small_tree(tmp_path, plugins=["ghost"]))
    assert report.missing_plugins == {"431102": ["ghost"]}
    assert any("ghost" in line and "not installed" in line for line in report.lines())
    with fresh_app.app_context():
        from jixiao.accounts import service
        from jixiao.db import TenantScope, scoped

        with system_scope() as db:
            lingling = tenancy.get_by_code(db, "431102")
        with scoped(TenantScope(read_ids=(lingling.id,), write_id=lingling.id, login_username="ghostfinder")) as db:
            service.create_user(db, None, lingling, username="ghostfinder", password=DEMO_PASSWORD, roles=["viewer"])
    user = api_login(fresh_app, "ghostfinder")
    assert user.get("/api/v1/tenants/431102").get_json()["missing_plugins"] == ["ghost"]
    page = user.get("/t/431102/").get_data(as_text=True)
    assert "ghost" in page and "未安装" in page


def test_a_misspelt_hook_is_refused_at_startup():
    from pluggy import PluginValidationError

    from jixiao.plugins import PluginHost

    class Misspelt:
        @hookimpl
        def tenant_default_setings(self, tenant):  # noqa: D102 - deliberately misspelt
            return {}

    with pytest.raises(PluginValidationError):
        PluginHost(extra=[("misspelt", Misspelt())], load_entry_points=False)


# ---- Which plugin answers: the most specific tenant's first --------------------------------------------------


class BandsBy:
    """A plugin answering ``evaluation_grade_bands`` with its own name in the top band."""

    def __init__(self, name: str) -> None:
        self.name = name

    @hookimpl
    def evaluation_grade_bands(self, tenant, kind):
        return [[self.name, 90], ["差", 0]]


def test_a_citys_plugin_answers_before_its_provinces_and_a_tenants_yaml_order_counts(app):
    """pluggy asks the last registered plugin first: which of a city's and its province's plugins answered a
    ``firstresult`` question depended on installation order, not on the tree."""
    from jixiao.db import system_scope
    from jixiao.lifecycle import common
    from jixiao.tenancy import service as tenancy
    from tests.test_audit_and_api import make_app_like

    # Registered city first, province last: pluggy alone would let the province answer everywhere.
    made = make_app_like(app, EXTRA_PLUGINS=[("city_rule", BandsBy("城市")), ("second_city_rule", BandsBy("次")),
                                             ("province_rule", BandsBy("省"))])
    with made.app_context(), system_scope() as db:
        saved = {code: list(tenancy.get_by_code(db, code).plugins or []) for code in ("430000", "430400")}
        tenancy.get_by_code(db, "430000").plugins = [*saved["430000"], "province_rule"]
        tenancy.get_by_code(db, "430400").plugins = ["city_rule", "second_city_rule"]
        db.commit()
    try:
        with made.test_request_context(), system_scope() as db:
            def top_band(code: str) -> str:
                return common.hooks(db, tenancy.get_by_code(db, code)).evaluation_grade_bands(kind="finance")[0][0]

            assert top_band("430400") == "城市"  # the city's own, the first of its YAML list
            assert top_band("430405") == "城市"  # a district of the city inherits the city's before the province's
            assert top_band("430100") == "省"  # another city: the province's
            host = made.extensions["jixiao.plugins"]
            view = common.tenant_view(db, tenancy.get_by_code(db, "430405"))
            assert view.plugins[:2] == ("city_rule", "second_city_rule") and view.plugins[-1] == "national"
            assert host.hook("evaluation_grade_bands", view.plugins).plugin_names[:3] == (
                "city_rule", "second_city_rule", "province_rule")
    finally:
        with made.app_context(), system_scope() as db:
            for code, plugins in saved.items():
                tenancy.get_by_code(db, code).plugins = plugins
            db.commit()


# ---- Core versions a plugin supports ---------------------------------------------------------------------------


@pytest.mark.parametrize(("requires", "core", "problem"), [
    (["jixiao>=0.1,<0.2"], "0.1.0", None),
    (["jixiao>=0.1,<0.2", "pyyaml"], "0.2.0", "requires jixiao<0.2,>=0.1, this is jixiao 0.2.0"),
    (["Jixiao>=0.3"], "0.2.5", "requires jixiao>=0.3, this is jixiao 0.2.5"),
    (["jixiao"], "9.0.0", None),  # no versions declared: any core
    (["jixiao>=9; extra == 'docs'"], "0.1.0", None),  # an extra's requirement is not the plugin's
    (None, "0.1.0", None),
])
def test_a_plugin_declares_the_core_versions_it_supports(requires, core, problem):
    from jixiao.plugins import core_incompatibility

    assert core_incompatibility(requires, core) == problem


class _Distribution:
    def __init__(self, requires: list[str]) -> None:
        self.name, self.version, self.requires = "jixiao-future", "1.0", requires


class _EntryPoint:
    def __init__(self, name: str, requires: list[str]) -> None:
        self.name, self.dist = name, _Distribution(requires)

    def load(self):
        return BandsBy(self.name)


def test_an_incompatible_plugin_is_reported_and_not_loaded():
    from jixiao.plugins import PluginHost

    host = PluginHost(load_entry_points=False)
    host._load_entry_points([_EntryPoint("future", ["jixiao>=99"]), _EntryPoint("current", ["jixiao>=0"])])
    assert not host.is_installed("future") and host.is_installed("current")
    assert host.incompatible == {"future": f"requires jixiao>=99, this is jixiao {host.info()[0].version}"}


def test_the_shipped_plugins_and_the_scaffold_declare_this_core():
    from jixiao import __version__
    from jixiao.plugins import core_incompatibility
    from jixiao.scaffold import supported_core

    assert supported_core("0.1.0") == "jixiao>=0.1,<0.2" and supported_core("1.12.3") == "jixiao>=1.12,<1.13"
    for name in ("hunan", "sichuan", "xizang"):
        text = (ROOT / "plugins" / name / "pyproject.toml").read_text(encoding="utf-8")
        assert f'dependencies = ["{supported_core(__version__)}"]' in text, name
        assert core_incompatibility([supported_core(__version__)]) is None


# ---- The fixtures a vendor's tests use -------------------------------------------------------------------------


class GuangxiLike:
    @hookimpl
    def tenant_default_settings(self, tenant):
        return {"monitoring.months": [3, 6, 9, 12]}

    @hookimpl
    def evaluation_grade_bands(self, tenant, kind):
        return [["优", 95], ["良", 85], ["中", 60], ["差", 0]]


def test_with_plugin_enables_a_plugin_object_for_a_tenant_and_its_descendants(with_plugin, app):
    from jixiao.testing import ask_hook, tenant_settings

    made = with_plugin(GuangxiLike(), "430400")
    assert tenant_settings(made, "430405")["monitoring.months"] == [3, 6, 9, 12]
    assert ask_hook(made, "430405", "evaluation_grade_bands", kind="finance")[0] == ["优", 95]
    # Elsewhere, and in the suite's own app, national answers.
    assert ask_hook(made, "430100", "evaluation_grade_bands", kind="finance")[0] == ["优", 90]
    assert tenant_settings(app, "430405")["monitoring.months"] == list(range(1, 13))


def test_every_example_in_the_plugin_guide_imports_only_the_stable_surface():
    """A vendor writes a plugin from docs/plugins.md alone: its examples import jixiao (hookimpl), the toolkit
    and the test fixtures, never core internals that may change between releases."""
    import ast

    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert blocks
    imported = set()
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
    assert {name for name in imported if name.split(".")[0] == "jixiao"} <= {"jixiao", "jixiao.toolkit",
                                                                            "jixiao.testing"}


def test_the_toolkit_offers_what_the_composition_hooks_return():
    from jixiao import toolkit

    for name in ("job_kind", "JobContext", "Schedule", "TransientJobError", "JobFailed", "DocumentOwner", "Metric",
                 "TodoItem"):
        assert name in toolkit.__all__ and hasattr(toolkit, name), name


@pytest.mark.parametrize("name", ["hunan", "sichuan", "xizang"])
def test_each_shipped_plugins_readme_lists_the_hooks_it_implements(app, name):
    """A vendor and an operator read what a plugin does in its README: its table names exactly its hooks."""
    readme = (ROOT / "plugins" / name / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What it does", 1)[1].split("\n## ", 1)[0]
    hooks = {hook for hook in dir(hookspecs) if hasattr(getattr(hookspecs, hook), "jixiao_spec")}
    listed = set(re.findall(r"^\| `(\w+)` \|", section, re.M)) & hooks
    implemented = {info.name: set(info.hooks) for info in app.extensions["jixiao.plugins"].info()}[name]
    assert listed == implemented


class FutureScheme:
    @hookimpl
    def register_assessment_schemes(self, tenant, year):
        from jixiao.rules.national import BASIC_SCHEME

        return [dict(BASIC_SCHEME, code="from-2030", years=[2030, None]),
                dict(BASIC_SCHEME, code="until-2020", years=[2018, 2020])]


def test_hook_register_assessment_schemes_the_core_keeps_only_the_editions_in_force(with_plugin):
    """Five places filtered "years in force" (the core for catalogs only): a plugin returning every edition got
    them all offered. The core now keeps the schemes in force, as it does the catalogs."""
    from jixiao.assessment import service
    from jixiao.db import system_scope
    from jixiao.tenancy import service as tenancy

    made = with_plugin(FutureScheme(), "430000")
    with made.test_request_context(), system_scope() as db:
        hunan = tenancy.get_by_code(db, "430000")
        offered = {year: [s["code"] for s in service.schemes_for(db, hunan, year)] for year in (2019, 2026, 2031)}
    assert "until-2020" in offered[2019] and "from-2030" not in offered[2019]
    assert "until-2020" not in offered[2026] and "from-2030" not in offered[2026]
    assert "from-2030" in offered[2031]


@pytest.mark.parametrize(("years", "year", "expected"), [
    ([2020, None], 2019, False), ([2020, None], 2020, True), ([2020, 2022], 2022, True), ([2020, 2022], 2023, False),
    ([None, 2022], 1990, True), ([2024], 2030, True), (None, 2026, True),
])
def test_in_force_reads_years_inclusive_and_open_ended(years, year, expected):
    from jixiao.toolkit import in_force

    assert in_force(years, year) is expected


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_parameter_has_a_type_of_its_own(hook):
    """Hook parameters were typed ``Any`` nineteen times: a vendor had to read the core to learn what a
    ``tenant`` or a ``report`` is. Each is now the toolkit's read-only view (or a plain type)."""
    parameters = inspect.signature(getattr(hookspecs, hook)).parameters
    assert [name for name, parameter in parameters.items() if parameter.annotation in ("Any", inspect.Parameter.empty)] == []


def test_a_data_file_is_parsed_once_and_each_caller_gets_its_own_copy():
    from jixiao import toolkit

    toolkit._parsed_data_file.cache_clear()
    first = toolkit.load_data_file("jixiao_hunan", "settings.yaml")
    first["changed by a caller"] = True
    again = toolkit.load_data_file("jixiao_hunan", "settings.yaml")
    assert "changed by a caller" not in again
    assert toolkit._parsed_data_file.cache_info().misses == 1
