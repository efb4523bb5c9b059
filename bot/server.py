"""The ASGI app that receives both messengers' webhooks, and `sangkien run`'s serving loop.

Telegram signs webhook calls with ``X-Telegram-Bot-Api-Secret-Token``, Zalo with
``X-Bot-Api-Secret-Token``; a missing or wrong secret gets 401 and is never processed.
Updates are acknowledged at once and processed in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.dispatch import Dispatcher
from bot.service import ChatService
from bot.settings import Settings
from bot.telegram import TelegramChannel
from bot.voice import VoiceInbox
from bot.zalo import ZaloChannel, ZaloClient

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"


def _secret_ok(request: Request, header: str, secret: str) -> bool:
    given = request.headers.get(header, "")
    return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def create_app(
    *,
    telegram: TelegramChannel | None = None,
    telegram_secret: str = "",
    zalo: ZaloChannel | None = None,
    zalo_secret: str = "",
) -> Starlette:
    async def health(request: Request) -> Response:
        channels = [c.name for c in (telegram, zalo) if c is not None]
        return JSONResponse({"status": "ok", "channels": channels})

    def webhook(channel: Any, header: str, secret: str, unwrap: bool) -> Any:
        """A webhook endpoint: 401 without the channel's secret, 400 for a body that is not a
        JSON object; otherwise the update is accepted and processed in the background."""

        async def endpoint(request: Request) -> Response:
            if channel is None:
                return Response(status_code=404)
            if not _secret_ok(request, header, secret):
                return Response(status_code=401)
            body = await _json_body(request)
            if body is None:
                return Response(status_code=400)
            # Zalo may wrap the update in its envelope: {"ok": true, "result": {...}}
            channel.accept(body["result"] if unwrap and "event_name" not in body else body)
            return JSONResponse({"ok": True})

        return endpoint

    telegram_webhook = webhook(telegram, TELEGRAM_SECRET_HEADER, telegram_secret, unwrap=False)
    zalo_webhook = webhook(zalo, ZALO_SECRET_HEADER, zalo_secret, unwrap=True)

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/telegram/webhook", telegram_webhook, methods=["POST"]),
            Route("/zalo/webhook", zalo_webhook, methods=["POST"]),
        ]
    )


class Bot:
    """Everything `sangkien run` starts: channels, their pollers or webhooks, the web server."""

    def __init__(self, settings: Settings, db: Engine) -> None:
        self.settings = settings
        service = ChatService(db, settings.dialog.to_config(settings.voice.max_seconds))
        self.voice = VoiceInbox(settings.voice, settings.data_dir, db)
        self.dispatcher = Dispatcher(service, self.voice)
        self.telegram: TelegramChannel | None = None
        self.zalo: ZaloChannel | None = None
        if settings.telegram.enabled:
            self.telegram = TelegramChannel(
                settings.telegram.token,
                self.dispatcher,
                base_url=settings.telegram.api_base_url,
                polling=settings.telegram.mode == "polling",
            )
        if settings.zalo.enabled:
            client = ZaloClient(settings.zalo.token, settings.zalo.api_base_url)
            self.zalo = ZaloChannel(client, self.dispatcher)
        self.app = create_app(
            telegram=self.telegram,
            telegram_secret=settings.telegram.webhook_secret,
            zalo=self.zalo,
            zalo_secret=settings.zalo.webhook_secret,
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Channels started (polling, or webhooks registered) for the duration of the block."""
        tasks: list[asyncio.Task[None]] = []
        if self.telegram is not None:
            await self.telegram.start(poll_timeout=self.settings.telegram.poll_timeout)
            if self.settings.telegram.mode == "webhook":
                await self.telegram.app.bot.set_webhook(
                    self.settings.telegram.webhook_url,
                    secret_token=self.settings.telegram.webhook_secret,
                )
        if self.zalo is not None:
            if self.settings.zalo.mode == "webhook":
                await self.zalo.client.set_webhook(
                    self.settings.zalo.webhook_url, self.settings.zalo.webhook_secret
                )
            else:
                tasks.append(
                    asyncio.create_task(self.zalo.poll_forever(self.settings.zalo.poll_timeout))
                )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.zalo is not None:
                await self.zalo.drain()
                await self.zalo.client.aclose()
            if self.telegram is not None:
                await self.telegram.stop()
            self.dispatcher.close()
            self.voice.close()

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


class _WebServer(uvicorn.Server):
    """uvicorn without its own signal handling: it re-raises a caught SIGTERM once its server
    is down, which would kill the process before the channels drain. The bot owns signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self) -> None:
        self.should_exit = True
