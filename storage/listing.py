"""Initiatives listed for an officer's pages: a filtered, sorted page of the entries of the
units they serve, and the subtree checks that keep every page inside it.

A "part" is (level, unit id): a unit an officer serves, which reaches its own entries and
everything below it (:data:`storage.units.SCOPE_COLUMN`). Every query here takes the
officer's parts and adds them to its WHERE clause, so an id typed in a URL reaches nothing
outside them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, false, func, or_, select

from storage import units as tree
from storage.models import (
    PENDING_REVIEW,
    SPOKEN,
    WAITING,
    Conversation,
    GroupChat,
    Initiative,
    Person,
    Unit,
    UnitLevel,
    VoiceNote,
)
from storage.units import in_scope

_initiative = Initiative.__table__  # type: ignore[attr-defined]
_unit = Unit.__table__  # type: ignore[attr-defined]
_person = Person.__table__  # type: ignore[attr-defined]
_voice_note = VoiceNote.__table__  # type: ignore[attr-defined]
_conversation = Conversation.__table__  # type: ignore[attr-defined]
_group = GroupChat.__table__  # type: ignore[attr-defined]

Part = tuple[UnitLevel, int]
PENDING = {status.value for status in PENDING_REVIEW}

# How a page of entries may be sorted: name → ORDER BY (ties broken by id).
SORTS: dict[str, tuple[Any, ...]] = {
    "oldest": (_initiative.c.submitted_at.asc(), _initiative.c.id.asc()),
    "newest": (_initiative.c.submitted_at.desc(), _initiative.c.id.desc()),
    # Entries with an amount (the others are left out: `_conditions`), largest first, read
    # backwards from the unit's value index.
    "value": (_initiative.c.benefit_value_vnd.desc(), _initiative.c.id.desc()),
}
# Counted up to this many: "more than 500" is all a reader needs, and it stays fast (a
# filter that few entries meet, such as "has a recording", walks the queue to count).
COUNT_CAP = 500


def within(parts: Sequence[Part]) -> Any:
    """A condition on initiatives: those of the officer's units and below."""
    if not parts:
        return false()
    return or_(*(in_scope(level, unit_id) for level, unit_id in parts))


@dataclass(frozen=True, slots=True)
class Filters:
    """What the queue page asks for. `unit` is a unit id already checked to be in the
    officer's subtree, with its level."""

    unit: Part | None = None
    statuses: tuple[str, ...] = ()
    review_level: str | None = None
    field: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    voice: bool = False
    sort: str = "oldest"


def _conditions(parts: Sequence[Part], filters: Filters) -> list[Any]:
    found = [within(parts), _initiative.c.submitted_at.is_not(None)]
    if filters.unit is not None:
        found.append(in_scope(*filters.unit))
    if set(filters.statuses) == PENDING:
        found.append(WAITING)  # as the partial indexes say it: the queue is read in order
    elif filters.statuses:
        found.append(_initiative.c.status.in_(filters.statuses))
    if filters.review_level:
        found.append(_initiative.c.review_level == filters.review_level)
    if filters.field:
        found.append(_initiative.c.field == filters.field)
    if filters.since is not None:
        found.append(_initiative.c.submitted_at >= filters.since)
    if filters.until is not None:
        found.append(_initiative.c.submitted_at < filters.until)
    if filters.sort == "value":
        found.append(_initiative.c.benefit_value_vnd.is_not(None))
    if filters.voice:
        found.append(SPOKEN)  # as the partial indexes say it
    return found


