"""Database engines and schema upgrades."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")


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


class Autocommit(NamedTuple):
    """A pooled driver connection outside any transaction: a statement run on it by a
    :class:`DriverStatement` commits by itself. For a lone write (a reply recorded as sent)
    that saves the BEGIN and COMMIT around it, two round trips of three on PostgreSQL."""

    dialect: Dialect
    connection: PoolProxiedConnection


@contextmanager
def autocommit(engine: Engine) -> Iterator[Autocommit]:
    """A connection of `engine`'s pool on which each statement is its own transaction."""
    try:
        raw = engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as error:  # as Engine.connect() raises it
        raise DBAPIError.instance(None, None, error, engine.dialect.loaded_dbapi.Error) from error
    postgres = engine.dialect.name == "postgresql"  # SQLite's driver is so already
    try:
        if postgres:
            raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        yield Autocommit(engine.dialect, raw)
        if postgres:
            raw.driver_connection.autocommit = False  # type: ignore[union-attr]
    except BaseException as error:
        orig = getattr(error, "orig", None)
        lost = orig is not None and engine.dialect.is_disconnect(orig, raw.driver_connection, None)
        raw.invalidate()  # it may be broken: not back to the pool
        if lost:  # the server restarted: the pool's other connections are cut too
            engine.dispose()  # (what SQLAlchemy does itself on a lost connection)
        raise
    finally:
        raw.close()


class DriverStatement:
    """A Core statement compiled once per dialect (and set of parameter names) and run on the
    driver's cursor of the caller's connection, so in its transaction.

    For the statements every turn runs (read and write the conversation, add its replies to
    the outbox): through ``Connection.execute`` each spends ~35-55 µs in SQLAlchemy's
    per-execution machinery, here ~10 µs (measured per statement on SQLite; the turn's gain
    shows in ``python -m benchmarks.dialog``). Values are
    converted by the statement's own bind and result processors (JSON with the engine's
    serializer, UTC timestamps, booleans), and driver errors raised as Core raises them. An
    INSERT gives back what its RETURNING names, through :meth:`first`. These
    statements are not in SQLAlchemy's echo log, and a statement used with several sets of
    parameter names (an UPDATE of different columns) is compiled once for each.
    """

    def __init__(self, statement: Any) -> None:
        self._statement = statement
        self._compiled: dict[tuple[Dialect, tuple[str, ...]], _Compiled] = {}

    def _for(self, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
        found = self._compiled.get((dialect, keys))
        if found is None:
            statement = self._statement
            compiled = statement.compile(dialect=dialect, column_keys=list(keys))
            binds = {}
            for name, bind in compiled.binds.items():
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    binds[name] = processor
            results = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in getattr(statement, "exported_columns", ())
            )
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            # Values written into the statement (a status it filters on), not given per call.
            fixed = {n: b.effective_value for n, b in compiled.binds.items() if n not in keys}
            found = _Compiled(compiled, order, binds, results, fixed)
            self._compiled[(dialect, keys)] = found
        return found

    def _run(
        self,
        connection: Connection | Autocommit,
        values: dict[str, Any],
        fetch: Callable[[Any, _Compiled], T],
    ) -> T:
        compiled = self._for(connection.dialect, tuple(values))
        params = compiled.fixed | values
        for name, processor in compiled.binds.items():
            params[name] = processor(params[name])
        parameters = params if compiled.order is None else tuple(params[n] for n in compiled.order)
        dbapi_error = connection.dialect.loaded_dbapi.Error
        sql = compiled.statement.string
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, parameters)
            return fetch(cursor, compiled)
        except dbapi_error as error:  # as Core raises it: IntegrityError for a duplicate key
            raise DBAPIError.instance(sql, parameters, error, dbapi_error) from error
        finally:
            cursor.close()

    def first(
        self, connection: Connection | Autocommit, values: dict[str, Any]
    ) -> tuple[Any, ...] | None:
        """The first row of a SELECT (or what an INSERT returns), its values converted, or
        None."""
        return self._run(connection, values, _first_row)

    def execute(self, connection: Connection | Autocommit, values: dict[str, Any]) -> int:
        """Run an UPDATE or DELETE; the number of rows it changed."""
        return self._run(connection, values, lambda cursor, _: int(cursor.rowcount))


@dataclass(frozen=True, slots=True)
class _Compiled:
    statement: Any  # the dialect's Compiled
    order: tuple[str, ...] | None  # the parameters' order, for a positional paramstyle
    binds: dict[str, Any]
    results: tuple[Any, ...]
    fixed: dict[str, Any]


def _first_row(cursor: Any, compiled: _Compiled) -> tuple[Any, ...] | None:
    row = cursor.fetchone()
    if row is None:
        return None
    pairs = zip(compiled.results, row, strict=True)
    return tuple(process(value) if process is not None else value for process, value in pairs)


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
    # On the driver itself: every turn begins one, and this is SQLAlchemy's event for it.
    connection.connection.driver_connection.execute("BEGIN IMMEDIATE")


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # alembic and the scripts: 0.25 s of every start

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest by default); nothing to load when it is
    there already."""
    if revision == "head" and is_up_to_date(engine):
        return
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def head_revision() -> str:
    """The newest migration's revision: the number its file name starts with (a test checks
    that it is alembic's one head)."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("0*.py"))


def is_up_to_date(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        current = {
            row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))
        }
    return current == {head_revision()}
