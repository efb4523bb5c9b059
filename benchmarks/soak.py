"""Soak: `sangkien run` as a real process, SIGKILLed at random while a crowd submits ideas.

    python -m benchmarks.soak [--workers 200] [--kills 50] [--pg-restarts 2] [--seed 1]

A private PostgreSQL cluster, the fake Telegram and Zalo servers (in this process) and the bot
(its own process, both messengers polling). Simulated workers, half on each messenger, go
through the whole submission: sign-up, a new idea, problem (one in five speaks it: a real
recording, transcribed by the bot, read back and confirmed), change, benefit, field, applied,
co-authors, send. Each waits for the bot's next question before answering; one told «gửi lại
sau ít phút» or asked the question they just answered again sends the answer again, and so
does one who hears nothing for a minute (a Zalo
update taken by a poll just before a kill is gone: Zalo's getUpdates has no redelivery).
Meanwhile the bot is killed (SIGKILL) at random moments and started again, and PostgreSQL is
restarted under it. Friday's ranking is due when the soak starts, so the broadcast to the
unions' groups runs through the kills too. While kills remain when a crowd is done, another
comes.

Prints one JSON line: workers, updates sent, kills, PostgreSQL restarts, lost answers (an
answer the bot acknowledged by asking the next question, not stored), unanswered answers (never
acknowledged), duplicates (an idea stored twice, a ranking posted twice to a group), missing
rankings nobody knows of, rankings in doubt (the bot died mid-post and recorded that it cannot
know whether the group has it; a copy went to the unit's officers), messages sent twice to a
worker (a send in flight at a kill is repeated: the Bot API has no idempotency key), updates
kept and never handled, resends, the longest recovery (a kill to the next message out), the
longest wait for an answer (from the first time it was sent), the same counting only the time
the bot was serving (its /health said 200: once the bot is back, however many kills came
between), and the share of the soak it served. Waits over 30 s are listed on stderr, each
saying whether its message was lost in transit: Zalo handed it to a poll of a process killed
before it kept it (Zalo gives an update once; the worker sends it again). Those are counted
apart, and the longest wait is given again without them.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import datetime as dt
import itertools
import json
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

from bot.runtime import demo_database
from bot.services.outbox import IN_DOUBT
from dialogs import messages as msg
from storage.models import OutboxStatus, ProcessedUpdate
from tests.fakes.telegram import FakeTelegram, TelegramUser
from tests.fakes.zalo import FakeZalo, ZaloUser
from tests.utils.audio import encode, recording, samples
from tests.utils.bots import run_env
from tests.utils.postgres import Cluster, find_bin_dir
from tests.utils.programme import group

PROBLEM = "Máy cắt hay kẹt vải, mỗi ca dừng máy 30 phút"
SOLUTION = "Gắn thêm thanh dẫn vải trước lưỡi cắt"
NAMES = [
    f"{family} {middle} {given}"
    for family in ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng")
    for middle in ("Văn", "Thị", "Đức", "Ngọc")
    for given in ("An", "Bình", "Chi", "Dũng", "Hoa", "Lan", "Minh", "Nam", "Tâm", "Yến")
]
# The installed command next to this Python, as a service starts it (not through a version
# manager's shim, which adds 0.25 s to every start).
SANGKIEN = Path(sys.executable).parent / "sangkien"
RESEND_AFTER = 60.0  # a worker who hears nothing for a minute sends the answer again
GIVE_UP_AFTER = 300.0  # an answer not acknowledged in five minutes counts as unanswered
LONG_WAIT = 30.0  # the target: nobody waits longer for an answer
GROUPS = 24
GROUP_CHATS = [f"-300{n:03d}" for n in range(GROUPS)]


@dataclass
class Step:
    """One answer and a fragment of the question that acknowledges it."""

    answer: str  # "<voice>" for the recording
    expect: str
    press: int | None = None  # on Telegram, a button press instead of typing


def script(voice: bool) -> list[Step]:
    spoken = [Step("<voice>", "Tôi nghe được"), Step("đúng", "đã thay đổi gì")]
    return [
        Step("/start HN-DM01", "tên là gì"),
        Step("<name>", "muốn làm gì"),
        Step("1", "khó khăn hay lãng phí", press=1),
        *(spoken if voice else [Step(PROBLEM, "đã thay đổi gì")]),
        Step(SOLUTION, "được lợi gì nhất"),
        Step("1", "bao nhiêu thời gian", press=1),
        Step("30 phút mỗi ca", "thuộc mảng nào"),
        Step("1", "Đã làm theo cách mới chưa", press=1),
        Step("1", "Có ai cùng làm không", press=1),
        Step("không", "Gửi đi nhé"),
        Step("1", "Đã gửi sáng kiến", press=1),
    ]


@dataclass
class Tally:
    updates: int = 0
    resends: int = 0
    unanswered: int = 0
    waits: list[float] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)  # each wait, from and to
    # What a wait over LONG_WAIT saw, when it began and ended, and its first message's key.
    long_waits: list[tuple[str, float, float, str]] = field(default_factory=list)


class Worker:
    """One person on one messenger, answering question by question."""

    def __init__(
        self, number: int, messenger: Any, telegram: bool, voice: bool, speech: bytes
    ) -> None:
        self.name = NAMES[number % len(NAMES)]
        self.telegram = telegram
        self.user: TelegramUser | ZaloUser = (
            TelegramUser(messenger, 900_000 + number, self.name)
            if telegram
            else ZaloUser(messenger, f"zs{number}", self.name)
        )
        self.voice, self.speech = voice, speech
        self.finished = False
        self.sent_at: set[int] = set()  # how many messages the bot had sent at each answer
        self.stuck_at = ""

    def said(self) -> list[str]:
        return self.user.texts()

    def history(self) -> list[str]:
        """What the bot sent; » marks a message that came after the worker had written (an
        answer or the same one again)."""
        return [("» " if n in self.sent_at else "") + m for n, m in enumerate(self.said())]

    def _answer(self, step: Step) -> str:
        """Send the step's answer; the key the bot knows its update by."""
        if step.answer == "<voice>":
            update = self.user.voice(self.speech)
        elif step.press is not None and isinstance(self.user, TelegramUser):
            update = self.user.press(step.press)
        else:
            update = self.user.send(self.name if step.answer == "<name>" else step.answer)
        if self.telegram:
            return f"u{update['update_id']}"
        return f"{update['event_name']}:{update['message']['message_id']}"

    async def run(self, tally: Tally, rng: random.Random) -> None:
        for step in script(self.voice):
            await asyncio.sleep(rng.uniform(0.2, 2.0))  # reading, thinking, typing
            if not await self._until_acknowledged(step, tally):
                tally.unanswered += 1
                self.stuck_at = f"{step.answer!r} (expecting {step.expect!r}): {self.history()}"
                return
        self.finished = True

    async def _until_acknowledged(self, step: Step, tally: Tally) -> bool:
        started = time.monotonic()
        first = len(self.said())  # the answer is acknowledged by anything read since
        question = self.said()[first - 1] if first else None
        first_key = ""
        while time.monotonic() - started < GIVE_UP_AFTER:
            seen = len(self.said())
            self.sent_at.add(seen)
            key = self._answer(step)
            first_key = first_key or key
            tally.updates += 1
            sent = time.monotonic()
            while time.monotonic() - sent < RESEND_AFTER:
                if self._acknowledged(step, first):
                    self._waited(tally, step, started, first, first_key)
                    return True
                since = self.said()[seen:]
                if any(reply.startswith(msg.TRY_AGAIN[:20]) for reply in since):
                    break  # "send it again in a few minutes": a worker does, a bit later
                if question is not None and question in since:
                    break  # the question they answered, asked again: they answer it again
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0)
            if self._acknowledged(step, first):  # it came while they were looking away
                self._waited(tally, step, started, first, first_key)
                return True
            tally.resends += 1
        return False

    def _waited(self, tally: Tally, step: Step, started: float, first: int, key: str) -> None:
        wait = time.monotonic() - started
        tally.waits.append(wait)
        tally.spans.append((started, started + wait))
        if wait > LONG_WAIT:
            tally.long_waits.append(
                (
                    f"{self.user!r} waited {wait:.1f} s from {started:.1f} for "
                    f"{step.expect!r}: {self.history()[first - 1 :]}",
                    started,
                    started + wait,
                    f"{'telegram' if self.telegram else 'zalo'} {self.user.id} {key}",
                )
            )

    def _acknowledged(self, step: Step, since: int) -> bool:
        return any(step.expect in reply for reply in self.said()[since:])


