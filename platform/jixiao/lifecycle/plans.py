"""Yearly plans of key evaluations (财政重点绩效评价计划): per budget year, how many evaluations of which kind of
project (部门整体 / 项目 / 政策) each kind of performer is to carry out (an agency type, or finance's own
evaluation team, 财政绩效评价组).

A plan is finance's; it is written whole (its lines replaced) with the version read. What was done against it
is computed from the evaluations (``jixiao.statistics.service.plan_progress``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import inputs, policy
from jixiao.accounts.models import User
from jixiao.db import utcnow
from jixiao.errors import NotFound, ValidationFailed
from jixiao.lifecycle import common
from jixiao.lifecycle.models import EvaluationPerformer, EvaluationPlan, EvaluationPlanLine, ProjectKind
from jixiao.tenancy.models import Tenant

MAX_PLAN_LINES = len(ProjectKind) * len(EvaluationPerformer)
MAX_PLANNED_COUNT = 100_000


def require_plan_reader(actor: User, tenant: Tenant) -> None:
    """Plans are read by those who read the bureau's figures (``policy.may_read_bureau_figures``)."""
    policy.require_bureau_figures(actor)


def find_plan(session: Session, tenant: Tenant, year: int) -> EvaluationPlan | None:
    return session.scalar(sa.select(EvaluationPlan).where(EvaluationPlan.tenant_id == tenant.id,
                                                          EvaluationPlan.year == year))


def get_plan(session: Session, actor: User, tenant: Tenant, year: int) -> EvaluationPlan:
    require_plan_reader(actor, tenant)
    plan = find_plan(session, tenant, year)
    if plan is None:
        raise NotFound(f"尚未制定 {year} 年度重点评价计划")
    return plan


def list_plans(session: Session, actor: User, tenant: Tenant) -> list[EvaluationPlan]:
    require_plan_reader(actor, tenant)
    return list(session.scalars(sa.select(EvaluationPlan).where(EvaluationPlan.tenant_id == tenant.id)
                                .order_by(EvaluationPlan.year.desc())))


def _lines(raw_lines: Any, errors: dict[str, str]) -> list[tuple[ProjectKind, EvaluationPerformer, int]]:
    if not isinstance(raw_lines, list) or not raw_lines:
        errors["lines"] = "请至少填写一行计划（项目类型、评价主体、计划数）"
        return []
    if len(raw_lines) > MAX_PLAN_LINES:
        errors["lines"] = f"计划最多 {MAX_PLAN_LINES} 行（提交了 {len(raw_lines)} 行）"
        return []
    kinds = "、".join(f"{k.value}（{k.label}）" for k in ProjectKind)
    performers = "、".join(f"{p.value}（{p.label}）" for p in EvaluationPerformer)
    found: list[tuple[ProjectKind, EvaluationPerformer, int]] = []
    seen: dict[tuple[ProjectKind, EvaluationPerformer], int] = {}
    for number, raw in enumerate(raw_lines, start=1):
        where = f"lines.{number}"
        raw = raw if isinstance(raw, dict) else {}
        try:
            kind = ProjectKind(str(raw.get("project_kind")))
        except ValueError:
            errors[f"{where}.project_kind"] = f"第 {number} 行的项目类型应为：{kinds}"
            kind = None
        try:
            performer = EvaluationPerformer(str(raw.get("performer")))
        except ValueError:
            errors[f"{where}.performer"] = f"第 {number} 行的评价主体应为：{performers}"
            performer = None
        count = inputs.collect(errors, inputs.check_integer, raw.get("planned_count"), f"{where}.planned_count",
                               f"第 {number} 行的计划数", minimum=1, maximum=MAX_PLANNED_COUNT, required=True)
        if kind is None or performer is None or count is None:
            continue
        if (kind, performer) in seen:
            errors[where] = (f"第 {number} 行与第 {seen[kind, performer]} 行的项目类型和评价主体相同"
                             f"（{kind.label}、{performer.label}），请合并为一行")
            continue
        seen[kind, performer] = number
        found.append((kind, performer, count))
    return found


def save_plan(session: Session, actor: User, tenant: Tenant, year: Any, data: dict[str, Any]) -> EvaluationPlan:
    """Finance writes the year's plan whole: created when there is none, else replaced (the version read
    required). ``data``: ``{"lines": [{"project_kind", "performer", "planned_count"}], "note", "version"}``."""
    common.require_finance(actor, tenant, "制定重点评价计划")
    errors: dict[str, str] = {}
    year = inputs.collect(errors, inputs.check_year, year, "year", "年度", required=True)
    inputs.collect(errors, inputs.check_text, data.get("note"), "note", "计划说明",
                   max_length=inputs.COMMENT_MAX_LENGTH)
    lines = _lines(data.get("lines"), errors)
    if errors:
        raise ValidationFailed("评价计划有误，请按提示修改", fields=errors)
    common.serialise(session, "evaluation_plan", tenant.id, year)
    plan = find_plan(session, tenant, year)
    before = None
    if plan is None:
        plan = EvaluationPlan(tenant_id=tenant.id, year=year)
        session.add(plan)
    else:
        plan = common.lock_version(session, plan, data.get("version"), "评价计划")
        before = _snapshot(plan)
        plan.lines.clear()
        session.flush()  # the old lines go before the new ones take their (kind, performer) places
    plan.note = (data.get("note") or "").strip()
    plan.updated_by_id = actor.id
    plan.updated_at = utcnow()  # an UPDATE even when only the lines changed, so the version moves on
    plan.lines.extend(EvaluationPlanLine(tenant_id=tenant.id, position=position, project_kind=kind,
                                         performer=performer, planned_count=count)
                      for position, (kind, performer, count) in enumerate(lines))
    session.flush()
    common.record(session, actor, "evaluation_plan.save", plan, before, _snapshot(plan))
    common.commit(session)
    return plan


def _snapshot(plan: EvaluationPlan) -> dict[str, Any]:
    return {"year": plan.year, "note": plan.note,
            "lines": [{"project_kind": line.project_kind.value, "performer": line.performer.value,
                       "planned_count": line.planned_count} for line in plan.lines]}
