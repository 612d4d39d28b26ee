"""The stable surface for plugin authors: what a plugin may import besides ``jixiao.hookimpl``.

Core internals may change between releases; the names below change only after a deprecation notice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

# What a plugin's composition hooks return: job kinds and their schedule (defined with the jobs).
from jixiao.jobs.kinds import JobContext, JobFailed, Schedule, TransientJobError, job_kind

# The units (money, percentages, the bureau's day) are defined once, in jixiao.units; these are the stable names.
from jixiao.units import (
    format_wan,
    local_date,
    local_today,
    money,
    percent,
    timezone_name,
    wan_from_yuan,
    yuan_from_wan,
)

__all__ = [
    "DocumentOwner", "JobContext", "JobFailed", "Metric", "Schedule", "TodoItem", "TransientJobError", "job_kind",
    "AssessmentItemView", "AssessmentResultView", "IndicatorView", "MonitoredIndicatorView", "MonitoringView", "ProjectView", "TargetsView", "TenantView",
    "add_working_days", "in_force",
    "format_wan", "load_data_file", "local_date", "local_today", "money", "percent", "timezone_name", "wan_from_yuan",
    "yuan_from_wan",
]


@dataclasses.dataclass(frozen=True)
class TenantView:
    """A read-only view of a tenant, as hooks receive it.

    ``settings`` are the tenant's effective settings: plugin defaults (national, then regional) overlaid by
    the tenants' YAML files (inherited down the tree). ``tenant_default_settings`` itself sees only the YAML
    part. ``plugins`` are the plugins in force for it in the order they answer: its own (in its YAML order),
    then its parent's, up to the province's, and ``national`` last.
    """

    id: int
    code: str
    name: str
    level: str
    division_type: str
    ancestor_codes: tuple[str, ...]
    plugins: tuple[str, ...]
    settings: Mapping[str, Any]

    @property
    def is_district(self) -> bool:
        """A 区 (municipal district): some regional rules treat districts differently."""
        return self.division_type == "区"

    @property
    def province_code(self) -> str:
        return (self.ancestor_codes or (self.code,))[0]

    @classmethod
    def build(cls, tenant: Any, plugins: tuple[str, ...], settings: Mapping[str, Any]) -> TenantView:
        return cls(
            id=tenant.id,
            code=tenant.code,
            name=tenant.name,
            level=str(tenant.level),
            division_type=tenant.division_type,
            ancestor_codes=tuple(tenant.ancestor_codes),
            plugins=plugins,
            settings=MappingProxyType(dict(settings)),
        )


@dataclasses.dataclass(frozen=True)
class ProjectView:
    """A read-only view of a project (项目/政策/部门整体) for hooks. Amounts are ``Decimal`` yuan."""

    id: int
    code: str
    name: str
    year: int
    kind: str
    fund_type: str
    category: str
    is_new: bool
    is_key: bool
    requested_amount: Decimal
    approved_amount: Decimal | None
    department_code: str

    @classmethod
    def build(cls, project: Any) -> ProjectView:
        return cls(
            id=project.id, code=project.code, name=project.name, year=project.year, kind=str(project.kind),
            fund_type=str(project.fund_type), category=project.category or "", is_new=project.is_new,
            is_key=project.is_key, requested_amount=project.requested_amount,
            approved_amount=project.approved_amount,
            department_code=project.department.code if project.department else "",
        )


@dataclasses.dataclass(frozen=True)
class IndicatorView:
    level1: str
    level2: str
    name: str
    direction: str
    target_value: Decimal | None
    target_text: str
    unit: str
    weight: Decimal
    catalog_code: str | None
    nature: str = "cumulative"


@dataclasses.dataclass(frozen=True)
class TargetsView:
    """A project's performance targets as submitted: the overall target and its indicator table."""

    overall_target: str
    indicators: tuple[IndicatorView, ...]


