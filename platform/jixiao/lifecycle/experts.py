"""The expert pool (专家库): experts registered with their fields and declared conflicts, reviewers drawn at random.

A pool is kept by one tenant and usable by its descendants: a county draws the ex-ante reviewers of its projects
(事前绩效评估) from its own pool and from its city's and province's. The draw picks by field of expertise, leaves out
the inactive and those who declared a conflict with the project or its department (or work there), and records its
seed: the same seed over the same pool draws the same experts, so anyone can check a draw afterwards. The drawn
experts who have a login (in the bureau that keeps them: the county's own, or its city's or province's) become its
assigned reviewers: they see the review in their to-do list, and once a project has a draw, only they (and the
county's finance) record its assessment. An upper level's expert records the county's assessment by the county's
commission (the draw), in a narrow block that writes the county's rows (:func:`reviewing_for`).
"""

from __future__ import annotations

import contextlib
import random
import secrets
from collections.abc import Iterator
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import audit, inputs, policy
from jixiao.accounts.models import Department, Role, User
from jixiao.db import get_scope, set_scope
from jixiao.errors import Conflict, NotFound, ValidationFailed
from jixiao.lifecycle import common
from jixiao.lifecycle.models import ExAnteAssessment, Expert, ExpertDraw, Project, Stage
from jixiao.tenancy import service as tenancy
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import TodoItem

EXPERT_FIELDS = ["name", "organisation", "expertise", "conflict_department_ids", "conflict_project_ids", "user_id",
                 "active"]
EDITABLE = set(EXPERT_FIELDS)
NAME_MAX_LENGTH = 100
FIELD_MAX_LENGTH = 40
MAX_FIELDS = 20
MAX_CONFLICTS = inputs.MAX_LIST_ITEMS
MAX_DRAWN = 15
#: The stages at which a project still takes an ex-ante assessment (``projects.record_exante``).
REVIEWABLE = (Stage.DRAFT, Stage.TARGETS_SUBMITTED)
LIST = "、"


# ---- Reading the usable pools -------------------------------------------------------------------------------


@contextlib.contextmanager
def _pools_of(session: Session, tenant: Tenant) -> Iterator[Session]:
    """The session, reading for the length of the block the tenants whose pools ``tenant`` may use: itself and
    its ancestors.

    An ancestor's rows are outside a county user's read set (their own subtree), and rightly so for everything
    but its expert pool, which is kept for the levels below. So the read set is changed, not widened: only the
    chain from the root to ``tenant`` (no sibling, no descendant), only for the statements in the block, which
    read nothing but ``Expert`` rows. The write tenant stays the user's own, and nothing pending is flushed
    under the changed scope, so both walls (the ORM criteria and row-level security) stay in force: a county
    reads its ancestors' experts and can change none of them. docs/tenancy.md, "Pools kept for the levels below".
    """
    chain = tuple(t.id for t in tenancy.ancestors(session, tenant)) + (tenant.id,)
    previous = get_scope(session)
    with session.no_autoflush:
        set_scope(session, previous.with_(read_ids=chain))
        try:
            yield session
        finally:
            set_scope(session, previous)


def usable_experts(session: Session, tenant: Tenant, *, active_only: bool = False) -> list[Expert]:
    """The experts ``tenant`` may draw from: its own pool's and its ancestors', the nearest pool first."""
    with _pools_of(session, tenant) as reader:
        stmt = sa.select(Expert)
        if active_only:
            stmt = stmt.where(Expert.active.is_(True))
        experts = list(reader.scalars(stmt.order_by(Expert.id)))
    depth = {t.id: i for i, t in enumerate(tenancy.ancestors(session, tenant))}
    return sorted(experts, key=lambda e: (e.tenant_id != tenant.id, -depth.get(e.tenant_id, 0), e.name, e.id))


