"""On the generated province: a province-wide campaign whose ranking means what it says, the roll-up of the
yearly statistics, and bounded statements at province size.

The whole of Hunan is generated (the seed bureaus excepted) at a few projects per county, in the demo tests' own
database; the province's finance staff open, finalise and read the campaign through the API.
"""

from __future__ import annotations

import collections
import contextlib
from decimal import Decimal

import pytest
import sqlalchemy as sa

from jixiao.testing import DEMO_PASSWORD, api_login, unique

from .conftest import PROVINCE, SEED, SEED_BUREAUS, TODAY, YEAR

# Enough projects per county for its ratios to differ as real ones do (at 3, whole counties tie at 76.92).
PER_COUNTY = 12


@pytest.fixture(scope="module")
def hunan(tmp_path_factory):
    """Every city and county of the province generated in a database of its own, and a province finance user."""
    from jixiao.accounts import service as accounts
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy
    from jixiao.testing import create_test_database, drop_test_database, make_app, prepare_database
    from jixiao_demo.province import generate

    database = create_test_database(tmp_path_factory.mktemp("rankings-db"))
    app = make_app(database, tmp_path_factory.mktemp("rankings-instance"))
    prepare_database(app, demo_data=False)
    generate(app, PROVINCE, PER_COUNTY, SEED, YEAR, skip=SEED_BUREAUS, today=TODAY)
    username = unique("hn")
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, PROVINCE)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=username)) as db:
            accounts.create_user(db, None, tenant, username=username, password=DEMO_PASSWORD,
                                 roles=["finance", "admin"])
    app.config["REDIS_URL"] = None  # jobs run in the request
    yield app, api_login(app, username)
    app.extensions["jixiao.db"].engine.dispose()
    drop_test_database(database)


@pytest.fixture(scope="module")
def ranking(hunan):
    app, province = hunan
    base = f"/api/v1/tenants/{PROVINCE}/assessments"
    created = province.post(base, json={"scheme": "hunan-province-counties", "deadline": TODAY.isoformat()})
    assert created.status_code == 201, created.get_json()
    campaign = created.get_json()
    assert campaign["year"] == YEAR  # the latest budget year with records, by default
    job = province.post(f"{base}/{campaign['id']}/finalize",
                        json={"force": True, "reason": "按省厅通知提前汇总", "version": campaign["version"]})
    assert job.get_json()["status"] == "succeeded", job.get_json()
    rows = province.get(f"{base}/{campaign['id']}/ranking").get_json()
    return campaign, rows


def test_a_province_wide_campaign_ranks_only_subjects_with_enough_data_and_few_ties(ranking):
    campaign, rows = ranking
    assert len(rows) == 122
    ranked = [r for r in rows if r["ranked"]]
    unranked = [r for r in rows if not r["ranked"]]
    # Nobody under the coverage threshold is ranked, and nobody at or above it is left out.
    assert all(Decimal(r["coverage"]) >= Decimal("0.6") for r in ranked)
    assert all(Decimal(r["coverage"]) < Decimal("0.6") and r["rank"] is None for r in unranked)
    # The seed bureaus have no records in this database: nothing to measure, so never ranked (they used to tie).
    by_code = {r["code"]: r for r in rows}
    assert not by_code["431102"]["ranked"] and not by_code["430903"]["ranked"]
    assert len(ranked) > len(rows) / 2
    # Fewer than 10% of the ranked subjects share their total with another (it was a 120-way tie at 45.00).
    counts = collections.Counter(r["total"] for r in ranked)
    tied = sum(n for n in counts.values() if n > 1)
    assert tied < len(ranked) / 10, counts.most_common(5)
    # Ranks are competition ranks over the ranked ones, best first; the unranked follow, never tied with them.
    assert [r["rank"] for r in ranked] == sorted(r["rank"] for r in ranked)
    assert rows[:len(ranked)] == ranked


def test_every_item_of_every_subject_has_a_state_and_a_reason(ranking):
    _, rows = ranking
    states = collections.Counter(s["status"] for r in rows for s in r["scores"])
    assert {"scored", "no_data", "not_submitted"} <= set(states)
    for row in rows:
        for score in row["scores"]:
            if score["status"] == "no_data":
                assert score["maximum"] == "0.00" and "不计入满分" in score["comment"]
            assert "E+" not in score["comment"]


def test_the_roll_up_equals_the_sum_of_the_children_on_the_generated_province(hunan):
    from jixiao.statistics.service import yearly_statistics

    app, _ = hunan
    with _reading(app) as (db, tenant, actor):
        stats = yearly_statistics(db, tenant, YEAR, TODAY, scope="all", actor=actor)
    assert len(stats["children"]) == 14
    for figure in (("projects", "count"), ("projects", "budget_amount"), ("filing", "targets", "units"),
                   ("filing", "monitoring", "units"), ("rectification", "issued"), ("reports", "published")):
        total = _at(stats["total"], figure)
        assert total == _at(stats["own"], figure) + sum((_at(c, figure) for c in stats["children"]), 0 * total)
        assert total > 0, figure


def test_ranking_statements_are_bounded_at_province_size(hunan, ranking):
    app, province = hunan
    campaign, rows = ranking
    base = f"/api/v1/tenants/{PROVINCE}/assessments/{campaign['id']}"
    engine = app.extensions["jixiao.db"].engine
    for path in ("/ranking", "/subjects", f"/subjects/{rows[0]['id']}"):
        province.get(base + path)
        seen: list[str] = []

        def count(conn, cursor, statement, *args, seen=seen):
            if "set_config(" not in statement:
                seen.append(statement)

        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert province.get(base + path).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        assert len(seen) <= 12, (path, len(seen))


@contextlib.contextmanager
def _reading(app):
    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped, set_scope, system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, PROVINCE)
            ids = tuple(tenancy.subtree_ids(db, tenant))
        scope = TenantScope(read_ids=ids)
        with scoped(scope) as db:
            actor = db.scalar(sa.select(User).where(User.tenant_id == tenant.id, User.active.is_(True)))
            set_scope(db, scope.with_(user_id=actor.id))
            yield db, tenant, actor


def _at(figures, path):
    for key in path:
        figures = figures[key]
    return figures
