"""Projects: creating and listing them, ex-ante assessment, the budget and payment, publication."""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from jixiao import audit, inputs, policy, units
from jixiao.accounts.models import Department, Role, User
from jixiao.audit.models import AuditEvent
from jixiao.catalog import service as catalog
from jixiao.db import utcnow
from jixiao.errors import Conflict, Forbidden, ValidationFailed
from jixiao.lifecycle import common, continuation, experts
from jixiao.lifecycle.models import (
    Conclusion,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    ExAnteAssessment,
    ExpertDraw,
    FundSource,
    FundType,
    MonitoringReport,
    Project,
    ProjectKind,
    RectificationNotice,
    ResultApplication,
    SpendingModality,
    Stage,
    TargetSet,
    TargetStatus,
)
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import ProjectView

PROJECT_FIELDS = ["code", "name", "year", "kind", "fund_type", "category", "is_new", "is_key", "classified",
                  "requested_amount", "approved_amount", "adjusted_amount", "stage", "department_id",
                  "payment_suspended", "suspension_reason", "spending_modalities", "is_special_fund", "fund_source",
                  "continues_project_id"]
# What the money is spent through and where a special fund comes from describe the project, so they may be
# corrected at any stage (audited), unlike the amount, the kind and the fund type.
SPENDING = {"spending_modalities", "is_special_fund", "fund_source"}
EDITABLE = {"name", "category", "is_new", "is_key", "requested_amount", "kind", "fund_type", "continues_project_id",
            *SPENDING}
FINANCE_ONLY = {"classified", "adjusted_amount"}


def _department(session: Session, tenant: Tenant, code: str | None) -> Department:
    department = session.scalar(sa.select(Department).where(Department.tenant_id == tenant.id,
                                                             Department.code == (code or "")))
    if department is None:
        raise ValidationFailed(fields={"department_code": f"本级没有代码为 {code} 的部门"})
    return department


#: A project's texts: field → (label, bound, checked as a name).
PROJECT_TEXTS = {"code": ("项目编码", inputs.CODE_MAX_LENGTH, True), "name": ("项目名称", inputs.NAME_MAX_LENGTH, True),
                 "category": ("项目类别", inputs.CODE_MAX_LENGTH, False)}
PROJECT_AMOUNTS = {"requested_amount": "申请金额", "adjusted_amount": "调整后预算"}


def check_project_fields(data: dict[str, Any], *, creating: bool = False) -> None:
    """Refuse, naming the field, what a project cannot hold as sent: texts beyond their columns or with
    invisible characters, amounts beyond NUMERIC(18, 2) or with more than two decimals, years out of range.
    The page, the API and the spreadsheet import all send projects through here."""
    errors: dict[str, Any] = {}
    for field, (label, bound, name) in PROJECT_TEXTS.items():
        if field in data:
            inputs.collect(errors, inputs.check_text, data[field], field, label, max_length=bound, name=name,
                           multiline=False, required=creating and field != "category")
    for field, label in PROJECT_AMOUNTS.items():
        if field in data:
            inputs.collect(errors, inputs.check_money, data[field], field, label, required=creating and
                           field == "requested_amount", minimum=Decimal(0))
    if creating:
        inputs.collect(errors, inputs.check_year, data.get("year"), required=True, minimum=2000)
    if errors:
        raise ValidationFailed(fields=errors)


MODALITY_CHOICES = "、".join(m.label for m in SpendingModality)
FUND_SOURCE_CHOICES = "、".join(f.label for f in FundSource)


def modalities_problem(values: Any) -> tuple[list[str], str]:
    """The spending modalities as stored (each once, in the enum's order), and what is wrong with them ("" if
    nothing): a code that is not one, or ``none`` together with another (it says that none applies)."""
    if values is None:
        return [], ""
    if isinstance(values, str) or not isinstance(values, list | tuple | set):
        return [], "支出方式应为列表，如 [\"ppp\", \"procurement\"]"
    unknown = [str(v) for v in values if not isinstance(v, str) or v not in SpendingModality._value2member_map_]
    if unknown:
        return [], f"“{'、'.join(unknown)}”不是支出方式，应为 {', '.join(m.value for m in SpendingModality)}"
    chosen = {str(v) for v in values}
    if SpendingModality.NONE.value in chosen and len(chosen) > 1:
        return [], f"“{SpendingModality.NONE.label}”不能与其他支出方式同时选择"
    return [m.value for m in SpendingModality if m.value in chosen], ""


