"""IMAP intake against a real IMAP server (Dovecot, started by scripts/ensure-dovecot): each mail
is stored byte for byte with its parse job before the server hears about it (seen, deleted or
moved), once; failures land in the mailbox's health, never in an exception; XOAUTH2 refreshes its
token at a real (local) token endpoint; IDLE brings mail in within seconds.

Without the server these tests are skipped, unless PORTAL_REQUIRE_IMAP=1 (CI) makes that a failure.
Every test works in a folder of its own on the server, removed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from imap_tools import MailBoxUnencrypted

from portal.clock import utcnow
from portal.db import fetch, write_transaction
from portal.jobs.tables import Job
from portal.mail import secrets
from portal.mail.tables import Mailbox
from portal.mailin import imap
from portal.mailin.imap import fetch_mailbox, idle_forever, poll_all
from portal.mailin.tables import InboundMail
from portal.settings import get_settings, use_settings

HOST = "127.0.0.1"
PLAIN_PORT = 10143
TLS_PORT = 10993
DESK_USER, DESK_PASSWORD = "desk@example.org", "desk-pass"
OAUTH_USER, OAUTH_TOKEN = "oauth@example.org", "frontdesk-test-access-token"
CERT = Path(os.environ.get("FRONTDESK_DOVECOT_DIR", "/tmp/frontdesk-dovecot")) / "cert.pem"
SECRET_VARIABLE = "FRONTDESK_TEST_IMAP_SECRET"


def _reachable() -> bool:
    try:
        with socket.create_connection((HOST, PLAIN_PORT), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def imap_server() -> None:
    if _reachable():
        return
    reason = f"no IMAP server on {HOST}:{PLAIN_PORT}: run scripts/ensure-dovecot (as root)"
    if os.environ.get("PORTAL_REQUIRE_IMAP", "") == "1":
        pytest.fail(reason + " (PORTAL_REQUIRE_IMAP=1 is set)", pytrace=False)
    pytest.skip(reason + "; set PORTAL_REQUIRE_IMAP=1 to make this a failure")


# --- the IMAP server, as a mail client sees it ---------------------------------------------------


def server(user: str = DESK_USER, password: str = DESK_PASSWORD) -> MailBoxUnencrypted:
    box = MailBoxUnencrypted(HOST, PLAIN_PORT, timeout=10)
    if user == OAUTH_USER:
        return box.xoauth2(user, OAUTH_TOKEN, initial_folder=None)
    return box.login(user, password, initial_folder=None)


class Folder:
    """A folder of the test's own on the Dovecot server."""

    def __init__(self, user: str = DESK_USER) -> None:
        self.user = user
        self.name = f"t{uuid.uuid4().hex[:10]}"

    def append(self, raw: bytes, *, flags: tuple[str, ...] = (), folder: str | None = None) -> None:
        with server(self.user) as box:
            box.append(raw, folder or self.name, flag_set=flags or None)

    def flags(self, folder: str | None = None) -> list[tuple[str, ...]]:
        """Each message's flags, oldest first."""
        with server(self.user) as box:
            box.folder.set(folder or self.name)
            return [message.flags for message in box.fetch(mark_seen=False, headers_only=True)]

    def remove(self) -> None:
        with server(self.user) as box:
            for info in box.folder.list():
                if info.name.startswith(self.name):
                    box.folder.delete(info.name)


@pytest.fixture
def folder() -> Iterator[Folder]:
    made = Folder()
    with server() as box:
        box.folder.create(made.name)
    yield made
    made.remove()


@pytest.fixture
def oauth_folder() -> Iterator[Folder]:
    made = Folder(OAUTH_USER)
    with server(OAUTH_USER) as box:
        box.folder.create(made.name)
    yield made
    made.remove()


def mail(n: int = 1, *, sender: str = "ann@example.org", size: int = 0) -> bytes:
    """A mail as a sending server leaves it: CRLF, 8-bit Latin-1 body, odd spacing and folding
    that a parse-and-serialize round trip would change."""
    padding = b"x" * size
    return (
        b"Return-Path: <" + sender.encode() + b">\r\n"
        b"From: Ann Lee <" + sender.encode() + b">\r\n"
        b"To: desk@example.org\r\n"
        b"Subject: =?utf-8?q?Caf=C3=A9?= printer  #" + str(n).encode() + b"\r\n"
        b"Message-ID: <" + uuid.uuid4().hex.encode() + b"@example.org>\r\n"
        b"X-Odd:   spaced\r\n\tand folded\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Caf\xe9 au lait, the printer on floor " + str(n).encode() + b" is jammed.\r\n" + padding + b"\r\n"
    )


