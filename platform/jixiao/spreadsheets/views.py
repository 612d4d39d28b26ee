"""Spreadsheets pages: a project's Excel panel (download the forms, upload them filled), the project list
import, and "导出 Excel" links for the list pages.

Thin adapters over the same services as the API. A rejected upload re-renders the page with the message in
Chinese, the first problems (行号 | 列 | 问题) and a link to the error report, with the error's status.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from jixiao.jobs import service as jobs
from jixiao.lifecycle import common, monitoring
from jixiao.spreadsheets import bulk, export, importer, job_kinds, steps, transfer, xlsx
from jixiao.spreadsheets import templates_xlsx as forms
from jixiao.statistics.schemas import LeagueArgs

bp = Blueprint("spreadsheets", __name__, template_folder="templates")

ANCHORS = {forms.TARGETS: "targets", forms.MONITORING: "monitoring", forms.SELF_EVALUATION: "evaluations"}
DESCRIPTIONS = {
    forms.TARGETS: "项目名称、主管部门、资金来源和金额、年度总体目标，以及指标表（一级指标 | 二级指标 | 三级指标 | 指标方向 | "
                   "指标值 | 计量单位 | 权重）。导入后替换本项目的全部指标，目标须为“填报中”或“已退回”。",
    forms.MONITORING: "双监控：年初预算、调整数、调整后预算、执行数、执行率；各指标的年度指标值、1-N月实际完成值、"
                      "预计全年完成情况、偏差原因和纠偏措施。监控结果（红黄绿蓝灯）由平台计算。",
    forms.SELF_EVALUATION: "预算执行情况（分值 10）、年度总体目标与实际完成情况、各指标的实际完成值、分值、得分、偏差原因分析及"
                           "改进措施。产出 50、效益 30、满意度 10，总分和自评等级由平台计算，导入即提交自评。",
}


@dataclasses.dataclass
class Failure:
    key: str
    message: str
    rows: list[dict[str, Any]]
    error_count: int
    report_url: str | None
    status: int


def _failure(key: str, exc: DomainError) -> Failure:
    fields = exc.fields or {}
    rows = fields.get("rows") if isinstance(fields.get("rows"), list) else [
        {"row": None, "column": "", "message": str(v)} for k, v in fields.items() if k != "file"]
    return Failure(key, exc.message, rows or [], int(fields.get("error_count") or len(rows or [])),
                   fields.get("report_url"), exc.status)


def _refusal(check: Any) -> str | None:
    """Why the user cannot upload this form now (None when they can)."""
    try:
        check()
    except Forbidden:
        return "forbidden"
    except (Conflict, ValidationFailed) as exc:
        return exc.message
    return None


# ---- A project's Excel panel ------------------------------------------------------------------------------


def _render_panel(project_id: int, failure: Failure | None = None) -> Any:
    db, tenant = session(), current_tenant()
    project = common.get_project(db, current_user, tenant, project_id)
    own = common.is_own_tenant(current_user, tenant)
    cards = []
    for kind, label in forms.KINDS.items():
        precheck = importer.PROJECT_KINDS[kind][0]
        refusal = _refusal(lambda precheck=precheck: precheck(db, current_user, project)) if own else "forbidden"
        cards.append({"kind": kind, "label": label, "title": forms.TITLES[kind], "description": DESCRIPTIONS[kind],
                      "refusal": refusal, "anchor": ANCHORS[kind],
                      "download": url_for("spreadsheets_api.ProjectTemplate", tenant_code=tenant.code,
                                          project_id=project.id, kind=kind),
                      "failure": failure if failure and failure.key == kind else None})
    owed = monitoring.periods_owed(db, tenant, project)
    try:
        default = forms.default_period(db, tenant, project)
    except ValidationFailed:
        default = None
    context = {"tenant": tenant, "project": project, "cards": cards, "owed": owed, "default_period": default,
               "own": own, "failure": failure}
    return render_template("spreadsheets/excel.html", **context), (failure.status if failure else 200)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/excel", endpoint="project_excel")
@require_login
def project_excel(project_id: int) -> Any:
    """Download the project's forms (pre-filled) and upload them filled."""
    return _render_panel(project_id)


