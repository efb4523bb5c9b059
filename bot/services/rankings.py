"""The weekly ranking of units: snapshots, the message and picture each group gets, and the
broadcast that queues them in the outbox.

A week is an ISO week in the programme's time zone; its cut-off is the configured day and time
(Friday 16:00). A week's standings are computed once and stored
(:mod:`storage.rankings`): a re-run posts the same numbers, and next week's change is exact.
A group registered for a unit with units under it sees those; a grassroots union's group
sees its district's ranking, its own line marked. Every post goes through the outbox with one
key per (week, group), so a broadcast queued twice, or resumed after a crash, sends once.
"""

from __future__ import annotations

import collections
import datetime as dt
import secrets
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from bot.services import chart
from bot.services.database import Database
from bot.services.outbox import payload_of
from dialogs import messages as msg
from dialogs.events import Reply
from storage import rankings as store
from storage import units as tree
from storage.models import LEVEL_RANK, OutboxKind
from storage.outbox import OutboxStore, Queued
from storage.rankings import Standing

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Week:
    """An ISO week ("2026-W49") and its cut-off instant (UTC)."""

    name: str
    cutoff: dt.datetime

    @property
    def start(self) -> dt.datetime:
        return self.cutoff - dt.timedelta(days=7)

    @property
    def label(self) -> str:
        """ "49/2026", as officers say it."""
        year, week = self.name.split("-W")
        return f"{int(week)}/{year}"


class WeekError(ValueError):
    """A week that is not written YYYY-Www."""


@dataclass(frozen=True, slots=True)
class Calendar:
    """Where weeks end: the ranking's day and time in the programme's zone."""

    zone: zoneinfo.ZoneInfo
    weekday: int  # ISO: Monday 1 … Sunday 7
    at: dt.time

    @classmethod
    def of(cls, zone: str, day: str, at: dt.time) -> Calendar:
        return cls(zoneinfo.ZoneInfo(zone), WEEKDAYS.index(day) + 1, at)

    def week(self, name: str) -> Week:
        try:
            year, number = name.upper().split("-W")
            day = dt.date.fromisocalendar(int(year), int(number), self.weekday)
        except ValueError:
            raise WeekError(f"a week is written YYYY-Www, e.g. 2026-W49, not {name!r}") from None
        local = dt.datetime.combine(day, self.at, tzinfo=self.zone)
        return Week(f"{int(year):04d}-W{int(number):02d}", local.astimezone(dt.UTC))

    def week_of(self, moment: dt.datetime) -> Week:
        """The week `moment` falls in (local time)."""
        year, number, _ = moment.astimezone(self.zone).isocalendar()
        return self.week(f"{year}-W{number:02d}")

    def last_closed(self, moment: dt.datetime) -> Week:
        """The latest week whose cut-off is at or before `moment`."""
        week = self.week_of(moment)
        return week if week.cutoff <= moment else self.before(week)

    def before(self, week: Week) -> Week:
        return self.week_of(week.cutoff - dt.timedelta(days=7))


def rank_change(now: int, before: int | None) -> str:
    if before is None:
        return ""
    if before > now:
        return f"▲{before - now}"
    if before < now:
        return f"▼{now - before}"
    return "="


def targets(units: Iterable[tree.UnitRow], quotas: dict[int, int]) -> dict[int, int | None]:
    """Each unit's quota: its own, or the sum of its units' where it has none."""
    below: dict[int, int] = collections.defaultdict(int)
    found: dict[int, int | None] = {}
    for unit in sorted(units, key=lambda u: LEVEL_RANK[u.level]):  # children before parents
        found[unit.id] = quotas.get(unit.id) or below.get(unit.id) or None
        if unit.parent_id is not None:
            below[unit.parent_id] += found[unit.id] or 0
    return found


def compute(connection: Connection, week: Week, zone: zoneinfo.ZoneInfo) -> list[Standing]:
    """Every unit's counts and rank among its siblings at the week's cut-off."""
    units = list(tree.unit_rows(connection).values())
    tally = store.tally_grassroots(connection, week_start=week.start, cutoff=week.cutoff)
    period = tree.current_period(connection, week.cutoff.astimezone(zone).date())
    quotas = tree.quotas_of(connection, period.name) if period else {}
    quota = targets(units, quotas)
    counts: dict[int, list[int]] = {}
    for unit in sorted(units, key=lambda u: LEVEL_RANK[u.level]):  # children before parents
        own = tally.get(unit.id)
        mine = counts.setdefault(unit.id, [0, 0, 0])
        if own is not None:
            mine[0] += own.valid
            mine[1] += own.entries
            mine[2] += own.new_entries
        if unit.parent_id is not None:
            parent = counts.setdefault(unit.parent_id, [0, 0, 0])
            for index in range(3):
                parent[index] += mine[index]
    siblings: dict[int | None, list[tree.UnitRow]] = collections.defaultdict(list)
    for unit in units:
        siblings[unit.parent_id].append(unit)
    standings: list[Standing] = []
    for parent_id, group in siblings.items():

        def key(unit: tree.UnitRow) -> tuple[float, int]:
            valid, target = counts[unit.id][0], quota[unit.id]
            return (-(valid / target) if target else 1.0, -valid)

        group.sort(key=lambda u: (*key(u), u.code))
        rank, previous = 0, None
        for place, unit in enumerate(group, start=1):
            if key(unit) != previous:
                rank, previous = place, key(unit)
            valid, entries, new = counts[unit.id]
            standings.append(
                Standing(unit.id, parent_id, valid, entries, new, quota[unit.id], rank)
            )
    return standings


