"""jixiao.units: the one definition of money, percentages and the bureau's day, and what depends on it.

The time-zone tests pin an instant, 2026-03-01 03:30 UTC: 11:30 on 1 March in Beijing, 22:30 on 28 February in
New York, so a day taken in the wrong zone shows.
"""

from __future__ import annotations

import ast
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from openpyxl import load_workbook

from jixiao import toolkit, units
from jixiao.units import (
    format_amount_scaled,
    format_wan,
    format_wan_exact,
    format_yuan,
    local_date,
    local_now,
    local_today,
    money,
    percent,
    percent_of,
    ratio_percent,
    ratio_percent_trimmed,
    timezone_name,
    wan_from_yuan,
    yuan_from_wan,
)

INSTANT = datetime(2026, 3, 1, 3, 30, tzinfo=UTC)
NEW_YORK = "America/New_York"
PACKAGE = Path(__file__).resolve().parents[1] / "platform" / "jixiao"


@pytest.fixture
def new_york() -> Flask:
    """A bare app configured like ``JIXIAO_TIMEZONE=America/New_York`` (units only read the config)."""
    app = Flask(__name__)
    app.config["BABEL_DEFAULT_TIMEZONE"] = NEW_YORK
    return app


# ---- Money ----------------------------------------------------------------------------------------------


def test_money_rounds_half_up_to_the_cent() -> None:
    assert money("0.005") == Decimal("0.01")
    assert money(Decimal("0.004999")) == Decimal("0.00")
    assert money(Decimal("-0.005")) == Decimal("-0.01")  # half up is away from zero
    assert money(Decimal("2.345")) == Decimal("2.35")  # half even would give 2.34
    assert money(7) == Decimal("7.00")
    assert str(money(Decimal("1E+3"))) == "1000.00"


def test_money_never_goes_through_a_float() -> None:
    # Decimal(2.675) is 2.67499999…, which would round to 2.67; the float's repr is 2.675.
    assert money(2.675) == Decimal("2.68")
    assert money(1.005) == Decimal("1.01")
    assert money(1.1 + 2.2) == Decimal("3.30") == money(Decimal("1.1") + Decimal("2.2"))
    assert money(0.1 + 0.2) == Decimal("0.30")
    assert money(1.1 + 2.2).as_tuple().exponent == -2


def test_wan_and_yuan_round_trip() -> None:
    assert yuan_from_wan(50) == Decimal("500000.00")
    assert yuan_from_wan(Decimal("123.456789")) == Decimal("1234567.89")
    assert yuan_from_wan("0.0000005") == Decimal("0.01")  # 0.005 元, half up
    assert wan_from_yuan(Decimal("1234567.89")) == Decimal("123.456789")
    assert wan_from_yuan(None) is None
    amounts = [Decimal("0.01"), Decimal("0.05"), Decimal("1234567.89"), Decimal("-50000.50"),
               Decimal("99999999999.99"), sum([Decimal("0.10")] * 3, Decimal(0))]
    for yuan in amounts:
        assert yuan_from_wan(wan_from_yuan(yuan)) == yuan
        assert wan_from_yuan(yuan_from_wan(wan_from_yuan(yuan))) == wan_from_yuan(yuan)


def test_the_toolkit_gives_the_same_functions() -> None:
    for name in ("money", "yuan_from_wan", "wan_from_yuan", "format_wan", "percent", "local_today", "local_date",
                 "timezone_name"):
        assert getattr(toolkit, name) is getattr(units, name), name
        assert name in toolkit.__all__


# ---- Formatting ------------------------------------------------------------------------------------------


def test_format_wan_as_the_pages_show_it() -> None:
    assert format_wan(Decimal("12345678.90")) == "1,234.57"
    assert format_wan(Decimal("1000000.00") * 3) == "300.00"
    assert format_wan(Decimal("50")) == "0.01"  # 0.005 万元, half up
    assert format_wan(Decimal("-50000")) == "-5.00"
    assert format_wan(0) == "0.00"
    assert format_wan(Decimal("1E+12")) == "100,000,000.00"  # never an exponent
    assert format_wan(None) == "—"


def test_format_wan_exact_keeps_every_digit() -> None:
    assert format_wan_exact(Decimal("1234567.00")) == "123.4567"
    assert format_wan_exact(Decimal("500000.00") * 2) == "100"  # normalize() alone would print 1E+2
    assert format_wan_exact(Decimal("0.01")) == "0.000001"


def test_format_yuan() -> None:
    assert format_yuan(Decimal("1234.5")) == "1,234.50"
    assert format_yuan(-Decimal("1000000")) == "-1,000,000.00"
    assert format_yuan(Decimal("0.005")) == "0.01"


