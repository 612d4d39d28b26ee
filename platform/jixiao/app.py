"""The application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import Babel
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import jixiao.models  # noqa: F401 - every model mapped before the first query
from jixiao import auth, db, errors, inputs, plugins, security
from jixiao.config import load_config


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
    plugins.init_app(app)
    Babel(app)
    auth.init_app(app)
    security.init_app(app)
    # After auth and security, but first to run: malformed input is refused before anything reads it.
    inputs.init_app(app)

    from jixiao import api as api_module

    api_module.init_app(app)
    errors.init_app(app)

    from jixiao.accounts import views as accounts_views
    from jixiao.assessment import views as assessment_views
    from jixiao.catalog import views as catalog_views
    from jixiao.documents import views as documents_views
    from jixiao.jobs import views as jobs_views
    from jixiao.lifecycle import views as lifecycle_views
    from jixiao.spreadsheets import views as spreadsheets_views
    from jixiao.statistics import views as statistics_views
    from jixiao.system import views as system_views
    from jixiao.tenancy import views as tenancy_views

    for blueprint in (accounts_views.bp, tenancy_views.bp, lifecycle_views.bp, catalog_views.bp, statistics_views.bp,
                      jobs_views.bp, documents_views.bp, spreadsheets_views.bp, assessment_views.bp, system_views.bp):
        app.register_blueprint(blueprint)

    _register_document_owners()

    from jixiao import cli

    cli.init_app(app)
    _template_helpers(app)
    return app


def _register_document_owners() -> None:
    """Every document owner type of the core, registered when the app is made (web and worker alike), so that
    who may read a document never depends on which modules a process has imported. The app composes the
    domains; the documents package itself imports none of them."""
    from jixiao.assessment.jobs import register_document_owner as assessment_owner
    from jixiao.documents.service import register_lifecycle_owner_types
    from jixiao.spreadsheets.importer import register_document_owner as spreadsheet_owner

    register_lifecycle_owner_types()
    assessment_owner()
    spreadsheet_owner()


def _template_helpers(app: Flask) -> None:
    from flask_wtf.csrf import generate_csrf

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
