"""`sangkien run`, the real command, serving Telegram and Zalo against the fake servers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.base import free_port
from tests.fakes.telegram import FakeTelegram, TelegramUser
from tests.fakes.zalo import FakeZalo, ZaloUser


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeZalo]]:
    telegram, zalo = FakeTelegram(), FakeZalo()
    telegram.server.start()
    zalo.server.start()
    yield telegram, zalo
    telegram.server.stop()
    zalo.server.stop()


@pytest.mark.parametrize("log_level", ["WARNING", "DEBUG"])
def test_run_serves_both_messengers_and_stops_cleanly(
    fakes: tuple[FakeTelegram, FakeZalo], tmp_path: Path, log_level: str
) -> None:
    telegram, zalo = fakes
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANGKIEN_")} | {
        "SANGKIEN_DATABASE_URL": f"sqlite:///{tmp_path}/run.db",
        "SANGKIEN_DATA_DIR": str(tmp_path),
        "SANGKIEN_TELEGRAM__TOKEN": telegram.token,
        "SANGKIEN_TELEGRAM__API_BASE_URL": telegram.base_url,
        "SANGKIEN_TELEGRAM__POLL_TIMEOUT": "1",
        "SANGKIEN_ZALO__TOKEN": zalo.token,
        "SANGKIEN_ZALO__API_BASE_URL": zalo.base_url,
        "SANGKIEN_ZALO__POLL_TIMEOUT": "1",
        "SANGKIEN_SERVER__PORT": str(port),
        "SANGKIEN_LOG_LEVEL": log_level,
    }
    with subprocess.Popen(
        ["sangkien", "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        try:
            health = None
            for _ in range(300):
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            assert health == {"status": "ok", "channels": ["telegram", "zalo"]}
            TelegramUser(telegram, 31).send("/start HN-DM01")
            ZaloUser(zalo, "z31").send("/start HN-DM01")
            asyncio.run(TelegramUser(telegram, 31).wait_for("tên là gì"))
            asyncio.run(ZaloUser(zalo, "z31").wait_for("tên là gì"))
            TelegramUser(telegram, 31).send("Số tôi 0912 345 678")
            asyncio.run(TelegramUser(telegram, 31).wait_for("gõ họ tên"))
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
    for secret in (telegram.token, zalo.token, "0912 345 678"):
        assert secret.encode() not in stderr, f"{secret} reached the log"


def test_a_second_run_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    import fcntl

    database = tmp_path / "run.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANGKIEN_")} | {
        "SANGKIEN_DATABASE_URL": f"sqlite:///{database}",
        "SANGKIEN_DATA_DIR": str(tmp_path),
        "SANGKIEN_TELEGRAM__TOKEN": "123456:AAbbccddeeffgghh",
    }
    with open(f"{database}.run.lock", "a") as held:  # the first `sangkien run`
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        second = subprocess.run(
            ["sangkien", "run"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert second.returncode == 2
    assert "already serves" in second.stderr and "PostgreSQL" in second.stderr
    assert "Traceback" not in second.stderr
