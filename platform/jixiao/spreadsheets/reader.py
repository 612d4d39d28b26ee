"""Reading an uploaded form by its spec (:mod:`jixiao.spreadsheets.forms`): find a table's heading row, walk
its rows, parse each cell with its column's parser, and collect what cannot be read as a :class:`RowError`
naming the row (as Excel numbers it) and the column (as the form heads it).

The same functions read a form opened whole (the project forms, whose header blocks are looked up by label)
and one streamed in read-only mode (a project list of thousands of rows).
"""

from __future__ import annotations

import dataclasses
import html
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import from_excel, from_ISO8601

from jixiao.spreadsheets import xlsx
from jixiao.spreadsheets.forms import Column, Invalid, Labelled, Parser, Table
from jixiao.spreadsheets.xlsx import RowError, norm_heading, text

_CELL = object()  # read the cell itself (not a value the caller worked out from it)


# ---- Labels of a header block -----------------------------------------------------------------------------


def find_cell(ws: Any, label: str, max_row: int = 60) -> tuple[int, int] | None:
    """The (row, column) of the first cell reading ``label`` (compared as headings are)."""
    wanted = norm_heading(label)
    for row in ws.iter_rows(min_row=1, max_row=min(max_row, ws.max_row or 1)):
        for cell in row:
            if isinstance(cell.value, str) and norm_heading(cell.value) == wanted:
                return cell.row, cell.column
    return None


def right_of(ws: Any, label: str) -> tuple[Any, int | None]:
    """The value to the right of ``label`` and its row (None, None when there is no such label)."""
    found = find_cell(ws, label)
    if found is None:
        return None, None
    return ws.cell(row=found[0], column=found[1] + 1).value, found[0]


def below(ws: Any, label: str) -> tuple[Any, str, int | None]:
    """The value under ``label``, its number format and its row."""
    found = find_cell(ws, label)
    if found is None:
        return None, "General", None
    cell = ws.cell(row=found[0] + 1, column=found[1])
    return cell.value, cell.number_format, found[0] + 1


def read_field(ws: Any, field: Labelled, errors: list[RowError], **context: Any) -> tuple[Any, int | None]:
    """A header block's value, parsed, and its row; None where it is missing or unreadable (said in ``errors``)."""
    if field.below:
        raw, number_format, row = below(ws, field.label)
    else:
        (raw, row), number_format = right_of(ws, field.label), "General"
    if row is None and field.missing:
        errors.append(RowError(None, field.label, field.missing))
        return None, None
    try:
        return field.parse(raw, number_format, **context), row
    except Invalid as exc:
        errors.append(RowError(row, field.label, str(exc)))
        return None, row


# ---- Tables -----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Found:
    """A table found in a sheet: its spec, its heading row, and each heading (as compared) → column number."""

    spec: Table
    row: int
    columns: dict[str, int]
    # Each column's number, looked up once: a list of thousands of rows asks for every column of every row.
    _numbers: dict[int, int | None] = dataclasses.field(default_factory=dict, repr=False)

    def col(self, column: Column) -> int | None:
        key = id(column)
        if key not in self._numbers:
            self._numbers[key] = self._find(column)
        return self._numbers[key]

    def _find(self, column: Column) -> int | None:
        if column.ends_with:
            return next((c for heading, c in self.columns.items() if column.matches(heading)), None)
        return self.columns.get(column.key)


def _headings(cells: Any) -> dict[str, int]:
    return {norm_heading(c.value): c.column for c in cells if isinstance(c.value, str) and c.value.strip()}


def find_table(ws: Any, spec: Table, errors: list[RowError]) -> Found | None:
    """The table's heading row (the first row holding its anchor headings), with a complaint for each required
    column it lacks; None, said in ``errors``, when the sheet has no such row."""
    last = min(spec.search_rows, ws.max_row or spec.search_rows)
    for cells in ws.iter_rows(min_row=1, max_row=last):
        headings = _headings(cells)
        if headings and all(anchor in headings for anchor in spec.anchors):
            row = next(c.row for c in cells if isinstance(c.value, str) and c.value.strip())
            found = Found(spec, row, headings)
            for column in spec.columns:
                if column.required and found.col(column) is None:
                    message = (column.missing or spec.missing_column).format(heading=column.key)
                    errors.append(RowError(row, column.key, message))
            return found
    errors.append(RowError(None, spec.anchors[0], spec.not_found))
    return None


