"""What every spreadsheet of the platform shares: reading an upload safely, styles, the hidden metadata sheet,
cell values as numbers and text, and the error report.

An upload is judged by its content, never by its name: an .xlsx file is a zip archive holding
``[Content_Types].xml`` and ``xl/workbook.xml``; anything else (a renamed text file, an old binary .xls, a
truncated download, a zip bomb) is refused with a sentence a clerk understands.

Every workbook leaves through :func:`to_bytes` (or :func:`rows_to_xlsx`), which writes whatever a user typed
as text: openpyxl turns any string that starts with "=" into a live formula, so a project named
``=HYPERLINK(…)`` would otherwise run in the reader's Excel (formula injection). Only the formulas a form
writes on purpose, given as :class:`Formula` through :func:`set_value`, stay formulas.
"""

from __future__ import annotations

import dataclasses
import io
import re
import weakref
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from flask import current_app, has_app_context
from openpyxl import Workbook, load_workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook as WorkbookType
from openpyxl.worksheet.worksheet import Worksheet

from jixiao import units
from jixiao.documents import uploads
from jixiao.errors import DomainError, ValidationFailed

XLSX_MIMETYPE = uploads.XLSX
META_SHEET = "_jixiao"
TEMPLATE_VERSION = 1
DEFAULT_MAX_ROWS = 5000  # the rows of any form's table (SPREADSHEET_MAX_ROWS), the project list's excepted
#: The project list (项目清单): at most this many rows (SPREADSHEET_MAX_IMPORT_ROWS); up to
#: SPREADSHEET_IMPORT_REQUEST_ROWS every row is checked during the upload, a longer list by its job.
DEFAULT_MAX_IMPORT_ROWS = 50_000
DEFAULT_IMPORT_REQUEST_ROWS = 5000
#: The problems of one file kept for its error report (all are counted): a list of 50,000 bad rows would
#: otherwise hold every one in memory and make a report nobody reads to the end.
KEPT_ERRORS = 10_000
# An .xlsx compresses well, but not a thousand times: more than this unpacked is a zip bomb, not a form.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024

ZIP_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls (and .doc)

THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADING_FILL = PatternFill("solid", fgColor="DDE6F0")
INPUT_FILL = PatternFill("solid", fgColor="FFF7D6")
LABEL_FILL = PatternFill("solid", fgColor="F2F2F2")
TITLE_FONT = Font(size=16, bold=True)
BOLD = Font(bold=True)
NOTE_FONT = Font(size=9, color="666666")
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
MONEY_FORMAT = "#,##0.00####"
PERCENT_FORMAT = "0.00%"


class FileTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    default_message = "上传的文件过大"


def config(name: str, default: int) -> int:
    if has_app_context():
        return int(current_app.config.get(name) or default)
    return default


# ---- Reading an upload ------------------------------------------------------------------------------------


def refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"file": message})


def check_upload(data: bytes | None, filename: str = "") -> None:
    """Refuse what is not a readable .xlsx workbook, before openpyxl sees it."""
    limit = config("MAX_CONTENT_LENGTH", 20 * 1024 * 1024)
    if not data:
        raise refuse("上传的文件是空的，请选择填好的 Excel 文件（.xlsx）")
    if len(data) > limit:
        raise FileTooLarge(f"文件过大（{len(data) / 1024 / 1024:.1f} MB），上限为 {limit / 1024 / 1024:.0f} MB；"
                           "请删除多余的工作表或分批导入", fields={"file": "文件过大"})
    if data.startswith(OLE_SIGNATURE):
        raise refuse("这是旧版 Excel（.xls）或其他 Office 文件，请在 Excel 中“另存为”Excel 工作簿（.xlsx）后再上传")
    if not data.startswith(ZIP_SIGNATURE):
        looks = "文本或 CSV 文件" if _looks_like_text(data) else "未知格式的文件"
        raise refuse(f"“{filename or '上传的文件'}”不是 Excel 工作簿（.xlsx），看起来是{looks}；"
                     "请使用平台下载的模板填写后上传")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise refuse("文件已损坏或不完整（无法作为 .xlsx 打开），请在 Excel 中重新保存后上传") from exc
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise refuse("这是一个压缩包，但不是 Excel 工作簿（.xlsx）；请使用平台下载的模板")
    if unpacked > MAX_UNPACKED_BYTES:
        raise refuse("文件解压后过大，不像是一份填报表格；请删除多余内容或分批导入")
    if not uploads.ooxml_declares(archive, uploads.OOXML_MAIN[".xlsx"]):
        # e.g. a macro-enabled .xlsm renamed .xlsx: its workbook part has another type
        raise refuse("这个文件不是 Excel 工作簿（.xlsx）（可能是启用宏的工作簿或其他 Office 文件）；"
                     "请在 Excel 中“另存为”Excel 工作簿（.xlsx）后再上传")
    try:
        broken = archive.testzip() if len(data) < 5 * 1024 * 1024 else None
    except Exception as exc:  # noqa: BLE001 - zlib and zipfile errors alike mean a damaged file
        raise refuse("文件已损坏或不完整（无法作为 .xlsx 打开），请在 Excel 中重新保存后上传") from exc
    if broken is not None:
        raise refuse(f"文件已损坏（{broken} 校验失败），请在 Excel 中重新保存后上传")


