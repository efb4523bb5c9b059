"""The officers' web pages' use cases: the review queue, an entry, decisions in bulk, units
and quotas, officers and invitations. Each takes the signed-in :class:`Officer` and keeps to
the units they serve: an id outside them is not found (the page answers 404), exactly as an
id that does not exist.

Decisions go through the chat's :class:`~bot.services.review.ReviewDesk`, one transaction an
entry with its history row and the words to its author in the outbox: the same rules and the
same race safety (the first officer to decide an entry wins; the other is told it was taken).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import RowMapping

from bot.clock import Clock, system_clock
from bot.services.access import Officer
from bot.services.database import Database
from bot.services.review import ReviewDesk, ReviewService, may_decide, queue_notices
from bot.services.units import UnitFileError, UnitLine, check, read_lines
from dialogs import messages as msg
from dialogs.state import Decided
from storage import listing
from storage import units as tree
from storage.conversations import ConversationStore
from storage.listing import COUNT_CAP as COUNT_CAP
from storage.listing import Filters as Filters
from storage.listing import Part
from storage.models import LEVEL_RANK, PENDING_REVIEW, Decision, UnitLevel
from storage.review import ReviewStore

PAGE_SIZE = 50
# The statuses of an entry waiting for a decision: the queue page's default filter.
PENDING = tuple(status.value for status in PENDING_REVIEW)
# What the pages decide (marking a duplicate stays in the chat, where its card lists them).
DECISIONS = frozenset({Decision.VALID.value, Decision.RETURNED.value, Decision.REJECTED.value})


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[RowMapping]
    total: int  # up to listing.COUNT_CAP + 1
    decidable: set[int]  # the rows this officer may decide now
    more: bool  # a page follows


@dataclass(frozen=True, slots=True)
class EntryView:
    row: RowMapping
    history: list[RowMapping]
    recordings: list[RowMapping]
    entered_by: str | None
    confirmed_by: str | None
    may_decide: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    initiative_id: int
    result: Decided


@dataclass(frozen=True, slots=True)
class UnitLineView:
    code: str
    name: str
    level: UnitLevel
    depth: int
    quota: int | None
    parent_code: str


@dataclass(slots=True)
class ImportPreview:
    """What a unit file would change, or every row that is wrong with it."""

    created: list[UnitLine] = field(default_factory=list)
    renamed: list[tuple[UnitLine, str]] = field(default_factory=list)
    moved: list[tuple[UnitLine, str]] = field(default_factory=list)
    quotas: list[tuple[UnitLine, int | None]] = field(default_factory=list)
    unchanged: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)


class Portal:
    def __init__(
        self,
        db: Database,
        levels: tuple[UnitLevel, ...],
        clock: Clock = system_clock,
    ) -> None:
        self._db = db
        self.levels = levels
        self._clock = clock
        self._review = ReviewService(db, levels, clock)

    # --- the queue and entries ---------------------------------------------------------

    def unit(self, officer: Officer, code: str) -> Part | None:
        """A unit of the officer's subtree, by code, as a part; None outside it."""
        with self._db.read() as connection:
            row = listing.unit_in(connection, officer.parts, code)
        return (UnitLevel(row["level"]), row["id"]) if row is not None else None

    def queue(self, officer: Officer, filters: Filters, page: int = 1) -> QueuePage:
        with self._db.read() as connection:
            rows, total = listing.page(
                connection,
                officer.parts,
                filters,
                limit=PAGE_SIZE,
                offset=(max(page, 1) - 1) * PAGE_SIZE,
            )
        more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
        decidable = {row["id"] for row in rows if self._may_decide(officer, row)}
        return QueuePage(rows, total, decidable, more)

    def _may_decide(self, officer: Officer, row: RowMapping) -> bool:
        """The chat's rule: waiting at a level the officer reviews, at theirs or below,
        under one of their units."""
        if row["status"] not in PENDING or not row["review_level"]:
            return False
        return may_decide(officer.scopes, row, UnitLevel(row["review_level"]))

    def entry(self, officer: Officer, initiative_id: int) -> EntryView | None:
        with self._db.read() as connection:
            row = listing.entry(connection, officer.parts, initiative_id)
            if row is None:
                return None
            store = ReviewStore(connection)
            history = store.history([initiative_id]).get(initiative_id, [])
            recordings = listing.voice_notes(connection, initiative_id)
            names = _people(connection, row["entered_by_id"], row["confirmed_by_id"])
        return EntryView(
            row,
            history,
            recordings,
            names.get(row["entered_by_id"]),
            names.get(row["confirmed_by_id"]),
            self._may_decide(officer, row),
        )

    def recording(self, officer: Officer, initiative_id: int, note_id: int) -> Path | None:
        """The file of one of an entry's recordings, if the entry is in the subtree."""
        with self._db.read() as connection:
            if listing.entry(connection, officer.parts, initiative_id) is None:
                return None
            notes = listing.voice_notes(connection, initiative_id)
        found = next((n for n in notes if n["id"] == note_id), None)
        return Path(found["path"]) if found is not None else None

    def decide(
        self,
        officer: Officer,
        entries: Sequence[tuple[int, str]],
        decision: str,
        reason: str | None,
    ) -> list[Outcome]:
        """Decide each (id, the level the officer saw it waiting at), each in its own
        transaction: one taken meanwhile by another officer does not undo the rest."""
        outcomes = []
        for initiative_id, level in entries:
            now = self._clock()
            with self._db.write() as connection:
                desk = ReviewDesk(connection, officer.person_id, self.levels, now)
                if level not in {lv.value for lv in self.levels} or decision not in DECISIONS:
                    result = Decided.FORBIDDEN
                else:
                    result = desk.decide(initiative_id, level, decision, reason, None)
                queue_notices(connection, desk.notices, now=now)
            outcomes.append(Outcome(initiative_id, result))
        return outcomes

    # --- units and quotas --------------------------------------------------------------

    def units(self, officer: Officer, period: str) -> list[UnitLineView]:
        """The officer's units and everything below them, in tree order, with quotas."""
        with self._db.read() as connection:
            rows = tree.unit_rows(connection)
            quotas = tree.quotas_of(connection, period) if period else {}  # "": the tree only
        by_id = {row.id: row for row in rows.values()}
        children: dict[int | None, list[tree.UnitRow]] = {}
        for row in rows.values():
            children.setdefault(row.parent_id, []).append(row)
        found: list[UnitLineView] = []

        def walk(unit: tree.UnitRow, depth: int) -> None:
            parent = by_id.get(unit.parent_id) if unit.parent_id is not None else None
            found.append(
                UnitLineView(
                    unit.code,
                    unit.name,
                    unit.level,
                    depth,
                    quotas.get(unit.id),
                    parent.code if parent else "",
                )
            )
            for child in sorted(children.get(unit.id, []), key=lambda u: u.code):
                walk(child, depth + 1)

        tops = sorted(  # the highest first: a unit under another of theirs is shown once
            {s.unit_id for s in officer.scopes} & set(by_id),
            key=lambda i: (-LEVEL_RANK[by_id[i].level], by_id[i].code),
        )
        covered: set[int] = set()
        for unit_id in tops:
            if any(a.id in covered for a in tree.ancestors(by_id, unit_id)):
                continue  # already under another of the officer's units
            covered.add(unit_id)
            walk(by_id[unit_id], 0)
        return found

    def set_quota(self, officer: Officer, code: str, period: str, target: int | None) -> bool:
        """Set (or clear, with None) a unit's quota; False outside the subtree."""
        with self._db.write() as connection:
            row = listing.unit_in(connection, officer.parts, code)
            if row is None or tree.period(connection, period) is None:
                return False
            if target is None:
                tree.clear_quota(connection, period, row["id"])
            else:
                tree.set_quotas(connection, period, {row["id"]: target})
        return True

    def preview_import(self, officer: Officer, path: Path, period: str = "") -> ImportPreview:
        """What importing `path` would change under the officer's units; every bad row
        named (a unit outside their subtree is one)."""
        preview = ImportPreview()
        try:
            lines = read_lines(path)
        except UnitFileError as error:
            preview.problems = error.problems
            return preview
        with self._db.read() as connection:
            stored = tree.unit_rows(connection)
            problems = check(lines, stored)
            allowed = self._allowed_codes(officer, stored, lines)
            quotas = tree.quotas_of(connection, period) if period else {}
        for line in lines:
            if line.code.upper() not in allowed:
                problems.append((line.row, msg.WEB_UNIT_OUTSIDE.format(code=line.code.upper())))
        preview.problems = sorted(problems)
        if preview.problems:
            return preview
        by_id = {u.id: u for u in stored.values()}
        for line in lines:
            unit = stored.get(line.code.upper())
            if unit is None:
                preview.created.append(line)
                continue
            parent = by_id.get(unit.parent_id) if unit.parent_id else None
            changed = False
            if unit.name != line.name:
                preview.renamed.append((line, unit.name))
                changed = True
            if (parent.code if parent else "") != line.parent_code.upper():
                preview.moved.append((line, parent.code if parent else ""))
                changed = True
            if not changed:
                preview.unchanged += 1
        for line in lines:
            unit = stored.get(line.code.upper())
            before = quotas.get(unit.id) if unit is not None else None
            if line.quota and int(line.quota) != before:
                preview.quotas.append((line, before))
        return preview

    @staticmethod
    def _allowed_codes(
        officer: Officer, stored: dict[str, tree.UnitRow], lines: list[UnitLine]
    ) -> set[str]:
        """Codes a file from this officer may name: units strictly under theirs, both where
        they are stored and where the file puts them (a unit of another branch cannot be
        moved in, nor one of theirs out), and their own units renamed or given a quota in
        place."""
        if any(scope.level is UnitLevel.NATIONAL for scope in officer.scopes):
            return {line.code.upper() for line in lines}
        by_id = {u.id: u for u in stored.values()}
        served = {scope.code for scope in officer.scopes}
        was = {code: by_id[u.parent_id].code for code, u in stored.items() if u.parent_id}
        will = was | {ln.code.upper(): ln.parent_code.upper() for ln in lines}

        def below_served(code: str, parent_of: dict[str, str]) -> bool:
            parent = parent_of.get(code)
            for _ in range(6):  # four levels: never longer
                if not parent:
                    return False
                if parent in served:
                    return True
                parent = parent_of.get(parent)
            return False

        allowed = set()
        for line in lines:
            code = line.code.upper()
            if below_served(code, will) and (code not in stored or below_served(code, was)):
                allowed.add(code)
            elif code in served and code in stored and will.get(code, "") == was.get(code, ""):
                allowed.add(code)  # their own unit, in place
        return allowed

    # --- officers and invitations ------------------------------------------------------

    def officers(self, officer: Officer) -> list[RowMapping]:
        with self._db.read() as connection:
            rows = ReviewStore(connection).officers()
            mine = listing.codes_within(connection, officer.parts)
        return [row for row in rows if row["unit_code"] in mine]

    def invite(self, officer: Officer, code: str, expires: dt.timedelta) -> Any:
        if self.unit(officer, code) is None:
            return None
        return self._review.invite(code, expires=expires)

    def remove_officer(self, officer: Officer, person_id: int, code: str) -> bool:
        if self.unit(officer, code) is None:
            return False
        return self._review.remove_officer(person_id, code)


def _people(connection: Any, *person_ids: int | None) -> dict[int | None, str]:
    store = ConversationStore(connection)
    return {pid: store.person_name(pid) or "?" for pid in person_ids if pid is not None}
