"""What an input must be before a service sees it: the bounds, the checks and the field types that apply them.

Every bound of the product is a named constant here (docs/api.md lists them), and each is applied at the edge,
with the field named, the same way for the API (the marshmallow fields below), the pages (the ``parse_*``
helpers) and the spreadsheet imports (the same helpers). Nothing is silently rounded, truncated or dropped:
a value the product cannot keep exactly as sent is refused.

``init_app`` registers a request guard that applies, before any endpoint or page runs, the checks no field may
escape: no NUL or other control character in any query argument, form field or JSON string or key, no JSON
body deeper or larger than the bounds, and integer query and form parameters (years, ids, pages) in range.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from flask import Flask, request
from marshmallow import ValidationError, fields

from jixiao.errors import PayloadTooLarge, ValidationFailed

# ---- The bounds ---------------------------------------------------------------------------------------------

#: Largest id or counter an INTEGER column holds.
MAX_DATABASE_INTEGER = 2**31 - 1
#: Budget years the product accepts anywhere (filters, projects, campaigns).
MIN_YEAR, MAX_YEAR = 1990, 2100

#: Money is NUMERIC(18, 2) yuan (``jixiao.db.Money``): 16 integer digits, 2 decimals.
MONEY_INTEGER_DIGITS, MONEY_PLACES = 16, 2
#: Indicator target and actual values are NUMERIC(20, 4) (``ExactDecimal(20, 4)``).
INDICATOR_VALUE_INTEGER_DIGITS, INDICATOR_VALUE_PLACES = 16, 4
#: Indicator weights, scores and points are NUMERIC(8, 2).
SCORE_INTEGER_DIGITS, SCORE_PLACES = 6, 2

#: Names (projects, indicators, agencies, departments) and other one-line labels: the columns' length.
NAME_MAX_LENGTH = 200
#: Codes (project codes, categories, catalog codes, form rows).
CODE_MAX_LENGTH = 40
#: Reasons, comments, notes, review opinions.
COMMENT_MAX_LENGTH = 2_000
#: Longer prose: the overall target, evaluation summaries, rectification measures, monitoring causes.
LONG_TEXT_MAX_LENGTH = 10_000
#: Any single text field at all, whatever its own bound (a page field the guard sees before its parser).
ANY_TEXT_MAX_LENGTH = 100_000

#: Indicators in one project's target table.
MAX_INDICATORS_PER_PROJECT = 200
#: Problems listed on one rectification notice, and findings on one evaluation.
MAX_PROBLEMS_PER_NOTICE = 50
MAX_FINDINGS_PER_EVALUATION = 50
#: Score rows of one evaluation: every indicator, plus the evaluation form's own rows.
MAX_SCORES_PER_EVALUATION = MAX_INDICATORS_PER_PROJECT + 100
#: Evidence files uploaded to one record (a rectification notice).
MAX_FILES_PER_RECORD = 50
#: Other lists in a request (reviewers, plugins, roles, …).
MAX_LIST_ITEMS = 100
#: A tenant's settings, as JSON (UTF-8 bytes).
MAX_TENANT_SETTINGS_BYTES = 64 * 1024

#: A JSON request body (uploads are multipart and bounded by MAX_CONTENT_LENGTH instead).
MAX_JSON_BODY_BYTES = 1024 * 1024
#: Nesting of a JSON request body: arrays and objects inside each other. Checked before the body is parsed.
MAX_JSON_DEPTH = 32


# ---- Text ---------------------------------------------------------------------------------------------------

#: Characters that reorder or hide text (Trojan Source, spoofed names): bidi embeddings, overrides and isolates.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\t\n\r")


#: Every character :func:`text_problem` may refuse: the controls (Cc, exactly U+0000–U+001F and U+007F–U+009F),
#: the bidi controls and the surrogates (Cs). Text without one is fine, found in one scan of compiled code; only
#: text with one is walked character by character, for the message naming the first.
_MAYBE_REFUSED_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
#: Characters no name check refuses: printable Latin, the CJK punctuation, ideographs and full-width forms (none
#: a control, a format character or a separator). A name of these only is checked by one match.
_PLAINLY_VISIBLE = re.compile("[\u0020-\u007e\u00a0-\u00ac\u00ae-\u024f\u3000-\u303f\u3400-\u4dbf"
                              "\u4e00-\u9fff\uff01-\uffef]*")


def text_problem(value: str, *, multiline: bool = True) -> str | None:
    """Why ``value`` cannot be stored as text, or ``None``: NUL and other control characters are refused
    (PostgreSQL refuses NUL in text; spreadsheets refuse control characters), and so are bidi controls."""
    return None if _MAYBE_REFUSED_TEXT.search(value) is None else _text_refusal(value, multiline)


def _text_refusal(value: str, multiline: bool) -> str | None:
    """:func:`text_problem`'s rule, character by character."""
    for char in value:
        if char == "\x00":
            return "不能包含空字符（NUL）"
        if char in BIDI_CONTROLS:
            return f"不能包含文字方向控制字符（U+{ord(char):04X}）"
        category = unicodedata.category(char)
        if category == "Cc" and not (multiline and char in LINE_BREAKS):
            return f"不能包含控制字符（U+{ord(char):04X}）"
        if category == "Cs":  # a lone surrogate ("\ud800" in JSON) has no UTF-8 form: the database refuses it
            return f"包含无效字符（U+{ord(char):04X}）"
    return None


