"""Mail intake throughput, end to end, and what a burst does to the pages.

Starts ``portal serve`` (one process: the listener and the job worker run inside it, the way
``PORTAL_MAIL_IN_LISTEN`` deploys it) on a fresh database, then sends mail to its SMTP listener
from several clients at once and measures:

- **ingest**: mails per second from the first one sent until the last one is *processed* (its
  ticket or reply committed, or it is ignored/held), read from the database;
- **acceptance**: how fast the listener answers 250 (the raw mail committed);
- **page latency**: an agent's queue page, fetched every 50 ms before and during the burst. A few
  5 MB mails ride along: their parse runs in a thread, so the pages must not stall.

Each new mail gets its own sender (the loop breaker holds more than 30 an hour from one), and a
quarter of the mails are replies by mail to the acknowledgements of earlier ones (threaded through
their signed Reply-To), so both write paths are measured.

    python bench/mail_ingest.py                                  # SQLite in a temp dir
    python bench/mail_ingest.py --database-url postgresql://postgres@127.0.0.1:5432/bench_mail
    python bench/mail_ingest.py --mails 3000 --clients 8 --big 5 --json

PostgreSQL: the database is wiped (schema public dropped) first.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid, parseaddr
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PORTAL = str(Path(sys.executable).parent / "portal")
DESK = "support@bench.example"
AGENT, PASSWORD = "agent@bench.example", "bench-pass-2026"
FINISHED = ("done", "ignored", "held", "failed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the database: wiped, migrated, a mailbox and an agent ------------------------------------------


def prepare(env: dict[str, str]) -> None:
    url = env["PORTAL_DATABASE_URL"]
    if url.startswith("postgres"):
        subprocess.run(
            ["psql", url, "-q", "-c", "DROP SCHEMA public CASCADE", "-c", "CREATE SCHEMA public"],
            check=True,
            capture_output=True,
        )
    subprocess.run([PORTAL, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run(
        [PORTAL, "create-user", "--email", AGENT, "--name", "Bench Agent", "--role", "agent", "--password", PASSWORD],
        env=env,
        check=True,
        capture_output=True,
    )
    script = (
        "import asyncio\n"
        "from portal.cli import _run\n"
        "from portal.db import write_transaction\n"
        "from portal.clock import utcnow\n"
        "from portal.mail.tables import Mailbox\n"
        "async def go():\n"
        "    async with write_transaction():\n"
        f"        await Mailbox.insert(Mailbox(address={DESK!r}, name='Bench Support', created_at=utcnow())).run()\n"
        "_run(go)\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=ROOT)


def count_finished(env: dict[str, str]) -> tuple[int, dict[str, int]]:
    """How many received mails are processed, by status (a separate connection, as an observer)."""
    url = env["PORTAL_DATABASE_URL"]
    sql = "SELECT status, COUNT(*) AS n FROM inbound_mail GROUP BY status"
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as conn:
            rows = conn.execute(sql).fetchall()
    else:
        out = subprocess.run(["psql", url, "-At", "-F", " ", "-c", sql], check=True, capture_output=True, text=True)
        rows = [(line.split()[0], int(line.split()[1])) for line in out.stdout.splitlines() if line.strip()]
    by_status = {status: int(n) for status, n in rows}
    return sum(n for status, n in by_status.items() if status in FINISHED), by_status


def replies_to(env: dict[str, str], count: int) -> list[tuple[str, str, str, str]]:
    """(recipient, reply address, message id, subject) of ``count`` acknowledgements sent so far."""
    url = env["PORTAL_DATABASE_URL"]
    sql = (
        "SELECT to_address, headers, message_id, subject FROM outbound_mail "
        f"WHERE template = 'ticket_received' ORDER BY id LIMIT {count}"
    )
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as conn:
            rows = conn.execute(sql).fetchall()
    else:
        out = subprocess.run(["psql", url, "-At", "-F", "\t", "-c", sql], check=True, capture_output=True, text=True)
        rows = [tuple(line.split("\t")) for line in out.stdout.splitlines() if line.strip()]
    return [(to, parseaddr(json.loads(headers)["Reply-To"])[1], mid, subject) for to, headers, mid, subject in rows]


# --- mail ------------------------------------------------------------------------------------------------

WORDS = "printer invoice login password refund delivery broken screen order account error slow".split()


Mail = tuple[str, str, bytes]  # (envelope sender, recipient, raw)


def new_mail(index: int, big: bool) -> Mail:
    sender = f"customer{index}@mail.example"
    message = EmailMessage()
    message["From"] = f"Customer {index} <{sender}>"
    message["To"] = DESK
    message["Subject"] = f"{random.choice(WORDS).title()} problem {index}"
    message["Message-ID"] = make_msgid(domain="mail.example")
    text = " ".join(random.choice(WORDS) for _ in range(80))
    message.set_content(f"Hello,\n\n{text}\n\nRegards,\nCustomer {index}\n")
    message.add_alternative(f"<p>Hello,</p><p>{text}</p><p>Regards,<br>Customer {index}</p>", subtype="html")
    if big:
        message.add_attachment(
            os.urandom(5 * 1024 * 1024 * 3 // 4), maintype="application", subtype="pdf", filename="scan.pdf"
        )
    return sender, DESK, message.as_bytes(policy=SMTP)


def reply_mail(recipient: str, reply_address: str, message_id: str, subject: str) -> Mail:
    message = EmailMessage()
    message["From"] = recipient
    message["To"] = reply_address
    message["Subject"] = f"Re: {subject}"
    message["Message-ID"] = make_msgid(domain="mail.example")
    message["In-Reply-To"] = f"<{message_id}>"
    message["References"] = f"<{message_id}>"
    message.set_content("Thanks, one more detail: it happens every morning.\n\n> quoted acknowledgement\n")
    return recipient, reply_address, message.as_bytes(policy=SMTP)


def send_all(port: int, mails: list[Mail], clients: int) -> list[float]:
    """Send from ``clients`` threads, one SMTP connection each; returns per-mail accept times (s)."""
    chunks = [mails[i::clients] for i in range(clients)]
    times: list[float] = []
    lock = threading.Lock()

    def work(chunk: list[Mail]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
            for sender, recipient, raw in chunk:
                start = time.perf_counter()
                client.sendmail(sender, [recipient], raw)
                with lock:
                    times.append(time.perf_counter() - start)

    errors: list[BaseException] = []

    def guarded(chunk: list[Mail]) -> None:
        try:
            work(chunk)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(chunk,)) for chunk in chunks if chunk]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"sending failed: {errors[0]!r}")
    return times


# --- pages -----------------------------------------------------------------------------------------------


class Prober:
    """GET the agent's queue every 50 ms in a thread of its own; latencies in ms."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=30)
        self.samples: list[float] = []
        self.stop = threading.Event()
        page = self.client.get("/login")
        token = self.client.cookies.get("csrftoken")
        answer = self.client.post("/login", data={"email": AGENT, "password": PASSWORD, "_csrf_token": token})
        if answer.status_code != 303:
            raise SystemExit(f"login failed: {answer.status_code} {page.status_code}")

    def run(self) -> None:
        while not self.stop.is_set():
            start = time.perf_counter()
            answer = self.client.get("/back/tickets")
            if answer.status_code == 200:
                self.samples.append((time.perf_counter() - start) * 1000)
            self.stop.wait(0.05)

    def measure(self, seconds: float) -> list[float]:
        self.samples = []
        self.stop.clear()
        thread = threading.Thread(target=self.run)
        thread.start()
        time.sleep(seconds)
        self.stop.set()
        thread.join()
        return self.samples


