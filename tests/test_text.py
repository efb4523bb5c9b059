"""Typed text: normalisation, matching keys and amounts of money."""

from __future__ import annotations

import unicodedata

import pytest

from dialogs.events import CommandIn, TextIn, parse_text
from nlp.numbers import parse_vnd
from nlp.text import clean_text, match_key


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("  Nguyễn   Thị\tLan \n", "Nguyễn Thị Lan"),
        (unicodedata.normalize("NFD", "Hoàng Đức"), "Hoàng Đức"),
        ("Lan\u200b\u200d", "Lan"),
        ("dòng 1\r\ndòng 2", "dòng 1 dòng 2"),
        ("\ufeffxin chào", "xin chào"),
    ],
)
def test_clean_text(given: str, expected: str) -> None:
    assert clean_text(given) == expected
    assert unicodedata.is_normalized("NFC", clean_text(given))


@pytest.mark.parametrize(
    "spelling",
    ["không", "khong", "KHÔNG", "Không 👍", unicodedata.normalize("NFD", "không"), " không! "],
)
def test_match_key_ignores_diacritics_case_emoji_and_forms(spelling: str) -> None:
    assert match_key(spelling) == "khong"


def test_match_key_of_only_emoji_is_empty() -> None:
    assert match_key("🙏🙏") == ""


def test_d_with_stroke_folds_to_d() -> None:
    assert match_key("ĐỒNG Ý") == "dong y"


@pytest.mark.parametrize(
    ("line", "event"),
    [
        ("/start HN-DM01", CommandIn("start", "HN-DM01")),
        ("/help@sangkien_bot", CommandIn("help")),
        ("/MENU", CommandIn("menu")),
        ("/unknown", CommandIn("unknown")),  # answered with a hint, never stored
        ("/ tự do", TextIn("/ tự do")),
        ("1/2 ca làm", TextIn("1/2 ca làm")),
    ],
)
def test_parse_text(line: str, event: object) -> None:
    assert parse_text(line) == event


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("3.500.000đ", 3_500_000),
        ("3.500.000 đồng", 3_500_000),
        ("3,500,000 VNĐ", 3_500_000),
        ("3500000", 3_500_000),
        ("3,5 triệu", 3_500_000),
        ("3.5 triệu", 3_500_000),
        ("3tr5", 3_500_000),
        ("3tr500", 3_500_000),
        ("3 tr", 3_000_000),
        ("2 củ", 2_000_000),
        ("500k", 500_000),
        ("500 nghìn", 500_000),
        ("500 ngàn", 500_000),
        ("1 tỷ 2", 1_200_000_000),
        ("1 tỉ", 1_000_000_000),
        ("5 triệu rưỡi", 5_500_000),
        ("khoảng 12 triệu một năm", 12_000_000),
        ("1.500 nghìn", 1_500_000),
        ("5", None),
        ("chưa rõ", None),
        ("30 phút", None),
        ("", None),
    ],
)
def test_parse_vnd(text: str, amount: int | None) -> None:
    assert parse_vnd(text) == amount


def test_word_errors_count_edits_on_normalised_words() -> None:
    from nlp.metrics import wer_words, word_errors

    assert wer_words("Khách sạn, ĐẸP!") == ["khách", "sạn", "đẹp"]
    assert word_errors(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert word_errors([], ["a"]) == 1
