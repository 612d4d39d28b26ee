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
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import units
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
    Project,
    TargetStatus,
)
from jixiao.spreadsheets import bulk, forms, reader, xlsx
from jixiao.spreadsheets.xlsx import RowError, text
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import DocumentOwner

SHOWN_ERRORS = 50
LEADING_DIRECTION = re.compile(r"^(>=|<=|＞=|＜=|≥|≤|≧|≦|>|<|＞|＜|=|＝)\s*")


class ImportRejected(ValidationFailed):
    """A file with problems: nothing was written; ``fields`` carries the first rows and the report's URL."""

    def __init__(self, message: str, errors: list[RowError], document: Document | None, report_url: str | None) -> None:
        shown = [e.as_dict() for e in xlsx.sort_errors(errors)[:SHOWN_ERRORS]]
        super().__init__(message, fields={"rows": shown, "error_count": xlsx.error_total(errors),
                                          "report_url": report_url,
                                          "document_id": document.id if document else None})
        self.errors = errors
        self.document = document
        self.report_url = report_url


OWNER_TYPE = "spreadsheets"


def _authors_only(session: Session, actor: User, tenant: Tenant) -> Any:
    # An error report shows what one person uploaded; an export, a list as its author sees it: theirs alone.
    return Document.created_by_id == actor.id


#: Import error reports and exports belong to their author alone (registered by the spreadsheets plugin).
SPREADSHEET_DOCUMENTS = DocumentOwner(OWNER_TYPE, _authors_only, "Excel 导入导出")


def document_url(tenant_code: str, document_id: int) -> str:
    """Where a document downloads (a plain path: jobs run without a request to build URLs from)."""
    return documents.download_url(tenant_code, document_id)


def summary(errors: list[RowError]) -> str:
    first = xlsx.sort_errors(errors)[0]
    where = f"第 {first.row} 行" if first.row else "文件"
    column = f"“{first.column}”" if first.column else ""
    total = xlsx.error_total(errors)
    more = f"等 {total} 处问题" if total > 1 else ""
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


# ---- Which form, for whom ---------------------------------------------------------------------------------


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
        errors.append(RowError(None, forms.PROJECT_CODE, f"这份表格属于项目 {meta.get('project_code') or meta['project_id']}，"
                                                         f"不是本项目（{project.code}）"))
    elif not meta:
        code, row = reader.right_of(ws, forms.PROJECT_CODE)
        if row is None:
            errors.append(RowError(None, "", f"无法确认这是“{forms.LABELS[kind]}”：请使用平台下载的模板填写"))
        elif text(code) != project.code:
            errors.append(RowError(row, forms.PROJECT_CODE, f"表中的项目编码“{text(code)}”不是本项目的编码（{project.code}）"))
    return errors


def recorded_version(wb: Any) -> int | None:
    """The version of the record the form was downloaded from (kept in its hidden ``_jixiao`` sheet), or None."""
    raw = xlsx.read_meta(wb).get("record_version") or ""
    return int(raw) if raw.isdigit() else None


def _sheet(wb: Any, kind: str) -> Any:
    name = forms.FORMS[kind].sheet
    return wb[name] if name in wb.sheetnames else xlsx.main_sheet(wb)


@dataclasses.dataclass
class Parsed:
    data: dict[str, Any]
    rows: list[int]  # the sheet row of each item, in order (indicator n of the service is rows[n - 1])
    where: dict[str, tuple[int | None, str]]  # a service field → (row, column) on the sheet


def _nothing() -> Parsed:
    return Parsed({}, [], {})


