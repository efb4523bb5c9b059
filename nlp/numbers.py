"""Read amounts of money the way Vietnamese workers write them.

"3.500.000đ", "3,5 triệu", "3tr5", "2 củ", "500k", "1 tỷ 2" all become integers of đồng.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from nlp.text import clean_text, strip_diacritics

_MULTIPLIERS: dict[str, int] = {
    "ty": 1_000_000_000,
    "ti": 1_000_000_000,
    "trieu": 1_000_000,
    "tr": 1_000_000,
    "cu": 1_000_000,
    "nghin": 1_000,
    "ngan": 1_000,
    "k": 1_000,
    "dong": 1,
    "d": 1,
    "vnd": 1,
}
_UNIT = "|".join(sorted(_MULTIPLIERS, key=len, reverse=True))
_AMOUNT = re.compile(
    rf"(?<![\w.,])(?P<number>\d+(?:[.,]\d+)*)\s*(?:(?P<unit>{_UNIT})(?![a-z])\s*"
    rf"(?P<tail>\d+(?![\d.,]))?\s*(?P<half>ruoi)?)?"
)


def _fold(text: str) -> str:
    return strip_diacritics(clean_text(text)).casefold().replace("vnđ", "vnd")


def _number(raw: str, *, has_multiplier: bool) -> Decimal | None:
    """Digits with "." or "," as thousands separators or as a decimal comma/point."""
    groups = re.split(r"[.,]", raw)
    if len(groups) == 1:
        return Decimal(raw)
    if all(len(g) == 3 for g in groups[1:]) and (
        len(groups) > 2 or not has_multiplier or len(groups[1]) == 3
    ):
        return Decimal("".join(groups))
    if len(groups) == 2:
        try:
            return Decimal(f"{groups[0]}.{groups[1]}")
        except InvalidOperation:
            return None
    return None


def parse_vnd(text: str) -> int | None:
    """The first amount of money in `text`, in đồng, or None when there is none.

    A bare number below 1,000 with no unit is not taken as money: "5" alone is ambiguous.
    """
    for match in _AMOUNT.finditer(_fold(text)):
        unit = match["unit"]
        multiplier = _MULTIPLIERS[unit] if unit else 1
        value = _number(match["number"], has_multiplier=multiplier > 1)
        if value is None:
            continue
        if match["tail"] and multiplier > 1:
            tail = match["tail"]
            value += Decimal(tail) / (Decimal(10) ** len(tail))
        if match["half"] and multiplier > 1:
            value += Decimal("0.5")
        amount = int(value * multiplier)
        if unit is None and amount < 1000:
            continue
        return amount
    return None


# --- spoken numbers ------------------------------------------------------------------------
#
# Speech recognition writes numbers as words: "ba triệu rưỡi đồng", "hai mươi lăm phút".
# :func:`spoken_to_digits` rewrites number phrases as digits and leaves alone the words that
# only look like numbers: "một số công nhân" (some workers), "ca ba" (third shift),
# "tháng năm" (May), "mỗi năm" (every year).

DIGITS: dict[str, int] = {
    "không": 0,
    "một": 1,
    "hai": 2,
    "ba": 3,
    "bốn": 4,
    "năm": 5,
    "sáu": 6,
    "bảy": 7,
    "bẩy": 7,
    "tám": 8,
    "chín": 9,
}
# Forms a digit takes after "mươi"/"mười" (and colloquially after a scale word).
_UNIT_AFTER_TENS: dict[str, int] = {
    "một": 1,
    "mốt": 1,
    "hai": 2,
    "ba": 3,
    "bốn": 4,
    "tư": 4,
    "lăm": 5,
    "nhăm": 5,
    "sáu": 6,
    "bảy": 7,
    "bẩy": 7,
    "tám": 8,
    "chín": 9,
}
SCALES: dict[str, int] = {
    "nghìn": 1_000,
    "ngàn": 1_000,
    "triệu": 1_000_000,
    "tỷ": 1_000_000_000,
    "tỉ": 1_000_000_000,
}
_TENS_WORDS = {"mươi", "chục"}
_ZERO_TENS = {"linh", "lẻ"}
_HALF = "rưỡi"
# Words that, right after a lone digit word, show it is a count: "ba người", "một năm".
MEASURES = {
    "phút",
    "giờ",
    "tiếng",
    "giây",
    "ngày",
    "tuần",
    "tháng",
    "năm",
    "người",
    "công",
    "cái",
    "chiếc",
    "lần",
    "đồng",
    "kg",
    "ký",
    "cân",
    "tấn",
    "tạ",
    "mét",
    "m",
    "lít",
    "ca",
    "bộ",
    "máy",
    "sản",
    "phần",
    "%",
    "hộp",
    "thùng",
    "bao",
    "cuộn",
    "tờ",
    "lượt",
    "vòng",
    "bước",
    "chục",
    "trăm",
    "nghìn",
    "ngàn",
    "triệu",
    "tỷ",
    "tỉ",
    "vnđ",
    "vnd",
    "củ",
    "k",
}
# Words before a lone digit word that make it an ordinal or a name: "ca ba", "tháng năm".
_NOT_A_COUNT_AFTER = {
    "ca",
    "tháng",
    "tổ",
    "số",
    "thứ",
    "mùng",
    "mồng",
    "lớp",
    "khu",
    "xưởng",
    "mỗi",
    "hằng",
    "hàng",
    "các",
    "những",
    "cả",
    "nhiều",
    "vài",
    "mấy",
}
_WORD = re.compile(r"\w+|%", re.UNICODE)


class _Reader:
    """Recursive descent over lower-case tokens; returns (value, next index) or None."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens

    def tok(self, i: int) -> str:
        return self.tokens[i] if i < len(self.tokens) else ""

    def digit(self, i: int) -> int | None:
        """A digit word at i that is really a digit: "năm" only inside a number."""
        word = self.tok(i)
        if word not in DIGITS:
            return None
        if word == "năm" and self.tok(i + 1) not in {*_TENS_WORDS, "trăm", *SCALES, _HALF}:
            return None if i > 0 and self.tok(i - 1) not in _ZERO_TENS else DIGITS[word]
        return DIGITS[word]

    def below_thousand(self, i: int) -> tuple[int, int] | None:
        start, value = i, 0
        hundreds = self.digit(i)
        if hundreds is not None and self.tok(i + 1) == "trăm":
            value, i = hundreds * 100, i + 2
            if self.tok(i) in _ZERO_TENS and self.tok(i + 1) in DIGITS:
                return value + DIGITS[self.tok(i + 1)], i + 2
            if self.tok(i) == _HALF:
                return value + 50, i + 1
        if self.tok(i) == "mười":
            value, i = value + 10, i + 1
            unit = self.tok(i)
            if unit in _UNIT_AFTER_TENS and unit not in {"năm", "mốt", "tư"}:
                value, i = value + _UNIT_AFTER_TENS[unit], i + 1
            return value, i
        tens = self.digit(i)
        if tens is not None and self.tok(i + 1) in _TENS_WORDS:
            value, i = value + tens * 10, i + 2
            unit = self.tok(i)
            if unit in _UNIT_AFTER_TENS and self.tok(i + 1) not in _TENS_WORDS | {"trăm"}:
                value, i = value + _UNIT_AFTER_TENS[unit], i + 1
            elif unit == _HALF:
                value, i = value + 5, i + 1
            return value, i
        if tens is not None and self.tok(i + 1) != "trăm":
            # After "trăm" a lone digit is the tens: "hai trăm ba" is 230.
            return value + (tens * 10 if i > start else tens), i + 1
        return (value, i) if i > start else None

    def number(self, i: int) -> tuple[int, int] | None:
        total, last_scale, start = 0, 0, i
        while True:
            group = self.below_thousand(i)
            if group is None:
                break
            value, after = group
            scale = SCALES.get(self.tok(after))
            if scale is not None and (last_scale == 0 or scale < last_scale):
                total, last_scale, i = total + value * scale, scale, after + 1
                if self.tok(i) == _HALF:
                    return total + scale // 2, i + 1
                continue
            if scale is not None:  # "một nghìn triệu": not a well-formed number, stop here
                break
            if last_scale:
                single_digit = after - i == 1
                if single_digit and self.tok(after) in MEASURES:
                    break  # "năm triệu một năm": five million a year, not 5.1 million
                # "một tỷ hai" is 1.2 tỷ; "một triệu hai trăm" is 1,200 nghìn.
                lower = last_scale // 10 if single_digit else max(last_scale // 1000, 1)
                total += value * lower
            else:
                total = value
            i = after
            break
        return (total, i) if i > start else None


