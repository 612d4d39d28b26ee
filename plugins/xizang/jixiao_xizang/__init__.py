"""Xizang (西藏) rules for Jixiao.

- ``tenant_default_settings``: the region's defaults (``data/settings.yaml``): monitoring cadence (department-whole
  budgets at June, projects monthly, seed 001) and the switch ``targets.common_indicators_from_catalog``.
- ``register_indicator_catalogs``: the region's common indicator catalog by sector and field
  (分行业分领域共性指标, ``data/catalog.yaml``: 9 categories, 93 indicators, a reasoned default), for the budget
  years the file says it is in force.
- ``validate_targets``: a project takes its common indicators from the catalog category it is in (seed 001:
  "共性指标一律使用体系内指标"); the rule is spelt out in :func:`validate_targets` and the README.
- ``exante_dimensions``: Biangba's own ex-ante dimensions (seed 001: 项目必要性, 项目投入, 项目产出, 方案有效性,
  财政资金投入的可行性风险), from ``data/exante.yaml``, for the tenants whose setting ``exante.dimension_set``
  names a set there; every other tenant keeps the national five.
"""

from __future__ import annotations

import copy
import difflib
import functools
from importlib.resources import files
from pathlib import Path
from typing import Any

from jixiao import hookimpl
from jixiao.toolkit import NATIONAL_INDICATOR_FRAMEWORK, Setting, load_data_file

#: What pages call this plugin (read by the plugin host; docs/plugins.md, "Display name").
DISPLAY_NAME = "西藏自治区规则"

PACKAGE = "jixiao_xizang"
CATALOG_FILE = "catalog.yaml"
EXANTE_FILE = "exante.yaml"
SETTING = "targets.common_indicators_from_catalog"
EXANTE_SETTING = "exante.dimension_set"
NATIONAL = "national"
SUGGESTIONS = 3

DIRECTIONS = {"ge": "≥", "gt": ">", "eq": "=", "le": "≤", "lt": "<", "qualitative": "定性"}


class CatalogFileError(ValueError):
    """The catalog data file is not in the expected shape (the message names the file and the entry)."""


class ExAnteFileError(ValueError):
    """The ex-ante dimensions file is not in the expected shape, or a tenant names a set it does not have."""


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
    catalog: dict[str, Any] = {"code": str(raw["code"]), "name": str(raw["name"]), "source": str(raw.get("source") or "").strip(),
               "years": [first, last], "categories": []}
    codes: set[str] = set()  # indicator codes are unique across the catalog
    category_keys: set[str] = set()
    for cat in raw["categories"]:
        catalog["categories"].append(_checked_category(catalog["code"], cat, category_keys, codes))
    return catalog


def _checked_category(catalog_code: str, cat: Any, category_keys: set[str], codes: set[str]) -> dict[str, Any]:
    """One category of a catalog; its code, name and aliases, and its indicators' codes, join the ones seen."""
    if not cat.get("code") or not cat.get("name") or not cat.get("indicators"):
        raise _fail(f"指标库 {catalog_code} 的每个类别都需要 code、name 和 indicators")
    keys = [str(cat["code"]), str(cat["name"]), *(str(a) for a in cat.get("aliases") or [])]
    clash = category_keys.intersection(keys)
    if clash:
        raise _fail(f"类别名称或编码重复：{'、'.join(sorted(clash))}")
    category_keys.update(keys)
    category: dict[str, Any] = {"code": keys[0], "name": keys[1], "aliases": keys[2:], "indicators": []}
    names: set[str] = set()  # indicator names are unique within their category
    for item in cat["indicators"]:
        category["indicators"].append(_checked_indicator(category["name"], item, codes, names))
    return category


def _checked_indicator(category_name: str, item: Any, codes: set[str], names: set[str]) -> dict[str, Any]:
    code = str(item.get("code") or "")
    where = f"指标 {code or '(无编码)'}（{category_name}）"
    if not code or code in codes:
        raise _fail(f"{where}：编码为空或重复")
    codes.add(code)
    # The national framework (level 1 → level 2) checks a replaced data file when it is read.
    if item.get("level2") not in NATIONAL_INDICATOR_FRAMEWORK.get(item.get("level1"), ()):
        raise _fail(f"{where}：一级/二级指标“{item.get('level1')}/{item.get('level2')}”不在国家指标框架中")
    if item.get("direction") not in DIRECTIONS:
        raise _fail(f"{where}：指标方向应为 {'、'.join(DIRECTIONS)}")
    name = str(item.get("name") or "").strip()
    if not name or name in names:
        raise _fail(f"{where}：指标名称为空或在本类别中重复")
    names.add(name)
    return {
        "code": code, "level1": item["level1"], "level2": item["level2"], "name": name,
        "direction": item["direction"], "unit": str(item.get("unit") or ""),
        "typical_value": "" if item.get("typical_value") is None else str(item["typical_value"]),
    }


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


# ---- The ex-ante dimensions data file -----------------------------------------------------------------------


def _exante_fail(message: str) -> ExAnteFileError:
    return ExAnteFileError(f"{PACKAGE}/data/{EXANTE_FILE}: {message}")


