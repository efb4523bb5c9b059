"""Tables. Shapes follow SQLModel's habit: a base of shared fields, a create shape for input
that differs from the row, and the table class itself.

Enumerations are stored as short strings, not native database enums, so adding a value is a
code change, not a migration on every backend.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import JSONDocument, UTCDateTime


class UnitLevel(StrEnum):
    NATIONAL = "national"
    PROVINCE = "province"
    DISTRICT = "district"
    GRASSROOTS = "grassroots"


# Which level may sit under which: province and sector unions under the confederation, and so on.
PARENT_LEVEL: dict[UnitLevel, UnitLevel | None] = {
    UnitLevel.NATIONAL: None,
    UnitLevel.PROVINCE: UnitLevel.NATIONAL,
    UnitLevel.DISTRICT: UnitLevel.PROVINCE,
    UnitLevel.GRASSROOTS: UnitLevel.DISTRICT,
}


class Role(StrEnum):
    WORKER = "worker"
    OFFICER = "officer"


class InitiativeStatus(StrEnum):
    """Where an initiative is. Only these values are ever stored in `initiative.status`."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    VALID = "valid"
    RETURNED = "returned"
    REJECTED = "rejected"
    # Entered by an officer for a worker who has a chat with the bot: waiting for their yes.
    AWAITING_AUTHOR = "awaiting_author"
    # The worker said it is not their idea: never reviewed, kept for the record.
    WITHDRAWN = "withdrawn"
    # An officer found it is an idea already submitted (`duplicate_of`): out of the counts.
    DUPLICATE = "duplicate"


# Waiting in a review queue (at the level named by `initiative.review_level`).
PENDING_REVIEW = (InitiativeStatus.SUBMITTED, InitiativeStatus.UNDER_REVIEW)
# The same as SQL with its values written out, so that a query saying it matches the
# partial indexes on waiting entries (a bound parameter would not tell the planner).
WAITING = text("status IN ('submitted', 'under_review')")
SPOKEN = text("spoken")
SPOKEN_WAITING = text("spoken AND status IN ('submitted', 'under_review')")

# Levels from the bottom up: a review level's rank; an officer decides at their level or below.
LEVEL_RANK: dict[UnitLevel, int] = {
    UnitLevel.GRASSROOTS: 0,
    UnitLevel.DISTRICT: 1,
    UnitLevel.PROVINCE: 2,
    UnitLevel.NATIONAL: 3,
}


class Decision(StrEnum):
    """What an officer decided about an initiative at one level of review."""

    VALID = "valid"
    RETURNED = "returned"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


def _created() -> Any:
    """A required UTC timestamp: the caller's clock stamps every row (storage has none)."""
    return Field(sa_type=UTCDateTime, nullable=False)


class UnitBase(SQLModel):
    code: str = Field(sa_type=String(40), unique=True, index=True)
    name: str = Field(sa_type=String(200))
    level: str = Field(sa_type=String(20))  # a UnitLevel


class UnitCreate(UnitBase):
    """A unit as given in seed files and by administrators: its parent by code."""

    parent_code: str | None = None
    quotas: dict[str, int] = Field(default_factory=dict)


