"""Live updates across processes: two app instances (two ChannelsPlugin objects, as two uvicorn
workers or hosts would have) see each other's events through Redis pub/sub and through PostgreSQL
LISTEN/NOTIFY; the memory backend is for one process."""

from __future__ import annotations

import asyncio
import os

import pytest

from portal.settings import Settings
from portal.tickets import live


@pytest.fixture(autouse=True)
def keep_app_plugin():
    """make_plugin also installs the plugin for ``announce``: put the app's back afterwards."""
    saved = live._plugin
    yield
    live._plugin = saved


async def _relay(settings: Settings) -> dict:
    first, second = live.make_plugin(settings), live.make_plugin(settings)
    async with first, second, second.start_subscription(live.CHANNELS) as subscriber:
        await asyncio.sleep(0.3)  # the LISTEN / SUBSCRIBE reaches the server
        first.publish(
            {"type": "ticket", "number": 7, "team": None, "actor": 1, "name": "Ben", "what": "reply"}, "tickets"
        )
        events = subscriber.iter_events()
        raw = await asyncio.wait_for(events.__anext__(), timeout=10)
    return live.decode(raw)


@pytest.mark.skipif(not os.environ.get("PORTAL_TEST_REDIS_URL"), reason="set PORTAL_TEST_REDIS_URL")
async def test_events_cross_processes_through_redis(tmp_path):
    settings = Settings(
        database_url="sqlite:///x", var_dir=tmp_path, secret_key="k", redis_url=os.environ["PORTAL_TEST_REDIS_URL"]
    )
    assert (await _relay(settings))["number"] == 7


@pytest.mark.skipif(not os.environ.get("PORTAL_TEST_DATABASE_URL"), reason="set PORTAL_TEST_DATABASE_URL")
async def test_events_cross_processes_through_postgresql_listen_notify(tmp_path):
    settings = Settings(database_url=os.environ["PORTAL_TEST_DATABASE_URL"], var_dir=tmp_path, secret_key="k")
    assert (await _relay(settings))["what"] == "reply"


# --- streams that come and go ---------------------------------------------------------------------------------


class SseStream:
    """One ``/events`` request driven the way uvicorn drives it: the body arrives chunk by chunk,
    and closing the tab is an ``http.disconnect`` (Litestar then cancels the stream's task)."""

    def __init__(self, app, cookie: str) -> None:
        self.chunks: asyncio.Queue = asyncio.Queue()
        self.gone = asyncio.Event()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/events",
            "raw_path": b"/events",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        self.task = asyncio.create_task(app(scope, self._receive, self._send))
        self._requested = False

    async def _receive(self) -> dict:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message
        elif message.get("body"):
            await self.chunks.put(message["body"].decode())

    async def until(self, text: str, timeout: float = 10) -> str:
        async def read() -> str:
            while text not in (chunk := await self.chunks.get()):
                pass
            return chunk

        return await asyncio.wait_for(read(), timeout)

    async def close(self) -> None:
        self.gone.set()
        await asyncio.wait_for(self.task, 10)


@pytest.fixture(params=["own backend", "redis"])
def settings(request, settings):
    """Each engine with its own channel backend (memory on SQLite, LISTEN/NOTIFY on PostgreSQL),
    and with Redis pub/sub."""
    if request.param == "redis":
        if not os.environ.get("PORTAL_TEST_REDIS_URL"):
            pytest.skip("set PORTAL_TEST_REDIS_URL")
        return settings.with_(redis_url=os.environ["PORTAL_TEST_REDIS_URL"])
    return settings


async def test_streams_keep_getting_events_after_20_streams_came_and_went(app, browser, make_user):
    """Tabs open and close (agents navigate): each new stream, up to the 21st, still gets events.
    (Before: a closing stream's unsubscribe was cancelled half-way, and LISTEN/NOTIFY's
    bookkeeping then claimed channels that had no listener any more.)"""
    await make_user("agent@example.org", "agent")
    await browser.login("agent@example.org")
    cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    for number in range(1, 22):
        stream = SseStream(app, cookie)
        await stream.until("connected")
        await asyncio.sleep(0.2)  # the stream is subscribed and waiting for events
        live.announce({"number": number, "team": None}, None, "new")
        assert f"data: {number}\r\n" in await stream.until("queue-changed"), f"stream {number} got nothing"
        await stream.close()
