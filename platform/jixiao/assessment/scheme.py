"""Assessment schemes (考核方案) read into one typed model: scales, groups, items, bands and aggregations.

A plugin's scheme is data (``register_assessment_schemes``); a campaign keeps the scheme it was opened with as
JSON. Both are read here, whatever release wrote them: a scheme of earlier releases (no ``scales``, no
``aggregate``, ``empty`` for ``no_data``) reads as points summed, exactly as it was assessed then. ``read``
checks a scheme and gives the model the service computes with; ``normalised`` gives the same scheme as JSON
with every default written out (what the API returns and what a new campaign saves).

- A **scale** is declared once per scheme: ``{code, labels (best first), points (per label, optional)}``. An
  item on a scale is given a label; its points are the label's, when the scale has points (an *ordinal* item,
  on a scale without points, has none).
- A computed item maps its ratio by ``bands`` (lower bounds, highest first) to points, or to a label of its
  scale; without bands it earns ``max × min(ratio, 1)``.
- A group, and the scheme itself for the subject's result, declare their ``aggregate``: ``sum`` (the default:
  points added), ``weakest`` (the lowest label, with an optional ``plus`` rule), ``table`` (a conversion table:
  a combination of labels, or a points range, to a label) or ``hook`` (``assessment_aggregate`` answers).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

KINDS = ("computed", "assessed", "bonus", "deduction", "veto")
#: The kinds that make up the points a subject is measured on (bonus and deduction come on top, veto zeroes).
POSITIVE_KINDS = ("computed", "assessed")
#: The kinds assessors score (the rest are computed from the records).
ASSESSED_KINDS = ("assessed", "bonus", "deduction", "veto")
#: What a computed item whose base is empty (nothing was owed) means; the first is the default.
NO_DATA_RULES = ("not_applicable", "zero", "full")
#: The states an assessor may give an assessed item instead of a score, where the scheme allows them: both
#: leave the item out of the aggregation and of the maximum.
ASSESSOR_STATES = ("not_applicable", "insufficient_information")
METHODS = ("sum", "weakest", "table", "hook")
#: ``plus`` of a weakest link: ``any`` — a "+" when any other item is better than the weakest (PEFA's M1);
#: ``all`` — only when every other item is at least one step better.
PLUS_RULES = ("any", "all")
PLUS = "+"
#: A label is kept in a column of 32 characters, with room for a "+".
LABEL_MAX_LENGTH = 31


class SchemeError(ValueError):
    """A scheme the core cannot read; the message names the scheme and the place."""


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise SchemeError(f"{where}：{value!r} 不是数值")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        raise SchemeError(f"{where}：{value!r} 不是数值") from None
    if not number.is_finite():
        raise SchemeError(f"{where}：{value!r} 不是数值")
    return number


def number(value: Decimal) -> int | str:
    """A number as the normalised JSON writes it: an integer as an integer, else its exact decimal text."""
    return int(value) if value == value.to_integral_value() else format(value.normalize(), "f")


def with_plus(labels: Iterable[str]) -> tuple[str, ...]:
    """A scale's order with a "+" step above each label but the best: A, B, C, D → A, B+, B, C+, C, D+, D."""
    ordered: list[str] = []
    for position, label in enumerate(labels):
        if position:
            ordered.append(label + PLUS)
        ordered.append(label)
    return tuple(ordered)


@dataclasses.dataclass(frozen=True)
class Scale:
    """Labels best first; ``points`` per label, or ``None`` for an ordinal scale."""

    code: str
    name: str
    labels: tuple[str, ...]
    points: Mapping[str, Decimal] | None = None

    @property
    def best(self) -> str:
        return self.labels[0]

    @property
    def lowest(self) -> str:
        return self.labels[-1]

    def points_of(self, label: str) -> Decimal | None:
        return None if self.points is None else self.points[label]

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "labels": list(self.labels),
                "points": None if self.points is None else {k: number(v) for k, v in self.points.items()}}


@dataclasses.dataclass(frozen=True)
class Band:
    """A ratio at or above ``min`` earns ``points``, or the ``label``."""

    min: Decimal
    points: Decimal | None = None
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"min": number(self.min), **({"label": self.label} if self.label is not None
                                            else {"points": number(self.points or Decimal(0))})}


