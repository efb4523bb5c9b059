"""Replies and broadcasts as outbox rows: what a turn writes, and how a sender delivers them.

A turn writes its replies as one outbox row in its own transaction (see
:mod:`bot.services.conversation`) and hands back a :class:`Delivery`; :class:`Deliverer` sends
the replies in order and marks the row sent. A process that dies in between leaves the row
pending: the messenger's redelivery of the update resends it (and nothing else), and any
process picks up a row whose lease ran out (:meth:`Deliverer.take_due`). One row per turn,
not per reply: it halves the writes of the hottest path (``benchmarks/dialog.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from bot.channels.base import (
    BadRequestError,
    ChannelError,
    ForbiddenError,
    Sender,
    background,
    before_request,
    request_leaves,
    with_retries,
)
from bot.clock import Clock
from bot.services.database import Database
from dialogs.events import Clip, Option, Reply, in_bubbles
from storage.conversations import ConversationStore
from storage.groups import GroupStore
from storage.models import OutboxKind
from storage.outbox import Leased, OutboxStore, Queued, mark_row_sent

log = logging.getLogger(__name__)

Blocking = Callable[..., Awaitable[Any]]


def payload_of(replies: Sequence[Reply]) -> dict[str, Any]:
    """Replies as the JSON an outbox row keeps (option aliases are for matching, not sending)."""
    return {
        "replies": [
            {
                "text": reply.text,
                "options": [[option.label, option.value] for option in reply.options],
                "nav": reply.nav,
                "hint": reply.hint,
                **({"voice": reply.voice} if reply.voice else {}),
                **({"photo": reply.photo} if reply.photo else {}),
                **({"clip": dataclasses.asdict(reply.clip)} if reply.clip else {}),
            }
            for reply in replies
        ]
    }


def replies_of(payload: dict[str, Any]) -> tuple[Reply, ...]:
    return tuple(
        Reply(
            str(item["text"]),
            options=tuple(Option(label, value) for label, value in item.get("options", [])),
            nav=bool(item.get("nav")),
            hint=bool(item.get("hint")),
            voice=item.get("voice"),
            photo=item.get("photo"),
            clip=Clip(**item["clip"]) if item.get("clip") else None,
        )
        for item in payload.get("replies", [])
    )


@dataclass(frozen=True, slots=True)
class Fallback:
    """A group post's way round: the unit whose officers get it privately if the group
    refuses it, and the campaign it belongs to (their rows' keys)."""

    unit_id: int
    campaign: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row to send now: where it goes, its replies, how many were sent, how
    often it was tried, and (a group post) who gets it if the group refuses it."""

    outbox_id: int
    chat_id: str
    replies: tuple[Reply, ...]
    parts_sent: int = 0
    attempts: int = 0
    fallback: Fallback | None = None
    broadcast: bool = False  # posted at most once: never again after a post in doubt
    leased_until: dt.datetime | None = None
    background: bool = False  # a broadcast or notice: replies in conversation go first


IN_DOUBT = "in doubt: the sender stopped while posting it; not posted twice"

# How long a turn's replies are this process's to send. Short: if the process dies right after
# the turn, another (or the next start) sends them once this runs out, and a worker who hears
# nothing for a minute types the answer again, which would land on the next question.
REPLY_LEASE = dt.timedelta(seconds=15)


def queue_replies(
    connection: Connection,
    channel: str,
    chat_id: str,
    replies: Sequence[Reply],
    *,
    update_key: str | None,
    now: dt.datetime,
    lease: dt.timedelta,
) -> list[Delivery]:
    """Write `replies` to the outbox inside the caller's transaction, leased to this process;
    a turn's acknowledgements ride in the bubble of what follows them (one message a turn)."""
    replies = in_bubbles(replies)
    if not replies:
        return []
    message = Queued(
        channel, chat_id, payload_of(replies), update_key=update_key, dedup_key=update_key
    )
    store = OutboxStore(connection)
    row_id, waiting = store.add_after(message, now=now, lease_until=now + lease)
    # What the chat has not been shown yet (a reply that failed a moment ago, or one a killed
    # process may or may not have sent) goes first: the worker writing again is a sign the
    # messenger works, and the chat must read in order. An old question arriving after the
    # new one would be answered by mistake; the same one twice in a row is only repeated.
    earlier = (
        store.earlier_of_chat(channel, chat_id, row_id, now=now, lease_until=now + lease)
        if waiting
        else []
    )
    return [*deliveries_of(earlier), Delivery(row_id, chat_id, tuple(replies))]


def deliveries_of(rows: Sequence[Leased]) -> list[Delivery]:
    return [
        Delivery(
            row.id,
            row.chat_id,
            replies_of(row.payload),
            row.parts_sent,
            row.attempts,
            _fallback(row.payload.get("fallback")),
            row.kind is OutboxKind.BROADCAST,
            row.lease_until,
            row.kind is not OutboxKind.REPLY,
        )
        for row in rows
    ]


def _fallback(value: Any) -> Fallback | None:
    if not isinstance(value, dict):
        return None
    return Fallback(int(value["unit_id"]), str(value["campaign"]))


# A row the messenger keeps failing is retried later and later (30 s, 1 min, 2 min, … at
# most an hour apart), then given up and recorded as failed: about six hours in all.
MAX_ATTEMPTS = 12
MAX_RETRY_DELAY = dt.timedelta(hours=1)


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
        # Tries of one send before the row is left for later (see `stop`).
        self.attempts = 5
        self._stopping = False
        self._in_flight: set[int] = set()  # rows being sent now (their lease is ours)
        # Channels whose last send failed: a send that goes again brings their waiting rows
        # forward, so nobody waits out a back-off slot once the messenger answers.
        self._failing: set[str] = set()

    def stop(self) -> None:
        """The process is stopping: one try per send, so that a messenger that does not
        answer cannot hold the shutdown up, and what fails is left for the next start at
        once rather than after a pause."""
        self.attempts, self._stopping = 1, True

    async def deliver(self, sender: Sender, deliveries: Sequence[Delivery]) -> None:
        """Send each row's replies in order and mark it sent. A user who blocked the bot is
        marked unreachable (a private chat's id is its user's id) and the row dropped; a
        refused reply is noted and the rest still sent; a group that refuses a post has it
        go to its unit's officers instead; a messenger that stays down leaves the row (and
        those after it) pending for a later try, resuming after what was sent, until it has
        been tried MAX_ATTEMPTS times."""
        ids = {delivery.outbox_id for delivery in deliveries}
        self._in_flight |= ids
        try:
            await self._deliver(sender, deliveries)
        finally:
            self._in_flight -= ids

    def in_flight(self) -> set[int]:
        """The rows being sent now."""
        return set(self._in_flight)

    def release(self, ids: set[int]) -> None:
        """Stopping with these rows' sends cancelled: let the next process send them at once
        rather than after their lease."""
        with self._db.write() as connection:
            OutboxStore(connection).release(ids)

    async def _deliver(self, sender: Sender, deliveries: Sequence[Delivery]) -> None:
        sent: list[tuple[int, dt.datetime]] = []
        refused: list[str] = []
        for number, delivery in enumerate(deliveries):
            progress = [delivery.parts_sent]
            try:
                shown = await self._send_parts(sender, delivery, refused, progress)
            except (ForbiddenError, BadRequestError) as error:
                if delivery.fallback is not None:
                    log.warning("%s group refused a post (%s); to its officers", sender.name, error)
                    await self._blocking(self._give_up, sender.name, [delivery], str(error))
                    continue
                log.info("%s chat %s blocked the bot", sender.name, delivery.chat_id)
                rest = [d.outbox_id for d in deliveries[number:]]
                await self._blocking(
                    self._blocked, sender.name, delivery.chat_id, sent, rest, str(error)
                )
                return
            except ChannelError as error:
                log.warning("%s is not answering (%s); will retry", sender.name, error)
                self._failing.add(sender.name)
                later = [(delivery, progress[0])]
                later += [(d, d.parts_sent) for d in deliveries[number + 1 :]]
                await self._record(self._settle, sender.name, sent, refused, later, str(error))
                return
            sent.append((delivery.outbox_id, shown))
        await self._record(self._settle, sender.name, sent, refused, [], "")
        if sent and sender.name in self._failing:  # it answers again: what waits goes now
            self._failing.discard(sender.name)
            await self._record(self._retry_now, sender.name)

    def _retry_now(self, channel: str) -> None:
        with self._db.write() as connection:
            waiting = OutboxStore(connection).retry_now(channel)
        if waiting:
            log.info("%s answers again: %d messages waiting for a retry go now", channel, waiting)

    async def _record(self, settle: Callable[..., None], *args: Any) -> None:
        """Record what was sent. The replies are out already: a database that is restarting
        is waited for a few seconds rather than leaving them to be sent again."""
        for delay in (0.5, 1.0, 2.0, 4.0, None):
            try:
                await self._blocking(settle, *args)
                return
            except OperationalError:
                if delay is None or self._stopping:
                    raise
                await asyncio.sleep(delay)

    async def _send_parts(
        self, sender: Sender, delivery: Delivery, refused: list[str], progress: list[int]
    ) -> dt.datetime:
        """Send the row's parts from where it stopped; `progress` holds the next one.

        Returns when its last request left (after pacing), the earliest the chat can have
        shown it: recorded as its sending time, it tells a message written after the reply
        arrived (an answer) from one written before (sent again). The messenger's response
        comes later, and a quick answer written meanwhile, taken for a repeat, would be lost."""
        left: list[dt.datetime] = []
        leaves = request_leaves.set(lambda: left.append(self._clock()))
        try:
            for part in range(delivery.parts_sent, len(delivery.replies)):
                progress[0] = part
                left.append(self._clock())  # a sender that does not pace says nothing more
                try:
                    await self._send_part(sender, delivery, delivery.replies[part])
                except BadRequestError as error:
                    if delivery.fallback is not None:
                        raise
                    log.warning("%s refused a reply: %s", sender.name, error)
                    refused.append(f"part {part + 1}: {error}")
        finally:
            request_leaves.reset(leaves)
        return left[-1] if left else self._clock()

    async def _send_part(self, sender: Sender, delivery: Delivery, reply: Reply) -> None:
        send = functools.partial(sender.send, delivery.chat_id, reply)
        quiet = background.set(delivery.background)
        try:
            if not delivery.broadcast:
                await with_retries(send, attempts=self.attempts)
                return
            posting = functools.partial(self._blocking, self._posting, delivery.outbox_id)
            token = before_request.set(posting)  # marked once its turn to go has come
            try:
                await with_retries(send, attempts=self.attempts)
            finally:
                before_request.reset(token)
        finally:
            background.reset(quiet)

    def _settle(
        self,
        channel: str,
        sent: list[tuple[int, dt.datetime]],
        refused: list[str],
        later: list[tuple[Delivery, int]],
        error: str,
    ) -> None:
        if not (sent or later):
            return
        if not later:
            record_sent(self._db, sent, error="; ".join(refused) or None)
            return
        now = self._clock()
        spent = [delivery for delivery, _ in later if delivery.attempts + 1 >= MAX_ATTEMPTS]
        with self._db.write() as connection:
            outbox = OutboxStore(connection)
            _mark_sent(outbox, sent, error="; ".join(refused) or None)
            for delivery, parts_sent in later:
                if delivery.attempts + 1 < MAX_ATTEMPTS:
                    delay = min(MAX_RETRY_DELAY, self._retry_after * 2**delivery.attempts)
                    delay = dt.timedelta(0) if self._stopping else delay
                    outbox.retry_later(delivery.outbox_id, parts_sent, error, at=now + delay)
            if spent:
                self._fail(connection, channel, spent, f"gave up: {error}", now)

    def _give_up(self, channel: str, deliveries: list[Delivery], error: str) -> None:
        with self._db.write() as connection:
            self._fail(connection, channel, deliveries, error, self._clock())

    @staticmethod
    def _fail(
        connection: Connection,
        channel: str,
        deliveries: list[Delivery],
        error: str,
        now: dt.datetime,
    ) -> None:
        """Record rows as failed; a group post's copy goes to its unit's officers."""
        outbox = OutboxStore(connection)
        outbox.mark_failed([d.outbox_id for d in deliveries], error)
        copies = []
        for delivery in deliveries:
            if delivery.fallback is None:
                continue
            payload = payload_of(delivery.replies)
            for chat_id in GroupStore(connection).officer_chats(delivery.fallback.unit_id, channel):
                key = f"{delivery.fallback.campaign}:{delivery.chat_id}:officer:{chat_id}"
                copies.append(Queued(channel, chat_id, payload, OutboxKind.BROADCAST, None, key))
        if copies:
            outbox.add_many(copies, now=now)

    def _blocked(
        self,
        channel: str,
        user_id: str,
        sent: list[tuple[int, dt.datetime]],
        rest: list[int],
        error: str,
    ) -> None:
        with self._db.write() as connection:
            outbox = OutboxStore(connection)
            _mark_sent(outbox, sent)
            outbox.mark_failed(rest, error)
            ConversationStore(connection).set_unreachable(channel, user_id)

    def _posting(self, row_id: int) -> None:
        with self._db.write() as connection:
            OutboxStore(connection).posting(row_id)

    def still_ours(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Of deliveries leased a moment ago, those nobody took over since: a turn of the chat,
        which sends what the chat waits for first, may have sent one already."""
        leases = {d.outbox_id: d.leased_until for d in deliveries if d.leased_until is not None}
        with self._db.read() as connection:
            ours = OutboxStore(connection).still_leased(leases)
        return [delivery for delivery in deliveries if delivery.outbox_id in ours]

    def take_due(self, channel: str, limit: int = 100, chat_id: str | None = None) -> list[Leased]:
        """Pending rows of `channel` (of one chat, if given) that nobody is delivering,
        leased to this process. A broadcast whose sender died mid-post is given up instead:
        the Bot APIs have no idempotency key, so it may or may not have arrived. It is
        recorded (`sangkien outbox status`) and a group post's copy goes to the unit's
        officers privately, as for a group that refuses a post."""
        now = self._clock()
        with self._db.write() as connection:
            outbox = OutboxStore(connection)
            rows = outbox.take_due(
                channel, now=now, lease_until=now + self.lease, limit=limit, chat_id=chat_id
            )
            doubtful = [row for row in rows if row.in_doubt and row.kind is OutboxKind.BROADCAST]
            if doubtful:  # a group's officers get a copy privately, to post if it is missing
                self._fail(connection, channel, deliveries_of(doubtful), IN_DOUBT, now)
                log.warning("%s: %d posts in doubt not posted again", channel, len(doubtful))
                given_up = {row.id for row in doubtful}
                rows = [row for row in rows if row.id not in given_up]
        # A slow send of ours can outlive its lease: it is still ours, not sent twice.
        return [row for row in rows if row.id not in self._in_flight]


# Sent and failed rows are forgotten this many at a time, each batch its own transaction: on
# SQLite the turns waiting for the one writer then wait a moment, not for the whole clean-up.
FORGET_BATCH = 5000


def forget_settled(db: Database, before: dt.datetime, *, batch: int = FORGET_BATCH) -> int:
    """Delete the sent and failed rows written before `before`; how many. Without this the
    outbox keeps every message ever sent (a row per turn). Pending rows are kept."""
    below: int | None = None  # found once, in the first batch (see `first_id_since`)
    forgotten = 0
    while True:
        with db.write() as connection:
            store = OutboxStore(connection)
            below = store.first_id_since(before) if below is None else below
            done = store.forget_settled(below=below, limit=batch)
        forgotten += done
        if done < batch:
            return forgotten


def record_sent(
    db: Database, sent: Sequence[tuple[int, dt.datetime]], error: str | None = None
) -> None:
    """Record rows as sent, each at the moment it left. One row, the usual end of a turn's
    send, is one statement that commits by itself: no BEGIN and COMMIT around it."""
    if len(sent) == 1:
        [(row_id, moment)] = sent
        with db.autocommit() as connection:
            mark_row_sent(connection, row_id, now=moment, error=error)
        return
    with db.write() as connection:
        _mark_sent(OutboxStore(connection), sent, error)


def _mark_sent(
    outbox: OutboxStore, sent: Sequence[tuple[int, dt.datetime]], error: str | None = None
) -> None:
    """Record rows as sent, each at the moment it left (one statement per moment)."""
    by_moment: dict[dt.datetime, list[int]] = {}
    for row_id, moment in sent:
        by_moment.setdefault(moment, []).append(row_id)
    for moment, ids in by_moment.items():
        outbox.mark_sent(ids, now=moment, error=error)
