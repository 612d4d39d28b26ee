"""Rendering a document in a job (queue "documents"): the domains' PDF job kinds share this.

Jobs get ids, never objects, and re-check what they read with the requesting user's rights. They are
idempotent: rendering is deterministic and the file store content-addressed, so running one again for the
same record, unchanged, gives back the same document (``{"document_id", "url"}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jixiao.accounts.models import User
from jixiao.documents import service
from jixiao.documents.models import Document
from jixiao.errors import DomainError
from jixiao.jobs.notifications import notify
from jixiao.jobs.service import JobContext, JobFailed
from jixiao.tenancy.models import Tenant

QUEUE = "documents"


def _who(ctx: JobContext) -> tuple[Tenant, User | None]:
    tenant = ctx.session.get(Tenant, ctx.tenant_id) if ctx.tenant_id else None
    if tenant is None:
        raise JobFailed("文件生成任务必须属于一个财政部门")
    actor = ctx.session.get(User, ctx.user_id) if ctx.user_id else None
    if ctx.user_id and (actor is None or actor.tenant_id != tenant.id or not actor.active):
        raise JobFailed("提交任务的用户已不在本级，任务未执行")
    return tenant, actor


def render_in_job(ctx: JobContext, what: str, make: Callable[[Tenant, User | None], Document]) -> dict[str, Any]:
    """Run ``make(tenant, actor)`` for the job's tenant and requester, tell the requester when it is ready, and
    return where the document is. A domain refusal (the record is gone, not visible any more, not ready) fails
    the job with its message instead of retrying."""
    tenant, actor = _who(ctx)
    ctx.progress(10, f"正在生成{what}")
    try:
        document = make(tenant, actor)
    except DomainError as exc:
        raise JobFailed(exc.message) from exc
    if actor is not None:
        # The bell: the requester may have left the job's page (a queued job can wait a while).
        notify(ctx.session, tenant_id=tenant.id, user_id=actor.id, kind="document.ready",
               title=f"{what}已生成：{document.title}", url=service.download_url(tenant, document),
               dedupe_key=f"document.ready:{document.id}")
        ctx.session.commit()
    ctx.progress(100, f"{what}已生成")
    return service.job_result(tenant, document)
