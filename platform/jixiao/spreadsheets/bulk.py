"""Creating many projects at once (项目清单导入): every row checked first, then all of them in one transaction.

The rules are :func:`jixiao.lifecycle.projects.create_project`'s — who may enter projects, the department must
be the tenant's (and the unit's own, for department staff), the (year, code) must be new, the amount not
negative, only finance marks a project classified, the category is one of the catalog's where the tenant has a
catalog that year, only a project is a special fund and only a special fund has a fund source — applied to the
whole list before anything is written, so a list with one bad row among 50,000 writes nothing. Field lengths and
ranges are the API's (``ProjectCreateSchema``). Each project gets its ``project.create`` audit event, as one
entered by hand does (the same content, written many in one statement).

A :class:`Checker` takes the rows one at a time and keeps across them only what the checks compare: the (year,
code) of every row seen, and per budget year the tenant's existing codes and the catalog's categories (a fixed
number of statements per year, none per row). :func:`create_projects` takes the checked rows as an iterable and
writes them :data:`CHUNK` at a time — on PostgreSQL one ``INSERT … SELECT FROM json_to_recordset(…)`` per chunk
for the projects and one for their audit events, the rows one JSON parameter — inside one transaction, so a long
list is written without holding it in memory, and the tenant's row-level security checks every row written (the
session's own tenant context; never a system scope).
"""

from __future__ import annotations

import dataclasses
import itertools
import marshal
import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import IO, Any, NamedTuple

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jixiao import audit, inputs
from jixiao.accounts.models import Department, Role, User
from jixiao.catalog import service as catalog
from jixiao.db import insert_many, utcnow
from jixiao.errors import Conflict, Forbidden
from jixiao.lifecycle import common
from jixiao.lifecycle.models import FundSource, FundType, Project, ProjectKind, Stage
from jixiao.lifecycle.projects import PROJECT_FIELDS, modalities_problem, special_fund_problems
from jixiao.lifecycle.schemas import ProjectCreateSchema
from jixiao.spreadsheets import forms
from jixiao.spreadsheets.xlsx import RowError
from jixiao.tenancy.models import Tenant

#: Each field of the 项目清单 → its column as errors name it; the fields a row must have (the template's
#: columns marked *).
COLUMNS = {column.field: column.label for column in forms.PROJECTS.columns}
REQUIRED = tuple(column.field for column in forms.PROJECTS.columns if column.required)
# What the API schema's complaint about a field means, said the way the form says it.
SCHEMA_MESSAGES = {
    "code": "项目编码不能超过 40 个字符",
    "name": "项目名称不能超过 200 个字符",
    "year": "预算年度应在 2000–2100 之间",
    "kind": "项目类型应为 项目、政策 或 部门整体",
    "fund_type": "资金来源应为 一般公共预算、政府性基金预算、国有资本经营预算 或 社会保险基金预算",
    "category": "项目类别不能超过 40 个字符",
    "requested_amount": "申请金额不能为负数",
}
CHUNK = 1000  # rows per INSERT (and per chunk of the spool): memory per chunk, a statement per chunk and table
#: The fields whose values repeat down a list (a handful of years, kinds, sources, categories, round amounts):
#: each value is checked by the schema once. At most REMEMBERED values are remembered (then forgotten, and
#: checked again), so a list of 50,000 different amounts does not keep 50,000 answers.
REPEATED = frozenset({"year", "kind", "fund_type", "category", "requested_amount"})
REMEMBERED = 5000
YEARS = range(2000, inputs.MAX_YEAR + 1)  # the budget years the schema takes (``Year(minimum=2000)``)
CHINESE = re.compile(r"[\u4e00-\u9fff]")
Progress = Callable[[int, str], None]


@dataclasses.dataclass
class ProjectRow:
    """One line of the list: its row number in the sheet, the values read, the columns that could not be read."""

    row: int
    data: dict[str, Any]
    unreadable: set[str] = dataclasses.field(default_factory=set)


def require_may_create(actor: User, tenant: Tenant) -> None:
    if not common.is_own_tenant(actor, tenant) or not actor.has_role(Role.FINANCE, Role.DEPARTMENT):
        raise Forbidden("只有本级预算单位人员或财政绩效人员可以申报项目")


