"""The front office's home: a signed-in customer lands on their open tickets and upcoming
appointments (only theirs); a visitor sees what they can do."""

from __future__ import annotations

from datetime import timedelta

from portal.accounts.rules import Actor
from portal.booking.tables import Appointment, Service
from portal.clock import utcnow
from portal.db import write_transaction
from portal.tickets import write
from tests.factories import make_user

PASSWORD = "a long s3cret phrase"


class NoThrottle:
    async def retry_after(self, key, limit):
        return 0

    async def hit(self, key, seconds):
        return None


async def _ticket(actor: Actor, subject: str) -> dict:
    form = write.NewTicket(subject=subject, body="Please help.")
    return await write.open_ticket(actor, form, ip="127.0.0.1", throttle=NoThrottle())


async def _appointment(customer: int, staff: int, days: int, uid: str) -> None:
    now = utcnow()
    async with write_transaction():
        service = await Service.select(Service.id).where(Service.slug == "tax").first()
        if service is None:
            service = (await Service.insert(Service(slug="tax", name="Tax advice", created_at=now)).run())[0]
        start = now + timedelta(days=days)
        await Appointment.insert(
            Appointment(
                service=service["id"],
                staff=staff,
                customer=customer,
                customer_name="Someone",
                customer_email="someone@example.org",
                start_at=start,
                end_at=start + timedelta(minutes=30),
                uid=uid,
                manage_token_hash=uid * 64,
                created_at=now,
                updated_at=now,
            )
        ).run()


async def test_a_customer_lands_on_their_own_tickets_and_appointments(app, make_browser):
    ann = await make_user("ann@example.org", "customer", name="Ann")
    carl = await make_user("carl@example.org", "customer", name="Carl")
    staff = await make_user("sam@example.org", "agent", name="Sam Staff")
    await _ticket(Actor(id=ann, email="ann@example.org", name="Ann", role="customer"), "Printer on fire")
    await _ticket(Actor(id=carl, email="carl@example.org", name="Carl", role="customer"), "Carl's secret")
    await _appointment(ann, staff, 2, "a")
    await _appointment(ann, staff, -2, "b")  # past: not "upcoming"
    await _appointment(carl, staff, 3, "c")
    browser = await make_browser()
    login = await browser.login("ann@example.org", PASSWORD)
    assert login.headers["location"] == "/"
    home = (await browser.get("/")).text
    assert "Printer on fire" in home and "Carl's secret" not in home
    assert home.count("Tax advice") == 1  # Ann's upcoming one, not her past one nor Carl's
    visitor = (await (await make_browser()).get("/")).text
    assert "Your open tickets" not in visitor and "Get help" in visitor
