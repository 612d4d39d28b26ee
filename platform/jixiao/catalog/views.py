"""Catalog page: browse and search the common indicators (共性指标) the tenant's plugins offer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError

from jixiao.auth import current_tenant, require_login
from jixiao.catalog import service
from jixiao.catalog.schemas import CatalogQuerySchema
from jixiao.db import session
from jixiao.errors import ValidationFailed
from jixiao.lifecycle.models import Direction
from jixiao.toolkit import NATIONAL_INDICATOR_FRAMEWORK

bp = Blueprint("catalog", __name__, template_folder="templates")

LEVEL1S = list(NATIONAL_INDICATOR_FRAMEWORK)  # 产出, 效益, 满意度, 成本


def direction_symbol(value: str) -> str:
    try:
        return Direction(value).symbol
    except ValueError:
        return value


def years_text(years: list[Any]) -> str:
    first, last = (list(years) + [None, None])[:2]
    if first is None:
        return _("长期有效")
    if last is None:
        return _("%(first)s 年起施行", first=first)
    return _("%(first)s—%(last)s 年", first=first, last=last)


@bp.route("/t/<tenant_code>/catalog")
@require_login
def browse() -> Any:
    wanted = {k: v for k, v in request.args.items() if k in ("year", "q", "category", "level1")}
    try:
        args = CatalogQuerySchema().load(wanted)
    except ValidationError as exc:
        raise ValidationFailed(_("查询条件有误"), fields={k: "；".join(map(str, v)) for k, v in exc.messages_dict.items()}) from exc
    tenant, year = current_tenant(), args["year"]
    catalogs = service.catalogs_for(session(), tenant, year)
    items = service.search_in(catalogs, q=args["q"], category=args["category"], level1=args["level1"])
    categories = list(dict.fromkeys(category["name"] for catalog in catalogs for category in catalog["categories"]))
    return render_template(
        "catalog/browse.html",
        tenant=tenant,
        year=year,
        args=args,
        catalogs=service.summary(catalogs),
        categories=categories,
        level1s=LEVEL1S,
        items=items,
        filtered=bool(args["q"].strip() or args["category"].strip() or args["level1"].strip()),
        symbol=direction_symbol,
        years_text=years_text,
    )
