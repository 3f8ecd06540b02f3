"""Booking as a customer meets it in Chromium: pick a service, a day and a time in their own time
zone, give their details, get the manage page and the .ics, move the appointment and cancel it;
the same booking without JavaScript; and a missing required answer."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import ADMIN_EMAIL, PASSWORD, Portal
from tests.browser.test_accounts_flow import log_in, read_mail_link

pytestmark = pytest.mark.browser

NEW_YORK = "America/New_York"
MANAGE_URL = re.compile(r"/appointments/manage/[A-Za-z0-9_-]+$")
# Far enough ahead that the 24-hour cancel/reschedule cutoffs and the one-hour notice never bite:
# a local day two days after today starts more than 24 hours from now, in every zone.
DAYS_AHEAD = 2


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


# Runs in a subprocess with the server's environment: an agent in Paris who offers a 30-minute
# service every day 09:00–12:00 and 13:00–17:00, with one required choice question.
SETUP_SNIPPET = """
import asyncio, json, os, sys

from portal.settings import Settings, use_settings

use_settings(Settings.from_env())

from portal import db
from portal.accounts.services import create_user
from portal.accounts.tables import User
from portal.booking.tables import Service, ServiceStaff, WeeklyHours
from portal.clock import utcnow


async def main(slug, name, staff_email, staff_name, password):
    engine = db.make_engine(os.environ["PORTAL_DATABASE_URL"])
    db.use_engine(engine)
    await db.open_engine(engine)
    try:
        staff_id, _ = await create_user(staff_email, staff_name, password, "agent")
        async with db.write_transaction():
            await User.update({User.timezone: "Europe/Paris"}).where(User.id == staff_id).run()
            rows = await Service.insert(Service(
                slug=slug, name=name, duration_minutes=30, step_minutes=30, min_notice_minutes=60,
                horizon_days=30, capacity=1, cancel_cutoff_minutes=1440, reschedule_cutoff_minutes=1440,
                intake_questions=json.dumps([{"id": "topic", "label": "Topic", "kind": "choice",
                                              "required": True, "options": ["Tax", "Pension"]}]),
                created_at=utcnow())).run()
            service_id = rows[0]["id"]
            await ServiceStaff.insert(ServiceStaff(service=service_id, staff=staff_id)).run()
            for weekday in range(7):
                for start, end in ((9 * 60, 12 * 60), (13 * 60, 17 * 60)):
                    await WeeklyHours.insert(WeeklyHours(staff=staff_id, weekday=weekday, start_minute=start,
                                                         end_minute=end)).run()
        print(json.dumps({"service_id": service_id, "staff_id": staff_id}))
    finally:
        await db.close_engine(engine)


