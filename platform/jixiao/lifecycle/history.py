"""A project's history (变更记录) in words: each audit event as its action's label and the fields it changed,
each by its Chinese label, before → after, amounts in 万元, enums by their labels, "—" for nothing.

The audit log keeps the raw snapshots (codes, yuan, JSON); this is how the project page reads them, so a
person never sees ``"amount_change": "-600000.00"``. The API's history endpoint keeps answering the raw events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import units
from jixiao.accounts.models import ROLE_LABELS, Department
from jixiao.audit.labels import action_label
from jixiao.audit.models import AuditEvent
from jixiao.lifecycle import experts, results
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
    "field": "专业领域", "count": "抽取人数", "pool_size": "在库可抽专家（人）", "drawn_experts": "抽中专家",
    "excluded_experts": "回避专家", "due": "评审截止日期",
    # The other events of the audit log (accounts, campaigns, sign-ins …), which its page words the same way.
    "username": "用户名", "display_name": "姓名", "email": "电子邮箱", "roles": "角色", "active": "启用",
    "tenant_id": "财政部门（编号）", "parent_id": "上级部门（编号）", "password": "密码", "locked_until": "锁定至",
    "failed_logins": "连续登录失败次数", "reason": "原因", "address": "来源地址", "files": "佐证文件",
    "file": "文件", "indicator": "考核指标", "subjects": "被考核对象", "subject": "被考核对象", "text": "内容",
    "cutoff": "数据截止日期", "appeal_until": "申诉截止日期", "scheme": "考核方案", "rule_set": "规则",
    "points": "得分", "note": "说明", "answer": "答复", "outcome": "结果", "appeal": "申诉", "label": "评定结果",
    "args": "参数", "plugin": "插件", "plugins": "插件", "prefix": "令牌前缀", "tokens": "令牌", "sessions": "会话",
    "second_factor": "双因素认证", "recovery_codes": "恢复码", "recovery_codes_left": "剩余恢复码",
    "enrollment_required": "须设置双因素认证", "codes": "代码", "owner": "所属记录", "filters": "筛选条件",
    "retention_days": "保留天数",
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
    "roles": {str(role): label for role, label in ROLE_LABELS.items()},
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
    if field == "password":
        return "已修改"  # the audit keeps that it changed, never the password or its hash
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
    draws = experts.draws_in_words(session, {int(e.object_id): e.after for e in events
                                             if e.object_type == "expert_draws" and isinstance(e.after, Mapping)})
    return [HistoryRow(event.at, event.actor_name, event.action, action_label(event.action),
                       changes(event.before if isinstance(event.before, Mapping) else None,
                               draws.get(int(event.object_id)) if event.object_type == "expert_draws"
                               else event.after if isinstance(event.after, Mapping) else None, names))
            for event in events]


def audit_log_changes(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[list[Change]]:
    """Each row of the audit log (``jixiao.audit.log``: ``tenant_code``, ``before``, ``after``) in the project
    history's words — the same :func:`changes`, so the audit administrator's page and the project page never word
    a field twice. A results decision's code is named as the rules of the event's bureau name it for that budget
    year (one ask of the rules per bureau and year on the page).

    The audit administrator reads the events, not the tenants' records: the ids an event names (a department, an
    agency) are shown as the event stored them, not looked up."""
    from jixiao.tenancy.service import get_by_code

    def snapshots(row: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
        before, after = row.get("before"), row.get("after")
        return (before if isinstance(before, Mapping) else None, after if isinstance(after, Mapping) else None)

    def decided(row: Mapping[str, Any]) -> tuple[str, int] | None:
        for snapshot in snapshots(row):
            if snapshot and isinstance(snapshot.get("next_year"), int) and DECISION_FIELDS & set(snapshot):
                return str(row.get("tenant_code")), snapshot["next_year"] - 1  # decided for the next year's budget
        return None

    grades: dict[tuple[str, int], set[str]] = {}
    for row in rows:
        if (key := decided(row)) is not None:
            grades.setdefault(key, set()).update(
                str(snapshot["grade"]) for snapshot in snapshots(row) if snapshot and snapshot.get("grade"))
    decisions: dict[tuple[str, int], dict[str, str]] = {}
    for (code, year), found in grades.items():
        tenant = get_by_code(session, code)
        if tenant is not None:
            decisions[(code, year)] = results.action_labels(session, tenant, year, sorted(found))
    return [changes(*snapshots(row), _Names({}, {}, decisions.get(decided(row) or ("", 0), {}))) for row in rows]


def event_changes(event: Any) -> list[Change]:
    """One audit event's fields in words, for a page that lists a record's events (a user's, a department's):
    the project history's :func:`changes`, with no lookups (ids are shown as the event stored them)."""
    before, after = getattr(event, "before", None), getattr(event, "after", None)
    return changes(before if isinstance(before, Mapping) else None, after if isinstance(after, Mapping) else None)
