"""An officer's steps beside the submission flow: one card at a time from the review queue,
a decision with its reason, and the commands that lead there (``/duyet``, ``/canbo CODE``).

What an officer may see and decide is never settled here: every card and every decision
goes through the :class:`~dialogs.state.Desk`, which checks the officer's units each time.
"""

from __future__ import annotations

from dialogs import messages as msg
from dialogs.answers import says_something
from dialogs.events import Option, Reply
from dialogs.flow import VIETNAM, Accepts, Answer, CommandSpec, Ctx, Goto, Retry, StepSpec
from dialogs.state import Card, Decided, ReviewState, Step
from dialogs.summary import read_back
from nlp.text import clean_text, match_key

_DECIDED_NOTE = {
    "valid": msg.DECIDED_VALID,
    "returned": msg.DECIDED_RETURNED,
    "rejected": msg.DECIDED_REJECTED,
}
# The part of an initiative a returned one is sent back to (the author reopens it there).
_PARTS = (*msg.EDIT_LABELS.items(), (Step.SUMMARY, msg.REVIEW_WHOLE))
# The part each answer that can be spoken belongs to (the keys of an initiative's sources).
_PART_OF_SOURCE = {
    "problem": Step.PROBLEM,
    "solution": Step.SOLUTION,
    "benefit_detail": Step.BENEFIT_KIND,
    "co_authors": Step.COAUTHORS,
}


def card_text(card: Card) -> str:
    when = card.submitted_at.astimezone(VIETNAM).strftime("%d/%m/%Y") if card.submitted_at else "?"
    lines = [
        msg.CARD.format(
            id=card.id,
            level=msg.LEVEL_NAMES.get(card.level, card.level),
            author=card.author_name or "?",
            unit=card.unit_name,
            date=when,
            summary=read_back(card.as_draft()),
        )
    ]
    spoken = [
        msg.strip_emoji_label(msg.EDIT_LABELS[step])
        for field, step in _PART_OF_SOURCE.items()
        if card.sources.get(field) == "voice"
    ]
    if spoken:
        lines.append(msg.CARD_SOURCES.format(voice=", ".join(spoken)))
    doubtful = [
        msg.strip_emoji_label(msg.EDIT_LABELS[step])
        for field, step in _PART_OF_SOURCE.items()
        if field in card.doubtful
    ]
    if doubtful:
        lines.append(msg.CARD_DOUBT.format(parts=", ".join(doubtful)))
    if card.entered_by:
        confirmed = (
            msg.CARD_CONFIRMED_AUTHOR if card.confirmed_by_author else msg.CARD_CONFIRMED_OFFICER
        )
        lines.append(msg.CARD_ENTERED_BY.format(name=card.entered_by, confirmed=confirmed))
    if card.history:
        lines.append(msg.CARD_HISTORY.format(history="; ".join(card.history)))
    if card.similar:
        lines.append(msg.CARD_SIMILAR.format(lines="\n".join(card.similar)))
    return "\n".join(lines)


def _shown(ctx: Ctx) -> Card | None:
    review = ctx.state.review
    if review is None or review.card is None:
        return None
    key = f"card:{review.card}"
    if key not in ctx.cache:
        ctx.cache[key] = ctx.desk.card(review.card)
    card: Card | None = ctx.cache[key]
    return card


def next_card(ctx: Ctx, notes: tuple[str, ...] = ()) -> Goto:
    """Show the officer the next card waiting for them, or say the queue is empty."""
    review = ctx.state.review or ReviewState()
    card = ctx.desk.next_card(review.skipped)
    if card is None:
        ctx.state.review = None
        return Goto(Step.MENU, (*notes, msg.QUEUE_EMPTY))
    ctx.state.review = ReviewState(card=card.id, level=card.level, skipped=review.skipped)
    ctx.cache[f"card:{card.id}"] = card
    return Goto(Step.REVIEW_CARD, notes)


def start_review(ctx: Ctx) -> Goto | Retry:
    if not ctx.desk.officer_units():
        return Retry(msg.OFFICERS_ONLY)
    ctx.state.officer = True  # from now on the menu offers the review
    ctx.state.review = None  # a new round: cards skipped last time are offered again
    return next_card(ctx)


def _on_review_command(ctx: Ctx, arg: str) -> Goto | Retry:
    return start_review(ctx)