class _Indicators:
    """The project's indicators as a form's rows name them: by the hidden id, else by a name no other has;
    each once."""

    def __init__(self, indicators: list[Any], unknown: str) -> None:
        self.indicators = indicators
        self.unknown = unknown  # the complaint for a row that is none of them, naming it as {said}
        self.by_id = {i.id: i for i in indicators}
        self.by_name: dict[str, list[Any]] = {}
        for indicator in indicators:
            self.by_name.setdefault(indicator.name, []).append(indicator)
        self.seen: dict[int, int] = {}  # indicator id → its row

    def match(self, row: reader.Row, table: forms.Table) -> Any | None:
        name_column = table["name"]
        name, raw_id = row.read(name_column), row.read(table["indicator_id"])
        indicator = self.by_id.get(int(raw_id)) if raw_id.isdigit() else None
        if indicator is None and len(self.by_name.get(name, [])) == 1:
            indicator = self.by_name[name][0]
        if indicator is None:
            row.error(name_column, self.unknown.format(said=name or raw_id))
            return None
        if indicator.id in self.seen:
            row.error(name_column, f"指标“{indicator.name}”与第 {self.seen[indicator.id]} 行重复")
            return None
        self.seen[indicator.id] = row.number
        return indicator

    def missing(self, table: forms.Table) -> list[RowError]:
        return [RowError(None, table["name"].label, f"缺少指标“{i.name}”的行，请使用平台下载的最新模板")
                for i in self.indicators if i.id not in self.seen]


def _indicators_of(session: Session, project: Project) -> list[Any]:
    target_set = targets.targets_for(session, project)
    return list(target_set.indicators) if target_set else []


def _yuan(wan: Decimal | None) -> str | None:
    return str(units.yuan_from_wan(wan)) if wan is not None else None


# ---- 绩效目标申报表 ---------------------------------------------------------------------------------------


def parse_targets(session: Session, tenant: Tenant, project: Project, wb: Any) -> tuple[Parsed, list[RowError]]:
    ws = _sheet(wb, forms.TARGETS)
    errors = _identify(wb, ws, forms.TARGETS, tenant, project)
    if errors:
        return _nothing(), errors
    table = forms.TARGET_INDICATORS
    found = reader.find_table(ws, table, errors)
    if found is None or errors:
        return _nothing(), errors
    indicators: list[dict[str, Any]] = []
    rows: list[int] = []
    for row in reader.data_rows(ws, found, errors):
        indicator = _indicator(row)
        if indicator is not None:
            indicators.append(indicator)
            rows.append(row.number)
    if not indicators and not errors:
        errors.append(RowError(found.row + 1, table["name"].label, "表中没有任何绩效指标"))
    overall, overall_row = reader.read_field(ws, forms.OVERALL_TARGET, errors)
    where = {"overall_target": (overall_row, forms.OVERALL_TARGET.label),
             "indicators": (found.row, table["level1"].label)}
    data = {"overall_target": overall, "indicators": indicators, "version": recorded_version(wb)}
    return Parsed(data, rows, where), errors


def _indicator(row: reader.Row) -> dict[str, Any] | None:
    """An indicator row as the service takes it; None when it has problems (said in the row's errors)."""
    table = forms.TARGET_INDICATORS
    level1, level2, name = (row.read(table[field]) for field in ("level1", "level2", "name"))
    direction, target_value, target_text = _target(row)
    unit, weight, catalog = (row.read(table[field]) for field in ("unit", "weight", "catalog_code"))
    if not row.ok:
        return None
    return {"level1": level1, "level2": level2, "name": name, "direction": direction,
            "target_value": None if target_value is None else str(target_value), "target_text": target_text,
            "unit": unit, "weight": str(weight), "catalog_code": catalog or None}


def _target(row: reader.Row) -> tuple[str | None, Decimal | None, str | None]:
    """An indicator's direction and target (a number, or the words of a qualitative one). The direction may
    be typed in front of the value instead (“≥95”), and must then agree with the 指标方向 column."""
    table = forms.TARGET_INDICATORS
    direction_column, value_column = table["direction"], table["target_value"]
    said = text(row.value(direction_column))
    raw = row.value(value_column)
    match = LEADING_DIRECTION.match(raw.strip()) if isinstance(raw, str) else None
    if match:
        symbol, raw = match.group(1), LEADING_DIRECTION.sub("", raw.strip())
        if not said:
            said = symbol
        elif forms.DIRECTIONS.get(said) != forms.DIRECTIONS.get(symbol):
            row.error(value_column, f"指标值前的“{symbol}”与指标方向“{said}”不一致")
    direction = row.read(direction_column, raw=said)
    if direction is None:
        return None, None, ""
    if direction == Direction.QUALITATIVE:
        return direction, None, row.read(value_column, raw=raw, parse=value_column.qualitative)
    return direction, row.read(value_column, raw=raw), ""