def list_experts(session: Session, actor: User, tenant: Tenant) -> list[Expert]:
    """The pool as ``tenant`` uses it (its own experts and its ancestors'), for those who may read it."""
    policy.require_expert_pool_reader(actor)
    return usable_experts(session, tenant)


def keepers(session: Session, tenant: Tenant) -> dict[int, Tenant]:
    """The tenants an expert listed for ``tenant`` may be kept by (itself and its ancestors), by id."""
    return {t.id: t for t in [*tenancy.ancestors(session, tenant), tenant]}


def get_own_expert(session: Session, actor: User, tenant: Tenant, expert_id: int) -> Expert:
    """An expert of ``tenant``'s own pool; an ancestor's (read-only here) or another branch's is not found."""
    policy.require_expert_pool_reader(actor)
    expert = session.scalar(sa.select(Expert).where(Expert.id == expert_id, Expert.tenant_id == tenant.id))
    if expert is None:
        raise NotFound("本级专家库中没有该专家")
    return expert


# ---- Registering and correcting -----------------------------------------------------------------------------


def _ids(values: Any, field: str, label: str, errors: dict[str, Any]) -> list[int]:
    if values is None:
        return []
    if isinstance(values, str | bytes) or not isinstance(values, list | tuple):
        errors[field] = f"{label}应为编号的列表"
        return []
    if len(values) > MAX_CONFLICTS:
        errors[field] = f"{label}最多 {MAX_CONFLICTS} 个（提交了 {len(values)} 个）"
        return []
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        errors[field] = f"{label}应为编号（正整数）的列表"
        return []
    return sorted(set(values))


def _expertise(values: Any, errors: dict[str, Any]) -> list[str]:
    """The fields of expertise, each once in the order given; at least one."""
    if values is None or (isinstance(values, list | tuple) and not values):
        errors["expertise"] = "请填写专业领域（至少一项）"
        return []
    if isinstance(values, str) or not isinstance(values, list | tuple):
        errors["expertise"] = "专业领域应为列表，如 [\"教育\", \"工程造价\"]"
        return []
    if len(values) > MAX_FIELDS:
        errors["expertise"] = f"专业领域最多 {MAX_FIELDS} 项（提交了 {len(values)} 项）"
        return []
    kept: list[str] = []
    for value in values:
        text = inputs.collect(errors, inputs.check_text, value if isinstance(value, str) else None, "expertise",
                              "专业领域", max_length=FIELD_MAX_LENGTH, required=True, name=True, multiline=False)
        if text is not None and text.strip() not in kept:
            kept.append(text.strip())
    return kept


def _checked(session: Session, tenant: Tenant, data: dict[str, Any], expert: Expert | None) -> dict[str, Any]:
    """``data`` as the expert will hold it, or ``ValidationFailed`` naming every field at fault, in Chinese."""
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if "name" in data or expert is None:
        name = inputs.collect(errors, inputs.check_text, data.get("name"), "name", "专家姓名",
                              max_length=NAME_MAX_LENGTH, required=True, name=True, multiline=False)
        values["name"] = (name or "").strip()
    if "organisation" in data:
        organisation = inputs.collect(errors, inputs.check_text, data.get("organisation"), "organisation",
                                      "工作单位", max_length=inputs.NAME_MAX_LENGTH, multiline=False)
        values["organisation"] = (organisation or "").strip()
    if "expertise" in data or expert is None:
        values["expertise"] = _expertise(data.get("expertise"), errors)
    # Departments and projects the keeper can see: its own and its descendants' (the read set is its subtree).
    for field, model, label in (("conflict_department_ids", Department, "回避的部门"),
                                ("conflict_project_ids", Project, "回避的项目")):
        if field in data:
            wanted = _ids(data[field], field, label, errors)
            unknown = set(wanted) - set(session.scalars(sa.select(model.id).where(model.id.in_(wanted))))
            if unknown:
                errors[field] = f"以下{label}不存在，或不属于本级及下级：" + "、".join(str(i) for i in sorted(unknown))
            values[field] = wanted
    if "user_id" in data:
        values["user_id"] = _login_of(session, tenant, data["user_id"], expert, errors)
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = "是否在库应为 true 或 false"
        values["active"] = data["active"] is True
    if errors:
        raise ValidationFailed(fields=errors)
    return values


