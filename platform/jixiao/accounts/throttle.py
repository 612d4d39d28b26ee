"""Login failure handling (等保三级 身份鉴别 b: 登录失败处理) without handing attackers a lockout.

Failed logins are counted by (username, client address) in the platform table ``login_failures``, which works
on the embedded SQLite default as on PostgreSQL (no Redis needed). Three rules, each configuration:

- a **delay** per (username, address): after ``LOGIN_DELAY_AFTER_FAILURES`` failures, each further try waits
  2^(n − that) seconds after the last failure, at most ``LOGIN_DELAY_MAX_SECONDS``; meanwhile the pair is
  answered 429 with ``Retry-After``, decided before the username is looked up, so the same whether it exists;
- a **ceiling** per address: ``LOGIN_ADDRESS_MAX_FAILURES`` failures in the window (any usernames) and that
  address waits until the oldest ages out — high, because a whole bureau may sit behind one NAT address;
- an **account lock** only when ``LOGIN_LOCK_FAILURES`` failures of one username came from at least
  ``LOGIN_LOCK_ADDRESSES`` addresses within the window (a distributed guess), for ``ACCOUNT_LOCK_MINUTES``;
  one person mistyping, or an attacker at one address, never locks the owner out.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from jixiao.accounts.models import LoginFailure
from jixiao.db import utcnow
from jixiao.errors import DomainError


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_requests"
    default_message = "登录尝试过于频繁，请稍后再试"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"登录尝试过于频繁，请 {retry_after} 秒后再试")
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class ThrottlePolicy:
    window_minutes: int = 60
    delay_after: int = 3
    delay_max_seconds: int = 300
    address_max_failures: int = 300
    lock_failures: int = 20
    lock_addresses: int = 3
    lock_minutes: int = 60

    @classmethod
    def from_config(cls, config: Any) -> ThrottlePolicy:
        defaults = cls()
        return cls(
            window_minutes=int(config.get("LOGIN_FAILURE_WINDOW_MINUTES", defaults.window_minutes)),
            delay_after=int(config.get("LOGIN_DELAY_AFTER_FAILURES", defaults.delay_after)),
            delay_max_seconds=int(config.get("LOGIN_DELAY_MAX_SECONDS", defaults.delay_max_seconds)),
            address_max_failures=int(config.get("LOGIN_ADDRESS_MAX_FAILURES", defaults.address_max_failures)),
            lock_failures=int(config.get("LOGIN_LOCK_FAILURES", defaults.lock_failures)),
            lock_addresses=int(config.get("LOGIN_LOCK_ADDRESSES", defaults.lock_addresses)),
            lock_minutes=int(config.get("ACCOUNT_LOCK_MINUTES", defaults.lock_minutes)),
        )

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    def delay_seconds(self, failures: int) -> int:
        """How long after the last of ``failures`` failures of a pair the next try must wait."""
        if failures < self.delay_after:
            return 0
        return min(2 ** min(failures - self.delay_after, 30), self.delay_max_seconds)


def current_policy() -> ThrottlePolicy:
    return ThrottlePolicy.from_config(current_app.config) if has_app_context() else ThrottlePolicy()


def username_key(username: str) -> str:
    # Case variants of one name are one name to the counters (an attacker gains nothing by varying case).
    return (username or "").strip().casefold()[:64]


def address_key(address: str | None) -> str:
    return (address or "unknown")[:64]


def check(session: Session, username: str, address: str | None, *, policy: ThrottlePolicy,
          now: datetime | None = None) -> None:
    """Refuse (429) a try from a pair or an address that must wait; looks at the counters only."""
    now = now or utcnow()
    since = now - policy.window
    name, addr = username_key(username), address_key(address)
    count, last = session.execute(
        sa.select(sa.func.count(LoginFailure.id), sa.func.max(LoginFailure.at))
        .where(LoginFailure.username == name, LoginFailure.address == addr, LoginFailure.at >= since)
    ).one()
    waits = []
    delay = policy.delay_seconds(count)
    if delay and last is not None:
        last = last if last.tzinfo else last.replace(tzinfo=now.tzinfo)
        waits.append((last + timedelta(seconds=delay) - now).total_seconds())
    from_address = session.execute(sa.select(sa.func.count(LoginFailure.id))
                                   .where(LoginFailure.address == addr, LoginFailure.at >= since)).scalar_one()
    if policy.address_max_failures > 0 and from_address >= policy.address_max_failures:
        # The address may try again when enough of its failures have aged out of the window.
        oldest_to_expire = session.execute(
            sa.select(LoginFailure.at).where(LoginFailure.address == addr, LoginFailure.at >= since)
            .order_by(LoginFailure.at).offset(from_address - policy.address_max_failures).limit(1)).scalar_one()
        waits.append((oldest_to_expire + policy.window - now).total_seconds())
    wait = max(waits, default=0)
    if wait > 0:
        raise TooManyAttempts(max(1, math.ceil(wait)))


def record_failure(session: Session, username: str, address: str | None, *, policy: ThrottlePolicy,
                   now: datetime | None = None) -> None:
    """Count a failure, and forget the ones older than the window (the table stays small)."""
    now = now or utcnow()
    session.execute(sa.delete(LoginFailure).where(LoginFailure.at < now - policy.window))
    session.add(LoginFailure(username=username_key(username), address=address_key(address), at=now))


def clear_pair(session: Session, username: str, address: str | None) -> None:
    """After a successful login: that person at that address starts again from zero. Failures from other
    addresses still count towards the account lock."""
    session.execute(sa.delete(LoginFailure).where(LoginFailure.username == username_key(username),
                                                  LoginFailure.address == address_key(address)))


def lock_warranted(session: Session, username: str, *, policy: ThrottlePolicy, now: datetime | None = None) -> bool:
    """Whether the failures of ``username`` in the window came from enough addresses to lock the account."""
    if policy.lock_failures <= 0:
        return False
    now = now or utcnow()
    count, addresses = session.execute(
        sa.select(sa.func.count(LoginFailure.id), sa.func.count(sa.distinct(LoginFailure.address)))
        .where(LoginFailure.username == username_key(username), LoginFailure.at >= now - policy.window)
    ).one()
    return count >= policy.lock_failures and addresses >= policy.lock_addresses


def forget_username(session: Session, username: str) -> None:
    """An administrator lifted the lock (or set a new password): the failures behind it no longer count."""
    session.execute(sa.delete(LoginFailure).where(LoginFailure.username == username_key(username)))
