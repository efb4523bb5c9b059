"""A fake Telegram Bot API: the methods the bot uses, in the documented shapes, on 127.0.0.1.

Tests play users with :class:`TelegramUser`: they send texts, voice notes, stickers…, press
inline buttons, and read what the bot sent. Webhook mode is faithful too: once setWebhook is
called, new updates are POSTed to the bot with the secret header.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import defaultdict, deque
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import (
    Faults,
    Inbox,
    ThreadedServer,
    params,
    refusal,
    too_many_requests,
    wait_for_text,
)

BOT = {
    "id": 7000001,
    "is_bot": True,
    "first_name": "Sáng kiến",
    "username": "sangkien_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
_ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
}
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>")


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse `text` with parse_mode HTML, or None."""
    for match in re.finditer(r"<[^>]*>?", text):
        tag = _TAG.fullmatch(match.group(0))
        if tag is None or tag.group(2).lower() not in _ALLOWED_TAGS:
            return f"Bad Request: can't parse entities: unsupported start tag at {match.start()}"
    for match in re.finditer(r"&[^;\s]*;?", text):
        if not re.fullmatch(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);", match.group(0)):
            return f"Bad Request: can't parse entities: bad entity at {match.start()}"
    return None


class FakeTelegram:
    def __init__(self, token: str = "7000001:AAH3kq9Zx_Tf8mPq2LrWv5nYc0bJdE4sGhU") -> None:
        self.token = token
        self.sent: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.actions: list[tuple[str, str]] = []
        self.answered: list[str] = []
        self.files: dict[str, bytes] = {}
        self.file_delay = 0.0
        self.file_requests = 0
        self.blocked: set[str] = set()
        self.faults = Faults()
        self.rate_limited = 0
        self.flood_control = True
        self.sent_at: list[float] = []
        self.update_ids = itertools.count(1)  # unique for the bot, as Telegram numbers them
        # When a poll first had each update, and how many polls had it (until one confirmed it).
        self.handed: dict[int, tuple[float, int]] = {}
        # Files the bot uploaded (sendVoice, sendPhoto, …) by the id Telegram gave them, and
        # each voice message sent: (chat, "upload" or "file_id").
        self.uploaded: dict[str, bytes] = {}
        self.voices: list[tuple[str, str]] = []
        self._file_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._recent: deque[float] = deque()
        self._group_recent: dict[str, deque[float]] = defaultdict(deque)
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
            ]
        )
        self.server = ThreadedServer(app)
        self.base_url = self.server.base_url
        self.inbox = Inbox(self.server, "X-Telegram-Bot-Api-Secret-Token")

    # --- what tests do -------------------------------------------------------------------

    def push(self, update_fields: dict[str, Any]) -> dict[str, Any]:
        """Deliver an update: to the webhook if one is set, else queue it for getUpdates."""
        update = {"update_id": next(self.update_ids), **update_fields}
        self.deliver(update)
        return update

    def deliver(self, update: dict[str, Any]) -> None:
        """Deliver this exact update (again, for redelivery tests)."""
        self.inbox.put(update)

    def texts(self, chat_id: str | int) -> list[str]:
        return [m["text"] for m in self.sent[str(chat_id)]]

    # --- the Bot API ---------------------------------------------------------------------

    async def _method(self, request: Request) -> Response:
        method = request.path_params["method"]
        refused = await refusal(request, self.token, self.faults.take(method), self.faults)
        if refused is not None:
            return refused
        args = await params(request)
        if args is None:
            return Response(status_code=499)  # nobody is listening any more
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = await handler(args)
        return (
            result if isinstance(result, Response) else JSONResponse({"ok": True, "result": result})
        )

    async def _api_getMe(self, args: dict[str, Any]) -> Any:  # noqa: N802
        return BOT

    async def _api_getUpdates(self, args: dict[str, Any]) -> Any:  # noqa: N802
        offset = int(args.get("offset", 0) or 0)

        def confirmed_and_rest(queue: deque[dict[str, Any]]) -> list[dict[str, Any]]:
            while queue and queue[0]["update_id"] < offset:
                queue.popleft()  # confirmed by the offset
            now = time.monotonic()
            for update in queue:
                first, times = self.handed.get(update["update_id"], (now, 0))
                self.handed[update["update_id"]] = (first, times + 1)
            return list(queue)

        return await self.inbox.wait(
            min(float(args.get("timeout", 0) or 0), 2.0), confirmed_and_rest
        )

    async def _api_setWebhook(self, args: dict[str, Any]) -> Any:  # noqa: N802
        self.inbox.webhook = (str(args["url"]), str(args.get("secret_token", "")))
        return True

    async def _api_deleteWebhook(self, args: dict[str, Any]) -> Any:  # noqa: N802
        self.inbox.webhook = None
        return True

    async def _api_getWebhookInfo(self, args: dict[str, Any]) -> Any:  # noqa: N802
        url = self.inbox.webhook[0] if self.inbox.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    def _flood(self, chat_id: str) -> Response | None:
        """Telegram's limits: about 30 messages a second overall, 20 a minute to a group."""
        now = time.monotonic()
        recent = self._recent
        while recent and now - recent[0] > 1:
            recent.popleft()
        group = self._group_recent[chat_id]
        while group and now - group[0] > 60:
            group.popleft()
        if not self.flood_control:
            return None
        if len(recent) >= 30 or (chat_id.startswith("-") and len(group) >= 20):
            self.rate_limited += 1
            return too_many_requests()
        recent.append(now)
        if chat_id.startswith("-"):
            group.append(now)
        return None

    async def _api_sendMessage(self, args: dict[str, Any]) -> Any:  # noqa: N802
        chat_id, text = str(args.get("chat_id", "")), str(args.get("text", ""))
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        if args.get("parse_mode") == "HTML" and (problem := html_problem(text)):
            return _error(400, problem)
        limited = self._flood(chat_id)
        if limited is not None:
            return limited
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": "private"},
            "from": BOT,
            "text": text,
        }
        self.sent[chat_id].append(
            {
                **message,
                "reply_markup": args.get("reply_markup"),
                "link_preview_options": args.get("link_preview_options"),
            }
        )
        self.sent_at.append(time.monotonic())
        return message

    async def _api_sendPhoto(self, args: dict[str, Any]) -> Any:  # noqa: N802
        photo = args.get("photo")
        if not isinstance(photo, bytes) or not photo.startswith(b"\x89PNG\r\n\x1a\n"):
            return _error(400, "Bad Request: IMAGE_PROCESS_FAILED")
        limited = self._flood(str(args.get("chat_id", "")))
        if limited is not None:
            return limited
        self.sent_at.append(time.monotonic())
        return self._media(args, "photo", photo)

    async def _api_sendVoice(self, args: dict[str, Any]) -> Any:  # noqa: N802
        voice = args.get("voice")
        chat_id = str(args.get("chat_id", ""))
        if isinstance(voice, str):  # a file sent before, by its id
            if voice not in self.uploaded:
                return _error(400, "Bad Request: wrong file identifier/HTTP URL specified")
            self.voices.append((chat_id, "file_id"))
            return self._media(args, "voice", self.uploaded[voice], file_id=voice)
        if not isinstance(voice, bytes) or not voice:
            return _error(400, "Bad Request: there is no voice in the request")
        if not voice.startswith((b"OggS", b"ID3", b"\xff\xfb")) and voice[4:8] != b"ftyp":
            return _error(400, "Bad Request: VOICE_MESSAGES_FORBIDDEN_FORMAT")
        self.voices.append((chat_id, "upload"))
        return self._media(args, "voice", voice)

    async def _api_sendDocument(self, args: dict[str, Any]) -> Any:  # noqa: N802
        document = args.get("document")
        if not isinstance(document, bytes) or not document:
            return _error(400, "Bad Request: there is no document in the request")
        return self._media(args, "document", document)

    def _media(
        self, args: dict[str, Any], kind: str, data: bytes, file_id: str | None = None
    ) -> Any:
        chat_id, caption = str(args.get("chat_id", "")), str(args.get("caption", ""))
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if len(caption) > 1024:
            return _error(400, "Bad Request: message caption is too long")
        if args.get("parse_mode") == "HTML" and (problem := html_problem(caption)):
            return _error(400, problem)
        if file_id is None:
            file_id = f"{kind}-up{next(self._file_ids)}"
            self.uploaded[file_id] = data
        media: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": file_id,
            **({"duration": 3} if kind == "voice" else {}),
        }
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": "private"},
            "from": BOT,
            kind: [media | {"width": 1080, "height": 600}] if kind == "photo" else media,
        }
        self.sent[chat_id].append(
            {**message, "text": caption, "data": data, "reply_markup": args.get("reply_markup")}
        )
        return message

    async def _api_editMessageText(self, args: dict[str, Any]) -> Any:  # noqa: N802
        return True

    async def _api_answerCallbackQuery(self, args: dict[str, Any]) -> Any:  # noqa: N802
        self.answered.append(str(args.get("callback_query_id")))
        return True

    async def _api_sendChatAction(self, args: dict[str, Any]) -> Any:  # noqa: N802
        self.actions.append((str(args.get("chat_id")), str(args.get("action"))))
        return True

    async def _api_getFile(self, args: dict[str, Any]) -> Any:  # noqa: N802
        file_id = str(args.get("file_id"))
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(self.files[file_id]),
            "file_path": f"voice/{file_id}.oga",
        }

    async def _file(self, request: Request) -> Response:
        self.file_requests += 1
        await asyncio.sleep(self.file_delay)  # a slow network: the bot is mid-turn meanwhile
        name = request.path_params["path"].rsplit("/", 1)[-1].removesuffix(".oga")
        if request.path_params["token"] != self.token or name not in self.files:
            return Response(status_code=404)
        return Response(self.files[name], media_type="audio/ogg")


