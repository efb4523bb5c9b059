"""A fake Zalo Bot API on 127.0.0.1: envelopes, single-object getUpdates, idle 408, ``ok: false``
with HTTP 200, the 2,000-character limit, and voice URLs it serves itself."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict, deque
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import Faults, Inbox, ThreadedServer, params, refusal, wait_for_text


def _fail(code: int, description: str) -> Response:
    """Zalo answers most errors with HTTP 200 and ``ok: false``."""
    return JSONResponse({"ok": False, "error_code": code, "description": description})


class FakeZalo:
    def __init__(self, token: str = "1234567890:FakeZaloSecretForTests") -> None:
        self.token = token
        self.sent: dict[str, list[str]] = defaultdict(list)
        self.photos: dict[str, list[str]] = defaultdict(list)  # the URLs sendPhoto was given
        self.actions: list[tuple[str, str]] = []
        # When a poll took each message (by message_id): Zalo gives an update once, so one
        # handed to a process killed before it kept it is gone (the soak tells these apart).
        self.handed: dict[str, float] = {}
        self.files: dict[str, bytes] = {}
        self.file_delay = 0.0
        self.blocked: set[str] = set()
        self.faults = Faults()
        self.idle_polls = 0
        self.file_requests = 0
        self.redirects: dict[str, str] = {}
        # Seconds between showing a message and answering the request that sent it (a slow
        # confirmation: the person can read and answer before the bot hears back).
        self.answer_delay = 0.0
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
                Route("/files/{name}", self._file, methods=["GET"]),
            ]
        )
        self.server = ThreadedServer(app)
        self.base_url = self.server.base_url
        self.inbox = Inbox(self.server, "X-Bot-Api-Secret-Token", wrap=True)

    def push(self, update: dict[str, Any]) -> None:
        self.inbox.put(update)

    def texts(self, chat_id: str) -> list[str]:
        return list(self.sent[chat_id])

    async def _method(self, request: Request) -> Response:
        method = request.path_params["method"]
        refused = await refusal(request, self.token, self.faults.take(method), self.faults)
        if refused is not None:
            return refused
        args = await params(request)
        if args is None:
            return Response(status_code=499)  # nobody is listening any more
        if method == "getMe":
            return _ok(
                {
                    "id": "1234567890",
                    "account_name": "bot.sangkien",
                    "account_type": "BASIC",
                    "can_join_groups": True,
                }
            )
        if method == "getUpdates":
            return await self._get_updates(float(args.get("timeout", 0) or 0), request)
        if method == "setWebhook":
            self.inbox.webhook = (str(args["url"]), str(args.get("secret_token", "")))
            return _ok({"url": self.inbox.webhook[0], "updated_at": int(time.time() * 1000)})
        if method == "deleteWebhook":
            self.inbox.webhook = None
            return _ok({"url": "", "updated_at": int(time.time() * 1000)})
        if method == "getWebhookInfo":
            webhook = self.inbox.webhook
            return _ok({"url": webhook[0] if webhook else ""})
        if method in ("sendMessage", "sendPhoto"):
            chat_id = str(args.get("chat_id", ""))
            text = str(args.get("text", args.get("caption", "")))
            if chat_id in self.blocked:
                return _fail(403, "The user has blocked the bot")
            if method == "sendMessage" and not 1 <= len(text) <= 2000:
                return _fail(400, "text must be 1 to 2000 characters")
            if method == "sendPhoto":
                self.photos[chat_id].append(str(args.get("photo", "")))
            self.sent[chat_id].append(text if method == "sendMessage" else f"[photo] {text}")
            await asyncio.sleep(self.answer_delay)
            return _ok({"message_id": f"m{len(self.sent[chat_id])}", "date": int(time.time())})
        if method == "sendChatAction":
            self.actions.append((str(args.get("chat_id")), str(args.get("action"))))
            return _ok(True)
        return _fail(404, f"method {method} not found")

    async def _get_updates(self, wait: float, request: Request) -> Response:
        """One update at a time; an idle poll answers HTTP 408."""

        def first(queue: deque[dict[str, Any]]) -> dict[str, Any] | None:
            return queue.popleft() if queue else None

        update = await self.inbox.wait(min(wait, 1.0), first, request.is_disconnected)
        if update is not None:
            self.handed[str(update.get("message", {}).get("message_id"))] = time.monotonic()
            return _ok(update)
        self.idle_polls += 1
        return JSONResponse(
            {"ok": False, "error_code": 408, "description": "Request timeout"}, status_code=408
        )

    async def _file(self, request: Request) -> Response:
        self.file_requests += 1
        await asyncio.sleep(self.file_delay)  # a slow network: the bot is mid-turn meanwhile
        name = request.path_params["name"]
        if name.startswith("redirect-"):  # a CDN that sends the client elsewhere
            return Response(status_code=302, headers={"location": self.redirects[name]})
        data = self.files.get(name)
        return Response(data, media_type="audio/aac") if data else Response(status_code=404)


def _ok(result: Any) -> Response:
    return JSONResponse({"ok": True, "result": result})


class ZaloUser:
    """A person chatting with the bot; Zalo has no buttons, so answers are numbers."""

    _ids = itertools.count(1)

    def __init__(self, fake: FakeZalo, user_id: str, name: str = "Lan") -> None:
        self.fake, self.id, self.name = fake, user_id, name

    def event(self, event_name: str, **content: Any) -> dict[str, Any]:
        update = {
            "event_name": event_name,
            "message": {
                "message_id": f"{self.id}-{next(self._ids)}",
                "date": int(time.time() * 1000),
                "from": {"id": self.id, "display_name": self.name, "is_bot": False},
                "chat": {"id": self.id, "chat_type": "PRIVATE"},
                **content,
            },
        }
        self.fake.push(update)
        return update

    def send(self, text: str) -> dict[str, Any]:
        return self.event("message.text.received", text=text)

    def voice(self, aac: bytes) -> dict[str, Any]:
        name = f"voice{len(self.fake.files) + 1}.aac"
        self.fake.files[name] = aac
        return self.event("message.voice.received", voice_url=f"{self.fake.base_url}/files/{name}")

    async def wait_for(self, fragment: str, seconds: float = 30) -> str:
        """Wait until the bot has sent a message containing `fragment`; return all it sent."""
        return await wait_for_text(lambda: self.fake.texts(self.id), fragment, seconds)

    def __repr__(self) -> str:
        return f"ZaloUser({self.id})"

    def texts(self) -> list[str]:
        """What the bot sent this person, message by message."""
        return self.fake.texts(self.id)

    def said(self) -> str:
        return "\n".join(self.texts())
