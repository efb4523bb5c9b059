"""What the dialog remembers between two messages: the step, the profile and the draft."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, Field


class Step(StrEnum):
    """Every state of the conversation. Declarations for each live in :mod:`dialogs.steps`."""

    START = "start"
    ONBOARD_UNIT = "onboard_unit"
    ONBOARD_NAME = "onboard_name"
    MENU = "menu"
    PICK_DRAFT = "pick_draft"
    RESUME = "resume"
    PROBLEM = "problem"
    SOLUTION = "solution"
    BENEFIT_KIND = "benefit_kind"
    BENEFIT_DETAIL = "benefit_detail"
    FIELD = "field"
    APPLIED = "applied"
    COAUTHORS = "coauthors"
    SUMMARY = "summary"
    EDIT_PICK = "edit_pick"
    # An officer's steps: review one card at a time.
    REVIEW_CARD = "review_card"
    REVIEW_PART = "review_part"
    REVIEW_REASON = "review_reason"
    REVIEW_DUPLICATE = "review_duplicate"
    # An officer enters an idea for a worker who cannot ("Nhập hộ").
    ASSIST_FIND = "assist_find"
    ASSIST_PICK = "assist_pick"
    ASSIST_NEW_NAME = "assist_new_name"
    ASSIST_NEW_UNIT = "assist_new_unit"
    ASSIST_NEW_PHONE = "assist_new_phone"
    ASSIST_AGREED = "assist_agreed"
    # The worker asked whether an idea an officer entered for them is theirs.
    CONFIRM_OWN = "confirm_own"
    # A very similar idea exists: go on, ask to join it, or later.
    SIMILAR = "similar"
    # A worker who could not answer a question twice: an example, later, or an officer.
    STUCK = "stuck"
    # An officer records the union's prompt pack (/ghiam), one message at a time.
    RECORD = "record"
    RECORD_CHECK = "record_check"


class BenefitKind(StrEnum):
    TIME = "time"
    MONEY = "money"
    SAFETY = "safety"
    QUALITY = "quality"
    ENVIRONMENT = "environment"
    OTHER = "other"


class FieldOfWork(StrEnum):
    """Lĩnh vực of an initiative."""

    PRODUCTION = "production"
    SAFETY = "safety"
    SAVING = "saving"
    QUALITY = "quality"
    MANAGEMENT = "management"
    ENVIRONMENT = "environment"
    OTHER = "other"


Source = Literal["typed", "voice"]


class Worker(BaseModel):
    """A worker an officer enters an idea for."""

    person_id: int
    name: str
    unit_code: str
    unit_name: str
    # The last three digits only, to tell two namesakes apart; never the whole number.
    phone_tail: str | None = None
    # Has a chat with the bot: confirms the idea there themselves.
    reachable: bool = False


class Draft(BaseModel):
    """The initiative being written. `id` is the stored row once the first answer is saved."""

    id: int | None = None
    problem: str | None = None
    solution: str | None = None
    benefit_kind: BenefitKind | None = None
    benefit_detail: str | None = None
    benefit_value_vnd: int | None = None
    field: FieldOfWork | None = None
    applied: bool | None = None
    applied_on: dt.date | None = None
    co_authors: str | None = None
    sources: dict[str, Source] = Field(default_factory=dict)
    # The stored voice note each answer came from: {"problem": 12}
    voice_notes: dict[str, int] = Field(default_factory=dict)
    # Compared with the stored ideas once already (a worker is asked about a similar one once).
    similar_checked: bool = False
    # Returned by an officer: the question their reason concerns, where editing starts.
    reopen: Step | None = None
    # Entered by the officer chatting for this worker, who is its author.
    author: Worker | None = None
    # The author (or the officer, for one without a chat) said it is theirs: not asked again.
    confirmed: bool = False

    def has_content(self) -> bool:
        """True once the worker has answered at least the first question."""
        return self.problem is not None


class PendingAnswer(BaseModel):
    """An answer read back to the worker and waiting for "Đúng" before it becomes the answer
    to `step`. It belongs to that step: entering any step drops it, so it can never land on
    another question."""

    text: str
    step: Step
    note_id: int | None = None
    # Words of `text` heard with doubt, in order: marked when it is read back.
    doubtful: list[str] = Field(default_factory=list)


class ReviewState(BaseModel):
    """An officer's place in the review queue: the card shown, what they chose for it, and
    the cards they skipped this time round."""

    card: int | None = None
    level: str | None = None
    decision: str | None = None
    part: Step | None = None
    skipped: list[int] = Field(default_factory=list)
    # The officer listened to the card's recordings: it is offered again in a line, not whole.
    listened: bool = False


class AssistState(BaseModel):
    """An officer finding the worker to enter an idea for: what they searched, who was
    found, and the new worker being added."""

    query: str = ""
    found: list[Worker] = Field(default_factory=list)
    new_name: str | None = None
    new_unit: str | None = None


class SimilarRef(BaseModel):
    """A stored idea very like the worker's draft, as it is shown to them."""

    id: int
    title: str
    unit: str
    status: str