@bp.route("/t/<tenant_code>/projects/<int:project_id>/excel/<kind>", methods=["POST"], endpoint="project_import")
@require_login
def project_import(project_id: int, kind: str) -> Any:
    db, tenant = session(), current_tenant()
    if kind not in forms.KINDS:
        raise NotFound(f"没有“{kind}”这种表格")
    project = common.get_project(db, current_user, tenant, project_id)
    try:
        data, filename = transfer.upload()
        result = importer.import_project_file(db, current_user, tenant, project, kind, data, filename)
    except DomainError as exc:
        db.rollback()
        return _render_panel(project_id, _failure(kind, exc))
    flash(result.get("message") or "已导入", "success")
    return redirect(url_for("lifecycle.project", tenant_code=tenant.code, project_id=project.id,
                            _anchor=ANCHORS.get(kind, "")))


# ---- The project list import ------------------------------------------------------------------------------


def _render_imports(failure: Failure | None = None) -> Any:
    db, tenant = session(), current_tenant()
    refusal = _refusal(lambda: bulk.require_may_create(current_user, tenant))
    own = common.is_own_tenant(current_user, tenant)
    recent = [j for j in jobs.list_jobs(db, current_user, limit=100)
              if j.kind in (job_kinds.IMPORT_PROJECTS, job_kinds.EXPORT) and j.requested_by_id == current_user.id][:10]
    context = {"tenant": tenant, "refusal": refusal, "own": own, "failure": failure, "recent": recent,
               "threshold": xlsx.config("SPREADSHEET_JOB_ROWS", 200),
               "request_rows": importer.request_rows(), "max_rows": importer.max_import_rows(),
               "export_threshold": export.threshold()}
    return render_template("spreadsheets/imports.html", **context), (failure.status if failure else 200)


@bp.route("/t/<tenant_code>/imports", methods=["GET", "POST"], endpoint="imports")
@require_login
def imports_page() -> Any:
    """项目清单导入: download the template, upload the filled list; a long list is imported by a job."""
    if request.method == "GET":
        return _render_imports()
    db, tenant = session(), current_tenant()
    try:
        data, filename = transfer.upload()
        outcome = steps.import_project_list(db, current_user, tenant, data, filename)
        if outcome.job is not None:
            flash(f"共 {outcome.rows} 个项目，已转入后台导入，可在本页查看进度。", "success")
            return redirect(url_for("jobs.job", job_id=outcome.job.id))
    except DomainError as exc:
        db.rollback()
        return _render_imports(_failure("projects", exc))
    flash(f"已导入 {outcome.created} 个项目。", "success")
    return redirect(url_for("lifecycle.projects", tenant_code=tenant.code))


# ---- Exports from the list pages ---------------------------------------------------------------------------


def _export(name: str) -> Any:
    outcome = steps.start_export(session(), current_user, current_tenant(), name, request.args.to_dict())
    if outcome.job is not None:
        flash(f"共 {outcome.rows} 行，已转入后台生成，完成后可在通知中下载。", "success")
        return redirect(url_for("jobs.job", job_id=outcome.job.id))
    return transfer.xlsx_response(outcome.data, outcome.filename)


@bp.route("/t/<tenant_code>/exports/projects", endpoint="export_projects")
@require_login
def export_projects() -> Any:
    """导出 Excel from the projects list (its query string: year, department, stage, kind, fund_type, …)."""
    return _export("projects")


@bp.route("/t/<tenant_code>/exports/ledger", endpoint="export_ledger")
@require_login
def export_ledger() -> Any:
    """导出 Excel from the rectification ledger (year, status, overdue)."""
    return _export("ledger")


@bp.route("/t/<tenant_code>/exports/statistics", endpoint="export_statistics")
@require_login
def export_statistics() -> Any:
    """导出 Excel from the statistics page (year)."""
    return _export("statistics")


@bp.route("/t/<tenant_code>/exports/league", endpoint="export_league")
@require_login
def export_league() -> Any:
    """导出 Excel from the home's league table of subordinates (year, sort, order, level, city)."""
    try:
        args = LeagueArgs().load({k: v for k, v in request.args.items() if k in LeagueArgs().fields and v != ""})
    except ValidationError as exc:
        raise ValidationFailed("排名表的查询条件有误", fields={k: "；".join(map(str, v))
                                                       for k, v in exc.messages_dict.items()}) from exc
    filename, data = export.export_league(session(), current_user, current_tenant(), args)
    return transfer.xlsx_response(data, filename)


@bp.route("/t/<tenant_code>/exports/rankings/<int:campaign_id>", endpoint="export_ranking")
@require_login
def export_ranking(campaign_id: int) -> Any:
    """导出 Excel from an assessment campaign's ranking page."""
    filename, data = export.export_ranking(session(), current_tenant(), campaign_id)
    return transfer.xlsx_response(data, filename)