def precheck_targets(session: Session, actor: User, project: Project) -> None:
    common.require_unit_or_finance(session, actor, project, "填报绩效目标")
    target_set = targets.targets_for(session, project)
    if target_set is not None and target_set.status not in (TargetStatus.DRAFT, TargetStatus.RETURNED):
        raise Conflict(f"绩效目标{target_set.status.label}，不能导入修改；如需修改请联系财政退回")


INDICATOR_FIELD = re.compile(r"^indicators\[(\d+)\]\.(\w+)$")
TARGET_COLUMNS = forms.TARGET_INDICATORS.service_columns()


def _target_location(parsed: Parsed, field: str) -> tuple[int | None, str]:
    match = INDICATOR_FIELD.match(field)
    if match and 0 < int(match.group(1)) <= len(parsed.rows):
        return parsed.rows[int(match.group(1)) - 1], TARGET_COLUMNS.get(match.group(2), match.group(2))
    return parsed.where.get(field, (None, field))


def apply_targets(session: Session, actor: User, tenant: Tenant, project: Project, parsed: Parsed) -> dict[str, Any]:
    target_set = targets.replace_targets(session, actor, tenant, project, parsed.data)
    warnings: list[dict[str, Any]] = [
        dict(zip(("row", "column"), _target_location(parsed, field), strict=True), message=message)
        for field, message in targets.problems(session, tenant, project, target_set).items()]
    return {"kind": forms.TARGETS, "indicators": len(target_set.indicators), "status": str(target_set.status),
            "warnings": warnings,
            "message": f"已导入 {len(target_set.indicators)} 项绩效指标（{target_set.status.label}）"
                       + ("；提交前请按提示修改：" + "；".join(w["message"] for w in warnings[:3]) if warnings else "")}


# ---- 绩效监控表 -------------------------------------------------------------------------------------------

NOTE_MAX_LENGTH = 200  # a monitoring value's note (预计全年, 偏差原因, 纠偏措施 together)
UNKNOWN_MONITORED = "“{said}”不是本项目的绩效指标（请不要增删指标行；修改指标请导入绩效目标申报表）"


def parse_monitoring(session: Session, tenant: Tenant, project: Project, wb: Any) -> tuple[Parsed, list[RowError]]:
    ws = _sheet(wb, forms.MONITORING)
    errors = _identify(wb, ws, forms.MONITORING, tenant, project)
    if errors:
        return _nothing(), errors
    period, period_row = reader.read_field(ws, forms.PERIOD, errors,
                                           owed=monitoring.periods_owed(session, tenant, project))
    budget = _monitoring_budget(ws, errors)
    found = reader.find_table(ws, forms.MONITORING_INDICATORS, errors)
    if found is None or errors:
        return _nothing(), errors
    lines = _monitoring_lines(ws, found, _indicators_of(session, project), errors)
    table = forms.MONITORING_BUDGET
    lines.where.update({"period": (period_row, forms.PERIOD.label),
                        **{field: (budget.row, table[field].label) for field in ("executed_amount", "cause", "measure")}})
    # The version recorded is the one of the month the form was made for; another month typed in has none.
    version = recorded_version(wb) if xlsx.read_meta(wb).get("period") == str(period) else None
    data = {"period": period, "executed_amount": _yuan(budget.executed), "values": lines.values,
            "cause": budget.cause or "；".join(lines.causes), "measure": budget.measure or "；".join(lines.measures),
            "version": version}
    return Parsed(data, lines.rows, lines.where), errors


@dataclasses.dataclass
class _Budget:
    executed: Decimal | None = None
    cause: str = ""
    measure: str = ""
    row: int | None = None