def _login_of(session: Session, tenant: Tenant, user_id: Any, expert: Expert | None,
              errors: dict[str, Any]) -> int | None:
    """The expert's login: an active user of the keeping tenant with the expert role, linked to no other expert.

    Only the keeping tenant's users: a login belongs to one bureau. An expert kept by a city and drawn by a
    county reviews with the city login, by the draw's commission (``drawn_from_above``).
    """
    if user_id is None:
        return None
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        errors["user_id"] = "登录账号应为用户编号"
        return None
    user = session.scalar(sa.select(User).where(User.id == user_id, User.tenant_id == tenant.id))
    if user is None or not user.active or not user.has_role(Role.EXPERT):
        errors["user_id"] = f"登录账号应为本级持有“{Role.EXPERT.label}”角色的在职用户"
        return None
    other = session.scalar(sa.select(Expert.name).where(Expert.tenant_id == tenant.id, Expert.user_id == user_id,
                                                        Expert.id != (expert.id if expert else 0)))
    if other is not None:
        errors["user_id"] = f"该账号已关联专家“{other}”"
        return None
    return user_id


def create_expert(session: Session, actor: User, tenant: Tenant, data: dict[str, Any]) -> Expert:
    """Register an expert in ``tenant``'s pool (its finance staff or administrators)."""
    policy.require_expert_pool_keeper(actor, tenant)
    unknown = set(data) - EDITABLE
    if unknown:
        raise ValidationFailed(fields={k: "该字段不能在此填写" for k in sorted(unknown)})
    values = _checked(session, tenant, {"organisation": "", "conflict_department_ids": [],
                                        "conflict_project_ids": [], "user_id": None} | data, None)
    values.setdefault("active", True)
    expert = Expert(tenant_id=tenant.id, **values)
    session.add(expert)
    session.flush()
    common.record(session, actor, "expert.create", expert, after=audit.snapshot(expert, EXPERT_FIELDS))
    common.commit(session)
    return expert


def update_expert(session: Session, actor: User, tenant: Tenant, expert: Expert, changes: dict[str, Any]) -> Expert:
    """Correct an expert of the own pool: fields, conflicts, login, or take them out of the pool (``active``)."""
    policy.require_expert_pool_keeper(actor, tenant)
    changes = dict(changes)
    version = changes.pop("version", None)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValidationFailed(fields={k: "该字段不能在此修改" for k in sorted(unknown)})
    expert = common.lock_version(session, expert, version, "专家信息")
    values = _checked(session, tenant, changes, expert)
    before = audit.snapshot(expert, EXPERT_FIELDS)
    for key, value in values.items():
        setattr(expert, key, value)
    common.record(session, actor, "expert.update", expert, before, audit.snapshot(expert, EXPERT_FIELDS))
    common.commit(session)
    return expert


# ---- Drawing reviewers --------------------------------------------------------------------------------------


def _exclusion(expert: Expert, project: Project) -> str:
    """Why ``expert`` may not review ``project`` (回避), or ""."""
    if project.id in (expert.conflict_project_ids or []):
        return "申报回避本项目"
    if project.department_id in (expert.conflict_department_ids or []):
        return f"申报回避项目单位（{project.department.name}）"
    if expert.organisation and expert.organisation == project.department.name:
        return "工作单位即项目单位"
    return ""


