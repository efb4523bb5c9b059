"""The bot on a fake messenger: the real channel code polling a fake Bot API on 127.0.0.1,
started and stopped around a test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel, ZaloClient
from bot.services.dispatch import Dispatcher
from tests.fakes.base import free_port
from tests.fakes.telegram import FakeTelegram
from tests.fakes.zalo import FakeZalo


def run_env(
    database_url: str, data_dir: str, telegram: FakeTelegram, zalo: FakeZalo | None = None
) -> dict[str, str]:
    """The environment of a `sangkien run` polling the fakes (no other SANGKIEN_ setting)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANGKIEN_")}
    env |= {
        "SANGKIEN_DATABASE_URL": database_url,
        "SANGKIEN_DATA_DIR": data_dir,
        "SANGKIEN_TELEGRAM__TOKEN": telegram.token,
        "SANGKIEN_TELEGRAM__API_BASE_URL": telegram.base_url,
        "SANGKIEN_TELEGRAM__POLL_TIMEOUT": "1",
        "SANGKIEN_SERVER__PORT": str(free_port()),
    }
    if zalo is not None:
        env |= {
            "SANGKIEN_ZALO__TOKEN": zalo.token,
            "SANGKIEN_ZALO__API_BASE_URL": zalo.base_url,
            "SANGKIEN_ZALO__POLL_TIMEOUT": "1",
        }
    return env


@asynccontextmanager
async def on_telegram(
    dispatcher: Dispatcher,
) -> AsyncIterator[tuple[FakeTelegram, TelegramChannel]]:
    fake = FakeTelegram()
    fake.server.start()
    # Scripted people answer faster than anyone types: no pace per chat (tested apart).
    channel = TelegramChannel(fake.token, dispatcher, base_url=fake.base_url, chat_per_second=None)
    await channel.start(poll_timeout=1)
    try:
        yield fake, channel
    finally:
        await channel.stop()
        fake.server.stop()


@asynccontextmanager
async def on_zalo(
    dispatcher: Dispatcher, *, images_url: str = "", clips_url: str = ""
) -> AsyncIterator[tuple[FakeZalo, ZaloChannel]]:
    """Zalo, polling; the replies still being sent are waited for at the end. `images_url`
    and `clips_url`: where this server's pictures and recorded questions are public (Zalo
    fetches pictures by URL and sends no audio: a link follows the question)."""
    fake = FakeZalo()
    fake.server.start()
    client = ZaloClient(fake.token, fake.base_url, voice_hosts=("http://127.0.0.1",))
    channel = ZaloChannel(
        client, dispatcher, images_url=images_url, clips_url=clips_url, per_second=100
    )
    task = asyncio.create_task(channel.poll_forever(poll_timeout=1))
    try:
        yield fake, channel
        await channel.drain()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
        fake.server.stop()
