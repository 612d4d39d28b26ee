"""`jixiao plugins new NAME`: a regional plugin package that installs, is discovered, and has a passing test."""

from __future__ import annotations

import re
from pathlib import Path

FILES = {
    "pyproject.toml": '''[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "jixiao-{name}"
version = "0.1.0"
description = "Jixiao rules for {name}"
requires-python = ">=3.11"
dependencies = ["{core}"]

[project.entry-points.jixiao]
{name} = "jixiao_{name}"

[tool.setuptools.packages.find]
include = ["jixiao_{name}*"]

[tool.setuptools.package-data]
jixiao_{name} = ["data/*"]

[tool.pytest.ini_options]
addopts = "--import-mode=importlib -p no:cacheprovider"
pythonpath = ["."]
''',
    "README.md": '''# jixiao-{name}

Jixiao rules for {name}. Install with `pip install -e plugins/{name}`, then enable it for a province by adding
`{name}` to `plugins:` in its tenants YAML and running `jixiao tenants load tenants/*.yaml`.

Rules that are data live in `jixiao_{name}/data/` (a bureau may replace them without code); rules that are
logic are hook implementations in `jixiao_{name}/__init__.py`. docs/plugins.md lists every hook.
''',
    "jixiao_{name}/__init__.py": '''"""Jixiao rules for {name}."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.toolkit import Setting, load_data_file

# What pages call this plugin beside its code ({name}): write the region's rules in words, e.g. "某某省规则".
DISPLAY_NAME = "{name} 规则"


@hookimpl
def declare_settings() -> list[Setting]:
    # Every setting the plugin reads, so a tenants YAML may set it (an undeclared key is refused) and the settings
    # page explains it; its default is the data file's.
    shipped = load_data_file("jixiao_{name}", "settings.yaml")
    return [Setting("{name}.example", "boolean", default=shipped["{name}.example"],
                    description="示例设置：请换成本地区规则读取的设置")]


@hookimpl
def tenant_default_settings(tenant: Any) -> dict[str, Any]:
    return load_data_file("jixiao_{name}", "settings.yaml")
''',
    "jixiao_{name}/data/settings.yaml": '''# Defaults this plugin contributes to every tenant that enables it (a tenant's YAML overrides them).
{name}.example: true
''',
    "tests/test_{name}.py": '''from jixiao.plugins import PluginHost
from jixiao.toolkit import TenantView

import jixiao_{name}


def view(plugins: tuple[str, ...]) -> TenantView:
    return TenantView(id=1, code="000000", name="测试", level="province", division_type="省", ancestor_codes=(),
                      plugins=plugins, settings={{}})


def test_hook_tenant_default_settings():
    host = PluginHost(extra=[("{name}", jixiao_{name})], load_entry_points=False)
    enabled = host.for_tenant(view(("{name}",))).tenant_default_settings()
    disabled = host.for_tenant(view(())).tenant_default_settings()
    assert any(answer and answer.get("{name}.example") for answer in enabled)
    assert not any(answer and "{name}.example" in answer for answer in disabled)


def test_hook_declare_settings():
    host = PluginHost(extra=[("{name}", jixiao_{name})], load_entry_points=False)
    declared = host.settings["{name}.example"]
    assert declared.plugin == "{name}" and declared.setting.default is True
''',
}


def supported_core(version: str | None = None) -> str:
    """The core versions a new plugin declares it supports: this minor release series (``jixiao>=0.1,<0.2``);
    a plugin is not loaded by a core outside it, so a vendor widens it after testing a new release."""
    from jixiao import __version__

    major, minor = (int(part) for part in (version or __version__).split(".")[:2])
    return f"jixiao>={major}.{minor},<{major}.{minor + 1}"


def create(root: Path, name: str) -> list[Path]:
    """Write the package under ``root/name``; refuses a bad name or an existing folder."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,30}", name):
        raise ValueError("plugin names are lower-case letters, digits and underscores, starting with a letter")
    target = root / name
    if target.exists():
        raise FileExistsError(f"{target} already exists")
    written = []
    for template, content in FILES.items():
        path = target / template.format(name=name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content.format(name=name, core=supported_core()), encoding="utf-8")
        written.append(path)
    return written
