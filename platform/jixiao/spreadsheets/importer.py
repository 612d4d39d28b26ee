"""Importing the filled templates: read every row, check every row, then apply all of it or nothing.

One file is one service call — a project's indicator table is one ``replace_targets``, a month's monitoring
table one ``submit_report``, a self-evaluation one ``evaluations.submit``, a project list one transaction
(:mod:`jixiao.spreadsheets.bulk`) — and the call is made only when no row has a problem. What the service
itself refuses (a red light without a cause, a score outside its band) comes back with the row and column it
concerns. A rejected file leaves an error report (行号 | 列 | 问题) as a document to download.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import inputs, units
from jixiao.accounts.models import User
from jixiao.documents import service as documents
from jixiao.documents import store
from jixiao.documents.models import Document
from jixiao.errors import Conflict, ValidationFailed
from jixiao.lifecycle import common, evaluations, monitoring, scoring, targets
from jixiao.lifecycle.models import (
    Direction,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    FundType,
    Project,
    ProjectKind,
    QualitativeBand,
    TargetStatus,
)
from jixiao.spreadsheets import bulk, xlsx
from jixiao.spreadsheets import templates_xlsx as forms
from jixiao.spreadsheets.xlsx import RowError, norm_heading, text
from jixiao.tenancy.models import Tenant

SHOWN_ERRORS = 50
DIRECTIONS = {
    "≥": "ge", ">=": "ge", "＞=": "ge", "≧": "ge", "ge": "ge",
    ">": "gt", "＞": "gt", "gt": "gt",
    "=": "eq", "＝": "eq", "==": "eq", "eq": "eq",
    "≤": "le", "<=": "le", "＜=": "le", "≦": "le", "le": "le",
    "<": "lt", "＜": "lt", "lt": "lt",
    "定性": "qualitative", "qualitative": "qualitative",
}
LEADING_DIRECTION = re.compile(r"^(>=|<=|＞=|＜=|≥|≤|≧|≦|>|<|＞|＜|=|＝)\s*")
BANDS = {**{b.label: b.value for b in QualitativeBand}, **{b.value: b.value for b in QualitativeBand}}
KIND_NAMES = {**{k.label: k.value for k in ProjectKind}, **{k.value: k.value for k in ProjectKind}}
FUND_NAMES = {**{f.label: f.value for f in FundType}, **{f.value: f.value for f in FundType}}
TRUE_WORDS = {"是", "y", "yes", "true", "1", "√", "✓", "对"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "×", "不是"}


class ImportRejected(ValidationFailed):
    """A file with problems: nothing was written; ``fields`` carries the first rows and the report's URL."""

    def __init__(self, message: str, errors: list[RowError], document: Document | None, report_url: str | None) -> None:
        shown = [e.as_dict() for e in xlsx.sort_errors(errors)[:SHOWN_ERRORS]]
        super().__init__(message, fields={"rows": shown, "error_count": len(errors), "report_url": report_url,
                                          "document_id": document.id if document else None})
        self.errors = errors
        self.document = document
        self.report_url = report_url


OWNER_TYPE = "spreadsheets"


def _authors_only(session: Session, actor: User, tenant: Tenant) -> Any:
    # An error report shows what one person uploaded; an export, a list as its author sees it: theirs alone.
    return Document.created_by_id == actor.id


#: Import error reports and exports belong to their author alone (registered by the spreadsheets plugin).
SPREADSHEET_DOCUMENTS = documents.DocumentOwner(OWNER_TYPE, _authors_only, "Excel 导入导出")


def document_url(tenant_code: str, document_id: int) -> str:
    """Where a document downloads (a plain path: jobs run without a request to build URLs from)."""
    return documents.download_url(tenant_code, document_id)


def summary(errors: list[RowError]) -> str:
    first = xlsx.sort_errors(errors)[0]
    where = f"第 {first.row} 行" if first.row else "文件"
    column = f"“{first.column}”" if first.column else ""
    more = f"等 {len(errors)} 处问题" if len(errors) > 1 else ""
    return f"文件未通过校验，未导入任何数据：{where}{column}{first.message}{more}。请按错误报告修改后重新上传"


def reject(session: Session, actor: User, tenant: Tenant, errors: list[RowError], *, filename: str, what: str,
           owner_id: int, job_id: int | None = None) -> ImportRejected:
    """Save the error report (a document of owner type ``spreadsheets``: the job's, the project's or the
    tenant's id), commit it, and give the exception to raise (nothing else was written)."""
    session.rollback()
    data = xlsx.error_report(errors, filename=filename, what=what,
                             uploader=f"{actor.display_name}（{actor.username}）")
    stem = re.sub(r"\.xlsx?$", "", filename or "上传文件", flags=re.I)[:80]
    document = store.save_document(
        session, tenant_id=tenant.id, kind="import_errors", owner_type=OWNER_TYPE, owner_id=owner_id,
        title=f"{what}导入错误报告", filename=f"错误报告-{stem}.xlsx", content_type=xlsx.XLSX_MIMETYPE, data=data,
        job_id=job_id, actor_id=actor.id)
    session.commit()
    return ImportRejected(summary(errors), errors, document, document_url(tenant.code, document.id))


