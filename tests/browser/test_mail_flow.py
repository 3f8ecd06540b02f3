"""Email in the browser: a customer writes to the desk's mailbox (SMTP to the real listener of
`portal serve`), the agent opens the ticket, and the customer's mailed reply to the
acknowledgement appears in the agent's open page live, without a reload; axe checks the ticket
page and the original mail."""

from __future__ import annotations

import json
import smtplib
import subprocess
import sys
import uuid
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import ADMIN_EMAIL, Portal
from tests.browser.test_accounts_flow import log_in

pytestmark = pytest.mark.browser

# Reads the database the way an observer would: the mailbox is made, and the acknowledgement read.
SNIPPET = """
import asyncio, json, os, sys
from portal.settings import Settings, use_settings
use_settings(Settings.from_env())
from portal import db
from portal.clock import utcnow
from portal.mail.tables import Mailbox

async def main(what, address):
    engine = db.make_engine(os.environ["PORTAL_DATABASE_URL"])
    db.use_engine(engine)
    await db.open_engine(engine)
    try:
        if what == "mailbox":
            async with db.write_transaction():
                await Mailbox.insert(Mailbox(address=address, name="Browser Support", created_at=utcnow())).run()
        else:
            rows = await db.fetch(
                "SELECT headers, message_id, subject FROM outbound_mail WHERE to_address = {} "
                "AND template = 'ticket_received' ORDER BY id DESC LIMIT 1", address)
            print(json.dumps(rows[0] if rows else None))
    finally:
        await db.close_engine(engine)

asyncio.run(main(*sys.argv[1:]))
"""


def run_snippet(portal: Portal, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", SNIPPET, *args], env=portal.env, cwd=portal.directory, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def send(portal: Portal, message: EmailMessage) -> None:
    host, port = portal.env["PORTAL_MAIL_IN_LISTEN"].rsplit(":", 1)
    with smtplib.SMTP(host, int(port), timeout=30) as client:
        client.send_message(message)


def mail(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Mia Mailer <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.example")
    message.set_content(body)
    return message


def test_a_mailed_reply_appears_live_in_the_agents_open_ticket(new_page, portal_server: Portal, base_url):
    tag = uuid.uuid4().hex[:8]
    desk, customer = f"help-{tag}@example.org", f"mia-{tag}@customer.example"
    run_snippet(portal_server, "mailbox", desk)
    send(portal_server, mail(customer, desk, f"Heating broken {tag}", "The heating in flat 3 is broken."))

    agent = new_page()
    log_in(agent, ADMIN_EMAIL)
    agent.wait_for_url(f"{base_url}/back")
    agent.goto(f"/back/tickets?q={tag}")
    link = agent.get_by_role("link", name=f"Heating broken {tag}")
    expect(link).to_be_visible(timeout=15_000)
    link.click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text(f"Heating broken {tag}")
    expect(agent.locator(".timeline")).to_contain_text("The heating in flat 3 is broken.")
    assert_accessible(agent, "the console ticket page of a mailed ticket")

    ack = None
    for _ in range(50):
        ack = json.loads(run_snippet(portal_server, "ack", customer))
        if ack:
            break
        agent.wait_for_timeout(200)
    assert ack, "no acknowledgement was queued"
    reply_address = parseaddr(json.loads(ack["headers"])["Reply-To"])[1]
    reply = mail(customer, reply_address, f"Re: {ack['subject']}", f"It is 12 degrees now. ({tag})\n\n> old quote")
    reply["In-Reply-To"] = f"<{ack['message_id']}>"
    send(portal_server, reply)

    # No reload: the open page follows the live event of the reply.
    expect(agent.locator(".timeline")).to_contain_text(f"It is 12 degrees now. ({tag})", timeout=15_000)
    expect(agent.locator(".timeline")).not_to_contain_text("old quote")
    agent.get_by_role("link", name="Original mail").first.click()
    expect(agent.get_by_role("heading", name="Original mail")).to_be_visible()
    assert_accessible(agent, "the original of a mailed message")
