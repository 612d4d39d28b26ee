"""The home dashboard of a province or a city: its subordinates' league table (:func:`service.league`), their
monitoring filing rate month by month, and the ranking of its latest assessment campaign (考核) with the
distribution of the results.

Set-based like the statistics: the league's own statements, one for the children, one GROUP BY child × month for
the filings and two for the campaign and its ranking, whatever the number of subordinates and records.

**Filing rate of a month** (月度监控填报率): the units (departments) of a child's subtree that filed a monitoring
report for that month / the units owing monitoring in the year (with a project whose budget is approved: the
league's ``monitoring`` denominator), in percent; ``None`` when no unit owes any.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from jixiao.assessment import service as assessment
from jixiao.assessment.models import Campaign, CampaignStatus, CampaignSubject
from jixiao.lifecycle.models import MonitoringReport, Project
from jixiao.statistics import service
from jixiao.tenancy.models import Tenant
from jixiao.units import local_today

#: Campaigns whose ranking is settled enough to show: summed up (公示) or published.
RANKED = (CampaignStatus.FINALIZED, CampaignStatus.PUBLISHED)


@dataclasses.dataclass(frozen=True)
class BureauHome:
    year: int
    league: dict[str, Any]
    months: list[int]
    filing: list[dict[str, Any]]
    campaign: Campaign | None
    ranking: list[CampaignSubject]


def months_of(year: int, today: date) -> list[int]:
    """The months shown: this year's up to the current one, every month of another year."""
    return list(range(1, today.month + 1 if year == today.year else 13))


def monthly_filing(session: Session, tenant: Tenant, year: int, league: dict[str, Any],
                   months: list[int]) -> list[dict[str, Any]]:
    """Each direct child's units that filed each month's monitoring report, and the rate (module docstring)."""
    children = session.execute(sa.select(Tenant.code, Tenant.path).where(Tenant.parent_id == tenant.id)
                               .order_by(Tenant.code)).all()
    owner = aliased(Tenant, name="owner")
    # A child's path is its parent's plus one segment: the first characters of an owner's path name its child.
    key = sa.func.substr(owner.path, sa.literal_column("1"),
                         sa.literal_column(str(len(tenant.path) + service.PATH_SEGMENT)))
    rows = session.execute(
        sa.select(key, MonitoringReport.period, sa.func.count(sa.distinct(Project.department_id)))
        .select_from(MonitoringReport).join(Project, Project.id == MonitoringReport.project_id)
        .join(owner, owner.id == Project.tenant_id)
        .where(owner.path.startswith(tenant.path, autoescape=True), owner.id != tenant.id, Project.year == year)
        .group_by(key, MonitoringReport.period)).all()
    filed = {(path, int(period)): int(n) for path, period, n in rows}
    owed = {row["code"]: row["current"]["monitoring"]["denominator"] for row in league["rows"]}
    names = {row["code"]: row["name"] for row in league["rows"]}
    out = []
    for code, path in children:
        if code not in owed:
            continue
        counts = {m: filed.get((path, m), 0) for m in months}
        out.append({"code": code, "name": names[code], "owed": owed[code], "filed": counts,
                    "rates": {m: service.rate_cell(n, owed[code], [])["rate"] for m, n in counts.items()}})
    return out


def latest_campaign(session: Session, tenant: Tenant) -> tuple[Campaign | None, list[CampaignSubject]]:
    """The tenant's latest campaign whose results are summed up or published, and its ranking."""
    campaign = session.scalar(sa.select(Campaign).where(Campaign.tenant_id == tenant.id, Campaign.status.in_(RANKED))
                              .order_by(Campaign.year.desc(), Campaign.id.desc()).limit(1))
    return campaign, (assessment.ranking(session, campaign) if campaign is not None else [])


def bureau_home(session: Session, actor: Any, tenant: Tenant, year: int, *, sort: str = "code",
                order: str = "asc", today: date | None = None) -> BureauHome:
    """A province's or a city's home for ``year``, for a reader of the bureau's figures (403 for others)."""
    today = today or local_today()
    league = service.league(session, actor, tenant, year, sort=sort, order=order, today=today)
    months = months_of(year, today)
    campaign, ranking = latest_campaign(session, tenant)
    return BureauHome(year=year, league=league, months=months,
                      filing=monthly_filing(session, tenant, year, league, months), campaign=campaign,
                      ranking=ranking)