class BotProcess:
    """`sangkien run`, started again after every kill; its log appended to one file."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder = env, folder
        self.log = folder / "bot.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [str(SANGKIEN), "run"],
                env=self.env,
                cwd=self.folder,
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )

    def wait_until_serving(self, seconds: float = 60) -> None:
        """Until /health answers 200; the log's end if the process died instead."""
        url = f"http://127.0.0.1:{self.env['SANGKIEN_SERVER__PORT']}/health"
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"sangkien run exited:\n{self.log.read_text()[-2000:]}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"sangkien run did not serve in {seconds:.0f} s")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)


class Uptime:
    """When the bot served (its /health said 200), polled ten times a second in a thread."""

    def __init__(self, port: str) -> None:
        self._url = f"http://127.0.0.1:{port}/health"
        self.serving: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        since: float | None = None
        with httpx.Client(timeout=0.5) as client:
            while not self._stop.is_set():
                try:
                    up = client.get(self._url).status_code == 200
                except httpx.HTTPError:
                    up = False
                now = time.monotonic()
                if up and since is None:
                    since = now
                elif not up and since is not None:
                    self.serving.append((since, now))
                    since = None
                self._stop.wait(0.1)
        if since is not None:
            self.serving.append((since, time.monotonic()))

    def served(self, start: float, end: float) -> float:
        """How long the bot served between `start` and `end`."""
        return sum(max(0.0, min(end, to) - max(start, since)) for since, to in self.serving)


