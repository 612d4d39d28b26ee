"""Excel: the forms units fill (绩效目标申报表, 绩效监控表, 绩效自评表) round trip, the 项目清单 import applies
all rows or none (a bad row among 1,000 changes nothing and is reported), files that are not spreadsheets are
refused, exports open in Excel, and another tenant's jobs, files and notifications do not exist for a user.

With ``JIXIAO_TEST_REDIS_URL`` set, long imports and exports go to RQ; the tests run the queue with an
in-process ``SimpleWorker``. Without it they run in-process at once (the embedded default).
"""

from __future__ import annotations

import io
import time
import zipfile
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from jixiao.testing import unique

YEAR = 2026
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INDICATORS = [
    ("产出", "数量指标", "培训教师人次", "≥", 1000, "人次", 30),
    ("产出", "质量指标", "培训合格率", "≥", 95, "%", 20),
    ("效益", "社会效益指标", "受益学生人数", "≥", 5000, "人", 20),
    ("效益", "可持续影响指标", "形成长效培训机制", "定性", "建立", "", 10),
    ("满意度", "服务对象满意度指标", "参训教师满意度", "≥", 90, "%", 10),
]


def base(code: str = "431102", path: str = "") -> str:
    return f"/api/v1/tenants/{code}{path}"


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    return response.get_json()


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX
    return load_workbook(io.BytesIO(response.data))


