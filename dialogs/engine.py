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
from dialogs.answers import (
    is_greeting,
    is_non_answer,
    is_thanks,
    match_option,
    named_option,
    number_of,
    wants_hearing,
    yes_or_no,
)
from dialogs.events import (
    ChoiceIn,
    CommandIn,
    Inbound,
    Option,
    Reply,
    TextIn,
    UnsupportedIn,
    VoiceIn,
    parse_text,
)
from dialogs.flow import Accepts, Answer, Ctx, DialogConfig, Flow, Retry, StepSpec
from dialogs.state import (
    Confirmation,
    Desk,
    Directory,
    Draft,
    Interrupted,
    PendingAnswer,
    State,
    Step,
)
from dialogs.summary import mark_doubt
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
    """A handler went somewhere its step does not declare: a bug in the flow's table."""


def handle(
    state: State,
    event: Inbound,
    *,
    flow: Flow,
    now: dt.datetime,
    directory: Directory,
    config: DialogConfig | None = None,
    desk: Desk | None = None,
) -> Outcome:
    """Advance the conversation of `flow` by one inbound event."""
    ctx = Ctx(state.working_copy(), now, directory, config or DialogConfig())
    if desk is not None:
        ctx.desk = desk
    outcome = Outcome(ctx.state)
    _Turn(flow, ctx, outcome).dispatch(event)
    ctx.state.last_activity = now
    return outcome


def say_and_ask_again(
    state: State,
    note: str,
    *,
    flow: Flow,
    now: dt.datetime,
    directory: Directory,
    config: DialogConfig | None = None,
) -> Outcome:
    """Say `note` (the answer to a message that was not for the dialog, such as "dừng" to a
    reminder) and ask again what is waiting, so the person sees where they are."""
    ctx = Ctx(state.working_copy(), now, directory, config or DialogConfig())
    outcome = Outcome(ctx.state)
    turn = _Turn(flow, ctx, outcome)
    turn.say(note)
    turn.ask_again()
    ctx.state.last_activity = now
    return outcome


def interrupt(
    state: State,
    confirmation: Confirmation,
    *,
    flow: Flow,
    now: dt.datetime,
    directory: Directory,
    config: DialogConfig | None = None,
) -> Outcome:
    """Ask the person about an entry an officer made for them, wherever they are; they
    return there (with any read-back) once they answer. Not their own message: the pause
    that offers to resume a draft is still counted from their last one."""
    if flow.interrupt is None:
        raise ValueError(f"{flow.name}: no step to ask from outside")
    ctx = Ctx(state.working_copy(), now, directory, config or DialogConfig())
    outcome = Outcome(ctx.state)
    current = ctx.state
    if any(c.initiative_id == confirmation.initiative_id for c in current.confirm):
        return outcome
    current.confirm.append(confirmation)
    if current.step is flow.interrupt:
        return outcome  # asked once the one on screen is answered
    current.interrupted = None
    if current.step is not flow.start:
        current.interrupted = Interrupted(
            step=current.step, pending=current.pending, editing=current.editing
        )
    _Turn(flow, ctx, outcome).enter(flow.interrupt)
    return outcome