@dataclasses.dataclass(frozen=True)
class MonitoredIndicatorView:
    """One indicator of a monitoring report: what it read, what it was compared with, how far the year got.

    ``nature`` is ``cumulative`` (counts, amounts: ``expected_value`` is the pro-rated annual target) or
    ``level`` (rates, unit costs: ``expected_value`` is the target). ``attainment`` is the lit ratio in percent
    (for caps, 100 while within the cap); ``annual_progress`` is ``actual / target`` in percent, the share of the
    year's target reached, which is what compares with the execution rate. Both ``None`` when not computable.
    """

    name: str
    direction: str
    nature: str
    unit: str
    target_value: Decimal | None
    actual_value: Decimal | None
    expected_value: Decimal | None
    attainment: Decimal | None
    annual_progress: Decimal | None
    light: str | None


@dataclasses.dataclass(frozen=True)
class MonitoringView:
    """A monitoring report as hooks see it: rates and attainments in percent.

    ``attainments`` (name, percent) is kept for plugins written before ``indicators`` existed.
    """

    period: int
    executed_amount: Decimal
    budget_amount: Decimal
    execution_rate: Decimal
    light: str
    attainments: tuple[tuple[str, Decimal | None], ...]
    indicators: tuple[MonitoredIndicatorView, ...] = ()


def add_working_days(start: Any, days: int) -> Any:
    """``start`` plus ``days`` working days (Monday to Friday; public holidays are not known here)."""
    from datetime import timedelta

    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def load_data_file(package: str, name: str) -> Any:
    """Load a YAML or JSON data file shipped inside a plugin package (``package/data/name``)."""
    import json
    from importlib.resources import files

    import yaml

    text = (files(package) / "data" / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)


@dataclasses.dataclass(frozen=True)
class AssessmentItemView:
    """One item of a subject's result: its state (``scored``, ``no_data``, ``not_applicable``, ``not_submitted``,
    ``insufficient_evidence``, ``pending``), its points and the maximum it counted for (0 when left out)."""

    code: str
    name: str
    kind: str
    state: str
    points: Decimal
    maximum: Decimal | None


@dataclasses.dataclass(frozen=True)
class AssessmentResultView:
    """One subject's finalised result in an assessment campaign, as ``assessment_awards`` sees it.

    ``ranked`` is false for a subject below the scheme's coverage threshold (数据不足): it has no rank and no
    grade, and is listed after the ranked ones. ``coverage`` is the share of the scheme's points it could be
    measured on; ``items`` its item states and scores.
    """

    code: str
    name: str
    division_type: str
    parent_code: str | None
    total: Decimal
    grade: str | None
    rank: int | None
    rank_in_parent: int | None
    vetoed: bool
    ranked: bool = True
    coverage: Decimal | None = None
    items: tuple[AssessmentItemView, ...] = ()


# ---- What the composition hooks return -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TodoItem:
    """One to-do (待办) of ``register_todo_sources``: what to do (``label``, in Chinese), for which project, and the
    anchor of the project page's section that clears it; ``record_id`` and ``due`` when there are."""

    kind: str
    label: str
    project_id: int
    project_name: str
    anchor: str
    record_id: int | None = None
    due: str | None = None


@dataclasses.dataclass(frozen=True)
class DocumentOwner:
    """A record type that owns generated documents (``register_document_owners``): ``visible(session, actor,
    tenant)`` is the SQL condition on documents for those the actor may read; ``label`` names the type on pages."""

    owner_type: str
    visible: Any
    label: str


@dataclasses.dataclass(frozen=True)
class Metric:
    """What a computed assessment indicator may measure (``register_assessment_metrics``): ``numerator(session,
    subjects)`` and ``denominator(session, subjects)`` each return one ``SELECT key, …, value`` grouped by subject
    (``subjects.by``, ``.ids``, ``.year``, ``.by_cutoff(column)``); ``amount`` when the ratio is of yuan."""

    name: str
    label: str
    numerator: Any
    denominator: Any
    #: The ratio is of amounts (yuan), shown in 万元; otherwise of counts.
    amount: bool = False


def in_force(years: Any, year: int) -> bool:
    """Whether a rule whose ``years`` are ``[first, last]`` (inclusive; ``None`` or a missing item: open-ended) is
    in force in budget ``year``. The core keeps only the catalogs and schemes in force; a plugin uses it for its
    own year-bound rules."""
    span = list(years or [])
    first = span[0] if span else None
    last = span[1] if len(span) > 1 else None
    return (first is None or int(first) <= year) and (last is None or year <= int(last))
