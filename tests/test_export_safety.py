"""Formula injection (CSV/Excel injection): text a user typed is written to every .xlsx the platform makes as
text, never as a live formula, and comes back unchanged when the file is imported again; the formulas the
templates write on purpose (the self-evaluation's scores, the monitoring form's execution rate) stay formulas.

Each check reads the sheet XML inside the downloaded file, as Excel would, rather than trusting openpyxl.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from jixiao.testing import unique

YEAR = 2026
# OWASP's CSV-injection triggers: what a spreadsheet may read as the start of a formula. Its other two, a leading
# tab or carriage return, cannot reach a name any more: control characters in names are refused
# (tests/test_silent_coercions.py).
HOSTILE = ['=HYPERLINK("http://evil","x")', "+1", "-1+2", "@SUM(A1)"]
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
INDICATORS = [
    {"level1": "产出", "level2": "数量指标", "name": "=SUM(A1:A9)", "direction": "ge", "target_value": "1000",
     "unit": "人次", "weight": "30"},
    {"level1": "产出", "level2": "质量指标", "name": "培训合格率", "direction": "ge", "target_value": "95",
     "unit": "%", "weight": "20"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益学生人数", "direction": "ge", "target_value": "5000",
     "unit": "人", "weight": "20"},
    {"level1": "效益", "level2": "可持续影响指标", "name": "形成长效培训机制", "direction": "qualitative",
     "target_text": "建立", "weight": "10"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "参训教师满意度", "direction": "ge",
     "target_value": "90", "unit": "%", "weight": "10"},
]


def base(path: str = "", code: str = "431102") -> str:
    return f"/api/v1/tenants/{code}{path}"


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    return response.get_json()


def sheets(data: bytes) -> dict[str, dict[str, dict[str, str | None]]]:
    """Every sheet of an .xlsx by name: cell reference → {"text": what the cell shows, "formula": its <f>}."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in archive.namelist():
        root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
        shared = ["".join(t.text or "" for t in si.iter(f"{MAIN}t")) for si in root.iter(f"{MAIN}si")]
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target").lstrip("/") for r in rels}
    found = {}
    for sheet in ElementTree.fromstring(archive.read("xl/workbook.xml")).iter(f"{MAIN}sheet"):
        target = targets[sheet.get(f"{REL}id")]
        path = target if target.startswith("xl/") else f"xl/{target}"
        cells = {}
        for c in ElementTree.fromstring(archive.read(path)).iter(f"{MAIN}c"):
            formula, value = c.find(f"{MAIN}f"), c.find(f"{MAIN}v")
            if c.get("t") == "inlineStr":
                shown = "".join(t.text or "" for t in c.iter(f"{MAIN}t"))
            elif c.get("t") == "s":
                shown = shared[int(value.text)]
            else:
                shown = value.text if value is not None else None
            cells[c.get("r")] = {"text": shown, "formula": None if formula is None else (formula.text or "")}
        found[sheet.get("name")] = cells
    return found


def formulas(data: bytes) -> list[str]:
    return [cell["formula"] for cells in sheets(data).values() for cell in cells.values() if cell["formula"] is not None]


def rows_by_first_column(cells: dict[str, dict], key_column: str) -> dict[str, dict[str, str | None]]:
    """Row text by the text of ``key_column``: {key: {column letter: text}}."""
    rows: dict[str, dict[str, str | None]] = {}
    for ref, cell in cells.items():
        column, row = ref.rstrip("0123456789"), ref[len(ref.rstrip("0123456789")):]
        rows.setdefault(row, {})[column] = cell["text"]
    return {r[key_column]: r for r in rows.values() if r.get(key_column)}


def xlsx_of(response) -> bytes:
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    assert response.headers["Content-Disposition"].startswith("attachment")
    return response.data


@pytest.fixture
def people(login):
    return {"unit": login("lingling_dept"), "finance": login("lingling_finance"), "heshan": login("heshan_finance")}


def hostile_projects(unit) -> tuple[str, dict[str, str]]:
    """One project per hostile name, under a tag only they share: (tag, code → name)."""
    tag = unique("XS")
    made = {}
    for index, name in enumerate(HOSTILE):
        project = ok(unit.post(base("/projects"), json={
            "code": f"{tag}-{index}", "name": name, "year": YEAR, "kind": "project", "fund_type": "general_public",
            "is_new": False, "requested_amount": "10000.00"}), 201)
        assert project["name"] == name
        made[project["code"]] = name
    return tag, made


