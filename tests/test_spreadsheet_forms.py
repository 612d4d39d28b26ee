"""One spec per spreadsheet form (jixiao.spreadsheets.forms), read by the template writer and the importer alike:
each template heads its tables exactly as the spec says and the importer finds every column there; a template
filled here imports back to the values filled (downloaded again, it shows them); every drop-down choice is one
the importer takes; and what the service stores, the form carries back unchanged.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from jixiao import inputs, units
from jixiao.lifecycle import targets
from jixiao.spreadsheets import forms, reader
from jixiao.spreadsheets.forms import Invalid
from jixiao.testing import unique
from tests.test_spreadsheets import YEAR, base, budgeted_project, new_project, ok, saved, upload, workbook


@pytest.fixture
def people(login):
    return {"unit": login("lingling_dept"), "finance": login("lingling_finance")}


def put(ws, row: int, table: forms.Table, values: dict[str, object]) -> None:
    """Type values into a row, by field; text starting with "=" as text, the way Excel keeps a typed "="."""
    for field, value in values.items():
        cell = ws.cell(row=row, column=table.position(field), value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"


def shown(ws, row: int, table: forms.Table, fields) -> dict[str, object]:
    return {field: ws.cell(row=row, column=table.position(field)).value or None for field in fields}


def heading_row(ws, table: forms.Table, month: int | None = None) -> int:
    """The row whose cells, from A on, are the spec's headings (and nothing after them)."""
    headings = table.headings(month)
    for row in range(1, 61):
        cells = [ws.cell(row=row, column=col).value for col in range(1, len(headings) + 2)]
        if cells == [*headings, None]:
            return row
    raise AssertionError(f"no row of {ws.title} reads {headings}")


# ---- The templates are the spec ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(forms.FORMS))
def test_each_template_heads_its_tables_as_the_spec_says_and_the_importer_finds_them(people, kind):
    unit, finance = people["unit"], people["finance"]
    if kind == forms.PROJECT_LIST:
        response = finance.get(base(path="/imports/projects/template"))
    else:
        project, indicators = budgeted_project(people)
        suffix = "?period=6" if kind == forms.MONITORING else ""
        response = unit.get(base(path=f"/projects/{project['id']}/templates/{kind}{suffix}"))
    form = forms.FORMS[kind]
    ws = workbook(response)[form.sheet]
    month = 6 if kind == forms.MONITORING else None
    for table in form.tables:
        row = heading_row(ws, table, month)
        errors: list = []
        found = reader.find_table(ws, table, errors)
        assert errors == [] and found is not None and found.row == row
        assert all(found.col(column) == n for n, column in enumerate(table.columns, start=1))
    table = form.tables[-1]  # the form's main table lays out the sheet's columns
    row = heading_row(ws, table, month)
    for column in table.columns:
        dimension = ws.column_dimensions[table.letter(column.field)]
        assert bool(dimension.hidden) == column.hidden, column.header
        if column.width is not None:
            assert dimension.width == column.width, column.header
        if column.dropdown is not None and column.dropdown.only is None:
            listed = {str(v.sqref).split(":")[0]: v.formula1 for v in ws.data_validations.dataValidation}
            assert listed[f"{table.letter(column.field)}{row + 1}"] == '"' + ",".join(column.dropdown.values) + '"', column.header


def test_every_drop_down_choice_is_one_the_importer_takes():
    checked = 0
    for form in forms.FORMS.values():
        for table in form.tables:
            for column in table.columns:
                if column.dropdown is None:
                    continue
                parse = column.qualitative if column.dropdown.only else column.parse
                for choice in column.dropdown.values:
                    try:
                        parse(choice, "General")
                    except Invalid as exc:
                        pytest.fail(f"{column.header}: the template offers “{choice}”, the importer says {exc}")
                    checked += 1
    assert checked > 30


def test_the_indicator_columns_hold_what_the_service_holds():
    """The importer's bound of each text is the service's: a longer text cannot be stored, a shorter one is."""
    table = forms.TARGET_INDICATORS
    parsers = {column.field: column.parse for column in table.columns} | {"target_text": table["target_value"].qualitative}
    assert {field: parsers[field].max_length for field, _label, _bound, _name in targets.INDICATOR_TEXTS} == {
        field: bound for field, _label, bound, _name in targets.INDICATOR_TEXTS}
    assert forms.OVERALL_TARGET.parse.max_length == inputs.LONG_TEXT_MAX_LENGTH


