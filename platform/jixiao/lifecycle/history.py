"""A project's history (变更记录) in words: each audit event as its action's label and the fields it changed,
each by its Chinese label, before → after, amounts in 万元, enums by their labels, "—" for nothing.

The audit log keeps the raw snapshots (codes, yuan, JSON); this is how the project page reads them, so a
person never sees ``"amount_change": "-600000.00"``. The API's history endpoint keeps answering the raw events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import units
from jixiao.accounts.models import Department
from jixiao.audit.labels import action_label
from jixiao.audit.models import AuditEvent
from jixiao.lifecycle import results
from jixiao.lifecycle.models import FUND_SOURCE_LABELS, LABELS, MODALITY_LABELS, Agency, Project

NONE_SHOWN = units.NONE_SHOWN
LIST_SEPARATOR = "、"

#: Every field the lifecycle's audit snapshots name, in words.
FIELD_LABELS: dict[str, str] = {
    "code": "编码", "name": "名称", "year": "年度", "kind": "类型", "fund_type": "资金性质", "category": "类别",
    "is_new": "新增项目", "is_key": "重点项目", "classified": "涉密", "requested_amount": "申报金额",
    "approved_amount": "批复金额", "adjusted_amount": "调整后金额", "stage": "阶段", "department_id": "部门",
    "payment_suspended": "暂停拨款", "suspension_reason": "暂停拨款原因", "spending_modalities": "支出方式",
    "is_special_fund": "专项资金", "fund_source": "资金来源",
    "conclusion": "评估结论", "scores": "评估得分", "amount_cut": "核减金额", "comment": "意见",
    "overall_target": "总体目标", "indicators": "绩效指标", "status": "状态", "return_reason": "退回原因",
    "level1": "一级指标", "level2": "二级指标", "direction": "方向", "target_value": "目标值",
    "target_text": "目标值（定性）", "unit": "计量单位", "nature": "指标性质", "weight": "分值",
    "period": "月份", "values": "指标完成值", "executed_amount": "执行金额", "execution_rate": "执行率",
    "light": "预警灯", "cause": "偏差原因", "measure": "纠偏措施", "warnings": "预警", "response": "预警处理",
    "agency_id": "评价机构", "execution_score": "执行率得分", "total_score": "总分", "grade": "等级",
    "summary": "评价结论", "findings": "发现的问题", "already_assigned": "已委托", "assigned": "委托",
    "drawn": "抽中", "seed": "随机种子", "size": "样本量",
    "problems": "问题", "deadline": "整改期限", "measures": "整改措施", "filename": "文件",
    "suggested_action": "建议处理", "decision": "处理决定", "decision_note": "处理说明",
    "amount_change": "预算调整金额", "idle_recovered": "收回闲置资金", "next_year": "应用年度",
    "published": "公开", "quality": "质量复核", "quality_note": "复核意见",
    "unpublish_reason": "撤回公开原因", "sha256": "文件摘要（SHA-256）", "bytes": "文件大小（字节）",
    "uploaded_by": "上传人", "file_id": "文件编号",
    "applies_to_project_id": "应用于项目（编号）", "in_force": "有效", "deciding_evaluation_id": "起决定作用的评价（编号）",
    "continues_project_id": "延续的上年项目（编号）",
}

#: Amounts in 元, shown in 万元 like everywhere else on the page.
MONEY_FIELDS = frozenset({"requested_amount", "approved_amount", "adjusted_amount", "amount_cut", "executed_amount",
                          "amount_change", "idle_recovered"})
PERCENT_FIELDS = frozenset({"execution_rate"})
#: Fields whose values are the lifecycle's enums, and each one's labels.
ENUM_FIELDS: dict[str, Mapping[str, str]] = {
    **{field: LABELS for field in ("kind", "fund_type", "stage", "status", "conclusion", "direction", "nature",
                                   "light", "response")},
    "fund_source": FUND_SOURCE_LABELS,
    "spending_modalities": MODALITY_LABELS,
}
DECISION_FIELDS = frozenset({"decision", "suggested_action"})
#: In a list of records (indicators, findings, warnings), the key that names each one.
ITEM_NAMES = ("name", "problem", "message", "filename")


@dataclasses.dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: str
    after: str


@dataclasses.dataclass(frozen=True)
class HistoryRow:
    at: datetime
    actor_name: str
    action: str
    label: str
    changes: list[Change]


@dataclasses.dataclass
class _Names:
    """What ids and codes in the snapshots stand for: departments, agencies and the results decisions."""

    departments: dict[str, str]
    agencies: dict[str, str]
    decisions: dict[str, str]


def _scalar(field: str, value: Any, names: _Names) -> str:
    if value is None or value == "":
        return NONE_SHOWN
    if isinstance(value, bool):
        return "是" if value else "否"
    if field in MONEY_FIELDS:
        try:
            return f"{units.format_wan(value)} 万元"
        except ArithmeticError:
            return str(value)
    if field in PERCENT_FIELDS:
        try:
            return units.percent(value)
        except ArithmeticError:
            return str(value)
    if field in ENUM_FIELDS:
        return ENUM_FIELDS[field].get(str(value), str(value))
    if field in DECISION_FIELDS:
        return names.decisions.get(str(value), str(value))
    if field == "department_id":
        return names.departments.get(str(value), str(value))
    if field == "agency_id":
        return names.agencies.get(str(value), str(value))
    return str(value)


def shown(field: str, value: Any, names: _Names | None = None) -> str:
    """One snapshot value as a person reads it: lists joined with 、, records by their names, nothing as "—"."""
    names = names or _Names({}, {}, {})
    if isinstance(value, list | tuple):
        if not value:
            return NONE_SHOWN
        items = []
        for item in value:
            if isinstance(item, Mapping):
                named = next((item[key] for key in ITEM_NAMES if item.get(key)), None)
                items.append(str(named) if named is not None else None)
            else:
                items.append(_scalar(field, item, names))
        if any(item is None for item in items):
            return f"{len(value)} 项"
        return LIST_SEPARATOR.join(str(item) for item in items)
    if isinstance(value, Mapping):
        return f"{len(value)} 项" if value else NONE_SHOWN
    return _scalar(field, value, names)


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, names: _Names | None = None
            ) -> list[Change]:
    """The fields of one event: those that changed (a creation: those it set), before → after."""
    before, after = before or {}, after or {}
    rows = []
    for field in dict.fromkeys([*before, *after]):
        old = shown(field, before.get(field), names) if before else ""
        new = shown(field, after.get(field), names) if after else ""
        if before and after and old == new:
            continue  # unchanged as a person reads it ("" and null are both nothing)
        rows.append(Change(field, FIELD_LABELS.get(field, field), old, new))
    return rows


def _names(session: Session, tenant: Any, project: Project, events: Iterable[AuditEvent]) -> _Names:
    ids: dict[str, set[int]] = {"department_id": set(), "agency_id": set()}
    grades: set[str] = set()
    for event in events:
        for snapshot in (event.before or {}, event.after or {}):
            if not isinstance(snapshot, Mapping):
                continue
            for field, found in ids.items():
                if isinstance(snapshot.get(field), int):
                    found.add(snapshot[field])
            if snapshot.get("grade"):
                grades.add(str(snapshot["grade"]))
    departments = {str(i): n for i, n in session.execute(
        sa.select(Department.id, Department.name).where(Department.id.in_(ids["department_id"])))} if ids[
        "department_id"] else {}
    agencies = {str(i): n for i, n in session.execute(
        sa.select(Agency.id, Agency.name).where(Agency.id.in_(ids["agency_id"])))} if ids["agency_id"] else {}
    return _Names(departments, agencies, results.action_labels(session, tenant, project.year, sorted(grades)))


def describe(session: Session, tenant: Any, project: Project, events: list[AuditEvent]) -> list[HistoryRow]:
    """The project's history (``projects.project_history``) as the project page shows it."""
    names = _names(session, tenant, project, events)
    return [HistoryRow(event.at, event.actor_name, event.action, action_label(event.action),
                       changes(event.before if isinstance(event.before, Mapping) else None,
                               event.after if isinstance(event.after, Mapping) else None, names))
            for event in events]
