"""Users, their roles, departments (预算部门/单位) and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jixiao.db import Base, TenantOwned, TenantScope, TimestampMixin, principal_criteria, utcnow
from jixiao.tenancy.models import Tenant


class Role(enum.StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"
    DEPARTMENT = "department"
    EVALUATOR = "evaluator"
    EXPERT = "expert"
    AUDITOR = "auditor"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "管理员",
    Role.FINANCE: "财政绩效人员",
    Role.DEPARTMENT: "预算单位人员",
    Role.EVALUATOR: "第三方机构",
    Role.EXPERT: "专家",
    Role.AUDITOR: "审计人员",
    Role.VIEWER: "只读用户",
}


class Department(TenantOwned, TimestampMixin, Base):
    """A budget department or unit; units nest under their department (部门 → 单位)."""

    __tablename__ = "departments"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code", name="uq_departments_tenant_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    parent: Mapped[Department | None] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": version}


@principal_criteria
class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Operators belong to no tenant: they provision tenants and see no tenant's records.
    tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100), default="")
    # Optional: where the e-mail channel sends the user's notifications (none: told in the application only).
    email: Mapped[str | None] = mapped_column(sa.String(254))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    roles: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    is_operator: Mapped[bool] = mapped_column(default=False)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    # An evaluator belongs to one third-party agency and sees only the evaluations assigned to it.
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    # Set only by a distributed attack on the account (jixiao.accounts.throttle); an administrator lifts it.
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Part of every session's id: raising it ends every session of the user (logout, password change, ...).
    session_generation: Mapped[int] = mapped_column(default=1)
    password_changed_at: Mapped[datetime | None]
    # Second factor (TOTP, RFC 6238): the secret, when it was confirmed, the last time step accepted (no replay)
    # and the SHA-256 of the unused recovery codes.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_confirmed_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    recovery_code_hashes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)

    tenant: Mapped[Tenant | None] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def __principal_criteria__(cls, scope: TenantScope) -> Any:
        # Authentication reads its own principal before any tenant is in scope. A platform scope also sees the
        # operators (no tenant), as RLS admits them (jixiao_context_platform()): the security administrator
        # manages them.
        # A bearer token's user is reached through the live token whose hash the scope names, as revision 0026's
        # users_read policy admits it: authentication reads the token and its user in one statement.
        token_user = (cls.id == sa.select(ApiToken.user_id).where(ApiToken.token_hash == scope.token_hash,
                                                                   ApiToken.revoked_at.is_(None)).scalar_subquery()
                      if scope.token_hash else sa.false())
        return sa.or_(
            cls.tenant_id.in_(list(scope.read_ids)),
            cls.id == (scope.user_id or 0),
            cls.username == (scope.login_username or ""),
            token_user,
            sa.and_(cls.tenant_id.is_(None), sa.true() if scope.platform else sa.false()),
        )

    # Flask-Login's protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The generation makes every session id of the user stale at once when it is raised.
        return f"{self.id}:{self.session_generation}"

    @property
    def second_factor_enrolled(self) -> bool:
        return self.totp_confirmed_at is not None

    def has_role(self, *roles: Role | str) -> bool:
        return any(str(r) in self.roles for r in roles)

    def is_locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class LoginFailure(Base):
    """One failed login, by (username, client address): what login throttling counts. A platform table with no
    tenant: it is written before anyone is known, for usernames that may not exist; rows older than the
    counting window are pruned."""

    __tablename__ = "login_failures"
    __table_args__ = (
        sa.Index("ix_login_failures_username_at", "username", "at"),
        sa.Index("ix_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


@principal_criteria
class ApiToken(TimestampMixin, Base):
    """A bearer token for machines. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @classmethod
    def __principal_criteria__(cls, scope: TenantScope) -> Any:
        return sa.or_(
            cls.tenant_id.in_(list(scope.read_ids)),
            cls.user_id == (scope.user_id or 0),
            cls.token_hash == (scope.token_hash or ""),
            sa.and_(cls.tenant_id.is_(None), sa.true() if scope.platform else sa.false()),
        )
