"""Sichuan (四川) rules for Jixiao.

Every number is data (``data/settings.yaml``, overridable per bureau in the tenants YAML); every rule carries
the budget years it is in force and does not answer for other years, so the national rule answers then.
See README.md for each rule's source.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jixiao import hookimpl
from jixiao.toolkit import Setting, load_data_file, money

#: What pages call this plugin (read by the plugin host; docs/plugins.md, "Display name").
DISPLAY_NAME = "四川省规则"

PACKAGE = "jixiao_sichuan"
CENT = Decimal("0.01")

#: Each rule: the setting holding its years, and the settings that make it up.
RULES: dict[str, tuple[str, ...]] = {
    "exante": ("exante.threshold_yuan", "exante.threshold_kinds"),
    "monitoring.warnings": ("monitoring.execution_floor_by_month", "monitoring.divergence_points",
                            "monitoring.response_working_days"),
    "evaluation.sample": ("evaluation.sample.key_share", "evaluation.sample.other_share"),
}


@functools.cache
def _defaults() -> dict[str, Any]:
    return load_data_file(PACKAGE, "settings.yaml")


def defaults() -> dict[str, Any]:
    """The plugin's default settings (a fresh copy: callers may not change the shipped data)."""
    return copy.deepcopy(_defaults())


def setting(tenant: Any, key: str) -> Any:
    """The tenant's setting (its YAML over the plugin's defaults), else the shipped default: the data file, which
    :func:`declare_settings` declares as the defaults too, so a rule asked outside its tenants still answers."""
    settings: Mapping[str, Any] = tenant.settings
    return settings[key] if key in settings else _defaults().get(key)


def covers(years: Any, year: int) -> bool:
    """``[first, last]`` (inclusive, ``None`` = open) covers ``year``; no years at all means every year."""
    if not years:
        return True
    first, last = (list(years) + [None, None])[:2]
    return (first is None or int(first) <= year) and (last is None or year <= int(last))


def rule_in_force(tenant: Any, rule: str, year: int) -> dict[str, Any] | None:
    """The settings of ``rule`` in force for budget ``year``, or ``None`` when no edition covers it."""
    values = {key: setting(tenant, key) for key in RULES[rule]}
    for edition in setting(tenant, f"{rule}.editions") or []:
        if covers(edition.get("years"), year):
            return {**values, **{k: v for k, v in edition.items() if k in values}}
    return values if covers(setting(tenant, f"{rule}.years"), year) else None


def _number(value: Any) -> Decimal:
    return Decimal(repr(value) if isinstance(value, float) else str(value))


def _points(value: Decimal) -> str:
    """A percentage for a message: ``25`` → ``25``, ``24.5`` → ``24.5``."""
    return f"{value.normalize():f}"


# ---- Settings -----------------------------------------------------------------------------------------------


@hookimpl
def tenant_default_settings(tenant: Any) -> dict[str, Any]:
    return defaults()


KINDS = ("project", "policy", "department_whole")
YEARS_SHAPE = "应为 [起始年度, 截止年度或 null]（含两端），如 [2020, null]"


def _year(value: Any) -> bool:
    return value is None or isinstance(value, int) and not isinstance(value, bool)


def _years(value: Any) -> Any:
    if not isinstance(value, list) or not 1 <= len(value) <= 2 or not all(_year(year) for year in value):
        raise ValueError(YEARS_SHAPE)
    if len(value) == 2 and None not in value and value[1] < value[0]:
        raise ValueError(YEARS_SHAPE)
    return value


def _editions(rule: str, declared: Mapping[str, Setting], value: Any) -> Any:
    """A rule's editions: each names its years and some of the rule's settings, each of its own type."""
    if not isinstance(value, list) or not all(isinstance(edition, dict) for edition in value):
        raise ValueError(f"应为版本列表，每个版本为 {{years: [起始, 截止], {rule} 的设置…}}")
    for position, edition in enumerate(value, start=1):
        try:
            _years(edition.get("years"))
        except ValueError as wrong:
            raise ValueError(f"第 {position} 个版本的 years {wrong}") from None
        for key, item in edition.items():
            if key == "years":
                continue
            if key not in RULES[rule]:
                raise ValueError(f"第 {position} 个版本的 {key} 不是 {rule} 的设置（可设置 {'、'.join(RULES[rule])}）")
            declared[key].parse(item)  # its refusal names the key
    return value


def _floors(value: Any) -> Any:
    shape = '应为 {月份: 预算执行率下限（百分数）}，如 {"4": 25, "6": 40}'
    if not isinstance(value, dict):
        raise ValueError(shape)
    for month, percent in value.items():
        if not str(month).isdigit() or not 1 <= int(month) <= 12 or isinstance(percent, bool) or not isinstance(
                percent, int | float | str):
            raise ValueError(shape)
        try:
            _number(percent)
        except ArithmeticError:
            raise ValueError(shape) from None
    return value


