"""Writing a tenant's batch in bulk, inside the caller's transaction (and so inside its tenant scope).

- **Ids** are reserved, then rows name each other by them: on PostgreSQL from each table's own sequence
  (``nextval`` over ``generate_series``: safe beside other writers); on SQLite ``max(id) + 1 …`` after taking the
  database's write lock, which no other writer can then take until the transaction ends.
- **Rows** go in with the connection's ``executemany`` (SQLAlchemy Core ``exec_driver_sql``), parameters encoded
  once per column the way the columns' types encode them. The typed ``insert()`` construct would spend more time
  binding each row than SQLite spends inserting it.
- **PostgreSQL** refuses ``COPY FROM`` into a table under row-level security, so a large table is copied into a
  temporary staging table and moved with one ``INSERT … SELECT``, which the policies check row by row like any
  insert. Without the TEMP privilege the writer falls back to ``executemany``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa

from jixiao.db import Base, ExactDecimal, UTCDateTime
from jixiao_demo.builder import COLUMNS_WITH_ID, REFERENCES, TABLES, TenantBatch

if TYPE_CHECKING:
    import psycopg

# Below this many rows a staging table costs more round trips than it saves.
COPY_THRESHOLD = 50
BATCH = 5000


class Writer:
    """Writes batches on one connection; ``copy`` allows COPY on PostgreSQL when the role may create temp tables."""

    def __init__(self, connection: sa.Connection, *, copy: bool = True) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.postgres = self.dialect.name == "postgresql"
        self.copy = copy and self.postgres and bool(connection.exec_driver_sql(
            "SELECT has_database_privilege(current_database(), 'TEMPORARY')").scalar())
        self._shapes: dict[tuple[str, tuple[str, ...]], _Shape] = {}
        # Staging tables live as long as the database connection (emptied at each commit), so they are created once
        # per connection: its info dict outlives this writer and the transaction.
        self._staged: set[str] = connection.info.setdefault("jixiao_demo.staged", set())
        self._used: set[str] = set()

    def write(self, batch: TenantBatch) -> dict[str, int]:
        """Insert ``batch`` (its local ids replaced by real ones, in place) and its creation events; the counts."""
        if not self.postgres:
            # Take the write lock now, so that max(id) stays ours until commit (a no-op write begins the transaction).
            self.connection.exec_driver_sql("UPDATE tenants SET id = id WHERE 0 = 1")
        ids: dict[str, list[int]] = {}
        for table in TABLES:
            if table in COLUMNS_WITH_ID:
                ids[table] = list(batch.preset.get(table, ())) + self.reserve(table, batch.count(table))
        counts: dict[str, int] = {}
        for table in TABLES:
            rows = batch.rows.get(table) or []
            if not rows:
                continue
            _resolve(rows, ids.get(table), {column: ids[target] for column, target in REFERENCES.get(table, {}).items()})
            self.insert(table, rows)
            counts[table] = len(rows)
        for event in batch.audit:
            event["object_id"] = str(ids[event["object_type"]][event["object_id"]])
        if batch.audit:
            self.insert("audit_events", batch.audit)
            counts["audit_events"] = len(batch.audit)
        return counts

    def reserve(self, table: str, count: int) -> list[int]:
        if not count:
            return []
        if self.postgres:
            rows = self.connection.exec_driver_sql(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", (count,))
            return [row[0] for row in rows]
        first = int(self.connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar_one()) + 1
        return list(range(first, first + count))

    def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        shape = self._shape(table, rows[0])
        params = [shape.encode(row) for row in rows]
        if self.copy and len(rows) >= COPY_THRESHOLD:
            self._copy(table, shape, params)
            return
        for start in range(0, len(params), BATCH):
            self.connection.exec_driver_sql(shape.sql, params[start:start + BATCH])

    def _copy(self, table: str, shape: _Shape, params: list[tuple[Any, ...]]) -> None:
        stage = f"jixiao_demo_{table}"
        columns = ", ".join(shape.columns)
        # COPY is psycopg's own API: self.copy is set for PostgreSQL alone, whose driver here is psycopg 3.
        raw = cast("psycopg.Connection[Any]", self.connection.connection.dbapi_connection)
        with raw.cursor() as cursor:
            if stage not in self._staged:
                cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
                               f"SELECT {columns} FROM {table} WITH NO DATA")
                self._staged.add(stage)
            elif stage in self._used:
                cursor.execute(f"TRUNCATE {stage}")
            self._used.add(stage)
            with cursor.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage}")

    def _shape(self, table: str, sample: dict[str, Any]) -> _Shape:
        key = (table, tuple(sample))
        if key not in self._shapes:
            self._shapes[key] = _Shape(Base.metadata.tables[table], list(sample), self.dialect)
        return self._shapes[key]


def _resolve(rows: list[dict[str, Any]], own: list[int] | None, references: dict[str, list[int]]) -> None:
    """Local ids to real ones: each row's own ``id`` and every column that names another row."""
    for row in rows:
        if own is not None:
            row["id"] = own[row["id"]]
        for column, real in references.items():
            local = row[column]
            if local is not None:
                row[column] = real[local]


