"""The HTML baseline: a bare Flask app rendering Jixiao's own page templates, doing the same work and nothing else.

Served by the same gunicorn with the same workers and threads as Jixiao (``gunicorn
'benchmarks.bare_pages:create_app()'``); configured by the environment:

- ``BENCH_DATABASE_URL``: the application role (the non-owner role Jixiao connects as: row-level security in force);
- ``BENCH_CONTEXT_KEY``: hex, the key the tenant context is signed with (``jixiao.rls.context_key``);
- ``BENCH_SECRET_KEY``: Jixiao's ``SECRET_KEY``, so the same signed session cookie opens a session here;
- ``BENCH_PAGES_CONFIG``: JSON — Jixiao's URL rules (registered to build links only, so ``url_for`` is real and
  every link is Jixiao's), the session limits, the roles that need a second factor, and each tenant's rules as the
  list page uses them (the self-evaluation grades, the catalog's categories), worked out by Jixiao once before the
  run (``benchmarks/pages.py``).

A page behind a login does what Jixiao does for a browser session: Flask's signed session cookie (the same
``SecureCookieSessionInterface`` and secret), Flask-Login's ``"<id>:<generation>"`` in it, the session's idle and
absolute limits and its second factor (``jixiao.accounts.sessions``), Flask-Login's basic session protection; then,
in one transaction under the signed tenant context: the user with its tenant and the tenant's subtree in one
statement (under the user-only context Jixiao loads a user in), the URL's tenant (checked to be in it), the page's
own statements and the user's unread notifications (the bell in ``base.html``); the session's last use is written back to the cookie. The
pages, each Jixiao's template file (with ``base.html``) rendered with the context Jixiao's view gives it, through
the same Jinja helpers (imported from Jixiao):

- ``GET /t/<code>/projects`` (``lifecycle/projects.html``, ``lifecycle.views._render_list``), first page, no
  filters: the page of 50 with each project's latest light and grade and its department, the total, the tenant's
  departments, the year's projects per stage and per latest light;
- ``GET /t/<code>/todo`` (``lifecycle/todo.html``), first page, a finance user's: the four finance sources of
  ``lifecycle.todo`` (targets to review, budgets to approve, finance evaluations, rectifications to verify);
- ``GET /public/<code>/`` (``lifecycle/public.html``), no login: the tenant opened alone to an anonymous context,
  its published targets with their indicators and its published evaluation results (classified projects left out).

Plain psycopg, one connection per thread, hand-written SQL; no ORM. What it leaves to configuration: the tenant's
rules (grade bands, catalog categories) are given at start-up, where Jixiao reads the tenant's ancestors and asks
the plugins' hooks on every request.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
from flask import Flask, abort, g, redirect, render_template, session
from flask_login.utils import _create_identifier  # type: ignore[import-untyped]
from flask_wtf.csrf import CSRFProtect, generate_csrf
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.datastructures import MultiDict

from benchmarks.bare_app import PAGE_SQL
from jixiao import pagination, policy, units
from jixiao.db import TenantScope
from jixiao.lifecycle.models import (
    EvaluationKind,
    FundSource,
    FundType,
    Light,
    ProjectKind,
    SpendingModality,
    Stage,
)
from jixiao.lifecycle.todo import SOURCE_LIMIT
from jixiao.lifecycle.views import _helpers as lifecycle_helpers
from jixiao.system import duties
from jixiao.toolkit import TodoItem

JIXIAO = Path(__file__).resolve().parents[1] / "platform" / "jixiao"
PER_PAGE = 50
#: The endpoints this app answers (every other of Jixiao's rules is registered for building links only).
SERVED = ("lifecycle.projects", "lifecycle.todo", "lifecycle.public")
USER_SQL = """
SELECT u.id, u.username, u.display_name, u.roles, u.is_operator, u.department_id, u.active, u.session_generation,
       u.totp_confirmed_at, u.tenant_id, t.code, t.path, d.code,
       ARRAY(SELECT s.id FROM tenants s WHERE s.path LIKE t.path || '%%')
FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id LEFT JOIN departments d ON d.id = u.department_id
WHERE u.id = %s
"""
PUBLISHED_TARGETS_SQL = """
SELECT s.id, s.overall_target, p.name, p.year, p.kind, d.name, p.approved_amount
FROM target_sets s JOIN projects p ON p.id = s.project_id LEFT JOIN departments d ON d.id = p.department_id
WHERE p.tenant_id = %s AND s.published_at IS NOT NULL AND NOT p.classified AND s.status = 'approved'
ORDER BY p.year DESC, p.code
"""
PUBLISHED_INDICATORS_SQL = """
SELECT target_set_id, level1, level2, name, direction, target_value, target_text, unit, weight
FROM indicators WHERE target_set_id = ANY(%s) ORDER BY target_set_id, position
"""
PUBLISHED_EVALUATIONS_SQL = """
SELECT e.kind, e.total_score, e.grade, e.summary, e.findings, p.name, p.year, p.kind, d.name, p.approved_amount
FROM evaluations e JOIN projects p ON p.id = e.project_id LEFT JOIN departments d ON d.id = p.department_id
WHERE p.tenant_id = %s AND e.published_at IS NOT NULL AND NOT p.classified AND e.status = 'submitted'
ORDER BY p.year DESC, p.code
"""
#: A finance user's to-do sources (``jixiao.lifecycle.todo._finance_items``), in their order: each a statement of
#: (tenant, limit) and how its rows become items.
TODO_SOURCES: tuple[tuple[str, Callable[..., TodoItem]], ...] = (
    ("SELECT p.id, p.name FROM projects p JOIN target_sets s ON s.project_id = p.id "
     "WHERE p.tenant_id = %s AND s.status = 'submitted' ORDER BY p.id LIMIT %s",
     lambda pid, name: TodoItem("targets_review", "审核绩效目标", pid, name, "targets")),
    ("SELECT id, name FROM projects WHERE tenant_id = %s AND stage = 'targets_approved' ORDER BY id LIMIT %s",
     lambda pid, name: TodoItem("budget", "批复预算", pid, name, "budget")),
    ("SELECT e.id, p.id, p.name, e.kind FROM evaluations e JOIN projects p ON p.id = e.project_id "
     "WHERE p.tenant_id = %s AND e.status = 'assigned' AND e.agency_id IS NULL AND e.kind = 'finance' "
     "ORDER BY e.id LIMIT %s",
     lambda eid, pid, name, kind: TodoItem("evaluation", f"开展{EvaluationKind(kind).label}", pid, name,
                                           "evaluations", eid)),
    ("SELECT n.id, p.id, p.name FROM rectification_notices n JOIN projects p ON p.id = n.project_id "
     "WHERE p.tenant_id = %s AND n.status = 'answered' ORDER BY n.id LIMIT %s",
     lambda nid, pid, name: TodoItem("rectification_verify", "核验整改情况", pid, name, "rectification", nid)),
)
# The year's projects per (stage, latest light), summed both ways: one statement, as Jixiao counts them.
COUNTS_SQL = """
SELECT stage, light, count(*) FROM (
  SELECT p.stage, (SELECT m.light FROM monitoring_reports m WHERE m.project_id = p.id ORDER BY m.period DESC LIMIT 1)
         AS light
  FROM projects p WHERE p.tenant_id = %s AND p.year = %s) latest
