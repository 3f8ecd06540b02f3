"""What every visitor meets, checked the way they meet it: with a keyboard only, on a 390 px phone,
with JavaScript off, and as a guest whose times are shown in their own zone. axe checks each state."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import ADMIN_EMAIL, Portal
from tests.browser.test_accounts_flow import log_in, read_mail_link
from tests.browser.test_booking_flow import (  # noqa: F401  (``service`` is a fixture)
    DAYS_AHEAD,
    choose_day,
    expect_booked_notice,
    fill_details,
    picker,
    query_param,
    service,
    time_choices,
    time_links,
)
from tests.browser.test_tickets_flow import confirmation, fill_new_ticket

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TAB_LIMIT = 80


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


def focused(target: Locator) -> bool:
    return bool(target.evaluate("el => el === document.activeElement"))


def tab_to(page: Page, target: Locator, *, limit: int = TAB_LIMIT) -> int:
    """Press Tab until ``target`` has the focus; returns how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if focused(target):
            return presses
    raise AssertionError(f"{target} not reached with {limit} presses of Tab")


def type_into(page: Page, target: Locator, text: str) -> None:
    tab_to(page, target)
    page.keyboard.type(text)


def no_sideways_scrolling(page: Page, what: str) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{what}: the page is {widths[0]} px wide in a {widths[1]} px window"


def guest_link(new_page, base_url: str, email: str, number: str, subject: str) -> str:
    admin = new_page()
    log_in(admin, ADMIN_EMAIL)
    admin.wait_for_url(f"{base_url}/back")
    return read_mail_link(admin, email, f"[{number}] We received your request: {subject}", "/t/")


# --- keyboard only ------------------------------------------------------------------------------


def test_a_guest_files_a_ticket_with_the_keyboard_only(page, base_url):
    page.goto("/tickets/new")
    form = page.locator("#new-ticket-form")
    type_into(page, form.get_by_label("Your name"), "Kim Keys")
    type_into(page, form.get_by_label("Your email"), unique_email("kim"))
    type_into(page, form.get_by_label("Subject"), "Keyboard only")
    type_into(page, form.get_by_label("Description"), "I never touch a mouse.")
    expect(form.locator("#preview-body")).to_contain_text("I never touch a mouse.")
    expect(form.locator("#preview-body")).not_to_have_attribute("aria-live", re.compile("."))
    tab_to(page, form.get_by_role("button", name="Send request"))
    page.keyboard.press("Enter")

    notice = confirmation(page)
    expect(notice).to_be_visible()
    # Focus moved to the result, and the polite announcer says it (once, with the number).
    heading = notice.get_by_role("heading", name="We received your request")
    expect(heading).to_be_focused()
    number = notice.locator(".ticket-number").inner_text()
    expect(page.locator("#announcer")).to_have_text(f"We received your request. Your ticket number is {number}.")
    expect(page.locator("#announcer")).to_have_attribute("aria-live", "polite")
    assert_accessible(page, "the confirmation")


