"""The shape of the core, held by tests: no import cycle, no reach into another module's private names,
infrastructure that imports no domain, and an app made of what its plugins register.

The import graph is read from the source with ``ast`` (nothing is imported): imports inside functions count,
because hiding a cycle inside a function does not open it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest
from flask import Blueprint
from flask_smorest import Blueprint as SmorestBlueprint

from jixiao import hookimpl

PLATFORM = Path(__file__).resolve().parents[1] / "platform"
#: Infrastructure the domains build on: it may import the foundation (db, errors, accounts, tenancy, audit …),
#: never a domain. The documents package still renders the lifecycle's PDFs itself (noted in the issue).
INFRASTRUCTURE = ("jixiao.jobs", "jixiao.documents")
DOMAINS = ("jixiao.lifecycle", "jixiao.assessment", "jixiao.spreadsheets", "jixiao.statistics", "jixiao.catalog")


def _modules() -> dict[str, Path]:
    found = {}
    for path in (PLATFORM / "jixiao").rglob("*.py"):
        parts = list(path.relative_to(PLATFORM).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _owner(name: str, modules: set[str]) -> str | None:
    """The module a dotted name belongs to (``jixiao.db.session`` → ``jixiao.db``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path, modules: set[str]) -> tuple[set[str], list[str]]:
    """The jixiao modules ``module`` imports anywhere in its source, and its uses of other modules' private
    names (as ``"line: module._name"``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    imported: set[str] = set()
    bound: dict[str, str] = {}  # a local name → the jixiao module it names
    private: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _owner(alias.name, modules)
                if target:
                    imported.add(target)
                    bound[alias.asname or alias.name.split(".")[0]] = target if alias.asname else "jixiao"
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("jixiao"):
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in modules:
                    imported.add(full)
                    bound[alias.asname or alias.name] = full
                elif (target := _owner(base, modules)) is not None:
                    imported.add(target)
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.append(f"{node.lineno}: {target}.{alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            target = _named_module(node.value, bound, modules)
            if target and target != module:
                private.append(f"{node.lineno}: {target}.{node.attr}")
    imported.discard(module)
    return imported, private


def _named_module(node: ast.expr, bound: dict[str, str], modules: set[str]) -> str | None:
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _named_module(node.value, bound, modules)
        if base and f"{base}.{node.attr}" in modules:
            return f"{base}.{node.attr}"
    return None


def _graph() -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    found = _modules()
    names = set(found)
    edges, private = {}, {}
    for module, path in found.items():
        edges[module], private[module] = _imports(module, path, names)
    return edges, private


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(edges):
        if start in index:
            continue
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work = [(start, iter(sorted(edges[start])))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def test_the_graph_reader_finds_a_cycle_hidden_in_a_function():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]


def test_the_core_has_no_import_cycle():
    edges, _ = _graph()
    assert len(edges) > 100  # the reader found the package
    assert _cycles(edges) == []


def test_no_module_uses_another_modules_private_names():
    _, private = _graph()
    assert {module: uses for module, uses in private.items() if uses} == {}


def test_infrastructure_imports_no_domain():
    edges, _ = _graph()
    reaching = {module: sorted(target for target in targets if target.startswith(DOMAINS))
                for module, targets in edges.items() if module.startswith(INFRASTRUCTURE)}
    assert {module: targets for module, targets in reaching.items() if targets} == {}


def test_no_adapter_imports_another_adapter():
    """Pages and endpoints are thin adapters over services: what two of them share is service code."""
    edges, _ = _graph()
    adapters = {module for module in edges if module.rsplit(".", 1)[-1] in ("api", "views")} - {"jixiao.api"}
    assert {module: sorted(edges[module] & adapters) for module in adapters if edges[module] & adapters} == {}


# ---- An app is made of what its plugins register -------------------------------------------------------------

vendor_pages = Blueprint("vendor_pages", __name__)


@vendor_pages.get("/vendor/ping")
def ping() -> str:
    return "pong"


vendor_api = SmorestBlueprint("vendor_api", __name__, description="A vendor's endpoint")


@vendor_api.route("/vendor/status")
@vendor_api.response(200)
def vendor_status() -> dict[str, str]:
    """The vendor's status."""
    return {"vendor": "ok"}


@click.command("vendor-hello")
def vendor_hello() -> None:
    click.echo("你好")


class VendorPlugin:
    """A vendor's plugin using every composition hook."""

    @hookimpl
    def register_blueprints(self):
        return [vendor_pages]

    @hookimpl
    def register_api_blueprints(self):
        return [vendor_api]

    @hookimpl
    def register_document_owners(self):
        import sqlalchemy as sa

        from jixiao.toolkit import DocumentOwner

        return [DocumentOwner("vendor_ledgers", lambda session, actor, tenant: sa.false(), "厂商台账")]

    @hookimpl
    def register_commands(self):
        return [vendor_hello]

    @hookimpl
    def register_job_kinds(self):
        from jixiao.jobs.service import job_kind

        return [job_kind("vendor.count", label="厂商统计")(_vendor_count)]

    @hookimpl
    def register_schedules(self):
        from jixiao.jobs.service import Schedule

        return [Schedule("vendor.count", "0 3 * * *", "每日厂商统计")]

    @hookimpl
    def register_todo_sources(self):
        return [_vendor_todo]

    @hookimpl
    def register_assessment_metrics(self):
        from jixiao.assessment.metrics import CORE_METRICS, Metric

        spent = CORE_METRICS[0]
        return [Metric("vendor_units", "厂商指标", spent.numerator, spent.denominator)]


