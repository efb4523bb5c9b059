"""Officers entering ideas for workers who cannot ("Nhập hộ"), on SQLite and PostgreSQL through
the conversation service: finding the worker within the officer's units or adding one, the
same questions (voice included), the author's yes or no in their own chat wherever they were
in it, and the officer's word for a worker without a chat."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.channels.base import Turn
from dialogs import messages as msg
from dialogs.events import ChoiceIn, VoiceIn
from dialogs.state import State, Step
from storage.models import Conversation, Initiative, InitiativeStatus, OutboxMessage
from tests.test_review import IDEA, Union

# The questions after "who": problem to co-authors, answered by the officer for the worker.
ANSWERS = IDEA[1:]


@pytest.fixture
def union(db: Engine) -> Union:
    return Union(db)


def _state(union: Union, chat: str) -> State:
    table = Conversation.__table__  # type: ignore[attr-defined]
    with union.db.connect() as connection:
        stored = connection.scalar(select(table.c.state).where(table.c.chat_id == chat))
    return State.model_validate(stored)


def _voice(union: Union, user: str, transcript: str) -> str:
    union.count += 1
    deliveries = union.service.handle(
        Turn("test", user, user), VoiceIn(transcript), f"v{union.count}", now=union.now
    )
    return "\n".join(r.text for d in deliveries for r in d.replies)


def _ids(union: Union) -> list[int]:
    table = Initiative.__table__  # type: ignore[attr-defined]
    with union.db.connect() as connection:
        return list(connection.scalars(select(table.c.id)))


def _outbox(union: Union, chat: str) -> list[dict[str, Any]]:
    outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
    with union.db.connect() as connection:
        payloads = connection.scalars(
            select(outbox.c.payload).where(outbox.c.chat_id == chat).order_by(outbox.c.id)
        ).all()
    return [reply for payload in payloads for reply in payload["replies"]]


def _enter_for(union: Union, officer: str, query: str, pick: str | None = "1") -> str:
    """From the officer's menu to the first question, for the worker `pick` of those found."""
    union.say(officer, "menu")
    found = union.say(officer, "nhập hộ")
    assert "Nhập hộ cho ai" in found, found
    listed = union.say(officer, query)
    if pick is None:
        return listed
    return union.say(officer, pick)


def _answer_all(union: Union, officer: str, *, first_by_voice: bool = False) -> str:
    reply = ""
    for number, line in enumerate(ANSWERS):
        if number == 0 and first_by_voice:
            assert "Tôi nghe được" in _voice(union, officer, line)
            reply = union.say(officer, "đúng rồi")
        else:
            reply = union.say(officer, line)
    assert "Xem lại" in reply, reply
    return reply


