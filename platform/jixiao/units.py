"""The bureau's units in one place: its local time, money in 元 and 万元, and percentages.

Pages, reports, exports and rules show these the same way by calling the functions here; no other module
should spell the default time zone (tests/test_units.py checks) or keep its own money formatter. This
module imports no domain code (only the standard library, Flask's application context and Flask-Babel's
message lookup), so anything may import it; plugins get the stable part of it through :mod:`jixiao.toolkit`.

**Time.** Timestamps are stored in UTC; days (deadlines, "today", the day a document was issued, the date
stamped on an export) are days in the bureau's time zone: the app's ``BABEL_DEFAULT_TIMEZONE``, which
``jixiao.config`` fills from ``JIXIAO_TIMEZONE``; :data:`DEFAULT_TIMEZONE` outside an app context. A naive
datetime is taken to be UTC (SQLite hands stored timestamps back naive).

**Money.** Amounts are ``Decimal`` yuan with two places, rounded half up (0.005 → 0.01), and never go
through a float: a float argument is read through its shortest ``repr`` (``2.675`` is 2.675, not
2.67499999…). 万元 are exact: an amount in cents is a number of 万元 with at most six places.

**Shown.** "—" stands for "none" wherever a formatter accepts ``None``. No formatter uses the locale.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import overload
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import gettext as _

__all__ = [
    "CENT", "DEFAULT_TIMEZONE", "NONE_SHOWN", "WAN", "YI",
    "local_date", "local_now", "local_today", "local_zone", "timezone_name", "to_local",
    "format_amount_scaled", "format_wan", "format_wan_exact", "format_yuan",
    "money", "wan_from_yuan", "yuan_from_wan",
    "percent", "percent_of", "ratio_percent", "ratio_percent_trimmed", "positional",
]

DEFAULT_TIMEZONE = "Asia/Shanghai"
CENT = Decimal("0.01")
WAN = Decimal(10000)
YI = Decimal(100000000)
# 1 分 in 万元: a yuan amount with two places divides by 10000 exactly to this many places.
WAN_PLACES = Decimal("0.000001")
PERCENT = Decimal(100)
NONE_SHOWN = "—"

Number = Decimal | int | float | str


def _decimal(value: Number) -> Decimal:
    """``value`` as a Decimal; a float through its shortest repr (0.1 is 0.1, not 0.1000000000000000055…)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


# ---- Local time -----------------------------------------------------------------------------------------


def timezone_name() -> str:
    """The bureau's time zone: ``BABEL_DEFAULT_TIMEZONE`` (``JIXIAO_TIMEZONE``), else the default."""
    if has_app_context():
        return str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or DEFAULT_TIMEZONE)
    return DEFAULT_TIMEZONE


def local_zone() -> ZoneInfo:
    """The bureau's time zone as a ``ZoneInfo``."""
    return ZoneInfo(timezone_name())


def to_local(timestamp: datetime) -> datetime:
    """``timestamp`` as the bureau's wall-clock time (aware); a naive ``timestamp`` is taken to be UTC."""
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return timestamp.astimezone(local_zone())


def local_now(now: datetime | None = None) -> datetime:
    """The bureau's wall-clock time (aware) at ``now``, by default the current instant."""
    return datetime.now(local_zone()) if now is None else to_local(now)


def local_today(now: datetime | None = None) -> date:
    """The bureau's day at ``now`` (by default the current instant), not the server's or UTC's."""
    return local_now(now).date()


def local_date(timestamp: datetime) -> date:
    """The day ``timestamp`` falls on in the bureau's time zone (naive = UTC): 16:30 UTC is the next day
    in Beijing."""
    return to_local(timestamp).date()


# ---- Money ----------------------------------------------------------------------------------------------


def money(value: Number) -> Decimal:
    """An amount in yuan as a ``Decimal`` with two places, rounded half up (1.005 → 1.01); never via float."""
    return _decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def yuan_from_wan(wan: Number) -> Decimal:
    """万元 to 元, rounded half up to the cent (rules and forms are often written in 万元, e.g. 50万元)."""
    return money(_decimal(wan) * WAN)


@overload
def wan_from_yuan(yuan: None) -> None: ...


@overload
def wan_from_yuan(yuan: Number) -> Decimal: ...


