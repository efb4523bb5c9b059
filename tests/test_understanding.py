"""Understood however a worker answers: every case the issue names, as a table, through the
pure engine (fast) and, for the read-back and the menu, through the stored service too."""

from __future__ import annotations

import datetime as dt

import pytest

from dialogs import messages as msg
from dialogs.answers import NO_WORDS, YES_WORDS, match_option, yes_or_no
from dialogs.engine import handle
from dialogs.events import ChoiceIn, Inbound, Option, VoiceIn, parse_text
from dialogs.flows.submit import SUBMIT, unit_code
from dialogs.state import Draft, State, Step
from nlp.numbers import Money, read_money
from nlp.text import match_key
from tests.utils.chat import FakeClock, FakeUser
from tests.utils.memory import MemoryDirectory

START = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
PROBLEM = "Máy cắt hay kẹt vải, mỗi ca dừng máy 30 phút"
SOLUTION = "Gắn thêm thanh dẫn vải trước lưỡi cắt"


class Chat:
    """A worker talking to the pure engine: what they send, and the bot's last answer."""

    def __init__(self) -> None:
        self.state = State()
        self.now = START
        self.text = ""
        self.directory = MemoryDirectory()

    def _send(self, event: Inbound) -> str:
        outcome = handle(self.state, event, flow=SUBMIT, now=self.now, directory=self.directory)
        self.state = outcome.state
        self.text = "\n".join(reply.text for reply in outcome.replies)
        return self.text

    def say(self, text: str) -> str:
        return self._send(parse_text(text))

    def voice(self, transcript: str) -> str:
        return self._send(VoiceIn(transcript=transcript, note_id=7))

    def press(self, value: str) -> str:
        return self._send(ChoiceIn(value))

    def wait(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)

    @property
    def draft(self) -> Draft:
        assert self.state.draft is not None
        return self.state.draft

    def to(self, step: Step) -> Chat:
        """Walk a new worker to `step` the ordinary way."""
        route = {
            Step.MENU: [],
            Step.PROBLEM: ["1"],
            Step.SOLUTION: ["1", PROBLEM],
            Step.BENEFIT_KIND: ["1", PROBLEM, SOLUTION],
            Step.BENEFIT_DETAIL: ["1", PROBLEM, SOLUTION, "2"],
            Step.FIELD: ["1", PROBLEM, SOLUTION, "2", "5 triệu"],
            Step.APPLIED: ["1", PROBLEM, SOLUTION, "2", "5 triệu", "1"],
            Step.COAUTHORS: ["1", PROBLEM, SOLUTION, "2", "5 triệu", "1", "2"],
            Step.SUMMARY: ["1", PROBLEM, SOLUTION, "2", "5 triệu", "1", "2", "không"],
        }[step]
        for line in ["/start HN-DM01", "Nguyễn Thị Lan", *route]:
            self.say(line)
        assert self.state.step is step, self.text
        return self


def at(step: Step) -> Chat:
    return Chat().to(step)


# --- the read-back never corrupts an answer ------------------------------------------------

NO_AT_READ_BACK = ["không phải", "không", "sai", "sai rồi", "dạ không", "ko", "không đúng", "👎"]


@pytest.mark.parametrize("no", NO_AT_READ_BACK)
def test_no_at_the_read_back_stores_nothing_and_offers_to_say_or_type_again(no: str) -> None:
    chat = at(Step.PROBLEM)
    chat.voice("Kho phụ liệu xa chuyền may.")
    reply = chat.say(no)
    assert "nói lại hoặc gõ lại" in reply
    assert chat.state.step is Step.PROBLEM and chat.state.draft is not None
    assert chat.draft.problem is None
    assert chat.say("1") and "nói lại" in chat.text  # 1 is now «Nói lại», not a yes
    assert chat.draft.problem is None


@pytest.mark.parametrize("yes", ["dạ", "dạ đúng", "vâng ạ", "đúng rồi", "ok", "ừ", "👍", "1"])
def test_yes_at_the_read_back_stores_the_transcript_not_the_yes(yes: str) -> None:
    chat = at(Step.PROBLEM)
    chat.voice("Kho phụ liệu xa chuyền may.")
    chat.say(yes)
    assert chat.draft.problem == "Kho phụ liệu xa chuyền may."
    assert chat.state.step is Step.SOLUTION


