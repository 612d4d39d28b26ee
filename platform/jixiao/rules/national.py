"""National rules (全国通用规则): the defaults every tenant starts from.

Registered first, so that a regional plugin answering the same ``firstresult`` hook is asked before it.
Rules marked *illustrative* in the domain primer are kept as settings, so a bureau changes them without code.
"""

from __future__ import annotations

import copy
import math
from decimal import Decimal
from typing import Any

from jixiao import hookimpl
from jixiao.toolkit import NATIONAL_INDICATOR_FRAMEWORK, Setting

#: What pages call this plugin (read by the plugin host; docs/plugins.md, "Display name").
DISPLAY_NAME = "全国通用规则"

EXANTE_DIMENSIONS = [
    {"key": "necessity", "label": "立项必要性", "max": 20},
    {"key": "economy", "label": "投入经济性", "max": 20},
    {"key": "targets", "label": "绩效目标合理性", "max": 20},
    {"key": "feasibility", "label": "实施方案可行性", "max": 20},
    {"key": "compliance", "label": "筹资合规性", "max": 20},
]

RESULT_ACTIONS = {
    "优": {"action": "prioritise", "label": "优先保障"},
    "良": {"action": "maintain", "label": "保障"},
    "中": {"action": "reduce", "label": "压缩预算，督促改进"},
    "差": {"action": "cut", "label": "削减或取消"},
}


MONTHS = tuple(range(1, 13))
#: The kinds of record a setting may name (项目 / 政策 / 部门整体).
KINDS = ("project", "policy", "department_whole")
EVALUATION_KINDS = ("self", "department", "finance", "third_party")


def _months_by_kind(value: Any) -> dict[str, list[int]]:
    if not isinstance(value, dict):
        raise ValueError(f"应为 {{类型: [月份, …]}}，类型为 {'、'.join(KINDS)}")
    checked: dict[str, list[int]] = {}
    for kind, months in value.items():
        if kind not in KINDS:
            raise ValueError(f"没有类型 {kind}（可设置 {'、'.join(KINDS)}）")
        if not isinstance(months, list) or not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12
                                                   for m in months):
            raise ValueError(f"{kind} 应为 1 至 12 的月份列表")
        checked[kind] = months
    return checked


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} 不是数值")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except ArithmeticError:
        raise ValueError(f"{value!r} 不是数值") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} 不是数值")
    return number


def _grade_bands(value: Any) -> list[list[Any]]:
    shape = '应为 [[等级, 下限], …]，如 [["优", 90], ["良", 80], ["中", 60], ["差", 0]]'
    if not isinstance(value, list) or not value:
        raise ValueError(shape)
    for band in value:
        if not isinstance(band, list) or len(band) != 2 or not isinstance(band[0], str) or not band[0].strip():
            raise ValueError(shape)
        _number(band[1])
    return value


def _light_bounds(value: Any) -> list[str]:
    shape = '应为黄、绿、蓝三档的下限，由低到高，如 ["0.6", "0.8", "1.2"]'
    if not isinstance(value, list) or len(value) != 3:
        raise ValueError(shape)
    bounds = [_number(bound) for bound in value]
    if not bounds[0] < bounds[1] < bounds[2]:
        raise ValueError(shape)
    return [str(bound) for bound in bounds]


def _share(value: str) -> str:
    if not Decimal("0") <= Decimal(value) <= Decimal("1"):
        raise ValueError("应在 0 至 1 之间（如 \"0.2\" 即 20%）")
    return value


def _forms(value: Any) -> dict[str, Any]:
    # The form itself (its points, the 60% principle) is checked when an evaluation is scored with it.
    if not isinstance(value, dict) or any(kind not in EVALUATION_KINDS for kind in value):
        raise ValueError(f"应为 {{评价类型: 评价表}}，评价类型为 {'、'.join(EVALUATION_KINDS)}")
    if not all(isinstance(form, dict) for form in value.values()):
        raise ValueError('每个评价表应为 {"execution": 分值, "groups": [...]}')
    return value


@hookimpl
def declare_settings() -> list[Setting]:
    """The settings the national rules read, with their defaults: rules marked *illustrative* are settings, so a
    bureau changes them in its tenants YAML (or on its settings page) without code."""
    return [
        Setting("monitoring.months", "integers", default=list(MONTHS), choices=MONTHS,
                description="项目须报送绩效监控（双监控）报告的月份；默认每月"),
        Setting("monitoring.months_by_kind", "structured", check=_months_by_kind,
                description="按项目类型规定的监控月份，如 {\"department_whole\": [6]}；未列出的类型按 monitoring.months"),
        Setting("monitoring.light_bounds", "structured", default=["0.6", "0.8", "1.2"], check=_light_bounds,
                description="监控亮灯（示例性）：黄、绿、蓝灯的下限（实际值与应达值之比），低于第一档为红灯"),
        Setting("exante.required_kinds", "texts", default=["project", "policy"], choices=KINDS,
                description="须开展事前绩效评估的新增项目类型（project 项目、policy 政策、department_whole 部门整体）"),
        Setting("evaluation.grade_bands", "structured", default=[["优", 90], ["良", 80], ["中", 60], ["差", 0]],
                check=_grade_bands, description="绩效评价的等级及其分数下限，由高到低（优 ≥ 90、良 ≥ 80、中 ≥ 60、差）"),
        Setting("evaluation.sample_rate", "decimal", default="0.2", check=_share,
                description="财政抽评（再评价）时，重点项目以外的自评项目的抽取比例（至少抽取一个；重点项目全部抽取）"),
        Setting("evaluation.forms", "structured", check=_forms,
                description="按评价类型替换评价表（self 自评、department 部门评价、finance 财政评价、third_party 第三方评价），"
                            "未设置的类型用国家默认评价表"),
    ]


