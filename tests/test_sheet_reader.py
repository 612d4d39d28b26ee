"""The long 项目清单 is read from the sheet's XML (``reader.sheet_data_rows``) instead of through openpyxl's
cells: the rows it gives must be the rows ``reader.data_rows`` gives through openpyxl's read-only reading of the
same file, cell for cell — values, types, and the number format of every number — whatever wrote the file:
openpyxl (inline strings), Excel (shared strings, styles before types), and the XML shapes other writers use
(cells or rows without references, single quotes, namespace prefixes, rich and phonetic inline text, entities,
formulas' last values, errors, ISO dates, booleans, dates by their style)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from jixiao.spreadsheets import forms, reader
from jixiao.spreadsheets.forms import Column, Table, Text

TABLE = Table((Column("编码*", "code", Text(), anchor=True), Column("名称", "name", Text())),
              not_found="找不到表头", stop_words=("合计",), formulas_are_blank=False)

AWKWARD_TEXT = ["A&B <c> \"d\" 'e'", "  前后空格  ", "换行\n第二行", "表情😀", "_x000D_", "0012", "=不是公式"]


def read_each_way(data: bytes, table: Table = TABLE, limit: int = 1000) -> list[tuple[list[reader.Row], list]]:
    """The table's rows and errors read through openpyxl's cells (``data_rows``), then from the XML."""
    answers = []
    for read in ("openpyxl", "xml"):
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        errors: list = []
        found = reader.find_table(sheet, table, errors)
        assert found is not None, errors
        rows = (reader.data_rows(sheet, found, errors, limit=limit) if read == "openpyxl"
                else reader.sheet_data_rows(data, workbook, sheet, found, errors, limit=limit))
        answers.append((list(rows), errors))
        workbook.close()
    return answers


def read_both(data: bytes, table: Table = TABLE) -> tuple[tuple[list, list], tuple[list, list]]:
    """The rows as (number, {column: (value, its type, a number's format)}) read both ways, with the errors."""
    def plain(row: reader.Row) -> tuple[int, dict]:
        return row.number, {column: (cell.value, type(cell.value).__name__,
                                     cell.number_format if isinstance(cell.value, int | float)
                                     and not isinstance(cell.value, bool) else None)
                            for column, cell in row.cells.items()}

    by_openpyxl, by_xml = (([plain(row) for row in rows], errors) for rows, errors in read_each_way(data, table))
    return by_openpyxl, by_xml


def written_by_openpyxl() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["说明：按模板填写"])
    sheet.append([])
    sheet.append(["编码*", "名称", "金额", "比例", "日期", "是否", "公式", "小数"])
    rows = [
        ["P-1", "项目一", 12, 0.95, datetime(2026, 3, 1, 8, 30), True, "=1+1", Decimal("10.25")],
        ["P-2", AWKWARD_TEXT[0], 1.5e20, 1, date(2026, 12, 31), False, None, 3.0],
        [None, None, None, None, None, None, None, None],  # a blank row
        *[[f"P-{3 + n}", said, -n, n / 7, None, None, None, None] for n, said in enumerate(AWKWARD_TEXT)],
        ["合计", None, 100],
        ["P-after", "停止词之后"],
    ]
    for row in rows:
        sheet.append(row)
    for row in sheet.iter_rows(min_row=4):
        row[3].number_format = "0%"
        row[7].number_format = "#,##0.00"
    sheet["B20"] = "离表很远的一格"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rewritten(data: bytes, change=None, *, parts=None, added=None) -> bytes:
    """The workbook with its first sheet's XML changed by ``change`` (as another program would write it), other
    parts changed by ``parts`` (name → change) and ``added`` ones (name → content)."""
    changes = {**(parts or {}), **({"xl/worksheets/sheet1.xml": change} if change else {})}
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename in changes:
                content = changes[item.filename](content)
            target.writestr(item, content)
        for name, content in (added or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def test_a_sheet_openpyxl_wrote_is_read_as_openpyxl_reads_it():
    by_openpyxl, by_xml = read_both(written_by_openpyxl())
    assert by_xml == by_openpyxl
    rows, _errors = by_xml
    assert [number for number, _cells in rows] == list(range(4, 6)) + list(range(7, 7 + len(AWKWARD_TEXT)))
    assert rows[0][1][4] == (0.95, "float", "0%")  # the percent is told by its format
    assert rows[0][1][5] == (datetime(2026, 3, 1, 8, 30), "datetime", None)  # a date by its style


def as_other_writers_write(xml: bytes) -> bytes:
    """The sheet as other programs write it: references left out, single quotes, a formula's last value, an
    error, rich and phonetic inline text, an ISO date, a boolean, an entity in a number."""
    def cell(reference: str, written: bytes) -> None:
        nonlocal xml
        xml, done = re.subn(rb'<c r="' + reference.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', written, xml, count=1)
        assert done, reference

    xml = xml.replace(b'<c r="A5" ', b"<c ", 1)  # a cell without its reference (the first of its row)
    xml = re.sub(rb'<row r="9"', b"<row", xml, count=1)  # a row without its number: the one after 8
    xml = xml.replace(b'<c r="B4" s=', b"<c r='B4' s=", 1).replace(b'<c r="C4"', b'<c s="0" r="C4"', 1)
    cell("G4", b'<c r="G4" t="str"><f>CONCAT(1,1)</f><v>11</v></c>')
    cell("B7", b'<c r="B7" t="inlineStr"><is><r><t>\xe5\xaf\x8c</t></r><r><rPr><b/></rPr>'
               b'<t xml:space="preserve"> \xe6\x96\x87\xe6\x9c\xac</t></r><rPh sb="0" eb="1"><t>fu</t></rPh></is></c>')
    cell("C8", b'<c r="C8" t="e"><f>1/0</f><v>#DIV/0!</v></c>')
    cell("D8", b'<c r="D8" t="d"><v>2026-05-04T10:20:30</v></c>')
    cell("H8", b'<c r="H8"><v>&#49;2.5</v></c>')
    cell("C9", b'<c r="C9" t="b"><v>1</v></c>')
    cell("C10", b'<c r="C10" t="n"><f>SUM(1,2)</f><v>3</v></c>')
    return xml


def test_other_writers_xml_is_read_as_openpyxl_reads_it():
    by_openpyxl, by_xml = read_both(rewritten(written_by_openpyxl(), as_other_writers_write))
    assert by_xml == by_openpyxl
    rows = dict(by_xml[0])
    assert list(rows) == [4, 5, 7, 8, 9, 10, 11, 12, 13]
    assert rows[5][1] == ("P-2", "str", None)
    assert (rows[4][2], rows[4][3]) == (("项目一", "str", None), (12, "int", "General"))  # single quotes
    assert rows[4][7] == ("11", "str", None)  # a formula's last value, as text when it was text
    assert rows[7][2] == ("富 文本", "str", None)  # the runs, not the phonetic guide
    assert (rows[8][3], rows[8][4], rows[8][8]) == (("#DIV/0!", "str", None),
                                                    (datetime(2026, 5, 4, 10, 20, 30), "datetime", None),
                                                    (12.5, "float", "General"))
    assert rows[9][3] == (True, "bool", None)
    assert rows[10][3] == (3, "int", "General")


def test_a_sheet_with_shared_strings_and_a_namespace_prefix_is_read_as_openpyxl_reads_it():
    """Excel keeps text in the shared strings table; some writers prefix every tag."""
    shared_data = excel_like_list(rows=3)
    by_openpyxl, by_xml = read_both(shared_data)
    assert by_xml == by_openpyxl

    def prefixed(xml: bytes) -> bytes:
        xml = re.sub(rb"<(/?)(row|c|v|is|t)\b", rb"<\1x:\2", xml)
        return xml.replace(b"<worksheet ", b'<worksheet xmlns:x="http://schemas.openxmlformats.org/'
                                          b'spreadsheetml/2006/main" ', 1)

    by_openpyxl, by_xml = read_both(rewritten(shared_data, prefixed))
    assert by_xml == by_openpyxl
    assert [cells[2][0] for _number, cells in by_xml[0]] == ["同名项目"] * 3


def with_shared_strings(data: bytes, texts: list[bytes]) -> bytes:
    """The workbook with a shared strings part holding ``texts`` (declared in its content types and rels)."""
    table = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml'
             b'/2006/main" count="%d" uniqueCount="%d">' % (len(texts), len(texts))
             + b"".join(b"<si><t>" + said + b"</t></si>" for said in texts) + b"</sst>")
    declared = {
        "[Content_Types].xml": lambda xml: xml.replace(
            b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                         b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'),
        "xl/_rels/workbook.xml.rels": lambda xml: xml.replace(
            b"</Relationships>", b'<Relationship Id="rIdShared" Type="http://schemas.openxmlformats.org/'
                                 b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                                 b"</Relationships>"),
    }
    return rewritten(data, parts=declared, added={"xl/sharedStrings.xml": table})


@pytest.mark.parametrize("limit", [1, 3])
def test_the_row_limit_is_said_the_same_way(limit):
    answers = [([row.number for row in rows], errors)
               for rows, errors in read_each_way(written_by_openpyxl(), limit=limit)]
    assert answers[1] == answers[0]
    assert answers[0][1][0].message == TABLE.too_many.format(limit=limit)


def test_the_project_list_template_filled_in_is_read_the_same_both_ways():
    """The real 项目清单 columns and parsers: every row's values as the importer reads them."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([column.header for column in forms.PROJECTS.columns])
    for n in range(30):
        sheet.append([f"L-{n:03d}", f"项目{n}", 2026, "项目", "一般公共预算", "101", 10 + n * 0.5, "", "是", "否",
                      "否", "", "否", ""])
    data = io.BytesIO()
    workbook.save(data)
    by_openpyxl, by_xml = read_both(data.getvalue(), forms.PROJECTS)
    assert by_xml == by_openpyxl
    assert len(by_xml[0]) == 30


def test_a_list_with_shared_strings_is_counted_as_it_is_read():
    """The upload counts a long list's rows in its XML (``reader.count_rows``). Excel keeps a sheet's text in
    the shared strings table, which openpyxl hands to a read-only sheet, not to its workbook: the count looked
    the strings up in the workbook's (empty) table and failed with an IndexError, a 500 for every list saved
    by Excel."""
    data = excel_like_list(rows=12)
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    errors: list = []
    found = reader.find_table(sheet, TABLE, errors)
    read = list(reader.data_rows(sheet, found, errors, limit=1000))
    assert reader.count_rows(data, sheet, found, errors, 1000) == len(read) == 12
    assert errors == []


def excel_like_list(rows: int) -> bytes:
    """A list whose every text is in the shared strings table, as Excel saves one."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["编码*", "名称", "金额"])
    for n in range(rows):
        sheet.append([f"E-{n}", "同名项目", n])
    out = io.BytesIO()
    workbook.save(out)
    texts: list[bytes] = []

    def shared(match: re.Match) -> bytes:
        said = match.group(2)
        if said not in texts:
            texts.append(said)
        return match.group(1) + b' t="s"><v>' + str(texts.index(said)).encode() + b"</v></c>"

    data = rewritten(out.getvalue(), lambda xml: re.sub(
        rb'(<c r="[A-Z]+\d+"(?: s="\d+")?) t="inlineStr"><is><t>([^<]*)</t></is></c>', shared, xml))
    return with_shared_strings(data, texts)
