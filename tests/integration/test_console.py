"""The agent console: queues, counts, filters, search, ticket work, bulk, merge, canned replies,
teams and round-robin, limited agents — through the app, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from portal.accounts.rules import Actor
from portal.accounts.tables import Team, TeamMember, User
from portal.clock import utcnow
from portal.db import count_queries, fetch, write_transaction
from portal.tickets import access, queue, reads, write
from portal.tickets.tables import CannedReply, Category, Message, Ticket
from tests.factories import make_user as factory_user

PASSWORD = "a long s3cret phrase"


@dataclass
class Desk:
    support: int
    billing: int
    tech: int  # category routed to Support
    money: int  # category routed to Billing
    general: int  # category without a team
    ben: int  # agent, Support
    chloe: int  # agent, Support
    dan: int  # agent, Billing, limited to his teams
    admin: int
    ann: int  # customer


async def _team(name: str, members: list[int], round_robin: bool = False) -> int:
    rows = await Team.insert(Team(name=name, created_at=utcnow(), round_robin=round_robin)).run()
    for member in members:
        await TeamMember.insert(TeamMember(team=rows[0]["id"], user=member)).run()
    return rows[0]["id"]


@pytest.fixture
async def desk(app) -> Desk:
    ben = await factory_user("ben@example.org", "agent", name="Ben Agent")
    chloe = await factory_user("chloe@example.org", "agent", name="Chloe Agent")
    dan = await factory_user("dan@example.org", "agent", name="Dan Billing")
    admin = await factory_user("ada@example.org", "admin", name="Ada Admin")
    ann = await factory_user("ann@example.org", "customer", name="Ann Customer")
    async with write_transaction():
        support = await _team("Support", [ben, chloe])
        billing = await _team("Billing", [dan])
        tech = (await Category.insert(Category(name="Technical", team=support)).run())[0]["id"]
        money = (await Category.insert(Category(name="Invoices", team=billing)).run())[0]["id"]
        general = (await Category.insert(Category(name="Other")).run())[0]["id"]
        await User.update({User.limited_to_teams: True}).where(User.id == dan).run()
    return Desk(support, billing, tech, money, general, ben, chloe, dan, admin, ann)


class NoThrottle:
    async def retry_after(self, key, limit):
        return 0

    async def hit(self, key, seconds):
        return None


async def file_ticket(
    subject: str,
    category: int | None,
    *,
    email: str = "gwen@example.org",
    name: str = "Gwen Guest",
    body: str = "Please help.",
) -> dict:
    form = write.NewTicket(subject=subject, category=str(category or ""), body=body, name=name, email=email)
    ticket = await write.open_ticket(None, form, ip="127.0.0.1", throttle=NoThrottle())
    return ticket


async def agent(make_browser, email: str):
    b = await make_browser()
    await b.login(email, PASSWORD)
    return b


def numbers_in(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="row-(\d+)"', html)]


async def test_queue_views_counts_and_pages(desk, make_browser):
    t1 = await file_ticket("Printer jam", desk.tech)
    t2 = await file_ticket("Invoice wrong", desk.money)
    t3 = await file_ticket("No category", desk.general)
    ben = await agent(make_browser, "ben@example.org")
    page = await ben.get("/back/tickets?view=unassigned")
    assert page.status_code == 200
    assert set(numbers_in(page.text)) == {t1["number"], t2["number"], t3["number"]}
    assert 'id="count-unassigned">3<' in page.text
    assert 'id="count-mine">0<' in page.text
    taken = await ben.post(f"/back/tickets/{t1['number']}/take")
    assert taken.status_code == 303
    mine = await ben.get("/back/tickets?view=mine")
    assert numbers_in(mine.text) == [t1["number"]]
    counts = await ben.get("/back/tickets/counts")
    assert 'id="count-mine">1<' in counts.text and 'id="count-unassigned">2<' in counts.text
    team = await ben.get("/back/tickets?view=team")
    assert numbers_in(team.text) == [t1["number"]]
    history = await fetch(
        "SELECT field, old_value, new_value, actor_name FROM ticket_event WHERE ticket = {}", t1["id"]
    )
    assert {"field": "assignee", "old_value": "—", "new_value": "Ben Agent", "actor_name": "Ben Agent"} in history


async def test_keyset_pages_cover_every_ticket_once(desk, make_browser):
    made = [await file_ticket(f"Ticket {i}", desk.tech) for i in range(55)]
    ben = await agent(make_browser, "ben@example.org")
    first = await ben.get("/back/tickets?view=open")
    seen = numbers_in(first.text)
    assert len(seen) == 50
    nxt = re.search(r'rel="next" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    second = await ben.get(nxt)
    seen += numbers_in(second.text)
    assert sorted(seen) == sorted(t["number"] for t in made)
    assert 'rel="next"' not in second.text


async def test_limited_agent_sees_only_team_tickets_everywhere(desk, make_browser):
    support_ticket = await file_ticket("Screen flickers", desk.tech)
    billing_ticket = await file_ticket("Refund please", desk.money)
    dan = await agent(make_browser, "dan@example.org")
    page = await dan.get("/back/tickets?view=open")
    assert numbers_in(page.text) == [billing_ticket["number"]]
    assert 'id="count-open">1<' in page.text
    assert (await dan.get(f"/back/tickets/{support_ticket['number']}")).status_code == 404
    assert (await dan.post(f"/back/tickets/{support_ticket['number']}/take")).status_code == 404
    assert (await dan.post(f"/back/tickets/{support_ticket['number']}/reply", {"body": "hi"})).status_code == 404
    found = await dan.get("/back/tickets?q=flickers")
    assert numbers_in(found.text) == []
    bulk = await dan.post("/back/tickets/bulk", {"number": [str(support_ticket["number"])], "priority": "high"})
    assert bulk.status_code == 303
    row = await Ticket.select(Ticket.priority).where(Ticket.id == support_ticket["id"]).first()
    assert row["priority"] == "normal"


async def test_customer_cannot_reach_console(desk, make_browser):
    t = await file_ticket("Hello", desk.tech)
    ann = await agent(make_browser, "ann@example.org")
    assert (await ann.get("/back/tickets")).status_code == 403
    assert (await ann.get(f"/back/tickets/{t['number']}")).status_code == 403
    assert (await ann.post(f"/back/tickets/{t['number']}/take")).status_code == 403
    anonymous = await make_browser()
    response = await anonymous.get("/back/tickets")
    assert response.status_code in (302, 303) and "/login" in response.headers["location"]


async def _appointment_for(email: str, staff: int) -> None:
    from datetime import timedelta

    from portal.booking.tables import Appointment, Service

    now = utcnow()
    async with write_transaction():
        service = (await Service.insert(Service(slug="tax", name="Tax advice", created_at=now)).run())[0]["id"]
        start = now + timedelta(days=2)
        await Appointment.insert(
            Appointment(
                service=service,
                staff=staff,
                customer_name="Gwen",
                customer_email=email,
                start_at=start,
                end_at=start + timedelta(minutes=30),
                uid="u-1",
                manage_token_hash="h" * 64,
                created_at=now,
                updated_at=now,
            )
        ).run()


async def test_ticket_page_and_reply_with_note(desk, make_browser, outbox):
    t = await file_ticket("Cannot log in", desk.tech, body="My password fails.")
    await _appointment_for("gwen@example.org", desk.chloe)
    ben = await agent(make_browser, "ben@example.org")
    with count_queries() as queries:
        page = await ben.get(f"/back/tickets/{t['number']}")
    assert page.status_code == 200 and "My password fails." in page.text
    assert "Tax advice" in page.text and "with Chloe Agent" in page.text  # the customer's appointments
    assert queries[0] <= 10, queries[0]
    note = await ben.post(
        f"/back/tickets/{t['number']}/reply", {"body": "Checked the logs: lockout.", "kind": "internal"}
    )
    assert note.status_code == 303
    assert not [m for m in await outbox("gwen@example.org") if m["template"] == "ticket_reply"]
    reply = await ben.post(
        f"/back/tickets/{t['number']}/reply", {"body": "Unlocked, try again.", "kind": "public", "status": "pending"}
    )
    assert reply.status_code == 303
    mails = [m for m in await outbox("gwen@example.org") if m["template"] == "ticket_reply"]
    assert len(mails) == 1 and "Unlocked" in mails[0]["body_text"] and "lockout" not in mails[0]["body_text"]
    row = await Ticket.select().where(Ticket.id == t["id"]).first()
    assert row["status"] == "pending" and row["first_response_at"] is not None
    page = await ben.get(f"/back/tickets/{t['number']}")
    assert "Internal note" in page.text and "lockout" in page.text
    # The customer does not see the internal note.
    thread = await reads.thread(access.for_guest(t["id"]), t)
    assert all("lockout" not in m["body_html"] for m in thread)


async def test_customer_reply_moves_pending_back_to_open(desk, make_browser):
    t = await file_ticket("Question", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    await ben.post(f"/back/tickets/{t['number']}/reply", {"body": "Which version?", "status": "pending"})
    ticket = await Ticket.select().where(Ticket.id == t["id"]).first()
    await write.reply(access.for_guest(ticket["id"]), None, "Version 2.", [])
    row = await Ticket.select(Ticket.status).where(Ticket.id == t["id"]).first()
    assert row["status"] == "open"
    events = await fetch("SELECT field, new_value, reason FROM ticket_event WHERE ticket = {} ORDER BY id", t["id"])
    assert events[-1] == {"field": "status", "new_value": "Open", "reason": "the customer replied"}


async def test_inline_changes_write_history_and_validate(desk, make_browser):
    t = await file_ticket("Slow app", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    n = t["number"]
    response = await ben.post(
        f"/back/tickets/{n}/fields",
        {
            "priority": "urgent",
            "status": "on_hold",
            "team": str(desk.billing),
            "assignee": str(desk.dan),
            "category": str(desk.money),
        },
    )
    assert response.status_code == 303
    row = await Ticket.select().where(Ticket.id == t["id"]).first()
    assert (row["priority"], row["priority_rank"], row["status"], row["team"], row["assignee"]) == (
        "urgent",
        3,
        "on_hold",
        desk.billing,
        desk.dan,
    )
    events = {
        e["field"]: (e["old_value"], e["new_value"])
        for e in await fetch("SELECT field, old_value, new_value FROM ticket_event WHERE ticket = {}", t["id"])
    }
    assert events["priority"] == ("Normal", "Urgent")
    assert events["team"] == ("Support", "Billing")
    assert events["assignee"] == ("—", "Dan Billing")
    assert events["status"] == ("New", "On hold")
    bad = await ben.post(
        f"/back/tickets/{n}/fields", {"priority": "extreme", "assignee": "999999"}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422
    assert "Choose a priority" in bad.text and "Choose an active agent" in bad.text
    page = await ben.get(f"/back/tickets/{n}")
    assert "changed priority" in page.text


async def test_htmx_field_change_returns_the_main_column(desk, make_browser):
    t = await file_ticket("Dark mode", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    response = await ben.post(
        f"/back/tickets/{t['number']}/fields",
        {"priority": "high"},
        headers={"HX-Request": "true", "HX-Target": "ticket-main"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="ticket-main"')


async def test_tags_filter_and_bulk(desk, make_browser):
    a = await file_ticket("Alpha", desk.tech)
    b = await file_ticket("Beta", desk.tech)
    c = await file_ticket("Gamma", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    await ben.post(f"/back/tickets/{a['number']}/tags", {"tags": "VIP, Billing Issue"})
    assert await reads.tags(a) == ["billing-issue", "vip"]
    await ben.post(f"/back/tickets/{a['number']}/tags", {"tags": "VIP"})
    assert await reads.tags(a) == ["vip"]
    history = await fetch(
        "SELECT old_value, new_value FROM ticket_event WHERE ticket = {} AND field = 'tags' ORDER BY id", a["id"]
    )
    assert [(e["old_value"], e["new_value"]) for e in history] == [("", "+vip, +billing-issue"), ("−billing-issue", "")]
    tagged = await ben.get("/back/tickets?view=open&tag=vip")
    assert numbers_in(tagged.text) == [a["number"]]
    bulk = await ben.post(
        "/back/tickets/bulk",
        {
            "number": [str(b["number"]), str(c["number"]), "999999"],
            "assignee": str(desk.chloe),
            "add_tag": "wave-2",
            "next": "/back/tickets?view=open",
        },
    )
    assert bulk.status_code == 303 and bulk.headers["location"] == "/back/tickets?view=open"
    page = await ben.get("/back/tickets?view=open")
    assert "2 tickets changed" in page.text and "#999999" in page.text
    rows = await Ticket.select(Ticket.number, Ticket.assignee).where(Ticket.id.is_in([b["id"], c["id"]]))
    assert {r["assignee"] for r in rows} == {desk.chloe}
    assert await reads.tags(b) == ["wave-2"]
    close = await ben.post("/back/tickets/bulk", {"number": [str(b["number"])], "status": ["", "closed"]})
    assert close.status_code == 303
    assert (await Ticket.select(Ticket.status).where(Ticket.id == b["id"]).first())["status"] == "closed"
    nothing = await ben.post("/back/tickets/bulk", {"number": [str(c["number"])]})
    assert nothing.status_code == 303
    assert "Choose what to change" in (await ben.get("/back/tickets")).text


async def test_search_by_word_email_and_number(desk, make_browser):
    a = await file_ticket("Laptop battery swelling", desk.tech, email="zoe@example.net", name="Zoë Zed")
    b = await file_ticket("Mouse broken", desk.tech, body="The scroll wheel squeaks terribly.")
    ben = await agent(make_browser, "ben@example.org")
    assert numbers_in((await ben.get("/back/tickets?q=battery")).text) == [a["number"]]
    assert numbers_in((await ben.get("/back/tickets?q=squeak")).text) == [b["number"]]  # prefix / stem
    assert numbers_in((await ben.get("/back/tickets?q=zoe%40example.net")).text) == [a["number"]]
    assert numbers_in((await ben.get("/back/tickets?q=%22%29%28*%20NEAR")).text) == []  # syntax is not syntax
    jump = await ben.get(f"/back/tickets?q=%23{b['number']}")
    assert jump.status_code == 303 and jump.headers["location"] == f"/back/tickets/{b['number']}"
    await ben.post(f"/back/tickets/{a['number']}/reply", {"body": "Replace the cell urgently", "kind": "internal"})
    assert numbers_in((await ben.get("/back/tickets?q=urgently")).text) == [a["number"]]


async def test_merge_moves_thread_and_tells_the_customer(desk, make_browser, outbox):
    first = await file_ticket("Wifi down", desk.tech, body="Since Monday.")
    dup = await file_ticket("Wifi still down", desk.tech, body="Any news?")
    other = await file_ticket("Different person", desk.tech, email="other@example.org")
    ben = await agent(make_browser, "ben@example.org")
    refused = await ben.post(f"/back/tickets/{dup['number']}/merge", {"into": str(other["number"])})
    assert refused.status_code == 422 and "same customer" in refused.text
    itself = await ben.post(f"/back/tickets/{dup['number']}/merge", {"into": str(dup["number"])})
    assert itself.status_code == 422
    merged = await ben.post(f"/back/tickets/{dup['number']}/merge", {"into": f"#{first['number']}"})
    assert merged.status_code == 303 and merged.headers["location"] == f"/back/tickets/{first['number']}"
    source = await Ticket.select().where(Ticket.id == dup["id"]).first()
    assert source["status"] == "closed" and source["merged_into"] == first["number"]
    bodies = [m["body_source"] for m in await Message.select().where(Message.ticket == first["id"])]
    assert "Any news?" in bodies and "Since Monday." in bodies
    assert [m for m in await outbox("gwen@example.org") if m["template"] == "ticket_merged"]
    page = await ben.get(f"/back/tickets/{dup['number']}")
    assert "Merged into" in page.text
    again = await ben.post(f"/back/tickets/{dup['number']}/merge", {"into": str(first["number"])})
    assert again.status_code == 422


async def test_canned_replies_shared_personal_and_placeholders(desk, make_browser):
    t = await file_ticket("Hi", desk.tech, name="Gwen Guest")
    admin = await agent(make_browser, "ada@example.org")
    ben = await agent(make_browser, "ben@example.org")
    chloe = await agent(make_browser, "chloe@example.org")
    assert (
        await admin.post(
            "/back/canned",
            {
                "title": "Greeting",
                "body": "Hello {{customer_first_name}}, this is {{agent_name}} about #{{ticket_number}}.",
                "shared": "1",
            },
        )
    ).status_code == 303
    assert (await ben.post("/back/canned", {"title": "Mine", "body": "Ben's own"})).status_code == 303
    sneaky = await ben.post("/back/canned", {"title": "Sneaky", "body": "x", "shared": "1"})
    assert sneaky.status_code == 422
    shared_id = (await CannedReply.select().where(CannedReply.title == "Greeting").first())["id"]
    mine_id = (await CannedReply.select().where(CannedReply.title == "Mine").first())["id"]
    text = await ben.get(f"/back/tickets/{t['number']}/canned/{shared_id}", headers={"X-Canned-Text": "1"})
    assert text.text == f"Hello Gwen, this is Ben Agent about #{t['number']}."
    page = await ben.get(f"/back/tickets/{t['number']}?canned={shared_id}")
    assert f"Hello Gwen, this is Ben Agent about #{t['number']}." in page.text
    assert (await chloe.get(f"/back/tickets/{t['number']}/canned/{mine_id}")).status_code == 404
    assert (await chloe.post(f"/back/canned/{mine_id}/delete")).status_code == 404
    assert (await chloe.post(f"/back/canned/{shared_id}", {"title": "Hacked", "body": "x"})).status_code == 404
    assert (await ben.post(f"/back/canned/{mine_id}/delete")).status_code == 303


async def test_saved_views_own_and_shared(desk, make_browser):
    urgent = await file_ticket("Urgent thing", desk.tech)
    await file_ticket("Calm thing", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    await ben.post(f"/back/tickets/{urgent['number']}/fields", {"priority": "urgent"})
    saved = await ben.post("/back/tickets/views", {"name": "Urgent ones", "query": "view=open&priority=urgent"})
    assert saved.status_code == 303
    page = await ben.get(saved.headers["location"])
    assert numbers_in(page.text) == [urgent["number"]] and "Urgent ones" in page.text
    chloe = await agent(make_browser, "chloe@example.org")
    assert "Urgent ones" not in (await chloe.get("/back/tickets")).text
    refused = await ben.post(
        "/back/tickets/views", {"name": "Team view", "query": "view=open", "team": str(desk.support)}
    )
    assert refused.status_code == 303 and "Only admins" in (await ben.get("/back/tickets")).text
    admin = await agent(make_browser, "ada@example.org")
    await admin.post(
        "/back/tickets/views",
        {"name": "Support urgent", "query": "view=open&priority=urgent", "team": str(desk.support)},
    )
    assert "Support urgent" in (await chloe.get("/back/tickets")).text
    view_id = re.search(r"saved-(\d+)", saved.headers["location"]).group(1)
    assert (await chloe.post(f"/back/tickets/views/{view_id}/delete")).status_code == 404


async def test_round_robin_skips_unavailable_and_capped_agents(desk, make_browser):
    async with write_transaction():
        await Team.update({Team.round_robin: True}).where(Team.id == desk.support).run()
    first = await file_ticket("One", desk.tech)
    second = await file_ticket("Two", desk.tech)
    third = await file_ticket("Three", desk.tech)
    assignees = [
        (await Ticket.select(Ticket.assignee).where(Ticket.id == t["id"]).first())["assignee"]
        for t in (first, second, third)
    ]
    assert assignees == [desk.ben, desk.chloe, desk.ben]
    async with write_transaction():
        await User.update({User.is_available: False}).where(User.id == desk.chloe).run()
        await User.update({User.open_ticket_cap: 2}).where(User.id == desk.ben).run()
    fourth = await file_ticket("Four", desk.tech)
    row = await Ticket.select(Ticket.assignee).where(Ticket.id == fourth["id"]).first()
    assert row["assignee"] is None
    reasons = [e["reason"] for e in await fetch("SELECT reason FROM ticket_event WHERE ticket = {}", fourth["id"])]
    assert any("nobody available" in r for r in reasons)
    reasons = [e["reason"] for e in await fetch("SELECT reason FROM ticket_event WHERE ticket = {}", first["id"])]
    assert any(r.startswith("round-robin in Support") for r in reasons)


async def test_teams_admin_pages(desk, make_browser):
    admin = await agent(make_browser, "ada@example.org")
    page = await admin.get("/back/teams")
    assert page.status_code == 200 and "Support" in page.text and "Dan Billing" in page.text
    assert (await admin.post("/back/teams", {"name": "Sales"})).status_code == 303
    dup = await admin.post("/back/teams", {"name": "Sales"})
    assert dup.status_code == 422 and "exists already" in dup.text
    sales = (await Team.select().where(Team.name == "Sales").first())["id"]
    assert (await admin.post(f"/back/teams/{sales}/members", {"user": str(desk.chloe)})).status_code == 303
    assert (await admin.post(f"/back/teams/{sales}/members", {"user": str(desk.ann)})).status_code == 422
    assert (await admin.post(f"/back/teams/{sales}", {"name": "Sales", "round_robin": "1"})).status_code == 303
    assert (await admin.post("/back/categories", {"name": "Quotes", "team": str(sales)})).status_code == 303
    quotes = await Category.select().where(Category.name == "Quotes").first()
    assert quotes["team"] == sales
    t = await file_ticket("Price for 10 seats?", quotes["id"])
    row = await Ticket.select(Ticket.team, Ticket.assignee).where(Ticket.id == t["id"]).first()
    assert (row["team"], row["assignee"]) == (sales, desk.chloe)
    bad = await admin.post(f"/back/users/{desk.ben}/agent", {"available": "1", "cap": "-3"})
    assert bad.status_code == 422
    assert (
        await admin.post(f"/back/users/{desk.ben}/agent", {"available": "1", "cap": "5", "limited": "1"})
    ).status_code == 303
    ben_row = await User.select().where(User.id == desk.ben).first()
    assert (ben_row["open_ticket_cap"], ben_row["limited_to_teams"]) == (5, True)
    ben = await agent(make_browser, "ben@example.org")
    assert (await ben.get("/back/teams")).status_code == 403
    assert (await ben.post("/back/teams", {"name": "Mine"})).status_code == 403
    away = await ben.post("/back/availability", {"available": "0"})
    assert away.status_code == 303
    assert not (await User.select(User.is_available).where(User.id == desk.ben).first())["is_available"]


async def test_tallies_follow_every_write_path(desk, make_browser):
    tickets = [await file_ticket(f"T{i}", desk.tech) for i in range(4)]
    ben = await agent(make_browser, "ben@example.org")
    await ben.post(f"/back/tickets/{tickets[0]['number']}/take")
    await ben.post(f"/back/tickets/{tickets[1]['number']}/fields", {"status": "solved"})
    await ben.post("/back/tickets/bulk", {"number": [str(tickets[2]["number"])], "team": str(desk.billing)})
    scope = await access.for_actor(Actor(id=desk.ben, email="ben@example.org", name="Ben", role="agent"))
    counted = await queue.view_counts(scope)
    truth = {}
    for view in ("unassigned", "mine", "team", "open", "breaching", "overdue", "pending", "solved"):
        page = await queue.queue_page(scope, queue.Filters(view=view))
        truth[view] = len(page.rows)
    assert counted == truth
    await queue.rebuild_tallies()
    assert await queue.view_counts(scope) == truth


async def test_queue_page_query_budget(desk, make_browser):
    for i in range(30):
        await file_ticket(f"Load {i}", desk.tech if i % 2 else desk.money)
    ben = await agent(make_browser, "ben@example.org")
    with count_queries() as queries:
        page = await ben.get("/back/tickets?view=open")
    assert page.status_code == 200 and queries[0] <= 10, queries[0]


async def test_team_view_over_several_teams_merges_in_order(desk, make_browser):
    async with write_transaction():
        await TeamMember.insert(TeamMember(team=desk.billing, user=desk.ben)).run()
    made = [await file_ticket(f"Mixed {i}", desk.tech if i % 2 else desk.money) for i in range(56)]
    await file_ticket("Nobody's team", desk.general)
    ben = await agent(make_browser, "ben@example.org")
    first = await ben.get("/back/tickets?view=team")
    seen = numbers_in(first.text)
    assert len(seen) == 50
    nxt = re.search(r'rel="next" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    seen += numbers_in((await ben.get(nxt)).text)
    # Newest update first, across both teams, each ticket once.
    assert seen == sorted((t["number"] for t in made), reverse=True)


async def test_agent_attachments_reach_the_customer_but_a_note_s_do_not(desk, make_browser):
    from tests.integration.test_tickets_front import PNG

    t = await file_ticket("Screenshot please", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    csrf = ben.cookies.get("csrftoken")
    public = await ben.client.post(
        f"/back/tickets/{t['number']}/reply",
        data={"body": "Like this one.", "kind": "public", "_csrf_token": csrf},
        files=[("files", ("howto.png", PNG, "image/png"))],
    )
    assert public.status_code == 303
    note = await ben.client.post(
        f"/back/tickets/{t['number']}/reply",
        data={"body": "Internal log.", "kind": "internal", "_csrf_token": csrf},
        files=[("files", ("server.log", b"secret", "text/plain"))],
    )
    assert note.status_code == 303
    files = {
        r["filename"]: r["id"] for r in await fetch("SELECT id, filename FROM attachment WHERE ticket = {}", t["id"])
    }
    assert (await ben.get(f"/back/tickets/{t['number']}/attachments/{files['server.log']}")).content == b"secret"
    thread = await reads.thread(access.for_guest(t["id"]), t)
    shown = [a["filename"] for m in thread for a in m["attachments"]]
    assert shown == ["howto.png"]
    dan = await agent(make_browser, "dan@example.org")  # limited to Billing: not this ticket's files
    assert (await dan.get(f"/back/tickets/{t['number']}/attachments/{files['howto.png']}")).status_code == 404
