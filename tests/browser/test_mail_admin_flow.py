"""The mail channel's admin pages in Chromium: an admin adds an IMAP mailbox (a refused port first),
finds it in the list, and retries a mail that failed; axe checks each page."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import ADMIN_EMAIL, Portal
from tests.browser.test_accounts_flow import log_in

pytestmark = pytest.mark.browser

# A failed mail, stored as the intake stores one (no parse job: the page is what is tested here).
FAILED_MAIL_SNIPPET = """
import asyncio, hashlib, os, sys

from portal.settings import Settings, use_settings

use_settings(Settings.from_env())

from portal import db
from portal.clock import utcnow
from portal.mailin.tables import InboundMail


async def main(subject):
    engine = db.make_engine(os.environ["PORTAL_DATABASE_URL"])
    db.use_engine(engine)
    await db.open_engine(engine)
    raw = f"From: Gwen <gwen@example.org>\\r\\nSubject: {subject}\\r\\n\\r\\n<b>Help</b>\\r\\n".encode()
    try:
        async with db.write_transaction():
            rows = await InboundMail.insert(InboundMail(
                raw_message=raw, size=len(raw), sha256=hashlib.sha256(raw).hexdigest(), received_at=utcnow(),
                status="failed", error="ValueError: could not read it", envelope_from="gwen@example.org",
                subject=subject)).run()
        print(rows[0]["id"])
    finally:
        await db.close_engine(engine)

asyncio.run(main(*sys.argv[1:]))
"""


def failed_mail(portal: Portal, subject: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", FAILED_MAIL_SNIPPET, subject],
        env=portal.env,
        cwd=portal.directory,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


def test_admin_adds_a_mailbox_and_retries_a_failed_mail(new_page, portal_server: Portal, base_url):
    suffix = uuid.uuid4().hex[:6]
    address = f"support-{suffix}@example.org"
    admin = new_page()
    log_in(admin, ADMIN_EMAIL)
    admin.wait_for_url(f"{base_url}/back")
    admin.get_by_role("navigation", name="Sections").get_by_role("link", name="Mailboxes").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Mailboxes")
    assert_accessible(admin, "the mailboxes")

    admin.get_by_role("link", name="New mailbox").click()
    form = admin.locator("#mailbox-form")
    assert_accessible(admin, "the new-mailbox form")
    form.get_by_label("Address", exact=True).fill(address)
    form.get_by_label("From name").fill("Example Support")
    form.get_by_label("Fetched from an IMAP mailbox").check()
    form.get_by_label("Server", exact=True).fill("imap.example.org")
    form.get_by_label("Port", exact=True).fill("70000")
    form.get_by_label("User name", exact=True).fill(address)
    form.get_by_label("Password or access token").fill("a secret")
    form.get_by_role("button", name="Create mailbox").click()
    expect(admin.locator("#mailbox-form #f-imap_port-error")).to_contain_text("Enter a port from 1 to 65535")
    expect(form.get_by_label("Password or access token")).to_have_value("")  # never sent back
    assert_accessible(admin, "the mailbox form with an error")
    form.get_by_label("Port", exact=True).fill("993")
    form.get_by_label("Password or access token").fill("a secret")
    form.get_by_role("button", name="Create mailbox").click()
    expect(admin.locator("#messages")).to_contain_text(f"Mailbox {address} created.")
    expect(admin.get_by_role("heading", level=1)).to_have_text(address)
    assert_accessible(admin, "a mailbox")

    subject = f"Broken {suffix}"
    mail_id = failed_mail(portal_server, subject)
    admin.get_by_role("navigation", name="Sections").get_by_role("link", name="Inbound mail").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Inbound mail")
    row = admin.locator(f"#inbound-{mail_id}")
    expect(row).to_contain_text("ValueError: could not read it")
    assert_accessible(admin, "the inbound mail")
    row.get_by_role("link", name=subject).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(subject)
    expect(admin.locator("#mail-source")).to_contain_text("<b>Help</b>")  # as text, not markup
    assert_accessible(admin, "a received mail")
    admin.get_by_role("button", name="Retry").click()
    expect(admin.locator("#messages")).to_contain_text("The mail is queued to be read again.")