class ProjectValues(NamedTuple):
    """A checked row as it is written (plain values: a chunk of them is marshalled to the spool)."""

    row: int
    department_id: int
    year: int
    code: str
    name: str
    kind: str
    fund_type: str
    category: str
    is_new: bool
    is_key: bool
    classified: bool
    requested_amount: str  # yuan, as the exact decimal's text
    spending_modalities: list[str]
    is_special_fund: bool
    fund_source: str | None


class Checker:
    """Checks the rows of a list one at a time (:meth:`check`), against what it reads once: the tenant's
    departments, the actor's own ones, and per budget year the codes the tenant has and the catalog's
    categories. Across rows it keeps the (year, code) of each row seen, with its row, and nothing else."""

    def __init__(self, session: Session, actor: User, tenant: Tenant) -> None:
        require_may_create(actor, tenant)
        self.session, self.actor, self.tenant = session, actor, tenant
        self.finance = actor.has_role(Role.FINANCE)
        self.departments = {d.code: d for d in session.scalars(
            sa.select(Department).where(Department.tenant_id == tenant.id))}
        self.own_ids = None if self.finance else set(common.department_subtree_ids(session, actor.department_id))
        self.schema = ProjectCreateSchema()
        self.seen: dict[tuple[int, str], int] = {}  # (year, code) → its first row
        self._existing: dict[int, set[str]] = {}
        self._categories: dict[int, list[dict[str, Any]]] = {}
        self._checked: dict[tuple[str, Any], Problems] = {}

    def existing(self, year: int) -> set[str]:
        """The codes the tenant's projects of ``year`` have (one statement per year the list names; none for a
        year the schema refuses, so a column of typos cannot cost a statement per row)."""
        if year not in YEARS:
            return set()
        if year not in self._existing:
            self._existing[year] = set(self.session.scalars(
                sa.select(Project.code).where(Project.tenant_id == self.tenant.id, Project.year == year)))
        return self._existing[year]

    def categories(self, year: int) -> list[dict[str, Any]]:
        """The catalog categories of budget ``year`` (one catalog look-up per year, not per row)."""
        if year not in YEARS:
            return []
        if year not in self._categories:
            self._categories[year] = catalog.category_choices(self.session, self.tenant, year)
        return self._categories[year]

    def field_problems(self, field: str, value: Any, payload: dict[str, Any]) -> Problems:
        """What the API's schema says of one field's value (its fields are checked each on its own)."""
        key = (field, value)
        if field in REPEATED and key in self._checked:
            return self._checked[key]
        try:
            self.schema.fields[field].deserialize(value, field, payload)
            problems: Problems = []
        except ValidationError as exc:
            complaint = exc.messages
            said = complaint[0] if isinstance(complaint, list) and complaint else str(complaint)
            # The shared fields (jixiao.inputs) explain themselves in Chinese; marshmallow's own do not.
            problems = [(field, f"{COLUMNS[field].split('（')[0]}{said}" if CHINESE.search(said)
                         else SCHEMA_MESSAGES[field])]
        if field in REPEATED:
            if len(self._checked) >= REMEMBERED:
                self._checked.clear()
            self._checked[key] = problems
        return problems

    def check(self, item: ProjectRow) -> list[RowError]:
        """Every problem of the row, as (row, column, message)."""
        return [RowError(item.row, COLUMNS[field], message)
                for check in CHECKS for field, message in check(item, self)]

    def values(self, item: ProjectRow) -> ProjectValues:
        """A row :meth:`check` found nothing wrong with, as it is written."""
        data = item.data
        year = int(data["year"])
        return ProjectValues(
            row=item.row, department_id=self.departments[str(data["department_code"])].id, year=year,
            code=str(data["code"]), name=str(data["name"]), kind=ProjectKind(data["kind"]).value,
            fund_type=FundType(data["fund_type"]).value,
            category=catalog.category_problem(self.categories(year), data.get("category"))[0],
            is_new=bool(data.get("is_new", True)), is_key=bool(data.get("is_key", False)),
            classified=bool(data.get("classified", False)) and self.finance,
            requested_amount=str(Decimal(data["requested_amount"])),
            spending_modalities=modalities_problem(data.get("spending_modalities") or [])[0],
            is_special_fund=bool(data.get("is_special_fund", False)),
            fund_source=FundSource(data["fund_source"]).value if data.get("fund_source") else None)


