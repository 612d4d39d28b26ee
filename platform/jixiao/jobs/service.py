"""Background jobs: kinds, enqueueing, running with progress and retries, and recovering from dead workers.

A job kind is a function ``fn(ctx, **args) -> dict`` marked with :func:`job_kind` and registered by a plugin's
``register_job_kinds`` (the core's own kinds by its default plugins), once per app. It gets ids, never
objects, and must be idempotent: running it twice leaves the same result. With ``JIXIAO_REDIS_URL`` the job
goes to an RQ queue and a ``jixiao worker`` runs it; without, the same code runs in-process at once (a kind
marked ``after_response``, asked for in a request: once the response has been sent).
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, after_this_request, current_app, has_request_context
from sqlalchemy.orm import Session

from jixiao import audit, pagination, policy
from jixiao.db import TenantScope, get_scope, scoped, set_scope, utcnow
from jixiao.errors import NotFound, ServiceUnavailable
from jixiao.jobs.kinds import (  # noqa: F401 - the kinds' parts, re-exported for the job modules
    JOB_KIND_ATTRIBUTE,
    QUEUES,
    JobContext,
    JobFailed,
    JobKind,
    Schedule,
    TransientJobError,
    job_kind,
    job_scope,
)
from jixiao.jobs.models import Job, JobStatus
from jixiao.system import duties


def init_app(app: Flask, kinds: list[Callable[..., Any]], schedules: list[Schedule]) -> None:
    """Record the app's job kinds and schedule (collected from the plugins when the app is made)."""
    known: dict[str, JobKind] = {}
    for func in kinds:
        spec = getattr(func, JOB_KIND_ATTRIBUTE, None)
        if not isinstance(spec, JobKind):
            raise TypeError(f"{func!r} is not marked with job_kind(...)")
        if spec.name in known and known[spec.name].func is not func:
            raise ValueError(f"job kind {spec.name} is registered twice")
        known[spec.name] = spec
    for schedule in schedules:
        if schedule.kind not in known:
            raise ValueError(f"schedule names job kind {schedule.kind}, which no plugin registers")
    app.extensions["jixiao.job_kinds"] = known
    app.extensions["jixiao.schedules"] = list(schedules)


def kinds() -> dict[str, JobKind]:
    """The job kinds of the current app, by name."""
    return current_app.extensions["jixiao.job_kinds"]


def schedules() -> list[Schedule]:
    """The current app's periodic jobs."""
    return current_app.extensions["jixiao.schedules"]


# ---- Asking for a job ---------------------------------------------------------------------------------------


def create_record(actor: Any, tenant: Any, kind: str, args: dict[str, Any]) -> int:
    """Write a job's record without queueing it (the scheduler's scans run where they are)."""
    spec = kinds()[kind]
    with scoped(TenantScope(platform=tenant is None, write_id=getattr(tenant, "id", None),
                            read_ids=(tenant.id,) if tenant is not None else ())) as session:
        job = Job(tenant_id=getattr(tenant, "id", None), kind=kind, queue=spec.queue, args=dict(args),
                  requested_by_id=getattr(actor, "id", None), status=JobStatus.QUEUED, max_attempts=1, message="排队中")
        session.add(job)
        session.commit()
        return job.id


