"""The forms units already fill, as .xlsx templates: 绩效目标申报表, 绩效监控表, 绩效自评表, and the 项目清单
for entering many projects at once.

Each template is built for one project from its records (a project with targets lists its indicators, a
filed monitoring report or self-evaluation comes back filled in), with the headings of the paper forms
(docs/domain.md, "Forms people already use"), drop-down lists for directions, levels and bands, frozen
headings, and a very hidden sheet ``_jixiao`` saying what the file is (template kind and version, tenant,
project), so that an import knows what it reads. Amounts are in 万元, as on the forms; cells a unit fills are
shaded yellow. The layout constants below are what :mod:`jixiao.spreadsheets.importer` looks for. The cells
the form computes (execution rate, scores, total, grade) are :class:`~jixiao.spreadsheets.xlsx.Formula`; every
other value, whatever it starts with, is written as text.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from jixiao import units
from jixiao.accounts.models import Department
from jixiao.errors import NotFound, ValidationFailed
from jixiao.lifecycle import common, monitoring, scoring
from jixiao.lifecycle.models import (
    Direction,
    Evaluation,
    EvaluationKind,
    FundType,
    MonitoringReport,
    Project,
    ProjectKind,
    QualitativeBand,
)
from jixiao.lifecycle.targets import targets_for
from jixiao.rules.national import LEVEL2_BY_LEVEL1
from jixiao.spreadsheets import xlsx
from jixiao.spreadsheets.xlsx import BORDER, CENTER, INPUT_FILL, LABEL_FILL, NOTE_FONT, TITLE_FONT, WRAP
from jixiao.tenancy.models import Tenant

TARGETS, MONITORING, SELF_EVALUATION, PROJECT_LIST = "targets", "monitoring", "self_evaluation", "project_list"
KINDS = {
    TARGETS: "绩效目标申报表",
    MONITORING: "绩效监控表",
    SELF_EVALUATION: "绩效自评表",
}
TITLES = {
    TARGETS: "项目支出绩效目标申报表",
    MONITORING: "项目支出绩效运行监控表（双监控）",
    SELF_EVALUATION: "项目支出绩效自评表",
    PROJECT_LIST: "项目清单（批量导入）",
}
LABELS = {**KINDS, PROJECT_LIST: "项目清单"}

DIRECTION_SYMBOLS = [d.symbol for d in Direction]  # ≥ > = ≤ < 定性
LEVEL1_NAMES = list(LEVEL2_BY_LEVEL1)
LEVEL2_NAMES = [name for names in LEVEL2_BY_LEVEL1.values() for name in names]
BAND_LABELS = [b.label for b in QualitativeBand]  # 达成 部分达成 未达成
YES_NO = ["是", "否"]
DATA_ROWS = 200  # rows below a table's headings that carry the drop-down lists

# 绩效目标申报表 (8 columns)
TARGET_HEADINGS = ["一级指标", "二级指标", "三级指标", "指标方向", "指标值", "计量单位", "权重（分值）", "共性指标编码"]
# 绩效监控表 (10 visible columns and the indicator's id, hidden)
MONITORING_BUDGET_HEADINGS = ["年初预算（万元）", "调整数（万元）", "调整后预算（万元）", "执行数（万元）", "执行率",
                              "偏差原因", "纠偏措施"]
MONITORING_HEADINGS = ["一级指标", "二级指标", "三级指标", "指标方向", "年度指标值", "计量单位", "1-{m}月实际完成值",
                       "预计全年完成情况", "偏差原因", "纠偏措施", "指标ID"]
# 绩效自评表 (9 visible columns and the indicator's id, hidden)
SELF_BUDGET_HEADINGS = ["年初预算数（万元）", "全年预算数（万元）", "全年执行数（万元）", "分值", "执行率", "得分"]
SELF_HEADINGS = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                 "偏差原因分析及改进措施", "指标ID"]
# 项目清单
PROJECT_LIST_HEADINGS = ["项目编码*", "项目名称*", "预算年度*", "项目类型*", "资金来源*", "主管部门编码*",
                         "申请金额（万元）*", "项目类别", "是否新增", "是否重点", "是否涉密"]
NOTE_LABELS = ("预计全年", "偏差原因", "纠偏措施", "实际")


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


def _list_validation(ws: Any, values: list[str], cells: str, *, strict: bool = True, prompt: str = "") -> None:
    validation = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True,
                                showErrorMessage=True, errorStyle="stop" if strict else "warning",
                                error="请从下拉列表中选择" if strict else "不在常用列表中，确认无误可继续",
                                errorTitle="填写有误" if strict else "请确认")
    if prompt:
        validation.prompt, validation.showInputMessage = prompt, True
    ws.add_data_validation(validation)
    validation.add(cells)


def _department_text(project: Project) -> str:
    department = project.department
    return f"{department.name}（{department.code}）" if department else ""


def _wan_cell(value: Decimal | None) -> float | None:
    """Yuan as the 万元 number of a form cell. The one float on the way, at the openpyxl boundary: an .xlsx
    stores numbers as doubles, whose 15 significant digits give 万元 to the cent (six places) back unchanged
    for any budget under 10⁹ 万元; everything before this stays Decimal."""
    return xlsx.cell_float(units.wan_from_yuan(value))


def _plain(value: Decimal | None) -> Any:
    if value is None:
        return None
    value = Decimal(value).normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def target_text(indicator: Any) -> str:
    """An indicator's target as the forms write it: “≥1000人次”, or the qualitative target's words."""
    if str(indicator.direction) == Direction.QUALITATIVE:
        return indicator.target_text or "定性"
    value = "" if indicator.target_value is None else format(Decimal(indicator.target_value).normalize(), "f")
    return f"{Direction(str(indicator.direction)).symbol}{value}{indicator.unit or ''}"


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
    wb = Workbook()
    ws = wb.active
    ws.title = KINDS[TARGETS]
    span = len(TARGET_HEADINGS)
    _title(ws, f"{TITLES[TARGETS]}（{project.year}年度）", span,
           f"{tenant.name} · 填报单位：{_department_text(project)} · 金额单位：万元 · 黄色单元格为填报内容")
    _pairs(ws, 3, [("项目名称", project.name), ("项目编码", project.code)], span)
    _pairs(ws, 4, [("主管部门", _department_text(project)), ("预算年度", project.year)], span)
    _pairs(ws, 5, [("资金来源", project.fund_type.label), ("申请金额（万元）", _wan_cell(project.requested_amount))], span)
    _pairs(ws, 6, [("项目类型", project.kind.label), ("项目类别", project.category or "")], span)
    ws.cell(row=7, column=1, value="年度总体目标")
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
    _headings(ws, heading_row, TARGET_HEADINGS)
    rows = max(20, len(indicators) + 10)
    for offset in range(rows):
        row = heading_row + 1 + offset
        indicator = indicators[offset] if offset < len(indicators) else None
        qualitative = indicator is not None and str(indicator.direction) == Direction.QUALITATIVE
        values = [None] * span
        if indicator is not None:
            values = [indicator.level1, indicator.level2, indicator.name, Direction(str(indicator.direction)).symbol,
                      indicator.target_text if qualitative else _plain(indicator.target_value), indicator.unit,
                      _plain(indicator.weight), indicator.catalog_code or None]
        for col, value in enumerate(values, start=1):
            _box(ws, row, col, value, editable=True)
    last = heading_row + DATA_ROWS
    _list_validation(ws, LEVEL1_NAMES, f"A{heading_row + 1}:A{last}", strict=False)
    _list_validation(ws, LEVEL2_NAMES, f"B{heading_row + 1}:B{last}", strict=False)
    _list_validation(ws, DIRECTION_SYMBOLS, f"D{heading_row + 1}:D{last}", prompt="≥ > = ≤ < 或 定性")
    xlsx.set_widths(ws, [12, 18, 34, 10, 14, 10, 12, 16])
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


def parse_note(note: str) -> dict[str, str]:
    """A monitoring value's note, “预计全年：…；偏差原因：…；纠偏措施：…”, back into its parts."""
    labels = "|".join(NOTE_LABELS)
    found = re.findall(rf"({labels})：(.*?)(?=；(?:{labels})：|$)", note or "", flags=re.S)
    if not found and note:
        return {"偏差原因": note}
    return dict(found)


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
    wb = Workbook()
    ws = wb.active
    ws.title = KINDS[MONITORING]
    span = 10
    _title(ws, f"{TITLES[MONITORING]}（{project.year}年1-{period}月）", span,
           f"{tenant.name} · 填报单位：{_department_text(project)} · 金额单位：万元 · 黄色单元格为填报内容；"
           "执行率和监控结果（红黄绿蓝灯）由平台计算")
    _pairs(ws, 3, [("项目名称", project.name), ("项目编码", project.code)], span)
    _pairs(ws, 4, [("主管部门", _department_text(project)), ("预算年度", project.year)], span)
    _pairs(ws, 5, [("监控月份", period), ("监控期间", xlsx.Formula('="1-"&B5&"月"'))], span, inputs={"监控月份"})
    _pairs(ws, 6, [("资金来源", project.fund_type.label), ("项目类型", project.kind.label)], span)
    _list_validation(ws, [str(m) for m in owed], "B5", prompt="截至哪个月（1–12）")
    _section(ws, 8, "一、预算执行情况")
    _headings(ws, 9, MONITORING_BUDGET_HEADINGS)
    initial = project.approved_amount if project.approved_amount is not None else project.requested_amount
    adjustment = (project.adjusted_amount - project.approved_amount
                  if project.adjusted_amount is not None and project.approved_amount is not None else Decimal(0))
    _box(ws, 10, 1, _wan_cell(initial), fmt=xlsx.MONEY_FORMAT)
    _box(ws, 10, 2, _wan_cell(adjustment), fmt=xlsx.MONEY_FORMAT)
    _box(ws, 10, 3, _wan_cell(project.budget_amount), fmt=xlsx.MONEY_FORMAT)
    _box(ws, 10, 4, _wan_cell(report.executed_amount) if report else None, editable=True, fmt=xlsx.MONEY_FORMAT)
    _box(ws, 10, 5, xlsx.Formula('=IF(AND(ISNUMBER(D10),C10>0),D10/C10,"")'), fmt=xlsx.PERCENT_FORMAT)
    _box(ws, 10, 6, report.cause if report else None, editable=True)
    _box(ws, 10, 7, report.measure if report else None, editable=True)
    ws.row_dimensions[10].height = 36
    _section(ws, 12, "二、绩效目标完成情况（偏离进度时请填写偏差原因和纠偏措施）")
    heading_row = 13
    headings = [h.replace("{m}", str(period)) for h in MONITORING_HEADINGS]
    _headings(ws, heading_row, headings)
    for offset, indicator in enumerate(indicators):
        row = heading_row + 1 + offset
        value = values.get(indicator.id)
        parts = parse_note(value.note) if value else {}
        qualitative = str(indicator.direction) == Direction.QUALITATIVE
        actual = parts.get("实际") if qualitative else (_plain(value.actual_value) if value else None)
        cells = [indicator.level1, indicator.level2, indicator.name, Direction(str(indicator.direction)).symbol,
                 indicator.target_text if qualitative else _plain(indicator.target_value), indicator.unit]
        for col, cell_value in enumerate(cells, start=1):
            _box(ws, row, col, cell_value)
        _box(ws, row, 7, actual, editable=True)
        _box(ws, row, 8, parts.get("预计全年"), editable=True)
        _box(ws, row, 9, parts.get("偏差原因"), editable=True)
        _box(ws, row, 10, parts.get("纠偏措施"), editable=True)
        _box(ws, row, 11, indicator.id)
    if not indicators:
        ws.cell(row=heading_row + 1, column=1, value="本项目尚未填报绩效指标，请先填报绩效目标。").font = NOTE_FONT
    ws.column_dimensions["K"].hidden = True
    xlsx.set_widths(ws, [12, 16, 30, 9, 12, 9, 14, 16, 24, 24])
    ws.freeze_panes = f"D{heading_row + 1}"
    # The version of the month's report, if filed: an import correcting it must correct what was downloaded.
    _meta(wb, MONITORING, tenant, project, period=period, record_version=report.version if report else "")
    return xlsx.to_bytes(wb), period


