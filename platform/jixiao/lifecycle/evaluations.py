"""Evaluation (绩效评价): the unit's self-evaluation, re-evaluation samples, assignments to agencies, scoring.

"自评 + 抽评 + 三方评": every unit evaluates itself; finance draws a reproducible sample to re-evaluate and
assigns key evaluations to third-party agencies, whose staff see only what is assigned to them.
"""

from __future__ import annotations

import random
import secrets
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from jixiao import audit
from jixiao.accounts.models import Role, User
from jixiao.db import utcnow
from jixiao.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jixiao.lifecycle import common, scoring
from jixiao.lifecycle.models import (
    Agency,
    Evaluation,
    EvaluationKind,
    EvaluationScore,
    EvaluationStatus,
    Project,
    QualitativeBand,
    SampleDraw,
    Stage,
)
from jixiao.lifecycle.targets import targets_for
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import ProjectView

EVALUATED_STAGES = {Stage.BUDGETED, Stage.EVALUATED, Stage.RECTIFYING, Stage.CLOSED}
EVALUATION_FIELDS = ["kind", "status", "agency_id", "executed_amount", "execution_score", "total_score", "grade",
                     "summary", "findings"]


# ---- Agencies -----------------------------------------------------------------------------------------------


def list_agencies(session: Session, tenant: Tenant) -> list[Agency]:
    return list(session.scalars(sa.select(Agency).where(Agency.tenant_id == tenant.id).order_by(Agency.name)))


def create_agency(session: Session, actor: User, tenant: Tenant, name: str, contact: str = "") -> Agency:
    common.require_finance(actor, tenant, "登记第三方机构")
    if not name.strip():
        raise ValidationFailed(fields={"name": "请填写机构名称"})
    if session.scalar(sa.select(Agency.id).where(Agency.tenant_id == tenant.id, Agency.name == name.strip())):
        raise ValidationFailed(fields={"name": f"已登记名为 {name} 的机构"})
    agency = Agency(tenant_id=tenant.id, name=name.strip(), contact=contact.strip())
    session.add(agency)
    session.flush()
    common.record(session, actor, "agency.create", agency, after={"name": agency.name, "contact": agency.contact})
    common.commit(session)
    return agency


# ---- Reading ------------------------------------------------------------------------------------------------


def _visible(session: Session, actor: User, tenant: Tenant) -> Any:
    """Evaluations of the projects the actor may see; an evaluator sees only their agency's."""
    condition = sa.and_(Evaluation.tenant_id == tenant.id,
                        Evaluation.project_id.in_(sa.select(Project.id).where(common.project_filter(session, actor, tenant))))
    if common.is_own_tenant(actor, tenant) and actor.has_role(Role.EVALUATOR) and not actor.has_role(*common.READ_ALL_ROLES):
        condition = sa.and_(condition, Evaluation.agency_id == actor.agency_id)
    return condition


def get_evaluation(session: Session, actor: User, tenant: Tenant, evaluation_id: int) -> Evaluation:
    evaluation = session.scalar(sa.select(Evaluation).where(Evaluation.id == evaluation_id, _visible(session, actor, tenant)))
    if evaluation is None:
        raise NotFound("未找到该评价，或您无权查看")
    return evaluation


def list_evaluations(session: Session, actor: User, tenant: Tenant, *, year: int | None = None,
                     kind: str | None = None, status: str | None = None, project_id: int | None = None) -> list[Evaluation]:
    stmt = (sa.select(Evaluation).join(Evaluation.project).where(_visible(session, actor, tenant))
            .options(selectinload(Evaluation.scores)))
    if year:
        stmt = stmt.where(Project.year == year)
    if kind:
        stmt = stmt.where(Evaluation.kind == EvaluationKind(kind))
    if status:
        stmt = stmt.where(Evaluation.status == EvaluationStatus(status))
    if project_id:
        stmt = stmt.where(Evaluation.project_id == project_id)
    return list(session.scalars(stmt.order_by(Evaluation.id)))


# ---- Creating -----------------------------------------------------------------------------------------------


def start_self_evaluation(session: Session, actor: User, tenant: Tenant, project: Project) -> Evaluation:
    """The unit opens its self-evaluation (单位自评) of a budgeted project; one per project."""
    common.require_unit_or_finance(session, actor, project, "开展单位自评")
    if project.stage not in EVALUATED_STAGES:
        raise Conflict("预算尚未批复的项目不能自评")
    existing = session.scalar(sa.select(Evaluation).where(Evaluation.project_id == project.id,
                                                          Evaluation.kind == EvaluationKind.SELF))
    if existing is not None:
        return existing
    evaluation = Evaluation(tenant_id=tenant.id, project_id=project.id, kind=EvaluationKind.SELF,
                            status=EvaluationStatus.ASSIGNED, evaluator_id=actor.id)
    session.add(evaluation)
    session.flush()
    common.record(session, actor, "evaluation.start", evaluation, after={"kind": "self"})
    common.commit(session)
    return evaluation


