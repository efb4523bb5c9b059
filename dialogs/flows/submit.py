"""The submission flow: onboarding, the menu, and the questions of one initiative, declared
as data (one :class:`~dialogs.flow.StepSpec` per step) and bundled as :data:`SUBMIT`."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from dialogs import messages as msg
from dialogs.answers import (
    is_greeting,
    is_non_answer,
    person_name,
    says_something,
    unit_code,
    without_courtesy,
)
from dialogs.events import Option, Reply
from dialogs.flow import (
    VIETNAM,
    Accepts,
    Answer,
    Ctx,
    Flow,
    Goto,
    Handler,
    Prompt,
    Retry,
    StepSpec,
)
from dialogs.flows import assist, join, record, review
from dialogs.state import BenefitKind, Draft, FieldOfWork, IdeaStatus, Step
from dialogs.summary import make_title, money_text, read_back, time_text
from nlp.numbers import read_money, read_time_saved
from nlp.text import clean_text, match_key, real_words

_Choice = TypeVar("_Choice", bound=StrEnum)


# --- prompts -------------------------------------------------------------------------------


def _ask(step: Step, *options: Option, hint: bool = False) -> Prompt:
    def prompt(ctx: Ctx) -> Reply:
        return Reply(msg.PROMPTS[step], options=options, nav=True, hint=hint)

    return prompt


def _is_officer(ctx: Ctx) -> bool:
    """Whether to offer officers' entries: only asked of those who ever acted as one."""
    if not ctx.state.officer:
        return False
    if "officer" not in ctx.cache:
        ctx.cache["officer"] = bool(ctx.desk.officer_units())
    return bool(ctx.cache["officer"])


def _menu_prompt(ctx: Ctx) -> Reply:
    count = len([idea for idea in ctx.directory.drafts() if idea.id != ctx.just_sent])
    officer = (
        Option(msg.MENU_REVIEW, "review", ("duyet", "duyet sang kien")),
        Option(msg.MENU_ASSIST, "assist", ("nhap ho", "nhap ho cong nhan", "ghi ho")),
    )
    waiting = len(ctx.state.confirm)
    confirm = (Option(msg.MENU_CONFIRM.format(count=waiting), "confirm", ("xac nhan",)),)
    return Reply(
        msg.PROMPTS[Step.MENU].format(name=msg.address(ctx.state.name)),
        options=(
            *(confirm if waiting else ()),
            Option(msg.MENU_NEW, "new", ("moi", "sang kien moi", "gui sang kien", "gui", "viet")),
            Option(msg.MENU_DRAFTS.format(count=count), "drafts", ("nhap", "ban nhap")),
            Option(
                msg.MENU_SUBMITTED, "submitted", ("da gui", "xem", "sang kien da gui", "cua toi")
            ),
            *(officer if _is_officer(ctx) else ()),
            Option(
                msg.MENU_HEAR_OFF if ctx.state.hear else msg.MENU_HEAR_ON,
                "hear",
                ("nghe cau hoi", "doc cau hoi", "tat doc", "tat tieng"),
            ),
            Option(msg.MENU_HELP, "help", ("huong dan",)),
        ),
        nav=False,
    )


def _pick_draft_prompt(ctx: Ctx) -> Reply:
    drafts = [idea for idea in ctx.directory.drafts() if idea.id != ctx.just_sent]
    options = tuple(
        Option(
            f"{_DRAFT_MARK[idea.status]} {idea.title} "
            f"({idea.updated_at.astimezone(VIETNAM):%d/%m})",
            f"draft:{idea.id}",
        )
        for idea in drafts[: ctx.config.max_listed]
    )
    return Reply(
        msg.PROMPTS[Step.PICK_DRAFT],
        options=(*options, Option(msg.BACK_TO_MENU, "menu", ("menu", "ve menu"))),
        nav=True,
    )


_DRAFT_MARK = {IdeaStatus.DRAFT: "📝", IdeaStatus.RETURNED: msg.RETURNED_MARK}


