"""Initiatives for reports: every row with its unit and author, streamed for large exports.
Each function takes the session as a keyword argument and never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from storage.models import Initiative, Person, Review, Unit, UnitLevel
from storage.units import in_scope

EXPORT_COLUMNS = (
    "id",
    "status",
    "unit_code",
    "unit_name",
    "author_name",
    "author_phone",
    "entered_by",
    "confirmed_by",
    "confirmed_at",
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
    "review_level",
    "review_history",
)


def export_rows(
    *, session: Session, batch: int = 1000, where: Sequence[Any] = ()
) -> Iterator[dict[str, Any]]:
    """Every initiative (meeting the conditions `where`) with its unit and author, streamed in
    id order for large exports."""
    last_id = 0
    while True:
        rows = session.exec(
            select(Initiative, Unit, Person)
            .join(Unit, col(Unit.id) == col(Initiative.unit_id))
            .join(Person, col(Person.id) == col(Initiative.author_id))
            .where(col(Initiative.id) > last_id, *where)
            .order_by(col(Initiative.id))
            .limit(batch)
        ).all()
        if not rows:
            return
        names = _names(
            {p for i, _, _ in rows for p in (i.entered_by_id, i.confirmed_by_id) if p},
            session=session,
        )
        history = _history([i.id for i, _, _ in rows if i.id is not None], session=session)
        for initiative, unit, author in rows:
            yield {
                **initiative.model_dump(
                    exclude={
                        "unit_id",
                        "author_id",
                        "entered_by_id",
                        "confirmed_by_id",
                        "district_id",
                        "province_id",
                        "return_step",
                        "duplicate_of",  # the status says it; ids of other rows stay out
                        "spoken",  # `sources` says it
                    }
                ),
                "review_history": "; ".join(
                    _said(step) for step in history.get(initiative.id or 0, [])
                ),
                "review_steps": history.get(initiative.id or 0, []),
                "unit_code": unit.code,
                "unit_name": unit.name,
                "author_name": author.name,
                "author_phone": author.phone,
                "entered_by": names.get(initiative.entered_by_id or 0),
                "confirmed_by": names.get(initiative.confirmed_by_id or 0),
            }
        last_id = rows[-1][0].id or last_id


def _names(person_ids: set[int], *, session: Session) -> dict[int, str | None]:
    if not person_ids:
        return {}
    people = session.exec(select(Person).where(col(Person.id).in_(person_ids))).all()
    return {p.id: p.name for p in people if p.id is not None}


def _said(step: ReviewStep) -> str:
    """A decision as the CSV has always said it: "2026-11-20 grassroots valid (Hùng)"."""
    reason = f": {step.reason}" if step.reason else ""
    return f"{step.at:%Y-%m-%d} {step.level} {step.decision} ({step.officer or '?'}){reason}"


@dataclass(frozen=True, slots=True)
class ReviewStep:
    at: dt.datetime
    level: str
    decision: str
    officer: str | None
    reason: str | None


def _history(initiative_ids: list[int], *, session: Session) -> dict[int, list[ReviewStep]]:
    """Each initiative's decisions, oldest first."""
    if not initiative_ids:
        return {}
    rows = session.exec(
        select(Review, Person)
        .join(Person, col(Person.id) == col(Review.officer_id))
        .where(col(Review.initiative_id).in_(initiative_ids))
        .order_by(col(Review.initiative_id), col(Review.id))
    ).all()
    found: dict[int, list[ReviewStep]] = {}
    for review, officer in rows:
        found.setdefault(review.initiative_id, []).append(
            ReviewStep(
                review.created_at, review.level, review.decision, officer.name, review.reason
            )
        )
    return found


def export_filter(
    *,
    unit: tuple[UnitLevel, int] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    statuses: Sequence[str] = (),
) -> list[Any]:
    """Conditions for :func:`export_rows`: a unit and everything below it, created in
    [start, end), in one of `statuses`."""
    where: list[Any] = []
    if unit is not None:
        where.append(in_scope(*unit))
    if start is not None:
        where.append(col(Initiative.created_at) >= start)
    if end is not None:
        where.append(col(Initiative.created_at) < end)
    if statuses:
        where.append(col(Initiative.status).in_(list(statuses)))
    return where
