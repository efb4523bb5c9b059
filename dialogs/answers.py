"""How workers answer: yes and no the Vietnamese way, greetings, numbers for choices, words
from a button's label, and answers that say nothing.

One vocabulary for every yes/no-like question, typed with or without diacritics, in any case,
with trailing punctuation, particles ("ạ", "nhé") or emoji. Matching a typed word to an option
uses rapidfuzz, so "tiet kiem thoi gain" still picks "Tiết kiệm thời gian".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from dialogs.events import Option
from dialogs.messages import strip_emoji_label
from nlp.text import clean_text, has_diacritics, match_key, real_words, title_case

YES_WORDS = (
    "có",
    "ừ",
    "ừm",
    "ờ",
    "dạ",
    "vâng",
    "dạ vâng",
    "vâng ạ",
    "đúng",
    "đúng rồi",
    "phải",
    "ok",
    "oke",
    "okay",
    "được",
    "đồng ý",
    "rồi",
    "chuẩn",
    "dạ có",
    "dạ đúng",
    "dạ phải",
    "dạ được",
    "đúng vậy",
    "chính xác",
    "yes",
)
NO_WORDS = (
    "không",
    "ko",
    "k",
    "kg",
    "hông",
    "hổng",
    "chưa",
    "sai",
    "sai rồi",
    "không phải",
    "không đúng",
    "dạ không",
    "dạ chưa",
    "không có",
    "chưa có",
    "no",
)
_YES_EMOJI = {"👍", "👌", "✅", "🆗", "👍🏻", "👍🏼", "👍🏽"}
_NO_EMOJI = {"👎", "❌", "🙅", "👎🏻", "👎🏼", "👎🏽"}
# Particles and trailing courtesy that do not change the answer.
_PARTICLES = {"a", "ah", "nhe", "nha", "nhen", "day", "roi a", "anh", "chi", "em", "ban", "bot"}
GREETINGS = (
    "xin chào",
    "chào",
    "chào bạn",
    "chào bot",
    "chào em",
    "chào anh",
    "chào chị",
    "chào buổi sáng",
    "alo",
    "a lô",
    "alô",
    "hello",
    "helo",
    "hi",
    "hey",
    "bot ơi",
    "ơi",
    "ê",
    "có ai không",
)
THANKS = ("cảm ơn", "cám ơn", "cảm ơn bạn", "cảm ơn bot", "thanks", "thank you", "tks")
# Answers to "what was the problem?" that do not answer it.
NON_ANSWERS = (
    "không biết",
    "chưa biết",
    "không rõ",
    "chưa rõ",
    "không có gì",
    "không nhớ",
    "chưa nghĩ ra",
    "không nghĩ ra",
    "gì cũng được",
    "tùy",
    "test",
    "thử",
)


def _without_particles(words: list[str], particles: Collection[str]) -> tuple[str, ...]:
    """`words` without trailing particles ("ạ", "nhé"); a lone word is kept."""
    while len(words) > 1 and words[-1] in particles:
        words.pop()
    return tuple(words)


def _words(text: str) -> tuple[str, ...]:
    """The diacritic-free words of `text` without trailing particles."""
    return _without_particles(match_key(text).split(), _PARTICLES)


def _keys(vocabulary: Sequence[str]) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(match_key(word).split()) for word in vocabulary)


def _marked(vocabulary: Sequence[str]) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(unicodedata.normalize("NFC", word).split()) for word in vocabulary)


_YES, _NO = _keys(YES_WORDS), _keys(NO_WORDS)
_YES_MARKED, _NO_MARKED = _marked(YES_WORDS), _marked(NO_WORDS)
_GREETINGS, _THANKS, _NON_ANSWERS = _keys(GREETINGS), _keys(THANKS), _keys(NON_ANSWERS)
_MARKED_PARTICLES = {"ạ", "nhé", "nha", "nhen", "à", "đấy", "anh", "chị", "em", "bạn", "bot"}


def _marked_words(text: str) -> tuple[str, ...]:
    """Lower-case words with their marks, punctuation and trailing particles off."""
    folded = unicodedata.normalize("NFC", clean_text(text)).casefold()
    return _without_particles(re.sub(r"[^\w\s]", " ", folded).split(), _MARKED_PARTICLES)


def _lookup(
    words: tuple[str, ...], yes: frozenset[tuple[str, ...]], no: frozenset[tuple[str, ...]]
) -> bool | None:
    # "dạ" in front is courtesy: "dạ, đúng rồi", "dạ không phải".
    for candidate in (words, words[1:] if len(words) > 1 and words[0] in {"dạ", "da"} else None):
        if candidate in yes:
            return True
        if candidate in no:
            return False
    return None


def yes_or_no(text: str) -> bool | None:
    """True for a yes ("dạ", "vâng ạ", "ok 👍"), False for a no ("không phải", "ko"), None
    for anything else. Typed without diacritics both readings count ("dung" is "đúng"); with
    them only the marked word does ("dừng" is not "đúng", "cô" is not "có")."""
    cleaned = clean_text(text)
    if has_diacritics(cleaned):
        return _lookup(_marked_words(cleaned), _YES_MARKED, _NO_MARKED)
    words = _words(cleaned)
    if words:
        return _lookup(words, _YES, _NO)
    symbols = set(cleaned)
    if symbols & _YES_EMOJI:
        return True
    if symbols & _NO_EMOJI:
        return False
    return None


def is_greeting(text: str) -> bool:
    """ "xin chào", "alo", "chào bot", "hello 👋": small talk, never an answer."""
    words = _words(text)
    return bool(words) and (words in _GREETINGS or (words[0] == "chao" and len(words) <= 3))


def is_thanks(text: str) -> bool:
    words = _words(text)
    return bool(words) and (words in _THANKS or words[:2] == ("cam", "on"))


# Courtesy a worker opens an answer with («vâng ạ, gắn thanh dẫn vải», «dạ máy hay kẹt»); without
# diacritics («da,», «vang,») only before a comma or stop, as «da» is also skin.
_OPENERS = {"dạ", "vâng", "ạ", "ừ", "ờ"}
_OPENERS_BEFORE_A_STOP = {"da", "vang"}
# An opener that begins a word of its own: «dạ dày», «dạ quang», «dạ hội», «vâng lời».
_COMPOUNDS = {
    "dạ": {"dày", "quang", "hội", "con", "cỏ", "khúc", "xoa", "yến", "tiệc"},
    "vâng": {"lời", "mệnh", "theo"},
}
_FIRST_WORD = re.compile(r"(\w+)([^\w]*)")


def without_courtesy(text: str) -> str:
    """An answer without the courtesy it opens with, when what is left says something;
    capitalised as it was typed."""
    rest = text
    while found := _FIRST_WORD.match(rest):
        word, after = found.group(1).casefold(), found.group(2)
        stop = bool(after.strip())
        following = _FIRST_WORD.match(rest, found.end())
        if not stop and following and following.group(1).casefold() in _COMPOUNDS.get(word, ()):
            break
        if word not in _OPENERS and not (word in _OPENERS_BEFORE_A_STOP and stop):
            break
        rest = rest[found.end() :]
    if rest == text or not says_something(rest):
        return text
    return rest[:1].upper() + rest[1:] if text[:1].isupper() else rest


def is_non_answer(text: str) -> bool:
    """ "không biết", "chưa rõ": a worker who has nothing to say yet, not an answer."""
    return _words(text) in _NON_ANSWERS


def says_something(text: str, minimum: int = 2) -> bool:
    """Whether free text is an answer in words: at least `minimum` real words, and not a
    yes/no word, a greeting or "không biết". "Máy hay kẹt chỉ" does; "aaaaa", "12345",
    "asdfgh", "dạ vâng" and "không biết" do not."""
    if yes_or_no(text) is not None or is_greeting(text) or is_thanks(text):
        return False
    if is_non_answer(text):
        return False
    return real_words(text) >= minimum


# --- numbers and words for choices -----------------------------------------------------------

_NUMBER_WORDS = {
    "mot": 1,
    "nhat": 1,
    "hai": 2,
    "nhi": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
    "nam": 5,
    "sau": 6,
    "bay": 7,
    "tam": 8,
    "chin": 9,
    "muoi": 10,
}
# Words around a number that only say "I choose": "số 2", "cái thứ hai", "chọn 3 nhé".
_CHOICE_FILLER = {
    "so",
    "cai",
    "thu",
    "chon",
    "lua",
    "phuong",
    "an",
    "toi",
    "em",
    "minh",
    "la",
    "y",
    "cau",
    "muc",
    "nut",
    "bam",
    *_PARTICLES,
}


def number_of(text: str) -> int | None:
    """2 for "2", "hai", "số 2", "cái thứ hai", "chọn số 2 nhé"; None when not a number."""
    words = [w for w in match_key(text).split() if w not in _CHOICE_FILLER]
    if len(words) != 1:
        return None
    word = words[0]
    if word.isdigit():
        return int(word) if len(word) <= 3 else None
    return _NUMBER_WORDS.get(word)


@dataclass(frozen=True, slots=True)
class ChoiceMatch:
    """The option an answer picks, or the options it could mean when it is ambiguous."""

    value: str | None
    candidates: tuple[Option, ...] = ()


# Words that say nothing about which option is meant.
_STOP = {"va", "hoac", "la", "cua", "cho", "de", "thi", "voi", "toi", "minh", "em", "a", "nhe"}
_FUZZY_WORD = 75  # one letter wrong in a 4-letter word still counts
_AMBIGUOUS_MARGIN = 5


def label_key(option: Option) -> str:
    """What an option's label reads as, for matching: no emoji, no marks ("tiet kiem tien")."""
    return match_key(strip_emoji_label(option.label))


