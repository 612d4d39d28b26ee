"""Benchmark: Jixiao's hot paths against plain baselines doing the same work, side by side in one run.

    python3.11 dev.py bench                     # every Hunan county with 50 projects (about 6,500 projects)
    python3.11 dev.py bench --quick             # 长沙市 and its counties with 50 projects each: a few minutes
    python3.11 dev.py bench --only list scan    # some paths only (list pages statistics finalize scan import export)
    python3.11 dev.py bench --quick --only pages growth   # growth (not in the default set) changes the database
    python3.11 dev.py bench --projects-per-county 500 --city 430100    # the larger size, on one city

A scratch PostgreSQL database is made with the production role split (migrated as the owner, the app as the
non-owner role ``jixiao_app`` under row-level security; ``JIXIAO_BENCH_DATABASE_URL`` names the server, default
``postgresql://postgres@127.0.0.1:5432/postgres``) and filled by the province generator; it is dropped at the
end. Each path runs its Jixiao side and its baseline alternately (interleaved, the order swapped every
repetition), after checking that the baseline gives Jixiao's answer; the table shows medians and the ratio
Jixiao ÷ baseline against the goal of issue 14. What each baseline does is in ``benchmarks/paths.py``,
``benchmarks/bare_app.py``, ``benchmarks/pages.py`` and ``benchmarks/bare_pages.py``, and docs/performance.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import pages, paths, serving  # noqa: E402
from benchmarks.province import LIST_COUNTY, PROVINCE, QUICK_CITY, SECRET_KEY, Province, build  # noqa: E402

PATHS = ("list", "pages", "statistics", "finalize", "scan", "import", "export", "growth")
#: growth adds ten times the province's projects (a second year) and leaves them: asked for by name, run last.
DEFAULT_PATHS = tuple(p for p in PATHS if p != "growth")
CLIENTS = (1, 8, 32)
JIXIAO_PORT, BARE_PORT, BARE_PAGES_PORT = 18761, 18762, 18763


@dataclasses.dataclass
class Row:
    path: str
    jixiao: str
    baseline: str
    ratio: float | None
    goal: str


def median(values: list[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def same(label: str, jixiao: Any, baseline: Any) -> None:
    """Stop the run if the baseline's answer is not Jixiao's (a baseline that does less work proves nothing)."""
    if jixiao == baseline:
        print(f"  {label}: the baseline's answer is Jixiao's", flush=True)
        return
    if isinstance(jixiao, dict) and isinstance(baseline, dict):
        differing = [k for k in sorted(set(jixiao) | set(baseline), key=str) if jixiao.get(k) != baseline.get(k)]
        detail = "; ".join(f"{k}: {jixiao.get(k)!r} ≠ {baseline.get(k)!r}" for k in differing[:3])
    elif isinstance(jixiao, list) and isinstance(baseline, list):
        differing = [i for i, (a, b) in enumerate(zip(jixiao, baseline, strict=False)) if a != b]
        detail = f"{len(jixiao)} vs {len(baseline)} rows; " + "; ".join(
            f"row {i}: {jixiao[i]!r} ≠ {baseline[i]!r}" for i in differing[:2])
    else:
        detail = f"{str(jixiao)[:300]} ≠ {str(baseline)[:300]}"
    raise SystemExit(f"{label}: the baseline's answer differs from Jixiao's — {detail}")


def interleaved(repeat: int, jixiao: Any, baseline: Any) -> tuple[list[paths.Outcome], list[paths.Outcome]]:
    """Run the two sides ``repeat`` times each, alternately, swapping which goes first every repetition."""
    ours: list[paths.Outcome] = []
    theirs: list[paths.Outcome] = []
    for index in range(repeat):
        for side in ((jixiao, ours), (baseline, theirs))[:: 1 if index % 2 == 0 else -1]:
            side[1].append(side[0]())
    return ours, theirs


def timed_row(path: str, ours: list[paths.Outcome], theirs: list[paths.Outcome], goal: str) -> Row:
    mine, base = median([o.seconds for o in ours]), median([o.seconds for o in theirs])
    return Row(path, ms(mine), ms(base), mine / base, goal)


# ---- HTTP: the project list under load ---------------------------------------------------------------------


def servers(province: Province) -> tuple[serving.Server, serving.Server]:
    from jixiao import rls

    common = {k: v for k, v in os.environ.items() if not k.startswith(("JIXIAO_", "BENCH_"))}
    jixiao_env = {**common, "JIXIAO_ENV": "production", "JIXIAO_DATABASE_URL": province.database.app_url,
                  "JIXIAO_MIGRATION_DATABASE_URL": province.database.owner_url, "JIXIAO_SECRET_KEY": SECRET_KEY,
                  "JIXIAO_INSTANCE_PATH": str(province.folder / "instance")}
    bare_env = {**common, "BENCH_DATABASE_URL": paths.psycopg_url(province),
                "BENCH_CONTEXT_KEY": rls.context_key({"SECRET_KEY": SECRET_KEY}).hex()}
    return (serving.Server("jixiao", "jixiao.app:create_app()", JIXIAO_PORT, jixiao_env,
                           province.folder / "gunicorn-jixiao.log"),
            serving.Server("bare", "benchmarks.bare_app:create_app()", BARE_PORT, bare_env,
                           province.folder / "gunicorn-bare.log"))


Auth = str | dict[str, str] | Callable[[], str | dict[str, str]]


def load_runs(label: str, sides: list[tuple[str, str]], auth: Auth, clients: int, seconds: float,
              repeat: int) -> dict[str, list[dict[str, float]]]:
    """Each side's URL under load ``repeat`` times, alternately (the order swapped every repetition). ``auth``: a
    token, headers, or a function making them anew for every load (a browser session, fresh each time)."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _url in sides}
    for index in range(repeat):
        for name, url in sides[:: 1 if index % 2 == 0 else -1]:
            said = auth() if callable(auth) else auth
            serving.get(url, said)  # answers 200 with these headers (wrk would not count a redirect as failed)
            result = serving.run_load(url, said, clients, seconds)
            if result["errors"]:
                raise SystemExit(f"{label}, {name}: {result['errors']:.0f} failed requests at {clients} clients")
            runs[name].append(result)
            print(f"  {label} {clients:>2} clients {name:<6} p50 {result['p50']:8.2f} ms  "
                  f"p99 {result['p99']:8.2f} ms  {result['rps']:7.1f} req/s", flush=True)
    return runs