# ---- Filled here, imported, downloaded again ----------------------------------------------------------------

TARGET_ROWS = [
    {"level1": "产出", "level2": "数量指标", "name": "培训教师人次", "direction": "≥", "target_value": 1000,
     "unit": "人次", "weight": 30, "catalog_code": "CP-01"},
    {"level1": "产出", "level2": "质量指标", "name": "培训合格率", "direction": ">", "target_value": 95.5, "unit": "%",
     "weight": 12.5, "catalog_code": None},
    {"level1": "产出", "level2": "时效指标", "name": "完成时间", "direction": "≤", "target_value": 10, "unit": "月",
     "weight": 7.5, "catalog_code": None},
    {"level1": "效益", "level2": "可持续影响指标", "name": "形成长效培训机制", "direction": "定性",
     "target_value": "建立并运行", "unit": None, "weight": 10, "catalog_code": None},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "参训教师满意度", "direction": "=", "target_value": 90,
     "unit": "%", "weight": 10, "catalog_code": None},
    {"level1": "成本", "level2": "经济成本指标", "name": "人均培训成本", "direction": "<", "target_value": 1200.25,
     "unit": "元/人", "weight": 5, "catalog_code": None},
]


def test_a_filled_targets_form_imports_the_values_filled(people):
    unit = people["unit"]
    pid = new_project(unit)["id"]
    table = forms.TARGET_INDICATORS
    wb = workbook(unit.get(base(path=f"/projects/{pid}/templates/targets")))
    ws = wb[forms.FORMS[forms.TARGETS].sheet]
    first = heading_row(ws, table) + 1
    ws.cell(row=7, column=2, value="全年培训教师1000人次。")
    for offset, values in enumerate(TARGET_ROWS):
        put(ws, first + offset, table, values)
    result = ok(upload(unit, base(path=f"/projects/{pid}/imports/targets"), saved(wb)))
    assert result["indicators"] == len(TARGET_ROWS)

    stored = ok(unit.get(base(path=f"/projects/{pid}/targets")))
    assert stored["overall_target"] == "全年培训教师1000人次。"
    for item, typed in zip(stored["indicators"], TARGET_ROWS, strict=True):
        qualitative = forms.DIRECTIONS[typed["direction"]] == "qualitative"
        assert (item["level1"], item["level2"], item["name"], item["direction"], item["unit"] or None,
                item["catalog_code"]) == (typed["level1"], typed["level2"], typed["name"],
                                          forms.DIRECTIONS[typed["direction"]], typed["unit"], typed["catalog_code"])
        assert Decimal(item["weight"]) == Decimal(str(typed["weight"]))
        if qualitative:
            assert item["target_text"] == typed["target_value"] and item["target_value"] is None
        else:
            assert Decimal(item["target_value"]) == Decimal(str(typed["target_value"]))

    again = workbook(unit.get(base(path=f"/projects/{pid}/templates/targets")))[forms.FORMS[forms.TARGETS].sheet]
    assert again.cell(row=7, column=2).value == "全年培训教师1000人次。"
    assert [shown(again, first + offset, table, TARGET_ROWS[0]) for offset in range(len(TARGET_ROWS))] == TARGET_ROWS


