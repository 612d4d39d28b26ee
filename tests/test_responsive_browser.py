"""The pages on a phone (390 px wide) in Chromium, on the live `python dev.py run` server (SQLite, demo data).

For a finance officer, a unit and a province: no sideways page scroll, a header at most 120 px tall, a menu
button that shows and hides the nav, the bell drawn as an SVG, zero console errors. Then the confirmation asked
before publishing (dismissed: nothing is posted) and the monitoring month kept selected after saving.
Kept to one browser and a few pages per role: the browser part of CI has a budget of about 5 minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launched

PASSWORD = "jixiao-demo-2026"
PHONE = {"width": 390, "height": 844}
MAX_HEADER_PX = 120

#: (username, tenant code) for each role the phone pages are checked for.
ROLES = {"finance": ("lingling_finance", "431102"), "unit": ("lingling_dept", "431102"),
         "province": ("hunan_admin", "430000")}


@pytest.fixture(scope="module")
def browser(live_server) -> Iterator[Any]:
    with launched() as chromium:
        yield chromium


def phone_page(browser: Any, base: str, username: str, code: str) -> tuple[Any, list[str]]:
    """A 390 px wide page logged in as ``username``, and the console errors it will collect."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
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


def fits_the_phone(page: Any) -> None:
    scroll_width, window_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= window_width, (page.url, scroll_width, window_width)
    header = page.locator("header.topbar").bounding_box()
    assert header["height"] <= MAX_HEADER_PX, (page.url, header["height"])


@pytest.mark.parametrize("role", list(ROLES))
def test_the_main_pages_fit_a_phone(browser, live_server, role):
    from playwright.sync_api import expect

    username, code = ROLES[role]
    page, errors = phone_page(browser, live_server, username, code)
    try:
        nav, toggle = page.locator("#site-nav nav"), page.get_by_role("button", name="菜单")
        # The menu is folded; the button opens and closes it.
        expect(nav).to_be_hidden()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        toggle.click()
        expect(nav).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(nav.get_by_role("link", name="项目", exact=True)).to_be_visible()
        toggle.click()
        expect(nav).to_be_hidden()
        # The bell is an SVG with its label, not an emoji a system without an emoji font draws as a box.
        bell = page.locator("header a.bell")
        expect(bell.locator("svg")).to_have_count(1)
        expect(bell).to_have_attribute("aria-label", re.compile(r"通知（\d+ 条未读）"))
        assert "🔔" not in page.locator("header").inner_text()

        pages = [f"/t/{code}/", f"/t/{code}/projects"]
        page.goto(live_server + f"/t/{code}/projects")
        project = page.locator("table a[href*='/projects/']").first
        if project.count():
            pages.append(project.get_attribute("href"))
        if nav.locator(f'a[href="/t/{code}/statistics"]').count():  # a unit has no statistics (403 behind it)
            pages.append(f"/t/{code}/statistics")
        assert len(pages) >= 3, pages
        for path in pages:
            page.goto(live_server + path)
            fits_the_phone(page)
        assert errors == []
    finally:
        page.context.close()


def test_publishing_asks_first_and_dismissing_posts_nothing(browser, live_server):
    from playwright.sync_api import expect

    page, errors = phone_page(browser, live_server, "lingling_finance", "431102")
    try:
        page.goto(live_server + "/t/431102/projects?stage=targets_approved")
        candidates = [link.get_attribute("href") for link in page.locator("table a[href*='/projects/']").all()]
        publish = None
        for href in dict.fromkeys(candidates):
            page.goto(live_server + href)
            if page.locator("#targets form.publish").count():
                publish = page.locator("#targets form.publish").get_by_role("button", name="公开绩效目标")
                break
        assert publish is not None, "no project with approved, unpublished targets in the demo data"
        posts: list[str] = []
        page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
        asked: list[str] = []

        def dismiss(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        publish.click()
        page.wait_for_timeout(300)  # a submission, had there been one, would have left by now
        assert asked and "公开" in asked[0], asked
        assert posts == []
        expect(publish).to_be_visible()

        # Accepted, the form posts and the server does the rest.
        page.once("dialog", lambda dialog: dialog.accept())
        publish.click()
        expect(page.locator(".flash.success")).to_contain_text("已向社会公开")
        assert len(posts) == 1 and posts[0].endswith("/publish"), posts
        expect(page.locator("#targets form.publish")).to_have_count(0)
        assert errors == []
    finally:
        page.context.close()


def test_the_monitoring_month_stays_selected_after_saving(browser, live_server):
    from playwright.sync_api import expect

    page, errors = phone_page(browser, live_server, "lingling_finance", "431102")
    try:
        page.goto(live_server + "/t/431102/projects?stage=budgeted")
        page.locator("table a[href*='/projects/']").first.click()
        monitoring = page.locator("#monitoring")
        period = monitoring.get_by_label("监控月份（截至）")
        offered = period.input_value()
        # A month not filed yet and not the one offered first: saving must not jump back to the first.
        months = [option.get_attribute("value") for option in period.locator("option").all()
                  if "已报送" not in option.inner_text() and option.get_attribute("value") != offered]
        assert months, "every month of the demo project is filed"
        month = months[-1]
        period.select_option(month)
        monitoring.get_by_label("年初至今累计执行数（万元）").fill("1")
        for actual in monitoring.locator("input[name^='actual-']").all():
            actual.fill("1")
        monitoring.get_by_label("偏差原因").fill("采购延后")
        monitoring.get_by_label("纠偏措施").fill("加快采购")
        monitoring.get_by_role("button", name="报送监控").click()
        expect(page.locator(".flash.success")).to_contain_text(f"已报送 {month} 月绩效监控")
        expect(page.locator("#monitoring").get_by_label("监控月份（截至）")).to_have_value(month)
        fits_the_phone(page)
        assert errors == []
    finally:
        page.context.close()
