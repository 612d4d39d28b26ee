"""The security administrator (安全管理员): operator and tenant-administrator accounts, and the security
configuration (read-only).

Accounts of every tenant are reached by listing the tenants in the session's scope for the one query or change
at hand (the walls stay on), then restoring the actor's own scope; a change writes only the target's tenant.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any, TypeGuard

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from jixiao import audit
from jixiao.accounts import service as accounts
from jixiao.accounts.models import Role, User
from jixiao.db import get_scope, set_scope, utcnow
from jixiao.errors import Conflict, NotFound, ValidationFailed
from jixiao.system import duties
from jixiao.tenancy.models import Tenant

ACCOUNT_FIELDS = ["username", "display_name", "roles", "active", "tenant_id", "is_operator"]
ACTIONS = ("deactivate", "activate", "unlock", "sign_out", "reset_second_factor")

#: The security configuration shown to the security administrator: (config key, what it means).
SECURITY_SETTINGS = [
    ("LOGIN_FAILURE_WINDOW_MINUTES", "登录失败计数窗口（分钟）"),
    ("LOGIN_DELAY_AFTER_FAILURES", "开始延迟的失败次数"),
    ("LOGIN_LOCK_FAILURES", "账户锁定的失败次数"),
    ("ACCOUNT_LOCK_MINUTES", "账户锁定时长（分钟）"),
    ("SESSION_IDLE_MINUTES", "会话空闲超时（分钟）"),
    ("SESSION_MAX_HOURS", "会话最长时长（小时）"),
    ("PASSWORD_MIN_LENGTH", "密码最短长度"),
    ("PASSWORD_MIN_CLASSES", "密码至少包含的字符类别"),
    ("PASSWORD_MAX_AGE_DAYS", "密码最长使用期限（天）"),
    ("MFA_ROLES", "须使用第二因素登录的角色"),
    ("AUDIT_RETENTION_DAYS", "审计日志保存期限（天）"),
    ("SESSION_COOKIE_SECURE", "会话 Cookie 仅经 HTTPS 发送"),
    ("MAX_CONTENT_LENGTH", "上传大小上限（字节）"),
]


@dataclasses.dataclass(frozen=True)
class Account:
    """An account as the security administrator sees it (never its password or second-factor secret)."""

    id: int
    username: str
    display_name: str
    tenant_code: str | None
    tenant_name: str | None
    duty: str | None
    duty_label: str
    roles: list[str]
    active: bool
    locked: bool
    last_login_at: Any
    second_factor: bool
    version: int


def _account(user: User, tenants: dict[int, Tenant]) -> Account:
    tenant = tenants.get(user.tenant_id) if user.tenant_id is not None else None
    duty = duties.duty_of(user)
    return Account(
        id=user.id, username=user.username, display_name=user.display_name,
        tenant_code=tenant.code if tenant else None, tenant_name=tenant.name if tenant else None,
        duty=duty.value if duty else None, duty_label=duty.label if duty else ("财政部门管理员" if tenant else "（无职责）"),
        roles=list(user.roles or []), active=user.active, locked=user.is_locked(),
        last_login_at=user.last_login_at, second_factor=user.totp_confirmed_at is not None,
        version=user.version,
    )


@contextlib.contextmanager
def _every_tenant(session: Session, actor: Any) -> Iterator[dict[int, Tenant]]:
    duties.require_security_administrator(actor)
    with duties.every_tenant(session) as tenants:
        yield tenants


def _managed(user: User | None) -> TypeGuard[User]:
    return user is not None and (user.is_operator or user.has_role(Role.ADMIN))


def list_accounts(session: Session, actor: Any) -> list[Account]:
    """Every operator and every tenant administrator, operators first."""
    with _every_tenant(session, actor) as tenants:
        admins = sa.cast(User.roles, sa.String).like(f'%"{Role.ADMIN.value}"%')
        users = session.scalars(sa.select(User).where(sa.or_(User.is_operator.is_(True), admins))
                                .order_by(User.tenant_id.is_not(None), User.tenant_id, User.username)).all()
        return [_account(u, tenants) for u in users if _managed(u)]


def create_account(session: Session, actor: Any, *, username: str, password: str, display_name: str = "",
                   duty: str | list[str] | None = None, tenant_code: str | None = None,
                   roles: list[str] | None = None) -> Account:
    """An operator holding ``duty``, or (with ``tenant_code``) an administrator of that tenant."""
    duties.require_security_administrator(actor)
    with _every_tenant(session, actor) as tenants:
        if not tenant_code:
            user = accounts.create_user(session, actor, None, username=username, password=password,
                                        roles=list(roles or []), display_name=display_name, is_operator=True,
                                        duty=duty)
            return _account(user, tenants)
        if duty:
            raise ValidationFailed(fields={"duty": "财政部门管理员不持有平台运维职责；运维账户不属于任何财政部门"})
        tenant = next((t for t in tenants.values() if t.code == tenant_code), None)
        if tenant is None:
            raise ValidationFailed(fields={"tenant": f"没有代码为 {tenant_code} 的财政部门"})
        set_scope(session, get_scope(session).with_(read_ids=(tenant.id,), write_id=tenant.id, platform=False))
        user = accounts.create_user(session, actor, tenant, username=username, password=password,
                                    roles=list(roles or [Role.ADMIN.value]), display_name=display_name)
        return _account(user, tenants)


def act_on_account(session: Session, actor: Any, user_id: int, action: str, *, version: int | None = None) -> Account:
    """Deactivate, activate, unlock, sign out everywhere, or reset the second factor of one account."""
    duties.require_security_administrator(actor)
    if action not in ACTIONS:
        raise ValidationFailed(fields={"action": f"未知操作：{action}；可选 {', '.join(ACTIONS)}"})
    with _every_tenant(session, actor) as tenants:
        user = session.get(User, user_id)
        if not _managed(user):
            raise NotFound("未找到该账户（安全管理员管理平台运维账户和财政部门管理员）")
        if version is not None and version != user.version:
            raise Conflict("该账户已被他人修改，请刷新后重试")
        if user.id == actor.id and action == "deactivate":
            raise ValidationFailed(fields={"action": "不能停用自己的账户"})
        # The change and its audit event belong to the target's tenant (or the platform): write only there.
        set_scope(session, get_scope(session).with_(write_id=user.tenant_id))
        before = audit.snapshot(user, ACCOUNT_FIELDS) | {"locked_until": user.locked_until}
        now = utcnow()
        if action == "deactivate":
            user.active = False
            accounts.end_access(session, user, revoke_tokens=True, now=now)
        elif action == "activate":
            user.active = True
        elif action == "unlock":
            accounts.lift_lock(session, actor, user)
        elif action == "sign_out":
            accounts.end_access(session, user, revoke_tokens=True, now=now)
        elif action == "reset_second_factor":
            accounts.clear_second_factor(user)
            accounts.end_access(session, user, revoke_tokens=True, now=now)
        audit.record(session, actor=actor, action=f"account.{action}", obj=user, tenant_id=user.tenant_id,
                     before=before, after=audit.snapshot(user, ACCOUNT_FIELDS) | {"locked_until": user.locked_until})
        try:
            session.commit()
        except StaleDataError as exc:
            session.rollback()
            raise Conflict() from exc
        return _account(user, tenants)


def security_configuration(actor: Any) -> list[dict[str, Any]]:
    """The security settings in force (read-only: they come from the environment, see README)."""
    duties.require_security_administrator(actor)
    config = current_app.config
    return [{"name": key, "label": label, "value": _shown(config[key])} for key, label in SECURITY_SETTINGS
            if key in config]


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)
