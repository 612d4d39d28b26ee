"""Fixtures of the demo package's tests: a database of their own with the shipped tenant trees, one city filled.

The suite's shared ``jixiao_app`` serves the core's tests, which count records in the seed bureaus' provinces;
the province generator writes into a database of its own instead (SQLite, or PostgreSQL under row-level security
when ``JIXIAO_TEST_DATABASE_URL`` is set, like every test database).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from jixiao.testing import TestDatabase, create_test_database, drop_test_database, make_app, prepare_database

SEED = 2026
YEAR = 2026
TODAY = date(2026, 12, 1)
PROJECTS = 6
PROVINCE = "430000"
# The seed bureaus: jixiao demo load makes theirs through the services.
SEED_BUREAUS = ("431102", "430903", "430400", "540330", "511903")
GENERATED_TABLES = ("departments", "agencies", "projects", "exante_assessments", "target_sets", "indicators",
                    "monitoring_reports", "monitoring_values", "evaluations", "evaluation_scores",
                    "rectification_notices", "result_applications", "result_decisions", "audit_events")


@dataclasses.dataclass
class Province:
    """The generated city: its app and database, the codes generated, the report, and its rows read back."""

    app: Flask
    database: TestDatabase
    city: str
    codes: set[str]
    report: Any
    seed: int = SEED
    year: int = YEAR
    today: date = TODAY
    _rows: dict[str, dict[int, dict[str, Any]]] | None = None

    def owner_engine(self) -> sa.Engine:
        """The tables' owner (a superuser in tests): sees every row, as a check from outside the app must."""
        from jixiao.db import create_engine

        return create_engine(self.database.owner_url)

    def rows(self) -> dict[str, dict[int, dict[str, Any]]]:
        """Every generated row of the city's bureaus, table → id → row, typed as the models read them."""
        if self._rows is None:
            import jixiao.models  # noqa: F401 - every table on the metadata
            from jixiao.db import Base

            engine = self.owner_engine()
            found: dict[str, dict[int, dict[str, Any]]] = {}
            with engine.connect() as connection:
                tenants = Base.metadata.tables["tenants"]
                ids = [row.id for row in connection.execute(sa.select(tenants.c.id).where(tenants.c.code.in_(self.codes)))]
                for name in GENERATED_TABLES:
                    table = Base.metadata.tables[name]
                    result = connection.execute(sa.select(table).where(table.c.tenant_id.in_(ids)).order_by(table.c.id))
                    found[name] = {row.id: dict(row._mapping) for row in result}
            engine.dispose()
            self._rows = found
        return self._rows


@pytest.fixture(scope="session")
def province_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, TestDatabase]]:
    database = create_test_database(tmp_path_factory.mktemp("province-db"))
    app = make_app(database, tmp_path_factory.mktemp("province-instance"))
    prepare_database(app, demo_data=False)
    yield app, database
    app.extensions["jixiao.db"].engine.dispose()
    drop_test_database(database)


def pick_city(app: Flask) -> tuple[str, set[str]]:
    """The first city (no seed bureau in it) whose counties draw diligent, average and dormant profiles alike, so
    that one small city shows the spread."""
    from jixiao.db import system_scope
    from jixiao.tenancy import service as tenancy
    from jixiao_demo.profiles import profile_for

    with app.app_context(), system_scope() as db:
        province = tenancy.get_by_code(db, PROVINCE)
        for city in tenancy.children(db, province):
            counties = tenancy.children(db, city)
            codes = {c.code for c in counties}
            drawn = {profile_for(SEED, code).name for code in codes}
            if not codes & set(SEED_BUREAUS) and {"diligent", "average", "dormant"} <= drawn and len(codes) <= 12:
                return city.code, codes | {city.code}
    raise AssertionError("no city draws every profile with this seed")


@pytest.fixture(scope="session")
def province(province_database: tuple[Flask, TestDatabase]) -> Province:
    """One city and its counties, generated once for the session (PROJECTS per county)."""
    from jixiao_demo.province import generate

    app, database = province_database
    city, codes = pick_city(app)
    report = generate(app, PROVINCE, PROJECTS, SEED, YEAR, only=codes, today=TODAY, skip=SEED_BUREAUS)
    assert len(report.generated) == len(codes), list(report)
    return Province(app=app, database=database, city=city, codes=codes, report=report)
