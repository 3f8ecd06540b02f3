"""The customer help desk: file, follow, reply, solve, reopen, rate, download — signed in or by link."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from portal.accounts.rules import Actor
from portal.clock import utcnow
from portal.db import write_transaction
from portal.jobs.worker import drain
from portal.tickets import access, messages, rules, search, write
from portal.tickets.tables import Attachment, Category, Message, Ticket, TicketEvent, TicketToken
from tests.conftest import link_in
from tests.factories import user_row

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
async def category(app):
    rows = await Category.insert(Category(name="Technical problem", position=1)).run()
    return rows[0]["id"]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_inert(page: str) -> None:
    """Structurally: no script but our own files, no event handlers, no script URLs, no svg/iframe."""
    parser = _Tags()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag not in ("iframe", "svg", "object", "embed", "form") or (
            tag == "form" and attrs.get("action", "").startswith(("/", "http://testserver"))
        ), tag
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith(("javascript:", "vbscript:", "data:text")), (tag, value)


async def test_my_tickets_search_reads_only_my_messages(browser, make_browser, make_user, category):
    """A word in a message body finds the customer's own ticket, never another customer's (the search
    reads only the requester's messages)."""
    await make_user("ann@example.org")
    await make_user("bob@example.org")
    bob = await make_browser()
    await bob.login("bob@example.org")
    await post_ticket(bob, {"subject": "Bob's printer", "body": "The toner smudges.", "category": str(category)})
    await browser.login("ann@example.org")
    await post_ticket(browser, {"subject": "Ann's printer", "body": "The toner leaks.", "category": str(category)})
    await post_ticket(browser, {"subject": "Ann's invoice", "body": "Wrong amount.", "category": str(category)})
    found = (await browser.get("/tickets?q=toner")).text
    assert "Ann&#39;s printer" in found and "Ann&#39;s invoice" not in found and "Bob" not in found
    assert "Bob" not in (await browser.get("/tickets?q=smudges")).text


def guest_form(category_id: int, **overrides) -> dict:
    return {
        "name": "Gwen Guest",
        "email": "Gwen@Example.org",
        "subject": "Printer on fire",
        "body": "It **burns**.\n\n- smoke\n- flames",
        "category": str(category_id),
        "website": "",
        **overrides,
    }


async def post_ticket(browser, form: dict, files: list | None = None):
    await browser.get("/tickets/new")
    data = {**form, "_csrf_token": browser.cookies.get("csrftoken")}
    return await browser.client.post("/tickets/new", data=data, files=files or [])


async def staff(make_user) -> access.TicketAccess:
    """Ben Agent's console scope, built as the console's controllers build it."""
    agent_id = await make_user("agent@example.org", "agent", name="Ben Agent")
    return await access.for_actor(Actor(id=agent_id, email="agent@example.org", name="Ben Agent", role="agent"))


async def set_status(agent: access.TicketAccess, number: int, status: str) -> None:
    """The console's status change (what the ticket page's fields form does)."""
    assert await write.change(agent, number, write.Change(status=status)) == ["status"]


async def status_events(ticket_id: int) -> list[tuple[str, str, str]]:
    rows = await TicketEvent.select().where((TicketEvent.ticket == ticket_id) & (TicketEvent.field == "status")).run()
    return [(r["actor_name"], r["old_value"], r["new_value"]) for r in sorted(rows, key=lambda r: r["id"])]


async def test_guest_files_a_ticket_and_follows_it_by_link(browser, make_browser, category, outbox):
    response = await post_ticket(browser, guest_form(category), files=[("files", ("shot.png", PNG, "image/png"))])
    assert response.status_code == 201, response.text
    ticket = await Ticket.select().first()
    assert f"#{ticket['number']}" in response.text
    assert "/t/" not in response.text and "We sent you a link to follow your ticket" in response.text
    assert ticket["requester"] is None and ticket["requester_email"] == "gwen@example.org"
    assert ticket["status"] == "new" and ticket["subject"] == "Printer on fire"

    mail = (await outbox("gwen@example.org"))[-1]
    assert mail["subject"] == f"[#{ticket['number']}] We received your request: Printer on fire"
    link = link_in(mail["body_text"], "/t/")
    assert await TicketToken.select(TicketToken.token_hash).first() != link  # only the hash is stored

    visitor = await make_browser()  # a different browser: the link alone opens the ticket
    page = await visitor.get(link)
    assert page.status_code == 200
    assert "Printer on fire" in page.text and "<strong>burns</strong>" in page.text and "<li>smoke</li>" in page.text
    attachment = await Attachment.select().first()
    assert f"{link}/attachments/{attachment['id']}" in page.text
    download = await visitor.get(f"{link}/attachments/{attachment['id']}")
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"].startswith("image/png")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]

    reply = await visitor.post(f"{link}/reply", {"body": "Now the **scanner** too."})
    assert reply.status_code == 303
    thread = await visitor.get(link)
    assert "<strong>scanner</strong>" in thread.text and "Your reply was added" in thread.text


async def test_signed_in_customer_files_and_sees_my_tickets(browser, make_user, category, outbox):
    await make_user("ann@example.org", name="Ann Lee")
    await browser.login("ann@example.org")
    response = await post_ticket(
        browser, {"subject": "Invoice question", "body": "Where is it?", "category": str(category)}
    )
    assert response.status_code == 201
    ticket = await Ticket.select().first()
    assert ticket["requester"] is not None and ticket["requester_name"] == "Ann Lee"
    mail = (await outbox("ann@example.org"))[-1]
    assert f"http://testserver/tickets/{ticket['number']}" in mail["body_text"]
    assert "/t/" not in mail["body_text"]  # account holders log in; no guest link is minted for them

    listing = await browser.get("/tickets")
    assert "Invoice question" in listing.text and "Received" in listing.text
    page = await browser.get(f"/tickets/{ticket['number']}")
    assert page.status_code == 200 and "Where is it?" in page.text


async def test_new_ticket_refuses_bad_input_and_writes_nothing(browser, category):
    cases = [
        (guest_form(category, subject=""), "Enter a subject"),
        (guest_form(category, body="   "), "Enter a description"),
        (guest_form(category, subject="x" * 201), "at most 200"),
        (guest_form(category, body="x" * 20001), "at most 20,000"),
        (guest_form(category, email="nope"), "Enter an email address like"),
        (guest_form(category, name=""), "Enter your name"),
        (guest_form(category, category="999"), "Choose what your request is about"),
        (guest_form(category, category="abc"), "Choose what your request is about"),
        (guest_form(category, website="http://spam.example"), "could not be sent"),
    ]
    for form, message in cases:
        response = await post_ticket(browser, form)
        assert response.status_code == 422, (form, response.status_code)
        assert message in response.text, (message, response.text[:3000])
    assert await Ticket.count() == 0 and await Message.count() == 0


async def test_uploads_are_checked(browser, category):
    empty = await post_ticket(browser, guest_form(category), files=[("files", ("empty.txt", b"", "text/plain"))])
    assert empty.status_code == 422 and "empty" in empty.text
    too_many = await post_ticket(
        browser, guest_form(category), files=[("files", (f"f{i}.txt", b"hello", "text/plain")) for i in range(6)]
    )
    assert too_many.status_code == 422 and "at most 5 files" in too_many.text
    assert await Ticket.count() == 0


async def test_oversized_upload_is_refused(app, settings, browser, category):
    from portal.settings import use_settings

    use_settings(settings.with_(upload_max_bytes=1000))
    response = await post_ticket(browser, guest_form(category), files=[("files", ("big.bin", b"x" * 2000, "x/y"))])
    assert response.status_code == 422 and "MB" in response.text
    assert await Ticket.count() == 0


async def test_hostile_content_is_stored_inert(browser, make_browser, category, outbox):
    form = guest_form(
        category,
        subject='<script>alert("s")</script>',
        name="<img src=x onerror=alert(1)>",
        body="[click](javascript:alert(1)) <script>alert(2)</script> <b onmouseover=alert(3)>x</b>",
    )
    response = await post_ticket(
        browser,
        form,
        files=[("files", ('"><svg onload=alert(4)>.html', b"<html><script>alert(5)</script>", "text/html"))],
    )
    assert response.status_code == 201
    link = link_in((await outbox("gwen@example.org"))[-1]["body_text"], "/t/")
    page = (await browser.get(link)).text
    assert_inert(page)
    assert "&lt;script&gt;alert(&#34;s&#34;)&lt;/script&gt;" in page  # shown as text, not run
    attachment = await Attachment.select().first()
    download = await browser.get(f"{link}/attachments/{attachment['id']}")
    assert download.headers["content-disposition"].startswith("attachment")
    assert "text/html" not in download.headers["content-type"]
    assert "<svg" not in download.headers["content-disposition"]


async def test_other_peoples_tickets_answer_404(browser, make_browser, make_user, category, outbox):
    await make_user("ann@example.org")
    await make_user("bob@example.org")
    ann = await make_browser()
    await ann.login("ann@example.org")
    await post_ticket(
        ann,
        {"subject": "Ann's secret", "body": "private", "category": str(category)},
        files=[("files", ("a.txt", b"secret", "text/plain"))],
    )
    ticket = await Ticket.select().first()
    attachment = await Attachment.select().first()
    await browser.login("bob@example.org")
    base = f"/tickets/{ticket['number']}"
    for method, url, form in [
        ("get", base, None),
        ("get", f"{base}/thread", None),
        ("get", f"{base}/attachments/{attachment['id']}", None),
        ("get", f"{base}/rate?r=good", None),
        ("post", f"{base}/reply", {"body": "hi"}),
        ("post", f"{base}/solve", {}),
        ("post", f"{base}/reopen", {}),
        ("post", f"{base}/rating", {"rating": "bad"}),
        ("get", "/tickets/99999", None),
    ]:
        response = await (browser.get(url) if method == "get" else browser.post(url, form))
        assert response.status_code == 404, (method, url, response.status_code)
        assert "Ann's secret" not in response.text and "private" not in response.text
    assert "Ann's secret" not in (await browser.get("/tickets")).text
    assert "Ann&#39;s secret" not in (await browser.get("/tickets?q=secret")).text
    # Guessed and foreign guest links are refused too.
    for url in ("/t/guessed-token", "/t/" + "x" * 200, f"/t/guessed/attachments/{attachment['id']}"):
        assert (await browser.get(url)).status_code == 404
    assert await Message.count() == 1 and (await Ticket.select().first())["status"] == "new"


async def test_attachment_of_another_ticket_is_not_served_through_my_link(browser, category, outbox):
    await post_ticket(browser, guest_form(category), files=[("files", ("mine.txt", b"mine", "text/plain"))])
    await post_ticket(
        browser,
        guest_form(category, email="other@example.org", subject="Other"),
        files=[("files", ("theirs.txt", b"theirs", "text/plain"))],
    )
    mine = link_in((await outbox("gwen@example.org"))[-1]["body_text"], "/t/")
    theirs = (await Attachment.select().where(Attachment.filename == "theirs.txt").first())["id"]
    assert (await browser.get(f"{mine}/attachments/{theirs}")).status_code == 404


async def test_internal_notes_never_reach_the_customer(browser, make_user, category, outbox):
    await post_ticket(browser, guest_form(category))
    ticket = await Ticket.select().first()
    agent = await staff(make_user)
    await write.reply(
        agent,
        ticket["number"],
        "INTERNAL: customer is a VIP",
        [messages.Upload("note.txt", b"internal file")],
        internal=True,
    )
    assert (await Message.select().where(Message.kind == "internal").first())["author_is_staff"]
    assert await search.matching_ids("VIP") == [ticket["id"]]  # staff search finds the note
    assert (await Ticket.select().first())["status"] == "new"  # a note answers nobody
    link = link_in((await outbox("gwen@example.org"))[-1]["body_text"], "/t/")
    page = await browser.get(link)
    assert "INTERNAL" not in page.text and "note.txt" not in page.text
    internal_file = (await Attachment.select().where(Attachment.filename == "note.txt").first())["id"]
    assert (await browser.get(f"{link}/attachments/{internal_file}")).status_code == 404
    assert all("INTERNAL" not in m["body_text"] for m in await outbox("gwen@example.org"))


async def test_agent_reply_mail_unread_marker_and_poll(browser, make_user, category, outbox):
    await make_user("ann@example.org")
    await browser.login("ann@example.org")
    await post_ticket(browser, {"subject": "Help", "body": "please", "category": str(category)})
    ticket = await Ticket.select().first()
    page = await browser.get(f"/tickets/{ticket['number']}")
    version = re.search(r"thread\?v=([\w-]+)", page.text).group(1)
    assert (
        await browser.get(f"/tickets/{ticket['number']}/thread?v={version}", headers={"HX-Request": "true"})
    ).status_code == 204

    agent = await staff(make_user)
    await write.reply(agent, ticket["number"], "Try turning it **off and on**.", [], internal=False)
    assert await status_events(ticket["id"]) == [("Ben Agent", "New", "Open")]
    mail = (await outbox("ann@example.org"))[-1]
    assert mail["subject"] == f"[#{ticket['number']}] New reply: Help"
    assert "Ben Agent replied" in mail["body_text"] and "off and on" in mail["body_text"]
    assert "New reply" in (await browser.get("/tickets")).text  # unread marker

    # The status moved (new → open): the whole page reloads to show the new state and actions.
    moved = await browser.get(f"/tickets/{ticket['number']}/thread?v={version}", headers={"HX-Request": "true"})
    assert moved.headers["hx-refresh"] == "true"
    assert "New reply" not in (await browser.get("/tickets")).text  # seen now
    page = await browser.get(f"/tickets/{ticket['number']}")
    version = re.search(r"thread\?v=([\w-]+)", page.text).group(1)
    await write.reply(agent, ticket["number"], "Or *unplug* it.", [], internal=False)
    fresh = await browser.get(f"/tickets/{ticket['number']}/thread?v={version}", headers={"HX-Request": "true"})
    assert fresh.status_code == 200 and "<em>unplug</em>" in fresh.text and "<html" not in fresh.text
    row = await Ticket.select().first()
    assert row["status"] == "open" and row["first_response_at"] is not None
    assert await search.matching_ids("unplug") == [ticket["id"]]
    assert len(await status_events(ticket["id"])) == 1  # a reply on an open ticket changes no status


async def test_solve_rate_reopen_and_close(browser, make_user, category, outbox):
    await make_user("ann@example.org")
    await browser.login("ann@example.org")
    await post_ticket(browser, {"subject": "Help", "body": "please", "category": str(category)})
    ticket = await Ticket.select().first()
    base = f"/tickets/{ticket['number']}"
    assert (await browser.post(f"{base}/rating", {"rating": "good"})).status_code == 422  # not solved yet

    agent = await staff(make_user)
    await set_status(agent, ticket["number"], "solved")
    assert await status_events(ticket["id"]) == [("Ben Agent", "New", "Solved")]
    mail = (await outbox("ann@example.org"))[-1]
    assert "How did we do?" in mail["body_text"] and f"{base}/rate?r=good" in mail["body_text"]

    # Opening the mailed link (a mail scanner does it too) only pre-selects the choice: nothing is saved.
    rate_page = await browser.get(f"{base}/rate?r=bad")
    assert 'value="bad" checked' in rate_page.text and "Confirm my rating" in rate_page.text
    assert 'hx-trigger="load' not in rate_page.text
    assert (await Ticket.select().first())["csat_rating"] is None
    assert (await browser.post(f"{base}/rating", {"rating": "bad", "comment": "slow"})).status_code == 303
    assert (await browser.post(f"{base}/rating", {"rating": "good", "comment": "fixed after all"})).status_code == 303
    row = await Ticket.select().first()
    assert (row["csat_rating"], row["csat_comment"]) == ("good", "fixed after all")
    assert (await browser.post(f"{base}/rating", {"rating": "meh"})).status_code == 422
    assert (await browser.post(f"{base}/rating", {"rating": "good", "comment": "x" * 2001})).status_code == 422

    assert (await browser.post(f"{base}/reopen")).status_code == 303
    assert (await Ticket.select().first())["status"] == "open"
    assert (await browser.post(f"{base}/solve")).status_code == 303
    assert (await Ticket.select().first())["status"] == "solved"

    # 14 days after solving, the ticket closes: no reopen, no reply, rating frozen.
    async with write_transaction():
        await Ticket.update({Ticket.solved_at: utcnow() - timedelta(days=15)}).where(Ticket.id == ticket["id"]).run()
    assert (await browser.post(f"{base}/reopen")).status_code == 422
    assert await write.close_solved_tickets() == 1
    page = await browser.get(base)
    assert "open a new ticket" in page.text and "Reply" not in page.text.split("This ticket is closed")[0][-200:]
    refused = await browser.post(f"{base}/reply", {"body": "one more thing"})
    assert refused.status_code == 422 and "closed" in refused.text
    assert (await browser.post(f"{base}/rating", {"rating": "bad"})).status_code == 422
    assert (await Ticket.select().first())["csat_rating"] == "good"


async def test_customer_reply_moves_pending_back_to_open(browser, make_user, category):
    await make_user("ann@example.org")
    await browser.login("ann@example.org")
    await post_ticket(browser, {"subject": "Help", "body": "please", "category": str(category)})
    ticket = await Ticket.select().first()
    await set_status(await staff(make_user), ticket["number"], "pending")
    assert "Awaiting your reply" in (await browser.get(f"/tickets/{ticket['number']}")).text
    await browser.post(f"/tickets/{ticket['number']}/reply", {"body": "here is the info"})
    assert (await Ticket.select().first())["status"] == "open"


async def test_the_channel_is_recorded_on_the_ticket_and_each_message(browser, make_user, category):
    await make_user("ann@example.org")
    await browser.login("ann@example.org")
    await post_ticket(browser, {"subject": "Help", "body": "please", "category": str(category)})
    await post_ticket(browser, {"subject": "Help again", "body": "same thing", "category": str(category)})
    first, second = await Ticket.select().order_by(Ticket.id).run()
    agent = await staff(make_user)
    await write.reply(agent, first["number"], "Restart it.", [], internal=False)
    await write.reply(agent, first["number"], "She called: it works.", [], internal=True, via=rules.Channel.phone)
    assert (await browser.post(f"/tickets/{first['number']}/solve")).status_code == 303
    await write.merge(agent, second["number"], str(first["number"]))

    assert {t["via"] for t in await Ticket.select(Ticket.via).run()} == {"web"}
    messages = await Message.select(Message.body_source, Message.kind, Message.via).order_by(Message.id).run()
    by_body = {m["body_source"]: m["via"] for m in messages}
    assert by_body["please"] == by_body["Restart it."] == "web"
    assert by_body["She called: it works."] == "phone"
    system = [m for m in messages if m["kind"] == "system"]
    assert len(system) == 3 and {m["via"] for m in system} == {"system"}  # solved by the customer, merged (twice)


async def test_guest_ticket_joins_the_account_once_its_mailed_link_is_used(browser, make_browser, category, outbox):
    await post_ticket(browser, guest_form(category))
    ticket = await Ticket.select().first()
    signup = await make_browser()
    await signup.post("/signup", {"name": "Gwen", "email": "gwen@example.org", "password": "purple otter canoe"})
    verify = link_in((await outbox("gwen@example.org"))[-1]["body_text"], "/verify/")
    await signup.get(verify)
    await signup.login("gwen@example.org", "purple otter canoe")
    # The account's address is proven, the ticket's is not (anyone can type an address): no join yet.
    assert (await Ticket.select().first())["requester"] is None
    assert "Printer on fire" not in (await signup.get("/tickets")).text

    link = link_in((await outbox("gwen@example.org"))[0]["body_text"], "/t/")
    assert (await browser.get(link)).status_code == 200
    row = await Ticket.select().first()
    assert row["requester_email_proven_at"] is not None
    assert row["requester"] == (await user_row("gwen@example.org"))["id"]
    assert "Printer on fire" in (await signup.get("/tickets")).text
    assert (await signup.get(f"/tickets/{ticket['number']}")).status_code == 200


async def test_verified_sign_up_claims_only_guest_tickets_whose_link_was_used(browser, category, outbox, make_browser):
    await post_ticket(browser, guest_form(category, subject="Proven one"))
    await post_ticket(browser, guest_form(category, subject="Typed by a stranger"))
    proven_link = link_in((await outbox("gwen@example.org"))[0]["body_text"], "/t/")
    assert (await browser.get(proven_link)).status_code == 200  # no account yet: nothing to join

    signup = await make_browser()
    await signup.post("/signup", {"name": "Gwen", "email": "gwen@example.org", "password": "purple otter canoe"})
    await signup.get(link_in((await outbox("gwen@example.org"))[-1]["body_text"], "/verify/"))
    await signup.login("gwen@example.org", "purple otter canoe")
    mine = (await signup.get("/tickets")).text
    assert "Proven one" in mine and "Typed by a stranger" not in mine


async def test_strangers_guest_ticket_with_a_customers_address_stays_out_of_their_account(
    browser, make_browser, make_user, category, outbox
):
    await make_user("ann@example.org", name="Ann Lee")
    stranger = await make_browser()
    response = await post_ticket(stranger, guest_form(category, email="ann@example.org", subject="Stranger's"))
    assert response.status_code == 201
    assert "/t/" not in response.text  # the private link goes only to Ann's mailbox
    assert (await Ticket.select().first())["requester"] is None
    await browser.login("ann@example.org")
    assert "Stranger's" not in (await browser.get("/tickets")).text
    ticket = await Ticket.select().first()
    assert (await browser.get(f"/tickets/{ticket['number']}")).status_code == 404


async def test_find_my_ticket_resends_a_link_without_revealing_anything(browser, category, outbox):
    await post_ticket(browser, guest_form(category))
    ticket = await Ticket.select().first()
    right = await browser.post("/tickets/find", {"number": f"#{ticket['number']}", "email": "GWEN@example.org"})
    wrong = await browser.post("/tickets/find", {"number": str(ticket["number"]), "email": "eve@example.org"})
    assert right.status_code == wrong.status_code == 200
    assert right.text.replace("GWEN@example.org", "x").replace("gwen@example.org", "x") == wrong.text.replace(
        "eve@example.org", "x"
    )
    await drain()  # the request only queued the work
    mails = await outbox("gwen@example.org")
    assert len(mails) == 2 and "Your link" in mails[-1]["subject"]
    assert await outbox("eve@example.org") == []
    new_link = link_in(mails[-1]["body_text"], "/t/")
    assert (await browser.get(new_link)).status_code == 200
    bad = await browser.post("/tickets/find", {"number": "abc", "email": "gwen@example.org"})
    assert bad.status_code == 422 and "ticket number" in bad.text


async def test_guest_link_expires_after_30_idle_days(browser, category, outbox):
    await post_ticket(browser, guest_form(category))
    link = link_in((await outbox("gwen@example.org"))[-1]["body_text"], "/t/")
    assert (await browser.get(link)).status_code == 200
    async with write_transaction():
        await TicketToken.update({TicketToken.expires_at: utcnow() - timedelta(seconds=1)}, force=True).run()
    expired = await browser.get(link)
    assert expired.status_code == 404 and "Find my ticket" in expired.text


async def test_guest_submissions_are_rate_limited(browser, category):
    for i in range(5):
        assert (await post_ticket(browser, guest_form(category, subject=f"n{i}"))).status_code == 201
    response = await post_ticket(browser, guest_form(category, subject="one more"))
    assert response.status_code == 429 and "Try again in" in response.text
    assert await Ticket.count() == 5


async def test_my_tickets_filters_search_and_pages(browser, make_user, category):
    user_id = await make_user("ann@example.org")
    actor = Actor(id=user_id, email="ann@example.org", name="Ann", role="customer")
    from litestar.stores.memory import MemoryStore

    from portal.throttle import Throttle

    for i in range(30):
        await write.open_ticket(
            actor,
            write.NewTicket(subject=f"Topic {i:02d}", body=f"body {i}", category=str(category)),
            ip="1.1.1.1",
            throttle=Throttle(MemoryStore()),
        )
    await browser.login("ann@example.org")
    first = await browser.get("/tickets")
    assert first.text.count('class="badge badge-info"') == 25 and "Topic 29" in first.text
    cursor = re.search(r"cursor=([^\"&]+)", first.text).group(1)
    second = await browser.get(f"/tickets?cursor={cursor}")
    assert "Topic 04" in second.text and "Topic 05" not in second.text and "Older tickets" not in second.text
    found = await browser.get("/tickets?q=topic 07")
    assert "Topic 07" in found.text and "Topic 08" not in found.text
    by_body = await browser.get("/tickets?q=body 12")
    assert "Topic 12" in by_body.text and "Topic 13" not in by_body.text
    assert "You have no tickets" not in first.text
    assert "No tickets match" in (await browser.get("/tickets?status=solved")).text
    assert (await browser.get("/tickets?cursor=garbage")).status_code == 422


async def test_markdown_preview(browser):
    response = await browser.post(
        "/tickets/preview", {"body": "**hi** <script>x</script>"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and "<strong>hi</strong>" in response.text and "<script>" not in response.text
    # Inside the upload form htmx sends the editor's text as multipart.
    multipart = await browser.client.post(
        "/tickets/preview",
        files={"body": (None, "*yes*")},
        headers={"HX-Request": "true", "X-CSRFToken": browser.cookies.get("csrftoken")},
    )
    assert multipart.status_code == 200 and "<em>yes</em>" in multipart.text


async def test_ticket_forms_refuse_missing_csrf_and_write_nothing(browser, category, outbox):
    await post_ticket(browser, guest_form(category))
    link = link_in((await outbox("gwen@example.org"))[-1]["body_text"], "/t/")
    browser.cookies.delete("csrftoken")
    forged = await browser.client.post("/tickets/new", data=guest_form(category, subject="forged"))
    assert forged.status_code == 403
    for url, form in (
        (f"{link}/reply", {"body": "forged"}),
        (f"{link}/solve", {}),
        (f"{link}/rating", {"rating": "bad"}),
    ):
        assert (await browser.client.post(url, data=form)).status_code == 403
    assert await Ticket.count() == 1 and await Message.count() == 1
    assert (await Ticket.select().first())["status"] == "new"


async def test_htmx_reply_refreshes_the_page_it_came_from(browser, category, outbox):
    await post_ticket(browser, guest_form(category))
    link = link_in((await outbox("gwen@example.org"))[-1]["body_text"], "/t/")
    headers = {
        "HX-Request": "true",
        "HX-Current-URL": f"http://testserver{link}#reply",
        "X-CSRFToken": browser.cookies.get("csrftoken"),
    }
    response = await browser.client.post(f"{link}/reply", files={"body": (None, "more")}, headers=headers)
    assert response.status_code == 200, (response.status_code, response.text[:300])
    assert response.headers["hx-refresh"] == "true" and "hx-redirect" not in response.headers
    elsewhere = await browser.client.post(
        f"{link}/reply",
        files={"body": (None, "again")},
        headers={**headers, "HX-Current-URL": "http://testserver/other"},
    )
    assert elsewhere.headers["hx-redirect"] == f"{link}#thread-end"
