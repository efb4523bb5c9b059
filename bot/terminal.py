"""The terminal channel: chat with the bot in a shell, or replay a script of messages.

Choices are numbered lines, as on Zalo. Script lines are user messages; ``#`` starts a
comment, ``/press N`` presses choice N of the last question, ``/voice PATH`` sends an audio
file as a voice note.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from bot.channels import render_numbered
from bot.service import ChatService, Turn
from bot.voice import VoiceInbox
from dialogs import messages as msg
from dialogs.events import ChoiceIn, Inbound, Option, Reply, VoiceIn, parse_text

CHANNEL = "terminal"
Write = Callable[[str], None]


class TerminalChat:
    """One user chatting through the terminal; remembers the last choices for ``/press``."""

    def __init__(
        self, service: ChatService, user_id: str, write: Write, voice: VoiceInbox | None = None
    ) -> None:
        self._service = service
        self._turn = Turn(CHANNEL, user_id, user_id)
        self._write = write
        self._voice_inbox = voice
        self._options: tuple[Option, ...] = ()

    def send_line(self, line: str) -> None:
        """Send one line as the user would and print the replies."""
        event = self._event(line)
        if event is None:
            return
        for reply in self._service.handle(self._turn, event):
            self._show(reply)

    def _show(self, reply: Reply) -> None:
        if reply.options:
            self._options = reply.options
        self._write("🤖 " + render_numbered(reply).replace("\n", "\n   ") + "\n")

    def _event(self, line: str) -> Inbound | None:
        command, _, arg = line.strip().partition(" ")
        if command == "/press":
            if not arg.strip().isdigit() or not 1 <= int(arg) <= len(self._options):
                self._write(msg.NO_SUCH_BUTTON.format(number=arg.strip() or "?") + "\n")
                return None
            return ChoiceIn(self._options[int(arg) - 1].value)
        if command == "/voice":
            return self._voice(Path(arg.strip()))
        return parse_text(line)

    def _voice(self, path: Path) -> Inbound | None:
        """A voice note from an audio file, transcribed as one from a phone would be."""
        if self._voice_inbox is None:
            return VoiceIn(transcript=None, problem="unavailable")
        try:
            data = path.read_bytes()
        except OSError:
            self._write(msg.NO_SUCH_FILE.format(path=path) + "\n")
            return None
        return self._voice_inbox.receive(
            self._turn, data, path.suffix, on_long_note=lambda: self._show(Reply(msg.LISTENING))
        )


def script_lines(lines: Iterable[str]) -> Iterable[str]:
    """The messages of a script: blank lines and ``#`` comments dropped."""
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield stripped
