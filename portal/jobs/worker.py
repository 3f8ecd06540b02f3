"""Runs jobs: handler registry, recurring schedules, and the polling loop.

The registry knows handlers by kind only: this module imports no domain. ``portal.job_handlers``
lists every kind and its handler in one place and registers them when the app or ``portal worker``
starts.

The same loop runs inside each app process (PORTAL_WORKER=inprocess, the default) or in separate
``portal worker`` processes. Recurring schedules insert one job per occurrence under a unique key,
so any number of workers schedule each occurrence exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.clock import utcnow
from portal.jobs import queue

log = logging.getLogger("portal.jobs")

Handler = Callable[[dict], Awaitable[None]]
GiveUp = Callable[[dict, str], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}
GIVE_UP: dict[str, GiveUp] = {}


def register(kind: str, function: Handler, on_give_up: GiveUp | None = None) -> None:
    """Run ``function`` for jobs of ``kind``; ``on_give_up`` runs once retries are exhausted."""
    HANDLERS[kind] = function
    if on_give_up:
        GIVE_UP[kind] = on_give_up
    else:
        GIVE_UP.pop(kind, None)


@dataclass(frozen=True)
class Schedule:
    kind: str
    every: timedelta

    def occurrence(self, now: datetime) -> datetime:
        """The start of the current period, aligned to the epoch (same for every worker)."""
        seconds = int(self.every.total_seconds())
        return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=now.tzinfo)


SCHEDULES: list[Schedule] = [
    Schedule("accounts.purge_tokens", timedelta(hours=1)),
    Schedule("jobs.purge_done", timedelta(days=1)),
    Schedule("mail.redact_delivered", timedelta(hours=1)),
    Schedule("mailin.imap_poll", timedelta(minutes=1)),
    Schedule("stores.purge_expired", timedelta(hours=1)),
    Schedule("tickets.close_solved", timedelta(hours=1)),
    Schedule("tickets.purge_links", timedelta(days=1)),
]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


async def schedule_due(now: datetime | None = None) -> None:
    now = now or utcnow()
    for schedule in SCHEDULES:
        at = schedule.occurrence(now)
        await queue.enqueue(schedule.kind, {}, run_at=at, unique_key=f"{schedule.kind}@{at.isoformat()}")


async def run_one(worker_id: str) -> bool:
    """Claim and run one due job. Returns False when nothing was due (a kind nobody registered
    fails like any error, and is retried)."""
    job = await queue.claim_next(worker_id)
    if job is None:
        return False
    function = HANDLERS.get(job.kind)
    try:
        if function is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        await function(job.payload)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
        log.warning("job %s (%s) failed, attempt %s: %s", job.id, job.kind, job.attempts, exc)
        error = "".join(traceback.format_exception_only(exc)).strip()
        await queue.fail(job, worker_id, error, GIVE_UP.get(job.kind))
    else:
        if not await queue.complete(job, worker_id):
            log.warning("job %s (%s) finished after its lease ran out; another worker may run it", job.id, job.kind)
    return True


async def drain(worker_id: str | None = None, limit: int = 1000) -> int:
    """Run due jobs until none is left (or ``limit``); returns how many ran. Used by tests and CLI."""
    worker_id = worker_id or worker_name()
    count = 0
    while count < limit and await run_one(worker_id):
        count += 1
    return count


_running: set[Worker] = set()
LANES = 4  # jobs one worker runs at once


def wake_workers() -> None:
    """Wake this process's workers now (a job was just committed that should not wait for the poll)."""
    for worker in _running:
        worker.notify()


class Worker:
    def __init__(self, poll_seconds: float = 1.0, worker_id: str | None = None, lanes: int = LANES) -> None:
        self.lanes = lanes
        self.poll_seconds = poll_seconds
        self.worker_id = worker_id or worker_name()
        self.wakeup = asyncio.Event()
        self.stopping = asyncio.Event()
        self.processed = 0

    def notify(self) -> None:
        self.wakeup.set()

    async def _lane(self) -> None:
        """Run due jobs one after another until none is left. A worker runs ``lanes`` of these at
        once: while one job waits on the disk or the network (a commit, an SMTP server, a mail's
        parse in its thread), another gets on. Each job is still claimed once (SKIP LOCKED on
        PostgreSQL, one writer at a time on SQLite)."""
        while not self.stopping.is_set() and await run_one(self.worker_id):
            self.processed += 1

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.set()

    async def run(self) -> None:
        _running.add(self)
        try:
            await self._loop()
        finally:
            _running.discard(self)

    async def _loop(self) -> None:
        last_schedule = None
        while not self.stopping.is_set():
            try:
                now = utcnow()
                if last_schedule is None or now - last_schedule > timedelta(minutes=1):
                    await schedule_due(now)
                    last_schedule = now
                await asyncio.gather(*(self._lane() for _ in range(self.lanes)))
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the loop
                log.exception("job worker loop error; retrying")
            self.wakeup.clear()
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
