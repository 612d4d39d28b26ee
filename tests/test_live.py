"""The README's first command, for real: `python dev.py run` on SQLite, then a login over HTTP and in Chromium."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def test_dev_py_run_printed_the_url_and_the_demo_logins(live_server):
    output = (live_server.instance / "server.log").read_text()
    assert f"{live_server}/" in output, output
    assert "lingling_finance" in output and "jixiao-demo-2026" in output, output
    assert (live_server.instance / "jixiao.sqlite3").exists()


def test_smoke_login_and_home_page_over_http(live_server):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = opener.open(live_server + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    data = urllib.parse.urlencode({"username": "lingling_finance", "password": "jixiao-demo-2026",
                                   "csrf_token": token}).encode()
    home = opener.open(live_server + "/login", data=data)
    html = home.read().decode()
    assert home.geturl().endswith("/t/431102/")
    assert "零陵区" in html and "永州市" in html and "hunan" in html


def test_browser_logs_in_through_the_page_and_sees_the_home_page_in_chinese(live_server, tmp_path):
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(locale="zh-CN")
            page.goto(live_server + "/")
            assert "/login" in page.url
            page.get_by_label("用户名").fill("lingling_finance")
            page.get_by_label("密码").fill("jixiao-demo-2026")
            page.get_by_role("button", name="登录").click()
            page.wait_for_url("**/t/431102/")
            assert page.locator("h1").first.inner_text().startswith("零陵区")
            assert page.get_by_role("heading", name="下级财政部门").count() == 0  # a county has none: no empty block
            assert page.get_by_role("heading", name="生效的规则插件").is_visible()
            artifacts = ROOT / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / "home.png"), full_page=True)
        finally:
            browser.close()
