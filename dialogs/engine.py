"""One conversation step: (stored state, inbound event) → (new state, replies, submission).

Pure: no messenger, no storage, no clock but the `now` passed in. Look-ups go through the
read-only :class:`~dialogs.state.Directory` the caller binds to the person chatting.
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
from dialogs.state import Directory, Draft, Source, State, Step
from dialogs.steps import SPECS, Accepts, Answer, Ctx, DialogConfig, Retry, StepSpec
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
    now: dt.datetime,
    directory: Directory,
    config: DialogConfig | None = None,
) -> Outcome:
    """Advance the conversation by one inbound event."""
    ctx = Ctx(state.working_copy(), now, directory, config or DialogConfig())
    outcome = Outcome(ctx.state)
    _dispatch(ctx, event, outcome)
    ctx.state.last_activity = now
    return outcome


def _dispatch(ctx: Ctx, event: Inbound, out: Outcome) -> None:
    state = ctx.state
    spec = SPECS[state.step]

    if state.step is Step.START:
        out.replies.append(Reply(msg.WELCOME))
        if isinstance(event, CommandIn) and event.name == "start" and event.arg:
            _enter(ctx, Step.ONBOARD_UNIT, out, quiet=True)
            _answer(ctx, SPECS[Step.ONBOARD_UNIT], Answer(text=event.arg), out)
        else:
            _enter(ctx, Step.ONBOARD_UNIT, out)
        return

    if spec.drafting and _is_stale(ctx) and state.draft is not None:
        _enter(ctx, Step.RESUME, out)
        return

    nav = _navigation(event)
    if nav is not None:
        _navigate(ctx, spec, nav, event, out)
        return

    if isinstance(event, UnsupportedIn):
        out.replies.append(Reply(msg.UNSUPPORTED.get(event.kind, msg.UNSUPPORTED_OTHER)))
        _reprompt(ctx, out)
        return
    if isinstance(event, VoiceIn) and event.transcript is None:
        text = msg.VOICE_PROBLEMS.get(event.problem or "", msg.VOICE_PROBLEMS["unavailable"])
        out.replies.append(Reply(text))
        _reprompt(ctx, out)
        return

    answer = _resolve(ctx, spec, event)
    if isinstance(answer, Retry):
        _retry(ctx, answer, out)
        return
    _answer(ctx, spec, answer, out)


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


def _navigate(ctx: Ctx, spec: StepSpec, nav: str, event: Inbound, out: Outcome) -> None:
    state = ctx.state
    onboarded = state.unit_code is not None and state.name is not None
    if nav == NAV_HELP:
        out.replies.append(Reply(msg.HELP[state.step]))
        _reprompt(ctx, out)
    elif nav == NAV_MENU or (nav == NAV_CANCEL and not spec.drafting):
        if onboarded:
            _enter(ctx, Step.MENU, out)
        else:
            if nav == NAV_CANCEL:
                out.replies.append(Reply(msg.CANCELLED_ONBOARDING))
            _reprompt(ctx, out)
    elif nav == NAV_CANCEL:
        out.replies.append(Reply(msg.CANCELLED))
        _enter(ctx, Step.MENU, out)
    elif state.editing:
        _enter(ctx, Step.SUMMARY, out)
    elif spec.back is None:
        out.replies.append(Reply(msg.AT_FIRST_QUESTION))
        _reprompt(ctx, out)
    else:
        _enter(ctx, spec.back, out)


def _resolve(ctx: Ctx, spec: StepSpec, event: Inbound) -> Answer | Retry:
    """Turn the event into an answer the step accepts, or say why it is not one."""
    source: Source = "voice" if isinstance(event, VoiceIn) else "typed"
    text = (
        event.text
        if isinstance(event, TextIn)
        else (event.transcript if isinstance(event, VoiceIn) else None)
    )
    if spec.accepts is Accepts.TEXT:
        if text is None:
            return Retry(msg.STALE_BUTTON)
        return Answer(text=text, source=source)

    offered = ctx.state.options
    if isinstance(event, ChoiceIn):
        return Answer(choice=event.value) if event.value in offered else Retry(msg.STALE_BUTTON)
    choice = _match_option(spec, ctx, text or "")
    if choice is not None:
        return Answer(choice=choice, source=source)
    if spec.accepts is Accepts.CHOICE_OR_TEXT and text:
        return Answer(text=text, source=source)
    if not text:
        return Retry(msg.EMPTY_ANSWER)
    return Retry(msg.NOT_A_CHOICE.format(numbers=msg.choices_hint(len(offered))))


def _match_option(spec: StepSpec, ctx: Ctx, text: str) -> str | None:
    key = match_key(text)
    if not key:
        return None
    offered = ctx.state.options
    number = key.removeprefix("so ").strip()
    if number.isdigit():
        index = int(number) - 1
        return offered[index] if 0 <= index < len(offered) else None
    for option in spec.prompt(ctx).options:
        if option.value not in offered:
            continue
        if key == match_key(msg.strip_emoji_label(option.label)) or key in option.aliases:
            return option.value
    return None


def _answer(ctx: Ctx, spec: StepSpec, answer: Answer, out: Outcome) -> None:
    result = spec.handle(ctx, answer)
    if isinstance(result, Retry):
        _retry(ctx, result, out)
        return
    target = result.step
    if target not in {step for step, _ in spec.targets}:
        raise UndeclaredTransitionError(f"{spec.step} → {target}")
    if ctx.state.editing and spec.returns_when_editing:
        target = Step.SUMMARY
    out.replies.extend(Reply(note) for note in result.notes)
    if result.submit is not None:
        out.submitted = result.submit
    _enter(ctx, target, out)


def _enter(ctx: Ctx, step: Step, out: Outcome, *, quiet: bool = False) -> None:
    """Make `step` current and ask its question (unless `quiet`)."""
    ctx.state.step = step
    if step in (Step.SUMMARY, Step.MENU):
        ctx.state.editing = False
    reply = SPECS[step].prompt(ctx)
    ctx.state.options = [option.value for option in reply.options]
    if not quiet:
        out.replies.append(reply)


def _reprompt(ctx: Ctx, out: Outcome) -> None:
    """Ask the current question again, so its choices are at hand."""
    _enter(ctx, ctx.state.step, out)


def _retry(ctx: Ctx, retry: Retry, out: Outcome) -> None:
    """Say why the answer was refused; re-offer the choices when the step has any."""
    reply = SPECS[ctx.state.step].prompt(ctx)
    ctx.state.options = [option.value for option in reply.options]
    out.replies.append(Reply(retry.text, options=reply.options, nav=reply.nav))
