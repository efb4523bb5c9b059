"""The similar-idea index: each submitted initiative's folded text and its LSH band keys.

Written in the transaction that submits the initiative, so every process sees it at once and
it survives restarts. A search looks the query's band keys up within one or more provinces
(the primary key starts with the province) and returns the initiatives sharing the most
bands; the caller scores them exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select, update

from storage.models import (
    Initiative,
    InitiativeStatus,
    JoinRequest,
    SimilarBand,
    SimilarEntry,
    Unit,
)

_entry = SimilarEntry.__table__  # type: ignore[attr-defined]
_band = SimilarBand.__table__  # type: ignore[attr-defined]
_initiative = Initiative.__table__  # type: ignore[attr-defined]
_unit = Unit.__table__  # type: ignore[attr-defined]
_join = JoinRequest.__table__  # type: ignore[attr-defined]
# Not ideas anyone stands by: never offered as "the same idea".
_NOT_LISTED = (InitiativeStatus.DRAFT.value, InitiativeStatus.WITHDRAWN.value)


@dataclass(frozen=True, slots=True)
class Indexed:
    """An initiative as the index keeps it."""

    initiative_id: int
    province_id: int
    problem_key: str
    solution_key: str
    bands: Sequence[int]


@dataclass(frozen=True, slots=True)
class Stored:
    """A candidate with what is shown of it."""

    initiative_id: int
    problem_key: str
    solution_key: str
    unit_code: str
    unit_name: str
    title: str
    status: str


def put(connection: Connection, entries: Sequence[Indexed]) -> None:
    """Index initiatives (again: their earlier rows are replaced)."""
    if not entries:
        return
    ids = [entry.initiative_id for entry in entries]
    connection.execute(delete(_band).where(_band.c.initiative_id.in_(ids)))
    connection.execute(delete(_entry).where(_entry.c.initiative_id.in_(ids)))
    connection.execute(
        insert(_entry),
        [
            {
                "initiative_id": e.initiative_id,
                "province_id": e.province_id,
                "problem_key": e.problem_key,
                "solution_key": e.solution_key,
            }
            for e in entries
        ],
    )
    rows = [
        {"province_id": e.province_id, "band": band, "initiative_id": e.initiative_id}
        for e in entries
        for band in set(e.bands)
    ]
    if rows:
        connection.execute(insert(_band), rows)


def clear(connection: Connection) -> None:
    connection.execute(delete(_band))
    connection.execute(delete(_entry))


def candidates(
    connection: Connection, bands: Sequence[int], provinces: Sequence[int], limit: int = 200
) -> list[int]:
    """Initiatives of `provinces` sharing a band with the query, the most shared first."""
    if not bands or not provinces:
        return []
    shared = func.count().label("shared")
    rows = connection.execute(
        select(_band.c.initiative_id, shared)
        .where(_band.c.province_id.in_(provinces), _band.c.band.in_(list(set(bands))))
        .group_by(_band.c.initiative_id)
        .order_by(shared.desc(), _band.c.initiative_id.desc())
        .limit(limit)
    ).all()
    return [row.initiative_id for row in rows]


def stored(connection: Connection, ids: Sequence[int]) -> list[Stored]:
    """The indexed initiatives `ids` that are still ideas (not drafts, not withdrawn)."""
    if not ids:
        return []
    rows = connection.execute(
        select(
            _entry.c.initiative_id,
            _entry.c.problem_key,
            _entry.c.solution_key,
            _unit.c.code,
            _unit.c.name,
            _initiative.c.title,
            _initiative.c.status,
        )
        .join(_initiative, _initiative.c.id == _entry.c.initiative_id)
        .join(_unit, _unit.c.id == _initiative.c.unit_id)
        .where(_entry.c.initiative_id.in_(list(ids)), _initiative.c.status.notin_(_NOT_LISTED))
    ).all()
    return [Stored(*row) for row in rows]


def provinces(connection: Connection) -> list[int]:
    """Every province the index holds initiatives of (0: none)."""
    return list(connection.execute(select(_entry.c.province_id).distinct()).scalars())


def of_initiative(connection: Connection, initiative_id: int) -> tuple[int, str, str] | None:
    """An initiative's province (0: none), problem and change, as stored now."""
    row = connection.execute(
        select(_initiative.c.province_id, _initiative.c.problem, _initiative.c.solution).where(
            _initiative.c.id == initiative_id
        )
    ).first()
    if row is None:
        return None
    return row.province_id or 0, row.problem or "", row.solution or ""


