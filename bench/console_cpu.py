"""Agent console, in-process: wall and CPU milliseconds per request for the queue, a ticket page and
search, on a seeded database (see README: seed_tickets.py).

Why CPU time: on a shared or busy machine the wall-clock latency of ``load.py`` follows the load of
other processes; the process CPU time one request costs (this process: the app and SQLite's
thread) does not, so it compares two commits fairly. Runs the app with ``httpx.ASGITransport`` in
this process, signed in as one agent; no server, no worker.

    python bench/console_cpu.py --database-url sqlite:////path/tickets.sqlite3 [--requests 200]

Run it with another checkout's interpreter to measure that commit (the script imports ``portal``
from whichever checkout the interpreter has installed).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time

from seed_tickets import COMMON_WORDS, MID_WORDS, RARE_WORDS  # the seed's vocabulary (bench/ is on the path)

SCENARIOS = {
    "queue": [f"/back/tickets?view={view}" for view in ("open", "unassigned", "mine", "team")],
    "ticket page": ["/back/tickets/{number}", "/back/tickets/{older}"],
    "search, common word": [f"/back/tickets?q={w}" for w in COMMON_WORDS[:5]],
    "search, mid word": [f"/back/tickets?q={w}" for w in MID_WORDS[:5]],
    "search, rare word": [f"/back/tickets?q={w}" for w in RARE_WORDS[:5]],
}


async def measure(database_url: str, email: str, password: str, requests: int, rounds: int) -> None:
    os.environ["PORTAL_DATABASE_URL"] = database_url
    os.environ["PORTAL_WORKER"] = "off"
    logging.disable(logging.INFO)
    import httpx

    from portal import db
    from portal.app import create_app

    app = create_app()
    async with app.lifespan():
        number = (await db.fetch("SELECT MAX(number) AS n FROM ticket"))[0]["n"]
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await client.get("/login")
            form = {"email": email, "password": password, "_csrf_token": client.cookies.get("csrftoken")}
            assert (await client.post("/login", data=form)).status_code == 303, "login failed"
            print(f"{'scenario':<22}{'wall ms':>9}{'cpu ms':>9}   (median of {rounds} rounds of {requests})")
            for name, paths in SCENARIOS.items():
                urls = [p.format(number=number, older=number - 1000) for p in paths]
                for url in urls:  # warm the pages and the caches
                    assert (await client.get(url)).status_code == 200, url
                walls, cpus = [], []
                for _ in range(rounds):
                    wall, cpu = time.perf_counter(), time.process_time()
                    for i in range(requests):
                        await client.get(urls[i % len(urls)])
                    walls.append((time.perf_counter() - wall) * 1000 / requests)
                    cpus.append((time.process_time() - cpu) * 1000 / requests)
                print(f"{name:<22}{statistics.median(walls):>9.2f}{statistics.median(cpus):>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--email", default="agent01@bench.example")
    parser.add_argument("--password", default="bench-pass-2026")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(measure(args.database_url, args.email, args.password, args.requests, args.rounds))


if __name__ == "__main__":
    main()
