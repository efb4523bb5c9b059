"""The reply outbox: every reply is written with the turn that decided it, sent, and marked
sent; a crash between the commit and the send loses nothing and doubles nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.channels.base import (
    BadRequestError,
    ForbiddenError,
    Incoming,
    Throttle,
    TransientError,
    Turn,
    with_retries,
)
from bot.services import outbox
from bot.services.database import Database
from bot.services.dispatch import Dispatcher
from bot.services.outbox import payload_of
from dialogs import messages as msg
from dialogs.events import ChoiceIn, Reply, parse_text
from storage import units as tree
from storage.demo import seed_demo
from storage.models import Identity, Initiative, OutboxKind, OutboxMessage, OutboxStatus
from storage.outbox import OutboxStore, Queued
from tests.utils.chat import FakeClock, dispatcher_for
from tests.utils.programme import outbox_rows

TURN = Turn("test", "lan", "lan")


class CrashError(Exception):
    """The process dies: nothing after this point happens."""


class Messenger:
    """A sender that records what the worker saw, and can crash or fail on demand."""

    name = "test"

    def __init__(self, throttle: Throttle | None = None) -> None:
        self.seen: list[str] = []
        self.failures: list[Exception | None] = []  # for the next sends; None goes through
        self.throttle = throttle or Throttle(per_second=10_000)

    async def send(self, chat_id: str, reply: Reply) -> None:
        await self.throttle.wait(chat_id)  # as the channels pace, right before the request
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure
        self.seen.append(reply.text)

    async def typing(self, chat_id: str) -> None:
        return None


@pytest.fixture
def dispatcher(db: Engine, clock: FakeClock) -> Iterator[Dispatcher]:
    dispatcher = dispatcher_for(db, None, clock)
    yield dispatcher
    dispatcher.close()


@pytest.fixture
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sends retried without the pauses between tries."""

    async def no_wait(seconds: float) -> None:
        return None

    monkeypatch.setattr(outbox, "with_retries", functools.partial(with_retries, sleep=no_wait))


def _texts(rows: list[OutboxMessage]) -> list[str]:
    return [reply["text"] for row in rows for reply in row.payload["replies"]]


async def _say(dispatcher: Dispatcher, messenger: Messenger, text: str, key: str) -> None:
    await dispatcher.dispatch(messenger, Incoming(TURN, parse_text(text), key))


async def _onboard(dispatcher: Dispatcher, messenger: Messenger) -> None:
    await _say(dispatcher, messenger, "/start HN-DM01", "u1")
    await _say(dispatcher, messenger, "Nguyễn Thị Lan", "u2")
    await _say(dispatcher, messenger, "1", "u3")  # new idea: the first question


async def _problem_saved_never_shown(dispatcher: Dispatcher) -> Messenger:
    """Onboarded, then the problem answered («u4»): committed, and the process died before
    the reply went out."""
    messenger = Messenger()
    await _onboard(dispatcher, messenger)
    messenger.seen.clear()
    messenger.failures = [CrashError()]
    await _say(dispatcher, messenger, "Máy cắt hay kẹt vải", "u4")
    assert messenger.seen == []
    return messenger


async def test_every_reply_is_written_with_its_turn_and_marked_sent(
    dispatcher: Dispatcher, db: Engine
) -> None:
    messenger = Messenger()
    await _onboard(dispatcher, messenger)
    rows = outbox_rows(db)
    assert len(rows) == 3  # one row per turn, holding its replies in order
    assert _texts(rows) == messenger.seen
    assert {row.status for row in rows} == {OutboxStatus.SENT.value}
    assert all(row.update_key for row in rows) and all(row.sent_at for row in rows)


async def test_a_crash_before_the_send_is_answered_on_redelivery_and_not_applied_twice(
    dispatcher: Dispatcher, db: Engine, clock: FakeClock
) -> None:
    messenger = await _problem_saved_never_shown(dispatcher)
    # The messenger redelivers while the dead process's lease still runs: nothing yet.
    await _say(dispatcher, messenger, "Máy cắt hay kẹt vải", "u4")
    assert messenger.seen == []
    clock.advance(seconds=61)
    await _say(dispatcher, messenger, "Máy cắt hay kẹt vải", "u4")
    assert len(messenger.seen) == 1 and "đã thay đổi gì" in messenger.seen[0]
    # The worker's next answer lands on the question they were shown, not on a repeat.
    await _say(dispatcher, messenger, "Gắn thêm thanh dẫn vải", "u5")
    assert "được lợi gì nhất" in messenger.seen[-1]
    with Session(db) as session:
        idea = session.exec(select(Initiative)).one()
    assert (idea.problem, idea.solution) == ("Máy cắt hay kẹt vải", "Gắn thêm thanh dẫn vải")
    assert {row.status for row in outbox_rows(db)} == {OutboxStatus.SENT.value}