# ---- Reading the sheets -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Table:
    """A table found by its headings: the heading row and heading → column number."""

    row: int
    columns: dict[str, int]

    def col(self, heading: str) -> int | None:
        return self.columns.get(norm_heading(heading))

    def find(self, predicate: Callable[[str], bool]) -> int | None:
        return next((c for h, c in self.columns.items() if predicate(h)), None)


def find_cell(ws: Any, label: str, max_row: int = 60) -> tuple[int, int] | None:
    wanted = norm_heading(label)
    for row in ws.iter_rows(min_row=1, max_row=min(max_row, ws.max_row or 1)):
        for cell in row:
            if isinstance(cell.value, str) and norm_heading(cell.value) == wanted:
                return cell.row, cell.column
    return None


def right_of(ws: Any, label: str) -> tuple[Any, int | None]:
    found = find_cell(ws, label)
    if found is None:
        return None, None
    return ws.cell(row=found[0], column=found[1] + 1).value, found[0]


def below(ws: Any, label: str) -> tuple[Any, str, int | None]:
    found = find_cell(ws, label)
    if found is None:
        return None, "General", None
    cell = ws.cell(row=found[0] + 1, column=found[1])
    return cell.value, cell.number_format, found[0] + 1


def table(ws: Any, first_heading: str, required: list[str], errors: list[RowError]) -> Table | None:
    found = find_cell(ws, first_heading)
    if found is None:
        errors.append(RowError(None, first_heading, f"找不到表头“{first_heading}”，请使用平台下载的模板填写"))
        return None
    row = found[0]
    columns = {norm_heading(c.value): c.column for c in ws[row] if isinstance(c.value, str) and c.value.strip()}
    result = Table(row, columns)
    for heading in required:
        if result.col(heading) is None:
            errors.append(RowError(row, heading, f"找不到“{heading}”列，请不要删除或改写模板的表头"))
    return result


def data_rows(ws: Any, table: Table, errors: list[RowError],
              stop_words: tuple[str, ...] = ()) -> list[tuple[int, dict[int, Any]]]:
    """The rows under a table's headings that hold anything: (row number, column → cell)."""
    found = []
    limit = xlsx.config("SPREADSHEET_MAX_ROWS", xlsx.DEFAULT_MAX_ROWS)
    for cells in ws.iter_rows(min_row=table.row + 1, max_row=ws.max_row):
        values = {c.column: c for c in cells if getattr(c, "column", None)}
        first = values.get(1)
        if first is not None and norm_heading(first.value) in stop_words:
            break
        if all(text(c.value) == "" or (isinstance(c.value, str) and c.value.startswith("=")) for c in values.values()):
            continue
        if len(found) >= limit:
            errors.append(RowError(cells[0].row, "", f"行数超过上限：一张表最多 {limit} 行"))
            break
        found.append((cells[0].row, values))
    return found


def value(cells: dict[int, Any], column: int | None) -> Any:
    cell = cells.get(column) if column else None
    return None if cell is None else cell.value


def cell_number(cells: dict[int, Any], column: int | None) -> Decimal | None:
    cell = cells.get(column) if column else None
    if cell is None:
        return None
    if isinstance(cell.value, str) and cell.value.startswith("="):
        return None  # a formula the platform computes again
    return xlsx.number(cell.value, getattr(cell, "number_format", "General") or "General")


HUGE = Decimal("1e15")  # beyond any indicator value (and beyond the columns' precision)
HUGE_WAN = Decimal("1e10")  # 万元: a trillion yuan


def too_large(errors: list[RowError], row: int | None, column: str, number: Decimal | None,
              limit: Decimal = HUGE) -> bool:
    if number is not None and abs(number) >= limit:
        errors.append(RowError(row, column, "数值过大，请检查（金额单位为万元）"))
        return True
    return False


def executed_amount(errors: list[RowError], row: int, column: str, name: str, read: Any, missing: str) -> Decimal | None:
    """An executed amount in 万元: ``read()`` parses the cell; missing, negative or absurd amounts are errors."""
    try:
        amount = read()
    except xlsx.NotANumber as exc:
        errors.append(RowError(row, column, f"{name}{exc}"))
        return None
    if amount is None:
        errors.append(RowError(row, column, missing))
    elif amount < 0:
        errors.append(RowError(row, column, f"{name}不能为负数"))
    elif not too_large(errors, row, column, amount, HUGE_WAN):
        return amount
    return None


def _limit(errors: list[RowError], row: int, column: str, value_text: str, size: int) -> str:
    if len(value_text) > size:
        errors.append(RowError(row, column, f"不能超过 {size} 个字（现为 {len(value_text)} 个字）"))
    return value_text[:size]


