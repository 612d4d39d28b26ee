"""The HTML pages, the city's statistics and a small county under a growing province: set-up and checks.

- **pages**: ``GET /t/<county>/projects`` (the project list page) and ``GET /t/<county>/todo`` (the to-do page)
  as the county's finance user with a browser session, and ``GET /public/<county>/`` (the public results page,
  公开: no login) of the generated county with the most published records, each against ``benchmarks/bare_pages.py`` rendering the same template file with the
  same context. The
  session cookie is made as Jixiao's login makes one (``jixiao.accounts.sessions.begin`` in a request of the app,
  signed with its secret), fresh for every load so that no load outlives the session's idle limit; the load sends
  it with a fixed User-Agent (Flask-Login's session protection hashes the address and the agent). Before anything
  is timed the two pages are compared whole, line by line, every CSRF token masked (each session draws its own).
- **city statistics**: ``GET …/430100/statistics?year=&scope=all`` (含下级) as 长沙市's finance user, against the
  province statistics' one set-based statement (``paths.STATISTICS_SQL``) over the city's counties.
- **growth**: the list county's JSON list and list page at the run's size; then the generator fills the budget year
  before this one with ten times the projects per county in every other generated bureau (``generate`` leaves a
  bureau that has projects of the year alone, so the growth is a second year: the county's own projects and the
  pages' year are unchanged), ANALYZE, and the same loads again. Reported with the spread of the repetitions.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import time
import urllib.request
from decimal import Decimal
from typing import Any

from benchmarks import paths, serving
from benchmarks.province import LIST_COUNTY, PROVINCE, QUICK_CITY, SECRET_KEY, Province

USER_AGENT = "jixiao-bench"
LIST_PAGE = f"/t/{LIST_COUNTY}/projects"
TODO_PAGE = f"/t/{LIST_COUNTY}/todo"
CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]*(")')


# ---- Browser sessions -------------------------------------------------------------------------------------


def session_cookie(province: Province, username: str) -> str:
    """The value of a session cookie for ``username``, begun as Jixiao's login begins one (second factor not
    verified: the benchmark's users need none) and signed with the app's secret."""
    import flask

    from jixiao.accounts import sessions
    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped

    app = province.app
    user_id = province.users[username]
    with app.test_request_context("/login", headers={"User-Agent": USER_AGENT},
                                  environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        with scoped(TenantScope(user_id=user_id)) as db:
            sessions.begin(db.get_one(User, user_id), second_factor_verified=False)
            values = dict(flask.session)
            db.rollback()
        serializer = app.session_interface.get_signing_serializer(app)
        return str(serializer.dumps(values))


def browser(province: Province, username: str) -> dict[str, str]:
    """The headers of a browser logged in as ``username``: a new session each call."""
    name = province.app.config.get("SESSION_COOKIE_NAME", "session")
    return {"Cookie": f"{name}={session_cookie(province, username)}", "User-Agent": USER_AGENT}


# ---- The bare page app ------------------------------------------------------------------------------------


def bare_config(province: Province, codes: list[str]) -> dict[str, Any]:
    """What bare_pages.py is given: Jixiao's URL rules, the session limits and the second factor's roles as the
    served (production) Jixiao has them, and the rules of each tenant in ``codes`` as the list page uses them,
    worked out by Jixiao (untimed)."""
    from jixiao.catalog import service as catalog
    from jixiao.config import load_config
    from jixiao.lifecycle import common
    from jixiao.statistics.service import current_year

    app = province.app
    served = load_config({"ENV": "production", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": province.database.app_url,
                          "INSTANCE_PATH": str(province.folder / "instance")})
    tenants = {}
    for code in codes:
        with paths.as_user(province, f"bench-{code}-finance", code) as (db, _user, home):
            bands = common.hooks(db, home).evaluation_grade_bands(kind="self") or []
            year = current_year()
            tenants[code] = {"grades": [band[0] for band in bands],
                             "categories": {str(y): catalog.category_choices(db, home, y) for y in (year,)}}
            db.rollback()
    return {"rules": [(rule.rule, rule.endpoint) for rule in app.url_map.iter_rules()],
            "session_idle_minutes": int(served["SESSION_IDLE_MINUTES"]),
            "session_max_hours": int(served["SESSION_MAX_HOURS"]), "mfa_roles": list(served["MFA_ROLES"]),
            "tenants": tenants}


def bare_server(province: Province, port: int) -> serving.Server:
    from jixiao import rls

    common = {k: v for k, v in os.environ.items() if not k.startswith(("JIXIAO_", "BENCH_"))}
    env = {**common, "BENCH_DATABASE_URL": paths.psycopg_url(province),
           "BENCH_CONTEXT_KEY": rls.context_key({"SECRET_KEY": SECRET_KEY}).hex(), "BENCH_SECRET_KEY": SECRET_KEY,
           "BENCH_PAGES_CONFIG": json.dumps(bare_config(province, [LIST_COUNTY]), ensure_ascii=False)}
    return serving.Server("bare-pages", "benchmarks.bare_pages:create_app()", port, env,
                          province.folder / "gunicorn-bare-pages.log")


# ---- Checking the two pages -------------------------------------------------------------------------------


def page_lines(html: bytes) -> list[str]:
    """A page's lines, each CSRF token masked (each session has its own)."""
    return CSRF_VALUE.sub(r"\1…\2", html.decode()).splitlines()


