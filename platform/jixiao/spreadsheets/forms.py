"""Each spreadsheet form a unit fills, declared once: its sheet, its tables, and for every column the heading,
the field it carries, how the importer parses a cell (and what it says when it cannot), how the template
pre-fills it, and how the template lays it out (width, yellow input shading, drop-down, hidden).

:mod:`jixiao.spreadsheets.templates_xlsx` writes a table's headings, cells and drop-downs from its columns;
:mod:`jixiao.spreadsheets.reader` finds the same headings in an upload and parses each cell with the column's
parser; :mod:`jixiao.spreadsheets.importer` turns the values into the service's call. A column therefore exists
in the template and the importer alike, or in neither. Rules that span columns (a direction typed in front of
the value, an indicator found by its id or its name) stay in the importer.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal

from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from jixiao import inputs, units
from jixiao.errors import ValidationFailed
from jixiao.lifecycle import common, scoring
from jixiao.lifecycle.models import (
    Direction,
    EvaluationKind,
    FundSource,
    FundType,
    ProjectKind,
    QualitativeBand,
    SpendingModality,
)
from jixiao.spreadsheets import xlsx
from jixiao.spreadsheets.xlsx import MONEY_FORMAT, PERCENT_FORMAT, Formula, norm_heading, text
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import NATIONAL_INDICATOR_FRAMEWORK

TARGETS, MONITORING, SELF_EVALUATION, PROJECT_LIST = "targets", "monitoring", "self_evaluation", "project_list"

Parser = Callable[..., Any]  # (cell value, number format, **row context) → value, or raises Invalid


class Invalid(ValueError):
    """A cell that cannot be read as its column says; the message is the clerk's sentence."""


# ---- Parsers ----------------------------------------------------------------------------------------------

HUGE = Decimal("1e15")  # beyond any indicator value (and beyond the columns' precision)
HUGE_WAN = Decimal("1e10")  # 万元: a trillion yuan
TOO_LARGE = "数值过大，请检查（金额单位为万元）"


def either(options: tuple[str, ...]) -> str:
    """“A、B 或 C”, as the messages list the choices."""
    return "、".join(options[:-1]) + f" 或 {options[-1]}" if len(options) > 1 else "".join(options)


@dataclasses.dataclass(frozen=True)
class Text:
    """The cell as trimmed text ("" when empty)."""

    max_length: int | None = None
    blank: str = ""  # the complaint when empty ("": empty is allowed)
    too_long: str = "不能超过 {size} 个字（现为 {length} 个字）"

    def __call__(self, raw: Any, number_format: str = "General", **context: Any) -> str:
        said = text(raw)
        if not said and self.blank:
            raise Invalid(self.blank.format(**context))
        if self.max_length is not None and len(said) > self.max_length:
            raise Invalid(self.too_long.format(size=self.max_length, length=len(said)))
        return said


@dataclasses.dataclass(frozen=True)
class Number:
    """The cell as a Decimal (None when empty); a percent-formatted cell gives the percent (95% → 95)."""

    name: str = ""  # how “不是数字” is said: 权重“x”不是数字
    unit_note: str = ""  # and what follows it: （单位：万元）
    blank: str = ""  # the complaint when empty ("": empty gives None); may name {indicator} or {worth}
    positive: str = ""  # the complaint when ≤ 0
    negative: str = ""  # the complaint when < 0
    limit: Decimal = HUGE
    too_large: str = TOO_LARGE
    # Text starting with "=" in a cell the form computes is its formula, not a value: read as empty.
    formula_is_blank: bool = True

    def __call__(self, raw: Any, number_format: str = "General", **context: Any) -> Decimal | None:
        number = None if self.formula_is_blank and isinstance(raw, str) and raw.startswith("=") \
            else self._number(raw, number_format)
        if number is None:
            if self.blank:
                raise Invalid(self.blank.format(**context))
            return None
        if self.positive and number <= 0:
            raise Invalid(self.positive)
        if self.negative and number < 0:
            raise Invalid(self.negative)
        if abs(number) >= self.limit:
            raise Invalid(self.too_large)
        return number

    def _number(self, raw: Any, number_format: str) -> Decimal | None:
        try:
            return xlsx.number(raw, number_format or "General")
        except xlsx.NotANumber as exc:
            raise Invalid(f"{self.name}{exc}{self.unit_note}") from exc


