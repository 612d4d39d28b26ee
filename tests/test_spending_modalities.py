"""What the money is spent through (支出方式) and where a special fund comes from (专项资金来源), issue 16 §2.

Projects hold their spending modalities (several, or "none" alone; [] = not recorded) and, for a special fund,
its source; the API, the pages, the 项目清单 template and import and the export carry them; the project list
filters by them in the same number of statements; the statistics count projects by modality and divide the
evaluated projects as seed 003 does (3 policy, 6 department-whole, 72 central / provincial / city special-fund
projects, 25 department budget projects), 本级 and 含下级. Records are made through the API or the services.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from jixiao import hookimpl
from jixiao.testing import api_login, unique

YEAR = 2046  # the API and page tests' own year (no other test uses it)
SEED_YEAR = 2041  # seed 003's split, in Lingling
LINGLING, YONGZHOU = "431102", "431100"


def url(path: str = "", code: str = LINGLING) -> str:
    return f"/api/v1/tenants/{code}{path}"


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    return response.get_json()


def refused(response, status=400) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    return response.get_json()["error"]["fields"]


@pytest.fixture
def finance(login):
    return login("lingling_finance")


def new(client, **extra):
    body = {"code": unique("SM"), "name": "支出方式测试项目", "year": YEAR, "kind": "project",
            "fund_type": "general_public", "department_code": "101", "requested_amount": "100000.00", **extra}
    return client.post(url("/projects"), json=body)


def listed(client, query: str) -> list[dict]:
    return ok(client.get(url(f"/projects?year={YEAR}&per_page=500&{query}")))["items"]


# ---- The fields, through the API ------------------------------------------------------------------------------


def test_a_project_holds_its_modalities_and_its_special_fund_source(finance):
    project = ok(new(finance, spending_modalities=["procurement", "ppp", "ppp"], is_special_fund=True,
                     fund_source="central"), 201)
    # Each once, in the documented order, whatever order they were sent in.
    assert project["spending_modalities"] == ["ppp", "procurement"]
    assert (project["is_special_fund"], project["fund_source"]) == (True, "central")
    assert ok(finance.get(url(f"/projects/{project['id']}"))) == project
    history = ok(finance.get(url(f"/projects/{project['id']}/history")))
    assert history[0]["after"]["spending_modalities"] == ["ppp", "procurement"]


class SeesTheMoney:
    """A plugin rule that reads the project's modalities and fund source: a PPP special fund owes an ex-ante
    assessment even when continuing."""

    @hookimpl
    def exante_required(self, tenant, project):
        if "ppp" in project.spending_modalities and project.is_special_fund and project.fund_source == "central":
            return True
        return None


def test_hooks_see_the_modalities_and_the_fund_source(with_plugin):
    made = with_plugin(SeesTheMoney(), LINGLING, name="sees_the_money")
    client = api_login(made, "lingling_finance")
    plain = ok(new(client, is_new=False), 201)
    ppp = ok(new(client, is_new=False, spending_modalities=["ppp"], is_special_fund=True, fund_source="central"), 201)
    owed = {p["id"]: ok(client.get(url(f"/projects/{p['id']}/exante")))["required"] for p in (plain, ppp)}
    assert owed == {plain["id"]: False, ppp["id"]: True}


def test_without_them_nothing_is_recorded_which_is_not_none(finance):
    project = ok(new(finance), 201)
    assert (project["spending_modalities"], project["is_special_fund"], project["fund_source"]) == ([], False, None)
    none = ok(new(finance, spending_modalities=["none"]), 201)
    assert none["spending_modalities"] == ["none"]


@pytest.mark.parametrize(("extra", "field", "words"), [
    ({"spending_modalities": ["none", "ppp"]}, "spending_modalities", "不涉及"),
    ({"spending_modalities": ["bonds"]}, "spending_modalities", "bonds"),
    ({"spending_modalities": "ppp"}, "spending_modalities", "列表"),
    ({"fund_source": "central"}, "fund_source", "专项资金"),
    ({"is_special_fund": True, "fund_source": "county"}, "fund_source", "central"),
    ({"kind": "policy", "is_special_fund": True}, "is_special_fund", "只有项目"),
])
def test_what_a_project_cannot_hold_is_refused_naming_the_field(finance, extra, field, words):
    code = unique("BAD")
    fields = refused(new(finance, code=code, **extra))
    # A list item's refusal is keyed by its position, as for every list of the API ({"0": ["…"]}).
    said = json.dumps(fields[field], ensure_ascii=False)
    assert words in said, fields
    assert listed(finance, f"q={code}") == []


def test_changing_them_later_and_unmarking_a_special_fund_clears_its_source(finance):
    project = ok(new(finance, is_special_fund=True, fund_source="provincial"), 201)
    pid = project["id"]
    changed = ok(finance.patch(url(f"/projects/{pid}"), json={
        "spending_modalities": ["government_debt", "purchase_of_services"], "version": project["version"]}))
    assert changed["spending_modalities"] == ["purchase_of_services", "government_debt"]
    assert changed["fund_source"] == "provincial"
    # A policy cannot be a special fund: turning the special fund into one is refused, naming the mark.
    assert "is_special_fund" in refused(finance.patch(url(f"/projects/{pid}"), json={
        "kind": "policy", "version": changed["version"]}))
    assert "fund_source" in refused(finance.patch(url(f"/projects/{pid}"), json={
        "is_special_fund": False, "fund_source": "city", "version": changed["version"]}))
    unmarked = ok(finance.patch(url(f"/projects/{pid}"), json={"is_special_fund": False,
                                                                "version": changed["version"]}))
    assert (unmarked["is_special_fund"], unmarked["fund_source"]) == (False, None)
    assert "spending_modalities" in refused(finance.patch(url(f"/projects/{pid}"), json={
        "spending_modalities": ["ppp", "none"], "version": unmarked["version"]}))


# ---- Filters -----------------------------------------------------------------------------------------------


def test_the_list_filters_by_any_of_the_modalities_and_by_fund_source(finance):
    tag = unique("F")
    made = {
        "ppp": ok(new(finance, code=f"{tag}-1", spending_modalities=["ppp"]), 201),
        "debt": ok(new(finance, code=f"{tag}-2", spending_modalities=["procurement", "government_debt"],
                       is_special_fund=True, fund_source="central"), 201),
        "services": ok(new(finance, code=f"{tag}-3", spending_modalities=["purchase_of_services"],
                           is_special_fund=True, fund_source="city"), 201),
        "none": ok(new(finance, code=f"{tag}-4", spending_modalities=["none"]), 201),
        "unrecorded": ok(new(finance, code=f"{tag}-5"), 201),
    }

    def codes(query: str) -> set[str]:
        return {p["code"] for p in listed(finance, f"q={tag}&{query}")}

    assert codes("modality=ppp&modality=government_debt") == {made["ppp"]["code"], made["debt"]["code"]}
    assert codes("modality=procurement") == {made["debt"]["code"]}
    assert codes("modality=none") == {made["none"]["code"]}
    assert codes("fund_source=city") == {made["services"]["code"]}
    assert codes("fund_source=central&modality=ppp") == set()
    assert "modality" in refused(finance.get(url(f"/projects?modality=bonds&q={tag}")))
    assert "fund_source" in refused(finance.get(url(f"/projects?fund_source=county&q={tag}")))


def test_the_filters_keep_the_lists_statement_count(app, finance):
    from tests.test_query_budget import count_statements

    user = api_login(app, "lingling_finance")
    plain = url(f"/projects?year={YEAR}")
    filtered = url(f"/projects?year={YEAR}&modality=ppp&modality=procurement&modality=government_debt"
                   "&fund_source=central")
    user.get(plain)
    with count_statements(app) as without:
        ok(user.get(plain))
    with count_statements(app) as with_filters:
        ok(user.get(filtered))
    assert len(with_filters) == len(without)


# ---- The pages ---------------------------------------------------------------------------------------------


def test_the_page_enters_shows_and_filters_them_in_words(login):
    page = login("lingling_finance")
    code = unique("PG")
    base = {"code": code, "name": "政府购买服务项目", "year": str(YEAR), "kind": "project",
            "fund_type": "general_public", "department_code": "101", "requested_amount": "12.5"}
    bad = page.post(f"/t/{LINGLING}/projects", data={**base, "spending_modalities": ["none", "ppp"]})
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "“不涉及”不能与其他支出方式同时选择" in html
    bad = page.post(f"/t/{LINGLING}/projects", data={**base, "fund_source": "central"})
    assert bad.status_code == 400 and "只有专项资金项目才有专项资金来源" in bad.get_data(as_text=True)
    assert listed(page, f"q={code}") == []

    made = page.post(f"/t/{LINGLING}/projects", data={
        **base, "spending_modalities": ["purchase_of_services", "procurement"], "is_special_fund": "on",
        "fund_source": "provincial"})
    assert made.status_code == 302, made.get_data(as_text=True)[:2000]
    [project] = listed(page, f"q={code}")
    assert project["spending_modalities"] == ["procurement", "purchase_of_services"]
    shown = page.get(f"/t/{LINGLING}/projects/{project['id']}").get_data(as_text=True)
    facts = shown.split('class="facts wide"')[1].split("</dl>")[0]
    assert "政府采购" in facts and "政府购买服务" in facts and "省级专项" in facts
    assert "procurement" not in facts and "provincial" not in facts

    filtered = page.get(f"/t/{LINGLING}/projects?year={YEAR}&modality=purchase_of_services&fund_source=provincial"
                        f"&q={code}").get_data(as_text=True)
    assert f"<code>{code}</code>" in filtered and "省级专项" in filtered
    others = page.get(f"/t/{LINGLING}/projects?year={YEAR}&modality=ppp&q={code}").get_data(as_text=True)
    assert f"<code>{code}</code>" not in others


# ---- The 项目清单: template, import, export -------------------------------------------------------------------


def list_template(client) -> tuple:
    response = client.get(url("/imports/projects/template"))
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb["项目清单"]
    headings = [c.value for c in ws[3]]
    return wb, ws, headings


def saved(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def fill(ws, headings: list, rows: list[dict]) -> None:
    for offset, row in enumerate(rows):
        for heading, value in row.items():
            ws.cell(row=4 + offset, column=headings.index(heading) + 1, value=value)


def row(code: str, **extra) -> dict:
    return {"项目编码*": code, "项目名称*": "批量导入项目", "预算年度*": YEAR, "项目类型*": "项目",
            "资金来源*": "一般公共预算", "主管部门编码*": "101", "申请金额（万元）*": 20, **extra}


def upload(client, data: bytes):
    return client.post(url("/imports/projects"), data={"file": (io.BytesIO(data), "项目清单.xlsx")},
                       content_type="multipart/form-data")


def test_the_project_list_imports_them_and_a_bad_cell_imports_nothing(finance):
    wb, ws, headings = list_template(finance)
    assert {"支出方式", "是否专项资金", "专项资金来源"} <= set(headings)
    tag = unique("XL")
    rows = [row(f"{tag}-1", 支出方式="PPP、政府采购", 是否专项资金="是", 专项资金来源="中央专项"),
            row(f"{tag}-2", 支出方式="专项债券"),
            row(f"{tag}-3", 支出方式="不涉及、政府采购"),
            row(f"{tag}-4", 支出方式="众筹"),
            row(f"{tag}-5", 专项资金来源="市级"),
            row(f"{tag}-6", **{"项目类型*": "政策"}, 是否专项资金="是")]
    fill(ws, headings, rows)
    errors = refused(upload(finance, saved(wb)))["rows"]
    assert {(e["row"], e["column"]) for e in errors} == {(6, "支出方式"), (7, "支出方式"), (8, "专项资金来源"),
                                                         (9, "是否专项资金")}
    assert "众筹" in next(e["message"] for e in errors if e["row"] == 7)
    assert listed(finance, f"q={tag}") == []

    wb, ws, headings = list_template(finance)
    fill(ws, headings, rows[:2] + [row(f"{tag}-3", 支出方式="不涉及"), row(f"{tag}-5", 是否专项资金="是", 专项资金来源="市级")])
    ok(upload(finance, saved(wb)), 201)
    got = {p["code"]: (p["spending_modalities"], p["is_special_fund"], p["fund_source"])
           for p in listed(finance, f"q={tag}")}
    assert got == {f"{tag}-1": (["ppp", "procurement"], True, "central"), f"{tag}-2": (["government_debt"], False, None),
                   f"{tag}-3": (["none"], False, None), f"{tag}-5": ([], True, "city")}

    exported = finance.get(url(f"/exports/projects?year={YEAR}&q={tag}&modality=ppp"))
    sheet = load_workbook(io.BytesIO(exported.data)).active
    lines = list(sheet.iter_rows(values_only=True))
    heading = next(line for line in lines if line and line[0] == "项目编码")
    data = [dict(zip(heading, line, strict=True)) for line in lines[lines.index(heading) + 1:] if line[0]]
    assert [(d["项目编码"], d["支出方式"], d["是否专项资金"], d["专项资金来源"]) for d in data] == [
        (f"{tag}-1", "政府和社会资本合作（PPP）、政府采购", "是", "中央专项")]
    # The subtitle states the filters in words, never as the query's codes.
    subtitle = next(str(line[0]) for line in lines if line and str(line[0]).startswith("导出时间"))
    assert f"筛选：预算年度 {YEAR}；关键词 {tag}；支出方式 政府和社会资本合作（PPP）" in subtitle
    assert "modality" not in subtitle and "ppp" not in subtitle


# ---- Seed 003: the evaluations by type -----------------------------------------------------------------------

# What seed 003 evaluated: 3 policies, 6 department-whole budgets, 72 special funds (central, provincial and
# city: the seed gives only their sum, so the division is this test's), 25 department budget projects.
SEED = [("policy", False, None, 3), ("department_whole", False, None, 6), ("project", True, "central", 30),
        ("project", True, "provincial", 24), ("project", True, "city", 18), ("project", False, None, 25)]
MODALITIES = [["ppp"], ["procurement", "purchase_of_services"], ["government_debt"], ["none"], []]


def _scores(db, tenant, evaluation) -> list[dict]:
    """Every target met, as entered on the evaluation's own form."""
    from jixiao.lifecycle import evaluations

    scores = []
    for form_row in evaluations.table_of(db, tenant, evaluation):
        if form_row.form_indicator is not None:
            item = form_row.form_indicator
            if item.scored_by:
                continue
            if item.direction == "qualitative":
                scores.append({"form_code": item.code, "band": "achieved", "band_fraction": "1"})
            else:
                scores.append({"form_code": item.code, "actual_value": item.target_value})
        elif str(form_row.indicator.direction) == "qualitative":
            scores.append({"indicator_id": form_row.indicator.id, "band": "achieved", "band_fraction": "1"})
        else:
            scores.append({"indicator_id": form_row.indicator.id, "actual_value": form_row.indicator.target_value})
    return scores