@dataclass(slots=True)
class _Turn:
    """One event handled within one flow: the flow's table, the handler context, the outcome."""

    flow: Flow
    ctx: Ctx
    out: Outcome

    def dispatch(self, event: Inbound) -> None:
        flow, state = self.flow, self.ctx.state
        if isinstance(event, ChoiceIn) and event.value.startswith("/"):
            event = parse_text(event.value)  # a button that types a command (/nhan 12)
        if isinstance(event, CommandIn) and self.command(event):
            return
        if state.step is flow.start:
            self.say(flow.welcome)
            if isinstance(event, CommandIn) and event.name == "start" and event.arg:
                self.enter(flow.entry, quiet=True)
                self.answer(flow.specs[flow.entry], Answer(text=event.arg))
            else:
                self.enter(flow.entry)
            return
        if state.pending is not None and state.pending.step is not state.step:
            state.pending = None  # cannot happen through enter(); never let it land elsewhere

        spec = flow.specs[state.step]
        if spec.drafting and _is_stale(self.ctx) and state.draft is not None:
            self.enter(flow.resume)  # whatever was said after the pause is not an answer
            return

        nav = _navigation(event)
        if nav is not None:
            self.navigate(spec, nav)
            return
        text = _text_of(event)
        hearing = wants_hearing(text) if text is not None else None
        if hearing is not None:
            state.hear = hearing
            self.say(msg.HEAR_ON if hearing else msg.HEAR_OFF)
            self.ask_again()
            return
        if state.hear is None and spec.drafting and isinstance(event, TextIn | VoiceIn):
            state.hear = isinstance(event, VoiceIn)  # the first answer says how they answer
        if self.stuck(event):
            return
        if isinstance(event, CommandIn):
            self.say(msg.UNKNOWN_COMMAND.format(command="/" + event.name[:20]))
            self.ask_again()
            return
        if isinstance(event, UnsupportedIn):
            self.say(msg.UNSUPPORTED.get(event.kind, msg.UNSUPPORTED_OTHER))
            self.ask_again()
            return
        if isinstance(event, VoiceIn) and event.transcript is None:
            self.voice_problem(event.problem or "unavailable")  # drops any read-back
            return

        if text is not None and (is_greeting(text) or is_thanks(text)):
            where = msg.STEP_TITLES[state.step]
            greeting = msg.GREETING_BACK if is_greeting(text) else msg.THANKS_BACK
            self.say(greeting.format(name=msg.address(state.name), where=where))
            self.ask_again()
            return

        if state.pending is not None and self.confirm(spec, event):
            return
        if isinstance(event, ChoiceIn) and event.value in _VOICE_CHOICES:
            self.after_no(event.value)
            return
        if text is not None and state.options and set(state.options) <= _VOICE_CHOICES:
            # Right after a no at the read-back: "1"/"2" (or their words) pick Nói lại / Gõ lại.
            number = number_of(text)
            picked = named_option(text, _AFTER_NO)
            if number is not None and 1 <= number <= len(state.options):
                picked = state.options[number - 1]
            if picked is not None:
                self.after_no(picked)
                return
        if isinstance(event, VoiceIn) and spec.accepts is Accepts.VOICE_OR_CHOICE:
            if not match_key(text or ""):
                self.voice_problem("unclear")
            else:
                self.answer(spec, Answer(text=text, source="voice", note_id=event.note_id))
            return
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

    def stuck(self, event: Inbound) -> bool:
        """A second answer that says nothing at a question one can get stuck at: offer an
        example, keeping the draft for later, or an officer's help (True). The first is
        answered as before, with the example."""
        flow, state = self.flow, self.ctx.state
        if flow.stuck is None or state.step not in flow.stuck_steps or state.pending:
            return False
        if not _says_nothing(event):
            return False
        state.stuck += 1
        if state.stuck < 2:
            if isinstance(event, VoiceIn) and event.transcript:  # «không biết», spoken
                self.answer(flow.specs[state.step], Answer(text=event.transcript))
                return True
            return False
        state.stuck_at = state.step
        self.enter(flow.stuck)
        return True

    def command(self, event: CommandIn) -> bool:
        """A flow's own slash command (``/duyet``, ``/canbo CODE``, or its deep link); False
        when the command is not one of the flow's."""
        flow, state = self.flow, self.ctx.state
        name, arg = event.name, event.arg
        if name == "start":
            for prefix, command in flow.deep_links.items():
                if arg.lower().startswith(prefix):
                    name, arg = command, arg[len(prefix) :]
        spec = flow.commands.get(name)
        if spec is None:
            return False
        if state.step is flow.start:
            self.say(flow.welcome)
        result = spec.handle(self.ctx, arg.strip())
        if isinstance(result, Retry):
            self.say(result.text)
            if state.step is flow.start:
                self.enter(flow.entry)
            else:
                self.ask_again()
            return True
        if result.step not in spec.targets:
            raise UndeclaredTransitionError(f"/{name} → {result.step}")
        self.notes(result.notes)
        self.enter(result.step)
        return True

    def notes(self, notes: tuple[str | Reply, ...]) -> None:
        self.out.replies.extend(Reply(note) if isinstance(note, str) else note for note in notes)

    def ask_again(self) -> None:
        """Ask what is waiting for an answer: the read-back if there is one, else the step."""
        if self.ctx.state.pending is not None:
            self.read_back(self.ctx.state.pending)
        else:
            self.reprompt()

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
            answer = _resolve(ctx, spec, TextIn(text), strict=spec.accepts is not Accepts.CHOICE)
            if isinstance(answer, Answer) and answer.choice is not None:
                self.answer(spec, Answer(choice=answer.choice, source="voice"))
                return
            if spec.accepts is Accepts.CHOICE:
                self.retry(Retry(msg.VOICE_NOT_A_CHOICE.format(text=text)))
                return
        ctx.state.pending = PendingAnswer(
            text=text, step=ctx.state.step, note_id=event.note_id, doubtful=list(event.doubtful)
        )
        self.read_back(ctx.state.pending)

    def read_back(self, pending: PendingAnswer) -> None:
        """What was heard, asking for a yes; words heard with doubt marked «(vải?)»."""
        self.ctx.state.options = [option.value for option in VOICE_OPTIONS]
        text = msg.VOICE_HEARD.format(text=mark_doubt(pending.text, pending.doubtful))
        if pending.doubtful:
            text = f"{text}\n{msg.VOICE_DOUBT_HINT}"
        self.out.replies.append(Reply(text, options=VOICE_OPTIONS, nav=True))

    def confirm(self, spec: StepSpec, event: Inbound) -> bool:
        """The answer to "Đúng chưa?". A yes stores the transcript; a no stores nothing and
        offers to say or type it again; a number that is no option asks again. Anything else
        (a typed answer, a new voice note) is handled as a new answer: False."""
        state = self.ctx.state
        pending = state.pending
        assert pending is not None
        choice: str | None = None
        if isinstance(event, ChoiceIn):
            if not event.value.startswith("voice:"):
                self.retry(Retry(msg.STALE_BUTTON), read_back=True)
                return True
            choice = event.value
        elif (text := _text_of(event)) is not None:
            typed = isinstance(event, TextIn)
            said, number = yes_or_no(text), number_of(text)
            if said is not None:
                choice = "voice:yes" if said else "voice:no"
            elif number is not None and 1 <= number <= len(VOICE_OPTIONS):
                choice = VOICE_OPTIONS[number - 1].value
            elif number is not None and typed:  # a typed number that is no option: ask again
                hint = msg.NOT_A_CHOICE.format(numbers=msg.choices_hint(len(VOICE_OPTIONS)))
                self.retry(Retry(hint), read_back=True)
                return True
            elif typed:
                choice = named_option(text, VOICE_OPTIONS)
        if choice is None:
            state.pending = None  # a new answer, typed or spoken, replaces the read-back
            return False
        state.pending = None
        if choice == "voice:yes":
            self.answer(spec, Answer(text=pending.text, source="voice", note_id=pending.note_id))
        elif choice == "voice:no":
            state.options = [option.value for option in _AFTER_NO]
            self.out.replies.append(Reply(msg.VOICE_WRONG, options=_AFTER_NO, nav=True))
        else:
            self.after_no(choice)
        return True

    def after_no(self, choice: str) -> None:
        """ "Nói lại" or "Gõ lại": say how, and wait for the new answer."""
        text = msg.VOICE_SAY_AGAIN if choice == "voice:again" else msg.VOICE_TYPE_INSTEAD
        self.out.replies.append(Reply(text, nav=True))
        self.ctx.state.options = []

    def navigate(self, spec: StepSpec, nav: str) -> None:
        flow, state = self.flow, self.ctx.state
        onboarded = state.name is not None and (state.unit_code is not None or state.officer)
        if nav == NAV_HELP:
            self.out.replies.append(Reply(flow.help[state.step], hint=True))
            self.ask_again()
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
        if target not in {step for step, _ in spec.targets} and not spec.resumes:
            raise UndeclaredTransitionError(f"{spec.step} → {target}")
        if ctx.state.editing and spec.returns_when_editing:
            target = flow.review
        self.notes(result.notes)
        if result.submit is not None:
            self.out.submitted = result.submit
        if result.pending is not None and result.pending.step is target:
            self.enter(target, quiet=True)
            ctx.state.pending = result.pending
            self.read_back(result.pending)
        else:
            self.enter(target)

    def enter(self, step: Step, *, quiet: bool = False) -> None:
        """Make `step` current and ask its question (unless `quiet`). Any read-back waiting
        for a yes belongs to the step it was asked at, so it is dropped here."""
        state = self.ctx.state
        if step is not state.step:
            state.stuck = 0
        state.step = step
        state.pending = None
        if step in (self.flow.review, self.flow.home):
            state.editing = False
        reply = self.flow.specs[step].prompt(self.ctx)
        state.options = [option.value for option in reply.options]
        if not quiet:
            self.out.replies.append(reply)

    def reprompt(self) -> None:
        """Ask the current question again, so its choices are at hand."""
        self.enter(self.ctx.state.step)

    def retry(self, retry: Retry, *, read_back: bool = False) -> None:
        """Say why the answer was refused; re-offer the choices (or the read-back's)."""
        if read_back and self.ctx.state.pending is not None:
            self.say(retry.text)
            self.read_back(self.ctx.state.pending)
            return
        reply = self.flow.specs[self.ctx.state.step].prompt(self.ctx)
        self.ctx.state.options = [option.value for option in reply.options]
        self.out.replies.append(Reply(retry.text, options=reply.options, nav=reply.nav))