asyncio.run(main(*sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def service(portal_server: Portal) -> dict:
    """A bookable service of its own for this module (other modules may add theirs to /book)."""
    suffix = uuid.uuid4().hex[:8]
    slug, name = f"consultation-{suffix}", f"Consultation {suffix}"
    staff_email, staff_name = unique_email("sam"), "Sam Staff"
    result = subprocess.run(
        [sys.executable, "-c", SETUP_SNIPPET, slug, name, staff_email, staff_name, PASSWORD],
        env=portal_server.env,
        cwd=portal_server.directory,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"service setup failed:\n{result.stdout}\n{result.stderr}"
    ids = json.loads(result.stdout.strip().splitlines()[-1])
    return {"slug": slug, "name": name, "staff_name": staff_name, **ids}


# --- helpers ------------------------------------------------------------------------------------


def local_label(instant: datetime, zone: str) -> str:
    """The portal's "Monday 05 May 2025, 03:00 (America/New_York)" for an instant."""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local.strftime('%A %d %B %Y, %H:%M')} ({zone})"


def query_param(href: str, name: str) -> str:
    return parse_qs(urlsplit(href).query)[name][0]


def picker(page: Page):
    return page.locator("#picker")


def choose_day(page: Page, earliest: date) -> date:
    """In the month grid, open the first day with free times on or after ``earliest``, going to
    the next month (at most twice) when this one has none. Returns the chosen local date."""
    for _ in range(3):
        grid = picker(page).locator("table.month-grid")
        expect(grid).to_be_visible()
        hrefs = picker(page).locator("a.day.free").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        days = [date.fromisoformat(query_param(h, "day")) for h in hrefs]
        eligible = [d for d in days if d >= earliest]
        if eligible:
            day = eligible[0]
            picker(page).locator(f'a.day.free[href*="day={day.isoformat()}"]').click()
            times = page.locator("#times")
            expect(times.get_by_role("heading", level=3)).to_have_text(day.strftime("%A %d %B"))
            expect(times.locator(".time-list a").first).to_be_visible()
            return day
        shown = picker(page).locator(".month-head h2").inner_text()
        next_link = picker(page).get_by_role("link", name="Next month")
        next_month = date.fromisoformat(query_param(next_link.get_attribute("href"), "month") + "-01")
        next_link.click()
        expect(picker(page).locator(".month-head h2")).to_have_text(next_month.strftime("%B %Y"))
        assert shown != next_month.strftime("%B %Y")
    raise AssertionError(f"no free day on or after {earliest} within three months")


def time_links(page: Page):
    return page.locator("#times .time-list a")


def time_choices(page: Page) -> list[tuple[str, datetime]]:
    """(label, start instant) of every time offered for the chosen day."""
    links = time_links(page)
    hrefs = links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    labels = [t.strip() for t in links.all_inner_texts()]
    return [(label, datetime.fromisoformat(query_param(href, "start"))) for label, href in zip(labels, hrefs)]


def fill_details(page: Page, *, name: str, email: str, topic: str | None) -> None:
    form = page.locator("#details-form")
    form.get_by_label("Your name").fill(name)
    form.get_by_label("Email").fill(email)
    if topic is not None:
        form.get_by_label("Topic").select_option(topic)


def expect_manage_page(page: Page, service: dict, when: str, status: str) -> None:
    expect(page).to_have_url(MANAGE_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text(service["name"])
    meta = page.locator("dl.meta")
    expect(meta.locator("dt", has_text="When").locator("xpath=following-sibling::dd[1]")).to_have_text(when)
    expect(page.locator("#appointment-status")).to_have_text(status)


def expect_booked_notice(page: Page, email: str) -> None:
    """A guest's page after booking: the manage link is only in the mail, never on the page."""
    notice = page.locator(".notice").filter(has=page.get_by_role("heading", name="Your appointment is booked"))
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(email)
    expect(page.locator('a[href*="/appointments/manage/"]')).to_have_count(0)


def mailed_manage_link(new_page, base_url: str, email: str, subject: str) -> str:
    """As an admin: the manage link in the booking confirmation sent to ``email``."""
    admin = new_page()
    log_in(admin, ADMIN_EMAIL)
    admin.wait_for_url(f"{base_url}/back")
    return read_mail_link(admin, email, subject, "/appointments/manage/")


def outbox_subjects(admin: Page, to: str, expected: int, timeout: float = 10.0) -> list[str]:
    """The subjects of the mails to ``to`` in the outbox, once there are ``expected`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        admin.goto(f"/back/outbox?to={quote(to)}")
        rows = admin.locator("#outbox-table tbody tr").filter(has_text=to)
        if rows.count() >= expected or time.monotonic() > deadline:
            return [s.strip() for s in rows.locator("td:nth-child(3) a").all_inner_texts()]
        time.sleep(0.25)


# --- tests --------------------------------------------------------------------------------------


def test_newcomer_books_moves_and_cancels_in_their_own_time_zone(new_page, service, base_url):
    name, email = "Nina Newcomer", unique_email("nina")
    zone = ZoneInfo(NEW_YORK)
    customer = new_page(timezone_id=NEW_YORK, locale="en-US")

    # --- the list of services, then the service's picker ------------------------------------------
    customer.goto("/book")
    card = customer.locator("article.card").filter(has=customer.get_by_role("heading", name=service["name"]))
    expect(card).to_have_count(1)
    assert_accessible(customer, "the services")
    card.get_by_role("link", name="Choose a time").click()
    expect(customer).to_have_url(re.compile(rf"/book/{re.escape(service['slug'])}(\?.*)?$"))
    expect(customer.get_by_role("heading", level=1)).to_have_text(service["name"])

    # The page noticed the browser's zone and reloaded the picker in it (htmx); the choice is remembered.
    tz_select = picker(customer).get_by_label("Times shown in")
    expect(tz_select).to_have_attribute("data-detect-timezone-select", "off")
    expect(tz_select).to_have_value(NEW_YORK)
    expect(customer).to_have_url(re.compile(r"[?&]tz=America%2FNew_York(&|$)"))
    cookies = {c["name"]: c["value"] for c in customer.context.cookies()}
    assert cookies.get("portal_tz", "").strip('"') == NEW_YORK, cookies
    expect(picker(customer).get_by_label("With")).to_have_value("any")
    assert_accessible(customer, "the month grid")

    # --- a day and a time, shown in New York wall time --------------------------------------------
    earliest = datetime.now(zone).date() + timedelta(days=DAYS_AHEAD)
    day = choose_day(customer, earliest)
    choices = time_choices(customer)
    assert choices, "no times listed for a free day"
    customer.locator("#times .time-list a").first.hover()  # the hovered chosen day, too
    picker(customer).locator("td.chosen a.day").hover()
    assert_accessible(customer, "the month grid with the times of a day")
    for label, start in choices:
        local = start.astimezone(zone)
        assert local.date() == day, (label, start)
        assert label == local.strftime("%H:%M"), (label, start, local)
    label, start = choices[0]
    time_links(customer).first.click()

    # --- the details form ---------------------------------------------------------------------------
    when = local_label(start, NEW_YORK)
    expect(customer).to_have_url(re.compile(rf"/book/{re.escape(service['slug'])}/details\?start="))
    expect(customer.locator("p.lead")).to_have_text(when)
    assert_accessible(customer, "the details form")
    fill_details(customer, name=name, email=email, topic="Tax")
    customer.get_by_role("button", name=f"Book {when}").click()

    # --- the manage page, by the link in the mail ------------------------------------------------------
    expect_booked_notice(customer, email)
    manage_url = mailed_manage_link(new_page, base_url, email, f"Booked: {service['name']} on {when}")
    customer.goto(manage_url)
    expect_manage_page(customer, service, when, "Booked")
    expect(customer.locator("dl.meta")).to_contain_text(service["staff_name"])
    expect(customer.locator("dl.meta")).to_contain_text(email)
    expect(customer.locator("dl.meta")).to_contain_text("Tax")
    assert_accessible(customer, "the manage page")

    ics_link = customer.get_by_role("link", name="Add to my calendar (.ics)")
    ics = customer.request.get(ics_link.get_attribute("href"))
    assert ics.status == 200, ics.status
    assert ics.headers["content-type"].startswith("text/calendar"), ics.headers
    body = ics.text()
    assert "BEGIN:VEVENT" in body and "METHOD:REQUEST" in body, body
    assert f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}" in body.replace("\r\n ", ""), body

    # --- move it to another time on the same day ----------------------------------------------------
    customer.get_by_role("link", name="Choose another time").click()
    expect(customer).to_have_url(f"{manage_url}/reschedule")
    expect(customer.get_by_role("heading", level=1)).to_have_text(f"Move {service['name']}")
    expect(picker(customer).get_by_label("Times shown in")).to_have_value(NEW_YORK)
    assert choose_day(customer, day) == day
    moves = [(i, s) for i, (_, s) in enumerate(time_choices(customer)) if s != start]
    assert moves, "no other time on the booked day"
    index, new_start = moves[0]
    assert start not in [s for _, s in time_choices(customer)], "the booked time is still offered"
    time_links(customer).nth(index).click()

    new_when = local_label(new_start, NEW_YORK)
    expect(customer).to_have_url(re.compile(rf"^{re.escape(manage_url)}/reschedule/confirm\?start="))
    expect(customer.get_by_role("heading", level=1)).to_have_text(f"Move to {new_when}?")
    assert_accessible(customer, "the move confirmation")
    customer.get_by_role("button", name="Move my appointment").click()
    customer.wait_for_url(manage_url)
    expect(customer.locator("#messages")).to_contain_text("Your appointment has moved")
    expect_manage_page(customer, service, new_when, "Booked")

    # --- cancel (the browser asks first) ------------------------------------------------------------
    dialogs: list[str] = []

    def accept(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    customer.on("dialog", accept)
    customer.get_by_role("button", name="Cancel appointment").click()
    expect(customer.locator("#appointment-status")).to_have_text("Cancelled")
    assert dialogs == ["Cancel this appointment?"], dialogs
    expect(customer).to_have_url(manage_url)
    expect(customer.locator("#messages")).to_contain_text("Your appointment is cancelled.")
    expect_manage_page(customer, service, new_when, "Cancelled")
    expect(customer.get_by_role("link", name="Choose another time")).to_have_count(0)
    expect(customer.get_by_role("button", name="Cancel appointment")).to_have_count(0)
    assert_accessible(customer, "the cancelled appointment")
    # The same link now gives the calendar a cancellation of the same event.
    cancelled_ics = customer.request.get(ics_link.get_attribute("href")).text()
    assert "METHOD:CANCEL" in cancelled_ics and "STATUS:CANCELLED" in cancelled_ics, cancelled_ics

    # --- the admin sees the three mails ---------------------------------------------------------------
    admin = new_page()
    log_in(admin, ADMIN_EMAIL)
    admin.wait_for_url(f"{base_url}/back")
    subjects = outbox_subjects(admin, email, expected=3)
    assert sorted(subjects) == sorted(
        [
            f"Booked: {service['name']} on {when}",
            f"Moved: {service['name']} is now on {new_when}",
            f"Cancelled: {service['name']} on {new_when}",
        ]
    ), subjects
    admin.locator("#outbox-table").get_by_role("link", name=f"Booked: {service['name']}").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Booked: {service['name']} on {when}")
    expect(admin.get_by_role("heading", name="Attachments")).to_be_visible()
    expect(admin.locator("main")).to_contain_text("invite.ics")
    expect(admin.locator("#mail-text")).to_contain_text(manage_url)
    assert_accessible(admin, "a mail with an attachment in the outbox")


def test_booking_works_without_javascript(new_page, service, base_url):
    name, email = "Otto Offline", unique_email("otto")
    customer = new_page(java_script_enabled=False)
    customer.goto("/book")
    card = customer.locator("article.card").filter(has=customer.get_by_role("heading", name=service["name"]))
    card.get_by_role("link", name="Choose a time").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text(service["name"])
    # Nothing detected the zone: the times start in UTC; the zone is chosen with the form's own button.
    tz_select = picker(customer).get_by_label("Times shown in")
    expect(tz_select).to_have_value("UTC")
    assert_accessible(customer, "the picker without JavaScript")
    tz_select.select_option(NEW_YORK)
    with customer.expect_navigation():
        picker(customer).get_by_role("button", name="Show").click()
    expect(customer).to_have_url(re.compile(r"[?&]tz=America%2FNew_York(&|$)"))
    expect(picker(customer).get_by_label("Times shown in")).to_have_value(NEW_YORK)

    zone = ZoneInfo(NEW_YORK)
    day = choose_day(customer, datetime.now(zone).date() + timedelta(days=DAYS_AHEAD))
    expect(customer).to_have_url(re.compile(rf"day={day.isoformat()}#times$"))
    label, start = time_choices(customer)[0]
    assert label == start.astimezone(zone).strftime("%H:%M"), (label, start)
    time_links(customer).first.click()

    when = local_label(start, NEW_YORK)
    expect(customer.locator("p.lead")).to_have_text(when)
    fill_details(customer, name=name, email=email, topic="Pension")
    with customer.expect_navigation():
        customer.get_by_role("button", name=f"Book {when}").click()
    expect_booked_notice(customer, email)
    customer.goto(mailed_manage_link(new_page, base_url, email, f"Booked: {service['name']} on {when}"))
    expect_manage_page(customer, service, when, "Booked")
    expect(customer.locator("dl.meta")).to_contain_text("Pension")
    assert_accessible(customer, "the manage page without JavaScript")


def test_a_missing_answer_is_asked_for_and_the_details_are_kept(new_page, service, base_url):
    name, email = "Mia Missing", unique_email("mia")
    customer = new_page(timezone_id=NEW_YORK, locale="en-US")
    customer.goto(f"/book/{service['slug']}")
    expect(picker(customer).get_by_label("Times shown in")).to_have_attribute("data-detect-timezone-select", "off")
    choose_day(customer, datetime.now(ZoneInfo(NEW_YORK)).date() + timedelta(days=DAYS_AHEAD))
    _, start = time_choices(customer)[0]
    time_links(customer).first.click()
    details_url = customer.url
    when = local_label(start, NEW_YORK)

    fill_details(customer, name=name, email=email, topic=None)
    with customer.expect_response(
        lambda r: r.url == f"{base_url}/book/{service['slug']}" and r.request.method == "POST"
    ) as answer:
        customer.get_by_role("button", name=f"Book {when}").click()
    assert answer.value.status == 422, answer.value.status

    form = customer.locator("#details-form")
    topic = form.get_by_label("Topic")
    expect(form.locator("#f-q_topic-error")).to_have_text("Please answer this question.")
    expect(topic).to_have_attribute("aria-invalid", "true")
    expect(topic).to_be_focused()
    expect(form.locator(".field.has-error")).to_have_count(1)
    expect(form.get_by_label("Your name")).to_have_value(name)
    expect(form.get_by_label("Email")).to_have_value(email)
    expect(customer).to_have_url(details_url)
    assert_accessible(customer, "the details form with an error")

    # Answering it is all that is missing.
    topic.select_option("Tax")
    form.get_by_role("button", name=f"Book {when}").click()
    expect_booked_notice(customer, email)
    assert_accessible(customer, "the booked notice")


def test_the_chosen_day_is_marked_in_the_grid(new_page, service):
    customer = new_page(timezone_id=NEW_YORK, locale="en-US")
    customer.goto(f"/book/{service['slug']}")
    expect(picker(customer).get_by_label("Times shown in")).to_have_attribute("data-detect-timezone-select", "off")
    day = choose_day(customer, datetime.now(ZoneInfo(NEW_YORK)).date() + timedelta(days=DAYS_AHEAD))
    link = picker(customer).locator(f'a.day.free[href*="day={day.isoformat()}"]')
    # The times are shown already (choose_day waited for them): the grid must say which day they are for,
    # as it does when the same URL is loaded as a page (and without JavaScript).
    expect(link).to_have_attribute("aria-current", "date", timeout=2000)
    expect(picker(customer).locator("td.chosen")).to_have_count(1, timeout=1000)
