"""The stable surface for plugin authors: what a plugin may import besides ``jixiao.hookimpl``.

Core internals may change between releases; the names below change only after a deprecation notice.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Literal, get_args

# What a plugin's composition hooks return: job kinds and their schedule (defined with the jobs).
from jixiao.jobs.kinds import JobContext, JobFailed, Schedule, TransientJobError, job_kind
from jixiao.jobs.messages import NotificationChannel, NotificationMessage, Recipient

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
    "NotificationChannel", "NotificationMessage", "Recipient",
    "AssessmentAggregate", "AssessmentGroupView", "AssessmentItemView", "AssessmentResultView", "IndicatorView", "MonitoredIndicatorView", "MonitoringView", "ProjectView", "TargetsView", "TenantView",
    "NATIONAL_INDICATOR_FRAMEWORK", "Setting", "SettingError", "SettingType",
    "add_working_days", "in_force",
    "format_wan", "load_data_file", "local_date", "local_today", "money", "percent", "timezone_name", "wan_from_yuan",
    "yuan_from_wan",
]


@dataclasses.dataclass(frozen=True)
class TenantView:
    """A read-only view of a tenant, as hooks receive it.

    ``settings`` are the tenant's effective settings: the defaults declared by the plugins in force
    (``declare_settings``), then plugin defaults (national, then regional), overlaid by the tenants' YAML files
    (inherited down the tree). ``tenant_default_settings`` itself sees only the YAML
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
    #: What the money is spent through (codes: ppp, investment_fund, …, or none); () when not recorded.
    spending_modalities: tuple[str, ...] = ()
    is_special_fund: bool = False
    #: A special fund's source: central, provincial, city or own.
    fund_source: str | None = None

    @classmethod
    def build(cls, project: Any) -> ProjectView:
        return cls(
            id=project.id, code=project.code, name=project.name, year=project.year, kind=str(project.kind),
            fund_type=str(project.fund_type), category=project.category or "", is_new=project.is_new,
            is_key=project.is_key, requested_amount=project.requested_amount,
            approved_amount=project.approved_amount,
            department_code=project.department.code if project.department else "",
            spending_modalities=tuple(project.spending_modalities or ()), is_special_fund=bool(project.is_special_fund),
            fund_source=str(project.fund_source) if project.fund_source else None,
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
    """Load a YAML or JSON data file shipped inside a plugin package (``package/data/name``).

    The file is read and parsed once per process (a package's files do not change while it runs, and hooks ask
    for their settings file on every request); each call returns its own copy, which the caller may change."""
    return copy.deepcopy(_parsed_data_file(package, name))


@functools.lru_cache(maxsize=256)
def _parsed_data_file(package: str, name: str) -> Any:
    from importlib.resources import files

    import yaml

    text = (files(package) / "data" / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)


@dataclasses.dataclass(frozen=True)
class AssessmentItemView:
    """One item of a subject's result: its state (``scored``, ``no_data``, ``not_applicable``,
    ``insufficient_information``, ``not_submitted``, ``insufficient_evidence``, ``pending``), its points and the
    maximum it counted for (0 when left out); ``label`` on an item scored on a scale (``None`` when the item has
    none: not scored, not submitted, insufficient evidence — the core's aggregations count those at the scale's
    lowest label); ``group`` its group's code; ``counted`` false when it is left out of the aggregation and the
    maximum (not applicable, insufficient information, no data treated as not applicable) and for bonus,
    deduction and veto items, which no aggregation combines."""

    code: str
    name: str
    kind: str
    state: str
    points: Decimal
    maximum: Decimal | None
    label: str | None = None
    group: str = ""
    counted: bool = True


@dataclasses.dataclass(frozen=True)
class AssessmentGroupView:
    """A group's result for one subject: ``method`` is the group's aggregation (``sum``, ``weakest``, ``table``,
    ``hook``); ``state`` is ``not_applicable`` when every item of it was left out, else ``scored``; ``label`` what
    a labelled aggregation gave (``None`` for ``sum``); ``points`` and ``maximum`` the points of its counted items
    (or what a hook gave) and the maximum they count for; ``note`` why, when there is something to say."""

    code: str
    name: str
    method: str
    state: str
    label: str | None
    points: Decimal | None
    maximum: Decimal | None
    note: str = ""


@dataclasses.dataclass(frozen=True)
class AssessmentAggregate:
    """What ``assessment_aggregate`` answers for a group, or for the subject: the ``label`` it gives, and
    ``points`` when it gives points (they replace the group's summed points in the total, or the subject's
    total); ``note`` is shown beside the result."""

    label: str | None = None
    points: Decimal | None = None
    note: str = ""


@dataclasses.dataclass(frozen=True)
class AssessmentResultView:
    """One subject's finalised result in an assessment campaign, as ``assessment_awards`` sees it.

    ``ranked`` is false for a subject below the scheme's coverage threshold (数据不足): it has no rank and no
    grade, and is listed after the ranked ones. ``coverage`` is the share of the scheme's points it could be
    measured on (of its items, for a scheme without points); ``items`` its item states and scores; ``label``
    the subject's result on the scheme's scale (``None`` when the scheme's aggregate is ``sum``); ``groups``
    its groups' results. ``assessment_grade`` receives it before grading and ranking (``grade`` and ranks
    ``None``).
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
    label: str | None = None
    groups: tuple[AssessmentGroupView, ...] = ()


# ---- What the composition hooks return -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TodoItem:
    """One to-do (待办) of ``register_todo_sources``: what to do (``label``, in Chinese), for which project, and the
    anchor of the project page's section that clears it; ``record_id`` and ``due`` when there are; the project's
    code and budget year when the source gives them (a bare name is ambiguous across years); ``tenant_code`` and
    ``tenant_name`` when the project is a lower bureau's, not the user's own (an upper level's expert drawn by a
    county), "" otherwise."""

    kind: str
    label: str
    project_id: int
    project_name: str
    anchor: str
    record_id: int | None = None
    due: str | None = None
    project_code: str = ""
    year: int | None = None
    tenant_code: str = ""
    tenant_name: str = ""


@dataclasses.dataclass(frozen=True)
class DocumentOwner:
    """A record type that owns generated documents (``register_document_owners``): ``visible(session, actor,
    tenant)`` is the SQL condition on documents for those the actor may read; ``label`` names the type on pages;
    ``pages(session, tenant, owner_ids)``, if given, says where each record is shown (``{owner_id: url}``), so the
    documents page links a document to its record."""

    owner_type: str
    visible: Any
    label: str
    pages: Any = None


@dataclasses.dataclass(frozen=True)
class Metric:
    """What a computed assessment indicator may measure (``register_assessment_metrics``): ``numerator(session,
    subjects)`` and ``denominator(session, subjects)`` each return one ``SELECT key, …, value`` grouped by subject
    (``subjects.by``, ``.ids``, ``.year``, ``.by_cutoff(column)``; ``subjects.projects(*columns)`` gives that
    statement over the subjects' projects of the year, to join and filter); ``amount`` when the ratio is of yuan.
    The value may be any expression of the group (``abs(sum(executed) - sum(approved))`` for a deviation); the
    ratio is not capped for an item that maps it by ``bands``."""

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


# ---- The national indicator framework --------------------------------------------------------------------------

#: The national framework of performance indicators (全国预算绩效指标体系): each level-1 indicator with the names of
#: its level-2 indicators, in the order target tables list them. The national rules check targets against it; a
#: region's catalog builds on it (a level-1 / level-2 pair outside it is not a national indicator).
NATIONAL_INDICATOR_FRAMEWORK: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "产出": ("数量指标", "质量指标", "时效指标", "成本指标"),
    "效益": ("经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标"),
    "满意度": ("服务对象满意度指标",),
    "成本": ("经济成本指标", "社会成本指标", "生态环境成本指标"),
})


# ---- Declared settings (declare_settings) ----------------------------------------------------------------------

#: What a setting holds: ``text``; ``integer``; ``decimal`` (kept as a string such as ``"0.2"``, never a binary
#: fraction); ``boolean``; ``integers`` and ``texts`` (lists of them); ``structured`` (any JSON value, which the
#: setting's ``check`` validates: grade bands, light bounds, forms …).
SettingType = Literal["text", "integer", "decimal", "boolean", "integers", "texts", "structured"]

_TYPE_LABELS: Mapping[str, str] = MappingProxyType({
    "text": "文字", "integer": "整数", "decimal": "数值", "boolean": "是否（true / false）",
    "integers": "整数列表", "texts": "文字列表", "structured": "结构化（JSON / YAML）",
})


class SettingError(ValueError):
    """A setting's value refused: ``key`` names the setting, ``message`` (Chinese) says what it should be and
    names it too (``设置 rectification.default_days 应为整数（填写的是 "三十"）``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class _Wrong(Exception):
    """A type reader's refusal: what the value should be (Chinese, without the key)."""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Wrong("应为文字")
    return value


def _integer(value: Any) -> int:
    # A YAML or a form may give "30": it is the integer 30. True is not 1.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,18}\s*", value):
        return int(value)
    raise _Wrong("应为整数")


def _decimal(value: Any) -> str:
    wrong = _Wrong('应为数值（如 "0.2"）')
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise wrong
    try:  # a float is read through its repr (0.3, not 0.299999…), as jixiao.units.money does
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise wrong from None
    if not number.is_finite():
        raise wrong
    return str(number)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Wrong("应为 true 或 false")
    return value


def _integers(value: Any) -> list[int]:
    try:
        if not isinstance(value, list | tuple):
            raise _Wrong("")
        return [_integer(item) for item in value]
    except _Wrong:
        raise _Wrong("应为整数列表（如 [6, 12]）") from None


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise _Wrong('应为文字列表（如 ["project", "policy"]）')
    return list(value)


def _structured(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise _Wrong("应为 JSON 值（键值对象、列表、文字、数字或 true / false）") from None
    return value


_READERS: Mapping[str, Callable[[Any], Any]] = MappingProxyType({
    "text": _text, "integer": _integer, "decimal": _decimal, "boolean": _boolean, "integers": _integers,
    "texts": _texts, "structured": _structured,
})
assert set(_READERS) == set(get_args(SettingType)), "every setting type has a reader"


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "…"


@dataclasses.dataclass(frozen=True)
class Setting:
    """A tenant setting a plugin reads (``declare_settings``): its dotted ``key``, the ``type`` of value it holds,
    its ``default`` and what it means (``description``, Chinese, shown to administrators on the settings page).

    ``default`` is what a tenant has when no plugin's ``tenant_default_settings`` and no tenants YAML gives a
    value; ``None`` means no default (the key is absent until set, read with ``settings.get(key)``). ``choices``
    are the values allowed (for a list, of each item); ``nullable`` lets ``null`` be written (a rule switched off);
    ``check(value)`` validates further and returns the value to keep, raising ``ValueError`` with a Chinese
    message — it is how a ``structured`` setting says its shape.
    """

    key: str
    type: SettingType
    default: Any = None
    description: str = ""
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    check: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        if not self.key or self.key != self.key.strip():
            raise ValueError(f"setting key {self.key!r} is empty or has spaces around it")
        if self.type not in _READERS:
            raise ValueError(f"setting {self.key}: type {self.type!r} is not one of {', '.join(_READERS)}")

    @property
    def type_label(self) -> str:
        """The type as the settings page names it (整数, 文字列表 …)."""
        return _TYPE_LABELS[self.type]

    def parse(self, value: Any) -> Any:
        """``value`` normalised (a decimal as a string, ``"30"`` as ``30`` for an integer), or ``SettingError``
        naming the key and saying what the value should be."""
        if value is None:
            if self.nullable:
                return None
            raise SettingError(self.key, f"设置 {self.key} 不能为空（null）")
        try:
            parsed = _READERS[self.type](value)
        except _Wrong as wrong:
            raise SettingError(self.key, f"设置 {self.key} {wrong}（填写的是 {_shown(value)}）") from None
        self._check_choices(parsed)
        if self.check is not None:
            try:
                parsed = self.check(parsed)
            except (ValueError, TypeError) as exc:
                raise SettingError(self.key, f"设置 {self.key} 有误：{exc}") from None
        return parsed

    def _check_choices(self, parsed: Any) -> None:
        if self.choices is None:
            return
        items = parsed if isinstance(parsed, list) else [parsed]
        wrong = [item for item in items if item not in self.choices]
        if wrong:
            allowed = "、".join(str(choice) for choice in self.choices)
            each = "的每一项" if isinstance(parsed, list) else ""
            raise SettingError(self.key, f"设置 {self.key} {each}应为 {allowed} 之一（{_shown(wrong[0])} 不在其中）")
