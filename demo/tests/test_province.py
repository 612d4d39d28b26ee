"""The province generator: deterministic, spread like real counties, every stage, consistent, isolated, idempotent."""

from __future__ import annotations

import collections
import hashlib
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from jixiao import rls
from jixiao.cli import demo_generator, main
from jixiao.db import TenantScope, apply_settings, create_engine, register_context_key, scoped, system_scope
from jixiao.lifecycle import scoring
from jixiao.lifecycle.models import Stage
from jixiao.tenancy import service as tenancy
from jixiao_demo.builder import Clock
from jixiao_demo.profiles import profile_for, profiles
from jixiao_demo.province import build_tenant

PROVINCE = "430000"
SEED_BUREAUS = ("431102", "430903", "430400", "540330", "511903")


def _digest(province, code: str, seed: int) -> str:
    with province.app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, code)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            clock = Clock(today=province.today, zone=ZoneInfo("Asia/Shanghai"), year=province.year)
            batch = build_tenant(db, tenant, seed, 4, clock)
            db.rollback()
    text = repr(sorted((table, repr(rows)) for table, rows in batch.rows.items())) + repr(batch.audit)
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_same_seed_gives_the_same_rows_whatever_was_built_before(province):
    seed = province.seed
    first = _digest(province, "433101", seed)
    _digest(province, "433122", seed)  # another county in between changes nothing for the first
    assert _digest(province, "433101", seed) == first
    assert _digest(province, "433101", seed + 1) != first
    assert _digest(province, "433122", seed) != first


def test_profiles_follow_the_documented_distribution():
    codes = [f"4{n:05d}" for n in range(1, 2001)]
    drawn = collections.Counter(profile_for(2026, code).name for code in codes)
    for profile in profiles():
        assert abs(drawn[profile.name] / len(codes) - profile.share) < 0.04, drawn
    assert [profile_for(2026, c) for c in codes[:50]] == [profile_for(2026, c) for c in codes[:50]]
    assert [profile_for(2026, c) for c in codes[:50]] != [profile_for(2027, c) for c in codes[:50]]


def test_counties_differ_and_a_few_filed_almost_nothing(province):
    """Filings per project (targets submitted, monthly reports, self-evaluations) spread by profile."""
    engine = province.owner_engine()
    with engine.connect() as connection:
        def per_county(sql: str) -> dict[str, float]:
            return {code: float(n) for code, n in connection.execute(sa.text(
                f"SELECT t.code, {sql} FROM projects p JOIN tenants t ON t.id = p.tenant_id "
                "WHERE p.year = :year GROUP BY t.code"), {"year": province.year}).all()}

        targets = per_county("avg((SELECT count(*) FROM target_sets s WHERE s.project_id = p.id "
                             "AND s.status IN ('submitted', 'approved')))")
        reports = per_county("avg((SELECT count(*) FROM monitoring_reports r WHERE r.project_id = p.id))")
        selfs = per_county("avg((SELECT count(*) FROM evaluations e WHERE e.project_id = p.id AND e.kind = 'self' "
                           "AND e.status = 'submitted'))")
    engine.dispose()
    filings = {code: targets[code] + reports[code] + selfs[code] for code in province.codes}
    by_profile = collections.defaultdict(list)
    for result in province.report.generated:
        by_profile[result.profile].append(filings[result.code])
    mean = {name: sum(values) / len(values) for name, values in by_profile.items()}
    assert mean["diligent"] > mean["average"] > mean["dormant"], mean
    if "lagging" in mean:
        assert mean["diligent"] > mean["lagging"] > mean["dormant"], mean
    assert max(filings.values()) > 5 * min(filings.values()), filings
    dormant = [r.code for r in province.report.generated if r.profile == "dormant"]
    assert dormant and all(targets[code] <= 0.5 for code in dormant), (dormant, targets)
    diligent = [r.code for r in province.report.generated if r.profile == "diligent"]
    assert min(reports[code] for code in diligent) > max(reports[code] for code in dormant), reports