@dataclasses.dataclass
class Row:
    """One row of a table: its cells by column number, and the columns that could not be read."""

    number: int
    cells: dict[int, Any]
    table: Found
    errors: list[RowError]
    failed: set[str] = dataclasses.field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.failed

    def cell(self, column: Column) -> Any:
        index = self.table.col(column)
        return self.cells.get(index) if index else None

    def value(self, column: Column) -> Any:
        cell = self.cell(column)
        return None if cell is None else cell.value

    def read(self, column: Column, *, raw: Any = _CELL, parse: Parser | None = None, **context: Any) -> Any:
        """The cell (or ``raw``, a value worked out from it) parsed by the column's parser (or ``parse``);
        None when it cannot be, said in the errors."""
        cell = self.cell(column)
        if raw is _CELL:
            raw = None if cell is None else cell.value
        parser = parse or column.parse
        assert parser is not None, f"{column.header} is not read"
        # Only a number's format means anything (95% is 95); looking it up is most of the cost of a cell.
        number_format = (getattr(cell, "number_format", "General") or "General"
                         if isinstance(raw, int | float) and not isinstance(raw, bool) else "General")
        try:
            return parser(raw, number_format, **context)
        except Invalid as exc:
            self.error(column, str(exc))
            return None

    def error(self, column: Column, message: str) -> None:
        self.errors.append(RowError(self.number, column.label, message))
        self.failed.add(column.field)


def value_row(ws: Any, found: Found, errors: list[RowError]) -> Row:
    """The one row under a table's headings (a budget table's figures)."""
    number = found.row + 1
    return Row(number, {c.column: c for c in ws[number]}, found, errors)


def _blank(value: Any, formulas_are_blank: bool) -> bool:
    return text(value) == "" or (formulas_are_blank and isinstance(value, str) and value.startswith("="))


def data_rows(ws: Any, found: Found, errors: list[RowError], limit: int | None = None) -> Iterator[Row]:
    """The rows under the headings that hold anything, up to a stop word or the row limit (``limit``, else
    ``SPREADSHEET_MAX_ROWS``; beyond it said in ``errors``)."""
    # A read-only sheet gives placeholders without a column for the cells a row does not have.
    cells_by_row = ({c.column: c for c in cells if getattr(c, "column", None)}
                    for cells in ws.iter_rows(min_row=found.row + 1))
    return _table_rows(((next(iter(present.values())).row if present else 0, present) for present in cells_by_row),
                       found, errors, limit)


def _table_rows(rows: Iterable[tuple[int, dict[int, Any]]], found: Found, errors: list[RowError],
                limit: int | None) -> Iterator[Row]:
    """:func:`data_rows`'s rule over rows given as (row number, cells by column number)."""
    spec = found.spec
    if limit is None:
        limit = xlsx.config("SPREADSHEET_MAX_ROWS", xlsx.DEFAULT_MAX_ROWS)
    stop_words, formulas_are_blank = spec.stop_words, spec.formulas_are_blank
    count = 0
    for number, present in rows:
        first = present.get(1)
        if first is not None and stop_words and norm_heading(first.value) in stop_words:
            return
        if all(_blank(c.value, formulas_are_blank) for c in present.values()):
            continue
        if count >= limit:
            errors.append(RowError(number, "", spec.too_many.format(limit=limit)))
            return
        count += 1
        yield Row(number, present, found, errors)


# ---- Reading a long sheet's XML -----------------------------------------------------------------------------

# The sheet's XML as Excel, WPS and openpyxl write it: rows of cells, a cell's value in <v> (a shared string's
# index when t="s") or its inline text in <is>. Matched as text, streamed: making an element and then a cell
# object of every cell is most of openpyxl's read (and all of it is done again for each row's dict). A tag may
# carry a namespace prefix; an attribute may be quoted either way.
_TAG = rb"(?:[A-Za-z_][\w.-]*:)?"
_ROW_XML = re.compile(rb"<" + _TAG + rb"row\b([^>]*?)(?:/>|>(.*?)</" + _TAG + rb"row>)", re.S)
_CELL_XML = re.compile(rb"<" + _TAG + rb"c\b([^>]*?)(?:/>|>(.*?)</" + _TAG + rb"c>)", re.S)
_VALUE_XML = re.compile(rb"<" + _TAG + rb"v>([^<]*)</")
_INLINE_XML = re.compile(rb"<" + _TAG + rb"is\b[^>]*>(.*?)</" + _TAG + rb"is>", re.S)
_INLINE_TEXT = re.compile(rb"<" + _TAG + rb"t\b[^>]*>([^<]*)</|<" + _TAG + rb"t\b[^>]*/>")
_PHONETIC = re.compile(rb"<" + _TAG + rb"rPh\b.*?</" + _TAG + rb"rPh>", re.S)
_REFERENCE = re.compile(rb"""(?:^|\s)r=["']([A-Z]*)(\d*)["']""")
_TYPE = re.compile(rb"""(?:^|\s)t=["']([^"']*)["']""")
_STYLE = re.compile(rb"""(?:^|\s)s=["'](\d+)["']""")
#: A cell as Excel and openpyxl write most of them (double quotes, ``r`` first, no entity in its text): its
#: column's letters, style, type, and <v> or inline text, in one match. Any other cell is read attribute by
#: attribute.
_SIMPLE_CELL = re.compile(rb'<c r="([A-Z]{1,3})\d+"(?: s="(\d+)")?(?: t="([A-Za-z]+)")?\s*'
                          rb'(?:/>|>(?:<v>([^<&]*)</v>|<is><t(?: xml:space="preserve")?>([^<&]*)</t></is>)?</c>)')
