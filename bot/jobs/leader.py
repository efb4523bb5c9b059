"""Which of several `sangkien run` processes runs the scheduled jobs.

On PostgreSQL, the leader holds a session-level advisory lock on a connection of its own: the
lock lives as long as that connection, so a leader that dies (killed, crashed, cut off) loses
it the moment PostgreSQL notices the connection gone, and a standby that tries every few
seconds takes over. The leader checks its connection as often; if it is lost, it stops
scheduling at once (it may no longer hold the lock). On SQLite only one process may serve a
database (see ``bot.runtime.sole_server``), so it always leads.
"""

from __future__ import annotations

import logging
import threading
import zlib

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

# The advisory lock's key: a fixed number derived from the name, the same in every process.
LOCK_KEY = zlib.crc32(b"sangkien.scheduler")


class Leadership:
    """Try to lead, check that one still leads, and step down: blocking calls (run them off
    the event loop)."""

    def __init__(self, engine: Engine, key: int = LOCK_KEY) -> None:
        self._engine = engine
        self._key = key
        self._connection: Connection | None = None
        self.shared = engine.dialect.name == "postgresql"
        self._sole = False  # SQLite: leading, once asked to
        # A cancelled task's try_lead may still be running in its thread when step_down is
        # called: one at a time, so that no lock's connection is left open behind it.
        self._mutex = threading.Lock()
        self._closed = False

    @property
    def leading(self) -> bool:
        return self._connection is not None or self._sole

    def try_lead(self) -> bool:
        """Become leader if nobody is; whether this process leads now."""
        with self._mutex:
            return self._try_lead()

    def _try_lead(self) -> bool:
        if self._closed:
            return False
        if not self.shared:
            self._sole = True
            return True
        if self._connection is not None:
            return self._still_leading()
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
                ).scalar()
            )
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        log.info("this process now runs the scheduled jobs")
        return True

    def still_leading(self) -> bool:
        """Whether the lock's connection is alive; when it is not, leadership is lost."""
        with self._mutex:
            return self._still_leading()

    def _still_leading(self) -> bool:
        if not self.shared:
            return self._sole
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            return True
        except Exception:
            log.warning("lost the scheduler lock's connection; stepping down")
            self._drop()
            return False

    def step_down(self) -> None:
        with self._mutex:
            self._step_down()

    def close(self) -> None:
        """Step down for good (the process is stopping)."""
        with self._mutex:
            self._closed = True
            self._step_down()

    def _step_down(self) -> None:
        if not self.shared:
            self._sole = False
            return
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                )
            except Exception:
                log.debug("unlock failed; closing the connection releases it", exc_info=True)
            self._drop()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except Exception:
                log.debug("closing the lock's connection failed", exc_info=True)
