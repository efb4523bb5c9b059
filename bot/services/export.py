"""Initiatives out to spreadsheets: CSV (UTF-8 with a BOM, so Excel reads the marks) and XLSX.

Every text cell is neutralised against formula injection, as OWASP advises: in the CSV a
cell that starts with =, +, -, @, TAB or CR gets a leading apostrophe (Excel evaluates
"-2+3" and "+Lan" as readily as "=HYPERLINK(…)"); in the XLSX such a cell is a text cell
marked to stay text ("quote prefix"), so it shows as typed and never runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from storage.initiatives import EXPORT_COLUMNS

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """`text` as a CSV cell that a spreadsheet will not evaluate."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


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
    without a zone), numbers numbers, text as text (:func:`_text_cells` keeps it so)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(_LOCAL).replace(tzinfo=None)
    if isinstance(value, dt.date | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _text_cells(sheet: Any, values: list[Any]) -> list[Any]:
    """`values` for a row, a text that starts like a formula made a text cell with a quote
    prefix: openpyxl would store "=…" as a formula, and Excel re-reads "+Lan" when edited."""
    from openpyxl.cell import WriteOnlyCell

    row: list[Any] = []
    for value in values:
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            text = WriteOnlyCell(sheet, value=value)
            text.data_type = "s"
            text.quotePrefix = True
            row.append(text)
        else:
            row.append(value)
    return row


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
        sheet.append(_text_cells(sheet, [xlsx_cell(row[key]) for key in EXPORT_COLUMNS]))
        count += 1
    for title, lines in summaries.items():
        summary = book.create_sheet(title[:31])
        summary.freeze_panes = "A2"
        for index, width in enumerate((14, 44, 12, 12, 12, 12), start=1):
            summary.column_dimensions[get_column_letter(index)].width = width
        summary.append(list(SUMMARY_COLUMNS))
        for line in lines:
            summary.append(_text_cells(summary, [xlsx_cell(line[key]) for key in SUMMARY_COLUMNS]))
    book.save(path)
    return count


SUMMARY_COLUMNS = ("code", "name", "entries", "valid", "quota", "percent_of_quota")
