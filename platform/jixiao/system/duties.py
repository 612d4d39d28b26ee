"""Separation of duties (三员分立): the platform operator's three duties and the predicates that check them.

A platform operator (a user with ``is_operator`` and no tenant) holds exactly one duty, stored as the single
entry of its ``roles`` list:

- **system administrator** (系统管理员, ``system_admin``): tenants, tenant files, plugins, jobs and settings of
  the platform;
- **security administrator** (安全管理员, ``security_admin``): operator and tenant-administrator accounts
  (create, deactivate, unlock, sign out everywhere); the security configuration, read-only;
- **audit administrator** (审计管理员, ``audit_admin``): reads and exports the audit log of every tenant and of
  the operators, and nothing else.

Services, pages, the API and the menu ask the predicates below; none of them reads ``roles`` itself. An
operator whose ``roles`` is not exactly one known duty holds none (fails closed).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao.db import get_scope, set_scope
from jixiao.errors import Forbidden, ValidationFailed
from jixiao.tenancy.models import Tenant


class Duty(enum.StrEnum):
    SYSTEM = "system_admin"
    SECURITY = "security_admin"
    AUDIT = "audit_admin"

    @property
    def label(self) -> str:
        return DUTY_LABELS[self]


DUTY_LABELS = {Duty.SYSTEM: "系统管理员", Duty.SECURITY: "安全管理员", Duty.AUDIT: "审计管理员"}
#: The short names the command line and the API accept (``--duty system``); the stored values work too.
DUTY_NAMES = {"system": Duty.SYSTEM, "security": Duty.SECURITY, "audit": Duty.AUDIT}
CHOICES = "system（系统管理员）、security（安全管理员）或 audit（审计管理员）"


def duty_of(actor: Any) -> Duty | None:
    """The one duty ``actor`` holds, or None: tenant users, the system actor and malformed operators hold none."""
    if actor is None or not getattr(actor, "is_operator", False) or getattr(actor, "tenant_id", None) is not None:
        return None
    roles = list(getattr(actor, "roles", None) or [])
    if len(roles) != 1 or roles[0] not in Duty._value2member_map_:
        return None
    return Duty(roles[0])


def may_administer_system(actor: Any) -> bool:
    """Tenants, tenant files, plugins, jobs and platform settings."""
    return duty_of(actor) is Duty.SYSTEM


def may_administer_security(actor: Any) -> bool:
    """Operator and tenant-administrator accounts; the security configuration (read-only)."""
    return duty_of(actor) is Duty.SECURITY


def may_read_audit(actor: Any) -> bool:
    """Read and export the audit log of every tenant and of the operators."""
    return duty_of(actor) is Duty.AUDIT


def require_system_administrator(actor: Any) -> None:
    if not may_administer_system(actor):
        raise Forbidden("仅系统管理员可执行此操作（三员分立）")


def require_security_administrator(actor: Any) -> None:
    if not may_administer_security(actor):
        raise Forbidden("仅安全管理员可执行此操作（三员分立）")


def require_audit_reader(actor: Any) -> None:
    if not may_read_audit(actor):
        raise Forbidden("仅审计管理员可查阅和导出审计日志（三员分立）")


def parse_duty(name: str) -> Duty | None:
    """``system`` / ``system_admin`` → :attr:`Duty.SYSTEM`; None when it names no duty."""
    key = (name or "").strip().lower()
    if key in DUTY_NAMES:
        return DUTY_NAMES[key]
    return Duty(key) if key in Duty._value2member_map_ else None


def operator_roles(duties: str | Iterable[str] | None, roles: Iterable[str] = ()) -> list[str]:
    """The ``roles`` an operator account stores: its one duty. Refuses two duties, none, or any tenant role.

    ``duties`` are short names or stored values; a duty value given among ``roles`` counts as a duty too.
    """
    asked = [duties] if isinstance(duties, str) else list(duties or [])
    asked += [r for r in roles if r in Duty._value2member_map_]
    tenant_roles = [r for r in roles if r not in Duty._value2member_map_]
    if tenant_roles:
        raise ValidationFailed(fields={"roles": f"平台运维账户不属于任何财政部门，不能持有财政部门角色：{', '.join(tenant_roles)}"})
    unknown = [d for d in asked if parse_duty(d) is None]
    if unknown:
        raise ValidationFailed(fields={"duty": f"未知职责：{', '.join(unknown)}；可选 {CHOICES}"})
    held = list(dict.fromkeys(parse_duty(d) for d in asked))
    if not held:
        raise ValidationFailed(fields={"duty": f"平台运维账户须持有一项职责：{CHOICES}"})
    if len(held) > 1:
        raise ValidationFailed(fields={"duty": "三员分立：一个运维账户只能持有一项职责（系统管理员、安全管理员、审计管理员之一）"})
    return [str(held[0])]


@contextlib.contextmanager
def every_tenant(session: Session) -> Iterator[dict[int, Tenant]]:
    """Within the block the session reads every tenant's rows and the platform's, and may write none: the walls
    stay on, with every tenant listed in the scope. For the operators whose duty spans tenants (the security and
    audit administrators); the caller checks the duty first. Yields the tenants by id; the previous scope comes
    back afterwards."""
    tenants = {t.id: t for t in session.scalars(sa.select(Tenant))}
    previous = get_scope(session)
    set_scope(session, previous.with_(read_ids=tuple(sorted(tenants)), write_id=None, platform=True))
    try:
        yield tenants
    finally:
        set_scope(session, previous)