# The same rules as JSON Schema patterns, published in the OpenAPI document on every string a request carries
# (``jixiao.api``). tests/test_openapi_contract.py holds them equal to the checks above, code point by code
# point. The patterns name BMP characters only, as \uXXXX escapes that Python's ``re``, ECMA regular
# expressions and other engines read alike; the few invisible characters beyond the BMP are a separate pattern
# a name must not contain (``not``), with the characters written as themselves. Lone surrogates, which no valid
# UTF-8 holds, are refused too but cannot be written in a portable pattern.
_CONTROL_RANGES = ((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F))
_LINE_BREAK_RANGES = ((0x09, 0x0A), (0x0D, 0x0D))
_BIDI_RANGES = ((0x202A, 0x202E), (0x2066, 0x2069))
#: Format characters (Cf), line and paragraph separators (Zl, Zp): invisible in a name. The Egyptian hieroglyph
#: controls are taken to U+143F, where Unicode 15 ends them.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891),
    (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F),
    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB))
_ASTRAL_INVISIBLE_RANGES = ((0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3),
                            (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F))
#: White space a name may hold but not consist of (what ``str.strip`` strips and a name may contain).
_SPACE_RANGES = ((0x0020, 0x0020), (0x00A0, 0x00A0), (0x1680, 0x1680), (0x2000, 0x200A), (0x202F, 0x202F),
                 (0x205F, 0x205F), (0x3000, 0x3000))


def _character_class(*groups: tuple[tuple[int, int], ...]) -> str:
    def char(code: int) -> str:
        return f"\\u{code:04X}" if code <= 0xFFFF else chr(code)

    return "".join(char(start) if start == end else f"{char(start)}-{char(end)}"
                   for group in groups for start, end in group)


_TEXT_REFUSED = _character_class(_CONTROL_RANGES, _BIDI_RANGES)
_LINE_REFUSED = _character_class(_CONTROL_RANGES, _LINE_BREAK_RANGES, _BIDI_RANGES)
_NAME_REFUSED = _character_class(_CONTROL_RANGES, _LINE_BREAK_RANGES, _INVISIBLE_RANGES)
_NAME_OR_SPACE_REFUSED = _character_class(_CONTROL_RANGES, _LINE_BREAK_RANGES, _INVISIBLE_RANGES, _SPACE_RANGES)

#: Text that may hold line breaks: every JSON string and form field a request carries (the request guard).
TEXT_PATTERN = f"^[^{_TEXT_REFUSED}]*$"
#: Text of one line: every query parameter, and the fields that say so (``Text(multiline=False)``).
LINE_PATTERN = f"^[^{_LINE_REFUSED}]*$"
#: Multi-line text that must say something (not only white space).
NON_BLANK_TEXT_PATTERN = (f"^[^{_TEXT_REFUSED}]*[^{_TEXT_REFUSED}{_character_class(_SPACE_RANGES)}"
                          f"\\u0009\\u000A\\u000D][^{_TEXT_REFUSED}]*$")
#: One line that must say something.
NON_BLANK_LINE_PATTERN = (f"^[^{_LINE_REFUSED}]*[^{_LINE_REFUSED}{_character_class(_SPACE_RANGES)}]"
                          f"[^{_LINE_REFUSED}]*$")