@dataclass(frozen=True, slots=True)
class Board:
    """What one group sees: the text, and the bars of the picture."""

    unit_id: int  # whose units are ranked
    text: str
    title: str
    subtitle: str
    bars: tuple[chart.Bar, ...]

    @property
    def chart(self) -> chart.Chart:
        return chart.Chart(self.title, self.subtitle, self.bars)

    def picture(self) -> bytes:
        return chart.render(self.title, self.subtitle, self.bars)


@dataclass(frozen=True, slots=True)
class RankRow:
    """One unit in the officers' ranking table."""

    code: str
    name: str
    rank: int
    valid: int
    entries: int
    target: int | None
    percent: float | None
    change: str  # "▲2", "▼1", "=", or "" (not ranked there the week before)


class Rankings:
    """Snapshots, boards and the weekly broadcast over one database."""

    def __init__(self, db: Database, calendar: Calendar, images: Path, *, top: int = 10) -> None:
        self._db = db
        self.calendar = calendar
        self.images = images
        self._top = top

    def snapshot(self, week: Week, *, now: dt.datetime) -> bool:
        """Compute and store the week's standings unless they are stored already (a re-run
        posts the numbers first posted). Whether they were computed now."""
        with self._db.write() as connection:
            if store.has_snapshot(connection, week.name):
                return False
            standings = compute(connection, week, self.calendar.zone)
            store.save_snapshot(connection, week.name, standings, now=now)
            return True

    def _boards(self, connection: Connection, week: Week) -> _Boards:
        """The week's boards from its stored standings (computed, not stored, when the week
        was never ranked) and the week before's."""
        current = store.standings(connection, week.name)
        if not current:
            current = {s.unit_id: s for s in compute(connection, week, self.calendar.zone)}
        previous = store.standings(connection, self.calendar.before(week).name)
        return _Boards(connection, week, current, previous, self._top)

    def preview(self, code: str, week: Week) -> Board | None:
        """The board a group of unit `code` gets for `week`; None for an unknown unit."""
        with self._db.read() as connection:
            unit = tree.unit_rows(connection).get(code.strip().upper())
            return self._boards(connection, week).of(unit.id) if unit is not None else None

    def table(self, week: Week, unit_id: int) -> tuple[Board, list[RankRow]]:
        """The board of the units directly under `unit_id` (its picture and text) and every
        one of them as a row: the officers' ranking page."""
        with self._db.read() as connection:
            boards = self._boards(connection, week)
        return boards.of(unit_id), boards.rows(unit_id)

    def weeks(self, limit: int = 26) -> list[Week]:
        """The latest weeks that were ranked, newest first."""
        with self._db.read() as connection:
            names = store.weeks(connection, limit)
        return [self.calendar.week(name) for name in names]

    def boards(self, week: Week, unit_ids: Iterable[int]) -> Iterator[Board]:
        """The week's boards of these units' groups, built from one read."""
        with self._db.read() as connection:
            boards = self._boards(connection, week)
        return (boards.of(unit_id) for unit_id in unit_ids)

    def broadcast(self, week: Week, *, now: dt.datetime) -> int:
        """Queue the week's ranking for every registered group that has not had it yet (with
        its picture); how many rows were queued. The snapshot is made first if missing.

        The pictures are drawn between a read and a short write: a broadcast to thousands of
        groups never holds the database's write lock while it draws."""
        self.snapshot(week, now=now)
        campaign = f"ranking:{week.name}"
        with self._db.read() as connection:
            done = OutboxStore(connection).keys_starting(f"{campaign}:")
            boards = self._boards(connection, week)
            groups = [
                (channel, chat_id, unit_id)
                for channel, chat_id, unit_id in store.registered_groups(connection)
                if (channel, f"{campaign}:{chat_id}") not in done and unit_id in boards.units
            ]
            if not groups:
                return 0
            board_of = {unit_id: boards.of(unit_id) for _, _, unit_id in groups}
        drawn = {board.unit_id: board.chart for board in board_of.values()}
        pngs = chart.render_all(list(drawn.values()))
        pictures = {unit_id: str(self._save(png)) for unit_id, png in zip(drawn, pngs, strict=True)}
        queued: list[Queued] = []
        for channel, chat_id, unit_id in groups:
            board = board_of[unit_id]
            reply = Reply(board.text, photo=pictures[board.unit_id])
            payload = payload_of([reply]) | {"fallback": {"unit_id": unit_id, "campaign": campaign}}
            key = f"{campaign}:{chat_id}"
            queued.append(Queued(channel, chat_id, payload, OutboxKind.BROADCAST, None, key))
        with self._db.write() as connection:  # rows another run wrote meanwhile are skipped
            return OutboxStore(connection).add_many(queued, now=now)

    def prune_pictures(self, *, before: dt.datetime) -> int:
        """Delete pictures made before `before` (their posts are long delivered)."""
        removed = 0
        for path in self.images.glob("*.png") if self.images.is_dir() else ():
            if dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) < before:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _save(self, png: bytes) -> Path:
        """Write a picture under a name nobody can guess (Zalo fetches it by URL)."""
        self.images.mkdir(parents=True, exist_ok=True)
        path = self.images / f"{secrets.token_urlsafe(18)}.png"
        path.write_bytes(png)
        return path


