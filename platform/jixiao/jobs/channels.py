"""Channels beyond the bell: what plugins register with ``notification_channels``, and the e-mail channel the core
ships.

A notification is always written in the application first (:mod:`jixiao.jobs.notifications`); those just written
are then handed to the enabled channels by a job (``notifications.deliver``), so neither a web request nor a scan
waits on a mail server, and a mail server that is down delays the e-mail, never the change that caused it.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable, Sequence
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from jixiao.accounts.models import User
from jixiao.db import utcnow
from jixiao.errors import ServiceUnavailable
from jixiao.jobs.messages import NotificationChannel, NotificationMessage, Recipient
from jixiao.jobs.models import Notification, NotificationDelivery
from jixiao.jobs.service import JobContext, JobFailed, TransientJobError, enqueue, job_kind

logger = logging.getLogger(__name__)

DELIVER_KIND = "notifications.deliver"
#: Seconds to wait on the mail server before the attempt counts as failed (and is retried).
SMTP_TIMEOUT = 20


def init_app(app: Flask, channels: Iterable[Any]) -> None:
    """Record the channels the plugins register (collected once, when the app is made)."""
    known: dict[str, Any] = {}
    for channel in channels:
        if not isinstance(channel, NotificationChannel):
            raise TypeError(f"{channel!r} is not a notification channel (name, label, send)")
        if channel.name in known:
            raise ValueError(f"notification channel {channel.name} is registered twice")
        known[channel.name] = channel
    app.extensions["jixiao.notification_channels"] = known


def enabled_channels() -> list[Any]:
    """The current app's channels that are on (in registration order)."""
    registered = current_app.extensions.get("jixiao.notification_channels", {})
    return [channel for channel in registered.values()
            if not callable(getattr(channel, "enabled", None)) or channel.enabled()]


def dispatch(session: Session, tenant: Any, notification_ids: Sequence[int]) -> int | None:
    """Hand notifications just written (and committed) to the channels: one ``notifications.deliver`` job for
    them, when some channel is on. Returns the job's id, or None (nothing to send, or no channel on).

    The notifications stand whatever happens here: when the job cannot be queued (Redis down) the e-mail is
    lost, logged, and the bell still has it."""
    if not notification_ids or not enabled_channels():
        return None
    try:
        return enqueue(session, None, tenant, DELIVER_KIND, {"notification_ids": sorted(set(notification_ids))}).id
    except ServiceUnavailable:
        session.rollback()
        logger.warning("notifications %s not delivered by the other channels: the job queue is unavailable",
                       list(notification_ids))
        return None


def _delivered(result: dict[str, Any]) -> str:
    sent = "，".join(f"{label} {count} 条" for label, count in (result.get("sent") or {}).items())
    return f"通知 {result.get('notifications', 0)} 条" + (f"，已发送：{sent}" if sent else "，没有可发送的渠道或收件人")


Pair = tuple[NotificationMessage, Recipient]


@job_kind(DELIVER_KIND, label="发送通知（电子邮件等渠道）", queue="interactive", max_attempts=3, describe=_delivered,
          after_response=True)
def deliver(ctx: JobContext, notification_ids: list[int]) -> dict[str, Any]:
    """Send the notifications to every enabled channel, each once per channel: what a channel accepted is recorded
    (``notification_deliveries``) as the job goes, even when it then fails, so a retry — or a second job for the
    same notifications — sends only the rest. Two reads, and one insert per channel, whatever their number."""
    ids = [int(i) for i in notification_ids]
    rows = ctx.session.execute(
        sa.select(Notification, User).join(User, User.id == Notification.user_id)
        .where(Notification.id.in_(ids), User.active.is_(True))
        .order_by(Notification.id)).all()
    done = {(notification_id, name) for notification_id, name in ctx.session.execute(
        sa.select(NotificationDelivery.notification_id, NotificationDelivery.channel)
        .where(NotificationDelivery.notification_id.in_(ids)))}
    base = current_app.config.get("PUBLIC_URL") or ""
    pairs = [(NotificationMessage(id=n.id, tenant_id=n.tenant_id, kind=n.kind, title=n.title, body=n.body,
                                  url=f"{base}{n.url}" if n.url.startswith("/") else n.url),
              Recipient(id=u.id, username=u.username, display_name=u.display_name or u.username, email=u.email))
             for n, u in rows]
    sent: dict[str, int] = {}
    for channel in enabled_channels():
        pending = [pair for pair in pairs if (pair[0].id, channel.name) not in done]
        accepted: list[Pair] = []
        try:
            count = _send(channel, pending, _collector(accepted)) if pending else 0
        finally:
            _record(ctx.session, channel.name, accepted)
        sent[channel.label] = count
    return {"notifications": len(pairs), "sent": sent}


def _collector(into: list[Pair]) -> Callable[[NotificationMessage, Recipient], None]:
    def on_sent(notification: NotificationMessage, recipient: Recipient) -> None:
        into.append((notification, recipient))

    return on_sent


