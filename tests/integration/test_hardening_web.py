"""What the server tells strangers, and how it treats crowds: security headers on every answer
(also outside a route), HEAD wherever GET, Server-Timing only for staff, attachments not cached,
logout deleting the cookie, login throttles that count failures and see through trusted proxies."""

from __future__ import annotations

import asyncio
import os
import re

import httpx
import pytest
import uvicorn
from litestar.routes import HTTPRoute

from portal.app import create_app
from portal.tickets.tables import Attachment, Category, Ticket
from tests.conftest import Browser, link_in, running
from tests.factories import PASSWORD

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def settings(request, settings):
    """The session and throttle stores of one host (files), or of several (Redis) for tests marked
    with ``BOTH_STORES``."""
    if getattr(request, "param", "files") == "redis":
        if not REDIS_URL:
            pytest.skip("set PORTAL_TEST_REDIS_URL")
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        return settings.with_(redis_url=REDIS_URL)
    return settings


BOTH_STORES = pytest.mark.parametrize("settings", ["files", "redis"], indirect=True)


def assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), (response.url, response.status_code)
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]
    assert headers["cache-control"] == "no-store"


# --- security headers outside a matched route ------------------------------------------------------------------


async def test_error_answers_outside_a_route_carry_the_security_headers(browser):
    unrouted = await browser.get("/no/such/page")
    assert unrouted.status_code == 404
    wrong_method = await browser.client.put("/healthz")
    assert wrong_method.status_code == 405
    too_large = await browser.post(
        "/signup", {"name": "x" * (2 * 1024 * 1024), "email": "a@example.org", "password": "purple otter canoe"}
    )
    assert too_large.status_code == 413
    nul = await browser.get("/login?next=%00")
    assert nul.status_code == 400
    for response in (unrouted, wrong_method, too_large, nul, await browser.client.head("/no/such/page")):
        assert_security_headers(response)


# --- HEAD wherever GET -----------------------------------------------------------------------------------------

SAMPLE_VALUES = {"int": "1", "str": "x", "path": "css/portal.css"}


def _get_paths(app) -> list[str]:
    """Every GET route of the app, with a sample value in each path parameter."""
    paths = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and "GET" in route.methods:
            paths.append(re.sub(r"\{\w+:(\w+)\}", lambda m: SAMPLE_VALUES[m.group(1)], route.path))
    return paths


async def test_every_get_route_answers_head_without_a_body(app, browser):
    paths = _get_paths(app)
    assert "/healthz" in paths and "/events" in paths and "/static/css/portal.css" in paths
    for path in paths:
        head = await browser.client.head(path)
        assert head.status_code != 405, path
        assert head.content == b"", path
        get = await browser.get(path)
        assert head.status_code == get.status_code, path
        assert head.headers.get("content-type") == get.headers.get("content-type"), path
        assert head.headers.get("location") == get.headers.get("location"), path


async def test_head_gives_the_headers_of_get(browser):
    for path in ("/healthz", "/static/css/portal.css"):
        head, get = await browser.client.head(path), await browser.get(path)
        assert head.status_code == 200 and head.content == b""
        varying = ("date", "set-cookie")  # the first answer also sets the CSRF cookie
        expected = {k: v for k, v in get.headers.items() if k not in varying}
        assert {k: v for k, v in head.headers.items() if k not in varying} == expected


async def test_head_on_the_live_stream_ends_after_the_headers(browser, make_user):
    await make_user("agent@example.org", "agent")
    await browser.login("agent@example.org")
    head = await asyncio.wait_for(browser.client.head("/events"), 10)
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/event-stream")
    assert head.content == b""


# --- Server-Timing ---------------------------------------------------------------------------------------------


async def test_server_timing_only_for_signed_in_staff(browser, make_browser, make_user):
    assert "server-timing" not in (await browser.get("/password/forgot")).headers
    assert "server-timing" not in (await browser.post("/password/forgot", {"email": "nobody@example.org"})).headers
    await make_user("ann@example.org")
    await browser.login("ann@example.org")
    assert "server-timing" not in (await browser.get("/tickets")).headers
    await make_user("agent@example.org", "agent")
    agent = await make_browser()
    await agent.login("agent@example.org")
    timing = (await agent.get("/back/tickets")).headers["server-timing"]
    assert re.fullmatch(r'app;dur=[\d.]+, db;desc="queries";dur=\d+', timing)


