"""The ``jixiao`` command: serve, migrate, load tenants, create users and tokens, list plugins.

Every command is a thin adapter over a service; what it changes is audited like any other change.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from jixiao.db import TenantScope, scoped, system_scope
from jixiao.errors import DomainError


def _create_app() -> Flask:
    from jixiao.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False, set_debug_flag=False)
def main() -> None:
    """Jixiao (绩效): budget performance management for finance bureaus."""


def init_app(app: Flask) -> None:
    """Commands live on ``main``; this hook is where plugins' commands would join them."""


def _fail(exc: DomainError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    for field, problem in (exc.fields or {}).items():
        click.echo(f"  {field}: {problem}", err=True)
    sys.exit(1)


# ---- run ----------------------------------------------------------------------------------------------------


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Serve the app (embedded default: SQLite, jobs in-process). Production runs gunicorn instead."""
    from jixiao import demo

    app = current_app._get_current_object()
    click.echo(f"Jixiao is running at http://{host}:{port}/  (database: {app.config['DATABASE_URL'].split('@')[-1]})")
    logins = demo.describe_logins()
    if logins:
        click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
        for line in logins:
            click.echo(f"  {line}")
    click.echo("Press Ctrl+C to stop.")
    # app.run() refuses to start inside a Flask CLI command; the development server itself does not.
    from werkzeug.serving import run_simple

    run_simple(host, port, app, use_reloader=False, use_debugger=False, threaded=True)


# ---- db -----------------------------------------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Database migrations (Alembic, run as the tables' owner)."""


@db_group.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from jixiao import migrate

    migrate.upgrade(current_app.config, revision)
    click.echo(f"database at {migrate.current(current_app.config) or 'base'}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION."""
    from jixiao import migrate

    migrate.downgrade(current_app.config, revision)


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Print the database's revision."""
    from jixiao import migrate

    click.echo(migrate.current(current_app.config) or "base (not migrated)")


# ---- tenants ------------------------------------------------------------------------------------------------


@main.group("tenants")
def tenants_group() -> None:
    """The tenant tree."""


@tenants_group.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def tenants_load(paths: tuple[Path, ...]) -> None:
    """Create or update tenants from YAML files; idempotent, and all files validate before anything changes."""
    from jixiao.plugins import host
    from jixiao.tenancy import service

    with system_scope() as db:
        try:
            report = service.load_files(db, host(), paths)
        except DomainError as exc:
            _fail(exc)
    for line in report.lines():
        click.echo(line)


@tenants_group.command("tree")
@click.argument("code", required=False)
@with_appcontext
def tenants_tree(code: str | None) -> None:
    """Print the tenant tree (or the subtree under CODE)."""
    from jixiao.plugins import host
    from jixiao.tenancy import service

    with system_scope() as db:
        try:
            lines = service.tree_lines(db, host(), code)
        except DomainError as exc:
            _fail(exc)
    click.echo("\n".join(lines) if lines else "no tenants: run `jixiao tenants load tenants/*.yaml`")


# ---- users and tokens ---------------------------------------------------------------------------------------


def _tenant_scope(code: str) -> Any:
    from jixiao.tenancy import service

    with system_scope() as db:
        tenant = service.get_by_code(db, code)
    if tenant is None:
        click.echo(f"error: no tenant with code {code}", err=True)
        sys.exit(1)
    return tenant, TenantScope(read_ids=(tenant.id,), write_id=tenant.id)


@main.group("users")
def users_group() -> None:
    """User accounts."""


@users_group.command("create")
@click.option("--tenant", "tenant_code", help="the tenant's division code (omit with --operator)")
@click.option("--username", required=True)
@click.option("--role", "roles", multiple=True, help="admin, finance, department, evaluator, expert, auditor, viewer")
@click.option("--department", "department_code", help="department code, for the department role")
@click.option("--display-name", default="")
@click.option("--operator", is_flag=True, help="a platform operator (no tenant), holding exactly one --duty")
@click.option("--duty", "duty", multiple=True, help="with --operator: system, security or audit (三员分立: one only)")
@with_appcontext
def users_create(tenant_code: str | None, username: str, roles: tuple[str, ...], department_code: str | None,
                 display_name: str, operator: bool, duty: tuple[str, ...]) -> None:
    """Create a user; the password is read from standard input."""
    from jixiao.accounts import service

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    if duty and not operator:
        click.echo("error: --duty is for platform operators (--operator)", err=True)
        sys.exit(1)
    if operator:
        tenant, scope = None, TenantScope(platform=True)
    elif tenant_code:
        tenant, scope = _tenant_scope(tenant_code)
    else:
        click.echo("error: --tenant is required (or --operator)", err=True)
        sys.exit(1)
    with scoped(scope) as db:
        try:
            user = service.create_user(db, None, tenant, username=username, password=password, roles=list(roles),
                                       display_name=display_name, department_code=department_code,
                                       is_operator=operator, duty=list(duty))
        except DomainError as exc:
            _fail(exc)
    click.echo(f"created user {user.username} ({', '.join(user.roles)}) in {tenant_code or 'the platform'}")


# ---- audit --------------------------------------------------------------------------------------------------


@main.group("audit")
def audit_group() -> None:
    """The audit log's retention (reading and exporting it is the audit administrator's, in the app)."""


@audit_group.command("purge")
@with_appcontext
def audit_purge() -> None:
    """Delete the audit events older than JIXIAO_AUDIT_RETENTION_DAYS (at least 180), as the tables' owner.

    Runs on JIXIAO_MIGRATION_DATABASE_URL (the application role may not delete audit rows) and records an
    audit.purge event with the count and the cut-off.
    """
    from jixiao.audit import log
    from jixiao.db import create_engine

    days = current_app.config["AUDIT_RETENTION_DAYS"]
    engine = create_engine(current_app.config["MIGRATION_DATABASE_URL"])
    try:
        with engine.begin() as connection:
            result = log.purge_expired(connection, days)
    finally:
        engine.dispose()
    click.echo(f"deleted {result.count} audit events older than {result.cutoff.isoformat()} "
               f"(retention {result.retention_days} days); recorded audit.purge")


@main.group("tokens")
def tokens_group() -> None:
    """API bearer tokens."""


@tokens_group.command("create")
@click.option("--username", required=True)
@click.option("--name", default="cli", show_default=True, help="what the token is for (not blank)")
@with_appcontext
def tokens_create(username: str, name: str) -> None:
    """Create a bearer token for USERNAME and print it (shown once; only its hash is stored)."""
    import sqlalchemy as sa

    from jixiao.accounts import service
    from jixiao.accounts.models import User

    with scoped(TenantScope(login_username=username)) as db:
        user = db.scalar(sa.select(User).where(User.username == username))
    if user is None:
        click.echo(f"error: no user {username}", err=True)
        sys.exit(1)
    with scoped(TenantScope(read_ids=(user.tenant_id,) if user.tenant_id else (), write_id=user.tenant_id,
                            user_id=user.id, platform=user.tenant_id is None)) as db:
        try:
            api_token, token = service.create_token(db, user, name)
        except DomainError as exc:
            _fail(exc)
    click.echo(token)


# ---- worker -------------------------------------------------------------------------------------------------

QUEUES = ("interactive", "documents", "scheduled")


@main.command("worker")
@click.option("--queues", default=",".join(QUEUES), show_default=True, help="comma-separated, in priority order")
@click.option("--burst", is_flag=True, help="exit when the queues are empty")
@click.option("--with-scheduler", is_flag=True, help="also run RQ's scheduler for delayed and retried jobs")
@with_appcontext
def worker_command(queues: str, burst: bool, with_scheduler: bool) -> None:
    """Run an RQ worker for this deployment's Redis (JIXIAO_REDIS_URL)."""
    from redis import Redis
    from rq import Queue, Worker

    url = current_app.config.get("REDIS_URL")
    if not url:
        click.echo("error: JIXIAO_REDIS_URL is not set; with the embedded default, jobs run in-process and no "
                   "worker is needed", err=True)
        sys.exit(1)
    from jixiao.jobs import service as jobs

    connection = Redis.from_url(url)
    recovered = jobs.recover_abandoned()
    if recovered:
        click.echo(f"recovered jobs left by a dead worker: {', '.join(map(str, recovered))}")
    # The worker forks for each job: connections opened here must not be shared with the children.
    current_app.extensions["jixiao.db"].engine.dispose()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    worker = Worker([Queue(name, connection=connection) for name in names], connection=connection)
    worker.work(burst=burst, with_scheduler=with_scheduler)


@main.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the periodic scans on their schedule (run exactly one scheduler per deployment)."""
    from redis import Redis
    from rq.cron import CronScheduler

    from jixiao.jobs.scans import SCHEDULE, run_scheduled

    url = current_app.config.get("REDIS_URL")
    if not url:
        click.echo("error: JIXIAO_REDIS_URL is not set; run scans by hand with `jixiao jobs run KIND`", err=True)
        sys.exit(1)
    cron = CronScheduler(connection=Redis.from_url(url), name="jixiao")
    for kind, expression, purpose in SCHEDULE:
        cron.register(run_scheduled, queue_name="scheduled", args=(kind,), cron=expression, name=kind)
        click.echo(f"{expression:<12} {kind}  {purpose}")
    current_app.extensions["jixiao.db"].engine.dispose()
    cron.start()


@main.group("jobs")
def jobs_group() -> None:
    """Background jobs."""


@jobs_group.command("run")
@click.argument("kind")
@with_appcontext
def jobs_run(kind: str) -> None:
    """Run a scan now, in this process (e.g. scan.daily, scan.monitoring_reminders)."""
    from jixiao.jobs import service as jobs

    jobs.load_kinds()
    if kind not in jobs.KINDS or not kind.startswith("scan."):
        click.echo(f"error: unknown scan {kind}; known: {', '.join(k for k in jobs.KINDS if k.startswith('scan.'))}",
                   err=True)
        sys.exit(1)
    job_id = jobs.create_record(None, None, kind, {})
    jobs.execute(job_id, None, retries_left=0)
    with system_scope() as db:
        from jixiao.jobs.models import Job

        job = db.get(Job, job_id)
        click.echo(f"job {job.id} {job.status}: {job.result or job.error}")


@jobs_group.command("recover")
@with_appcontext
def jobs_recover() -> None:
    """Retry or fail the jobs left running by a worker that died."""
    from jixiao.jobs import service as jobs

    click.echo(f"recovered: {jobs.recover_abandoned() or 'none'}")


# ---- plugins and demo ---------------------------------------------------------------------------------------


@main.group("plugins", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins: name, version, hooks, and the tenants that enable each."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(plugins_list, as_json=as_json)


@plugins_command.command("new")
@click.argument("name")
@click.option("--into", default="plugins", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="the folder that holds the region packages")
def plugins_new(name: str, into: Path) -> None:
    """Scaffold a regional plugin package NAME (entry point, hooks module, data folder, a passing test)."""
    from jixiao import scaffold

    try:
        written = scaffold.create(into, name)
    except (ValueError, FileExistsError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for path in written:
        click.echo(f"  + {path}")
    click.echo(f"next: pip install -e {into / name}; add '{name}' to a province's plugins in tenants/*.yaml")


@plugins_command.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def plugins_list(as_json: bool) -> None:
    """List installed plugins: name, version, hooks, and the tenants that enable each."""
    import json

    from jixiao.plugins import host
    from jixiao.system import service

    with system_scope() as db:
        listing = service.plugin_listing(db, host())
        missing = service.missing_plugins(db, host())
    if as_json:
        click.echo(json.dumps(listing, ensure_ascii=False, indent=2))
        return
    for plugin in listing:
        tenants = ", ".join(plugin["tenants"]) or "(no tenant enables it)"
        click.echo(f"{plugin['name']} {plugin['version']} [{plugin['distribution']}]")
        click.echo(f"  hooks:   {', '.join(plugin['hooks']) or '(none)'}")
        click.echo(f"  tenants: {tenants}")
    for code, names in missing.items():
        click.echo(f"WARNING: tenant {code} enables plugin(s) that are not installed: {', '.join(names)}", err=True)


@main.group("demo")
def demo_group() -> None:
    """Demo data for the embedded default."""


#: Installed packages offer demo generators here (the demo package's ``province``); the core ships none.
DEMO_GENERATORS = "jixiao.demo_generators"


def demo_generator(name: str, found: Iterable[EntryPoint] | None = None) -> Callable[..., Any] | None:
    """The demo generator ``name`` an installed package registers, or ``None`` when none does."""
    for entry_point in entry_points(group=DEMO_GENERATORS) if found is None else found:
        if entry_point.name == name:
            return entry_point.load()
    return None


@demo_group.command("load")
@click.option("--size", default=24, show_default=True, help="projects per seed bureau (0: users only)")
@click.option("--year", type=int, help="budget year of the projects (default: this year)")
@click.option("--province", "province_code", help="instead: fill every city and county of this loaded province "
              "(the seed bureaus excepted) with the installed province generator")
@click.option("--projects-per-county", default=4, show_default=True, type=click.IntRange(min=0),
              help="with --province: projects per county (a city gets half)")
@click.option("--seed", default=2026, show_default=True, type=int,
              help="with --province: the same seed gives the same records")
@with_appcontext
def demo_load(size: int, year: int | None, province_code: str | None, projects_per_county: int, seed: int) -> None:
    """Create demo departments, one user per role and a year of records in the seeds' bureaus (idempotent).

    With --province, fill a whole province instead; bureaus that already have projects for the year are left alone.
    """
    from jixiao import demo

    if province_code is None:
        for line in demo.load(size=size, year=year):
            click.echo(line)
        return
    generator = demo_generator("province")
    if generator is None:
        click.echo(f"error: no province demo generator is installed (entry point group {DEMO_GENERATORS}); "
                   "install the demo package: pip install -e demo", err=True)
        sys.exit(1)
    try:
        report = generator(current_app._get_current_object(), province_code, projects_per_county=projects_per_county,
                           seed=seed, year=year, skip=demo.DEPARTMENT_TENANTS)
    except DomainError as exc:
        _fail(exc)
    for line in report:
        click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