@dataclasses.dataclass(frozen=True)
class Yuan(Number):
    """An amount typed in 万元, given in yuan exactly: a fraction of a cent is refused, never rounded away."""

    def __call__(self, raw: Any, number_format: str = "General", **context: Any) -> Decimal | None:
        wan = super().__call__(raw, number_format, **context)
        try:
            return inputs.check_money(wan, "amount", self.name, scale=units.WAN)
        except ValidationFailed as exc:
            raise Invalid(f"{exc.fields['amount']}{self.unit_note}") from exc


@dataclasses.dataclass(frozen=True)
class Whole:
    """A whole number (None when empty), such as a budget year."""

    invalid: str  # the complaint, naming what was typed as {said}

    def __call__(self, raw: Any, number_format: str = "General", **context: Any) -> int | None:
        if raw in (None, ""):
            return None
        try:
            number = xlsx.number(raw)  # a year is a year, whatever the cell's format says
        except xlsx.NotANumber:
            number = None
        if number is None or number != number.to_integral_value():
            raise Invalid(self.invalid.format(said=text(raw)))
        return int(number)


@dataclasses.dataclass(frozen=True)
class Month:
    """The month a monitoring form reports (“6” or “6月”), one the project owes (context ``owed``)."""

    invalid: str
    not_owed: str

    def __call__(self, raw: Any, number_format: str = "General", *, owed: list[int], **context: Any) -> int:
        digits = re.sub(r"[月\s]", "", text(raw))
        month = int(digits) if digits.isdigit() else None
        if month is None or not 1 <= month <= 12:
            raise Invalid(self.invalid)
        if month not in owed:
            raise Invalid(self.not_owed.format(owed="、".join(str(m) for m in owed)))
        return month


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of a list: ``options`` are what the template's drop-down offers, ``values`` every spelling accepted."""

    options: tuple[str, ...]
    values: Mapping[str, str]
    unknown: str  # the complaint, naming what was typed as {said}
    blank: str = ""  # the complaint when empty ("": empty gives None)
    ignore_spaces: bool = False

    def __call__(self, raw: Any, number_format: str = "General", **context: Any) -> str | None:
        said = text(raw)
        if not said:
            if self.blank:
                raise Invalid(self.blank)
            return None
        found = self.values.get(said.replace(" ", "") if self.ignore_spaces else said)
        if found is None:
            raise Invalid(self.unknown.format(said=said))
        return found


@dataclasses.dataclass(frozen=True)
class Several:
    """Several of a list in one cell, separated by 、 , ; / or spaces (``values``: every spelling accepted →
    its code); empty gives []. ``alone`` is the code that cannot stand with another (“不涉及”)."""

    values: Mapping[str, str]
    unknown: str  # the complaint, naming what was typed as {said}
    alone: str = ""
    not_alone: str = ""

    def __call__(self, raw: Any, number_format: str = "General", **context: Any) -> list[str]:
        said = [part for part in re.split(r"[、,，;；/\s]+", text(raw)) if part]
        found = []
        for part in said:
            code = self.values.get(part) or self.values.get(part.upper())
            if code is None:
                raise Invalid(self.unknown.format(said=part))
            found.append(code)
        if self.alone and self.alone in found and len(set(found)) > 1:
            raise Invalid(self.not_alone)
        return list(dict.fromkeys(found))


TRUE_WORDS = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "对"})
FALSE_WORDS = frozenset({"否", "n", "no", "false", "0", "×", "不是"})
YES_NO = ("是", "否")


@dataclasses.dataclass(frozen=True)
class YesNo:
    """是 or 否 (and their usual spellings); empty gives the default."""

    default: bool
    unknown: str  # the complaint, naming what was typed as {said}
    options: tuple[str, ...] = YES_NO

    def __call__(self, raw: Any, number_format: str = "General", **context: Any) -> bool:
        said = text(raw).lower()
        if not said:
            return self.default
        if said in TRUE_WORDS:
            return True
        if said in FALSE_WORDS:
            return False
        raise Invalid(self.unknown.format(said=text(raw)))


# ---- Columns, tables, forms -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Dropdown:
    """The template's drop-down list on a column."""

    values: tuple[str, ...]
    strict: bool = True  # refuse anything else (else only warn)
    prompt: str = ""
    only: Callable[[Any], bool] | None = None  # only the rows whose record passes, one list per cell


@dataclasses.dataclass(frozen=True)
class Bounds:
    """Excel's own check of a number column (the importer checks again)."""

    type: Literal["whole", "decimal"]
    operator: Literal["between", "notBetween", "equal", "notEqual", "lessThan", "lessThanOrEqual", "greaterThan",
                      "greaterThanOrEqual"]
    low: str
    high: str | None
    error: str


