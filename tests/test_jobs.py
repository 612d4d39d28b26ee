"""Background jobs: a real `jixiao worker` on real Redis, the embedded mode, recovery, isolation, scans."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from jixiao.testing import api_login
from tests.test_audit_and_api import make_app_like

JIXIAO = str(Path(sys.executable).parent / "jixiao")


def wait_for(predicate, timeout: float = 60, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting")


@pytest.fixture
def redis_app(app):
    url = os.environ.get("JIXIAO_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the job tests against Redis (JIXIAO_TEST_REDIS_URL)")
        pytest.skip("no JIXIAO_TEST_REDIS_URL: CI runs these against a real Redis and a real worker")
    from redis import Redis

    Redis.from_url(url).flushdb()
    return make_app_like(app, REDIS_URL=url, JOB_RETRY_INTERVALS=[0, 0, 0])


class Worker:
    """A real `jixiao worker` process on the test's database and Redis."""

    def __init__(self, app) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
        env.update(JIXIAO_DATABASE_URL=app.config["DATABASE_URL"], JIXIAO_REDIS_URL=app.config["REDIS_URL"],
                   JIXIAO_SECRET_KEY=app.config["SECRET_KEY"], JIXIAO_INSTANCE_PATH=app.config["INSTANCE_PATH"],
                   JIXIAO_JOB_RETRY_INTERVALS="0,0,0")
        self.log = open(Path(app.config["INSTANCE_PATH"]) / f"worker-{time.monotonic_ns()}.log", "w+")  # noqa: SIM115 - outlives this call
        self.process = subprocess.Popen([JIXIAO, "worker", "--queues", "interactive"], env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL the worker and its work-horse: nothing gets to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.seek(0)
        output = self.log.read()
        self.log.close()
        return output


def running_pids(app, job_id) -> list[int]:
    from jixiao.db import TenantScope, scoped
    from jixiao.jobs.models import Job

    with app.app_context():
        from jixiao.tenancy.service import get_by_code

        with scoped(TenantScope(system=True)) as db:
            lingling = get_by_code(db, "431102").id
        with scoped(TenantScope(read_ids=(lingling,))) as db:
            worker = db.get(Job, job_id).worker
    return [int(p) for p in worker.split(":")[1:] if p.isdigit()]


def job_of(admin, job_id):
    return admin.get(f"/api/v1/jobs/{job_id}").get_json()


def test_a_worker_runs_a_job_with_progress_to_the_end(redis_app):
    admin = api_login(redis_app, "lingling_admin")
    asked = admin.post("/api/v1/jobs", json={"kind": "system.selfcheck", "args": {"steps": 5, "sleep": 0.4}})
    assert asked.status_code == 202, asked.get_json()
    job_id = asked.get_json()["id"]
    assert asked.get_json()["status"] == "queued"
    worker = Worker(redis_app)
    try:
        seen = set()

        def finished():
            body = job_of(admin, job_id)
            seen.add(body["progress"])
            return body if body["status"] == "succeeded" else None

        body = wait_for(finished, timeout=60)
    finally:
        log = worker.stop()
    assert body["progress"] == 100 and body["result"] == {"steps": 5, "attempts": 1}, log
    assert seen & {20, 40, 60, 80}, f"no intermediate progress seen: {seen}"


def test_a_job_that_fails_twice_is_retried_then_succeeds(redis_app):
    admin = api_login(redis_app, "lingling_admin")
    job_id = admin.post("/api/v1/jobs", json={"kind": "system.selfcheck",
                                              "args": {"steps": 2, "fail_times": 2}}).get_json()["id"]
    worker = Worker(redis_app)
    try:
        body = wait_for(lambda: (b := job_of(admin, job_id))["status"] in ("succeeded", "failed") and b, timeout=60)
    finally:
        log = worker.stop()
    assert body["status"] == "succeeded", (body, log)
    assert body["attempts"] == 3 and body["result"]["attempts"] == 3


def test_a_worker_killed_mid_job_leaves_it_retried(redis_app):
    admin = api_login(redis_app, "lingling_admin")
    job_id = admin.post("/api/v1/jobs", json={"kind": "system.selfcheck",
                                              "args": {"steps": 10, "sleep": 0.5}}).get_json()["id"]
    first = Worker(redis_app)
    wait_for(lambda: job_of(admin, job_id)["progress"] >= 10, timeout=60)
    first.kill()
    # RQ's work-horse runs in a session of its own: kill the process that is running the job as well.
    for pid in running_pids(redis_app, job_id):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    assert job_of(admin, job_id)["status"] == "running"  # what a dead worker leaves behind
    second = Worker(redis_app)  # a new worker recovers abandoned jobs when it starts
    try:
        body = wait_for(lambda: (b := job_of(admin, job_id))["status"] in ("succeeded", "failed") and b, timeout=90)
    finally:
        log = second.stop()
    assert body["status"] == "succeeded", (body, log)
    assert body["attempts"] == 2


def test_a_dead_worker_on_the_last_attempt_fails_the_job_with_a_reason(app):
    from jixiao.db import TenantScope, scoped
    from jixiao.jobs import service
    from jixiao.jobs.models import Job, JobStatus

    embedded = make_app_like(app, REDIS_URL=None)
    with embedded.app_context():
        from jixiao.tenancy.service import get_by_code

        with scoped(TenantScope(system=True)) as db:
            tenant = get_by_code(db, "431102")
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            job = Job(tenant_id=tenant.id, kind="system.selfcheck", queue="interactive", args={},
                      status=JobStatus.RUNNING, attempts=3, max_attempts=3, worker=f"{os.uname().nodename}:999999:999998")
            db.add(job)
            db.commit()
            job_id = job.id
        assert job_id in service.recover_abandoned()
        with scoped(TenantScope(read_ids=(tenant.id,))) as db:
            job = db.get(Job, job_id)
            db.refresh(job)
            assert job.status is JobStatus.FAILED and "意外退出" in job.error


def test_embedded_mode_runs_the_same_job_code_in_process(app):
    embedded = make_app_like(app, REDIS_URL=None)
    admin = api_login(embedded, "lingling_admin")
    body = admin.post("/api/v1/jobs", json={"kind": "system.selfcheck", "args": {"steps": 3, "fail_times": 1}}).get_json()
    assert body["status"] == "succeeded" and body["progress"] == 100
    assert body["attempts"] == 2 and body["result"] == {"steps": 3, "attempts": 2}


def test_redis_down_answers_503_and_pages_still_work(app):
    broken = make_app_like(app, REDIS_URL="redis://127.0.0.1:1/0")
    admin = api_login(broken, "lingling_admin")
    response = admin.post("/api/v1/jobs", json={"kind": "system.selfcheck"})
    assert response.status_code == 503
    assert "Redis" in response.get_json()["error"]["message"]
    assert admin.get("/t/431102/").status_code == 200


def test_jobs_and_notifications_of_another_tenant_do_not_exist(app):
    embedded = make_app_like(app, REDIS_URL=None)
    lingling = api_login(embedded, "lingling_admin")
    job_id = lingling.post("/api/v1/jobs", json={"kind": "system.selfcheck", "args": {"steps": 1}}).get_json()["id"]
    heshan = api_login(embedded, "heshan_finance")
    assert heshan.get(f"/api/v1/jobs/{job_id}").status_code == 404
    assert job_id not in [j["id"] for j in heshan.get("/api/v1/jobs").get_json()]
    assert lingling.get(f"/api/v1/jobs/{job_id}").status_code == 200
    # Notifications: the daily scan writes some for Lingling's finance staff; nobody else sees them.
    from jixiao.cli import main

    assert embedded.test_cli_runner().invoke(main, ["jobs", "run", "scan.daily"]).exit_code == 0
    finance = api_login(embedded, "lingling_finance")
    mine = finance.get("/api/v1/notifications").get_json()
    assert mine["unread"] > 0 and mine["items"]
    other = mine["items"][0]["id"]
    assert lingling.post(f"/api/v1/notifications/{other}/read").status_code == 404
    assert heshan.post(f"/api/v1/notifications/{other}/read").status_code == 404
    assert other not in [n["id"] for n in heshan.get("/api/v1/notifications").get_json()["items"]]


def test_the_daily_scan_is_idempotent_and_suspends_late_answers(app):
    from jixiao.cli import main
    from jixiao.db import TenantScope, scoped
    from jixiao.jobs.models import Notification
    from jixiao.lifecycle.models import MonitoringReport, Project
    from jixiao.lifecycle.rectification import today

    embedded = make_app_like(app, REDIS_URL=None)
    with embedded.app_context():
        from jixiao.tenancy.service import get_by_code

        with scoped(TenantScope(system=True)) as db:
            tenant = get_by_code(db, "430903")
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            report = db.scalars(sa.select(MonitoringReport).join(MonitoringReport.project)
                                .where(Project.payment_suspended.is_(False)).limit(1)).one()
            report.warnings = [{"code": "test", "message": "测试预警", "response_days": 10}]
            report.response_due = today().replace(day=1) if today().day > 1 else today().replace(year=today().year - 1)
            db.commit()
            report_id, project_id = report.id, report.project_id
    runner = embedded.test_cli_runner()
    assert runner.invoke(main, ["jobs", "run", "scan.daily"]).exit_code == 0
    with embedded.app_context(), scoped(TenantScope(read_ids=(tenant.id,))) as db:
        project = db.get(Project, project_id)
        assert project.payment_suspended and "未在" in project.suspension_reason
        count = db.scalar(sa.select(sa.func.count(Notification.id)).where(Notification.tenant_id == tenant.id))
    assert runner.invoke(main, ["jobs", "run", "scan.daily"]).exit_code == 0
    with embedded.app_context(), scoped(TenantScope(read_ids=(tenant.id,))) as db:
        again = db.scalar(sa.select(sa.func.count(Notification.id)).where(Notification.tenant_id == tenant.id))
    assert again == count and report_id


def test_the_bell_shows_the_unread_count_on_every_page(app):
    from jixiao.cli import main
    from tests.test_pages import page_login

    embedded = make_app_like(app, REDIS_URL=None)
    assert embedded.test_cli_runner().invoke(main, ["jobs", "run", "scan.daily"]).exit_code == 0
    client = embedded.test_client()
    page_login(client, "lingling_finance")
    unread = api_login(embedded, "lingling_finance").get("/api/v1/notifications").get_json()["unread"]
    assert unread > 0
    for path in ("/t/431102/", "/t/431102/projects", "/notifications"):
        html = client.get(path).get_data(as_text=True)
        assert f'<span class="badge" id="unread-count">{unread}</span>' in html, path


def test_the_schedule_is_data_naming_real_scans_with_valid_cron_expressions(app):
    from croniter import croniter

    from jixiao.jobs.service import kinds, schedules

    with app.app_context():
        scheduled, known = schedules(), kinds()
    assert {schedule.kind for schedule in scheduled} == {"scan.monitoring_reminders", "scan.daily",
                                                         "scan.assessment_deadlines"}
    for schedule in scheduled:
        assert known[schedule.kind].queue == "scheduled"
        assert croniter.is_valid(schedule.cron) and schedule.purpose


def test_the_monthly_reminder_tells_units_what_they_owe(app):
    from datetime import date

    from jixiao.cli import main
    from jixiao.testing import unique
    from tests.test_lifecycle_api import INDICATORS

    if date.today().month == 1:
        pytest.skip("in January no month of this year is due yet")
    embedded = make_app_like(app, REDIS_URL=None)
    finance = api_login(embedded, "lingling_finance")
    base = "/api/v1/tenants/431102/projects"
    project = finance.post(base, json={"code": unique("R"), "name": "提醒项目", "year": date.today().year,
                                       "kind": "department_whole", "fund_type": "general_public",
                                       "department_code": "101", "requested_amount": "1000"}).get_json()
    finance.put(f"{base}/{project['id']}/targets", json={"overall_target": "保障运转", "indicators": INDICATORS})
    finance.post(f"{base}/{project['id']}/targets/submit")
    assert finance.post(f"{base}/{project['id']}/targets/review", json={"decision": "approve"}).status_code == 200
    version = finance.get(f"{base}/{project['id']}").get_json()["version"]
    assert finance.post(f"{base}/{project['id']}/budget", json={"approved_amount": "1000", "version": version}).status_code == 200
    result = embedded.test_cli_runner().invoke(main, ["jobs", "run", "scan.monitoring_reminders"])
    assert result.exit_code == 0 and "succeeded" in result.output, result.output
    unit = api_login(embedded, "lingling_dept").get("/api/v1/notifications").get_json()["items"]
    mine = [n for n in unit if n["kind"] == "monitoring_due" and "提醒项目" in n["title"]]
    assert mine and mine[0]["url"].endswith(f"/projects/{project['id']}#monitoring")


def test_a_zombie_work_horse_counts_as_dead():
    """A killed work-horse whose worker died too stays a zombie until PID 1 reaps it — in a container that may
    take a while, and the new worker's recovery used to count it alive and leave its job running for ever."""
    from jixiao.jobs.service import process_alive

    child = subprocess.Popen(["true"])
    try:
        stat = Path(f"/proc/{child.pid}/stat")
        wait_for(lambda: stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z", timeout=10)
        assert not process_alive(child.pid)
    finally:
        child.wait()
    assert process_alive(os.getpid())
    assert not process_alive(child.pid)
