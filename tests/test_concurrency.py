"""Concurrent writes, for real: 20 threads, each with its own logged-in client, sending at the same moment.

Whatever the race, one request wins and the others answer 409 — never a 500, never a silently replaced
write, never a second row or a second audit row. PostgreSQL only: SQLite serialises writers on its file lock
(and answers "database is locked"), so the races measured here do not arise there.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from jixiao.testing import api_login, unique

YEAR = 2026
THREADS = 20
INDICATORS = [
    {"level1": "产出", "level2": "数量指标", "name": "培训教师人次", "direction": "ge", "target_value": "1000",
     "unit": "人次", "weight": "50"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益学生人数", "direction": "ge", "target_value": "5000",
     "unit": "人", "weight": "30"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "参训教师满意度", "direction": "ge",
     "target_value": "90", "unit": "%", "weight": "10"},
]


@pytest.fixture(autouse=True)
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("concurrent writers race on PostgreSQL; SQLite serialises them on its file lock")


def url(path: str = "") -> str:
    return f"/api/v1/tenants/431102{path}"


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def at_once(clients: list[Any], send: Callable[[Any], Any]) -> Counter:
    """Send one request per client, all released together; the statuses counted."""
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    lock = threading.Lock()

    def run(client: Any) -> None:
        barrier.wait()
        status = send(client).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(statuses)


@pytest.fixture
def finances(app) -> list[Any]:
    return [api_login(app, "lingling_finance") for _ in range(THREADS)]


@pytest.fixture
def units(app) -> list[Any]:
    return [api_login(app, "lingling_dept") for _ in range(THREADS)]


def approved_targets(unit, finance, requested: str = "400000") -> int:
    pid = ok(unit.post(url("/projects"), json={
        "code": unique("CC"), "name": "并发项目", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "is_new": False, "requested_amount": requested}), 201)["id"]
    ok(unit.put(url(f"/projects/{pid}/targets"), json={"overall_target": "按期完成。", "indicators": INDICATORS}))
    ok(unit.post(url(f"/projects/{pid}/targets/submit")))
    ok(finance.post(url(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    return pid


def budgeted(unit, finance) -> int:
    pid = approved_targets(unit, finance)
    version = ok(finance.get(url(f"/projects/{pid}")))["version"]
    ok(finance.post(url(f"/projects/{pid}/budget"), json={"approved_amount": "400000", "version": version}))
    return pid


def history(client, pid: int, action: str) -> int:
    return sum(1 for row in ok(client.get(url(f"/projects/{pid}/history"))) if row["action"] == action)


def test_concurrent_budget_approvals_with_one_version_leave_one(units, finances):
    pid = approved_targets(units[0], finances[0])
    version = ok(finances[0].get(url(f"/projects/{pid}")))["version"]
    statuses = at_once(finances, lambda c: c.post(url(f"/projects/{pid}/budget"), json={
        "approved_amount": "350000", "version": version}))
    assert statuses == Counter({200: 1, 409: THREADS - 1})
    project = ok(finances[0].get(url(f"/projects/{pid}")))
    assert (project["version"], project["approved_amount"]) == (version + 1, "350000.00")
    assert history(finances[0], pid, "budget.approve") == 1


def test_concurrent_reports_for_a_new_month_create_one(units, finances):
    pid = budgeted(units[0], finances[0])
    statuses = at_once(units, lambda c: c.post(url(f"/projects/{pid}/monitoring"), json={
        "period": 6, "executed_amount": "200000", "values": []}))
    assert statuses == Counter({201: 1, 409: THREADS - 1})
    reports = ok(units[0].get(url(f"/projects/{pid}/monitoring")))["reports"]
    assert [r["period"] for r in reports] == [6]
    assert history(units[0], pid, "monitoring.submit") == 1


def test_concurrent_corrections_with_one_version_leave_one(units, finances):
    pid = budgeted(units[0], finances[0])
    first = ok(units[0].post(url(f"/projects/{pid}/monitoring"), json={
        "period": 6, "executed_amount": "200000", "values": []}), 201)
    statuses = at_once(units, lambda c: c.post(url(f"/projects/{pid}/monitoring"), json={
        "period": 6, "executed_amount": "210000", "values": [], "version": first["version"]}))
    assert statuses == Counter({201: 1, 409: THREADS - 1})
    (report,) = ok(units[0].get(url(f"/projects/{pid}/monitoring")))["reports"]
    assert (report["version"], report["executed_amount"]) == (first["version"] + 1, "210000.00")


def test_concurrent_payment_suspensions_write_one_audit_row(units, finances):
    pid = budgeted(units[0], finances[0])
    version = ok(finances[0].get(url(f"/projects/{pid}")))["version"]
    statuses = at_once(finances, lambda c: c.post(url(f"/projects/{pid}/payment"), json={
        "suspended": True, "reason": "执行严重滞后", "version": version}))
    assert statuses == Counter({200: 1, 409: THREADS - 1})
    assert history(finances[0], pid, "payment.suspend") == 1


def test_concurrent_self_evaluation_openings_create_one(units, finances):
    pid = budgeted(units[0], finances[0])
    statuses = at_once(units, lambda c: c.post(url(f"/projects/{pid}/evaluations"), json={"kind": "self"}))
    assert statuses == Counter({201: 1, 409: THREADS - 1})
    evaluations = ok(units[0].get(url(f"/projects/{pid}/evaluations")))
    assert [e["kind"] for e in evaluations] == ["self"]


def test_concurrent_project_creates_with_one_code_create_one(units):
    body = {"code": unique("RACE"), "name": "并发申报", "year": YEAR, "kind": "project",
            "fund_type": "general_public", "is_new": False, "requested_amount": "1000"}
    statuses = at_once(units, lambda c: c.post(url("/projects"), json=body))
    assert statuses == Counter({201: 1, 409: THREADS - 1})
    listed = ok(units[0].get(url(f"/projects?q={body['code']}")))["items"]
    assert len(listed) == 1


def test_concurrent_retries_with_one_idempotency_key_create_one(units):
    body = {"code": unique("IKR"), "name": "并发重试", "year": YEAR, "kind": "project",
            "fund_type": "general_public", "is_new": False, "requested_amount": "1000"}
    key = unique("key")
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def send(client: Any) -> Any:
        response = client.post(url("/projects"), json=body, headers={"Idempotency-Key": key})
        with lock:
            answers.append((response.status_code, response.get_json()))
        return response

    at_once(units, send)
    (project,) = ok(units[0].get(url(f"/projects?q={body['code']}")))["items"]
    created = {"id": project["id"], "code": body["code"]}
    # Each answer is the first one (made or replayed) or "the same key is in flight": never a second project.
    for status, answer in answers:
        if status == 201:
            assert {"id": answer["id"], "code": answer["code"]} == created
        else:
            assert (status, answer["error"]["code"]) == (409, "conflict")


def submitted_self_evaluation(unit, finance) -> tuple[int, int]:
    """A budgeted project whose self-evaluation is submitted, with a finding: (project id, evaluation id)."""
    pid = budgeted(unit, finance)
    evaluation = ok(unit.post(url(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    indicators = ok(unit.get(url(f"/projects/{pid}/targets")))["indicators"]
    ok(unit.post(url(f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": "300000", "scores": [{"indicator_id": i["id"], "actual_value": "1"} for i in indicators],
        "findings": [{"problem": "指标完成不足", "suggestion": "加快进度"}]}))
    return pid, evaluation["id"]


def test_concurrent_first_decisions_on_a_result_leave_one(units, finances):
    pid, evaluation_id = submitted_self_evaluation(units[0], finances[0])
    statuses = at_once(finances, lambda c: c.post(url(f"/projects/{pid}/results"), json={
        "evaluation_id": evaluation_id, "amount_change": "-10000"}))
    assert statuses == Counter({201: 1, 409: THREADS - 1})
    (current,) = ok(finances[0].get(url(f"/projects/{pid}/results")))
    assert len(current["history"]) == 1


def test_concurrent_rectification_notices_for_an_evaluation_issue_one(units, finances):
    pid, evaluation_id = submitted_self_evaluation(units[0], finances[0])
    statuses = at_once(finances, lambda c: c.post(url(f"/projects/{pid}/rectifications"), json={
        "evaluation_id": evaluation_id}))
    assert statuses == Counter({201: 1, 409: THREADS - 1})
    assert len(ok(finances[0].get(url(f"/projects/{pid}/rectifications")))) == 1


def test_concurrent_finalize_requests_with_one_version_enqueue_one_job(app):
    """Twenty assessors press 汇总排名 on the campaign they all read: one job, nineteen 409s."""
    import sqlalchemy as sa

    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.jobs.models import Job
    from jixiao.tenancy import service as tenancy

    city = "/api/v1/tenants/430400/assessments"
    assessors = [api_login(app, "hengyang_finance") for _ in range(THREADS)]
    campaign = ok(assessors[0].post(city, json={"year": 2044, "scheme": "hunan-city-counties",
                                                "deadline": "2044-12-31"}), 201)
    statuses = at_once(assessors, lambda c: c.post(f"{city}/{campaign['id']}/finalize", json={
        "force": True, "reason": "并发汇总", "version": campaign["version"]}))
    assert statuses == Counter({202: 1, 409: THREADS - 1})
    with app.app_context():
        with system_scope() as db:
            tenant_id = tenancy.get_by_code(db, "430400").id
        with scoped(TenantScope(read_ids=(tenant_id,))) as db:  # jobs are the tenant's rows (RLS)
            args = list(db.scalars(sa.select(Job.args).where(Job.kind == "assessment.finalize")))
    assert sum(1 for a in args if a.get("campaign_id") == campaign["id"]) == 1
    read = ok(assessors[0].get(f"{city}/{campaign['id']}"))
    ok(assessors[0].post(f"{city}/{campaign['id']}/withdraw", json={"reason": "测试结束", "version": read["version"]}))
