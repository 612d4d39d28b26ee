"""The forms units already fill, as .xlsx templates: 绩效目标申报表, 绩效监控表, 绩效自评表, and the 项目清单
for entering many projects at once.

Each template is built for one project from its records (a project with targets lists its indicators, a
filed monitoring report or self-evaluation comes back filled in), with the headings of the paper forms
(docs/domain.md, "Forms people already use"), drop-down lists for directions, levels and bands, frozen
headings, and a very hidden sheet ``_jixiao`` saying what the file is (template kind and version, tenant,
project), so that an import knows what it reads. Amounts are in 万元, as on the forms; cells a unit fills are
shaded yellow. Every table is written from its spec in :mod:`jixiao.spreadsheets.forms` (headings, pre-filled
values, widths, drop-downs), the spec :mod:`jixiao.spreadsheets.importer` reads the upload by. The cells
the form computes (execution rate, scores, total, grade) are :class:`~jixiao.spreadsheets.xlsx.Formula`; every
other value, whatever it starts with, is written as text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from jixiao import units
from jixiao.accounts.models import Department
from jixiao.errors import NotFound, ValidationFailed
from jixiao.lifecycle import common, monitoring
from jixiao.lifecycle.models import Evaluation, EvaluationKind, MonitoringReport, Project
from jixiao.lifecycle.targets import targets_for
from jixiao.spreadsheets import forms, xlsx
from jixiao.spreadsheets.forms import (  # also where the API and the pages have always found them
    KINDS,
    LABELS,
    MONITORING,
    PROJECT_LIST,
    SELF_EVALUATION,
    TARGETS,
    TITLES,
)
from jixiao.spreadsheets.xlsx import BORDER, CENTER, INPUT_FILL, LABEL_FILL, NOTE_FONT, TITLE_FONT, WRAP
from jixiao.tenancy.models import Tenant

DATA_ROWS = 200  # rows below a table's headings that carry the drop-down lists


def filename_for(kind: str, project: Project, period: int | None = None) -> str:
    suffix = f"-{period}月" if kind == MONITORING and period else ""
    return f"{KINDS[kind]}-{_safe(project.code)}{suffix}.xlsx"


def _safe(value: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", value)[:60]


# ---- Building blocks --------------------------------------------------------------------------------------


def _title(ws: Any, title: str, span: int, subtitle: str) -> None:
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=span)
    cell = ws.cell(row=1, column=1, value=title)
    cell.font, cell.alignment = TITLE_FONT, CENTER
    ws.row_dimensions[1].height = 30
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=span)
    note = ws.cell(row=2, column=1, value=subtitle)
    note.font = NOTE_FONT


def _pairs(ws: Any, row: int, pairs: list[tuple[str, Any]], span: int, inputs: set[str] | None = None) -> None:
    """One or two ``label | value`` pairs across the row (the form's header block)."""
    half = span // 2
    for index, (label, value) in enumerate(pairs):
        first = 1 + index * half
        label_cell = ws.cell(row=row, column=first, value=label)
        label_cell.font, label_cell.fill, label_cell.border, label_cell.alignment = xlsx.BOLD, LABEL_FILL, BORDER, CENTER
        ws.merge_cells(start_row=row, start_column=first + 1, end_row=row, end_column=first + half - 1)
        cell = xlsx.set_value(ws.cell(row=row, column=first + 1), value)
        cell.alignment = WRAP
        if inputs and label in inputs:
            cell.fill = INPUT_FILL
        for col in range(first + 1, first + half):
            ws.cell(row=row, column=col).border = BORDER


def _section(ws: Any, row: int, text: str) -> None:
    ws.cell(row=row, column=1, value=text).font = xlsx.BOLD


def _headings(ws: Any, row: int, headings: list[str]) -> None:
    for col, heading in enumerate(headings, start=1):
        ws.cell(row=row, column=col, value=heading)
    xlsx.style_heading_row(ws, row, 1, len(headings))
    ws.row_dimensions[row].height = 32


def _box(ws: Any, row: int, col: int, value: Any = None, *, editable: bool = False, fmt: str | None = None) -> Any:
    cell = ws.cell(row=row, column=col)
    if value is not None:
        xlsx.set_value(cell, value)
    cell.border = BORDER
    cell.alignment = WRAP
    if editable:
        cell.fill = INPUT_FILL
    if fmt:
        cell.number_format = fmt
    return cell


def _list_validation(ws: Any, values: Sequence[str], cells: str, *, strict: bool = True, prompt: str = "") -> None:
    validation = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True,
                                showErrorMessage=True, errorStyle="stop" if strict else "warning",
                                error="请从下拉列表中选择" if strict else "不在常用列表中，确认无误可继续",
                                errorTitle="填写有误" if strict else "请确认")
    if prompt:
        validation.prompt, validation.showInputMessage = prompt, True
    ws.add_data_validation(validation)
    validation.add(cells)


