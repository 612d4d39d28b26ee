"""Input that reached a 500, and sizes without a bound: refused at the edge with the field named, nothing written.

NUL bytes (PostgreSQL refuses them in text), JSON nested thousands deep (the parser's recursion), numbers beyond
their columns (NUMERIC(18, 2) money, NUMERIC(20, 4) indicator values, INTEGER years and ids), and lists and
texts without a bound (20,000 indicators on one project, a 2 MB overall target, 1 MB of tenant settings).
The bounds are the constants of ``jixiao.inputs``.
"""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from jixiao import inputs
from jixiao.testing import DEMO_PASSWORD, unique

BASE = "/api/v1/tenants/431102"
YEAR = 2026
INDICATOR = {"level1": "产出", "level2": "数量指标", "name": "培训教师人次", "direction": "ge", "target_value": "1000",
             "unit": "人次", "weight": "30"}

INDICATORS = [
    INDICATOR,
    {"level1": "产出", "level2": "质量指标", "name": "培训合格率", "direction": "ge", "target_value": "95",
     "unit": "%", "weight": "20"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益学生人数", "direction": "ge", "target_value": "5000",
     "unit": "人", "weight": "20"},
    {"level1": "效益", "level2": "可持续影响指标", "name": "形成长效培训机制", "direction": "qualitative",
     "target_text": "建立", "weight": "10"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "参训教师满意度", "direction": "ge",
     "target_value": "90", "unit": "%", "weight": "10"},
]


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:1000])
    return response.get_json()


def refused(response, field: str, status: int = 400) -> str:
    """The refusal's message for ``field`` (the answer must be ``status`` and name it)."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:1000])
    fields = response.get_json()["error"]["fields"]
    assert field in fields, fields
    message = fields[field]
    return " ".join(message) if isinstance(message, list) else str(message)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def page_client(app, username: str):
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def page_post(client, url: str, data: dict):
    token = csrf_from(client.get("/t/431102/projects").get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def new_project(unit, **extra) -> dict:
    return ok(unit.post(f"{BASE}/projects", json={
        "code": unique("IB"), "name": "输入边界项目", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "is_new": False, "requested_amount": "600000.00", **extra}), 201)


def stored_targets(client, pid: int) -> dict | None:
    """The project's target set, or None when none was ever stored (404)."""
    answer = client.get(f"{BASE}/projects/{pid}/targets")
    return None if answer.status_code == 404 else ok(answer)


def project_codes(client) -> set[str]:
    return {p["code"] for p in ok(client.get(f"{BASE}/projects?year={YEAR}&per_page=500"))["items"]}


# ---- NUL bytes, control characters, nesting: the request guard -------------------------------------------------


def test_a_nul_byte_in_the_unauthenticated_login_is_refused_naming_the_field(client):
    """It answered 500 (PostgreSQL: "A string literal cannot contain NUL")."""
    api = client.post("/api/v1/auth/login", json={"username": "lingling_finance\x00", "password": DEMO_PASSWORD})
    assert "空字符" in refused(api, "username")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    page = client.post("/login", data={"username": "ling\x00ling", "password": "x", "csrf_token": token})
    assert page.status_code == 400 and "username" in page.get_data(as_text=True)


@pytest.mark.parametrize("where", ["query", "json_value", "json_key", "form"])
def test_a_nul_byte_anywhere_is_refused_before_any_endpoint_runs(login, app, where):
    finance = login("lingling_finance")
    if where == "query":
        answer = finance.get(f"{BASE}/projects?q=a%00b")
        assert "空字符" in refused(answer, "q")
    elif where == "json_value":
        answer = finance.put(f"{BASE}/projects/1/targets", json={"indicators": [{**INDICATOR, "name": "a\x00b"}]})
        assert "空字符" in refused(answer, "indicators.0.name")
    elif where == "json_key":
        answer = finance.patch(f"{BASE}/settings", json={"settings": {"a\x00b": 1}})
        assert "空字符" in refused(answer, "settings.a\x00b")
    else:
        browser = page_client(app, "lingling_finance")
        code = unique("NUL")
        answer = page_post(browser, "/t/431102/projects", {
            "code": code, "name": "项目\x00名称", "year": str(YEAR), "kind": "project", "fund_type": "general_public",
            "department_code": "101", "requested_amount": "80"})
        assert answer.status_code == 400 and "空字符" in answer.get_data(as_text=True)
        assert code not in project_codes(finance)