def test_every_stage_appears_and_each_stage_matches_its_records(province):
    rows = province.rows()
    stages = collections.Counter(p["stage"] for p in rows["projects"].values())
    assert set(stages) == {s.value for s in Stage}, stages
    assert {p["kind"] for p in rows["projects"].values()} == {"project", "policy", "department_whole"}
    assert {p["fund_type"] for p in rows["projects"].values()} == {"general_public", "government_fund", "state_capital",
                                                                     "social_insurance"}
    lights = {r["light"] for r in rows["monitoring_reports"].values()} | {
        v["light"] for v in rows["monitoring_values"].values() if v["light"]}
    assert lights == {"red", "yellow", "green", "blue"}
    assert {"self", "finance", "third_party"} <= {e["kind"] for e in rows["evaluations"].values()}
    notices = list(rows["rectification_notices"].values())
    assert "verified" in {n["status"] for n in notices} and len({n["status"] for n in notices}) >= 2, notices
    assert any(n["status"] != "verified" and n["deadline"] < province.today for n in notices), "an overdue notice"
    assert any(n["status"] != "verified" and n["deadline"] >= province.today for n in notices), "an open notice"
    assert rows["result_applications"] and len(rows["result_decisions"]) == len(rows["result_applications"])
    assert any(t["published_at"] for t in rows["target_sets"].values())
    assert any(e["published_at"] for e in rows["evaluations"].values())

    by_project = collections.defaultdict(lambda: collections.defaultdict(list))
    for table in ("target_sets", "evaluations", "rectification_notices", "result_applications", "monitoring_reports",
                  "exante_assessments"):
        for row in rows[table].values():
            by_project[row["project_id"]][table].append(row)
    for project_id, project in rows["projects"].items():
        owned = by_project[project_id]
        target_status = owned["target_sets"][0]["status"] if owned["target_sets"] else None
        submitted = [e for e in owned["evaluations"] if e["status"] == "submitted"]
        notices = owned["rectification_notices"]
        decided = owned["result_applications"]
        stage = project["stage"]
        expected = {
            "draft": target_status in (None, "draft", "returned"),
            "targets_submitted": target_status == "submitted",
            "targets_approved": target_status == "approved" and project["approved_amount"] is None,
            "budgeted": project["approved_amount"] is not None and not submitted,
            "evaluated": bool(submitted) and not notices and not decided,
            "rectifying": bool(notices) and (not decided or any(n["status"] != "verified" for n in notices)),
            "closed": bool(decided) and all(n["status"] == "verified" for n in notices),
        }[stage]
        assert expected, (stage, project, dict(owned))
        if project["classified"]:
            assert not any(e["published_at"] for e in owned["evaluations"])
        for report in owned["monitoring_reports"]:
            assert report["created_at"] >= project["created_at"]
        for evaluation in submitted:
            assert evaluation["form"] and evaluation["grade"] and evaluation["total_score"] is not None


def test_each_record_has_its_creation_event_and_derived_values_hold(province):
    rows = province.rows()
    events = collections.Counter((e["object_type"], e["object_id"]) for e in rows["audit_events"].values())
    for table in ("projects", "target_sets", "monitoring_reports", "evaluations", "rectification_notices",
                  "result_applications", "exante_assessments", "departments", "agencies"):
        for record_id in rows[table]:
            assert events[(table, str(record_id))] == 1, (table, record_id)
    scores = collections.defaultdict(list)
    for score in rows["evaluation_scores"].values():
        scores[score["evaluation_id"]].append(score)
    for evaluation_id, evaluation in rows["evaluations"].items():
        if evaluation["status"] != "submitted":
            assert not scores[evaluation_id]
            continue
        form = scoring.evaluation_form(evaluation["form"], evaluation["kind"])
        total = sum((Decimal(s["score"]) for s in scores[evaluation_id]), Decimal(0))
        total += Decimal(evaluation["execution_score"]) if form.execution else 0
        assert total == Decimal(evaluation["total_score"]), evaluation_id
    for report in rows["monitoring_reports"].values():
        project = rows["projects"][report["project_id"]]
        budget = Decimal(project["approved_amount"])
        assert Decimal(report["execution_rate"]) == scoring.execution_rate(Decimal(report["executed_amount"]), budget)


