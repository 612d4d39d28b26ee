"""The JSON API under /api/v1: flask-smorest for marshmallow schemas and the OpenAPI document."""

from __future__ import annotations

import http
from decimal import Decimal
from typing import Any

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api
from marshmallow import fields

from jixiao import inputs
from jixiao.dumping import Schema
from jixiao.idempotency import HEADER, IDEMPOTENCY_KEY_REUSED, KEY_PATTERN, MAX_KEY_LENGTH

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


#: Operations anyone may call, with no session or token (their answers say nothing of a bureau's private data).
PUBLIC_PATHS = {"/api/v1/health", "/api/v1/auth/login"}
PUBLIC_PREFIX = "/api/v1/public/"
#: Operations that answer 429 with ``Retry-After`` to a client that tried too often (``accounts.throttle``).
THROTTLED_PATHS = {"/api/v1/auth/login"}


TENANT_RECORDS = "/api/v1/tenants/{tenant_code}"


def _link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}",
            "parameters": {"tenant_code": "$request.path.tenant_code", **parameters}}


#: Where a created record's id leads next (OpenAPI links): create → read → update, for clients and for the
#: stateful checks of the contract test.
LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    (f"{TENANT_RECORDS}/projects", "post"): {
        "ReadProject": _link(f"{TENANT_RECORDS}/projects/{{project_id}}", "get", project_id="$response.body#/id"),
        "UpdateProject": _link(f"{TENANT_RECORDS}/projects/{{project_id}}", "patch",
                               project_id="$response.body#/id"),
        "ReadTargets": _link(f"{TENANT_RECORDS}/projects/{{project_id}}/targets", "get",
                             project_id="$response.body#/id"),
        "SetTargets": _link(f"{TENANT_RECORDS}/projects/{{project_id}}/targets", "put",
                            project_id="$response.body#/id"),
    },
    (f"{TENANT_RECORDS}/departments", "post"): {
        "UpdateDepartment": _link(f"{TENANT_RECORDS}/departments/{{department_id}}", "patch",
                                  department_id="$response.body#/id"),
    },
    (f"{TENANT_RECORDS}/users", "post"): {
        "ReadUser": _link(f"{TENANT_RECORDS}/users/{{user_id}}", "get", user_id="$response.body#/id"),
        "UpdateUser": _link(f"{TENANT_RECORDS}/users/{{user_id}}", "patch", user_id="$response.body#/id"),
    },
    (f"{TENANT_RECORDS}/assessments", "post"): {
        "ReadCampaign": _link(f"{TENANT_RECORDS}/assessments/{{campaign_id}}", "get",
                              campaign_id="$response.body#/id"),
        "ReadSubjects": _link(f"{TENANT_RECORDS}/assessments/{{campaign_id}}/subjects", "get",
                              campaign_id="$response.body#/id"),
    },
}


def query_parameter_rule(parameter: dict[str, Any]) -> None:
    """A query parameter as the request guard takes it (``jixiao.inputs.check_request``): text of one line, and
    the guard's range for the integer names it knows (years, pages, months, ids)."""
    schema = parameter.get("schema")
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and schema.get("pattern") in (inputs.TEXT_PATTERN, None) \
            and "enum" not in schema and "format" not in schema:
        schema["pattern"] = inputs.LINE_PATTERN
    bounds = inputs.integer_parameter(parameter.get("name", ""))
    if bounds is not None:
        if schema.get("type") != "integer":
            raise TypeError(f"query parameter {parameter.get('name')!r} is an integer for the request guard; "
                            "declare it with jixiao.inputs.Integer/Id/Year(query=True)")
        low, high, _label = bounds
        schema["minimum"] = max(low, schema.get("minimum", low))
        schema["maximum"] = min(high, schema.get("maximum", high))


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
            created = responses.get(201) or responses.get("201")
            if path is not None and (path, method) in LINKS and isinstance(created, dict):
                created.setdefault("links", {}).update(LINKS[(path, method)])
            if path in PUBLIC_PATHS or (path or "").startswith(PUBLIC_PREFIX):
                operation["security"] = []
            elif path in THROTTLED_PATHS:
                responses.setdefault(429, http.HTTPStatus(429).name)
            for parameter in operation.get("parameters", []):
                if isinstance(parameter, dict) and parameter.get("in") == "query":
                    query_parameter_rule(parameter)
            if IDEMPOTENCY_KEY_REUSED in responses.values():
                operation.setdefault("parameters", []).append({
                    "in": "header", "name": HEADER, "required": False,
                    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
                    "description": "a retry with the same key and body answers the first answer again"})