@hookimpl
def exante_required(tenant: Any, project: Any) -> bool:
    return bool(project.is_new and project.kind in tenant.settings["exante.required_kinds"])


@hookimpl
def exante_dimensions(tenant: Any) -> list[dict[str, Any]]:
    return [dict(d) for d in EXANTE_DIMENSIONS]


@hookimpl
def validate_targets(tenant: Any, project: Any, targets: Any) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    if not (targets.overall_target or "").strip():
        problems.append({"field": "overall_target", "message": "请填写年度总体目标"})
    level1s = {i.level1 for i in targets.indicators}
    for required in ("产出", "效益"):
        if required not in level1s:
            problems.append({"field": "indicators", "message": f"至少需要一个“{required}”类一级指标"})
    for position, indicator in enumerate(targets.indicators, start=1):
        where = f"indicators[{position}]"
        if indicator.level1 not in NATIONAL_INDICATOR_FRAMEWORK:
            problems.append({"field": f"{where}.level1", "message": f"一级指标“{indicator.level1}”不在国家指标体系中（产出、效益、满意度、成本）"})
        elif indicator.level2 not in NATIONAL_INDICATOR_FRAMEWORK[indicator.level1]:
            allowed = "、".join(NATIONAL_INDICATOR_FRAMEWORK[indicator.level1])
            problems.append({"field": f"{where}.level2", "message": f"“{indicator.level1}”下的二级指标应为：{allowed}"})
        if not indicator.name.strip():
            problems.append({"field": f"{where}.name", "message": "请填写三级指标名称"})
        if indicator.direction != "qualitative" and indicator.target_value is None:
            problems.append({"field": f"{where}.target_value", "message": f"定量指标“{indicator.name}”需要指标值"})
        if indicator.weight is None or indicator.weight <= 0:
            problems.append({"field": f"{where}.weight", "message": f"指标“{indicator.name}”的权重应大于 0"})
    return problems


@hookimpl
def monitoring_periods(tenant: Any, project: Any, year: int) -> list[int]:
    by_kind = tenant.settings.get("monitoring.months_by_kind") or {}
    if project.kind in by_kind:
        return [int(m) for m in by_kind[project.kind]]
    return [int(m) for m in tenant.settings["monitoring.months"]]


@hookimpl
def monitoring_light(tenant: Any, ratio: Any, subject: str) -> str:
    yellow, green, blue = (Decimal(str(b)) for b in tenant.settings["monitoring.light_bounds"])
    if ratio < yellow:
        return "red"
    if ratio < green:
        return "yellow"
    if ratio < blue:
        return "green"
    return "blue"


#: The self-evaluation form (项目支出绩效自评表): 预算执行率 10, 产出 50 (成本 included), 效益 30, 满意度 10.
SELF_EVALUATION_FORM: dict[str, Any] = {
    "execution": 10,
    "groups": [
        {"name": "产出", "points": 50, "level1": ["产出", "成本"]},
        {"name": "效益", "points": 30, "level1": ["效益"]},
        {"name": "满意度", "points": 10, "level1": ["满意度"]},
    ],
}

#: Department, finance and key (third-party) evaluations: 决策 / 过程 / 产出 / 效益, 产出 + 效益 at least 60%.
#: The 决策 and 过程 rows follow the national reference framework for project evaluation (项目立项, 绩效目标,
#: 资金投入; 资金管理, 组织实施); their points, and 20/20/30/30, are *illustrative* defaults that a bureau
#: replaces with the setting ``evaluation.forms`` (a form per kind).
KEY_EVALUATION_FORM: dict[str, Any] = {
    "execution": 0,
    "groups": [
        {"name": "决策", "points": 20, "indicators": [
            {"code": "D1", "level2": "项目立项", "name": "立项依据充分性", "points": 3},
            {"code": "D2", "level2": "项目立项", "name": "立项程序规范性", "points": 3},
            {"code": "D3", "level2": "绩效目标", "name": "绩效目标合理性", "points": 4},
            {"code": "D4", "level2": "绩效目标", "name": "绩效指标明确性", "points": 4},
            {"code": "D5", "level2": "资金投入", "name": "预算编制科学性", "points": 3},
            {"code": "D6", "level2": "资金投入", "name": "资金分配合理性", "points": 3},
        ]},
        {"name": "过程", "points": 20, "indicators": [
            {"code": "P1", "level2": "资金管理", "name": "资金到位率", "points": 4, "direction": "ge",
             "target_value": 100, "unit": "%"},
            {"code": "P2", "level2": "资金管理", "name": "预算执行率", "points": 5, "scored_by": "execution"},
            {"code": "P3", "level2": "资金管理", "name": "资金使用合规性", "points": 4},
            {"code": "P4", "level2": "组织实施", "name": "管理制度健全性", "points": 3},
            {"code": "P5", "level2": "组织实施", "name": "制度执行有效性", "points": 4},
        ]},
        {"name": "产出", "points": 30, "level1": ["产出", "成本"]},
        {"name": "效益", "points": 30, "level1": ["效益", "满意度"]},
    ],
}