def _format(value: int) -> str:
    """Digits, with "." between thousands from 10,000 on: 105.000, 3.500.000, 2026."""
    return f"{value:,}".replace(",", ".") if value >= 10_000 else str(value)


def spoken_to_digits(text: str) -> str:
    """Rewrite spoken number phrases in `text` as digits; "phần trăm" after a number is "%".

    A lone digit word becomes a digit only before a measure ("ba người", "năm phút"); "một"
    alone stays a word (it is mostly "a" or "per"), and so do "hai ba" (two or three),
    "ca ba" and "tháng năm".
    """
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    lowered = [text[a:b].lower() for a, b in spans]
    reader = _Reader(lowered)
    pieces: list[str] = []
    copied = i = 0
    while i < len(spans):
        parsed = reader.number(i) if lowered[i] in DIGITS or lowered[i] == "mười" else None
        if parsed is not None and _is_count(lowered, i, parsed[1]):
            value, end = parsed
            replacement = _format(value)
            if reader.tok(end) == "phần" and reader.tok(end + 1) == "trăm":
                replacement, end = replacement + "%", end + 2
            pieces += [text[copied : spans[i][0]], replacement]
            copied, i = spans[end - 1][1], end
            continue
        i += 1
    pieces.append(text[copied:])
    return "".join(pieces)


