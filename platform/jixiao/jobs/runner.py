"""What an RQ worker imports and calls — ``run(job_id)``, ``run_scheduled(kind)`` — inside an app context of
its own. A process entry point like the command line: it makes the app, and nothing in the app imports it."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, has_app_context

_app: Flask | None = None


def app() -> Flask:
    """The worker's app: the one the ``jixiao worker`` command made, or a new one (``rq worker`` directly)."""
    global _app
    if _app is None:
        if has_app_context():
            _app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug LocalProxy
        else:
            from jixiao.app import create_app

            _app = create_app()
    return _app


def run(job_id: int, tenant_id: int | None = None) -> None:
    from rq import get_current_job

    from jixiao.jobs.service import execute

    rq_job: Any = get_current_job()
    retries_left = (rq_job.retries_left or 0) if rq_job is not None else 0
    with app().app_context():
        execute(job_id, tenant_id, retries_left=retries_left)


def run_scheduled(kind: str) -> None:
    """What the cron scheduler enqueues: record the scan as a platform job and run it in this worker."""
    from jixiao.jobs.service import create_record, execute

    with app().app_context():
        execute(create_record(None, None, kind, {}), None, retries_left=0)
