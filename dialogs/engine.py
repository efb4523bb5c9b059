"""One conversation step: (stored state, inbound event) → (new state, replies, submission).

Generic over a :class:`~dialogs.flow.Flow` (a table of steps); the submission flow is
:data:`dialogs.flows.submit.SUBMIT`. Pure: no messenger, no storage, no clock but the `now`
passed in. Look-ups go through the read-only :class:`~dialogs.state.Directory` the caller
binds to the person chatting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dialogs import messages as msg
from dialogs.events import (
    ChoiceIn,
    CommandIn,
    Inbound,
    Option,
    Reply,
    TextIn,
    UnsupportedIn,
    VoiceIn,
)
from dialogs.flow import Accepts, Answer, Ctx, DialogConfig, Flow, Retry, StepSpec
from dialogs.state import Directory, Draft, PendingVoice, State, Step
from nlp.text import match_key

NAV_BACK, NAV_CANCEL, NAV_HELP, NAV_MENU = "nav:back", "nav:cancel", "nav:help", "nav:menu"

NAV_OPTIONS = (
    Option(msg.NAV_BACK, NAV_BACK),
    Option(msg.NAV_CANCEL, NAV_CANCEL),
    Option(msg.NAV_HELP, NAV_HELP),
)

_NAV_WORDS: dict[str, str] = {
    **dict.fromkeys(("quay lai", "tro lai", "lui", "lui lai", "back", "cau truoc"), NAV_BACK),
    **dict.fromkeys(("huy", "huy bo", "thoi", "cancel", "stop", "dung lai"), NAV_CANCEL),
    **dict.fromkeys(("tro giup", "giup", "giup do", "help", "huong dan"), NAV_HELP),
    **dict.fromkeys(("menu", "trang chu", "bat dau", "start", "ve menu"), NAV_MENU),
}
_NAV_COMMANDS = {
    "back": NAV_BACK,
    "cancel": NAV_CANCEL,
    "help": NAV_HELP,
    "menu": NAV_MENU,
    "start": NAV_MENU,
}


@dataclass(slots=True)
class Outcome:
    """The result of one step. `submitted` is the finished draft when the worker sent it."""

    state: State
    replies: list[Reply] = field(default_factory=list)
    submitted: Draft | None = None


class UndeclaredTransitionError(RuntimeError):
    """A handler went somewhere its step does not declare: a bug in :mod:`dialogs.steps`."""


def handle(
    state: State,
    event: Inbound,
    *,
    flow: Flow,
    now: dt.datetime,
    directory: Directory,
    config: DialogConfig | None = None,
) -> Outcome:
    """Advance the conversation of `flow` by one inbound event."""
    ctx = Ctx(state.working_copy(), now, directory, config or DialogConfig())
    outcome = Outcome(ctx.state)
    _Turn(flow, ctx, outcome).dispatch(event)
    ctx.state.last_activity = now
    return outcome


@dataclass(slots=True)
class _Turn:
    """One event handled within one flow: the flow's table, the handler context, the outcome."""

    flow: Flow
    ctx: Ctx
    out: Outcome

    def dispatch(self, event: Inbound) -> None:
        flow, state = self.flow, self.ctx.state
        if state.step is flow.start:
            self.say(flow.welcome)
            if isinstance(event, CommandIn) and event.name == "start" and event.arg:
                self.enter(flow.entry, quiet=True)
                self.answer(flow.specs[flow.entry], Answer(text=event.arg))
            else:
                self.enter(flow.entry)
            return

        spec = flow.specs[state.step]
        if spec.drafting and _is_stale(self.ctx) and state.draft is not None:
            self.enter(flow.resume)
            return

        nav = _navigation(event)
        if nav is not None:
            self.navigate(spec, nav)
            return

        if isinstance(event, UnsupportedIn):
            self.say(msg.UNSUPPORTED.get(event.kind, msg.UNSUPPORTED_OTHER))
            self.reprompt()
            return
        if isinstance(event, VoiceIn) and event.transcript is None:
            self.voice_problem(event.problem or "unavailable")
            return

        if state.pending_voice is not None:
            if self.confirm_voice(spec, event):
                return
            state.pending_voice = None  # anything else replaces the transcript read back

        if isinstance(event, VoiceIn):
            self.hear(spec, event)
            return

        answer = _resolve(self.ctx, spec, event)
        if isinstance(answer, Retry):
            self.retry(answer)
            return
        self.answer(spec, answer)

    def say(self, text: str) -> None:
        self.out.replies.append(Reply(text))

    def voice_problem(self, problem: str) -> None:
        text = msg.VOICE_PROBLEMS.get(problem, msg.VOICE_PROBLEMS["unavailable"])
        minutes = max(round(self.ctx.config.voice_max_seconds / 60), 1)
        self.say(text.format(minutes=minutes))
        self.reprompt()

    def hear(self, spec: StepSpec, event: VoiceIn) -> None:
        """A transcribed voice note: a choice acts at once; free text is read back to confirm."""
        ctx = self.ctx
        text = (event.transcript or "").strip()
        if not match_key(text):
            self.voice_problem("unclear")
            return
        if spec.accepts is not Accepts.TEXT:
            choice = _match_option(spec, ctx, text)
            if choice is not None:
                self.answer(spec, Answer(choice=choice, source="voice"))
                return
            if spec.accepts is Accepts.CHOICE:
                self.retry(Retry(msg.VOICE_NOT_A_CHOICE.format(text=text)))
                return
        ctx.state.pending_voice = PendingVoice(text=text, note_id=event.note_id)
        ctx.state.options = [option.value for option in VOICE_OPTIONS]
        self.out.replies.append(
            Reply(msg.VOICE_HEARD.format(text=text), options=VOICE_OPTIONS, nav=True)
        )

    def confirm_voice(self, spec: StepSpec, event: Inbound) -> bool:
        """Handle the answer to "Đúng chưa?"; False when the event is not one (it is then a
        new answer, typed or spoken, and the transcript read back is dropped)."""
        state = self.ctx.state
        pending = state.pending_voice
        assert pending is not None
        choice: str | None = None
        if isinstance(event, ChoiceIn):
            choice = event.value if event.value.startswith("voice:") else None
        elif isinstance(event, TextIn | VoiceIn):
            text = (event.text if isinstance(event, TextIn) else event.transcript) or ""
            key = match_key(text)
            number = _number_of(key)
            if number is not None and 1 <= number <= len(VOICE_OPTIONS):
                choice = VOICE_OPTIONS[number - 1].value
            else:
                choice = next((o.value for o in VOICE_OPTIONS if key in o.aliases), None)
        if choice is None:
            return False
        state.pending_voice = None
        if choice == "voice:yes":
            self.answer(spec, Answer(text=pending.text, source="voice", note_id=pending.note_id))
        else:
            again = choice == "voice:again"
            self.out.replies.append(
                Reply(msg.VOICE_SAY_AGAIN if again else msg.VOICE_TYPE_INSTEAD, nav=True)
            )
            state.options = []
        return True

    def navigate(self, spec: StepSpec, nav: str) -> None:
        flow, state = self.flow, self.ctx.state
        onboarded = state.unit_code is not None and state.name is not None
        if nav == NAV_HELP:
            self.say(flow.help[state.step])
            self.reprompt()
        elif nav == NAV_MENU or (nav == NAV_CANCEL and not spec.drafting):
            if onboarded:
                self.enter(flow.home)
            else:
                if nav == NAV_CANCEL:
                    self.say(msg.CANCELLED_ONBOARDING)
                self.reprompt()
        elif nav == NAV_CANCEL:
            self.say(msg.CANCELLED)
            self.enter(flow.home)
        elif state.editing:
            self.enter(flow.review)
        elif spec.back is None:
            self.say(msg.AT_FIRST_QUESTION)
            self.reprompt()
        else:
            self.enter(spec.back)

    def answer(self, spec: StepSpec, answer: Answer) -> None:
        flow, ctx = self.flow, self.ctx
        result = spec.handle(ctx, answer)
        if isinstance(result, Retry):
            self.retry(result)
            return
        field = flow.field_of_step.get(spec.step)
        if answer.note_id is not None and field is not None and ctx.state.draft is not None:
            ctx.state.draft.voice_notes[field] = answer.note_id
        if (
            answer.source == "voice"
            and spec.step is flow.story_step
            and len((answer.text or "").split()) >= ctx.config.long_story_words
        ):
            self.say(msg.LONG_STORY)
        target = result.step
        if target not in {step for step, _ in spec.targets}:
            raise UndeclaredTransitionError(f"{spec.step} → {target}")
        if ctx.state.editing and spec.returns_when_editing:
            target = flow.review
        self.out.replies.extend(Reply(note) for note in result.notes)
        if result.submit is not None:
            self.out.submitted = result.submit
        self.enter(target)

    def enter(self, step: Step, *, quiet: bool = False) -> None:
        """Make `step` current and ask its question (unless `quiet`)."""
        state = self.ctx.state
        state.step = step
        if step in (self.flow.review, self.flow.home):
            state.editing = False
        reply = self.flow.specs[step].prompt(self.ctx)
        state.options = [option.value for option in reply.options]
        if not quiet:
            self.out.replies.append(reply)

    def reprompt(self) -> None:
        """Ask the current question again, so its choices are at hand."""
        self.enter(self.ctx.state.step)

    def retry(self, retry: Retry) -> None:
        """Say why the answer was refused; re-offer the choices when the step has any."""
        reply = self.flow.specs[self.ctx.state.step].prompt(self.ctx)
        self.ctx.state.options = [option.value for option in reply.options]
        self.out.replies.append(Reply(retry.text, options=reply.options, nav=reply.nav))


