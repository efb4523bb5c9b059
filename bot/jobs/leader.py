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

from sqlalchemy import Engine, text

from storage.locks import HeldLock

log = logging.getLogger(__name__)

# The advisory lock's key: a fixed number derived from the name, the same in every process.
LOCK_KEY = zlib.crc32(b"sangkien.scheduler")


class Leadership:
    """Try to lead, check that one still leads, and step down: blocking calls (run them off
    the event loop)."""

    def __init__(self, engine: Engine, key: int = LOCK_KEY) -> None:
        self._key = key
        self._lock = HeldLock(engine, "SELECT pg_try_advisory_lock(:key)", {"key": key})
        self.shared = engine.dialect.name == "postgresql"
        self._sole = False  # SQLite: leading, once asked to
        # A cancelled task's try_lead may still be running in its thread when step_down is
        # called: one at a time, so that no lock's connection is left open behind it.
        self._mutex = threading.Lock()
        self._closed = False

    @property
    def leading(self) -> bool:
        return self._lock.held or self._sole

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
        if self._lock.held:
            return self._still_leading()
        if not self._lock.take():
            return False
        log.info("this process now runs the scheduled jobs")
        return True

    def still_leading(self) -> bool:
        """Whether the lock's connection is alive; when it is not, leadership is lost."""
        with self._mutex:
            return self._still_leading()

    def _still_leading(self) -> bool:
        if not self.shared:
            return self._sole
        if not self._lock.held:
            return False
        if self._lock.alive():
            return True
        log.warning("lost the scheduler lock's connection; stepping down")
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
        connection = self._lock.connection
        if connection is not None:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            except Exception:
                log.debug("unlock failed; closing the connection releases it", exc_info=True)
            self._lock.drop()