def saved(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(client, url: str, data: bytes, filename: str = "填好的表.xlsx"):
    return client.post(url, data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def run_queued_jobs(app) -> None:
    """With Redis, long imports and exports wait in RQ: work them off here, as a worker would."""
    url = app.config.get("REDIS_URL")
    if not url:
        return
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(url)
    queues = [Queue(name, connection=connection) for name in ("interactive", "documents")]
    with app.app_context():
        SimpleWorker(queues, connection=connection).work(burst=True)


def finished_job(app, client, job_id: int) -> dict:
    run_queued_jobs(app)
    return ok(client.get(f"/api/v1/jobs/{job_id}"))


def count_projects(app, tenant_code: str, year: int | None = None) -> int:
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle.models import Project
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, tenant_code)
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            stmt = sa.select(sa.func.count(Project.id)).where(Project.tenant_id == tenant.id)
            if year:
                stmt = stmt.where(Project.year == year)
            return db.scalar(stmt)


@pytest.fixture
def people(login):
    return {"unit": login("lingling_dept"), "finance": login("lingling_finance"), "viewer": login("lingling_viewer"),
            "heshan": login("heshan_finance"), "province": login("hunan_admin")}


def new_project(client, **extra) -> dict:
    body = {"code": unique("XL"), "name": "教师培训项目", "year": YEAR, "kind": "project", "fund_type": "general_public",
            "is_new": False, "requested_amount": "600000.00", **extra}
    return ok(client.post(base(path="/projects"), json=body), 201)


def fill_targets(wb, overall: str = "全年培训教师1000人次，提升教学质量。") -> None:
    ws = wb["绩效目标申报表"]
    assert ws["A7"].value == "年度总体目标"
    ws["B7"] = overall
    assert [c.value for c in ws[9]][:8] == ["一级指标", "二级指标", "三级指标", "指标方向", "指标值", "计量单位",
                                           "权重（分值）", "共性指标编码"]
    for offset, values in enumerate(INDICATORS):
        for col, value in enumerate(values, start=1):
            ws.cell(row=10 + offset, column=col, value=value)


def budgeted_project(people) -> tuple[dict, list[dict]]:
    """A project of the unit with targets imported from Excel, approved, and a budget of 50万元."""
    unit, finance = people["unit"], people["finance"]
    project = new_project(unit)
    pid = project["id"]
    wb = workbook(unit.get(base(path=f"/projects/{pid}/templates/targets")))
    fill_targets(wb)
    ok(upload(unit, base(path=f"/projects/{pid}/imports/targets"), saved(wb)))
    ok(unit.post(base(path=f"/projects/{pid}/targets/submit")))
    ok(finance.post(base(path=f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    ok(finance.post(base(path=f"/projects/{pid}/budget"), json={
        "approved_amount": "500000", "version": finance.get(base(path=f"/projects/{pid}")).get_json()["version"]}))
    indicators = ok(unit.get(base(path=f"/projects/{pid}/targets")))["indicators"]
    return project, indicators


# ---- Templates round trip ---------------------------------------------------------------------------------


def test_targets_round_trip(people):
    unit = people["unit"]
    project = new_project(unit)
    pid = project["id"]
    response = unit.get(base(path=f"/projects/{pid}/templates/targets"))
    disposition = unquote(response.headers["Content-Disposition"])
    assert f"绩效目标申报表-{project['code']}.xlsx" in disposition and "UTF-8''" in disposition
    wb = workbook(response)
    assert wb.sheetnames[0] == "绩效目标申报表"
    assert wb["_jixiao"].sheet_state == "veryHidden"
    meta = {row[0]: row[1] for row in wb["_jixiao"].iter_rows(min_row=2, values_only=True)}
    assert meta["template"] == "targets" and meta["project_id"] == str(pid) and meta["tenant_code"] == "431102"
    ws = wb.active
    assert ws["B3"].value == "教师培训项目" and ws["F3"].value == project["code"] and ws["F5"].value == 60
    assert ws.freeze_panes == "A10"
    assert any("≥" in str(v.formula1) for v in ws.data_validations.dataValidation)
    fill_targets(wb)
    result = ok(upload(unit, base(path=f"/projects/{pid}/imports/targets"), saved(wb)))
    assert result["indicators"] == 5 and result["status"] == "draft" and result["warnings"] == []

    targets = ok(unit.get(base(path=f"/projects/{pid}/targets")))
    assert targets["overall_target"].startswith("全年培训教师1000人次")
    got = [(i["level1"], i["level2"], i["name"], i["direction"], i["target_value"], i["target_text"], i["unit"],
            i["weight"]) for i in targets["indicators"]]
    assert got[0][:4] == ("产出", "数量指标", "培训教师人次", "ge") and got[0][4].startswith("1000")
    assert got[3][3] == "qualitative" and got[3][5] == "建立" and got[3][4] is None
    assert [g[7].split(".")[0] for g in got] == ["30", "20", "20", "10", "10"]

    # Downloaded again, the template lists the indicators the project has.
    again = workbook(unit.get(base(path=f"/projects/{pid}/templates/targets"))).active
    assert [again.cell(row=r, column=3).value for r in range(10, 15)] == [i[2] for i in INDICATORS]
    assert again["D13"].value == "定性" and again["E13"].value == "建立" and again["E10"].value == 1000

    # A file with problems changes nothing and says where.
    broken = load_workbook(io.BytesIO(saved(wb)))
    ws = broken.active
    ws["D11"] = "大约"
    ws["G12"] = -5
    ws["C14"] = None
    rejected = unit.post(base(path=f"/projects/{pid}/imports/targets"),
                         data={"file": (io.BytesIO(saved(broken)), "目标.xlsx")}, content_type="multipart/form-data")
    assert rejected.status_code == 400
    error = rejected.get_json()["error"]
    assert error["code"] == "validation_failed" and error["fields"]["error_count"] == 3
    where = {(r["row"], r["column"]) for r in error["fields"]["rows"]}
    assert where == {(11, "指标方向"), (12, "权重（分值）"), (14, "三级指标")}
    assert "第 11 行" in error["message"]
    assert ok(unit.get(base(path=f"/projects/{pid}/targets")))["indicators"] == targets["indicators"]
    report = workbook(unit.get(error["fields"]["report_url"])).active
    assert [c.value for c in report[1]] == ["行号", "列", "问题"]
    assert {(r[0], r[1]) for r in report.iter_rows(min_row=2, values_only=True)} == where


def test_monitoring_round_trip(people):
    unit = people["unit"]
    project, indicators = budgeted_project(people)
    pid = project["id"]
    response = unit.get(base(path=f"/projects/{pid}/templates/monitoring?period=6"))
    assert "绩效监控表-" in unquote(response.headers["Content-Disposition"])
    wb = workbook(response)
    ws = wb.active
    assert ws["B5"].value == 6
    assert [c.value for c in ws[9]][:7] == ["年初预算（万元）", "调整数（万元）", "调整后预算（万元）", "执行数（万元）",
                                           "执行率", "偏差原因", "纠偏措施"]
    assert ws["A10"].value == 50 and ws["C10"].value == 50
    assert [c.value for c in ws[13]][:10] == ["一级指标", "二级指标", "三级指标", "指标方向", "年度指标值", "计量单位",
                                             "1-6月实际完成值", "预计全年完成情况", "偏差原因", "纠偏措施"]
    assert [ws.cell(row=r, column=3).value for r in range(14, 19)] == [i["name"] for i in indicators]
    assert ws.column_dimensions["K"].hidden and ws["K14"].value == indicators[0]["id"]
    ws["D10"] = 10  # 10万元 of 50万元 by June: behind schedule → red
    for row, actual in zip(range(14, 19), [200, 96, 2600, "已制定培训制度", 92], strict=True):
        ws.cell(row=row, column=7, value=actual)
    ws["H14"] = "可完成"

    # The light is red only once the platform computes it: the service's own check comes back with its cells.
    missing = upload(unit, base(path=f"/projects/{pid}/imports/monitoring"), saved(wb))
    assert missing.status_code == 400, missing.get_json()
    rows = missing.get_json()["error"]["fields"]["rows"]
    assert {(r["row"], r["column"]) for r in rows} == {(10, "偏差原因"), (10, "纠偏措施")}
    assert "红灯" in rows[0]["message"]
    assert ok(unit.get(base(path=f"/projects/{pid}/monitoring")))["reports"] == []

    ws["I14"], ws["J14"] = "培训场地改造推迟", "下半年集中培训"
    ws["F10"], ws["G10"] = "培训场地改造推迟，资金支付滞后", "下半年集中培训，加快支付"
    result = ok(upload(unit, base(path=f"/projects/{pid}/imports/monitoring"), saved(wb)))
    assert result["period"] == 6 and result["light"] == "red" and result["execution_rate"] == "20.00"
    report = ok(unit.get(base(path=f"/projects/{pid}/monitoring")))["reports"][0]
    assert report["executed_amount"] == "100000.00" and report["cause"].startswith("培训场地改造推迟")
    values = {v["indicator_id"]: v for v in report["values"]}
    assert values[indicators[0]["id"]]["actual_value"].startswith("200") and values[indicators[0]["id"]]["light"] == "red"
    # 培训合格率 (%) is a level: 96 against its 95 target is on track (green), not against a pro-rated 47.5 (blue).
    assert values[indicators[1]["id"]]["light"] == "green"
    assert "预计全年：可完成" in values[indicators[0]["id"]]["note"]
    assert values[indicators[3]["id"]]["actual_value"] is None and "已制定培训制度" in values[indicators[3]["id"]]["note"]

    # The template of that month comes back filled in.
    again = workbook(unit.get(base(path=f"/projects/{pid}/templates/monitoring?period=6"))).active
    assert again["D10"].value == 10 and again["G14"].value == 200 and again["I14"].value == "培训场地改造推迟"
    assert again["G17"].value == "已制定培训制度"
    assert unit.get(base(path=f"/projects/{pid}/templates/monitoring?period=13")).status_code == 400


def test_self_evaluation_round_trip(people):
    unit = people["unit"]
    project, indicators = budgeted_project(people)
    pid = project["id"]
    wb = workbook(unit.get(base(path=f"/projects/{pid}/templates/self_evaluation")))
    ws = wb.active
    assert [c.value for c in ws[8]][:6] == ["年初预算数（万元）", "全年预算数（万元）", "全年执行数（万元）", "分值", "执行率", "得分"]
    assert ws["D9"].value == 10 and ws["B9"].value == 50
    assert ws["A12"].value == "年度总体目标" and ws["E12"].value == "实际完成情况"
    assert ws["A13"].value.startswith("全年培训教师")
    assert [c.value for c in ws[16]][:8] == ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                                            "偏差原因分析及改进措施"]
    # 产出 50 shared 30:20, 效益 30 shared 20:10, 满意度 10.
    assert [ws.cell(row=r, column=6).value for r in range(17, 22)] == [30, 20, 20, 10, 10]
    assert ws["D17"].value == "≥1000人次" and ws["D20"].value == "建立"
    assert ws["A22"].value == "总分" and ws["F22"].value == "自评等级"
    ws["C9"] = 45
    ws["E13"] = "基本完成年度目标"
    for row, actual in zip(range(17, 22), [1000, 97, 4000, "部分达成", 95], strict=True):
        ws.cell(row=row, column=5, value=actual)
    ws["G20"] = 9  # 部分达成 allows 6–8 of 10 points
    ws["H19"] = "受益面有待扩大"
    rejected = upload(unit, base(path=f"/projects/{pid}/imports/self_evaluation"), saved(wb))
    assert rejected.status_code == 400
    rows = rejected.get_json()["error"]["fields"]["rows"]
    assert [(r["row"], r["column"]) for r in rows] == [(20, "得分")] and "6.00–8.00" in rows[0]["message"]
    evaluations = ok(unit.get(base(path=f"/projects/{pid}/evaluations")))
    assert all(e["status"] != "submitted" for e in evaluations)

    ws["G20"] = 7
    result = ok(upload(unit, base(path=f"/projects/{pid}/imports/self_evaluation"), saved(wb)))
    # 9 (execution 45/50) + 30 + 20 + 16 (4000/5000 × 20) + 7 + 10 = 92 → 优
    assert result["execution_score"] == "9.00" and result["total_score"] == "92.00" and result["grade"] == "优"
    evaluation = ok(unit.get(base(path=f"/evaluations/{result['evaluation_id']}")))
    assert evaluation["status"] == "submitted" and evaluation["kind"] == "self" and evaluation["grade"] == "优"
    assert evaluation["summary"] == "基本完成年度目标"
    scores = {s["indicator_id"]: s for s in evaluation["scores"]}
    assert scores[indicators[3]["id"]]["band"] == "partial" and scores[indicators[2]["id"]]["note"] == "受益面有待扩大"
    assert ok(unit.get(base(path=f"/projects/{pid}")))["stage"] == "evaluated"

    filled = workbook(unit.get(base(path=f"/projects/{pid}/templates/self_evaluation"))).active
    assert filled["C9"].value == 45 and filled["E20"].value == "部分达成" and filled["G20"].value == 7
    again = upload(unit, base(path=f"/projects/{pid}/imports/self_evaluation"), saved(wb))
    assert again.status_code == 409 and "已提交" in again.get_json()["error"]["message"]


def test_a_form_of_another_kind_or_project_is_refused(people):
    unit = people["unit"]
    first, second = new_project(unit), new_project(unit)
    wb = workbook(unit.get(base(path=f"/projects/{first['id']}/templates/targets")))
    fill_targets(wb)
    data = saved(wb)
    wrong_project = upload(unit, base(path=f"/projects/{second['id']}/imports/targets"), data)
    assert wrong_project.status_code == 400 and "不是本项目" in wrong_project.get_json()["error"]["message"]
    wrong_kind = upload(unit, base(path=f"/projects/{first['id']}/imports/self_evaluation"), data)
    assert wrong_kind.status_code == 409  # not budgeted yet: refused before the file is read
    assert unit.get(base(path=f"/projects/{second['id']}/targets")).status_code == 404
    assert unit.get(base(path=f"/projects/{first['id']}/templates/nonsense")).status_code == 404
    # Read-only users may download but not import.
    viewer = people["viewer"]
    assert viewer.get(base(path=f"/projects/{first['id']}/templates/targets")).status_code == 200
    assert upload(viewer, base(path=f"/projects/{first['id']}/imports/targets"), data).status_code == 403


# ---- Files that are not spreadsheets ----------------------------------------------------------------------


def test_files_that_are_not_spreadsheets_are_refused(people, app, monkeypatch):
    unit = people["unit"]
    project = new_project(unit)
    url = base(path=f"/projects/{project['id']}/imports/targets")
    good = workbook(unit.get(base(path=f"/projects/{project['id']}/templates/targets")))
    fill_targets(good)
    data = saved(good)
    cases = [
        ("项目,金额\n教师培训,60\n".encode(), "清单.xlsx", "不是 Excel 工作簿"),
        (b"", "空.xlsx", "空的"),
        (data[: len(data) // 2], "截断.xlsx", "损坏或不完整"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "旧.xls", "旧版 Excel"),
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    cases.append((buffer.getvalue(), "压缩包.xlsx", "不是 Excel 工作簿"))
    for content, name, said in cases:
        response = upload(unit, url, content, name)
        assert response.status_code == 400, (name, response.get_json())
        assert said in response.get_json()["error"]["message"], (name, response.get_json())
    missing = unit.post(url, data={}, content_type="multipart/form-data")
    assert missing.status_code == 400 and "file" in missing.get_json()["error"]["fields"]
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    too_large = upload(unit, url, data, "大.xlsx")
    assert too_large.status_code == 413 and too_large.get_json()["error"]["message"]
    monkeypatch.undo()
    assert unit.get(base(path=f"/projects/{project['id']}/targets")).status_code == 404  # nothing was written


# ---- The project list: all or nothing ---------------------------------------------------------------------


def project_list(client, tenant_code: str, rows: list[list]) -> bytes:
    wb = workbook(client.get(base(tenant_code, "/imports/projects/template")))
    ws = wb["项目清单"]
    assert ws["A3"].value == "项目编码*" and ws["G3"].value == "申请金额（万元）*"
    assert "部门代码" in wb.sheetnames
    for offset, values in enumerate(rows):
        for col, value in enumerate(values, start=1):
            ws.cell(row=4 + offset, column=col, value=value)
    return saved(wb)


def list_rows(prefix: str, n: int, year: int) -> list[list]:
    kinds, funds = ["项目", "政策", "部门整体"], ["一般公共预算", "政府性基金预算", "国有资本经营预算", "社会保险基金预算"]
    return [[f"{prefix}{i:04d}", f"批量导入项目{i}", year, kinds[i % 3], funds[i % 4], ["101", "102", "103"][i % 3],
             round(10 + i * 0.37, 2), "教育", "是" if i % 2 else "否", "否", "否"] for i in range(n)]


def test_one_bad_row_among_a_thousand_changes_nothing_then_the_fixed_file_imports_all(login, app, capsys):
    biangba = login("biangba_finance")
    year = 2030
    prefix = unique("B")
    rows = list_rows(prefix, 1000, year)
    rows[738 - 4][5] = "999"  # sheet row 738: a department the bureau does not have
    before = count_projects(app, "540330")

    data = project_list(biangba, "540330", rows)
    started = time.perf_counter()
    rejected = upload(biangba, base("540330", "/imports/projects"), data, "项目清单.xlsx")
    rejected_in = time.perf_counter() - started
    assert rejected.status_code == 400, rejected.get_json()
    error = rejected.get_json()["error"]
    assert error["fields"]["error_count"] == 1
    assert error["fields"]["rows"] == [{"row": 738, "column": "主管部门编码", "message": "本级没有编码为 999 的部门"}]
    assert "第 738 行" in error["message"]
    assert count_projects(app, "540330") == before
    report = workbook(biangba.get(error["fields"]["report_url"])).active
    assert list(report.iter_rows(min_row=2, values_only=True)) == [(738, "主管部门编码", "本级没有编码为 999 的部门")]

    rows[738 - 4][5] = "102"
    data = project_list(biangba, "540330", rows)
    started = time.perf_counter()
    accepted = upload(biangba, base("540330", "/imports/projects"), data, "项目清单.xlsx")
    body = ok(accepted, 202)
    assert body["job"]["status"] == ("queued" if app.config.get("REDIS_URL") else "succeeded")
    job = finished_job(app, biangba, body["job"]["id"])
    imported_in = time.perf_counter() - started
    assert job["status"] == "succeeded" and job["progress"] == 100, job
    assert job["result"]["created"] == 1000 and body["rows"] == 1000
    assert count_projects(app, "540330") == before + 1000
    assert count_projects(app, "540330", year) == 1000
    listed = ok(biangba.get(base("540330", f"/projects?year={year}&q={prefix}0734")))  # sheet row 738
    assert listed["items"][0]["department"]["code"] == "102"
    assert listed["items"][0]["requested_amount"] == "2815800.00"  # 281.58 万元
    with capsys.disabled():
        print(f"\n  1,000-row project list: rejected in {rejected_in:.2f} s, imported (job) in {imported_in:.2f} s")

    # The same file again: every code now exists; nothing is created twice.
    again = upload(biangba, base("540330", "/imports/projects"), project_list(biangba, "540330", rows[:3]), "again.xlsx")
    assert again.status_code == 400 and again.get_json()["error"]["fields"]["error_count"] == 3
    assert "已有编码" in again.get_json()["error"]["fields"]["rows"][0]["message"]

    # A long export (more than 1,000 rows) is a job too; its file opens with every row.
    queued = ok(biangba.get(base("540330", "/exports/projects")), 202)
    export_job = finished_job(app, biangba, queued["job"]["id"])
    assert export_job["status"] == "succeeded" and export_job["progress"] == 100, export_job
    assert export_job["result"]["url"].endswith("/download")
    sheet = workbook(biangba.get(export_job["result"]["url"])).active
    data_rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert len(data_rows) == count_projects(app, "540330") == queued["rows"]
    assert sum(1 for r in data_rows if r[2] == year) == 1000


def test_small_lists_import_at_once_and_rows_are_checked_one_by_one(people, app, monkeypatch):
    finance = people["finance"]
    prefix = unique("S")
    rows = list_rows(prefix, 6, YEAR)
    rows[1][0] = rows[0][0]  # the same code twice
    rows[2][6] = -3  # negative amount
    rows[3][3] = "工程"  # unknown kind
    rows[4][2] = "明年"  # not a year
    rows[5][8] = "也许"  # not yes or no
    before = count_projects(app, "431102")
    rejected = upload(finance, base(path="/imports/projects"), project_list(finance, "431102", rows))
    assert rejected.status_code == 400
    found = {(r["row"], r["column"]) for r in rejected.get_json()["error"]["fields"]["rows"]}
    assert found == {(5, "项目编码"), (6, "申请金额（万元）"), (7, "项目类型"), (8, "预算年度"), (9, "是否新增")}
    assert count_projects(app, "431102") == before
    fixed = list_rows(prefix, 6, YEAR)
    body = ok(upload(finance, base(path="/imports/projects"), project_list(finance, "431102", fixed)), 201)
    assert body == {"status": "imported", "rows": 6, "created": 6, "job": None, "job_url": None}
    assert count_projects(app, "431102") == before + 6
    history = ok(finance.get(base(path=f"/projects?q={prefix}0000")))["items"][0]
    assert "project.create" in {e["action"] for e in ok(finance.get(base(path=f"/projects/{history['id']}/history")))}
    # A department's staff may enter projects only for their own department.
    unit_rows = list_rows(unique("U"), 2, YEAR)
    unit_rows[1][5] = "102"
    refused = upload(people["unit"], base(path="/imports/projects"), project_list(people["unit"], "431102", unit_rows))
    assert refused.status_code == 400
    assert [r["row"] for r in refused.get_json()["error"]["fields"]["rows"]] == [5]
    # More rows than allowed (the project list's own limit, SPREADSHEET_MAX_IMPORT_ROWS): refused as a whole,
    # not cut short.
    monkeypatch.setitem(app.config, "SPREADSHEET_MAX_IMPORT_ROWS", 5)
    too_many = upload(finance, base(path="/imports/projects"), project_list(finance, "431102", list_rows(unique("M"), 6, YEAR)))
    assert too_many.status_code == 400 and "行数超过上限" in too_many.get_json()["error"]["message"]
    monkeypatch.undo()
    assert count_projects(app, "431102") == before + 6
    # Upper levels read the template but cannot import.
    province = people["province"]
    assert province.get(base(path="/imports/projects/template")).status_code == 200
    assert upload(province, base(path="/imports/projects"), project_list(finance, "431102", fixed)).status_code == 403


# ---- Exports ----------------------------------------------------------------------------------------------


def test_exports_open_with_the_rows_of_the_list(people):
    finance = people["finance"]
    listed = ok(finance.get(base(path="/projects?per_page=500")))
    codes = {p["code"] for p in listed["items"]}
    # Other tests' imports may take the county past one page of 500: read every page.
    for page in range(2, -(-listed["total"] // 500) + 1):
        codes |= {p["code"] for p in ok(finance.get(base(path=f"/projects?per_page=500&page={page}")))["items"]}
    sheet = workbook(finance.get(base(path="/exports/projects"))).active
    assert sheet["A1"].value.endswith("项目清单")
    assert [c.value for c in sheet[3]][:3] == ["项目编码", "项目名称", "预算年度"]
    exported = list(sheet.iter_rows(min_row=4, values_only=True))
    assert len(exported) == listed["total"]
    assert {r[0] for r in exported} == codes
    only = ok(finance.get(base(path="/projects?stage=budgeted&per_page=500")))
    filtered = workbook(finance.get(base(path="/exports/projects?stage=budgeted"))).active
    assert len(list(filtered.iter_rows(min_row=4, values_only=True))) == only["total"]

    ledger = ok(finance.get(base(path="/rectifications")))
    sheet = workbook(finance.get(base(path="/exports/ledger"))).active
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert len(rows) == len(ledger) and {r[0] for r in rows} == {n["id"] for n in ledger}

    stats = ok(finance.get(base(path=f"/statistics?year={YEAR}")))
    response = finance.get(base(path=f"/exports/statistics?year={YEAR}"))
    assert f"绩效统计-431102-{YEAR}.xlsx" in unquote(response.headers["Content-Disposition"])
    sheet = workbook(response).active
    figures = {(r[0], r[1]): r[2] for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert figures[("项目", "项目数")] == stats["projects"]["count"]
    assert figures[("整改", "下达整改通知")] == stats["rectification"]["issued"]

    # The province reads the county's lists too (what it may see on the pages).
    assert people["province"].get(base(path="/exports/projects")).status_code == 200
    assert finance.get(base(path="/exports/nothing")).status_code == 404


def test_an_assessment_ranking_exports(login):
    from datetime import date, timedelta

    province = login("hunan_admin")
    campaign = ok(province.post("/api/v1/tenants/430000/assessments", json={
        "year": 2027, "scheme": "hunan-province-counties",
        "deadline": (date.today() + timedelta(days=30)).isoformat()}), 201)
    ranking = ok(province.get(f"/api/v1/tenants/430000/assessments/{campaign['id']}/ranking"))
    response = province.get(base("430000", f"/exports/rankings/{campaign['id']}"))
    assert f"考核排名-430000-2027-{campaign['id']}.xlsx" in unquote(response.headers["Content-Disposition"])
    sheet = workbook(response).active
    assert [c.value for c in sheet[3]][:4] == ["排名", "名称", "编码", "层级"]
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert [r[2] for r in rows] == [s["code"] for s in ranking] and len(rows) == 122
    assert login("lingling_finance").get(base("430000", f"/exports/rankings/{campaign['id']}")).status_code == 403


# ---- Another tenant's jobs, files and notifications --------------------------------------------------------


def test_another_tenant_cannot_read_a_job_a_file_or_a_notification(people, app, monkeypatch):
    finance, heshan, viewer = people["finance"], people["heshan"], people["viewer"]
    monkeypatch.setitem(app.config, "SPREADSHEET_JOB_ROWS", 2)
    accepted = ok(upload(finance, base(path="/imports/projects"), project_list(finance, "431102", list_rows(unique("J"), 3, YEAR))), 202)
    job = finished_job(app, finance, accepted["job"]["id"])
    assert job["status"] == "succeeded" and job["result"]["created"] == 3
    rejected = upload(finance, base(path="/imports/projects"), project_list(finance, "431102", [["", "缺编码", YEAR]]))
    report_url = rejected.get_json()["error"]["fields"]["report_url"]
    document_id = rejected.get_json()["error"]["fields"]["document_id"]
    assert finance.get(report_url).status_code == 200

    assert heshan.get(f"/api/v1/jobs/{job['id']}").status_code == 404
    assert heshan.get(report_url).status_code == 404
    assert heshan.get(base("430903", f"/documents/{document_id}")).status_code == 404
    assert viewer.get(report_url).status_code == 404  # an error report is its author's
    inbox = ok(finance.get("/api/v1/notifications"))["items"]
    mine = [n for n in inbox if n["kind"] == "spreadsheet" and "新增 3 个项目" in n["title"]]
    assert mine
    assert all(n["id"] != mine[0]["id"] for n in ok(heshan.get("/api/v1/notifications"))["items"])
    assert heshan.post(f"/api/v1/notifications/{mine[0]['id']}/read").status_code == 404


# ---- Pages ------------------------------------------------------------------------------------------------


def test_the_excel_pages(people, app):
    from jixiao.testing import api_login

    unit = people["unit"]
    project = new_project(unit)
    page = unit.get(f"/t/431102/projects/{project['id']}/excel")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "下载绩效目标申报表" in html and f"/api/v1/tenants/431102/projects/{project['id']}/templates/targets" in html
    assert "暂不能导入：预算尚未批复" in html
    refused = unit.post(f"/t/431102/projects/{project['id']}/excel/targets",
                        data={"file": (io.BytesIO(b"hello"), "a.xlsx"), "csrf_token": unit.csrf_token},
                        content_type="multipart/form-data")
    assert refused.status_code == 400 and "不是 Excel 工作簿" in refused.get_data(as_text=True)
    wb = workbook(unit.get(base(path=f"/projects/{project['id']}/templates/targets")))
    fill_targets(wb)
    wb.active["G10"] = "三十"
    bad = unit.post(f"/t/431102/projects/{project['id']}/excel/targets",
                    data={"file": (io.BytesIO(saved(wb)), "a.xlsx"), "csrf_token": unit.csrf_token},
                    content_type="multipart/form-data")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "下载错误报告" in text and "权重（分值）" in text
    wb.active["G10"] = 30
    done = unit.post(f"/t/431102/projects/{project['id']}/excel/targets",
                     data={"file": (io.BytesIO(saved(wb)), "a.xlsx"), "csrf_token": unit.csrf_token},
                     content_type="multipart/form-data")
    assert done.status_code == 302 and done.headers["Location"].endswith("#targets")

    finance = api_login(app, "lingling_finance")
    imports = finance.get("/t/431102/imports")
    assert imports.status_code == 200 and "下载项目清单模板" in imports.get_data(as_text=True)
    exported = finance.get("/t/431102/exports/ledger")
    assert exported.status_code == 200 and exported.mimetype == XLSX
    province = people["province"].get("/t/431102/imports")
    assert province.status_code == 200 and "只能下载模板" in province.get_data(as_text=True)
