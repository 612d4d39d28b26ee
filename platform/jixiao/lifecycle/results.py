"""Results application (结果应用): what the grade suggests, what finance decides, next year's budget.

``ResultApplication`` is the current decision on an evaluation (statistics count it); ``ResultDecision`` keeps
every decision ever made, since a changed decision is a new decision and the record shows each one.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from jixiao import audit, inputs, units
from jixiao.accounts.models import User
from jixiao.db import utcnow
from jixiao.errors import Conflict, ValidationFailed
from jixiao.lifecycle import common, continuation
from jixiao.lifecycle.models import (
    Evaluation,
    EvaluationStatus,
    NoticeStatus,
    Project,
    RectificationNotice,
    ResultApplication,
    ResultDecision,
    Stage,
)
from jixiao.tenancy.models import Tenant

RESULT_FIELDS = ["grade", "suggested_action", "decision", "decision_note", "amount_change", "idle_recovered", "next_year",
                 "applies_to_project_id", "in_force"]
# What the platform suggests for a grade no rule knows: not a decision, so finance has to choose one.
UNDECIDED = {"action": "review", "label": "由财政研究决定"}
CENT = Decimal("0.01")
# Money columns are NUMERIC(18, 2): anything at or above this cannot be stored.
MONEY_LIMIT = Decimal(10) ** 16


def suggestion(session: Session, tenant: Tenant, grade: str, year: int) -> dict[str, str]:
    """The action the tenant's rules suggest for ``grade`` in budget ``year`` (the evaluated project's year)."""
    answer = common.hooks(session, tenant).suggest_results_action(grade=grade, year=year)
    return answer or dict(UNDECIDED)


def actions(session: Session, tenant: Tenant, year: int) -> list[dict[str, str]]:
    """The decisions the tenant's rules allow for budget ``year``, in the order they are offered."""
    answer = common.hooks(session, tenant).results_actions(year=year) or []
    seen: dict[str, str] = {}
    for item in answer:
        code = str(item.get("action") or "").strip()
        if code:
            seen.setdefault(code, str(item.get("label") or code))
    return [{"action": code, "label": label} for code, label in seen.items()]


def allowed_actions(session: Session, tenant: Tenant, year: int, grade: str) -> list[dict[str, str]]:
    """The decisions finance may record on an evaluation graded ``grade``: the allowed actions, and the
    grade's own suggestion when a rule suggests one the list leaves out (a suggestion is always a choice)."""
    allowed = actions(session, tenant, year)
    suggested = suggestion(session, tenant, grade, year)
    if suggested["action"] != UNDECIDED["action"] and suggested["action"] not in {a["action"] for a in allowed}:
        allowed.append({"action": suggested["action"], "label": suggested.get("label") or suggested["action"]})
    return allowed


def action_labels(session: Session, tenant: Tenant, year: int, grades: Iterable[str] = ()) -> dict[str, str]:
    """Decision codes in words (prioritise → 优先保障), for showing decisions made for budget ``year``."""
    labels = {UNDECIDED["action"]: UNDECIDED["label"]}
    for grade in dict.fromkeys(grades):
        labels.update({a["action"]: a["label"] for a in allowed_actions(session, tenant, year, grade)})
    labels.update({a["action"]: a["label"] for a in actions(session, tenant, year)})
    return labels