GROUP BY stage, light
"""


class BareUser:
    """What the templates and the policy predicates ask of the user (Flask-Login's ``current_user``)."""

    is_authenticated = True

    def __init__(self, row: tuple[Any, ...]) -> None:
        (self.id, self.username, self.display_name, roles, self.is_operator, self.department_id, self.active,
         self.session_generation, self.totp_confirmed_at, self.tenant_id, tenant_code, self.path,
         department_code) = row
        self.roles = list(roles or [])
        self.tenant = SimpleNamespace(code=tenant_code) if self.tenant_id is not None else None
        self.department = SimpleNamespace(code=department_code) if department_code is not None else None

    def has_role(self, *roles: Any) -> bool:
        return any(str(r) in self.roles for r in roles)


ANONYMOUS = SimpleNamespace(is_authenticated=False)


class BareTenant:
    def __init__(self, tenant_id: int, code: str, name: str, level: str) -> None:
        self.id, self.code, self.name, self.level = tenant_id, code, name, level

    @property
    def bureau_name(self) -> str:
        return self.name + ("财政厅" if self.level == "province" else "财政局")


def _project(row: tuple[Any, ...]) -> SimpleNamespace:
    """A row of ``bare_app.PAGE_SQL`` as the template reads a project (its coded columns as Jixiao's enums)."""
    (project_id, code, name, _year, kind, fund_type, _category, _is_new, is_key, classified, modalities, special,
     fund_source, requested, approved, _adjusted, stage, suspended, _reason, department_id, _department_code,
     department_name, _continues, _version, _light, _grade) = row
    return SimpleNamespace(
        id=project_id, code=code, name=name, kind=ProjectKind(kind), fund_type=FundType(fund_type), is_key=is_key,
        classified=classified, spending_modalities=modalities or [], is_special_fund=special,
        fund_source=FundSource(fund_source) if fund_source else None, requested_amount=requested,
        approved_amount=approved, stage=Stage(stage), payment_suspended=suspended,
        department=SimpleNamespace(name=department_name) if department_id is not None else None)


def _public_project(name: str, year: int, kind: str, department: str | None, approved: Any) -> dict[str, Any]:
    """A project as the public page shows it (``jixiao.lifecycle.public``: nothing internal)."""
    return {"name": name, "year": year, "kind_label": ProjectKind(kind).label, "department": department or "",
            "approved_amount": approved}


def _charts(stage_counts: dict[str, int], light_counts: dict[str, int], year: int) -> dict[str, Any]:
    """The page's two bar charts, as ``jixiao.lifecycle.views._charts`` lays them out."""
    by_stage = [(stage, stage_counts.get(stage.value, 0)) for stage in Stage]
    reached = [sum(n for _stage, n in by_stage[i:]) for i in range(len(by_stage))]
    widest = max(reached, default=0) or 1
    funnel = [{"stage": stage, "now": n, "reached": r, "percent": round(r * 100 / widest, 1)}
              for (stage, n), r in zip(by_stage, reached, strict=True)]
    by_light = [(light, light_counts.get(light.value, 0)) for light in (Light.RED, Light.YELLOW, Light.GREEN, Light.BLUE)]
    widest_light = max((n for _light, n in by_light), default=0) or 1
    lights = [{"light": light, "n": n, "percent": round(n * 100 / widest_light, 1)} for light, n in by_light]
    return {"year": year, "funnel": funnel, "lights": lights, "total": reached[0] if reached else 0}


def _session_user_id(idle: int, absolute: int) -> tuple[int, int]:
    """The cookie's user and generation, within the session's limits (else the login page)."""
    user_part, _, generation = str(session.get("_user_id") or "").partition(":")
    now = int(time.time())
    logged_in, seen = session.get("jx_login_at"), session.get("jx_seen_at")
    if (not isinstance(logged_in, int) or not isinstance(seen, int) or now - seen > idle
            or now - logged_in > absolute or not user_part.isdigit() or not generation.isdigit()):
        abort(redirect("/login"))
    if session.get("_id") != _create_identifier() and session.get("_fresh"):
        session["_fresh"] = False  # Flask-Login's basic session protection
    return int(user_part), int(generation)


def _session_user(found: tuple[Any, ...] | None, generation: int, second_factor_roles: set[str]) -> BareUser:
    """The session's user if the session still holds (active, the generation current, past its second factor);
    its last use written to the cookie."""
    user = BareUser(found) if found is not None else None
    if user is None or not user.active or user.session_generation != generation or (
            user.totp_confirmed_at is not None and not session.get("jx_second_factor")):
        abort(redirect("/login"))
    if user.totp_confirmed_at is None and set(user.roles) & second_factor_roles:
        abort(redirect("/account/second-factor"))
    session["jx_seen_at"] = int(time.time())
    return user


def _localtime(value: Any) -> str:
    return f"{units.to_local(value):%Y-%m-%d %H:%M}" if value else ""


def _configure(app: Flask, config: dict[str, Any]) -> None:
    """Jixiao's session cookie settings, CSRF tokens, its URL rules (for building links) and Jinja as it has it:
    its template folders, the i18n extension (Jixiao's strings are its Chinese source: no catalog), ``finalize``."""
    app.config.update(SECRET_KEY=os.environ["BENCH_SECRET_KEY"], SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=True, WTF_CSRF_TIME_LIMIT=None,
                      WTF_CSRF_CHECK_DEFAULT=False)
    CSRFProtect(app)
    for rule, endpoint in config["rules"]:
        if endpoint not in ("static", *SERVED):
            app.add_url_rule(rule, endpoint, build_only=True)
    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(JIXIAO / "templates")),
                                     FileSystemLoader(str(JIXIAO / "lifecycle" / "templates"))])
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    app.jinja_env.finalize = units.positional
    # _macros.html names it (its audit-history macro, which these pages do not call): Jinja wants it compiled.
    app.jinja_env.filters["localtime"] = _localtime