def summary(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "max": round(ordered[-1], 1),
    }


# --- the run ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--mails", type=int, default=2000, help="new mails (plus a quarter as many replies)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--big", type=int, default=5, help="5 MB mails among them")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of portal serve")
    parser.add_argument(
        "--job-workers", type=int, default=0, help="separate `portal worker` processes (then serve runs no jobs)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mail-bench-"))
    web_port, smtp_port = free_port(), free_port()
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": args.database_url or f"sqlite:///{workdir / 'portal.sqlite3'}",
        "PORTAL_VAR_DIR": str(workdir / "var"),
        "PORTAL_SECRET_KEY": "bench-secret",
        "PORTAL_MAIL_IN_LISTEN": f"127.0.0.1:{smtp_port}",
        "PORTAL_WORKER": "off" if args.job_workers else "inprocess",
        "PORTAL_MAIL_SENDER_HOURLY_LIMIT": "1000",
        "PORTAL_LOGIN_MAX_PER_IP": "1000",
    }
    prepare(env)
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - open for the server's whole life
    serve = [PORTAL, "serve", "--host", "127.0.0.1", "--port", str(web_port), "--no-migrate"]
    server = subprocess.Popen(
        [*serve, "--workers", str(args.workers)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    workers = [
        subprocess.Popen([PORTAL, "worker", "--poll", "0.05"], env=env, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(args.job_workers)
    ]
    try:
        base = f"http://127.0.0.1:{web_port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        result = run(args, env, base, smtp_port)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    engine = "PostgreSQL" if env["PORTAL_DATABASE_URL"].startswith("postgres") else "SQLite"
    shape = f"serve --workers {args.workers}" + (f" + {args.job_workers} portal worker" if args.job_workers else "")
    print(
        f"{engine} ({shape}): {result['mails']} mails ({result['big']} of 5 MB, {result['replies']} replies), "
        f"{args.clients} SMTP clients"
    )
    print(
        f"  ingest end to end: {result['ingest_per_s']} mails/s ({result['seconds']} s)  statuses {result['statuses']}"
    )
    print(f"  listener accepts:  p50 {result['accept_ms']['p50']} ms, p95 {result['accept_ms']['p95']} ms")
    print(f"  queue page before: {result['page_before']}   during: {result['page_during']}")


def run(args: argparse.Namespace, env: dict[str, str], base: str, smtp_port: int) -> dict:
    random.seed(7)
    prober = Prober(base)
    before = prober.measure(5)
    big_at = set(random.sample(range(args.mails), min(args.big, args.mails)))
    news = [new_mail(i, i in big_at) for i in range(args.mails)]
    # Replies need acknowledgements to answer: a first round of mail makes them.
    warm = max(1, args.mails // 4)
    send_all(smtp_port, news[:warm], args.clients)
    while count_finished(env)[0] < warm:
        time.sleep(0.2)
    replies = [reply_mail(*row) for row in replies_to(env, warm)]
    burst = news[warm:] + replies
    random.shuffle(burst)

    during: list[float] = []
    prober.samples = during
    prober.stop.clear()
    probe = threading.Thread(target=prober.run)
    probe.start()
    start = time.perf_counter()
    accept = send_all(smtp_port, burst, args.clients)
    total = warm + len(burst)
    statuses: dict[str, int] = {}
    while True:
        done, statuses = count_finished(env)
        if done >= total:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    prober.stop.set()
    probe.join()
    return {
        "mails": len(burst),
        "big": len(big_at - set(range(warm))),
        "replies": len(replies),
        "seconds": round(seconds, 2),
        "ingest_per_s": round(len(burst) / seconds, 1),
        "statuses": statuses,
        "accept_ms": summary([t * 1000 for t in accept]),
        "page_before": summary(before),
        "page_during": summary(during),
    }


if __name__ == "__main__":
    main()