def _amount(value: Any, field: str, label: str, errors: dict[str, str]) -> Decimal:
    """An amount in yuan to the cent; a bad one is noted in ``errors`` under ``field`` (never a database error)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Decimal(0)
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        errors[field] = f"{label}应为金额（元）"
    elif abs(amount) >= MONEY_LIMIT:
        errors[field] = f"{label}超出可记录的范围"
    elif amount != amount.quantize(CENT):
        errors[field] = f"{label}：金额最多两位小数"  # refused, not rounded to the cent unseen
    else:
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return Decimal(0)


def _decision(session: Session, tenant: Tenant, evaluation: Evaluation, year: int, value: Any,
              suggested: dict[str, str], errors: dict[str, str]) -> str:
    allowed = allowed_actions(session, tenant, year, evaluation.grade or "")
    codes = {a["action"] for a in allowed}
    choices = "、".join(f"{a['label']}（{a['action']}）" for a in allowed)
    if value is None or (isinstance(value, str) and not value.strip()):
        if suggested["action"] in codes:
            return suggested["action"]
        errors["decision"] = f"等级“{evaluation.grade}”没有对应的建议，请选择处理决定：{choices}"
    elif not isinstance(value, str) or value.strip() not in codes:
        errors["decision"] = f"处理决定“{value}”不是本级可选的结果应用方式，可选：{choices}"
    else:
        return value.strip()
    return ""


def decide(session: Session, actor: User, tenant: Tenant, evaluation: Evaluation, data: dict[str, Any]) -> ResultApplication:
    """Record finance's decision on an evaluation's result and its effect on next year's budget.

    The decision defaults to the grade's suggestion and must be one the tenant's rules allow; a cut may not
    exceed the project's budget. Every decision is added to the history; the evaluation's
    ``ResultApplication`` becomes the new decision.
    """
    common.require_finance(actor, tenant, "决定评价结果应用")
    if evaluation.status is not EvaluationStatus.SUBMITTED or not evaluation.grade:
        raise Conflict("评价尚未完成，不能应用结果")
    project = evaluation.project
    errors: dict[str, str] = {}
    change = _amount(data.get("amount_change"), "amount_change", "下年度预算调整额", errors)
    idle = _amount(data.get("idle_recovered"), "idle_recovered", "收回的闲置资金", errors)
    if idle < 0:
        errors["idle_recovered"] = "收回的闲置资金不能为负数"
    budget = project.budget_amount
    if change < 0 and -change > budget:
        errors["amount_change"] = f"调减 {units.format_yuan(-change)} 元，超过了项目预算 {units.format_yuan(budget)} 元"
    deciding = continuation.deciding_evaluation(session, tenant, project)
    if deciding is not None and deciding.id != evaluation.id:
        order = continuation.authority_text(session, tenant)
        raise Conflict(f"该项目的结果应用以{deciding.kind.label}（{deciding.grade}）为准：{order}，同类评价以最近提交的为准",
                       fields={"evaluation_id": f"应对{deciding.kind.label}（评价编号 {deciding.id}）作出决定"})
    suggested = suggestion(session, tenant, evaluation.grade, project.year)
    decision = _decision(session, tenant, evaluation, project.year, data.get("decision"), suggested, errors)
    inputs.collect(errors, inputs.check_text, data.get("decision_note"), "decision_note", "决定说明",
                   max_length=inputs.COMMENT_MAX_LENGTH)
    if errors:
        raise ValidationFailed(fields=errors)
    note = str(data.get("decision_note") or "").strip()

    # Concurrent decisions on the evaluation queue on its row: the first creates the application, the others
    # find it and need its version (a changed decision names the one it changes; a repeat is a 409).
    common.lock(session, evaluation)
    next_year, reached = continuation.budget_reached(session, project)
    application = session.scalar(sa.select(ResultApplication).where(ResultApplication.evaluation_id == evaluation.id))
    before = audit.snapshot(application, RESULT_FIELDS) if application else None
    if application is None:
        application = ResultApplication(tenant_id=tenant.id, evaluation_id=evaluation.id, project_id=project.id)
        session.add(application)
    else:
        application = common.lock(session, application)
        common.check_existing(application, data.get("version"), "结果应用决定")
    values = {"grade": evaluation.grade, "suggested_action": suggested["action"], "decision": decision,
              "decision_note": note, "amount_change": change, "idle_recovered": idle, "next_year": next_year,
              "applies_to_project_id": reached.id if reached is not None else None, "decided_by_id": actor.id}
    for name, value in values.items():
        setattr(application, name, value)
    application.in_force = True
    session.add(ResultDecision(tenant_id=tenant.id, evaluation_id=evaluation.id, project_id=project.id,
                               decided_at=utcnow(), **values))
    _take_others_out_of_force(session, actor, project, evaluation)
    open_notices = session.scalar(sa.select(sa.func.count(RectificationNotice.id)).where(
        RectificationNotice.project_id == project.id, RectificationNotice.status != NoticeStatus.VERIFIED))
    if not open_notices:
        project.stage = Stage.CLOSED
    session.flush()
    common.record(session, actor, "results.decide", application, before, audit.snapshot(application, RESULT_FIELDS))
    common.commit(session)
    common.emit(session, tenant, "results.decided", project, actor, decision=decision,
                amount_change=application.amount_change, idle_recovered=idle)
    return application


def _take_others_out_of_force(session: Session, actor: User, project: Project, deciding: Evaluation) -> None:
    """The decisions on the project's other evaluations stop applying: the deciding evaluation's is the one."""
    for other in session.scalars(sa.select(ResultApplication).where(
            ResultApplication.project_id == project.id, ResultApplication.evaluation_id != deciding.id,
            ResultApplication.in_force.is_(True))):
        other.in_force = False
        common.record(session, actor, "results.supersede", other, {"in_force": True},
                      {"in_force": False, "deciding_evaluation_id": deciding.id})


def results_for(session: Session, project_id: int) -> list[ResultApplication]:
    """The current decision on each of the project's evaluations."""
    return list(session.scalars(sa.select(ResultApplication).where(ResultApplication.project_id == project_id)
                                .order_by(ResultApplication.id)))


def decisions_for(session: Session, project_id: int, evaluation_id: int | None = None) -> list[ResultDecision]:
    """Every decision made on the project's evaluation results (or one evaluation's), oldest first."""
    stmt = (sa.select(ResultDecision).where(ResultDecision.project_id == project_id)
            .options(selectinload(ResultDecision.decided_by), selectinload(ResultDecision.evaluation)))
    if evaluation_id is not None:
        stmt = stmt.where(ResultDecision.evaluation_id == evaluation_id)
    return list(session.scalars(stmt.order_by(ResultDecision.decided_at, ResultDecision.id)))


def project_ref(project: Project | None) -> dict[str, Any] | None:
    """A project as another project's page names it: id, code, year, name."""
    if project is None:
        return None
    return {"id": project.id, "code": project.code, "year": project.year, "name": project.name}