#: A name or a code: one line, not blank, nothing invisible (``name_problem``) …
NAME_PATTERN = f"^[^{_NAME_REFUSED}]*[^{_NAME_OR_SPACE_REFUSED}][^{_NAME_REFUSED}]*$"
#: … and none of the invisible characters beyond the BMP (a search: the name must not match it).
NAME_REFUSED_BEYOND_BMP = f"[{_character_class(_ASTRAL_INVISIBLE_RANGES)}]"


_REFUSED_BEYOND_BMP = re.compile(NAME_REFUSED_BEYOND_BMP)


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a name: blank, or with a character that shows nothing (zero-width spaces,
    joiners, direction marks, any other format character) or breaks the line."""
    if _PLAINLY_VISIBLE.fullmatch(value) is not None:
        return None if value.strip() else "不能为空或只有空格"
    return _name_refusal(value)


def _name_refusal(value: str) -> str | None:
    """:func:`name_problem`'s rule, character by character."""
    problem = _text_refusal(value, False)
    if problem:
        return problem
    if not value.strip():
        return "不能为空或只有空格"
    for char in value:
        # Private-use and unassigned code points stay allowed: rare characters (生僻字) may be typed as either.
        # The published ranges count too, where this Python's Unicode is older than the document's.
        if unicodedata.category(char) in ("Cf", "Zl", "Zp") or _REFUSED_BEYOND_BMP.match(char):
            return f"不能包含不可见字符（U+{ord(char):04X}）"
    return None


def check_text(value: str | None, field: str, label: str, *, max_length: int, required: bool = False,
               name: bool = False, multiline: bool = True) -> str:
    """``value`` if it is acceptable text for ``field``; otherwise :class:`ValidationFailed` naming it."""
    value = "" if value is None else str(value)
    if required and not value.strip():
        raise ValidationFailed(fields={field: f"请填写{label}"})
    if not value:
        return value
    problem = name_problem(value) if name else text_problem(value, multiline=multiline)
    if problem:
        raise ValidationFailed(fields={field: f"{label}{problem}"})
    if len(value) > max_length:
        raise ValidationFailed(fields={field: f"{label}最多 {max_length} 个字（现有 {len(value)} 个）"})
    return value


def check_count(items: Any, field: str, label: str, maximum: int) -> None:
    if len(items) > maximum:
        raise ValidationFailed(fields={field: f"{label}最多 {maximum} 条（提交了 {len(items)} 条）"})


