"""Marshmallow schemas of the indicator catalog: the search query the API and the page both read, and the
API's answer."""

from __future__ import annotations

from marshmallow import fields, validate

from jixiao.dumping import Schema
from jixiao.statistics.service import current_year

MIN_YEAR, MAX_YEAR = 1990, 2100


class CatalogQuerySchema(Schema):
    year = fields.Integer(
        load_default=current_year,
        validate=validate.Range(min=MIN_YEAR, max=MAX_YEAR, error="年度应在 {min} 至 {max} 之间"),
        error_messages={"invalid": "年度应为四位数字，如 2024"},
        metadata={"description": "budget year: catalogs in force that year; default: the current year (Asia/Shanghai)"},
    )
    q = fields.String(load_default="", validate=validate.Length(max=100),
                      metadata={"description": "words that must all appear in the code, name, level 1/2 or category"})
    category = fields.String(load_default="", validate=validate.Length(max=40),
                             metadata={"description": "a category's code, name or alias (a project's 类别)"})
    level1 = fields.String(load_default="", validate=validate.Length(max=20),
                           metadata={"description": "产出, 效益, 满意度 or 成本"})


class CatalogRefSchema(Schema):
    code = fields.String()
    name = fields.String()


class CatalogIndicatorSchema(Schema):
    code = fields.String(metadata={"description": "catalog code, to put in an indicator's catalog_code"})
    level1 = fields.String()
    level2 = fields.String()
    name = fields.String(metadata={"description": "the level-3 indicator's name"})
    direction = fields.String(metadata={"description": "ge, gt, eq, le, lt or qualitative"})
    unit = fields.String()
    typical_value = fields.String(metadata={"description": "a reference value (参考值), not a binding target"})
    catalog = fields.Nested(CatalogRefSchema)
    category = fields.Nested(CatalogRefSchema)


class CatalogCategorySchema(Schema):
    code = fields.String()
    name = fields.String()
    aliases = fields.List(fields.String())
    count = fields.Integer(metadata={"description": "indicators in the category"})


class CatalogSummarySchema(Schema):
    code = fields.String()
    name = fields.String()
    source = fields.String()
    years = fields.List(fields.Integer(allow_none=True), metadata={"description": "[first, last or null]"})
    categories = fields.List(fields.Nested(CatalogCategorySchema))
    count = fields.Integer()


class CatalogSearchSchema(Schema):
    year = fields.Integer()
    catalogs = fields.List(fields.Nested(CatalogSummarySchema),
                           metadata={"description": "every catalog in force for the tenant that year (none: empty)"})
    items = fields.List(fields.Nested(CatalogIndicatorSchema), metadata={"description": "the indicators found"})
    total = fields.Integer()
