"""Statistics pages: a tenant's yearly figures per stage, in tables, a funnel and a prose summary, alone (本级)
or with its subordinates (含下级, with a row per child); and the league table of its subordinates."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.dumping import Schema
from jixiao.errors import ValidationFailed
from jixiao.lifecycle.models import LABELS, PERFORMER_LABELS
from jixiao.statistics import report, service
from jixiao.statistics.schemas import LeagueArgs, StatisticsArgs, YearArgs
from jixiao.statistics.wording import (
    LIGHT_ORDER,
    decisions,
    funnel,
    lights,
    modality_rows,
    ordered_grades,
    split_rows,
    summary,
)
from jixiao.tenancy import service as tenancy
from jixiao.tenancy.models import TenantLevel
from jixiao.units import format_amount_scaled, format_wan, percent

bp = Blueprint("statistics", __name__, template_folder="templates")

def _query(schema: Schema, names: tuple[str, ...], message: str) -> dict[str, Any]:
    """The page's query arguments through the API's schema (an empty form field counts as not given)."""
    given = {k: v for k, v in request.args.items() if k in names and v != ""}
    try:
        return schema.load(given)
    except ValidationError as exc:
        raise ValidationFailed(message, fields={k: "；".join(map(str, v)) for k, v in exc.messages_dict.items()}) from exc


@bp.route("/t/<tenant_code>/statistics")
@require_login
def yearly() -> Any:
    args = _query(StatisticsArgs(), ("year", "scope"), _("年度或统计范围有误") if "scope" in request.args else _("年度有误"))
    year, scope = args["year"], args["scope"]
    tenant = current_tenant()
    db = session()
    result = service.statistics_for(db, current_user, tenant, year, scope=scope)
    # 含下级 shows the roll-up where 本级 shows the tenant's own figures, then the rows under it.
    stats = result if scope == service.OWN else {**result["total"], "tenant": result["tenant"], "year": year,
                                                 "today": result["today"]}
    rollup = result if scope == service.ALL else None
    may_rollup = service.may_read_rollup(current_user) and bool(tenancy.children(db, tenant))
    years = sorted(set(service.available_years(db, tenant, scope)) | {year, service.current_year()}, reverse=True)
    labels = service.decision_labels(db, tenant, year)
    plan = service.plan_progress(db, current_user, tenant, year, scope=scope)
    return render_template(
        "statistics/yearly.html",
        plan=plan,
        performer=lambda value: PERFORMER_LABELS.get(value, value),
        tenant=tenant,
        year=year,
        years=years,
        scope=scope,
        rollup=rollup,
        may_rollup=may_rollup,
        may_report=report.may_request(current_user, tenant),
        wan=format_wan,
        stats=stats,
        summary=summary(stats),
        funnel=funnel(stats),
        amount=format_amount_scaled,
        label=lambda value: LABELS.get(value, value),
        decisions=lambda by_decision: decisions(by_decision, labels),
        lights=lights,
        grades=ordered_grades,
        split_rows=split_rows,
        modality_rows=modality_rows,
    )


LEAGUE_ARGS = ("year", "sort", "order", "level", "city")


@bp.route("/t/<tenant_code>/statistics/league")
@require_login
def league() -> Any:
    args = _query(LeagueArgs(), LEAGUE_ARGS, _("排名表的查询条件有误"))
    tenant = current_tenant()
    db = session()
    table = service.league(db, current_user, tenant, args["year"], sort=args["sort"], order=args["order"],
                           level=args["level"], city=args["city"])
    level = TenantLevel(tenant.level)
    cities = ([c for c in tenancy.children(db, tenant) if c.level is TenantLevel.CITY]
              if level is TenantLevel.PROVINCE else [])
    levels = [lv for lv in (TenantLevel.CITY, TenantLevel.COUNTY)
              if level is TenantLevel.PROVINCE or (level is TenantLevel.CITY and lv is TenantLevel.COUNTY)]
    years = sorted(set(service.available_years(db, tenant, service.ALL)) | {args["year"], service.current_year()},
                   reverse=True)

    def link(**changes: Any) -> dict[str, Any]:
        """The page's arguments with ``changes``: sort links keep the year, level and city chosen."""
        current = {"year": table["year"], "sort": table["sort"], "order": table["order"], "level": args["level"],
                   "city": args["city"]}
        return {k: v for k, v in {**current, **changes}.items() if v is not None}

    def sort_link(column: str) -> dict[str, Any]:
        # A rate is first wanted best first; names and codes in their usual order; a second click reverses.
        first = "asc" if column in ("code", "name") else "desc"
        again = {"asc": "desc", "desc": "asc"}[table["order"]]
        return link(sort=column, order=again if table["sort"] == column else first)

    return render_template(
        "statistics/league.html",
        tenant=tenant,
        table=table,
        years=years,
        cities=cities,
        levels=levels,
        link=link,
        sort_link=sort_link,
        percent=percent,
        wan=format_wan,
        light_names={light.value: light.label for light in LIGHT_ORDER},
        grades=ordered_grades,
    )


@bp.route("/t/<tenant_code>/statistics/report", methods=["POST"], endpoint="statistics_report")
@require_login
def statistics_report() -> Any:
    raw = request.form.get("year") or request.args.get("year")
    try:
        year = YearArgs().load({"year": raw} if raw else {})["year"]
    except ValidationError as exc:
        raise ValidationFailed(_("年度有误"), fields={k: "；".join(map(str, v)) for k, v in exc.messages_dict.items()}) from exc
    job = report.request_statistics_report(session(), current_user, current_tenant(), year)
    return redirect(url_for("jobs.job", job_id=job.id))