def _resume_prompt(ctx: Ctx) -> Reply:
    return Reply(
        msg.PROMPTS[Step.RESUME].format(title=make_title(ctx.draft)),
        options=(
            Option(msg.RESUME_CONTINUE, "continue", ("lam tiep", "tiep", "tiep tuc")),
            Option(msg.RESUME_NEW, "new", ("moi", "viet moi", "sang kien khac", "cai khac")),
            Option(msg.BACK_TO_MENU, "menu", ("menu", "ve menu")),
        ),
        nav=True,
    )


def _benefit_detail_prompt(ctx: Ctx) -> Reply:
    kind = ctx.draft.benefit_kind or BenefitKind.OTHER
    return Reply(msg.BENEFIT_DETAIL_PROMPTS[kind], nav=True)


def _summary_prompt(ctx: Ctx) -> Reply:
    summary = read_back(ctx.draft)
    author = ctx.draft.author
    if author is not None:  # an officer entering it for somebody: say whose it is
        summary = msg.ASSIST_FOR.format(name=author.name, unit=author.unit_name) + "\n" + summary
    return Reply(
        msg.PROMPTS[Step.SUMMARY].format(summary=summary),
        options=(
            Option(msg.SUMMARY_SEND, "send", ("gui", "gui di", "nop", "gui luon")),
            Option(msg.SUMMARY_EDIT, "edit", ("sua", "sua lai")),
            Option(msg.SUMMARY_LATER, "later", ("de sau", "luu", "luu nhap")),
        ),
        nav=True,
    )


def _enum_options(labels: Mapping[_Choice, str]) -> tuple[Option, ...]:
    return tuple(Option(label, value) for value, label in labels.items())


# --- handlers ------------------------------------------------------------------------------

CONTENT_STEPS: tuple[tuple[Step, str], ...] = (
    (Step.PROBLEM, "problem"),
    (Step.SOLUTION, "solution"),
    (Step.BENEFIT_KIND, "benefit_kind"),
    (Step.BENEFIT_DETAIL, "benefit_detail"),
    (Step.FIELD, "field"),
    (Step.APPLIED, "applied"),
    (Step.COAUTHORS, "co_authors"),
)


# The draft field a free-text step fills, for recording which voice note it came from.
FIELD_OF_STEP: dict[Step, str] = {
    Step.PROBLEM: "problem",
    Step.SOLUTION: "solution",
    Step.BENEFIT_DETAIL: "benefit_detail",
    Step.APPLIED: "applied_on",
    Step.COAUTHORS: "co_authors",
}


def first_missing_step(draft: Draft) -> Step:
    """Where to continue a draft: its first unanswered question, or the summary."""
    for step, attribute in CONTENT_STEPS:
        if getattr(draft, attribute) is None:
            return step
    return Step.SUMMARY


def _free_text(ctx: Ctx, answer: Answer, step: Step) -> str | Retry:
    """An answer in words: not empty, not too long, and saying something (not "dạ", not
    "xin chào", not "aaaaa" or "không biết")."""
    text = clean_text(answer.text or "")
    if not text:
        return Retry(msg.EMPTY_ANSWER)
    if len(text) > ctx.config.max_chars(answer.source):
        return Retry(msg.TOO_LONG)
    if not says_something(text):
        return Retry(msg.NEED_WORDS.get(step, msg.TOO_SHORT))
    return without_courtesy(text)


def _words_not_a_code(text: str) -> bool:
    """Words rather than a code (a name, «vâng ạ», «không biết»): codes carry a number and
    are one word, however they are spaced ("hn dm01")."""
    return len(text.split()) >= 2 and not any(ch.isdigit() for ch in text)


