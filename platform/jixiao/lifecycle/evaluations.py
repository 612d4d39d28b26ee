"""Evaluation (绩效评价): the unit's self-evaluation, re-evaluation samples, assignments to agencies, scoring.

"自评 + 抽评 + 三方评": every unit evaluates itself; finance draws a reproducible sample to re-evaluate and
assigns key evaluations to third-party agencies, whose staff see only what is assigned to them.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, selectinload

from jixiao import audit, inputs, pagination, policy, units
from jixiao.accounts.models import Role, User
from jixiao.db import utcnow
from jixiao.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jixiao.lifecycle import agencies, common, facts, scoring
from jixiao.lifecycle.models import (
    Agency,
    AgencyType,
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
from jixiao.plugins import host as plugin_host
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import ProjectView

EVALUATED_STAGES = facts.BUDGETED_STAGES  # evaluated once the budget is approved
EVALUATION_FIELDS = ["kind", "status", "agency_id", "executed_amount", "execution_score", "total_score", "grade",
                     "summary", "findings"]


# ---- Agencies -----------------------------------------------------------------------------------------------


def list_agencies(session: Session, tenant: Tenant) -> list[Agency]:
    return list(session.scalars(sa.select(Agency).where(Agency.tenant_id == tenant.id).order_by(Agency.name)))


def create_agency(session: Session, actor: User, tenant: Tenant, name: str, contact: str = "",
                  agency_type: str = AgencyType.OTHER.value) -> Agency:
    common.require_finance(actor, tenant, "登记第三方机构")
    if not name.strip():
        raise ValidationFailed(fields={"name": "请填写机构名称"})
    inputs.check_text(name, "name", "机构名称", max_length=inputs.NAME_MAX_LENGTH, name=True)
    inputs.check_text(contact, "contact", "联系方式", max_length=inputs.NAME_MAX_LENGTH, multiline=False)
    kind = agencies.agency_type(agency_type)
    if session.scalar(sa.select(Agency.id).where(Agency.tenant_id == tenant.id, Agency.name == name.strip())):
        # A repeated create: the agency exists (a concurrent one is caught by the unique key, also 409).
        raise Conflict(f"已登记名为 {name} 的机构", fields={"name": f"已登记名为 {name} 的机构"})
    agency = Agency(tenant_id=tenant.id, name=name.strip(), contact=contact.strip(), agency_type=kind)
    session.add(agency)
    session.flush()
    common.record(session, actor, "agency.create", agency, after={"name": agency.name, "contact": agency.contact,
                                                                   "agency_type": kind.value})
    common.commit(session)
    return agency


# ---- Reading ------------------------------------------------------------------------------------------------


def visible_evaluations_condition(session: Session, actor: User, tenant: Tenant) -> Any:
    """SQL condition on :class:`Evaluation` for the evaluations the actor may see: those of the projects the
    actor may see; an evaluator sees only their agency's (the policy's rule). Reading one, listing them and
    reading their documents all filter by it."""
    return policy.visible_evaluations(actor, tenant)


def get_evaluation(session: Session, actor: User, tenant: Tenant, evaluation_id: int) -> Evaluation:
    evaluation = session.scalar(sa.select(Evaluation).where(Evaluation.id == evaluation_id, visible_evaluations_condition(session, actor, tenant)))
    if evaluation is None:
        raise NotFound("未找到该评价，或您无权查看")
    return evaluation


def _evaluations(session: Session, actor: User, tenant: Tenant, year: int | None, kind: str | None,
                 status: str | None, project_id: int | None) -> sa.Select[Evaluation]:
    stmt = (sa.select(Evaluation).join(Evaluation.project).where(visible_evaluations_condition(session, actor, tenant)))
    if year:
        stmt = stmt.where(Project.year == year)
    if kind:
        stmt = stmt.where(Evaluation.kind == EvaluationKind(kind))
    if status:
        stmt = stmt.where(Evaluation.status == EvaluationStatus(status))
    if project_id:
        stmt = stmt.where(Evaluation.project_id == project_id)
    return stmt.order_by(Evaluation.id)


def list_evaluations(session: Session, actor: User, tenant: Tenant, *, year: int | None = None,
                     kind: str | None = None, status: str | None = None, project_id: int | None = None) -> list[Evaluation]:
    stmt = _evaluations(session, actor, tenant, year, kind, status, project_id)
    return list(session.scalars(stmt.options(selectinload(Evaluation.scores))))


def evaluation_page(session: Session, actor: User, tenant: Tenant, *, page: int = 1,
                    per_page: int = pagination.DEFAULT_PER_PAGE, year: int | None = None, kind: str | None = None,
                    status: str | None = None, project_id: int | None = None) -> pagination.Page[Evaluation]:
    """One page of the evaluations ``actor`` may see, with their projects and scores: three statements (the
    count, the page with its projects, its scores) whatever the number."""
    stmt = _evaluations(session, actor, tenant, year, kind, status, project_id)
    return pagination.fetch(session, stmt, page, per_page,
                            options=(contains_eager(Evaluation.project), selectinload(Evaluation.scores)))


# ---- Creating -----------------------------------------------------------------------------------------------


def start_self_evaluation(session: Session, actor: User, tenant: Tenant, project: Project) -> Evaluation:
    """The unit opens its self-evaluation (单位自评) of a budgeted project; one per project."""
    common.require_unit_or_finance(session, actor, project, "开展单位自评")
    if project.stage not in EVALUATED_STAGES:
        raise Conflict("预算尚未批复的项目不能自评")
    common.lock(session, project)  # concurrent openings queue here: one creates, the others find it
    existing = session.scalar(sa.select(Evaluation).where(Evaluation.project_id == project.id,
                                                          Evaluation.kind == EvaluationKind.SELF))
    if existing is not None:
        raise Conflict(f"该项目的单位自评已经开展（评价编号 {existing.id}），无需重复开展",
                       fields={"kind": f"已有单位自评（评价编号 {existing.id}）"})
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
        agencies.require_assignable(session, tenant, agency, project.year)
    common.lock(session, project)  # concurrent commissions queue here: one creates, the others find it
    same_agency = Evaluation.agency_id.is_(None) if agency_id is None else Evaluation.agency_id == agency_id
    pending = session.scalar(sa.select(Evaluation.id).where(
        Evaluation.project_id == project.id, Evaluation.kind == kind_enum, same_agency,
        Evaluation.status == EvaluationStatus.ASSIGNED))
    if pending is not None:
        raise Conflict(f"该项目已安排{kind_enum.label}且尚未完成（评价编号 {pending}），无需重复安排",
                       fields={"kind": f"已有待完成的{kind_enum.label}（评价编号 {pending}）"})
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
    """Draw the re-evaluation sample from the year's self-evaluated projects, with a recorded seed.

    A redraw keeps the assignments made before it: a drawn project that already has an evaluation of
    ``assign_kind``, or any evaluation from an earlier draw, is not assigned again. The draw records which
    drawn projects it assigned and which were already assigned.
    """
    if not policy.may_draw_sample(actor, tenant):
        raise Forbidden("只有本级财政绩效人员可以抽取再评价样本")
    kinds = {k.value: k for k in EvaluationKind if k is not EvaluationKind.SELF}
    if assign_kind not in kinds:
        raise ValidationFailed(fields={"kind": "抽评只能安排部门评价、财政评价或第三方评价"})
    kind = kinds[assign_kind]
    if kind is EvaluationKind.THIRD_PARTY and agency_id is None:
        raise ValidationFailed(fields={"agency_id": "第三方评价须指定机构"})
    if agency_id is not None:
        agency = session.get(Agency, agency_id)
        if agency is None or agency.tenant_id != tenant.id or not agency.active:
            raise ValidationFailed(fields={"agency_id": "本级没有该第三方机构"})
        agencies.require_assignable(session, tenant, agency, year)
    seed = seed if seed is not None else secrets.randbelow(2**31)
    # Concurrent draws of the year queue here, so a redraw sees what the one before it assigned.
    common.serialise(session, "sample_draw", tenant.id, year)
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
    already = set(session.scalars(sa.select(Evaluation.project_id).where(
        Evaluation.project_id.in_(drawn),
        sa.or_(Evaluation.kind == kind,
               sa.and_(Evaluation.sample_id.is_not(None), Evaluation.kind != EvaluationKind.SELF)))))
    assigned = [i for i in drawn if i not in already]
    draw = SampleDraw(tenant_id=tenant.id, year=year, seed=seed, rule=_rule_name(session, tenant),
                      population_ids=sorted(valid), drawn_ids=drawn, assigned_ids=assigned,
                      already_assigned_ids=sorted(already), drawn_by_id=actor.id)
    session.add(draw)
    session.flush()
    for project_id in assigned:
        session.add(Evaluation(tenant_id=tenant.id, project_id=project_id, kind=kind,
                               agency_id=agency_id, sample_id=draw.id, status=EvaluationStatus.ASSIGNED))
    common.record(session, actor, "sample.draw", draw, after={"year": year, "seed": seed, "drawn": drawn,
                                                               "assigned": assigned, "already_assigned": sorted(already)})
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


def samples_for(session: Session, actor: User, tenant: Tenant, year: int | None = None) -> list[SampleDraw]:
    """The sample draws, for those the policy lets read them (finance): each names its whole population."""
    policy.require_sample_reader(actor)
    return list_samples(session, tenant, year)


@dataclasses.dataclass(frozen=True)
class SampleRule:
    """How the tenant's sample is drawn, for the person about to draw: the national rule's share of the
    non-key projects and the regional rules asked before it (their names in words)."""

    rate: Decimal
    regional: tuple[str, ...]

    @property
    def rate_text(self) -> str:
        return units.ratio_percent_trimmed(self.rate)


def sample_rule(session: Session, tenant: Tenant) -> SampleRule:
    view = common.tenant_view(session, tenant)
    asked = plugin_host().hook("sample_for_reevaluation", view.plugins).plugin_names
    regional = tuple(plugin_host().display_name(name) for name in asked
                     if name != "national" and name not in plugin_host().core_names)
    return SampleRule(rate=Decimal(str(view.settings["evaluation.sample_rate"])), regional=regional)


@dataclasses.dataclass(frozen=True)
class SampleDrawView:
    """A past draw as the sample page shows it: its projects by code and name, who drew it."""

    draw: SampleDraw
    population: list[Project]
    drawn: list[Project]
    drawn_by: str

    def assigned(self, project: Project) -> bool:
        return project.id in (self.draw.assigned_ids or [])


def sample_draw_views(session: Session, actor: User, tenant: Tenant, year: int | None = None) -> list[SampleDrawView]:
    """The draws :func:`samples_for` gives, newest first, each with its projects: three statements in all."""
    draws = samples_for(session, actor, tenant, year)
    ids = {i for d in draws for i in [*d.population_ids, *d.drawn_ids]}
    found = {p.id: p for p in session.scalars(sa.select(Project).where(Project.tenant_id == tenant.id,
                                                                        Project.id.in_(ids)))} if ids else {}
    drawer_ids = {d.drawn_by_id for d in draws if d.drawn_by_id}
    names = {u.id: u.display_name or u.username for u in session.scalars(
        sa.select(User).where(User.id.in_(drawer_ids)))} if drawer_ids else {}

    def projects(wanted: list[int]) -> list[Project]:
        return sorted((found[i] for i in wanted if i in found), key=lambda p: (p.code, p.id))

    return [SampleDrawView(d, projects(d.population_ids), projects(d.drawn_ids), names.get(d.drawn_by_id or 0, ""))
            for d in draws]


# ---- Scoring and submitting ---------------------------------------------------------------------------------


def may_submit_evaluation(session: Session, actor: User, evaluation: Evaluation) -> bool:
    """Whether ``actor`` may score and submit ``evaluation``: the policy predicate used by the service, the page
    and the API alike — :func:`submit` (which the API calls) enforces it through
    :func:`require_evaluation_submitter`, and the project page asks it whether to show the scoring form."""
    try:
        require_evaluation_submitter(session, actor, evaluation)
    except Forbidden:
        return False
    return True


def require_evaluation_submitter(session: Session, actor: User, evaluation: Evaluation) -> None:
    """Raise :class:`Forbidden`, saying why, unless ``actor`` may score and submit ``evaluation``."""
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


def form_of(session: Session, tenant: Tenant, evaluation: Evaluation) -> scoring.EvaluationForm:
    """The form ``evaluation`` is scored on: the one it kept if submitted, else what the tenant's rules give now.

    A form that breaks the national principles (not 100 points; 产出 + 效益 under 60% in a finance or key
    evaluation) is a configuration error of the region's rules, refused with 409 and the reason.
    """
    if evaluation.form:
        return scoring.evaluation_form(evaluation.form, str(evaluation.kind))
    answer = common.hooks(session, tenant).evaluation_weights(kind=str(evaluation.kind))
    try:
        return scoring.evaluation_form(answer, str(evaluation.kind))
    except ValueError as exc:
        raise Conflict(f"本级的{evaluation.kind.label}评价表配置有误：{exc}") from exc


def table_of(session: Session, tenant: Tenant, evaluation: Evaluation) -> list[scoring.FormRow]:
    """The evaluation's indicator table: the form's rows in order, with their points (see ``scoring.form_rows``)."""
    target_set = targets_for(session, evaluation.project)
    return scoring.form_rows(form_of(session, tenant, evaluation), list(target_set.indicators) if target_set else [])


def _score_row(row: scoring.FormRow, given: dict[str, Any], execution: tuple[Decimal, Decimal] | None) -> EvaluationScore:
    """Score one row of the table; ``ValueError`` (Chinese) when what was given cannot be scored."""
    if row.form_indicator is not None:
        item = row.form_indicator
        code, direction, target, name = item.code, item.direction, item.target_value, item.name
        level1, level2 = row.group, item.level2
    else:
        item = row.indicator
        code, direction, target, name = None, str(item.direction), item.target_value, item.name
        level1, level2 = row.group, item.level2
    if row.form_indicator is not None and row.form_indicator.scored_by == scoring.SCORED_BY_EXECUTION:
        if execution is None:
            raise ValueError("请填写全年执行数")
        executed, budget = execution
        score = scoring.execution_score(executed, budget, row.points)
        return EvaluationScore(form_code=code, group_name=level1, level2=level2, name=name, points=row.points,
                               score=score, actual_value=scoring.execution_rate(executed, budget),
                               note=(given.get("note") or "").strip())
    actual = None if given.get("actual_value") in (None, "") else Decimal(str(given["actual_value"]))
    band = given.get("band") or None
    fraction = None if given.get("band_fraction") in (None, "") else Decimal(str(given["band_fraction"]))
    score = scoring.indicator_score(direction, target, actual, row.points, band=band, band_fraction=fraction)
    return EvaluationScore(
        indicator_id=None if row.indicator is None else row.indicator.id, form_code=code, group_name=level1,
        level2=level2, name=name, actual_value=actual, band=QualitativeBand(band) if band else None,
        band_fraction=fraction, points=row.points, score=score, note=(given.get("note") or "").strip())


def submit(session: Session, actor: User, tenant: Tenant, evaluation: Evaluation, data: dict[str, Any]) -> Evaluation:
    """Score every row of the evaluation's form by the rules, add the budget execution score, grade the total.

    The self-evaluation form scores the target indicators (产出 / 效益 / 满意度) and the budget execution; finance
    and key evaluations add the form's own 决策 and 过程 rows (``form_code``). Each submitted row names a target
    indicator (``indicator_id``) or a form row (``form_code``).
    """
    require_evaluation_submitter(session, actor, evaluation)
    evaluation = _lock_unsubmitted(session, evaluation, data.get("version"))
    project = evaluation.project
    form, rows = _form_and_rows(session, tenant, evaluation, project)
    errors: dict[str, str] = {}
    given = _given_rows(data.get("scores") or [], {row.key for row in rows}, errors)
    execution = _given_execution(data.get("executed_amount"), project, errors)
    scores = _scored_rows(tenant, rows, given, execution, errors)
    _check_conclusion_texts(data, errors)
    if errors:
        raise ValidationFailed("评分未完成，请按提示补充", fields=errors)
    assert execution is not None
    executed_amount = execution[0]
    execution_score, total, grade = _totals(session, tenant, evaluation, form, scores, executed_amount)
    before = audit.snapshot(evaluation, EVALUATION_FIELDS)
    evaluation.scores.clear()
    evaluation.scores.extend(scores)
    evaluation.form = form.as_dict()
    evaluation.answered_by = rules_answered_by(session, tenant, str(evaluation.kind))
    evaluation.executed_amount = executed_amount
    evaluation.execution_score = execution_score
    evaluation.total_score = total
    evaluation.grade = grade
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


#: The rules an evaluation is scored by, each asked of the tenant's plugins (most specific first).
EVALUATION_RULES = ("evaluation_weights", "evaluation_grade_bands")


def rules_answered_by(session: Session, tenant: Tenant, kind: str) -> dict[str, str]:
    """Which plugin answers each of the evaluation's rules for ``tenant`` now (hook → plugin), to be kept on the
    evaluation: the rules are pure, so asking again gives the answer the scoring used."""
    tenant_hooks = common.hooks(session, tenant)
    found = {hook: tenant_hooks.answered(hook, kind=kind)[1] for hook in EVALUATION_RULES}
    return {hook: plugin for hook, plugin in found.items() if plugin}


def _lock_unsubmitted(session: Session, evaluation: Evaluation, version: Any) -> Evaluation:
    """The evaluation locked, so that a concurrent submission finds this one submitted."""
    evaluation = common.lock(session, evaluation)
    if evaluation.status is EvaluationStatus.SUBMITTED:
        raise Conflict("该评价已提交，不能重复提交")
    if version is not None:  # a one-way transition: the version is checked when sent
        common.check_version(evaluation, version, "评价")
    return evaluation


def _form_and_rows(session: Session, tenant: Tenant, evaluation: Evaluation,
                   project: Project) -> tuple[scoring.EvaluationForm, list[scoring.FormRow]]:
    """The form and its rows over the project's approved indicators (``table_of``, refusing a project without)."""
    target_set = targets_for(session, project)
    indicators = list(target_set.indicators) if target_set else []
    if not indicators:
        raise Conflict("项目没有已批复的绩效指标，无法评分")
    form = form_of(session, tenant, evaluation)
    return form, scoring.form_rows(form, indicators)