@dataclasses.dataclass(frozen=True)
class TableRow:
    """A conversion table's row: these ``labels`` (in any order), or points at or above ``min``, give ``label``."""

    label: str
    labels: tuple[str, ...] | None = None
    min: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        key: dict[str, Any] = {"labels": list(self.labels)} if self.labels is not None else {
            "min": number(self.min or Decimal(0))}
        return {**key, "label": self.label}


@dataclasses.dataclass(frozen=True)
class Aggregate:
    """How a group (or the scheme) combines what is under it.

    ``scale``: for ``weakest``, the scale its inputs are read on (a group's: its items' scale by default); for
    ``table`` and ``hook``, the scale of the labels it gives (their order ranks subjects). ``order`` is the order
    of the labels the aggregate gives, best first.
    """

    method: str = "sum"
    scale: str | None = None
    plus: str | None = None
    table: tuple[TableRow, ...] = ()
    name: str = ""
    order: tuple[str, ...] = ()
    #: The order of the labels a weakest link reads (its scale's, without the "+" steps).
    inputs: tuple[str, ...] = ()
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def labelled(self) -> bool:
        return self.method != "sum"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, **self.extra}
        if self.scale is not None:
            out["scale"] = self.scale
        if self.plus is not None:
            out["plus"] = self.plus
        if self.method == "table":
            out["table"] = [row.to_json() for row in self.table]
        if self.name:
            out["name"] = self.name
        return out


@dataclasses.dataclass(frozen=True)
class Item:
    """One indicator: ``max`` is its points (0 for an ordinal item); ``group`` the name of its group."""

    code: str
    name: str
    kind: str
    max: Decimal
    group: str
    group_code: str
    metric: str | None = None
    no_data: str = "not_applicable"
    scale: Scale | None = None
    bands: tuple[Band, ...] = ()
    states: tuple[str, ...] = ()
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def positive(self) -> bool:
        return self.kind in POSITIVE_KINDS

    @property
    def scale_labels(self) -> tuple[str, ...]:
        return self.scale.labels if self.scale else ()

    def points_of(self, label: str) -> Decimal:
        """The points a label earns here (0 on an ordinal scale)."""
        found = self.scale.points_of(label) if self.scale else None
        return Decimal(0) if found is None else found

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "name": self.name, "max": number(self.max), "kind": self.kind,
                               **self.extra}
        if self.kind == "computed":
            out["metric"] = self.metric
            out["no_data"] = self.no_data
        if self.scale is not None:
            out["scale"] = self.scale.code
        if self.bands:
            out["bands"] = [band.to_json() for band in self.bands]
        if self.kind == "assessed":
            out["states"] = list(self.states)
        return out


@dataclasses.dataclass(frozen=True)
class Group:
    code: str
    name: str
    aggregate: Aggregate
    items: tuple[Item, ...]
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def positive(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.positive)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, **self.extra, "aggregate": self.aggregate.to_json(),
                "indicators": [item.to_json() for item in self.items]}


@dataclasses.dataclass(frozen=True)
class Scheme:
    code: str
    name: str
    scales: Mapping[str, Scale]
    states: tuple[str, ...]
    aggregate: Aggregate
    groups: tuple[Group, ...]
    #: Every other key, as the plugin wrote it (``rule_set``, ``years``, ``grades``, ``incentive`` …).
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for group in self.groups for item in group.items)

    def item(self, code: str) -> Item | None:
        return next((item for item in self.items if item.code == code), None)

    @property
    def subjects(self) -> str:
        return str(self.extra.get("subjects", "counties"))

    @property
    def tie_break(self) -> list[str]:
        return [str(code) for code in self.extra.get("tie_break") or []]

    @property
    def full_marks(self) -> Decimal:
        return sum((item.max for item in self.items if item.positive), Decimal(0))

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, **self.extra,
                "scales": [scale.to_json() for scale in self.scales.values()], "states": list(self.states),
                "aggregate": self.aggregate.to_json(), "groups": [group.to_json() for group in self.groups]}


# ---- Reading ------------------------------------------------------------------------------------------------


