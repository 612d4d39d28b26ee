"""The stable surface for plugin authors: what a plugin may import besides ``jixiao.hookimpl``.

Core internals may change between releases; the names below change only after a deprecation notice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

__all__ = ["TenantView", "money", "yuan_from_wan", "load_data_file"]


@dataclasses.dataclass(frozen=True)
class TenantView:
    """A read-only view of a tenant, as hooks receive it.

    ``settings`` are the tenant's settings as written in the tenants' YAML files (inherited down the tree),
    before plugin defaults are merged in; ``plugins`` the plugins in force for it.
    """

    id: int
    code: str
    name: str
    level: str
    division_type: str
    ancestor_codes: tuple[str, ...]
    plugins: tuple[str, ...]
    settings: Mapping[str, Any]

    @property
    def is_district(self) -> bool:
        """A 区 (municipal district): some regional rules treat districts differently."""
        return self.division_type == "区"

    @property
    def province_code(self) -> str:
        return (self.ancestor_codes or (self.code,))[0]

    @classmethod
    def build(cls, tenant: Any, plugins: tuple[str, ...], settings: Mapping[str, Any]) -> TenantView:
        return cls(
            id=tenant.id,
            code=tenant.code,
            name=tenant.name,
            level=str(tenant.level),
            division_type=tenant.division_type,
            ancestor_codes=tuple(tenant.ancestor_codes),
            plugins=plugins,
            settings=MappingProxyType(dict(settings)),
        )


def money(value: Any) -> Decimal:
    """An amount in yuan as a ``Decimal`` with two places (never a float)."""
    if isinstance(value, float):
        value = repr(value)
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def yuan_from_wan(wan: Any) -> Decimal:
    """万元 to 元: rules are often written in 万元 (e.g. 50万元)."""
    return money(Decimal(str(wan)) * 10000)


def load_data_file(package: str, name: str) -> Any:
    """Load a YAML or JSON data file shipped inside a plugin package (``package/data/name``)."""
    import json
    from importlib.resources import files

    import yaml

    text = (files(package) / "data" / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