def _span(table: forms.Table) -> int:
    """How many columns the form shows (a hidden id column is not part of the layout)."""
    return sum(not column.hidden for column in table.columns)


def _table(ws: Any, table: forms.Table, heading_row: int, records: Sequence[Any], *, month: int | None = None) -> None:
    """A table as its spec says: the headings, then one row per record (None: an empty row to fill in), each
    cell pre-filled by its column, bordered, and shaded where the unit fills it in."""
    _headings(ws, heading_row, table.headings(month))
    for offset, record in enumerate(records):
        row = heading_row + 1 + offset
        for col, column in enumerate(table.columns, start=1):
            _box(ws, row, col, column.value(record), editable=column.is_editable(record), fmt=column.number_format)


def _layout(ws: Any, table: forms.Table) -> None:
    """The columns' widths, and the hidden ones (an indicator's id, for the import to know the row)."""
    for col, column in enumerate(table.columns, start=1):
        letter = get_column_letter(col)
        if column.hidden:
            ws.column_dimensions[letter].hidden = True
        if column.width is not None:
            ws.column_dimensions[letter].width = column.width


def _dropdowns(ws: Any, table: forms.Table, first: int, last: int, records: Sequence[Any] = ()) -> None:
    """The columns' drop-down lists over rows ``first``–``last`` (a list for some rows only: on each of them)."""
    for col, column in enumerate(table.columns, start=1):
        dropdown, letter = column.dropdown, get_column_letter(col)
        if dropdown is None:
            continue
        if dropdown.only is None:
            cells = [f"{letter}{first}:{letter}{last}"]
        else:
            cells = [f"{letter}{first + offset}" for offset, record in enumerate(records) if dropdown.only(record)]
        for where in cells:
            _list_validation(ws, dropdown.values, where, strict=dropdown.strict, prompt=dropdown.prompt)


def _bounds(ws: Any, table: forms.Table, first: int, last: int) -> None:
    for col, column in enumerate(table.columns, start=1):
        if column.bounds is None:
            continue
        bounds, letter = column.bounds, get_column_letter(col)
        validation = DataValidation(type=bounds.type, operator=bounds.operator, formula1=bounds.low,
                                    formula2=bounds.high, allow_blank=True, showErrorMessage=True,
                                    error=bounds.error, errorTitle="填写有误")
        ws.add_data_validation(validation)
        validation.add(f"{letter}{first}:{letter}{last}")


def _department_text(project: Project) -> str:
    department = project.department
    return f"{department.name}（{department.code}）" if department else ""


def _meta(wb: Workbook, kind: str, tenant: Tenant, project: Project | None, **extra: Any) -> None:
    values: dict[str, Any] = {"template": kind, "label": LABELS[kind], "tenant_code": tenant.code}
    if project is not None:
        values.update(project_id=project.id, project_code=project.code, year=project.year)
    values.update(extra)
    xlsx.write_meta(wb, values)


# ---- 绩效目标申报表 ----------------------------------------------------------------------------------------


