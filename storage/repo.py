"""Data-access functions. Each takes the session as a keyword argument and never commits:
the caller owns the transaction, so one conversation turn is one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from storage.models import (
    PARENT_LEVEL,
    Initiative,
    Person,
    ProcessedUpdate,
    Quota,
    Unit,
    UnitCreate,
    UnitLevel,
)


class UnitTreeError(ValueError):
    """A unit whose parent is missing or of the wrong level."""


def get_unit(code: str, *, session: Session) -> Unit | None:
    return session.exec(select(Unit).where(Unit.code == code.upper())).first()


def create_units(units: Iterable[UnitCreate], *, session: Session) -> list[Unit]:
    """Insert units, parents before children, checking that levels nest properly."""
    created: list[Unit] = []
    known: dict[str, Unit] = {}
    for given in units:
        code = given.code.upper()
        parent = None
        if given.parent_code is not None:
            parent = known.get(given.parent_code.upper()) or get_unit(
                given.parent_code, session=session
            )
            if parent is None:
                raise UnitTreeError(f"{code}: parent {given.parent_code} does not exist")
        expected = PARENT_LEVEL[UnitLevel(given.level)]
        actual = UnitLevel(parent.level) if parent else None
        if expected != actual:
            raise UnitTreeError(f"{code}: a {given.level} unit cannot sit under {actual}")
        unit = Unit(
            code=code, name=given.name, level=given.level, parent_id=parent.id if parent else None
        )
        session.add(unit)
        session.flush()
        assert unit.id is not None
        for period, target in given.quotas.items():
            session.add(Quota(unit_id=unit.id, period=period, target=target))
        known[code] = unit
        created.append(unit)
    return created


def count_units(*, session: Session) -> int:
    return session.exec(select(func.count()).select_from(Unit)).one()


def units_in_tree_order(*, session: Session) -> list[tuple[Unit, str | None]]:
    """Every unit with its parent's code, each parent before its children, siblings by code."""
    units = session.exec(select(Unit).order_by(col(Unit.code))).all()
    by_id = {unit.id: unit for unit in units}
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    ordered: list[tuple[Unit, str | None]] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        unit = stack.pop()
        parent = by_id.get(unit.parent_id) if unit.parent_id else None
        ordered.append((unit, parent.code if parent else None))
        stack.extend(reversed(children.get(unit.id, [])))
    return ordered


EXPORT_COLUMNS = (
    "id",
    "status",
    "unit_code",
    "unit_name",
    "author_name",
    "author_phone",
    "entered_by",
    "title",
    "problem",
    "solution",
    "benefit_kind",
    "benefit_detail",
    "benefit_value_vnd",
    "field",
    "applied",
    "applied_on",
    "co_authors",
    "sources",
    "created_at",
    "updated_at",
    "submitted_at",
)


def export_rows(*, session: Session, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every initiative with its unit and author, streamed in id order for large exports."""
    last_id = 0
    while True:
        rows = session.exec(
            select(Initiative, Unit, Person)
            .join(Unit, col(Unit.id) == col(Initiative.unit_id))
            .join(Person, col(Person.id) == col(Initiative.author_id))
            .where(col(Initiative.id) > last_id)
            .order_by(col(Initiative.id))
            .limit(batch)
        ).all()
        if not rows:
            return
        entered_by = _names(
            {i.entered_by_id for i, _, _ in rows if i.entered_by_id}, session=session
        )
        for initiative, unit, author in rows:
            yield {
                **initiative.model_dump(exclude={"unit_id", "author_id", "entered_by_id"}),
                "unit_code": unit.code,
                "unit_name": unit.name,
                "author_name": author.name,
                "author_phone": author.phone,
                "entered_by": entered_by.get(initiative.entered_by_id or 0),
            }
        last_id = rows[-1][0].id or last_id


def forget_processed_updates(before: dt.datetime, *, session: Session) -> int:
    """Drop the record of updates processed before `before`; returns how many.

    Messengers redeliver within minutes, so a few days of ids is plenty; without pruning the
    table grows by every message ever received.
    """
    result = session.execute(
        delete(ProcessedUpdate).where(col(ProcessedUpdate.created_at) < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _names(person_ids: set[int], *, session: Session) -> dict[int, str | None]:
    if not person_ids:
        return {}
    people = session.exec(select(Person).where(col(Person.id).in_(person_ids))).all()
    return {p.id: p.name for p in people if p.id is not None}