def special_fund_problems(kind: Any, is_special_fund: bool, fund_source: Any) -> dict[str, str]:
    """Only a project can be a special fund (a policy or a department's whole budget is counted as such, seed
    003), and only a special fund has a fund source."""
    errors: dict[str, str] = {}
    if is_special_fund and str(kind) != ProjectKind.PROJECT.value:
        errors["is_special_fund"] = "只有项目可以标记为专项资金（政策和部门整体支出不适用）"
    if fund_source is not None:
        if not isinstance(fund_source, str) or fund_source not in FundSource._value2member_map_:
            errors["fund_source"] = f"资金来源应为 {', '.join(f.value for f in FundSource)}（{FUND_SOURCE_CHOICES}）"
        elif not is_special_fund:
            errors["fund_source"] = "只有专项资金项目才有专项资金来源，请先标记为专项资金"
    return errors


def check_spending(data: dict[str, Any], project: Project | None = None) -> dict[str, Any]:
    """``data``'s spending modalities, special-fund mark and fund source as the project will hold them (over
    ``project``'s when it exists and ``data`` leaves one out), or ``ValidationFailed`` naming each field.

    Unmarking a special fund without naming its fund source clears the source (it only exists on a special
    fund); naming one with the mark off is refused."""
    errors: dict[str, str] = {}
    result: dict[str, Any] = {}
    if "spending_modalities" in data or project is None:
        modalities, problem = modalities_problem(data.get("spending_modalities"))
        if problem:
            errors["spending_modalities"] = problem
        result["spending_modalities"] = modalities
    kind = data.get("kind", project.kind if project else None)
    special = bool(data.get("is_special_fund", project.is_special_fund if project else False))
    if "fund_source" in data or project is None:
        source = data.get("fund_source")
    else:
        source = str(project.fund_source) if project.fund_source and special else None
    errors.update(special_fund_problems(kind, special, source))
    if errors:
        raise ValidationFailed(fields=errors)
    if project is None or {"is_special_fund", "fund_source", "kind"} & set(data):
        result.update(is_special_fund=special, fund_source=FundSource(source) if source else None)
    return result


def _continued(session: Session, tenant: Tenant, year: int, value: Any, project: Project | None = None) -> int | None:
    """The id of the earlier project a project of ``year`` continues (延续), checked; None for no link."""
    if value is None:
        return None
    earlier = session.scalar(sa.select(Project).where(Project.id == value, Project.tenant_id == tenant.id))
    problem = ""
    if earlier is None:
        problem = f"本级没有编号为 {value} 的项目"
    elif earlier.year >= year:
        problem = f"延续的项目应是 {year} 年以前的项目（{earlier.code} 是 {earlier.year} 年的）"
    else:
        taken = session.scalar(sa.select(Project).where(
            Project.continues_project_id == earlier.id, Project.id != (project.id if project else -1)))
        if taken is not None:
            problem = f"{earlier.year} 年的 {earlier.code} 已由 {taken.year} 年的 {taken.code} 延续"
    if problem:
        raise ValidationFailed(fields={"continues_project_id": problem})
    return int(value)


def create_project(session: Session, actor: User, tenant: Tenant, data: dict[str, Any]) -> Project:
    """A unit (or finance) enters a project, policy or department-whole budget for a budget year."""
    if not common.is_own_tenant(actor, tenant) or not actor.has_role(Role.FINANCE, Role.DEPARTMENT):
        raise Forbidden("只有本级预算单位人员或财政绩效人员可以申报项目")
    department = _department(session, tenant, data.get("department_code") or (
        actor.department.code if actor.department else None))
    if not actor.has_role(Role.FINANCE) and department.id not in common.department_subtree_ids(session, actor.department_id):
        raise Forbidden("预算单位人员只能为本部门（及下属单位）申报项目")
    if data.get("classified") and not actor.has_role(Role.FINANCE):
        # Refused, as the same change by PATCH is: a success that silently dropped the mark would mislead.
        raise Forbidden("只有财政绩效人员可以标记涉密", fields={"classified": "预算单位人员不能标记涉密"})
    check_project_fields(data, creating=True)
    spending = check_spending(data)
    exists = session.scalar(sa.select(Project.id).where(
        Project.tenant_id == tenant.id, Project.year == data["year"], Project.code == data["code"]))
    if exists:
        # A repeated create: the project exists (a concurrent one is caught by the unique key, also 409).
        raise Conflict(f"{data['year']} 年已有编码为 {data['code']} 的项目",
                       fields={"code": f"{data['year']} 年已有编码为 {data['code']} 的项目"})
    if Decimal(data["requested_amount"]) < 0:
        raise ValidationFailed(fields={"requested_amount": "申请金额不能为负数"})
    category = catalog.project_category(session, tenant, data["year"], data.get("category"))
    continues = _continued(session, tenant, data["year"], data.get("continues_project_id"))
    project = Project(
        tenant_id=tenant.id, department_id=department.id, year=data["year"], code=data["code"], name=data["name"],
        kind=ProjectKind(data["kind"]), fund_type=FundType(data["fund_type"]), category=category,
        is_new=data.get("is_new", True), is_key=data.get("is_key", False),
        classified=bool(data.get("classified", False)),
        requested_amount=Decimal(data["requested_amount"]), stage=Stage.DRAFT, created_by_id=actor.id,
        continues_project_id=continues, **spending,
    )
    session.add(project)
    session.flush()
    continuation.attach_waiting(session, project)
    common.record(session, actor, "project.create", project, after=audit.snapshot(project, PROJECT_FIELDS))
    common.commit(session)
    return project


