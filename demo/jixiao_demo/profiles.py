"""County profiles: how diligently a bureau's units file, and how well their projects do (data/profiles.yaml)."""

from __future__ import annotations

import dataclasses
import random
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

STEPS = ("targets_filed", "targets_returned", "exante_done", "targets_approved", "budgeted", "monitoring_filed",
         "self_evaluated", "external", "external_submitted", "notice", "notice_answered", "notice_verified", "on_time",
         "results", "published")


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    label: str
    share: float
    steps: dict[str, float]
    attainment: tuple[float, float]
    execution: tuple[float, float]


def load_data(name: str) -> Any:
    return yaml.safe_load((files("jixiao_demo") / "data" / name).read_text(encoding="utf-8"))


@cache
def settings() -> dict[str, Any]:
    """The whole profiles file: the profiles and what every profile shares (project mix, evaluation kinds)."""
    return load_data("profiles.yaml")


@cache
def load_departments() -> dict[str, Any]:
    """Departments, their units and project templates, agencies and texts (data/departments.yaml)."""
    return load_data("departments.yaml")


@cache
def profiles() -> tuple[Profile, ...]:
    found = []
    for name, raw in settings()["profiles"].items():
        missing = [step for step in STEPS if step not in raw["steps"]]
        if missing:
            raise ValueError(f"jixiao_demo/data/profiles.yaml: profile {name} lacks {', '.join(missing)}")
        found.append(Profile(name=name, label=raw["label"], share=float(raw["share"]),
                             steps={k: float(v) for k, v in raw["steps"].items()},
                             attainment=tuple(raw["attainment"]), execution=tuple(raw["execution"])))
    total = sum(p.share for p in found)
    if abs(total - 1) > 1e-9:
        raise ValueError(f"jixiao_demo/data/profiles.yaml: the shares add up to {total}, not 1")
    return tuple(found)


def rng_for(seed: int, code: str, purpose: str) -> random.Random:
    """A generator for one county and one purpose, from (seed, code) alone: the same county gets the same draws
    whatever else is generated, in whatever order (string seeds are hashed with SHA-512, not Python's hash)."""
    return random.Random(f"jixiao-demo:{seed}:{code}:{purpose}")


def profile_for(seed: int, code: str) -> Profile:
    """The profile county (or city) ``code`` draws for ``seed``, by the shares in data/profiles.yaml."""
    point = rng_for(seed, code, "profile").random()
    cumulative = 0.0
    for profile in profiles():
        cumulative += profile.share
        if point < cumulative:
            return profile
    return profiles()[-1]
