"""Results application (结果应用): what the grade suggests, what finance decides, next year's budget."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import audit
from jixiao.accounts.models import User
from jixiao.errors import Conflict, ValidationFailed
from jixiao.lifecycle import common
from jixiao.lifecycle.models import (
    Evaluation,
    EvaluationStatus,
    NoticeStatus,
    RectificationNotice,
    ResultApplication,
    Stage,
)
from jixiao.tenancy.models import Tenant

RESULT_FIELDS = ["grade", "suggested_action", "decision", "decision_note", "amount_change", "idle_recovered", "next_year"]


def suggestion(session: Session, tenant: Tenant, grade: str) -> dict[str, str]:
    answer = common.hooks(session, tenant).suggest_results_action(grade=grade)
    return answer or {"action": "review", "label": "由财政研究决定"}


def decide(session: Session, actor: User, tenant: Tenant, evaluation: Evaluation, data: dict[str, Any]) -> ResultApplication:
    """Record finance's decision on an evaluation's result and its effect on next year's budget."""
    common.require_finance(actor, tenant, "决定评价结果应用")
    if evaluation.status is not EvaluationStatus.SUBMITTED or not evaluation.grade:
        raise Conflict("评价尚未完成，不能应用结果")
    idle = Decimal(str(data.get("idle_recovered") or 0))
    if idle < 0:
        raise ValidationFailed(fields={"idle_recovered": "收回的闲置资金不能为负数"})
    suggested = suggestion(session, tenant, evaluation.grade)
    decision = (data.get("decision") or suggested["action"]).strip()
    application = session.scalar(sa.select(ResultApplication).where(ResultApplication.evaluation_id == evaluation.id))
    before = audit.snapshot(application, RESULT_FIELDS) if application else None
    if application is None:
        application = ResultApplication(tenant_id=tenant.id, evaluation_id=evaluation.id,
                                        project_id=evaluation.project_id, next_year=evaluation.project.year + 1,
                                        grade=evaluation.grade, suggested_action=suggested["action"], decision=decision)
        session.add(application)
    application.grade = evaluation.grade
    application.suggested_action = suggested["action"]
    application.decision = decision
    application.decision_note = (data.get("decision_note") or "").strip()
    application.amount_change = Decimal(str(data.get("amount_change") or 0))
    application.idle_recovered = idle
    application.decided_by_id = actor.id
    project = evaluation.project
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


def results_for(session: Session, project_id: int) -> list[ResultApplication]:
    return list(session.scalars(sa.select(ResultApplication).where(ResultApplication.project_id == project_id)
                                .order_by(ResultApplication.id)))
