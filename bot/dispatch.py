"""The async core shared by the Telegram and Zalo adapters.

An adapter turns an update into an :class:`Incoming` and hands it to
:meth:`Dispatcher.dispatch`, which keeps the updates of one chat in order, skips
redeliveries, transcribes voice notes off the event loop, runs the dialog turn in a thread
(the database work is blocking) and delivers the replies with retries. A user who blocked
the bot is remembered and not written to again until they write first.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from bot.channels import ForbiddenError, with_retries
from bot.service import ChatService, Turn
from bot.voice import VoiceInbox
from dialogs import messages as msg
from dialogs.events import Inbound, Reply, VoiceIn

log = logging.getLogger(__name__)


class Sender(Protocol):
    """What a channel adapter offers the dispatcher."""

    name: str

    async def send(self, chat_id: str, reply: Reply) -> None: ...

    async def typing(self, chat_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class VoiceNoteIn:
    """A voice note still to be fetched: `fetch` downloads its bytes (at once: Zalo's URLs
    expire)."""

    fetch: Callable[[], Awaitable[bytes]]
    extension: str


@dataclass(frozen=True, slots=True)
class Incoming:
    turn: Turn
    content: Inbound | VoiceNoteIn
    update_key: str | None = None


class Dispatcher:
    def __init__(
        self, service: ChatService, voice: VoiceInbox | None, *, db_threads: int = 4
    ) -> None:
        self.service = service
        self._voice = voice
        self._pool = ThreadPoolExecutor(db_threads, thread_name_prefix="turn")
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def chat_lock(self, channel: str, chat_id: str) -> asyncio.Lock:
        """The lock that keeps one chat's updates in order (FIFO). An adapter that must await
        before it can build the Incoming takes it first and then calls :meth:`process`."""
        key = (channel, chat_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def _blocking(self, function: Callable[..., object], *args: object) -> object:
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    async def dispatch(self, sender: Sender, incoming: Incoming) -> None:
        """Process one update of one chat; updates of the same chat wait their turn."""
        async with self.chat_lock(incoming.turn.channel, incoming.turn.chat_id):
            await self.process(sender, incoming)

    async def process(self, sender: Sender, incoming: Incoming) -> None:
        """Process one update; the caller holds the chat's lock."""
        turn = incoming.turn
        is_voice = isinstance(incoming.content, VoiceNoteIn)
        if (
            is_voice
            and incoming.update_key is not None
            and await self._blocking(self.service.seen, turn.channel, incoming.update_key)
        ):
            return  # a redelivery: do not download and transcribe it twice
        event = await self._event(sender, incoming)
        replies = await self._blocking(self.service.handle, turn, event, incoming.update_key)
        assert isinstance(replies, list)
        await self.deliver(sender, turn, replies)

    async def _event(self, sender: Sender, incoming: Incoming) -> Inbound:
        content, chat_id = incoming.content, incoming.turn.chat_id
        if not isinstance(content, VoiceNoteIn):
            return content
        if self._voice is None:
            return VoiceIn(transcript=None, problem="unavailable")
        await _quietly(sender.typing(chat_id))
        try:
            data = await content.fetch()
        except Exception:  # an expired or unreachable URL: the worker is asked to resend
            log.warning("could not download a voice note", exc_info=True)
            return VoiceIn(transcript=None, problem="corrupt")

        async def listening() -> None:
            await _quietly(sender.send(chat_id, Reply(msg.LISTENING)))
            await _quietly(sender.typing(chat_id))

        return await self._voice.areceive(incoming.turn, data, content.extension, listening)

    async def deliver(self, sender: Sender, turn: Turn, replies: list[Reply]) -> None:
        """Send replies in order; a blocked user is marked unreachable and skipped."""
        for reply in replies:

            async def send(reply: Reply = reply) -> None:
                await sender.send(turn.chat_id, reply)

            try:
                await with_retries(send)
            except ForbiddenError:
                log.info("%s user %s blocked the bot", turn.channel, turn.user_id)
                await self._blocking(self.service.set_unreachable, turn.channel, turn.user_id)
                return


def group_command(text: str) -> str | None:
    """The unit code of a group registration ("/nhom HN-DM01", "/nhom@bot HN-DM01"), "" when
    the code is missing, None for any other message (which the bot ignores in groups)."""
    command, _, code = text.strip().partition(" ")
    return code.strip() if command.split("@")[0].lower() == "/nhom" else None


async def _quietly(action: Awaitable[None]) -> None:
    """Chat actions and progress notes are courtesy: their failure must not stop the turn."""
    try:
        await action
    except Exception:
        log.debug("courtesy message failed", exc_info=True)
