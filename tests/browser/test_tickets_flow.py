"""Tickets as a guest meets them in Chromium: file with a file and Markdown, follow the mailed link,
download, reply, and see the support team's answer arrive by the page's own polling."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import uuid
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import ADMIN_EMAIL, PASSWORD, Portal
from tests.browser.test_accounts_flow import log_in, read_mail_link

pytestmark = pytest.mark.browser

POLL_WAIT_MS = 25_000  # the thread polls every 15 s; a reload follows when the status moved


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


def tiny_png() -> bytes:
    """A valid 2x2 RGB PNG, built by hand so no image library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# Runs in a subprocess with the server's environment: create an agent and answer a ticket through the
# console's own write path (``write.reply`` with the agent's access); SQLite allows this second writer.
AGENT_REPLY_SNIPPET = """
import asyncio, os, sys

from portal.settings import Settings, use_settings

use_settings(Settings.from_env())

from portal import db
from portal.accounts.rules import Actor
from portal.accounts.services import create_user
from portal.tickets import access, write


async def main(number, email, name, password, body):
    engine = db.make_engine(os.environ["PORTAL_DATABASE_URL"])
    db.use_engine(engine)
    await db.open_engine(engine)
    try:
        user_id, _ = await create_user(email, name, password, "agent")
        scope = await access.for_actor(Actor(id=user_id, email=email, name=name, role="agent"))
        await write.reply(scope, number, body, [], internal=False)
    finally:
        await db.close_engine(engine)


asyncio.run(main(int(sys.argv[1]), *sys.argv[2:]))
"""


