"""Lifecycle pages: the project list, a project's page with one form per stage, the rectification ledger,
the agencies and the public page.

Thin adapters, like the API: parse the form (amounts are typed in 万元 on the pages and converted to yuan here),
call the same service function the API calls, then redirect to the project page at the stage's anchor with a
flash. A domain error re-renders the page with the service's Chinese message and the field errors next to
the fields, with the error's status (400, 403, 409). Only the forms the user may use are shown.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from jixiao import inputs, policy, units
from jixiao.accounts import service as accounts
from jixiao.accounts.models import Role
from jixiao.auth import current_tenant, require_login, takes_commissioned_writes
from jixiao.db import session
from jixiao.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jixiao.lifecycle import agencies as agency_library
from jixiao.lifecycle import (
    charts,
    common,
    continuation,
    dashboard,
    evaluations,
    experts,
    history,
    monitoring,
    overview,
    plans,
    projects,
    public,
    rectification,
    reports,
    results,
    scoring,
    targets,
    todo,
)
from jixiao.lifecycle.models import (
    LABELS,
    AgencyType,
    Conclusion,
    Direction,
    Evaluation,
    EvaluationKind,
    EvaluationPerformer,
    EvaluationStatus,
    FundSource,
    FundType,
    IndicatorNature,
    Light,
    NoticeStatus,
    Project,
    ProjectKind,
    QualitativeBand,
    RectificationNotice,
    SpendingModality,
    Stage,
    WarningResponse,
)
from jixiao.statistics.service import current_year
from jixiao.toolkit import NATIONAL_INDICATOR_FRAMEWORK

bp = Blueprint("lifecycle", __name__, template_folder="templates")

PER_PAGE = 50
BLANK_ROWS = 3  # blank indicator rows under the filled ones (saving the draft adds more)
MIN_ROWS = 8  # rows a new indicator table starts with
FINDING_ROWS = 3
STAGE_ORDER = list(Stage)
ROW_FIELDS = ("level1", "level2", "name", "direction", "value", "unit", "nature", "weight")
ROW_KEY = re.compile(r"^(level1|level2|name|direction|value|unit|nature|weight)-(\d+)$")
INDICATOR_ERROR = re.compile(r"^indicators\[(\d+)\]\.(\w+)$")


# ---- Formatting and parsing ---------------------------------------------------------------------------------


def plain(value: Decimal | int | None) -> str:
    """A number as typed into a form: no exponent, no trailing zeros."""
    return "" if value is None else format(Decimal(value).normalize(), "f")


def wan_input(value: Decimal | None) -> str:
    """Yuan as 万元 typed into a form: every digit, nothing rounded."""
    return "" if value is None else units.format_wan_exact(value)


def _number(form: MultiDict, name: str, errors: dict[str, str], label: str, *, required: bool = False,
            field: str | None = None, places: int | None = inputs.INDICATOR_VALUE_PLACES,
            integer_digits: int = inputs.INDICATOR_VALUE_INTEGER_DIGITS) -> Decimal | None:
    """A number typed into ``name``, kept exactly: beyond its column's places or digits it is refused
    (``places=None``: the caller checks it)."""
    text = (form.get(name) or "").strip().replace(",", "").replace("，", "")
    if not text:
        if required:
            errors[field or name] = _("请填写%(label)s", label=label)
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        errors[field or name] = _("%(label)s应为数字", label=label)
        return None
    if not number.is_finite():
        errors[field or name] = _("%(label)s应为数字", label=label)
        return None
    if places is None:
        return number
    problem = inputs.exact_number_problem(number, places=places, integer_digits=integer_digits, kind=label)
    if problem:
        errors[field or name] = problem
        return None
    return inputs.exact_number(number, places=places)


def _yuan(form: MultiDict, name: str, errors: dict[str, str], label: str, *, required: bool = False,
          field: str | None = None) -> Decimal | None:
    """An amount typed in 万元, as yuan: to the cent exactly (a fraction of a cent is refused, not rounded)."""
    number = _number(form, name, errors, label, required=required, field=field, places=None)
    if number is None:
        return None
    try:
        return inputs.check_money(number, field or name, label, scale=units.WAN)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        return None


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _date(form: MultiDict, name: str, errors: dict[str, str], label: str) -> date | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = _("%(label)s应为日期（年-月-日）", label=label)
        return None


def _check(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationFailed(fields=errors)


def _choice(value: str | None, enum_cls: type[enum.Enum]) -> str | None:
    return value if value in enum_cls._value2member_map_ else None


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"wan": units.format_wan, "plain": plain, "wan_input": wan_input, "label": lambda value: LABELS.get(str(value), value),
            "json_text": lambda value: json.dumps(value, ensure_ascii=False, default=str),
            "modality_label": _modality_label}


def _modality_label(code: str) -> str:
    member = SpendingModality._value2member_map_.get(code)
    return member.label if isinstance(member, SpendingModality) else code


# ---- The project list ---------------------------------------------------------------------------------------


def _filters(args: MultiDict) -> projects.ProjectFilters:
    year = _int(args.get("year"))
    return projects.ProjectFilters(
        year=year if year and 2000 <= year <= 2100 else None,
        department_code=(args.get("department") or "").strip() or None,
        stage=_choice(args.get("stage"), Stage),
        kind=_choice(args.get("kind"), ProjectKind),
        fund_type=_choice(args.get("fund_type"), FundType),
        grade=(args.get("grade") or "").strip() or None,
        light=_choice(args.get("light"), Light),
        q=(args.get("q") or "").strip()[:100] or None,
        modality=_modalities(args) or None,
        fund_source=_choice(args.get("fund_source"), FundSource),
    )


def _modalities(args: MultiDict) -> list[str]:
    """The modalities ticked (repeated ``modality``, or one comma-separated, as the page's links carry it);
    codes that are none are ignored, as the list's other filters ignore them."""
    said = [code.strip() for value in args.getlist("modality") for code in value.split(",")]
    return [m.value for m in SpendingModality if m.value in said]


def _filter_args(filters: projects.ProjectFilters) -> dict[str, Any]:
    values = {"year": filters.year, "department": filters.department_code, "stage": filters.stage,
              "kind": filters.kind, "fund_type": filters.fund_type, "grade": filters.grade, "light": filters.light,
              "q": filters.q, "modality": ",".join(filters.modality or []), "fund_source": filters.fund_source}
    return {k: v for k, v in values.items() if v}


def _charts(db: Session, tenant: Any, year: int) -> dict[str, Any]:
    """Counts per stage (as a funnel: how many reached each stage) and per latest light, for one year."""
    stage_counts, light_counts = projects.counts(db, current_user, tenant, year)
    by_stage = [(stage, stage_counts.get(stage.value, 0)) for stage in STAGE_ORDER]
    reached = [sum(n for _stage, n in by_stage[i:]) for i in range(len(by_stage))]
    widest = max(reached, default=0) or 1
    funnel = [{"stage": stage, "now": n, "reached": r, "percent": round(r * 100 / widest, 1)}
              for (stage, n), r in zip(by_stage, reached, strict=True)]
    by_light = [(light, light_counts.get(light.value, 0)) for light in (Light.RED, Light.YELLOW, Light.GREEN, Light.BLUE)]
    widest_light = max((n for _light, n in by_light), default=0) or 1
    lights = [{"light": light, "n": n, "percent": round(n * 100 / widest_light, 1)} for light, n in by_light]
    return {"year": year, "funnel": funnel, "lights": lights, "total": reached[0] if reached else 0}


def _creatable_departments(db: Session, departments: list[Any]) -> list[Any]:
    """Of the tenant's ``departments``, those the user may enter projects for."""
    if current_user.has_role(Role.FINANCE):
        return departments
    own = set(common.department_subtree_ids(db, current_user.department_id))
    return [d for d in departments if d.id in own]


def _render_list(failure: Failure | None = None) -> Any:
    db, tenant = session(), current_tenant()
    filters = _filters(request.args)
    page = max(_int(request.args.get("page")) or 1, 1)
    rows, total = projects.list_projects(db, current_user, tenant, filters, page, PER_PAGE)
    own = common.is_own_tenant(current_user, tenant)
    may_create = own and current_user.has_role(Role.FINANCE, Role.DEPARTMENT)
    this_year = current_year()
    bands = common.hooks(db, tenant).evaluation_grade_bands(kind="self") or []
    form = failure.form if failure else MultiDict()
    from jixiao.catalog import service as catalog

    # Where a catalog is in force for the year being entered, the category is one of its categories.
    category_choices = catalog.category_choices(db, tenant, _int(form.get("year")) or this_year) if may_create else []
    departments = accounts.list_departments(db, tenant)
    context = {
        "tenant": tenant, "rows": rows, "total": total, "page": page, "pages": max(math.ceil(total / PER_PAGE), 1),
        "filters": filters, "filter_args": _filter_args(filters), "own": own, "may_create": may_create,
        "departments": departments,
        "create_departments": _creatable_departments(db, departments) if may_create else [],
        "stages": STAGE_ORDER, "kinds": list(ProjectKind), "funds": list(FundType), "lights": list(Light),
        "modalities": list(SpendingModality), "fund_sources": list(FundSource),
        "grades": [b[0] for b in bands], "this_year": this_year,
        "charts": _charts(db, tenant, filters.year or this_year),
        "failure": failure, "errors": failure.fields if failure else {}, "form": form,
        "category_choices": category_choices,
    }
    return render_template("lifecycle/projects.html", **context), (failure.status if failure else 200)


@bp.route("/t/<tenant_code>/projects", methods=["GET", "POST"], endpoint="projects")
@require_login
def project_list() -> Any:
    """The projects the user may see, filtered and paginated; department staff and finance enter new ones."""
    if request.method == "GET":
        return _render_list()
    db, tenant, form = session(), current_tenant(), request.form
    errors: dict[str, str] = {}
    try:
        year = _int(form.get("year"))
        if year is None or not 2000 <= year <= 2100:
            errors["year"] = _("请填写预算年度（如 2026）")
        for name, label in (("code", _("项目编码")), ("name", _("项目名称"))):
            if not (form.get(name) or "").strip():
                errors[name] = _("请填写%(label)s", label=label)
        kind, fund = _choice(form.get("kind"), ProjectKind), _choice(form.get("fund_type"), FundType)
        if kind is None:
            errors["kind"] = _("请选择类型")
        if fund is None:
            errors["fund_type"] = _("请选择资金来源（预算类别）")
        amount = _yuan(form, "requested_amount", errors, _("申请金额"), required=True)
        continued = None
        if (form.get("continues_code") or "").strip() and year is not None:
            earlier = continuation.earlier_by_code(db, tenant, form["continues_code"], year)
            if earlier is None:
                errors["continues_code"] = _("本级 %(year)s 年以前没有编码为 %(code)s 的项目",
                                             year=year, code=form["continues_code"].strip())
            else:
                continued = earlier.id
        _check(errors)
        item = projects.create_project(db, current_user, tenant, {
            "code": form["code"].strip(), "name": form["name"].strip(), "year": year, "kind": kind,
            "fund_type": fund, "category": (form.get("category") or "").strip(),
            "department_code": form.get("department_code") or None, "is_new": form.get("is_new") == "on",
            "is_key": form.get("is_key") == "on", "classified": form.get("classified") == "on",
            "requested_amount": amount, "spending_modalities": form.getlist("spending_modalities"),
            "is_special_fund": form.get("is_special_fund") == "on", "fund_source": form.get("fund_source") or None,
            "continues_project_id": continued,
        })
    except (ValidationFailed, Conflict, Forbidden) as exc:
        db.rollback()
        return _render_list(Failure("create", "create", exc.message, exc.fields, form, exc.status))
    flash(_("已创建项目“%(name)s”，请填报绩效目标。", name=item.name), "success")
    return redirect(url_for("lifecycle.project", project_id=item.id, _anchor="targets"))


# ---- The project page ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Failure:
    """A form post the service refused: which form, the message, the field errors and what was typed."""

    key: str
    anchor: str
    message: str
    fields: dict[str, Any]
    form: MultiDict
    status: int


@dataclasses.dataclass
class IndicatorRow:
    level1: str = ""
    level2: str = ""
    name: str = ""
    direction: str = "ge"
    value: str = ""
    unit: str = ""
    nature: str = ""
    weight: str = ""

    @classmethod
    def of(cls, indicator: Any) -> IndicatorRow:
        qualitative = str(indicator.direction) == Direction.QUALITATIVE
        return cls(level1=indicator.level1, level2=indicator.level2, name=indicator.name,
                   direction=str(indicator.direction),
                   value=indicator.target_text if qualitative else plain(indicator.target_value),
                   unit=indicator.unit, nature=str(indicator.nature), weight=plain(indicator.weight))

    def blank(self) -> bool:
        return not any(getattr(self, f) for f in ROW_FIELDS if f not in ("direction", "nature"))


def _posted_rows(form: MultiDict) -> list[IndicatorRow]:
    """The indicator rows typed into the targets form, blank rows left out, in their order on the page."""
    indices = sorted({int(m.group(2)) for key in form if (m := ROW_KEY.match(key))})
    rows = [IndicatorRow(**{f: (form.get(f"{f}-{i}") or "").strip() for f in ROW_FIELDS}) for i in indices]
    return [row for row in rows if not row.blank()]


def _indicator_data(rows: list[IndicatorRow]) -> list[dict[str, Any]]:
    """The rows as the service takes them; numbers that are not numbers are named by row (1-based)."""
    errors: dict[str, str] = {}
    data = []
    for position, row in enumerate(rows, start=1):
        where = f"indicators[{position}]"
        qualitative = row.direction == Direction.QUALITATIVE
        value = None
        if not qualitative and row.value:
            try:
                value = Decimal(row.value.replace(",", ""))
            except InvalidOperation:
                errors[f"{where}.target_value"] = _("指标值应为数字；文字描述的指标请把方向选为“定性”")
        weight = None
        if row.weight:
            try:
                weight = Decimal(row.weight)
            except InvalidOperation:
                errors[f"{where}.weight"] = _("权重应为数字")
        # Texts go as typed: the service refuses, naming the cell, what is longer than its column.
        data.append({"level1": row.level1, "level2": row.level2, "name": row.name,
                     "direction": row.direction, "target_value": value,
                     "target_text": row.value if qualitative else "", "unit": row.unit,
                     "nature": row.nature or None, "weight": weight if weight is not None else Decimal(0)})
    _check(errors)
    return data


def _row_errors(fields: dict[str, Any]) -> tuple[dict[int, list[str]], set[tuple[int, str]]]:
    """Field errors like ``indicators[2].level2`` as messages per form row (0-based) and cells to mark."""
    by_row: dict[int, list[str]] = {}
    cells: set[tuple[int, str]] = set()
    for field, message in fields.items():
        match = INDICATOR_ERROR.match(field)
        if match:
            row = int(match.group(1)) - 1
            name = {"target_value": "value", "target_text": "value"}.get(match.group(2), match.group(2))
            by_row.setdefault(row, []).append(str(message))
            cells.add((row, name))
    return by_row, cells


def _project_context(db: Session, tenant: Any, item: Project, failure: Failure | None) -> dict[str, Any]:
    """The project's read model (``overview.project_overview``), and the state of a form that failed."""
    view = overview.project_overview(db, current_user, tenant, item)
    may = view.may
    if failure and failure.key == "targets":
        rows = _posted_rows(failure.form)
    else:
        rows = [IndicatorRow.of(i) for i in view.indicators]
    fields = failure.fields if failure and failure.key in ("targets", "targets_submit", "targets_review") else {}
    row_errors, cell_errors = _row_errors(fields)
    rows += [IndicatorRow() for _ in range(max(BLANK_ROWS, MIN_ROWS - len(rows)) if may.edit_targets else 0)]
    return {
        "catalog_items": view.catalog_items, "grade_actions": view.grade_actions,
        "may_generate": may.generate_documents,
        "evaluation_documents": view.evaluation_documents, "notice_documents": view.notice_documents,
        "tenant": tenant, "project": item, "own": may.own, "finance": may.finance, "unit": may.unit,
        "stages": STAGE_ORDER, "stage_index": STAGE_ORDER.index(item.stage),
        "exante": view.exante, "conclusions": list(Conclusion),
        "target_set": view.target_set, "indicators": view.indicators,
        "by_indicator": {i.id: i for i in view.indicators},
        "targets_editable": may.edit_targets, "rows": rows, "row_errors": row_errors, "cell_errors": cell_errors,
        "directions": list(Direction), "natures": list(IndicatorNature), "level2_suggestions": NATIONAL_INDICATOR_FRAMEWORK,
        "periods_owed": view.periods_owed, "reports": view.reports, "filed": view.filed,
        "next_period": _kept_month(view.periods_owed) or view.next_period, "may_monitor": may.monitor, "responses": list(WarningResponse),
        "evaluations": view.evaluations, "submittable": may.submit_evaluations, "evaluable": view.evaluable,
        "forms": view.forms, "may_start_self": may.start_self_evaluation, "agencies": view.agencies,
        "commission_kinds": [EvaluationKind.DEPARTMENT, EvaluationKind.FINANCE, EvaluationKind.THIRD_PARTY],
        "bands": list(QualitativeBand), "band_ranges": scoring.QUALITATIVE_BANDS, "finding_rows": FINDING_ROWS,
        "direction_symbols": {d.value: d.symbol for d in Direction},
        "score_target": evaluations.target_text, "score_actual": evaluations.actual_text,
        "notices": view.notices, "evidence": view.evidence, "to_notice": view.to_notice, "overdue": view.overdue,
        "removable": {f.id for n in view.notices for f in view.evidence.get(n.id, [])
                      if rectification.may_remove_evidence(db, current_user, tenant, n, f)},
        "default_days": view.default_rectification_days, "today": rectification.today(),
        "notice_open": (NoticeStatus.ISSUED, NoticeStatus.RETURNED), "notice_answered": NoticeStatus.ANSWERED,
        "notice_verified": NoticeStatus.VERIFIED,
        "graded": view.graded, "suggestions": view.suggestions, "actions": view.actions, "choices": view.choices,
        "decision_history": view.decision_history, "result_chain": view.result_chain,
        "applications": {a.evaluation_id: a for a in view.applications}, "application_list": view.applications,
        "history": history.describe(db, tenant, item, view.history),
        "failure": failure,
    }


def _kept_month(owed: list[int]) -> int | None:
    """The month just filed (``?month=`` on the redirect after saving), if the project owes it."""
    month = request.args.get("month", type=int)
    return month if month in owed else None


def _errors_for(failure: Failure | None, *keys: str) -> dict[str, Any]:
    return failure.fields if failure and failure.key in keys else {}


def _render_project(project_id: int, failure: Failure | None = None) -> Any:
    db, tenant = session(), current_tenant()
    item = common.get_project(db, current_user, tenant, project_id)
    context = _project_context(db, tenant, item, failure)

    def errors(*keys: str) -> dict[str, Any]:
        return _errors_for(failure, *keys)

    def value(key: str, name: str, default: Any = "") -> Any:
        """What the user typed into form ``key`` when it failed, else ``default``."""
        if failure and failure.key == key:
            return failure.form.get(name, "")
        return default

    context.update(errors=errors, value=value)
    return render_template("lifecycle/project.html", **context), (failure.status if failure else 200)


@bp.route("/t/<tenant_code>/projects/<int:project_id>", endpoint="project")
@require_login
def project_page(project_id: int) -> Any:
    """The project's page: its facts, then one section per stage (anchors: exante, targets, budget,
    monitoring, evaluations, rectification, results) and its history."""
    return _render_project(project_id)


def _act(project_id: int, key: str, anchor: str, action: Callable[[Session, Any, Project], str],
         keep: dict[str, Any] | None = None) -> Any:
    """Run one form's action: redirect to the section with a flash, or re-render with the service's answer.

    ``keep``, filled in by ``action``, rides along on the redirect as query arguments: what the page should
    show selected again after saving (the monitoring month just filed)."""
    db, tenant = session(), current_tenant()
    item = common.get_project(db, current_user, tenant, project_id)
    try:
        done = action(db, tenant, item)
    except (ValidationFailed, Conflict, Forbidden) as exc:
        db.rollback()
        return _render_project(project_id, Failure(key, anchor, exc.message, exc.fields, request.form.copy(),
                                                   exc.status))
    flash(done, "success")
    return redirect(url_for("lifecycle.project", project_id=project_id, _anchor=anchor, **(keep or {})))


def _evaluation_of(db: Session, tenant: Any, item: Project, evaluation_id: int) -> Evaluation:
    evaluation = evaluations.get_evaluation(db, current_user, tenant, evaluation_id)
    if evaluation.project_id != item.id:
        raise NotFound(_("该项目没有这份评价"))
    return evaluation


def _notice_of(db: Session, tenant: Any, item: Project, notice_id: int) -> RectificationNotice:
    notice = rectification.get_notice(db, current_user, tenant, notice_id)
    if notice.project_id != item.id:
        raise NotFound(_("该项目没有这份整改通知"))
    return notice


# ---- Ex-ante assessment ---------------------------------------------------------------------------------------


@bp.route("/t/<tenant_code>/projects/<int:project_id>/exante", methods=["POST"])
@require_login
@takes_commissioned_writes(experts.commissioned_review)
def exante(project_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        form = request.form
        errors: dict[str, str] = {}
        scores, comments = {}, {}
        for dimension in common.hooks(db, tenant).exante_dimensions() or []:
            key = dimension["key"]
            score = _number(form, f"score-{key}", errors, dimension["label"], field=f"scores.{key}",
                            places=inputs.SCORE_PLACES, integer_digits=inputs.SCORE_INTEGER_DIGITS)
            if score is not None:
                scores[key] = score
            if (form.get(f"comment-{key}") or "").strip():
                comments[key] = form[f"comment-{key}"].strip()
        cut = _yuan(form, "amount_cut", errors, _("核减金额"))
        conclusion = _choice(form.get("conclusion"), Conclusion)
        if conclusion is None:
            errors["conclusion"] = _("请选择评估结论")
        _check(errors)
        assessment = projects.record_exante(db, current_user, tenant, item, {
            "scores": scores, "comments": comments, "conclusion": conclusion, "amount_cut": cut or 0,
            "version": _int(form.get("version"))})
        return _("已保存事前绩效评估：总分 %(score)s，结论“%(conclusion)s”。", score=plain(assessment.total_score),
                 conclusion=assessment.conclusion.label)

    return _act(project_id, "exante", "exante", action)


# ---- Targets --------------------------------------------------------------------------------------------------


def _save_targets(db: Session, tenant: Any, item: Project) -> None:
    form = request.form
    targets.replace_targets(db, current_user, tenant, item, {
        "overall_target": form.get("overall_target", ""), "indicators": _indicator_data(_posted_rows(form)),
        "version": _int(form.get("version"))})


@bp.route("/t/<tenant_code>/projects/<int:project_id>/targets", methods=["POST"])
@require_login
def targets_save(project_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        _save_targets(db, tenant, item)
        return _("绩效目标已保存为草稿；填好后请点击“保存并提交审核”。")

    return _act(project_id, "targets", "targets", action)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/targets/submit", methods=["POST"])
@require_login
def targets_submit(project_id: int) -> Any:
    """Submit the targets for review; when posted from the edit form, what was typed is saved first."""
    if "overall_target" in request.form:
        db, tenant = session(), current_tenant()
        item = common.get_project(db, current_user, tenant, project_id)
        try:
            _save_targets(db, tenant, item)
        except (ValidationFailed, Conflict, Forbidden) as exc:
            db.rollback()
            return _render_project(project_id, Failure("targets", "targets", exc.message, exc.fields,
                                                       request.form.copy(), exc.status))

    def action(db: Session, tenant: Any, item: Project) -> str:
        targets.submit_targets(db, current_user, tenant, item)
        return _("绩效目标已提交财政部门审核。")

    return _act(project_id, "targets_submit", "targets", action)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/targets/review", methods=["POST"])
@require_login
def targets_review(project_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        approve = request.form.get("decision") == "approve"
        targets.review_targets(db, current_user, tenant, item, approve=approve,
                               comment=request.form.get("comment", ""))
        return _("绩效目标已批复。") if approve else _("绩效目标已退回单位修改。")

    return _act(project_id, "targets_review", "targets", action)


# ---- Budget and payment ---------------------------------------------------------------------------------------


@bp.route("/t/<tenant_code>/projects/<int:project_id>/continues", methods=["POST"])
@require_login
def continues(project_id: int) -> Any:
    """Link the project to the earlier one it continues (by that one's code), or remove the explicit link."""
    def action(db: Session, tenant: Any, item: Project) -> str:
        code = (request.form.get("continues_code") or "").strip()
        earlier = continuation.earlier_by_code(db, tenant, code, item.year) if code else None
        if code and earlier is None:
            raise ValidationFailed(fields={"continues_code": _(
                "本级 %(year)s 年以前没有编码为 %(code)s 的项目", year=item.year, code=code)})
        projects.update_project(db, current_user, tenant, item, {
            "continues_project_id": earlier.id if earlier else None, "version": _int(request.form.get("version"))})
        if earlier is None:
            return _("已取消延续关联；编码与上年相同的项目仍按编码自动关联。")
        return _("已关联为延续项目：%(code)s（%(year)s 年）。", code=earlier.code, year=earlier.year)

    return _act(project_id, "continues", "facts", action)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/budget", methods=["POST"])
@require_login
def budget(project_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        errors: dict[str, str] = {}
        amount = _yuan(request.form, "approved_amount", errors, _("批复金额"), required=True)
        _check(errors)
        assert amount is not None, "required: a missing or refused amount stopped at _check"
        projects.approve_budget(db, current_user, tenant, item, amount, _int(request.form.get("version")),
                                confirm_over_request=request.form.get("confirm_over_request") == "1")
        return _("预算已批复：%(amount)s 万元。", amount=units.format_wan(amount))

    return _act(project_id, "budget", "budget", action)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/payment", methods=["POST"])
@require_login
def payment(project_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        suspended = request.form.get("suspended") == "1"
        projects.set_payment(db, current_user, tenant, item, suspended, request.form.get("reason", ""),
                             _int(request.form.get("version")))
        return _("已暂停拨款。") if suspended else _("已恢复拨款。")

    return _act(project_id, "payment", "budget", action)


# ---- Monitoring -----------------------------------------------------------------------------------------------


@bp.route("/t/<tenant_code>/projects/<int:project_id>/monitoring", methods=["POST"])
@require_login
def monitoring_report(project_id: int) -> Any:
    keep: dict[str, Any] = {}

    def action(db: Session, tenant: Any, item: Project) -> str:
        form = request.form
        errors: dict[str, str] = {}
        period = _int(form.get("period"))
        if period is None:
            errors["period"] = _("请选择监控月份")
        executed = _yuan(form, "executed_amount", errors, _("累计执行数"), required=True)
        values = []
        target_set = targets.targets_for(db, item)
        for indicator in target_set.indicators if target_set else []:
            entry: dict[str, Any] = {"indicator_id": indicator.id, "note": (form.get(f"note-{indicator.id}") or "").strip()}
            if indicator.direction is Direction.QUALITATIVE:
                entry["band"] = _choice(form.get(f"band-{indicator.id}"), QualitativeBand)
            else:
                entry["actual_value"] = _number(form, f"actual-{indicator.id}", errors, _("实际完成值"),
                                                field=f"values.{indicator.id}")
            values.append(entry)
        _check(errors)
        # A month already filed is corrected: the page carries each filed report's version (version-<month>).
        report = monitoring.submit_report(db, current_user, tenant, item, {
            "period": period, "executed_amount": executed, "values": values,
            "cause": form.get("cause", ""), "measure": form.get("measure", ""),
            "version": _int(form.get(f"version-{period}"))})
        keep["month"] = report.period  # the form offers this month again, not the first one due
        return _("已报送 %(period)s 月绩效监控：执行率 %(rate)s%%，%(light)s。", period=report.period,
                 rate=report.execution_rate, light=report.light.label)

    return _act(project_id, "monitoring", "monitoring", action, keep)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/monitoring/<int:period>/response", methods=["POST"])
@require_login
def monitoring_response(project_id: int, period: int) -> Any:
    """The unit answers a warning that asks for a decision (继续执行 / 调剂 / 取消)."""
    def action(db: Session, tenant: Any, item: Project) -> str:
        report = monitoring.respond(db, current_user, tenant, item, period, request.form.get("choice", ""),
                                    request.form.get("note", ""))
        assert report.response is not None, "respond() records the answer or refuses"
        return _("已回应 %(period)s 月监控预警：%(choice)s。", period=period, choice=report.response.label)

    return _act(project_id, f"response-{period}", "monitoring", action)


# ---- Evaluations ----------------------------------------------------------------------------------------------


@bp.route("/t/<tenant_code>/projects/<int:project_id>/evaluations", methods=["POST"])
@require_login
def evaluation_create(project_id: int) -> Any:
    """The unit opens its self-evaluation (kind ``self``); finance commissions any other kind."""
    def action(db: Session, tenant: Any, item: Project) -> str:
        kind = _choice(request.form.get("kind"), EvaluationKind)
        if kind is None:
            raise ValidationFailed(fields={"kind": _("请选择评价方式")})
        if kind == EvaluationKind.SELF:
            evaluations.start_self_evaluation(db, current_user, tenant, item)
            return _("已开展单位自评，请填写绩效自评表。")
        evaluation = evaluations.assign(db, current_user, tenant, item, kind, _int(request.form.get("agency_id")))
        return _("已安排%(kind)s。", kind=evaluation.kind.label)

    return _act(project_id, "evaluation_create", "evaluations", action)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/evaluations/<int:evaluation_id>/submit", methods=["POST"])
@require_login
def evaluation_submit(project_id: int, evaluation_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        evaluation = _evaluation_of(db, tenant, item, evaluation_id)
        form = request.form
        errors: dict[str, str] = {}
        executed = _yuan(form, "executed_amount", errors, _("全年执行数"))
        scores = []
        for row in evaluations.table_of(db, tenant, evaluation):
            where, key = f"scores.{row.key}", row.key.replace(":", "-")
            entry: dict[str, Any] = {"note": (form.get(f"note-{key}") or "").strip()}
            if row.indicator is not None:
                entry["indicator_id"] = row.indicator.id
                direction = str(row.indicator.direction)
            else:
                form_indicator = row.form_indicator
                assert form_indicator is not None, "a form row scores a target indicator or a form indicator"
                entry["form_code"] = form_indicator.code
                direction = form_indicator.direction
                if form_indicator.scored_by:
                    scores.append(entry)
                    continue
            if direction == Direction.QUALITATIVE:
                entry["band"] = _choice(form.get(f"band-{key}"), QualitativeBand)
                entry["band_fraction"] = _number(form, f"fraction-{key}", errors, _("得分比例"), field=where)
            else:
                entry["actual_value"] = _number(form, f"actual-{key}", errors, _("实际完成值"), field=where)
            scores.append(entry)
        findings = [{"problem": (form.get(f"problem-{n}") or "").strip(),
                     "suggestion": (form.get(f"suggestion-{n}") or "").strip()} for n in range(FINDING_ROWS + 5)]
        _check(errors)
        done = evaluations.submit(db, current_user, tenant, evaluation, {
            "executed_amount": executed, "scores": scores, "summary": form.get("summary", ""),
            "findings": [f for f in findings if f["problem"]], "internal_comment": form.get("internal_comment", ""),
            "version": _int(form.get("version"))})
        return _("已提交%(kind)s：总分 %(score)s，等级“%(grade)s”。", kind=done.kind.label, score=done.total_score,
                 grade=done.grade)

    return _act(project_id, f"evaluation-{evaluation_id}", "evaluations", action)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/evaluations/<int:evaluation_id>/quality", methods=["POST"])
@require_login
def evaluation_quality(project_id: int, evaluation_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        evaluation = _evaluation_of(db, tenant, item, evaluation_id)
        errors: dict[str, str] = {}
        score = _number(request.form, "score", errors, _("质量得分"), required=True,
                        places=inputs.SCORE_PLACES, integer_digits=4)
        _check(errors)
        assert score is not None, "required: a missing or refused score stopped at _check"
        evaluations.score_quality(db, current_user, tenant, evaluation, score, request.form.get("comment", ""),
                                  version=_int(request.form.get("version")))
        return _("已评定第三方机构工作质量：%(score)s 分。", score=plain(score))

    return _act(project_id, f"quality-{evaluation_id}", "evaluations", action)


# ---- Rectification --------------------------------------------------------------------------------------------


@bp.route("/t/<tenant_code>/projects/<int:project_id>/rectifications", methods=["POST"])
@require_login
def rectification_issue(project_id: int) -> Any:
    evaluation_id = _int(request.form.get("evaluation_id")) or 0

    def action(db: Session, tenant: Any, item: Project) -> str:
        evaluation = _evaluation_of(db, tenant, item, evaluation_id)
        errors: dict[str, str] = {}
        deadline = _date(request.form, "deadline", errors, _("整改期限"))
        _check(errors)
        problems = [line.strip() for line in (request.form.get("problems") or "").splitlines() if line.strip()]
        notice = rectification.issue(db, current_user, tenant, evaluation.id, problems, deadline)
        return _("已下达整改通知：%(n)s 个问题，期限 %(deadline)s。", n=len(notice.problems), deadline=notice.deadline)

    return _act(project_id, f"issue-{evaluation_id}", "rectification", action)


@bp.route("/t/<tenant_code>/evaluations/<int:evaluation_id>/report", methods=["POST"], endpoint="evaluation_report")
@require_login
def evaluation_report(evaluation_id: int) -> Any:
    job = reports.request_evaluation_report(session(), current_user, current_tenant(), evaluation_id)
    return redirect(url_for("jobs.job", job_id=job.id))


@bp.route("/t/<tenant_code>/rectifications/<int:notice_id>/notice-pdf", methods=["POST"],
          endpoint="rectification_notice")
@require_login
def rectification_notice(notice_id: int) -> Any:
    job = reports.request_rectification_notice(session(), current_user, current_tenant(), notice_id)
    return redirect(url_for("jobs.job", job_id=job.id))


@bp.route("/t/<tenant_code>/projects/<int:project_id>/rectifications/<int:notice_id>/answer", methods=["POST"])
@require_login
def rectification_answer(project_id: int, notice_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        notice = _notice_of(db, tenant, item, notice_id)
        rectification.answer(db, current_user, tenant, notice, request.form.get("measures", ""),
                             _int(request.form.get("version")))
        return _("已反馈整改情况，等待财政核验。")

    return _act(project_id, f"answer-{notice_id}", "rectification", action)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/rectifications/<int:notice_id>/files", methods=["POST"])
@require_login
def rectification_file(project_id: int, notice_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        notice = _notice_of(db, tenant, item, notice_id)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationFailed(fields={"file": _("请选择要上传的文件")})
        evidence = rectification.store_evidence(db, current_user, tenant, notice, upload.filename, upload.stream,
                                                upload.mimetype or "")
        return _("已上传佐证材料“%(name)s”。", name=evidence.filename)

    return _act(project_id, f"files-{notice_id}", "rectification", action)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/rectifications/<int:notice_id>/files/<int:file_id>/delete",
          methods=["POST"])
@require_login
def rectification_file_delete(project_id: int, notice_id: int, file_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        notice = _notice_of(db, tenant, item, notice_id)
        evidence = rectification.get_evidence(db, current_user, tenant, notice, file_id)
        filename = evidence.filename
        rectification.remove_evidence(db, current_user, tenant, notice, evidence)
        return _("已删除佐证材料“%(name)s”。", name=filename)

    return _act(project_id, f"files-{notice_id}", "rectification", action)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/rectifications/<int:notice_id>/verify", methods=["POST"])
@require_login
def rectification_verify(project_id: int, notice_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        notice = _notice_of(db, tenant, item, notice_id)
        accept = request.form.get("decision") == "accept"
        rectification.verify(db, current_user, tenant, notice, accept=accept, reason=request.form.get("reason", ""),
                             version=_int(request.form.get("version")))
        return _("整改已核验销号。") if accept else _("整改情况已退回单位。")

    return _act(project_id, f"verify-{notice_id}", "rectification", action)


# ---- Results and publication ----------------------------------------------------------------------------------


@bp.route("/t/<tenant_code>/projects/<int:project_id>/results", methods=["POST"])
@require_login
def results_decide(project_id: int) -> Any:
    evaluation_id = _int(request.form.get("evaluation_id")) or 0

    def action(db: Session, tenant: Any, item: Project) -> str:
        evaluation = _evaluation_of(db, tenant, item, evaluation_id)
        form = request.form
        errors: dict[str, str] = {}
        change = _yuan(form, "amount_change", errors, _("下年度预算调整额"))
        idle = _yuan(form, "idle_recovered", errors, _("收回闲置资金"))
        _check(errors)
        application = results.decide(db, current_user, tenant, evaluation, {
            "decision": form.get("decision") or None, "decision_note": form.get("decision_note", ""),
            "amount_change": change or 0, "idle_recovered": idle or 0, "version": _int(form.get("version"))})
        return _("已记录评价结果应用（%(year)s 年预算）。", year=application.next_year)

    return _act(project_id, f"results-{evaluation_id}", "results", action)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/publish", methods=["POST"])
@require_login
def publish(project_id: int) -> Any:
    publish_targets = request.form.get("targets") == "1"
    evaluation_id = _int(request.form.get("evaluation_id"))
    anchor = "targets" if publish_targets else "evaluations"

    def action(db: Session, tenant: Any, item: Project) -> str:
        projects.publish(db, current_user, tenant, item, targets=publish_targets, evaluation_id=evaluation_id)
        return _("已向社会公开。")

    key = "publish-targets" if publish_targets else f"publish-{evaluation_id}"
    return _act(project_id, key, anchor, action)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/evaluations/<int:evaluation_id>/unpublish", methods=["POST"])
@require_login
def unpublish(project_id: int, evaluation_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        evaluation = _evaluation_of(db, tenant, item, evaluation_id)
        projects.unpublish_evaluation(db, current_user, tenant, evaluation, request.form.get("reason", ""),
                                      version=_int(request.form.get("version")))
        return _("已撤回公开：公开页面不再显示这份评价结果。")

    return _act(project_id, f"unpublish-{evaluation_id}", "evaluations", action)


# ---- The ledger, agencies -------------------------------------------------------------------------------------


def _page() -> int:
    return max(_int(request.args.get("page")) or 1, 1)


@bp.route("/t/<tenant_code>/rectifications", endpoint="ledger")
@require_login
def ledger_page() -> Any:
    """整改台账: every notice the user may see, a page at a time, overdue ones highlighted."""
    db, tenant = session(), current_tenant()
    year = _int(request.args.get("year"))
    status = _choice(request.args.get("status"), NoticeStatus)
    overdue_only = request.args.get("overdue") in ("1", "on", "true")
    found = rectification.ledger_page(db, current_user, tenant, page=_page(), per_page=PER_PAGE, year=year,
                                      status=status, overdue=True if overdue_only else None)
    overdue = {n.id for n in found.items if rectification.is_overdue(n)}
    overdue_total = found.total if overdue_only else rectification.overdue_count(db, current_user, tenant, year=year,
                                                                                 status=status)
    return render_template("lifecycle/ledger.html", tenant=tenant, notices=found.items, found=found,
                           overdue=overdue, overdue_total=overdue_total, year=year, status=status,
                           overdue_only=overdue_only, statuses=list(NoticeStatus), today=rectification.today())


@bp.route("/t/<tenant_code>/evaluations", endpoint="evaluations")
@require_login
def evaluation_list() -> Any:
    """绩效评价: the evaluations the user may see (an evaluator: their agency's), a page at a time."""
    db, tenant = session(), current_tenant()
    year = _int(request.args.get("year"))
    kind = _choice(request.args.get("kind"), EvaluationKind)
    status = _choice(request.args.get("status"), EvaluationStatus)
    found = evaluations.evaluation_page(db, current_user, tenant, page=_page(), per_page=PER_PAGE, year=year,
                                        kind=kind, status=status)
    return render_template("lifecycle/evaluations.html", tenant=tenant, found=found, year=year, kind=kind,
                           status=status, kinds=list(EvaluationKind), statuses=list(EvaluationStatus),
                           may_read_samples=policy.may_read_samples(current_user))


@bp.route("/t/<tenant_code>/evaluations/samples", methods=["GET", "POST"], endpoint="samples")
@require_login
def samples_page() -> Any:
    """抽评: finance draws the year's re-evaluation sample and sees every draw with its seed and projects."""
    db, tenant = session(), current_tenant()
    policy.require_sample_reader(current_user)
    failure = None
    if request.method == "POST":
        form = request.form
        errors: dict[str, str] = {}
        year = _int(form.get("year"))
        if year is None:
            errors["year"] = _("请填写预算年度（如 %(year)s）", year=current_year())
        seed_text = (form.get("seed") or "").strip()
        seed = _int(seed_text)
        if seed_text and (seed is None or seed >= 2**63):
            errors["seed"] = _("随机种子应为非负整数；留空则由系统随机生成")
        try:
            _check(errors)
            assert year is not None
            draw = evaluations.draw_sample(db, current_user, tenant, year, seed, form.get("kind") or "finance",
                                           _int(form.get("agency_id")))
        except (ValidationFailed, Conflict, Forbidden) as exc:
            db.rollback()
            failure = Failure("sample", "", exc.message, exc.fields, form.copy(), exc.status)
        else:
            flash(_("已抽样（随机种子 %(seed)s）：%(summary)s", seed=draw.seed, summary=draw.summary), "success")
            return redirect(url_for("lifecycle.samples", year=draw.year, _anchor=f"draw-{draw.id}"))
    year = _int(request.args.get("year"))
    return render_template(
        "lifecycle/samples.html", tenant=tenant, year=year, draws=evaluations.sample_draw_views(db, current_user, tenant, year),
        rule=evaluations.sample_rule(db, tenant), may_draw=policy.may_draw_sample(current_user, tenant),
        kinds=[EvaluationKind.FINANCE, EvaluationKind.THIRD_PARTY, EvaluationKind.DEPARTMENT],
        agencies=[a for a in evaluations.list_agencies(db, tenant) if a.active], this_year=current_year(),
        failure=failure, errors=failure.fields if failure else {},
        form=failure.form if failure else MultiDict()), (failure.status if failure else 200)


@bp.route("/t/<tenant_code>/warnings", endpoint="warnings")
@require_login
def warnings_page() -> Any:
    """预警项目: the red and yellow projects of a year by department, with what the unit and finance did."""
    db, tenant = session(), current_tenant()
    year = inputs.check_year(request.args.get("year")) or units.local_today().year
    departments = dashboard.early_warnings(db, current_user, tenant, year)
    return render_template("lifecycle/warnings.html", tenant=tenant, year=year, departments=departments,
                           own=common.is_finance(current_user, tenant), chart=charts.warnings_chart(departments),
                           percent=units.percent,
                           total=sum(len(d["projects"]) for d in departments))


@bp.route("/t/<tenant_code>/todo", endpoint="todo")
@require_login
def todo_list() -> Any:
    """我的待办: the user's whole to-do list (the home page shows its first items), a page at a time."""
    tenant = current_tenant()
    found = todo.todo_page(session(), current_user, tenant, page=_page(), per_page=PER_PAGE)
    return render_template("lifecycle/todo.html", tenant=tenant, found=found,
                           own=common.is_own_tenant(current_user, tenant), source_limit=todo.SOURCE_LIMIT)


@bp.route("/t/<tenant_code>/agencies", methods=["GET", "POST"], endpoint="agencies")
@require_login
def agencies_page() -> Any:
    """第三方机构库: the agencies with their type, the year's quality result and verdict, and whether each may be
    commissioned; finance registers new ones."""
    db, tenant = session(), current_tenant()
    if request.method == "POST":
        return _agency_action("agency", lambda: evaluations.create_agency(
            db, current_user, tenant, request.form.get("name", ""), request.form.get("contact", ""),
            request.form.get("agency_type") or AgencyType.OTHER.value),
            lambda agency: _("已登记第三方机构“%(name)s”。", name=agency.name))
    return _agencies_view(None)


@bp.route("/t/<tenant_code>/agencies/<int:agency_id>", methods=["POST"], endpoint="agency_update")
@require_login
def agency_update(agency_id: int) -> Any:
    db, tenant = session(), current_tenant()
    agency = agency_library.get_agency(db, tenant, agency_id)
    return _agency_action(f"agency-{agency_id}", lambda: agency_library.update_agency(
        db, current_user, tenant, agency, {"agency_type": request.form.get("agency_type") or None,
                                           "contact": request.form.get("contact")},
        _int(request.form.get("version"))), lambda done: _("已修改第三方机构“%(name)s”。", name=done.name))


@bp.route("/t/<tenant_code>/agencies/<int:agency_id>/bar", methods=["POST"], endpoint="agency_bar")
@require_login
def agency_bar(agency_id: int) -> Any:
    db, tenant = session(), current_tenant()
    agency = agency_library.get_agency(db, tenant, agency_id)
    barring = request.form.get("action") != "unbar"
    change = agency_library.bar_agency if barring else agency_library.unbar_agency
    return _agency_action(f"bar-{agency_id}", lambda: change(
        db, current_user, tenant, agency, request.form.get("reason", ""), _int(request.form.get("version"))),
        lambda done: _("已暂停委托“%(name)s”。", name=done.name) if barring
        else _("已恢复委托“%(name)s”。", name=done.name))


def _agency_action(key: str, act: Callable[[], Any], said: Callable[[Any], str]) -> Any:
    db = session()
    try:
        done = act()
    except (ValidationFailed, Conflict, Forbidden) as exc:
        db.rollback()
        return _agencies_view(Failure(key, "", exc.message, exc.fields, request.form.copy(), exc.status))
    flash(said(done), "success")
    return redirect(url_for("lifecycle.agencies", year=_int(request.form.get("year")) or None))


def _agencies_view(failure: Failure | None) -> Any:
    db, tenant = session(), current_tenant()
    year = _int(request.values.get("year")) or current_year()
    return render_template("lifecycle/agencies.html", tenant=tenant, year=year,
                           entries=agency_library.library(db, tenant, year), agency_types=list(AgencyType),
                           may_register=common.is_finance(current_user, tenant), failure=failure,
                           errors=failure.fields if failure else {},
                           form=failure.form if failure else MultiDict()), (failure.status if failure else 200)


@bp.route("/t/<tenant_code>/evaluation-plans", methods=["GET", "POST"], endpoint="evaluation_plans")
@require_login
def evaluation_plans_page() -> Any:
    """重点评价计划: the year's plan as a table of project kinds by performers; finance writes it whole."""
    db, tenant = session(), current_tenant()
    year = _int(request.values.get("year")) or current_year()
    failure, cell_errors = None, {}
    if request.method == "POST":
        cells = [(kind.value, performer.value, (request.form.get(f"count-{kind.value}-{performer.value}") or "").strip())
                 for kind in ProjectKind for performer in EvaluationPerformer]
        given = [cell for cell in cells if cell[2] not in ("", "0")]
        try:
            plans.save_plan(db, current_user, tenant, year, {
                "lines": [{"project_kind": k, "performer": p, "planned_count": n} for k, p, n in given],
                "note": request.form.get("note", ""), "version": _int(request.form.get("version"))})
        except (ValidationFailed, Conflict, Forbidden) as exc:
            db.rollback()
            failure = Failure("plan", "", exc.message, exc.fields, request.form.copy(), exc.status)
            cell_errors = {f"{k}-{p}": exc.fields.get(f"lines.{number}.planned_count") or exc.fields.get(f"lines.{number}")
                           for number, (k, p, _n) in enumerate(given, start=1)}
        else:
            flash(_("已保存 %(year)s 年度重点评价计划。", year=year), "success")
            return redirect(url_for("lifecycle.evaluation_plans", year=year))
    plans.require_plan_reader(current_user, tenant)
    plan = plans.find_plan(db, tenant, year)
    planned = {f"{line.project_kind.value}-{line.performer.value}": line.planned_count
               for line in (plan.lines if plan else [])}
    return render_template("lifecycle/evaluation_plans.html", tenant=tenant, year=year, plan=plan, planned=planned,
                           kinds=list(ProjectKind), performers=list(EvaluationPerformer),
                           may_edit=common.is_finance(current_user, tenant), failure=failure,
                           cell_errors=cell_errors, form=failure.form if failure else MultiDict()), \
        (failure.status if failure else 200)


# ---- Public (no login) ----------------------------------------------------------------------------------------


@bp.route("/public/<public_code>/", endpoint="public")
def public_page(public_code: str) -> Any:
    """What a bureau has published (公开): approved targets and evaluation results, nothing internal."""
    db = session()
    tenant = public.public_tenant(db, public_code)
    year = _int(request.args.get("year"))
    return render_template("lifecycle/public.html", tenant=tenant, year=year,
                           published_targets=public.published_targets(db, tenant, year),
                           published_evaluations=public.published_evaluations(db, tenant, year))


# ---- The expert pool (专家库) ----------------------------------------------------------------------------------


def _words(text: str | None) -> list[str]:
    """Words typed into one box, separated by commas, 、 or spaces."""
    return [w for w in re.split(r"[,，、;；\s]+", text or "") if w]


def _numbers(text: str | None, field: str, label: str, errors: dict[str, str]) -> list[int]:
    words = _words(text)
    if any(not w.isdigit() for w in words):
        errors[field] = _("%(label)s应为编号，多个以逗号分隔", label=label)
        return []
    return [int(w) for w in words]


def _expert_form_data(form: MultiDict) -> dict[str, Any]:
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "name": (form.get("name") or "").strip(), "organisation": (form.get("organisation") or "").strip(),
        "expertise": _words(form.get("expertise")),
        "conflict_department_ids": [int(v) for v in form.getlist("conflict_department_ids") if v.isdigit()],
        "conflict_project_ids": _numbers(form.get("conflict_project_ids"), "conflict_project_ids",
                                         _("回避的项目编号"), errors),
        "user_id": _int(form.get("user_id")),
    }
    _check(errors)
    return data


@bp.route("/t/<tenant_code>/experts", methods=["GET", "POST"], endpoint="experts")
@require_login
def experts_page() -> Any:
    """专家库: the experts the tenant may draw from (its own and its ancestors'); finance and administrators
    register new ones and take their own out of the pool."""
    db, tenant = session(), current_tenant()
    failure = None
    if request.method == "POST":
        try:
            expert = experts.create_expert(db, current_user, tenant, _expert_form_data(request.form))
        except (ValidationFailed, Conflict, Forbidden) as exc:
            db.rollback()
            failure = Failure("expert", "register", exc.message, exc.fields, request.form.copy(), exc.status)
        else:
            flash(_("已将“%(name)s”登记入专家库。", name=expert.name), "success")
            return redirect(url_for("lifecycle.experts"))
    pool = experts.list_experts(db, current_user, tenant)
    may_keep = policy.may_keep_expert_pool(current_user, tenant)
    return render_template(
        "lifecycle/experts.html", tenant=tenant, pool=pool, kept_by=experts.keepers(db, tenant), may_keep=may_keep,
        departments={d.id: d for d in accounts.list_departments(db, tenant)},
        logins=experts.expert_logins(db, tenant) if may_keep else [], failure=failure,
        errors=failure.fields if failure else {}, form=failure.form if failure else MultiDict(),
    ), (failure.status if failure else 200)


@bp.route("/t/<tenant_code>/experts/<int:expert_id>/active", methods=["POST"], endpoint="expert_active")
@require_login
def expert_active(expert_id: int) -> Any:
    """Take an expert of the own pool out of it, or back in (with the version read)."""
    db, tenant = session(), current_tenant()
    expert = experts.get_own_expert(db, current_user, tenant, expert_id)
    try:
        expert = experts.update_expert(db, current_user, tenant, expert, {
            "active": request.form.get("active") == "1", "version": _int(request.form.get("version"))})
    except (ValidationFailed, Conflict, Forbidden) as exc:
        db.rollback()
        flash(exc.message, "error")
    else:
        flash(_("“%(name)s”已%(state)s。", name=expert.name, state=_("恢复在库") if expert.active else _("停用")),
              "success")
    return redirect(url_for("lifecycle.experts"))


@bp.route("/t/<tenant_code>/projects/<int:project_id>/expert-draws", methods=["POST"], endpoint="expert_draw")
@require_login
def expert_draw(project_id: int) -> Any:
    def action(db: Session, tenant: Any, item: Project) -> str:
        form = request.form
        errors: dict[str, str] = {}
        due = _date(form, "due", errors, _("评审截止日期"))
        _check(errors)
        draw = experts.draw_reviewers(db, current_user, tenant, item, {
            "field": (form.get("field") or "").strip(), "count": (form.get("count") or "").strip() or None,
            "seed": (form.get("seed") or "").strip() or None, "due": due})
        return _("已抽取 %(n)s 名评审专家（随机种子 %(seed)s）。", n=len(draw.drawn_ids), seed=draw.seed)

    return _act(project_id, "expert_draw", "exante", action)
