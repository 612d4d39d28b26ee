"""Persistence plumbing: engine, sessions, column types and the two walls of tenant isolation.

Wall one is here for every database: each ORM query is filtered to the tenants in the session's
:class:`TenantScope` (``do_orm_execute`` + ``with_loader_criteria``), so a forgotten filter cannot leak.
Wall two is PostgreSQL's row-level security (see ``migrations/``), fed by the same scope through
transaction-local settings written in ``after_begin``. A session with no scope sees no tenant rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import weakref
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    scoped_session,
    sessionmaker,
    with_loader_criteria,
)

from jixiao import rls

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware timestamp everywhere: SQLite forgets the zone, so it is stored as UTC and restored."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ExactDecimal(sa.TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC on PostgreSQL, text on SQLite (whose numbers are floats)."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = 20, scale: int = 4) -> None:
        super().__init__(precision, scale)
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(self.precision + 2))
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | str | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        amount = _exact(value).quantize(self._quantum)
        return str(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        return _exact(value).quantize(self._quantum)


def _exact(value: Any) -> Decimal:
    """``value`` as a Decimal: as it is when it is one (PostgreSQL's NUMERIC arrives as one; a round trip through
    text cost finalise a fifth of its time over a province's scores), through its text otherwise (a float's
    shortest repr, SQLite's text)."""
    return value if type(value) is Decimal else Decimal(str(value))


class Money(ExactDecimal):
    """Yuan with two decimals: NUMERIC(18, 2)."""

    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 2) -> None:
        super().__init__(precision, scale)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, Decimal: Money}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TenantOwned:
    """A row that belongs to one tenant. Queries for it are scoped automatically; RLS guards it on PostgreSQL."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805 - declared_attr receives the class
        return mapped_column(sa.ForeignKey("tenants.id", ondelete="RESTRICT"), index=True)


@dataclasses.dataclass(frozen=True)
class TenantScope:
    """What the current unit of work may see and change.

    ``read_ids`` are the tenants whose rows are visible, ``write_id`` the one tenant that may be written.
    ``user_id``, ``login_username`` and ``token_hash`` let authentication find its own principal before any
    tenant is known; ``tenant_code`` lets a public page find the one tenant it names. ``platform`` allows the
    rows that belong to no tenant (platform operators and their audit events) and writes to the tenants table
    (loading, provisioning). ``system`` lifts the ORM wall too, for operator commands (loading tenants, demo
    data).
    """

    read_ids: tuple[int, ...] = ()
    write_id: int | None = None
    user_id: int | None = None
    login_username: str | None = None
    token_hash: str | None = None
    tenant_code: str | None = None
    platform: bool = False
    system: bool = False

    def with_(self, **changes: Any) -> TenantScope:
        return dataclasses.replace(self, **changes)

    def settings(self, key: bytes | None = None) -> dict[str, str]:
        """The transaction-local PostgreSQL settings that row-level security policies read.

        With ``key``, signed: ``jixiao.context_mac`` is the HMAC the policies' functions verify before they
        believe any of the others (a setting changed by anyone without the key makes the context see nothing).
        """
        settings = {
            "jixiao.tenant_ids": ",".join(str(i) for i in self.read_ids),
            "jixiao.write_tenant_id": "" if self.write_id is None else str(self.write_id),
            "jixiao.user_id": "" if self.user_id is None else str(self.user_id),
            "jixiao.login_username": self.login_username or "",
            "jixiao.token_hash": self.token_hash or "",
            "jixiao.tenant_code": self.tenant_code or "",
            "jixiao.platform": "on" if self.platform or self.system else "",
        }
        if key is not None:
            settings[rls.MAC_SETTING] = rls.context_mac(key, settings)
        return settings


NO_SCOPE = TenantScope()
SCOPE_KEY = "jixiao.scope"


def get_scope(session: Session) -> TenantScope:
    return session.info.get(SCOPE_KEY, NO_SCOPE)


def set_scope(session: Session, scope: TenantScope) -> None:
    """Change the scope; an open PostgreSQL transaction gets the new settings at once."""
    session.info[SCOPE_KEY] = scope
    if session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        connection = session.connection()
        if not _aborted(connection):
            apply_settings(connection, scope)


def _aborted(connection: sa.Connection) -> bool:
    """Whether the server's transaction failed and can only be rolled back. A scope restored as an error
    leaves its block has nothing to set there (the next transaction gets its settings when it begins): trying
    would replace the error with PostgreSQL's "current transaction is aborted"."""
    from psycopg import pq

    status = getattr(getattr(connection.connection.dbapi_connection, "info", None), "transaction_status", None)
    return status == pq.TransactionStatus.INERROR