class _Boards:
    """Boards of one week, from its standings and the week before's."""

    def __init__(
        self,
        connection: Connection,
        week: Week,
        current: dict[int, Standing],
        previous: dict[int, Standing],
        top: int,
    ) -> None:
        self.units = {u.id: u for u in tree.unit_rows(connection).values()}
        self._week, self._current, self._previous, self._top = week, current, previous, top
        self._children: dict[int | None, list[Standing]] = collections.defaultdict(list)
        for standing in current.values():
            self._children[standing.parent_id].append(standing)
        for group in self._children.values():
            group.sort(key=lambda s: (s.rank, self.units[s.unit_id].code))

    def _change(self, standing: Standing) -> str:
        before = self._previous.get(standing.unit_id)
        if before is None or before.parent_id != standing.parent_id:
            return ""
        return rank_change(standing.rank, before.rank)

    def of(self, unit_id: int) -> Board:
        unit = self.units[unit_id]
        parent_id = unit_id if self._children.get(unit_id) else unit.parent_id
        ranked = self._children.get(parent_id, []) if parent_id is not None else []
        if not ranked and unit_id in self._current:
            ranked, parent_id = [self._current[unit_id]], unit_id
        parent = self.units[parent_id] if parent_id is not None else unit
        shown = ranked[: self._top]
        bars = [self._bar(s, own=s.unit_id == unit_id) for s in shown]
        lines = [
            msg.RANKING_TITLE.format(week=self._week.label),
            msg.RANKING_OF.format(unit=parent.name),
            "",
        ]
        lines += [self._line(s, own=s.unit_id == unit_id) for s in shown]
        own = self._current.get(unit_id)
        if own is not None and parent_id != unit_id and own not in shown:
            lines += ["…", self._line(own, own=True)]
            bars.append(self._bar(own, own=True))
        new = sum(s.new_entries for s in ranked)
        lines += ["", msg.RANKING_NEW.format(count=new)]
        if own is not None and parent_id != unit_id:
            change = self._change(own)
            lines.append(
                msg.RANKING_OWN.format(rank=own.rank, of=len(ranked), change=_said(change))
            )
        title = msg.RANKING_PICTURE_TITLE.format(week=self._week.label)
        return Board(
            parent.id, "\n".join(lines).strip(), title, chart.short(parent.name, 60), tuple(bars)
        )

    def rows(self, parent_id: int) -> list[RankRow]:
        return [
            RankRow(
                self.units[s.unit_id].code,
                self.units[s.unit_id].name,
                s.rank,
                s.valid,
                s.entries,
                s.target,
                round(100 * s.valid / s.target, 1) if s.target else None,
                self._change(s),
            )
            for s in self._children.get(parent_id, [])
        ]

    def _line(self, standing: Standing, *, own: bool) -> str:
        name = self.units[standing.unit_id].name
        share = (
            msg.RANKING_SHARE.format(percent=round(100 * standing.valid / standing.target))
            if standing.target
            else ""
        )
        change = self._change(standing)
        mark = "👉 " if own else ""
        return msg.RANKING_LINE.format(
            mark=mark,
            rank=standing.rank,
            name=name,
            valid=standing.valid,
            share=share,
            change=f" {change}" if change else "",
        )

    def _bar(self, standing: Standing, *, own: bool) -> chart.Bar:
        unit = self.units[standing.unit_id]
        return chart.Bar(
            standing.rank, unit.name, standing.valid, standing.target, self._change(standing), own
        )


def _said(change: str) -> str:
    """A rank change in words, for the group's own line."""
    if change.startswith("▲"):
        return msg.RANKING_UP.format(n=change[1:])
    if change.startswith("▼"):
        return msg.RANKING_DOWN.format(n=change[1:])
    return msg.RANKING_SAME if change == "=" else ""
