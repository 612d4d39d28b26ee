"""The whole OpenAPI document, held by schemathesis: every operation, with a finance and a department token,
against the app on PostgreSQL, with every check — a server error, an answer the document does not describe,
a schema-valid request refused or a schema-violating one accepted fails the test.

The run is bounded (``MAX_EXAMPLES`` per operation, derandomized, so a failure reproduces on the same commit)
and uses a database of its own, so its writes never meet the rest of the suite's.

The document states every rule a field has on its own (types, bounds, lengths, patterns, enumerations). What
it cannot state — a password policy, a one-time code, whether a referenced record exists and belongs to the
project, a spreadsheet's contents, a rule across two fields — is ``DOMAIN_REFUSALS``: for each operation, the
fields a 400 may name although the request matched the schema. A 400 naming any other field is a failure.
"""

from __future__ import annotations

import fnmatch
import os
import re
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.core.failures import AcceptedNegativeData, FailureGroup  # noqa: E402
from schemathesis.openapi.checks import RejectedPositiveData  # noqa: E402
from schemathesis.specs.openapi.checks import ignored_auth  # noqa: E402

from jixiao.testing import create_test_database, drop_test_database, make_app, prepare_database  # noqa: E402

MAX_EXAMPLES = int(os.environ.get("JIXIAO_SCHEMATHESIS_EXAMPLES", "6"))
TENANT = "431102"
USERS = ("lingling_finance", "lingling_dept")

#: Operations not fuzzed: they would end the run's own authentication (revoke its token, end its session).
NOT_FUZZED = {
    ("POST", "/api/v1/auth/logout"),
    ("DELETE", "/api/v1/auth/tokens/{token_id}"),
    ("POST", "/api/v1/auth/second-factor/enroll"),
}

