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

LEVEL2_BY_LEVEL1 = {
    "产出": ["数量指标", "质量指标", "时效指标", "成本指标"],
    "效益": ["经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标"],
    "满意度": ["服务对象满意度指标"],
    "成本": ["经济成本指标", "社会成本指标", "生态环境成本指标"],
}

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


@hookimpl
def tenant_default_settings(tenant: Any) -> dict[str, Any]:
    return {
        # The months a project owes a monitoring report (双监控); every month by default.
        "monitoring.months": list(range(1, 13)),
        # Ex-ante assessment (事前绩效评估) is owed by new projects of these kinds.
        "exante.required_kinds": ["project", "policy"],
        # Grade bands for evaluations (national default 优 ≥ 90, 良 80–89, 中 60–79, 差 < 60).
        "evaluation.grade_bands": [["优", 90], ["良", 80], ["中", 60], ["差", 0]],
        # Share of the other self-evaluated projects drawn for re-evaluation (抽评), key projects always drawn.
        "evaluation.sample_rate": "0.2",
        # Traffic lights (illustrative): lower bounds of yellow, green and blue as shares of the expected value.
        "monitoring.light_bounds": ["0.6", "0.8", "1.2"],
        # Days a unit has to answer a rectification notice, when finance gives no deadline.
        "rectification.default_days": 30,
        # Legend bands of the league table of subordinates (illustrative, as in DHIS2 scorecards): a rate of
        # at least ``min`` percent; a column may have its own list beside ``default``.
        "statistics.league_bands": {"default": [
            {"band": "green", "label": "较好", "min": 80},
            {"band": "yellow", "label": "一般", "min": 60},
            {"band": "red", "label": "较差", "min": 0},
        ]},
    }


@hookimpl
def exante_required(tenant: Any, project: Any) -> bool:
    return bool(project.is_new and project.kind in tenant.settings.get("exante.required_kinds", ["project", "policy"]))


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
        if indicator.level1 not in LEVEL2_BY_LEVEL1:
            problems.append({"field": f"{where}.level1", "message": f"一级指标“{indicator.level1}”不在国家指标体系中（产出、效益、满意度、成本）"})
        elif indicator.level2 not in LEVEL2_BY_LEVEL1[indicator.level1]:
            allowed = "、".join(LEVEL2_BY_LEVEL1[indicator.level1])
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
    return [int(m) for m in tenant.settings.get("monitoring.months", list(range(1, 13)))]


@hookimpl
def monitoring_light(tenant: Any, ratio: Any, subject: str) -> str:
    yellow, green, blue = (Decimal(str(b)) for b in tenant.settings.get("monitoring.light_bounds", ["0.6", "0.8", "1.2"]))
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
    return [list(b) for b in tenant.settings.get("evaluation.grade_bands", [["优", 90], ["良", 80], ["中", 60], ["差", 0]])]


@hookimpl
def sample_for_reevaluation(tenant: Any, candidates: list[Any], rng: Any) -> list[int]:
    key = [c.id for c in candidates if c.is_key]
    others = [c.id for c in candidates if not c.is_key]
    if not others:
        return key
    rate = Decimal(str(tenant.settings.get("evaluation.sample_rate", "0.2")))
    size = min(len(others), max(1, math.ceil(rate * len(others))))
    return sorted(key + rng.sample(others, size))


@hookimpl
def suggest_results_action(tenant: Any, grade: str, year: int) -> dict[str, str] | None:
    return dict(RESULT_ACTIONS[grade]) if grade in RESULT_ACTIONS else None


@hookimpl
def results_actions(tenant: Any, year: int) -> list[dict[str, str]]:
    return [dict(action) for action in RESULT_ACTIONS.values()]


# A basic assessment scheme built only from the records, for bureaus whose region ships none.
BASIC_SCHEME: dict[str, Any] = {
    "code": "national-basic",
    "name": "预算绩效管理工作考核（基本指标）",
    "rule_set": "national",
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
def assessment_grade(tenant: Any, scheme: dict[str, Any], total: Any) -> str:
    bands = scheme.get("grades") or [["优秀", 90], ["良好", 80], ["合格", 60], ["不合格", 0]]
    for label, lower in sorted(bands, key=lambda band: -Decimal(str(band[1]))):
        if total >= Decimal(str(lower)):
            return str(label)
    return str(sorted(bands, key=lambda band: Decimal(str(band[1])))[0][0])
