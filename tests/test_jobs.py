"""The scheduler: triggers in Vietnamese time, one run per slot, one leader among processes
on PostgreSQL and a bounded take-over, and the reminders it sends."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert

from bot.jobs.leader import Leadership
from bot.jobs.schedule import Job
from bot.jobs.scheduler import Scheduler
from bot.runtime import Services
from dialogs import messages as msg
from storage.db import create_db_engine
from storage.models import JobRun
from storage.outbox import OutboxStore, Queued
from tests.utils.chat import FakeClock, FakeUser
from tests.utils.programme import (
    VN,
    delivered,
    entries,
    friday,
    group,
    outbox_rows,
    services_for,
)

W49 = friday(4, 12)
DAY = dt.timedelta(days=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(W49 + dt.timedelta(minutes=1))


@pytest.fixture
def services(db: Engine, clock: FakeClock, tmp_path: Path) -> Iterator[Services]:
    services = services_for(db, clock, tmp_path)
    yield services
    services.close()


def test_every_trigger_reads_vietnamese_time(services: Services) -> None:
    jobs = services.jobs.jobs
    thursday_night_utc = dt.datetime(2026, 12, 3, 19, 0, tzinfo=dt.UTC)  # Fri 02:00 in Hà Nội
    assert jobs["rankings"].next_run(thursday_night_utc) == dt.datetime(
        2026, 12, 4, 16, 0, tzinfo=VN
    )
    assert jobs["officer-reminders"].next_run(thursday_night_utc) == dt.datetime(
        2026, 12, 4, 8, 0, tzinfo=VN
    )
    assert jobs["prune"].next_run(thursday_night_utc) == dt.datetime(2026, 12, 4, 3, 0, tzinfo=VN)
    # The slot a run is for: the latest instant the job was due.
    assert jobs["rankings"].latest_slot(W49 + 3 * DAY) == W49
    assert jobs["rankings"].latest_slot(W49 - dt.timedelta(seconds=1)) == W49 - 7 * DAY


TRIGGERS = {
    "every minute": CronTrigger(minute="*", timezone=VN),
    "daily": CronTrigger(hour=8, minute=0, timezone=VN),
    "weekly": CronTrigger(day_of_week="fri", hour=16, minute=0, timezone=VN),
    "monthly": CronTrigger(day=1, hour=3, timezone=VN),
}


class CountingTrigger(CronTrigger):
    """A cron trigger that counts how often it is asked for a fire time."""

    asked = 0

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        CountingTrigger.asked += 1
        return super().get_next_fire_time(previous_fire_time, now)


def walked_slot(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The latest slot as defined: every fire time of the 8 days before `now`, walked."""
    found, moment = None, now - 8 * DAY
    while (nxt := trigger.get_next_fire_time(found, moment)) is not None and nxt <= now:
        found, moment = nxt, nxt + dt.timedelta(seconds=1)
    return found.astimezone(dt.UTC) if found else None


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(sorted(TRIGGERS)),
    now=st.datetimes(  # Hypothesis takes naive bounds and adds the zone
        min_value=dt.datetime(2026, 1, 1),  # noqa: DTZ001
        max_value=dt.datetime(2027, 12, 31),  # noqa: DTZ001
        timezones=st.just(VN),
    ),
)
def test_a_jobs_latest_slot_is_the_last_fire_time_within_eight_days(
    kind: str, now: dt.datetime
) -> None:
    job = Job("job", TRIGGERS[kind], dt.timedelta(hours=1), lambda slot: "", "")
    assert job.latest_slot(now) == walked_slot(TRIGGERS[kind], now)


def test_finding_a_minutely_jobs_latest_slot_asks_its_trigger_a_few_times() -> None:
    """Each start catches up: walking the 11,520 minutes of 8 days took 0.3 s of every start
    (py-spy, in the soak), a third of a short-lived process's work besides its imports."""
    trigger = CountingTrigger(minute="*", timezone=VN)
    job = Job("officer-notices", trigger, dt.timedelta(minutes=5), lambda slot: "", "")
    CountingTrigger.asked = 0
    assert job.latest_slot(W49 + dt.timedelta(seconds=30)) == W49
    assert CountingTrigger.asked <= 5
    weekly = CountingTrigger(day_of_week="fri", hour=16, timezone=VN)
    CountingTrigger.asked = 0
    assert Job("rankings", weekly, DAY, lambda slot: "", "").latest_slot(W49 - DAY) is not None
    assert CountingTrigger.asked <= 20


