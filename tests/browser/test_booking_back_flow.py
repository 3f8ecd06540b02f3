"""The booking back office in Chromium: an admin gives a new agent working hours and sets up a
service; its free times appear on the customer's booking page; the agent runs their day from the
calendar and marks a no-show."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import ADMIN_EMAIL, PASSWORD, Portal
from tests.browser.test_accounts_flow import log_in
from tests.browser.test_booking_flow import DAYS_AHEAD, choose_day, picker, time_choices

pytestmark = pytest.mark.browser

PARIS = "Europe/Paris"

# An appointment of the agent that started an hour ago (customers cannot book the past).
PAST_APPOINTMENT_SNIPPET = """
import asyncio, json, os, secrets, sys
from datetime import timedelta

from portal.settings import Settings, use_settings

use_settings(Settings.from_env())

from portal import db
from portal.accounts.tables import User
from portal.booking.tables import Appointment, Service
from portal.clock import utcnow


async def main(slug, staff_email, customer_name):
    engine = db.make_engine(os.environ["PORTAL_DATABASE_URL"])
    db.use_engine(engine)
    await db.open_engine(engine)
    try:
        staff = await User.select(User.id).where(User.email == staff_email).first()
        service = await Service.select(Service.id).where(Service.slug == slug).first()
        start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1)
        async with db.write_transaction():
            rows = await Appointment.insert(Appointment(
                service=service["id"], staff=staff["id"], customer_name=customer_name,
                customer_email="walk-in@example.org", start_at=start, end_at=start + timedelta(minutes=30),
                uid=secrets.token_hex(16) + "@front-desk", manage_token_hash=secrets.token_hex(32),
                created_at=start, updated_at=start)).run()
        print(json.dumps({"id": rows[0]["id"], "start": start.isoformat()}))
    finally:
        await db.close_engine(engine)


