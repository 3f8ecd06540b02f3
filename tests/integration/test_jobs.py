"""The durable job queue on a real database: transactional enqueue, retries with backoff, giving up,
unique schedules, leases and concurrent workers (SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from portal.clock import utcnow
from portal.db import write_transaction
from portal.jobs import worker
from portal.jobs.queue import LEASE, backoff, claim_next, complete, enqueue, fail, pending_count
from portal.jobs.tables import Job
from portal.jobs.worker import GIVE_UP, HANDLERS, SCHEDULES, Schedule, drain, run_one, schedule_due


class Boom(RuntimeError):
    pass


@pytest.fixture
def register(app):
    """Register handlers under ``test.*`` kinds with the real registry; unregister them afterwards."""
    added: list[str] = []

    def register(kind: str, function, on_give_up=None):
        assert kind.startswith("test.")
        worker.register(kind, function, on_give_up)
        added.append(kind)
        return function

    yield register
    for kind in added:
        HANDLERS.pop(kind, None)
        GIVE_UP.pop(kind, None)


async def job_row(job_id: int) -> dict:
    row = await Job.select().where(Job.id == job_id).first()
    assert row is not None, f"job {job_id} does not exist"
    return row


async def make_due(job_id: int) -> None:
    """Move a retry's run_at into the past (instead of faking the clock)."""
    async with write_transaction():
        await Job.update({Job.run_at: utcnow() - timedelta(seconds=1)}).where(Job.id == job_id).run()


async def test_enqueue_is_part_of_the_callers_transaction(register):
    ran: list[dict] = []

    async def record(payload: dict) -> None:
        ran.append(payload)

    register("test.record", record)

    with pytest.raises(Boom):
        async with write_transaction():
            await enqueue("test.record", {"n": 1})
            await enqueue("test.record", {"n": 2}, unique_key="test.record@rolled-back")  # raw SQL path
            assert await Job.count() == 2  # visible inside the transaction
            raise Boom("the change that caused the job failed")
    assert await Job.count() == 0
    assert await drain("test-worker") == 0
    assert ran == []

    async with write_transaction():
        job_id = await enqueue("test.record", {"n": 3})
    assert job_id is not None
    row = await job_row(job_id)
    assert (row["kind"], row["attempts"], row["done_at"], row["failed_at"]) == ("test.record", 0, None, None)

    assert await drain("test-worker") == 1
    assert await drain("test-worker") == 0
    assert ran == [{"n": 3}]
    row = await job_row(job_id)
    assert row["done_at"] is not None and row["attempts"] == 1 and row["locked_until"] is None
    assert await pending_count() == 0


async def test_failing_job_is_retried_with_backoff_then_succeeds(register):
    calls: list[dict] = []

    async def flaky(payload: dict) -> None:
        calls.append(payload)
        if len(calls) <= 2:
            raise Boom(f"transient failure #{len(calls)}")

    register("test.flaky", flaky)
    async with write_transaction():
        job_id = await enqueue("test.flaky", {"id": 7})

    for attempt in (1, 2):
        before = utcnow()
        assert await drain("test-worker") == 1
        after = utcnow()
        row = await job_row(job_id)
        assert row["attempts"] == attempt
        assert row["done_at"] is None and row["failed_at"] is None and row["locked_until"] is None
        assert f"transient failure #{attempt}" in row["last_error"] and "Boom" in row["last_error"]
        # Pushed out by exactly the backoff for this attempt: 10 s, then 20 s.
        assert before + backoff(attempt) <= row["run_at"] <= after + backoff(attempt)
        assert row["run_at"] > utcnow()
        # Not due yet: nothing runs.
        assert await drain("test-worker") == 0
        assert len(calls) == attempt
        await make_due(job_id)

    assert await drain("test-worker") == 1
    row = await job_row(job_id)
    assert row["attempts"] == 3 and row["done_at"] is not None and row["failed_at"] is None
    assert calls == [{"id": 7}] * 3
    assert await drain("test-worker") == 0


def test_backoff_doubles_and_is_capped():
    assert [backoff(n).total_seconds() for n in (0, 1, 2, 3, 4)] == [10, 10, 20, 40, 80]
    assert backoff(50) == timedelta(hours=1)


