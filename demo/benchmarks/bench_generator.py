"""Benchmark: the province generator against a plain-SQL bulk load of the same rows, side by side in one run.

    .venv/bin/python demo/benchmarks/bench_generator.py                       # SQLite and PostgreSQL, 50 and 500
    .venv/bin/python demo/benchmarks/bench_generator.py --database sqlite --size 50
    .venv/bin/python demo/benchmarks/bench_generator.py --profile gen.prof    # cProfile of the generator runs

For each database and size, two scratch databases are migrated and loaded with the tenant trees. The generator
fills the first (everything it does: reading rules, drawing, computing, writing) and hands over each tenant's
rows as it wrote them; the baseline inserts exactly those rows into the second with hand-written INSERTs and the
driver's ``executemany``, one transaction per tenant (with the tenant context on PostgreSQL, as the app role), no
ORM and no rule computation — only turning values into what the driver takes. The ratio is generator ÷ baseline.

At 500 projects per county a whole province has tens of millions of rows; that size runs over the counties of
``--city`` (and the city itself), which is said in the output.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"

# The baseline's statements, written out: what a hand-made bulk loader of these tables would send.
INSERTS = {
    "departments": "INSERT INTO departments (id, tenant_id, code, name, parent_id, active, version, created_at, "
                   "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "agencies": "INSERT INTO agencies (id, tenant_id, name, contact, agency_type, barred, bar_reason, version, "
                "active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "projects": "INSERT INTO projects (id, tenant_id, department_id, year, code, name, kind, fund_type, category, "
                "is_new, is_key, classified, requested_amount, approved_amount, adjusted_amount, stage, "
                "payment_suspended, suspension_reason, created_by_id, version, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "exante_assessments": "INSERT INTO exante_assessments (id, tenant_id, project_id, scores, comments, total_score, "
                          "reviewer_ids, conclusion, amount_cut, assessed_at, version, created_at, updated_at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "target_sets": "INSERT INTO target_sets (id, tenant_id, project_id, overall_target, status, submitted_at, "
                   "reviewed_at, reviewer_id, review_comment, published_at, version, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "indicators": "INSERT INTO indicators (id, tenant_id, target_set_id, position, level1, level2, name, direction, "
                  "target_value, target_text, unit, nature, weight, catalog_code) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "monitoring_reports": "INSERT INTO monitoring_reports (id, tenant_id, project_id, period, executed_amount, "
                          "execution_rate, light, cause, measure, warnings, response, response_note, response_due, "
                          "responded_at, submitted_by_id, version, created_at, updated_at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "monitoring_values": "INSERT INTO monitoring_values (tenant_id, report_id, indicator_id, actual_value, "
                         "attainment, light, band, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "evaluations": "INSERT INTO evaluations (id, tenant_id, project_id, kind, status, agency_id, sample_id, "
                   "executed_amount, execution_score, total_score, grade, summary, findings, internal_comment, "
                   "evaluator_id, submitted_at, published_at, quality_score, quality_comment, form, version, "
                   "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "evaluation_scores": "INSERT INTO evaluation_scores (tenant_id, evaluation_id, indicator_id, form_code, position, "
                         "group_name, level2, name, actual_value, band, band_fraction, points, score, note) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "rectification_notices": "INSERT INTO rectification_notices (id, tenant_id, evaluation_id, project_id, problems, "
                             "deadline, status, measures, answered_at, verified_at, verifier_id, return_reason, "
                             "issued_by_id, version, created_at, updated_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "result_applications": "INSERT INTO result_applications (id, tenant_id, evaluation_id, project_id, grade, "
                           "suggested_action, decision, decision_note, amount_change, idle_recovered, next_year, "
                           "decided_by_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "result_decisions": "INSERT INTO result_decisions (tenant_id, evaluation_id, project_id, grade, suggested_action, "
                        "decision, decision_note, amount_change, idle_recovered, next_year, decided_by_id, decided_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "audit_events": "INSERT INTO audit_events (tenant_id, at, actor_id, actor_name, action, object_type, object_id, "
                    "before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
}


def _columns(sql: str) -> list[str]:
    return [c.strip() for c in sql.split("(", 1)[1].split(")", 1)[0].split(",")]


COLUMNS = {table: _columns(sql) for table, sql in INSERTS.items()}


def _sqlite_value(value: Any) -> Any:
    """What sqlite3 takes: text for exact numbers and times (as the app stores them), JSON as text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _postgres_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


