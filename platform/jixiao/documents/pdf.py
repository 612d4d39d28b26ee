"""PDF rendering: Jinja templates → HTML → WeasyPrint, with an embedded Chinese font and no network.

The documents package owns the base and the machinery; each domain owns its documents' templates (e.g.
``lifecycle/pdf/evaluation_report.html``) in its blueprint's template folder. Every template extends
``documents/pdf/_base.html``: A4, margins, the bureau's name (「XX财政局」) at the top of
each page and "第 N 页 共 M 页" at the bottom (CSS page counters), and ``font-family: "Noto Sans CJK SC"`` named
explicitly on every element and page-margin box (left to fallback, fontconfig picked the Japanese face in a
trial). The font comes from Debian's ``fonts-noto-cjk``; WeasyPrint embeds the subset it uses.

Rendering is deterministic: the same template and context give the same bytes (no current time anywhere:
the PDF's creation and modification dates are the ``document_date`` the caller passes, taken from the record;
WeasyPrint writes no file identifier; font subset names are content hashes and their timestamps come from
``SOURCE_DATE_EPOCH``). That is what makes the jobs
idempotent: the file store is content-addressed and ``save_document`` returns the existing document.

No network: :class:`LocalOnlyFetcher` refuses every URL except ``data:``, so a template (or user text that
somehow became markup) cannot make the worker fetch anything.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from jixiao import units

FONT_FAMILY = '"Noto Sans CJK SC"'
TEMPLATES = Path(__file__).parent / "templates"
CENT = Decimal("0.01")

log = logging.getLogger(__name__)


def css_string(value: Any) -> Markup:
    """``value`` as a quoted CSS string, safe inside a ``<style>`` element (every risky character escaped)."""
    out = []
    for char in str(value or ""):
        if char.isalnum() or char in " ·()（）-_.,，、:：「」":
            out.append(char)
        else:
            out.append(f"\\{ord(char):x} ")
    return Markup('"' + "".join(out) + '"')


@functools.cache
def _standalone_env(folders: tuple[Path, ...]) -> Environment:
    """Outside an app (a script, a plugin's unit test): the base templates and the caller's, no translations."""
    env = Environment(loader=FileSystemLoader([str(TEMPLATES), *map(str, folders)]),
                      autoescape=select_autoescape(default=True), extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


def _environment(folders: tuple[Path, ...]) -> Environment:
    return current_app.jinja_env if has_app_context() else _standalone_env(folders)


# ---- Formatting helpers every document uses (deterministic, no locale) --------------------------------------


def local_datetime(value: datetime | None) -> datetime | None:
    """A stored timestamp as the bureau's wall-clock time to the second (documents date themselves with it)."""
    return None if value is None else units.to_local(value).replace(microsecond=0)


def cn_date(value: date | datetime | None) -> str:
    """2026年6月30日 (the form official documents use); a timestamp's day in the bureau's time zone."""
    day = units.local_date(value) if isinstance(value, datetime) else value
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def plain(value: Any) -> str:
    """A number without trailing zeros (100, 95.5), thousands separated."""
    if value is None or value == "":
        return "—"
    number = Decimal(str(value))
    return f"{number.normalize():,f}" if number == number.to_integral() else f"{number:,f}".rstrip("0").rstrip(".")


def score(value: Any) -> str:
    return "—" if value is None else f"{Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP):f}"


def helpers(labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The template helpers: dates, numbers, 万元, percentages, and ``label`` for the domain's codes."""
    names = dict(labels or {})
    return {"cn_date": cn_date, "plain": plain, "score": score, "wan": units.format_wan, "percent": units.percent_of,
            "label": lambda value: names.get(str(value), str(value))}


def safe_filename(text: str) -> str:
    """A file name part without path separators or control characters."""
    return "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in text).strip() or "文件"


def _w3c(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return value.isoformat()


def _url_fetcher() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalOnlyFetcher(URLFetcher):
        """Refuses every URL but inline ``data:`` ones: rendering never touches the network or the disk."""

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            log.warning("PDF rendering refused to fetch %s", url[:200])
            raise ValueError(f"refused to fetch {url[:200]} (PDF rendering is offline)")

    return LocalOnlyFetcher(allowed_protocols=("data",), allow_redirects=False)


def render_html(template: str, templates: tuple[Path, ...] = (), **context: Any) -> str:
    """The HTML a PDF is made from (useful to debug a template in a browser). ``templates``: the folders the
    caller's templates are in, for rendering outside an app (inside one, the blueprints' folders are used)."""
    context.setdefault("font_family", Markup(FONT_FAMILY))
    context.setdefault("css_string", css_string)
    context.setdefault("document_date", None)
    context["document_date_w3c"] = _w3c(context.get("document_date"))
    return _environment(templates).get_template(template).render(**context)


def render_pdf(template: str, templates: tuple[Path, ...] = (), **context: Any) -> bytes:
    """Render ``template`` (e.g. ``"lifecycle/pdf/evaluation_report.html"``) with ``context`` to PDF bytes.

    Context every template uses: ``bureau`` (the issuing bureau's name, shown at the top of every page),
    ``title`` (the PDF's title metadata) and ``document_date`` (a date or datetime from the record: the PDF's
    creation and modification dates; nothing else in the file depends on the clock).
    """
    from weasyprint import HTML

    # fontTools stamps each embedded font subset's head.modified with the current second unless
    # SOURCE_DATE_EPOCH says otherwise (the reproducible-builds convention), which made two renders of one
    # record differ; setdefault leaves an operator's own value alone and is the same in every thread.
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    html = render_html(template, templates, **context)
    # The base URL is never fetched (the fetcher refuses file:); it only has to be a valid absolute URL.
    document = HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=_url_fetcher())
    return document.write_pdf(pdf_identifier=None)
