"""The lifecycle pages, driven like a browser would: forms with CSRF tokens, one role per client.

A department_whole project (no ex-ante assessment needed) goes through targets, budget, monitoring,
self-evaluation, rectification, results and publication; errors come back on the page, in Chinese, next to
the field, with the service's status code.
"""

from __future__ import annotations

import html as html_lib
import io
import re
from datetime import date, timedelta

import pytest

from jixiao.testing import DEMO_PASSWORD, unique

BASE = "/t/431102"
YEAR = date.today().year


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class Browser:
    """One user's test client, logged in through the login form."""

    def __init__(self, app, username: str) -> None:
        self.client = app.test_client()
        self.username = username
        token = csrf_from(self.client.get("/login").get_data(as_text=True))
        response = self.client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                                    "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)

    def get(self, url: str, status: int = 200) -> str:
        response = self.client.get(url)
        assert response.status_code == status, (url, response.status_code)
        return response.get_data(as_text=True)

    def post(self, url: str, data: dict, status: int = 302, page: str | None = None, **kwargs):
        """Post a form with the CSRF token of ``page`` (or of a fresh GET of the home page)."""
        token = csrf_from(page or self.get(f"{BASE}/"))
        response = self.client.post(url, data={**data, "csrf_token": token}, **kwargs)
        assert response.status_code == status, (url, response.status_code, _text(response.get_data(as_text=True)))
        return response


def hidden(page: str, action: str, name: str = "version") -> str:
    """A hidden field of the form that posts to ``action`` on ``page``: what the browser sends back with it."""
    form = page[page.index(f'action="{action}"'):]
    match = re.search(rf'name="{name}" value="([^"]*)"', form[:form.index("</form>")])
    assert match, f"no hidden {name} in the form posting to {action}"
    return match.group(1)


def _text(html: str) -> str:
    """The visible text of a page, roughly (for assertion messages and searches)."""
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def project_url(pid: int, path: str = "") -> str:
    return f"{BASE}/projects/{pid}{path}"


INDICATOR_ROWS = [
    ("产出", "数量指标", "重点工作任务完成数", "ge", "12", "项", "30"),
    ("产出", "时效指标", "资金按时支付率", "ge", "95", "%", "20"),
    ("效益", "社会效益指标", "履职目标实现程度", "qualitative", "有效履职", "", "30"),
    ("满意度", "服务对象满意度指标", "服务对象满意度", "ge", "90", "%", "10"),
]


def targets_form(rows) -> dict:
    data = {"overall_target": "保障教育局全年履职，重点工作按期完成，资金支付及时，服务对象满意。"}
    for i, row in enumerate(rows):
        for name, value in zip(("level1", "level2", "name", "direction", "value", "unit", "weight"), row, strict=True):
            data[f"{name}-{i}"] = value
    for i in range(len(rows), len(rows) + 3):  # the blank rows the page always offers
        data.update({f"level1-{i}": "", f"level2-{i}": "", f"name-{i}": "", f"direction-{i}": "ge",
                     f"value-{i}": "", f"unit-{i}": "", f"weight-{i}": ""})
    return data


@pytest.fixture
def unit(app):
    return Browser(app, "lingling_dept")


@pytest.fixture
def finance(app):
    return Browser(app, "lingling_finance")