def draw_reviewers(session: Session, actor: User, tenant: Tenant, project: Project, data: dict[str, Any]) -> ExpertDraw:
    """Finance draws ``count`` ex-ante reviewers of ``field`` for ``project`` from the usable pools.

    The pool is every active expert of the field (own pool and ancestors'), by id; those with a conflict are
    excluded, each with the reason; ``count`` are drawn from the rest with ``random.Random(seed)`` (a seed given,
    else a new one from ``secrets``, recorded either way). A redraw is a new draw, recorded like the first; the
    latest one is in force.
    """
    policy.require_expert_drawer(actor, tenant)
    errors: dict[str, Any] = {}
    field = inputs.collect(errors, inputs.check_text, data.get("field"), "field", "专业领域",
                           max_length=FIELD_MAX_LENGTH, required=True, name=True, multiline=False)
    count = inputs.collect(errors, inputs.check_integer, data.get("count"), "count", "抽取人数", minimum=1,
                           maximum=MAX_DRAWN, required=True)
    seed = inputs.collect(errors, inputs.check_integer, data.get("seed"), "seed", "随机种子", minimum=0)
    due = data.get("due")
    if due is not None and not isinstance(due, date):
        errors["due"] = "评审截止日期应为日期（年-月-日）"
    if errors:
        raise ValidationFailed(fields=errors)
    if project.stage not in REVIEWABLE:
        raise Conflict("目标已批复的项目不再做事前评估，无需抽取评审专家")
    field = (field or "").strip()
    seed = seed if seed is not None else secrets.randbelow(2**31)
    # Concurrent draws for one project queue here: each is recorded whole, the later one in force.
    common.serialise(session, "expert_draw", project.id)
    pool = [e for e in usable_experts(session, tenant, active_only=True) if field in (e.expertise or [])]
    pool.sort(key=lambda e: e.id)
    excluded = [{"id": e.id, "reason": reason} for e in pool if (reason := _exclusion(e, project))]
    left_out = {x["id"] for x in excluded}
    eligible = [e for e in pool if e.id not in left_out]
    if len(eligible) < (count or 0):
        message = (f"专业领域“{field}”可抽取的专家只有 {len(eligible)} 人（在库 {len(pool)} 人，"
                   f"回避 {len(excluded)} 人），不足 {count} 人")
        raise ValidationFailed(message, fields={"count": message})
    drawn = sorted(random.Random(seed).sample([e.id for e in eligible], count or 0))
    by_id = {e.id: e for e in pool}
    chain = keepers(session, tenant)
    # An expert's login is a user of the bureau that keeps them (``_login_of``): the county's own, or an
    # ancestor's, who reviews the county's project by this draw's commission (``drawn_from_above``).
    logins = {i: login for i in drawn if (login := by_id[i].user_id) and by_id[i].tenant_id in chain}
    online, assigned = set(logins), sorted(set(logins.values()))
    names = {str(e.id): {"name": e.name, "organisation": e.organisation, "tenant": chain[e.tenant_id].name,
                         "online": e.id in online}
             for e in pool if e.id in drawn or e.id in left_out}
    draw = ExpertDraw(tenant_id=tenant.id, project_id=project.id, field=field, count=count, seed=seed,
                      pool_ids=[e.id for e in pool], excluded=excluded, drawn_ids=drawn, names=names,
                      assigned_user_ids=assigned, due=due, drawn_by_id=actor.id)
    session.add(draw)
    session.flush()
    common.record(session, actor, "expert.draw", draw, after={
        "project_id": project.id, "field": field, "count": count, "seed": seed, "pool": draw.pool_ids,
        "excluded": excluded, "drawn": drawn, "assigned_user_ids": assigned, "due": due})
    common.commit(session)
    return draw


def draws_for(session: Session, actor: User, tenant: Tenant, project: Project) -> list[ExpertDraw]:
    """The project's draws, the one in force first, for those who may read the pool."""
    policy.require_expert_pool_reader(actor)
    return list(session.scalars(sa.select(ExpertDraw).where(ExpertDraw.project_id == project.id)
                                .order_by(ExpertDraw.id.desc())))