async def test_an_answer_typed_again_before_its_reply_arrived_is_not_the_next_answer(
    dispatcher: Dispatcher, db: Engine, clock: FakeClock
) -> None:
    messenger = await _problem_saved_never_shown(dispatcher)
    # They heard nothing, so they type it again (as a new message, spaced differently).
    # Not the answer to the next question: the question they never got comes now.
    await _say(dispatcher, messenger, "máy cắt  hay kẹt vải ", "u5")
    assert len(messenger.seen) == 1 and "đã thay đổi gì" in messenger.seen[0]
    clock.advance(seconds=61)
    assert await dispatcher.flush(messenger) == 0
    # Once shown the question, the same words are an answer to it like any other: the
    # conversation has them (and says they are the problem, not a change).
    await _say(dispatcher, messenger, "Máy cắt hay kẹt vải", "u6")
    assert messenger.seen[-1] == msg.SAME_AS_PROBLEM
    with Session(db) as session:
        idea = session.exec(select(Initiative)).one()
    assert (idea.problem, idea.solution) == ("Máy cắt hay kẹt vải", None)


async def test_a_retyped_choice_before_its_reply_arrived_picks_nothing(
    dispatcher: Dispatcher, db: Engine, clock: FakeClock
) -> None:
    messenger = Messenger()
    await _onboard(dispatcher, messenger)
    for key, answer in (("u4", "Máy cắt hay kẹt vải"), ("u5", "Gắn thêm thanh dẫn vải")):
        await _say(dispatcher, messenger, answer, key)
    messenger.failures = [CrashError()]
    await _say(dispatcher, messenger, "1", "u6")  # time saved; the next question never shown
    await _say(dispatcher, messenger, "1", "u7")  # not «1» to a question they have not seen
    clock.advance(seconds=61)
    await dispatcher.flush(messenger)
    assert "bao nhiêu thời gian" in messenger.seen[-1]
    await _say(dispatcher, messenger, "30 phút mỗi ca", "u8")
    assert "thuộc mảng nào" in messenger.seen[-1]


async def test_an_answer_retyped_while_the_bot_was_down_is_not_the_next_answer(
    db: Engine, clock: FakeClock
) -> None:
    first = dispatcher_for(db, None, clock)
    messenger = await _problem_saved_never_shown(first)
    first.close()
    # Nothing came back, so a minute later they type it again; the messenger holds it while
    # the bot is down, and the restarted bot sends what the dead one left before reading it.
    written = clock.now + dt.timedelta(seconds=60)
    clock.advance(seconds=300)
    second = dispatcher_for(db, None, clock)
    assert await second.flush(messenger) == 1
    assert "đã thay đổi gì" in messenger.seen[-1]
    retyped = Incoming(TURN, parse_text("Máy cắt hay kẹt vải"), "u5", written_by=written)
    await second.dispatch(messenger, retyped)
    assert len(messenger.seen) == 1  # written before they saw the question: no answer to it
    # Written once they had seen it, the same words answer it (within the same second too:
    # Telegram counts whole seconds, so that is all it can say): the conversation has them.
    same_second = clock.now.replace(microsecond=0) + dt.timedelta(seconds=1)
    clock.advance(seconds=0.4)
    again = Incoming(TURN, parse_text("Máy cắt hay kẹt vải"), "u6", written_by=same_second)
    await second.dispatch(messenger, again)
    second.close()
    assert messenger.seen[-1] == msg.SAME_AS_PROBLEM