def validate(session: Session, actor: User, tenant: Tenant, rows: Iterable[ProjectRow]) -> list[RowError]:
    """Every problem of every row (a fixed number of statements per budget year, whatever the number of rows)."""
    checker = Checker(session, actor, tenant)
    return [error for item in rows for error in checker.check(item)]


Problems = list[tuple[str, str]]  # (field, message)


def _missing(item: ProjectRow, context: Checker) -> Problems:
    return [(field, f"请填写{COLUMNS[field].split('（')[0]}") for field in REQUIRED
            if field not in item.unreadable and item.data.get(field) in (None, "")]


def _schema_problems(item: ProjectRow, context: Checker) -> Problems:
    """The API schema's complaints about the fields it shares with the form (its other fields' rules are the
    columns' parsers' and the service's, checked here separately)."""
    payload = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in item.data.items()
               if v not in (None, "") and k not in item.unreadable}
    return [problem for field in payload if field in SCHEMA_MESSAGES
            for problem in context.field_problems(field, payload[field], payload)]


def _classified(item: ProjectRow, context: Checker) -> Problems:
    if item.data.get("classified") and not context.actor.has_role(Role.FINANCE):
        # Refused as the API refuses it: importing the row without the mark would be a success that lied.
        return [("classified", "只有财政绩效人员可以标记涉密，预算单位人员请填“否”")]
    return []


def _duplicate(item: ProjectRow, context: Checker) -> Problems:
    code, year = item.data.get("code"), item.data.get("year")
    if not code or not isinstance(year, int):
        return []
    key = (year, str(code))
    if key[1] in context.existing(year):
        return [("code", f"{year} 年已有编码为 {code} 的项目")]
    if key in context.seen:
        return [("code", f"与第 {context.seen[key]} 行重复：{year} 年编码 {code} 出现了两次")]
    context.seen[key] = item.row
    return []


def _category(item: ProjectRow, context: Checker) -> Problems:
    year = item.data.get("year")
    if not isinstance(year, int) or "category" in item.unreadable:
        return []
    _chosen, problem = catalog.category_problem(context.categories(year), item.data.get("category"))
    return [("category", problem)] if problem else []


def _department(item: ProjectRow, context: Checker) -> Problems:
    code = item.data.get("department_code")
    if not code or "department_code" in item.unreadable:
        return []
    department = context.departments.get(str(code))
    if department is None:
        return [("department_code", f"本级没有编码为 {code} 的部门")]
    if context.own_ids is not None and department.id not in context.own_ids:
        return [("department_code", f"预算单位人员只能为本部门（及下属单位）申报项目，{code} 不在其中")]
    return []


def _special_fund(item: ProjectRow, context: Checker) -> Problems:
    """The service's rule (projects.special_fund_problems): only a project is a special fund, and only a special
    fund has a fund source. The modalities' own rules (“不涉及” alone) are the column's parser's."""
    if {"kind", "is_special_fund", "fund_source"} & item.unreadable or not item.data.get("kind"):
        return []
    problems = special_fund_problems(item.data["kind"], bool(item.data.get("is_special_fund")),
                                     item.data.get("fund_source"))
    return list(problems.items())


CHECKS: tuple[Callable[[ProjectRow, Checker], Problems], ...] = (
    _missing, _schema_problems, _classified, _duplicate, _category, _department, _special_fund)


# ---- Spooling the checked rows (a long list is checked in full before its first row is written) ----------


class Spool:
    """The checked rows of a long list, kept on disk (a temporary file, ``CHUNK`` rows per record) between the
    check of every row and the writing of the first: memory holds one chunk, whatever the list's length."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.rows = 0
        self._chunk: list[tuple[Any, ...]] = []

    def add(self, values: ProjectValues) -> None:
        self._chunk.append(tuple(values))
        if len(self._chunk) >= CHUNK:
            self._write()

    def _write(self) -> None:
        if self._chunk:
            marshal.dump(self._chunk, self.file)
            self.rows += len(self._chunk)
            self._chunk = []

    def read(self) -> Iterator[ProjectValues]:
        """The rows added, in order (the spool is read from its start)."""
        self._write()
        self.file.seek(0)
        while True:
            try:
                chunk = marshal.load(self.file)
            except EOFError:
                return
            yield from (ProjectValues(*values) for values in chunk)


# ---- Writing ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Created:
    """What :func:`create_projects` wrote: how many projects, and their ids in the list's order."""

    count: int
    ids: list[int]