def test_a_guest_books_with_the_keyboard_only(new_page, service, base_url):
    zone = "America/New_York"
    customer = new_page(timezone_id=zone, locale="en-US")
    customer.goto("/book")
    card = customer.locator("article.card").filter(has=customer.get_by_role("heading", name=service["name"]))
    tab_to(customer, card.get_by_role("link", name="Choose a time"))
    customer.keyboard.press("Enter")
    expect(picker(customer).get_by_label("Times shown in")).to_have_attribute("data-detect-timezone-select", "off")

    earliest = datetime.now(ZoneInfo(zone)).date() + timedelta(days=DAYS_AHEAD)
    days = picker(customer).locator("a.day.free")
    hrefs = days.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    chosen = next(h for h in hrefs if datetime.fromisoformat(query_param(h, "day")).date() >= earliest)
    day_link = picker(customer).locator(f'a.day.free[href="{chosen}"]')
    # The accessible name starts with the number the link shows.
    name = day_link.get_attribute("aria-label") or ""
    assert name.startswith(day_link.inner_text().strip() + " "), name
    tab_to(customer, day_link, limit=120)
    customer.keyboard.press("Enter")
    times = customer.locator("#times")
    expect(times.locator(".time-list a").first).to_be_visible()
    count = times.locator(".time-list a").count()
    expect(customer.locator("#announcer")).to_have_text(re.compile(rf"^{count} free times? on "))

    # One Tab from the chosen day reaches its first time (the times follow the whole grid in the page).
    day_link = picker(customer).locator("td.chosen a.day")
    expect(day_link).to_be_focused()
    customer.keyboard.press("Tab")
    expect(time_links(customer).first).to_be_focused()
    assert_accessible(customer, "the times of a day")
    customer.keyboard.press("Enter")

    form = customer.locator("#details-form")
    expect(form).to_be_visible()
    type_into(customer, form.get_by_label("Your name"), "Kai Keys")
    email = unique_email("kai")
    type_into(customer, form.get_by_label("Email"), email)
    tab_to(customer, form.get_by_label("Topic"))
    customer.keyboard.press("ArrowDown")
    expect(form.get_by_label("Topic")).not_to_have_value("")
    tab_to(customer, form.get_by_role("button", name=re.compile(r"^Book ")))
    customer.keyboard.press("Enter")
    expect_booked_notice(customer, email)
    assert_accessible(customer, "the booked notice")


def test_an_agent_replies_and_applies_a_bulk_action_with_the_keyboard_only(new_page, portal_server: Portal, base_url):
    suffix = uuid.uuid4().hex[:6]
    agent_email = f"kira-{suffix}@example.org"
    portal_server.create_user(agent_email, f"Kira {suffix}", role="agent")
    subject = f"Keyboard queue {suffix}"
    guest = new_page()
    guest.goto("/tickets/new")
    fill_new_ticket(guest, name="Gus Guest", email=unique_email("gus"), subject=subject, description="Help.")
    guest.locator("#new-ticket-form").get_by_role("button", name="Send request").click()
    number = confirmation(guest).locator(".ticket-number").inner_text().lstrip("#")

    agent = new_page()
    log_in(agent, agent_email)
    agent.wait_for_url(f"{base_url}/back")
    agent.goto(f"/back/tickets/{number}")
    reply = agent.locator(".console-reply")
    type_into(agent, reply.locator("textarea[name=body]"), f"On it, {suffix}.")
    tab_to(agent, reply.get_by_role("button", name="Send"))
    agent.keyboard.press("Enter")
    expect(agent.locator("#messages")).to_contain_text("Reply sent to the customer.")
    expect(agent.locator(".timeline")).to_contain_text(f"On it, {suffix}.")
    # The page came back with the result: focus is on the message that says what happened.
    expect(agent.locator("#messages .flash").first).to_be_focused()

    agent.goto("/back/tickets?view=all")
    row_box = agent.get_by_label(f"Select #{number}")
    tab_to(agent, row_box, limit=200)
    agent.keyboard.press("Space")
    expect(row_box).to_be_checked()
    priority = agent.locator("#b-priority")
    tab_to(agent, priority, limit=200)
    agent.keyboard.type("Urgent")
    expect(priority).to_have_value("urgent")
    tab_to(agent, agent.get_by_role("button", name="Apply to selected"))
    agent.keyboard.press("Enter")
    expect(agent.locator("#messages .flash").first).to_be_visible()
    agent.goto(f"/back/tickets/{number}")
    expect(agent.locator("#t-priority")).to_have_value("urgent")
    assert_accessible(agent, "the console ticket page after a bulk action")


# --- a 390 px phone -----------------------------------------------------------------------------


