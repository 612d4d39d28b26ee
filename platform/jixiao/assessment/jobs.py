"""Job kinds for assessments: finalising (totals, grades, rankings, awards), publishing results, and the
ranking notice (its kind name kept from when the documents package rendered it)."""

from __future__ import annotations

from datetime import date
from typing import Any

from jixiao.accounts.models import User
from jixiao.assessment import notice, notices, service
from jixiao.assessment.models import Campaign
from jixiao.documents.jobs import QUEUE, render_in_job
from jixiao.documents.models import Document
from jixiao.jobs.service import JobContext, Schedule, job_kind
from jixiao.lifecycle import rectification
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import DocumentOwner

#: The assessment's periodic job, as data (registered by its plugin, run by ``jixiao scheduler``).
SCHEDULE = [
    Schedule("scan.assessment_deadlines", "40 2 * * *", "每日提醒被考核的下级财政部门：考核自评即将截止而尚未全部报送"),
]


def _campaign_page(result: dict[str, Any], tenant_code: str | None) -> str | None:
    """The campaign the job finalised or published (built by hand: a worker has no request)."""
    if not tenant_code or not result.get("campaign_id"):
        return None
    return f"/t/{tenant_code}/assessments/{int(result['campaign_id'])}"


def _finalized(result: dict[str, Any]) -> str:
    return (f"已汇总 {result.get('subjects', 0)} 个被考核单位的得分，{result.get('ranked', 0)} 个参与排名，"
            f"{result.get('awarded', 0)} 个获奖励，{result.get('noticed', 0)} 个被通报")


def _published(result: dict[str, Any]) -> str:
    return f"已公布 {result.get('published', 0)} 个被考核单位的考核结果"


@job_kind("assessment.finalize", label="考核汇总排名", queue="interactive", max_attempts=2, describe=_finalized,
          result_link=_campaign_page, link_label="打开考核")
def finalize(ctx: JobContext, campaign_id: int) -> dict[str, Any]:
    tenant = ctx.session.get_one(Tenant, ctx.tenant_id)
    campaign = service.get_campaign(ctx.session, tenant, campaign_id)
    ctx.progress(10, "读取考核方案和各地记录")
    return service.finalize(ctx.session, tenant, campaign, progress=ctx.progress)


@job_kind("assessment.publish", label="发布考核结果", queue="interactive", max_attempts=2, describe=_published,
          result_link=_campaign_page, link_label="打开考核")
def publish(ctx: JobContext, campaign_id: int) -> dict[str, Any]:
    tenant = ctx.session.get_one(Tenant, ctx.tenant_id)
    return service.publish(ctx.session, tenant, service.get_campaign(ctx.session, tenant, campaign_id))


def _reminded(result: dict[str, Any]) -> str:
    return (f"{result.get('campaigns', 0)} 项考核的自评即将截止，提醒了 {result.get('subjects', 0)} 个尚未报送完毕的"
            f"财政部门，发出提醒 {result.get('notifications', 0)} 条")


@job_kind("scan.assessment_deadlines", label="考核自评截止提醒", queue="scheduled", max_attempts=2, describe=_reminded)
def self_report_reminders(ctx: JobContext) -> dict[str, Any]:
    """The daily reminder of self-report deadlines (``jixiao.assessment.notices.remind_self_reports``), on the
    bureaus' day as the lifecycle's daily scan counts it."""
    return notices.remind_self_reports(rectification.today(), progress=ctx.progress)


@job_kind("documents.ranking_notice", label="生成考核结果通报（PDF）", queue=QUEUE, max_attempts=2, timeout=600,
          describe=lambda result: "已生成考核结果通报（PDF）")
def ranking_notice(ctx: JobContext, owner_type: str, owner_id: int, title: str, year: int, issuer: str,
                   rows: list[Any], rewarded: list[str] | None = None, summoned: list[str] | None = None,
                   issued_on: str | None = None, number: str = "", intro: str = "", addressees: str = "",
                   filename: str | None = None) -> dict[str, Any]:
    """Render the ranking notice from plain data and store it on ``owner`` (the campaign)."""

    def make(tenant: Tenant, actor: User | None) -> Document:
        data = notice.render_ranking_notice(
            title, year, issuer, rows, rewarded or [], summoned or [],
            issued_on=date.fromisoformat(issued_on) if issued_on else None, number=number, intro=intro,
            addressees=addressees)
        return notice.store_ranking_notice(ctx.session, tenant, owner_type=owner_type, owner_id=int(owner_id),
                                           data=data, title=title, filename=filename, job_id=ctx.job_id,
                                           actor_id=getattr(actor, "id", None))

    return render_in_job(ctx, "考核结果通报", make)


def _campaign_documents_visible(session: Any, actor: Any, tenant: Tenant) -> Any:
    """A ranking notice is read by whoever may read the assessor's campaigns."""
    import sqlalchemy as sa

    return Document.owner_id.in_(sa.select(Campaign.id).where(Campaign.tenant_id == tenant.id))


def _campaign_pages(session: Any, tenant: Tenant, ids: set[int]) -> dict[int, str]:
    from flask import url_for

    return {campaign_id: url_for("assessment.campaign", tenant_code=tenant.code, campaign_id=campaign_id)
            for campaign_id in ids}


#: Campaigns own their ranking notices (registered by the assessment plugin).
CAMPAIGN_DOCUMENTS = DocumentOwner("assessment_campaigns", _campaign_documents_visible, "考核", _campaign_pages)
