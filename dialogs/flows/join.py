"""A very similar idea exists: the worker is told once, before the summary, and chooses to
go on (their idea is different), to ask to join it as a co-author, or to keep the draft for
later. The idea's officers answer with ``/nhan N`` or ``/khongnhan N`` (buttons on Telegram).
"""

from __future__ import annotations

from dialogs import messages as msg
from dialogs.events import Option, Reply
from dialogs.flow import (
    Accepts,
    Answer,
    CommandHandler,
    CommandSpec,
    Ctx,
    Goto,
    Retry,
    StepSpec,
)
from dialogs.state import Step


def check(ctx: Ctx, notes: tuple[str, ...] = ()) -> Goto:
    """Where the answers lead once complete: the summary, or first (once an idea, never for
    an officer entering it for somebody) the question about a very similar stored idea."""
    draft = ctx.draft
    if not draft.similar_checked and draft.author is None:
        draft.similar_checked = True
        found = ctx.desk.similar_idea(draft)
        if found is not None:
            ctx.state.similar = found
            return Goto(Step.SIMILAR, notes)
    return Goto(Step.SUMMARY, notes)


def _prompt(ctx: Ctx) -> Reply:
    found = ctx.state.similar
    assert found is not None, "the similar-idea question without a similar idea"
    return Reply(
        msg.SIMILAR_FOUND.format(title=found.title, unit=found.unit, status=found.status),
        options=(
            Option(msg.SIMILAR_DIFFERENT, "different", ("y cua toi khac", "khac", "y khac")),
            Option(msg.SIMILAR_JOIN, "join", ("cung lam", "toi cung lam", "xin cung lam")),
            Option(msg.SUMMARY_LATER, "later", ("de sau", "luu", "luu nhap")),
        ),
        nav=True,
    )


def _on_answer(ctx: Ctx, answer: Answer) -> Goto | Retry:
    found = ctx.state.similar
    ctx.state.similar = None
    if answer.choice == "join" and found is not None:
        asked = ctx.desk.ask_to_join(found.id, ctx.draft.id)
        return Goto(Step.MENU, (msg.JOIN_ASKED if asked else msg.JOIN_NOBODY,))
    if answer.choice == "later":
        return Goto(Step.MENU, (msg.SAVED_FOR_LATER,))
    return Goto(Step.SUMMARY)


def _answer_command(accept: bool) -> CommandHandler:
    def handle(ctx: Ctx, arg: str) -> Goto | Retry:
        if not ctx.desk.officer_units():
            return Retry(msg.OFFICERS_ONLY)
        if not arg.strip().isdigit():
            return Retry(msg.JOIN_USAGE)
        return Goto(Step.MENU, (ctx.desk.answer_join(int(arg.strip()), accept),))

    return handle


COMMANDS = {
    "nhan": CommandSpec(_answer_command(True), (Step.MENU,)),
    "khongnhan": CommandSpec(_answer_command(False), (Step.MENU,)),
}

SPECS = (
    StepSpec(
        Step.SIMILAR,
        _prompt,
        _on_answer,
        Accepts.CHOICE,
        (
            (Step.SUMMARY, "ý của tôi khác"),
            (Step.MENU, "cùng làm / để sau"),
        ),
        back=Step.COAUTHORS,
        drafting=True,
        yes="join",
        no="different",
    ),
)
