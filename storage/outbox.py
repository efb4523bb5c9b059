"""The outbox: messages written in the same transaction as the turn or campaign that decided
them, leased by the process that delivers them, and marked sent or failed.

A row is *due* when it is pending and nobody holds its lease (never leased, or the lease ran
out because the process that held it died). Taking rows leases them; on PostgreSQL two
processes skip each other's locked rows, on SQLite the write lock serialises them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from storage.models import OutboxKind, OutboxMessage, OutboxStatus

_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]

_INSERT = insert(_outbox).returning(_outbox.c.id, sort_by_parameter_order=True)
_FREE = or_(_outbox.c.lease_until.is_(None), _outbox.c.lease_until < bindparam("now"))
_COLUMNS = (_outbox.c.id, _outbox.c.channel, _outbox.c.chat_id, _outbox.c.payload)
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
_SELECT_DUE = (
    select(*_COLUMNS)
    .where(
        _outbox.c.channel == bindparam("of_channel"),
        _outbox.c.status == OutboxStatus.PENDING.value,
        _FREE,
    )
    .order_by(_outbox.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_LEASE = (
    update(_outbox)
    .where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(lease_until=bindparam("until"))
)
_MARK = (
    update(_outbox)
    .where(
        _outbox.c.id.in_(bindparam("ids", expanding=True)),
        _outbox.c.status == OutboxStatus.PENDING.value,
    )
    .values(
        status=bindparam("new_status"),
        sent_at=bindparam("sent"),
        attempts=_outbox.c.attempts + 1,
        last_error=bindparam("error"),
        lease_until=None,
    )
)
_RELEASE = (
    update(_outbox)
    .where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        attempts=_outbox.c.attempts + 1, last_error=bindparam("error"), lease_until=bindparam("at")
    )
)


@dataclass(frozen=True, slots=True)
class Queued:
    """A message to write: where it goes and what it says (channel-neutral JSON)."""

    channel: str
    chat_id: str
    payload: dict[str, Any]
    kind: OutboxKind = OutboxKind.REPLY
    update_key: str | None = None
    dedup_key: str | None = None


@dataclass(frozen=True, slots=True)
class Leased:
    """A pending message this process now has the lease to deliver."""

    id: int
    channel: str
    chat_id: str
    payload: dict[str, Any]


class OutboxStore:
    """Outbox reads and writes inside the caller's transaction on `connection`."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(
        self, messages: Sequence[Queued], *, now: dt.datetime, lease_until: dt.datetime | None
    ) -> list[int]:
        """Write `messages` as pending, leased to the caller until `lease_until`; their ids in
        order."""
        if not messages:
            return []
        rows = [
            {
                "channel": m.channel,
                "chat_id": m.chat_id,
                "kind": m.kind.value,
                "status": OutboxStatus.PENDING.value,
                "payload": m.payload,
                "update_key": m.update_key,
                "dedup_key": m.dedup_key,
                "attempts": 0,
                "lease_until": lease_until,
                "created_at": now,
            }
            for m in messages
        ]
        return [row.id for row in self._connection.execute(_INSERT, rows)]

    def unsent_of_update(
        self, channel: str, update_key: str, *, now: dt.datetime, lease_until: dt.datetime
    ) -> list[Leased]:
        """The pending, unleased replies an update caused (a redelivery resends them)."""
        rows = self._connection.execute(
            _SELECT_OF_UPDATE, {"of_channel": channel, "key": update_key, "now": now}
        ).all()
        return self._lease(rows, lease_until)

    def take_due(
        self, channel: str, *, now: dt.datetime, lease_until: dt.datetime, limit: int = 100
    ) -> list[Leased]:
        """Up to `limit` due messages of `channel`, oldest first, leased to the caller."""
        rows = self._connection.execute(
            _SELECT_DUE, {"of_channel": channel, "now": now, "limit": limit}
        ).all()
        return self._lease(rows, lease_until)

    def _lease(self, rows: Sequence[Any], until: dt.datetime) -> list[Leased]:
        if rows:
            self._connection.execute(_LEASE, {"ids": [row.id for row in rows], "until": until})
        return [Leased(row.id, row.channel, row.chat_id, row.payload) for row in rows]

    def mark_sent(self, ids: Iterable[int], *, now: dt.datetime) -> None:
        self._mark(ids, OutboxStatus.SENT, None, now)

    def mark_failed(self, ids: Iterable[int], error: str) -> None:
        """Give up on messages for good (blocked recipient, refused request)."""
        self._mark(ids, OutboxStatus.FAILED, error[:500], None)

    def _mark(
        self, ids: Iterable[int], status: OutboxStatus, error: str | None, sent: dt.datetime | None
    ) -> None:
        ids = list(ids)
        if ids:
            parameters = {"ids": ids, "new_status": status.value, "sent": sent, "error": error}
            self._connection.execute(_MARK, parameters)

    def retry_later(self, ids: Iterable[int], error: str, *, at: dt.datetime) -> None:
        """Leave messages pending but out of reach until `at` (after a failed attempt)."""
        ids = list(ids)
        if ids:
            self._connection.execute(_RELEASE, {"ids": ids, "error": error[:500], "at": at})