def _identify(wb: Any, ws: Any, kind: str, tenant: Tenant, project: Project | None) -> list[RowError]:
    """Is this the right form, for this tenant and project?"""
    meta = xlsx.read_meta(wb)
    errors: list[RowError] = []
    template = meta.get("template")
    if template and template != kind:
        other = forms.LABELS.get(template, template)
        return [RowError(None, "", f"这是“{other}”，不是“{forms.LABELS[kind]}”；请上传对应的表格")]
    if meta.get("tenant_code") and meta["tenant_code"] != tenant.code:
        errors.append(RowError(None, "", f"这份表格是为其他财政部门（{meta['tenant_code']}）生成的，请下载本级的模板"))
    if project is None:
        return errors
    if meta.get("project_id") and meta["project_id"] != str(project.id):
        errors.append(RowError(None, "项目编码", f"这份表格属于项目 {meta.get('project_code') or meta['project_id']}，"
                                                 f"不是本项目（{project.code}）"))
    elif not meta:
        code, row = right_of(ws, "项目编码")
        if row is None:
            errors.append(RowError(None, "", f"无法确认这是“{forms.LABELS[kind]}”：请使用平台下载的模板填写"))
        elif text(code) != project.code:
            errors.append(RowError(row, "项目编码", f"表中的项目编码“{text(code)}”不是本项目的编码（{project.code}）"))
    return errors


def recorded_version(wb: Any) -> int | None:
    """The version of the record the form was downloaded from (kept in its hidden ``_jixiao`` sheet), or None."""
    raw = xlsx.read_meta(wb).get("record_version") or ""
    return int(raw) if raw.isdigit() else None


def _sheet(wb: Any, kind: str) -> Any:
    name = forms.KINDS.get(kind, "项目清单")
    return wb[name] if name in wb.sheetnames else xlsx.main_sheet(wb)


# ---- 绩效目标申报表 ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Parsed:
    data: dict[str, Any]
    rows: list[int]  # the sheet row of each item, in order (indicator n of the service is rows[n - 1])
    where: dict[str, tuple[int | None, str]]  # a service field → (row, column) on the sheet


def parse_targets(session: Session, tenant: Tenant, project: Project, wb: Any) -> tuple[Parsed, list[RowError]]:
    ws = _sheet(wb, forms.TARGETS)
    errors = _identify(wb, ws, forms.TARGETS, tenant, project)
    if errors:
        return Parsed({}, [], {}), errors
    overall, overall_row = right_of(ws, "年度总体目标")
    found = table(ws, "一级指标", ["二级指标", "三级指标", "指标方向", "指标值", "计量单位", "权重"], errors)
    if found is None or errors:
        return Parsed({}, [], {}), errors
    heads = {h: found.col(h) for h in ("一级指标", "二级指标", "三级指标", "指标方向", "指标值", "计量单位", "权重", "共性指标编码")}
    indicators: list[dict[str, Any]] = []
    rows: list[int] = []
    for row, cells in data_rows(ws, found, errors):
        before = len(errors)
        level1 = _limit(errors, row, "一级指标", text(value(cells, heads["一级指标"])), 20)
        level2 = _limit(errors, row, "二级指标", text(value(cells, heads["二级指标"])), 40)
        name = _limit(errors, row, "三级指标", text(value(cells, heads["三级指标"])), 200)
        for column, given in (("一级指标", level1), ("二级指标", level2), ("三级指标", name)):
            if not given:
                errors.append(RowError(row, column, f"请填写{column}"))
        raw_direction = text(value(cells, heads["指标方向"]))
        raw_value = value(cells, heads["指标值"])
        if isinstance(raw_value, str) and LEADING_DIRECTION.match(raw_value.strip()):
            symbol = LEADING_DIRECTION.match(raw_value.strip()).group(1)  # type: ignore[union-attr]
            raw_value = LEADING_DIRECTION.sub("", raw_value.strip())
            if not raw_direction:
                raw_direction = symbol
            elif DIRECTIONS.get(raw_direction) != DIRECTIONS.get(symbol):
                errors.append(RowError(row, "指标值", f"指标值前的“{symbol}”与指标方向“{raw_direction}”不一致"))
        direction = DIRECTIONS.get(raw_direction.replace(" ", ""))
        if direction is None:
            errors.append(RowError(row, "指标方向", "请选择指标方向：≥、>、=、≤、<、定性" if not raw_direction
                                   else f"“{raw_direction}”不是指标方向，应为 ≥、>、=、≤、<、定性"))
        target_value: Decimal | None = None
        target_text = ""
        if direction == Direction.QUALITATIVE:
            target_text = _limit(errors, row, "指标值", text(raw_value), 200)
        elif direction is not None:
            try:
                target_value = xlsx.number(raw_value, cells[heads["指标值"]].number_format if heads["指标值"] in cells else "General")
            except xlsx.NotANumber as exc:
                errors.append(RowError(row, "指标值", f"定量指标的指标值{exc}"))
            else:
                if target_value is None:
                    errors.append(RowError(row, "指标值", "定量指标请填写指标值（数字）；文字目标请将指标方向选为“定性”"))
                too_large(errors, row, "指标值", target_value)
        unit = _limit(errors, row, "计量单位", text(value(cells, heads["计量单位"])), 20)
        try:
            weight = cell_number(cells, heads["权重"])
        except xlsx.NotANumber as exc:
            errors.append(RowError(row, "权重（分值）", f"权重{exc}"))
        else:
            if weight is None:
                errors.append(RowError(row, "权重（分值）", "请填写权重（正数）"))
            elif weight <= 0:
                errors.append(RowError(row, "权重（分值）", "权重应大于 0"))
            elif weight >= Decimal("1000000"):
                errors.append(RowError(row, "权重（分值）", "权重过大"))
        catalog = text(value(cells, heads["共性指标编码"])) if heads["共性指标编码"] else ""
        catalog = _limit(errors, row, "共性指标编码", catalog, 40)
        if len(errors) == before:
            indicators.append({"level1": level1, "level2": level2, "name": name, "direction": direction,
                               "target_value": None if target_value is None else str(target_value),
                               "target_text": target_text, "unit": unit, "weight": str(weight),
                               "catalog_code": catalog or None})
            rows.append(row)
    if not indicators and not errors:
        errors.append(RowError(found.row + 1, "三级指标", "表中没有任何绩效指标"))
    overall_text = text(overall)
    if len(overall_text) > 5000:
        errors.append(RowError(overall_row, "年度总体目标", "年度总体目标不能超过 5000 个字"))
    where = {"overall_target": (overall_row, "年度总体目标"), "indicators": (found.row, "一级指标")}
    data = {"overall_target": overall_text, "indicators": indicators, "version": recorded_version(wb)}
    return Parsed(data, rows, where), errors


