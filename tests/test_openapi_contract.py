"""The API contract: the OpenAPI document tells the truth about the answers.

One error shape (``components/schemas/Error``) on every operation for the statuses the API really answers, no
422 for a refused field (the API answers 400), valid JSON Schema throughout (numbers where numbers are due,
every ``$ref`` resolving), ``Allow`` on every 405, and a token that says what it is for.

Neither ``jsonschema`` nor ``openapi_spec_validator`` is installed: the checks below are written by hand, for the
keywords this document uses.
"""

from __future__ import annotations

import http
from typing import Any

import pytest

from jixiao.testing import unique

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
COUNT_KEYWORDS = ("maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties")
SCHEMA_TYPES = {"object", "array", "string", "number", "integer", "boolean"}
#: The one error response that is not the Error shape: the health check answers its own report (HealthSchema).
HEALTH_UNAVAILABLE = ("/api/v1/health", "get", "503")


@pytest.fixture
def spec(client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        assert node["$ref"].startswith("#/"), node
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def operations(spec: dict[str, Any]):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def problems(spec: dict[str, Any], instance: Any, schema: dict[str, Any], where: str = "") -> list[str]:
    """Why ``instance`` does not conform to ``schema`` (the keywords the Error schema uses)."""
    schema = resolve(spec, schema)
    if instance is None:
        return [] if schema.get("nullable") else [f"{where}: null"]
    python_types = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
                    "boolean": bool}
    kind = schema.get("type")
    if kind and (not isinstance(instance, python_types[kind]) or (kind != "boolean" and isinstance(instance, bool))):
        return [f"{where}: {instance!r} is not {kind}"]
    found: list[str] = []
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        found += [f"{where}/{name}: missing" for name in schema.get("required", []) if name not in instance]
        for name, value in instance.items():
            if name in properties:
                found += problems(spec, value, properties[name], f"{where}/{name}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{where}/{name}: not allowed")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += problems(spec, value, schema["additionalProperties"], f"{where}/{name}")
    if isinstance(instance, list) and "items" in schema:
        for index, value in enumerate(instance):
            found += problems(spec, value, schema["items"], f"{where}/{index}")
    return found


def documented_error_schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    response = resolve(spec, spec["paths"][path][method]["responses"][str(status)])
    return response["content"]["application/json"]["schema"]


# ---- 405 ----------------------------------------------------------------------------------------------------


def allowed_methods(app, path: str) -> set[str]:
    adapter = app.url_map.bind("localhost")
    return set(adapter.allowed_methods(path))


@pytest.mark.parametrize("path", ["/api/v1/me", "/account/tokens"])
def test_a_405_names_the_methods_the_resource_allows(app, login, path):
    answer = login("lingling_finance").put(path)
    assert answer.status_code == 405
    assert {method.strip() for method in answer.headers["Allow"].split(",")} == allowed_methods(app, path)


# ---- tokens say what they are for ---------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, {}, {"name": ""}, {"name": "   "}])
def test_a_token_without_a_purpose_is_refused_naming_name(login, body):
    finance = login("lingling_finance")
    before = finance.get("/api/v1/auth/tokens").get_json()
    answer = finance.post("/api/v1/auth/tokens", json=body) if body is not None else finance.post("/api/v1/auth/tokens")
    assert answer.status_code == 400, answer.get_json()
    error = answer.get_json()["error"]
    assert (error["code"], list(error["fields"])) == ("validation_failed", ["name"])
    assert finance.get("/api/v1/auth/tokens").get_json() == before


def test_a_token_with_a_purpose_is_created_under_that_name(login):
    finance = login("lingling_finance")
    name = unique("预算系统")
    created = finance.post("/api/v1/auth/tokens", json={"name": name})
    assert created.status_code == 201, created.get_json()
    listed = {token["id"]: token["name"] for token in finance.get("/api/v1/auth/tokens").get_json()}
    assert listed[created.get_json()["id"]] == name


def test_the_cli_token_gets_a_default_purpose_and_refuses_a_blank_one(app):
    from jixiao.cli import main

    runner = app.test_cli_runner()
    assert runner.invoke(main, ["tokens", "create", "--username", "heshan_finance"]).exit_code == 0
    refused = runner.invoke(main, ["tokens", "create", "--username", "heshan_finance", "--name", " "])
    assert refused.exit_code == 1 and "令牌用途" in refused.output


