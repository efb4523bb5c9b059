"""What every channel shares with the services: the channel-neutral Incoming and outgoing
types, our own error types, the retry policy, pacing and numbered rendering.

A channel parses a platform update into one :class:`Incoming` and hands it to the one
:class:`Inbox` (the dispatcher) it was given; it renders and sends the :class:`Reply` objects
the inbox asks it to. Each channel maps its transport's errors to the exceptions below in one
function; nothing above the channels ever sees an HTTP status.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

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
    (Telegram counts whole seconds, Zalo milliseconds), when the messenger says."""

    turn: Turn
    content: Content
    update_key: str | None = None
    acknowledge: Callable[[], Awaitable[object]] | None = None
    written_by: dt.datetime | None = None


class Sender(Protocol):
    """What a channel offers for delivery."""

    name: str

    async def send(self, chat_id: str, reply: Reply) -> None: ...

    async def typing(self, chat_id: str) -> None: ...


class Inbox(Protocol):
    """Where a channel hands every update: the one entry point (the dispatcher)."""

    async def dispatch(self, sender: Sender, incoming: Incoming) -> None: ...


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


class Throttle:
    """Keeps sends under a messenger's flood limits: an even pace of at most `per_second`
    messages overall, and at most `group_per_minute` to any one group chat.

    Pacing evenly (rather than bursting and backing off on 429s) is what gets a broadcast to
    ten thousand chats done closest to the limit's floor.
    """

    def __init__(
        self,
        per_second: float = 30.0,
        group_per_minute: int = 20,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._interval = (1.0 / per_second) * (1 + margin)
        self._group_limit = group_per_minute
        self._clock = clock or time.monotonic
        self._sleep = sleep
        self._next = 0.0
        self._groups: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )

    async def wait(self, chat_id: str, *, group: bool = False) -> None:
        """Wait for this chat's turn to be sent to."""
        now = self._clock()
        start = max(now, self._next)
        if group:
            recent = self._groups[chat_id]
            while recent and now - recent[0] >= 60:
                recent.popleft()
            if len(recent) >= self._group_limit:
                start = max(start, recent[0] + 60 * (1 + 0.01))
            recent.append(start)
        self._next = start + self._interval
        if start > now:
            await self._sleep(start - now)
        hook = before_request.get()
        if hook is not None:
            before_request.set(None)
            await hook()
