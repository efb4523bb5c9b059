"""Fuzzing with Hypothesis (a fixed seed in CI, ``HYPOTHESIS_PROFILE=long`` explores more).

- Both webhook endpoints get arbitrary JSON, update-shaped JSON with the wrong types in every
  place, and arbitrary bytes: never a 5xx, never a traceback in the log, and a well-formed
  private message is always answered.
- The whole conversation service, on its real storage, gets arbitrary event sequences (any
  text, lone surrogates and absurd amounts included): every turn is answered, nothing but the
  question being asked changes, and the stored draft is the one the conversation holds.
- Audio truncated, mislabelled, zero-length or enormous is always heard or refused, never
  raised.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test
from sqlalchemy import Engine

from bot.channels.base import Turn
from bot.channels.telegram import TelegramChannel
from bot.channels.webhooks import create_app
from bot.channels.zalo import ZaloChannel, ZaloClient
from bot.services.conversation import ConversationService, draft_from_row
from bot.services.database import Database
from bot.services.voice import VoiceInbox
from bot.settings import VoiceSettings
from dialogs.events import Inbound, UnsupportedIn, parse_text
from dialogs.state import State
from nlp.audio import AudioError, decode
from storage.conversations import ConversationStore
from storage.db import create_db_engine
from tests.fakes.telegram import FakeTelegram
from tests.fakes.zalo import FakeZalo
from tests.test_properties import PROFILE, Conversation, _fields
from tests.utils.audio import encode, recording, samples
from tests.utils.chat import dispatcher_for, read

SECRET = "fuzz-webhook-secret-0123456789abcdef"
# Few examples each in CI: every one goes through HTTP, the dialog and SQLite.
FUZZ = settings(
    PROFILE,
    max_examples=max(60, PROFILE.max_examples // 2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# --- payloads ---------------------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "update_id",
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
        "chat",
        "from",
        "id",
        "text",
        "voice",
        "data",
        "type",
        "message_id",
        "date",
        "file_id",
        "event_name",
        "result",
        "ok",
        "display_name",
        "chat_type",
        "voice_url",
        "sticker",
        "photo",
        "new_chat_member",
    ]
) | st.text(max_size=6)
WEIRD_TEXT = st.text(
    st.characters(codec=None, exclude_categories=[]), max_size=40
)  # lone surrogates and control characters included
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | WEIRD_TEXT
)
ANY_JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=25,
)


def _or_junk(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The right shape most of the time, anything at all otherwise."""
    return st.one_of(strategy, strategy, ANY_JSON)


CHAT = st.fixed_dictionaries(
    {
        "id": _or_junk(st.integers(-(10**13), 10**13)),
        "type": _or_junk(st.sampled_from(["private", "group", "supergroup", "channel"])),
    }
)
TELEGRAM_MESSAGE = st.fixed_dictionaries(
    {
        "message_id": _or_junk(st.integers(1, 10**6)),
        "date": _or_junk(st.integers(0, 2**31)),
        "chat": _or_junk(CHAT),
        "from": _or_junk(
            st.fixed_dictionaries({"id": st.integers(1, 10**6), "is_bot": st.booleans()})
        ),
    },
    optional={
        "text": _or_junk(WEIRD_TEXT),
        "voice": ANY_JSON,
        "sticker": ANY_JSON,
        "photo": ANY_JSON,
        "new_chat_members": ANY_JSON,
    },
)
TELEGRAM_UPDATE = st.fixed_dictionaries(
    {"update_id": _or_junk(st.integers(-(2**40), 2**40))},
    optional={
        "message": _or_junk(TELEGRAM_MESSAGE),
        "edited_message": _or_junk(TELEGRAM_MESSAGE),
        "callback_query": _or_junk(
            st.fixed_dictionaries(
                {"id": _or_junk(WEIRD_TEXT), "from": ANY_JSON, "data": _or_junk(WEIRD_TEXT)},
                optional={"message": _or_junk(TELEGRAM_MESSAGE)},
            )
        ),
    },
)
ZALO_MESSAGE = st.fixed_dictionaries(
    {
        "message_id": _or_junk(WEIRD_TEXT),
        "date": _or_junk(st.integers(0, 2**42)),
        "from": _or_junk(
            st.fixed_dictionaries({"id": _or_junk(WEIRD_TEXT), "display_name": ANY_JSON})
        ),
        "chat": _or_junk(
            st.fixed_dictionaries(
                {
                    "id": _or_junk(WEIRD_TEXT),
                    "chat_type": _or_junk(st.sampled_from(["PRIVATE", "GROUP"])),
                }
            )
        ),
    },
    optional={"text": _or_junk(WEIRD_TEXT), "voice_url": ANY_JSON, "photo_url": ANY_JSON},
)
ZALO_EVENT = st.fixed_dictionaries(
    {
        "event_name": _or_junk(
            st.sampled_from(
                [
                    "message.text.received",
                    "message.voice.received",
                    "message.sticker.received",
                    "message.image.received",
                    "message.unsupported.received",
                ]
            )
        ),
        "message": _or_junk(ZALO_MESSAGE),
    }
)
ZALO_UPDATE = st.one_of(
    ZALO_EVENT, st.fixed_dictionaries({"ok": ANY_JSON, "result": _or_junk(ZALO_EVENT)})
)
WELL_FORMED_TEXT = st.one_of(
    st.sampled_from(["/start HN-DM01", "Nguyễn Thị Lan", "1", "dạ", "9300000000 tỷ", "hủy"]),
    WEIRD_TEXT.filter(lambda text: text.strip() != ""),
)


