"""Xizang (西藏) rules for Jixiao.

- ``tenant_default_settings``: the region's defaults (``data/settings.yaml``): monitoring cadence (department-whole
  budgets at June, projects monthly, seed 001) and the switch ``targets.common_indicators_from_catalog``.
- ``register_indicator_catalogs``: the region's common indicator catalog by sector and field
  (分行业分领域共性指标, ``data/catalog.yaml``: 9 categories, 93 indicators, a reasoned default), for the budget
  years the file says it is in force.
- ``validate_targets``: a project in a catalog category takes its common indicators from the catalog (seed 001:
  "共性指标一律使用体系内指标"); the rule is spelt out in :func:`validate_targets` and the README.
"""

from __future__ import annotations

import copy
import difflib
import functools
from importlib.resources import files
from pathlib import Path
from typing import Any

from jixiao import hookimpl
from jixiao.toolkit import load_data_file

PACKAGE = "jixiao_xizang"
CATALOG_FILE = "catalog.yaml"
SETTING = "targets.common_indicators_from_catalog"
SUGGESTIONS = 3

# The national framework (level 1 → level 2), to check a replaced data file when it is read.
FRAMEWORK = {
    "产出": ("数量指标", "质量指标", "时效指标", "成本指标"),
    "效益": ("经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标"),
    "满意度": ("服务对象满意度指标",),
    "成本": ("经济成本指标", "社会成本指标", "生态环境成本指标"),
}
DIRECTIONS = {"ge": "≥", "gt": ">", "eq": "=", "le": "≤", "lt": "<", "qualitative": "定性"}


class CatalogFileError(ValueError):
    """The catalog data file is not in the expected shape (the message names the file and the entry)."""


# ---- The catalog data file ----------------------------------------------------------------------------------


def _stamp() -> int | None:
    """The data file's modification time: a bureau that replaces the file is read again without a restart."""
    try:
        return Path(str(files(PACKAGE) / "data" / CATALOG_FILE)).stat().st_mtime_ns
    except OSError:
        return None


def _fail(message: str) -> CatalogFileError:
    return CatalogFileError(f"{PACKAGE}/data/{CATALOG_FILE}: {message}")