@dataclasses.dataclass(frozen=True, eq=False)
class Column:
    header: str  # exactly as the template writes it; "{m}" stands for the month
    field: str  # what the column carries (the service's field where the importer reads it)
    parse: Parser | None = None  # how the importer reads a cell (None: shown, never read)
    qualitative: Parser | None = None  # how it reads the cell of a qualitative indicator, if not as ``parse``
    fill: Callable[[Any], Any] | None = None  # the row's record → the value the template pre-fills
    required: bool = False  # an upload without this column is refused
    anchor: bool = False  # the importer finds the table by this heading
    editable: bool | Callable[[Any], bool] = False  # shaded yellow: the unit fills it in
    width: float | None = None
    number_format: str | None = None
    dropdown: Dropdown | None = None
    bounds: Bounds | None = None
    hidden: bool = False
    name: str = ""  # how errors name the column, when not by its heading
    ends_with: bool = False  # the heading varies in front (“1-6月实际完成值”): matched by its end, ``name``
    missing: str = ""  # the complaint when the column is not found, when not the table's
    also: tuple[str, ...] = ()  # other service fields the column carries (指标值: target_text too)

    @property
    def label(self) -> str:
        """The column as errors name it: the heading without the asterisk of a required column."""
        return self.name or self.header.rstrip("*")

    @property
    def key(self) -> str:
        """The heading as the importer compares it (no spaces, asterisks or units: “权重（分值）” → “权重”)."""
        return norm_heading(self.name if self.ends_with else self.header)

    def matches(self, heading: str) -> bool:
        return heading.endswith(self.key) if self.ends_with else heading == self.key

    def is_editable(self, record: Any) -> bool:
        return self.editable(record) if callable(self.editable) else self.editable

    def value(self, record: Any) -> Any:
        return None if record is None or self.fill is None else self.fill(record)


@dataclasses.dataclass(frozen=True, eq=False)
class Table:
    """A table of a form: a heading row, then one row per item."""

    columns: tuple[Column, ...]
    not_found: str  # the complaint when the anchor headings are not found
    missing_column: str = "找不到“{heading}”列，请不要删除或改写模板的表头"
    search_rows: int = 60  # the heading row is among the first rows
    stop_words: tuple[str, ...] = ()  # a row whose first cell says one of these ends the table
    too_many: str = "行数超过上限：一张表最多 {limit} 行"
    formulas_are_blank: bool = True  # a row of formulas only is no item

    def __post_init__(self) -> None:
        fields = [c.field for c in self.columns]
        if len(set(fields)) != len(fields) or not self.anchors:
            raise ValueError(f"a table needs distinct fields and an anchor: {fields}")

    def __getitem__(self, field: str) -> Column:
        return self.columns[self.position(field) - 1]

    @property
    def anchors(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns if c.anchor)

    def headings(self, month: int | None = None) -> list[str]:
        return [c.header.replace("{m}", str(month)) for c in self.columns]

    def position(self, field: str) -> int:
        """The field's column number (1 = A)."""
        for number, column in enumerate(self.columns, start=1):
            if column.field == field:
                return number
        raise KeyError(field)

    def letter(self, field: str) -> str:
        return get_column_letter(self.position(field))

    def service_columns(self) -> dict[str, str]:
        """Each service field → the column its errors name."""
        return {field: c.label for c in self.columns if c.parse for field in (c.field, *c.also)}


@dataclasses.dataclass(frozen=True)
class Labelled:
    """A single value of a form's header block, next to (or under) its label."""

    label: str
    field: str
    parse: Parser
    below: bool = False  # the value is under the label (else to its right)
    missing: str = ""  # the complaint when the label is not found ("": the value is then empty)


@dataclasses.dataclass(frozen=True)
class Form:
    kind: str
    sheet: str  # the sheet's name
    label: str  # what people call the form
    title: str  # the title line of the sheet
    tables: tuple[Table, ...]
    fields: tuple[Labelled, ...] = ()


# ---- What the templates pre-fill --------------------------------------------------------------------------


