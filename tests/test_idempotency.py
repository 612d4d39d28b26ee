"""Idempotency-Key: a retried create answers what the first one did, once; a reused key for another request
is refused; without a key, a repeated create is a conflict."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from jixiao.testing import unique

YEAR = 2026


def url(path: str = "", code: str = "431102") -> str:
    return f"/api/v1/tenants/{code}{path}"


def project_body(**extra) -> dict:
    return {"code": unique("IK"), "name": "幂等申报", "year": YEAR, "kind": "project", "fund_type": "general_public",
            "is_new": False, "requested_amount": "1000", **extra}


def keyed(key: str) -> dict:
    return {"Idempotency-Key": key}


def projects_with_code(client, code: str, tenant: str = "431102") -> list[int]:
    listed = client.get(url(f"/projects?q={code}&year={YEAR}", tenant)).get_json()["items"]
    return [p["id"] for p in listed if p["code"] == code]


def lingling_scope(app):
    """A unit of work in Lingling's own tenant (row-level security shows its rows only there)."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with system_scope() as db:
        tenant_id = tenancy.get_by_code(db, "431102").id
    return scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id))


def stored_keys(app, key: str) -> int:
    from jixiao.idempotency import IdempotencyKey

    with app.app_context(), lingling_scope(app) as db:
        return db.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey).where(IdempotencyKey.key == key))


def test_a_retried_create_with_the_same_key_answers_the_first_result(login):
    unit = login("lingling_dept")
    body, key = project_body(), unique("key")
    first = unit.post(url("/projects"), json=body, headers=keyed(key))
    assert first.status_code == 201, first.get_json()
    again = unit.post(url("/projects"), json=body, headers=keyed(key))
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert projects_with_code(unit, body["code"]) == [first.get_json()["id"]]

    # Without a key the same create is a conflict: the project exists.
    unkeyed = unit.post(url("/projects"), json=body)
    assert unkeyed.status_code == 409 and "code" in unkeyed.get_json()["error"]["fields"]


def test_the_same_key_with_another_body_is_refused(login):
    unit = login("lingling_dept")
    key = unique("key")
    assert unit.post(url("/projects"), json=project_body(), headers=keyed(key)).status_code == 201
    other = project_body()
    reused = unit.post(url("/projects"), json=other, headers=keyed(key))
    assert reused.status_code == 422 and "Idempotency-Key" in reused.get_json()["error"]["message"]
    assert projects_with_code(unit, other["code"]) == []


def test_a_failed_first_try_keeps_nothing_so_the_fixed_request_may_reuse_the_key(app, login):
    unit = login("lingling_dept")
    key = unique("key")
    refused = unit.post(url("/projects"), json=project_body(department_code="nope"), headers=keyed(key))
    assert refused.status_code == 400
    assert stored_keys(app, key) == 0
    fixed = unit.post(url("/projects"), json=project_body(), headers=keyed(key))
    assert fixed.status_code == 201, fixed.get_json()
    assert stored_keys(app, key) == 1


def test_keys_belong_to_their_user_and_tenant(login, create_user):
    """The same key from another user, of the same bureau or another one, is another key: never someone
    else's answer."""
    unit, finance = login("lingling_dept"), login("lingling_finance")
    lengshuitan = login(create_user("431103", roles=["finance"]))
    key = unique("key")
    mine = unit.post(url("/projects"), json=project_body(), headers=keyed(key))
    colleague = finance.post(url("/projects"), json=project_body(department_code="101"), headers=keyed(key))
    sibling = lengshuitan.post(url("/agencies", "431103"), json={"name": unique("机构")}, headers=keyed(key))
    assert (mine.status_code, colleague.status_code, sibling.status_code) == (201, 201, 201)
    assert colleague.get_json()["id"] != mine.get_json()["id"] and "Idempotent-Replayed" not in colleague.headers
    assert set(sibling.get_json()) == {"id", "name", "contact", "active", "agency_type", "agency_type_label",
                                       "barred", "bar_reason", "version"}
    # A sibling bureau sees nothing of Lingling's, through the key or otherwise.
    assert lengshuitan.get(url(f"/projects/{mine.get_json()['id']}")).status_code == 404


def test_expired_keys_are_purged(app, login):
    from jixiao.db import utcnow
    from jixiao.idempotency import purge_expired, ttl

    unit = login("lingling_dept")
    key = unique("key")
    assert unit.post(url("/projects"), json=project_body(), headers=keyed(key)).status_code == 201
    with app.app_context(), lingling_scope(app) as db:
        purge_expired(db, now=utcnow())
    assert stored_keys(app, key) == 1
    with app.app_context(), lingling_scope(app) as db:
        purge_expired(db, now=utcnow() + ttl() + timedelta(minutes=1))
    assert stored_keys(app, key) == 0