def create_project(browser: Browser, name: str, kind: str = "department_whole", **extra) -> int:
    page = browser.get(f"{BASE}/projects")
    assert "新建项目" in page
    response = browser.post(f"{BASE}/projects", {
        "code": unique("PG"), "name": name, "year": str(YEAR), "kind": kind, "fund_type": "general_public",
        "department_code": "101", "requested_amount": "80", "category": "教育", **extra}, page=page)
    match = re.search(r"/t/431102/projects/(\d+)#targets$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def budgeted_project(unit: Browser, finance: Browser, name: str) -> int:
    """A department_whole project with approved targets and budget (75万元), through the pages."""
    pid = create_project(unit, name)
    unit.post(project_url(pid, "/targets/submit"), targets_form(INDICATOR_ROWS), page=unit.get(project_url(pid)))
    finance.post(project_url(pid, "/targets/review"), {"decision": "approve"}, page=finance.get(project_url(pid)))
    page = finance.get(project_url(pid))
    finance.post(project_url(pid, "/budget"), {"approved_amount": "75", "version": hidden(page, project_url(pid, "/budget"))},
                 page=page)
    return pid


def ids_of(html: str, field: str) -> list[int]:
    return [int(i) for i in re.findall(rf'name="{field}-(\d+)"', html)]


def keys_of(html: str, field: str) -> list[str]:
    """Row keys of an evaluation form: target indicator ids and the form's own rows (``form-D1``)."""
    return re.findall(rf'name="{field}-((?:form-)?[\w]+)"', html)


def test_a_project_through_the_pages(app, unit, finance, client):
    # 1. The unit enters a department-whole budget; its to-do list leads to the targets form.
    pid = create_project(unit, "教育局部门整体支出（页面）")
    home = unit.get(f"{BASE}/")
    assert f'href="/t/431102/projects/{pid}#targets"' in home and "填报并提交绩效目标" in home

    page = unit.get(project_url(pid))
    assert 'name="level1-0"' in page and "保存并提交审核" in page
    assert "本项目不需要事前绩效评估" in page or "不需要" in page

    # 2. One row is wrong (a level-2 indicator that is not in the framework): the page says so next to row 3.
    wrong = list(INDICATOR_ROWS)
    wrong[2] = ("效益", "不存在的指标", "履职目标实现程度", "qualitative", "有效履职", "", "30")
    refused = unit.post(project_url(pid, "/targets/submit"), targets_form(wrong), status=400, page=page)
    body = refused.get_data(as_text=True)
    row_error = re.search(r'<tr class="row-error">.*?</tr>', body, re.S)
    assert row_error, _text(body)
    assert "第 3 行" in row_error.group(0) and "二级指标应为" in row_error.group(0)
    assert re.search(r'name="level2-2" value="不存在的指标"[^>]*class="bad-input"', body)
    assert "绩效目标未通过校验" in body

    # A number that is not a number is refused before the service, named on its row.
    bad_weight = list(INDICATOR_ROWS)
    bad_weight[0] = INDICATOR_ROWS[0][:6] + ("三十",)
    refused = unit.post(project_url(pid, "/targets"), targets_form(bad_weight), status=400, page=page)
    assert "权重应为数字" in refused.get_data(as_text=True)

    # 3. Corrected and submitted (the draft saved by the first try is replaced: the page carries its version).
    page = refused.get_data(as_text=True)
    unit.post(project_url(pid, "/targets/submit"), {**targets_form(INDICATOR_ROWS),
                                                    "version": hidden(page, project_url(pid, "/targets"))}, page=page)
    page = unit.get(project_url(pid))
    assert "目标待审核" in page and "重点工作任务完成数" in page and 'name="level1-0"' not in page

    # 4. Finance: no budget before the targets are approved (409, the service's message), then both.
    page = finance.get(project_url(pid))
    assert "审核绩效目标" in page
    blocked = finance.post(project_url(pid, "/budget"), {
        "approved_amount": "75", "version": hidden(page, project_url(pid, "/budget"))}, status=409, page=page)
    assert "绩效目标尚未批复" in blocked.get_data(as_text=True)
    finance.post(project_url(pid, "/targets/review"), {"decision": "approve"}, page=page)
    page = finance.get(project_url(pid))
    finance.post(project_url(pid, "/budget"), {"approved_amount": "75", "version": hidden(page, project_url(pid, "/budget"))},
                 page=page)
    page = finance.get(project_url(pid))
    assert "预算已批复" in page and "75.00" in page

    # 5. Monitoring: far behind schedule (red) without a cause → 400 naming 偏差原因; then with one.
    page = unit.get(project_url(pid))
    actual = ids_of(page, "actual")
    assert len(actual) == 3  # the qualitative indicator has no actual value to report
    report = {"period": "6", "executed_amount": "10", **{f"actual-{i}": "1" for i in actual}}
    refused = unit.post(project_url(pid, "/monitoring"), report, status=400, page=page)
    body = refused.get_data(as_text=True)
    assert "请说明偏差原因" in body and "请填写纠偏措施" in body
    unit.post(project_url(pid, "/monitoring"), {**report, "cause": "学期调整，活动推迟", "measure": "下半年集中推进"},
              page=page)
    page = unit.get(project_url(pid))
    assert "学期调整，活动推迟" in page and "light-red" in page

    # 6. The unit's self-evaluation, scored and graded by the service.
    unit.post(project_url(pid, "/evaluations"), {"kind": "self"}, page=page)
    page = unit.get(project_url(pid))
    eid = int(re.search(r'/evaluations/(\d+)/submit"', page).group(1))
    form = {"executed_amount": "72", "summary": "年度重点工作基本完成。",
            "problem-0": "资金支付进度前慢后快", "suggestion-0": "均衡支付进度",
            "internal_comment": "内部意见：约谈分管负责人李四"}
    for i in ids_of(page, "actual"):
        form[f"actual-{i}"] = "95"
    for i in ids_of(page, "band"):
        form[f"band-{i}"], form[f"fraction-{i}"] = "achieved", "0.9"
    missing = unit.post(project_url(pid, f"/evaluations/{eid}/submit"), {**form, "executed_amount": ""}, status=400,
                        page=page)
    assert "请填写全年执行数" in missing.get_data(as_text=True)
    unit.post(project_url(pid, f"/evaluations/{eid}/submit"), form, page=page)
    page = unit.get(project_url(pid))
    grade = re.search(r'<span class="grade grade-[a-dx]">([^<]+)</span>', page)
    assert grade and grade.group(1) in {"优", "良", "中", "差"}
    assert "自评等级" in page and "已评价" in page

    # 7. Finance publishes the evaluation; the public page shows the grade and nothing internal.
    finance.post(project_url(pid, "/publish"), {"evaluation_id": str(eid)}, page=finance.get(project_url(pid)))
    public = client.get("/public/431102/")
    assert public.status_code == 200
    text = public.get_data(as_text=True)
    row = re.search(r"<tr><td>\d{4}</td><td>教育局部门整体支出（页面）.*?</tr>", text, re.S)
    assert row and f">{grade.group(1)}</span>" in row.group(0) and "年度重点工作基本完成" in row.group(0)
    assert "李四" not in text and "内部意见" not in text and "lingling" not in text

    # 8. History shows who did what, in words (tests/test_words_not_codes.py reads it closer).
    assert all(action in page for action in ("新建项目", "提交绩效目标", "批复绩效目标", "批复预算", "填报绩效监控",
                                             "提交绩效评价"))


def test_rectification_results_and_evidence_through_the_pages(app, unit, finance):
    pid = budgeted_project(unit, finance, "整改流程项目（页面）")
    page = finance.get(project_url(pid))
    finance.post(project_url(pid, "/evaluations"), {"kind": "finance", "agency_id": ""}, page=page)
    page = finance.get(project_url(pid))
    eid = int(re.search(r'/evaluations/(\d+)/submit"', page).group(1))
    form = {"executed_amount": "60", "summary": "财政重点评价",
            "problem-0": "绩效目标细化不足", "suggestion-0": "细化量化指标",
            "problem-1": "资金支付偏慢", "suggestion-1": "加快支付"}
    # A finance evaluation is scored on 决策 / 过程 / 产出 / 效益: the form's own rows come first.
    assert "form-D1" in keys_of(page, "band") and "立项依据充分性" in page and "按预算执行率计算" in page
    for i in keys_of(page, "actual"):
        form[f"actual-{i}"] = "80"
    for i in keys_of(page, "band"):
        form[f"band-{i}"], form[f"fraction-{i}"] = "partial", "0.7"
    finance.post(project_url(pid, f"/evaluations/{eid}/submit"), form, page=page)

    # The notice is prefilled from the findings; a deadline in the past is refused by the service.
    page = finance.get(project_url(pid))
    assert "绩效目标细化不足\n资金支付偏慢" in page
    past = (date.today() - timedelta(days=1)).isoformat()
    refused = finance.post(project_url(pid, "/rectifications"), {
        "evaluation_id": str(eid), "problems": "绩效目标细化不足\n资金支付偏慢", "deadline": past}, status=400, page=page)
    assert "整改期限不能早于今天" in refused.get_data(as_text=True)
    finance.post(project_url(pid, "/rectifications"), {
        "evaluation_id": str(eid), "problems": "绩效目标细化不足\n资金支付偏慢",
        "deadline": (date.today() + timedelta(days=20)).isoformat()}, page=page)

    # The unit answers with evidence; finance returns once, then accepts.
    page = unit.get(project_url(pid))
    nid = int(re.search(r'/rectifications/(\d+)/answer"', page).group(1))
    unit.post(project_url(pid, f"/rectifications/{nid}/files"),
              {"file": (io.BytesIO("%PDF-1.4\n整改报告".encode()), "整改报告.pdf")}, page=page,
              content_type="multipart/form-data")
    bad_file = unit.post(project_url(pid, f"/rectifications/{nid}/files"),
                         {"file": (io.BytesIO(b"MZ"), "tool.exe")}, status=400, page=page,
                         content_type="multipart/form-data")
    assert "不支持的文件类型" in bad_file.get_data(as_text=True)
    empty = unit.post(project_url(pid, f"/rectifications/{nid}/answer"), {"measures": " "}, status=400, page=page)
    assert "请填写整改措施和结果" in empty.get_data(as_text=True)
    unit.post(project_url(pid, f"/rectifications/{nid}/answer"), {"measures": "已细化指标，加快支付"}, page=page)
    page = finance.get(project_url(pid))
    link = re.search(rf'href="(/api/v1/tenants/431102/rectifications/{nid}/files/\d+)">整改报告.pdf', page)
    assert link, "the evidence links to the API download"
    assert finance.client.get(link.group(1)).data == "%PDF-1.4\n整改报告".encode()
    no_reason = finance.post(project_url(pid, f"/rectifications/{nid}/verify"), {"decision": "return"}, status=400,
                             page=page)
    assert "退回时请写明原因" in no_reason.get_data(as_text=True)
    finance.post(project_url(pid, f"/rectifications/{nid}/verify"), {"decision": "return", "reason": "缺少支付凭证"},
                 page=page)
    page = unit.get(project_url(pid))
    assert "缺少支付凭证" in page
    unit.post(project_url(pid, f"/rectifications/{nid}/answer"), {"measures": "补充了支付凭证"}, page=page)
    finance.post(project_url(pid, f"/rectifications/{nid}/verify"), {"decision": "accept"},
                 page=finance.get(project_url(pid)))

    # Results applied: amounts typed in 万元; the project is closed.
    page = finance.get(project_url(pid))
    assert "已核验" in page
    finance.post(project_url(pid, "/results"), {"evaluation_id": str(eid), "decision": "reduce", "amount_change": "-7.5",
                                                "idle_recovered": "2", "decision_note": "压缩下年度预算"}, page=page)
    page = finance.get(project_url(pid))
    assert "压缩下年度预算" in page and "-7.50" in page and "已办结" in page


def test_exante_form_for_a_new_project(app, unit, finance):
    pid = create_project(unit, "新增项目（事前评估）", kind="project", is_new="on")
    page = unit.get(project_url(pid))
    assert "须评估" in page and f'action="/t/431102/projects/{pid}/exante"' not in page  # units do not assess
    page = finance.get(project_url(pid))
    assert 'name="score-necessity"' in page
    scores = {"score-necessity": "18", "score-economy": "16", "score-targets": "17", "score-feasibility": "18"}
    refused = finance.post(project_url(pid, "/exante"), {**scores, "score-compliance": "25", "conclusion": "adjust",
                                                         "amount_cut": "10"}, status=400, page=page)
    assert "得分应在 0 到 20 之间" in refused.get_data(as_text=True)
    finance.post(project_url(pid, "/exante"), {**scores, "score-compliance": "19", "conclusion": "adjust",
                                               "amount_cut": "10", "comment-necessity": "确有必要"}, page=page)
    page = finance.get(project_url(pid))
    assert "调整后支持" in page and "确有必要" in page and "88" in page


def test_upper_levels_read_only_and_siblings_see_nothing(app, unit, finance):
    pid = budgeted_project(unit, finance, "只读检查项目")
    city = Browser(app, "yongzhou_finance")
    page = city.get(project_url(pid))
    assert "只读检查项目" in page and "只能查看" in page
    assert 'action="/t/431102/' not in page and "保存并提交审核" not in page
    assert "新建项目" not in city.get(f"{BASE}/projects")
    refused = city.client.post(project_url(pid, "/budget"), data={"approved_amount": "1", "csrf_token": csrf_from(page)})
    assert refused.status_code == 403

    province = Browser(app, "hunan_admin")
    assert "只能查看" in province.get(project_url(pid)) and "保存并提交审核" not in province.get(project_url(pid))

    sibling = Browser(app, "heshan_finance")
    sibling.get(project_url(pid), status=404)
    sibling.get(f"{BASE}/projects", status=404)


def test_conflicts_show_the_services_message_with_409(app, finance):
    pid = create_project(finance, "涉密部门整体支出", classified="on")
    page = finance.get(project_url(pid))
    assert "涉密" in page
    refused = finance.post(project_url(pid, "/publish"), {"targets": "1"}, status=409, page=page)
    body = refused.get_data(as_text=True)
    assert 'class="flash error"' in body and "涉密项目不能公开" in body


def test_project_list_filters_chart_and_pagination(app, finance):
    name = unique("筛选项目")
    pid = create_project(finance, name)
    page = finance.get(f"{BASE}/projects?kind=department_whole&q={name}")
    assert f'href="/t/431102/projects/{pid}"' in page and "部门整体" in page and "一般公共预算" in page
    assert "环节进度" in page and "bar-fill" in page
    assert "80.00" in page  # 申请金额, 万元
    assert "没有符合条件的项目" in finance.get(f"{BASE}/projects?q={name}&stage=closed")
    assert "没有符合条件的项目" in finance.get(f"{BASE}/projects?page=999")
    assert f'href="/t/431102/projects/{pid}"' in finance.get(f"{BASE}/projects?stage=castle&year=&q={name}")
    # A year that is not one is refused, naming it, rather than silently ignored (tests/test_input_bounds.py).
    assert "年度应为整数" in finance.get(f"{BASE}/projects?year=abc&q={name}", status=400)


def test_ledger_lists_overdue_notices_from_the_demo_data(app):
    auditor = Browser(app, "lingling_auditor")
    page = auditor.get(f"{BASE}/rectifications?overdue=1")
    assert '<tr class="overdue">' in page and "已逾期" in page
    unit_view = Browser(app, "lingling_dept").get(f"{BASE}/rectifications")
    assert "整改台账" in unit_view


def test_agencies_are_registered_by_finance(app, finance):
    page = finance.get(f"{BASE}/agencies")
    name = unique("评价咨询公司")
    finance.post(f"{BASE}/agencies", {"name": name, "contact": "0746-1234567"}, page=page)
    assert name in finance.get(f"{BASE}/agencies")
    again = finance.post(f"{BASE}/agencies", {"name": name}, status=409, page=page)  # a repeated create
    assert "已登记名为" in again.get_data(as_text=True)
    assert 'name="contact"' not in Browser(app, "lingling_dept").get(f"{BASE}/agencies")


def test_public_page_needs_no_login_and_knows_unknown_codes(client):
    assert client.get("/public/431102/").status_code == 200
    assert "预算绩效信息公开" in client.get("/public/431102/").get_data(as_text=True)
    assert client.get("/public/999999/").status_code == 404


def test_nav_links_and_empty_todo(app):
    viewer = Browser(app, "lingling_viewer")
    home = viewer.get(f"{BASE}/")
    assert 'href="/t/431102/projects"' in home and 'href="/t/431102/rectifications"' in home
    assert 'href="/t/431102/statistics"' in home and "暂无待办" in home


def test_a_monitoring_warning_is_answered_from_the_page(app):
    """Sichuan (Enyang 511903) warns when execution is below the month's floor and asks for an answer."""
    base = "/t/511903"
    unit, finance = Browser(app, "enyang_dept"), Browser(app, "enyang_finance")
    page = unit.get(f"{base}/projects")
    created = unit.post(f"{base}/projects", {
        "code": unique("EY"), "name": "卫生健康局部门整体支出（预警）", "year": str(YEAR), "kind": "department_whole",
        "fund_type": "general_public", "department_code": "102", "requested_amount": "100"}, page=page)
    url = created.headers["Location"].split("#")[0]
    unit.post(f"{url}/targets/submit", targets_form(INDICATOR_ROWS), page=unit.get(url))
    finance.post(f"{url}/targets/review", {"decision": "approve"}, page=finance.get(url))
    page = finance.get(url)
    finance.post(f"{url}/budget", {"approved_amount": "100", "version": hidden(page, f"{url}/budget")}, page=page)

    page = unit.get(url)
    report = {"period": "6", "executed_amount": "10", "cause": "招标延后", "measure": "加快采购",
              **{f"actual-{i}": "1" for i in ids_of(page, "actual")}}
    unit.post(f"{url}/monitoring", report, page=page)
    page = unit.get(url)
    assert "预警" in page and "低于6月末应达到的 40%" in page and "回应预警" in page
    refused = unit.post(f"{url}/monitoring/6/response", {"choice": "adjust_funds", "note": ""}, status=400, page=page)
    assert "请说明安排" in refused.get_data(as_text=True)
    unit.post(f"{url}/monitoring/6/response", {"choice": "adjust_funds", "note": "调剂 30 万元用于设备购置"},
              page=page)
    page = unit.get(url)
    assert "调剂 30 万元用于设备购置" in page and "回应预警" not in page
    again = unit.post(f"{url}/monitoring/6/response", {"choice": "continue"}, status=409, page=page)
    assert "已于" in again.get_data(as_text=True)


def test_a_refused_form_post_shows_the_message_with_403(app):
    viewer = Browser(app, "lingling_viewer")
    page = viewer.get(f"{BASE}/projects")
    assert "新建项目" not in page
    refused = viewer.post(f"{BASE}/projects", {"code": unique("V"), "name": "越权", "year": str(YEAR),
                                               "kind": "project", "fund_type": "general_public",
                                               "requested_amount": "1"}, status=403, page=page)
    assert "只有本级预算单位人员或财政绩效人员可以申报项目" in refused.get_data(as_text=True)
    unit = Browser(app, "lingling_dept")
    page = unit.get(f"{BASE}/projects")
    bad = unit.post(f"{BASE}/projects", {"code": "", "name": "缺编码", "year": "20x6", "kind": "project",
                                         "fund_type": "general_public", "requested_amount": "十万"}, status=400, page=page)
    body = bad.get_data(as_text=True)
    assert "请填写项目编码" in body and "请填写预算年度" in body and "申请金额应为数字" in body
    assert 'value="缺编码"' in body  # what was typed stays in the form
