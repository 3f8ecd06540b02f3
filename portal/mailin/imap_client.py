"""The IMAP side of the intake: one blocking connection to one mailbox, and the pure rules around it.

imap-tools (over the standard ``imaplib``) is synchronous: ``portal.mailin.imap`` runs every
``Session`` method in a thread. A session logs in, selects the folder, lists the messages not yet
taken (unseen and not deleted), fetches their bytes exactly as stored on the server (``BODY.PEEK[]``:
fetching marks nothing), and, once the intake has committed a message, *settles* it: flags it
``\\Seen``, deletes it, or moves it, as the mailbox says. Nothing here touches the database.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from typing import Any

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxFolderSelectError, MailboxLoginError, UnexpectedCommandStatusError
from imap_tools.utils import encode_folder

from portal.mail.secrets import SecretError
from portal.mailin.oauth import TokenError

SECURITIES = ("ssl", "starttls", "none")
AUTHS = ("password", "xoauth2")
AFTERS = ("seen", "delete", "move")
NULL_SENDER = "<>"  # as the listener stores the null return path (bounces, auto-replies)
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_DEAD_AFTER_EMPTY_POLLS = 3  # IDLE polls that return at once with nothing: the server hung up


class ConfigError(Exception):
    """The mailbox's IMAP settings cannot work as they are (the message says what to change)."""


class ImapError(Exception):
    """An IMAP step the server refused, or a connection it dropped (message for an admin)."""


class LoginRefused(ImapError):
    """The server refused the credentials."""


@dataclass(frozen=True)
class Account:
    """What a connection needs from a ``mailbox`` row, checked."""

    id: int
    address: str
    host: str
    port: int
    security: str
    user: str
    auth: str
    folder: str
    after: str
    move_to: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Account:
        account = cls(
            id=int(row["id"]),
            address=str(row["address"]),
            host=str(row.get("imap_host") or "").strip(),
            port=int(row.get("imap_port") or 0),
            security=str(row.get("imap_security") or "ssl"),
            user=str(row.get("imap_user") or "").strip() or str(row["address"]),
            auth=str(row.get("imap_auth") or "password"),
            folder=str(row.get("imap_folder") or "").strip() or "INBOX",
            after=str(row.get("imap_after") or "seen"),
            move_to=str(row.get("imap_move_to") or "").strip(),
        )
        account.check()
        return account

    def check(self) -> None:
        if not self.host:
            raise ConfigError("No IMAP server is set for this mailbox.")
        if not 0 < self.port < 65536:
            raise ConfigError(f"The IMAP port {self.port} is not a port number.")
        for value, allowed, what in (
            (self.security, SECURITIES, "security"),
            (self.auth, AUTHS, "sign-in method"),
            (self.after, AFTERS, "action after taking a message"),
        ):
            if value not in allowed:
                raise ConfigError(f"Unknown IMAP {what} {value!r} (one of: {', '.join(allowed)}).")
        if self.after == "move" and not self.move_to:
            raise ConfigError("Choose the folder that taken messages move to.")
        if self.after == "move" and self.move_to == self.folder:
            raise ConfigError("Taken messages cannot move to the folder they are taken from.")

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Credential:
    mechanism: str  # password | xoauth2
    secret: str = field(repr=False)  # the password, or the OAuth2 access token


