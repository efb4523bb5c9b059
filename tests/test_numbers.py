"""Spoken and typed Vietnamese numbers: what a worker says or types, and the value we read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nlp.numbers import Quantity, parse_vnd, read_quantity, spoken_to_digits

# (what was said or typed, the text with digits, the first quantity: (value, unit) or None)
CASES: list[tuple[str, str, tuple[int | str, str | None] | None]] = [
    # the examples
    ("ba triệu rưỡi đồng", "3.500.000 đồng", (3_500_000, "VND")),
    ("mười phần trăm", "10%", (10, "%")),
    ("hai mươi lăm phút", "25 phút", (25, "phút")),
    ("một trăm linh năm nghìn", "105.000", (105_000, None)),
    ("bốn mươi mốt", "41", (41, None)),
    ("hai mươi tư", "24", (24, None)),
    ("một tỷ hai", "1.200.000.000", (1_200_000_000, None)),
    # units, tens and hundreds
    ("không phút", "0 phút", (0, "phút")),
    ("một người", "một người", None),
    ("năm người", "5 người", (5, "người")),
    ("bảy ngày", "7 ngày", (7, "ngày")),
    ("bẩy ngày", "7 ngày", (7, "ngày")),
    ("mười", "10", (10, None)),
    ("mười một", "11", (11, None)),
    ("mười lăm phút", "15 phút", (15, "phút")),
    ("mười nhăm phút", "15 phút", (15, "phút")),
    ("mười chín", "19", (19, None)),
    ("hai mươi", "20", (20, None)),
    ("hai mươi mốt", "21", (21, None)),
    ("ba mươi mốt ngày", "31 ngày", (31, "ngày")),
    ("bốn mươi tư", "44", (44, None)),
    ("năm mươi lăm", "55", (55, None)),
    ("sáu mươi", "60", (60, None)),
    ("chín mươi chín", "99", (99, None)),
    ("hai chục người", "20 người", (20, "người")),
    ("một trăm", "100", (100, None)),
    ("một trăm linh một", "101", (101, None)),
    ("một trăm lẻ năm", "105", (105, None)),
    ("một trăm năm mươi", "150", (150, None)),
    ("hai trăm rưỡi", "250", (250, None)),
    ("hai trăm ba", "230", (230, None)),
    ("ba trăm hai mươi lăm", "325", (325, None)),
    ("chín trăm chín mươi chín", "999", (999, None)),
    # thousands, millions, billions
    ("một nghìn", "1000", (1000, None)),
    ("một ngàn hai", "1200", (1200, None)),
    ("một nghìn hai trăm", "1200", (1200, None)),
    ("hai nghìn không trăm hai mươi sáu", "2026", (2026, None)),
    ("năm trăm nghìn", "500.000", (500_000, None)),
    ("năm trăm nghìn đồng", "500.000 đồng", (500_000, "VND")),
    ("mười hai nghìn", "12.000", (12_000, None)),
    ("hai mươi lăm nghìn", "25.000", (25_000, None)),
    ("một triệu", "1.000.000", (1_000_000, None)),
    ("ba triệu hai", "3.200.000", (3_200_000, None)),
    ("một triệu hai trăm", "1.200.000", (1_200_000, None)),
    ("hai triệu rưỡi", "2.500.000", (2_500_000, None)),
    ("hai triệu ba trăm nghìn", "2.300.000", (2_300_000, None)),
    ("mười lăm triệu đồng", "15.000.000 đồng", (15_000_000, "VND")),
    ("một trăm hai mươi triệu", "120.000.000", (120_000_000, None)),
    ("một tỷ", "1.000.000.000", (1_000_000_000, None)),
    ("hai tỉ rưỡi", "2.500.000.000", (2_500_000_000, None)),
    ("một tỷ hai trăm triệu", "1.200.000.000", (1_200_000_000, None)),
    # percentages
    ("năm phần trăm", "5%", (5, "%")),
    ("hai mươi phần trăm", "20%", (20, "%")),
    ("chín mươi chín phần trăm", "99%", (99, "%")),
    ("giảm ba mươi phần trăm hàng lỗi", "giảm 30% hàng lỗi", (30, "%")),
    # numbers inside sentences
    ("mỗi ca tiết kiệm ba mươi phút", "mỗi ca tiết kiệm 30 phút", (30, "phút")),
    ("làm lợi năm triệu mỗi năm", "làm lợi 5.000.000 mỗi năm", (5_000_000, None)),
    ("mỗi năm tiết kiệm hai triệu đồng", "mỗi năm tiết kiệm 2.000.000 đồng", (2_000_000, "VND")),
    ("hai mươi năm", "20 năm", (20, "năm")),
    ("một năm", "một năm", None),
    ("mười năm", "10 năm", (10, "năm")),
    ("giảm từ năm xuống một trên một trăm", "giảm từ năm xuống một trên 100", (100, None)),
    ("ba người cùng làm", "3 người cùng làm", (3, "người")),
    ("hai tiếng mỗi ngày", "2 tiếng mỗi ngày", (2, "tiếng")),
    ("khoảng bốn mươi lăm phút", "khoảng 45 phút", (45, "phút")),
    ("bốn lần một ngày", "4 lần một ngày", (4, "lần")),
    ("năm triệu một năm", "5.000.000 một năm", (5_000_000, None)),
    ("năm triệu một", "5.100.000", (5_100_000, None)),
    ("sáu kg vải vụn", "6 kg vải vụn", (6, "kg")),
    # words that only look like numbers are left alone
    ("một số công nhân", "một số công nhân", None),
    ("ca ba", "ca ba", None),
    ("làm ca hai mỗi ngày", "làm ca hai mỗi ngày", None),
    ("tháng năm", "tháng năm", None),
    ("từ tháng năm năm ngoái", "từ tháng năm năm ngoái", None),
    ("mỗi năm", "mỗi năm", None),
    ("năm nay", "năm nay", None),
    ("một cách an toàn", "một cách an toàn", None),
    ("một mình tôi làm", "một mình tôi làm", None),
    ("tổ hai phân xưởng ba", "tổ hai phân xưởng ba", None),
    ("anh Nam và chị Ba", "anh Nam và chị Ba", None),
    ("không có ai", "không có ai", None),
    ("hai ba lần", "hai ba lần", None),
    # typed amounts go through untouched and are still read
    ("3tr5", "3tr5", (3_500_000, "VND")),
    ("3.500.000đ", "3.500.000đ", (3_500_000, "VND")),
    ("3,5 triệu", "3,5 triệu", (3_500_000, "VND")),
    ("2 củ", "2 củ", (2_000_000, "VND")),
    ("500k", "500k", (500_000, "VND")),
    ("25 phút", "25 phút", (25, "phút")),
    ("10%", "10%", (10, "%")),
]


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 80


@pytest.mark.parametrize(("said", "digits", "quantity"), CASES, ids=[c[0] for c in CASES])
def test_spoken_numbers(said: str, digits: str, quantity: tuple[int, str | None] | None) -> None:
    assert spoken_to_digits(said) == digits
    expected = Quantity(Decimal(quantity[0]), quantity[1]) if quantity else None
    assert read_quantity(said) == expected


@pytest.mark.parametrize(
    ("said", "amount"),
    [
        ("ba triệu rưỡi đồng", 3_500_000),
        ("làm lợi khoảng năm triệu một năm", 5_000_000),
        ("một tỷ hai", 1_200_000_000),
        ("năm trăm nghìn", 500_000),
        ("chưa rõ", None),
    ],
)
def test_spoken_money(said: str, amount: int | None) -> None:
    assert parse_vnd(spoken_to_digits(said)) == amount