def enqueue(session: Session, actor: Any, tenant: Any, kind: str, args: dict[str, Any] | None = None) -> Job:
    """Record the job, then hand it to RQ (or run it here, in the embedded default)."""
    spec = kinds()[kind]
    job = Job(tenant_id=tenant.id if tenant is not None else None, kind=kind, queue=spec.queue, args=dict(args or {}),
              requested_by_id=getattr(actor, "id", None), status=JobStatus.QUEUED, max_attempts=spec.max_attempts,
              message="排队中")
    redis_url = current_app.config.get("REDIS_URL")
    connection = None
    if redis_url:
        connection = _redis(redis_url)
        try:
            connection.ping()
        except Exception as exc:  # noqa: BLE001 - any Redis failure means the same to the user
            raise ServiceUnavailable("后台任务服务（Redis）暂不可用，任务未提交，请稍后重试；页面的其他功能不受影响") from exc
    session.add(job)
    session.flush()
    audit.record(session, actor=actor, action="job.enqueue", obj=job, tenant_id=job.tenant_id,
                 after={"kind": kind, "args": job.args})
    session.commit()
    if connection is None:
        if spec.after_response and has_request_context():
            run_after_response(job.id, job.tenant_id)
            return job
        run_in_process(job.id, job.tenant_id)
        session.refresh(job)
        return job
    from rq import Queue, Retry

    intervals = current_app.config.get("JOB_RETRY_INTERVALS", [10, 30, 60])
    retry = Retry(max=spec.max_attempts - 1, interval=intervals) if spec.max_attempts > 1 else None
    rq_job = Queue(spec.queue, connection=connection).enqueue(
        "jixiao.jobs.runner.run", job.id, job.tenant_id, job_id=f"jixiao-{job.id}", retry=retry, job_timeout=spec.timeout,
        description=f"{kind} #{job.id}", failure_ttl=7 * 24 * 3600)
    job.rq_job_id = rq_job.id
    session.commit()
    return job


def _redis(url: str) -> Any:
    from redis import Redis

    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def run_after_response(job_id: int, tenant_id: int | None) -> None:
    """The embedded default for a kind nobody waits for: run it in this process, with :func:`run_in_process`,
    once the current request's response has been sent and closed (the WSGI server closes it after the last byte),
    so the request does not wait on it. Outside a request there is nothing to wait for: the caller runs it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug LocalProxy

    def run() -> None:
        with app.app_context():
            try:
                run_in_process(job_id, tenant_id)
            except Exception:  # noqa: BLE001 - the response is gone: log, the job's record says the rest
                app.logger.exception("job %s, run after the response, failed", job_id)

    @after_this_request
    def _when_sent(response: Response) -> Response:
        response.call_on_close(run)
        return response


def run_in_process(job_id: int, tenant_id: int | None) -> None:
    """The embedded default: run the job now, in this process, with the same code a worker runs."""
    session = current_app.extensions["jixiao.db"].session()
    previous = get_scope(session)
    with scoped(job_scope(tenant_id)) as lookup:
        attempts = lookup.get_one(Job, job_id).max_attempts
    try:
        for attempt in range(attempts):
            try:
                execute(job_id, tenant_id, retries_left=attempts - attempt - 1)
                return
            except TransientJobError:
                continue  # no scheduler in-process: retry at once
    finally:
        set_scope(session, previous)


# ---- Running a job ------------------------------------------------------------------------------------------


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getppid()}:{os.getpid()}"


def execute(job_id: int, tenant_id: int | None, retries_left: int) -> None:
    """Run one attempt of the job under its tenant's scope; record the outcome. Raises to ask RQ to retry."""
    db = current_app.extensions["jixiao.db"].session()
    with scoped(job_scope(tenant_id)) as session:
        job = session.get(Job, job_id)
    if job is None or job.tenant_id != tenant_id:
        return
    if job.status is JobStatus.SUCCEEDED:
        return  # idempotent: a duplicate delivery changes nothing
    tenant_ids = _tenant_read_ids(job.tenant_id)
    # A platform job (a scan across tenants) sets each tenant's scope itself as it goes.
    scope = TenantScope(read_ids=tenant_ids, write_id=job.tenant_id, user_id=job.requested_by_id,
                        platform=job.tenant_id is None, system=job.tenant_id is None)
    set_scope(db, scope)
    job = db.get(Job, job_id)
    job.status, job.attempts = JobStatus.RUNNING, job.attempts + 1
    job.started_at, job.heartbeat_at, job.worker = utcnow(), utcnow(), worker_identity()
    job.message, job.error = "执行中", ""
    db.commit()
    spec = kinds().get(job.kind)
    context = JobContext(job_id=job.id, tenant_id=job.tenant_id, user_id=job.requested_by_id, attempt=job.attempts,
                         session=db)
    try:
        if spec is None:
            raise JobFailed(f"未知的任务类型 {job.kind}")
        result = spec.func(context, **job.args) or {}
    except TransientJobError as exc:
        db.rollback()
        _finish(db, job_id, JobStatus.RETRYING if retries_left > 0 else JobStatus.FAILED,
                error=f"第 {job.attempts} 次执行失败：{exc}" + ("，稍后自动重试" if retries_left > 0 else "，已停止重试"))
        if retries_left > 0:
            raise
        return
    except JobFailed as exc:
        db.rollback()
        _finish(db, job_id, JobStatus.FAILED, error=str(exc))
        return
    except Exception as exc:
        db.rollback()
        current_app.logger.exception("job %s failed", job_id)
        _finish(db, job_id, JobStatus.FAILED, error=f"任务执行出错，已记录错误，请联系管理员（{type(exc).__name__}）")
        return
    _finish(db, job_id, JobStatus.SUCCEEDED, result=result)