def wan_from_yuan(yuan: Number | None) -> Decimal | None:
    """元 to 万元 with six places, rounded half up: exact for any amount in cents; ``None`` stays ``None``."""
    if yuan is None:
        return None
    return (_decimal(yuan) / WAN).quantize(WAN_PLACES, rounding=ROUND_HALF_UP)


def format_wan(amount: Number | None) -> str:
    """Yuan shown in 万元 as pages and reports show them: two places rounded half up, thousands separated,
    no unit (the heading or the text says 万元): ``12345678.9`` → ``"1,234.57"``; "—" for ``None``."""
    if amount is None:
        return NONE_SHOWN
    return f"{(_decimal(amount) / WAN).quantize(CENT, rounding=ROUND_HALF_UP):,f}"


def format_wan_exact(amount: Number) -> str:
    """Yuan in 万元 with every significant digit, nothing rounded and no separators, as finance reads a budget
    it is checking: ``1234567`` → ``"123.4567"``, ``1000000`` → ``"100"`` (no unit; never an exponent)."""
    return f"{(_decimal(amount) / WAN).normalize():f}"


def format_yuan(amount: Number) -> str:
    """Yuan with two places rounded half up and thousands separated, no unit: ``1234.5`` → ``"1,234.50"``."""
    return f"{money(amount):,f}"


def format_amount_scaled(amount: Number | None) -> str:
    """Yuan in the largest unit that reaches 1, unit included, as the statistics reports write them: 亿元
    from 1亿, 万元 from 1万, else 元; two places rounded half up, trailing zeros dropped, no separators:
    ``236000000`` → ``"2.36 亿元"``, ``125000`` → ``"12.5 万元"``, ``800`` → ``"800 元"``; ``None`` is 0."""
    value = _decimal(amount or 0)
    if abs(value) >= YI:
        unit, text = YI, _("%(n)s 亿元")
    elif abs(value) >= WAN:
        unit, text = WAN, _("%(n)s 万元")
    else:
        unit, text = Decimal(1), _("%(n)s 元")
    shown = f"{(value / unit).quantize(CENT, rounding=ROUND_HALF_UP):f}".rstrip("0").rstrip(".")
    return text % {"n": shown}


def positional(value: object) -> object:
    """What a page prints for ``value``: a number in positional notation, never an exponent (``Decimal("1E+2")``
    → ``"100"``, ``1e-05`` → ``"0.00001"``); anything else as it is. Every page template's output goes through
    it (the app's Jinja ``finalize``), so a number printed without a formatter cannot read ``1E+2``."""
    if isinstance(value, Decimal):
        return f"{value:f}" if value.is_finite() else str(value)
    if isinstance(value, float) and "e" in repr(value):
        return f"{Decimal(repr(value)):f}"
    return value


# ---- Percentages ----------------------------------------------------------------------------------------


def percent(rate: Number | None) -> str:
    """A rate already in percent (85.714 for 85.714 %) with two places rounded half up: ``"85.71%"``; "—" for
    ``None``. Execution rates, league rates and attainments are kept in percent."""
    if rate is None:
        return NONE_SHOWN
    return f"{_decimal(rate).quantize(CENT, rounding=ROUND_HALF_UP):f}%"


def ratio_percent(ratio: Number | None) -> str:
    """A ratio (0.8571 for 85.71 %) in percent, two places rounded half up: ``"85.71%"``; "—" for ``None``."""
    return NONE_SHOWN if ratio is None else percent(_decimal(ratio) * PERCENT)


def ratio_percent_trimmed(ratio: Number) -> str:
    """A ratio in percent with every significant digit and no trailing zeros, as rules state their bounds:
    ``0.6`` → ``"60%"``, ``0.855`` → ``"85.5%"`` (nothing rounded)."""
    return f"{(_decimal(ratio) * PERCENT).normalize():f}%"


def percent_of(part: Number | None, whole: Number | None) -> str:
    """``part`` as a percentage of ``whole``, two places rounded half up: ``(1, 3)`` → ``"33.33%"``; "—" when
    ``part`` is ``None`` or ``whole`` is none or zero."""
    if part is None or not whole or _decimal(whole) == 0:
        return NONE_SHOWN
    return percent(_decimal(part) * PERCENT / _decimal(whole))
