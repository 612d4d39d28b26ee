"""Lifecycle pages (the forms for each stage are being written)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint
from sqlalchemy.orm import Session

from jixiao.audit.models import AuditEvent
from jixiao.lifecycle.models import (
    Evaluation,
    ExAnteAssessment,
    MonitoringReport,
    Project,
    RectificationNotice,
    ResultApplication,
    TargetSet,
)

bp = Blueprint("lifecycle", __name__, template_folder="templates")


def project_history(session: Session, project: Project, limit: int = 300) -> list[AuditEvent]:
    """The audit events of a project and of every record hanging off it, newest first."""
    owned = [
        ("exante_assessments", sa.select(ExAnteAssessment.id).where(ExAnteAssessment.project_id == project.id)),
        ("target_sets", sa.select(TargetSet.id).where(TargetSet.project_id == project.id)),
        ("monitoring_reports", sa.select(MonitoringReport.id).where(MonitoringReport.project_id == project.id)),
        ("evaluations", sa.select(Evaluation.id).where(Evaluation.project_id == project.id)),
        ("rectification_notices", sa.select(RectificationNotice.id).where(RectificationNotice.project_id == project.id)),
        ("result_applications", sa.select(ResultApplication.id).where(ResultApplication.project_id == project.id)),
    ]
    conditions: list[Any] = [sa.and_(AuditEvent.object_type == "projects", AuditEvent.object_id == str(project.id))]
    for object_type, ids in owned:
        conditions.append(sa.and_(AuditEvent.object_type == object_type,
                                  AuditEvent.object_id.in_(sa.select(sa.cast(ids.subquery().c.id, sa.String)))))
    stmt = sa.select(AuditEvent).where(sa.or_(*conditions)).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    return list(session.scalars(stmt))


@bp.route("/t/<tenant_code>/projects/<int:project_id>")
def project(project_id: int) -> Any:
    """The project's page (placeholder until the stage forms land)."""
    from flask_login import current_user

    from jixiao.auth import current_tenant, require_login
    from jixiao.db import session
    from jixiao.lifecycle.common import get_project

    @require_login
    def render() -> Any:
        item = get_project(session(), current_user, current_tenant(), project_id)
        return f"<h1>{item.name}</h1>"

    return render()