def _is_count(words: list[str], start: int, end: int) -> bool:
    """Whether the number words in words[start:end] are really a number here."""
    if end - start > 1 or words[start] == "mười":
        return True
    word, previous = words[start], words[start - 1] if start else ""
    follower = words[end] if end < len(words) else ""
    return (
        word != "một"
        and follower in MEASURES
        and previous not in _NOT_A_COUNT_AFTER
        and previous not in DIGITS
    )


@dataclass(frozen=True, slots=True)
class Quantity:
    value: Decimal
    unit: str | None


_QUANTITY = re.compile(r"(\d+(?:[.,]\d+)*)\s*(%|[^\W\d]+)?", re.UNICODE)


def read_quantity(text: str) -> Quantity | None:
    """The first quantity in typed or spoken text: money in VND, percent, or a count with the
    word after it ("25 phút"). "ba triệu rưỡi đồng" → 3500000 VND."""
    digits = spoken_to_digits(clean_text(text))
    money = parse_vnd(digits)
    match = _QUANTITY.search(digits)
    if match is None:
        return None
    word = match[2].lower() if match[2] else None
    unit = word if word in MEASURES or (word and strip_diacritics(word) in _MULTIPLIERS) else None
    if money is not None and unit is not None and strip_diacritics(unit) in _MULTIPLIERS:
        return Quantity(Decimal(money), "VND")
    number = _number(match[1], has_multiplier=False)
    if number is None:
        return None
    return Quantity(number, unit)


# --- number words typed without diacritics -------------------------------------------------
#
# Workers without a Vietnamese keyboard type "ba trieu ruoi" or "nam tram nghin". The words
# are put back into their marked form, so that :func:`spoken_to_digits` reads them, but only
# inside a run of number words that has a scale word: "ba" alone may be a father.

_PLAIN_NUMBER_WORDS: dict[str, str] = {
    "khong": "không",
    "mot": "một",
    "hai": "hai",
    "ba": "ba",
    "bon": "bốn",
    "tu": "tư",
    "nam": "năm",
    "lam": "lăm",
    "sau": "sáu",
    "bay": "bảy",
    "tam": "tám",
    "chin": "chín",
    "tram": "trăm",
    "nghin": "nghìn",
    "ngan": "ngàn",
    "trieu": "triệu",
    "ty": "tỷ",
    "ti": "tỉ",
    "ruoi": "rưỡi",
    "linh": "linh",
    "le": "lẻ",
    "chuc": "chục",
    "muoi": "mươi",
}
DIGIT_KEYS = {"mot", "hai", "ba", "bon", "nam", "sau", "bay", "tam", "chin"}
_PLAIN_SCALES = {"tram", "nghin", "ngan", "trieu", "ty", "ti", "muoi", "chuc", "ruoi"}