def named_option(text: str, options: Sequence[Option]) -> str | None:
    """The option whose whole label or an alias `text` is ("Gõ lại", "go lai"), else None."""
    key = match_key(text)
    if not key:
        return None
    return next((o.value for o in options if key == label_key(o) or key in o.aliases), None)


def _label_words(option: Option, label_key: str) -> set[str]:
    words = set(label_key.split())
    for alias in option.aliases:
        words.update(alias.split())
    return words


def match_option(text: str, options: Sequence[Option]) -> ChoiceMatch:
    """The option a typed or spoken answer names: its full label or an alias, a prefix of the
    label ("gửi"), or distinctive words of it ("tiền", "thời gian", "ky thuat"), one letter
    wrong allowed in longer words. Two options that match as well: ambiguous."""
    key = match_key(text)
    if not key:
        return ChoiceMatch(None)
    exact = named_option(text, options)
    if exact is not None:
        return ChoiceMatch(exact)
    label_keys = [label_key(option) for option in options]
    words = [w for w in key.split() if w not in _STOP] or key.split()
    scored: list[tuple[float, Option]] = []
    for option, label in zip(options, label_keys, strict=True):
        if len(key) >= 3 and label.startswith(key):
            scored.append((100.0, option))
            continue
        vocabulary = _label_words(option, label)
        # A typo keeps the word's first letter: "gain" is "gian", but "vang" is not "sang".
        best = [
            max((fuzz.ratio(w, v) for v in vocabulary if v[:1] == w[:1]), default=0.0)
            for w in words
        ]
        if all(
            b == 100 or (len(w) >= 4 and b >= _FUZZY_WORD) for w, b in zip(words, best, strict=True)
        ):
            scored.append((sum(best) / len(best), option))
    if not scored:
        return ChoiceMatch(None)
    scored.sort(key=lambda pair: -pair[0])
    top = scored[0][0]
    close = tuple(option for score, option in scored if top - score < _AMBIGUOUS_MARGIN)
    if len(close) > 1:
        return ChoiceMatch(None, close)
    return ChoiceMatch(close[0].value)


