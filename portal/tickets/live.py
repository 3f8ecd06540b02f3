"""Live updates for the console: ticket events and presence over Litestar channels, served as SSE.

The channel backend follows the deployment: memory inside one process; Redis pub/sub when
``PORTAL_REDIS_URL`` is set; PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL. So several
app processes (or hosts) see each other's events.

Services call ``announce`` after their transaction committed. Each SSE stream filters what its
agent may see (``TicketAccess.sees_event``), so a limited agent never learns about other teams' tickets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend

from portal.accounts.rules import Actor
from portal.settings import Settings
from portal.tickets.rows import Row

log = logging.getLogger("portal.live")

CHANNELS = ["tickets", "presence"]
HEARTBEAT_SECONDS = 10.0  # a viewer re-announces itself this often …
VIEWER_TTL = 25.0  # … and is forgotten when silent this long (a closed laptop)
TYPING_TTL = 6.0
QUEUE_EVERY = 1.0  # queue pages refresh at most this often (bursts coalesce, the last one counts)
BACKLOG = 1000  # events kept for a stream that is slow to read (the oldest go first)

_plugin: LiveChannels | None = None


class LiveChannels(ChannelsPlugin):
    """The channels plugin with one permanent subscriber for the life of the app, fanned out in
    memory to the open streams (``listen``).

    Why: Litestar subscribes the backend when a channel gets its first subscriber and unsubscribes
    it when the last one leaves. A stream's teardown runs while its task is being cancelled (the
    tab closed), so that unsubscribe is cut off half-way; with LISTEN/NOTIFY the asyncpg listener
    was already removed but the backend still counted the channel as listened, so later streams
    never subscribed again and got no events. Here the backend subscription never ends, and a
    stream attaches and detaches without awaiting anything: nothing a cancellation can cut."""

    def __init__(self, backend: ChannelsBackend) -> None:
        super().__init__(
            backend=backend, channels=CHANNELS, subscriber_max_backlog=BACKLOG, subscriber_backlog_strategy="dropleft"
        )
        self._inboxes: set[asyncio.Queue[bytes]] = set()
        self._fan_out: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveChannels:
        await super().__aenter__()
        hub = await self.subscribe(CHANNELS)  # never unsubscribed: the channels stay listened to
        self._fan_out = asyncio.create_task(self._deliver(hub), name="portal-live-fan-out")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if self._fan_out:
            self._fan_out.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fan_out
            self._fan_out = None
        await super().__aexit__(exc_type, exc_val, exc_tb)

    async def _deliver(self, hub: Subscriber) -> None:
        async for raw in hub.iter_events():
            for inbox in tuple(self._inboxes):
                put_dropping_oldest(inbox, raw)

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[bytes]]:
        """An inbox receiving every event of ``CHANNELS`` while the block runs."""
        inbox: asyncio.Queue[bytes] = asyncio.Queue(maxsize=BACKLOG)
        self._inboxes.add(inbox)
        try:
            yield inbox
        finally:
            self._inboxes.discard(inbox)


def put_dropping_oldest(inbox: asyncio.Queue[bytes], raw: bytes) -> None:
    if inbox.full():
        inbox.get_nowait()
    inbox.put_nowait(raw)


def make_plugin(settings: Settings) -> LiveChannels:
    global _plugin
    backend: ChannelsBackend
    if settings.redis_url:
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        backend = RedisChannelsPubSubBackend(redis=Redis.from_url(settings.redis_url), key_prefix="portal_live")
    elif settings.database_url.startswith(("postgres://", "postgresql://")):
        from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend

        backend = AsyncPgChannelsBackend(dsn=settings.database_url)
    else:
        backend = MemoryChannelsBackend()
    _plugin = LiveChannels(backend)
    return _plugin


def plugin() -> LiveChannels | None:
    return _plugin


def announce(ticket: Row, actor: Actor | None, what: str) -> None:
    """Tell open consoles that a ticket changed (``what``: new | reply | note | changed)."""
    _publish(
        {
            "type": "ticket",
            "number": ticket["number"],
            "team": ticket.get("team"),
            "actor": getattr(actor, "id", None),
            "name": getattr(actor, "name", "A customer"),
            "what": what,
        },
        "tickets",
    )


def announce_presence(number: int, user_id: int, name: str, state: str) -> None:
    """``state``: viewing | typing | left."""
    _publish({"type": "presence", "number": number, "user": user_id, "name": name, "state": state}, "presence")


def _publish(event: dict[str, Any], channel: str) -> None:
    """Best effort: the change is committed already; a console that misses it catches up on its
    next load. (No plugin outside the web app, e.g. in `portal demo` or a worker process.)"""
    if _plugin is None:
        return
    try:
        _plugin.publish(event, channel)
    except RuntimeError:  # the plugin is not running (app shutting down)
        log.warning("live update dropped: %s", event.get("type"))


def decode(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class Viewer:
    """Another person on the ticket page, as one stream last heard of them."""

    name: str
    seen: float
    typing_until: float = 0.0


@dataclass
class Presence:
    """Who else is on one ticket page, as seen by one viewer's stream (pure bookkeeping). The
    methods answer whether what the viewer should see changed since it was last shown."""

    me: int
    others: dict[int, Viewer] = field(default_factory=dict)
    shown: list[tuple[str, bool]] = field(default_factory=list)

    def update(self, event: dict[str, Any], now: float) -> bool:
        """Apply a presence event; True when what the viewer should see changed."""
        user = event.get("user")
        if user == self.me or not isinstance(user, int):
            return False
        state = event.get("state")
        if state == "left":
            self.others.pop(user, None)
        else:
            viewer = self.others.setdefault(user, Viewer(name=str(event.get("name", ""))[:120], seen=now))
            viewer.seen = now
            if state == "typing":
                viewer.typing_until = now + TYPING_TTL
        return self._changed(now)

    def expire(self, now: float) -> bool:
        """Forget silent viewers and stale typing; True when what the viewer should see changed."""
        self.others = {u: v for u, v in self.others.items() if now - v.seen <= VIEWER_TTL}
        return self._changed(now)

    def next_change(self, now: float) -> float | None:
        """Seconds until a "typing" mark runs out (the stream wakes up then), if any is shown."""
        ends = [v.typing_until - now for v in self.others.values() if v.typing_until > now]
        return min(ends) if ends else None

    def visible(self, now: float) -> list[tuple[str, bool]]:
        return sorted((v.name, v.typing_until > now) for v in self.others.values())

    def _changed(self, now: float) -> bool:
        current = self.visible(now)
        if current == self.shown:
            return False
        self.shown = current
        return True


async def next_event(inbox: asyncio.Queue[bytes], timeout: float) -> bytes | None:
    """The next raw event, or None after ``timeout`` seconds (heartbeat time). ``LiveChannels``
    feeds ``inbox`` from its own task: cancelling a wait on a queue is safe."""
    try:
        return await asyncio.wait_for(inbox.get(), timeout)
    except TimeoutError:
        return None


def monotonic() -> float:
    return time.monotonic()
