"""PDF rendering: Jinja templates → HTML → WeasyPrint, with an embedded Chinese font and no network.

Every template extends ``documents/pdf/_base.html``: A4, margins, the bureau's name (「XX财政局」) at the top of
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
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

FONT_FAMILY = '"Noto Sans CJK SC"'
TEMPLATES = Path(__file__).parent / "templates"

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
def _standalone_env() -> Environment:
    """Outside an app (a script, a plugin's unit test): the package's templates, no translations."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                      extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


def _environment() -> Environment:
    return current_app.jinja_env if has_app_context() else _standalone_env()


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


def render_html(template: str, **context: Any) -> str:
    """The HTML a PDF is made from (useful to debug a template in a browser)."""
    context.setdefault("font_family", Markup(FONT_FAMILY))
    context.setdefault("css_string", css_string)
    context.setdefault("document_date", None)
    context["document_date_w3c"] = _w3c(context.get("document_date"))
    return _environment().get_template(template).render(**context)


def render_pdf(template: str, **context: Any) -> bytes:
    """Render ``template`` (e.g. ``"documents/pdf/evaluation_report.html"``) with ``context`` to PDF bytes.

    Context every template uses: ``bureau`` (the issuing bureau's name, shown at the top of every page),
    ``title`` (the PDF's title metadata) and ``document_date`` (a date or datetime from the record: the PDF's
    creation and modification dates; nothing else in the file depends on the clock).
    """
    from weasyprint import HTML

    # fontTools stamps each embedded font subset's head.modified with the current second unless
    # SOURCE_DATE_EPOCH says otherwise (the reproducible-builds convention), which made two renders of one
    # record differ; setdefault leaves an operator's own value alone and is the same in every thread.
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    html = render_html(template, **context)
    # The base URL is never fetched (the fetcher refuses file:); it only has to be a valid absolute URL.
    document = HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=_url_fetcher())
    return document.write_pdf(pdf_identifier=None)
