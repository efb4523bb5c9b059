"""What every channel shares with the services: the channel-neutral Incoming and outgoing
types, our own error types, the retry policy, pacing and numbered rendering.

A channel parses a platform update into one :class:`Incoming` and hands it to the one
:class:`Inbox` (the dispatcher) it was given; it renders and sends the :class:`Reply` objects
the inbox asks it to. Each channel maps its transport's errors to the exceptions below in one
function; nothing above the channels ever sees an HTTP status.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

from dialogs import messages as msg
from dialogs.events import Inbound, Reply

T = TypeVar("T")


# Channels whose sender plays a kept recording back (Telegram sends it as a voice message,
# the terminal names its file); Zalo's Bot API sends no audio.
PLAYS_VOICE = frozenset({"telegram", "terminal"})


@dataclass(frozen=True, slots=True)
class Turn:
    """Who is talking, where: the channel, the chat and the account that wrote in it."""

    channel: str
    chat_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class VoiceNoteIn:
    """A voice note still to be fetched: `fetch` downloads its bytes (at once: Zalo's URLs
    expire)."""

    fetch: Callable[[], Awaitable[bytes]]
    extension: str


@dataclass(frozen=True, slots=True)
class GroupCommandIn:
    """``/nhom CODE`` in a group chat: an officer registers the group for a unit's ranking."""

    code: str


@dataclass(frozen=True, slots=True)
class BlockedIn:
    """The messenger says the user blocked the bot: nothing more is sent to them."""