def _compile_bot() -> None:
    """Write the bot's bytecode, as installing a package does: a checkout run with
    PYTHONDONTWRITEBYTECODE compiles every module at every one of a hundred starts (0.2 s
    of CPU each)."""
    for package in ("bot", "dialogs", "nlp", "storage"):
        compileall.compile_dir(Path(__file__).resolve().parent.parent / package, quiet=1)


def _bot_env(url: str, telegram: FakeTelegram, zalo: FakeZalo, folder: Path) -> dict[str, str]:
    just_past = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")) - dt.timedelta(minutes=1)
    return run_env(url, str(folder), telegram, zalo) | {
        "SANGKIEN_ZALO__VOICE_HOSTS": json.dumps(["http://127.0.0.1"]),
        "SANGKIEN_RANKINGS__DAY": just_past.strftime("%a").lower(),
        "SANGKIEN_RANKINGS__TIME": just_past.strftime("%H:%M"),
        "SANGKIEN_JOBS__LEADER_CHECK_SECONDS": "0.5",
        "SANGKIEN_LOG_LEVEL": "WARNING",
        # The crowd tells one idea many times over: not asked about the very similar one.
        "SANGKIEN_SIMILAR__ASK_WORKERS": "false",
    }


async def _chaos(
    bot: BotProcess,
    cluster: Cluster,
    plan: list[str],
    crowd_done: asyncio.Event,
    rng: random.Random,
    recoveries: list[tuple[float, str]],
) -> None:
    """Work through `plan` ("kill" or "pg"), one at a random moment after the last, until the
    plan or the crowd is done."""
    while plan and not crowd_done.is_set():
        try:
            await asyncio.wait_for(crowd_done.wait(), rng.uniform(1.0, 6.0))
            return
        except TimeoutError:
            pass
        what = plan.pop(0)
        if what == "kill":
            bot.kill()
            recoveries.append((time.monotonic(), "kill"))
            bot.start()
        else:
            await asyncio.to_thread(cluster.stop_server)
            recoveries.append((time.monotonic(), "pg"))
            await asyncio.sleep(rng.uniform(2.0, 5.0))
            await asyncio.to_thread(cluster.start_server)