def collect(errors: dict[str, Any], check: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a ``check_*`` function; its refusal goes into ``errors`` (to report every field at once)."""
    try:
        return check(*args, **kwargs)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        return None


# ---- Numbers ------------------------------------------------------------------------------------------------


def exact_number_problem(number: Decimal, *, places: int, integer_digits: int, kind: str) -> str | None:
    """Why ``number`` cannot be kept exactly in a NUMERIC(integer_digits + places, places) column."""
    if not number.is_finite():
        return f"{kind}应为有限的数字"
    if abs(number) >= Decimal(10) ** integer_digits:
        return f"{kind}超出范围（整数部分最多 {integer_digits} 位）"
    if number != number.quantize(Decimal(1).scaleb(-places)):
        return f"{kind}最多{_PLACES_WORDS.get(places, f'{places} 位')}小数"
    return None


_PLACES_WORDS = {0: "零位", 1: "一位", 2: "两位", 4: "四位"}


def exact_number(number: Decimal, *, places: int) -> Decimal:
    """``number`` with its column's places, and without a sign on zero (−0 is the number 0)."""
    number = number.quantize(Decimal(1).scaleb(-places))
    return abs(number) if number == 0 else number


def parse_decimal(text: Any) -> Decimal | None:
    """A typed number as a Decimal (thousands separators allowed), or ``None`` if it is not a number."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, Decimal)):
        return Decimal(text)
    if isinstance(text, float):
        text = repr(text)
    text = str(text).strip().replace(",", "").replace("，", "")
    if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(nan|inf|infinity)", text,
                        flags=re.IGNORECASE):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        return None


def check_money(value: Any, field: str, label: str, *, required: bool = False, minimum: Decimal | None = None,
                scale: Decimal = Decimal(1)) -> Decimal | None:
    """An amount in yuan as typed (``scale`` 10000 when typed in 万元), or :class:`ValidationFailed` naming
    ``field``: more than two decimals (of yuan), 17+ integer digits, NaN and infinities are refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(fields={field: f"请填写{label}"})
        return None
    number = parse_decimal(value)
    if number is None:
        raise ValidationFailed(fields={field: f"{label}应为数字"})
    if not number.is_finite():
        raise ValidationFailed(fields={field: f"{label}应为有限的数字"})
    with localcontext() as context:
        context.prec = 100  # exactly: the default 28 digits would round a long fraction away unseen
        number = number * scale
    problem = exact_number_problem(number, places=MONEY_PLACES, integer_digits=MONEY_INTEGER_DIGITS, kind="金额")
    if problem:
        raise ValidationFailed(fields={field: f"{label}：{problem}"})
    if minimum is not None and number < minimum:
        raise ValidationFailed(fields={field: f"{label}不能小于 {minimum}"})
    return exact_number(number, places=MONEY_PLACES)


def check_exact(value: Any, field: str, label: str, *, places: int, integer_digits: int,
                required: bool = False) -> Decimal | None:
    """A number kept in a NUMERIC(integer_digits + places, places) column, or :class:`ValidationFailed`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(fields={field: f"请填写{label}"})
        return None
    number = parse_decimal(value)
    if number is None:
        raise ValidationFailed(fields={field: f"{label}应为数字"})
    problem = exact_number_problem(number, places=places, integer_digits=integer_digits, kind="数值")
    if problem:
        raise ValidationFailed(fields={field: f"{label}：{problem}"})
    return exact_number(number, places=places)


def check_indicator_value(value: Any, field: str, label: str, *, required: bool = False) -> Decimal | None:
    return check_exact(value, field, label, places=INDICATOR_VALUE_PLACES,
                       integer_digits=INDICATOR_VALUE_INTEGER_DIGITS, required=required)


def check_integer(value: Any, field: str, label: str, *, minimum: int = 0, maximum: int = MAX_DATABASE_INTEGER,
                  required: bool = False) -> int | None:
    """An integer typed as decimal digits (or sent as a JSON integer), in range; never a float or a truncation."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(fields={field: f"请填写{label}"})
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (
            isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,12}", value.strip()))):
        raise ValidationFailed(fields={field: f"{label}应为整数"})
    number = int(value)
    if not minimum <= number <= maximum:
        raise ValidationFailed(fields={field: f"{label}应在 {minimum} 至 {maximum} 之间"})
    return number


def check_year(value: Any, field: str = "year", label: str = "年度", *, required: bool = False,
               minimum: int = MIN_YEAR, maximum: int = MAX_YEAR) -> int | None:
    return check_integer(value, field, label, minimum=minimum, maximum=maximum, required=required)


# ---- Marshmallow fields: the same checks for the API --------------------------------------------------------


class Text(fields.String):
    """Free text of at most ``max_length`` characters; line breaks allowed unless ``multiline=False``; not only
    white space when ``blank=False``. ``pattern`` is the rule as the OpenAPI document publishes it."""

    def __init__(self, *, max_length: int = COMMENT_MAX_LENGTH, multiline: bool = True, blank: bool = True,
                 **kwargs: Any) -> None:
        self.max_length = max_length
        self.multiline = multiline
        self.blank = blank
        self.pattern = ((LINE_PATTERN if blank else NON_BLANK_LINE_PATTERN) if not multiline
                        else TEXT_PATTERN if blank else NON_BLANK_TEXT_PATTERN)
        kwargs.setdefault("metadata", {}).setdefault("maxLength", max_length)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text, multiline=self.multiline)
        if problem:
            raise ValidationError(problem)
        if not self.blank and not text.strip():
            raise ValidationError("不能为空或只有空格")
        if len(text) > self.max_length:
            raise ValidationError(f"最多 {self.max_length} 个字（现有 {len(text)} 个）")
        return text


class NameField(Text):
    """A name: one line, not blank, no invisible or direction-control characters."""

    def __init__(self, *, max_length: int = NAME_MAX_LENGTH, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, multiline=False, **kwargs)
        self.pattern = NAME_PATTERN

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = name_problem(text)
        if problem:
            raise ValidationError(problem)
        return text


def Name(**kwargs: Any) -> NameField:  # noqa: N802 - a field factory, named like a field
    return NameField(**kwargs)


def Code(**kwargs: Any) -> NameField:  # noqa: N802 - a field factory, named like a field
    kwargs.setdefault("max_length", CODE_MAX_LENGTH)
    return NameField(**kwargs)


