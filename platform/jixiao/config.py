"""Configuration from the environment.

Every setting an operator may change is read here, once, when the app is created; the README's
configuration table lists the same names.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable deployment."""


DEV_SECRET_MARKER = "dev-insecure-"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


#: 网络安全法 Art. 21: network logs are kept for no less than six months.
MIN_AUDIT_RETENTION_DAYS = 180


def audit_retention_days(value: Any) -> int:
    """Days the audit log is kept (``jixiao audit purge`` deletes older events); never fewer than 180."""
    if value is None or value == "":
        return MIN_AUDIT_RETENTION_DAYS
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"JIXIAO_AUDIT_RETENTION_DAYS must be a whole number of days, not {value!r}") from None
    if days < MIN_AUDIT_RETENTION_DAYS:
        raise ConfigurationError(
            f"JIXIAO_AUDIT_RETENTION_DAYS is {days}: the audit log must be kept at least {MIN_AUDIT_RETENTION_DAYS} "
            "days (six months, 网络安全法 Art. 21; 等保 8.1.4.3 安全审计). Set it to 180 or more."
        )
    return days


def default_instance_path() -> Path:
    # The checkout's instance/ folder, beside platform/, when running from source; otherwise the cwd.
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").exists():
        return checkout / "instance"
    return Path.cwd() / "instance"


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the app configuration from the environment, then apply ``overrides`` (tests)."""
    env = os.environ
    overrides = overrides or {}
    instance_path = Path(overrides.get("INSTANCE_PATH") or env.get("JIXIAO_INSTANCE_PATH") or default_instance_path())
    environment = overrides.get("ENV") or env.get("JIXIAO_ENV", "development")
    database_url = overrides.get("DATABASE_URL") or env.get("JIXIAO_DATABASE_URL") or (
        f"sqlite:///{instance_path / 'jixiao.sqlite3'}"
    )
    secret_key = overrides.get("SECRET_KEY") or env.get("JIXIAO_SECRET_KEY")
    if not secret_key:
        if environment == "production":
            raise ConfigurationError(
                "JIXIAO_SECRET_KEY is not set: a production deployment needs a fixed secret key "
                "(sessions and CSRF tokens are signed with it). Generate one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        secret_key = DEV_SECRET_MARKER + secrets.token_hex(16)
    config: dict[str, Any] = {
        "ENV": environment,
        "SECRET_KEY": secret_key,
        "INSTANCE_PATH": str(instance_path),
        "DATABASE_URL": database_url,
        # Migrations run as the tables' owner; the app connects as a role that does not own them, so that
        # PostgreSQL's row-level security applies to it.
        "MIGRATION_DATABASE_URL": overrides.get("MIGRATION_DATABASE_URL")
        or env.get("JIXIAO_MIGRATION_DATABASE_URL")
        or database_url,
        "DB_APP_ROLE": overrides.get("DB_APP_ROLE") or env.get("JIXIAO_DB_APP_ROLE", "jixiao_app"),
        # Signs the tenant context row-level security verifies (docs/security.md); derived from SECRET_KEY if unset.
        "CONTEXT_KEY": overrides.get("CONTEXT_KEY") or env.get("JIXIAO_CONTEXT_KEY") or None,
        "REDIS_URL": overrides.get("REDIS_URL", env.get("JIXIAO_REDIS_URL") or None),
        "TENANTS_PATH": overrides.get("TENANTS_PATH") or env.get("JIXIAO_TENANTS_PATH") or str(
            Path(__file__).resolve().parents[2] / "tenants"
        ),
        # The e-mail channel of notifications (jixiao.jobs.channels): smtp://[user:pass@]host:port, smtps:// for
        # TLS from the start, ?starttls=1 to upgrade; unset, notifications stay in the application.
        "SMTP_URL": overrides.get("SMTP_URL", env.get("JIXIAO_SMTP_URL") or None),
        "SMTP_FROM": overrides.get("SMTP_FROM") or env.get("JIXIAO_SMTP_FROM") or "jixiao@localhost",
        # The address users reach the site at, put before the links of notifications sent outside the application.
        "PUBLIC_URL": (overrides.get("PUBLIC_URL") or env.get("JIXIAO_PUBLIC_URL") or "").rstrip("/"),
        # Seconds to wait before each retry of a job that failed transiently (RQ needs --with-scheduler for > 0).
        "JOB_RETRY_INTERVALS": [int(x) for x in env.get("JIXIAO_JOB_RETRY_INTERVALS", "10,30,60").split(",") if x.strip()],
        # Login failure handling (docs/security.md): growing delays per (username, address), a ceiling per address,
        # and an account lock only for failures from several addresses.
        "LOGIN_FAILURE_WINDOW_MINUTES": int(env.get("JIXIAO_LOGIN_FAILURE_WINDOW_MINUTES", "60")),
        "LOGIN_DELAY_AFTER_FAILURES": int(env.get("JIXIAO_LOGIN_DELAY_AFTER_FAILURES", "3")),
        "LOGIN_DELAY_MAX_SECONDS": int(env.get("JIXIAO_LOGIN_DELAY_MAX_SECONDS", "300")),
        "LOGIN_ADDRESS_MAX_FAILURES": int(env.get("JIXIAO_LOGIN_ADDRESS_MAX_FAILURES", "300")),
        "LOGIN_LOCK_FAILURES": int(env.get("JIXIAO_LOGIN_LOCK_FAILURES", "20")),
        "LOGIN_LOCK_ADDRESSES": int(env.get("JIXIAO_LOGIN_LOCK_ADDRESSES", "3")),
        "ACCOUNT_LOCK_MINUTES": int(env.get("JIXIAO_ACCOUNT_LOCK_MINUTES", "60")),
        # Proxies in front of the app whose X-Forwarded-For / -Proto are believed (0: the peer address as is).
        "TRUSTED_PROXIES": int(env.get("JIXIAO_TRUSTED_PROXIES", "0")),
        # How long the first answer to a create sent with an Idempotency-Key is replayed (jixiao.idempotency).
        "IDEMPOTENCY_TTL_HOURS": int(env.get("JIXIAO_IDEMPOTENCY_TTL_HOURS", "24")),
        "SESSION_IDLE_MINUTES": int(env.get("JIXIAO_SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(env.get("JIXIAO_SESSION_MAX_HOURS", "12")),
        "PASSWORD_MIN_LENGTH": int(env.get("JIXIAO_PASSWORD_MIN_LENGTH", "10")),
        "PASSWORD_MIN_CLASSES": int(env.get("JIXIAO_PASSWORD_MIN_CLASSES", "3")),
        "PASSWORD_MAX_AGE_DAYS": int(env.get("JIXIAO_PASSWORD_MAX_AGE_DAYS", "90")),
        # A file of common passwords, one a line, refused as passwords (default: the list shipped with Jixiao).
        "PASSWORD_COMMON_LIST": env.get("JIXIAO_PASSWORD_COMMON_LIST") or None,
        # Who logs in with a second factor: role names, and "operator" for the platform operators.
        "MFA_ROLES": [r.strip() for r in env.get("JIXIAO_MFA_ROLES", "admin,operator").split(",") if r.strip()],
        "TOTP_ISSUER": env.get("JIXIAO_TOTP_ISSUER", "Jixiao"),
        "CONTENT_SECURITY_POLICY": env.get("JIXIAO_CSP") or None,
        "AUDIT_RETENTION_DAYS": audit_retention_days(overrides.get("AUDIT_RETENTION_DAYS",
                                                                   env.get("JIXIAO_AUDIT_RETENTION_DAYS"))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("JIXIAO_COOKIE_SECURE"), default=environment == "production"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_CHECK_DEFAULT": False,
        "MAX_CONTENT_LENGTH": int(env.get("JIXIAO_MAX_UPLOAD_MB", "20")) * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": env.get("JIXIAO_TIMEZONE", "Asia/Shanghai"),
        "SQL_ECHO": _bool(env.get("JIXIAO_SQL_ECHO")),
        # flask-smorest: the OpenAPI document is served at /api/v1/openapi.json.
        "API_TITLE": "Jixiao API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "TESTING": False,
    }
    config.update(overrides)
    if isinstance(config["MFA_ROLES"], str):
        config["MFA_ROLES"] = [r.strip() for r in config["MFA_ROLES"].split(",") if r.strip()]
    # Flask refuses a signed session cookie older than this, whatever it says; the session's own idle and
    # absolute limits (jixiao.accounts.sessions) are checked on top.
    config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=config["SESSION_MAX_HOURS"]))
    config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(hours=config["SESSION_MAX_HOURS"]))
    return config
