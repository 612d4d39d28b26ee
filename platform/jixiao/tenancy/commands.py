"""``jixiao tenants``: load and show the tenant tree."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from jixiao.command_line import fail
from jixiao.db import system_scope
from jixiao.errors import DomainError


@click.group("tenants")
def tenants_group() -> None:
    """The tenant tree."""


@tenants_group.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def tenants_load(paths: tuple[Path, ...]) -> None:
    """Create or update tenants from YAML files; idempotent, and all files validate before anything changes."""
    from jixiao.plugins import host
    from jixiao.tenancy import service

    with system_scope() as db:
        try:
            report = service.load_files(db, host(), paths)
        except DomainError as exc:
            fail(exc)
    for line in report.lines():
        click.echo(line)


@tenants_group.command("tree")
@click.argument("code", required=False)
@with_appcontext
def tenants_tree(code: str | None) -> None:
    """Print the tenant tree (or the subtree under CODE)."""
    from jixiao.plugins import host
    from jixiao.tenancy import service

    with system_scope() as db:
        try:
            lines = service.tree_lines(db, host(), code)
        except DomainError as exc:
            fail(exc)
    click.echo("\n".join(lines) if lines else "no tenants: run `jixiao tenants load tenants/*.yaml`")


@tenants_group.command("enable")
@click.argument("code")
@click.argument("plugin")
@with_appcontext
def tenants_enable(code: str, plugin: str) -> None:
    """Enable PLUGIN for the tenant CODE and its descendants, beside its YAML (kept across reloads; audited)."""
    _set_plugin(code, plugin, enabled=True)


@tenants_group.command("disable")
@click.argument("code")
@click.argument("plugin")
@with_appcontext
def tenants_disable(code: str, plugin: str) -> None:
    """Disable PLUGIN for the tenant CODE and its descendants, even where its YAML or an ancestor enables it."""
    _set_plugin(code, plugin, enabled=False)


def _set_plugin(code: str, plugin: str, *, enabled: bool) -> None:
    from jixiao.plugins import host
    from jixiao.tenancy import service

    with system_scope() as db:
        try:
            tenant = service.set_plugin(db, host(), None, code, plugin, enabled)
        except DomainError as exc:
            fail(exc)
        click.echo(f"{'enabled' if enabled else 'disabled'} {plugin} for {tenant.code} {tenant.name}; in force here: "
                   f"{', '.join(service.precedence(host(), [*service.ancestors(db, tenant), tenant]))}")
