"""``jixiao jobs``: run a scheduled job now, recover the jobs a dead worker left."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from jixiao.db import system_scope


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs."""


@jobs_group.command("run")
@click.argument("kind")
@with_appcontext
def jobs_run(kind: str) -> None:
    """Run a scheduled job now, in this process (e.g. scan.daily, scan.monitoring_reminders)."""
    from jixiao.jobs import service as jobs

    scheduled = [schedule.kind for schedule in jobs.schedules()]
    if kind not in scheduled:
        click.echo(f"error: unknown scan {kind}; known: {', '.join(scheduled)}", err=True)
        sys.exit(1)
    job_id = jobs.create_record(None, None, kind, {})
    jobs.execute(job_id, None, retries_left=0)
    with system_scope() as db:
        from jixiao.jobs.models import Job

        job = db.get_one(Job, job_id)
        click.echo(f"job {job.id} {job.status}: {job.result or job.error}")


@jobs_group.command("recover")
@with_appcontext
def jobs_recover() -> None:
    """Retry or fail the jobs left running by a worker that died."""
    from jixiao.jobs import service as jobs

    click.echo(f"recovered: {jobs.recover_abandoned() or 'none'}")
