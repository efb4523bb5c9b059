"""Review through the real channel code against the fake Bot API servers: an officer joins by
an invitation link, decides with buttons on Telegram and numbers on Zalo, and the author
reads the outcome in their own chat."""

from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import closing

from sqlalchemy import Engine

from bot.services.database import Database
from bot.services.dispatch import Dispatcher
from bot.services.review import ReviewService
from dialogs import messages as msg
from storage.models import Initiative, UnitLevel
from tests.fakes.telegram import TelegramUser
from tests.fakes.zalo import ZaloUser
from tests.utils.audio import encode, recording, samples
from tests.utils.bots import on_telegram, on_zalo
from tests.utils.chat import dispatcher_for

# What the worker types and what the bot answers; numbers are buttons pressed on Telegram.
IDEA = [
    ("/start HN-DM01", "tên là gì"),
    ("Nguyễn Thị Lan", "muốn làm gì"),
    ("1", "khó khăn"),
    ("Máy cắt hay kẹt vải, mỗi ca dừng 30 phút", "đã thay đổi gì"),
    ("Gắn thanh dẫn vải", "được lợi gì nhất"),
    ("1", "bao nhiêu thời gian"),
    ("30 phút mỗi ca", "thuộc mảng nào"),
    ("1", "cách mới chưa"),
    ("2", "cùng làm"),
    ("không", "Xem lại"),
    ("1", "Cảm ơn"),
]


def _invite(engine: Engine, unit: str = "HN-DM01") -> str:
    service = ReviewService(Database(engine), ())
    return service.invite(unit, expires=dt.timedelta(days=1)).code


def _status(engine: Engine) -> str:
    with engine.connect() as connection:
        table = Initiative.__table__  # type: ignore[attr-defined]
        return str(connection.execute(table.select()).one().status)


async def _join(officer: TelegramUser | ZaloUser, db: Engine, unit: str, name: str) -> None:
    """An officer redeems an invitation (the link on Telegram, /canbo on Zalo) and says who."""
    code = _invite(db, unit)
    if isinstance(officer, TelegramUser):
        officer.send(f"/start canbo-{code.replace('-', '')}")
    else:
        officer.send(f"/canbo {code}")
    await officer.wait_for("cán bộ công đoàn của")
    officer.send(name)
    await officer.wait_for("muốn làm gì")


async def _answer(user: ZaloUser, line: str, fragment: str, seconds: float = 30) -> str:
    """Send `line` and wait for a new message containing `fragment` (one said before, in an
    earlier question, does not count); return everything the bot said."""
    seen = user.said().count(fragment)
    user.send(line)
    deadline = asyncio.get_running_loop().time() + seconds
    while user.said().count(fragment) <= seen:
        assert asyncio.get_running_loop().time() < deadline, f"never said {fragment!r} again"
        await asyncio.sleep(0.02)
    return user.said()


async def test_an_officer_on_telegram_reviews_with_buttons(db: Engine) -> None:
    with closing(dispatcher_for(db)) as dispatcher:
        async with on_telegram(dispatcher) as (fake, channel):
            worker, officer = TelegramUser(fake, 4242), TelegramUser(fake, 5151, name="Hùng")
            for line, expect in IDEA:
                worker.press(int(line)) if line.isdigit() else worker.send(line)
                await worker.wait_for(expect)
            await _join(officer, db, "HN-DM01", "Trần Văn Hùng")
            officer.press(4)  # 🗂️ Duyệt sáng kiến, offered to officers only
            await officer.wait_for("Sáng kiến này thế nào?")
            officer.press(1)  # ✅ Hợp lệ
            await officer.wait_for(msg.DECIDED_VALID)
            await dispatcher.flush(channel)  # the notice to the author, due at once
            await worker.wait_for("được công nhận hợp lệ")
            assert _status(db) == "valid"


async def test_an_officer_on_zalo_returns_an_entry_with_numbers(db: Engine) -> None:
    with closing(dispatcher_for(db)) as dispatcher:
        async with on_zalo(dispatcher) as (fake, channel):
            worker, officer = ZaloUser(fake, "lan-zalo"), ZaloUser(fake, "hung-zalo")
            for line, expect in IDEA:
                worker.send(line)
                await worker.wait_for(expect)
            await _join(officer, db, "HN-DM01", "Trần Văn Hùng")
            officer.send("/duyet")
            await officer.wait_for("Sáng kiến này thế nào?")
            officer.send("2")  # ↩️ Trả lại
            await officer.wait_for("sửa phần nào")
            officer.send("2")  # 💡 Cách làm
            await officer.wait_for("Lý do là gì")
            officer.send("Ghi rõ thanh dẫn làm bằng gì")
            await officer.wait_for(msg.DECIDED_RETURNED)
            await dispatcher.flush(channel)
            said = await worker.wait_for("cần sửa phần cách làm")
            assert "làm bằng gì" in said
            assert _status(db) == "returned"

            # Lan mends it from her drafts, at the part the reason concerns, and sends it again.
            await _answer(worker, "2", "Chọn bản nháp")
            await _answer(worker, "1", "đã thay đổi gì")
            assert "inox" in await _answer(worker, "Thanh dẫn bằng inox trước lưỡi cắt", "Xem lại")
            await _answer(worker, "1", "Cảm ơn")
            assert _status(db) == "submitted"
            officer.send("/duyet")
            card = await officer.wait_for("inox")
            assert "cấp cơ sở: trả lại" in card  # the same queue, with its history


