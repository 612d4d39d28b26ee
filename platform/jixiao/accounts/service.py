"""Accounts: authentication, lockout, users, departments and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.security import check_password_hash, generate_password_hash

from jixiao import audit
from jixiao.accounts.models import ApiToken, Department, Role, User
from jixiao.db import get_scope, set_scope, utcnow
from jixiao.errors import Conflict, Forbidden, NotAuthenticated, NotFound, ValidationFailed
from jixiao.tenancy.models import Tenant

TOKEN_PREFIX = "jx_"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD_LENGTH = 8
USER_FIELDS = ["username", "display_name", "roles", "department_id", "agency_id", "active", "tenant_id"]
# A hash to compare against when the username is unknown, so both paths cost one KDF run.
_DUMMY_HASH = generate_password_hash("not-a-password")


def hash_password(password: str) -> str:
    # Werkzeug's default is scrypt, a memory-hard KDF.
    return generate_password_hash(password)


def validate_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(fields={"password": f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符"})


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- Authentication -----------------------------------------------------------------------------------------


def authenticate(session: Session, username: str, password: str, *, max_failures: int, lock_minutes: int) -> User:
    """The user whose credentials these are; failures are counted and lock the account for a while."""
    scope = get_scope(session)
    set_scope(session, scope.with_(login_username=username))
    try:
        user = session.scalar(sa.select(User).where(User.username == username))
    finally:
        set_scope(session, scope)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise NotAuthenticated("用户名或密码错误")
    # From here the login acts on this user's own row and tenant.
    set_scope(session, scope.with_(user_id=user.id, write_id=user.tenant_id, platform=user.tenant_id is None,
                                   read_ids=(user.tenant_id,) if user.tenant_id else ()))
    now = utcnow()
    if user.is_locked(now):
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise NotAuthenticated(f"连续登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试")
    if not user.active:
        raise NotAuthenticated("该账户已停用，请联系本级管理员")
    if not check_password_hash(user.password_hash, password or ""):
        user.failed_logins += 1
        action = "user.login_failed"
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            action = "user.locked"
        audit.record(session, actor=user, action=action, obj=user,
                     after={"failed_logins": user.failed_logins, "locked_until": user.locked_until})
        session.commit()
        if action == "user.locked":
            raise NotAuthenticated(f"连续登录失败次数过多，账户已锁定 {lock_minutes} 分钟")
        raise NotAuthenticated("用户名或密码错误")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(session, actor=user, action="user.login", obj=user)
    session.commit()
    return user


def load_user(session: Session, user_id: int) -> User | None:
    scope = get_scope(session)
    set_scope(session, scope.with_(user_id=user_id))
    user = session.get(User, user_id)
    if user is None or not user.active:
        set_scope(session, scope)
        return None
    return user


def user_from_token(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(token)
    scope = get_scope(session)
    set_scope(session, scope.with_(token_hash=digest))
    api_token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == digest))
    if api_token is None or api_token.revoked_at is not None:
        set_scope(session, scope)
        return None
    set_scope(session, get_scope(session).with_(user_id=api_token.user_id))
    user = session.get(User, api_token.user_id)
    if user is None or not user.active:
        set_scope(session, scope)
        return None
    return user


def touch_token(session: Session, token: str) -> None:
    digest = hash_token(token)
    session.execute(sa.update(ApiToken).where(ApiToken.token_hash == digest).values(last_used_at=utcnow()))


# ---- Tokens -------------------------------------------------------------------------------------------------


def create_token(session: Session, actor: User, name: str = "") -> tuple[ApiToken, str]:
    """A new bearer token for ``actor``; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken(tenant_id=actor.tenant_id, user_id=actor.id, name=name[:100],
                         token_hash=hash_token(token), prefix=token[:10])
    session.add(api_token)
    session.flush()
    audit.record(session, actor=actor, action="token.create", obj=api_token, after={"name": name, "prefix": api_token.prefix})
    session.commit()
    return api_token, token


def list_tokens(session: Session, actor: User) -> list[ApiToken]:
    stmt = sa.select(ApiToken).where(ApiToken.user_id == actor.id).order_by(ApiToken.id.desc())
    return list(session.scalars(stmt))


def revoke_token(session: Session, actor: User, token_id: int) -> ApiToken:
    api_token = session.get(ApiToken, token_id)
    if api_token is None or api_token.user_id != actor.id:
        raise NotFound("未找到该令牌")
    if api_token.revoked_at is None:
        api_token.revoked_at = utcnow()
        audit.record(session, actor=actor, action="token.revoke", obj=api_token)
        session.commit()
    return api_token