def update_project(session: Session, actor: User, tenant: Tenant, project: Project, changes: dict[str, Any]) -> Project:
    common.require_unit_or_finance(session, actor, project, "修改项目")
    project = common.lock_version(session, project, changes.pop("version", None), "项目")
    unknown = set(changes) - EDITABLE - FINANCE_ONLY
    if unknown:
        raise ValidationFailed(fields={k: "该字段不能在此修改" for k in unknown})
    check_project_fields(changes)
    if set(changes) & FINANCE_ONLY and not actor.has_role(Role.FINANCE):
        raise Forbidden("只有财政绩效人员可以标记涉密或调整预算")
    if "adjusted_amount" in changes and project.approved_amount is None:
        raise Conflict("预算尚未批复，不能调整")
    if project.stage not in (Stage.DRAFT,) and set(changes) & {"requested_amount", "kind", "fund_type"}:
        raise Conflict("目标提交后不能再修改申请金额、类型和资金来源")
    if "category" in changes:
        changes["category"] = catalog.project_category(session, tenant, project.year, changes["category"])
    spending = check_spending(changes, project)
    changes = {k: v for k, v in changes.items() if k not in SPENDING} | spending
    relinked = "continues_project_id" in changes and changes["continues_project_id"] != project.continues_project_id
    if relinked:
        changes["continues_project_id"] = _continued(session, tenant, project.year, changes["continues_project_id"],
                                                     project)
    before = audit.snapshot(project, PROJECT_FIELDS)
    for key, value in changes.items():
        if key in {"kind"}:
            value = ProjectKind(value)
        elif key == "fund_type":
            value = FundType(value)
        setattr(project, key, value)
    if relinked:
        # Decisions follow the chain: those applied to this project through its old link wait again, those
        # waiting on its new chain for its year now apply to it.
        session.flush()
        continuation.detach(session, project)
        continuation.attach_waiting(session, project)
    common.record(session, actor, "project.update", project, before, audit.snapshot(project, PROJECT_FIELDS))
    common.commit(session)
    return project


# ---- Listing ------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ProjectFilters:
    year: int | None = None
    department_code: str | None = None
    stage: str | None = None
    kind: str | None = None
    fund_type: str | None = None
    grade: str | None = None
    light: str | None = None
    q: str | None = None
    # Any of these spending modalities (codes); a project of several matches each of them.
    modality: list[str] | None = None
    fund_source: str | None = None


class ListedDepartment(NamedTuple):
    """A listed project's department, as the list shows it."""

    id: int
    code: str
    name: str


class ProjectRow(types.SimpleNamespace):
    """A project as a list shows it: every column of the project (as its ORM object gives them: enums,
    decimals, lists), its ``department``, its latest ``light`` and ``grade`` — plain attributes, so a list's
    response schema dumps each row once, directly. Nothing a list shows needs an object the session tracks
    (fifty of them and their departments, read through the ORM's instrumented attributes and a proxy, cost a
    fifth of the dump)."""

    @property
    def project(self) -> ProjectRow:
        """The row itself, read as its project (``row.project.code`` in the list's template)."""
        return self


#: The project's columns a :class:`ProjectRow` has (every mapped column).
LISTED_COLUMNS = tuple(attribute.key for attribute in sa.inspect(Project).column_attrs)


def _latest_light() -> Any:
    latest = (
        sa.select(MonitoringReport.light)
        .where(MonitoringReport.project_id == Project.id)
        .order_by(MonitoringReport.period.desc())
        .limit(1)
        .correlate(Project)
        .scalar_subquery()
    )
    return latest


def _latest_grade() -> Any:
    return (
        sa.select(Evaluation.grade)
        .where(Evaluation.project_id == Project.id, Evaluation.status == EvaluationStatus.SUBMITTED)
        .order_by(sa.case((Evaluation.kind == EvaluationKind.SELF, 1), else_=0), Evaluation.submitted_at.desc())
        .limit(1)
        .correlate(Project)
        .scalar_subquery()
    )


def modalities_text() -> Any:
    """The stored list as its JSON text, the same on PostgreSQL (``json`` keeps the text written) and SQLite."""
    return sa.cast(Project.spending_modalities, sa.Text)


