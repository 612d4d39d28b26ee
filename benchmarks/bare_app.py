"""The HTTP baseline: a bare Flask app doing the same work as Jixiao's project list, and nothing else.

Served by the same gunicorn with the same workers and threads as Jixiao (``gunicorn
'benchmarks.bare_app:create_app()'``); configured by the environment: ``BENCH_DATABASE_URL`` (the application
role, the same non-owner role Jixiao connects as, so row-level security is in force) and ``BENCH_CONTEXT_KEY``
(hex: the key the tenant context is signed with, ``jixiao.rls.context_key`` of the same secret).

``GET /api/v1/tenants/<code>/projects?page=&per_page=`` does what Jixiao does for a finance user's bearer token:
reads the token by its SHA-256 under the signed tenant context (``jixiao.db.TenantScope.settings``, the very
settings ``jixiao.db.apply_settings`` writes), with its user, the user's tenant and that tenant's subtree in the
same statement, sets the user's tenant context (its subtree, its write tenant, its id), records the token's use
at most once a minute, checks the URL's tenant (a statement only when it is not the user's own), and returns the page of 50 with each project's latest light and grade and the total, as the
same JSON. Plain psycopg, one connection per thread, hand-written SQL; no ORM, no schema library. A finance user
sees every project of their tenant, so the visibility rule is the tenant here (the benchmark runs as one).
"""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from flask import Flask, abort, jsonify, request

from jixiao.db import TenantScope

TOKEN_PREFIX = "jx_"
TOUCH_EVERY = timedelta(minutes=1)

PAGE_SQL = """
SELECT p.id, p.code, p.name, p.year, p.kind, p.fund_type, p.category, p.is_new, p.is_key, p.classified,
       p.spending_modalities, p.is_special_fund, p.fund_source, p.requested_amount, p.approved_amount,
       p.adjusted_amount, p.stage, p.payment_suspended, p.suspension_reason, d.id, d.code, d.name,
       p.continues_project_id, p.version,
       (SELECT m.light FROM monitoring_reports m WHERE m.project_id = p.id ORDER BY m.period DESC LIMIT 1),
       (SELECT e.grade FROM evaluations e WHERE e.project_id = p.id AND e.status = 'submitted'
         ORDER BY CASE WHEN e.kind = 'self' THEN 1 ELSE 0 END, e.submitted_at DESC LIMIT 1)
FROM projects p LEFT JOIN departments d ON d.id = p.department_id
WHERE p.tenant_id = %s
ORDER BY p.year DESC, p.code
LIMIT %s OFFSET %s
"""
FIELDS = ("id", "code", "name", "year", "kind", "fund_type", "category", "is_new", "is_key", "classified",
          "spending_modalities", "is_special_fund", "fund_source", "requested_amount", "approved_amount",
          "adjusted_amount", "stage", "payment_suspended", "suspension_reason")


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


def create_app() -> Flask:
    app = Flask(__name__)
    url = os.environ["BENCH_DATABASE_URL"]
    key = bytes.fromhex(os.environ["BENCH_CONTEXT_KEY"])
    local = threading.local()

    def connection() -> psycopg.Connection[Any]:
        conn = getattr(local, "connection", None)
        if conn is None or conn.closed:
            conn = local.connection = psycopg.connect(url)
        return conn

    def set_context(cursor: psycopg.Cursor[Any], scope: TenantScope) -> None:
        settings = scope.settings(key)
        cursor.execute("SELECT " + ", ".join("set_config(%s, %s, true)" for _ in settings),
                       [part for item in settings.items() for part in item])

    @app.get("/api/v1/tenants/<code>/projects")
    def projects(code: str) -> Any:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip()
        if not header.startswith("Bearer ") or not token.startswith(TOKEN_PREFIX):
            abort(401)
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(500, max(1, int(request.args.get("per_page", 50))))
        digest = hashlib.sha256(token.encode()).hexdigest()
        conn = connection()
        with conn.transaction(), conn.cursor() as cursor:
            set_context(cursor, TenantScope(token_hash=digest))
            # The token, its user, the user's tenant and its subtree in one statement, as Jixiao reads them
            # (revision 0026 admits the live token's user under the token's hash).
            cursor.execute("SELECT k.user_id, k.revoked_at, k.last_used_at, u.tenant_id, u.active, t.code, "
                           "ARRAY(SELECT d.id FROM tenants d WHERE d.path LIKE t.path || '%%') "
                           "FROM api_tokens k JOIN users u ON u.id = k.user_id JOIN tenants t ON t.id = u.tenant_id "
                           "WHERE k.token_hash = %s AND k.revoked_at IS NULL", (digest,))
            found = cursor.fetchone()
            if found is None or not found[4]:
                abort(401)
            user_id, _revoked, last_used, tenant_id, _active, own_code, subtree = found
            read_ids = tuple(sorted(subtree))
            set_context(cursor, TenantScope(read_ids=read_ids, write_id=tenant_id, user_id=user_id))
            now = datetime.now(UTC)
            if last_used is None or not timedelta(0) <= now - last_used < TOUCH_EVERY:
                cursor.execute("UPDATE api_tokens SET last_used_at = %s WHERE token_hash = %s AND "
                               "(last_used_at IS NULL OR last_used_at <= %s OR last_used_at > %s)",
                               (now, digest, now - TOUCH_EVERY, now))
            if code == own_code:
                named_id = tenant_id
            else:
                cursor.execute("SELECT id FROM tenants WHERE code = %s", (code,))
                named = cursor.fetchone()
                if named is None or named[0] not in read_ids:
                    abort(404)
                named_id = named[0]
            cursor.execute("SELECT count(*) FROM projects WHERE tenant_id = %s", (named_id,))
            total = cursor.fetchone()[0]
            cursor.execute(PAGE_SQL, (named_id, per_page, (page - 1) * per_page))
            items = [_item(row) for row in cursor.fetchall()]
        return jsonify({"items": items, "total": total, "page": page, "per_page": per_page})

    return app


def _item(row: tuple[Any, ...]) -> dict[str, Any]:
    item = dict(zip(FIELDS, row[:19], strict=True))
    for name in ("requested_amount", "approved_amount", "adjusted_amount"):
        item[name] = _money(item[name])
    item["spending_modalities"] = item["spending_modalities"] or []
    department_id, department_code, department_name, continues, version, light, grade = row[19:]
    item["department"] = None if department_id is None else {"id": department_id, "code": department_code,
                                                              "name": department_name}
    item.update(continues_project_id=continues, version=version, light=light, grade=grade)
    return item