async def test_a_message_time_no_messenger_could_give_is_not_believed(
    dispatcher: Dispatcher, db: Engine
) -> None:
    messenger = Messenger()
    await _onboard(dispatcher, messenger)
    await _say(dispatcher, messenger, "Máy cắt hay kẹt vải", "u4")
    assert "đã thay đổi gì" in messenger.seen[-1]
    long_ago = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # "date": 0, a broken clock
    same = Incoming(TURN, parse_text("Máy cắt hay kẹt vải"), "u5", written_by=long_ago)
    await dispatcher.dispatch(messenger, same)
    assert messenger.seen[-1] == msg.SAME_AS_PROBLEM  # an answer the conversation has


async def test_a_button_pressed_again_before_its_answer_arrived_is_answered_once(
    dispatcher: Dispatcher, clock: FakeClock
) -> None:
    messenger = Messenger()
    await _say(dispatcher, messenger, "/start HN-DM01", "u1")
    await _say(dispatcher, messenger, "Nguyễn Thị Lan", "u2")  # the menu, with buttons
    messenger.seen.clear()
    messenger.failures = [CrashError()]
    await dispatcher.dispatch(messenger, Incoming(TURN, ChoiceIn("new"), "u3"))
    await dispatcher.dispatch(messenger, Incoming(TURN, ChoiceIn("new"), "u4"))  # nothing yet
    clock.advance(seconds=61)
    await dispatcher.flush(messenger)
    assert len(messenger.seen) == 1 and "khó khăn hay lãng phí" in messenger.seen[0]
    assert msg.STALE_BUTTON not in messenger.seen
    # Pressed on the old keyboard once the question has arrived: that button is stale.
    await dispatcher.dispatch(messenger, Incoming(TURN, ChoiceIn("new"), "u5"))
    assert msg.STALE_BUTTON in messenger.seen[-1]


async def test_a_restarted_process_delivers_what_the_dead_one_left_in_order(
    db: Engine, clock: FakeClock
) -> None:
    messenger = Messenger()
    first = dispatcher_for(db, None, clock)
    messenger.failures = [CrashError(), CrashError()]  # two turns saved, neither sent
    await first.dispatch(messenger, Incoming(TURN, parse_text("/start HN-DM01"), "u1"))
    await first.dispatch(messenger, Incoming(TURN, parse_text("Nguyễn Thị Lan"), "u2"))
    first.close()
    left = _texts(outbox_rows(db))
    assert len(left) == 2 and messenger.seen == []

    restarted = dispatcher_for(db, None, clock)
    try:
        assert await restarted.flush(messenger) == 0  # the lease still runs
        clock.advance(seconds=61)
        assert await restarted.flush(messenger) == 2
        assert await restarted.flush(messenger) == 0
    finally:
        restarted.close()
    assert messenger.seen == left
    assert {row.status for row in outbox_rows(db)} == {OutboxStatus.SENT.value}


async def test_a_chat_whose_send_is_slow_does_not_hold_up_the_others_replies(
    dispatcher: Dispatcher, db: Engine, clock: FakeClock
) -> None:
    """A restarted process takes up the replies a killed one left, many chats at once. Sent
    one chat after another, each waited for the one before: its 1 message a second to a
    chat, a slow request. In the soak a turn was done at once and its reply sent 22 s of
    serving later. Each chat's replies still go in order."""
    slow, others_sent = asyncio.Event(), asyncio.Event()

    class SlowForLan(Messenger):
        async def send(self, chat_id: str, reply: Reply) -> None:
            if chat_id == "lan":
                await slow.wait()
            await super().send(chat_id, reply)
            if sorted(self.seen) == ["Bình 1", "Hoa 1"]:
                others_sent.set()

    messenger = SlowForLan()
    replies = [("lan", "Lan 1"), ("lan", "Lan 2"), ("hoa", "Hoa 1"), ("binh", "Bình 1")]
    _queue(
        db,
        *(
            Queued("test", chat, payload_of([Reply(text)]), OutboxKind.REPLY, None, None)
            for chat, text in replies
        ),
        clock=clock,
    )
    flushing = asyncio.create_task(dispatcher.flush(messenger))
    try:
        async with asyncio.timeout(5):  # while Lan's first still goes
            await others_sent.wait()
    finally:
        slow.set()
        assert await flushing == 4
    assert messenger.seen[2:] == ["Lan 1", "Lan 2"]


