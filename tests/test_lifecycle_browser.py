"""A project through its lifecycle in Chromium, on a live `python dev.py run` server (SQLite, demo data).

The unit enters a department-whole budget (no ex-ante assessment needed) and its targets, finance approves
targets and budget, the unit files a monitoring report and its self-evaluation; the page shows the grade.
Screenshots go to test-artifacts/ (project.png, projects.png).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from tests.browser import ARGS, CHROMIUM, require_chromium

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "jixiao-demo-2026"


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium()


def login(browser, base: str, username: str):
    page = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900}).new_page()
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/t/431102/")
    return page


def flash(page) -> str:
    return page.locator(".flash").first.inner_text()


def test_a_project_through_its_lifecycle_in_chromium(chromium, live_server):
    from playwright.sync_api import expect, sync_playwright

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    code = f"BR-{datetime.now():%H%M%S}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            # The unit enters a department-whole budget from the project list.
            unit = login(browser, live_server, "lingling_dept")
            unit.get_by_role("link", name="项目", exact=True).click()
            create = unit.locator("#create")
            create.get_by_label("项目编码").fill(code)
            create.get_by_label("项目名称").fill("教育局部门整体支出（浏览器）")
            create.get_by_label("类型").select_option("department_whole")
            create.get_by_label("申请金额（万元）").fill("80")
            create.get_by_role("button", name="创建项目").click()
            unit.wait_for_url(re.compile(r".*/t/431102/projects/\d+#targets$"))
            project_url = unit.url.split("#")[0]
            assert "请填报绩效目标" in flash(unit)

            # Targets: the 申报表 form, one row per indicator, then save-and-submit.
            unit.get_by_label("年度总体目标").fill("保障教育局全年履职，重点工作按期完成，服务对象满意。")
            rows = [("产出", "数量指标", "重点工作任务完成数", "ge", "12", "项", "30"),
                    ("产出", "时效指标", "资金按时支付率", "ge", "95", "%", "20"),
                    ("效益", "社会效益指标", "履职目标实现程度", "qualitative", "有效履职", "", "30"),
                    ("满意度", "服务对象满意度指标", "服务对象满意度", "ge", "90", "%", "10")]
            for i, (level1, level2, name, direction, value, unit_name, weight) in enumerate(rows):
                unit.locator(f'input[name="level1-{i}"]').fill(level1)
                unit.locator(f'input[name="level2-{i}"]').fill(level2)
                unit.locator(f'input[name="name-{i}"]').fill(name)
                unit.locator(f'select[name="direction-{i}"]').select_option(direction)
                unit.locator(f'input[name="value-{i}"]').fill(value)
                unit.locator(f'input[name="unit-{i}"]').fill(unit_name)
                unit.locator(f'input[name="weight-{i}"]').fill(weight)
            unit.locator('input[name="level2-2"]').fill("不存在的指标")
            unit.get_by_role("button", name="保存并提交审核").click()
            row_error = unit.locator("#targets tr.row-error")
            expect(row_error).to_contain_text("第 3 行")
            expect(row_error).to_contain_text("二级指标应为")
            expect(unit.locator(".flash.error").first).to_contain_text("绩效目标未通过校验")
            unit.locator("#targets").screenshot(path=str(artifacts / "targets-error.png"))
            unit.locator('input[name="level2-2"]').fill("社会效益指标")
            unit.get_by_role("button", name="保存并提交审核").click()
            expect(unit.locator(".flash.success")).to_contain_text("已提交财政部门审核")
            expect(unit.locator("#targets h2")).to_contain_text("已提交")

            # Finance approves the targets, then the budget (prefilled with the requested amount).
            finance = login(browser, live_server, "lingling_finance")
            finance.goto(project_url)
            finance.locator("#targets").screenshot(path=str(artifacts / "targets-review.png"))
            finance.locator("#targets").get_by_role("button", name="批复", exact=True).click()
            expect(finance.locator(".flash.success")).to_contain_text("绩效目标已批复")
            budget = finance.locator("#budget")
            expect(budget.get_by_label("批复金额（万元）")).to_have_value("80")
            budget.get_by_label("批复金额（万元）").fill("75")
            budget.get_by_role("button", name="批复预算").click()
            expect(finance.locator(".flash.success")).to_contain_text("预算已批复")

            # The unit files a monitoring report (behind schedule: cause and measure given).
            unit.goto(project_url)  # no fragment: a real navigation, not a jump within the open page
            monitoring = unit.locator("#monitoring")
            monitoring.get_by_label("监控月份（截至）").select_option("6")
            monitoring.get_by_label("年初至今累计执行数（万元）").fill("20")
            monitoring.get_by_label("重点工作任务完成数实际完成值").fill("4")
            monitoring.get_by_label("资金按时支付率实际完成值").fill("90")
            monitoring.get_by_label("服务对象满意度实际完成值").fill("92")
            monitoring.get_by_label("偏差原因").fill("学期调整，部分活动推迟到下半年")
            monitoring.get_by_label("纠偏措施").fill("倒排工期，9 月前完成")
            monitoring.get_by_role("button", name="报送监控").click()
            expect(unit.locator(".flash.success")).to_contain_text("已报送 6 月绩效监控")
            expect(unit.locator("#monitoring table").first).to_contain_text("学期调整")

            # The unit's self-evaluation: the 绩效自评表, scored by the platform.
            unit.goto(project_url)
            unit.get_by_role("button", name="开展单位自评").click()
            expect(unit.locator(".flash.success")).to_contain_text("已开展单位自评")
            evaluation = unit.locator("#evaluations")
            evaluation.get_by_label("全年执行数（万元）").fill("72")
            evaluation.get_by_label("重点工作任务完成数实际完成值").fill("12")
            evaluation.get_by_label("资金按时支付率实际完成值").fill("93")
            evaluation.get_by_label("履职目标实现程度达成档次").select_option("achieved")
            evaluation.get_by_label("履职目标实现程度得分比例").fill("0.9")
            evaluation.get_by_label("服务对象满意度实际完成值").fill("95")
            evaluation.get_by_label("评价结论（年度总体目标完成情况）").fill("年度重点工作基本完成。")
            evaluation.get_by_label("问题 1").fill("资金支付进度前慢后快")
            evaluation.get_by_label("建议 1").fill("均衡支付进度")
            evaluation.get_by_role("button", name="提交评价").click()
            expect(unit.locator(".flash.success")).to_contain_text("等级")
            grade = unit.locator("#evaluations .score-line .grade")
            expect(grade).to_be_visible()
            assert grade.inner_text() in {"优", "良", "中", "差"}
            expect(unit.locator(".project-head")).to_contain_text("已评价")

            unit.goto(project_url)
            unit.screenshot(path=str(artifacts / "project.png"), full_page=True)
            finance.goto(project_url)
            expect(finance.locator("#rectification")).to_contain_text("下达整改通知")
            finance.screenshot(path=str(artifacts / "project-finance.png"), full_page=True)
            unit.goto(live_server + "/t/431102/projects")
            unit.screenshot(path=str(artifacts / "projects.png"), full_page=True)
            unit.goto(live_server + "/t/431102/")
            unit.screenshot(path=str(artifacts / "home-todo.png"), full_page=True)
        finally:
            browser.close()


def test_ledger_and_public_page_in_chromium(chromium, live_server):
    from playwright.sync_api import expect, sync_playwright

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            auditor = login(browser, live_server, "lingling_auditor")
            auditor.get_by_role("link", name="整改台账").first.click()
            auditor.get_by_label("只看逾期").check()
            auditor.get_by_role("button", name="筛选").click()
            expect(auditor.locator("tr.overdue").first).to_contain_text("已逾期")
            auditor.screenshot(path=str(artifacts / "ledger.png"), full_page=True)

            public = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900}).new_page()
            public.goto(live_server + "/public/431102/")
            expect(public.get_by_role("heading", name="绩效评价结果")).to_be_visible()
            expect(public.locator(".grade").first).to_be_visible()
            assert "/login" not in public.url
            public.screenshot(path=str(artifacts / "public.png"), full_page=True)
        finally:
            browser.close()
