"""The conversation service: one inbound event in, one transaction, replies out.

Every channel's updates reach :meth:`ConversationService.handle` through the dispatcher. One
call is one database transaction: the processed-update id, the voice note, the conversation
state, the draft and the turn's replies (outbox rows) are written together, so a crash loses
nothing and a redelivered update resends its unsent replies instead of being answered twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from bot.channels.base import PLAYS_VOICE, Turn
from bot.clock import Clock, system_clock
from bot.services import similar
from bot.services.database import Database
from bot.services.outbox import REPLY_LEASE, Delivery, deliveries_of, queue_replies
from bot.services.prompts import PromptPacks
from bot.services.review import (
    Notice,
    ReviewDesk,
    into_queue,
    name_key,
    queue_notices,
    worker_of,
)
from bot.services.voice import Recording
from dialogs import engine, prompts
from dialogs import messages as msg
from dialogs.answers import stops_reminders
from dialogs.events import ChoiceIn, Inbound, Reply, TextIn, VoiceIn
from dialogs.flow import DialogConfig
from dialogs.flows.submit import SUBMIT
from dialogs.state import (
    Confirmation,
    Directory,
    Draft,
    IdeaRef,
    IdeaStatus,
    State,
    Step,
    UnitRef,
)
from dialogs.summary import make_title, read_back
from storage import reminders
from storage.conversations import ConversationStore
from storage.models import InitiativeStatus, Role, UnitLevel
from storage.outbox import OutboxStore
from storage.people import PeopleStore
from storage.received import ReceivedStore
from storage.review import ReviewStore

# Which initiative column each draft field fills. Explicit, so that renaming either side is a
# visible change; a test checks it covers both shapes.
DRAFT_COLUMNS: dict[str, str] = {
    "problem": "problem",
    "solution": "solution",
    "benefit_kind": "benefit_kind",
    "benefit_detail": "benefit_detail",
    "benefit_value_vnd": "benefit_value_vnd",
    "field": "field",
    "applied": "applied",
    "applied_on": "applied_on",
    "co_authors": "co_authors",
}
# A returned initiative is the author's to edit again: it is listed with the drafts.
_EDITABLE = (InitiativeStatus.DRAFT, InitiativeStatus.RETURNED)
_EDITABLE_VALUES = {status.value for status in _EDITABLE}
_SUBMITTED = [s for s in InitiativeStatus if s not in _EDITABLE]
# A message's time from the messenger is believed within these bounds: Telegram keeps an
# update for a day at most, and the two clocks may differ a little.
_KEPT_BY_MESSENGER = dt.timedelta(days=1)
_SKEW = dt.timedelta(minutes=1)
# Channels a recorded question reaches: played (Telegram), named (the terminal); Zalo too
# when the server has a public address to link to.
CLIP_CHANNELS = frozenset({"telegram", "terminal"})


class StorageDirectory(Directory):
    """The dialog's read-only look-ups, answered from the database for one person."""

    def __init__(self, store: ConversationStore, person_id: int) -> None:
        self._store = store
        self._person_id = person_id
        self._drafts: list[IdeaRef] | None = None

    def find_unit(self, code: str) -> UnitRef | None:
        unit = self._store.unit_as_typed(code)
        return _unit_ref(unit) if unit is not None else None

    def suggest_units(self, code: str) -> list[UnitRef]:
        codes = self._store.grassroots_codes()
        close = process.extract(code.upper(), codes, scorer=fuzz.ratio, limit=3, score_cutoff=60)
        found = [self._store.unit(match) for match, _, _ in close]
        return [_unit_ref(unit) for unit in found if unit is not None]

    def drafts(self) -> list[IdeaRef]:
        if self._drafts is None:  # asked twice per menu; the answer cannot change mid-turn
            self._drafts = self._ideas(_EDITABLE, editing=True)
        return self._drafts

    def submitted(self) -> list[IdeaRef]:
        return self._ideas(_SUBMITTED)

    def load_draft(self, initiative_id: int) -> Draft | None:
        row = self._store.initiative(initiative_id)
        editor = (row.entered_by_id or row.author_id) if row is not None else None
        if row is None or editor != self._person_id or row.status not in _EDITABLE_VALUES:
            return None
        draft = draft_from_row(row)
        draft.confirmed = row.confirmed_by_id is not None
        if row.entered_by_id is not None and row.author_id != self._person_id:
            found = PeopleStore(self._store.connection).worker(row.author_id, None)
            draft.author = worker_of(found) if found is not None else None
        if row.status == InitiativeStatus.RETURNED.value:
            draft.reopen = Step(row.return_step or Step.SUMMARY)
        return draft

    def _ideas(
        self, statuses: Sequence[InitiativeStatus], *, editing: bool = False
    ) -> list[IdeaRef]:
        return [
            IdeaRef(
                id=row["id"],
                title=row["title"],
                status=IdeaStatus(row["status"]),
                updated_at=row["updated_at"],
            )
            for row in self._store.ideas(self._person_id, statuses, editing=editing)
        ]


