"""People an officer enters ideas for: found by name or phone within a part of the unit tree,
or added by the officer. Core statements on the caller's connection; nothing here commits.

A person belongs to a grassroots union (``person.unit_id``); a district or province officer's
part of the tree is reached through that union's parent and grandparent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, exists, insert, or_, select, true

from storage.models import Conversation, Identity, Membership, Person, Role, Unit, UnitLevel

_person = Person.__table__  # type: ignore[attr-defined]
_unit = Unit.__table__  # type: ignore[attr-defined]
_district = _unit.alias("district")
_identity = Identity.__table__  # type: ignore[attr-defined]
_conversation = Conversation.__table__  # type: ignore[attr-defined]
_membership = Membership.__table__  # type: ignore[attr-defined]

# Has a private chat with the bot on an account that has not blocked it: can answer there.
_REACHABLE = exists(
    select(_identity.c.id)
    .join(
        _conversation,
        and_(
            _conversation.c.channel == _identity.c.channel,
            _conversation.c.chat_id == _identity.c.external_id,
        ),
    )
    .where(_identity.c.person_id == _person.c.id, _identity.c.unreachable.is_(False))
).label("reachable")

_WORKER_COLUMNS = (
    _person.c.id,
    _person.c.name,
    _person.c.phone,
    _unit.c.code.label("unit_code"),
    _unit.c.name.label("unit_name"),
    _REACHABLE,
)


def _in_part(level: UnitLevel, unit_id: int) -> Any:
    """A condition on people (joined to their union and its district): those of the unit
    `unit_id` of `level` or below it."""
    if level is UnitLevel.GRASSROOTS:
        return _person.c.unit_id == unit_id
    if level is UnitLevel.DISTRICT:
        return _unit.c.parent_id == unit_id
    if level is UnitLevel.PROVINCE:
        return _district.c.parent_id == unit_id
    return true()


def _in_parts(parts: Sequence[tuple[UnitLevel, int]]) -> Any:
    return or_(*(_in_part(level, unit_id) for level, unit_id in parts))


def _workers() -> Any:
    return (
        select(*_WORKER_COLUMNS)
        .select_from(
            _person.join(_unit, _unit.c.id == _person.c.unit_id).outerjoin(
                _district, _district.c.id == _unit.c.parent_id
            )
        )
        .where(_unit.c.level == UnitLevel.GRASSROOTS.value, _person.c.name.is_not(None))
    )


class PeopleStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def find(
        self,
        parts: Sequence[tuple[UnitLevel, int]],
        *,
        words: Sequence[str] = (),
        phone: str | None = None,
        limit: int = 50,
    ) -> Sequence[RowMapping]:
        """People in any of the `parts` of the tree whose name has a word beginning with each
        of `words` ("an", "van an"), or whose phone is `phone`: id, name, phone, unit code and
        name, and whether they can be reached in a chat."""
        if not parts or (not words and phone is None):
            return []
        query = _workers().where(_in_parts(parts))
        if phone is not None:
            query = query.where(_person.c.phone == phone)
        for word in words:
            key = _person.c.name_key
            query = query.where(or_(key.like(f"{word}%"), key.like(f"% {word}%")))
        query = query.order_by(_person.c.name, _person.c.id).limit(limit)
        return self.connection.execute(query).mappings().all()

    def worker(
        self, person_id: int, parts: Sequence[tuple[UnitLevel, int]] | None
    ) -> RowMapping | None:
        """The person as :meth:`find` describes them, if they are in one of the `parts` (None:
        wherever they are)."""
        query = _workers().where(_person.c.id == person_id)
        if parts is not None:
            if not parts:
                return None
            query = query.where(_in_parts(parts))
        return self.connection.execute(query).mappings().first()

    def add(self, values: dict[str, Any]) -> int:
        """A new person (name, name_key, phone, unit_id, timestamps), a worker of their union."""
        person_id = int(
            self.connection.execute(insert(_person).returning(_person.c.id), values).scalar_one()
        )
        self.connection.execute(
            insert(_membership),
            {"person_id": person_id, "unit_id": values["unit_id"], "role": Role.WORKER.value},
        )
        return person_id