@pytest.fixture(scope="module")
def seed_003(jixiao_app):
    """Seed 003's 106 evaluated items in Lingling, made through the services (106 HTTP round trips each of a
    dozen requests would take minutes); returns each group's budgets as entered."""
    from jixiao.accounts.models import User
    from jixiao.catalog import service as catalog
    from jixiao.db import TenantScope, scoped, set_scope, system_scope
    from jixiao.lifecycle import demo_data, evaluations, projects, targets
    from jixiao.tenancy import service as tenancy

    entered: dict[tuple, list[D]] = {}
    with jixiao_app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, LINGLING)
        scope = TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username="lingling_finance")
        with scoped(scope) as db:
            actor = db.scalar(sa.select(User).where(User.username == "lingling_finance"))
            set_scope(db, scope.with_(user_id=actor.id))
            categories = [c["name"] for c in catalog.category_choices(db, tenant, SEED_YEAR)]
            index = 0
            for kind, special, source, n in SEED:
                for _ in range(n):
                    index += 1
                    amount = D(10000 * (index % 17 + 3))
                    project = projects.create_project(db, actor, tenant, {
                        "code": f"S003-{index:03d}", "name": f"恩阳式分类评价{index}", "year": SEED_YEAR, "kind": kind,
                        "fund_type": "general_public", "department_code": "101", "is_new": False,
                        "category": categories[index % len(categories)] if categories else "",
                        "requested_amount": amount, "is_special_fund": special, "fund_source": source,
                        "spending_modalities": MODALITIES[index % len(MODALITIES)]})
                    targets.replace_targets(db, actor, tenant, project, {
                        "overall_target": "按期完成年度任务。", "indicators": demo_data.indicator_table(kind)})
                    targets.submit_targets(db, actor, tenant, project)
                    targets.review_targets(db, actor, tenant, project, approve=True)
                    projects.approve_budget(db, actor, tenant, project, amount, project.version)
                    evaluation = evaluations.assign(db, actor, tenant, project, "finance")
                    evaluations.submit(db, actor, tenant, evaluation, {
                        "executed_amount": amount, "summary": "完成年度目标。", "findings": [],
                        "scores": _scores(db, tenant, evaluation)})
                    entered.setdefault((kind, special, source), []).append(amount)
                    entered.setdefault(("modalities", index % len(MODALITIES)), []).append(amount)
    return entered


