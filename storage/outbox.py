"""The outbox: what a turn or a campaign sends to one chat, written in the same transaction
as the decision, leased by the process that delivers it, and marked sent or failed.

A row is *due* when it is pending and nobody holds its lease (never leased, the lease ran
out, or the process that held it died: see :mod:`storage.presence`). Taking rows leases them;
on PostgreSQL two processes skip each other's locked rows, on SQLite the write lock serialises
them.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from storage.db import Autocommit, DriverStatement
from storage.models import OUTBOX_PRIORITY, OutboxKind, OutboxMessage, OutboxStatus
from storage.presence import INSTANCE, gone

_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]

# Every turn writes one row: straight to the driver (see DriverStatement for the cost). The
# same statement says whether the chat had rows pending before it (`earlier_of_chat`): nearly
# never, and then the turn needs no second look.
_earlier = _outbox.alias("earlier")
_PENDING_BEFORE = exists().where(  # `outbox.…`: the row being inserted
    _earlier.c.channel == literal_column("outbox.channel"),
    _earlier.c.chat_id == literal_column("outbox.chat_id"),
    _earlier.c.status == OutboxStatus.PENDING.value,
    _earlier.c.id < literal_column("outbox.id"),
)
_ADD = DriverStatement(insert(_outbox).returning(_outbox.c.id, _PENDING_BEFORE.label("waiting")))
_FREE = or_(_outbox.c.lease_until.is_(None), _outbox.c.lease_until < bindparam("now"))
_COLUMNS = (
    _outbox.c.id,
    _outbox.c.channel,
    _outbox.c.chat_id,
    _outbox.c.payload,
    _outbox.c.parts_sent,
    _outbox.c.kind,
    _outbox.c.attempts,
    _outbox.c.in_doubt,
)
_SELECT_OF_UPDATE = (
    select(*_COLUMNS)
    .where(
        _outbox.c.channel == bindparam("of_channel"),
        _outbox.c.update_key == bindparam("key"),
        _outbox.c.status == OutboxStatus.PENDING.value,
        _FREE,
    )
    .order_by(_outbox.c.id)
    .with_for_update(skip_locked=True)
)


@functools.cache
def _select_due(dialect: str, one_chat: bool) -> Select[Any]:
    """Due rows: nobody holds them, or the process that did has died (its lease is void)."""
    statement = (
        select(*_COLUMNS)
        .where(
            _outbox.c.channel == bindparam("of_channel"),
            _outbox.c.status == OutboxStatus.PENDING.value,
            or_(_FREE, gone(_outbox.c.owner, dialect)),
        )
        .order_by(_outbox.c.priority, _outbox.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    return statement.where(_outbox.c.chat_id == bindparam("of_chat")) if one_chat else statement


# A reply the person had not seen when they wrote: still pending, or sent after `written_by`
# (NULL when the messenger gave no time: then only a pending one).
_SELECT_REPLY_UNSEEN = (
    select(_outbox.c.id)
    .where(
        _outbox.c.channel == bindparam("of_channel"),
        _outbox.c.chat_id == bindparam("of_chat"),
        _outbox.c.kind == OutboxKind.REPLY.value,
        or_(
            _outbox.c.status == OutboxStatus.PENDING.value,
            _outbox.c.sent_at > bindparam("written_by", type_=_outbox.c.sent_at.type),
        ),
    )
    .limit(1)
)
# A chat's pending rows: failed and waiting out a retry pause, or a reply left by a dead
# process still under its lease (the caller holds the chat, so no delivery of its process
# has them: a flush that leased one checks again once it holds the chat; a live process's
# would be sent twice, in order). Broadcasts and notices, whose
# order matters less than sending them once, only when nobody holds them; never one in doubt.
_SELECT_PENDING_OF_CHAT = (
    select(*_COLUMNS)
    .where(
        _outbox.c.channel == bindparam("of_channel"),
        _outbox.c.chat_id == bindparam("of_chat"),
        _outbox.c.status == OutboxStatus.PENDING.value,
        _outbox.c.in_doubt.is_(False),
        or_(
            _outbox.c.kind == OutboxKind.REPLY.value,
            _outbox.c.attempts > 0,
            _outbox.c.lease_until.is_(None),
            _outbox.c.lease_until <= bindparam("now", type_=_outbox.c.lease_until.type),
        ),
    )
    .order_by(_outbox.c.id)
    .with_for_update(skip_locked=True)
)
_SELECT_EARLIER = _SELECT_PENDING_OF_CHAT.where(_outbox.c.id < bindparam("before"))
_LEASE = (
    update(_outbox)
    .where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(lease_until=bindparam("until"), owner=INSTANCE)
)
_MARKED = {
    "status": bindparam("new_status"),
    "sent_at": bindparam("sent"),
    "attempts": _outbox.c.attempts + 1,
    "last_error": bindparam("error"),
    "lease_until": None,
    "owner": None,
    "in_doubt": False,
}
_STILL_PENDING = _outbox.c.status == OutboxStatus.PENDING.value
_MARK = (
    update(_outbox)
    .where(_outbox.c.id.in_(bindparam("ids", expanding=True)), _STILL_PENDING)
    .values(_MARKED)
)
# The end of nearly every send: one reply, recorded on its own (see `mark_row_sent`).
_MARK_ONE = DriverStatement(
    update(_outbox).where(_outbox.c.id == bindparam("row_id"), _STILL_PENDING).values(_MARKED)
)
_RETRY_LATER = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("row_id"))
    .values(
        attempts=_outbox.c.attempts + 1,
        parts_sent=bindparam("parts"),
        last_error=bindparam("error"),
        lease_until=bindparam("at"),
        owner=None,  # a pause, not a hold: it ends at its time whoever is alive
        in_doubt=False,
    )
)
_POSTING = update(_outbox).where(_outbox.c.id == bindparam("row_id")).values(in_doubt=True)
# Forgetting settled rows walks the primary key, the order rows were written in: no index on
# `created_at` for every turn to keep up. The first row still kept bounds the walk.
_FIRST_SINCE = (
    select(_outbox.c.id)
    .where(_outbox.c.created_at >= bindparam("since"))
    .order_by(_outbox.c.id)
    .limit(1)
)
_LAST_ID = select(func.max(_outbox.c.id))
_SETTLED_BELOW = (
    select(_outbox.c.id)
    .where(_outbox.c.id < bindparam("below"), _outbox.c.status != OutboxStatus.PENDING.value)
    .order_by(_outbox.c.id)
    .limit(bindparam("limit"))
)
_FORGET = delete(_outbox).where(_outbox.c.id.in_(_SETTLED_BELOW.scalar_subquery()))


@dataclass(frozen=True, slots=True)
class Queued:
    """A row to write: where it goes and what it says (channel-neutral JSON)."""

    channel: str
    chat_id: str
    payload: dict[str, Any]
    kind: OutboxKind = OutboxKind.REPLY
    update_key: str | None = None
    dedup_key: str | None = None


@dataclass(frozen=True, slots=True)
class Leased:
    """A pending row this process now has the lease to deliver, from part `parts_sent` on."""

    id: int
    channel: str
    chat_id: str
    payload: dict[str, Any]
    parts_sent: int = 0
    kind: OutboxKind = OutboxKind.REPLY
    attempts: int = 0
    in_doubt: bool = False
    lease_until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Tally:
    """How many rows of one channel, kind and status (for `sangkien outbox status`)."""

    channel: str
    kind: str
    status: str
    count: int
    oldest: dt.datetime | None


_TALLY = select(
    _outbox.c.channel,
    _outbox.c.kind,
    _outbox.c.status,
    func.count(),
    func.min(_outbox.c.created_at),
).group_by(_outbox.c.channel, _outbox.c.kind, _outbox.c.status)
_FAILURES = (
    select(_outbox.c.channel, _outbox.c.chat_id, _outbox.c.dedup_key, _outbox.c.last_error)
    .where(_outbox.c.status == OutboxStatus.FAILED.value)
    .order_by(_outbox.c.id.desc())
    .limit(bindparam("limit"))
)


def _row(message: Queued, now: dt.datetime, lease_until: dt.datetime | None) -> dict[str, Any]:
    return {
        "channel": message.channel,
        "chat_id": message.chat_id,
        "kind": message.kind.value,
        "priority": OUTBOX_PRIORITY[message.kind],
        "status": OutboxStatus.PENDING.value,
        "payload": message.payload,
        "parts_sent": 0,
        "update_key": message.update_key,
        "dedup_key": message.dedup_key,
        "attempts": 0,
        "in_doubt": False,
        "lease_until": lease_until,
        "owner": INSTANCE if lease_until is not None else None,
        "created_at": now,
    }


def mark_row_sent(
    connection: Connection | Autocommit, row_id: int, *, now: dt.datetime, error: str | None = None
) -> None:
    """Record one row as delivered, as :meth:`OutboxStore.mark_sent` does: a statement that
    needs no transaction around it (see :func:`storage.db.autocommit`)."""
    values = {"row_id": row_id, "new_status": OutboxStatus.SENT.value, "sent": now}
    _MARK_ONE.execute(connection, values | {"error": error[:500] if error else None})


class OutboxStore:
    """Outbox reads and writes inside the caller's transaction on `connection`."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, message: Queued, *, now: dt.datetime, lease_until: dt.datetime | None) -> int:
        """Write `message` as pending, leased to the caller until `lease_until`; its id."""
        return self.add_after(message, now=now, lease_until=lease_until)[0]

    def add_after(
        self, message: Queued, *, now: dt.datetime, lease_until: dt.datetime | None
    ) -> tuple[int, bool]:
        """As :meth:`add`; also whether the chat had rows pending before this one, which
        only then :meth:`earlier_of_chat` needs to look for."""
        row = _ADD.first(self._connection, _row(message, now, lease_until))
        assert row is not None  # an INSERT … RETURNING gives its row
        return int(row[0]), bool(row[1])

    def unsent_of_update(
        self, channel: str, update_key: str, *, now: dt.datetime, lease_until: dt.datetime
    ) -> list[Leased]:
        """The pending, unleased rows an update caused (a redelivery resends them)."""
        rows = self._connection.execute(
            _SELECT_OF_UPDATE, {"of_channel": channel, "key": update_key, "now": now}
        ).all()
        return self._lease(rows, lease_until)

    def earlier_of_chat(
        self, channel: str, chat_id: str, before: int, *, now: dt.datetime, lease_until: dt.datetime
    ) -> list[Leased]:
        """The chat's pending rows older than row `before` (failed and waiting for a retry, or a
        reply left under lease by a process that died), oldest first, leased to the caller:
        they go before the new one, so the chat reads in order, and none comes later."""
        values = {"of_channel": channel, "of_chat": chat_id, "before": before, "now": now}
        return self._lease(self._connection.execute(_SELECT_EARLIER, values).all(), lease_until)

    def pending_of_chat(
        self, channel: str, chat_id: str, *, now: dt.datetime, lease_until: dt.datetime
    ) -> list[Leased]:
        """Everything the chat still waits for, oldest first, leased to the caller."""
        values = {"of_channel": channel, "of_chat": chat_id, "now": now}
        rows = self._connection.execute(_SELECT_PENDING_OF_CHAT, values).all()
        return self._lease(rows, lease_until)

    def reply_unseen(self, channel: str, chat_id: str, written_by: dt.datetime | None) -> bool:
        """Whether an answer to this chat had not reached it when the person wrote: one still
        unsent, or one sent after `written_by` (the latest the message can have been written).
        Without that time, whether one is unsent."""
        values = {"of_channel": channel, "of_chat": chat_id, "written_by": written_by}
        return self._connection.execute(_SELECT_REPLY_UNSEEN, values).first() is not None

    def take_due(
        self,
        channel: str,
        *,
        now: dt.datetime,
        lease_until: dt.datetime,
        limit: int = 100,
        chat_id: str | None = None,
    ) -> list[Leased]:
        """Up to `limit` due rows of `channel` (of one chat, if `chat_id` is given), oldest
        first, leased to the caller."""
        values = {"of_channel": channel, "now": now, "limit": limit, "of_chat": chat_id}
        statement = _select_due(self._connection.dialect.name, chat_id is not None)
        rows = self._connection.execute(statement, values).all()
        return self._lease(rows, lease_until)

    def _lease(self, rows: Sequence[Any], until: dt.datetime) -> list[Leased]:
        if rows:
            self._connection.execute(_LEASE, {"ids": [row.id for row in rows], "until": until})
        return [
            Leased(
                r.id,
                r.channel,
                r.chat_id,
                r.payload,
                r.parts_sent,
                OutboxKind(r.kind),
                r.attempts,
                bool(r.in_doubt),
                until,
            )
            for r in rows
        ]

    def still_leased(self, leases: dict[int, dt.datetime]) -> set[int]:
        """Of rows leased until the given instants, those still pending under that very lease
        (a turn of the chat may have taken one over and sent it meanwhile)."""
        if not leases:
            return set()
        query = select(_outbox.c.id, _outbox.c.lease_until).where(
            _outbox.c.id.in_(list(leases)), _outbox.c.status == OutboxStatus.PENDING.value
        )
        rows = self._connection.execute(query).all()
        return {row.id for row in rows if row.lease_until == leases[row.id]}

    def retry_now(self, channel: str) -> int:
        """Bring every row of `channel` left for a later try (after a failed send) forward:
        due now. How many."""
        result = self._connection.execute(
            update(_outbox)
            .where(
                _outbox.c.channel == channel,
                _outbox.c.status == OutboxStatus.PENDING.value,
                _outbox.c.attempts > 0,
                _outbox.c.lease_until.is_not(None),
                _outbox.c.owner.is_(None),  # waiting out a pause, not being sent
            )
            .values(lease_until=None)
        )
        return int(result.rowcount or 0)

    def release(self, ids: Iterable[int]) -> None:
        """Give up the lease on pending rows: any process may deliver them at once."""
        ids = list(ids)
        if ids:
            self._connection.execute(
                update(_outbox)
                .where(_outbox.c.id.in_(ids), _outbox.c.status == OutboxStatus.PENDING.value)
                .values(lease_until=None, owner=None)
            )

    def mark_sent(self, ids: Iterable[int], *, now: dt.datetime, error: str | None = None) -> None:
        """Record rows as delivered (`error` notes a part the messenger refused)."""
        self._mark(ids, OutboxStatus.SENT, error, now)

    def mark_failed(self, ids: Iterable[int], error: str) -> None:
        """Give up on rows for good (blocked recipient, refused request)."""
        self._mark(ids, OutboxStatus.FAILED, error, None)

    def _mark(
        self, ids: Iterable[int], status: OutboxStatus, error: str | None, sent: dt.datetime | None
    ) -> None:
        ids = list(ids)
        if ids:
            parameters = {
                "ids": ids,
                "new_status": status.value,
                "sent": sent,
                "error": error[:500] if error else None,
            }
            self._connection.execute(_MARK, parameters)

    def posting(self, row_id: int) -> None:
        """A broadcast's post is about to leave: until its outcome is recorded, a process
        that finds the row again cannot know whether the messenger has it."""
        self._connection.execute(_POSTING, {"row_id": row_id})

    def retry_later(self, row_id: int, parts_sent: int, error: str, *, at: dt.datetime) -> None:
        """Leave a row pending, out of reach until `at`, resuming after `parts_sent` parts."""
        parameters = {"row_id": row_id, "parts": parts_sent, "error": error[:500], "at": at}
        self._connection.execute(_RETRY_LATER, parameters)

    def add_many(self, messages: Sequence[Queued], *, now: dt.datetime) -> int:
        """Write a campaign's rows, skipping recipients it already has a row for (its dedup
        key): a campaign queued twice sends once. How many were new."""
        taken = self._taken(messages)
        fresh = [m for m in messages if (m.channel, m.dedup_key) not in taken]
        for start in range(0, len(fresh), 1000):
            rows = [_row(m, now, None) for m in fresh[start : start + 1000]]
            self._connection.execute(insert(_outbox), rows)
        return len(fresh)

    def _taken(self, messages: Sequence[Queued]) -> set[tuple[str, str]]:
        wanted = sorted({(m.channel, m.dedup_key) for m in messages if m.dedup_key is not None})
        taken: set[tuple[str, str]] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._connection.execute(
                select(_outbox.c.channel, _outbox.c.dedup_key).where(
                    _outbox.c.channel.in_({channel for channel, _ in chunk}),
                    _outbox.c.dedup_key.in_([key for _, key in chunk]),
                )
            )
            taken |= {(row.channel, row.dedup_key) for row in rows}
        return taken

    def keys_starting(self, prefix: str) -> set[tuple[str, str]]:
        """(channel, dedup key) of every row whose key starts with `prefix` (a campaign's)."""
        rows = self._connection.execute(
            select(_outbox.c.channel, _outbox.c.dedup_key).where(
                _outbox.c.dedup_key.startswith(prefix, autoescape=True)
            )
        )
        return {(row.channel, row.dedup_key) for row in rows}

    def first_id_since(self, since: dt.datetime) -> int:
        """The id below which every row was written before `since` (rows are numbered in the
        order they are written); past the last row when all were."""
        first = self._connection.execute(_FIRST_SINCE, {"since": since}).scalar()
        if first is not None:
            return int(first)
        return int(self._connection.execute(_LAST_ID).scalar() or 0) + 1

    def forget_settled(self, *, below: int, limit: int) -> int:
        """Delete up to `limit` sent or failed rows with an id under `below`, oldest first;
        how many. Pending rows stay whatever their age: they are still to be sent."""
        parameters = {"below": below, "limit": limit}
        return int(self._connection.execute(_FORGET, parameters).rowcount or 0)

    def tally(self) -> list[Tally]:
        rows = self._connection.execute(_TALLY)
        return [Tally(*row) for row in rows]

    def failures(self, limit: int = 10) -> list[tuple[str, str, str | None, str | None]]:
        """The latest rows given up on: channel, chat, dedup key, why."""
        return [tuple(row) for row in self._connection.execute(_FAILURES, {"limit": limit})]