def _actions(value: Any) -> Any:
    shape = "应为 {等级: {action: 代码, label: 名称}}；某等级为 null 时交由下一个插件"
    if not isinstance(value, dict):
        raise ValueError(shape)
    for action in value.values():
        if action is None:
            continue
        if not isinstance(action, dict) or not all(str(action.get(part) or "").strip() for part in ("action", "label")):
            raise ValueError(shape)
    return value


def _share(value: str) -> str:
    if not Decimal(0) <= Decimal(value) <= Decimal(1):
        raise ValueError('应在 0 至 1 之间（"1" 为全部，"0" 为不抽取）')
    return value


@hookimpl
def declare_settings() -> list[Setting]:
    """Every setting the rules read, their defaults the shipped ``settings.yaml``'s (what its comments explain)."""
    shipped = _defaults()
    declared: dict[str, Setting] = {}

    def declare(key: str, kind: Any, description: str, **options: Any) -> None:
        declared[key] = Setting(key, kind, default=shipped.get(key), description=description, **options)

    declare("exante.threshold_yuan", "decimal", "事前绩效评估（seed 003）：项目或政策的申请金额（元）超过此数即须评估；"
            "null 停用金额规则（按国家规则）", nullable=True)
    declare("exante.threshold_kinds", "texts", "金额规则适用的项目类型；其他类型按国家规则", choices=KINDS)
    declare("monitoring.execution_floor_by_month", "structured", "监控预警（示例性）：各月末预算执行率（%）的下限，"
            "报告月按其前最近一个列出的月份判断", check=_floors)
    declare("monitoring.divergence_points", "decimal", "监控预警（示例性）：指标目标完成进度与预算执行率相差超过此百分点即预警；"
            "null 不检查", nullable=True)
    declare("monitoring.response_working_days", "integer", "单位须在此工作日数内对预警作出继续执行、调剂或取消的选择，"
            "逾期暂停拨款；null 只预警不要求答复", nullable=True)
    declare("evaluation.sample.key_share", "decimal", "财政抽评（示例性）：抽取重点项目的比例，向上取整", check=_share)
    declare("evaluation.sample.other_share", "decimal", "财政抽评（示例性）：抽取其他自评项目的比例，向上取整", check=_share)
    declare("results.actions", "structured", "结果应用：各评价等级对应的预算安排（如 差 → 取消）；"
            "本级设置按等级覆盖随插件发布的对应关系", check=_actions)
    declare("results.years", "structured", "结果应用规则适用的预算年度 [起始, 截止]；未设置时适用于所有年度",
            nullable=True, check=_years)
    for rule in RULES:
        declare(f"{rule}.years", "structured", f"规则 {rule} 适用的预算年度 [起始, 截止]（含两端，截止为 null 表示仍然有效）；"
                "其他年度按国家规则", nullable=True, check=_years)
        check: Callable[[Any], Any] = functools.partial(_editions, rule, declared)
        declare(f"{rule}.editions", "structured", f"规则 {rule} 的各年度版本：[{{years: [起始, 截止], 该规则的设置…}}]，"
                "覆盖其年度内的相应设置（第一个覆盖该年度的版本生效）", check=check)
    return list(declared.values())


# ---- Ex-ante assessment (seed 003) ---------------------------------------------------------------------------


@hookimpl
def exante_required(tenant: Any, project: Any) -> bool | None:
    """Every project or policy over the threshold (50万元), new or continuing; at or under it, none.

    ``None`` — the national rule decides — for a budget year the rule does not cover, a kind it does not
    decide (department-whole budgets), or a bureau that switched it off (``exante.threshold_yuan: null``).
    """
    rule = rule_in_force(tenant, "exante", project.year)
    if rule is None or rule["exante.threshold_yuan"] is None:
        return None
    if project.kind not in (rule["exante.threshold_kinds"] or []):
        return None
    return money(project.requested_amount) > money(rule["exante.threshold_yuan"])


# ---- Monitoring warnings (illustrative) ----------------------------------------------------------------------


def _floor(floors: Mapping[Any, Any], period: int) -> tuple[int, Decimal] | None:
    """The floor of the latest month listed at or before ``period``: (month, percent)."""
    due = sorted((int(month), _number(percent)) for month, percent in (floors or {}).items() if int(month) <= period)
    return due[-1] if due else None


