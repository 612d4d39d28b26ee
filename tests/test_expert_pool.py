"""The expert pool (专家库): registering experts, drawing ex-ante reviewers by field with conflicts excluded and the
seed recorded, pools kept by upper levels and used below, isolation between branches, the expert's to-do."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from jixiao.testing import unique

YEAR = 2071
SCORES = {"necessity": "18", "economy": "16", "targets": "17", "feasibility": "18", "compliance": "19"}


def api(code: str = "431102", path: str = "") -> str:
    return f"/api/v1/tenants/{code}{path}"


def chinese(message) -> bool:
    return re.search("[\u4e00-\u9fff]", str(message)) is not None


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.fixture
def finance(login):
    return login("lingling_finance")


def new_project(finance, year: int = YEAR) -> dict:
    """A new project of department 101 (教育局): it needs an ex-ante assessment."""
    return ok(finance.post(api(path="/projects"), json={
        "code": unique("EP"), "name": "学校设备购置项目", "year": year, "kind": "project",
        "fund_type": "general_public", "department_code": "101", "is_new": True, "requested_amount": "800000"}), 201)


def register(client, field: str, code: str = "431102", **extra) -> dict:
    return ok(client.post(api(code, "/experts"), json={"name": unique("专家"), "expertise": [field], **extra}), 201)


def draw(client, project_id: int, field: str, count: int, **extra):
    return client.post(api(path=f"/projects/{project_id}/expert-draws"), json={"field": field, "count": count, **extra})


def test_finance_registers_an_expert_and_department_staff_may_not(finance, login):
    field = unique("教育")
    expert = register(finance, field, organisation="湖南科技学院", conflict_department_ids=[])
    assert expert["own"] is True and expert["kept_by"] == "431102" and expert["active"] is True
    assert expert["expertise"] == [field] and expert["version"] == 1
    listed = {e["id"]: e for e in ok(finance.get(api(path="/experts")))}
    assert listed[expert["id"]]["organisation"] == "湖南科技学院"

    unit = login("lingling_dept")
    assert unit.post(api(path="/experts"), json={"name": "某专家", "expertise": [field]}).status_code == 403
    assert unit.get(api(path="/experts")).status_code == 403  # units never see who may review them
    assert unit.patch(api(path=f"/experts/{expert['id']}"), json={"active": False, "version": 1}).status_code == 403

    corrected = ok(finance.patch(api(path=f"/experts/{expert['id']}"),
                                 json={"expertise": [field, "财务管理"], "version": expert["version"]}))
    assert corrected["expertise"] == [field, "财务管理"] and corrected["version"] == expert["version"] + 1
    stale = finance.patch(api(path=f"/experts/{expert['id']}"), json={"active": False, "version": expert["version"]})
    assert stale.status_code == 409
    missing = finance.patch(api(path=f"/experts/{expert['id']}"), json={"active": False})
    assert missing.status_code == 400 and "version" in missing.get_json()["error"]["fields"]


def test_validation_errors_name_the_fields_in_chinese(finance, login):
    empty = finance.post(api(path="/experts"), json={"name": " ", "expertise": []})
    assert empty.status_code == 400
    fields = empty.get_json()["error"]["fields"]
    assert {"name", "expertise"} <= set(fields) and chinese(fields["name"]) and "专业领域" in str(fields["expertise"])
    unit_user = login("lingling_dept").user["id"]
    wrong = finance.post(api(path="/experts"), json={
        "name": "王专家", "expertise": ["教育"], "user_id": unit_user, "conflict_department_ids": [2_000_000_000]})
    fields = wrong.get_json()["error"]["fields"]
    assert wrong.status_code == 400 and set(fields) == {"user_id", "conflict_department_ids"}
    assert "专家" in fields["user_id"] and "回避的部门" in fields["conflict_department_ids"]
    assert finance.post(api(path="/experts"), json={"name": "王专家", "expertise": "教育"}).status_code == 400
    assert not [e for e in ok(finance.get(api(path="/experts"))) if e["name"] == "王专家"]  # nothing written

    project = new_project(finance)
    refused = draw(finance, project["id"], "", 0)
    fields = refused.get_json()["error"]["fields"]
    assert refused.status_code == 400 and {"field", "count"} <= set(fields) and chinese(fields["field"])
    assert chinese(fields["count"])
    too_few = draw(finance, project["id"], unique("无人领域"), 2)
    assert too_few.status_code == 400 and "count" in too_few.get_json()["error"]["fields"]
    assert ok(finance.get(api(path=f"/projects/{project['id']}/expert-draws"))) == []


def test_conflicts_are_excluded_and_a_seed_reproduces_the_draw(finance, login, jixiao_app):
    field = unique("工程造价")
    project = new_project(finance)
    department = project["department"]
    by_department = register(finance, field, conflict_department_ids=[department["id"]])
    by_project = register(finance, field, conflict_project_ids=[project["id"]])
    works_there = register(finance, field, organisation=department["name"])
    inactive = register(finance, field)
    ok(finance.patch(api(path=f"/experts/{inactive['id']}"), json={"active": False, "version": inactive["version"]}))
    clean = [register(finance, field)["id"] for _ in range(5)]

    first = ok(draw(finance, project["id"], field, 2, seed=20710101), 201)
    assert first["seed"] == 20710101
    assert inactive["id"] not in first["pool_ids"]
    assert sorted(first["pool_ids"]) == sorted([by_department["id"], by_project["id"], works_there["id"], *clean])
    reasons = {x["id"]: x["reason"] for x in first["excluded"]}
    assert set(reasons) == {by_department["id"], by_project["id"], works_there["id"]}
    assert department["name"] in reasons[by_department["id"]] and "本项目" in reasons[by_project["id"]]
    assert "工作单位" in reasons[works_there["id"]]
    assert len(first["drawn_ids"]) == 2 and set(first["drawn_ids"]) <= set(clean)
    assert [e["id"] for e in first["drawn"]] == first["drawn_ids"] and all(e["name"] for e in first["drawn"])

    again = ok(draw(finance, project["id"], field, 2, seed=first["seed"]), 201)
    assert again["drawn_ids"] == first["drawn_ids"] and again["pool_ids"] == first["pool_ids"]

    generated = ok(draw(finance, project["id"], field, 3), 201)  # no seed given: one is made and recorded
    assert isinstance(generated["seed"], int)
    replayed = ok(draw(finance, project["id"], field, 3, seed=generated["seed"]), 201)
    assert replayed["drawn_ids"] == generated["drawn_ids"]

    listed = ok(finance.get(api(path=f"/projects/{project['id']}/expert-draws")))
    assert [d["id"] for d in listed] == [replayed["id"], generated["id"], again["id"], first["id"]]
    assert login("lingling_dept").post(api(path=f"/projects/{project['id']}/expert-draws"),
                                       json={"field": field, "count": 1}).status_code == 403

    from jixiao.audit.models import AuditEvent
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with jixiao_app.app_context():
        with system_scope() as db:
            tenant_id = tenancy.get_by_code(db, "431102").id
        with scoped(TenantScope(read_ids=(tenant_id,))) as db:
            recorded = db.scalar(sa.select(AuditEvent).where(AuditEvent.action == "expert.draw",
                                                             AuditEvent.object_id == str(first["id"])))
        assert recorded is not None and recorded.after["seed"] == first["seed"]
        assert recorded.after["drawn"] == first["drawn_ids"]


def test_a_county_draws_from_its_city_s_pool_and_cannot_change_it(finance, login):
    city = login("yongzhou_finance")
    field = unique("农业")
    kept = register(city, field, code="431100", organisation="永州市农科院")
    usable = {e["id"]: e for e in ok(finance.get(api(path="/experts")))}
    assert usable[kept["id"]]["own"] is False and usable[kept["id"]]["kept_by"] == "431100"
    assert finance.patch(api(path=f"/experts/{kept['id']}"), json={"active": False, "version": 1}).status_code == 404
    assert finance.get(api(path=f"/experts/{kept['id']}")).status_code == 404
    assert finance.post(api("431100", "/experts"), json={"name": "某专家", "expertise": [field]}).status_code in (403, 404)

    project = new_project(finance)
    drawn = ok(draw(finance, project["id"], field, 1), 201)
    assert drawn["drawn_ids"] == [kept["id"]] and drawn["drawn"][0]["tenant"] == "永州市"
    assert drawn["drawn"][0]["online"] is False and drawn["assigned_user_ids"] == []

    # Another branch (Heshan, under Yiyang) does not use Yongzhou's pool.
    heshan = login("heshan_finance")
    assert kept["id"] not in {e["id"] for e in ok(heshan.get(api("430903", "/experts")))}


def test_a_sibling_county_neither_sees_nor_draws_another_s_experts(finance, login, create_user):
    sibling = login(create_user("431103", roles=["finance"]))
    field = unique("水利")
    theirs = register(sibling, field, code="431103")
    assert theirs["id"] not in {e["id"] for e in ok(finance.get(api(path="/experts")))}
    assert finance.get(api("431103", "/experts")).status_code == 404
    assert finance.patch(api(path=f"/experts/{theirs['id']}"), json={"active": False, "version": 1}).status_code == 404
    project = new_project(finance)
    refused = draw(finance, project["id"], field, 1)
    assert refused.status_code == 400 and "只有 0 人" in refused.get_json()["error"]["fields"]["count"]

    heshan = login("heshan_finance")
    assert heshan.get(api(path="/experts")).status_code == 404
    assert heshan.post(api(path="/experts"), json={"name": "某专家", "expertise": [field]}).status_code == 404
    assert heshan.get(api(path=f"/projects/{project['id']}/expert-draws")).status_code == 404
    assert draw(heshan, project["id"], field, 1).status_code == 404


def test_the_drawn_expert_sees_the_review_in_their_to_do_and_only_they_review(finance, login, create_user):
    expert_login = login(create_user("431102", roles=["expert"]))
    field = unique("信息化")
    expert = register(finance, field, user_id=expert_login.user["id"])
    taken = finance.post(api(path="/experts"), json={"name": "李专家", "expertise": [field],
                                                      "user_id": expert_login.user["id"]})
    assert taken.status_code == 400 and "已关联专家" in taken.get_json()["error"]["fields"]["user_id"]
    project = new_project(finance, YEAR + 1)
    due = date.today() + timedelta(days=10)
    drawn = ok(draw(finance, project["id"], field, 1, due=due.isoformat()), 201)
    assert drawn["assigned_user_ids"] == [expert_login.user["id"]] and drawn["drawn"][0]["online"] is True

    todo = [t for t in ok(expert_login.get(api(path="/todo"))) if t["project_id"] == project["id"]]
    assert len(todo) == 1 and todo[0]["kind"] == "exante_review"
    assert todo[0]["project_code"] == project["code"] and todo[0]["year"] == YEAR + 1 and todo[0]["due"] == str(due)
    page = expert_login.get("/t/431102/todo").get_data(as_text=True)
    assert project["code"] in page and f"{YEAR + 1} 年度" in page and str(due) in page

    # Another expert of the tenant was not drawn: the draw decides who reviews.
    other = login("lingling_expert")
    refused = other.put(api(path=f"/projects/{project['id']}/exante"), json={"scores": SCORES, "conclusion": "support"})
    assert refused.status_code == 403
    assert project["id"] not in {t["project_id"] for t in ok(other.get(api(path="/todo")))}
    form = f'action="/t/431102/projects/{project["id"]}/exante"'
    assert form not in other.get(f"/t/431102/projects/{project['id']}").get_data(as_text=True)
    assert form in expert_login.get(f"/t/431102/projects/{project['id']}").get_data(as_text=True)
    reviewed = ok(expert_login.put(api(path=f"/projects/{project['id']}/exante"),
                                   json={"scores": SCORES, "conclusion": "support"}))
    assert reviewed["conclusion"] == "support"
    assert project["id"] not in {t["project_id"] for t in ok(expert_login.get(api(path="/todo")))}
    assert expert["id"] in drawn["drawn_ids"]


def test_an_upper_level_s_drawn_expert_reviews_the_county_s_project_from_their_own_login(
        finance, login, create_user, jixiao_app):
    """A city's expert with a city login, drawn by the county: the review is in their to-do at the city's home,
    links to the county's project, and they record it there; it is the county's record. Nobody else of the city
    is a reviewer by that draw."""
    city_expert = login(create_user("431100", roles=["expert"]))
    field = unique("交通")
    kept = register(login("yongzhou_finance"), field, code="431100", user_id=city_expert.user["id"])
    project = new_project(finance, YEAR + 2)
    due = date.today() + timedelta(days=5)
    drawn = ok(draw(finance, project["id"], field, 1, due=due.isoformat()), 201)
    assert drawn["drawn_ids"] == [kept["id"]] and drawn["drawn"][0]["online"] is True
    assert drawn["assigned_user_ids"] == [city_expert.user["id"]]

    todo = [t for t in ok(city_expert.get(api("431100", "/todo"))) if t["project_id"] == project["id"]]
    assert len(todo) == 1 and todo[0]["tenant_code"] == "431102" and todo[0]["tenant_name"] == "零陵区"
    assert todo[0]["url"] == f"/t/431102/projects/{project['id']}#exante" and todo[0]["due"] == str(due)
    home = city_expert.get("/t/431100/").get_data(as_text=True)
    assert f'href="/t/431102/projects/{project["id"]}#exante"' in home and "零陵区" in home
    form = f'action="/t/431102/projects/{project["id"]}/exante"'
    assert form in city_expert.get(f"/t/431102/projects/{project['id']}").get_data(as_text=True)

    # The city's other people are not reviewers by the county's draw, nor is another city's expert.
    other_expert = login(create_user("431100", roles=["expert"]))
    for outsider in (other_expert, login("yongzhou_finance")):
        refused = outsider.put(api(path=f"/projects/{project['id']}/exante"),
                               json={"scores": SCORES, "conclusion": "support"})
        assert refused.status_code == 403, refused.get_json()
    assert form not in other_expert.get(f"/t/431102/projects/{project['id']}").get_data(as_text=True)
    assert ok(other_expert.get(api("431100", "/todo"))) == []

    reviewed = ok(city_expert.put(api(path=f"/projects/{project['id']}/exante"),
                                  json={"scores": SCORES, "conclusion": "support", "amount_cut": "50000"}))
    assert reviewed["conclusion"] == "support"
    assert project["id"] not in {t["project_id"] for t in ok(city_expert.get(api("431100", "/todo")))}
    # The county's record: its finance reads it, the reviewer named, and the audit event is the county's.
    seen = ok(finance.get(api(path=f"/projects/{project['id']}/exante")))
    assert seen["amount_cut"] == "50000.00" and city_expert.user["id"] in seen["reviewer_ids"]
    from jixiao.audit.models import AuditEvent
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle.models import ExAnteAssessment
    from jixiao.tenancy import service as tenancy
    with jixiao_app.app_context():
        with system_scope() as db:
            county = tenancy.get_by_code(db, "431102").id
        with scoped(TenantScope(read_ids=(county,))) as db:  # the county's own rows, under both walls
            assessment = db.scalar(sa.select(ExAnteAssessment).where(ExAnteAssessment.project_id == project["id"]))
            event = db.scalar(sa.select(AuditEvent).where(AuditEvent.action == "exante.record",
                                                          AuditEvent.object_id == str(assessment.id)))
            assert assessment.tenant_id == county and event.tenant_id == county
            assert event.actor_id == city_expert.user["id"]

    # From the page too: the expert corrects the cut on the county's project page (the form keeps the version).
    page = city_expert.get(f"/t/431102/projects/{project['id']}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    corrected = city_expert.client.post(f"/t/431102/projects/{project['id']}/exante", data={
        "csrf_token": token, **{f"score-{k}": v for k, v in SCORES.items()}, "conclusion": "support",
        "amount_cut": "8", "version": str(reviewed["version"])})
    assert corrected.status_code == 302, corrected.get_data(as_text=True)[:500]
    assert ok(finance.get(api(path=f"/projects/{project['id']}/exante")))["amount_cut"] == "80000.00"

    # The city expert's login writes nothing else there.
    assert city_expert.post(api(path="/projects"), json={
        "code": unique("EP"), "name": "越权项目", "year": YEAR + 2, "kind": "project", "fund_type": "general_public",
        "department_code": "101", "is_new": True, "requested_amount": "1"}).status_code in (403, 404)


def test_pool_page_and_the_draw_on_the_project_page(finance, login):
    page = finance.get("/t/431102/experts")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "专家库" in html and "登记专家" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    refused = finance.client.post("/t/431102/experts", data={"csrf_token": token, "name": "",
                                                             "organisation": "零陵区医院", "expertise": ""})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "请填写专家姓名" in text and 'value="零陵区医院"' in text

    field = unique("卫生")
    name = unique("赵专家")
    done = finance.client.post("/t/431102/experts", data={"csrf_token": token, "name": name, "expertise": field,
                                                          "organisation": "零陵区人民医院"})
    assert done.status_code == 302
    assert name in finance.get("/t/431102/experts").get_data(as_text=True)
    unit = login("lingling_dept")
    assert unit.get("/t/431102/experts").status_code == 403
    assert 'href="/t/431102/experts"' not in unit.get("/t/431102/").get_data(as_text=True)  # nor in the menu
    assert 'href="/t/431102/experts"' in finance.get("/t/431102/").get_data(as_text=True)

    project = new_project(finance)
    project_page = finance.get(f"/t/431102/projects/{project['id']}").get_data(as_text=True)
    assert "抽取评审专家" in project_page and f'<option value="{field}"' in project_page
    drawn = finance.client.post(f"/t/431102/projects/{project['id']}/expert-draws",
                                data={"csrf_token": token, "field": field, "count": "1", "seed": "7"})
    assert drawn.status_code == 302
    shown = finance.get(f"/t/431102/projects/{project['id']}").get_data(as_text=True)
    assert "随机种子 7" in shown and name in shown and "零陵区人民医院" in shown
    # The draw is in the project's history too, in words: the field, the seed, the expert by name and bureau.
    history = shown[shown.index('id="history"'):]
    assert "抽取评审专家" in history and f"抽中专家：{name}（零陵区）" in re.sub(r"<[^>]+>|\s", "", history)
    assert "随机种子" in history and field in history
    events = ok(finance.get(api(path=f"/projects/{project['id']}/history")))
    assert [e["action"] for e in events].count("expert.draw") == 1
    wrong = finance.client.post(f"/t/431102/projects/{project['id']}/expert-draws",
                                data={"csrf_token": token, "field": field, "count": "5", "seed": "7"})
    assert wrong.status_code == 400 and "不足 5 人" in wrong.get_data(as_text=True)


def test_the_ancestor_read_is_the_chain_only_and_writes_nothing(jixiao_app, is_postgres, login, create_user):
    """Row-level security alone (raw SQL, no ORM criteria): a county's own scope does not read its city's experts;
    the pool reader reads them, not a sibling's, and can change none of them."""
    if not is_postgres:
        pytest.skip("row-level security is PostgreSQL's")
    kept = register(login("yongzhou_finance"), unique("林业"), code="431100")
    theirs = register(login(create_user("431103", roles=["finance"])), unique("林业"), code="431103")

    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle import experts
    from jixiao.tenancy import service as tenancy

    count = sa.text("SELECT count(*) FROM experts WHERE id IN (:kept, :theirs)")
    ids = {"kept": kept["id"], "theirs": theirs["id"]}
    with jixiao_app.test_request_context():
        with system_scope() as db:
            county = tenancy.get_by_code(db, "431102")
            subtree = tuple(tenancy.subtree_ids(db, county))
        with scoped(TenantScope(read_ids=subtree, write_id=county.id)) as db:
            assert db.execute(count, ids).scalar() == 0
            with experts._pools_of(db, county) as reader:
                assert reader.execute(count, ids).scalar() == 1  # the city's, not the sibling's
                changed = reader.execute(sa.text("UPDATE experts SET name = 'x' WHERE id = :kept"), ids)
                assert changed.rowcount == 0
            assert db.execute(count, ids).scalar() == 0
            db.rollback()
