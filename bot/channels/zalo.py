"""Zalo through our own small client for the Zalo Bot API, over httpx.

Every call is ``POST {base}/bot{token}/{method}`` with a JSON body and answers an envelope
``{ok, result, error_code, description}``: HTTP 200 with ``ok: false`` is an error too.
``getUpdates`` long-polls and returns one update at a time; an idle poll answers HTTP 408.
Zalo has no buttons: choices are numbered lines and the user answers with the number.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fnmatch
import functools
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from bot.channels.base import (
    BadRequestError,
    ChannelError,
    Content,
    ForbiddenError,
    GroupCommandIn,
    Inbox,
    Incoming,
    Orphan,
    Pace,
    RateLimitedError,
    Throttle,
    TransientError,
    Turn,
    VoiceNoteIn,
    group_command,
    paced,
    render_numbered,
    split_text,
    with_retries,
)
from dialogs import messages as msg
from dialogs.events import Reply, UnsupportedIn, parse_text

log = logging.getLogger(__name__)

CHANNEL = "zalo"
DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
MESSAGE_LIMIT = 2000


class PollTimeoutError(Exception):
    """An idle long poll: nothing happened, poll again."""


def raise_for(status: int, envelope: dict[str, Any] | None, method: str) -> None:
    """Map a Zalo answer to our errors; return quietly when it is a success."""
    if status == 408 and method == "getUpdates":
        raise PollTimeoutError
    ok = bool(envelope and envelope.get("ok"))
    if status == 200 and ok:
        return
    code = int((envelope or {}).get("error_code") or status)
    detail = f"{method}: {code} {(envelope or {}).get('description', '')}".strip()
    if code == 429:
        retry_after = float(((envelope or {}).get("parameters") or {}).get("retry_after", 1))
        raise RateLimitedError(retry_after, detail)
    if code in (401, 403):
        raise ForbiddenError(detail)
    if code == 408 or code >= 500:
        raise TransientError(detail)
    raise BadRequestError(detail)


# Where Zalo serves voice notes from. Only these are fetched: a voice event names a URL, and
# fetching any URL would let a forged event reach hosts inside our network.
DEFAULT_VOICE_HOSTS = ("https://*.zdn.vn", "https://*.zadn.vn", "https://*.zalo.me")
_MAX_REDIRECTS = 3


def allowed_url(url: str, patterns: tuple[str, ...]) -> bool:
    """Whether `url` is on an allowed host: patterns are "scheme://host-glob" ("https://*.zdn.vn",
    "http://127.0.0.1" in tests); a pattern without a scheme means https."""
    parsed = httpx.URL(url)
    for pattern in patterns:
        scheme, _, host = pattern.rpartition("://")
        if parsed.scheme == (scheme or "https") and fnmatch.fnmatch(parsed.host, host.lower()):
            return True
    return False


class ZaloClient:
    """The Zalo Bot API methods we use. Errors come out as :mod:`bot.channels.base`
    exceptions."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        *,
        voice_hosts: tuple[str, ...] = DEFAULT_VOICE_HOSTS,
        max_download_bytes: int = 20_000_000,
    ) -> None:
        self._voice_hosts = voice_hosts
        self._max_download = max_download_bytes
        self._prefix = f"{base_url.rstrip('/')}/bot{token}/"
        # A modest pool: httpcore checks every pooled connection on each request, so a large
        # idle pool costs more than it saves.
        self._http = http or httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )
        self._timeout = timeout

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self, method: str, payload: dict[str, Any] | None = None, wait: float | None = None
    ) -> Any:
        try:
            response = await self._http.post(
                self._prefix + method, json=payload or {}, timeout=wait or self._timeout
            )
        except httpx.TimeoutException as error:
            if method == "getUpdates":
                raise PollTimeoutError from None
            raise TransientError(f"{method}: timed out") from error
        except httpx.TransportError as error:
            raise TransientError(f"{method}: {error!r}") from error
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        raise_for(response.status_code, envelope if isinstance(envelope, dict) else None, method)
        assert envelope is not None
        return envelope.get("result")

    async def get_me(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("getMe")
        return result

    async def get_updates(self, poll_seconds: int = 30) -> dict[str, Any] | None:
        """The next update, or None when the long poll ended idle."""
        try:
            result = await self.call(
                "getUpdates", {"timeout": str(poll_seconds)}, wait=poll_seconds + 10
            )
        except PollTimeoutError:
            return None
        return result if isinstance(result, dict) and result else None

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")

    async def send_message(self, chat_id: str, text: str) -> None:
        """Send `text`, split into parts of at most 2,000 characters."""
        for part in split_text(text, MESSAGE_LIMIT):
            await self.call("sendMessage", {"chat_id": chat_id, "text": part})

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> None:
        payload = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            payload["caption"] = caption[:MESSAGE_LIMIT]
        await self.call("sendPhoto", payload)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def download(self, url: str) -> bytes:
        """Fetch a voice note Zalo points to (its URL expires, so at once): only from the
        allowed hosts, redirects only to them, and no more than the size limit (one byte
        more, so that the decoder answers "too large")."""
        for _ in range(_MAX_REDIRECTS + 1):
            if not allowed_url(url, self._voice_hosts):
                raise BadRequestError("download: host not allowed for voice notes")
            try:
                async with self._http.stream("GET", url, timeout=self._timeout) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = str(response.url.join(response.headers["location"]))
                        continue
                    if response.status_code != 200:
                        raise_for(response.status_code, None, "download")
                    data = bytearray()
                    async for chunk in response.aiter_bytes():
                        data += chunk
                        if len(data) > self._max_download:
                            break
                    return bytes(data[: self._max_download + 1])
            except httpx.HTTPError as error:
                raise TransientError(f"download: {type(error).__name__}") from error
        raise BadRequestError("download: too many redirects")


_UNSUPPORTED_EVENTS = {
    "message.image.received": "photo",
    "message.sticker.received": "sticker",
    "message.unsupported.received": "other",
}


def _object(value: Any) -> dict[str, Any]:
    """A part of an update that must be a JSON object; anything else reads as empty."""
    return value if isinstance(value, dict) else {}


def to_incoming(update: dict[str, Any], client: ZaloClient) -> Incoming | None:
    """An update as our event, or None for what the bot ignores (group chatter, bot echoes)."""
    event = str(update.get("event_name", ""))
    message = _object(update.get("message"))
    chat = _object(message.get("chat"))
    sender = _object(message.get("from"))
    chat_id, user_id = str(chat.get("id", "")), str(sender.get("id", ""))
    if not chat_id or not user_id or sender.get("is_bot"):
        return None
    turn = Turn(CHANNEL, chat_id, user_id)
    key = f"{event}:{message['message_id']}" if message.get("message_id") else None
    if str(chat.get("chat_type", "PRIVATE")).upper() != "PRIVATE":
        # In groups the bot only answers the registration command of an officer.
        code = group_command(str(message.get("text") or ""))
        return Incoming(turn, GroupCommandIn(code), key) if code is not None else None
    content: Content
    if event == "message.text.received":
        content = parse_text(str(message.get("text") or ""))
    elif event == "message.voice.received" and message.get("voice_url"):
        url = str(message["voice_url"])
        content = VoiceNoteIn(fetch=lambda: client.download(url), extension="aac")
    else:
        content = UnsupportedIn(_UNSUPPORTED_EVENTS.get(event, "other"))
    return Incoming(turn, content, key, written_by=_written_by(message.get("date")))


def _written_by(date: Any) -> dt.datetime | None:
    """A message's `date` (Unix time in milliseconds; a time in seconds counts to the end of
    that second) as the latest instant it was written, or None when missing or no time."""
    if isinstance(date, bool) or not isinstance(date, int | float):
        return None
    seconds = date / 1000 if date > 100_000_000_000 else date + 1
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC) if seconds > 1 else None
    except (OverflowError, OSError, ValueError):
        return None