#: The keywords whose value JSON Schema requires to be a number: meaningless on a decimal string.
NUMERIC_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def decimal_places(field: fields.Decimal) -> int:
    if field.places is None:
        raise TypeError(f"{type(field).__name__} {field.name!r} has no fixed scale: give it places (jixiao.inputs)")
    exponent = field.places.as_tuple().exponent
    if not isinstance(exponent, int):  # places was NaN or infinite: no scale either
        raise TypeError(f"{type(field).__name__} {field.name!r}: places {field.places} is not a number")
    return -exponent


def decimals_as_strings(self: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every decimal as the string it travels as, with its fixed scale.

    Answers always carry exactly the column's places (``"1000.0000"``, ``"30.00"``); requests may send fewer
    (``"1000"``) but never more, so a field both read and written documents the wider pattern. The number
    bounds apispec derives from a Range validator do not apply to strings: a lower bound of 0 is the pattern's
    missing minus sign, and the integer digits bound the size."""
    if not isinstance(field, fields.Decimal):
        return {}
    places = decimal_places(field)
    minimum = ret.get("minimum")
    for key in NUMERIC_KEYWORDS:
        ret.pop(key, None)
    if "default" in ret and ret["default"] is not None:
        ret["default"] = str(Decimal(ret["default"]).quantize(Decimal(1).scaleb(-places)))
    sign = "" if minimum is not None and Decimal(minimum) >= 0 else "-?"
    integer_digits = getattr(field, "integer_digits", None)
    digits = f"[0-9]{{1,{integer_digits}}}" if integer_digits else "[0-9]+"
    fraction = "" if places == 0 else (
        f"\\.[0-9]{{{places}}}" if field.dump_only else f"(\\.[0-9]{{1,{places}}})?")
    scale = f"answered with exactly {places} decimal places" + ("" if field.dump_only else
                                                                 f"; send at most {places}, as a string")
    description = ret.get("description")
    return {"type": "string", "format": "decimal", "pattern": f"^{sign}{digits}{fraction}$",
            "description": f"{description} ({scale})" if description else scale}


def strings_with_their_rule(self: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every string a request may carry, with the characters it may hold (``jixiao.inputs``): a field's own
    rule (names, one-line text), else the request guard's (no control characters anywhere). Enumerations,
    formats (dates, e-mail addresses) and answers only say enough as they are."""
    if not isinstance(field, fields.String) or field.dump_only or "enum" in ret or "format" in ret \
            or "pattern" in ret:
        return {}
    rule = {"pattern": getattr(field, "pattern", inputs.TEXT_PATTERN)}
    if getattr(field, "pattern", None) == inputs.NAME_PATTERN:
        rule.update(minLength=1, **{"not": {"pattern": inputs.NAME_REFUSED_BEYOND_BMP}})
    return rule


class JixiaoApi(Api):
    ERROR_SCHEMA = ErrorSchema


def init_app(app: Flask, blueprints: list[Any]) -> None:
    """Mount the API blueprints the plugins registered (the core's first) and build the document."""
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
    api.ma_plugin.converter.add_attribute_function(decimals_as_strings)
    api.ma_plugin.converter.add_attribute_function(strings_with_their_rule)
    app.extensions["jixiao.api"] = api

    for blp in blueprints:
        api.register_blueprint(blp, url_prefix="/api/v1")
