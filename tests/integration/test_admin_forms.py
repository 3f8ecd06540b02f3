"""The admin's forms: durations in hours and minutes, business hours from time pickers, the zone picker."""

from __future__ import annotations

from portal.booking.tables import Service
from portal.tickets import sla_admin
from portal.tickets.tables import BusinessCalendar, BusinessHours, SlaPolicy
from tests.integration.test_booking_back import office, service_form  # noqa: F401  (fixtures)
from tests.integration.test_console import Desk, agent, desk  # noqa: F401  (fixtures)


async def test_sla_targets_typed_and_shown_in_hours_and_minutes(desk, make_browser):
    admin = await agent(make_browser, "ada@example.org")
    calendar = await sla_admin.default_calendar_id()
    form = {"name": "Urgent", "priority": "urgent", "calendar": str(calendar), "active": "1"}
    ok = await admin.post("/back/sla/policies", {**form, "first_response": "1 h 30 min", "resolution": "2:15"})
    assert ok.status_code == 303
    policy = await SlaPolicy.select().where(SlaPolicy.priority == "urgent").first()
    assert (policy["first_response_minutes"], policy["resolution_minutes"]) == (90, 135)
    page = await admin.get("/back/sla")
    assert 'value="1 h 30 min"' in page.text and 'value="2 h 15 min"' in page.text
    bad = await admin.post("/back/sla/policies", {**form, "priority": "high", "first_response": "an hour"})
    assert bad.status_code == 422 and "“an hour” is not a duration like 90 min, 1 h 30 min" in bad.text


async def test_business_hours_from_time_pickers_with_the_zone_picker(desk, make_browser):
    admin = await agent(make_browser, "ada@example.org")
    calendar = await sla_admin.default_calendar_id()
    page = await admin.get("/back/sla")
    assert f'id="cal-{calendar}-w0_0_start" name="w0_0_start" value="09:00"' in page.text.replace(
        'type="time" step="300" ', ""
    )
    assert '<datalist id="sla-zone-list">' in page.text and 'label="Europe/Paris (UTC+0' in page.text
    assert "US/Eastern" not in page.text and "Etc/GMT+5" not in page.text
    fields = {"name": "Office hours", "timezone": "Europe/Paris"}
    hours = {"w0_0_start": "08:00", "w0_0_end": "12:00", "w0_1_start": "13:00", "w0_1_end": "18:00"}
    saved = await admin.post(
        f"/back/sla/calendars/{calendar}", {**fields, **hours, "w4_0_start": "09:00", "w4_0_end": "00:00"}
    )
    assert saved.status_code == 303
    rows = await BusinessHours.select().where(BusinessHours.calendar == calendar).order_by(BusinessHours.weekday)
    assert [(r["weekday"], r["start_minute"], r["end_minute"]) for r in rows] == [
        (0, 480, 720),
        (0, 780, 1080),
        (4, 540, 1440),
    ]
    assert (await BusinessCalendar.select().where(BusinessCalendar.id == calendar).first())[
        "timezone"
    ] == "Europe/Paris"
    wrong = await admin.post(f"/back/sla/calendars/{calendar}", {**fields, "w1_0_start": "17:00", "w1_0_end": "09:00"})
    assert wrong.status_code == 422 and "ends before it starts" in wrong.text
    assert 'value="17:00"' in wrong.text  # the typed times come back with the message
    half = await admin.post(f"/back/sla/calendars/{calendar}", {**fields, "w1_0_start": "09:00"})
    assert half.status_code == 422 and "is not a time like 09:30" in half.text
    assert len(await BusinessHours.select().where(BusinessHours.calendar == calendar)) == 3  # unchanged


async def test_service_durations_typed_in_hours_and_minutes(office, make_browser, make_user):
    admin = office["admin"]
    ann_id = await make_user("ann@example.org", "agent", name="Ann New")
    form = service_form(duration_minutes="1 h 30 min", buffer_after_minutes="0:15", min_notice_minutes="2 h")
    response = await admin.post("/back/services", {**form, "staff": str(ann_id)})
    assert response.status_code == 303, response.text[:2000]
    service = await Service.select().where(Service.slug == "pension-check").first()
    assert (service["duration_minutes"], service["buffer_after_minutes"], service["min_notice_minutes"]) == (
        90,
        15,
        120,
    )
    page = await admin.get(f"/back/services/{service['id']}")
    assert 'value="1 h 30 min"' in page.text and 'value="24 h"' in page.text
    bad = await admin.post("/back/services", service_form(name="Other", duration_minutes="13 h"))
    assert bad.status_code == 422 and "Duration: enter a number from 5 min to 12 h." in bad.text


async def test_profile_zone_picker_lists_canonical_zones_with_offsets(office, make_browser):
    page = await office["admin"].get("/account")
    assert 'list="zone-list"' in page.text and 'label="America/New_York (UTC-0' in page.text
    assert ">US/Eastern<" not in page.text


async def test_a_service_nobody_gives_is_not_offered_to_customers(office, make_browser):
    admin = office["admin"]
    created = await admin.post("/back/services", service_form(name="Nobody's service"))
    assert created.status_code == 303, created.text[:2000]
    customer = await make_browser()
    listing = await customer.get("/book")
    assert (
        listing.status_code == 200
        and "Nobody&#39;s service" not in listing.text
        and "Nobody's service" not in listing.text
    )
    assert "/book/consultation" in listing.text  # the staffed service still is
    assert (await customer.get("/book/nobody-s-service")).status_code == 404
    service = await Service.select().where(Service.slug == "nobody-s-service").first()
    edit = await admin.get(f"/back/services/{service['id']}")
    assert edit.status_code == 200  # the admin still sees it, to assign staff


async def test_intake_questions_added_and_reordered_with_buttons_without_saving(office, make_browser, make_user):
    admin = office["admin"]
    ann_id = await make_user("ann@example.org", "agent", name="Ann New")
    form = {**service_form(), "staff": str(ann_id)}  # "Which fund?" (order 1) then "Policy number"
    more = await admin.post("/back/services", {**form, "question_action": "add", "blank_questions": "2"})
    assert more.status_code == 200 and 'name="q4_label"' in more.text and 'name="q5_label"' not in more.text
    assert not await Service.exists().where(Service.slug == "pension-check")  # nothing saved yet
    moved = await admin.post("/back/services", {**form, "question_action": "down:0"})
    assert moved.status_code == 200
    assert moved.text.index('value="Policy number"') < moved.text.index('value="Which fund?"')
    fragment = await admin.post("/back/services", {**form, "question_action": "up:1"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith("<form")
