"""Telegram through python-telegram-bot, used only as a transport.

One catch-all handler parses every update into one :class:`~bot.channels.base.Incoming`
and hands it to the inbox (the dispatcher); conversation state lives in our database (shared
with Zalo), not in the library. Choices are inline buttons; texts go out as HTML with every
piece of user text escaped.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import functools
import html
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

# Opt in to python-telegram-bot's timedelta time periods now: the int form is deprecated
# and warns inside the library itself (RetryAfter), which our tests treat as an error.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bot.channels.base import (
    BadRequestError,
    BlockedIn,
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
    split_text,
)
from dialogs import engine as dialog
from dialogs import messages as msg
from dialogs.events import ChoiceIn, Clip, Reply, UnsupportedIn, parse_text

log = logging.getLogger(__name__)

CHANNEL = "telegram"
DEFAULT_BASE_URL = "https://api.telegram.org"
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# What Telegram plays as a voice message (OGG/Opus, MP3, M4A); other audio goes as a file.
VOICE_FORMATS = frozenset({"ogg", "oga", "opus", "mp3", "m4a"})
T = TypeVar("T")


async def mapped(call: Awaitable[T]) -> T:
    """Run a Bot API call, turning python-telegram-bot's errors into ours (the one place)."""
    try:
        return await call
    except RetryAfter as error:
        retry = error.retry_after
        seconds = retry.total_seconds() if isinstance(retry, dt.timedelta) else float(retry)
        raise RateLimitedError(seconds, str(error)) from error
    except Forbidden as error:
        raise ForbiddenError(str(error)) from error
    except BadRequest as error:
        raise BadRequestError(str(error)) from error
    except NetworkError as error:  # timeouts, dropped connections, 5xx
        raise TransientError(str(error)) from error
    except TelegramError as error:
        raise ChannelError(str(error)) from error


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """One button per choice (numbered, as spoken and typed answers use the numbers), then a
    row for back / cancel / help."""
    rows = [
        [InlineKeyboardButton(f"{n}. {option.label}", callback_data=option.value)]
        for n, option in enumerate(reply.options, start=1)
    ]
    if reply.nav:
        rows.append(
            [InlineKeyboardButton(o.label, callback_data=o.value) for o in dialog.NAV_OPTIONS]
        )
    return InlineKeyboardMarkup(rows) if rows else None


_UNSUPPORTED_KINDS = (
    "sticker",
    "photo",
    "video",
    "video_note",
    "animation",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
)
_AUDIO_EXTENSIONS = {
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/aac": "aac",
}


# Failed polls in a row before /health reports the channel down.
POLL_FAILURES_REPORTED = 3


def _readable(update: object) -> object:
    """`update` if python-telegram-bot can read it; else its bare update_id, so it is still
    acknowledged (skipped) instead of failing every poll for everyone. Logged once, in one
    line without the update's content (it carries people's names and texts)."""
    try:
        Update.de_json(copy.deepcopy(update), None)  # type: ignore[arg-type]
    except Exception as error:
        update_id = update.get("update_id") if isinstance(update, dict) else None
        log.warning(
            "telegram: update %s could not be read (%s); skipped", update_id, type(error).__name__
        )
        return {"update_id": update_id} if isinstance(update_id, int) else None
    return update


class _PollRequest(HTTPXRequest):
    """getUpdates' connection. python-telegram-bot reads a whole batch of updates at once, and
    one it cannot read (a shape from an older or newer Bot API server) failed every poll:
    such an update is made its bare id here, where its JSON is parsed."""

    def __init__(self, channel: TelegramChannel) -> None:
        super().__init__(connection_pool_size=1)  # one poll at a time: `_parsed` is its own
        self._channel = channel
        self._parsed: dict[str, Any] | None = None

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """A batch of updates is kept before python-telegram-bot takes it, so before its next
        poll tells Telegram the batch arrived: a process killed meanwhile loses none."""
        code, payload = await super().do_request(*args, **kwargs)
        self._parsed = None
        if code == HTTPStatus.OK:
            try:
                self._parsed = self._read(payload)
            except Exception:  # python-telegram-bot reports it, parsing it again
                return code, payload
            result = self._parsed.get("result")
            if self._parsed.get("ok") and isinstance(result, list) and result:
                await self._channel.received(result)
        return code, payload

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        parsed, self._parsed = self._parsed, None  # read once, in do_request
        return parsed if parsed is not None else self._read(payload)

    def _read(self, payload: bytes) -> dict[str, Any]:
        data: dict[str, Any] = super().parse_json_payload(payload)
        result = data.get("result")
        if data.get("ok") and isinstance(result, list):
            data["result"] = [u for u in map(_readable, result) if u is not None]
            self._channel.polled()
        return data