# ---- Users --------------------------------------------------------------------------------------------------


def _require_admin(actor: Any, tenant: Tenant) -> None:
    if actor is None or actor.tenant_id != tenant.id or not actor.has_role(Role.ADMIN):
        raise Forbidden("只有本级管理员可以管理用户和部门")


def _agency_id(session: Session, tenant: Tenant, agency_id: int | None) -> int | None:
    if agency_id is None:
        return None
    from jixiao.lifecycle.models import Agency

    agency = session.get(Agency, agency_id)
    if agency is None or agency.tenant_id != tenant.id:
        raise ValidationFailed(fields={"agency_id": "本级没有该第三方机构"})
    return agency.id


def _check_roles(roles: list[str], department_id: int | None) -> None:
    if not roles:
        raise ValidationFailed(fields={"roles": "至少需要一个角色"})
    unknown = [r for r in roles if r not in {x.value for x in Role}]
    if unknown:
        raise ValidationFailed(fields={"roles": f"未知角色：{', '.join(unknown)}；可选 {', '.join(r.value for r in Role)}"})
    if Role.DEPARTMENT in roles and department_id is None:
        raise ValidationFailed(fields={"department": "预算单位人员（department）必须属于一个部门"})


def _department_by_code(session: Session, tenant: Tenant, code: str | None) -> Department | None:
    if not code:
        return None
    department = session.scalar(
        sa.select(Department).where(Department.tenant_id == tenant.id, Department.code == code)
    )
    if department is None:
        raise ValidationFailed(fields={"department": f"本级没有代码为 {code} 的部门"})
    return department


def create_user(
    session: Session,
    actor: Any,
    tenant: Tenant | None,
    *,
    username: str,
    password: str,
    roles: list[str],
    display_name: str = "",
    department_code: str | None = None,
    is_operator: bool = False,
    agency_id: int | None = None,
) -> User:
    """Create a user. ``actor`` None means the command line, run by whoever operates the machine."""
    if actor is not None:
        if tenant is None:
            raise Forbidden("只有命令行可以创建平台运维账户")
        _require_admin(actor, tenant)
    if not USERNAME_RE.match(username or ""):
        raise ValidationFailed(fields={"username": "用户名为 3–64 位字母、数字、下划线、点或短横线"})
    validate_password(password)
    if tenant is None and not is_operator:
        raise ValidationFailed(fields={"tenant": "用户必须属于一个财政部门"})
    department = _department_by_code(session, tenant, department_code) if tenant else None
    if not is_operator:
        _check_roles(roles, department.id if department else None)
    agency = _agency_id(session, tenant, agency_id) if tenant else None
    if Role.EVALUATOR in roles and agency is None and actor is not None:
        raise ValidationFailed(fields={"agency_id": "第三方机构人员（evaluator）须属于一个已登记的机构"})
    if _username_taken(session, username):
        raise ValidationFailed(fields={"username": f"用户名 {username} 已被使用（全平台唯一）"})
    user = User(
        tenant_id=tenant.id if tenant else None,
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        roles=list(dict.fromkeys(roles)),
        is_operator=is_operator,
        department_id=department.id if department else None,
        agency_id=agency,
    )
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:
        session.rollback()
        raise ValidationFailed(fields={"username": f"用户名 {username} 已被使用（全平台唯一）"}) from exc
    audit.record(session, actor=actor, action="user.create", obj=user, tenant_id=user.tenant_id,
                 after=audit.snapshot(user, USER_FIELDS))
    session.commit()
    return user


def _username_taken(session: Session, username: str) -> bool:
    # Usernames are unique across tenants, which this session cannot see: ask with the login key.
    scope = get_scope(session)
    set_scope(session, scope.with_(login_username=username))
    try:
        return session.scalar(sa.select(sa.func.count(User.id)).where(User.username == username)) > 0
    finally:
        set_scope(session, scope)


def list_users(session: Session, tenant: Tenant) -> list[User]:
    stmt = sa.select(User).where(User.tenant_id == tenant.id).order_by(User.username)
    return list(session.scalars(stmt))


