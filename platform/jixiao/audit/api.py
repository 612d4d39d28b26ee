"""Audit log API for the audit administrator (审计管理员): every tenant's events and the operators' own."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import fields, validate

from jixiao.audit import log
from jixiao.auth import require_login
from jixiao.db import session
from jixiao.documents.uploads import attachment
from jixiao.dumping import Schema
from jixiao.spreadsheets.xlsx import XLSX_MIMETYPE

blp = Blueprint("audit_api", __name__, description="The audit log (audit administrator only)")


class EventFilterSchema(Schema):
    tenant = fields.String(validate=validate.Length(max=32),
                           metadata={"description": f"a tenant's code, or {log.PLATFORM} for the operators' own events"})
    action = fields.String(validate=validate.Length(max=64), metadata={"description": "e.g. user.login"})
    actor = fields.String(validate=validate.Length(max=64), metadata={"description": "the actor's username"})
    date_from = fields.Date(data_key="from", metadata={"description": "first day (YYYY-MM-DD, local time)"})
    date_to = fields.Date(data_key="to", metadata={"description": "last day, inclusive"})


class EventPageArgs(EventFilterSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=2**31 - 1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=log.MAX_PER_PAGE))


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    tenant_code = fields.String(metadata={"description": f"{log.PLATFORM} for an operator's event"})
    tenant_name = fields.String()
    actor_name = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class AuditEventPageSchema(Schema):
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    items = fields.List(fields.Nested(AuditEventSchema))


def _filters(args: dict[str, Any]) -> log.EventFilter:
    return log.EventFilter(tenant=args.get("tenant") or None, action=args.get("action") or None,
                           actor=args.get("actor") or None, date_from=args.get("date_from"),
                           date_to=args.get("date_to"))


@blp.route("/audit/events")
class AuditEvents(MethodView):
    @require_login
    @blp.arguments(EventPageArgs, location="query")
    @blp.response(200, AuditEventPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The audit log, newest first (filters: tenant, action, actor, from, to; page, per_page)."""
        return log.list_events(session(), current_user, _filters(args), page=args["page"], per_page=args["per_page"])


@blp.route("/audit/events.xlsx")
class AuditEventsExport(MethodView):
    @require_login
    @blp.arguments(EventFilterSchema, location="query")
    @blp.response(200, description="the .xlsx file, oldest first; the export is itself audited (audit.export)")
    def get(self, args: dict[str, Any]) -> Any:
        """The audit log matching the filters as .xlsx (user text written as text)."""
        data, filename, _count = log.export_events(session(), current_user, _filters(args))
        response = attachment(data, filename, XLSX_MIMETYPE)
        response.headers["Cache-Control"] = "private, no-store"
        return response