def _stored(engine: Engine) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every initiative by its author's (channel, account)."""
    query = text(
        "SELECT identity.channel, identity.external_id, initiative.problem, "
        "initiative.solution, initiative.benefit_kind, initiative.benefit_detail, "
        "initiative.field, initiative.applied, initiative.co_authors, initiative.status "
        "FROM initiative JOIN identity ON identity.person_id = initiative.author_id"
    )
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for row in connection.execute(query).mappings():
            found.setdefault((row["channel"], row["external_id"]), []).append(dict(row))
    return found


def _outbox_of(engine: Engine, channel: str, chat_id: str) -> list[dict[str, Any]]:
    """A chat's outbox rows, oldest first, as the diagnosis of a stuck worker."""
    query = text(
        "SELECT id, update_key, status, attempts, parts_sent, in_doubt, created_at, "
        "lease_until, sent_at, last_error, left(payload::text, 60) AS text "
        "FROM outbox WHERE channel = :channel AND chat_id = :chat ORDER BY id"
    )
    with engine.connect() as connection:
        rows = connection.execute(query, {"channel": channel, "chat": chat_id}).mappings()
        return [dict(row) for row in rows]


def _ideas_of(
    stored: dict[tuple[str, str], list[dict[str, Any]]], worker: Worker
) -> list[dict[str, Any]]:
    channel = "telegram" if worker.telegram else "zalo"
    return stored.get((channel, str(worker.user.id)), [])


def _lost(worker: Worker, ideas: list[dict[str, Any]]) -> int:
    """Answers of a finished worker that are not in their one sent idea."""
    sent = [idea for idea in ideas if idea["status"] != "draft"]
    if not sent:
        return len(script(worker.voice)) - 3  # every answer about the idea
    idea = sent[0]
    problem = idea["problem"] or ""
    problem_ok = "khách sạn" in problem.lower() if worker.voice else problem == PROBLEM
    checks = [
        problem_ok,
        idea["solution"] == SOLUTION,
        idea["benefit_kind"] == "time",
        "30 phút" in (idea["benefit_detail"] or ""),
        idea["field"] is not None,
        idea["applied"] is True,
        not idea["co_authors"],
    ]
    return checks.count(False)


def _sent_twice(worker: Worker) -> int:
    """Messages the bot sent again with no answer in between (a re-asked question after an
    answer is no repeat)."""
    said = worker.said()
    return sum(
        1
        for n, (before, after) in enumerate(itertools.pairwise(said), start=1)
        if before == after and n not in worker.sent_at
    )