Content = Inbound | VoiceNoteIn | GroupCommandIn | BlockedIn


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update, channel-neutral. `update_key` is the messenger's id of it (redeliveries
    carry the same key); `acknowledge`, when given, answers the messenger's request for an
    acknowledgement (a Telegram button press) once the update is taken; `written_by` is the
    latest instant the person can have sent it, by the messenger's clock and to its precision
    (Telegram counts whole seconds, Zalo milliseconds), when the messenger says. `skipped`
    counts the messages of a flood passed over for this one, the newest. `received_at` is set
    on an update a process took and died before handling: when it was taken."""

    turn: Turn
    content: Content
    update_key: str | None = None
    acknowledge: Callable[[], Awaitable[object]] | None = None
    written_by: dt.datetime | None = None
    skipped: int = 0
    received_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Orphan:
    """An update as the messenger sent it, taken by a process that died before handling it."""

    key: str
    payload: dict[str, Any]
    received_at: dt.datetime


class Sender(Protocol):
    """What a channel offers for delivery."""

    name: str

    async def send(self, chat_id: str, reply: Reply) -> None: ...

    async def typing(self, chat_id: str) -> None: ...


class Receiver(Sender, Protocol):
    """A channel that takes updates from a messenger: it can also handle again, in order, the
    updates a process that died had taken (their JSON as the messenger sent it)."""

    async def replay(self, orphans: Sequence[Orphan]) -> None: ...


class Inbox(Protocol):
    """Where a channel hands every update: the one entry point (the dispatcher).

    A channel keeps each update (its key and the messenger's JSON) before the messenger can
    take it as delivered, and dispatches it; the turn forgets it. One the channel does not
    dispatch (chatter it ignores) it forgets itself."""

    async def dispatch(self, sender: Sender, incoming: Incoming) -> None: ...

    async def keep(self, channel: str, updates: Sequence[tuple[str, dict[str, Any]]]) -> None: ...

    async def forget(self, channel: str, key: str) -> None: ...


def group_command(text: str) -> str | None:
    """The unit code of a group registration ("/nhom HN-DM01", "/nhom@bot HN-DM01"), "" when
    the code is missing, None for any other message (which the bot ignores in groups)."""
    command, _, code = text.strip().partition(" ")
    return code.strip() if command.split("@")[0].lower() == "/nhom" else None


class ChannelError(Exception):
    """A messenger refused or failed a request."""


class RateLimitedError(ChannelError):
    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(f"rate limited, retry after {retry_after}s {detail}".strip())
        self.retry_after = retry_after


class ForbiddenError(ChannelError):
    """The user blocked the bot, left, or the chat is gone: stop sending to it."""


class BadRequestError(ChannelError):
    """Our request was wrong (too long, malformed): retrying will not help."""


class TransientError(ChannelError):
    """A timeout, a dropped connection or a 5xx: worth retrying."""


Sleep = Callable[[float], Awaitable[None]]


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 5,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Run `call`, honouring rate limits and retrying transient failures with jittered
    exponential backoff; forbidden and bad requests are raised at once."""
    for attempt in range(attempts):
        try:
            return await call()
        except RateLimitedError as error:
            if attempt == attempts - 1:
                raise
            await sleep(min(error.retry_after, max_delay))
        except TransientError:
            if attempt == attempts - 1:
                raise
            delay = min(max_delay, base_delay * 2**attempt)
            await sleep(delay * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


def render_numbered(reply: Reply) -> str:
    """A reply as plain text for channels without buttons: numbered choices, how to answer,
    and the navigation hint."""
    lines = [reply.text]
    if reply.options:
        lines += [f"{n}. {option.label}" for n, option in enumerate(reply.options, start=1)]
        lines.append(msg.reply_with_number(len(reply.options)))
    if reply.hint:
        lines.append(msg.NAV_HINT)
    return "\n".join(lines)


def split_text(text: str, limit: int) -> list[str]:
    """Split at line breaks (then spaces) so each part fits the messenger's limit."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n ")
    parts.append(text)
    return [part for part in parts if part]


# Awaited once, right before the next paced request leaves (after its wait): the outbox marks
# a broadcast "in doubt" there, so a process killed while waiting its turn has not begun a post.
before_request: contextvars.ContextVar[Callable[[], Awaitable[object]] | None] = (
    contextvars.ContextVar("before_request", default=None)
)

# Called as every paced request leaves (after its wait, unlike `before_request` not only the
# first): the outbox keeps the last call as the moment its message may first have been shown.
request_leaves: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "request_leaves", default=None
)

# Set by the outbox for broadcasts and notices: they go only when no reply to a worker in
# conversation is waiting for the messenger's budget (see `take_slot`).
background: contextvars.ContextVar[bool] = contextvars.ContextVar("background", default=False)

# A send woken this long after its slot (a loaded machine, a blocked event loop) asks for a
# new slot instead of leaving at once beside the sends due after it: several late ones
# leaving together broke Telegram's 30 a second (a 429) though each slot was within it.
# At most LATE_RETRIES times, so a send on a machine always that late still goes.
LATE_SLACK = 0.05
LATE_RETRIES = 2

# A background send is admitted only if it can leave this soon: replies arriving meanwhile
# find the budget free instead of queued behind a broadcast to ten thousand chats.
BACKGROUND_SLACK = 0.2


@dataclass(frozen=True, slots=True)
class Rate:
    """A limit as the generic cell rate algorithm sees it: one send every `interval`
    seconds, and up to `tolerance` seconds' worth of sends early (a burst)."""

    interval: float
    tolerance: float = 0.0


Keys = tuple[tuple[str, Rate], ...]


@dataclass(frozen=True, slots=True)
class Limits:
    """A messenger's flood limits: overall, per private chat, per group (Telegram's FAQ: about
    30 messages a second, one a second in a chat with short bursts, 20 a minute in a group).
    The margin keeps the limit itself out of reach of late wake-ups: under load (two
    processes on two cores) a send leaves up to tens of milliseconds after its slot, and at 5 %
    two processes' late and early sends met 31 in one second against the fake Bot API."""

    per_second: float = 30.0
    group_per_minute: int = 20
    chat_per_second: float | None = None  # None: no limit of its own per private chat
    chat_burst: int = 3
    group_burst: int = 5
    margin: float = 0.08

    def keys(self, scope: str, chat_id: str, *, group: bool) -> Keys:
        """The limits one send to `chat_id` draws from, overall first; named under `scope`."""
        slow = 1 + self.margin
        overall = (scope, Rate(slow / self.per_second))
        if group:
            # Any 60 s hold at most 1 + (60 + tolerance) / interval sends: with a burst of b,
            # an interval of 60 / (limit - b) keeps that at the limit.
            extra = self.group_burst - 1
            interval = 60 / (self.group_per_minute - extra) * (1 + 0.01)
            return overall, (f"{scope}:{chat_id}", Rate(interval, extra * interval))
        if self.chat_per_second is None:
            return (overall,)
        interval = slow / self.chat_per_second
        return overall, (f"{scope}:{chat_id}", Rate(interval, (self.chat_burst - 1) * interval))


class Slot(NamedTuple):
    """What :func:`take_slot` answered."""

    admitted: bool  # reserved: leave at `at`; else ask again at `at`
    at: float
    queued: bool = False  # a background send behind the budget (see `behind`)


def take_slot(
    tats: dict[str, float],
    keys: Keys,
    *,
    now: float,
    background: bool = False,
    behind: int = 0,
) -> Slot:
    """Reserve the next slot for one send (GCRA over several limits at once; `tats` maps each
    limit's key to its theoretical arrival time and is updated for a reservation).

    Admitted: the send may leave at `at`. Not admitted: ask again at `at` without a
    reservation — its chat's own limit is not ready (reserving the overall budget until then
    would waste it for every other chat), or it is a background send and the budget is taken
    by replies for longer than BACKGROUND_SLACK (`queued`). `behind` such sends of the caller
    already wait: this one comes back after them, one slot each, not all at the same moment
    (300 posts of a broadcast asked 39,000 times in 3 s, a loop that made replies late)."""
    (overall, rate), *chats = keys
    ready = max((tats.get(key, now) - limit.tolerance for key, limit in chats), default=now)
    if ready > now:
        return Slot(False, ready)
    start = max(now, tats.get(overall, now) - rate.tolerance)
    if background and start - BACKGROUND_SLACK > now:
        return Slot(False, start - BACKGROUND_SLACK + behind * rate.interval, queued=True)
    for key, limit in keys:
        tats[key] = max(tats.get(key, start), start) + limit.interval
    return Slot(True, start)


class Pace(Protocol):
    """Where a channel's sends take their turn: in this process (:class:`Throttle`) or
    shared by every process of the bot (``bot.services.pace.SharedPace``)."""

    limits: Limits

    async def wait(self, chat_id: str, *, group: bool = False) -> None: ...

    async def pause(self, seconds: float) -> None: ...


async def request_begins() -> None:
    """A paced request is about to leave: run the `before_request` hook once and tell
    `request_leaves`."""
    hook = before_request.get()
    if hook is not None:
        before_request.set(None)
        await hook()
    leaves = request_leaves.get()
    if leaves is not None:
        leaves()


async def paced(
    pace: Pace, chat_id: str, call: Callable[[], Awaitable[T]], *, group: bool = False
) -> T:
    """Send one request in its turn; a 429 pauses every send of the bot for its retry_after
    (the limit is the bot's, not the chat's), and is raised for the caller's retry."""
    await pace.wait(chat_id, group=group)
    try:
        return await call()
    except RateLimitedError as error:
        await pace.pause(error.retry_after)
        raise


class SlotKeeper:
    """What a pace does with a slot once given (:class:`Throttle` and the shared pace alike):
    sleep until it, counting the background sends waiting for the budget (`take_slot`'s
    `behind`); a slot a 429 came since is void, and one woken late is asked for again."""

    def __init__(self, clock: Callable[[], float], sleep: Sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self.behind = 0  # background sends waiting for the budget
        self.paused_until = 0.0  # the end of the last 429's pause

    def pause(self, seconds: float) -> float:
        """A 429: the end of the pause, which voids the slots given before it (sends left
        into it, met another 429 and paused the bot again: 40 to 85 429s in a soak that had
        had 1 to 10)."""
        self.paused_until = max(self.paused_until, self._clock() + seconds)
        return self.paused_until

    async def wait(self, slot: Slot, late: int) -> int | None:
        """Wait for `slot`: None once the send may leave, else how many times it was woken
        late so far, to ask again with."""
        admitted, at, queued = slot
        now = self._clock()
        if at > now:
            self.behind += queued
            try:
                await self._sleep(at - now)
            finally:
                self.behind -= queued
        if not admitted:
            return late
        if at < self.paused_until:  # a 429 came since it was given
            await self._sleep(max(0.0, self.paused_until - self._clock()))
            return late
        if self._clock() - at > LATE_SLACK and late < LATE_RETRIES:
            return late + 1  # woken late: sent now it would crowd the sends due after it
        return None


class Throttle:
    """Keeps the sends of one process under a messenger's flood limits (see :class:`Limits`):
    an even pace overall, per chat and per group, replies before background sends.

    Pacing evenly (rather than bursting and backing off on 429s) is what gets a broadcast to
    ten thousand chats done closest to the limit's floor.
    """

    def __init__(
        self,
        per_second: float = 30.0,
        group_per_minute: int = 20,
        *,
        chat_per_second: float | None = None,
        margin: float = 0.08,
        clock: Callable[[], float] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limits = Limits(
            per_second, group_per_minute, chat_per_second=chat_per_second, margin=margin
        )
        self._clock = clock or time.monotonic
        self._tats: dict[str, float] = {}
        self._waits = SlotKeeper(self._clock, sleep)

    async def wait(self, chat_id: str, *, group: bool = False) -> None:
        """Wait for this chat's turn to be sent to."""
        keys = self.limits.keys("", chat_id, group=group)
        quiet = background.get()
        late: int | None = 0
        while late is not None:
            slot = take_slot(
                self._tats, keys, now=self._clock(), background=quiet, behind=self._waits.behind
            )
            late = await self._waits.wait(slot, late)
        if len(self._tats) > 10_000:  # chats not written to lately need no memory
            now = self._clock()
            self._tats = {key: tat for key, tat in self._tats.items() if tat > now or not key}
        await request_begins()

    async def pause(self, seconds: float) -> None:
        """The messenger said wait (a 429): nothing leaves before `seconds` from now, not
        even a send given its slot before (see :class:`SlotKeeper`)."""
        self._tats[""] = max(self._tats.get("", 0.0), self._waits.pause(seconds))
