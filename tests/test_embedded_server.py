"""The embedded default (`jixiao run`, through `dev.py run`) serves with waitress, a production-grade server, not
Werkzeug's development server; on SQLite it takes concurrent page requests of a logged-in user without a
"database is locked" or a server error.

The server is the session's ``live_server`` (tests/conftest.py): `dev.py run` on a free port, in a fresh
instance folder with its own SQLite database, its output in ``server.log``.
"""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

CONCURRENT = 20
PAGES = ("/t/431102/", "/t/431102/projects", "/t/431102/rectifications", "/t/431102/todo", "/notifications",
         "/jobs", "/t/431102/projects?page=2", "/t/431102/evaluations")


def logged_in(server: str, username: str = "lingling_finance") -> Any:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = opener.open(server + "/login", timeout=30)
    assert login_page.status == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.read().decode()).group(1)
    data = urllib.parse.urlencode({"username": username, "password": "jixiao-demo-2026",
                                   "csrf_token": token}).encode()
    home = opener.open(server + "/login", data=data, timeout=30)
    assert home.geturl().endswith("/t/431102/"), home.geturl()
    return opener


def test_the_server_is_waitress_not_the_development_server(live_server):
    with urllib.request.urlopen(live_server + "/login", timeout=30) as answer:
        assert answer.status == 200
        assert answer.headers.get("Server") == "jixiao"
    output = (live_server.instance / "server.log").read_text()
    assert "development server" not in output, output
    assert "Do not use it in a production deployment" not in output, output


def test_concurrent_page_requests_on_sqlite_are_all_answered(live_server):
    opener = logged_in(live_server)
    statuses: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CONCURRENT)

    def fetch(index: int) -> None:
        path = PAGES[index % len(PAGES)]
        barrier.wait()
        try:
            with opener.open(live_server + path, timeout=60) as answer:
                status = answer.status
                answer.read()
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError as error:  # a refused or reset connection is a failure too
            with lock:
                failures.append(f"{path}: {error!r}")
            return
        with lock:
            statuses.append(status)
            if status >= 500:
                failures.append(f"{path}: {status}")

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    assert statuses == [200] * CONCURRENT
    output = (live_server.instance / "server.log").read_text()
    assert "database is locked" not in output, output
    assert "development server" not in output, output