def load_rows(label: str, jixiao_url: str, bare_url: str, auth: Auth, seconds: float, repeat: int) -> list[Row]:
    """Jixiao and its baseline under load at 1, 8 and 32 clients: rows of the median p50 (with the rate) and p99."""
    rows = []
    for clients in CLIENTS:
        runs = load_runs(label.split(",")[0], [("jixiao", jixiao_url), ("bare", bare_url)], auth, clients, seconds,
                         repeat)
        for percentile in ("p50", "p99"):
            mine = median([r[percentile] for r in runs["jixiao"]])
            base = median([r[percentile] for r in runs["bare"]])
            rate = median([r["rps"] for r in runs["jixiao"]]), median([r["rps"] for r in runs["bare"]])
            rows.append(Row(f"{label}, {clients} client{'s' if clients > 1 else ''}, {percentile}",
                            f"{mine:,.1f} ms ({rate[0]:,.0f}/s)" if percentile == "p50" else f"{mine:,.1f} ms",
                            f"{base:,.1f} ms ({rate[1]:,.0f}/s)" if percentile == "p50" else f"{base:,.1f} ms",
                            mine / base, "≤ 2×"))
    return rows


def measure_list(province: Province, jixiao: serving.Server, bare: serving.Server, seconds: float,
                 repeat: int) -> list[Row]:
    path = f"/api/v1/tenants/{province.county_code}/projects?per_page=50"
    token = province.county_token
    ours, theirs = json.loads(serving.get(jixiao.base + path, token)), json.loads(serving.get(bare.base + path, token))
    same("project list", ours, theirs)
    statements, _ = paths.api_statements(province, path, token)
    print(f"  project list: {len(ours['items'])} of {ours['total']} projects, {statements} statements per request "
          f"(Jixiao; the baseline sends 5)", flush=True)
    return load_rows("JSON project list, page of 50", jixiao.base + path, bare.base + path, token, seconds, repeat)


