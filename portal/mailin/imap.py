"""IMAP intake: mailboxes whose mail waits on an IMAP server (Microsoft 365, Gmail, any host).

Two ways to run it, one per deployment:
- ``poll_all()``, a job every minute: one round per active IMAP mailbox (connect, take, log out);
- ``idle_forever(stop)``, a long-running task: one connection per mailbox held in IMAP IDLE, so
  mail arrives within seconds; it re-reads the mailbox list every minute.

A round takes each message in three steps: fetch its bytes (marking nothing), ``intake.receive``
(stored with its parse job, committed), then settle it on the server (seen, deleted or moved). A
crash between the last two fetches the message again next time; the parse job drops the duplicate.
Nothing here raises out of a round: the mailbox's health columns (``last_success_at``,
``last_error``, ``last_error_at``) say how the last round went, for the back office.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from portal.clock import utcnow
from portal.db import write_transaction
from portal.jobs.worker import wake_workers
from portal.mail import secrets
from portal.mail.tables import Mailbox
from portal.mailin import oauth
from portal.mailin.imap_client import (
    Account,
    Credential,
    LoginRefused,
    Session,
    backoff_seconds,
    describe,
    plan_batches,
    return_path,
)
from portal.mailin.intake import MailTooLarge, receive
from portal.settings import get_settings

log = logging.getLogger("portal.mailin")
T = TypeVar("T")

MAX_PER_ROUND = 200  # messages taken per round; the rest wait for the next (IDLE: at once)
BATCH_BYTES = 32 * 1024 * 1024  # bytes fetched per FETCH command
IMAP_TIMEOUT_SECONDS = 30.0  # connect and every command
POLL_CONCURRENCY = 4  # mailboxes fetched at once by poll_all
IDLE_RENEW_SECONDS = 24 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
IDLE_SLICE_SECONDS = 1.0  # how often a waiting IDLE looks at the stop signal
POLL_SECONDS_WITHOUT_IDLE = 60.0  # for servers without IDLE
CONNECTION_MAX_SECONDS = 45 * 60  # then log in afresh (OAuth2 access tokens last about an hour)
RELIST_SECONDS = 60.0  # idle_forever re-reads the mailbox list this often
MAX_WATCHED = 64  # threads for IDLE connections (more mailboxes share them, a little slower)
HEALTH_COLUMNS = {"last_success_at", "last_error", "last_error_at"}


class StoreFailed(Exception):
    """``intake.receive`` failed: the message stays on the server, untouched, for the next round."""


class Threads:
    """Runs the blocking IMAP calls in ``executor`` (None: asyncio's default one)."""

    def __init__(self, executor: Executor | None = None) -> None:
        self.executor = executor

    async def __call__(self, function: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function)


@dataclass
class Round:
    taken: int = 0
    too_large: list[str] = field(default_factory=list)
    more: bool = False  # the round stopped at MAX_PER_ROUND


# --- one round ---------------------------------------------------------------------------------


async def fetch_mailbox(mailbox: Mapping[str, Any], *, threads: Threads | None = None) -> int:
    """One round for one mailbox row: connect, take every waiting message (up to MAX_PER_ROUND),
    log out. Returns how many were taken; never raises (failures land in the health columns).
    ``threads`` runs the blocking IMAP calls (default: asyncio's default executor)."""
    threads = threads or Threads()
    outcome, account = Round(), None
    try:
        account = Account.from_row(mailbox)
        session = await _connect(mailbox, account, threads)
        try:
            await _take(session, threads, outcome)
        finally:
            await threads(session.close)
    except Exception as error:  # noqa: BLE001 - recorded for the back office, retried next round
        await _note_failure(mailbox, account, error)
        return outcome.taken
    await _note_success(account, outcome)
    return outcome.taken


async def poll_all() -> int:
    """One round for every active IMAP mailbox (a few at a time); how many messages were taken.

    Their blocking calls get threads of their own: a slow server must not hold the default
    executor's few threads, which the web requests share (password hashing)."""
    rows = await imap_mailboxes()
    if not rows:
        return 0
    executor = ThreadPoolExecutor(max_workers=POLL_CONCURRENCY, thread_name_prefix="portal-imap-poll")
    threads = Threads(executor)
    gate = asyncio.Semaphore(POLL_CONCURRENCY)

    async def one(row: dict[str, Any]) -> int:
        async with gate:
            return await fetch_mailbox(row, threads=threads)

    try:
        return sum(await asyncio.gather(*(one(row) for row in rows)))
    finally:
        executor.shutdown(wait=False)


async def poll_job(payload: dict[str, Any]) -> None:
    """The scheduled job's handler: fetch every IMAP mailbox, unless PORTAL_MAIL_IMAP says the
    intake holds IDLE connections (or that IMAP is off)."""
    if get_settings().mail_imap == "poll":
        await poll_all()


async def imap_mailboxes() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await Mailbox.select()
        .where((Mailbox.is_active == True) & (Mailbox.intake == "imap"))
        .order_by(Mailbox.id)
        .run()
    )
    return rows