def test_a_key_too_long_is_refused(login):
    unit = login("lingling_dept")
    refused = unit.post(url("/projects"), json=project_body(), headers=keyed("k" * 201))
    assert refused.status_code == 400 and "Idempotency-Key" in refused.get_json()["error"]["fields"]


# ---- Account creates: departments, users, API tokens ---------------------------------------------------------


def user_body(**extra) -> dict:
    from jixiao.testing import DEMO_PASSWORD

    return {"username": unique("ik_user"), "password": DEMO_PASSWORD, "roles": ["viewer"], **extra}


def test_a_retried_department_create_answers_the_first_and_an_unkeyed_repeat_is_a_conflict(login):
    admin = login("lingling_admin")
    body, key = {"code": unique("D")[:32], "name": "幂等部门"}, unique("key")
    first = admin.post(url("/departments"), json=body, headers=keyed(key))
    assert first.status_code == 201, first.get_json()
    again = admin.post(url("/departments"), json=body, headers=keyed(key))
    assert (again.status_code, again.get_json(), again.headers["Idempotent-Replayed"]) == (
        201, first.get_json(), "true")
    unkeyed = admin.post(url("/departments"), json=body)
    assert unkeyed.status_code == 409
    assert unkeyed.get_json()["error"]["fields"] == {"code": f"部门代码 {body['code']} 已存在"}
    listed = admin.get(url("/departments")).get_json()
    assert [d["id"] for d in listed if d["code"] == body["code"]] == [first.get_json()["id"]]


def test_a_retried_user_create_answers_the_first_and_a_taken_username_is_a_conflict(login, create_user):
    admin = login("lingling_admin")
    body, key = user_body(), unique("key")
    first = admin.post(url("/users"), json=body, headers=keyed(key))
    assert first.status_code == 201, first.get_json()
    again = admin.post(url("/users"), json=body, headers=keyed(key))
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    unkeyed = admin.post(url("/users"), json=body)
    assert unkeyed.status_code == 409
    assert unkeyed.get_json()["error"]["fields"] == {"username": f"用户名 {body['username']} 已被使用（全平台唯一）"}
    # Usernames are unique across the platform: another bureau taking it is the same conflict.
    other = login(create_user("430903", roles=["admin"])).post(url("/users", "430903"), json=body)
    assert other.status_code == 409 and "username" in other.get_json()["error"]["fields"]
    assert [u["id"] for u in admin.get(url("/users")).get_json() if u["username"] == body["username"]] == [
        first.get_json()["id"]]


def test_a_key_used_in_one_bureau_does_not_replay_in_another(login, create_user):
    """Lingling's key, sent by another bureau's administrator (its own or Lingling's address), is not Lingling's
    answer: the sibling creates its own department, and cannot write in Lingling's."""
    lingling = login("lingling_admin")
    sibling = login(create_user("431103", roles=["admin"]))
    province = login("hunan_admin")
    body, key = {"code": unique("D")[:32], "name": "跨级幂等部门"}, unique("key")
    mine = lingling.post(url("/departments"), json=body, headers=keyed(key))
    assert mine.status_code == 201, mine.get_json()
    theirs = sibling.post(url("/departments", "431103"), json=body, headers=keyed(key))
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["id"] != mine.get_json()["id"]
    for outsider, refused in ((sibling, 404), (province, 403)):  # a sibling does not see Lingling; above reads
        into_lingling = outsider.post(url("/departments"), json=body, headers=keyed(key))
        assert into_lingling.status_code == refused and "Idempotent-Replayed" not in into_lingling.headers
    assert [d["code"] for d in sibling.get(url("/departments", "431103")).get_json()].count(body["code"]) == 1


def test_a_retried_token_create_answers_the_same_token_id_and_never_keeps_the_token(app, login):
    from jixiao.idempotency import IdempotencyKey

    finance = login("lingling_finance")
    body, key = {"name": unique("ik-token")}, unique("key")
    first = finance.post("/api/v1/auth/tokens", json=body, headers=keyed(key))
    assert first.status_code == 201, first.get_json()
    again = finance.post("/api/v1/auth/tokens", json=body, headers=keyed(key))
    assert (again.status_code, again.get_json()) == (201, {"id": first.get_json()["id"], "token": None})
    assert [t["id"] for t in finance.get("/api/v1/auth/tokens").get_json() if t["name"] == body["name"]] == [
        first.get_json()["id"]]
    with app.app_context(), lingling_scope(app) as db:
        kept = db.scalar(sa.select(IdempotencyKey.response_body).where(IdempotencyKey.key == key))
    assert first.get_json()["token"] not in kept
