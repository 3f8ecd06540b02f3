"""Several app processes (or hosts) must see the same sessions: files on one host, Redis across hosts."""

from __future__ import annotations

import os

import httpx
import pytest

from portal.app import create_app
from tests.conftest import Browser, running

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "")


async def _shared_login(settings_a, settings_b, make_user) -> None:
    first, second = create_app(settings_a), create_app(settings_b)
    async with running(first), running(second):
        await make_user("bob@example.org")
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
            for app in (first, second)
        ]
        one, two = Browser(clients[0]), Browser(clients[1])
        try:
            await one.login("bob@example.org")
            for name in ("session", "csrftoken"):  # the same browser, load-balanced to the other process
                two.cookies.set(name, one.cookies.get(name))
            page = await two.get("/account")
            assert page.status_code == 200 and "bob@example.org" in page.text
            # Logging out on one process ends the session on the other.
            await two.post("/logout")
            assert (await one.get("/account")).status_code == 303
        finally:
            for client in clients:
                await client.aclose()


async def test_file_sessions_are_shared_by_processes_of_one_host(settings, make_user):
    await _shared_login(settings, settings, make_user)


@pytest.mark.skipif(not REDIS_URL, reason="PORTAL_TEST_REDIS_URL not set")
async def test_redis_sessions_are_shared_across_hosts(settings, make_user, tmp_path):
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()
    # Two "hosts": different var dirs, so only Redis can carry the session between them.
    await _shared_login(
        settings.with_(redis_url=REDIS_URL, var_dir=tmp_path / "host-a"),
        settings.with_(redis_url=REDIS_URL, var_dir=tmp_path / "host-b"),
        make_user,
    )
