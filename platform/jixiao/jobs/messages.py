"""What a notification channel is given and is (``notification_channels``): the parts plugin authors use, through
``jixiao.toolkit``. Plain data, importing nothing of the core, so the toolkit offers them without the services."""

from __future__ import annotations

import dataclasses
from typing import Protocol, runtime_checkable


@dataclasses.dataclass(frozen=True)
class NotificationMessage:
    """A notification as a channel receives it: its words, and its link made absolute with ``JIXIAO_PUBLIC_URL``
    (as written, a path, when that is not set)."""

    id: int
    tenant_id: int
    kind: str
    title: str
    body: str
    url: str


@dataclasses.dataclass(frozen=True)
class Recipient:
    """Whom a notification is for: the user's name and, when they gave one, e-mail address."""

    id: int
    username: str
    display_name: str
    email: str | None


@runtime_checkable
class NotificationChannel(Protocol):
    """What ``notification_channels`` returns: a ``name`` (unique), a ``label`` in Chinese and ``send``. A channel
    may also have ``enabled()`` (false: skipped, e.g. not configured) and ``send_many(pairs, on_sent=None)`` (one
    connection for a batch, telling ``on_sent`` of each message accepted); without them it is always enabled and
    ``send`` is called once per notification."""

    name: str
    label: str

    def send(self, notification: NotificationMessage, recipient: Recipient) -> None: ...