def test_a_lone_surrogate_in_json_is_refused_not_sent_to_the_database(login):
    """"\\ud800" is valid JSON but no UTF-8: PostgreSQL could not encode it (500)."""
    unit = login("lingling_dept")
    body = {"code": unique("SU"), "name": "项目\ud800", "year": YEAR, "kind": "project", "fund_type": "general_public",
            "is_new": False, "requested_amount": "1"}
    assert "无效字符" in refused(unit.post(f"{BASE}/projects", json=body), "name")
    assert body["code"] not in project_codes(unit)


def test_a_page_query_with_a_nul_byte_or_a_control_character_is_400_not_500(app):
    browser = page_client(app, "lingling_finance")
    assert browser.get("/t/431102/projects?q=%00").status_code == 400
    assert browser.get("/t/431102/rectifications?status=%1b").status_code == 400


def test_json_nested_5000_deep_is_refused_before_it_is_parsed(login):
    """The parser's recursion failed (RecursionError, a 500) long before any schema saw the body."""
    finance = login("lingling_finance")
    deep = "[" * 5000 + "]" * 5000
    answer = finance.post(f"{BASE}/projects", data=deep, content_type="application/json")
    assert f"{inputs.MAX_JSON_DEPTH}" in refused(answer, "_body")
    # Brackets inside strings are text, not nesting.
    body = '{"code": "' + "[" * 100 + '"}'
    assert "_body" not in finance.post(f"{BASE}/projects", data=body, content_type="application/json").get_json()["error"]["fields"]


def test_a_json_body_beyond_the_bound_is_413(login):
    finance = login("lingling_finance")
    body = '{"overall_target": "' + "x" * (inputs.MAX_JSON_BODY_BYTES + 1) + '"}'
    answer = finance.put(f"{BASE}/projects/1/targets", data=body, content_type="application/json")
    assert answer.status_code == 413 and answer.get_json()["error"]["code"] == "payload_too_large"


# ---- Integers beyond their columns: years, pages, ids ----------------------------------------------------------


@pytest.mark.parametrize("url", [
    f"{BASE}/exports/projects?year=99999999999", f"{BASE}/exports/ledger?year=99999999999",
    f"{BASE}/exports/statistics?year=99999999999", f"{BASE}/rectifications?year=99999999999",
    f"{BASE}/evaluations?year=99999999999", f"{BASE}/projects?year=99999999999", f"{BASE}/statistics?year=99999999999",
    f"{BASE}/projects?page=99999999999999999999", f"{BASE}/documents?owner_id=99999999999",
    f"{BASE}/projects?year=2026.5",
])
def test_an_integer_query_parameter_out_of_range_is_400_naming_it_on_the_api(login, url):
    finance = login("lingling_finance")
    field = url.split("?")[1].split("=")[0]
    refused(finance.get(url), field)


@pytest.mark.parametrize("url", [
    "/t/431102/rectifications?year=99999999999", "/t/431102/exports/projects?year=99999999999",
    "/t/431102/exports/ledger?year=99999999999", "/t/431102/statistics?year=99999999999",
    "/t/431102/projects?year=99999999999", "/t/431102/projects?page=99999999999999999999",
    "/t/431102/projects?year=2026.5",
])
def test_an_integer_query_parameter_out_of_range_is_400_on_the_pages(app, url):
    browser = page_client(app, "lingling_finance")
    answer = browser.get(url)
    assert answer.status_code == 400
    assert ("年度" if "year" in url else "页码") in answer.get_data(as_text=True)


# ---- Money and indicator values beyond their columns ------------------------------------------------------------


@pytest.mark.parametrize(("amount", "words"), [
    ("12345678901234567", "整数部分最多 16 位"), ("99999999999999999999.99", "整数部分最多 16 位"),
    ("1e400", "整数部分最多 16 位"), ("NaN", "有限"), ("Infinity", "有限"),
])
def test_an_amount_beyond_numeric_18_2_is_refused_naming_the_field(login, amount, words):
    unit = login("lingling_dept")
    code = unique("BIG")
    answer = unit.post(f"{BASE}/projects", json={
        "code": code, "name": "巨额项目", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "is_new": False, "requested_amount": amount})
    assert words in refused(answer, "requested_amount")
    assert code not in project_codes(unit)


