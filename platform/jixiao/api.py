"""The JSON API under /api/v1: flask-smorest for marshmallow schemas and the OpenAPI document."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask) -> None:
    app.config.setdefault("API_SPEC_OPTIONS", {})
    app.config["API_SPEC_OPTIONS"].update(
        {
            "info": {"description": "Jixiao (绩效) API. Errors: {\"error\": {\"code\", \"message\", \"fields\"}}."},
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
                }
            },
            "security": [{"bearer": []}, {"cookie": []}],
        }
    )
    # One Api per app: the OpenAPI document is built per app, so several apps (tests) never share one.
    api = Api(app)
    app.extensions["jixiao.api"] = api

    from jixiao.accounts.api import blp as accounts_blp
    from jixiao.assessment.api import blp as assessment_blp
    from jixiao.audit.api import blp as audit_blp
    from jixiao.catalog.api import blp as catalog_blp
    from jixiao.documents.api import blp as documents_blp
    from jixiao.jobs.api import blp as jobs_blp
    from jixiao.lifecycle.api import blp as lifecycle_blp
    from jixiao.spreadsheets.api import blp as spreadsheets_blp
    from jixiao.statistics.api import blp as statistics_blp
    from jixiao.system.api import blp as system_blp
    from jixiao.system.security_api import blp as security_blp
    from jixiao.tenancy.api import blp as tenancy_blp

    for blp in (accounts_blp, tenancy_blp, lifecycle_blp, catalog_blp, assessment_blp, statistics_blp, jobs_blp, documents_blp,
                spreadsheets_blp, system_blp, security_blp, audit_blp):
        api.register_blueprint(blp, url_prefix="/api/v1")