async def test_a_messenger_that_stays_down_leaves_replies_for_later(
    dispatcher: Dispatcher, db: Engine, clock: FakeClock
) -> None:
    messenger = Messenger()
    messenger.failures = [TransientError("502")] * 5  # the reply never goes
    await _say(dispatcher, messenger, "/start HN-DM01", "u1")
    assert messenger.seen == []
    [row] = outbox_rows(db)
    assert row.status == OutboxStatus.PENDING.value and row.parts_sent == 0
    assert row.attempts == 1 and "502" in (row.last_error or "")
    assert await dispatcher.flush(messenger) == 0  # not before the pause
    clock.advance(seconds=31)
    assert await dispatcher.flush(messenger) == 1
    assert messenger.seen == _texts([row])  # once
    assert outbox_rows(db)[0].status == OutboxStatus.SENT.value


async def test_what_a_chat_was_not_shown_goes_before_the_answer_to_its_next_message(
    dispatcher: Dispatcher, db: Engine
) -> None:
    """The messenger failed a reply and it waits for a retry; the worker writes again: the
    old reply comes first, then the new one, each once."""
    messenger = Messenger()
    messenger.failures = [TransientError("502")] * 5
    await _say(dispatcher, messenger, "/start HN-DM01", "u1")
    assert messenger.seen == []
    await _say(dispatcher, messenger, "Nguyễn Thị Lan", "u2")
    first, second = outbox_rows(db)
    assert messenger.seen == _texts([first]) + _texts([second])
    assert {row.status for row in outbox_rows(db)} == {OutboxStatus.SENT.value}


async def test_a_refused_reply_is_recorded_and_the_next_still_sent(
    dispatcher: Dispatcher, db: Engine
) -> None:
    messenger = Messenger()
    messenger.failures = [BadRequestError("message is too long")]
    await _say(dispatcher, messenger, "/start HN-DM01", "u1")
    [row] = outbox_rows(db)
    assert row.status == OutboxStatus.SENT.value and "too long" in (row.last_error or "")
    assert messenger.seen == _texts([row])[1:]


async def test_a_user_who_blocked_the_bot_is_not_written_to_again(
    dispatcher: Dispatcher, db: Engine
) -> None:
    messenger = Messenger()
    messenger.failures = [ForbiddenError("bot was blocked by the user")]
    await _say(dispatcher, messenger, "/start HN-DM01", "u1")
    assert messenger.seen == []
    assert {row.status for row in outbox_rows(db)} == {OutboxStatus.FAILED.value}
    with Session(db) as session:
        assert session.exec(select(Identity)).one().unreachable
    assert await dispatcher.flush(messenger) == 0


async def test_a_turn_that_cannot_be_saved_tells_the_worker_to_send_again(
    tmp_path: Path,
) -> None:
    from storage.db import create_db_engine

    broken = create_db_engine(f"sqlite:///{tmp_path}/no-schema.db")  # every write fails
    dispatcher = dispatcher_for(broken)
    messenger = Messenger()
    try:
        await _say(dispatcher, messenger, "Máy cắt hay kẹt vải", "u1")
    finally:
        dispatcher.close()
        broken.dispose()
    assert messenger.seen == [msg.TRY_AGAIN]


def _queue(db: Engine, *messages: Queued, clock: FakeClock) -> None:
    with db.begin() as connection:
        OutboxStore(connection).add_many(list(messages), now=clock())


def _broadcast(chat_id: str, text: str, **payload: object) -> Queued:
    body = payload_of([Reply(text)]) | payload
    return Queued("test", chat_id, body, OutboxKind.BROADCAST, None, f"camp:{chat_id}")


async def test_a_reply_to_a_worker_goes_before_a_broadcast_already_waiting(
    dispatcher: Dispatcher, db: Engine, clock: FakeClock
) -> None:
    _queue(db, *(_broadcast(f"-{n}", f"bảng {n}") for n in range(50)), clock=clock)
    with db.begin() as connection:  # a worker's answer, left by a process that died
        OutboxStore(connection).add(
            Queued("test", "lan", payload_of([Reply("💡 Anh/chị đã thay đổi gì?")])),
            now=clock(),
            lease_until=None,
        )
    taken = dispatcher.deliverer.take_due("test", limit=5)
    assert [row.chat_id for row in taken] == ["lan", "-0", "-1", "-2", "-3"]