# --- the portal's side --------------------------------------------------------------------------


@pytest.fixture
async def clean(app):
    """The mail tables are not (yet) in conftest's list of tables PostgreSQL runs truncate."""
    if not get_settings().is_sqlite:
        await fetch("TRUNCATE mailbox, inbound_mail RESTART IDENTITY CASCADE")


async def make_mailbox(folder: Folder | None = None, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "address": f"{uuid.uuid4().hex[:8]}@desk.example.org",
        "intake": "imap",
        "imap_host": HOST,
        "imap_port": PLAIN_PORT,
        "imap_security": "none",
        "imap_user": DESK_USER,
        "imap_secret": secrets.encrypt(DESK_PASSWORD),
        "imap_folder": folder.name if folder else "INBOX",
        "created_at": utcnow(),
        **fields,
    }
    async with write_transaction():
        rows = await Mailbox.insert(Mailbox(**values)).run()
    return await mailbox_row(rows[0]["id"])


async def mailbox_row(mailbox_id: int) -> dict[str, Any]:
    row = await Mailbox.select().where(Mailbox.id == mailbox_id).first()
    assert row is not None
    return row


async def change(mailbox: dict[str, Any], **fields: Any) -> dict[str, Any]:
    async with write_transaction():
        await Mailbox.update({getattr(Mailbox, key): value for key, value in fields.items()}).where(
            Mailbox.id == mailbox["id"]
        )
    return await mailbox_row(mailbox["id"])


async def inbound() -> list[dict[str, Any]]:
    return await InboundMail.select().order_by(InboundMail.id)


async def parse_jobs() -> list[dict[str, Any]]:
    return await Job.select().where(Job.kind == "mailin.process").order_by(Job.id)


def payload(job: dict[str, Any]) -> Any:
    return json.loads(job["payload"]) if isinstance(job["payload"], str) else job["payload"]


SEEN = "\\Seen"


# --- taking mail ---------------------------------------------------------------------------------


async def test_each_mail_is_stored_byte_for_byte_then_flagged_seen_once(clean, folder):
    raws = [mail(1), mail(2, sender="bob@example.org"), mail(3)]
    for raw in raws:
        folder.append(raw)
    folder.append(mail(4), flags=(SEEN,))  # read in a mail program before the desk looked: not taken
    mailbox = await make_mailbox(folder)

    assert await fetch_mailbox(mailbox) == 3

    rows = await inbound()
    assert [bytes(row["raw_message"]) for row in rows] == raws
    assert {row["source"] for row in rows} == {"imap"}
    assert {row["mailbox"] for row in rows} == {mailbox["id"]}
    assert [row["envelope_from"] for row in rows] == ["ann@example.org", "bob@example.org", "ann@example.org"]
    assert {tuple(json.loads(row["envelope_to"])) for row in rows} == {(mailbox["address"],)}
    assert [payload(job) for job in await parse_jobs()] == [{"inbound_id": row["id"]} for row in rows]
    assert all(SEEN in flags for flags in folder.flags())
    health = await mailbox_row(mailbox["id"])
    assert health["last_success_at"] is not None and health["last_error"] == ""

    assert await fetch_mailbox(mailbox) == 0  # a second round takes nothing new
    assert len(await inbound()) == 3


async def test_delete_mode_removes_the_mail_after_storing_it(clean, folder):
    folder.append(mail(1))
    folder.append(mail(2))
    mailbox = await make_mailbox(folder, imap_after="delete")

    assert await fetch_mailbox(mailbox) == 2
    assert folder.flags() == []
    assert len(await inbound()) == 2


async def test_move_mode_moves_the_mail_to_its_folder_made_on_first_use(clean, folder):
    raw = mail(1)
    folder.append(raw)
    done = f"{folder.name}-done"
    mailbox = await make_mailbox(folder, imap_after="move", imap_move_to=done)

    assert await fetch_mailbox(mailbox) == 1
    assert folder.flags() == []
    assert len(folder.flags(done)) == 1
    assert [bytes(row["raw_message"]) for row in await inbound()] == [raw]
    assert await fetch_mailbox(mailbox) == 0