class _Shape:
    """How one table's rows become parameters: the columns in table order, each with its encoder."""

    def __init__(self, table: sa.Table, keys: Iterable[str], dialect: sa.Dialect) -> None:
        wanted = set(keys)
        columns = [c for c in table.columns if c.name in wanted]
        missing = wanted - {c.name for c in columns}
        if missing:
            raise KeyError(f"{table.name} has no column {', '.join(sorted(missing))}")
        self.columns = [c.name for c in columns]
        self.encoders = [encoder(c.type, dialect) for c in columns]
        marker = "%s" if dialect.name == "postgresql" else "?"
        self.sql = (f"INSERT INTO {table.name} ({', '.join(self.columns)}) "
                    f"VALUES ({', '.join(marker for _ in self.columns)})")
        # One compiled function per table: a loop over columns per row would cost more than the insert itself.
        names = {f"e{i}": e for i, e in enumerate(self.encoders) if e is not None}
        parts = [f"r[{c!r}]" if e is None else f"e{i}(r[{c!r}])"
                 for i, (c, e) in enumerate(zip(self.columns, self.encoders, strict=True))]
        self.encode: Callable[[dict[str, Any]], tuple[Any, ...]] = eval(  # noqa: S307 - built from column names
            f"lambda r: ({', '.join(parts)},)", names)


def encoder(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """What turns a Python value into the driver's parameter for a column of ``type_`` (``None``: as it is).

    The same result as the type's own bind processing (demo/tests/test_writer.py checks it); the common types take a
    shorter path than SQLAlchemy's general one.
    """
    if isinstance(type_, ExactDecimal):
        if dialect.name != "sqlite":
            return None
        quantum = type_._quantum

        def decimal_text(value: Any) -> Any:
            return None if value is None else str(value.quantize(quantum))

        return decimal_text
    if isinstance(type_, sa.Enum | sa.Integer | sa.Boolean) or type(type_) in (sa.String, sa.Text):
        return None  # plain str, int, bool values: the drivers take them as they are
    if isinstance(type_, sa.JSON):
        return _json
    if isinstance(type_, UTCDateTime) and dialect.name == "sqlite":
        return _sqlite_datetime
    processor = type_._cached_bind_processor(dialect)
    return processor


def _sqlite_datetime(value: datetime | None) -> str | None:
    # UTCDateTime on SQLite: naive UTC text, in SQLAlchemy's storage format (isoformat writes the same, faster).
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a timezone-aware column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _json(value: Any) -> Any:
    # SQLAlchemy's JSON type serialises with json.dumps too; the text is the same on both databases.
    return None if value is None else json.dumps(value)