def measure_pages(province: Province, jixiao: serving.Server, bare: serving.Server, seconds: float,
                  repeat: int) -> list[Row]:
    """The project list page and the to-do page (HTML, a browser session) and the public results page (no login),
    each against the bare app rendering the same template."""
    username = f"bench-{LIST_COUNTY}-finance"
    facts = pages.check_list_page(province, jixiao, bare)
    statements = pages.page_statements(province, pages.LIST_PAGE, username)
    print(f"  project list page: Jixiao {statements} statements per request, the baseline 9", flush=True)
    rows = load_rows(f"HTML project list page, {len(facts['rows'])} of {facts['total']} projects",
                     jixiao.base + pages.LIST_PAGE, bare.base + pages.LIST_PAGE,
                     lambda: pages.browser(province, username), seconds, repeat)
    todos = pages.check_todo_page(province, jixiao, bare)
    statements = pages.page_statements(province, pages.TODO_PAGE, username)
    print(f"  to-do page: Jixiao {statements} statements per request, the baseline 9", flush=True)
    rows += load_rows(f"HTML to-do page, {todos} to-dos", jixiao.base + pages.TODO_PAGE,
                      bare.base + pages.TODO_PAGE, lambda: pages.browser(province, username), seconds, repeat)
    code = pages.public_county(province)
    public = f"/public/{code}/"
    published = pages.check_public_page(jixiao, bare, code)
    statements = pages.page_statements(province, public, None)
    print(f"  public results page: Jixiao {statements} statements per request, the baseline 6", flush=True)
    rows += load_rows(f"HTML public results page (公开) of {code}, {published['targets']} targets and "
                      f"{published['evaluations']} evaluations", jixiao.base + public, bare.base + public, {},
                      seconds, repeat)
    return rows


def memory_row(jixiao: serving.Server, bare: serving.Server) -> Row:
    mine, base = jixiao.worker_rss_mb(), bare.worker_rss_mb()
    return Row("gunicorn worker RSS after the load (largest worker)", f"{max(mine):,.0f} MB",
               f"{max(base):,.0f} MB", None, "≤ 150 MB")


# ---- The other paths ---------------------------------------------------------------------------------------


def measure_statistics(province: Province, jixiao: serving.Server, repeat: int) -> list[Row]:
    requests = 5
    same("province statistics", paths.statistics_jixiao(jixiao.base, province, 1).answer,
         paths.statistics_baseline(province, 1).answer)
    path = f"/api/v1/tenants/{PROVINCE}/statistics?year={province.year}&scope=all"
    statements, _ = paths.api_statements(province, path, province.province_token)
    ours, theirs = interleaved(repeat, lambda: paths.statistics_jixiao(jixiao.base, province, requests),
                               lambda: paths.statistics_baseline(province, requests))
    print(f"  statistics: Jixiao {statements} statements per request, the baseline 2", flush=True)
    rows = [timed_row("province yearly statistics, scope=all (API vs one SQL)", ours, theirs, "≤ 2×")]
    if province.city_token:
        same("city statistics", pages.city_statistics_jixiao(jixiao.base, province, 1).answer,
             pages.city_statistics_baseline(province, 1).answer)
        path = f"/api/v1/tenants/{QUICK_CITY}/statistics?year={province.year}&scope=all"
        statements, _ = paths.api_statements(province, path, province.city_token)
        ours, theirs = interleaved(repeat, lambda: pages.city_statistics_jixiao(jixiao.base, province, requests),
                                   lambda: pages.city_statistics_baseline(province, requests))
        print(f"  city statistics ({QUICK_CITY}): Jixiao {statements} statements per request, the baseline 2",
              flush=True)
        rows.append(timed_row(f"city yearly statistics, scope=all ({QUICK_CITY}, API vs one SQL)", ours, theirs,
                              "≤ 2×"))
    return rows


def measure_growth(province: Province, jixiao: serving.Server, seconds: float, repeat: int) -> list[Row]:
    """The list county's JSON list and list page (Jixiao, one client) before and after the rest of the province
    grows tenfold: rows of the grown median against the median before, each with its repetitions' range."""
    username = f"bench-{LIST_COUNTY}-finance"
    targets: dict[str, tuple[str, Auth]] = {
        "JSON list": (f"/api/v1/tenants/{LIST_COUNTY}/projects?per_page=50", province.county_token),
        "list page": (pages.LIST_PAGE, lambda: pages.browser(province, username))}

    def measure(phase: str) -> dict[str, list[dict[str, float]]]:
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for index in range(repeat):
            for name, (path, auth) in list(targets.items())[:: 1 if index % 2 == 0 else -1]:
                runs[name] += load_runs(f"growth {phase} {name}", [("jixiao", jixiao.base + path)], auth, 1, seconds,
                                        1)["jixiao"]
        return runs

    before = measure("before")
    added, took = pages.grow(province)
    print(f"  growth: generated and analysed in {took:.0f} s", flush=True)
    after = measure("after")
    rows = []

    def spread(values: list[float]) -> str:
        return f"{median(values):,.1f} ms ({min(values):,.1f}–{max(values):,.1f})"

    for name in targets:
        for percentile in ("p50", "p99"):
            then, now = [r[percentile] for r in before[name]], [r[percentile] for r in after[name]]
            rows.append(Row(f"small county {LIST_COUNTY}'s {name}, 1 client, {percentile}: after the rest of the "
                            f"province grew 10× (+{added:,} projects) vs before", spread(now), spread(then),
                            median(now) / median(then), "no growth (within the range)"))
    return rows


