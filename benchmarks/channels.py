"""Messenger throughput, through the real clients against the fake Bot API servers.

    python -m benchmarks.channels [--updates 600] [--chats 10000] [--concurrency 20]

Prints one JSON line:
- ``webhook``: per channel, updates per second handled end to end (webhook app → dispatcher →
  dialog → SQLite → reply sent to the fake server) and p50/p99 latency from delivery to reply.
  Pacing is off here: this measures our capacity, not the messengers' limits.
- ``broadcast``: one message to each of N Telegram chats through the paced sender, against a
  fake that answers 429 past 30 messages a second: the time, the floor (N / 30 s), their
  ratio, and how many 429s were met. Target: within 10 % of the floor, zero 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bot.channels.base import Incoming, Sender, Throttle, with_retries
from bot.channels.telegram import TelegramChannel
from bot.channels.webhooks import create_app
from bot.channels.zalo import ZaloChannel, ZaloClient
from bot.runtime import demo_database
from dialogs.events import Reply
from storage.db import create_db_engine
from tests.fakes.base import free_port
from tests.fakes.telegram import FakeTelegram
from tests.fakes.zalo import FakeZalo
from tests.utils.chat import dispatcher_for

SECRET = "benchmark-webhook-secret-0123456789"
# The load generator shares the process: keep its own connection pool small and cheap.
_LOAD_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=32)
LINES = ["/start HN-DM01", "Nguyễn Văn An", "1"]
# The untimed person who shows how many replies each line gets (outside the timed chats).
_WARM_UP_ID = 9_999


async def _serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{port}"


def _summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    q = statistics.quantiles(latencies, n=100)
    return {
        "updates": len(latencies),
        "updates_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
    }


async def _replies_per_line(sent: dict[str, list[Any]], post: Any) -> list[int]:
    """How many messages the bot sends to each line of LINES, learnt from one untimed person
    (the count changes with the flow: one bubble a turn, a read-back, a picture): after each
    line, what arrived until 0.5 s of quiet."""
    chat, counts = str(_WARM_UP_ID), []
    for step, line in enumerate(LINES):
        before = len(sent[chat])
        await post(_WARM_UP_ID - 10_000, step, line)
        quiet_since, seen = time.monotonic(), before
        while time.monotonic() - quiet_since < 0.5:
            await asyncio.sleep(0.01)
            if len(sent[chat]) != seen:
                quiet_since, seen = time.monotonic(), len(sent[chat])
        if seen == before:
            raise SystemExit(f"the bot did not answer {line!r}: nothing to measure")
        counts.append(seen - before)
    return counts


async def _virtual_users(
    users: int, concurrency: int, sent: dict[str, list[Any]], post: Any
) -> dict[str, Any]:
    """`concurrency` people at a time each send LINES, waiting for the bot's answer before
    the next line, as people do; latency is from delivery to the last reply of the line."""
    per_line = await _replies_per_line(sent, post)
    latencies: list[float] = []
    late = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for user in range(users):
        queue.put_nowait(user)

    async def person() -> None:
        nonlocal late
        while not queue.empty():
            user = queue.get_nowait()
            chat = str(10_000 + user)
            expected = 0
            for step, line in enumerate(LINES):
                expected += per_line[step]
                started = time.monotonic()
                await post(user, step, line)
                deadline = started + 60
                while len(sent[chat]) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.002)
                late += len(sent[chat]) < expected
                latencies.append(time.monotonic() - started)

    started = time.monotonic()
    await asyncio.gather(*(person() for _ in range(concurrency)))
    figures = _summary(latencies, time.monotonic() - started)
    return {**figures, "replies_per_line": per_line, "unanswered": late}


async def telegram_webhook(db_url: str, users: int, concurrency: int) -> dict[str, Any]:
    db = create_db_engine(db_url)
    fake = FakeTelegram()
    fake.flood_control = False
    fake.server.start()
    dispatcher = dispatcher_for(db)
    channel = TelegramChannel(fake.token, dispatcher, base_url=fake.base_url, polling=False)
    channel.pace = Throttle(per_second=1e9)
    await channel.start()
    server, task, base = await _serve(create_app(telegram=channel, telegram_secret=SECRET))
    async with httpx.AsyncClient(base_url=base, limits=_LOAD_LIMITS) as http:

        async def post(user: int, step: int, line: str) -> None:
            uid = 10_000 + user
            await http.post(
                "/telegram/webhook",
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                json={
                    "update_id": step * (users + 1) + user + 2,  # the warm-up person is -1
                    "message": {
                        "message_id": step + 1,
                        "date": 0,
                        "text": line,
                        "chat": {"id": uid, "type": "private"},
                        "from": {"id": uid, "is_bot": False, "first_name": "An"},
                    },
                },
            )

        figures = await _virtual_users(users, concurrency, fake.sent, post)
    server.should_exit = True
    await task
    await channel.stop()
    dispatcher.close()
    fake.server.stop()
    db.dispose()
    return figures


async def zalo_webhook(db_url: str, users: int, concurrency: int) -> dict[str, Any]:
    db = create_db_engine(db_url)
    fake = FakeZalo()
    fake.server.start()
    dispatcher = dispatcher_for(db)
    client = ZaloClient(fake.token, fake.base_url, voice_hosts=("http://127.0.0.1",))
    channel = ZaloChannel(client, dispatcher, per_second=1e9)  # capacity, not a pace
    server, task, base = await _serve(create_app(zalo=channel, zalo_secret=SECRET))
    async with httpx.AsyncClient(base_url=base, limits=_LOAD_LIMITS) as http:

        async def post(user: int, step: int, line: str) -> None:
            uid = str(10_000 + user)
            await http.post(
                "/zalo/webhook",
                headers={"X-Bot-Api-Secret-Token": SECRET},
                json={
                    "event_name": "message.text.received",
                    "message": {
                        "message_id": f"{uid}-{step}",
                        "date": 0,
                        "text": line,
                        "chat": {"id": uid, "chat_type": "PRIVATE"},
                        "from": {"id": uid, "is_bot": False},
                    },
                },
            )

        figures = await _virtual_users(users, concurrency, fake.sent, post)
    await channel.drain()
    server.should_exit = True
    await task
    await client.aclose()
    dispatcher.close()
    fake.server.stop()
    db.dispose()
    return figures


class _NoInbox:
    """The broadcast only sends: nothing comes in."""

    async def dispatch(self, sender: Sender, incoming: Incoming) -> None:
        raise AssertionError("no updates in a broadcast")

    async def keep(self, channel: str, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
        raise AssertionError("no updates in a broadcast")

    async def forget(self, channel: str, key: str) -> None:
        raise AssertionError("no updates in a broadcast")


async def broadcast(chats: int) -> dict[str, float]:
    fake = FakeTelegram()
    fake.server.start()
    channel = TelegramChannel(fake.token, _NoInbox(), base_url=fake.base_url, polling=False)
    await channel.app.initialize()
    started = time.monotonic()
    reply = Reply("🏆 Bảng xếp hạng sáng kiến tuần này")
    for n in range(chats):

        async def send(chat: str = str(100_000 + n)) -> None:
            await channel.send(chat, reply)

        await with_retries(send)
    elapsed = time.monotonic() - started
    await channel.app.shutdown()
    fake.server.stop()
    floor = chats / 30
    return {
        "chats": chats,
        "seconds": round(elapsed, 1),
        "floor_s": round(floor, 1),
        "ratio": round(elapsed / floor, 3),
        "rate_limited": fake.rate_limited,
    }


async def main_async(updates: int, chats: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder)}/bench.db"
        demo_database(url).dispose()
        figures: dict[str, Any] = {"benchmark": "channels", "webhook": {}}
        users = updates // len(LINES)
        figures["webhook"]["telegram"] = await telegram_webhook(url, users, concurrency)
        figures["webhook"]["zalo"] = await zalo_webhook(url, users, concurrency)
    figures["broadcast"] = await broadcast(chats)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=600)
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=20, help="people typing at once")
    args = parser.parse_args()
    figures = asyncio.run(main_async(args.updates, args.chats, args.concurrency))
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