def test_an_entry_for_a_worker_with_a_chat_is_confirmed_there_wherever_they_were(
    union: Union,
) -> None:
    union.worker("lan", "Nguyễn Thị Lan")
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    # Lan is in the middle of her own idea, a voice answer read back and waiting for her yes.
    union.say("lan", "1")
    assert "Tôi nghe được" in _voice(union, "lan", "Kho xa chuyền may quá")

    first = _enter_for(union, "hung", "lan")
    assert "Nhập hộ Nguyễn Thị Lan" in first and "khó khăn" in first.lower()
    summary = _answer_all(union, "hung", first_by_voice=True)
    assert "Nhập hộ: Nguyễn Thị Lan" in summary
    sent = union.say("hung", "gửi")
    assert "Đã nhờ Lan xác nhận" in sent, sent
    idea = max(_ids(union))
    entry = union.initiative(idea)
    assert entry.status == InitiativeStatus.AWAITING_AUTHOR.value
    assert entry.author_id != entry.entered_by_id and entry.sources["problem"] == "voice"
    assert msg.QUEUE_EMPTY in union.say("hung", "/duyet")  # not in the queue before her yes

    # Lan is asked at once, in her chat, with the whole idea and two buttons.
    asked = _outbox(union, "lan")[-1]
    assert "Đúng là ý tưởng của anh/chị?" in asked["text"]
    assert "Trần Văn Hùng" in asked["text"] and "Máy hay kẹt vải" in asked["text"]
    assert [label for label, _ in asked["options"]] == [msg.CONFIRM_YES, msg.CONFIRM_NO]
    assert _state(union, "lan").step is Step.CONFIRM_OWN

    after = union.say("lan", "dạ")
    assert "đã vào hàng chờ duyệt" in after
    # …and she is back at her own read-back, which a yes still stores as her answer.
    assert "Kho xa chuyền may quá" in after and "Đúng chưa?" in after
    assert "đã thay đổi gì" in union.say("lan", "đúng")
    entry = union.initiative(idea)
    assert entry.status == InitiativeStatus.SUBMITTED.value
    assert entry.confirmed_by_id == entry.author_id
    assert "Lan xác nhận" not in "".join(union.notices("lan"))
    assert any("Nguyễn Thị Lan xác nhận" in n for n in union.notices("hung"))

    card = union.say("hung", "/duyet")
    assert "Cán bộ Trần Văn Hùng nhập hộ · tác giả đã xác nhận" in card, card
    assert "🎤 Nói: Khó khăn" in card
    union.say("hung", "hợp lệ")
    assert "được công nhận hợp lệ" in union.notices("lan")[-1]


def _entered_for_lan(union: Union, query: str) -> int:
    """Lan has a chat; Hùng, her union's officer, enters an idea for her and sends it."""
    union.worker("lan", "Nguyễn Thị Lan")
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    _enter_for(union, "hung", query)
    _answer_all(union, "hung")
    union.say("hung", "1")
    return max(_ids(union))


def test_a_denied_entry_is_withdrawn_and_the_officer_told(union: Union) -> None:
    idea = _entered_for_lan(union, "thi lan")
    denied = union.say("lan", "không phải")
    assert "Đã rút lại" in denied and "muốn làm gì" in denied  # back at her menu
    assert union.initiative(idea).status == InitiativeStatus.WITHDRAWN.value
    assert any("không phải ý tưởng của mình" in n for n in union.notices("hung"))
    assert "🚫 Đã rút lại" in union.say("lan", "3")  # "Sáng kiến của tôi"
    assert msg.QUEUE_EMPTY in union.say("hung", "/duyet")
    # The old buttons, pressed again: answered once only.
    again = union.say("lan", ChoiceIn(f"own:yes:{idea}"))
    assert msg.STALE_BUTTON in again
    assert union.initiative(idea).status == InitiativeStatus.WITHDRAWN.value


def test_a_double_tap_on_the_yes_button_confirms_once(union: Union) -> None:
    idea = _entered_for_lan(union, "Lan")
    union.say("lan", ChoiceIn(f"own:yes:{idea}"))
    union.say("lan", ChoiceIn(f"own:yes:{idea}"))
    assert union.initiative(idea).status == InitiativeStatus.SUBMITTED.value
    told = [n for n in union.notices("hung") if "xác nhận sáng kiến" in n]
    assert len(told) == 1