async def test_a_post_in_doubt_after_a_crash_is_not_posted_twice(
    dispatcher: Dispatcher, db: Engine, clock: FakeClock
) -> None:
    dispatcher.groups.add_officer("test", "ha", "Phạm Thu Hà", "HN-DM01")
    fallback = {"unit_id": _unit_id(db, "HN-DM01"), "campaign": "camp"}
    posts = [_broadcast("-1", "🏆 bảng 1"), _broadcast("-2", "🏆 bảng 2", fallback=fallback)]
    _queue(db, *posts, clock=clock)

    class DiesPostingTheSecond(Messenger):
        async def send(self, chat_id: str, reply: Reply) -> None:
            if chat_id == "-2":  # posted; the process dies before it knows: in doubt
                await self.throttle.wait(chat_id)  # the request begins
                raise CrashError
            await super().send(chat_id, reply)

    with pytest.raises(CrashError):
        await dispatcher.flush(DiesPostingTheSecond())
    clock.advance(seconds=61)  # the dead sender's lease runs out
    messenger = Messenger()
    restarted = dispatcher_for(db, None, clock)
    try:
        assert await restarted.flush(messenger) == 0  # not posted again …
        assert await restarted.flush(messenger) == 1  # … but copied to the unit's officer
    finally:
        restarted.close()
    rows = {row.chat_id: row for row in outbox_rows(db)}
    assert messenger.seen == ["🏆 bảng 2"]  # to Hà, the group's post not again
    assert rows["ha"].status == OutboxStatus.SENT.value
    assert rows["-1"].status == OutboxStatus.SENT.value
    assert rows["-2"].status == OutboxStatus.FAILED.value
    assert rows["-2"].last_error == outbox.IN_DOUBT


async def test_a_process_killed_while_a_post_waits_its_turn_has_not_begun_it(
    dispatcher: Dispatcher, db: Engine, clock: FakeClock
) -> None:
    async def killed(seconds: float) -> None:
        raise CrashError

    _queue(db, _broadcast("-1", "🏆 bảng 1"), _broadcast("-2", "🏆 bảng 2"), clock=clock)
    waiting = Messenger(Throttle(per_second=1, sleep=killed))  # the second post must wait
    with pytest.raises(CrashError):
        await dispatcher.flush(waiting)
    assert len(waiting.seen) == 1  # the groups' posts go side by side: either first
    clock.advance(seconds=61)
    messenger = Messenger()
    assert await dispatcher.flush(messenger) == 1  # not in doubt: it goes
    assert sorted(waiting.seen + messenger.seen) == ["🏆 bảng 1", "🏆 bảng 2"]


async def test_a_post_the_messenger_refused_is_not_in_doubt_and_goes_again(
    dispatcher: Dispatcher, db: Engine, clock: FakeClock, instant_retries: None
) -> None:
    _queue(db, _broadcast("-1", "🏆 bảng 1"), clock=clock)
    messenger = Messenger()
    messenger.failures = [TransientError("502")] * 10  # every try of the first flush
    assert await dispatcher.flush(messenger) == 1
    assert messenger.seen == [] and not outbox_rows(db)[0].in_doubt
    messenger.failures = []
    clock.advance(seconds=61)
    assert await dispatcher.flush(messenger) == 1
    assert messenger.seen == ["🏆 bảng 1"]
    assert outbox_rows(db)[0].status == OutboxStatus.SENT.value


async def test_a_campaign_queued_twice_is_written_once(db: Engine, clock: FakeClock) -> None:
    _queue(db, _broadcast("-1", "bảng"), _broadcast("-2", "bảng"), clock=clock)
    _queue(db, _broadcast("-1", "bảng"), _broadcast("-3", "bảng"), clock=clock)
    assert sorted(row.chat_id for row in outbox_rows(db)) == ["-1", "-2", "-3"]


