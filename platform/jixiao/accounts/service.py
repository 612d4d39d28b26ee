"""Accounts: authentication (throttling, second factor), sessions, passwords, users, departments and API tokens."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from jixiao import audit, inputs, policy
from jixiao.accounts import passwords, second_factor, throttle
from jixiao.accounts.models import ApiToken, Department, Role, User
from jixiao.db import get_scope, set_scope, utcnow
from jixiao.errors import Conflict, Forbidden, NotAuthenticated, NotFound, ValidationFailed, lost_race
from jixiao.system import duties
from jixiao.tenancy import service as tenancy
from jixiao.tenancy.models import Tenant

TOKEN_PREFIX = "jx_"
#: A token's name (what it is for): the ``api_tokens.name`` column's length.
TOKEN_NAME_MAX_LENGTH = 100
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
#: An address the e-mail channel can send to: one @, no spaces, a dot in the domain (not a full RFC 5322 check).
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USER_FIELDS = ["username", "display_name", "email", "roles", "department_id", "agency_id", "active", "tenant_id"]
#: The one answer to every refused login — unknown user, wrong password, locked, deactivated — so that none
#: tells an attacker which it was.
LOGIN_REFUSED = "用户名或密码错误"
# A lock "until an administrator lifts it" (ACCOUNT_LOCK_MINUTES = 0).
_UNTIL_LIFTED = timedelta(days=365 * 100)


class SecondFactorRequired(NotAuthenticated):
    code = "second_factor_required"
    default_message = "请输入动态口令（身份验证器中的 6 位数字，或一个恢复码）"


class SecondFactorInvalid(NotAuthenticated):
    code = "second_factor_invalid"
    default_message = "动态口令不正确或已使用过：请输入身份验证器当前显示的 6 位数字，或一个未用过的恢复码"


class SecondFactorEnrollmentRequired(Forbidden):
    code = "second_factor_enrollment_required"
    default_message = "您的账户须启用动态口令（第二重身份鉴别）后才能使用平台，请先完成登记"


def hash_password(password: str) -> str:
    return passwords.hash_password(password)


def validate_password(password: str, *, username: str = "") -> None:
    """The password policy (jixiao.accounts.passwords); 400 naming ``password`` with the reasons."""
    passwords.validate(password, username=username)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- Authentication -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LoginResult:
    user: User
    #: A second factor was checked in this login.
    second_factor_verified: bool
    #: The user must log in with a second factor and has none yet: the session may only enroll one.
    enrollment_required: bool
    password_change_due: bool


def _find_login_user(session: Session, username: str) -> User | None:
    scope = get_scope(session)
    set_scope(session, scope.with_(login_username=username))
    try:
        return session.scalar(sa.select(User).where(User.username == username))
    finally:
        set_scope(session, scope)


def _act_as(session: Session, user: User) -> None:
    # From here the login acts on this user's own row and tenant.
    set_scope(session, get_scope(session).with_(user_id=user.id, write_id=user.tenant_id,
                                                platform=user.tenant_id is None,
                                                read_ids=(user.tenant_id,) if user.tenant_id else ()))


def log_in(session: Session, username: str, password: str, otp: str | None = None, *, address: str | None,
           now: datetime | None = None) -> LoginResult:
    """Check a login. Every refusal is the same 401 after exactly one password-hash check; a pair (username,
    address) that must wait is 429 before anything is looked up (jixiao.accounts.throttle)."""
    now = now or utcnow()
    policy = throttle.current_policy()
    throttle.check(session, username, address, policy=policy, now=now)
    user = _find_login_user(session, username)
    password_ok = passwords.verify(user.password_hash if user is not None else None, password)
    if user is not None:
        _act_as(session, user)
    if user is None or not password_ok or not user.active or user.is_locked(now):
        _refuse(session, user, username, address, password_ok=password_ok, policy=policy, now=now)
    verified = False
    if second_factor.required_for(user) and user.second_factor_enrolled:
        if not (otp or "").strip():
            # Said only after the password was right: the client asks for the code and sends both again.
            raise SecondFactorRequired()
        if not _accept_second_factor(session, user, otp or "", now):  # not None: no code raised above
            throttle.record_failure(session, username, address, policy=policy, now=now)
            audit.record(session, actor=user, action="user.second_factor_failed", obj=user, after={"address": address})
            session.flush()
            # Someone who has the password and guesses codes from many addresses locks the account too.
            if throttle.lock_warranted(session, username, policy=policy, now=now):
                _lock(session, user, policy, now)
            session.commit()
            raise SecondFactorInvalid()
        verified = True
    throttle.clear_pair(session, username, address)
    user.failed_logins = 0
    user.last_login_at = now
    enrollment_required = second_factor.required_for(user) and not user.second_factor_enrolled
    audit.record(session, actor=user, action="user.login", obj=user,
                 after={"address": address, "second_factor": verified, "enrollment_required": enrollment_required})
    session.commit()
    return LoginResult(user=user, second_factor_verified=verified, enrollment_required=enrollment_required,
                       password_change_due=passwords.change_due(user, now))


def _refuse(session: Session, user: User | None, username: str, address: str | None, *, password_ok: bool,
            policy: throttle.ThrottlePolicy, now: datetime) -> NoReturn:
    throttle.record_failure(session, username, address, policy=policy, now=now)
    if user is not None:
        if password_ok and user.is_locked(now):
            action = "user.login_refused_locked"
        elif password_ok and not user.active:
            action = "user.login_refused_inactive"
        else:
            action = "user.login_failed"
            user.failed_logins += 1
        audit.record(session, actor=user, action=action, obj=user,
                     after={"address": address, "failed_logins": user.failed_logins})
        session.flush()
        if not user.is_locked(now) and throttle.lock_warranted(session, username, policy=policy, now=now):
            _lock(session, user, policy, now)
    session.commit()
    raise NotAuthenticated(LOGIN_REFUSED)


def _lock(session: Session, user: User, policy: throttle.ThrottlePolicy, now: datetime) -> None:
    """Lock an account under a distributed attack; tell the bureau's administrators, who can lift it."""
    from jixiao.jobs.notifications import notify

    user.locked_until = now + (timedelta(minutes=policy.lock_minutes) if policy.lock_minutes > 0 else _UNTIL_LIFTED)
    audit.record(session, actor=None, action="user.locked", obj=user,
                 after={"locked_until": user.locked_until, "reason": "failures from several addresses",
                        "failures_within_minutes": policy.window_minutes})
    if user.tenant_id is None:
        return
    admins = [u for u in session.scalars(sa.select(User).where(User.tenant_id == user.tenant_id, User.active))
              if u.has_role(Role.ADMIN) and u.id != user.id]
    until = "管理员解除" if policy.lock_minutes <= 0 else f"{policy.lock_minutes} 分钟后自动解除，或由管理员提前解除"
    for admin in admins:
        notify(session, tenant_id=user.tenant_id, user_id=admin.id, kind="account_locked",
               title=f"账户 {user.username} 因多地址多次登录失败已被锁定",
               body=(f"一小时内从多个地址对账户 {user.username} 的登录失败次数超过阈值，疑似口令猜测攻击，账户已锁定"
                     f"（{until}）。请核实后在用户页面“解除锁定”。"),
               url=f"/t/{user.tenant.code}/users/{user.id}" if user.tenant else "",
               dedupe_key=f"account-locked:{user.id}:{int(now.timestamp())}")