# An officer enters Lan's idea for her: who, then the questions after "who", then "Gửi đi".
ENTERED = [
    ("thi lan", "Chọn người"),
    ("1", "Nhập hộ Nguyễn Thị Lan"),
    *IDEA[3:10],
    ("1", "Đã nhờ Lan xác nhận"),
]


async def test_an_idea_entered_on_telegram_is_confirmed_by_its_author_with_a_button(
    db: Engine,
) -> None:
    with closing(dispatcher_for(db)) as dispatcher:
        async with on_telegram(dispatcher) as (fake, channel):
            worker, officer = TelegramUser(fake, 4242), TelegramUser(fake, 5151, name="Hùng")
            for line, expect in IDEA[:2]:
                worker.send(line)
                await worker.wait_for(expect)
            await _join(officer, db, "HN-DM01", "Trần Văn Hùng")
            officer.press(5)  # ✍️ Nhập hộ công nhân
            await officer.wait_for("Nhập hộ cho ai")
            for line, expect in ENTERED:
                officer.press(int(line)) if line.isdigit() else officer.send(line)
                await officer.wait_for(expect)
            assert _status(db) == "awaiting_author"
            await dispatcher.flush(channel)  # Lan's question, written by Hùng's turn
            await worker.wait_for("Đúng là ý tưởng của anh/chị?")
            worker.press(1)  # ✅ Đúng, của tôi
            await worker.wait_for("đã vào hàng chờ duyệt")
            await dispatcher.flush(channel)
            await officer.wait_for("Nguyễn Thị Lan xác nhận")
            assert _status(db) == "submitted"
            # The button pressed once more, as a double tap: one answer, nothing changed.
            worker.press(1, on="Đúng là ý tưởng")
            await worker.wait_for(msg.STALE_BUTTON)
            assert worker.said().count("đã vào hàng chờ duyệt") == 1


async def test_an_idea_entered_on_zalo_is_denied_by_its_author_with_a_number(db: Engine) -> None:
    with closing(dispatcher_for(db)) as dispatcher:
        async with on_zalo(dispatcher) as (fake, channel):
            worker, officer = ZaloUser(fake, "lan-zalo"), ZaloUser(fake, "hung-zalo")
            for line, expect in IDEA[:2]:
                worker.send(line)
                await worker.wait_for(expect)
            await _join(officer, db, "HN-DM01", "Trần Văn Hùng")
            officer.send("nhap ho")  # the menu's words, typed without diacritics
            await officer.wait_for("Nhập hộ cho ai")
            for line, expect in ENTERED:
                officer.send(line)
                await officer.wait_for(expect)
            await dispatcher.flush(channel)
            asked = await worker.wait_for("Đúng là ý tưởng của anh/chị?")
            assert "2. ❌ Không phải" in asked  # numbers, since Zalo has no buttons
            worker.send("2")
            await worker.wait_for("Đã rút lại")
            await dispatcher.flush(channel)
            await officer.wait_for("không phải ý tưởng của mình")
            assert _status(db) == "withdrawn"


async def test_an_officer_on_telegram_listens_to_the_worker_s_own_voice(
    db: Engine, dispatcher: Dispatcher
) -> None:
    async with on_telegram(dispatcher) as (fake, _channel):
        worker, officer = TelegramUser(fake, 4242), TelegramUser(fake, 5151, name="Hùng")
        for line, expect in IDEA[:3]:
            worker.press(int(line)) if line.isdigit() else worker.send(line)
            await worker.wait_for(expect)
        spoken = encode(samples(recording("vivos", "khách sạn")), "ogg")
        worker.voice(spoken)
        await worker.wait_for("Tôi nghe được", seconds=60)
        worker.press(1)  # ✅ Đúng
        for line, expect in IDEA[4:]:
            worker.press(int(line)) if line.isdigit() else worker.send(line)
            await worker.wait_for(expect)
        await _join(officer, db, "HN-DM01", "Trần Văn Hùng")
        officer.send("/duyet")
        card = await officer.wait_for("🎤 Nói: Khó khăn")
        assert "Khách sạn" in card
        officer.press(4)  # 🔊 Nghe ghi âm
        await officer.wait_for("anh/chị thấy thế nào?")
        played = [m for m in fake.sent["5151"] if "voice" in m]
        assert len(played) == 1 and played[0]["data"] == spoken  # her own recording
        assert played[0]["text"].startswith("🔊 Khó khăn · ")
        officer.press(1)  # ✅ Hợp lệ, on the line that follows the recording
        await officer.wait_for(msg.DECIDED_VALID)
        assert _status(db) == "valid"