def to_index(connection: Connection, after: int, size: int) -> list[tuple[int, int, str, str]]:
    """Initiatives to (re)index after id `after`, by id: id, province, problem, change."""
    rows = connection.execute(
        select(
            _initiative.c.id,
            _initiative.c.province_id,
            _initiative.c.problem,
            _initiative.c.solution,
        )
        .where(_initiative.c.id > after, _initiative.c.status.notin_(_NOT_LISTED))
        .order_by(_initiative.c.id)
        .limit(size)
    ).all()
    return [(row.id, row.province_id or 0, row.problem or "", row.solution or "") for row in rows]


def count_to_index(connection: Connection) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(_initiative)
            .where(_initiative.c.status.notin_(_NOT_LISTED))
        ).scalar_one()
    )


# --- asking to join a similar idea ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Join:
    """A request to join an idea, with what its answer needs."""

    id: int
    initiative_id: int
    person_id: int
    draft_id: int | None
    status: str
    unit_id: int
    district_id: int | None
    province_id: int | None
    title: str
    co_authors: str | None


def ask_to_join(
    connection: Connection,
    initiative_id: int,
    person_id: int,
    draft_id: int | None,
    now: dt.datetime,
) -> int:
    """Record the request (one pending per person and idea: asking again returns it)."""
    found = connection.execute(
        select(_join.c.id).where(
            _join.c.initiative_id == initiative_id,
            _join.c.person_id == person_id,
            _join.c.status == "pending",
        )
    ).scalar()
    if found is not None:
        return int(found)
    return int(
        connection.execute(
            insert(_join)
            .values(
                initiative_id=initiative_id,
                person_id=person_id,
                draft_id=draft_id,
                status="pending",
                created_at=now,
            )
            .returning(_join.c.id)
        ).scalar_one()
    )


def join(connection: Connection, request_id: int) -> Join | None:
    row = connection.execute(
        select(
            _join.c.id,
            _join.c.initiative_id,
            _join.c.person_id,
            _join.c.draft_id,
            _join.c.status,
            _initiative.c.unit_id,
            _initiative.c.district_id,
            _initiative.c.province_id,
            _initiative.c.title,
            _initiative.c.co_authors,
        )
        .join(_initiative, _initiative.c.id == _join.c.initiative_id)
        .where(_join.c.id == request_id)
    ).first()
    return Join(**row._mapping) if row else None


def decide_join(
    connection: Connection, request_id: int, accept: bool, officer_id: int, now: dt.datetime
) -> bool:
    """Answer a pending request (one statement: two officers cannot both answer it)."""
    result = connection.execute(
        update(_join)
        .where(_join.c.id == request_id, _join.c.status == "pending")
        .values(status="accepted" if accept else "declined", decided_by=officer_id, decided_at=now)
    )
    return bool(result.rowcount)


def add_co_author(connection: Connection, initiative_id: int, name: str, now: dt.datetime) -> None:
    current = connection.execute(
        select(_initiative.c.co_authors).where(_initiative.c.id == initiative_id)
    ).scalar()
    names = [n.strip() for n in (current or "").split(",") if n.strip()]
    if name not in names:
        names.append(name)
    connection.execute(
        update(_initiative)
        .where(_initiative.c.id == initiative_id)
        .values(co_authors=", ".join(names), updated_at=now)
    )


def close_draft(connection: Connection, draft_id: int, person_id: int, now: dt.datetime) -> None:
    """The worker's draft of an idea they joined instead: withdrawn, kept for the record."""
    connection.execute(
        update(_initiative)
        .where(
            _initiative.c.id == draft_id,
            _initiative.c.author_id == person_id,
            _initiative.c.status == InitiativeStatus.DRAFT.value,
        )
        .values(status=InitiativeStatus.WITHDRAWN.value, updated_at=now)
    )
