"""Platform API: installed plugins, health."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import fields

from jixiao.auth import require_login
from jixiao.db import session
from jixiao.dumping import Schema
from jixiao.errors import RETRY_AFTER_SECONDS, database_unavailable
from jixiao.plugins import host
from jixiao.system import service

blp = Blueprint("system_api", __name__, description="Plugins and platform health")


class PluginSchema(Schema):
    name = fields.String(metadata={"description": "the code tenants YAML files enable it by"})
    display_name = fields.String(metadata={"description": "its name in words (its DISPLAY_NAME, else its code)"})
    version = fields.String()
    distribution = fields.String()
    builtin = fields.Boolean()
    hooks = fields.List(fields.String())
    tenants = fields.List(fields.String(), metadata={"description": "codes of tenants that enable it in their own file"})


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()
    redis = fields.String(metadata={"description": "ok, unavailable, or embedded (no Redis configured)"})


@blp.route("/plugins")
class Plugins(MethodView):
    @require_login
    @blp.response(200, PluginSchema(many=True))
    def get(self) -> Any:
        """Installed plugins: name, version, hooks implemented, and the tenants that enable each."""
        return service.plugin_listing(session(), host(), current_user)


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="the database cannot be reached")
    def get(self) -> Any:
        """Liveness: the database answers (503 with ``Retry-After`` when it does not); Redis is reported but
        pages work without it."""
        db = session()
        try:
            db.execute(sa.text("SELECT 1"))
        except sa.exc.DBAPIError as exc:
            if not database_unavailable(exc):
                raise
            db.rollback()
            return {"status": "unavailable", "database": "down", "redis": service.redis_status()}, 503, {
                "Retry-After": RETRY_AFTER_SECONDS}
        return {"status": "ok", "database": db.get_bind().dialect.name, "redis": service.redis_status()}
