"""References to other records are checked: ex-ante reviewers are the bureau's own experts and finance staff."""

from __future__ import annotations

import pytest

from jixiao.testing import unique


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


SCORES = {"necessity": "18", "economy": "16", "targets": "17", "feasibility": "17", "compliance": "18"}


@pytest.fixture
def new_project(login):
    unit = login("lingling_dept")
    return ok(unit.post("/api/v1/tenants/431102/projects", json={
        "code": unique("RV"), "name": "评审人员校验项目", "year": 2026, "kind": "project",
        "fund_type": "general_public", "is_new": True, "requested_amount": "800000"}), 201)["id"]


def user_id(login, username: str) -> int:
    return ok(login(username).get("/api/v1/me"))["id"]


@pytest.mark.parametrize("reviewer", ["enyang_finance", "lingling_dept", "nobody"])
def test_a_reviewer_who_is_not_the_bureaus_expert_or_finance_is_refused(login, new_project, reviewer):
    """Other tenants' users, a unit's staff and ids of nobody were accepted and stored."""
    expert = login("lingling_expert")
    rid = 2**31 - 7 if reviewer == "nobody" else user_id(login, reviewer)
    refused = expert.put(f"/api/v1/tenants/431102/projects/{new_project}/exante", json={
        "scores": SCORES, "conclusion": "support", "reviewer_ids": [rid]})
    assert refused.status_code == 400
    assert str(rid) in refused.get_json()["error"]["fields"]["reviewer_ids"]
    assert "id" not in ok(expert.get(f"/api/v1/tenants/431102/projects/{new_project}/exante"))  # nothing stored


def test_the_bureaus_own_reviewers_are_recorded(login, new_project):
    expert, finance = login("lingling_expert"), login("lingling_finance")
    ids = [user_id(login, "lingling_finance"), user_id(login, "lingling_expert")]
    saved = ok(expert.put(f"/api/v1/tenants/431102/projects/{new_project}/exante", json={
        "scores": SCORES, "conclusion": "support", "reviewer_ids": ids[:1]}))
    assert sorted(saved["reviewer_ids"]) == sorted(ids)
    assert finance.get(f"/api/v1/tenants/431102/projects/{new_project}/exante").status_code == 200


def test_a_unit_marking_a_new_project_classified_is_refused_not_ignored(login):
    """It answered 201 with classified false, while the same change by PATCH answered 403."""
    unit = login("lingling_dept")
    body = {"code": unique("CL"), "name": "涉密标记项目", "year": 2026, "kind": "project",
            "fund_type": "general_public", "is_new": False, "requested_amount": "100000", "classified": True}
    refused = unit.post("/api/v1/tenants/431102/projects", json=body)
    assert refused.status_code == 403 and "classified" in refused.get_json()["error"]["fields"]
    listed = ok(unit.get("/api/v1/tenants/431102/projects?year=2026"))["items"]
    assert body["code"] not in {p["code"] for p in listed}
    finance = login("lingling_finance")
    created = ok(finance.post("/api/v1/tenants/431102/projects", json={**body, "department_code": "101"}), 201)
    assert created["classified"] is True