def draw_in_force(session: Session, project: Project) -> ExpertDraw | None:
    """The project's latest draw, whose logins are its assigned reviewers; None before any draw."""
    return session.scalar(sa.select(ExpertDraw).where(ExpertDraw.project_id == project.id)
                          .order_by(ExpertDraw.id.desc()).limit(1))


def drawn_from_above(session: Session, actor: User, tenant: Tenant, draw: ExpertDraw | None) -> bool:
    """``actor`` is an expert of a bureau above ``tenant`` whom ``tenant``'s draw in force assigned to review.

    The draw is the county's commission: it names the upper level's expert, and only for that project. Finance,
    administrators or other experts of the upper level are not reviewers by it.
    """
    if draw is None or actor.tenant_id == tenant.id or not actor.has_role(Role.EXPERT):
        return False
    if actor.id not in (draw.assigned_user_ids or []):
        return False
    return actor.tenant_id in {t.id for t in tenancy.ancestors(session, tenant)}


def commissioned_review(session: Session, actor: User, tenant: Tenant, view_args: dict[str, Any]) -> bool:
    """The request-level check of the ex-ante review's endpoints (``auth.takes_commissioned_writes``): the
    project of the URL is ``tenant``'s and its draw in force assigned ``actor``, an expert of a bureau above."""
    project = session.scalar(sa.select(Project).where(Project.id == view_args.get("project_id"),
                                                      Project.tenant_id == tenant.id))
    return project is not None and drawn_from_above(session, actor, tenant, draw_in_force(session, project))


@contextlib.contextmanager
def reviewing_for(session: Session, project: Project, *, commissioned: bool) -> Iterator[Session]:
    """The session, writing ``project``'s tenant for the block when an upper level's drawn expert
    (``commissioned``, checked by :func:`drawn_from_above`) records the review; unchanged otherwise.

    A user writes only their own tenant, but the assessment, its audit event and the notices it causes belong to
    the county whose project it is. So, as an assessor writes a subject's own record (assessment), the write
    tenant becomes the project's for the statements of the block and nothing else: the read set stays the user's
    own subtree (which holds the county), whatever was pending is flushed under the user's own scope first, and
    both walls still check every row against the (signed) write tenant. docs/tenancy.md, "Reviews commissioned
    from above".
    """
    if not commissioned:
        yield session
        return
    session.flush()
    previous = get_scope(session)
    set_scope(session, previous.with_(write_id=project.tenant_id))
    try:
        yield session
    finally:
        set_scope(session, previous)