def _part(entered: dict, kind: str, special: bool = False, source: str | None = None) -> dict:
    amounts = entered[(kind, special, source)]
    return {"count": len(amounts), "amount": f"{sum(amounts, D(0)):.2f}", "evaluations": len(amounts)}


def test_seed_003_the_evaluations_split_by_type_and_fund_source(login, seed_003):
    stats = ok(login("lingling_finance").get(url(f"/statistics?year={SEED_YEAR}")))
    split = stats["evaluations"]["split"]
    assert split["policy"] == _part(seed_003, "policy")
    assert split["department_whole"] == _part(seed_003, "department_whole")
    assert split["department_budget"] == _part(seed_003, "project")
    special = split["special_fund"]
    for source in ("central", "provincial", "city"):
        assert special["by_source"][source] == _part(seed_003, "project", True, source)
    assert special["by_source"]["own"] == special["by_source"]["unrecorded"] == {"count": 0, "amount": "0.00",
                                                                                "evaluations": 0}
    # Seed 003's own figures: 3 policy, 6 department-whole, 72 special-fund and 25 department budget projects.
    assert [split[k]["count"] for k in ("policy", "department_whole", "special_fund", "department_budget")] == \
        [3, 6, 72, 25]
    assert stats["evaluations"]["projects"] == 106
    # The projects are split the same way (all of them were evaluated), and by modality.
    assert stats["projects"]["split"]["special_fund"]["count"] == 72
    by_modality = stats["projects"]["by_modality"]
    ppp = seed_003[("modalities", 0)]
    assert (by_modality["ppp"]["count"], by_modality["ppp"]["budget_amount"]) == (len(ppp), f"{sum(ppp, D(0)):.2f}")
    both = seed_003[("modalities", 1)]
    assert by_modality["procurement"]["count"] == by_modality["purchase_of_services"]["count"] == len(both)
    assert by_modality["none"]["count"] == len(seed_003[("modalities", 3)])
    assert by_modality["unrecorded"]["count"] == len(seed_003[("modalities", 4)])


