"""Demo booking set-up: services, staff hours (two zones), holidays and a few appointments."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from portal.accounts.rules import Actor
from portal.accounts.tables import User
from portal.booking import services
from portal.booking.tables import Appointment, DateOverride, Holiday, Service, ServiceStaff, TimeOff, WeeklyHours
from portal.clock import utcnow
from portal.db import write_transaction

SERVICES: list[dict[str, Any]] = [
    dict(
        slug="tax-consultation",
        name="Tax consultation",
        duration_minutes=45,
        step_minutes=15,
        buffer_after_minutes=15,
        min_notice_minutes=120,
        horizon_days=60,
        capacity=1,
        description="A one-to-one meeting about your tax return.",
        intake_questions=[
            {
                "id": "topic",
                "label": "What is it about?",
                "kind": "choice",
                "required": True,
                "options": ["Income tax", "Property", "Self-employment"],
            },
            {"id": "first", "label": "Is this your first visit?", "kind": "yesno", "required": False},
        ],
    ),
    dict(
        slug="pension-workshop",
        name="Pension workshop",
        duration_minutes=60,
        step_minutes=60,
        min_notice_minutes=24 * 60,
        horizon_days=90,
        capacity=6,
        description="A small group session on planning your pension.",
        intake_questions=[],
    ),
    dict(
        slug="quick-call",
        name="Quick phone call",
        duration_minutes=15,
        step_minutes=15,
        min_notice_minutes=60,
        horizon_days=30,
        capacity=1,
        description="Fifteen minutes on the phone for a short question.",
        intake_questions=[{"id": "question", "label": "Your question in a sentence", "kind": "text", "required": True}],
    ),
]


async def seed_demo_booking(agent_ids: list[int], customer_ids: list[int]) -> int:
    """Idempotent: does nothing once services exist. Returns how many appointments were booked."""
    if await Service.count():
        return 0
    now = utcnow()
    async with write_transaction():
        # One agent works from New York, to show times in several zones.
        await User.update({User.timezone: "America/New_York"}).where(User.id == agent_ids[-1]).run()
        for position, spec in enumerate(SERVICES):
            spec = {**spec, "intake_questions": json.dumps(spec["intake_questions"])}
            rows = await Service.insert(Service(**spec, position=position, created_at=now)).run()
            for staff_id in agent_ids if spec["slug"] != "pension-workshop" else agent_ids[:1]:
                await ServiceStaff.insert(ServiceStaff(service=rows[0]["id"], staff=staff_id)).run()
        for staff_id in agent_ids:
            for weekday in range(5):
                for start, end in ((9 * 60, 12 * 60 + 30), (13 * 60 + 30, 17 * 60 + 30)):
                    await WeeklyHours.insert(
                        WeeklyHours(staff=staff_id, weekday=weekday, start_minute=start, end_minute=end)
                    ).run()
        # Something for the staff calendar to show: an afternoon off and a short Friday.
        soon = now.date() + timedelta(days=3)
        await TimeOff.insert(
            TimeOff(
                staff=agent_ids[0],
                start_at=now.replace(hour=13, minute=0, second=0, microsecond=0) + timedelta(days=3),
                end_at=now.replace(hour=17, minute=0, second=0, microsecond=0) + timedelta(days=3),
                reason="Training",
            )
        ).run()
        friday = soon + timedelta(days=(4 - soon.weekday()) % 7)
        await DateOverride.insert(
            DateOverride(staff=agent_ids[-1], day=friday, start_minute=9 * 60, end_minute=13 * 60)
        ).run()
        year = now.year
        for day, name in (
            (date(year, 12, 25), "Christmas Day"),
            (date(year, 12, 26), "Boxing Day"),
            (date(year + 1, 1, 1), "New Year's Day"),
        ):
            await Holiday.insert(Holiday(day=day, name=name)).run()
    customers = {row["id"]: row for row in await User.select().where(User.id.is_in(customer_ids))}
    booked = 0
    for index, customer_id in enumerate(customer_ids[:6]):
        customer = customers[customer_id]
        actor = Actor(id=customer_id, email=customer["email"], name=customer["name"], role="customer")
        service = await services.service_by_slug(SERVICES[index % 3]["slug"])
        slots = await services.free_slots(
            service, services.ANYONE, now + timedelta(days=2 + index), now + timedelta(days=9 + index)
        )
        if not slots:
            continue
        answers = {
            f"q_{q['id']}": (q.get("options") or ["yes"])[0] if q["kind"] != "text" else "Can I deduct my home office?"
            for q in service["questions"]
        }
        await services.book(
            actor,
            service,
            services.ANYONE,
            slots[index % len(slots)].start.isoformat(),
            services.Details(timezone=customer["timezone"], answers=answers),
        )
        booked += 1
    return booked


async def appointment_count() -> int:
    return await Appointment.count()
