"""Platform-level facts: which plugins are installed and who enables them."""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao import hookspecs
from jixiao.db import TenantScope, platform_facts, scoped
from jixiao.errors import ValidationFailed
from jixiao.plugins import NATIONAL, PluginHost
from jixiao.system import duties
from jixiao.tenancy.models import Tenant, plugins_in_force
from jixiao.toolkit import ProjectView


def schema_ready(session: Session) -> bool:
    """Whether the database has been migrated (``jixiao db upgrade``): the command line explains what to do
    first instead of failing on a missing table."""
    return sa.inspect(session.get_bind()).has_table(Tenant.__tablename__)


def plugin_listing(session: Session, host: PluginHost, actor: Any = None,
                   with_tenants: bool = True) -> list[dict[str, Any]]:
    """Each installed plugin, with the tenants whose own file enables it (descendants inherit; none listed
    when ``with_tenants`` is false, before the database is migrated).

    Tenant users may read it; among the operators only the system administrator (三员分立). ``actor`` None is
    the command line.
    """
    if getattr(actor, "is_operator", False):
        duties.require_system_administrator(actor)
    enabling: dict[str, list[str]] = {}
    rows: list[Any] = []
    if with_tenants:
        with platform_facts(session):
            rows = _plugins_by_tenant(session)
    for code, plugins in rows:
        for name in plugins:
            enabling.setdefault(name, []).append(code)
    listing = []
    for info in host.info():
        listing.append(
            {
                "name": info.name,
                "display_name": info.display_name,
                "version": info.version,
                "distribution": info.distribution,
                "builtin": info.builtin,
                "hooks": list(info.hooks),
                "tenants": ["*"] if info.name == NATIONAL else enabling.get(info.name, []),
            }
        )
    return listing


@dataclasses.dataclass(frozen=True)
class HookExplanation:
    """Who answers a hook for one tenant: every plugin asked, in order, with its answer, and which one wins."""

    hook: str
    tenant_code: str
    firstresult: bool
    answers: list[tuple[str, Any]]  # (plugin, its answer or None)
    parameters: tuple[str, ...]  # what the hook takes besides ``tenant``

    @property
    def answered_by(self) -> list[str]:
        given = [name for name, answer in self.answers if answer is not None]
        return given[:1] if self.firstresult else given


@dataclasses.dataclass(frozen=True)
class TenantHookSpec:
    """A hook asked for one tenant: what ``explain`` can ask."""

    name: str
    parameters: tuple[str, ...]  # besides ``tenant``
    firstresult: bool
    summary: str


def tenant_hook_specs() -> list[TenantHookSpec]:
    """The hooks asked for one tenant (every hook but the composition ones), by name."""
    found = []
    for name in sorted(dir(hookspecs)):
        spec = getattr(hookspecs, name)
        if not callable(spec) or not hasattr(spec, "jixiao_spec"):
            continue
        parameters = tuple(inspect.signature(spec).parameters)
        if "tenant" not in parameters:
            continue
        options = getattr(spec, "jixiao_spec", {}) or {}
        summary = (inspect.getdoc(spec) or "").split("\n", 1)[0]
        found.append(TenantHookSpec(name, tuple(p for p in parameters if p != "tenant"),
                                    bool(options.get("firstresult")), summary))
    return found