def targets_template(session: Session, tenant: Tenant, project: Project) -> bytes:
    target_set = targets_for(session, project)
    indicators = list(target_set.indicators) if target_set else []
    table = forms.TARGET_INDICATORS
    wb = Workbook()
    ws = xlsx.active_sheet(wb)
    ws.title = KINDS[TARGETS]
    span = _span(table)
    _title(ws, f"{TITLES[TARGETS]}（{project.year}年度）", span,
           f"{tenant.name} · 填报单位：{_department_text(project)} · 金额单位：万元 · 黄色单元格为填报内容")
    _pairs(ws, 3, [("项目名称", project.name), (forms.PROJECT_CODE, project.code)], span)
    _pairs(ws, 4, [("主管部门", _department_text(project)), ("预算年度", project.year)], span)
    _pairs(ws, 5, [("资金来源", project.fund_type.label), ("申请金额（万元）", forms.wan_cell(project.requested_amount))],
           span)
    _pairs(ws, 6, [("项目类型", project.kind.label), ("项目类别", project.category or "")], span)
    ws.cell(row=7, column=1, value=forms.OVERALL_TARGET.label)
    label = ws.cell(row=7, column=1)
    label.font, label.fill, label.border, label.alignment = xlsx.BOLD, LABEL_FILL, BORDER, CENTER
    ws.merge_cells(start_row=7, start_column=2, end_row=7, end_column=span)
    _box(ws, 7, 2, target_set.overall_target if target_set else "", editable=True)
    for col in range(3, span + 1):
        ws.cell(row=7, column=col).border = BORDER
    ws.row_dimensions[7].height = 60
    note = ws.cell(row=8, column=1, value="说明：指标方向选 ≥、>、=、≤、<、定性；定性指标在“指标值”中填写文字目标；"
                                          "权重为正数；整行留空的行不导入。导入后替换本项目的全部指标（目标须为填报中或已退回）。")
    note.font = NOTE_FONT
    ws.merge_cells(start_row=8, start_column=1, end_row=8, end_column=span)
    heading_row = 9
    rows = max(20, len(indicators) + 10)
    _table(ws, table, heading_row, [*indicators, *[None] * (rows - len(indicators))])
    _dropdowns(ws, table, heading_row + 1, heading_row + DATA_ROWS)
    _layout(ws, table)
    ws.freeze_panes = f"A{heading_row + 1}"
    # The version of the targets the form was filled from: an import over a set changed since is refused.
    _meta(wb, TARGETS, tenant, project, record_version=target_set.version if target_set else "")
    return xlsx.to_bytes(wb)


# ---- 绩效监控表 ------------------------------------------------------------------------------------------


def default_period(session: Session, tenant: Tenant, project: Project) -> int:
    """The month to report: the latest owed month that has ended (or the first owed month of a future year)."""
    owed = monitoring.periods_owed(session, tenant, project)
    if not owed:
        raise ValidationFailed("本项目没有需要报送监控的月份", fields={"period": "本项目没有需要报送监控的月份"})
    today = units.local_today()
    if project.year < today.year:
        limit = 12
    elif project.year > today.year:
        limit = owed[0]
    else:
        limit = max(1, today.month - 1)
    done = [m for m in owed if m <= limit]
    return done[-1] if done else owed[0]


def monitoring_template(session: Session, tenant: Tenant, project: Project, period: int | None = None) -> tuple[bytes, int]:
    owed = monitoring.periods_owed(session, tenant, project)
    if period is None:
        period = default_period(session, tenant, project)
    elif period not in owed:
        message = f"本项目应在以下月份报送监控：{'、'.join(str(m) for m in owed)}"
        raise ValidationFailed(message, fields={"period": message})
    target_set = targets_for(session, project)
    indicators = list(target_set.indicators) if target_set else []
    report = session.scalar(sa.select(MonitoringReport).where(MonitoringReport.project_id == project.id,
                                                              MonitoringReport.period == period))
    values = {v.indicator_id: v for v in report.values} if report else {}
    table = forms.MONITORING_INDICATORS
    wb = Workbook()
    ws = xlsx.active_sheet(wb)
    ws.title = KINDS[MONITORING]
    span = _span(table)
    _title(ws, f"{TITLES[MONITORING]}（{project.year}年1-{period}月）", span,
           f"{tenant.name} · 填报单位：{_department_text(project)} · 金额单位：万元 · 黄色单元格为填报内容；"
           "执行率和监控结果（红黄绿蓝灯）由平台计算")
    _pairs(ws, 3, [("项目名称", project.name), (forms.PROJECT_CODE, project.code)], span)
    _pairs(ws, 4, [("主管部门", _department_text(project)), ("预算年度", project.year)], span)
    _pairs(ws, 5, [(forms.PERIOD.label, period), ("监控期间", xlsx.Formula('="1-"&B5&"月"'))], span,
           inputs={forms.PERIOD.label})
    _pairs(ws, 6, [("资金来源", project.fund_type.label), ("项目类型", project.kind.label)], span)
    _list_validation(ws, [str(m) for m in owed], "B5", prompt="截至哪个月（1–12）")
    _section(ws, 8, "一、预算执行情况")
    _table(ws, forms.MONITORING_BUDGET, 9, [forms.BudgetLine(project, report, 10)])
    ws.row_dimensions[10].height = 36
    _section(ws, 12, "二、绩效目标完成情况（偏离进度时请填写偏差原因和纠偏措施）")
    heading_row = 13
    lines = [forms.MonitoringLine(i, values.get(i.id), forms.parse_note(values[i.id].note) if i.id in values else {})
             for i in indicators]
    _table(ws, table, heading_row, lines, month=period)
    if not indicators:
        ws.cell(row=heading_row + 1, column=1, value="本项目尚未填报绩效指标，请先填报绩效目标。").font = NOTE_FONT
    _layout(ws, table)
    ws.freeze_panes = f"D{heading_row + 1}"
    # The version of the month's report, if filed: an import correcting it must correct what was downloaded.
    _meta(wb, MONITORING, tenant, project, period=period, record_version=report.version if report else "")
    return xlsx.to_bytes(wb), period