# The key each engine's connections sign their tenant context with (Database.init_app registers it).
_CONTEXT_KEYS: weakref.WeakKeyDictionary[Engine, bytes] = weakref.WeakKeyDictionary()


def register_context_key(engine: Engine, key: bytes) -> None:
    _CONTEXT_KEYS[engine] = key


def apply_settings(connection: sa.Connection, scope: TenantScope) -> None:
    """Write ``scope``, signed, into the transaction-local settings that row-level security reads.

    An engine with no registered key writes no MAC: its contexts verify nothing and see no tenant rows.
    """
    statement, values = _settings_statement(scope, _CONTEXT_KEYS.get(connection.engine))
    connection.execute(statement, dict(values))


@functools.lru_cache(maxsize=1024)
def _settings_statement(scope: TenantScope, key: bytes | None) -> tuple[sa.TextClause, tuple[tuple[str, str], ...]]:
    """The one statement writing ``scope`` signed with ``key``, made once per scope: the same user's requests
    share one (the signature is an HMAC over every setting, the same for the same scope and key)."""
    settings = scope.settings(key)
    # One round trip; set_config(..., true) lasts until the transaction ends, so nothing leaks across the pool.
    selects = ", ".join(f"set_config('{name}', :v{i}, true)" for i, name in enumerate(settings))
    return sa.text(f"SELECT {selects}"), tuple((f"v{i}", v) for i, v in enumerate(settings.values()))


_CRITERIA_KEY = "jixiao.scope_criteria"


def _scope_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete) or state.is_column_load:
        return
    scope = get_scope(state.session)
    if scope.system:
        return
    state.statement = state.statement.options(*_criteria_options(state.session, scope))


def _criteria_options(session: Session, scope: TenantScope) -> list[Any]:
    """The loader criteria of ``scope``, built once per scope a session is in, not once per statement.

    Building them (the tenant filter, each principal model's own criteria over the read set) was half the cost of
    an ORM statement under a province's scope; the scope is immutable, and a new one (``set_scope``) builds its
    own. The criteria are the same either way: both walls stand on every statement.
    """
    cached = session.info.get(_CRITERIA_KEY)
    if cached is not None and (cached[0] is scope or cached[0] == scope):
        return cached[1]
    options = _shared_criteria(scope, session.get_bind().dialect.name == "postgresql")
    session.info[_CRITERIA_KEY] = (scope, options)
    return options


@functools.lru_cache(maxsize=1024)
def _shared_criteria(scope: TenantScope, as_array: bool) -> list[Any]:
    """The criteria of ``scope``, shared by every session in it: a user's requests each open a session in the same
    scope. The options are immutable statement options (the ids are a bound value inside them); a principal model
    registered later empties this cache (``principal_criteria``)."""
    return _build_criteria(scope, as_array=as_array)


def _build_criteria(scope: TenantScope, *, as_array: bool = False) -> list[Any]:
    ids = list(scope.read_ids)
    readable = sa.bindparam("scope_tenant_ids", ids, type_=postgresql.ARRAY(sa.Integer))
    # Each lambda names its values directly: SQLAlchemy caches a lambda by its code and tracks only the SQL
    # elements and values it closes over (a helper function in the closure would freeze the first scope's ids).
    # On PostgreSQL one array parameter, not an IN list of one parameter per tenant: a province's 137 made every
    # statement too long for the driver's statement cache and SQLAlchemy expanded the list on every execution.
    if as_array and scope.platform:
        # Platform rows (no tenant: operators' audit events, platform jobs), as RLS admits them.
        tenant_rows = lambda cls: sa.or_(cls.tenant_id == sa.any_(readable), cls.tenant_id.is_(None))  # noqa: E731
    elif as_array:
        tenant_rows = lambda cls: cls.tenant_id == sa.any_(readable)  # noqa: E731
    elif scope.platform:
        tenant_rows = lambda cls: sa.or_(cls.tenant_id.in_(ids), cls.tenant_id.is_(None))  # noqa: E731
    else:
        tenant_rows = lambda cls: cls.tenant_id.in_(ids)  # noqa: E731
    options = [with_loader_criteria(TenantOwned, tenant_rows, include_aliases=True)]
    for cls, criteria in _PRINCIPAL_CRITERIA:
        options.append(with_loader_criteria(cls, criteria(scope), include_aliases=True))
    return options