async def test_a_post_the_messenger_keeps_failing_is_given_up_recorded_and_sent_to_officers(
    dispatcher: Dispatcher, db: Engine, clock: FakeClock, instant_retries: None
) -> None:
    dispatcher.groups.add_officer("test", "ha", "Phạm Thu Hà", "HN-DM01")
    unit = _unit_id(db, "HN-DM01")
    _queue(
        db,
        _broadcast("-9", "🏆 bảng", fallback={"unit_id": unit, "campaign": "camp"}),
        clock=clock,
    )
    messenger = Messenger()
    messenger.failures = [TransientError("502")] * (5 * outbox.MAX_ATTEMPTS)
    delays = []
    for _ in range(outbox.MAX_ATTEMPTS):
        assert await dispatcher.flush(messenger) == 1
        [row] = [r for r in outbox_rows(db) if r.chat_id == "-9"]
        if row.lease_until is not None:
            delays.append(row.lease_until - clock())
        clock.advance(hours=2)
    assert row.status == OutboxStatus.FAILED.value and row.attempts == outbox.MAX_ATTEMPTS
    assert "gave up" in (row.last_error or "")
    # Later and later: 30 s, 1 min, 2 min, … at most an hour apart.
    assert delays[:3] == [dt.timedelta(seconds=s) for s in (30, 60, 120)]
    assert max(delays) == dt.timedelta(hours=1)
    assert await dispatcher.flush(messenger) == 1  # the officer's copy
    assert messenger.seen == ["🏆 bảng"]


def _unit_id(db: Engine, code: str) -> int:
    with db.connect() as connection:
        return tree.unit_rows(connection)[code].id


async def _welcome_left_by_a_killed_process(
    db: Engine, clock: FakeClock
) -> tuple[Messenger, Dispatcher]:
    """«/start» answered and saved, and the process killed before the welcome was recorded
    as sent; the restarted process's dispatcher (the caller closes it)."""
    messenger = Messenger()
    first = dispatcher_for(db, None, clock)
    messenger.failures = [CrashError()]
    await first.dispatch(messenger, Incoming(TURN, parse_text("/start HN-DM01"), "u1"))
    first.close()
    return messenger, dispatcher_for(db, None, clock)


async def test_a_dead_process_s_replies_go_before_a_worker_would_type_again(
    db: Engine, clock: FakeClock
) -> None:
    """A worker who hears nothing for a minute types the answer again, and it would land on
    the next question: what a dead process left goes well within that."""
    messenger, restarted = await _welcome_left_by_a_killed_process(db, clock)
    try:
        clock.advance(seconds=30)  # the worker is still waiting, not typing again yet
        assert await restarted.flush(messenger) == 1
    finally:
        restarted.close()


async def test_what_a_killed_process_may_have_sent_never_comes_after_a_newer_reply(
    db: Engine, clock: FakeClock
) -> None:
    """Killed between the send and its record: the worker may well have the welcome, and
    answers it. Their answer's reply goes after it, so an old question can never come later,
    out of turn (its buttons would then be pressed for the new one)."""
    messenger, restarted = await _welcome_left_by_a_killed_process(db, clock)
    try:
        clock.advance(seconds=5)  # the dead process's lease still runs
        await restarted.dispatch(messenger, Incoming(TURN, parse_text("Nguyễn Thị Lan"), "u2"))
        assert len(messenger.seen) == 2
        assert "tên là gì" in messenger.seen[0] and "muốn làm gì" in messenger.seen[1]
        clock.advance(minutes=5)
        assert await restarted.flush(messenger) == 0  # nothing left to arrive out of turn
    finally:
        restarted.close()
    assert {row.status for row in outbox_rows(db)} == {OutboxStatus.SENT.value}


async def test_a_row_a_turn_took_over_is_not_sent_again_by_the_flush_that_leased_it(
    db: Engine, clock: FakeClock
) -> None:
    """The flush leases what a dead process left, then waits for the chat while a turn of it
    runs; the turn sends that row first. The flush must not send it again after the newer
    reply (an old question after the new one)."""
    import asyncio

    messenger, restarted = await _welcome_left_by_a_killed_process(db, clock)
    try:
        clock.advance(seconds=20)  # the dead process's lease is over: the flush takes it
        [left] = outbox_rows(db)
        async with restarted._chat_lock(TURN.channel, TURN.chat_id):  # a turn of the chat
            flushing = asyncio.create_task(restarted.flush(messenger))
            for _ in range(500):
                if outbox_rows(db)[0].lease_until != left.lease_until:
                    break  # the flush holds it now, and waits for the chat
                await asyncio.sleep(0.01)
            name = parse_text("Nguyễn Thị Lan")
            deliveries = restarted.conversations.handle(TURN, name, "u2", now=clock())
            await restarted.deliverer.deliver(messenger, deliveries)
        await flushing
    finally:
        restarted.close()
    assert len(messenger.seen) == 2
    assert "tên là gì" in messenger.seen[0] and "muốn làm gì" in messenger.seen[1]


