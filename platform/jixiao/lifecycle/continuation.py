"""Continuing projects (延续项目) and which budget a result reaches.

A project of a later year continues an earlier one when it is linked to it (``continues_project_id``, for a
code that changed) or, without a link, when it has the same code in the same tenant. An evaluation's result is
applied to the continuing project's first budget year not yet approved (批复) — not blindly the year after the
evaluated one: a result decided in autumn, when next year's budget is already approved, reaches the year after.
When that year's project is not filed yet, the decision waits for it (``next_year`` set, no project) and is
attached when the project is filed or linked.

Which evaluation decides when several of one project disagree is the tenant's rule (the hook
``evaluation_authority``): :func:`authority_ranks` and :func:`deciding_evaluation`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao.lifecycle import common, facts
from jixiao.lifecycle.models import Evaluation, EvaluationKind, EvaluationStatus, Project, ResultApplication
from jixiao.tenancy.models import Tenant

#: How far a chain is followed: budgets are planned a few years ahead at most; a longer walk is a loop.
MAX_CHAIN = 20
DEFAULT_AUTHORITY = [["third_party", "finance"], ["department"], ["self"]]


def successor(session: Session, project: Project) -> Project | None:
    """The project continuing ``project`` in a later year: the one linked to it, else the same code's nearest
    later year (unless that one is linked to another project)."""
    linked = session.scalar(sa.select(Project).where(Project.tenant_id == project.tenant_id,
                                                     Project.continues_project_id == project.id)
                            .order_by(Project.year, Project.id).limit(1))
    if linked is not None:
        return linked
    return session.scalar(sa.select(Project).where(
        Project.tenant_id == project.tenant_id, Project.code == project.code, Project.year > project.year,
        sa.or_(Project.continues_project_id.is_(None), Project.continues_project_id == project.id),
    ).order_by(Project.year).limit(1))


def predecessor(session: Session, project: Project) -> Project | None:
    """The project ``project`` continues: the linked one, else the same code's nearest earlier year."""
    if project.continues_project_id is not None:
        return session.get(Project, project.continues_project_id)
    return session.scalar(sa.select(Project).where(
        Project.tenant_id == project.tenant_id, Project.code == project.code, Project.year < project.year,
    ).order_by(Project.year.desc()).limit(1))


def earlier_by_code(session: Session, tenant: Tenant, code: str, year: int) -> Project | None:
    """The bureau's latest project of ``code`` before ``year``: what a form naming the continued project by its
    code means."""
    return session.scalar(sa.select(Project).where(Project.tenant_id == tenant.id, Project.code == code.strip(),
                                                   Project.year < year).order_by(Project.year.desc()).limit(1))


def _walk(session: Session, project: Project, step: Callable[[Session, Project], Project | None]) -> list[Project]:
    """The projects ``step`` leads to from ``project``, one after another (at most ``MAX_CHAIN``, never twice)."""
    chain: list[Project] = []
    seen = {project.id}
    current = project
    while len(chain) < MAX_CHAIN and (found := step(session, current)) is not None and found.id not in seen:
        chain.append(found)
        seen.add(found.id)
        current = found
    return chain


def later_years(session: Session, project: Project) -> list[Project]:
    """The projects continuing ``project``, year by year."""
    return _walk(session, project, successor)


def earlier_years(session: Session, project: Project) -> list[Project]:
    """The projects ``project`` continues, nearest year first."""
    return _walk(session, project, predecessor)


def budget_reached(session: Session, project: Project) -> tuple[int, Project | None]:
    """The budget year a result of ``project``'s evaluation changes, and that year's continuing project: the
    first continuing project whose budget is not yet approved; past the last approved one, the year after it
    with no project yet (the decision is attached when that project is filed)."""
    last = project
    for following in later_years(session, project):
        if following.stage not in facts.BUDGETED_STAGES:
            return following.year, following
        last = following
    return last.year + 1, None


def attach_waiting(session: Session, project: Project) -> int:
    """Decisions waiting for ``project``'s year on the projects it continues now apply to it (called when a
    project is filed or its link changes). Returns how many were attached."""
    earlier = [p.id for p in earlier_years(session, project)]
    if not earlier:
        return 0
    waiting = list(session.scalars(sa.select(ResultApplication).where(
        ResultApplication.project_id.in_(earlier), ResultApplication.applies_to_project_id.is_(None),
        ResultApplication.next_year == project.year, ResultApplication.in_force.is_(True))))
    for application in waiting:
        # Not a new decision: the version stays, so a decision being changed at the same time is not refused.
        application.applies_to_project_id = project.id
    return len(waiting)


def detach(session: Session, project: Project) -> None:
    """``project`` no longer continues the chain it was in (its link or code changed): the decisions that were
    applied to it wait again for a project of its year."""
    for application in session.scalars(sa.select(ResultApplication).where(
            ResultApplication.applies_to_project_id == project.id)):
        application.applies_to_project_id = None


# ---- Which evaluation decides ---------------------------------------------------------------------------------


def authority_tiers(session: Session, tenant: Tenant) -> list[list[str]]:
    """The tenant's order of evaluation kinds, most authoritative tier first (the hook ``evaluation_authority``)."""
    answer = common.hooks(session, tenant).evaluation_authority()
    tiers = answer if answer else DEFAULT_AUTHORITY
    return [[str(kind) for kind in tier] for tier in tiers]


def authority_ranks(session: Session, tenant: Tenant) -> dict[str, int]:
    """Each evaluation kind's rank (0 = most authoritative); a kind no tier names ranks last."""
    ranks: dict[str, int] = {}
    tiers = authority_tiers(session, tenant)
    for rank, tier in enumerate(tiers):
        for kind in tier:
            ranks.setdefault(kind, rank)
    for kind in EvaluationKind:
        ranks.setdefault(kind.value, len(tiers))
    return ranks


def authority_text(session: Session, tenant: Tenant) -> str:
    """The order in words: 第三方评价、财政评价 优先于 部门评价 优先于 单位自评."""
    labels = {kind.value: kind.label for kind in EvaluationKind}
    return " 优先于 ".join("、".join(labels.get(kind, kind) for kind in tier)
                          for tier in authority_tiers(session, tenant))


def _precedence(ranks: dict[str, int], evaluation: Evaluation) -> tuple[Any, ...]:
    submitted = evaluation.submitted_at.timestamp() if evaluation.submitted_at else 0.0
    return ranks.get(str(evaluation.kind), len(ranks)), -submitted, -evaluation.id


def deciding_evaluation(session: Session, tenant: Tenant, project: Project) -> Evaluation | None:
    """The submitted, graded evaluation of ``project`` whose result decides: the most authoritative kind, and
    of those the latest submitted."""
    graded = list(session.scalars(sa.select(Evaluation).where(
        Evaluation.project_id == project.id, Evaluation.status == EvaluationStatus.SUBMITTED,
        Evaluation.grade.is_not(None))))
    if not graded:
        return None
    ranks = authority_ranks(session, tenant)
    return min(graded, key=lambda evaluation: _precedence(ranks, evaluation))
