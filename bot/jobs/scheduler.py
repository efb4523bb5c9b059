"""The jobs of `sangkien run` and the APScheduler that fires them while this process leads.

:func:`build_jobs` turns the settings into the job table; :class:`Scheduler` keeps trying to
lead (every ``jobs.leader_check_seconds``), starts firing jobs once it does (after catching up
on a slot a dead leader left), and pauses the moment it loses the lead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.clock import Clock, system_clock
from bot.jobs.leader import Leadership
from bot.jobs.schedule import Job, Jobs
from bot.services import outbox
from bot.services.database import Database, log_failure
from bot.services.rankings import Calendar, Rankings
from bot.services.reminders import Reminders
from bot.services.review import ReviewService
from bot.settings import Settings, time_of
from storage import jobs as runs
from storage.conversations import ConversationStore
from storage.web import WebStore

log = logging.getLogger(__name__)
T = TypeVar("T")

# Ranking pictures are kept this long (a group may scroll back a few weeks), then deleted.
PICTURES_KEPT = dt.timedelta(weeks=8)


def _daily(at: str, zone: zoneinfo.ZoneInfo) -> CronTrigger:
    moment = time_of(at)
    return CronTrigger(hour=moment.hour, minute=moment.minute, second=moment.second, timezone=zone)


def build_jobs(
    settings: Settings,
    *,
    rankings: Rankings,
    reminders: Reminders,
    review: ReviewService,
    db: Database,
    clock: Clock = system_clock,
) -> list[Job]:
    """The job table, from the settings."""
    zone = zoneinfo.ZoneInfo(settings.jobs.timezone)
    at = time_of(settings.rankings.time)
    calendar: Calendar = rankings.calendar

    def rank(slot: dt.datetime) -> str:
        week = calendar.last_closed(slot)
        return f"week {week.name}: {rankings.broadcast(week, now=clock())} groups queued"

    def officers(slot: dt.datetime) -> str:
        return f"{reminders.officers(now=clock())} officers told"

    def workers(slot: dt.datetime) -> str:
        return f"{reminders.workers(now=clock())} workers nudged"

    def notices(slot: dt.datetime) -> str:
        every = dt.timedelta(minutes=settings.review.notify_every_minutes)
        return f"{review.notify_officers(every=every, now=clock())} officers told"

    def prune(slot: dt.datetime) -> str:
        before = clock() - dt.timedelta(days=settings.jobs.keep_updates_days)
        with db.write() as connection:
            removed = ConversationStore(connection).forget_processed(before)
            old_runs = runs.forget(connection, before)
            sessions = WebStore(connection).forget_expired(now=clock())
        messages = outbox.forget_settled(db, before)
        pictures = rankings.prune_pictures(before=clock() - PICTURES_KEPT)
        return (
            f"forgot {removed} update ids, {messages} sent messages, {old_runs} job runs, "
            f"{pictures} pictures, {sessions} expired web sessions"
        )

    hours = dt.timedelta(hours=1)
    return [
        Job(
            "rankings",
            CronTrigger(
                day_of_week=settings.rankings.day,
                hour=at.hour,
                minute=at.minute,
                second=at.second,
                timezone=zone,
            ),
            6 * hours,
            rank,
            "bảng xếp hạng tuần cho các nhóm / the weekly ranking to every group",
        ),
        Job(
            "officer-reminders",
            _daily(settings.reminders.officers_at, zone),
            2 * hours,
            officers,
            "nhắc cán bộ / officers' daily message",
        ),
        Job(
            "worker-reminders",
            _daily(settings.reminders.workers_at, zone),
            2 * hours,
            workers,
            "nhắc nháp dở / nudge authors of stalled drafts",
        ),
        Job(
            "officer-notices",
            CronTrigger(minute="*", timezone=zone),
            dt.timedelta(minutes=5),
            notices,
            "báo sáng kiến mới chờ duyệt / new entries waiting, batched",
        ),
        Job(
            "prune",
            _daily(settings.jobs.prune_at, zone),
            24 * hours,
            prune,
            "dọn dữ liệu cũ / forget old update ids, sent messages, job runs, ranking pictures, "
            "expired web sessions and links",
        ),
    ]


class Scheduler:
    """Fires the jobs while this process leads."""

    def __init__(
        self,
        jobs: Jobs,
        leadership: Leadership,
        *,
        check_every: float = 10.0,
        grace: float = 30.0,
    ) -> None:
        self.jobs = jobs
        self._leadership = leadership
        self._check_every = check_every
        self._grace = grace  # how long a stop waits for a job that is running
        self._scheduler: AsyncIOScheduler | None = None
        self._work: set[asyncio.Future[Any]] = set()

    @property
    def leading(self) -> bool:
        return self._leadership.leading

    async def run_forever(self) -> None:
        """Try to lead, fire jobs while leading, step down when cancelled."""
        try:
            while True:
                try:
                    await self._check()
                except Exception as error:
                    log_failure(log, "scheduler leadership check", error)
                await asyncio.sleep(self._check_every)
        finally:
            self._stop()
            if self._work:  # a job in its thread: let it finish its transaction
                await asyncio.wait(set(self._work), timeout=self._grace)
            await asyncio.to_thread(self._leadership.close)

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run blocking work in a thread; a stop waits for it (up to the grace) rather than
        leaving it running on a database being closed."""
        future = asyncio.ensure_future(asyncio.to_thread(function, *args))
        self._work.add(future)
        future.add_done_callback(self._work.discard)
        return await asyncio.shield(future)

    async def _check(self) -> None:
        was = self._leadership.leading
        leads = await self._in_thread(self._leadership.try_lead)
        if leads and not was:
            try:
                await self._in_thread(self.jobs.catch_up)
            finally:  # a failing catch-up must not leave a leader that never schedules
                self._start()
        elif was and not leads:
            self._stop()

    def _start(self) -> None:
        scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        for job in self.jobs.jobs.values():
            scheduler.add_job(
                self._fire,
                trigger=job.trigger,
                args=[job.name],
                id=job.name,
                name=job.name,
                misfire_grace_time=int(job.grace.total_seconds()),
            )
        scheduler.start()
        self._scheduler = scheduler

    def _stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    async def _fire(self, name: str) -> None:
        if not await self._in_thread(self._leadership.still_leading):
            self._stop()
            return
        try:
            await self._in_thread(self.jobs.run, name)
        except asyncio.CancelledError:
            # The process is stopping: its work in the thread finishes within the grace. The
            # job's task ends here, quietly, rather than in APScheduler's traceback at ERROR.
            log.warning("job %s cut short by the stop; it runs again at its next time", name)
        except Exception as error:
            log_failure(log, f"job {name} (it runs again at its next time)", error)