def assign(session: Session, actor: User, tenant: Tenant, project: Project, kind: str,
           agency_id: int | None = None, sample_id: int | None = None) -> Evaluation:
    """Finance commissions a department, finance (重点评价) or third-party evaluation of a project."""
    common.require_finance(actor, tenant, "安排绩效评价")
    kind_enum = EvaluationKind(kind)
    if kind_enum is EvaluationKind.SELF:
        raise ValidationFailed(fields={"kind": "单位自评由项目单位自行开展"})
    if project.stage not in EVALUATED_STAGES:
        raise Conflict("预算尚未批复的项目不能安排评价")
    if kind_enum is EvaluationKind.THIRD_PARTY and agency_id is None:
        raise ValidationFailed(fields={"agency_id": "第三方评价须指定机构"})
    if agency_id is not None:
        agency = session.get(Agency, agency_id)
        if agency is None or agency.tenant_id != tenant.id or not agency.active:
            raise ValidationFailed(fields={"agency_id": "本级没有该第三方机构"})
    evaluation = Evaluation(tenant_id=tenant.id, project_id=project.id, kind=kind_enum, agency_id=agency_id,
                            sample_id=sample_id, status=EvaluationStatus.ASSIGNED)
    session.add(evaluation)
    session.flush()
    common.record(session, actor, "evaluation.assign", evaluation, after={"kind": kind, "agency_id": agency_id})
    common.commit(session)
    common.emit(session, tenant, "evaluation.assigned", project, actor, kind=kind, agency_id=agency_id)
    return evaluation


def draw_sample(session: Session, actor: User, tenant: Tenant, year: int, seed: int | None = None,
                assign_kind: str = "finance", agency_id: int | None = None) -> SampleDraw:
    """Draw the re-evaluation sample from the year's self-evaluated projects, with a recorded seed."""
    common.require_finance(actor, tenant, "抽取再评价样本")
    seed = seed if seed is not None else secrets.randbelow(2**31)
    population = list(session.scalars(
        sa.select(Project)
        .where(Project.tenant_id == tenant.id, Project.year == year,
               Project.id.in_(sa.select(Evaluation.project_id).where(
                   Evaluation.kind == EvaluationKind.SELF, Evaluation.status == EvaluationStatus.SUBMITTED)))
        .order_by(Project.id)
    ))
    if not population:
        raise Conflict(f"{year} 年还没有已提交自评的项目，无法抽样")
    rng = random.Random(seed)
    chosen = common.hooks(session, tenant).sample_for_reevaluation(
        candidates=[ProjectView.build(p) for p in population], rng=rng)
    valid = {p.id for p in population}
    drawn = sorted(i for i in (chosen or []) if i in valid)
    draw = SampleDraw(tenant_id=tenant.id, year=year, seed=seed, rule=_rule_name(session, tenant),
                      population_ids=sorted(valid), drawn_ids=drawn, drawn_by_id=actor.id)
    session.add(draw)
    session.flush()
    for project in population:
        if project.id in drawn:
            session.add(Evaluation(tenant_id=tenant.id, project_id=project.id, kind=EvaluationKind(assign_kind),
                                   agency_id=agency_id, sample_id=draw.id, status=EvaluationStatus.ASSIGNED))
    common.record(session, actor, "sample.draw", draw, after={"year": year, "seed": seed, "drawn": drawn})
    common.commit(session)
    return draw


def _rule_name(session: Session, tenant: Tenant) -> str:
    plugins = common.tenant_view(session, tenant).plugins
    answering = [p for p in plugins if p != "national"]
    return f"sample_for_reevaluation ({', '.join(answering) or 'national'})"


def list_samples(session: Session, tenant: Tenant, year: int | None = None) -> list[SampleDraw]:
    stmt = sa.select(SampleDraw).where(SampleDraw.tenant_id == tenant.id)
    if year:
        stmt = stmt.where(SampleDraw.year == year)
    return list(session.scalars(stmt.order_by(SampleDraw.id.desc())))


# ---- Scoring and submitting ---------------------------------------------------------------------------------


def _may_submit(session: Session, actor: User, evaluation: Evaluation) -> None:
    if actor.tenant_id != evaluation.tenant_id:
        raise Forbidden("只有本级人员可以提交评价")
    if evaluation.kind is EvaluationKind.SELF:
        common.require_unit_or_finance(session, actor, evaluation.project, "提交单位自评")
        return
    if actor.has_role(Role.FINANCE):
        return
    if evaluation.agency_id and actor.has_role(Role.EVALUATOR) and actor.agency_id == evaluation.agency_id:
        return
    if evaluation.kind is EvaluationKind.DEPARTMENT and actor.has_role(Role.DEPARTMENT):
        common.require_unit_or_finance(session, actor, evaluation.project, "提交部门评价")
        return
    raise Forbidden("您不是这项评价的承担方")


