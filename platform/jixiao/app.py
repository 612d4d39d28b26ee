"""The application factory."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import Babel
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import jixiao.models  # noqa: F401 - every model mapped before the first query
from jixiao import api, auth, db, errors, inputs, plugins, security
from jixiao.accounts import plugin as accounts_plugin
from jixiao.assessment import metrics
from jixiao.assessment import plugin as assessment_plugin
from jixiao.audit import plugin as audit_plugin
from jixiao.catalog import plugin as catalog_plugin
from jixiao.config import load_config
from jixiao.documents import plugin as documents_plugin
from jixiao.documents import service as documents
from jixiao.jobs import channels as notification_channels
from jixiao.jobs import plugin as jobs_plugin
from jixiao.jobs import service as jobs
from jixiao.lifecycle import plugin as lifecycle_plugin
from jixiao.lifecycle import todo
from jixiao.lifecycle.history import event_changes
from jixiao.spreadsheets import plugin as spreadsheets_plugin
from jixiao.statistics import plugin as statistics_plugin
from jixiao.system import plugin as system_plugin
from jixiao.tenancy import plugin as tenancy_plugin

#: The core's features, each registered as a plugin (``jixiao.<domain>.plugin``), in the order their pages,
#: endpoints and to-dos are listed.
CORE_PLUGINS = (
    ("core.accounts", accounts_plugin), ("core.tenancy", tenancy_plugin), ("core.lifecycle", lifecycle_plugin),
    ("core.catalog", catalog_plugin), ("core.assessment", assessment_plugin), ("core.statistics", statistics_plugin),
    ("core.jobs", jobs_plugin), ("core.documents", documents_plugin), ("core.spreadsheets", spreadsheets_plugin),
    ("core.system", system_plugin), ("core.audit", audit_plugin),
)


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` limited to the ids an INTEGER column holds (0 … 2³¹ − 1)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``test_config`` overrides the environment (tests, fixtures)."""
    config = load_config(test_config)
    app = Flask(__name__, instance_path=config["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(config)
    # Ids are 32-bit in the database: a path id beyond that is a page that cannot exist (404), not an overflow
    # the database reports (500). Set before any route is added, so every <int:…> uses it.
    app.url_map.converters["int"] = DatabaseIdConverter
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config.get("TRUSTED_PROXIES"):
        # Behind n reverse proxies the client is the n-th address from the right of X-Forwarded-For; login
        # throttling counts by it. Without proxies (0) a forged header is ignored: the peer address is used.
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    db.Database().init_app(app)
    host = plugins.init_app(app, core=CORE_PLUGINS)
    Babel(app)
    if not _has_catalogs(app):
        # Jixiao's strings are its Chinese source and it ships no catalog: a template's _("…") is the text itself.
        # Flask-Babel's callables look the request's translations up on every call (hundreds a page, a tenth of
        # rendering one); the null translations give the same text (and the same %-formatting) at once. Adding a
        # catalog under translations/ brings Flask-Babel's lookup back.
        app.jinja_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    auth.init_app(app)
    security.init_app(app)
    # After auth and security, but first to run: malformed input is refused before anything reads it.
    inputs.init_app(app)

    _compose(app, host)
    errors.init_app(app)
    _template_helpers(app)
    if not app.testing:
        _freeze_what_startup_made()
    return app


def _freeze_what_startup_made() -> None:
    """Move everything made so far (modules, mappers, plugins, the app) out of the garbage collector's sight.

    They live as long as the process, yet every full collection walked them all: about 90 ms each in a worker,
    a fifth of a campaign's finalise and a few per cent of every request. Garbage already made is collected
    first, so none is kept for ever; what is made afterwards is collected as before."""
    gc.collect()
    gc.freeze()


def _compose(app: Flask, host: plugins.PluginHost) -> None:
    """Make the app of what its plugins register — the core's default plugins first, then the installed ones —
    once, when the app is made: web and worker processes alike know the same jobs, pages and document owners,
    whatever modules they happened to import."""
    jobs.init_app(app, kinds=host.collect("register_job_kinds"), schedules=host.collect("register_schedules"))
    documents.init_app(app, owners=host.collect("register_document_owners"))
    metrics.init_app(app, metrics=host.collect("register_assessment_metrics"))
    todo.init_app(app, sources=host.collect("register_todo_sources"))
    notification_channels.init_app(app, channels=host.collect("notification_channels"))
    api.init_app(app, blueprints=host.collect("register_api_blueprints"))
    for blueprint in host.collect("register_blueprints"):
        app.register_blueprint(blueprint)
    for command in host.collect("register_commands"):
        if command.name in app.cli.commands:
            raise ValueError(f"command {command.name} is registered twice")
        app.cli.add_command(command)


def _has_catalogs(app: Flask) -> bool:
    """Whether any of Flask-Babel's translation directories holds a compiled catalog (``*.mo``)."""
    directories = app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations").split(";")
    return any(next((Path(app.root_path) / directory).glob("*/LC_MESSAGES/*.mo"), None) is not None
               for directory in directories)


def _template_helpers(app: Flask) -> None:
    from flask_wtf.csrf import generate_csrf

    from jixiao import units
    from jixiao.audit.labels import action_label

    # Every printed value, before it is escaped: numbers never in exponent notation (Decimal("1E+2") is 100).
    app.jinja_env.finalize = units.positional
    # A global, not a context variable: imported macros (history_table) see globals only.
    app.jinja_env.globals["action_label"] = action_label
    # An audit event's fields in words, as the project's 变更记录 and the audit log word them (history_table).
    app.jinja_env.globals["event_changes"] = event_changes
    # A plugin's display name (its code when it declares none), for every page that names the plugin that answered.
    app.jinja_env.globals["plugin_name"] = lambda name: plugins.host().display_name(name)

    from jixiao import policy
    from jixiao.accounts.models import ROLE_LABELS, Role
    from jixiao.system import duties

    def unread_notifications() -> int:
        from flask_login import current_user

        from jixiao.db import session
        from jixiao.jobs.notifications import unread_count

        return unread_count(session(), current_user) if current_user.is_authenticated else 0

    @app.context_processor
    def _inject() -> dict[str, Any]:
        return {"csrf_token": generate_csrf, "unread_notifications": unread_notifications,
                "may_administer_system": duties.may_administer_system,
                "may_administer_security": duties.may_administer_security, "may_read_audit": duties.may_read_audit,
                "menu": policy.menu,
                "role_label": lambda r: ROLE_LABELS.get(Role(r), r) if r in Role._value2member_map_ else r}

    @app.template_filter("localtime")
    def _localtime(value: Any) -> str:
        from flask_babel import format_datetime

        return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""
