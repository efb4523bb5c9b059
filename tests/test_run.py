"""`sangkien run`, the real command, serving Telegram and Zalo against the fake servers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.telegram import FakeTelegram, TelegramUser
from tests.fakes.zalo import FakeZalo, ZaloUser
from tests.utils.bots import run_env


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
    env = run_env(f"sqlite:///{tmp_path}/run.db", str(tmp_path), telegram, zalo)
    env["SANGKIEN_LOG_LEVEL"] = log_level
    port = int(env["SANGKIEN_SERVER__PORT"])
    with subprocess.Popen(
        ["sangkien", "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        try:
            health = None
            for _ in range(300):  # 503 while the channels start, then 200
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
                    if health["status"] == "ok":
                        break
                except httpx.HTTPError:
                    pass
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


def _serving(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):  # 503 while the channels start, then 200
        assert process.poll() is None, "sangkien run exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("sangkien run did not serve")


@pytest.mark.parametrize("messenger", ["telegram", "zalo"])
def test_a_note_taken_by_a_killed_process_is_answered_after_restart_without_sending_again(
    fakes: tuple[FakeTelegram, FakeZalo], tmp_path: Path, messenger: str
) -> None:
    """The bot is SIGKILLed while it downloads a worker's voice note: Telegram had been told
    the update arrived (the next poll does), and Zalo gives an update once. Started again, the
    bot hears the note and reads it back; the worker sent it once."""
    from tests.utils.audio import encode, recording, samples

    telegram, zalo = fakes
    env = run_env(f"sqlite:///{tmp_path}/run.db", str(tmp_path), telegram, zalo)
    env["SANGKIEN_ZALO__VOICE_HOSTS"] = '["http://127.0.0.1"]'
    port = int(env["SANGKIEN_SERVER__PORT"])
    fake = telegram if messenger == "telegram" else zalo
    user = TelegramUser(telegram, 41) if messenger == "telegram" else ZaloUser(zalo, "z41")
    audio = samples(recording("vivos", "khách sạn"))
    note = encode(audio, "ogg") if messenger == "telegram" else encode(audio, "aac")
    with subprocess.Popen(["sangkien", "run"], env=env, cwd=tmp_path) as first:
        _serving(port, first)
        for answer, question in [
            ("/start HN-DM01", "tên là gì"),
            ("Lan", "muốn làm gì"),
            ("1", "khó khăn hay lãng phí"),
        ]:
            user.send(answer)
            asyncio.run(user.wait_for(question))
        fake.file_delay = 30.0  # the download hangs: the note is taken, not yet handled
        user.voice(note)
        deadline = time.monotonic() + 30
        while not fake.file_requests:
            assert time.monotonic() < deadline, "the note was not taken"
            time.sleep(0.01)
        first.kill()
    fake.file_delay = 0.0
    with subprocess.Popen(
        ["sangkien", "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    ) as second:
        try:
            read_back = asyncio.run(user.wait_for("Tôi nghe được", seconds=30))
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = second.communicate(timeout=60)
    assert "khách sạn" in read_back.lower()
    assert sum("Tôi nghe được" in text for text in user.texts()) == 1
    assert b"Traceback" not in stderr


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


async def test_a_channel_that_cannot_start_is_retried_and_reported_by_health(
    fakes: tuple[FakeTelegram, FakeZalo], tmp_path: Path
) -> None:
    from bot.runtime import Bot, open_database
    from bot.settings import Settings

    telegram, zalo = fakes
    zalo.faults.add("deleteWebhook", "500", "500", "500", "500")  # more than one start tries
    telegram.faults.add("getMe", "drop", "drop")  # Telegram unreachable at first
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/h.db",
        data_dir=tmp_path,
        telegram={"token": telegram.token, "api_base_url": telegram.base_url, "poll_timeout": 1},
        zalo={"token": zalo.token, "api_base_url": zalo.base_url, "poll_timeout": 1},
    )
    engine = open_database(settings)
    bot = Bot(settings, engine)
    bot.base_backoff = 0.2
    transport = httpx.ASGITransport(app=bot.app)
    async with bot.running(), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        await wait_for(lambda: "zalo" in bot.failing() and bot.failing()["zalo"] != "starting")
        down = await http.get("/health")
        assert down.status_code == 503 and "zalo" in down.json()["failing"]
        await wait_for(lambda: not bot.failing(), seconds=30)
        up = await http.get("/health")
        assert up.json() == {"status": "ok", "channels": ["telegram", "zalo"]}
        ZaloUser(zalo, "z41").send("/start HN-DM01")
        await ZaloUser(zalo, "z41").wait_for("tên là gì")
    engine.dispose()


async def test_the_recogniser_is_loaded_while_the_bot_starts_not_at_the_first_note(
    fakes: tuple[FakeTelegram, FakeZalo], tmp_path: Path
) -> None:
    """Loading the model took about a second at the first voice note after every start: with
    restarts every few seconds (the soak), that second was taken from every note's turn."""
    from bot.runtime import Bot, open_database
    from bot.settings import Settings

    telegram, _ = fakes
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/v.db",
        data_dir=tmp_path,
        telegram={"token": telegram.token, "api_base_url": telegram.base_url, "poll_timeout": 1},
    )
    engine = open_database(settings)
    bot = Bot(settings, engine)
    assert not bot.services.voice.ready
    async with bot.running():
        await wait_for(lambda: bot.services.voice.ready, seconds=60)
    engine.dispose()