def create_projects(session: Session, actor: User, tenant: Tenant, rows: Iterable[ProjectValues], *,
                    total: int | None = None, progress: Progress | None = None) -> Created:
    """Create every row's project, or none: the caller checked them (:class:`Checker` found nothing). Two
    statements per :data:`CHUNK` rows (the projects, their ``project.create`` events), one transaction."""
    require_may_create(actor, tenant)
    # SQLite has one writer: progress (written on its own connection) must not wait for this transaction.
    report_each_chunk = progress is not None and session.get_bind().dialect.name != "sqlite"
    now = utcnow()
    ids: list[int] = []
    codes: list[str] = []
    try:
        rows_iter = iter(rows)
        while chunk := list(itertools.islice(rows_iter, CHUNK)):
            made = _insert_projects(session, actor, tenant, chunk, now)
            _insert_events(session, actor, tenant, chunk, made, now)
            ids.extend(made)
            codes.extend(values.code for values in chunk[:max(0, 20 - len(codes))])
            if report_each_chunk and progress is not None:
                done = len(ids)
                progress(60 + 35 * done // max(total or done, 1), f"已写入 {done}/{total or done} 个项目")
        audit.record(session, actor=actor, action="projects.import", object_type="tenants", object_id=tenant.id,
                     tenant_id=tenant.id, after={"count": len(ids), "codes": codes})
        common.commit(session)
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("导入期间有人新增了相同年度和编码的项目，未导入任何项目，请重新上传") from exc
    return Created(len(ids), ids)


def _project_columns(actor: User, tenant: Tenant, chunk: list[ProjectValues], now: Any) -> tuple[dict, dict]:
    """The chunk's projects as (the values every row shares, each column's list of values)."""
    fixed = {"tenant_id": tenant.id, "stage": Stage.DRAFT.value, "payment_suspended": False, "suspension_reason": "",
             "created_by_id": actor.id, "version": 1, "created_at": now, "updated_at": now}
    varying: dict[str, list[Any]] = {name: [getattr(values, name) for values in chunk] for name in WRITTEN}
    varying["requested_amount"] = [Decimal(amount) for amount in varying["requested_amount"]]
    return fixed, varying


WRITTEN = ("department_id", "year", "code", "name", "kind", "fund_type", "category", "is_new", "is_key",
           "classified", "requested_amount", "spending_modalities", "is_special_fund", "fund_source")


def _insert_projects(session: Session, actor: User, tenant: Tenant, chunk: list[ProjectValues], now: Any) -> list[int]:
    """Insert the chunk's projects; their ids, in the chunk's order."""
    fixed, varying = _project_columns(actor, tenant, chunk, now)
    returned = insert_many(session, Project, fixed, varying, ("id", "year", "code"))
    made = {(int(year), str(code)): int(id_) for id_, year, code in returned}
    return [made[(values.year, values.code)] for values in chunk]


def snapshot(values: ProjectValues) -> dict[str, Any]:
    """The ``after`` of a listed project's ``project.create`` event: :data:`PROJECT_FIELDS` as
    ``audit.snapshot`` gives them of the project just written (what :func:`create_project` records). The values
    are already as JSON holds them (the amount the exact decimal's text), so nothing is converted per row."""
    written = {**values._asdict(), "approved_amount": None, "adjusted_amount": None, "stage": Stage.DRAFT.value,
               "payment_suspended": False, "suspension_reason": "", "continues_project_id": None}
    return {field: written[field] for field in PROJECT_FIELDS}


def _insert_events(session: Session, actor: User, tenant: Tenant, chunk: list[ProjectValues], ids: list[int],
                   now: Any) -> None:
    """The ``project.create`` audit event of each project of the chunk, as ``common.record`` writes it."""
    audit.record_many(session, actor=actor, action="project.create", object_type=Project.__tablename__,
                      tenant_id=tenant.id, at=now,
                      changes=[(id_, None, snapshot(values)) for id_, values in zip(ids, chunk, strict=True)])
