"""Navigation by role (issue 15): each role sees the menus for its work only, and the pages and endpoints behind
the others answer 403 — the same predicates (``jixiao.policy``) for the menu, the page and the API."""

from __future__ import annotations

import re

import pytest

LINGLING = "431102"
ENTRIES = ("统计", "考核", "整改台账", "后台任务", "部门", "用户", "API 令牌")
#: Each role's menu, as the product owner asked for it: a unit files, an agency evaluates what it is given,
#: an expert reviews, a viewer and an auditor read; nobody sees another role's tools.
MENUS = {
    "lingling_finance": {"统计", "考核", "整改台账", "后台任务", "部门", "API 令牌"},
    "lingling_admin": {"统计", "考核", "整改台账", "后台任务", "部门", "用户", "API 令牌"},
    "lingling_dept": {"整改台账", "后台任务", "部门", "API 令牌"},
    "lingling_evaluator": {"后台任务"},
    "lingling_expert": set(),
    "lingling_auditor": {"统计", "考核", "整改台账", "API 令牌"},
    "lingling_viewer": {"统计", "考核", "整改台账"},
}


def menu_entries(html: str) -> set[str]:
    nav = html[html.index('<nav>'):html.index('</nav>')]
    return {text for text in re.findall(r">([^<>]+)</a>", nav) if text in ENTRIES}


@pytest.mark.parametrize("username", sorted(MENUS))
def test_each_role_sees_the_menus_for_its_work(login, username):
    home = login(username).get(f"/t/{LINGLING}/")
    assert home.status_code == 200
    assert menu_entries(home.get_data(as_text=True)) == MENUS[username]


#: A page and an endpoint behind an entry, each refused (403) to the roles whose menu lacks the entry.
BEHIND = {
    "考核": [f"/t/{LINGLING}/assessments", f"/api/v1/tenants/{LINGLING}/assessments"],
    "整改台账": [f"/t/{LINGLING}/rectifications", f"/api/v1/tenants/{LINGLING}/rectifications"],
    "后台任务": ["/jobs", "/api/v1/jobs"],
    "API 令牌": ["/account/tokens"],
}


@pytest.mark.parametrize("username", sorted(MENUS))
def test_the_pages_behind_another_role_s_menu_answer_403(login, username):
    client = login(username)
    for entry, paths in BEHIND.items():
        expected = 200 if entry in MENUS[username] else 403
        for path in paths:
            assert client.get(path).status_code == expected, (username, path)


@pytest.mark.parametrize("username", sorted(MENUS))
def test_the_project_pages_link_only_to_the_ledger_and_import_the_role_may_open(login, username):
    client = login(username)
    listing = client.get(f"/t/{LINGLING}/projects").get_data(as_text=True)
    project = re.search(rf'href="(/t/{LINGLING}/projects/\d+)"', listing)
    assert project, username
    page = listing + client.get(project.group(1)).get_data(as_text=True)
    home = client.get(f"/t/{LINGLING}/").get_data(as_text=True)
    home_links = home.split('id="todo"')[1].split("</section>")[0]  # the to-do's own links, not the menu's
    assert (f'href="/t/{LINGLING}/rectifications"' in home_links) == ("整改台账" in MENUS[username]), username
    for path in set(re.findall(rf'href="(/t/{LINGLING}/(?:rectifications|imports))"', page)):
        assert client.get(path).status_code == 200, (username, path)
    assert (f'href="/t/{LINGLING}/rectifications"' in page) == ("整改台账" in MENUS[username])


@pytest.mark.parametrize("username", ["lingling_evaluator", "lingling_expert", "lingling_viewer"])
def test_roles_without_tokens_cannot_create_one_through_the_api(login, username):
    client = login(username)
    refused = client.post("/api/v1/auth/tokens", json={"name": "对接"})
    assert refused.status_code == 403
    assert "API 令牌" in refused.get_json()["error"]["message"]
    assert client.get("/api/v1/auth/tokens").get_json() == []


def test_a_unit_sees_its_own_jobs_not_the_bureau_s(login):
    finance, unit = login("lingling_finance"), login("lingling_dept")
    job = finance.post(f"/api/v1/tenants/{LINGLING}/statistics/report?year=2063")
    assert job.status_code == 202, job.get_json()
    job_id = job.get_json()["id"]
    assert job_id in [j["id"] for j in finance.get("/api/v1/jobs").get_json()]
    assert job_id not in [j["id"] for j in unit.get("/api/v1/jobs").get_json()]
    assert unit.get(f"/api/v1/jobs/{job_id}").status_code == 404
    assert finance.get(f"/api/v1/jobs/{job_id}").status_code == 200
