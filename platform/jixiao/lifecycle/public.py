"""What the public sees (公开): published targets and evaluation results, and nothing else.

No login. Classified (涉密) projects never appear; internal comments, evaluators and unit staff never leave
the platform. These functions run in a session scoped to the one tenant asked about.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, selectinload

from jixiao.db import TenantScope, set_scope
from jixiao.errors import NotFound
from jixiao.lifecycle.models import Evaluation, EvaluationStatus, Project, TargetSet, TargetStatus
from jixiao.tenancy import service as tenancy
from jixiao.tenancy.models import Tenant


def public_tenant(session: Session, code: str) -> Tenant:
    """Open one tenant's published records to an anonymous reader: the scope opens that tenant alone, read-only.

    The public page and the public API both start here; an unknown code is a 404.
    """
    # The tenants table answers an anonymous context only for the tenant it names (row-level security).
    set_scope(session, TenantScope(tenant_code=code))
    tenant = tenancy.get_by_code(session, code)
    if tenant is None:
        raise NotFound("没有这个财政部门")
    set_scope(session, TenantScope(read_ids=(tenant.id,)))
    return tenant


def _project(project: Project) -> dict[str, Any]:
    return {
        "code": project.code, "name": project.name, "year": project.year, "kind": str(project.kind),
        "kind_label": project.kind.label, "fund_type": str(project.fund_type),
        "department": project.department.name if project.department else "",
        "approved_amount": project.approved_amount,
    }


def published_targets(session: Session, tenant: Tenant, year: int | None = None) -> list[dict[str, Any]]:
    stmt = (sa.select(TargetSet).join(TargetSet.project)
            .where(Project.tenant_id == tenant.id, TargetSet.published_at.is_not(None), Project.classified.is_(False),
                   TargetSet.status == TargetStatus.APPROVED)
            # The project (joined already) and its department with the rows: one statement, not two per target.
            .options(contains_eager(TargetSet.project).joinedload(Project.department),
                     selectinload(TargetSet.indicators))
            .order_by(Project.year.desc(), Project.code))
    if year:
        stmt = stmt.where(Project.year == year)
    return [
        {
            "project": _project(t.project), "overall_target": t.overall_target, "published_at": t.published_at,
            "indicators": [
                {"level1": i.level1, "level2": i.level2, "name": i.name, "direction": str(i.direction),
                 "target_value": i.target_value, "target_text": i.target_text, "unit": i.unit, "weight": i.weight}
                for i in t.indicators
            ],
        }
        for t in session.scalars(stmt)
    ]


def published_evaluations(session: Session, tenant: Tenant, year: int | None = None) -> list[dict[str, Any]]:
    stmt = (sa.select(Evaluation).join(Evaluation.project)
            .where(Project.tenant_id == tenant.id, Evaluation.published_at.is_not(None), Project.classified.is_(False),
                   Evaluation.status == EvaluationStatus.SUBMITTED)
            .options(contains_eager(Evaluation.project).joinedload(Project.department))
            .order_by(Project.year.desc(), Project.code))
    if year:
        stmt = stmt.where(Project.year == year)
    return [
        {
            "project": _project(e.project), "kind": str(e.kind), "kind_label": e.kind.label,
            "total_score": e.total_score, "grade": e.grade, "summary": e.summary,
            "findings": [{"problem": f.get("problem", ""), "suggestion": f.get("suggestion", "")} for f in e.findings],
            "published_at": e.published_at,
        }
        for e in session.scalars(stmt)
    ]