async def _connect(row: Mapping[str, Any], account: Account, threads: Threads) -> Session:
    credential, grant = await _credential(row, account)
    try:
        return await threads(partial(Session.open, account, credential, IMAP_TIMEOUT_SECONDS))
    except LoginRefused:
        if grant is not None:
            oauth.forget(grant)  # revoked or expired early: the next attempt refreshes
        raise


async def _credential(row: Mapping[str, Any], account: Account) -> tuple[Credential, oauth.RefreshGrant | None]:
    secret = secrets.mailbox_secret(row)
    if account.auth != "xoauth2":
        return Credential("password", secret), None
    grant = oauth.parse_grant(secret)
    if grant is None:
        return Credential("xoauth2", secret), None
    token, rotated = await oauth.access_token(grant)
    if rotated is not None:
        await _keep_rotated(row, account, rotated)
    return Credential("xoauth2", token), grant


async def _keep_rotated(row: Mapping[str, Any], account: Account, grant: oauth.RefreshGrant) -> None:
    """The provider replaced the refresh token (Microsoft does): store the new one."""
    variable = str(row.get("imap_secret_env") or "")
    if variable:
        log.warning("IMAP %s: the OAuth2 provider rotated the refresh token; update %s", account.address, variable)
        return
    async with write_transaction():
        await Mailbox.update({Mailbox.imap_secret: secrets.encrypt(grant.as_json())}).where(Mailbox.id == account.id)


async def _take(session: Session, threads: Threads, outcome: Round) -> None:
    account = session.account
    pending = await threads(partial(session.pending, MAX_PER_ROUND))
    outcome.more = len(pending) >= MAX_PER_ROUND
    batches, outcome.too_large = plan_batches(pending, limit=get_settings().mail_max_bytes, budget=BATCH_BYTES)
    for batch in batches:
        for uid, raw in await threads(partial(session.fetch_raw, batch)):
            try:
                await receive(
                    raw,
                    source="imap",
                    envelope_from=return_path(raw),
                    envelope_to=[account.address],
                    mailbox_id=account.id,
                )
            except MailTooLarge:
                outcome.too_large.append(uid)
                continue
            except Exception as error:
                log.exception("IMAP %s: could not store message %s", account.address, uid)
                raise StoreFailed(
                    f"A fetched message could not be stored ({type(error).__name__}); it stays on the server."
                ) from error
            wake_workers()
            await threads(partial(session.settle, uid))
            outcome.taken += 1


# --- health ------------------------------------------------------------------------------------


def _too_large_note(account: Account, outcome: Round) -> str:
    if not outcome.too_large:
        return ""
    count = len(outcome.too_large)
    limit = get_settings().mail_max_bytes
    return (
        f"{count} message{'s' if count > 1 else ''} over the size limit ({limit:,} bytes) left unread in "
        f"{account.folder}: read {'them' if count > 1 else 'it'} in a mail program."
    )


async def _note_success(account: Account, outcome: Round) -> None:
    now = utcnow()
    note = _too_large_note(account, outcome)
    changes: dict[Any, Any] = {Mailbox.last_success_at: now, Mailbox.last_error: note}
    if note:
        changes[Mailbox.last_error_at] = now
    await _write_health(account.id, changes)


async def _note_failure(row: Mapping[str, Any], account: Account | None, error: BaseException) -> None:
    message = str(error) if isinstance(error, StoreFailed) else describe(error, account)
    log.warning("IMAP %s: %s", row.get("address"), message)
    await _write_health(int(row["id"]), {Mailbox.last_error: message, Mailbox.last_error_at: utcnow()})


async def _write_health(mailbox_id: int, changes: dict[Any, Any]) -> None:
    try:
        async with write_transaction():
            await Mailbox.update(changes).where(Mailbox.id == mailbox_id)
    except Exception:  # noqa: BLE001 - the database is away: the next round tries again
        log.exception("IMAP: could not record the health of mailbox %s", mailbox_id)


