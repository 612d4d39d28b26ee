"""``jixiao audit``: the audit log's retention."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("audit")
def audit_group() -> None:
    """The audit log's retention (reading and exporting it is the audit administrator's, in the app)."""


@audit_group.command("purge")
@with_appcontext
def audit_purge() -> None:
    """Delete the audit events older than JIXIAO_AUDIT_RETENTION_DAYS (at least 180), as the tables' owner.

    Runs on JIXIAO_MIGRATION_DATABASE_URL (the application role may not delete audit rows) and records an
    audit.purge event with the count and the cut-off.
    """
    from jixiao.audit import log
    from jixiao.db import create_engine

    days = current_app.config["AUDIT_RETENTION_DAYS"]
    engine = create_engine(current_app.config["MIGRATION_DATABASE_URL"])
    try:
        with engine.begin() as connection:
            result = log.purge_expired(connection, days)
    finally:
        engine.dispose()
    click.echo(f"deleted {result.count} audit events older than {result.cutoff.isoformat()} "
               f"(retention {result.retention_days} days); recorded audit.purge")
