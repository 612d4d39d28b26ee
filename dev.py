#!/usr/bin/env python3
"""Jixiao's commands, for a machine with nothing but Python 3.11.

    python3 dev.py run    set up .venv, migrate the SQLite database, load tenants and demo data (the seed bureaus
                          through the services, then Hunan's other cities and counties by the generator), serve
    python3 dev.py test   set up .venv, then lint, type-check and run the whole test suite (core and every plugin)
    python3 dev.py lock   regenerate requirements/test.lock and requirements/app.lock with pip-tools
    python3 dev.py bench  set up .venv, then measure the hot paths against plain baselines on a scratch PostgreSQL
                          (``--quick``, ``--only PATH...``; docs/performance.md); not part of ``test``

Both ``run`` and ``test`` install the exact versions of requirements/test.lock (with their hashes), then the core,
every region package under plugins/ and the demo package (demo/) in editable mode without their dependencies,
and only reinstall when a pyproject.toml or the lock changed. Extra arguments after ``test`` go to pytest; after
``run``, ``--host`` and ``--port``; after ``lock``, to pip-compile for test.lock (``--upgrade``, ``-P NAME``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("JIXIAO_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PLUGINS = sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))
# Installed beside the plugins: the province demo generator (jixiao demo load --province).
EXTRAS = [ROOT / "demo"]
# The exact versions: test.lock is the runtime and the test tools (.venv), app.lock the runtime alone (the image,
# docker/Dockerfile). app.lock is compiled within test.lock, so the two never disagree on a version.
TEST_LOCK = ROOT / "requirements" / "test.lock"
APP_LOCK = ROOT / "requirements" / "app.lock"
# The compiler is pinned too: another pip-tools may write the same resolution in another layout.
PIP_TOOLS = "pip-tools==7.6.2"
# What `run` fills with the generator: a few projects per county, enough for every county to look different.
DEMO_PROVINCE, DEMO_PROJECTS_PER_COUNTY = "430000", 4


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before any venv exists, on any python3
        sys.exit(f"Jixiao needs Python 3.11 or newer (this is {sys.version.split()[0]})")
    if not (BIN / "python").exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not TEST_LOCK.exists():
        sys.exit(f"{TEST_LOCK.relative_to(ROOT)} is missing: `python3.11 dev.py lock` writes it")
    fingerprint = hashlib.sha256()
    for path in [ROOT / "pyproject.toml", *(p / "pyproject.toml" for p in [*PLUGINS, *EXTRAS]), TEST_LOCK]:
        fingerprint.update(path.read_bytes())
    stamp = VENV / ".jixiao-installed"
    if stamp.exists() and stamp.read_text() == fingerprint.hexdigest():
        return
    # --require-hashes: a lock entry without a hash is an error, not a silent unchecked download.
    sh(BIN / "python", "-m", "pip", "install", "--quiet", "--require-hashes", "-r", TEST_LOCK)
    editable = ["-e", str(ROOT)]
    for package in [*PLUGINS, *EXTRAS]:
        editable += ["-e", str(package)]
    # --no-deps: every dependency came from the lock; letting pip resolve again could move one off its pin.
    sh(BIN / "python", "-m", "pip", "install", "--quiet", "--no-deps", *editable)
    stamp.write_text(fingerprint.hexdigest())


def run(argv: list[str]) -> None:
    ensure_venv()
    jixiao = BIN / "jixiao"
    sh(jixiao, "db", "upgrade")
    sh(jixiao, "tenants", "load", *sorted((ROOT / "tenants").glob("*.yaml")))
    sh(jixiao, "demo", "load")
    # Idempotent like the line above: a bureau that already has this year's projects is left alone.
    sh(jixiao, "demo", "load", "--province", DEMO_PROVINCE, "--projects-per-county", str(DEMO_PROJECTS_PER_COUNTY))
    if "JIXIAO_MFA_ROLES" not in os.environ:
        # The demo's administrators have no authenticator app; a deployment keeps the default (admin,operator).
        os.environ["JIXIAO_MFA_ROLES"] = ""
        print("demo: second factor (动态口令) switched off for every role; "
              "to switch it on run with JIXIAO_MFA_ROLES=admin,operator", flush=True)
    os.execv(str(jixiao), [str(jixiao), "run", *argv])


def test(argv: list[str]) -> None:
    started = time.monotonic()
    ensure_venv()
    installed = time.monotonic()
    sh(BIN / "ruff", "check", ".")
    linted = time.monotonic()
    # What is checked, and how strictly, is pyproject.toml's [tool.mypy]; a type error fails the command here.
    sh(BIN / "mypy")
    # The CI budget (docs/development.md) counts install, lint and type check apart from the suite.
    print(f"dev.py: install {installed - started:.0f} s, lint {linted - installed:.0f} s, "
          f"mypy {time.monotonic() - linted:.0f} s", flush=True)
    env = dict(os.environ)
    result = subprocess.run([str(BIN / "pytest"), *argv], cwd=ROOT, env=env)
    if result.returncode == 5:
        print("pytest collected no tests: that is a failure here", file=sys.stderr)
        sys.exit(1)
    sys.exit(result.returncode)


def bench(argv: list[str]) -> None:
    """The performance benchmark (benchmarks/bench.py): its arguments are passed on (``--help`` lists them)."""
    ensure_venv()
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (Debian: `apt-get install wrk`); the HTTP load falls back to the "
              "benchmark's threaded Python client", flush=True)
    # From the checkout, as a module: gunicorn loads the bare baseline app as benchmarks.bare_app.
    sys.exit(subprocess.run([str(BIN / "python"), "-m", "benchmarks.bench", *argv], cwd=ROOT).returncode)


def lock(argv: list[str]) -> None:
    """Regenerate both lock files with pip-tools in a throwaway venv (nothing is installed in .venv).

    pip-compile resolves for the interpreter it runs on, and the locks are for Python 3.11 on Linux (CI, the
    image). test.lock keeps its current pins unless asked (``--upgrade``, ``-P NAME``); app.lock is compiled
    afresh within test.lock's versions.
    """
    if sys.version_info[:2] != (3, 11) or not sys.platform.startswith("linux"):
        sys.exit(f"the lock files are for Python 3.11 on Linux; this is {sys.version.split()[0]} on {sys.platform}")
    TEST_LOCK.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jixiao-lock-") as tools:
        venv.EnvBuilder(with_pip=True).create(tools)
        tools_bin = Path(tools) / "bin"
        sh(tools_bin / "python", "-m", "pip", "install", "--quiet", PIP_TOOLS)
        # The header names this command instead of the pip-compile line, which has to be run from ROOT.
        env = {**os.environ, "CUSTOM_COMPILE_COMMAND": "python3.11 dev.py lock"}
        # Index and find-links options are this machine's (pip config), not the project's: keep them out.
        common = ["--quiet", "--generate-hashes", "--strip-extras", "--annotation-style=line",
                  "--no-emit-index-url", "--no-emit-find-links", "--no-emit-trusted-host"]
        # Only the root pyproject: the plugins and demo/ depend on jixiao alone, which PyPI must not resolve
        # (tests/test_lock.py fails if one of them gains another dependency).
        sh(tools_bin / "pip-compile", *common, "--extra", "test", *argv,
           "--output-file", TEST_LOCK.relative_to(ROOT), "pyproject.toml", env=env)
        sh(tools_bin / "pip-compile", *common, "--upgrade", "--constraint", TEST_LOCK.relative_to(ROOT),
           "--output-file", APP_LOCK.relative_to(ROOT), "pyproject.toml", env=env)


def main() -> None:
    commands = {"run": run, "test": test, "lock": lock, "bench": bench}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
