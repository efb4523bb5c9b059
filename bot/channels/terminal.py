"""The terminal channel: chat with the bot in a shell, or replay a script of messages.

Choices are numbered lines, as on Zalo. Script lines are user messages; ``#`` starts a
comment, ``/press N`` presses choice N of the last question, ``/voice PATH`` sends an audio
file as a voice note. Every line travels the same path as a Telegram or Zalo update: one
:class:`~bot.channels.base.Incoming` handed to the inbox, replies delivered back here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from pathlib import Path

from bot.channels.base import Content, Inbox, Incoming, Turn, VoiceNoteIn, render_numbered
from dialogs import messages as msg
from dialogs.events import ChoiceIn, Option, Reply, parse_text

CHANNEL = "terminal"
Write = Callable[[str], None]


class TerminalChannel:
    """One user chatting through the terminal; remembers the last choices for ``/press``."""

    name = CHANNEL

    def __init__(self, inbox: Inbox, user_id: str, write: Write, *, max_voice_bytes: int) -> None:
        self._inbox = inbox
        self._turn = Turn(CHANNEL, user_id, user_id)
        self._write = write
        self._max_voice_bytes = max_voice_bytes
        self._options: tuple[Option, ...] = ()

    async def send_line(self, line: str) -> None:
        """Send one line as the user would; the replies are written as they are delivered."""
        content = self._content(line)
        if content is not None:
            await self._inbox.dispatch(self, Incoming(self._turn, content))

    async def send(self, chat_id: str, reply: Reply) -> None:
        if reply.options:
            self._options = reply.options
        text = render_numbered(reply)
        if reply.voice is not None:  # named for a player; there is no sound in a shell
            found = await asyncio.to_thread(Path(reply.voice).is_file)
            text += "\n" + (f"📁 {reply.voice}" if found else msg.RECORDING_GONE)
        if reply.photo is not None:
            text += f"\n🖼️ {reply.photo}"
        if reply.clip is not None:  # the recorded question, for a player
            text += f"\n🔊 {reply.clip.path}"
        self._write("🤖 " + text.replace("\n", "\n   ") + "\n")

    async def typing(self, chat_id: str) -> None:
        """Nothing to show: the terminal waits for the answer anyway."""

    def _content(self, line: str) -> Content | None:
        command, _, arg = line.strip().partition(" ")
        if command == "/press":
            if not arg.strip().isdigit() or not 1 <= int(arg) <= len(self._options):
                self._write(msg.NO_SUCH_BUTTON.format(number=arg.strip()[:10] or "?") + "\n")
                return None
            return ChoiceIn(self._options[int(arg) - 1].value)
        if command == "/voice":
            return self._voice(Path(arg.strip()))
        return parse_text(line)

    def _voice(self, path: Path) -> VoiceNoteIn | None:
        """A voice note from an audio file, transcribed as one from a phone would be. Only
        regular files are read, and no more than one byte over the size limit (so that an
        over-large file is answered as such, not read whole)."""
        if not path.is_file():  # also False for devices and for paths with a NUL byte
            self._write(msg.NO_SUCH_FILE.format(path=str(path)[:200]) + "\n")
            return None
        limit = self._max_voice_bytes + 1

        async def fetch() -> bytes:
            with path.open("rb") as handle:
                return handle.read(limit)

        return VoiceNoteIn(fetch, path.suffix.lstrip("."))


def script_lines(lines: Iterable[str]) -> Iterable[str]:
    """The messages of a script: blank lines and ``#`` comments dropped."""
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield stripped