def plain(value: Decimal | None) -> Any:
    """A number for a cell: an int when whole, else a float."""
    if value is None:
        return None
    value = Decimal(value).normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def wan_cell(value: Decimal | None) -> float | None:
    """Yuan as the 万元 number of a form cell. The one float on the way, at the openpyxl boundary: an .xlsx
    stores numbers as doubles, whose 15 significant digits give 万元 to the cent (six places) back unchanged
    for any budget under 10⁹ 万元; everything before this stays Decimal."""
    return xlsx.cell_float(units.wan_from_yuan(value))


def is_qualitative(indicator: Any) -> bool:
    return str(indicator.direction) == Direction.QUALITATIVE


def symbol(indicator: Any) -> str:
    return Direction(str(indicator.direction)).symbol


def target_text(indicator: Any) -> str:
    """An indicator's target as the forms write it: “≥1000人次”, or the qualitative target's words."""
    if is_qualitative(indicator):
        return indicator.target_text or "定性"
    value = "" if indicator.target_value is None else format(Decimal(indicator.target_value).normalize(), "f")
    return f"{symbol(indicator)}{value}{indicator.unit or ''}"


def target_value(indicator: Any) -> Any:
    """The 指标值 cell: the words of a qualitative target, else the number."""
    return indicator.target_text if is_qualitative(indicator) else plain(indicator.target_value)


def initial_budget(project: Any) -> Decimal | None:
    return project.approved_amount if project.approved_amount is not None else project.requested_amount


def adjustment(project: Any) -> Decimal:
    if project.adjusted_amount is None or project.approved_amount is None:
        return Decimal(0)
    return project.adjusted_amount - project.approved_amount


def self_evaluation_points(session: Session, tenant: Tenant, indicators: list[Any]) -> tuple[list[Decimal], Decimal]:
    """Each indicator's points on the self-evaluation form, and the budget execution's cap (10 nationally)."""
    weights = common.hooks(session, tenant).evaluation_weights(kind=str(EvaluationKind.SELF))
    points = scoring.group_points([(i.level1, i.weight) for i in indicators], weights)
    return points, Decimal(str(weights.get("execution", 10)))


# A monitoring value's note keeps what the form has in separate cells: “预计全年：…；偏差原因：…；纠偏措施：…”
# (and “实际：…”, a qualitative indicator's words, which have no number to go in).
ACTUAL_PART = "实际"
NOTE_PARTS = {"forecast": "预计全年", "reason": "偏差原因", "remedy": "纠偏措施"}
NOTE_LABELS = (*NOTE_PARTS.values(), ACTUAL_PART)


def parse_note(note: str) -> dict[str, str]:
    """A monitoring value's note back into its parts (a note typed elsewhere is its 偏差原因)."""
    labels = "|".join(NOTE_LABELS)
    found = re.findall(rf"({labels})：(.*?)(?=；(?:{labels})：|$)", note or "", flags=re.S)
    if not found and note:
        return {NOTE_PARTS["reason"]: note}
    return dict(found)


def note_text(parts: list[tuple[str, str]]) -> str:
    """The note of (part label, words) pairs, the empty ones left out."""
    return "；".join(f"{label}：{said}" for label, said in parts if said)


@dataclasses.dataclass(frozen=True)
class BudgetLine:
    """What a budget row shows: the project, the record filed (a monitoring report or an evaluation)."""

    project: Any
    record: Any | None
    row: int
    cap: Decimal = Decimal(0)  # the self-evaluation's points for budget execution


@dataclasses.dataclass(frozen=True)
class MonitoringLine:
    indicator: Any
    value: Any | None  # the month's MonitoringValue, if filed
    parts: dict[str, str]  # its note's parts

    @property
    def qualitative(self) -> bool:
        return is_qualitative(self.indicator)


@dataclasses.dataclass(frozen=True)
class SelfLine:
    indicator: Any
    score: Any | None  # the EvaluationScore, if filed
    worth: Decimal
    row: int

    @property
    def qualitative(self) -> bool:
        return is_qualitative(self.indicator)


def _filed(line: BudgetLine, name: str) -> Any:
    return getattr(line.record, name) if line.record is not None else None


# ---- 绩效目标申报表 ---------------------------------------------------------------------------------------

