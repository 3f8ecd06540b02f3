"""The mail channel's admin pages: mailboxes (create, edit, secrets, health, deactivate, delete) and
received mail that needs a person (list, detail, raw download, retry, release, drop) — through the
app, on SQLite and PostgreSQL, including every refusal."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest

from portal.accounts.tables import Team, User
from portal.clock import utcnow
from portal.db import fetch, write_transaction
from portal.mail import secrets
from portal.mail.tables import Mailbox
from portal.mailin.tables import InboundMail
from portal.tickets.tables import Ticket
from tests.factories import make_user
from tests.integration.test_console import file_ticket

SECRET = "hunter2-imap-Secret!"
IMAP = {
    "address": "Support@Example.org",
    "name": "Example Support",
    "signature": "The support team",
    "acknowledge": "1",
    "ack_text": "Hello {name}, we have your mail as #{number}: {link}",
    "is_active": "1",
    "intake": "imap",
    "imap_host": "imap.example.org",
    "imap_port": "993",
    "imap_security": "ssl",
    "imap_user": "support@example.org",
    "imap_auth": "password",
    "imap_secret": SECRET,
    "imap_secret_env": "",
    "imap_folder": "INBOX",
    "imap_after": "move",
    "imap_move_to": "Archive",
}
LISTENER = {"address": "help@example.org", "name": "", "intake": "listener", "is_active": "1", "acknowledge": "1"}


@dataclass
class Office:
    admin: object
    agent: object
    customer: object
    anonymous: object
    team: int


@pytest.fixture
async def office(app, make_browser) -> Office:
    await make_user("ada@example.org", "admin", name="Ada Admin")
    await make_user("ben@example.org", "agent", name="Ben Agent")
    await make_user("ann@example.org", "customer", name="Ann Customer")
    async with write_transaction():
        team = (await Team.insert(Team(name="Support", created_at=utcnow())).run())[0]["id"]
    browsers = []
    for email in ("ada@example.org", "ben@example.org", "ann@example.org", None):
        browser = await make_browser()
        if email:
            await browser.login(email)
        browsers.append(browser)
    return Office(*browsers, team=team)


async def _mailbox(address: str) -> dict:
    return await Mailbox.select().where(Mailbox.address == address).first()


async def _inbound(status: str = "failed", raw: bytes = b"", **columns) -> int:
    raw = raw or b"From: Gwen <gwen@example.org>\r\nSubject: Help\r\n\r\nPlease help.\r\n"
    async with write_transaction():
        rows = await InboundMail.insert(
            InboundMail(
                raw_message=raw,
                size=len(raw),
                sha256=hashlib.sha256(raw).hexdigest(),
                received_at=columns.pop("received_at", utcnow()),
                status=status,
                envelope_from="gwen@example.org",
                envelope_to=json.dumps(["support@example.org"]),
                **columns,
            )
        ).run()
    return rows[0]["id"]


async def _jobs(inbound_id: int | None = None) -> list[dict]:
    rows = await fetch("SELECT kind, payload FROM job WHERE kind = 'mailin.process' ORDER BY id")
    payloads = [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"] for r in rows]
    return [p for p in payloads if inbound_id is None or p["inbound_id"] == inbound_id]


async def _status(inbound_id: int) -> str:
    return (await InboundMail.select(InboundMail.status).where(InboundMail.id == inbound_id).first())["status"]


# --- mailboxes ---------------------------------------------------------------------------------------------


async def test_admin_creates_an_imap_mailbox_with_its_secret_stored_encrypted(office):
    created = await office.admin.post("/back/mailboxes", {**IMAP, "team": str(office.team)})
    assert created.status_code == 303, created.text[:3000]
    row = await _mailbox("support@example.org")  # lower-cased
    assert row["name"] == "Example Support" and row["team"] == office.team and row["intake"] == "imap"
    assert (row["imap_host"], row["imap_port"], row["imap_after"], row["imap_move_to"]) == (
        "imap.example.org",
        993,
        "move",
        "Archive",
    )
    assert row["imap_secret"] and SECRET not in row["imap_secret"]
    assert secrets.decrypt(row["imap_secret"]) == SECRET
    assert created.headers["location"] == f"/back/mailboxes/{row['id']}"
    page = await office.admin.get(created.headers["location"])
    assert page.status_code == 200 and "Mailbox support@example.org created." in page.text
    assert SECRET not in page.text and row["imap_secret"] not in page.text
    assert "A secret is stored: leave blank to keep it." in page.text
    listing = await office.admin.get("/back/mailboxes")
    assert "support@example.org" in listing.text and "Support" in listing.text and "imap.example.org" in listing.text


async def test_an_empty_secret_on_edit_keeps_it_and_an_environment_variable_replaces_it(office):
    await office.admin.post("/back/mailboxes", IMAP)
    row = await _mailbox("support@example.org")
    kept = await office.admin.post(f"/back/mailboxes/{row['id']}", {**IMAP, "imap_secret": "", "name": "Desk"})
    assert kept.status_code == 303
    after = await _mailbox("support@example.org")
    assert after["name"] == "Desk" and secrets.decrypt(after["imap_secret"]) == SECRET
    changed = await office.admin.post(f"/back/mailboxes/{row['id']}", {**IMAP, "imap_secret": "new one"})
    assert changed.status_code == 303
    assert secrets.decrypt((await _mailbox("support@example.org"))["imap_secret"]) == "new one"
    env = await office.admin.post(
        f"/back/mailboxes/{row['id']}", {**IMAP, "imap_secret": "", "imap_secret_env": "SUPPORT_IMAP_PASSWORD"}
    )
    assert env.status_code == 303
    after = await _mailbox("support@example.org")
    assert (after["imap_secret"], after["imap_secret_env"]) == ("", "SUPPORT_IMAP_PASSWORD")
    # Now nothing is stored: dropping the variable needs a secret again.
    bare = await office.admin.post(f"/back/mailboxes/{row['id']}", {**IMAP, "imap_secret": ""})
    assert bare.status_code == 422 and "Enter the password (or access token)" in bare.text


async def test_a_listener_mailbox_needs_no_imap_settings(office):
    created = await office.admin.post("/back/mailboxes", LISTENER)
    assert created.status_code == 303, created.text[:3000]
    row = await _mailbox("help@example.org")
    assert row["intake"] == "listener" and row["imap_secret"] == "" and row["team"] is None
    assert row["acknowledge"] is True and row["is_active"] is True


BAD = [
    ({"address": "not an address"}, "Enter an email address like name@example.org."),
    ({"address": ""}, "Enter the address mail is sent to"),
    ({"address": "support+t.12.abcdefghijklmnop@example.org"}, "one of our reply addresses"),
    ({"imap_port": "70000"}, "Enter a port from 1 to 65535"),
    ({"imap_port": "9" * 4400}, "Enter a port from 1 to 65535"),
    ({"imap_port": "-1"}, "Enter a port from 1 to 65535"),
    ({"imap_after": "move", "imap_move_to": ""}, "Enter the folder to move fetched mail to"),
    ({"imap_after": "move", "imap_move_to": "INBOX"}, "would fetch it again"),
    ({"imap_host": ""}, "Enter the IMAP server&#39;s name"),
    ({"imap_host": "imap example org"}, "Enter a server name like imap.example.org"),
    ({"imap_user": ""}, "Enter the IMAP user name"),
    ({"imap_secret": "", "imap_secret_env": "lower_case"}, "Use capital letters, digits and underscores"),
    ({"imap_secret": "", "imap_secret_env": "1ABC"}, "Use capital letters, digits and underscores"),
    ({"imap_secret": "", "imap_secret_env": ""}, "Enter the password (or access token)"),
    ({"imap_secret_env": "SUPPORT_PASSWORD"}, "not both"),
    ({"imap_security": "tls13"}, "Choose SSL/TLS, STARTTLS or no encryption."),
    ({"imap_auth": "kerberos"}, "Choose a password or OAuth 2"),
    ({"imap_after": "archive"}, "Choose what happens to a fetched mail"),
    ({"intake": "pop3"}, "Choose how mail arrives"),
    ({"team": "abc"}, "Choose a team from the list."),
    ({"team": "999999"}, "That team does not exist any more"),
    ({"ack_text": "Hi {customer_name}"}, "Unknown placeholder {customer_name}"),
    ({"name": "Evil\x1b[31m"}, "cannot contain control characters"),
    ({"signature": "x" * 2001}, "at most 2,000 characters"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m[:30] for _, m in BAD])
async def test_bad_input_answers_422_with_the_message_and_saves_nothing(office, change, message):
    response = await office.admin.post("/back/mailboxes", {**IMAP, **change})
    assert response.status_code == 422, response.text[:2000]
    assert message in response.text
    assert "Nothing was saved" in response.text
    assert SECRET not in response.text  # a typed secret is never sent back
    assert await Mailbox.count() == 0


async def test_duplicate_addresses_are_refused_whatever_their_case(office):
    assert (await office.admin.post("/back/mailboxes", IMAP)).status_code == 303
    again = await office.admin.post("/back/mailboxes", {**LISTENER, "address": "SUPPORT@example.org"})
    assert again.status_code == 422 and "Another mailbox has this address already." in again.text
    other = await office.admin.post("/back/mailboxes", LISTENER)
    assert other.status_code == 303
    row = await _mailbox("help@example.org")
    clash = await office.admin.post(f"/back/mailboxes/{row['id']}", {**LISTENER, "address": "support@example.org"})
    assert clash.status_code == 422 and "Another mailbox has this address already." in clash.text


async def test_an_htmx_form_error_swaps_only_the_form(office):
    response = await office.admin.post("/back/mailboxes", {**IMAP, "imap_port": "0"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<form id="mailbox-form"') and "Enter a port" in response.text


async def test_health_is_shown_in_the_admins_zone_and_a_failing_mailbox_is_flagged(office):
    await office.admin.post("/back/mailboxes", IMAP)
    await office.admin.post("/back/mailboxes", LISTENER)
    now = utcnow().replace(hour=12, minute=30, second=0, microsecond=0)
    async with write_transaction():
        await User.update({User.timezone: "Asia/Kolkata"}).where(User.email == "ada@example.org").run()
        await (
            Mailbox.update(
                {
                    Mailbox.last_success_at: now - timedelta(hours=2),
                    Mailbox.last_error: "LOGIN failed: authentication rejected",
                    Mailbox.last_error_at: now,
                }
            )
            .where(Mailbox.address == "support@example.org")
            .run()
        )
        await Mailbox.update({Mailbox.last_success_at: now}).where(Mailbox.address == "help@example.org").run()
    page = await office.admin.get("/back/mailboxes")
    failing = re.search(r'<tr id="mailbox-\d+">\s*<td><a[^>]*>support@example.org.*?</tr>', page.text, re.S).group(0)
    assert "failing" in failing and "LOGIN failed: authentication rejected" in failing
    assert (now + timedelta(hours=5, minutes=30)).strftime("%Y-%m-%d %H:%M") in failing  # 18:00 in Kolkata
    working = re.search(r'<tr id="mailbox-\d+">\s*<td><a[^>]*>help@example.org.*?</tr>', page.text, re.S).group(0)
    assert "working" in working and "failing" not in working
    row = await _mailbox("support@example.org")
    detail = await office.admin.get(f"/back/mailboxes/{row['id']}")
    assert "LOGIN failed: authentication rejected" in detail.text and "Asia/Kolkata" in detail.text


async def test_deactivate_then_delete_with_confirmation(office):
    await office.admin.post("/back/mailboxes", LISTENER)
    row = await _mailbox("help@example.org")
    off = await office.admin.post(f"/back/mailboxes/{row['id']}/active", {"active": ""})
    assert off.status_code == 303 and off.headers["location"] == "/back/mailboxes"
    assert (await _mailbox("help@example.org"))["is_active"] is False
    assert "is deactivated" in (await office.admin.get("/back/mailboxes")).text
    on = await office.admin.post(f"/back/mailboxes/{row['id']}/active", {"active": "1"})
    assert on.status_code == 303 and (await _mailbox("help@example.org"))["is_active"] is True
    unconfirmed = await office.admin.post(f"/back/mailboxes/{row['id']}/delete", {})
    assert unconfirmed.status_code == 422 and "to confirm" in unconfirmed.text
    assert await _mailbox("help@example.org") is not None
    deleted = await office.admin.post(f"/back/mailboxes/{row['id']}/delete", {"confirm": "1"})
    assert deleted.status_code == 303 and await _mailbox("help@example.org") is None
    assert "Mailbox help@example.org deleted." in (await office.admin.get("/back/mailboxes")).text


async def test_a_mailbox_tickets_came_in_through_is_not_deleted(office):
    await office.admin.post("/back/mailboxes", LISTENER)
    row = await _mailbox("help@example.org")
    ticket = await file_ticket("By mail", None)
    async with write_transaction():
        await Ticket.update({Ticket.mailbox: row["id"]}).where(Ticket.id == ticket["id"]).run()
    refused = await office.admin.post(f"/back/mailboxes/{row['id']}/delete", {"confirm": "1"})
    assert refused.status_code == 409 and "deactivate it instead" in refused.text
    assert await _mailbox("help@example.org") is not None


# --- who may: only admins ------------------------------------------------------------------------------------


async def test_agents_customers_and_anonymous_are_refused_everywhere(office):
    await office.admin.post("/back/mailboxes", IMAP)
    mailbox_id = (await _mailbox("support@example.org"))["id"]
    failed, held = await _inbound("failed"), await _inbound("held")
    gets = [
        "/back/mailboxes",
        "/back/mailboxes/new",
        f"/back/mailboxes/{mailbox_id}",
        "/back/inbound",
        "/back/inbound?status=all",
        f"/back/inbound/{failed}",
        f"/back/inbound/{failed}/raw",
    ]
    posts = [
        ("/back/mailboxes", LISTENER),
        (f"/back/mailboxes/{mailbox_id}", {**IMAP, "name": "Hijacked"}),
        (f"/back/mailboxes/{mailbox_id}/active", {"active": ""}),
        (f"/back/mailboxes/{mailbox_id}/delete", {"confirm": "1"}),
        (f"/back/inbound/{failed}/retry", {}),
        (f"/back/inbound/{held}/release", {}),
        (f"/back/inbound/{failed}/drop", {}),
    ]
    for who, browser in (("agent", office.agent), ("customer", office.customer), ("anonymous", office.anonymous)):
        for url in gets:
            response = await browser.get(url)
            expected = 303 if who == "anonymous" else 403
            assert response.status_code == expected, (who, url, response.status_code)
            assert "Please help." not in response.text and "imap.example.org" not in response.text
        for url, form in posts:
            response = await browser.post(url, form)
            expected = 303 if who == "anonymous" else 403
            assert response.status_code == expected, (who, url, response.status_code)
            if who == "anonymous":
                assert response.headers["location"].startswith("/login?next=")
    row = await _mailbox("support@example.org")
    assert row["name"] == "Example Support" and row["is_active"] is True
    assert await Mailbox.count() == 1
    assert (await _status(failed), await _status(held)) == ("failed", "held")
    assert await _jobs() == []


async def test_posts_without_the_csrf_token_are_refused(office):
    failed = await _inbound("failed")
    response = await office.admin.post(f"/back/inbound/{failed}/retry", {}, csrf=False)
    assert response.status_code == 403
    response = await office.admin.post("/back/mailboxes", LISTENER, csrf=False)
    assert response.status_code == 403
    assert await _status(failed) == "failed" and await Mailbox.count() == 0


@pytest.mark.parametrize("bad", ["999999", "2147483648", "99999999999999999999999"])
async def test_ids_that_name_no_row_answer_404(office, bad):
    for url in (f"/back/mailboxes/{bad}", f"/back/inbound/{bad}", f"/back/inbound/{bad}/raw"):
        assert (await office.admin.get(url)).status_code == 404, url
    for url, form in [
        (f"/back/mailboxes/{bad}", LISTENER),
        (f"/back/mailboxes/{bad}/active", {"active": "1"}),
        (f"/back/mailboxes/{bad}/delete", {"confirm": "1"}),
        (f"/back/inbound/{bad}/retry", {}),
        (f"/back/inbound/{bad}/release", {}),
        (f"/back/inbound/{bad}/drop", {}),
    ]:
        assert (await office.admin.post(url, form)).status_code == 404, url
    for url in ("/back/mailboxes/abc", "/back/inbound/-1", "/back/inbound/1x/raw"):
        assert (await office.admin.get(url)).status_code == 404, url
    assert (await office.admin.get("/back/inbound?before=99999999999999999999")).status_code == 400
    assert (await office.admin.get("/back/inbound?status=<script>")).status_code == 200


# --- received mail ---------------------------------------------------------------------------------------------


def ids_in(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="inbound-(\d+)">', html)]


async def test_the_list_shows_what_needs_attention_newest_first_and_pages_by_id(office):
    made: dict[str, list[int]] = {"failed": [], "held": [], "done": [], "ignored": []}
    start = utcnow() - timedelta(days=1)
    for i in range(130):
        status = ("failed", "held", "done", "ignored", "held")[i % 5]
        made[status].append(await _inbound(status, received_at=start + timedelta(minutes=i), subject=f"Mail {i}"))
    attention = sorted(made["failed"] + made["held"], reverse=True)
    first = await office.admin.get("/back/inbound")
    assert first.status_code == 200
    seen = ids_in(first.text)
    assert seen == attention[:50]
    pages = 1
    while match := re.search(r'href="(/back/inbound\?status=attention&amp;before=\d+)"', first.text):
        first = await office.admin.get(match.group(1).replace("&amp;", "&"))
        seen += ids_in(first.text)
        pages += 1
    assert seen == attention and pages == 2  # 78 mails: 50 + 28, each once, newest first
    done = await office.admin.get("/back/inbound?status=done")
    assert ids_in(done.text) == sorted(made["done"], reverse=True)
    everything = await office.admin.get("/back/inbound?status=all")
    assert len(ids_in(everything.text)) == 50 and ids_in(everything.text)[0] == max(max(v) for v in made.values())
    fragment = await office.admin.get("/back/inbound?status=held", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="inbound-table">')
    assert ids_in(fragment.text) == sorted(made["held"], reverse=True)[:50]
    odd = await office.admin.get("/back/inbound?status=nonsense")
    assert ids_in(odd.text) == attention[:50]


HOSTILE = (
    b"From: =?utf-8?q?Caf=C3=A9_Owner?= <owner@example.org>\r\n"
    b"To: support@example.org\r\n"
    b"Subject: =?utf-8?b?w5xiZXIgPHNjcmlwdD4=?=\r\n"
    b"Message-ID: <abc@example.org>\r\n"
    b"X-Weird: =?bogus?x?broken?=\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<html><body><script>alert('x')</script><img src=x onerror=alert(1)>Hi</body></html>\r\n"
)


async def test_the_detail_shows_envelope_headers_and_source_as_text_only(office):
    ticket = await file_ticket("Earlier", None)
    mail = await _inbound(
        "failed", HOSTILE, error="ValueError: broken MIME", outcome="", ticket=ticket["number"], subject="Über"
    )
    page = await office.admin.get(f"/back/inbound/{mail}")
    assert page.status_code == 200
    assert "Café Owner &lt;owner@example.org&gt;" in page.text  # encoded words read, then escaped
    assert "Über &lt;script&gt;" in page.text
    assert "ValueError: broken MIME" in page.text and "support@example.org" in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert f'href="/back/tickets/{ticket["number"]}"' in page.text
    assert f'action="/back/inbound/{mail}/retry"' in page.text and f'action="/back/inbound/{mail}/drop"' in page.text
    assert f'action="/back/inbound/{mail}/release"' not in page.text
    assert f'href="/back/inbound/{mail}/raw"' in page.text


async def test_a_mail_whose_headers_are_garbage_still_opens(office):
    raw = b"\xff\xfe\x00garbage without a colon\r\n: empty name\r\nSubject: \xe9t\xe9\r\n\r\n\x00\x01body"
    mail = await _inbound("failed", raw)
    page = await office.admin.get(f"/back/inbound/{mail}")
    assert page.status_code == 200 and "body" in page.text


async def test_the_raw_download_is_the_exact_bytes_never_a_page(office):
    mail = await _inbound("failed", HOSTILE)
    response = await office.admin.get(f"/back/inbound/{mail}/raw")
    assert response.status_code == 200
    assert response.content == HOSTILE
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith(f'attachment; filename="inbound-{mail}.eml"')
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_retry_requeues_a_failed_mail_once(office):
    mail = await _inbound("failed", error="boom")
    response = await office.admin.post(f"/back/inbound/{mail}/retry", {})
    assert response.status_code == 303 and response.headers["location"] == f"/back/inbound/{mail}"
    assert await _status(mail) == "received"
    assert await _jobs(mail) == [{"inbound_id": mail}] and len(await _jobs()) == 1
    page = await office.admin.get(response.headers["location"])
    assert "The mail is queued to be read again." in page.text and "boom" not in page.text
    again = await office.admin.post(f"/back/inbound/{mail}/retry", {})
    assert again.status_code == 303
    assert (
        "This mail is received now, so it cannot be retried." in (await office.admin.get(f"/back/inbound/{mail}")).text
    )
    assert len(await _jobs()) == 1


async def test_release_lets_a_held_mail_past_the_breaker_once(office):
    mail = await _inbound("held", outcome="more than 20 mails from gwen@example.org within an hour")
    back = "/back/inbound?status=held"
    response = await office.admin.post(f"/back/inbound/{mail}/release", {"next": back})
    assert response.status_code == 303 and response.headers["location"] == back
    assert await _status(mail) == "released"
    assert await _jobs() == [{"inbound_id": mail}]
    assert "The mail is released" in (await office.admin.get(back)).text
    assert (await office.admin.post(f"/back/inbound/{mail}/release", {})).status_code == 303
    assert await _jobs() == [{"inbound_id": mail}]


async def test_drop_ends_failed_or_held_mail_without_a_job(office):
    failed, held, done = await _inbound("failed"), await _inbound("held"), await _inbound("done")
    for mail in (failed, held):
        response = await office.admin.post(f"/back/inbound/{mail}/drop", {"next": "https://evil.example/"})
        assert response.status_code == 303 and response.headers["location"] == f"/back/inbound/{mail}"
        assert await _status(mail) == "dropped"
    assert (await office.admin.post(f"/back/inbound/{done}/drop", {})).status_code == 303
    assert await _status(done) == "done"
    assert "cannot be dropped" in (await office.admin.get(f"/back/inbound/{done}")).text
    assert (await office.admin.post(f"/back/inbound/{held}/release", {})).status_code == 303
    assert await _status(held) == "dropped"
    assert await _jobs() == []
    listing = await office.admin.get("/back/inbound")
    assert ids_in(listing.text) == []


async def test_the_back_office_nav_links_the_pages_for_admins_only(office):
    admin_page = await office.admin.get("/back")
    assert 'href="/back/mailboxes"' in admin_page.text and 'href="/back/inbound"' in admin_page.text
    agent_page = await office.agent.get("/back")
    assert 'href="/back/mailboxes"' not in agent_page.text and 'href="/back/inbound"' not in agent_page.text


async def test_an_htmx_drop_from_the_list_reloads_the_list(office):
    held = await _inbound("held")
    here = "http://testserver/back/inbound?status=held"
    response = await office.admin.post(
        f"/back/inbound/{held}/drop",
        {"next": "/back/inbound?status=held"},
        headers={"HX-Request": "true", "HX-Current-URL": here},
    )
    assert response.status_code == 200 and response.headers["hx-refresh"] == "true"
    assert await _status(held) == "dropped"
