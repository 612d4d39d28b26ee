"""Configuration from the environment."""

from __future__ import annotations

import pytest

from jixiao.config import ConfigurationError, load_config


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("JIXIAO_SECRET_KEY", raising=False)
    monkeypatch.setenv("JIXIAO_ENV", "production")
    with pytest.raises(ConfigurationError, match="JIXIAO_SECRET_KEY"):
        load_config()


def test_production_cookies_are_secure_httponly_and_samesite(monkeypatch, tmp_path):
    monkeypatch.setenv("JIXIAO_ENV", "production")
    monkeypatch.setenv("JIXIAO_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("JIXIAO_INSTANCE_PATH", str(tmp_path))
    config = load_config()
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_embedded_default_is_sqlite_in_the_instance_folder(monkeypatch, tmp_path):
    for name in ("JIXIAO_DATABASE_URL", "JIXIAO_REDIS_URL", "JIXIAO_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JIXIAO_INSTANCE_PATH", str(tmp_path))
    config = load_config()
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'jixiao.sqlite3'}"
    assert config["REDIS_URL"] is None
