"""A worker's conversations, end to end through the chat service and a real database."""

from __future__ import annotations

import unicodedata

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.services.conversation import ConversationService
from bot.services.database import Database
from dialogs import messages as msg
from storage.models import Conversation, Initiative, Membership, Person, Unit
from tests.utils.chat import FakeClock, FakeUser


def _stored(db: Engine) -> list[Initiative]:
    with Session(db) as session:
        return list(session.exec(select(Initiative).order_by(col(Initiative.id))).all())


def submit_idea(user: FakeUser) -> None:
    """A complete submission from the menu, mixing buttons, numbers and words."""
    user.press("Gửi sáng kiến mới")
    user.send("Máy cắt hay kẹt vải, mỗi ca dừng máy 30 phút")
    user.send("Gắn thêm thanh dẫn vải trước lưỡi cắt")
    user.send("2")  # money
    user.send("3tr5 mot nam")
    user.press("Kỹ thuật")
    user.send("da ap dung")
    user.send("Trần Văn Minh, Lê Thị Hoa")
    assert "Xem lại sáng kiến" in user.text
    user.press("Gửi đi")


def test_first_contact_walks_through_onboarding(worker: FakeUser) -> None:
    worker.send("xin chào")
    assert "Xin chào" in worker.text
    assert "Mã công đoàn nhà máy" in worker.text
    worker.send("hn-dm01")
    assert "CĐCS Công ty CP May Đức Giang" in worker.text
    assert "tên là gì" in worker.text
    worker.send("  Nguyễn   Thị Lan ")
    assert "Lan ơi" in worker.text
    assert worker.labels()[0] == "✍️ Gửi sáng kiến mới"


def test_deep_link_carries_the_unit_code(worker: FakeUser, db: Engine) -> None:
    worker.send("/start BN-DT01")
    assert "CĐCS Công ty TNHH Điện tử Yên Phong" in worker.text
    worker.send("Phạm Văn Nam")
    with Session(db) as session:
        person = session.exec(select(Person).where(Person.name == "Phạm Văn Nam")).one()
        unit = session.exec(select(Unit).where(Unit.code == "BN-DT01")).one()
        roles = session.exec(select(Membership).where(Membership.person_id == person.id)).all()
    assert person.unit_id == unit.id
    assert [(m.unit_id, m.role) for m in roles] == [(unit.id, "worker")]


def test_unknown_and_upper_level_unit_codes_are_refused(worker: FakeUser) -> None:
    worker.send("bắt đầu")
    worker.send("XX-99")
    assert "Không tìm thấy mã «XX-99»" in worker.text
    worker.send("HN")
    assert "công đoàn cấp trên" in worker.text
    worker.send("HN-DM01")
    assert "tên là gì" in worker.text


def test_a_name_or_a_word_at_the_code_question_is_told_what_a_code_looks_like(
    worker: FakeUser,
) -> None:
    worker.send("dạ chào")
    for said in ("nguyen van an", "vâng ạ", "không biết"):
        worker.send(said)
        assert msg.UNIT_NOT_A_CODE in worker.text and "«" not in worker.text  # no echo
    worker.send("hn dm01")
    assert "tên là gì" in worker.text


def test_full_submission_is_stored(onboarded: FakeUser, db: Engine) -> None:
    submit_idea(onboarded)
    assert "Cảm ơn Lan" in onboarded.text
    assert "Cán bộ công đoàn sẽ xem" in onboarded.text
    [idea] = _stored(db)
    assert idea.status == "submitted"
    assert idea.title == "Gắn thêm thanh dẫn vải trước lưỡi cắt"
    assert idea.problem == "Máy cắt hay kẹt vải, mỗi ca dừng máy 30 phút"
    assert idea.benefit_kind == "money"
    assert idea.benefit_value_vnd == 3_500_000
    assert idea.field == "production"
    assert idea.applied is True
    assert idea.applied_on is None  # "Đã áp dụng" without a date: no date is invented
    assert idea.co_authors == "Trần Văn Minh, Lê Thị Hoa"
    assert idea.sources == {
        "problem": "typed",
        "solution": "typed",
        "benefit_detail": "typed",
        "co_authors": "typed",
    }
    assert idea.submitted_at is not None and idea.submitted_at.tzinfo is not None