async def test_job_that_always_fails_gives_up_after_max_attempts(register):
    calls: list[dict] = []
    given_up: list[tuple[dict, str]] = []

    async def broken(payload: dict) -> None:
        calls.append(payload)
        raise Boom("permanently broken")

    async def on_give_up(payload: dict, error: str) -> None:
        given_up.append((payload, error))

    register("test.broken", broken, on_give_up=on_give_up)
    async with write_transaction():
        job_id = await enqueue("test.broken", {"id": 1}, max_attempts=2)

    assert await drain("test-worker") == 1
    row = await job_row(job_id)
    assert row["attempts"] == 1 and row["failed_at"] is None and row["run_at"] > utcnow()
    assert given_up == []

    await make_due(job_id)
    assert await drain("test-worker") == 1
    row = await job_row(job_id)
    assert row["attempts"] == 2 and row["failed_at"] is not None and row["done_at"] is None
    assert "permanently broken" in row["last_error"]
    assert len(given_up) == 1
    assert given_up[0][0] == {"id": 1} and "permanently broken" in given_up[0][1]

    # Never claimed again, even when its run_at is in the past.
    await make_due(job_id)
    assert await claim_next("test-other") is None
    assert await drain("test-worker") == 0
    assert len(calls) == 2 and len(given_up) == 1
    assert (await job_row(job_id))["attempts"] == 2
    assert await pending_count() == 0


async def test_job_without_handler_fails_with_a_clear_error(app):
    async with write_transaction():
        job_id = await enqueue("test.nobody-handles-this", {}, max_attempts=1)
    assert await drain("test-worker") == 1
    row = await job_row(job_id)
    assert row["failed_at"] is not None and "no handler" in row["last_error"]


async def test_worker_that_lost_its_lease_does_not_fire_give_up(register):
    """A slow worker whose lease ran out while another worker took over and finished the job must not
    run the give-up hook for it (for mail that hook marks a delivered message 'failed')."""
    given_up: list[str] = []
    taken_over: list[int] = []
    job: dict = {}

    async def slow_then_fails(payload: dict) -> None:
        if not taken_over:
            # While this (first) worker is still busy, its lease runs out and another worker takes
            # the job over and completes it.
            async with write_transaction():
                await Job.update({Job.locked_until: utcnow() - timedelta(seconds=1)}).where(Job.id == job["id"]).run()
            other = await claim_next("test-w2")
            assert other is not None and other.id == job["id"]
            await complete(other, "test-w2")
            taken_over.append(other.id)
            raise Boom("the first worker fails late")

    async def on_give_up(payload: dict, error: str) -> None:
        given_up.append(error)

    register("test.slow", slow_then_fails, on_give_up=on_give_up)
    async with write_transaction():
        job_id = job["id"] = await enqueue("test.slow", {}, max_attempts=1)

    assert await run_one("test-w1") is True
    row = await job_row(job_id)
    assert row["done_at"] is not None and row["failed_at"] is None and row["locked_by"] == "test-w2"
    assert given_up == [], "on_give_up ran for a job that another worker completed"


async def test_schedule_due_creates_one_job_per_occurrence(app):
    now = datetime(2026, 11, 23, 22, 31, 5, 123456, tzinfo=UTC)
    kinds = [schedule.kind for schedule in SCHEDULES]
    assert len(set(kinds)) == len(kinds) >= 1
    periods = {schedule.kind: schedule.every for schedule in SCHEDULES}
    minutely = [kind for kind, every in periods.items() if every == timedelta(minutes=1)]

    await schedule_due(now)
    await schedule_due(now + timedelta(seconds=40))  # same minute: same occurrence for all
    await asyncio.gather(*(schedule_due(now) for _ in range(8)))  # concurrent workers

    rows = await Job.select(Job.kind, Job.run_at, Job.unique_key).order_by(Job.id)
    assert sorted(row["kind"] for row in rows) == sorted(kinds)
    for row in rows:
        expected = {
            timedelta(minutes=1): datetime(2026, 11, 23, 22, 31, tzinfo=UTC),
            timedelta(hours=1): datetime(2026, 11, 23, 22, 0, tzinfo=UTC),
            timedelta(days=1): datetime(2026, 11, 23, 0, 0, tzinfo=UTC),
        }[periods[row["kind"]]]
        assert row["run_at"] == expected
        assert row["unique_key"] == f"{row['kind']}@{expected.isoformat()}"

    # Ten minutes later only the minute schedules occur again; an hour later the hourly ones too.
    await schedule_due(now + timedelta(minutes=10))
    assert await Job.count() == len(kinds) + len(minutely)
    await asyncio.gather(schedule_due(now + timedelta(hours=1)), schedule_due(now + timedelta(hours=1)))
    hourly = sum(1 for schedule in SCHEDULES if schedule.every == timedelta(hours=1))
    assert await Job.count() == len(kinds) + 2 * len(minutely) + hourly


