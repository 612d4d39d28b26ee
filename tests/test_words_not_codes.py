"""Words, not codes, on every page a person reads (issue 15): audit actions, the project history, job pages,
rule sets, plugins, the Xizang catalog, the audit log, and numbers never in exponent notation.

Records are built through the API (or the demo data, built through the services); each page is read as its
visible text (tags stripped) and must say the words and none of the codes.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import render_template_string

from jixiao.audit.labels import ACTION_LABELS
from jixiao.testing import api_login, unique
from tests.helpers import raw_codes, visible
from tests.test_audit_and_api import make_app_like

PLATFORM = Path(__file__).resolve().parents[1] / "platform" / "jixiao"
LINGLING = "431102"
YEAR = date.today().year


def page_text(user, url: str) -> str:
    response = user.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return visible(response.get_data(as_text=True))


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def api(code: str, path: str) -> str:
    return f"/api/v1/tenants/{code}{path}"


# ---- Audit actions ------------------------------------------------------------------------------------------


def _actions_written() -> set[str]:
    """Every audit action the core writes, read from its source: the literal of each ``record(…)`` call, the
    ``action = "…"`` assignments, and the security administrator's ``account.<action>`` ones."""
    from jixiao.system.security_admin import ACTIONS

    found: set[str] = set()
    literal = re.compile(r'"([a-z_]+\.[a-z_]+)"')
    for path in PLATFORM.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for call in re.finditer(r"\brecord(?:_many)?\(", source):
            depth, end = 1, call.end()
            while depth and end < len(source):  # the call's arguments, up to its closing parenthesis
                depth += {"(": 1, ")": -1}.get(source[end], 0)
                end += 1
            head = re.split(r"\b(?:before|after|obj)=", source[call.end():end])[0]
            found.update(literal.findall(head))
        found.update(re.findall(r'\baction = "([a-z_]+\.[a-z_]+)"', source))
    found.update(f"account.{action}" for action in ACTIONS)
    return found


def test_every_audit_action_the_core_writes_has_a_label():
    written = _actions_written()
    assert {"project.create", "results.decide", "assessment.finalize", "user.login_failed"} <= written
    assert sorted(written - set(ACTION_LABELS)) == []


# ---- The project history (变更记录) ------------------------------------------------------------------------


def _history(page: str) -> str:
    """The history section's text, each field's label joined to its value as the page shows them."""
    return page[page.index("变更记录 项目及其各环节"):].replace(" ：", "：")


def test_the_project_history_shows_actions_fields_and_amounts_in_words(login):
    unit, finance = login("lingling_dept"), login("lingling_finance")
    project = ok(unit.post(api(LINGLING, "/projects"), json={
        "code": unique("W"), "name": "文字记录测试项目", "year": YEAR, "kind": "project",
        "fund_type": "general_public", "category": "教育", "is_new": True, "is_key": False,
        "requested_amount": "600000.00"}), 201)
    ok(unit.patch(api(LINGLING, f"/projects/{project['id']}"), json={
        "requested_amount": "1000000", "spending_modalities": ["procurement", "purchase_of_services"],
        "version": project["version"]}))

    history = _history(page_text(finance, f"/t/{LINGLING}/projects/{project['id']}"))
    assert "新建项目" in history and "修改项目" in history
    assert "申报金额：60.00 万元 → 100.00 万元" in history
    assert "支出方式：— → 政府采购、政府购买服务" in history
    assert "类型：项目" in history and "资金性质：一般公共预算" in history and "阶段：填报中" in history
    for code in ("project.create", "project.update", "requested_amount", "600000", "null", "general_public",
                 "procurement", "{", '"'):
        assert code not in history, code


