"""Union group chats registered for a unit's weekly ranking, and who to tell when a group
post fails: prebuilt Core statements on the caller's connection, like the turn's SQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, bindparam, insert, select, update

from storage.models import GroupChat, Identity, Membership, Role

_group_chat = GroupChat.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_membership = Membership.__table__  # type: ignore[attr-defined]

_SELECT_GROUP = select(_group_chat.c.id, _group_chat.c.unit_id).where(
    _group_chat.c.channel == bindparam("of_channel"), _group_chat.c.chat_id == bindparam("chat")
)
_INSERT_GROUP = insert(_group_chat)
_UPDATE_GROUP = update(_group_chat).where(_group_chat.c.id == bindparam("row_id"))
_SELECT_OFFICER_CHATS = (
    select(_identity.c.external_id)
    .join(_membership, _membership.c.person_id == _identity.c.person_id)
    .where(
        _membership.c.unit_id == bindparam("unit_id"),
        _membership.c.role == Role.OFFICER.value,
        _identity.c.channel == bindparam("of_channel"),
        _identity.c.unreachable.is_(False),
    )
    .order_by(_identity.c.external_id)
)


class GroupStore:
    """Reads and writes of group chats inside the caller's transaction on `connection`."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def bind(
        self, channel: str, chat_id: str, unit_id: int, person_id: int, *, now: dt.datetime
    ) -> None:
        """Register a group chat for a unit (moving it if it served another unit)."""
        found = self._connection.execute(
            _SELECT_GROUP, {"of_channel": channel, "chat": chat_id}
        ).first()
        values = {"unit_id": unit_id, "registered_by": person_id}
        if found is None:
            self._connection.execute(
                _INSERT_GROUP,
                values | {"channel": channel, "chat_id": chat_id, "created_at": now},
            )
        else:
            self._connection.execute(_UPDATE_GROUP, values | {"row_id": found.id})

    def unit_of(self, channel: str, chat_id: str) -> int | None:
        found = self._connection.execute(
            _SELECT_GROUP, {"of_channel": channel, "chat": chat_id}
        ).first()
        return found.unit_id if found else None

    def officer_chats(self, unit_id: int, channel: str) -> list[str]:
        """Reachable chats of the unit's officers on `channel`."""
        rows = self._connection.execute(
            _SELECT_OFFICER_CHATS, {"unit_id": unit_id, "of_channel": channel}
        )
        return [row.external_id for row in rows]
