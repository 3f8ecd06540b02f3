"""The agent console in Chromium: an admin writes a shared canned reply; an agent takes a new ticket
from Unassigned and answers it with that reply; a second agent's queue, open in another browser,
follows both the new ticket and the take live (SSE), without reloading."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import ADMIN_EMAIL, Portal
from tests.browser.test_accounts_flow import log_in
from tests.browser.test_tickets_flow import fill_new_ticket

pytestmark = pytest.mark.browser


def test_agent_takes_a_ticket_and_replies_with_a_canned_reply_while_a_colleague_watches_live(
    new_page, portal_server: Portal, base_url
):
    suffix = uuid.uuid4().hex[:6]
    ben_email, chloe_email = f"ben-{suffix}@example.org", f"chloe-{suffix}@example.org"
    portal_server.create_user(ben_email, f"Ben {suffix}", role="agent")
    portal_server.create_user(chloe_email, f"Chloe {suffix}", role="agent")

    # --- the admin writes a shared canned reply with placeholders ----------------------------------
    admin = new_page()
    log_in(admin, ADMIN_EMAIL)
    admin.wait_for_url(f"{base_url}/back")
    admin.get_by_role("navigation", name="Sections").get_by_role("link", name="Canned replies").click()
    form = admin.locator("#canned-form")
    form.get_by_label("Title").fill(f"Printer fix {suffix}")
    form.get_by_label("Text").fill(
        "Hello {{customer_first_name}}, please switch the printer off and on. — {{agent_name}}"
    )
    form.get_by_label("Shared with every agent").check()
    form.get_by_role("button", name="Save").click()
    expect(admin.locator("#messages")).to_contain_text("The canned reply is saved.")
    assert_accessible(admin, "the canned replies")

    # --- Chloe watches the Unassigned queue ---------------------------------------------------------
    chloe = new_page()
    log_in(chloe, chloe_email)
    chloe.wait_for_url(f"{base_url}/back")
    chloe.goto("/back/tickets?view=unassigned")
    expect(chloe.get_by_role("heading", level=1)).to_have_text("Tickets: Unassigned")
    chloe.wait_for_timeout(500)  # the SSE stream connects

    # --- a guest files a ticket: it appears in Chloe's queue without a reload -------------------------
    subject = f"Printer prints blank pages {suffix}"
    guest = new_page()
    guest.goto("/tickets/new")
    fill_new_ticket(
        guest,
        name="Gwen Guest",
        email=f"gwen-{suffix}@example.org",
        subject=subject,
        description="Every page comes out blank.",
    )
    guest.locator("#new-ticket-form").get_by_role("button", name="Send request").click()
    expect(guest.get_by_role("heading", level=1)).to_contain_text("received", ignore_case=True)
    row = chloe.locator("table.queue-table tbody tr", has_text=subject)
    expect(row).to_be_visible()
    number = re.search(r"#(\d+)", row.locator("td").nth(1).inner_text()).group(1)
    assert_accessible(chloe, "the Unassigned queue")
    count = chloe.locator("#count-unassigned")
    unassigned_before = int(count.inner_text().replace(",", ""))

    # --- Ben takes it from Unassigned and answers with the canned reply ---------------------------
    ben = new_page()
    log_in(ben, ben_email)
    ben.wait_for_url(f"{base_url}/back")
    ben.goto("/back/tickets?view=unassigned")
    ben.locator("table.queue-table").get_by_role("link", name=subject).click()
    expect(ben.get_by_role("heading", level=1)).to_have_text(f"#{number} {subject}")
    ben.get_by_role("button", name="Take it").click()
    expect(ben.locator("#t-assignee")).to_have_value(re.compile(r"\d+"))
    expect(ben.locator(".timeline")).to_contain_text("changed assignee")
    assert_accessible(ben, "the console ticket page after Take it")

    # Chloe's queue drops the ticket and her count goes down, live.
    expect(chloe.locator("table.queue-table tbody tr", has_text=subject)).to_have_count(0)
    expect(count).to_have_text(str(unassigned_before - 1))

    ben.get_by_label("Canned reply").select_option(label=f"Printer fix {suffix}")
    ben.get_by_role("button", name="Insert").click()
    body = ben.locator(".console-reply textarea[name=body]")
    expect(body).to_have_value(f"Hello Gwen, please switch the printer off and on. — Ben {suffix}")
    ben.get_by_label("and set status").select_option("pending")
    ben.locator(".console-reply").get_by_role("button", name="Send").click()
    expect(ben.locator("#messages")).to_contain_text("Reply sent to the customer.")
    expect(ben.locator(".timeline")).to_contain_text("please switch the printer off and on")
    expect(ben.locator("#t-status")).to_have_value("pending")
    assert_accessible(ben, "the console ticket page after a reply")

    # Arrow keys move through the priorities without saving any of them; the button saves the last
    # one, once, and the live region says so (WCAG 3.2.2).
    priority = ben.locator("#t-priority")
    priority.focus()
    for _ in range(3):
        priority.press("ArrowDown")
    ben.wait_for_timeout(500)
    expect(ben.locator(".timeline")).not_to_contain_text("changed priority")
    chosen = priority.input_value()
    assert chosen != "normal"
    ben.get_by_role("button", name="Update ticket").click()
    expect(ben.locator("#messages")).to_contain_text("Saved: priority.")
    expect(ben.locator(".timeline li", has_text="changed priority")).to_have_count(1)
    expect(ben.locator("#t-priority")).to_have_value(chosen)

    # The reply went out by mail (kept in the outbox without SMTP), and the customer sees it.
    admin.goto("/back/outbox")
    expect(admin.locator("body")).to_contain_text(f"gwen-{suffix}@example.org")

    # --- collision: Chloe opens the same ticket; Ben sees her there, then typing, then her note -------
    chloe.goto(f"/back/tickets/{number}")
    presence = ben.locator("#presence")
    expect(presence).to_contain_text(f"Chloe {suffix} is viewing")
    chloe.locator(".console-reply textarea[name=body]").press_sequentially("Checking the driver", delay=20)
    expect(presence).to_contain_text(f"Chloe {suffix} is typing a reply")
    chloe.locator(".console-reply").get_by_label("Internal note").check()
    chloe.locator(".console-reply").get_by_role("button", name="Send").click()
    expect(chloe.locator("#messages")).to_contain_text("Internal note added.")
    expect(ben.locator(".timeline")).to_contain_text("Checking the driver")  # live, no reload
    assert_accessible(ben, "the console ticket page with a colleague present")
