"""Word error rate, computed the way the shared speech corpus documents it."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"\W+")


def wer_words(text: str) -> list[str]:
    """Words for scoring: NFC, lower case, every non-word character a space."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFC", text).lower()).split()


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Substitutions, insertions and deletions turning `reference` into `hypothesis`."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref != hyp))
    return row[-1]