def test_project_list_export_writes_names_as_text(people):
    unit, finance = people["unit"], people["finance"]
    tag, made = hostile_projects(unit)
    for exported in (xlsx_of(unit.get(base(f"/exports/projects?q={tag}"))),
                     xlsx_of(unit.get(f"/t/431102/exports/projects?q={tag}"))):
        assert formulas(exported) == []
        (cells,) = sheets(exported).values()
        rows = rows_by_first_column(cells, "A")
        assert {code: rows[code]["B"] for code in made} == made

    statistics = xlsx_of(finance.get(base(f"/exports/statistics?year={YEAR}")))
    assert formulas(statistics) == []


def test_an_exported_project_list_imports_with_the_names_it_had(people):
    unit, heshan = people["unit"], people["heshan"]
    tag, made = hostile_projects(unit)
    exported = xlsx_of(unit.get(base(f"/exports/projects?q={tag}")))
    # 赫山区 has the same department codes as 零陵区: the list imports there as it is.
    imported = ok(heshan.post(base("/imports/projects", "430903"), data={"file": (io.BytesIO(exported), "项目清单.xlsx")},
                              content_type="multipart/form-data"), 201)
    assert imported["created"] == len(made)
    listed = ok(heshan.get(base(f"/projects?q={tag}&per_page=50", "430903")))["items"]
    # The importer trims the whitespace around every cell it reads (as for any hand-typed value), so "\tx" and
    # "\rx" come back as "x"; the formula-like names come back exactly.
    assert {p["code"]: p["name"] for p in listed} == {code: name.strip() for code, name in made.items()}


