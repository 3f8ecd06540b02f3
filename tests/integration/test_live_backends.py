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
    async with first, second:
        async with second.start_subscription(live.CHANNELS) as subscriber:
            await asyncio.sleep(0.3)  # the LISTEN / SUBSCRIBE reaches the server
            first.publish({"type": "ticket", "number": 7, "team": None, "actor": 1, "name": "Ben",
                           "what": "reply"}, "tickets")
            events = subscriber.iter_events()
            raw = await asyncio.wait_for(events.__anext__(), timeout=10)
    return live.decode(raw)


@pytest.mark.skipif(not os.environ.get("PORTAL_TEST_REDIS_URL"), reason="set PORTAL_TEST_REDIS_URL")
async def test_events_cross_processes_through_redis(tmp_path):
    settings = Settings(database_url="sqlite:///x", var_dir=tmp_path, secret_key="k",
                        redis_url=os.environ["PORTAL_TEST_REDIS_URL"])
    assert (await _relay(settings))["number"] == 7


@pytest.mark.skipif(not os.environ.get("PORTAL_TEST_DATABASE_URL"), reason="set PORTAL_TEST_DATABASE_URL")
async def test_events_cross_processes_through_postgresql_listen_notify(tmp_path):
    settings = Settings(database_url=os.environ["PORTAL_TEST_DATABASE_URL"], var_dir=tmp_path, secret_key="k")
    assert (await _relay(settings))["what"] == "reply"