def _vendor_count(ctx, **args):
    return {"counted": True}


def _vendor_todo(session, actor, tenant):
    from jixiao.lifecycle.todo import TodoItem

    return [TodoItem("vendor", "厂商待办：核对台账", 1, "台账", "overview")]


@pytest.fixture()
def vendor_app(app):
    from tests.test_audit_and_api import make_app_like

    return make_app_like(app, EXTRA_PLUGINS=[("vendor", VendorPlugin())], REDIS_URL=None)


def test_hook_register_blueprints_adds_pages_to_that_app_only(app, vendor_app):
    assert vendor_app.test_client().get("/vendor/ping").get_data(as_text=True) == "pong"
    assert app.test_client().get("/vendor/ping").status_code == 404


def test_hook_register_api_blueprints_mounts_and_documents_the_endpoints(app, vendor_app):
    assert vendor_app.test_client().get("/api/v1/vendor/status").get_json() == {"vendor": "ok"}
    assert "/api/v1/vendor/status" in vendor_app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/vendor/status" not in app.test_client().get("/api/v1/openapi.json").get_json()["paths"]


def test_hook_register_commands_joins_the_command_line(app, vendor_app):
    assert vendor_app.test_cli_runner().invoke(args=["vendor-hello"]).output == "你好\n"
    assert "vendor-hello" not in app.cli.commands


def test_hook_register_job_kinds_per_app_never_on_import(app, vendor_app):
    from jixiao.jobs import service as jobs

    with vendor_app.app_context():
        assert jobs.kinds()["vendor.count"].label == "厂商统计"
    with app.app_context():
        # Another app of the same process knows none of it: registration is per app, never a side effect.
        assert "vendor.count" not in jobs.kinds()


def test_hook_register_schedules_runs_from_the_command_line(app, vendor_app):
    from jixiao.jobs import service as jobs

    with vendor_app.app_context():
        assert [s.kind for s in jobs.schedules()] == ["scan.monitoring_reminders", "scan.daily",
                                                      "scan.assessment_deadlines", "vendor.count"]
    with app.app_context():
        assert [s.kind for s in jobs.schedules()] == ["scan.monitoring_reminders", "scan.daily",
                                                      "scan.assessment_deadlines"]
    result = vendor_app.test_cli_runner().invoke(args=["jobs", "run", "vendor.count"])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output and "counted" in result.output


def test_hook_register_document_owners_says_who_reads_them(app, vendor_app):
    from jixiao.documents import service as documents

    with vendor_app.app_context():
        assert documents.owner_labels()["vendor_ledgers"] == "厂商台账"
    with app.app_context():
        assert "vendor_ledgers" not in documents.owner_types()


def test_hook_register_assessment_metrics(app, vendor_app):
    from jixiao.assessment import metrics

    with vendor_app.app_context():
        assert metrics.registered()["vendor_units"].label == "厂商指标"
    with app.app_context():
        assert "vendor_units" not in metrics.registered()


def test_hook_register_todo_sources_adds_to_the_home_pages_list(app, vendor_app):
    from jixiao.testing import api_login

    finance = api_login(vendor_app, "lingling_finance")
    labels = [item["label"] for item in finance.get("/api/v1/tenants/431102/todo").get_json()]
    assert labels[-1] == "厂商待办：核对台账"
    plain = api_login(app, "lingling_finance")
    assert "厂商待办：核对台账" not in [item["label"] for item in plain.get("/api/v1/tenants/431102/todo").get_json()]


class Twice:
    @hookimpl
    def register_job_kinds(self):
        from jixiao.jobs.service import job_kind

        return [job_kind("system.selfcheck", label="重名")(_vendor_count)]


class ScheduleOfNothing:
    @hookimpl
    def register_schedules(self):
        from jixiao.jobs.service import Schedule

        return [Schedule("vendor.nothing", "0 3 * * *", "无此任务")]


@pytest.mark.parametrize(("plugin", "said"), [(Twice(), "job kind system.selfcheck is registered twice"),
                                              (ScheduleOfNothing(), "vendor.nothing, which no plugin registers")])
def test_a_clash_stops_the_app_from_being_made(app, plugin, said):
    from tests.test_audit_and_api import make_app_like

    with pytest.raises(ValueError, match=said):
        make_app_like(app, EXTRA_PLUGINS=[("clash", plugin)])


def test_the_core_features_are_plugins_that_the_listing_leaves_out(app):
    host = app.extensions["jixiao.plugins"]
    assert "core.lifecycle" in host.core_names and "core.assessment" in host.core_names
    assert not any(info.name.startswith("core.") for info in host.info())
