"""Job kinds for assessments: finalising (totals, grades, rankings, awards) and publishing results."""

from __future__ import annotations

from typing import Any

from jixiao.assessment import service
from jixiao.assessment.models import Campaign
from jixiao.documents.models import Document
from jixiao.jobs.service import JobContext, job_kind
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import DocumentOwner


@job_kind("assessment.finalize", label="考核汇总排名", queue="interactive", max_attempts=2)
def finalize(ctx: JobContext, campaign_id: int) -> dict[str, Any]:
    tenant = ctx.session.get_one(Tenant, ctx.tenant_id)
    campaign = service.get_campaign(ctx.session, tenant, campaign_id)
    ctx.progress(10, "读取考核方案和各地记录")
    return service.finalize(ctx.session, tenant, campaign, progress=ctx.progress)


@job_kind("assessment.publish", label="发布考核结果", queue="interactive", max_attempts=2)
def publish(ctx: JobContext, campaign_id: int) -> dict[str, Any]:
    tenant = ctx.session.get_one(Tenant, ctx.tenant_id)
    return service.publish(ctx.session, tenant, service.get_campaign(ctx.session, tenant, campaign_id))


def _campaign_documents_visible(session: Any, actor: Any, tenant: Tenant) -> Any:
    """A ranking notice is read by whoever may read the assessor's campaigns."""
    import sqlalchemy as sa

    return Document.owner_id.in_(sa.select(Campaign.id).where(Campaign.tenant_id == tenant.id))


#: Campaigns own their ranking notices (registered by the assessment plugin).
CAMPAIGN_DOCUMENTS = DocumentOwner("assessment_campaigns", _campaign_documents_visible, "考核")