asyncio.run(main(*sys.argv[1:]))
"""


def test_admin_sets_up_a_bookable_service_and_an_agent_marks_a_no_show(new_page, portal_server: Portal, base_url):
    suffix = uuid.uuid4().hex[:6]
    agent_name, agent_email = f"Nora Agent {suffix}", f"nora-{suffix}@example.org"
    service_name = f"Garden advice {suffix}"
    portal_server.create_user(agent_email, agent_name, role="agent")

    # --- the admin gives Nora hours: Monday 09:00–12:00, copied to every other day ------------------
    admin = new_page(timezone_id=PARIS)
    log_in(admin, ADMIN_EMAIL)
    admin.wait_for_url(f"{base_url}/back")
    admin.get_by_role("navigation", name="Sections").get_by_role("link", name="Schedules").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Staff schedules")
    admin.locator("#schedules-table").get_by_role("link", name=agent_name).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(agent_name)
    weekly = admin.locator("#weekly-form")
    weekly.get_by_label("Time zone").fill(PARIS)
    weekly.get_by_label("Monday range 1 from").fill("09:00")
    weekly.get_by_label("Monday range 1 to").fill("12:00")
    weekly.get_by_role("button", name="Save weekly hours").click()
    expect(admin.locator("#messages")).to_contain_text("Working hours saved.")
    copy = admin.locator("#copy-form")
    copy.get_by_label("Copy the saved hours of").select_option("0")
    for day in ("Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        copy.get_by_label(day, exact=True).check()
    copy.get_by_role("button", name="Copy").click()
    expect(admin.locator("#messages")).to_contain_text("Monday's hours copied to 6 days.")
    expect(admin.locator("#weekly-form").get_by_label("Sunday range 1 from")).to_have_value("09:00")
    assert_accessible(admin, "a staff member's schedule")

    # A refused form says why and keeps what was typed (htmx swaps the form with a 422).
    weekly = admin.locator("#weekly-form")
    weekly.get_by_label("Tuesday range 2 from").fill("11:00")
    weekly.get_by_label("Tuesday range 2 to").fill("13:00")
    weekly.get_by_role("button", name="Save weekly hours").click()
    expect(admin.locator("#weekly-form .field-error")).to_have_text("09:00–12:00 and 11:00–13:00 overlap.")
    assert_accessible(admin, "the weekly hours with an error")
    admin.reload()
    expect(admin.locator("#weekly-form").get_by_label("Tuesday range 2 from")).to_have_value("")

    # --- the admin creates the service, offered by Nora ---------------------------------------------
    admin.get_by_role("navigation", name="Sections").get_by_role("link", name="Services").click()
    admin.get_by_role("link", name="New service").click()
    form = admin.locator("#service-form")
    assert_accessible(admin, "the new-service form")
    form.get_by_label("Name", exact=True).fill(service_name)
    form.get_by_label("Duration", exact=True).fill("30 min")
    form.get_by_label("Start every", exact=True).fill("30")
    form.get_by_label("Minimum notice", exact=True).fill("1 h")
    form.get_by_label("Booking horizon (days)").fill("30")
    form.get_by_label(re.compile(re.escape(agent_name))).check()
    form.get_by_label("Question 1", exact=True).fill("What grows in your garden?")
    form.get_by_role("button", name="Create service").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(service_name)
    expect(admin.locator("#messages")).to_contain_text(f"Service “{service_name}” created.")
    # The preview is in the admin's own zone (UTC here): Nora's 09:00 in Paris is 07:00 or 08:00 UTC.
    expect(admin.locator("#preview-slots li").first).to_contain_text(re.compile(r", 0[78]:00 \(UTC\)"))
    slug = admin.locator('main a[href^="/book/"]').first.get_attribute("href").removeprefix("/book/")
    assert_accessible(admin, "the service page")

    # --- a customer in Paris sees Nora's 09:00 -----------------------------------------------------------
    customer = new_page(timezone_id=PARIS, locale="en-GB")
    customer.goto("/book")
    card = customer.locator("article.card").filter(has=customer.get_by_role("heading", name=service_name))
    card.get_by_role("link", name="Choose a time").click()
    # The picker reloads itself in the browser's zone (htmx); wait for that before clicking a day.
    expect(picker(customer).get_by_label("Times shown in")).to_have_attribute("data-detect-timezone-select", "off")
    expect(picker(customer).get_by_label("Times shown in")).to_have_value(PARIS)
    day = choose_day(customer, datetime.now(ZoneInfo(PARIS)).date() + timedelta(days=DAYS_AHEAD))
    labels = [label for label, _ in time_choices(customer)]
    assert labels == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"], (day, labels)

    # --- Nora runs her day: an appointment that started an hour ago, marked no-show ----------------------
    result = subprocess.run(
        [sys.executable, "-c", PAST_APPOINTMENT_SNIPPET, slug, agent_email, "Walter Walk-in"],
        env=portal_server.env,
        cwd=portal_server.directory,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    appointment = json.loads(result.stdout.strip().splitlines()[-1])
    agent = new_page(timezone_id=PARIS)
    log_in(agent, agent_email, PASSWORD)
    agent.wait_for_url(f"{base_url}/back")
    agent.get_by_role("navigation", name="Sections").get_by_role("link", name="Calendar").click()
    expect(agent.get_by_role("heading", level=1)).to_have_text("Calendar")
    start = datetime.fromisoformat(appointment["start"])
    if start.astimezone(ZoneInfo(PARIS)).date() != datetime.now(ZoneInfo(PARIS)).date():
        agent.goto(f"/back/calendar?date={start.astimezone(ZoneInfo(PARIS)).date().isoformat()}")
    entry = agent.locator("#calendar li.appointment").filter(has_text="Walter Walk-in")
    expect(entry).to_contain_text(service_name)
    expect(entry).to_contain_text("Booked")
    assert_accessible(agent, "the calendar")
    # htmx navigation: next day, then back with "Today".
    agent.get_by_role("link", name="Next day ›").click()
    expect(agent.locator("#calendar li.appointment").filter(has_text="Walter Walk-in")).to_have_count(0)
    agent.get_by_role("link", name="Today").click()
    entry = agent.locator("#calendar li.appointment").filter(has_text="Walter Walk-in")
    if start.astimezone(ZoneInfo(PARIS)).date() == datetime.now(ZoneInfo(PARIS)).date():
        expect(entry).to_have_count(1)
    agent.goto(f"/back/calendar/appointments/{appointment['id']}")
    expect(agent.get_by_role("heading", level=1)).to_have_text(f"{service_name} · Walter Walk-in")
    agent.get_by_role("button", name="Mark no-show").click()
    expect(agent.locator("#appointment-status")).to_have_text("No-show")
    expect(agent.locator("#messages")).to_contain_text("Marked as no-show.")
    assert_accessible(agent, "an appointment marked no-show")
    # Agents do not configure booking.
    assert agent.request.get(f"{base_url}/back/services").status == 403
    expect(agent.get_by_role("navigation", name="Sections").get_by_role("link", name="Services")).to_have_count(0)
