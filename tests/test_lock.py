"""The lock files agree with the pyproject files, and the running venv is the lock's.

requirements/test.lock is what ``dev.py`` installs (the runtime and the test tools), requirements/app.lock what
the image installs (the runtime). A dependency added to a pyproject.toml but not to the locks, a range that moved
past its pin, or a venv left from before the lock changed fails here; ``python3.11 dev.py lock`` rewrites the
locks, and ``python3.11 dev.py test`` reinstalls when they changed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
TEST_LOCK = ROOT / "requirements" / "test.lock"
APP_LOCK = ROOT / "requirements" / "app.lock"
REGENERATE = "regenerate with `python3.11 dev.py lock`"


@dataclass(frozen=True)
class Pin:
    version: Version
    marker: Marker | None
    hashes: int

    def applies(self) -> bool:
        return self.marker is None or self.marker.evaluate()


def read_lock(path: Path) -> dict[str, Pin]:
    """The ``name==version`` entries of a pip-compile output, by canonical name."""
    logical, current = [], ""
    for line in path.read_text().splitlines():
        line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    pins = {}
    for entry in logical:
        if entry.startswith("-"):  # an option line (--index-url, -c ...): not a pin
            continue
        requirement_text, *options = entry.split(" --")
        requirement = Requirement(requirement_text)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{path.name}: {entry!r} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = Pin(
            Version(specifier.version), requirement.marker, sum(1 for o in options if o.startswith("hash=")))
    return pins


def project(path: Path) -> dict:
    return tomllib.loads(path.read_text())["project"]


def local_names() -> set[str]:
    """The packages of this repository (the core, the region plugins, demo/): installed from here, not locked."""
    files = [ROOT / "pyproject.toml", *ROOT.glob("plugins/*/pyproject.toml"), ROOT / "demo" / "pyproject.toml"]
    return {canonicalize_name(project(path)["name"]) for path in files}


def unlocked(requirements: list[str], pins: dict[str, Pin]) -> list[str]:
    """The requirements (for this interpreter) that the lock misses or pins outside their range."""
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{text}: not in the lock")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{text}: the lock pins {pin.version}")
    return problems


def test_every_dependency_of_pyproject_is_locked_within_its_range():
    core = project(ROOT / "pyproject.toml")
    runtime, test_tools = core["dependencies"], core["optional-dependencies"]["test"]
    problems = [f"test.lock: {p}" for p in unlocked([*runtime, *test_tools], read_lock(TEST_LOCK))]
    problems += [f"app.lock: {p}" for p in unlocked(runtime, read_lock(APP_LOCK))]
    assert not problems, f"{REGENERATE}:\n" + "\n".join(problems)


def test_the_plugins_and_demo_need_nothing_the_locks_lack():
    # dev.py lock compiles the root pyproject only; a plugin's own dependency would be missing from the image.
    local, app = local_names(), read_lock(APP_LOCK)
    problems = []
    for path in [*ROOT.glob("plugins/*/pyproject.toml"), ROOT / "demo" / "pyproject.toml"]:
        needed = [r for r in project(path).get("dependencies", []) if canonicalize_name(Requirement(r).name) not in local]
        problems += [f"{path.relative_to(ROOT)}: {p}" for p in unlocked(needed, app)]
    assert not problems, "add these to the root pyproject.toml's dependencies, then " + REGENERATE + ":\n" + "\n".join(
        problems)


def test_app_lock_is_test_lock_less_the_test_tools():
    test, app = read_lock(TEST_LOCK), read_lock(APP_LOCK)
    differ = {name: (pin.version, test[name].version if name in test else None)
              for name, pin in app.items() if name not in test or test[name].version != pin.version}
    assert not differ, f"app.lock and test.lock disagree (app, test): {differ}; {REGENERATE}"
    assert not local_names() & (test.keys() | app.keys()), "a package of this repository is locked from the index"


def test_every_pin_has_its_hashes():
    # dev.py and the image install with --require-hashes: a pin without a hash would stop the install.
    bare = [f"{lock.name}: {name}" for lock in (TEST_LOCK, APP_LOCK) for name, pin in read_lock(lock).items()
            if not pin.hashes]
    assert not bare, f"pins without --hash ({REGENERATE}): {bare}"


def test_the_installed_versions_are_the_locked_ones():
    problems = []
    for name, pin in sorted(read_lock(TEST_LOCK).items()):
        if not pin.applies():
            continue
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            problems.append(f"{name}: not installed (the lock pins {pin.version})")
            continue
        if installed != pin.version:
            problems.append(f"{name}: {installed} installed, the lock pins {pin.version}")
    assert not problems, ("this environment is not requirements/test.lock's; `python3.11 dev.py test` reinstalls "
                          "when the lock or a pyproject.toml changed:\n" + "\n".join(problems))
