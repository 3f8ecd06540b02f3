"""The queue on real screens, and the console by keyboard (issue 15, "the agent's day").

At 1280, 1440 and 1600 px the queue shows every column and the search button without sideways
scrolling; at 390 px it is a list of cards. The keyboard shortcuts move through the queue, open a
ticket, write a note, take the ticket and go back, and ``?`` lists them; they stay out of the way
while typing."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Portal
from tests.browser.test_accounts_flow import log_in

pytestmark = pytest.mark.browser

COLUMNS = ["#", "Subject", "Requester", "Status", "Priority", "SLA", "Team", "Assignee", "Updated"]


def create_for(page: Page, *, email: str, name: str, subject: str) -> None:
    """File a ticket from the console for someone who phoned (the agent's "New ticket" form)."""
    page.goto("/back/tickets/new")
    form = page.locator("#new-for-form")
    form.get_by_label("Phone").check()
    form.get_by_label("Their email").fill(email)
    form.get_by_label("Their name").fill(name)
    form.get_by_label("Subject").fill(subject)
    form.get_by_label("What they asked").fill("They called about it.")
    form.get_by_role("button", name="Create ticket").click()
    expect(page.locator("#messages")).to_contain_text("created for")


def overflow(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.fixture
def agent_with_queue(new_page, portal_server: Portal, base_url):
    suffix = uuid.uuid4().hex[:6]
    email = f"kai-{suffix}@example.org"
    portal_server.create_user(email, f"Kai {suffix}", role="agent")
    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, email)
    page.wait_for_url(f"{base_url}/back")
    long = "a-rather-long-mailbox-name-that-does-not-break"
    for i in range(3):
        create_for(
            page,
            email=f"{long}-{i}-{suffix}@example-customer-domain.org",
            name=f"Maximilian Longname-Customer {i}",
            subject=f"The invoice total is wrong and the portal shows another amount entirely {i} {suffix}",
        )
    return page, suffix


def test_the_queue_fits_laptop_screens_and_becomes_a_list_on_a_phone(agent_with_queue):
    page, suffix = agent_with_queue
    for width in (1280, 1440, 1600):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/back/tickets?view=open")
        expect(page.get_by_role("heading", level=1)).to_have_text("Tickets: All open")
        assert overflow(page) <= 0, f"{width} px: the page scrolls sideways by {overflow(page)} px"
        headers = page.locator("table.queue-table thead th")
        for name in COLUMNS:
            header = headers.filter(has_text=re.compile(rf"^{re.escape(name)}$"))
            expect(header).to_be_visible()
            box = header.bounding_box()
            assert box and box["x"] + box["width"] <= width, f"{width} px: column {name} is cut off"
        search = page.locator(".console-search").get_by_role("button", name="Search")
        box = search.bounding_box()
        assert box and box["x"] + box["width"] <= width, f"{width} px: the search button is off screen"

    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/back/tickets?view=open")
    assert overflow(page) <= 0, f"390 px: the page scrolls sideways by {overflow(page)} px"
    row = page.locator("table.queue-table tbody tr", has_text=suffix).first
    assert row.evaluate("r => getComputedStyle(r).display") == "flex"  # a card, not a table row
    assert page.locator("table.queue-table thead").evaluate("h => h.getBoundingClientRect().height") <= 1
    status = row.locator("td.col-status")
    assert status.evaluate("c => getComputedStyle(c, '::before').content") == '"Status: "'
    box = row.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390


def test_keyboard_shortcuts_and_the_skip_link(agent_with_queue, base_url):
    page, suffix = agent_with_queue
    page.goto("/back/tickets?view=open")
    skip = page.get_by_role("link", name="Skip to bulk actions")
    skip.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#bulk-actions")).to_be_focused()

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    rows = page.locator("table.queue-table tbody tr")
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bis-current\b"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bis-current\b"))
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bis-current\b"))
    page.keyboard.press("x")
    expect(rows.nth(0).locator("input[type=checkbox]")).to_be_checked()
    first_url = rows.nth(0).get_attribute("data-ticket-url")
    second_url = rows.nth(1).get_attribute("data-ticket-url")
    page.keyboard.press("o")
    page.wait_for_url(f"{base_url}{first_url}")

    # n: an internal note; typing "jkra" there types, it does not navigate or take the ticket.
    page.keyboard.press("n")
    body = page.locator(".console-reply textarea[name=body]")
    expect(body).to_be_focused()
    expect(page.locator(".console-reply input[name=kind][value=internal]")).to_be_checked()
    page.keyboard.type("jkra")
    expect(body).to_have_value("jkra")
    assert page.url == f"{base_url}{first_url}"
    body.fill("")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("r")
    expect(page.locator(".console-reply input[name=kind][value=public]")).to_be_checked()
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("a")
    expect(page.locator("#messages")).to_contain_text("Saved: assignee.")
    expect(page.locator(".timeline")).to_contain_text("changed assignee")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")  # the next ticket of the queue this page was opened from
    page.wait_for_url(f"{base_url}{second_url}")
    page.keyboard.press("g")
    page.keyboard.press("q")
    page.wait_for_url(re.compile(r"/back/tickets/?$"))
