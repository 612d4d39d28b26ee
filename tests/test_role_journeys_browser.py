"""Each role's main task in Chromium, then a crawl of each role's pages, on the live `python dev.py run` server
(SQLite, demo data) — issue 15, "Browser journeys in .ci/run".

A journey logs in (the public logs in nowhere), does the role's main task from the pages, checks what the page
shows afterwards and that the browser reported no console error and no uncaught exception. A crawl starts at
the role's home, follows the same-origin links its pages show (breadth first, a few pages of each kind, GET
only, never a link that changes something or downloads a file) with a plain HTTP client holding the role's
session, and checks that no page answers 5xx and that no page's visible text shows a raw code
(tests.helpers.RawCodes, the list tests/test_words_not_codes.py checks too).

The roles' logins are the demo's (platform/jixiao/demo.py), whose expert is drawn for a draft project's review.
The demo has no evaluation assigned to the evaluator's agency and not yet submitted: that journey first has
finance assign a third-party evaluation from the pages.

One browser for the module, one context per role: the browser part of CI has a budget of about 5 minutes.
"""

from __future__ import annotations

import collections
import re
import urllib.parse
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.browser import launched
from tests.helpers import RawCodes, raw_codes, visible

PASSWORD = "jixiao-demo-2026"
LINGLING = "/t/431102/"

#: Each role: the demo login (None: not logged in) and the page it lands on.
ROLES: dict[str, tuple[str | None, str]] = {
    "unit": ("lingling_dept", LINGLING),
    "finance": ("lingling_finance", LINGLING),
    "evaluator": ("lingling_evaluator", LINGLING),
    "expert": ("lingling_expert", LINGLING),
    "auditor": ("lingling_auditor", LINGLING),
    "viewer": ("lingling_viewer", LINGLING),
    "admin": ("lingling_admin", LINGLING),
    "operator": ("operator_system", "/operator"),
    "city": ("hengyang_finance", "/t/430400/"),
    "province": ("hunan_admin", "/t/430000/"),
    "public": (None, "/public/431102/"),
}
#: The crawls: every role's, the platform's other two operator duties (三员分立) too.
CRAWLS = {**ROLES, "operator_security": ("operator_security", "/operator/accounts"),
          "operator_audit": ("operator_audit", "/operator/audit")}


@pytest.fixture(scope="module")
def browser(live_server) -> Iterator[Any]:
    with launched() as chromium:
        yield chromium


