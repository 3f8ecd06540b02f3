"""Database engines, the one write-transaction helper, and migrations.

SQLite is the embedded default: WAL, a 30 s busy timeout, and every write transaction opened with
``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing on lock upgrade. PostgreSQL uses
an asyncpg pool opened and closed in the app lifespan.

Piccolo 1.38 leaks a connection (and, on SQLite, a non-daemon thread) when ``BEGIN`` or ``COMMIT``
raises; the ``Safe*Transaction`` classes below close or release in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import urlsplit

import aiosqlite
from piccolo.columns import Column
from piccolo.columns.combination import Where
from piccolo.custom_types import Combinable
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.query import Delete, Update
from piccolo.querystring import QueryString
from piccolo.table import Table

from portal.errors import NotFound

if TYPE_CHECKING:
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager
    from piccolo.apps.migrations.tables import Migration

SQLITE_BUSY_TIMEOUT_SECONDS = 30

# Statements run in the current request (or other unit of work), for everyone counting: blocks
# nest (a test counting around a request, the request's own Server-Timing count inside it).
_query_counters: contextvars.ContextVar[tuple[list[int], ...]] = contextvars.ContextVar("query_counters", default=())


@contextlib.contextmanager
def count_queries() -> Iterator[list[int]]:
    """Count the SQL statements run inside the block (tests, the Server-Timing header)."""
    counter = [0]
    reset = _query_counters.set((*_query_counters.get(), counter))
    try:
        yield counter
    finally:
        _query_counters.reset(reset)


def _counted() -> None:
    for counter in _query_counters.get():
        counter[0] += 1


class _GivesBackConnection:
    """What both engines' transactions share: open, and on leaving commit or roll back, but hand
    the connection back (``_give_back``) whatever ``BEGIN``, ``COMMIT`` or ``ROLLBACK`` raised."""

    __slots__ = ()

    if TYPE_CHECKING:  # attributes and methods of the Piccolo transaction this is mixed into
        _parent: Any
        _committed: bool
        _rolled_back: bool
        connection: Any
        context: Any
        engine: Any

        async def get_connection(self) -> Any: ...
        async def begin(self) -> None: ...
        async def commit(self) -> None: ...
        async def rollback(self) -> None: ...

    def _prepare(self) -> None:
        """Anything the engine needs between taking the connection and ``BEGIN``."""

    async def _give_back(self, clean: bool) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Any:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        self._prepare()
        try:
            await self.begin()
        except BaseException:
            await self._give_back(clean=False)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if self._parent:
            return exception is None
        clean = False
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
            clean = True
        finally:
            await self._give_back(clean)
            self.engine.current_transaction.reset(self.context)
        return exception is None


class SafeSQLiteTransaction(_GivesBackConnection, SQLiteTransaction):
    """On SQLite only one writer works at a time. Writers of one process queue on the engine's
    lock (in order, woken the moment it is free) rather than in SQLite's busy handler, which polls
    with sleeps of up to 100 ms: with several jobs and requests writing at once, that turned a
    queue of 2 ms transactions into one of tens of milliseconds. Other processes still meet in
    SQLite's busy handler."""

    engine: PortalSQLiteEngine  # only PortalSQLiteEngine.transaction() makes these
    _holds_writer_lock = False

    async def __aenter__(self) -> Any:
        if self._parent is None and self.transaction_type == TransactionType.immediate:
            await self.engine.writer.acquire()
            self._holds_writer_lock = True
        try:
            return await super().__aenter__()
        except BaseException:
            self._let_go()
            raise

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        try:
            return await super().__aexit__(exception_type, exception, traceback)
        finally:
            self._let_go()

    def _let_go(self) -> None:
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            self.engine.writer.release()

    async def _give_back(self, clean: bool) -> None:
        """Back to the engine's idle connections when clean, else closed."""
        await self.engine.release(self.connection, reusable=clean)


class SafePostgresTransaction(_GivesBackConnection, PostgresTransaction):
    def _prepare(self) -> None:
        self.transaction = self.connection.transaction()

    async def _give_back(self, clean: bool) -> None:
        """Back to the pool (which resets it) whatever happened, or closed without one."""
        if self.engine.pool:
            await self.engine.pool.release(self.connection)
        else:
            await self.connection.close()


class PortalSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine opens a connection (and a thread) for every query or transaction,
    ~5 ms each here. This one keeps a few idle connections for reuse. Only a connection that left
    its last statement or transaction cleanly goes back; the rest are closed. ``close_pool`` must
    run at shutdown: aiosqlite threads are not daemons and would keep the process alive."""

    POOL_SIZE = 8

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle: list[aiosqlite.Connection] = []
        self.writer = asyncio.Lock()  # this process's one SQLite writer at a time

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        return SafeSQLiteTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def get_connection(self) -> aiosqlite.Connection:
        if self._idle:
            return self._idle.pop()
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]  # typed as a class; sqlite3 takes any callable
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def release(self, connection: aiosqlite.Connection, reusable: bool = True) -> None:
        if reusable and not connection.in_transaction and len(self._idle) < self.POOL_SIZE:
            self._idle.append(connection)
        else:
            await connection.close()

    async def close_pool(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False) -> Any:
        _counted()
        return await super().run_querystring(querystring, in_pool)

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        connection = await self.get_connection()
        clean = False
        try:
            async with connection.execute(query, args or []) as cursor:
                await connection.commit()
                rows = await cursor.fetchall()
            clean = True
            return rows
        finally:
            await self.release(connection, reusable=clean)


class PortalPostgresEngine(PostgresEngine):
    async def run_querystring(self, querystring: QueryString, in_pool: bool = True) -> Any:
        _counted()
        return await super().run_querystring(querystring, in_pool)

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return SafePostgresTransaction(engine=self, allow_nested=allow_nested)


def sqlite_path(database_url: str) -> Path:
    """``sqlite:///var/x.db`` is relative to the working directory; ``sqlite:////abs`` is absolute."""
    return Path(database_url.removeprefix("sqlite:///"))


def make_engine(database_url: str) -> Engine[Any]:
    scheme = urlsplit(database_url).scheme
    if scheme == "sqlite":
        path = sqlite_path(database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return PortalSQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
    if scheme in {"postgres", "postgresql"}:
        return PortalPostgresEngine(config={"dsn": database_url})
    raise ValueError(f"PORTAL_DATABASE_URL must start with sqlite:/// or postgresql://, not {scheme!r}")


# The engine ``use_engine`` chose. Piccolo's configuration module (``PICCOLO_CONF``, that is
# ``portal.piccolo_conf``) builds its ``DB`` with ``make_engine``; this module reaches it through
# Piccolo's own finder rather than importing it, so the two do not import each other.
_engine: Engine[Any] | None = None


def current_engine() -> Engine[Any]:
    """The engine every query of the app runs on: the one ``use_engine`` set, else Piccolo's ``DB``."""
    if _engine is not None:
        return _engine
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    if engine is None:
        raise RuntimeError("no database engine: PICCOLO_CONF names no module with a DB")
    return engine


def is_sqlite(engine: Engine[Any] | None = None) -> bool:
    return (engine or current_engine()).engine_type == "sqlite"


def use_engine(engine: Engine[Any]) -> None:
    """Point Piccolo's config and every table of the app (tables cache their engine) at ``engine``."""
    from piccolo.apps.migrations.tables import Migration
    from piccolo.conf.apps import Finder

    from portal.piccolo_app import APP_CONFIG

    global _engine
    _engine = engine
    conf = Finder().get_piccolo_conf_module()
    if conf is not None:
        conf.DB = engine  # Piccolo's migrations find the engine there
    tables: list[type[Table]] = [*APP_CONFIG.table_classes, Migration]
    for table in tables:
        table._meta.db = engine


# A transaction as its users see it: an ``async with`` block. (Piccolo's classes type ``__aexit__``
# as returning bool, which would tell the type checker that a block may swallow its exceptions.)
Transaction: TypeAlias = AbstractAsyncContextManager[Any]


def write_transaction() -> Transaction:
    """The transaction every write goes through: IMMEDIATE on SQLite, plain on PostgreSQL."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    transaction: Transaction = engine.transaction()
    return transaction


def read_together() -> Transaction:
    """Several reads on one connection: SQLite opens a connection and a thread per query outside a
    transaction (1–4 ms each); a DEFERRED transaction takes no write lock and, under WAL, blocks no one."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.deferred)
    transaction: Transaction = engine.transaction()
    return transaction


async def open_engine(engine: Engine[Any], pool_size: int = 10) -> None:
    if isinstance(engine, SQLiteEngine):
        # WAL is a property of the file: set once, kept by every later connection.
        await engine._run_in_new_connection("PRAGMA journal_mode=WAL")
    elif isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=pool_size)


async def close_engine(engine: Engine[Any]) -> None:
    if isinstance(engine, PortalSQLiteEngine):
        await engine.close_pool()
    elif isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


def ilike(column: Column, pattern: str) -> Where:
    """Case-insensitive LIKE on both engines (SQLite's LIKE already ignores ASCII case)."""
    return column.like(pattern) if is_sqlite() else column.ilike(pattern)


def required_row(row: dict[str, Any] | None) -> dict[str, Any]:
    """A row the caller knows is there (read by the key of a row just read or written, or one a
    foreign key keeps alive): ``.first()`` types every answer as optional, this says it is not."""
    if row is None:
        raise LookupError("a row that must exist is missing")
    return row


async def change_one(query: Update[Any] | Delete, missing: str) -> None:
    """Run an update or delete that is meant to touch a row; ``NotFound(missing)`` when its
    condition matched none (the row is gone, or it is not the actor's to change)."""
    if not await query.returning(query.table._meta.primary_key).run():
        raise NotFound(missing)


