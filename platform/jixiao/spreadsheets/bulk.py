"""Creating many projects at once (项目清单导入): every row checked first, then all of them in one transaction.

The rules are :func:`jixiao.lifecycle.projects.create_project`'s — who may enter projects, the department must
be the tenant's (and the unit's own, for department staff), the (year, code) must be new, the amount not
negative, only finance marks a project classified, the category is one of the catalog's where the tenant has a
catalog that year, only a project is a special fund and only a special fund has a fund source — applied to the whole list before anything is written, so
a list with one bad row among a thousand writes nothing. Field lengths and ranges are the API's
(``ProjectCreateSchema``). Each project gets its ``project.create`` audit event, as one entered by hand does.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jixiao import audit
from jixiao.accounts.models import Department, Role, User
from jixiao.catalog import service as catalog
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
CHUNK = 250
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


@dataclasses.dataclass
class _Context:
    """What every row is checked against, read once for the whole list."""

    actor: User
    departments: dict[str, Department]
    own_ids: set[int] | None  # the departments a unit's staff may enter projects for (None: any)
    existing: set[tuple[int, str]]  # (year, code) of the projects the tenant has
    categories: dict[int, list[dict[str, Any]]]
    schema: ProjectCreateSchema
    seen: dict[tuple[int, str], int] = dataclasses.field(default_factory=dict)  # (year, code) → its first row


def validate(session: Session, actor: User, tenant: Tenant, rows: list[ProjectRow]) -> list[RowError]:
    """Every problem of every row (a fixed number of statements, whatever the number of rows)."""
    require_may_create(actor, tenant)
    context = _Context(
        actor=actor,
        departments={d.code: d for d in session.scalars(sa.select(Department).where(Department.tenant_id == tenant.id))},
        own_ids=None if actor.has_role(Role.FINANCE) else set(common.department_subtree_ids(session, actor.department_id)),
        existing=_existing(session, tenant, {str(r.data.get("code")) for r in rows if r.data.get("code")}),
        categories=_categories(session, tenant, {r.data["year"] for r in rows if isinstance(r.data.get("year"), int)}),
        schema=ProjectCreateSchema())
    errors: list[RowError] = []
    for item in rows:
        for check in (_missing, _schema_problems, _classified, _duplicate, _category, _department, _special_fund):
            errors.extend(RowError(item.row, COLUMNS[field], message) for field, message in check(item, context))
    return errors


Problems = list[tuple[str, str]]  # (field, message)


def _missing(item: ProjectRow, context: _Context) -> Problems:
    return [(field, f"请填写{COLUMNS[field].split('（')[0]}") for field in REQUIRED
            if field not in item.unreadable and item.data.get(field) in (None, "")]


def _schema_problems(item: ProjectRow, context: _Context) -> Problems:
    payload = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in item.data.items()
               if v not in (None, "") and k not in item.unreadable}
    problems = []
    for field, complaint in context.schema.validate(payload, partial=True).items():
        if field in SCHEMA_MESSAGES:
            said = complaint[0] if isinstance(complaint, list) and complaint else str(complaint)
            # The shared fields (jixiao.inputs) explain themselves in Chinese; marshmallow's own do not.
            problems.append((field, f"{COLUMNS[field].split('（')[0]}{said}" if CHINESE.search(said)
                             else SCHEMA_MESSAGES[field]))
    return problems


def _classified(item: ProjectRow, context: _Context) -> Problems:
    if item.data.get("classified") and not context.actor.has_role(Role.FINANCE):
        # Refused as the API refuses it: importing the row without the mark would be a success that lied.
        return [("classified", "只有财政绩效人员可以标记涉密，预算单位人员请填“否”")]
    return []


def _duplicate(item: ProjectRow, context: _Context) -> Problems:
    code, year = item.data.get("code"), item.data.get("year")
    if not code or not isinstance(year, int):
        return []
    key = (year, str(code))
    if key in context.existing:
        return [("code", f"{year} 年已有编码为 {code} 的项目")]
    if key in context.seen:
        return [("code", f"与第 {context.seen[key]} 行重复：{year} 年编码 {code} 出现了两次")]
    context.seen[key] = item.row
    return []


def _category(item: ProjectRow, context: _Context) -> Problems:
    year = item.data.get("year")
    if not isinstance(year, int) or "category" in item.unreadable:
        return []
    _chosen, problem = catalog.category_problem(context.categories[year], item.data.get("category"))
    return [("category", problem)] if problem else []


def _department(item: ProjectRow, context: _Context) -> Problems:
    code = item.data.get("department_code")
    if not code or "department_code" in item.unreadable:
        return []
    department = context.departments.get(str(code))
    if department is None:
        return [("department_code", f"本级没有编码为 {code} 的部门")]
    if context.own_ids is not None and department.id not in context.own_ids:
        return [("department_code", f"预算单位人员只能为本部门（及下属单位）申报项目，{code} 不在其中")]
    return []


def _special_fund(item: ProjectRow, context: _Context) -> Problems:
    """The service's rule (projects.special_fund_problems): only a project is a special fund, and only a special
    fund has a fund source. The modalities' own rules (“不涉及” alone) are the column's parser's."""
    if {"kind", "is_special_fund", "fund_source"} & item.unreadable or not item.data.get("kind"):
        return []
    problems = special_fund_problems(item.data["kind"], bool(item.data.get("is_special_fund")),
                                     item.data.get("fund_source"))
    return list(problems.items())


