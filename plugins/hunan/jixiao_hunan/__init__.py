"""Hunan (湖南) rules for Jixiao: default settings, the province's and cities' assessment schemes, and
Hengyang's incentive rule for counties (seed 002)."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from jixiao import hookimpl
from jixiao.toolkit import load_data_file


@cache
def _schemes() -> list[dict[str, Any]]:
    return list(load_data_file("jixiao_hunan", "schemes.yaml").values())


@hookimpl
def tenant_default_settings(tenant: Any) -> dict[str, Any]:
    return load_data_file("jixiao_hunan", "settings.yaml")


@hookimpl
def register_assessment_schemes(tenant: Any, year: int) -> list[dict[str, Any]]:
    """The schemes in force in ``year`` (each carries the years it applies to and its rule set)."""
    chosen = []
    for scheme in _schemes():
        first, last = scheme["years"]
        if first <= year and (last is None or year <= last):
            chosen.append({k: v for k, v in scheme.items()})
    return chosen


@hookimpl
def assessment_awards(tenant: Any, scheme: dict[str, Any], results: list[Any],
                      ancestor_results: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[str]]] | None:
    """Hengyang's rule (seed 002): a county scoring at least 80 (a district 70), one rated 优秀, or one in the
    province's top ten gets working funds; the lowest are named in the notice and summoned."""
    rule = scheme.get("incentive")
    if not rule:
        return None
    settings = tenant.settings
    county_min = Decimal(str(settings.get("assessment.reward_min_score.county", rule["min_score"]["county"])))
    district_min = Decimal(str(settings.get("assessment.reward_min_score.district", rule["min_score"]["district"])))
    top = int(settings.get("assessment.reward_province_top", rule["province_top"]))
    decided: dict[str, dict[str, list[str]]] = {}
    for result in results:
        awards = []
        threshold = district_min if result.division_type == "区" else county_min
        upper = ancestor_results.get(result.code) or {}
        if result.vetoed:
            decided[result.code] = {"awards": [], "notices": ["一票否决，予以通报"]}
            continue
        if result.total >= threshold:
            kind = "区" if result.division_type == "区" else "县市"
            awards.append(f"考核评分 {result.total} 分，达到{kind}{threshold}分以上，{rule['reward']}")
        if result.grade == rule["reward_grade"] or upper.get("grade") == rule["reward_grade"]:
            awards.append(f"考核等级为{rule['reward_grade']}，{rule['reward']}")
        if upper.get("rank") and int(upper["rank"]) <= top:
            awards.append(f"进入全省前{top}名（第{upper['rank']}名），{rule['reward']}")
        decided[result.code] = {"awards": awards, "notices": []}
    # The lowest of those not rewarded are named in the notice (通报) and summoned (约谈).
    laggards = sorted((r for r in results if not r.vetoed and not decided[r.code]["awards"]),
                      key=lambda r: (r.total, r.code))
    for result in laggards[: int(rule.get("summon_bottom", 0))]:
        decided[result.code]["notices"] = ["考核排名靠后，予以通报并约谈"]
    return decided
