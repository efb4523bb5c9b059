"""What a worker reads: short questions in the words of the shop floor."""

from __future__ import annotations

import re

import pytest

from dialogs import messages as msg
from dialogs.state import Step

QUESTION_WORDS = 20
HELP_WORDS = 30
JARGON = ("ký tự", "lĩnh vực", "ghi nhận", "hệ thống", "dữ liệu", "nhập liệu", "tài khoản")


def words(text: str) -> int:
    """Words a reader reads: emoji, numbers in examples and placeholders count as words too,
    punctuation does not."""
    plain = re.sub(r"\{[^}]*\}", "X", text)
    return len([w for w in plain.split() if any(ch.isalnum() for ch in w)])


QUESTIONS = {
    **{f"PROMPTS[{step}]": text for step, text in msg.PROMPTS.items() if step is not Step.SUMMARY},
    **{f"BENEFIT_DETAIL_PROMPTS[{k}]": t for k, t in msg.BENEFIT_DETAIL_PROMPTS.items()},
    **{f"NEED_WORDS[{k}]": t for k, t in msg.NEED_WORDS.items()},
    **{
        name: getattr(msg, name)
        for name in (
            "WELCOME",
            "UNIT_NOT_FOUND",
            "UNIT_NOT_A_CODE",
            "UNIT_SUGGEST",
            "NAME_INVALID",
            "EMPTY_ANSWER",
            "TOO_SHORT",
            "TOO_LONG",
            "BENEFIT_UNCLEAR",
            "MONEY_TOO_LARGE",
            "COAUTHORS_NAMES",
            "SUMMARY_NOT_SENT",
            "RESUME_WHICH",
            "GREETING_BACK",
            "UNKNOWN_COMMAND",
            "VOICE_HEARD",
            "VOICE_WRONG",
            "DATE_INVALID",
            "SUBMITTED",
            "CANCELLED",
            "STALE_BUTTON",
            "TRY_AGAIN",
        )
    },
}


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_every_question_is_twenty_words_or_fewer(name: str) -> None:
    assert words(QUESTIONS[name]) <= QUESTION_WORDS, QUESTIONS[name]


@pytest.mark.parametrize("step", list(msg.HELP), ids=str)
def test_help_is_short_too(step: Step) -> None:
    assert words(msg.HELP[step]) <= HELP_WORDS


def test_a_worker_reads_little_before_the_first_answer() -> None:
    assert words(msg.WELCOME) + words(msg.PROMPTS[Step.ONBOARD_UNIT]) <= 30


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_no_office_jargon(name: str) -> None:
    assert not any(term in QUESTIONS[name].lower() for term in JARGON)


def test_the_unit_question_says_where_to_find_the_code() -> None:
    assert "bảng tin" in msg.PROMPTS[Step.ONBOARD_UNIT]