# ---- 绩效自评表 -----------------------------------------------------------------------------------------


def self_evaluation_points(session: Session, tenant: Tenant, indicators: list[Any]) -> tuple[list[Decimal], Decimal]:
    """Each indicator's points on the self-evaluation form, and the budget execution's cap (10 nationally)."""
    weights = common.hooks(session, tenant).evaluation_weights(kind=str(EvaluationKind.SELF))
    points = scoring.group_points([(i.level1, i.weight) for i in indicators], weights)
    return points, Decimal(str(weights.get("execution", 10)))


def _grade_formula(cell: str, bands: list[list[Any]]) -> xlsx.Formula:
    ordered = sorted(((str(b[0]), Decimal(str(b[1]))) for b in bands), key=lambda b: b[1], reverse=True)
    formula = f'"{ordered[-1][0]}"'
    for grade, lower in reversed(ordered[:-1]):
        formula = f'IF({cell}>={lower},"{grade}",{formula})'
    return xlsx.Formula(f'=IF(ISNUMBER({cell}),{formula},"")')


def _score_formula(indicator: Any, row: int) -> xlsx.Formula | None:
    direction = str(indicator.direction)
    if direction == Direction.QUALITATIVE or indicator.target_value is None or indicator.target_value <= 0:
        return None
    target = format(Decimal(indicator.target_value).normalize(), "f")
    actual = f"E{row}"
    if direction in scoring.HIGHER_IS_BETTER:
        ratio = f"MIN(MAX({actual}/{target},0),1)"
    else:
        ratio = f"IF({actual}<={target},1,IF({actual}>=2*{target},0,(2*{target}-{actual})/{target}))"
    return xlsx.Formula(f'=IF(ISNUMBER({actual}),ROUND({ratio}*F{row},2),"")')


