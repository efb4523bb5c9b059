"""A fake chat user who sends text, voice and button presses and reads the replies."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from bot.channels.base import Incoming, Sender, Turn
from bot.clock import Clock, system_clock
from bot.services.conversation import CLIP_CHANNELS, ConversationService
from bot.services.database import Database
from bot.services.dispatch import Dispatcher
from bot.services.groups import GroupService
from bot.services.outbox import Delivery, record_sent
from bot.services.prompts import PromptPacks
from bot.services.spool import Spool
from bot.services.voice import VoiceInbox
from dialogs.events import ChoiceIn, Inbound, Reply, UnsupportedIn, VoiceIn, parse_text
from storage.models import UnitLevel


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def dispatcher_for(
    engine: Engine,
    voice: VoiceInbox | None = None,
    clock: Clock = system_clock,
    levels: tuple[UnitLevel, ...] = (UnitLevel.GRASSROOTS,),
    packs: PromptPacks | None = None,
    clip_channels: frozenset[str] = CLIP_CHANNELS,
    web_url: str = "",
    spool: Spool | None = None,
) -> Dispatcher:
    """The messengers' async core over `engine`, assembled as the runtime does (`levels`:
    the review levels; `packs`: the recorded questions; `web_url`: the officers' pages)."""
    db = Database(engine)
    service = ConversationService(
        db,
        clock=clock,
        review_levels=levels,
        packs=packs,
        clip_channels=clip_channels,
        web_url=web_url,
    )
    return Dispatcher(service, GroupService(db, clock), voice, clock=clock, spool=spool)


def read(db: Database, deliveries: Sequence[Delivery]) -> list[Reply]:
    """A turn's replies as the person reads them, recorded as delivered (as the deliverer
    does once the messenger has them)."""
    now = dt.datetime.now(dt.UTC)
    record_sent(db, [(delivery.outbox_id, now) for delivery in deliveries])
    return [reply for delivery in deliveries for reply in delivery.replies]


class Recorder:
    """An inbox that keeps what a channel hands it, to look at the parsed update."""

    def __init__(self) -> None:
        self.got: asyncio.Queue[Incoming] = asyncio.Queue()
        self.kept: list[tuple[str, dict[str, Any]]] = []
        self.forgotten: list[str] = []

    async def dispatch(self, sender: Sender, incoming: Incoming) -> None:
        self.got.put_nowait(incoming)

    async def keep(self, channel: str, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
        self.kept.extend(updates)

    async def forget(self, channel: str, key: str) -> None:
        self.forgotten.append(key)

    async def next(self, seconds: float = 10) -> Incoming:
        return await asyncio.wait_for(self.got.get(), seconds)


class FakeUser:
    """Talks to the conversation service as a person in a private chat would."""

    def __init__(self, service: ConversationService, user_id: str, channel: str = "test") -> None:
        self.service = service
        self.turn = Turn(channel, user_id, user_id)
        self.replies: list[Reply] = []

    def _send(self, event: Inbound) -> list[Reply]:
        self.replies = read(self.service.db, self.service.handle(self.turn, event))
        return self.replies

    def send(self, text: str) -> list[Reply]:
        return self._send(parse_text(text))

    def voice(
        self, transcript: str | None, problem: str | None = None, doubtful: tuple[str, ...] = ()
    ) -> list[Reply]:
        return self._send(VoiceIn(transcript, problem, doubtful=doubtful))

    def unsupported(self, kind: str) -> list[Reply]:
        return self._send(UnsupportedIn(kind))

    def press(self, choice: int | str) -> list[Reply]:
        """Press a button of the last question: by number (from 1) or by part of its label."""
        options = self.question.options
        if isinstance(choice, int):
            return self._send(ChoiceIn(options[choice - 1].value))
        for option in options:
            if choice in option.label:
                return self._send(ChoiceIn(option.value))
        raise AssertionError(f"no button {choice!r} in {[o.label for o in options]}")

    def press_value(self, value: str) -> list[Reply]:
        return self._send(ChoiceIn(value))

    @property
    def question(self) -> Reply:
        """The last reply that offers choices, else the last reply."""
        for reply in reversed(self.replies):
            if reply.options:
                return reply
        return self.replies[-1]

    @property
    def text(self) -> str:
        """Everything the bot said in its last answer, as one string."""
        return "\n".join(reply.text for reply in self.replies)

    def labels(self) -> list[str]:
        return [option.label for option in self.question.options]
