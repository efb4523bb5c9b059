"""What reminders are made of: entries waiting longest, drafts left alone, the people to
nudge and their wish not to be. Core statements on the caller's connection; nothing commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, or_, select, update

from storage.models import (
    Conversation,
    Identity,
    Initiative,
    InitiativeStatus,
    Person,
    UnitLevel,
)
from storage.review import Scope, waiting
from storage.units import in_scope

_initiative = Initiative.__table__  # type: ignore[attr-defined]
_person = Person.__table__  # type: ignore[attr-defined]
_conversation = Conversation.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Stalled:
    """A worker whose draft nobody touched for days, and the private chat to nudge them in."""

    person_id: int
    channel: str
    chat_id: str
    title: str


def oldest_waiting(connection: Connection, scope: Scope, level: UnitLevel) -> dt.datetime | None:
    """When the longest-waiting entry at `level` in the scope was submitted."""
    value: dt.datetime | None = connection.execute(
        select(func.min(_initiative.c.submitted_at)).where(*waiting(scope, level))
    ).scalar()
    return value


def stalled_drafts(connection: Connection, scope: Scope, *, before: dt.datetime) -> int:
    """Drafts in the scope's part of the tree last touched before `before`."""
    query = select(func.count()).where(
        in_scope(scope.level, scope.unit_id),
        _initiative.c.status == InitiativeStatus.DRAFT.value,
        _initiative.c.updated_at < before,
    )
    return int(connection.execute(query).scalar_one())


def to_nudge(
    connection: Connection, *, stalled_before: dt.datetime, reminded_before: dt.datetime
) -> list[Stalled]:
    """Authors of a draft untouched since `stalled_before`, in a conversation as quiet, who
    did not turn reminders off and were not reminded since `reminded_before`: one row per
    person (their newest such draft, their chat with the bot on a reachable account)."""
    query = (
        select(
            _person.c.id,
            _conversation.c.channel,
            _conversation.c.chat_id,
            _initiative.c.title,
        )
        .join(_initiative, _initiative.c.author_id == _person.c.id)
        .join(_conversation, _conversation.c.person_id == _person.c.id)
        .join(
            _identity,
            and_(
                _identity.c.person_id == _person.c.id,
                _identity.c.channel == _conversation.c.channel,
                _identity.c.external_id == _conversation.c.chat_id,
            ),
        )
        .where(
            _initiative.c.status == InitiativeStatus.DRAFT.value,
            _initiative.c.updated_at < stalled_before,
            _conversation.c.last_activity < stalled_before,
            _person.c.reminders_off.is_(False),
            or_(_person.c.reminded_at.is_(None), _person.c.reminded_at < reminded_before),
            _identity.c.unreachable.is_(False),
        )
        .order_by(_person.c.id, _initiative.c.updated_at.desc())
    )
    found: dict[int, Stalled] = {}
    for person_id, channel, chat_id, title in connection.execute(query):
        found.setdefault(person_id, Stalled(person_id, channel, chat_id, title or ""))
    return list(found.values())


def reminded(connection: Connection, person_ids: list[int], *, now: dt.datetime) -> None:
    if person_ids:
        connection.execute(
            update(_person).where(_person.c.id.in_(person_ids)).values(reminded_at=now)
        )


def reminded_at(connection: Connection, person_id: int) -> dt.datetime | None:
    """When the person was last reminded of a stalled draft (None: never)."""
    value: dt.datetime | None = connection.execute(
        select(_person.c.reminded_at).where(_person.c.id == person_id)
    ).scalar()
    return value


def stop_reminders(connection: Connection, person_id: int) -> None:
    connection.execute(update(_person).where(_person.c.id == person_id).values(reminders_off=True))
