"""The core's tests. Fixtures (app, client, login, create_user) come from jixiao.testing (a pytest plugin)."""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from jixiao.testing import create_migrated_database, drop_test_database, make_app

ROOT = Path(__file__).resolve().parents[1]


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = "PostgreSQL (" + os.environ["JIXIAO_TEST_DATABASE_URL"].split("@")[-1] + ")" if os.environ.get(
        "JIXIAO_TEST_DATABASE_URL") else "SQLite (embedded default)"
    redis = os.environ.get("JIXIAO_TEST_REDIS_URL") or "none (jobs in-process)"
    return [f"jixiao database: {database}", f"jixiao redis: {redis}"]


# The CI budget (docs/development.md): the time each part of the suite took, printed after the run.
BUDGET_PARTS = ("core", "postgresql", "browser", "schemathesis", "plugins", "demo")
_BUDGET_PART_OF = pytest.StashKey[dict[str, str]]()
_SESSION_STARTED = pytest.StashKey[float]()


def budget_part(item: pytest.Item) -> str:
    """The part of the CI budget that a test's time counts in."""
    top, _, rest = item.nodeid.partition("/")
    if top in ("plugins", "demo"):
        return top
    if rest.startswith("test_api_schemathesis.py"):
        return "schemathesis"
    fixtures = getattr(item, "fixturenames", ())
    # The Playwright tests drive the server that live_server starts (dev.py run in a subprocess); test_live's
    # HTTP smoke tests share that server, and its start is most of their time.
    if "live_server" in fixtures or fnmatch.fnmatch(rest.split("::")[0], "test_*browser*.py"):
        return "browser"
    # A PostgreSQL-only test asks is_postgres (itself or through a fixture such as test_rls's `pg`) and skips
    # on SQLite; the one or two that merely check which database answered come along, at a few milliseconds.
    if "is_postgres" in fixtures:
        return "postgresql"
    return "core"


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SESSION_STARTED] = time.monotonic()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Parts are decided on the items (fixtures are known there); the reports read at the end have node ids only.
    config.stash[_BUDGET_PART_OF] = {item.nodeid: budget_part(item) for item in items}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    part_of = config.stash.get(_BUDGET_PART_OF, {})
    seconds = dict.fromkeys(BUDGET_PARTS, 0.0)
    tests: dict[str, set[str]] = {part: set() for part in BUDGET_PARTS}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) not in ("setup", "call", "teardown"):
                continue  # warnings and collection reports carry no test time
            part = part_of.get(report.nodeid, "core")
            seconds[part] += report.duration
            tests[part].add(report.nodeid)
    write = terminalreporter.write_line
    terminalreporter.write_sep("-", "time per part (setup + call + teardown), budget in docs/development.md")
    for part in BUDGET_PARTS:
        write(f"{part:<13} {seconds[part]:8.1f} s {len(tests[part]):6d} tests")
    wall = time.monotonic() - config.stash.get(_SESSION_STARTED, time.monotonic())
    write(f"{'total':<13} {sum(seconds.values()):8.1f} s {sum(map(len, tests.values())):6d} tests, "
          f"{wall:.1f} s wall clock for the session")


@pytest.fixture
def is_postgres(jixiao_app: Flask) -> bool:
    return jixiao_app.extensions["jixiao.db"].engine.dialect.name == "postgresql"


@pytest.fixture
def fresh_app(tmp_path, request):
    """An app on a new, migrated, empty database (no tenants). ``@pytest.mark.plugins([...])`` adds plugins."""
    from jixiao import migrate

    marker = request.node.get_closest_marker("plugins")
    database = create_migrated_database(tmp_path)
    app = make_app(database, tmp_path, EXTRA_PLUGINS=marker.args[0] if marker else ())
    migrate.upgrade(app.config)  # at head already: checks it, as a deployment's start does
    yield app
    app.extensions["jixiao.db"].engine.dispose()
    drop_test_database(database)


class LiveServer(str):
    """The server's base URL, with the instance folder it runs in."""

    def __new__(cls, url: str, instance: Path) -> LiveServer:
        server = super().__new__(cls, url)
        server.instance = instance
        return server


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The README's first command, for real: `python dev.py run` on SQLite in a fresh instance folder."""
    instance = tmp_path_factory.mktemp("live-instance")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env["JIXIAO_INSTANCE_PATH"] = str(instance)
    log = (instance / "server.log").open("w")
    process = subprocess.Popen([sys.executable, str(ROOT / "dev.py"), "run", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    url = f"http://127.0.0.1:{port}"
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError("dev.py run exited:\n" + (instance / "server.log").read_text())
            try:
                with urllib.request.urlopen(url + "/api/v1/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("server did not start:\n" + (instance / "server.log").read_text())
        yield LiveServer(url, instance)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


