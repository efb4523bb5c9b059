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

from dialogs import messages as msg
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


# How wide (in characters) each column of the XLSX is; the rest get 14.
_WIDTHS = {
    "id": 8,
    "status": 18,
    "unit_code": 12,
    "title": 40,
    "problem": 60,
    "solution": 60,
    "benefit_kind": 22,
    "benefit_detail": 40,
    "benefit_value_vnd": 18,
    "field": 22,
    "unit_name": 36,
    "review_history": 60,
    "author_name": 24,
    "author_phone": 14,
    "entered_by": 20,
    "confirmed_by": 20,
    "co_authors": 30,
    "sources": 24,
    "review_level": 14,
}
_LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
MONEY_FORMAT = '#,##0 "đ"'
PERCENT_FORMAT = "0.0 %"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
DATE_FORMAT = "dd/mm/yyyy"
_LABELS: dict[str, dict[str, str]] = {
    "status": msg.WEB_STATUS,
    "benefit_kind": msg.WEB_BENEFITS,
    "field": msg.WEB_FIELDS,
    "review_level": msg.WEB_LEVELS,
}


def xlsx_cell(value: Any) -> Any:
    """A value as openpyxl writes it: dates stay dates (local time, which Excel expects
    without a zone), numbers numbers, text as text (:func:`_cells` keeps it so)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(_LOCAL).replace(tzinfo=None)
    if isinstance(value, dt.date | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def for_people(row: dict[str, Any]) -> dict[str, Any]:
    """An export row in the words of the people who read the XLSX: labels, not codes."""
    shown = dict(row)
    for key, labels in _LABELS.items():
        if row.get(key) is not None:
            shown[key] = labels.get(row[key], row[key])
    if row.get("applied") is not None:
        shown["applied"] = msg.XLSX_YES if row["applied"] else msg.XLSX_NO
    sources = row.get("sources") or {}
    spoken = [msg.WEB_PARTS.get(part, part) for part, how in sources.items() if how == "voice"]
    shown["sources"] = msg.XLSX_SPOKEN.format(parts=", ".join(spoken)) if spoken else ""
    steps = row.get("review_steps")
    if steps is not None:
        shown["review_history"] = "; ".join(
            msg.XLSX_STEP.format(
                date=step.at.astimezone(_LOCAL).strftime("%d/%m/%Y"),
                level=msg.WEB_LEVELS.get(step.level, step.level),
                decision=msg.DECISION_NAMES.get(step.decision, step.decision),
                officer=step.officer or "?",
            )
            + (f": {step.reason}" if step.reason else "")
            for step in steps
        )
    return shown


def _cells(sheet: Any, values: list[Any], formats: list[str | None]) -> list[Any]:
    """A row of cells: a number or date with its format, and a text that starts like a
    formula as a text cell with a quote prefix (openpyxl would store "=…" as a formula, and
    Excel re-reads "+Lan" when it is edited)."""
    from openpyxl.cell import WriteOnlyCell

    row: list[Any] = []
    for value, number_format in zip(values, formats, strict=True):
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            text = WriteOnlyCell(sheet, value=value)
            text.data_type = "s"
            text.quotePrefix = True
            row.append(text)
        elif number_format is not None and value is not None:
            formatted = WriteOnlyCell(sheet, value=value)
            formatted.number_format = number_format
            row.append(formatted)
        else:
            row.append(value)
    return row


def _header(sheet: Any, labels: list[str]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    cells = []
    for label in labels:
        header = WriteOnlyCell(sheet, value=label)
        header.font = Font(bold=True)
        header.fill = PatternFill("solid", fgColor="EEF1F4")
        header.alignment = Alignment(wrap_text=True, vertical="top")
        cells.append(header)
    return cells


def _format_of(name: str) -> str | None:
    if name == "benefit_value_vnd":
        return MONEY_FORMAT
    if name in {"created_at", "updated_at", "submitted_at", "confirmed_at"}:
        return DATETIME_FORMAT
    if name == "applied_on":
        return DATE_FORMAT
    return None


def write_xlsx(
    path: Path, rows: Iterable[dict[str, Any]], summaries: dict[str, list[dict[str, Any]]]
) -> int:
    """Write the initiatives for people to read: Vietnamese headers and values, money as
    ``#,##0 "đ"``, dates as dates, a filter on the header row, a frozen header, widths; and
    one summary sheet per unit level (entries, valid, quota, % of quota as ``0.0 %``). Rows
    are streamed (openpyxl's write-only mode), so 100,000 rows do not sit in memory. The CSV
    keeps the machine names."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(msg.XLSX_SHEET)
    sheet.freeze_panes = "B2"
    for index, name in enumerate(EXPORT_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(name, 14)
    sheet.append(_header(sheet, [msg.XLSX_HEADERS[name] for name in EXPORT_COLUMNS]))
    formats = [_format_of(name) for name in EXPORT_COLUMNS]
    count = 0
    for row in rows:
        shown = for_people(row)
        values = [xlsx_cell(shown[key]) for key in EXPORT_COLUMNS]
        sheet.append(_cells(sheet, values, formats))
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(EXPORT_COLUMNS))}{count + 1}"
    summary_formats = [None, None, None, None, None, PERCENT_FORMAT]
    for title, lines in summaries.items():
        summary = book.create_sheet(title[:31])
        summary.freeze_panes = "A2"
        for index, width in enumerate((14, 44, 12, 12, 12, 12), start=1):
            summary.column_dimensions[get_column_letter(index)].width = width
        summary.append(_header(summary, [msg.XLSX_SUMMARY_HEADERS[n] for n in SUMMARY_COLUMNS]))
        for line in lines:
            share = line["percent_of_quota"]
            values = [xlsx_cell(line[key]) for key in SUMMARY_COLUMNS[:-1]]
            values.append(None if share is None else round(share / 100, 4))
            summary.append(_cells(summary, values, summary_formats))
        summary.auto_filter.ref = f"A1:F{len(lines) + 1}"
    book.save(path)
    return count


SUMMARY_COLUMNS = ("code", "name", "entries", "valid", "quota", "percent_of_quota")
