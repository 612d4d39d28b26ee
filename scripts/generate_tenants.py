"""Write tenants/<province>.yaml from the GB/T 2260 dataset: every city and county-level division.

Usage: python scripts/generate_tenants.py 430000:hunan 540000:xizang 510000:sichuan
The settings each file carries are kept when the file already exists, so a bureau's edits survive.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from jixiao.tenancy.divisions import DATASET, children_of, lookup

TENANTS = Path(__file__).resolve().parents[1] / "tenants"


def node(code: str) -> dict:
    division = lookup(code)
    assert division is not None, code
    entry: dict = {"code": division.code, "name": division.name, "division_type": division.division_type}
    kids = children_of(code)
    if kids:
        entry["children"] = [node(k.code) for k in kids]
    return entry


def main(argv: list[str]) -> None:
    for arg in argv:
        code, plugin = arg.split(":")
        target = TENANTS / f"{plugin}.yaml"
        tree = node(code)
        existing = yaml.safe_load(target.read_text(encoding="utf-8")) if target.exists() else {}
        tree["plugins"] = existing.get("plugins", [plugin])
        tree["settings"] = existing.get("settings", {})
        ordered = {k: tree[k] for k in ("code", "name", "division_type", "plugins", "settings", "children")}
        header = (
            f"# {ordered['name']}: the whole tree of finance bureaus, generated from {DATASET}\n"
            "# by scripts/generate_tenants.py. Plugins and settings set on a tenant apply to its descendants\n"
            "# unless a descendant overrides them. Load with `jixiao tenants load tenants/*.yaml`.\n"
        )
        body = yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False, width=120)
        target.write_text(header + body, encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
