"""Booking back office through the app: services, schedules, holidays, "why not bookable", the staff
calendar, the appointment page, phone bookings and staff feeds — with the refusals."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from portal.accounts.tables import User
from portal.booking.tables import (
    Appointment,
    DateOverride,
    Holiday,
    Service,
    ServiceStaff,
    StaffFeed,
    TimeOff,
    WeeklyHours,
)
from portal.clock import utcnow
from portal.db import write_transaction
from portal.mail.services import mail_attachments
from tests.conftest import link_in

PARIS = ZoneInfo("Europe/Paris")


def paris_day(days: int = 2) -> date:
    return utcnow().astimezone(PARIS).date() + timedelta(days=days)


def at(hour: int, minute: int = 0, days: int = 2) -> datetime:
    return datetime.combine(paris_day(days), time(hour, minute), PARIS).astimezone(UTC)


async def set_zone(user_id: int, zone: str) -> None:
    async with write_transaction():
        await User.update({User.timezone: zone}).where(User.id == user_id).run()


@pytest.fixture
async def office(app, make_user, make_browser):
    """An admin and two agents (all in Paris); a 30-minute service offered by agent Sam, who works
    every day 09:00–12:00 and 13:00–17:00. Returns ids and signed-in browsers."""
    admin_id = await make_user("admin@example.org", "admin", name="Ada Admin")
    sam_id = await make_user("sam@example.org", "agent", name="Sam Staff")
    tom_id = await make_user("tom@example.org", "agent", name="Tom Other")
    for user_id in (admin_id, sam_id, tom_id):
        await set_zone(user_id, "Europe/Paris")
    async with write_transaction():
        rows = await Service.insert(
            Service(
                slug="consultation",
                name="Consultation",
                duration_minutes=30,
                step_minutes=30,
                min_notice_minutes=60,
                horizon_days=30,
                capacity=1,
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
        await ServiceStaff.insert(ServiceStaff(service=service_id, staff=sam_id)).run()
        for weekday in range(7):
            for start, end in ((9 * 60, 12 * 60), (13 * 60, 17 * 60)):
                await WeeklyHours.insert(
                    WeeklyHours(staff=sam_id, weekday=weekday, start_minute=start, end_minute=end)
                ).run()
    admin, sam, tom = await make_browser(), await make_browser(), await make_browser()
    await admin.login("admin@example.org")
    await sam.login("sam@example.org")
    await tom.login("tom@example.org")
    return {
        "admin_id": admin_id,
        "sam_id": sam_id,
        "tom_id": tom_id,
        "service_id": service_id,
        "admin": admin,
        "sam": sam,
        "tom": tom,
    }


def customer_form(start: datetime, **overrides) -> dict:
    return {
        "start": start.isoformat(),
        "staff": "any",
        "name": "Carla Client",
        "email": "carla@example.org",
        "phone": "+33 1 23 45 67 89",
        "q_topic": "Tax",
        "timezone": "America/New_York",
        **overrides,
    }


async def book_as_customer(make_browser, start: datetime, **overrides) -> int:
    customer = await make_browser()
    response = await customer.post("/book/consultation", customer_form(start, **overrides))
    assert response.status_code == 201, response.text[:2000]
    return (await Appointment.select(Appointment.id).order_by(Appointment.id, ascending=False).first())["id"]


def service_form(**overrides) -> dict:
    form = {
        "name": "Pension check",
        "slug": "",
        "description": "Half an hour on your pension.",
        "duration_minutes": "45",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "15",
        "step_minutes": "15",
        "min_notice_minutes": "60",
        "horizon_days": "20",
        "capacity": "1",
        "cancel_cutoff_minutes": "1440",
        "reschedule_cutoff_minutes": "720",
        "reminder_offsets": "1440, 60",
        "position": "1",
        "is_active": "1",
        "q0_label": "Policy number",
        "q0_kind": "text",
        "q0_order": "2",
        "q0_required": "1",
        "q1_label": "Which fund?",
        "q1_kind": "choice",
        "q1_options": "State\nPrivate",
        "q1_order": "1",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


# --- services ------------------------------------------------------------------------------------


async def test_admin_sets_up_a_service_end_to_end_and_customers_see_its_times(office, make_browser, make_user):
    admin = office["admin"]
    ann_id = await make_user("ann@example.org", "agent", name="Ann New")
    response = await admin.post("/back/services", {**service_form(), "staff": str(ann_id)})
    assert response.status_code == 303, response.text[:3000]
    service = await Service.select().where(Service.slug == "pension-check").first()
    assert response.headers["location"] == f"/back/services/{service['id']}"
    assert (
        service["duration_minutes"],
        service["buffer_after_minutes"],
        service["step_minutes"],
        service["horizon_days"],
        service["reschedule_cutoff_minutes"],
    ) == (45, 15, 15, 20, 720)
    assert json.loads(service["reminder_offsets"]) == [1440, 60]
    questions = json.loads(service["intake_questions"])
    assert [(q["id"], q["label"], q["kind"]) for q in questions] == [
        ("which_fund", "Which fund?", "choice"),
        ("policy_number", "Policy number", "text"),
    ]  # by order
    assert questions[0]["options"] == ["State", "Private"] and questions[1]["required"] is True

    page = await admin.get(f"/back/services/{service['id']}")
    assert page.status_code == 200 and "No free times within the booking horizon" in page.text  # Ann has no hours

    # Ann gets hours (in New York), then the preview and the customer calendar show her times.
    hours = {
        "timezone": "America/New_York",
        **{f"w{d}_0_start": "10:00" for d in range(7)},
        **{f"w{d}_0_end": "14:00" for d in range(7)},
    }
    assert (await admin.post(f"/back/schedules/{ann_id}/weekly", hours)).status_code == 303
    page = await admin.get(f"/back/services/{service['id']}")
    assert 'id="preview-slots"' in page.text and "slot-chip" in page.text
    ny_day = utcnow().astimezone(ZoneInfo("America/New_York")).date() + timedelta(days=3)
    customer = await make_browser()
    times = await customer.get(f"/book/pension-check?tz=America/New_York&day={ny_day.isoformat()}")
    assert times.status_code == 200 and ">10:00<" in times.text and ">13:00<" in times.text
    assert ">13:15<" not in times.text  # 45 minutes + 15 buffer must end by 14:00

    # Edit: keep the question ids (answers are keyed by them), remove one, reorder.
    edit = service_form(
        q0_id="policy_number", q1_id="which_fund", q1_remove="1", staff=str(ann_id), name="Pension check"
    )
    assert (await admin.post(f"/back/services/{service['id']}", edit)).status_code == 303
    saved = await Service.select().where(Service.id == service["id"]).first()
    assert [q["id"] for q in json.loads(saved["intake_questions"])] == ["policy_number"]
    listing = await admin.get("/back/services")
    assert "Pension check" in listing.text and "Consultation" in listing.text


async def test_service_form_refuses_bad_input_and_saves_nothing(office, make_user):
    admin = office["admin"]
    customer_id = await make_user("cust@example.org")
    cases = [
        (service_form(name=""), "Give the service a name"),
        (service_form(slug="consultation"), "Another service already uses this address"),
        (service_form(slug="Not A Slug!"), "lower-case letters"),
        (service_form(duration_minutes="0"), "Duration: enter a number from 5"),
        (service_form(step_minutes="ten"), "Start every: enter a whole number"),
        (service_form(capacity="0"), "Seats per session: enter a number from 1"),
        (
            service_form(duration_minutes="720", buffer_before_minutes="360", buffer_after_minutes="360"),
            "must stay under 24 hours",
        ),
        (service_form(reminder_offsets="soon"), "Enter up to five numbers of minutes"),
        (service_form(q1_options="Only one"), "A choice needs at least two options"),
        ({**service_form(), "staff": str(customer_id)}, "Choose active agents or administrators"),
    ]
    for form, message in cases:
        response = await admin.post("/back/services", form)
        assert response.status_code == 422, (form, response.status_code)
        assert message in response.text, (message, response.text[:3000])
        assert "Nothing was saved" in response.text or message in response.text
    htmx = await admin.post("/back/services", service_form(name=""), headers={"HX-Request": "true"})
    assert htmx.status_code == 422 and htmx.text.lstrip().startswith('<form id="service-form"')
    assert await Service.count() == 1


async def test_capacity_below_booked_seats_is_refused(office, make_browser):
    admin, service_id = office["admin"], office["service_id"]
    async with write_transaction():
        await Service.update({Service.capacity: 3}).where(Service.id == service_id).run()
    start = at(10)
    await book_as_customer(make_browser, start)
    await book_as_customer(make_browser, start, email="dan@example.org")
    form = service_form(
        name="Consultation",
        slug="consultation",
        capacity="1",
        staff=str(office["sam_id"]),
        q0_label=None,
        q1_label=None,
    )
    response = await admin.post(f"/back/services/{service_id}", form)
    assert response.status_code == 422 and "already has 2 seats booked" in response.text
    assert (await Service.select(Service.capacity).where(Service.id == service_id).first())["capacity"] == 3
    assert (await admin.post(f"/back/services/{service_id}", {**form, "capacity": "2"})).status_code == 303


async def test_removing_staff_or_deactivating_with_future_appointments(office, make_browser, outbox):
    admin, service_id, sam_id = office["admin"], office["service_id"], office["sam_id"]
    appointment_id = await book_as_customer(make_browser, at(10))
    base = service_form(
        name="Consultation",
        slug="consultation",
        q0_label=None,
        q1_label=None,
        duration_minutes="30",
        step_minutes="30",
        buffer_after_minutes="0",
    )
    # Removing Sam (who has a future appointment): refused, nothing saved, the choice offered.
    response = await admin.post(f"/back/services/{service_id}", {**base, "name": "Renamed"})
    assert response.status_code == 422
    assert "would leave 1 future appointment without a service" in response.text
    assert 'name="cancel_affected"' in response.text
    assert (await Service.select(Service.name).where(Service.id == service_id).first())["name"] == "Consultation"
    assert await ServiceStaff.count().where(ServiceStaff.service == service_id) == 1
    # Deactivating: refused the same way.
    response = await admin.post(f"/back/services/{service_id}", {**base, "staff": str(sam_id), "is_active": ""})
    assert response.status_code == 422 and "Deactivating this service would leave 1" in response.text
    # Asked to cancel and notify: saved, appointment cancelled, customer mailed a CANCEL .ics.
    before = len(await outbox("carla@example.org"))
    response = await admin.post(
        f"/back/services/{service_id}", {**base, "staff": str(sam_id), "is_active": "", "cancel_affected": "1"}
    )
    assert response.status_code == 303
    assert "1 appointment cancelled" in (await admin.get(response.headers["location"])).text
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert row["status"] == "cancelled" and row["cancel_reason"] == "The service is no longer offered."
    mails = await outbox("carla@example.org")
    assert len(mails) == before + 1
    assert Calendar.from_ical(mail_attachments(mails[-1])[0].data)["METHOD"] == "CANCEL"
    assert not (await Service.select().where(Service.id == service_id).first())["is_active"]
    assert (await office["admin"].get("/book/consultation")).status_code == 404


async def test_delete_only_a_never_booked_service(office, make_browser):
    admin, service_id = office["admin"], office["service_id"]
    await book_as_customer(make_browser, at(10))
    response = await admin.post(f"/back/services/{service_id}/delete", {})
    assert response.status_code == 422 and "deactivate it instead" in response.text
    assert await Service.count() == 1
    assert (await admin.post("/back/services", service_form())).status_code == 303
    new_id = (await Service.select(Service.id).where(Service.slug == "pension-check").first())["id"]
    assert (await admin.post(f"/back/services/{new_id}/delete", {})).status_code == 303
    assert await Service.count() == 1
    assert (await admin.post("/back/services/99999/delete", {})).status_code == 404


async def test_agents_cannot_configure_booking(office):
    sam = office["sam"]
    for url in (
        "/back/services",
        "/back/services/new",
        f"/back/services/{office['service_id']}",
        "/back/schedules",
        f"/back/schedules/{office['sam_id']}",
        "/back/holidays",
        "/back/availability/why",
    ):
        assert (await sam.get(url)).status_code == 403, url
    for url, data in (
        (f"/back/services/{office['service_id']}", service_form()),
        ("/back/services", service_form()),
        (f"/back/schedules/{office['sam_id']}/weekly", {"timezone": "UTC"}),
        ("/back/holidays", {"day": paris_day().isoformat(), "name": "Mine"}),
        (f"/back/schedules/{office['tom_id']}/feed/revoke", {}),
    ):
        assert (await sam.post(url, data)).status_code == 403, url
    assert await Holiday.count() == 0 and await Service.count() == 1


# --- schedules -----------------------------------------------------------------------------------


async def test_weekly_hours_are_validated_and_saved_whole(office):
    admin, sam_id = office["admin"], office["sam_id"]
    url = f"/back/schedules/{sam_id}/weekly"
    before = await WeeklyHours.count().where(WeeklyHours.staff == sam_id)
    good = {
        "timezone": "Europe/Paris",
        "w0_0_start": "09:00",
        "w0_0_end": "12:00",
        "w0_1_start": "13:00",
        "w0_1_end": "00:00",
    }
    cases = [
        ({**good, "w0_1_start": "11:00"}, "09:00–12:00 and 11:00–24:00 overlap"),
        ({**good, "w2_0_start": "17:00", "w2_0_end": "09:00"}, "17:00–09:00 ends before it starts"),
        ({**good, "w3_0_start": "9am", "w3_0_end": "5pm"}, "Enter both times as HH:MM"),
        ({**good, "timezone": "Mars/Olympus_Mons"}, "is not a time zone we know"),
    ]
    for form, message in cases:
        response = await admin.post(url, form)
        assert response.status_code == 422 and message in response.text, (message, response.text[:3000])
        assert await WeeklyHours.count().where(WeeklyHours.staff == sam_id) == before
    assert (await User.select(User.timezone).where(User.id == sam_id).first())["timezone"] == "Europe/Paris"
    # The refused form keeps what was typed.
    response = await admin.post(url, {**good, "w2_0_start": "17:00", "w2_0_end": "09:00"})
    assert 'value="17:00"' in response.text

    assert (await admin.post(url, {**good, "timezone": "Asia/Tokyo"})).status_code == 303
    rows = await WeeklyHours.select().where(WeeklyHours.staff == sam_id).order_by(WeeklyHours.start_minute)
    assert [(r["weekday"], r["start_minute"], r["end_minute"]) for r in rows] == [(0, 540, 720), (0, 780, 1440)]
    assert (await User.select(User.timezone).where(User.id == sam_id).first())["timezone"] == "Asia/Tokyo"
    page = await admin.get(f"/back/schedules/{sam_id}")
    assert 'value="13:00"' in page.text and "Asia/Tokyo" in page.text

    # Copy Monday to Tuesday and Saturday.
    assert (
        await admin.post(f"/back/schedules/{sam_id}/copy", {"source": "0", "targets": ["1", "5"]})
    ).status_code == 303
    rows = await WeeklyHours.select().where(WeeklyHours.staff == sam_id)
    assert sorted({r["weekday"] for r in rows}) == [0, 1, 5] and len(rows) == 6
    refused = await admin.post(f"/back/schedules/{sam_id}/copy", {"source": "0"})
    assert refused.status_code == 422 and "Tick at least one other day" in refused.text
    overview = await admin.get("/back/schedules")
    assert "Sam Staff" in overview.text and "09:00–12:00, 13:00–24:00" in overview.text
    assert (await admin.get("/back/schedules/99999")).status_code == 404


async def test_overrides_close_or_change_a_day_and_refuse_the_past(office, make_browser):
    admin, sam_id = office["admin"], office["sam_id"]
    url = f"/back/schedules/{sam_id}/overrides"
    day = paris_day(3)
    yesterday = paris_day(-1)
    response = await admin.post(url, {"day": yesterday.isoformat(), "kind": "closed"})
    assert response.status_code == 422 and "That date is in the past" in response.text
    response = await admin.post(url, {"day": day.isoformat(), "kind": "hours", "r0_start": "14:00", "r0_end": "10:00"})
    assert response.status_code == 422 and "ends before it starts" in response.text
    response = await admin.post(url, {"day": day.isoformat(), "kind": "hours"})
    assert response.status_code == 422 and "Enter the hours of that day" in response.text
    assert await DateOverride.count() == 0

    customer = await make_browser()
    day_url = f"/book/consultation?tz=Europe/Paris&day={day.isoformat()}"
    assert ">09:00<" in (await customer.get(day_url)).text
    assert (await admin.post(url, {"day": day.isoformat(), "kind": "closed"})).status_code == 303
    assert ">09:00<" not in (await customer.get(day_url)).text
    # Replacing it with other hours.
    assert (
        await admin.post(url, {"day": day.isoformat(), "kind": "hours", "r0_start": "18:00", "r0_end": "20:00"})
    ).status_code == 303
    times = (await customer.get(day_url)).text
    assert ">18:00<" in times and ">19:30<" in times and ">09:00<" not in times
    assert await DateOverride.count() == 1
    page = await admin.get(f"/back/schedules/{sam_id}")
    assert "18:00–20:00" in page.text
    assert (await admin.post(f"{url}/delete", {"day": day.isoformat()})).status_code == 303
    assert ">09:00<" in (await customer.get(day_url)).text
    assert (await admin.post(f"{url}/delete", {"day": day.isoformat()})).status_code == 404


async def test_time_off_blocks_times_and_is_validated(office, make_browser):
    admin, sam_id = office["admin"], office["sam_id"]
    url = f"/back/schedules/{sam_id}/time-off"
    day = paris_day(4)
    cases = [
        (
            {"start_day": day.isoformat(), "start_time": "12:00", "end_day": day.isoformat(), "end_time": "10:00"},
            "ends before it starts",
        ),
        ({"start_day": paris_day(-3).isoformat(), "end_day": paris_day(-2).isoformat()}, "already over"),
        ({"start_day": "", "end_day": ""}, "Enter the first day"),
        ({"start_day": day.isoformat(), "reason": "x" * 201}, "A reason has at most 200 characters"),
    ]
    for form, message in cases:
        response = await admin.post(url, form)
        assert response.status_code == 422 and message in response.text, (message, response.text[:2000])
    assert await TimeOff.count() == 0
    form = {
        "start_day": day.isoformat(),
        "start_time": "09:00",
        "end_day": day.isoformat(),
        "end_time": "12:00",
        "reason": "Dentist",
    }
    assert (await admin.post(url, form)).status_code == 303
    row = await TimeOff.select().first()
    assert row["start_at"] == at(9, days=4) and row["end_at"] == at(12, days=4) and row["reason"] == "Dentist"
    times = (await (await make_browser()).get(f"/book/consultation?tz=Europe/Paris&day={day.isoformat()}")).text
    assert ">09:00<" not in times and ">11:30<" not in times and ">13:00<" in times
    page = await admin.get(f"/back/schedules/{sam_id}")
    assert "Dentist" in page.text
    # Whole days when the times are blank.
    assert (
        await admin.post(url, {"start_day": paris_day(6).isoformat(), "end_day": paris_day(7).isoformat()})
    ).status_code == 303
    whole = await TimeOff.select().where(TimeOff.reason == "").first()
    assert whole["start_at"] == at(0, days=6) and whole["end_at"] == at(0, days=8)
    assert (await admin.post(f"/back/schedules/{office['tom_id']}/time-off/{row['id']}/delete", {})).status_code == 404
    assert (await admin.post(f"{url}/{row['id']}/delete", {})).status_code == 303
    assert await TimeOff.count() == 1


# --- holidays ------------------------------------------------------------------------------------

ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Holidays//EN
BEGIN:VEVENT
UID:a@test
DTSTART;VALUE=DATE:%(a)s
DTEND;VALUE=DATE:%(a_end)s
SUMMARY:Spring Festival
END:VEVENT
BEGIN:VEVENT
UID:b@test
DTSTART;VALUE=DATE:%(b)s
SUMMARY:Founders' Day
END:VEVENT
BEGIN:VEVENT
UID:c@test
DTSTART;VALUE=DATE:%(past)s
SUMMARY:Long ago
END:VEVENT
END:VCALENDAR
"""