def _on_unit(ctx: Ctx, answer: Answer) -> Goto | Retry:
    code = unit_code(answer.text or "")[:40]
    if not code:
        return Retry(msg.EMPTY_ANSWER)
    unit = ctx.directory.find_unit(code)
    if unit is None:
        close = [u.code for u in ctx.directory.suggest_units(code)]
        if close:
            return Retry(msg.UNIT_SUGGEST.format(code=code, codes=", ".join(close)))
        if _words_not_a_code(answer.text or ""):
            return Retry(msg.UNIT_NOT_A_CODE)  # echoing «NGUYEN-VAN-AN» back would puzzle
        return Retry(msg.UNIT_NOT_FOUND.format(code=code))
    if not unit.grassroots:
        return Retry(msg.UNIT_NOT_GRASSROOTS.format(name=unit.name))
    ctx.state.unit_code = unit.code
    notes = (msg.UNIT_OK.format(name=unit.name),)
    return Goto(Step.MENU if ctx.state.name else Step.ONBOARD_NAME, notes)


def _on_name(ctx: Ctx, answer: Answer) -> Goto | Retry:
    name = person_name(answer.text or "")
    if name is None:
        return Retry(msg.NAME_INVALID)
    ctx.state.name = name
    return Goto(Step.MENU, (msg.NAME_OK.format(name=msg.address(ctx.state.name)),))


def _on_menu(ctx: Ctx, answer: Answer) -> Goto | Retry:
    match answer.choice:
        case "review":
            return review.start_review(ctx)
        case "assist":
            return assist.start(ctx)
        case "confirm":
            return assist.from_menu(ctx)
        case "new":
            if ctx.state.unit_code is None:  # an officer who has not named a union to write for
                return Goto(Step.ONBOARD_UNIT, (msg.NEED_UNIT_FIRST,))
            held = ctx.state.draft
            if (
                held is not None
                and held.id is not None
                and ctx.directory.load_draft(held.id) is None
            ):
                ctx.state.draft = None  # closed meanwhile (they joined a similar idea instead)
            if ctx.state.draft is not None and ctx.state.draft.has_content():
                return Goto(Step.RESUME)
            ctx.state.draft = Draft()
            return Goto(Step.PROBLEM)
        case "drafts":
            if not ctx.directory.drafts():
                return Goto(Step.MENU, (msg.NO_DRAFTS,))
            return Goto(Step.PICK_DRAFT)
        case "hear":
            ctx.state.hear = not ctx.state.hear
            return Goto(Step.MENU, (msg.HEAR_ON if ctx.state.hear else msg.HEAR_OFF,))
        case "submitted":
            ideas = ctx.directory.submitted()[: ctx.config.max_listed]
            if not ideas:
                return Goto(Step.MENU, (msg.NO_SUBMITTED,))
            lines = [
                f"{n}. «{idea.title}» ({idea.updated_at.astimezone(VIETNAM):%d/%m}) — "
                f"{msg.STATUS_LABELS[idea.status]}"
                for n, idea in enumerate(ideas, start=1)
            ]
            return Goto(Step.MENU, ("\n".join([msg.SUBMITTED_HEADER, *lines]),))
        case _:
            return Goto(Step.MENU, (msg.HELP_GENERAL,))


# The questions a worker can get stuck at, and what is offered then.
STUCK_STEPS = frozenset({Step.PROBLEM, Step.SOLUTION})
_STUCK_OPTIONS = (
    Option(msg.STUCK_EXAMPLE, "example", ("nghe lai", "vi du", "doc lai", "nghe vi du")),
    Option(msg.SUMMARY_LATER, "later", ("de sau", "luu", "luu nhap")),
    Option(msg.STUCK_OFFICER, "officer", ("nho can bo", "can bo", "nho giup", "goi can bo")),
)


def _stuck_prompt(ctx: Ctx) -> Reply:
    return Reply(msg.STUCK, options=_STUCK_OPTIONS, nav=False)


def _on_stuck(ctx: Ctx, answer: Answer) -> Goto | Retry:
    question = ctx.state.stuck_at or Step.PROBLEM
    if answer.choice == "example":
        return Goto(question, (msg.HELP[question],))
    if answer.choice == "officer":
        asked = ctx.desk.ask_for_help(msg.STEP_TITLES[question])
        return Goto(Step.MENU, (msg.HELP_ASKED if asked else msg.HELP_ASKED_NO_OFFICER,))
    return Goto(Step.MENU, (msg.SAVED_FOR_LATER,))