# ---- one error schema ---------------------------------------------------------------------------------------


def test_every_error_response_of_every_operation_is_the_one_error_schema(spec):
    error_ref = "#/components/schemas/Error"
    assert resolve(spec, {"$ref": error_ref})["required"] == ["error"]  # the product's shape, not flask-smorest's
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status == "default" or int(status) >= 400:
                if (path, method, status) == HEALTH_UNAVAILABLE:
                    continue
                schema = resolve(spec, response)["content"]["application/json"]["schema"]
                assert schema == {"$ref": error_ref}, (path, method, status)


def test_every_operation_documents_the_statuses_the_api_answers(spec):
    for path, method, operation in operations(spec):
        statuses = {400, 401, 403, 404, 503} | ({409, 413} if method in ("post", "put", "patch", "delete") else set())
        assert {str(status) for status in statuses} <= set(operation["responses"]), (path, method)


def test_no_operation_documents_422_but_for_a_reused_idempotency_key(spec):
    reused = "#/components/responses/IDEMPOTENCY_KEY_REUSED"
    for path, method, operation in operations(spec):
        if "422" in operation["responses"]:
            assert operation["responses"]["422"] == {"$ref": reused}, (path, method)
    assert spec["paths"]["/api/v1/auth/tokens"]["post"]["responses"]["422"] == {"$ref": reused}
    assert "422" not in spec["paths"]["/api/v1/auth/tokens"]["get"]["responses"]
    assert http.HTTPStatus(422).name not in spec["components"].get("responses", {})


def test_the_error_schema_is_what_the_errors_module_answers(spec):
    body = resolve(spec, resolve(spec, spec["components"]["schemas"]["Error"])["properties"]["error"])
    assert set(body["properties"]) == set(body["required"]) == {"code", "message", "fields"}
    assert (body["properties"]["code"]["type"], body["properties"]["message"]["type"],
            body["properties"]["fields"]["type"]) == ("string", "string", "object")


def test_real_error_answers_conform_to_the_documented_schema(app, spec, client, login, create_user):
    finance = login("lingling_finance")
    answers = {
        ("/api/v1/auth/tokens", "post", 400): finance.post("/api/v1/auth/tokens", json={"name": 5, "unknown": 1}),
        ("/api/v1/me", "get", 401): client.get("/api/v1/me"),
        ("/api/v1/auth/tokens/{token_id}", "delete", 404): finance.delete("/api/v1/auth/tokens/2147483647"),
    }
    admin = login("lingling_admin")
    username = create_user("431102")
    user_id = next(u["id"] for u in admin.get("/api/v1/tenants/431102/users").get_json() if u["username"] == username)
    url = f"/api/v1/tenants/431102/users/{user_id}"
    version = admin.get(url).get_json()["version"]
    assert admin.patch(url, json={"display_name": "第一次", "version": version}).status_code == 200
    answers[("/api/v1/tenants/{tenant_code}/users/{user_id}", "patch", 409)] = admin.patch(
        url, json={"display_name": "第二次", "version": version})
    key = unique("key")
    assert finance.post("/api/v1/auth/tokens", json={"name": unique("a")}, headers={"Idempotency-Key": key}
                        ).status_code == 201
    answers[("/api/v1/auth/tokens", "post", 422)] = finance.post(
        "/api/v1/auth/tokens", json={"name": unique("b")}, headers={"Idempotency-Key": key})
    for (path, method, status), answer in answers.items():
        assert answer.status_code == status, (path, answer.get_json())
        schema = documented_error_schema(spec, path, method, status)
        assert problems(spec, answer.get_json(), schema) == [], (path, status, answer.get_json())


def test_the_conformance_check_refuses_the_old_documented_shape(spec):
    """The hand-written check is not vacuous: flask-smorest's default error body does not pass it."""
    old_shape = {"code": 400, "status": "Bad Request", "message": "x", "errors": {}}
    schema = documented_error_schema(spec, "/api/v1/auth/tokens", "post", 400)
    assert problems(spec, old_shape, schema) == [
        "/error: missing", "/code: not allowed", "/status: not allowed", "/message: not allowed",
        "/errors: not allowed"]


