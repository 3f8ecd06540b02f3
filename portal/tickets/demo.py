"""Demo help desk: a few hundred tickets over the last six weeks across teams, in every state, with
replies, internal notes, tags, history, ratings and canned replies (idempotent: only on an empty desk).

Everything goes through the real services (so search, tallies and history are right); afterwards
each ticket's timestamps are moved back in time to spread the desk over the weeks.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from litestar.stores.memory import MemoryStore

from portal.accounts.rules import Actor
from portal.accounts.tables import Team, User
from portal.clock import instant, utcnow
from portal.db import fetch, write_transaction
from portal.throttle import Throttle
from portal.tickets import access, sla, sla_admin, write
from portal.tickets.rows import Row
from portal.tickets.rules import UNSOLVED, Priority, Status
from portal.tickets.tables import BusinessCalendar, BusinessHours, CannedReply, Category, SlaPolicy, Ticket

CATEGORIES = [
    ("General question", "Support"),
    ("Technical problem", "Support"),
    ("Account and login", "Support"),
    ("Billing and invoices", "Billing"),
    ("Refunds", "Billing"),
    ("Feature request", None),
]
TICKETS = 300
DEMO_ZONE = ZoneInfo("Europe/Paris")  # the demo desk's business hours

STORIES = [
    (
        "Cannot log in since this morning",
        "When I enter my password the page just reloads. I tried two browsers.",
        "Sorry about that! We reset the session store; could you **try again** and tell us if it works?",
    ),
    (
        "Invoice shows the wrong VAT number",
        "Our VAT number is FR12345678901 but the invoice says FR1234.",
        "Thanks, we corrected it. The new invoice is attached to your account.",
    ),
    (
        "How do I export my data?",
        "Is there a way to get all my records as CSV?",
        "Yes: go to *Account → Export*, choose CSV and you get a download link by mail.",
    ),
    (
        "App crashes when uploading a photo",
        "Every time I attach a photo bigger than 5 MB the app closes.",
        "We could reproduce it. A fix ships next week; meanwhile, photos under 5 MB work.",
    ),
    (
        "Change of billing address",
        "We moved to 12 rue de la Paix, Paris. Please update future invoices.",
        "Done: your next invoices carry the new address.",
    ),
    (
        "Double charge on my card",
        "I was charged twice on the 3rd for the same order #4471.",
        "You are right, the second charge is refunded; expect it in 3–5 days.",
    ),
    (
        "Feature request: dark mode",
        "Would love a dark theme for evening work.",
        "Great idea, we added your vote to the request.",
    ),
    (
        "Password reset mail never arrives",
        "I asked three times, nothing in spam either.",
        "Your mail provider rejected our messages; we whitelisted it. Please try once more.",
    ),
    (
        "Sync stops after an hour",
        "The desktop app stops syncing after about an hour and needs a restart.",
        "Thanks for the logs. Version 4.2.1 fixes the token refresh; please update.",
    ),
    (
        "Refund for the annual plan",
        "I cancelled within the 14 days, please refund the annual plan.",
        "The refund is on its way; it shows on your statement within a week.",
    ),
    (
        "Two-factor codes rejected",
        "My authenticator codes are always refused, even fresh ones.",
        "Your phone clock was 3 minutes off; enabling automatic time fixes it.",
    ),
    (
        "Printer driver for the label printer",
        "Which driver do I need for the LP-200 label printer on macOS?",
        "Use the generic ZPL driver from our downloads page; the setup guide is linked there.",
    ),
    (
        "Slow dashboard with many projects",
        "With 300 projects the dashboard takes 20 seconds to open.",
        "We added an index for large accounts; it opens in under a second now.",
    ),
    (
        "Add a colleague to our account",
        "How can I invite my colleague Marc to our team?",
        "Open *Team → Invite*, enter his address, and he gets an invitation mail.",
    ),
]
FOLLOW_UPS = [
    "Thanks, that worked!",
    "Still the same problem, unfortunately.",
    "Could you check again please?",
    "Here is a screenshot of the error.",
    "Any news on this?",
]
NOTES = [
    "Checked the logs: the account was locked after five attempts.",
    "Escalated to engineering (BUG-1182).",
    "Customer is on the enterprise plan: priority handling.",
    "Same issue as last month, see the other ticket.",
]
TAGS = ["vip", "bug", "refund", "login", "mobile", "desktop", "invoice", "feature-request", "escalated"]
GUESTS = [
    "Marie Curie",
    "Alan Turing",
    "Grace Hopper",
    "Ada Byron",
    "Linus Pauling",
    "Rosalind Franklin",
    "Niels Bohr",
    "Hedy Lamarr",
    "Katherine Johnson",
    "Tim Berners",
    "Margaret Hamilton",
    "Dennis Ritchie",
    "Barbara Liskov",
    "Ken Thompson",
    "Frances Allen",
    "John Backus",
    "Radia Perlman",
    "Edsger Dijkstra",
]
SERVICE_LEVELS = [
    ("Urgent", "urgent", 30, 4 * 60),
    ("High", "high", 60, 9 * 60),
    ("Normal", "normal", 4 * 60, 3 * 9 * 60),
    ("Low", "low", 9 * 60, 5 * 9 * 60),
]
CANNED = [
    ("Greeting", "Hello {{customer_first_name}},\n\nthanks for reaching out about ticket #{{ticket_number}}. "),
    (
        "Need more details",
        "Could you send us a screenshot and the exact time it happened? That helps us find it "
        "in our logs.\n\n{{agent_name}}",
    ),
    (
        "Solved, closing",
        "Glad we could help, {{customer_first_name}}! I am marking this as solved; just reply if "
        "anything else comes up.\n\n{{agent_name}}",
    ),
    ("Refund processed", "The refund is processed and will show on your statement within 5 business days."),
]


class _NoLimit(Throttle):
    def __init__(self) -> None:
        super().__init__(MemoryStore())

    async def retry_after(self, key: str, limit: int) -> int:
        return 0


async def _categories(teams: dict[str, int]) -> dict[str, int]:
    async with write_transaction():
        for position, (name, team) in enumerate(CATEGORIES):
            if not await Category.exists().where(Category.name == name):
                await Category.insert(
                    Category(name=name, team=teams.get(team) if team else None, position=position)
                ).run()
    return {row["name"]: row["id"] for row in await Category.select(Category.id, Category.name)}


async def _canned(agent_ids: list[int]) -> None:
    if await CannedReply.count():
        return
    now = utcnow()
    async with write_transaction():
        for title, body in CANNED:
            await CannedReply.insert(CannedReply(title=title, body=body, created_at=now, updated_at=now)).run()
        if agent_ids:
            await CannedReply.insert(
                CannedReply(
                    title="My sign-off",
                    body="Best regards,\n{{agent_name}}",
                    owner=agent_ids[0],
                    created_at=now,
                    updated_at=now,
                )
            ).run()


async def seed_demo_tickets(customer_ids: list[int], agent_ids: list[int]) -> int:
    """Categories and canned replies always; tickets only when there are none yet."""
    teams = {row["name"]: row["id"] for row in await Team.select(Team.id, Team.name)}
    categories = await _categories(teams)
    await _canned(agent_ids)
    if await Ticket.count():
        return 0
    await _service_levels()
    users = {row["id"]: row for row in await User.select().where(User.id.is_in(customer_ids + agent_ids))}
    agents = [Actor(id=u, email=users[u]["email"], name=users[u]["name"], role=users[u]["role"]) for u in agent_ids]
    scopes = {a.id: await access.for_actor(a) for a in agents}
    rng = random.Random(2026)
    throttle = _NoLimit()
    category_names = list(categories)
    for index in range(TICKETS):
        subject, body, answer = STORIES[index % len(STORIES)]
        category = category_names[(index * 7 + index // len(STORIES)) % len(category_names)]
        if index % 3 == 0 and customer_ids:
            customer = users[customer_ids[index % len(customer_ids)]]
            actor = Actor(id=customer["id"], email=customer["email"], name=customer["name"], role="customer")
            form = write.NewTicket(subject=subject, body=body, category=str(categories[category]))
        else:
            actor = None
            name = GUESTS[index % len(GUESTS)]
            email = name.lower().replace(" ", ".") + "@example.net"
            form = write.NewTicket(
                subject=subject, body=body, category=str(categories[category]), name=name, email=email
            )
        ticket = await write.open_ticket(actor, form, ip="127.0.0.1", throttle=throttle)
        await _work_on(ticket, answer, agents, scopes, rng)
        await _spread_in_time(ticket["id"], rng, index)
        async with write_transaction():
            await sla.refresh(ticket["id"], schedule=False)
    async with write_transaction():
        await Team.update({Team.round_robin: True}).where(Team.name == "Support").run()
        # Warnings scheduled while the tickets were made refer to due times before the spreading.
        await fetch("DELETE FROM job WHERE kind IN ('sla.warn', 'sla.breach') AND done_at IS NULL")
        for row in await fetch("SELECT id FROM ticket WHERE next_due_at > {}", utcnow()):
            await sla.refresh(row["id"])  # warnings ahead; past breaches are history, not news
    return TICKETS


async def _service_levels() -> None:
    """Office hours in Paris, Monday–Friday 09:00–18:00, and a policy per priority."""
    calendar = await sla_admin.default_calendar_id()
    async with write_transaction():
        await (
            BusinessCalendar.update({BusinessCalendar.timezone: DEMO_ZONE.key})
            .where(BusinessCalendar.id == calendar)
            .run()
        )
        await BusinessHours.update({BusinessHours.end_minute: 1080}).where(BusinessHours.calendar == calendar).run()
        if not await SlaPolicy.count():
            for name, priority, first, resolution in SERVICE_LEVELS:
                await SlaPolicy.insert(
                    SlaPolicy(
                        name=name,
                        priority=priority,
                        calendar=calendar,
                        first_response_minutes=first,
                        resolution_minutes=resolution,
                    )
                ).run()


async def _work_on(
    ticket: Row, answer: str, agents: list[Actor], scopes: dict[int, access.TicketAccess], rng: random.Random
) -> None:
    """What the desk did with the ticket: nothing yet, a reply, notes, tags, a solution, a rating."""
    number = ticket["number"]
    fate = rng.random()
    if fate < 0.15 or not agents:
        return  # new and unassigned
    agent = rng.choice(agents)
    scope = scopes[agent.id]
    try:
        await write.take(scope, number)
    except Exception:  # a limited agent who does not see this team: another agent takes it
        agent = agents[0]
        scope = scopes[agent.id]
        await write.take(scope, number)
    if rng.random() < 0.3:
        await write.change(
            scope,
            number,
            write.Change(priority=rng.choice([Priority.low, Priority.high, Priority.high, Priority.urgent])),
        )
    if rng.random() < 0.35:
        await write.set_tags(scope, number, ", ".join(rng.sample(TAGS, rng.randint(1, 2))))
    if rng.random() < 0.3:
        await write.reply(scope, number, rng.choice(NOTES), [], internal=True)
    if fate < 0.25:
        return  # open, assigned, not answered yet
    status = Status.pending if fate < 0.45 else Status.on_hold if fate < 0.5 else Status.solved
    await write.reply(scope, number, answer, [], status=status)
    if status != Status.solved:
        if rng.random() < 0.4:  # the customer answered: back to open
            await write.reply(access.for_guest(ticket["id"]), None, rng.choice(FOLLOW_UPS), [])
        return
    if rng.random() < 0.6:
        good = rng.random() < 0.8
        await write.rate(
            access.for_guest(ticket["id"]),
            None,
            "good" if good else "bad",
            "Quick and friendly, thanks!" if good else "Took too long.",
        )
    if rng.random() < 0.5:
        await write.change(scope, number, write.Change(status=Status.closed))


def _in_office_hours(now: datetime, age: timedelta, rng: random.Random) -> timedelta:
    """Most customers write during the working day: move nine tickets in ten to a weekday between 9:00
    and 17:00 in Paris (the demo's business hours), at most a few days earlier, so their response
    times count business minutes like a real desk's rather than nights and weekends."""
    if rng.random() < 0.1:
        return age
    local = (now - age).astimezone(DEMO_ZONE)
    while local.weekday() >= 5 or local.hour >= 17 or local.hour < 9:
        local = (local - timedelta(hours=1)).replace(minute=rng.randint(0, 59))
    return max(now - local.astimezone(UTC), timedelta(minutes=5))


def _set_instant(value: object) -> datetime:
    """A timestamp column that is set (the callers skip nulls), as an aware UTC datetime."""
    at = instant(value)
    if at is None:
        raise ValueError("a timestamp that must be set is null")
    return at


async def _spread_in_time(ticket_id: int, rng: random.Random, index: int) -> None:
    """Move the ticket and everything on it back in time: older tickets first, up to six weeks;
    tickets still open are from the last two days (a desk that keeps up). The demo's actions
    happened milliseconds apart; stretching the time after creation turns them into the minutes and
    hours a real desk takes (so response and resolution times mean something)."""
    age = timedelta(days=42 * (1 - index / TICKETS) ** 1.5, minutes=rng.randint(0, 600))
    status = (await fetch("SELECT status FROM ticket WHERE id = {}", ticket_id))[0]["status"]
    if status in UNSOLVED:
        age = timedelta(minutes=rng.randint(5, 2 * 24 * 60))
    age = _in_office_hours(utcnow(), age, rng)
    stretch = rng.uniform(30_000, 900_000)
    latest = utcnow() - timedelta(minutes=1)
    async with write_transaction():
        row = (
            await fetch(
                "SELECT created_at, updated_at, staff_replied_at, customer_seen_at, first_response_at, "
                "solved_at, closed_at, csat_at FROM ticket WHERE id = {}",
                ticket_id,
            )
        )[0]
        origin = _set_instant(row["created_at"])

        def moved(value: object) -> datetime:
            at = _set_instant(value)
            return min(at - age + (at - origin) * stretch, max(latest, origin - age))

        await (
            Ticket.update({getattr(Ticket, k): moved(v) for k, v in row.items() if v is not None})
            .where(Ticket.id == ticket_id)
            .run()
        )
        for table, column in (("message", "created_at"), ("ticket_event", "at"), ("attachment", "created_at")):
            for item in await fetch(f"SELECT id, {column} AS at FROM {table} WHERE ticket = {{}}", ticket_id):
                await fetch(f"UPDATE {table} SET {column} = {{}} WHERE id = {{}}", moved(item["at"]), item["id"])
