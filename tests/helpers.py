"""Helpers shared by the core's tests."""

from __future__ import annotations

import dataclasses
import html as html_lib
import re
from datetime import date
from pathlib import Path

import yaml
from flask import Flask


def load(app: Flask, *paths: Path):
    from jixiao.db import system_scope
    from jixiao.plugins import host
    from jixiao.tenancy import service as tenancy

    with app.app_context(), system_scope() as db:
        return tenancy.load_files(db, host(), paths)


def small_tree(tmp_path: Path, name: str = "small.yaml", **lingling_extra) -> Path:
    """Hunan → Yongzhou → Lingling and Lengshuitan, as a tenants file."""
    document = {
        "code": "430000", "name": "湖南省", "division_type": "省", "plugins": ["hunan"],
        "children": [{"code": "431100", "name": "永州市", "division_type": "地级市", "children": [
            {"code": "431102", "name": "零陵区", "division_type": "区", **lingling_extra},
            {"code": "431103", "name": "冷水滩区", "division_type": "区"},
        ]}],
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


# ---- Words, not codes (issue 15) ----------------------------------------------------------------------------


def visible(page: str) -> str:
    """The text a person sees: no scripts, styles, tags or attributes."""
    page = re.sub(r"(?s)<!--.*?-->", " ", page)
    page = re.sub(r"(?s)<(script|style|template)\b[^>]*>.*?</\1>", " ", page)
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


#: What stands next to a code when it is part of a longer word: a username (hunan_admin), an address, a path.
_JOINED = r"A-Za-z0-9_@/\-"
#: Amounts in exponent notation (1E+5, 1e6, 2.5E-3), not the middle of a longer token such as a file digest.
EXPONENT = re.compile(rf"(?<![{_JOINED}.])\d+(?:\.\d+)?[eE][+-]?\d+(?![{_JOINED}]|\.\d)")
#: A JSON object's key ("amount_change": …) or a Python/JSON literal shown as text.
JSON_KEY = re.compile(r'"[A-Za-z_][A-Za-z0-9_]*"\s*:')
LITERALS = ("null", "None", "True", "False", "undefined", "NaN")


@dataclasses.dataclass(frozen=True)
class RawCodes:
    """The codes no page a person reads may show (issue 15), computed from what the product defines: audit
    actions, job kinds, decision actions, the lifecycle's field names and enum values, assessment schemes and
    rule sets, indicator catalogs; plugin codes only beside the plugin's display name."""

    codes: frozenset[str]
    #: plugin code → display name: "湖南省规则 hunan" is how pages name a plugin, a bare "hunan" is a code.
    plugins: dict[str, str]

    def found(self, text: str, *, plugins_only: bool = False) -> list[str]:
        """Each raw code in ``text`` (a page's visible text), with a little context, for an assertion message.
        ``plugins_only``: bare plugin codes only, for a page whose values are meant to be typed as they are shown
        (the settings page shows each value as the tenant's YAML writes it)."""
        hits: list[str] = []

        def context(match: re.Match[str]) -> str:
            return text[max(0, match.start() - 30):match.end() + 30]

        for code in sorted(self.codes | set(LITERALS)) if not plugins_only else ():
            for match in re.finditer(rf"(?<![{_JOINED}.]){re.escape(code)}(?![{_JOINED}]|\.[A-Za-z0-9])", text):
                hits.append(f"{code}: …{context(match)}…")
        for code, display in self.plugins.items():
            bare = re.sub(rf"{re.escape(display)}\s*[（(]?\s*{re.escape(code)}", display, text)
            for match in re.finditer(rf"(?<![{_JOINED}.]){re.escape(code)}(?![{_JOINED}]|\.[A-Za-z0-9])", bare):
                hits.append(f"plugin {code} without {display}: …{bare[max(0, match.start() - 30):match.end() + 30]}…")
        for pattern in (EXPONENT, JSON_KEY) if not plugins_only else ():
            hits += [f"{match.group()}: …{context(match)}…" for match in pattern.finditer(text)]
        return hits


def raw_codes() -> RawCodes:
    """The codes, read from a plugin host made like the app's (the core's features, national, the installed
    regions), so a new action, job kind, scheme or plugin is covered without editing a list here."""
    from jixiao.app import CORE_PLUGINS
    from jixiao.audit.labels import ACTION_LABELS
    from jixiao.jobs.kinds import JOB_KIND_ATTRIBUTE
    from jixiao.lifecycle.history import FIELD_LABELS
    from jixiao.lifecycle.models import LABELS
    from jixiao.plugins import PluginHost
    from jixiao.rules.national import RESULT_ACTIONS

    host = PluginHost(core=CORE_PLUGINS)
    codes = set(ACTION_LABELS)
    codes |= {getattr(kind, JOB_KIND_ATTRIBUTE).name for kind in host.collect("register_job_kinds")}
    codes |= {answer["action"] for answer in RESULT_ACTIONS.values()}
    # Words such as "name" or "project" could be anything; the snake_case ones are unmistakably codes.
    codes |= {key for key in (*FIELD_LABELS, *LABELS) if "_" in key}
    for year in range(2018, date.today().year + 6):
        for answer in host.pm.hook.register_assessment_schemes(tenant=None, year=year):
            for scheme in answer or ():
                codes |= {scheme["code"], scheme.get("rule_set", scheme["code"])}
        for answer in host.pm.hook.register_indicator_catalogs(tenant=None, year=year):
            codes |= {catalog["code"] for catalog in answer or ()}
    plugins = {info.name: info.display_name for info in host.info() if info.display_name != info.name}
    return RawCodes(frozenset(codes - set(plugins)), plugins)
