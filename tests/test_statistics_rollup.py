"""Upper levels see their subordinates: yearly statistics 含下级 (the roll-up and a row per child) and the league
table of the subordinates, from records made through the lifecycle services.

Xiangtan city (湘潭市 430300) and its counties, which no other test writes to, get records in 2035 (and
Yuhu in 2034, "last year"): the city itself one project; 雨湖区 (430302) three units, one project through every
stage, one filed and owing an ex-ante assessment, one with nothing filed; 岳塘区 (430304) two units, one
monitored and evaluated by a third party (not published, rectified late), one classified; 湘潭县 (430321),
韶山市 and 湘乡市 nothing at all. The expected rates below are worked out from those records by hand.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from jixiao.accounts.models import User
from jixiao.db import session
from jixiao.lifecycle.models import EvaluationKind, Light, MonitoringReport, Project
from jixiao.testing import api_login
from tests.test_statistics import (
    AHEAD,
    BEHIND,
    DESERVED,
    EXCELLENT,
    FAIR,
    FINDINGS,
    GOOD,
    ON_PLAN,
    POOR,
    Bureau,
    build,
    finance_user,
    local,
)

PROVINCE, CITY = "430000", "430300"
YUHU, YUETANG, XIANGTAN_COUNTY, XIANGXIANG, SHAOSHAN = "430302", "430304", "430321", "430381", "430382"
COUNTIES = [YUHU, YUETANG, XIANGTAN_COUNTY, XIANGXIANG, SHAOSHAN]
YEAR, LAST_YEAR, EMPTY_YEAR = 2035, 2034, 2036
DEADLINE, ISSUED, ANSWERED = date(2036, 3, 31), date(2036, 1, 10), date(2036, 2, 20)
ON_TIME, LATE = date(2036, 3, 1), date(2036, 4, 2)
MONEY = {"requested_amount", "approved_amount", "budget_amount", "amount", "amount_cut", "amount_change",
         "reductions", "increases", "idle_recovered"}


# --- the records ---------------------------------------------------------------------------------------------

def rectified(b: Bureau, evaluation: Any, verified_on: date) -> None:
    notice = b.notice(evaluation, DEADLINE, local(ISSUED))
    b.answer(notice, local(ANSWERED))
    b.verify(notice, local(verified_on))


def city_own(b: Bureau) -> dict[str, Any]:
    """One project of the city's own: budgeted, monitored, evaluated by finance, published, rectified on time."""
    [unit] = b.departments(1)
    [project] = b.projects([{"department": unit, "requested": "300000.00"}])
    b.file_targets(project)
    b.approve(project)
    b.budget(project, Decimal("300000.00"))
    b.monitor(project, 6, ON_PLAN, executed=Decimal("150000.00"))
    evaluation = b.evaluate(project, EvaluationKind.FINANCE, GOOD, findings=FINDINGS)
    b.publish(evaluation)
    rectified(b, evaluation, ON_TIME)
    return {"unit": unit.code}


def yuhu(b: Bureau) -> None:
    """Three units: p1 new, assessed ex ante, through every stage; p2 new, filed, not assessed; p3 nothing filed."""
    d1, d2, d3 = b.departments(3)
    p1, p2, _p3 = b.projects([{"department": d1, "requested": "1000000.00", "is_new": True},
                              {"department": d2, "requested": "800000.00", "is_new": True},
                              {"department": d3, "requested": "500000.00"}])
    b.file_targets(p1)
    b.approve(p1)  # a new project owes an ex-ante assessment first: approve() records one
    b.budget(p1, Decimal("1000000.00"))
    b.monitor(p1, 3, BEHIND, executed=Decimal("200000.00"))
    b.monitor(p1, 6, BEHIND, executed=Decimal("400000.00"))  # the latest report: 40% executed
    b.evaluate(p1, EvaluationKind.SELF, GOOD)
    evaluation = b.evaluate(p1, EvaluationKind.FINANCE, EXCELLENT, findings=FINDINGS)
    b.publish(evaluation)
    rectified(b, evaluation, ON_TIME)
    b.decide(evaluation, Decimal("-100000.00"), Decimal("50000.00"))
    b.file_targets(p2)


def yuhu_last_year(b: Bureau) -> None:
    """2034: two units with a project each, one filed its targets."""
    d1, d2 = b.departments(2)
    p1, _p2 = b.projects([{"department": d1}, {"department": d2}])
    b.file_targets(p1)