class RecordState(BaseModel):
    """An officer recording a unit's prompt pack: the message asked for, and (when the ear
    heard something else) what it heard in the note waiting to be kept or recorded again.
    `one` is a single message asked for by name: recording stops after it."""

    unit_code: str
    key: str
    one: bool = False
    note_id: int | None = None
    heard: str | None = None
    score: float | None = None


class Confirmation(BaseModel):
    """An idea an officer entered for this person, waiting for them to say it is theirs."""

    initiative_id: int
    title: str
    officer: str
    summary: str


class Interrupted(BaseModel):
    """Where the person was when a question for them arrived (an entry to confirm); they go
    back there, read-back and all, once it is answered."""

    step: Step
    pending: PendingAnswer | None = None
    editing: bool = False


class State(BaseModel):
    """The whole conversation state of one chat, stored as JSON next to the draft."""

    step: Step = Step.START
    name: str | None = None
    unit_code: str | None = None
    draft: Draft | None = None
    editing: bool = False
    pending: PendingAnswer | None = None
    options: list[str] = Field(default_factory=list)
    last_activity: dt.datetime | None = None
    # Redeemed an officer's invitation (what they may do is checked on every action).
    officer: bool = False
    review: ReviewState | None = None
    assist: AssistState | None = None
    # Entries made for this person by an officer, the first one being asked about.
    confirm: list[Confirmation] = Field(default_factory=list)
    interrupted: Interrupted | None = None
    # Questions are read aloud to this worker (their union's recordings): None until their
    # first answer to a question of an idea says (a voice note: yes), then theirs to switch.
    hear: bool | None = None
    # Answers that said nothing («không biết», a sticker, a silent note) at this question, and
    # the question a worker who got stuck came from.
    stuck: int = 0
    stuck_at: Step | None = None
    record: RecordState | None = None
    similar: SimilarRef | None = None
    # A fingerprint of the last text typed or button pressed: the service recognises the same
    # message sent again before the answer to it reached the chat, and does not take it as
    # the next answer.
    last_text: str | None = None

    def working_copy(self) -> State:
        """A copy whose mutable parts (draft, its sources, options) are the copy's own.

        Cheaper than a generic deep copy, which matters: it runs on every message.
        """
        draft = None
        if self.draft is not None:
            draft = self.draft.model_copy(
                update={
                    "sources": dict(self.draft.sources),
                    "voice_notes": dict(self.draft.voice_notes),
                }
            )
        return self.model_copy(
            update={"draft": draft, "options": list(self.options), "confirm": list(self.confirm)}
        )