def _accept_second_factor(session: Session, user: User, code: str, now: datetime) -> bool:
    """Check a TOTP code (a step once used is refused) or a recovery code (usable once)."""
    if second_factor.looks_like_totp(code):
        step = second_factor.matching_step(user.totp_secret or "", code, now, user.totp_last_step)
        if step is None:
            return False
        user.totp_last_step = step
        return True
    used = second_factor.matching_recovery_hash(user.recovery_code_hashes, code)
    if used is None:
        return False
    user.recovery_code_hashes = [h for h in user.recovery_code_hashes if h != used]
    audit.record(session, actor=user, action="user.recovery_code_used", obj=user,
                 after={"recovery_codes_left": len(user.recovery_code_hashes)})
    return True


def log_out(session: Session, user: User) -> None:
    """End every session of ``user`` (the session id carries the generation this raises)."""
    user.session_generation += 1
    audit.record(session, actor=user, action="user.logout", obj=user)
    _commit_versioned(session)


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who a request is, as authentication read it in one statement: the user (with its bureau), the token when a
    bearer token authenticated it, and the ids of the bureau's subtree (the tenants the request may read)."""

    user: User
    readable_ids: tuple[int, ...]
    api_token: ApiToken | None = None


def session_principal(session: Session, user_id: int, session_generation: int | None = None) -> Principal | None:
    """The active user a browser session names, with the tenants it may read; None when the session's generation is
    no longer the user's. The session's scope is left naming the user (the caller sets the request's scope)."""
    scope = get_scope(session)
    set_scope(session, scope.with_(user_id=user_id))
    # The user's bureau is joined here (not by the relationship's own eager join) so that the subtree reads from
    # it: one reference to tenants fewer, each a computation of the context's tenant set under row-level security.
    row = session.execute(sa.select(User, tenancy.subtree_ids_column(session))
                          .outerjoin(Tenant, Tenant.id == User.tenant_id).options(contains_eager(User.tenant))
                          .where(User.id == user_id)).one_or_none()
    if row is None or not row[0].active or (session_generation is not None
                                            and row[0].session_generation != session_generation):
        set_scope(session, scope)
        return None
    user, readable = row
    return Principal(user=user, readable_ids=tenancy.ids_of(readable))