def has_any_modality(codes: list[str]) -> Any:
    """Projects whose modalities include any of ``codes``: the quoted code inside the list's JSON text. The
    service writes every list (codes from a closed set, none a part of another once quoted), so this is exact
    and needs no JSON operator either database lacks."""
    text = modalities_text()
    return sa.or_(*(text.contains(f'"{SpendingModality(code).value}"', autoescape=True) for code in codes))


def _listed(session: Session, actor: User, tenant: Tenant, filters: ProjectFilters) -> tuple[Any, list[Any]]:
    """The projects ``actor`` may see under ``filters``, as a subquery of ``(id, light, grade)``, and the conditions
    on it (the light and grade filters): what the list and its export both read."""
    light, grade = _latest_light().label("light"), _latest_grade().label("grade")
    conditions = [common.project_filter(session, actor, tenant)]
    if filters.year:
        conditions.append(Project.year == filters.year)
    if filters.department_code:
        conditions.append(Project.department.has(Department.code == filters.department_code))
    for column, value, enum_cls in ((Project.stage, filters.stage, Stage), (Project.kind, filters.kind, ProjectKind),
                                    (Project.fund_type, filters.fund_type, FundType)):
        if value:
            conditions.append(column == enum_cls(value))
    if filters.q:
        conditions.append(sa.or_(Project.name.contains(filters.q), Project.code.contains(filters.q)))
    if filters.modality:
        conditions.append(has_any_modality(filters.modality))
    if filters.fund_source:
        conditions.append(Project.fund_source == FundSource(filters.fund_source))
    inner = sa.select(Project.id.label("id"), light, grade).where(*conditions).subquery()
    outer_conditions = []
    if filters.light:
        outer_conditions.append(inner.c.light == filters.light)
    if filters.grade:
        outer_conditions.append(inner.c.grade == filters.grade)
    return inner, outer_conditions