def _unit_ref(unit: RowMapping) -> UnitRef:
    grassroots = unit["level"] == UnitLevel.GRASSROOTS.value
    return UnitRef(code=unit["code"], name=unit["name"], grassroots=grassroots)


def draft_from_row(row: RowMapping) -> Draft:
    values = {field: row[column] for field, column in DRAFT_COLUMNS.items()}
    # Past the co-authors question, it was compared with the stored ideas then: once an idea.
    checked = row["co_authors"] is not None
    return Draft(id=row["id"], sources=dict(row["sources"]), similar_checked=checked, **values)


def _draft_columns(draft: Draft, now: dt.datetime, before: Draft | None = None) -> dict[str, Any]:
    """The initiative columns a draft fills in; with `before` (the same draft as stored), only
    those that changed: most turns change one answer, and the row is written on every turn."""
    values: dict[str, Any] = {
        column: getattr(draft, field)
        for field, column in DRAFT_COLUMNS.items()
        if before is None or getattr(before, field) != getattr(draft, field)
    }
    for column in ("benefit_kind", "field"):
        if values.get(column) is not None:
            values[column] = values[column].value
    if before is None or before.sources != draft.sources:
        values["sources"] = dict(draft.sources)
        values["spoken"] = "voice" in draft.sources.values()  # pages: "has a recording"
    if before is None or (before.solution, before.problem) != (draft.solution, draft.problem):
        values["title"] = make_title(draft)
    values["updated_at"] = now
    return values


@dataclasses.dataclass(frozen=True, slots=True)
class Handled:
    """What a turn left to deliver, and whether its update was new (not a redelivery)."""

    deliveries: list[Delivery]
    new: bool


