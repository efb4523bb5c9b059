"""Zalo end to end: our own httpx client talking HTTP to a fake Zalo Bot API."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.channels.base import BadRequestError, ForbiddenError, TransientError
from bot.channels.webhooks import create_app
from bot.channels.zalo import ZaloChannel, ZaloClient, to_incoming
from bot.services.dispatch import Dispatcher
from dialogs.events import Reply
from storage.models import Identity, Initiative, VoiceNote
from tests.fakes.base import served_here
from tests.fakes.zalo import FakeZalo, ZaloUser
from tests.utils.audio import encode, joined, recording, recordings_lasting, samples
from tests.utils.chat import Recorder

SECRET = "zalo-webhook-secret-0123456789"


@pytest.fixture
def fake_zalo() -> Iterator[FakeZalo]:
    fake = FakeZalo()
    fake.server.start()
    yield fake
    fake.server.stop()


@pytest.fixture
async def client(fake_zalo: FakeZalo) -> AsyncIterator[ZaloClient]:
    zalo = ZaloClient(
        fake_zalo.token, fake_zalo.base_url, timeout=1.0, voice_hosts=("http://127.0.0.1",)
    )
    yield zalo
    await zalo.aclose()


@pytest.fixture
async def polling(client: ZaloClient, dispatcher: Dispatcher) -> AsyncIterator[ZaloChannel]:
    channel = ZaloChannel(client, dispatcher)
    task = asyncio.create_task(channel.poll_forever(poll_timeout=1))
    yield channel
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await channel.drain()


async def test_client_methods_and_envelopes(client: ZaloClient, fake_zalo: FakeZalo) -> None:
    me = await client.get_me()
    assert me["id"] == "1234567890"
    assert await client.get_updates(1) is None  # an idle poll: HTTP 408, not an error
    assert fake_zalo.idle_polls == 1
    await client.set_webhook("https://example.invalid/zalo/webhook", SECRET)
    assert fake_zalo.inbox.webhook == ("https://example.invalid/zalo/webhook", SECRET)
    await client.delete_webhook()
    long_text = "\n".join(f"Dòng số {n}: " + "chữ " * 30 for n in range(30))
    await client.send_message("u1", long_text)
    parts = fake_zalo.texts("u1")
    assert len(parts) > 1 and all(len(p) <= 2000 for p in parts)
    assert " ".join(parts).split() == long_text.split()  # nothing lost at the cuts
    await client.send_chat_action("u1")
    await client.send_photo("u1", "https://example.invalid/bxh.png", "Bảng xếp hạng")
    assert fake_zalo.actions == [("u1", "typing")]


async def test_ok_false_with_http_200_is_an_error(client: ZaloClient, fake_zalo: FakeZalo) -> None:
    with pytest.raises(BadRequestError, match="2000"):
        await client.call("sendMessage", {"chat_id": "u1", "text": "x" * 2001})
    fake_zalo.blocked.add("u2")
    with pytest.raises(ForbiddenError):
        await client.send_message("u2", "xin chào")
    fake_zalo.faults.add("getMe", "500", "drop", "timeout")
    for _ in range(3):
        with pytest.raises(TransientError):
            await client.get_me()


async def test_a_full_submission_by_numbers_over_polling(
    polling: ZaloChannel, fake_zalo: FakeZalo, db: Engine
) -> None:
    user = ZaloUser(fake_zalo, "z100")
    for text, expect in [
        ("xin chao", "Mã công đoàn"),
        ("hn-dm01", "tên là gì"),
        ("Lan", "Trả lời 1, 2, 3, 4 hoặc 5"),
        ("1", "khó khăn"),
        ("Máy cắt hay kẹt vải, mỗi ca dừng máy 30 phút", "đã thay đổi gì"),
        ("Gắn thêm thanh dẫn vải trước lưỡi cắt", "Trả lời 1, 2, 3, 4, 5 hoặc 6"),
        ("2", "bao nhiêu tiền"),
        ("3tr5", "thuộc mảng nào"),
        ("1", "cách mới chưa"),
        ("1", "cùng làm"),
        ("khong", "Xem lại"),
        ("1", "Cảm ơn"),
    ]:
        user.send(text)
        await user.wait_for(expect)
    assert "1. ✍️ Gửi sáng kiến mới" in user.said()
    with Session(db) as session:
        idea = session.exec(select(Initiative)).one()
    assert idea.status == "submitted" and idea.benefit_value_vnd == 3_500_000


async def test_the_same_number_answered_before_the_messenger_confirms_is_the_next_answer(
    polling: ZaloChannel, fake_zalo: FakeZalo, db: Engine
) -> None:
    """A worker reads the question as soon as it shows and answers «1» again (the field,
    then «applied»), before Zalo has confirmed the send to the bot: it is the answer to what
    they read, not the last «1» sent again (seen in CI: the worker got no reply at all)."""
    user = ZaloUser(fake_zalo, "z150")
    for text, expect in [
        ("/start HN-DM01", "tên là gì"),
        ("Lan", "muốn làm gì"),
        ("1", "khó khăn"),
        ("Máy cắt hay kẹt vải", "đã thay đổi gì"),
        ("Gắn thêm thanh dẫn vải", "được lợi gì nhất"),
        ("1", "bao nhiêu thời gian"),
        ("30 phút mỗi ca", "thuộc mảng nào"),
    ]:
        user.send(text)
        await user.wait_for(expect)
    fake_zalo.answer_delay = 0.5  # the question shows half a second before Zalo says so
    user.send("1")
    await user.wait_for("cách mới chưa")
    user.send("1")  # the same text as the last answer, written as soon as it showed
    await user.wait_for("cùng làm")
    assert sum("cách mới chưa" in text for text in user.texts()) == 1


async def test_stickers_photos_and_unsupported_keep_the_draft(
    polling: ZaloChannel, fake_zalo: FakeZalo, db: Engine
) -> None:
    user = ZaloUser(fake_zalo, "z200")
    for text, expect in [
        ("/start HN-DM01", "tên là gì"),
        ("Lan", "muốn làm gì"),
        ("1", "khó khăn"),
        ("Kho xa chuyền", "đã thay đổi gì"),
    ]:
        user.send(text)
        await user.wait_for(expect)
    user.event("message.sticker.received", sticker="abc")
    await user.wait_for("chỉ đọc được chữ")
    user.event("message.image.received", photo_url="https://example.invalid/p.jpg")
    await user.wait_for("chưa xem được ảnh")
    user.event("message.unsupported.received")
    await user.wait_for("chưa đọc được nội dung")
    user.send("")
    await user.wait_for("chưa gõ gì")
    with Session(db) as session:
        idea = session.exec(select(Initiative)).one()
    assert idea.problem == "Kho xa chuyền" and idea.solution is None


async def _to_the_first_question(user: ZaloUser) -> None:
    for text, expect in [
        ("/start HN-DM01", "tên là gì"),
        ("Lan", "muốn làm gì"),
        ("1", "khó khăn"),
    ]:
        user.send(text)
        await user.wait_for(expect)


async def test_a_voice_note_by_url(polling: ZaloChannel, fake_zalo: FakeZalo) -> None:
    user = ZaloUser(fake_zalo, "z300")
    await _to_the_first_question(user)
    user.voice(encode(samples(recording("vivos", "khách sạn")), "aac"))
    said = await user.wait_for("Tôi nghe được: «Khách sạn.»", seconds=60)
    assert "Trả lời 1, 2 hoặc 3" in said
    assert ("z300", "typing") in fake_zalo.actions
    user.send("1")
    await user.wait_for("đã thay đổi gì")


async def test_webhook_secret_duplicates_and_blocked_users(
    fake_zalo: FakeZalo, client: ZaloClient, dispatcher: Dispatcher, db: Engine
) -> None:
    channel = ZaloChannel(client, dispatcher)
    async with served_here(create_app(zalo=channel, zalo_secret=SECRET)) as base:
        url = f"{base}/zalo/webhook"
        await client.set_webhook(url, SECRET)
        user = ZaloUser(fake_zalo, "z400")
        update = user.send("/start HN-DM01")
        await user.wait_for("tên là gì")
        fake_zalo.push(update)  # delivered again: processed once
        async with httpx.AsyncClient() as http:
            wrong = await http.post(url, json=update, headers={"X-Bot-Api-Secret-Token": "no"})
            forged = await http.post(url, json={"event_name": "message.text.received"})
        assert (wrong.status_code, forged.status_code) == (401, 401)
        await asyncio.sleep(0.3)
        await channel.drain()
        assert sum("tên là gì" in t for t in fake_zalo.texts("z400")) == 1

        fake_zalo.blocked.add("z500")
        ZaloUser(fake_zalo, "z500").send("/start HN-DM01")
        await asyncio.sleep(0.3)
        await channel.drain()
        with Session(db) as session:
            identity = session.exec(select(Identity).where(Identity.external_id == "z500")).one()
        assert identity.unreachable


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://voice-aac-dl.zdn.vn/abc.aac", True),
        ("https://zdn.vn.evil.example/abc.aac", False),
        ("http://voice-aac-dl.zdn.vn/abc.aac", False),  # only over HTTPS
        ("http://127.0.0.1:9/internal/admin", False),
        ("https://169.254.169.254/latest/meta-data", False),
        ("file:///etc/passwd", False),
    ],
)
def test_voice_is_fetched_only_from_zalos_hosts(url: str, allowed: bool) -> None:
    from bot.channels.zalo import DEFAULT_VOICE_HOSTS, allowed_url

    assert allowed_url(url, DEFAULT_VOICE_HOSTS) is allowed


async def test_a_forged_voice_url_is_never_fetched(fake_zalo: FakeZalo) -> None:
    fake_zalo.files["secret"] = b"internal"
    client = ZaloClient(fake_zalo.token, fake_zalo.base_url)  # the production allow-list
    with pytest.raises(BadRequestError, match="not allowed"):
        await client.download(f"{fake_zalo.base_url}/files/secret")
    assert fake_zalo.file_requests == 0  # not a single request went out
    await client.aclose()


async def test_voice_redirects_only_to_allowed_hosts_and_downloads_are_capped(
    fake_zalo: FakeZalo,
) -> None:
    client = ZaloClient(
        fake_zalo.token,
        fake_zalo.base_url,
        voice_hosts=("http://127.0.0.1",),
        max_download_bytes=1000,
    )
    fake_zalo.files["big"] = b"x" * 5000
    fake_zalo.redirects["redirect-away"] = "http://localhost.evil:1/x"
    fake_zalo.redirects["redirect-home"] = f"{fake_zalo.base_url}/files/big"
    with pytest.raises(BadRequestError, match="not allowed"):
        await client.download(f"{fake_zalo.base_url}/files/redirect-away")
    data = await client.download(f"{fake_zalo.base_url}/files/redirect-home")
    assert len(data) == 1001  # one byte over the limit: the decoder says "too large"
    await client.aclose()


async def test_malformed_zalo_updates_are_acknowledged_and_ignored(
    client: ZaloClient, dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    channel = ZaloChannel(client, dispatcher)
    headers = {"X-Bot-Api-Secret-Token": SECRET}
    bodies: list[Any] = [
        {"ok": True, "result": None},
        {"ok": True, "result": []},
        {"ok": True, "result": "x"},
        {"event_name": "message.text.received", "message": {"chat": "c", "from": "u"}},
        {"event_name": "message.text.received", "message": []},
    ]
    app = create_app(zalo=channel, zalo_secret=SECRET)
    async with served_here(app) as base, httpx.AsyncClient(base_url=base) as http:
        answers = [
            (await http.post("/zalo/webhook", json=b, headers=headers)).status_code for b in bodies
        ]
        nested = '{"a":' * 10_000 + "1" + "}" * 10_000
        deep = await http.post("/zalo/webhook", content=nested, headers=headers)
    await channel.drain()
    assert answers == [200] * len(bodies) and deep.status_code == 400
    assert not [r for r in caplog.records if r.exc_info]


async def test_sends_keep_to_the_configured_pace(client: ZaloClient, fake_zalo: FakeZalo) -> None:
    """Zalo publishes no limit: `[zalo] per_second` is the pace, for replies and broadcasts."""

    channel = ZaloChannel(client, Recorder(), per_second=20)
    started = time.monotonic()
    for n in range(11):
        await channel.send(f"grp-{n % 3}", Reply(f"tin {n}"))
    assert time.monotonic() - started >= 10 / 20
    assert sum(len(fake_zalo.texts(f"grp-{n}")) for n in range(3)) == 11


async def test_a_message_carries_the_time_it_was_written(
    client: ZaloClient, fake_zalo: FakeZalo
) -> None:
    recorder = Recorder()
    channel = ZaloChannel(client, recorder)
    task = asyncio.create_task(channel.poll_forever(poll_timeout=1))
    try:
        update = ZaloUser(fake_zalo, "7300").send("Máy cắt hay kẹt vải")
        incoming = await recorder.next()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert incoming.written_by is not None
    assert round(incoming.written_by.timestamp() * 1000) == update["message"]["date"]


@pytest.mark.parametrize(
    ("date", "written"),
    [
        (1_764_800_000, dt.datetime(2025, 12, 3, 22, 13, 21, tzinfo=dt.UTC)),  # in seconds
        (None, None),
        ("hôm nay", None),
        (True, None),
        (-5, None),
        (10**30, None),
        (float("nan"), None),
    ],
)
def test_a_message_time_that_is_no_time_is_left_out(
    client: ZaloClient, date: object, written: dt.datetime | None
) -> None:
    update = {
        "event_name": "message.text.received",
        "message": {
            "message_id": "m1",
            "date": date,
            "text": "1",
            "chat": {"id": "c1", "chat_type": "PRIVATE"},
            "from": {"id": "c1", "is_bot": False},
        },
    }
    incoming = to_incoming(update, client)
    assert incoming is not None and incoming.written_by == written


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the channel is what is tested
async def test_a_five_minute_voice_note_is_read_back_whole_over_bubbles(
    polling: ZaloChannel, fake_zalo: FakeZalo, db: Engine
) -> None:
    user = ZaloUser(fake_zalo, "z301")
    await _to_the_first_question(user)
    before = len(fake_zalo.texts("z301"))
    user.voice(encode(joined(recordings_lasting(295, ("vivos", "fosd"))), "aac"))
    await user.wait_for("Trả lời 1, 2 hoặc 3", seconds=120)
    read_back = [t for t in fake_zalo.texts("z301")[before:] if "Đang nghe" not in t]
    assert len(read_back) >= 2 and all(len(t) <= 2000 for t in read_back)
    with Session(db) as session:
        heard = session.exec(select(VoiceNote)).one().text
    shown = " ".join(read_back)
    assert shown.split("«", 1)[1].rsplit("»", 1)[0].split() == heard.split()  # never cut
    user.send("đúng rồi")
    await user.wait_for("đã thay đổi gì")
    with Session(db) as session:
        assert session.exec(select(Initiative)).one().problem == heard


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_updates_of_shapes_zalo_does_not_send_are_skipped_and_others_answered(
    polling: ZaloChannel, fake_zalo: FakeZalo
) -> None:
    strange_updates: list[dict[str, Any]] = [
        {"event_name": "message.text.received", "message": ["not", "an", "object"]},
        {"event_name": "message.text.received", "message": {"chat": {}, "from": {"id": "z8"}}},
        {
            "event_name": "message.text.received",
            "message": {"chat": {"id": "z9"}, "from": {"id": "z9"}, "date": "soon", "text": 5},
        },
        {"event_name": "message.voice.received", "message": {"chat": {"id": "z9"}}},
    ]
    for strange in strange_updates:
        fake_zalo.push(strange)
    user = ZaloUser(fake_zalo, "z302")
    user.send("/start HN-DM01")
    await user.wait_for("tên là gì")
    assert polling.problem is None