class Unit(UnitBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    created_at: dt.datetime = _created()


class Period(SQLModel, table=True):
    """A stretch of the programme with its own quotas: "2026", "2026-Q4"."""

    name: str = Field(sa_type=String(10), primary_key=True)
    starts_on: dt.date
    ends_on: dt.date


class Quota(SQLModel, table=True):
    """How many initiatives a unit is expected to produce in a period ("2026", "2026-Q4")."""

    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    period: str = Field(sa_type=String(10), primary_key=True)
    target: int = Field(ge=0)


class PersonBase(SQLModel):
    name: str | None = Field(default=None, sa_type=String(100))
    # Digits only, "0912345678": given by an officer who adds a worker, to find them again.
    phone: str | None = Field(default=None, sa_type=String(20))


class Person(PersonBase, table=True):
    __table_args__ = (Index("ix_person_phone", "phone"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # The name as compared ("nguyen van an"), so that an officer finds "Nguyễn Văn An" by "an".
    name_key: str | None = Field(default=None, sa_type=String(100))
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _created()
    # Reminders of a stalled draft: when the last went out, and whether they said "dừng".
    reminded_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminders_off: bool = False


class Identity(SQLModel, table=True):
    """One way to reach a person: a chat account on a channel."""

    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(sa_type=String(20))
    external_id: str = Field(sa_type=String(64))
    unreachable: bool = False
    created_at: dt.datetime = _created()


class Membership(SQLModel, table=True):
    """A person's role in a unit: worker, or officer of that unit."""

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True, index=True)
    role: str = Field(sa_type=String(20), primary_key=True)  # a Role


class InitiativeBase(SQLModel):
    title: str = Field(default="", sa_type=String(200))
    problem: str | None = Field(default=None, sa_type=Text)
    solution: str | None = Field(default=None, sa_type=Text)
    benefit_kind: str | None = Field(default=None, sa_type=String(20))
    benefit_detail: str | None = Field(default=None, sa_type=Text)
    benefit_value_vnd: int | None = Field(default=None, sa_type=BigInteger)
    field: str | None = Field(default=None, sa_type=String(20))
    applied: bool | None = None
    applied_on: dt.date | None = None
    co_authors: str | None = Field(default=None, sa_type=Text)


def _per_level(name: str, *columns: str, where: Any = None) -> list[Index]:
    """One index of initiatives for each level's unit column, then `columns` (partial, on
    both backends, with `where`)."""
    partial = {"sqlite_where": where, "postgresql_where": where} if where is not None else {}
    return [
        Index(f"ix_initiative_{name}_{level}", column, *columns, **partial)
        for level, column in (
            ("unit", "unit_id"),
            ("district", "district_id"),
            ("province", "province_id"),
        )
    ]


class Initiative(InitiativeBase, table=True):
    """An initiative. `unit_id` is its grassroots union; `district_id` and `province_id` are
    that union's ancestors, copied here so that a district's or a province's queue and counts
    are one indexed look-up, not a walk of the tree."""

    __table_args__ = (
        Index("ix_initiative_unit_status", "unit_id", "status", "submitted_at"),
        Index("ix_initiative_district_status", "district_id", "status", "submitted_at"),
        Index("ix_initiative_province_status", "province_id", "status", "submitted_at"),
        Index("ix_initiative_author_status", "author_id", "status"),
        Index("ix_initiative_entered_by", "entered_by_id", "status"),
        # The officers' queue page: what waits under a unit, oldest (or newest) first, read
        # from the index in order and stopped after a page, however much is decided already;
        # those of them with a recording (a few in a hundred: walking the queue for them
        # would read all of it); the entries that have an amount, largest first (backwards).
        *_per_level("waiting", "submitted_at", "id", where=WAITING),
        *_per_level("spoken", "submitted_at", "id", where=SPOKEN_WAITING),
        *_per_level("value", "benefit_value_vnd", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    district_id: int | None = Field(default=None, foreign_key="unit.id")
    province_id: int | None = Field(default=None, foreign_key="unit.id")
    author_id: int = Field(foreign_key="person.id")
    entered_by_id: int | None = Field(default=None, foreign_key="person.id")
    status: str = Field(default=InitiativeStatus.DRAFT, sa_type=String(20))  # InitiativeStatus
    # How each answer was given: {"problem": "voice", "solution": "typed", ...}
    sources: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONDocument, nullable=False)
    )
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _created()
    submitted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The level whose queue it is in (or was last in): a UnitLevel; None before submission.
    review_level: str | None = Field(default=None, sa_type=String(20))
    # Returned: the question the officer's reason concerns, where the author reopens it.
    return_step: str | None = Field(default=None, sa_type=String(30))
    # The idea already submitted that this one repeats (status duplicate).
    duplicate_of: int | None = Field(default=None, foreign_key="initiative.id")
    # Entered by an officer: who said it is the author's idea (the author, or the officer
    # for a worker without a chat), and when.
    confirmed_by_id: int | None = Field(default=None, foreign_key="person.id")
    confirmed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A part of it was answered by voice (`sources`): the officers' "has a recording" filter.
    spoken: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})