_DASHES = re.compile("[\u2010-\u2015\u2212_]")


def unit_code(text: str) -> str:
    """A unit code as typed or spoken: "hn dm01", "HN–DM01", "hn-dm01." → "HN-DM01"."""
    code = _DASHES.sub("-", clean_text(text).upper())
    code = re.sub(r"\s*-\s*", "-", code).strip(" .!?")
    code = re.sub(r"\s+", "-", code)
    return "".join(ch for ch in code if ch.isalnum() or ch == "-").strip("-")


_NAME_MAX = 60


def person_name(text: str) -> str | None:
    """A person's name as given ("nguyễn thị lan." → "Nguyễn Thị Lan"), or None when it is
    no name: digits, a yes or no, a greeting, "không biết"."""
    name = clean_text(text).rstrip(".!?…").strip()
    if (
        not 2 <= len(name) <= _NAME_MAX
        or not any(ch.isalpha() for ch in name)
        or any(ch.isdigit() for ch in name)
        or real_words(name) == 0
        or yes_or_no(name) is not None
        or is_greeting(name)
        or is_non_answer(name)
    ):
        return None
    return title_case(name)


def phone_number(text: str) -> str | None:
    """A Vietnamese phone number as digits ("0912 345 678", "+84 912.345.678" →
    "0912345678"), or None when the text is not one."""
    if any(ch.isalpha() for ch in text):
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.strip().startswith("+84") or (digits.startswith("84") and len(digits) == 11):
        digits = "0" + digits[2:]
    if len(digits) in (10, 11) and digits.startswith("0"):
        return digits
    return None