def agent_replies(portal: Portal, number: int, body: str, *, agent_email: str, agent_name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", AGENT_REPLY_SNIPPET, str(number), agent_email, agent_name, PASSWORD, body],
        env=portal.env,
        cwd=portal.directory,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"agent reply failed:\n{result.stdout}\n{result.stderr}"


def thread(page: Page):
    return page.locator("section#thread")


def confirmation(page: Page):
    """The "We received your request" notice shown after filing."""
    return page.locator(".notice").filter(has=page.get_by_role("heading", name="We received your request"))


def fill_new_ticket(page: Page, *, name: str, email: str, subject: str, description: str) -> None:
    form = page.locator("#new-ticket-form")
    form.get_by_label("Your name").fill(name)
    form.get_by_label("Your email").fill(email)
    form.get_by_label("Subject").fill(subject)
    form.get_by_label("Description").fill(description)


def test_guest_files_follows_link_replies_and_sees_the_answer_arrive(new_page, portal_server, base_url, tmp_path: Path):
    name, email = "Gina Guest", unique_email("gina")
    subject = f"Printer prints blank pages {uuid.uuid4().hex[:6]}"
    png = tiny_png()
    attachment = tmp_path / "printer-status.png"
    attachment.write_bytes(png)

    # --- file the request as a guest -------------------------------------------------------------
    guest = new_page()
    guest.goto("/tickets/new")
    expect(guest.get_by_role("heading", level=1)).to_have_text("Get help")
    form = guest.locator("#new-ticket-form")
    expect(form.get_by_label("What is it about?")).to_have_count(0)  # no categories in this database
    fill_new_ticket(
        guest,
        name=name,
        email=email,
        subject=subject,
        description="Since Monday every page comes out **blank on paper**.\n\n- tried a reboot",
    )
    # The live preview renders the Markdown (htmx, after a short delay).
    preview = form.locator("#preview-body")
    expect(preview.locator("strong")).to_have_text("blank on paper")
    expect(preview.locator("li")).to_have_text("tried a reboot")
    assert_accessible(guest, "the new-ticket form with a preview")
    form.get_by_label("Attachments").set_input_files(str(attachment))
    form.get_by_role("button", name="Send request").click()

    # Scoped to the notice: see test_the_confirmation_replaces_the_form_page for the page around it.
    notice = confirmation(guest)
    expect(notice).to_be_visible()
    number_text = notice.locator(".ticket-number").inner_text()
    assert re.fullmatch(r"#\d+", number_text), number_text
    number = int(number_text[1:])
    expect(notice).to_contain_text(email)
    expect(notice).to_contain_text("We sent you a link to follow your ticket")
    expect(guest.locator('a[href^="/t/"]')).to_have_count(0)  # the private link is in the mail only
    assert_accessible(guest, "the confirmation")

    # --- the admin reads the confirmation mail and its private link ------------------------------
    admin = new_page()
    log_in(admin, ADMIN_EMAIL)
    admin.wait_for_url(f"{base_url}/back")
    link = read_mail_link(admin, email, f"[#{number}] We received your request: {subject}", "/t/")
    path = link.removeprefix(base_url)

    # --- the link alone opens the ticket, in a context that never saw the form ---------------------
    follower = new_page()
    follower.goto(link)
    expect(follower.get_by_role("heading", level=1)).to_contain_text(f"#{number} {subject}")
    expect(follower.locator("#ticket-status")).to_have_text("Received")
    messages = thread(follower).locator("article.message")
    expect(messages).to_have_count(1)
    expect(messages.first).to_contain_text(name)
    expect(messages.first.locator(".message-body strong")).to_have_text("blank on paper")
    file_link = messages.first.get_by_role("link", name="printer-status.png")
    expect(file_link).to_be_visible()
    href = file_link.get_attribute("href")
    assert href and href.startswith(f"{path}/attachments/"), href
    download = follower.request.get(href)
    assert download.status == 200, download.status
    assert download.body() == png
    assert download.headers["content-type"].startswith("image/png"), download.headers
    expect(follower.get_by_role("button", name="My problem is solved")).to_be_visible()
    assert_accessible(follower, "the guest's ticket page")

    # --- the guest replies -------------------------------------------------------------------------
    reply_text = f"It also happens with the other tray ({uuid.uuid4().hex[:6]})."
    reply_form = follower.locator("form#reply")
    reply_form.get_by_label("Your message").fill(reply_text)
    with follower.expect_response(lambda r: r.url == f"{link}/reply" and r.request.method == "POST") as answer:
        reply_form.get_by_role("button", name="Send reply").click()
    assert answer.value.status == 200, answer.value.status
    # The page reloads by itself (HX-Refresh) and shows the reply.
    expect(follower.locator("#messages")).to_contain_text("Your reply was added.")
    expect(messages).to_have_count(2)
    expect(messages.last).to_contain_text(reply_text)
    expect(reply_form.get_by_label("Your message")).to_have_value("")
    assert_accessible(follower, "the ticket page after a reply")

    # --- an agent answers; the open page shows it by itself ----------------------------------------
    polls = []
    follower.on("response", lambda r: polls.append(r) if "/thread?v=" in r.url else None)
    loads = []
    follower.on("load", lambda p: loads.append(p.url))
    agent_text = f"Please check the toner cartridge ({uuid.uuid4().hex[:6]})."
    agent_replies(portal_server, number, agent_text, agent_email=unique_email("agent"), agent_name="Andy Agent")

    expect(thread(follower)).to_contain_text(agent_text, timeout=POLL_WAIT_MS)
    staff_message = thread(follower).locator("article.message-staff")
    expect(staff_message).to_have_count(1)
    expect(staff_message).to_contain_text("Andy Agent")
    expect(staff_message).to_contain_text("Support team")
    expect(messages).to_have_count(3)
    expect(follower.locator("#ticket-status")).to_have_text("In progress")
    # It came through the poll: the status moved from new to open, so the poll asked for a reload.
    assert polls, "the thread never polled"
    assert any(r.headers.get("hx-refresh") == "true" for r in polls), [(r.status, r.headers) for r in polls]
    assert loads, "the page was not reloaded after the status changed"
    assert_accessible(follower, "the ticket page with the support team's answer")


def test_empty_subject_is_refused_and_the_description_is_kept(page, base_url):
    description = "The **scanner** stopped working.\n\nIt shows error E-42."
    page.goto("/tickets/new")
    form = page.locator("#new-ticket-form")
    form.get_by_label("Your name").fill("Erin Empty")
    form.get_by_label("Your email").fill(unique_email("erin"))
    form.get_by_label("Description").fill(description)
    with page.expect_response(lambda r: r.url == f"{base_url}/tickets/new" and r.request.method == "POST") as answer:
        form.get_by_role("button", name="Send request").click()
    assert answer.value.status == 422, answer.value.status

    form = page.locator("#new-ticket-form")
    subject = form.get_by_label("Subject")
    expect(subject).to_have_attribute("aria-invalid", "true")
    expect(subject).to_have_attribute("aria-describedby", re.compile(r"\bf-subject-error\b"))
    expect(form.locator("#f-subject-error")).to_have_text("Enter a subject.")
    # The message sits in the subject's own field, not elsewhere on the page.
    expect(form.locator(".field.has-error")).to_have_count(1)
    expect(form.locator(".field.has-error")).to_contain_text("Enter a subject.")
    expect(subject).to_be_focused()
    # Nothing typed is lost.
    expect(form.get_by_label("Description")).to_have_value(description)
    expect(form.get_by_label("Your name")).to_have_value("Erin Empty")
    expect(page.get_by_role("heading", name="We received your request")).to_have_count(0)
    expect(page).to_have_url(f"{base_url}/tickets/new")
    assert_accessible(page, "the new-ticket form with an error")


def test_the_confirmation_replaces_the_form_page(page, base_url):
    page.goto("/tickets/new")
    fill_new_ticket(
        page,
        name="Nora Nested",
        email=unique_email("nora"),
        subject="Cannot log in",
        description="The login page keeps reloading.",
    )
    page.locator("#new-ticket-form").get_by_role("button", name="Send request").click()
    expect(confirmation(page)).to_be_visible()
    expect(page.locator("#new-ticket-form")).to_have_count(0, timeout=1000)
    expect(page.get_by_role("heading", level=1)).to_have_text("We received your request", timeout=1000)
    expect(page.locator("header.site-header")).to_have_count(1, timeout=1000)
    expect(page.locator("main")).to_have_count(1, timeout=1000)


def test_a_reply_shows_up_without_reloading(new_page, base_url):
    page, email = new_page(), unique_email("rita")
    page.goto("/tickets/new")
    fill_new_ticket(
        page,
        name="Rita Reply",
        email=email,
        subject="Wrong invoice address",
        description="The invoice shows my old address.",
    )
    page.locator("#new-ticket-form").get_by_role("button", name="Send request").click()
    number = confirmation(page).locator(".ticket-number").inner_text()
    admin = new_page()
    log_in(admin, ADMIN_EMAIL)
    admin.wait_for_url(f"{base_url}/back")
    page.goto(read_mail_link(admin, email, f"[{number}] We received your request: Wrong invoice address", "/t/"))
    expect(thread(page).locator("article.message")).to_have_count(1)
    page.get_by_label("Your message").fill("My new address is Elm Street 5.")
    page.get_by_role("button", name="Send reply").click()
    # Well below the 15 s poll, so only the reply's own answer can make these pass.
    expect(thread(page).locator("article.message")).to_have_count(2, timeout=3000)
    expect(page.locator("#messages")).to_contain_text("Your reply was added.", timeout=1000)
    expect(page.get_by_label("Your message")).to_have_value("", timeout=1000)
