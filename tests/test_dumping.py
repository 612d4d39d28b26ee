"""The planned dump (jixiao.dumping.Schema) answers exactly what marshmallow's own ``_serialize`` answers: for the
rules a field can follow (missing values, defaults, renamed keys, dotted attributes, items and attributes, the
fields it converts inline and those it hands to the field), and for every response the API gives as each role."""

from __future__ import annotations

import decimal
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import marshmallow
import pytest
from marshmallow import fields, post_dump, pre_dump

from jixiao import dumping, inputs
from jixiao.testing import api_login

# ---- The rules, field by field ----------------------------------------------------------------------------


def both(declared: dict[str, Any], hooks: dict[str, Any] | None = None) -> tuple[marshmallow.Schema, Any]:
    """The same schema on marshmallow's base and on the planned one."""
    attrs = {**declared, **(hooks or {})}
    plain = type("Plain", (marshmallow.Schema,), {k: (v if not isinstance(v, fields.Field) else _copy(v))
                                                   for k, v in attrs.items()})
    planned = type("Planned", (dumping.Schema,), dict(attrs))
    return plain(), planned()


def _copy(field: fields.Field) -> fields.Field:
    import copy

    return copy.deepcopy(field)


@dataclass
class Thing:
    id: Any
    name: Any
    flag: Any = None
    amount: Any = None
    when: Any = None
    tags: Any = None
    child: Any = None


class Keyed:
    """Has ``__getitem__`` that fails for some keys: marshmallow falls back to the attribute."""

    name = "属性"

    def __getitem__(self, key: str) -> Any:
        if key == "id":
            return 7
        raise KeyError(key)


class ChildSchema(dumping.Schema):
    code = fields.String()
    size = fields.Integer()


DECLARED = {
    "id": fields.Integer(),
    "name": fields.String(),
    "flag": fields.Boolean(),
    "amount": inputs.Money(),
    "when": fields.DateTime(),
    "tags": fields.List(fields.String()),
    "child": fields.Nested(ChildSchema, allow_none=True),
    "renamed": fields.String(attribute="name", data_key="名称", dump_only=True),
    "walked": fields.Integer(attribute="child.size", dump_only=True),
    "absent": fields.String(),
    "defaulted": fields.String(dump_default="缺省"),
    "called": fields.Integer(dump_default=lambda: 3),
    "as_text": fields.Integer(as_string=True, attribute="id", dump_only=True),
    "method": fields.Method("shout"),
    "constant": fields.Constant("常量"),
    "raw": fields.Raw(attribute="tags", dump_only=True),
}

OBJECTS = [
    Thing(1, "一", True, decimal.Decimal("12.5"), datetime(2026, 1, 2, 3, 4, tzinfo=UTC), ["a", "b"],
          {"code": "c1", "size": 4}),
    Thing("2", b"bytes", 0, None, None, None, None),
    Thing(decimal.Decimal("3"), 42, None, "7.10", datetime(2026, 3, 1), [], Thing(0, "")),
    {"id": 4, "name": "字典", "flag": False, "tags": ("x",), "child": {"code": 9, "size": "5"}},
    {"name": "no id"},
    Keyed(),
]


def shout(self, obj: Any) -> Any:
    return f"{getattr(obj, 'name', None)}!"


@pytest.mark.parametrize("index", range(len(OBJECTS)))
def test_each_rule_answers_as_marshmallow_does(index):
    obj = OBJECTS[index]
    declared = {k: v for k, v in DECLARED.items()
                if not (k == "walked" and isinstance(getattr(obj, "child", None), Thing))}
    plain, planned = both(declared, {"shout": shout})
    assert planned.dump(obj) == plain.dump(obj)