def test_rows_carry_their_tenant_and_row_level_security_holds(province):
    rows = province.rows()
    tenant_of = {p_id: p["tenant_id"] for p_id, p in rows["projects"].items()}
    reports = rows["monitoring_reports"]
    for table in ("target_sets", "monitoring_reports", "evaluations", "rectification_notices", "result_applications"):
        for row in rows[table].values():
            assert row["tenant_id"] == tenant_of[row["project_id"]], table
    for value in rows["monitoring_values"].values():
        assert value["tenant_id"] == reports[value["report_id"]]["tenant_id"]
    for event in rows["audit_events"].values():
        if event["object_type"] == "projects":
            assert event["tenant_id"] == tenant_of[int(event["object_id"])]
    if province.database.kind != "postgresql":
        pytest.skip("row-level security is PostgreSQL's (SQLite has the ORM wall only)")
    counts = collections.Counter(p["tenant_id"] for p in rows["projects"].values())
    tenant_id = max(counts, key=counts.get)
    engine = create_engine(province.database.app_url)
    register_context_key(engine, rls.context_key(province.app.config))
    try:
        with engine.begin() as connection:
            assert connection.exec_driver_sql("SELECT current_user").scalar() == "jixiao_app"
            apply_settings(connection, TenantScope(read_ids=(tenant_id,)))
            for table in ("projects", "indicators", "monitoring_values", "evaluation_scores", "audit_events"):
                seen = connection.exec_driver_sql(f"SELECT count(*), min(tenant_id), max(tenant_id) FROM {table}").one()
                assert seen[0] > 0 and seen[1] == seen[2] == tenant_id, table
            assert connection.exec_driver_sql("SELECT count(*) FROM projects").scalar() == counts[tenant_id]
        with engine.begin() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM monitoring_values").scalar() == 0
    finally:
        engine.dispose()


def test_demo_load_province_twice_adds_nothing_the_second_time(province):
    runner = province.app.test_cli_runner()
    province.rows()  # the city's rows, read before the rest of the province is filled
    args = ["demo", "load", "--province", PROVINCE, "--projects-per-county", "1", "--year", str(province.year)]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "bureaus generated" in first.output and "left as they were" in first.output
    assert all(code in first.output for code in SEED_BUREAUS if code.startswith("43"))
    engine = province.owner_engine()
    with engine.connect() as connection:
        before = connection.exec_driver_sql("SELECT count(*) FROM projects").scalar()
        seeds = connection.execute(sa.text(
            "SELECT count(*) FROM projects p JOIN tenants t ON t.id = p.tenant_id WHERE t.code IN :codes")
            .bindparams(sa.bindparam("codes", expanding=True)), {"codes": list(SEED_BUREAUS)}).scalar()
    second = runner.invoke(main, args)
    assert second.exit_code == 0, second.output
    assert ": 0 bureaus generated" in second.output
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM projects").scalar() == before
    engine.dispose()
    assert seeds == 0


def test_demo_load_without_a_generator_says_what_to_install(province, monkeypatch):
    assert demo_generator("province", found=[]) is None
    monkeypatch.setattr("jixiao.cli.entry_points", lambda group: [])
    result = province.app.test_cli_runner().invoke(main, ["demo", "load", "--province", PROVINCE])
    assert result.exit_code == 1
    assert "no province demo generator is installed" in result.output and "pip install -e demo" in result.output
    assert "Traceback" not in result.output
