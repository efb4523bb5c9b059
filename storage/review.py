"""Review queues, officers' decisions, invitations and batched notices: Core statements on the
caller's connection. Nothing here commits.

A queue is the initiatives waiting at one review level (``initiative.review_level``) in one
unit's part of the tree; ``unit_id``, ``district_id`` and ``province_id`` on the initiative make
every unit's part one indexed condition (:func:`storage.units.in_scope`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, bindparam, func, insert, select, update

from storage.models import (
    PENDING_REVIEW,
    Conversation,
    Identity,
    Initiative,
    InitiativeStatus,
    Invite,
    Membership,
    OfficerNotice,
    Person,
    Review,
    Role,
    Unit,
    UnitLevel,
    VoiceNote,
)
from storage.units import in_scope

_initiative = Initiative.__table__  # type: ignore[attr-defined]
_review = Review.__table__  # type: ignore[attr-defined]
_invite = Invite.__table__  # type: ignore[attr-defined]
_membership = Membership.__table__  # type: ignore[attr-defined]
_unit = Unit.__table__  # type: ignore[attr-defined]
_person = Person.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_conversation = Conversation.__table__  # type: ignore[attr-defined]
_notice = OfficerNotice.__table__  # type: ignore[attr-defined]
_voice_note = VoiceNote.__table__  # type: ignore[attr-defined]

_PENDING = [status.value for status in PENDING_REVIEW]


@dataclass(frozen=True, slots=True)
class Scope:
    """A unit an officer serves: they act on it and on everything below it."""

    unit_id: int
    code: str
    name: str
    level: UnitLevel


_SELECT_SCOPES = (
    select(_unit.c.id, _unit.c.code, _unit.c.name, _unit.c.level)
    .join(_membership, _membership.c.unit_id == _unit.c.id)
    .where(_membership.c.person_id == bindparam("person"), _membership.c.role == "officer")
    .order_by(_unit.c.code)
)
_CARD_COLUMNS = (
    _initiative,
    _unit.c.code.label("unit_code"),
    _unit.c.name.label("unit_name"),
    _person.c.name.label("author_name"),
)


class ReviewStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def scopes(self, person_id: int) -> list[Scope]:
        rows = self.connection.execute(_SELECT_SCOPES, {"person": person_id})
        return [Scope(r.id, r.code, r.name, UnitLevel(r.level)) for r in rows]

    def next_pending(
        self, scope: Scope, level: UnitLevel, *, skip: Sequence[int] = ()
    ) -> int | None:
        """The oldest initiative waiting at `level` in the scope's part of the tree."""
        query = (
            select(_initiative.c.id)
            .where(*waiting(scope, level))
            .order_by(_initiative.c.submitted_at, _initiative.c.id)
            .limit(1)
        )
        if skip:
            query = query.where(_initiative.c.id.not_in(list(skip)))
        return self.connection.execute(query).scalar()

    def count_pending(
        self, scope: Scope, level: UnitLevel, *, since: dt.datetime | None = None
    ) -> int:
        query = select(func.count()).where(*waiting(scope, level))
        if since is not None:
            query = query.where(_initiative.c.submitted_at > since)
        return int(self.connection.execute(query).scalar_one())

    def card(self, initiative_id: int) -> RowMapping | None:
        """An initiative with its unit's code and name and its author's name."""
        query = (
            select(*_CARD_COLUMNS)
            .join(_unit, _unit.c.id == _initiative.c.unit_id)
            .join(_person, _person.c.id == _initiative.c.author_id)
            .where(_initiative.c.id == initiative_id)
        )
        return self.connection.execute(query).mappings().first()

    def heard_with_doubt(self, initiative_id: int) -> set[str]:
        """The parts of an initiative whose latest voice note has words the recogniser was
        unsure of (marked ``doubtful`` when the note was heard)."""
        query = (
            select(_voice_note.c.field, _voice_note.c.words)
            .where(_voice_note.c.initiative_id == initiative_id)
            .order_by(_voice_note.c.id)
        )
        latest = {row.field: row.words for row in self.connection.execute(query)}
        return {
            part
            for part, words in latest.items()
            if any(word.get("doubtful") for word in words or ())
        }

    def recordings(self, initiative_id: int) -> list[RowMapping]:
        """The kept voice note of each part of an initiative that was spoken (the latest, if
        the part was spoken again): field, path, duration_s."""
        query = (
            select(_voice_note.c.field, _voice_note.c.path, _voice_note.c.duration_s)
            .where(_voice_note.c.initiative_id == initiative_id, _voice_note.c.path != "")
            .order_by(_voice_note.c.id)
        )
        latest = {row["field"]: row for row in self.connection.execute(query).mappings()}
        return list(latest.values())

    def decide(self, initiative_id: int, at_level: UnitLevel, values: dict[str, Any]) -> bool:
        """Move an initiative out of `at_level`'s queue (compare-and-set: only if it is still
        waiting there). False when somebody else decided it first."""
        result = self.connection.execute(
            update(_initiative)
            .where(
                _initiative.c.id == initiative_id,
                _initiative.c.status.in_(_PENDING),
                _initiative.c.review_level == at_level.value,
            )
            .values(**values)
        )
        return bool(result.rowcount)

    def answer_entry(
        self, initiative_id: int, author_id: int, values: dict[str, Any]
    ) -> RowMapping | None:
        """The author's answer to an entry made for them (compare-and-set: only while it
        waits for them): its title and who entered it, or None when answered already."""
        return (
            self.connection.execute(
                update(_initiative)
                .where(
                    _initiative.c.id == initiative_id,
                    _initiative.c.author_id == author_id,
                    _initiative.c.status == InitiativeStatus.AWAITING_AUTHOR.value,
                )
                .values(**values)
                .returning(_initiative.c.title, _initiative.c.entered_by_id)
            )
            .mappings()
            .first()
        )

    def add_review(self, values: dict[str, Any]) -> int:
        row = self.connection.execute(insert(_review).returning(_review.c.id), values)
        return int(row.scalar_one())

    def history(self, initiative_ids: Sequence[int]) -> dict[int, list[RowMapping]]:
        """Each initiative's decisions in order, with the officer's name."""
        if not initiative_ids:
            return {}
        rows = self.connection.execute(
            select(_review, _person.c.name.label("officer_name"))
            .join(_person, _person.c.id == _review.c.officer_id)
            .where(_review.c.initiative_id.in_(list(initiative_ids)))
            .order_by(_review.c.initiative_id, _review.c.id)
        ).mappings()
        found: dict[int, list[RowMapping]] = {}
        for row in rows:
            found.setdefault(row["initiative_id"], []).append(row)
        return found

    def chats_of(self, person_id: int) -> list[tuple[str, str]]:
        """(channel, chat id) of the person's private chats with the bot, newest first, on
        accounts that have not blocked it."""
        rows = self.connection.execute(
            select(_conversation.c.channel, _conversation.c.chat_id)
            .join(
                _identity,
                and_(
                    _identity.c.person_id == _conversation.c.person_id,
                    _identity.c.channel == _conversation.c.channel,
                ),
            )
            .where(
                _conversation.c.person_id == person_id,
                _identity.c.unreachable.is_(False),
                _identity.c.external_id == _conversation.c.chat_id,
            )
            .order_by(_conversation.c.last_activity.desc())
        )
        return [(row.channel, row.chat_id) for row in rows]

    # --- invitations ------------------------------------------------------------------------

    def add_invite(self, values: dict[str, Any]) -> None:
        self.connection.execute(insert(_invite), values)

    def redeem(self, code_hash: str, person_id: int, *, now: dt.datetime) -> int | None:
        """Use the invitation once: the unit it makes its redeemer an officer of, or None
        (unknown, expired or used already). One statement, so two redeemers cannot both win."""
        row = self.connection.execute(
            update(_invite)
            .where(
                _invite.c.code_hash == code_hash,
                _invite.c.used_at.is_(None),
                _invite.c.expires_at > now,
            )
            .values(used_at=now, used_by_id=person_id)
            .returning(_invite.c.unit_id)
        ).first()
        return row.unit_id if row else None

    # --- officers --------------------------------------------------------------------------

    def officers(self) -> Sequence[RowMapping]:
        """Every officer role: person id and name, unit code and name, channels reachable."""
        rows = self.connection.execute(
            select(
                _person.c.id.label("person_id"),
                _person.c.name,
                _unit.c.code.label("unit_code"),
                _unit.c.name.label("unit_name"),
                _unit.c.level,
            )
            .join(_membership, _membership.c.person_id == _person.c.id)
            .join(_unit, _unit.c.id == _membership.c.unit_id)
            .where(_membership.c.role == Role.OFFICER.value)
            .order_by(_unit.c.code, _person.c.name)
        )
        return rows.mappings().all()

    def remove_officer(self, person_id: int, unit_id: int) -> bool:
        result = self.connection.execute(
            _membership.delete().where(
                _membership.c.person_id == person_id,
                _membership.c.unit_id == unit_id,
                _membership.c.role == Role.OFFICER.value,
            )
        )
        return bool(result.rowcount)

    def last_notice(self, person_id: int) -> dt.datetime | None:
        value: dt.datetime | None = self.connection.execute(
            select(_notice.c.last_sent_at).where(_notice.c.person_id == person_id)
        ).scalar()
        return value

    def noticed(self, person_id: int, *, now: dt.datetime) -> None:
        if self.last_notice(person_id) is None:
            self.connection.execute(insert(_notice), {"person_id": person_id, "last_sent_at": now})
        else:
            self.connection.execute(
                update(_notice).where(_notice.c.person_id == person_id).values(last_sent_at=now)
            )

    def officers_of(self, unit_id: int) -> list[int]:
        """The people who are officers of exactly this unit."""
        rows = self.connection.execute(
            select(_membership.c.person_id)
            .where(_membership.c.unit_id == unit_id, _membership.c.role == Role.OFFICER.value)
            .order_by(_membership.c.person_id)
        )
        return [row.person_id for row in rows]

    def officer_ids(self) -> list[int]:
        rows = self.connection.execute(
            select(_membership.c.person_id)
            .where(_membership.c.role == Role.OFFICER.value)
            .distinct()
            .order_by(_membership.c.person_id)
        )
        return [row.person_id for row in rows]


def waiting(scope: Scope, level: UnitLevel) -> tuple[Any, ...]:
    """Conditions for initiatives waiting at `level` in the scope's part of the tree."""
    return (
        in_scope(scope.level, scope.unit_id),
        _initiative.c.status.in_(_PENDING),
        _initiative.c.review_level == level.value,
    )
