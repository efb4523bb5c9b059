"""Which processes of the bot are alive: what a dead one held is taken over at once.

Each process has a random number, :data:`INSTANCE`, written as the `owner` of what it holds
for a while (an outbox row's lease, an update it took but has not handled). On PostgreSQL the
process holds a session-level advisory lock on that number on a connection of its own
(:class:`Presence`): a process killed or cut off loses it the moment PostgreSQL notices the
connection gone, and ``pg_locks`` lists the living. On SQLite one process serves a database
(``bot.runtime.sole_server``): every owner but this one is gone.

A lease's time still bounds a hold whose owner cannot be judged (no presence held yet); the
owner only frees it sooner.
"""

from __future__ import annotations

import logging
import random
import threading
import zlib
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Engine,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    column,
    select,
    table,
)

from storage.locks import HeldLock

log = logging.getLogger(__name__)

# The advisory locks' first key (the second is the instance): apart from the scheduler's.
PRESENCE_KEY = zlib.crc32(b"sangkien.presence") & 0x7FFFFFFF
# This process. Positive and below 2**31, so that it is an advisory lock's int4 key.
INSTANCE = random.SystemRandom().randrange(1, 2**31)

_locks = table(
    "pg_locks",
    column("locktype", String),
    column("classid", Integer),
    column("objid", BigInteger),
    column("objsubid", Integer),
    column("granted", Boolean),
)
_LIVING = select(cast(_locks.c.objid, BigInteger)).where(
    _locks.c.locktype == "advisory",
    _locks.c.classid == PRESENCE_KEY,
    _locks.c.objsubid == 2,  # the two-key form: (classid, objid)
    _locks.c.granted,
)


def gone(owner: ColumnElement[Any], dialect: str) -> ColumnElement[bool]:
    """`owner` is a process that has died (never this one, never no owner)."""
    others = and_(owner.is_not(None), owner != bindparam("me", INSTANCE, type_=BigInteger))
    if dialect != "postgresql":
        return others
    return and_(others, owner.not_in(_LIVING.scalar_subquery()))


class Presence:
    """This process's advisory lock on PostgreSQL, held on a connection of its own and taken
    again after the connection is lost (a database restart). Blocking calls."""

    def __init__(self, engine: Engine) -> None:
        parameters = {"key": PRESENCE_KEY, "me": INSTANCE}
        self._lock = HeldLock(engine, "SELECT pg_advisory_lock(:key, :me)", parameters)
        self.shared = engine.dialect.name == "postgresql"
        self._mutex = threading.Lock()

    def hold(self) -> bool:
        """Make sure the lock is held; whether it is."""
        if not self.shared:
            return True
        with self._mutex:
            if self._lock.held:
                if self._lock.alive():
                    return True
                log.warning("lost the presence lock's connection; taking it again")
            return self._lock.take()

    def release(self) -> None:
        with self._mutex:
            self._lock.drop()