@pytest.mark.parametrize("value", ["1e400", "12345678901234567", "NaN", "-Infinity"])
def test_an_indicator_value_beyond_numeric_20_4_is_refused(login, value):
    unit = login("lingling_dept")
    project = new_project(unit)
    answer = unit.put(f"{BASE}/projects/{project['id']}/targets", json={
        "overall_target": "目标", "indicators": [{**INDICATOR, "target_value": value}]})
    refused(answer, "indicators")
    assert stored_targets(unit, project["id"]) is None


def approved_targets(unit, finance) -> dict:
    project = new_project(unit)
    pid = project["id"]
    ok(unit.put(f"{BASE}/projects/{pid}/targets", json={"overall_target": "全年培训教师1000人次。",
                                                        "indicators": INDICATORS}))
    ok(unit.post(f"{BASE}/projects/{pid}/targets/submit"))
    ok(finance.post(f"{BASE}/projects/{pid}/targets/review", json={"decision": "approve"}))
    return ok(finance.get(f"{BASE}/projects/{pid}"))


def test_an_approved_budget_beyond_the_column_is_refused_and_the_statistics_stay_readable(login, app):
    """99,999,999,999,999 万元 was accepted, and the bureau's statistics page answered 500 for everyone."""
    unit, finance = login("lingling_dept"), login("lingling_finance")
    project = approved_targets(unit, finance)
    pid = project["id"]
    answer = finance.post(f"{BASE}/projects/{pid}/budget", json={
        "approved_amount": "999999999999990000", "version": project["version"], "confirm_over_request": True})
    assert "整数部分最多 16 位" in refused(answer, "approved_amount")
    browser = page_client(app, "lingling_finance")
    token = csrf_from(browser.get(f"/t/431102/projects/{pid}").get_data(as_text=True))
    page = browser.post(f"/t/431102/projects/{pid}/budget", data={
        "approved_amount": "99999999999999", "version": str(project["version"]), "confirm_over_request": "1",
        "csrf_token": token})
    assert page.status_code == 400 and "批复金额" in page.get_data(as_text=True)
    assert ok(finance.get(f"{BASE}/projects/{pid}"))["approved_amount"] is None
    assert browser.get("/t/431102/statistics").status_code == 200
    assert finance.get(f"{BASE}/statistics").status_code == 200


# ---- Sizes: lists and texts ------------------------------------------------------------------------------------


def test_more_indicators_than_the_bound_are_refused_and_nothing_is_stored(login, app):
    """20,000 indicators were accepted (27 s), after which the project's page weighed 46 MB."""
    unit = login("lingling_dept")
    project = new_project(unit)
    pid = project["id"]
    rows = [{**INDICATOR, "name": f"指标{i}", "weight": "0"} for i in range(inputs.MAX_INDICATORS_PER_PROJECT + 1)]
    answer = unit.put(f"{BASE}/projects/{pid}/targets", json={"overall_target": "目标", "indicators": rows})
    assert str(inputs.MAX_INDICATORS_PER_PROJECT) in refused(answer, "indicators")
    assert stored_targets(unit, pid) is None
    # The page's form reaches the same rule in the service.
    browser = page_client(app, "lingling_dept")
    form = {"overall_target": "目标"}
    for i in range(inputs.MAX_INDICATORS_PER_PROJECT + 1):
        form.update({f"level1-{i}": "产出", f"level2-{i}": "数量指标", f"name-{i}": f"指标{i}", f"direction-{i}": "ge",
                     f"value-{i}": "1", f"unit-{i}": "项", f"weight-{i}": "0"})
    token = csrf_from(browser.get(f"/t/431102/projects/{pid}").get_data(as_text=True))
    page = browser.post(f"/t/431102/projects/{pid}/targets", data={**form, "csrf_token": token})
    assert page.status_code == 400 and f"最多 {inputs.MAX_INDICATORS_PER_PROJECT} 条" in page.get_data(as_text=True)
    assert stored_targets(unit, pid) is None