def test_a_filled_monitoring_form_imports_the_values_filled(people):
    unit = people["unit"]
    project, indicators = budgeted_project(people)
    pid = project["id"]
    budget, table = forms.MONITORING_BUDGET, forms.MONITORING_INDICATORS
    wb = workbook(unit.get(base(path=f"/projects/{pid}/templates/monitoring?period=6")))
    ws = wb[forms.FORMS[forms.MONITORING].sheet]
    budget_row, first = heading_row(ws, budget) + 1, heading_row(ws, table, 6) + 1
    figures = {"executed_amount": 12.345678, "cause": "培训场地改造推迟", "measure": "下半年集中培训"}
    put(ws, budget_row, budget, figures)
    lines = [
        {"actual_value": 200, "forecast": "可完成", "reason": "场地推迟", "remedy": "集中培训"},
        {"actual_value": 96.5, "forecast": None, "reason": None, "remedy": None},
        {"actual_value": 2600, "forecast": "可完成", "reason": None, "remedy": "扩大范围"},
        {"actual_value": "已制定培训制度", "forecast": "年底运行", "reason": None, "remedy": None},
        {"actual_value": 92, "forecast": None, "reason": "问卷未完", "remedy": None},
    ]
    for offset, values in enumerate(lines):
        assert ws.cell(row=first + offset, column=table.position("indicator_id")).value == indicators[offset]["id"]
        put(ws, first + offset, table, values)
    ok(upload(unit, base(path=f"/projects/{pid}/imports/monitoring"), saved(wb)))

    report = ok(unit.get(base(path=f"/projects/{pid}/monitoring")))["reports"][0]
    assert report["period"] == 6
    assert report["executed_amount"] == str(units.yuan_from_wan(Decimal(str(figures["executed_amount"]))))
    assert (report["cause"], report["measure"]) == (figures["cause"], figures["measure"])
    values = {v["indicator_id"]: v for v in report["values"]}
    for indicator, typed in zip(indicators, lines, strict=True):
        if isinstance(typed["actual_value"], str):
            assert values[indicator["id"]]["actual_value"] is None
        else:
            assert Decimal(values[indicator["id"]]["actual_value"]) == Decimal(str(typed["actual_value"]))

    again = workbook(unit.get(base(path=f"/projects/{pid}/templates/monitoring?period=6")))
    again = again[forms.FORMS[forms.MONITORING].sheet]
    assert shown(again, budget_row, budget, figures) == figures
    assert [shown(again, first + offset, table, lines[0]) for offset in range(len(lines))] == lines


def test_a_filled_self_evaluation_form_imports_the_values_filled(people):
    unit = people["unit"]
    project, indicators = budgeted_project(people)
    pid = project["id"]
    budget, table = forms.SELF_BUDGET, forms.SELF_INDICATORS
    wb = workbook(unit.get(base(path=f"/projects/{pid}/templates/self_evaluation")))
    ws = wb[forms.FORMS[forms.SELF_EVALUATION].sheet]
    budget_row, first = heading_row(ws, budget) + 1, heading_row(ws, table) + 1
    put(ws, budget_row, budget, {"executed_amount": 45.5})
    summary_at = reader.find_cell(ws, forms.SUMMARY.label)
    ws.cell(row=summary_at[0] + 1, column=summary_at[1], value="基本完成年度目标")
    lines = [{"actual_value": 1000, "note": None}, {"actual_value": 97.5, "note": None},
             {"actual_value": 4000, "note": "受益面有待扩大"}, {"actual_value": "部分达成", "score": 7, "note": "运行中"},
             {"actual_value": 95, "note": None}]
    for offset, values in enumerate(lines):
        assert ws.cell(row=first + offset, column=table.position("indicator_id")).value == indicators[offset]["id"]
        put(ws, first + offset, table, values)
    result = ok(upload(unit, base(path=f"/projects/{pid}/imports/self_evaluation"), saved(wb)))

    evaluation = ok(unit.get(base(path=f"/evaluations/{result['evaluation_id']}")))
    assert evaluation["executed_amount"] == str(units.yuan_from_wan(Decimal("45.5")))
    assert evaluation["summary"] == "基本完成年度目标"
    scores = {s["indicator_id"]: s for s in evaluation["scores"]}
    for indicator, typed in zip(indicators, lines, strict=True):
        score = scores[indicator["id"]]
        assert (score["note"] or None) == typed["note"]
        if "score" in typed:
            assert score["band"] == forms.BANDS[typed["actual_value"]]
            assert Decimal(score["score"]) == Decimal(typed["score"])
        else:
            assert Decimal(score["actual_value"]) == Decimal(str(typed["actual_value"]))

    again = workbook(unit.get(base(path=f"/projects/{pid}/templates/self_evaluation")))
    again = again[forms.FORMS[forms.SELF_EVALUATION].sheet]
    assert shown(again, budget_row, budget, ["executed_amount"]) == {"executed_amount": 45.5}
    assert again.cell(row=summary_at[0] + 1, column=summary_at[1]).value == "基本完成年度目标"
    assert [shown(again, first + offset, table, typed) for offset, typed in enumerate(lines)] == lines


