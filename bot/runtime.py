"""Assembly: settings → database → services → channels, and `sangkien run`'s serving loop
with a clean shutdown. Nothing here decides anything; it only wires and starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import logging
import signal
import zoneinfo
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session
from starlette.routing import BaseRoute

from bot.channels.base import Receiver
from bot.channels.telegram import TelegramChannel
from bot.channels.webhooks import create_app
from bot.channels.zalo import ZaloChannel, ZaloClient
from bot.clock import Clock, system_clock
from bot.jobs.leader import Leadership
from bot.jobs.schedule import Jobs
from bot.jobs.scheduler import Scheduler, build_jobs
from bot.services.access import WebAccess
from bot.services.conversation import CLIP_CHANNELS, ConversationService
from bot.services.database import Database, log_failure
from bot.services.dispatch import Dispatcher
from bot.services.groups import GroupService
from bot.services.pace import SharedPace
from bot.services.portal import Portal
from bot.services.prompts import PromptPacks
from bot.services.rankings import Calendar, Rankings
from bot.services.reminders import ReminderPolicy, Reminders
from bot.services.reports import Reports
from bot.services.review import ReviewService
from bot.services.spool import Spool
from bot.services.units import UnitService
from bot.services.voice import VoiceInbox
from bot.settings import Settings, SettingsError, time_of
from bot.web.app import OfficerPages, uploads_folder
from storage import presence
from storage.db import create_db_engine, is_up_to_date, upgrade
from storage.demo import seed_demo
from storage.models import UnitLevel
from storage.presence import Presence

log = logging.getLogger(__name__)


def demo_database(url: str) -> Engine:
    """An engine on `url` with the schema current and the demo tree: tests and benchmarks."""
    return open_database(Settings(database_url=url, auto_upgrade=True, seed_demo=True))


def open_database(settings: Settings, clock: Clock = system_clock) -> Engine:
    """An engine on the configured database, with the schema current and demo data if asked."""
    db = create_db_engine(settings.database_url)
    if settings.auto_upgrade:
        upgrade(db)
    elif not is_up_to_date(db):
        raise SettingsError(
            "auto_upgrade: the database schema is not current; run `sangkien db upgrade`"
        )
    if settings.seed_demo:
        with Session(db) as session:
            if seed_demo(now=clock(), session=session):
                log.info("loaded the demo unit tree")
            session.commit()
    return db


class AlreadyRunningError(RuntimeError):
    """Another `sangkien run` serves the same SQLite file."""


@contextlib.contextmanager
def sole_server(database_url: str) -> Iterator[None]:
    """On SQLite, hold a lock that a second `sangkien run` on the same file cannot take.

    Two processes on one SQLite file cannot keep each chat's updates in order (each has its
    own chat locks, and the database has no row locks); several processes need PostgreSQL,
    whose row locks serialise a chat's turns. On PostgreSQL this does nothing.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        yield
        return
    lock_path = Path(f"{url.database}.run.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunningError(
                f"another `sangkien run` already serves {url.database}; several processes "
                "need PostgreSQL (database_url = postgresql+psycopg://…)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Services:
    """The use cases over one database, built once per process."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        clock: Clock = system_clock,
        voice: VoiceInbox | None = None,
        spool: Spool | None = None,
    ) -> None:
        self.db = Database(engine)
        self.clock = clock
        levels = tuple(UnitLevel(level) for level in settings.review.levels)
        self.packs = PromptPacks(
            self.db, settings.data_dir, clock, threshold=settings.voice.prompt_match
        )
        self.conversations = ConversationService(
            self.db,
            settings.dialog.to_config(settings.voice.max_seconds, settings.voice.prompt_match),
            clock,
            review_levels=levels,
            packs=self.packs,
            clip_channels=CLIP_CHANNELS | ({"zalo"} if settings.public_url else set()),
            similar_at=(settings.similar.very, settings.similar.related),
            ask_similar=settings.similar.ask_workers,
            web_url=settings.public_url,
        )
        self.review = ReviewService(self.db, levels, clock)
        self.groups = GroupService(self.db, clock)
        self.voice = voice or VoiceInbox(settings.voice, settings.data_dir, clock=clock)
        self.dispatcher = Dispatcher(
            self.conversations, self.groups, self.voice, clock=clock, spool=spool
        )
        zone = zoneinfo.ZoneInfo(settings.jobs.timezone)
        calendar = Calendar.of(
            settings.jobs.timezone, settings.rankings.day, time_of(settings.rankings.time)
        )
        self.images = settings.data_dir / "images"
        self.rankings = Rankings(self.db, calendar, self.images, top=settings.rankings.top)
        policy = ReminderPolicy(
            zone,
            tuple(settings.review.levels),
            stalled_after=dt.timedelta(days=settings.reminders.stalled_days),
            worker_every=dt.timedelta(days=settings.reminders.worker_every_days),
            quiet_from=time_of(settings.reminders.quiet_from),
            quiet_until=time_of(settings.reminders.quiet_until),
        )
        self.reminders = Reminders(self.db, policy)
        self.units = UnitService(self.db)
        self.access = WebAccess(self.db, clock, session_hours=settings.web.session_hours)
        self.portal = Portal(self.db, levels, clock)
        self.jobs = Jobs(
            self.db,
            build_jobs(
                settings,
                rankings=self.rankings,
                reminders=self.reminders,
                review=self.review,
                db=self.db,
                clock=clock,
            ),
            clock=clock,
        )
        self.reports = Reports(
            self.db, self.portal, self.rankings, self.units, self.jobs.jobs, clock=clock
        )

    def close(self) -> None:
        self.dispatcher.close()
        self.voice.close()


class Bot:
    """Everything `sangkien run` starts: channels, their pollers or webhooks, the web server."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        # Every update taken is in this process's spool file before the database has it.
        self.services = Services(
            settings, engine, spool=Spool(settings.data_dir / "spool", presence.INSTANCE)
        )
        self.dispatcher = self.services.dispatcher
        self.telegram: TelegramChannel | None = None
        self.zalo: ZaloChannel | None = None
        if settings.telegram.enabled:
            self.telegram = TelegramChannel(
                settings.telegram.token,
                self.dispatcher,
                base_url=settings.telegram.api_base_url,
                polling=settings.telegram.mode == "polling",
                per_second=settings.telegram.per_second,
                chat_per_second=settings.telegram.chat_per_second or None,
                connections=settings.telegram.connections,
            )
        if settings.zalo.enabled:
            client = ZaloClient(
                settings.zalo.token,
                settings.zalo.api_base_url,
                voice_hosts=tuple(settings.zalo.voice_hosts),
                max_download_bytes=settings.voice.max_bytes,
            )
            public = settings.public_url
            self.zalo = ZaloChannel(
                client,
                self.dispatcher,
                images_url=f"{public}/images" if public else "",
                clips_url=f"{public}/clips" if public else "",
                per_second=settings.zalo.per_second,
            )
        if self.services.db.locks_rows:  # PostgreSQL: the processes of the bot share one pace
            for channel in (self.telegram, self.zalo):
                if channel is not None:
                    channel.pace = SharedPace(
                        self.services.db,
                        self.dispatcher.blocking,
                        channel.name,
                        channel.pace.limits,
                    )
        self.presence = Presence(engine)
        self.scheduler = Scheduler(
            self.services.jobs,
            Leadership(engine),
            check_every=settings.jobs.leader_check_seconds,
            grace=settings.server.shutdown_grace_seconds,
        )
        self._down: dict[str, str] = {}
        self.base_backoff, self.max_backoff = 1.0, 300.0
        self.app = create_app(
            telegram=self.telegram,
            telegram_secret=settings.telegram.webhook_secret,
            zalo=self.zalo,
            zalo_secret=settings.zalo.webhook_secret,
            failing=self.failing,
            images=self.services.images,
            clips=self.services.packs.folder,
            routes=self._pages(),
        )
        if self.telegram is not None:
            self.telegram.on_clip_uploaded = self._clip_uploaded

    def _pages(self) -> list[BaseRoute]:
        """The officers' web pages, where the site has a public address to link to."""
        if not self.settings.public_url:
            return []
        services = self.services
        pages = OfficerPages(
            access=services.access,
            portal=services.portal,
            units=services.units,
            reports=services.reports,
            public_url=self.settings.public_url,
            uploads=uploads_folder(self.settings.data_dir),
            clock=services.clock,
        )
        return pages.routes()

    async def _clip_uploaded(self, clip_id: int, file_id: str) -> None:
        """Telegram has a recorded question now: every process sends it by id from now on."""
        try:
            await asyncio.to_thread(self.services.packs.remember, clip_id, file_id)
        except Exception as error:  # the next upload remembers it
            log.warning("could not keep Telegram's id of clip %s (%s)", clip_id, error)

    async def _take_up(self, channel: Receiver) -> None:
        """What stopped processes took and never handled (spooled or kept), before anything
        new: a database still down leaves the spools for the next try."""
        try:
            await self.dispatcher.take_up_spools()
        except Exception as error:
            log_failure(log, "taking up a stopped process's spooled updates", error)
        await self.dispatcher.adopt_orphans(channel)

    def failing(self) -> dict[str, str]:
        """Channels not serving now, with why: for /health."""
        down = dict(self._down)
        for channel in (self.telegram, self.zalo):
            if channel is not None and channel.problem and channel.name not in down:
                down[channel.name] = channel.problem
        return down

    async def _keep_up(self, name: str, start: Callable[[], Awaitable[None]]) -> None:
        """Run `start` (a start-up that returns, or a loop that runs forever); when it fails,
        log it, report the channel down and try again with backoff, until cancelled."""
        failures = 0
        while True:
            try:
                await start()
                self._down.pop(name, None)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                delay = min(self.max_backoff, self.base_backoff * 2 ** min(failures - 1, 10))
                self._down[name] = f"{type(error).__name__}: {error}"[:200]
                log.warning("%s failed (%s); retrying in %.1fs", name, error, delay)
                await asyncio.sleep(delay)

    async def _start_telegram(self) -> None:
        assert self.telegram is not None
        telegram = self.telegram
        await telegram.start(
            poll_timeout=self.settings.telegram.poll_timeout,
            # What a stopped process took and never handled comes before anything new.
            before_polling=lambda: self._take_up(telegram),
        )
        if self.settings.telegram.mode == "webhook":
            await self.telegram.app.bot.set_webhook(
                self.settings.telegram.webhook_url,
                secret_token=self.settings.telegram.webhook_secret,
            )

    async def _run_zalo(self) -> None:
        assert self.zalo is not None
        me = await self.zalo.client.get_me()
        log.info("zalo bot %s is up", me.get("account_name") or me.get("id"))
        if self.settings.zalo.mode == "webhook":
            await self.zalo.client.set_webhook(
                self.settings.zalo.webhook_url, self.settings.zalo.webhook_secret
            )
        else:
            self._down.pop("zalo", None)
            await self._take_up(self.zalo)  # before anything new
            await self.zalo.poll_forever(self.settings.zalo.poll_timeout)

    async def _present(self, every: float = 1.0) -> None:
        """Hold this process's presence (PostgreSQL), taken again after a database restart:
        while it is held, no other process takes over what this one holds."""
        while True:
            await self._hold_presence()
            await asyncio.sleep(every)

    async def _hold_presence(self) -> None:
        try:
            await asyncio.to_thread(self.presence.hold)
        except Exception as error:
            log_failure(log, "holding this process's presence", error)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Channels started (polling, or webhooks registered) for the duration of the block.

        A channel that cannot start (the messenger unreachable, a refused token) or whose
        polling fails is retried with backoff and reported by /health; it never ends the
        process or the other channel."""
        await self._hold_presence()  # before this process holds anything
        self.services.voice.warm_up()  # ready for the first note (it takes about a second)
        tasks: list[asyncio.Task[None]] = []
        channels: list[Receiver] = [c for c in (self.telegram, self.zalo) if c is not None]
        if self.telegram is not None:
            self._down["telegram"] = "starting"
            tasks.append(asyncio.create_task(self._keep_up("telegram", self._start_telegram)))
        if self.zalo is not None:
            self._down["zalo"] = "starting"
            tasks.append(asyncio.create_task(self._keep_up("zalo", self._run_zalo)))
        # Replies a crashed process wrote but never sent, and ones left for a later try.
        tasks += [asyncio.create_task(self.dispatcher.flush_forever(c)) for c in channels]
        tasks.append(asyncio.create_task(self.scheduler.run_forever()))
        tasks.append(asyncio.create_task(self._present()))
        try:
            yield
        finally:
            await self._stop(tasks, channels)

    async def _stop(self, tasks: list[asyncio.Task[None]], channels: list[Receiver]) -> None:
        """Stop taking updates, then within the grace: finish the turns under way and send
        what the outbox can, without waiting on a messenger that does not answer. What is
        left stays in the outbox (leased briefly) for the next start."""
        grace = self.settings.server.shutdown_grace_seconds
        self.dispatcher.deliverer.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            async with asyncio.timeout(grace):
                if self.zalo is not None:
                    await self.zalo.drain()
                if self.telegram is not None:
                    await self.telegram.stop()
                for channel in channels:
                    await self.dispatcher.flush(channel)
        except TimeoutError:
            unsent = self.dispatcher.deliverer.in_flight()
            await _cancel_the_rest()
            await asyncio.to_thread(self.dispatcher.deliverer.release, unsent)
            log.warning("stopped after %.0f s; %d left for the next start", grace, len(unsent))
        finally:
            if self.zalo is not None:
                await self.zalo.client.aclose()
            self.services.close()
            await asyncio.to_thread(self.presence.release)

    async def serve(self) -> None:
        """Run until SIGINT or SIGTERM, then stop the web server, drain the channels and
        exit normally."""
        config = uvicorn.Config(
            self.app,
            host=self.settings.server.host,
            port=self.settings.server.port,
            log_level="warning",
        )
        server = _WebServer(config)
        loop = asyncio.get_running_loop()
        for stop in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(stop, server.stop)
        async with self.running():
            await server.serve()


async def _cancel_the_rest(wait: float = 1.0) -> None:
    """Cancel every other task (turns and sends under way once the grace is over)."""
    current = asyncio.current_task()
    others = [task for task in asyncio.all_tasks() if task is not current]
    for task in others:
        task.cancel()
    if others:
        await asyncio.wait(others, timeout=wait)


class _WebServer(uvicorn.Server):
    """uvicorn without its own signal handling: it re-raises a caught SIGTERM once its server
    is down, which would kill the process before the channels drain. The bot owns signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self) -> None:
        self.should_exit = True