# ---- 绩效自评表 -----------------------------------------------------------------------------------------


def _grade_formula(cell: str, bands: list[list[Any]]) -> xlsx.Formula:
    ordered = sorted(((str(b[0]), Decimal(str(b[1]))) for b in bands), key=lambda b: b[1], reverse=True)
    formula = f'"{ordered[-1][0]}"'
    for grade, lower in reversed(ordered[:-1]):
        formula = f'IF({cell}>={lower},"{grade}",{formula})'
    return xlsx.Formula(f'=IF(ISNUMBER({cell}),{formula},"")')


def self_evaluation_template(session: Session, tenant: Tenant, project: Project) -> bytes:
    target_set = targets_for(session, project)
    indicators = list(target_set.indicators) if target_set else []
    points, execution_cap = forms.self_evaluation_points(session, tenant, indicators)
    bands = common.hooks(session, tenant).evaluation_grade_bands(kind=str(EvaluationKind.SELF)) or []
    evaluation = session.scalar(sa.select(Evaluation).where(Evaluation.project_id == project.id,
                                                            Evaluation.kind == EvaluationKind.SELF))
    scores = {s.indicator_id: s for s in evaluation.scores} if evaluation else {}
    latest = session.scalar(sa.select(MonitoringReport).where(MonitoringReport.project_id == project.id)
                            .order_by(MonitoringReport.period.desc()).limit(1))
    table = forms.SELF_INDICATORS
    wb = Workbook()
    ws = xlsx.active_sheet(wb)
    ws.title = KINDS[SELF_EVALUATION]
    span = _span(table)
    hint = (f"；最近一次监控（1-{latest.period}月）执行数 {units.format_wan_exact(latest.executed_amount)} 万元"
            if latest else "")
    _title(ws, f"{TITLES[SELF_EVALUATION]}（{project.year}年度）", span,
           f"{tenant.name} · 填报单位：{_department_text(project)} · 金额单位：万元 · 黄色单元格为填报内容；"
           f"得分、总分和自评等级以平台计算为准{hint}")
    _pairs(ws, 3, [("项目名称", project.name), (forms.PROJECT_CODE, project.code)], span)
    _pairs(ws, 4, [("主管部门", _department_text(project)), ("预算年度", project.year)], span)
    _pairs(ws, 5, [("资金来源", project.fund_type.label), ("项目类型", project.kind.label)], span)
    _section(ws, 7, "一、预算执行情况")
    budget_row = 9
    _table(ws, forms.SELF_BUDGET, budget_row - 1, [forms.BudgetLine(project, evaluation, budget_row, execution_cap)])
    _section(ws, 11, "二、年度总体目标完成情况")
    for first, last, heading in ((1, 4, forms.OVERALL_TARGET.label), (5, span, forms.SUMMARY.label)):
        ws.merge_cells(start_row=12, start_column=first, end_row=12, end_column=last)
        ws.cell(row=12, column=first, value=heading)
        xlsx.style_heading_row(ws, 12, first, last)
        ws.merge_cells(start_row=13, start_column=first, end_row=13, end_column=last)
        for col in range(first, last + 1):
            _box(ws, 13, col)
    _box(ws, 13, 1, target_set.overall_target if target_set else "")
    _box(ws, 13, 5, evaluation.summary if evaluation else None, editable=True)
    ws.row_dimensions[13].height = 80
    _section(ws, 15, "三、绩效指标完成情况（定性指标的“实际完成值”选 达成/部分达成/未达成，并在“得分”中填写所给分数）")
    heading_row = 16
    lines = [forms.SelfLine(indicator, scores.get(indicator.id), worth, heading_row + 1 + offset)
             for offset, (indicator, worth) in enumerate(zip(indicators, points, strict=True))]
    _table(ws, table, heading_row, lines)
    _dropdowns(ws, table, heading_row + 1, heading_row + len(lines), lines)
    last_row = heading_row + max(len(indicators), 1)
    total_row = last_row + 1
    _box(ws, total_row, 1, forms.TOTAL_LABEL).font = xlsx.BOLD
    ws.merge_cells(start_row=total_row, start_column=2, end_row=total_row, end_column=5)
    execution, score = f"{forms.SELF_BUDGET.letter('score')}{budget_row}", table.letter("score")
    total_formula = xlsx.Formula(f"=ROUND(N({execution})+SUM({score}{heading_row + 1}:{score}{last_row}),2)"
                                 if indicators else f"=N({execution})")
    _box(ws, total_row, 2, total_formula)
    _box(ws, total_row, 6, forms.GRADE_LABEL).font = xlsx.BOLD
    ws.merge_cells(start_row=total_row, start_column=7, end_row=total_row, end_column=span)
    _box(ws, total_row, 7, _grade_formula(f"B{total_row}", bands) if bands else evaluation.grade if evaluation else "")
    if evaluation is not None and evaluation.total_score is not None:
        note = ws.cell(row=total_row + 1, column=1,
                       value=f"平台计算：总分 {evaluation.total_score}，自评等级 {evaluation.grade}")
        note.font = NOTE_FONT
    _layout(ws, table)
    ws.freeze_panes = f"D{heading_row + 1}"
    _meta(wb, SELF_EVALUATION, tenant, project, evaluation_id=evaluation.id if evaluation else "",
          record_version=evaluation.version if evaluation else "")
    return xlsx.to_bytes(wb)