def draws_in_words(session: Session, snapshots: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The audit snapshots of draws (``expert.draw``, by draw id) as the project's history shows them: the experts
    by name and bureau (as the draw recorded them), the excluded with their reasons, the pool by its size; the
    ids stay in the audit log for whoever checks the draw."""
    names: dict[int, dict[str, Any]] = {}
    if snapshots:
        for draw_id, recorded in session.execute(
                sa.select(ExpertDraw.id, ExpertDraw.names).where(ExpertDraw.id.in_(list(snapshots)))):
            names[draw_id] = recorded

    def named(draw_id: int, expert_id: Any) -> str:
        entry = (names.get(draw_id) or {}).get(str(expert_id)) or {}
        return f"{entry['name']}（{entry['tenant']}）" if entry.get("name") else f"专家 {expert_id}"

    worded = {}
    for draw_id, after in snapshots.items():
        worded[draw_id] = {
            "field": after.get("field"), "count": after.get("count"), "seed": after.get("seed"),
            "pool_size": len(after.get("pool") or []),
            "drawn_experts": LIST.join(named(draw_id, i) for i in after.get("drawn") or []),
            "excluded_experts": LIST.join(f"{named(draw_id, x.get('id'))}：{x.get('reason', '')}"
                                          for x in after.get("excluded") or [] if isinstance(x, dict)),
            "due": after.get("due")}
    return worded


# ---- The expert's to-do -------------------------------------------------------------------------------------


def _json_ids_contain(column: Any, user_id: int) -> sa.ColumnElement[bool]:
    """A JSON list of integers (as the service writes it) holds ``user_id``: its text with the brackets and
    spaces turned into commas holds ``,id,``. The same on PostgreSQL and SQLite, no JSON operator needed."""
    text = sa.func.replace(sa.func.replace(sa.func.replace(sa.cast(column, sa.Text), " ", ""), "[", ","), "]", ",")
    return text.like(f"%,{int(user_id)},%")


def expert_todo(session: Session, actor: User, tenant: Tenant, *, limit: int = 500) -> list[TodoItem]:
    """An expert's ex-ante reviews: projects still open to assessment whose draw in force assigned them, and
    that they have not reviewed yet; each with the project's code, year, bureau and the review's deadline.

    An expert kept by a city or province is drawn by the bureaus below it: their reviews are listed at the
    expert's own home too, each naming the bureau whose project it is (the read set is the expert's subtree).
    """
    if not (common.is_own_tenant(actor, tenant) and actor.has_role(Role.EXPERT)):
        return []
    latest = (sa.select(sa.func.max(ExpertDraw.id)).where(ExpertDraw.project_id == Project.id)
              .correlate(Project).scalar_subquery())
    reviewed = sa.exists().where(ExAnteAssessment.project_id == Project.id,
                                 _json_ids_contain(ExAnteAssessment.reviewer_ids, actor.id))
    rows = session.execute(
        sa.select(ExpertDraw.id, ExpertDraw.due, Project.id, Project.name, Project.code, Project.year,
                  Tenant.code, Tenant.name)
        .join(Project, Project.id == ExpertDraw.project_id)
        .join(Tenant, Tenant.id == Project.tenant_id)
        .where(ExpertDraw.id == latest, Project.stage.in_(REVIEWABLE),
               _json_ids_contain(ExpertDraw.assigned_user_ids, actor.id), ~reviewed,
               # Below the expert's bureau the read set (their subtree) and the draw decide.
               sa.or_(Project.tenant_id != tenant.id, policy.visible_projects(actor, tenant)))
        .order_by(ExpertDraw.due.is_(None), ExpertDraw.due, Project.id).limit(limit)).all()
    return [TodoItem("exante_review", "开展事前绩效评估评审", pid, name, "exante", draw_id,
                     str(due) if due else None, project_code=code, year=year,
                     tenant_code="" if tenant_code == tenant.code else tenant_code,
                     tenant_name="" if tenant_code == tenant.code else tenant_name)
            for draw_id, due, pid, name, code, year, tenant_code, tenant_name in rows]


def draw_overview(session: Session, actor: User, tenant: Tenant, project: Project) -> dict[str, Any]:
    """What the project page's ex-ante part shows of the expert draws: the draws (to those who may read the pool),
    whether the user may draw, the fields there are experts of, and the names of the users the draws name."""
    may_draw = policy.may_draw_experts(actor, tenant) and project.stage in REVIEWABLE
    draws = draws_for(session, actor, tenant, project) if policy.may_read_expert_pool(actor) else []
    fields = sorted({f for e in usable_experts(session, tenant, active_only=True) for f in e.expertise or []}) \
        if may_draw else []
    user_ids = {i for d in draws for i in [*d.assigned_user_ids, d.drawn_by_id] if i}
    names = dict(session.execute(sa.select(User.id, User.display_name).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    return {"draws": draws, "may_draw": may_draw, "expert_fields": fields, "user_names": names}


def expert_logins(session: Session, tenant: Tenant) -> list[User]:
    """The tenant's active users with the expert role: the logins an expert of its pool may be linked to."""
    return list(session.scalars(sa.select(User).where(
        User.tenant_id == tenant.id, User.active.is_(True), policy.has_role_sql(User.roles, Role.EXPERT))
        .order_by(User.display_name, User.id)))
