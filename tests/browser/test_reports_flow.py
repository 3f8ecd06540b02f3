"""The KPI dashboard in Chromium: a guest's new ticket shows up in the admin's numbers; the admin
breaks the report down by channel (htmx swaps the report and keeps the URL), downloads a table as
CSV, and opens the booking tab."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import ADMIN_EMAIL
from tests.browser.test_accounts_flow import log_in
from tests.browser.test_tickets_flow import fill_new_ticket

pytestmark = pytest.mark.browser


def test_admin_reads_breaks_down_and_exports_the_dashboard(new_page, base_url):
    suffix = uuid.uuid4().hex[:6]
    guest = new_page()
    guest.goto("/tickets/new")
    fill_new_ticket(
        guest,
        name="Gwen Guest",
        email=f"gwen-{suffix}@example.org",
        subject=f"Invoice is missing {suffix}",
        description="I cannot find last month's invoice.",
    )
    guest.locator("#new-ticket-form").get_by_role("button", name="Send request").click()
    expect(guest.get_by_role("heading", level=1)).to_contain_text("received", ignore_case=True)

    admin = new_page()
    errors: list[str] = []
    admin.on("pageerror", lambda error: errors.append(str(error)))
    log_in(admin, ADMIN_EMAIL)
    admin.wait_for_url(f"{base_url}/back")
    admin.get_by_role("navigation", name="Sections").get_by_role("link", name="Reports").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Reports")
    created = admin.locator(".kpi", has_text="Created").locator(".kpi-value")
    expect(created).not_to_have_text("0")
    expect(admin.locator("svg[role='img']").first).to_be_visible()
    assert_accessible(admin, "the reports")

    admin.get_by_label("Break down by").select_option(label="Channel")
    admin.locator("form.filters").get_by_role("button", name="Show").click()
    expect(admin.locator("#h-breakdown")).to_have_text("By channel")
    expect(admin).to_have_url(re.compile(r"by=channel"))
    breakdown = admin.locator("#report table", has=admin.locator("caption", has_text="By channel"))
    expect(breakdown.locator("tbody tr", has_text="web")).to_have_count(1)
    assert_accessible(admin, "the reports by channel")

    with admin.expect_download() as download_info:
        breakdown.locator("caption").get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("tickets-by-channel_")
    text = download.path().read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("Channel,Solved,") and "\nweb," in text

    admin.get_by_role("navigation", name="Report").get_by_role("link", name="Booking").click()
    expect(admin.get_by_role("heading", name="Utilization of staff hours")).to_be_visible()
    assert_accessible(admin, "the booking report")
    assert errors == []