def self_evaluation_template(session: Session, tenant: Tenant, project: Project) -> bytes:
    target_set = targets_for(session, project)
    indicators = list(target_set.indicators) if target_set else []
    points, execution_cap = self_evaluation_points(session, tenant, indicators)
    bands = common.hooks(session, tenant).evaluation_grade_bands(kind=str(EvaluationKind.SELF)) or []
    evaluation = session.scalar(sa.select(Evaluation).where(Evaluation.project_id == project.id,
                                                            Evaluation.kind == EvaluationKind.SELF))
    scores = {s.indicator_id: s for s in evaluation.scores} if evaluation else {}
    latest = session.scalar(sa.select(MonitoringReport).where(MonitoringReport.project_id == project.id)
                            .order_by(MonitoringReport.period.desc()).limit(1))
    wb = Workbook()
    ws = wb.active
    ws.title = KINDS[SELF_EVALUATION]
    span = 8  # and the indicator's id in column I, hidden
    hint = (f"；最近一次监控（1-{latest.period}月）执行数 {units.format_wan_exact(latest.executed_amount)} 万元"
            if latest else "")
    _title(ws, f"{TITLES[SELF_EVALUATION]}（{project.year}年度）", span,
           f"{tenant.name} · 填报单位：{_department_text(project)} · 金额单位：万元 · 黄色单元格为填报内容；"
           f"得分、总分和自评等级以平台计算为准{hint}")
    _pairs(ws, 3, [("项目名称", project.name), ("项目编码", project.code)], span)
    _pairs(ws, 4, [("主管部门", _department_text(project)), ("预算年度", project.year)], span)
    _pairs(ws, 5, [("资金来源", project.fund_type.label), ("项目类型", project.kind.label)], span)
    _section(ws, 7, "一、预算执行情况")
    _headings(ws, 8, SELF_BUDGET_HEADINGS)
    initial = project.approved_amount if project.approved_amount is not None else project.requested_amount
    _box(ws, 9, 1, _wan_cell(initial), fmt=xlsx.MONEY_FORMAT)
    _box(ws, 9, 2, _wan_cell(project.budget_amount), fmt=xlsx.MONEY_FORMAT)
    executed = evaluation.executed_amount if evaluation else None
    _box(ws, 9, 3, _wan_cell(executed), editable=True, fmt=xlsx.MONEY_FORMAT)
    _box(ws, 9, 4, _plain(execution_cap))
    _box(ws, 9, 5, xlsx.Formula('=IF(AND(ISNUMBER(C9),B9>0),C9/B9,"")'), fmt=xlsx.PERCENT_FORMAT)
    _box(ws, 9, 6, xlsx.Formula('=IF(AND(ISNUMBER(C9),B9>0),ROUND(MIN(MAX(C9/B9,0),1)*D9,2),"")'))
    _section(ws, 11, "二、年度总体目标完成情况")
    for first, last, heading in ((1, 4, "年度总体目标"), (5, span, "实际完成情况")):
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
    _headings(ws, heading_row, SELF_HEADINGS)
    qualitative_rows: list[int] = []
    for offset, (indicator, worth) in enumerate(zip(indicators, points, strict=True)):
        row = heading_row + 1 + offset
        score = scores.get(indicator.id)
        qualitative = str(indicator.direction) == Direction.QUALITATIVE
        for col, value in enumerate([indicator.level1, indicator.level2, indicator.name, target_text(indicator)],
                                    start=1):
            _box(ws, row, col, value)
        if qualitative:
            qualitative_rows.append(row)
            _box(ws, row, 5, score.band.label if score and score.band else None, editable=True)
            _box(ws, row, 7, _plain(score.score) if score else None, editable=True)
        else:
            _box(ws, row, 5, _plain(score.actual_value) if score else None, editable=True)
            _box(ws, row, 7, _score_formula(indicator, row))
        _box(ws, row, 6, _plain(worth))
        _box(ws, row, 8, score.note if score else None, editable=True)
        _box(ws, row, 9, indicator.id)
    for row in qualitative_rows:
        _list_validation(ws, BAND_LABELS, f"E{row}", prompt="达成 / 部分达成 / 未达成")
    last_row = heading_row + max(len(indicators), 1)
    total_row = last_row + 1
    _box(ws, total_row, 1, "总分").font = xlsx.BOLD
    ws.merge_cells(start_row=total_row, start_column=2, end_row=total_row, end_column=5)
    total_formula = xlsx.Formula(f"=ROUND(N(F9)+SUM(G{heading_row + 1}:G{last_row}),2)" if indicators else "=N(F9)")
    _box(ws, total_row, 2, total_formula)
    _box(ws, total_row, 6, "自评等级").font = xlsx.BOLD
    ws.merge_cells(start_row=total_row, start_column=7, end_row=total_row, end_column=span)
    _box(ws, total_row, 7, _grade_formula(f"B{total_row}", bands) if bands else evaluation.grade if evaluation else "")
    if evaluation is not None and evaluation.total_score is not None:
        note = ws.cell(row=total_row + 1, column=1,
                       value=f"平台计算：总分 {evaluation.total_score}，自评等级 {evaluation.grade}")
        note.font = NOTE_FONT
    ws.column_dimensions["I"].hidden = True
    xlsx.set_widths(ws, [12, 16, 30, 16, 14, 9, 9, 36])
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
    wb = Workbook()
    ws = wb.active
    ws.title = "项目清单"
    span = len(PROJECT_LIST_HEADINGS)
    _title(ws, f"{tenant.name} · {TITLES[PROJECT_LIST]}", span,
           "带 * 的列必填；一行一个项目；金额单位：万元；项目类型：项目/政策/部门整体；资金来源：一般公共预算/政府性基金预算/"
           "国有资本经营预算/社会保险基金预算；是否新增默认“是”，是否重点、是否涉密默认“否”。"
           "全部行通过校验才会导入，有错误时一行也不导入并给出错误报告。")
    ws.row_dimensions[2].height = 45
    ws.cell(row=2, column=1).alignment = WRAP
    heading_row = 3
    _headings(ws, heading_row, PROJECT_LIST_HEADINGS)
    limit = heading_row + xlsx.config("SPREADSHEET_MAX_ROWS", xlsx.DEFAULT_MAX_ROWS)
    first = heading_row + 1
    for row in range(first, first + 20):
        for col in range(1, span + 1):
            _box(ws, row, col, editable=True)
    _list_validation(ws, [k.label for k in ProjectKind], f"D{first}:D{limit}")
    _list_validation(ws, [f.label for f in FundType], f"E{first}:E{limit}")
    for column in "IJK":
        _list_validation(ws, YES_NO, f"{column}{first}:{column}{limit}")
    year = DataValidation(type="whole", operator="between", formula1="2000", formula2="2100", allow_blank=True,
                          showErrorMessage=True, error="预算年度应为 2000–2100 之间的整数", errorTitle="填写有误")
    ws.add_data_validation(year)
    year.add(f"C{first}:C{limit}")
    amount = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                            showErrorMessage=True, error="申请金额应为不小于 0 的数字（万元）", errorTitle="填写有误")
    ws.add_data_validation(amount)
    amount.add(f"G{first}:G{limit}")
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
        validation.add(f"F{first}:F{limit}")
    for row in range(first, first + 20):
        ws.cell(row=row, column=1).number_format = "@"
    xlsx.set_widths(ws, [16, 34, 10, 12, 18, 14, 16, 12, 9, 9, 9])
    ws.freeze_panes = f"C{first}"
    _meta(wb, PROJECT_LIST, tenant, None)
    return f"项目清单导入模板-{tenant.code}.xlsx", xlsx.to_bytes(wb)
