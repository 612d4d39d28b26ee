"""``jixiao users`` and ``jixiao tokens``: accounts and API tokens from the command line."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask.cli import with_appcontext

from jixiao.command_line import fail
from jixiao.db import TenantScope, scoped, system_scope
from jixiao.errors import DomainError


def _tenant_scope(code: str) -> Any:
    from jixiao.tenancy import service

    with system_scope() as db:
        tenant = service.get_by_code(db, code)
    if tenant is None:
        click.echo(f"error: no tenant with code {code}", err=True)
        sys.exit(1)
    return tenant, TenantScope(read_ids=(tenant.id,), write_id=tenant.id)


def _agency_id(session: Any, tenant: Any, name: str) -> int:
    import sqlalchemy as sa

    from jixiao.lifecycle.models import Agency

    if tenant is None:
        click.echo("error: --agency is for users of a tenant, not platform operators", err=True)
        sys.exit(1)
    agency = session.scalar(sa.select(Agency).where(Agency.tenant_id == tenant.id, Agency.name == name.strip()))
    if agency is None:
        known = session.scalars(sa.select(Agency.name).where(Agency.tenant_id == tenant.id).order_by(Agency.name))
        click.echo(f"error: tenant {tenant.code} has no agency named {name}; registered: "
                   f"{', '.join(known) or '(none: finance registers agencies on the evaluations page)'}", err=True)
        sys.exit(1)
    return agency.id


@click.group("users")
def users_group() -> None:
    """User accounts."""


@users_group.command("create")
@click.option("--tenant", "tenant_code", help="the tenant's division code (omit with --operator)")
@click.option("--username", required=True)
@click.option("--role", "roles", multiple=True, help="admin, finance, department, evaluator, expert, auditor, viewer")
@click.option("--department", "department_code", help="department code, for the department role")
@click.option("--agency", "agency_name", help="the registered agency's name, for the evaluator role (required)")
@click.option("--display-name", default="")
@click.option("--operator", is_flag=True, help="a platform operator (no tenant), holding exactly one --duty")
@click.option("--duty", "duty", multiple=True, help="with --operator: system, security or audit (三员分立: one only)")
@with_appcontext
def users_create(tenant_code: str | None, username: str, roles: tuple[str, ...], department_code: str | None,
                 agency_name: str | None, display_name: str, operator: bool, duty: tuple[str, ...]) -> None:
    """Create a user; the password is read from standard input."""
    from jixiao.accounts import service

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    if duty and not operator:
        click.echo("error: --duty is for platform operators (--operator)", err=True)
        sys.exit(1)
    if operator:
        tenant, scope = None, TenantScope(platform=True)
    elif tenant_code:
        tenant, scope = _tenant_scope(tenant_code)
    else:
        click.echo("error: --tenant is required (or --operator)", err=True)
        sys.exit(1)
    if "evaluator" in roles and not agency_name:
        click.echo("error: an evaluator belongs to a registered agency: give --agency NAME", err=True)
        sys.exit(1)
    with scoped(scope) as db:
        try:
            agency_id = _agency_id(db, tenant, agency_name) if agency_name else None
            user = service.create_user(db, None, tenant, username=username, password=password, roles=list(roles),
                                       display_name=display_name, department_code=department_code,
                                       agency_id=agency_id, is_operator=operator, duty=list(duty))
        except DomainError as exc:
            fail(exc)
    click.echo(f"created user {user.username} ({', '.join(user.roles)}) in {tenant_code or 'the platform'}")




@click.group("tokens")
def tokens_group() -> None:
    """API bearer tokens."""


@tokens_group.command("create")
@click.option("--username", required=True)
@click.option("--name", default="cli", show_default=True, help="what the token is for (not blank)")
@with_appcontext
def tokens_create(username: str, name: str) -> None:
    """Create a bearer token for USERNAME and print it (shown once; only its hash is stored)."""
    import sqlalchemy as sa

    from jixiao.accounts import service
    from jixiao.accounts.models import User

    with scoped(TenantScope(login_username=username)) as db:
        user = db.scalar(sa.select(User).where(User.username == username))
    if user is None:
        click.echo(f"error: no user {username}", err=True)
        sys.exit(1)
    with scoped(TenantScope(read_ids=(user.tenant_id,) if user.tenant_id else (), write_id=user.tenant_id,
                            user_id=user.id, platform=user.tenant_id is None)) as db:
        try:
            api_token, token = service.create_token(db, user, name)
        except DomainError as exc:
            fail(exc)
    click.echo(token)
