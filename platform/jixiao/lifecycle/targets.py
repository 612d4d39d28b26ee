"""Performance targets (绩效目标): the unit fills and submits them, finance approves or returns them.

谁申请资金、谁设置目标; 有目标、必审核. Validation is the tenant's hooks' (national framework plus regional rules).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import audit, inputs
from jixiao.accounts.models import User
from jixiao.db import utcnow
from jixiao.errors import Conflict, ValidationFailed
from jixiao.lifecycle import common, scoring
from jixiao.lifecycle.models import (
    Direction,
    Indicator,
    IndicatorNature,
    Project,
    Stage,
    TargetSet,
    TargetStatus,
)
from jixiao.lifecycle.projects import exante_blocker
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import IndicatorView, ProjectView, TargetsView

INDICATOR_FIELDS = ["level1", "level2", "name", "direction", "target_value", "target_text", "unit", "nature",
                    "weight", "catalog_code"]


def targets_for(session: Session, project: Project) -> TargetSet | None:
    return session.scalar(sa.select(TargetSet).where(TargetSet.project_id == project.id))


def _snapshot(target_set: TargetSet) -> dict[str, Any]:
    return {
        "overall_target": target_set.overall_target,
        "status": target_set.status,
        "indicators": [audit.snapshot(i, INDICATOR_FIELDS) for i in target_set.indicators],
    }


def view_of(target_set: TargetSet) -> TargetsView:
    return TargetsView(
        overall_target=target_set.overall_target,
        indicators=tuple(
            IndicatorView(level1=i.level1, level2=i.level2, name=i.name, direction=str(i.direction),
                          target_value=i.target_value, target_text=i.target_text, unit=i.unit, weight=i.weight,
                          catalog_code=i.catalog_code, nature=str(i.nature))
            for i in target_set.indicators
        ),
    )


def problems(session: Session, tenant: Tenant, project: Project, target_set: TargetSet) -> dict[str, str]:
    """Every enabled plugin's objections, field → message."""
    found: dict[str, str] = {}
    answers = common.hooks(session, tenant).validate_targets(project=ProjectView.build(project), targets=view_of(target_set))
    for answer in reversed(answers):
        for problem in answer or []:
            field = problem.get("field", "targets")
            found[field] = f"{found[field]}；{problem['message']}" if field in found else problem["message"]
    return found


#: An indicator's texts: (field, label, bound). Names are checked as names (no invisible characters).
INDICATOR_TEXTS = (("level1", "一级指标", 20, True), ("level2", "二级指标", 40, True),
                   ("name", "三级指标名称", inputs.NAME_MAX_LENGTH, True),
                   ("target_text", "指标值（文字）", inputs.NAME_MAX_LENGTH, False), ("unit", "计量单位", 20, False),
                   ("catalog_code", "指标库编码", inputs.CODE_MAX_LENGTH, False))


def indicator_problems(position: int, row: dict[str, Any]) -> dict[str, str]:
    """What row ``position`` of an indicator table cannot hold as sent (the page, the API and the spreadsheet
    import send rows here alike): texts beyond their columns, numbers beyond NUMERIC(20, 4) and NUMERIC(8, 2)."""
    where = f"indicators[{position}]"
    errors: dict[str, str] = {}
    for field, label, bound, name in INDICATOR_TEXTS:
        inputs.collect(errors, inputs.check_text, row.get(field), f"{where}.{field}", label, max_length=bound,
                       name=name, multiline=False)
    inputs.collect(errors, inputs.check_indicator_value, row.get("target_value"), f"{where}.target_value", "指标值")
    inputs.collect(errors, inputs.check_exact, row.get("weight"), f"{where}.weight", "权重",
                   places=inputs.SCORE_PLACES, integer_digits=inputs.SCORE_INTEGER_DIGITS)
    return errors