def test_the_ranking_day_and_time_come_from_the_config(
    db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    services = services_for(db, clock, tmp_path, rankings={"day": "mon", "time": "07:30"})
    try:
        job = services.jobs.jobs["rankings"]
        assert job.next_run(W49) == dt.datetime(2026, 12, 7, 7, 30, tzinfo=VN)
    finally:
        services.close()


def test_a_slot_runs_once_and_a_dead_owners_run_is_taken_over(
    db: Engine, services: Services, clock: FakeClock
) -> None:
    group(db, "telegram", "-1001", "HN-KCN", at=W49 - 7 * DAY)
    # A leader claimed this Friday's run and died before its work committed.
    with db.begin() as connection:
        connection.execute(
            insert(JobRun.__table__).values(  # type: ignore[attr-defined]
                name="rankings",
                slot=W49,
                status="running",
                owner="old-host:41",
                started_at=W49,
                lease_until=W49 + dt.timedelta(minutes=30),
            )
        )
    assert services.jobs.run("rankings") == "already done"  # held: its lease is live
    assert outbox_rows(db) == []
    assert "rankings" in services.jobs.catch_up()  # the new leader frees it and runs it
    assert len(outbox_rows(db)) == 1
    assert "rankings" not in services.jobs.catch_up()
    clock.advance(hours=7)  # past the grace: a Friday missed altogether is not posted Saturday
    assert "rankings" not in services.jobs.catch_up()
    assert len(outbox_rows(db)) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_of_two_processes_on_postgresql_one_runs_the_jobs_and_the_other_takes_over(
    db: Engine, db_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    for n in range(5):
        group(db, "telegram", f"-100{n}", "HN-KCN", at=W49 - 7 * DAY)
    second_engine = create_db_engine(db_url)  # the other process's own connections
    first = services_for(db, clock, tmp_path / "a")
    second = services_for(second_engine, clock, tmp_path / "b")
    leaders = [
        Scheduler(first.jobs, Leadership(db), check_every=0.05),
        Scheduler(second.jobs, Leadership(second_engine), check_every=0.05),
    ]
    tasks = [asyncio.create_task(s.run_forever()) for s in leaders]
    try:
        for _ in range(200):
            if any(s.leading for s in leaders):
                break
            await asyncio.sleep(0.02)
        for _ in range(500):  # the leader catches up on this Friday's ranking
            if len(outbox_rows(db)) == 5:
                break
            await asyncio.sleep(0.02)
        assert [s.leading for s in leaders].count(True) == 1
        leader = 0 if leaders[0].leading else 1
        assert len(outbox_rows(db)) == 5
        tasks[leader].cancel()  # the leader dies: its lock goes with its connection
        await asyncio.gather(tasks[leader], return_exceptions=True)
        standby = leaders[1 - leader]
        for _ in range(100):  # taken over within a few checks
            if standby.leading:
                break
            await asyncio.sleep(0.02)
        assert standby.leading
        await asyncio.sleep(0.2)
        assert len(outbox_rows(db)) == 5  # and nothing was sent twice
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        first.close()
        second.close()
        second_engine.dispose()


# --- reminders -----------------------------------------------------------------------------


def _start_an_idea(services: Services, user: str) -> FakeUser:
    worker = FakeUser(services.conversations, user)
    worker.send("/start HN-DM01")
    worker.send("Nguyễn Thị Lan")
    worker.press(1)  # a new idea
    worker.send("Máy cắt chỉ hay kẹt, mỗi ca dừng 30 phút")
    return worker


def _nudges(db: Engine) -> list[str]:
    return [
        reply["text"]
        for row in outbox_rows(db)
        if row.kind == "broadcast"
        for reply in row.payload["replies"]
    ]


def test_a_stalled_draft_is_nudged_gently_and_never_after_dung(
    db: Engine, services: Services, clock: FakeClock
) -> None:
    clock.now = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)  # 10:00 in Hà Nội
    lan = _start_an_idea(services, "lan")
    reminders = services.reminders
    assert reminders.workers(now=clock()) == 0  # not stalled yet
    clock.advance(days=3, minutes=5)
    assert reminders.workers(now=clock()) == 1
    [nudge] = _nudges(db)
    assert nudge.startswith("⏰ Sáng kiến") and "«dừng»" in nudge
    delivered(db, at=clock())
    clock.advance(days=1)
    assert reminders.workers(now=clock()) == 0  # at most every three days
    clock.advance(hours=12)  # 22:05 in Hà Nội: quiet hours
    assert reminders.workers(now=clock() + 2 * DAY) == 0
    # She answers the reminder: "dừng". Not an answer to the question: the nudges stop.
    assert lan.send("dừng")[0].text.startswith(msg.REMINDERS_OFF)
    clock.advance(days=10)
    clock.now = clock.now.replace(hour=3)
    assert reminders.workers(now=clock()) == 0
    assert len(_nudges(db)) == 1
    # Her draft is untouched, and she picks it up where she left it.
    assert "«Máy cắt chỉ hay kẹt, mỗi ca dừng 30 phút»" in lan.send("chào")[0].text
    assert lan.press(1)[0].text.startswith("💡 Anh/chị đã thay đổi gì?")


def test_dung_is_an_answer_when_no_reminder_came(services: Services, clock: FakeClock) -> None:
    lan = _start_an_idea(services, "lan")
    replies = lan.send("dung")  # typed without marks: "đúng" as much as "dừng"
    assert not any(msg.REMINDERS_OFF in reply.text for reply in replies)
    replies = lan.send("Đừng nhắc nữa ạ")  # the words themselves work any time
    [reply] = replies  # one bubble: the answer, and the question she was at, again
    assert reply.text.startswith(f"{msg.REMINDERS_OFF}\n💡 Anh/chị đã thay đổi gì?")
    lan.send("Gắn thêm thanh dẫn vải")  # and her next answer lands on it
    assert lan.replies[0].text.startswith("🎯 Thay đổi đó được lợi gì nhất?")


def test_officers_hear_once_a_day_only_when_something_waits(
    db: Engine, services: Services, clock: FakeClock
) -> None:
    officer = FakeUser(services.conversations, "ha")
    officer.send("/start HN-DM01")
    officer.send("Phạm Thu Hà")
    services.groups.add_officer("test", "ha", "Phạm Thu Hà", "HN-DM01")
    clock.now = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)  # 08:00
    assert services.reminders.officers(now=clock()) == 0  # nothing waits: no message
    entries(db, "HN-DM01", 3, at=clock() - 4 * DAY, status="submitted")
    entries(db, "HN-DM01", 2, at=clock() - 5 * DAY, status="draft")
    entries(db, "HN-DM01", 10, at=clock() - 20 * DAY)
    with db.begin() as connection:
        from sqlalchemy import update

        from storage.models import Initiative

        table = Initiative.__table__  # type: ignore[attr-defined]
        connection.execute(update(table).values(review_level="grassroots"))
    assert services.reminders.officers(now=clock()) == 1
    assert services.reminders.officers(now=clock()) == 0  # the same day: once
    [row] = [r for r in outbox_rows(db) if r.kind == "notice"]
    text = row.payload["replies"][0]["text"]
    assert text.splitlines() == [
        "☀️ Việc sáng kiến hôm nay:",
        "📥 3 sáng kiến chờ duyệt, lâu nhất 4 ngày. Gõ /duyet để xem.",
        "✏️ 2 bản nháp bỏ dở quá 3 ngày ở «CĐCS Công ty CP May Đức Giang».",
        "📈 «CĐCS Công ty CP May Đức Giang»: 10/40 hợp lệ (25%), còn 29 ngày.",
    ]