def _looks_like_text(data: bytes) -> bool:
    head = data[:2048]
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError:
        try:
            head.decode("gb18030")
            return b"\x00" not in head
        except UnicodeDecodeError:
            return False


def open_workbook(data: bytes, filename: str = "", *, read_only: bool = False) -> WorkbookType:
    check_upload(data, filename)
    try:
        return load_workbook(io.BytesIO(data), read_only=read_only, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds of errors for malformed files
        raise refuse("无法读取该 Excel 文件（格式不完整或已损坏），请在 Excel 中重新保存为 .xlsx 后上传") from exc


# ---- Metadata ---------------------------------------------------------------------------------------------


def write_meta(workbook: WorkbookType, values: dict[str, Any]) -> None:
    """A very hidden sheet saying what the workbook is (template kind, version, tenant, project)."""
    sheet = workbook.create_sheet(META_SHEET)
    sheet.append(["key", "value"])
    for key, value in {"version": TEMPLATE_VERSION, **values}.items():
        sheet.append([key, "" if value is None else str(value)])
    sheet.sheet_state = "veryHidden"


def read_meta(workbook: WorkbookType) -> dict[str, str]:
    if META_SHEET not in workbook.sheetnames:
        return {}
    meta: dict[str, str] = {}
    for row in workbook[META_SHEET].iter_rows(min_row=2, max_col=2, values_only=True):
        if row and row[0]:
            meta[str(row[0])] = "" if row[1] is None else str(row[1])
    return meta


def active_sheet(workbook: WorkbookType) -> Worksheet:
    """The workbook's active worksheet: a new ``Workbook()`` always has one, but the stubs type ``active`` as
    any sheet or None, so a workbook without a worksheet there is refused plainly rather than failing later."""
    sheet = workbook.active
    if not isinstance(sheet, Worksheet):
        raise TypeError(f"workbook has no active worksheet (found {type(sheet).__name__})")
    return sheet


def main_sheet(workbook: WorkbookType) -> Any:
    visible = [ws for ws in workbook.worksheets if ws.title != META_SHEET and ws.sheet_state == "visible"]
    return visible[0] if visible else workbook.worksheets[0]


# ---- Cell values ------------------------------------------------------------------------------------------


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


HEADING_NOISE = re.compile(r"[\s*＊]|[（(][^）)]*[）)]")


def norm_heading(value: Any) -> str:
    """A heading without spaces, asterisks and parenthesised units: “申请金额（万元）*” → “申请金额”."""
    return HEADING_NOISE.sub("", text(value))


class NotANumber(ValueError):
    pass


def number(value: Any, number_format: str = "General") -> Decimal | None:
    """A cell as a Decimal (None when blank). Percent-formatted cells give the percent (95% → 95)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise NotANumber("应为数字")
    if isinstance(value, int | float | Decimal):
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if "%" in (number_format or ""):
            result *= 100
        # A whole number without its trailing zeros, kept positional (100.0 → 100, never normalize()'s 1E+2).
        return _positional(result, value) if result == result.to_integral_value() else result
    cleaned = str(value).strip().replace(",", "").replace("，", "").replace(" ", "")
    percent = cleaned.endswith(("%", "％"))
    if percent:
        cleaned = cleaned[:-1]
    try:
        result = Decimal(cleaned)
    except InvalidOperation as exc:
        raise NotANumber(f"“{text(value)}”不是数字") from exc
    if not result.is_finite():
        raise NotANumber(f"“{text(value)}”不是数字")
    # "1E+2" typed into a cell is 100: kept positional, so no page or export shows the exponent.
    return _positional(result, value) if result.as_tuple().exponent > 0 else result  # type: ignore[operator]


def _positional(result: Decimal, value: Any) -> Decimal:
    """A whole number with exponent 0 (1E+2 → 100); one too large to hold so is refused, not overflowed."""
    try:
        return result.quantize(Decimal(1))
    except InvalidOperation as exc:
        raise NotANumber(f"“{text(value)}”超出可记录的范围") from exc


def cell_float(value: Decimal | None) -> float | None:
    """Excel stores doubles; write Decimals as such (exact for the cents of any realistic budget)."""
    return None if value is None else float(value)


# ---- Errors -----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RowError:
    """One problem of an uploaded sheet: the row as Excel numbers it, the column heading, what is wrong."""

    row: int | None
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


class ErrorLog(list[RowError]):
    """A file's problems as they are found: every one counted (:attr:`total`), the first ``keep`` kept."""

    def __init__(self, keep: int | None = None) -> None:
        super().__init__()
        self.keep = KEPT_ERRORS if keep is None else keep
        self.total = 0

    def append(self, error: RowError) -> None:
        self.total += 1
        if len(self) < self.keep:
            super().append(error)

    def extend(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.append(error)


def error_total(errors: Sequence[RowError]) -> int:
    """How many problems a file has (an :class:`ErrorLog` keeps only the first of very many)."""
    return errors.total if isinstance(errors, ErrorLog) else len(errors)


def sort_errors(errors: Iterable[RowError]) -> list[RowError]:
    return sorted(errors, key=lambda e: (e.row or 0, e.column))


def error_report(errors: Sequence[RowError], *, filename: str, what: str, uploader: str = "") -> bytes:
    """The rejected file's error report: 行号 | 列 | 问题, one line per problem."""
    workbook = Workbook()
    sheet = active_sheet(workbook)
    sheet.title = "错误报告"
    sheet.append(["行号", "列", "问题"])
    for cell in sheet[1]:
        cell.font, cell.fill, cell.border, cell.alignment = BOLD, HEADING_FILL, BORDER, CENTER
    for error in sort_errors(errors):
        sheet.append([error.row if error.row is not None else "—", error.column or "—", error.message])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.border, cell.alignment = BORDER, WRAP
    sheet.column_dimensions["A"].width = 8
    sheet.column_dimensions["B"].width = 20
    sheet.column_dimensions["C"].width = 80
    sheet.freeze_panes = "A2"
    about = workbook.create_sheet("说明")
    about.append(["导入内容", what])
    about.append(["上传文件", filename])
    about.append(["上传人", uploader])
    total = error_total(errors)
    about.append(["问题数", total if total == len(errors) else f"{total}（本报告列出前 {len(errors)} 处）"])
    about.append(["处理结果", "文件未导入任何数据。请按本报告逐条修改原文件后重新上传。"])
    about.column_dimensions["A"].width = 12
    about.column_dimensions["B"].width = 70
    return to_bytes(workbook)


def to_bytes(workbook: WorkbookType) -> bytes:
    """The workbook as .xlsx, every cell that is not a deliberate :class:`Formula` written as text."""
    for sheet in workbook.worksheets:
        if isinstance(sheet, Worksheet):
            deliberate = _FORMULAS.get(sheet, set())
            # ``_cells`` holds only the cells written; iter_rows() would create every empty one in the range.
            # A MergedCell always holds None (data type "n"), so as_text() has nothing to do there.
            for cell in sheet._cells.values():
                if isinstance(cell, Cell) and cell.coordinate not in deliberate:
                    as_text(cell)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _keep_carriage_returns(buffer.getvalue())


# ---- Text, never formulas ---------------------------------------------------------------------------------


class Formula(str):
    """A formula a form computes on purpose (an execution rate, a score): see :func:`set_value`."""


# Which cells of a sheet hold a deliberate formula: openpyxl keeps a plain str, so the mark cannot ride on
# the value itself. Keyed by the cell's sheet, a Worksheet: object because the stubs type Cell.parent as any
# workbook child.
_FORMULAS: weakref.WeakKeyDictionary[object, set[str]] = weakref.WeakKeyDictionary()


def set_value(cell: Cell, value: Any) -> Cell:
    """Write ``value`` into ``cell``; a :class:`Formula` stays a formula in :func:`to_bytes`, any other text
    starting with "=" is written as the text it is."""
    cell.value = value
    if isinstance(value, Formula):
        _FORMULAS.setdefault(cell.parent, set()).add(cell.coordinate)
    return cell


def as_text(cell: Cell) -> Cell:
    """A string openpyxl took for a formula ("=…") or an error ("#N/A") becomes the string it is.

    An explicit string type rather than a leading apostrophe: the cell shows exactly the text, and a file
    exported and imported again gives it back unchanged. "+", "-", "@", tab and CR are already plain strings
    in an .xlsx (typed cells, unlike CSV), so they need nothing.
    """
    if cell.data_type in ("f", "e") and isinstance(cell.value, str):
        cell.data_type = "s"
    return cell


def _keep_carriage_returns(data: bytes) -> bytes:
    """Write a CR inside text as ``&#13;``: XML parsers (Excel's, openpyxl's) read a raw CR as a line feed,
    so "\\rx" would come back as "\\nx". The serializer escapes CR in attributes already, so a raw CR can
    only be in text."""
    source = zipfile.ZipFile(io.BytesIO(data))
    parts = [(info, source.read(info)) for info in source.infolist()]
    if not any(b"\r" in body for info, body in parts if info.filename.endswith(".xml")):
        return data
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info, body in parts:
            target.writestr(info, body.replace(b"\r", b"&#13;") if info.filename.endswith(".xml") else body)
    return buffer.getvalue()


# ---- Writing ----------------------------------------------------------------------------------------------


def style_heading_row(sheet: Worksheet, row: int, first: int, last: int) -> None:
    for col in range(first, last + 1):
        cell = sheet.cell(row=row, column=col)
        cell.font, cell.fill, cell.border, cell.alignment = BOLD, HEADING_FILL, BORDER, CENTER


def set_widths(sheet: Any, widths: Sequence[float]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def rows_to_xlsx(title: str, headings: Sequence[str], rows: Iterable[Sequence[Any]], *,
                 widths: Sequence[float] | None = None, formats: dict[int, str] | None = None,
                 subtitle: str = "", sheet_title: str | None = None) -> bytes:
    """A plain list as an .xlsx: a title line, an optional subtitle, the headings, then the rows.

    Streams (openpyxl's write-only mode), so tens of thousands of rows take little memory. ``formats``
    maps a 0-based column to a number format. Decimals are written as numbers.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(sheet_title or title))
    widths = widths or [max(10.0, min(40.0, len(h) * 2.2 + 2)) for h in headings]
    set_widths(sheet, widths)
    heading_row = 3 if subtitle else 2
    sheet.freeze_panes = f"A{heading_row + 1}"
    title_cell = _text_cell(sheet, title)
    title_cell.font = TITLE_FONT
    sheet.append([title_cell])
    if subtitle:
        note = _text_cell(sheet, subtitle)
        note.font = NOTE_FONT
        sheet.append([note])
    heads = []
    for heading in headings:
        cell = _text_cell(sheet, heading)
        cell.font, cell.fill, cell.border, cell.alignment = BOLD, HEADING_FILL, BORDER, CENTER
        heads.append(cell)
    sheet.append(heads)
    formats = formats or {}
    for row in rows:
        cells: list[Any] = []
        for index, given in enumerate(row):
            value: Any = _plain_value(given)
            if _read_as_formula(value):
                cells.append(_text_cell(sheet, value))
            elif index in formats and isinstance(value, int | float | date | datetime) and not isinstance(value, bool):
                cell = WriteOnlyCell(sheet, value=cast(Any, value))  # narrowed above; the stub lists fewer types
                cell.number_format = formats[index]
                cells.append(cell)
            else:
                # A plain value: openpyxl's write-only sheet types it as it would a cell's. A cell for every value
                # cost an exception each inside openpyxl (it tries a value first), half the export's time.
                cells.append(value)
        sheet.append(cells)
    return to_bytes(workbook)


def _read_as_formula(value: Any) -> bool:
    """openpyxl would type this string as a formula or an error (``Cell._bind_value``): it needs :func:`as_text`."""
    return isinstance(value, str) and ((len(value) > 1 and value.startswith("=")) or value in ERROR_CODES)


def _text_cell(sheet: Any, value: Any) -> Cell:
    # A write-only sheet streams each row as it is appended: :func:`to_bytes` never sees these cells again.
    return as_text(WriteOnlyCell(sheet, value=value))


def _plain_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Excel has no time zones: a stored instant is written as the bureau's wall-clock time.
        return units.to_local(value).replace(tzinfo=None)
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value)
    if hasattr(value, "label") and hasattr(value, "value"):
        return value.label
    return value


def _sheet_title(title: str) -> str:
    return re.sub(r"[\\/*?:\[\]]", "", title)[:31] or "Sheet1"