def _checked_catalog(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _fail("每个指标库应是一个映射（code、name、source、years、categories）")
    for key in ("code", "name", "years", "categories"):
        if not raw.get(key):
            raise _fail(f"指标库缺少 {key}")
    years = list(raw["years"]) + [None] * (2 - len(raw["years"]))
    first, last = years[0], years[1]
    if not isinstance(first, int) or not (last is None or isinstance(last, int) and last >= first):
        raise _fail(f"指标库 {raw['code']} 的 years 应为 [起始年度, 截止年度或 null]")
    catalog = {"code": str(raw["code"]), "name": str(raw["name"]), "source": str(raw.get("source") or "").strip(),
               "years": [first, last], "categories": []}
    codes: set[str] = set()
    category_keys: set[str] = set()
    for cat in raw["categories"]:
        if not cat.get("code") or not cat.get("name") or not cat.get("indicators"):
            raise _fail(f"指标库 {catalog['code']} 的每个类别都需要 code、name 和 indicators")
        keys = [str(cat["code"]), str(cat["name"]), *(str(a) for a in cat.get("aliases") or [])]
        clash = category_keys.intersection(keys)
        if clash:
            raise _fail(f"类别名称或编码重复：{'、'.join(sorted(clash))}")
        category_keys.update(keys)
        category = {"code": keys[0], "name": keys[1], "aliases": keys[2:], "indicators": []}
        names: set[str] = set()
        for item in cat["indicators"]:
            code = str(item.get("code") or "")
            where = f"指标 {code or '(无编码)'}（{category['name']}）"
            if not code or code in codes:
                raise _fail(f"{where}：编码为空或重复")
            codes.add(code)
            if item.get("level2") not in FRAMEWORK.get(item.get("level1"), ()):
                raise _fail(f"{where}：一级/二级指标“{item.get('level1')}/{item.get('level2')}”不在国家指标框架中")
            if item.get("direction") not in DIRECTIONS:
                raise _fail(f"{where}：指标方向应为 {'、'.join(DIRECTIONS)}")
            name = str(item.get("name") or "").strip()
            if not name or name in names:
                raise _fail(f"{where}：指标名称为空或在本类别中重复")
            names.add(name)
            category["indicators"].append({
                "code": code, "level1": item["level1"], "level2": item["level2"], "name": name,
                "direction": item["direction"], "unit": str(item.get("unit") or ""),
                "typical_value": "" if item.get("typical_value") is None else str(item["typical_value"]),
            })
        catalog["categories"].append(category)
    return catalog


@functools.lru_cache(maxsize=4)
def _load(stamp: int | None) -> tuple[dict[str, Any], ...]:
    data = load_data_file(PACKAGE, CATALOG_FILE)
    raw = data.get("catalogs") if isinstance(data, dict) and "catalogs" in data else data
    return tuple(_checked_catalog(c) for c in (raw if isinstance(raw, list) else [raw]))


def catalogs() -> tuple[dict[str, Any], ...]:
    """Every catalog in the data file (one, or a list under ``catalogs:`` for successive versions)."""
    return _load(_stamp())


def in_force(catalog: dict[str, Any], year: int) -> bool:
    first, last = catalog["years"]
    return first <= year and (last is None or year <= last)


def category_for(project_category: str, year: int) -> tuple[dict[str, Any], dict[str, Any]] | tuple[None, None]:
    """The catalog in force in ``year`` and its category whose name, code or alias is the project's category."""
    wanted = (project_category or "").strip()
    if not wanted:
        return None, None
    for catalog in catalogs():
        if not in_force(catalog, year):
            continue
        for category in catalog["categories"]:
            if wanted in (category["name"], category["code"], *category["aliases"]):
                return catalog, category
    return None, None


# ---- Hooks --------------------------------------------------------------------------------------------------


@hookimpl
def tenant_default_settings(tenant: Any) -> dict[str, Any]:
    return load_data_file(PACKAGE, "settings.yaml")


@hookimpl
def register_indicator_catalogs(tenant: Any, year: int) -> list[dict[str, Any]]:
    return [copy.deepcopy(c) for c in catalogs() if in_force(c, year)]


def suggestions(name: str, level1: str, level2: str, indicators: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Up to three catalog indicators closest to ``name``: name similarity (difflib's ratio, 0–1), plus 0.2 for
    the same level 2 and 0.05 for the same level 1, so the unit sees the indicators it most likely meant."""
    def score(item: dict[str, Any]) -> float:
        ratio = difflib.SequenceMatcher(None, name, item["name"]).ratio()
        return ratio + 0.2 * (item["level2"] == level2) + 0.05 * (item["level1"] == level1)

    ranked = sorted(indicators, key=score, reverse=True)  # stable: catalog order among equals
    return ranked[:SUGGESTIONS]


def _choices(items: list[dict[str, Any]]) -> str:
    return "、".join(f"{i['name']}（{i['code']}）" for i in items)


@hookimpl
def validate_targets(tenant: Any, project: Any, targets: Any) -> list[dict[str, str]] | None:
    """Common indicators (共性指标) come from the catalog, for a project whose category is a catalog category.

    The rule, when the setting ``targets.common_indicators_from_catalog`` is true and a catalog in force in the
    project's budget year has a category whose name, code or alias equals the project's category:

    - an indicator with a ``catalog_code`` must name an indicator of that category, and keep its name, level 1,
      level 2 and direction (its target value, unit and weight are the unit's);
    - an indicator without a code whose name is exactly a catalog indicator's of that category is that
      indicator (its level 1, level 2 and direction must match too);
    - any other indicator is a common indicator outside the catalog when the category covers its level 1 /
      level 2 pair (some catalog indicator of the category has it), and is refused naming it, with up to three
      catalog indicators of the category suggested by name similarity; under a pair the category does not
      cover it is an individual indicator (个性指标) and is left alone.
    """
    if not tenant.settings.get(SETTING):
        return None
    catalog, category = category_for(project.category, project.year)
    if category is None:
        return None
    indicators = category["indicators"]
    by_code = {i["code"]: i for i in indicators}
    by_name = {i["name"]: i for i in indicators}
    elsewhere = {i["code"]: other for other in catalog["categories"] if other is not category
                 for i in other["indicators"]}
    covered = {(i["level1"], i["level2"]) for i in indicators}
    label = category["name"]
    problems: list[dict[str, str]] = []
    for position, indicator in enumerate(targets.indicators, start=1):
        where = f"indicators[{position}]"
        name = indicator.name.strip()
        code = (indicator.catalog_code or "").strip()
        if code:
            entry = by_code.get(code)
            if entry is None:
                close = _choices(suggestions(name, indicator.level1, indicator.level2, indicators))
                owner = elsewhere.get(code)
                what = (f"共性指标编码“{code}”属于“{owner['name']}”类，不是本行业（{label}）共性指标" if owner else
                        f"共性指标编码“{code}”不在《{catalog['name']}》中")
                problems.append({"field": f"{where}.catalog_code", "message": f"“{name}”的{what}；可选：{close}"})
                continue
            if name != entry["name"]:
                problems.append({"field": f"{where}.name",
                                 "message": f"共性指标 {code} 的名称应为“{entry['name']}”，不能改动（填写的是“{name}”）"})
        else:
            entry = by_name.get(name)
            if entry is None:
                if (indicator.level1, indicator.level2) in covered:
                    close = _choices(suggestions(name, indicator.level1, indicator.level2, indicators))
                    problems.append({"field": f"{where}.name",
                                     "message": f"“{name}”不是本行业（{label}）共性指标；可选：{close}"})
                continue
        if (indicator.level1, indicator.level2) != (entry["level1"], entry["level2"]):
            problems.append({"field": f"{where}.level2", "message": f"共性指标“{entry['name']}”（{entry['code']}）"
                                                                   f"属于“{entry['level1']}—{entry['level2']}”"})
        if indicator.direction != entry["direction"]:
            problems.append({"field": f"{where}.direction", "message": f"共性指标“{entry['name']}”（{entry['code']}）"
                                                                      f"的指标方向应为“{DIRECTIONS[entry['direction']]}”"})
    return problems


@hookimpl
def register_assessment_schemes(tenant: Any, year: int) -> list[dict[str, Any]]:
    """The region's assessment of its own departments, in the years it is in force."""
    schemes = load_data_file("jixiao_xizang", "schemes.yaml").values()
    return [copy.deepcopy(s) for s in schemes
            if s["years"][0] <= year and (s["years"][1] is None or year <= s["years"][1])]
