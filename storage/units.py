"""The union's unit tree, its periods and quotas. Nothing here commits: the caller owns the
transaction (ORM helpers take `session=`, the row helpers a Core connection)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, true
from sqlalchemy import delete as sa_delete
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from storage.models import PARENT_LEVEL, Initiative, Period, Quota, Unit, UnitCreate, UnitLevel


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


# --- the tree as plain rows, for imports, authority checks and counts ------------------------

_unit = Unit.__table__  # type: ignore[attr-defined]
_quota = Quota.__table__  # type: ignore[attr-defined]
_period = Period.__table__  # type: ignore[attr-defined]
_initiative = Initiative.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class UnitRow:
    id: int
    code: str
    name: str
    level: UnitLevel
    parent_id: int | None


def unit_rows(connection: Connection) -> dict[str, UnitRow]:
    """Every unit by code (tens of thousands fit in memory easily)."""
    rows = connection.execute(
        sa_select(_unit.c.id, _unit.c.code, _unit.c.name, _unit.c.level, _unit.c.parent_id)
    )
    return {
        row.code: UnitRow(row.id, row.code, row.name, UnitLevel(row.level), row.parent_id)
        for row in rows
    }


def insert_units(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert units (code, name, level, parent_id, created_at) in one batch."""
    if rows:
        connection.execute(sa_insert(_unit), list(rows))


def update_units(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rename or move units: each row has its `unit_id` and the new name, level, parent_id."""
    if rows:
        statement = (
            sa_update(_unit)
            .where(_unit.c.id == bindparam("unit_id"))
            .values(name=bindparam("name"), level=bindparam("level"), parent_id=bindparam("pid"))
        )
        connection.execute(statement, list(rows))


def quotas_of(connection: Connection, period: str) -> dict[int, int]:
    rows = connection.execute(
        sa_select(_quota.c.unit_id, _quota.c.target).where(_quota.c.period == period)
    )
    return {row.unit_id: row.target for row in rows}


def set_quotas(connection: Connection, period: str, targets: dict[int, int]) -> None:
    """Set each unit's quota for the period (replacing the one there was)."""
    if not targets:
        return
    connection.execute(
        sa_delete(_quota).where(
            _quota.c.period == period, _quota.c.unit_id.in_(bindparam("ids", expanding=True))
        ),
        {"ids": list(targets)},
    )
    connection.execute(
        sa_insert(_quota),
        [{"unit_id": u, "period": period, "target": t} for u, t in targets.items()],
    )


def clear_quota(connection: Connection, period: str, unit_id: int) -> None:
    connection.execute(
        sa_delete(_quota).where(_quota.c.period == period, _quota.c.unit_id == unit_id)
    )


def refresh_ancestors(connection: Connection, grassroots_ids: Iterable[int]) -> None:
    """Copy each grassroots union's district and province onto its initiatives again (after
    the union or its district moved in the tree)."""
    units = {row.id: row for row in unit_rows(connection).values()}
    changes = []
    for unit_id in grassroots_ids:
        district = units[unit_id].parent_id
        province = units[district].parent_id if district is not None else None
        changes.append({"uid": unit_id, "district": district, "province": province})
    if changes:
        connection.execute(
            sa_update(_initiative)
            .where(_initiative.c.unit_id == bindparam("uid"))
            .values(district_id=bindparam("district"), province_id=bindparam("province")),
            changes,
        )


def ancestors(units_by_id: dict[int, UnitRow], unit_id: int) -> list[UnitRow]:
    """The unit, its parent, and so on up to the confederation."""
    chain: list[UnitRow] = []
    next_id: int | None = unit_id
    while next_id is not None and next_id in units_by_id and len(chain) < 10:
        chain.append(units_by_id[next_id])
        next_id = units_by_id[next_id].parent_id
    return chain


# Which initiative column holds a unit of each level (the national union holds them all).
SCOPE_COLUMN: dict[UnitLevel, str | None] = {
    UnitLevel.GRASSROOTS: "unit_id",
    UnitLevel.DISTRICT: "district_id",
    UnitLevel.PROVINCE: "province_id",
    UnitLevel.NATIONAL: None,
}


def in_scope(level: UnitLevel, unit_id: int) -> Any:
    """A condition on initiatives: those of the unit `unit_id` (of `level`) or below it."""
    column = SCOPE_COLUMN[level]
    return true() if column is None else _initiative.c[column] == unit_id


def status_counts(
    connection: Connection, level: UnitLevel, unit_id: int, *, since: dt.datetime | None = None
) -> dict[str, int]:
    """How many initiatives of the unit and below are in each status (created since `since`)."""
    query = (
        sa_select(_initiative.c.status, func.count())
        .where(in_scope(level, unit_id))
        .group_by(_initiative.c.status)
    )
    if since is not None:
        query = query.where(_initiative.c.created_at >= since)
    return {row[0]: row[1] for row in connection.execute(query)}


def period(connection: Connection, name: str) -> Period | None:
    row = connection.execute(sa_select(_period).where(_period.c.name == name)).first()
    return Period(name=row.name, starts_on=row.starts_on, ends_on=row.ends_on) if row else None


def current_period(connection: Connection, today: dt.date) -> Period | None:
    """The shortest period that contains `today` (a quarter before its year)."""
    rows = connection.execute(
        sa_select(_period).where(_period.c.starts_on <= today, _period.c.ends_on >= today)
    ).all()
    if not rows:
        return None
    row = min(rows, key=lambda r: (r.ends_on - r.starts_on, r.name))
    return Period(name=row.name, starts_on=row.starts_on, ends_on=row.ends_on)


def save_period(connection: Connection, name: str, starts_on: dt.date, ends_on: dt.date) -> None:
    values = {"starts_on": starts_on, "ends_on": ends_on}
    if period(connection, name) is None:
        connection.execute(sa_insert(_period), [values | {"name": name}])
    else:
        connection.execute(sa_update(_period).where(_period.c.name == name).values(**values))


def periods(connection: Connection) -> list[Period]:
    rows = connection.execute(sa_select(_period).order_by(_period.c.starts_on, _period.c.name))
    return [Period(name=r.name, starts_on=r.starts_on, ends_on=r.ends_on) for r in rows]


def counts_by_unit(connection: Connection, level: UnitLevel) -> dict[int, dict[str, int]]:
    """Initiatives per status under every unit of `level`, in one grouped query."""
    column = SCOPE_COLUMN[level]
    if column is None:
        query = sa_select(_initiative.c.status, func.count()).group_by(_initiative.c.status)
        return {0: {row[0]: row[1] for row in connection.execute(query)}}
    key = _initiative.c[column]
    query = sa_select(key, _initiative.c.status, func.count()).group_by(key, _initiative.c.status)
    found: dict[int, dict[str, int]] = {}
    for unit_id, status, count in connection.execute(query):
        if unit_id is not None:
            found.setdefault(unit_id, {})[status] = count
    return found
