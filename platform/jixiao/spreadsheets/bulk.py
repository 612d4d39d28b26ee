"""Creating many projects at once (项目清单导入): every row checked first, then all of them in one transaction.

The rules are :func:`jixiao.lifecycle.projects.create_project`'s — who may enter projects, the department must
be the tenant's (and the unit's own, for department staff), the (year, code) must be new, the amount not
negative, only finance marks a project classified, the category is one of the catalog's where the tenant has a
catalog that year — applied to the whole list before anything is written, so
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
from jixiao.lifecycle.models import FundType, Project, ProjectKind, Stage
from jixiao.lifecycle.projects import PROJECT_FIELDS
from jixiao.lifecycle.schemas import ProjectCreateSchema
from jixiao.spreadsheets.xlsx import RowError
from jixiao.tenancy.models import Tenant

COLUMNS = {
    "code": "项目编码", "name": "项目名称", "year": "预算年度", "kind": "项目类型", "fund_type": "资金来源",
    "department_code": "主管部门编码", "requested_amount": "申请金额（万元）", "category": "项目类别",
    "is_new": "是否新增", "is_key": "是否重点", "classified": "是否涉密",
}
REQUIRED = ("code", "name", "year", "kind", "fund_type", "department_code", "requested_amount")
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


def validate(session: Session, actor: User, tenant: Tenant, rows: list[ProjectRow]) -> list[RowError]:
    """Every problem of every row (a fixed number of statements, whatever the number of rows)."""
    require_may_create(actor, tenant)
    departments = {d.code: d for d in session.scalars(sa.select(Department).where(Department.tenant_id == tenant.id))}
    own_ids = (None if actor.has_role(Role.FINANCE)
               else set(common.department_subtree_ids(session, actor.department_id)))
    existing = _existing(session, tenant, {str(r.data.get("code")) for r in rows if r.data.get("code")})
    categories = _categories(session, tenant, {r.data["year"] for r in rows if isinstance(r.data.get("year"), int)})
    schema = ProjectCreateSchema()
    errors: list[RowError] = []
    seen: dict[tuple[int, str], int] = {}
    for item in rows:
        data = item.data
        for field in REQUIRED:
            if field not in item.unreadable and data.get(field) in (None, ""):
                errors.append(RowError(item.row, COLUMNS[field], f"请填写{COLUMNS[field].split('（')[0]}"))
        payload = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in data.items()
                   if v not in (None, "") and k not in item.unreadable}
        complaints = schema.validate(payload, partial=True)
        for field, complaint in complaints.items():
            if field in SCHEMA_MESSAGES:
                said = complaint[0] if isinstance(complaint, list) and complaint else str(complaint)
                # The shared fields (jixiao.inputs) explain themselves in Chinese; marshmallow's own do not.
                errors.append(RowError(item.row, COLUMNS[field], f"{COLUMNS[field].split('（')[0]}{said}"
                                       if CHINESE.search(said) else SCHEMA_MESSAGES[field]))
        if data.get("classified") and not actor.has_role(Role.FINANCE):
            # Refused as the API refuses it: importing the row without the mark would be a success that lied.
            errors.append(RowError(item.row, COLUMNS["classified"], "只有财政绩效人员可以标记涉密，预算单位人员请填“否”"))
        code, year = data.get("code"), data.get("year")
        if code and isinstance(year, int):
            key = (year, str(code))
            if key in existing:
                errors.append(RowError(item.row, COLUMNS["code"], f"{year} 年已有编码为 {code} 的项目"))
            elif key in seen:
                errors.append(RowError(item.row, COLUMNS["code"], f"与第 {seen[key]} 行重复：{year} 年编码 {code} 出现了两次"))
            else:
                seen[key] = item.row
        if isinstance(year, int) and "category" not in item.unreadable:
            _category, problem = catalog.category_problem(categories[year], data.get("category"))
            if problem:
                errors.append(RowError(item.row, COLUMNS["category"], problem))
        department_code = data.get("department_code")
        if department_code and "department_code" not in item.unreadable:
            department = departments.get(str(department_code))
            if department is None:
                errors.append(RowError(item.row, COLUMNS["department_code"], f"本级没有编码为 {department_code} 的部门"))
            elif own_ids is not None and department.id not in own_ids:
                errors.append(RowError(item.row, COLUMNS["department_code"],
                                       f"预算单位人员只能为本部门（及下属单位）申报项目，{department_code} 不在其中"))
    return errors


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