def _error(code: int, description: str) -> Response:
    return JSONResponse(
        {"ok": False, "error_code": code, "description": description}, status_code=code
    )


class TelegramUser:
    """A person chatting with the bot in a private chat."""

    def __init__(self, fake: FakeTelegram, user_id: int, name: str = "Lan") -> None:
        self.fake, self.id, self.name = fake, user_id, name
        self._message_ids = itertools.count(1)

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": self.id, "type": "private", "first_name": self.name},
            "from": {"id": self.id, "is_bot": False, "first_name": self.name},
            **content,
        }

    def send(self, text: str) -> dict[str, Any]:
        return self.fake.push({"message": self._message(text=text)})

    def send_in_group(self, group_id: int, text: str) -> dict[str, Any]:
        message = {
            **self._message(text=text),
            "chat": {"id": group_id, "type": "supergroup", "title": "CĐ May Đức Giang"},
        }
        return self.fake.push({"message": message})

    def send_content(self, **content: Any) -> dict[str, Any]:
        return self.fake.push({"message": self._message(**content)})

    def edit(self, text: str) -> dict[str, Any]:
        return self.fake.push(
            {"edited_message": {**self._message(text=text), "edit_date": int(time.time())}}
        )

    def voice(self, ogg: bytes) -> dict[str, Any]:
        file_id = f"voice{len(self.fake.files) + 1}"
        self.fake.files[file_id] = ogg
        return self.send_content(
            voice={
                "file_id": file_id,
                "file_unique_id": file_id,
                "duration": 3,
                "mime_type": "audio/ogg",
            }
        )

    def press(self, number: int, on: str = "") -> dict[str, Any]:
        """Press button `number` (from 1) of the last message that has buttons (and whose
        text contains `on`: an older message's button, as a late double tap would)."""
        for message in reversed(self.fake.sent[str(self.id)]):
            markup = message.get("reply_markup")
            if markup and on in message.get("text", ""):
                button = markup["inline_keyboard"][number - 1][0]
                return self.fake.push(
                    {
                        "callback_query": {
                            "id": f"cb{time.monotonic_ns()}",
                            "chat_instance": "ci",
                            "from": {"id": self.id, "is_bot": False, "first_name": self.name},
                            "message": {**message, "reply_markup": markup},
                            "data": button["callback_data"],
                        }
                    }
                )
        raise AssertionError("no message with buttons")

    def block(self) -> None:
        self.fake.blocked.add(str(self.id))

    async def wait_for(self, fragment: str, seconds: float = 30) -> str:
        """Wait until the bot has sent a message containing `fragment`; return all it sent."""
        return await wait_for_text(lambda: self.fake.texts(self.id), fragment, seconds)

    def __repr__(self) -> str:
        return f"TelegramUser({self.id})"

    def texts(self) -> list[str]:
        """What the bot sent this person, message by message."""
        return self.fake.texts(self.id)

    def said(self) -> str:
        return "\n".join(self.texts())
