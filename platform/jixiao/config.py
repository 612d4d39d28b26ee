"""Configuration from the environment.

Every setting an operator may change is read here, once, when the app is created; the README's
configuration table lists the same names.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable deployment."""


DEV_SECRET_MARKER = "dev-insecure-"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


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
        "REDIS_URL": overrides.get("REDIS_URL", env.get("JIXIAO_REDIS_URL") or None),
        "TENANTS_PATH": overrides.get("TENANTS_PATH") or env.get("JIXIAO_TENANTS_PATH") or str(
            Path(__file__).resolve().parents[2] / "tenants"
        ),
        # Seconds to wait before each retry of a job that failed transiently (RQ needs --with-scheduler for > 0).
        "JOB_RETRY_INTERVALS": [int(x) for x in env.get("JIXIAO_JOB_RETRY_INTERVALS", "10,30,60").split(",") if x.strip()],
        "LOGIN_MAX_FAILURES": int(env.get("JIXIAO_LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_MINUTES": int(env.get("JIXIAO_LOGIN_LOCK_MINUTES", "15")),
        "CONTENT_SECURITY_POLICY": env.get("JIXIAO_CSP") or None,
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
    return config