def precheck_targets(session: Session, actor: User, project: Project) -> None:
    common.require_unit_or_finance(session, actor, project, "填报绩效目标")
    target_set = targets.targets_for(session, project)
    if target_set is not None and target_set.status not in (TargetStatus.DRAFT, TargetStatus.RETURNED):
        raise Conflict(f"绩效目标{target_set.status.label}，不能导入修改；如需修改请联系财政退回")


INDICATOR_FIELD = re.compile(r"^indicators\[(\d+)\]\.(\w+)$")
TARGET_COLUMNS = {"level1": "一级指标", "level2": "二级指标", "name": "三级指标", "direction": "指标方向",
                  "target_value": "指标值", "target_text": "指标值", "unit": "计量单位", "weight": "权重（分值）",
                  "catalog_code": "共性指标编码"}


def _target_location(parsed: Parsed, field: str) -> tuple[int | None, str]:
    match = INDICATOR_FIELD.match(field)
    if match and 0 < int(match.group(1)) <= len(parsed.rows):
        return parsed.rows[int(match.group(1)) - 1], TARGET_COLUMNS.get(match.group(2), match.group(2))
    return parsed.where.get(field, (None, field))


def apply_targets(session: Session, actor: User, tenant: Tenant, project: Project, parsed: Parsed) -> dict[str, Any]:
    target_set = targets.replace_targets(session, actor, tenant, project, parsed.data)
    warnings = [dict(zip(("row", "column"), _target_location(parsed, field), strict=True), message=message)
                for field, message in targets.problems(session, tenant, project, target_set).items()]
    return {"kind": forms.TARGETS, "indicators": len(target_set.indicators), "status": str(target_set.status),
            "warnings": warnings,
            "message": f"已导入 {len(target_set.indicators)} 项绩效指标（{target_set.status.label}）"
                       + ("；提交前请按提示修改：" + "；".join(w["message"] for w in warnings[:3]) if warnings else "")}


# ---- 绩效监控表 -------------------------------------------------------------------------------------------


def _month(raw: Any) -> int | None:
    digits = re.sub(r"[月\s]", "", text(raw))
    return int(digits) if digits.isdigit() else None


