"""The engine guards of portal/db.py against Piccolo 1.38's leaks, and write_transaction's locking:
a failed BEGIN on SQLite must close its connection (and thread); a failed COMMIT on PostgreSQL must
give the connection back to the pool; concurrent read-modify-write blocks must serialize."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import asyncpg
import pytest
from piccolo.engine.sqlite import TransactionType
from piccolo.querystring import QueryString

from portal import db
from portal.db import PortalPostgresEngine, PortalSQLiteEngine, fetch, write_transaction


def only(engine_name: str, wanted: str) -> None:
    if engine_name != wanted:
        pytest.skip(f"{wanted} only")


async def settled_thread_count(at_most: int | None = None, wait: float = 2.0) -> int:
    """Thread count once finishing aiosqlite threads have exited (they stop just after close())."""
    deadline = time.monotonic() + wait
    count = threading.active_count()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        count = threading.active_count()
        if at_most is not None and count <= at_most:
            break
    return count


@pytest.fixture
async def scratch_counter(app):
    await fetch("DROP TABLE IF EXISTS scratch_counter")
    await fetch("CREATE TABLE scratch_counter (id integer PRIMARY KEY, n integer NOT NULL)")
    await fetch("INSERT INTO scratch_counter (id, n) VALUES (1, 0)")
    yield
    await fetch("DROP TABLE IF EXISTS scratch_counter")


async def counter() -> int:
    [row] = await fetch("SELECT n FROM scratch_counter WHERE id = 1")
    return row["n"]


async def test_sqlite_failed_begin_closes_the_connection_and_its_thread(app, settings, engine_name):
    only(engine_name, "sqlite")
    path = str(db.sqlite_path(settings.database_url))
    engine = PortalSQLiteEngine(path=path, timeout=0.1)
    holder = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        before = await settled_thread_count(wait=0.3)
        for _ in range(5):
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                async with engine.transaction(transaction_type=TransactionType.immediate):
                    pytest.fail("entered a write transaction while another connection holds the lock")
            assert engine.current_transaction.get() is None
        after = await settled_thread_count(at_most=before)
        assert after <= before, f"{after - before} aiosqlite connection thread(s) leaked by failed BEGINs"
    finally:
        holder.rollback()
        holder.close()

    # Once the lock is released the same engine works again.
    async with engine.transaction(transaction_type=TransactionType.immediate):
        rows = await engine.run_querystring(QueryString("SELECT count(*) AS n FROM job"))
    assert rows == [{"n": 0}]


async def test_sqlite_failed_commit_closes_the_connection(app, settings, engine_name):
    only(engine_name, "sqlite")
    path = str(db.sqlite_path(settings.database_url))
    engine = PortalSQLiteEngine(path=path, timeout=5)
    await engine._run_in_new_connection("CREATE TABLE leaktest_parent (id integer PRIMARY KEY)")
    await engine._run_in_new_connection(
        "CREATE TABLE leaktest_child (parent integer REFERENCES leaktest_parent (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    before = await settled_thread_count(wait=0.3)
    for _ in range(5):
        body_done = False
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            async with engine.transaction(transaction_type=TransactionType.immediate):
                await engine.run_querystring(QueryString("INSERT INTO leaktest_child (parent) VALUES (42)"))
                body_done = True
        assert body_done, "the violation must surface at COMMIT, not before"
    after = await settled_thread_count(at_most=before)
    assert after <= before, f"{after - before} aiosqlite connection thread(s) leaked by failed COMMITs"
    # Nothing was committed and the write lock is free again (a leaked open transaction would hold it).
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        assert other.execute("SELECT count(*) FROM leaktest_child").fetchone() == (0,)
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_postgres_failed_commit_gives_the_connection_back(app, settings, engine_name):
    only(engine_name, "postgres")
    await fetch("DROP TABLE IF EXISTS leaktest_commit")
    await fetch(
        "CREATE TABLE leaktest_commit (id integer, "
        "CONSTRAINT leaktest_commit_id_uq UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    engine = PortalPostgresEngine(config={"dsn": settings.database_url})
    await engine.start_connection_pool(min_size=1, max_size=2)
    pool = engine.pool
    try:
        for _ in range(10):
            body_done = False

            async def duplicate_at_commit() -> None:
                nonlocal body_done
                async with engine.transaction():
                    await engine.run_querystring(QueryString("INSERT INTO leaktest_commit (id) VALUES (1)"))
                    await engine.run_querystring(QueryString("INSERT INTO leaktest_commit (id) VALUES (1)"))
                    body_done = True

            with pytest.raises(asyncpg.UniqueViolationError):
                # A leaked connection would make the third acquire wait forever on a pool of 2.
                await asyncio.wait_for(duplicate_at_commit(), timeout=5)
            assert body_done, "the violation must surface at COMMIT, not before"
            assert engine.current_transaction.get() is None

        assert pool.get_size() <= 2
        assert pool.get_idle_size() == pool.get_size(), "a connection was never released to the pool"
        rows = await asyncio.wait_for(
            engine.run_querystring(QueryString("SELECT count(*) AS n FROM leaktest_commit")), timeout=5
        )
        assert [dict(row) for row in rows] == [{"n": 0}]
        async with engine.transaction():
            await engine.run_querystring(QueryString("INSERT INTO leaktest_commit (id) VALUES (2)"))
        rows = await engine.run_querystring(QueryString("SELECT id FROM leaktest_commit"))
        assert [dict(row) for row in rows] == [{"id": 2}]
    finally:
        try:
            await asyncio.wait_for(pool.close(), timeout=5)
        except TimeoutError:
            pool.terminate()
            pytest.fail("closing the pool hung: a connection was never released")
        finally:
            await fetch("DROP TABLE IF EXISTS leaktest_commit")


async def test_sqlite_write_transaction_takes_the_write_lock_at_begin(app, settings, engine_name):
    only(engine_name, "sqlite")
    path = str(db.sqlite_path(settings.database_url))
    async with write_transaction():
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


async def test_sqlite_concurrent_read_then_write_blocks_both_succeed(scratch_counter, engine_name):
    only(engine_name, "sqlite")

    async def bump() -> int:
        async with write_transaction():
            n = await counter()
            await asyncio.sleep(0.05)  # the other block starts meanwhile
            await fetch("UPDATE scratch_counter SET n = {} WHERE id = 1", n + 1)
            return n + 1

    results = await asyncio.wait_for(asyncio.gather(bump(), bump(), return_exceptions=True), timeout=30)
    assert sorted(results) == [1, 2], results  # no 'database is locked', no lost update
    assert await counter() == 2


async def test_fifty_concurrent_increments_all_count(scratch_counter, engine_name):
    # SQLite: BEGIN IMMEDIATE serializes the blocks. PostgreSQL (READ COMMITTED): the row lock taken
    # by FOR UPDATE is held until write_transaction commits.
    lock = " FOR UPDATE" if engine_name == "postgres" else ""

    async def increment() -> int:
        async with write_transaction():
            [row] = await fetch("SELECT n FROM scratch_counter WHERE id = 1" + lock)
            await asyncio.sleep(0)
            await fetch("UPDATE scratch_counter SET n = {} WHERE id = 1", row["n"] + 1)
            return row["n"] + 1

    results = await asyncio.wait_for(asyncio.gather(*(increment() for _ in range(50))), timeout=60)
    assert sorted(results) == list(range(1, 51))
    assert await counter() == 50