# --- the bot behind its webhooks --------------------------------------------------------


class Errors(logging.Handler):
    """Every log record at ERROR or with a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


class Webhooks:
    """The bot's web app with both channels in webhook mode, the fakes behind them, one event
    loop for the whole module (examples run one after another on it)."""

    def __init__(self, engine: Engine, folder: Path) -> None:
        self.runner = asyncio.Runner()
        self.telegram, self.zalo = FakeTelegram(), FakeZalo()
        self.telegram.flood_control = False
        for fake in (self.telegram, self.zalo):
            fake.server.start()
        self.voice = VoiceInbox(VoiceSettings(), folder)
        self.dispatcher = dispatcher_for(engine, self.voice)
        self.database = Database(engine)
        self.errors = Errors()
        self.update_ids = itertools.count(10**9)
        self.runner.run(self._start())

    async def _start(self) -> None:
        self.telegram_channel = TelegramChannel(
            self.telegram.token,
            self.dispatcher,
            base_url=self.telegram.base_url,
            polling=False,
            chat_per_second=None,
        )
        await self.telegram_channel.start()
        client = ZaloClient(self.zalo.token, self.zalo.base_url, voice_hosts=(self.zalo.base_url,))
        self.zalo_channel = ZaloChannel(client, self.dispatcher, per_second=1000)
        app = create_app(
            telegram=self.telegram_channel,
            telegram_secret=SECRET,
            zalo=self.zalo_channel,
            zalo_secret=SECRET,
        )
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot")

    def post(self, path: str, body: bytes) -> int:
        """POST `body` with the right secret; the status, once the update is fully handled."""
        header = (
            "X-Telegram-Bot-Api-Secret-Token" if "telegram" in path else "X-Bot-Api-Secret-Token"
        )

        async def post() -> int:
            answer = await self.http.post(
                path, content=body, headers={header: SECRET, "content-type": "application/json"}
            )
            await self.telegram_channel.drain()
            await self.zalo_channel.drain()
            return answer.status_code

        return self.runner.run(post())

    def close(self) -> None:
        async def stop() -> None:
            await self.http.aclose()
            await self.telegram_channel.stop()
            await self.zalo_channel.client.aclose()

        self.runner.run(stop())
        self.runner.close()
        self.dispatcher.close()
        self.voice.close()
        for fake in (self.telegram, self.zalo):
            fake.server.stop()


@pytest.fixture(scope="module")
def webhooks(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhooks]:
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, folder / "fuzz.db")
    engine = create_db_engine(f"sqlite:///{folder / 'fuzz.db'}")
    bot = Webhooks(engine, folder)
    logging.getLogger().addHandler(bot.errors)
    yield bot
    logging.getLogger().removeHandler(bot.errors)
    bot.close()
    engine.dispose()


def _encoded(payload: Any) -> bytes:
    return json.dumps(payload).encode()  # lone surrogates travel as \\ud800 escapes, as in JSON


def _no_errors(webhooks: Webhooks) -> None:
    found = [record.getMessage() for record in webhooks.errors.records]
    webhooks.errors.records.clear()
    assert found == [], f"logged as errors: {found}"


@FUZZ
@given(payload=st.one_of(TELEGRAM_UPDATE, ANY_JSON))
def test_the_telegram_webhook_never_fails_on_any_update(webhooks: Webhooks, payload: Any) -> None:
    assert webhooks.post("/telegram/webhook", _encoded(payload)) in (200, 400)
    _no_errors(webhooks)


@FUZZ
@given(payload=st.one_of(ZALO_UPDATE, ANY_JSON))
def test_the_zalo_webhook_never_fails_on_any_update(webhooks: Webhooks, payload: Any) -> None:
    assert webhooks.post("/zalo/webhook", _encoded(payload)) in (200, 400)
    _no_errors(webhooks)


@FUZZ
@given(body=st.binary(max_size=200), path=st.sampled_from(["/telegram/webhook", "/zalo/webhook"]))
def test_bytes_that_are_no_json_are_refused_plainly(
    webhooks: Webhooks, body: bytes, path: str
) -> None:
    assert webhooks.post(path, body) in (200, 400)
    _no_errors(webhooks)


@FUZZ
@given(user=st.integers(1, 5), text=WELL_FORMED_TEXT)
def test_a_well_formed_telegram_message_is_always_answered(
    webhooks: Webhooks, user: int, text: str
) -> None:
    chat = 880_000 + user
    before = len(webhooks.telegram.sent[str(chat)])
    update = _telegram_text(webhooks, chat, text)
    assert webhooks.post("/telegram/webhook", _encoded(update)) == 200
    assert len(webhooks.telegram.sent[str(chat)]) > before, f"no answer to {text!r}"
    _no_errors(webhooks)


@FUZZ
@given(user=st.integers(1, 5), text=WELL_FORMED_TEXT)
def test_a_well_formed_zalo_message_is_always_answered(
    webhooks: Webhooks, user: int, text: str
) -> None:
    chat = f"zf{user}"
    before = len(webhooks.zalo.sent[chat])
    update = {
        "ok": True,
        "result": {
            "event_name": "message.text.received",
            "message": {
                "message_id": f"m{next(webhooks.update_ids)}",
                "date": 0,
                "from": {"id": chat, "display_name": "Lan", "is_bot": False},
                "chat": {"id": chat, "chat_type": "PRIVATE"},
                "text": text,
            },
        },
    }
    assert webhooks.post("/zalo/webhook", _encoded(update)) == 200
    assert len(webhooks.zalo.sent[chat]) > before, f"no answer to {text!r}"
    _no_errors(webhooks)


# --- the whole service, on its storage --------------------------------------------------


class ServiceConversation(Conversation):
    """The engine's state machine, played through the conversation service and SQLite: the
    state is whatever storage holds after each turn, and the stored draft must match it."""

    template: Path | None = None
    chats = itertools.count(1)

    def __init__(self) -> None:
        super().__init__()
        assert self.template is not None
        self.folder = Path(tempfile.mkdtemp(prefix="sangkien-fuzz-"))
        shutil.copy(self.template, self.folder / "s.db")
        self.engine = create_db_engine(f"sqlite:///{self.folder / 's.db'}")
        self.service = ConversationService(Database(self.engine), clock=lambda: self.now)
        self.turn = Turn("test", f"f{next(self.chats)}", "u")

    def teardown(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _stored(self) -> State:
        with self.service.db.read() as connection:
            store = ConversationStore(connection)
            found = store.conversation(self.turn.channel, self.turn.chat_id, self.turn.user_id)
            state = State() if found is None else State.model_validate(found[2])
            if state.draft is not None and state.draft.id is not None:
                row = store.initiative(state.draft.id)
                assert row is not None, "the conversation's draft is not stored"
                assert _fields(draft_from_row(row)) == _fields(state.draft), "stored draft differs"
        return state

    def _send(self, event: Inbound) -> None:
        before = self._stored()
        replies = read(self.service.db, self.service.handle(self.turn, event, now=self.now))
        self.replies = len(replies)
        for reply in replies:
            reply.text.encode("utf-8")  # no lone surrogate ever goes out
        self.state = self._stored()
        self._check(before, self.state)

    @rule(text=WEIRD_TEXT | st.from_regex(r"\A[0-9]{1,25} ?(tỷ|triệu|nghìn|đồng)?\Z"))
    def type_anything(self, text: str) -> None:
        self._send(parse_text(text))

    @rule(kind=st.sampled_from(["sticker", "photo", "document", "video", "location"]))
    def send_something_else(self, kind: str) -> None:
        self._send(UnsupportedIn(kind))


def test_the_whole_service_always_answers_and_keeps_every_answer(sqlite_template: Path) -> None:
    ServiceConversation.template = sqlite_template
    run_state_machine_as_test(
        ServiceConversation,
        settings=settings(PROFILE, max_examples=max(30, PROFILE.max_examples // 5)),
    )


# --- audio -------------------------------------------------------------------------------

SPEECH = encode(samples(recording("vivos", "khách sạn")), "ogg")
MAX_SECONDS, MAX_BYTES = 300.0, 20_000_000
AUDIO = st.one_of(
    st.binary(max_size=2000),
    st.integers(0, len(SPEECH)).map(lambda cut: SPEECH[:cut]),
    st.tuples(st.integers(0, len(SPEECH)), st.binary(min_size=1, max_size=64)).map(
        lambda cut_junk: SPEECH[: cut_junk[0]] + cut_junk[1] + SPEECH[cut_junk[0] :]
    ),
    st.sampled_from([b"", b"OggS", b"ID3" + bytes(10), b"\0\0\0\x18ftypM4A ", SPEECH]),
)


@settings(PROFILE, max_examples=max(60, PROFILE.max_examples // 2))
@given(data=AUDIO)
def test_any_audio_is_decoded_or_refused_with_a_reason(data: bytes) -> None:
    try:
        audio = decode(data, max_seconds=MAX_SECONDS, max_bytes=MAX_BYTES)
    except AudioError as problem:
        assert problem.kind in {"empty", "corrupt", "silent", "too_long", "too_large"}
    else:
        assert audio.duration > 0


def test_an_enormous_note_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(AudioError) as refused:
        decode(b"OggS" + bytes(MAX_BYTES), max_seconds=MAX_SECONDS, max_bytes=MAX_BYTES)
    assert refused.value.kind == "too_large"


@FUZZ
@given(data=AUDIO, mime=st.sampled_from(["audio/ogg", "audio/aac", "video/mp4", "text/plain"]))
def test_any_voice_note_is_answered_and_leaves_the_draft_alone(
    webhooks: Webhooks, data: bytes, mime: str
) -> None:
    """A worker at the problem question sends a voice note: whatever it holds, they get an
    answer, and nothing is stored until they confirm what was heard."""
    chat = 881_000
    if not webhooks.telegram.sent[str(chat)]:
        for text in ("/start HN-DM01", "Nguyễn Thị Lan", "1"):
            webhooks.post("/telegram/webhook", _encoded(_telegram_text(webhooks, chat, text)))
    draft = _stored_draft(webhooks, chat)
    file_id = f"fuzz{next(webhooks.update_ids)}"
    webhooks.telegram.files[file_id] = data
    before = len(webhooks.telegram.sent[str(chat)])
    voice = {"file_id": file_id, "file_unique_id": file_id, "duration": 3, "mime_type": mime}
    update = _telegram_text(webhooks, chat, "")
    del update["message"]["text"]
    update["message"]["voice"] = voice
    assert webhooks.post("/telegram/webhook", _encoded(update)) == 200
    assert len(webhooks.telegram.sent[str(chat)]) > before, "a voice note went unanswered"
    assert _stored_draft(webhooks, chat) == draft
    webhooks.post("/telegram/webhook", _encoded(_telegram_text(webhooks, chat, "nói lại")))
    _no_errors(webhooks)


def _telegram_text(webhooks: Webhooks, chat: int, text: str) -> dict[str, Any]:
    return {
        "update_id": next(webhooks.update_ids),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Lan"},
            "text": text,
        },
    }


def _stored_draft(webhooks: Webhooks, chat: int) -> dict[str, object]:
    with webhooks.database.read() as connection:
        found = ConversationStore(connection).conversation("telegram", str(chat), str(chat))
    assert found is not None
    return _fields(State.model_validate(found[2]).draft)