def parse_monitoring(session: Session, tenant: Tenant, project: Project, wb: Any) -> tuple[Parsed, list[RowError]]:
    ws = _sheet(wb, forms.MONITORING)
    errors = _identify(wb, ws, forms.MONITORING, tenant, project)
    if errors:
        return Parsed({}, [], {}), errors
    raw_period, period_row = right_of(ws, "监控月份")
    period = _month(raw_period)
    owed = monitoring.periods_owed(session, tenant, project)
    if period_row is None:
        errors.append(RowError(None, "监控月份", "找不到“监控月份”，请使用平台下载的模板"))
    elif period is None or not 1 <= period <= 12:
        errors.append(RowError(period_row, "监控月份", "请填写监控截至的月份（1–12）"))
    elif period not in owed:
        errors.append(RowError(period_row, "监控月份", f"本项目应在以下月份报送监控：{'、'.join(str(m) for m in owed)}"))
    budget = table(ws, "执行数", ["执行数"], errors)
    executed: Decimal | None = None
    budget_row = budget.row + 1 if budget else None
    cause = measure = ""
    if budget is not None and budget_row is not None:
        cells = {c.column: c for c in ws[budget_row]}
        executed = executed_amount(errors, budget_row, "执行数（万元）", "执行数",
                                   lambda: cell_number(cells, budget.col("执行数")),
                                   "请填写截至监控月份的执行数（万元）")
        cause = text(value(cells, budget.col("偏差原因")))
        measure = text(value(cells, budget.col("纠偏措施")))
    found = table(ws, "一级指标", ["三级指标", "预计全年完成情况", "偏差原因", "纠偏措施"], errors)
    actual_col = found.find(lambda h: h.endswith("实际完成值")) if found else None
    if found is not None and actual_col is None:
        errors.append(RowError(found.row, "实际完成值", "找不到“1-N月实际完成值”列，请不要删除或改写模板的表头"))
    if found is None or actual_col is None or errors:
        return Parsed({}, [], {}), errors
    target_set = targets.targets_for(session, project)
    indicators = list(target_set.indicators) if target_set else []
    by_id = {i.id: i for i in indicators}
    by_name: dict[str, list[Any]] = {}
    for indicator in indicators:
        by_name.setdefault(indicator.name, []).append(indicator)
    values: list[dict[str, Any]] = []
    rows: list[int] = []
    where: dict[str, tuple[int | None, str]] = {}
    causes: list[str] = []
    measures: list[str] = []
    seen: dict[int, int] = {}
    id_col, name_col = found.col("指标ID"), found.col("三级指标")
    for row, cells in data_rows(ws, found, errors):
        name = text(value(cells, name_col))
        indicator = None
        raw_id = text(value(cells, id_col))
        if raw_id.isdigit() and int(raw_id) in by_id:
            indicator = by_id[int(raw_id)]
        elif len(by_name.get(name, [])) == 1:
            indicator = by_name[name][0]
        if indicator is None:
            errors.append(RowError(row, "三级指标", f"“{name or raw_id}”不是本项目的绩效指标（请不要增删指标行；修改指标请导入绩效目标申报表）"))
            continue
        if indicator.id in seen:
            errors.append(RowError(row, "三级指标", f"指标“{indicator.name}”与第 {seen[indicator.id]} 行重复"))
            continue
        seen[indicator.id] = row
        qualitative = str(indicator.direction) == Direction.QUALITATIVE
        parts: list[str] = []
        actual: Decimal | None = None
        if qualitative:
            said = text(value(cells, actual_col))
            if said:
                parts.append(f"实际：{said}")
        else:
            try:
                actual = cell_number(cells, actual_col)
            except xlsx.NotANumber as exc:
                errors.append(RowError(row, "实际完成值", f"定量指标的实际完成值{exc}"))
                continue
            if too_large(errors, row, "实际完成值", actual):
                continue
        forecast = text(value(cells, found.col("预计全年完成情况")))
        reason = text(value(cells, found.col("偏差原因")))
        remedy = text(value(cells, found.col("纠偏措施")))
        for label, said in (("预计全年", forecast), ("偏差原因", reason), ("纠偏措施", remedy)):
            if said:
                parts.append(f"{label}：{said}")
        note = "；".join(parts)
        if len(note) > 200:
            errors.append(RowError(row, "偏差原因", f"预计全年完成情况、偏差原因和纠偏措施合计不能超过 200 字（现为 {len(note)} 字），"
                                                  "详细说明请写在“一、预算执行情况”的偏差原因中"))
            continue
        if reason:
            causes.append(f"{indicator.name}：{reason}")
        if remedy:
            measures.append(f"{indicator.name}：{remedy}")
        values.append({"indicator_id": indicator.id, "actual_value": None if actual is None else str(actual),
                       "note": note})
        rows.append(row)
        where[f"values.{indicator.id}"] = (row, "实际完成值")
    where.update({"period": (period_row, "监控月份"), "executed_amount": (budget_row, "执行数（万元）"),
                  "cause": (budget_row, "偏差原因"), "measure": (budget_row, "纠偏措施")})
    meta = xlsx.read_meta(wb)
    # The version recorded is the one of the month the form was made for; another month typed in has none.
    version = recorded_version(wb) if meta.get("period") == str(period) else None
    data = {"period": period, "executed_amount": str(units.yuan_from_wan(executed)) if executed is not None else None,
            "values": values, "cause": cause or "；".join(causes), "measure": measure or "；".join(measures),
            "version": version}
    return Parsed(data, rows, where), errors


def precheck_monitoring(session: Session, actor: User, project: Project) -> None:
    common.require_unit_or_finance(session, actor, project, "填报监控情况")
    if project.stage not in monitoring.MONITORED_STAGES:
        raise Conflict("预算尚未批复，还不能填报绩效监控")
    target_set = targets.targets_for(session, project)
    if target_set is None or not target_set.indicators:
        raise Conflict("项目没有绩效指标，无法填报监控")


def apply_monitoring(session: Session, actor: User, tenant: Tenant, project: Project, parsed: Parsed) -> dict[str, Any]:
    report = monitoring.submit_report(session, actor, tenant, project, parsed.data)
    return {"kind": forms.MONITORING, "report_id": report.id, "period": report.period, "light": str(report.light),
            "execution_rate": str(report.execution_rate), "warnings": report.warnings,
            "message": f"已导入 1-{report.period} 月监控情况：执行率 {report.execution_rate}%，监控结果{report.light.label}"}


# ---- 绩效自评表 -------------------------------------------------------------------------------------------