#: Refusals no JSON Schema of OpenAPI 3.0 can state: per operation, the fields a 400 may name for a request the
#: document accepts, and why. Names may end in ``*`` (the request guard names a refused key by its path). Each
#: entry is one a run needed (``JIXIAO_CONTRACT_REFUSALS_LOG=file`` lists what a run used), or its sibling for the
#: same rule (another operation naming the project's own evaluation); the operations only an administrator
#: reaches answer these tokens 403 and need none.
DOMAIN_REFUSALS: dict[tuple[str, str], tuple[set[str], str]] = {
    ("POST", "/api/v1/auth/password"): ({"current_password"}, "the current password"),
    ("POST", "/api/v1/auth/second-factor/confirm"): ({"otp"}, "a one-time code"),
    ("POST", "/api/v1/jobs"): ({"args.*"}, "free-form arguments: OpenAPI 3.0 has no propertyNames"),
    ("PATCH", "/api/v1/tenants/{tenant_code}/settings"): ({"settings.*"},
                                                         "free-form keys: OpenAPI 3.0 has no propertyNames"),
    ("POST", "/api/v1/tenants/{tenant_code}/users"): ({"username"}, "a name reserved or already taken"),
    ("POST", "/api/v1/tenants/{tenant_code}/projects"): (
        {"department_code", "spending_modalities", "is_special_fund", "fund_source", "continues_project_id"},
        "finance names the unit; rules across fields: none alone, a special fund only a project, a source only on one;"
        " the continued project is an earlier one of the bureau's own"),
    ("PATCH", "/api/v1/tenants/{tenant_code}/projects/{project_id}"): (
        {"spending_modalities", "is_special_fund", "fund_source", "continues_project_id"},
        "rules across fields and the stored project: none alone, a special fund only a project, a source only on one;"
        " the continued project is an earlier one of the bureau's own"),
    ("PUT", "/api/v1/tenants/{tenant_code}/evaluation-plans/{year}"): ({"year"}, "a budget year from 1990 to 2100"),
    ("PUT", "/api/v1/tenants/{tenant_code}/projects/{project_id}/exante"): (
        {"scores.*", "comments.*"}, "the bureau's own ex-ante criteria, as keys"),
    ("POST", "/api/v1/tenants/{tenant_code}/projects/{project_id}/monitoring/{period}/response"): (
        {"period"}, "a warning of that month that asks for a decision"),
    ("POST", "/api/v1/tenants/{tenant_code}/projects/{project_id}/payment"): ({"reason"}, "a suspension says why"),
    ("POST", "/api/v1/tenants/{tenant_code}/projects/{project_id}/publish"): (
        {"targets", "evaluation_id"}, "something to publish; the project's own evaluation"),
    ("POST", "/api/v1/tenants/{tenant_code}/projects/{project_id}/results"): (
        {"evaluation_id"}, "the project's own evaluation"),
    ("POST", "/api/v1/tenants/{tenant_code}/projects/{project_id}/rectifications"): (
        {"evaluation_id"}, "the project's own evaluation"),
    ("POST", "/api/v1/tenants/{tenant_code}/evaluations/sample"): ({"agency_id"}, "the bureau's own agency"),
    ("POST", "/api/v1/tenants/{tenant_code}/experts"): (
        {"conflict_department_ids", "conflict_project_ids", "user_id"},
        "departments and projects the bureau can see; a login of the bureau with the expert role, not yet linked"),
    ("PATCH", "/api/v1/tenants/{tenant_code}/experts/{expert_id}"): (
        {"conflict_department_ids", "conflict_project_ids", "user_id"},
        "departments and projects the bureau can see; a login of the bureau with the expert role, not yet linked"),
    ("POST", "/api/v1/tenants/{tenant_code}/projects/{project_id}/expert-draws"): (
        {"count"}, "enough experts of the field left after the conflicts"),
    ("POST", "/api/v1/tenants/{tenant_code}/imports/projects"): ({"file"}, "a spreadsheet's contents"),
    ("POST", "/api/v1/tenants/{tenant_code}/rectifications/{notice_id}/files"): ({"file"}, "a file's contents"),
    ("GET", "/api/v1/tenants/{tenant_code}/statistics/league"): ({"city"}, "a city the bureau oversees"),
    ("GET", "/api/v1/tenants/{tenant_code}/exports/league"): ({"city"}, "a city the bureau oversees"),
    ("POST", "/api/v1/tenants/{tenant_code}/evaluations/{evaluation_id}/unpublish"): (
        {"reason"}, "a reason that is not blank"),
    ("POST", "/api/v1/tenants/{tenant_code}/assessments"): ({"scheme"}, "a scheme the bureau's plugins offer"),
    ("POST", "/api/v1/tenants/{tenant_code}/assessment-results/{campaign_id}/evidence"): (
        {"file", "indicator"}, "the scheme's items; a file's contents"),
    ("POST", "/api/v1/tenants/{tenant_code}/assessments/{campaign_id}/subjects/{subject_id}/evidence"): (
        {"file", "indicator"}, "the scheme's items; a file's contents"),
}


@pytest.fixture(scope="module")
def contract_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not os.environ.get("JIXIAO_TEST_DATABASE_URL"):
        pytest.skip("the contract run is against PostgreSQL (JIXIAO_TEST_DATABASE_URL)")
    database = create_test_database(tmp_path_factory.mktemp("contract-db"))
    app = make_app(database, tmp_path_factory.mktemp("contract-instance"))
    prepare_database(app)
    yield app
    app.extensions["jixiao.db"].engine.dispose()
    drop_test_database(database)


@pytest.fixture(scope="module")
def tokens(contract_app: Any) -> dict[str, str]:
    from jixiao.testing import api_login

    made = {}
    for username in USERS:
        client = api_login(contract_app, username)
        answer = client.post("/api/v1/auth/tokens", json={"name": "contract run"})
        assert answer.status_code == 201, answer.get_json()
        made[username] = answer.get_json()["token"]
    return made


