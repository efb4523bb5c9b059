"""Property-based test of the conversation: random workers never corrupt an answer.

A Hypothesis state machine drives the pure engine with text (answers, yes/no words, greetings,
numbers, junk, commands), button presses (offered and stale), voice transcripts and failed
notes, navigation and clock jumps, and checks after every event that:

- no field changes except the one being asked (or edited);
- a yes/no word, a greeting or junk is never stored as an answer;
- an answer once given is never lost (it may be replaced at its own question, never emptied);
- the worker always gets an answer.

CI runs a fixed seed (profile "ci"); ``HYPOTHESIS_PROFILE=long pytest tests/test_properties.py``
explores ten times more.
"""

from __future__ import annotations

import datetime as dt
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from dialogs.answers import is_greeting, yes_or_no
from dialogs.engine import handle
from dialogs.events import ChoiceIn, Inbound, VoiceIn, parse_text
from dialogs.flows.submit import SUBMIT
from dialogs.state import Draft, State, Step
from tests.utils.memory import MemoryDirectory

settings.register_profile(
    "ci",
    max_examples=150,
    stateful_step_count=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=1500, stateful_step_count=60, deadline=None, database=None
)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

CONTENT = tuple(name for name in Draft.model_fields if name not in {"id", "sources", "voice_notes"})
TEXT_FIELDS = ("problem", "solution", "benefit_detail", "co_authors")
# What answering each question may change.
MAY_CHANGE: dict[Step, set[str]] = {
    Step.PROBLEM: {"problem"},
    Step.SOLUTION: {"solution"},
    Step.BENEFIT_KIND: {"benefit_kind", "benefit_detail", "benefit_value_vnd"},
    Step.BENEFIT_DETAIL: {"benefit_detail", "benefit_value_vnd"},
    Step.FIELD: {"field"},
    Step.APPLIED: {"applied", "applied_on"},
    # Past the last question the idea is compared with the stored ones, once.
    Step.COAUTHORS: {"co_authors", "similar_checked"},
}
# Which of those may become empty again: a new benefit kind clears its old figure.
MAY_EMPTY = {"benefit_detail", "benefit_value_vnd", "applied_on"}
# Steps where the draft itself may be replaced (a new idea, a draft picked, one sent).
REPLACES_DRAFT = {Step.START, Step.MENU, Step.RESUME, Step.PICK_DRAFT, Step.SUMMARY}

TEXTS = [
    "Máy cắt hay kẹt vải, mỗi ca dừng máy 30 phút",
    "Gắn thêm thanh dẫn vải trước lưỡi cắt",
    "Máy hay kẹt chỉ",
    "Nguyễn Thị Lan",
    "HN-DM01",
    "hn dm01",
    "dạ",
    "vâng ạ",
    "dạ đúng",
    "không phải",
    "không",
    "ko",
    "sai",
    "ok",
    "có",
    "ừ",
    "chưa",
    "👍",
    "xin chào",
    "alo",
    "chào bot",
    "cảm ơn",
    "1",
    "2",
    "3",
    "7",
    "số 2",
    "hai",
    "thời gian",
    "tiet kiem thoi gain",
    "tiền",
    "an toàn",
    "aaaaa",
    "12345",
    "asdfgh",
    "không biết",
    "3tr5",
    "khoảng 3 triệu rưỡi một tháng",
    "9300000000 tỷ",
    "30 phút mỗi ca",
    "15/3/2026",
    "Trần Văn Minh, Lê Thị Hoa",
    "quay lại",
    "hủy",
    "menu",
    "trợ giúp",
    "?",
    "gửi",
    "sửa",
    "để sau",
    "/start HN-DM01",
    "/duyet",
    "",
    "🙂",
]
TRANSCRIPTS = [
    "Kho phụ liệu xa chuyền may.",
    "Khách sạn.",
    "đúng",
    "không",
    "trở lại",
    "một",
    "xin chào",
    "nói lại",
    "",
]
START = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


class Conversation(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = State()
        self.now = START
        self.directory = MemoryDirectory({7: Draft(id=7, problem="Nháp cũ có sẵn")})
        self.replies = 1

    def _send(self, event: Inbound) -> None:
        before = self.state
        outcome = handle(before, event, flow=SUBMIT, now=self.now, directory=self.directory)
        self.state = outcome.state
        self.replies = len(outcome.replies)
        self._check(before, self.state)

    def _check(self, before: State, after: State) -> None:
        if before.step in REPLACES_DRAFT:
            if before.step is Step.SUMMARY and after.draft is not None:
                assert _fields(after.draft) == _fields(before.draft)
            return
        old, new = _fields(before.draft), _fields(after.draft)
        allowed = MAY_CHANGE.get(before.step, set())
        for name in CONTENT:
            if old[name] == new[name]:
                continue
            change = f"{name} changed at {before.step}: {old[name]!r} → {new[name]!r}"
            assert name in allowed, change
            if old[name] is not None and name not in MAY_EMPTY:
                assert new[name] is not None, f"{name} lost at {before.step}"
            value = new[name]
            if name in TEXT_FIELDS and isinstance(value, str) and value:
                assert yes_or_no(value) is None, f"{name} = {value!r}: a yes/no word"
                assert not is_greeting(value), f"{name} = {value!r}: a greeting"

    @initialize(start=st.sampled_from(["new", "at the menu", "writing", "half way", "half way"]))
    def begin(self, start: str) -> None:
        """Most runs begin past the sign-up or half way through an idea: random words rarely
        get that far, and the later questions need exploring too."""
        if start == "new":
            return
        self._send(parse_text("/start HN-DM01"))
        self._send(parse_text("Nguyễn Thị Lan"))
        if start != "at the menu":
            self._send(parse_text("1"))  # a new idea: its first question
        if start == "half way":
            self._send(parse_text(TEXTS[0]))
            self._send(parse_text(TEXTS[1]))

    @rule(text=st.sampled_from(TEXTS))
    def type_text(self, text: str) -> None:
        self._send(parse_text(text))

    @rule(index=st.integers(min_value=0, max_value=9))
    def press(self, index: int) -> None:
        options = self.state.options
        self._send(ChoiceIn(options[index % len(options)] if options else "stale"))

    @rule(value=st.sampled_from(["nav:back", "nav:cancel", "nav:help", "voice:yes", "old"]))
    def press_another(self, value: str) -> None:
        self._send(ChoiceIn(value))

    @rule(transcript=st.sampled_from(TRANSCRIPTS))
    def speak(self, transcript: str) -> None:
        self._send(VoiceIn(transcript=transcript, note_id=1))

    @rule(problem=st.sampled_from(["empty", "silent", "corrupt", "too_long"]))
    def send_a_bad_note(self, problem: str) -> None:
        self._send(VoiceIn(transcript=None, problem=problem))

    @rule(minutes=st.sampled_from([1, 30, 119, 121, 180, 60 * 24 * 3]))
    def wait(self, minutes: int) -> None:
        self.now += dt.timedelta(minutes=minutes)

    @invariant()
    def the_worker_always_gets_an_answer(self) -> None:
        assert self.replies >= 1

    @invariant()
    def a_read_back_belongs_to_the_question_it_was_asked_at(self) -> None:
        pending = self.state.pending
        assert pending is None or pending.step is self.state.step


def _fields(draft: Draft | None) -> dict[str, object]:
    return {name: getattr(draft, name) if draft else None for name in CONTENT}


TestConversation = Conversation.TestCase
TestConversation.settings = PROFILE