def _given_rows(submitted: list[dict[str, Any]], known: set[str], errors: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The submitted rows by the key of the table row each names (``form:<code>`` or the indicator's id)."""
    given: dict[str, dict[str, Any]] = {}
    for position, raw in enumerate(submitted, start=1):
        if raw.get("form_code"):
            given[f"form:{raw['form_code']}"] = raw
        elif raw.get("indicator_id") not in (None, ""):
            given[str(int(raw["indicator_id"]))] = raw
        else:
            errors[f"scores[{position}]"] = "每一行评分须指明绩效指标（indicator_id）或评价表指标（form_code）"
    for key in given:
        if key not in known:
            errors[f"scores.{key}"] = "不是本评价表中的指标"
    return given


def _given_execution(executed: Any, project: Project, errors: dict[str, str]) -> tuple[Decimal, Decimal] | None:
    """(全年执行数, the project's budget), or None when the amount executed is missing."""
    if executed in (None, ""):
        errors["executed_amount"] = "请填写全年执行数"
        return None
    return Decimal(str(executed)), project.budget_amount


def _scored_rows(tenant: Tenant, rows: list[scoring.FormRow], given: dict[str, dict[str, Any]],
                 execution: tuple[Decimal, Decimal] | None, errors: dict[str, str]) -> list[EvaluationScore]:
    """A score for every row of the table; a row left out or that cannot be scored is named in ``errors``."""
    scores: list[EvaluationScore] = []
    for position, row in enumerate(rows):
        where = f"scores.{row.key}"
        name = row.form_indicator.name if row.form_indicator else row.indicator.name
        scored_by_rule = row.form_indicator is not None and row.form_indicator.scored_by is not None
        if row.key not in given and not scored_by_rule:
            errors[where] = f"请填写指标“{name}”的实际完成值或评价档次"
            continue
        try:
            score = _score_row(row, given.get(row.key, {}), execution)
        except ValueError as exc:
            if scored_by_rule and execution is None:
                continue  # reported once, on executed_amount
            errors[where] = f"指标“{name}”：{exc}"
            continue
        score.tenant_id, score.position = tenant.id, position
        scores.append(score)
    return scores


def _check_conclusion_texts(data: dict[str, Any], errors: dict[str, str]) -> None:
    """The conclusion, the internal comment and the findings, within their bounds."""
    inputs.collect(errors, inputs.check_text, data.get("summary"), "summary", "评价结论",
                   max_length=inputs.LONG_TEXT_MAX_LENGTH)
    inputs.collect(errors, inputs.check_text, data.get("internal_comment"), "internal_comment", "内部意见",
                   max_length=inputs.LONG_TEXT_MAX_LENGTH)
    inputs.collect(errors, inputs.check_count, data.get("findings") or [], "findings", "问题与建议",
                   inputs.MAX_FINDINGS_PER_EVALUATION)
    for number, finding in enumerate(data.get("findings") or [], start=1):
        for key, label in (("problem", "问题"), ("suggestion", "建议")):
            inputs.collect(errors, inputs.check_text, finding.get(key), f"findings.{number}.{key}",
                           f"第 {number} 条{label}", max_length=inputs.COMMENT_MAX_LENGTH)


def _totals(session: Session, tenant: Tenant, evaluation: Evaluation, form: scoring.EvaluationForm,
            scores: list[EvaluationScore], executed_amount: Decimal) -> tuple[Decimal, Decimal, str]:
    """(预算执行率得分, the total, the grade the tenant's bands give it)."""
    budget = evaluation.project.budget_amount
    execution_score = scoring.execution_score(executed_amount, budget, form.execution)
    rule_scored = [s for s in scores if s.form_code and s.indicator_id is None and _is_execution_row(form, s.form_code)]
    total = execution_score + sum((s.score for s in scores), Decimal(0))
    bands = common.hooks(session, tenant).evaluation_grade_bands(kind=str(evaluation.kind))
    # 预算执行率得分: the execution row's score, wherever the form puts it.
    shown = rule_scored[0].score if rule_scored and not form.execution else execution_score
    return shown, total, scoring.grade_for(total, bands)


def _is_execution_row(form: scoring.EvaluationForm, code: str) -> bool:
    return any(i.code == code and i.scored_by == scoring.SCORED_BY_EXECUTION for g in form.groups for i in g.indicators)


def score_quality(session: Session, actor: User, tenant: Tenant, evaluation: Evaluation, score: Decimal,
                  comment: str = "", *, version: int | None) -> Evaluation:
    """Finance scores the quality of an agency's evaluation work (0–100)."""
    common.require_finance(actor, tenant, "评价第三方机构工作质量")
    evaluation = common.lock_version(session, evaluation, version, "评价")
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


# ---- Reading a scored table ---------------------------------------------------------------------------------

SYMBOLS = {"ge": "≥", "gt": ">", "eq": "=", "le": "≤", "lt": "<"}


def _plain(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


def target_text(score: EvaluationScore) -> str:
    """The 年度指标值 column of a scored row: the target indicator's value, or the form row's own standard."""
    indicator = score.indicator
    if indicator is not None:
        if indicator.direction.value == "qualitative":
            return indicator.target_text or "—"
        return f"{indicator.direction.symbol}{_plain(indicator.target_value)}{indicator.unit}" \
            if indicator.target_value is not None else "—"
    item = score.evaluation.form_item(score.form_code)
    if item.get("scored_by") == scoring.SCORED_BY_EXECUTION:
        return "100%"
    if item.get("target_value") not in (None, "") and item.get("direction") in SYMBOLS:
        return f"{SYMBOLS[item['direction']]}{_plain(Decimal(str(item['target_value'])))}{item.get('unit') or ''}"
    return "—"


def actual_text(score: EvaluationScore) -> str:
    """The 实际完成值 column: the band chosen, or the value with its unit (the execution rate in percent)."""
    if score.band is not None:
        if score.band_fraction is None:
            return score.band.label
        return f"{score.band.label}（{units.ratio_percent_trimmed(score.band_fraction)}）"
    if score.actual_value is None:
        return "—"
    if score.indicator is not None:
        return f"{_plain(score.actual_value)}{score.indicator.unit}"
    item = score.evaluation.form_item(score.form_code)
    unit = "%" if item.get("scored_by") == scoring.SCORED_BY_EXECUTION else item.get("unit") or ""
    return f"{_plain(score.actual_value)}{unit}"
