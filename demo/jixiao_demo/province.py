"""A province that looks real: a year of records in every county and city of any loaded province.

``generate`` is the ``province`` entry point of the group ``jixiao.demo_generators``, which
``jixiao demo load --province CODE`` looks up. Each city and county draws a profile (data/profiles.yaml) from a
random generator seeded by (seed, its code), builds its year in memory (``builder``), with every derived value
computed by the core's rule functions and the tenant's hooks (``rules``), and writes it in bulk in one transaction
under its own tenant scope (``writer``), so PostgreSQL's row-level security checks every row.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from collections.abc import Callable, Collection, Iterator
from datetime import date

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from jixiao import units
from jixiao.accounts.models import Department
from jixiao.db import TenantScope, scoped, system_scope
from jixiao.errors import NotFound, ValidationFailed
from jixiao.lifecycle import rectification
from jixiao.lifecycle.models import Agency, Project
from jixiao.tenancy import service as tenancy
from jixiao.tenancy.models import Tenant, TenantLevel
from jixiao_demo import profiles
from jixiao_demo.builder import Clock, TenantBatch, TenantBuilder
from jixiao_demo.rules import TenantRules
from jixiao_demo.writer import Writer

__all__ = ["Report", "TenantResult", "build_tenant", "generate"]


@dataclasses.dataclass(frozen=True)
class TenantResult:
    code: str
    name: str
    level: str
    profile: str
    rows: dict[str, int]


@dataclasses.dataclass
class Report:
    """What a generation did; iterating it gives the lines ``jixiao demo load`` prints."""

    province: str
    year: int
    seed: int
    projects_per_county: int
    generated: list[TenantResult] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    already: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> dict[str, int]:
        total: collections.Counter[str] = collections.Counter()
        for result in self.generated:
            total.update(result.rows)
        return dict(total)

    def lines(self) -> list[str]:
        by_profile = collections.Counter(r.profile for r in self.generated)
        labels = {p.name: p.label for p in profiles.profiles()}
        mix = "、".join(f"{labels[name]} {by_profile[name]}" for name in labels if by_profile[name])
        lines = [f"province {self.province}, {self.year}: {len(self.generated)} bureaus generated"
                 f" ({self.projects_per_county} projects per county, seed {self.seed}) in {self.seconds:.1f} s"]
        if self.generated:
            lines.append(f"  profiles: {mix}")
            lines.append("  rows: " + ", ".join(f"{table} {count}" for table, count in self.rows.items()))
        if self.already:
            lines.append(f"  {len(self.already)} bureaus already had projects for {self.year}, left as they were")
        if self.skipped:
            lines.append(f"  skipped (their records come from the services): {', '.join(self.skipped)}")
        return lines

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines())


def generate(app: Flask, province_code: str, projects_per_county: int = 4, seed: int = 2026, year: int | None = None,
             *, skip: Collection[str] = (), only: Collection[str] | None = None, today: date | None = None,
             copy: bool = True, on_batch: Callable[[TenantBatch], None] | None = None) -> Report:
    """Fill every city and county of the loaded province ``province_code`` with a year of records.

    - ``projects_per_county``: projects of each county; a city gets the share the profiles file says (at least one).
    - ``seed``: with the same seed (and ``today``) every bureau gets the same records, whatever else is generated.
    - ``year``: the budget year (default: this year, in the bureau's time zone); records are dated up to yesterday.
    - ``skip``: codes left alone (the seed bureaus, whose records the services make). A bureau that already has
      projects for ``year`` is left alone too, so a second run adds nothing.
    - ``only``: generate these codes only (tests and benchmarks use a city's counties).
    - ``copy``: allow COPY through staging tables on PostgreSQL (``False`` writes with executemany only).
    - ``on_batch``: called with each written batch, its rows holding their real ids (the benchmark's baseline
      inserts the very same rows).
    """
    started = time.perf_counter()
    with app.app_context():
        today = today or rectification.today()
        zone = units.local_zone()
        year = year or today.year
        if year > today.year:
            raise ValidationFailed(fields={"year": f"{year} 年尚未开始：演示数据只能生成今年或以前的"})
        with system_scope() as db:
            province = tenancy.get_by_code(db, province_code)
            if province is None or province.level is not TenantLevel.PROVINCE:
                raise NotFound(f"没有已加载的省级租户 {province_code}：先运行 jixiao tenants load tenants/*.yaml")
            tenants = list(db.scalars(sa.select(Tenant).where(
                Tenant.path.startswith(province.path), Tenant.level != TenantLevel.PROVINCE).order_by(Tenant.code)))
        report = Report(province=f"{province.code} {province.name}", year=year, seed=seed,
                        projects_per_county=projects_per_county)
        clock = Clock(today=today, zone=zone, year=year)
        share = float(profiles.settings()["projects"]["cities"])
        # Between tenants the loader's own context, which sees every tenant: a rollback expires the Tenant
        # objects, and row-level security would hide them from an empty scope when they reload.
        with system_scope():
            for tenant in tenants:
                if tenant.code in skip:
                    report.skipped.append(tenant.code)
                    continue
                if only is not None and tenant.code not in only:
                    continue
                count = projects_per_county if tenant.level is TenantLevel.COUNTY else \
                    max(1, round(projects_per_county * share))
                if not count:
                    continue
                with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
                    if db.scalar(sa.select(sa.func.count(Project.id)).where(Project.tenant_id == tenant.id,
                                                                             Project.year == year)):
                        report.already.append(tenant.code)
                        db.rollback()
                        continue
                    batch = build_tenant(db, tenant, seed, count, clock)
                    try:
                        rows = Writer(db.connection(), copy=copy).write(batch)
                        db.commit()
                    except BaseException:
                        db.rollback()
                        raise
                if on_batch is not None:
                    on_batch(batch)
                report.generated.append(TenantResult(code=tenant.code, name=tenant.name, level=str(tenant.level),
                                                     profile=batch.profile.name, rows=rows))
    report.seconds = time.perf_counter() - started
    return report


def build_tenant(session: Session, tenant: Tenant, seed: int, projects: int, clock: Clock) -> TenantBatch:
    """One tenant's batch, built in memory with local ids (reads only: its rules, departments and agencies)."""
    rules = TenantRules(session, tenant, clock.year)
    departments = dict(session.execute(sa.select(Department.code, Department.id)
                                       .where(Department.tenant_id == tenant.id)).all())
    agencies = dict(session.execute(sa.select(Agency.name, Agency.id).where(Agency.tenant_id == tenant.id)).all())
    return TenantBuilder(rules, tenant, seed, projects, clock, departments, agencies).build()