_TEXTS = frozenset({b"s", b"str", b"inlineStr"})  # the cell types whose value is text (blank when only spaces)
_CHUNK = 1 << 20


def _sheet_rows(data: bytes, ws: Any) -> Iterator[tuple[int, bytes]]:
    """Each ``<row>`` of a read-only sheet's XML, in order: (its number, what it holds), one chunk of the file
    in memory at a time. A row without a number follows the one before, as openpyxl reads it."""
    # The sheet's part in the archive: openpyxl keeps it on the read-only sheet, and has no public name for it.
    part_name = ws._worksheet_path
    number = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(part_name) as part:
        pending = b""
        while chunk := part.read(_CHUNK):
            pending += chunk
            last = 0
            for match in _ROW_XML.finditer(pending):
                last = match.end()
                held = _REFERENCE.search(match.group(1))
                number = int(held.group(2)) if held and held.group(2) else number + 1
                yield number, match.group(2) or b""
            pending = pending[last:]


def _shared_strings(ws: Any) -> Any:
    """The shared strings table (where Excel keeps a sheet's text): openpyxl hands it to each read-only sheet,
    and leaves the workbook's own empty."""
    return ws._shared_strings


def count_rows(data: bytes, ws: Any, found: Found, errors: list[RowError], limit: int) -> int:
    """How many rows :func:`data_rows` would give (those under the headings holding anything, up to a stop
    word), counted in the sheet's XML, streamed, without making a cell of any: a fraction of a read. More than
    ``limit`` is said in ``errors`` as :func:`data_rows` says it. ``ws`` is a read-only sheet."""
    spec = found.spec
    shared = _shared_strings(ws)
    count = 0
    for number, cells in _sheet_rows(data, ws):
        first = _first_filled(cells, shared) if number > found.row and cells else None
        if first is None:
            continue
        in_column_a, said = first
        if in_column_a and norm_heading(said) in spec.stop_words:
            return count
        if count >= limit:
            errors.append(RowError(number, "", spec.too_many.format(limit=limit)))
            return count
        count += 1
    return count


def _first_filled(cells: bytes, shared: Any) -> tuple[bool, str] | None:
    """A row's first cell holding anything, as (whether it is in column A, its text); None for a blank row."""
    for position, cell in enumerate(_CELL_XML.finditer(cells)):
        attributes, content = cell.group(1), cell.group(2) or b""
        typed = _TYPE.search(attributes)
        kind = typed.group(1) if typed else b"n"
        if kind == b"inlineStr":
            value: Any = _inline_text(content)
        else:
            held = _VALUE_XML.search(content)
            if held is None:
                continue
            value = html.unescape(held.group(1).decode("utf-8"))
            if kind == b"s":
                value = shared[int(value)]
        said = text(value) if kind in _TEXTS else value
        if said:
            reference = _REFERENCE.search(attributes)
            in_column_a = reference.group(1) == b"A" if reference and reference.group(1) else position == 0
            return in_column_a, said
    return None


def _inline_text(content: bytes) -> str | None:
    """An inline string's text as openpyxl reads it: its own text and its runs', without phonetic guides."""
    block = _INLINE_XML.search(content)
    if block is None:
        return None
    runs = _PHONETIC.sub(b"", block.group(1))
    return "".join(html.unescape(piece.decode("utf-8")) for piece in _INLINE_TEXT.findall(runs))