def test_submitted_ideas_are_listed_with_their_status(onboarded: FakeUser) -> None:
    onboarded.press("Sáng kiến của tôi")
    assert "chưa gửi sáng kiến nào" in onboarded.text
    submit_idea(onboarded)
    onboarded.send("3")
    assert "«Gắn thêm thanh dẫn vải trước lưỡi cắt» (20/11) — ⏳ Đã gửi, chờ xem xét" in (
        onboarded.text
    )


def test_every_answer_is_saved_as_it_is_given(onboarded: FakeUser, db: Engine) -> None:
    onboarded.press(1)
    onboarded.send("Kho phụ liệu xa chuyền may")
    [draft] = _stored(db)
    assert draft.status == "draft" and draft.problem == "Kho phụ liệu xa chuyền may"
    with Session(db) as session:
        conversation = session.exec(select(Conversation)).one()
    assert conversation.step == "solution"
    assert conversation.initiative_id == draft.id


def test_the_problem_sent_again_at_the_change_question_is_not_taken_as_the_change(
    onboarded: FakeUser, db: Engine
) -> None:
    """A worker who sees the problem question twice (a message a killed process was sending
    is sent again: the Bot APIs have no idempotency key) answers it twice. The second copy
    came as the answer to «đã thay đổi gì» and was stored as the change (the soak, beside the
    test suite). A change is never the problem in the same words, typed or without marks."""
    onboarded.press(1)
    onboarded.send("Máy cắt hay kẹt vải, mỗi ca dừng máy 30 phút")
    onboarded.send("may cat hay ket vai moi ca dung may 30 phut")
    assert msg.SAME_AS_PROBLEM in onboarded.text and "được lợi gì nhất" not in onboarded.text
    onboarded.send("Gắn thêm thanh dẫn vải trước lưỡi cắt")
    assert "được lợi gì nhất" in onboarded.text
    [draft] = _stored(db)
    assert draft.problem == "Máy cắt hay kẹt vải, mỗi ca dừng máy 30 phút"
    assert draft.solution == "Gắn thêm thanh dẫn vải trước lưỡi cắt"


def test_a_restart_between_two_messages_resumes_the_same_draft(
    onboarded: FakeUser, db: Engine, clock: FakeClock
) -> None:
    onboarded.press(1)
    onboarded.send("Kho phụ liệu xa chuyền may")
    # A new process: a new service on the same database.
    again = FakeUser(ConversationService(Database(db), clock=clock), "worker-1")
    again.send("Đặt kệ phụ liệu cạnh chuyền")
    assert "được lợi gì nhất" in again.text
    [draft] = _stored(db)
    assert draft.solution == "Đặt kệ phụ liệu cạnh chuyền"


def test_coming_back_days_later_offers_to_continue(onboarded: FakeUser, clock: FakeClock) -> None:
    onboarded.press(1)
    onboarded.send("Kho phụ liệu xa chuyền may")
    clock.advance(days=3)
    onboarded.send("alo")
    assert "đang viết dở: «Kho phụ liệu xa chuyền may»" in onboarded.text
    onboarded.press("Làm tiếp")
    assert "đã thay đổi gì" in onboarded.text


def test_cancel_keeps_the_draft_and_drafts_can_be_picked_up(
    onboarded: FakeUser, db: Engine
) -> None:
    onboarded.press(1)
    onboarded.send("Đèn xưởng bật cả ngày")
    onboarded.send("huỷ")  # the other common spelling of "hủy"
    assert "Bản nháp vẫn được giữ" in onboarded.text
    assert "📝 Bản nháp (1)" in onboarded.labels()
    onboarded.press("Bản nháp")
    onboarded.press("Đèn xưởng bật cả ngày")
    assert "đã thay đổi gì" in onboarded.text
    assert len(_stored(db)) == 1


def test_new_idea_while_a_draft_is_open_keeps_both(onboarded: FakeUser, db: Engine) -> None:
    onboarded.press(1)
    onboarded.send("Đèn xưởng bật cả ngày")
    onboarded.send("menu")
    onboarded.press(1)
    assert "đang viết dở" in onboarded.text
    onboarded.press("Viết sáng kiến khác")
    onboarded.send("Nước rửa tay bị lãng phí")
    assert [d.problem for d in _stored(db)] == ["Đèn xưởng bật cả ngày", "Nước rửa tay bị lãng phí"]