# "Don't remind me": said any time it names reminding ("đừng nhắc nữa", "thôi nhắc"); a bare
# "dừng" (or "dung" typed without marks, which could also be "đúng") only as the answer to a
# reminder, since elsewhere it may answer a question.
_STOP_REMINDING = _keys(
    (
        "đừng nhắc",
        "đừng nhắc nữa",
        "dừng nhắc",
        "dừng nhắc nữa",
        "thôi nhắc",
        "thôi đừng nhắc",
        "không nhắc nữa",
        "không cần nhắc",
        "không cần nhắc nữa",
        "đừng nhắc tôi nữa",
        "dừng nhắc nhở",
        "tắt nhắc nhở",
    )
)
_BARE_STOP = _keys(("dừng", "dừng lại", "thôi", "stop", "đừng"))


def stops_reminders(text: str, *, just_reminded: bool) -> bool:
    """Whether `text` asks the bot to stop reminding (see above)."""
    words = _words(text)
    if len(words) > 1 and words[0] == "da":  # "dạ, đừng nhắc nữa"
        words = words[1:]
    return words in _STOP_REMINDING or (just_reminded and words in _BARE_STOP)


# A worker asking for the questions to be read aloud, or for the reading to stop.
_HEAR_ON = _keys(
    (
        "đọc cho tôi nghe",
        "đọc cho em nghe",
        "đọc cho tui nghe",
        "đọc cho nghe",
        "đọc to lên",
        "đọc câu hỏi",
        "nghe câu hỏi",
        "bật tiếng",
        "bật đọc",
        "tôi không biết đọc",
        "em không biết đọc",
        "không biết chữ",
    )
)
_HEAR_OFF = _keys(("tắt tiếng", "tắt đọc", "không cần đọc", "đừng đọc", "tắt âm thanh"))


def wants_hearing(text: str) -> bool | None:
    """True for «đọc cho tôi nghe», False for «tắt tiếng», None for anything else."""
    words = _words(text)
    if words and words[0] == "da":  # "dạ, đọc cho tôi nghe"
        words = words[1:]
    if words in _HEAR_ON:
        return True
    if words in _HEAR_OFF:
        return False
    return None
