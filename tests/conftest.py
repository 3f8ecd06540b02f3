"""Shared fixtures. Integration tests run once per engine: SQLite always, PostgreSQL too when
PORTAL_TEST_DATABASE_URL is set (CI sets it). The schema is built by the real migrations."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

# Before any portal import: keep runtime files of the test run out of the work tree.
_RUN_DIR = Path(tempfile.mkdtemp(prefix="portal-tests-"))
os.environ["PORTAL_VAR_DIR"] = str(_RUN_DIR / "var")
os.environ["PORTAL_SECRET_KEY"] = "test-secret-key-not-for-production"
os.environ.setdefault("PORTAL_DATABASE_URL", f"sqlite:///{_RUN_DIR / 'unused.sqlite3'}")

import httpx  # noqa: E402
import pytest  # noqa: E402

from portal import db  # noqa: E402
from portal.settings import Settings  # noqa: E402

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
ENGINES = ["sqlite", *(["postgres"] if PG_URL else [])]
TABLES = [
    "portal_user",
    "team",
    "team_member",
    "audit_event",
    "auth_token",
    "job",
    "outbound_mail",
    "category",
    "ticket",
    "message",
    "attachment",
    "ticket_token",
    "service",
    "service_staff",
    "weekly_hours",
    "date_override",
    "holiday",
    "time_off",
    "appointment",
    "ticket_event",
    "tag",
    "ticket_tag",
    "canned_reply",
    "saved_view",
    "queue_tally",
    "ticket_search",
    "business_calendar",
    "business_hours",
    "sla_policy",
    "staff_feed",
    "ticket_week_stat",
    "mailbox",
    "inbound_mail",
]


async def _migrate(url: str, reset_pg: bool = False) -> None:
    engine = db.make_engine(url)
    db.use_engine(engine)
    if reset_pg:
        # The test database is ours to wipe: start from an empty schema, as CI does.
        await engine._run_in_new_connection("DROP SCHEMA IF EXISTS public CASCADE")
        await engine._run_in_new_connection("CREATE SCHEMA public")
    async with db.engine_open(engine, pool_size=1):
        await db.migrate(verbose=False)
        if engine.engine_type == "sqlite":
            await engine._run_in_new_connection("PRAGMA wal_checkpoint(TRUNCATE)")


def run_in_own_thread(coroutine) -> None:
    """asyncio.run in a fresh thread: sync Playwright keeps a loop running on the main thread."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def sqlite_template() -> Path:
    path = _RUN_DIR / "template.sqlite3"
    run_in_own_thread(_migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> str:
    run_in_own_thread(_migrate(PG_URL, reset_pg=True))
    return PG_URL


@pytest.fixture(params=ENGINES)
def engine_name(request) -> str:
    return request.param


@pytest.fixture
def settings(engine_name, tmp_path, request) -> Settings:
    if engine_name == "sqlite":
        path = tmp_path / "portal.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_schema")
    return Settings(
        database_url=url,
        var_dir=tmp_path / "var",
        secret_key="test-secret",
        base_url="http://testserver",
        worker="off",
        db_pool_size=5,
    )


@pytest.fixture
async def app(settings):
    from portal.app import create_app

    app = create_app(settings)
    async with running(app):
        if settings.database_url.startswith("postgres"):
            await db.fetch(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        yield app


@contextlib.asynccontextmanager
async def running(app):
    """The app's lifespan in one task of its own: pytest-asyncio sets a fixture up and tears it
    down in different tasks, and Litestar's lifespan must be left in the task that entered it."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold():
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    await asyncio.wait({task, asyncio.ensure_future(started.wait())}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # start-up failed: raise its error here
    try:
        yield app
    finally:
        stop.set()
        await task


class Browser:
    """An httpx client that behaves like a browser with our forms: it sends the CSRF token."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def get(self, url: str, **kwargs) -> httpx.Response:
        return await self.client.get(url, **kwargs)

    async def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kwargs) -> httpx.Response:
        if csrf and "csrftoken" not in self.client.cookies:
            await self.client.get("/")
        form = dict(data or {})
        if csrf:
            form["_csrf_token"] = self.client.cookies.get("csrftoken")
        return await self.client.post(url, data=form, **kwargs)

    async def login(self, email: str, password: str = "a long s3cret phrase") -> httpx.Response:
        response = await self.post("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        return response

    @property
    def cookies(self):
        return self.client.cookies


@pytest.fixture
async def make_browser(app):
    clients = []

    async def make() -> Browser:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 5000)), base_url="http://testserver"
        )
        clients.append(client)
        return Browser(client)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def browser(make_browser) -> Browser:
    return await make_browser()


@pytest.fixture
def make_user(app):
    from tests.factories import make_user

    return make_user


@pytest.fixture
def outbox(app):
    from tests.factories import outbox

    return outbox


def link_in(text: str, path_prefix: str) -> str:
    """The path of the first link in ``text`` that starts with ``path_prefix``."""
    match = re.search(r"http://testserver(" + re.escape(path_prefix) + r"[^\s\"<]*)", text)
    assert match, f"no {path_prefix} link in: {text}"
    return match.group(1)