class ConversationService:
    """Runs the submission dialog over stored state. Thread-safe: each call is a transaction."""

    def __init__(
        self,
        db: Database,
        config: DialogConfig | None = None,
        clock: Clock = system_clock,
        *,
        lease: dt.timedelta = REPLY_LEASE,
        review_levels: Sequence[UnitLevel] = (UnitLevel.GRASSROOTS,),
        packs: PromptPacks | None = None,
        clip_channels: frozenset[str] = CLIP_CHANNELS,
        similar_at: tuple[float, float] = (similar.VERY, similar.RELATED),
        ask_similar: bool = True,
        web_url: str = "",
    ) -> None:
        self.db = db
        self._similar_at = similar_at
        self._ask_similar = ask_similar
        self._web_url = web_url
        self._packs = packs
        self._clip_channels = clip_channels
        self._levels = tuple(review_levels)
        self._config = config or DialogConfig()
        self._clock = clock
        self._lease = lease
        self._unit_ids: dict[str, int] = {}

    def handle(
        self,
        turn: Turn,
        event: Inbound,
        update_key: str | None = None,
        *,
        now: dt.datetime | None = None,
        recording: Recording | None = None,
        written_by: dt.datetime | None = None,
    ) -> list[Delivery]:
        """Process one inbound event of one chat; the replies to deliver, already in the outbox.

        With `update_key` (the messenger's id of the update) a redelivered update is
        recognised: it is answered with the replies it caused that were never sent, if any.
        `written_by` (the latest the message can have been written, by the messenger's clock)
        tells a message sent before the person could have seen the last answer.
        """
        return self.handle_update(
            turn, event, update_key, now=now, recording=recording, written_by=written_by
        ).deliveries

    def handle_update(
        self,
        turn: Turn,
        event: Inbound,
        update_key: str | None = None,
        *,
        now: dt.datetime | None = None,
        recording: Recording | None = None,
        written_by: dt.datetime | None = None,
        skipped: int = 0,
        received_at: dt.datetime | None = None,
    ) -> Handled:
        """As :meth:`handle`, also saying whether the update was new (processed by this call,
        not a redelivery): only then is a button press acknowledged. `skipped` messages of a
        flood were passed over for this one: the answer says so first. `received_at` marks an
        update a process took at that time and died before handling: if the chat has moved on
        since (the worker sent it again, or went on), it is dropped, not answered late."""
        now = now or self._clock()
        if written_by is not None and not now - _KEPT_BY_MESSENGER <= written_by <= now + _SKEW:
            written_by = None  # no time the messenger could have given: go without it
        handle = functools.partial(
            self._handle, turn, event, update_key, now, recording, written_by, skipped, received_at
        )
        try:
            return handle()
        except IntegrityError:
            # The same update (or the first message of a chat) raced in from elsewhere:
            # the other delivery won. A redelivery is done; a first message is retried.
            if update_key is not None:
                replayed = self.replay(turn.channel, update_key, now=now)
                if replayed is not None:
                    return Handled(replayed, new=False)
            return handle()

    def replay(self, channel: str, update_key: str, *, now: dt.datetime) -> list[Delivery] | None:
        """For an update processed already, its unsent replies (leased to the caller), and
        the copy kept on its way in forgotten (the messenger gave it again: nothing is left
        for a later start to take up); None when it was never processed (a cheap check before
        slow work such as transcribing)."""
        with self.db.write() as connection:
            if not ConversationStore(connection).seen(channel, update_key):
                return None
            ReceivedStore(connection).done(channel, update_key)
            return self._unsent(connection, channel, update_key, now)

    def _unsent(
        self, connection: Connection, channel: str, update_key: str, now: dt.datetime
    ) -> list[Delivery]:
        rows = OutboxStore(connection).unsent_of_update(
            channel, update_key, now=now, lease_until=now + self._lease
        )
        return deliveries_of(rows)

    def set_unreachable(self, channel: str, user_id: str) -> None:
        """Remember that the user blocked the bot, so nothing is sent in vain; the mark is
        lifted when they write again."""
        with self.db.write() as connection:
            ConversationStore(connection).set_unreachable(channel, user_id)

    def _handle(
        self,
        turn: Turn,
        event: Inbound,
        update_key: str | None,
        now: dt.datetime,
        recording: Recording | None,
        written_by: dt.datetime | None = None,
        skipped: int = 0,
        received_at: dt.datetime | None = None,
    ) -> Handled:
        with self.db.write() as connection:
            store = ConversationStore(connection, lock=self.db.locks_rows)
            found = store.conversation(turn.channel, turn.chat_id, turn.user_id)
            if update_key is not None and not store.claim_update(turn.channel, update_key, now=now):
                return Handled(self._unsent(connection, turn.channel, update_key, now), new=False)
            if found is None:
                person_id, name = store.person_for(turn.channel, turn.user_id, now=now)
                conversation_id, state = None, State(name=name)
            else:
                conversation_id, person_id, stored, unreachable = found
                state = State.model_validate(stored)
                last = state.last_activity
                if received_at is not None and last is not None and last > received_at:
                    return Handled([], new=True)  # a stopped process's update, overtaken
                if unreachable:  # they blocked the bot once; writing again lifts that
                    store.reachable_again(turn.channel, turn.user_id)
                if self._sent_again(connection, turn, event, state, written_by):
                    # Not an answer: what they had not seen goes now if it still waits (a
                    # process died with it), or it has come since.
                    waiting = OutboxStore(connection).pending_of_chat(
                        turn.channel, turn.chat_id, now=now, lease_until=now + self._lease
                    )
                    return Handled(deliveries_of(waiting), new=True)
            if recording is not None and isinstance(event, VoiceIn):
                note_id = store.add_voice_note(_voice_note_row(recording, person_id, now))
                event = dataclasses.replace(event, note_id=note_id)

            desk = ReviewDesk(
                connection,
                person_id,
                self._levels,
                now,
                playback=turn.channel in PLAYS_VOICE,
                packs=self._packs,
                similar_at=self._similar_at,
                ask_similar=self._ask_similar,
                web_url=self._web_url,
            )
            directory = StorageDirectory(store, person_id)
            if found is not None and self._stops_reminders(store, person_id, event, state):
                reminders.stop_reminders(connection, person_id)
                outcome = engine.say_and_ask_again(
                    state,
                    msg.REMINDERS_OFF,
                    flow=SUBMIT,
                    now=now,
                    config=self._config,
                    directory=directory,
                )
            else:
                outcome = engine.handle(
                    state,
                    event,
                    flow=SUBMIT,
                    now=now,
                    config=self._config,
                    directory=directory,
                    desk=desk,
                )
            queue_notices(connection, desk.notices, now=now)
            new = outcome.state
            if (new.name, new.unit_code) != (state.name, state.unit_code):
                unit_id = self._unit_id(new.unit_code, store)
                key = name_key(new.name) if new.name else None
                store.update_person(
                    person_id,
                    {"name": new.name, "name_key": key, "unit_id": unit_id, "updated_at": now},
                )
                if unit_id is not None:
                    store.add_role(person_id, unit_id, Role.WORKER)
            if outcome.submitted is not None:
                given = self._save_draft(
                    store,
                    person_id,
                    new,
                    outcome.submitted,
                    now,
                    before=state.draft,
                    status=InitiativeStatus.SUBMITTED,
                )
                if given == InitiativeStatus.AWAITING_AUTHOR.value:
                    self._ask_author(connection, store, outcome.submitted, new.name, now)
            if new.draft is not None and (new.draft != state.draft or new.draft.id is None):
                self._save_draft(store, person_id, new, new.draft, now, before=state.draft)

            new = new.model_copy(update={"last_text": _fingerprint_of(event)})
            values: dict[str, Any] = {
                "state": new.model_dump(mode="json"),
                "step": new.step.value,
                "initiative_id": new.draft.id if new.draft else None,
                "last_activity": now,
            }
            if conversation_id is None:
                values |= {"channel": turn.channel, "chat_id": turn.chat_id, "person_id": person_id}
            store.save_conversation(conversation_id, values)
            replies = self._spoken(connection, turn, new, outcome.replies)
            if skipped and replies:  # one message still: the note heads the answer
                note = msg.FLOOD_SKIPPED.format(count=skipped)
                first = dataclasses.replace(replies[0], text=f"{note}\n{replies[0].text}")
                replies = [first, *replies[1:]]
            queued = queue_replies(
                connection,
                turn.channel,
                turn.chat_id,
                replies,
                update_key=update_key,
                now=now,
                lease=self._lease,
            )
            return Handled(queued, new=True)

    def _spoken(
        self, connection: Connection, turn: Turn, state: State, replies: Sequence[Reply]
    ) -> list[Reply]:
        """The replies with their union's recordings, for a worker who hears the questions
        on a channel that can play them (or link to them)."""
        tagged = prompts.tag(replies)
        if self._packs is None or not state.hear or turn.channel not in self._clip_channels:
            return tagged
        return self._packs.with_clips(connection, state.unit_code, tagged)

    @staticmethod
    def _sent_again(
        connection: Connection,
        turn: Turn,
        event: Inbound,
        state: State,
        written_by: dt.datetime | None,
    ) -> bool:
        """The same text or button as the last message, sent before the answer to that one
        had reached the chat: a worker who saw nothing and tried again. It cannot answer a
        question they had not been shown (a retyped «1» would pick the next choice). The
        answer may have arrived since (it went first after a restart): the messenger's time
        of the message tells."""
        typed = _fingerprint_of(event)
        return (
            typed is not None
            and typed == state.last_text
            and OutboxStore(connection).reply_unseen(turn.channel, turn.chat_id, written_by)
        )

    @staticmethod
    def _stops_reminders(
        store: ConversationStore, person_id: int, event: Inbound, state: State
    ) -> bool:
        """ "Dừng" / "đừng nhắc nữa" to a reminder: the bare word only right after one (the
        person was reminded since their last message), the phrase any time."""
        if not isinstance(event, TextIn) or not stops_reminders(event.text, just_reminded=True):
            return False
        reminded_at = reminders.reminded_at(store.connection, person_id)
        last = state.last_activity
        just = reminded_at is not None and (last is None or reminded_at > last)
        return stops_reminders(event.text, just_reminded=just)

    def _save_draft(
        self,
        store: ConversationStore,
        person_id: int,
        state: State,
        draft: Draft,
        now: dt.datetime,
        *,
        before: Draft | None,
        status: InitiativeStatus = InitiativeStatus.DRAFT,
    ) -> str | None:
        """Write the draft to its initiative row (created once it has content); the status
        it was given, if a new one. `before` is the draft as this chat last stored it: only
        what changed since is written."""
        if draft.id is None and not draft.has_content():
            return None
        same_row = before is not None and before.id is not None and before.id == draft.id
        values = _draft_columns(draft, now, before if same_row else None)
        if status is InitiativeStatus.SUBMITTED:
            values |= self._submission(store, draft, person_id, now)
        if draft.id is not None:
            store.update_initiative(draft.id, person_id, values)
        else:
            author = draft.author
            unit_id = self._unit_id(author.unit_code if author else state.unit_code, store)
            if unit_id is None:
                raise RuntimeError("a draft was started before the worker chose a unit")
            district_id, province_id = store.district_and_province(unit_id)
            values.setdefault("status", InitiativeStatus.DRAFT.value)
            values |= {
                "unit_id": unit_id,
                "district_id": district_id,
                "province_id": province_id,
                "author_id": author.person_id if author else person_id,
                "entered_by_id": person_id if author else None,
                "created_at": now,
            }
            draft.id = store.insert_initiative(values)
        if draft.voice_notes:
            store.link_voice_notes(person_id, draft.id, draft.voice_notes)
        if status is InitiativeStatus.SUBMITTED:  # findable as a similar idea from now on
            similar.index(store.connection, draft.id)
        given: str | None = values.get("status")
        return given

    def _submission(
        self, store: ConversationStore, draft: Draft, person_id: int, now: dt.datetime
    ) -> dict[str, Any]:
        """Submission: into the first review level's queue, or, for a returned initiative,
        back into the queue that returned it. One an officer entered for somebody first waits
        for its author's yes, unless it has it already or the author has no chat (the officer
        said they agreed)."""
        level, confirmed = store.queue_facts(draft.id) if draft.id is not None else (None, False)
        if draft.author is not None and not confirmed:
            if draft.author.reachable:
                return {"status": InitiativeStatus.AWAITING_AUTHOR.value, "return_step": None}
            extra = {"confirmed_by_id": person_id, "confirmed_at": now}
        else:
            extra = {}
        return into_queue(self._levels, now, UnitLevel(level) if level else None) | extra

    def _ask_author(
        self,
        connection: Connection,
        store: ConversationStore,
        draft: Draft,
        officer_name: str | None,
        now: dt.datetime,
    ) -> None:
        """Ask the author of an idea an officer entered, in their own chat, wherever they are
        in it, whether it is theirs; their conversation is written in this transaction."""
        assert draft.author is not None and draft.id is not None
        author_id = draft.author.person_id
        chats = ReviewStore(connection).chats_of(author_id)
        if not chats:
            return
        channel, chat_id = chats[0]  # the chat they used last
        found = store.conversation(channel, chat_id, chat_id)  # private: the chat is the user
        if found is None:
            return
        conversation_id, _, stored, _ = found
        asked = Confirmation(
            initiative_id=draft.id,
            title=make_title(draft),
            officer=officer_name or "?",
            summary=read_back(draft),
        )
        outcome = engine.interrupt(
            State.model_validate(stored),
            asked,
            flow=SUBMIT,
            now=now,
            config=self._config,
            directory=StorageDirectory(store, author_id),
        )
        store.save_conversation(
            conversation_id,
            {"state": outcome.state.model_dump(mode="json"), "step": outcome.state.step.value},
        )
        notice = Notice(channel, chat_id, "", f"own:{draft.id}:ask", replies=tuple(outcome.replies))
        queue_notices(connection, [notice], now=now)

    def _unit_id(self, code: str | None, store: ConversationStore) -> int | None:
        if code is None:
            return None
        if code not in self._unit_ids:  # codes never change meaning: cache for the process
            unit = store.unit(code)
            if unit is None:
                return None
            self._unit_ids[code] = unit.id
        return self._unit_ids[code]


def _fingerprint_of(event: Inbound) -> str | None:
    """What is remembered of a typed text or a pressed button, to tell one sent again."""
    if isinstance(event, TextIn):
        return fingerprint(event.text)
    if isinstance(event, ChoiceIn):
        return fingerprint(f"\x1f{event.value}")  # a press never equals a text
    return None


def fingerprint(text: str) -> str:
    """Short, stable and blind to spacing and case: stored, not the text itself."""
    folded = " ".join(text.split()).casefold().encode("utf-8", "replace")
    return hashlib.blake2b(folded, digest_size=8).hexdigest()


def _voice_note_row(recording: Recording, person_id: int, now: dt.datetime) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "path": recording.path,
        "duration_s": recording.duration_s,
        "engine": recording.engine,
        "raw_text": recording.raw_text,
        "text": recording.text,
        "words": recording.words,
        "created_at": now,
    }