@hookimpl
def evaluation_weights(tenant: Any, kind: str) -> dict[str, Any]:
    configured = (tenant.settings.get("evaluation.forms") or {}).get(kind)
    if configured:
        return copy.deepcopy(dict(configured))
    return copy.deepcopy(SELF_EVALUATION_FORM if kind == "self" else KEY_EVALUATION_FORM)


@hookimpl
def evaluation_grade_bands(tenant: Any, kind: str) -> list[list[Any]]:
    return [list(b) for b in tenant.settings["evaluation.grade_bands"]]


@hookimpl
def sample_for_reevaluation(tenant: Any, candidates: list[Any], rng: Any) -> list[int]:
    key = [c.id for c in candidates if c.is_key]
    others = [c.id for c in candidates if not c.is_key]
    if not others:
        return key
    rate = Decimal(str(tenant.settings["evaluation.sample_rate"]))
    size = min(len(others), max(1, math.ceil(rate * len(others))))
    return sorted(key + rng.sample(others, size))


@hookimpl
def suggest_results_action(tenant: Any, grade: str, year: int) -> dict[str, str] | None:
    return dict(RESULT_ACTIONS[grade]) if grade in RESULT_ACTIONS else None


@hookimpl
def results_actions(tenant: Any, year: int) -> list[dict[str, str]]:
    return [dict(action) for action in RESULT_ACTIONS.values()]


# 第三方和财政评价优先于部门评价，部门评价优先于单位自评.
EVALUATION_AUTHORITY = [["third_party", "finance"], ["department"], ["self"]]


@hookimpl
def evaluation_authority(tenant: Any) -> list[list[str]]:
    return [list(tier) for tier in EVALUATION_AUTHORITY]


# A basic assessment scheme built only from the records, for bureaus whose region ships none.
BASIC_SCHEME: dict[str, Any] = {
    "code": "national-basic",
    "name": "预算绩效管理工作考核（基本指标）",
    "rule_set": "national",
    "rule_set_name": "全国通用基本指标",
    "years": [2018, None],
    "for_levels": ["province", "city"],
    "subjects": "counties",
    "groups": [
        {"name": "全过程管理", "indicators": [
            {"code": "T1", "name": "报送绩效目标的单位占比", "max": 20, "kind": "computed", "metric": "targets_units"},
            {"code": "M1", "name": "开展绩效监控的单位占比", "max": 20, "kind": "computed", "metric": "monitoring_units"},
            {"code": "E1", "name": "开展单位自评的单位占比", "max": 20, "kind": "computed", "metric": "self_evaluation_units"},
            {"code": "P1", "name": "评价报告公开率", "max": 20, "kind": "computed", "metric": "reports_published"},
            {"code": "R1", "name": "整改按期完成率", "max": 20, "kind": "computed", "metric": "rectification_on_time"},
        ]},
    ],
    "grades": [["优秀", 90], ["良好", 80], ["合格", 60], ["不合格", 0]],
    # A subject measurable on less than this share of the points is listed as 数据不足, not ranked.
    "coverage_threshold": "0.6",
    "appeal_days": 5,
}


@hookimpl
def register_assessment_schemes(tenant: Any, year: int) -> list[dict[str, Any]]:
    return [dict(BASIC_SCHEME)]  # the core keeps it in the years it is in force


@hookimpl
def assessment_grade(tenant: Any, scheme: dict[str, Any], total: Any, result: Any) -> str:
    # A scheme that aggregates to a label (an ordinal scheme) and names no grade bands is graded by its label.
    if not scheme.get("grades") and getattr(result, "label", None):
        return str(result.label)
    bands = scheme.get("grades") or [["优秀", 90], ["良好", 80], ["合格", 60], ["不合格", 0]]
    for label, lower in sorted(bands, key=lambda band: -Decimal(str(band[1]))):
        if total >= Decimal(str(lower)):
            return str(label)
    return str(sorted(bands, key=lambda band: Decimal(str(band[1])))[0][0])