def test_a_decided_projects_history_names_the_decision_in_words(login):
    finance = login("lingling_finance")
    closed = ok(finance.get(api(LINGLING, "/projects?stage=closed")))
    items = closed["items"] if isinstance(closed, dict) else closed
    assert items, "the demo data has a closed project in Lingling"
    history = _history(page_text(finance, f"/t/{LINGLING}/projects/{items[0]['id']}"))
    assert "确定结果应用" in history and "处理决定：" in history and "收回闲置资金：" in history
    assert "万元" in history
    for code in ("results.decide", "maintain", "prioritise", "reduce", "amount_change", "idle_recovered",
                 "suggested_action", "null"):
        assert code not in history, code


# ---- Job pages --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded(jixiao_app):
    """The app with jobs run in-process, so a job has finished when its request answers."""
    return make_app_like(jixiao_app, REDIS_URL=None)


def test_a_job_page_says_what_was_done_in_words(embedded):
    admin = api_login(embedded, "lingling_admin")
    job = ok(admin.post("/api/v1/jobs", json={"kind": "system.selfcheck", "args": {"steps": 2}}), 202)
    assert job["status"] == "succeeded", job
    assert job["label"] == "后台任务自检" and job["summary"] == "自检完成：共 2 步，第 1 次尝试成功"
    text = page_text(admin, f"/jobs/{job['id']}")
    assert "后台任务自检" in text and "自检完成：共 2 步" in text
    assert "system.selfcheck" not in text and "{" not in text and "attempts" not in text
    listing = page_text(admin, "/jobs")
    assert "后台任务自检" in listing and "system.selfcheck" not in listing


def test_a_document_jobs_page_links_to_the_download(embedded):
    finance = api_login(embedded, "lingling_finance")
    job = ok(finance.post(api(LINGLING, f"/statistics/report?year={YEAR}")), 202)
    assert job["status"] == "succeeded", job
    page = finance.get(f"/jobs/{job['id']}").get_data(as_text=True)
    text = visible(page)
    assert "生成年度统计报告（PDF）" in text and "已生成年度统计报告" in text and "下载" in text
    assert f'href="{job["result"]["url"]}"' in page
    assert "documents.statistics_report" not in text and "document_id" not in text


def test_a_campaign_job_links_to_the_campaign_and_rule_sets_are_words(embedded):
    city = api_login(embedded, "hengyang_finance")
    year = 2031  # a year no other test opens a campaign for: one campaign per year and scheme
    campaigns = page_text(city, f"/t/430400/assessments?year={year}")
    assert "县市区预算绩效管理工作考核（湖南省考核办法（2021年度起））" in campaigns
    assert "hunan-2021" not in campaigns
    campaign = ok(city.post(api("430400", "/assessments"), json={
        "year": year, "scheme": "hunan-city-counties",
        "deadline": (date.today() + timedelta(days=30)).isoformat()}), 201)
    try:
        version = ok(city.get(api("430400", f"/assessments/{campaign['id']}")))["version"]
        job = ok(city.post(api("430400", f"/assessments/{campaign['id']}/finalize"),
                           json={"force": True, "reason": "测试提前汇总", "version": version}), 202)
        assert job["status"] == "succeeded", job
        page = city.get(f"/jobs/{job['id']}").get_data(as_text=True)
        text = visible(page)
        assert "考核汇总排名" in text and "已汇总" in text and "打开考核" in text
        assert f'href="/t/430400/assessments/{campaign["id"]}"' in page
        asked = ok(city.get(f"/api/v1/jobs/{job['id']}"))
        assert asked["result_link"] == f"/t/430400/assessments/{campaign['id']}"
        assert asked["result_link_label"] == "打开考核"
        assert "assessment.finalize" not in text and "campaign_id" not in text
        shown = page_text(city, f"/t/430400/assessments/{campaign['id']}")
        assert "湖南省考核办法（2021年度起）" in shown
        listing = page_text(city, f"/t/430400/assessments?year={year}")
        for text in (shown, listing):
            assert "hunan-2021" not in text and "hunan-city-counties" not in text
    finally:
        version = ok(city.get(api("430400", f"/assessments/{campaign['id']}")))["version"]
        city.post(api("430400", f"/assessments/{campaign['id']}/withdraw"),
                  json={"reason": "测试结束撤回", "version": version})