def same_page(label: str, jixiao: bytes, baseline: bytes) -> None:
    """Stop the run unless the two pages are the same, line for line (CSRF tokens aside)."""
    ours, theirs = page_lines(jixiao), page_lines(baseline)
    if ours == theirs:
        return
    diff = "\n".join(list(difflib.unified_diff(ours, theirs, "jixiao", "baseline", n=1, lineterm=""))[:40])
    raise SystemExit(f"{label}: the baseline's page differs from Jixiao's —\n{diff}")


def list_page_facts(html: bytes) -> dict[str, Any]:
    """What the list page says: its total, the projects' codes and names in order, the charts' figures."""
    text = html.decode()
    total = re.search(r"<small>共 (\d+) 个</small>", text)
    rows = re.findall(r'<td><code>([^<]*)</code></td>\s*<td><a href="[^"]*">([^<]*)</a>', text)
    bars = re.findall(r'<span class="lc-bar-n">(\d+)', text)
    return {"total": int(total.group(1)) if total else None, "rows": rows, "bars": bars}


def check_list_page(province: Province, jixiao: serving.Server, bare: serving.Server) -> dict[str, Any]:
    username = f"bench-{LIST_COUNTY}-finance"
    ours = serving.get(jixiao.base + LIST_PAGE, browser(province, username))
    theirs = serving.get(bare.base + LIST_PAGE, browser(province, username))
    same_page("project list page", ours, theirs)
    facts = list_page_facts(ours)
    if not facts["rows"] or facts["total"] is None:
        raise SystemExit(f"project list page: no projects found on the page ({facts})")
    print(f"  project list page: the baseline's page is Jixiao's ({len(ours):,} bytes; {len(facts['rows'])} of "
          f"{facts['total']} projects, first {facts['rows'][0][0]})", flush=True)
    return facts


def check_todo_page(province: Province, jixiao: serving.Server, bare: serving.Server) -> int:
    """The to-do page: the same on both sides; the number of to-dos it lists."""
    username = f"bench-{LIST_COUNTY}-finance"
    ours = serving.get(jixiao.base + TODO_PAGE, browser(province, username))
    same_page("to-do page", ours, serving.get(bare.base + TODO_PAGE, browser(province, username)))
    total = re.search(r"<small>共 (\d+) 条</small>", ours.decode())
    if total is None or not int(total.group(1)):
        raise SystemExit("to-do page: no to-dos listed (the page would measure an empty table)")
    print(f"  to-do page: the baseline's page is Jixiao's ({len(ours):,} bytes; {total.group(1)} to-dos)", flush=True)
    return int(total.group(1))


def public_county(province: Province) -> str:
    """The generated county whose public page shows the most: published targets and evaluation results."""
    import sqlalchemy as sa

    with province.owner.connect() as connection:
        found = connection.execute(sa.text("""
            SELECT t.code FROM tenants t JOIN projects p ON p.tenant_id = t.id AND NOT p.classified
            LEFT JOIN target_sets s ON s.project_id = p.id AND s.published_at IS NOT NULL AND s.status = 'approved'
            LEFT JOIN evaluations e ON e.project_id = p.id AND e.published_at IS NOT NULL AND e.status = 'submitted'
            WHERE t.level = 'county' AND t.code = ANY(:codes)
            GROUP BY t.code ORDER BY count(DISTINCT s.id) + count(DISTINCT e.id) DESC, t.code LIMIT 1"""),
            {"codes": list(province.generated)}).scalar()
    if found is None:
        raise SystemExit("public page: no generated county")
    return str(found)