def _monitoring_budget(ws: Any, errors: list[RowError]) -> _Budget:
    """一、预算执行情况: the amount executed so far (万元), and the budget's cause and measure."""
    table = forms.MONITORING_BUDGET
    found = reader.find_table(ws, table, errors)
    if found is None:
        return _Budget()
    row = reader.value_row(ws, found, errors)
    return _Budget(row.read(table["executed_amount"]), row.read(table["cause"]), row.read(table["measure"]),
                   row.number)


@dataclasses.dataclass
class _Lines:
    values: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    rows: list[int] = dataclasses.field(default_factory=list)
    where: dict[str, tuple[int | None, str]] = dataclasses.field(default_factory=dict)
    causes: list[str] = dataclasses.field(default_factory=list)  # each indicator's cause, named
    measures: list[str] = dataclasses.field(default_factory=list)


def _monitoring_lines(ws: Any, found: reader.Found, indicators: list[Any], errors: list[RowError]) -> _Lines:
    """二、绩效目标完成情况: each indicator's value of the month."""
    table = forms.MONITORING_INDICATORS
    matcher = _Indicators(indicators, UNKNOWN_MONITORED)
    lines = _Lines()
    for row in reader.data_rows(ws, found, errors):
        indicator = matcher.match(row, table)
        if indicator is None:
            continue
        line = _monitoring_value(row, indicator)
        if line is None:
            continue
        value, reason, remedy = line
        if reason:
            lines.causes.append(f"{indicator.name}：{reason}")
        if remedy:
            lines.measures.append(f"{indicator.name}：{remedy}")
        lines.values.append(value)
        lines.rows.append(row.number)
        lines.where[f"values.{indicator.id}"] = (row.number, table["actual_value"].label)
    return lines


def _monitoring_value(row: reader.Row, indicator: Any) -> tuple[dict[str, Any], str, str] | None:
    """An indicator's value of the month and its cause and remedy; None when the row has problems. What has no
    column of its own (the forecast, the cause, the remedy, a qualitative indicator's words) goes in the note."""
    table = forms.MONITORING_INDICATORS
    column = table["actual_value"]
    actual: Decimal | None = None
    parts: list[tuple[str, str]] = []
    if forms.is_qualitative(indicator):
        parts.append((forms.ACTUAL_PART, row.read(column, parse=column.qualitative)))
    else:
        actual = row.read(column)
        if not row.ok:
            return None
    said = {field: row.read(table[field]) for field in forms.NOTE_PARTS}
    note = forms.note_text([*parts, *((label, said[field]) for field, label in forms.NOTE_PARTS.items())])
    if len(note) > NOTE_MAX_LENGTH:
        headers = "、".join(table[field].header for field in ("forecast", "reason")) + "和" + table["remedy"].header
        row.error(table["reason"], f"{headers}合计不能超过 {NOTE_MAX_LENGTH} 字（现为 {len(note)} 字），"
                                   "详细说明请写在“一、预算执行情况”的偏差原因中")
        return None
    value = {"indicator_id": indicator.id, "actual_value": None if actual is None else str(actual), "note": note}
    return value, said["reason"], said["remedy"]


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

UNKNOWN_EVALUATED = "“{said}”不是本项目的绩效指标（请不要增删指标行）"


def parse_self_evaluation(session: Session, tenant: Tenant, project: Project, wb: Any) -> tuple[Parsed, list[RowError]]:
    ws = _sheet(wb, forms.SELF_EVALUATION)
    errors = _identify(wb, ws, forms.SELF_EVALUATION, tenant, project)
    if errors:
        return _nothing(), errors
    executed, executed_row = _executed(ws, errors)
    summary, summary_row = reader.read_field(ws, forms.SUMMARY, errors)
    table = forms.SELF_INDICATORS
    found = reader.find_table(ws, table, errors)
    if found is None or errors:
        return _nothing(), errors
    indicators = _indicators_of(session, project)
    points, _cap = forms.self_evaluation_points(session, tenant, indicators)
    worth = {i.id: p for i, p in zip(indicators, points, strict=True)}
    matcher = _Indicators(indicators, UNKNOWN_EVALUATED)
    scores: list[dict[str, Any]] = []
    rows: list[int] = []
    where: dict[str, tuple[int | None, str]] = {}
    for row in reader.data_rows(ws, found, errors):
        indicator = matcher.match(row, table)
        if indicator is None:
            continue
        where[f"scores.{indicator.id}"] = (row.number, table["actual_value"].label)
        entry = _score(row, indicator, worth[indicator.id])
        if entry is None:
            continue
        if "band" in entry:  # a qualitative score is the points typed, which the service checks
            where[f"scores.{indicator.id}"] = (row.number, table["score"].label)
        scores.append(entry)
        rows.append(row.number)
    errors.extend(matcher.missing(table))
    where.update({"executed_amount": (executed_row, forms.SELF_BUDGET["executed_amount"].label),
                  "summary": (summary_row, forms.SUMMARY.label)})
    data = {"executed_amount": _yuan(executed), "scores": scores, "summary": summary, "version": recorded_version(wb)}
    return Parsed(data, rows, where), errors


