"""Pagination: one contract for every list that grows with a tenant's data, the project list's.

``page`` (from 1, default 1) and ``per_page`` (1 … 500, default 50) are query parameters checked like any other
field: out of bounds, or not a whole number, is 400 naming the parameter, never clamped. The answer is
``{"items": […], "total": n, "page": p, "per_page": k}``; ``total`` counts every match, and a page past the
last has empty ``items``. A page costs the same statements whatever the list's length: the count, the page,
and the page's eager loads.

The lists that answered a bare JSON array before they were paginated (evaluations, the ledger, jobs, the to-do
list) still answer it when neither parameter is sent, so that the clients written against them keep working;
sending ``page`` or ``per_page`` asks for the envelope. Their OpenAPI answer is ``oneOf`` the two
(:func:`list_or_page_doc`). docs/api.md, "Pagination".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import Response, jsonify
from marshmallow import fields
from sqlalchemy.orm import Session

from jixiao.dumping import Schema
from jixiao.inputs import Integer

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500

T = TypeVar("T")
U = TypeVar("U")


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the length of the whole list."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the list has (at least one, the empty one)."""
        return max(math.ceil(self.total / self.per_page), 1)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def with_items(self, items: Iterable[U]) -> Page[U]:
        """The same page of the list, each item as an endpoint shows it."""
        return Page(list(items), self.total, self.page, self.per_page)

    def envelope(self, items: Iterable[Any] | None = None) -> dict[str, Any]:
        """The API's answer: these items (or ``items``, the same ones as the endpoint shows them)."""
        return {"items": list(self.items if items is None else items), "total": self.total, "page": self.page,
                "per_page": self.per_page}


def offset(page: int, per_page: int) -> int:
    return (page - 1) * per_page


def fetch(session: Session, stmt: sa.Select[Any], page: int, per_page: int, *, options: Sequence[Any] = (),
          scalars: bool = True) -> Page[Any]:
    """One page of ``stmt`` and the number of all its rows, in two statements (and ``options``' eager loads).

    ``stmt`` is ordered by a unique key (else a row could appear on two pages); ``options`` are its loader
    options, left out of the count."""
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    paged = stmt.options(*options).limit(per_page).offset(offset(page, per_page))
    items = list(session.scalars(paged)) if scalars else list(session.execute(paged).all())
    return Page(items, total, page, per_page)


def cut(items: Sequence[T], page: int, per_page: int) -> Page[T]:
    """One page of a list already in memory (merged from several bounded sources)."""
    start = offset(page, per_page)
    return Page(list(items[start:start + per_page]), len(items), page, per_page)


# ---- The API's side ------------------------------------------------------------------------------------------


class PageQuerySchema(Schema):
    """``page`` and ``per_page`` of a list that always answers the envelope."""

    page = Integer(query=True, minimum=1, load_default=1)
    per_page = Integer(query=True, minimum=1, maximum=MAX_PER_PAGE, load_default=DEFAULT_PER_PAGE)


class OptionalPageQuerySchema(Schema):
    """``page`` and ``per_page`` of a list that answered a bare array before: sending either asks for the
    envelope (the other then takes its default)."""

    page = Integer(query=True, minimum=1,
                   metadata={"description": "from 1 (default 1); sending it or per_page answers the page envelope"})
    per_page = Integer(query=True, minimum=1, maximum=MAX_PER_PAGE,
                       metadata={"description": f"1 … {MAX_PER_PAGE} (default {DEFAULT_PER_PAGE}); sending it or "
                                                "page answers the page envelope"})


def requested(args: dict[str, Any]) -> tuple[int, int] | None:
    """The page asked for in parsed ``args`` (the two keys taken out), or None for the bare list."""
    page, per_page = args.pop("page", None), args.pop("per_page", None)
    if page is None and per_page is None:
        return None
    return page or 1, per_page or DEFAULT_PER_PAGE


def page_fields(item: type[Schema]) -> dict[str, fields.Field]:
    """The envelope's fields around ``item`` (for a ``…PageSchema`` of the item's module)."""
    return {"items": fields.List(fields.Nested(item)), "total": fields.Integer(), "page": fields.Integer(),
            "per_page": fields.Integer()}


def list_or_page_doc(item: type[Schema], page: type[Schema], description: str = "") -> dict[str, Any]:
    """``@blp.doc(**…)`` of a list answered bare, or as ``page`` when asked (``@blp.response`` states one
    schema only)."""
    schema = {"oneOf": [{"type": "array", "items": item}, page]}
    return {"responses": {"200": {
        "description": description or "the bare list; with page or per_page, one page of it and the total",
        "content": {"application/json": {"schema": schema}}}}}


def answer(item: type[Schema], page_schema: type[Schema], found: Page[Any] | Sequence[Any]) -> Response:
    """The JSON answer of a list documented by :func:`list_or_page_doc`: the page, or the bare list."""
    if isinstance(found, Page):
        return jsonify(page_schema().dump(found.envelope()))
    return jsonify(item(many=True).dump(list(found)))