def parse_self_evaluation(session: Session, tenant: Tenant, project: Project, wb: Any) -> tuple[Parsed, list[RowError]]:
    ws = _sheet(wb, forms.SELF_EVALUATION)
    errors = _identify(wb, ws, forms.SELF_EVALUATION, tenant, project)
    if errors:
        return Parsed({}, [], {}), errors
    raw_executed, executed_format, executed_row = below(ws, "全年执行数")
    executed: Decimal | None = None
    if executed_row is None:
        errors.append(RowError(None, "全年执行数", "找不到“全年执行数”，请使用平台下载的模板"))
    else:
        executed = executed_amount(errors, executed_row, "全年执行数（万元）", "全年执行数",
                                   lambda: xlsx.number(raw_executed, executed_format), "请填写全年执行数（万元）")
    summary_text, _fmt, summary_row = below(ws, "实际完成情况")
    found = table(ws, "一级指标", ["三级指标", "实际完成值", "得分", "偏差原因分析及改进措施"], errors)
    if found is None or errors:
        return Parsed({}, [], {}), errors
    target_set = targets.targets_for(session, project)
    indicators = list(target_set.indicators) if target_set else []
    points, _cap = forms.self_evaluation_points(session, tenant, indicators)
    worth = {i.id: p for i, p in zip(indicators, points, strict=True)}
    by_id = {i.id: i for i in indicators}
    by_name: dict[str, list[Any]] = {}
    for indicator in indicators:
        by_name.setdefault(indicator.name, []).append(indicator)
    scores: list[dict[str, Any]] = []
    rows: list[int] = []
    where: dict[str, tuple[int | None, str]] = {}
    seen: dict[int, int] = {}
    id_col, name_col = found.col("指标ID"), found.col("三级指标")
    actual_col, score_col, note_col = found.col("实际完成值"), found.col("得分"), found.col("偏差原因分析及改进措施")
    for row, cells in data_rows(ws, found, errors, stop_words=("总分", "自评等级")):
        name = text(value(cells, name_col))
        raw_id = text(value(cells, id_col))
        indicator = by_id.get(int(raw_id)) if raw_id.isdigit() else None
        if indicator is None and len(by_name.get(name, [])) == 1:
            indicator = by_name[name][0]
        if indicator is None:
            errors.append(RowError(row, "三级指标", f"“{name or raw_id}”不是本项目的绩效指标（请不要增删指标行）"))
            continue
        if indicator.id in seen:
            errors.append(RowError(row, "三级指标", f"指标“{indicator.name}”与第 {seen[indicator.id]} 行重复"))
            continue
        seen[indicator.id] = row
        where[f"scores.{indicator.id}"] = (row, "实际完成值")
        note = text(value(cells, note_col))
        entry: dict[str, Any] = {"indicator_id": indicator.id, "note": note}
        if str(indicator.direction) == Direction.QUALITATIVE:
            said = text(value(cells, actual_col))
            band = BANDS.get(said)
            if band is None:
                errors.append(RowError(row, "实际完成值", "定性指标请选择评价档次：达成、部分达成、未达成" if not said
                                       else f"“{said}”不是评价档次，应为 达成、部分达成 或 未达成"))
                continue
            try:
                score = cell_number(cells, score_col)
            except xlsx.NotANumber as exc:
                errors.append(RowError(row, "得分", f"得分{exc}"))
                continue
            if score is None:
                errors.append(RowError(row, "得分", f"定性指标请填写得分（本指标分值 {worth[indicator.id]}）"))
                continue
            if too_large(errors, row, "得分", score, Decimal("1e6")):
                continue
            fraction = (score / worth[indicator.id]).quantize(Decimal("0.0001")) if worth[indicator.id] else Decimal(0)
            try:
                scoring.indicator_score("qualitative", None, None, worth[indicator.id], band=band, band_fraction=fraction)
            except ValueError as exc:
                low, high = scoring.QUALITATIVE_BANDS[band][1:]
                errors.append(RowError(row, "得分", f"{exc}；即得分应在 {worth[indicator.id] * low:.2f}–"
                                                    f"{worth[indicator.id] * high:.2f} 之间"))
                continue
            entry.update(band=band, band_fraction=str(fraction))
            where[f"scores.{indicator.id}"] = (row, "得分")
        else:
            try:
                actual = cell_number(cells, actual_col)
            except xlsx.NotANumber as exc:
                errors.append(RowError(row, "实际完成值", f"实际完成值{exc}"))
                continue
            if actual is None:
                errors.append(RowError(row, "实际完成值", f"请填写指标“{indicator.name}”的实际完成值"))
                continue
            if too_large(errors, row, "实际完成值", actual):
                continue
            try:
                scoring.indicator_score(str(indicator.direction), indicator.target_value, actual, worth[indicator.id])
            except ValueError as exc:
                errors.append(RowError(row, "实际完成值", str(exc)))
                continue
            entry["actual_value"] = str(actual)
        scores.append(entry)
        rows.append(row)
    for indicator in indicators:
        if indicator.id not in seen:
            errors.append(RowError(None, "三级指标", f"缺少指标“{indicator.name}”的行，请使用平台下载的最新模板"))
    where.update({"executed_amount": (executed_row, "全年执行数（万元）"), "summary": (summary_row, "实际完成情况")})
    data = {"executed_amount": str(units.yuan_from_wan(executed)) if executed is not None else None, "scores": scores,
            "summary": text(summary_text), "version": recorded_version(wb)}
    return Parsed(data, rows, where), errors