DIRECTIONS = {
    "≥": "ge", ">=": "ge", "＞=": "ge", "≧": "ge", "ge": "ge",
    ">": "gt", "＞": "gt", "gt": "gt",
    "=": "eq", "＝": "eq", "==": "eq", "eq": "eq",
    "≤": "le", "<=": "le", "＜=": "le", "≦": "le", "le": "le",
    "<": "lt", "＜": "lt", "lt": "lt",
    "定性": "qualitative", "qualitative": "qualitative",
}
DIRECTION_SYMBOLS = tuple(d.symbol for d in Direction)  # ≥ > = ≤ < 定性
LEVEL1_NAMES = tuple(NATIONAL_INDICATOR_FRAMEWORK)
LEVEL2_NAMES = tuple(name for names in NATIONAL_INDICATOR_FRAMEWORK.values() for name in names)
# As long as the service takes (the page and the API alike): a target set saved there downloads as a form
# that imports back unchanged.
OVERALL_TARGET = Labelled("年度总体目标", "overall_target",
                          Text(inputs.LONG_TEXT_MAX_LENGTH, too_long="年度总体目标不能超过 {size} 个字"))
PROJECT_CODE = "项目编码"  # the label of the header block's project code (how a form without metadata is known)

TARGET_INDICATORS = Table((
    Column("一级指标", "level1", Text(20, blank="请填写一级指标"), fill=lambda i: i.level1, anchor=True,
           editable=True, width=12, dropdown=Dropdown(LEVEL1_NAMES, strict=False)),
    Column("二级指标", "level2", Text(40, blank="请填写二级指标"), fill=lambda i: i.level2, required=True,
           editable=True, width=18, dropdown=Dropdown(LEVEL2_NAMES, strict=False)),
    Column("三级指标", "name", Text(200, blank="请填写三级指标"), fill=lambda i: i.name, required=True,
           editable=True, width=34),
    Column("指标方向", "direction", Choice(DIRECTION_SYMBOLS, DIRECTIONS, ignore_spaces=True,
                                        blank=f"请选择指标方向：{'、'.join(DIRECTION_SYMBOLS)}",
                                        unknown=f"“{{said}}”不是指标方向，应为 {'、'.join(DIRECTION_SYMBOLS)}"),
           fill=symbol, required=True, editable=True, width=10,
           dropdown=Dropdown(DIRECTION_SYMBOLS, prompt="≥ > = ≤ < 或 定性")),
    Column("指标值", "target_value",
           Number(name="定量指标的指标值", blank="定量指标请填写指标值（数字）；文字目标请将指标方向选为“定性”",
                  formula_is_blank=False),
           qualitative=Text(200), also=("target_text",), fill=target_value, required=True, editable=True, width=14),
    Column("计量单位", "unit", Text(20), fill=lambda i: i.unit, required=True, editable=True, width=10),
    Column("权重（分值）", "weight", Number(name="权重", blank="请填写权重（正数）", positive="权重应大于 0",
                                        limit=Decimal("1000000"), too_large="权重过大"),
           fill=lambda i: plain(i.weight), required=True, editable=True, width=12),
    Column("共性指标编码", "catalog_code", Text(40), fill=lambda i: i.catalog_code or None, editable=True, width=16),
), not_found="找不到表头“一级指标”，请使用平台下载的模板填写")


# ---- 绩效监控表 ------------------------------------------------------------------------------------------

PERIOD = Labelled("监控月份", "period", Month("请填写监控截至的月份（1–12）", "本项目应在以下月份报送监控：{owed}"),
                  missing="找不到“监控月份”，请使用平台下载的模板")


def _execution_rate(line: BudgetLine, table: Table, executed: str, budget: str) -> Formula:
    done, of = f"{table.letter(executed)}{line.row}", f"{table.letter(budget)}{line.row}"
    return Formula(f'=IF(AND(ISNUMBER({done}),{of}>0),{done}/{of},"")')


# Annotated: its own columns' fill refers to it, and mypy needs the type before inferring it.
MONITORING_BUDGET: Table = Table((
    Column("年初预算（万元）", "initial", fill=lambda b: wan_cell(initial_budget(b.project)), number_format=MONEY_FORMAT),
    Column("调整数（万元）", "adjustment", fill=lambda b: wan_cell(adjustment(b.project)), number_format=MONEY_FORMAT),
    Column("调整后预算（万元）", "budget", fill=lambda b: wan_cell(b.project.budget_amount),
           number_format=MONEY_FORMAT),
    Column("执行数（万元）", "executed_amount",
           Number(name="执行数", blank="请填写截至监控月份的执行数（万元）", negative="执行数不能为负数", limit=HUGE_WAN),
           fill=lambda b: wan_cell(b.record.executed_amount) if b.record else None, anchor=True, editable=True,
           number_format=MONEY_FORMAT),
    Column("执行率", "execution_rate",
           fill=lambda b: _execution_rate(b, MONITORING_BUDGET, "executed_amount", "budget"),
           number_format=PERCENT_FORMAT),
    Column("偏差原因", "cause", Text(), fill=lambda b: _filed(b, "cause"), editable=True),
    Column("纠偏措施", "measure", Text(), fill=lambda b: _filed(b, "measure"), editable=True),
), not_found="找不到表头“执行数”，请使用平台下载的模板填写")