def measure_finalize(province: Province, repeat: int) -> list[Row]:
    campaign_id = paths.open_campaign(province)
    prepared = paths.metrics_statement(province, campaign_id)
    subjects = len(prepared[1]["subjects"])
    first = paths.finalize_jixiao(province, campaign_id)
    base = paths.finalize_baseline(province, campaign_id, prepared)
    same("campaign finalise", first.answer, base.answer)
    ours, theirs = interleaved(repeat - 1, lambda: paths.finalize_jixiao(province, campaign_id),
                               lambda: paths.finalize_baseline(province, campaign_id, prepared))
    ours, theirs = [first, *ours], [base, *theirs]
    paths.finalize_jixiao(province, campaign_id, reopen=False)
    ranking, answer = paths.api_statements(
        province, f"/api/v1/tenants/{PROVINCE}/assessments/{campaign_id}/ranking", province.province_token)
    print(f"  finalise: {subjects} subjects, Jixiao {first.statements} statements, the baseline 2; ranking API "
          f"{ranking} statements for {len(answer)} subjects", flush=True)
    return [timed_row(f"campaign finalise, {subjects} counties (vs one SQL aggregation)", ours, theirs, "≤ 3×"),
            Row(f"campaign ranking API, {len(answer)} subjects (statements)", str(ranking), "—", None, "≤ 12")]


def measure_scan(province: Province, repeat: int) -> list[Row]:
    inputs = paths.scan_inputs(province)
    first, base = paths.scan_jixiao(province), paths.scan_baseline(province, inputs)
    same("daily scan", first.answer, base.answer)
    ours, theirs = interleaved(repeat - 1, lambda: paths.scan_jixiao(province),
                               lambda: paths.scan_baseline(province, inputs))
    ours, theirs = [first, *ours], [base, *theirs]
    print(f"  scan: {len(inputs[1])} tenants, {len(first.answer['notifications'])} notifications, "
          f"{len(first.answer['suspended'])} suspensions; statements Jixiao {first.statements}, "
          f"the baseline {base.statements}", flush=True)
    return [timed_row("daily monitoring and rectification scan (vs set-based SQL)", ours, theirs, "≤ 3×"),
            Row("daily scan statements", str(first.statements), str(base.statements),
                first.statements / base.statements if first.statements and base.statements else None,
                "grow with tenants, not rows")]


def measure_excel(province: Province, rows: int, repeat: int, which: set[str]) -> list[Row]:
    found = []
    if "import" in which:
        ours, theirs = [], []
        for index in range(repeat):
            # A new file each time (new codes): the projects a run creates stay, so the next must not repeat them.
            data = paths.project_list_file(province, rows, f"R{index}")
            if index % 2 == 0:
                mine = paths.import_jixiao(province, data)
                base = paths.import_baseline(data)
            else:
                base = paths.import_baseline(data)
                mine = paths.import_jixiao(province, data)
            if index == 0:
                same("Excel import", mine.answer, base.answer)
            ours.append(mine)
            theirs.append(base)
        print(f"  import: Jixiao {ours[0].statements} statements for {rows:,} rows", flush=True)
        found.append(timed_row(f"Excel import, {rows:,} projects (vs openpyxl read-only parse)", ours, theirs, "≤ 3×"))
    if "export" in which:
        labels = paths.export_labels()
        first, base = paths.export_jixiao(province), paths.export_baseline(province, labels)
        same("Excel export", first.answer, base.answer)
        ours, theirs = interleaved(repeat - 1, lambda: paths.export_jixiao(province),
                                   lambda: paths.export_baseline(province, labels))
        print(f"  export: Jixiao {first.statements} statements for {len(first.answer):,} rows, the baseline 2",
              flush=True)
        found.append(timed_row(f"Excel export, {len(first.answer):,} projects (vs SELECT + openpyxl write-only)",
                               [first, *ours], [base, *theirs], "≤ 2×"))
    return found