def test_an_overall_target_beyond_the_bound_is_refused_on_the_api_and_the_page(login, app):
    """A 2 MB overall target was accepted."""
    unit = login("lingling_dept")
    pid = new_project(unit)["id"]
    text = "目" * (inputs.LONG_TEXT_MAX_LENGTH + 1)
    answer = unit.put(f"{BASE}/projects/{pid}/targets", json={"overall_target": text, "indicators": [INDICATOR]})
    assert str(inputs.LONG_TEXT_MAX_LENGTH) in refused(answer, "overall_target")
    browser = page_client(app, "lingling_dept")
    token = csrf_from(browser.get(f"/t/431102/projects/{pid}").get_data(as_text=True))
    page = browser.post(f"/t/431102/projects/{pid}/targets", data={"overall_target": text, "csrf_token": token})
    assert page.status_code == 400 and str(inputs.LONG_TEXT_MAX_LENGTH) in page.get_data(as_text=True)
    assert stored_targets(unit, pid) is None


def test_tenant_settings_beyond_64_kb_are_refused_and_not_stored(login):
    """1 MB of tenant settings was accepted; they are read on every request that calls a hook."""
    admin = login("lingling_admin")
    key = "documents.number_prefix"  # a declared text setting: its value is a text of any length
    answer = admin.patch(f"{BASE}/settings", json={"settings": {key: "x" * inputs.MAX_TENANT_SETTINGS_BYTES}})
    assert "64 KB" in refused(answer, "settings")
    assert key not in ok(admin.get(BASE))["settings"]


def test_a_rectification_notice_with_more_problems_than_the_bound_is_refused(login, app):
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle.models import Evaluation, EvaluationStatus, RectificationNotice
    from jixiao.tenancy import service as tenancy

    finance = login("lingling_finance")
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, "431102")
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            found = db.execute(sa.select(Evaluation.id, Evaluation.project_id).where(
                Evaluation.tenant_id == tenant.id, Evaluation.status == EvaluationStatus.SUBMITTED,
                Evaluation.id.not_in(sa.select(RectificationNotice.evaluation_id))).limit(1)).first()
    assert found is not None, "the demo data has a submitted evaluation without a notice"
    evaluation_id, project_id = found
    problems = [f"问题{i}" for i in range(inputs.MAX_PROBLEMS_PER_NOTICE + 1)]
    answer = finance.post(f"{BASE}/projects/{project_id}/rectifications",
                          json={"evaluation_id": evaluation_id, "problems": problems})
    assert str(inputs.MAX_PROBLEMS_PER_NOTICE) in refused(answer, "problems")
    browser = page_client(app, "lingling_finance")
    token = csrf_from(browser.get(f"/t/431102/projects/{project_id}").get_data(as_text=True))
    page = browser.post(f"/t/431102/projects/{project_id}/rectifications", data={
        "evaluation_id": str(evaluation_id), "problems": "\n".join(problems), "csrf_token": token})
    assert page.status_code == 400 and f"最多 {inputs.MAX_PROBLEMS_PER_NOTICE} 条" in page.get_data(as_text=True)
    with app.app_context(), scoped(TenantScope(read_ids=(tenant.id,))) as db:
        assert db.scalar(sa.select(RectificationNotice.id).where(
            RectificationNotice.evaluation_id == evaluation_id)) is None


# ---- Spreadsheet imports ----------------------------------------------------------------------------------------


def project_list(client, rows: list[list]) -> bytes:
    response = client.get(f"{BASE}/imports/projects/template")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb["项目清单"]
    for offset, values in enumerate(rows):
        for col, value in enumerate(values, start=1):
            ws.cell(row=4 + offset, column=col, value=value)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(client, data: bytes):
    return client.post(f"{BASE}/imports/projects", data={"file": (io.BytesIO(data), "清单.xlsx")},
                       content_type="multipart/form-data")


def test_a_spreadsheet_amount_beyond_the_column_or_with_a_fraction_of_a_cent_is_a_row_error(login):
    finance = login("lingling_finance")
    prefix = unique("XB")
    rows = [[f"{prefix}1", "超大金额", YEAR, "项目", "一般公共预算", "101", "99999999999999", "教育", "否", "否", "否"],
            [f"{prefix}2", "零头", YEAR, "项目", "一般公共预算", "101", "1.0000001", "教育", "否", "否", "否"],
            [f"{prefix}3", "正常", YEAR, "项目", "一般公共预算", "101", "12.5", "教育", "否", "否", "否"]]
    answer = upload(finance, project_list(finance, rows))
    assert answer.status_code == 400
    problems = {(r["row"], r["column"]): r["message"] for r in answer.get_json()["error"]["fields"]["rows"]}
    assert set(problems) == {(4, "申请金额（万元）"), (5, "申请金额（万元）")}
    assert "两位小数" in problems[(5, "申请金额（万元）")]
    assert not {f"{prefix}1", f"{prefix}2", f"{prefix}3"} & project_codes(finance)


