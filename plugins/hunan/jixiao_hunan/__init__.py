"""Hunan (湖南) rules for Jixiao: default settings, the province's and cities' assessment schemes, and
Hengyang's incentive rule for counties (seed 002), whose conditions are read as the scheme's
``incentive.conditions`` says (``any``: one of them suffices, the default; ``all``: all three are needed)."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from jixiao import hookimpl
from jixiao.toolkit import Setting, load_data_file

#: What pages call this plugin (read by the plugin host; docs/plugins.md, "Display name").
DISPLAY_NAME = "湖南省规则"

SCHEMES_FILE = "schemes.yaml"
# How the incentive's conditions combine: "any" rewards a county meeting one of them, "all" one meeting all three.
CONDITIONS = ("any", "all")
DEFAULT_CONDITIONS = "any"


@cache
def _schemes() -> list[dict[str, Any]]:
    schemes = list(load_data_file("jixiao_hunan", SCHEMES_FILE).values())
    for scheme in schemes:
        conditions = (scheme.get("incentive") or {}).get("conditions", DEFAULT_CONDITIONS)
        if conditions not in CONDITIONS:
            raise ValueError(f"jixiao_hunan/data/{SCHEMES_FILE}: {scheme['code']} 的 incentive.conditions 应为 "
                             f"{' 或 '.join(CONDITIONS)}（填写的是 {conditions!r}）")
    return schemes


@hookimpl
def tenant_default_settings(tenant: Any) -> dict[str, Any]:
    return load_data_file("jixiao_hunan", "settings.yaml")


def _at_least_one(top: int) -> int:
    if top < 1:
        raise ValueError("应为至少 1 名")
    return top


@hookimpl
def declare_settings() -> list[Setting]:
    """The thresholds of Hengyang's incentive rule, their defaults the shipped data file's (``settings.yaml``)."""
    shipped = load_data_file("jixiao_hunan", "settings.yaml")
    return [
        Setting("assessment.reward_min_score.county", "decimal", default=shipped["assessment.reward_min_score.county"],
                description="衡阳市对县市区考核的奖励条件（seed 002）：县、县级市考核评分达到此分数以上即奖励工作经费"),
        Setting("assessment.reward_min_score.district", "decimal",
                default=shipped["assessment.reward_min_score.district"],
                description="衡阳市对县市区考核的奖励条件（seed 002）：区考核评分达到此分数以上即奖励工作经费"),
        Setting("assessment.reward_province_top", "integer", default=shipped["assessment.reward_province_top"],
                check=_at_least_one,
                description="衡阳市对县市区考核的奖励条件（seed 002）：进入全省考核前此名次的县市区奖励工作经费"),
    ]


@hookimpl
def register_assessment_schemes(tenant: Any, year: int) -> list[dict[str, Any]]:
    """Every scheme, each with the years it applies to and its rule set (the core keeps those in force)."""
    return [dict(scheme) for scheme in _schemes()]


@hookimpl
def assessment_awards(tenant: Any, scheme: dict[str, Any], results: list[Any],
                      ancestor_results: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[str]]] | None:
    """Hengyang's rule (seed 002): "对县市区考核评分80分（区考核评分70分）以上的，考核等级为优秀的，考核进入全省
    前十名的县市区奖励工作经费"; the lowest of the others are named in the notice and summoned.

    The sentence lists three conditions — a score of at least 80 (a district 70), the grade 优秀 (the city's or
    the province's), a place in the province's top ten — and the scheme's ``incentive.conditions`` says how they
    combine: ``any`` (the default) rewards a county meeting one of them, one award per condition met; ``all``
    rewards only a county meeting the three, with one award naming them.

    Only ranked counties are judged: one with too little data (数据不足) is neither rewarded nor named. A
    county graded with the scheme's lowest grade (不合格) is not rewarded unless ``reward_failing_grade`` says
    so. Ties are treated alike: counties with equal totals tied with the last one named are named too.
    """
    rule = scheme.get("incentive")
    if not rule:
        return None
    settings = tenant.settings
    county_min = Decimal(str(settings.get("assessment.reward_min_score.county", rule["min_score"]["county"])))
    district_min = Decimal(str(settings.get("assessment.reward_min_score.district", rule["min_score"]["district"])))
    top = int(settings.get("assessment.reward_province_top", rule["province_top"]))
    every = rule.get("conditions", DEFAULT_CONDITIONS) == "all"
    lowest = _lowest_grade(scheme)
    decided: dict[str, dict[str, list[str]]] = {}
    for result in results:
        if not getattr(result, "ranked", True):
            decided[result.code] = {"awards": [], "notices": []}
            continue
        threshold = district_min if result.division_type == "区" else county_min
        upper = ancestor_results.get(result.code) or {}
        if result.vetoed:
            decided[result.code] = {"awards": [], "notices": ["一票否决，予以通报"]}
            continue
        kind = "区" if result.division_type == "区" else "县市"
        rank = int(upper["rank"]) if upper.get("rank") else None
        met = [reason for condition, reason in (
            (result.total >= threshold, f"考核评分 {result.total} 分，达到{kind}{threshold}分以上"),
            (rule["reward_grade"] in (result.grade, upper.get("grade")), f"考核等级为{rule['reward_grade']}"),
            (rank is not None and rank <= top, f"进入全省前{top}名（第{rank}名）"),
        ) if condition]
        if every:
            awards = [f"{'；'.join(met)}，{rule['reward']}"] if len(met) == 3 else []
        else:
            awards = [f"{reason}，{rule['reward']}" for reason in met]
        if result.grade == lowest and not rule.get("reward_failing_grade", False):
            awards = []
        decided[result.code] = {"awards": awards, "notices": []}
    # The lowest of those not rewarded are named in the notice (通报) and summoned (约谈); a county tied with the
    # last one named is named too.
    laggards = sorted((r for r in results if getattr(r, "ranked", True) and not r.vetoed
                       and not decided[r.code]["awards"]), key=lambda r: (r.total, r.code))
    count = int(rule.get("summon_bottom", 0))
    if count > 0 and laggards:
        line = laggards[min(count, len(laggards)) - 1].total
        for result in laggards:
            if result.total <= line:
                decided[result.code]["notices"] = ["考核排名靠后，予以通报并约谈"]
    return decided


def _lowest_grade(scheme: dict[str, Any]) -> str | None:
    bands = scheme.get("grades") or []
    return str(min(bands, key=lambda band: Decimal(str(band[1])))[0]) if bands else None
