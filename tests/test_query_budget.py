"""List endpoints run a bounded number of SQL statements, whatever the number of rows."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

from jixiao.testing import api_login

FEW_YEAR, MANY_YEAR = 2038, 2037


@contextlib.contextmanager
def count_statements(app):
    engine = app.extensions["jixiao.db"].engine
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture(scope="module")
def many_projects(jixiao_app):
    """One year with every stage once (8 projects) and one with every stage three times (24)."""
    from jixiao.lifecycle import demo_data

    with jixiao_app.app_context():
        demo_data.generate("431102", FEW_YEAR, 8, finance_username="lingling_finance", monitoring_month=10)
        demo_data.generate("431102", MANY_YEAR, 24, finance_username="lingling_finance", monitoring_month=10)
    return MANY_YEAR


@pytest.mark.parametrize("username", ["lingling_finance", "lingling_dept", "lingling_auditor", "yongzhou_finance"])
@pytest.mark.parametrize("path", [
    "/api/v1/tenants/431102/projects?year={year}",
    "/api/v1/tenants/431102/projects?year={year}&light=red",
    "/api/v1/tenants/431102/evaluations?year={year}",
    "/api/v1/tenants/431102/rectifications?year={year}",
    "/api/v1/tenants/431102/statistics?year={year}",
])
def test_statement_count_does_not_grow_with_rows(app, many_projects, username, path):
    if "statistics" in path and username == "lingling_dept":
        pytest.skip("department staff are refused the bureau's statistics (403: tests/test_role_visibility.py)")
    user = api_login(app, username)
    user.get(path.format(year=FEW_YEAR))  # warm caches that are per process, not per row
    with count_statements(app) as few:
        few_response = user.get(path.format(year=FEW_YEAR))
        assert few_response.status_code == 200
    with count_statements(app) as full:
        response = user.get(path.format(year=many_projects))
        assert response.status_code == 200
    body = response.get_json()
    rows = body["items"] if isinstance(body, dict) and "items" in body else body
    if "statistics" not in path and "light" not in path and username != "lingling_dept":
        assert rows, "the full year should have rows"
    few_body = few_response.get_json()
    few_rows = few_body["items"] if isinstance(few_body, dict) and "items" in few_body else few_body
    # An eager load of a relationship runs once when there are rows, and not at all when there are none.
    allowance = 1 if rows and not few_rows else 0
    assert len(few) <= len(full) <= len(few) + allowance, (len(few), len(full), full)
    assert len(full) <= 20


def test_to_do_list_is_bounded(app, many_projects):
    user = api_login(app, "lingling_finance")
    user.get("/api/v1/tenants/431102/todo")
    with count_statements(app) as statements:
        assert user.get("/api/v1/tenants/431102/todo").status_code == 200
    assert len(statements) <= 15


@pytest.mark.parametrize("path", [
    "/projects/{pid}", "/projects/{pid}/targets", "/projects/{pid}/monitoring", "/projects/{pid}/evaluations",
    "/projects/{pid}/results", "/projects/{pid}/result-chain", "/projects/{pid}/rectifications",
])
def test_a_project_s_reads_do_not_grow_with_the_tenant(app, many_projects, path):
    """The same project stage in the small year and the year three times its size: the same statements."""
    user = api_login(app, "lingling_finance")
    counts = []
    for year in (FEW_YEAR, many_projects):
        listed = user.get(f"/api/v1/tenants/431102/projects?year={year}&stage=closed").get_json()["items"]
        assert listed, year
        url = "/api/v1/tenants/431102" + path.format(pid=listed[0]["id"])
        user.get(url)
        with count_statements(app) as statements:
            assert user.get(url).status_code == 200, url
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 20, counts


@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/notifications", "/api/v1/tenants/431102/agencies",
                                  "/api/v1/tenants/431102/evaluations/sample"])
def test_other_lists_are_bounded(app, many_projects, path):
    user = api_login(app, "lingling_finance")
    user.get(path)
    with count_statements(app) as statements:
        assert user.get(path).status_code == 200, path
    assert len(statements) <= 15, (len(statements), statements)


def test_a_request_naming_the_user_s_own_bureau_does_not_look_it_up_again(app, many_projects):
    """The user's bureau is loaded with the user; a URL naming it (most requests) needs no second statement to find
    it, and one naming a bureau below still does."""
    user = api_login(app, "yongzhou_finance")
    lookups = []
    for code in ("431100", "431102"):
        user.get(f"/api/v1/tenants/{code}/projects?year={FEW_YEAR}")
        with count_statements(app) as statements:
            assert user.get(f"/api/v1/tenants/{code}/projects?year={FEW_YEAR}").status_code == 200
        lookups.append([s for s in statements if "FROM tenants" in s and "tenants.code =" in s])
    own, below = lookups
    assert own == [] and len(below) == 1, lookups


@pytest.mark.parametrize("path", ["/public/431102/?year={year}", "/api/v1/public/431102/targets?year={year}",
                                  "/api/v1/public/431102/evaluations?year={year}"])
def test_the_public_pages_do_not_grow_with_what_is_published(app, many_projects, path):
    """Before: each published target and evaluation loaded its project, and each project its department, one
    statement at a time (46 statements for a county's 34 targets and 6 evaluations)."""
    client = app.test_client()
    counts, sizes = [], []
    for year in (FEW_YEAR, many_projects):
        client.get(path.format(year=year))
        with count_statements(app) as statements:
            response = client.get(path.format(year=year))
        assert response.status_code == 200
        counts.append(len(statements))
        sizes.append(len(response.get_data()))
    assert sizes[1] > sizes[0], sizes  # the larger year publishes more
    assert counts[0] == counts[1] <= 8, counts


def test_an_export_reads_the_list_in_the_same_statements_whatever_its_length(app, many_projects, monkeypatch):
    """The projects export read the list page by page (OFFSET), each page making the database work out the
    latest light and grade of every row it skipped; it now counts once and streams one read, whatever the
    number of rows (the chunk it fetches by made smaller than both years here)."""
    import sqlalchemy as sa

    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.spreadsheets import export
    from jixiao.tenancy import service as tenancy

    monkeypatch.setattr(export, "PAGE", 5)
    counted = {}
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, "431102")
            ids = tuple(tenancy.subtree_ids(db, tenant))
        scope = TenantScope(read_ids=ids, write_id=tenant.id)
        for year in (FEW_YEAR, MANY_YEAR):
            with scoped(scope) as db:
                finance = db.scalar(sa.select(User).where(User.username == "lingling_finance"))
                here = tenancy.get_by_code(db, "431102")
                with count_statements(app) as statements:
                    _name, data = export.export_projects(db, finance, here, {"year": year})
                db.rollback()
            counted[year] = len([s for s in statements if "FROM projects" in s])
            assert data
    assert counted[FEW_YEAR] == counted[MANY_YEAR] == 2, counted


def test_the_list_page_counts_stages_and_lights_in_one_statement_as_the_list_shows_them(app, many_projects):
    """The project list page's charts (projects per stage, per latest light) come from one statement, and agree
    with the list itself: each project counted once by its stage, and by its latest light when it has one."""
    from collections import Counter

    import sqlalchemy as sa

    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle import projects
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, "431102")
            ids = tuple(tenancy.subtree_ids(db, tenant))
        with scoped(TenantScope(read_ids=ids, write_id=tenant.id)) as db:
            here = tenancy.get_by_code(db, "431102")
            finance = db.scalar(sa.select(User).where(User.username == "lingling_finance"))
            with count_statements(app) as statements:
                by_stage, by_light = projects.counts(db, finance, here, MANY_YEAR)
            rows, total = projects.list_projects(db, finance, here, projects.ProjectFilters(year=MANY_YEAR), 1, 500)
            listed = [(str(row.project.stage), row.light) for row in rows]
            db.rollback()
    assert len(statements) == 1, statements
    assert total == len(listed) == sum(by_stage.values())
    assert by_stage == dict(Counter(stage for stage, _light in listed))
    assert by_light == dict(Counter(light for _stage, light in listed if light))
    assert by_light  # the year has monitored projects
