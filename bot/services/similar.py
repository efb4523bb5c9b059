"""Similar ideas: is this idea one we have already, in the worker's province?

An initiative is indexed in the transaction that submits it (:func:`index`): its problem and
change folded, and its MinHash band keys (:mod:`nlp.similar`). A check folds the draft the
same way, takes the initiatives sharing a band within the province from the database and
ranks them by the exact score; those at `[similar] very` or above are likely the same idea,
those at `related` or above are shown to reviewers only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from bot.services.database import Database
from nlp import similar as text
from storage import similar as index_store
from storage.models import Initiative, Unit

_unit = Unit.__table__  # type: ignore[attr-defined]
_initiative = Initiative.__table__  # type: ignore[attr-defined]
VERY = 0.73  # measured: benchmarks/similar_eval.py
RELATED = 0.6


@dataclass(frozen=True, slots=True)
class Match:
    """A stored initiative like the one checked, and how alike (0 to 1)."""

    score: float
    initiative_id: int
    unit_code: str
    unit_name: str
    title: str
    status: str


def index(connection: Connection, initiative_id: int) -> None:
    """Index one initiative as it is stored now, in the caller's transaction (the one that
    submits it)."""
    found = index_store.of_initiative(connection, initiative_id)
    if found is not None:
        index_store.put(connection, [_indexed(initiative_id, *found)])


def _indexed(
    initiative_id: int, province_id: int | None, problem: str, solution: str
) -> index_store.Indexed:
    problem_key, solution_key = text.folded(problem), text.folded(solution)
    return index_store.Indexed(
        initiative_id,
        province_id or 0,
        problem_key,
        solution_key,
        text.bands([problem_key, solution_key]),
    )


def matches(
    connection: Connection,
    problem: str,
    solution: str,
    provinces: list[int],
    *,
    at_least: float,
    exclude: int | None = None,
    limit: int = 5,
) -> list[Match]:
    """The stored initiatives of `provinces` at least `at_least` alike, the closest first."""
    problem_key, solution_key = text.folded(problem), text.folded(solution)
    ids = index_store.candidates(connection, text.bands([problem_key, solution_key]), provinces)
    found = [
        Match(
            round(_score(problem_key, solution_key, s), 3),
            s.initiative_id,
            s.unit_code,
            s.unit_name,
            s.title,
            s.status,
        )
        for s in index_store.stored(connection, [i for i in ids if i != exclude])
    ]
    found = [m for m in found if m.score >= at_least]
    found.sort(key=lambda m: (-m.score, m.initiative_id))
    return found[:limit]


def _score(problem_key: str, solution_key: str, other: index_store.Stored) -> float:
    """Both fields compared, or a single text (the command line's) with the whole idea."""
    if not solution_key:
        return text.field_score(problem_key, f"{other.problem_key} {other.solution_key}")
    return text.score(problem_key, solution_key, other.problem_key, other.solution_key)


class SimilarService:
    """The check and the index's upkeep, each call one transaction."""

    def __init__(self, db: Database, *, very: float = VERY, related: float = RELATED) -> None:
        self._db = db
        self.very, self.related = very, related

    def province_of(self, connection: Connection, unit_code: str) -> int | None:
        """The province a unit is in (itself, if it is one; None above provinces)."""
        rows = {
            r.id: r
            for r in connection.execute(
                select(_unit.c.id, _unit.c.code, _unit.c.level, _unit.c.parent_id)
            ).all()
        }
        unit = next((r for r in rows.values() if r.code == unit_code), None)
        while unit is not None and unit.level not in ("province", "national"):
            unit = rows.get(unit.parent_id)
        return unit.id if unit is not None and unit.level == "province" else None

    def search(
        self, problem: str, solution: str, unit_code: str | None = None, *, limit: int = 10
    ) -> list[Match]:
        """The closest stored ideas (at `related` or above) within the unit's province, or
        everywhere without a unit. A single text is compared with both fields."""
        with self._db.read() as connection:
            if unit_code is not None:
                province = self.province_of(connection, unit_code)
                provinces = [province or 0]
            else:
                provinces = index_store.provinces(connection)
            return matches(
                connection, problem, solution, provinces, at_least=self.related, limit=limit
            )

    def reindex(self, progress: Callable[[int], None] | None = None, batch: int = 2000) -> int:
        """Rebuild the index from the initiatives; `progress` is told of each batch done."""
        with self._db.write() as connection:
            index_store.clear(connection)
        done, after = 0, 0
        while True:
            with self._db.write() as connection:
                rows = index_store.to_index(connection, after, batch)
                if not rows:
                    return done
                index_store.put(connection, [_indexed(*row) for row in rows])
            after = rows[-1][0]
            done += len(rows)
            if progress is not None:
                progress(len(rows))

    def count(self) -> int:
        with self._db.read() as connection:
            return index_store.count_to_index(connection)