def _one(cursor: psycopg.Cursor[Any]) -> Any:
    """The single value of a statement that answers one row (a count)."""
    row = cursor.fetchone()
    assert row is not None
    return row[0]


class Backend:
    """The app's database side: a psycopg connection per thread, the signed tenant context, the session's user."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.url = os.environ["BENCH_DATABASE_URL"]
        self.key = bytes.fromhex(os.environ["BENCH_CONTEXT_KEY"])
        self.idle, self.absolute = config["session_idle_minutes"] * 60, config["session_max_hours"] * 3600
        self.second_factor_roles = set(config["mfa_roles"])
        self.local = threading.local()
        self.helpers = {**lifecycle_helpers(), "csrf_token": generate_csrf, "menu": policy.menu,
                        "may_administer_system": duties.may_administer_system,
                        "may_administer_security": duties.may_administer_security,
                        "may_read_audit": duties.may_read_audit}

    def connection(self) -> psycopg.Connection[Any]:
        conn = getattr(self.local, "connection", None)
        if conn is None or conn.closed:
            conn = self.local.connection = psycopg.connect(self.url)
        return conn

    def set_context(self, cursor: psycopg.Cursor[Any], scope: TenantScope) -> None:
        settings = scope.settings(self.key)
        cursor.execute("SELECT " + ", ".join("set_config(%s, %s, true)" for _ in settings),
                       [part for item in settings.items() for part in item])

    def signed_in(self, cursor: psycopg.Cursor[Any], tenant_code: str) -> tuple[BareUser, BareTenant]:
        """The session's user with its subtree (one statement, under the user-only context Jixiao loads a user in),
        and the URL's tenant, which must be in it (404 otherwise; a descendant narrows the context to its own
        subtree, as Jixiao's request scope does)."""
        user_id, generation = _session_user_id(self.idle, self.absolute)
        self.set_context(cursor, TenantScope(user_id=user_id))
        cursor.execute(USER_SQL, (user_id,))
        row = cursor.fetchone()
        user = _session_user(row[:-1] if row is not None else None, generation, self.second_factor_roles)
        assert row is not None  # _session_user refused a missing user
        read_ids = tuple(sorted(row[-1] or ()))
        self.set_context(cursor, TenantScope(read_ids=read_ids, write_id=user.tenant_id, user_id=user.id))
        cursor.execute("SELECT id, code, name, level, path FROM tenants WHERE code = %s", (tenant_code,))
        named = cursor.fetchone()
        if named is None or named[0] not in read_ids:
            abort(404)
        tenant = BareTenant(*named[:4])
        if tenant.id != user.tenant_id:
            cursor.execute("SELECT id FROM tenants WHERE path LIKE %s", (named[4] + "%",))
            self.set_context(cursor, TenantScope(read_ids=tuple(row[0] for row in cursor.fetchall()),
                                                 write_id=user.tenant_id, user_id=user.id))
        return user, tenant

    @staticmethod
    def unread(cursor: psycopg.Cursor[Any], user: BareUser) -> int:
        cursor.execute("SELECT count(*) FROM notifications WHERE user_id = %s AND read_at IS NULL", (user.id,))
        return int(_one(cursor))


