"""The lifecycle's PDF job kinds (queue "documents"); their kind names are kept from when the documents package
rendered them, so jobs already queued or recorded still run and read."""

from __future__ import annotations

from typing import Any

from jixiao.documents.jobs import QUEUE, render_in_job
from jixiao.jobs.service import JobContext, job_kind
from jixiao.lifecycle import reports


@job_kind("documents.evaluation_report", label="生成绩效评价报告（PDF）", queue=QUEUE, max_attempts=2, timeout=600,
          describe=lambda result: "已生成绩效评价报告（PDF）")
def evaluation_report(ctx: JobContext, evaluation_id: int) -> dict[str, Any]:
    return render_in_job(ctx, "绩效评价报告", lambda tenant, actor: reports.generate_evaluation_report(
        ctx.session, actor, tenant, int(evaluation_id), job_id=ctx.job_id))


@job_kind("documents.rectification_notice", label="生成整改通知书（PDF）", queue=QUEUE, max_attempts=2, timeout=600,
          describe=lambda result: "已生成整改通知书（PDF）")
def rectification_notice(ctx: JobContext, notice_id: int) -> dict[str, Any]:
    return render_in_job(ctx, "整改通知书", lambda tenant, actor: reports.generate_rectification_notice(
        ctx.session, actor, tenant, int(notice_id), job_id=ctx.job_id))