def test_a_number_that_is_no_option_asks_the_read_back_again() -> None:
    chat = at(Step.PROBLEM)
    chat.voice("Kho phụ liệu xa chuyền may.")
    reply = chat.say("7")
    assert "chọn 1, 2 hoặc 3" in reply and "Tôi nghe được" in reply
    assert chat.draft.problem is None and chat.state.pending is not None


def test_a_pending_read_back_does_not_survive_going_back() -> None:
    chat = at(Step.SOLUTION)
    chat.voice("Gắn thanh dẫn vải.")
    chat.say("quay lại")
    assert chat.state.step is Step.PROBLEM and chat.state.pending is None
    chat.say("1")  # no longer a yes to anything: a bare number is no problem statement
    assert chat.draft.problem == PROBLEM
    assert chat.state.step is Step.PROBLEM
    chat.say("menu")
    chat.say("1")  # at the menu, 1 is «Gửi sáng kiến mới» again
    assert chat.state.step in {Step.RESUME, Step.PROBLEM}


def test_help_and_greetings_at_a_read_back_ask_it_again() -> None:
    chat = at(Step.PROBLEM)
    chat.voice("Kho phụ liệu xa chuyền may.")
    assert "Tôi nghe được" in chat.say("trợ giúp")
    assert "Tôi nghe được" in chat.say("xin chào")
    chat.say("đúng")
    assert chat.draft.problem == "Kho phụ liệu xa chuyền may."


def test_a_failed_voice_note_drops_the_transcript_read_back() -> None:
    chat = at(Step.PROBLEM)
    chat.voice("Khách sạn.")
    chat._send(VoiceIn(transcript=None, problem="empty"))
    chat.say("1")
    assert chat.draft.problem is None


def test_a_greeting_after_a_pause_is_never_an_answer() -> None:
    chat = at(Step.SOLUTION)
    chat.wait(hours=3)
    reply = chat.say("xin chào")
    assert chat.draft.solution is None
    assert chat.state.step is Step.RESUME and "Làm tiếp" in reply
    chat.say("1")
    assert chat.state.step is Step.SOLUTION


def test_a_greeting_within_the_pause_greets_and_asks_again() -> None:
    chat = at(Step.SOLUTION)
    chat.wait(minutes=40)
    reply = chat.say("alo")
    assert "Chào Lan" in reply and "Cách làm mới" in reply and "đã thay đổi gì" in reply
    assert chat.draft.solution is None


# --- yes and no, the way people say them ---------------------------------------------------


@pytest.mark.parametrize("word", YES_WORDS)
def test_every_yes_word_is_a_yes(word: str) -> None:
    for form in (word, match_key(word), word.upper(), f"{word}!", f"{word} 😊"):
        assert yes_or_no(form) is True, form


@pytest.mark.parametrize("word", NO_WORDS)
def test_every_no_word_is_a_no(word: str) -> None:
    for form in (word, match_key(word), word.upper(), f"{word}.", f"{word} nhé"):
        assert yes_or_no(form) is False, form


@pytest.mark.parametrize("word", ["dừng", "cô", "xin chào", "7", "Khách sạn", "đúng giờ"])
def test_other_words_are_neither(word: str) -> None:
    assert yes_or_no(word) is None


YES_NO_STEPS = [
    # step, yes → (step after, check), no → (step after, check)
    (Step.APPLIED, Step.COAUTHORS, Step.COAUTHORS),
    (Step.SUMMARY, Step.MENU, Step.SUMMARY),
]


@pytest.mark.parametrize("word", ["có", "vâng", "ừ", "ok", "dạ", "đúng rồi", "rồi", "👍"])
def test_yes_at_the_applied_step_means_applied_without_inventing_a_date(word: str) -> None:
    chat = at(Step.APPLIED)
    chat.say(word)
    assert (chat.draft.applied, chat.draft.applied_on) == (True, None)
    assert chat.state.step is Step.COAUTHORS


