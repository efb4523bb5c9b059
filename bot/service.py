"""The chat service: one inbound event in, replies out, state and draft saved in between.

Every channel adapter calls :meth:`ChatService.handle`. One call is one database
transaction: the conversation row and the draft it points to are written together, so a
crash between two messages loses nothing and a restart resumes exactly where the chat was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from dialogs import engine
from dialogs.events import Inbound, Reply
from dialogs.state import Directory, Draft, IdeaRef, State, UnitRef
from dialogs.steps import DialogConfig
from dialogs.summary import make_title
from storage import repo
from storage.models import Conversation, Initiative, InitiativeStatus, Person
from storage.types import utcnow

Clock = Callable[[], dt.datetime]


class StorageDirectory(Directory):
    """The dialog's read-only look-ups, answered from the database for one person."""

    def __init__(self, session: Session, person_id: int) -> None:
        self._session = session
        self._person_id = person_id
        self._drafts: list[IdeaRef] | None = None

    def find_unit(self, code: str) -> UnitRef | None:
        unit = repo.get_unit(code, session=self._session)
        return UnitRef(code=unit.code, name=unit.name, level=unit.level) if unit else None

    def drafts(self) -> list[IdeaRef]:
        if self._drafts is None:  # asked twice per menu; the answer cannot change mid-turn
            self._drafts = self._ideas([InitiativeStatus.DRAFT])
        return self._drafts

    def submitted(self) -> list[IdeaRef]:
        return self._ideas([s for s in InitiativeStatus if s is not InitiativeStatus.DRAFT])

    def load_draft(self, initiative_id: int) -> Draft | None:
        row = self._session.get(Initiative, initiative_id)
        if row is None or row.author_id != self._person_id or row.status != "draft":
            return None
        return draft_from_row(row)

    def _ideas(self, statuses: list[InitiativeStatus]) -> list[IdeaRef]:
        rows = repo.initiatives_of(self._person_id, statuses, session=self._session)
        return [
            IdeaRef(id=row.id, title=row.title, status=row.status, updated_at=row.updated_at)
            for row in rows
            if row.id is not None
        ]


_DRAFT_FIELDS = (
    "problem",
    "solution",
    "benefit_kind",
    "benefit_detail",
    "benefit_value_vnd",
    "field",
    "applied",
    "applied_on",
    "co_authors",
)


def draft_from_row(row: Initiative) -> Draft:
    values = {name: getattr(row, name) for name in _DRAFT_FIELDS}
    return Draft(id=row.id, sources=dict(row.sources), **values)


def _write_draft(row: Initiative, draft: Draft, now: dt.datetime) -> None:
    dumped = draft.model_dump(mode="python", include=set(_DRAFT_FIELDS))
    for name, value in dumped.items():
        setattr(row, name, value.value if hasattr(value, "value") else value)
    row.sources = dict(draft.sources)
    row.title = make_title(draft)
    row.updated_at = now


@dataclass(frozen=True, slots=True)
class Turn:
    """Who is talking, where: the chat and the account that wrote in it."""

    channel: str
    chat_id: str
    user_id: str


class ChatService:
    """Runs the dialog over stored state. Thread-safe: each call opens its own session."""

    def __init__(
        self, db: Engine, config: DialogConfig | None = None, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._config = config or DialogConfig()
        self._clock = clock
        self._lock_rows = db.dialect.name == "postgresql"
        self._unit_ids: dict[str, int] = {}

    def handle(self, turn: Turn, event: Inbound) -> list[Reply]:
        """Process one inbound event of one chat and return what to send back."""
        now = self._clock()
        with Session(self._db, expire_on_commit=False) as session:
            conv = repo.conversation(
                turn.channel, turn.chat_id, session=session, lock=self._lock_rows
            )
            if conv is None:
                person = repo.identity_person(turn.channel, turn.user_id, session=session)
                assert person.id is not None
                conv = Conversation(
                    channel=turn.channel, chat_id=turn.chat_id, person_id=person.id, step="start"
                )
                state = State(name=person.name)
            else:
                state = State.model_validate(conv.state)

            outcome = engine.handle(
                state,
                event,
                now=now,
                config=self._config,
                directory=StorageDirectory(session, conv.person_id),
            )
            new = outcome.state
            if (new.name, new.unit_code) != (state.name, state.unit_code):
                self._save_profile(conv.person_id, new, now, session=session)
            if outcome.submitted is not None:
                self._save_draft(
                    conv.person_id,
                    new,
                    outcome.submitted,
                    now,
                    session=session,
                    status=InitiativeStatus.SUBMITTED,
                )
            if new.draft is not None and (new.draft != state.draft or new.draft.id is None):
                self._save_draft(conv.person_id, new, new.draft, now, session=session)

            conv.state = new.model_dump(mode="json")
            conv.step = new.step.value
            conv.initiative_id = new.draft.id if new.draft else None
            conv.last_activity = now
            session.add(conv)
            session.commit()
        return outcome.replies

    def _save_profile(
        self, person_id: int, state: State, now: dt.datetime, *, session: Session
    ) -> None:
        person = session.get(Person, person_id)
        assert person is not None
        person.name = state.name
        person.unit_id = self._unit_id(state.unit_code, session=session)
        person.updated_at = now
        session.add(person)

    def _save_draft(
        self,
        person_id: int,
        state: State,
        draft: Draft,
        now: dt.datetime,
        *,
        session: Session,
        status: InitiativeStatus = InitiativeStatus.DRAFT,
    ) -> None:
        """Write the draft to its initiative row (created once it has content)."""
        if draft.id is None and not draft.has_content():
            return
        row = session.get(Initiative, draft.id) if draft.id is not None else None
        if row is None:
            unit_id = self._unit_id(state.unit_code, session=session)
            if unit_id is None:
                raise RuntimeError("a draft was started before the worker chose a unit")
            row = Initiative(unit_id=unit_id, author_id=person_id, created_at=now)
        _write_draft(row, draft, now)
        row.status = status
        if status is InitiativeStatus.SUBMITTED:
            row.submitted_at = now
        session.add(row)
        session.flush()
        draft.id = row.id

    def _unit_id(self, code: str | None, *, session: Session) -> int | None:
        if code is None:
            return None
        if code not in self._unit_ids:  # codes never change meaning: cache for the process
            unit = repo.get_unit(code, session=session)
            if unit is None or unit.id is None:
                return None
            self._unit_ids[code] = unit.id
        return self._unit_ids[code]
