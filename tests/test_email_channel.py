"""The e-mail channel (jixiao.jobs.channels): with ``JIXIAO_SMTP_URL`` set, a notification written in the bell is
sent from a job (``notifications.deliver``) to its recipient's address — never from the request that caused it.

A real SMTP server (aiosmtpd) listens on a free port of this machine for the length of each test; the job runs
as the tests' configuration says (in this process, or queued in Redis and worked off here, as a worker would).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from jixiao import hookimpl
from jixiao.testing import DEMO_PASSWORD, api_login, unique
from tests.test_audit_and_api import make_app_like
from tests.test_notification_recipients import INDICATORS

CODE = "431102"
YEAR = 2092
MY_YEAR = 2095  # the projects of the tests of delivery after the response and of retries
PUBLIC_URL = "https://jixiao.example.cn"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the SMTP server received, as parsed messages."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler protocol
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["To"]]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def run_queued_jobs(app) -> None:
    """With Redis the delivery waits in RQ: work it off here, as a worker would."""
    if not app.config.get("REDIS_URL"):
        return
    from redis import Redis
    from rq import Queue, SimpleWorker

    from jixiao.jobs import runner

    connection = Redis.from_url(app.config["REDIS_URL"])
    # The worker's app is made once per process (jixiao.jobs.runner); these tests' apps differ by their settings
    # (the mail server, a vendor's channel), so each works its jobs off with its own.
    previous, runner._app = runner._app, app
    try:
        with app.app_context():
            SimpleWorker([Queue("interactive", connection=connection)], connection=connection).work(burst=True)
    finally:
        runner._app = previous


def unit_user(app, email: str | None) -> str:
    """A new unit user of department 101, given (or not) an e-mail address by the bureau's administrator."""
    admin = api_login(app, "lingling_admin")
    username = unique("mail")
    ok(admin.post(f"/api/v1/tenants/{CODE}/users", json={
        "username": username, "password": DEMO_PASSWORD, "roles": ["department"], "department_code": "101",
        **({"email": email} if email else {})}), 201)
    return username


BASE = f"/api/v1/tenants/{CODE}/projects"
RETURN = {"decision": "return", "comment": "请补充满意度指标"}


def submitted_targets(app, year: int = YEAR):
    """A project of department 101 whose targets finance is to review: (finance's client, the project's id)."""
    finance = api_login(app, "lingling_finance")
    pid = ok(finance.post(BASE, json={
        "code": unique("EM"), "name": "邮件通知项目", "year": year, "kind": "project", "fund_type": "general_public",
        "is_new": False, "department_code": "101", "requested_amount": "300000"}), 201)["id"]
    ok(finance.put(f"{BASE}/{pid}/targets", json={"overall_target": "全年培训教师1000人次。", "indicators": INDICATORS}))
    ok(finance.post(f"{BASE}/{pid}/targets/submit"))
    return finance, pid


def returned_targets(app, year: int = YEAR) -> int:
    """Finance returns a project's targets to its unit (department 101): the unit's staff are notified."""
    finance, pid = submitted_targets(app, year)
    ok(finance.post(f"{BASE}/{pid}/targets/review", json=RETURN))
    return pid


def test_a_returned_target_reaches_the_unit_by_email_with_a_chinese_subject_and_the_link(app, smtp_server):
    inbox, port = smtp_server
    mailing = make_app_like(app, SMTP_URL=f"smtp://127.0.0.1:{port}", PUBLIC_URL=PUBLIC_URL,
                            REDIS_URL=app.config["REDIS_URL"])
    address = f"{unique('u')}@unit.example.cn"
    with_address, without_address = unit_user(mailing, address), unit_user(mailing, None)
    pid = returned_targets(mailing)
    if mailing.config.get("REDIS_URL"):
        assert inbox.to(address) == []  # queued: the request did not wait on the mail server
    run_queued_jobs(mailing)
    [message] = inbox.to(address)
    assert message["Subject"] == "绩效目标被退回：《邮件通知项目》"
    text = message.get_content()
    assert f"{PUBLIC_URL}/t/{CODE}/projects/{pid}#targets" in text
    assert "请补充满意度指标" in text
    # Both are told in the bell; only the one with an address by e-mail.
    for username in (with_address, without_address):
        items = ok(api_login(mailing, username).get("/api/v1/notifications"))["items"]
        assert [i["url"] for i in items if i["kind"] == "targets_returned"] == [f"/t/{CODE}/projects/{pid}#targets"]


