"""Every list that grows with a tenant's data is paginated, with the project list's contract, on the API and on
the pages, and a page costs the same statements whatever the number of records (jixiao.pagination).

The lists: evaluations, the rectification ledger, notifications, jobs and the to-do list. The ones that answered
a bare array before (all but notifications) still do without ``page``/``per_page``; with either they answer the
envelope ``{"items", "total", "page", "per_page"}``. Each is counted at two sizes (a few records and ten times as
many), on the API and on its page: the same number of statements.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from jixiao.testing import api_login, unique
from tests import test_query_budget
from tests.test_query_budget import FEW_YEAR, count_statements

#: The budget tests' two years of demo records (8 projects and 24), shared.
many_projects = test_query_budget.many_projects

TENANT = "431102"
API = f"/api/v1/tenants/{TENANT}"
FEW, MANY = 3, 30
PER_PAGE = 2
#: The lists that answered a bare array before they were paginated.
BARE_LISTS = [f"{API}/evaluations", f"{API}/rectifications", f"{API}/todo", "/api/v1/jobs"]
PAGINATED = [*BARE_LISTS, "/api/v1/notifications"]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    return response.get_json()


def counted(app: Any, client: Any, url: str) -> tuple[int, Any]:
    """The statements one request runs, after a first request warmed what is cached per process."""
    client.get(url)
    with count_statements(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(statements), response


def with_page(url: str, **query: Any) -> str:
    joined = "&".join(f"{key}={value}" for key, value in query.items())
    return f"{url}{'&' if '?' in url else '?'}{joined}"


# ---- The contract --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", BARE_LISTS)
def test_a_list_answers_bare_without_page_and_the_envelope_with_it(app, many_projects, url):
    finance = api_login(app, "lingling_finance" if "jobs" not in url else "lingling_admin")
    if "jobs" in url:
        ok(finance.post("/api/v1/jobs", json={"kind": "system.selfcheck", "args": {"steps": 1}}), 202)
    bare = ok(finance.get(url))
    assert isinstance(bare, list) and bare
    first = ok(finance.get(with_page(url, page=1)))
    assert set(first) == {"items", "total", "page", "per_page"}
    assert (first["page"], first["per_page"]) == (1, 50)
    sized = ok(finance.get(with_page(url, per_page=1)))
    assert (sized["page"], sized["per_page"], len(sized["items"])) == (1, 1, 1)
    assert sized["items"][0] == bare[0]


@pytest.mark.parametrize("url", PAGINATED)
def test_page_bounds_are_the_project_lists(app, url):
    finance = api_login(app, "lingling_finance")
    for query, field in (({"per_page": 501}, "per_page"), ({"per_page": 0}, "per_page"), ({"page": 0}, "page"),
                         ({"page": "x"}, "page")):
        refused = finance.get(with_page(url, **query))
        assert refused.status_code == 400, (query, refused.get_json())
        assert field in refused.get_json()["error"]["fields"], refused.get_json()
    assert ok(finance.get(with_page(url, per_page=500)))["per_page"] == 500


def test_the_pages_of_the_ledger_walk_the_whole_ledger_once(app, many_projects):
    finance = api_login(app, "lingling_finance")
    whole = ok(finance.get(f"{API}/rectifications"))
    seen, page = [], 1
    while True:
        body = ok(finance.get(f"{API}/rectifications?per_page={PER_PAGE}&page={page}"))
        assert body["total"] == len(whole)
        if not body["items"]:
            break
        seen += body["items"]
        page += 1
    assert seen == whole
    assert page - 1 == -(-len(whole) // PER_PAGE)  # ⌈total / per_page⌉ pages, then an empty one


def test_notifications_answer_the_envelope_with_the_unread_count(app):
    user = new_user_with_notifications(app, FEW)
    body = ok(user.get("/api/v1/notifications?per_page=2"))
    assert set(body) == {"unread", "items", "total", "page", "per_page"}
    assert (body["unread"], body["total"], body["page"], body["per_page"], len(body["items"])) == (FEW, FEW, 1, 2, 2)
    # Newest first: the last one written leads.
    assert body["items"][0]["title"] == f"提醒 {FEW - 1}"
    assert ok(user.get("/api/v1/notifications?page=2&per_page=2"))["items"][0]["title"] == "提醒 0"


# ---- Statement counts at two sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["lingling_finance", "lingling_dept", "lingling_auditor"])
@pytest.mark.parametrize("path", [
    f"{API}/evaluations?year={{year}}&per_page={PER_PAGE}",
    f"{API}/rectifications?year={{year}}&per_page={PER_PAGE}",
    f"/t/{TENANT}/evaluations?year={{year}}",
    f"/t/{TENANT}/rectifications?year={{year}}",
])
def test_evaluations_and_the_ledger_cost_the_same_at_both_sizes(app, many_projects, username, path):
    user = api_login(app, username)
    few, few_answer = counted(app, user.client, path.format(year=FEW_YEAR))
    full, full_answer = counted(app, user.client, path.format(year=many_projects))
    if path.startswith("/api/"):
        few_total, full_total = few_answer.get_json()["total"], full_answer.get_json()["total"]
        if username != "lingling_dept":
            assert 0 < few_total < full_total
        if not few_answer.get_json()["items"] and full_answer.get_json()["items"]:
            pytest.fail("the smaller year has no rows: the comparison would leave out the eager loads")
    assert few == full, (few, full)


def new_user_with_notifications(app: Any, count: int) -> Any:
    """A new user of Lingling with ``count`` notifications, written as a scan writes them."""
    from jixiao.accounts import service as accounts
    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.jobs.notifications import notify_many
    from jixiao.tenancy import service as tenancy

    username = unique("bell")
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, TENANT)
        scope = TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=username)
        with scoped(scope) as db:
            accounts.create_user(db, None, tenant, username=username, password="jixiao-demo-2026", roles=["finance"])
            user_id = db.scalar(sa.select(User.id).where(User.username == username))
            notify_many(db, ({"tenant_id": tenant.id, "user_id": user_id, "kind": "test", "title": f"提醒 {i}",
                              "body": "正文", "url": f"/t/{TENANT}/", "dedupe_key": f"{username}:{i}"}
                             for i in range(count)))
            db.commit()
    return api_login(app, username)


@pytest.mark.parametrize("path", ["/api/v1/notifications?per_page=2", "/notifications"])
def test_notifications_cost_the_same_for_3_and_for_30(app, path):
    few_user, many_user = new_user_with_notifications(app, FEW), new_user_with_notifications(app, MANY)
    few, few_answer = counted(app, few_user.client, path)
    many, many_answer = counted(app, many_user.client, path)
    if path.startswith("/api/"):
        assert (few_answer.get_json()["total"], many_answer.get_json()["total"]) == (FEW, MANY)
    else:
        assert "共 3 条" in few_answer.get_data(as_text=True)
        assert "共 30 条" in many_answer.get_data(as_text=True)
    assert few == many, (few, many)


@pytest.fixture(scope="module")
def job_admins(jixiao_app) -> dict[int, Any]:
    """Administrators of two bureaus no other test gives jobs to: one with 3 jobs, one with 30."""
    from jixiao.accounts import service as accounts
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    admins = {}
    for code, count in (("431126", FEW), ("431127", MANY)):
        username = unique("jobs")
        with jixiao_app.app_context():
            with system_scope() as db:
                tenant = tenancy.get_by_code(db, code)
            with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=username)) as db:
                accounts.create_user(db, None, tenant, username=username, password="jixiao-demo-2026",
                                     roles=["admin"])
        admin = api_login(jixiao_app, username)
        for _ in range(count):
            ok(admin.post("/api/v1/jobs", json={"kind": "system.selfcheck", "args": {"steps": 1}}), 202)
        admins[count] = admin
    return admins


@pytest.mark.parametrize("path", ["/api/v1/jobs?per_page=2", "/jobs"])
def test_jobs_cost_the_same_for_3_and_for_30(app, job_admins, path):
    few, few_answer = counted(app, job_admins[FEW].client, path)
    many, many_answer = counted(app, job_admins[MANY].client, path)
    if path.startswith("/api/"):
        assert (few_answer.get_json()["total"], many_answer.get_json()["total"]) == (FEW, MANY)
    else:
        assert "共 3 条" in few_answer.get_data(as_text=True) and "共 30 条" in many_answer.get_data(as_text=True)
    assert few == many, (few, many)


@pytest.fixture(scope="module")
def units_with_drafts(jixiao_app) -> dict[int, Any]:
    """Staff of two new departments of Lingling, one with 3 draft projects (3 to-dos), one with 30."""
    admin = api_login(jixiao_app, "lingling_admin")
    staff = {}
    for count in (FEW, MANY):
        code = unique("P")[-8:]
        ok(admin.post(f"{API}/departments", json={"code": code, "name": f"分页测试部门{count}"}), 201)
        username = unique("unit")
        ok(admin.post(f"{API}/users", json={"username": username, "password": "jixiao-demo-2026",
                                            "roles": ["department"], "department_code": code}), 201)
        unit = api_login(jixiao_app, username)
        for index in range(count):
            ok(unit.post(f"{API}/projects", json={
                "code": unique("TD"), "name": f"待办项目{index}", "year": 2026, "kind": "project",
                "fund_type": "general_public", "is_new": True, "requested_amount": "100000"}), 201)
        staff[count] = unit
    return staff


@pytest.mark.parametrize("path", [f"{API}/todo?per_page={PER_PAGE}", f"{API}/todo", f"/t/{TENANT}/todo"])
def test_the_to_do_list_costs_the_same_for_3_and_for_30(app, units_with_drafts, path):
    few, few_answer = counted(app, units_with_drafts[FEW].client, path)
    many, many_answer = counted(app, units_with_drafts[MANY].client, path)
    if "per_page" in path:
        assert (few_answer.get_json()["total"], many_answer.get_json()["total"]) == (FEW, MANY)
        assert len(many_answer.get_json()["items"]) == PER_PAGE
    elif path.startswith("/api/"):
        assert (len(few_answer.get_json()), len(many_answer.get_json())) == (FEW, MANY)
    else:
        assert "共 3 条" in few_answer.get_data(as_text=True) and "共 30 条" in many_answer.get_data(as_text=True)
    assert few == many, (few, many)


def test_a_to_do_source_is_cut_at_its_limit(app, units_with_drafts, monkeypatch):
    from jixiao.lifecycle import todo

    unit = units_with_drafts[MANY]
    monkeypatch.setattr(todo, "SOURCE_LIMIT", 7)
    body = ok(unit.get(f"{API}/todo?per_page=5&page=2"))
    assert (body["total"], len(body["items"])) == (7, 2)


# ---- The pages ------------------------------------------------------------------------------------------------


def test_the_ledger_page_links_the_next_and_previous_pages_and_keeps_the_filters(app, many_projects, monkeypatch):
    from jixiao.lifecycle import views

    monkeypatch.setattr(views, "PER_PAGE", 1)
    finance = api_login(app, "lingling_finance")
    whole = ok(finance.get(f"{API}/rectifications?year={many_projects}"))
    assert len(whole) >= 2
    first = finance.get(f"/t/{TENANT}/rectifications?year={many_projects}").get_data(as_text=True)
    assert f"共 {len(whole)} 条" in first and "上一页" not in first
    assert f'href="/t/{TENANT}/rectifications?page=2&amp;year={many_projects}"' in first or \
        f'href="/t/{TENANT}/rectifications?year={many_projects}&amp;page=2"' in first, re.findall(r'rel="next" href="[^"]+"', first)
    second = finance.get(f"/t/{TENANT}/rectifications?year={many_projects}&page=2").get_data(as_text=True)
    assert "上一页" in second and f"#{whole[1]['id']}" in second and f"#{whole[0]['id']}" not in second


def test_the_evaluations_page_lists_the_tenants_evaluations(app, many_projects):
    finance = api_login(app, "lingling_finance")
    listed = ok(finance.get(f"{API}/evaluations?year={many_projects}&per_page=500"))
    html = finance.get(f"/t/{TENANT}/evaluations?year={many_projects}").get_data(as_text=True)
    assert f"共 {listed['total']} 项" in html
    assert all(f"#{item['id']}" in html for item in listed["items"][:50])


# ---- Tenant isolation of the new pages ------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["evaluations", "todo"])
def test_the_new_pages_of_another_branch_do_not_exist(app, page):
    lingling = api_login(app, "lingling_finance")
    assert lingling.get(f"/t/430903/{page}").status_code == 404  # Heshan, another city's district
    yongzhou = api_login(app, "yongzhou_finance")
    assert yongzhou.get(f"/t/{TENANT}/{page}").status_code == 200  # its own county, read only
    assert yongzhou.get(f"/t/430400/{page}").status_code == 404  # Hengyang, another city


def test_a_page_of_evaluations_holds_the_tenants_own_only(app, many_projects):
    finance = api_login(app, "lingling_finance")
    heshan = api_login(app, "heshan_finance")
    mine = ok(finance.get(f"{API}/evaluations?per_page=500"))
    theirs = ok(heshan.get("/api/v1/tenants/430903/evaluations?per_page=500"))
    assert mine["items"] and theirs["items"]
    assert not {e["id"] for e in mine["items"]} & {e["id"] for e in theirs["items"]}
    assert finance.get("/api/v1/tenants/430903/evaluations?page=1").status_code == 404