VOICE_OPTIONS = (
    Option(msg.VOICE_YES, "voice:yes"),
    Option(msg.VOICE_AGAIN, "voice:again", ("noi lai", "ghi lai", "thu lai", "ghi am lai")),
    Option(msg.VOICE_TYPE, "voice:type", ("go lai", "go", "danh chu", "go chu")),
)
_AFTER_NO = VOICE_OPTIONS[1:]
_VOICE_CHOICES = {option.value for option in _AFTER_NO}


def _text_of(event: Inbound) -> str | None:
    if isinstance(event, TextIn):
        return event.text
    if isinstance(event, VoiceIn):
        return event.transcript
    return None


def _says_nothing(event: Inbound) -> bool:
    """«không biết», «không nhớ», a sticker, a note with no speech in it."""
    if isinstance(event, UnsupportedIn):
        return event.kind == "sticker"
    if isinstance(event, VoiceIn):
        if event.transcript is None:
            return event.problem in ("silent", "empty")
        return not match_key(event.transcript) or is_non_answer(event.transcript)
    return isinstance(event, TextIn) and is_non_answer(event.text)


def _is_stale(ctx: Ctx) -> bool:
    last = ctx.state.last_activity
    return last is not None and ctx.now - last >= ctx.config.resume_after


def _navigation(event: Inbound) -> str | None:
    if isinstance(event, CommandIn):
        return _NAV_COMMANDS.get(event.name)
    if isinstance(event, ChoiceIn) and event.value.startswith("nav:"):
        return event.value
    text = _text_of(event)
    if text is not None:
        if text.strip() == "?":
            return NAV_HELP
        return _NAV_WORDS.get(match_key(text))
    return None