async def soak(workers: int, kills: int, pg_restarts: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL (initdb, pg_ctl) is not installed")
    cluster = Cluster(bin_dir, durable=True)  # a restart must keep what was committed
    url = cluster.start()
    folder = Path(tempfile.mkdtemp(prefix="sangkien-soak-"))
    engine = demo_database(url)
    for chat_id in GROUP_CHATS:
        group(engine, "telegram", chat_id, "HN-KCN", at=dt.datetime.now(dt.UTC))
    telegram, zalo = FakeTelegram(), FakeZalo()
    telegram.server.start()
    zalo.server.start()
    speech = encode(samples(recording("vivos", "khách sạn")), "ogg")
    speech_aac = encode(samples(recording("vivos", "khách sạn")), "aac")
    _compile_bot()
    bot = BotProcess(_bot_env(url, telegram, zalo, folder), folder)
    plan = ["kill"] * kills
    for n in range(pg_restarts):  # spread through the kills
        plan.insert((n + 1) * len(plan) // (pg_restarts + 1), "pg")
    tally, crowd = Tally(), list[Worker]()
    recoveries: list[tuple[float, str]] = []
    started = time.monotonic()
    bot.start()
    bot.wait_until_serving()
    uptime = Uptime(bot.env["SANGKIEN_SERVER__PORT"])
    uptime.start()
    try:
        cohort = 0
        while cohort == 0 or plan:
            people = [
                Worker(
                    cohort * workers + n,
                    telegram if n % 2 == 0 else zalo,
                    telegram=n % 2 == 0,
                    voice=n % 5 == 0,
                    speech=speech if n % 2 == 0 else speech_aac,
                )
                for n in range(workers)
            ]
            crowd += people
            done = asyncio.Event()
            chaos = asyncio.create_task(_chaos(bot, cluster, plan, done, rng, recoveries))
            runs = [person.run(tally, random.Random(rng.random())) for person in people]
            await asyncio.gather(*runs)
            done.set()
            await chaos
            cohort += 1
        await asyncio.sleep(5.0)  # anything still to come (a repeated send) arrives
        await _wait_for_rankings(telegram, engine, seconds=120)
    finally:
        uptime.stop()
        stopped = bot.stop()
        telegram.server.stop()
        zalo.server.stop()
    engine.dispose()  # its connections died with the restarts
    stored = _stored(engine)
    for person in crowd:
        if person.stuck_at or (person.finished and _lost(person, _ideas_of(stored, person))):
            channel = "telegram" if person.telegram else "zalo"
            print(f"outbox of {person.user!r}:", file=sys.stderr)
            for row in _outbox_of(engine, channel, str(person.user.id)):
                print(f"  {row}", file=sys.stderr)
    in_doubt = _in_doubt(engine) & set(GROUP_CHATS)
    with engine.connect() as connection:
        left = connection.execute(
            text("SELECT channel, update_key, owner, payload::text FROM received_update")
        ).all()
    for kept in left[:20]:
        print(f"kept, never handled: {tuple(kept)}"[:400], file=sys.stderr)
    taken = _taken(engine) | {f"{row.channel} {row.update_key}" for row in left}
    kills_at = [at for at, what in recoveries if what == "kill"]
    in_transit = []  # waits whose answer Zalo handed to a poll and the bot never had
    for line, began, ended, sent in tally.long_waits:
        served = uptime.served(began, ended)
        channel, chat_id, key = sent.split(" ", 2)
        how = _lost_in_transit(channel, key, taken, zalo, kills_at)
        lost_on_the_way = how.startswith("; lost in transit")
        if lost_on_the_way:
            in_transit.append((began, ended))
        print(f"long wait ({served:.1f} s serving{how}): {line}", file=sys.stderr)
        if how == "; taken" and served > LONG_WAIT / 2:
            timeline = _timeline(engine, channel, key, began, uptime, telegram, zalo)
            print(f"  {timeline}", file=sys.stderr)
        if served > LONG_WAIT and not lost_on_the_way:
            for row in _outbox_of(engine, channel, chat_id)[-4:]:
                print(f"  outbox: {row}", file=sys.stderr)
    taken_spans = [span for span in tally.spans if span not in in_transit]
    if taken_spans:  # was the messenger's limit the bottleneck, or the bot's serving?
        began, ended = max(taken_spans, key=lambda span: uptime.served(*span))
        pace = _pace(began, ended, telegram, uptime)
        print(f"Telegram sends a second in the longest taken wait: {pace}", file=sys.stderr)
    engine.dispose()
    cluster.stop()
    lost = ideas_twice = 0
    for person in crowd:
        ideas = _ideas_of(stored, person)
        ideas_twice += max(0, len([i for i in ideas if i["status"] != "draft"]) - 1)
        if person.finished and (missing := _lost(person, ideas)):
            lost += missing
            print(f"lost: {person.user!r} {missing} answers: {ideas}", file=sys.stderr)
            print(f"  saw: {person.history()}", file=sys.stderr)
        if person.stuck_at:
            print(f"stuck: {person.user!r} at {person.stuck_at}", file=sys.stderr)
    print(
        f"kills and restarts: {[(round(at, 1), what) for at, what in recoveries]}", file=sys.stderr
    )
    posts = [len(telegram.sent[group]) for group in GROUP_CHATS]
    rankings_twice = sum(max(0, count - 1) for count in posts)
    unposted = {group for group in GROUP_CHATS if not telegram.sent[group]}
    log = bot.log.read_text(encoding="utf-8", errors="replace")
    for traceback in _tracebacks(log):  # what each one was, for whoever reads the figures
        print(f"traceback in the bot's log: {traceback}", file=sys.stderr)
    return {
        "workers": len(crowd),
        "finished": sum(1 for person in crowd if person.finished),
        "updates": tally.updates,
        "kills": sum(1 for _, what in recoveries if what == "kill"),
        "pg_restarts": sum(1 for _, what in recoveries if what == "pg"),
        "lost_answers": lost,
        "unanswered_answers": tally.unanswered,
        "duplicates": ideas_twice + rankings_twice,
        "ideas_twice": ideas_twice,
        "rankings_twice": rankings_twice,
        "missing_rankings": len(unposted - in_doubt),  # nobody knows of these: a failure
        "rankings_in_doubt": len(in_doubt),  # recorded, a copy to the unit's officers
        "in_doubt_missing": len(unposted & in_doubt),
        "messages_sent_twice": sum(_sent_twice(person) for person in crowd),
        "kept_never_handled": len(left),
        "resends": tally.resends,
        "max_recovery_s": round(_max_recovery(recoveries, telegram.sent_at), 2),
        "max_wait_s": round(max(tally.waits, default=0.0), 2),
        # The same, counting only the time the bot was serving: a worker's wait once the bot
        # is back, however many kills came between.
        "max_wait_serving_s": round(
            max((uptime.served(*span) for span in tally.spans), default=0.0), 2
        ),
        # Zalo's getUpdates gives an update once: one in the answer to a poll of a process
        # killed before it kept it is gone, and the worker sends it again (README). The
        # longest wait for an answer the bot did take, and how many it never had:
        "lost_in_transit": len(in_transit),
        "max_wait_serving_taken_s": round(
            max(
                (uptime.served(*span) for span in tally.spans if span not in in_transit),
                default=0.0,
            ),
            2,
        ),
        "serving_share": round(
            uptime.served(started, time.monotonic()) / (time.monotonic() - started), 3
        ),
        "p50_wait_s": round(sorted(tally.waits)[len(tally.waits) // 2], 3) if tally.waits else 0,
        "rate_limited": telegram.rate_limited,
        "log_tracebacks": log.count("Traceback"),
        "clean_stop": stopped == 0,
        "seconds": round(time.monotonic() - started, 1),
    }


def _tracebacks(log: str) -> list[str]:
    """The line before each traceback (what failed) and its last line (the error)."""
    lines, found = log.splitlines(), []
    for number, line in enumerate(lines):
        if line.startswith("Traceback"):
            end = number + 1
            while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end]):
                end += 1
            before = lines[number - 1] if number else ""
            error = lines[end] if end < len(lines) else ""
            found.append(f"{before[:160]} | {error[:200]}")
    return found


async def _wait_for_rankings(telegram: FakeTelegram, engine: Engine, seconds: float) -> None:
    """Until every group has its ranking, or the bot has recorded that it cannot know."""
    engine.dispose()  # its connections died with the restarts
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = {group for group in GROUP_CHATS if not telegram.sent[group]}
        if not waiting or waiting <= _in_doubt(engine):
            await asyncio.sleep(2.0)
            return
        await asyncio.sleep(0.5)


def _in_doubt(engine: Engine) -> set[str]:
    """The chats whose broadcast the bot gave up as in doubt (its sender died mid-post)."""
    query = text("SELECT chat_id FROM outbox WHERE status = :failed AND last_error = :error")
    values = {"failed": OutboxStatus.FAILED.value, "error": IN_DOUBT}
    with engine.connect() as connection:
        return set(connection.scalars(query, values))


def _taken(engine: Engine) -> set[str]:
    """ "channel key" of every update a turn handled."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(f"SELECT channel, update_key FROM {ProcessedUpdate.__table__.name}")  # type: ignore[attr-defined]
        ).all()
    return {f"{channel} {key}" for channel, key in rows}


def _pace(began: float, ended: float, telegram: FakeTelegram, uptime: Uptime) -> str:
    """Telegram messages sent in each second of a span, and whether the bot served then."""
    seconds = []
    for start in range(int(ended - began) + 1):
        at = began + start
        count = sum(1 for t in telegram.sent_at if at <= t < at + 1)
        seconds.append(f"{count}{'' if uptime.served(at, at + 1) > 0.5 else '-'}")
    return " ".join(seconds) + " (- : down)"


def _timeline(
    engine: Engine,
    channel: str,
    key: str,
    began: float,
    uptime: Uptime,
    telegram: FakeTelegram,
    zalo: FakeZalo,
) -> str:
    """Where a taken message's wait went: when a poll first had it (and how many did, until
    one confirmed it), its turn was done and its reply recorded and sent, each as seconds from
    the message (and of them, seconds the bot served)."""
    shift = time.time() - time.monotonic()  # the database's UTC times on the monotonic clock

    def at(moment: dt.datetime | None) -> str:
        if moment is None:
            return "never"
        since = moment.timestamp() - shift
        return f"+{since - began:.1f} s ({uptime.served(began, since):.1f} serving)"

    with engine.connect() as connection:
        turned = connection.scalar(
            text(
                f"SELECT created_at FROM {ProcessedUpdate.__table__.name} "  # type: ignore[attr-defined]
                "WHERE channel = :channel AND update_key = :key"
            ),
            {"channel": channel, "key": key},
        )
        reply = connection.execute(
            text(
                "SELECT created_at, sent_at, attempts FROM outbox "
                "WHERE channel = :channel AND update_key = :key ORDER BY id LIMIT 1"
            ),
            {"channel": channel, "key": key},
        ).first()
    handed = ""
    if channel == "telegram" and (polled := telegram.handed.get(int(key[1:]))) is not None:
        first, times = polled
        handed = f"first polled +{first - began:.1f} s ({times} polls), "
    elif channel == "zalo" and (polled_at := zalo.handed.get(key.partition(":")[2])):
        handed = f"polled +{polled_at - began:.1f} s, "
    if reply is None:
        return f"{handed}turn done {at(turned)}, no reply recorded"
    return (
        f"{handed}turn done {at(turned)}, reply recorded {at(reply.created_at)}, "
        f"sent {at(reply.sent_at)} after {reply.attempts} tries"
    )


def _lost_in_transit(
    channel: str, key: str, taken: set[str], zalo: FakeZalo, kills_at: list[float]
) -> str:
    """How a message was lost in transit (Zalo handed it to a poll moments before a kill,
    and the bot never took it); otherwise whether the bot took it."""
    if f"{channel} {key}" in taken:
        return "; taken"
    if channel != "zalo":
        return "; never taken"
    handed = zalo.handed.get(key.partition(":")[2])
    if handed is None:
        return "; never handed to a poll"
    kill = min(kills_at, key=lambda at: abs(at - handed), default=None)
    if kill is None or abs(kill - handed) > 1.0:
        return f"; never taken, handed to a poll at {handed:.1f}, no kill near"
    return f"; lost in transit: handed to a poll {kill - handed:.2f} s before a kill"


def _max_recovery(recoveries: list[tuple[float, str]], sent_at: list[float]) -> float:
    """The longest time from a kill or a database restart to the next message out."""
    longest = 0.0
    times = sorted(sent_at)
    for at, _ in recoveries:
        after = next((t for t in times if t > at), None)
        if after is not None:
            longest = max(longest, after - at)
    return longest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=200)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--pg-restarts", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    figures = asyncio.run(soak(args.workers, args.kills, args.pg_restarts, args.seed))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