def get_user(session: Session, tenant: Tenant, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.tenant_id != tenant.id:
        raise NotFound("未找到该用户")
    return user


def update_user(session: Session, actor: Any, tenant: Tenant, user_id: int, changes: dict[str, Any]) -> User:
    _require_admin(actor, tenant)
    user = get_user(session, tenant, user_id)
    if "version" in changes and changes["version"] != user.version:
        raise Conflict("该用户已被他人修改，请刷新后重试")
    before = audit.snapshot(user, USER_FIELDS)
    roles = changes.get("roles", user.roles)
    department_id = user.department_id
    if "department_code" in changes:
        department = _department_by_code(session, tenant, changes["department_code"])
        department_id = department.id if department else None
    _check_roles(roles, department_id)
    if "agency_id" in changes:
        user.agency_id = _agency_id(session, tenant, changes["agency_id"])
    if user.id == actor.id and (Role.ADMIN not in roles or changes.get("active") is False):
        raise ValidationFailed(fields={"roles": "不能取消自己的管理员角色或停用自己"})
    user.roles = list(dict.fromkeys(roles))
    user.department_id = department_id
    if "display_name" in changes:
        user.display_name = changes["display_name"] or user.username
    if "active" in changes:
        user.active = bool(changes["active"])
    if changes.get("password"):
        validate_password(changes["password"])
        user.password_hash = hash_password(changes["password"])
        user.failed_logins, user.locked_until = 0, None
    if changes.get("unlock"):
        user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor=actor, action="user.update", obj=user, before=before,
                 after=audit.snapshot(user, USER_FIELDS) | ({"password": "(changed)"} if changes.get("password") else {}))
    _commit_versioned(session)
    return user


def _commit_versioned(session: Session) -> None:
    try:
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Conflict() from exc


# ---- Departments --------------------------------------------------------------------------------------------

DEPARTMENT_FIELDS = ["code", "name", "parent_id", "active"]


def list_departments(session: Session, tenant: Tenant) -> list[Department]:
    stmt = sa.select(Department).where(Department.tenant_id == tenant.id).order_by(Department.code)
    return list(session.scalars(stmt))


def get_department(session: Session, tenant: Tenant, department_id: int) -> Department:
    department = session.get(Department, department_id)
    if department is None or department.tenant_id != tenant.id:
        raise NotFound("未找到该部门")
    return department


def create_department(
    session: Session, actor: Any, tenant: Tenant, *, code: str, name: str, parent_code: str | None = None
) -> Department:
    if actor is not None:
        _require_admin(actor, tenant)
    errors = {}
    if not code or not re.match(r"^[A-Za-z0-9_\-]{1,32}$", code):
        errors["code"] = "部门代码为 1–32 位字母、数字、下划线或短横线"
    if not (name or "").strip():
        errors["name"] = "请填写部门名称"
    if errors:
        raise ValidationFailed(fields=errors)
    if session.scalar(sa.select(Department.id).where(Department.tenant_id == tenant.id, Department.code == code)):
        raise ValidationFailed(fields={"code": f"部门代码 {code} 已存在"})
    parent = _department_by_code(session, tenant, parent_code)
    department = Department(tenant_id=tenant.id, code=code, name=name.strip(), parent_id=parent.id if parent else None)
    session.add(department)
    session.flush()
    audit.record(session, actor=actor, action="department.create", obj=department,
                 after=audit.snapshot(department, DEPARTMENT_FIELDS))
    session.commit()
    return department


def update_department(
    session: Session, actor: Any, tenant: Tenant, department_id: int, changes: dict[str, Any]
) -> Department:
    _require_admin(actor, tenant)
    department = get_department(session, tenant, department_id)
    if "version" in changes and changes["version"] != department.version:
        raise Conflict("该部门已被他人修改，请刷新后重试")
    before = audit.snapshot(department, DEPARTMENT_FIELDS)
    if "name" in changes:
        if not (changes["name"] or "").strip():
            raise ValidationFailed(fields={"name": "请填写部门名称"})
        department.name = changes["name"].strip()
    if "parent_code" in changes:
        parent = _department_by_code(session, tenant, changes["parent_code"])
        if parent is not None and (parent.id == department.id or _is_under(parent, department)):
            raise ValidationFailed(fields={"parent_code": "上级部门不能是它自己或它的下级"})
        department.parent_id = parent.id if parent else None
    if "active" in changes:
        department.active = bool(changes["active"])
    audit.record(session, actor=actor, action="department.update", obj=department, before=before,
                 after=audit.snapshot(department, DEPARTMENT_FIELDS))
    _commit_versioned(session)
    return department


def _is_under(candidate: Department, ancestor: Department) -> bool:
    node = candidate.parent
    while node is not None:
        if node.id == ancestor.id:
            return True
        node = node.parent
    return False