class IdeaStatus(StrEnum):
    """An initiative's status as the dialog shows it to its author. The service maps the
    stored status onto it; a test keeps the two enumerations equal."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    VALID = "valid"
    RETURNED = "returned"
    REJECTED = "rejected"
    AWAITING_AUTHOR = "awaiting_author"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"


class UnitRef(BaseModel):
    code: str
    name: str
    # Workers belong to grassroots unions; higher levels only review and rank.
    grassroots: bool


class IdeaRef(BaseModel):
    """A stored initiative as listed to its author."""

    id: int
    title: str
    status: IdeaStatus
    updated_at: dt.datetime


class SpokenPart(BaseModel):
    """A kept voice note that answered one part of an initiative."""

    field: str
    path: str
    seconds: float


class Card(BaseModel):
    """One initiative as an officer reviews it."""

    id: int
    level: str
    title: str
    problem: str | None
    solution: str | None
    benefit_kind: BenefitKind | None
    benefit_detail: str | None
    benefit_value_vnd: int | None
    field: FieldOfWork | None
    applied: bool | None
    applied_on: dt.date | None
    co_authors: str | None
    author_name: str | None
    unit_name: str
    submitted_at: dt.datetime | None
    sources: dict[str, str] = Field(default_factory=dict)
    # Earlier decisions, in words: ["Cơ sở: hợp lệ (Trần Văn Hùng)"]
    history: list[str] = Field(default_factory=list)
    entered_by: str | None = None
    # Entered by an officer: the author confirmed it themselves (else the officer did for them).
    confirmed_by_author: bool = False
    # The spoken answers, where the officer's channel can play them back.
    recordings: list[SpokenPart] = Field(default_factory=list)
    # The parts (fields) spoken and heard with doubt: worth listening to.
    doubtful: list[str] = Field(default_factory=list)
    # Stored ideas like this one, in words, the closest first (see msg.CARD_SIMILAR), and
    # their ids in the same order.
    similar: list[str] = Field(default_factory=list)
    similar_ids: list[int] = Field(default_factory=list)

    def as_draft(self) -> Draft:
        return Draft(
            problem=self.problem,
            solution=self.solution,
            benefit_kind=self.benefit_kind,
            benefit_detail=self.benefit_detail,
            benefit_value_vnd=self.benefit_value_vnd,
            field=self.field,
            applied=self.applied,
            applied_on=self.applied_on,
            co_authors=self.co_authors,
        )


class Decided(StrEnum):
    DONE = "done"
    TAKEN = "taken"  # somebody decided it first
    FORBIDDEN = "forbidden"  # not in this officer's units


class Directory(Protocol):
    """Read-only look-ups the dialog needs, bound to the person chatting.

    The dialog only reads through it; every write is the caller's, from the returned state.
    """

    def find_unit(self, code: str) -> UnitRef | None:
        """The unit with `code`, also when typed without its hyphen ("HNDM01")."""
        ...

    def suggest_units(self, code: str) -> list[UnitRef]:
        """Grassroots units whose codes are closest to a code that was not found."""
        ...

    def drafts(self) -> list[IdeaRef]: ...

    def submitted(self) -> list[IdeaRef]: ...

    def load_draft(self, initiative_id: int) -> Draft | None: ...


class Desk(Protocol):
    """What the dialog may ask done beyond its own state: officers' actions and answers to
    them, carried out by the caller in the same transaction as the turn. Every method checks
    the person's rights itself; the dialog never decides who may do what."""

    def officer_units(self) -> list[UnitRef]: ...

    def redeem(self, code: str) -> UnitRef | None:
        """Use an invitation code: the unit the person is now an officer of, or None."""
        ...

    def next_card(self, skip: list[int]) -> Card | None: ...

    def card(self, initiative_id: int) -> Card | None: ...

    def decide(
        self, initiative_id: int, level: str, decision: str, reason: str | None, part: Step | None
    ) -> Decided: ...

    def find_workers(self, query: str) -> list[Worker]:
        """Workers in the officer's units whose name has words beginning with the query's,
        or whose phone number it is; the closest first."""
        ...

    def worker(self, person_id: int) -> Worker | None:
        """The worker as they are now (reachable or not), if still in the officer's units."""
        ...

    def grassroots_unit(self, code: str) -> UnitRef | None:
        """The grassroots union with `code` among the officer's units."""
        ...

    def add_worker(self, name: str, unit_code: str, phone: str | None) -> Worker | None:
        """Add a worker (without a chat) to one of the officer's grassroots unions."""
        ...

    def answer_entry(self, initiative_id: int, mine: bool) -> bool:
        """The author's answer to "is this your idea?": into the review queue, or withdrawn;
        the officer who entered it is told. False when it was answered already."""
        ...

    def recorded(self, unit_code: str) -> set[str]:
        """The messages the unit (one of the officer's) has a current clip of."""
        ...

    def keep_clip(self, unit_code: str, key: str, note_id: int, heard: str, score: float) -> bool:
        """Keep the officer's voice note `note_id` as the unit's clip of message `key`
        (levelled, trimmed, OGG/Opus); False when it cannot be (not their unit, no audio)."""
        ...

    def ask_for_help(self, question: str) -> bool:
        """Tell the officers of the worker's union that the worker needs help at `question`;
        False when no officer can be reached."""
        ...

    def similar_idea(self, draft: Draft) -> SimilarRef | None:
        """A stored idea of the worker's province very like the draft, if any."""
        ...

    def ask_to_join(self, initiative_id: int, draft_id: int | None) -> bool:
        """Ask the idea's officers to take the worker on as a co-author; False when none
        can be reached."""
        ...

    def answer_join(self, request_id: int, accept: bool) -> str:
        """An officer's answer to a request to join: what to tell them."""
        ...

    def web_link(self) -> str:
        """A one-time link to the officers' web pages, in the words to send it with (or why
        there is none: no site configured, too many asked for lately)."""
        ...

    def mark_duplicate(self, initiative_id: int, level: str, of: int) -> Decided:
        """Mark an entry waiting at `level` as repeating the idea `of` (one of its card's
        similar entries): out of the queue and the counts, its author told kindly."""
        ...


class NoDesk:
    """A desk for someone with no officer rights and nothing waiting for them."""

    def officer_units(self) -> list[UnitRef]:
        return []

    def redeem(self, code: str) -> UnitRef | None:
        return None

    def next_card(self, skip: list[int]) -> Card | None:
        return None

    def card(self, initiative_id: int) -> Card | None:
        return None

    def decide(
        self, initiative_id: int, level: str, decision: str, reason: str | None, part: Step | None
    ) -> Decided:
        return Decided.FORBIDDEN

    def find_workers(self, query: str) -> list[Worker]:
        return []

    def worker(self, person_id: int) -> Worker | None:
        return None

    def grassroots_unit(self, code: str) -> UnitRef | None:
        return None

    def add_worker(self, name: str, unit_code: str, phone: str | None) -> Worker | None:
        return None

    def answer_entry(self, initiative_id: int, mine: bool) -> bool:
        return False

    def recorded(self, unit_code: str) -> set[str]:
        return set()

    def keep_clip(self, unit_code: str, key: str, note_id: int, heard: str, score: float) -> bool:
        return False

    def ask_for_help(self, question: str) -> bool:
        return False

    def similar_idea(self, draft: Draft) -> SimilarRef | None:
        return None

    def ask_to_join(self, initiative_id: int, draft_id: int | None) -> bool:
        return False

    def answer_join(self, request_id: int, accept: bool) -> str:
        return ""

    def mark_duplicate(self, initiative_id: int, level: str, of: int) -> Decided:
        return Decided.FORBIDDEN

    def web_link(self) -> str:
        return ""