class SheetCell(NamedTuple):
    """A cell read from the sheet's XML: its value as openpyxl's read-only, values-only reading gives it, and
    (for a number) its number format."""

    value: Any
    number_format: str = "General"


class _Cells:
    """Turns a row's XML into :class:`SheetCell` by column number, with the workbook's shared strings, epoch
    and styles (a style's number format, and whether it makes a number a date, looked up once per style)."""

    def __init__(self, workbook: Any, ws: Any) -> None:
        self.shared = _shared_strings(ws)
        self.epoch = workbook.epoch
        # What openpyxl's own sheet reader is given: the styles that are dates (and durations), by style id.
        self.date_styles = workbook._date_formats
        self.duration_styles = workbook._timedelta_formats
        self.workbook = workbook
        self.formats: dict[int, str] = {}
        self.columns: dict[bytes, int] = {}

    def number_format(self, style: int) -> str:
        if style not in self.formats:
            styles = self.workbook._cell_styles
            number_format = "General"
            if style < len(styles):
                format_id = styles[style].numFmtId
                number_format = (BUILTIN_FORMATS.get(format_id, "General") if format_id < BUILTIN_FORMATS_MAX_SIZE
                                 else self.workbook._number_formats[format_id - BUILTIN_FORMATS_MAX_SIZE])
            self.formats[style] = number_format
        return self.formats[style]

    def of(self, content: bytes) -> dict[int, SheetCell]:
        cells: dict[int, SheetCell] = {}
        column = 0
        for cell in _CELL_XML.finditer(content):
            simple = _SIMPLE_CELL.fullmatch(cell.group(0))
            if simple is not None:  # most cells: one match gives everything
                letters, style_said, kind_said, value_said, inline_said = simple.groups()
                column = self._column(letters)
                kind = kind_said or b"n"
                style = int(style_said) if style_said else 0
                if kind == b"inlineStr":
                    cells[column] = SheetCell(None if inline_said is None else inline_said.decode("utf-8"))
                    continue
                said = value_said.decode("utf-8") if value_said else ""
            else:
                attributes, inner = cell.group(1), cell.group(2) or b""
                reference = _REFERENCE.search(attributes)
                column = self._column(reference.group(1)) if reference and reference.group(1) else column + 1
                typed = _TYPE.search(attributes)
                kind = typed.group(1) if typed else b"n"
                if kind == b"inlineStr":
                    cells[column] = SheetCell(_inline_text(inner))
                    continue
                styled = _STYLE.search(attributes)
                style = int(styled.group(1)) if styled else 0
                held = _VALUE_XML.search(inner)
                said = html.unescape(held.group(1).decode("utf-8")) if held else ""
            cells[column] = self._value(kind, said, style)
        return cells

    def _column(self, letters: bytes) -> int:
        if letters not in self.columns:
            self.columns[letters] = column_index_from_string(letters.decode("ascii"))
        return self.columns[letters]

    def _value(self, kind: bytes, said: str, style: int) -> SheetCell:
        if not said:
            return SheetCell(None)
        if kind == b"n":
            return self._number(said, style)
        if kind == b"s":
            return SheetCell(self.shared[int(said)])
        if kind == b"b":
            return SheetCell(bool(int(said)))
        if kind == b"d":
            return SheetCell(from_ISO8601(said))
        return SheetCell(said)  # "str" (a formula's text), "e" (an error, as its text)

    def _number(self, said: str, style: int) -> SheetCell:
        value: Any = float(said) if "." in said or "E" in said or "e" in said else int(said)
        if style in self.date_styles:
            try:
                return SheetCell(from_excel(value, self.epoch, timedelta=style in self.duration_styles))
            except (OverflowError, ValueError):
                return SheetCell("#VALUE!")  # openpyxl's reading of a date beyond the calendar
        return SheetCell(value, self.number_format(style))


def sheet_data_rows(data: bytes, workbook: Any, ws: Any, found: Found, errors: list[RowError],
                    limit: int | None = None) -> Iterator[Row]:
    """What :func:`data_rows` gives of a read-only sheet of ``workbook`` (opened with ``data_only``), read
    from the sheet's XML: the same rows, their cells' values as openpyxl reads them (shared and inline
    strings, numbers, dates by their style, booleans, errors, a formula's last value), at a fraction of the
    cost. For a list of thousands of rows."""
    cells = _Cells(workbook, ws)
    rows = ((number, cells.of(content)) for number, content in _sheet_rows(data, ws) if number > found.row)
    return _table_rows(rows, found, errors, limit)