async def wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.05)


def _run_env(tmp_path: Path, telegram: FakeTelegram, **extra: str) -> dict[str, str]:
    return run_env(f"sqlite:///{tmp_path}/run.db", str(tmp_path), telegram) | extra


def test_a_broadcast_killed_in_the_middle_resumes_and_sends_each_group_one_ranking(
    fakes: tuple[FakeTelegram, FakeZalo], tmp_path: Path
) -> None:
    """Friday 16:00 has just passed; `sangkien run` posts the ranking to 90 groups, is killed
    (SIGKILL) a third of the way, between two posts, and is started again.

    Between two posts, not during one: a post Telegram accepted in the milliseconds before the
    kill, and that the dead process had no time to mark sent, is sent again on restart (the
    Bot API has no idempotency key; losing a group's ranking would be worse). The kill comes
    a few milliseconds after a post arrived, well inside the 35 ms pause before the next."""
    import datetime as dt
    import zoneinfo

    from bot.runtime import open_database
    from bot.settings import Settings
    from tests.utils.programme import group

    telegram, _ = fakes
    zone = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
    just_past = dt.datetime.now(zone) - dt.timedelta(minutes=1)
    env = _run_env(
        tmp_path,
        telegram,
        SANGKIEN_RANKINGS__DAY=just_past.strftime("%a").lower(),
        SANGKIEN_RANKINGS__TIME=just_past.strftime("%H:%M"),
    )
    engine = open_database(Settings(database_url=env["SANGKIEN_DATABASE_URL"]))
    groups = [f"-100{n:03d}" for n in range(90)]
    for chat_id in groups:
        group(engine, "telegram", chat_id, "HN-KCN", at=dt.datetime.now(dt.UTC))
    engine.dispose()

    def photos() -> int:
        return len(telegram.sent_at)  # every accepted post

    with subprocess.Popen(["sangkien", "run"], env=env, cwd=tmp_path) as first:
        deadline = time.monotonic() + 60
        while photos() < 30:
            assert time.monotonic() < deadline and first.poll() is None, "no broadcast"
            time.sleep(0.001)
        time.sleep(0.012)  # its mark committed, the next post not begun
        first.kill()  # in the middle of the broadcast
    assert photos() < len(groups)
    with subprocess.Popen(
        ["sangkien", "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    ) as second:
        try:
            deadline = time.monotonic() + 60
            while photos() < len(groups):
                assert time.monotonic() < deadline, f"only {photos()} of {len(groups)} sent"
                time.sleep(0.1)
            time.sleep(1.0)  # anything sent twice would arrive by now
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = second.communicate(timeout=60)
    for chat_id in groups:
        [message] = telegram.sent[chat_id]
        assert message["text"].startswith("🏆 Xếp hạng sáng kiến tuần")
        assert message["data"].startswith(b"\x89PNG")
    assert telegram.rate_limited == 0
    assert b"Traceback" not in stderr


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_processes_on_postgresql_post_each_ranking_once_and_one_takes_over(
    fakes: tuple[FakeTelegram, FakeZalo], tmp_path: Path, db_url: str
) -> None:
    import datetime as dt
    import zoneinfo

    from sqlalchemy import text

    from storage.db import create_db_engine
    from tests.utils.programme import group

    telegram, _ = fakes
    just_past = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")) - dt.timedelta(minutes=1)
    schedule = {
        "SANGKIEN_DATABASE_URL": db_url,
        "SANGKIEN_RANKINGS__DAY": just_past.strftime("%a").lower(),
        "SANGKIEN_RANKINGS__TIME": just_past.strftime("%H:%M"),
        "SANGKIEN_JOBS__LEADER_CHECK_SECONDS": "0.5",
        "SANGKIEN_LOG_LEVEL": "INFO",
    }
    engine = create_db_engine(db_url)
    groups = [f"-200{n:03d}" for n in range(40)]
    for chat_id in groups:
        group(engine, "telegram", chat_id, "HN-KCN", at=dt.datetime.now(dt.UTC))
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    processes = []
    for n, log in enumerate(logs):
        env = _run_env(tmp_path / str(n), telegram, **schedule)
        (tmp_path / str(n)).mkdir()
        with log.open("wb") as sink:
            processes.append(
                subprocess.Popen(["sangkien", "run"], env=env, cwd=tmp_path, stderr=sink)
            )
    try:
        deadline = time.monotonic() + 60
        while sum(len(telegram.sent[chat_id]) for chat_id in groups) < len(groups):
            assert time.monotonic() < deadline, "the ranking did not go out"
            time.sleep(0.1)
        time.sleep(1.5)
        assert all(len(telegram.sent[chat_id]) == 1 for chat_id in groups)
        took = b"now runs the scheduled jobs"
        leading = [n for n, log in enumerate(logs) if took in log.read_bytes()]
        assert len(leading) == 1
        with engine.connect() as connection:
            runs = connection.execute(
                text("SELECT status FROM job_run WHERE name = 'rankings'")
            ).all()
        assert [row.status for row in runs] == ["done"]
        processes[leading[0]].kill()  # the leader dies; the other takes over at once
        standby = logs[1 - leading[0]]
        deadline = time.monotonic() + 30
        while took not in standby.read_bytes():
            assert time.monotonic() < deadline, "nobody took over"
            time.sleep(0.1)
        time.sleep(1.0)
        assert all(len(telegram.sent[chat_id]) == 1 for chat_id in groups)  # nothing re-sent
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)
        engine.dispose()
    assert b"Traceback" not in standby.read_bytes()


def test_shutdown_is_bounded_when_the_messenger_does_not_answer(
    fakes: tuple[FakeTelegram, FakeZalo], tmp_path: Path
) -> None:
    """SIGTERM while a reply is being retried against a failing Telegram: the process stops
    within its grace, and the reply goes at the next start."""
    telegram, _ = fakes
    telegram.faults.add("sendMessage", *["500"] * 200)
    env = _run_env(tmp_path, telegram, SANGKIEN_SERVER__SHUTDOWN_GRACE_SECONDS="2")

    def failures_left() -> int:
        return len(telegram.faults._queue["sendMessage"])

    with subprocess.Popen(
        ["sangkien", "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    ) as first:
        TelegramUser(telegram, 51).send("/start HN-DM01")
        deadline = time.monotonic() + 60
        while failures_left() == 200:
            assert time.monotonic() < deadline, "the bot never tried to answer"
            time.sleep(0.05)
        time.sleep(0.5)  # inside its retries now
        stopping = time.monotonic()
        first.send_signal(signal.SIGTERM)
        _, stderr = first.communicate(timeout=60)
        stopped_in = time.monotonic() - stopping
    assert first.returncode == 0, stderr.decode()
    assert stopped_in < 2 + 3, f"took {stopped_in:.1f} s to stop"
    assert b"Traceback" not in stderr
    assert TelegramUser(telegram, 51).said() == ""

    assert b"1 left for the next start" in stderr  # and released: not held by a lease
    telegram.faults._queue["sendMessage"].clear()  # Telegram answers again
    with subprocess.Popen(["sangkien", "run"], env=env, cwd=tmp_path) as second:
        try:
            asyncio.run(TelegramUser(telegram, 51).wait_for("tên là gì", seconds=90))
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(60)


def test_the_configured_telegram_limits_reach_its_sender(tmp_path: Path) -> None:
    """`[telegram] per_second` / `chat_per_second` (0: none per chat) pace what is sent."""
    from bot.runtime import Bot, open_database
    from bot.settings import Settings

    token = "7000001:AAH3kq9Zx_Tf8mPq2LrWv5nYc0bJdE4sGhU"
    for given, expected in [
        ({}, (30.0, 1.0)),
        ({"per_second": 5, "chat_per_second": 0}, (5, None)),
    ]:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path}/l.db",
            data_dir=tmp_path,
            telegram={"token": token, "api_base_url": "http://127.0.0.1:9", **given},
        )
        engine = open_database(settings)
        bot = Bot(settings, engine)
        assert bot.telegram is not None
        limits = bot.telegram.pace.limits
        assert (limits.per_second, limits.chat_per_second) == expected
        bot.services.dispatcher.close()
        engine.dispose()


def test_debug_logs_carry_no_names_texts_phones_or_short_tokens(tmp_path: Path) -> None:
    """At DEBUG the library logged getUpdates' results (names, texts), phones written with
    brackets passed, and a token whose bot id had 3 digits was logged whole."""
    telegram = FakeTelegram(token="123:AAH3kq9Zx_Tf8mPq2LrWv5nYc0bJdE4sGhU")
    zalo = FakeZalo()
    telegram.server.start()
    zalo.server.start()
    env = run_env(f"sqlite:///{tmp_path}/run.db", str(tmp_path), telegram, zalo)
    env["SANGKIEN_LOG_LEVEL"] = "DEBUG"
    port = int(env["SANGKIEN_SERVER__PORT"])
    said = ["Trịnh Thị Bí Mật", "(091) 234-5678", "+84 (0) 912 345 678", "ý tưởng riêng tư"]
    try:
        with subprocess.Popen(
            ["sangkien", "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as process:  # fmt: skip
            try:
                for _ in range(300):
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).is_success:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.1)
                user = TelegramUser(telegram, 41, name="Trịnh Thị Bí Mật")
                user.send("/start HN-DM01")
                asyncio.run(user.wait_for("tên là gì"))
                for text in said[1:]:
                    user.send(text)
                    asyncio.run(user.wait_for(text[:0] or "họ tên", seconds=30))
            finally:
                process.send_signal(signal.SIGTERM)
                _, stderr = process.communicate(timeout=60)
    finally:
        telegram.server.stop()
        zalo.server.stop()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "DEBUG" in log  # it did log at DEBUG
    for secret in (*said, "0912345678", "2345678", telegram.token, zalo.token):
        assert secret not in log, f"{secret!r} reached the log"


def test_run_serves_the_officers_pages_signed_in_by_the_link_from_the_chat(
    fakes: tuple[FakeTelegram, FakeZalo], tmp_path: Path
) -> None:
    telegram, zalo = fakes
    env = run_env(f"sqlite:///{tmp_path}/web.db", str(tmp_path), telegram, zalo)
    env["SANGKIEN_LOG_LEVEL"] = "DEBUG"
    port = int(env["SANGKIEN_SERVER__PORT"])
    site = f"http://127.0.0.1:{port}"
    env["SANGKIEN_WEB__PUBLIC_URL"] = site
    with subprocess.Popen(
        ["sangkien", "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        try:
            _serving(port, process)
            invite = subprocess.run(
                ["sangkien", "officers", "invite", "--unit", "HN-LB"],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                check=True,
            )
            code = invite.stdout.split()[1]
            officer = TelegramUser(telegram, 77, name="Hùng")
            officer.send(f"/canbo {code}")
            asyncio.run(officer.wait_for("cán bộ công đoàn của"))
            officer.send("Trần Văn Hùng")
            asyncio.run(officer.wait_for("muốn làm gì"))
            officer.send("/web")
            asyncio.run(officer.wait_for("/web/login/"))
            link = next(
                word for word in officer.said().split() if word.startswith(f"{site}/web/login/")
            )
            assert httpx.get(link).status_code == 200  # a preview's fetch signs nobody in
            signed = httpx.post(link)
            assert signed.status_code == 303
            cookie = signed.headers["set-cookie"].split(";", 1)[0]
            queue = httpx.get(f"{site}/web/", headers={"Cookie": cookie})
            assert queue.status_code == 200 and "Trần Văn Hùng" in queue.text
            assert httpx.get(f"{site}/web/").status_code == 401
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    token = link.rsplit("/", 1)[1]
    assert token.encode() not in stderr, "the sign-in link reached the log"
    assert cookie.split("=", 1)[1].encode() not in stderr
