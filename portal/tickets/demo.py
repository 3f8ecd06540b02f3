"""Demo tickets: a realistic mix of states, replies and ratings (idempotent: only on an empty desk)."""

from __future__ import annotations

import random

from litestar.stores.memory import MemoryStore

from portal.accounts.rules import Actor
from portal.accounts.tables import Team, User
from portal.db import write_transaction
from portal.throttle import Throttle
from portal.tickets import services
from portal.tickets.tables import Category, Ticket

CATEGORIES = [("General question", "Support"), ("Technical problem", "Support"), ("Billing and invoices", "Billing")]

STORIES = [
    ("Cannot log in since this morning", "When I enter my password the page just reloads. I tried two browsers.",
     "Sorry about that! We reset the session store; could you **try again** and tell us if it works?"),
    ("Invoice shows the wrong VAT number", "Our VAT number is FR12345678901 but the invoice says FR1234.",
     "Thanks, we corrected it. The new invoice is attached to your account."),
    ("How do I export my data?", "Is there a way to get all my records as CSV?",
     "Yes: go to *Account → Export*, choose CSV and you get a download link by mail."),
    ("App crashes when uploading a photo", "Every time I attach a photo bigger than 5 MB the app closes.",
     "We could reproduce it. A fix ships next week; meanwhile, photos under 5 MB work."),
    ("Change of billing address", "We moved to 12 rue de la Paix, Paris. Please update future invoices.", None),
    ("Double charge on my card", "I was charged twice on the 3rd for the same order #4471.",
     "You are right, the second charge is refunded; expect it in 3–5 days."),
    ("Feature request: dark mode", "Would love a dark theme for evening work.",
     "Great idea, we added your vote to the request."),
    ("Password reset mail never arrives", "I asked three times, nothing in spam either.", None),
]


async def seed_demo_tickets(customer_ids: list[int], agent_ids: list[int]) -> int:
    """Categories always; tickets only when there are none yet. Returns how many tickets were made."""
    teams = {row["name"]: row["id"] for row in await Team.select(Team.id, Team.name)}
    async with write_transaction():
        for position, (name, team) in enumerate(CATEGORIES):
            if not await Category.exists().where(Category.name == name):
                await Category.insert(Category(name=name, team=teams.get(team), position=position)).run()
    if await Ticket.count():
        return 0
    categories = {row["name"]: row["id"] for row in await Category.select(Category.id, Category.name)}
    users = {row["id"]: row for row in await User.select().where(User.id.is_in(customer_ids + agent_ids))}
    rng = random.Random(2026)
    throttle = Throttle(MemoryStore())
    made = 0
    for index, customer_id in enumerate(customer_ids):
        customer = users[customer_id]
        actor = Actor(id=customer_id, email=customer["email"], name=customer["name"], role="customer")
        for offset in range(1 + index % 3):
            subject, body, answer = STORIES[(index + offset * 3) % len(STORIES)]
            category = CATEGORIES[(index + offset) % len(CATEGORIES)][0]
            ticket, _ = await services.open_ticket(
                actor, services.NewTicket(subject=subject, body=body, category=str(categories[category])),
                ip="127.0.0.1", throttle=throttle)
            made += 1
            if answer is None:
                continue
            agent = users[rng.choice(agent_ids)]
            staff = Actor(id=agent["id"], email=agent["email"], name=agent["name"], role="agent")
            await services.staff_reply(staff, ticket["id"], answer)
            fate = rng.random()
            if fate < 0.35:
                await services.staff_set_status(staff, ticket["id"], "solved")
                if fate < 0.25:
                    solved = await Ticket.select().where(Ticket.id == ticket["id"]).first()
                    await services.rate(solved, "good" if fate < 0.2 else "bad",
                                        "Quick and friendly, thanks!" if fate < 0.2 else "Took too long.")
            elif fate < 0.55:
                await services.staff_set_status(staff, ticket["id"], "pending")
    return made
