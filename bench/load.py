"""Closed-loop load on a running portal (agent console pages), client- and server-side latencies.

    python bench/seed_tickets.py --path /work/bench-data/tickets.sqlite3      # once
    PORTAL_DATABASE_URL=sqlite:////work/bench-data/tickets.sqlite3 PORTAL_WORKER=off PORTAL_SERVER_TIMING=1 \\
        .venv/bin/portal serve --no-migrate &
    python bench/load.py                                   # 8 clients, 20 s, every built-in scenario
    python bench/load.py --scenario search --seconds 60 --clients 4 --json
    python bench/load.py --scenario none --url home=/back --url mine=/tickets

Clients: ``--clients`` tasks, each sending its next request when the last one answered (closed loop),
sharing one session of a seeded agent (one login per run: the portal allows 20 failed logins per IP
per 15 minutes). Only 127.0.0.1 / localhost is accepted as a target.

Built-in scenarios (``--scenario``, repeatable; default all):
  queue   GET /back/tickets?view=open|unassigned|mine|team in turn, then the next page through the
          ``<a rel="next">`` link when the page has one (reported as ``queue/next``)
  counts  GET /back/tickets/counts (the view-counts fragment)
  ticket  GET /back/tickets/{number}, numbers drawn from 1 … --max-number
  search  GET /back/tickets?q=…: common, mid-frequency and rare words, two words, a prefix, an error
          code and a requester's email, from the seed's own vocabulary (``search/<kind>`` rows)
  reports GET /back/reports?from=<a year ago>&to=<today> (the KPI dashboard over a year; ``reports``)
          and the same for the booking tab (``reports/booking``); log in as the admin to see everything
Extra ones: ``--url NAME=/path?x={number}`` (placeholders: {number} {word} {email}).

Per scenario: requests, client-side p50/p95 (full response read), server-side p50/p95 from the
``Server-Timing: app;dur=<ms>, db;desc="queries";dur=<n>`` header, the most SQL statements seen in
one request, requests/s and errors (any non-2xx, or a transport error; a sample of each is printed).
A scenario whose first answers are all 404 is dropped and flagged (page not built yet).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import math
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed_tickets as seed  # noqa: E402  (the vocabulary and accounts the seed made)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
VIEWS = ("open", "unassigned", "mine", "team")
SKIP_AFTER_404 = 3

_A_TAG = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_REL_NEXT = re.compile(r"""\brel\s*=\s*["']?[^"'>]*\bnext\b""", re.IGNORECASE)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_CSRF_INPUT = re.compile(r"""<input[^>]*name=["']_csrf_token["'][^>]*>""", re.IGNORECASE)
_VALUE = re.compile(r"""\bvalue=["']([^"']*)["']""", re.IGNORECASE)


def next_link(page: str) -> str | None:
    """The href of the first ``<a rel="next">`` of an HTML page (entities decoded), if any."""
    for tag in _A_TAG.findall(page):
        if _REL_NEXT.search(tag):
            match = _HREF.search(tag)
            if match:
                return html.unescape(next(g for g in match.groups() if g is not None))
    return None


def server_timing(header: str | None) -> tuple[float | None, int | None]:
    """(app milliseconds, SQL statement count) from the portal's Server-Timing header."""
    app_ms = queries = None
    for metric in (header or "").split(","):
        parts = [p.strip() for p in metric.split(";")]
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        try:
            if parts[0] == "app" and "dur" in params:
                app_ms = float(params["dur"])
            elif parts[0] == "db" and "dur" in params:
                queries = int(float(params["dur"]))
        except ValueError:
            pass
    return app_ms, queries


# --- what to ask --------------------------------------------------------------------------------