def deliveries(app) -> list:
    """Lingling's delivery jobs, newest first (read in its own scope, as row-level security wants)."""
    import sqlalchemy as sa

    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.jobs.models import Job
    from jixiao.tenancy import service as tenancy

    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, CODE)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            return list(db.scalars(sa.select(Job).where(Job.tenant_id == tenant.id,
                                                        Job.kind == "notifications.deliver").order_by(Job.id.desc())))


def test_without_smtp_url_nothing_is_queued_for_email(app):
    silent = make_app_like(app, SMTP_URL=None, REDIS_URL=None)
    before = len(deliveries(silent))
    unit_user(silent, f"{unique('u')}@unit.example.cn")
    pid = returned_targets(silent)
    assert len(deliveries(silent)) == before
    assert ok(api_login(silent, "lingling_dept").get("/api/v1/notifications"))["items"][0]["url"] == (
        f"/t/{CODE}/projects/{pid}#targets")  # told in the bell all the same


def test_a_mail_server_that_is_down_fails_the_delivery_not_the_change(app):
    from jixiao.jobs.models import JobStatus

    down = make_app_like(app, SMTP_URL=f"smtp://127.0.0.1:{free_port()}", REDIS_URL=None)
    username = unit_user(down, f"{unique('u')}@unit.example.cn")
    pid = returned_targets(down)  # answers 200: the targets are returned
    items = ok(api_login(down, username).get("/api/v1/notifications"))["items"]
    assert [i["url"] for i in items if i["kind"] == "targets_returned"] == [f"/t/{CODE}/projects/{pid}#targets"]
    job = deliveries(down)[0]
    assert job.status is JobStatus.FAILED and "邮件服务器暂不可用" in job.error
    assert job.attempts == job.max_attempts  # retried before giving up


def test_without_redis_the_email_is_sent_after_the_response_not_in_the_request(app, smtp_server):
    """A slow mail server (up to ``SMTP_TIMEOUT`` s) must not hold the page: without Redis the delivery job runs in
    this process once the response has been sent — here, when it is closed, as a WSGI server closes it."""
    from jixiao.jobs.models import JobStatus

    inbox, port = smtp_server
    embedded = make_app_like(app, SMTP_URL=f"smtp://127.0.0.1:{port}", REDIS_URL=None)
    address = f"{unique('u')}@unit.example.cn"
    unit_user(embedded, address)
    finance, pid = submitted_targets(embedded, MY_YEAR)
    response = finance.post(f"{BASE}/{pid}/targets/review", json=RETURN, buffered=False)  # sent, not yet closed
    assert response.status_code == 200  # answered ...
    assert inbox.to(address) == []  # ... before anything was sent
    job = deliveries(embedded)[0]
    assert job.status is JobStatus.QUEUED and job.args["notification_ids"]
    response.close()
    [message] = inbox.to(address)
    assert message["Subject"] == "绩效目标被退回：《邮件通知项目》"
    done = deliveries(embedded)[0]
    assert done.id == job.id and done.status is JobStatus.SUCCEEDED and done.attempts == 1


class FlakyInbox(Inbox):
    """A mail server that gives out half-way through a batch: it takes the first message, refuses the next one
    once with a temporary error (451), then takes everything again."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler protocol
        if self.messages and not self.refused:
            self.refused += 1
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


def test_a_retried_delivery_sends_no_email_twice(app):
    """The first attempt sends one e-mail and fails on the next; the retry sends the rest, not the first again. A
    second job for the same notifications sends nothing."""
    from aiosmtpd.controller import Controller

    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.jobs.channels import DELIVER_KIND
    from jixiao.jobs.models import JobStatus
    from jixiao.jobs.service import enqueue
    from jixiao.tenancy import service as tenancy

    inbox, port = FlakyInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        flaky = make_app_like(app, SMTP_URL=f"smtp://127.0.0.1:{port}", REDIS_URL=None)
        addresses = [f"{unique('u')}@unit.example.cn" for _ in range(2)]
        for address in addresses:
            unit_user(flaky, address)
        returned_targets(flaky, MY_YEAR)
        job = deliveries(flaky)[0]
        assert inbox.refused == 1 and job.status is JobStatus.SUCCEEDED and job.attempts == 2, job.error
        for address in addresses:
            assert len(inbox.to(address)) == 1, address
        received = [message["To"] for message in inbox.messages]
        assert len(received) == len(set(received)) >= 2  # nobody twice, whoever else the unit has
        with flaky.app_context():
            with system_scope() as db:
                tenant = tenancy.get_by_code(db, CODE)
            with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
                again = enqueue(db, None, tenant, DELIVER_KIND, dict(job.args))
                assert again.status is JobStatus.SUCCEEDED and again.result["sent"] == {"电子邮件": 0}
        assert [message["To"] for message in inbox.messages] == received
    finally:
        controller.stop()


class RecordingChannel:
    """A vendor's channel, as docs/plugins.md shows one: a name, a label and send()."""

    name = "recording"
    label = "记录渠道"

    def __init__(self) -> None:
        self.sent: list[tuple[object, object]] = []

    def send(self, notification, recipient) -> None:
        self.sent.append((notification, recipient))


