"""The long 项目清单: a list longer than the upload checks (``SPREADSHEET_IMPORT_REQUEST_ROWS``, 5,000; a few
dozen here) is identified and counted at the upload and checked row by row by its job, which then creates every
project in one transaction, or none and leaves the error report; the list's own limit
(``SPREADSHEET_MAX_IMPORT_ROWS``, 50,000) refuses a longer one naming it; creating takes the same statements for
few rows as for many; every project keeps its ``project.create`` audit event, the project as written.

The limits are configured small so the lists stay at seed size.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from jixiao.testing import unique
from tests.test_spreadsheets import (
    base,
    count_projects,
    finished_job,
    list_rows,
    ok,
    project_list,
    upload,
    workbook,
)

YEAR, OTHER_YEAR = 2050, 2051
TENANT = "431102"


@pytest.fixture
def finance(login):
    return login("lingling_finance")


@pytest.fixture
def long_lists(app, monkeypatch):
    """Lists of more than 20 rows are checked by their job, not at the upload."""
    monkeypatch.setitem(app.config, "SPREADSHEET_IMPORT_REQUEST_ROWS", 20)


def in_tenant(app, tenant_code: str):
    """A session in the tenant's own scope, as its users' requests and jobs have (never a system scope)."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with system_scope() as db:
        tenant = tenancy.get_by_code(db, tenant_code)
    return tenant, scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id))


def created_events(app, tenant_code: str, prefix: str, year: int) -> list[tuple[dict, dict]]:
    """Each listed project of ``prefix`` as read back (its audited fields) and its ``project.create`` event."""
    from jixiao.audit import snapshot
    from jixiao.audit.models import AuditEvent
    from jixiao.lifecycle.models import Project
    from jixiao.lifecycle.projects import PROJECT_FIELDS

    with app.app_context():
        tenant, scope = in_tenant(app, tenant_code)
        with scope as db:
            projects = list(db.scalars(sa.select(Project).where(
                Project.tenant_id == tenant.id, Project.year == year, Project.code.startswith(prefix))
                .order_by(Project.code)))
            events = {e.object_id: e for e in db.scalars(sa.select(AuditEvent).where(
                AuditEvent.action == "project.create", AuditEvent.object_type == "projects",
                AuditEvent.object_id.in_([str(p.id) for p in projects])))}
            found = []
            for project in projects:
                created = events[str(project.id)]
                assert (created.tenant_id, created.before) == (tenant.id, None)
                found.append((snapshot(project, PROJECT_FIELDS), created.after))
            return found


def test_a_list_longer_than_the_upload_checks_is_queued_and_its_job_creates_every_row(app, finance, long_lists):
    prefix = unique("LL")
    rows = list_rows(prefix, 30, YEAR)
    before = count_projects(app, TENANT, YEAR)

    body = ok(upload(finance, base(path="/imports/projects"), project_list(finance, TENANT, rows), "长清单.xlsx"), 202)
    assert body["rows"] == 30 and body["status"] == "queued"
    job = finished_job(app, finance, body["job"]["id"])
    assert job["status"] == "succeeded" and job["progress"] == 100, job
    assert (job["result"]["created"], job["result"]["rows"]) == (30, 30)
    assert count_projects(app, TENANT, YEAR) == before + 30

    # Each project has its project.create event: the project as it was written, field by field.
    events = created_events(app, TENANT, prefix, YEAR)
    assert len(events) == 30
    for written, audited in events:
        assert audited == written
    listed = ok(finance.get(base(path=f"/projects?year={YEAR}&q={prefix}0007")))["items"][0]
    assert listed["requested_amount"] == f"{Decimal(str(rows[7][6])) * 10000:.2f}"  # typed in 万元, kept in yuan
    assert listed["department"]["code"] == "102"


