"""Browser tests: the real `portal serve` in a subprocess, driven by Debian's Chromium.

The server gets a throw-away directory (SQLite database, var dir, log) for the whole session;
every test gets fresh browser contexts, so cookies never leak from one test to the next.

Without /usr/bin/chromium the tests of this directory are skipped, unless
PORTAL_REQUIRE_BROWSER=1 is set (CI), in which case they fail.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser import axe

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
START_TIMEOUT = 30.0
DEFAULT_TIMEOUT_MS = 10_000

ADMIN_EMAIL = "admin@example.org"
ADMIN_NAME = "Ada Admin"
PASSWORD = "a long s3cret phrase"


def _browser_required() -> bool:
    return os.environ.get("PORTAL_REQUIRE_BROWSER", "") == "1"


def _missing_browser_reason() -> str:
    return (
        f"{CHROMIUM} is missing: browser tests need Debian's Chromium "
        "(apt-get install chromium, or scripts/ensure-chromium); "
        "set PORTAL_REQUIRE_BROWSER=1 to make this a failure"
    )


def _in_this_directory(item: pytest.Item) -> bool:
    return Path(str(item.path)).resolve().parent == HERE or HERE in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists() or _browser_required():
        return  # when required but missing, the `browser` fixture fails every test instead
    skip = pytest.mark.skip(reason=_missing_browser_reason())
    for item in items:
        if _in_this_directory(item):
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """Keep each phase's report on the item (rep_setup, rep_call, rep_teardown) for fixtures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --- the server ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Portal:
    base_url: str
    directory: Path
    env: dict
    log_path: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run a `portal` command against the server's database (SQLite allows a second writer)."""
        result = subprocess.run(
            [str(BIN / "portal"), *args], env=self.env, cwd=self.directory, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"portal {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def create_user(self, email: str, name: str, role: str = "customer", password: str = PASSWORD) -> None:
        self.cli("create-user", "--email", email, "--name", name, "--role", role, "--password", password)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def portal_server():
    """A migrated database with an admin, and `portal serve` on a free port; yields a Portal."""
    directory = Path(tempfile.mkdtemp(prefix="portal-browser-"))
    port = _free_port()
    smtp_port = _free_port()  # the mail intake's listener (mail flows send to it)
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": f"sqlite:///{directory / 'portal.sqlite3'}",  # absolute: four slashes
        "PORTAL_VAR_DIR": str(directory / "var"),
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(32),
        "PORTAL_BASE_URL": base_url,
        "PORTAL_WORKER": "inprocess",
        "PORTAL_SMTP_URL": "",
        "PORTAL_REDIS_URL": "",
        "PORTAL_DEBUG": "0",
        "PORTAL_MAIL_IN_LISTEN": f"127.0.0.1:{smtp_port}",
        "NO_COLOR": "1",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = directory / "server.log"
    portal = Portal(base_url, directory, env, log_path)
    portal.cli("migrate")
    portal.create_user(ADMIN_EMAIL, ADMIN_NAME, role="admin")

    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(BIN / "portal"), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"],
            env=env,
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(portal.url("/healthz")):
            if process.poll() is not None:
                pytest.fail(
                    f"portal serve exited with code {process.returncode} during start-up; "
                    f"log tail ({log_path}):\n{portal.log_tail()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"portal serve did not answer {base_url}/healthz within {START_TIMEOUT:.0f} s; "
                    f"log tail ({log_path}):\n{portal.log_tail()}",
                    pytrace=False,
                )
            time.sleep(0.1)
        yield portal
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def base_url(portal_server: Portal) -> str:
    return portal_server.base_url


# --- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(_missing_browser_reason().split(";")[0] + " and PORTAL_REQUIRE_BROWSER=1 is set", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150]


@pytest.fixture
def new_page(browser, base_url, request):
    """Factory: a page in a fresh browser context (its own cookies). Extra kwargs go to
    ``browser.new_context`` (e.g. ``java_script_enabled=False``). On a failed test every page
    opened here is saved as a screenshot under test-artifacts/; an uncaught JavaScript error in
    any of them fails the test."""
    contexts = []
    script_errors: list[str] = []

    def make(**context_options):
        context = browser.new_context(base_url=base_url, **context_options)
        axe.prepare(context, java_script_enabled=context_options.get("java_script_enabled", True))
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: script_errors.append(f"{page.url}: {error}"))
        return page

    yield make

    failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))
    for number, context in enumerate(contexts, start=1):
        if failed:
            for page_number, page in enumerate(context.pages, start=1):
                ARTIFACTS.mkdir(exist_ok=True)
                path = ARTIFACTS / f"{_artifact_name(request.node.nodeid)}-{number}-{page_number}.png"
                try:
                    page.screenshot(path=str(path), full_page=True)
                    print(f"screenshot of {page.url}: {path}")
                except Exception as error:  # a crashed page must not hide the test's own failure
                    print(f"could not save a screenshot of {page.url}: {error}")
        context.close()
    if script_errors and not failed:
        pytest.fail("JavaScript errors in the pages:\n" + "\n".join(script_errors), pytrace=False)


@pytest.fixture
def page(new_page):
    return new_page()