def list_projects(session: Session, actor: User, tenant: Tenant, filters: ProjectFilters, page: int = 1,
                  per_page: int = 50) -> tuple[list[ProjectRow], int]:
    """One page of the projects ``actor`` may see, with each one's latest light and grade, in two statements."""
    inner, outer_conditions = _listed(session, actor, tenant, filters)
    total = session.scalar(sa.select(sa.func.count()).select_from(inner).where(*outer_conditions)) or 0
    rows = session.execute(
        sa.select(*(getattr(Project, name) for name in LISTED_COLUMNS),
                  Department.code.label("department_code_"), Department.name.label("department_name_"),
                  inner.c.light, inner.c.grade)
        .select_from(Project)
        .join(inner, inner.c.id == Project.id)
        .outerjoin(Department, Department.id == Project.department_id)
        .where(*outer_conditions)
        .order_by(Project.year.desc(), Project.code)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [_project_row(row) for row in rows], total


def _project_row(row: Any) -> ProjectRow:
    values = row._asdict()
    code, name = values.pop("department_code_"), values.pop("department_name_")
    department = ListedDepartment(values["department_id"], code, name) if code is not None else None
    if values["light"]:
        values["light"] = str(values["light"])
    return ProjectRow(**values, department=department)


#: What an export of the list reads of each project: its columns, not the project (a page of 500 ORM objects, each
#: with its department, was most of an export's time).
LISTED_VALUES = ("code", "name", "year", "kind", "fund_type", "category", "is_new", "is_key", "classified",
                 "requested_amount", "approved_amount", "adjusted_amount", "stage", "payment_suspended",
                 "spending_modalities", "is_special_fund", "fund_source")


def project_values(session: Session, actor: User, tenant: Tenant, filters: ProjectFilters,
                   chunk: int = 500) -> tuple[int, Iterator[Any]]:
    """Every row :func:`list_projects` would give across its pages, as values: each project's
    :data:`LISTED_VALUES`, its department's ``department_code`` and ``department_name``, its latest ``light`` and
    ``grade`` (named columns of a row), in the list's order; with the total first. Two statements: the count, and
    one read streamed ``chunk`` rows at a time (pages by OFFSET made the database work out the light and grade of
    every row it skipped: an export's cost grew with the square of its rows)."""
    inner, outer_conditions = _listed(session, actor, tenant, filters)
    total = session.scalar(sa.select(sa.func.count()).select_from(inner).where(*outer_conditions)) or 0
    result = session.execute(
        sa.select(*(getattr(Project, name) for name in LISTED_VALUES),
                  Department.code.label("department_code"), Department.name.label("department_name"),
                  inner.c.light, inner.c.grade)
        .select_from(Project)
        .join(inner, inner.c.id == Project.id)
        .outerjoin(Department, Department.id == Project.department_id)
        .where(*outer_conditions)
        .order_by(Project.year.desc(), Project.code)
        .execution_options(yield_per=chunk))
    return total, (row for part in result.partitions() for row in part)


def counts(session: Session, actor: User, tenant: Tenant, year: int) -> tuple[dict[str, int], dict[str, int]]:
    """Projects the actor may see in ``year``, counted per stage and per latest monitoring light: one statement,
    counting each (stage, light) pair, summed both ways here."""
    visible = [common.project_filter(session, actor, tenant), Project.year == year]
    pairs = sa.select(Project.stage.label("stage"), _latest_light().label("light")).where(*visible).subquery()
    by_stage: dict[str, int] = {}
    by_light: dict[str, int] = {}
    for stage, light, number in session.execute(
            sa.select(pairs.c.stage, pairs.c.light, sa.func.count()).group_by(pairs.c.stage, pairs.c.light)):
        by_stage[str(stage)] = by_stage.get(str(stage), 0) + number
        if light is not None:
            by_light[str(light)] = by_light.get(str(light), 0) + number
    return by_stage, by_light


# ---- Ex-ante assessment -------------------------------------------------------------------------------------


def exante_required(session: Session, tenant: Tenant, project: Project) -> bool:
    return bool(common.hooks(session, tenant).exante_required(project=ProjectView.build(project)))


def exante_for(session: Session, project: Project) -> ExAnteAssessment | None:
    return session.scalar(sa.select(ExAnteAssessment).where(ExAnteAssessment.project_id == project.id))


def _reviewer_problem(session: Session, tenant: Tenant, ids: list[Any], drawn: list[int] | None = None) -> str:
    """Reviewers are the tenant's own active experts and finance staff: an id of another bureau's user, of
    nobody, or of a unit's staff would put a name on a review that person never did. Once the project's
    reviewers were drawn from the expert pool (``drawn``: the logins of the draw in force), its expert reviewers
    are the drawn ones: a draw any other expert could step into would decide nothing."""
    try:
        wanted = {int(i) for i in ids}
    except (TypeError, ValueError):
        return "评审人员应为本级用户的编号"
    if not wanted:
        return ""
    found = session.execute(sa.select(User.id, User.roles).where(
        User.id.in_(wanted), User.tenant_id == tenant.id, User.active.is_(True))).all()
    allowed = {uid for uid, roles in found if str(Role.FINANCE) in (roles or [])
               or (str(Role.EXPERT) in (roles or []) and (drawn is None or uid in drawn))}
    # A drawn expert kept by an upper level is a user of that level, whom the county cannot read: the draw
    # in force, which checked the login when it was made, vouches for them.
    allowed |= wanted & set(drawn or [])
    unknown = sorted(wanted - allowed)
    if not unknown:
        return ""
    whom = "本级在职的评审专家或财政人员" if drawn is None else "本项目抽中的评审专家或本级在职的财政人员"
    return f"以下评审人员不是{whom}：{'、'.join(str(i) for i in unknown)}"


def may_assess_exante(session: Session, actor: User, tenant: Tenant, project: Project) -> bool:
    """The tenant's own finance staff, or its experts — once reviewers were drawn from the pool, only the drawn,
    who may be experts kept by an upper level (``experts.drawn_from_above``)."""
    draw = experts.draw_in_force(session, project)
    if experts.drawn_from_above(session, actor, tenant, draw):
        return True
    if not (common.is_own_tenant(actor, tenant) and actor.has_role(Role.FINANCE, Role.EXPERT)):
        return False
    if actor.has_role(Role.FINANCE):
        return True
    return draw is None or actor.id in draw.assigned_user_ids


def record_exante(session: Session, actor: User, tenant: Tenant, project: Project, data: dict[str, Any]) -> ExAnteAssessment:
    """Finance staff or an expert records the assessment: a score per dimension, the conclusion, the cut.

    An expert kept by an upper level and drawn for the project records it too: in the project's bureau, whose
    record it is (``experts.reviewing_for``).
    """
    draw = experts.draw_in_force(session, project)
    drawn = draw.assigned_user_ids if draw is not None else None
    commissioned = experts.drawn_from_above(session, actor, tenant, draw)
    if not commissioned:
        if not (common.is_own_tenant(actor, tenant) and actor.has_role(Role.FINANCE, Role.EXPERT)):
            raise Forbidden("只有本级财政绩效人员或评审专家可以填写事前绩效评估")
        if drawn is not None and not actor.has_role(Role.FINANCE) and actor.id not in drawn:
            raise Forbidden("该项目的评审专家已从专家库抽取：只有抽中的专家或本级财政绩效人员可以填写事前绩效评估")
    if project.stage not in (Stage.DRAFT, Stage.TARGETS_SUBMITTED):
        raise Conflict("目标已批复的项目不能再做事前评估")
    scores = data.get("scores") or {}
    errors = _exante_score_problems(common.hooks(session, tenant).exante_dimensions(), scores)
    for key, comment in (data.get("comments") or {}).items():
        inputs.collect(errors, inputs.check_text, comment, f"comments.{key}", "评估意见",
                       max_length=inputs.COMMENT_MAX_LENGTH)
    cut = _checked_cut(project, data.get("amount_cut"), errors)
    reviewers = _reviewer_problem(session, tenant, data.get("reviewer_ids") or [], drawn)
    if reviewers:
        errors["reviewer_ids"] = reviewers
    if errors:
        raise ValidationFailed(fields=errors)
    with experts.reviewing_for(session, project, commissioned=commissioned) as writer:
        assessment, before = _exante_to_write(writer, tenant, project, data.get("version"))
        assessment.scores = {k: str(Decimal(str(v))) for k, v in scores.items()}
        assessment.comments = dict(data.get("comments") or {})
        assessment.total_score = sum((Decimal(str(v)) for v in scores.values()), Decimal(0))
        assessment.conclusion = Conclusion(data["conclusion"])
        assessment.amount_cut = cut
        assessment.reviewer_ids = sorted(set(data.get("reviewer_ids") or []) | {actor.id})
        assessment.assessed_at = utcnow()
        writer.flush()
        common.record(writer, actor, "exante.record", assessment, before,
                      audit.snapshot(assessment, ["scores", "conclusion", "amount_cut", "total_score"]))
        common.commit(writer)
        common.emit(writer, tenant, "exante.recorded", project, actor, conclusion=str(assessment.conclusion))
    return assessment


def _exante_score_problems(dimensions: list[dict[str, Any]], scores: dict[str, Any]) -> dict[str, str]:
    """A score for every dimension of the tenant's, within its range, and none for a dimension it does not have."""
    errors: dict[str, str] = {}
    for dimension in dimensions:
        value = scores.get(dimension["key"])
        if value is None:
            errors[f"scores.{dimension['key']}"] = f"请为“{dimension['label']}”打分"
        elif not (0 <= Decimal(str(value)) <= dimension["max"]):
            errors[f"scores.{dimension['key']}"] = f"“{dimension['label']}”的得分应在 0 到 {dimension['max']} 之间"
    extra = set(scores) - {d["key"] for d in dimensions}
    for key in extra:
        errors[f"scores.{key}"] = "不是本地区事前评估的维度"
    return errors


def _checked_cut(project: Project, amount_cut: Any, errors: dict[str, str]) -> Decimal:
    """The cut, between 0 and the amount requested; one that is not an amount at all is refused at once, with
    the problems found so far (there is nothing to compare with the amount requested)."""
    if inputs.collect(errors, inputs.check_money, amount_cut, "amount_cut", "核减金额") is None \
            and "amount_cut" in errors:
        raise ValidationFailed(fields=errors)
    cut = Decimal(str(amount_cut or 0))
    if cut < 0 or cut > project.requested_amount:
        errors["amount_cut"] = "核减金额应在 0 与申请金额之间"
    return cut


def _exante_to_write(session: Session, tenant: Tenant, project: Project,
                     version: Any) -> tuple[ExAnteAssessment, dict[str, Any] | None]:
    """The project's assessment, locked and at the version the assessor read, or a new one; and its audit
    snapshot before the change (None for a new one)."""
    common.lock(session, project)  # concurrent first assessments queue here: one creates, the others find it
    assessment = exante_for(session, project)
    if assessment is None:
        assessment = ExAnteAssessment(tenant_id=tenant.id, project_id=project.id, total_score=Decimal(0),
                                      conclusion=Conclusion.SUPPORT, assessed_at=utcnow())
        session.add(assessment)
        return assessment, None
    assessment = common.lock(session, assessment)
    common.check_existing(assessment, version, "事前评估")
    return assessment, audit.snapshot(assessment, ["scores", "conclusion", "amount_cut"])


def exante_blocker(session: Session, tenant: Tenant, project: Project) -> str | None:
    """Why the project cannot go on without ex-ante support, or None."""
    if not exante_required(session, tenant, project):
        return None
    assessment = exante_for(session, project)
    if assessment is None:
        return "该项目须先完成事前绩效评估（结论为“支持”或“调整后支持”）"
    if assessment.conclusion is Conclusion.REJECT:
        return "事前绩效评估结论为“不予支持”，不能批复目标或预算"
    return None


# ---- Budget and payment -------------------------------------------------------------------------------------


def wan_yuan(amount: Decimal) -> str:
    """An amount in 万元, as finance reads budgets (1234567.00 元 → 123.4567 万元)."""
    return f"{units.format_wan_exact(amount)} 万元"


def approve_budget(session: Session, actor: User, tenant: Tenant, project: Project, amount: Decimal,
                   version: int | None, *, confirm_over_request: bool = False) -> Project:
    """无目标、不预算: the approved amount needs approved targets (and ex-ante support where required).

    ``version`` is the project's version the approver read. An amount above the one requested is refused
    unless ``confirm_over_request`` says the approver means it (a slip of a digit would otherwise stand).
    """
    common.require_finance(actor, tenant, "批复预算")
    project = common.lock_version(session, project, version, "项目")
    targets = session.scalar(sa.select(TargetSet).where(TargetSet.project_id == project.id))
    if targets is None or targets.status is not TargetStatus.APPROVED:
        raise Conflict("绩效目标尚未批复，不能批复预算（无目标、不预算）")
    blocker = exante_blocker(session, tenant, project)
    if blocker:
        raise Conflict(blocker)
    inputs.check_money(amount, "approved_amount", "批复金额", required=True)
    if amount < 0:
        raise ValidationFailed(fields={"approved_amount": "批复金额不能为负数"})
    if amount > project.requested_amount and not confirm_over_request:
        message = (f"批复金额 {wan_yuan(amount)} 高于申请金额 {wan_yuan(project.requested_amount)}；"
                   "如确需超过申请金额批复，请勾选确认（confirm_over_request）")
        raise ValidationFailed(message, fields={"confirm_over_request": message})
    if project.approved_amount == amount and project.stage is not Stage.TARGETS_APPROVED:
        raise Conflict(f"预算已按 {wan_yuan(amount)} 批复，无需重复批复")
    before = audit.snapshot(project, ["approved_amount", "stage"])
    project.approved_amount = amount
    if project.stage is Stage.TARGETS_APPROVED:
        project.stage = Stage.BUDGETED
    common.record(session, actor, "budget.approve", project, before, audit.snapshot(project, ["approved_amount", "stage"]))
    common.commit(session)
    common.emit(session, tenant, "budget.approved", project, actor, amount=amount)
    return project


def set_payment(session: Session, actor: User, tenant: Tenant, project: Project, suspended: bool, reason: str,
                version: int | None) -> Project:
    """Finance suspends payment for a project in serious deviation, or resumes it.

    A transition, not a setting: suspending a suspended payment (or resuming a running one) is refused, so a
    repeated or concurrent request leaves one change and one audit row.
    """
    policy.require_payment_manager(actor, tenant)
    if suspended and not reason.strip():
        raise ValidationFailed(fields={"reason": "暂停拨款须写明原因"})
    inputs.check_text(reason, "reason", "暂停原因", max_length=inputs.COMMENT_MAX_LENGTH)
    project = common.lock_version(session, project, version, "项目")
    if project.approved_amount is None:
        raise Conflict("预算尚未批复，没有可暂停的拨款")
    if project.payment_suspended == suspended:
        raise Conflict("该项目的拨款已暂停" if suspended else "该项目的拨款未暂停，无需恢复")
    before = audit.snapshot(project, ["payment_suspended", "suspension_reason"])
    project.payment_suspended = suspended
    project.suspension_reason = reason.strip() if suspended else ""
    common.record(session, actor, "payment.suspend" if suspended else "payment.resume", project, before,
                  audit.snapshot(project, ["payment_suspended", "suspension_reason"]))
    common.commit(session)
    common.emit(session, tenant, "payment.suspended" if suspended else "payment.resumed", project, actor, reason=reason)
    return project


def suspend_payments(session: Session, actor: Any, tenant: Tenant, reasons: dict[int, str]) -> list[int]:
    """Suspend the payment of many projects at once, each with its reason — what the daily scan does when
    monitoring warnings went unanswered. A fixed number of statements whatever their number; a project
    suspended meanwhile is left as it is. Commits (with whatever the session holds), then tells the plugins
    ``payment.suspended`` for each project it suspended, as :func:`set_payment` does. Returns their ids."""
    policy.require_payment_manager(actor, tenant)
    if not reasons:
        return []
    table = cast(sa.Table, Project.__table__)  # a declarative model's table, typed as any FromClause
    changed = list(session.scalars(
        sa.update(table)
        .where(table.c.id.in_(list(reasons)), table.c.tenant_id == tenant.id, table.c.payment_suspended.is_(False),
               table.c.approved_amount.is_not(None))
        .values(payment_suspended=True, version=table.c.version + 1,
                suspension_reason=sa.case(reasons, value=table.c.id, else_=table.c.suspension_reason))
        .returning(table.c.id)))
    audit.record_many(session, actor=actor, action="payment.suspend", object_type=Project.__tablename__,
                      tenant_id=tenant.id,
                      changes=[(project_id, {"payment_suspended": False},
                                {"payment_suspended": True, "suspension_reason": reasons[project_id]})
                               for project_id in changed])
    common.commit(session)
    if changed:
        suspended = session.scalars(sa.select(Project).where(Project.id.in_(changed))
                                    .options(selectinload(Project.department)).execution_options(populate_existing=True))
        common.emit_many(session, tenant, "payment.suspended", actor,
                         [(project, {"reason": reasons[project.id]}) for project in suspended])
    return sorted(changed)


# ---- Publication (公开) --------------------------------------------------------------------------------------


def publish(session: Session, actor: User, tenant: Tenant, project: Project, *, targets: bool = False,
            evaluation_id: int | None = None) -> Project:
    """谁组织评价、谁负责公开; a classified (涉密) project is never published."""
    common.require_finance(actor, tenant, "公开目标或评价报告")
    if project.classified:
        raise Conflict("涉密项目不能公开")
    common.lock(session, project)  # concurrent publications queue: the second finds it published
    now = utcnow()
    published: list[str] = []
    if targets:
        target_set = session.scalar(sa.select(TargetSet).where(TargetSet.project_id == project.id))
        if target_set is None or target_set.status is not TargetStatus.APPROVED:
            raise Conflict("只能公开已批复的绩效目标")
        target_set = common.lock(session, target_set)
        if target_set.published_at is None:
            target_set.published_at = now
            common.record(session, actor, "targets.publish", target_set)
            published.append("targets")
    if evaluation_id is not None:
        evaluation = session.get(Evaluation, evaluation_id)
        if evaluation is None or evaluation.project_id != project.id:
            raise ValidationFailed(fields={"evaluation_id": "该项目没有这份评价"})
        if evaluation.status is not EvaluationStatus.SUBMITTED:
            raise Conflict("评价尚未完成，不能公开")
        evaluation = common.lock(session, evaluation)
        if evaluation.published_at is None:
            evaluation.published_at = now
            common.record(session, actor, "evaluation.publish", evaluation)
            published.append("evaluation")
    if (targets or evaluation_id is not None) and not published:
        raise Conflict("所选内容已经公开，无需重复公开")
    if not targets and evaluation_id is None:
        raise ValidationFailed(fields={"targets": "请选择要公开的内容（绩效目标或评价报告）"})
    common.commit(session)
    common.emit(session, tenant, "published", project, actor, targets=targets, evaluation_id=evaluation_id)
    return project


def unpublish_evaluation(session: Session, actor: User, tenant: Tenant, evaluation: Evaluation, reason: str, *,
                         version: int | None) -> Evaluation:
    """Withdraw a published evaluation result from the public page (撤回公开), saying why.

    Whoever publishes withdraws: the tenant's finance staff. The evaluation keeps who withdrew it, when and
    why (the last withdrawal; each one is audited with its reason) and may be published again.
    """
    common.require_finance(actor, tenant, "撤回已公开的评价结果")
    if not (reason or "").strip():
        raise ValidationFailed("请写明撤回公开的原因", fields={"reason": "请写明撤回公开的原因"})
    inputs.check_text(reason, "reason", "撤回公开的原因", max_length=inputs.COMMENT_MAX_LENGTH)
    evaluation = common.lock_version(session, evaluation, version, "评价")
    if evaluation.published_at is None:
        raise Conflict("该评价结果尚未公开，无需撤回")
    evaluation.published_at = None
    evaluation.unpublished_at, evaluation.unpublished_by_id = utcnow(), actor.id
    evaluation.unpublish_reason = reason.strip()
    common.record(session, actor, "evaluation.unpublish", evaluation, {"published": True},
                  {"published": False, "unpublish_reason": evaluation.unpublish_reason})
    common.commit(session)
    common.emit(session, tenant, "unpublished", evaluation.project, actor, evaluation_id=evaluation.id,
                reason=evaluation.unpublish_reason)
    return evaluation


def project_history(session: Session, project: Project, limit: int = 300) -> list[AuditEvent]:
    """The audit events of a project and of every record hanging off it, newest first.

    The project page and the API's history endpoint both show this.
    """
    owned = [
        ("exante_assessments", sa.select(ExAnteAssessment.id).where(ExAnteAssessment.project_id == project.id)),
        ("target_sets", sa.select(TargetSet.id).where(TargetSet.project_id == project.id)),
        ("monitoring_reports", sa.select(MonitoringReport.id).where(MonitoringReport.project_id == project.id)),
        ("evaluations", sa.select(Evaluation.id).where(Evaluation.project_id == project.id)),
        ("rectification_notices", sa.select(RectificationNotice.id).where(RectificationNotice.project_id == project.id)),
        ("result_applications", sa.select(ResultApplication.id).where(ResultApplication.project_id == project.id)),
        ("expert_draws", sa.select(ExpertDraw.id).where(ExpertDraw.project_id == project.id)),
    ]
    conditions: list[Any] = [sa.and_(AuditEvent.object_type == "projects", AuditEvent.object_id == str(project.id))]
    for object_type, ids in owned:
        conditions.append(sa.and_(AuditEvent.object_type == object_type,
                                  AuditEvent.object_id.in_(sa.select(sa.cast(ids.subquery().c.id, sa.String)))))
    stmt = sa.select(AuditEvent).where(sa.or_(*conditions)).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    return list(session.scalars(stmt))
