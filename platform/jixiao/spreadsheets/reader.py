"""Reading an uploaded form by its spec (:mod:`jixiao.spreadsheets.forms`): find a table's heading row, walk
its rows, parse each cell with its column's parser, and collect what cannot be read as a :class:`RowError`
naming the row (as Excel numbers it) and the column (as the form heads it).

The same functions read a form opened whole (the project forms, whose header blocks are looked up by label)
and one streamed in read-only mode (a project list of thousands of rows).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

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

    def col(self, column: Column) -> int | None:
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
        try:
            return parser(raw, getattr(cell, "number_format", "General") or "General", **context)
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


def data_rows(ws: Any, found: Found, errors: list[RowError]) -> Iterator[Row]:
    """The rows under the headings that hold anything, up to a stop word or the row limit (said in ``errors``)."""
    spec = found.spec
    limit = xlsx.config("SPREADSHEET_MAX_ROWS", xlsx.DEFAULT_MAX_ROWS)
    count = 0
    for cells in ws.iter_rows(min_row=found.row + 1):
        # A read-only sheet gives placeholders without a column for the cells a row does not have.
        present = {c.column: c for c in cells if getattr(c, "column", None)}
        first = present.get(1)
        if first is not None and norm_heading(first.value) in spec.stop_words:
            return
        if all(_blank(c.value, spec.formulas_are_blank) for c in present.values()):
            continue
        number = next(iter(present.values())).row
        if count >= limit:
            errors.append(RowError(number, "", spec.too_many.format(limit=limit)))
            return
        count += 1
        yield Row(number, present, found, errors)