def _on_pick_draft(ctx: Ctx, answer: Answer) -> Goto | Retry:
    choice = answer.choice or ""
    if choice == "menu":
        return Goto(Step.MENU)
    draft = ctx.directory.load_draft(int(choice.removeprefix("draft:")))
    if draft is None:
        return Retry(msg.STALE_BUTTON)
    ctx.state.draft = draft
    if draft.reopen is not None:  # returned: straight to what the officer asked to change
        ctx.state.editing = draft.reopen is not Step.SUMMARY
        return Goto(draft.reopen)
    return Goto(first_missing_step(draft))


def _on_resume(ctx: Ctx, answer: Answer) -> Goto | Retry:
    if answer.choice == "no":  # "không": not going on, but new idea or menu is unsaid
        return Retry(msg.RESUME_WHICH)
    if answer.choice == "continue":
        return Goto(first_missing_step(ctx.draft))
    if answer.choice == "new":
        ctx.state.draft = Draft()
        return Goto(Step.PROBLEM)
    return Goto(Step.MENU)


def _text_field(attribute: str, step: Step, following: Step) -> Handler:
    def handle(ctx: Ctx, answer: Answer) -> Goto | Retry:
        text = _free_text(ctx, answer, step)
        if isinstance(text, Retry):
            return text
        if step is Step.SOLUTION and match_key(text) == match_key(ctx.draft.problem or ""):
            # The problem sent again (its question came twice: a send cut off by a kill is
            # repeated), not a change: a change is never the problem in the same words.
            return Retry(msg.SAME_AS_PROBLEM)
        setattr(ctx.draft, attribute, text)
        ctx.draft.sources[attribute] = answer.source
        return Goto(following)

    return handle


def _on_benefit_kind(ctx: Ctx, answer: Answer) -> Goto | Retry:
    kind = BenefitKind(answer.choice or BenefitKind.OTHER)
    if ctx.draft.benefit_kind != kind:
        ctx.draft.benefit_detail = None
        ctx.draft.benefit_value_vnd = None
    ctx.draft.benefit_kind = kind
    return Goto(Step.BENEFIT_DETAIL)


def _on_benefit_detail(ctx: Ctx, answer: Answer) -> Goto | Retry:
    text = clean_text(answer.text or "")
    kind = ctx.draft.benefit_kind
    if not text:
        return Retry(msg.EMPTY_ANSWER)
    if len(text) > ctx.config.max_chars(answer.source):
        return Retry(msg.TOO_LONG)
    value: int | None = None
    notes: tuple[str, ...] = ()
    if kind is BenefitKind.MONEY and not is_non_answer(text):  # "chưa rõ" keeps no figure
        money = read_money(text)
        if money is not None and _signed(text):
            return Retry(msg.MONEY_SIGNED)
        if money is not None and not money.plausible:
            return Retry(msg.MONEY_TOO_LARGE)
        if money is not None:
            value = money.per_year
            notes = (msg.MONEY_UNDERSTOOD.format(amount=money_text(money)),)
        elif not says_something(text):
            return Retry(msg.BENEFIT_UNCLEAR)
    elif kind is BenefitKind.TIME and (saved := read_time_saved(text)) is not None:
        notes = (msg.TIME_UNDERSTOOD.format(amount=time_text(saved)),)
    elif not is_non_answer(text) and not _is_figure(text) and not says_something(text):
        # Figures are short: "5tr" or "30p" is a complete answer; "1" or "dạ" is not.
        return Retry(msg.BENEFIT_UNCLEAR)
    ctx.draft.benefit_detail = text
    ctx.draft.benefit_value_vnd = value
    ctx.draft.sources["benefit_detail"] = answer.source
    return Goto(Step.FIELD, notes)


# A sign or «âm» right before the first figure: «-5 triệu», «+5tr», «âm 5 triệu». A dash
# between two figures («5-7 triệu») is a range, not a sign.
_SIGNED = re.compile(r"^\D*?(?:(?<![\w\d])[-−–+]\s*|\bâm\s+)\d")