def test_format_amount_scaled_picks_the_unit() -> None:
    assert format_amount_scaled(Decimal("236000000")) == "2.36 亿元"
    assert format_amount_scaled(Decimal("100000000")) == "1 亿元"
    assert format_amount_scaled(Decimal("125000")) == "12.5 万元"
    assert format_amount_scaled(Decimal("12250")) == "1.23 万元"  # 1.225, half up
    assert format_amount_scaled(-Decimal("12345")) == "-1.23 万元"
    assert format_amount_scaled(Decimal("800.00")) == "800 元"
    assert format_amount_scaled(Decimal("9999.99")) == "9999.99 元"
    assert format_amount_scaled(None) == "0 元"


def test_percentages() -> None:
    assert percent(Decimal(600) / Decimal(7)) == "85.71%"
    assert percent(Decimal("0.125")) == "0.13%"
    assert percent(100) == "100.00%"
    assert percent(None) == "—"
    assert ratio_percent(Decimal(6) / Decimal(7)) == "85.71%"
    assert ratio_percent(Decimal("0.00125")) == "0.13%"
    assert ratio_percent(None) == "—"
    assert ratio_percent_trimmed(Decimal("0.6")) == "60%"
    assert ratio_percent_trimmed(Decimal("0.855")) == "85.5%"
    assert ratio_percent_trimmed(Decimal(1)) == "100%"
    assert percent_of(1, 3) == "33.33%"
    assert percent_of(Decimal("2.00"), 3) == "66.67%"
    assert percent_of(Decimal("50.00"), Decimal("200.00")) == "25.00%"
    assert percent_of(1, 0) == "—"
    assert percent_of(1, None) == "—"
    assert percent_of(None, 5) == "—"


# ---- The bureau's time ------------------------------------------------------------------------------------


def test_the_default_zone_is_beijing_outside_an_app() -> None:
    assert timezone_name() == "Asia/Shanghai"
    assert local_today(INSTANT) == date(2026, 3, 1)
    assert local_now(INSTANT).strftime("%Y-%m-%d %H:%M") == "2026-03-01 11:30"


def test_the_configured_zone_decides_the_day(new_york: Flask) -> None:
    with new_york.app_context():
        assert timezone_name() == NEW_YORK
        assert local_today(INSTANT) == date(2026, 2, 28)
        assert local_now(INSTANT).strftime("%Y-%m-%d %H:%M %Z") == "2026-02-28 22:30 EST"
        assert local_date(INSTANT) == date(2026, 2, 28)
        assert local_date(datetime(2026, 3, 1, 3, 30)) == date(2026, 2, 28)  # naive: UTC
        assert local_today() == datetime.now(units.local_zone()).date()


def test_the_timezone_comes_from_jixiao_timezone(monkeypatch, tmp_path) -> None:
    from jixiao.config import load_config

    monkeypatch.setenv("JIXIAO_TIMEZONE", NEW_YORK)
    assert load_config({"INSTANCE_PATH": str(tmp_path)})["BABEL_DEFAULT_TIMEZONE"] == NEW_YORK
    monkeypatch.delenv("JIXIAO_TIMEZONE")
    assert load_config({"INSTANCE_PATH": str(tmp_path)})["BABEL_DEFAULT_TIMEZONE"] == "Asia/Shanghai"


def test_the_export_is_stamped_with_the_configured_zone(app, monkeypatch) -> None:
    """The ledger export's file name and its 导出时间 are the bureau's, not Beijing's whatever the config."""
    from jixiao.spreadsheets import export

    monkeypatch.setitem(app.config, "BABEL_DEFAULT_TIMEZONE", NEW_YORK)
    tenant = SimpleNamespace(name="测试财政局", code="431102")
    with app.app_context():
        name, data = export.export_ledger(None, None, tenant, {}, notices=[], now=INSTANT)
    assert name == "整改台账-431102-20260228.xlsx"
    subtitle = load_workbook(io.BytesIO(data)).active["A2"].value
    assert subtitle.startswith("导出时间 2026-02-28 22:30 · 共 0 份")


def test_stored_instants_are_written_to_sheets_as_local_time(new_york: Flask) -> None:
    from jixiao.spreadsheets import xlsx

    with new_york.app_context():
        data = xlsx.rows_to_xlsx("t", ["时间"], [[INSTANT]])
    assert load_workbook(io.BytesIO(data)).active["A3"].value == datetime(2026, 2, 28, 22, 30)


def test_no_module_but_units_and_config_names_the_zone() -> None:
    """The default zone is spelt once (units.DEFAULT_TIMEZONE, and config's env default); a zone written into
    code elsewhere would ignore JIXIAO_TIMEZONE. Prose (docstrings, API descriptions) may mention it."""
    allowed = {PACKAGE / "units.py", PACKAGE / "config.py"}
    call = re.compile(r"""ZoneInfo\(\s*['"]|['"]Asia/Shanghai['"]\s*\)""")
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in allowed:
            continue
        source = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(PACKAGE)}: {m.group(0)}" for m in call.finditer(source)]
        found += [f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}" for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and node.value.strip() == units.DEFAULT_TIMEZONE]
    assert found == []
