"""Browser sessions that end (等保三级 身份鉴别 b: 登录连接超时自动退出; 访问控制: sessions can be revoked).

The session cookie is Flask's signed cookie. Flask-Login keeps the user's id in it as ``"<id>:<generation>"``
(``User.get_id``): raising ``User.session_generation`` in the database (logout, password change, deactivation,
an administrator's "sign out everywhere") makes every cookie of that user name a stale generation, which the
user loader refuses. Beside it the cookie carries when the login happened and when the session was last used;
the loader refuses a session idle longer than ``SESSION_IDLE_MINUTES`` or older than ``SESSION_MAX_HOURS``.
Nothing is "remembered": no permanent cookie, no remember-me cookie.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask import session as cookie
from flask_login import login_user, logout_user

from jixiao.db import utcnow

LOGGED_IN_AT = "jx_login_at"
LAST_SEEN_AT = "jx_seen_at"
SECOND_FACTOR = "jx_second_factor"
_KEYS = (LOGGED_IN_AT, LAST_SEEN_AT, SECOND_FACTOR)


def begin(user: object, *, second_factor_verified: bool, now: datetime | None = None) -> None:
    """Start (or renew, after the generation changed) the browser session of ``user``."""
    now = now or utcnow()
    cookie.clear()
    login_user(user, remember=False)
    cookie.permanent = False
    cookie[LOGGED_IN_AT] = int(now.timestamp())
    cookie[LAST_SEEN_AT] = int(now.timestamp())
    cookie[SECOND_FACTOR] = bool(second_factor_verified)


def mark_second_factor_verified() -> None:
    cookie[SECOND_FACTOR] = True


def second_factor_verified() -> bool:
    return bool(cookie.get(SECOND_FACTOR))


def end() -> None:
    logout_user()
    for key in _KEYS:
        cookie.pop(key, None)


def within_limits(now: datetime | None = None) -> bool:
    """Whether the cookie's session is neither idle too long nor too old (a cookie without the times is neither
    a session of this version nor a login: refused)."""
    now_ts = int((now or utcnow()).timestamp())
    logged_in, seen = cookie.get(LOGGED_IN_AT), cookie.get(LAST_SEEN_AT)
    if not isinstance(logged_in, int) or not isinstance(seen, int):
        return False
    idle = int(current_app.config.get("SESSION_IDLE_MINUTES", 30)) * 60
    absolute = int(current_app.config.get("SESSION_MAX_HOURS", 12)) * 3600
    return now_ts - seen <= idle and now_ts - logged_in <= absolute


def touch(now: datetime | None = None) -> None:
    cookie[LAST_SEEN_AT] = int((now or utcnow()).timestamp())


def forget() -> None:
    """Drop the cookie's login (the user loader refused it), keeping nothing of it."""
    for key in ("_user_id", "_fresh", "_id", *_KEYS):
        cookie.pop(key, None)
