"""Read amounts of money the way Vietnamese workers write them.

"3.500.000đ", "3,5 triệu", "3tr5", "2 củ", "500k", "1 tỷ 2" all become integers of đồng.
"""

from __future__ import annotations

import re
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