# ---- valid JSON Schema throughout ---------------------------------------------------------------------------


def schemas_of(spec: dict[str, Any]):
    """Every schema object of the document, with where it is."""
    def walk(schema: Any, where: str):
        if not isinstance(schema, dict):
            return
        yield where, schema
        for name, child in schema.get("properties", {}).items():
            yield from walk(child, f"{where}/properties/{name}")
        for keyword in ("items", "additionalProperties", "not"):
            yield from walk(schema.get(keyword), f"{where}/{keyword}")
        for keyword in ("allOf", "oneOf", "anyOf"):
            for index, child in enumerate(schema.get(keyword, [])):
                yield from walk(child, f"{where}/{keyword}/{index}")

    for name, schema in spec["components"]["schemas"].items():
        yield from walk(schema, f"#/components/schemas/{name}")

    def contents(holder: dict[str, Any], where: str):
        for media, content in holder.get("content", {}).items():
            yield from walk(content.get("schema"), f"{where}/content/{media}/schema")

    for name, response in spec["components"].get("responses", {}).items():
        yield from contents(response, f"#/components/responses/{name}")
    for path, item in spec["paths"].items():
        for index, parameter in enumerate(item.get("parameters", [])):
            yield from walk(parameter.get("schema"), f"{path}/parameters/{index}")
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = f"{path}/{method}"
            for index, parameter in enumerate(operation.get("parameters", [])):
                yield from walk(parameter.get("schema"), f"{where}/parameters/{index}")
            if "requestBody" in operation:
                yield from contents(operation["requestBody"], f"{where}/requestBody")
            for status, response in operation["responses"].items():
                yield from contents(response, f"{where}/responses/{status}")


def test_every_schema_keyword_has_a_value_of_its_type(spec):
    found = []
    checked = 0
    for where, schema in schemas_of(spec):
        checked += 1
        for keyword in NUMBER_KEYWORDS:
            value = schema.get(keyword)
            if keyword in schema and (isinstance(value, bool) or not isinstance(value, (int, float))):
                found.append(f"{where}/{keyword} = {value!r}")
        for keyword in COUNT_KEYWORDS:
            value = schema.get(keyword)
            if keyword in schema and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                found.append(f"{where}/{keyword} = {value!r}")
        if "type" in schema and schema["type"] not in SCHEMA_TYPES:
            found.append(f"{where}/type = {schema['type']!r}")
        default = schema.get("default")
        if schema.get("type") in ("number", "integer") and default is not None and (
                isinstance(default, bool) or not isinstance(default, (int, float))):
            found.append(f"{where}/default = {default!r}")
        if "required" in schema and not (isinstance(schema["required"], list)
                                         and all(isinstance(name, str) for name in schema["required"])):
            found.append(f"{where}/required = {schema['required']!r}")
    assert checked > 100 and found == []


def test_decimals_are_strings_with_their_scale_and_no_number_bounds(spec):
    schemas = spec["components"]["schemas"]
    amount = schemas["ProjectCreate"]["properties"]["requested_amount"]
    assert (amount["type"], amount["format"], amount["pattern"]) == ("string", "decimal", r"^[0-9]{1,16}(\.[0-9]{1,2})?$")
    assert not set(NUMBER_KEYWORDS) & set(amount)
    answered = schemas["Score"]["properties"]["score"]
    assert (answered["type"], answered["pattern"]) == ("string", r"^-?[0-9]{1,6}\.[0-9]{2}$")
    target = schemas["Indicator"]["properties"]["target_value"]
    assert target["pattern"] == r"^-?[0-9]{1,16}(\.[0-9]{1,4})?$"
    for where, schema in schemas_of(spec):
        assert schema.get("type") != "number", where  # every decimal travels as a string


def test_every_schema_is_valid_json_schema_and_every_pattern_compiles(spec):
    import re

    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    checked = 0
    for where, schema in schemas_of(spec):
        plain = {key: value for key, value in schema.items() if key not in ("nullable", "example")}
        assert jsonschema_rs.meta.is_valid(plain), where
        if "pattern" in schema:
            re.compile(schema["pattern"])
            jsonschema_rs.validator_for({"type": "string", "pattern": schema["pattern"]})  # the ECMA reading
            checked += 1
    assert checked > 50


