"""Every way to read or change one ticket answers through ``TicketAccess``: each ticket route of the
app, tried by each kind of viewer with another person's ticket (and file) ids, on both engines.

The route list is read from the app itself, so a new ticket route fails here until it is listed
with how to call it; a route that forgot the access check answers something other than 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from portal.accounts.rules import Actor
from portal.accounts.tables import Team, TeamMember, User
from portal.clock import utcnow
from portal.db import fetch, write_transaction
from portal.tickets import access, guest_links, messages, write
from portal.tickets.tables import Category
from tests.factories import make_user as factory_user

PASSWORD = "a long s3cret phrase"


class NoThrottle:
    async def retry_after(self, key, limit):
        return 0

    async def hit(self, key, seconds):
        return None


@dataclass
class World:
    ann_ticket: dict  # Ann's (a customer) ticket, in Support, with a public and an internal file
    gwen_ticket: dict  # a guest's ticket, in Billing
    gwen_link: str  # the guest's /t/{token}
    public_file: int  # on Ann's ticket, in her own message
    internal_file: int  # on Ann's ticket, in an internal note
    gwen_file: int  # on the guest's ticket


@pytest.fixture
async def world(app) -> World:
    ann = await factory_user("ann@example.org", "customer", name="Ann Customer")
    ben = await factory_user("ben@example.org", "agent", name="Ben Support")
    dan = await factory_user("dan@example.org", "agent", name="Dan Billing")
    await factory_user("ada@example.org", "admin", name="Ada Admin")
    await factory_user("carl@example.org", "customer", name="Carl Customer")
    async with write_transaction():
        support = (await Team.insert(Team(name="Support", created_at=utcnow())).run())[0]["id"]
        billing = (await Team.insert(Team(name="Billing", created_at=utcnow())).run())[0]["id"]
        await TeamMember.insert(TeamMember(team=support, user=ben), TeamMember(team=billing, user=dan)).run()
        await User.update({User.limited_to_teams: True}).where(User.id.is_in([ben, dan])).run()
        tech = (await Category.insert(Category(name="Technical", team=support)).run())[0]["id"]
        money = (await Category.insert(Category(name="Invoices", team=billing)).run())[0]["id"]
        await Category.insert(Category(name="Other")).run()  # no team
    ann_actor = Actor(id=ann, email="ann@example.org", name="Ann Customer", role="customer")
    ann_ticket = await write.open_ticket(
        ann_actor,
        write.NewTicket(
            subject="Printer zanzibar",
            category=str(tech),
            body="It jams.",
            uploads=[messages.Upload("mine.txt", b"ann's file")],
        ),
        ip="127.0.0.1",
        throttle=NoThrottle(),
    )
    ben_access = await access.for_actor(Actor(id=ben, email="ben@example.org", name="Ben Support", role="agent"))
    await write.reply(
        ben_access, ann_ticket["number"], "Internal zanzibar", [messages.Upload("note.txt", b"secret")], internal=True
    )
    gwen_ticket = await write.open_ticket(
        None,
        write.NewTicket(
            subject="Invoice quibble",
            category=str(money),
            body="Wrong total.",
            name="Gwen Guest",
            email="gwen@example.org",
            uploads=[messages.Upload("gwen.txt", b"gwen's file")],
        ),
        ip="127.0.0.1",
        throttle=NoThrottle(),
    )
    async with write_transaction():
        gwen_link = await guest_links.issue(gwen_ticket["id"])
    files = {r["filename"]: r["id"] for r in await fetch("SELECT id, filename FROM attachment")}
    return World(ann_ticket, gwen_ticket, gwen_link, files["mine.txt"], files["note.txt"], files["gwen.txt"])


# Each ticket route: (method, path with {n} = ticket number, {t} = guest link, {f} = file id, form).
ROUTES = {
    "/tickets/{number:int}": ("get", "/tickets/{n}", None),
    "/tickets/{number:int}/thread": ("get", "/tickets/{n}/thread", None),
    "/tickets/{number:int}/rate": ("get", "/tickets/{n}/rate?r=good", None),
    "/tickets/{number:int}/attachments/{attachment_id:int}": ("get", "/tickets/{n}/attachments/{f}", None),
    "/tickets/{number:int}/reply": ("post", "/tickets/{n}/reply", {"body": "forged"}),
    "/tickets/{number:int}/solve": ("post", "/tickets/{n}/solve", {}),
    "/tickets/{number:int}/reopen": ("post", "/tickets/{n}/reopen", {}),
    "/tickets/{number:int}/rating": ("post", "/tickets/{n}/rating", {"rating": "bad"}),
    "/t/{token:str}": ("get", "{t}", None),
    "/t/{token:str}/thread": ("get", "{t}/thread", None),
    "/t/{token:str}/rate": ("get", "{t}/rate", None),
    "/t/{token:str}/attachments/{attachment_id:int}": ("get", "{t}/attachments/{f}", None),
    "/t/{token:str}/reply": ("post", "{t}/reply", {"body": "forged"}),
    "/t/{token:str}/solve": ("post", "{t}/solve", {}),
    "/t/{token:str}/reopen": ("post", "{t}/reopen", {}),
    "/t/{token:str}/rating": ("post", "{t}/rating", {"rating": "bad"}),
    "/back/tickets/{number:int}": ("get", "/back/tickets/{n}", None),
    "/back/tickets/{number:int}/attachments/{attachment_id:int}": ("get", "/back/tickets/{n}/attachments/{f}", None),
    "/back/tickets/{number:int}/canned/{reply_id:int}": ("get", "/back/tickets/{n}/canned/1", None),
    "/back/tickets/{number:int}/reply": ("post", "/back/tickets/{n}/reply", {"body": "forged", "kind": "public"}),
    "/back/tickets/{number:int}/fields": ("post", "/back/tickets/{n}/fields", {"priority": "urgent"}),
    "/back/tickets/{number:int}/take": ("post", "/back/tickets/{n}/take", {}),
    "/back/tickets/{number:int}/tags": ("post", "/back/tickets/{n}/tags", {"tags": "forged"}),
    "/back/tickets/{number:int}/merge": ("post", "/back/tickets/{n}/merge", {"into": "{other}"}),
    "/back/tickets/{number:int}/typing": ("post", "/back/tickets/{n}/typing", {}),
    "/back/tickets/{number:int}/macro": ("post", "/back/tickets/{n}/macro", {"reply": "1"}),
    "/back/tickets/{number:int}/merge/search": ("get", "/back/tickets/{n}/merge/search?q=zanzibar", None),
    "/back/tickets/{number:int}/cc": ("post", "/back/tickets/{n}/cc", {"cc": "spy@evil.example"}),
    "/back/tickets/{number:int}/cc/remove": ("post", "/back/tickets/{n}/cc/remove", {"cc": "spy@evil.example"}),
    "/back/tickets/{number:int}/messages/{message_id:int}/original": (
        "get",
        "/back/tickets/{n}/messages/1/original",
        None,
    ),
}


def ticket_routes(app) -> set[str]:
    """The app's routes that address one ticket (by number or by guest link)."""
    return {
        route.path
        for route in app.routes
        if re.match(r"^(/tickets/\{number|/t/\{token|/back/tickets/\{number)", route.path)
    }


