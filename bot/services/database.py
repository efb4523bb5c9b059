"""How the services open transactions on the one database engine.

PostgreSQL serialises a chat's turns with a row lock, so writers run in parallel. SQLite has
one writer at a time: writers queue on a lock here rather than in SQLite's busy handler, which
sleeps and retries and turns contention into long tail latencies.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from storage.db import Autocommit, autocommit


class Database:
    """The services' access to one engine: `write()` for a transaction, `read()` for a look."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.locks_rows = engine.dialect.name == "postgresql"
        self._serial: AbstractContextManager[object] = (
            nullcontext() if self.locks_rows else threading.Lock()
        )

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction, committed when the block ends (rolled back if it raises)."""
        with self._serial, self.engine.begin() as connection:
            yield connection

    @contextmanager
    def autocommit(self) -> Iterator[Autocommit]:
        """A connection for a write that is one statement, committed by itself."""
        with self._serial, autocommit(self.engine) as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection


def log_failure(logger: logging.Logger, what: str, error: BaseException) -> None:
    """Log that `what` failed: one line when the database is down or restarting (no bug, and
    a traceback per message would bury the log), with the traceback otherwise."""
    if isinstance(error, OperationalError):
        kind = type(error.orig).__name__
        logger.warning("%s failed: the database is unreachable (%s)", what, kind)
    else:
        logger.error("%s failed", what, exc_info=error)