def enrollment_pending(user: User) -> bool:
    """The user must use a second factor and has not enrolled one: their session may only enroll it."""
    return second_factor.required_for(user) and not user.second_factor_enrolled


def change_password(session: Session, user: User, current_password: str, new_password: str, *,
                    address: str | None, now: datetime | None = None) -> list[ApiToken]:
    """The user's own change, with the current password. Ends every session of the user (the adapter renews the
    one that asked) and returns the user's active API tokens for review: they were not changed."""
    now = now or utcnow()
    policy = throttle.current_policy()
    throttle.check(session, user.username, address, policy=policy, now=now)
    if not passwords.verify(user.password_hash, current_password):
        throttle.record_failure(session, user.username, address, policy=policy, now=now)
        audit.record(session, actor=user, action="user.password_change_failed", obj=user, after={"address": address})
        session.commit()
        raise ValidationFailed(fields={"current_password": "当前密码不正确"})
    if new_password == current_password:
        raise ValidationFailed(fields={"password": "新密码不能与当前密码相同"})
    validate_password(new_password, username=user.username)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    user.session_generation += 1
    audit.record(session, actor=user, action="user.password_change", obj=user,
                 after={"password": "(changed)", "sessions": "ended", "address": address})
    _commit_versioned(session)
    return active_tokens(session, user)


def active_tokens(session: Session, user: User) -> list[ApiToken]:
    return [t for t in list_tokens(session, user) if t.revoked_at is None]


def begin_enrollment(session: Session, user: User) -> tuple[str, str]:
    """A new TOTP secret for ``user`` (not in force until confirmed): the secret and its otpauth:// URI."""
    if user.second_factor_enrolled:
        raise Conflict("您已启用动态口令；如需更换设备，请联系本级管理员重置")
    user.totp_secret = second_factor.new_secret()
    user.totp_last_step = None
    audit.record(session, actor=user, action="user.second_factor_enrollment_started", obj=user)
    _commit_versioned(session)
    return user.totp_secret, second_factor.provisioning_uri(user.totp_secret, user.username)


def pending_enrollment(session: Session, user: User) -> tuple[str, str]:
    """The secret being enrolled (a new one if there is none), for a page shown again."""
    if user.totp_secret and not user.second_factor_enrolled:
        return user.totp_secret, second_factor.provisioning_uri(user.totp_secret, user.username)
    return begin_enrollment(session, user)


def confirm_enrollment(session: Session, user: User, code: str, now: datetime | None = None) -> list[str]:
    """Put the second factor in force once a code from it is right; the recovery codes are returned once."""
    now = now or utcnow()
    if user.second_factor_enrolled:
        raise Conflict("您已启用动态口令")
    if not user.totp_secret:
        raise ValidationFailed(fields={"otp": "请先开始登记动态口令"})
    step = second_factor.matching_step(user.totp_secret, code, now, None)
    if step is None:
        raise ValidationFailed(fields={"otp": "动态口令不正确：请输入身份验证器当前显示的 6 位数字（并检查手机时间）"})
    codes = second_factor.new_recovery_codes()
    user.totp_confirmed_at = now
    user.totp_last_step = step
    user.recovery_code_hashes = [second_factor.hash_recovery_code(c) for c in codes]
    audit.record(session, actor=user, action="user.second_factor_enrolled", obj=user,
                 after={"recovery_codes": len(codes)})
    _commit_versioned(session)
    return codes


def revoke_sessions(session: Session, actor: Any, tenant: Tenant, user_id: int) -> User:
    """An administrator's "sign out everywhere": every session of the user ends."""
    _require_admin(actor, tenant)
    user = get_user(session, tenant, user_id)
    user.session_generation += 1
    audit.record(session, actor=actor, action="user.sessions_revoked", obj=user)
    _commit_versioned(session)
    return user


def reset_second_factor(session: Session, actor: Any, tenant: Tenant, user_id: int) -> User:
    """An administrator clears a user's second factor (a lost phone): they enroll again at the next login."""
    _require_admin(actor, tenant)
    user = get_user(session, tenant, user_id)
    clear_second_factor(user)
    user.session_generation += 1
    audit.record(session, actor=actor, action="user.second_factor_reset", obj=user)
    _commit_versioned(session)
    return user


def clear_second_factor(user: User) -> None:
    """The user enrolls again at their next login; their recovery codes go too (the caller commits)."""
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    user.recovery_code_hashes = []


def end_access(session: Session, user: User, *, revoke_tokens: bool, now: datetime | None = None) -> None:
    """End every session of ``user`` and, with ``revoke_tokens``, every API token."""
    now = now or utcnow()
    user.session_generation += 1
    if revoke_tokens:
        revoked = 0
        for token in session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id,
                                                                ApiToken.revoked_at.is_(None))):
            token.revoked_at = now
            revoked += 1
        if revoked:
            audit.record(session, actor=None, action="token.revoke_all", obj=user, after={"tokens": revoked})