def _on_invite(ctx: Ctx, arg: str) -> Goto | Retry:
    code = arg.strip()
    if not code:
        return Retry(msg.INVITE_USAGE)
    unit = ctx.desk.redeem(code)
    if unit is None:
        return Retry(msg.INVITE_BAD)
    ctx.state.officer = True
    note = msg.INVITE_OK.format(unit=unit.name)
    return Goto(Step.MENU if ctx.state.name else Step.ONBOARD_NAME, (note,))


def _on_web(ctx: Ctx, arg: str) -> Goto | Retry:
    if not ctx.desk.officer_units():
        return Retry(msg.OFFICERS_ONLY)
    return Goto(Step.MENU, (ctx.desk.web_link(),))


COMMANDS = {
    "duyet": CommandSpec(_on_review_command, (Step.REVIEW_CARD, Step.MENU)),
    "web": CommandSpec(_on_web, (Step.MENU,)),
    "canbo": CommandSpec(_on_invite, (Step.MENU, Step.ONBOARD_NAME)),
}
DEEP_LINKS = {"canbo-": "canbo"}


def _card_prompt(ctx: Ctx) -> Reply:
    card = _shown(ctx)
    suffix = f":{card.id}" if card is not None else ""
    if card is None:
        text = msg.PROMPTS[Step.REVIEW_CARD].format(card=msg.DECIDED_TAKEN)
    elif ctx.state.review is not None and ctx.state.review.listened:
        text = msg.REVIEW_AGAIN.format(id=card.id)  # the card is just above the recordings
    else:
        text = msg.PROMPTS[Step.REVIEW_CARD].format(card=card_text(card))
    listen = (Option(msg.REVIEW_LISTEN, "listen" + suffix, ("nghe", "nghe ghi am")),)
    duplicate = (Option(msg.REVIEW_DUPLICATE, "duplicate" + suffix, ("trung", "trung y")),)
    return Reply(
        text,
        options=(
            Option(msg.REVIEW_VALID, "valid" + suffix, ("hop le", "duyet", "dat")),
            Option(msg.REVIEW_RETURN, "return" + suffix, ("tra lai", "tra", "sua lai")),
            Option(msg.REVIEW_REJECT, "reject" + suffix, ("khong hop le", "loai")),
            *(listen if card is not None and card.recordings else ()),
            *(duplicate if card is not None and _earlier(card) else ()),
            Option(msg.REVIEW_SKIP, "skip" + suffix, ("bo qua", "de sau", "tiep")),
            Option(msg.BACK_TO_MENU, "menu", ("menu", "ve menu")),
        ),
        nav=False,
    )


def _recordings(card: Card) -> tuple[Reply, ...]:
    """Each spoken answer of `card` as a voice message captioned with its part."""
    return tuple(
        Reply(
            msg.RECORDING.format(
                part=msg.strip_emoji_label(msg.EDIT_LABELS[_PART_OF_SOURCE[spoken.field]]),
                seconds=max(1, round(spoken.seconds)),
            ),
            voice=spoken.path,
        )
        for spoken in card.recordings
        if spoken.field in _PART_OF_SOURCE
    )


def _decide(ctx: Ctx, decision: str, reason: str | None) -> Goto:
    review = ctx.state.review
    assert review is not None and review.card is not None and review.level is not None
    result = ctx.desk.decide(review.card, review.level, decision, reason, review.part)
    note = {
        Decided.DONE: _DECIDED_NOTE[decision],
        Decided.TAKEN: msg.DECIDED_TAKEN,
        Decided.FORBIDDEN: msg.DECIDED_FORBIDDEN,
    }[result]
    review.decision, review.part = None, None
    return next_card(ctx, (note,))


def _on_card(ctx: Ctx, answer: Answer) -> Goto | Retry:
    review = ctx.state.review
    action = (answer.choice or "").split(":")[0]
    if action == "menu" or review is None or review.card is None:
        ctx.state.review = None
        return Goto(Step.MENU)
    if action == "valid":
        return _decide(ctx, "valid", None)
    if action == "listen":
        card = _shown(ctx)
        if card is None or not card.recordings:
            return Goto(Step.REVIEW_CARD)
        review.listened = True
        return Goto(Step.REVIEW_CARD, _recordings(card))
    if action == "return":
        review.decision = "returned"
        return Goto(Step.REVIEW_PART)
    if action == "reject":
        review.decision, review.part = "rejected", None
        return Goto(Step.REVIEW_REASON)
    if action == "duplicate":
        card = _shown(ctx)
        if card is None or not _earlier(card):
            return Goto(Step.REVIEW_CARD)
        return Goto(Step.REVIEW_DUPLICATE)
    review.skipped.append(review.card)
    return next_card(ctx)