class Session:
    """One logged-in IMAP connection with the mailbox's folder selected. Blocking, thread-safe
    (one call at a time): run its methods in a worker thread."""

    def __init__(self, box: BaseMailBox, account: Account, capabilities: frozenset[str]) -> None:
        self.box = box
        self.account = account
        self.capabilities = capabilities
        self._lock = threading.Lock()
        self._empty_polls = 0

    @classmethod
    def open(cls, account: Account, credential: Credential, timeout: float) -> Session:
        box = _connect(account, timeout)
        try:
            _login(box, account, credential)
            session = cls(box, account, _capabilities(box))
            _select(box, account)
            if account.after == "move" and not box.folder.exists(account.move_to):
                _ok(box.client.create(_folder(account.move_to)), f"Creating the folder {account.move_to!r}")
        except BaseException:
            _shutdown(box)
            raise
        return session

    @property
    def supports_idle(self) -> bool:
        return "IDLE" in self.capabilities

    def pending(self, limit: int) -> list[tuple[str, int]]:
        """The oldest ``limit`` messages not yet taken: (uid, size in bytes), oldest first."""
        with self._lock:
            found = _ok(self.box.client.uid("SEARCH", "UNSEEN UNDELETED"), "Searching the folder")
            uids = sorted({int(uid) for uid in b" ".join(item or b"" for item in found).split()})[:limit]
            if not uids:
                return []
            answer = _ok(self.box.client.uid("FETCH", _uid_set(uids), "(UID RFC822.SIZE)"), "Listing messages")
        sizes: dict[str, int] = {}
        for item in answer:
            text = item[0] if isinstance(item, tuple) else item
            uid, size = _UID.search(text or b""), _SIZE.search(text or b"")
            if uid and size:
                sizes[uid.group(1).decode()] = int(size.group(1))
        return [(str(uid), sizes[str(uid)]) for uid in uids if str(uid) in sizes]

    def fetch_raw(self, uids: list[str]) -> list[tuple[str, bytes]]:
        """The messages' bytes exactly as the server stores them (without marking them seen)."""
        with self._lock:
            answer = _ok(self.box.client.uid("FETCH", ",".join(uids), "(UID BODY.PEEK[])"), "Fetching messages")
        return messages_in(answer, wanted=set(uids))

    def settle(self, uid: str) -> None:
        """What the mailbox says to do with a message once the intake committed it."""
        client, account = self.box.client, self.account
        with self._lock:
            if account.after == "seen":
                _ok(client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)"), "Flagging a message as seen")
            elif account.after == "move" and "MOVE" in self.capabilities:
                _ok(client.uid("MOVE", uid, _folder(account.move_to)), f"Moving a message to {account.move_to!r}")
            else:
                if account.after == "move":
                    _ok(client.uid("COPY", uid, _folder(account.move_to)), f"Copying a message to {account.move_to!r}")
                _ok(client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "Deleting a message")
                self._expunge(uid)

    def _expunge(self, uid: str) -> None:
        """Only this message where the server can (UIDPLUS): never someone's other deleted mail."""
        if "UIDPLUS" in self.capabilities:
            _ok(self.box.client.uid("EXPUNGE", uid), "Expunging a message")
        else:
            _ok(self.box.client.expunge(), "Expunging the folder")

    def idle_start(self) -> None:
        with self._lock:
            self.box.idle.start()  # type: ignore[no-untyped-call]
            self._empty_polls = 0

    def idle_news(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds in IDLE; whether a new message arrived."""
        with self._lock:
            started = time.monotonic()
            lines = self.box.idle.poll(timeout)
            quick = time.monotonic() - started < timeout / 2
        if any(line.startswith(b"* BYE") for line in lines):
            raise ImapError("The IMAP server ended the session.")
        self._empty_polls = self._empty_polls + 1 if quick and not lines else 0
        if self._empty_polls >= _DEAD_AFTER_EMPTY_POLLS:
            raise ImapError("The IMAP server closed the connection.")
        return any(b" EXISTS" in line for line in lines)

    def idle_stop(self) -> None:
        with self._lock:
            self.box.idle.stop()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        """Log out; a connection that is already gone is only closed."""
        with self._lock:
            try:
                self.box.logout()
            except (OSError, imaplib.IMAP4.error, UnexpectedCommandStatusError):
                _shutdown(self.box)


def _connect(account: Account, timeout: float) -> BaseMailBox:
    if account.security == "ssl":
        return MailBox(account.host, account.port, timeout=timeout, ssl_context=ssl.create_default_context())
    if account.security == "starttls":
        return MailBoxStartTls(account.host, account.port, timeout=timeout, ssl_context=ssl.create_default_context())
    return MailBoxUnencrypted(account.host, account.port, timeout=timeout)


def _login(box: BaseMailBox, account: Account, credential: Credential) -> None:
    try:
        if credential.mechanism == "xoauth2":
            box.xoauth2(account.user, credential.secret, initial_folder=None)
        else:
            box.login(account.user, credential.secret, initial_folder=None)
    except MailboxLoginError as error:
        raise LoginRefused(f"The IMAP server refused the sign-in of {account.user}: {server_text(error)}.") from error
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as error:  # imaplib's AUTHENTICATE (XOAUTH2) raises instead of returning NO
        raise LoginRefused(f"The IMAP server refused the sign-in of {account.user}: {_text(error.args)}.") from error


def _select(box: BaseMailBox, account: Account) -> None:
    try:
        box.folder.set(account.folder)
    except MailboxFolderSelectError as error:
        raise ImapError(f"The folder {account.folder!r} cannot be opened: {server_text(error)}.") from error


def _capabilities(box: BaseMailBox) -> frozenset[str]:
    """After login: servers announce more (MOVE, UIDPLUS) than in their greeting."""
    answer = _ok(box.client.capability(), "Asking the server's capabilities")
    words = b" ".join(item for item in answer if isinstance(item, bytes)).decode(errors="replace").upper().split()
    return frozenset(words) | frozenset(word.upper() for word in box.client.capabilities)


def _shutdown(box: BaseMailBox) -> None:
    try:
        box.client.shutdown()
    except OSError:
        pass


def _ok(result: tuple[str, list[Any]], what: str) -> list[Any]:
    status, data = result
    if status != "OK":
        raise ImapError(f"{what} failed: {_text(data)}.")
    return data


def _folder(name: str) -> str:
    """A folder name as a command argument (modified UTF-7, quoted)."""
    return encode_folder(name).decode("ascii")


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _text(data: object) -> str:
    items = data if isinstance(data, list | tuple) else [data]
    parts = [item.decode(errors="replace") if isinstance(item, bytes) else str(item) for item in items if item]
    return " ".join(parts).strip()[:200].rstrip(". ") or "no reason given"


def server_text(error: UnexpectedCommandStatusError) -> str:
    """What the server said when it refused (its words, never our request)."""
    return _text(error.command_result[1])


def messages_in(answer: list[Any], wanted: set[str]) -> list[tuple[str, bytes]]:
    """(uid, raw bytes) from an imaplib ``UID FETCH … BODY[]`` answer, in the server's order.

    imaplib gives each message as a tuple (response head, literal) followed by the rest of the
    response line as bytes; the UID is in the head or, on some servers, in that rest."""
    found: list[tuple[bytes, bytes]] = []
    for item in answer:
        if isinstance(item, tuple) and len(item) == 2:
            found.append((item[0], item[1]))
        elif isinstance(item, bytes) and found:
            head, raw = found[-1]
            found[-1] = (head + b" " + item, raw)
    taken: dict[str, bytes] = {}
    for head, raw in found:
        match = _UID.search(head)
        if match and match.group(1).decode() in wanted:
            taken.setdefault(match.group(1).decode(), raw)
    return list(taken.items())


def plan_batches(pending: list[tuple[str, int]], *, limit: int, budget: int) -> tuple[list[list[str]], list[str]]:
    """Group (uid, size) into fetches of at most ``budget`` bytes each (a bigger message alone),
    keeping their order; messages over ``limit`` are left out and listed apart (never fetched)."""
    batches: list[list[str]] = []
    too_large: list[str] = []
    total = 0
    for uid, size in pending:
        if size > limit:
            too_large.append(uid)
            continue
        if not batches or total + size > budget:
            batches.append([])
            total = 0
        batches[-1].append(uid)
        total += size
    return batches, too_large


def backoff_seconds(failures: int, first: float = 5.0, cap: float = 300.0) -> float:
    """Wait before reconnecting after ``failures`` failures in a row: 5 s, 10 s, 20 s … 5 min."""
    return min(cap, first * 2.0 ** min(max(0, failures - 1), 30))


def return_path(raw: bytes) -> str:
    """The envelope sender the delivering server recorded (the first Return-Path), "<>" for the
    null sender, "" when there is none."""
    value = BytesHeaderParser().parsebytes(raw).get("Return-Path")
    if value is None:
        return ""
    text = str(value).strip()
    if text.replace(" ", "") == NULL_SENDER:
        return NULL_SENDER
    return parseaddr(text)[1]


def describe(error: BaseException, account: Account | None) -> str:
    """One sentence for the mailbox's health line: what failed, never a secret."""
    where = account.server if account else "the IMAP server"
    host = account.host if account else "the IMAP server"
    if isinstance(error, ConfigError | SecretError | ImapError | TokenError):
        message = str(error)
    elif isinstance(error, socket.gaierror):
        message = f"The IMAP server {host} cannot be found: {error.strerror or error}."
    elif isinstance(error, ConnectionRefusedError):
        message = f"{where} refused the connection: check the server and port."
    elif isinstance(error, TimeoutError):
        message = f"{where} did not answer in time."
    elif isinstance(error, ssl.SSLCertVerificationError):
        message = f"The TLS certificate of {host} is not trusted: {getattr(error, 'verify_message', None) or error}."
    elif isinstance(error, ssl.SSLError):
        message = (
            f"TLS with {where} failed ({getattr(error, 'reason', None) or error}): check the security setting and port."
        )
    elif isinstance(error, imaplib.IMAP4.abort):
        message = f"{where} closed the connection: {_text(error.args)}."
    elif isinstance(error, imaplib.IMAP4.error):
        message = f"{where} answered with an error: {_text(error.args)}."
    elif isinstance(error, UnexpectedCommandStatusError):
        message = f"{where} refused a command: {server_text(error)}."
    elif isinstance(error, OSError):
        message = f"Network error with {where}: {error.strerror or type(error).__name__}."
    else:
        message = f"Unexpected error ({type(error).__name__}); see the server log."
    return message[:300]