def _self_evaluation(session: Session, project: Project) -> Evaluation | None:
    return session.scalar(sa.select(Evaluation).where(Evaluation.project_id == project.id,
                                                      Evaluation.kind == EvaluationKind.SELF))


def precheck_self_evaluation(session: Session, actor: User, project: Project) -> None:
    common.require_unit_or_finance(session, actor, project, "提交单位自评")
    if project.stage not in evaluations.EVALUATED_STAGES:
        raise Conflict("预算尚未批复的项目不能自评")
    target_set = targets.targets_for(session, project)
    if target_set is None or not target_set.indicators:
        raise Conflict("项目没有已批复的绩效指标，无法自评")
    existing = _self_evaluation(session, project)
    if existing is not None and existing.status is EvaluationStatus.SUBMITTED:
        raise Conflict("单位自评已提交，不能重复提交")


def apply_self_evaluation(session: Session, actor: User, tenant: Tenant, project: Project,
                          parsed: Parsed) -> dict[str, Any]:
    evaluation = _self_evaluation(session, project) or evaluations.start_self_evaluation(session, actor, tenant, project)
    evaluation = evaluations.submit(session, actor, tenant, evaluation, parsed.data)
    return {"kind": forms.SELF_EVALUATION, "evaluation_id": evaluation.id,
            "execution_score": str(evaluation.execution_score), "total_score": str(evaluation.total_score),
            "grade": evaluation.grade,
            "message": f"已提交单位自评：总分 {evaluation.total_score}，自评等级 {evaluation.grade}"}


PROJECT_KINDS: dict[str, tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]] = {
    forms.TARGETS: (precheck_targets, parse_targets, apply_targets),
    forms.MONITORING: (precheck_monitoring, parse_monitoring, apply_monitoring),
    forms.SELF_EVALUATION: (precheck_self_evaluation, parse_self_evaluation, apply_self_evaluation),
}


def _service_errors(parsed: Parsed, fields: dict[str, Any], kind: str, message: str) -> list[RowError]:
    found = []
    for field, said in (fields or {"": message}).items():
        row, column = (_target_location(parsed, field) if kind == forms.TARGETS
                       else parsed.where.get(field, (None, field)))
        found.append(RowError(row, column, said if isinstance(said, str) else "；".join(map(str, said))))
    return found


def import_project_file(session: Session, actor: User, tenant: Tenant, project: Project, kind: str, data: bytes,
                        filename: str) -> dict[str, Any]:
    """Check the whole file, then apply it with one service call; raises :class:`ImportRejected` with the report."""
    if kind not in PROJECT_KINDS:
        raise ValidationFailed(f"没有“{kind}”这种表格", fields={"kind": "应为 targets、monitoring 或 self_evaluation"})
    precheck, parse, apply = PROJECT_KINDS[kind]
    precheck(session, actor, project)
    workbook = xlsx.open_workbook(data, filename)
    parsed, errors = parse(session, tenant, project, workbook)
    what = f"{forms.LABELS[kind]}（{project.code}）"
    if errors:
        raise reject(session, actor, tenant, errors, filename=filename, what=what, owner_id=project.id)
    try:
        return apply(session, actor, tenant, project, parsed)
    except ValidationFailed as exc:
        session.rollback()
        errors = _service_errors(parsed, exc.fields, kind, exc.message)
        raise reject(session, actor, tenant, errors, filename=filename, what=what,
                     owner_id=project.id) from exc
    except Conflict as exc:
        session.rollback()
        if "version" not in exc.fields:
            raise
        # The form was filled from an older state of the record (or before it existed): nothing is imported.
        raise Conflict(f"{exc.message}。这份表格是按较早的数据下载的，期间记录已被修改；请重新下载模板，"
                       "按最新数据填写后再导入（本次未导入任何内容）", fields=exc.fields) from exc


# ---- 项目清单 ----------------------------------------------------------------------------------------------


LIST_FIELDS = {
    "项目编码": "code", "项目名称": "name", "预算年度": "year", "项目类型": "kind", "资金来源": "fund_type",
    "主管部门编码": "department_code", "申请金额": "requested_amount", "项目类别": "category",
    "是否新增": "is_new", "是否重点": "is_key", "是否涉密": "classified",
}


