"""The one entry point for every inbound update, from every channel.

A channel parses an update into an :class:`~bot.channels.base.Incoming` and awaits
:meth:`Dispatcher.dispatch`, which keeps the updates of one chat in order (a FIFO lock taken
before anything else), recognises redeliveries before slow work, acknowledges a button press
once (by the process that processed it, while its replies go),
transcribes voice notes off the event loop, runs the turn's transaction in the database pool,
and delivers the replies the turn wrote to the outbox.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

from bot.channels.base import (
    BlockedIn,
    GroupCommandIn,
    Incoming,
    Orphan,
    Receiver,
    Sender,
    VoiceNoteIn,
    with_retries,
)
from bot.clock import Clock, system_clock
from bot.services import spool
from bot.services.conversation import ConversationService, Handled
from bot.services.database import log_failure
from bot.services.groups import GroupService
from bot.services.keeping import Keeper
from bot.services.outbox import Deliverer, Delivery, deliveries_of
from bot.services.spool import Spool
from bot.services.voice import Heard, VoiceInbox
from dialogs import messages as msg
from dialogs.events import Inbound, Reply, VoiceIn
from storage.received import ReceivedStore

log = logging.getLogger(__name__)
T = TypeVar("T")

# Updates of one chat taken at once (one handled, the rest waiting their turn): more is a
# flood, of which only the newest is read, after these.
MAX_WAITING = 8
# How long a turn waits for PostgreSQL to come back before telling the worker to send again:
# longer than a restart (seconds), shorter than a worker's patience (a minute).
DATABASE_PATIENCE = 40.0


# How many chats a flush sends to at once. One at a time, each waited for the last one's pace
# and requests (a reply sent 22 s of serving after its turn); with twenty at once the soak's
# median wait went from about 1 s to 2.5-3.7 s, as the flush's sends and database work took
# the turns' place.
FLUSH_CHATS = 4


class Dispatcher:
    """Per-chat order, the worker pool for database work, voice, and delivery."""

    def __init__(
        self,
        conversations: ConversationService,
        groups: GroupService,
        voice: VoiceInbox | None,
        *,
        clock: Clock = system_clock,
        db_threads: int = 4,
        spool: Spool | None = None,
    ) -> None:
        self.conversations = conversations
        self.groups = groups
        self.spool = spool
        self._voice = voice
        self._clock = clock
        self._pool = ThreadPoolExecutor(db_threads, thread_name_prefix="turn")
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # Updates of each chat being handled or waiting, and the newest of a flood parked.
        self._waiting: collections.Counter[tuple[str, str]] = collections.Counter()
        self._parked: dict[tuple[str, str], Incoming] = {}
        self._keeper = Keeper(conversations.db, clock, spool)
        # Rows taken by a flush are leased briefly: a batch is sent in about a second, and a
        # process that dies leaves its rows to the next one within this time.
        self.deliverer = Deliverer(
            conversations.db, clock, self.blocking, lease=dt.timedelta(seconds=20)
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._keeper.close()

    def _chat_lock(self, channel: str, chat_id: str) -> asyncio.Lock:
        key = (channel, chat_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def blocking(self, function: Callable[..., T], *args: Any) -> T:
        """Run database work in the pool: the one way off the event loop for it."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    async def keep(self, channel: str, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Keep updates just taken from the messenger until their turns are done: a process
        that dies before then leaves them to the next (see :meth:`adopt_orphans`). A database
        that is down loses nothing more by this: the turn fails too, and the worker is told
        to send again."""
        await self._keeper.keep(channel, updates)

    async def forget(self, channel: str, key: str) -> None:
        """An update kept that will not be handled (ignored, or the worker was told to send it
        again): no process takes it up later."""
        try:
            await self.blocking(self._forget, channel, key)
        except Exception:  # the database is down: the turn's failure said so already
            log.debug("%s update %s: forgetting it failed", channel, key, exc_info=True)

    def _forget(self, channel: str, key: str) -> None:
        with self.conversations.db.write() as connection:
            ReceivedStore(connection).done(channel, key)

    async def take_up_spools(self) -> int:
        """Keep in the database, as their dead writers', the updates that dead processes
        spooled (see :mod:`bot.services.spool`) and remove their files: they are orphans now,
        answered by :meth:`adopt_orphans`. How many; a database still down leaves the files."""
        if self.spool is None:
            return 0
        return await self.blocking(self._take_up_spools, self.spool.folder)

    def _take_up_spools(self, folder: Path) -> int:
        count = 0
        for path in spool.files(folder):
            with spool.claimed(path) as found:
                if found is None:  # its writer lives, or another taker has it
                    continue
                with self.conversations.db.write() as connection:
                    store = ReceivedStore(connection)
                    for channel, key, payload, taken in found.updates:  # when each was taken
                        store.keep(channel, [(key, payload)], taken, owner=found.owner)
                path.unlink(missing_ok=True)
            count += len(found.updates)
        if count:
            log.info("%d updates spooled by a stopped process taken up", count)
        return count

    async def adopt_orphans(self, channel: Receiver) -> int:
        """Hand `channel` the updates a dead process took and never handled, oldest first, to
        handle as if they had just come; how many."""
        orphans = await self.blocking(self._orphans, channel.name)
        if orphans:
            log.info(
                "%s: %d updates left by a stopped process handled now", channel.name, len(orphans)
            )
            await channel.replay(orphans)
        return len(orphans)

    def _orphans(self, channel: str) -> list[Orphan]:
        with self.conversations.db.write() as connection:
            taken = ReceivedStore(connection).take_orphans(channel)
        return [Orphan(row.key, row.payload, row.received_at) for row in taken]

    async def dispatch(self, sender: Sender, incoming: Incoming) -> None:
        """Process one update; updates of the same chat wait their turn, in arrival order.
        A chat that has `MAX_WAITING` updates in hand already is flooding: its newest update
        is parked (replacing any parked before it) and taken after the others, so one chat's
        backlog never holds the messenger's update slots from everyone else."""
        key = (incoming.turn.channel, incoming.turn.chat_id)
        if self._waiting[key] >= MAX_WAITING:
            await self._park(sender, key, incoming)
            return
        self._waiting[key] += 1
        try:
            await self._process(sender, key, lambda: incoming)
        finally:
            self._done(key)

    async def _park(self, sender: Sender, key: tuple[str, str], incoming: Incoming) -> None:
        """The first update parked waits for the chat's turn (the update that replaced it
        last is taken then); a later one only replaces it and returns."""
        parked = self._parked.get(key)
        self._parked[key] = dataclasses.replace(
            incoming, skipped=0 if parked is None else parked.skipped + 1
        )
        if parked is not None:  # passed over: its button press still gets its answer
            await self._acknowledge(parked)
            if parked.update_key is not None:  # and no process takes it up later
                await self.forget(parked.turn.channel, parked.update_key)
            return
        self._waiting[key] += 1
        try:
            await self._process(sender, key, lambda: self._parked.pop(key))
        finally:
            self._done(key)

    def _done(self, key: tuple[str, str]) -> None:
        self._waiting[key] -= 1
        if not self._waiting[key]:
            del self._waiting[key]

    async def _process(
        self, sender: Sender, key: tuple[str, str], take: Callable[[], Incoming]
    ) -> None:
        """The chat's turn: wait for its lock, then take the update (a parked one is only
        chosen then: the newest of the flood) and run it."""
        incoming: Incoming | None = None
        try:
            async with self._chat_lock(*key):
                incoming = take()
                turn = incoming.turn
                try:
                    handled = await self._turn(sender, incoming)
                except Exception as error:
                    # Nothing was saved (the transaction rolled back): say so, so the worker
                    # sends it again rather than waiting for an answer that never comes.
                    log_failure(log, f"{turn.channel} update {incoming.update_key}", error)
                    if incoming.update_key is not None:  # sent again, not taken up later
                        await self.forget(turn.channel, incoming.update_key)
                    if not isinstance(incoming.content, BlockedIn | GroupCommandIn):
                        await asyncio.gather(
                            self._acknowledge(incoming),
                            _quietly(sender.send(turn.chat_id, Reply(msg.TRY_AGAIN))),
                        )
                    return
                # A button press is answered once, by whoever processed it (two processes
                # given the same update both answered it), while its replies are sent.
                acknowledging = asyncio.create_task(
                    self._acknowledge(incoming if handled.new else None)
                )
                try:
                    await self.deliverer.deliver(sender, handled.deliveries)
                finally:
                    await acknowledging
        except Exception as error:
            where = f"{key[0]} update {incoming.update_key if incoming else '?'}: delivery"
            log_failure(log, where, error)

    @staticmethod
    async def _acknowledge(incoming: Incoming | None) -> None:
        if incoming is not None and incoming.acknowledge is not None:
            await _acknowledge(incoming.acknowledge)

    async def _turn(self, sender: Sender, incoming: Incoming) -> Handled:
        """The turn's transaction; the clock is read once and that instant used throughout.
        Its database work waits out a PostgreSQL restart (see :meth:`_patiently`); a voice
        note is heard once, however long that takes."""
        turn, content, key = incoming.turn, incoming.content, incoming.update_key
        now = self._clock()
        if isinstance(content, BlockedIn):
            await self._patiently(self.conversations.set_unreachable, turn.channel, turn.user_id)
            if key is not None:
                await self.forget(turn.channel, key)
            return Handled([], new=True)
        if isinstance(content, GroupCommandIn):
            return await self._patiently(self._register, incoming, content.code, now)
        if not isinstance(content, VoiceNoteIn):
            return await self._patiently(self._handle, incoming, content, None, now)
        heard = None
        if key is not None:  # a redelivered note is not downloaded and transcribed twice
            replayed, heard = await self._patiently(self._replay_note, turn.channel, key, now)
            if replayed is not None:
                return Handled(replayed, new=False)
        if heard is None:
            heard = await self._hear(sender, incoming, content)
            if key is not None:
                await self._remember(turn.channel, key, heard)
        return await self._patiently(self._handle, incoming, heard.event, heard, now)

    async def _patiently(self, function: Callable[..., T], *args: Any) -> T:
        """:meth:`blocking`, tried again while PostgreSQL cannot be reached (a restart takes a
        few seconds; a failover longer), for up to `DATABASE_PATIENCE`: the worker then gets
        the answer when it is back instead of "send it again" (which could not be sent
        either: on PostgreSQL the processes' shared pace is in the database). Trying a turn
        again is safe: a turn whose commit did reach the server is found by its update's key
        and replayed, as a messenger's redelivery is. SQLite is one file on this machine: an
        error there is no outage to wait out."""
        deadline = asyncio.get_running_loop().time() + DATABASE_PATIENCE
        delay = 0.25
        while True:
            try:
                return await self.blocking(function, *args)
            except OperationalError:
                if not self.conversations.db.locks_rows:
                    raise
                if asyncio.get_running_loop().time() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _register(self, incoming: Incoming, code: str, now: dt.datetime) -> Handled:
        return Handled(
            self.groups.register(incoming.turn, code, incoming.update_key, now=now), True
        )

    def _replay_note(
        self, channel: str, key: str, now: dt.datetime
    ) -> tuple[list[Delivery] | None, Heard | None]:
        """A note's turn done already (its replies), or else what a process killed before
        its turn had heard in it."""
        replayed = self.conversations.replay(channel, key, now=now)
        if replayed is not None:
            return replayed, None
        with self.conversations.db.read() as connection:
            kept = ReceivedStore(connection).heard(channel, key)
        return None, None if kept is None else Heard.from_json(kept)

    async def _remember(self, channel: str, key: str, heard: Heard) -> None:
        """Keep what a note said with its update: a process killed before the turn commits
        leaves it to the next, which neither downloads nor hears it again (under kills every
        few seconds, each process heard it from the start). Lost, it is heard again."""
        try:
            await self.blocking(self._hear_kept, channel, key, heard.to_json())
        except Exception as error:
            log.warning("could not keep what a voice note said (%s)", type(error).__name__)

    def _hear_kept(self, channel: str, key: str, heard: dict[str, Any]) -> None:
        with self.conversations.db.write() as connection:
            ReceivedStore(connection).hear(channel, key, heard)

    def _handle(
        self, incoming: Incoming, event: Inbound, heard: Heard | None, now: dt.datetime
    ) -> Handled:
        recording = heard.recording if heard is not None else None
        return self.conversations.handle_update(
            incoming.turn,
            event,
            incoming.update_key,
            now=now,
            recording=recording,
            written_by=incoming.written_by,
            skipped=incoming.skipped,
            received_at=incoming.received_at,
        )

    async def _hear(self, sender: Sender, incoming: Incoming, note: VoiceNoteIn) -> Heard:
        chat_id = incoming.turn.chat_id
        if self._voice is None:
            return Heard(VoiceIn(transcript=None, problem="unavailable"))
        await _quietly(sender.typing(chat_id))
        try:
            data = await note.fetch()
        except Exception as error:  # an expired, forged or unreachable URL: asked to resend
            # One line: what comes from outside is no bug of ours to trace back.
            log.warning("could not download a voice note (%s: %s)", type(error).__name__, error)
            return Heard(VoiceIn(transcript=None, problem="corrupt"))

        async def listening() -> None:
            # A progress notice, not a reply of the turn: it is not kept in the outbox.
            await _quietly(sender.send(chat_id, Reply(msg.LISTENING)))
            await _quietly(sender.typing(chat_id))

        return await self._voice.areceive(data, note.extension, listening)

    async def flush(self, sender: Sender, *, limit: int = 20, chat_id: str | None = None) -> int:
        """Deliver outbox rows of `sender`'s channel (of one chat, if `chat_id` is given: the
        terminal shows one person's) that nobody is delivering — a crashed process's, notices
        written by another's turn, ones left for a later try — each chat's in order, a few
        chats side by side (`FLUSH_CHATS`: one after another, a killed process's replies went
        out 22 s of serving after their turns); how many were due. A chat's failure leaves the
        others to finish, then is raised."""
        due = await self.blocking(self.deliverer.take_due, sender.name, limit, chat_id)
        by_chat: dict[str, list[Delivery]] = collections.defaultdict(list)
        for delivery in deliveries_of(due):
            by_chat[delivery.chat_id].append(delivery)

        side_by_side = asyncio.Semaphore(FLUSH_CHATS)

        async def deliver(chat_id: str, deliveries: list[Delivery]) -> None:
            async with side_by_side, self._chat_lock(sender.name, chat_id):
                ours = await self.blocking(self.deliverer.still_ours, deliveries)
                await self.deliverer.deliver(sender, ours)

        outcomes = await asyncio.gather(
            *(deliver(chat, deliveries) for chat, deliveries in by_chat.items()),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return len(due)

    async def flush_forever(self, channel: Receiver, every: float = 5.0) -> None:
        """Run :meth:`flush` and :meth:`adopt_orphans` at start and then every `every`
        seconds, until cancelled."""
        while True:
            try:
                while await self.flush(channel) > 0:
                    pass
            except Exception as error:
                log_failure(log, f"{channel.name} outbox flush", error)
            try:
                await self.take_up_spools()
                await self.adopt_orphans(channel)
            except Exception as error:
                log_failure(log, f"{channel.name}: taking up a stopped process's updates", error)
            await asyncio.sleep(every)


async def _acknowledge(acknowledge: Callable[[], Awaitable[object]]) -> None:
    """Answer a button press (the spinner on the worker's button stops): retried briefly, as
    the messenger accepts the answer only for a short while (five tries over about 3 s: three
    gave up on a press that met three failures in a row, seen in CI when the other presses had
    gone by); never raised."""
    await _quietly(with_retries(acknowledge, attempts=5, base_delay=0.2, max_delay=2.0))


async def _quietly(action: Awaitable[object]) -> None:
    """Chat actions, progress notes and acknowledgements are courtesy: their failure must not
    stop the turn."""
    try:
        await action
    except Exception:
        log.debug("courtesy call failed", exc_info=True)
