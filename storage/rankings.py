"""Weekly ranking snapshots and the counts they are made of: Core statements on the caller's
connection. Nothing here commits.

The counts are one grouped query over the grassroots unions (the covering index
``ix_initiative_unit_status`` answers it); the services add them up the tree in memory, which
for tens of thousands of units is faster than one grouped query per level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, case, delete, func, insert, select

from storage.models import (
    GroupChat,
    Initiative,
    InitiativeStatus,
    RankingSnapshot,
    Unit,
)

_initiative = Initiative.__table__  # type: ignore[attr-defined]
_snapshot = RankingSnapshot.__table__  # type: ignore[attr-defined]
_group_chat = GroupChat.__table__  # type: ignore[attr-defined]
_unit = Unit.__table__  # type: ignore[attr-defined]

# Entries that count: sent for review, whatever became of them since. Drafts, entries still
# waiting for their author's yes and withdrawn ones do not.
COUNTED = (
    InitiativeStatus.SUBMITTED,
    InitiativeStatus.UNDER_REVIEW,
    InitiativeStatus.VALID,
    InitiativeStatus.RETURNED,
    InitiativeStatus.REJECTED,
)


@dataclass(frozen=True, slots=True)
class Tally:
    """One grassroots union's entries up to a cut-off."""

    valid: int
    entries: int
    new_entries: int


@dataclass(frozen=True, slots=True)
class Standing:
    """A snapshot row: one unit's counts and rank among its siblings in one week."""

    unit_id: int
    parent_id: int | None
    valid: int
    entries: int
    new_entries: int
    target: int | None
    rank: int


def tally_grassroots(
    connection: Connection, *, week_start: dt.datetime, cutoff: dt.datetime
) -> dict[int, Tally]:
    """Per grassroots union: valid entries and all entries submitted before `cutoff`, and
    those submitted since `week_start`."""
    submitted = _initiative.c.submitted_at
    query = (
        select(
            _initiative.c.unit_id,
            func.sum(case((_initiative.c.status == InitiativeStatus.VALID.value, 1), else_=0)),
            func.count(),
            func.sum(case((submitted >= week_start, 1), else_=0)),
        )
        .where(
            _initiative.c.status.in_([status.value for status in COUNTED]),
            submitted < cutoff,
        )
        .group_by(_initiative.c.unit_id)
    )
    return {
        unit_id: Tally(int(valid or 0), int(entries), int(new or 0))
        for unit_id, valid, entries, new in connection.execute(query)
    }


def weeks(connection: Connection, limit: int) -> list[str]:
    """Weeks with a stored snapshot, the latest first."""
    query = select(_snapshot.c.week).distinct().order_by(_snapshot.c.week.desc()).limit(limit)
    return [row.week for row in connection.execute(query)]


def has_snapshot(connection: Connection, week: str) -> bool:
    found = connection.execute(select(_snapshot.c.unit_id).where(_snapshot.c.week == week).limit(1))
    return found.first() is not None


def save_snapshot(
    connection: Connection, week: str, standings: Sequence[Standing], *, now: dt.datetime
) -> None:
    """Store a week's standings (replacing any there were for that week)."""
    connection.execute(delete(_snapshot).where(_snapshot.c.week == week))
    rows = [
        {
            "week": week,
            "unit_id": s.unit_id,
            "parent_id": s.parent_id,
            "valid": s.valid,
            "entries": s.entries,
            "new_entries": s.new_entries,
            "target": s.target,
            "rank": s.rank,
            "computed_at": now,
        }
        for s in standings
    ]
    for start in range(0, len(rows), 5000):
        connection.execute(insert(_snapshot), rows[start : start + 5000])


def standings(connection: Connection, week: str) -> dict[int, Standing]:
    """Every unit's standing in `week`, by unit id (empty when the week was never ranked)."""
    rows = connection.execute(
        select(
            _snapshot.c.unit_id,
            _snapshot.c.parent_id,
            _snapshot.c.valid,
            _snapshot.c.entries,
            _snapshot.c.new_entries,
            _snapshot.c.target,
            _snapshot.c.rank,
        ).where(_snapshot.c.week == week)
    )
    return {row.unit_id: Standing(*row) for row in rows}


def registered_groups(connection: Connection) -> list[tuple[str, str, int]]:
    """Every group chat registered for a ranking: channel, chat id, unit id."""
    rows = connection.execute(
        select(_group_chat.c.channel, _group_chat.c.chat_id, _group_chat.c.unit_id).order_by(
            _group_chat.c.id
        )
    )
    return [(row.channel, row.chat_id, row.unit_id) for row in rows]
