"""Importing the unit tree from a spreadsheet, and reading a unit's place in it.

``sangkien units import FILE`` reads a CSV or XLSX file with the header
``code,name,level,parent_code,quota``. The whole file is checked against itself and against
the units already stored before anything is written; one bad row and nothing changes, and
every problem is reported with its row number. A good file creates the units it names,
updates those that changed (name, level, parent) and sets each quota for the period given,
so importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.services.database import Database
from dialogs import messages as msg
from storage import units as tree
from storage.models import PARENT_LEVEL, InitiativeStatus, Period, UnitLevel

COLUMNS = ("code", "name", "level", "parent_code", "quota")
_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,39}")
_QUOTA = re.compile(r"[0-9]{1,9}")  # ASCII digits: "²" is a digit to str.isdigit
MAX_QUOTA = 10_000_000


class UnitFileError(ValueError):
    """A unit file that cannot be imported; `problems` lists each (row, message)."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class UnitLine:
    """One row of a unit file, as read (row 1 is the header)."""

    row: int
    code: str
    name: str
    level: str
    parent_code: str
    quota: str


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    quotas: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)


# What a CSV from Excel is saved in: UTF-8 (with or without BOM), "Unicode Text" (UTF-16 with
# a BOM), and a plain CSV on Vietnamese Windows (cp1258, tone marks as combining characters).
ENCODINGS = ("utf-8", "utf-16", "cp1258")