def _monitoring_actual(line: MonitoringLine) -> Any:
    if line.qualitative:
        return line.parts.get(ACTUAL_PART)
    return plain(line.value.actual_value) if line.value else None


MONITORING_INDICATORS = Table((
    Column("一级指标", "level1", fill=lambda m: m.indicator.level1, anchor=True, width=12),
    Column("二级指标", "level2", fill=lambda m: m.indicator.level2, width=16),
    Column("三级指标", "name", Text(), fill=lambda m: m.indicator.name, required=True, width=30),
    Column("指标方向", "direction", fill=lambda m: symbol(m.indicator), width=9),
    Column("年度指标值", "target", fill=lambda m: target_value(m.indicator), width=12),
    Column("计量单位", "unit", fill=lambda m: m.indicator.unit, width=9),
    Column("1-{m}月实际完成值", "actual_value", Number(name="定量指标的实际完成值"), qualitative=Text(),
           fill=_monitoring_actual, required=True, editable=True, width=14, name="实际完成值", ends_with=True,
           missing="找不到“1-N月实际完成值”列，请不要删除或改写模板的表头"),
    Column("预计全年完成情况", "forecast", Text(), fill=lambda m: m.parts.get(NOTE_PARTS["forecast"]),
           required=True, editable=True, width=16),
    Column("偏差原因", "reason", Text(), fill=lambda m: m.parts.get(NOTE_PARTS["reason"]), required=True,
           editable=True, width=24),
    Column("纠偏措施", "remedy", Text(), fill=lambda m: m.parts.get(NOTE_PARTS["remedy"]), required=True,
           editable=True, width=24),
    Column("指标ID", "indicator_id", Text(), fill=lambda m: m.indicator.id, hidden=True),
), not_found="找不到表头“一级指标”，请使用平台下载的模板填写")


# ---- 绩效自评表 -----------------------------------------------------------------------------------------

SUMMARY = Labelled("实际完成情况", "summary", Text(), below=True)
TOTAL_LABEL, GRADE_LABEL = "总分", "自评等级"
BAND_LABELS = tuple(b.label for b in QualitativeBand)  # 达成 部分达成 未达成
BANDS = {**{b.label: b.value for b in QualitativeBand}, **{b.value: b.value for b in QualitativeBand}}


def _execution_score(line: BudgetLine) -> Formula:
    done, of = f"{SELF_BUDGET.letter('executed_amount')}{line.row}", f"{SELF_BUDGET.letter('budget')}{line.row}"
    cap = f"{SELF_BUDGET.letter('points')}{line.row}"
    return Formula(f'=IF(AND(ISNUMBER({done}),{of}>0),ROUND(MIN(MAX({done}/{of},0),1)*{cap},2),"")')


# Annotated: its own columns' fill refers to it, and mypy needs the type before inferring it.
SELF_BUDGET: Table = Table((
    Column("年初预算数（万元）", "initial", fill=lambda b: wan_cell(initial_budget(b.project)),
           number_format=MONEY_FORMAT),
    Column("全年预算数（万元）", "budget", fill=lambda b: wan_cell(b.project.budget_amount), number_format=MONEY_FORMAT),
    Column("全年执行数（万元）", "executed_amount",
           Number(name="全年执行数", blank="请填写全年执行数（万元）", negative="全年执行数不能为负数", limit=HUGE_WAN,
                  formula_is_blank=False),
           fill=lambda b: wan_cell(_filed(b, "executed_amount")), anchor=True, editable=True,
           number_format=MONEY_FORMAT),
    Column("分值", "points", fill=lambda b: plain(b.cap)),
    Column("执行率", "execution_rate", fill=lambda b: _execution_rate(b, SELF_BUDGET, "executed_amount", "budget"),
           number_format=PERCENT_FORMAT),
    Column("得分", "score", fill=_execution_score),
), not_found="找不到“全年执行数”，请使用平台下载的模板")


