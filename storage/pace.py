"""The shared pace of sends (see ``bot.services.pace``): theoretical arrival times by key,
read and written inside the caller's transaction.

Every transaction first takes the row of its overall limit (an upsert, which locks it on
PostgreSQL), so the pace's transactions of one messenger run one at a time across processes
and the per-chat rows they read next cannot change under them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import SendPace

_pace = SendPace.__table__  # type: ignore[attr-defined]


def _upserts(*, keep_later: bool) -> dict[str, Any]:
    """INSERT … ON CONFLICT UPDATE per dialect; `keep_later`: never move a time earlier."""
    statements: dict[str, Any] = {}
    for dialect, insert, greatest in (
        ("sqlite", sqlite_insert, func.max),
        ("postgresql", pg_insert, func.greatest),
    ):
        statement = insert(_pace)
        tat = (
            greatest(_pace.c.tat, statement.excluded.tat) if keep_later else statement.excluded.tat
        )
        statements[dialect] = statement.on_conflict_do_update(
            index_elements=[_pace.c.key], set_={"tat": tat}
        )
    return statements


_TAKE = {dialect: s.returning(_pace.c.tat) for dialect, s in _upserts(keep_later=True).items()}
_SAVE = _upserts(keep_later=False)
_SELECT = select(_pace.c.key, _pace.c.tat).where(_pace.c.key.in_(bindparam("keys", expanding=True)))
_PRUNE = delete(_pace).where(_pace.c.tat < bindparam("before"), _pace.c.key.like("%:%"))


class PaceStore:
    """Reads and writes of the shared pace inside the caller's transaction on `connection`."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect.name

    def take(self, overall: str, not_before: float = 0.0) -> float:
        """Lock the overall limit's row (created if new) for this transaction; its time, moved
        to `not_before` if that is later (a pause)."""
        row = self._connection.execute(
            _TAKE[self._dialect], {"key": overall, "tat": not_before}
        ).one()
        return float(row.tat)

    def times(self, keys: Iterable[str]) -> dict[str, float]:
        """The arrival times kept for `keys` (read under the overall row's lock)."""
        keys = list(keys)
        if not keys:
            return {}
        rows = self._connection.execute(_SELECT, {"keys": keys})
        return {row.key: float(row.tat) for row in rows}

    def save(self, times: Mapping[str, float]) -> None:
        if times:
            rows = [{"key": key, "tat": tat} for key, tat in times.items()]
            self._connection.execute(_SAVE[self._dialect], rows)

    def prune(self, before: float) -> int:
        """Forget the chats whose arrival time is long past (they are ready, as if new)."""
        return self._connection.execute(_PRUNE, {"before": before}).rowcount
