"""Customer booking through the app: pages, booking, races, manage by link, cutoffs, .ics, reminders."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from portal.booking.tables import Appointment, Service, ServiceStaff, WeeklyHours
from portal.clock import utcnow
from portal.db import write_transaction
from portal.jobs.tables import Job
from portal.mail.services import mail_attachments
from tests.conftest import link_in

PARIS = ZoneInfo("Europe/Paris")


def tomorrow_at(hour: int, minute: int = 0, days: int = 2) -> datetime:
    day = utcnow().astimezone(PARIS).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), PARIS).astimezone(UTC)


@pytest.fixture
async def desk(app, make_user):
    """A 30-minute service offered by one agent in Paris, every day 09:00–12:00 and 13:00–17:00."""
    staff_id = await make_user("staff@example.org", "agent", name="Sam Staff")
    from portal.accounts.tables import User

    async with write_transaction():
        await User.update({User.timezone: "Europe/Paris"}).where(User.id == staff_id).run()
        rows = await Service.insert(
            Service(
                slug="consultation",
                name="Consultation",
                duration_minutes=30,
                step_minutes=30,
                min_notice_minutes=60,
                horizon_days=30,
                capacity=1,
                cancel_cutoff_minutes=24 * 60,
                reschedule_cutoff_minutes=24 * 60,
                intake_questions=json.dumps(
                    [
                        {
                            "id": "topic",
                            "label": "Topic",
                            "kind": "choice",
                            "required": True,
                            "options": ["Tax", "Pension"],
                        }
                    ]
                ),
                created_at=utcnow(),
            )
        ).run()
        service_id = rows[0]["id"]
        await ServiceStaff.insert(ServiceStaff(service=service_id, staff=staff_id)).run()
        for weekday in range(7):
            for start, end in ((9 * 60, 12 * 60), (13 * 60, 17 * 60)):
                await WeeklyHours.insert(
                    WeeklyHours(staff=staff_id, weekday=weekday, start_minute=start, end_minute=end)
                ).run()
    return {"service_id": service_id, "staff_id": staff_id}


def booking_form(start: datetime, **overrides) -> dict:
    return {
        "start": start.isoformat(),
        "staff": "any",
        "name": "Carla Client",
        "email": "carla@example.org",
        "phone": "+33 1 23 45 67 89",
        "q_topic": "Tax",
        "timezone": "America/New_York",
        "note": "",
        **overrides,
    }


async def book_as_guest(browser, outbox, form: dict) -> str:
    """Book as a guest; the manage link is only in the confirmation mail, never on the page."""
    response = await browser.post("/book/consultation", form)
    assert response.status_code == 201, response.text
    assert "/appointments/manage/" not in response.text and "sent a confirmation" in response.text
    return link_in((await outbox(form["email"]))[-1]["body_text"], "/appointments/manage/")


async def test_calendar_month_and_day_times_in_the_customers_zone(browser, desk):
    start = tomorrow_at(9)
    day = start.astimezone(ZoneInfo("America/New_York")).date()
    page = await browser.get(f"/book/consultation?tz=America/New_York&month={day:%Y-%m}&day={day.isoformat()}")
    assert page.status_code == 200 and "Consultation" in page.text
    assert "America/New_York" in page.headers.get("set-cookie", "") and "portal_tz=" in page.headers["set-cookie"]
    # 09:00 in Paris is 03:00 in New York (or 04:00 around DST changes): shown in the customer's zone.
    local = start.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M")
    assert f">{local}" in page.text
    fragment = await browser.get(
        f"/book/consultation?month={day:%Y-%m}&day={day.isoformat()}", headers={"HX-Request": "true"}
    )
    assert fragment.text.lstrip().startswith('<div id="picker"') and f">{local}" in fragment.text  # zone remembered


async def test_guest_books_gets_ics_and_manages_by_link(browser, make_browser, desk, outbox):
    start = tomorrow_at(10)
    manage = await book_as_guest(browser, outbox, booking_form(start))
    appointment = await Appointment.select().first()
    assert appointment["start_at"] == start and appointment["staff"] == desk["staff_id"]
    assert appointment["customer_timezone"] == "America/New_York"
    assert json.loads(appointment["answers"]) == {"q_topic": "Tax"}

    mail = (await outbox("carla@example.org"))[-1]
    assert mail["subject"].startswith("Booked: Consultation on")
    (ics,) = mail_attachments(mail)
    event = Calendar.from_ical(ics.data).walk("VEVENT")[0]
    assert Calendar.from_ical(ics.data)["METHOD"] == "REQUEST"
    assert event["UID"] == appointment["uid"] and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == start
    assert "carla@example.org" in str(event["ATTENDEE"]) and event.walk("VALARM")
    reminders = await Job.select(Job.run_at).where(Job.kind == "booking.reminder").order_by(Job.run_at)
    assert [r["run_at"] for r in reminders] == [start - timedelta(hours=24), start - timedelta(hours=1)] or [
        r["run_at"] for r in reminders
    ] == [start - timedelta(hours=1)]  # the 24 h one only if still ahead

    other = await make_browser()  # the link alone opens it
    page = await other.get(manage)
    assert page.status_code == 200 and "Consultation" in page.text and "Sam Staff" in page.text
    assert "America/New_York" in page.text and "<dt>Topic</dt><dd>Tax</dd>" in page.text
    ics_download = await other.get(f"{manage}/ics")
    assert ics_download.headers["content-type"].startswith("text/calendar")

    # Reschedule to another free time: same UID, SEQUENCE 1, new reminders, mail sent.
    new_start = tomorrow_at(14)
    day = new_start.astimezone(PARIS).date().isoformat()
    for zone, local_time in (("Europe/Paris", "14:00"), ("America/New_York", "08:00")):
        picker = await other.get(f"{manage}/reschedule?month={day[:7]}&day={day}&tz={zone}")
        assert picker.status_code == 200 and local_time in picker.text  # the asked day, in the asked zone
    confirm = await other.get(f"{manage}/reschedule/confirm?start={new_start.isoformat().replace('+', '%2B')}")
    assert confirm.status_code == 200
    moved = await other.post(f"{manage}/reschedule", {"start": new_start.isoformat()})
    assert moved.status_code == 303
    row = await Appointment.select().first()
    assert row["start_at"] == new_start and row["sequence"] == 1 and row["uid"] == appointment["uid"]
    mail = (await outbox("carla@example.org"))[-1]
    assert mail["subject"].startswith("Moved:")
    event = Calendar.from_ical(mail_attachments(mail)[0].data).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 1 and event["UID"] == appointment["uid"]

    cancelled = await other.post(f"{manage}/cancel", {"reason": "Found another slot"})
    assert cancelled.status_code == 303
    row = await Appointment.select().first()
    assert row["status"] == "cancelled" and row["cancel_reason"] == "Found another slot" and row["sequence"] == 2
    mail = (await outbox("carla@example.org"))[-1]
    calendar = Calendar.from_ical(mail_attachments(mail)[0].data)
    assert calendar["METHOD"] == "CANCEL" and calendar.walk("VEVENT")[0]["UID"] == appointment["uid"]
    # The freed time can be booked again.
    assert (await browser.post("/book/consultation", booking_form(start, email="dan@example.org"))).status_code == 201


async def test_reminders_are_skipped_after_a_move_or_cancel(browser, desk, outbox):
    from portal.booking.services import send_reminder

    start = tomorrow_at(10, days=3)
    manage = await book_as_guest(browser, outbox, booking_form(start))
    appointment = await Appointment.select().first()
    await browser.post(f"{manage}/reschedule", {"start": tomorrow_at(11, days=3).isoformat()})
    before = len(await outbox("carla@example.org"))
    await send_reminder({"appointment_id": appointment["id"], "sequence": 0, "minutes": 60})  # stale: skipped
    assert len(await outbox("carla@example.org")) == before
    await send_reminder({"appointment_id": appointment["id"], "sequence": 1, "minutes": 60})
    assert (await outbox("carla@example.org"))[-1]["subject"].startswith("Reminder:")
    await browser.post(f"{manage}/cancel", {})
    count = len(await outbox("carla@example.org"))
    await send_reminder({"appointment_id": appointment["id"], "sequence": 2, "minutes": 60})
    assert len(await outbox("carla@example.org")) == count


async def test_bad_booking_input_is_refused(browser, desk):
    start = tomorrow_at(10)
    cases = [
        (booking_form(start, q_topic=""), 422, "Please answer this question"),
        (booking_form(start, q_topic="Astrology"), 422, "Choose one of the options"),
        (booking_form(start, email="nope"), 422, "Enter an email address like"),
        (booking_form(start, name=""), 422, "Enter your name"),
        (booking_form(start, phone="call me maybe"), 422, "phone number"),
        ({**booking_form(start), "start": "not a time"}, 422, "could not be read"),
        ({**booking_form(start), "start": "2026-12-01T10:00:00"}, 422, "could not be read"),  # no zone
        (booking_form(tomorrow_at(10, 15)), 422, "grid"),  # off the grid
        (booking_form(utcnow() - timedelta(days=1)), 422, "notice"),  # in the past
        (booking_form(tomorrow_at(10, days=45)), 422, "horizon"),  # beyond the horizon
        (booking_form(tomorrow_at(12, 15)), 422, "working hours"),  # lunch break
        (booking_form(start, staff="99999"), 404, "does not offer"),  # tampered staff id
    ]
    for form, status, message in cases:
        response = await browser.post("/book/consultation", form)
        assert response.status_code == status, (form, response.status_code, response.text[:500])
        assert message in response.text, (message, response.text[:3000])
    assert (await browser.post("/book/no-such-service", booking_form(start))).status_code == 404
    assert await Appointment.count() == 0
    assert (await browser.get("/book/consultation?day=garbage")).status_code == 422


async def test_taken_slot_offers_nearest_alternatives(browser, make_browser, desk):
    start = tomorrow_at(10)
    assert (await browser.post("/book/consultation", booking_form(start))).status_code == 201
    late = await make_browser()
    response = await late.post("/book/consultation", booking_form(start, email="late@example.org"))
    assert response.status_code == 409 and "just taken" in response.text
    assert "Free times nearby" in response.text and "(America/New_York)" in response.text
    alternative = re.search(r'name="alternative" value="([^"]+)"', response.text).group(1)
    # One click books the alternative with the details already typed.
    taken = await late.post(
        "/book/consultation", {**booking_form(start, email="late@example.org"), "alternative": alternative}
    )
    assert taken.status_code == 201
    assert (await Appointment.select().where(Appointment.customer_email == "late@example.org").first())[
        "start_at"
    ] == datetime.fromisoformat(alternative)


@pytest.mark.parametrize("capacity", [1, 3])
async def test_one_hundred_concurrent_requests_book_exactly_capacity(app, make_browser, desk, capacity):
    async with write_transaction():
        await Service.update({Service.capacity: capacity}).where(Service.id == desk["service_id"]).run()
    start = tomorrow_at(15)
    browsers = [await make_browser() for _ in range(10)]
    for b in browsers:
        await b.get("/")

    async def attempt(i: int):
        b = browsers[i % len(browsers)]
        return await b.post("/book/consultation", booking_form(start, email=f"racer{i}@example.org"))

    responses = await asyncio.gather(*(attempt(i) for i in range(100)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == capacity, statuses
    assert statuses.count(409) == 100 - capacity, statuses
    assert all("just taken" in r.text for r in responses if r.status_code == 409)
    assert await Appointment.count().where(Appointment.status == "booked") == capacity


async def test_signed_in_customer_sees_and_manages_own_appointments_only(browser, make_browser, make_user, desk):
    await make_user("ann@example.org", name="Ann")
    await browser.login("ann@example.org")
    start = tomorrow_at(11)
    form = booking_form(start)
    del form["name"], form["email"]
    assert (await browser.post("/book/consultation", form)).status_code == 303
    appointment = await Appointment.select().first()
    assert appointment["customer_email"] == "ann@example.org"
    mine = await browser.get("/appointments")
    assert "Consultation" in mine.text and f"/appointments/{appointment['id']}" in mine.text
    assert (await browser.get(f"/appointments/{appointment['id']}")).status_code == 200

    await make_user("bob@example.org")
    bob = await make_browser()
    await bob.login("bob@example.org")
    for method, url, data in (
        ("get", f"/appointments/{appointment['id']}", None),
        ("get", f"/appointments/{appointment['id']}/ics", None),
        ("post", f"/appointments/{appointment['id']}/cancel", {}),
        ("post", f"/appointments/{appointment['id']}/reschedule", {"start": tomorrow_at(14).isoformat()}),
        ("get", "/appointments/manage/forged-token", None),
    ):
        response = await (bob.get(url) if method == "get" else bob.post(url, data))
        assert response.status_code == 404, (url, response.status_code)
    assert "Consultation" not in (await bob.get("/appointments")).text
    assert (await Appointment.select().first())["status"] == "booked"

    assert (await browser.post(f"/appointments/{appointment['id']}/cancel", {})).status_code == 303
    assert (await Appointment.select().first())["status"] == "cancelled"


async def test_cutoffs_are_enforced_for_every_route(browser, desk, outbox):
    async with write_transaction():
        await Service.update({Service.min_notice_minutes: 0}).where(Service.id == desk["service_id"]).run()
    start = utcnow().replace(second=0, microsecond=0)
    # Find the next free start within 23 hours (inside the 24 h cutoff).
    from portal.booking import services as booking

    service = await booking.service_by_slug("consultation")
    slots = await booking.free_slots(service, "any", start, start + timedelta(hours=23))
    if not slots:
        pytest.skip("no working hours in the next 23 hours at this time of day")
    manage = await book_as_guest(browser, outbox, booking_form(slots[0].start))
    page = await browser.get(manage)
    assert "can no longer be changed online" in page.text
    refused = await browser.post(f"{manage}/cancel", {})
    assert refused.status_code == 422 and "up to 24 hours" in refused.text
    moved = await browser.post(f"{manage}/reschedule", {"start": tomorrow_at(15, days=3).isoformat()})
    assert moved.status_code == 422
    assert (await Appointment.select().first())["status"] == "booked"


async def test_choosing_a_day_with_htmx_returns_only_its_times(browser, desk):
    day = tomorrow_at(10).astimezone(PARIS).date()
    response = await browser.get(
        f"/book/consultation?tz=Europe/Paris&day={day.isoformat()}",
        headers={"HX-Request": "true", "HX-Target": "times-slot"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="times"') and ">10:00<" in response.text
    assert "month-grid" not in response.text
