"""The ``jixiao`` command: the process entry point — serve, migrate, run workers and the scheduler, list plugins.

The domains' commands (``tenants``, ``users``, ``tokens``, ``audit``, ``jobs``) and any plugin's are registered
through ``register_commands`` and join these when the app is made. Every command is a thin adapter over a
service; what it changes is audited like any other change.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from jixiao.app import create_app
from jixiao.command_line import fail
from jixiao.db import system_scope
from jixiao.errors import DomainError


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False, set_debug_flag=False)
def main() -> None:
    """Jixiao (绩效): budget performance management for finance bureaus."""


# ---- run ----------------------------------------------------------------------------------------------------


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64),
              help="requests served at once")
@with_appcontext
def run_command(host: str, port: int, threads: int) -> None:
    """Serve the app with waitress (embedded default: SQLite, jobs in-process). A deployment runs gunicorn."""
    from jixiao import demo

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug LocalProxy
    click.echo(f"Jixiao is running at http://{host}:{port}/  (database: {app.config['DATABASE_URL'].split('@')[-1]})")
    logins = demo.describe_logins()
    if logins:
        click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
        for line in logins:
            click.echo(f"  {line}")
    click.echo("Press Ctrl+C to stop.")
    # waitress, not Werkzeug's development server: a production-grade server (threads, request and header
    # limits, no debugger), in pure Python so the embedded default needs nothing else installed; and it does not
    # tell every new user "Do not use it in a production deployment". SQLite takes the concurrent requests
    # through WAL and a busy timeout (jixiao.db.create_engine).
    import logging

    import waitress

    # Requests beyond the threads wait their turn and are served in order; waitress warns of each such wait
    # ("Task queue depth is 3"), which on the embedded default only alarms a new user clicking through pages.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="jixiao")
    except KeyboardInterrupt:
        click.echo("Stopped.")


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

    from jixiao.jobs.runner import run_scheduled
    from jixiao.jobs.service import schedules

    url = current_app.config.get("REDIS_URL")
    if not url:
        click.echo("error: JIXIAO_REDIS_URL is not set; run scans by hand with `jixiao jobs run KIND`", err=True)
        sys.exit(1)
    cron = CronScheduler(connection=Redis.from_url(url), name="jixiao")
    for schedule in schedules():
        cron.register(run_scheduled, queue_name="scheduled", args=(schedule.kind,), cron=schedule.cron,
                      name=schedule.kind)
        click.echo(f"{schedule.cron:<12} {schedule.kind}  {schedule.purpose}")
    current_app.extensions["jixiao.db"].engine.dispose()
    cron.start()


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
        ready = service.schema_ready(db)
        listing = service.plugin_listing(db, host(), with_tenants=ready)
        missing = service.missing_plugins(db, host()) if ready else {}
    if not ready:
        click.echo("note: the database is not migrated yet, so no tenant is known. Run `jixiao db upgrade`, then "
                   "`jixiao tenants load tenants/*.yaml`; a tenant's YAML `plugins:` list enables a plugin for it "
                   "and its descendants.", err=True)
    if as_json:
        click.echo(json.dumps(listing, ensure_ascii=False, indent=2))
        return
    for plugin in listing:
        tenants = (", ".join(plugin["tenants"]) or "(no tenant enables it)") if ready else "(unknown until migrated)"
        click.echo(f"{plugin['name']} {plugin['version']} [{plugin['distribution']}]")
        click.echo(f"  hooks:   {', '.join(plugin['hooks']) or '(none)'}")
        click.echo(f"  tenants: {tenants}")
    for name, problem in host().incompatible.items():
        click.echo(f"WARNING: plugin {name} is installed but not loaded: {problem}", err=True)
    for code, names in missing.items():
        click.echo(f"WARNING: tenant {code} enables plugin(s) that are not installed: {', '.join(names)}", err=True)


@plugins_command.command("explain")
@click.argument("code")
@click.argument("hook")
@click.option("--arg", "raw_arguments", multiple=True, metavar="NAME=VALUE",
              help="an argument of the hook besides tenant (VALUE as JSON when it parses: 2026, \"finance\", 0.75)")
@click.option("--project", "project_id", type=int, help="for hooks that take a project: the project's id")
@with_appcontext
def plugins_explain(code: str, hook: str, raw_arguments: tuple[str, ...], project_id: int | None) -> None:
    """Which plugin answers HOOK for the tenant CODE: every plugin asked, in order, with its answer."""
    import json

    from jixiao.plugins import host
    from jixiao.system import service

    with system_scope() as db:
        try:
            explained = service.explain_for(db, host(), None, code, hook, raw_arguments, project_id)
        except DomainError as exc:
            fail(exc)
    rule = "the first answer that is not None wins" if explained.firstresult else "every answer is collected"
    click.echo(f"{hook} for {code} ({rule}):")
    winners = explained.answered_by
    for name, answer in explained.answers:
        mark = ("  <- answers" if explained.firstresult else "  <- contributes") if name in winners else ""
        shown = "None (lets the next one answer)" if answer is None else json.dumps(answer, ensure_ascii=False,
                                                                                    default=str)[:200]
        click.echo(f"  {name}: {shown}{mark}")


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
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug LocalProxy
        report = generator(app, province_code, projects_per_county=projects_per_county,
                           seed=seed, year=year, skip=demo.DEPARTMENT_TENANTS)
    except DomainError as exc:
        fail(exc)
    for line in report:
        click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
