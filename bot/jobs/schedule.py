"""The scheduled jobs: what runs when, and how a run is claimed so that it happens once.

Every trigger is an APScheduler 3 cron trigger in the programme's zone (Asia/Ho_Chi_Minh by
default), so "Friday 16:00" means Vietnamese time whatever the server's zone. Choices, made
deliberately:

- **coalesce**: runs missed while the process was down collapse into one (a ranking is for
  the latest week, not once per missed Friday).
- **misfire grace**: how late a run may still start. Rankings 6 hours (a Friday post still
  makes sense that evening, not next morning); the daily reminders 2 hours (a morning message
  at noon is still useful, at night not); pruning a day (it only has to happen).
  On becoming leader, a job whose latest slot is within its grace and not done is run at once
  (:meth:`Jobs.catch_up`): a slot a dead leader started, or one missed while none led.
- **one instance**: a job never overlaps itself.

A run is claimed in ``job_run`` for its slot (the instant it was due) before its work; its work
is idempotent on top (snapshots are kept, outbox rows have a key per campaign and recipient),
so of an old leader and a new one taking over, exactly one run's messages go out.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.triggers.cron import CronTrigger

from bot.clock import Clock, system_clock
from bot.services.database import Database, log_failure
from storage import jobs as runs
from storage.models import JobStatus

log = logging.getLogger(__name__)

Work = Callable[[dt.datetime], str]
LOOK_BACK = dt.timedelta(days=8)  # how far back a job's latest slot is looked for


@dataclass(frozen=True, slots=True)
class Job:
    """A job: its name, when it is due, how late it may still run, and its work (given the
    slot it runs for; it says in a few words what it did)."""

    name: str
    trigger: CronTrigger
    grace: dt.timedelta
    work: Work
    description: str

    def next_run(self, after: dt.datetime) -> dt.datetime | None:
        found: dt.datetime | None = self.trigger.get_next_fire_time(None, after)
        return found

    def latest_slot(self, now: dt.datetime) -> dt.datetime | None:
        """The latest instant at or before `now` the job was due (within 8 days).

        Looked for in windows before `now` twice as long each time, each walked from its start:
        a minutely job asks its trigger twice, not once for each of the 11,520 minutes of 8
        days (0.3 s of every start, which catches up)."""
        span = dt.timedelta(minutes=1)
        while True:
            span = min(span, LOOK_BACK)
            found, nxt = None, self.trigger.get_next_fire_time(None, now - span)
            while nxt is not None and nxt <= now:
                found = nxt
                nxt = self.trigger.get_next_fire_time(found, nxt + dt.timedelta(seconds=1))
            if found is not None or span == LOOK_BACK:
                return found.astimezone(dt.UTC) if found else None
            span *= 2


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


class Jobs:
    """The job table and its runs over one database."""

    def __init__(
        self,
        db: Database,
        jobs: list[Job],
        *,
        clock: Clock = system_clock,
        owner: str | None = None,
        lease: dt.timedelta = dt.timedelta(minutes=30),
    ) -> None:
        self._db = db
        self.jobs = {job.name: job for job in jobs}
        self._clock = clock
        self.owner = owner or owner_name()
        self._lease = lease

    def run(self, name: str, *, slot: dt.datetime | None = None, force: bool = False) -> str:
        """Run job `name` for `slot` (by default its latest one) unless that slot is done
        or held by a live run; with `force`, run it regardless (by hand). What it did."""
        job = self.jobs[name]
        now = self._clock()
        slot = slot or job.latest_slot(now) or now
        with self._db.write() as connection:
            claimed = runs.claim(connection, name, slot, self.owner, now=now, lease=self._lease)
        if not claimed and not force:
            return "already done"
        try:
            result = job.work(slot)
        except Exception as error:
            with self._db.write() as connection:
                runs.finish(
                    connection, name, slot, JobStatus.FAILED, repr(error), now=self._clock()
                )
            raise
        with self._db.write() as connection:
            runs.finish(connection, name, slot, JobStatus.DONE, result, now=self._clock())
        log.info("job %s for %s: %s", name, slot.isoformat(), result)
        return result

    def catch_up(self) -> list[str]:
        """On becoming leader: free a dead leader's running claims, then run each job whose
        latest slot is within its grace and not done. The names run."""
        now = self._clock()
        with self._db.write() as connection:
            for name, slot in runs.running_of_others(connection, self.owner):
                runs.release(connection, name, slot)
        ran = []
        for job in self.jobs.values():
            latest = job.latest_slot(now)
            if latest is None or now - latest > job.grace:
                continue
            try:
                if self.run(job.name, slot=latest) != "already done":
                    ran.append(job.name)
            except Exception as error:  # recorded as failed; the others still catch up
                log_failure(log, f"job {job.name}, catching up,", error)
        return ran

    def latest(self, name: str) -> runs.Run | None:
        with self._db.read() as connection:
            return runs.latest(connection, name)