def read(raw: Mapping[str, Any]) -> Scheme:
    """The scheme, checked; a scheme of an earlier release reads as points summed (``SchemeError`` if unreadable)."""
    code = str(raw.get("code") or "")
    at = f"考核方案 {code or '（未命名）'}"
    if not isinstance(raw.get("groups"), list):
        raise SchemeError(f"{at}：缺少 groups（指标分组）")
    scales = _scales(raw.get("scales") or [], at)
    states = _states(raw.get("states") or [], f"{at} states")
    groups: list[Group] = []
    seen: set[str] = set()
    for position, group in enumerate(raw["groups"], start=1):
        read_group = _group(group, position, scales, states, at)
        for item in read_group.items:
            if item.code in seen:
                raise SchemeError(f"{at}：指标编码 {item.code} 重复")
            seen.add(item.code)
        groups.append(read_group)
    aggregate = _aggregate(raw.get("aggregate"), scales, f"{at} aggregate", inputs=None, scheme_level=True)
    extra = {k: v for k, v in raw.items() if k not in ("code", "name", "scales", "states", "aggregate", "groups")}
    return Scheme(code=code, name=str(raw.get("name") or code), scales=scales, states=states, aggregate=aggregate,
                  groups=tuple(groups), extra=extra)


def normalised(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The scheme as JSON with every default written out (reading it again gives the same)."""
    return read(raw).to_json()


def _scales(raw: Any, at: str) -> dict[str, Scale]:
    if not isinstance(raw, list):
        raise SchemeError(f"{at}：scales 应为列表")
    scales: dict[str, Scale] = {}
    for entry in raw:
        if not isinstance(entry, Mapping) or not entry.get("code"):
            raise SchemeError(f"{at}：每个 scale 须有 code 和 labels")
        code = str(entry["code"])
        where = f"{at} 等级 {code}"
        labels = tuple(str(label) for label in entry.get("labels") or [])
        if not labels or len(set(labels)) != len(labels):
            raise SchemeError(f"{where}：labels 须列出互不相同的等级（由好到差）")
        if any(not label.strip() or len(label) > LABEL_MAX_LENGTH for label in labels):
            raise SchemeError(f"{where}：每个等级须为 1 到 {LABEL_MAX_LENGTH} 个字符")
        points = entry.get("points")
        if isinstance(points, list):
            if len(points) != len(labels):
                raise SchemeError(f"{where}：points 须与 labels 一一对应")
            points = dict(zip(labels, points, strict=True))
        if points is not None:
            if not isinstance(points, Mapping) or set(map(str, points)) != set(labels):
                raise SchemeError(f"{where}：points 须给出每个等级的分值")
            points = {str(k): _decimal(v, f"{where} points.{k}") for k, v in points.items()}
            points = {label: points[label] for label in labels}
        if code in scales:
            raise SchemeError(f"{where}：重复")
        scales[code] = Scale(code=code, name=str(entry.get("name") or code), labels=labels, points=points)
    return scales


def _states(raw: Any, where: str) -> tuple[str, ...]:
    states = tuple(str(state) for state in raw) if isinstance(raw, list) else None
    if states is None or not set(states) <= set(ASSESSOR_STATES):
        raise SchemeError(f"{where}：只能是 {'、'.join(ASSESSOR_STATES)}")
    return states


def _group(raw: Any, position: int, scales: Mapping[str, Scale], states: tuple[str, ...], at: str) -> Group:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("indicators"), list):
        raise SchemeError(f"{at} 第 {position} 组：须有 name 和 indicators")
    name = str(raw.get("name") or f"第{position}组")
    code = str(raw.get("code") or f"G{position}")
    where = f"{at} 分组 {name}"
    items = tuple(_item(entry, name, code, scales, states, where) for entry in raw["indicators"])
    on = {item.scale.code if item.scale else None for item in items if item.positive}
    # The one scale every item of the group is rated on, if there is one: what a weakest link reads.
    only = next(iter(on)) if len(on) == 1 else None
    inputs = scales[only] if only is not None else None
    aggregate = _aggregate(raw.get("aggregate"), scales, f"{where} aggregate", inputs=inputs, scheme_level=False,
                           mixed=len(on) > 1 or None in on)
    if aggregate.method == "table":
        known = {label for item in items for label in item.scale_labels}
        for row in aggregate.table:
            unknown = [label for label in row.labels or () if label not in known]
            if unknown:
                raise SchemeError(f"{where} aggregate：换算表中的 {'、'.join(unknown)} 不是本组指标的等级")
    extra = {k: v for k, v in raw.items() if k not in ("code", "name", "aggregate", "indicators")}
    return Group(code=code, name=name, aggregate=aggregate, items=items, extra=extra)


def _item(raw: Any, group: str, group_code: str, scales: Mapping[str, Scale], states: tuple[str, ...],
          at: str) -> Item:
    if not isinstance(raw, Mapping) or not raw.get("code"):
        raise SchemeError(f"{at}：每个指标须有 code、name、kind")
    code = str(raw["code"])
    where = f"{at} 指标 {code}"
    kind = str(raw.get("kind") or "")
    if kind not in KINDS:
        raise SchemeError(f"{where}：kind 应为 {'、'.join(KINDS)}")
    scale = None
    if raw.get("scale") is not None:
        if str(raw["scale"]) not in scales:
            raise SchemeError(f"{where}：没有声明等级 {raw['scale']}（scales）")
        if kind not in POSITIVE_KINDS:
            raise SchemeError(f"{where}：只有 computed 和 assessed 指标可以按等级评定")
        scale = scales[str(raw["scale"])]
    maximum = _maximum(raw.get("max"), scale, where)
    bands = _bands(raw.get("bands"), kind, scale, maximum, where)
    if kind == "computed" and not raw.get("metric"):
        raise SchemeError(f"{where}：计算指标须指明 metric")
    if kind == "computed" and scale is not None and not bands:
        raise SchemeError(f"{where}：按等级评定的计算指标须用 bands 把比率换算为等级")
    if raw.get("states") is not None and kind != "assessed":
        raise SchemeError(f"{where}：只有 assessed 指标可以给出 states")
    own = _states(raw["states"], f"{where} states") if raw.get("states") is not None else states
    rule = str(raw.get("no_data") or raw.get("empty") or NO_DATA_RULES[0])
    # An unknown rule read as the default, as earlier releases did.
    rule = rule if rule in NO_DATA_RULES else NO_DATA_RULES[0]
    extra = {k: v for k, v in raw.items() if k not in (
        "code", "name", "max", "kind", "metric", "no_data", "empty", "scale", "bands", "states")}
    return Item(code=code, name=str(raw.get("name") or code), kind=kind, max=maximum, group=group,
                group_code=group_code, metric=str(raw["metric"]) if kind == "computed" else None,
                no_data=rule if kind == "computed" else NO_DATA_RULES[0], scale=scale, bands=bands,
                states=own if kind == "assessed" else (), extra=extra)


def _maximum(raw: Any, scale: Scale | None, where: str) -> Decimal:
    best = scale.points_of(scale.best) if scale is not None else None
    if raw is None:
        if scale is None:
            raise SchemeError(f"{where}：须有 max（分值）")
        return best if best is not None else Decimal(0)
    maximum = _decimal(raw, f"{where} max")
    if maximum < 0:
        raise SchemeError(f"{where}：max 不能为负")
    if scale is not None and maximum != (best if best is not None else Decimal(0)):
        raise SchemeError(f"{where}：按等级 {scale.code} 评定，max 应为最高等级的分值"
                          f"（{number(best) if best is not None else '该等级没有分值，写 0 或不写'}）")
    return maximum


def _bands(raw: Any, kind: str, scale: Scale | None, maximum: Decimal, where: str) -> tuple[Band, ...]:
    if raw is None:
        return ()
    if kind != "computed" or not isinstance(raw, list) or not raw:
        raise SchemeError(f"{where}：bands 只用于计算指标，为 [{{min, points 或 label}}, …]")
    bands = []
    for entry in raw:
        if not isinstance(entry, Mapping) or "min" not in entry or ("points" in entry) == ("label" in entry):
            raise SchemeError(f"{where} bands：每档须有 min，及 points 或 label 之一")
        lower = _decimal(entry["min"], f"{where} bands.min")
        if "label" in entry:
            if scale is None or str(entry["label"]) not in scale.labels:
                raise SchemeError(f"{where} bands：{entry['label']} 不是本指标等级（scale）中的等级")
            bands.append(Band(min=lower, label=str(entry["label"])))
        else:
            if scale is not None:
                raise SchemeError(f"{where} bands：按等级评定的指标，每档给出 label")
            points = _decimal(entry["points"], f"{where} bands.points")
            if not Decimal(0) <= points <= maximum:
                raise SchemeError(f"{where} bands：分值应在 0 到 {number(maximum)} 之间")
            bands.append(Band(min=lower, points=points))
    return tuple(sorted(bands, key=lambda band: -band.min))


def _aggregate(raw: Any, scales: Mapping[str, Scale], where: str, *, inputs: Scale | None, scheme_level: bool,
               mixed: bool = False) -> Aggregate:
    if raw is None:
        raw = {"method": "sum"}
    if isinstance(raw, str):
        raw = {"method": raw}
    if not isinstance(raw, Mapping):
        raise SchemeError(f"{where}：应为 {'、'.join(METHODS)} 之一，或 {{method, …}}")
    method = str(raw.get("method") or "sum")
    if method not in METHODS:
        raise SchemeError(f"{where}：method 应为 {'、'.join(METHODS)}")
    scale_code = str(raw["scale"]) if raw.get("scale") is not None else None
    if scale_code is not None and scale_code not in scales:
        raise SchemeError(f"{where}：没有声明等级 {scale_code}（scales）")
    plus = str(raw["plus"]) if raw.get("plus") is not None else None
    if plus is not None and (method != "weakest" or plus not in PLUS_RULES):
        raise SchemeError(f"{where}：plus 只用于 weakest，应为 {'、'.join(PLUS_RULES)}")
    order: tuple[str, ...] = ()
    inputs_order: tuple[str, ...] = ()
    if method == "weakest":
        base = scales[scale_code] if scale_code else inputs
        if base is None:
            raise SchemeError(f"{where}：weakest 须指明 scale" if scheme_level or not mixed
                              else f"{where}：weakest 要求本组的指标按同一等级评定")
        if not scheme_level and (mixed or inputs is None or inputs.code != base.code):
            raise SchemeError(f"{where}：weakest 要求本组的指标都按等级 {base.code} 评定")
        order = with_plus(base.labels) if plus else base.labels
        inputs_order = base.labels
    elif method in ("table", "hook") and scale_code:
        order = scales[scale_code].labels
    table = _table(raw.get("table"), order, where) if method == "table" else ()
    if method == "table" and not scale_code:
        raise SchemeError(f"{where}：table 须指明所得等级的 scale")
    extra = {k: v for k, v in raw.items() if k not in ("method", "scale", "plus", "table", "name")}
    return Aggregate(method=method, scale=scale_code, plus=plus, table=table, name=str(raw.get("name") or ""),
                     order=order, inputs=inputs_order, extra=extra)


def _table(raw: Any, order: tuple[str, ...], where: str) -> tuple[TableRow, ...]:
    if not isinstance(raw, list) or not raw:
        raise SchemeError(f"{where}：table 应为换算表 [{{labels 或 min, label}}, …]")
    rows = []
    for entry in raw:
        if not isinstance(entry, Mapping) or "label" not in entry or ("labels" in entry) == ("min" in entry):
            raise SchemeError(f"{where} table：每行须有 label，及 labels（等级组合）或 min（分数下限）之一")
        label = str(entry["label"])
        if label not in order:
            raise SchemeError(f"{where} table：{label} 不是所得等级（scale）中的等级")
        if "labels" in entry:
            if not isinstance(entry["labels"], list) or not entry["labels"]:
                raise SchemeError(f"{where} table：labels 应为等级的列表")
            rows.append(TableRow(label=label, labels=tuple(str(x) for x in entry["labels"])))
        else:
            rows.append(TableRow(label=label, min=_decimal(entry["min"], f"{where} table.min")))
    if len({row.labels is None for row in rows}) > 1:
        raise SchemeError(f"{where} table：一张换算表或全按等级组合，或全按分数区间")
    if rows[0].labels is None:
        rows.sort(key=lambda row: -(row.min or Decimal(0)))
    return tuple(rows)


# ---- Aggregating ----------------------------------------------------------------------------------------------


def weakest(labels: list[str], aggregate: Aggregate, base: tuple[str, ...]) -> str:
    """The lowest of ``labels`` on ``base`` (best first), with a "+" as ``aggregate.plus`` says."""
    rank = {label: position for position, label in enumerate(base)}
    ordered = sorted(labels, key=lambda label: rank.get(label, len(base)))
    lowest, others = ordered[-1], ordered[:-1]
    better = [label for label in others if rank.get(label, len(base)) < rank.get(lowest, len(base))]
    if aggregate.plus == "any" and better or aggregate.plus == "all" and others and len(better) == len(others):
        return lowest + PLUS
    return lowest


def convert(labels: list[str] | None, value: Decimal | None, aggregate: Aggregate) -> str | None:
    """The table's label for this combination of labels (in any order) or these points; ``None`` if none."""
    for row in aggregate.table:
        if row.labels is not None and labels is not None and Counter(row.labels) == Counter(labels):
            return row.label
        if row.min is not None and value is not None and value >= row.min:
            return row.label
    return None


def band(item: Item, ratio: Decimal) -> Band | None:
    """The band a computed item's ratio falls in (the highest lower bound it reaches)."""
    return next((entry for entry in item.bands if ratio >= entry.min), None)