@hookimpl
def monitoring_warnings(tenant: Any, project: Any, report: Any) -> list[dict[str, Any]] | None:
    """Execution below the month's floor, and target progress diverging from execution.

    Target progress is each indicator's ``annual_progress`` (the share of the annual target reached), which
    compares with the execution rate (the share of the year's budget spent). Only cumulative indicators that
    grow with the work (≥, >, =) are compared: a cap or a level (a rate, a unit cost) does not build up with
    spending, so being under a cost cap is not a divergence.
    """
    rule = rule_in_force(tenant, "monitoring.warnings", project.year)
    if rule is None:
        return None
    days = rule["monitoring.response_working_days"]
    days = int(days) if days else None
    answer = f"请在 {days} 个工作日内选择继续执行、调剂或取消，逾期将暂停拨款" if days else "请关注并纠偏"
    rate = Decimal(report.execution_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    warnings: list[dict[str, Any]] = []
    floor = _floor(rule["monitoring.execution_floor_by_month"], report.period)
    if floor is not None and rate < floor[1]:
        month, percent = floor
        warnings.append({
            "code": "execution_below_floor",
            "message": f"截至{report.period}月末预算执行率为 {rate}%，低于{month}月末应达到的 {_points(percent)}%。{answer}。",
            "response_days": days,
        })
    limit = rule["monitoring.divergence_points"]
    if limit is not None:
        limit = _number(limit)
        for indicator in report.indicators:
            if not _tracks_spending(indicator):
                continue
            progress = Decimal(indicator.annual_progress).quantize(CENT, rounding=ROUND_HALF_UP)
            gap = abs(progress - rate)
            if gap > limit:
                warnings.append({
                    "code": "divergence",
                    "message": (f"指标“{indicator.name}”的目标完成进度为 {progress}%，预算执行率为 {rate}%，"
                                f"相差 {gap} 个百分点，超过 {_points(limit)} 个百分点。{answer}。"),
                    "response_days": days,
                })
    return warnings


def _tracks_spending(indicator: Any) -> bool:
    return (indicator.nature == "cumulative" and indicator.direction in ("ge", "gt", "eq")
            and indicator.annual_progress is not None)


# ---- Re-evaluation sample (seed 003: 自评+抽评+三方评; shares illustrative) ----------------------------------------


def _draw(ids: list[int], share: Any, rng: Any) -> list[int]:
    size = min(len(ids), math.ceil(_number(share) * len(ids))) if ids else 0
    if size <= 0:
        return []
    return list(ids) if size == len(ids) else rng.sample(ids, size)


@hookimpl
def sample_for_reevaluation(tenant: Any, candidates: list[Any], rng: Any) -> list[int] | None:
    """A share of the key projects (all, by default), then a share of the others, drawn with ``rng`` only."""
    if not candidates:
        return None
    rule = rule_in_force(tenant, "evaluation.sample", candidates[0].year)
    if rule is None:
        return None
    key = [c.id for c in candidates if c.is_key]
    others = [c.id for c in candidates if not c.is_key]
    return sorted(_draw(key, rule["evaluation.sample.key_share"], rng)
                  + _draw(others, rule["evaluation.sample.other_share"], rng))


# ---- Results application (seed 003) --------------------------------------------------------------------------


def _results_map(tenant: Any, year: int) -> dict[str, Any] | None:
    """Grade → ``{action, label}``: the bureau's ``results.actions`` laid over the shipped map grade by grade,
    or ``None`` for a budget year outside ``results.years`` (none shipped: every year)."""
    if not covers(setting(tenant, "results.years"), year):
        return None
    return {**(_defaults().get("results.actions") or {}), **(setting(tenant, "results.actions") or {})}


@hookimpl
def suggest_results_action(tenant: Any, grade: str, year: int) -> dict[str, str] | None:
    """优 → 优先保障, 良 → 保障, 中 → 压缩, 差 → 取消; another grade is left to the next plugin.

    A bureau's ``results.actions`` is laid over the shipped map grade by grade (a grade set to ``null`` is
    left to the next plugin), so it names only the grades it changes.
    """
    action = (_results_map(tenant, year) or {}).get(grade)
    return {"action": str(action["action"]), "label": str(action["label"])} if action else None


@hookimpl
def results_actions(tenant: Any, year: int) -> list[dict[str, str]] | None:
    """The actions of the same map, best grade first: what finance may decide is what a grade may suggest.

    A grade set to ``null`` is left to the next plugin's suggestion, which the platform accepts for that grade.
    """
    actions: dict[str, str] = {}
    for action in (_results_map(tenant, year) or {}).values():
        if action:
            actions.setdefault(str(action["action"]), str(action["label"]))
    return [{"action": code, "label": label} for code, label in actions.items()] or None
