"""Load: a crowd of workers submitting at once to the real `sangkien run`, through Telegram.

    python -m benchmarks.load [--users 50,200] [--pacing on,off] [--setups sqlite,pg,pg2]

The bot runs as its own process(es) (`sangkien run`, polling); this process holds the fake
Bot API (on 127.0.0.1; it answers 429 past 30 messages a second or 20 a minute to a group)
and the crowd. Each simulated worker goes through the whole text submission (sign-up, a new
idea, problem, change, benefit, field, applied, co-authors, send), pressing buttons where
there are any, and answers as soon as the bot has asked its next question: no reading time,
a crowd at machine speed.

Setups: ``sqlite`` (one process, the embedded default), ``pg`` (one process on a private,
durable PostgreSQL cluster), ``pg2`` (two processes on it, each chat's updates given to one of
them, as a load balancer in front of webhooks would; every send counts against the one
bot's limits). Pacing ``on`` is the shipped configuration; ``off`` raises the bot's limits
to 1,000 a second with none per chat and turns the fake's flood control off: capacity.

Prints one JSON line per run: updates per second, first reply after an answer (the first
message that arrives) and full turn (until the next question) p50/p99 in ms, messages per
submission, 429s met, the most messages in any one second, presses answered more than once.
With pacing on, ``floor_ms`` is the least mean wait the messenger's limit allows: the crowd
answers at once, so every worker is always waiting; at 30 messages a second and m messages a
turn, at most 30 / m turns a second are answered, and by Little's law the mean wait of N
workers is at least N × m / 30 s. Served in turn (no worker starved to favour others) the
p50 is about the mean, so ``first_reply_p50_ms`` compares with it.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import contextvars
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text
from starlette.requests import Request
from starlette.responses import Response

from benchmarks.soak import NAMES, BotProcess, script
from bot.runtime import demo_database
from tests.fakes.base import Inbox
from tests.fakes.telegram import FakeTelegram, TelegramUser
from tests.utils.bots import run_env
from tests.utils.postgres import Cluster, find_bin_dir

SCRIPT = script(voice=False)  # the soak's text submission
TURN_TIMEOUT = 300.0
# Which bot process a request came from (each request runs in a task of its own).
_LANE: contextvars.ContextVar[int] = contextvars.ContextVar("lane", default=0)


class BalancedTelegram(FakeTelegram):
    """The fake Bot API for one bot served by `lanes` processes: each polls with a token of its
    own (standing for its own route behind a load balancer) and gets the updates of its
    share of the chats; every send counts against the one bot's limits. It tells the crowd
    the moment a message reaches a chat."""

    def __init__(self, lanes: int) -> None:
        super().__init__()
        self.tokens = [self.token] + [f"{self.token[:-2]}L{n}" for n in range(1, lanes)]
        self.inboxes = [self.inbox] + [
            Inbox(self.server, "X-Telegram-Bot-Api-Secret-Token") for _ in range(1, lanes)
        ]
        self.arrivals: dict[str, list[float]] = collections.defaultdict(list)
        self.crowd_loop: asyncio.AbstractEventLoop | None = None
        self.waiters: dict[str, asyncio.Event] = {}

    def deliver(self, update: dict[str, Any]) -> None:
        body = update.get("message") or update["callback_query"]["message"]
        self.inboxes[abs(int(body["chat"]["id"])) % len(self.inboxes)].put(update)

    async def _method(self, request: Request) -> Response:
        token = request.path_params["token"]
        if token in self.tokens:
            _LANE.set(self.tokens.index(token))
            request.path_params["token"] = self.token
        return await super()._method(request)

    async def _api_getUpdates(self, args: dict[str, Any]) -> Any:  # noqa: N802
        inbox = self.inboxes[_LANE.get()]
        offset = int(args.get("offset", 0) or 0)

        def confirmed_and_rest(queue: collections.deque[dict[str, Any]]) -> list[dict[str, Any]]:
            while queue and queue[0]["update_id"] < offset:
                queue.popleft()
            return list(queue)

        return await inbox.wait(min(float(args.get("timeout", 0) or 0), 2.0), confirmed_and_rest)

    async def _api_sendMessage(self, args: dict[str, Any]) -> Any:  # noqa: N802
        result = await super()._api_sendMessage(args)
        if not isinstance(result, Response):
            chat = str(args["chat_id"])
            self.arrivals[chat].append(time.monotonic())
            waiter = self.waiters.get(chat)
            if waiter is not None and self.crowd_loop is not None:
                self.crowd_loop.call_soon_threadsafe(waiter.set)
        return result


class Worker:
    def __init__(self, fake: BalancedTelegram, number: int) -> None:
        self.name = NAMES[number % len(NAMES)]
        self.user = TelegramUser(fake, 700_000 + number, self.name)
        self.chat = str(self.user.id)
        self.fake = fake
        self.arrived = fake.waiters[self.chat] = asyncio.Event()
        self.first: list[float] = []
        self.full: list[float] = []
        self.presses: list[str] = []

    async def run(self) -> None:
        for step in SCRIPT:
            seen = len(self.user.texts())
            started = time.monotonic()
            if step.press is not None:
                self.presses.append(self.user.press(step.press)["callback_query"]["id"])
            else:
                self.user.send(self.name if step.answer == "<name>" else step.answer)
            while not any(step.expect in text for text in self.user.texts()[seen:]):
                self.arrived.clear()
                if any(step.expect in text for text in self.user.texts()[seen:]):
                    break
                remaining = TURN_TIMEOUT - (time.monotonic() - started)
                if remaining <= 0:
                    raise SystemExit(f"{self.name} waited {TURN_TIMEOUT:.0f} s for {step.expect!r}")
                await asyncio.wait_for(self.arrived.wait(), remaining)
            arrivals = self.fake.arrivals[self.chat]
            self.first.append(arrivals[seen] - started)
            self.full.append(time.monotonic() - started)


def _fresh_database(server: str, name: str) -> str:
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _quantiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=100)
    return round(q[49] * 1000, 1), round(q[98] * 1000, 1)


def _most_in_a_second(times: list[float]) -> int:
    times = sorted(times)
    return max((bisect.bisect_right(times, t + 1.0) - n for n, t in enumerate(times)), default=0)


async def run_once(setup: str, users: int, pacing: bool, cluster: Cluster | None) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"sangkien-load-{setup}-"))
    if setup == "sqlite":
        url = f"sqlite:///{folder}/load.db"
    else:
        assert cluster is not None
        url = _fresh_database(cluster.url, folder.name.replace("-", "_"))
    demo_database(url).dispose()
    lanes = 2 if setup == "pg2" else 1
    fake = BalancedTelegram(lanes)
    fake.flood_control = pacing
    fake.crowd_loop = asyncio.get_running_loop()
    fake.server.start()
    bots = []
    for lane in range(lanes):
        (folder / str(lane)).mkdir()
        env = run_env(url, str(folder / str(lane)), fake) | {
            "SANGKIEN_TELEGRAM__TOKEN": fake.tokens[lane],
            "SANGKIEN_LOG_LEVEL": "WARNING",
            # The crowd tells one idea many times over: not asked about the very similar one.
            "SANGKIEN_SIMILAR__ASK_WORKERS": "false",
        }
        if not pacing:
            env |= {
                "SANGKIEN_TELEGRAM__PER_SECOND": "1000",
                "SANGKIEN_TELEGRAM__CHAT_PER_SECOND": "0",
            }
        bots.append(BotProcess(env, folder / str(lane)))
    for bot in bots:
        bot.start()
    try:
        for bot in bots:
            await asyncio.to_thread(bot.wait_until_serving)
        crowd = [Worker(fake, n) for n in range(users)]
        started = time.monotonic()
        await asyncio.gather(*(worker.run() for worker in crowd))
        elapsed = time.monotonic() - started
        await asyncio.sleep(1.0)  # a message sent twice would arrive now
    finally:
        for bot in bots:
            bot.stop()
        fake.server.stop()
    first = [value for worker in crowd for value in worker.first]
    full = [value for worker in crowd for value in worker.full]
    messages = sum(len(fake.sent[worker.chat]) for worker in crowd)
    presses = [press for worker in crowd for press in worker.presses]
    answers = collections.Counter(fake.answered)
    result: dict[str, Any] = {
        "setup": setup,
        "users": users,
        "pacing": "on" if pacing else "off",
        "updates": users * len(SCRIPT),
        "updates_per_s": round(users * len(SCRIPT) / elapsed, 1),
        "first_reply_p50_ms": _quantiles(first)[0],
        "first_reply_p99_ms": _quantiles(first)[1],
        "full_turn_p50_ms": _quantiles(full)[0],
        "full_turn_p99_ms": _quantiles(full)[1],
        "messages_per_submission": round(messages / users, 2),
        "rate_limited": fake.rate_limited,
        "most_in_a_second": _most_in_a_second(fake.sent_at),
        "presses": len(presses),
        "presses_unanswered": sum(1 for press in presses if answers[press] == 0),
        "presses_answered_twice": sum(1 for press in presses if answers[press] > 1),
    }
    if pacing:
        # Little's law over a crowd that is always waiting (see the module's docstring).
        per_turn = messages / (users * len(SCRIPT))
        result["floor_ms"] = round(max(users * per_turn, 1) / 30 * 1000, 1)
    return result


async def main_async(users: list[int], pacings: list[bool], setups: list[str]) -> None:
    cluster: Cluster | None = None
    if any(setup.startswith("pg") for setup in setups):
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise SystemExit("PostgreSQL (initdb, pg_ctl) is not installed")
        cluster = Cluster(bin_dir, durable=True)  # durable per turn, as shipped
        cluster.start()
    try:
        for setup in setups:
            for pacing in pacings:
                for count in users:
                    result = await run_once(setup, count, pacing, cluster)
                    print(json.dumps(result), flush=True)
    finally:
        if cluster is not None:
            cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="50,200")
    parser.add_argument("--pacing", default="on,off")
    parser.add_argument("--setups", default="sqlite,pg,pg2")
    args = parser.parse_args(argv)
    users = [int(n) for n in args.users.split(",")]
    pacings = [value == "on" for value in args.pacing.split(",")]
    asyncio.run(main_async(users, pacings, args.setups.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
