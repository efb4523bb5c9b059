"""The webhook endpoints: one ASGI app that receives both messengers' webhooks.

Telegram signs webhook calls with ``X-Telegram-Bot-Api-Secret-Token``, Zalo with
``X-Bot-Api-Secret-Token``; a missing or wrong secret gets 401 and is never processed.
Updates are acknowledged at once and processed in the background.

A body that is not a JSON object (or nests deeper than any update does) gets 400. A JSON
object with a valid secret that is not an update we can read is answered 200 and ignored,
with one warning line and no body in the log: both messengers redeliver anything else, and
a malformed update would come back forever.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"


_IMAGE_NAME = re.compile(r"[A-Za-z0-9_-]{20,40}\.png")
_CLIP_NAME = re.compile(r"[0-9a-f]{32}\.ogg")
_IMAGE_HEADERS = {"Cache-Control": "public, max-age=604800", "X-Content-Type-Options": "nosniff"}


def _secret_ok(request: Request, header: str, secret: str) -> bool:
    given = request.headers.get(header, "")
    return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def create_app(
    *,
    telegram: TelegramChannel | None = None,
    telegram_secret: str = "",
    zalo: ZaloChannel | None = None,
    zalo_secret: str = "",
    failing: Callable[[], dict[str, str]] | None = None,
    images: Path | None = None,
    clips: Path | None = None,
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    async def health(request: Request) -> Response:
        """200 while every channel serves; 503 naming the ones that do not (a load balancer
        or a watchdog restarts or alerts on it)."""
        channels = [c.name for c in (telegram, zalo) if c is not None]
        down = failing() if failing is not None else {}
        if down:
            body = {"status": "failing", "channels": channels, "failing": sorted(down)}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ok", "channels": channels})

    def webhook(channel: Any, header: str, secret: str, unwrap: bool) -> Any:
        """A webhook endpoint: 401 without the channel's secret, 400 for a body that is not a
        JSON object; otherwise the update is kept (before the answer, after which the messenger
        does not send it again) and processed in the background."""

        async def endpoint(request: Request) -> Response:
            if channel is None:
                return Response(status_code=404)
            if not _secret_ok(request, header, secret):
                return Response(status_code=401)
            body = await _json_body(request)
            if body is None:
                return Response(status_code=400)
            # Zalo may wrap the update in its envelope: {"ok": true, "result": {...}}
            update = body.get("result") if unwrap and "event_name" not in body else body
            try:
                if not isinstance(update, dict):
                    raise TypeError(f"update is {type(update).__name__}")
                await channel.accept(update)
            except Exception as error:  # malformed: acknowledge, so it is not redelivered
                log.warning("%s: ignored a malformed update (%s)", channel.name, error)
            return JSONResponse({"ok": True})

        return endpoint

    def served(folder: Path | None, names: re.Pattern[str], media_type: str) -> Any:
        """Files the bot made, from one folder, by their random (unguessable) names only; no
        listing. Ranking pictures (Zalo's sendPhoto fetches a URL) and recorded questions
        (Zalo sends no audio: a link follows the question)."""

        async def endpoint(request: Request) -> Response:
            name = request.path_params["name"]
            if folder is None or not names.fullmatch(name):
                return Response(status_code=404)
            path = folder / name
            if not path.is_file():
                return Response(status_code=404)
            return FileResponse(path, media_type=media_type, headers=_IMAGE_HEADERS)

        return endpoint

    image = served(images, _IMAGE_NAME, "image/png")
    clip = served(clips, _CLIP_NAME, "audio/ogg")
    telegram_webhook = webhook(telegram, TELEGRAM_SECRET_HEADER, telegram_secret, unwrap=False)
    zalo_webhook = webhook(zalo, ZALO_SECRET_HEADER, zalo_secret, unwrap=True)

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/telegram/webhook", telegram_webhook, methods=["POST"]),
            Route("/zalo/webhook", zalo_webhook, methods=["POST"]),
            Route("/images/{name}", image, methods=["GET"]),
            Route("/clips/{name}", clip, methods=["GET"]),
            *routes,  # the officers' web pages, assembled by the runtime
        ]
    )
