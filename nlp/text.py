"""Clean up what people type and build diacritic-free keys for matching commands and choices.

Workers type on cheap phones with and without Vietnamese keyboards, paste from other apps and
add emoji. Everything that reaches the dialog goes through :func:`clean_text`; everything that
is compared against a command or a choice goes through :func:`match_key`, so "khong",
"không" and "KHÔNG 👍" are the same answer.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Zero-width characters, BOM, soft hyphen and bidi marks that phones and copy-paste slip in.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Control characters (tabs and newlines included) read as spaces.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES = re.compile(r"\s+")
# Half of a UTF-16 pair on its own: valid in JSON, unwritable to a database.
_SURROGATE = re.compile("[\ud800-\udfff]")
_NON_WORD = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=8192)
def clean_text(text: str) -> str:
    """Return `text` in NFC with invisible and control characters removed and spaces collapsed.

    Newlines inside the text are kept as single spaces: answers are one paragraph each. A lone
    surrogate becomes U+FFFD, so that nothing a messenger lets through fails at the database.
    """
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", _SURROGATE.sub("\ufffd", text)))
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


_COMBINING = re.compile("[\u0300-\u036f]")


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese tone and vowel marks; "đ" becomes "d"."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", _COMBINING.sub("", decomposed))


@lru_cache(maxsize=8192)
def match_key(text: str) -> str:
    """Key for comparing answers: no diacritics, lower case, only letters and digits, single spaces.

    Emoji and punctuation disappear, so a key can be empty for a message of only emoji.
    """
    folded = strip_diacritics(clean_text(text)).casefold()
    return _NON_WORD.sub(" ", folded).strip()


def has_letters_or_digits(text: str) -> bool:
    """True when `text` says something in words or digits (not only emoji or punctuation)."""
    return any(ch.isalnum() for ch in text)


# A Vietnamese syllable, written without diacritics: an optional initial consonant, one to
# three vowels, an optional final consonant. "may", "hay", "ket", "nghieng" match;
# "asdfgh", "aaaaa", "xyz" do not.
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?"
    r"[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?"
)
_REPEATED = re.compile(r"(.)\1\1")


def real_words(text: str) -> int:
    """How many words of `text` could be Vietnamese words (syllables); digits, keyboard mash
    and repeated letters do not count. Used to tell a short real answer ("Máy hay kẹt chỉ")
    from junk ("asdfgh", "aaaaa", "12345")."""
    count = 0
    for word in match_key(text).split():
        if len(word) <= 7 and not _REPEATED.search(word) and _SYLLABLE.fullmatch(word):
            count += 1
    return count


def has_diacritics(text: str) -> bool:
    """True when `text` has a Vietnamese mark or "đ" (typed with a Vietnamese keyboard)."""
    return strip_diacritics(text) != text


def title_case(name: str) -> str:
    """ "nguyễn thị LAN" → "Nguyễn Thị Lan": each word with a capital, the rest small; a word
    already in mixed case ("McLean") is left as typed."""
    words = []
    for word in name.split():
        if word.islower() or word.isupper():
            word = word[:1].upper() + word[1:].lower()
        words.append(word)
    return " ".join(words)