def _signed(text: str) -> bool:
    return bool(_SIGNED.match(unicodedata.normalize("NFC", text).lower()))


def _is_figure(text: str) -> bool:
    """A number with its unit: "30p", "5 kg", "20%"; a bare "1" is not."""
    return bool(re.search(r"\d", text)) and (any(ch.isalpha() for ch in text) or "%" in text)


def _on_field(ctx: Ctx, answer: Answer) -> Goto | Retry:
    ctx.draft.field = FieldOfWork(answer.choice or FieldOfWork.OTHER)
    return Goto(Step.APPLIED)


_DATE = re.compile(r"^(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{2}|\d{4}))?$")


def parse_day(text: str, today: dt.date) -> dt.date | None:
    """A day written as 15/3/2026, 15-03-26 or 15/3 (this year); "hôm nay" is today."""
    key = match_key(text)
    if key in {"hom nay", "nay"}:
        return today
    if key == "hom qua":
        return today - dt.timedelta(days=1)
    found = _DATE.match(clean_text(text).removeprefix("ngày").strip())
    if not found:
        return None
    day, month, year = int(found[1]), int(found[2]), found[3]
    full_year = today.year if year is None else int(year) + (2000 if len(year) == 2 else 0)
    try:
        return dt.date(full_year, month, day)
    except ValueError:
        return None


def _on_applied(ctx: Ctx, answer: Answer) -> Goto | Retry:
    if answer.choice == "yes":  # the date only when the worker gives one
        ctx.draft.applied, ctx.draft.applied_on = True, None
    elif answer.choice == "no":
        ctx.draft.applied, ctx.draft.applied_on = False, None
    else:
        day = parse_day(answer.text or "", ctx.today())
        if day is None or day > ctx.today() or day.year < 1990:
            return Retry(msg.DATE_INVALID)
        ctx.draft.applied, ctx.draft.applied_on = True, day
    return Goto(Step.COAUTHORS)


def _on_coauthors(ctx: Ctx, answer: Answer) -> Goto | Retry:
    if answer.choice == "none":
        ctx.draft.co_authors = ""
        return join.check(ctx)
    if answer.choice == "some":  # "có": there are; ask who
        return Retry(msg.COAUTHORS_NAMES)
    names = clean_text(answer.text or "").strip(" .")
    if not names:
        return Retry(msg.EMPTY_ANSWER)
    if len(names) > ctx.config.max_answer_chars:
        return Retry(msg.TOO_LONG)
    if real_words(names) == 0 or is_greeting(names) or is_non_answer(names):
        return Retry(msg.COAUTHORS_NAMES)
    ctx.draft.co_authors = names
    ctx.draft.sources["co_authors"] = answer.source
    return join.check(ctx)


def _on_summary(ctx: Ctx, answer: Answer) -> Goto | Retry:
    if answer.choice == "no":
        return Retry(msg.SUMMARY_NOT_SENT)
    if answer.choice == "edit":
        return Goto(Step.EDIT_PICK)
    if answer.choice == "later":
        return Goto(Step.MENU, (msg.SAVED_FOR_LATER,))
    draft = ctx.draft
    missing = first_missing_step(draft)
    if missing is not Step.SUMMARY:
        return Goto(missing)
    if draft.author is not None:
        return assist.send(ctx, draft)
    ctx.state.draft = None
    ctx.just_sent = draft.id
    thanks = msg.SUBMITTED.format(name=msg.address(ctx.state.name), title=make_title(draft))
    return Goto(Step.MENU, (thanks,), submit=draft)


def _on_edit_pick(ctx: Ctx, answer: Answer) -> Goto | Retry:
    if answer.choice == "done":
        return Goto(Step.SUMMARY)
    ctx.state.editing = True
    return Goto(Step(answer.choice or Step.SUMMARY))


def _continue_draft(label: str) -> tuple[tuple[Step, str], ...]:
    """Where picking up a draft can lead: its first unanswered question (any of them), the
    summary when it is complete, or back to the menu."""
    later = tuple((step, "") for step, _ in CONTENT_STEPS[1:])
    return ((Step.PROBLEM, label), *later, (Step.SUMMARY, "nháp đủ"), (Step.MENU, "về menu"))