# --- IDLE --------------------------------------------------------------------------------------


@dataclass
class _Watcher:
    config: tuple[tuple[str, str], ...]
    stop: asyncio.Event
    task: asyncio.Task[None]


async def idle_forever(stop: asyncio.Event) -> None:
    """Hold one IDLE connection per active IMAP mailbox until ``stop`` is set; mailboxes added,
    changed, deactivated or removed in the back office are picked up within RELIST_SECONDS."""
    executor = ThreadPoolExecutor(max_workers=MAX_WATCHED, thread_name_prefix="portal-imap")
    threads = Threads(executor)
    watchers: dict[int, _Watcher] = {}
    retiring: set[asyncio.Task[None]] = set()
    try:
        while not stop.is_set():
            try:
                rows = await imap_mailboxes()
            except Exception:  # noqa: BLE001 - keep the current connections, look again later
                log.exception("IMAP: could not read the mailbox list")
            else:
                _reconcile(watchers, retiring, rows, threads)
            await _wait(stop, RELIST_SECONDS)
    finally:
        for watcher in watchers.values():
            watcher.stop.set()
        await asyncio.gather(*retiring, *(watcher.task for watcher in watchers.values()), return_exceptions=True)
        executor.shutdown(wait=False, cancel_futures=True)


def _config(row: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """What a connection depends on: everything in the row but its health."""
    return tuple(sorted((key, str(value)) for key, value in row.items() if key not in HEALTH_COLUMNS))


def _reconcile(
    watchers: dict[int, _Watcher], retiring: set[asyncio.Task[None]], rows: list[dict[str, Any]], threads: Threads
) -> None:
    wanted = {int(row["id"]): row for row in rows}
    for mailbox_id, watcher in list(watchers.items()):
        row = wanted.get(mailbox_id)
        if row is None or _config(row) != watcher.config or watcher.task.done():
            watcher.stop.set()  # it logs out within IDLE_SLICE_SECONDS
            retiring.add(watcher.task)
            watcher.task.add_done_callback(retiring.discard)
            del watchers[mailbox_id]
    for mailbox_id, row in wanted.items():
        if mailbox_id not in watchers:
            own_stop = asyncio.Event()
            task = asyncio.create_task(_watch(row, own_stop, threads), name=f"imap-mailbox-{mailbox_id}")
            watchers[mailbox_id] = _Watcher(_config(row), own_stop, task)


async def _watch(row: Mapping[str, Any], stop: asyncio.Event, threads: Threads) -> None:
    """Keep one mailbox connected until ``stop``: reconnect after failures, waiting longer each time."""
    failures = [0]
    while not stop.is_set():
        account = None
        try:
            account = Account.from_row(row)
            await _hold(row, account, stop, threads, failures)
        except Exception as error:  # noqa: BLE001 - recorded; reconnect after a pause
            failures[0] += 1
            await _note_failure(row, account, error)
            await _wait(stop, backoff_seconds(failures[0]))


async def _hold(
    row: Mapping[str, Any], account: Account, stop: asyncio.Event, threads: Threads, failures: list[int]
) -> None:
    """One connection: take what waits, IDLE until news, again; returns on stop or after
    CONNECTION_MAX_SECONDS (the caller reconnects)."""
    session = await _connect(row, account, threads)
    try:
        opened = time.monotonic()
        while not stop.is_set() and time.monotonic() - opened < CONNECTION_MAX_SECONDS:
            outcome = Round()
            await _take(session, threads, outcome)
            await _note_success(account, outcome)
            failures[0] = 0
            if outcome.more:
                continue
            if session.supports_idle:
                await _idle(session, stop, threads)
            else:
                await _wait(stop, POLL_SECONDS_WITHOUT_IDLE)
    finally:
        await threads(session.close)


async def _idle(session: Session, stop: asyncio.Event, threads: Threads) -> None:
    """IDLE until a message arrives, ``stop`` is set, or IDLE_RENEW_SECONDS pass."""
    await threads(session.idle_start)
    try:
        deadline = time.monotonic() + IDLE_RENEW_SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            if await threads(partial(session.idle_news, IDLE_SLICE_SECONDS)):
                break
    except BaseException:
        with contextlib.suppress(Exception):  # the connection is likely gone: keep the first error
            await threads(session.idle_stop)
        raise
    await threads(session.idle_stop)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