def yuetang(b: Bureau) -> None:
    """Two units: q1 monitored twice, evaluated by a third party, not published, rectified late; q2 classified,
    self-evaluated and evaluated by finance (withheld)."""
    e1, e2 = b.departments(2)
    q1, q2 = b.projects([{"department": e1, "requested": "2000000.00"},
                         {"department": e2, "requested": "500000.00", "classified": True}])
    for project in (q1, q2):
        b.file_targets(project)
        b.approve(project)
    b.budget(q1, Decimal("2000000.00"))
    b.budget(q2, Decimal("500000.00"))
    b.monitor(q1, 6, AHEAD, executed=Decimal("1500000.00"))
    b.monitor(q1, 9, ON_PLAN, executed=Decimal("1800000.00"))  # the latest report: 90% executed
    evaluation = b.evaluate(q1, EvaluationKind.THIRD_PARTY, FAIR, agency=b.agency(), findings=FINDINGS)
    rectified(b, evaluation, LATE)
    b.evaluate(q2, EvaluationKind.SELF, EXCELLENT)
    b.evaluate(q2, EvaluationKind.FINANCE, POOR)


@pytest.fixture(scope="module")
def tree(jixiao_app: Flask) -> dict[str, Any]:
    users = {code: finance_user(jixiao_app, code) for code in (CITY, YUHU, YUETANG)}
    made = build(jixiao_app, CITY, YEAR, city_own, users[CITY])
    build(jixiao_app, YUHU, YEAR, yuhu, users[YUHU])
    build(jixiao_app, YUHU, LAST_YEAR, yuhu_last_year, users[YUHU])
    build(jixiao_app, YUETANG, YEAR, yuetang, users[YUETANG])
    return {"users": users, "city_unit": made["unit"]}


# --- reading through the services, as a request does -----------------------------------------------------------

@contextlib.contextmanager
def reading(app: Flask, code: str, username: str) -> Iterator[tuple[Any, Any, User]]:
    """A session scoped like a request of ``username`` for the tenant ``code``: its subtree is readable."""
    from jixiao.db import TenantScope, scoped, set_scope, system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, code)
            ids = tuple(tenancy.subtree_ids(db, tenant))
        scope = TenantScope(read_ids=ids, login_username=username)
        with scoped(scope) as db:
            actor = db.scalar(sa.select(User).where(User.username == username))
            set_scope(db, scope.with_(user_id=actor.id))
            yield db, tenant, actor


def yearly(app: Flask, code: str, scope: str, year: int = YEAR, username: str = "hunan_admin") -> dict[str, Any]:
    from jixiao.statistics.service import yearly_statistics

    with reading(app, code, username) as (db, tenant, actor):
        return yearly_statistics(db, tenant, year, date(2036, 6, 30), scope=scope, actor=actor)


def league(app: Flask, code: str, username: str = "hunan_admin", **kwargs: Any) -> dict[str, Any]:
    from jixiao.statistics import service

    with reading(app, code, username) as (db, tenant, actor):
        return service.league(db, actor, tenant, kwargs.pop("year", YEAR), today=date(2036, 6, 30), **kwargs)


def figures_of(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stats.items() if k not in ("tenant", "year", "today", "code", "name", "level")}