def test_every_ticket_route_is_tried(app):
    assert ticket_routes(app) == set(ROUTES), "list the new route in ROUTES with how to call it"


async def signed_in(make_browser, email: str):
    browser = await make_browser()
    await browser.login(email, PASSWORD)
    return browser


async def snapshot() -> tuple:
    """Everything a forged write could change."""
    tickets = await fetch(
        "SELECT number, status, priority, assignee, csat_rating, updated_at FROM ticket ORDER BY number"
    )
    counts = await fetch(
        "SELECT (SELECT COUNT(*) FROM message) AS m, (SELECT COUNT(*) FROM ticket_event) AS e, "
        "(SELECT COUNT(*) FROM ticket_tag) AS g, (SELECT COUNT(*) FROM ticket_participant) AS p"
    )
    return tickets, counts


def fill(path: str, world: World, *, number: int, link: str, file_id: int) -> str:
    return path.format(n=number, t=link, f=file_id)


@pytest.mark.parametrize(
    "who,victim",
    [
        ("ann@example.org", "gwen"),  # a customer, with a guest's ticket number
        ("carl@example.org", "ann"),  # another customer, with Ann's
        ("dan@example.org", "ann"),  # an agent limited to Billing, with a Support ticket
        ("ben@example.org", "gwen"),  # an agent limited to Support, with a Billing ticket
        ("", "ann"),  # nobody signed in
    ],
)
async def test_numbered_routes_refuse_someone_elses_ticket(world, make_browser, who, victim):
    browser = await signed_in(make_browser, who) if who else await make_browser()
    ticket = world.ann_ticket if victim == "ann" else world.gwen_ticket
    file_id = world.public_file if victim == "ann" else world.gwen_file
    other = world.gwen_ticket if victim == "ann" else world.ann_ticket
    before = await snapshot()
    for method, path, form in ROUTES.values():
        if path.startswith("{t}"):
            continue
        url = fill(path, world, number=ticket["number"], link="", file_id=file_id)
        data = {k: v.format(other=other["number"]) for k, v in (form or {}).items()}
        response = await (browser.get(url) if method == "get" else browser.post(url, data))
        if not who:
            assert response.status_code in (303, 401, 404), (url, response.status_code)
        else:
            assert response.status_code in (403, 404), (who, url, response.status_code)
        assert ticket["subject"] not in response.text, url
    assert await snapshot() == before


async def test_a_guest_link_opens_its_own_ticket_and_no_one_elses_files(world, make_browser):
    guest = await make_browser()
    page = await guest.get(world.gwen_link)
    assert page.status_code == 200 and world.gwen_ticket["subject"] in page.text
    for file_id in (world.public_file, world.internal_file):
        response = await guest.get(f"{world.gwen_link}/attachments/{file_id}")
        assert response.status_code == 404
    assert (await guest.get(f"{world.gwen_link}/attachments/{world.gwen_file}")).content == b"gwen's file"
    revoked = "/t/" + "x" * 43
    for method, path, form in ROUTES.values():
        if path.startswith("{t}"):
            url = fill(path, world, number=0, link=revoked, file_id=world.gwen_file)
            response = await (guest.get(url) if method == "get" else guest.post(url, form))
            assert response.status_code == 404, url