def _tenant_read_ids(tenant_id: int | None) -> tuple[int, ...]:
    if tenant_id is None:
        return ()
    from jixiao.tenancy.models import Tenant

    with scoped(TenantScope(system=True)) as session:
        tenant = session.get_one(Tenant, tenant_id)
        from jixiao.tenancy.service import subtree_ids

        return tuple(subtree_ids(session, tenant))


def _finish(db: Session, job_id: int, status: JobStatus, *, result: dict[str, Any] | None = None,
            error: str = "") -> None:
    job = db.get_one(Job, job_id)
    job.status = status
    job.error = error
    if status is JobStatus.SUCCEEDED:
        job.result, job.progress, job.message = result, 100, "已完成"
    elif status is JobStatus.RETRYING:
        job.message = "等待重试"
    else:
        job.message = "失败"
    job.finished_at = utcnow() if status.finished else None
    db.commit()


# ---- Reading and recovering ---------------------------------------------------------------------------------


def _operator_check(actor: Any) -> None:
    # Among the operators only the system administrator sees jobs, the platform's own (三员分立).
    if getattr(actor, "is_operator", False):
        duties.require_system_administrator(actor)


def get_job(session: Session, actor: Any, job_id: int) -> Job:
    """A job of the actor's tenant (jobs of other tenants do not exist for them); to those who do not oversee
    the tenant's jobs, only their own."""
    _operator_check(actor)
    job = session.get(Job, job_id)
    if job is None or job.tenant_id != getattr(actor, "tenant_id", None) or not (
            policy.sees_tenant_jobs(actor) or job.requested_by_id == getattr(actor, "id", None)):
        raise NotFound("未找到该任务")
    return job


def _jobs(actor: Any) -> sa.Select[Job]:
    _operator_check(actor)
    policy.require_job_reader(actor)
    own = Job.tenant_id.is_(None) if actor.tenant_id is None else Job.tenant_id == actor.tenant_id
    stmt = sa.select(Job).where(own)
    if not policy.sees_tenant_jobs(actor):
        stmt = stmt.where(Job.requested_by_id == actor.id)  # a unit's imports are not another unit's to read
    return stmt.order_by(Job.id.desc())


def list_jobs(session: Session, actor: Any, limit: int = 50) -> list[Job]:
    """The latest ``limit`` jobs of the actor's tenant (the platform's, for its system administrator)."""
    return list(session.scalars(_jobs(actor).limit(limit)))


def job_page(session: Session, actor: Any, page: int = 1,
             per_page: int = pagination.DEFAULT_PER_PAGE) -> pagination.Page[Job]:
    """One page of the jobs of :func:`list_jobs`, newest first, and their number: two statements."""
    return pagination.fetch(session, _jobs(actor), page, per_page)