class Review(SQLModel, table=True):
    """One decision by one officer, never changed: the review history of an initiative."""

    __table_args__ = (Index("ix_review_initiative", "initiative_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id")
    level: str = Field(sa_type=String(20))  # a UnitLevel
    officer_id: int = Field(foreign_key="person.id")
    decision: str = Field(sa_type=String(20))  # a Decision
    reason: str | None = Field(default=None, sa_type=Text)
    created_at: dt.datetime = _created()


class Invite(SQLModel, table=True):
    """A one-time code that makes whoever redeems it an officer of a unit. Only a hash of the
    code is stored: a copy of the database does not hand out officer rights."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(sa_type=String(64), unique=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    created_at: dt.datetime = _created()
    expires_at: dt.datetime = _created()
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_id: int | None = Field(default=None, foreign_key="person.id")


class OfficerNotice(SQLModel, table=True):
    """When an officer was last told of new entries waiting for them (batched notices)."""

    __tablename__ = "officer_notice"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    last_sent_at: dt.datetime = _created()


class Conversation(SQLModel, table=True):
    """The dialog state of one chat, written in the same transaction as its draft."""

    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=String(20))
    chat_id: str = Field(sa_type=String(64))
    person_id: int = Field(foreign_key="person.id", index=True)
    step: str = Field(sa_type=String(30))
    state: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONDocument, nullable=False)
    )
    initiative_id: int | None = Field(default=None, foreign_key="initiative.id")
    last_activity: dt.datetime = _created()


class VoiceNote(SQLModel, table=True):
    """A voice note a worker sent, kept for officers to listen to, with what was heard.

    `initiative_id` and `field` are filled in once the worker confirms the transcript as the
    answer to a question of that initiative.
    """

    __table_args__ = (Index("ix_voice_note_initiative", "initiative_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    initiative_id: int | None = Field(default=None, foreign_key="initiative.id")
    field: str | None = Field(default=None, sa_type=String(30))
    path: str = Field(sa_type=String(300))
    duration_s: float
    engine: str = Field(sa_type=String(20))
    raw_text: str = Field(sa_type=Text)
    text: str = Field(sa_type=Text)
    # [{"word": "máy", "confidence": 0.93, "start": 0.4, "end": 0.7}, ...] where given
    words: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONDocument, nullable=False)
    )
    created_at: dt.datetime = _created()


class ProcessedUpdate(SQLModel, table=True):
    """An inbound update already handled: Telegram's update_id, Zalo's event and message id.

    Claimed in the same transaction as the conversation turn, so a redelivered update is
    processed exactly once.
    """

    channel: str = Field(sa_type=String(20), primary_key=True)
    update_key: str = Field(sa_type=String(100), primary_key=True)
    created_at: dt.datetime = _created()


class ReceivedUpdate(SQLModel, table=True):
    """An update taken from a messenger and not yet handled: kept the moment it arrives, before
    the messenger is told it was received (Telegram's next poll, a webhook's answer; Zalo's
    poll gives an update once). Its turn deletes it in its transaction; one whose `owner`
    process died before that is handled by the next (see :mod:`storage.received`)."""

    __tablename__ = "received_update"

    channel: str = Field(sa_type=String(20), primary_key=True)
    update_key: str = Field(sa_type=String(100), primary_key=True)
    payload: dict[str, Any] = Field(sa_column=Column(JSONDocument, nullable=False))
    owner: int = Field(sa_type=BigInteger)  # the process that took it (storage.presence)
    received_at: dt.datetime = _created()
    # A voice note's download and transcript once heard: a process killed before the turn
    # leaves them to the next, which neither downloads nor hears the note again.
    heard: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONDocument, nullable=True)
    )


class SendPace(SQLModel, table=True):
    """The pace every process of the bot shares for one messenger limit (the whole bot, one
    chat, one group): the limit's theoretical arrival time, GCRA's one number of state."""

    __tablename__ = "send_pace"

    key: str = Field(sa_type=String(200), primary_key=True)
    tat: float  # seconds since the epoch: every process on every host reads the same clock


class GroupChat(SQLModel, table=True):
    """A union group chat registered for the weekly ranking of one unit."""

    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=String(20))
    chat_id: str = Field(sa_type=String(64))
    unit_id: int = Field(foreign_key="unit.id", index=True)
    registered_by: int = Field(foreign_key="person.id")
    created_at: dt.datetime = _created()


class OutboxKind(StrEnum):
    REPLY = "reply"  # an answer to a worker's message, written with the turn
    NOTICE = "notice"  # a turn's word to somebody else: a review outcome to its author
    BROADCAST = "broadcast"  # scheduled or campaign posts (rankings, reminders)


# Who goes first when rows wait: a worker in conversation before anybody's notice, notices
# before broadcasts (a ranking to ten thousand groups never holds up an answer).
OUTBOX_PRIORITY: dict[OutboxKind, int] = {
    OutboxKind.REPLY: 0,
    OutboxKind.NOTICE: 1,
    OutboxKind.BROADCAST: 2,
}


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up: the recipient blocked the bot, or the request is refused


class OutboxMessage(SQLModel, table=True):
    """What one turn (or one campaign, for one recipient) sends to one chat, written in the
    same transaction as the decision and marked sent once the messenger accepted it: a crash
    can resend a message the messenger already showed once, never lose one.

    The payload is a list of messages (a turn's replies, in order); `parts_sent` counts those
    delivered, so a retry resumes after them. `lease_until` is how long the process that wrote
    or picked up the row has to deliver it; after that any process may. `dedup_key` is unique
    per channel: the update that caused the row, or a (campaign, recipient) pair.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("channel", "dedup_key"),
        Index("ix_outbox_pending", "status", "channel", "priority", "id"),
        Index("ix_outbox_update", "channel", "update_key"),
        Index("ix_outbox_chat", "channel", "chat_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=String(20))
    chat_id: str = Field(sa_type=String(64))
    kind: str = Field(sa_type=String(20))  # an OutboxKind
    priority: int = 0  # OUTBOX_PRIORITY of the kind: lower goes first
    status: str = Field(sa_type=String(10))  # an OutboxStatus
    # Channel-neutral: {"replies": [{"text": …, "options": [[label, value], …], "nav": …}, …]}
    payload: dict[str, Any] = Field(sa_column=Column(JSONDocument, nullable=False))
    parts_sent: int = 0
    update_key: str | None = Field(default=None, sa_type=String(100))
    dedup_key: str | None = Field(default=None, sa_type=String(160))
    attempts: int = 0
    # A broadcast whose post began and whose outcome was never recorded (the sender died in
    # between): the messenger may have it, so it is not posted a second time.
    in_doubt: bool = False
    last_error: str | None = Field(default=None, sa_type=Text)
    lease_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The process holding the lease: one that died frees it at once (storage.presence).
    owner: int | None = Field(default=None, sa_type=BigInteger)
    created_at: dt.datetime = _created()
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class RankingSnapshot(SQLModel, table=True):
    """One unit's standing among its siblings in one ISO week, as posted that Friday: kept, so
    that a re-run posts the same numbers and next week's change (▲2, ▼1) is exact.

    `valid` and `entries` count initiatives up to the week's cut-off; `new_entries` those
    submitted in the seven days before it; `target` is the unit's quota in the period the
    cut-off falls in (its own, or the sum of its units' where it has none)."""

    __tablename__ = "ranking_snapshot"
    __table_args__ = (Index("ix_ranking_snapshot_parent", "week", "parent_id", "rank"),)

    week: str = Field(sa_type=String(8), primary_key=True)  # "2026-W49"
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    parent_id: int | None = Field(default=None, foreign_key="unit.id")
    valid: int
    entries: int
    new_entries: int
    target: int | None = None
    rank: int
    computed_at: dt.datetime = _created()


class JobStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobRun(SQLModel, table=True):
    """One run of a scheduled job for one slot (the instant it was due): claimed before the
    work, so that of several schedulers (an old leader and its successor) one does it."""

    __tablename__ = "job_run"

    name: str = Field(sa_type=String(40), primary_key=True)
    slot: dt.datetime = Field(sa_type=UTCDateTime, primary_key=True)
    status: str = Field(sa_type=String(10))  # a JobStatus
    owner: str = Field(sa_type=String(80))
    started_at: dt.datetime = _created()
    # A running claim older than this is a dead owner's: another may take it over.
    lease_until: dt.datetime = _created()
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    detail: str | None = Field(default=None, sa_type=Text)


class PromptClip(SQLModel, table=True):
    """A unit's recording of one message a worker hears (its prompt pack): who read it, when,
    and the text it was checked against; stale once the message is reworded. Telegram's id
    for the uploaded file is kept so that it is uploaded once."""

    __tablename__ = "prompt_clip"
    __table_args__ = (UniqueConstraint("unit_id", "message_key"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    message_key: str = Field(sa_type=String(60))
    path: str = Field(sa_type=String(500))
    duration_s: float
    checked_text: str = Field(sa_type=Text)
    heard: str = Field(default="", sa_type=Text)  # what the ear heard in it
    score: float | None = None  # how closely that follows the text, 0 to 1
    recorded_by: int | None = Field(default=None, foreign_key="person.id")
    recorder: str = Field(default="", sa_type=String(100))  # a name, or "import: file.wav"
    recorded_at: dt.datetime = _created()
    telegram_file_id: str | None = Field(default=None, sa_type=String(200))


class SimilarEntry(SQLModel, table=True):
    """A submitted initiative as the similar-idea check compares it: its problem and change
    folded (no marks, đ → d, lower case, fillers out; see :mod:`nlp.similar`)."""

    __tablename__ = "similar_entry"

    initiative_id: int = Field(foreign_key="initiative.id", primary_key=True)
    province_id: int = Field(default=0, sa_type=Integer)  # 0: none (a unit with no province)
    problem_key: str = Field(default="", sa_type=Text)
    solution_key: str = Field(default="", sa_type=Text)


class SimilarBand(SQLModel, table=True):
    """One LSH band of an initiative's MinHash signature: initiatives sharing a band (within
    a province) are the candidates the exact score ranks."""

    __tablename__ = "similar_band"

    province_id: int = Field(sa_type=Integer, primary_key=True)
    band: int = Field(sa_type=BigInteger, primary_key=True)
    initiative_id: int = Field(sa_type=Integer, primary_key=True)


class JoinRequest(SQLModel, table=True):
    """A worker asking to be a co-author of a very similar idea already submitted, instead of
    sending their draft: the idea's officers accept (the worker is added to its co-authors and
    the draft is closed) or decline (the draft is theirs to send)."""

    __tablename__ = "join_request"

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    draft_id: int | None = Field(default=None, foreign_key="initiative.id")
    status: str = Field(default="pending", sa_type=String(10))  # pending, accepted, declined
    created_at: dt.datetime = _created()
    decided_by: int | None = Field(default=None, foreign_key="person.id")
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebLogin(SQLModel, table=True):
    """A one-time link to the officers' pages, sent in the chat (``/web``): only its SHA-256 is
    kept; it signs in once, before it expires."""

    __tablename__ = "web_login"

    token_hash: str = Field(sa_type=String(64), primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: dt.datetime = _created()
    expires_at: dt.datetime = _created()
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """An officer signed in to the web pages: the cookie carries a random token, only its
    SHA-256 is kept, so a copy of the database signs nobody in. Revoked by removing the row."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: dt.datetime = _created()
    seen_at: dt.datetime = _created()
    expires_at: dt.datetime = _created()
    agent: str = Field(default="", sa_type=String(120))  # the browser, as it says: for the list
