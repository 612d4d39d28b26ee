"""Catalog API: the common indicators (共性指标) the tenant's plugins offer for a budget year, searchable."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from jixiao.auth import current_tenant, require_login
from jixiao.catalog import service
from jixiao.catalog.schemas import CatalogQuerySchema, CatalogSearchSchema
from jixiao.db import session

blp = Blueprint("catalog_api", __name__, description="Indicator catalogs")


@blp.route("/tenants/<tenant_code>/catalog")
class Catalog(MethodView):
    @require_login
    @blp.arguments(CatalogQuerySchema, location="query")
    @blp.response(200, CatalogSearchSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The common indicator catalogs in force for the tenant in a budget year, and the indicators matching
        the filters (all of them when none is given). Catalogs come from the tenant's enabled plugins; a tenant
        whose plugins register none gets empty lists."""
        db, tenant, year = session(), current_tenant(), args["year"]
        catalogs = service.catalogs_for(db, tenant, year)
        items = service.search_in(catalogs, q=args["q"], category=args["category"], level1=args["level1"])
        return {"year": year, "catalogs": service.summary(catalogs), "items": items, "total": len(items)}