class Session:
    """A role in its own browser context: the page, and every console error and uncaught exception it saw."""

    def __init__(self, browser: Any, base: str, username: str | None, home: str) -> None:
        self.base = base
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda message: self.errors.append(f"{self.page.url}: {message.text}")
                     if message.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"{self.page.url}: {exc}"))
        if username is None:
            self.page.goto(base + home)
            return
        self.page.goto(base + "/login")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(PASSWORD)
        self.page.get_by_role("button", name="登录").click()
        self.page.wait_for_url(f"**{home}")

    def goto(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def flash(self) -> Any:
        return self.page.locator(".flash.success")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_as(browser, live_server) -> Iterator[Any]:
    opened: list[Session] = []

    def _open(role: str) -> Session:
        username, home = ROLES[role]
        session = Session(browser, live_server, username, home)
        opened.append(session)
        return session

    yield _open
    for session in opened:
        session.close()


def no_errors(*sessions: Session) -> None:
    assert [error for s in sessions for error in s.errors] == []


# ---- The journeys ---------------------------------------------------------------------------------------------


def test_the_unit_files_a_monitoring_report(open_as):
    from playwright.sync_api import expect

    unit = open_as("unit")
    page = unit.page
    page.get_by_role("link", name="项目", exact=True).first.click()
    page.wait_for_url("**/projects")
    projects = [a.get_attribute("href") for a in page.locator("table.list a[href*='/projects/']").all()]
    for href in dict.fromkeys(projects):
        page.goto(unit.base + href)
        if page.locator("#monitoring").get_by_role("button", name="报送监控").count():
            break
    else:
        raise AssertionError("none of the unit's projects takes a monitoring report")
    monitoring = page.locator("#monitoring")
    month = monitoring.get_by_label("监控月份（截至）").input_value()
    monitoring.get_by_label("年初至今累计执行数（万元）").fill("10")
    for actual in monitoring.locator("input[name^='actual-']").all():
        actual.fill("1")
    monitoring.get_by_label("偏差原因").fill("浏览器旅程：采购延后")
    monitoring.get_by_label("纠偏措施").fill("加快采购进度")
    monitoring.get_by_role("button", name="报送监控").click()
    expect(unit.flash()).to_contain_text(f"已报送 {month} 月绩效监控")
    expect(page.locator("#monitoring table").first).to_contain_text("浏览器旅程：采购延后")
    no_errors(unit)


def record_exante(page: Any, score: int) -> int:
    """Fill and save the project page's ex-ante assessment, every dimension ``score``, concluded 支持; the total
    the page should report."""
    exante = page.locator("#exante form[action$='/exante']")
    exante.wait_for()  # the page the to-do's link opens, not the one it was clicked on
    boxes = exante.locator("input[name^='score-']").all()
    for box in boxes:
        box.fill(str(score))
    exante.get_by_label("评估结论").select_option("support")
    exante.get_by_role("button", name="保存评估").click()
    return score * len(boxes)


def test_finance_records_the_exante_result_and_approves_targets_from_its_to_do(open_as):
    from playwright.sync_api import expect

    finance = open_as("finance")
    page = finance.page
    page.locator(".todo").get_by_role("link", name="审核绩效目标").first.click()
    targets = page.locator("#targets")
    expect(targets.locator("h2")).to_contain_text("已提交")
    if page.locator("#exante .notice").count():  # a new project: its ex-ante assessment comes first
        total = record_exante(page, 17)
        expect(finance.flash()).to_contain_text(f"已保存事前绩效评估：总分 {total}，结论“支持”")
    targets.get_by_role("button", name="批复", exact=True).click()
    expect(finance.flash()).to_contain_text("绩效目标已批复")
    expect(page.locator("#targets h2")).to_contain_text("已批复")
    no_errors(finance)


def test_the_evaluator_submits_the_evaluation_it_is_assigned(open_as):
    from playwright.sync_api import expect

    # Finance assigns a third-party evaluation to the evaluator's agency (the demo's are all submitted).
    finance = open_as("finance")
    page = finance.page
    page.locator(".todo").get_by_role("link", name="开展财政评价").first.click()
    assign = page.locator("#evaluations form[action$='/evaluations']")
    assign.get_by_label("评价方式").select_option("third_party")
    assign.get_by_label("第三方机构").select_option(index=1)
    assign.get_by_role("button", name="安排评价").click()
    expect(finance.flash()).to_be_visible()

    evaluator = open_as("evaluator")
    page = evaluator.page
    page.locator(".todo").get_by_role("link").first.click()
    form = page.locator("#evaluations form[action$='/submit']").first
    form.get_by_label("全年执行数（万元）").fill("100")
    for band in form.locator("select[name^='band-']").all():
        band.select_option("achieved")
    for ratio in form.locator("input[name^='fraction-']").all():
        ratio.fill("0.9")
    for actual in form.locator("input[name^='actual-']").all():
        actual.fill("1")
    form.get_by_label("评价结论（年度总体目标完成情况）").fill("浏览器旅程：第三方评价结论。")
    form.get_by_label("问题 1").fill("资金支付进度偏慢")
    form.get_by_label("建议 1").fill("均衡支付进度")
    form.get_by_role("button", name="提交评价").click()
    expect(evaluator.flash()).to_contain_text("等级")
    expect(page.locator("#evaluations")).to_contain_text("浏览器旅程：第三方评价结论。")
    no_errors(finance, evaluator)


def test_the_expert_records_the_review_it_is_drawn_for(open_as):
    from playwright.sync_api import expect

    # The demo's expert is in the bureau's pool and drawn for a draft project (platform/jixiao/demo.py).
    expert = open_as("expert")
    page = expert.page
    todo = page.locator(".todo")
    expect(todo.get_by_role("link", name="开展事前绩效评估评审")).to_have_count(1)
    expect(todo).to_contain_text(str(datetime.now().year))  # the project's year beside its code
    todo.get_by_role("link", name="开展事前绩效评估评审").first.click()
    total = record_exante(page, 18)
    expect(expert.flash()).to_contain_text(f"已保存事前绩效评估：总分 {total}，结论“支持”")
    page.goto(expert.base + LINGLING)
    expect(page.locator(".todo")).not_to_contain_text("开展事前绩效评估评审")
    no_errors(expert)


def test_the_auditor_reads_the_rectification_ledger(open_as):
    from playwright.sync_api import expect

    auditor = open_as("auditor")
    page = auditor.page
    page.get_by_role("link", name="整改台账").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("整改台账")
    rows = page.locator("table.list tbody tr")
    assert rows.count() >= 1
    project = rows.first.locator("a[href*='/projects/']").first
    name = project.inner_text()
    project.click()
    expect(page.locator(".project-head")).to_contain_text(name)
    expect(page.locator("#rectification")).to_contain_text("整改通知")
    no_errors(auditor)


def test_the_viewer_reads_the_statistics(open_as):
    from playwright.sync_api import expect

    viewer = open_as("viewer")
    page = viewer.page
    page.get_by_role("link", name="统计", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("预算绩效管理统计")
    expect(page.locator("main")).to_contain_text("总体情况")
    assert page.locator("main table").count() >= 1
    no_errors(viewer)


def test_the_admin_creates_a_user(open_as):
    from playwright.sync_api import expect

    admin = open_as("admin")
    page = admin.page
    page.get_by_role("link", name="用户", exact=True).first.click()
    username = f"journey_{datetime.now():%H%M%S%f}"
    form = page.locator("form").filter(has=page.get_by_label("初始密码（至少 8 位）"))
    form.get_by_label("用户名").fill(username)
    form.get_by_label("姓名").fill("旅程新用户")
    form.get_by_label("初始密码（至少 8 位）").fill("Journey-2026-password")
    form.get_by_label("所属部门（预算单位人员必填）").select_option("101")
    form.get_by_label("预算单位人员", exact=True).check()
    form.get_by_role("button", name="创建").click()
    expect(admin.flash()).to_be_visible()
    expect(page.locator("main")).to_contain_text(username)
    no_errors(admin)


def test_the_operators_open_their_pages(open_as, browser, live_server):
    from playwright.sync_api import expect

    system = open_as("operator")
    page = system.page
    expect(page.get_by_role("heading", name="已安装的插件")).to_be_visible()
    page.get_by_role("link", name="查看某个财政部门的规则由哪个插件回答").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    sessions = [system]
    for username, path, heading in (("operator_security", "/operator/accounts", "账户"),
                                    ("operator_audit", "/operator/audit", "审计")):
        duty = Session(browser, live_server, username, path)
        sessions.append(duty)
        try:
            expect(duty.page.get_by_role("heading", level=1)).to_contain_text(heading)
        finally:
            duty.close()
    no_errors(*sessions)


@pytest.mark.parametrize("role", ["city", "province"])
def test_an_assessor_opens_the_league_table_and_drills_down(open_as, role):
    from playwright.sync_api import expect

    assessor = open_as(role)
    page = assessor.page
    page.get_by_role("link", name="统计", exact=True).first.click()
    page.get_by_role("link", name=re.compile("排名表")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("排名表")
    child = page.locator("table td.name a").first
    name = child.inner_text()
    child.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    no_errors(assessor)


def test_the_public_reads_the_disclosure_page(open_as):
    from playwright.sync_api import expect

    public = open_as("public")
    page = public.page
    assert "/login" not in page.url
    expect(page.get_by_role("heading", name="绩效评价结果")).to_be_visible()
    expect(page.locator(".grade").first).to_be_visible()
    no_errors(public)


# ---- The crawls -------------------------------------------------------------------------------------------


#: Links a crawl never follows: they change something (a notification is marked read as it is opened; an
#: export may start a background job) or download a file; the JSON API is not a page.
NOT_FOLLOWED = re.compile(r"^/(api|static)/|/logout|/notifications/\d+|/exports?/|/download|/export\b"
                          r"|\.(xlsx|pdf|png|csv|zip)$")
#: Pages whose values are shown as they are typed (the settings page: each value as the tenant YAML writes it,
#: JSON and the choices' codes included): only a plugin shown by its bare code is looked for there.
AS_TYPED = re.compile(r"^/t/\d+/settings$")
#: Pages that showed codes until they were worded (each with what it showed), opened where the crawls may not
#: reach them: the audit log filtered to results decisions, a user's and a department's 变更记录.
WORDED_PAGES = {
    "/operator": ("operator_system", "the tenant tree named plugins by code ([plugins: hunan])"),
    "/operator/audit?action=results.decide": ("operator_audit", "a decision by its code (处理决定：prioritise)"),
    "/t/431102/departments/1": ("lingling_admin", "the history (变更记录) showed the raw JSON snapshots"),
    "/t/431102/users/": ("lingling_admin", "the history (变更记录) showed the raw JSON snapshots"),
}
PAGES_PER_ROLE = 40
#: Pages of one kind (the same path with the numbers taken out, the same query names) a crawl opens.
PAGES_PER_KIND = 3


def _kind(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return re.sub(r"\d+", "N", parts.path) + "?" + ",".join(sorted(urllib.parse.parse_qs(parts.query)))


def _session(base: str, username: str | None) -> Any:
    import requests

    client = requests.Session()
    if username is not None:
        login = client.get(base + "/login", timeout=30).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token, login
        answer = client.post(base + "/login", data={"csrf_token": token.group(1), "username": username,
                                                    "password": PASSWORD}, timeout=30)
        assert answer.status_code == 200 and "/login" not in answer.url, (username, answer.status_code)
    return client


def crawl(base: str, username: str | None, start: str, codes: RawCodes) -> tuple[list[str], list[str]]:
    """The pages opened from ``start``, and what is wrong on them: a 5xx, or a raw code in the visible text."""
    client = _session(base, username)
    queue: collections.deque[str] = collections.deque([start])
    seen: set[str] = {start}
    per_kind: collections.Counter[str] = collections.Counter()
    opened: list[str] = []
    problems: list[str] = []
    while queue and len(opened) < PAGES_PER_ROLE:
        url = queue.popleft()
        if per_kind[_kind(url)] >= PAGES_PER_KIND:
            continue
        per_kind[_kind(url)] += 1
        with client.get(base + url, timeout=60, stream=True) as answer:
            opened.append(url)
            if answer.status_code >= 500:
                problems.append(f"{url}: {answer.status_code}")
                continue
            if "text/html" not in answer.headers.get("Content-Type", ""):
                continue
            html = answer.text
            landed = urllib.parse.urlsplit(answer.url)  # "/" leads an operator to their duty's page
        path = landed.path
        seen.add(path + (f"?{landed.query}" if landed.query else ""))
        problems += [f"{url}: {hit}" for hit in codes.found(visible(html), plugins_only=bool(AS_TYPED.match(path)))]
        for href in re.findall(r'<a\b[^>]*?\shref="([^"]*)"', html):
            link = urllib.parse.urlsplit(urllib.parse.urljoin(base + url, href.replace("&amp;", "&")))
            if link.netloc != urllib.parse.urlsplit(base).netloc or NOT_FOLLOWED.search(link.path):
                continue
            found = link.path + (f"?{link.query}" if link.query else "")
            if found not in seen:
                seen.add(found)
                queue.append(found)
    return opened, problems


@pytest.fixture(scope="module")
def codes() -> RawCodes:
    return raw_codes()


@pytest.mark.parametrize("role", list(CRAWLS))
def test_a_crawl_of_each_roles_pages_finds_no_5xx_and_no_raw_code(live_server, codes, role):
    username, home = CRAWLS[role]
    opened, problems = crawl(live_server, username, home, codes)
    assert len(opened) >= 2, opened
    assert problems == [], "\n".join(problems[:30])


@pytest.mark.parametrize("path", list(WORDED_PAGES))
def test_the_pages_that_showed_codes_show_words(live_server, codes, path):
    reader, shows = WORDED_PAGES[path]
    client = _session(live_server, reader)
    if path.endswith("/users/"):  # the first user the list links to
        users = client.get(live_server + path.rstrip("/"), timeout=60).text
        path = re.findall(r'href="(/t/\d+/users/\d+)"', users)[0]
    answer = client.get(live_server + path, timeout=60)
    assert answer.status_code == 200
    assert codes.found(visible(answer.text)) == [], shows
