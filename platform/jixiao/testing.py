"""Pytest fixtures for Jixiao and its plugins (registered as the ``jixiao`` pytest11 plugin).

A vendor's tests get a migrated database with the real tenant trees and the demo users, an app, a client
and a ``login`` helper, so a plugin test is a few lines:

    def test_my_rule(jixiao_app, login):
        client = login("lingling_finance")
        assert client.get("/api/v1/tenants/431102").status_code == 200

The database is PostgreSQL when ``JIXIAO_TEST_DATABASE_URL`` names a server (a superuser URL: each test
session creates its own database there, migrates it as the owner and connects the app as the non-owner role
``jixiao_app``, so row-level security is in force); otherwise a SQLite file in a temporary folder. Redis is
used when ``JIXIAO_TEST_REDIS_URL`` is set.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

DEMO_PASSWORD = "jixiao-demo-2026"
APP_ROLE = "jixiao_app"
_names = itertools.count(1)


@dataclasses.dataclass(frozen=True)
class TestDatabase:
    app_url: str
    owner_url: str
    kind: str


def unique(prefix: str = "t") -> str:
    """A name no other test in this session uses (tests share one database)."""
    return f"{prefix}{os.getpid()}_{next(_names)}"


def _admin_url(admin_url: str) -> sa.engine.URL:
    url = sa.engine.make_url(admin_url)
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


def _pg_urls(admin_url: str, name: str) -> tuple[str, str]:
    owner = _admin_url(admin_url).set(database=name)
    app = owner.set(username=APP_ROLE, password=None)
    return app.render_as_string(hide_password=False), owner.render_as_string(hide_password=False)


def create_test_database(tmp_dir: Path) -> TestDatabase:
    admin_url = os.environ.get("JIXIAO_TEST_DATABASE_URL")
    if not admin_url:
        path = tmp_dir / f"jixiao-{uuid.uuid4().hex[:8]}.sqlite3"
        return TestDatabase(f"sqlite:///{path}", f"sqlite:///{path}", "sqlite")
    name = f"jixiao_test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(_admin_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        has_role = connection.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).scalar()
        if not has_role:
            connection.exec_driver_sql(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS")
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    app_url, owner_url = _pg_urls(admin_url, name)
    return TestDatabase(app_url, owner_url, "postgresql")


_TEMPLATES: dict[str, TestDatabase] = {}


def create_migrated_database(tmp_dir: Path) -> TestDatabase:
    """A new, empty database at the head revision: a copy of one migrated once per process (PostgreSQL's
    ``CREATE DATABASE … TEMPLATE``, a file copy for SQLite), so a test that needs a database of its own does not
    run every revision again. Its app must use the test configuration's secret, as the template's did (the
    tenant context's key is stored at migration); ``migrate.upgrade`` on the copy is then a no-op.
    """
    import shutil
    import tempfile

    from jixiao import migrate

    kind = "postgresql" if os.environ.get("JIXIAO_TEST_DATABASE_URL") else "sqlite"
    template = _TEMPLATES.get(kind)
    if template is None:
        folder = Path(tempfile.mkdtemp(prefix="jixiao-template-"))
        template = create_test_database(folder)
        app = make_app(template, folder)
        migrate.upgrade(app.config)
        app.extensions["jixiao.db"].engine.dispose()
        _TEMPLATES[kind] = template
        import atexit

        atexit.register(drop_test_database, template)
    if kind == "sqlite":
        path = tmp_dir / f"jixiao-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copyfile(sa.engine.make_url(template.owner_url).database or "", path)
        return TestDatabase(f"sqlite:///{path}", f"sqlite:///{path}", "sqlite")
    admin_url = os.environ["JIXIAO_TEST_DATABASE_URL"]
    name = f"jixiao_test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(_admin_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        source = sa.engine.make_url(template.owner_url).database
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    engine.dispose()
    app_url, owner_url = _pg_urls(admin_url, name)
    return TestDatabase(app_url, owner_url, "postgresql")


def drop_test_database(database: TestDatabase) -> None:
    if database.kind != "postgresql":
        return
    admin_url = os.environ["JIXIAO_TEST_DATABASE_URL"]
    engine = sa.create_engine(_admin_url(admin_url), isolation_level="AUTOCOMMIT")
    name = sa.engine.make_url(database.owner_url).database
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def make_app(database: TestDatabase, instance_path: Path, **overrides: Any) -> Flask:
    from jixiao.app import create_app

    config = _test_config(database, instance_path)
    config.update(overrides)
    return create_app(config)


def _test_config(database: TestDatabase, instance_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database.app_url,
        "MIGRATION_DATABASE_URL": database.owner_url,
        "DB_APP_ROLE": APP_ROLE,
        "INSTANCE_PATH": str(instance_path),
        "REDIS_URL": os.environ.get("JIXIAO_TEST_REDIS_URL") or None,
        # The general suite logs administrators in with a password only; the second factor's own tests turn it on.
        "MFA_ROLES": [],
        # scrypt at 1/32 of the production cost: the suite logs in some thousand times, each a KDF run (80 ms at
        # the production cost on these machines). tests/test_password_policy.py holds the production default.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    }


DEMO_SIZE = 8


def prepare_database(app: Flask, *, tenants: bool = True, demo_data: bool = True) -> None:
    """Migrate, load the tenant trees shipped in tenants/, and the demo users."""
    from jixiao import demo, migrate
    from jixiao.db import system_scope
    from jixiao.plugins import host
    from jixiao.tenancy import service as tenancy

    migrate.upgrade(app.config)
    with app.app_context():
        if tenants:
            with system_scope() as db:
                tenancy.load_files(db, host(), sorted(Path(app.config["TENANTS_PATH"]).glob("*.yaml")))
        if demo_data:
            demo.load(size=DEMO_SIZE)


@pytest.fixture(scope="session")
def jixiao_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    database = create_test_database(tmp_path_factory.mktemp("db"))
    yield database
    drop_test_database(database)


@pytest.fixture(scope="session")
def jixiao_app(jixiao_database: TestDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app on the session's database, migrated, with the tenant trees and the demo users loaded."""
    app = make_app(jixiao_database, tmp_path_factory.mktemp("instance"), JIXIAO_TEST_DATABASE=jixiao_database)
    prepare_database(app)
    yield app
    app.extensions["jixiao.db"].engine.dispose()


@pytest.fixture
def app(jixiao_app: Flask) -> Flask:
    return jixiao_app


@pytest.fixture
def client(jixiao_app: Flask) -> FlaskClient:
    return jixiao_app.test_client()


class LoggedInClient:
    """A test client logged in through the API, sending the CSRF token on writes.

    A write's response is read in full and closed before it is returned (``buffered=True``), as a WSGI server
    closes a response once sent: what the app runs after the response (a notification's e-mail, without Redis)
    has run by then. Pass ``buffered=False`` to look in between."""

    def __init__(self, client: FlaskClient, csrf_token: str, user: dict[str, Any]) -> None:
        self.client = client
        self.csrf_token = csrf_token
        self.user = user

    def _headers(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("X-CSRFToken", self.csrf_token)
        kwargs.setdefault("buffered", True)
        return headers

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.client.post(url, headers=self._headers(kwargs), **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.client.patch(url, headers=self._headers(kwargs), **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.client.put(url, headers=self._headers(kwargs), **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.client.delete(url, headers=self._headers(kwargs), **kwargs)


def api_login(app: Flask, username: str, password: str = DEMO_PASSWORD) -> LoggedInClient:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return LoggedInClient(client, body["csrf_token"], body["user"])


@pytest.fixture
def login(jixiao_app: Flask) -> Callable[..., LoggedInClient]:
    """``login("lingling_finance")`` → a client logged in as that demo user."""

    def _login(username: str, password: str = DEMO_PASSWORD) -> LoggedInClient:
        return api_login(jixiao_app, username, password)

    return _login


@pytest.fixture
def create_user(jixiao_app: Flask) -> Callable[..., str]:
    """``create_user("431102", roles=["finance"])`` → the username of a new user (password DEMO_PASSWORD)."""

    def _create(tenant_code: str, roles: list[str] | None = None, department_code: str | None = None) -> str:
        from jixiao.accounts import service
        from jixiao.db import TenantScope, scoped, system_scope
        from jixiao.tenancy import service as tenancy

        username = unique("u")
        with jixiao_app.app_context():
            with system_scope() as db:
                tenant = tenancy.get_by_code(db, tenant_code)
            assert tenant is not None, f"create_user: no tenant {tenant_code!r} (load the tenants first)"
            with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=username)) as db:
                service.create_user(db, None, tenant, username=username, password=DEMO_PASSWORD,
                                    roles=roles or ["viewer"], department_code=department_code)
        return username

    return _create


def tenant_settings(app: Flask, tenant_code: str) -> dict[str, Any]:
    """The effective settings of the tenant ``tenant_code`` (plugin defaults overlaid by the YAML files)."""
    from jixiao.db import system_scope
    from jixiao.plugins import host
    from jixiao.tenancy import service as tenancy

    with app.app_context(), system_scope() as db:
        return tenancy.effective_settings(db, host(), _tenant(db, tenant_code))


def ask_hook(app: Flask, tenant_code: str, hook: str, **arguments: Any) -> Any:
    """Ask ``hook`` as the platform does for the tenant ``tenant_code``: only the plugins in force for it, the
    most specific tenant's first (``ask_hook(app, "450000", "evaluation_grade_bands", kind="finance")``)."""
    from jixiao.db import system_scope
    from jixiao.lifecycle import common

    with app.test_request_context(), system_scope() as db:
        return getattr(common.hooks(db, _tenant(db, tenant_code)), hook)(**arguments)


def _tenant(session: Any, tenant_code: str) -> Any:
    from jixiao.tenancy import service as tenancy

    tenant = tenancy.get_by_code(session, tenant_code)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_code} in the test database (the shipped trees are in tenants/)")
    return tenant


@pytest.fixture
def with_plugin(jixiao_app: Flask) -> Iterator[Callable[..., Flask]]:
    """``with_plugin(MyRules(), "450000")`` → an app on the session's database where the plugin object is
    installed (as ``name``, by default ``"under_test"``) and enabled for that tenant and so its descendants,
    ahead of the plugins the tenant's YAML lists; the tenant's plugins are restored after the test. Pass an
    installed plugin's name instead of an object to enable an installed plugin."""
    from jixiao.db import system_scope

    restore: list[tuple[str, list[str]]] = []

    def _with(plugin: Any, tenant_code: str, name: str = "under_test") -> Flask:
        if isinstance(plugin, str):
            made, name = jixiao_app, plugin
        else:
            made = make_app(jixiao_app.config["JIXIAO_TEST_DATABASE"], Path(jixiao_app.instance_path),
                            EXTRA_PLUGINS=[(name, plugin)])
        with made.app_context(), system_scope() as db:
            tenant = _tenant(db, tenant_code)
            restore.append((tenant_code, list(tenant.plugins or [])))
            tenant.plugins = [name, *[p for p in tenant.plugins or [] if p != name]]
            db.commit()
        return made

    yield _with
    with jixiao_app.app_context(), system_scope() as db:
        for tenant_code, plugins in reversed(restore):
            _tenant(db, tenant_code).plugins = plugins
        db.commit()
