"""Updates kept the moment they arrive, in batches, on a thread of their own.

A kept update waits neither for the turns' database threads (busy right after a restart, when
a keep matters most) nor for another keep: what arrives while a batch is being written goes
in the next one, one transaction for all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.clock import Clock
from bot.services.database import Database, log_failure
from bot.services.spool import Spool
from storage.received import ReceivedStore

log = logging.getLogger(__name__)

Kept = tuple[str, str, dict[str, Any]]  # channel, update key, the update as it came


class Keeper:
    def __init__(self, db: Database, clock: Clock, spool: Spool | None = None) -> None:
        self._db = db
        self._clock = clock
        self._spool = spool
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="keep")
        self._waiting: list[Kept] = []
        # Spooled, but the database did not take them (it was down): kept with the next batch.
        self._unstored: list[Kept] = []
        self._next: asyncio.Future[None] | None = None  # the batch `_waiting` goes in
        self._writer: asyncio.Task[None] | None = None

    async def keep(self, channel: str, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Return once `updates` are kept, or could not be (the database is down: then the
        turn waits for it, and the spool holds them if this process dies meanwhile; logged
        once a batch). They are in the spool file before this waits for anything."""
        if not updates:
            return
        if self._spool is not None:
            self._spool.append(channel, updates, self._clock())
        self._waiting += [(channel, key, payload) for key, payload in updates]
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        batch = self._next
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await asyncio.shield(batch)

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            kept, self._waiting = self._unstored + self._waiting, []
            batch, self._next = self._next, None
            assert batch is not None
            try:
                await loop.run_in_executor(self._thread, self._store, kept)
                self._unstored = []
                if not self._waiting and self._spool is not None:
                    self._spool.clear()  # the database has every update spooled
            except Exception as error:
                self._unstored = kept
                log_failure(log, f"keeping {len(kept)} updates", error)
            batch.set_result(None)

    def _store(self, kept: list[Kept]) -> None:
        by_channel: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for channel, key, payload in kept:
            by_channel.setdefault(channel, []).append((key, payload))
        now = self._clock()
        with self._db.write() as connection:
            store = ReceivedStore(connection)
            for channel, updates in by_channel.items():
                store.keep(channel, updates, now)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        if self._spool is not None:
            self._spool.close(keep=bool(self._unstored or self._waiting))
