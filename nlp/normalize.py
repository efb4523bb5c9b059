"""Clean Vietnamese from speech recognition: NFC, standard tone placement, digits, sentence case.

underthesea's ``text_normalize`` places tone marks the standard way ("hoà" → "hòa", "thuỷ"
→ "thủy"), so the same word is stored the same way whoever said or typed it. Importing
underthesea installs logging handlers of its own (one on the root logger, one printing to
stdout); :func:`_underthesea_normalize` imports it with our logging configuration preserved.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

from nlp.numbers import spoken_to_digits
from nlp.text import clean_text

_SPACE_BEFORE = re.compile(r"\s+([,.!?;:%)…])")
_SPACE_AFTER = re.compile(r"([(])\s+")
_SENTENCE_END = ".!?…"


@contextmanager
def _logging_preserved(*names: str) -> Iterator[None]:
    """Undo whatever handlers and levels an import installs on the root and `names` loggers."""
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in names)]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    try:
        yield
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


@cache
def _underthesea_normalize() -> Callable[[str], str]:
    with _logging_preserved("underthesea"):
        from underthesea import text_normalize
    normalize: Callable[[str], str] = text_normalize
    return normalize


def standard_spelling(text: str) -> str:
    """NFC, standard tone placement and single spaces, punctuation attached to its word."""
    text = clean_text(text)
    if not text:
        return ""
    text = _underthesea_normalize()(text)
    return _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", clean_text(text)))


def normalize_transcript(raw: str) -> str:
    """What a worker said, as clean text: standard spelling, numbers as digits, a capital
    letter and a full stop. Empty when nothing was recognised."""
    text = spoken_to_digits(standard_spelling(raw))
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in _SENTENCE_END else text + "."