VOICE_OPTIONS = (
    Option(
        msg.VOICE_YES,
        "voice:yes",
        ("dung", "dung roi", "co", "dong y", "ok", "phai", "chinh xac", "vang", "da dung"),
    ),
    Option(msg.VOICE_AGAIN, "voice:again", ("noi lai", "ghi lai", "thu lai", "ghi am lai")),
    Option(msg.VOICE_TYPE, "voice:type", ("go lai", "go", "danh chu", "go chu")),
)

_SPOKEN_NUMBERS = {
    "mot": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
    "nam": 5,
    "sau": 6,
    "bay": 7,
    "tam": 8,
    "chin": 9,
    "muoi": 10,
}


def _number_of(key: str) -> int | None:
    """1 for "1", "một", "số một", "số 1"; None when the answer is not a number."""
    key = key.removeprefix("so ").strip()
    if key.isdigit():
        return int(key)
    return _SPOKEN_NUMBERS.get(key)


def _is_stale(ctx: Ctx) -> bool:
    last = ctx.state.last_activity
    return last is not None and ctx.now - last >= ctx.config.resume_after


def _navigation(event: Inbound) -> str | None:
    if isinstance(event, CommandIn):
        return _NAV_COMMANDS.get(event.name)
    if isinstance(event, ChoiceIn) and event.value.startswith("nav:"):
        return event.value
    if isinstance(event, TextIn | VoiceIn):
        text = (event.text if isinstance(event, TextIn) else event.transcript) or ""
        if text.strip() == "?":
            return NAV_HELP
        return _NAV_WORDS.get(match_key(text))
    return None


