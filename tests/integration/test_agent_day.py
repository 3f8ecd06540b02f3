"""The agent's day (issue 15): the home's numbers, tickets created for someone who phoned, unread
markers, the queue's heading and skip link, macros and merging by picking — through the app, on
SQLite and PostgreSQL."""

from __future__ import annotations

import re

from portal.db import count_queries, fetch
from portal.tickets import access, write
from portal.tickets.tables import Ticket
from tests.integration.test_console import _appointment_for, agent, desk, file_ticket, numbers_in  # noqa: F401


def unread_numbers(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'id="row-(\d+)" class="[^"]*\bunread\b', html)}


async def test_home_shows_my_numbers_with_links_and_my_appointments(desk, make_browser):
    mine = await file_ticket("Printer jam", desk.tech)
    waiting = await file_ticket("Need a photo", desk.tech)
    await file_ticket("Someone else's", desk.tech)
    await _appointment_for("gwen@example.org", desk.ben)
    ben = await agent(make_browser, "ben@example.org")
    for t in (mine, waiting):
        assert (await ben.post(f"/back/tickets/{t['number']}/take")).status_code == 303
    assert (await ben.post(f"/back/tickets/{waiting['number']}/fields", {"status": "pending"})).status_code == 303
    home = await ben.get("/back")
    assert home.status_code == 200
    text = home.text
    assert re.search(r'id="home-mine">\s*<span class="kpi-value">2<', text)
    assert re.search(r'id="home-waiting">\s*<span class="kpi-value">1<', text)
    assert re.search(r'id="home-overdue">\s*<span class="kpi-value">0<', text)
    # Each number links to the queue that lists exactly what it counted.
    link = re.search(r'href="(/back/tickets\?view=mine&amp;status=pending)" id="home-waiting"', text)
    assert link
    queue = await ben.get(link.group(1).replace("&amp;", "&"))
    assert numbers_in(queue.text) == [waiting["number"]]
    assert "Tax advice" in text and "with Gwen" in text  # his next appointment
    assert 'id="desk-open"' not in text  # the desk's numbers are for admins
    ada = await agent(make_browser, "ada@example.org")
    admin_home = await ada.get("/back")
    assert re.search(r'id="desk-open">\s*<span class="kpi-value">3<', admin_home.text)
    assert re.search(r'id="desk-unassigned">\s*<span class="kpi-value">1<', admin_home.text)
    assert "No appointments coming up." in admin_home.text


async def test_create_a_ticket_for_a_customer_who_phoned(desk, make_browser, outbox):
    ben = await agent(make_browser, "ben@example.org")
    form = await ben.get("/back/tickets/new")
    assert form.status_code == 200 and "Phone" in form.text
    response = await ben.post(
        "/back/tickets/new",
        {
            "via": "phone",
            "email": "ANN@example.org",
            "name": "",
            "subject": "Called about her invoice",
            "body": "She says the total is wrong.",
            "category": str(desk.money),
        },
    )
    assert response.status_code == 303
    ticket = (await fetch("SELECT * FROM ticket WHERE subject = {}", "Called about her invoice"))[0]
    assert ticket["requester"] == desk.ann and ticket["requester_name"] == "Ann Customer"
    assert ticket["via"] == "phone" and ticket["team"] == desk.billing
    events = await fetch("SELECT field, new_value, actor_name, via FROM ticket_event WHERE ticket = {}", ticket["id"])
    assert {
        "field": "created",
        "new_value": "for Ann Customer via phone",
        "actor_name": "Ben Agent",
        "via": "phone",
    } in events
    first = await fetch("SELECT author_name, author_is_staff, kind, via FROM message WHERE ticket = {}", ticket["id"])
    assert first == [{"author_name": "Ann Customer", "author_is_staff": False, "kind": "public", "via": "phone"}]
    assert not await outbox("ann@example.org")  # the link is mailed only when the agent chooses
    ann = await agent(make_browser, "ann@example.org")
    assert "Called about her invoice" in (await ann.get("/tickets")).text


async def test_create_for_a_new_contact_and_mail_them_the_link(desk, make_browser, outbox):
    ben = await agent(make_browser, "ben@example.org")
    nina = {"email": "nina@example.org", "subject": "Walked in", "body": "Asked about opening hours."}
    missing = await ben.post("/back/tickets/new", {**nina, "via": "email"})
    assert missing.status_code == 422 and 'id="f-name-error"' in missing.text  # a new contact needs a name
    bad_channel = await ben.post("/back/tickets/new", {**nina, "via": "system", "name": "Nina New"})
    assert bad_channel.status_code == 422 and "Choose how they got in touch." in bad_channel.text
    created = await ben.post("/back/tickets/new", {**nina, "via": "other", "name": "Nina New", "send_link": "1"})
    assert created.status_code == 303
    ticket = (await fetch("SELECT number, requester, requester_name, via FROM ticket WHERE subject = {}", "Walked in"))[
        0
    ]
    assert ticket["requester"] is None and ticket["requester_name"] == "Nina New" and ticket["via"] == "other"
    assert created.headers["location"] == f"/back/tickets/{ticket['number']}"
    mails = await outbox("nina@example.org")
    assert [m["template"] for m in mails] == ["ticket_received"]
    assert "/t/" in mails[0]["body_text"]  # the private link


async def test_only_staff_create_tickets_for_others(desk, make_browser):
    ann = await agent(make_browser, "ann@example.org")
    form = {"via": "phone", "email": "x@example.org", "name": "X", "subject": "S", "body": "B"}
    assert (await ann.get("/back/tickets/new")).status_code in (403, 404)
    assert (await ann.post("/back/tickets/new", form)).status_code in (403, 404)
    stranger = await make_browser()
    assert (await stranger.get("/back/tickets/new")).status_code in (303, 401)
    assert not await fetch("SELECT id FROM ticket")


