"""Recording a union's prompt pack in the chat (``/ghiam``, officers only).

The officer is shown one message at a time with its place in the pack («12/40») and answers
with a voice note. What the ear heard in it is compared with the text: a close match is kept;
otherwise the officer hears what was understood and keeps it anyway, records it again or
skips it. ``/ghiam`` goes on from the first message the union has no current clip of;
``/ghiam 12`` (or the message's name) records that one again.
"""

from __future__ import annotations

from dialogs import messages as msg
from dialogs import prompts
from dialogs.events import Option, Reply
from dialogs.flow import Accepts, Answer, CommandSpec, Ctx, Goto, Retry, StepSpec
from dialogs.state import RecordState, Step

SKIP, STOP, KEEP, AGAIN = "rec:skip", "rec:stop", "rec:keep", "rec:again"
_SKIP = Option(msg.RECORD_SKIP, SKIP, ("bo qua", "qua", "cau sau"))
_STOP = Option(msg.RECORD_STOP, STOP, ("dung", "dung lai", "nghi", "de sau"))


def _record(ctx: Ctx) -> RecordState:
    assert ctx.state.record is not None, "a recording step without a recording under way"
    return ctx.state.record


def _on_command(ctx: Ctx, arg: str) -> Goto | Retry:
    units = ctx.desk.officer_units()
    if not units:
        return Retry(msg.OFFICERS_ONLY)
    ctx.state.officer = True
    unit = units[0]
    total = len(prompts.pack())
    if arg:
        script = prompts.find(arg)
        if script is None:
            return Retry(msg.RECORD_NO_SUCH.format(ask=arg[:20], total=total))
        ctx.state.record = RecordState(unit_code=unit.code, key=script.key, one=True)
        return Goto(Step.RECORD)
    done = ctx.desk.recorded(unit.code)
    waiting = [key for key in prompts.pack() if key not in done]
    if not waiting:
        return Goto(Step.MENU, (msg.RECORD_DONE.format(total=total, unit=unit.name),))
    ctx.state.record = RecordState(unit_code=unit.code, key=waiting[0])
    return Goto(Step.RECORD, (msg.RECORD_INTRO.format(unit=unit.name),))


def _ask(ctx: Ctx) -> Reply:
    script = prompts.pack()[_record(ctx).key]
    text = msg.RECORD_ASK.format(number=script.number, total=len(prompts.pack()), said=script.said)
    return Reply(text, options=(_SKIP, _STOP), nav=False)


def _next(ctx: Ctx, notes: tuple[str, ...]) -> Goto:
    """The message after this one the union still needs, or the end."""
    record = _record(ctx)
    total = len(prompts.pack())
    if not record.one:
        done = ctx.desk.recorded(record.unit_code)
        keys = list(prompts.pack())
        after = keys[keys.index(record.key) + 1 :]
        waiting = [key for key in after if key not in done]
        if waiting:
            ctx.state.record = RecordState(unit_code=record.unit_code, key=waiting[0])
            return Goto(Step.RECORD, notes)
    ctx.state.record = None
    if record.one:
        return Goto(Step.MENU, notes)
    unit = next((u for u in ctx.desk.officer_units() if u.code == record.unit_code), None)
    name = unit.name if unit is not None else record.unit_code
    left = total - len(ctx.desk.recorded(record.unit_code))
    end = (
        msg.RECORD_DONE.format(total=total, unit=name)
        if not left
        else msg.RECORD_STOPPED.format(number=total - left, total=total)
    )
    return Goto(Step.MENU, (*notes, end))


def _stop(ctx: Ctx) -> Goto:
    record = _record(ctx)
    ctx.state.record = None
    number = prompts.pack()[record.key].number
    return Goto(Step.MENU, (msg.RECORD_STOPPED.format(number=number, total=len(prompts.pack())),))


def _keep(ctx: Ctx, note_id: int, heard: str, score: float) -> Goto | Retry:
    record = _record(ctx)
    if not ctx.desk.keep_clip(record.unit_code, record.key, note_id, heard, score):
        return Retry(msg.RECORD_NOT_KEPT)
    number = prompts.pack()[record.key].number
    return _next(ctx, (msg.RECORD_KEPT.format(number=number),))


def _on_voice(ctx: Ctx, answer: Answer) -> Goto | Retry:
    if answer.choice == SKIP:
        return _next(ctx, ())
    if answer.choice == STOP:
        return _stop(ctx)
    if answer.source != "voice" or answer.note_id is None:
        return Retry(msg.RECORD_NEED_VOICE)
    record = _record(ctx)
    heard = answer.text or ""
    score = prompts.similarity(heard, prompts.pack()[record.key].said)
    if score >= ctx.config.prompt_match:
        return _keep(ctx, answer.note_id, heard, score)
    record.note_id, record.heard, record.score = answer.note_id, heard, score
    return Goto(Step.RECORD_CHECK)


def _check_prompt(ctx: Ctx) -> Reply:
    heard = _record(ctx).heard or ""
    return Reply(
        msg.RECORD_MISMATCH.format(heard=heard[:300]),
        options=(
            Option(msg.RECORD_KEEP, KEEP, ("van luu", "luu", "giu")),
            Option(msg.RECORD_AGAIN, AGAIN, ("ghi lai", "noi lai", "thu lai")),
            _SKIP,
            _STOP,
        ),
    )


def _on_check(ctx: Ctx, answer: Answer) -> Goto | Retry:
    record = _record(ctx)
    if answer.choice == KEEP and record.note_id is not None:
        return _keep(ctx, record.note_id, record.heard or "", record.score or 0.0)
    if answer.choice == SKIP:
        return _next(ctx, ())
    if answer.choice == STOP:
        return _stop(ctx)
    record.note_id = record.heard = record.score = None
    return Goto(Step.RECORD)


COMMANDS = {"ghiam": CommandSpec(_on_command, (Step.RECORD, Step.MENU))}

SPECS = (
    StepSpec(
        Step.RECORD,
        _ask,
        _on_voice,
        Accepts.VOICE_OR_CHOICE,
        (
            (Step.RECORD_CHECK, "nghe khác câu chữ"),
            (Step.RECORD, "đã lưu / bỏ qua: câu sau"),
            (Step.MENU, "dừng / đủ cả bộ"),
        ),
        back=Step.MENU,
    ),
    StepSpec(
        Step.RECORD_CHECK,
        _check_prompt,
        _on_check,
        Accepts.CHOICE,
        (
            (Step.RECORD, "ghi lại / câu sau"),
            (Step.MENU, "dừng / đủ cả bộ"),
        ),
        back=Step.RECORD,
        yes=KEEP,
        no=AGAIN,
    ),
)