def _earlier(card: Card) -> list[tuple[int, str]]:
    """The similar ideas listed on the card that were sent before it: what it can repeat."""
    return [
        (of, line) for of, line in zip(card.similar_ids, card.similar, strict=True) if of < card.id
    ]


def _duplicate_prompt(ctx: Ctx) -> Reply:
    card = _shown(ctx)
    options = tuple(
        Option(line.lstrip("• ")[:60], f"of:{of}", (str(of), f"so {of}"))
        for of, line in (_earlier(card) if card is not None else [])
    )
    return Reply(msg.PROMPTS[Step.REVIEW_DUPLICATE], options=options, nav=True)


def _on_duplicate(ctx: Ctx, answer: Answer) -> Goto | Retry:
    review = ctx.state.review
    if review is None or review.card is None or review.level is None:
        return next_card(ctx)
    of = int((answer.choice or "of:0").removeprefix("of:"))
    result = ctx.desk.mark_duplicate(review.card, review.level, of)
    note = {
        Decided.DONE: msg.DECIDED_DUPLICATE,
        Decided.TAKEN: msg.DECIDED_TAKEN,
        Decided.FORBIDDEN: msg.DECIDED_FORBIDDEN,
    }[result]
    return next_card(ctx, (note,))


def _part_prompt(ctx: Ctx) -> Reply:
    options = tuple(
        Option(label, f"part:{step.value}", (match_key(msg.strip_emoji_label(label)),))
        for step, label in _PARTS
    )
    return Reply(msg.PROMPTS[Step.REVIEW_PART], options=options, nav=True)


def _on_part(ctx: Ctx, answer: Answer) -> Goto | Retry:
    assert ctx.state.review is not None
    ctx.state.review.part = Step((answer.choice or "part:summary").removeprefix("part:"))
    return Goto(Step.REVIEW_REASON)


def _on_reason(ctx: Ctx, answer: Answer) -> Goto | Retry:
    review = ctx.state.review
    if review is None or review.decision is None:
        return next_card(ctx)
    reason = clean_text(answer.text or "")
    if len(reason) > ctx.config.max_answer_chars:
        return Retry(msg.TOO_LONG)
    if not says_something(reason):
        return Retry(msg.REASON_NEEDED)
    return _decide(ctx, review.decision, reason)


SPECS = (
    StepSpec(
        Step.REVIEW_CARD,
        _card_prompt,
        _on_card,
        Accepts.CHOICE,
        (
            (Step.REVIEW_CARD, "hợp lệ / bỏ qua: thẻ sau; nghe ghi âm"),
            (Step.REVIEW_PART, "trả lại"),
            (Step.REVIEW_REASON, "không hợp lệ"),
            (Step.REVIEW_DUPLICATE, "trùng ý đã có"),
            (Step.MENU, "hết thẻ / về menu"),
        ),
        back=Step.MENU,
    ),
    StepSpec(
        Step.REVIEW_DUPLICATE,
        _duplicate_prompt,
        _on_duplicate,
        Accepts.CHOICE,
        ((Step.REVIEW_CARD, "trùng: thẻ sau"), (Step.MENU, "hết thẻ")),
        back=Step.REVIEW_CARD,
    ),
    StepSpec(
        Step.REVIEW_PART,
        _part_prompt,
        _on_part,
        Accepts.CHOICE,
        ((Step.REVIEW_REASON, "phần cần sửa"),),
        back=Step.REVIEW_CARD,
    ),
    StepSpec(
        Step.REVIEW_REASON,
        lambda ctx: Reply(msg.PROMPTS[Step.REVIEW_REASON], nav=True),
        _on_reason,
        Accepts.TEXT,
        ((Step.REVIEW_CARD, "lý do: thẻ sau"), (Step.MENU, "hết thẻ")),
        back=Step.REVIEW_CARD,
    ),
)