async def test_server_timing_for_everyone_when_the_bench_setting_is_on(settings):
    app = create_app(settings.with_(server_timing=True))
    async with (
        running(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        assert 'db;desc="queries"' in (await client.get("/password/forgot")).headers["server-timing"]


# --- attachments and logout ------------------------------------------------------------------------------------


async def test_attachments_are_not_cached_on_any_route(browser, make_browser, make_user, outbox):
    category = (await Category.insert(Category(name="Technical problem", position=1)).run())[0]["id"]
    await make_user("ann@example.org", name="Ann Lee")
    await browser.login("ann@example.org")
    await browser.get("/tickets/new")
    form = {
        "subject": "Screenshot",
        "body": "See the file.",
        "category": str(category),
        "_csrf_token": browser.cookies.get("csrftoken"),
    }
    response = await browser.client.post("/tickets/new", data=form, files=[("files", ("shot.png", PNG, "image/png"))])
    assert response.status_code == 201, response.text
    number = (await Ticket.select(Ticket.number).first())["number"]
    attachment = (await Attachment.select(Attachment.id).first())["id"]
    guest = await make_browser()
    await guest.get("/tickets/new")
    response = await guest.client.post(
        "/tickets/new",
        files=[("files", ("shot.png", PNG, "image/png"))],
        data={
            "name": "Gwen Guest",
            "email": "gwen@example.org",
            "subject": "Printer",
            "body": "Look.",
            "category": str(category),
            "website": "",
            "_csrf_token": guest.cookies.get("csrftoken"),
        },
    )
    assert response.status_code == 201, response.text
    guest_link = link_in((await outbox("gwen@example.org"))[-1]["body_text"], "/t/")
    guest_attachment = (await Attachment.select(Attachment.id).order_by(Attachment.id, ascending=False).first())["id"]
    await make_user("agent@example.org", "agent")
    agent = await make_browser()
    await agent.login("agent@example.org")
    for client, path in (
        (browser, f"/tickets/{number}/attachments/{attachment}"),
        (guest, f"{guest_link}/attachments/{guest_attachment}"),
        (agent, f"/back/tickets/{number}/attachments/{attachment}"),
    ):
        download = await client.get(path)
        assert download.status_code == 200 and download.content == PNG, path
        assert download.headers["cache-control"] == "no-store", path


@BOTH_STORES
async def test_logout_deletes_the_session_cookie(browser, make_user):
    await make_user("bob@example.org")
    await browser.login("bob@example.org")
    old_session = browser.cookies.get("session")
    response = await browser.post("/logout")
    assert response.status_code == 303
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("session="))
    assert "Max-Age=0" in cookie
    assert "session" not in browser.cookies  # the browser dropped it
    browser.cookies.set("session", old_session)  # a copy kept by someone else opens nothing
    assert (await browser.get("/account")).status_code == 303


# --- login throttles -------------------------------------------------------------------------------------------


@BOTH_STORES
async def test_successful_logins_from_one_office_address_are_not_throttled(make_browser, make_user):
    for i in range(25):
        await make_user(f"colleague{i}@example.org", "agent" if i % 2 else "customer")
    for i in range(25):
        colleague = await make_browser()  # same address 127.0.0.1, as behind an office NAT
        response = await colleague.post("/login", {"email": f"colleague{i}@example.org", "password": PASSWORD})
        assert response.status_code == 303, (i, response.status_code)
    again = await make_browser()
    for _ in range(6):  # the same account, many times: only failures count
        assert (
            await again.post("/login", {"email": "colleague0@example.org", "password": PASSWORD})
        ).status_code == 303


@BOTH_STORES
async def test_failed_logins_are_still_throttled_per_address(browser, make_user):
    await make_user("bob@example.org")
    for i in range(20):
        assert (
            await browser.post("/login", {"email": f"user{i}@example.org", "password": "wrong guess!"})
        ).status_code == 422
    response = await browser.post("/login", {"email": "bob@example.org", "password": PASSWORD})
    assert response.status_code == 429 and "Try again in" in response.text


def _served_as_by_portal_serve(app, settings, client_address: str) -> Browser:
    """A browser reaching the app through the uvicorn wrapping `portal serve` uses (proxy headers
    as configured by PORTAL_FORWARDED_ALLOW_IPS), connecting from ``client_address``."""
    from portal.cli import proxy_options

    config = uvicorn.Config(app, log_config=None, **proxy_options(settings))
    config.load()
    transport = httpx.ASGITransport(app=config.loaded_app, client=(client_address, 40000))
    return Browser(httpx.AsyncClient(transport=transport, base_url="http://testserver"))


async def _fail_logins(browser: Browser, forwarded_for: list[str]) -> None:
    for i, address in enumerate(forwarded_for):  # a new account each time: the address is what counts
        response = await browser.post(
            "/login",
            {"email": f"nobody{i}@example.org", "password": "wrong guess!"},
            headers={"X-Forwarded-For": address},
        )
        assert response.status_code == 422


@BOTH_STORES
async def test_throttle_sees_the_client_behind_a_trusted_proxy_only(app, settings, make_user):
    await make_user("bob@example.org")
    settings = settings.with_(forwarded_allow_ips="10.0.0.1")
    balancer = _served_as_by_portal_serve(app, settings, "10.0.0.1")
    stranger = _served_as_by_portal_serve(app, settings, "198.51.100.7")
    try:
        # Behind the trusted balancer: one client's failures lock that client, not its neighbours.
        await _fail_logins(balancer, ["203.0.113.9"] * 20)
        login = {"email": "bob@example.org", "password": PASSWORD}
        assert (await balancer.post("/login", login, headers={"X-Forwarded-For": "203.0.113.9"})).status_code == 429
        assert (await balancer.post("/login", login, headers={"X-Forwarded-For": "203.0.113.10"})).status_code == 303
        # An untrusted caller cannot pick a fresh address per attempt: its own address counts.
        await _fail_logins(stranger, [f"192.0.2.{i}" for i in range(20)])
        assert (await stranger.post("/login", login, headers={"X-Forwarded-For": "192.0.2.99"})).status_code == 429
    finally:
        await balancer.client.aclose()
        await stranger.client.aclose()


def test_an_empty_proxy_list_trusts_no_forwarded_header(settings):
    from portal.cli import proxy_options

    assert proxy_options(settings.with_(forwarded_allow_ips="")) == {"proxy_headers": False}
    assert proxy_options(settings) == {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.1"}
