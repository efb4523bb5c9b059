"""What every flow is made of: one :class:`StepSpec` per step, and the :class:`Flow` that
names a table of them and its landmarks (where it starts, its home, its read-back).

Each declaration says what the step asks, what it accepts, where it may go next and where
"quay lại" leads. The engine (:mod:`dialogs.engine`) refuses a transition that is not
declared, so a diagram generated from the table (``docs/conversation.md``) is the truth.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from dialogs.events import Reply
from dialogs.state import Desk, Directory, Draft, NoDesk, PendingAnswer, Source, State, Step

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True, slots=True)
class DialogConfig:
    """Tunables of the conversation, filled from :class:`bot.settings.Settings`."""

    # After a pause this long, the first message offers to go on, start another idea or stop.
    resume_after: dt.timedelta = dt.timedelta(hours=2)
    max_answer_chars: int = 3000
    min_answer_chars: int = 5
    max_listed: int = 9
    voice_max_seconds: float = 300
    # A voice answer to the first question this long is the whole idea told at once.
    long_story_words: int = 40
    # How closely an officer's recording of a prompt must follow its text (0 to 1) to be
    # kept without asking.
    prompt_match: float = 0.7

    def max_chars(self, source: Source) -> int:
        """Longest answer kept: what a typed message may hold; for a spoken one, whatever the
        longest note accepted can say (Vietnamese is spoken at about 20 characters a second)."""
        if source == "voice":
            return max(self.max_answer_chars, int(self.voice_max_seconds * 40))
        return self.max_answer_chars


class Accepts(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    CHOICE_OR_TEXT = "choice_or_text"
    # A voice note, taken as it is (no read-back), or one of the choices.
    VOICE_OR_CHOICE = "voice_or_choice"


@dataclass(frozen=True, slots=True)
class Answer:
    """A resolved answer: the option picked, or free text (with how it was given)."""

    choice: str | None = None
    text: str | None = None
    source: Source = "typed"
    note_id: int | None = None


@dataclass(frozen=True, slots=True)
class Goto:
    """Go to `step`, saying `notes` first (a note is a text, or a whole reply: a recording to
    play). `submit` sends the draft; `pending` is a read-back to ask again at `step` instead
    of its question (returning to where someone was interrupted)."""

    step: Step
    notes: tuple[str | Reply, ...] = ()
    submit: Draft | None = None
    pending: PendingAnswer | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """The answer was not accepted; `text` says why and what to do."""

    text: str


@dataclass(slots=True)
class Ctx:
    """Everything a handler may look at. `state` is the working copy the handler updates."""

    state: State
    now: dt.datetime
    directory: Directory
    config: DialogConfig
    # The draft this turn sent: no longer a draft, though the store still lists it as one.
    just_sent: int | None = None
    desk: Desk = field(default_factory=NoDesk)
    # Look-ups made once per turn (a card is shown by a prompt that may run twice).
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def draft(self) -> Draft:
        if self.state.draft is None:
            self.state.draft = Draft()
        return self.state.draft

    def today(self) -> dt.date:
        return self.now.astimezone(VIETNAM).date()


Prompt = Callable[[Ctx], Reply]
Handler = Callable[[Ctx, Answer], Goto | Retry]


@dataclass(frozen=True, slots=True)
class StepSpec:
    step: Step
    prompt: Prompt
    handle: Handler
    accepts: Accepts
    targets: tuple[tuple[Step, str], ...]
    back: Step | None = None
    # Part of writing an idea: a long pause offers to resume; "hủy" keeps the draft.
    drafting: bool = False
    # When editing from the summary, answering this step returns to the summary.
    returns_when_editing: bool = False
    # The choice a yes ("dạ", "vâng", "ok") and a no ("không", "chưa") stand for here.
    yes: str | None = None
    no: str | None = None
    # Asked out of turn (see `Flow.interrupt`): answering it returns to wherever the person
    # was, so any step is a target.
    resumes: bool = False


CommandHandler = Callable[[Ctx, str], Goto | Retry]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A slash command of a flow (``/duyet``): what it does and where it may lead."""

    handle: CommandHandler
    targets: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Flow:
    """A conversation: its steps and the landmarks the engine needs.

    The flow begins at `start`, which has no declaration: the first message is greeted with
    `welcome` and `entry` is asked (a ``/start ARG`` deep link answers `entry` with ARG).
    "menu" and "hủy" lead `home`; editing returns to `review`; a long pause in a drafting step
    asks `resume`. `interrupt` is the step a question from somebody else is asked at (an
    entry an officer made, for its author to confirm), wherever the person is.
    `field_of_step` names the draft field a free-text step fills, so the voice note an answer
    came from is linked to it.
    """

    name: str
    specs: Mapping[Step, StepSpec]
    start: Step
    welcome: str
    entry: Step
    entry_label: str
    home: Step
    review: Step
    resume: Step
    help: Mapping[Step, str]
    field_of_step: Mapping[Step, str]
    # A voice answer this step gets that is long is the whole story told at once.
    story_step: Step | None = None
    interrupt: Step | None = None
    # Questions where a second answer that says nothing («không biết», a sticker, a silent
    # note) leads to `stuck`: an example, keeping the draft for later, or asking an officer.
    stuck_steps: frozenset[Step] = frozenset()
    stuck: Step | None = None
    commands: Mapping[str, CommandSpec] = field(default_factory=dict)
    # "/start canbo-CODE" is "/canbo CODE": deep links carry one argument only.
    deep_links: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = set(self.specs)
        if self.start in declared:
            raise ValueError(f"{self.name}: the start step is not declared, it only greets")
        for spec in self.specs.values():
            unknown = {target for target, _ in spec.targets} - declared
            if unknown or (spec.back is not None and spec.back not in declared):
                raise ValueError(f"{self.name}: {spec.step} leads to undeclared steps")