def submit(session: Session, actor: User, tenant: Tenant, evaluation: Evaluation, data: dict[str, Any]) -> Evaluation:
    """Score every indicator by the rules, add the budget execution score, grade the total."""
    _may_submit(session, actor, evaluation)
    if evaluation.status is EvaluationStatus.SUBMITTED:
        raise Conflict("该评价已提交，不能重复提交")
    common.check_version(evaluation, data.get("version"), "评价")
    project = evaluation.project
    target_set = targets_for(session, project)
    indicators = list(target_set.indicators) if target_set else []
    if not indicators:
        raise Conflict("项目没有已批复的绩效指标，无法评分")
    hooks = common.hooks(session, tenant)
    weights = hooks.evaluation_weights(kind=str(evaluation.kind))
    points = scoring.group_points([(i.level1, i.weight) for i in indicators], weights)
    given = {int(row["indicator_id"]): row for row in data.get("scores") or []}
    errors: dict[str, str] = {}
    scores: list[EvaluationScore] = []
    for indicator, worth in zip(indicators, points, strict=True):
        row = given.get(indicator.id)
        where = f"scores.{indicator.id}"
        if row is None:
            errors[where] = f"请填写指标“{indicator.name}”的实际完成值"
            continue
        actual = None if row.get("actual_value") in (None, "") else Decimal(str(row["actual_value"]))
        band = row.get("band")
        fraction = None if row.get("band_fraction") in (None, "") else Decimal(str(row["band_fraction"]))
        try:
            score = scoring.indicator_score(str(indicator.direction), indicator.target_value, actual, worth,
                                            band=band, band_fraction=fraction)
        except ValueError as exc:
            errors[where] = f"指标“{indicator.name}”：{exc}"
            continue
        scores.append(EvaluationScore(
            tenant_id=tenant.id, indicator_id=indicator.id, actual_value=actual,
            band=QualitativeBand(band) if band else None, band_fraction=fraction, points=worth, score=score,
            note=(row.get("note") or "").strip(),
        ))
    executed = data.get("executed_amount")
    if executed in (None, ""):
        errors["executed_amount"] = "请填写全年执行数"
    if errors:
        raise ValidationFailed("评分未完成，请按提示补充", fields=errors)
    executed_amount = Decimal(str(executed))
    execution_score = scoring.execution_score(executed_amount, project.budget_amount,
                                              Decimal(str(weights.get("execution", 10))))
    total = execution_score + sum((s.score for s in scores), Decimal(0))
    bands = hooks.evaluation_grade_bands(kind=str(evaluation.kind))
    before = audit.snapshot(evaluation, EVALUATION_FIELDS)
    evaluation.scores.clear()
    evaluation.scores.extend(scores)
    evaluation.executed_amount = executed_amount
    evaluation.execution_score = execution_score
    evaluation.total_score = total
    evaluation.grade = scoring.grade_for(total, bands)
    evaluation.summary = (data.get("summary") or "").strip()
    evaluation.findings = [f for f in (data.get("findings") or []) if (f.get("problem") or "").strip()]
    evaluation.internal_comment = (data.get("internal_comment") or "").strip()
    evaluation.status = EvaluationStatus.SUBMITTED
    evaluation.submitted_at = utcnow()
    evaluation.evaluator_id = actor.id
    if project.stage is Stage.BUDGETED:
        project.stage = Stage.EVALUATED
    session.flush()
    common.record(session, actor, "evaluation.submit", evaluation, before, audit.snapshot(evaluation, EVALUATION_FIELDS))
    common.commit(session)
    common.emit(session, tenant, "evaluation.submitted", project, actor, kind=str(evaluation.kind),
                total=total, grade=evaluation.grade)
    return evaluation


def score_quality(session: Session, actor: User, tenant: Tenant, evaluation: Evaluation, score: Decimal,
                  comment: str = "") -> Evaluation:
    """Finance scores the quality of an agency's evaluation work (0–100)."""
    common.require_finance(actor, tenant, "评价第三方机构工作质量")
    if evaluation.agency_id is None:
        raise Conflict("这项评价不是第三方机构承担的")
    if evaluation.status is not EvaluationStatus.SUBMITTED:
        raise Conflict("评价尚未提交，不能评定工作质量")
    if not (Decimal(0) <= score <= Decimal(100)):
        raise ValidationFailed(fields={"score": "质量得分应在 0 到 100 之间"})
    before = {"quality_score": evaluation.quality_score, "quality_comment": evaluation.quality_comment}
    evaluation.quality_score, evaluation.quality_comment = score, comment.strip()
    common.record(session, actor, "evaluation.quality", evaluation, before,
                  {"quality_score": score, "quality_comment": evaluation.quality_comment})
    common.commit(session)
    return evaluation
