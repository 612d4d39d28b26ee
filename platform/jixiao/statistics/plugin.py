"""Statistics, registered like any plugin: the figures pages and API, and the yearly report (PDF)."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.errors import ValidationFailed
from jixiao.statistics import api, jobs, report, service, views
from jixiao.toolkit import Setting


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]


@hookimpl
def register_job_kinds() -> list[Any]:
    return [jobs.statistics_report]


@hookimpl
def register_document_owners() -> list[Any]:
    return [report.BUREAU_DOCUMENTS]


def _league_bands(value: Any) -> Any:
    """The bands as the league table reads them (``service.league_bands``): refused when written, not only when
    the table is next shown."""
    try:
        service.league_bands({service.BANDS_SETTING: value})
    except ValidationFailed as refused:
        raise ValueError(refused.fields.get(service.BANDS_SETTING, refused.message)) from None
    return value


@hookimpl
def declare_settings() -> list[Setting]:
    return [Setting(
        service.BANDS_SETTING, "structured", nullable=True, check=_league_bands,
        default={"default": [{"band": "green", "label": "较好", "min": 80}, {"band": "yellow", "label": "一般", "min": 60},
                             {"band": "red", "label": "较差", "min": 0}]},
        description="下级排名表各列的图例分档（示例性）：比率不低于 min（百分数）即属该档；default 适用于未单独设置的列，"
                    "null 表示不分档")]
