"""The chat service: one inbound event in, replies out, state and draft saved in between.

Every channel adapter calls :meth:`ChatService.handle`. One call is one database
transaction: the conversation row and the draft it points to are written together, so a
crash between two messages loses nothing and a restart resumes exactly where the chat was.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from dialogs import engine
from dialogs import messages as msg
from dialogs.events import Inbound, Reply
from dialogs.state import Directory, Draft, IdeaRef, State, UnitRef
from dialogs.steps import DialogConfig
from dialogs.summary import make_title
from storage.chatstore import ChatStore
from storage.models import InitiativeBase, InitiativeStatus, Role
from storage.types import utcnow

Clock = Callable[[], dt.datetime]

# The initiative columns a draft carries: all of InitiativeBase but the derived title.
_DRAFT_FIELDS = tuple(name for name in InitiativeBase.model_fields if name != "title")
_SUBMITTED_STATUSES = [s.value for s in InitiativeStatus if s is not InitiativeStatus.DRAFT]


class StorageDirectory(Directory):
    """The dialog's read-only look-ups, answered from the database for one person."""

    def __init__(self, store: ChatStore, person_id: int) -> None:
        self._store = store
        self._person_id = person_id
        self._drafts: list[IdeaRef] | None = None

    def find_unit(self, code: str) -> UnitRef | None:
        unit = self._store.unit(code)
        return UnitRef(code=unit.code, name=unit.name, level=unit.level) if unit else None

    def drafts(self) -> list[IdeaRef]:
        if self._drafts is None:  # asked twice per menu; the answer cannot change mid-turn
            self._drafts = self._ideas([InitiativeStatus.DRAFT.value])
        return self._drafts

    def submitted(self) -> list[IdeaRef]:
        return self._ideas(_SUBMITTED_STATUSES)

    def load_draft(self, initiative_id: int) -> Draft | None:
        row = self._store.initiative(initiative_id)
        if row is None or row.author_id != self._person_id or row.status != "draft":
            return None
        return draft_from_row(row)

    def _ideas(self, statuses: list[str]) -> list[IdeaRef]:
        return [IdeaRef(**row) for row in self._store.ideas(self._person_id, statuses)]


def draft_from_row(row: RowMapping) -> Draft:
    values = {name: row[name] for name in _DRAFT_FIELDS}
    return Draft(id=row["id"], sources=dict(row["sources"]), **values)


def _draft_columns(draft: Draft, now: dt.datetime) -> dict[str, Any]:
    """The initiative columns a draft fills in."""
    values: dict[str, Any] = {name: getattr(draft, name) for name in _DRAFT_FIELDS}
    for name in ("benefit_kind", "field"):
        if values[name] is not None:
            values[name] = values[name].value
    values.update(sources=dict(draft.sources), title=make_title(draft), updated_at=now)
    return values


@dataclass(frozen=True, slots=True)
class Turn:
    """Who is talking, where: the chat and the account that wrote in it."""

    channel: str
    chat_id: str
    user_id: str