def _resolve(ctx: Ctx, spec: StepSpec, event: Inbound) -> Answer | Retry:
    """Turn a typed text or a button press into an answer the step accepts, or say why it is
    not one. (Voice notes go through :meth:`_Turn.hear`.)"""
    text = event.text if isinstance(event, TextIn) else None
    if spec.accepts is Accepts.TEXT:
        if text is None:
            return Retry(msg.STALE_BUTTON)
        return Answer(text=text)

    offered = ctx.state.options
    if isinstance(event, ChoiceIn):
        return Answer(choice=event.value) if event.value in offered else Retry(msg.STALE_BUTTON)
    choice = _match_option(spec, ctx, text or "")
    if choice is not None:
        return Answer(choice=choice)
    if spec.accepts is Accepts.CHOICE_OR_TEXT and text:
        return Answer(text=text)
    if not text:
        return Retry(msg.EMPTY_ANSWER)
    return Retry(msg.NOT_A_CHOICE.format(numbers=msg.choices_hint(len(offered))))


def _match_option(spec: StepSpec, ctx: Ctx, text: str) -> str | None:
    key = match_key(text)
    if not key:
        return None
    offered = ctx.state.options
    number = _number_of(key)
    if number is not None:
        return offered[number - 1] if 1 <= number <= len(offered) else None
    for option in spec.prompt(ctx).options:
        if option.value not in offered:
            continue
        if key == match_key(msg.strip_emoji_label(option.label)) or key in option.aliases:
            return option.value
    return None