def test_evidence_files_on_one_notice_are_bounded(login, app, monkeypatch):
    """Uploads were bounded in size, not in number: a notice took any number of files."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle.models import EvidenceFile, NoticeStatus, RectificationNotice
    from jixiao.tenancy import service as tenancy

    finance = login("lingling_finance")
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, "431102")
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            notice_id = db.scalar(sa.select(RectificationNotice.id).where(
                RectificationNotice.tenant_id == tenant.id, RectificationNotice.status != NoticeStatus.VERIFIED)
                .order_by(RectificationNotice.id).limit(1))
            held = db.scalar(sa.select(sa.func.count(EvidenceFile.id)).where(
                EvidenceFile.owner_type == "rectification_notices", EvidenceFile.owner_id == notice_id))
    assert notice_id is not None, "the demo data has an open notice"
    monkeypatch.setattr(inputs, "MAX_FILES_PER_RECORD", held + 1)  # the bound, not 50 uploads, is under test

    def send(n: int):
        return finance.post(f"{BASE}/rectifications/{notice_id}/files", data={
            "file": (io.BytesIO(f"佐证材料 {n}".encode()), f"evidence-{n}.txt")}, content_type="multipart/form-data")

    ok(send(1), 201)
    assert "最多" in refused(send(2), "file")
    assert len(ok(finance.get(f"{BASE}/rectifications/{notice_id}/files"))) == held + 1


def test_every_bound_is_documented():
    from pathlib import Path

    documented = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    bounds = [name for name in vars(inputs) if name.isupper() and (name.startswith("MAX_") or name.endswith("_LENGTH"))
              and name != "MAX_DATABASE_INTEGER" and name != "MAX_YEAR"]
    assert bounds and [name for name in bounds if f"`{name}`" not in documented] == []


def test_an_indicator_value_with_a_fifth_decimal_is_refused_on_the_page(login, app):
    """The page's indicator table stored 1.23456 as 1.2346."""
    unit = login("lingling_dept")
    pid = new_project(unit)["id"]
    browser = page_client(app, "lingling_dept")
    token = csrf_from(browser.get(f"/t/431102/projects/{pid}").get_data(as_text=True))
    page = browser.post(f"/t/431102/projects/{pid}/targets", data={
        "overall_target": "目标", "level1-0": "产出", "level2-0": "数量指标", "name-0": "指标", "direction-0": "ge",
        "value-0": "1.23456", "unit-0": "项", "weight-0": "10", "csrf_token": token})
    assert page.status_code == 400 and "最多四位小数" in page.get_data(as_text=True)
    assert stored_targets(unit, pid) is None


def test_the_text_checks_one_scan_gives_the_answer_of_the_character_by_character_rule():
    """``text_problem`` and ``name_problem`` look at most text with one compiled scan and walk only text that
    may be refused: for every character (alone, and inside a name) the answer is the walk's own, message and
    all."""
    import itertools
    import sys

    # The BMP, plane 1 (the hieroglyph and musical format controls) and plane 14 (the tags) whole; of the
    # other planes (ideographs, private use, unassigned) every 257th code point.
    codes = itertools.chain(range(0x20000), range(0xE0000, 0xE1000), range(0x20000, sys.maxunicode + 1, 257))
    disagreements = []
    for code in codes:
        char = chr(code)
        for value in (char, f"名{char}称"):
            for multiline in (True, False):
                if inputs.text_problem(value, multiline=multiline) != inputs._text_refusal(value, multiline):
                    disagreements.append(("text", multiline, hex(code)))
            if inputs.name_problem(value) != inputs._name_refusal(value):
                disagreements.append(("name", hex(code)))
    assert disagreements == []
    assert inputs.name_problem("  \u3000") == "不能为空或只有空格"
    assert inputs.name_problem("项目\u200b名称") == "不能包含不可见字符（U+200B）"