@pytest.mark.parametrize("word", ["không", "ko", "chưa", "k", "hông", "👎"])
def test_no_at_the_applied_step_means_not_yet(word: str) -> None:
    chat = at(Step.APPLIED)
    chat.say(word)
    assert chat.draft.applied is False and chat.state.step is Step.COAUTHORS


def test_a_date_at_the_applied_step_is_kept() -> None:
    chat = at(Step.APPLIED)
    chat.say("15/3/2026")
    assert chat.draft.applied_on == dt.date(2026, 3, 15)


@pytest.mark.parametrize("word", ["có", "ok", "vâng", "dạ có", "ừ"])
def test_yes_at_the_coauthor_step_asks_for_the_names(word: str) -> None:
    chat = at(Step.COAUTHORS)
    reply = chat.say(word)
    assert "gõ tên" in reply and chat.draft.co_authors is None
    chat.say("Trần Văn Minh, Lê Thị Hoa")
    assert chat.draft.co_authors == "Trần Văn Minh, Lê Thị Hoa"


@pytest.mark.parametrize("word", ["không", "ko", "k", "không có", "chưa", "dạ không"])
def test_no_at_the_coauthor_step_means_nobody(word: str) -> None:
    chat = at(Step.COAUTHORS)
    chat.say(word)
    assert chat.draft.co_authors == "" and chat.state.step is Step.SUMMARY


@pytest.mark.parametrize("word", ["vâng", "đúng rồi", "dạ", "ừ", "ok", "gửi", "đồng ý", "👍"])
def test_yes_at_the_summary_sends(word: str) -> None:
    chat = at(Step.SUMMARY)
    reply = chat.say(word)
    assert "Đã gửi sáng kiến" in reply and chat.state.step is Step.MENU


@pytest.mark.parametrize("word", ["sai", "không", "chưa", "ko"])
def test_no_at_the_summary_does_not_send(word: str) -> None:
    chat = at(Step.SUMMARY)
    reply = chat.say(word)
    assert "Chưa gửi" in reply and chat.state.step is Step.SUMMARY
    assert chat.state.draft is not None


def test_yes_at_the_resume_offer_goes_on() -> None:
    chat = at(Step.SOLUTION)
    chat.wait(hours=3)
    chat.say("Gắn thêm đèn")
    assert chat.state.step is Step.RESUME
    chat.say("vâng")
    assert chat.state.step is Step.SOLUTION


# --- choices by any word a worker would use ------------------------------------------------

BENEFITS = [
    ("thời gian", "time"),
    ("tiet kiem thoi gain", "time"),
    ("tiền", "money"),
    ("an toàn", "safety"),
    ("số 2", "money"),
    ("cái thứ hai", "money"),
    ("hai", "money"),
    ("môi trường", "environment"),
    ("khac", "other"),
]


@pytest.mark.parametrize(("said", "kind"), BENEFITS)
def test_a_benefit_by_any_word(said: str, kind: str) -> None:
    chat = at(Step.BENEFIT_KIND)
    chat.say(said)
    assert chat.draft.benefit_kind == kind, chat.text


def test_two_options_that_match_are_asked_about() -> None:
    chat = at(Step.BENEFIT_KIND)
    reply = chat.say("tiết kiệm")
    assert "cái nào" in reply and "1. ⏱️ Tiết kiệm thời gian" in reply and "2. 💰" in reply
    assert chat.draft.benefit_kind is None


@pytest.mark.parametrize(("said", "field"), [("ky thuat", "production"), ("an toàn", "safety")])
def test_a_field_by_any_word(said: str, field: str) -> None:
    chat = at(Step.FIELD)
    chat.say(said)
    assert chat.draft.field == field


def test_match_option_needs_distinctive_words() -> None:
    options = [Option("⏱️ Tiết kiệm thời gian", "time"), Option("💰 Làm lợi", "money")]
    assert match_option("thoi gian", options).value == "time"
    assert match_option("xyz", options).value is None


