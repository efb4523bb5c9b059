"""Access: who may do what, tried the way an intruder would — typing officers' commands,
forging the data behind buttons (a Telegram client can send any callback data), claiming a
group for someone else's unit. Every test runs on SQLite and PostgreSQL through the
conversation service.

Other access promises are proved where their feature lives (see docs/reliability.md): the
review desk's own checks (`tests/test_review.py`), invitations single-use and expiring
(`tests/test_review.py`), assisted entry within the officer's units (`tests/test_assist.py`),
webhook secrets (`tests/test_telegram.py`, `tests/test_zalo.py`), tokens and phone numbers in
logs (`tests/test_logs.py`, `tests/test_run.py`). Exports and invitations are made only with
the operator's command line (`sangkien export`, `sangkien officers invite`): no chat message
reaches them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from bot.channels.base import Turn
from bot.runtime import Services
from bot.services.groups import GroupService
from dialogs import messages as msg
from dialogs.events import ChoiceIn
from storage.models import GroupChat, Initiative, InitiativeStatus, Review, Unit
from tests.test_assist import _entered_for_lan
from tests.test_review import Union
from tests.utils.chat import FakeClock
from tests.utils.programme import entries, friday, group, outbox_rows, person, services_for

PHONE = re.compile(r"(?:\+?84|0)(?:[\s.-]?\d){8,10}")


@pytest.fixture
def union(db: Engine) -> Union:
    return Union(db)


def _reviews(db: Engine) -> int:
    with db.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Review)) or 0)


def _forged(idea: int) -> list[str]:
    """Every button value an officer's card or a confirmation carries, for `idea`."""
    return [
        f"{verb}:{idea}" for verb in ("valid", "return", "reject", "listen", "skip", "own:yes")
    ] + ["part:problem", "worker:1", "assist:new"]


def test_a_worker_typing_officers_commands_or_forging_their_buttons_changes_nothing(
    union: Union,
) -> None:
    union.worker("lan", "Nguyễn Thị Lan")
    idea = union.submit("lan")
    union.worker("an", "Nguyễn Văn An")
    assert "Nhập hộ cho ai" not in union.say("an", "nhập hộ")  # an officer's menu item
    union.say("an", "menu")
    union.say("an", "1")
    union.say("an", "Đèn bàn kiểm hàng quá tối")  # a draft of his own, half way
    assert msg.OFFICERS_ONLY in union.say("an", "/duyet")
    for value in _forged(idea):
        answer = union.say("an", ChoiceIn(value))
        assert "Máy hay kẹt vải" not in answer, f"{value} showed Lan's entry"
    assert union.initiative(idea).status == InitiativeStatus.SUBMITTED.value
    assert _reviews(union.db) == 0
    # He is still where he was: his next answer is the change he made.
    assert "được lợi gì" in union.say("an", "Lắp thêm đèn LED trên bàn")
    with union.db.connect() as connection:
        rows = connection.execute(select(col(Initiative.problem), col(Initiative.solution))).all()
    assert sorted(rows) == [
        ("Máy hay kẹt vải", "Gắn thanh dẫn vải"),
        ("Đèn bàn kiểm hàng quá tối", "Lắp thêm đèn LED trên bàn"),
    ]


def test_an_officer_of_another_branch_cannot_decide_by_forged_buttons(union: Union) -> None:
    union.worker("lan", "Nguyễn Thị Lan")  # HN-DM01, in Hà Nội
    idea = union.submit("lan")
    union.officer("tuan", "Phạm Văn Tuấn", "BN-YP")  # Bắc Ninh
    assert msg.QUEUE_EMPTY in union.say("tuan", "/duyet")
    for value in _forged(idea):
        answer = union.say("tuan", ChoiceIn(value))
        assert "Máy hay kẹt vải" not in answer, f"{value} showed another branch's entry"
    union.say("tuan", "Không rõ ràng")  # as the reason a rejection would ask for
    assert union.initiative(idea).status == InitiativeStatus.SUBMITTED.value
    assert _reviews(union.db) == 0


