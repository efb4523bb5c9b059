"""Initiatives out to spreadsheets: CSV (UTF-8 with a BOM, so Excel reads the marks) and XLSX.

Every text cell is neutralised against formula injection: a name or an answer that begins
like a formula ("=HYPERLINK(…)", "@SUM(…)", "+cmd|…") is written with a leading apostrophe,
so Excel shows it as text and never runs it. Genuine values that only begin with a sign
("-5% hàng lỗi", "+84 912 345 678") stay as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

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


# Columns worth a wide cell; the rest get a default width.
_WIDTHS = {
    "title": 40,
    "problem": 60,
    "solution": 60,
    "benefit_detail": 40,
    "unit_name": 36,
    "review_history": 60,
    "author_name": 24,
    "co_authors": 30,
}
_LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def xlsx_cell(value: Any) -> Any:
    """A value as openpyxl writes it: dates stay dates (local time, which Excel expects
    without a zone), numbers numbers, text neutralised."""
    if isinstance(value, dt.datetime):
        return value.astimezone(_LOCAL).replace(tzinfo=None)
    if isinstance(value, dt.date | int | float | bool) or value is None:
        return value
    return cell(value)


def write_xlsx(
    path: Path, rows: Iterable[dict[str, Any]], summaries: dict[str, list[dict[str, Any]]]
) -> int:
    """Write the initiatives to a sheet with a frozen header, widths and real dates, and one
    summary sheet per unit level (entries, valid, quota, % of quota). Rows are streamed
    (openpyxl's write-only mode), so 100,000 rows do not sit in memory."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sáng kiến")
    sheet.freeze_panes = "B2"
    for index, name in enumerate(EXPORT_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(name, 14)
    sheet.append(list(EXPORT_COLUMNS))
    count = 0
    for row in rows:
        sheet.append([xlsx_cell(row[key]) for key in EXPORT_COLUMNS])
        count += 1
    for title, lines in summaries.items():
        summary = book.create_sheet(title[:31])
        summary.freeze_panes = "A2"
        for index, width in enumerate((14, 44, 12, 12, 12, 12), start=1):
            summary.column_dimensions[get_column_letter(index)].width = width
        summary.append(list(SUMMARY_COLUMNS))
        for line in lines:
            summary.append([xlsx_cell(line[key]) for key in SUMMARY_COLUMNS])
    book.save(path)
    return count


SUMMARY_COLUMNS = ("code", "name", "entries", "valid", "quota", "percent_of_quota")
