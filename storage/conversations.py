"""The SQL of one conversation turn, as statements built once and run on one connection.

This is the hottest path of the system: every message a worker sends runs it. Prebuilt Core
statements with parameters skip the ORM's unit of work and statement construction, which cost
more than the database itself on SQLite. Timestamps come from the caller's clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.db import DriverStatement
from storage.models import (
    Conversation,
    Identity,
    Initiative,
    InitiativeStatus,
    Membership,
    Person,
    ProcessedUpdate,
    Role,
    Unit,
    UnitLevel,
    VoiceNote,
)
from storage.received import ReceivedStore

_conversation = Conversation.__table__  # type: ignore[attr-defined]
_initiative = Initiative.__table__  # type: ignore[attr-defined]
_person = Person.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_unit = Unit.__table__  # type: ignore[attr-defined]
_membership = Membership.__table__  # type: ignore[attr-defined]
_voice_note = VoiceNote.__table__  # type: ignore[attr-defined]
_processed = ProcessedUpdate.__table__  # type: ignore[attr-defined]

# The chat's state, and whether the person writing was marked unreachable (to lift the mark).
_SELECT_CONVERSATION = (
    select(
        _conversation.c.id,
        _conversation.c.person_id,
        _conversation.c.state,
        _identity.c.unreachable,
    )
    .select_from(
        _conversation.outerjoin(
            _identity,
            (_identity.c.channel == _conversation.c.channel)
            & (_identity.c.external_id == bindparam("user_id")),
        )
    )
    .where(
        _conversation.c.channel == bindparam("channel"),
        _conversation.c.chat_id == bindparam("chat_id"),
    )
)
_SELECT_CONVERSATION_LOCKED = _SELECT_CONVERSATION.with_for_update(of=_conversation)
# Statements without .values(): the columns set come from the parameters at execution.
_INSERT_CONVERSATION = insert(_conversation)
_UPDATE_CONVERSATION = update(_conversation).where(_conversation.c.id == bindparam("row_id"))
# Every turn reads and writes its conversation: straight to the driver (see DriverStatement).
_READ_CONVERSATION = {
    False: DriverStatement(_SELECT_CONVERSATION),
    True: DriverStatement(_SELECT_CONVERSATION_LOCKED),
}
_WRITE_CONVERSATION = DriverStatement(_UPDATE_CONVERSATION)

_SELECT_PERSON = (
    select(_person.c.id, _person.c.name)
    .join(_identity, _identity.c.person_id == _person.c.id)
    .where(
        _identity.c.channel == bindparam("channel"),
        _identity.c.external_id == bindparam("external_id"),
    )
)
_district = _unit.alias("district")
_SELECT_ANCESTORS = (
    select(_district.c.id.label("district_id"), _district.c.parent_id.label("province_id"))
    .select_from(_unit.join(_district, _district.c.id == _unit.c.parent_id))
    .where(_unit.c.id == bindparam("unit_id"))
)
_SELECT_PERSON_NAME = select(_person.c.name).where(_person.c.id == bindparam("row_id"))
_INSERT_PERSON = insert(_person).returning(_person.c.id)
_INSERT_IDENTITY = insert(_identity)
_UPDATE_PERSON = update(_person).where(_person.c.id == bindparam("row_id"))

_SELECT_MEMBERSHIP = select(_membership.c.person_id).where(
    _membership.c.person_id == bindparam("person_id"),
    _membership.c.unit_id == bindparam("unit_id"),
    _membership.c.role == bindparam("role"),
)
_INSERT_MEMBERSHIP = {
    "sqlite": sqlite_insert(_membership).on_conflict_do_nothing(),
    "postgresql": pg_insert(_membership).on_conflict_do_nothing(),
}

_INSERT_VOICE_NOTE = insert(_voice_note).returning(_voice_note.c.id)
_LINK_VOICE_NOTE = update(_voice_note).where(
    _voice_note.c.id == bindparam("row_id"), _voice_note.c.person_id == bindparam("person")
)

_SELECT_PROCESSED = select(_processed.c.update_key).where(
    _processed.c.channel == bindparam("channel"), _processed.c.update_key == bindparam("key")
)
# One statement claims an update: the insert does nothing when the id is there already (on
# PostgreSQL it waits for a concurrent claim of the same id, then does nothing).
# RETURNING says whether the row went in: psycopg reports no rowcount (-1) for it.
_CLAIM_PROCESSED = {
    "sqlite": sqlite_insert(_processed).on_conflict_do_nothing().returning(_processed.c.channel),
    "postgresql": pg_insert(_processed).on_conflict_do_nothing().returning(_processed.c.channel),
}
_DELETE_PROCESSED_BEFORE = delete(_processed).where(_processed.c.created_at < bindparam("before"))
_MARK_UNREACHABLE = update(_identity).where(
    _identity.c.channel == bindparam("of_channel"),
    _identity.c.external_id == bindparam("external"),
)
_MARK_REACHABLE_AGAIN = (
    update(_identity)
    .where(
        _identity.c.channel == bindparam("of_channel"),
        _identity.c.external_id == bindparam("external"),
        _identity.c.unreachable.is_(True),
    )
    .values(unreachable=False)
)
_SELECT_UNIT = select(_unit.c.id, _unit.c.code, _unit.c.name, _unit.c.level).where(
    _unit.c.code == bindparam("code")
)
_SELECT_UNIT_LOOSE = (
    select(_unit.c.id, _unit.c.code, _unit.c.name, _unit.c.level)
    .where(func.replace(_unit.c.code, "-", "") == bindparam("key"))
    .limit(2)
)
_SELECT_GRASSROOTS_CODES = select(_unit.c.code).where(_unit.c.level == UnitLevel.GRASSROOTS.value)
_SELECT_UNIT_BY_ID = select(_unit.c.id, _unit.c.code, _unit.c.name, _unit.c.parent_id).where(
    _unit.c.id == bindparam("unit_id")
)

_IDEA_COLUMNS = (
    _initiative.c.id,
    _initiative.c.title,
    _initiative.c.status,
    _initiative.c.updated_at,
)
_IN_STATUSES = _initiative.c.status.in_(bindparam("statuses", expanding=True))
_NEWEST_FIRST = (_initiative.c.updated_at.desc(), _initiative.c.id.desc())
_SELECT_IDEAS = (
    select(*_IDEA_COLUMNS)
    .where(_initiative.c.author_id == bindparam("author"), _IN_STATUSES)
    .order_by(*_NEWEST_FIRST)
    .limit(bindparam("limit"))
)
# What a person edits: what they wrote themselves, and what they entered for somebody else
# (an idea an officer entered is the officer's to edit, not its author's).
_SELECT_EDITABLE = (
    select(*_IDEA_COLUMNS)
    .where(
        or_(
            and_(
                _initiative.c.author_id == bindparam("author"),
                _initiative.c.entered_by_id.is_(None),
            ),
            _initiative.c.entered_by_id == bindparam("author"),
        ),
        _IN_STATUSES,
    )
    .order_by(*_NEWEST_FIRST)
    .limit(bindparam("limit"))
)
_SELECT_INITIATIVE = select(_initiative).where(_initiative.c.id == bindparam("row_id"))
_SELECT_QUEUE_FACTS = select(_initiative.c.review_level, _initiative.c.confirmed_by_id).where(
    _initiative.c.id == bindparam("row_id")
)
_INSERT_INITIATIVE = insert(_initiative).returning(_initiative.c.id)
_UPDATE_INITIATIVE = update(_initiative).where(
    _initiative.c.id == bindparam("row_id"),
    or_(
        _initiative.c.author_id == bindparam("author"),
        _initiative.c.entered_by_id == bindparam("author"),
    ),
)
# A draft's answer, on most turns of a submission (see DriverStatement).
_WRITE_INITIATIVE = DriverStatement(_UPDATE_INITIATIVE)


class ConversationStore:
    """Reads and writes of one turn, inside the caller's transaction on `connection`."""

    def __init__(self, connection: Connection, *, lock: bool = False) -> None:
        self.connection = connection
        self._lock = lock

    def _run(self, statement: Any, parameters: dict[str, Any]) -> Any:
        return self.connection.execute(statement, parameters)

    def conversation(
        self, channel: str, chat_id: str, user_id: str
    ) -> tuple[int, int, dict[str, Any], bool] | None:
        """(id, person_id, state, writer marked unreachable) of a chat; with `lock`, its row
        is held until the transaction ends."""
        parameters = {"channel": channel, "chat_id": chat_id, "user_id": user_id}
        row = _READ_CONVERSATION[self._lock].first(self.connection, parameters)
        if row is None:
            return None
        conversation_id, person_id, state, unreachable = row
        return conversation_id, person_id, state, bool(unreachable)

    def save_conversation(self, conversation_id: int | None, values: dict[str, Any]) -> None:
        """Insert (id None; `values` then names channel, chat_id, person_id) or update."""
        if conversation_id is None:
            self._run(_INSERT_CONVERSATION, values)
        else:
            _WRITE_CONVERSATION.execute(self.connection, values | {"row_id": conversation_id})

    def person_for(
        self, channel: str, external_id: str, *, now: dt.datetime
    ) -> tuple[int, str | None]:
        """(id, name) of the person behind a chat account, created on first contact."""
        row = self._run(_SELECT_PERSON, {"channel": channel, "external_id": external_id}).first()
        if row is not None:
            return row.id, row.name
        person_id: int = self._run(
            _INSERT_PERSON, {"created_at": now, "updated_at": now}
        ).scalar_one()
        self._run(
            _INSERT_IDENTITY,
            {
                "person_id": person_id,
                "channel": channel,
                "external_id": external_id,
                "unreachable": False,
                "created_at": now,
            },
        )
        return person_id, None

    def update_person(self, person_id: int, values: dict[str, Any]) -> None:
        self._run(_UPDATE_PERSON, values | {"row_id": person_id})

    def add_role(self, person_id: int, unit_id: int, role: Role) -> None:
        """Record that the person has `role` in the unit (once)."""
        key = {"person_id": person_id, "unit_id": unit_id, "role": role.value}
        self._run(_INSERT_MEMBERSHIP[self.connection.dialect.name], key)

    def add_voice_note(self, values: dict[str, Any]) -> int:
        note_id: int = self._run(_INSERT_VOICE_NOTE, values).scalar_one()
        return note_id

    def link_voice_notes(self, person_id: int, initiative_id: int, notes: dict[str, int]) -> None:
        """Mark each of the person's notes as the answer to `field` of the initiative."""
        for field, note_id in notes.items():
            self._run(
                _LINK_VOICE_NOTE,
                {
                    "row_id": note_id,
                    "person": person_id,
                    "initiative_id": initiative_id,
                    "field": field,
                },
            )

    def seen(self, channel: str, key: str) -> bool:
        return self._run(_SELECT_PROCESSED, {"channel": channel, "key": key}).first() is not None

    def claim_update(self, channel: str, key: str, *, now: dt.datetime) -> bool:
        """Record the update as processed; False when it already was (a redelivery).

        Two deliveries of one update in flight at once serialise on the conversation row (and
        on the id itself), so the second finds the first's claim.
        """
        row = {"channel": channel, "update_key": key, "created_at": now}
        claim = _CLAIM_PROCESSED[self.connection.dialect.name]
        ReceivedStore(self.connection).done(channel, key)  # handled now, or before
        return self._run(claim, row).first() is not None

    def forget_processed(self, before: dt.datetime) -> int:
        """Drop the record of updates processed before `before`; returns how many.

        Messengers redeliver within minutes, so a few days of ids is plenty; without pruning
        the table grows by every message ever received.
        """
        return int(self._run(_DELETE_PROCESSED_BEFORE, {"before": before}).rowcount or 0)

    def set_unreachable(self, channel: str, external_id: str) -> None:
        self._run(
            _MARK_UNREACHABLE,
            {"of_channel": channel, "external": external_id, "unreachable": True},
        )

    def reachable_again(self, channel: str, external_id: str) -> None:
        """The user wrote: whatever blocked them before, they can be answered now."""
        self._run(_MARK_REACHABLE_AGAIN, {"of_channel": channel, "external": external_id})

    def has_role(self, person_id: int, unit_id: int, role: Role) -> bool:
        key = {"person_id": person_id, "unit_id": unit_id, "role": role.value}
        return self._run(_SELECT_MEMBERSHIP, key).first() is not None

    def unit_and_ancestors(self, unit_id: int) -> list[RowMapping]:
        """The unit, its parent, and so on up to the confederation."""
        chain: list[RowMapping] = []
        next_id: int | None = unit_id
        while next_id is not None and len(chain) < 10:
            row = self._run(_SELECT_UNIT_BY_ID, {"unit_id": next_id}).mappings().first()
            if row is None:
                break
            chain.append(row)
            next_id = row["parent_id"]
        return chain

    def district_and_province(self, unit_id: int) -> tuple[int | None, int | None]:
        """The district above a grassroots union and the province above that, in one look-up."""
        row = self._run(_SELECT_ANCESTORS, {"unit_id": unit_id}).first()
        return (row.district_id, row.province_id) if row else (None, None)

    def unit(self, code: str) -> RowMapping | None:
        """id, code, name and level of the unit with `code` (codes are stored upper-case)."""
        return self._run(_SELECT_UNIT, {"code": code.upper()}).mappings().first()

    def unit_as_typed(self, code: str) -> RowMapping | None:
        """The unit a person means by `code`: its code in any case, hyphens optional."""
        return self.unit(code) or self.unit_without_hyphens(code)

    def unit_without_hyphens(self, code: str) -> RowMapping | None:
        """The unit whose code is `code` once hyphens are ignored ("HNDM01" is HN-DM01);
        None when there is none, or more than one."""
        key = code.upper().replace("-", "")
        rows = self._run(_SELECT_UNIT_LOOSE, {"key": key}).mappings().all()
        return rows[0] if len(rows) == 1 else None

    def grassroots_codes(self) -> list[str]:
        """Every grassroots unit's code (for suggestions when a code is not found)."""
        return list(self._run(_SELECT_GRASSROOTS_CODES, {}).scalars())

    def ideas(
        self,
        person_id: int,
        statuses: Iterable[InitiativeStatus],
        *,
        editing: bool = False,
        limit: int = 20,
    ) -> Sequence[RowMapping]:
        """id, title, status, updated_at of the person's initiatives, newest change first:
        those they are the author of, or (`editing`) those they edit: written themselves or
        entered for somebody else."""
        parameters = {"author": person_id, "statuses": [s.value for s in statuses], "limit": limit}
        query = _SELECT_EDITABLE if editing else _SELECT_IDEAS
        return self._run(query, parameters).mappings().all()

    def initiative(self, initiative_id: int) -> RowMapping | None:
        return self._run(_SELECT_INITIATIVE, {"row_id": initiative_id}).mappings().first()

    def queue_facts(self, initiative_id: int) -> tuple[str | None, bool]:
        """The level whose queue the initiative is (or was last) in, and whether its author
        (or an officer for them) confirmed it is theirs."""
        row = self._run(_SELECT_QUEUE_FACTS, {"row_id": initiative_id}).first()
        if row is None:
            return None, False
        return row.review_level, row.confirmed_by_id is not None

    def insert_initiative(self, values: dict[str, Any]) -> int:
        new_id: int = self._run(_INSERT_INITIATIVE, values).scalar_one()
        return new_id

    def update_initiative(self, initiative_id: int, author_id: int, values: dict[str, Any]) -> None:
        """Update an initiative, only if `author_id` wrote it or entered it for its author."""
        parameters = values | {"row_id": initiative_id, "author": author_id}
        _WRITE_INITIATIVE.execute(self.connection, parameters)

    def person_name(self, person_id: int) -> str | None:
        row = self._run(_SELECT_PERSON_NAME, {"row_id": person_id}).first()
        return row.name if row else None