# ---- The run -----------------------------------------------------------------------------------------------


def machine(province: Province | None) -> str:
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    version = ""
    if province is not None:
        import sqlalchemy as sa

        with province.owner.connect() as connection:
            version = connection.execute(sa.text("SHOW server_version")).scalar_one()
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} cores ({platform.machine()}) · "
            f"{int(memory) / 1024 / 1024:.1f} GB memory · PostgreSQL {version} · Python {platform.python_version()} · "
            f"load: {serving.load_generator()}")


def table(rows: list[Row]) -> str:
    lines = ["| path | Jixiao | baseline | ratio | goal |", "|---|---|---|---|---|"]
    for row in rows:
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
        lines.append(f"| {row.path} | {row.jixiao} | {row.baseline} | {ratio} | {row.goal} |")
    return "\n".join(lines)


def measure_all(province: Province, which: set[str], args: argparse.Namespace, import_rows: int) -> list[Row]:
    """Every path asked for, in order (growth last: it changes the database); the servers stopped at the end."""
    rows: list[Row] = []
    jixiao = bare = bare_pages = None
    try:
        if which & {"list", "pages", "statistics", "growth"}:
            jixiao, bare = servers(province)
            probe = f"/api/v1/tenants/{province.county_code}/projects?per_page=1"
            jixiao.start(probe, province.county_token)
            if "list" in which:
                bare.start(probe, province.county_token)
                rows += measure_list(province, jixiao, bare, args.seconds, args.repeat)
                rows.append(memory_row(jixiao, bare))
            if "pages" in which:
                bare_pages = pages.bare_server(province, BARE_PAGES_PORT)
                bare_pages.start(pages.LIST_PAGE, pages.browser(province, f"bench-{LIST_COUNTY}-finance"))
                rows += measure_pages(province, jixiao, bare_pages, args.seconds, args.repeat)
            if "statistics" in which:
                rows += measure_statistics(province, jixiao, args.repeat)
        if "finalize" in which:
            rows += measure_finalize(province, args.repeat)
        if "scan" in which:
            rows += measure_scan(province, args.repeat)
        if which & {"import", "export"}:
            rows += measure_excel(province, import_rows, args.repeat, which)
        if "growth" in which and jixiao is not None:
            rows += measure_growth(province, jixiao, args.seconds, args.repeat)
    finally:
        for server in (jixiao, bare, bare_pages):
            if server is not None:
                server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"one city ({QUICK_CITY} and its counties), 2,000-row import")
    parser.add_argument("--only", nargs="+", choices=PATHS,
                        help="measure these paths only (default: all but growth, which changes the database)")
    parser.add_argument("--projects-per-county", type=int, default=50)
    parser.add_argument("--city", help="fill only this city and its counties (default: the whole province)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of each HTTP load (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of every measurement (default 3)")
    parser.add_argument("--import-rows", type=int, help="rows of the Excel import (default 10,000; quick 2,000)")
    parser.add_argument("--markdown", type=Path, help="also write the results (machine, size, table) to this file")
    args = parser.parse_args()
    which = set(args.only or DEFAULT_PATHS)
    city = args.city or (QUICK_CITY if args.quick else None)
    import_rows = args.import_rows or (2000 if args.quick else 10000)
    if serving.load_generator() != "wrk":
        print("wrk is not installed (Debian: apt-get install wrk): the HTTP load uses the benchmark's threaded "
              "Python client instead, which is slower and measures less precisely", flush=True)
    started = time.monotonic()
    print(f"building the province: {args.projects_per_county} projects per county, "
          f"{'city ' + city if city else 'province ' + PROVINCE} …", flush=True)
    province = build(args.projects_per_county, city=city)
    size = (f"{province.projects:,} projects in {province.bureaus} generated bureaus "
            f"({args.projects_per_county} per county, {'city ' + city + ' and its counties' if city else 'all of Hunan'})")
    print(f"  {size}, built in {time.monotonic() - started:.0f} s", flush=True)
    try:
        rows = measure_all(province, which, args, import_rows)
        described = machine(province)
    finally:
        province.drop()
    report = f"{described}\n\nSize: {size}; {args.repeat} repetitions"
    if which & {"list", "pages", "growth"}:
        report += f", {args.seconds:g} s of load each"
    report += f"; run took {(time.monotonic() - started) / 60:.1f} min.\n\n{table(rows)}\n"
    print("\n" + report, flush=True)
    if args.markdown:
        args.markdown.write_text(report)


if __name__ == "__main__":
    main()
