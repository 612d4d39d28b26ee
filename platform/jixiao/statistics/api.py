"""Statistics API: a tenant's yearly figures per lifecycle stage (the seeds' numbers)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from jixiao.auth import current_tenant, require_login
from jixiao.db import session
from jixiao.statistics import service
from jixiao.statistics.schemas import YearArgs, YearlyStatisticsSchema

blp = Blueprint("statistics_api", __name__, description="Yearly statistics per tenant")


@blp.route("/tenants/<tenant_code>/statistics")
class YearlyStatistics(MethodView):
    @require_login
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, YearlyStatisticsSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The tenant's figures for one budget year: projects, ex-ante, filing, evaluations, reports,
        rectification and results (definitions: ``jixiao.statistics.service``). Only the tenant's own
        records count, not its descendants'. Money is yuan as a decimal string."""
        return service.yearly_statistics(session(), current_tenant(), args["year"])