def replace_targets(session: Session, actor: User, tenant: Tenant, project: Project, data: dict[str, Any]) -> TargetSet:
    """Write the overall target and the whole indicator table (a draft, or a returned set being corrected)."""
    common.require_unit_or_finance(session, actor, project, "填报绩效目标")
    common.lock(session, project)  # concurrent first fillings queue: one creates the set, the others find it
    target_set = targets_for(session, project)
    if target_set is not None:
        target_set = common.lock(session, target_set)
        common.check_existing(target_set, data.get("version"), "绩效目标")
        if target_set.status not in (TargetStatus.DRAFT, TargetStatus.RETURNED):
            raise Conflict(f"绩效目标{target_set.status.label}，不能修改；如需修改请联系财政退回")
    indicators = data.get("indicators") or []
    inputs.check_count(indicators, "indicators", "绩效指标", inputs.MAX_INDICATORS_PER_PROJECT)
    errors: dict[str, str] = {}
    inputs.collect(errors, inputs.check_text, data.get("overall_target"), "overall_target", "总体目标",
                   max_length=inputs.LONG_TEXT_MAX_LENGTH)
    for position, row in enumerate(indicators, start=1):
        errors.update(indicator_problems(position, row))
        try:
            Direction(row.get("direction"))
        except ValueError:
            errors[f"indicators[{position}].direction"] = "指标方向应为 ge、gt、eq、le、lt 或 qualitative"
        if row.get("nature") not in (None, "", *IndicatorNature):
            errors[f"indicators[{position}].nature"] = "指标性质应为 cumulative（累计值）或 level（水平值）"
    if errors:
        raise ValidationFailed(fields=errors)
    before = _snapshot(target_set) if target_set else None
    if target_set is None:
        target_set = TargetSet(tenant_id=tenant.id, project_id=project.id, status=TargetStatus.DRAFT)
        session.add(target_set)
    target_set.overall_target = (data.get("overall_target") or "").strip()
    target_set.indicators.clear()
    session.flush()
    for position, row in enumerate(indicators, start=1):
        direction = Direction(row["direction"])
        target_set.indicators.append(Indicator(
            tenant_id=tenant.id, position=position, level1=row.get("level1", "").strip(),
            level2=row.get("level2", "").strip(), name=row.get("name", "").strip(), direction=direction,
            target_value=None if row.get("target_value") in (None, "") else Decimal(str(row["target_value"])),
            target_text=row.get("target_text") or "", unit=row.get("unit") or "",
            nature=IndicatorNature(row.get("nature") or scoring.default_nature(row.get("unit"))),
            weight=Decimal(str(row.get("weight") or 0)), catalog_code=row.get("catalog_code") or None,
        ))
    target_set.updated_at = utcnow()  # the set's row changes too, so its version moves with the table
    session.flush()
    common.record(session, actor, "targets.replace", target_set, before, _snapshot(target_set))
    common.commit(session)
    return target_set


def submit_targets(session: Session, actor: User, tenant: Tenant, project: Project,
                   version: int | None = None) -> TargetSet:
    """Submit the targets for review: a transition, refused once done; ``version`` (of the target set) is
    checked when given, so a unit may insist on submitting exactly what it read."""
    common.require_unit_or_finance(session, actor, project, "提交绩效目标")
    project = common.lock(session, project)
    target_set = targets_for(session, project)
    if target_set is None or not target_set.indicators:
        raise Conflict("尚未填报绩效目标和指标，不能提交")
    target_set = common.lock(session, target_set)
    if version is not None:
        common.check_version(target_set, version, "绩效目标")
    if target_set.status not in (TargetStatus.DRAFT, TargetStatus.RETURNED):
        raise Conflict(f"绩效目标{target_set.status.label}，不能再次提交")
    found = problems(session, tenant, project, target_set)
    if found:
        raise ValidationFailed("绩效目标未通过校验，请按提示修改", fields=found)
    target_set.status = TargetStatus.SUBMITTED
    target_set.submitted_at = utcnow()
    project.stage = Stage.TARGETS_SUBMITTED
    common.record(session, actor, "targets.submit", target_set, {"status": "draft"}, {"status": "submitted"})
    common.commit(session)
    common.emit(session, tenant, "targets.submitted", project, actor)
    return target_set


def review_targets(session: Session, actor: User, tenant: Tenant, project: Project, *, approve: bool,
                   comment: str = "", version: int | None = None) -> TargetSet:
    """Finance approves the targets, or returns them with the reasons (a transition, refused once done;
    ``version`` of the target set is checked when given)."""
    common.require_finance(actor, tenant, "审核绩效目标")
    inputs.check_text(comment, "comment", "审核意见", max_length=inputs.COMMENT_MAX_LENGTH)
    project = common.lock(session, project)
    target_set = targets_for(session, project)
    if target_set is not None:
        target_set = common.lock(session, target_set)
        if version is not None:
            common.check_version(target_set, version, "绩效目标")
    if target_set is None or target_set.status is not TargetStatus.SUBMITTED:
        status = target_set.status.label if target_set else "未填报"
        raise Conflict(f"只能审核已提交的绩效目标（当前：{status}）")
    if approve:
        found = problems(session, tenant, project, target_set)
        if found:
            raise ValidationFailed("绩效目标未通过校验，不能批复", fields=found)
        blocker = exante_blocker(session, tenant, project)
        if blocker:
            raise Conflict(blocker)
        target_set.status = TargetStatus.APPROVED
        project.stage = Stage.TARGETS_APPROVED
    else:
        if not comment.strip():
            raise ValidationFailed(fields={"comment": "退回时请写明原因"})
        target_set.status = TargetStatus.RETURNED
        project.stage = Stage.DRAFT
    target_set.reviewed_at = utcnow()
    target_set.reviewer_id = actor.id
    target_set.review_comment = comment.strip()
    common.record(session, actor, "targets.approve" if approve else "targets.return", target_set,
                  {"status": "submitted"}, {"status": target_set.status, "comment": target_set.review_comment})
    common.commit(session)
    common.emit(session, tenant, "targets.approved" if approve else "targets.returned", project, actor,
                comment=target_set.review_comment, target_set_id=target_set.id, version=target_set.version)
    return target_set
