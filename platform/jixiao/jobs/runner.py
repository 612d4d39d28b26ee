"""What an RQ worker imports and calls: ``run(job_id)`` inside an app context of its own."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, has_app_context

_app: Flask | None = None


def app() -> Flask:
    """The worker's app: the one the ``jixiao worker`` command made, or a new one (``rq worker`` directly)."""
    global _app
    if _app is None:
        if has_app_context():
            _app = current_app._get_current_object()  # type: ignore[attr-defined]
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