def test_ledger_and_forms_write_user_text_as_text_and_keep_their_own_formulas(people):
    unit, finance = people["unit"], people["finance"]
    name, code, measures = HOSTILE[0], "=" + unique("XF"), "-2+3+cmd|' /C calc'!A0"
    project = ok(unit.post(base("/projects"), json={
        "code": code, "name": name, "year": YEAR, "kind": "project", "fund_type": "general_public", "is_new": False,
        "requested_amount": "600000.00"}), 201)
    pid = project["id"]
    ok(unit.put(base(f"/projects/{pid}/targets"), json={"overall_target": "@全年目标", "indicators": INDICATORS}))
    ok(unit.post(base(f"/projects/{pid}/targets/submit")))
    ok(finance.post(base(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    ok(finance.post(base(f"/projects/{pid}/budget"), json={
        "approved_amount": "500000", "version": finance.get(base(f"/projects/{pid}")).get_json()["version"]}))
    user_text = {name, code, "@全年目标", INDICATORS[0]["name"]}

    targets = xlsx_of(unit.get(base(f"/projects/{pid}/templates/targets")))
    assert formulas(targets) == []
    form = sheets(targets)["绩效目标申报表"]
    assert (form["B3"]["text"], form["F3"]["text"], form["B7"]["text"], form["C10"]["text"]) == (
        name, code, "@全年目标", INDICATORS[0]["name"])
    assert rows_by_first_column(sheets(targets)["_jixiao"], "A")["project_code"]["B"] == code

    monitoring = xlsx_of(unit.get(base(f"/projects/{pid}/templates/monitoring?period=6")))
    form = sheets(monitoring)["绩效监控表"]
    assert (form["B3"]["text"], form["C14"]["text"]) == (name, INDICATORS[0]["name"])
    assert form["E10"]["formula"] == 'IF(AND(ISNUMBER(D10),C10>0),D10/C10,"")'
    assert form["G5"]["formula"] == '"1-"&B5&"月"'
    assert not [f for f in formulas(monitoring) if any(text[1:] in f for text in user_text)]

    evaluation = xlsx_of(unit.get(base(f"/projects/{pid}/templates/self_evaluation")))
    form = sheets(evaluation)["绩效自评表"]
    assert (form["B3"]["text"], form["C17"]["text"], form["A13"]["text"]) == (name, INDICATORS[0]["name"], "@全年目标")
    assert form["F9"]["formula"] == 'IF(AND(ISNUMBER(C9),B9>0),ROUND(MIN(MAX(C9/B9,0),1)*D9,2),"")'
    assert form["G17"]["formula"] == 'IF(ISNUMBER(E17),ROUND(MIN(MAX(E17/1000,0),1)*F17,2),"")'
    assert form["B22"]["formula"] == "ROUND(N(F9)+SUM(G17:G21),2)"
    assert not [f for f in formulas(evaluation) if any(text[1:] in f for text in user_text)]

    ids = [i["id"] for i in ok(unit.get(base(f"/projects/{pid}/targets")))["indicators"]]
    self_eval = ok(unit.post(base(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    ok(unit.post(base(f"/evaluations/{self_eval['id']}/submit"), json={
        "executed_amount": "450000", "summary": "基本完成", "scores": [
            {"indicator_id": ids[0], "actual_value": "1000"}, {"indicator_id": ids[1], "actual_value": "97"},
            {"indicator_id": ids[2], "actual_value": "4000"},
            {"indicator_id": ids[3], "band": "partial", "band_fraction": "0.7"},
            {"indicator_id": ids[4], "actual_value": "95"}]}))
    notice = ok(finance.post(base(f"/projects/{pid}/rectifications"), json={
        "evaluation_id": self_eval["id"], "problems": ["受益面不足"]}), 201)
    ok(unit.post(base(f"/rectifications/{notice['id']}/answer"), json={"measures": measures}))

    ledger = xlsx_of(finance.get(base("/exports/ledger")))
    assert formulas(ledger) == []
    (cells,) = sheets(ledger).values()
    row = rows_by_first_column(cells, "B")[code]
    assert (row["C"], row["J"]) == (name, measures)


def test_error_report_writes_the_echoed_file_name_as_text(people):
    unit = people["unit"]
    template = load_workbook(io.BytesIO(xlsx_of(unit.get(base("/imports/projects/template")))))
    sheet = template["项目清单"]
    sheet["A4"], sheet["B4"] = unique("XE"), HOSTILE[0]
    sheet["B4"].data_type = "s"  # typed as text, the way Excel keeps a name that starts with "="
    buffer = io.BytesIO()
    template.save(buffer)
    filename = "=1+cmd|'-C calc'!A0.xlsx"  # no double quote: the multipart header would end there
    rejected = unit.post(base("/imports/projects"), data={"file": (io.BytesIO(buffer.getvalue()), filename)},
                         content_type="multipart/form-data")
    assert rejected.status_code == 400, rejected.get_json()
    report = xlsx_of(unit.get(rejected.get_json()["error"]["fields"]["report_url"]))
    assert formulas(report) == []
    about = rows_by_first_column(sheets(report)["说明"], "A")
    assert about["上传文件"]["B"] == filename


def test_list_titles_and_headings_are_text():
    from jixiao.spreadsheets import xlsx

    data = xlsx.rows_to_xlsx(HOSTILE[0], ["+heading", "name"], [["=1+1", "-1"]], subtitle="@subtitle")
    assert formulas(data) == []
    (cells,) = sheets(data).values()
    assert [cells[ref]["text"] for ref in ("A1", "A2", "A3", "B3", "A4", "B4")] == [
        HOSTILE[0], "@subtitle", "+heading", "name", "=1+1", "-1"]


def test_rows_keep_formula_and_error_lookalikes_as_text_and_values_typed():
    """Rows are appended as plain values where openpyxl types them as they are, and as text cells where it would
    take them for a formula or an error: "=…" and "#N/A" stay text, a lone "=" is text anyway, numbers stay
    numbers (with their column's format), dates stay dates."""
    import io
    from datetime import date
    from decimal import Decimal

    import openpyxl

    from jixiao.spreadsheets import xlsx

    row = ["=1+1", "#N/A", "=", Decimal("12.5"), 7, date(2026, 1, 2), True, None, "普通文字"]
    data = xlsx.rows_to_xlsx("标题", [f"列{i}" for i in range(len(row))], [row], formats={3: "0.00", 4: "0"})
    assert formulas(data) == []
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [sheet.cell(row=3, column=i + 1) for i in range(len(row))]
    assert [c.data_type for c in cells[:3]] == ["s", "s", "s"]
    assert [c.value for c in cells[:3]] == ["=1+1", "#N/A", "="]
    assert (cells[3].value, cells[3].number_format, cells[4].value, cells[4].number_format) == (12.5, "0.00", 7, "0")
    assert cells[5].is_date and cells[5].value.date() == date(2026, 1, 2)
    assert (cells[6].value, cells[7].value, cells[8].value) == (True, None, "普通文字")