def _send(channel: Any, pairs: list[Pair], on_sent: Callable[[NotificationMessage, Recipient], None]) -> int:
    """Hand ``pairs`` to ``channel``, calling ``on_sent`` for each it accepted; the number it says it sent.

    A ``send_many(pairs, on_sent=…)`` reports each message as the far end accepts it (the e-mail channel does), so
    one that fails half-way is retried from where it stopped; a ``send_many(pairs)`` without it is taken to have
    sent its whole batch when it returns; ``send`` is asked one notification at a time."""
    send_many = getattr(channel, "send_many", None)
    if callable(send_many):
        if "on_sent" in inspect.signature(send_many).parameters:
            return int(send_many(pairs, on_sent=on_sent) or 0)
        count = int(send_many(pairs) or 0)
        for notification, recipient in pairs:
            on_sent(notification, recipient)
        return count
    for notification, recipient in pairs:
        channel.send(notification, recipient)
        on_sent(notification, recipient)
    return len(pairs)


def _record(session: Session, channel: str, accepted: list[Pair]) -> None:
    """Keep what ``channel`` accepted, and commit it at once: it stands when the job fails after it (the runner
    rolls back what is left). One ``INSERT … ON CONFLICT DO NOTHING``: two jobs sending at the same moment leave
    one row each."""
    if not accepted:
        return
    now = utcnow()
    rows = [{"tenant_id": n.tenant_id, "notification_id": n.id, "user_id": r.id, "channel": channel, "sent_at": now}
            for n, r in accepted]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(NotificationDelivery).values(rows).on_conflict_do_nothing(
        index_elements=["notification_id", "channel"]))
    session.commit()


# ---- E-mail --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SmtpServer:
    """``JIXIAO_SMTP_URL`` read: ``smtp://[user:password@]host[:port]`` (port 25), ``smtps://…`` (TLS from the
    start, port 465), ``smtp+starttls://…`` or ``?starttls=1`` (upgraded, port 587)."""

    host: str
    port: int
    tls: bool
    starttls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
            raise ValueError("JIXIAO_SMTP_URL should be smtp://[user:password@]host[:port] (or smtps://, "
                             "smtp+starttls://)")
        query = parse_qs(parts.query)
        starttls = scheme == "smtp+starttls" or query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        tls = scheme == "smtps"
        port = parts.port or (465 if tls else 587 if starttls else 25)
        return cls(host=parts.hostname, port=port, tls=tls, starttls=starttls,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None)

    def connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
            if self.starttls:
                client.starttls(context=context)
        if self.username:
            client.login(self.username, self.password or "")
        return client


def email_message(notification: NotificationMessage, recipient: Recipient, sender: str) -> EmailMessage:
    """The e-mail of one notification: its title as the subject, its words and its link as the text."""
    message = EmailMessage()
    message["Subject"] = notification.title
    message["From"] = sender
    message["To"] = formataddr((recipient.display_name, recipient.email or ""))
    message["Message-ID"] = make_msgid(idstring=f"jixiao-{notification.id}")
    lines = [f"{recipient.display_name}：", "", notification.title]
    if notification.body:
        lines += ["", notification.body]
    if notification.url:
        lines += ["", f"查看详情：{notification.url}"]
    lines += ["", "——预算绩效管理平台（此邮件由系统自动发送，请勿直接回复）"]
    message.set_content("\n".join(lines), charset="utf-8")
    return message


class EmailChannel:
    """Notifications by e-mail, to the users who gave an address; on when ``JIXIAO_SMTP_URL`` is set."""

    name = "email"
    label = "电子邮件"

    def enabled(self) -> bool:
        return bool(current_app.config.get("SMTP_URL"))

    def send(self, notification: NotificationMessage, recipient: Recipient) -> None:
        self.send_many([(notification, recipient)])

    def send_many(self, pairs: Sequence[tuple[NotificationMessage, Recipient]],
                  on_sent: Callable[[NotificationMessage, Recipient], None] | None = None) -> int:
        """Send over one connection; the number of messages the server accepted, each told to ``on_sent`` as it
        is (the delivery job records it, and a retry does not send it again). A server that cannot be reached or
        fails mid-way is worth a retry (the job is retried); an address it refuses is not (logged, skipped)."""
        addressed = [(n, r) for n, r in pairs if r.email]
        if not addressed:
            return 0
        try:
            server = SmtpServer.parse(current_app.config["SMTP_URL"])
        except ValueError as exc:
            raise JobFailed(f"邮件服务器地址（JIXIAO_SMTP_URL）格式不正确：{exc}") from None
        sender = current_app.config.get("SMTP_FROM") or "jixiao@localhost"
        sent = 0
        try:
            with server.connect() as client:
                for notification, recipient in addressed:
                    try:
                        client.send_message(email_message(notification, recipient, sender))
                        sent += 1
                        if on_sent is not None:
                            on_sent(notification, recipient)
                    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
                        logger.warning("notification %s: the mail server refused it: %s", notification.id, exc)
        except smtplib.SMTPAuthenticationError as exc:
            raise JobFailed("邮件服务器拒绝了登录（JIXIAO_SMTP_URL 的用户名或密码不正确）") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientJobError(f"邮件服务器暂不可用：{exc}") from exc
        return sent