def _score_formula(line: SelfLine) -> Formula | None:
    """The points of a quantitative indicator as the platform computes them (a qualitative one's are typed)."""
    indicator = line.indicator
    direction = str(indicator.direction)
    if direction == Direction.QUALITATIVE or indicator.target_value is None or indicator.target_value <= 0:
        return None
    target = format(Decimal(indicator.target_value).normalize(), "f")
    actual, worth = f"{SELF_INDICATORS.letter('actual_value')}{line.row}", f"{SELF_INDICATORS.letter('worth')}{line.row}"
    if direction in scoring.HIGHER_IS_BETTER:
        ratio = f"MIN(MAX({actual}/{target},0),1)"
    else:
        ratio = f"IF({actual}<={target},1,IF({actual}>=2*{target},0,(2*{target}-{actual})/{target}))"
    return Formula(f'=IF(ISNUMBER({actual}),ROUND({ratio}*{worth},2),"")')


def _self_actual(line: SelfLine) -> Any:
    score = line.score
    if line.qualitative:
        return score.band.label if score and score.band else None
    return plain(score.actual_value) if score else None


def _self_score(line: SelfLine) -> Any:
    if line.qualitative:
        return plain(line.score.score) if line.score else None
    return _score_formula(line)


SELF_INDICATORS = Table((
    Column("一级指标", "level1", fill=lambda s: s.indicator.level1, anchor=True, width=12),
    Column("二级指标", "level2", fill=lambda s: s.indicator.level2, width=16),
    Column("三级指标", "name", Text(), fill=lambda s: s.indicator.name, required=True, width=30),
    Column("年度指标值", "target", fill=lambda s: target_text(s.indicator), width=16),
    Column("实际完成值", "actual_value", Number(name="实际完成值", blank="请填写指标“{indicator}”的实际完成值"),
           qualitative=Choice(BAND_LABELS, BANDS, blank=f"定性指标请选择评价档次：{'、'.join(BAND_LABELS)}",
                              unknown=f"“{{said}}”不是评价档次，应为 {either(BAND_LABELS)}"),
           fill=_self_actual, required=True, editable=True, width=14,
           dropdown=Dropdown(BAND_LABELS, prompt="达成 / 部分达成 / 未达成", only=lambda s: s.qualitative)),
    Column("分值", "worth", fill=lambda s: plain(s.worth), width=9),
    # A qualitative indicator's points are typed (within its band); a quantitative one's are a formula.
    Column("得分", "score", Number(name="得分", blank="定性指标请填写得分（本指标分值 {worth}）", limit=Decimal("1e6")),
           fill=_self_score, required=True, editable=lambda s: s.qualitative, width=9),
    Column("偏差原因分析及改进措施", "note", Text(), fill=lambda s: s.score.note if s.score else None, required=True,
           editable=True, width=36),
    Column("指标ID", "indicator_id", Text(), fill=lambda s: s.indicator.id, hidden=True),
), not_found="找不到表头“一级指标”，请使用平台下载的模板填写", stop_words=(TOTAL_LABEL, GRADE_LABEL))


# ---- 项目清单 --------------------------------------------------------------------------------------------

KIND_LABELS = tuple(k.label for k in ProjectKind)
FUND_LABELS = tuple(f.label for f in FundType)
KIND_NAMES = {**{k.label: k.value for k in ProjectKind}, **{k.value: k.value for k in ProjectKind}}
FUND_NAMES = {**{f.label: f.value for f in FundType}, **{f.value: f.value for f in FundType}}


MODALITY_LABELS = tuple(m.label for m in SpendingModality)
# Each modality by its code, its label, and the short names clerks write (PPP, 专项债券 …).
MODALITY_NAMES = {**{m.label: m.value for m in SpendingModality}, **{m.value: m.value for m in SpendingModality},
                  **{m.value.upper(): m.value for m in SpendingModality},
                  "政府和社会资本合作": "ppp", "购买服务": "purchase_of_services", "政府债务": "government_debt",
                  "专项债券": "government_debt", "专项债": "government_debt", "无": "none"}
SOURCE_LABELS = tuple(f.label for f in FundSource)
SOURCE_NAMES = {**{f.label: f.value for f in FundSource}, **{f.value: f.value for f in FundSource},
                "中央": "central", "省级": "provincial", "省": "provincial", "市级": "city", "市": "city",
                "本级": "own"}


def _yes_no(default: bool, heading: str) -> YesNo:
    return YesNo(default, f"{heading}应填“是”或“否”，填写的是“{{said}}”")