@pytest.mark.parametrize("said", ["xin chào", "alo", "chào bot", "hello"])
def test_small_talk_at_any_step_greets_back_and_asks_again(said: str) -> None:
    for step in (Step.PROBLEM, Step.BENEFIT_KIND, Step.COAUTHORS):
        chat = at(step)
        reply = chat.say(said)
        assert "👋 Chào Lan" in reply and chat.state.step is step
        assert msg.STEP_TITLES[step] in reply


def test_an_unknown_command_gets_a_hint_not_an_answer() -> None:
    chat = at(Step.PROBLEM)
    reply = chat.say("/xoa")
    assert "Không có lệnh «/xoa»" in reply and chat.draft.problem is None


def test_a_worker_who_types_an_officers_command_is_told_it_is_not_theirs() -> None:
    chat = at(Step.PROBLEM)
    reply = chat.say("/duyet")
    assert msg.OFFICERS_ONLY in reply and chat.state.step is Step.PROBLEM
    assert chat.draft.problem is None and msg.PROMPTS[Step.PROBLEM] in reply
    chat = at(Step.BENEFIT_KIND)
    assert "chọn 1, 2" not in chat.say("/xyz").lower()


# --- amounts, names, codes, junk -----------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "money"),
    [
        ("khoảng 3 triệu rưỡi một tháng", Money(3_500_000, "tháng")),
        ("ba trieu ruoi", Money(3_500_000, "năm")),
        ("nam tram nghin moi thang", Money(500_000, "tháng")),
        ("3tr5/tháng", Money(3_500_000, "tháng")),
        ("500k mỗi tuần", Money(500_000, "tuần")),
        ("5 triệu", Money(5_000_000, "năm")),
    ],
)
def test_money_keeps_its_period(said: str, money: Money) -> None:
    assert read_money(said) == money


def test_a_monthly_amount_is_stored_per_year_and_read_back_both_ways() -> None:
    chat = at(Step.BENEFIT_DETAIL)
    reply = chat.say("khoảng 3 triệu rưỡi một tháng")
    assert "3.500.000 đ/tháng ≈ 42.000.000 đ/năm" in reply
    assert chat.draft.benefit_value_vnd == 42_000_000
    chat.say("1")
    chat.say("2")
    summary = chat.say("không")
    assert "3.500.000 đ/tháng ≈ 42.000.000 đ/năm" in summary


def test_time_saved_keeps_its_period() -> None:
    chat = at(Step.BENEFIT_KIND)
    chat.say("1")
    reply = chat.say("30 phút mỗi ca")
    assert "30 phút/ca" in reply


def test_an_impossible_amount_is_refused_kindly() -> None:
    chat = at(Step.BENEFIT_DETAIL)
    reply = chat.say("9300000000 tỷ")
    assert "lớn quá" in reply and chat.draft.benefit_detail is None


@pytest.mark.parametrize("said", ["1", "dạ", "aaaaa"])
def test_a_benefit_must_say_something(said: str) -> None:
    chat = at(Step.BENEFIT_KIND)
    chat.say("3")  # safety: a description, not a figure
    chat.say(said)
    assert chat.draft.benefit_detail is None and chat.state.step is Step.BENEFIT_DETAIL


@pytest.mark.parametrize(
    ("typed", "stored", "called"),
    [
        ("nguyễn văn hùng", "Nguyễn Văn Hùng", "Hùng"),
        ("TRẦN THỊ MAI", "Trần Thị Mai", "Mai"),
        ("le van an", "Le Van An", "An"),
    ],
)
def test_names_are_stored_in_title_case(typed: str, stored: str, called: str) -> None:
    chat = Chat()
    chat.say("/start HN-DM01")
    reply = chat.say(typed)
    assert chat.state.name == stored and f"gặp {called}!" in reply


@pytest.mark.parametrize("said", ["vâng", "ok", "xin chào", "12345", "không biết"])
def test_a_yes_a_greeting_or_digits_are_no_name(said: str) -> None:
    chat = Chat()
    chat.say("/start HN-DM01")
    chat.say(said)
    assert chat.state.name is None and chat.state.step is Step.ONBOARD_NAME


