"""A clock the accounts tests move by hand: login throttling, session limits and TOTP steps depend on time, and
a test must never wait for the wall clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from jixiao.db import utcnow


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(name="clock")
def clock_fixture(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Time as the accounts code sees it, frozen until the test advances it. It starts a day ahead of the wall
    clock, so the failures other tests recorded are outside every counting window."""
    from jixiao.accounts import passwords, service, sessions, throttle

    frozen = Clock(utcnow().replace(microsecond=0) + timedelta(days=1))
    for module in (service, sessions, passwords, throttle):
        monkeypatch.setattr(module, "utcnow", frozen)
    return frozen


def bureau_scope(app: Any, username: str, tenant_code: str = "431102") -> Any:
    """A scope that reads ``username``'s row and their bureau's records (the database's row-level security
    admits nothing less); use inside ``app.app_context()``."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    with system_scope() as db:
        tenant_id = tenancy.get_by_code(db, tenant_code).id
    return scoped(TenantScope(read_ids=(tenant_id,), login_username=username))


def user_id_of(app: Any, username: str) -> int:
    import sqlalchemy as sa

    from jixiao.accounts.models import User

    with app.app_context(), bureau_scope(app, username) as db:
        return db.scalar(sa.select(User.id).where(User.username == username))