def test_one_bad_row_in_a_long_list_fails_the_job_writes_nothing_and_leaves_the_report(app, finance, long_lists,
                                                                                    monkeypatch):
    from jixiao.spreadsheets import xlsx

    prefix = unique("LB")
    rows = list_rows(prefix, 40, YEAR)
    rows[30 - 4][5] = "999"  # sheet row 30: a department the bureau does not have
    before = count_projects(app, TENANT, YEAR)

    # The upload only counts the rows of a long list: it is the job that finds the bad one.
    body = ok(upload(finance, base(path="/imports/projects"), project_list(finance, TENANT, rows), "坏清单.xlsx"), 202)
    job = finished_job(app, finance, body["job"]["id"])
    assert job["status"] == "failed" and job["result"]["status"] == "rejected", job
    assert job["result"]["error_count"] == 1
    assert job["result"]["rows"] == [{"row": 30, "column": "主管部门编码", "message": "本级没有编码为 999 的部门"}]
    assert "第 30 行" in job["error"]
    assert count_projects(app, TENANT, YEAR) == before
    report = workbook(finance.get(job["result"]["report_url"])).active
    assert list(report.iter_rows(min_row=2, values_only=True)) == [(30, "主管部门编码", "本级没有编码为 999 的部门")]

    # A list where every row is bad: every problem counted, the report keeps the first ones only.
    monkeypatch.setattr(xlsx, "KEPT_ERRORS", 5)
    bad = list_rows(unique("LX"), 25, YEAR)
    for row in bad:
        row[6] = -1
    body = ok(upload(finance, base(path="/imports/projects"), project_list(finance, TENANT, bad), "全错.xlsx"), 202)
    job = finished_job(app, finance, body["job"]["id"])
    assert job["result"]["error_count"] == 25 and len(job["result"]["rows"]) == 5
    assert "等 25 处问题" in job["error"]
    report = workbook(finance.get(job["result"]["report_url"]))
    assert len(list(report["错误报告"].iter_rows(min_row=2))) == 5
    assert dict(report["说明"].iter_rows(values_only=True))["问题数"] == "25（本报告列出前 5 处）"
    assert count_projects(app, TENANT, YEAR) == before


def test_the_project_list_limit_refuses_a_longer_list_and_names_the_limit(app, finance, monkeypatch, login):
    monkeypatch.setitem(app.config, "SPREADSHEET_MAX_IMPORT_ROWS", 25)
    monkeypatch.setitem(app.config, "SPREADSHEET_IMPORT_REQUEST_ROWS", 20)
    before = count_projects(app, TENANT, OTHER_YEAR)
    refused = upload(finance, base(path="/imports/projects"),
                     project_list(finance, TENANT, list_rows(unique("LM"), 26, OTHER_YEAR)))
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["fields"]["rows"] == [{"row": 29, "column": "", "message": "行数超过上限：一次最多导入 25 个项目，请分批导入"}]
    assert "一次最多导入 25 个项目" in error["message"]
    assert count_projects(app, TENANT, OTHER_YEAR) == before
    # The limit itself is allowed, and the page states the limits in force.
    accepted = ok(upload(finance, base(path="/imports/projects"),
                         project_list(finance, TENANT, list_rows(unique("LM"), 25, OTHER_YEAR))), 202)
    assert finished_job(app, finance, accepted["job"]["id"])["status"] == "succeeded"
    monkeypatch.undo()
    page = finance.get(f"/t/{TENANT}/imports").get_data(as_text=True)
    assert "一次最多 50000 行" in page and "不超过 5000 行的清单在上传时即校验全部行" in page


def test_creating_projects_takes_the_same_statements_for_few_rows_as_for_many(app, finance):
    from jixiao.accounts.models import User
    from jixiao.spreadsheets import bulk, importer

    def create(rows: int) -> tuple[int, int]:
        data = project_list(finance, TENANT, list_rows(unique("LS"), rows, OTHER_YEAR))
        with app.app_context():
            tenant, scope = in_tenant(app, TENANT)
            with scope as db:
                user = db.scalar(sa.select(User).where(User.username == "lingling_finance"))
                tenant = db.merge(tenant, load=False)
                checked = importer.check_project_list(db, user, tenant, data, "清单.xlsx")
                assert not checked.errors and checked.count == rows
                statements: list[str] = []
                engine = app.extensions["jixiao.db"].engine
                listener = lambda *args: statements.append(args[2])  # noqa: E731
                event.listen(engine, "before_cursor_execute", listener)
                try:
                    created = bulk.create_projects(db, user, tenant, checked.rows, total=checked.count)
                finally:
                    event.remove(engine, "before_cursor_execute", listener)
                return created.count, len(statements)

    few, many = create(3), create(40)
    assert few[0] == 3 and many[0] == 40
    assert many[1] == few[1]
