"""The national rules (jixiao.rules.national), called the way the platform calls them: through the plugin host,
for one tenant, with only the plugins that tenant enables. One ``test_hook_<name>`` per lifecycle hook."""

from __future__ import annotations

import random
from decimal import Decimal as D
from types import MappingProxyType
from typing import Any

import pytest

from jixiao import hookimpl
from jixiao.lifecycle.scoring import attainment_ratio, evaluation_form, grade_for
from jixiao.plugins import PluginHost
from jixiao.rules import national
from jixiao.toolkit import IndicatorView, ProjectView, TargetsView, TenantView


class RegionRules:
    """A test region: its own grade bands (优 ≥ 85) for every kind but ``self``, where it defers to national."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @hookimpl
    def evaluation_grade_bands(self, tenant, kind):
        self.asked.append(tenant.code)
        if kind == "self":
            return None
        return [["优", 85], ["良", 75], ["中", 60], ["差", 0]]


def make_tenant(plugins: tuple[str, ...] = (), code: str = "431102", **overrides: Any) -> TenantView:
    """A tenant with the national default settings (as ``effective_settings`` merges them) plus overrides."""
    declared = {setting.key: setting.default for setting in national.declare_settings() if setting.default is not None}
    settings = {**declared, **overrides}
    return TenantView(
        id=1, code=code, name="零陵区", level="county", division_type="区",
        ancestor_codes=("430000", "431100"), plugins=tuple(plugins), settings=MappingProxyType(settings),
    )


def make_project(id: int = 1, kind: str = "project", is_new: bool = True, is_key: bool = False) -> ProjectView:
    return ProjectView(
        id=id, code=f"P{id:03d}", name=f"项目{id}", year=2025, kind=kind, fund_type="general_public",
        category="", is_new=is_new, is_key=is_key, requested_amount=D("800000.00"), approved_amount=None,
        department_code="001",
    )


def indicator(level1: str = "产出", level2: str = "数量指标", name: str = "培训人次", direction: str = "ge",
              target_value: D | None = D(500), weight: D = D(20)) -> IndicatorView:
    return IndicatorView(level1=level1, level2=level2, name=name, direction=direction, target_value=target_value,
                         target_text="", unit="人次", weight=weight, catalog_code=None)


GOOD_INDICATORS = (
    indicator(),
    indicator("效益", "社会效益指标", "就业率提升", "ge", D(5)),
    indicator("满意度", "服务对象满意度指标", "学员满意度", "qualitative", None),
)


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(load_entry_points=False)


def hooks_for(host: PluginHost, **kwargs: Any):
    return host.for_tenant(make_tenant(**kwargs))


# ---- Ex-ante assessment -------------------------------------------------------------------------------------


def test_hook_exante_required(host):
    hooks = hooks_for(host)
    assert hooks.exante_required(project=make_project(kind="project", is_new=True)) is True
    assert hooks.exante_required(project=make_project(kind="policy", is_new=True)) is True
    assert hooks.exante_required(project=make_project(kind="project", is_new=False)) is False  # continuing
    assert hooks.exante_required(project=make_project(kind="department_whole", is_new=True)) is False
    # The kinds are a setting: a tenant that assesses only policies.
    policies_only = hooks_for(host, **{"exante.required_kinds": ["policy"]})
    assert policies_only.exante_required(project=make_project(kind="project")) is False
    assert policies_only.exante_required(project=make_project(kind="policy")) is True


def test_hook_exante_dimensions(host):
    dimensions = hooks_for(host).exante_dimensions()
    assert [d["label"] for d in dimensions] == ["立项必要性", "投入经济性", "绩效目标合理性", "实施方案可行性", "筹资合规性"]
    assert sum(d["max"] for d in dimensions) == 100
    assert len({d["key"] for d in dimensions}) == 5
    dimensions[0]["max"] = 99  # a caller changing its copy changes nothing for the next one
    assert hooks_for(host).exante_dimensions()[0]["max"] == 20


# ---- Performance targets ------------------------------------------------------------------------------------


def problems(host: PluginHost, targets: TargetsView) -> list[dict[str, str]]:
    answers = hooks_for(host).validate_targets(project=make_project(), targets=targets)
    assert isinstance(answers, list)  # collected: one list per plugin that answered
    return [p for answer in answers for p in answer]


def test_hook_validate_targets(host):
    assert problems(host, TargetsView("完成培训 500 人次，就业率提升 5 个百分点", GOOD_INDICATORS)) == []

    missing_overall = problems(host, TargetsView("  ", GOOD_INDICATORS))
    assert missing_overall == [{"field": "overall_target", "message": "请填写年度总体目标"}]

    wrong_level2 = problems(host, TargetsView("目标", (GOOD_INDICATORS[0], indicator("效益", "数量指标", "就业率提升"))))
    assert [p["field"] for p in wrong_level2] == ["indicators[2].level2"]
    assert "“效益”下的二级指标应为" in wrong_level2[0]["message"]
    assert "社会效益指标" in wrong_level2[0]["message"]

    no_value = problems(host, TargetsView("目标", (indicator(target_value=None), *GOOD_INDICATORS[1:])))
    assert no_value == [{"field": "indicators[1].target_value", "message": "定量指标“培训人次”需要指标值"}]

    everything_wrong = problems(host, TargetsView("", (
        indicator("产出", "数量指标", "", "ge", D(1), D(0)),
        indicator("绩效", "数量指标", "覆盖率"),
    )))
    fields = [p["field"] for p in everything_wrong]
    assert fields == ["overall_target", "indicators", "indicators[1].name", "indicators[1].weight",
                      "indicators[2].level1"]
    assert "至少需要一个“效益”类一级指标" in everything_wrong[1]["message"]
    assert "一级指标“绩效”不在国家指标体系中" in everything_wrong[4]["message"]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p["message"]) for p in everything_wrong)


# ---- Monitoring ---------------------------------------------------------------------------------------------


def test_hook_monitoring_periods(host):
    assert hooks_for(host).monitoring_periods(project=make_project(), year=2025) == list(range(1, 13))
    quarterly = hooks_for(host, **{"monitoring.months": [3, 6, 9, 12]})
    assert quarterly.monitoring_periods(project=make_project(), year=2025) == [3, 6, 9, 12]
    # Biangba's practice: department-whole budgets at June, projects monthly.
    by_kind = hooks_for(host, **{"monitoring.months_by_kind": {"department_whole": ["6"]}})
    assert by_kind.monitoring_periods(project=make_project(kind="department_whole"), year=2025) == [6]
    assert by_kind.monitoring_periods(project=make_project(kind="project"), year=2025) == list(range(1, 13))


@pytest.mark.parametrize("subject", ["indicator", "execution"])
@pytest.mark.parametrize(
    ("ratio", "light"),
    [
        ("0", "red"), ("0.5999", "red"),
        ("0.6", "yellow"), ("0.6000", "yellow"), ("0.7999", "yellow"),
        ("0.8", "green"), ("1", "green"), ("1.1999", "green"),
        ("1.2", "blue"), ("3", "blue"),
    ],
)
def test_hook_monitoring_light(host, subject, ratio, light):
    assert hooks_for(host).monitoring_light(ratio=D(ratio), subject=subject) == light


def test_hook_monitoring_light_reads_its_bounds_from_the_settings(host):
    strict = hooks_for(host, **{"monitoring.light_bounds": ["0.7", "0.9", "1.5"]})
    assert strict.monitoring_light(ratio=D("0.65"), subject="indicator") == "red"
    assert strict.monitoring_light(ratio=D("0.85"), subject="indicator") == "yellow"
    assert strict.monitoring_light(ratio=D("1.4"), subject="indicator") == "green"


def test_hook_monitoring_light_of_attainment_ratios(host):
    hooks = hooks_for(host)
    # 培训 ≥ 120 人次 a year: 18 by the end of March is 60% of the 30 expected.
    assert hooks.monitoring_light(ratio=attainment_ratio("ge", D(120), D(18), 3), subject="indicator") == "yellow"
    # A cost cap of 120万 a year: 60万 spent by the end of March is twice the 30万 expected.
    assert hooks.monitoring_light(ratio=attainment_ratio("le", D(120), D(60), 3), subject="indicator") == "red"
    # A unit-cost cap of 100 元/人 (a level) read 90 in June: inside the cap, so green (it used to be red).
    assert hooks.monitoring_light(ratio=attainment_ratio("le", D(100), D(90), 6, "level"), subject="indicator") == "green"


# ---- Evaluation ---------------------------------------------------------------------------------------------


def test_hook_evaluation_weights_self_evaluation_form(host):
    form = evaluation_form(hooks_for(host).evaluation_weights(kind="self"), "self")
    assert form.execution == D(10)
    assert [(g.name, g.points, g.level1) for g in form.groups] == [
        ("产出", D(50), ("产出", "成本")), ("效益", D(30), ("效益",)), ("满意度", D(10), ("满意度",))]
    assert form.total == 100


@pytest.mark.parametrize("kind", ["department", "finance", "third_party"])
def test_hook_evaluation_weights_finance_and_key_evaluations_score_decision_process_output_outcome(host, kind):
    """They used to get the self-evaluation form (10/50/30/10), with no 决策 or 过程 at all."""
    form = evaluation_form(hooks_for(host).evaluation_weights(kind=kind), kind)
    assert [(g.name, g.points) for g in form.groups] == [("决策", 20), ("过程", 20), ("产出", 30), ("效益", 30)]
    assert form.execution == 0 and form.total == 100
    output_outcome = sum(g.points for g in form.groups if g.name in ("产出", "效益"))
    assert output_outcome / form.total >= D("0.6")
    decision, process = form.groups[0], form.groups[1]
    assert sum(i.points for i in decision.indicators) == 20 and sum(i.points for i in process.indicators) == 20
    assert [i.name for i in process.indicators if i.scored_by == "execution"] == ["预算执行率"]
    assert form.group_of("满意度").name == "效益" and form.group_of("成本").name == "产出"


def test_hook_evaluation_weights_a_bureau_replaces_a_kinds_form_by_setting(host):
    own = {"execution": 0, "groups": [{"name": "决策", "points": 15, "indicators": [
        {"code": "D", "level2": "项目立项", "name": "立项规范性", "points": 15}]},
        {"name": "过程", "points": 15, "indicators": [{"code": "P", "level2": "资金管理", "name": "资金使用合规性",
                                                      "points": 15}]},
        {"name": "产出", "points": 40, "level1": ["产出"]}, {"name": "效益", "points": 30, "level1": ["效益", "满意度"]}]}
    hooks = hooks_for(host, **{"evaluation.forms": {"finance": own}})
    assert [g.points for g in evaluation_form(hooks.evaluation_weights(kind="finance"), "finance").groups] == [
        15, 15, 40, 30]
    assert evaluation_form(hooks.evaluation_weights(kind="self"), "self").execution == 10


def test_hook_evaluation_grade_bands(host):
    bands = hooks_for(host).evaluation_grade_bands(kind="self")
    assert bands == [["优", 90], ["良", 80], ["中", 60], ["差", 0]]
    assert [grade_for(D(t), bands) for t in ("90.00", "89.99", "79.99", "59.99")] == ["优", "良", "中", "差"]
    # Bands are a setting, so a province's YAML can change them without a plugin.
    other = hooks_for(host, **{"evaluation.grade_bands": [["优", 95], ["良", 85], ["中", 60], ["差", 0]]})
    assert grade_for(D("92"), other.evaluation_grade_bands(kind="finance")) == "良"


def test_hook_evaluation_grade_bands_overridden_by_a_region_for_its_tenants_only():
    region = RegionRules()
    host = PluginHost(extra=[("testregion", region)], load_entry_points=False)
    enabled = host.for_tenant(make_tenant(plugins=("testregion",), code="431102"))
    other = host.for_tenant(make_tenant(code="431103"))

    regional = enabled.evaluation_grade_bands(kind="finance")
    national_bands = other.evaluation_grade_bands(kind="finance")
    assert regional[0] == ["优", 85] and national_bands[0] == ["优", 90]
    assert grade_for(D("86"), regional) == "优"
    assert grade_for(D("86"), national_bands) == "良"
    # Returning None lets national answer (firstresult).
    assert enabled.evaluation_grade_bands(kind="self") == [["优", 90], ["良", 80], ["中", 60], ["差", 0]]
    # The region was asked only for the tenant that enables it.
    assert region.asked == ["431102", "431102"]


def candidates(keys: tuple[int, ...] = (3, 7), count: int = 12) -> list[ProjectView]:
    return [make_project(id=i, kind="project", is_key=i in keys) for i in range(1, count + 1)]


def test_hook_sample_for_reevaluation(host):
    hooks = hooks_for(host)
    population = candidates()
    first = hooks.sample_for_reevaluation(candidates=population, rng=random.Random(20250601))
    again = hooks.sample_for_reevaluation(candidates=population, rng=random.Random(20250601))
    assert first == again  # the recorded seed reproduces the draw
    assert first == sorted(first)
    assert {3, 7} <= set(first)  # key projects always
    others = set(first) - {3, 7}
    assert len(others) == 2  # ceil(20% of 10)
    assert others <= {p.id for p in population}

    draws = {tuple(hooks.sample_for_reevaluation(candidates=population, rng=random.Random(seed)))
             for seed in range(20)}
    assert len(draws) > 1  # the seed matters

    # At least one non-key project, however small the share.
    few = hooks.sample_for_reevaluation(candidates=candidates(keys=(), count=3), rng=random.Random(1))
    assert len(few) == 1
    tiny_rate = hooks_for(host, **{"evaluation.sample_rate": "0.01"})
    assert len(tiny_rate.sample_for_reevaluation(candidates=candidates(keys=(1,)), rng=random.Random(2))) == 2
    # Only key projects: all of them, nothing drawn.
    assert hooks.sample_for_reevaluation(candidates=candidates(keys=(1, 2), count=2), rng=random.Random(3)) == [1, 2]
    whole = hooks_for(host, **{"evaluation.sample_rate": "1"})
    assert whole.sample_for_reevaluation(candidates=population, rng=random.Random(4)) == list(range(1, 13))


# ---- Results application ------------------------------------------------------------------------------------


def test_hook_suggest_results_action(host):
    hooks = hooks_for(host)
    assert hooks.suggest_results_action(grade="优", year=2026) == {"action": "prioritise", "label": "优先保障"}
    assert hooks.suggest_results_action(grade="良", year=2026) == {"action": "maintain", "label": "保障"}
    assert hooks.suggest_results_action(grade="中", year=2026)["action"] == "reduce"
    assert "压缩" in hooks.suggest_results_action(grade="中", year=2026)["label"]
    assert hooks.suggest_results_action(grade="差", year=2026) == {"action": "cut", "label": "削减或取消"}
    assert hooks.suggest_results_action(grade="合格", year=2026) is None  # a regional grade national does not know