def _resolve(ctx: Ctx, spec: StepSpec, event: Inbound, *, strict: bool = False) -> Answer | Retry:
    """Turn a typed text or a button press into an answer the step accepts, or say why it is
    not one. A step that takes text as well as choices (`strict`, or CHOICE_OR_TEXT) matches
    labels exactly, so a name or a date is not mistaken for an option by a fuzzy match."""
    text = event.text if isinstance(event, TextIn) else None
    if spec.accepts is Accepts.TEXT:
        if text is None:
            return Retry(msg.STALE_BUTTON)
        return Answer(text=text)

    offered = ctx.state.options
    if isinstance(event, ChoiceIn):
        return Answer(choice=event.value) if event.value in offered else Retry(msg.STALE_BUTTON)
    text = text or ""
    said = yes_or_no(text)
    if said is not None:
        choice = spec.yes if said else spec.no
        if choice is not None:
            return Answer(choice=choice)
        if spec.accepts is Accepts.CHOICE:  # "vâng" at the menu picks nothing: ask for one
            return Retry(msg.NOT_A_CHOICE.format(numbers=msg.choices_hint(len(offered))))
    number = number_of(text)
    if number is not None and (spec.accepts is Accepts.CHOICE or len(match_key(text)) <= 12):
        if 1 <= number <= len(offered):
            return Answer(choice=offered[number - 1])
        if spec.accepts is Accepts.CHOICE:
            return Retry(msg.NOT_A_CHOICE.format(numbers=msg.choices_hint(len(offered))))
    options = [o for o in spec.prompt(ctx).options if o.value in offered]
    if strict or spec.accepts is Accepts.CHOICE_OR_TEXT:
        value = named_option(text, options)
        if value is not None:
            return Answer(choice=value)
    else:
        found = match_option(text, options)
        if found.value is not None:
            return Answer(choice=found.value)
        if found.candidates:
            names = [f"{offered.index(o.value) + 1}. {o.label}" for o in found.candidates]
            return Retry(msg.AMBIGUOUS.format(choices=msg.format_choices(names)))
    if spec.accepts in (Accepts.CHOICE_OR_TEXT, Accepts.VOICE_OR_CHOICE) and text:
        return Answer(text=text)
    if not text:
        return Retry(msg.EMPTY_ANSWER)
    return Retry(msg.NOT_A_CHOICE.format(numbers=msg.choices_hint(len(offered))))