def test_edit_from_the_summary_returns_to_the_summary(onboarded: FakeUser, db: Engine) -> None:
    onboarded.press(1)
    for answer in ("Khó khăn lúc trước", "Cách làm mới", "1", "30 phút mỗi ca", "7", "2", "1"):
        onboarded.send(answer)
    assert "Tiết kiệm thời gian — 30 phút/ca" in onboarded.text
    onboarded.press("Sửa")
    onboarded.press("Lợi ích")
    onboarded.press("An toàn hơn")
    onboarded.send("Không còn kẹp tay")
    assert "🎯 Lợi ích: An toàn hơn — Không còn kẹp tay" in onboarded.text
    onboarded.send("sửa")
    onboarded.send("quay lai")
    assert "Xem lại sáng kiến" in onboarded.text
    onboarded.press("Gửi đi")
    [idea] = _stored(db)
    assert (idea.benefit_kind, idea.benefit_detail) == ("safety", "Không còn kẹp tay")


def test_back_goes_one_question_back_and_keeps_answers(onboarded: FakeUser, db: Engine) -> None:
    onboarded.press(1)
    onboarded.send("Khó khăn lúc trước")
    onboarded.send("Quay lại")
    assert "khó khăn hay lãng phí" in onboarded.text
    [draft] = _stored(db)
    assert draft.problem == "Khó khăn lúc trước"


def test_unreadable_content_gets_a_friendly_reply_and_loses_nothing(
    onboarded: FakeUser, db: Engine
) -> None:
    onboarded.press(1)
    onboarded.send("Khó khăn lúc trước")
    for kind, expected in (
        ("sticker", "chỉ đọc được chữ"),
        ("photo", "chưa xem được ảnh"),
        ("location", "chưa đọc được vị trí"),
        ("game", "chưa đọc được nội dung"),
    ):
        onboarded.unsupported(kind)
        assert expected in onboarded.text
        assert "đã thay đổi gì" in onboarded.text
    onboarded.voice(None, "unavailable")
    assert "chưa nghe được ghi âm" in onboarded.text
    onboarded.send("")
    assert "chưa gõ gì" in onboarded.text
    onboarded.send("👍👍")
    assert "Kể bằng vài chữ" in onboarded.text
    onboarded.send("x" * 5000)
    assert "Dài quá" in onboarded.text
    [draft] = _stored(db)
    assert draft.problem == "Khó khăn lúc trước" and draft.solution is None


def test_choices_understand_numbers_words_and_odd_unicode(onboarded: FakeUser) -> None:
    onboarded.press(1)
    onboarded.send("Khó khăn lúc trước")
    onboarded.send("Cách làm mới hơn")
    onboarded.send(unicodedata.normalize("NFD", "AN TOÀN HƠN 🦺"))
    assert "An toàn hơn thế nào" in onboarded.text
    onboarded.send("Không còn kẹp tay")
    onboarded.send("9")
    assert "chọn 1, 2, 3, 4, 5, 6 hoặc 7" in onboarded.text
    onboarded.send("so 2")
    assert "Đã làm theo cách mới chưa" in onboarded.text


def test_stale_buttons_are_refused_politely(onboarded: FakeUser) -> None:
    onboarded.press(1)
    onboarded.press_value("money")
    assert "Nút đó đã cũ" in onboarded.text


def test_help_explains_the_step_with_an_example(onboarded: FakeUser) -> None:
    onboarded.press(1)
    onboarded.send("trợ giúp")
    assert "Ví dụ" in onboarded.text
    assert "khó khăn hay lãng phí" in onboarded.text


def test_html_in_a_name_is_kept_as_text(worker: FakeUser, db: Engine) -> None:
    worker.send("/start HN-DM01")
    worker.send("<b>Lan</b> & Hoa")
    with Session(db) as session:
        person = session.exec(select(Person).where(Person.name.is_not(None))).one()  # type: ignore[union-attr]
    assert person.name == "<b>Lan</b> & Hoa"