async def test_enqueue_with_unique_key_is_idempotent(app):
    first = await enqueue("test.unique", {"n": 1}, unique_key="test.unique@1")
    results = await asyncio.gather(*(enqueue("test.unique", {"n": 2}, unique_key="test.unique@1") for _ in range(5)))
    assert first is not None and results == [None] * 5
    rows = await Job.select(Job.id, Job.payload).where(Job.kind == "test.unique")
    assert [row["id"] for row in rows] == [first]


def test_schedule_occurrence_aligns_to_the_period():
    hourly = Schedule("test.hourly", timedelta(hours=1))
    quarter = Schedule("test.quarter", timedelta(minutes=15))
    daily = Schedule("test.daily", timedelta(days=1))
    now = datetime(2026, 11, 23, 22, 31, 5, 999999, tzinfo=UTC)
    assert hourly.occurrence(now) == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert quarter.occurrence(now) == datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    assert daily.occurrence(now) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    # Exactly on a boundary, the occurrence is that boundary.
    assert hourly.occurrence(datetime(2026, 11, 23, 22, 0, tzinfo=UTC)) == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    # Every worker gets the same instant whatever its time zone.
    india = timezone(timedelta(hours=5, minutes=30))
    assert hourly.occurrence(now.astimezone(india)) == hourly.occurrence(now)


async def test_four_concurrent_workers_run_each_job_exactly_once(register):
    ran: list[int] = []

    async def record(payload: dict) -> None:
        await asyncio.sleep(0.002)  # a job takes a moment: the other workers claim meanwhile
        ran.append(payload["n"])

    register("test.many", record)
    async with write_transaction():
        ids = [await enqueue("test.many", {"n": n}) for n in range(100)]
    assert len(set(ids)) == 100

    async def loop(worker_id: str) -> int:
        count = 0
        while await run_one(worker_id):
            count += 1
        return count

    counts = await asyncio.wait_for(asyncio.gather(*(loop(f"test-worker-{i}") for i in range(4))), timeout=60)

    assert sorted(ran) == list(range(100)), "some job ran twice or never"
    assert sum(counts) == 100
    rows = await Job.select(Job.done_at, Job.failed_at, Job.attempts, Job.locked_by).where(Job.kind == "test.many")
    assert len(rows) == 100
    assert all(row["done_at"] is not None and row["failed_at"] is None and row["attempts"] == 1 for row in rows)
    assert len({row["locked_by"] for row in rows}) >= 2, "the workers did not actually run concurrently"
    assert await pending_count() == 0


async def test_expired_lease_is_claimed_again_but_live_lease_is_not(app):
    async with write_transaction():
        job_id = await enqueue("test.lease", {})

    start = utcnow()
    first = await claim_next("test-w1")
    assert first is not None and first.id == job_id and first.attempts == 1
    row = await job_row(job_id)
    assert row["locked_by"] == "test-w1"
    assert start + LEASE - timedelta(seconds=5) <= row["locked_until"] <= utcnow() + LEASE

    assert await claim_next("test-w2") is None  # live lease
    assert (await job_row(job_id))["attempts"] == 1

    # Worker 1 died: its lease runs out.
    async with write_transaction():
        await Job.update({Job.locked_until: utcnow() - timedelta(seconds=1)}).where(Job.id == job_id).run()
    second = await claim_next("test-w2")
    assert second is not None and second.id == job_id and second.attempts == 2
    assert (await job_row(job_id))["locked_by"] == "test-w2"
    assert await claim_next("test-w3") is None

    # The stale worker waking up late cannot complete or fail a job it no longer holds.
    await complete(first, "test-w1")
    await fail(first, "test-w1", "late failure")
    row = await job_row(job_id)
    assert row["done_at"] is None and row["failed_at"] is None and row["last_error"] == ""

    await complete(second, "test-w2")
    row = await job_row(job_id)
    assert row["done_at"] is not None and row["locked_until"] is None
    assert await claim_next("test-w3") is None


async def test_jobs_not_yet_due_are_not_claimed(app):
    now = utcnow()
    async with write_transaction():
        later = await enqueue("test.later", {}, run_at=now + timedelta(minutes=1))
    assert await claim_next("test-worker") is None
    assert await drain("test-worker") == 0
    row = await job_row(later)
    assert row["attempts"] == 0 and row["locked_by"] == "" and row["locked_until"] is None

    # Due jobs are claimed oldest run_at first, not by id.
    async with write_transaction():
        newer = await enqueue("test.due", {}, run_at=now - timedelta(seconds=1))
        older = await enqueue("test.due", {}, run_at=now - timedelta(minutes=5))
    assert (await claim_next("test-worker")).id == older
    assert (await claim_next("test-worker")).id == newer
    assert await claim_next("test-worker") is None
    assert (await job_row(later))["attempts"] == 0