def change_text(grade: str, decision_label: str, amount_change: Decimal, idle_recovered: Decimal = Decimal(0)) -> str:
    """评价结果：良 → 保障，调减 60 万元 — the line finance reads beside next year's request."""
    text = f"评价结果：{grade} → {decision_label}"
    if amount_change < 0:
        text += f"，调减 {units.format_wan_exact(-amount_change)} 万元"
    elif amount_change > 0:
        text += f"，调增 {units.format_wan_exact(amount_change)} 万元"
    else:
        text += "，预算不调整"
    if idle_recovered > 0:
        text += f"，收回闲置资金 {units.format_wan_exact(idle_recovered)} 万元"
    return text


def _described(record: ResultApplication | ResultDecision, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "id": record.id, "evaluation_id": record.evaluation_id, "grade": record.grade,
        "suggested_action": record.suggested_action,
        "suggested_label": labels.get(record.suggested_action, record.suggested_action),
        "decision": record.decision, "decision_label": labels.get(record.decision, record.decision),
        "decision_note": record.decision_note, "amount_change": record.amount_change,
        "idle_recovered": record.idle_recovered, "next_year": record.next_year,
        "applies_to_project_id": record.applies_to_project_id,
        "text": change_text(record.grade, labels.get(record.decision, record.decision), record.amount_change,
                            record.idle_recovered),
        **({"version": record.version, "in_force": record.in_force} if isinstance(record, ResultApplication) else {}),
    }


def decision_history(session: Session, tenant: Tenant, project: Project) -> list[dict[str, Any]]:
    """Every decision on the project's evaluation results, oldest first, with its actions in words and who
    decided (the same for the page and the API)."""
    decisions = decisions_for(session, project.id)
    labels = action_labels(session, tenant, project.year, [d.grade for d in decisions])
    return [{**_described(d, labels), "evaluation_kind": d.evaluation.kind,
             "decided_by": (d.decided_by.display_name or d.decided_by.username) if d.decided_by else None,
             "decided_at": d.decided_at} for d in decisions]


def applied(session: Session, tenant: Tenant, project: Project, evaluation_id: int | None = None,
            history: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The current decision on each of the project's evaluations (or one), each with its ``history``, the
    continuing project whose budget it changes (``applies_to``) and whether it is in force. ``history``: the
    project's :func:`decision_history`, when the caller already holds it."""
    current = [a for a in results_for(session, project.id) if evaluation_id is None or a.evaluation_id == evaluation_id]
    history = decision_history(session, tenant, project) if history is None else history
    labels = action_labels(session, tenant, project.year, [a.grade for a in current])
    targets = _projects(session, {a.applies_to_project_id for a in current})
    return [{**_described(a, labels), "evaluation_kind": a.evaluation.kind,
             "applies_to": project_ref(targets.get(a.applies_to_project_id or 0)),
             "history": [d for d in history if d["evaluation_id"] == a.evaluation_id]}
            for a in current]


def _projects(session: Session, ids: Iterable[int | None]) -> dict[int, Project]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(sa.select(Project).where(Project.id.in_(wanted)))}


def reaching(session: Session, tenant: Tenant, project: Project) -> list[dict[str, Any]]:
    """The decisions in force that change ``project``'s budget: earlier years' results of the projects it
    continues, each with the evaluated project, the evaluation and the line finance reads at budget review."""
    applications = list(session.scalars(
        sa.select(ResultApplication).where(ResultApplication.applies_to_project_id == project.id,
                                           ResultApplication.in_force.is_(True))
        .options(selectinload(ResultApplication.project), selectinload(ResultApplication.evaluation))
        .order_by(ResultApplication.next_year, ResultApplication.id)))
    out = []
    for application in applications:
        labels = action_labels(session, tenant, application.project.year, [application.grade])
        out.append({**_described(application, labels), "evaluation_kind": application.evaluation.kind,
                    "evaluated_project": project_ref(application.project)})
    return out


def budget_effect(items: list[dict[str, Any]]) -> Decimal:
    """The net change the decisions ``items`` (from :func:`reaching`) make to a budget."""
    return sum((Decimal(item["amount_change"]) for item in items), Decimal(0))


def chain(session: Session, tenant: Tenant, project: Project,
          history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """grade → suggestion → decision → next year's amount, followed both ways from ``project``: the projects it
    continues and that continue it, the decisions on its evaluations and the budgets they reach (``applied``),
    and the earlier decisions that reach its own budget (``reaching``), with their net effect on its request."""
    reached = reaching(session, tenant, project)
    effect = budget_effect(reached)
    return {
        "project": project_ref(project),
        "continues": [project_ref(p) for p in continuation.earlier_years(session, project)],
        "continued_by": [project_ref(p) for p in continuation.later_years(session, project)],
        "authority": continuation.authority_text(session, tenant),
        "applied": applied(session, tenant, project, history=history),
        "reaching": reached,
        "budget_effect": effect,
        "requested_amount": project.requested_amount,
        "requested_after_results": project.requested_amount + effect,
    }