class ChatService:
    """Runs the dialog over stored state. Thread-safe: each call runs its own transaction."""

    def __init__(
        self, db: Engine, config: DialogConfig | None = None, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._config = config or DialogConfig()
        self._clock = clock
        # PostgreSQL: lock the chat's row so two messages of one chat never interleave.
        self._lock_rows = db.dialect.name == "postgresql"
        # SQLite has one writer at a time: queue writers here rather than in its busy handler,
        # which sleeps and retries and turns contention into long tail latencies.
        self._serial: AbstractContextManager[object] = (
            nullcontext() if self._lock_rows else threading.Lock()
        )
        self._unit_ids: dict[str, int] = {}

    def handle(self, turn: Turn, event: Inbound, update_key: str | None = None) -> list[Reply]:
        """Process one inbound event of one chat and return what to send back.

        With `update_key` (the messenger's id of the update) a redelivered update is
        recognised and answered with nothing: it was processed the first time.
        """
        try:
            return self._handle(turn, event, update_key)
        except IntegrityError:
            # The same update (or the first message of a chat) raced in from elsewhere:
            # the other delivery won. A redelivery is done; a first message is retried.
            if update_key is not None and self.seen(turn.channel, update_key):
                return []
            return self._handle(turn, event, update_key)

    def seen(self, channel: str, update_key: str) -> bool:
        """Whether an update was processed already (a cheap check before slow work)."""
        with self._db.connect() as connection:
            return ChatStore(connection).seen(channel, update_key)

    def set_unreachable(self, channel: str, user_id: str) -> None:
        """Remember that the user blocked the bot, so nothing is sent in vain; the mark is
        lifted when they write again."""
        with self._serial, self._db.begin() as connection:
            ChatStore(connection).set_unreachable(channel, user_id)

    def register_group(self, channel: str, chat_id: str, user_id: str, code: str) -> str:
        """An officer binds a group chat to a unit for the weekly ranking; the reply to post."""
        code = code.strip().upper()
        if not code:
            return msg.GROUP_USAGE
        with self._serial, self._db.begin() as connection:
            store = ChatStore(connection)
            unit = store.unit(code)
            if unit is None:
                return msg.GROUP_UNKNOWN_UNIT.format(code=code[:40])
            person_id, _ = store.person_for(channel, user_id)
            chain = store.unit_and_ancestors(unit.id)
            if not any(store.has_role(person_id, u["id"], Role.OFFICER.value) for u in chain):
                return msg.GROUP_NOT_OFFICER.format(unit=unit.name)
            store.bind_group(channel, chat_id, unit.id, person_id)
        return msg.GROUP_REGISTERED.format(unit=unit.name)

    def group_officer_chats(self, channel: str, chat_id: str) -> list[str]:
        """Private chats of the officers of the unit a group serves (for fallbacks)."""
        with self._db.connect() as connection:
            store = ChatStore(connection)
            unit_id = store.group_unit(channel, chat_id)
            return store.officer_chats(unit_id, channel) if unit_id is not None else []

    def add_officer(self, channel: str, user_id: str, name: str, unit_code: str) -> None:
        """Make the chat account `user_id` an officer of the unit (created if new)."""
        with self._serial, self._db.begin() as connection:
            store = ChatStore(connection)
            unit = store.unit(unit_code)
            if unit is None:
                raise LookupError(f"no unit {unit_code!r}")
            person_id, _ = store.person_for(channel, user_id)
            store.update_person(person_id, {"name": name, "updated_at": self._clock()})
            store.add_role(person_id, unit.id, Role.OFFICER.value)

    def _handle(self, turn: Turn, event: Inbound, update_key: str | None) -> list[Reply]:
        now = self._clock()
        with self._serial, self._db.begin() as connection:
            store = ChatStore(connection, lock=self._lock_rows)
            found = store.conversation(turn.channel, turn.chat_id, turn.user_id)
            if update_key is not None and not store.claim_update(turn.channel, update_key):
                return []
            if found is None:
                person_id, name = store.person_for(turn.channel, turn.user_id)
                conversation_id, state = None, State(name=name)
            else:
                conversation_id, person_id, stored, unreachable = found
                state = State.model_validate(stored)
                if unreachable:  # they blocked the bot once; writing again lifts that
                    store.reachable_again(turn.channel, turn.user_id)

            outcome = engine.handle(
                state,
                event,
                now=now,
                config=self._config,
                directory=StorageDirectory(store, person_id),
            )
            new = outcome.state
            if (new.name, new.unit_code) != (state.name, state.unit_code):
                unit_id = self._unit_id(new.unit_code, store)
                store.update_person(
                    person_id, {"name": new.name, "unit_id": unit_id, "updated_at": now}
                )
                if unit_id is not None:
                    store.add_role(person_id, unit_id, Role.WORKER.value)
            if outcome.submitted is not None:
                self._save_draft(
                    store, person_id, new, outcome.submitted, now, status=InitiativeStatus.SUBMITTED
                )
            if new.draft is not None and (new.draft != state.draft or new.draft.id is None):
                self._save_draft(store, person_id, new, new.draft, now)

            values: dict[str, Any] = {
                "state": new.model_dump(mode="json"),
                "step": new.step.value,
                "initiative_id": new.draft.id if new.draft else None,
                "last_activity": now,
            }
            if conversation_id is None:
                values |= {"channel": turn.channel, "chat_id": turn.chat_id, "person_id": person_id}
            store.save_conversation(conversation_id, values)
        return outcome.replies

    def _save_draft(
        self,
        store: ChatStore,
        person_id: int,
        state: State,
        draft: Draft,
        now: dt.datetime,
        *,
        status: InitiativeStatus = InitiativeStatus.DRAFT,
    ) -> None:
        """Write the draft to its initiative row (created once it has content)."""
        if draft.id is None and not draft.has_content():
            return
        values = _draft_columns(draft, now) | {"status": status.value}
        if status is InitiativeStatus.SUBMITTED:
            values["submitted_at"] = now
        if draft.id is not None:
            store.update_initiative(draft.id, person_id, values)
        else:
            unit_id = self._unit_id(state.unit_code, store)
            if unit_id is None:
                raise RuntimeError("a draft was started before the worker chose a unit")
            values |= {"unit_id": unit_id, "author_id": person_id, "created_at": now}
            draft.id = store.insert_initiative(values)
        if draft.voice_notes:
            store.link_voice_notes(person_id, draft.id, draft.voice_notes)

    def _unit_id(self, code: str | None, store: ChatStore) -> int | None:
        if code is None:
            return None
        if code not in self._unit_ids:  # codes never change meaning: cache for the process
            unit = store.unit(code)
            if unit is None:
                return None
            self._unit_ids[code] = unit.id
        return self._unit_ids[code]