def token_login(session: Session, token: str) -> Principal | None:
    """The active user a bearer token authenticates, with the token's row and the tenants the user may read; None
    for an unknown or revoked token or a deactivated user.

    One statement, under a context that names only the token's hash: the token, its user (the policies admit the
    user of the live token whose hash the context carries), the user's bureau and its subtree. The session's scope
    is left naming the hash (the caller sets the request's scope)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(token)
    scope = get_scope(session)
    set_scope(session, scope.with_(token_hash=digest))
    row = session.execute(
        sa.select(ApiToken, User, tenancy.subtree_ids_column(session))
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(Tenant, Tenant.id == User.tenant_id).options(contains_eager(User.tenant))
        .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))).one_or_none()
    if row is None or not row[1].active:
        set_scope(session, scope)
        return None
    api_token, user, readable = row
    return Principal(user=user, readable_ids=tenancy.ids_of(readable), api_token=api_token)


#: How often a token's "last used" time is written. It is a convenience for the token list (is this token still
#: in use?), not the record of what was done: every request that changes something is in the audit log
#: (等保 8.1.4.3 安全审计), which this does not touch. Writing it on every request put an UPDATE, and a row lock
#: that concurrent requests with one token queue on, into every read; once a minute per token is enough to
#: answer the question.
TOKEN_USE_RECORDED_EVERY = timedelta(minutes=1)


def touch_token(session: Session, api_token: ApiToken, now: datetime | None = None) -> bool:
    """Record that ``api_token`` (as loaded by :func:`token_login`) was used now, unless that was recorded within
    the last minute; True when written (the caller commits).

    The loaded row says when it was last recorded, so a request within the minute costs no statement at all.
    Two requests that both find it stale both write, the second one nothing (its condition no longer holds)."""
    now = now or utcnow()
    last = api_token.last_used_at
    if last is not None and timedelta(0) <= now - last < TOKEN_USE_RECORDED_EVERY:
        return False
    stale = sa.or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_USE_RECORDED_EVERY,
                   ApiToken.last_used_at > now)
    session.execute(sa.update(ApiToken).where(ApiToken.token_hash == api_token.token_hash, stale)
                    .values(last_used_at=now).execution_options(synchronize_session=False))
    # The loaded row learns the value without being marked changed (no second UPDATE at the next flush).
    set_committed_value(api_token, "last_used_at", now)
    return True


# ---- Tokens -------------------------------------------------------------------------------------------------


def create_token(session: Session, actor: User, name: str) -> tuple[ApiToken, str]:
    """A new bearer token for ``actor``; the plain token is returned once and never stored.

    ``name`` says what the token is for: a reviewer of the token list (or of a leak) must be able to tell which
    system holds it, so a blank name is refused, naming ``name``."""
    policy.require_token_holder(actor)
    name = inputs.check_text(name, "name", "令牌用途", max_length=TOKEN_NAME_MAX_LENGTH, required=True, name=True)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken(tenant_id=actor.tenant_id, user_id=actor.id, name=name,
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
    duty: str | list[str] | None = None,
    email: str | None = None,
) -> User:
    """Create a user. ``actor`` None means the command line, run by whoever operates the machine.

    An operator holds exactly one ``duty`` (三员分立, :mod:`jixiao.system.duties`); only the security
    administrator (or the command line) creates operators and tenant administrators for another tenant.
    """
    if actor is not None:
        if tenant is None or duties.may_administer_security(actor):
            duties.require_security_administrator(actor)
            if tenant is not None and list(roles) != [Role.ADMIN]:
                raise ValidationFailed(fields={"roles": "安全管理员只创建财政部门管理员账户（admin）"})
        else:
            _require_admin(actor, tenant)
    if is_operator:
        if tenant is not None:
            raise ValidationFailed(fields={"tenant": "平台运维账户不属于任何财政部门"})
        roles = duties.operator_roles(duty, roles)
    if not USERNAME_RE.match(username or ""):
        raise ValidationFailed(fields={"username": "用户名为 3–64 位字母、数字、下划线、点或短横线"})
    validate_password(password, username=username)
    inputs.check_text(display_name, "display_name", "姓名", max_length=100, multiline=False)
    address = clean_email(email)
    if tenant is None and not is_operator:
        raise ValidationFailed(fields={"tenant": "用户必须属于一个财政部门"})
    department = _department_by_code(session, tenant, department_code) if tenant else None
    if not is_operator:
        _check_roles(roles, department.id if department else None)
    agency = _agency_id(session, tenant, agency_id) if tenant else None
    if Role.EVALUATOR in roles and agency is None and actor is not None:
        raise ValidationFailed(fields={"agency_id": "第三方机构人员（evaluator）须属于一个已登记的机构"})
    if _username_taken(session, username):  # a repeated create, or a name someone else has: the user exists
        raise _username_conflict(username)
    user = User(
        tenant_id=tenant.id if tenant else None,
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
        roles=list(dict.fromkeys(roles)),
        is_operator=is_operator,
        department_id=department.id if department else None,
        agency_id=agency,
        email=address,
    )
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:
        session.rollback()
        raise _username_conflict(username) from exc
    audit.record(session, actor=actor, action="user.create", obj=user, tenant_id=user.tenant_id,
                 after=audit.snapshot(user, USER_FIELDS))
    session.commit()
    return user


def clean_email(email: str | None) -> str | None:
    """The address as kept (trimmed; blank is none), or the field's error in Chinese."""
    address = (email or "").strip()
    if not address:
        return None
    if len(address) > 254 or not EMAIL_RE.match(address):
        raise ValidationFailed(fields={"email": "电子邮箱格式不正确，应如 name@example.cn"})
    return address


def _username_conflict(username: str) -> Conflict:
    """A username is unique across the platform: taking one that exists is a conflict (409), not bad input."""
    message = f"用户名 {username} 已被使用（全平台唯一）"
    return Conflict(message, fields={"username": message})


