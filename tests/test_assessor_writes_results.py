"""A campaign's assessor writes its subjects' results in one statement (revision 0027): finalising and
reopening run the same statements at 12 and at 122 subjects, and row-level security admits the assessor's
write to its own campaign's assignments and to no other campaign's."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from jixiao import rls
from jixiao.db import TenantScope, apply_settings, create_engine, register_context_key, system_scope
from jixiao.tenancy import service as tenancy
from jixiao.testing import api_login
from tests.test_assessment import act, base, ok
from tests.test_audit_and_api import make_app_like
from tests.test_query_budget import count_statements

YEAR = 2056
CAMPAIGNS = (("hengyang_finance", "430400", "hunan-city-counties"), ("hunan_admin", "430000", "hunan-province-counties"))


@pytest.fixture(scope="module")
def inline(jixiao_app):
    """The app with its jobs run in the request (no Redis): the finalise job's statements are the request's."""
    return make_app_like(jixiao_app, REDIS_URL=None)


@pytest.fixture(scope="module")
def campaigns(inline):
    """Each campaign (the city's over its 12 counties, the province's over 122) finalised, with the statements
    its finalise request sent; withdrawn again at the module's end."""
    opened = {}
    for username, code, scheme in CAMPAIGNS:
        user = api_login(inline, username)
        campaign = ok(user.post(base(code), json={"year": YEAR, "scheme": scheme,
                                                  "deadline": date.today().isoformat()}), 201)
        with count_statements(inline) as seen:
            ok(act(user, code, campaign["id"], "finalize", {"force": True, "reason": "测试"}), 202)
        subjects = ok(user.get(base(code, f"/{campaign['id']}/subjects")))
        opened[code] = {"user": user, "id": campaign["id"], "subjects": len(subjects), "finalize": list(seen)}
    yield opened
    for code, campaign in opened.items():
        act(campaign["user"], code, campaign["id"], "withdraw", {"reason": "测试结束"})


def assignment_updates(statements: list[str]) -> int:
    return sum(1 for s in statements if s.lstrip().upper().startswith("UPDATE ASSESSMENT_ASSIGNMENTS"))


def test_finalising_writes_every_subject_s_result_in_one_statement(campaigns):
    city, province = campaigns["430400"], campaigns["430000"]
    assert (city["subjects"], province["subjects"]) == (12, 122)
    assert assignment_updates(city["finalize"]) == assignment_updates(province["finalize"]) == 1


def test_nothing_else_finalising_sends_is_per_subject(campaigns, is_postgres):
    if not is_postgres:
        # SQLite has no sentinel for a batch INSERT's RETURNING, so SQLAlchemy inserts each new score alone there.
        pytest.skip("the new scores are inserted in batches on PostgreSQL only; CI runs this suite on PostgreSQL")
    city, province = campaigns["430400"], campaigns["430000"]
    assert len(city["finalize"]) == len(province["finalize"]), (len(city["finalize"]), len(province["finalize"]))


def test_every_subject_reads_its_own_provisional_result(inline, campaigns):
    province = campaigns["430000"]
    ranked = ok(province["user"].get(base("430000", f"/{province['id']}/subjects")))
    with inline.app_context(), system_scope() as db:
        county = tenancy.get_by_code(db, "431102")
    county_user = api_login(inline, "lingling_finance")
    mine = ok(county_user.get(f"/api/v1/tenants/431102/assessment-results/{province['id']}"))
    own = next(s for s in ranked if s["code"] == county.code)
    assert mine["result"]["provisional"] is True
    assert mine["result"]["total"] == own["total"]


def test_reopening_takes_every_provisional_result_back_in_one_statement(inline):
    user = api_login(inline, "hunan_admin")
    campaign = ok(user.post(base("430000"), json={"year": YEAR + 1, "scheme": "hunan-province-counties",
                                                  "deadline": date.today().isoformat()}), 201)
    ok(act(user, "430000", campaign["id"], "finalize", {"force": True, "reason": "测试"}), 202)
    with count_statements(inline) as seen:
        ok(act(user, "430000", campaign["id"], "reopen", {"reason": "核实数据"}))
    assert assignment_updates(seen) == 1
    county = api_login(inline, "lingling_finance")
    assert ok(county.get(f"/api/v1/tenants/431102/assessment-results/{campaign['id']}"))["result"] is None
    ok(act(user, "430000", campaign["id"], "withdraw", {"reason": "测试结束"}))


def _updated(app, scope: TenantScope, campaign_id: int, tenant_code: str | None = None) -> int:
    """Rows an UPDATE of the campaign's assignments reaches as the application role under ``scope`` alone (the
    second wall without the first), rolled back."""
    engine = create_engine(app.config["DATABASE_URL"])
    register_context_key(engine, rls.context_key(app.config))
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            apply_settings(connection, scope)
            only = " AND code = :code" if tenant_code else ""
            count = connection.execute(sa.text(
                f"UPDATE assessment_assignments SET title = title WHERE campaign_id = :c{only}"),
                {"c": campaign_id, "code": tenant_code}).rowcount
            transaction.rollback()
            return count
    finally:
        engine.dispose()


def test_row_level_security_admits_the_assessor_s_own_campaign_only(inline, campaigns, is_postgres):
    if not is_postgres:
        pytest.skip("row-level security is PostgreSQL's; CI runs this suite on PostgreSQL")
    with inline.app_context(), system_scope() as db:
        ids = {code: tenancy.get_by_code(db, code).id for code in ("430000", "430400", "431102", "430405")}
    city_campaign, province_campaign = campaigns["430400"]["id"], campaigns["430000"]["id"]
    with inline.app_context(), system_scope() as db:
        below = {code: tuple(tenancy.subtree_ids(db, tenancy.get_by_code(db, code))) for code in ("430000", "430400")}
    # As a request of each bureau reads: its whole subtree (an UPDATE reaches only rows it may also read).
    province = TenantScope(read_ids=below["430000"], write_id=ids["430000"])
    assert _updated(inline, province, province_campaign) == 122
    # A city's campaign over its counties is the city's: the province above it writes none of its rows.
    assert _updated(inline, province, city_campaign) == 0
    assert _updated(inline, TenantScope(read_ids=below["430400"], write_id=ids["430400"]), city_campaign) == 12
    # A county writes its own assignment, and no other county's.
    lingling = TenantScope(read_ids=(ids["431102"],), write_id=ids["431102"])
    assert _updated(inline, lingling, province_campaign, "431102") == 1
    assert _updated(inline, lingling, province_campaign) == 1
    assert _updated(inline, TenantScope(read_ids=(ids["430405"],), write_id=ids["430405"]), province_campaign,
                    "431102") == 0