async def test_two_levels_across_both_messengers_with_a_race_and_an_outsider(db: Engine) -> None:
    levels = (UnitLevel.GRASSROOTS, UnitLevel.DISTRICT)
    with closing(dispatcher_for(db, levels=levels)) as dispatcher:
        async with (
            on_telegram(dispatcher) as (telegram_fake, _),
            on_zalo(dispatcher) as (
                zalo_fake,
                zalo,
            ),
        ):
            worker = ZaloUser(zalo_fake, "lan-zalo")
            for line, expect in IDEA:
                worker.send(line)
                await worker.wait_for(expect)
            worker.send("/duyet")
            await worker.wait_for(msg.OFFICERS_ONLY)  # a worker cannot reach the review

            hung, hoa = TelegramUser(telegram_fake, 5151), TelegramUser(telegram_fake, 5252)
            tuan, mai = TelegramUser(telegram_fake, 5353), ZaloUser(zalo_fake, "mai-zalo")
            await _join(hung, db, "HN-DM01", "Trần Văn Hùng")
            await _join(hoa, db, "HN-DM01", "Đỗ Thị Hoa")
            await _join(tuan, db, "BN-YP", "Phạm Văn Tuấn")  # another province's district
            await _join(mai, db, "HN-LB", "Lê Thị Mai")  # the district above HN-DM01
            tuan.send("/duyet")
            await tuan.wait_for(msg.QUEUE_EMPTY)

            # Both grassroots officers open the same card and press ✅ at the same moment.
            for officer in (hung, hoa):
                officer.send("/duyet")
                await officer.wait_for("Sáng kiến này thế nào?")
            hung.press(1)
            hoa.press(1)
            for officer in (hung, hoa):  # each then told the queue is empty
                await officer.wait_for(msg.QUEUE_EMPTY)
            said = hung.said() + hoa.said()
            assert said.count(msg.DECIDED_VALID) == 1 and said.count(msg.DECIDED_TAKEN) == 1, said
            await dispatcher.flush(zalo)
            await worker.wait_for("đã chuyển lên cấp trên cơ sở")

            mai.send("/duyet")
            card = await mai.wait_for("cấp trên cơ sở")
            assert "cấp cơ sở: hợp lệ" in card
            mai.send("3")  # ❌ Không hợp lệ
            await mai.wait_for("Lý do là gì")
            mai.send("Trùng với sáng kiến năm ngoái")
            await mai.wait_for(msg.DECIDED_REJECTED)
            await dispatcher.flush(zalo)
            told = await worker.wait_for("chưa được công nhận")
            assert "Trùng với sáng kiến năm ngoái" in told
            assert _status(db) == "rejected"


async def test_an_officer_gets_the_web_link_with_previews_off_and_a_worker_does_not(
    db: Engine,
) -> None:
    web = "https://sangkien.congdoan.example"
    with closing(dispatcher_for(db, web_url=web)) as dispatcher:
        async with on_telegram(dispatcher) as (fake, _), on_zalo(dispatcher) as (zfake, _):
            officer = TelegramUser(fake, 5151, name="Hùng")
            await _join(officer, db, "HN-LB", "Trần Văn Hùng")
            officer.send("/web")
            await officer.wait_for("/web/login/")
            sent = fake.sent["5151"][-1]
            assert f"{web}/web/login/" in sent["text"]
            assert sent["link_preview_options"] == {"is_disabled": True}
            zalo_officer = ZaloUser(zfake, "z-mai", name="Mai")
            await _join(zalo_officer, db, "HN-DM01", "Lê Thị Mai")
            said = await _answer(zalo_officer, "/web", "/web/login/")
            assert said.count(f"{web}/web/login/") == 1
            worker = ZaloUser(zfake, "z-lan", name="Lan")
            await _answer(worker, "/start HN-DM01", "tên là gì")
            await _answer(worker, "Nguyễn Thị Lan", "muốn làm gì")
            assert "/web/login/" not in await _answer(worker, "/web", msg.OFFICERS_ONLY)