def baseline(app_url: str, kind: str, batches: list[Any], context_key: bytes | None = None) -> float:
    """Insert the batches' rows with plain SQL; the seconds it took (``context_key`` signs the tenant context)."""
    from jixiao.db import TenantScope

    if kind == "sqlite":
        connection = sqlite3.connect(app_url.removeprefix("sqlite:///"), timeout=30)
        connection.execute("PRAGMA foreign_keys=ON")
        convert, marker = _sqlite_value, "?"
    else:
        import psycopg

        connection = psycopg.connect(app_url.replace("postgresql+psycopg://", "postgresql://"))
        convert, marker = _postgres_value, "%s"
    statements = {table: sql.replace("?", marker) for table, sql in INSERTS.items()}
    started = time.perf_counter()
    for batch in batches:
        cursor = connection.cursor()
        if kind != "sqlite":
            # The signed context, as jixiao.db.apply_settings writes it: row-level security verifies its MAC.
            settings = TenantScope(read_ids=(batch.tenant_id,), write_id=batch.tenant_id).settings(context_key)
            cursor.execute("SELECT " + ", ".join("set_config(%s, %s, true)" for _ in settings),
                           [part for item in settings.items() for part in item])
        for table, rows in [*batch.rows.items(), ("audit_events", batch.audit)]:
            if rows:
                columns = COLUMNS[table]
                cursor.executemany(statements[table], [tuple(convert(row[c]) for c in columns) for row in rows])
        connection.commit()
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def scratch(kind: str, tmp: Path) -> Any:
    """A migrated scratch database with the tenant trees loaded, and an app on it (as the tests make them)."""
    from jixiao.testing import create_test_database, make_app, prepare_database

    if kind == "postgresql":
        os.environ["JIXIAO_TEST_DATABASE_URL"] = os.environ.get("JIXIAO_BENCH_DATABASE_URL", POSTGRES)
    else:
        os.environ.pop("JIXIAO_TEST_DATABASE_URL", None)
    database = create_test_database(tmp)
    app = make_app(database, tmp / f"instance-{id(database)}", REDIS_URL=None)
    prepare_database(app, demo_data=False)
    return database, app


def run(kind: str, size: int, province: str, city: str, seed: int, profiler: cProfile.Profile | None,
        copy: bool = True) -> dict[str, Any]:
    from jixiao.testing import drop_test_database
    from jixiao_demo.province import generate

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        generated_db, app = scratch(kind, tmp)
        baseline_db, baseline_app = scratch(kind, tmp)
        only = None
        if size >= 500:
            with app.app_context():
                from jixiao.db import system_scope
                from jixiao.tenancy import service as tenancy

                with system_scope() as db:
                    parent = tenancy.get_by_code(db, city)
                    only = {t.code for t in tenancy.children(db, parent)} | {city}
        batches: list[Any] = []
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        report = generate(app, province, size, seed, only=only, copy=copy, on_batch=batches.append)
        generator_seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
        from jixiao import rls

        baseline_seconds = baseline(baseline_db.app_url, kind, batches, rls.context_key(baseline_app.config))
        rows = sum(report.rows.values())
        for database, application in ((generated_db, app), (baseline_db, baseline_app)):
            application.extensions["jixiao.db"].engine.dispose()
            drop_test_database(database)
    return {"database": kind, "size": size, "scope": f"{city} and its counties" if only else f"province {province}",
            "bureaus": len(report.generated), "projects": report.rows.get("projects", 0), "rows": rows,
            "generator": generator_seconds, "baseline": baseline_seconds, "ratio": generator_seconds / baseline_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--size", type=int, action="append", help="projects per county (repeatable; default 50 and 500)")
    parser.add_argument("--province", default="430000")
    parser.add_argument("--city", default="430100", help="the city whose counties the 500 run fills")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", help="write a cProfile of the generator runs to this file")
    parser.add_argument("--no-copy", action="store_true", help="PostgreSQL: the generator writes with executemany only")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    profiler = cProfile.Profile() if args.profile else None
    results = []
    print(f"{'database':<11}{'size':>5}  {'scope':<26}{'bureaus':>8}{'projects':>9}{'rows':>10}"
          f"{'generator':>11}{'baseline':>10}{'ratio':>7}", flush=True)
    for kind in kinds:
        for size in args.size or [50, 500]:
            result = run(kind, size, args.province, args.city, args.seed, profiler, copy=not args.no_copy)
            results.append(result)
            print(f"{result['database']:<11}{result['size']:>5}  {result['scope']:<26}{result['bureaus']:>8}"
                  f"{result['projects']:>9}{result['rows']:>10}{result['generator']:>10.1f}s{result['baseline']:>9.1f}s"
                  f"{result['ratio']:>6.2f}×", flush=True)
    if profiler:
        profiler.dump_stats(args.profile)
    if any(r["ratio"] > 3 for r in results):
        sys.exit("the generator is more than 3× the baseline")


if __name__ == "__main__":
    main()