def _code(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return text(raw)


def _flag(raw: Any, default: bool) -> bool | None:
    said = text(raw).lower()
    if not said:
        return default
    if said in TRUE_WORDS:
        return True
    if said in FALSE_WORDS:
        return False
    return None


def parse_project_list(data: bytes, filename: str, tenant: Tenant) -> tuple[list[bulk.ProjectRow], list[RowError]]:
    """Every row of a 项目清单 as values, with the cells that could not be read."""
    workbook = xlsx.open_workbook(data, filename, read_only=True)
    try:
        ws = _sheet(workbook, forms.PROJECT_LIST)
        errors = _identify(workbook, ws, forms.PROJECT_LIST, tenant, None)
        if errors:
            return [], errors
        limit = xlsx.config("SPREADSHEET_MAX_ROWS", xlsx.DEFAULT_MAX_ROWS)
        columns: dict[str, int] | None = None
        heading_row = 0
        rows: list[bulk.ProjectRow] = []
        for cells in ws.iter_rows():
            cells = [c for c in cells if getattr(c, "column", None)]
            if not cells:
                continue
            if columns is None:
                heads = {norm_heading(c.value): c.column for c in cells if isinstance(c.value, str)}
                if "项目编码" in heads and "项目名称" in heads:
                    columns = {field: heads[h] for h, field in LIST_FIELDS.items() if h in heads}
                    heading_row = cells[0].row
                    missing = [h for h, field in LIST_FIELDS.items() if field in bulk.REQUIRED and field not in columns]
                    for heading in missing:
                        errors.append(RowError(heading_row, heading, f"找不到“{heading}”列，请使用平台下载的模板"))
                    if missing:
                        return [], errors
                elif cells[0].row >= 20:
                    break
                continue
            by_col = {c.column: c for c in cells}
            if all(text(c.value) == "" for c in cells):
                continue
            if len(rows) >= limit:
                errors.append(RowError(cells[0].row, "", f"行数超过上限：一次最多导入 {limit} 个项目，请分批导入"))
                return rows, errors
            rows.append(_project_row(cells[0].row, by_col, columns, errors))
        if columns is None:
            return [], [RowError(None, "项目编码", "找不到表头“项目编码”“项目名称”，请使用平台下载的项目清单模板")]
        if not rows:
            errors.append(RowError(heading_row + 1, "项目编码", "表中没有项目行"))
        return rows, errors
    finally:
        workbook.close()


def _project_row(row: int, cells: dict[int, Any], columns: dict[str, int], errors: list[RowError]) -> bulk.ProjectRow:
    item = bulk.ProjectRow(row=row, data={})

    def cell(field: str) -> Any:
        found = cells.get(columns.get(field, -1))
        return None if found is None else found.value

    def bad(field: str, message: str) -> None:
        item.unreadable.add(field)
        errors.append(RowError(row, bulk.COLUMNS[field], message))

    item.data["code"] = _code(cell("code"))
    item.data["name"] = text(cell("name"))
    item.data["category"] = text(cell("category"))
    year = cell("year")
    if year not in (None, ""):
        try:
            number = xlsx.number(year)
        except xlsx.NotANumber:
            number = None
        if number is None or number != number.to_integral_value():
            bad("year", f"预算年度应为四位整数（如 2026），填写的是“{text(year)}”")
        else:
            item.data["year"] = int(number)
    for field, names, what in (("kind", KIND_NAMES, "项目类型应为 项目、政策 或 部门整体"),
                               ("fund_type", FUND_NAMES, "资金来源应为 一般公共预算、政府性基金预算、国有资本经营预算 或 社会保险基金预算")):
        said = text(cell(field))
        if said:
            if said in names:
                item.data[field] = names[said]
            else:
                bad(field, f"{what}，填写的是“{said}”")
    item.data["department_code"] = _code(cell("department_code"))
    amount = cell("requested_amount")
    found = cells.get(columns.get("requested_amount", -1))
    try:
        wan = xlsx.number(amount, getattr(found, "number_format", "General") or "General")
    except xlsx.NotANumber as exc:
        bad("requested_amount", f"申请金额{exc}（单位：万元）")
    else:
        if wan is not None:
            if wan < 0:
                bad("requested_amount", "申请金额不能为负数")
            elif wan >= Decimal("1e10"):
                bad("requested_amount", "申请金额过大（单位是万元）")
            else:
                try:  # exactly, to the cent: a fraction of a cent is refused, not rounded away
                    item.data["requested_amount"] = inputs.check_money(wan, "requested_amount", "申请金额",
                                                                       scale=units.WAN)
                except ValidationFailed as exc:
                    bad("requested_amount", f"{exc.fields['requested_amount']}（单位：万元）")
    for field, default in (("is_new", True), ("is_key", False), ("classified", False)):
        flag = _flag(cell(field), default)
        if flag is None:
            bad(field, f"{bulk.COLUMNS[field]}应填“是”或“否”，填写的是“{text(cell(field))}”")
        else:
            item.data[field] = flag
    return item


@dataclasses.dataclass
class ListCheck:
    rows: list[bulk.ProjectRow]
    errors: list[RowError]


def check_project_list(session: Session, actor: User, tenant: Tenant, data: bytes, filename: str) -> ListCheck:
    bulk.require_may_create(actor, tenant)
    rows, errors = parse_project_list(data, filename, tenant)
    if rows and not any(e.row is None or e.message.startswith("行数超过") for e in errors):
        errors = errors + bulk.validate(session, actor, tenant, rows)
    return ListCheck(rows, errors)
