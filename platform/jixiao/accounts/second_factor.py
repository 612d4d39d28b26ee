"""The second factor (等保三级 身份鉴别 c: 两种或两种以上组合的鉴别技术): TOTP (RFC 6238, 30-second steps,
six digits, one step either side) and one-time recovery codes, of which only the SHA-256 is kept.

A step once accepted is never accepted again (``User.totp_last_step``), so a code read over a shoulder or
from a log cannot be replayed within its 90 seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Any

import pyotp
from flask import current_app, has_app_context

STEP_SECONDS = 30
DIGITS = 6
# Steps either side of the current one that are accepted (clock drift between the phone and the server).
WINDOW = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: they are read off paper
_OTP_RE = re.compile(r"^\d{6}$")


def required_roles() -> set[str]:
    roles = current_app.config.get("MFA_ROLES", ["admin", "operator"]) if has_app_context() else ["admin", "operator"]
    return set(roles)


def required_for(user: Any) -> bool:
    """Whether ``user`` must log in with a second factor: a role that needs it, or one already enrolled."""
    if user.totp_confirmed_at is not None:
        return True
    roles = required_roles()
    return bool(set(user.roles or []) & roles) or (user.is_operator and "operator" in roles)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    issuer = current_app.config.get("TOTP_ISSUER", "Jixiao") if has_app_context() else "Jixiao"
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=username, issuer_name=issuer)


def current_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to, within the window and after ``last_step``; None when it does not match."""
    code = (code or "").strip().replace(" ", "")
    if not _OTP_RE.match(code):
        return None
    found = None
    for step in range(current_step(now) - WINDOW, current_step(now) + WINDOW + 1):
        # Compare every candidate, so the time taken does not say which step matched.
        if hmac.compare_digest(code_at(secret, step), code) and (last_step is None or step > last_step):
            found = step
    return found


def looks_like_totp(code: str) -> bool:
    return bool(_OTP_RE.match((code or "").strip().replace(" ", "")))


def new_recovery_codes() -> list[str]:
    """Ten codes of 16 characters (80 bits each: a plain SHA-256 of them cannot be searched)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    return codes


def _normalise(code: str) -> str:
    return re.sub(r"[\s\-]", "", code or "").upper()


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def matching_recovery_hash(hashes: list[str], code: str) -> str | None:
    """The stored hash ``code`` matches, if any (each is usable once: the caller removes it)."""
    if len(_normalise(code)) != 16:
        return None
    digest = hash_recovery_code(code)
    found = None
    for stored in hashes or []:
        if hmac.compare_digest(stored, digest):
            found = stored
    return found
