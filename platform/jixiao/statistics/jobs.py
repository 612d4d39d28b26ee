"""The statistics' PDF job kind (queue "documents"); its kind name is kept from when the documents package
rendered it, so jobs already queued or recorded still run and read."""

from __future__ import annotations

from datetime import date
from typing import Any

from jixiao.documents.jobs import QUEUE, render_in_job
from jixiao.jobs.service import JobContext, job_kind
from jixiao.statistics import report
from jixiao.units import local_today


@job_kind("documents.statistics_report", label="生成年度统计报告（PDF）", queue=QUEUE, max_attempts=2, timeout=900,
          describe=lambda result: "已生成年度统计报告（PDF）")
def statistics_report(ctx: JobContext, year: int, as_of: str | None = None) -> dict[str, Any]:
    """``as_of``: the day overdue notices are counted on (ISO date), fixed when the job was asked for."""
    day = date.fromisoformat(as_of) if as_of else local_today()
    return render_in_job(ctx, "年度统计报告", lambda tenant, actor: report.generate_statistics_report(
        ctx.session, actor, tenant, int(year), day, job_id=ctx.job_id))