def _executed(ws: Any, errors: list[RowError]) -> tuple[Decimal | None, int | None]:
    """一、预算执行情况: the year's amount executed (万元) and its row."""
    table = forms.SELF_BUDGET
    found = reader.find_table(ws, table, errors)
    if found is None:
        return None, None
    row = reader.value_row(ws, found, errors)
    return row.read(table["executed_amount"]), row.number


def _score(row: reader.Row, indicator: Any, worth: Decimal) -> dict[str, Any] | None:
    """An indicator's self-evaluation as the service takes it; None when the row has problems."""
    entry: dict[str, Any] = {"indicator_id": indicator.id, "note": row.read(forms.SELF_INDICATORS["note"])}
    graded = _band(row, worth) if forms.is_qualitative(indicator) else _actual(row, indicator, worth)
    return None if graded is None else {**entry, **graded}


def _band(row: reader.Row, worth: Decimal) -> dict[str, Any] | None:
    """A qualitative indicator: the band chosen, and the points given within the band's range."""
    table = forms.SELF_INDICATORS
    band = row.read(table["actual_value"], parse=table["actual_value"].qualitative)
    score = row.read(table["score"], worth=worth) if band is not None else None
    if score is None:
        return None
    fraction = (score / worth).quantize(Decimal("0.0001")) if worth else Decimal(0)
    try:
        scoring.indicator_score("qualitative", None, None, worth, band=band, band_fraction=fraction)
    except ValueError as exc:
        low, high = scoring.QUALITATIVE_BANDS[band][1:]
        row.error(table["score"], f"{exc}；即得分应在 {worth * low:.2f}–{worth * high:.2f} 之间")
        return None
    return {"band": band, "band_fraction": str(fraction)}


def _actual(row: reader.Row, indicator: Any, worth: Decimal) -> dict[str, Any] | None:
    """A quantitative indicator: the value attained (the points are the platform's to compute)."""
    column = forms.SELF_INDICATORS["actual_value"]
    actual = row.read(column, indicator=indicator.name)
    if actual is None:
        return None
    try:
        scoring.indicator_score(str(indicator.direction), indicator.target_value, actual, worth)
    except ValueError as exc:
        row.error(column, str(exc))
        return None
    return {"actual_value": str(actual)}


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


def max_import_rows() -> int:
    """The most rows a 项目清单 may have (``SPREADSHEET_MAX_IMPORT_ROWS``, 50,000)."""
    return xlsx.config("SPREADSHEET_MAX_IMPORT_ROWS", xlsx.DEFAULT_MAX_IMPORT_ROWS)


def request_rows() -> int:
    """The longest 项目清单 whose every row is checked during the upload (``SPREADSHEET_IMPORT_REQUEST_ROWS``,
    5,000); a longer one is checked, row by row, by its job."""
    return xlsx.config("SPREADSHEET_IMPORT_REQUEST_ROWS", xlsx.DEFAULT_IMPORT_REQUEST_ROWS)


def _list_table(workbook: Any, tenant: Tenant, errors: list[RowError]) -> tuple[Any, reader.Found | None]:
    """The list's sheet and its table, when the file is this tenant's 项目清单 (else said in ``errors``)."""
    ws = _sheet(workbook, forms.PROJECT_LIST)
    errors.extend(_identify(workbook, ws, forms.PROJECT_LIST, tenant, None))
    if errors:
        return ws, None
    found = reader.find_table(ws, forms.PROJECTS, errors)
    return ws, None if errors else found


