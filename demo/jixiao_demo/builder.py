"""One tenant's year of records, built in memory as rows (nothing is written here).

A ``TenantBatch`` holds, per table, the rows to insert, in the tables' own column names and Python values
(``Decimal`` amounts, timezone-aware UTC times, plain strings for enums). Rows name each other by *local* ids —
their index among the batch's rows of that table (after the rows that already exist, see ``preset``) — which the
writer replaces with real ids once it has reserved them. Everything is drawn from a random generator seeded by
(seed, the tenant's code), so a tenant's batch depends on nothing else.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from jixiao.lifecycle import scoring
from jixiao.lifecycle.models import Direction
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import ProjectView, add_working_days
from jixiao_demo import profiles as profiles_module
from jixiao_demo.profiles import Profile, rng_for
from jixiao_demo.rules import IndicatorSpec, TenantRules, evaluation_scores, monitoring_report

ACTOR = "jixiao-demo"
CENT = Decimal("0.01")
WAN = 10000
COUNT_UNITS = frozenset({"人次", "个", "台", "亩", "人", "户", "张", "座", "场", "处", "项", "起", "平方米"})
KEY_EXTERNAL_FACTOR = 2.0
# How a cumulative indicator's year builds up (see _monitoring): early, even (twice as likely), late.
CURVES = (0.6, 1.0, 1.0, 1.5)
# The actions of each table's creation event in the history, as the services name them.
CREATE_ACTIONS = {"departments": "department.create", "agencies": "agency.create", "projects": "project.create",
                  "exante_assessments": "exante.record", "target_sets": "targets.replace",
                  "monitoring_reports": "monitoring.submit", "rectification_notices": "rectification.issue",
                  "result_applications": "results.decide"}


@dataclasses.dataclass
class Department:
    local_id: int
    code: str
    name: str
    parent: int | None
    templates: list[dict[str, Any]]


@dataclasses.dataclass
class TenantBatch:
    """One tenant's rows. ``preset[table]`` are the real ids of rows that exist already (local ids 0..k-1)."""

    tenant_id: int
    code: str
    profile: Profile
    rows: dict[str, list[dict[str, Any]]]
    preset: dict[str, list[int]]
    audit: list[dict[str, Any]]

    def count(self, table: str) -> int:
        return len(self.rows.get(table, ()))


@dataclasses.dataclass(frozen=True)
class Clock:
    """The generation's "now": records are dated through the year up to the end of yesterday, bureau time."""

    today: date
    zone: ZoneInfo
    year: int

    @property
    def cutoff(self) -> datetime:
        return datetime.combine(self.today, time(0), tzinfo=self.zone).astimezone(UTC) - timedelta(minutes=1)

    @property
    def monitoring_month(self) -> int:
        """The last month whose report is due: every month of a past year, last month of this one."""
        return 12 if self.year < self.today.year else self.today.month - 1

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