_EDIT_OPTIONS = (
    *(
        Option(label, step.value, (match_key(msg.strip_emoji_label(label)),))
        for step, label in msg.EDIT_LABELS.items()
    ),
    Option(msg.EDIT_DONE, "done", ("xong", "khong sua")),
)

SPECS: dict[Step, StepSpec] = {
    spec.step: spec
    for spec in (
        StepSpec(
            Step.ONBOARD_UNIT,
            _ask(Step.ONBOARD_UNIT, hint=True),
            _on_unit,
            Accepts.TEXT,
            ((Step.ONBOARD_NAME, "mã đúng"), (Step.MENU, "đã có tên")),
        ),
        StepSpec(
            Step.ONBOARD_NAME,
            _ask(Step.ONBOARD_NAME),
            _on_name,
            Accepts.TEXT,
            ((Step.MENU, "tên"),),
            back=Step.ONBOARD_UNIT,
        ),
        StepSpec(
            Step.MENU,
            _menu_prompt,
            _on_menu,
            Accepts.CHOICE,
            (
                (Step.PROBLEM, "sáng kiến mới"),
                (Step.RESUME, "mới, khi đang có nháp"),
                (Step.PICK_DRAFT, "bản nháp"),
                (Step.MENU, "đã gửi / hướng dẫn"),
                (Step.ONBOARD_UNIT, "cán bộ chưa có mã cơ sở"),
                (Step.REVIEW_CARD, "duyệt (cán bộ)"),
                (Step.ASSIST_FIND, "nhập hộ (cán bộ)"),
                (Step.CONFIRM_OWN, "xác nhận sáng kiến nhập hộ"),
            ),
        ),
        StepSpec(
            Step.PICK_DRAFT,
            _pick_draft_prompt,
            _on_pick_draft,
            Accepts.CHOICE,
            (*_continue_draft("nháp chọn: câu còn thiếu"), (Step.EDIT_PICK, "")),
            back=Step.MENU,
        ),
        StepSpec(
            Step.RESUME,
            _resume_prompt,
            _on_resume,
            Accepts.CHOICE,
            _continue_draft("làm tiếp: câu còn thiếu / viết mới"),
            back=Step.MENU,
            yes="continue",
            no="no",
        ),
        StepSpec(
            Step.PROBLEM,
            _ask(Step.PROBLEM, hint=True),
            _text_field("problem", Step.PROBLEM, Step.SOLUTION),
            Accepts.TEXT,
            ((Step.SOLUTION, "kể khó khăn"),),
            back=Step.MENU,
            drafting=True,
            returns_when_editing=True,
        ),
        StepSpec(
            Step.SOLUTION,
            _ask(Step.SOLUTION),
            _text_field("solution", Step.SOLUTION, Step.BENEFIT_KIND),
            Accepts.TEXT,
            ((Step.BENEFIT_KIND, "kể cách làm"),),
            back=Step.PROBLEM,
            drafting=True,
            returns_when_editing=True,
        ),
        StepSpec(
            Step.BENEFIT_KIND,
            _ask(Step.BENEFIT_KIND, *_enum_options(msg.BENEFIT_LABELS)),
            _on_benefit_kind,
            Accepts.CHOICE,
            ((Step.BENEFIT_DETAIL, "loại lợi ích"),),
            back=Step.SOLUTION,
            drafting=True,
        ),
        StepSpec(
            Step.BENEFIT_DETAIL,
            _benefit_detail_prompt,
            _on_benefit_detail,
            Accepts.TEXT,
            ((Step.FIELD, "lợi ích cụ thể"),),
            back=Step.BENEFIT_KIND,
            drafting=True,
            returns_when_editing=True,
        ),
        StepSpec(
            Step.FIELD,
            _ask(Step.FIELD, *_enum_options(msg.FIELD_LABELS)),
            _on_field,
            Accepts.CHOICE,
            ((Step.APPLIED, "lĩnh vực"),),
            back=Step.BENEFIT_DETAIL,
            drafting=True,
            returns_when_editing=True,
        ),
        StepSpec(
            Step.APPLIED,
            _ask(
                Step.APPLIED,
                Option(msg.APPLIED_YES, "yes", ("da ap dung", "da", "ap dung", "da lam")),
                Option(msg.APPLIED_NO, "no", ("chua ap dung", "chua lam")),
            ),
            _on_applied,
            Accepts.CHOICE_OR_TEXT,
            ((Step.COAUTHORS, "đã / chưa / ngày"),),
            back=Step.FIELD,
            drafting=True,
            returns_when_editing=True,
            yes="yes",
            no="no",
        ),
        StepSpec(
            Step.COAUTHORS,
            _ask(
                Step.COAUTHORS,
                Option(
                    msg.NO_COAUTHORS,
                    "none",
                    ("khong ai", "mot minh", "minh toi", "toi lam mot minh"),
                ),
            ),
            _on_coauthors,
            Accepts.CHOICE_OR_TEXT,
            ((Step.SUMMARY, "tên hoặc không ai"), (Step.SIMILAR, "có ý rất giống")),
            back=Step.APPLIED,
            drafting=True,
            returns_when_editing=True,
            yes="some",
            no="none",
        ),
        StepSpec(
            Step.SUMMARY,
            _summary_prompt,
            _on_summary,
            Accepts.CHOICE,
            (
                (Step.MENU, "gửi đi / để sau"),
                (Step.ASSIST_AGREED, "nhập hộ: người đó đồng ý chưa"),
                (Step.EDIT_PICK, "sửa"),
                (Step.PROBLEM, "gửi khi còn thiếu"),
                (Step.SOLUTION, ""),
                (Step.BENEFIT_KIND, ""),
                (Step.BENEFIT_DETAIL, ""),
                (Step.FIELD, ""),
                (Step.APPLIED, ""),
                (Step.COAUTHORS, ""),
            ),
            back=Step.COAUTHORS,
            drafting=True,
            yes="send",
            no="no",
        ),
        StepSpec(
            Step.EDIT_PICK,
            _ask(Step.EDIT_PICK, *_EDIT_OPTIONS),
            _on_edit_pick,
            Accepts.CHOICE,
            (
                (Step.PROBLEM, "sửa phần"),
                (Step.SOLUTION, ""),
                (Step.BENEFIT_KIND, ""),
                (Step.FIELD, ""),
                (Step.APPLIED, ""),
                (Step.COAUTHORS, ""),
                (Step.SUMMARY, "không sửa nữa"),
            ),
            back=Step.SUMMARY,
            drafting=True,
        ),
        StepSpec(
            Step.STUCK,
            _stuck_prompt,
            _on_stuck,
            Accepts.CHOICE,
            (
                (Step.PROBLEM, "nghe lại ví dụ"),
                (Step.SOLUTION, ""),
                (Step.MENU, "để sau / nhờ cán bộ"),
            ),
            back=Step.MENU,
            drafting=True,
        ),
        *review.SPECS,
        *assist.SPECS,
        *record.SPECS,
        *join.SPECS,
    )
}

SUBMIT = Flow(
    name="submit",
    specs=SPECS,
    start=Step.START,
    welcome=msg.WELCOME,
    entry=Step.ONBOARD_UNIT,
    entry_label="tin nhắn đầu",
    home=Step.MENU,
    review=Step.SUMMARY,
    resume=Step.RESUME,
    help=msg.HELP,
    field_of_step=FIELD_OF_STEP,
    story_step=Step.PROBLEM,
    interrupt=Step.CONFIRM_OWN,
    stuck_steps=STUCK_STEPS,
    stuck=Step.STUCK,
    commands={**review.COMMANDS, **record.COMMANDS, **join.COMMANDS},
    deep_links=review.DEEP_LINKS,
)

assert set(SPECS) | {Step.START} == set(Step), "every step but the start needs a declaration"