# ---- Plugins by display name --------------------------------------------------------------------------------


def test_plugins_declare_display_names_that_pages_show_beside_the_code(app, login):
    from jixiao.plugins import host

    with app.app_context():
        names = {info.name: info.display_name for info in host().info()}
        assert names["national"] == "全国通用规则" and names["hunan"] == "湖南省规则"
        assert names["sichuan"] == "四川省规则" and names["xizang"] == "西藏自治区规则"
        assert host().display_name("not-installed") == "not-installed"

    home = page_text(login("lingling_finance"), f"/t/{LINGLING}/")
    assert "全国通用规则 national" in home and "湖南省规则 hunan" in home
    operator = login("operator_system")
    page = page_text(operator, "/operator")
    assert "湖南省规则 hunan" in page and "西藏自治区规则 xizang" in page
    rules = page_text(operator, f'/operator/rules?tenant={LINGLING}&hook=evaluation_grade_bands&arguments=kind="finance"')
    assert "全国通用规则 national" in rules
    listed = {p["name"]: p["display_name"] for p in ok(operator.get("/api/v1/plugins"))}
    assert listed["hunan"] == "湖南省规则"


def test_the_rules_a_record_was_scored_by_name_each_plugin_by_its_display_name(login):
    finance = login("lingling_finance")
    evaluated = ok(finance.get(api(LINGLING, "/projects?stage=evaluated")))
    items = evaluated["items"] if isinstance(evaluated, dict) else evaluated
    assert items, "the demo data has an evaluated project in Lingling"
    text = page_text(finance, f"/t/{LINGLING}/projects/{items[0]['id']}")
    assert "等级划分 由插件 全国通用规则 national 给出" in text
    assert raw_codes().found(text) == []
    settings = page_text(finance, f"/t/{LINGLING}/settings")
    assert "声明者：全国通用规则 national" in settings and "默认值（全国通用规则 national 声明）" in settings
    # The values are shown as the tenant's YAML writes them (codes and JSON are what is typed); plugins are named.
    assert raw_codes().found(settings, plugins_only=True) == []


def test_a_plugin_without_a_display_name_is_shown_by_its_code():
    from jixiao.plugins import PluginHost

    class Bare:
        """A plugin module that implements nothing and names nothing."""

    made = PluginHost(extra=[("bare", Bare())], load_entry_points=False)
    assert made.display_name("bare") == "bare" and made.display_name("national") == "全国通用规则"


def test_the_scaffold_declares_a_display_name(tmp_path):
    from jixiao import scaffold

    written = scaffold.create(tmp_path, "guangxi")
    init = next(path for path in written if path.name == "__init__.py")
    assert 'DISPLAY_NAME = "guangxi 规则"' in init.read_text(encoding="utf-8")


# ---- The Xizang catalog and the audit log -------------------------------------------------------------------


def test_the_xizang_catalog_page_speaks_to_users_not_developers(login):
    text = page_text(login("biangba_finance"), "/t/540330/catalog?year=2024")
    assert "西藏自治区分行业分领域共性绩效指标" in text and "以财政厅文件为准" in text
    for note in ("合理默认值", "非官方原文", "种子材料", "数据文件", "seed", "xizang-common-2024"):
        assert note not in text, note


def test_the_audit_log_page_names_actions_in_words(login):
    text = page_text(login("operator_audit"), "/operator/audit?tenant=431102")
    assert "新建项目" in text
    for code in ("project.create", "user.login", "targets.submit"):
        assert code not in text, code


