"""Updates kept until handled, and what a dead process held taken over at once (the process
kill itself, end to end, is in ``test_run.py`` and the soak)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text, update

from bot.channels.base import Incoming, Orphan, Turn
from bot.services.dispatch import Dispatcher
from bot.services.spool import Spool
from dialogs.events import Reply, parse_text
from storage.models import OutboxMessage, ReceivedUpdate
from storage.outbox import OutboxStore, Queued
from storage.presence import INSTANCE, PRESENCE_KEY
from storage.received import ReceivedStore
from tests.utils.chat import FakeClock, FakeUser

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
DEAD = INSTANCE + 1 if INSTANCE < 2**31 - 1 else INSTANCE - 1  # a process that is gone


def _owned_by(db: Engine, table: type, owner: int) -> None:
    with db.begin() as connection:
        connection.execute(update(table).values(owner=owner))


def test_updates_kept_by_a_dead_process_are_taken_once_oldest_first(db: Engine) -> None:
    with db.begin() as connection:
        store = ReceivedStore(connection)
        store.keep("zalo", [("m2", {"n": 2})], NOW + dt.timedelta(seconds=1))
        store.keep("zalo", [("m1", {"n": 1})], NOW)
        store.keep("zalo", [("m1", {"n": "again"})], NOW + dt.timedelta(seconds=5))  # resent
        store.keep("telegram", [("u1", {"n": 3})], NOW)
    with db.begin() as connection:  # this process's own are not orphans
        assert ReceivedStore(connection).take_orphans("zalo") == []
    _owned_by(db, ReceivedUpdate, DEAD)
    with db.begin() as connection:
        taken = ReceivedStore(connection).take_orphans("zalo")
    assert [(o.key, o.payload) for o in taken] == [("m1", {"n": 1}), ("m2", {"n": 2})]
    with db.begin() as connection:  # now this process's: not handed out twice
        assert ReceivedStore(connection).take_orphans("zalo") == []
        ReceivedStore(connection).done("zalo", "m1")
        assert [o.key for o in ReceivedStore(connection).take_orphans("telegram")] == ["u1"]
    with db.connect() as connection:
        left = connection.execute(text("SELECT update_key FROM received_update")).scalars()
        assert sorted(left) == ["m2", "u1"]


def test_a_reply_leased_by_a_dead_process_is_due_at_once(db: Engine) -> None:
    """A turn's reply is leased for 15 s to the process that wrote it; killed before sending,
    its reply goes with the next flush, not 15 s later. A live holder keeps it."""
    message = Queued("zalo", "c1", {"replies": [{"text": "Chào"}]}, update_key="k1")
    with db.begin() as connection:
        OutboxStore(connection).add(message, now=NOW, lease_until=NOW + dt.timedelta(seconds=15))
    with db.begin() as connection:
        due = OutboxStore(connection).take_due("zalo", now=NOW, lease_until=NOW)
        assert due == []  # ours, and we are alive
    _owned_by(db, OutboxMessage, DEAD)
    if db.dialect.name == "postgresql":  # the other process is alive: its presence is held
        with db.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:k, :o)"), {"k": PRESENCE_KEY, "o": DEAD})
            with db.begin() as connection:
                assert OutboxStore(connection).take_due("zalo", now=NOW, lease_until=NOW) == []
            holder.execute(
                text("SELECT pg_advisory_unlock(:k, :o)"), {"k": PRESENCE_KEY, "o": DEAD}
            )
    with db.begin() as connection:
        due = OutboxStore(connection).take_due(
            "zalo", now=NOW, lease_until=NOW + dt.timedelta(seconds=20)
        )
    assert [row.chat_id for row in due] == ["c1"]


def test_a_pause_after_a_failed_send_is_kept_whoever_paused_it(db: Engine) -> None:
    message = Queued("zalo", "c1", {"replies": [{"text": "Chào"}]})
    with db.begin() as connection:
        store = OutboxStore(connection)
        row_id = store.add(message, now=NOW, lease_until=NOW + dt.timedelta(seconds=15))
        store.retry_later(row_id, 0, "down", at=NOW + dt.timedelta(seconds=30))
    with db.begin() as connection:
        assert OutboxStore(connection).take_due("zalo", now=NOW, lease_until=NOW) == []


class _Channel:
    """A channel that hands replayed updates straight to the dispatcher, as the real ones do."""

    name = "test"

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.sent: list[str] = []

    async def send(self, chat_id: str, reply: Reply) -> None:
        self.sent.append(reply.text)

    async def typing(self, chat_id: str) -> None:
        return None

    async def replay(self, orphans: Sequence[Orphan]) -> None:
        for orphan in orphans:
            turn = Turn("test", orphan.payload["chat"], orphan.payload["chat"])
            content = parse_text(orphan.payload["text"])
            incoming = Incoming(
                turn, content, orphan.payload["key"], received_at=orphan.received_at
            )
            await self.dispatcher.dispatch(self, incoming)


class Killed(BaseException):
    """SIGKILL, as seen from inside: nothing after it runs (no except, no answer)."""


async def test_a_note_heard_by_a_process_killed_before_its_turn_is_not_heard_again(
    db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    """Killed every few seconds (the soak), a note was downloaded and heard from the start by
    each next process, and a worker waited up to 49 s of the bot's serving time. What was
    heard is kept with the update now: the next process answers from it at once."""
    from bot.channels.base import VoiceNoteIn
    from bot.services.voice import VoiceInbox
    from bot.settings import VoiceSettings
    from tests.utils.audio import encode, recording, samples
    from tests.utils.chat import dispatcher_for

    voice = VoiceInbox(VoiceSettings(), tmp_path / "data")
    data = encode(samples(recording("vivos", "khách sạn")), "ogg")
    fetched = []

    async def fetch() -> bytes:
        fetched.append(1)
        return data

    class Voices(_Channel):
        async def replay(self, orphans: Sequence[Orphan]) -> None:
            for orphan in orphans:
                turn = Turn("test", orphan.payload["chat"], orphan.payload["chat"])
                incoming = Incoming(turn, VoiceNoteIn(fetch, "ogg"), orphan.key)
                await self.dispatcher.dispatch(self, incoming)

    first = dispatcher_for(db, voice, clock=clock)
    worker = FakeUser(first.conversations, "lan")
    for text_ in ("/start HN-DM01", "Nguyễn Thị Lan", "1"):
        worker.send(text_)
    await first.keep("test", [("k-note", {"chat": "lan"})])

    def killed(*args: object) -> Any:
        raise Killed  # heard; killed before the turn's commit

    first._handle = killed  # type: ignore[method-assign,assignment]
    with pytest.raises(Killed):
        incoming = Incoming(Turn("test", "lan", "lan"), VoiceNoteIn(fetch, "ogg"), "k-note")
        await first.dispatch(Voices(first), incoming)
    first.close()
    assert len(fetched) == 1
    _owned_by(db, ReceivedUpdate, DEAD)
    heard_again = []

    def hear_again(piece: object) -> Any:
        heard_again.append(piece)
        raise AssertionError("heard again")

    voice._recognise = hear_again  # type: ignore[method-assign]
    second = dispatcher_for(db, voice, clock=clock)
    channel = Voices(second)
    try:
        assert await second.adopt_orphans(channel) == 1
    finally:
        second.close()
        voice.close()
    assert len(fetched) == 1 and heard_again == []  # neither downloaded nor heard again
    assert any("Tôi nghe được: «Khách sạn.»" in text_ for text_ in channel.sent)


async def test_a_note_sent_again_after_its_turn_leaves_nothing_kept(
    db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    """Telegram gives an update again until the next poll confirms it: a note answered
    already was kept again on its way in and never forgotten (the soak's "kept, never
    handled"), so every later start took it up once more."""
    from bot.channels.base import VoiceNoteIn
    from bot.services.voice import VoiceInbox
    from bot.settings import VoiceSettings
    from tests.utils.audio import encode, recording, samples
    from tests.utils.chat import dispatcher_for

    voice = VoiceInbox(VoiceSettings(), tmp_path / "data")
    data = encode(samples(recording("vivos", "khách sạn")), "ogg")

    async def fetch() -> bytes:
        return data

    dispatcher = dispatcher_for(db, voice, clock=clock)
    worker = FakeUser(dispatcher.conversations, "lan")
    for text_ in ("/start HN-DM01", "Nguyễn Thị Lan", "1"):
        worker.send(text_)
    channel = _Channel(dispatcher)
    note = Incoming(Turn("test", "lan", "lan"), VoiceNoteIn(fetch, "ogg"), "k-note")
    try:
        for _ in range(2):  # taken, answered; given again and taken again
            await dispatcher.keep("test", [("k-note", {"chat": "lan"})])
            await dispatcher.dispatch(channel, note)
    finally:
        dispatcher.close()
        voice.close()
    assert sum("Tôi nghe được" in text_ for text_ in channel.sent) == 1
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM received_update")).scalar() == 0


@pytest.mark.parametrize("overtaken", [False, True])
async def test_an_orphan_is_answered_unless_the_chat_went_on_without_it(
    db: Engine, clock: FakeClock, overtaken: bool
) -> None:
    """The worker's name was taken by a process that died. Handled by the next process, it is
    answered as if it had just come; if the worker has written since (they sent it again, or
    went on), it is dropped: answering it now would answer a question they are not at."""
    from tests.utils.chat import dispatcher_for

    dispatcher = dispatcher_for(db, clock=clock)
    worker = FakeUser(dispatcher.conversations, "lan")
    worker.send("/start HN-DM01")
    payload = {"chat": "lan", "text": "Nguyễn Thị Lan", "key": "k-name"}
    await dispatcher.keep("test", [("k-name", payload)])
    _owned_by(db, ReceivedUpdate, DEAD)
    clock.advance(seconds=5)
    if overtaken:
        worker.send("Lan")  # sent again by hand before the restart
    clock.advance(seconds=5)
    channel = _Channel(dispatcher)
    try:
        assert await dispatcher.adopt_orphans(channel) == 1
    finally:
        dispatcher.close()
    if overtaken:
        assert channel.sent == []
    else:
        assert any("Rất vui được gặp Lan" in text for text in channel.sent)
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM received_update")).scalar() == 0


async def test_an_update_a_killed_process_spooled_but_never_kept_is_answered_by_the_next(
    db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    """Zalo gives an update once: one taken by a process killed before the database had it
    (or while PostgreSQL restarted) was lost. It is in that process's spool file now, which
    the next process takes up and answers."""
    from tests.utils.chat import dispatcher_for

    folder = tmp_path / "spool"
    worker_turns = dispatcher_for(db, clock=clock)
    FakeUser(worker_turns.conversations, "lan").send("/start HN-DM01")
    worker_turns.close()
    # The killed process: it spooled the worker's name; its keep never reached the database.
    dead = Spool(folder, DEAD)
    taken = clock()
    dead.append(
        "test", [("k-name", {"chat": "lan", "text": "Nguyễn Thị Lan", "key": "k-name"})], taken
    )
    os.close(dead._fd)  # killed: its lock goes with it, its file stays
    alive = Spool(folder, INSTANCE)
    alive.append(
        "test", [("k-other", {"chat": "an", "text": "xin chào", "key": "k-other"})], clock()
    )
    clock.advance(seconds=5)
    dispatcher = dispatcher_for(db, clock=clock, spool=Spool(folder, INSTANCE))
    channel = _Channel(dispatcher)
    try:
        assert await dispatcher.take_up_spools() == 1  # the living process's file is its own
        with db.connect() as connection:  # as the dead process's, taken when it was taken
            owner, received = connection.execute(
                text("SELECT owner, received_at FROM received_update WHERE update_key = 'k-name'")
            ).one()
        assert owner == DEAD and str(received)[:19] == taken.strftime("%Y-%m-%d %H:%M:%S")
        assert await dispatcher.adopt_orphans(channel) == 1
        assert await dispatcher.take_up_spools() == 0
    finally:
        dispatcher.close()
        alive.close()
    assert any("Rất vui được gặp Lan" in text for text in channel.sent)
    assert sorted(p.name for p in folder.iterdir()) == []  # both files gone


async def test_the_spool_is_emptied_once_the_database_has_every_update(
    db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    from tests.utils.chat import dispatcher_for

    spool = Spool(tmp_path / "spool", INSTANCE)
    dispatcher = dispatcher_for(db, clock=clock, spool=spool)
    try:
        await dispatcher.keep("test", [("u1", {"n": 1}), ("u2", {"n": 2})])
        assert spool.path.stat().st_size == 0  # kept: nothing left to take up
        with db.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM received_update")).scalar() == 2
    finally:
        dispatcher.close()
    assert not spool.path.exists()  # a clean stop with everything kept removes it


async def test_two_take_ups_at_once_keep_a_dead_file_once_and_neither_fails(
    db: Engine, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process takes up spools at start and in each flush loop, and so does every other
    process: one of them removed a dead file another had just listed, which then failed to
    read it (a traceback at start, seen in CI). Now each file is claimed under its lock."""
    from bot.services import spool as spooling
    from tests.utils.chat import dispatcher_for

    folder = tmp_path / "spool"
    dead = Spool(folder, DEAD)
    dead.append("test", [("k1", {"chat": "lan", "text": "xin chào", "key": "k1"})], clock())
    os.close(dead._fd)
    first = dispatcher_for(db, clock=clock, spool=Spool(folder, INSTANCE))
    second = dispatcher_for(db, clock=clock, spool=Spool(folder, INSTANCE))
    listing = spooling.files
    taken_by_second: list[int] = []
    raced = False

    def listed_then_raced(where: Path) -> list[Path]:
        nonlocal raced
        found = listing(where)
        if not raced:  # the other taker runs between this listing and the read
            raced = True
            taken_by_second.append(second._take_up_spools(where))
        return found

    monkeypatch.setattr(spooling, "files", listed_then_raced)
    try:
        assert first._take_up_spools(folder) == 0  # the other had it
        assert taken_by_second == [1]
    finally:
        first.close()
        second.close()
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM received_update")).scalar() == 1
    assert list(folder.glob(f"{DEAD}-*")) == []


def test_a_cut_off_line_of_a_killed_writer_is_skipped(tmp_path: Path) -> None:
    from bot.services import spool as spooling

    writer = Spool(tmp_path, DEAD)
    writer.append("zalo", [("m1", {"text": "một"})], NOW)
    os.write(writer._fd, b'["zalo","m2",{"te')  # the kill cut this one off
    os.close(writer._fd)
    [path] = spooling.files(tmp_path)
    with spooling.claimed(path) as found:
        assert found is not None
    assert found.owner == DEAD and found.updates == [("zalo", "m1", {"text": "một"}, NOW)]
