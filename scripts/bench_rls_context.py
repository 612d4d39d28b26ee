"""Benchmark: a province-wide aggregation as the application role (row-level security) against the owner.

    JIXIAO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python scripts/bench_rls_context.py [--projects-per-county 1000] [--repeat 7]

A scratch database is made the way the tests make theirs (migrated as the owner, the tenant trees and the demo
users loaded, the app connecting as the non-owner role), then ``--projects-per-county`` projects are inserted
into every county of the first province directly as the owner. The same statement — a count and a sum over the
projects of every tenant of the province, with the ORM wall's ``tenant_id IN (…)`` filter written out — runs
as the owner (no policies) and as the application role inside the province's tenant context (written by
``jixiao.db.apply_settings``, as every request does). The median of ``--repeat`` runs of each is printed, with
the ratio app ÷ owner. Run it before and after a change to the policies; the database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from jixiao.db import TenantScope, apply_settings, create_engine  # noqa: E402
from jixiao.testing import create_test_database, drop_test_database, make_app, prepare_database  # noqa: E402

AGGREGATION = ("SELECT count(*), sum(requested_amount) FROM projects "
               "WHERE tenant_id = ANY(CAST(:ids AS integer[]))")


def fill(owner: sa.Engine, province_path: str, per_county: int) -> tuple[list[int], int]:
    with owner.begin() as connection:
        ids = list(connection.execute(sa.text("SELECT id FROM tenants WHERE path LIKE :p ORDER BY id"),
                                      {"p": province_path + "%"}).scalars())
        counties = list(connection.execute(sa.text(
            "SELECT id FROM tenants WHERE path LIKE :p AND level = 'county'"), {"p": province_path + "%"}).scalars())
        for tid in counties:
            department = connection.execute(sa.text(
                "INSERT INTO departments (tenant_id, code, name, active, version, created_at, updated_at) "
                "VALUES (:t, 'BENCH', 'bench', true, 1, now(), now()) RETURNING id"), {"t": tid}).scalar()
            connection.execute(sa.text(
                "INSERT INTO projects (tenant_id, department_id, year, code, name, kind, fund_type, category, "
                "is_new, is_key, classified, requested_amount, stage, payment_suspended, suspension_reason, "
                "version, created_at, updated_at) "
                "SELECT :t, :d, 2026, 'B' || n, 'bench ' || n, 'project', 'general_public', '', true, false, false, "
                "n * 10.5, 'draft', false, '', 1, now(), now() FROM generate_series(1, :n) AS n"),
                {"t": tid, "d": department, "n": per_county})
        connection.execute(sa.text("ANALYZE projects"))
        total = connection.execute(sa.text(AGGREGATION), {"ids": ids}).one()[0]
    return ids, total


def median_ms(engine: sa.Engine, ids: list[int], scope: TenantScope | None, repeat: int) -> tuple[float, int]:
    timings, count = [], -1
    for _ in range(repeat + 1):  # the first run warms the cache and is not counted
        with engine.begin() as connection:
            if scope is not None:
                apply_settings(connection, scope)
            started = time.perf_counter()
            count = connection.execute(sa.text(AGGREGATION), {"ids": ids}).one()[0]
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[1:]), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects-per-county", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if not os.environ.get("JIXIAO_TEST_DATABASE_URL"):
        raise SystemExit("set JIXIAO_TEST_DATABASE_URL to a PostgreSQL superuser URL")
    tmp = Path(tempfile.mkdtemp())
    database = create_test_database(tmp)
    try:
        app = make_app(database, tmp)
        prepare_database(app, demo_data=False)
        owner = create_engine(database.owner_url)
        with owner.connect() as connection:
            path = connection.execute(sa.text(
                "SELECT path FROM tenants WHERE level = 'province' ORDER BY code LIMIT 1")).scalar()
        ids, total = fill(owner, path, args.projects_per_county)
        app_engine = app.extensions["jixiao.db"].engine
        owner_ms, owner_count = median_ms(owner, ids, None, args.repeat)
        app_ms, app_count = median_ms(app_engine, ids, TenantScope(read_ids=tuple(ids)), args.repeat)
        with app_engine.begin() as connection:
            apply_settings(connection, TenantScope(read_ids=tuple(ids)))
            plan = connection.execute(sa.text("EXPLAIN " + AGGREGATION), {"ids": ids}).scalars().all()
        assert owner_count == app_count == total, (owner_count, app_count, total)
        print(f"province {path} : {len(ids)} tenants, {total} projects")
        print(f"owner           : {owner_ms:8.2f} ms")
        print(f"application role: {app_ms:8.2f} ms")
        print(f"ratio app/owner : {app_ms / owner_ms:8.2f}")
        print("plan as the application role:")
        print("\n".join("  " + line for line in plan))
        owner.dispose()
        app_engine.dispose()
    finally:
        drop_test_database(database)


if __name__ == "__main__":
    main()