def test_the_audit_log_page_words_objects_and_changes_as_the_project_history_does(login):
    unit = login("lingling_dept")
    project = ok(unit.post(api(LINGLING, "/projects"), json={
        "code": unique("AL"), "name": "审计日志文字项目", "year": 2095, "kind": "project",
        "fund_type": "general_public", "is_new": True, "requested_amount": "600000.00"}), 201)
    ok(unit.patch(api(LINGLING, f"/projects/{project['id']}"), json={
        "requested_amount": "1000000", "version": project["version"]}))
    page = login("operator_audit").get(
        f"/operator/audit?tenant={LINGLING}&action=project.update&actor=lingling_dept").get_data(as_text=True)
    [row] = [r.split("</tr>")[0] for r in page.split("<tr>") if f"#{project['id']}</small>" in r]
    row = visible(row).replace(" ：", "：")
    # The project page's words for the same event: the field's label, before → after, in 万元.
    history = _history(page_text(login("lingling_finance"), f"/t/{LINGLING}/projects/{project['id']}"))
    assert "申报金额：60.00 万元 → 100.00 万元" in history
    assert "修改项目" in row and f"项目 #{project['id']}" in row and "申报金额：60.00 万元 → 100.00 万元" in row
    for code in ("requested_amount", "600000", "1000000", "null", "projects", "{", '"'):
        assert code not in row, code
    # A results decision (the demo data's) by its words in the bureau's rules, as on the project page.
    decided = visible(login("operator_audit").get(
        f"/operator/audit?tenant={LINGLING}&action=results.decide").get_data(as_text=True)).replace(" ：", "：")
    assert "确定结果应用" in decided and "处理决定：" in decided and "万元" in decided
    for code in ("maintain", "prioritise", "reduce", "suggested_action", "idle_recovered", "result_applications"):
        assert code not in decided, code


def test_every_table_of_the_core_names_its_records_in_words():
    import jixiao.models  # noqa: F401 - every model, so the metadata has every table
    from jixiao.audit.labels import OBJECT_LABELS
    from jixiao.db import Base

    assert sorted(set(Base.metadata.tables) - set(OBJECT_LABELS)) == []


# ---- Plugin hooks on the operator's pages --------------------------------------------------------------------


def test_every_hook_has_a_chinese_label():
    from jixiao import hookspecs

    declared = {name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "jixiao_spec")}
    assert {"evaluation_weights", "notification_channels", "on_lifecycle_event"} <= declared
    assert sorted(declared - set(hookspecs.LABELS)) == []  # a new hook cannot ship without a label
    assert sorted(set(hookspecs.LABELS) - declared) == []  # nor a label outlive its hook
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in hookspecs.LABELS.values())


def test_the_operator_page_names_each_hook_in_words_with_its_name_beside(login):
    from jixiao import hookspecs

    operator = login("operator_system")
    page = operator.get("/operator").get_data(as_text=True)
    assert f"{hookspecs.LABELS['evaluation_weights']} <small><code>evaluation_weights</code></small>" in page
    assert "evaluation_weights, " not in page  # no longer a bare list of names
    rules = operator.get("/operator/rules").get_data(as_text=True)
    assert f"{hookspecs.LABELS['monitoring_light']}（monitoring_light）" in rules


def test_a_users_history_names_actions_in_words(login):
    admin = login("lingling_admin")
    text = page_text(admin, f"/t/{LINGLING}/users/{admin.user['id']}")
    assert "新建用户" in text and "user.create" not in text


# ---- Numbers never in exponent notation ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [Decimal(100), Decimal("1E+2"), Decimal("100.00").normalize()])
def test_numbers_never_print_an_exponent(app, value):
    from jixiao import units
    from jixiao.documents import pdf
    from jixiao.lifecycle.views import plain
    from jixiao.spreadsheets import xlsx

    with app.test_request_context():
        assert render_template_string("{{ n }}", n=value) == "100"
        assert render_template_string("{{ n }}", n=value * 10000) == "1000000"
    assert plain(value) == "100" and pdf.plain(value) == "100"
    assert units.format_wan(value * 10000) == "100.00" and units.format_wan_exact(value * 10000) == "100"
    assert units.format_yuan(value) == "100.00" and units.format_amount_scaled(value) == "100 元"
    assert units.percent(value) == "100.00%" and units.ratio_percent_trimmed(value / 100) == "100%"
    assert units.positional(value) == "100"
    assert str(xlsx.number(str(value))) == "100" and str(xlsx.number(value)) == "100"