@pytest.fixture(scope="module")
def real_ids(contract_app: Any, tokens: dict[str, str]) -> dict[str, list[int]]:
    """Ids of records the bureau holds, so that most cases reach a record instead of a 404."""
    client = contract_app.test_client()
    headers = {"Authorization": f"Bearer {tokens['lingling_finance']}"}

    def ids(url: str, key: str | None = None) -> list[int]:
        body = client.get(url, headers=headers).get_json()
        rows = body[key] if key else body
        return [row["id"] for row in rows][:5]

    base = f"/api/v1/tenants/{TENANT}"
    return {
        "project_id": ids(f"{base}/projects", "items"),
        "evaluation_id": ids(f"{base}/evaluations"),
        "notice_id": ids(f"{base}/rectifications"),
        "department_id": ids(f"{base}/departments"),
    }


@pytest.fixture(scope="module")
def api_schema(contract_app: Any) -> Any:
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", contract_app)
    # The coverage phase's boundary cases run to hundreds per operation: examples and bounded fuzzing keep the
    # run to a few minutes (the CLI run in docs/api.md adds it).
    loaded.config.phases.update(phases=["examples", "fuzzing", "stateful"])
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_the_lazy_schema(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32 renames each operation's test through the node's private ``_nodeid``, which pytest 9
    # no longer has; without it the lazy schema fails before the first request.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def refusal_is_domain(case: Any, response: Any) -> bool:
    """Whether a 400 for a schema-valid request names only fields whose rule the document cannot state."""
    allowed, _why = DOMAIN_REFUSALS.get((case.operation.method.upper(), case.operation.path), (set(), ""))
    if response.status_code != 400:
        return False
    named = set(((response.json() or {}).get("error") or {}).get("fields") or {})
    declared = declared_names(case)
    # A key the operation does not declare (an extra form field, JSON member) is the request guard's: OpenAPI
    # 3.0 cannot say what the names of undeclared properties may hold.
    domain = bool(named) and all(name.split(".")[0] not in declared
                                 or any(fnmatch.fnmatchcase(name, pattern) for pattern in allowed) for name in named)
    if domain and os.environ.get("JIXIAO_CONTRACT_REFUSALS_LOG"):
        # Which entries a run needed: an entry no run needs is a rule the document could state.
        with open(os.environ["JIXIAO_CONTRACT_REFUSALS_LOG"], "a", encoding="utf-8") as log:
            for name in sorted(named):
                log.write(f"{case.operation.method.upper()} {case.operation.path} {name}\n")
    return domain


def declared_names(case: Any) -> set[str]:
    raw = case.operation.definition.raw
    names = {parameter.get("name") for parameter in raw.get("parameters", []) if isinstance(parameter, dict)}
    for content in (raw.get("requestBody") or {}).get("content", {}).values():
        schema = content.get("schema") or {}
        if "$ref" in schema:
            schema = case.operation.schema.raw_schema["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        names |= set(schema.get("properties", {}))
    return {name for name in names if name}


#: Headers the test replaces with its own (valid) values before a case is sent.
SENT_BY_THE_TEST = {"Authorization", "Idempotency-Key", "Cookie"}


def only_replaced_headers(failure: Any) -> bool:
    """A "schema-violating request accepted" whose violations were all in headers the test replaced: the request
    actually sent was valid (the stateful run generates negative headers, then sends its own)."""
    if not isinstance(failure, AcceptedNegativeData):
        return False
    components = re.search(r"Invalid component: parameters (.+) in header\n", str(failure.message))
    return components is not None and set(re.findall(r"`([^`]+)`", components.group(1))) <= SENT_BY_THE_TEST


def validate(case: Any, response: Any, context: str = "") -> None:
    """Every check but ``ignored_auth`` (the test sends its own credentials); a refusal the document cannot
    state (``DOMAIN_REFUSALS``) is not a failure, nor a "negative" case whose only invalid parts are headers the
    test replaced with valid ones."""
    try:
        case.validate_response(response, excluded_checks=[ignored_auth])
    except FailureGroup as group:
        left = [failure for failure in group.exceptions
                if not (isinstance(failure, RejectedPositiveData) and refusal_is_domain(case, response))
                and not only_replaced_headers(failure)]
        if left:
            raise FailureGroup(left, f"{context}{group.message}") from None


def aim(case: Any, real_ids: dict[str, list[int]]) -> None:
    """The bureau's own tenant, and most of the time one of its real records."""
    parameters = case.path_parameters or {}
    for name in ("tenant_code", "public_code"):
        if name in parameters:
            parameters[name] = TENANT
    seed = zlib.crc32(repr(sorted((case.query or {}).items(), key=str)).encode())
    for name, ids in real_ids.items():
        if name in parameters and ids and seed % 4:
            parameters[name] = ids[seed % len(ids)]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_document_says(case: Any, tokens: dict[str, str],
                                              real_ids: dict[str, list[int]]) -> None:
    operation = (case.operation.method.upper(), case.operation.path)
    if operation in NOT_FUZZED:
        pytest.skip("ends the run's own authentication")
    aim(case, real_ids)
    # The run brings its own credentials; schemathesis's generated ones (a random cookie or bearer) are not sent.
    case.cookies = {}
    case.headers = {name: value for name, value in (case.headers or {}).items()
                    if name.lower() not in ("authorization", "cookie", "idempotency-key")}
    public = case.operation.definition.raw.get("security") == []
    for username in USERS:
        # A retrying client sends one key per request; a key reused for another body is 422, as documented.
        headers = {"Authorization": f"Bearer {tokens[username]}", "Idempotency-Key": uuid.uuid4().hex}
        response = case.call(headers=headers)
        validate(case, response, f"as {username}:\n")
    if not public:
        # What ignored_auth checks, with the run's own credentials left out: no token, no cookie, 401.
        # The request guard (400, 413) and routing (404, 405) answer before authentication does.
        anonymous = case.call(headers={"Idempotency-Key": uuid.uuid4().hex})
        assert anonymous.status_code in (400, 401, 404, 405, 413), (operation, anonymous.status_code,
                                                                    anonymous.text[:300])


#: The stateful run: scenarios of linked calls (create → read → update, OpenAPI links in the document).
STATEFUL_SCENARIOS = int(os.environ.get("JIXIAO_SCHEMATHESIS_SCENARIOS", "10"))
#: The operations the links join (the rest are fuzzed one by one above).
LINKED_PATHS = (r"^/api/v1/tenants/\{tenant_code\}/(projects(/\{project_id\}(/targets)?)?"
                r"|departments(/\{department_id\})?|users(/\{user_id\})?|assessments(/\{campaign_id\}(/subjects)?)?)$")


def test_linked_operations_follow_each_other_as_the_links_say(api_schema: Any, tokens: dict[str, str]) -> None:
    """Each scenario creates records and follows the document's links to read and update them, as the unit
    (which creates projects without naming a department); every answer on the way is checked as above, and
    some project created on the way is read back through its link."""
    links = sum(len(response.get("links", {})) for item in api_schema.raw_schema["paths"].values()
                for operation in item.values() if isinstance(operation, dict)
                for response in operation.get("responses", {}).values() if isinstance(response, dict))
    assert links >= 9  # the document's own links: projects, departments, users, campaigns
    token = tokens["lingling_dept"]
    followed: list[int] = []

    linked = api_schema.include(path_regex=LINKED_PATHS)

    class Workflow(linked.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            case.cookies = {}
            if case.path_parameters and "tenant_code" in case.path_parameters:
                case.path_parameters["tenant_code"] = TENANT
            return {"headers": {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}}

        def after_call(self, response: Any, case: Any) -> None:
            if case.operation.path.endswith("/projects/{project_id}") and response.status_code == 200:
                followed.append(response.json()["id"])

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            validate(case, response)

    Workflow.run(settings=settings(max_examples=STATEFUL_SCENARIOS, stateful_step_count=6, deadline=None,
                                   derandomize=True, database=None, suppress_health_check=list(HealthCheck)))
    assert followed, "no scenario created a project and read it back through the document's links"