async def test_a_round_takes_at_most_its_cap_and_the_next_round_the_rest(clean, folder, monkeypatch):
    monkeypatch.setattr(imap, "MAX_PER_ROUND", 3)
    raws = [mail(n) for n in range(5)]
    for raw in raws:
        folder.append(raw)
    mailbox = await make_mailbox(folder)

    assert await fetch_mailbox(mailbox) == 3
    assert await fetch_mailbox(mailbox) == 2
    assert [bytes(row["raw_message"]) for row in await inbound()] == raws  # oldest first


async def test_a_mail_over_the_size_limit_stays_unread_and_the_health_says_so(clean, folder, settings):
    use_settings(settings.with_(mail_max_bytes=4000))
    try:
        folder.append(mail(1, size=5000))
        small = mail(2)
        folder.append(small)
        mailbox = await make_mailbox(folder)

        assert await fetch_mailbox(mailbox) == 1
    finally:
        use_settings(settings)
    assert [bytes(row["raw_message"]) for row in await inbound()] == [small]
    assert [SEEN in flags for flags in folder.flags()] == [False, True]
    health = await mailbox_row(mailbox["id"])
    assert health["last_success_at"] is not None
    assert health["last_error"].startswith("1 message over the size limit (4,000 bytes) left unread in t")


async def test_a_mail_that_cannot_be_stored_stays_unread_on_the_server(clean, folder):
    """Nothing is flagged before the intake committed: with the table away, the mail stays."""
    folder.append(mail(1))
    mailbox = await make_mailbox(folder)
    await fetch("ALTER TABLE inbound_mail RENAME TO inbound_mail_away")
    try:
        assert await fetch_mailbox(mailbox) == 0
    finally:
        await fetch("ALTER TABLE inbound_mail_away RENAME TO inbound_mail")
    assert [SEEN in flags for flags in folder.flags()] == [False]
    health = await mailbox_row(mailbox["id"])
    assert health["last_error"].startswith("A fetched message could not be stored")

    assert await fetch_mailbox(mailbox) == 1  # once the database is back
    assert [SEEN in flags for flags in folder.flags()] == [True]


# --- secrets and sign-in -------------------------------------------------------------------------


async def test_the_secret_can_come_from_a_named_environment_variable(clean, folder, monkeypatch):
    folder.append(mail(1))
    mailbox = await make_mailbox(folder, imap_secret="", imap_secret_env=SECRET_VARIABLE)

    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    assert await fetch_mailbox(mailbox) == 0
    health = await mailbox_row(mailbox["id"])
    assert SECRET_VARIABLE in health["last_error"] and "not set" in health["last_error"]

    monkeypatch.setenv(SECRET_VARIABLE, DESK_PASSWORD)
    assert await fetch_mailbox(mailbox) == 1


async def test_a_wrong_password_is_recorded_not_raised(clean, folder):
    folder.append(mail(1))
    mailbox = await make_mailbox(folder, imap_secret=secrets.encrypt("not-the-password"))

    assert await fetch_mailbox(mailbox) == 0

    health = await mailbox_row(mailbox["id"])
    assert health["last_error"].startswith(f"The IMAP server refused the sign-in of {DESK_USER}")
    assert "not-the-password" not in health["last_error"]
    assert health["last_error_at"] is not None and health["last_success_at"] is None
    assert [SEEN in flags for flags in folder.flags()] == [False]

    mailbox = await change(mailbox, imap_secret=secrets.encrypt(DESK_PASSWORD))
    assert await fetch_mailbox(mailbox) == 1
    assert (await mailbox_row(mailbox["id"]))["last_error"] == ""


async def test_unreachable_servers_and_missing_folders_are_recorded(clean, folder):
    closed = socket.socket()
    closed.bind((HOST, 0))
    port = closed.getsockname()[1]
    closed.close()
    nowhere = await make_mailbox(folder, imap_port=port)
    no_folder = await make_mailbox(imap_folder="No such folder")

    assert await fetch_mailbox(nowhere) == 0
    assert await fetch_mailbox(no_folder) == 0

    assert (await mailbox_row(nowhere["id"]))[
        "last_error"
    ] == f"{HOST}:{port} refused the connection: check the server and port."
    assert (await mailbox_row(no_folder["id"]))["last_error"].startswith("The folder 'No such folder' cannot be opened")