def test_seed_003_rolls_up_to_the_city_and_shows_on_the_page(login, seed_003):
    city = login("yongzhou_finance")
    own = ok(login("lingling_finance").get(url(f"/statistics?year={SEED_YEAR}")))
    rollup = ok(city.get(url(f"/statistics?year={SEED_YEAR}&scope=all", YONGZHOU)))
    [lingling] = [c for c in rollup["children"] if c["code"] == LINGLING]
    assert lingling["evaluations"]["split"] == own["evaluations"]["split"]
    assert lingling["projects"]["by_modality"] == own["projects"]["by_modality"]
    # Nobody else in the city has 2041 records: the roll-up's split is Lingling's.
    assert rollup["total"]["evaluations"]["split"] == own["evaluations"]["split"]

    page = login("lingling_finance").get(f"/t/{LINGLING}/statistics?year={SEED_YEAR}").get_data(as_text=True)
    table = page.split('id="evaluation-split"')[1].split("</table>")[0]
    for words in ("财政政策", "部门整体支出", "专项资金项目", "中央专项", "省级专项", "市级专项", "部门预算项目"):
        assert words in table
    assert "central" not in table and "department_budget" not in table
    assert "政府和社会资本合作（PPP）" in page.split('id="projects-by-modality"')[1].split("</table>")[0]
    rolled = city.get(f"/t/{YONGZHOU}/statistics?year={SEED_YEAR}&scope=all").get_data(as_text=True)
    assert "中央专项" in rolled.split('id="evaluation-split"')[1].split("</table>")[0]

    # The statistics export has the same rows, in words.
    exported = login("lingling_finance").get(url(f"/exports/statistics?year={SEED_YEAR}"))
    lines = {(line[0], line[1]): line[2] for line in load_workbook(io.BytesIO(exported.data)).active.iter_rows(
        values_only=True) if line and line[0]}
    assert lines[("分类评价", "中央专项：评价项目数")] == own["evaluations"]["split"]["special_fund"]["by_source"][
        "central"]["count"]
    assert ("项目（按支出方式）", "政府和社会资本合作（PPP）：项目数") in lines


def test_the_statistics_keep_their_statement_count(app, seed_003):
    from jixiao.statistics import service
    from tests.test_query_budget import count_statements

    user = api_login(app, "lingling_finance")
    user.get(url(f"/statistics?year={SEED_YEAR}"))
    with count_statements(app) as few:
        ok(user.get(url(f"/statistics?year={YEAR + 10}")))
    with count_statements(app) as full:
        ok(user.get(url(f"/statistics?year={SEED_YEAR}")))
    assert len(few) == len(full)
    assert service.PARTS == 9