def test_the_nightly_prune_forgets_old_update_ids_messages_runs_and_pictures(
    db: Engine, services: Services, clock: FakeClock
) -> None:
    import os

    from storage.conversations import ConversationStore

    with db.begin() as connection:
        store = ConversationStore(connection)
        store.claim_update("telegram", "old", now=clock() - 20 * DAY)
        store.claim_update("telegram", "new", now=clock() - DAY)
        outbox = OutboxStore(connection)
        for age in (20 * DAY, DAY):
            row = outbox.add(Queued("telegram", "lan", {}), now=clock() - age, lease_until=None)
            outbox.mark_sent([row], now=clock() - age)
    services.images.mkdir(parents=True)
    old, new = services.images / ("o" * 24 + ".png"), services.images / ("n" * 24 + ".png")
    for path in (old, new):
        path.write_bytes(b"\x89PNG")
    stamp = (clock() - 9 * 7 * DAY).timestamp()
    os.utime(old, (stamp, stamp))
    os.utime(new, (clock().timestamp(), clock().timestamp()))
    done = services.jobs.run("prune", slot=clock())
    assert done == (
        "forgot 1 update ids, 1 sent messages, 0 job runs, 1 pictures, 0 expired web sessions"
    )
    assert not old.exists() and new.exists()
    with db.connect() as connection:
        store = ConversationStore(connection)
        assert not store.seen("telegram", "old") and store.seen("telegram", "new")
        assert [t.count for t in OutboxStore(connection).tally()] == [1]


def test_a_job_that_fails_while_catching_up_is_recorded_and_the_others_still_run(
    db: Engine, services: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.rankings, "broadcast", broken)
    ran = services.jobs.catch_up()
    assert "rankings" not in ran and "officer-notices" in ran
    last = services.jobs.latest("rankings")
    assert last is not None and last.status.value == "failed" and "disk full" in (last.detail or "")
    monkeypatch.undo()
    assert "rankings" in services.jobs.catch_up()  # a failed slot is taken again


async def test_a_job_cut_short_by_the_stop_says_so_in_one_line_without_a_traceback(
    db: Engine, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGTERM while a job ran (a minute's notices against a failing messenger): APScheduler
    logged the job's CancelledError with its traceback at ERROR."""
    services = services_for(db, clock, tmp_path)
    scheduler = Scheduler(services.jobs, Leadership(db), check_every=0.05)
    started = threading.Event()

    class Slow:
        def run(self, name: str) -> str:
            started.set()
            time.sleep(0.3)
            return "done"

    scheduler.jobs = Slow()  # type: ignore[assignment]
    try:
        await asyncio.to_thread(scheduler._leadership.try_lead)
        firing = asyncio.create_task(scheduler._fire("officer-notices"))
        await asyncio.to_thread(started.wait, 5)
        firing.cancel()  # the stop
        await asyncio.gather(firing, return_exceptions=True)
        assert not firing.cancelled() and firing.exception() is None
        lines = [r for r in caplog.records if "officer-notices" in r.getMessage()]
        assert len(lines) == 1 and lines[0].exc_info is None
    finally:
        await asyncio.to_thread(scheduler._leadership.close)
        services.close()