def test_many_and_the_hooks_answer_as_marshmallow_does():
    class Hooks:
        @pre_dump(pass_collection=False)
        def wrap(self, obj, **kwargs):
            return {"id": obj["id"] * 2, "name": obj["name"]}

        @post_dump
        def mark(self, data, **kwargs):
            return {**data, "marked": True}

    hooks = {"wrap": Hooks.wrap, "mark": Hooks.mark}
    plain, planned = both({"id": fields.Integer(), "name": fields.String()}, hooks)
    rows = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert planned.dump(rows, many=True) == plain.dump(rows, many=True)
    assert planned.dump(rows[0]) == plain.dump(rows[0])


def test_only_and_exclude_are_planned_per_instance():
    class Row(dumping.Schema):
        id = fields.Integer()
        name = fields.String()

    row = {"id": 1, "name": "a"}
    assert Row(only=("id",)).dump(row) == {"id": 1}
    assert Row(exclude=("id",)).dump(row) == {"name": "a"}
    assert Row().dump(row) == {"id": 1, "name": "a"}


def test_a_schema_with_its_own_get_attribute_is_dumped_by_marshmallow():
    class Upper(dumping.Schema):
        name = fields.String()

        def get_attribute(self, obj, attr, default):
            return str(obj[attr]).upper()

    assert Upper().dump({"name": "ab"}) == {"name": "AB"}


# ---- Every response the API gives --------------------------------------------------------------------------


@pytest.fixture
def compared(monkeypatch):
    """Every planned dump is also made by marshmallow and the two compared; the schema classes compared."""
    seen: dict[str, int] = {}
    planned = dumping.Schema._serialize

    def check(self, obj, *, many=False):
        if many and obj is not None and not isinstance(obj, list | tuple):
            obj = list(obj)
        ours = planned(self, obj, many=many)
        theirs = marshmallow.Schema._serialize(self, obj, many=many)
        assert ours == theirs, type(self).__name__
        seen[type(self).__name__] = seen.get(type(self).__name__, 0) + 1
        return ours

    monkeypatch.setattr(dumping.Schema, "_serialize", check)
    return seen


def first_id(user, path: str) -> Any:
    response = user.get(path)
    if response.status_code != 200:
        return None
    body = response.get_json()
    items = body.get("items") if isinstance(body, dict) else body
    return items[0]["id"] if items else None


def fill(user, code: str) -> dict[str, Any]:
    base = f"/api/v1/tenants/{code}"
    values: dict[str, Any] = {"tenant_code": code, "public_code": code, "kind": "targets"}
    for name, path in (("user_id", "/users"), ("department_id", "/departments"), ("project_id", "/projects"),
                       ("evaluation_id", "/evaluations"), ("agency_id", "/agencies"), ("notice_id", "/rectifications"),
                       ("expert_id", "/experts"), ("campaign_id", "/assessments"), ("document_id", "/documents")):
        values[name] = first_id(user, base + path)
    projects = user.get(base + "/projects").get_json()
    if projects and projects.get("items"):
        values["year"] = projects["items"][0]["year"]
    values["job_id"] = first_id(user, "/api/v1/jobs")
    if values["campaign_id"] is not None:
        values["subject_id"] = first_id(user, f"{base}/assessments/{values['campaign_id']}/subjects")
    return values


@pytest.mark.parametrize(("username", "code"), [("lingling_finance", "431102"), ("lingling_dept", "431102"),
                                                ("yongzhou_finance", "431100"), ("hunan_admin", "430000"),
                                                ("lingling_evaluator", "431102")])
def test_every_get_of_the_api_dumps_as_marshmallow_does(app, compared, username, code):
    user = api_login(app, username)
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    values = fill(user, code)
    answered = 0
    for path, item in spec["paths"].items():
        if "get" not in item or path.endswith(("/download", "/export", "/openapi.json")):
            continue
        names = re.findall(r"{(\w+)}", path)
        if any(values.get(name) is None for name in names):
            continue
        response = user.get(re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), path))
        assert response.status_code < 500, path
        answered += response.status_code == 200
    assert answered >= 20, answered
    if username == "lingling_finance":
        assert {"ProjectRowSchema", "ProjectSchema", "DepartmentRefSchema"} <= set(compared), sorted(compared)
