"""The dashboards in Chromium, on the live `python dev.py run` server (SQLite, demo data): the vendored ECharts
draws every chart on a canvas, each has its download button and its table, with zero console errors and no
Content-Security-Policy violation (the options are JSON data, the scripts static files).

Kept to a few pages: the browser part of CI has a budget of about 5 minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launched

PASSWORD = "jixiao-demo-2026"
# Records every CSP violation the page reports (an init script runs before the page's own, whatever its CSP).
WATCH_CSP = """window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});"""


@pytest.fixture(scope="module")
def browser(live_server) -> Iterator[Any]:
    with launched() as chromium:
        yield chromium


def logged_in(browser: Any, base: str, username: str, code: str) -> tuple[Any, list[str]]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"{page.url}: {message.text}") if message.type == "error"
            else None)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"**/t/{code}/")
    return page, errors


def charts_drawn(page: Any) -> int:
    """Every chart of the page drawn on a canvas that is not blank; how many there are."""
    from playwright.sync_api import expect

    charts = page.locator(".chart[data-chart-options-id]")
    count = charts.count()
    for i in range(count):
        chart = charts.nth(i)
        expect(chart).to_have_attribute("data-chart-ready", "true")
        canvas = chart.locator("canvas").first
        expect(canvas).to_be_visible()
        box = canvas.bounding_box()
        assert box["width"] > 100 and box["height"] > 100, box
        figure = chart.locator("xpath=ancestor::figure[1]")
        expect(figure.get_by_role("button", name="下载图片")).to_have_count(1)
        expect(figure.locator("details.chart-table table")).to_have_count(1)
    return count


@pytest.mark.parametrize(("username", "code", "paths"), [
    ("lingling_finance", "431102", ["/t/431102/", "/t/431102/warnings"]),
    ("lingling_dept", "431102", ["/t/431102/"]),
    ("hunan_admin", "430000", ["/t/430000/"]),
])
def test_the_dashboards_draw_their_charts(browser, live_server, username, code, paths):
    page, errors = logged_in(browser, live_server, username, code)
    try:
        drawn = 0
        for path in paths:
            page.goto(live_server + path)
            drawn += charts_drawn(page)
            assert page.evaluate("() => window.__cspViolations") == [], path
        assert drawn >= 1
        assert errors == []
    finally:
        page.context.close()


def test_a_chart_downloads_as_a_png(browser, live_server):
    page, errors = logged_in(browser, live_server, "lingling_finance", "431102")
    try:
        page.goto(live_server + "/t/431102/")
        figure = page.locator("#dash-funnel")
        with page.expect_download() as info:
            figure.get_by_role("button", name="下载图片").click()
        download = info.value
        assert download.suggested_filename.endswith(".png")
        with open(download.path(), "rb") as file:
            assert file.read(8) == b"\x89PNG\r\n\x1a\n"
        # The table equivalent opens under the chart.
        figure.locator("details.chart-table summary").click()
        assert figure.locator("details.chart-table table tbody tr").count() == 7
        assert page.evaluate("() => window.__cspViolations") == []
        assert errors == []
    finally:
        page.context.close()