def test_a_filled_project_list_imports_the_values_filled(people):
    finance = people["finance"]
    table = forms.PROJECTS
    prefix = unique("FL")
    rows = [
        {"code": f"{prefix}1", "name": "教师培训", "year": YEAR, "kind": "项目", "fund_type": "一般公共预算",
         "department_code": "101", "requested_amount": 281.58, "category": "教育", "is_new": "是", "is_key": "否",
         "classified": "否"},
        {"code": f"{prefix}2", "name": "学生资助", "year": YEAR, "kind": "政策", "fund_type": "政府性基金预算",
         "department_code": "102", "requested_amount": 12.345678, "category": "教育", "is_new": "否", "is_key": "是",
         "classified": "是"},
        {"code": f"{prefix}3", "name": "部门运转", "year": YEAR, "kind": "部门整体", "fund_type": "社会保险基金预算",
         "department_code": "103", "requested_amount": 0, "category": "教育", "is_new": None, "is_key": None,
         "classified": None},
    ]
    wb = workbook(finance.get(base(path="/imports/projects/template")))
    ws = wb[forms.FORMS[forms.PROJECT_LIST].sheet]
    first = heading_row(ws, table) + 1
    for offset, values in enumerate(rows):
        put(ws, first + offset, table, values)
    body = ok(upload(finance, base(path="/imports/projects"), saved(wb)), 201)
    assert body["created"] == len(rows)

    listed = {p["code"]: p for p in ok(finance.get(base(path=f"/projects?q={prefix}&per_page=50")))["items"]}
    for typed in rows:
        project = listed[typed["code"]]
        assert (project["name"], project["year"], project["department"]["code"], project["category"]) == (
            typed["name"], typed["year"], typed["department_code"], typed["category"])
        assert (project["kind"], project["fund_type"]) == (forms.KIND_NAMES[typed["kind"]],
                                                           forms.FUND_NAMES[typed["fund_type"]])
        assert project["requested_amount"] == str(units.yuan_from_wan(Decimal(str(typed["requested_amount"]))))
        for flag in ("is_new", "is_key", "classified"):
            assert project[flag] == table[flag].parse(typed[flag]), flag


# ---- What the service stores, the form carries back ----------------------------------------------------------


def test_an_overall_target_as_long_as_the_service_takes_imports_back_unchanged(people):
    """The importer refused an overall target over 5,000 characters that the page and the API store (up to
    10,000): a target set saved there downloaded as a form that could not be imported back."""
    unit = people["unit"]
    pid = new_project(unit)["id"]
    overall = "全" * (inputs.LONG_TEXT_MAX_LENGTH - 1)
    ok(unit.put(base(path=f"/projects/{pid}/targets"), json={"overall_target": overall, "indicators": [
        {"level1": "产出", "level2": "数量指标", "name": "培训教师人次", "direction": "ge", "target_value": "1000",
         "unit": "人次", "weight": "100"}]}))
    form = workbook(unit.get(base(path=f"/projects/{pid}/templates/targets")))
    assert reader.right_of(form[forms.FORMS[forms.TARGETS].sheet], forms.OVERALL_TARGET.label)[0] == overall
    answer = upload(unit, base(path=f"/projects/{pid}/imports/targets"), saved(form))
    assert answer.status_code == 200, answer.get_json()
    assert ok(unit.get(base(path=f"/projects/{pid}/targets")))["overall_target"] == overall

    too_long = load_workbook(io.BytesIO(saved(form)))
    too_long[forms.FORMS[forms.TARGETS].sheet].cell(row=7, column=2, value=overall + "全全")
    refused = upload(unit, base(path=f"/projects/{pid}/imports/targets"), saved(too_long))
    assert refused.status_code == 400
    assert refused.get_json()["error"]["fields"]["rows"] == [
        {"row": 7, "column": "年度总体目标", "message": f"年度总体目标不能超过 {inputs.LONG_TEXT_MAX_LENGTH} 个字"}]