class ExactNumber(fields.Decimal):
    """A number its NUMERIC column keeps exactly: more places than the column's, more integer digits, NaN and
    infinities are refused (marshmallow's ``places`` would round them silently)."""

    kind = "数值"
    default_error_messages = {"invalid": "应为十进制数字符串，如 \"12.5\""}

    def __init__(self, *, places: int, integer_digits: int, **kwargs: Any) -> None:
        self.integer_digits = integer_digits
        self.exact_places = places
        super().__init__(places=places, as_string=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Decimal:
        # A JSON number may already have been rounded by the sender's binary floating point: decimals travel as
        # strings, both ways, so that what is stored is what was typed.
        if not isinstance(value, str):
            raise ValidationError(f"应为字符串形式的{self.kind}，如 \"{Decimal(1000).quantize(Decimal(1).scaleb(-self.exact_places))}\"")
        number = parse_decimal(value)
        if number is None:
            raise self.make_error("invalid")
        problem = exact_number_problem(number, places=self.exact_places, integer_digits=self.integer_digits,
                                       kind=self.kind)
        if problem:
            raise ValidationError(problem)
        if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
            # What the document's pattern says: no exponent, sign, separators or spaces, so that every client
            # reads the string the same way.
            raise ValidationError("请写成不带指数、正号、千分位和空格的小数，如 \"1000.50\"")
        return exact_number(number, places=self.exact_places)


class MoneyField(ExactNumber):
    kind = "金额"
    default_error_messages = {"invalid": "应为金额（元），如 \"50000.00\""}


def Money(**kwargs: Any) -> MoneyField:  # noqa: N802 - a field factory, named like a field
    """Yuan as a decimal string with at most two decimals and 16 integer digits (NUMERIC(18, 2))."""
    return MoneyField(places=MONEY_PLACES, integer_digits=MONEY_INTEGER_DIGITS, **kwargs)


def IndicatorValue(**kwargs: Any) -> ExactNumber:  # noqa: N802 - a field factory, named like a field
    """An indicator's target or actual value: NUMERIC(20, 4)."""
    return ExactNumber(places=INDICATOR_VALUE_PLACES, integer_digits=INDICATOR_VALUE_INTEGER_DIGITS, **kwargs)


def Score(**kwargs: Any) -> ExactNumber:  # noqa: N802 - a field factory, named like a field
    """A weight, score or points: NUMERIC(8, 2)."""
    return ExactNumber(places=SCORE_PLACES, integer_digits=SCORE_INTEGER_DIGITS, **kwargs)


def Fixed(places: int, integer_digits: int, **kwargs: Any) -> ExactNumber:  # noqa: N802 - a field factory
    """A computed figure with its column's scale (NUMERIC(integer_digits + places, places)), e.g. a rate."""
    return ExactNumber(places=places, integer_digits=integer_digits, **kwargs)


class IntegerField(fields.Integer):
    """An integer in range. In a JSON body only a JSON integer (``2026.5`` and ``"2026"`` are refused); in a
    query string, decimal digits only."""

    default_error_messages = {"invalid": "应为整数"}

    def __init__(self, *, minimum: int = 0, maximum: int = MAX_DATABASE_INTEGER, query: bool = False,
                 **kwargs: Any) -> None:
        self.minimum, self.maximum, self.query = minimum, maximum, query
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("minimum", minimum)
        metadata.setdefault("maximum", maximum)
        super().__init__(strict=not query, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if self.query and isinstance(value, str):
            if not re.fullmatch(r"-?[0-9]{1,12}", value):
                raise self.make_error("invalid")
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        if not self.minimum <= value <= self.maximum:
            raise ValidationError(f"应在 {self.minimum} 至 {self.maximum} 之间")
        return value


def Integer(**kwargs: Any) -> IntegerField:  # noqa: N802 - a field factory, named like a field
    return IntegerField(**kwargs)


def Id(**kwargs: Any) -> IntegerField:  # noqa: N802 - a field factory, named like a field
    """A record's id: 1 … 2³¹ − 1."""
    return IntegerField(minimum=1, **kwargs)


def Year(**kwargs: Any) -> IntegerField:  # noqa: N802 - a field factory, named like a field
    kwargs.setdefault("minimum", MIN_YEAR)
    kwargs.setdefault("maximum", MAX_YEAR)
    return IntegerField(**kwargs)


def multipart_body(file_description: str, **form_fields: str) -> dict[str, Any]:
    """The OpenAPI request body of an upload read from ``request.files`` (``@blp.doc(requestBody=...)``): the
    required ``file`` and the named one-line form fields, each with its description."""
    properties: dict[str, Any] = {"file": {"type": "string", "format": "binary", "description": file_description}}
    for name, description in form_fields.items():
        properties[name] = {"type": "string", "maxLength": COMMENT_MAX_LENGTH, "pattern": TEXT_PATTERN,
                            "description": description}
    return {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": properties}}}}


# ---- The request guard --------------------------------------------------------------------------------------

#: Query and form parameters that are integers wherever they appear, with their range.
INTEGER_PARAMETERS: dict[str, tuple[int, int, str]] = {
    "year": (MIN_YEAR, MAX_YEAR, "年度"),
    "next_year": (MIN_YEAR, MAX_YEAR, "年度"),
    "page": (1, MAX_DATABASE_INTEGER, "页码"),
    "per_page": (1, MAX_DATABASE_INTEGER, "每页条数"),
    "period": (1, 12, "月份"),
    "version": (0, MAX_DATABASE_INTEGER, "版本"),
    "seed": (0, MAX_DATABASE_INTEGER, "随机种子"),
}


def integer_parameter(name: str) -> tuple[int, int, str] | None:
    if name in INTEGER_PARAMETERS:
        return INTEGER_PARAMETERS[name]
    if name == "id" or name.endswith("_id"):
        return 1, MAX_DATABASE_INTEGER, "编号"
    return None


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` in a JSON text, scanned without parsing it (the
    parser recurses once per level and fails with RecursionError, a 500, long before a body bound would help)."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _json_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            yield key_path, str(key)
            yield from _json_strings(item, key_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_strings(item, f"{path}.{index}" if path else str(index))


def _check_parameter(source: str, name: str, value: str) -> None:
    field = name or source
    problem = text_problem(name, multiline=False) or text_problem(value, multiline=source == "form")
    if problem:
        raise ValidationFailed(fields={field[:100]: problem})
    if len(value) > ANY_TEXT_MAX_LENGTH:
        raise ValidationFailed(fields={field: f"最多 {ANY_TEXT_MAX_LENGTH} 个字"})
    # Forms check their own years and periods and show the error beside the field; ids have no field to show.
    integer = integer_parameter(name) if source == "query" or name == "id" or name.endswith("_id") else None
    if integer is not None and value.strip():
        minimum, maximum, label = integer
        check_integer(value, name, label, minimum=minimum, maximum=maximum)


def check_request() -> None:
    """The request guard: refuses (400, the field named; 413 for size) what no endpoint may receive."""
    if request.routing_exception is not None:
        return  # no endpoint answers: Flask's 404, or its 405 with Allow, says so before any parameter matters
    for name, value in request.args.items(multi=True):
        _check_parameter("query", name, value)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _check_form()
    if request.is_json:
        _check_json_body()


def _check_form() -> None:
    """The form's fields, then the names of its uploads and of their files."""
    for name, value in request.form.items(multi=True):
        _check_parameter("form", name, value)
    for name, upload in request.files.items(multi=True):
        problem = text_problem(name, multiline=False) or text_problem(upload.filename or "", multiline=False)
        if problem:
            raise ValidationFailed(fields={name: f"文件名{problem}"})


def _check_json_body() -> None:
    """A JSON body's size (as announced, then as read), its nesting, then every string in it."""
    if (request.content_length or 0) > MAX_JSON_BODY_BYTES:
        raise PayloadTooLarge(f"JSON 请求体最多 {MAX_JSON_BODY_BYTES} 字节")
    body = request.get_data(cache=True)
    if len(body) > MAX_JSON_BODY_BYTES:
        raise PayloadTooLarge(f"JSON 请求体最多 {MAX_JSON_BODY_BYTES} 字节")
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        raise ValidationFailed(f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层", fields={"_body": f"嵌套最多 {MAX_JSON_DEPTH} 层"})
    data = request.get_json(silent=True)
    for path, text in _json_strings(data, ""):
        problem = text_problem(text, multiline=True)
        if problem:
            raise ValidationFailed(fields={path or "_body": problem})


def init_app(app: Flask) -> None:
    """Register the guard first, so that it runs before authentication and CSRF touch the request."""
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
