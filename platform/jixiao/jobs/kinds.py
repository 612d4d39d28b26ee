"""What a job kind is made of — the parts a plugin's ``register_job_kinds`` uses (through ``jixiao.toolkit``):
the marker, the context a running job gets, the schedule, and the errors that say whether to retry.

Imports only the database layer and the jobs' model, so the toolkit can offer it without importing services.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from jixiao.db import TenantScope, apply_settings, utcnow
from jixiao.jobs.models import Job

QUEUES = ("interactive", "documents", "scheduled")


class TransientJobError(Exception):
    """A failure worth retrying (a backing service hiccup); other exceptions fail the job at once."""


class JobFailed(Exception):
    """A failure to report to the user as it is (a Chinese sentence), without retrying."""


#: What a kind says its finished job did, as a sentence (``result → "新增 12 个项目"``).
Describe = Callable[[dict[str, Any]], str]
#: Where a finished job's record is shown (``(result, tenant_code) → url``), or None when it has no page.
ResultLink = Callable[[dict[str, Any], str | None], str | None]


@dataclasses.dataclass(frozen=True)
class JobKind:
    name: str
    func: Callable[..., dict[str, Any] | None]
    queue: str
    label: str
    max_attempts: int
    timeout: int
    #: Optional: the job page says what was done in these words rather than listing the result's fields.
    describe: Describe | None = None
    #: Optional: the job page links to the record made or changed (a result's ``url`` is used without it).
    result_link: ResultLink | None = None
    #: The link's words (a file is downloaded, a list or a campaign is opened), or ``result → words``.
    link_label: str | Callable[[dict[str, Any]], str] = "查看结果"
    #: Without Redis, run once the response has been sent rather than in the request (nobody waits for its
    #: result: the e-mail of a notification must not hold the page that caused it).
    after_response: bool = False


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A periodic job for ``jixiao scheduler``: the kind, a cron expression in the server's time zone, and what
    it is for (shown to operators)."""

    kind: str
    cron: str
    purpose: str


JOB_KIND_ATTRIBUTE = "__jixiao_job_kind__"


def job_kind(name: str, *, label: str, queue: str = "interactive", max_attempts: int = 3,
             timeout: int = 1800, describe: Describe | None = None, result_link: ResultLink | None = None,
             link_label: str | Callable[[dict[str, Any]], str] = "查看结果",
             after_response: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark ``fn(ctx, **args)`` as the job kind ``name``; a plugin's ``register_job_kinds`` lists it. Marking
    registers nothing: which kinds an app knows depends on its plugins, not on what a process imported.

    ``describe(result)`` says in a sentence what a finished job did, ``result_link(result, tenant_code)`` where
    its record is shown (``link_label`` names that link); the job page shows both instead of the raw result.
    ``after_response``: without Redis, a job asked for in a request runs once its response has been sent (other
    kinds run before the answer, so it can say what was done)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue}")

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        setattr(func, JOB_KIND_ATTRIBUTE, JobKind(name, func, queue, label, max_attempts, timeout, describe,
                                                  result_link, link_label, after_response))
        return func

    return decorator


@dataclasses.dataclass
class JobContext:
    """What a running job may use: its record's ids, the session under the job's tenant scope, progress."""

    job_id: int
    tenant_id: int | None
    user_id: int | None
    attempt: int
    session: Session

    def progress(self, percent: int, message: str = "") -> None:
        """Record progress in its own short transaction, so readers see it while the job works."""
        engine = current_app.extensions["jixiao.db"].engine
        values = {"progress": max(0, min(100, int(percent))), "message": message[:300], "heartbeat_at": utcnow()}
        if engine.dialect.name == "sqlite":
            # One writer at a time: a second connection would wait for the job's own transaction.
            self.session.execute(sa.update(Job).where(Job.id == self.job_id).values(**values))
            return
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                apply_settings(connection, job_scope(self.tenant_id))
            connection.execute(sa.update(Job).where(Job.id == self.job_id).values(**values))


def job_scope(tenant_id: int | None) -> TenantScope:
    """Enough to read and write one job's record (the job's own work gets its tenant's full scope)."""
    return TenantScope(read_ids=(tenant_id,) if tenant_id else (), write_id=tenant_id, platform=tenant_id is None,
                       system=tenant_id is None)


