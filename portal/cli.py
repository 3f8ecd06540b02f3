"""The ``portal`` command: serve, migrate, demo, create-user, worker, recount, config."""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table as RichTable

from portal import db
from portal.settings import VARIABLES, Settings, get_settings, serve_base_url, use_settings

console = Console()
T = TypeVar("T")

# A demo person: (role, email, name, team or None).
DemoPerson = tuple[str, str, str, str | None]


def _run(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main`` with the configured engine open (pool on PostgreSQL)."""

    async def wrapper() -> T:
        settings = get_settings()
        engine = db.make_engine(settings.database_url)
        db.use_engine(engine)
        async with db.engine_open(engine, pool_size=2):
            return await main()

    return asyncio.run(wrapper())


@click.group()
def main() -> None:
    """Front Desk: help desk and appointment booking."""


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""

    async def go() -> list[str]:
        applied = await db.migrate(verbose=False)
        return applied

    applied = _run(go)
    if applied:
        for migration_id in applied:
            console.print(f"  applied [bold]{migration_id}[/]")
    console.print(f"[green]Database is up to date[/] ({get_settings().database_url.split('@')[-1]}).")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn worker processes")
@click.option("--reload", is_flag=True, help="restart on code changes (development)")
@click.option(
    "--migrate/--no-migrate",
    "run_migrations",
    default=True,
    show_default=True,
    help="apply pending migrations before starting",
)
def serve(host: str, port: int, workers: int, reload: bool, run_migrations: bool) -> None:
    """Run the web app under uvicorn. Without PORTAL_BASE_URL, mailed links use the address served."""
    import uvicorn

    if not os.environ.get("PORTAL_BASE_URL"):
        # Set before the app (and uvicorn's worker processes, which inherit the environment) read it.
        os.environ["PORTAL_BASE_URL"] = serve_base_url(host, port)
    use_settings(Settings.from_env())
    if run_migrations:
        _run(lambda: db.migrate(verbose=False))
    console.print(
        f"Front Desk on [bold]http://{host}:{port}[/] ({workers} worker{'s' * (workers > 1)}, "
        f"database {get_settings().database_url.split('@')[-1]}). Ctrl+C stops it."
    )
    uvicorn.run(
        "portal.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        **proxy_options(get_settings()),
        log_level="info",
        access_log=False,
        # Open console pages hold SSE streams that never end on their own: give them a few
        # seconds on shutdown instead of waiting for every browser tab to close.
        timeout_graceful_shutdown=5,
    )


def proxy_options(settings: Settings) -> dict:
    """uvicorn's options for ``X-Forwarded-For``/``-Proto``: honoured only from the proxies in
    ``PORTAL_FORWARDED_ALLOW_IPS``, so that behind a load balancer ``request.client`` (and the
    login throttles keyed on it) is the real visitor, while a visitor who sends the header
    directly changes nothing. Empty: no proxy is trusted."""
    if not settings.forwarded_allow_ips:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": settings.forwarded_allow_ips}


DEMO_PASSWORD = "demo-pass-2026"
DEMO_STAFF: list[DemoPerson] = [
    ("admin", "admin@example.org", "Ada Admin", None),
    ("agent", "agent1@example.org", "Ben Agent", "Support"),
    ("agent", "agent2@example.org", "Chloe Agent", "Support"),
    ("agent", "agent3@example.org", "Dev Agent", "Billing"),
]
DEMO_CUSTOMER_NAMES = [
    "Alice Martin",
    "Bruno Costa",
    "Carmen Diaz",
    "Daniel Kim",
    "Emma Schmidt",
    "Farid Haddad",
    "Grace Okafor",
    "Hiro Tanaka",
    "Ines Moreau",
    "Jonas Berg",
]


@main.command()
def demo() -> None:
    """Create demo data (idempotent): an admin, three agents in two teams, ten customers, tickets, services and appointments."""
    from portal.accounts import services

    async def go() -> tuple[list[DemoPerson], int]:
        await db.migrate(verbose=False)
        people: list[DemoPerson] = [
            *DEMO_STAFF,
            *[("customer", f"customer{i + 1}@example.org", name, None) for i, name in enumerate(DEMO_CUSTOMER_NAMES)],
        ]
        teams: dict[str, list[int]] = {}
        created = 0
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Demo users", total=len(people))
            for role, email, name, team in people:
                user_id, was_created = await services.create_user(
                    email, name, DEMO_PASSWORD, role, timezone="Europe/Paris", check_password=False
                )
                created += was_created
                if team:
                    teams.setdefault(team, []).append(user_id)
                progress.advance(task)
        for team, members in teams.items():
            await services.ensure_team(team, members)
        from portal.accounts.tables import User
        from portal.tickets.demo import seed_demo_tickets

        ids = {row["email"]: row["id"] for row in await User.select(User.id, User.email)}
        tickets = await seed_demo_tickets(
            [ids[e] for r, e, _, _ in people if r == "customer"], [ids[e] for r, e, _, _ in people if r == "agent"]
        )
        if tickets:
            console.print(f"{tickets} demo tickets with replies, ratings and mails in the outbox.")
        from portal.booking.demo import seed_demo_booking

        booked = await seed_demo_booking(
            [ids[e] for r, e, _, _ in people if r == "agent"], [ids[e] for r, e, _, _ in people if r == "customer"]
        )
        if booked:
            console.print(f"3 bookable services and {booked} demo appointments.")
        from portal.mail.demo import DEMO_MAILBOX, seed_demo_mailbox

        if await seed_demo_mailbox():
            console.print(f"A mailbox: mail to {DEMO_MAILBOX} becomes tickets (set PORTAL_MAIL_IN_LISTEN to receive).")
        return people, created

    people, created = _run(go)
    table = RichTable(title=f"Demo logins (password for all: {DEMO_PASSWORD})")
    for column in ("role", "email", "password"):
        table.add_column(column)
    for role, email, _, _ in people[: len(DEMO_STAFF) + 2]:
        table.add_row(role, email, DEMO_PASSWORD)
    table.add_row("customer", f"customer3 … customer{len(DEMO_CUSTOMER_NAMES)}@example.org", DEMO_PASSWORD)
    console.print(table)
    console.print(f"{created} new demo users; the rest already existed.")


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["customer", "agent", "admin"]), default="customer", show_default=True)
@click.option(
    "--password",
    envvar="PORTAL_NEW_USER_PASSWORD",
    default=None,
    help="omit to be asked (or set PORTAL_NEW_USER_PASSWORD)",
)
def create_user(email: str, name: str, role: str, password: str | None) -> None:
    """Create a verified user (the first admin comes from here)."""
    from portal.accounts import services
    from portal.errors import Invalid

    if password is None:
        password = getpass.getpass("Password: ")
    try:
        user_id, was_created = _run(lambda: services.create_user(email, name, password, role))
    except Invalid as error:
        for field, problem in error.errors.items():
            console.print(f"[red]{field}[/]: {problem}")
        sys.exit(2)
    console.print(f"{'Created' if was_created else 'Updated'} {role} {email} (id {user_id}).")


@main.command()
@click.option("--poll", default=1.0, show_default=True, help="seconds between polls when idle")
def worker(poll: float) -> None:
    """Run background jobs (mail, schedules) until stopped. Run several on PostgreSQL if needed."""
    from portal.job_handlers import register_jobs
    from portal.jobs.worker import Worker

    register_jobs()

    async def go() -> None:
        w = Worker(poll_seconds=poll)
        console.print(f"Worker {w.worker_id} started; Ctrl+C stops it.")
        await w.run()

    try:
        _run(go)
    except KeyboardInterrupt:
        console.print("Worker stopped.")


@main.command("mail-in")
def mail_in() -> None:
    """Run the mail intake alone: the listener (PORTAL_MAIL_IN_LISTEN) and, with PORTAL_MAIL_IMAP=idle, IMAP IDLE."""
    from portal.mailin import service

    settings = get_settings()

    async def go() -> None:
        intake = await service.start(settings)
        where = settings.mail_in_listen or "no listener (PORTAL_MAIL_IN_LISTEN is empty)"
        console.print(f"Mail intake: {where}; IMAP: {settings.mail_imap}. Ctrl+C stops it.")
        try:
            await asyncio.Event().wait()
        finally:
            await service.stop(intake)

    try:
        _run(go)
    except KeyboardInterrupt:
        console.print("Mail intake stopped.")


@main.command()
def recount() -> None:
    """Recount the queue counts and the report rollup from the tickets (after a bulk load that
    bypassed triggers, or if they ever drift)."""
    from portal.backoffice import rollup
    from portal.tickets import queue as queues

    async def go() -> None:
        await queues.rebuild_tallies()
        await rollup.rebuild()

    _run(go)
    console.print("[green]Recounted[/] queue_tally and ticket_week_stat.")


@main.command()
def config() -> None:
    """Show the PORTAL_* variables and their current values."""
    table = RichTable(title="Configuration")
    for column in ("variable", "current", "meaning"):
        table.add_column(column)
    for name, default, meaning in VARIABLES:
        value = os.environ.get(name, f"(default) {default}")
        if "SECRET" in name or "URL" in name and "@" in value:
            value = "(set)" if name in os.environ else value
        table.add_row(name, value, meaning)
    console.print(table)


if __name__ == "__main__":
    main()