def recover_abandoned(stale_after: timedelta = timedelta(minutes=10)) -> list[int]:
    """Jobs left running by a worker that died: retry them if attempts remain, else fail them with a reason.

    A job is abandoned when its worker process is gone (same host: the pid is dead; elsewhere: no heartbeat
    for ``stale_after``). Runs when a worker starts and from the scheduler.
    """
    from jixiao.tenancy.models import Tenant

    host = socket.gethostname()
    recovered = []
    with scoped(TenantScope(system=True)) as session:
        every_tenant = tuple(session.scalars(sa.select(Tenant.id)))
    with scoped(TenantScope(read_ids=every_tenant, platform=True, system=True)) as session:
        running = [(job.id, job.tenant_id) for job in session.scalars(sa.select(Job).where(Job.status == JobStatus.RUNNING))
                   if _abandoned(job, host, stale_after)]
    for job_id, tenant_id in running:
        with scoped(job_scope(tenant_id)) as session:
            job = session.get_one(Job, job_id)
            recovered.append(job.id)
            if job.attempts < job.max_attempts and current_app.config.get("REDIS_URL"):
                job.status, job.message = JobStatus.QUEUED, "执行进程意外退出，已重新排队"
                job.error = f"第 {job.attempts} 次执行时后台进程意外退出"
                session.commit()
                _requeue(job)
            else:
                job.status, job.message, job.finished_at = JobStatus.FAILED, "失败", utcnow()
                job.error = "执行该任务的后台进程意外退出，已达最大尝试次数；请重新提交"
                session.commit()
    return recovered


def _abandoned(job: Job, host: str, stale_after: timedelta) -> bool:
    parts = (job.worker or "").split(":")
    if len(parts) == 3 and parts[0] == host:
        return not any(process_alive(int(pid)) for pid in parts[1:] if pid.isdigit())
    beat = job.heartbeat_at or job.started_at
    return beat is not None and utcnow() - beat > stale_after


def process_alive(pid: int) -> bool:
    """Is process ``pid`` of this host running? A zombie is not: a killed work-horse whose parent died stays a
    zombie until PID 1 reaps it, and in a container PID 1 may take its time — its job is abandoned all the same."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): the signal answered
    return state not in ("Z", "X")


def _requeue(job: Job) -> None:
    from rq import Queue

    connection = _redis(current_app.config["REDIS_URL"])
    spec = kinds().get(job.kind)
    Queue(job.queue, connection=connection).enqueue(
        "jixiao.jobs.runner.run", job.id, job.tenant_id, job_id=f"jixiao-{job.id}-r{job.attempts}",
        job_timeout=spec.timeout if spec else 1800, description=f"{job.kind} #{job.id} (recovered)")


# ---- What a finished job did, in words -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A job as its page shows it: its kind's label, what it did (a sentence, or the result's plain fields when
    its kind has no words for it) and a link to the record it made or changed."""

    label: str
    summary: str
    fields: list[tuple[str, str]]
    link: str | None
    link_label: str


def kind_label(kind: str) -> str:
    """A job kind's label; a kind no longer installed is shown as it is stored."""
    known = kinds()
    return known[kind].label if kind in known else kind


def job_outcome(session: Session, job: Job) -> Outcome:
    """What the job page and the job list show for ``job`` instead of its kind code and its JSON result."""
    from jixiao.tenancy.models import Tenant

    kind = kinds().get(job.kind)
    label = kind.label if kind else job.kind
    result = job.result if isinstance(job.result, dict) else {}
    if job.status is not JobStatus.SUCCEEDED and not result:
        return Outcome(label, "", [], None, "")
    tenant = session.get(Tenant, job.tenant_id) if job.tenant_id is not None else None
    code = tenant.code if tenant is not None else None
    link = kind.result_link(result, code) if kind and kind.result_link else None
    link = link or (str(result["url"]) if isinstance(result.get("url"), str) and result["url"] else None)
    if kind and kind.result_link:
        link_label = kind.link_label(result) if callable(kind.link_label) else kind.link_label
    else:
        link_label = "下载" if link and "/documents/" in link else "查看结果"
    if kind and kind.describe:
        return Outcome(label, kind.describe(result), [], link, link_label)
    # A kind without words of its own: its plain fields, never the JSON, and never the link's address twice.
    fields = [(str(key), _plain(value)) for key, value in result.items()
              if key not in ("url", "document_id") and not isinstance(value, dict | list)]
    return Outcome(label, "已完成" if job.status is JobStatus.SUCCEEDED else "", fields, link, link_label)


def _plain(value: Any) -> str:
    from jixiao.units import NONE_SHOWN

    if value is None:
        return NONE_SHOWN
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)
