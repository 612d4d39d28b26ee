"""Platform-level facts: which plugins are installed and who enables them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jixiao.db import platform_facts
from jixiao.plugins import NATIONAL, PluginHost
from jixiao.system import duties
from jixiao.tenancy.models import Tenant


def plugin_listing(session: Session, host: PluginHost, actor: Any = None) -> list[dict[str, Any]]:
    """Each installed plugin, with the tenants whose own file enables it (descendants inherit).

    Tenant users may read it; among the operators only the system administrator (三员分立). ``actor`` None is
    the command line.
    """
    if getattr(actor, "is_operator", False):
        duties.require_system_administrator(actor)
    enabling: dict[str, list[str]] = {}
    with platform_facts(session):
        rows = session.execute(sa.select(Tenant.code, Tenant.plugins).order_by(Tenant.code)).all()
    for code, plugins in rows:
        for name in plugins or []:
            enabling.setdefault(name, []).append(code)
    listing = []
    for info in host.info():
        listing.append(
            {
                "name": info.name,
                "version": info.version,
                "distribution": info.distribution,
                "builtin": info.builtin,
                "hooks": list(info.hooks),
                "tenants": ["*"] if info.name == NATIONAL else enabling.get(info.name, []),
            }
        )
    return listing


def missing_plugins(session: Session, host: PluginHost) -> dict[str, list[str]]:
    """Tenants that enable a plugin that is not installed: code → missing names."""
    missing: dict[str, list[str]] = {}
    for code, plugins in session.execute(sa.select(Tenant.code, Tenant.plugins)):
        absent = [p for p in plugins or [] if not host.is_installed(p)]
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
