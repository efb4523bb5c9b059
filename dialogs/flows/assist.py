"""Entering ideas for workers who cannot ("Nhập hộ"), beside the submission flow.

An officer finds the worker (by name or phone, among the people of their units) or adds
one, then asks the same questions as the worker would be asked, voice included. A worker
with a chat is asked "Đúng là ý tưởng của anh/chị?" wherever they are in their own
conversation (:func:`dialogs.engine.interrupt`); for one without, the officer says that
the worker heard it read back and agreed. Who may be found, added or entered for is the
:class:`~dialogs.state.Desk`'s to decide, on every call.
"""

from __future__ import annotations

from dialogs import messages as msg
from dialogs.answers import person_name, phone_number, unit_code
from dialogs.events import Option, Reply
from dialogs.flow import Accepts, Answer, Ctx, Goto, Retry, StepSpec
from dialogs.state import AssistState, Draft, Step, Worker
from dialogs.summary import make_title
from nlp.text import clean_text, match_key

_QUERY_MAX = 60


def start(ctx: Ctx) -> Goto | Retry:
    """From the officer's menu: whom to enter an idea for."""
    if not ctx.desk.officer_units():
        return Retry(msg.OFFICERS_ONLY)
    ctx.state.assist = AssistState()
    return Goto(Step.ASSIST_FIND)


def _assist(ctx: Ctx) -> AssistState:
    if ctx.state.assist is None:
        ctx.state.assist = AssistState()
    return ctx.state.assist


def _begin(ctx: Ctx, worker: Worker, notes: tuple[str, ...] = ()) -> Goto:
    """The submission flow's first question, for `worker`'s idea."""
    ctx.state.assist = None
    ctx.state.draft = Draft(author=worker)
    return Goto(Step.PROBLEM, (*notes, msg.ASSIST_START.format(name=worker.name)))


def _on_find(ctx: Ctx, answer: Answer) -> Goto | Retry:
    query = clean_text(answer.text or "")[:_QUERY_MAX]
    if len(match_key(query).replace(" ", "")) < 2:
        return Retry(msg.ASSIST_QUERY_SHORT)
    ctx.state.assist = AssistState(query=query, found=ctx.desk.find_workers(query))
    return Goto(Step.ASSIST_PICK)


def worker_label(worker: Worker) -> str:
    """ "Nguyễn Văn An · Dệt May 01 · …678": enough to tell namesakes apart."""
    parts = [worker.name, worker.unit_name]
    if worker.phone_tail:
        parts.append("…" + worker.phone_tail)
    return " · ".join(parts)


def _pick_prompt(ctx: Ctx) -> Reply:
    assist = _assist(ctx)
    found = assist.found[: ctx.config.max_listed]
    text = (
        msg.PROMPTS[Step.ASSIST_PICK]
        if found
        else msg.ASSIST_NONE_FOUND.format(query=assist.query) + "\n" + msg.PROMPTS[Step.ASSIST_PICK]
    )
    return Reply(
        text,
        options=(
            *(Option(worker_label(w), f"worker:{w.person_id}") for w in found),
            Option(msg.ASSIST_PICK_NEW, "new", ("them", "them moi", "nguoi moi", "them nguoi")),
            Option(msg.ASSIST_SEARCH_AGAIN, "again", ("tim lai", "tim", "tim nguoi khac")),
            Option(msg.BACK_TO_MENU, "menu", ("menu", "ve menu")),
        ),
        nav=True,
    )


def _on_pick(ctx: Ctx, answer: Answer) -> Goto | Retry:
    assist = _assist(ctx)
    choice = answer.choice or ""
    if choice == "menu":
        ctx.state.assist = None
        return Goto(Step.MENU)
    if choice == "again":
        return Goto(Step.ASSIST_FIND)
    if choice == "new":
        # Searched by a full name ("Phạm Văn Tư", not "An"): that is the new worker's name.
        full = len(assist.query.split()) >= 2
        assist.new_name = person_name(assist.query) if full else None
        return _after_name(ctx) if assist.new_name else Goto(Step.ASSIST_NEW_NAME)
    person_id = int(choice.removeprefix("worker:"))
    worker = ctx.desk.worker(person_id)
    if worker is None:
        return Retry(msg.STALE_BUTTON)
    return _begin(ctx, worker)


def _after_name(ctx: Ctx) -> Goto:
    """Their union: asked only when the officer serves more than one grassroots union."""
    units = ctx.desk.officer_units()
    if len(units) == 1 and units[0].grassroots:
        _assist(ctx).new_unit = units[0].code
        return Goto(Step.ASSIST_NEW_PHONE)
    return Goto(Step.ASSIST_NEW_UNIT)


