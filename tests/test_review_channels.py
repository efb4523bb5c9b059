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
from bot.services.review import ReviewService
from dialogs import messages as msg
from storage.models import Initiative
from tests.fakes.telegram import FakeTelegram, TelegramUser
from tests.fakes.zalo import FakeZalo, ZaloUser
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
