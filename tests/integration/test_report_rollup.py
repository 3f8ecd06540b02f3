"""The KPI dashboard's weekly rollup: triggers keep it equal to a recount through every kind of
write; reports read from it equal reports read from the tickets alone and the numbers worked out
here from the data; big cohorts get percentiles from the 1-in-16 sample, marked as estimates —
on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from portal.accounts.rules import Actor
from portal.accounts.tables import Team, TeamMember
from portal.backoffice import charts, kpis, rollup
from portal.clock import utcnow
from portal.db import fetch, fetch_rows, write_transaction
from portal.tickets.tables import Category, Ticket
from tests.factories import make_user

PASSWORD = "a long s3cret phrase"
NOW = datetime(2026, 3, 25, 12, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def _snapshot() -> list[tuple]:
    columns = ", ".join(rollup.COUNTS)
    nonzero = " OR ".join(f"{c} <> 0" for c in rollup.COUNTS)
    rows = await fetch_rows(
        f"SELECT week, team, assignee, category, via, {columns} FROM ticket_week_stat "
        f"WHERE {nonzero} ORDER BY week, team, assignee, category, via"
    )
    return [(str(r[0]), *r[1:]) for r in rows]


def _ticket(number: int, created: datetime, **fields) -> Ticket:
    values = dict(
        number=number,
        subject=f"T{number}",
        status="open",
        requester_email="gwen@example.org",
        requester_name="Gwen",
        via="web",
        created_at=created,
        updated_at=created,
    )
    values.update(fields)
    return Ticket(**values)


async def test_triggers_keep_the_rollup_equal_to_a_recount(app):
    agent = await make_user("ben@example.org", "agent")
    async with write_transaction():
        team = (await Team.insert(Team(name="Support", created_at=utcnow())).run())[0]["id"]
        other = (await Team.insert(Team(name="Billing", created_at=utcnow())).run())[0]["id"]
        category = (await Category.insert(Category(name="Tech")).run())[0]["id"]
        await Ticket.insert(
            _ticket(1, utc(2026, 3, 2, 0, 0), team=team, first_response_breached=False),  # Monday 00:00
            _ticket(2, utc(2026, 3, 1, 23, 59), team=team, first_response_breached=True),  # Sunday, week before
            _ticket(
                3,
                utc(2026, 3, 4, 10),
                assignee=agent,
                category=category,
                via="email",
                status="solved",
                solved_at=utc(2026, 3, 10, 9),
                resolution_breached=False,
                csat_rating="good",
            ),
            _ticket(4, utc(2026, 3, 5, 10), team=other),
        ).run()
    inserted = await _snapshot()
    assert ("2026-03-02", team, 0, 0, "web", 1, 1, 0, 0, 0, 0, 0, 0) in inserted
    assert ("2026-02-23", team, 0, 0, "web", 1, 0, 1, 0, 0, 0, 0, 0) in inserted
    assert ("2026-03-09", 0, agent, category, "email", 0, 0, 0, 1, 1, 0, 1, 0) in inserted

    async with write_transaction():
        # Solve, breach, rate, reassign, move team and channel, reopen, delete; ORM and plain SQL.
        await (
            Ticket.update(
                {
                    Ticket.status: "solved",
                    Ticket.solved_at: utc(2026, 3, 16, 8),
                    Ticket.resolution_breached: True,
                    Ticket.csat_rating: "bad",
                }
            )
            .where(Ticket.number == 1)
            .run()
        )
        await Ticket.update({Ticket.assignee: agent, Ticket.team: other}).where(Ticket.number == 1).run()
        await (
            Ticket.update(
                {
                    Ticket.status: "open",
                    Ticket.solved_at: None,
                    Ticket.csat_rating: None,
                    Ticket.resolution_breached: None,
                }
            )
            .where(Ticket.number == 3)
            .run()
        )
        await fetch("UPDATE ticket SET via = 'phone', category = {} WHERE number = {}", category, 2)
        await fetch("UPDATE ticket SET first_response_breached = {} WHERE number = {}", False, 4)
        await Ticket.update({Ticket.subject: "only the subject"}).where(Ticket.number == 4).run()
        await Ticket.delete().where(Ticket.number == 2).run()
    kept = await _snapshot()
    assert ("2026-03-16", other, agent, 0, "web", 0, 0, 0, 1, 0, 1, 0, 1) in kept
    assert not any(row[0] == "2026-02-23" for row in kept)  # ticket 2 is gone
    assert not any(row[3] == category and row[4] == "email" and row[8] for row in kept)  # 3 reopened
    await rollup.rebuild()
    assert await _snapshot() == kept


# --- reports over many weeks ------------------------------------------------------------------------

RANGE = (date(2026, 1, 20), date(2026, 3, 10))  # 50 days; the previous period starts 1 December


async def _desk(seed: int = 7) -> tuple[int, int, list[dict]]:
    """~240 tickets from November to March over two teams, three agents, two categories, three channels."""
    rng = random.Random(seed)
    admin = await make_user("ada@example.org", "admin", name="Ada Admin")
    agents = [await make_user(f"agent{i}@example.org", "agent", name=f"Agent {i}") for i in range(3)]
    async with write_transaction():
        teams = [(await Team.insert(Team(name=n, created_at=utcnow())).run())[0]["id"] for n in ("Support", "Billing")]
        await TeamMember.insert(
            TeamMember(team=teams[0], user=agents[0]),
            TeamMember(team=teams[0], user=agents[1]),
            TeamMember(team=teams[1], user=agents[2]),
        ).run()
        categories = [(await Category.insert(Category(name=n)).run())[0]["id"] for n in ("Tech", "Money")]
        rows = []
        for number in range(1, 241):
            created = utc(2025, 11, 20) + timedelta(minutes=rng.randrange(0, 125 * 24 * 60))
            team = rng.choice([*teams, None])
            solved = created + timedelta(hours=rng.randrange(1, 400)) if rng.random() < 0.7 else None
            if solved and solved > NOW:
                solved = None
            fr = rng.choice([None, rng.randrange(1, 3000)])
            res = rng.randrange(10, 6000) if solved else None
            rows.append(
                dict(
                    number=number,
                    created_at=created,
                    team=team,
                    assignee=rng.choice([None, agents[0], agents[1]] if team == teams[0] else [None, agents[2]]),
                    category=rng.choice([*categories, None]),
                    via=rng.choice(["web", "email", "phone"]),
                    status="solved" if solved else rng.choice(["open", "pending", "new"]),
                    solved_at=solved,
                    first_response_minutes=fr,
                    first_response_breached=None if fr is None else fr > 2000,
                    resolution_minutes=res,
                    resolution_breached=None if res is None else res > 5000,
                    csat_rating=rng.choice([None, "good", "bad"]) if solved else None,
                )
            )
        await Ticket.insert(
            *[
                _ticket(
                    r["number"], r["created_at"], **{k: v for k, v in r.items() if k not in ("number", "created_at")}
                )
                for r in rows
            ]
        ).run()
    ids = {r["number"]: r["id"] for r in await fetch("SELECT id, number FROM ticket")}
    for r in rows:
        r["id"] = ids[r["number"]]
    return admin, agents, rows


async def _report(user_id: int, role: str, zone: str, **params) -> dict:
    actor = Actor(id=user_id, email="x@example.org", name="X", role=role, timezone=zone)
    query = kpis.parse_query({"from": RANGE[0].isoformat(), "to": RANGE[1].isoformat(), **params}, zone, RANGE[1])
    return await kpis.ticket_report(await kpis.scope_for(actor), query, NOW)


def _tables(report: dict) -> dict:
    return {name: table["rows"] for name, table in report["tables"].items()}


def _tickets_only(lo, hi):
    return (None, [(lo, hi)] if lo < hi else [])


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York"])
async def test_reports_from_the_rollup_equal_reports_from_the_tickets(app, monkeypatch, zone):
    admin, agents, _ = await _desk()
    support = (await fetch("SELECT id FROM team WHERE name = 'Support'"))[0]["id"]
    cases = [
        (admin, "admin", {"by": "team"}),
        (admin, "admin", {"by": "agent"}),
        (admin, "admin", {"by": "channel", "channel": "email"}),
        (admin, "admin", {"by": "category", "team": str(support)}),
        (agents[0], "agent", {"by": "agent"}),
        (agents[2], "agent", {"by": "category"}),
    ]
    with_rollup = [_tables(await _report(user, role, zone, **params)) for user, role, params in cases]
    monkeypatch.setattr(rollup, "week_split", _tickets_only)
    from_tickets = [_tables(await _report(user, role, zone, **params)) for user, role, params in cases]
    assert with_rollup == from_tickets
    assert any(row[1] for row in with_rollup[0]["tickets-daily"])


async def test_long_range_numbers_match_the_data(app):
    admin, _, rows = await _desk()
    zone = "Asia/Kolkata"
    lo = charts.local_midnight(RANGE[0], zone)
    hi = charts.local_midnight(RANGE[1] + timedelta(days=1), zone)
    p_lo = charts.local_midnight(charts.previous_period(*RANGE)[0], zone)
    assert rollup.week_split(lo, hi)[0] is not None  # the rollup is really used

    def inside(r, column, a, b):
        return r[column] is not None and a <= r[column] < b

    created = [r for r in rows if inside(r, "created_at", lo, hi)]
    solved = [r for r in rows if inside(r, "solved_at", lo, hi)]
    previous_created = [r for r in rows if inside(r, "created_at", p_lo, lo)]
    met = sum(1 for r in created if r["first_response_breached"] is False)
    decided = sum(1 for r in created if r["first_response_breached"] is not None)
    good = sum(1 for r in solved if r["csat_rating"] == "good")
    rated = sum(1 for r in solved if r["csat_rating"])
    fr = sorted(charts.bucket(r["first_response_minutes"]) for r in created if r["first_response_minutes"])
    summary = {row[0]: row[1:] for row in (await _report(admin, "admin", zone))["tables"]["tickets-summary"]["rows"]}
    assert summary["Created"][:2] == [len(created), len(previous_created)]
    assert summary["Solved"][0] == len(solved)
    assert summary["First response SLA"][0] == round(100 * met / decided, 1)
    assert summary["CSAT"][0] == round(100 * good / rated, 1)
    assert summary["First response, median"][0] == fr[math.ceil(0.5 * len(fr)) - 1]
    assert len(created) > 50 and len(previous_created) > 30


async def test_big_cohorts_take_percentiles_from_the_sample_and_say_so(app, monkeypatch, make_browser):
    admin, _, rows = await _desk()
    monkeypatch.setattr(kpis, "SAMPLE_ABOVE", 10)
    lo, hi = charts.local_midnight(RANGE[0], "UTC"), charts.local_midnight(RANGE[1] + timedelta(days=1), "UTC")
    sample = sorted(
        charts.bucket(r["first_response_minutes"])
        for r in rows
        if r["id"] % rollup.SAMPLE_EVERY == 0 and r["first_response_minutes"] and lo <= r["created_at"] < hi
    )
    everyone = [r for r in rows if lo <= r["created_at"] < hi]
    report = await _report(admin, "admin", "UTC")
    headline = {m["label"]: m for m in report["headline"]}
    assert report["sampled"] == {"first": True, "resolution": True}
    assert headline["First response, median"]["raw"] == sample[math.ceil(0.5 * len(sample)) - 1]
    assert headline["First response, median"]["text"].startswith("≈ ")
    assert headline["Created"]["raw"] == len(everyone)  # counts stay exact
    browser = await make_browser()
    await browser.login("ada@example.org", PASSWORD)
    page = await browser.get(f"/back/reports?from={RANGE[0]}&to={RANGE[1]}")
    assert page.status_code == 200 and 'id="r-sampled"' in page.text and "one ticket in 16" in page.text
    monkeypatch.setattr(kpis, "SAMPLE_ABOVE", 10**6)
    assert (await _report(admin, "admin", "UTC"))["sampled"] == {"first": False, "resolution": False}
    page = await browser.get(f"/back/reports?from={RANGE[0]}&to={RANGE[1]}")
    assert 'id="r-sampled"' not in page.text


async def test_portal_recount_repairs_both_tallies(app, settings):
    """What an admin runs after a bulk load with triggers off: the counts come back from the tickets."""
    await _desk()
    kept, tallies = (
        await _snapshot(),
        await fetch_rows("SELECT status, team, assignee, n FROM queue_tally ORDER BY 1, 2, 3"),
    )
    async with write_transaction():
        await fetch("DELETE FROM ticket_week_stat")
        await fetch("UPDATE queue_tally SET n = 0")
    env = {**os.environ, "PORTAL_DATABASE_URL": settings.database_url, "PORTAL_VAR_DIR": str(settings.var_dir)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "portal"), "recount"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Recounted" in done.stdout
    assert await _snapshot() == kept
    assert [
        r for r in await fetch_rows("SELECT status, team, assignee, n FROM queue_tally ORDER BY 1, 2, 3") if r[3]
    ] == [r for r in tallies if r[3]]
