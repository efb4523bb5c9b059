"""Review through the real channel code against the fake Bot API servers: an officer joins by
an invitation link, decides with buttons on Telegram and numbers on Zalo, and the author
reads the outcome in their own chat."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import Engine

from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel, ZaloClient
from bot.services.database import Database
from bot.services.dispatch import Dispatcher
from bot.services.review import ReviewService
from dialogs import messages as msg
from storage.models import Initiative
from tests.fakes.telegram import FakeTelegram, TelegramUser
from tests.fakes.zalo import FakeZalo, ZaloUser
from tests.utils.audio import encode, recording, samples
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


def _invite(engine: Engine) -> str:
    service = ReviewService(Database(engine), ())
    return service.invite("HN-DM01", expires=dt.timedelta(days=1)).code


def _status(engine: Engine) -> str:
    with engine.connect() as connection:
        table = Initiative.__table__  # type: ignore[attr-defined]
        return str(connection.execute(table.select()).one().status)


async def test_an_officer_on_telegram_reviews_with_buttons(db: Engine) -> None:
    fake = FakeTelegram()
    fake.server.start()
    dispatcher = dispatcher_for(db)
    channel = TelegramChannel(fake.token, dispatcher, base_url=fake.base_url)
    await channel.start(poll_timeout=1)
    try:
        worker, officer = TelegramUser(fake, 4242), TelegramUser(fake, 5151, name="Hùng")
        for line, expect in IDEA:
            worker.press(int(line)) if line.isdigit() else worker.send(line)
            await worker.wait_for(expect)
        code = _invite(db).replace("-", "")
        officer.send(f"/start canbo-{code}")  # the invitation link
        await officer.wait_for("cán bộ công đoàn của")
        officer.send("Trần Văn Hùng")
        await officer.wait_for("muốn làm gì")
        officer.press(4)  # 🗂️ Duyệt sáng kiến, offered to officers only
        await officer.wait_for("Sáng kiến này thế nào?")
        officer.press(1)  # ✅ Hợp lệ
        await officer.wait_for(msg.DECIDED_VALID)
        await dispatcher.flush(channel)  # the notice to the author, due at once
        await worker.wait_for("được công nhận hợp lệ")
        assert _status(db) == "valid"
    finally:
        await channel.stop()
        dispatcher.close()
        fake.server.stop()


async def test_an_officer_on_zalo_returns_an_entry_with_numbers(db: Engine) -> None:
    fake = FakeZalo()
    fake.server.start()
    dispatcher = dispatcher_for(db)
    client = ZaloClient(fake.token, fake.base_url, voice_hosts=("http://127.0.0.1",))
    channel = ZaloChannel(client, dispatcher)
    task = asyncio.create_task(channel.poll_forever(poll_timeout=1))
    try:
        worker, officer = ZaloUser(fake, "lan-zalo"), ZaloUser(fake, "hung-zalo")
        for line, expect in IDEA:
            worker.send(line)
            await worker.wait_for(expect)
        officer.send(f"/canbo {_invite(db)}")
        await officer.wait_for("tên là gì")
        officer.send("Trần Văn Hùng")
        await officer.wait_for("muốn làm gì")
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
        await channel.drain()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
        dispatcher.close()
        fake.server.stop()


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
    fake = FakeTelegram()
    fake.server.start()
    dispatcher = dispatcher_for(db)
    channel = TelegramChannel(fake.token, dispatcher, base_url=fake.base_url)
    await channel.start(poll_timeout=1)
    try:
        worker, officer = TelegramUser(fake, 4242), TelegramUser(fake, 5151, name="Hùng")
        for line, expect in IDEA[:2]:
            worker.send(line)
            await worker.wait_for(expect)
        officer.send(f"/start canbo-{_invite(db).replace('-', '')}")
        await officer.wait_for("cán bộ công đoàn của")
        officer.send("Trần Văn Hùng")
        await officer.wait_for("muốn làm gì")
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
    finally:
        await channel.stop()
        dispatcher.close()
        fake.server.stop()


async def test_an_idea_entered_on_zalo_is_denied_by_its_author_with_a_number(db: Engine) -> None:
    fake = FakeZalo()
    fake.server.start()
    dispatcher = dispatcher_for(db)
    client = ZaloClient(fake.token, fake.base_url, voice_hosts=("http://127.0.0.1",))
    channel = ZaloChannel(client, dispatcher)
    task = asyncio.create_task(channel.poll_forever(poll_timeout=1))
    try:
        worker, officer = ZaloUser(fake, "lan-zalo"), ZaloUser(fake, "hung-zalo")
        for line, expect in IDEA[:2]:
            worker.send(line)
            await worker.wait_for(expect)
        officer.send(f"/canbo {_invite(db)}")
        await officer.wait_for("tên là gì")
        officer.send("Trần Văn Hùng")
        await officer.wait_for("muốn làm gì")
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
        await channel.drain()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
        dispatcher.close()
        fake.server.stop()


async def test_an_officer_on_telegram_listens_to_the_worker_s_own_voice(
    db: Engine, dispatcher: Dispatcher
) -> None:
    fake = FakeTelegram()
    fake.server.start()
    channel = TelegramChannel(fake.token, dispatcher, base_url=fake.base_url)
    await channel.start(poll_timeout=1)
    try:
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
        officer.send(f"/start canbo-{_invite(db).replace('-', '')}")
        await officer.wait_for("cán bộ công đoàn của")
        officer.send("Trần Văn Hùng")
        await officer.wait_for("muốn làm gì")
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
    finally:
        await channel.stop()
        fake.server.stop()
