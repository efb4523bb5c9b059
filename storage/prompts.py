"""Units' prompt packs: a recording of each message a worker hears, by unit and message key.

A worker hears their grassroots union's clip of a message if it has one, else the nearest
unit's above it (:func:`candidates`, nearest first). Whether a clip still says its message
(it is stale once the message is reworded) is the caller's to judge: storage keeps the text
it was checked against.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from storage.models import Person, PromptClip, Unit, VoiceNote

_clip = PromptClip.__table__  # type: ignore[attr-defined]
_unit = Unit.__table__  # type: ignore[attr-defined]
_person = Person.__table__  # type: ignore[attr-defined]
_voice_note = VoiceNote.__table__  # type: ignore[attr-defined]
_DEPTH = 4  # grassroots, district, province, national


@dataclass(frozen=True, slots=True)
class ClipRow:
    id: int
    unit_id: int
    message_key: str
    path: str
    duration_s: float
    checked_text: str
    heard: str
    score: float | None
    recorder: str
    recorded_at: dt.datetime
    telegram_file_id: str | None


_COLUMNS = [_clip.c[name] for name in ClipRow.__slots__]


def chain(connection: Connection, unit_id: int) -> list[int]:
    """The unit and the units above it, nearest first (one query)."""
    levels = [aliased(_unit) for _ in range(_DEPTH)]
    query = select(*(level.c.id for level in levels)).select_from(levels[0])
    for below, above in itertools.pairwise(levels):
        query = query.outerjoin(above, above.c.id == below.c.parent_id)
    row = connection.execute(query.where(levels[0].c.id == unit_id)).first()
    return [unit for unit in (row or ()) if unit is not None]


def candidates(connection: Connection, units: Sequence[int], keys: Iterable[str]) -> list[ClipRow]:
    """The clips of `keys` that the units of `units` have, the first unit's first."""
    wanted = sorted(set(keys))
    if not units or not wanted:
        return []
    rows = connection.execute(
        select(*_COLUMNS).where(_clip.c.unit_id.in_(units), _clip.c.message_key.in_(wanted))
    ).all()
    rank = {unit: n for n, unit in enumerate(units)}
    return [ClipRow(*row) for row in sorted(rows, key=lambda r: rank[r.unit_id])]


def clips_of(connection: Connection, unit_id: int) -> dict[str, ClipRow]:
    """A unit's own clips by message key."""
    rows = connection.execute(select(*_COLUMNS).where(_clip.c.unit_id == unit_id)).all()
    return {row.message_key: ClipRow(*row) for row in rows}


def all_clips(connection: Connection) -> list[tuple[str, ClipRow]]:
    """Every clip with its unit's code, by unit code and key."""
    rows = connection.execute(
        select(_unit.c.code, *_COLUMNS)
        .join(_unit, _unit.c.id == _clip.c.unit_id)
        .order_by(_unit.c.code, _clip.c.message_key)
    ).all()
    return [(row[0], ClipRow(*row[1:])) for row in rows]


def save(
    connection: Connection,
    *,
    unit_id: int,
    message_key: str,
    path: str,
    duration_s: float,
    checked_text: str,
    heard: str,
    score: float | None,
    recorder: str,
    recorded_by: int | None,
    now: dt.datetime,
) -> str | None:
    """Keep a clip, replacing the unit's earlier one of the message (and its messenger ids);
    the replaced clip's file, for the caller to remove, or None."""
    before = connection.execute(
        select(_clip.c.path).where(_clip.c.unit_id == unit_id, _clip.c.message_key == message_key)
    ).scalar()
    values = {
        "unit_id": unit_id,
        "message_key": message_key,
        "path": path,
        "duration_s": duration_s,
        "checked_text": checked_text,
        "heard": heard,
        "score": score,
        "recorder": recorder[:100],
        "recorded_by": recorded_by,
        "recorded_at": now,
        "telegram_file_id": None,
    }
    insert_of = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert_of(_clip).values(values)
    changed = {k: v for k, v in values.items() if k not in ("unit_id", "message_key")}
    connection.execute(
        statement.on_conflict_do_update(index_elements=["unit_id", "message_key"], set_=changed)
    )
    return before if before != path else None


def remember_file_id(connection: Connection, clip_id: int, file_id: str) -> None:
    """Telegram's id of an uploaded clip: sent by id from now on."""
    connection.execute(
        update(_clip).where(_clip.c.id == clip_id).values(telegram_file_id=file_id[:200])
    )


def note_path(connection: Connection, note_id: int, person_id: int) -> str | None:
    """The audio file of the person's voice note `note_id` (empty when audio is not kept)."""
    path: str | None = connection.execute(
        select(_voice_note.c.path).where(
            _voice_note.c.id == note_id, _voice_note.c.person_id == person_id
        )
    ).scalar()
    return path or None


def person_unit(connection: Connection, person_id: int) -> tuple[str, int, str] | None:
    """The person's name, grassroots union and its name; None without a union."""
    row = connection.execute(
        select(_person.c.name, _unit.c.id, _unit.c.name.label("unit_name"))
        .join(_unit, _unit.c.id == _person.c.unit_id)
        .where(_person.c.id == person_id)
    ).first()
    return (row.name or "?", row.id, row.unit_name) if row else None