async def test_unread_marker_follows_customer_replies_and_opening(desk, make_browser):
    t = await file_ticket("Cannot log in", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    chloe = await agent(make_browser, "chloe@example.org")
    queue = await ben.get("/back/tickets?view=open")
    assert unread_numbers(queue.text) == {t["number"]} and ">Unread<" in queue.text
    assert (await ben.get(f"/back/tickets/{t['number']}")).status_code == 200  # opening marks it seen
    assert unread_numbers((await ben.get("/back/tickets?view=open")).text) == set()
    assert unread_numbers((await chloe.get("/back/tickets?view=open")).text) == {t["number"]}  # per agent
    await write.reply(await access.for_actor(await _ben(desk)), t["number"], "Try again?", [])  # staff: still read
    assert unread_numbers((await ben.get("/back/tickets?view=open")).text) == set()
    guest = access.for_guest(t["id"])
    await write.reply(guest, None, "Still broken.", [])
    queue = await ben.get("/back/tickets?view=open")
    assert unread_numbers(queue.text) == {t["number"]} and ">New reply<" in queue.text
    with count_queries() as queries:  # search results carry the marker too, within the budget
        found = await ben.get("/back/tickets?q=broken")
    assert unread_numbers(found.text) == {t["number"]} and queries[0] <= 10


async def _ben(desk):
    from portal.accounts.rules import Actor

    return Actor(id=desk.ben, email="ben@example.org", name="Ben Agent", role="agent")


async def test_queue_page_has_a_heading_a_skip_link_and_new_ticket(desk, make_browser):
    await file_ticket("Printer jam", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    page = await ben.get("/back/tickets?view=mine")
    assert "<h1>Tickets: Mine</h1>" in page.text
    page = await ben.get("/back/tickets?view=open")
    assert "<h1>Tickets: All open</h1>" in page.text
    assert 'href="#bulk-actions"' in page.text and 'id="bulk-actions"' in page.text
    assert 'href="/back/tickets/new"' in page.text
    assert "<title>Tickets: All open" in page.text


async def test_a_macro_sets_fields_and_tags_in_one_go(desk, make_browser):
    t = await file_ticket("Refund please", desk.tech, body="Charged twice.")
    ada = await agent(make_browser, "ada@example.org")
    bad = await ada.post(
        "/back/canned/", {"title": "Refund", "body": "Hi {{name}}", "shared": "1", "set_status": "bogus"}
    )
    assert bad.status_code == 422 and "Choose a status from the list." in bad.text
    saved = await ada.post(
        "/back/canned/",
        {
            "title": "Refund",
            "body": "Hello {{customer_name}}, we refund you.",
            "shared": "1",
            "set_status": "pending",
            "set_priority": "high",
            "set_team": str(desk.billing),
            "set_tags": "refund, billing",
        },
    )
    assert saved.status_code == 303
    listing = await ada.get("/back/canned/")
    assert "Macro: sets" in listing.text
    reply_id = (await fetch("SELECT id FROM canned_reply WHERE title = {}", "Refund"))[0]["id"]
    ben = await agent(make_browser, "ben@example.org")
    page = await ben.get(f"/back/tickets/{t['number']}")
    assert 'id="macro-choice"' in page.text
    applied = await ben.post(f"/back/tickets/{t['number']}/macro", {"reply": str(reply_id)})
    assert applied.status_code == 303
    assert applied.headers["location"] == f"/back/tickets/{t['number']}?canned={reply_id}#reply"
    row = await Ticket.select(Ticket.status, Ticket.priority, Ticket.team).where(Ticket.id == t["id"]).first()
    assert row == {"status": "pending", "priority": "high", "team": desk.billing}
    events = await fetch("SELECT field, new_value, actor_name FROM ticket_event WHERE ticket = {} ORDER BY id", t["id"])
    assert {e["field"] for e in events} >= {"status", "priority", "team", "tags"}
    assert {"field": "tags", "new_value": "+refund, +billing", "actor_name": "Ben Agent"} in events
    # The ticket went to Billing: Ada (admin) sees the editor with the text filled in.
    editor = await ada.get(f"/back/tickets/{t['number']}?canned={reply_id}")
    assert "Hello Gwen Guest, we refund you." in editor.text
    assert not await fetch("SELECT id FROM message WHERE ticket = {} AND author_is_staff = {}", t["id"], True)


async def test_merge_by_picking_an_open_ticket_or_searching(desk, make_browser, outbox):
    first = await file_ticket("Printer jam", desk.tech, body="First.")
    dup = await file_ticket("Printer jam again", desk.tech, body="Second.")
    other = await file_ticket("Zebra printer", desk.tech, email="hal@example.org", name="Hal")
    ben = await agent(make_browser, "ben@example.org")
    page = await ben.get(f"/back/tickets/{dup['number']}")
    assert f'name="pick" value="{first["number"]}"' in page.text  # the requester's other open ticket
    assert f'name="pick" value="{other["number"]}"' not in page.text
    found = await ben.get(f"/back/tickets/{dup['number']}/merge/search?q=zebra")
    assert found.status_code == 200 and f'name="pick" value="{other["number"]}"' in found.text
    refused = await ben.post(f"/back/tickets/{dup['number']}/merge", {"pick": str(other["number"])})
    assert refused.status_code == 422 and "same customer" in refused.text
    merged = await ben.post(f"/back/tickets/{dup['number']}/merge", {"pick": str(first["number"])})
    assert merged.status_code == 303
    assert (await Ticket.select(Ticket.merged_into).where(Ticket.id == dup["id"]).first())["merged_into"] == first[
        "number"
    ]