@pytest.mark.skipif(not CERT.exists(), reason=f"no {CERT} (scripts/ensure-dovecot makes it)")
async def test_tls_and_starttls_check_the_certificate(clean, folder, monkeypatch):
    folder.append(mail(1))
    folder.append(mail(2))
    over_tls = await make_mailbox(folder, imap_security="ssl", imap_port=TLS_PORT)
    over_starttls = await make_mailbox(folder, imap_security="starttls", imap_port=PLAIN_PORT)

    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent")  # trust nothing: the self-signed certificate fails
    assert await fetch_mailbox(over_tls) == 0
    assert "The TLS certificate of 127.0.0.1 is not trusted" in (await mailbox_row(over_tls["id"]))["last_error"]

    monkeypatch.setenv("SSL_CERT_FILE", str(CERT))
    assert await fetch_mailbox(over_tls) == 2
    folder.append(mail(3))
    assert await fetch_mailbox(over_starttls) == 1


# --- XOAUTH2 -------------------------------------------------------------------------------------


class TokenEndpoint:
    """A real HTTP token endpoint on a free port: it checks the refresh grant and answers as told."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer: tuple[int, dict[str, Any]] = (200, {})
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                endpoint.requests.append(
                    {"path": self.path, "type": self.headers["Content-Type"], "form": parse_qs(body)}
                )
                status, answer = endpoint.answer
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/oauth2/v2.0/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint()
    yield endpoint
    endpoint.close()


def grant(endpoint: TokenEndpoint, refresh_token: str = "refresh-1") -> str:
    return json.dumps(
        {
            "token_url": endpoint.url,
            "client_id": "front-desk-app",
            "client_secret": "app-secret",
            "refresh_token": refresh_token,
            "scope": "https://outlook.office365.com/IMAP.AccessAsUser.All offline_access",
        }
    )


async def test_xoauth2_refreshes_the_token_signs_in_and_keeps_the_rotated_refresh_token(
    clean, oauth_folder, token_endpoint
):
    oauth_folder.append(mail(1))
    token_endpoint.answer = (
        200,
        {"access_token": OAUTH_TOKEN, "token_type": "Bearer", "expires_in": 3599, "refresh_token": "refresh-2"},
    )
    mailbox = await make_mailbox(
        oauth_folder, imap_user=OAUTH_USER, imap_auth="xoauth2", imap_secret=secrets.encrypt(grant(token_endpoint))
    )

    assert await fetch_mailbox(mailbox) == 1  # Dovecot accepted the XOAUTH2 string with that token

    assert token_endpoint.requests == [
        {
            "path": "/oauth2/v2.0/token",
            "type": "application/x-www-form-urlencoded",
            "form": {
                "grant_type": ["refresh_token"],
                "refresh_token": ["refresh-1"],
                "client_id": ["front-desk-app"],
                "client_secret": ["app-secret"],
                "scope": ["https://outlook.office365.com/IMAP.AccessAsUser.All offline_access"],
            },
        }
    ]
    mailbox = await mailbox_row(mailbox["id"])
    assert json.loads(secrets.decrypt(mailbox["imap_secret"]))["refresh_token"] == "refresh-2"

    oauth_folder.append(mail(2))
    assert await fetch_mailbox(mailbox) == 1
    assert len(token_endpoint.requests) == 1  # the access token is cached until it expires


async def test_an_access_token_as_the_secret_is_used_as_it_is(clean, oauth_folder):
    oauth_folder.append(mail(1))
    mailbox = await make_mailbox(
        oauth_folder, imap_user=OAUTH_USER, imap_auth="xoauth2", imap_secret=secrets.encrypt(OAUTH_TOKEN)
    )
    assert await fetch_mailbox(mailbox) == 1


async def test_a_refused_refresh_or_token_is_recorded_and_asked_again(clean, oauth_folder, token_endpoint):
    oauth_folder.append(mail(1))
    mailbox = await make_mailbox(
        oauth_folder, imap_user=OAUTH_USER, imap_auth="xoauth2", imap_secret=secrets.encrypt(grant(token_endpoint))
    )
    token_endpoint.answer = (400, {"error": "invalid_grant", "error_description": "AADSTS70008: expired"})
    assert await fetch_mailbox(mailbox) == 0
    last_error = (await mailbox_row(mailbox["id"]))["last_error"]
    assert last_error == "The OAuth2 token endpoint refused the refresh (400): invalid_grant: AADSTS70008: expired"

    token_endpoint.answer = (200, {"access_token": "a-token-dovecot-does-not-know", "expires_in": 3600})
    assert await fetch_mailbox(mailbox) == 0
    assert "refused the sign-in of oauth@example.org" in (await mailbox_row(mailbox["id"]))["last_error"]

    token_endpoint.answer = (200, {"access_token": OAUTH_TOKEN, "expires_in": 3600})
    assert await fetch_mailbox(mailbox) == 1  # the refused token was not kept: asked again
    assert len(token_endpoint.requests) == 3


# --- every mailbox, and IDLE ---------------------------------------------------------------------


async def test_poll_all_takes_from_active_imap_mailboxes_only(clean, folder):
    other = Folder()
    with server() as box:
        box.folder.create(other.name)
    try:
        folder.append(mail(1))
        other.append(mail(2))
        other.append(mail(3))
        await make_mailbox(folder)
        await make_mailbox(other)
        await make_mailbox(folder, is_active=False)
        await make_mailbox(folder, intake="listener")

        assert await poll_all() == 3
        assert await poll_all() == 0
    finally:
        other.remove()


async def wait_for(condition: Any, seconds: float = 8.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_idle_brings_mail_in_within_seconds_and_picks_up_new_mailboxes(clean, folder, monkeypatch):
    monkeypatch.setattr(imap, "RELIST_SECONDS", 0.5)
    folder.append(mail(1))
    first = await make_mailbox(folder)
    stop = asyncio.Event()
    task = asyncio.create_task(idle_forever(stop))
    try:
        await wait_for(lambda: _count_inbound(1))  # what waited is taken at once

        await asyncio.to_thread(folder.append, mail(2))
        started = time.monotonic()
        await wait_for(lambda: _count_inbound(2))
        assert time.monotonic() - started < 5

        other = Folder()
        with server() as box:
            box.folder.create(other.name)
        try:
            await make_mailbox(other)
            await asyncio.to_thread(other.append, mail(3))
            await wait_for(lambda: _count_inbound(3))
        finally:
            await asyncio.to_thread(other.remove)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert all(SEEN in flags for flags in folder.flags())
    assert (await mailbox_row(first["id"]))["last_error"] == ""


async def test_idle_reconnects_after_the_server_drops_the_connection(clean, folder, monkeypatch):
    monkeypatch.setattr(imap, "backoff_seconds", lambda failures: 1.0)
    mailbox = await make_mailbox(folder)
    stop = asyncio.Event()
    task = asyncio.create_task(idle_forever(stop))
    try:
        await wait_for(lambda: _succeeded(mailbox["id"]))
        if not await _kick(DESK_USER):
            pytest.skip("doveadm could not kick the connection (run as root, with scripts/ensure-dovecot's server)")
        await wait_for(lambda: _has_error(mailbox["id"]))
        assert (await mailbox_row(mailbox["id"]))["last_error"] == "The IMAP server ended the session."

        await asyncio.to_thread(folder.append, mail(1))
        await wait_for(lambda: _count_inbound(1))
        await wait_for(lambda: _healthy(mailbox["id"]))  # reconnected: the error is cleared
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def _count_inbound(count: int) -> bool:
    return len(await inbound()) >= count


async def _succeeded(mailbox_id: int) -> bool:
    return (await mailbox_row(mailbox_id))["last_success_at"] is not None


async def _healthy(mailbox_id: int) -> bool:
    return (await mailbox_row(mailbox_id))["last_error"] == ""


async def _has_error(mailbox_id: int) -> bool:
    return (await mailbox_row(mailbox_id))["last_error"] != ""


async def _kick(user: str) -> bool:
    """Make Dovecot drop the user's connections, as a server restart or network cut would."""
    conf = CERT.parent / "dovecot.conf"
    try:
        process = await asyncio.create_subprocess_exec(
            "doveadm",
            "-c",
            str(conf),
            "kick",
            user,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return False
    return await process.wait() == 0
