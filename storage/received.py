"""Updates taken from a messenger and not yet handled.

A channel keeps each update the moment it arrives, before the messenger can consider it
delivered; the update's turn deletes it in its own transaction. What is left belongs to a
process that died between the two (killed while transcribing a note, say) and is handed,
oldest first, to a living process to handle: the worker is answered without sending again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.db import DriverStatement
from storage.models import ReceivedUpdate
from storage.presence import INSTANCE, gone

_received = ReceivedUpdate.__table__  # type: ignore[attr-defined]

# Every turn runs it: straight to the driver (see DriverStatement).
_DONE = DriverStatement(
    delete(_received).where(
        _received.c.channel == bindparam("of_channel"), _received.c.update_key == bindparam("key")
    )
)


@dataclass(frozen=True, slots=True)
class Received:
    """An update as the messenger sent it, and when this bot took it."""

    key: str
    payload: dict[str, Any]
    received_at: dt.datetime


class ReceivedStore:
    """Received updates, inside the caller's transaction on `connection`."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect.name

    def keep(
        self,
        channel: str,
        updates: Sequence[tuple[str, dict[str, Any]]],
        now: dt.datetime,
        owner: int = INSTANCE,
    ) -> None:
        """Keep updates (key, payload) as this process's (or `owner`'s: a dead process's,
        read from its spool); one kept already (the messenger sent it again) stays as it is."""
        if not updates:
            return
        rows = [
            {
                "channel": channel,
                "update_key": key,
                "payload": payload,
                "owner": owner,
                "received_at": now,
            }
            for key, payload in updates
        ]
        insert_of = pg_insert if self._dialect == "postgresql" else sqlite_insert
        statement = insert_of(_received).on_conflict_do_nothing()
        self._connection.execute(statement, rows)

    def done(self, channel: str, key: str) -> None:
        """The update was handled (or will never be): forget it."""
        _DONE.execute(self._connection, {"of_channel": channel, "key": key})

    def hear(self, channel: str, key: str, heard: dict[str, Any]) -> None:
        """What a kept voice note said, for whoever handles it if this process dies first."""
        self._connection.execute(
            update(_received)
            .where(_received.c.channel == channel, _received.c.update_key == key)
            .values(heard=heard)
        )

    def heard(self, channel: str, key: str) -> dict[str, Any] | None:
        """What :meth:`hear` kept for the update, if anything."""
        query = select(_received.c.heard).where(
            _received.c.channel == channel, _received.c.update_key == key
        )
        found: dict[str, Any] | None = self._connection.execute(query).scalar()
        return found

    def take_orphans(self, channel: str, limit: int = 100) -> list[Received]:
        """Updates of `channel` whose process died before handling them, oldest first, made
        this process's."""
        query = (
            select(_received.c.update_key, _received.c.payload, _received.c.received_at)
            .where(_received.c.channel == channel, gone(_received.c.owner, self._dialect))
            .order_by(_received.c.received_at, _received.c.update_key)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = self._connection.execute(query).all()
        if rows:
            self._connection.execute(
                update(_received)
                .where(
                    _received.c.channel == channel,
                    _received.c.update_key.in_([row.update_key for row in rows]),
                )
                .values(owner=INSTANCE)
            )
        return [Received(row.update_key, row.payload, row.received_at) for row in rows]