def _on_new_name(ctx: Ctx, answer: Answer) -> Goto | Retry:
    name = person_name(answer.text or "")
    if name is None:
        return Retry(msg.NAME_INVALID)
    _assist(ctx).new_name = name
    return _after_name(ctx)


def _new_unit_prompt(ctx: Ctx) -> Reply:
    name = _assist(ctx).new_name or ""
    return Reply(msg.PROMPTS[Step.ASSIST_NEW_UNIT].format(name=name), nav=True)


def _on_new_unit(ctx: Ctx, answer: Answer) -> Goto | Retry:
    code = unit_code(answer.text or "")[:40]
    if not code:
        return Retry(msg.EMPTY_ANSWER)
    unit = ctx.desk.grassroots_unit(code)
    if unit is None:
        return Retry(msg.ASSIST_UNIT_OUTSIDE.format(code=code))
    _assist(ctx).new_unit = unit.code
    return Goto(Step.ASSIST_NEW_PHONE)


def _new_phone_prompt(ctx: Ctx) -> Reply:
    name = msg.address(_assist(ctx).new_name)
    return Reply(
        msg.PROMPTS[Step.ASSIST_NEW_PHONE].format(name=name),
        options=(Option(msg.ASSIST_SKIP, "skip", ("bo qua", "khong co", "khong nho")),),
        nav=True,
    )


def _on_new_phone(ctx: Ctx, answer: Answer) -> Goto | Retry:
    assist = _assist(ctx)
    phone: str | None = None
    if answer.choice != "skip":
        phone = phone_number(answer.text or "")
        if phone is None:
            return Retry(msg.ASSIST_PHONE_INVALID)
        if ctx.desk.find_workers(phone):
            return Retry(msg.ASSIST_PHONE_TAKEN)
    if assist.new_name is None or assist.new_unit is None:
        return Goto(Step.ASSIST_FIND)
    worker = ctx.desk.add_worker(assist.new_name, assist.new_unit, phone)
    if worker is None:
        return Retry(msg.ASSIST_UNIT_OUTSIDE.format(code=assist.new_unit))
    return _begin(ctx, worker, (msg.ASSIST_ADDED.format(name=worker.name),))


# --- sending ------------------------------------------------------------------------------


def _sent(ctx: Ctx, draft: Draft, note: str) -> Goto:
    ctx.state.draft = None
    ctx.just_sent = draft.id
    return Goto(Step.MENU, (note,), submit=draft)


def send(ctx: Ctx, draft: Draft, *, agreed: bool = False) -> Goto | Retry:
    """ "Gửi đi" on an idea entered for somebody: to them to confirm if they have a chat,
    else (unless the officer said so already: `agreed`) to the officer to say they agreed.
    Once confirmed (returned and sent again), nobody is asked twice."""
    assert draft.author is not None
    worker = ctx.desk.worker(draft.author.person_id)
    if worker is None:
        return Retry(msg.ASSIST_GONE.format(name=draft.author.name))
    draft.author = worker
    if draft.confirmed or (agreed and not worker.reachable):
        return _sent(ctx, draft, msg.ASSIST_SENT.format(title=make_title(draft), name=worker.name))
    if worker.reachable:  # also when they wrote to the bot since the officer was asked
        return _sent(ctx, draft, msg.ASSIST_ASKED.format(name=msg.address(worker.name)))
    return Goto(Step.ASSIST_AGREED)


def _agreed_prompt(ctx: Ctx) -> Reply:
    author = ctx.draft.author
    name = msg.address(author.name if author else None)
    return Reply(
        msg.PROMPTS[Step.ASSIST_AGREED].format(name=name),
        options=(
            Option(msg.ASSIST_AGREED_YES, "agreed", ("dong y", "da dong y", "roi")),
            Option(msg.ASSIST_AGREED_NO, "not_yet", ("chua", "chua dong y", "de sau")),
        ),
        nav=True,
    )


def _on_agreed(ctx: Ctx, answer: Answer) -> Goto | Retry:
    draft = ctx.draft
    if draft.author is None:  # cannot happen: only an entry for somebody asks this
        return Goto(Step.SUMMARY)
    if answer.choice == "not_yet":
        return Goto(Step.MENU, (msg.ASSIST_NOT_YET.format(name=msg.address(draft.author.name)),))
    return send(ctx, draft, agreed=True)


# --- the author's answer ------------------------------------------------------------------