class TenantBuilder:
    """Draws one tenant's departments, projects and everything that happened to them."""

    def __init__(self, rules: TenantRules, tenant: Tenant, seed: int, projects: int, clock: Clock,
                 departments: dict[str, int], agencies: dict[str, int]) -> None:
        self.rules = rules
        self.tenant = tenant
        self.seed = seed
        self.clock = clock
        self.year = clock.year
        self.profile = profiles_module.profile_for(seed, tenant.code)
        self.rng = rng_for(seed, tenant.code, f"records-{clock.year}")
        self.data = profiles_module.load_departments()
        self.mix = profiles_module.settings()
        self.steps = self.profile.steps
        self.n_projects = projects
        self.cutoff = clock.cutoff
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
        self.preset: dict[str, list[int]] = {"departments": [], "agencies": []}
        self.audit: list[dict[str, Any]] = []
        self._existing_departments = departments
        self._existing_agencies = agencies

    # ---- helpers ----------------------------------------------------------------------------------------------

    def chance(self, step: str, factor: float = 1.0) -> bool:
        return self.rng.random() < min(1.0, self.steps[step] * factor)

    def _add(self, table: str, row: dict[str, Any], *, audited: str | None = None, after: dict[str, Any] | None = None
             ) -> int:
        rows = self.rows[table]
        local = len(self.preset.get(table, ())) + len(rows)
        if "id" in COLUMNS_WITH_ID.get(table, ()):
            row["id"] = local
        rows.append(row)
        action = audited or CREATE_ACTIONS.get(table)
        if action:
            self.audit.append({"tenant_id": self.tenant.id, "at": row["created_at"], "actor_id": None,
                               "actor_name": ACTOR, "action": action, "object_type": table, "object_id": local,
                               "before": None, "after": after})
        return local

    def _moment(self, start: datetime, days: tuple[float, float]) -> datetime:
        """A moment ``days`` after ``start``, squeezed into the time left before the cutoff."""
        low, high = days
        room = (self.cutoff - start).total_seconds() / 86400
        draw = self.rng.random()
        if room <= low:
            return self.cutoff
        moment = start + timedelta(days=low + (min(high, room) - low) * draw)
        return min(moment.replace(microsecond=0), self.cutoff)

    def _amount(self, low_wan: float, high_wan: float) -> Decimal:
        return Decimal(int(self.rng.uniform(low_wan, high_wan) * 10) * 1000).quantize(CENT)

    def _share(self, amount: Decimal, share: float) -> Decimal:
        """``amount × share`` to the cent, computed in whole cents (exact, and cheap)."""
        return Decimal(int(int(amount * 100) * share)).scaleb(-2)

    # ---- the tenant -------------------------------------------------------------------------------------------

    def build(self) -> TenantBatch:
        departments = self._departments()
        agencies = self._agencies()
        top = [d for d in departments if d.parent is None]
        whole_done: set[str] = set()
        kinds = self.mix["projects"]["kinds"]
        for number in range(1, self.n_projects + 1):
            kind = self.rng.choices(list(kinds), weights=list(kinds.values()))[0]
            if kind == "department_whole":
                free = [d for d in top if d.code not in whole_done]
                if not free:
                    kind = "project"
                else:
                    department = self.rng.choice(free)
                    whole_done.add(department.code)
                    template = dict(self.data["department_whole"], kind="department_whole",
                                    name=self.data["department_whole"]["name"].format(department=department.name))
            if kind != "department_whole":
                choices = [(d, t) for d in top for t in d.templates if t["kind"] == kind] or \
                          [(d, t) for d in top for t in d.templates]
                department, template = self.rng.choice(choices)
                template = dict(template, name=f"{self.year}年{template['name']}")
            self._project(number, department, template, agencies)
        return TenantBatch(tenant_id=self.tenant.id, code=self.tenant.code, profile=self.profile, rows=self.rows,
                           preset=self.preset, audit=self.audit)

    def _departments(self) -> list[Department]:
        found: list[Department] = []
        start = datetime(self.year, 1, 2, 1, 0, tzinfo=UTC)
        for raw in self.data["departments"]:
            local = self._department(raw["code"], raw["name"], None, start)
            found.append(Department(local, raw["code"], raw["name"], None, raw.get("projects") or []))
            for unit_code, unit_name in raw.get("units") or []:
                found.append(Department(self._department(unit_code, unit_name, local, start), unit_code, unit_name,
                                        local, []))
        return found

    def _department(self, code: str, name: str, parent: int | None, when: datetime) -> int:
        if code in self._existing_departments:
            self.preset["departments"].append(self._existing_departments[code])
            return len(self.preset["departments"]) - 1
        return self._add("departments", {"tenant_id": self.tenant.id, "code": code, "name": name, "parent_id": parent,
                                         "active": True, "version": 1, "created_at": when, "updated_at": when},
                         after={"code": code, "name": name, "active": True})

    def _agencies(self) -> list[int]:
        names = self.data["agencies"]
        wanted = names[: 1 + int(self.rng.random() < 0.5)]
        when = datetime(self.year, 1, 3, 2, 0, tzinfo=UTC)
        found = []
        for name in wanted:
            if name in self._existing_agencies:
                self.preset["agencies"].append(self._existing_agencies[name])
                found.append(len(self.preset["agencies"]) - 1)
            else:
                kind = "accounting_firm" if "会计师事务所" in name else "consultancy" if "咨询" in name else "other"
                found.append(self._add("agencies", {"tenant_id": self.tenant.id, "name": name, "contact": "",
                                                    "agency_type": kind, "barred": False, "bar_reason": "",
                                                    "version": 1, "active": True, "created_at": when,
                                                    "updated_at": when},
                                       after={"name": name, "contact": "", "agency_type": kind}))
        return found

    # ---- one project ------------------------------------------------------------------------------------------

    def _project(self, number: int, department: Department, template: dict[str, Any], agencies: list[int]) -> None:
        rng, year, tenant_id = self.rng, self.year, self.tenant.id
        kind = template["kind"]
        mix = self.mix["projects"]
        is_new = kind != "department_whole" and rng.random() < mix["new"]
        is_key = rng.random() < mix["key"]
        classified = rng.random() < mix["classified"]
        requested = self._amount(*template["amount"])
        category = rng.choice(self.rules.categories) if self.rules.categories else ""
        created = self._moment(datetime(year, 1, 4, 1, 0, tzinfo=UTC), (0, 50))
        code = f"{year}-{self.tenant.code}-D{number:04d}"
        project = {"tenant_id": tenant_id, "department_id": department.local_id, "year": year, "code": code,
                   "name": template["name"], "kind": kind, "fund_type": template["fund_type"], "category": category,
                   "is_new": is_new, "is_key": is_key, "classified": classified, "requested_amount": requested,
                   "approved_amount": None, "adjusted_amount": None, "stage": "draft", "payment_suspended": False,
                   "suspension_reason": "", "created_by_id": None, "version": 1, "created_at": created,
                   "updated_at": created}
        project_id = self._add("projects", project, after={
            "code": code, "name": template["name"], "year": year, "kind": kind, "fund_type": template["fund_type"],
            "category": category, "is_new": is_new, "is_key": is_key, "classified": classified,
            "requested_amount": str(requested), "stage": "draft"})
        view = ProjectView(id=project_id, code=code, name=template["name"], year=year, kind=kind,
                           fund_type=template["fund_type"], category=category, is_new=is_new, is_key=is_key,
                           requested_amount=requested, approved_amount=None, department_code=department.code)
        quality = rng.uniform(*self.profile.attainment)
        pace = rng.uniform(*self.profile.execution)

        # Targets: filled and submitted, or left a draft.
        filed = self.chance("targets_filed")
        if not filed and rng.random() < 0.5:
            return
        indicators = self._indicators(template, category)
        submitted_at = self._moment(created, (1, 20)) if filed else None
        target_set = {"tenant_id": tenant_id, "project_id": project_id,
                      "overall_target": self.data["texts"]["overall_target"].format(project=template["name"]),
                      "status": "submitted" if filed else "draft", "submitted_at": submitted_at, "reviewed_at": None,
                      "reviewer_id": None, "review_comment": "", "published_at": None, "version": 1,
                      "created_at": self._moment(created, (0, 1)), "updated_at": submitted_at or created}
        target_set_id = self._add("target_sets", target_set, after={
            "overall_target": target_set["overall_target"], "status": "draft",
            "indicators": [{"level1": i.level1, "level2": i.level2, "name": i.name, "direction": i.direction.value,
                            "target_value": None if i.target_value is None else str(i.target_value), "unit": i.unit,
                            "weight": str(i.weight)} for i in indicators]})
        for indicator in indicators:
            indicator.id = self._add("indicators", {
                "tenant_id": tenant_id, "target_set_id": target_set_id, "position": indicator.position,
                "level1": indicator.level1, "level2": indicator.level2, "name": indicator.name,
                "direction": indicator.direction.value, "target_value": indicator.target_value,
                "target_text": indicator.target_text, "unit": indicator.unit, "nature": indicator.nature,
                "weight": indicator.weight, "catalog_code": indicator.catalog_code})
        if not filed:
            return
        assert submitted_at is not None  # filed
        if self.chance("targets_returned"):
            target_set.update(status="returned", reviewed_at=self._moment(submitted_at, (1, 10)),
                              review_comment=self.data["texts"]["review_comment"])
            target_set["updated_at"] = target_set["reviewed_at"]
            project["updated_at"] = target_set["reviewed_at"]
            return
        project["stage"] = "targets_submitted"
        project["updated_at"] = submitted_at

        # Ex-ante assessment, where the tenant's rules require one: no support, no approval.
        cut = Decimal(0)
        moment = submitted_at
        if self.rules.exante_required(view):
            if not self.chance("exante_done"):
                return
            moment = self._moment(submitted_at, (1, 12))
            conclusion, cut = self._exante(project_id, requested, moment)
            if conclusion == "reject":
                return
        if not self.chance("targets_approved"):
            return
        approved_at = self._moment(moment, (1, 15))
        target_set.update(status="approved", reviewed_at=approved_at, updated_at=approved_at)
        project.update(stage="targets_approved", updated_at=approved_at)
        if not self.chance("budgeted"):
            self._publish_targets(target_set, approved_at, classified)
            return
        budget = requested - cut
        budgeted_at = self._moment(approved_at, (1, 20))
        project.update(stage="budgeted", approved_amount=budget, updated_at=budgeted_at)
        self._publish_targets(target_set, budgeted_at, classified)
        view = dataclasses.replace(view, approved_amount=budget)

        self._monitoring(project, view, indicators, budget, quality, pace, budgeted_at)
        self._year_end(project, project_id, indicators, budget, quality, pace, budgeted_at, agencies, classified)

    def _indicators(self, template: dict[str, Any], category: str) -> list[IndicatorSpec]:
        items = self.rules.catalog_items.get(category) if category else None
        rows = _catalog_rows(items) if items else None
        specs = []
        for position, raw in enumerate(rows or template["indicators"], start=1):
            level1, level2, name, direction, target, unit, weight = raw[:7]
            catalog_code = raw[7] if len(raw) > 7 else None
            qualitative = direction == "qualitative"
            if qualitative:
                value, text = None, str(target)
            else:
                value, text = self._target(target, unit), ""
            specs.append(IndicatorSpec(id=-1, position=position, level1=level1, level2=level2, name=name,
                                       direction=Direction(direction), target_value=value, target_text=text,
                                       unit=unit or "", nature=scoring.default_nature(unit),
                                       weight=Decimal(str(weight)).quantize(CENT), catalog_code=catalog_code))
        return specs

    def _target(self, target: Any, unit: str) -> Decimal:
        if not isinstance(target, list):
            return Decimal(str(target))
        low, high = target
        value = self.rng.uniform(low, high)
        if unit in COUNT_UNITS or high >= 1000:
            step = 10 ** max(0, len(str(int(high))) - 2)
            return Decimal(max(int(low), int(value // step) * step))
        return Decimal(f"{value:.1f}")

    def _exante(self, project_id: int, requested: Decimal, when: datetime) -> tuple[str, Decimal]:
        rng = self.rng
        quality = rng.uniform(0.55, 0.97)
        scores = {d["key"]: str(int(Decimal(str(d["max"])) * Decimal(str(min(1.0, quality * rng.uniform(0.9, 1.08))))))
                  for d in self.rules.exante_dimensions}
        total = sum((Decimal(v) for v in scores.values()), Decimal(0))
        share = float(total) / max(1.0, float(sum(Decimal(str(d["max"])) for d in self.rules.exante_dimensions)))
        if share < 0.6:
            conclusion, cut = "reject", Decimal(0)
        elif share < 0.8 or rng.random() < 0.3:
            conclusion, cut = "adjust", self._share(requested, rng.uniform(0.05, 0.3)).quantize(Decimal(1))
        else:
            conclusion, cut = "support", Decimal(0)
        cut = cut.quantize(CENT)
        self._add("exante_assessments", {
            "tenant_id": self.tenant.id, "project_id": project_id, "scores": scores, "comments": {},
            "total_score": total.quantize(CENT), "reviewer_ids": [], "conclusion": conclusion, "amount_cut": cut,
            "assessed_at": when, "version": 1, "created_at": when, "updated_at": when},
            after={"scores": scores, "conclusion": conclusion, "amount_cut": str(cut), "total_score": str(total)})
        return conclusion, cut

    def _publish_targets(self, target_set: dict[str, Any], after: datetime, classified: bool) -> None:
        if not classified and self.chance("published"):
            target_set["published_at"] = self._moment(after, (1, 30))

    # ---- monitoring -------------------------------------------------------------------------------------------

    def _monitoring(self, project: dict[str, Any], view: ProjectView, indicators: list[IndicatorSpec], budget: Decimal,
                    quality: float, pace: float, budgeted_at: datetime) -> None:
        """The monthly reports the unit filed, from the month the budget was approved to last month."""
        rng, clock = self.rng, self.clock
        first = budgeted_at.month if budgeted_at.year == self.year else 13
        months = [m for m in self.rules.periods(view) if first <= m <= clock.monitoring_month]
        executed_share = 0.0
        progress = {i.position: 0.0 for i in indicators}
        spread = {i.position: quality * rng.uniform(0.92, 1.08) for i in indicators}
        # Work rarely builds up evenly: a subsidy is paid out in spring, a building is finished in autumn, and
        # payments lag the work. share ** curve bends the even pace (below 1: early, above 1: late).
        curves = {i.position: rng.choice(CURVES) for i in indicators}
        spending = rng.uniform(0.9, 1.4)
        light = None
        texts = self.data["texts"]
        for month in months:
            share = month / 12
            executed_share = min(max(executed_share, share ** spending * pace * rng.uniform(0.9, 1.1)), 1.02)
            if not self.chance("monitoring_filed"):
                continue
            readings: dict[int, dict[str, Any]] = {}
            for indicator in indicators:
                if indicator.level1 == "满意度" and month < 6:
                    continue  # surveyed once the work has started to show
                reading = self._reading(indicator, spread[indicator.position], share ** curves[indicator.position],
                                        progress)
                if reading is not None:
                    readings[indicator.id] = reading
            executed = self._share(budget, executed_share)
            report = monitoring_report(self.rules, indicators, month, executed, budget, readings, view)
            filed_at = datetime(self.year, month, 1, 2, 0, tzinfo=UTC) + timedelta(days=_days_in(self.year, month) - 3)
            filed_at = max(self._moment(filed_at, (0, 9)), min(budgeted_at + timedelta(hours=1), self.cutoff))
            off_track = report.light in ("red", "yellow")
            response_due = None
            response = responded_at = None
            response_note = ""
            if report.response_days:
                response_due = add_working_days(clock.local_date(filed_at), report.response_days)
                if response_due < clock.today and self.chance("notice_answered"):
                    response, response_note = "continue", "已分析原因，继续执行并加快进度"
                    responded_at = self._moment(filed_at, (1, 5))
            report_id = self._add("monitoring_reports", {
                "tenant_id": self.tenant.id, "project_id": project["id"], "period": month,
                "executed_amount": executed, "execution_rate": report.execution_rate, "light": report.light,
                "cause": rng.choice(texts["cause"]) if off_track else "",
                "measure": rng.choice(texts["measure"]) if off_track else "", "warnings": report.warnings,
                "response": response, "response_note": response_note, "response_due": response_due,
                "responded_at": responded_at, "submitted_by_id": None, "version": 1, "created_at": filed_at,
                "updated_at": responded_at or filed_at},
                after={"period": month, "executed_amount": str(executed), "execution_rate": str(report.execution_rate),
                       "light": report.light})
            values = self.rows["monitoring_values"]
            tenant_id = self.tenant.id
            for value in report.values:
                values.append({"tenant_id": tenant_id, "report_id": report_id, "indicator_id": value.indicator_id,
                               "actual_value": value.actual_value, "attainment": value.attainment,
                               "light": value.light, "band": value.band, "note": value.note})
            light = report.light
        if light == "red" and rng.random() < 1 - self.steps["monitoring_filed"] + 0.1:
            project.update(payment_suspended=True, suspension_reason=texts["suspension"])

    def _reading(self, indicator: IndicatorSpec, quality: float, share: float, progress: dict[int, float]
                 ) -> dict[str, Any] | None:
        """What the unit reads for one indicator at the end of the month (``share`` of the year gone)."""
        rng = self.rng
        if indicator.direction is Direction.QUALITATIVE:
            if share < 0.5 and rng.random() < 0.5:
                return None
            return {"band": _band(quality * rng.uniform(0.95, 1.05))}
        target = indicator.target_value
        jitter = rng.uniform(0.95, 1.05)
        cumulative = indicator.nature == scoring.CUMULATIVE
        if indicator.direction in (Direction.LE, Direction.LT):
            level = max(0.3, 2 - quality) * jitter
        elif indicator.direction is Direction.EQ:
            level = 1 + (1 - quality) * jitter * (1 if rng.random() < 0.5 else -1) * 0.5
        else:
            level = quality * jitter
        if cumulative:
            previous = progress[indicator.position]
            level = max(previous, level * share)
            progress[indicator.position] = level
        return {"actual_value": _value(target, level, indicator.unit)}

    # ---- evaluation, rectification, results, publication ------------------------------------------------------

    def _year_end(self, project: dict[str, Any], project_id: int, indicators: list[IndicatorSpec], budget: Decimal,
                  quality: float, pace: float, budgeted_at: datetime, agencies: list[int], classified: bool) -> None:
        """Evaluations in the last months, then what follows from them, each step only if its time has come."""
        rng = self.rng
        floor = min(max(budgeted_at + timedelta(days=30), self.cutoff - timedelta(days=120)), self.cutoff)
        span = (self.cutoff - floor).total_seconds()
        executed = self._share(budget, min(1.0, pace * rng.uniform(0.95, 1.08)))
        final = quality * rng.uniform(0.95, 1.05)
        when = floor + timedelta(seconds=int(rng.random() * span))
        if self.chance("self_evaluated") and self.rules.form("self") is not None:
            self._evaluation(project, project_id, "self", None, indicators, budget, executed, final, when, when)
        elif rng.random() < 0.5:
            self._assigned(project_id, "self", None, when)
        if not self.chance("external", KEY_EXTERNAL_FACTOR if project["is_key"] else 1.0):
            return
        kinds = self.mix["evaluations"]["kinds"]
        kind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
        if self.rules.form(kind) is None:
            return
        agency = rng.choice(agencies) if kind == "third_party" else None
        assigned_at = floor + timedelta(seconds=int(rng.random() * span))
        submitted_at = self._after(assigned_at, (7, 45)) if self.chance("external_submitted") else None
        if submitted_at is None:
            self._assigned(project_id, kind, agency, assigned_at)
            return
        evaluation, evaluation_id = self._evaluation(project, project_id, kind, agency, indicators, budget, executed,
                                                     final * rng.uniform(0.95, 1.02), assigned_at, submitted_at)
        notice = None
        last = submitted_at
        if evaluation["findings"] and self.chance("notice"):
            issued_at = self._after(submitted_at, (1, 20))
            if issued_at is not None:
                notice = self._notice(project, project_id, evaluation, evaluation_id, issued_at)
                last = notice["updated_at"]
        decided_at = self._after(last, (1, 25)) if self.chance("results") else None
        if decided_at is not None:
            open_notice = notice is not None and notice["status"] != "verified"
            self._decide(project, project_id, evaluation, evaluation_id, budget, decided_at, open_notice)
        if not classified and self.chance("published"):
            evaluation["published_at"] = self._after(decided_at or submitted_at, (1, 20))

    def _after(self, start: datetime, days: tuple[float, float]) -> datetime | None:
        """A moment ``days`` after ``start``, or ``None`` when that is after the cutoff: the step is still to come."""
        moment = start + timedelta(days=self.rng.uniform(*days))
        return moment.replace(microsecond=0) if moment <= self.cutoff else None

    def _assigned(self, project_id: int, kind: str, agency: int | None, when: datetime) -> None:
        self._add("evaluations", _evaluation_row(self.tenant.id, project_id, kind, agency, when),
                  audited="evaluation.start" if kind == "self" else "evaluation.assign", after={"kind": kind})

    def _evaluation(self, project: dict[str, Any], project_id: int, kind: str, agency: int | None,
                    indicators: list[IndicatorSpec], budget: Decimal, executed: Decimal, quality: float,
                    assigned_at: datetime, submitted_at: datetime) -> tuple[dict[str, Any], int]:
        rng = self.rng
        form = self.rules.form(kind)
        assert form is not None, "the callers start an evaluation only of a kind whose form the rules give"
        readings: dict[str, dict[str, Any]] = {}
        for row in scoring.form_rows(form, indicators):
            if row.form_indicator is not None:
                item = row.form_indicator
                if item.scored_by:
                    continue
                if item.direction == "qualitative":
                    readings[row.key] = _banded(quality * rng.uniform(0.95, 1.05), rng)
                else:
                    readings[row.key] = {"actual_value": _value(item.target_value, min(1.0, quality * rng.uniform(
                        0.95, 1.1)), item.unit)}
                continue
            indicator = row.indicator
            if indicator.direction is Direction.QUALITATIVE:
                readings[row.key] = _banded(quality * rng.uniform(0.95, 1.05), rng)
            else:
                reading = self._reading(indicator, quality, 1.0, {indicator.position: 0.0})
                assert reading is not None, "only a qualitative reading is ever left out"
                readings[row.key] = reading
        scored = evaluation_scores(self.rules, kind, indicators, budget, executed, readings)
        texts = self.data["texts"]
        findings = []
        if kind != "self" or scored.total_score < 80:
            findings = [{"problem": p, "suggestion": s} for p, s in rng.sample(texts["problems"], rng.randint(1, 3))]
        summary = texts["summary"][0 if scored.total_score < 90 else 1] if scored.total_score >= 70 else texts["summary"][2]
        evaluation = _evaluation_row(self.tenant.id, project_id, kind, agency, assigned_at)
        evaluation.update(status="submitted", executed_amount=executed, execution_score=scored.execution_score,
                          total_score=scored.total_score, grade=scored.grade, summary=summary, findings=findings,
                          submitted_at=submitted_at, form=scored.form.as_dict(), updated_at=submitted_at)
        if agency is not None and rng.random() < self.mix["evaluations"]["quality_scored"]:
            evaluation["quality_score"] = Decimal(rng.randint(70, 98)).quantize(CENT)
        evaluation_id = self._add("evaluations", evaluation, audited="evaluation.start" if kind == "self" else "evaluation.assign",
                                  after={"kind": kind})
        scores = self.rows["evaluation_scores"]
        for score in scored.rows:
            score["tenant_id"] = self.tenant.id
            score["evaluation_id"] = evaluation_id
            scores.append(score)
        if project["stage"] == "budgeted":
            project["stage"] = "evaluated"
        project["updated_at"] = max(project["updated_at"], submitted_at)
        return evaluation, evaluation_id

    def _notice(self, project: dict[str, Any], project_id: int, evaluation: dict[str, Any], evaluation_id: int,
                issued_at: datetime) -> dict[str, Any]:
        rng, clock, texts = self.rng, self.clock, self.data["texts"]
        deadline = clock.local_date(issued_at) + timedelta(days=self.rules.default_days)
        notice = {"tenant_id": self.tenant.id, "evaluation_id": evaluation_id, "project_id": project_id,
                  "problems": [f["problem"] for f in evaluation["findings"]], "deadline": deadline, "status": "issued",
                  "measures": "", "answered_at": None, "verified_at": None, "verifier_id": None, "return_reason": "",
                  "issued_by_id": None, "version": 1, "created_at": issued_at, "updated_at": issued_at}
        answered_at = self._after(issued_at, (3, 35)) if self.chance("notice_answered") else None
        if answered_at is not None:
            notice.update(status="answered", measures=rng.choice(texts["measures"]), answered_at=answered_at,
                          updated_at=answered_at)
            checked_at = self._after(answered_at, (1, 15))
            due = datetime.combine(deadline, time(23, 0), tzinfo=clock.zone).astimezone(UTC)
            if checked_at is not None and self.chance("notice_verified"):
                if self.chance("on_time"):
                    if checked_at > due and answered_at < due:
                        checked_at = max(answered_at + timedelta(hours=1), due - timedelta(hours=rng.randint(2, 72)))
                elif checked_at <= due and due + timedelta(days=1) < self.cutoff:
                    checked_at = min(due + timedelta(days=rng.uniform(1, 10)), self.cutoff).replace(microsecond=0)
                notice.update(status="verified", verified_at=checked_at, updated_at=checked_at)
            elif checked_at is not None and rng.random() < 0.4:
                notice.update(status="returned", return_reason=texts["return_reason"], updated_at=checked_at)
        self._add("rectification_notices", notice, after={
            "status": "issued", "problems": notice["problems"], "deadline": deadline.isoformat(), "measures": "",
            "return_reason": ""})
        if project["stage"] in ("evaluated", "budgeted"):
            project["stage"] = "rectifying"
        project["updated_at"] = max(project["updated_at"], notice["updated_at"])
        return notice

    def _decide(self, project: dict[str, Any], project_id: int, evaluation: dict[str, Any], evaluation_id: int,
                budget: Decimal, when: datetime, open_notice: bool) -> None:
        rng, year = self.rng, self.year
        grade = evaluation["grade"]
        suggested = self.rules.suggestion(grade, year)["action"]
        allowed = self.rules.allowed_actions(grade, year)
        if not allowed:
            return
        decision = suggested if suggested in allowed and rng.random() < 0.85 else rng.choice(allowed)
        change = {"prioritise": rng.uniform(0, 0.1), "maintain": 0.0, "reduce": -rng.uniform(0.05, 0.15)}.get(
            decision, -rng.uniform(0.2, 0.5))
        amount_change = self._share(budget, abs(change)).quantize(Decimal(1)).quantize(CENT)
        amount_change = -amount_change if change < 0 else amount_change
        idle = self._share(budget, rng.uniform(0.01, 0.05)).quantize(Decimal(1)).quantize(CENT) \
            if rng.random() < 0.3 else Decimal("0.00")
        values = {"tenant_id": self.tenant.id, "evaluation_id": evaluation_id, "project_id": project_id, "grade": grade,
                  "suggested_action": suggested, "decision": decision, "decision_note": "",
                  "amount_change": amount_change, "idle_recovered": idle, "next_year": year + 1, "decided_by_id": None}
        self._add("result_applications", dict(values, version=1, created_at=when, updated_at=when), after={
            "grade": grade, "suggested_action": suggested, "decision": decision, "decision_note": "",
            "amount_change": str(amount_change), "idle_recovered": str(idle), "next_year": year + 1})
        self.rows["result_decisions"].append(dict(values, decided_at=when))
        if not open_notice:
            project["stage"] = "closed"
        project["updated_at"] = max(project["updated_at"], when)


# ---- what the rows look like ---------------------------------------------------------------------------------------

# Insert order: every table after the tables it refers to.
TABLES = ("departments", "agencies", "projects", "exante_assessments", "target_sets", "indicators",
          "monitoring_reports", "monitoring_values", "evaluations", "evaluation_scores", "rectification_notices",
          "result_applications", "result_decisions")
# Tables whose rows others refer to: their ids are reserved before writing.
COLUMNS_WITH_ID = {t: ("id",) for t in ("departments", "agencies", "projects", "exante_assessments", "target_sets",
                                         "indicators", "monitoring_reports", "evaluations", "rectification_notices",
                                         "result_applications")}
# Which columns hold a local id of which table.
REFERENCES: dict[str, dict[str, str]] = {
    "departments": {"parent_id": "departments"},
    "projects": {"department_id": "departments"},
    "exante_assessments": {"project_id": "projects"},
    "target_sets": {"project_id": "projects"},
    "indicators": {"target_set_id": "target_sets"},
    "monitoring_reports": {"project_id": "projects"},
    "monitoring_values": {"report_id": "monitoring_reports", "indicator_id": "indicators"},
    "evaluations": {"project_id": "projects", "agency_id": "agencies"},
    "evaluation_scores": {"evaluation_id": "evaluations", "indicator_id": "indicators"},
    "rectification_notices": {"evaluation_id": "evaluations", "project_id": "projects"},
    "result_applications": {"evaluation_id": "evaluations", "project_id": "projects"},
    "result_decisions": {"evaluation_id": "evaluations", "project_id": "projects"},
}


def _evaluation_row(tenant_id: int, project_id: int, kind: str, agency: int | None, when: datetime) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "project_id": project_id, "kind": kind, "status": "assigned", "agency_id": agency,
            "sample_id": None, "executed_amount": None, "execution_score": None, "total_score": None, "grade": None,
            "summary": "", "findings": [], "internal_comment": "", "evaluator_id": None, "submitted_at": None,
            "published_at": None, "quality_score": None, "quality_comment": "", "form": None, "version": 1,
            "created_at": when, "updated_at": when}


def _catalog_rows(items: list[dict[str, Any]]) -> list[list[Any]] | None:
    """A target table of a catalog category's common indicators (their reference values as targets), for a
    tenant whose catalog is in force; ``None`` when the category lacks 产出 or 效益 indicators."""
    weights = {"产出": ["30", "20"], "效益": ["30"], "满意度": ["10"]}
    table: list[list[Any]] = []
    for level1, level_weights in weights.items():
        usable = [i for i in items if i["level1"] == level1 and (i["direction"] == "qualitative" or _number(i["typical_value"]))]
        for item, weight in zip(usable, level_weights, strict=False):
            target = (item["typical_value"] or "达成") if item["direction"] == "qualitative" else item["typical_value"]
            table.append([level1, item["level2"], item["name"], item["direction"], target, item["unit"], weight,
                          item["code"]])
    return table if {"产出", "效益"} <= {row[0] for row in table} else None


def _number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def _days_in(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _value(target: Decimal | None, level: float, unit: str) -> Decimal:
    """``target × level`` as a unit would report it: whole numbers for counts, two places otherwise."""
    if target is None:
        target = Decimal(100)
    value = float(target) * level
    if unit == "%" and target <= 100:
        value = min(value, 100.0)
    if unit in COUNT_UNITS:
        return Decimal(int(round(value)))
    return Decimal(f"{value:.2f}")


def _band(quality: float) -> str:
    return "achieved" if quality >= 0.9 else "partial" if quality >= 0.7 else "not_achieved"


def _banded(quality: float, rng: random.Random) -> dict[str, Any]:
    """A qualitative reading: the band the evaluator chooses, and the share within it."""
    band = _band(quality)
    _label, low, high = scoring.QUALITATIVE_BANDS[band]
    fraction = low + (high - low) * Decimal(rng.randint(0, 20)) / 20
    return {"band": band, "band_fraction": fraction.quantize(Decimal("0.0001"))}