class TelegramChannel:
    name = CHANNEL

    def __init__(
        self,
        token: str,
        inbox: Inbox,
        *,
        base_url: str = DEFAULT_BASE_URL,
        polling: bool = True,
        per_second: float = 30.0,
        chat_per_second: float | None = 1.0,
        connections: int = 16,
    ) -> None:
        base = base_url.rstrip("/")
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            Application.builder()
            .token(token)
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .concurrent_updates(True)
            # A pool sized for the work, not the library's 256: httpcore checks every pooled
            # connection on each request (32 instead of 8 cost a third of the throughput).
            .connection_pool_size(connections)
            .pool_timeout(10.0)
        )
        if polling:
            builder = builder.get_updates_request(_PollRequest(self))
        else:
            builder = builder.updater(None)
        self.app = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self._inbox = inbox
        # This process's pace; the runtime shares one between processes on PostgreSQL.
        self.pace: Pace = Throttle(
            per_second=per_second, group_per_minute=20, chat_per_second=chat_per_second
        )
        self._tasks: set[asyncio.Task[None]] = set()
        # Why the channel is not serving right now, for /health; None while it is.
        self.problem: str | None = None
        self._poll_failures = 0
        # Recorded questions: Telegram's id of each clip once uploaded (sent by id after
        # that), and who keeps the id for the other processes and the next start.
        self._clip_ids: dict[int, str] = {}
        self.on_clip_uploaded: Callable[[int, str], Awaitable[None]] | None = None

    async def received(self, updates: list[Any]) -> None:
        """Keep updates just taken (a bare id, one that could not be read, is skipped)."""
        kept = [
            (f"u{update['update_id']}", update)
            for update in updates
            if isinstance(update, dict)
            and isinstance(update.get("update_id"), int)
            and len(update) > 1
        ]
        await self._inbox.keep(CHANNEL, kept)

    def polled(self) -> None:
        """A getUpdates answered: the channel serves."""
        self._poll_failures, self.problem = 0, None

    def _poll_failed(self, error: TelegramError) -> None:
        """A failed getUpdates, which python-telegram-bot retries with a backoff of its own:
        one line, not its traceback at ERROR (a messenger's hiccup is no bug of ours); after a
        few in a row, /health says so."""
        self._poll_failures += 1
        if self._poll_failures >= POLL_FAILURES_REPORTED:
            self.problem = f"getUpdates failed {self._poll_failures} times: {type(error).__name__}"
        log.warning("telegram poll failed (%s: %s); retrying", type(error).__name__, error)

    # --- outbound ------------------------------------------------------------------------

    async def send(self, chat_id: str, reply: Reply) -> None:
        if reply.clip is not None:  # the question in the union's voice, then its text
            await self._send_clip(chat_id, reply.clip)
            reply = replace(reply, clip=None)
        if reply.voice is not None:
            await self._send_recording(chat_id, reply, Path(reply.voice))
            return
        if reply.photo is not None and await self._send_photo(chat_id, reply, Path(reply.photo)):
            return
        parts = split_text(html.escape(reply.text, quote=False), MESSAGE_LIMIT)
        for number, part in enumerate(parts, start=1):
            markup = keyboard(reply) if number == len(parts) else None
            send = functools.partial(
                self.app.bot.send_message,
                chat_id=chat_id,
                text=part,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                # A link in a reply (the officers' one-time sign-in link) is never fetched
                # for a preview, and no bubble grows a card nobody asked for.
                link_preview_options=NO_PREVIEW,
            )
            await self._paced(chat_id, send)

    async def _send_clip(self, chat_id: str, clip: Clip) -> None:
        """A recorded question as a voice message: by Telegram's id once it has the clip,
        uploaded the first time (or when Telegram no longer knows the id). A clip gone from
        disk is left out: the text follows anyway."""
        known = self._clip_ids.get(clip.id) or clip.ref
        if known is not None:
            try:
                await self._paced(
                    chat_id, lambda: self.app.bot.send_voice(chat_id=chat_id, voice=known)
                )
                return
            except BadRequestError:
                log.warning("telegram: a clip's file id was refused; uploading it again")
                self._clip_ids.pop(clip.id, None)
        try:
            data = await asyncio.to_thread(Path(clip.path).read_bytes)
        except OSError:
            log.warning("telegram: recorded question %s is gone from disk", clip.id)
            return
        try:
            sent = await self._paced(
                chat_id,
                lambda: self.app.bot.send_voice(
                    chat_id=chat_id, voice=data, filename="cau-hoi.ogg"
                ),
            )
        except BadRequestError as error:  # the text still goes
            log.warning("telegram: recorded question %s refused (%s)", clip.id, error)
            return
        if sent.voice is not None:
            self._clip_ids[clip.id] = sent.voice.file_id
            if self.on_clip_uploaded is not None:
                await self.on_clip_uploaded(clip.id, sent.voice.file_id)

    async def _send_recording(self, chat_id: str, reply: Reply, path: Path) -> None:
        """A kept recording as a voice message (a file to open, in a format Telegram does not
        play as voice), its text the caption."""
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError:  # removed since (audio not kept any more, a cleaned data folder)
            log.warning("telegram: a kept recording could not be read")
            await self.send(chat_id, Reply(f"{reply.text}\n{msg.RECORDING_GONE}", reply.options))
            return
        caption = html.escape(reply.text[:CAPTION_LIMIT], quote=False)
        common: dict[str, Any] = {
            "chat_id": chat_id,
            "caption": caption,
            "parse_mode": ParseMode.HTML,
            "reply_markup": keyboard(reply),
        }
        if path.suffix.lower().lstrip(".") in VOICE_FORMATS:
            await self._paced(
                chat_id, lambda: self.app.bot.send_voice(voice=data, filename=path.name, **common)
            )
        else:
            await self._paced(
                chat_id,
                lambda: self.app.bot.send_document(document=data, filename=path.name, **common),
            )

    async def _send_photo(self, chat_id: str, reply: Reply, path: Path) -> bool:
        """A picture with the text as its caption: one message. A text too long for a caption
        follows the picture; a picture gone from disk leaves the text alone (False)."""
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError:
            log.warning("telegram: a picture could not be read; sending the text alone")
            await self.send(chat_id, Reply(reply.text, reply.options))
            return True
        fits = len(reply.text) <= CAPTION_LIMIT
        await self._paced(
            chat_id,
            lambda: self.app.bot.send_photo(
                chat_id=chat_id,
                photo=data,
                filename=path.name,
                caption=html.escape(reply.text, quote=False) if fits else None,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(reply) if fits else None,
            ),
        )
        if not fits:
            await self.send(chat_id, Reply(reply.text, reply.options))
        return True

    async def _paced(self, chat_id: str, request: Callable[[], Awaitable[T]]) -> T:
        """One Bot API send in its turn (a group's id is negative), its errors mapped."""
        return await paced(
            self.pace, chat_id, lambda: mapped(request()), group=chat_id.startswith("-")
        )

    async def typing(self, chat_id: str) -> None:
        await mapped(self.app.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING))

    # --- inbound -------------------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._take(update, None)

    async def _take(self, update: Update, received_at: dt.datetime | None) -> None:
        # Parsing does not await, so the first await is the dispatcher's chat lock: a button
        # press and the text typed right after it are processed in that order.
        try:
            incoming = self.to_incoming(update)
        except Exception as error:  # a shape the Bot API does not send: nothing to answer
            log.warning("telegram: ignored update %s (%s)", update.update_id, error)
            incoming = None
        if incoming is not None:
            await self._inbox.dispatch(self, replace(incoming, received_at=received_at))
            return
        await self._inbox.forget(CHANNEL, f"u{update.update_id}")
        if update.callback_query is not None and received_at is None:
            await _courtesy(update.callback_query.answer())  # a press on nothing we know

    async def replay(self, orphans: Sequence[Orphan]) -> None:
        """Handle updates a stopped process had taken, in order, as they come in."""
        for orphan in orphans:
            try:
                update = Update.de_json(orphan.payload, self.app.bot)
            except Exception as error:
                log.warning("telegram: a kept update could not be read (%s)", type(error).__name__)
                self._spawn(self._inbox.forget(CHANNEL, orphan.key))
                continue
            self._spawn(self._take(update, orphan.received_at))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def to_incoming(self, update: Update) -> Incoming | None:
        """Our event for an update, or None for what the bot does not answer."""
        key = f"u{update.update_id}"
        if update.my_chat_member is not None:
            member = update.my_chat_member
            if member.chat.type == "private" and member.new_chat_member.status == "kicked":
                user_id = str(member.from_user.id)
                return Incoming(Turn(CHANNEL, str(member.chat.id), user_id), BlockedIn(), key)
            return None
        if update.callback_query is not None:
            query = update.callback_query
            if query.message is None or query.data is None:
                return None
            turn = Turn(CHANNEL, str(query.message.chat.id), str(query.from_user.id))
            answer = query.answer

            async def acknowledge() -> bool:
                return await mapped(answer())

            return Incoming(turn, ChoiceIn(query.data), key, acknowledge=acknowledge)
        message = update.edited_message or update.message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return None
        turn = Turn(CHANNEL, str(message.chat.id), str(message.from_user.id))
        if message.chat.type != "private":
            # In groups the bot only answers the registration command of an officer.
            code = group_command(message.text or "")
            return Incoming(turn, GroupCommandIn(code), key) if code is not None else None
        content: Content
        if update.edited_message is not None:
            content = UnsupportedIn("edited")
        elif message.voice is not None:
            content = VoiceNoteIn(self._downloader(message.voice.file_id), "ogg")
        elif message.audio is not None:
            extension = _AUDIO_EXTENSIONS.get(message.audio.mime_type or "", "bin")
            content = VoiceNoteIn(self._downloader(message.audio.file_id), extension)
        elif isinstance(message.text, str):
            content = parse_text(message.text)
        else:
            kind = next((k for k in _UNSUPPORTED_KINDS if getattr(message, k, None)), "other")
            content = UnsupportedIn(kind)
        # Telegram's date counts whole seconds: the message was written within that second.
        written_by = message.date + dt.timedelta(seconds=1)
        return Incoming(turn, content, key, written_by=written_by)

    def _downloader(self, file_id: str) -> Callable[[], Awaitable[bytes]]:
        async def fetch() -> bytes:
            file = await mapped(self.app.bot.get_file(file_id))
            return bytes(await mapped(file.download_as_bytearray()))

        return fetch

    # --- serving -------------------------------------------------------------------------

    async def start(
        self,
        *,
        poll_timeout: int = 30,
        before_polling: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Connect (getMe), then (`before_polling` done) poll; safe to call again after a
        failure part-way."""
        await mapped(self.app.initialize())
        if not self.app.running:
            await self.app.start()
        if before_polling is not None:
            await before_polling()
        if self.app.updater is not None and not self.app.updater.running:
            await mapped(self.app.bot.delete_webhook())
            await self.app.updater.start_polling(
                timeout=poll_timeout,
                allowed_updates=Update.ALL_TYPES,
                poll_interval=0.0,
                error_callback=self._poll_failed,
            )

    async def stop(self) -> None:
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        await self.drain()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def accept(self, data: dict[str, Any]) -> None:
        """An update from the webhook: kept, then processed in the background; the HTTP answer
        (after which Telegram does not send it again) is quick."""
        update = Update.de_json(data, self.app.bot)
        await self.received([data])
        self._spawn(self.app.process_update(update))

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def _courtesy(action: Awaitable[Any]) -> None:
    try:
        await action
    except Exception:
        log.debug("courtesy call failed", exc_info=True)
