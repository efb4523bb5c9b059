"""Database engines and schema upgrades."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, bindparam, create_engine, event, insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).parent / "migrations"


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`. SQLite gets WAL, foreign keys, a busy timeout and immediate
    transactions; its folder is made."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False},
            json_serializer=_compact_json,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=10,
        max_overflow=10,
        pool_recycle=1800,
        json_serializer=_compact_json,
    )


class DriverInsert:
    """An INSERT of one row into `table`, compiled once per dialect and run on the driver's
    cursor of the caller's connection (so in its transaction), returning the new id.

    For the row every turn writes (its replies, to the outbox): a compiled Core insert spends
    ~45-60 µs per row in SQLAlchemy's per-execution machinery, this ~15 µs (SQLite, measured
    with ``python -m benchmarks.dialog``). Values are converted by the columns' own bind
    processors (JSON with the engine's serializer, UTC timestamps), as Core would.
    """

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self._table = table
        self._columns = tuple(columns)
        self._compiled: dict[Dialect, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect)
        if found is None:
            statement = insert(self._table).values({c: bindparam(c) for c in self._columns})
            if dialect.name != "sqlite":  # SQLite gives the id as the cursor's lastrowid
                statement = statement.returning(self._table.c.id)
            compiled = statement.compile(dialect=dialect)
            processors = {}
            for name in self._columns:
                processor = self._table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = self._compiled[dialect] = _Compiled(compiled.string, order, processors)
        return found

    def run(self, connection: Connection, values: dict[str, Any]) -> int:
        compiled = self._for(connection.dialect)
        row = {name: values[name] for name in self._columns}
        for name, processor in compiled.processors.items():
            row[name] = processor(row[name])
        parameters = row if compiled.order is None else tuple(row[n] for n in compiled.order)
        dbapi_error = connection.dialect.loaded_dbapi.Error
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
            if connection.dialect.name == "sqlite":
                return int(cursor.lastrowid)
            returned = cursor.fetchone()
            assert returned is not None
            return int(returned[0])
        except dbapi_error as error:  # as Core raises it: IntegrityError for a duplicate key
            raise DBAPIError.instance(compiled.sql, parameters, error, dbapi_error) from error
        finally:
            cursor.close()


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # the parameters' order, for a positional paramstyle
    processors: dict[str, Any]


def _compact_json(value: Any) -> str:
    """JSON as stored: UTF-8 text rather than \\u escapes (Vietnamese is half the bytes) and
    no spaces; every turn writes the conversation state and its replies as JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event open transactions (the driver's own BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock when a transaction starts, not at its first write.

    A conversation turn reads the chat's state and then writes it. With SQLite's default
    deferred transactions, two processes could both read the same state and one answer be
    lost (or fail on a stale snapshot); taking the lock first serialises them, as the row
    lock does on PostgreSQL.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest by default)."""
    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(_alembic_config(engine), revision)


def is_up_to_date(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    heads = set(ScriptDirectory.from_config(_alembic_config(engine)).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads
