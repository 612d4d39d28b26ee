"""The vendor contract: every hook a Jixiao plugin may implement.

Conventions (see docs/plugins.md):

- Hooks are called with keyword arguments only; new arguments are only ever added at the end.
- Every hook that answers for a tenant receives ``tenant``, a read-only :class:`jixiao.toolkit.TenantView`,
  and is called only for plugins that tenant enables (its own YAML or an ancestor's). The built-in
  ``national`` plugin is enabled everywhere and registered first, so a regional plugin's answer comes first.
- ``register_*`` hooks return lists, and every plugin's answer is collected.
- Questions about one tenant (``firstresult``) stop at the first answer that is not ``None``: return ``None``
  to let the national default (or another plugin) answer.
- ``on_*`` hooks are events; their return values are ignored.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("jixiao")


@hookspec
def tenant_default_settings(tenant: Any) -> dict[str, Any] | None:
    """Default settings a plugin contributes for ``tenant``.

    Called when the platform works out a tenant's effective settings (its home page, every rule that reads a
    setting). Every enabled plugin's answer is collected and merged, national first and regional after, so
    a region overrides a national default key by key; settings written in the tenants' YAML files override
    all plugin defaults, an ancestor's first and the tenant's own last.

    Return a flat ``dict`` of dotted keys (``"monitoring.cadence"``) to JSON values, or ``None``.
    """


@hookspec
def on_tenant_loaded(tenant: Any, created: bool, changes: dict[str, Any]) -> None:
    """Event: ``jixiao tenants load`` created or changed ``tenant``.

    ``created`` is true for a new tenant; ``changes`` maps each changed field to ``[before, after]``.
    Called only for plugins the tenant enables, after the load committed. Return nothing.
    """
