"""One pace of sends for every process of the bot, kept in PostgreSQL.

Telegram's limits are the bot's, not a process's: two ``sangkien run`` pacing only their own
sends together sent twice the limit. :class:`SharedPace` keeps GCRA's state (one theoretical
arrival time per limit, :func:`~bot.channels.base.take_slot`) in the ``send_pace`` table, so
every process draws from the same budget: overall, per chat, per group; replies before
broadcasts; a 429 pauses them all. Sends waiting at the same moment take their slots in one
transaction (one database hop for a whole batch, not one per message).

SQLite is one process only: the channel's in-memory :class:`~bot.channels.base.Throttle`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.channels.base import (
    Keys,
    Limits,
    Sleep,
    Slot,
    SlotKeeper,
    Throttle,
    background,
    request_begins,
    take_slot,
)
from bot.services.database import Database, log_failure
from bot.services.outbox import Blocking
from storage.pace import PaceStore

log = logging.getLogger(__name__)

# Chats not sent to for this long are forgotten (their row deleted: ready, as if new).
FORGET_AFTER = 120.0


@dataclass(slots=True)
class _Ask:
    keys: Keys
    background: bool
    answer: asyncio.Future[Slot] = field(repr=False)


class SharedPace:
    """The pace of one messenger's sends, shared through the database (see the module)."""

    def __init__(
        self,
        db: Database,
        blocking: Blocking,
        channel: str,
        limits: Limits,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._db = db
        self._blocking = blocking
        self._channel = channel
        self.limits = limits
        self._clock = clock  # the epoch: the same for every process on every host
        self._asks: list[_Ask] = []
        self._taking: asyncio.Task[None] | None = None
        self._pruned = 0.0
        # While the database cannot be reached: this process's own pace, not none at all.
        self._fallback = Throttle(
            limits.per_second,
            limits.group_per_minute,
            chat_per_second=limits.chat_per_second,
            margin=limits.margin,
            sleep=sleep,
        )
        self._fallback_since: float | None = None
        self._waits = SlotKeeper(clock, sleep)  # this process's sends waiting for slots

    async def wait(self, chat_id: str, *, group: bool = False) -> None:
        """Wait for this chat's turn to be sent to, by the whole bot's budget."""
        keys = self.limits.keys(self._channel, chat_id, group=group)
        quiet = background.get()
        late: int | None = 0
        while late is not None:
            ask = _Ask(keys, quiet, asyncio.get_running_loop().create_future())
            self._asks.append(ask)
            if self._taking is None:
                self._taking = asyncio.create_task(self._take())
            try:
                slot = await ask.answer
            except _UnreachableError:
                await self._fallback.wait(chat_id, group=group)
                return
            late = await self._waits.wait(slot, late)
        await request_begins()

    async def pause(self, seconds: float) -> None:
        """A 429: no process of the bot sends before `seconds` from now; this process's
        sends given their slots before it ask again (the other processes' leave at theirs)."""
        self._waits.pause(seconds)
        await self._fallback.pause(seconds)
        try:
            await self._blocking(self._pause, self._clock() + seconds)
        except Exception as error:
            log_failure(log, f"{self._channel} pause", error)

    async def _take(self) -> None:
        """Answer every ask waiting now in one transaction, then those that came meanwhile."""
        try:
            while self._asks:
                asks, self._asks = self._asks, []
                # Replies first: a broadcast asking in the same batch gets what they leave.
                asks.sort(key=lambda ask: ask.background)
                try:
                    answers = await self._blocking(self._slots, asks)
                except Exception as error:
                    self._unreachable(error)
                    for ask in asks:
                        ask.answer.set_exception(_UnreachableError())
                    continue
                self._fallback_since = None
                for ask, answer in zip(asks, answers, strict=True):
                    ask.answer.set_result(answer)
        finally:
            self._taking = None

    def _slots(self, asks: list[_Ask]) -> list[Slot]:
        overall = self._channel
        with self._db.write() as connection:
            store = PaceStore(connection)
            tats = {overall: store.take(overall)}
            # The time once the pace is ours: read before waiting for another process's hold,
            # it counted slots from a moment already past, and those all left at once.
            now = self._clock()
            tats |= store.times({key for ask in asks for key, _ in ask.keys[1:]})
            before = dict(tats)
            behind = self._waits.behind  # and those this batch turns away, one slot further
            answers = []
            for ask in asks:
                slot = take_slot(tats, ask.keys, now=now, background=ask.background, behind=behind)
                behind += slot.queued
                answers.append(slot)
            store.save({key: tat for key, tat in tats.items() if before.get(key) != tat})
            if now - self._pruned > FORGET_AFTER:
                store.prune(now - FORGET_AFTER)
                self._pruned = now
        return answers

    def _pause(self, until: float) -> None:
        with self._db.write() as connection:
            PaceStore(connection).take(self._channel, not_before=until)

    def _unreachable(self, error: Exception) -> None:
        if self._fallback_since is None:
            self._fallback_since = self._clock()
            log_failure(log, f"{self._channel} shared pace (pacing this process alone)", error)


class _UnreachableError(Exception):
    """The shared pace's database could not be reached for this ask."""