def test_a_worker_without_a_chat_is_added_and_the_officer_vouches_for_them(
    union: Union, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    listed = _enter_for(union, "hung", "Phạm Văn Tư", pick=None)
    assert "Không thấy ai" in listed
    phone_question = union.say("hung", "thêm người mới")  # the name searched is the name
    assert "Số điện thoại của Tư" in phone_question, phone_question
    assert "số chưa đúng" in union.say("hung", "12345").lower()
    first = union.say("hung", "0987 654 321")
    assert "Đã thêm Phạm Văn Tư" in first and "khó khăn" in first.lower()
    _answer_all(union, "hung")
    assert "đồng ý chưa" in union.say("hung", "gửi đi")
    assert "Đã lưu nháp" in union.say("hung", "chưa")
    idea = max(_ids(union))
    assert union.initiative(idea).status == InitiativeStatus.DRAFT.value

    # Later, after reading it back to him: from the drafts, send, "he agreed".
    drafts = union.say("hung", "2")
    assert "Chọn bản nháp" in drafts
    assert "Nhập hộ: Phạm Văn Tư" in union.say("hung", "1")
    union.say("hung", "gửi")
    assert "Đã gửi sáng kiến" in union.say("hung", "dạ rồi")
    entry = union.initiative(idea)
    assert entry.status == InitiativeStatus.SUBMITTED.value
    assert entry.confirmed_by_id == entry.entered_by_id
    card = union.say("hung", "/duyet")
    assert "cán bộ xác nhận tác giả đồng ý" in card and "Phạm Văn Tư" in card

    # Found again by phone, shown by its last three digits only; the number is in no message
    # and no log line.
    union.say("hung", "menu")
    union.say("hung", "nhập hộ")
    union.say("hung", "+84 987 654 321")
    labels = [label for label, _ in _outbox(union, "hung")[-1]["options"]]
    assert labels[0] == "Phạm Văn Tư · CĐCS Công ty CP May Đức Giang · …321", labels
    assert not [reply for reply in _outbox(union, "hung") if "987654321" in str(reply)]
    assert "987654321" not in caplog.text and "987 654 321" not in caplog.text


def test_nobody_is_found_or_entered_for_outside_the_officers_units(union: Union) -> None:
    union.worker("lan", "Nguyễn Thị Lan")
    union.worker("binh", "Lê Thị Bình", unit="BN-DT01")
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    listed = _enter_for(union, "hung", "Bình", pick=None)
    assert "Không thấy ai" in listed and "Lê Thị Bình" not in str(_outbox(union, "hung")[-1])
    # A district officer finds the workers of every union under the district, and is asked
    # which union a new worker belongs to; one outside the district is refused.
    union.officer("mai", "Lê Thị Mai", "HN-LB")
    _enter_for(union, "mai", "lan", pick=None)
    assert "Nguyễn Thị Lan" in str(_outbox(union, "mai")[-1]["options"])
    union.say("mai", "thêm người mới")
    union.say("mai", "Đỗ Văn Hải")
    refused = union.say("mai", "BN-DT01")
    assert "không phải công đoàn cơ sở anh/chị phụ trách" in refused
    assert "Số điện thoại" in union.say("mai", "hn dm01")


def test_a_worker_cannot_reach_assisted_entry(union: Union) -> None:
    union.worker("lan", "Nguyễn Thị Lan")
    menu = union.say("lan", "menu")
    assert msg.MENU_ASSIST not in menu
    assert "chọn" in union.say("lan", "nhập hộ").lower()  # not one of her choices
    assert _state(union, "lan").step is Step.MENU


def test_a_returned_entry_goes_back_to_the_officer_who_entered_it(union: Union) -> None:
    idea = _entered_for_lan(union, "Lan")
    union.say("lan", "đúng")
    union.say("hung", "/duyet")
    union.say("hung", "trả lại")
    union.say("hung", "2")  # 💡 Cách làm
    union.say("hung", "Ghi rõ thanh dẫn làm bằng gì")
    assert "Cán bộ đã nhập hộ sẽ cùng anh/chị sửa" in union.notices("lan")[-1]
    assert "Bản nháp" in union.notices("hung")[-1]
    assert msg.NO_DRAFTS in union.say("lan", "2")  # not hers to edit
    assert "Chọn bản nháp" in union.say("hung", "2")
    assert "đã thay đổi gì" in union.say("hung", "1")
    union.say("hung", "Gắn thanh dẫn vải bằng inox")
    resent = union.say("hung", "gửi")
    assert "Đã gửi sáng kiến" in resent  # she said it is hers already: not asked again
    entry = union.initiative(idea)
    assert entry.status == InitiativeStatus.SUBMITTED.value