def test_booking_and_my_tickets_fit_a_phone(new_page, service, portal_server: Portal, base_url):
    phone = new_page(viewport=PHONE, timezone_id="Europe/Paris", locale="en-GB")
    phone.goto("/book")
    no_sideways_scrolling(phone, "the services")
    phone.goto(f"/book/{service['slug']}")
    expect(picker(phone).get_by_label("Times shown in")).to_have_attribute("data-detect-timezone-select", "off")
    choose_day(phone, datetime.now(ZoneInfo("Europe/Paris")).date() + timedelta(days=DAYS_AHEAD))
    no_sideways_scrolling(phone, "the month grid with times")
    assert_accessible(phone, "the picker on a phone")
    time_links(phone).first.click()
    expect(phone.locator("#details-form")).to_be_visible()
    no_sideways_scrolling(phone, "the details form")

    email, name = unique_email("pia"), "Pia Phone"
    portal_server.create_user(email, name)
    log_in(phone, email)
    phone.wait_for_url(f"{base_url}/")
    phone.goto("/tickets/new")
    form = phone.locator("#new-ticket-form")
    form.get_by_label("Subject").fill("A rather long subject line that must wrap on a small phone screen")
    form.get_by_label("Description").fill("Written on a phone.")
    form.get_by_role("button", name="Send request").click()
    expect(confirmation(phone)).to_be_visible()
    phone.goto("/tickets")
    expect(phone.get_by_role("heading", level=1)).to_have_text("My tickets")
    expect(phone.locator("main")).to_contain_text("A rather long subject line")
    no_sideways_scrolling(phone, "my tickets")
    assert_accessible(phone, "my tickets on a phone")


# --- JavaScript off -----------------------------------------------------------------------------


def test_file_reply_and_book_without_javascript(new_page, service, base_url):
    email, subject = unique_email("nia"), f"No script {uuid.uuid4().hex[:6]}"
    guest = new_page(java_script_enabled=False)
    guest.goto("/tickets/new")
    fill_new_ticket(guest, name="Nia Noscript", email=email, subject=subject, description="Plain HTML only.")
    with guest.expect_navigation():
        guest.locator("#new-ticket-form").get_by_role("button", name="Send request").click()  # no attachment
    number = confirmation(guest).locator(".ticket-number").inner_text()
    assert_accessible(guest, "the confirmation without JavaScript")

    guest.goto(guest_link(new_page, base_url, email, number, subject))
    expect(guest.locator("#times-zone")).to_have_text("Times are shown in UTC.")
    guest.get_by_label("Your message").fill("Still plain HTML.")
    with guest.expect_navigation():
        guest.get_by_role("button", name="Send reply").click()
    expect(guest.locator("#messages")).to_contain_text("Your reply was added.")
    expect(guest.locator("section#thread article.message")).to_have_count(2)
    assert_accessible(guest, "the ticket page without JavaScript")

    guest.goto(f"/book/{service['slug']}")
    day = choose_day(guest, datetime.now(ZoneInfo("UTC")).date() + timedelta(days=DAYS_AHEAD))
    assert day
    time_links(guest).first.click()
    fill_details(guest, name="Nia Noscript", email=email, topic="Tax")
    with guest.expect_navigation():
        guest.get_by_role("button", name=re.compile(r"^Book ")).click()
    expect_booked_notice(guest, email)


# --- a guest's own time zone --------------------------------------------------------------------


def test_a_guest_sees_ticket_times_in_their_own_zone(new_page, base_url):
    email, subject = unique_email("tia"), f"Zones {uuid.uuid4().hex[:6]}"
    guest = new_page()
    guest.goto("/tickets/new")
    fill_new_ticket(guest, name="Tia Tokyo", email=email, subject=subject, description="What time is it?")
    guest.locator("#new-ticket-form").get_by_role("button", name="Send request").click()
    number = confirmation(guest).locator(".ticket-number").inner_text()
    link = guest_link(new_page, base_url, email, number, subject)

    tokyo = new_page(timezone_id="Asia/Tokyo")
    tokyo.goto(link)
    expect(tokyo.locator("#times-zone")).to_have_text("Times are shown in Asia/Tokyo.")
    stamp = tokyo.locator("section#thread article.message time").first
    instant = datetime.fromisoformat(stamp.get_attribute("datetime"))
    expect(stamp).to_contain_text(instant.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M"))
    # Remembered: the next visit needs no detection.
    tokyo.goto(link)
    expect(tokyo.locator("#times-zone")).not_to_have_attribute("data-detect-zone", re.compile("."))
    expect(tokyo.locator("#times-zone")).to_have_text("Times are shown in Asia/Tokyo.")
    assert_accessible(tokyo, "a guest's ticket page in their zone")