def page(
    connection: Connection, parts: Sequence[Part], filters: Filters, *, limit: int, offset: int
) -> tuple[list[RowMapping], int]:
    """One page of entries (and the first of the next, if there is one: `limit` + 1 rows at
    most) and how many match (counted up to :data:`COUNT_CAP` + 1)."""
    conditions = _conditions(parts, filters)
    query = (
        select(
            _initiative.c.id,
            _initiative.c.title,
            _initiative.c.status,
            _initiative.c.review_level,
            _initiative.c.field,
            _initiative.c.benefit_value_vnd,
            _initiative.c.submitted_at,
            _initiative.c.unit_id,
            _initiative.c.district_id,
            _initiative.c.province_id,
            _unit.c.code.label("unit_code"),
            _unit.c.name.label("unit_name"),
            _person.c.name.label("author_name"),
            _initiative.c.spoken.label("has_voice"),
        )
        .join(_unit, _unit.c.id == _initiative.c.unit_id)
        .join(_person, _person.c.id == _initiative.c.author_id)
        .where(*conditions)
        .order_by(*SORTS.get(filters.sort, SORTS["oldest"]))
        .limit(limit + 1)
        .offset(offset)
    )
    rows = list(connection.execute(query).mappings())
    capped = select(_initiative.c.id).where(*conditions).limit(COUNT_CAP + 1).subquery()
    total = int(connection.execute(select(func.count()).select_from(capped)).scalar_one())
    return rows, total


def entry(connection: Connection, parts: Sequence[Part], initiative_id: int) -> RowMapping | None:
    """One entry of the officer's subtree with its unit and author, or None (also when it
    exists elsewhere: the page then says 404, as for an id that does not exist)."""
    query = (
        select(
            _initiative,
            _unit.c.code.label("unit_code"),
            _unit.c.name.label("unit_name"),
            _person.c.name.label("author_name"),
        )
        .join(_unit, _unit.c.id == _initiative.c.unit_id)
        .join(_person, _person.c.id == _initiative.c.author_id)
        .where(_initiative.c.id == initiative_id, within(parts))
    )
    return connection.execute(query).mappings().first()


def unit_in(connection: Connection, parts: Sequence[Part], code: str) -> RowMapping | None:
    """The unit `code` if it is one of the officer's units or below one of them."""
    row = connection.execute(select(_unit).where(_unit.c.code == code.upper())).mappings().first()
    if row is None:
        return None
    served = {unit_id for _, unit_id in parts}
    if any(level is UnitLevel.NATIONAL for level, _ in parts):
        return row
    next_id: int | None = row["id"]
    for _ in range(6):  # four levels: the chain is never longer
        if next_id is None:
            return None
        if next_id in served:
            return row
        next_id = connection.execute(
            select(_unit.c.parent_id).where(_unit.c.id == next_id)
        ).scalar()
    return None


def codes_within(connection: Connection, parts: Sequence[Part]) -> set[str]:
    """The codes of the officer's units and every unit below them, from one read of the
    tree: for filtering many rows at once, where :func:`unit_in` would ask per row."""
    rows = tree.unit_rows(connection)
    if any(level is UnitLevel.NATIONAL for level, _ in parts):
        return set(rows)
    served = {unit_id for _, unit_id in parts}
    by_id = {row.id: row for row in rows.values()}
    return {
        code
        for code, row in rows.items()
        if any(above.id in served for above in tree.ancestors(by_id, row.id))
    }


def voice_notes(connection: Connection, initiative_id: int) -> list[RowMapping]:
    """Every kept recording of an entry, oldest first: id, field, duration, what was heard."""
    query = (
        select(
            _voice_note.c.id,
            _voice_note.c.field,
            _voice_note.c.path,
            _voice_note.c.duration_s,
            _voice_note.c.text,
            _voice_note.c.created_at,
        )
        .where(_voice_note.c.initiative_id == initiative_id, _voice_note.c.path != "")
        .order_by(_voice_note.c.id)
    )
    return list(connection.execute(query).mappings())


def chat_units(
    connection: Connection, chats: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The unit code each chat belongs to: a group's unit, a person's union."""
    if not chats:
        return {}
    ids = sorted({chat for _, chat in chats})
    found: dict[tuple[str, str], str] = {}
    people = (
        select(_conversation.c.channel, _conversation.c.chat_id, _unit.c.code)
        .join(_person, _person.c.id == _conversation.c.person_id)
        .join(_unit, _unit.c.id == _person.c.unit_id)
        .where(_conversation.c.chat_id.in_(ids))
    )
    groups = (
        select(_group.c.channel, _group.c.chat_id, _unit.c.code)
        .join(_unit, _unit.c.id == _group.c.unit_id)
        .where(_group.c.chat_id.in_(ids))
    )
    for query in (people, groups):
        for channel, chat_id, code in connection.execute(query):
            found[(channel, chat_id)] = code
    return found
