"""Notifications are written in bulk, once per user and key: the unique key ``uq_notifications_user_dedupe`` and
``INSERT … ON CONFLICT DO NOTHING`` decide (jixiao.jobs.notifications), not a read before each write.

So a scan that notifies 50 people costs what one that notifies 5 costs, and two writers of the same notification
at the same moment (two workers, a job retried while the first attempt still runs) leave one row, no error.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from jixiao.testing import unique
from tests.test_query_budget import count_statements

USERNAME = "lingling_finance"


@pytest.fixture
def recipient(app) -> tuple[int, int]:
    """(tenant id, user id) of a demo user."""
    from jixiao.accounts.models import User
    from tests.accounts_clock import bureau_scope

    with app.app_context(), bureau_scope(app, USERNAME) as db:
        user = db.scalar(sa.select(User).where(User.username == USERNAME))
        return user.tenant_id, user.id


def bureau(tenant_id: int) -> Any:
    from jixiao.db import TenantScope, scoped

    return scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id))


def items(tenant_id: int, user_id: int, keys: list[str]) -> list[dict[str, Any]]:
    return [{"tenant_id": tenant_id, "user_id": user_id, "kind": "test", "title": f"提醒 {key}", "body": "正文",
             "url": "/t/431102/", "dedupe_key": key} for key in keys]


def rows_with(db: Any, user_id: int, prefix: str) -> int:
    from jixiao.jobs.models import Notification

    return db.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.dedupe_key.startswith(prefix))) or 0


def test_notify_many_is_the_same_statements_for_5_and_for_50(app, recipient):
    from jixiao.jobs.notifications import notify_many

    tenant_id, user_id = recipient
    counted = {}
    with app.app_context(), bureau(tenant_id) as db:
        for size in (5, 50):
            prefix = unique("bulk") + ":"
            keys = [f"{prefix}{i}" for i in range(size)]
            rows_with(db, user_id, prefix)  # the transaction (and PostgreSQL's tenant context) has begun
            with count_statements(app) as first:
                written = notify_many(db, items(tenant_id, user_id, keys))
            # Again, with half of them already written and the other half new: still one statement.
            with count_statements(app) as again:
                written_again = notify_many(db, items(tenant_id, user_id, keys + [f"{prefix}new{i}" for i in range(size)]))
            db.commit()
            assert (written, written_again) == (size, size)
            assert rows_with(db, user_id, prefix) == 2 * size
            counted[size] = (len(first), len(again))
    assert counted[5] == counted[50] == (1, 1), counted


def test_notify_many_writes_a_key_given_twice_once(app, recipient):
    from jixiao.jobs.notifications import notify_many

    tenant_id, user_id = recipient
    key = unique("twice")
    with app.app_context(), bureau(tenant_id) as db:
        assert notify_many(db, items(tenant_id, user_id, [key, key, key])) == 1
        db.commit()
        assert rows_with(db, user_id, key) == 1
        assert notify_many(db, []) == 0


def test_notify_answers_whether_it_wrote_in_one_statement(app, recipient):
    from jixiao.jobs.notifications import notify

    tenant_id, user_id = recipient
    key = unique("once")
    with app.app_context(), bureau(tenant_id) as db:
        rows_with(db, user_id, key)
        answers = []
        for _ in range(2):
            with count_statements(app) as statements:
                answers.append(notify(db, tenant_id=tenant_id, user_id=user_id, kind="test", title="提醒",
                                      dedupe_key=key))
            assert len(statements) == 1, statements
        db.commit()
        assert answers == [True, False]
        assert rows_with(db, user_id, key) == 1


def test_two_writers_of_the_same_notification_at_once_leave_one_row(app, recipient, is_postgres):
    """The second writer waits on the first's uncommitted row, then skips it: no unique violation, no 500."""
    if not is_postgres:
        pytest.skip("SQLite has one writer at a time: the second waits for the file lock, then finds the row")
    from jixiao.jobs.notifications import notify_many

    tenant_id, user_id = recipient
    key = unique("race")
    written: dict[str, int] = {}
    errors: list[BaseException] = []
    first_wrote, second_started = threading.Event(), threading.Event()

    def writer(name: str) -> None:
        try:
            with app.app_context(), bureau(tenant_id) as db:
                if name == "second":
                    first_wrote.wait(10)
                    second_started.set()
                written[name] = notify_many(db, items(tenant_id, user_id, [key]))
                if name == "first":
                    first_wrote.set()
                    second_started.wait(10)
                    # The second writer is now blocked on this row's unique key until this commit.
                    threading.Event().wait(0.3)
                db.commit()
        except BaseException as exc:  # noqa: BLE001 - the test reports any failure of either writer
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert written == {"first": 1, "second": 0}
    with app.app_context(), bureau(tenant_id) as db:
        assert rows_with(db, user_id, key) == 1


def test_the_insert_is_compiled_once_whatever_the_number_of_rows(app, recipient, is_postgres):
    """The rows are the statement's parameters, not inlined values: a scan's writes of 3 and of 7 notifications
    use the one compiled statement from SQLAlchemy's cache (inlined, each count compiled anew: ≈12% of a scan).
    On PostgreSQL the server gets one statement text too, the rows one parameter: multi-row VALUES made psycopg
    split a new text of thousands of placeholders for every batch (a third of a scan)."""
    from jixiao.jobs.notifications import notify_many

    tenant_id, user_id = recipient
    hits: list[Any] = []
    sent: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        if "INSERT INTO notifications" in statement:
            hits.append(context.cache_hit)
            sent.append(statement)

    engine = app.extensions["jixiao.db"].engine
    with app.app_context(), bureau(tenant_id) as db:
        rows_with(db, user_id, "warm")
        sa.event.listen(engine, "before_cursor_execute", seen)
        try:
            for size in (3, 7, 2):
                prefix = unique("compiled") + ":"
                notify_many(db, items(tenant_id, user_id, [f"{prefix}{i}" for i in range(size)]))
        finally:
            sa.event.remove(engine, "before_cursor_execute", seen)
        db.commit()
    from sqlalchemy.engine.default import CACHE_HIT

    assert len(hits) >= 3 and all(hit is CACHE_HIT for hit in hits[1:]), hits
    if is_postgres:
        assert len(set(sent)) == 1 and len(sent) == 3, sent
