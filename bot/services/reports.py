"""What the officers' web pages show beyond the queue: rankings, the unit tree with quotas,
exports and the scheduled work, each kept to the officer's units."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlmodel import Session

from bot.clock import Clock, system_clock
from bot.services.access import Officer
from bot.services.database import Database
from bot.services.export import write_csv, write_xlsx
from bot.services.portal import Portal, UnitLineView
from bot.services.rankings import Rankings, RankRow, Week, WeekError
from bot.services.units import UnitService
from storage import initiatives, listing
from storage import jobs as runs
from storage import units as tree
from storage.models import LEVEL_RANK, Period, UnitLevel
from storage.outbox import OutboxStore


class ScheduledJob(Protocol):
    """What the page shows of a job of the schedule (bot.jobs, which services never import)."""

    @property
    def description(self) -> str: ...

    def next_run(self, after: dt.datetime) -> dt.datetime | None: ...


@dataclass(frozen=True, slots=True)
class RankingView:
    week: Week
    weeks: list[Week]
    unit_code: str
    unit_name: str
    choices: list[tuple[str, str]]  # units of the subtree that have units under them
    rows: list[RankRow]


@dataclass(frozen=True, slots=True)
class UnitsView:
    period: Period | None
    periods: list[Period]
    lines: list[UnitLineView]


@dataclass(frozen=True, slots=True)
class JobLine:
    name: str
    description: str
    last_slot: dt.datetime | None
    last_status: str | None
    last_detail: str | None
    finished_at: dt.datetime | None
    next_run: dt.datetime | None


@dataclass(frozen=True, slots=True)
class JobsView:
    jobs: list[JobLine]
    failures: list[tuple[str, str, str]]  # channel, whose chat (a unit, a person), why


_SORTS = {
    "rank": lambda r: (r.rank, r.code),
    "valid": lambda r: (-r.valid, r.code),
    "quota": lambda r: (-(r.target or 0), r.code),
    "percent": lambda r: (-(r.percent or 0), r.code),
    "name": lambda r: (r.name, r.code),
}


class Reports:
    def __init__(
        self,
        db: Database,
        portal: Portal,
        rankings: Rankings,
        units: UnitService,
        jobs: Mapping[str, ScheduledJob] | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._db = db
        self._portal = portal
        self._rankings = rankings
        self._units = units
        self._jobs = jobs or {}
        self._clock = clock

    # --- rankings ----------------------------------------------------------------------

    def _week(self, name: str) -> Week:
        calendar = self._rankings.calendar
        if name:
            try:
                return calendar.week(name)
            except WeekError:
                pass
        return calendar.last_closed(self._clock())

    def _ranked_unit(self, officer: Officer, code: str) -> tuple[int, str, str] | None:
        """The unit whose children are ranked: `code` if it is in the subtree, else the
        officer's highest unit."""
        top = max(officer.scopes, key=lambda s: (LEVEL_RANK[s.level], -s.unit_id))
        if not code:
            return top.unit_id, top.code, top.name
        with self._db.read() as connection:
            row = listing.unit_in(connection, officer.parts, code)
        return (row["id"], row["code"], row["name"]) if row is not None else None

    def ranking(self, officer: Officer, code: str, week: str, sort: str) -> RankingView | None:
        found = self._ranked_unit(officer, code)
        if found is None:
            return None
        unit_id, unit_code, unit_name = found
        chosen = self._week(week)
        _, rows = self._rankings.table(chosen, unit_id)
        rows.sort(key=_SORTS.get(sort, _SORTS["rank"]))
        weeks = self._rankings.weeks()
        if chosen.name not in {w.name for w in weeks}:
            weeks.insert(0, chosen)
        choices = [
            (line.code, line.name)
            for line in self._portal.units(officer, "")
            if line.level is not UnitLevel.GRASSROOTS
        ]
        return RankingView(chosen, weeks, unit_code, unit_name, choices, rows)

    def picture(self, officer: Officer, code: str, week: str) -> bytes | None:
        found = self._ranked_unit(officer, code)
        if found is None:
            return None
        board, rows = self._rankings.table(self._week(week), found[0])
        # A union with no units under it ranks nothing of its own (its group's board shows
        # the units beside it, which are not the officer's to see here).
        return board.picture() if rows else None

    # --- units -------------------------------------------------------------------------

    def units(self, officer: Officer, period: str, today: dt.date) -> UnitsView:
        with self._db.read() as connection:
            periods = tree.periods(connection)
            chosen = tree.period(connection, period) if period else None
            chosen = chosen or tree.current_period(connection, today)
        lines = self._portal.units(officer, chosen.name) if chosen else []
        return UnitsView(chosen, periods, lines)

    # --- exports -----------------------------------------------------------------------

    def _where(
        self,
        officer: Officer,
        code: str,
        start: dt.date | None,
        end: dt.date | None,
        statuses: Sequence[str],
    ) -> list[object] | None:
        unit = self._portal.unit(officer, code) if code else None
        if code and unit is None:
            return None
        zone = self._rankings.calendar.zone
        where = initiatives.export_filter(
            unit=unit,
            start=dt.datetime.combine(start, dt.time(), zone) if start else None,
            end=dt.datetime.combine(end, dt.time(), zone) + dt.timedelta(days=1) if end else None,
            statuses=statuses,
        )
        return [listing.within(officer.parts), *where]

    def export(
        self,
        officer: Officer,
        kind: str,
        code: str,
        start: dt.date | None,
        end: dt.date | None,
        statuses: Sequence[str],
        today: dt.date,
        folder: Path,
    ) -> Path | None:
        """The export written to a new file in `folder` (the caller sends and removes it):
        the CSV with the command line's stable column names, or the XLSX for people."""
        where = self._where(officer, code, start, end, statuses)
        if where is None:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"export-{secrets.token_hex(8)}.{'xlsx' if kind == 'xlsx' else 'csv'}"
        with Session(self._db.engine) as session:
            rows = initiatives.export_rows(session=session, where=where)
            if kind == "xlsx":
                allowed = {line.code for line in self._portal.units(officer, "")}
                summaries = {
                    title: [line for line in lines if line["code"] in allowed]
                    for title, lines in self._units.summaries(None, today).items()
                }
                write_xlsx(path, rows, summaries)
            else:
                with path.open("w", encoding="utf-8", newline="") as handle:
                    write_csv(handle, rows)
        return path

    # --- scheduled work ----------------------------------------------------------------

    def jobs(self, officer: Officer) -> JobsView:
        now = self._clock()
        lines = []
        with self._db.read() as connection:
            for name, job in self._jobs.items():
                last = runs.latest(connection, name)
                lines.append(
                    JobLine(
                        name,
                        job.description,
                        last.slot if last else None,
                        last.status if last else None,
                        last.detail if last else None,
                        last.finished_at if last else None,
                        job.next_run(now),
                    )
                )
            failures = OutboxStore(connection).failures(limit=200)
            owners = listing.chat_units(connection, [(c, chat) for c, chat, _, _ in failures])
            mine = listing.codes_within(connection, officer.parts)
        shown = []
        for channel, chat_id, _key, error in failures:
            unit = owners.get((channel, chat_id))
            if unit in mine:
                shown.append((channel, unit, (error or "")[:200]))
        return JobsView(lines, shown[:50])