def exante_data() -> dict[str, Any]:
    """The dimension sets and the tenants that use them by default, checked: a set's keys are distinct, every
    dimension has a label and positive points, the points add up to 100, and a tenant names a set that exists."""
    raw = load_data_file(PACKAGE, EXANTE_FILE) or {}
    sets: dict[str, dict[str, Any]] = {}
    for name, body in (raw.get("sets") or {}).items():
        dimensions: list[dict[str, Any]] = []
        for item in (body or {}).get("dimensions") or []:
            key, label, points = str(item.get("key") or "").strip(), str(item.get("label") or "").strip(), item.get("max")
            if not key or not label or isinstance(points, bool) or not isinstance(points, int) or points <= 0:
                raise _exante_fail(f"维度集 {name} 的每个维度都需要 key、label 和正整数分值 max")
            dimensions.append({"key": key, "label": label, "max": points})
        keys = [d["key"] for d in dimensions]
        if not dimensions or len(set(keys)) != len(keys):
            raise _exante_fail(f"维度集 {name} 没有维度，或维度 key 重复")
        total = sum(d["max"] for d in dimensions)
        if total != 100:
            raise _exante_fail(f"维度集 {name} 的分值合计应为 100（现为 {total}）")
        sets[str(name)] = {"name": str(body.get("name") or name), "source": str(body.get("source") or ""),
                           "dimensions": dimensions}
    tenants = {str(code): str(name) for code, name in (raw.get("tenants") or {}).items()}
    for code, name in tenants.items():
        if name not in sets and name != NATIONAL:
            raise _exante_fail(f"单位 {code} 使用的维度集 {name} 未定义")
    return {"sets": sets, "tenants": tenants}


def exante_set_for(tenant: Any) -> str | None:
    """The dimension set the data file gives ``tenant``: its own entry, else its nearest ancestor's."""
    tenants = exante_data()["tenants"]
    for code in (tenant.code, *reversed(tenant.ancestor_codes)):
        if code in tenants:
            return tenants[code]
    return None


# ---- Hooks --------------------------------------------------------------------------------------------------


@hookimpl
def tenant_default_settings(tenant: Any) -> dict[str, Any]:
    settings = dict(load_data_file(PACKAGE, "settings.yaml"))
    # As a setting, so the tenant's page shows which set is in force and its tenants YAML may choose another.
    chosen = exante_set_for(tenant)
    if chosen:
        settings[EXANTE_SETTING] = chosen
    return settings


@hookimpl
def declare_settings() -> list[Setting]:
    """The catalog rule's switch (its default the shipped ``settings.yaml``'s) and the ex-ante dimension set, one
    of those ``exante.yaml`` defines (or ``national``)."""
    shipped = load_data_file(PACKAGE, "settings.yaml")
    try:
        choices: tuple[str, ...] | None = (NATIONAL, *exante_data()["sets"])
    except ExAnteFileError:  # a broken file does not stop the app: exante_dimensions says what is wrong when asked
        choices = None
    return [
        Setting(SETTING, "boolean", default=shipped.get(SETTING, False),
                description="项目的共性指标须取自本区分行业分领域共性指标库中项目所属类别的指标（seed 001：共性指标一律使用体系内指标）"),
        Setting(EXANTE_SETTING, "text", choices=choices,
                description="事前绩效评估的维度集：exante.yaml 中定义的名称（如边坝县的 biangba），national 为国家的五个维度；"
                            "未设置时按 exante.yaml 为各单位指定的维度集"),
    ]


@hookimpl
def exante_dimensions(tenant: Any) -> list[dict[str, Any]] | None:
    """The dimension set named by the setting ``exante.dimension_set``; none (so the national five) without it
    or when it says ``national``. A name the data file does not define is an error, never a silent default:
    scores given under the wrong dimensions would be kept as the assessment."""
    name = tenant.settings.get(EXANTE_SETTING)
    if not name or name == NATIONAL:
        return None
    sets = exante_data()["sets"]
    if name not in sets:
        raise _exante_fail(f"{tenant.code} 的设置 {EXANTE_SETTING} 为 {name}，文件中没有这个维度集")
    return [dict(d) for d in sets[name]["dimensions"]]


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
    """Common indicators (共性指标) come from the catalog category the project is in, and it must be in one.

    The rule, when the setting ``targets.common_indicators_from_catalog`` is true and a catalog is in force in
    the project's budget year. The project must be in one of its categories (one whose name, code or alias equals
    the project's category); one that is not, an empty category included, is refused on ``category``, listing
    the categories. For a project in a category:

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
        # A project with no catalog category would escape the rule: in a year a catalog is in force, it must have one.
        current = [c for c in catalogs() if in_force(c, project.year)]
        if not current:
            return None
        allowed = "、".join(cat["name"] for c in current for cat in c["categories"])
        wanted = (project.category or "").strip()
        what = f"项目类别“{wanted}”不是《{current[0]['name']}》的类别" if wanted else "项目未选择类别"
        return [{"field": "category", "message": f"{what}，无法核对共性指标；请将项目类别改为：{allowed}"}]
    assert catalog is not None, "category_for returns a catalog with every category"
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
    """The region's assessment of its own departments, with the years it is in force (the core filters them)."""
    return [copy.deepcopy(s) for s in load_data_file("jixiao_xizang", "schemes.yaml").values()]