def _confirm_prompt(ctx: Ctx) -> Reply:
    if not ctx.state.confirm:
        return Reply(msg.CONFIRM_DONE_ALREADY)
    asked = ctx.state.confirm[0]
    suffix = f":{asked.initiative_id}"
    return Reply(
        msg.PROMPTS[Step.CONFIRM_OWN].format(officer=asked.officer, summary=asked.summary),
        options=(
            Option(msg.CONFIRM_YES, "own:yes" + suffix, ("dung", "cua toi", "dung roi")),
            Option(msg.CONFIRM_NO, "own:no" + suffix, ("khong phai", "khong dung", "sai")),
        ),
        nav=False,
    )


def _on_confirm(ctx: Ctx, answer: Answer) -> Goto | Retry:
    state = ctx.state
    parts = (answer.choice or "").split(":")
    asked = state.confirm[0] if state.confirm else None
    if len(parts) > 2:
        asked = next((c for c in state.confirm if str(c.initiative_id) == parts[2]), None)
    notes: tuple[str, ...] = ()
    if asked is not None:
        mine = parts[1] == "yes" if len(parts) > 1 else False
        state.confirm = [c for c in state.confirm if c is not asked]
        if not ctx.desk.answer_entry(asked.initiative_id, mine):
            notes = (msg.CONFIRM_DONE_ALREADY,)
        elif mine:
            notes = (msg.CONFIRM_THANKS.format(title=asked.title),)
        else:
            notes = (msg.CONFIRM_WITHDRAWN.format(title=asked.title),)
    if state.confirm:
        return Goto(Step.CONFIRM_OWN, notes)
    back, state.interrupted = state.interrupted, None
    if back is None or back.step is Step.CONFIRM_OWN:
        return Goto(Step.MENU, notes)
    state.editing = back.editing
    return Goto(back.step, notes, pending=back.pending)


def from_menu(ctx: Ctx) -> Goto:
    """ "Xác nhận sáng kiến" in the menu: the entries left unanswered, then the menu."""
    ctx.state.interrupted = None
    return Goto(Step.CONFIRM_OWN)


SPECS = (
    StepSpec(
        Step.ASSIST_FIND,
        lambda ctx: Reply(msg.PROMPTS[Step.ASSIST_FIND], nav=True),
        _on_find,
        Accepts.TEXT,
        ((Step.ASSIST_PICK, "tên hoặc số"),),
        back=Step.MENU,
    ),
    StepSpec(
        Step.ASSIST_PICK,
        _pick_prompt,
        _on_pick,
        Accepts.CHOICE,
        (
            (Step.PROBLEM, "chọn người"),
            (Step.ASSIST_NEW_NAME, "thêm người mới"),
            (Step.ASSIST_NEW_UNIT, "thêm, đã có tên"),
            (Step.ASSIST_NEW_PHONE, "thêm, một cơ sở"),
            (Step.ASSIST_FIND, "tìm lại"),
            (Step.MENU, "về menu"),
        ),
        back=Step.ASSIST_FIND,
    ),
    StepSpec(
        Step.ASSIST_NEW_NAME,
        lambda ctx: Reply(msg.PROMPTS[Step.ASSIST_NEW_NAME], nav=True),
        _on_new_name,
        Accepts.TEXT,
        ((Step.ASSIST_NEW_UNIT, "tên"), (Step.ASSIST_NEW_PHONE, "tên, một cơ sở")),
        back=Step.ASSIST_PICK,
    ),
    StepSpec(
        Step.ASSIST_NEW_UNIT,
        _new_unit_prompt,
        _on_new_unit,
        Accepts.TEXT,
        ((Step.ASSIST_NEW_PHONE, "mã cơ sở"),),
        back=Step.ASSIST_NEW_NAME,
    ),
    StepSpec(
        Step.ASSIST_NEW_PHONE,
        _new_phone_prompt,
        _on_new_phone,
        Accepts.CHOICE_OR_TEXT,
        ((Step.PROBLEM, "số hoặc bỏ qua"), (Step.ASSIST_FIND, "")),
        back=Step.ASSIST_PICK,
        no="skip",
    ),
    StepSpec(
        Step.ASSIST_AGREED,
        _agreed_prompt,
        _on_agreed,
        Accepts.CHOICE,
        ((Step.MENU, "đồng ý: gửi / chưa: lưu nháp"),),
        back=Step.SUMMARY,
        drafting=True,
        yes="agreed",
        no="not_yet",
    ),
    StepSpec(
        Step.CONFIRM_OWN,
        _confirm_prompt,
        _on_confirm,
        Accepts.CHOICE,
        ((Step.CONFIRM_OWN, "còn cái khác"), (Step.MENU, "xong")),
        back=Step.MENU,
        yes="own:yes",
        no="own:no",
        resumes=True,
    ),
)