def _no_rows(found: reader.Found) -> RowError:
    return RowError(found.row + 1, forms.PROJECTS["code"].label, "表中没有项目行")


@dataclasses.dataclass(frozen=True)
class Survey:
    """A 项目清单 looked at, not read: whether it is one of this tenant's (``errors``), and its rows."""

    rows: int
    errors: list[RowError]


def survey_project_list(data: bytes, filename: str, tenant: Tenant) -> Survey:
    """Is this the tenant's 项目清单 with its headings, and how many rows has it (at most
    :func:`max_import_rows`)? The rows are counted in the sheet's XML, none is parsed or kept."""
    errors: list[RowError] = []
    workbook = xlsx.open_workbook(data, filename, read_only=True)
    try:
        ws, found = _list_table(workbook, tenant, errors)
        if found is None:
            return Survey(0, errors)
        count = reader.count_rows(data, ws, found, errors, max_import_rows())
        if not count and not errors:
            errors.append(_no_rows(found))
        return Survey(count, errors)
    finally:
        workbook.close()


def project_rows(data: bytes, filename: str, tenant: Tenant, errors: list[RowError]) -> Iterator[bulk.ProjectRow]:
    """Each row of a 项目清单 as values, one at a time, with the cells that could not be read (in ``errors``,
    as are a file that is not the tenant's list, and more rows than :func:`max_import_rows`)."""
    workbook = xlsx.open_workbook(data, filename, read_only=True)
    try:
        ws, found = _list_table(workbook, tenant, errors)
        if found is None:
            return
        count = 0
        for row in reader.sheet_data_rows(data, workbook, ws, found, errors, limit=max_import_rows()):
            count += 1
            yield _project_row(row)
        if not count:
            errors.append(_no_rows(found))
    finally:
        workbook.close()


def _project_row(row: reader.Row) -> bulk.ProjectRow:
    """A project's values as read (an empty year, type, source or amount is left out, for :func:`bulk.validate`
    to ask for), and the columns that could not be read."""
    item = bulk.ProjectRow(row=row.number, data={})
    for column in forms.PROJECTS.columns:
        value = row.read(column)
        if value is not None:
            item.data[column.field] = value
    item.unreadable.update(row.failed)
    return item


@dataclasses.dataclass
class ListCheck:
    rows: list[bulk.ProjectValues]  # the rows checked, as written (none when any has a problem, or given away)
    errors: list[RowError]
    count: int  # the rows read


PROGRESS_EVERY = 2000  # rows between two progress reports of a long list's check


def check_project_list(session: Session, actor: User, tenant: Tenant, data: bytes, filename: str, *,
                       keep: Callable[[bulk.ProjectValues], None] | None = None,
                       progress: bulk.Progress | None = None, expected: int = 0) -> ListCheck:
    """Read and check every row of a 项目清单, one at a time. While no row has a problem each checked row is
    kept (in ``rows``, or given to ``keep``: a long list's spool); after the first problem the rest are only
    checked, so the error report has them all. ``errors`` is an :class:`xlsx.ErrorLog`."""
    checker = bulk.Checker(session, actor, tenant)
    errors = xlsx.ErrorLog()
    rows: list[bulk.ProjectValues] = []
    kept = keep or rows.append
    count = 0
    for item in project_rows(data, filename, tenant, errors):
        count += 1
        errors.extend(checker.check(item))
        if not errors.total:
            kept(checker.values(item))
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(5 + 50 * count // max(expected, count), f"已校验 {count}/{max(expected, count)} 行")
    limits = [e for e in errors if e.row is None or e.message.startswith("行数超过")]
    if limits:
        # The file as a whole is refused (not this tenant's list, too long): its rows' problems would be noise.
        errors = xlsx.ErrorLog()
        errors.extend(limits)
    return ListCheck(rows if not errors.total else [], errors, count)
