"""Never a success that ignored part of the request: what the product cannot keep exactly as sent is refused.

Money with six decimals was rounded to two, ``year: 2026.5`` was taken as 2026, names of spaces or with
direction-control and zero-width characters were stored, the page cut long texts to their columns, a unit's
``是否涉密`` in the project list import was dropped, and unknown JSON fields were answered inconsistently.
"""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from jixiao.testing import DEMO_PASSWORD, unique

BASE = "/api/v1/tenants/431102"
YEAR = 2026


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:1000])
    return response.get_json()


def refused(response, field: str, status: int = 400) -> str:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:1000])
    fields = response.get_json()["error"]["fields"]
    assert field in fields, fields
    message = fields[field]
    return " ".join(message) if isinstance(message, list) else str(message)


def project_body(**extra) -> dict:
    return {"code": unique("SC"), "name": "静默转换项目", "year": YEAR, "kind": "project", "fund_type": "general_public",
            "is_new": False, "requested_amount": "600000.00", **extra}


def project_codes(client) -> set[str]:
    return {p["code"] for p in ok(client.get(f"{BASE}/projects?year={YEAR}&per_page=500"))["items"]}


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def page_client(app, username: str):
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client


def page_create(browser, **fields):
    token = csrf_from(browser.get("/t/431102/projects").get_data(as_text=True))
    data = {"code": unique("SP"), "name": "页面项目", "year": str(YEAR), "kind": "project", "fund_type": "general_public",
            "department_code": "101", "requested_amount": "80", "category": "教育", **fields, "csrf_token": token}
    return data["code"], browser.post("/t/431102/projects", data=data)


# ---- Money --------------------------------------------------------------------------------------------------


def test_money_with_six_decimals_is_refused_not_rounded(login, app):
    """"100.123456" was stored as 100.12."""
    unit = login("lingling_dept")
    body = project_body(requested_amount="100.123456")
    assert "金额最多两位小数" in refused(unit.post(f"{BASE}/projects", json=body), "requested_amount")
    assert body["code"] not in project_codes(unit)
    # The page takes 万元: six places of 万元 are the cent; a seventh is a fraction of a cent.
    browser = page_client(app, "lingling_dept")
    code, answer = page_create(browser, requested_amount="1.1234567")
    assert answer.status_code == 400 and "金额最多两位小数" in answer.get_data(as_text=True)
    assert code not in project_codes(unit)
    code, answer = page_create(browser, requested_amount="1.123456")
    assert answer.status_code == 302
    created = [p for p in ok(unit.get(f"{BASE}/projects?q={code}"))["items"]]
    assert [p["requested_amount"] for p in created] == ["11234.56"]


def test_minus_zero_is_the_amount_zero(login):
    """Decided: −0 is the number 0 (nothing is lost), stored and shown without a sign."""
    unit = login("lingling_dept")
    created = ok(unit.post(f"{BASE}/projects", json=project_body(requested_amount="-0")), 201)
    assert created["requested_amount"] == "0.00"


# ---- Integers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2026.5, "2026", 2026.0, True])
def test_a_year_that_is_not_a_json_integer_is_refused(login, year):
    """2026.5 was taken as 2026. Decided and documented: integers are JSON numbers, never strings."""
    unit = login("lingling_dept")
    body = project_body(year=year)
    assert "整数" in refused(unit.post(f"{BASE}/projects", json=body), "year")
    assert body["code"] not in project_codes(unit)


# ---- Names and texts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["   ", "教育\u202e局项目", "教育\u2066局", "教育\u200b项目", "教育\u200f项目", "项目\x07"])
def test_a_name_of_spaces_or_with_invisible_characters_is_refused_naming_the_field(login, app, name):
    unit = login("lingling_dept")
    body = project_body(name=name)
    refused(unit.post(f"{BASE}/projects", json=body), "name")
    assert body["code"] not in project_codes(unit)
    browser = page_client(app, "lingling_dept")
    code, answer = page_create(browser, name=name)
    assert answer.status_code == 400
    assert code not in project_codes(unit)


def test_an_agency_and_a_department_named_with_a_zero_width_space_are_refused(login):
    finance, admin = login("lingling_finance"), login("lingling_admin")
    refused(finance.post(f"{BASE}/agencies", json={"name": "评价\u200b机构"}), "name")
    refused(admin.post(f"{BASE}/departments", json={"code": unique("D"), "name": "\u200d"}), "name")


def test_the_page_refuses_a_text_longer_than_its_column_instead_of_cutting_it(login, app):
    """The project form cut the name to 200 characters and said it was created."""
    unit = login("lingling_dept")
    browser = page_client(app, "lingling_dept")
    code, answer = page_create(browser, name="长" * 201)
    assert answer.status_code == 400 and "最多 200 个字" in answer.get_data(as_text=True)
    assert code not in project_codes(unit)


# ---- Unknown fields -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ({"surprise": 1}, "surprise"),
    ({"indicators": [{"level1": "产出", "level2": "数量指标", "name": "n", "direction": "ge", "weight": "1",
                      "colour": "red"}]}, "indicators"),
])
def test_unknown_json_fields_are_refused_naming_them(login, body, field):
    unit = login("lingling_dept")
    pid = ok(unit.post(f"{BASE}/projects", json=project_body()), 201)["id"]
    message = refused(unit.put(f"{BASE}/projects/{pid}/targets", json={"overall_target": "目标", **body}), field)
    assert "未知字段" in message
    assert unit.get(f"{BASE}/projects/{pid}/targets").status_code == 404  # nothing stored


# ---- The project list import --------------------------------------------------------------------------------


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


def test_a_unit_marking_imported_projects_classified_is_refused_and_nothing_is_imported(login):
    """The mark was silently dropped: the rows imported as not classified and the import said it succeeded."""
    unit = login("lingling_dept")
    prefix = unique("CI")
    rows = [[f"{prefix}1", "普通项目", YEAR, "项目", "一般公共预算", "101", 12, "教育", "否", "否", "否"],
            [f"{prefix}2", "涉密项目", YEAR, "项目", "一般公共预算", "101", 12, "教育", "否", "否", "是"]]
    answer = unit.post(f"{BASE}/imports/projects", data={"file": (io.BytesIO(project_list(unit, rows)), "清单.xlsx")},
                       content_type="multipart/form-data")
    assert answer.status_code == 400, answer.get_data(as_text=True)[:500]
    problems = answer.get_json()["error"]["fields"]["rows"]
    assert [(p["row"], p["column"]) for p in problems] == [(5, "是否涉密")]
    assert not {f"{prefix}1", f"{prefix}2"} & project_codes(unit)
    # Finance may mark them: the same list imports, the mark kept.
    finance = login("lingling_finance")
    answer = finance.post(f"{BASE}/imports/projects",
                          data={"file": (io.BytesIO(project_list(finance, rows)), "清单.xlsx")},
                          content_type="multipart/form-data")
    assert answer.status_code == 201, answer.get_data(as_text=True)[:500]
    marked = ok(finance.get(f"{BASE}/projects?q={prefix}2"))["items"]
    assert [p["classified"] for p in marked] == [True]
