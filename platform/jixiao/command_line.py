"""What every ``jixiao`` command shares: a refusal printed as the pages and the API give it, then exit 1."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from jixiao.errors import DomainError


def fail(exc: DomainError) -> NoReturn:
    """Print a domain refusal (its message, then each field's problem) on standard error and exit 1."""
    click.echo(f"error: {exc.message}", err=True)
    for field, problem in (exc.fields or {}).items():
        click.echo(f"  {field}: {problem}", err=True)
    sys.exit(1)
