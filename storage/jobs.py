"""Claims on scheduled job runs: one row per (job, slot) so that, of an old leader and its
successor, one does a slot's work. Core statements on the caller's connection."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from storage.models import JobRun, JobStatus

_job_run = JobRun.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    slot: dt.datetime
    status: JobStatus
    owner: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    detail: str | None


def claim(
    connection: Connection,
    name: str,
    slot: dt.datetime,
    owner: str,
    *,
    now: dt.datetime,
    lease: dt.timedelta,
) -> bool:
    """Take the slot for `owner`: it was never run, it failed, or the run that holds it is
    another owner's whose lease ran out (that owner died). False when it is done or held."""
    values = {
        "status": JobStatus.RUNNING.value,
        "owner": owner,
        "started_at": now,
        "lease_until": now + lease,
        "finished_at": None,
        "detail": None,
    }
    try:
        with connection.begin_nested():
            connection.execute(insert(_job_run).values(name=name, slot=slot, **values))
        return True
    except IntegrityError:
        pass
    taken = connection.execute(
        update(_job_run)
        .where(
            _job_run.c.name == name,
            _job_run.c.slot == slot,
            (_job_run.c.status == JobStatus.FAILED.value)
            | ((_job_run.c.status == JobStatus.RUNNING.value) & (_job_run.c.lease_until < now)),
        )
        .values(**values)
    )
    return bool(taken.rowcount)


def release(connection: Connection, name: str, slot: dt.datetime) -> None:
    """Let the slot be taken at once (a new leader taking over a dead one's running job)."""
    connection.execute(
        update(_job_run)
        .where(
            _job_run.c.name == name,
            _job_run.c.slot == slot,
            _job_run.c.status == JobStatus.RUNNING.value,
        )
        .values(lease_until=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    )


def finish(
    connection: Connection,
    name: str,
    slot: dt.datetime,
    status: JobStatus,
    detail: str,
    *,
    now: dt.datetime,
) -> None:
    connection.execute(
        update(_job_run)
        .where(_job_run.c.name == name, _job_run.c.slot == slot)
        .values(status=status.value, finished_at=now, detail=detail[:500])
    )


def latest(connection: Connection, name: str) -> Run | None:
    row = connection.execute(
        select(_job_run).where(_job_run.c.name == name).order_by(_job_run.c.slot.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return Run(
        row.name,
        row.slot,
        JobStatus(row.status),
        row.owner,
        row.started_at,
        row.finished_at,
        row.detail,
    )


def running_of_others(connection: Connection, owner: str) -> list[tuple[str, dt.datetime]]:
    """Runs still marked running by another owner: a dead leader's, once this one leads."""
    rows = connection.execute(
        select(_job_run.c.name, _job_run.c.slot).where(
            _job_run.c.status == JobStatus.RUNNING.value, _job_run.c.owner != owner
        )
    )
    return [(row.name, row.slot) for row in rows]


def forget(connection: Connection, before: dt.datetime) -> int:
    """Drop finished runs of slots before `before` (the minutely notices add up)."""
    result = connection.execute(
        delete(_job_run).where(
            _job_run.c.slot < before, _job_run.c.status != JobStatus.RUNNING.value
        )
    )
    return int(result.rowcount or 0)
