"""Demo data for the embedded default: departments and one user per role in the seeds' bureaus.

Idempotent: what exists is left as it is. Never run against a production database (the password is public).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from jixiao import units
from jixiao.accounts import service as accounts
from jixiao.accounts.models import Department, User
from jixiao.db import TenantScope, scoped, set_scope, system_scope
from jixiao.tenancy import service as tenancy

DEMO_PASSWORD = "jixiao-demo-2026"

DEPARTMENTS = [
    ("101", "教育局", None),
    ("101001", "第一中学", "101"),
    ("101002", "实验小学", "101"),
    ("102", "卫生健康局", None),
    ("102001", "人民医院", "102"),
    ("103", "农业农村局", None),
    ("104", "交通运输局", None),
    ("105", "民政局", None),
]

# (tenant code, username, display name, roles, department code)
USERS = [
    ("430000", "hunan_admin", "湖南省财政厅管理员", ["admin", "finance"], None),
    ("430400", "hengyang_admin", "衡阳市财政局管理员", ["admin"], None),
    ("430400", "hengyang_finance", "衡阳市绩效科", ["finance"], None),
    ("431100", "yongzhou_finance", "永州市绩效科", ["finance"], None),
    ("431102", "lingling_admin", "零陵区财政局管理员", ["admin"], None),
    ("431102", "lingling_finance", "零陵区绩效股", ["finance"], None),
    ("431102", "lingling_dept", "零陵区教育局", ["department"], "101"),
    ("431102", "lingling_evaluator", "第三方评价机构", ["evaluator"], None),
    ("431102", "lingling_expert", "评审专家", ["expert"], None),
    ("431102", "lingling_auditor", "审计局联络员", ["auditor"], None),
    ("431102", "lingling_viewer", "人大预算工委", ["viewer"], None),
    ("430903", "heshan_finance", "赫山区绩效股", ["admin", "finance"], None),
    ("540000", "xizang_admin", "西藏自治区财政厅管理员", ["admin", "finance"], None),
    ("540330", "biangba_finance", "边坝县财政局", ["admin", "finance"], None),
    ("510000", "sichuan_admin", "四川省财政厅管理员", ["admin", "finance"], None),
    ("511903", "enyang_finance", "恩阳区财政局", ["admin", "finance"], None),
    ("511903", "enyang_dept", "恩阳区卫生健康局", ["department"], "102"),
]
# The platform's operators, one per duty (三员分立): (username, display name, duty).
OPERATORS = [
    ("operator_system", "系统管理员", "system"),
    ("operator_security", "安全管理员", "security"),
    ("operator_audit", "审计管理员", "audit"),
]
DEPARTMENT_TENANTS = ["431102", "430903", "430400", "540330", "511903"]


# The seeds' bureaus, each with a year of lifecycle records made by its finance user.
LIFECYCLE_TENANTS = [("431102", "lingling_finance"), ("430903", "heshan_finance"), ("430400", "hengyang_finance"),
                     ("540330", "biangba_finance"), ("511903", "enyang_finance")]
DEFAULT_SIZE = 24


def load(size: int = DEFAULT_SIZE, year: int | None = None) -> list[str]:
    """Departments, users and ``size`` projects per seed bureau (idempotent: what exists is kept)."""
    report: list[str] = []
    with system_scope() as db:
        found = {code: tenancy.get_by_code(db, code) for code in {u[0] for u in USERS} | set(DEPARTMENT_TENANTS)}
    missing = [code for code, t in found.items() if t is None]
    if missing:
        raise RuntimeError(f"load the tenant trees first (missing {', '.join(sorted(missing))})")
    tenants = {code: t for code, t in found.items() if t is not None}
    for code in DEPARTMENT_TENANTS:
        tenant = tenants[code]
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            have = set(db.scalars(sa.select(Department.code).where(Department.tenant_id == tenant.id)))
            for dept_code, name, parent in DEPARTMENTS:
                if dept_code not in have:
                    accounts.create_department(db, None, tenant, code=dept_code, name=name, parent_code=parent)
                    report.append(f"department {code}/{dept_code} {name}")
    for code, username, display, roles, department in USERS:
        tenant = tenants[code]
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=username)) as db:
            if db.scalar(sa.select(User.id).where(User.username == username)) is None:
                accounts.create_user(db, None, tenant, username=username, password=DEMO_PASSWORD, roles=roles,
                                     display_name=display, department_code=department)
                report.append(f"user {username} ({', '.join(roles)}) in {tenant.name}")
    for username, display, duty in OPERATORS:
        with scoped(TenantScope(platform=True, login_username=username)) as db:
            if db.scalar(sa.select(User.id).where(User.username == username)) is None:
                accounts.create_user(db, None, None, username=username, password=DEMO_PASSWORD, roles=[],
                                     display_name=display, is_operator=True, duty=duty)
                report.append(f"user {username} (platform operator: {display})")
    if size:
        report += _lifecycle(size, year)
    return report or ["demo data already loaded"]


def _lifecycle(size: int, year: int | None) -> list[str]:
    from jixiao.lifecycle import demo_data
    from jixiao.lifecycle.models import Agency

    now = units.local_now()  # the bureau's year and month, as every page counts them
    year = year or now.year
    report = []
    for code, finance in LIFECYCLE_TENANTS:
        made = demo_data.generate(code, year, size, finance_username=finance, monitoring_month=max(1, now.month - 1))
        report.append(f"{code}: {len(made)} projects")
    with system_scope() as db:
        lingling = tenancy.get_by_code(db, "431102")
    if lingling is None:
        raise RuntimeError("load the tenant trees first (missing 431102)")
    with scoped(TenantScope(read_ids=(lingling.id,), write_id=lingling.id, login_username="lingling_evaluator")) as db:
        evaluator = db.scalar(sa.select(User).where(User.username == "lingling_evaluator"))
        agency = db.scalar(sa.select(Agency).where(Agency.tenant_id == lingling.id).order_by(Agency.id).limit(1))
        if evaluator is not None and agency is not None and evaluator.agency_id is None:
            evaluator.agency_id = agency.id
            db.commit()
    report += _expert_review(lingling, year)
    return report


def _expert_review(tenant: Any, year: int) -> list[str]:
    """The demo's expert in the bureau's pool, drawn for the first draft project that needs an ex-ante review, so
    the expert's to-do shows what an expert does (once: an expert already in the pool is left as they are)."""
    from datetime import timedelta

    from jixiao.lifecycle import experts, projects
    from jixiao.lifecycle.models import Expert, Project, Stage

    scope = TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username="lingling_finance")
    with scoped(scope) as db:
        finance = db.scalar(sa.select(User).where(User.username == "lingling_finance"))
        login = db.scalar(sa.select(User).where(User.username == "lingling_expert"))
        if finance is None or login is None or db.scalar(sa.select(Expert.id).where(Expert.user_id == login.id)):
            return []
        set_scope(db, scope.with_(user_id=finance.id))
        drafts = db.scalars(sa.select(Project).where(Project.tenant_id == tenant.id, Project.year == year,
                                                     Project.stage == Stage.DRAFT).order_by(Project.code))
        project = next((p for p in drafts if projects.exante_required(db, tenant, p)
                        and projects.exante_for(db, p) is None), None)
        if project is None:
            return []
        field = "综合评审"
        experts.create_expert(db, finance, tenant, {"name": login.display_name or "评审专家",
                                                    "organisation": "湖南科技学院", "expertise": [field],
                                                    "user_id": login.id})
        experts.draw_reviewers(db, finance, tenant, project, {
            "field": field, "count": 1, "seed": 2026, "due": units.local_today() + timedelta(days=14)})
        return [f"expert pool: lingling_expert drawn to review {project.code}"]


def describe_logins() -> list[str]:
    lines = []
    for code, username, display, roles, _department in USERS:
        with scoped(TenantScope(login_username=username)) as db:
            if db.scalar(sa.select(User.id).where(User.username == username)) is not None:
                lines.append(f"{username:<20} {display}（{', '.join(roles)}，{code}）")
    for username, display, duty in OPERATORS:
        with scoped(TenantScope(login_username=username)) as db:
            if db.scalar(sa.select(User.id).where(User.username == username)) is not None:
                lines.append(f"{username:<20} {display}（平台运维，--duty {duty}）")
    return lines