async def test_requester_reads_public_files_only_and_staff_read_all(world, make_browser):
    ann = await signed_in(make_browser, "ann@example.org")
    number = world.ann_ticket["number"]
    assert (await ann.get(f"/tickets/{number}/attachments/{world.public_file}")).content == b"ann's file"
    assert (await ann.get(f"/tickets/{number}/attachments/{world.internal_file}")).status_code == 404
    page = await ann.get(f"/tickets/{number}")
    assert page.status_code == 200 and "Internal zanzibar" not in page.text
    # Ann's account is not staff: the console is not hers, even for her own ticket.
    assert (await ann.get(f"/back/tickets/{number}")).status_code in (403, 404)
    ben = await signed_in(make_browser, "ben@example.org")
    assert (await ben.get(f"/back/tickets/{number}/attachments/{world.internal_file}")).content == b"secret"
    ada = await signed_in(make_browser, "ada@example.org")
    for who in (ben, ada):
        page = await who.get(f"/back/tickets/{number}")
        assert page.status_code == 200 and "Internal zanzibar" in page.text


async def test_lists_search_and_counts_follow_the_access(world, make_browser):
    dan = await signed_in(make_browser, "dan@example.org")
    ben = await signed_in(make_browser, "ben@example.org")
    ada = await signed_in(make_browser, "ada@example.org")
    for browser, sees_ann, sees_gwen in ((dan, False, True), (ben, True, False), (ada, True, True)):
        queue = (await browser.get("/back/tickets?view=all")).text
        assert (world.ann_ticket["subject"] in queue) is sees_ann
        assert (world.gwen_ticket["subject"] in queue) is sees_gwen
        found = (await browser.get("/back/tickets?q=zanzibar")).text
        assert (world.ann_ticket["subject"] in found) is sees_ann
        by_email = (await browser.get("/back/tickets?q=gwen@example.org")).text
        assert (world.gwen_ticket["subject"] in by_email) is sees_gwen
        counts = (await browser.get("/back/tickets/counts")).text
        assert f'id="count-open">{int(sees_ann) + int(sees_gwen)}<' in counts
    # The requester's other tickets in the sidebar: only those the agent sees.
    ann = Actor(id=world.ann_ticket["requester"], email="ann@example.org", name="Ann", role="customer")
    other = await Category.select(Category.id).where(Category.name == "Other").first()
    second = write.NewTicket(subject="Second zanzibar", body="Again.", category=str(other["id"]))
    await write.open_ticket(ann, second, ip="127.0.0.1", throttle=NoThrottle())
    page = (await ben.get(f"/back/tickets/{world.ann_ticket['number']}")).text
    assert "Second zanzibar" not in page  # no team: a limited agent does not see it
    page = (await ada.get(f"/back/tickets/{world.ann_ticket['number']}")).text
    assert "Second zanzibar" in page


async def test_the_customer_list_holds_only_their_own(world, make_browser):
    ann = await signed_in(make_browser, "ann@example.org")
    mine = (await ann.get("/tickets/")).text
    assert world.ann_ticket["subject"] in mine and world.gwen_ticket["subject"] not in mine
    carl = await signed_in(make_browser, "carl@example.org")
    assert world.ann_ticket["subject"] not in (await carl.get("/tickets/?q=zanzibar")).text
    # An agent's "My tickets" lists what they requested, not the desk's tickets.
    ben = await signed_in(make_browser, "ben@example.org")
    assert world.ann_ticket["subject"] not in (await ben.get("/tickets/")).text


async def test_the_appointments_beside_a_ticket_open_only_for_their_staff_member(world, make_browser):
    from datetime import timedelta

    from portal.booking.tables import Appointment, Service

    now = utcnow()
    dan = (await User.select(User.id).where(User.email == "dan@example.org").first())["id"]
    async with write_transaction():
        service = (await Service.insert(Service(slug="tax", name="Tax advice", created_at=now)).run())[0]["id"]
        start = now + timedelta(days=2)
        appointment = await Appointment.insert(
            Appointment(
                service=service,
                staff=dan,
                customer_name="Ann",
                customer_email="ann@example.org",
                start_at=start,
                end_at=start + timedelta(minutes=30),
                uid="u-1",
                manage_token_hash="h" * 64,
                created_at=now,
                updated_at=now,
            )
        ).run()
    link = f'href="/back/calendar/appointments/{appointment[0]["id"]}"'
    number = world.ann_ticket["number"]
    ben = await signed_in(make_browser, "ben@example.org")
    page = (await ben.get(f"/back/tickets/{number}")).text
    assert "with Dan Billing" in page and link not in page  # the context, not Dan's appointment page
    assert (await ben.get(f"/back/calendar/appointments/{appointment[0]['id']}")).status_code == 404
    ada = await signed_in(make_browser, "ada@example.org")
    assert link in (await ada.get(f"/back/tickets/{number}")).text
