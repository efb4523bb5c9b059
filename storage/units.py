"""The union's unit tree. Each function takes the session as a keyword argument and never
commits: the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import PARENT_LEVEL, Quota, Unit, UnitCreate, UnitLevel


class UnitTreeError(ValueError):
    """A unit whose parent is missing or of the wrong level."""


def get_unit(code: str, *, session: Session) -> Unit | None:
    return session.exec(select(Unit).where(Unit.code == code.upper())).first()


def create_units(units: Iterable[UnitCreate], *, now: dt.datetime, session: Session) -> list[Unit]:
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
            code=code,
            name=given.name,
            level=given.level,
            parent_id=parent.id if parent else None,
            created_at=now,
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
