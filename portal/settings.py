"""Configuration from PORTAL_* environment variables, with defaults that need no set-up.

Every variable is listed in ``VARIABLES`` (name, default, meaning) so the README table and
``portal config`` print the same truth as the code reads.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def _flag(text: str) -> bool:
    return text in {"1", "true", "yes"}


def _retention_days(text: str) -> int:
    return min(3650, max(0, int(text)))


def _absolute_dir(text: str) -> Path:
    path = Path(text)
    return path if path.is_absolute() else Path.cwd() / path


@dataclass(frozen=True)
class Variable:
    """One PORTAL_* variable: where it lands in ``Settings``, its default and how its text is read.

    ``field`` is empty for the variables whose default depends on another (database, secret key):
    ``from_env`` works those out itself. ``shown`` replaces the default in the docs where the
    default is not a fixed text. ``keeps_empty``: an empty value means "none" rather than "default".
    """

    name: str
    field: str
    default: str
    meaning: str
    parse: Callable[[str], Any] = str
    shown: str = ""
    keeps_empty: bool = False

    def read(self, env: Mapping[str, str]) -> Any:
        text = env.get(self.name)
        if text is None or (not text and not self.keeps_empty):
            text = self.default
        return self.parse(text)


ENV: list[Variable] = [
    Variable(
        "PORTAL_DATABASE_URL",
        "",
        "sqlite:///var/portal.sqlite3",
        "`sqlite:///relative/path`, `sqlite:////absolute/path` or `postgresql://user:pass@host:5432/db`",
    ),
    Variable("PORTAL_DB_POOL_SIZE", "db_pool_size", "10", "PostgreSQL connections per app process", int),
    Variable(
        "PORTAL_REDIS_URL",
        "redis_url",
        "",
        "Redis for sessions and rate limits shared by several hosts (else files under var/)",
    ),
    Variable(
        "PORTAL_SECRET_KEY", "", "generated into var/secret_key", "signs CSRF tokens; set the same value on every host"
    ),
    Variable(
        "PORTAL_BASE_URL",
        "base_url",
        "http://127.0.0.1:8000",
        "public address used in mailed links; https turns on Secure cookies",
        lambda text: text.rstrip("/"),
        shown="the address `portal serve` listens on (http://127.0.0.1:8000)",
    ),
    Variable("PORTAL_SITE_NAME", "site_name", "Front Desk", "name shown in pages and mails"),
    Variable(
        "PORTAL_VAR_DIR",
        "var_dir",
        "var",
        "runtime files: SQLite database, sessions, uploads (var/uploads), secret key",
        _absolute_dir,
    ),
    Variable(
        "PORTAL_SMTP_URL",
        "smtp_url",
        "",
        "`smtp://user:pass@host:25`, `smtp+starttls://…:587` or `smtps://…:465`; empty keeps mail in the outbox",
    ),
    Variable("PORTAL_MAIL_FROM", "mail_from", "Front Desk <desk@localhost>", "sender of outgoing mail"),
    Variable(
        "PORTAL_MAIL_IN_LISTEN",
        "mail_in_listen",
        "",
        "where the mail intake listens: `127.0.0.1:8025` (SMTP) or `unix:/path` (LMTP); empty: no listener",
    ),
    Variable(
        "PORTAL_MAIL_IMAP",
        "mail_imap",
        "poll",
        "IMAP mailboxes: `poll` (a job fetches each minute), `idle` (the intake holds IDLE connections: `portal mail-in`, or `portal serve` with the listener) or `off`",
        str.lower,
    ),
    Variable(
        "PORTAL_MAIL_KEYS",
        "mail_keys",
        "",
        "comma-separated keys that sign reply addresses; the first signs, all verify (rotation). Empty: derived from the secret key",
        shown="derived from PORTAL_SECRET_KEY",
    ),
    Variable(
        "PORTAL_MAIL_SENDER_HOURLY_LIMIT",
        "mail_sender_hourly_limit",
        "30",
        "mails per hour from one sender (or into one ticket) before the loop breaker holds the rest",
        int,
    ),
    Variable(
        "PORTAL_MAIL_MAX_BYTES",
        "mail_max_bytes",
        "26214400",
        "largest mail the intake accepts (bytes)",
        int,
    ),
    Variable(
        "PORTAL_OUTBOX_RETENTION_DAYS",
        "outbox_retention_days",
        "7",
        "days a delivered mail keeps its links readable in the outbox; then they are masked (0: at delivery)",
        _retention_days,
    ),
    Variable(
        "PORTAL_WORKER",
        "worker",
        "inprocess",
        "`inprocess` runs jobs inside each app process; `off` leaves them to `portal worker`",
        str.lower,
    ),
    Variable(
        "PORTAL_LOGIN_MAX_FAILURES",
        "login_max_failures",
        "5",
        "failed logins per account before it is throttled for the window",
        int,
    ),
    Variable(
        "PORTAL_LOGIN_MAX_PER_IP",
        "login_max_per_ip",
        "20",
        "failed logins per IP address per window (successful ones do not count)",
        int,
    ),
    Variable(
        "PORTAL_LOGIN_WINDOW_SECONDS",
        "login_window_seconds",
        "900",
        "throttle window for logins and password-reset requests",
        int,
    ),
    Variable(
        "PORTAL_SESSION_MAX_AGE",
        "session_max_age",
        "1209600",
        "seconds a session lives without activity (default 14 days)",
        int,
    ),
    Variable(
        "PORTAL_UPLOAD_MAX_BYTES", "upload_max_bytes", "10485760", "largest attachment accepted, in bytes (10 MB)", int
    ),
    Variable("PORTAL_UPLOAD_MAX_FILES", "upload_max_files", "5", "attachments per message", int),
    Variable("PORTAL_DEBUG", "debug", "0", "1 reloads templates when they change (development)", _flag),
    Variable(
        "PORTAL_SERVER_TIMING",
        "server_timing",
        "0",
        "1 sends the `Server-Timing` header (time, SQL statements) to everyone, for benchmarks; else only to signed-in staff",
        _flag,
    ),
    Variable(
        "PORTAL_FORWARDED_ALLOW_IPS",
        "forwarded_allow_ips",
        "127.0.0.1",
        "comma-separated proxy addresses (or `*`) whose `X-Forwarded-For`/`X-Forwarded-Proto` `portal serve` trusts; "
        "empty trusts none",
        str.strip,
        keeps_empty=True,
    ),
]

# (name, default as documented, meaning): the rows of the README table and of ``portal config``.
VARIABLES: list[tuple[str, str, str]] = [(v.name, v.shown or v.default, v.meaning) for v in ENV]

# The parsed default of every variable that has a fixed one, by Settings field.
_DEFAULTS: dict[str, Any] = {v.field: v.parse(v.default) for v in ENV if v.field and v.field != "var_dir"}


def serve_base_url(host: str, port: int) -> str:
    """The address ``portal serve`` answers on, as the default for mailed links. A wildcard bind
    (0.0.0.0, ::) names no address a reader could open: 127.0.0.1 stands in for it."""
    host = host.strip()
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _default_database_url(var_dir: Path) -> str:
    return f"sqlite:///{var_dir / 'portal.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    var_dir: Path
    secret_key: str
    base_url: str = _DEFAULTS["base_url"]
    site_name: str = _DEFAULTS["site_name"]
    db_pool_size: int = _DEFAULTS["db_pool_size"]
    redis_url: str = _DEFAULTS["redis_url"]
    smtp_url: str = _DEFAULTS["smtp_url"]
    mail_from: str = _DEFAULTS["mail_from"]
    mail_in_listen: str = _DEFAULTS["mail_in_listen"]
    mail_keys: str = _DEFAULTS["mail_keys"]
    mail_imap: str = _DEFAULTS["mail_imap"]
    mail_sender_hourly_limit: int = _DEFAULTS["mail_sender_hourly_limit"]
    mail_max_bytes: int = _DEFAULTS["mail_max_bytes"]
    outbox_retention_days: int = _DEFAULTS["outbox_retention_days"]
    worker: str = _DEFAULTS["worker"]
    login_max_failures: int = _DEFAULTS["login_max_failures"]
    login_max_per_ip: int = _DEFAULTS["login_max_per_ip"]
    login_window_seconds: int = _DEFAULTS["login_window_seconds"]
    session_max_age: int = _DEFAULTS["session_max_age"]
    upload_max_bytes: int = _DEFAULTS["upload_max_bytes"]
    upload_max_files: int = _DEFAULTS["upload_max_files"]
    debug: bool = _DEFAULTS["debug"]
    server_timing: bool = _DEFAULTS["server_timing"]
    forwarded_allow_ips: str = _DEFAULTS["forwarded_allow_ips"]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def run_worker_in_process(self) -> bool:
        return self.worker == "inprocess"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values = {v.field: v.read(env) for v in ENV if v.field}
        var_dir = values["var_dir"]
        return cls(
            database_url=env.get("PORTAL_DATABASE_URL") or _default_database_url(var_dir),
            secret_key=env.get("PORTAL_SECRET_KEY") or _stored_secret(var_dir),
            **values,
        )


def _stored_secret(var_dir: Path) -> str:
    """A per-installation secret kept in var/, so restarts and sibling workers agree on it."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # a sibling process won the race
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


_active: Settings | None = None


def get_settings() -> Settings:
    """The settings in force: those given to ``create_app``, else read once from the environment."""
    global _active
    if _active is None:
        _active = Settings.from_env()
    return _active


def use_settings(settings: Settings) -> None:
    global _active
    _active = settings
