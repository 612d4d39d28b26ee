"""The assessment's ranking notice (考核结果通报, PDF), rendered from plain data and stored on its campaign."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jixiao.documents import pdf
from jixiao.documents import service as documents
from jixiao.documents.models import Document
from jixiao.tenancy.models import Tenant

#: Where the template is when rendering outside an app (a script, a plugin's unit test).
TEMPLATES = (Path(__file__).parent / "templates",)


def ranking_rows(rows: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts: each a mapping with rank, name, score, grade, notes, or a sequence in that order."""
    keys = ("rank", "name", "score", "grade", "notes")
    result = []
    for row in rows:
        item = dict(row) if isinstance(row, dict) else dict(zip(keys, row, strict=False))
        row_dict = {k: "" if item.get(k) is None else item.get(k) for k in keys}
        try:
            row_dict["score_text"] = pdf.score(row_dict["score"]) if row_dict["score"] != "" else "—"
        except ArithmeticError:  # a score given as text ("免考核"): shown as it is
            row_dict["score_text"] = str(row_dict["score"])
        result.append(row_dict)
    return result


def render_ranking_notice(title: str, year: int, issuer: str, rows: list[Any], rewarded: list[str],
                          summoned: list[str], *, issued_on: date | None = None, number: str = "",
                          intro: str = "", addressees: str = "") -> bytes:
    """The assessment's ranking notice (通报) as PDF bytes, from plain data (no database needed).

    ``rows``: rank, name, score, grade, notes (mappings or sequences); ``rewarded``: names commended (and
    rewarded with working funds); ``summoned``: names to be named and summoned (约谈). ``issued_on`` is the
    notice's date (also the PDF's date); ``number`` its 文号; ``intro`` replaces the opening paragraph;
    ``addressees`` the line it is sent to (e.g. "各县市区财政局："). Deterministic: same data, same bytes.
    """
    return pdf.render_pdf(
        "assessment/pdf/ranking_notice.html",
        TEMPLATES,
        bureau=issuer,
        header_right="考核结果通报",
        title=title,
        document_date=issued_on,
        issued_on=issued_on,
        year=int(year),
        issuer=issuer,
        number=number,
        intro=intro,
        addressees=addressees,
        rows=ranking_rows(rows),
        rewarded=[str(n) for n in rewarded or []],
        summoned=[str(n) for n in summoned or []],
        **pdf.helpers(),
    )


def store_ranking_notice(session: Session, tenant: Tenant, *, owner_type: str, owner_id: int, data: bytes,
                         title: str, filename: str | None = None, job_id: int | None = None,
                         actor_id: int | None = None) -> Document:
    """Store a ranking notice rendered by :func:`render_ranking_notice` on its record (e.g. an assessment)."""
    name = filename or title
    return documents.store_pdf(session, tenant, kind="ranking_notice", owner_type=owner_type, owner_id=owner_id,
                               title=title, filename=name[:-4] if name.endswith(".pdf") else name, data=data,
                               job_id=job_id, actor_id=actor_id)
