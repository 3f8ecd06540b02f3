"""Booking benchmark: a month of slots for a service offered by 10 staff with 2,000 appointments.

Targets (issue "Booking…"): month of slots <= 30 ms in-process; day-times fragment <= 20 ms median
server-side, on SQLite and on PostgreSQL.

    python bench/booking_slots.py                       # SQLite in a temp directory
    python bench/booking_slots.py --database-url postgresql://postgres@127.0.0.1:5432/bench
      (the PostgreSQL database is wiped)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="portal-bench-"))
os.environ.setdefault("PORTAL_SECRET_KEY", "bench")

STAFF = 10
APPOINTMENTS = 2000
ZONE = "Europe/Paris"


import logging

logging.getLogger("httpx").setLevel(logging.WARNING)


def log(message: str) -> None:
    print(message, flush=True)


async def seed(settings) -> tuple[dict, date]:
    from portal import db
    from portal.accounts.services import create_user
    from portal.accounts.tables import User
    from portal.booking import services
    from portal.booking.tables import Appointment, Service, ServiceStaff, WeeklyHours
    from portal.clock import utcnow

    now = utcnow()
    async with db.write_transaction():
        rows = await Service.insert(
            Service(
                slug="bench",
                name="Bench",
                duration_minutes=30,
                step_minutes=15,
                min_notice_minutes=0,
                horizon_days=90,
                capacity=1,
                created_at=now,
            )
        ).run()
    service_id = rows[0]["id"]
    staff_ids = []
    for i in range(STAFF):
        staff_id, _ = await create_user(
            f"staff{i}@bench.example", f"Staff {i}", "x", "agent", timezone=ZONE, check_password=False
        )
        staff_ids.append(staff_id)
    async with db.write_transaction():
        await User.update({User.timezone: ZONE}).where(User.id.is_in(staff_ids)).run()
        for staff_id in staff_ids:
            await ServiceStaff.insert(ServiceStaff(service=service_id, staff=staff_id)).run()
            for weekday in range(7):
                for start, end in ((8 * 60, 12 * 60), (13 * 60, 20 * 60)):
                    await WeeklyHours.insert(
                        WeeklyHours(staff=staff_id, weekday=weekday, start_minute=start, end_minute=end)
                    ).run()
    # Next month, in the staff zone: 2,000 half-hour appointments spread over staff and days.
    tz = ZoneInfo(ZONE)
    today = now.astimezone(tz).date()
    month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    days = [month + timedelta(days=d) for d in range(28)]
    made = 0
    async with db.write_transaction():
        for i in range(APPOINTMENTS):
            day = days[i % len(days)]
            staff_id = staff_ids[(i // len(days)) % STAFF]
            slot = (i // (len(days) * STAFF)) * 2  # every other half hour from 08:00
            start = datetime.combine(day, time(8, 0), tz).astimezone(UTC) + timedelta(minutes=30 * slot)
            await Appointment.insert(
                Appointment(
                    service=service_id,
                    staff=staff_id,
                    customer_name="Bench",
                    customer_email=f"c{i}@bench.example",
                    start_at=start,
                    end_at=start + timedelta(minutes=30),
                    uid=f"bench-{i}",
                    manage_token_hash=f"{i:064d}",
                    created_at=now,
                    updated_at=now,
                )
            ).run()
            made += 1
    if db.is_sqlite():
        # A running portal's WAL is checkpointed as it goes; right after a bulk seed it is not, and
        # every read would wade through it.
        await db.fetch("PRAGMA wal_checkpoint(TRUNCATE)")
    log(f"seeded {STAFF} staff, {made} appointments in {month:%B %Y}")
    return await services.service_by_slug("bench"), month


async def measure(database_url: str, rounds: int) -> None:
    from portal import db
    from portal.app import create_app
    from portal.booking import services
    from portal.settings import Settings

    settings = Settings.from_env().with_(database_url=database_url, worker="off")
    engine = db.make_engine(database_url)
    db.use_engine(engine)
    if engine.engine_type != "sqlite":
        await engine._run_in_new_connection("DROP SCHEMA IF EXISTS public CASCADE")
        await engine._run_in_new_connection("CREATE SCHEMA public")
    async with db.engine_open(engine):
        await db.migrate(verbose=False)
    app = create_app(settings)
    async with app.lifespan():
        service, month = await seed(settings)
        window = services.month_window(month, ZONE)
        timings = []
        for _ in range(rounds):
            started = clock.perf_counter()
            slots = await services.free_slots(service, services.ANYONE, *window)
            timings.append((clock.perf_counter() - started) * 1000)
        log(
            f"month of slots, 10 staff, incl. loading from the database: {len(slots)} slots, "
            f"median {statistics.median(timings):.1f} ms, p95 {sorted(timings)[int(len(timings) * 0.95) - 1]:.1f} ms"
        )

        grid = []
        for _ in range(rounds):
            started = clock.perf_counter()
            days = await services.month_days(service, services.ANYONE, month, ZONE)
            grid.append((clock.perf_counter() - started) * 1000)
        log(
            f"month grid (days with free times, what the calendar page computes), incl. loading: {len(days)} days, "
            f"median {statistics.median(grid):.1f} ms, p95 {sorted(grid)[int(len(grid) * 0.95) - 1]:.1f} ms"
        )

        from portal.booking import availability as engine_module

        calendars = await services.calendars(await services.service_staff(service["id"]), *window)
        rules = services.rules_for(service)
        pure = []
        for _ in range(rounds):
            started = clock.perf_counter()
            for calendar in calendars:
                engine_module.free_slots(rules, calendar, *window, now=window[0] - timedelta(days=1))
            pure.append((clock.perf_counter() - started) * 1000)
        log(f"month of slots, 10 staff, pure engine only: median {statistics.median(pure):.1f} ms")

        import httpx

        day = month + timedelta(days=10)
        url = f"/book/bench?month={month:%Y-%m}&day={day.isoformat()}&tz={ZONE}"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            fragment = []
            for _ in range(rounds):
                started = clock.perf_counter()
                response = await client.get(url, headers={"HX-Request": "true", "HX-Target": "times-slot"})
                fragment.append((clock.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.status_code
        log(
            f"day-times fragment (in-process request through the whole app): median {statistics.median(fragment):.1f} ms, "
            f"p95 {sorted(fragment)[int(len(fragment) * 0.95) - 1]:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(os.environ['PORTAL_VAR_DIR']) / 'bench.sqlite3'}"
    log(f"database: {url.split('@')[-1]}")
    asyncio.run(measure(url, args.rounds))


if __name__ == "__main__":
    main()
