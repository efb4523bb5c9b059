"""Officers in the chat: invitations, review queues one card at a time, decisions and what
the author is told, returns that come back as drafts, races and authority. Every test runs
on SQLite and PostgreSQL through the conversation service (the turn's real transaction)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from bot.channels.base import Turn
from bot.services.conversation import ConversationService
from bot.services.database import Database
from bot.services.review import ReviewDesk, ReviewService
from bot.services.units import UnitFileError, UnitService
from bot.services.voice import Recording
from dialogs import messages as msg
from dialogs.events import ChoiceIn, Reply, VoiceIn, parse_text
from dialogs.state import Decided, Step
from storage import units as tree
from storage.models import (
    Initiative,
    InitiativeStatus,
    Invite,
    OutboxKind,
    OutboxMessage,
    Review,
    Unit,
    UnitLevel,
)
from tests.utils.chat import read

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
IDEA = ["1", "Máy hay kẹt vải", "Gắn thanh dẫn vải", "1", "30 phút mỗi ca", "1", "2", "không"]


class Union:
    """One database, a conversation service, and people chatting with it."""

    def __init__(self, db: Engine, levels: tuple[UnitLevel, ...] = (UnitLevel.GRASSROOTS,)):
        self.db = db
        self.database = Database(db)
        self.service = ConversationService(self.database, review_levels=levels)
        self.review = ReviewService(self.database, levels, clock=lambda: self.now)
        self.levels = levels
        self.now = NOW
        self.count = 0
        self.last: list[Reply] = []

    def say(self, user: str, text: str | ChoiceIn, channel: str = "test") -> str:
        """What `user` is told after saying `text`; the replies themselves are in `last`."""
        self.count += 1
        self.now += dt.timedelta(seconds=5)
        event = parse_text(text) if isinstance(text, str) else text
        deliveries = self.service.handle(
            Turn(channel, user, user), event, f"u{self.count}", now=self.now
        )
        self.last = read(self.database, deliveries)
        return "\n".join(r.text for r in self.last)

    def labels(self) -> list[str]:
        """The choices offered by the last answer."""
        return [option.label for reply in self.last for option in reply.options]

    def worker(self, user: str, name: str, unit: str = "HN-DM01") -> None:
        for line in ("xin chào", unit, name):
            self.say(user, line)

    def submit(self, user: str, problem: str = "Máy hay kẹt vải") -> int:
        for line in ["1", problem, *IDEA[2:]]:
            reply = self.say(user, line)
        if "rất giống" in reply:  # told of a very similar idea: this one is different
            self.say(user, "ý của tôi khác")
        reply = self.say(user, "1")
        assert "Đã gửi sáng kiến" in reply, reply
        with self.db.connect() as connection:
            return int(connection.scalar(select(func.max(Initiative.id))) or 0)

    def officer(self, user: str, name: str, unit: str, channel: str = "test") -> None:
        code = self.review.invite(unit, expires=dt.timedelta(days=7)).code
        reply = self.say(user, f"/canbo {code}", channel)
        assert "cán bộ công đoàn của" in reply, reply
        self.say(user, name, channel)

    def initiative(self, initiative_id: int) -> Initiative:
        with Session(self.db) as session:
            found = session.get(Initiative, initiative_id)
            assert found is not None
            return found

    def notices(self, chat: str) -> list[str]:
        outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
        with self.db.connect() as connection:
            payloads = connection.scalars(
                select(outbox.c.payload)
                .where(outbox.c.kind == OutboxKind.NOTICE.value, outbox.c.chat_id == chat)
                .order_by(outbox.c.id)
            ).all()
        return [payload["replies"][0]["text"] for payload in payloads]

    def reviews(self, initiative_id: int) -> list[tuple[str, str, str | None]]:
        review = Review.__table__  # type: ignore[attr-defined]
        with self.db.connect() as connection:
            rows = connection.execute(
                select(review.c.level, review.c.decision, review.c.reason)
                .where(review.c.initiative_id == initiative_id)
                .order_by(review.c.id)
            ).all()
        return [(r.level, r.decision, r.reason) for r in rows]


@pytest.fixture
def union(db: Engine) -> Union:
    return Union(db)


def test_a_worker_cannot_reach_the_review(union: Union) -> None:
    union.worker("lan", "Nguyễn Thị Lan")
    union.submit("lan")
    assert msg.OFFICERS_ONLY in union.say("lan", "/duyet")
    assert "Duyệt" not in union.say("lan", "menu")
    assert msg.STALE_BUTTON in union.say("lan", ChoiceIn("valid:1"))


def test_valid_at_the_only_level_is_final_and_the_author_is_told(union: Union) -> None:
    union.worker("lan", "Nguyễn Thị Lan")
    idea = union.submit("lan")
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    card = union.say("hung", "/duyet")
    assert "Máy hay kẹt vải" in card and "Nguyễn Thị Lan" in card and "May Đức Giang" in card
    after = union.say("hung", "hợp lệ")
    assert msg.DECIDED_VALID in after and msg.QUEUE_EMPTY in after
    assert union.initiative(idea).status == InitiativeStatus.VALID.value
    assert union.reviews(idea) == [("grassroots", "valid", None)]
    assert "được công nhận hợp lệ" in union.notices("lan")[-1]
    assert "🏅 Được công nhận" in union.say("lan", "3")  # "Sáng kiến của tôi" in words


def test_two_levels_each_outcome_told_and_only_the_right_officers_see_it(db: Engine) -> None:
    union = Union(db, (UnitLevel.GRASSROOTS, UnitLevel.DISTRICT))
    union.worker("lan", "Nguyễn Thị Lan")
    idea = union.submit("lan")
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    union.officer("mai", "Lê Thị Mai", "HN-LB")  # the district above HN-DM01
    union.officer("tuan", "Phạm Văn Tuấn", "BN-YP")  # another province's district
    assert msg.QUEUE_EMPTY in union.say("tuan", "/duyet")

    assert "cấp cơ sở" in union.say("hung", "/duyet")
    union.say("hung", "1")
    row = union.initiative(idea)
    assert (row.status, row.review_level) == ("under_review", "district")
    assert "đã chuyển lên cấp trên cơ sở" in union.notices("lan")[-1]
    assert msg.QUEUE_EMPTY in union.say("hung", "/duyet")  # no longer at his level

    card = union.say("mai", "/duyet")
    assert "cấp trên cơ sở" in card and "cấp cơ sở: hợp lệ (Trần Văn Hùng)" in card
    union.say("mai", "3")  # không hợp lệ
    union.say("mai", "Trùng với sáng kiến năm ngoái của phân xưởng 2")
    assert union.initiative(idea).status == InitiativeStatus.REJECTED.value
    assert "chưa được công nhận" in union.notices("lan")[-1]
    assert "Trùng với sáng kiến" in union.notices("lan")[-1]
    assert union.reviews(idea) == [
        ("grassroots", "valid", None),
        ("district", "rejected", "Trùng với sáng kiến năm ngoái của phân xưởng 2"),
    ]


def test_a_returned_entry_comes_back_as_a_draft_at_its_part_and_is_resubmitted(
    union: Union,
) -> None:
    union.worker("lan", "Nguyễn Thị Lan")
    idea = union.submit("lan")
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    union.say("hung", "/duyet")
    assert msg.PROMPTS[Step.REVIEW_PART] in union.say("hung", "2")  # trả lại
    assert msg.PROMPTS[Step.REVIEW_REASON] in union.say("hung", "cách làm")
    assert msg.REASON_NEEDED in union.say("hung", "dạ")  # not a reason
    union.say("hung", "Ghi rõ thanh dẫn bằng gì, gắn ở đâu")
    told = union.notices("lan")[-1]
    assert "cần sửa phần cách làm" in told and "gắn ở đâu" in told
    assert union.initiative(idea).status == InitiativeStatus.RETURNED.value

    union.say("lan", "menu")
    assert msg.PROMPTS[Step.PICK_DRAFT] in union.say("lan", "2")  # Bản nháp lists it
    assert msg.PROMPTS[Step.SOLUTION].splitlines()[0] in union.say("lan", "1")
    summary = union.say("lan", "Gắn thanh dẫn bằng inox ngay trước lưỡi cắt")
    assert "Xem lại" in summary and "inox" in summary
    assert union.initiative(idea).status == InitiativeStatus.RETURNED.value  # until sent
    assert "Đã gửi sáng kiến" in union.say("lan", "gửi")
    row = union.initiative(idea)
    assert (row.status, row.review_level, row.return_step) == ("submitted", "grassroots", None)

    card = union.say("hung", "/duyet")
    assert "inox" in card and "trả lại" in card  # the same queue, with its history
    union.say("hung", "1")
    assert union.initiative(idea).status == InitiativeStatus.VALID.value


def test_two_officers_on_one_entry_decide_it_once(union: Union) -> None:
    union.worker("lan", "Nguyễn Thị Lan")
    idea = union.submit("lan")
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    union.officer("mai", "Lê Thị Mai", "HN-LB")
    assert "Máy hay kẹt vải" in union.say("hung", "/duyet")
    assert "Máy hay kẹt vải" in union.say("mai", "/duyet")
    assert msg.DECIDED_VALID in union.say("hung", ChoiceIn(f"valid:{idea}"))
    second = union.say("mai", ChoiceIn(f"reject:{idea}"))
    second += union.say("mai", "Không rõ ràng")
    assert msg.DECIDED_TAKEN in second
    assert union.reviews(idea) == [("grassroots", "valid", None)]
    # A double tap on the first officer's button is an old button, never the next card.
    union.worker("an", "Nguyễn Văn An")
    other = union.submit("an", "Đèn bàn kiểm hàng quá tối")
    assert "Đèn bàn" in union.say("hung", "/duyet")
    assert msg.STALE_BUTTON in union.say("hung", ChoiceIn(f"valid:{idea}"))
    assert union.initiative(other).status == InitiativeStatus.SUBMITTED.value


def test_an_officer_cannot_decide_another_unions_entry(union: Union) -> None:
    union.worker("lan", "Nguyễn Thị Lan")
    idea = union.submit("lan")
    union.officer("tuan", "Phạm Văn Tuấn", "BN-YP")
    assert msg.QUEUE_EMPTY in union.say("tuan", "/duyet")
    invite = Invite.__table__  # type: ignore[attr-defined]
    with union.database.write() as connection:  # the desk checks rights, whatever is asked
        tuan = connection.scalar(select(invite.c.used_by_id).where(invite.c.used_by_id > 0))
        assert tuan is not None
        desk = ReviewDesk(connection, tuan, union.levels, NOW)
        assert desk.card(idea) is None
        assert desk.decide(idea, "grassroots", "valid", None, None) is Decided.FORBIDDEN
    assert union.initiative(idea).status == InitiativeStatus.SUBMITTED.value


def test_invitations_are_single_use_expire_and_are_stored_hashed(union: Union) -> None:
    invitation = union.review.invite("HN-DM01", expires=dt.timedelta(hours=1))
    union.say("hung", "xin chào")
    assert msg.INVITE_BAD in union.say("hung", "/canbo ZZZZ-ZZZZ")
    assert "cán bộ công đoàn của" in union.say("hung", f"/canbo {invitation.code.lower()}")
    assert msg.INVITE_BAD in union.say("an", f"/canbo {invitation.code}")  # used already
    late = union.review.invite("HN-DM01", expires=dt.timedelta(minutes=1))
    union.now += dt.timedelta(minutes=2)
    assert msg.INVITE_BAD in union.say("binh", f"/start canbo-{late.code.replace('-', '')}")
    invite = Invite.__table__  # type: ignore[attr-defined]
    with union.db.connect() as connection:
        hashes = list(connection.scalars(select(invite.c.code_hash)))
    assert hashes and all(invitation.code not in h and len(h) == 64 for h in hashes)


def test_officers_are_told_of_new_entries_in_one_message_at_most_every_period(
    union: Union,
) -> None:
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    for n, user in enumerate(("lan", "an", "binh")):
        union.worker(user, f"Nguyễn Văn {'ABC'[n]}")
        union.submit(user, f"Máy số {n + 1} hay kẹt vải")
    every = dt.timedelta(minutes=30)
    assert union.review.notify_officers(every=every, now=union.now) == 1
    assert union.notices("hung") == ["📥 3 sáng kiến mới chờ duyệt. Gõ /duyet để xem."]
    union.submit("lan", "Đèn bàn kiểm hàng quá tối")
    assert union.review.notify_officers(every=every, now=union.now) == 0  # too soon
    assert union.review.notify_officers(every=every, now=union.now + every) == 1
    assert union.notices("hung")[-1].startswith("📥 1 sáng kiến mới")


# --- the unit tree ---------------------------------------------------------------------------


def _units(db: Engine) -> dict[str, tuple[str, str, int | None]]:
    unit = Unit.__table__  # type: ignore[attr-defined]
    with db.connect() as connection:
        rows = connection.execute(select(unit)).all()
    return {u.code: (u.name, u.level, u.parent_id) for u in rows}


def test_a_bad_unit_file_changes_nothing_and_names_every_row(db: Engine, tmp_path: Path) -> None:
    before = _units(db)
    bad = tmp_path / "units.csv"
    bad.write_text(
        "code,name,level,parent_code,quota\n"
        "HN-NEW1,CĐCS Mới 1,grassroots,HN-LB,10\n"
        "HN-NEW2,CĐCS Mới 2,grassroots,HN-XX,5\n"  # unknown parent
        "HN-NEW1,Trùng,grassroots,HN-LB,1\n"  # duplicate
        "HN-NEW3,Sai cấp,phuong,HN-LB,1\n"  # bad level
        "HN-NEW4,Chỉ tiêu âm,grassroots,HN-LB,-4\n"
        "HN-NEW5,Chỉ tiêu chữ,grassroots,HN-LB,mười\n"
        "HN-NEW6,Con của cơ sở,grassroots,HN-DM01,1\n"
        "HN-C1,Vòng 1,district,HN-C2,\n"
        "HN-C2,Vòng 2,district,HN-C1,\n",
        encoding="utf-8",
    )
    with pytest.raises(UnitFileError) as raised:
        UnitService(Database(db)).import_file(bad, period="2026", now=NOW)
    rows = {row for row, _ in raised.value.problems}
    assert {3, 4, 5, 6, 7, 8, 9, 10} <= rows
    text = " ".join(problem for _, problem in raised.value.problems)
    assert "HN-XX" in text and "dòng 2" in text and "không có đơn vị con" in text
    assert "về chính nó" in text
    assert _units(db) == before


def test_a_unit_file_in_xlsx_creates_updates_and_is_idempotent(db: Engine, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "name", "level", "parent_code", "quota"])
    sheet.append(["HN-NEW1", "CĐCS Công ty Mới", "grassroots", "HN-LB", 12.0])
    sheet.append(["HN-DM01", "CĐCS May Đức Giang (đổi tên)", "grassroots", "HN-KCN", 45])
    path = tmp_path / "units.xlsx"
    book.save(path)
    service = UnitService(Database(db))
    first = service.import_file(path, period="2026", now=NOW)
    assert (first.created, first.updated, first.quotas) == (1, 1, 2)
    again = service.import_file(path, period="2026", now=NOW)
    assert (again.created, again.updated, again.unchanged, again.quotas) == (0, 0, 2, 0)
    units = _units(db)
    assert units["HN-DM01"][0] == "CĐCS May Đức Giang (đổi tên)"
    with Database(db).read() as connection:
        stored = tree.unit_rows(connection)
        assert stored["HN-DM01"].parent_id == stored["HN-KCN"].id
        assert tree.quotas_of(connection, "2026")[stored["HN-NEW1"].id] == 12


def test_the_xlsx_report_reads_back_with_rows_history_dates_and_quota_share(
    union: Union, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from bot.services.export import write_xlsx
    from storage import initiatives
    from storage.initiatives import EXPORT_COLUMNS

    union.worker("lan", '=HYPERLINK("http://x","Bấm") Lan')  # refused as a name
    union.say("lan", "Nguyễn Thị Lan")
    idea = union.submit("lan", "=1+2 máy hay kẹt vải")
    union.worker("an", "Nguyễn Văn An", "BN-DT01")
    union.submit("an", "Đèn bàn kiểm hàng quá tối")
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    union.say("hung", "/duyet")
    union.say("hung", "1")
    path = tmp_path / "report.xlsx"
    service = UnitService(union.database)
    summaries = service.summaries("2026", NOW.date())
    with union.database.read() as connection:
        unit = tree.unit_rows(connection)["HN-LB"]
    with Session(union.db) as session:
        where = initiatives.export_filter(unit=(UnitLevel.DISTRICT, unit.id))
        rows = initiatives.export_rows(session=session, where=where)
        assert write_xlsx(path, rows, summaries) == 1

    book = load_workbook(path)
    sheet = book["Sáng kiến"]
    assert [c.value for c in sheet[1]] == [msg.XLSX_HEADERS[name] for name in EXPORT_COLUMNS]
    assert sheet.freeze_panes == "B2"
    record = dict(zip(EXPORT_COLUMNS, [c.value for c in sheet[2]], strict=True))
    assert record["id"] == idea and record["status"] == "Hợp lệ"
    assert record["problem"] == "=1+2 máy hay kẹt vải"  # a text cell: never a formula
    assert isinstance(record["submitted_at"], dt.datetime)
    assert "Cơ sở: hợp lệ (Trần Văn Hùng)" in str(record["review_history"])
    grassroots = {row[0]: row for row in book["Cấp cơ sở"].iter_rows(min_row=2, values_only=True)}
    assert grassroots["HN-DM01"][2:] == (1, 1, 40, 0.025)  # 1 of 40: 2.5 %
    assert grassroots["BN-DT01"][2:4] == (1, 0)


def test_skipping_shows_the_next_card_and_a_new_round_offers_the_skipped_again(
    union: Union,
) -> None:
    union.worker("lan", "Nguyễn Thị Lan")
    first = union.submit("lan", "Máy hay kẹt vải")
    union.submit("lan", "Đèn bàn kiểm hàng quá tối")
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    assert "Máy hay kẹt vải" in union.say("hung", "/duyet")  # oldest first
    assert "Đèn bàn" in union.say("hung", "bỏ qua")
    assert msg.QUEUE_EMPTY in union.say("hung", "4")
    assert "Máy hay kẹt vải" in union.say("hung", "/duyet")
    assert union.initiative(first).status == InitiativeStatus.SUBMITTED.value


def test_the_officers_menu_offers_review_and_a_returned_draft_is_marked(union: Union) -> None:
    union.worker("lan", "Nguyễn Thị Lan")
    union.submit("lan")
    union.officer("hung", "Trần Văn Hùng", "HN-DM01")
    turn = Turn("test", "hung", "hung")
    menu = union.service.handle(turn, parse_text("menu"), "m1", now=union.now)
    labels = [o.label for d in menu for r in d.replies for o in r.options]
    assert msg.MENU_REVIEW in labels
    union.say("hung", "/duyet")
    union.say("hung", "2")
    union.say("hung", "cả bài")
    union.say("hung", "Thiếu số liệu, ghi rõ mỗi ca mất bao lâu")
    union.say("lan", "menu")
    drafts = union.service.handle(Turn("test", "lan", "lan"), parse_text("2"), "m2", now=union.now)
    labels = [o.label for d in drafts for r in d.replies for o in r.options]
    assert any(label.startswith("↩️") for label in labels)
    reopened = union.say("lan", "1")  # the whole entry: back to the summary to send again
    assert "Xem lại sáng kiến" in reopened


def _submit_spoken_problem(union: Union, said: VoiceIn, heard: Recording) -> None:
    """Lan tells the problem by voice, confirms it, types the rest and sends the idea."""
    union.worker("lan", "Nguyễn Thị Lan")
    union.say("lan", "1")
    union.service.handle(Turn("test", "lan", "lan"), said, "v1", now=union.now, recording=heard)
    for line in ["đúng", *IDEA[2:]]:
        union.say("lan", line)
    assert "Đã gửi sáng kiến" in union.say("lan", "1")


def test_a_spoken_answer_is_played_back_where_the_officers_channel_can_play_it(
    union: Union, tmp_path: Path
) -> None:
    note = tmp_path / "lan-problem.ogg"
    note.write_bytes(b"OggS recording of Lan")
    heard = Recording(str(note), 4.4, "viet-asr", "may hay ket vai", "Máy hay kẹt vải")
    _submit_spoken_problem(union, VoiceIn("Máy hay kẹt vải"), heard)

    # On Zalo, which sends no audio, the card only says which part was spoken.
    union.officer("ha", "Phạm Thu Hà", "HN-DM01", channel="zalo")
    assert "🎤 Nói: Khó khăn" in union.say("ha", "/duyet", "zalo")
    assert msg.REVIEW_LISTEN not in union.labels()

    union.officer("hung", "Trần Văn Hùng", "HN-DM01", channel="terminal")
    union.say("hung", "/duyet", "terminal")
    assert msg.REVIEW_LISTEN in union.labels()
    union.say("hung", "nghe", "terminal")
    played, again = union.last
    assert (played.text, played.voice) == ("🔊 Khó khăn · 4 giây", str(note))
    assert again.text.startswith("🗂️ Sáng kiến số") and "Máy hay kẹt vải" not in again.text
    assert msg.REVIEW_VALID in union.labels()  # still deciding the same card

    # Returned, and the problem typed again: the old recording is no longer its answer.
    union.say("hung", "trả lại", "terminal")
    union.say("hung", "khó khăn", "terminal")
    union.say("hung", "Ghi rõ kẹt ở khâu nào", "terminal")
    union.say("lan", "menu")
    union.say("lan", "2")
    union.say("lan", "1")
    union.say("lan", "Máy cắt kẹt vải ở khâu cắt")
    assert "Đã gửi sáng kiến" in union.say("lan", "gửi")
    card = union.say("hung", "/duyet", "terminal")
    assert "khâu cắt" in card and "🎤 Nói" not in card
    assert msg.REVIEW_LISTEN not in union.labels()


def test_the_card_says_which_answers_were_heard_with_doubt(union: Union, tmp_path: Path) -> None:
    words = [
        {"word": "máy", "confidence": 0.97, "start": 0.1, "end": 0.4, "doubtful": False},
        {"word": "kẹt", "confidence": 0.41, "start": 0.5, "end": 0.8, "doubtful": True},
    ]
    heard = Recording("", 1.2, "vosk", "máy kẹt", "Máy kẹt", words)
    _submit_spoken_problem(union, VoiceIn("Máy kẹt", doubtful=("kẹt",)), heard)
    union.officer("ha", "Phạm Thu Hà", "HN-DM01", channel="zalo")
    card = union.say("ha", "/duyet", "zalo")
    assert "🎤 Nói: Khó khăn" in card
    assert msg.CARD_DOUBT.format(parts="Khó khăn") in card