class Words:
    """Search terms in the seed's own words: each kind hits a different number of tickets."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self) -> tuple[str, str]:
        rng = self.rng
        kind = rng.choice(("common", "mid", "rare", "two-words", "prefix", "error-code", "email"))
        if kind == "common":
            return kind, rng.choice(seed.COMMON_WORDS)
        if kind == "mid":
            return kind, rng.choice(seed.MID_WORDS)
        if kind == "rare":
            return kind, rng.choice(seed.RARE_WORDS)
        if kind == "two-words":
            return kind, f"{rng.choice(seed.COMMON_WORDS)} {rng.choice(seed.MID_WORDS)}"
        if kind == "prefix":  # search as you type: the last word is a prefix
            word = rng.choice([w for w in seed.MID_WORDS if len(w) >= 6])
            return kind, word[: rng.randint(3, 5)]
        if kind == "error-code":
            return kind, seed.error_code(rng.randrange(seed.ERROR_CODES))
        return kind, seed.person(rng.randrange(seed.PEOPLE))[1]

    def word(self) -> str:
        return self.pick()[1]


@dataclass
class Scenario:
    name: str
    template: str = ""  # custom scenarios: a URL with placeholders
    skipped: str = ""  # why it was dropped
    seen_ok: bool = False
    first_404s: int = 0


@dataclass
class Stats:
    client_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    errors: int = 0
    error_sample: str = ""

    @property
    def n(self) -> int:
        return len(self.client_ms) + self.errors


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


class Run:
    def __init__(self, args, client) -> None:
        self.args, self.client = args, client
        self.stats: dict[str, Stats] = {}
        self.recording = False
        self.sent = 0
        self.view_turn = 0

    def stat(self, label: str) -> Stats:
        return self.stats.setdefault(label, Stats())

    async def get(self, scenario: Scenario, label: str, url: str) -> str | None:
        """One request, timed and recorded; the body when it answered 2xx."""
        started = time.perf_counter()
        try:
            response = await self.client.get(url)
            body = response.text
        except Exception as error:  # noqa: BLE001  (counted and shown, the run goes on)
            if self.recording:
                stat = self.stat(label)
                stat.errors += 1
                stat.error_sample = stat.error_sample or f"{type(error).__name__}: {error} ({url})"
            return None
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code == 404 and not scenario.seen_ok:
            scenario.first_404s += 1
            if scenario.first_404s >= SKIP_AFTER_404 and not scenario.skipped:
                scenario.skipped = f"404 on its first {SKIP_AFTER_404} requests ({url}): page not built yet?"
        if not 200 <= response.status_code < 300:
            if self.recording:
                stat = self.stat(label)
                stat.errors += 1
                if not stat.error_sample:
                    where = response.headers.get("location", "")
                    title = re.search(r"<title>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
                    text = re.sub(r"\s+", " ", title.group(1) if title else body).strip()[:200]
                    stat.error_sample = (
                        f"{response.status_code} {url}"
                        + (f" -> {where}" if where else "")
                        + (f": {text}" if text else "")
                    )
            return None
        scenario.seen_ok = True
        if self.recording:
            stat = self.stat(label)
            stat.client_ms.append(elapsed)
            app_ms, queries = server_timing(response.headers.get("server-timing"))
            if app_ms is not None:
                stat.server_ms.append(app_ms)
            if queries is not None:
                stat.queries.append(queries)
        return body

    async def play(self, scenario: Scenario, rng: random.Random, words: Words) -> None:
        name = scenario.name
        if name == "queue":
            view = VIEWS[self.view_turn % len(VIEWS)]
            self.view_turn += 1
            page = await self.get(scenario, "queue", f"/back/tickets?view={view}")
            link = next_link(page) if page else None
            if link and not scenario.skipped:
                await self.get(scenario, "queue/next", urljoin("/back/tickets", link))
        elif name == "counts":
            await self.get(scenario, "counts", "/back/tickets/counts")
        elif name == "ticket":
            await self.get(scenario, "ticket", f"/back/tickets/{rng.randint(1, self.args.max_number)}")
        elif name == "reports":
            from datetime import date, timedelta

            today = date.today()
            span = f"from={today - timedelta(days=364)}&to={today}"
            await self.get(scenario, "reports", f"/back/reports?{span}")
            await self.get(scenario, "reports/booking", f"/back/reports?tab=booking&{span}")
        elif name == "search":
            kind, term = words.pick()
            view = f"&view={quote(self.args.search_view)}" if self.args.search_view else ""
            await self.get(scenario, f"search/{kind}", f"/back/tickets?q={quote(term)}{view}")
        else:
            url = scenario.template.format(
                number=rng.randint(1, self.args.max_number),
                word=quote(words.word()),
                email=quote(seed.person(rng.randrange(seed.PEOPLE))[1]),
            )
            await self.get(scenario, name, url)


async def login(client, email: str, password: str) -> None:
    page = await client.get("/login")
    if page.status_code != 200:
        raise SystemExit(f"GET /login answered {page.status_code}")
    token = None
    tag = _CSRF_INPUT.search(page.text)
    if tag and (value := _VALUE.search(tag.group(0))):
        token = html.unescape(value.group(1))
    token = token or client.cookies.get("csrftoken")
    if not token:
        raise SystemExit("no CSRF token on /login (neither the hidden _csrf_token input nor the csrftoken cookie)")
    answer = await client.post("/login", data={"email": email, "password": password, "_csrf_token": token})
    if answer.status_code not in (302, 303):
        text = re.sub(r"<[^>]+>", " ", answer.text)
        text = re.sub(r"\s+", " ", text)
        hint = (
            " (too many failed logins from this IP? the window is PORTAL_LOGIN_WINDOW_SECONDS)"
            if answer.status_code == 429 or "Too many" in text
            else ""
        )
        raise SystemExit(f"login as {email} failed: {answer.status_code}{hint}: {text[:300]}")


async def run(args) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(
        base_url=args.base_url, limits=limits, timeout=args.timeout, follow_redirects=False
    ) as client:
        await login(client, args.email, args.password)
        scenarios = [Scenario(name) for name in args.scenario] + [
            Scenario(name, template=template) for name, template in args.url
        ]
        state = Run(args, client)
        master = random.Random(args.seed)

        async def worker(number: int) -> None:
            rng = random.Random(master.random())
            words = Words(rng)
            turn = number
            while time.monotonic() < deadline:
                live = [s for s in scenarios if not s.skipped]
                if not live:
                    return
                if args.requests and state.recording and state.sent >= args.requests:
                    return
                scenario = live[turn % len(live)]
                turn += 1
                if state.recording:
                    state.sent += 1
                await state.play(scenario, rng, words)

        if args.warmup > 0:
            deadline = time.monotonic() + args.warmup
            await asyncio.gather(*(worker(n) for n in range(args.clients)))
        state.recording = True
        started = time.monotonic()
        deadline = started + (args.seconds if args.seconds > 0 else 10**9)
        await asyncio.gather(*(worker(n) for n in range(args.clients)))
        elapsed = time.monotonic() - started

    rows = {}
    for label in sorted(state.stats):
        s = state.stats[label]
        rows[label] = {
            "n": s.n,
            "errors": s.errors,
            "client_p50_ms": _r(pct(s.client_ms, 0.5)),
            "client_p95_ms": _r(pct(s.client_ms, 0.95)),
            "server_p50_ms": _r(pct(s.server_ms, 0.5)),
            "server_p95_ms": _r(pct(s.server_ms, 0.95)),
            "queries_max": max(s.queries) if s.queries else None,
            "queries_median": statistics.median(s.queries) if s.queries else None,
            "req_per_s": round(s.n / elapsed, 1) if elapsed else None,
            "error_sample": s.error_sample,
        }
    total_n = sum(r["n"] for r in rows.values())
    return {
        "base_url": args.base_url,
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "total_requests": total_n,
        "total_req_per_s": round(total_n / elapsed, 1) if elapsed else None,
        "scenarios": rows,
        "skipped": {s.name: s.skipped for s in scenarios if s.skipped},
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def print_table(result: dict) -> None:
    def f(value) -> str:
        return "-" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))

    header = (
        f"{'scenario':<20} {'n':>6}  {'client p50/p95 ms':>18}  {'server p50/p95 ms':>18}  "
        f"{'queries max':>11}  {'req/s':>7}  {'errors':>6}"
    )
    print(
        f"{result['clients']} clients, {result['seconds']} s against {result['base_url']}: "
        f"{result['total_requests']} requests, {result['total_req_per_s']} req/s"
    )
    print(header)
    print("-" * len(header))
    for label, r in result["scenarios"].items():
        client = f"{f(r['client_p50_ms'])} / {f(r['client_p95_ms'])}"
        server = f"{f(r['server_p50_ms'])} / {f(r['server_p95_ms'])}"
        print(
            f"{label:<20} {r['n']:>6}  {client:>18}  {server:>18}  {f(r['queries_max']):>11}  "
            f"{f(r['req_per_s']):>7}  {r['errors']:>6}"
        )
    for label, r in result["scenarios"].items():
        if r["error_sample"]:
            print(f"  error sample, {label}: {r['error_sample']}")
    for name, why in result["skipped"].items():
        print(f"  SKIPPED {name}: {why}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (closed loop)")
    parser.add_argument("--seconds", type=float, default=20, help="how long to measure (0: until --requests)")
    parser.add_argument("--requests", type=int, default=0, help="stop after this many scenario runs")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unrecorded load first")
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        help="queue, counts, ticket, search, reports (repeatable; default all; 'none' for only --url)",
    )
    parser.add_argument(
        "--url",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="an extra scenario: a path with optional {number} {word} {email}",
    )
    parser.add_argument("--search-view", default="", help="view= sent with searches (default: the app's)")
    parser.add_argument("--max-number", type=int, default=1_000_000, help="highest ticket number seeded")
    parser.add_argument("--email", default=seed.agent_email(1))
    parser.add_argument("--password", default=seed.PASSWORD)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    host = urlsplit(args.base_url).hostname
    if host not in LOOPBACK:
        parser.error(f"refusing to load {host!r}: only 127.0.0.1 / localhost")
    builtin = ("queue", "counts", "ticket", "search", "reports")
    args.scenario = [s for s in (args.scenario or list(builtin)) if s != "none"]
    unknown = [s for s in args.scenario if s not in builtin]
    if unknown:
        parser.error(f"unknown scenario {unknown}; built-in: {', '.join(builtin)} (or --url NAME=PATH)")
    args.url = [tuple(item.split("=", 1)) for item in args.url]
    if not all(len(item) == 2 and item[1].startswith("/") for item in args.url):
        parser.error("--url takes NAME=/path")
    if not args.scenario and not args.url:
        parser.error("nothing to run")
    if args.seconds <= 0 and args.requests <= 0:
        parser.error("give --seconds or --requests")
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
