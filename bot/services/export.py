"""Initiatives out to spreadsheets: CSV (UTF-8 with a BOM, so Excel reads the marks).

Every text cell is neutralised against formula injection: a name or an answer that begins
like a formula ("=HYPERLINK(…)", "@SUM(…)", "+cmd|…") is written with a leading apostrophe,
so Excel shows it as text and never runs it. Genuine values that only begin with a sign
("-5% hàng lỗi", "+84 912 345 678") stay as they are.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from typing import Any, TextIO

from storage.initiatives import EXPORT_COLUMNS

BOM = "\ufeff"
# A leading sign is dangerous only when a formula follows: a call, a reference, an operator.
_FORMULA_AFTER_SIGN = re.compile(r"[=(!|;&^*/<>]|[A-Za-z]+\d|\w+\s*\(")


def neutralised(text: str) -> str:
    """`text` as a cell that a spreadsheet will not evaluate."""
    if not text:
        return text
    first = text[0]
    if first in "=@\t\r" or (first in "+-" and _FORMULA_AFTER_SIGN.search(text[1:])):
        return "'" + text
    return text


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return neutralised(json.dumps(value, ensure_ascii=False, sort_keys=True))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, int | float):
        return str(value)
    return neutralised(str(value))


def write_csv(handle: TextIO, rows: Iterable[dict[str, Any]], *, bom: bool = True) -> int:
    """Write `rows` with a header; how many rows were written."""
    if bom:
        handle.write(BOM)
    writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({key: cell(row[key]) for key in EXPORT_COLUMNS})
        count += 1
    return count
