#!/usr/bin/env python3
"""Jixiao's two commands, for a machine with nothing but Python 3.11.

    python3 dev.py run    set up .venv, migrate the SQLite database, load tenants and demo data (the seed bureaus
                          through the services, then Hunan's other cities and counties by the generator), serve
    python3 dev.py test   set up .venv, then lint and run the whole test suite (core and every plugin)

Both install the core, every region package under plugins/ and the demo package (demo/) in editable mode, and
only reinstall when a pyproject.toml changed. Extra arguments after ``test`` go to pytest; after ``run``, ``--host`` and ``--port``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("JIXIAO_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PLUGINS = sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))
# Installed beside the plugins: the province demo generator (jixiao demo load --province).
EXTRAS = [ROOT / "demo"]
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
    fingerprint = hashlib.sha256()
    for path in [ROOT / "pyproject.toml", *(p / "pyproject.toml" for p in [*PLUGINS, *EXTRAS])]:
        fingerprint.update(path.read_bytes())
    stamp = VENV / ".jixiao-installed"
    if stamp.exists() and stamp.read_text() == fingerprint.hexdigest():
        return
    editable = ["-e", f"{ROOT}[test]"]
    for package in [*PLUGINS, *EXTRAS]:
        editable += ["-e", str(package)]
    sh(BIN / "python", "-m", "pip", "install", "--quiet", *editable)
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
    ensure_venv()
    sh(BIN / "ruff", "check", ".")
    env = dict(os.environ)
    result = subprocess.run([str(BIN / "pytest"), *argv], cwd=ROOT, env=env)
    if result.returncode == 5:
        print("pytest collected no tests: that is a failure here", file=sys.stderr)
        sys.exit(1)
    sys.exit(result.returncode)


def main() -> None:
    commands = {"run": run, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
