"""The fixed texts a worker hears, by name: what a union records in its prompt pack.

A clip is keyed by the name of its message in :mod:`dialogs.messages` ("PROMPTS.PROBLEM",
"SAVED_FOR_LATER", "UNSUPPORTED.sticker"). What the recorder reads aloud is the message
without its emoji, followed by its choices where the question always offers the same ones,
so that a worker who cannot read hears them too. Texts that change (a name, a number, the
read-back of a transcript) have no clip: they stay text.

Pure: the conversation service tags each reply of a turn with its key (:func:`tag`) and looks
up the clip; a clip recorded for an older wording is stale (:func:`is_current`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache

from rapidfuzz import fuzz

from dialogs import messages as msg
from dialogs.events import Reply
from nlp.text import match_key

# In the order a worker meets them: the order an officer records them in.
NAMES: tuple[str, ...] = (
    "WELCOME",
    "PROMPTS.ONBOARD_UNIT",
    "PROMPTS.ONBOARD_NAME",
    "PROMPTS.PROBLEM",
    "PROMPTS.SOLUTION",
    "PROMPTS.BENEFIT_KIND",
    "BENEFIT_DETAIL_PROMPTS.TIME",
    "BENEFIT_DETAIL_PROMPTS.MONEY",
    "BENEFIT_DETAIL_PROMPTS.SAFETY",
    "BENEFIT_DETAIL_PROMPTS.QUALITY",
    "BENEFIT_DETAIL_PROMPTS.ENVIRONMENT",
    "BENEFIT_DETAIL_PROMPTS.OTHER",
    "PROMPTS.FIELD",
    "PROMPTS.APPLIED",
    "PROMPTS.COAUTHORS",
    "PROMPTS.EDIT_PICK",
    "STUCK",
    "HELP_ASKED",
    "SAVED_FOR_LATER",
    "CANCELLED",
    "HEAR_ON",
    "NEED_WORDS.PROBLEM",
    "NEED_WORDS.SOLUTION",
    "TOO_SHORT",
    "EMPTY_ANSWER",
    "BENEFIT_UNCLEAR",
    "VOICE_WRONG",
    "VOICE_SAY_AGAIN",
    "VOICE_TYPE_INSTEAD",
    "VOICE_PROBLEMS.unclear",
    "VOICE_PROBLEMS.silent",
    "VOICE_PROBLEMS.empty",
    "UNSUPPORTED.sticker",
    "HELP.PROBLEM",
    "HELP.SOLUTION",
    "HELP.BENEFIT_DETAIL",
    "HELP.APPLIED",
    "HELP.COAUTHORS",
    "NO_DRAFTS",
    "NO_SUBMITTED",
)

# Questions that always offer the same choices: the clip says them after the question.
_CHOICES: dict[str, tuple[str, ...]] = {
    "PROMPTS.BENEFIT_KIND": tuple(msg.BENEFIT_LABELS.values()),
    "PROMPTS.FIELD": tuple(msg.FIELD_LABELS.values()),
    "PROMPTS.APPLIED": (msg.APPLIED_YES, msg.APPLIED_NO),
    "PROMPTS.COAUTHORS": (msg.NO_COAUTHORS,),
    "PROMPTS.EDIT_PICK": (*msg.EDIT_LABELS.values(), msg.EDIT_DONE),
    "STUCK": (msg.STUCK_EXAMPLE, msg.SUMMARY_LATER, msg.STUCK_OFFICER),
}


@dataclass(frozen=True, slots=True)
class Script:
    """One message of the pack: its name, number (1-based, in :data:`NAMES` order), the text
    as shown and what is read aloud (the text without emoji, then its choices numbered)."""

    key: str
    number: int
    text: str
    said: str


def message(key: str) -> str:
    """The text of the message named `key` ("PROMPTS.PROBLEM", "UNSUPPORTED.sticker")."""
    name, _, member = key.partition(".")
    value = getattr(msg, name)
    if not member:
        return str(value)
    assert isinstance(value, Mapping)
    for found, text in value.items():
        if (found.name if isinstance(found, Enum) else str(found)) == member:
            return str(text)
    raise KeyError(key)


def spoken(text: str) -> str:
    """A message as it is read aloud: each line without its leading emoji or bullet."""
    return "\n".join(msg.strip_emoji_label(line.strip(" •")) for line in text.splitlines())


@cache
def pack() -> dict[str, Script]:
    """Every message of the pack by key."""
    scripts: dict[str, Script] = {}
    for number, key in enumerate(NAMES, start=1):
        text = message(key)
        said = spoken(text)
        choices = _CHOICES.get(key, ())
        if choices:
            said += "\n" + "\n".join(
                f"{n}. {msg.strip_emoji_label(label)}." for n, label in enumerate(choices, 1)
            )
        scripts[key] = Script(key, number, text, said)
    return scripts


@cache
def _by_text() -> dict[str, str]:
    return {script.text: script.key for script in pack().values()}


def key_of(text: str) -> str | None:
    """The pack's key for a reply's text, if it is one of the pack's messages as they are."""
    return _by_text().get(text)


def tag(replies: Iterable[Reply]) -> list[Reply]:
    """The replies with `say` set to their clip's key where the pack has one."""
    return [
        dataclasses.replace(reply, say=key) if (key := key_of(reply.text)) else reply
        for reply in replies
    ]


def is_current(key: str, checked: str) -> bool:
    """Whether a clip checked against the text `checked` still says its message: False when
    the message was reworded since (or left the pack), and the clip is stale."""
    script = pack().get(key)
    return script is not None and script.said == checked


def find(ask: str) -> Script | None:
    """The message an officer names to record again: its number ("12") or its key, any
    case ("prompts.problem")."""
    ask = ask.strip()
    scripts = list(pack().values())
    if ask.isdigit():
        number = int(ask)
        return scripts[number - 1] if 1 <= number <= len(scripts) else None
    wanted = ask.lower()
    return next((s for s in scripts if s.key.lower() == wanted), None)


def similarity(heard: str, said: str) -> float:
    """How closely a recording's transcript follows the text read, 0 to 1: word-level, with
    diacritics, case and punctuation folded (the ear's spelling of numbers aside)."""
    return fuzz.ratio(match_key(heard), match_key(said)) / 100