def project_list(backend: Backend, tenant_code: str) -> Any:
    """``lifecycle/projects.html`` for the first page, no filters (what the benchmark asks)."""
    year = units.local_today().year
    conn = backend.connection()
    with conn.transaction(), conn.cursor() as cursor:
        user, tenant = backend.signed_in(cursor, tenant_code)
        cursor.execute("SELECT count(*) FROM projects WHERE tenant_id = %s", (tenant.id,))
        total = int(_one(cursor))
        cursor.execute(PAGE_SQL, (tenant.id, PER_PAGE, 0))
        rows = [SimpleNamespace(project=_project(row), light=row[-2], grade=row[-1]) for row in cursor.fetchall()]
        cursor.execute("SELECT id, code, name FROM departments WHERE tenant_id = %s ORDER BY code", (tenant.id,))
        departments = [SimpleNamespace(id=i, code=c, name=n) for i, c, n in cursor.fetchall()]
        cursor.execute(COUNTS_SQL, (tenant.id, year))
        stages: dict[str, int] = {}
        lights: dict[str, int] = {}
        for stage, light, number in cursor.fetchall():
            stages[stage] = stages.get(stage, 0) + number
            if light is not None:
                lights[light] = lights.get(light, 0) + number
        unread = backend.unread(cursor, user)
    own = tenant.id == user.tenant_id
    may_create = own and user.has_role("finance", "department")
    rules = backend.config["tenants"].get(tenant.code, {"grades": [], "categories": {}})
    if may_create and not user.has_role("finance"):
        raise NotImplementedError("a department user's own departments (the benchmark lists as finance)")
    return render_template(
        "lifecycle/projects.html", **backend.helpers, current_user=user, unread_notifications=lambda: unread,
        tenant=tenant, rows=rows, total=total, page=1, pages=max(math.ceil(total / PER_PAGE), 1),
        filters=SimpleNamespace(year=None, department_code=None, stage=None, kind=None, fund_type=None, grade=None,
                                light=None, q=None, modality=None, fund_source=None),
        filter_args={}, own=own, may_create=may_create, departments=departments,
        create_departments=departments if may_create else [], stages=list(Stage), kinds=list(ProjectKind),
        funds=list(FundType), lights=list(Light), modalities=list(SpendingModality), fund_sources=list(FundSource),
        grades=rules["grades"], this_year=year, charts=_charts(stages, lights, year), failure=None, errors={},
        form=MultiDict(), category_choices=rules["categories"].get(str(year), []) if may_create else [])