PROJECTS = Table((
    Column("项目编码*", "code", Text(), required=True, anchor=True, editable=True, width=16, number_format="@"),
    Column("项目名称*", "name", Text(), required=True, anchor=True, editable=True, width=34),
    Column("预算年度*", "year", Whole("预算年度应为四位整数（如 2026），填写的是“{said}”"), required=True, editable=True,
           width=10, bounds=Bounds("whole", "between", "2000", "2100", "预算年度应为 2000–2100 之间的整数")),
    Column("项目类型*", "kind", Choice(KIND_LABELS, KIND_NAMES, f"项目类型应为 {either(KIND_LABELS)}，填写的是“{{said}}”"),
           required=True, editable=True, width=12, dropdown=Dropdown(KIND_LABELS)),
    Column("资金来源*", "fund_type",
           Choice(FUND_LABELS, FUND_NAMES, f"资金来源应为 {either(FUND_LABELS)}，填写的是“{{said}}”"),
           required=True, editable=True, width=18, dropdown=Dropdown(FUND_LABELS)),
    # Its drop-down lists the tenant's departments (the template's 部门代码 sheet).
    Column("主管部门编码*", "department_code", Text(), required=True, editable=True, width=14),
    Column("申请金额（万元）*", "requested_amount",
           Yuan(name="申请金额", unit_note="（单位：万元）", negative="申请金额不能为负数", limit=HUGE_WAN,
                too_large="申请金额过大（单位是万元）", formula_is_blank=False),
           required=True, editable=True, width=16,
           bounds=Bounds("decimal", "greaterThanOrEqual", "0", None, "申请金额应为不小于 0 的数字（万元）")),
    Column("项目类别", "category", Text(), editable=True, width=12),
    Column("是否新增", "is_new", _yes_no(True, "是否新增"), editable=True, width=9, dropdown=Dropdown(YES_NO)),
    Column("是否重点", "is_key", _yes_no(False, "是否重点"), editable=True, width=9, dropdown=Dropdown(YES_NO)),
    Column("是否涉密", "classified", _yes_no(False, "是否涉密"), editable=True, width=9, dropdown=Dropdown(YES_NO)),
    # Several may apply, so no drop-down: the importer reads each, separated by “、”.
    Column("支出方式", "spending_modalities",
           Several(MODALITY_NAMES, f"“{{said}}”不是支出方式，应为 {either(MODALITY_LABELS)}（多个用“、”分隔）",
                   alone=SpendingModality.NONE.value,
                   not_alone=f"“{SpendingModality.NONE.label}”不能与其他支出方式同时填写"),
           editable=True, width=24),
    Column("是否专项资金", "is_special_fund", _yes_no(False, "是否专项资金"), editable=True, width=11,
           dropdown=Dropdown(YES_NO)),
    Column("专项资金来源", "fund_source",
           Choice(SOURCE_LABELS, SOURCE_NAMES, f"专项资金来源应为 {either(SOURCE_LABELS)}，填写的是“{{said}}”"),
           editable=True, width=12, dropdown=Dropdown(SOURCE_LABELS)),
), not_found="找不到表头“项目编码”“项目名称”，请使用平台下载的项目清单模板",
    missing_column="找不到“{heading}”列，请使用平台下载的模板", search_rows=20,
    too_many="行数超过上限：一次最多导入 {limit} 个项目，请分批导入", formulas_are_blank=False)


FORMS = {form.kind: form for form in (
    Form(TARGETS, "绩效目标申报表", "绩效目标申报表", "项目支出绩效目标申报表", (TARGET_INDICATORS,), (OVERALL_TARGET,)),
    Form(MONITORING, "绩效监控表", "绩效监控表", "项目支出绩效运行监控表（双监控）",
         (MONITORING_BUDGET, MONITORING_INDICATORS), (PERIOD,)),
    Form(SELF_EVALUATION, "绩效自评表", "绩效自评表", "项目支出绩效自评表", (SELF_BUDGET, SELF_INDICATORS), (SUMMARY,)),
    Form(PROJECT_LIST, "项目清单", "项目清单", "项目清单（批量导入）", (PROJECTS,)),
)}
#: The forms of one project (downloaded and imported on the project's page): kind → sheet name.
KINDS = {kind: FORMS[kind].sheet for kind in (TARGETS, MONITORING, SELF_EVALUATION)}
TITLES = {kind: form.title for kind, form in FORMS.items()}
LABELS = {kind: form.label for kind, form in FORMS.items()}
