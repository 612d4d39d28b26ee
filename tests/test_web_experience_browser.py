"""A running job's page and the 变更记录 lists, in Chromium, against this session's app served in this process
(the session's database, PostgreSQL or SQLite; the job is run here, as a worker would, while the page watches).

The job page of a job still queued follows it with its script (jixiao-job.js) and must end in the words the
server renders for the finished job — summary and link — never its raw JSON result. The history lists of a
project page are styled lists that stay readable on a phone (390 px): no bullets of the browser's default, each
change a line as wide as the card, and no sideways page scroll.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from jixiao.testing import DEMO_PASSWORD, api_login, unique
from tests.browser import launched
from tests.test_words_not_codes import visible

PHONE = {"width": 390, "height": 844}
LINGLING = "431102"
YEAR = 2096


@pytest.fixture(scope="module")
def served(jixiao_app) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, jixiao_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched() as chromium:
        yield chromium


def logged_in(browser: Any, base: str, username: str, viewport: dict[str, int] | None = None) -> tuple[Any, list[str]]:
    context = browser.new_context(locale="zh-CN", viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"**/t/{LINGLING}/")
    return page, errors


def _queued_export(app) -> tuple[int, int]:
    """An export of Lingling's project list asked for by its finance officer, recorded and not yet run (as it
    waits in the queue for a worker): (job id, tenant id)."""
    import sqlalchemy as sa

    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.jobs.service import create_record
    from jixiao.spreadsheets.job_kinds import EXPORT
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, LINGLING)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            actor = db.scalars(sa.select(User).where(User.username == "lingling_finance")).one()
        job_id = create_record(actor, tenant, EXPORT, {"name": "projects", "tenant_id": tenant.id,
                                                       "args": {"year": YEAR}})
        return job_id, tenant.id


def _server_words(app, job_id: int) -> tuple[str, list[str]]:
    """What the server renders in the finished job's result: its words, and the links in it."""
    page = api_login(app, "lingling_finance").get(f"/jobs/{job_id}").get_data(as_text=True)
    cell = re.search(r'<dd id="job-result">(.*?)</dd>', page, re.S)
    assert cell, page
    return " ".join(visible(cell.group(1)).split()), re.findall(r'href="([^"]+)"', cell.group(1))


def test_a_running_jobs_page_ends_in_the_words_of_the_finished_page_not_its_json(jixiao_app, served, browser):
    from playwright.sync_api import expect

    from jixiao.jobs.service import execute

    job_id, tenant_id = _queued_export(jixiao_app)
    page, errors = logged_in(browser, served, "lingling_finance")
    try:
        page.goto(f"{served}/jobs/{job_id}")
        expect(page.locator("#job-status")).to_have_text("排队中")
        assert page.locator('script[src*="jixiao-job.js"]').count() == 1  # the page follows the job
        with jixiao_app.app_context():
            execute(job_id, tenant_id, retries_left=0)  # a worker takes it while the page watches
        expect(page.locator("#job-status")).to_have_text("已完成", timeout=15_000)
        expect(page.locator("#job-result a")).to_have_count(1)
        words, links = _server_words(jixiao_app, job_id)
        assert words.startswith("已导出 ") and words.endswith("下载"), words
        shown = page.locator("#job-result")
        assert " ".join(shown.inner_text().split()) == words
        assert [a.get_attribute("href") for a in shown.locator("a").all()] == links
        for code in ("{", "document_id", "filename", "status"):
            assert code not in shown.inner_text(), code
        assert errors == []
    finally:
        page.context.close()


def test_the_history_lists_are_styled_and_readable_on_a_phone(jixiao_app, served, browser):
    unit = api_login(jixiao_app, "lingling_dept")
    base = f"/api/v1/tenants/{LINGLING}/projects"
    created = unit.post(base, json={
        "code": unique("CSS"), "name": "变更记录样式项目", "year": YEAR, "kind": "project",
        "fund_type": "general_public", "is_new": True, "requested_amount": "600000.00",
        "spending_modalities": ["procurement"]})
    assert created.status_code == 201, created.get_json()
    project = created.get_json()
    changed = unit.patch(f"{base}/{project['id']}", json={
        "requested_amount": "1000000", "spending_modalities": ["procurement", "purchase_of_services"],
        "version": project["version"]})
    assert changed.status_code == 200, changed.get_json()

    page, errors = logged_in(browser, served, "lingling_finance", PHONE)
    try:
        page.goto(f"{served}/t/{LINGLING}/projects/{project['id']}#history")
        lists = page.locator("#history ul.changes")
        assert lists.count() >= 2
        style = lists.first.evaluate("""list => {
            const s = getComputedStyle(list), item = getComputedStyle(list.querySelector('li'));
            return {bullet: s.listStyleType, indent: parseFloat(s.paddingLeft), wrap: item.overflowWrap};
        }""")
        assert style == {"bullet": "none", "indent": 0.0, "wrap": "anywhere"}, style
        card = page.locator("#history").bounding_box()
        for box in (lists.nth(i).bounding_box() for i in range(lists.count())):
            # Each event's changes span the card, not a squeezed fourth column, and stay inside it.
            assert box["width"] >= card["width"] * 0.7, (box, card)
            assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"] + 1, (box, card)
        text = page.locator("#history").inner_text()
        assert "申报金额：60.00 万元 → 100.00 万元" in text
        scroll_width, window_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= window_width
        assert errors == []
    finally:
        page.context.close()