def test_only_the_author_confirms_an_entry_made_for_them(union: Union) -> None:
    """Hùng enters an idea for Lan; An, another worker, forges Lan's «yes» and «no»
    buttons and types her answers: the entry still waits for Lan, and hers still works."""
    idea = _entered_for_lan(union, "Lan")
    union.worker("an", "Nguyễn Văn An")
    for forged in (ChoiceIn(f"own:yes:{idea}"), ChoiceIn(f"own:no:{idea}"), "đúng", "không phải"):
        union.say("an", forged)
    assert union.initiative(idea).status == InitiativeStatus.AWAITING_AUTHOR.value
    union.say("lan", ChoiceIn(f"own:yes:{idea}"))
    assert union.initiative(idea).status == InitiativeStatus.SUBMITTED.value


def test_a_group_is_bound_only_by_an_officer_of_that_unit_or_above(union: Union) -> None:
    groups = GroupService(union.database, lambda: union.now)
    union.worker("lan", "Nguyễn Thị Lan")
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    union.officer("ha", "Lê Thu Hà", "HN")  # the Hà Nội federation: every unit below it

    def register(user: str, chat: str, code: str) -> str:
        [delivery] = groups.register(Turn("test", chat, user), code, now=union.now)
        return delivery.replies[0].text

    assert "Chỉ cán bộ" in register("lan", "-1", "HN-DM01")  # a worker
    assert "Chỉ cán bộ" in register("hung", "-2", "BN-YP")  # another branch
    assert "Chỉ cán bộ" in register("hung", "-3", "HN")  # above his own unit
    assert "mỗi thứ Sáu" in register("hung", "-4", "HN-DM01")
    assert "mỗi thứ Sáu" in register("ha", "-5", "HN-DM01")
    with union.db.connect() as connection:
        bound = set(connection.scalars(select(col(GroupChat.chat_id))))
    assert bound == {"-4", "-5"}


@pytest.fixture
def programme(db: Engine, tmp_path: Path) -> Iterator[Services]:
    services = services_for(db, FakeClock(friday(27) + dt.timedelta(minutes=1)), tmp_path)
    yield services
    services.close()


def test_no_name_or_phone_number_reaches_a_group(db: Engine, programme: Services) -> None:
    """Group posts speak of units, never of people: entries by a worker whose name and phone
    are on file, a ranking to groups at three levels, nothing personal in any post."""
    at = friday(27) - dt.timedelta(days=1)
    author = person(db, "Nguyễn Thị Lan", at=at, phone="0912345678")
    entries(db, "HN-DM01", 5, at=at, author=author, title="Lan 0912345678")
    for chat_id, code in (("-10", "HN-DM01"), ("-11", "HN"), ("-12", "VN")):
        group(db, "telegram", chat_id, code, at=friday(20))
    assert "3 groups" in programme.jobs.run("rankings")
    posts = [row for row in outbox_rows(db) if row.chat_id.startswith("-")]
    assert len(posts) == 3
    for row in posts:
        text = " ".join(reply["text"] for reply in row.payload["replies"])
        assert "Nguyễn Thị Lan" not in text and not PHONE.search(text), text


def test_a_bound_group_is_moved_only_by_an_officer_of_its_unit_and_they_are_told(
    union: Union,
) -> None:
    """An officer of another branch moved HN-DM01's group to BN-DT01 with /nhom, and
    HN-DM01's officer was not told."""
    groups = GroupService(union.database, lambda: union.now)
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    union.officer("an", "Nguyễn Văn An", "BN-DT01")
    union.officer("ha", "Lê Thu Hà", "HN")  # above HN-DM01

    def register(user: str, code: str) -> str:
        *_, delivery = groups.register(Turn("test", "-7", user), code, now=union.now)
        return delivery.replies[0].text

    def bound_to() -> str:
        with union.db.connect() as connection:
            unit_id = connection.scalar(select(col(GroupChat.unit_id)))
            return str(connection.scalar(select(col(Unit.code)).where(col(Unit.id) == unit_id)))

    assert "mỗi thứ Sáu" in register("hung", "HN-DM01")
    refused = register("an", "BN-DT01")
    assert refused == msg.GROUP_BOUND_ELSEWHERE.format(unit="CĐCS Công ty CP May Đức Giang")
    assert bound_to() == "HN-DM01" and union.notices("hung") == []
    assert "mỗi thứ Sáu" in register("ha", "HN-LB")  # an officer above its unit may move it
    assert bound_to() == "HN-LB"
    told = union.notices("hung")
    assert told == [msg.GROUP_MOVED.format(unit="LĐLĐ quận Long Biên", officer="Lê Thu Hà")]
