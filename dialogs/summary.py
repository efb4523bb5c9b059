"""Read-back of a draft and the short title derived from it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from dialogs import messages as msg
from dialogs.state import BenefitKind, Draft
from nlp.numbers import Money, TimeSaved, read_money, read_time_saved

_SENTENCE_END = re.compile(r"[.!?;\n]")
TITLE_WORDS = 12
TITLE_CHARS = 80


def make_title(draft: Draft) -> str:
    """A short title from the first sentence of the solution (or the problem, before that).

    Workers are not asked for a title: writing one is the hardest part for them, and the first
    words of what they changed name the idea well enough for lists and rankings.
    """
    source = draft.solution or draft.problem or ""
    first = _SENTENCE_END.split(source, maxsplit=1)[0].strip() or source.strip()
    words = first.split()
    title = " ".join(words[:TITLE_WORDS])
    if len(words) > TITLE_WORDS or len(title) > TITLE_CHARS:
        title = title[: TITLE_CHARS - 1].rstrip() + "…"
    return title[:1].upper() + title[1:]


def money_text(money: Money) -> str:
    return msg.format_money(money.amount, money.period, money.per_year)


def time_text(saved: TimeSaved) -> str:
    return msg.format_time(saved.amount, saved.unit, saved.per)


def benefit_text(draft: Draft) -> str | None:
    """The benefit as understood: the figure read from the answer, so that a worker sees a
    misread amount and can correct it ("3.500.000 đ/tháng ≈ 42.000.000 đ/năm")."""
    if draft.benefit_kind is None:
        return None
    kind = msg.strip_emoji_label(msg.BENEFIT_LABELS[draft.benefit_kind])
    parts = [kind]
    detail = draft.benefit_detail or ""
    money = read_money(detail) if draft.benefit_value_vnd is not None else None
    saved = read_time_saved(detail) if draft.benefit_kind is BenefitKind.TIME else None
    if money is not None:
        parts.append(money_text(money))
    elif draft.benefit_value_vnd is not None:
        parts.append(msg.format_vnd(draft.benefit_value_vnd))
    elif saved is not None:
        parts.append(time_text(saved))
    elif detail:
        parts.append(detail)
    return " — ".join(parts)


def applied_text(draft: Draft) -> str | None:
    if draft.applied is None:
        return None
    if draft.applied and draft.applied_on:
        return msg.APPLIED_SINCE.format(date=msg.format_date(draft.applied_on))
    return msg.APPLIED_YES_TEXT if draft.applied else msg.APPLIED_NO_TEXT


def read_back(draft: Draft) -> str:
    """The whole draft, one line per part, as shown before sending."""
    values = {
        "problem": draft.problem,
        "solution": draft.solution,
        "benefit": benefit_text(draft),
        "field": msg.strip_emoji_label(msg.FIELD_LABELS[draft.field]) if draft.field else None,
        "applied": applied_text(draft),
        "co_authors": (draft.co_authors or msg.NOBODY) if draft.co_authors is not None else None,
    }
    return "\n".join(
        msg.SUMMARY_LINES[key].format(value=value if value is not None else msg.MISSING)
        for key, value in values.items()
    )


_WORD = re.compile(r"\w+")


def mark_doubt(text: str, doubtful: Sequence[str]) -> str:
    """`text` with each of the `doubtful` words written «(vải?)»: each is looked for after the
    one before it, so a word said twice is marked where it was misheard; one not found (a
    number written as digits since) is passed over."""
    words = list(_WORD.finditer(text))
    marked: list[re.Match[str]] = []
    at = 0
    for wanted in doubtful:
        key = unicodedata.normalize("NFC", wanted).lower()
        for index in range(at, len(words)):
            if unicodedata.normalize("NFC", words[index].group()).lower() == key:
                marked.append(words[index])
                at = index + 1
                break
    parts: list[str] = []
    end = 0
    for word in marked:
        parts += [text[end : word.start()], f"({word.group()}?)"]
        end = word.end()
    return "".join(parts) + text[end:]
