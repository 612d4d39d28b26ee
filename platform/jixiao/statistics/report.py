"""The bureau's yearly report (预算绩效管理工作情况, PDF): each stage's figures in prose and tables.

The bureau itself owns the report (owner type ``tenants``), read by whoever reads its figures; finance and
administrators of the bureau ask for it. The figures count overdue notices as of a day, fixed when the report
is asked for, so a retried job renders the same document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import Session

from jixiao import policy, units
from jixiao.accounts.models import Role, User
from jixiao.documents import pdf
from jixiao.documents import service as documents
from jixiao.documents.models import Document
from jixiao.lifecycle.models import LABELS
from jixiao.statistics import service as statistics
from jixiao.statistics.wording import decisions, lights, ordered_grades, summary
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import DocumentOwner

STATISTICS_ROLES = (Role.ADMIN, Role.FINANCE)
#: Where the templates are when rendering outside an app (a script, a test).
TEMPLATES = (Path(__file__).parent / "templates",)


def _tenant_visible(session: Session, actor: User, tenant: Tenant) -> Any:
    return Document.owner_id == tenant.id if policy.may_read_bureau_figures(actor) else sa.false()


def _bureau_pages(session: Session, tenant: Tenant, ids: set[int]) -> dict[int, str]:
    return {tenant.id: url_for("statistics.yearly", tenant_code=tenant.code)} if tenant.id in ids else {}


#: The bureau owns its yearly reports (registered by the statistics plugin).
BUREAU_DOCUMENTS = DocumentOwner("tenants", _tenant_visible, "本级财政部门", _bureau_pages)


def may_request(actor: User, tenant: Tenant) -> bool:
    """Whether to show the button: finance and administrators of the bureau itself."""
    return documents.may_generate(actor, tenant, STATISTICS_ROLES)


def request_statistics_report(session: Session, actor: User, tenant: Tenant, year: int) -> Any:
    from jixiao.jobs.service import enqueue

    documents.require_generator(actor, tenant, "生成年度统计报告", STATISTICS_ROLES)
    return enqueue(session, actor, tenant, "documents.statistics_report",
                   {"year": int(year), "as_of": units.local_today().isoformat()})


def statistics_context(session: Session, tenant: Tenant, year: int, as_of: date) -> dict[str, Any]:
    stats = statistics.yearly_statistics(session, tenant, year, today=as_of)
    labels = statistics.decision_labels(session, tenant, year)
    return {
        "bureau": tenant.bureau_name,
        "header_right": f"{year}年度预算绩效管理统计报告",
        "title": f"{tenant.bureau_name}{year}年度预算绩效管理工作情况",
        "document_date": as_of,
        "tenant": tenant,
        "year": year,
        "as_of": as_of,
        "stats": stats,
        "summary": summary(stats),
        "stages": stage_paragraphs(stats, units.format_amount_scaled),
        "amount": units.format_amount_scaled,
        "grades": ordered_grades,
        "lights": lights,
        "decisions": lambda by_decision: decisions(by_decision, labels),
        **pdf.helpers(LABELS),
    }


def stage_paragraphs(stats: dict[str, Any], amount: Callable[[Any], str]) -> dict[str, str]:
    """One sentence per stage, written from the figures (the statistics page's summary groups stages)."""
    p, ex, f = stats["projects"], stats["exante"], stats["filing"]
    ev, rep, rect, res = stats["evaluations"], stats["reports"], stats["rectification"], stats["results"]
    by_kind = p["by_kind"]
    text: dict[str, str] = {}
    text["projects"] = (
        f"纳入预算绩效管理的项目（政策、部门整体）共 {p['count']} 个，申报金额 {amount(p['requested_amount'])}，"
        f"预算金额 {amount(p['budget_amount'])}；其中项目 {by_kind['project']['count']} 个、政策 "
        f"{by_kind['policy']['count']} 个、部门整体 {by_kind['department_whole']['count']} 个。")
    if ex["count"]:
        text["exante"] = (
            f"开展事前绩效评估 {ex['count']} 个，结论为支持的 {ex['by_conclusion']['support']} 个、调整后支持的 "
            f"{ex['by_conclusion']['adjust']} 个、不予支持的 {ex['by_conclusion']['reject']} 个；"
            f"评估核减 {ex['projects_cut']} 个项目资金 {amount(ex['amount_cut'])}。")
    else:
        text["exante"] = "本年度没有事前绩效评估记录。"
    text["filing"] = (
        f"{f['targets']['units']} 个单位编报绩效目标（目标表 {f['targets']['records']} 张，涉及资金 "
        f"{amount(f['targets']['amount'])}）；{f['monitoring']['units']} 个单位对 {f['monitoring']['projects']} 个项目"
        f"开展绩效运行“双监控”（监控表 {f['monitoring']['records']} 份，涉及资金 {amount(f['monitoring']['amount'])}）；"
        f"{f['self_evaluation']['units']} 个单位提交绩效自评报告 {f['self_evaluation']['records']} 份。")
    if ev["count"]:
        grades = "、".join(f"{g} {n} 个" for g, n in ordered_grades(ev["by_grade"]))
        text["evaluations"] = (
            f"开展绩效评价（不含单位自评）{ev['count']} 个，涉及项目 {ev['projects']} 个、资金 {amount(ev['amount'])}；"
            f"其中委托第三方机构 {ev['third_party']} 个，重点绩效评价 {ev['key']['count']} 个"
            + (f"；评价结果{grades}" if grades else "") + "。")
    else:
        text["evaluations"] = "本年度没有已提交的绩效评价（不含单位自评）。"
    text["reports"] = (f"公开评价报告 {rep['published']} 份，涉密不予公开 {rep['withheld']} 份，尚未公开 "
                       f"{rep['unpublished']} 份。")
    text["rectification"] = (
        f"下达整改通知书 {rect['issued']} 份，已核验销号 {rect['closed']} 份（其中按期整改 {rect['closed_on_time']} 份），"
        f"逾期未整改 {rect['overdue']} 份，尚未销号 {rect['open']} 份。")
    if res["count"]:
        changes = (f"据此调整预算 {res['budget_changes']} 项（调减 {amount(-res['reductions'])}、调增 "
                   f"{amount(res['increases'])}）" if res["budget_changes"] else "未调整预算金额")
        text["results"] = (f"评价结果应用于预算安排 {res['count']} 项，{changes}，收回闲置资金 "
                           f"{amount(res['idle_recovered'])}。")
    else:
        text["results"] = "本年度没有评价结果应用记录。"
    return text


def generate_statistics_report(session: Session, actor: User | None, tenant: Tenant, year: int, as_of: date, *,
                               job_id: int | None = None) -> Document:
    context = statistics_context(session, tenant, year, as_of)
    data = pdf.render_pdf("statistics/pdf/statistics_report.html", TEMPLATES, **context)
    return documents.store_pdf(
        session, tenant, kind="statistics_report", owner_type="tenants", owner_id=tenant.id,
        title=f"{year}年度预算绩效管理统计报告（截至{pdf.cn_date(as_of)}）",
        filename=f"{year}年度预算绩效管理统计报告-{tenant.code}", data=data, job_id=job_id,
        actor_id=getattr(actor, "id", None))
