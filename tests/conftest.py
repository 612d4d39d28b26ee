"""The core's tests. Fixtures (app, client, login, create_user) come from jixiao.testing (a pytest plugin)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from jixiao.testing import create_test_database, drop_test_database, make_app

ROOT = Path(__file__).resolve().parents[1]


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = "PostgreSQL (" + os.environ["JIXIAO_TEST_DATABASE_URL"].split("@")[-1] + ")" if os.environ.get(
        "JIXIAO_TEST_DATABASE_URL") else "SQLite (embedded default)"
    redis = os.environ.get("JIXIAO_TEST_REDIS_URL") or "none (jobs in-process)"
    return [f"jixiao database: {database}", f"jixiao redis: {redis}"]


@pytest.fixture
def is_postgres(jixiao_app: Flask) -> bool:
    return jixiao_app.extensions["jixiao.db"].engine.dialect.name == "postgresql"


@pytest.fixture
def fresh_app(tmp_path, request):
    """An app on a new, migrated, empty database (no tenants). ``@pytest.mark.plugins([...])`` adds plugins."""
    from jixiao import migrate

    marker = request.node.get_closest_marker("plugins")
    database = create_test_database(tmp_path)
    app = make_app(database, tmp_path, EXTRA_PLUGINS=marker.args[0] if marker else ())
    migrate.upgrade(app.config)
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