def test_a_spoken_name_is_read_back_before_it_is_used() -> None:
    chat = Chat()
    chat.say("/start HN-DM01")
    assert "Tôi nghe được: «nguyễn thị lan»" in chat.voice("nguyễn thị lan")
    assert chat.state.name is None
    chat.say("đúng")
    assert chat.state.name == "Nguyễn Thị Lan"


@pytest.mark.parametrize("typed", ["hn dm01", "HNDM01", "HN–DM01", "hn-dm01.", " Hn - Dm01 "])
def test_unit_codes_as_workers_type_them(typed: str) -> None:
    assert unit_code(typed).replace("-", "") == "HNDM01"
    chat = Chat()
    chat.say("xin chào")
    chat.say(typed)
    assert chat.state.unit_code == "HN-DM01", chat.text


def test_an_unknown_code_gets_the_closest_codes_and_who_to_ask() -> None:
    chat = Chat()
    chat.say("xin chào")
    reply = chat.say("HN-DM10")
    assert "Có phải: HN-DM01" in reply and "cán bộ công đoàn" in reply


@pytest.mark.parametrize("junk", ["aaaaa", "12345", "asdfgh", "không biết", "dạ", "ok"])
def test_junk_is_no_problem_statement(junk: str) -> None:
    chat = at(Step.PROBLEM)
    reply = chat.say(junk)
    assert "Ví dụ" in reply and chat.draft.problem is None


def test_a_genuine_short_answer_is_accepted() -> None:
    chat = at(Step.PROBLEM)
    chat.say("Máy hay kẹt chỉ")
    assert chat.draft.problem == "Máy hay kẹt chỉ"


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("vâng ạ, gắn thanh dẫn vải", "gắn thanh dẫn vải"),
        ("Dạ, máy hay kẹt chỉ", "Máy hay kẹt chỉ"),
        ("Dạ vâng ạ máy hay kẹt chỉ", "Máy hay kẹt chỉ"),
        ("da, may hay ket chi", "may hay ket chi"),
        ("Dạ dày công nhân đau vì ăn ca muộn", "Dạ dày công nhân đau vì ăn ca muộn"),
        ("Đèn dạ quang ở lối thoát bị mờ", "Đèn dạ quang ở lối thoát bị mờ"),
        ("dạ quang ở lối thoát bị mờ", "dạ quang ở lối thoát bị mờ"),
        ("Vâng lời tổ trưởng", "Vâng lời tổ trưởng"),  # nothing left that says something
    ],
)
def test_a_courteous_opening_is_not_part_of_the_answer(said: str, stored: str) -> None:
    """Workers open with «dạ», «vâng ạ»: it is politeness, not the idea, and it stayed in the
    answer and in the idea's title («Vâng ạ, gắn thanh dẫn vải»)."""
    chat = at(Step.PROBLEM)
    chat.say(said)
    assert chat.draft.problem == stored


def test_a_spoken_courteous_opening_is_not_part_of_the_answer() -> None:
    chat = at(Step.PROBLEM)
    chat.voice("Dạ máy cắt hay kẹt vải.")
    chat.say("đúng")
    assert chat.draft.problem == "Máy cắt hay kẹt vải."


# --- through the stored service -------------------------------------------------------------


def test_the_menu_after_a_submission_counts_the_drafts_left(onboarded: FakeUser) -> None:
    for line in ["1", PROBLEM, SOLUTION, "2", "5 triệu", "1", "2", "không"]:
        onboarded.send(line)
    onboarded.send("gửi")
    assert "Bản nháp (0)" in "\n".join(onboarded.labels())


def test_my_ideas_list_date_and_status_in_words(onboarded: FakeUser, clock: FakeClock) -> None:
    for line in ["1", PROBLEM, SOLUTION, "2", "5 triệu", "1", "2", "không", "gửi"]:
        onboarded.send(line)
    onboarded.press("Sáng kiến của tôi")
    assert "(20/11) — ⏳ Đã gửi, chờ xem xét" in onboarded.text


def test_saying_no_to_a_stored_read_back_keeps_the_draft_clean(onboarded: FakeUser) -> None:
    onboarded.send("1")
    onboarded.voice("Kho phụ liệu xa chuyền may.")
    onboarded.send("không phải")
    onboarded.send("Kho phụ liệu ở xa")
    onboarded.send("menu")
    onboarded.press(2)  # Bản nháp
    assert any("Kho phụ liệu ở xa" in label for label in onboarded.labels())


