"""Replies and broadcasts as outbox rows: what a turn writes, and how a sender delivers them.

A turn writes its replies in its own transaction (see :mod:`bot.services.conversation`) and
hands back :class:`Delivery` objects; :class:`Deliverer` sends them in order and marks them
sent. A process that dies in between leaves the rows pending: the messenger's redelivery of
the update resends them (and nothing else), and :meth:`Deliverer.flush` picks up any row whose
lease ran out.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.channels.base import (
    BadRequestError,
    ChannelError,
    ForbiddenError,
    Sender,
    with_retries,
)
from bot.clock import Clock
from bot.services.database import Database
from dialogs.events import Option, Reply
from storage.conversations import ConversationStore
from storage.outbox import Leased, OutboxStore, Queued

log = logging.getLogger(__name__)

Blocking = Callable[..., Awaitable[Any]]


def payload_of(reply: Reply) -> dict[str, Any]:
    """A reply as the JSON an outbox row keeps (option aliases are for matching, not sending)."""
    return {
        "text": reply.text,
        "options": [[option.label, option.value] for option in reply.options],
        "nav": reply.nav,
    }


def reply_of(payload: dict[str, Any]) -> Reply:
    options = tuple(Option(label, value) for label, value in payload.get("options", []))
    return Reply(str(payload["text"]), options=options, nav=bool(payload.get("nav")))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to send now: its outbox row, where it goes and what it says."""

    outbox_id: int
    chat_id: str
    reply: Reply


def queue_replies(
    connection: Any,
    channel: str,
    chat_id: str,
    replies: Sequence[Reply],
    *,
    update_key: str | None,
    now: dt.datetime,
    lease: dt.timedelta,
) -> list[Delivery]:
    """Write `replies` to the outbox inside the caller's transaction, leased to this process."""
    messages = [
        Queued(
            channel,
            chat_id,
            payload_of(reply),
            update_key=update_key,
            dedup_key=f"{update_key}#{n}" if update_key is not None else None,
        )
        for n, reply in enumerate(replies)
    ]
    ids = OutboxStore(connection).add(messages, now=now, lease_until=now + lease)
    return [Delivery(i, chat_id, reply) for i, reply in zip(ids, replies, strict=True)]


def deliveries_of(rows: Sequence[Leased]) -> list[Delivery]:
    return [Delivery(row.id, row.chat_id, reply_of(row.payload)) for row in rows]


class Deliverer:
    """Sends outbox rows through a channel and records what became of them."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        blocking: Blocking,
        *,
        lease: dt.timedelta = dt.timedelta(seconds=60),
        retry_after: dt.timedelta = dt.timedelta(seconds=30),
    ) -> None:
        self._db = db
        self._clock = clock
        self._blocking = blocking
        self.lease = lease
        self._retry_after = retry_after

    async def deliver(self, sender: Sender, deliveries: Sequence[Delivery]) -> None:
        """Send in order and mark sent. A user who blocked the bot is marked unreachable (a
        private chat's id is its user's id) and the rest dropped; a refused message is recorded
        as failed; a messenger that stays down leaves the rest pending for a later try."""
        sent: list[int] = []
        for number, delivery in enumerate(deliveries):

            async def send(delivery: Delivery = delivery) -> None:
                await sender.send(delivery.chat_id, delivery.reply)

            try:
                await with_retries(send)
            except ForbiddenError as error:
                log.info("%s chat %s blocked the bot", sender.name, delivery.chat_id)
                rest = [d.outbox_id for d in deliveries[number:]]
                await self._blocking(
                    self._blocked, sender.name, delivery.chat_id, sent, rest, str(error)
                )
                return
            except BadRequestError as error:
                log.warning("%s refused message %s: %s", sender.name, delivery.outbox_id, error)
                await self._blocking(self._settle, sent, [delivery.outbox_id], str(error), [])
                sent = []
                continue
            except ChannelError as error:
                log.warning("%s is not answering (%s); will retry", sender.name, error)
                later = [d.outbox_id for d in deliveries[number:]]
                await self._blocking(self._settle, sent, [], str(error), later)
                return
            sent.append(delivery.outbox_id)
        if sent:
            await self._blocking(self._settle, sent, [], "", [])

    def _settle(self, sent: list[int], failed: list[int], error: str, later: list[int]) -> None:
        now = self._clock()
        with self._db.write() as connection:
            outbox = OutboxStore(connection)
            outbox.mark_sent(sent, now=now)
            outbox.mark_failed(failed, error)
            outbox.retry_later(later, error, at=now + self._retry_after)

    def _blocked(
        self, channel: str, user_id: str, sent: list[int], rest: list[int], error: str
    ) -> None:
        now = self._clock()
        with self._db.write() as connection:
            outbox = OutboxStore(connection)
            outbox.mark_sent(sent, now=now)
            outbox.mark_failed(rest, error)
            ConversationStore(connection).set_unreachable(channel, user_id)

    def take_due(self, channel: str, limit: int = 100) -> list[Leased]:
        """Pending rows of `channel` that nobody is delivering, leased to this process."""
        now = self._clock()
        with self._db.write() as connection:
            return OutboxStore(connection).take_due(
                channel, now=now, lease_until=now + self.lease, limit=limit
            )