class ChannelPlugin:
    def __init__(self, channel: RecordingChannel) -> None:
        self.channel = channel

    @hookimpl
    def notification_channels(self):
        return [self.channel]


def test_hook_notification_channels(app):
    """A plugin's channel gets each notification just written, with its recipient, from the delivery job; the
    e-mail channel stays off without JIXIAO_SMTP_URL."""
    channel = RecordingChannel()
    vendor = make_app_like(app, SMTP_URL=None, PUBLIC_URL=PUBLIC_URL, REDIS_URL=app.config["REDIS_URL"],
                           EXTRA_PLUGINS=[("channel_vendor", ChannelPlugin(channel))])
    username = unit_user(vendor, None)
    pid = returned_targets(vendor)
    run_queued_jobs(vendor)
    mine = [(n, r) for n, r in channel.sent if r.username == username]
    assert [(n.kind, n.url) for n, _r in mine] == [("targets_returned", f"{PUBLIC_URL}/t/{CODE}/projects/{pid}#targets")]
    assert mine[0][1].email is None and mine[0][0].title == "绩效目标被退回：《邮件通知项目》"
    assert deliveries(vendor)[0].result["sent"]["记录渠道"] >= 1


def test_the_smtp_url_names_the_server_its_security_and_its_login():
    from jixiao.jobs.channels import SmtpServer

    assert SmtpServer.parse("smtp://mail.example.cn") == SmtpServer("mail.example.cn", 25, False, False, None, None)
    assert SmtpServer.parse("smtps://jixiao%40example.cn:p%3Ass@mail.example.cn") == SmtpServer(
        "mail.example.cn", 465, True, False, "jixiao@example.cn", "p:ss")
    assert SmtpServer.parse("smtp://u:p@mail.example.cn:2525?starttls=1") == SmtpServer(
        "mail.example.cn", 2525, False, True, "u", "p")
    assert SmtpServer.parse("smtp+starttls://mail.example.cn").port == 587
    with pytest.raises(ValueError):
        SmtpServer.parse("http://mail.example.cn")


def test_a_bad_email_address_is_refused_naming_the_field(app):
    admin = api_login(app, "lingling_admin")
    response = admin.post(f"/api/v1/tenants/{CODE}/users", json={
        "username": unique("mail"), "password": DEMO_PASSWORD, "roles": ["department"],
        "department_code": "101", "email": "不是邮箱"})
    assert response.status_code == 400
    assert "电子邮箱" in response.get_json()["error"]["fields"]["email"]


def test_the_administrator_keeps_a_users_address_through_the_api_and_the_page(app):
    from tests.test_pages import csrf_from, page_login

    admin = api_login(app, "lingling_admin")
    users = f"/api/v1/tenants/{CODE}/users"
    created = ok(admin.post(users, json={"username": unique("mail"), "password": DEMO_PASSWORD,
                                         "roles": ["department"], "department_code": "101",
                                         "email": " kezhang@unit.example.cn "}), 201)
    assert created["email"] == "kezhang@unit.example.cn"
    changed = ok(admin.patch(f"{users}/{created['id']}", json={"email": "", "version": created["version"]}))
    assert changed["email"] is None
    refused = admin.patch(f"{users}/{created['id']}", json={"email": "kezhang", "version": changed["version"]})
    assert refused.status_code == 400 and "email" in refused.get_json()["error"]["fields"]
    assert ok(admin.get(f"{users}/{created['id']}"))["email"] is None  # a refused write changed nothing
    # The page refuses alike, naming the field and keeping what was typed.
    browser = app.test_client()
    page_login(browser, "lingling_admin")
    page = browser.get(f"/t/{CODE}/users/{created['id']}").get_data(as_text=True)
    response = browser.post(f"/t/{CODE}/users/{created['id']}", data={
        "csrf_token": csrf_from(page), "version": str(changed["version"]), "display_name": "科长",
        "roles": "department", "department_code": "101", "active": "on", "email": "科长@"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "电子邮箱格式不正确" in html and 'value="科长@"' in html
