"""Configuration from PORTAL_* environment variables, with defaults that need no set-up.

Every variable is listed in ``VARIABLES`` (name, default, meaning) so the README table and
``portal config`` print the same truth as the code reads.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

VARIABLES: list[tuple[str, str, str]] = [
    (
        "PORTAL_DATABASE_URL",
        "sqlite:///var/portal.sqlite3",
        "`sqlite:///relative/path`, `sqlite:////absolute/path` or `postgresql://user:pass@host:5432/db`",
    ),
    ("PORTAL_DB_POOL_SIZE", "10", "PostgreSQL connections per app process"),
    ("PORTAL_REDIS_URL", "", "Redis for sessions and rate limits shared by several hosts (else files under var/)"),
    ("PORTAL_SECRET_KEY", "generated into var/secret_key", "signs CSRF tokens; set the same value on every host"),
    (
        "PORTAL_BASE_URL",
        "the address `portal serve` listens on (http://127.0.0.1:8000)",
        "public address used in mailed links; https turns on Secure cookies",
    ),
    ("PORTAL_SITE_NAME", "Front Desk", "name shown in pages and mails"),
    ("PORTAL_VAR_DIR", "var", "runtime files: SQLite database, sessions, uploads (var/uploads), secret key"),
    (
        "PORTAL_SMTP_URL",
        "",
        "`smtp://user:pass@host:25`, `smtp+starttls://…:587` or `smtps://…:465`; empty keeps mail in the outbox",
    ),
    ("PORTAL_MAIL_FROM", "Front Desk <desk@localhost>", "sender of outgoing mail"),
    (
        "PORTAL_OUTBOX_RETENTION_DAYS",
        "7",
        "days a delivered mail keeps its links readable in the outbox; then they are masked (0: at delivery)",
    ),
    (
        "PORTAL_WORKER",
        "inprocess",
        "`inprocess` runs jobs inside each app process; `off` leaves them to `portal worker`",
    ),
    ("PORTAL_LOGIN_MAX_FAILURES", "5", "failed logins per account before it is throttled for the window"),
    ("PORTAL_LOGIN_MAX_PER_IP", "20", "failed logins per IP address per window (successful ones do not count)"),
    ("PORTAL_LOGIN_WINDOW_SECONDS", "900", "throttle window for logins and password-reset requests"),
    ("PORTAL_SESSION_MAX_AGE", "1209600", "seconds a session lives without activity (default 14 days)"),
    ("PORTAL_UPLOAD_MAX_BYTES", "10485760", "largest attachment accepted, in bytes (10 MB)"),
    ("PORTAL_UPLOAD_MAX_FILES", "5", "attachments per message"),
    ("PORTAL_DEBUG", "0", "1 reloads templates when they change (development)"),
    (
        "PORTAL_SERVER_TIMING",
        "0",
        "1 sends the `Server-Timing` header (time, SQL statements) to everyone, for benchmarks; else only to signed-in staff",
    ),
    (
        "PORTAL_FORWARDED_ALLOW_IPS",
        "127.0.0.1",
        "comma-separated proxy addresses (or `*`) whose `X-Forwarded-For`/`X-Forwarded-Proto` `portal serve` trusts; "
        "empty trusts none",
    ),
]


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
    base_url: str = "http://127.0.0.1:8000"
    site_name: str = "Front Desk"
    db_pool_size: int = 10
    redis_url: str = ""
    smtp_url: str = ""
    mail_from: str = "Front Desk <desk@localhost>"
    outbox_retention_days: int = 7
    worker: str = "inprocess"
    login_max_failures: int = 5
    login_max_per_ip: int = 20
    login_window_seconds: int = 900
    session_max_age: int = 14 * 24 * 3600
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_max_files: int = 5
    debug: bool = False
    server_timing: bool = False
    forwarded_allow_ips: str = "127.0.0.1"
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
        var_dir = Path(env.get("PORTAL_VAR_DIR") or "var")
        if not var_dir.is_absolute():
            var_dir = Path.cwd() / var_dir
        return cls(
            database_url=env.get("PORTAL_DATABASE_URL") or _default_database_url(var_dir),
            var_dir=var_dir,
            secret_key=env.get("PORTAL_SECRET_KEY") or _stored_secret(var_dir),
            base_url=(env.get("PORTAL_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            site_name=env.get("PORTAL_SITE_NAME") or "Front Desk",
            db_pool_size=int(env.get("PORTAL_DB_POOL_SIZE") or 10),
            redis_url=env.get("PORTAL_REDIS_URL", ""),
            smtp_url=env.get("PORTAL_SMTP_URL", ""),
            mail_from=env.get("PORTAL_MAIL_FROM") or "Front Desk <desk@localhost>",
            outbox_retention_days=min(3650, max(0, int(env.get("PORTAL_OUTBOX_RETENTION_DAYS") or 7))),
            worker=(env.get("PORTAL_WORKER") or "inprocess").lower(),
            login_max_failures=int(env.get("PORTAL_LOGIN_MAX_FAILURES") or 5),
            login_max_per_ip=int(env.get("PORTAL_LOGIN_MAX_PER_IP") or 20),
            login_window_seconds=int(env.get("PORTAL_LOGIN_WINDOW_SECONDS") or 900),
            session_max_age=int(env.get("PORTAL_SESSION_MAX_AGE") or 14 * 24 * 3600),
            upload_max_bytes=int(env.get("PORTAL_UPLOAD_MAX_BYTES") or 10 * 1024 * 1024),
            upload_max_files=int(env.get("PORTAL_UPLOAD_MAX_FILES") or 5),
            debug=(env.get("PORTAL_DEBUG") or "0") in {"1", "true", "yes"},
            server_timing=(env.get("PORTAL_SERVER_TIMING") or "0") in {"1", "true", "yes"},
            forwarded_allow_ips=env.get("PORTAL_FORWARDED_ALLOW_IPS", "127.0.0.1").strip(),
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
