"""Channel-neutral inbound events and outbound replies.

Adapters in ``bot/`` turn a Telegram update, a Zalo event or a terminal line into one
:data:`Inbound` event, and render each :class:`Reply` in the channel's own way: buttons on
Telegram, numbered lines on Zalo and in the terminal.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from nlp.text import clean_text


@dataclass(frozen=True, slots=True)
class TextIn:
    """Something the user typed."""

    text: str


@dataclass(frozen=True, slots=True)
class VoiceIn:
    """A voice note, already transcribed and normalised. `transcript` is None when it could
    not be; `problem` then names why ("unavailable", "empty", "corrupt", "silent",
    "too_long", "too_large"). `note_id` is the stored recording; `doubtful`, the words of the
    transcript the recogniser was unsure of, in order."""

    transcript: str | None
    problem: str | None = None
    duration_s: float | None = None
    note_id: int | None = None
    doubtful: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChoiceIn:
    """A button press, carrying the option's value."""

    value: str


@dataclass(frozen=True, slots=True)
class CommandIn:
    """A slash command such as ``/start HN-CK01`` (a deep link carries the unit code)."""

    name: str
    arg: str = ""


@dataclass(frozen=True, slots=True)
class UnsupportedIn:
    """Content the bot cannot read: sticker, photo, location, contact, file, video…"""

    kind: str


Inbound = TextIn | VoiceIn | ChoiceIn | CommandIn | UnsupportedIn


@dataclass(frozen=True, slots=True)
class Option:
    """One numbered choice. `aliases` are extra match keys (diacritic-free) that also pick it."""

    label: str
    value: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Clip:
    """A recorded prompt to play with a reply: its row, its OGG/Opus file and, once a
    messenger has it, the messenger's id for it (sent again by id, not uploaded)."""

    id: int
    path: str
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the user. `options` are numbered choices; `nav` asks for back / cancel /
    help buttons where there are buttons (Telegram); `hint` adds the line that says how to go
    back or stop on channels without them (only on the first questions and in help, so that
    every other bubble stays short). `voice` is a kept recording (its file) to play back,
    with `text` as its caption, where the channel can play one. `photo` is a picture (its
    file) sent with `text`: a ranking. `say` names the message in the prompt pack
    (:mod:`dialogs.prompts`) and `clip` is its recording for this listener, played with it."""

    text: str
    options: tuple[Option, ...] = field(default=())
    nav: bool = False
    hint: bool = False
    voice: str | None = None
    photo: str | None = None
    say: str | None = None
    clip: Clip | None = None


def in_bubbles(replies: Sequence[Reply]) -> tuple[Reply, ...]:
    """The replies of one turn as few messages as their content allows: a plain line (an
    acknowledgement: "✅ CĐCS …", "⏱️ Tôi hiểu là: 30 phút/ca.") goes in the same bubble as
    what follows it, so a worker gets one message a turn and never types between two. A
    recording or a picture is never merged with what comes before it (its text is a caption),
    and a line with a clip of its own keeps it: it is a bubble of its own."""
    merged: list[Reply] = []
    for reply in replies:
        before = merged[-1] if merged else None
        if before is not None and _plain(before) and reply.voice is None and reply.photo is None:
            merged[-1] = dataclasses.replace(reply, text=f"{before.text}\n{reply.text}")
        else:
            merged.append(reply)
    return tuple(merged)


def _plain(reply: Reply) -> bool:
    return not (
        reply.options or reply.nav or reply.hint or reply.voice or reply.photo or reply.clip
    )


COMMANDS = frozenset({"start", "menu", "help", "cancel", "back"})
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


def parse_text(text: str) -> Inbound:
    """Turn a typed line into an event: ``/name arg`` becomes a command (known or not: an
    unknown one gets a hint, it is never an answer), anything else text.

    Telegram appends ``@botname`` to commands in groups; that suffix is dropped.
    """
    cleaned = clean_text(text)
    if cleaned.startswith("/") and len(cleaned) > 1:
        head, _, arg = cleaned[1:].partition(" ")
        name = head.split("@", 1)[0].lower()
        if _COMMAND.fullmatch(name):
            return CommandIn(name, arg.strip())
    return TextIn(cleaned)
