"""The durable job queue.

``enqueue`` is called inside the caller's write transaction, so a job exists exactly when the change
that caused it was committed. Workers claim one job at a time with a lease: on PostgreSQL the claim
is ``FOR UPDATE SKIP LOCKED`` (many workers, no double claims, no waiting on each other); on SQLite
the claim runs in a ``BEGIN IMMEDIATE`` transaction, which serializes claimers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.clock import utcnow
from portal.db import current_engine, fetch, insert_row, write_transaction
from portal.jobs.tables import Job

LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict
    attempts: int
    max_attempts: int


def backoff(attempts: int) -> timedelta:
    """Delay before retry N: 10 s, 20 s, 40 s … capped at one hour."""
    return timedelta(seconds=min(3600, 10 * 2 ** max(0, attempts - 1)))


async def enqueue(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    unique_key: str | None = None,
    max_attempts: int = 8,
) -> int | None:
    """Add a job; with ``unique_key`` a second enqueue of the same key is a no-op (returns None)."""
    now = utcnow()
    if unique_key is not None:
        rows = await fetch(
            "INSERT INTO job (kind, payload, run_at, attempts, max_attempts, locked_by, last_error, "
            "unique_key, created_at) VALUES ({}, {}, {}, 0, {}, '', '', {}, {}) "
            "ON CONFLICT (unique_key) DO NOTHING RETURNING id",
            kind,
            json.dumps(payload or {}),
            run_at or now,
            max_attempts,
            unique_key,
            now,
        )
        return rows[0]["id"] if rows else None
    return await insert_row(
        "job",
        {
            "kind": kind,
            "payload": json.dumps(payload or {}),
            "run_at": run_at or now,
            "max_attempts": max_attempts,
            "created_at": now,
        },
    )


_PG_CLAIM = (
    "UPDATE job SET locked_until = {}, locked_by = {}, attempts = attempts + 1 "
    "WHERE id = (SELECT id FROM job WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= {} "
    "AND (locked_until IS NULL OR locked_until < {}) ORDER BY run_at, id LIMIT 1 "
    "FOR UPDATE SKIP LOCKED) RETURNING id, kind, payload, attempts, max_attempts"
)
_SQLITE_CLAIM = _PG_CLAIM.replace(" FOR UPDATE SKIP LOCKED", "")


async def claim_next(worker_id: str, *, kinds: list[str] | None = None) -> ClaimedJob | None:
    now = utcnow()
    sql = _SQLITE_CLAIM if current_engine().engine_type == "sqlite" else _PG_CLAIM
    async with write_transaction():
        rows = await fetch(sql, now + LEASE, worker_id, now, now)
    if not rows:
        return None
    row = rows[0]
    payload = row["payload"]
    return ClaimedJob(
        id=row["id"],
        kind=row["kind"],
        payload=json.loads(payload) if isinstance(payload, str) else payload,
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
    )


async def complete(job: ClaimedJob, worker_id: str) -> bool:
    """Mark done; False when this worker no longer holds the job (its lease ran out)."""
    async with write_transaction():
        rows = (
            await Job.update({Job.done_at: utcnow(), Job.locked_until: None})
            .where((Job.id == job.id) & (Job.locked_by == worker_id) & Job.done_at.is_null())
            .returning(Job.id)
            .run()
        )
    return bool(rows)


async def fail(
    job: ClaimedJob, worker_id: str, error: str, on_give_up: Callable[[dict, str], Awaitable[None]] | None = None
) -> bool:
    """Schedule a retry with backoff, or give up after ``max_attempts``.

    Only the worker that still holds the lease may do either; the give-up hook runs in the same
    transaction as the update, so it runs exactly once and never for a job someone else finished.
    Returns True when the job was given up.
    """
    now = utcnow()
    give_up = job.attempts >= job.max_attempts
    changes: dict = {Job.last_error: error[:4000], Job.locked_until: None}
    if give_up:
        changes[Job.failed_at] = now
    else:
        changes[Job.run_at] = now + backoff(job.attempts)
    async with write_transaction():
        rows = (
            await Job.update(changes)
            .where((Job.id == job.id) & (Job.locked_by == worker_id) & Job.done_at.is_null() & Job.failed_at.is_null())
            .returning(Job.id)
            .run()
        )
        if rows and give_up and on_give_up is not None:
            await on_give_up(job.payload, error)
    return bool(rows) and give_up


async def pending_count() -> int:
    return await Job.count().where(Job.done_at.is_null() & Job.failed_at.is_null())


DONE_KEPT = timedelta(days=7)


async def purge_done(payload: dict[str, Any] | None = None) -> None:
    """Forget jobs finished more than a week ago (each received mail and each minute's IMAP poll
    is a job); failed ones stay for an admin to read."""
    async with write_transaction():
        await Job.delete().where(Job.done_at.is_not_null() & (Job.done_at < utcnow() - DONE_KEPT)).run()