def parse_hook_arguments(pairs: Iterable[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as hook arguments, each VALUE as JSON when it parses (2026, "finance", 0.75 as a
    Decimal), else as text; a pair without ``=`` is refused naming it."""
    arguments: dict[str, Any] = {}
    for raw in pairs:
        if not raw.strip():
            continue
        name, equals, value = raw.strip().partition("=")
        if not equals or not name.strip():
            raise ValidationFailed(fields={"arguments": f"参数应写成 名称=值：{raw.strip()[:60]}"})
        try:
            arguments[name.strip()] = json.loads(value, parse_float=Decimal)
        except json.JSONDecodeError:
            arguments[name.strip()] = value
    return arguments


def project_view_of(session: Session, tenant_code: str, project_id: int) -> ProjectView:
    """A project of the tenant as hooks see it, read under that tenant's own scope."""
    from jixiao.lifecycle.models import Project
    from jixiao.tenancy import service as tenancy

    with platform_facts(session):
        tenant = tenancy.get_by_code(session, tenant_code)
    if tenant is None:
        raise ValidationFailed(fields={"tenant": f"没有代码为 {tenant_code} 的财政部门"})
    with scoped(TenantScope(read_ids=(tenant.id,))) as db:
        project = db.get(Project, project_id)
        if project is None or project.tenant_id != tenant.id:
            raise ValidationFailed(fields={"project": f"财政部门 {tenant_code} 没有编号为 {project_id} 的项目"})
        return ProjectView.build(project)


def explain_for(session: Session, host: PluginHost, actor: Any, tenant_code: str, hook: str,
                pairs: Iterable[str] = (), project_id: int | None = None) -> HookExplanation:
    """:func:`explain_hook` from what a person typed (the command line, the operator's page): the system
    administrator's (``actor`` None is the command line)."""
    if actor is not None:
        duties.require_system_administrator(actor)
    arguments = parse_hook_arguments(pairs)
    if project_id is not None:
        arguments["project"] = project_view_of(session, tenant_code, project_id)
    return explain_hook(session, host, tenant_code, hook, arguments)


def explain_hook(session: Session, host: PluginHost, tenant_code: str, hook: str,
                 arguments: dict[str, Any]) -> HookExplanation:
    """Ask ``hook`` for the tenant ``tenant_code`` plugin by plugin (``arguments`` besides ``tenant``), so an
    operator sees which plugin's rule is in force and why — a region overriding another, or national."""
    from jixiao.lifecycle.common import tenant_view
    from jixiao.tenancy import service as tenancy

    spec = getattr(hookspecs, hook, None)
    if spec is None or not hasattr(spec, "jixiao_spec"):
        raise ValidationFailed(fields={"hook": f"没有这个钩子：{hook}"})
    parameters = tuple(name for name in inspect.signature(spec).parameters if name != "tenant")
    if "tenant" not in inspect.signature(spec).parameters:
        raise ValidationFailed(fields={"hook": f"{hook} 不针对某个财政部门回答（组合钩子在建立应用时收集）"})
    missing = [name for name in parameters if name not in arguments]
    if missing:
        raise ValidationFailed(fields={name: f"{hook} 需要参数 {name}" for name in missing})
    with platform_facts(session):
        tenant = tenancy.get_by_code(session, tenant_code)
    if tenant is None:
        raise ValidationFailed(fields={"tenant": f"没有代码为 {tenant_code} 的财政部门"})
    view = tenant_view(session, tenant)
    ordered = host.hook(hook, view.plugins)
    answers = ordered.explain(tenant=view, **{name: arguments[name] for name in parameters})
    return HookExplanation(hook, tenant_code, ordered.firstresult, answers, parameters)


def _plugins_by_tenant(session: Session) -> list[tuple[str, list[str]]]:
    """Each tenant's code and own plugins in force, from the plugin columns alone (a province has thousands)."""
    columns = sa.select(Tenant.code, Tenant.plugins, Tenant.plugins_enabled, Tenant.plugins_disabled)
    return [(code, plugins_in_force(listed, enabled, disabled))
            for code, listed, enabled, disabled in session.execute(columns.order_by(Tenant.code))]


def missing_plugins(session: Session, host: PluginHost) -> dict[str, list[str]]:
    """Tenants that enable a plugin that is not installed: code → missing names."""
    missing: dict[str, list[str]] = {}
    for code, plugins in _plugins_by_tenant(session):
        absent = [p for p in plugins if not host.is_installed(p)]
        if absent:
            missing[code] = absent
    return missing


def redis_status() -> str:
    """``ok``, ``unavailable`` or ``embedded`` (no Redis configured: jobs run in-process)."""
    from flask import current_app
    from redis import Redis
    from redis.exceptions import RedisError

    url = current_app.config.get("REDIS_URL")
    if not url:
        return "embedded"
    try:
        Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except RedisError:
        return "unavailable"
    return "ok"