async def test_a_send_slower_than_its_lease_is_not_sent_again_by_the_same_process(
    db: Engine, clock: FakeClock
) -> None:
    import asyncio

    sending, release = asyncio.Event(), asyncio.Event()

    class Slow(Messenger):
        async def send(self, chat_id: str, reply: Reply) -> None:
            sending.set()
            await release.wait()  # Telegram takes its time; the lease runs out meanwhile
            await super().send(chat_id, reply)

    messenger = Slow()
    dispatcher = dispatcher_for(db, None, clock)
    try:
        turn = asyncio.create_task(
            dispatcher.dispatch(messenger, Incoming(TURN, parse_text("/start HN-DM01"), "u1"))
        )
        await asyncio.wait_for(sending.wait(), 10)
        clock.advance(seconds=120)
        assert await asyncio.wait_for(dispatcher.flush(messenger), 5) == 0  # still ours
        release.set()
        await turn
        assert len(messenger.seen) == len(set(messenger.seen)) == 1
    finally:
        dispatcher.close()


async def test_replies_recorded_while_the_database_restarts_are_not_sent_again(
    db: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    real = outbox.Deliverer._settle
    tries: list[int] = []

    def restarting(self: outbox.Deliverer, *args: object) -> None:
        tries.append(1)
        if len(tries) == 1:  # the replies are out; the database is down for a moment
            raise OperationalError("UPDATE outbox", {}, Exception("server closed the connection"))
        real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox.Deliverer, "_settle", restarting)
    messenger = Messenger()
    dispatcher = dispatcher_for(db, None, clock)
    try:
        await dispatcher.dispatch(messenger, Incoming(TURN, parse_text("/start HN-DM01"), "u1"))
        clock.advance(seconds=120)  # any lease long over
        assert await dispatcher.flush(messenger) == 0
    finally:
        dispatcher.close()
    assert len(tries) == 2 and len(messenger.seen) == 1
    assert {row.status for row in outbox_rows(db)} == {OutboxStatus.SENT.value}


def test_a_send_is_recorded_on_the_next_try_after_the_database_restarted(
    postgres_programs: Path,
) -> None:
    """A reply's record is one statement on a bare pooled connection: when the server has
    restarted, the try that meets a cut connection fails (and is retried); the next one must
    not meet another of the pool's cut connections."""
    from sqlalchemy.exc import OperationalError

    from storage.db import create_db_engine, upgrade
    from tests.utils.postgres import Cluster

    cluster = Cluster(postgres_programs, durable=True)  # what was committed outlives the restart
    engine = create_db_engine(cluster.start())
    try:
        upgrade(engine)
        db = Database(engine)
        now = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
        with db.write() as connection:
            store = OutboxStore(connection)
            rows = [
                store.add(Queued("test", str(n), {"replies": []}), now=now, lease_until=None)
                for n in range(2)
            ]
        with db.autocommit(), db.autocommit(), db.autocommit():
            pass  # three connections in the pool, as after a busy minute
        outbox.record_sent(db, [(rows[0], now)])
        cluster.stop_server()
        cluster.start_server()
        with pytest.raises(OperationalError):
            outbox.record_sent(db, [(rows[1], now)])  # its connection was cut
        outbox.record_sent(db, [(rows[1], now)])
        with db.read() as connection:
            statuses = connection.execute(select(OutboxMessage.status)).scalars().all()
        assert statuses == [OutboxStatus.SENT.value] * 2
    finally:
        engine.dispose()
        cluster.stop()