def _username_taken(session: Session, username: str) -> bool:
    # Usernames are unique across tenants, which this session cannot see: ask with the login key.
    scope = get_scope(session)
    set_scope(session, scope.with_(login_username=username))
    try:
        return session.execute(sa.select(sa.func.count(User.id)).where(User.username == username)).scalar_one() > 0
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
    if changes.get("version") is None:  # a write without the version read could replace another's change
        raise ValidationFailed(fields={"version": f"请提交所读取的用户版本号（当前版本 {user.version}）"})
    if changes["version"] != user.version:
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
        inputs.check_text(changes["display_name"], "display_name", "姓名", max_length=100, multiline=False)
        user.display_name = changes["display_name"] or user.username
    if "email" in changes:
        user.email = clean_email(changes["email"])
    if "active" in changes:
        if user.active and not changes["active"]:
            end_access(session, user, revoke_tokens=True)
        user.active = bool(changes["active"])
    if changes.get("password"):
        validate_password(changes["password"], username=user.username)
        user.password_hash = hash_password(changes["password"])
        user.password_changed_at = utcnow()
        end_access(session, user, revoke_tokens=False)
        lift_lock(session, actor, user)
    if changes.get("unlock"):
        lift_lock(session, actor, user)
    audit.record(session, actor=actor, action="user.update", obj=user, before=before,
                 after=audit.snapshot(user, USER_FIELDS) | ({"password": "(changed)"} if changes.get("password") else {}))
    _commit_versioned(session)
    return user


def lift_lock(session: Session, actor: Any, user: User) -> None:
    """Unlock ``user`` (the caller commits). The failures that caused the lock are forgotten too, or the next
    wrong try would lock the account again at once."""
    if user.is_locked():
        audit.record(session, actor=actor, action="user.unlocked", obj=user)
    user.failed_logins, user.locked_until = 0, None
    throttle.forget_username(session, user.username)


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


# ---- Reading staff and departments, as the policy allows (pages and API alike) ------------------------------


def users_for(session: Session, actor: Any, tenant: Tenant) -> list[User]:
    """The tenant's users, for those who may read the staff list (administrators); others 403."""
    policy.require_staff_reader(actor)
    return list_users(session, tenant)


def user_for(session: Session, actor: Any, tenant: Tenant, user_id: int) -> User:
    """One user of the tenant, for administrators; others 403 whether or not the id exists."""
    policy.require_staff_reader(actor)
    return get_user(session, tenant, user_id)


def departments_for(session: Session, actor: Any, tenant: Tenant) -> list[Department]:
    """The departments ``actor`` may read (all for administrators and finance, their own for department staff)."""
    policy.require_department_list(actor)
    stmt = sa.select(Department).where(policy.visible_departments(actor, tenant)).order_by(Department.code)
    return list(session.scalars(stmt))


def department_for(session: Session, actor: Any, tenant: Tenant, department_id: int) -> Department:
    """One department ``actor`` may read; another department is 404 for department staff, as if absent."""
    policy.require_department_list(actor)
    department = session.scalar(sa.select(Department).where(Department.id == department_id,
                                                            policy.visible_departments(actor, tenant)))
    if department is None:
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
    else:
        inputs.collect(errors, inputs.check_text, name, "name", "部门名称", max_length=inputs.NAME_MAX_LENGTH, name=True)
    if errors:
        raise ValidationFailed(fields=errors)
    taken = Conflict(f"部门代码 {code} 已存在", fields={"code": f"部门代码 {code} 已存在"})
    if session.scalar(sa.select(Department.id).where(Department.tenant_id == tenant.id, Department.code == code)):
        raise taken
    parent = _department_by_code(session, tenant, parent_code)
    department = Department(tenant_id=tenant.id, code=code, name=name.strip(), parent_id=parent.id if parent else None)
    session.add(department)
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:  # created meanwhile by a concurrent request
        session.rollback()
        if not lost_race(exc):
            raise
        raise taken from exc
    audit.record(session, actor=actor, action="department.create", obj=department,
                 after=audit.snapshot(department, DEPARTMENT_FIELDS))
    session.commit()
    return department


def update_department(
    session: Session, actor: Any, tenant: Tenant, department_id: int, changes: dict[str, Any]
) -> Department:
    _require_admin(actor, tenant)
    department = get_department(session, tenant, department_id)
    if changes.get("version") is None:  # a write without the version read could replace another's change
        raise ValidationFailed(fields={"version": f"请提交所读取的部门版本号（当前版本 {department.version}）"})
    if changes["version"] != department.version:
        raise Conflict("该部门已被他人修改，请刷新后重试")
    before = audit.snapshot(department, DEPARTMENT_FIELDS)
    if "name" in changes:
        if not (changes["name"] or "").strip():
            raise ValidationFailed(fields={"name": "请填写部门名称"})
        inputs.check_text(changes["name"], "name", "部门名称", max_length=inputs.NAME_MAX_LENGTH, name=True)
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