async def _upload(browser, url: str, content: bytes, filename: str = "holidays.ics"):
    if "csrftoken" not in browser.cookies:
        await browser.get("/")
    return await browser.client.post(
        url,
        data={"_csrf_token": browser.cookies.get("csrftoken")},
        files={"file": (filename, content, "text/calendar")},
    )


async def test_holidays_one_by_one_and_from_an_ics_file(office, make_browser):
    admin = office["admin"]
    day = paris_day(5)
    assert (await admin.post("/back/holidays", {"day": day.isoformat(), "name": "Town fair"})).status_code == 303
    for form, message in (
        ({"day": day.isoformat(), "name": "Again"}, "is already a holiday"),
        ({"day": paris_day(-10).isoformat(), "name": "Past"}, "That date is in the past"),
        ({"day": "", "name": "No day"}, "Choose a date"),
        ({"day": paris_day(9).isoformat(), "name": ""}, "Name the holiday"),
    ):
        response = await admin.post("/back/holidays", form)
        assert response.status_code == 422 and message in response.text, message
    assert await Holiday.count() == 1
    times = (await (await make_browser()).get(f"/book/consultation?tz=Europe/Paris&day={day.isoformat()}")).text
    assert "No free times on this day" in times

    fmt = "%Y%m%d"
    a = paris_day(10)
    content = ICS % {
        b"a": a.strftime(fmt).encode(),
        b"a_end": (a + timedelta(days=2)).strftime(fmt).encode(),
        b"b": day.strftime(fmt).encode(),
        b"past": paris_day(-40).strftime(fmt).encode(),
    }
    response = await _upload(admin, "/back/holidays/import", content)
    assert response.status_code == 303, response.text[:2000]
    assert "Imported 2 holidays; 2 skipped" in (await admin.get("/back/holidays")).text
    rows = {r["day"]: r["name"] for r in await Holiday.select()}
    assert rows[a] == rows[a + timedelta(days=1)] == "Spring Festival" and a + timedelta(days=2) not in rows
    assert rows[day] == "Town fair"
    bad = await _upload(admin, "/back/holidays/import", b"this is not a calendar")
    assert bad.status_code == 422 and "not an iCalendar" in bad.text
    empty = await _upload(admin, "/back/holidays/import", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    assert empty.status_code == 422 and "no events with dates" in empty.text
    none = await _upload(admin, "/back/holidays/import", b"")
    assert none.status_code == 422 and "Choose an .ics file" in none.text
    assert await Holiday.count() == 3
    holiday_id = (await Holiday.select(Holiday.id).where(Holiday.day == day).first())["id"]
    assert (await admin.post(f"/back/holidays/{holiday_id}/delete", {})).status_code == 303
    assert (await admin.post(f"/back/holidays/{holiday_id}/delete", {})).status_code == 404


# --- why is this time not bookable? --------------------------------------------------------------


async def test_why_page_names_the_rule_that_blocks(office, make_browser):
    admin, sam_id, service_id = office["admin"], office["sam_id"], office["service_id"]
    appointment_id = await book_as_customer(make_browser, at(10, days=3))
    async with write_transaction():
        await Holiday.insert(Holiday(day=paris_day(5), name="Town fair")).run()
        await TimeOff.insert(
            TimeOff(staff=sam_id, start_at=at(9, days=6), end_at=at(12, days=6), reason="Dentist")
        ).run()

    async def why(day: date, clock: str, staff: int = sam_id) -> str:
        response = await admin.get(
            f"/back/availability/why?service={service_id}&staff={staff}&date={day.isoformat()}"
            f"&time={clock}&tz=Europe/Paris"
        )
        assert response.status_code == 200, response.text[:2000]
        return re.sub(r"\s+", " ", response.text)

    assert "Bookable: no rule blocks this time" in await why(paris_day(3), "14:00")
    assert "outside working hours (09:00–12:00, 13:00–17:00 Europe/Paris)" in await why(paris_day(3), "12:00")
    assert "is a holiday (Town fair)" in await why(paris_day(5), "10:00")
    assert "the staff member is away then (time off): Dentist" in await why(paris_day(6), "10:00")
    page = await why(paris_day(3), "10:00")
    assert f"it overlaps appointment #{appointment_id}" in page
    assert f'href="/back/calendar/appointments/{appointment_id}"' in page
    assert "minimum notice" in await why(utcnow().astimezone(PARIS).date(), "00:00")
    assert "booking horizon" in await why(paris_day(40), "10:00")
    assert "not a valid start: starts must be on the 30-minute grid" in await why(paris_day(3), "14:15")
    assert "Tom Other does not offer Consultation" in await why(paris_day(3), "14:00", staff=office["tom_id"])
    bad = await admin.get(f"/back/availability/why?service={service_id}&staff={sam_id}&date=nope&time=25:00")
    assert bad.status_code == 422 and "Choose a date" in bad.text and "Enter a time as HH:MM" in bad.text
    fragment = await admin.get(
        f"/back/availability/why?service={service_id}&staff={sam_id}&date={paris_day(3)}&time=14:00&tz=Europe/Paris",
        headers={"HX-Request": "true"},
    )
    assert fragment.text.lstrip().startswith('<section id="why"')
    assert (
        await admin.get(f"/back/availability/why?service=99999&staff={sam_id}&date={paris_day(3)}&time=14:00")
    ).status_code == 404


# --- the staff calendar --------------------------------------------------------------------------


async def test_calendar_day_and_week_views_scoped_by_role(office, make_browser):
    sam, tom, admin = office["sam"], office["tom"], office["admin"]
    appointment_id = await book_as_customer(make_browser, at(10, days=2))
    day = paris_day(2)
    async with write_transaction():
        await Holiday.insert(Holiday(day=day + timedelta(days=1), name="Town fair")).run()
        await TimeOff.insert(
            TimeOff(staff=office["sam_id"], start_at=at(15, days=2), end_at=at(17, days=2), reason="Training")
        ).run()
    page = await sam.get(f"/back/calendar?date={day.isoformat()}")
    assert page.status_code == 200
    assert "10:00–10:30" in page.text and "Consultation · Carla Client" in page.text and "Booked" in page.text
    assert f"/back/calendar/appointments/{appointment_id}" in page.text
    assert "Working 09:00–12:00, 13:00–17:00" in page.text and "Time off 15:00–17:00 (Training)" in page.text
    week = await sam.get(f"/back/calendar?view=week&date={day.isoformat()}")
    assert "Holiday: Town fair" in week.text and "Consultation · Carla Client" in week.text
    assert week.text.count('class="calendar-cell') == 7
    # The viewer's own zone: Sam moves to New York and sees 04:00 (or 05:00 around DST changes).
    await set_zone(office["sam_id"], "America/New_York")
    local = at(10, days=2).astimezone(ZoneInfo("America/New_York"))
    page = await sam.get(f"/back/calendar?date={local.date().isoformat()}")
    assert f"{local:%H:%M}–" in page.text and "Times in America/New_York" in page.text
    # htmx navigation swaps only the calendar.
    fragment = await sam.get(f"/back/calendar?date={day.isoformat()}", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="calendar"') and "Today" in fragment.text
    # Agents: their own calendar only. Admins: anyone's, or everyone's.
    assert (await tom.get(f"/back/calendar?staff={office['sam_id']}")).status_code == 403
    assert "Carla Client" not in (await tom.get(f"/back/calendar?date={day.isoformat()}")).text
    everyone = await admin.get(f"/back/calendar?date={day.isoformat()}")
    assert "Sam Staff" in everyone.text and "Tom Other" in everyone.text and "Carla Client" in everyone.text
    just_tom = await admin.get(f"/back/calendar?date={day.isoformat()}&staff={office['tom_id']}")
    assert "Carla Client" not in just_tom.text
    assert (await admin.get("/back/calendar?staff=99999")).status_code == 404
    assert (await sam.get("/back/calendar?date=someday")).status_code == 422


async def test_appointment_page_note_outcome_cancel(office, make_browser, outbox):
    sam, tom, admin = office["sam"], office["tom"], office["admin"]
    appointment_id = await book_as_customer(make_browser, at(10, days=2), note="Bring last year's form?")
    url = f"/back/calendar/appointments/{appointment_id}"
    page = await sam.get(url)
    assert page.status_code == 200
    for text in (
        "Carla Client",
        "carla@example.org",
        "+33 1 23 45 67 89",
        "<dt>Topic</dt><dd>Tax</dd>",
        "Bring last year&#39;s form?",
        "America/New_York",
    ):
        assert text in page.text, text
    assert (await tom.get(url)).status_code == 404  # another agent's appointment
    assert (await tom.post(f"{url}/note", {"staff_note": "mine"})).status_code == 404
    assert (await admin.get(url)).status_code == 200

    assert (await sam.post(f"{url}/note", {"staff_note": "VIP: be on time"})).status_code == 303
    assert "VIP: be on time" in (await sam.get(url)).text
    assert (await Appointment.select().where(Appointment.id == appointment_id).first())[
        "staff_note"
    ] == "VIP: be on time"
    too_long = await sam.post(f"{url}/note", {"staff_note": "x" * 5001})
    assert too_long.status_code == 422 and "at most 5,000" in too_long.text

    early = await sam.post(f"{url}/status", {"status": "no_show"})
    assert early.status_code == 422 and "once it has started" in early.text
    no_reason = await sam.post(f"{url}/cancel", {"reason": " "})
    assert no_reason.status_code == 422 and "Give the customer a reason" in no_reason.text
    before = len(await outbox("carla@example.org"))
    assert (await sam.post(f"{url}/cancel", {"reason": "Sam is ill"})).status_code == 303
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert row["status"] == "cancelled" and row["cancel_reason"] == "Sam is ill"
    mail = (await outbox("carla@example.org"))[-1]
    assert len(await outbox("carla@example.org")) == before + 1 and "Sam is ill" in mail["body_text"]
    assert "VIP" not in mail["body_text"] and "VIP" not in mail["body_html"]
    assert Calendar.from_ical(mail_attachments(mail)[0].data)["METHOD"] == "CANCEL"
    assert (await sam.post(f"{url}/cancel", {"reason": "again"})).status_code == 422
    assert (await sam.post(f"{url}/status", {"status": "completed"})).status_code == 422


async def test_marking_an_appointment_that_started(office):
    sam = office["sam"]
    start = utcnow().replace(microsecond=0) - timedelta(hours=2)
    async with write_transaction():
        rows = await Appointment.insert(
            Appointment(
                service=office["service_id"],
                staff=office["sam_id"],
                customer_name="Paul Past",
                customer_email="paul@example.org",
                start_at=start,
                end_at=start + timedelta(minutes=30),
                uid=f"{secrets.token_hex(8)}@t",
                manage_token_hash=secrets.token_hex(32),
                created_at=start,
                updated_at=start,
            )
        ).run()
    url = f"/back/calendar/appointments/{rows[0]['id']}"
    assert "Mark no-show" in (await sam.get(url)).text
    assert (await sam.post(f"{url}/status", {"status": "no_show"})).status_code == 303
    assert (await Appointment.select().where(Appointment.id == rows[0]["id"]).first())["status"] == "no_show"
    assert "No-show" in (await sam.get(url)).text
    assert (await sam.post(f"{url}/status", {"status": "completed"})).status_code == 303
    assert (await sam.post(f"{url}/status", {"status": "cancelled"})).status_code == 422
    assert (await office["tom"].post(f"{url}/status", {"status": "no_show"})).status_code == 404
    assert (await Appointment.select().where(Appointment.id == rows[0]["id"]).first())["status"] == "completed"


async def test_reschedule_on_the_customers_behalf(office, make_browser, outbox):
    sam = office["sam"]
    start = at(10, days=2)
    customer = await make_browser()
    assert (await customer.post("/book/consultation", customer_form(start))).status_code == 201
    manage = link_in((await outbox("carla@example.org"))[-1]["body_text"], "/appointments/manage/")
    appointment_id = (await Appointment.select(Appointment.id).first())["id"]
    url = f"/back/calendar/appointments/{appointment_id}/reschedule"
    page = await sam.get(f"{url}?date={paris_day(2).isoformat()}")
    assert page.status_code == 200
    assert 'value="' + at(10, 30, days=2).isoformat() + '"' in page.text  # its own time does not block
    refused = await sam.post(url, {"start": at(12, 15, days=2).isoformat()})
    assert refused.status_code == 422 and "outside working hours" in refused.text
    assert (await office["tom"].post(url, {"start": at(14, days=2).isoformat()})).status_code == 404
    other = await book_as_customer(make_browser, at(15, days=2), email="dan@example.org")
    taken = await sam.post(url, {"start": at(15, days=2).isoformat()})
    assert taken.status_code == 409 and "just taken" in taken.text and other
    moved = await sam.post(url, {"start": at(14, days=2).isoformat()})
    assert moved.status_code == 303
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert row["start_at"] == at(14, days=2) and row["sequence"] == 1
    mail = (await outbox("carla@example.org"))[-1]
    assert mail["subject"].startswith("Moved:")
    new_link = link_in(mail["body_text"], "/appointments/manage/")
    assert (await customer.get(new_link)).status_code == 200
    assert (await customer.get(manage)).status_code == 404  # the old link was replaced
    event = Calendar.from_ical(mail_attachments(mail)[0].data).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 1 and event.decoded("DTSTART") == at(14, days=2)


async def test_phone_booking_for_new_and_existing_customers(office, make_user, outbox):
    sam, tom, admin = office["sam"], office["tom"], office["admin"]
    service_id, sam_id = office["service_id"], office["sam_id"]
    day = paris_day(2)
    page = await sam.get(f"/back/calendar/book?service={service_id}&date={day.isoformat()}")
    assert page.status_code == 200 and 'value="' + at(9, days=2).isoformat() + '"' in page.text
    form = {
        "service": str(service_id),
        "staff": str(sam_id),
        "date": day.isoformat(),
        "start": at(9, days=2).isoformat(),
        "name": "Pat Phone",
        "email": "pat@example.org",
        "phone": "+1 555 0100",
        "q_topic": "Pension",
        "timezone": "Europe/Paris",
    }
    missing = await sam.post("/back/calendar/book", {**form, "q_topic": "", "name": ""})
    assert (
        missing.status_code == 422
        and "Please answer this question" in missing.text
        and "Enter your name" in missing.text
    )
    assert 'value="pat@example.org"' in missing.text  # typed details kept
    assert (await tom.post("/back/calendar/book", {**form, "staff": str(sam_id)})).status_code == 403
    response = await sam.post("/back/calendar/book", form)
    assert response.status_code == 303, response.text[:2000]
    row = await Appointment.select().where(Appointment.customer_email == "pat@example.org").first()
    assert row["booked_by"] == sam_id and row["customer"] is None and row["staff"] == sam_id
    assert response.headers["location"] == f"/back/calendar/appointments/{row['id']}"
    assert "Booked by" in (await sam.get(response.headers["location"])).text
    mail = (await outbox("pat@example.org"))[-1]
    assert mail["subject"].startswith("Booked: Consultation")
    assert link_in(mail["body_text"], "/appointments/manage/")
    taken = await sam.post("/back/calendar/book", {**form, "email": "other@example.org"})
    assert taken.status_code == 409 and "just taken" in taken.text

    # An existing customer, found by the search and chosen.
    ann_id = await make_user("ann@example.org", name="Ann Account")
    await set_zone(ann_id, "Asia/Tokyo")
    found = await admin.get(f"/back/calendar/book?service={service_id}&staff={sam_id}&date={day.isoformat()}&q=ann")
    assert f"customer={ann_id}" in found.text and "Ann Account" in found.text
    chosen = await admin.get(
        f"/back/calendar/book?service={service_id}&staff={sam_id}&date={day.isoformat()}&customer={ann_id}"
    )
    assert 'id="chosen-customer"' in chosen.text
    response = await admin.post(
        "/back/calendar/book",
        {**form, "name": "", "email": "", "customer": str(ann_id), "start": at(11, days=2).isoformat()},
    )
    assert response.status_code == 303, response.text[:2000]
    row = await Appointment.select().where(Appointment.customer == ann_id).first()
    assert row["customer_email"] == "ann@example.org" and row["customer_timezone"] == "Asia/Tokyo"
    assert row["booked_by"] == office["admin_id"]
    assert "(Asia/Tokyo)" in (await outbox("ann@example.org"))[-1]["subject"]
    assert (await admin.post("/back/calendar/book", {**form, "customer": "99999"})).status_code == 404
    agent_other = await sam.get(f"/back/calendar/book?service={service_id}&staff={office['tom_id']}")
    assert agent_other.status_code == 200 and "Tom Other" not in agent_other.text


# --- staff feeds ---------------------------------------------------------------------------------


async def test_staff_feed_shown_once_revocable_and_regenerable(office, make_browser, app):
    sam, admin = office["sam"], office["admin"]
    booked = await book_as_customer(make_browser, at(10, days=2))
    cancelled = await book_as_customer(make_browser, at(11, days=2), email="dan@example.org")
    async with write_transaction():
        await Appointment.update({Appointment.status: "cancelled"}).where(Appointment.id == cancelled).run()
    assert "Create my feed address" in (await sam.get("/back/calendar/feed")).text
    created = await sam.post("/back/calendar/feed", {})
    assert created.status_code == 200
    url = re.search(r'value="(http://testserver/feeds/staff/[A-Za-z0-9_-]+\.ics)"', created.text).group(1)
    path = url.removeprefix("http://testserver")
    token = path.split("/")[-1].removesuffix(".ics")
    assert len(token) >= 43  # 256 bits
    assert (await StaffFeed.select().first())["token_hash"] != token  # only the hash is stored
    again = await sam.get("/back/calendar/feed")
    assert token not in again.text and "The feed is on" in again.text  # shown once

    anonymous = await make_browser()
    feed = await anonymous.get(path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(feed.content).walk("VEVENT")
    assert len(events) == 1 and "Carla Client" in str(events[0]["SUMMARY"])
    assert events[0].decoded("DTSTART") == at(10, days=2)
    assert f"/back/calendar/appointments/{booked}" in str(events[0]["URL"])
    assert (await anonymous.get(path.removesuffix(".ics"))).status_code == 404
    assert (await anonymous.get("/feeds/staff/forged.ics")).status_code == 404

    # The admin sees that a feed exists, never its address; agents cannot see others' feed pages.
    schedule = await admin.get(f"/back/schedules/{office['sam_id']}")
    assert "A subscription feed is on" in schedule.text and token not in schedule.text
    assert (await office["tom"].get(f"/back/schedules/{office['sam_id']}")).status_code == 403

    regenerated = await sam.post("/back/calendar/feed", {})
    new_path = re.search(r'value="http://testserver(/feeds/staff/[A-Za-z0-9_-]+\.ics)"', regenerated.text).group(1)
    assert new_path != path
    assert (await anonymous.get(path)).status_code == 404 and (await anonymous.get(new_path)).status_code == 200
    assert (await sam.post("/back/calendar/feed/revoke", {})).status_code == 303
    assert (await anonymous.get(new_path)).status_code == 404
    # An admin can turn off anyone's feed.
    third = await sam.post("/back/calendar/feed", {})
    third_path = re.search(r'value="http://testserver(/feeds/staff/[A-Za-z0-9_-]+\.ics)"', third.text).group(1)
    assert (await admin.post(f"/back/schedules/{office['sam_id']}/feed/revoke", {})).status_code == 303
    assert (await anonymous.get(third_path)).status_code == 404


async def test_staff_with_upcoming_appointments_cannot_be_deactivated(office, make_browser):
    admin, sam_id = office["admin"], office["sam_id"]
    appointment_id = await book_as_customer(make_browser, at(10))
    response = await admin.post(f"/back/users/{sam_id}/active", {"active": "0"})
    assert response.status_code == 422 and "Sam Staff has 1 upcoming appointment" in response.text
    assert (await User.select(User.is_active).where(User.id == sam_id).first())["is_active"]
    assert (
        await office["sam"].post(f"/back/calendar/appointments/{appointment_id}/cancel", {"reason": "Leaving"})
    ).status_code == 303
    assert (await admin.post(f"/back/users/{sam_id}/active", {"active": "0"})).status_code == 303
    assert not (await User.select(User.is_active).where(User.id == sam_id).first())["is_active"]


async def test_navigation_by_role(office):
    sam_nav = (await office["sam"].get("/back")).text
    assert 'href="/back/calendar"' in sam_nav and 'href="/back/services"' not in sam_nav
    admin_nav = (await office["admin"].get("/back")).text
    for link in ("/back/calendar", "/back/services", "/back/schedules", "/back/holidays", "/back/availability/why"):
        assert f'href="{link}"' in admin_nav, link


async def test_admin_user_page_shows_appointments_as_customer_and_as_staff(office, make_browser, make_user):
    carla_id = await make_user("carla@example.org", name="Carla Client")
    carla = await make_browser()
    await carla.login("carla@example.org")
    response = await carla.post("/book/consultation", customer_form(at(10, days=2)))
    assert response.status_code in (201, 303), response.text[:2000]
    appointment_id = (await Appointment.select(Appointment.id).where(Appointment.customer == carla_id).first())["id"]
    link = f'href="/back/calendar/appointments/{appointment_id}"'
    customer_page = await office["admin"].get(f"/back/users/{carla_id}")
    assert "Appointments they booked" in customer_page.text and link in customer_page.text
    assert "Consultation · Sam Staff" in customer_page.text and "Upcoming" in customer_page.text
    staff_page = await office["admin"].get(f"/back/users/{office['sam_id']}")
    assert "Appointments with them as staff" in staff_page.text and "Consultation · Carla Client" in staff_page.text
    assert (await office["admin"].get(f"/back/users/{office['tom_id']}")).text.count(link) == 0
    assert (await office["sam"].get(f"/back/users/{carla_id}")).status_code == 403


async def test_week_view_is_a_time_grid_placing_appointments_by_class(office, make_browser):
    early = await book_as_customer(make_browser, at(10, days=2))
    day = paris_day(2)
    async with write_transaction():  # a late booking the schedule would refuse: it is clipped into the last row
        await (
            Appointment.update({Appointment.start_at: at(22, 30, days=2), Appointment.end_at: at(23, days=2)})
            .where(Appointment.id == early)
            .run()
        )
    booked = await book_as_customer(make_browser, at(10, days=2), email="dora@example.org", name="Dora")
    week = (await office["sam"].get(f"/back/calendar?view=week&date={day.isoformat()}")).text
    assert " style=" not in week
    columns = re.findall(r'<div class="calendar-cell week-col[^"]*" data-day="([\d-]+)"[^>]*>(.*?)</div>', week, re.S)
    assert [c[0] for c in columns] == [(day - timedelta(days=day.weekday() - i)).isoformat() for i in range(7)]
    inside = dict(columns)[day.isoformat()]
    link = re.search(
        rf'<a class="appt status-booked (r-\d+ s-\d+) l-1" href="/back/calendar/appointments/{booked}"', inside
    )
    assert link and link.group(1) == "r-10 s-1"  # 10:00 is the 9th half hour after 06:00, below the early row
    late = re.search(
        rf'<a class="appt status-booked (r-\d+ s-\d+) l-1" href="/back/calendar/appointments/{early}"', inside
    )
    assert late and late.group(1) == "r-34 s-1" and "22:30–23:00" in inside
    assert '<p class="work r-8 s-6">' in inside and '<p class="work r-16 s-8">' in inside  # 09–12, 13–17
    assert sum(booked_id_in(c[1], booked) for c in columns) == 1


def booked_id_in(html: str, appointment_id: int) -> bool:
    return f"/back/calendar/appointments/{appointment_id}" in html