def test_old_sent_and_failed_rows_are_forgotten_in_batches_and_pending_ones_kept(
    db: Engine,
) -> None:
    now = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    old, recent = now - dt.timedelta(days=20), now - dt.timedelta(days=1)
    ranking = Queued("zalo", "grp", {"replies": []}, OutboxKind.BROADCAST, None, "ranking:W49:grp")
    with db.begin() as connection:
        store = OutboxStore(connection)

        def add(chat: str, at: dt.datetime, status: OutboxStatus) -> int:
            row_id = store.add(Queued("telegram", chat, {"replies": []}), now=at, lease_until=None)
            if status is OutboxStatus.SENT:
                store.mark_sent([row_id], now=at)
            elif status is OutboxStatus.FAILED:
                store.mark_failed([row_id], "blocked")
            return row_id

        for chat in ("a", "b"):
            add(chat, old, OutboxStatus.SENT)
        waiting = add("c", old, OutboxStatus.PENDING)  # a messenger down for long: still owed
        for chat in ("d", "e", "f"):
            add(chat, old, OutboxStatus.SENT)
        add("g", old, OutboxStatus.FAILED)
        kept = [add("h", recent, OutboxStatus.SENT), add("i", recent, OutboxStatus.PENDING)]
        store.add_many([ranking], now=recent)

    assert outbox.forget_settled(Database(db), now - dt.timedelta(days=7), batch=2) == 6
    with Session(db) as session:
        left = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    assert [row.id for row in left][:3] == [waiting, *kept]
    assert [row.dedup_key for row in left][3:] == ["ranking:W49:grp"]
    with db.begin() as connection:  # last week's campaign queued again still goes once
        assert OutboxStore(connection).add_many([ranking], now=now) == 0
    assert outbox.forget_settled(Database(db), now - dt.timedelta(days=7)) == 0


def test_forgetting_with_nothing_newer_than_the_cut_takes_every_settled_row(db: Engine) -> None:
    now = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    with db.begin() as connection:
        store = OutboxStore(connection)
        ids = [store.add(Queued("zalo", c, {}), now=now, lease_until=None) for c in "xyz"]
        store.mark_sent(ids[:2], now=now)
    assert outbox.forget_settled(Database(db), now + dt.timedelta(days=1)) == 2
    assert outbox.forget_settled(Database(db), now - dt.timedelta(days=1)) == 0
    with Session(db) as session:
        assert [row.chat_id for row in session.exec(select(OutboxMessage)).all()] == ["z"]


@pytest.mark.usefixtures("instant_retries")
async def test_once_the_messenger_answers_again_the_replies_waiting_for_a_retry_go_at_once(
    dispatcher: Dispatcher, db: Engine, clock: FakeClock
) -> None:
    """After a sendMessage outage the answer reached the worker 28 s after the messenger was
    back (its retry slot); under repeated faults one waited 3 min 20 s."""
    messenger = Messenger()
    messenger.failures = [TransientError("502")] * 5  # down: the first worker's reply waits
    await _say(dispatcher, messenger, "/start HN-DM01", "u1")
    assert messenger.seen == []
    other = Turn("test", "hoa", "hoa")
    await dispatcher.dispatch(messenger, Incoming(other, parse_text("/start HN-DM01"), "h1"))
    assert len(messenger.seen) == 1
    # Within the same few seconds, not after the retry pause (30 s, then 60 s, …).
    clock.advance(seconds=1)
    assert await dispatcher.flush(messenger) == 1
    assert len(messenger.seen) == 2
    assert {row.status for row in outbox_rows(db)} == {OutboxStatus.SENT.value}


async def test_a_message_that_comes_while_postgresql_restarts_is_answered_once_it_is_back(
    postgres_programs: Path,
) -> None:
    """The turn waits for the database (a restart takes seconds) instead of failing at once:
    the worker gets the answer, not "send it again", and sends nothing twice."""
    from storage.db import create_db_engine, upgrade
    from tests.utils.postgres import Cluster

    cluster = Cluster(postgres_programs, durable=True)
    engine = create_db_engine(cluster.start())
    try:
        upgrade(engine)
        with Session(engine) as session:
            seed_demo(now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), session=session)
            session.commit()
        dispatcher = dispatcher_for(engine)
        messenger = Messenger()
        try:
            cluster.stop_server()
            turn = asyncio.create_task(
                dispatcher.dispatch(messenger, Incoming(TURN, parse_text("/start HN-DM01"), "u1"))
            )
            await asyncio.sleep(2.0)
            assert messenger.seen == []  # nothing yet, and no "send it again"
            await asyncio.to_thread(cluster.start_server)
            await asyncio.wait_for(turn, 60)
        finally:
            dispatcher.close()
        assert messenger.seen and msg.TRY_AGAIN not in messenger.seen
        assert "tên là gì" in messenger.seen[-1]
    finally:
        engine.dispose()
        cluster.stop()