def _categories(session: Session, tenant: Tenant, years: set[int]) -> dict[int, list[dict[str, Any]]]:
    """The catalog categories of each budget year the list names (one catalog look-up per year, not per row)."""
    return {year: catalog.category_choices(session, tenant, year) for year in years}


def _existing(session: Session, tenant: Tenant, codes: set[str]) -> set[tuple[int, str]]:
    found: set[tuple[int, str]] = set()
    ordered = sorted(codes)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        found.update((int(y), str(c)) for y, c in session.execute(
            sa.select(Project.year, Project.code).where(Project.tenant_id == tenant.id, Project.code.in_(chunk))))
    return found


def create_projects(session: Session, actor: User, tenant: Tenant, rows: list[ProjectRow],
                    progress: Progress | None = None) -> list[Project]:
    """Create every row's project, or none: the caller validated (:func:`validate` returned nothing)."""
    require_may_create(actor, tenant)
    departments = {d.code: d.id for d in session.scalars(sa.select(Department).where(Department.tenant_id == tenant.id))}
    finance = actor.has_role(Role.FINANCE)
    categories = _categories(session, tenant, {int(r.data["year"]) for r in rows})
    made = [Project(
        tenant_id=tenant.id, department_id=departments[str(r.data["department_code"])], year=int(r.data["year"]),
        code=str(r.data["code"]), name=str(r.data["name"]), kind=ProjectKind(r.data["kind"]),
        fund_type=FundType(r.data["fund_type"]),
        category=catalog.category_problem(categories[int(r.data["year"])], r.data.get("category"))[0],
        is_new=bool(r.data.get("is_new", True)), is_key=bool(r.data.get("is_key", False)),
        classified=bool(r.data.get("classified", False)) and finance,
        requested_amount=Decimal(r.data["requested_amount"]), stage=Stage.DRAFT, created_by_id=actor.id,
        spending_modalities=modalities_problem(r.data.get("spending_modalities") or [])[0],
        is_special_fund=bool(r.data.get("is_special_fund", False)),
        fund_source=FundSource(r.data["fund_source"]) if r.data.get("fund_source") else None,
    ) for r in rows]
    # SQLite has one writer: progress (written on its own connection) must not wait for this transaction.
    report_each_chunk = progress is not None and session.get_bind().dialect.name != "sqlite"
    try:
        for start in range(0, len(made), CHUNK):
            chunk = made[start:start + CHUNK]
            session.add_all(chunk)
            session.flush()
            for project in chunk:
                common.record(session, actor, "project.create", project, after=audit.snapshot(project, PROJECT_FIELDS))
            session.flush()
            if report_each_chunk and progress is not None:
                done = min(start + CHUNK, len(made))
                progress(60 + 35 * done // max(len(made), 1), f"已写入 {done}/{len(made)} 个项目")
        audit.record(session, actor=actor, action="projects.import", object_type="tenants", object_id=tenant.id,
                     tenant_id=tenant.id, after={"count": len(made), "codes": [p.code for p in made[:20]]})
        common.commit(session)
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("导入期间有人新增了相同年度和编码的项目，未导入任何项目，请重新上传") from exc
    return made