def leaves(figures: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, value in figures.items():
        if isinstance(value, dict):
            yield from leaves(value, (*path, name))
        else:
            yield (*path, name), value


def rows_by_code(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["code"]: row for row in table["rows"]}


@contextlib.contextmanager
def count_statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run, apart from PostgreSQL's per-transaction scope settings."""
    engine = app.extensions["jixiao.db"].engine
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "set_config(" not in statement:
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


# --- 含下级: the roll-up ---------------------------------------------------------------------------------------

def test_the_roll_up_is_own_plus_the_children_for_every_figure(app, tree):
    stats = yearly(app, CITY, "all")
    assert [c["code"] for c in stats["children"]] == COUNTIES
    parts = [stats["own"], *(figures_of(c) for c in stats["children"])]
    total = dict(leaves(stats["total"]))
    every_path = {path for part in parts for path, _ in leaves(part)}
    assert every_path <= set(total)
    for path, value in total.items():
        assert value == sum((dict(leaves(part)).get(path, 0) for part in parts), 0 * value), path
    # Not trivially: the city's one unit, Yuhu's two and Yuetang's two filed targets.
    assert stats["total"]["filing"]["targets"]["units"] == 5
    assert stats["total"]["projects"]["count"] == 6
    assert stats["total"]["projects"]["budget_amount"] == Decimal("5100000.00")  # 30 + 100 + 80 + 50 + 200 + 50 万
    assert stats["total"]["evaluations"]["by_grade"] == {DESERVED[GOOD]: 1, DESERVED[EXCELLENT]: 1,
                                                        DESERVED[FAIR]: 1, DESERVED[POOR]: 1}
    assert stats["total"]["reports"] == {"published": 2, "withheld": 1, "unpublished": 1}
    assert stats["total"]["rectification"]["closed_on_time"] == 2
    assert stats["total"]["results"]["amount_change"] == Decimal("-100000.00")


def test_money_stays_decimal_and_counts_stay_integers(app, tree):
    stats = yearly(app, CITY, "all")
    for part in (stats["total"], stats["own"], *stats["children"]):
        for path, value in leaves(figures_of(part)):
            if path[-1] in MONEY:
                assert isinstance(value, Decimal) and value.as_tuple().exponent == -2, (path, value)
            else:
                assert type(value) is int, (path, value)


def test_each_childs_row_is_that_childs_own_figures(app, tree):
    stats = yearly(app, CITY, "all")
    for child in stats["children"]:
        own = yearly(app, child["code"], "own")
        assert figures_of(child) == figures_of(own), child["code"]
        assert child["name"] == own["tenant"]["name"] and child["level"] == "county"
    # The province's row for the city is the city's whole subtree, and its own row is the city's 本级.
    province = yearly(app, PROVINCE, "all")
    [xiangtan] = [c for c in province["children"] if c["code"] == CITY]
    assert figures_of(xiangtan) == stats["total"]
    assert figures_of(yearly(app, CITY, "own")) == stats["own"]
    assert len(province["children"]) == 14 and all(c["level"] == "city" for c in province["children"])
    total = dict(leaves(province["total"]))
    for path, value in total.items():
        parts = [province["own"], *(figures_of(c) for c in province["children"])]
        assert value == sum((dict(leaves(p)).get(path, 0) for p in parts), 0 * value), path


def test_the_own_scope_keeps_its_shape(app, tree):
    own = yearly(app, CITY, "own")
    assert set(own) == {"tenant", "year", "today", "projects", "exante", "filing", "evaluations", "reports",
                        "rectification", "results"}
    assert own["filing"]["targets"]["units"] == 1 and own["projects"]["count"] == 1  # not the counties'
    assert own["tenant"] == {"code": CITY, "name": "湘潭市"}


def test_the_roll_up_through_the_api(login, tree):
    body = login(tree["users"][CITY]).get(f"/api/v1/tenants/{CITY}/statistics?year={YEAR}&scope=all").get_json()
    assert body["scope"] == "all" and body["tenant"]["code"] == CITY
    assert body["total"]["projects"]["budget_amount"] == "5100000.00"
    assert body["own"]["filing"]["targets"]["units"] == 1
    assert [c["code"] for c in body["children"]] == COUNTIES
    assert body["children"][0]["filing"]["targets"]["units"] == 2 and body["children"][0]["name"] == "雨湖区"
    own = login(tree["users"][CITY]).get(f"/api/v1/tenants/{CITY}/statistics?year={YEAR}").get_json()
    assert "scope" not in own and own["filing"]["targets"]["units"] == 1
    bad = login(tree["users"][CITY]).get(f"/api/v1/tenants/{CITY}/statistics?year={YEAR}&scope=everything")
    assert bad.status_code == 400 and "scope" in bad.get_json()["error"]["fields"]


# --- the league table ------------------------------------------------------------------------------------------

def rates(cells: dict[str, Any]) -> dict[str, Any]:
    return {column: cells[column]["rate"] for column in
            ("targets", "monitoring", "self_evaluation", "execution", "exante", "rectification", "publication")}


def D(text: str) -> Decimal:  # noqa: N802 - reads like the literal it stands for
    return Decimal(text)


def test_league_rates_are_those_worked_out_by_hand(app, tree):
    table = league(app, CITY)
    rows = rows_by_code(table)
    assert [r["code"] for r in table["rows"]] == COUNTIES  # by code unless asked otherwise
    yuhu_row, yuetang_row = rows[YUHU]["current"], rows[YUETANG]["current"]
    # 雨湖区: targets 2 of 3 units; monitoring and self-evaluation 1 of 1 budgeted unit; 40万 of 100万 executed;
    # ex-ante 1 of the 2 new projects; 1 notice, closed on time; 1 report, published.
    assert rates(yuhu_row) == {"targets": D("66.67"), "monitoring": D("100.00"), "self_evaluation": D("100.00"),
                               "execution": D("40.00"), "exante": D("50.00"), "rectification": D("100.00"),
                               "publication": D("100.00")}
    assert (yuhu_row["targets"]["numerator"], yuhu_row["targets"]["denominator"]) == (2, 3)
    assert (yuhu_row["exante"]["numerator"], yuhu_row["exante"]["denominator"]) == (1, 2)
    assert (yuhu_row["execution"]["numerator"], yuhu_row["execution"]["denominator"]) == (
        Decimal("400000.00"), Decimal("1000000.00"))
    # 岳塘区: targets 2 of 2; monitoring 1 of 2 budgeted units, self-evaluation 1 of 2; 180万 of 200万 by the
    # latest report; no project owes an ex-ante assessment; the notice closed late; the one publishable report
    # (the classified one is withheld) not published.
    assert rates(yuetang_row) == {"targets": D("100.00"), "monitoring": D("50.00"), "self_evaluation": D("50.00"),
                                  "execution": D("90.00"), "exante": None, "rectification": D("0.00"),
                                  "publication": D("0.00")}
    assert yuhu_row["grades"] == {DESERVED[EXCELLENT]: 1}
    assert yuetang_row["grades"] == {DESERVED[FAIR]: 1, DESERVED[POOR]: 1}
    # The league's lights are the yearly statistics' (the monitoring reports by their light).
    assert yuhu_row["lights"] == yearly(app, YUHU, "own")["filing"]["monitoring"]["by_light"]
    assert sum(yuhu_row["lights"].values()) == 2 and sum(yuetang_row["lights"].values()) == 2
    assert set(yuhu_row["lights"]) == {light.value for light in Light}
    # The rows added up: 4 of 5 units filed targets, 2 of 3 monitored, 220万 of 300万 executed, …
    assert rates(table["total"]["current"]) == {
        "targets": D("80.00"), "monitoring": D("66.67"), "self_evaluation": D("66.67"), "execution": D("73.33"),
        "exante": D("50.00"), "rectification": D("50.00"), "publication": D("50.00")}


def test_league_bands_label_every_rate(app, tree):
    table = league(app, CITY)
    assert [c["key"] for c in table["columns"]] == ["targets", "monitoring", "self_evaluation", "execution",
                                                    "exante", "rectification", "publication"]
    assert table["columns"][0]["bands"] == [{"band": "green", "label": "较好", "min": D("80.00")},
                                            {"band": "yellow", "label": "一般", "min": D("60.00")},
                                            {"band": "red", "label": "较差", "min": D("0.00")}]
    yuhu_row, yuetang_row = rows_by_code(table)[YUHU]["current"], rows_by_code(table)[YUETANG]["current"]
    assert (yuhu_row["targets"]["band"], yuhu_row["targets"]["band_label"]) == ("yellow", "一般")  # 66.67
    assert (yuhu_row["monitoring"]["band"], yuhu_row["monitoring"]["band_label"]) == ("green", "较好")  # 100
    assert (yuhu_row["execution"]["band"], yuhu_row["execution"]["band_label"]) == ("red", "较差")  # 40
    assert (yuetang_row["rectification"]["band"], yuetang_row["rectification"]["band_label"]) == ("red", "较差")
    assert (yuetang_row["exante"]["band"], yuetang_row["exante"]["band_label"]) == (None, None)


def test_an_empty_denominator_is_null_with_the_reason(app, login, tree):
    table = league(app, CITY)
    for code in (XIANGTAN_COUNTY, XIANGXIANG, SHAOSHAN):
        cells = rows_by_code(table)[code]["current"]
        for column in ("targets", "monitoring", "self_evaluation", "execution", "exante", "rectification",
                       "publication"):
            assert cells[column]["rate"] is None and cells[column]["reason"] == "无应报事项", (code, column)
            assert cells[column]["band"] is None
    assert rows_by_code(table)[YUETANG]["current"]["exante"]["reason"] == "无应报事项"
    body = login(tree["users"][CITY]).get(f"/api/v1/tenants/{CITY}/statistics/league?year={YEAR}").get_json()
    cell = {r["code"]: r for r in body["rows"]}[XIANGTAN_COUNTY]["current"]["targets"]
    assert cell == {"numerator": 0, "denominator": 0, "rate": None, "reason": "无应报事项", "band": None,
                    "band_label": None}
    assert {r["code"]: r for r in body["rows"]}[YUHU]["current"]["targets"]["rate"] == "66.67"  # a string
    assert {r["code"]: r for r in body["rows"]}[YUHU]["current"]["execution"]["numerator"] == "400000.00"


def test_last_years_column(app, tree):
    rows = rows_by_code(league(app, CITY))
    # 2034: Yuhu's two units had a project each and one filed its targets; nothing else was owed anywhere.
    assert rates(rows[YUHU]["previous"]) == {"targets": D("50.00"), "monitoring": None, "self_evaluation": None,
                                             "execution": None, "exante": None, "rectification": None,
                                             "publication": None}
    assert set(rates(rows[YUETANG]["previous"]).values()) == {None}
    table = league(app, CITY, year=LAST_YEAR)
    assert table["year"] == LAST_YEAR and table["previous_year"] == LAST_YEAR - 1
    assert rows_by_code(table)[YUHU]["current"] == rows[YUHU]["previous"]


def test_sorting_puts_rows_without_a_rate_last(app, tree):
    def codes(**kwargs: Any) -> list[str]:
        return [r["code"] for r in league(app, CITY, **kwargs)["rows"]]

    nothing = [XIANGTAN_COUNTY, XIANGXIANG, SHAOSHAN]
    assert codes(sort="execution", order="desc") == [YUETANG, YUHU, *nothing]
    assert codes(sort="execution", order="asc") == [YUHU, YUETANG, *nothing]
    assert codes(sort="targets", order="desc") == [YUETANG, YUHU, *nothing]
    assert codes(sort="rectification", order="asc") == [YUETANG, YUHU, *nothing]
    assert codes(sort="code", order="desc") == list(reversed(COUNTIES))


def test_the_province_filters_counties_by_city(app, login, tree):
    counties = league(app, PROVINCE, level="county", city=CITY)
    assert counties["level"] == "county" and counties["city"] == {"code": CITY, "name": "湘潭市"}
    assert [r["code"] for r in counties["rows"]] == COUNTIES
    assert all(r["parent"] == {"code": CITY, "name": "湘潭市"} for r in counties["rows"])
    # The same rows as the city's own league table: one definition, whoever asks.
    city_rows = rows_by_code(league(app, CITY))
    for row in counties["rows"]:
        assert row["current"] == city_rows[row["code"]]["current"], row["code"]
    assert [r["code"] for r in league(app, PROVINCE, city=CITY)["rows"]] == COUNTIES  # a city implies its counties
    every_county = league(app, PROVINCE, level="county")
    assert len(every_county["rows"]) == 122 and {r["level"] for r in every_county["rows"]} == {"county"}
    # By default the province ranks its cities; Xiangtan's row is its whole subtree, its own project included:
    # targets 5 of 6 units, 235万 of 330万 executed, notices 2 of 3 on time, reports 2 of 3 published.
    cities = league(app, PROVINCE)
    assert cities["level"] is None and len(cities["rows"]) == 14
    assert rates(rows_by_code(cities)[CITY]["current"]) == {
        "targets": D("83.33"), "monitoring": D("75.00"), "self_evaluation": D("50.00"), "execution": D("71.21"),
        "exante": D("50.00"), "rectification": D("66.67"), "publication": D("66.67")}
    admin = login("hunan_admin")
    body = admin.get(f"/api/v1/tenants/{PROVINCE}/statistics/league?year={YEAR}&city={CITY}&sort=execution&order=desc")
    assert body.status_code == 200
    assert [r["code"] for r in body.get_json()["rows"]][:2] == [YUETANG, YUHU]


@pytest.mark.parametrize("query, field", [
    (f"city={YUHU}", "city"),          # a county, not a city
    ("city=511900", "city"),           # another province's city
    ("city=43030", "city"),            # not a code
    ("level=province", "level"),
    ("sort=score", "sort"),
    ("order=up", "order"),
    ("year=1800", "year"),
])
def test_a_bad_league_query_names_the_field(login, tree, query, field):
    response = login("hunan_admin").get(f"/api/v1/tenants/{PROVINCE}/statistics/league?{query}")
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["fields"]


def test_a_level_must_be_below_the_tenant(login, tree):
    city = login(tree["users"][CITY])
    response = city.get(f"/api/v1/tenants/{CITY}/statistics/league?level=city")
    assert response.status_code == 400 and "level" in response.get_json()["error"]["fields"]
    assert city.get(f"/api/v1/tenants/{CITY}/statistics/league?level=county").status_code == 200
    county = login("lingling_finance")
    response = county.get("/api/v1/tenants/431102/statistics/league?level=county")
    assert response.status_code == 400 and "level" in response.get_json()["error"]["fields"]
    assert county.get("/api/v1/tenants/431102/statistics/league").get_json()["rows"] == []


# --- bounded SQL -----------------------------------------------------------------------------------------------

def test_statement_counts_do_not_grow_with_tenants_or_rows(app, tree):
    from jixiao.statistics import service

    counts: dict[tuple[str, str, int], int] = {}
    for code in (XIANGTAN_COUNTY, CITY, PROVINCE):  # 0, 5 and 14 children; 1, 6 and 137 tenants
        for scope in ("own", "all"):
            for year in (YEAR, EMPTY_YEAR):
                with reading(app, code, "hunan_admin") as (db, tenant, actor), count_statements(app) as statements:
                    service.yearly_statistics(db, tenant, year, scope=scope, actor=actor)
                counts[(code, scope, year)] = len(statements)
    with app.app_context():
        figures = service.figure_statements(session())  # 1 on PostgreSQL (one batch), one per part elsewhere
    assert {n for (_c, scope, _y), n in counts.items() if scope == "own"} == {figures}, counts
    assert {n for (_c, scope, _y), n in counts.items() if scope == "all"} == {figures + 1}, counts

    league_counts = {}
    for code, kwargs in [(CITY, {}), (PROVINCE, {}), (PROVINCE, {"level": "county"}), (XIANGTAN_COUNTY, {})]:
        for year in (YEAR, EMPTY_YEAR):  # 5, 14, 122 and no rows; with records and without
            with reading(app, code, "hunan_admin") as (db, tenant, actor), count_statements(app) as statements:
                service.league(db, actor, tenant, year, **kwargs)
            league_counts[(code, tuple(kwargs), year)] = len(statements)
    assert set(league_counts.values()) == {figures + 4}, league_counts
    with reading(app, PROVINCE, "hunan_admin") as (db, tenant, actor), count_statements(app) as statements:
        service.league(db, actor, tenant, YEAR, city=CITY)
    assert len(statements) == figures + 4 + 1  # the city named


def test_the_api_runs_the_same_statements_for_a_city_and_the_province(app, tree):
    # Each user asks about their own tenant, so that authentication costs both the same.
    city, province = api_login(app, tree["users"][CITY]), api_login(app, "hunan_admin")
    pairs = [
        (f"/api/v1/tenants/{CITY}/statistics?year={YEAR}&scope=all",
         f"/api/v1/tenants/{PROVINCE}/statistics?year={YEAR}&scope=all"),
        (f"/api/v1/tenants/{CITY}/statistics/league?year={YEAR}",  # 5 rows
         f"/api/v1/tenants/{PROVINCE}/statistics/league?year={YEAR}&level=county"),  # 122 rows
    ]
    for small, large in pairs:
        measured = []
        for client, url in ((city, small), (province, large)):
            client.get(url)  # warm what is cached per process
            with count_statements(app) as statements:
                assert client.get(url).status_code == 200, url
            measured.append(len(statements))
        assert measured[0] == measured[1] <= 25, (small, measured)


# --- who may see -----------------------------------------------------------------------------------------------

def test_department_users_evaluators_and_experts_get_403(app, login, create_user, tree):
    unit = create_user(CITY, roles=["department"], department_code=tree["city_unit"])
    agency_staff = create_user(CITY, roles=["evaluator"])
    for username, code in [(unit, CITY), (agency_staff, CITY), ("lingling_dept", "431102"),
                           ("lingling_evaluator", "431102"), ("lingling_expert", "431102")]:
        client = login(username)
        for url in (f"/api/v1/tenants/{code}/statistics/league?year={YEAR}",
                    f"/api/v1/tenants/{code}/statistics?year={YEAR}&scope=all",
                    f"/t/{code}/statistics/league?year={YEAR}",
                    f"/t/{code}/statistics?year={YEAR}&scope=all"):
            assert client.get(url).status_code == 403, (username, url)
    # 本级 too: the bureau's figures are not a department's (jixiao.policy.may_read_bureau_figures).
    assert login(unit).get(f"/api/v1/tenants/{CITY}/statistics?year={YEAR}").status_code == 403
    assert login(unit).get(f"/t/{CITY}/statistics?year={YEAR}").status_code == 403


def test_upper_levels_read_down_and_nobody_reads_across(app, login, create_user, tree):
    for username in ("hunan_admin", tree["users"][CITY], create_user(CITY, roles=["auditor"]),
                     create_user(CITY, roles=["viewer"]), create_user(PROVINCE, roles=["viewer"])):
        client = login(username)
        assert client.get(f"/api/v1/tenants/{CITY}/statistics/league?year={YEAR}").status_code == 200, username
        assert client.get(f"/api/v1/tenants/{CITY}/statistics?year={YEAR}&scope=all").status_code == 200, username
    yongzhou = login("yongzhou_finance")  # another city: Xiangtan does not exist for it
    assert yongzhou.get(f"/api/v1/tenants/{CITY}/statistics/league").status_code == 404
    assert yongzhou.get(f"/t/{CITY}/statistics?scope=all").status_code == 404
    yuhu = login(tree["users"][YUHU])  # a county asking about its city
    assert yuhu.get(f"/api/v1/tenants/{CITY}/statistics/league").status_code == 403
    assert yuhu.get(f"/api/v1/tenants/{YUETANG}/statistics/league").status_code == 404  # a sibling


# --- the pages -------------------------------------------------------------------------------------------------

def test_the_yearly_page_switches_to_the_roll_up(login, tree):
    client = login(tree["users"][CITY])
    own = client.get(f"/t/{CITY}/statistics?year={YEAR}").get_data(as_text=True)
    assert "统计范围" in own and "含下级" in own and "只统计本级财政部门的记录" in own
    assert 'id="children"' not in own
    html = client.get(f"/t/{CITY}/statistics?year={YEAR}&scope=all").get_data(as_text=True)
    assert "（含下级）" in html and 'id="children"' in html and 'aria-current="page">含下级' in html
    for name in ("雨湖区", "岳塘区", "湘潭县", "湘乡市", "韶山市", "本级"):
        assert name in html, name
    assert '<td class="num">510.00</td>' in html  # the roll-up's budget, 万元
    assert "6 个单位编报绩效目标" not in html and "5 个单位编报绩效目标" in html  # the prose tells the roll-up
    assert "E+" not in html
    assert 'name="scope" value="all"' in html  # changing the year keeps the scope
    assert f'<option value="{LAST_YEAR}"' in html and f'<option value="{LAST_YEAR}"' not in own  # Yuhu's year
    county = login(tree["users"][YUHU]).get(f"/t/{YUHU}/statistics?year={YEAR}").get_data(as_text=True)
    assert 'class="scope-switch"' not in county and "下级排名表" not in county  # nothing below a county


def test_the_league_page_shows_rates_bands_and_sort_links(login, tree):
    client = login(tree["users"][CITY])
    html = client.get(f"/t/{CITY}/statistics/league?year={YEAR}&sort=execution&order=desc").get_data(as_text=True)
    assert "绩效目标填报率" in html and "事前评估覆盖率" in html and "评价报告公开率" in html
    assert "66.67%" in html and "90.00%" in html and "无应报事项" in html
    assert 'class="light light-yellow"' in html and "一般" in html and "较差" in html
    assert html.index("岳塘区") < html.index("雨湖区") < html.index("湘潭县")  # sorted, nothing owed last
    assert "sort=execution&amp;order=asc" in html  # a second click reverses
    assert "sort=targets&amp;order=desc" in html
    assert "220.00" in html and "300.00" in html  # the total's execution in 万元
    for code in ("green", "yellow", "red", "county", "city", "targets", "execution"):
        assert f">{code}<" not in html, code
    assert not re.search(r"\dE[+-]\d", html)
    province = login("hunan_admin").get(f"/t/{PROVINCE}/statistics/league?year={YEAR}&city={CITY}")
    assert province.status_code == 200
    text = province.get_data(as_text=True)
    assert "所属市" in text and f'<option value="{CITY}" selected>湘潭市</option>' in text
    bad = login("hunan_admin").get(f"/t/{PROVINCE}/statistics/league?city={YUHU}")
    assert bad.status_code == 400 and "市级财政部门" in bad.get_data(as_text=True)


# --- the bands are a setting -----------------------------------------------------------------------------------

def test_a_tenant_sets_its_own_bands(app, login, create_user, tree):
    from jixiao.statistics.service import league_bands

    admin = login(create_user(CITY, roles=["admin"]))
    execution = [{"band": "green", "label": "达标", "min": 85}, {"band": "red", "label": "未达标", "min": 0}]
    url = f"/api/v1/tenants/{CITY}/settings"
    try:
        assert admin.patch(url, json={"settings": {"statistics.league_bands": {
            "default": [{"band": "green", "label": "好", "min": "50"}, {"band": "red", "label": "差", "min": 0}],
            "execution": execution}}}).status_code == 200
        body = admin.get(f"/api/v1/tenants/{CITY}/statistics/league?year={YEAR}").get_json()
        rows = {r["code"]: r["current"] for r in body["rows"]}
        assert rows[YUETANG]["execution"]["band_label"] == "达标" and rows[YUHU]["execution"]["band_label"] == "未达标"
        assert rows[YUETANG]["monitoring"]["band_label"] == "好" and rows[YUETANG]["publication"]["band_label"] == "差"
        purple = {"execution": [{"band": "purple", "min": 1}]}
        refused = admin.patch(url, json={"settings": {"statistics.league_bands": purple}})
        assert refused.status_code == 400, refused.get_json()
        assert "settings.statistics.league_bands" in refused.get_json()["error"]["fields"]
        # One written before the setting was declared (so never checked) is refused when the table is read.
        with app.app_context():
            from jixiao.db import system_scope
            from jixiao.tenancy import service as tenancy

            with system_scope() as db:
                tenant = tenancy.get_by_code(db, CITY)
                tenant.settings = {**(tenant.settings or {}), "statistics.league_bands": purple}
                db.commit()
        response = admin.get(f"/api/v1/tenants/{CITY}/statistics/league?year={YEAR}")
        assert response.status_code == 400 and "statistics.league_bands" in response.get_json()["error"]["fields"]
    finally:
        with app.app_context():
            from jixiao.db import system_scope
            from jixiao.tenancy import service as tenancy

            with system_scope() as db:
                tenant = tenancy.get_by_code(db, CITY)
                tenant.settings = {k: v for k, v in (tenant.settings or {}).items() if k != "statistics.league_bands"}
                db.commit()
    assert league_bands({})["targets"] == []  # no setting at all: no bands
    assert league_bands({"statistics.league_bands": {"default": [{"band": "red", "label": "差", "min": 0},
                                                                 {"band": "green", "label": "好", "min": 90}]}})[
        "exante"] == [{"band": "green", "label": "好", "min": D("90.00")}, {"band": "red", "label": "差", "min": D("0.00")}]


def test_the_openapi_document_describes_the_league(app):
    spec = app.extensions["jixiao.api"].spec.to_dict()
    operation = spec["paths"]["/api/v1/tenants/{tenant_code}/statistics/league"]["get"]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} >= {"year", "sort", "order", "level",
                                                                                   "city"}
    scope = [p for p in spec["paths"]["/api/v1/tenants/{tenant_code}/statistics"]["get"]["parameters"]
             if p["name"] == "scope"]
    assert scope and scope[0]["in"] == "query"
    assert "League" in spec["components"]["schemas"]


def test_the_records_are_where_the_tests_say(app, tree):
    """The fixture's premise: no other test writes to Xiangtan, so its figures are exactly the records above."""
    from jixiao.tenancy import service as tenancy

    with reading(app, CITY, "hunan_admin") as (db, tenant, _actor):
        ids = tenancy.subtree_ids(db, tenant)
        projects = db.scalar(sa.select(sa.func.count(Project.id)).where(Project.tenant_id.in_(ids),
                                                                        Project.year == YEAR))
        reports = db.scalar(sa.select(sa.func.count(MonitoringReport.id)).join(Project).where(
            Project.tenant_id.in_(ids), Project.year == YEAR))
    assert (projects, reports) == (6, 5)