def test_two_workers_do_not_see_each_others_drafts(
    service: ConversationService, db: Engine
) -> None:
    lan, nam = FakeUser(service, "lan"), FakeUser(service, "nam")
    for user, name in ((lan, "Lan"), (nam, "Nam")):
        user.send("/start HN-DM01")
        user.send(name)
    lan.press(1)
    lan.send("Việc riêng của Lan")
    nam.send("menu")
    assert "📝 Bản nháp (0)" in nam.labels()


def test_a_lone_surrogate_is_replaced_and_the_worker_answered(
    onboarded: FakeUser, db: Engine
) -> None:
    onboarded.send("1")
    onboarded.send("Máy cắt hay kẹt vải \ud800 mỗi ca")
    assert "đã thay đổi gì" in onboarded.text
    [draft] = _stored(db)
    assert draft.problem == "Máy cắt hay kẹt vải \ufffd mỗi ca"


SUBMISSION = [
    "/start HN-DM01",
    "Nguyễn Văn An",
    "1",
    "Máy cắt hay kẹt vải, mỗi ca dừng máy 30 phút",
    "Gắn thêm thanh dẫn vải trước lưỡi cắt",
    "1",
    "30 phút mỗi ca",
    "1",
    "1",
    "không",
    "1",
]


def test_every_turn_of_a_submission_is_one_message(worker: FakeUser) -> None:
    """The acknowledgement and the next question come in one bubble, so a worker never types
    between two parts of an answer (16 messages a submission before, 11 now)."""
    counts = [len(worker.send(line)) for line in SUBMISSION]
    assert counts == [1] * len(SUBMISSION)
    assert "Đã gửi sáng kiến" in worker.text and "muốn làm gì" in worker.text


def test_a_recording_or_a_picture_stays_a_message_of_its_own() -> None:
    from dialogs.events import Option, Reply, in_bubbles

    ok, question = Reply("✅ Đã lưu."), Reply("🎯 Lợi gì?", options=(Option("Tiền", "money"),))
    voice, photo = Reply("🔊 Khó khăn", voice="a.ogg"), Reply("🏆 Tuần 49", photo="w.png")
    assert in_bubbles([ok, question]) == (Reply("✅ Đã lưu.\n🎯 Lợi gì?", question.options),)
    assert in_bubbles([ok, voice, question]) == (ok, voice, question)
    assert in_bubbles([question, ok]) == (question, ok)  # nothing is folded into a question
    assert in_bubbles([photo, ok]) == (photo, ok)


def test_a_spoken_answer_longer_than_a_typed_one_may_be_is_kept_whole(onboarded: FakeUser) -> None:
    """Five minutes of speech say more than the 3,000 characters a typed answer may hold."""
    onboarded.send("1")
    heard = " ".join(f"Câu {n}: máy cắt hay kẹt vải, phải dừng chuyền gỡ ra." for n in range(120))
    assert len(heard) > 6000
    onboarded.voice(heard)
    assert "Đúng chưa?" in onboarded.text
    onboarded.send("đúng")
    assert "đã thay đổi gì" in onboarded.text
    onboarded.send("x" * 3001)  # typed: still refused, never cut
    assert "Dài quá" in onboarded.text


def test_doubtful_words_are_marked_in_the_read_back_and_not_kept(
    onboarded: FakeUser, db: Engine
) -> None:
    onboarded.send("1")
    onboarded.voice("Máy cắt hay kẹt vải, mỗi ca dừng máy", doubtful=("vải", "máy"))
    # The first «máy» was heard well: the doubt is the last one, found in order.
    assert "«Máy cắt hay kẹt (vải?), mỗi ca dừng (máy?)»" in onboarded.text
    assert msg.VOICE_DOUBT_HINT in onboarded.text
    onboarded.send("9")  # no such choice: the read-back again, still marked
    assert "(vải?)" in onboarded.text
    onboarded.send("đúng")
    assert "đã thay đổi gì" in onboarded.text
    with Session(db) as session:
        assert session.exec(select(Initiative)).one().problem == (
            "Máy cắt hay kẹt vải, mỗi ca dừng máy"
        )


def test_a_read_back_heard_with_confidence_has_no_marks(onboarded: FakeUser) -> None:
    onboarded.send("1")
    onboarded.voice("Máy cắt hay kẹt vải")
    assert "«Máy cắt hay kẹt vải»" in onboarded.text
    assert msg.VOICE_DOUBT_HINT not in onboarded.text