def test_text_patterns_are_the_checks_the_server_applies_code_point_by_code_point():
    """The document's patterns and ``inputs.text_problem`` / ``name_problem`` agree on every character."""
    import re
    import sys

    from jixiao import inputs

    text, line, name = (re.compile(pattern) for pattern in (inputs.TEXT_PATTERN, inputs.LINE_PATTERN,
                                                            inputs.NAME_PATTERN))
    beyond = re.compile(inputs.NAME_REFUSED_BEYOND_BMP)
    disagreements = []
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue  # lone surrogates: no valid UTF-8 holds them (the server refuses them too)
        char = chr(code)
        if (text.fullmatch(char) is None) != (inputs.text_problem(char) is not None):
            disagreements.append(("text", hex(code)))
        if (line.fullmatch(char) is None) != (inputs.text_problem(char, multiline=False) is not None):
            disagreements.append(("line", hex(code)))
        as_name = f"名{char}"
        if (name.fullmatch(as_name) is None or beyond.search(as_name) is not None) != (
                inputs.name_problem(as_name) is not None):
            disagreements.append(("name", hex(code)))
        if not char.isspace() and (name.fullmatch(char) is None) != (inputs.name_problem(char) is not None) \
                and beyond.search(char) is None:
            disagreements.append(("name alone", hex(code)))
    assert disagreements == []
    assert name.fullmatch(" \u3000") is None and inputs.name_problem(" \u3000") is not None


def test_a_decimal_sent_as_a_json_number_is_refused_naming_the_field(login):
    finance = login("lingling_finance")
    answer = finance.post("/api/v1/tenants/431102/projects", json={
        "code": unique("P"), "name": "数字金额", "year": 2026, "department_code": "101", "kind": "project", "fund_type": "general_public",
        "requested_amount": 500000})
    assert answer.status_code == 400
    assert list(answer.get_json()["error"]["fields"]) == ["requested_amount"]
    assert "字符串" in answer.get_json()["error"]["fields"]["requested_amount"][0]


def test_decimals_are_answered_with_their_column_scale_after_every_write(login):
    """Target values came back "1000" after a save and "1000.0000" after submit; money "500000" as typed."""
    finance, department = login("lingling_finance"), login("lingling_dept")
    created = finance.post("/api/v1/tenants/431102/projects", json={
        "code": unique("P"), "name": "小数位数", "year": 2026, "department_code": "101", "kind": "project",
        "fund_type": "general_public",
        "requested_amount": "500000"})
    assert created.status_code == 201, created.get_json()
    project = created.get_json()
    assert project["requested_amount"] == "500000.00"
    url = f"/api/v1/tenants/431102/projects/{project['id']}/targets"
    saved = department.put(url, json={"overall_target": "完成", "indicators": [
        {"level1": "产出", "level2": "数量指标", "name": "完成数", "direction": "ge", "target_value": "1000",
         "unit": "个", "weight": "50"},
        {"level1": "效益", "level2": "社会效益", "name": "满意度", "direction": "ge", "target_value": "90.5",
         "unit": "%", "weight": "50"}]})
    assert saved.status_code in (200, 201), saved.get_json()
    values = [(i["target_value"], i["weight"]) for i in saved.get_json()["indicators"]]
    assert values == [("1000.0000", "50.00"), ("90.5000", "50.00")]
    assert [(i["target_value"], i["weight"]) for i in department.get(url).get_json()["indicators"]] == values


def test_every_ref_resolves(spec):
    refs: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(spec)
    unresolved = []
    for ref in refs:
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            if not isinstance(node, dict) or part not in node:
                unresolved.append(ref)
                break
            node = node[part]
    assert refs and unresolved == []


def test_the_tokens_page_refuses_a_blank_purpose_the_same_way(login):
    auditor = login("lingling_auditor")
    before = auditor.get("/api/v1/auth/tokens").get_json()
    refused = auditor.post("/account/tokens", data={"name": "  "})
    assert refused.status_code == 400
    assert "请填写令牌用途" in refused.get_data(as_text=True) and 'id="new-token"' not in refused.get_data(as_text=True)
    assert auditor.get("/api/v1/auth/tokens").get_json() == before
