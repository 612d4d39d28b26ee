"""Indicator catalogs (共性指标库): what the tenant's plugins offer for a budget year, and searching them.

Catalogs are data, not rows: every enabled plugin answers ``register_indicator_catalogs(tenant, year)`` (a
region ships its catalog as a data file in its package), and the answers are collected here. Nothing is stored,
so a bureau that replaces its plugin's data file sees the new catalog at once.

A catalog is ``{"code", "name", "source", "years": [first, last or None], "categories": [{"code", "name",
"aliases", "indicators": [{"code", "level1", "level2", "name", "direction", "unit", "typical_value"}]}]}``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jixiao.errors import ValidationFailed
from jixiao.lifecycle.common import hooks
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import in_force

INDICATOR_KEYS = ("code", "level1", "level2", "name", "direction", "unit", "typical_value")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _normalised(catalog: dict[str, Any]) -> dict[str, Any]:
    """A copy of a plugin's catalog with every documented key present (strings where text is expected)."""
    years = list(catalog.get("years") or [None, None])
    return {
        "code": _text(catalog.get("code")),
        "name": _text(catalog.get("name")),
        "source": _text(catalog.get("source")),
        "years": (years + [None, None])[:2],
        "categories": [
            {
                "code": _text(category.get("code")),
                "name": _text(category.get("name")),
                "aliases": [_text(a) for a in category.get("aliases") or []],
                "indicators": [{key: _text(item.get(key)) for key in INDICATOR_KEYS}
                               for item in category.get("indicators") or []],
            }
            for category in catalog.get("categories") or []
        ],
    }


def catalogs_for(session: Session, tenant: Tenant, year: int) -> list[dict[str, Any]]:
    """Every catalog the tenant's plugins register for budget ``year``, regional plugins first.

    Only the tenant's enabled plugins are asked. A catalog whose ``years`` exclude ``year`` is left out even
    if a plugin returned it, and a catalog code already seen (from a plugin asked earlier) is not repeated.
    """
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for answer in hooks(session, tenant).register_indicator_catalogs(year=year):
        for catalog in answer or []:
            item = _normalised(catalog)
            if item["code"] in seen or not in_force(item["years"], year):
                continue
            seen.add(item["code"])
            found.append(item)
    return found


def category_matches(category: dict[str, Any], wanted: str) -> bool:
    """A category is named by its code, its name or one of its aliases (a project's 类别 uses the name)."""
    return wanted in (category["code"], category["name"], *category["aliases"])


def category_choices(session: Session, tenant: Tenant, year: int) -> list[dict[str, Any]]:
    """The categories a project of budget ``year`` chooses from: those of every catalog in force for the tenant
    that year, in catalog order (a name repeated by a later catalog is not offered twice); empty when the
    tenant's plugins register no catalog for the year."""
    choices: list[dict[str, Any]] = []
    names: set[str] = set()
    for catalog in catalogs_for(session, tenant, year):
        for category in catalog["categories"]:
            if category["name"] not in names:
                names.add(category["name"])
                choices.append({"code": category["code"], "name": category["name"], "aliases": category["aliases"]})
    return choices


def category_problem(choices: list[dict[str, Any]], value: str | None) -> tuple[str, str | None]:
    """The category to store for ``value`` and what is wrong with it (``None`` when nothing is).

    Without a catalog the category is the unit's own text. With one it is required and must be one of the
    catalog's categories, named by its name, code or alias; the category's name is what is stored, so the
    catalog rules that read it always find the category.
    """
    wanted = (value or "").strip()
    if not choices:
        return wanted, None
    for category in choices:
        if category_matches(category, wanted):
            return category["name"], None
    allowed = "、".join(c["name"] for c in choices)
    if not wanted:
        return wanted, f"本级有共性指标库，请从其类别中选择项目类别：{allowed}"
    return wanted, f"项目类别“{wanted}”不是共性指标库的类别，请从中选择：{allowed}"


def project_category(session: Session, tenant: Tenant, year: int, value: str | None) -> str:
    """:func:`category_problem` for one project of budget ``year``: the category to store, or
    ``ValidationFailed`` on the field ``category``."""
    category, problem = category_problem(category_choices(session, tenant, year), value)
    if problem:
        raise ValidationFailed(fields={"category": problem})
    return category


def _matches(item: dict[str, Any], category: dict[str, Any], terms: list[str]) -> bool:
    text = " ".join((item["code"], item["name"], item["level1"], item["level2"], category["name"])).casefold()
    return all(term in text for term in terms)


def search(session: Session, tenant: Tenant, year: int, q: str | None = None, category: str | None = None,
           level1: str | None = None) -> list[dict[str, Any]]:
    """Indicators of the tenant's catalogs for ``year``, in catalog order, each with its catalog and category.

    ``q``: words (split on spaces) that must all appear, ignoring case, in the indicator's code, name, level 1,
    level 2 or category name. ``category``: a category's code, name or alias. ``level1``: 产出, 效益, 满意度
    or 成本. Empty filters are ignored.
    """
    return search_in(catalogs_for(session, tenant, year), q=q, category=category, level1=level1)


def search_in(catalogs: list[dict[str, Any]], q: str | None = None, category: str | None = None,
              level1: str | None = None) -> list[dict[str, Any]]:
    """:func:`search` over catalogs already collected by :func:`catalogs_for`."""
    terms = [t.casefold() for t in (q or "").split()]
    wanted_category = (category or "").strip()
    wanted_level1 = (level1 or "").strip()
    results: list[dict[str, Any]] = []
    for catalog in catalogs:
        catalog_ref = {"code": catalog["code"], "name": catalog["name"]}
        for cat in catalog["categories"]:
            if wanted_category and not category_matches(cat, wanted_category):
                continue
            category_ref = {"code": cat["code"], "name": cat["name"]}
            for item in cat["indicators"]:
                if wanted_level1 and item["level1"] != wanted_level1:
                    continue
                if terms and not _matches(item, cat, terms):
                    continue
                results.append({**item, "catalog": catalog_ref, "category": category_ref})
    return results


def summary(catalogs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The catalogs without their indicators: categories with their indicator counts."""
    return [
        {**{k: c[k] for k in ("code", "name", "source", "years")},
         "categories": [{"code": cat["code"], "name": cat["name"], "aliases": cat["aliases"],
                         "count": len(cat["indicators"])} for cat in c["categories"]],
         "count": sum(len(cat["indicators"]) for cat in c["categories"])}
        for c in catalogs
    ]