# --- every yes/no word at every yes/no question --------------------------------------------


def _read_back() -> Chat:
    chat = at(Step.PROBLEM)
    chat.voice("Kho phụ liệu xa chuyền may.")
    return chat


def _resume() -> Chat:
    chat = at(Step.SOLUTION)
    chat.wait(hours=3)
    chat.say("Gắn thêm đèn")
    assert chat.state.step is Step.RESUME
    return chat


YES_NO_QUESTIONS = {
    # question: (how to stand at it, what a yes does, what a no does)
    "read-back": (
        _read_back,
        lambda c: c.draft.problem == "Kho phụ liệu xa chuyền may.",
        lambda c: c.draft.problem is None and c.state.pending is None,
    ),
    "applied": (
        lambda: at(Step.APPLIED),
        lambda c: (c.draft.applied, c.draft.applied_on) == (True, None),
        lambda c: c.draft.applied is False,
    ),
    "co-authors": (
        lambda: at(Step.COAUTHORS),
        lambda c: c.draft.co_authors is None and c.state.step is Step.COAUTHORS,
        lambda c: c.draft.co_authors == "",
    ),
    "summary": (
        lambda: at(Step.SUMMARY),
        lambda c: c.state.draft is None and c.state.step is Step.MENU,
        lambda c: c.state.draft is not None and c.state.step is Step.SUMMARY,
    ),
    "resume": (
        _resume,
        lambda c: c.state.step is Step.SOLUTION,
        lambda c: c.state.step is Step.RESUME,
    ),
}


@pytest.mark.parametrize("question", sorted(YES_NO_QUESTIONS))
@pytest.mark.parametrize("word", YES_WORDS)
def test_every_yes_word_at_every_yes_no_question(question: str, word: str) -> None:
    stand, after_yes, _ = YES_NO_QUESTIONS[question]
    for form in (word, match_key(word) or word, f"{word}!"):
        chat = stand()
        chat.say(form)
        assert after_yes(chat), (question, form, chat.text)


@pytest.mark.parametrize("question", sorted(YES_NO_QUESTIONS))
@pytest.mark.parametrize("word", NO_WORDS)
def test_every_no_word_at_every_yes_no_question(question: str, word: str) -> None:
    stand, _, after_no = YES_NO_QUESTIONS[question]
    for form in (word, match_key(word) or word, f"{word}."):
        chat = stand()
        chat.say(form)
        assert after_no(chat), (question, form, chat.text)


@pytest.mark.parametrize("word", ["vâng", "dạ", "ok", "không"])
def test_a_yes_or_no_where_it_means_nothing_asks_for_a_choice(word: str) -> None:
    for step in (Step.MENU, Step.BENEFIT_KIND, Step.FIELD):
        chat = at(step)
        reply = chat.say(word)
        assert "chọn 1, 2" in reply and "cái nào" not in reply, (step, reply)
        assert chat.state.step is step


@pytest.mark.parametrize(
    "said", ["-5 triệu", "- 5 triệu một năm", "−5tr", "+5 triệu", "âm 5 triệu"]
)
def test_a_signed_amount_is_asked_again_not_stored_as_its_opposite(said: str) -> None:
    """«-5 triệu» was stored as +5,000,000 đ a year and read back without asking."""
    chat = at(Step.BENEFIT_DETAIL)
    reply = chat.say(said)
    assert msg.MONEY_SIGNED in reply
    assert chat.draft.benefit_detail is None and chat.draft.benefit_value_vnd is None
    assert "5.000.000 đ" in chat.say("5 triệu một năm")  # the plain amount is taken


@pytest.mark.parametrize("said", ["5-7 triệu", "tiết kiệm 5 triệu - 6 triệu", "giảm 5 triệu"])
def test_a_dash_between_amounts_is_no_sign(said: str) -> None:
    chat = at(Step.BENEFIT_DETAIL)
    assert msg.MONEY_SIGNED not in chat.say(said)
    assert chat.draft.benefit_detail is not None
