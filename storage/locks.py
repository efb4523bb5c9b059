"""A PostgreSQL session-level advisory lock, held on a connection of its own.

The lock lives as long as that connection: a process that dies (killed, crashed, cut off)
loses it the moment PostgreSQL notices the connection gone. The scheduler's leadership
(``bot.jobs.leader``) and each process's presence (:mod:`storage.presence`) are such locks.
Blocking calls; the callers serialise them.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)


class HeldLock:
    """Take the lock with `take` (a ``pg_advisory_lock`` or ``pg_try_advisory_lock`` call on
    `parameters`), check its connection with `alive`, give it up with `drop`."""

    def __init__(self, engine: Engine, take: str, parameters: dict[str, Any]) -> None:
        self._engine = engine
        self._take = text(take)
        self._parameters = parameters
        self.connection: Connection | None = None

    @property
    def held(self) -> bool:
        return self.connection is not None

    def take(self) -> bool:
        """Open a connection and take the lock on it; whether it was got (a try-lock that
        someone else holds says no, and its connection is closed)."""
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.execute(self._take, self._parameters).scalar()
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        if got is False:
            connection.close()
            return False
        self.connection = connection
        return True

    def alive(self) -> bool:
        """Whether the lock's connection still answers; if not, the lock is dropped (it may
        be gone with the connection)."""
        if self.connection is None:
            return False
        try:
            self.connection.execute(text("SELECT 1"))
            return True
        except Exception:
            self.drop()
            return False

    def drop(self) -> None:
        """Close the connection, and the lock with the session."""
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except Exception:
                log.debug("closing a lock's connection failed", exc_info=True)
