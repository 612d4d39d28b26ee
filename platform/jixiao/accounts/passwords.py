"""The password policy (等保三级 身份鉴别 a: 口令复杂度): length, character classes, common passwords, the username,
and the age after which a change is due. Every refusal names the field ``password`` and says why, in Chinese."""

from __future__ import annotations

import dataclasses
import functools
import string
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from werkzeug.security import check_password_hash, generate_password_hash

from jixiao.db import utcnow
from jixiao.errors import ValidationFailed

COMMON_LIST = Path(__file__).with_name("common_passwords.txt")
CLASS_NAMES = ("小写字母", "大写字母", "数字", "其他符号")
# How a common password is disguised: digits for letters (p@ssw0rd).
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "$": "s", "5": "s", "3": "e", "7": "t"})
_EDGES = string.digits + string.punctuation + " "
#: The key derivation: Werkzeug's scrypt at its default cost (n = 2^15, r = 8, p = 1), a memory-hard KDF
#: (等保 2.0 8.1.4.1 身份鉴别: passwords kept so they cannot be read back). Not an operator setting: only the test
#: suite's app lowers the cost (``jixiao.testing``), where hundreds of logins would otherwise spend minutes in it.
DEFAULT_HASH_METHOD = "scrypt"


@dataclasses.dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 10
    min_classes: int = 3
    max_age_days: int = 90
    common_list: str | None = None

    @classmethod
    def from_config(cls, config: Any) -> PasswordPolicy:
        return cls(min_length=int(config.get("PASSWORD_MIN_LENGTH", 10)),
                   min_classes=int(config.get("PASSWORD_MIN_CLASSES", 3)),
                   max_age_days=int(config.get("PASSWORD_MAX_AGE_DAYS", 90)),
                   common_list=config.get("PASSWORD_COMMON_LIST") or None)


def current_policy() -> PasswordPolicy:
    """The configured policy (the defaults outside an app)."""
    return PasswordPolicy.from_config(current_app.config) if has_app_context() else PasswordPolicy()


@functools.lru_cache(maxsize=4)
def common_passwords(path: str | None = None) -> frozenset[str]:
    text = Path(path or COMMON_LIST).read_text(encoding="utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def character_classes(password: str) -> int:
    return sum([
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ])


def _common_forms(password: str) -> set[str]:
    folded = password.casefold()
    core = folded.strip(_EDGES)
    return {folded, core, folded.translate(_LEET), core.translate(_LEET)} - {""}


def problems(password: str, *, username: str = "", policy: PasswordPolicy | None = None) -> list[str]:
    """Why ``password`` is refused, one reason each; empty when it is acceptable."""
    policy = policy or current_policy()
    password = password or ""
    if not password.strip():
        return ["请填写密码（不能为空或全是空格）"]
    reasons = []
    if len(password) < policy.min_length:
        reasons.append(f"密码至少需要 {policy.min_length} 个字符（现有 {len(password)} 个）")
    classes = character_classes(password)
    if classes < policy.min_classes:
        reasons.append(f"密码须包含{'、'.join(CLASS_NAMES)}中的至少 {policy.min_classes} 类（现有 {classes} 类）")
    name = (username or "").strip().casefold()
    folded = password.casefold()
    if name and (name in folded or name[::-1] in folded):
        reasons.append("密码不能包含用户名（或其倒序、大小写变化）")
    if _common_forms(password) & common_passwords(policy.common_list):
        reasons.append("密码过于常见（在常用密码表中，或由常用密码加数字、符号变化而来），容易被猜中")
    return reasons


def validate(password: str, *, username: str = "", policy: PasswordPolicy | None = None) -> None:
    """Refuse a password the policy does not allow: 400 naming ``password`` with every reason."""
    reasons = problems(password, username=username, policy=policy)
    if reasons:
        raise ValidationFailed(fields={"password": "；".join(reasons)})


def _method() -> str:
    if has_app_context():
        return str(current_app.config.get("PASSWORD_HASH_METHOD") or DEFAULT_HASH_METHOD)
    return DEFAULT_HASH_METHOD


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash to compare against when there is no password to check (unknown user), at the cost of a real one,
    so every path costs one KDF run."""
    return generate_password_hash("not-a-password", method=method)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_method())


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; exactly one KDF run, also when there is no hash to compare (no such user)."""
    if password_hash is None:
        check_password_hash(_dummy_hash(_method()), password or "")
        return False
    return check_password_hash(password_hash, password or "")


def changed_at(user: Any) -> datetime:
    """When the user's password was last set (the account's creation for passwords older than the record)."""
    return user.password_changed_at or user.created_at


def change_due_at(user: Any, policy: PasswordPolicy | None = None) -> datetime | None:
    """When the user should change the password; None when passwords do not age."""
    policy = policy or current_policy()
    if policy.max_age_days <= 0 or changed_at(user) is None:
        return None
    return changed_at(user) + timedelta(days=policy.max_age_days)


def change_due(user: Any, now: datetime | None = None, policy: PasswordPolicy | None = None) -> bool:
    due = change_due_at(user, policy)
    return due is not None and due <= (now or utcnow())