def read_lines(path: Path) -> list[UnitLine]:
    """The rows of a CSV (comma, semicolon or tab; see ENCODINGS) or XLSX file. A file that
    cannot be read is a :class:`UnitFileError` saying why, never an exception of a library."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        from openpyxl.utils.exceptions import InvalidFileException  # 0.16 s: not at start

        try:
            return _lines(_xlsx_rows(path))
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
            raise UnitFileError(
                [(0, msg.UNIT_FILE_NOT_XLSX.format(error=type(error).__name__))]
            ) from None
    text = _decoded(path.read_bytes())
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:  # one column, or nothing to tell: commas, and the header check says
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        return _lines(reader)
    except csv.Error as error:
        row = reader.line_num
        raise UnitFileError(
            [(row, msg.UNIT_FILE_ROW_BROKEN.format(row=row, error=error))]
        ) from None


def _xlsx_rows(path: Path) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        yield from (list(row) for row in book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()


def _decoded(data: bytes) -> str:
    """The text of a CSV, in the first of ENCODINGS that reads it whole. Binary data fails
    all of them: cp1258 leaves bytes such as 0x81 and 0x8D undefined."""
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    encodings = ("utf-16",) if utf16 else ("utf-8-sig", "cp1258")
    for encoding in encodings:
        try:
            return unicodedata.normalize("NFC", data.decode(encoding))
        except UnicodeDecodeError:
            continue
    tried = ", ".join(ENCODINGS)
    raise UnitFileError([(0, msg.UNIT_FILE_NOT_TEXT.format(tried=tried))])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _lines(rows: Iterable[list[Any]]) -> list[UnitLine]:
    iterator = iter(rows)
    header = [_cell(v).lower() for v in next(iterator, [])]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        problem = msg.UNIT_FILE_HEADER.format(columns=",".join(COLUMNS), missing=",".join(missing))
        raise UnitFileError([(1, problem)])
    where = {name: header.index(name) for name in COLUMNS}
    lines = []
    for number, row in enumerate(iterator, start=2):
        values = [_cell(v) for v in row]
        if not any(values):
            continue  # blank lines at the end of a sheet
        values += [""] * (len(header) - len(values))
        lines.append(UnitLine(number, *(values[where[name]] for name in COLUMNS)))
    return lines


def check(lines: list[UnitLine], stored: dict[str, tree.UnitRow]) -> list[tuple[int, str]]:
    """Every problem of the file, as (row, message): the file and the stored units together
    must form one tree whose levels nest (province under national, and so on)."""
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    by_id = {unit.id: unit for unit in stored.values()}
    # The tree after the import: code → (level, parent code), stored units overlaid by the file.
    merged: dict[str, tuple[str, str]] = {
        code: (unit.level.value, by_id[unit.parent_id].code if unit.parent_id else "")
        for code, unit in stored.items()
    }
    for line in lines:
        code, parent = line.code.upper(), line.parent_code.upper()
        if not _CODE.fullmatch(code):
            problems.append((line.row, msg.UNIT_FILE_CODE.format(code=line.code)))
        elif code in seen:
            problems.append((line.row, msg.UNIT_FILE_DUPLICATE.format(code=code, row=seen[code])))
        seen.setdefault(code, line.row)
        if not line.name or len(line.name) > 200:
            problems.append((line.row, msg.UNIT_FILE_NAME))
        elif any(unicodedata.category(ch) == "Cc" for ch in line.name):
            problems.append((line.row, msg.UNIT_FILE_NAME_CONTROL))
        if line.level not in {level.value for level in UnitLevel}:
            levels = ", ".join(level.value for level in UnitLevel)
            problems.append((line.row, msg.UNIT_FILE_LEVEL.format(level=line.level, levels=levels)))
        if line.quota and not (_QUOTA.fullmatch(line.quota) and int(line.quota) <= MAX_QUOTA):
            cap = f"{MAX_QUOTA:,}".replace(",", ".")
            problems.append((line.row, msg.UNIT_FILE_QUOTA.format(quota=line.quota, cap=cap)))
        merged[code] = (line.level, parent)

    for line in lines:
        code = line.code.upper()
        level, parent = merged[code]
        if level not in {lv.value for lv in UnitLevel}:
            continue
        expected = PARENT_LEVEL[UnitLevel(level)]
        if not parent:
            if expected is not None:
                problems.append(
                    (line.row, msg.UNIT_FILE_NEEDS_PARENT.format(code=code, level=level))
                )
            continue
        if parent not in merged:
            problems.append((line.row, msg.UNIT_FILE_NO_PARENT.format(code=code, parent=parent)))
            continue
        if _cycle(merged, code):
            problems.append((line.row, msg.UNIT_FILE_CYCLE.format(code=code)))
            continue
        parent_level = merged[parent][0]
        if parent_level == UnitLevel.GRASSROOTS.value:
            problem = msg.UNIT_FILE_GRASSROOTS_PARENT.format(code=code, parent=parent)
            problems.append((line.row, problem))
        elif expected is None or parent_level != expected.value:
            problem = msg.UNIT_FILE_WRONG_PARENT.format(
                code=code, level=level, parent_level=parent_level
            )
            problems.append((line.row, problem))
    # Stored units the file does not name must still fit under what the file changes.
    named = {line.code.upper() for line in lines}
    changed = {code for code in named if code in stored}
    rows_of = {line.code.upper(): line.row for line in lines}
    for code, (level, parent) in merged.items():
        if code in named or parent not in changed:
            continue
        expected = PARENT_LEVEL[UnitLevel(level)]
        if expected is None or merged[parent][0] != expected.value:
            problem = msg.UNIT_FILE_STRANDED.format(parent=parent, code=code, level=level)
            problems.append((rows_of[parent], problem))
    return sorted(set(problems))


def _cycle(merged: dict[str, tuple[str, str]], code: str) -> bool:
    seen = {code}
    parent = merged[code][1]
    while parent:
        if parent in seen:
            return True
        seen.add(parent)
        parent = merged.get(parent, ("", ""))[1]
    return False


_LEVEL_ORDER = (UnitLevel.NATIONAL, UnitLevel.PROVINCE, UnitLevel.DISTRICT, UnitLevel.GRASSROOTS)


class UnitService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def import_file(
        self,
        path: Path,
        *,
        period: str,
        now: dt.datetime,
        progress: Callable[[int], None] = lambda done: None,
    ) -> ImportReport:
        """Check `path`, then create or update its units and their quotas for `period`, in
        one transaction. Raises :class:`UnitFileError` (nothing written) on any problem."""
        lines = read_lines(path)
        with self._db.write() as connection:
            if tree.period(connection, period) is None:
                if not re.fullmatch(r"\d{4}", period):
                    raise UnitFileError([(0, msg.UNIT_FILE_PERIOD.format(period=period))])
                year = int(period)
                tree.save_period(connection, period, dt.date(year, 1, 1), dt.date(year, 12, 31))
            stored = tree.unit_rows(connection)
            problems = check(lines, stored)
            if problems:
                raise UnitFileError(problems)
            return self._apply(connection, lines, stored, period, now, progress)

    @staticmethod
    def _apply(
        connection: Any,
        lines: list[UnitLine],
        stored: dict[str, tree.UnitRow],
        period: str,
        now: dt.datetime,
        progress: Callable[[int], None],
    ) -> ImportReport:
        report = ImportReport()
        moved: set[str] = set()
        done = 0
        # Parents first: one batch per level, so that each level's parents have their ids.
        for level in _LEVEL_ORDER:
            known = tree.unit_rows(connection) if level is not UnitLevel.NATIONAL else stored
            inserts, updates = [], []
            for line in (ln for ln in lines if ln.level == level.value):
                code, parent_code = line.code.upper(), line.parent_code.upper()
                parent_id = known[parent_code].id if parent_code else None
                unit = stored.get(code)
                if unit is None:
                    inserts.append(
                        {
                            "code": code,
                            "name": line.name,
                            "level": level.value,
                            "parent_id": parent_id,
                            "created_at": now,
                        }
                    )
                elif (unit.name, unit.level, unit.parent_id) != (line.name, level, parent_id):
                    updates.append(
                        {"unit_id": unit.id, "name": line.name, "level": level, "pid": parent_id}
                    )
                    if unit.parent_id != parent_id:
                        moved.add(code)
                else:
                    report.unchanged += 1
            tree.insert_units(connection, inserts)
            tree.update_units(connection, updates)
            report.created += len(inserts)
            report.updated += len(updates)
            done += len(inserts) + len(updates)
            progress(done)
        final = tree.unit_rows(connection)
        wanted = {final[ln.code.upper()].id: int(ln.quota) for ln in lines if ln.quota}
        current = tree.quotas_of(connection, period)
        changed = {uid: q for uid, q in wanted.items() if current.get(uid) != q}
        tree.set_quotas(connection, period, changed)
        report.quotas = len(changed)
        if moved:
            by_id = {unit.id: unit for unit in final.values()}
            affected = {
                unit.id
                for unit in final.values()
                if unit.level is UnitLevel.GRASSROOTS
                and any(a.code in moved for a in tree.ancestors(by_id, unit.id)[:2])
            }
            tree.refresh_ancestors(connection, affected)
        progress(len(lines))
        return report

    def show(self, code: str, *, period: str | None, today: dt.date) -> str | None:
        """A unit's parents, children, quota and counts, as lines for the terminal."""
        with self._db.read() as connection:
            stored = tree.unit_rows(connection)
            unit = stored.get(code.upper())
            if unit is None:
                return None
            by_id = {u.id: u for u in stored.values()}
            found = tree.period(connection, period) if period else None
            found = found or tree.current_period(connection, today)
            quota = tree.quotas_of(connection, found.name).get(unit.id) if found else None
            counts = tree.status_counts(connection, unit.level, unit.id)
        chain = " › ".join(f"{u.code} {u.name}" for u in reversed(tree.ancestors(by_id, unit.id)))
        children = sorted(u.code for u in stored.values() if u.parent_id == unit.id)
        valid = counts.get(InitiativeStatus.VALID.value, 0)
        submitted = sum(n for s, n in counts.items() if s != InitiativeStatus.DRAFT.value)
        lines = [
            f"{unit.code}  {unit.name}  ({unit.level.value})",
            f"parents:  {chain}",
            f"children: {len(children)}" + (f"  {' '.join(children[:20])}" if children else ""),
            f"entries:  {submitted} submitted, {valid} valid, "
            f"{counts.get(InitiativeStatus.DRAFT.value, 0)} drafts",
        ]
        if found is not None:
            share = f"{100 * valid / quota:.0f}%" if quota else "-"
            lines.append(f"quota {found.name}: {quota if quota is not None else '-'} ({share})")
        return "\n".join(lines) + "\n"

    def summaries(self, period: str | None, today: dt.date) -> dict[str, list[dict[str, Any]]]:
        """Per unit level, every unit's entries (submitted), valid ones and % of its quota in
        the period: the sheets officers send upward."""
        titles = {
            UnitLevel.PROVINCE: "Cấp tỉnh, ngành",
            UnitLevel.DISTRICT: "Cấp trên cơ sở",
            UnitLevel.GRASSROOTS: "Cấp cơ sở",
        }
        sheets: dict[str, list[dict[str, Any]]] = {}
        with self._db.read() as connection:
            found = tree.period(connection, period) if period else None
            found = found or tree.current_period(connection, today)
            quotas = tree.quotas_of(connection, found.name) if found else {}
            stored = sorted(tree.unit_rows(connection).values(), key=lambda u: u.code)
            for level, title in titles.items():
                counts = tree.counts_by_unit(connection, level)
                lines = []
                for unit in (u for u in stored if u.level is level):
                    by_status = counts.get(unit.id, {})
                    valid = by_status.get(InitiativeStatus.VALID.value, 0)
                    quota = quotas.get(unit.id)
                    lines.append(
                        {
                            "code": unit.code,
                            "name": unit.name,
                            "entries": sum(
                                n for s, n in by_status.items() if s != InitiativeStatus.DRAFT.value
                            ),
                            "valid": valid,
                            "quota": quota,
                            "percent_of_quota": round(100 * valid / quota, 1) if quota else None,
                        }
                    )
                sheets[title] = lines
        return sheets

    def save_period(self, name: str, starts_on: dt.date, ends_on: dt.date) -> None:
        with self._db.write() as connection:
            tree.save_period(connection, name, starts_on, ends_on)

    def periods(self) -> list[Period]:
        with self._db.read() as connection:
            return tree.periods(connection)
