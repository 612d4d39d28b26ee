"""Serving and loading: gunicorn processes for Jixiao and the bare baseline, the load generator, worker memory.

Both apps run under the same gunicorn with the same worker class, workers and threads (``gthread``). The load is
Debian's ``wrk`` (``apt-get install wrk``) with keep-alive connections and its latency distribution; without it a
small threaded Python client with keep-alive (``http.client``) takes its place and says so.
"""

from __future__ import annotations

import http.client
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"
WORKERS, THREADS = 2, 4


class Server:
    """One gunicorn (``app`` is its WSGI spec) on ``port`` with the shared settings; ``env`` configures the app."""

    def __init__(self, name: str, app: str, port: int, env: dict[str, str], log: Path) -> None:
        self.name, self.app, self.port, self.env, self.log = name, app, port, env, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, probe: str, token: str | dict[str, str]) -> None:
        """Start and wait until ``probe`` answers 200 (the first request also warms the workers' imports)."""
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(GUNICORN), "--bind", f"127.0.0.1:{self.port}", "--workers", str(WORKERS), "--threads",
                 str(THREADS), "--worker-class", "gthread", "--chdir", str(ROOT), "--timeout", "120", self.app],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.log}")
            try:
                get(self.base + probe, token)
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not answer within 90 s: see {self.log}")

    def worker_rss_mb(self) -> list[float]:
        """The resident memory of each worker process (gunicorn's children), in MB, from /proc."""
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        sizes = []
        for pid in children:
            status = Path(f"/proc/{pid}/status").read_text()
            found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            if found:
                sizes.append(int(found.group(1)) / 1024)
        return sizes

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def headers_of(auth: str | dict[str, str]) -> dict[str, str]:
    """A bearer token's header, or the headers given (a browser's session cookie and User-Agent)."""
    return {"Authorization": f"Bearer {auth}"} if isinstance(auth, str) else dict(auth)


def get(url: str, auth: str | dict[str, str]) -> bytes:
    """The body of a GET that must answer 200 (no redirect followed: a refused session is an error here)."""
    request = urllib.request.Request(url, headers=headers_of(auth))
    with _NO_REDIRECTS.open(request, timeout=60) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
        return bytes(response.read())


class _Refuse(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_Refuse)


def load_generator() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def run_load(url: str, auth: str | dict[str, str], clients: int, seconds: float) -> dict[str, float]:
    """``clients`` keep-alive connections for ``seconds``: p50 and p99 latency (ms), requests per second, errors
    (wrk counts statuses from 400 and socket errors, not redirects: a caller sending a session probes it first
    with ``get``; the Python client counts anything but 200). ``auth``: a bearer token, or the headers to send."""
    if load_generator() == "wrk":
        return _wrk(url, headers_of(auth), clients, seconds)
    return _python_load(url, headers_of(auth), clients, seconds)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not found:
        raise ValueError(f"wrk latency {text!r}")
    number, unit = float(found.group(1)), found.group(2)
    return number * 60000.0 if unit == "m" else number * _UNITS[unit]


def _wrk(url: str, headers: dict[str, str], clients: int, seconds: float) -> dict[str, float]:
    threads = min(clients, 2)
    options = [part for name, value in headers.items() for part in ("-H", f"{name}: {value}")]
    out = subprocess.run(["wrk", "--latency", "-t", str(threads), "-c", str(clients), "-d", f"{seconds:g}s",
                          "--timeout", "30s", *options, url], capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    if set(percentiles) != {"50", "99"}:
        raise RuntimeError(f"could not read wrk's latency distribution:\n{out}")
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.MULTILINE)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = int(bad.group(1)) if bad else 0
    if errors:
        failed += sum(int(n) for n in errors.groups())
    return {"p50": _ms(percentiles["50"]), "p99": _ms(percentiles["99"]),
            "rps": float(rate.group(1)) if rate else 0.0, "errors": failed}


def _python_load(url: str, headers: dict[str, str], clients: int, seconds: float) -> dict[str, float]:
    """The fallback client: a thread per connection, each request timed, keep-alive (HTTP/1.1)."""
    target = urllib.request.urlparse(url)
    path = target.path + (f"?{target.query}" if target.query else "")
    timings: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        mine: list[float] = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                with lock:
                    failures[0] += 1
        conn.close()
        with lock:
            timings.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    timings.sort()
    return {"p50": statistics.median(timings), "p99": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
            "rps": len(timings) / seconds, "errors": failures[0]}