class PrincipalScoped(Protocol):
    """A model that filters itself: ``__principal_criteria__(scope)`` is its criterion within ``scope``."""

    @classmethod
    def __principal_criteria__(cls, scope: TenantScope) -> Any: ...


_Scoped = TypeVar("_Scoped", bound=PrincipalScoped)

# Tables that authentication must reach before a tenant is known (users, tokens) are not TenantOwned: they
# carry a nullable tenant_id and filter themselves with their own criteria.
_PRINCIPAL_CRITERIA: list[tuple[type, Any]] = []


def principal_criteria(cls: type[_Scoped]) -> type[_Scoped]:
    """Class decorator: ``cls.__principal_criteria__(scope)`` replaces the plain tenant filter for ``cls``."""
    _PRINCIPAL_CRITERIA.append((cls, cls.__principal_criteria__))
    _shared_criteria.cache_clear()
    return cls


class Database:
    """The SQLAlchemy engine and the request-scoped session of one Flask app."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session: scoped_session[Session] | None = None

    def init_app(self, app: Flask) -> None:
        self.engine = create_engine(app.config["DATABASE_URL"], echo=app.config.get("SQL_ECHO", False),
                                    keep_prepared_statements=True)
        if self.engine.dialect.name == "postgresql":
            register_context_key(self.engine, rls.context_key(app.config))
        factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        # One session per app context, as Flask-SQLAlchemy does: requests, CLI commands and jobs each get theirs.
        from flask.globals import app_ctx

        self.session = scoped_session(
            factory, scopefunc=lambda: id(app_ctx._get_current_object()))  # type: ignore[attr-defined]  # werkzeug LocalProxy
        app.extensions["jixiao.db"] = self
        app.before_request(_keep_prepared_statements)
        app.teardown_appcontext(self._remove_session)

    def _remove_session(self, exc: BaseException | None) -> None:
        if self.session is not None:
            self.session.remove()


#: Set on ``flask.g`` for a request (its app context outlives it: the session's last rollback comes after).
KEEPS_PREPARED_STATEMENTS = "jixiao_keeps_prepared_statements"


def _keep_prepared_statements() -> None:
    g.setdefault(KEEPS_PREPARED_STATEMENTS, True)


def _rollback_keeping_prepared_statements(dbapi_connection: Any) -> None:
    """Roll a request's transaction back and keep psycopg's prepared statements.

    psycopg prepares a statement on the server once a connection has run it five times, and forgets every one
    at each rollback (in case the transaction dropped what they read; the application's role cannot). Every
    read-only request ends with a rollback, so nothing was ever prepared and each request's statements were
    planned anew: the project list's SQL took 6.0 ms in process, 3.5 ms with its statements prepared (the
    server's generic plans for the token, the context and the principal). Sent as a plain ROLLBACK, the
    prepared statements stay; anything but a clean rollback goes to psycopg's own, with its errors.

    Outside a request (jobs, commands) psycopg's own rollback forgets them as before: a job runs a few large
    statements over many ids, where a generic plan can cost more than planning for the ids at hand (five
    finalises of a campaign in process: 264–370 ms with its metric statements kept, 229–253 ms without)."""
    from psycopg import pq

    if not (has_app_context() and g.get(KEEPS_PREPARED_STATEMENTS)):
        dbapi_connection.rollback()
        return
    pgconn = dbapi_connection.pgconn
    status = pgconn.transaction_status
    if status == pq.TransactionStatus.IDLE:
        return
    if status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR):
        result = pgconn.exec_(b"ROLLBACK")
        if result.status == pq.ExecStatus.COMMAND_OK:
            return
    dbapi_connection.rollback()


def create_engine(url: str, echo: bool = False, *, keep_prepared_statements: bool = False) -> Engine:
    """The engine for ``url``. ``keep_prepared_statements``: for the application's own engine, whose role runs
    no DDL (see :func:`_rollback_keeping_prepared_statements`); not for migrations."""
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = sa.create_engine(url, **kwargs)
    if keep_prepared_statements and engine.dialect.driver == "psycopg":
        engine.dialect.do_rollback = _rollback_keeping_prepared_statements  # type: ignore[method-assign]
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


@event.listens_for(Session, "do_orm_execute")
def _on_orm_execute(state: ORMExecuteState) -> None:
    _scope_criteria(state)


@event.listens_for(Session, "after_begin")
def _on_after_begin(session: Session, _transaction: Any, connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        apply_settings(connection, get_scope(session))


def insert_many(session: Session, model: type[Any], fixed: dict[str, Any], varying: dict[str, list[Any]],
                returning: tuple[str, ...] = (), *, skip_conflicts_on: tuple[str, ...] = ()
                ) -> list[tuple[Any, ...]]:
    """Insert one row per position of ``varying``'s lists (``fixed`` the values all share) and give back each
    row's ``returning`` columns (in no promised order). On PostgreSQL one statement whatever the number of
    rows, the same text every time: ``INSERT … SELECT … FROM json_to_recordset(:rows)``, the rows one JSON
    parameter (the server parses it; arrays of strings would be escaped one element at a time in Python).
    Elsewhere an executemany. Python-side column defaults are not applied: give every value in ``fixed`` or
    ``varying``. Row-level security checks every row, under the session's own tenant context. ``model``: a
    mapped class (its table). ``skip_conflicts_on``: the columns of a unique key; a row that would repeat a
    key already there is left out (``ON CONFLICT (…) DO NOTHING``), and ``returning`` answers only the rows
    written."""
    table: sa.Table = model.__table__
    if skip_conflicts_on and session.get_bind().dialect.name != "postgresql":
        raise NotImplementedError("insert_many skips conflicts on PostgreSQL only")
    if session.get_bind().dialect.name != "postgresql":
        count = len(next(iter(varying.values())))
        rows = [{**fixed, **{name: values[index] for name, values in varying.items()}} for index in range(count)]
        if not returning:
            session.execute(sa.insert(table), rows)
            return []
        inserted = sa.insert(table).returning(*(table.c[name] for name in returning))
        return [tuple(row) for row in session.execute(inserted, rows)]
    dialect = session.get_bind().dialect

    def sql_type(name: str) -> str:
        return str(table.c[name].type.compile(dialect=dialect))

    def plain(name: str, value: Any) -> Any:
        # A fixed JSON value is sent as its text; JSON inside the rows' document is the document's own.
        return json.dumps(value) if value is not None and isinstance(table.c[name].type, sa.JSON) else value

    selected = [f"CAST(:{name} AS {sql_type(name)})" for name in fixed] + [f"r.{name}" for name in varying]
    record = ", ".join(f"{name} {sql_type(name)}" for name in varying)
    statement = sa.text(
        f"INSERT INTO {table.name} ({', '.join((*fixed, *varying))}) SELECT {', '.join(selected)} "
        f"FROM json_to_recordset(CAST(:rows AS JSON)) AS r({record})"
        + (f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING" if skip_conflicts_on else "")
        + (f" RETURNING {', '.join(returning)}" if returning else ""))
    names = tuple(varying)
    document = json.dumps([dict(zip(names, values, strict=True)) for values in zip(*varying.values(), strict=True)],
                          default=_json_scalar)
    parameters = {name: plain(name, value) for name, value in fixed.items()}
    result = session.execute(statement, {**parameters, "rows": document})
    return [tuple(row) for row in result] if returning else []


def _json_scalar(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact: the server reads the text as NUMERIC
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a value insert_many sends")


def select_many(session: Session, statements: Sequence[sa.Select[Any] | sa.CompoundSelect]) -> list[list[tuple[Any, ...]]]:
    """Every statement's rows, in order. On PostgreSQL all of them in one statement and one round trip: each
    becomes a sub-select whose rows come back as one JSON array, its values read again through the column's own
    result type (numbers with a fraction as Decimal, exactly). The tenant filter and row-level security apply to
    every sub-select as to a statement of its own. Numbers, text, booleans, enums, dates and times come back as
    each statement alone gives them (JSON columns and other structured values are not for this). Elsewhere
    one statement each."""
    if session.get_bind().dialect.name != "postgresql":
        return [[tuple(row) for row in session.execute(statement)] for statement in statements]
    dialect = session.get_bind().dialect
    parts = [statement.subquery(f"part_{index}") for index, statement in enumerate(statements)]
    empty: sa.ColumnElement[Any] = sa.literal_column("'[]'::json")
    documents = session.execute(sa.select(*(
        sa.select(sa.cast(sa.func.coalesce(sa.func.json_agg(sa.func.json_build_array(*part.c)), empty), sa.Text))
        .select_from(part).scalar_subquery() for part in parts))).one()
    answers = []
    for part, document in zip(parts, documents, strict=True):
        readers = [_json_reader(column.type, dialect) for column in part.c]
        answers.append([tuple(value if read is None or value is None else read(value)
                              for read, value in zip(readers, row, strict=True))
                        for row in json.loads(document, parse_float=Decimal)])
    return answers


def _json_reader(type_: Any, dialect: sa.Dialect) -> Any:
    """How a value of ``type_`` that came back inside JSON is read: a number as Decimal when the type is
    (JSON gives 0 for a NUMERIC zero), a date or a time from its ISO text, a decorated type through its own
    reading after its column's (an exact decimal at its column's scale), anything else through the type's own
    result processor (an enum's value as its member …)."""
    if isinstance(type_, sa.types.TypeDecorator):
        inner = _json_reader(type_.load_dialect_impl(dialect), dialect)

        def decorated(value: Any) -> Any:
            return type_.process_result_value(inner(value) if inner is not None else value, dialect)

        return decorated
    affinity = getattr(type_, "_type_affinity", None)
    if affinity is sa.Numeric and getattr(type_, "asdecimal", False):
        return lambda value: value if isinstance(value, Decimal) else Decimal(str(value))
    if affinity is sa.Date:
        return date.fromisoformat
    if affinity is sa.DateTime:
        return datetime.fromisoformat
    return type_.dialect_impl(dialect).result_processor(dialect, None)


def db() -> Database:
    return current_app.extensions["jixiao.db"]


def session() -> Session:
    """The current app context's session."""
    return current_app.extensions["jixiao.db"].session()


@contextlib.contextmanager
def scoped(scope: TenantScope) -> Iterator[Session]:
    """Run a block under ``scope`` and restore the previous one afterwards (CLI commands, jobs, tests)."""
    current = session()
    previous = get_scope(current)
    set_scope(current, scope)
    try:
        yield current
    finally:
        set_scope(current, previous)


@contextlib.contextmanager
def platform_facts(session: Session) -> Iterator[Session]:
    """A fixed read of platform-wide facts that any user may see (which tenant enables which plugin).

    Row-level security shows a bureau only its own tenants; for the length of the block the context carries the
    platform flag. Nothing pending is flushed under it, and the previous scope comes back afterwards.
    """
    previous = get_scope(session)
    with session.no_autoflush:
        set_scope(session, previous.with_(platform=True))
        try:
            yield session
        finally:
            set_scope(session, previous)


@contextlib.contextmanager
def platform_write(session: Session) -> Iterator[Session]:
    """One write that row-level security allows only in a platform context (a tenant row), made by a service
    that has already checked the actor may make it. The caller commits inside the block; the previous scope
    comes back afterwards."""
    previous = get_scope(session)
    set_scope(session, previous.with_(platform=True))
    try:
        yield session
    finally:
        set_scope(session, previous)


def system_scope() -> contextlib.AbstractContextManager[Session]:
    return scoped(TenantScope(system=True))