def restore_number_words(text: str) -> str:
    """ "ba trieu ruoi" → "ba triệu rưỡi" in text typed without diacritics; other text as is."""
    if strip_diacritics(text) != text:
        return text
    words = text.split(" ")
    keys = [re.sub(r"[^a-z]", "", w.lower()) for w in words]
    out = list(words)
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and keys[j] in _PLAIN_NUMBER_WORDS and keys[j] == words[j].lower():
            j += 1
        if j - i >= 2 and any(k in _PLAIN_SCALES for k in keys[i:j]):
            for n in range(i, j):
                word = _PLAIN_NUMBER_WORDS[keys[n]]
                if keys[n] == "muoi" and (n == i or keys[n - 1] not in DIGIT_KEYS):
                    word = "mười"  # ten; "mươi" only after a digit ("ba mươi")
                elif keys[n] == "mot" and n > i and keys[n - 1] == "muoi":
                    word = "mốt"
                out[n] = word
        i = max(j, i + 1)
    return " ".join(out)


# --- amounts with their period ---------------------------------------------------------------

# How many of each period make a year. A day is a working day: 26 a month, as payrolls count.
PER_YEAR: dict[str, int] = {"ngày": 312, "tuần": 52, "tháng": 12, "quý": 4, "năm": 1}
_PERIOD_WORDS = {"ngay": "ngày", "tuan": "tuần", "thang": "tháng", "quy": "quý", "nam": "năm"}
# "mỗi tháng", "một năm", "hàng tuần", "/ca": the words that put a figure per period.
_PER = r"(?:\b(?:moi|mot|1|hang|trong|cho|tren)\s+|/\s*)"
_PERIOD = re.compile(rf"{_PER}(ngay|tuan|thang|quy|nam)\b|\b(ngay|tuan|thang|quy|nam)\s*$")
# Sums larger than this are not savings a worker's idea brings (and would overflow columns).
MAX_VND = 10**13


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money as a worker said it: `amount` đồng per `period` ("tháng", "năm")."""

    amount: int
    period: str = "năm"

    @property
    def per_year(self) -> int:
        return self.amount * PER_YEAR[self.period]

    @property
    def plausible(self) -> bool:
        """Whether this could be what an idea saves (and fits the database's columns)."""
        return self.per_year <= MAX_VND


def period_of(text: str) -> str | None:
    """The period a figure is given for: "mỗi tháng", "/tháng", "một năm" → its word."""
    found = _PERIOD.search(_fold(text))
    if found is None:
        return None
    return _PERIOD_WORDS[found[1] or found[2]]


def read_money(text: str) -> Money | None:
    """Money typed or spoken, with its period: "khoảng 3 triệu rưỡi một tháng" →
    Money(3_500_000, "tháng"); "ba trieu ruoi" → Money(3_500_000, "năm"). None when there is
    no amount; one beyond any saving ("9300000000 tỷ") is not :attr:`Money.plausible`."""
    digits = spoken_to_digits(restore_number_words(clean_text(text)))
    amount = parse_vnd(digits)
    if amount is None or amount <= 0:
        return None
    return Money(amount, period_of(digits) or "năm")


_TIME_UNITS = {"phut": "phút", "p": "phút", "gio": "giờ", "tieng": "giờ", "h": "giờ"}
_TIME = re.compile(r"(\d+(?:[.,]\d+)?)\s*(phut|p|gio|tieng|h)\b")
_PER_SHIFT = re.compile(rf"{_PER}(ca|ngay|tuan|thang|nam)\b")


@dataclass(frozen=True, slots=True)
class TimeSaved:
    """Time a change saves: `amount` `unit` ("phút", "giờ") per `per` ("ca", "ngày"…)."""

    amount: Decimal
    unit: str
    per: str | None


def read_time_saved(text: str) -> TimeSaved | None:
    """ "30 phút mỗi ca" → 30 phút/ca; "ba mươi phút" → 30 phút; "1 tiếng một ngày" →
    1 giờ/ngày."""
    folded = _fold(spoken_to_digits(restore_number_words(clean_text(text))))
    found = _TIME.search(folded)
    if found is None:
        return None
    amount = Decimal(found[1].replace(",", "."))
    per = _PER_SHIFT.search(folded)
    per_word = {"ca": "ca", **_PERIOD_WORDS}[per[1]] if per else None
    return TimeSaved(amount, _TIME_UNITS[found[2]], per_word)
