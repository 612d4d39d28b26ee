"""Job kinds that render PDFs (queue "documents"): each stores its PDF on its record and returns where it is.

They get ids, never objects, and re-check what they read with the requesting user's rights. They are
idempotent: rendering is deterministic and the file store content-addressed, so running one again for the
same record, unchanged, gives back the same document (``{"document_id", "url"}``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from jixiao.accounts.models import User
from jixiao.documents import service
from jixiao.errors import DomainError
from jixiao.jobs.notifications import notify
from jixiao.jobs.service import JobContext, JobFailed, job_kind
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


def _run(ctx: JobContext, what: str, make: Any) -> dict[str, Any]:
    tenant, actor = _who(ctx)
    ctx.progress(10, f"正在生成{what}")
    try:
        document = make(tenant, actor)
    except DomainError as exc:  # the record is gone, not visible any more, or not ready: say so, don't retry
        raise JobFailed(exc.message) from exc
    if actor is not None:
        # The bell: the requester may have left the job's page (a queued job can wait a while).
        notify(ctx.session, tenant_id=tenant.id, user_id=actor.id, kind="document.ready",
               title=f"{what}已生成：{document.title}", url=service.download_url(tenant, document),
               dedupe_key=f"document.ready:{document.id}")
        ctx.session.commit()
    ctx.progress(100, f"{what}已生成")
    return service.job_result(tenant, document)


@job_kind("documents.evaluation_report", label="生成绩效评价报告（PDF）", queue=QUEUE, max_attempts=2, timeout=600)
def evaluation_report(ctx: JobContext, evaluation_id: int) -> dict[str, Any]:
    return _run(ctx, "绩效评价报告", lambda tenant, actor: service.generate_evaluation_report(
        ctx.session, actor, tenant, int(evaluation_id), job_id=ctx.job_id))


@job_kind("documents.rectification_notice", label="生成整改通知书（PDF）", queue=QUEUE, max_attempts=2, timeout=600)
def rectification_notice(ctx: JobContext, notice_id: int) -> dict[str, Any]:
    return _run(ctx, "整改通知书", lambda tenant, actor: service.generate_rectification_notice(
        ctx.session, actor, tenant, int(notice_id), job_id=ctx.job_id))


@job_kind("documents.statistics_report", label="生成年度统计报告（PDF）", queue=QUEUE, max_attempts=2, timeout=900)
def statistics_report(ctx: JobContext, year: int, as_of: str | None = None) -> dict[str, Any]:
    """``as_of``: the day overdue notices are counted on (ISO date), fixed when the job was asked for."""
    from jixiao.units import local_today

    day = date.fromisoformat(as_of) if as_of else local_today()
    return _run(ctx, "年度统计报告", lambda tenant, actor: service.generate_statistics_report(
        ctx.session, actor, tenant, int(year), day, job_id=ctx.job_id))


@job_kind("documents.ranking_notice", label="生成考核结果通报（PDF）", queue=QUEUE, max_attempts=2, timeout=600)
def ranking_notice(ctx: JobContext, owner_type: str, owner_id: int, title: str, year: int, issuer: str,
                   rows: list[Any], rewarded: list[str] | None = None, summoned: list[str] | None = None,
                   issued_on: str | None = None, number: str = "", intro: str = "", addressees: str = "",
                   filename: str | None = None) -> dict[str, Any]:
    """For the assessment campaigns: render the ranking notice from plain data and store it on ``owner``."""

    def make(tenant: Tenant, actor: User | None) -> Any:
        data = service.render_ranking_notice(
            title, year, issuer, rows, rewarded or [], summoned or [],
            issued_on=date.fromisoformat(issued_on) if issued_on else None, number=number, intro=intro,
            addressees=addressees)
        return service.store_ranking_notice(ctx.session, tenant, owner_type=owner_type, owner_id=int(owner_id),
                                            data=data, title=title, filename=filename, job_id=ctx.job_id,
                                            actor_id=getattr(actor, "id", None))

    return _run(ctx, "考核结果通报", make)