def todo_page(backend: Backend, tenant_code: str) -> Any:
    """``lifecycle/todo.html``: a finance user's to-dos (targets to review, budgets to approve, finance
    evaluations to carry out, rectifications to verify), each source at most SOURCE_LIMIT, the first page."""
    conn = backend.connection()
    with conn.transaction(), conn.cursor() as cursor:
        user, tenant = backend.signed_in(cursor, tenant_code)
        own = tenant.id == user.tenant_id
        if set(user.roles) - {"finance", "admin", "viewer"}:
            raise NotImplementedError("the to-dos of roles other than finance (the benchmark asks as finance)")
        items: list[TodoItem] = []
        if own and user.has_role("finance"):
            for sql, make in TODO_SOURCES:
                cursor.execute(sql, (tenant.id, SOURCE_LIMIT))
                items += [make(*row) for row in cursor.fetchall()]
        unread = backend.unread(cursor, user)
    return render_template("lifecycle/todo.html", **backend.helpers, current_user=user,
                           unread_notifications=lambda: unread, tenant=tenant,
                           found=pagination.cut(items[:SOURCE_LIMIT], 1, PER_PAGE), own=own,
                           source_limit=SOURCE_LIMIT)


def public_page(backend: Backend, public_code: str) -> Any:
    """No login: the tenant opened alone to an anonymous context, then its published targets (with their
    indicators) and evaluation results, classified projects left out."""
    conn = backend.connection()
    with conn.transaction(), conn.cursor() as cursor:
        backend.set_context(cursor, TenantScope(tenant_code=public_code))
        cursor.execute("SELECT id, code, name, level FROM tenants WHERE code = %s", (public_code,))
        named = cursor.fetchone()
        if named is None:
            abort(404)
        tenant = BareTenant(*named)
        backend.set_context(cursor, TenantScope(read_ids=(tenant.id,)))
        cursor.execute(PUBLISHED_TARGETS_SQL, (tenant.id,))
        targets = {row[0]: {"project": _public_project(*row[2:]), "overall_target": row[1], "indicators": []}
                   for row in cursor.fetchall()}
        cursor.execute(PUBLISHED_INDICATORS_SQL, (list(targets),))
        for set_id, level1, level2, name, direction, value, text, unit, weight in cursor.fetchall():
            targets[set_id]["indicators"].append({"level1": level1, "level2": level2, "name": name,
                                                  "direction": direction, "target_value": value,
                                                  "target_text": text, "unit": unit, "weight": weight})
        cursor.execute(PUBLISHED_EVALUATIONS_SQL, (tenant.id,))
        evaluations = [{"project": _public_project(*row[5:]), "kind_label": EvaluationKind(row[0]).label,
                        "total_score": row[1], "grade": row[2], "summary": row[3],
                        "findings": [{"problem": f.get("problem", ""), "suggestion": f.get("suggestion", "")}
                                     for f in row[4] or []]}
                       for row in cursor.fetchall()]
    return render_template("lifecycle/public.html", **backend.helpers, current_user=ANONYMOUS, tenant=tenant,
                           year=None, published_targets=list(targets.values()), published_evaluations=evaluations)


def create_app() -> Flask:
    config = json.loads(os.environ["BENCH_PAGES_CONFIG"])
    app = Flask(__name__, static_folder=str(JIXIAO / "static"))
    _configure(app, config)
    backend = Backend(config)

    @app.url_defaults
    def _keep_tenant_code(endpoint: str, values: dict[str, Any]) -> None:
        # As Jixiao's: a link to a tenant's page from a tenant's page keeps the tenant (the pager's links).
        if "tenant_code" not in values and "tenant_code" in g and app.url_map.is_endpoint_expecting(
                endpoint, "tenant_code"):
            values["tenant_code"] = g.tenant_code

    def tenant_page(view: Callable[[Backend, str], Any]) -> Callable[..., Any]:
        def answer(tenant_code: str) -> Any:
            g.tenant_code = tenant_code
            return view(backend, tenant_code)

        return answer

    app.add_url_rule("/t/<tenant_code>/projects", "lifecycle.projects", tenant_page(project_list))
    app.add_url_rule("/t/<tenant_code>/todo", "lifecycle.todo", tenant_page(todo_page))
    app.add_url_rule("/public/<public_code>/", "lifecycle.public", lambda public_code: public_page(backend, public_code))
    return app
