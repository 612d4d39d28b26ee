"""The writer's short encoding paths give what the columns' own types would bind."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from jixiao.db import Base, TenantScope, scoped, system_scope
from jixiao.tenancy import service as tenancy
from jixiao_demo.builder import Clock
from jixiao_demo.province import build_tenant
from jixiao_demo.writer import _Shape


def test_encoded_rows_equal_the_types_bind_processing(province):
    with province.app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, sorted(province.codes)[-1])
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            clock = Clock(today=province.today, zone=ZoneInfo("Asia/Shanghai"), year=province.year)
            batch = build_tenant(db, tenant, province.seed + 7, 6, clock)
            db.rollback()
    samples = {table: rows for table, rows in batch.rows.items() if rows}
    samples["audit_events"] = [dict(e, object_id=str(e["object_id"])) for e in batch.audit]
    for dialect in (sqlite.dialect(), postgresql.psycopg.dialect()):
        for table_name, rows in samples.items():
            table = Base.metadata.tables[table_name]
            shape = _Shape(table, list(rows[0]), dialect)
            processors = [table.c[name].type._cached_bind_processor(dialect) for name in shape.columns]
            for row in rows[:200]:
                encoded = shape.encode(row)
                for name, processor, value in zip(shape.columns, processors, encoded, strict=True):
                    expected = row[name] if processor is None else processor(row[name])
                    if row[name] is None and isinstance(table.c[name].type, sa.JSON):
                        # The type binds None as JSON 'null'; the writer stores SQL NULL, as the services do for a
                        # form or a snapshot they never set. Both read back as None.
                        assert value is None, (table_name, name)
                        continue
                    if dialect.name == "postgresql" and hasattr(expected, "obj"):
                        expected = json.dumps(expected.obj)  # psycopg's Json wrapper: the same text
                    # sqlite3 binds a bool as the integer SQLAlchemy's Boolean would give it.
                    kinds = {type(value), type(expected)}
                    assert value == expected and (len(kinds) == 1 or kinds == {bool, int}), (dialect.name, table_name, name)