def check_public_page(jixiao: serving.Server, bare: serving.Server, code: str) -> dict[str, int]:
    path = f"/public/{code}/"
    ours, theirs = serving.get(jixiao.base + path, {}), serving.get(bare.base + path, {})
    same_page("public results page", ours, theirs)
    text = ours.decode()
    facts = {"targets": text.count('<article class="public-targets">'),
             "evaluations": int(re.search(r"<h2>绩效评价结果（(\d+)）</h2>", text).group(1))}  # type: ignore[union-attr]
    print(f"  public results page {code}: the baseline's page is Jixiao's ({len(ours):,} bytes; "
          f"{facts['targets']} published targets, {facts['evaluations']} evaluation results)", flush=True)
    return facts


def page_statements(province: Province, path: str, username: str | None) -> int:
    """The statements one request of the page sends, in process (Flask's test client, the same session cookie;
    none for ``username`` None)."""
    app = province.app
    name = app.config.get("SESSION_COOKIE_NAME", "session")
    client = app.test_client()
    if username is not None:
        client.set_cookie(name, session_cookie(province, username))
    with paths.counting(paths.app_engine(province)) as count:
        response = client.get(path, headers={"User-Agent": USER_AGENT}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code} in process")
    return count[0]


# ---- City statistics (含下级) ------------------------------------------------------------------------------


def city_statistics_jixiao(base: str, province: Province, repeat: int) -> paths.Outcome:
    """``repeat`` requests of the city's statistics one after another: the median request and the last answer."""
    url = f"{base}/api/v1/tenants/{QUICK_CITY}/statistics?year={province.year}&scope=all"
    timings, body = [], b""
    for _ in range(repeat):
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {province.city_token}"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            body = response.read()
        timings.append(time.perf_counter() - started)
    return paths.Outcome(sorted(timings)[len(timings) // 2], paths.statistics_figures(json.loads(body)))


def city_statistics_baseline(province: Province, repeat: int) -> paths.Outcome:
    """The province statistics' statement over the city's counties, as the city's finance user's context."""
    import psycopg

    from jixiao.db import TenantScope

    key, ids = paths.context_key(province), paths.subtree(province, QUICK_CITY)
    user_id = province.users[f"bench-{QUICK_CITY}-finance"]
    with province.app.app_context():
        city = paths.tenant(province, QUICK_CITY).id
    timings, rows = [], []
    with psycopg.connect(paths.psycopg_url(province)) as connection:
        for _ in range(repeat):
            started = time.perf_counter()
            with connection.transaction(), connection.cursor() as cursor:
                paths.set_context(cursor, TenantScope(read_ids=ids, write_id=city, user_id=user_id), key)
                cursor.execute(paths.STATISTICS_SQL, {"province": city, "year": province.year})
                rows = cursor.fetchall()
            timings.append(time.perf_counter() - started)
    answer = {row[0]: tuple(Decimal(str(v)) for v in row[1:]) for row in rows}
    return paths.Outcome(sorted(timings)[len(timings) // 2], answer, statements=2)


# ---- Growth ------------------------------------------------------------------------------------------------


def grow(province: Province, factor: int = 10) -> tuple[int, float]:
    """Fill the year before the run's with ``factor`` × the projects per county in every generated bureau but the
    list county (the generator leaves a bureau with projects of a year alone: a second year is how it adds),
    then ANALYZE. The projects added and the seconds it took."""
    import sqlalchemy as sa

    from jixiao_demo.province import generate

    started = time.perf_counter()
    others = [code for code in province.generated if code != LIST_COUNTY]
    report = generate(province.app, PROVINCE, province.projects_per_county * factor, 2027, year=province.year - 1,
                      only=others)
    with province.owner.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
        total = connection.execute(sa.text("SELECT count(*) FROM projects")).scalar_one()
    print(f"  growth: {report.rows.get('projects', 0):,} projects added in {len(report.generated)} bureaus "
          f"(year {province.year - 1}); {total:,} in the database", flush=True)
    return int(report.rows.get("projects", 0)), time.perf_counter() - started
