"""Statistics API: a tenant's yearly figures per lifecycle stage (the seeds' numbers), alone or with its
subordinates, and the league table of its subordinates."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.jobs.schemas import JobSchema
from jixiao.statistics import report, service
from jixiao.statistics.schemas import (
    LeagueArgs,
    LeagueSchema,
    PlanProgressSchema,
    StatisticsArgs,
    YearArgs,
    YearlyStatisticsSchema,
)

blp = Blueprint("statistics_api", __name__, description="Yearly statistics per tenant")


@blp.route("/tenants/<tenant_code>/statistics")
class YearlyStatistics(MethodView):
    @require_login
    @blp.arguments(StatisticsArgs, location="query")
    @blp.response(200, YearlyStatisticsSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The tenant's figures for one budget year: projects, ex-ante, filing, evaluations, reports,
        rectification and results (definitions: ``jixiao.statistics.service``). ``scope=own`` (the default):
        only the tenant's own records. Finance, administrators, auditors and viewers only (403 for department
        staff, evaluators and experts). ``scope=all`` (含下级; finance, administrators, auditors and viewers):
        ``total`` (the tenant and every descendant), ``own`` and ``children`` (one row per direct child, its
        subtree). Money is yuan as a decimal string."""
        return service.statistics_for(session(), current_user, current_tenant(), args["year"], scope=args["scope"])


@blp.route("/tenants/<tenant_code>/statistics/report")
class StatisticsReport(MethodView):
    @require_login
    @blp.arguments(YearArgs, location="query")
    @blp.response(202, JobSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Generate the tenant's yearly report (预算绩效管理工作情况, PDF): each stage's figures in prose and
        tables, overdue rectifications counted as of today. Finance and administrators; a job."""
        return report.request_statistics_report(session(), current_user, current_tenant(), args["year"])


@blp.route("/tenants/<tenant_code>/statistics/league")
class League(MethodView):
    @require_login
    @blp.arguments(LeagueArgs, location="query")
    @blp.response(200, LeagueSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The league table of the tenant's subordinates (finance, administrators, auditors and viewers): filing
        rates, execution rate, ex-ante coverage, rectification on time and publication rate for the year and
        the year before, with lights, grades and each rate's legend band. Rates are percent strings with two
        decimals, ``null`` with a ``reason`` when nothing was owed."""
        return service.league(session(), current_user, current_tenant(), args["year"],
                              sort=args["sort"], order=args["order"], level=args["level"], city=args["city"])


@blp.route("/tenants/<tenant_code>/statistics/evaluation-plan")
class EvaluationPlanProgress(MethodView):
    @require_login
    @blp.arguments(StatisticsArgs, location="query")
    @blp.response(200, PlanProgressSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The year's plan of key evaluations against what was done: planned, in progress (commissioned) and
        done (submitted) per project kind and performer (an agency type, or ``finance_team`` for a finance
        evaluation without an agency), with their sums by kind, by performer and in total. ``scope=all`` (含下级):
        every bureau's plan against its own evaluations, as ``total``, ``own`` and one row per direct child.
        Definitions: ``jixiao.statistics.service.plan_progress``. Readers of the bureau's figures only (403
        otherwise)."""
        return service.plan_progress(session(), current_user, current_tenant(), args["year"], scope=args["scope"])