# ---- Per project ------------------------------------------------------------------------------------------


def build(session: Session, tenant: Tenant, project: Project, kind: str, period: int | None = None) -> tuple[str, bytes]:
    """The template ``kind`` of ``project``: (download file name, bytes)."""
    if kind == TARGETS:
        return filename_for(kind, project), targets_template(session, tenant, project)
    if kind == MONITORING:
        data, period = monitoring_template(session, tenant, project, period)
        return filename_for(kind, project, period), data
    if kind == SELF_EVALUATION:
        return filename_for(kind, project), self_evaluation_template(session, tenant, project)
    raise NotFound(f"没有“{kind}”这种模板；可下载 targets（绩效目标申报表）、monitoring（绩效监控表）、"
                   "self_evaluation（绩效自评表）")


# ---- 项目清单 --------------------------------------------------------------------------------------------


def project_list_template(session: Session, tenant: Tenant) -> tuple[str, bytes]:
    departments = list(session.scalars(sa.select(Department).where(Department.tenant_id == tenant.id)
                                       .order_by(Department.code)))
    table = forms.PROJECTS
    wb = Workbook()
    ws = xlsx.active_sheet(wb)
    ws.title = forms.FORMS[PROJECT_LIST].sheet
    span = _span(table)
    _title(ws, f"{tenant.name} · {TITLES[PROJECT_LIST]}", span,
           "带 * 的列必填；一行一个项目；金额单位：万元；项目类型：项目/政策/部门整体；资金来源：一般公共预算/政府性基金预算/"
           "国有资本经营预算/社会保险基金预算；是否新增默认“是”，是否重点、是否涉密默认“否”。"
           "全部行通过校验才会导入，有错误时一行也不导入并给出错误报告。")
    ws.row_dimensions[2].height = 45
    ws.cell(row=2, column=1).alignment = WRAP
    heading_row = 3
    # The drop-downs and bounds cover every row a list may have (SPREADSHEET_MAX_IMPORT_ROWS, not the forms' limit).
    limit = heading_row + xlsx.config("SPREADSHEET_MAX_IMPORT_ROWS", xlsx.DEFAULT_MAX_IMPORT_ROWS)
    first = heading_row + 1
    _table(ws, table, heading_row, [None] * 20)
    _dropdowns(ws, table, first, limit)
    _bounds(ws, table, first, limit)
    codes = wb.create_sheet("部门代码")
    codes.append(["部门编码", "部门名称"])
    xlsx.style_heading_row(codes, 1, 1, 2)
    for department in departments:
        codes.append([department.code, department.name])
    xlsx.set_widths(codes, [14, 30])
    if departments:
        validation = DataValidation(type="list", formula1=f"'部门代码'!$A$2:$A${len(departments) + 1}",
                                    allow_blank=True, showErrorMessage=True, errorStyle="stop",
                                    error="请填写“部门代码”表中的部门编码", errorTitle="填写有误")
        ws.add_data_validation(validation)
        column = table.letter("department_code")
        validation.add(f"{column}{first}:{column}{limit}")
    _layout(ws, table)
    ws.freeze_panes = f"C{first}"
    _meta(wb, PROJECT_LIST, tenant, None)
    return f"项目清单导入模板-{tenant.code}.xlsx", xlsx.to_bytes(wb)
