"""Who may see what: the platform's policy predicates, used by services, pages, API and jobs alike.

Two kinds of answer:

- **Visibility is SQL.** :func:`visible_projects` is a ``WHERE`` criterion for the projects an actor may open;
  :func:`project_audience` is a ``SELECT user_id, project_id`` of the users who may open a project *and* whom a
  notification about it concerns. Both are built from one rule, :func:`_sees`, written once over a
  "principal" whose attributes are either the actor's values (a request) or the ``users`` table's columns (a
  scan), so a user is never told about a project they cannot open, and lists and scans stay set-based.
- **Role questions are plain predicates** (``may_read_staff``, ``may_read_bureau_figures``, ``may_read_samples``
  …), each with a ``require_*`` twin raising :class:`~jixiao.errors.Forbidden`, so a page, an API endpoint and
  a menu refuse or hide the same things.

The tenant an actor reads was already decided by the access rule (``jixiao.auth``: their own tenant or a
descendant; another branch is 404); these predicates decide what inside it. This module imports models only,
never services or views. The table of roles × data is in docs/tenancy.md ("What each role sees").
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeGuard

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from jixiao.accounts.models import Department, Role, User
from jixiao.errors import Forbidden
from jixiao.lifecycle.models import Evaluation, Project
from jixiao.tenancy.models import Tenant

# Inside their own tenant these roles see every project; department staff see their department's (and its
# units'), evaluators the projects of the evaluations assigned to their agency.
READ_ALL_ROLES = (Role.ADMIN, Role.FINANCE, Role.AUDITOR, Role.VIEWER, Role.EXPERT)
# Staff lists carry names, roles, departments and last-login times: administrators manage them.
STAFF_READERS = (Role.ADMIN,)
# Finance assigns work to departments and needs their names; administrators manage them.
DEPARTMENT_READERS = (Role.ADMIN, Role.FINANCE)
# A bureau's own figures and its subordinates' (统计, 含下级, 排名): those who supervise the bureau as a whole —
# finance, administrators, the auditors (审计) and the read-only oversight role (人大 viewers).
BUREAU_FIGURE_READERS = (Role.ADMIN, Role.FINANCE, Role.AUDITOR, Role.VIEWER)
# Re-evaluation samples show the whole population drawn from: finance draws them.
SAMPLE_READERS = (Role.FINANCE,)


# ---- Roles in SQL -------------------------------------------------------------------------------------------


def has_role_sql(roles_column: Any, *roles: Role | str) -> sa.ColumnElement[bool]:
    """``users.roles`` (a JSON list of role names) holds one of ``roles``, as SQL for both dialects.

    Role names are fixed words without quotes, so ``"finance"`` (with its quotes) appears in the JSON text
    exactly when the list holds it, whatever the spacing the driver wrote.
    """
    as_text = sa.cast(roles_column, sa.Text)
    return sa.or_(*(as_text.like(f'%"{str(role)}"%') for role in roles))


# ---- The one visibility rule ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Principal:
    """Who is looking, as SQL: constants for one actor, or the columns of a ``users`` row in a scan (of the
    project's own tenant: upper levels are decided before, by the tenant alone)."""

    has_role: Callable[..., sa.ColumnElement[bool]]
    # The condition "department_column is this principal's department or a unit under it".
    under_department: Callable[[Any], sa.ColumnElement[bool]]
    agency_id: Any


def _constant(value: bool) -> sa.ColumnElement[bool]:
    return sa.true() if value else sa.false()


def department_closure() -> Any:
    """Every (ancestor_id, department_id) pair of departments, each department its own ancestor (部门 → 单位)."""
    closure = sa.select(Department.id.label("ancestor_id"), Department.id.label("department_id")).cte(recursive=True)
    child = aliased(Department)
    return closure.union_all(
        sa.select(closure.c.ancestor_id, child.id.label("department_id")).where(child.parent_id == closure.c.department_id))


def departments_under(department_id: int | None) -> sa.Select[Any]:
    """The ids of a department and of the units under it (one recursive statement, no round trips)."""
    if department_id is None:
        return sa.select(Department.id).where(sa.false())
    subtree = sa.select(Department.id).where(Department.id == department_id).cte(recursive=True)
    child = aliased(Department)
    subtree = subtree.union_all(sa.select(child.id).where(child.parent_id == subtree.c.id))
    return sa.select(subtree.c.id)


def _actor_principal(actor: Any) -> _Principal:
    department_id = getattr(actor, "department_id", None)
    return _Principal(
        has_role=lambda *roles: _constant(actor.has_role(*roles)),
        under_department=lambda column: column.in_(departments_under(department_id)),
        agency_id=getattr(actor, "agency_id", None),
    )


def _users_principal(users: Any) -> _Principal:
    closure = department_closure()

    def under(column: Any) -> sa.ColumnElement[bool]:
        return sa.exists().where(closure.c.ancestor_id == users.department_id, closure.c.department_id == column)

    return _Principal(has_role=lambda *roles: has_role_sql(users.roles, *roles),
                      under_department=under, agency_id=users.agency_id)


def _agency_assigned(principal: _Principal, project: type[Project]) -> sa.ColumnElement[bool]:
    """An evaluation of ``project`` is assigned to the principal's agency."""
    if principal.agency_id is None:
        return sa.false()
    return project.id.in_(sa.select(Evaluation.project_id).where(Evaluation.agency_id == principal.agency_id))


def _unit_of(principal: _Principal, project: type[Project]) -> sa.ColumnElement[bool]:
    """Department staff of the project's department, or of a department above it."""
    return sa.and_(principal.has_role(Role.DEPARTMENT), principal.under_department(project.department_id))


def _evaluator_of(principal: _Principal, project: type[Project]) -> sa.ColumnElement[bool]:
    return sa.and_(principal.has_role(Role.EVALUATOR), _agency_assigned(principal, project))


def _sees(principal: _Principal, project: type[Project]) -> sa.ColumnElement[bool]:
    """The visibility rule, for a principal of the project's own tenant (upper levels read everything below)."""
    return sa.or_(principal.has_role(*READ_ALL_ROLES), _unit_of(principal, project), _evaluator_of(principal, project))


def visible_projects(actor: Any, tenant: Tenant) -> sa.ColumnElement[bool]:
    """The SQL criterion for the projects of ``tenant`` that ``actor`` may open.

    An upper level reads every project of the tenant; inside the tenant, finance, administrators, auditors,
    experts and viewers see every project, department staff their department's (and its units'), evaluators
    the projects of the evaluations assigned to their agency; anyone else none.
    """
    in_tenant = Project.tenant_id == tenant.id
    if actor.tenant_id != tenant.id:
        return in_tenant
    return sa.and_(in_tenant, _sees(_actor_principal(actor), Project))


def visible_evaluations(actor: Any, tenant: Tenant) -> sa.ColumnElement[bool]:
    """The evaluations of the projects ``actor`` may open; an evaluator sees only their agency's among them."""
    condition = sa.and_(Evaluation.tenant_id == tenant.id,
                        Evaluation.project_id.in_(sa.select(Project.id).where(visible_projects(actor, tenant))))
    if actor.tenant_id == tenant.id and actor.has_role(Role.EVALUATOR) and not actor.has_role(*READ_ALL_ROLES):
        condition = sa.and_(condition, Evaluation.agency_id == actor.agency_id)
    return condition


# ---- Who hears about a project ------------------------------------------------------------------------------


class Concern(enum.StrEnum):
    """Whom a notification about a project concerns (each still has to be able to open the project)."""

    FINANCE = "finance"  # finance staff of the project's tenant
    UNIT = "unit"  # department staff of the project's department or of a department above it
    AGENCY = "agency"  # evaluators of an agency assigned an evaluation of the project


def audience_of(session: Any, project_ids: Iterable[int], *concern: Concern) -> list[tuple[int, int]]:
    """``(user_id, project_id)`` of :func:`project_audience` for a list of project ids, in one statement built
    once per concern (the ids are an expanding parameter): a scan asks it for every tenant, and building the
    statement — the visibility rule, the department closure — cost more than running it."""
    ids = sorted(set(project_ids))
    if not ids:
        return []
    statement = _listed_audience(tuple(Concern(c) for c in concern))
    return [(user_id, project_id) for user_id, project_id in session.execute(statement, {AUDIENCE_IDS: ids})]


AUDIENCE_IDS = "audience_project_ids"


@functools.lru_cache(maxsize=32)
def _listed_audience(concern: tuple[Concern, ...]) -> sa.Select[int, int]:
    return project_audience(sa.bindparam(AUDIENCE_IDS, expanding=True), concern=concern)


def project_audience(project_ids: Any, *, concern: Iterable[Concern]) -> sa.Select[int, int]:
    """``SELECT user_id, project_id``: the active users of each project's tenant whom ``concern`` names and who
    may open the project by :func:`visible_projects`' rule. ``project_ids`` is a select of project ids (or a
    list); one statement, whatever the number of projects and users."""
    # ``users`` itself, not an alias: its scope criteria (``User.__principal_criteria__``) name the table.
    users = User
    project = aliased(Project, name="audience_project")
    principal = _users_principal(users)
    named = {
        Concern.FINANCE: principal.has_role(Role.FINANCE),
        Concern.UNIT: _unit_of(principal, project),
        Concern.AGENCY: _evaluator_of(principal, project),
    }
    wanted = [named[Concern(c)] for c in concern]
    if not wanted:
        raise ValueError("project_audience needs at least one concern")
    return (
        sa.select(users.id.label("user_id"), project.id.label("project_id"))
        .select_from(project)
        .join(users, users.tenant_id == project.tenant_id)
        .where(project.id.in_(project_ids), users.active.is_(True), _sees(principal, project), sa.or_(*wanted))
        .order_by(project.id, users.id)
    )


# ---- Role questions ---------------------------------------------------------------------------------------


def _authenticated(actor: Any) -> bool:
    return actor is not None and bool(getattr(actor, "is_authenticated", False)) and actor.tenant_id is not None


def may_read_staff(actor: Any) -> bool:
    """The users list and a user's details (roles, department, last login): administrators, of the tenant or
    of an upper level (which reads, and cannot change, a subordinate's)."""
    return _authenticated(actor) and actor.has_role(*STAFF_READERS)


def require_staff_reader(actor: Any) -> None:
    if not may_read_staff(actor):
        raise Forbidden("只有管理员可以查看用户名单")


def may_read_departments(actor: Any) -> bool:
    """The whole departments list: administrators and finance. Department staff see their own department only
    (:func:`visible_departments`); other roles none."""
    return _authenticated(actor) and actor.has_role(*DEPARTMENT_READERS)


def may_list_departments(actor: Any) -> bool:
    """Whether the departments page and list answer at all (department staff get their own department)."""
    return may_read_departments(actor) or (_authenticated(actor) and actor.has_role(Role.DEPARTMENT)
                                           and actor.department_id is not None)


def require_department_list(actor: Any) -> None:
    if not may_list_departments(actor):
        raise Forbidden("只有管理员、财政绩效人员和预算单位人员可以查看部门")


def visible_departments(actor: Any, tenant: Tenant) -> sa.ColumnElement[bool]:
    """The departments of ``tenant`` ``actor`` may read: all for administrators and finance; for department
    staff of the tenant their department and the units under it; none for anyone else."""
    in_tenant = Department.tenant_id == tenant.id
    if may_read_departments(actor):
        return in_tenant
    if _authenticated(actor) and actor.tenant_id == tenant.id and actor.has_role(Role.DEPARTMENT):
        return sa.and_(in_tenant, Department.id.in_(departments_under(actor.department_id)))
    return sa.false()


def may_read_bureau_figures(actor: Any) -> bool:
    """A bureau's statistics (本级 and 含下级), its league table of subordinates and the yearly statistics report:
    finance, administrators, auditors and viewers. Department staff, evaluators and experts are refused (403):
    the figures are the whole bureau's, and they see only their own part of it on the project pages."""
    return _authenticated(actor) and actor.has_role(*BUREAU_FIGURE_READERS)


def may_list_subordinates(actor: Any) -> bool:
    """Whether a bureau's home lists its subordinate bureaus (下级财政部门, each a link to its read-only home): to
    those who supervise the bureau as a whole, as :func:`may_read_bureau_figures`. A budget unit's staff work in
    their own part of the bureau and never get the list, nor do evaluators and experts."""
    return may_read_bureau_figures(actor)


def require_bureau_figures(actor: Any) -> None:
    if not may_read_bureau_figures(actor):
        raise Forbidden("只有财政、管理、审计和查看人员可以查看全局统计和下级排名")


def may_read_samples(actor: Any) -> bool:
    """The re-evaluation sample draws (the population, the drawn and the assigned): finance staff, of the
    tenant or of an upper level."""
    return _authenticated(actor) and actor.has_role(*SAMPLE_READERS)


def require_sample_reader(actor: Any) -> None:
    if not may_read_samples(actor):
        raise Forbidden("只有财政绩效人员可以查看抽评样本")


def may_draw_sample(actor: Any, tenant: Tenant) -> bool:
    """Drawing a sample writes: the tenant's own finance staff."""
    return may_read_samples(actor) and actor.tenant_id == tenant.id


# The expert pool (专家库) names people and the conflicts they declared: finance and administrators keep it,
# auditors read it; units never see who may review them (nor do the experts see each other).
EXPERT_POOL_READERS = (Role.ADMIN, Role.FINANCE, Role.AUDITOR)
EXPERT_POOL_KEEPERS = (Role.ADMIN, Role.FINANCE)


def may_read_expert_pool(actor: Any) -> bool:
    """The experts usable by a tenant and the reviewer draws: its keepers and auditors, or an upper level's."""
    return _authenticated(actor) and actor.has_role(*EXPERT_POOL_READERS)


def require_expert_pool_reader(actor: Any) -> None:
    if not may_read_expert_pool(actor):
        raise Forbidden("只有财政绩效人员、管理员和审计人员可以查看专家库")


def may_keep_expert_pool(actor: Any, tenant: Tenant) -> bool:
    """Registering and correcting the tenant's own experts: its finance staff and administrators."""
    return _authenticated(actor) and actor.has_role(*EXPERT_POOL_KEEPERS) and actor.tenant_id == tenant.id


def require_expert_pool_keeper(actor: Any, tenant: Tenant) -> None:
    if not may_keep_expert_pool(actor, tenant):
        raise Forbidden("只有本级财政绩效人员或管理员可以登记和修改专家")


def may_draw_experts(actor: Any, tenant: Tenant) -> bool:
    """Drawing the ex-ante reviewers of a project: the project's tenant's own finance staff."""
    return _authenticated(actor) and actor.has_role(Role.FINANCE) and actor.tenant_id == tenant.id


def require_expert_drawer(actor: Any, tenant: Tenant) -> None:
    if not may_draw_experts(actor, tenant):
        raise Forbidden("只有本级财政绩效人员可以抽取评审专家")


# ---- The platform acting on its own --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SystemActor:
    """The platform acting for one tenant without a user — a scheduled scan, a job — so it calls the same
    service functions as a person and passes the same predicates. Audited as ``system`` (``actor_id`` empty);
    ``purpose`` says what acted (the job kind). It holds no role: a predicate admits it only where the rules
    let the platform act by itself (the daily scan suspends a payment whose warning went unanswered)."""

    tenant_id: int
    purpose: str
    id: None = None
    username: str = "system"
    department_id: None = None
    agency_id: None = None
    is_authenticated: bool = False

    def has_role(self, *roles: Role | str) -> bool:
        return False


def is_system(actor: Any) -> TypeGuard[SystemActor]:
    return isinstance(actor, SystemActor)


def may_manage_payment(actor: Any, tenant: Tenant) -> bool:
    """Suspending or resuming a project's payment (暂停/恢复拨款): the tenant's own finance staff, and the platform
    itself for that tenant (the daily scan, when a monitoring warning went unanswered past its due date)."""
    if is_system(actor):
        return actor.tenant_id == tenant.id
    return _authenticated(actor) and actor.tenant_id == tenant.id and actor.has_role(Role.FINANCE)


def require_payment_manager(actor: Any, tenant: Tenant) -> None:
    if not may_manage_payment(actor, tenant):
        raise Forbidden("只有本级财政绩效人员可以暂停或恢复拨款")


# Background jobs are started by those who import, generate documents or reports: the bureau's administrators
# and finance see all of the tenant's, department staff and evaluators their own; the others start none.
JOB_OVERSEERS = (Role.ADMIN, Role.FINANCE)
JOB_STARTERS = (*JOB_OVERSEERS, Role.DEPARTMENT, Role.EVALUATOR)
# API tokens connect another system: the bureau's budget system (administrators, finance), a unit's own
# finance software filing its projects (department staff), an audit data pull (auditors). An agency, an expert
# or a People's Congress viewer works from the pages (等保 2.0 8.1.4.2 访问控制 d: least privilege — no standing
# credential a role has no use for).
TOKEN_HOLDERS = (Role.ADMIN, Role.FINANCE, Role.DEPARTMENT, Role.AUDITOR)
# Inter-level assessment is finance's work; administrators, auditors and viewers read it. Units, agencies and
# experts have no part in it.
ASSESSMENT_READERS = (Role.ADMIN, Role.FINANCE, Role.AUDITOR, Role.VIEWER)
# The rectification ledger: the bureau's staff and the units (their own notices); not the agencies and experts.
LEDGER_READERS = (Role.ADMIN, Role.FINANCE, Role.DEPARTMENT, Role.AUDITOR, Role.VIEWER)


def may_start_jobs(actor: Any) -> bool:
    """The background-jobs page and API: those who start jobs (and the platform's system administrator)."""
    if getattr(actor, "is_operator", False):
        return True  # the jobs service applies the duty (三员分立)
    return _authenticated(actor) and actor.has_role(*JOB_STARTERS)


def sees_tenant_jobs(actor: Any) -> bool:
    """All of the tenant's jobs (administrators, finance, the system administrator) rather than one's own."""
    return getattr(actor, "is_operator", False) or (_authenticated(actor) and actor.has_role(*JOB_OVERSEERS))


def require_job_reader(actor: Any) -> None:
    if not may_start_jobs(actor):
        raise Forbidden("您的角色不使用后台任务：导入、生成文件由财政、管理、预算单位和评价机构人员办理")


def may_hold_tokens(actor: Any) -> bool:
    return _authenticated(actor) and actor.has_role(*TOKEN_HOLDERS)


def require_token_holder(actor: Any) -> None:
    if not may_hold_tokens(actor):
        raise Forbidden("只有管理员、财政绩效人员、预算单位和审计人员可以使用 API 令牌（用于与其他系统对接）")


def may_read_assessments(actor: Any) -> bool:
    return _authenticated(actor) and actor.has_role(*ASSESSMENT_READERS)


def require_assessment_reader(actor: Any) -> None:
    if not may_read_assessments(actor):
        raise Forbidden("只有财政、管理、审计和查看人员可以查看上下级考核")


def may_read_ledger(actor: Any) -> bool:
    return _authenticated(actor) and actor.has_role(*LEDGER_READERS)


def require_ledger_reader(actor: Any) -> None:
    if not may_read_ledger(actor):
        raise Forbidden("整改台账由财政部门和预算单位查看；评价机构和专家在项目页面查看委托给自己的事项")


def menu(actor: Any) -> dict[str, bool]:
    """Which of the navigation's entries ``actor`` can open (the templates hide the others; the pages behind
    them answer 403 with the same predicates)."""
    return {
        "statistics": may_read_bureau_figures(actor),
        "departments": may_list_departments(actor),
        "users": may_read_staff(actor),
        "jobs": may_start_jobs(actor),
        "tokens": may_hold_tokens(actor),
        "assessment": may_read_assessments(actor),
        "ledger": may_read_ledger(actor),
        "experts": may_read_expert_pool(actor),
    }
