"""The JSON API under /api/v1: flask-smorest for marshmallow schemas and the OpenAPI document."""

from __future__ import annotations

import http
from decimal import Decimal
from typing import Any

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api
from marshmallow import Schema, fields

from jixiao.idempotency import HEADER, IDEMPOTENCY_KEY_REUSED, MAX_KEY_LENGTH

#: The error statuses every operation can answer (``jixiao.errors``): 400 a parameter, a body or a field refused
#: (the request guard sees every request), 401/403 not logged in or not allowed, 404 not found or not visible,
#: 503 the database unreachable. A write can also lose a race (409) or be too large (413).
STATUSES_OF_EVERY_OPERATION = (400, 401, 403, 404, 503)
STATUSES_OF_A_WRITE = (409, 413)
WRITE_METHODS = ("post", "put", "patch", "delete")


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "machine-readable, e.g. validation_failed"})
    message = fields.String(required=True, metadata={"description": "for a person, in Chinese"})
    refused_fields = fields.Dict(
        keys=fields.String(), values=fields.Raw(), required=True, data_key="fields",
        metadata={"description": "the refused fields, each with why: a string (the service's check), a list of "
                                 "strings (the request schema's checks; nested for nested fields), or the "
                                 "refused rows of a spreadsheet import; {} when no field is to blame"})


class ErrorSchema(Schema):
    """Every error the API answers: ``{"error": {"code", "message", "fields"}}`` (``jixiao.errors``)."""

    error = fields.Nested(ErrorBodySchema, required=True)


class ErrorResponsesPlugin(BasePlugin):
    """Documents the errors the API really answers, in the one ``Error`` shape, on every operation.

    flask-smorest documents a request schema's refusal as 422; the product answers it 400 (``jixiao.errors``),
    so that 422 is replaced; the only 422 left is a reused ``Idempotency-Key``."""

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for code in [code for code, response in responses.items()
                         if str(code) == "422" and response == http.HTTPStatus(422).name]:
                del responses[code]
            documented = {str(code) for code in responses}
            statuses = STATUSES_OF_EVERY_OPERATION + (STATUSES_OF_A_WRITE if method in WRITE_METHODS else ())
            for status in statuses:
                if str(status) not in documented:
                    responses[status] = http.HTTPStatus(status).name
            if IDEMPOTENCY_KEY_REUSED in responses.values():
                operation.setdefault("parameters", []).append({
                    "in": "header", "name": HEADER, "required": False,
                    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                    "description": "a retry with the same key and body answers the first answer again"})


#: The keywords whose value JSON Schema requires to be a number (``default`` of a number too).
NUMERIC_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "default")


def decimals_as_numbers(self: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The bounds and default of a money or score field as JSON numbers.

    apispec writes a Range validator's bound as the field would answer it, and these fields answer decimal
    strings (``"0.00"``): ``"minimum": "0.00"`` is not valid JSON Schema."""
    if not isinstance(field, fields.Decimal):
        return {}
    numbers = {}
    for key in NUMERIC_KEYWORDS:
        value = ret.get(key)
        if isinstance(value, (str, Decimal)):
            number = Decimal(value)
            numbers[key] = int(number) if number == number.to_integral_value() else float(number)
    return numbers


class JixiaoApi(Api):
    ERROR_SCHEMA = ErrorSchema


def init_app(app: Flask) -> None:
    app.config.setdefault("API_SPEC_OPTIONS", {})
    app.config["API_SPEC_OPTIONS"].update(
        {
            "info": {"description": "Jixiao (绩效) API. Every error is {\"error\": {\"code\", \"message\", \"fields\"}} "
                                    "(components/schemas/Error); a refused field is 400, never 422."},
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
    api = JixiaoApi(app, spec_kwargs={"extra_plugins": [ErrorResponsesPlugin()]})
    api.spec.components.response(IDEMPOTENCY_KEY_REUSED, {
        "description": "this Idempotency-Key was used for another request (method, path or body differ)",
        "content": {"application/json": {"schema": ErrorSchema}}})
    api.ma_plugin.converter.add_attribute_function(decimals_as_numbers)
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
