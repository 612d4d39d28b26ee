"""What each role sees (jixiao.policy): staff lists, departments, bureau-wide figures and sample draws are refused
the same way by the API and the pages, and the menus hide what a role cannot open.

The demo users of Lingling (431102) hold one role each; Yongzhou (431100) and Hunan (430000) are upper levels.
"""

from __future__ import annotations

import re

import pytest

CODE = "431102"
ROLES = {
    "admin": "lingling_admin",
    "finance": "lingling_finance",
    "department": "lingling_dept",
    "evaluator": "lingling_evaluator",
    "expert": "lingling_expert",
    "auditor": "lingling_auditor",
    "viewer": "lingling_viewer",
}
# The demo department of lingling_dept (教育局) and the units under it.
OWN_DEPARTMENTS = ["101", "101001", "101002"]


def api(path: str, code: str = CODE) -> str:
    return f"/api/v1/tenants/{code}{path}"


def page(path: str, code: str = CODE) -> str:
    return f"/t/{code}{path}"


def expected_statuses(allowed: set[str]) -> list[tuple[str, int]]:
    return [(role, 200 if role in allowed else 403) for role in ROLES]


def user_id_of(login, username: str) -> int:
    listed = login("lingling_admin").get(api("/users")).get_json()
    return next(u["id"] for u in listed if u["username"] == username)


def department_id_of(login, code: str) -> int:
    listed = login("lingling_admin").get(api("/departments")).get_json()
    return next(d["id"] for d in listed if d["code"] == code)


# ---- Staff lists: administrators only ------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), expected_statuses({"admin"}))
def test_the_users_list_and_a_users_details_are_for_administrators(login, role, status):
    client = login(ROLES[role])
    finance_id = user_id_of(login, "lingling_finance")
    for url in (api("/users"), api(f"/users/{finance_id}"), page("/users"), page(f"/users/{finance_id}")):
        response = client.get(url)
        assert response.status_code == status, (role, url)
    if status == 403:
        assert client.get(api("/users")).get_json()["error"]["code"] == "forbidden"
        assert "last_login_at" not in client.get(api("/users")).get_data(as_text=True)
        # Whether or not the id exists, the answer is the same refusal.
        assert client.get(api("/users/2147483000")).status_code == 403


def test_an_upper_levels_administrator_reads_a_subordinates_staff_but_not_another_branchs(login):
    assert login("hunan_admin").get(api("/users")).status_code == 200
    assert login("hengyang_admin").get(api("/users")).status_code == 404  # a sibling branch does not exist
    assert login("yongzhou_finance").get(api("/users")).status_code == 403


# ---- Departments: administrators and finance; department staff their own ------------------------------------


@pytest.mark.parametrize(("role", "status"), expected_statuses({"admin", "finance", "department"}))
def test_the_departments_list_is_refused_to_roles_that_assign_nothing(login, role, status):
    client = login(ROLES[role])
    assert client.get(api("/departments")).status_code == status
    assert client.get(page("/departments")).status_code == status


@pytest.mark.parametrize("role", ["admin", "finance"])
def test_administrators_and_finance_see_every_department(login, role):
    codes = [d["code"] for d in login(ROLES[role]).get(api("/departments")).get_json()]
    assert {"101", "102", "103", "104", "105"} <= set(codes)


def test_department_staff_see_their_own_department_and_its_units_only(login):
    client = login("lingling_dept")
    codes = sorted(d["code"] for d in client.get(api("/departments")).get_json())
    assert codes == OWN_DEPARTMENTS
    html = client.get(page("/departments")).get_data(as_text=True)
    assert "教育局" in html and "卫生健康局" not in html
    own, other = department_id_of(login, "101"), department_id_of(login, "102")
    assert client.get(api(f"/departments/{own}")).status_code == 200
    assert client.get(page(f"/departments/{own}")).status_code == 200
    assert client.get(api(f"/departments/{other}")).status_code == 404
    assert client.get(page(f"/departments/{other}")).status_code == 404


# ---- Bureau-wide figures: finance, administrators, auditors and viewers ------------------------------------


FIGURES = {"admin", "finance", "auditor", "viewer"}


@pytest.mark.parametrize(("role", "status"), expected_statuses(FIGURES))
def test_statistics_are_for_those_who_supervise_the_bureau(login, role, status):
    client = login(ROLES[role])
    for url in (api("/statistics"), api("/statistics?scope=all"), page("/statistics"), page("/statistics?scope=all")):
        assert client.get(url).status_code == status, (role, url)


@pytest.mark.parametrize(("role", "status"), expected_statuses(FIGURES))
def test_the_statistics_spreadsheet_follows_the_statistics_rule(login, role, status):
    client = login(ROLES[role])
    assert client.get(api("/exports/statistics")).status_code == status
    assert client.get(page("/exports/statistics")).status_code == status


@pytest.mark.parametrize(("role", "allowed"), [(role, role in FIGURES) for role in ROLES])
def test_the_league_table_is_for_those_who_supervise_the_bureau(login, role, allowed):
    client = login(ROLES[role])
    for url in (api("/statistics/league"), page("/statistics/league")):
        status = client.get(url).status_code
        assert (status == 403) is (not allowed), (role, url, status)


# ---- Sample draws: finance only -----------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), expected_statuses({"finance"}))
def test_sample_draws_and_their_populations_are_for_finance(login, role, status):
    response = login(ROLES[role]).get(api("/evaluations/sample"))
    assert response.status_code == status
    if status == 200:
        assert all("population_ids" in draw for draw in response.get_json())


def test_an_upper_levels_finance_reads_a_subordinates_samples_but_does_not_draw_them(login):
    city = login("yongzhou_finance")
    assert city.get(api("/evaluations/sample")).status_code == 200
    assert city.post(api("/evaluations/sample"), json={"year": 2026}).status_code == 403


# ---- Menus hide what a role cannot open ---------------------------------------------------------------------


NAV = {"statistics": "/statistics\"", "departments": "/departments\"", "users": "/users\""}


@pytest.mark.parametrize("role", list(ROLES))
def test_the_menu_shows_exactly_what_the_role_can_open(login, role):
    client = login(ROLES[role])
    html = client.get(page("/")).get_data(as_text=True)
    nav = re.search(r"<nav>(.*?)</nav>", html, re.S).group(1)
    for entry, href in NAV.items():
        shown = f'href="/t/{CODE}{href}' in nav
        opens = client.get(page("/" + entry)).status_code == 200
        assert shown is opens, (role, entry)
    # The home page's own link to the statistics follows the same rule.
    body = html.split("</nav>", 1)[1]
    assert (f'href="/t/{CODE}/statistics"' in body) is (role in FIGURES), role
