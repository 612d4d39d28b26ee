"""The measured paths that are not an HTTP load: each a Jixiao side and a baseline side, with their answers.

Every side is a function ``(province) -> Outcome``: the seconds it took, the answer (compared before anything is
timed: the baseline must give Jixiao's answer) and the SQL statements it sent. Jixiao's side runs the product's
own service or endpoint; the baseline's is plain SQL through the application role (row-level security in force,
under the same signed tenant context, ``jixiao.db.TenantScope.settings``), with openpyxl for the spreadsheets.

- **statistics**: ``GET …/430000/statistics?year=&scope=all`` as the province's finance user (gunicorn), against
  one set-based SQL statement computing the same per-child figures (projects, amounts, ex-ante assessments,
  filed targets, monitoring reports, evaluations, self-evaluations, rectification notices, results applied).
- **finalise**: ``assessment.service.finalize`` of the province's county campaign (``hunan-province-counties``,
  122 subjects), against its computed indicators measured in one statement (every metric's numerator and
  denominator statement, as the metrics define them, in one UNION ALL through SQLAlchemy Core: no ORM, no hooks,
  no per-subject Python); checked against the ratios finalize stored.
- **scan**: ``lifecycle.scans.daily_scan``, against per tenant one transaction of two set-based statements (an
  ``INSERT … SELECT … ON CONFLICT DO NOTHING`` of every notification kind with its audience, and the suspension
  ``UPDATE`` with its audit events and notifications); checked on the notifications written and the projects
  suspended. Between runs the owner takes back what a run wrote, so each run starts from the same state.
- **import** / **export**: the 项目清单 import (the upload's ``importer.survey_project_list``, and its
  ``importer.check_project_list`` too up to the request's limit, then the job's check into the spool and
  ``bulk.create_projects``) against an openpyxl read-only parse of the same file; the projects export
  (``export.export_projects``) against a SELECT of the same rows and an openpyxl write-only workbook.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import sqlalchemy as sa

from benchmarks.province import PROVINCE, Province


@dataclasses.dataclass
class Outcome:
    seconds: float
    answer: Any
    statements: int | None = None


# ---- Helpers -----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def counting(engine: sa.Engine) -> Iterator[list[int]]:
    """Count the statements ``engine`` sends while the block runs (``[n]``)."""
    count = [0]

    def before(*_args: Any) -> None:
        count[0] += 1

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield count
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def app_engine(province: Province) -> sa.Engine:
    return province.app.extensions["jixiao.db"].engine


def psycopg_url(province: Province) -> str:
    return province.database.app_url.replace("postgresql+psycopg://", "postgresql://")


def context_key(province: Province) -> bytes:
    from jixiao import rls

    return rls.context_key(province.app.config)


def set_context(cursor: Any, scope: Any, key: bytes) -> None:
    """The signed tenant context, as ``jixiao.db.apply_settings`` writes it, in one statement."""
    settings = scope.settings(key)
    cursor.execute("SELECT " + ", ".join("set_config(%s, %s, true)" for _ in settings),
                   [part for item in settings.items() for part in item])


def tenant(province: Province, code: str) -> Any:
    from jixiao.db import system_scope
    from jixiao.tenancy import service as tenancy

    with system_scope() as db:
        found = tenancy.get_by_code(db, code)
        db.expunge(found)
        return found


def subtree(province: Province, code: str) -> tuple[int, ...]:
    with province.owner.connect() as connection:
        return tuple(connection.execute(sa.text(
            "SELECT id FROM tenants WHERE path LIKE (SELECT path FROM tenants WHERE code = :c) || '%' ORDER BY id"),
            {"c": code}).scalars())


@contextlib.contextmanager
def as_user(province: Province, username: str, code: str) -> Iterator[Any]:
    """An app context whose session has the scope a request of ``username`` gets (its tenant's subtree)."""
    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped

    with province.app.app_context():
        user_id = province.users[username]
        read_ids = subtree(province, code)
        home = tenant(province, code)
        with scoped(TenantScope(read_ids=read_ids, write_id=home.id, user_id=user_id)) as db:
            user = db.get(User, user_id)
            yield db, user, db.merge(home, load=False)


# ---- Statistics (province, 含下级) -------------------------------------------------------------------------

STATISTICS_SQL = """
WITH child AS (SELECT id, code, path FROM tenants WHERE parent_id = %(province)s),
owner AS (SELECT t.id, c.code AS child FROM tenants t JOIN child c ON t.path LIKE c.path || '%%'),
p AS (SELECT p.id, p.requested_amount, p.approved_amount,
             coalesce(p.adjusted_amount, p.approved_amount, p.requested_amount) AS budget, o.child
      FROM projects p JOIN owner o ON o.id = p.tenant_id WHERE p.year = %(year)s),
projects_ AS (SELECT child, count(*) AS n, sum(requested_amount) AS requested, sum(approved_amount) AS approved,
                     sum(budget) AS budget FROM p GROUP BY child),
exante AS (SELECT p.child, count(*) AS n, sum(x.amount_cut) AS cut
           FROM exante_assessments x JOIN p ON p.id = x.project_id GROUP BY p.child),
targets AS (SELECT p.child, count(*) AS n FROM target_sets s JOIN p ON p.id = s.project_id
            WHERE s.status IN ('submitted', 'approved') GROUP BY p.child),
monitoring AS (SELECT p.child, count(*) AS n FROM monitoring_reports m JOIN p ON p.id = m.project_id GROUP BY p.child),
evaluations AS (SELECT p.child, count(*) FILTER (WHERE e.kind <> 'self') AS n,
                       count(*) FILTER (WHERE e.kind = 'self') AS self
                FROM evaluations e JOIN p ON p.id = e.project_id WHERE e.status = 'submitted' GROUP BY p.child),
notices AS (SELECT p.child, count(*) AS n, count(*) FILTER (WHERE r.status = 'verified') AS closed
            FROM rectification_notices r JOIN p ON p.id = r.project_id GROUP BY p.child),
results AS (SELECT p.child, count(*) AS n FROM result_applications a JOIN p ON p.id = a.project_id
            WHERE a.in_force GROUP BY p.child)
SELECT c.code, coalesce(pr.n, 0), coalesce(pr.requested, 0), coalesce(pr.approved, 0), coalesce(pr.budget, 0),
       coalesce(x.n, 0), coalesce(x.cut, 0), coalesce(t.n, 0), coalesce(m.n, 0), coalesce(e.n, 0),
       coalesce(e.self, 0), coalesce(r.n, 0), coalesce(r.closed, 0), coalesce(a.n, 0)
FROM child c
LEFT JOIN projects_ pr ON pr.child = c.code LEFT JOIN exante x ON x.child = c.code
LEFT JOIN targets t ON t.child = c.code LEFT JOIN monitoring m ON m.child = c.code
LEFT JOIN evaluations e ON e.child = c.code LEFT JOIN notices r ON r.child = c.code
LEFT JOIN results a ON a.child = c.code
ORDER BY c.code
"""
STATISTICS_FIGURES = ("projects", "requested", "approved", "budget", "exante", "amount_cut", "targets",
                      "monitoring", "evaluations", "self_evaluations", "notices", "closed", "results")


def statistics_figures(answer: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """The figures the baseline computes, read from Jixiao's JSON: child code → the tuple, as Decimals."""
    found = {}
    for child in answer["children"]:
        projects, exante, filing = child["projects"], child["exante"], child["filing"]
        values = (projects["count"], projects["requested_amount"], projects["approved_amount"],
                  projects["budget_amount"], exante["count"], exante["amount_cut"], filing["targets"]["records"],
                  filing["monitoring"]["records"], child["evaluations"]["count"], filing["self_evaluation"]["records"],
                  child["rectification"]["issued"], child["rectification"]["closed"], child["results"]["count"])
        found[child["code"]] = tuple(Decimal(str(v)) for v in values)
    return found


def statistics_jixiao(base: str, province: Province, repeat: int) -> Outcome:
    """``repeat`` requests of the API one after another; the median request (seconds) and the last answer."""
    url = f"{base}/api/v1/tenants/{PROVINCE}/statistics?year={province.year}&scope=all"
    timings, body = [], b""
    for _ in range(repeat):
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {province.province_token}"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            body = response.read()
        timings.append(time.perf_counter() - started)
    return Outcome(sorted(timings)[len(timings) // 2], statistics_figures(json.loads(body)))


def statistics_baseline(province: Province, repeat: int) -> Outcome:
    from jixiao.db import TenantScope

    key, ids = context_key(province), subtree(province, PROVINCE)
    user_id = province.users[f"bench-{PROVINCE}-finance"]
    timings, rows = [], []
    with psycopg.connect(psycopg_url(province)) as connection:
        for _ in range(repeat):
            started = time.perf_counter()
            with connection.transaction(), connection.cursor() as cursor:
                set_context(cursor, TenantScope(read_ids=ids, write_id=ids[0], user_id=user_id), key)
                cursor.execute(STATISTICS_SQL, {"province": ids[0], "year": province.year})
                rows = cursor.fetchall()
            timings.append(time.perf_counter() - started)
    answer = {row[0]: tuple(Decimal(str(v)) for v in row[1:]) for row in rows}
    return Outcome(sorted(timings)[len(timings) // 2], answer, statements=2)


# ---- Campaign finalise (the province's counties) -----------------------------------------------------------

SCHEME = "hunan-province-counties"


def open_campaign(province: Province) -> int:
    """Open the province's county campaign (deadline passed: finalise needs no force); its id."""
    from jixiao.assessment import service

    with as_user(province, f"bench-{PROVINCE}-finance", PROVINCE) as (db, user, home):
        campaign = service.create_campaign(db, user, home, year=province.year, scheme_code=SCHEME,
                                           deadline=date.today() - timedelta(days=1))
        return int(campaign.id)


def finalize_jixiao(province: Province, campaign_id: int, reopen: bool = True) -> Outcome:
    """``finalize`` as its job runs it; then (``reopen``) reopened, untimed, so the next run finalises again."""
    from jixiao.assessment import service
    from jixiao.assessment.models import CampaignScore, CampaignSubject

    username = f"bench-{PROVINCE}-finance"
    with as_user(province, username, PROVINCE) as (db, user, home), counting(app_engine(province)) as count:
        campaign = service.get_campaign(db, home, campaign_id)
        started = time.perf_counter()
        service.finalize(db, home, campaign)
        seconds = time.perf_counter() - started
        statements = count[0]
        stored = db.execute(sa.select(CampaignSubject.subject_tenant_id, CampaignScore.indicator_code,
                                      CampaignScore.value)
                            .join(CampaignScore, CampaignScore.subject_id == CampaignSubject.id)
                            .where(CampaignSubject.campaign_id == campaign_id)).all()
        if reopen:
            campaign = service.get_campaign(db, home, campaign_id)
            service.reopen(db, user, home, campaign, "基准测试重新汇总", version=campaign.version)
    computed = computed_items(province, campaign_id)
    answer = {(tenant_id, code): value for tenant_id, code, value in stored if code in computed}
    return Outcome(seconds, answer, statements)


def computed_items(province: Province, campaign_id: int) -> dict[str, str]:
    """The campaign's computed items: code → metric."""
    from jixiao.assessment import service
    from jixiao.assessment.scheme import read as read_scheme

    with as_user(province, f"bench-{PROVINCE}-finance", PROVINCE) as (db, _user, home):
        scheme = read_scheme(service.get_campaign(db, home, campaign_id).scheme)
        return {i.code: i.metric for i in scheme.items if i.kind == "computed" and i.metric}


def metrics_statement(province: Province, campaign_id: int) -> tuple[sa.CompoundSelect, dict[str, Any]]:
    """Every computed item's numerator and denominator statement (as the metrics define them) in one UNION ALL of
    ``(item, part, subject, value)``, and the items' definitions; built in the app (untimed)."""
    from jixiao.assessment import metrics, service
    from jixiao.assessment.scheme import read as read_scheme
    from jixiao.lifecycle import rectification

    with as_user(province, f"bench-{PROVINCE}-finance", PROVINCE) as (db, _user, home):
        campaign = service.get_campaign(db, home, campaign_id)
        scheme = read_scheme(campaign.scheme)
        subjects = [s.subject_tenant_id for s in campaign.subjects]
        measured = metrics.Subjects(by="tenant", ids=tuple(subjects), year=campaign.year,
                                    cutoff=rectification.local_day_end(campaign.cutoff or campaign.deadline))
        parts = []
        items = {}
        for item in scheme.items:
            if item.kind != "computed" or not item.metric:
                continue
            items[item.code] = item
            spec = metrics.registered()[item.metric]
            for part, build in (("num", spec.numerator), ("den", spec.denominator)):
                inner = build(db, measured).subquery()
                columns = list(inner.c)
                parts.append(sa.select(sa.literal(item.code).label("item"), sa.literal(part).label("part"),
                                       columns[0].label("subject"), sa.cast(columns[-1], sa.Numeric).label("value")))
        return sa.union_all(*parts), {"items": items, "subjects": subjects, "province": home.id}


def finalize_baseline(province: Province, campaign_id: int, prepared: tuple[Any, dict[str, Any]]) -> Outcome:
    """The computed indicators of every subject in one statement as the application role; their ratios as
    finalize stores them (to four places, none without a denominator; capped at 1 unless the item has bands)."""
    from jixiao.assessment.service import MAX_RATIO
    from jixiao.db import TenantScope, apply_settings

    statement, facts = prepared
    ids = subtree(province, PROVINCE)
    engine = app_engine(province)
    started = time.perf_counter()
    with engine.begin() as connection:
        apply_settings(connection, TenantScope(read_ids=ids, write_id=facts["province"],
                                               user_id=province.users[f"bench-{PROVINCE}-finance"]))
        rows = connection.execute(statement).all()
    seconds = time.perf_counter() - started
    values: dict[tuple[str, str, int], Decimal] = {(i, p, s): Decimal(str(v or 0)) for i, p, s, v in rows}
    answer = {}
    for subject in facts["subjects"]:
        for code in facts["items"]:
            numerator = values.get((code, "num", subject), Decimal(0))
            denominator = values.get((code, "den", subject), Decimal(0))
            cap = MAX_RATIO if facts["items"][code].bands else Decimal(1)
            answer[(subject, code)] = (min(numerator / denominator, cap).quantize(Decimal("0.0001"))
                                       if denominator > 0 else None)
    return Outcome(seconds, answer, statements=2)


def api_statements(province: Province, path: str, token: str) -> tuple[int, Any]:
    """The statements one request of ``path`` sends, the whole request in process (Flask's test client, the
    bearer token), and its JSON."""
    client = province.app.test_client()
    with counting(app_engine(province)) as count:
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return count[0], response.get_json()


# ---- Daily scan ----------------------------------------------------------------------------------------------

# Per tenant: the audience of each project (finance of the tenant; department staff of the project's department or
# of one above it), then every notification kind from its records, inserted in one statement.
AUDIENCE = """
closure(ancestor_id, department_id) AS (
  SELECT id, id FROM departments WHERE tenant_id = %(t)s
  UNION ALL SELECT c.ancestor_id, d.id FROM closure c JOIN departments d ON d.parent_id = c.department_id),
audience AS (
  SELECT u.id AS user_id, p.id AS project_id, CAST(u.roles AS text) LIKE '%%"finance"%%' AS finance,
         CAST(u.roles AS text) LIKE '%%"department"%%' AND EXISTS (SELECT 1 FROM closure c
           WHERE c.ancestor_id = u.department_id AND c.department_id = p.department_id) AS unit
  FROM projects p JOIN users u ON u.tenant_id = p.tenant_id WHERE p.tenant_id = %(t)s AND u.active)
"""
NOTIFY_SQL = "WITH RECURSIVE " + AUDIENCE + """,
wanted AS (
  SELECT n.project_id, 'rectification_overdue' AS kind, '整改逾期：《' || p.name || '》' AS title,
         '整改期限 ' || n.deadline || ' 已过，尚未完成核验。' AS body, 'rectification' AS anchor,
         'overdue:' || n.id || ':' || n.deadline AS dedupe_key, true AS to_finance
  FROM rectification_notices n JOIN projects p ON p.id = n.project_id
  WHERE n.tenant_id = %(t)s AND n.deadline < %(on)s AND n.status <> 'verified'
  UNION ALL
  SELECT m.project_id, 'monitoring_red', '监控红灯：《' || p.name || '》' || m.period || '月',
         '执行率 ' || m.execution_rate || '%%，偏差原因：' || coalesce(nullif(m.cause, ''), '未填写'), 'monitoring',
         'red:' || m.id || ':' || m.red_episode, true
  FROM monitoring_reports m JOIN projects p ON p.id = m.project_id WHERE m.tenant_id = %(t)s AND m.light = 'red'
  UNION ALL
  SELECT n.project_id, 'rectification_due_soon', '整改即将到期：《' || p.name || '》',
         '整改期限为 ' || n.deadline || '，请按期反馈整改情况。', 'rectification',
         'due-soon:notice:' || n.id || ':' || n.deadline, false
  FROM rectification_notices n JOIN projects p ON p.id = n.project_id
  WHERE n.tenant_id = %(t)s AND n.deadline BETWEEN %(on)s AND %(until)s AND n.status IN ('issued', 'returned')
  UNION ALL
  SELECT m.project_id, 'warning_due_soon', '预警回应即将到期：《' || p.name || '》' || m.period || '月',
         '请于 ' || m.response_due || ' 前回应监控预警（继续执行 / 调剂 / 取消），逾期将暂停拨款。', 'monitoring',
         'due-soon:warning:' || m.id || ':' || m.response_due, false
  FROM monitoring_reports m JOIN projects p ON p.id = m.project_id
  WHERE m.tenant_id = %(t)s AND m.response_due BETWEEN %(on)s AND %(until)s AND m.response IS NULL)
INSERT INTO notifications (tenant_id, user_id, kind, title, body, url, dedupe_key, created_at)
SELECT %(t)s, a.user_id, w.kind, left(w.title, 200), w.body,
       '/t/' || %(code)s || '/projects/' || w.project_id || '#' || w.anchor, w.dedupe_key, now()
FROM wanted w JOIN audience a ON a.project_id = w.project_id AND (a.unit OR (w.to_finance AND a.finance))
ON CONFLICT (user_id, dedupe_key) DO NOTHING
"""
SUSPEND_SQL = "WITH RECURSIVE " + AUDIENCE + """,
late AS (
  SELECT DISTINCT ON (m.project_id) m.id, m.project_id, m.period, m.response_due, p.name
  FROM monitoring_reports m JOIN projects p ON p.id = m.project_id
  WHERE m.tenant_id = %(t)s AND m.response_due < %(on)s AND m.response IS NULL AND NOT p.payment_suspended
    AND p.approved_amount IS NOT NULL
  ORDER BY m.project_id, m.response_due, m.id),
suspended AS (
  UPDATE projects SET payment_suspended = true, version = version + 1, updated_at = now(),
         suspension_reason = late.period || '月监控预警未在 ' || late.response_due
                             || ' 前回应（继续执行 / 调剂 / 取消），按规定暂停拨款'
  FROM late WHERE projects.id = late.project_id RETURNING projects.id, projects.suspension_reason),
audited AS (
  INSERT INTO audit_events (tenant_id, at, actor_id, actor_name, action, object_type, object_id, before, after)
  SELECT %(t)s, now(), NULL, 'system', 'payment.suspend', 'projects', CAST(id AS text),
         CAST('{"payment_suspended": false}' AS json),
         json_build_object('payment_suspended', true, 'suspension_reason', suspension_reason)
  FROM suspended)
INSERT INTO notifications (tenant_id, user_id, kind, title, body, url, dedupe_key, created_at)
SELECT %(t)s, a.user_id, 'payment_suspended', left('暂停拨款：《' || l.name || '》', 200),
       l.period || '月监控预警未在 ' || l.response_due || ' 前回应（继续执行 / 调剂 / 取消），按规定暂停拨款',
       '/t/' || %(code)s || '/projects/' || l.project_id || '#monitoring', 'suspend:' || l.id, now()
FROM late l JOIN audience a ON a.project_id = l.project_id AND (a.unit OR a.finance)
WHERE l.project_id IN (SELECT id FROM suspended)
ON CONFLICT (user_id, dedupe_key) DO NOTHING
"""


@dataclasses.dataclass
class ScanState:
    """Where the owner takes a run back to: the last notification and audit event before it, and the projects
    whose payment was suspended already."""

    notifications: int
    audit: int
    suspended: set[int]


def _suspended(connection: sa.Connection) -> set[int]:
    return set(connection.execute(sa.text("SELECT id FROM projects WHERE payment_suspended")).scalars())


def scan_mark(province: Province) -> ScanState:
    with province.owner.connect() as connection:
        return ScanState(connection.execute(sa.text("SELECT coalesce(max(id), 0) FROM notifications")).scalar_one(),
                         connection.execute(sa.text("SELECT coalesce(max(id), 0) FROM audit_events")).scalar_one(),
                         _suspended(connection))


def scan_answer_and_undo(province: Province, state: ScanState) -> dict[str, Any]:
    """What the run wrote (notifications by user and key, projects suspended), then taken back by the owner."""
    with province.owner.begin() as connection:
        notes = connection.execute(sa.text("SELECT user_id, dedupe_key FROM notifications WHERE id > :n"),
                                   {"n": state.notifications}).all()
        suspended = sorted(_suspended(connection) - state.suspended)
        connection.execute(sa.text("DELETE FROM notifications WHERE id > :n"), {"n": state.notifications})
        connection.execute(sa.text("DELETE FROM audit_events WHERE id > :n"), {"n": state.audit})
        connection.execute(sa.text("UPDATE projects SET payment_suspended = false, suspension_reason = '' "
                                   "WHERE id = ANY(:ids)"), {"ids": list(suspended)})
    return {"notifications": sorted(notes), "suspended": suspended}


class _Progress:
    """The job context the scan reports to (progress is not recorded here)."""

    def progress(self, percent: int, message: str = "") -> None:
        pass


def scan_jixiao(province: Province) -> Outcome:
    from jixiao.lifecycle.scans import daily_scan

    state = scan_mark(province)
    with province.app.app_context(), counting(app_engine(province)) as count:
        started = time.perf_counter()
        daily_scan(_Progress())  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
    return Outcome(seconds, scan_answer_and_undo(province, state), count[0])


def scan_inputs(province: Province) -> tuple[date, list[tuple[int, str, int]]]:
    """The bureau's today and, per tenant with projects, its id, code and ``notifications.reminder_days``."""
    from jixiao.db import TenantScope, scoped
    from jixiao.lifecycle import common, rectification
    from jixiao.tenancy.models import Tenant

    with province.owner.connect() as connection:
        ids = connection.execute(sa.text("SELECT DISTINCT tenant_id FROM projects")).scalars().all()
    found = []
    with province.app.app_context():
        on = rectification.today()
        for tenant_id in sorted(ids):
            with scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id)) as db:
                bureau = db.get_one(Tenant, tenant_id)
                days = int(common.tenant_view(db, bureau).settings["notifications.reminder_days"])
                found.append((tenant_id, bureau.code, days))
            db.rollback()
    return on, sorted(found, key=lambda row: row[1])


def scan_baseline(province: Province, inputs: tuple[date, list[tuple[int, str, int]]]) -> Outcome:
    from jixiao.db import TenantScope

    on, tenants = inputs
    key = context_key(province)
    state = scan_mark(province)
    statements = 0
    with psycopg.connect(psycopg_url(province)) as connection:
        started = time.perf_counter()
        for tenant_id, code, days in tenants:
            with connection.transaction(), connection.cursor() as cursor:
                set_context(cursor, TenantScope(read_ids=(tenant_id,), write_id=tenant_id), key)
                arguments = {"t": tenant_id, "code": code, "on": on, "until": on + timedelta(days=days)}
                cursor.execute(NOTIFY_SQL, arguments)
                cursor.execute(SUSPEND_SQL, arguments)
                statements += 3
        seconds = time.perf_counter() - started
    return Outcome(seconds, scan_answer_and_undo(province, state), statements)


# ---- Excel import and export -------------------------------------------------------------------------------


def project_list_file(province: Province, rows: int, prefix: str) -> bytes:
    """The tenant's 项目清单 template with ``rows`` projects filled in (codes ``prefix``-n), as a clerk fills it."""
    import openpyxl

    from jixiao.spreadsheets.templates_xlsx import project_list_template

    with as_user(province, f"bench-{province.import_code}-finance", province.import_code) as (db, _user, home):
        _name, template = project_list_template(db, home)
        department = db.execute(sa.text("SELECT code FROM departments WHERE tenant_id = :t AND parent_id IS NULL "
                                        "ORDER BY code LIMIT 1"), {"t": home.id}).scalar_one()
    workbook = openpyxl.load_workbook(io.BytesIO(template))
    sheet = workbook.worksheets[0]
    header_row, columns = next((cell.row, {c.value: c.column for c in row if c.value})
                               for row in sheet.iter_rows(max_row=30) for cell in row[:1]
                               if any(c.value == "项目编码*" for c in row))
    values = {"项目编码*": lambda n: f"{prefix}-{n:05d}", "项目名称*": lambda n: f"批量导入项目{prefix}-{n}",
              "预算年度*": lambda n: province.year, "项目类型*": lambda n: "项目", "资金来源*": lambda n: "一般公共预算",
              "主管部门编码*": lambda n: department, "申请金额（万元）*": lambda n: 10 + n % 90,
              "是否新增": lambda n: "否", "是否重点": lambda n: "否", "是否涉密": lambda n: "否"}
    for n in range(rows):
        for heading, value in values.items():
            sheet.cell(row=header_row + 1 + n, column=columns[heading], value=value(n))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def import_jixiao(province: Province, data: bytes) -> Outcome:
    """The whole import of a list as the product does it: the upload's look (identified, its rows counted;
    every row checked too when the list is short enough), then what its job does, check and create
    (``jixiao.spreadsheets.job_kinds.import_projects``: pass 1 checks every row into the spool, pass 2 writes)."""
    import tempfile

    from jixiao.spreadsheets import bulk, importer

    code = province.import_code
    with as_user(province, f"bench-{code}-finance", code) as (db, user, home), \
            counting(app_engine(province)) as count:
        started = time.perf_counter()
        survey = importer.survey_project_list(data, "项目清单.xlsx", home)
        if survey.errors:
            raise RuntimeError(f"the import refused the file: {survey.errors[:3]}")
        if survey.rows <= importer.request_rows():
            upload = importer.check_project_list(db, user, home, data, "项目清单.xlsx")
            if upload.errors:
                raise RuntimeError(f"the import refused the file: {upload.errors[:3]}")
        with tempfile.TemporaryFile() as file:
            spool = bulk.Spool(file)
            checked = importer.check_project_list(db, user, home, data, "项目清单.xlsx", keep=spool.add,
                                                  expected=survey.rows)
            if checked.errors:
                raise RuntimeError(f"the import refused the file: {checked.errors[:3]}")
            created = bulk.create_projects(db, user, home, spool.read(), total=checked.count)
        seconds = time.perf_counter() - started
        statements = count[0]
        codes = sorted(db.scalars(sa.text("SELECT code FROM projects WHERE id = ANY(:ids)"), {"ids": created.ids}))
    return Outcome(seconds, codes, statements)


def import_baseline(data: bytes) -> Outcome:
    """openpyxl's read-only parse of the same file: every project row's values below the heading row."""
    import openpyxl

    started = time.perf_counter()
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    heading = next(row for row in rows if row and "项目编码*" in row)
    at = heading.index("项目编码*")
    parsed = [row for row in rows if row and row[at] not in (None, "")]
    workbook.close()
    seconds = time.perf_counter() - started
    return Outcome(seconds, sorted(str(row[at]) for row in parsed))


EXPORT_SQL = """
SELECT p.code, p.name, p.year, d.code, d.name, p.kind, p.fund_type, p.category, p.is_new, p.is_key, p.classified,
       p.requested_amount, p.approved_amount, p.adjusted_amount, p.stage,
       (SELECT m.light FROM monitoring_reports m WHERE m.project_id = p.id ORDER BY m.period DESC LIMIT 1),
       (SELECT e.grade FROM evaluations e WHERE e.project_id = p.id AND e.status = 'submitted'
         ORDER BY CASE WHEN e.kind = 'self' THEN 1 ELSE 0 END, e.submitted_at DESC LIMIT 1),
       p.payment_suspended, p.spending_modalities, p.is_special_fund, p.fund_source
FROM projects p LEFT JOIN departments d ON d.id = p.department_id
WHERE p.tenant_id = %s AND p.year = %s ORDER BY p.year DESC, p.code
"""


def export_jixiao(province: Province) -> Outcome:
    from jixiao.spreadsheets import export

    code = province.import_code
    with as_user(province, f"bench-{code}-finance", code) as (db, user, home), counting(app_engine(province)) as count:
        started = time.perf_counter()
        _name, data = export.export_projects(db, user, home, {"year": province.year})
        seconds = time.perf_counter() - started
        db.rollback()
    return Outcome(seconds, sheet_rows(data), count[0])


def sheet_rows(data: bytes) -> list[tuple[Any, ...]]:
    """The data rows of an export (below the heading row), for comparing two exports."""
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    next(row for row in rows if row and row[0] == "项目编码")
    found = [tuple(row) for row in rows if row and row[0] is not None]
    workbook.close()
    return found


def export_labels() -> dict[str, Callable[[Any], Any]]:
    """How the sheet shows each coded column: the product's own labels, looked up (untimed)."""
    from jixiao import units
    from jixiao.lifecycle.models import FundSource, FundType, ProjectKind, SpendingModality, Stage
    from jixiao.spreadsheets.export import LABELS

    def label(enum_cls: Any) -> Callable[[Any], Any]:
        names = {member.value: member.label for member in enum_cls}
        return lambda value: names[value] if value else ""

    modality = {m.value: m.label for m in SpendingModality}
    return {"kind": label(ProjectKind), "fund_type": label(FundType), "stage": label(Stage),
            "fund_source": label(FundSource), "light": lambda v: LABELS.get(v, v) if v else "",
            "modalities": lambda said: "、".join(modality[m] for m in (said or [])),
            "wan": units.wan_from_yuan}


def export_baseline(province: Province, labels: dict[str, Callable[[Any], Any]]) -> Outcome:
    """SELECT the same rows as the application role, write them with openpyxl's write-only workbook."""
    import openpyxl

    from jixiao.db import TenantScope
    from jixiao.spreadsheets.export import PROJECT_HEADINGS

    key = context_key(province)
    ids = subtree(province, province.import_code)
    yes = {True: "是", False: "否"}
    started = time.perf_counter()
    with psycopg.connect(psycopg_url(province)) as connection, connection.transaction(), \
            connection.cursor() as cursor:
        set_context(cursor, TenantScope(read_ids=ids, write_id=ids[0],
                                        user_id=province.users[f"bench-{province.import_code}-finance"]), key)
        cursor.execute(EXPORT_SQL, (ids[0], province.year))
        rows = cursor.fetchall()
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("项目清单")
    sheet.append(PROJECT_HEADINGS)
    wan = labels["wan"]
    for (code, name, year, dept_code, dept_name, kind, fund, category, new, key_, classified, requested, approved,
         adjusted, stage, light, grade, suspended, modalities, special, source) in rows:
        sheet.append([code, name, year, dept_code or "", dept_name or "", labels["kind"](kind),
                      labels["fund_type"](fund), category, yes[new], yes[key_], yes[classified], wan(requested),
                      wan(approved), wan(adjusted), labels["stage"](stage), labels["light"](light), grade or "",
                      yes[suspended], labels["modalities"](modalities), yes[special], labels["fund_source"](source)])
    out = io.BytesIO()
    workbook.save(out)
    seconds = time.perf_counter() - started
    return Outcome(seconds, sheet_rows(out.getvalue()))