class ZaloChannel:
    """Serves the conversation on Zalo by long polling or from the webhook."""

    name = CHANNEL

    def __init__(
        self,
        client: ZaloClient,
        inbox: Inbox,
        *,
        images_url: str = "",
        clips_url: str = "",
        per_second: float = 30.0,
    ) -> None:
        self.client = client
        self._inbox = inbox
        # Where this server's /images/ are reachable from the internet: Zalo's sendPhoto
        # takes a URL, not a file. Empty: pictures are left out, their text still goes.
        self._images_url = images_url.rstrip("/")
        # Likewise for recorded questions: Zalo's Bot API sends no audio, so a link follows
        # the question. Empty: the text alone.
        self._clips_url = clips_url.rstrip("/")
        # This process's pace; the runtime shares one between processes on PostgreSQL.
        self.pace: Pace = Throttle(per_second=per_second)
        # Why the channel is not serving right now, for /health; None while it is.
        self.problem: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, chat_id: str, reply: Reply) -> None:
        if reply.photo is not None and self._images_url:
            url = f"{self._images_url}/{Path(reply.photo).name}"
            await paced(self.pace, chat_id, functools.partial(self.client.send_photo, chat_id, url))
        text = render_numbered(reply)
        if reply.clip is not None and self._clips_url:
            link = f"{self._clips_url}/{Path(reply.clip.path).name}"
            text += "\n" + msg.CLIP_LINK.format(url=link)
        for part in split_text(text, MESSAGE_LIMIT):  # each part in its turn
            send = functools.partial(self.client.send_message, chat_id, part)
            await paced(self.pace, chat_id, send)

    async def typing(self, chat_id: str) -> None:
        await self.client.send_chat_action(chat_id, "typing")

    async def accept(self, update: dict[str, Any]) -> None:
        """Take an update (from a poll or the webhook) and process it in the background;
        chats run concurrently, each chat's updates in order. It is kept first, until
        handled: before the webhook's answer tells Zalo it arrived, before the next poll (Zalo
        gives an update once, whatever comes of it; a batch of keeps is one write)."""
        incoming = to_incoming(update, self.client)
        if incoming is None:
            return
        if incoming.update_key is not None:
            await self._inbox.keep(CHANNEL, [(incoming.update_key, update)])
        self._spawn(self._inbox.dispatch(self, incoming))

    async def replay(self, orphans: Sequence[Orphan]) -> None:
        """Handle updates a stopped process had taken, in order, as they come in."""
        for orphan in orphans:
            incoming = to_incoming(orphan.payload, self.client)
            if incoming is None:  # not one it keeps (a newer version would): nothing to do
                self._spawn(self._inbox.forget(CHANNEL, orphan.key))
                continue
            incoming = replace(incoming, received_at=orphan.received_at)
            self._spawn(self._inbox.dispatch(self, incoming))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def poll_forever(self, poll_timeout: int = 30) -> None:
        """Long-poll getUpdates until cancelled. Failing to delete the webhook raises (the
        runtime retries the whole loop and reports the channel down); poll errors back off,
        and three in a row mark the channel down until a poll succeeds."""
        await with_retries(self.client.delete_webhook, attempts=3)
        failures = 0
        self.problem = None
        while True:
            try:
                update = await self.client.get_updates(poll_timeout)
                failures = 0
                self.problem = None
            except ChannelError as error:
                failures += 1  # 0.25 s, 0.5 s, 1 s … 30 s; a 429 waits as long as it says
                delay = min(30.0, 0.25 * 2 ** min(failures - 1, 7))
                if isinstance(error, RateLimitedError):
                    delay = max(delay, min(error.retry_after, 30.0))
                log.warning("zalo poll failed (%s); retrying in %.1fs", error, delay)
                if failures >= 3:
                    self.problem = f"getUpdates failing: {error}"[:200]
                await asyncio.sleep(delay)
                continue
            if update is not None:
                await self.accept(update)

    async def drain(self) -> None:
        """Wait for the updates in progress (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