async def taken(column: Column, value: Any, *, other_than: int | None = None) -> bool:
    """Whether a row, other than the one with id ``other_than`` (the one being edited), already
    holds ``value`` in ``column``: a name that must stay unique, checked to answer with a message."""
    clash: Combinable = column == value
    if other_than is not None:
        clash &= column._meta.table._meta.primary_key != other_than
    exists: bool = await column._meta.table.exists().where(clash)
    return exists


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Raw SQL with ``{}`` placeholders (Piccolo's portable style); one statement per call."""
    from portal.accounts.tables import User  # any table bound to the current engine

    rows: list[dict[str, Any]] = await User.raw(sql, *args)
    return rows


async def insert_row(table: str, values: Mapping[str, Any]) -> int:
    """Insert one row by plain SQL and return its id. For the hot write paths (a mail's ticket,
    message, outbox row and jobs): building a Piccolo insert, with an instance of a wide table,
    costs more CPU than running it. Unnamed columns take the defaults the migrations declared."""
    columns = ", ".join(f'"{name}"' for name in values)
    marks = ", ".join("{}" for _ in values)
    rows = await fetch(f'INSERT INTO "{table}" ({columns}) VALUES ({marks}) RETURNING id', *values.values())
    return int(rows[0]["id"])


async def fetch_rows(sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Like ``fetch`` but rows come back as plain tuples, with no per-row dict or type conversion:
    for hot reads of thousands of rows (a month of appointments), where Piccolo's row handling
    costs several times the query. Runs in the current transaction when there is one."""
    _counted()
    engine = current_engine()
    transaction = engine.current_transaction.get()
    if isinstance(engine, PortalSQLiteEngine):
        query, values = QueryString(sql, *args).compile_string(engine_type="sqlite")
        if transaction is not None:
            return await _sqlite_tuples(transaction.connection, query, values)
        connection = await engine.get_connection()
        clean = False
        try:
            rows = await _sqlite_tuples(connection, query, values)
            clean = True
            return rows
        finally:
            await engine.release(connection, reusable=clean)
    if not isinstance(engine, PostgresEngine):
        raise TypeError(f"fetch_rows runs on the portal's SQLite engine or on PostgreSQL, not {type(engine).__name__}")
    query, values = QueryString(sql, *args).compile_string(engine_type="postgres")
    records: list[tuple[Any, ...]]  # asyncpg Records (untyped), read by index and unpacked like tuples
    if transaction is not None:
        records = await transaction.connection.fetch(query, *values)
        return records
    if engine.pool is None:
        raise RuntimeError("the PostgreSQL pool is not open (open_engine opens it)")
    async with engine.pool.acquire() as connection:
        records = await connection.fetch(query, *values)
        return records


async def _sqlite_tuples(connection: aiosqlite.Connection, query: str, values: list[Any]) -> list[tuple[Any, ...]]:
    async with connection.execute(query, values) as cursor:
        cursor.row_factory = None
        return cast("list[tuple[Any, ...]]", list(await cursor.fetchall()))  # no row factory: plain tuples


def raw_sql_migration(
    migration_id: str,
    description: str,
    statements: list[str],
    *,
    sqlite: Sequence[str] = (),
    postgres: Sequence[str] = (),
) -> Callable[[], Awaitable[MigrationManager]]:
    """A ``forwards`` for a hand-written migration of portable SQL statements, run one per call
    (asyncpg takes one statement at a time) inside the migration's transaction; ``sqlite`` and
    ``postgres`` statements run after them on that engine only (triggers, full-text search)."""
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager
    from piccolo.engine import engine_finder

    async def forwards() -> MigrationManager:
        manager = MigrationManager(migration_id=migration_id, app_name="portal", description=description)

        async def run() -> None:
            engine = engine_finder()
            if engine is None:
                raise RuntimeError("no database engine: PICCOLO_CONF names no module with a DB")
            extra = sqlite if engine.engine_type == "sqlite" else postgres
            for statement in [*statements, *extra]:
                await engine.run_querystring(QueryString(statement))

        manager.add_raw(run)
        return manager

    return forwards


async def migrate(verbose: bool = True) -> list[str]:
    """Run every pending migration of the ``portal`` app; return the ids it applied."""
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
    from piccolo.apps.migrations.tables import Migration

    before = set(await _ran_migrations(Migration))
    output = io.StringIO()
    redirect = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(output)
    with redirect:
        result = await ForwardsMigrationManager(app_name="portal").run()
    if not result.success:
        raise RuntimeError(f"Migrations failed: {result.message}\n{output.getvalue()}")
    after = set(await _ran_migrations(Migration))
    return sorted(after - before)


async def _ran_migrations(migration_table: type[Migration]) -> list[str]:
    if not await migration_table.table_exists().run():
        return []
    return await migration_table.get_migrations_which_ran(app_name="portal")


@contextlib.asynccontextmanager
async def engine_open(engine: Engine[Any], pool_size: int = 10) -> AsyncIterator[Engine[Any]]:
    await open_engine(engine, pool_size)
    try:
        yield engine
    finally:
        await close_engine(engine)
