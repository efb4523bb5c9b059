"""How the services open transactions on the one database engine.

PostgreSQL serialises a chat's turns with a row lock, so writers run in parallel. SQLite has
one writer at a time: writers queue on a lock here rather than in SQLite's busy handler, which
sleeps and retries and turns contention into long tail latencies.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import Connection, Engine


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
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection
