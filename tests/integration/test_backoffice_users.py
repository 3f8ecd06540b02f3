"""Admins manage users: invite staff, change roles, deactivate; and read the outbox."""

from __future__ import annotations

from portal.accounts.rules import Actor
from portal.accounts.tables import AuditEvent
from portal.jobs.worker import drain
from portal.tickets import access, write
from tests.conftest import link_in
from tests.factories import PASSWORD, user_row
from tests.integration.test_console import NoThrottle


async def _admin(make_user, browser):
    await make_user("admin@example.org", "admin", name="Ada Admin")
    await browser.login("admin@example.org")


async def test_admin_invites_an_agent_who_sets_a_password_and_works(browser, make_browser, make_user, outbox):
    await _admin(make_user, browser)
    response = await browser.post(
        "/back/users/invite", {"email": "New.Agent@Example.org", "name": "Nia", "role": "agent"}
    )
    assert response.status_code == 303
    assert "Invitation sent to new.agent@example.org" in (await browser.get("/back/users")).text
    row = await user_row("new.agent@example.org")
    assert row["role"] == "agent" and row["password_hash"] == ""

    mail = (await outbox("new.agent@example.org"))[-1]
    assert "invited you" in mail["body_text"] and "Ada Admin" in mail["body_text"]
    link = link_in(mail["body_text"], "/password/reset/")
    agent = await make_browser()
    page = await agent.get(link)
    assert "Welcome! Choose your password" in page.text
    assert (await agent.post(link, {"password": "brisk walrus lantern"})).status_code == 303
    response = await agent.post("/login", {"email": "new.agent@example.org", "password": "brisk walrus lantern"})
    assert response.headers["location"] == "/back"
    assert "Dashboard" in (await agent.get("/back")).text
    assert (await agent.get("/back/users")).status_code == 403


async def test_invite_refuses_bad_input(browser, make_user):
    await _admin(make_user, browser)
    await make_user("taken@example.org")
    for form, message in [
        ({"email": "nope", "name": "X", "role": "agent"}, "Enter an email address like"),
        ({"email": "taken@example.org", "name": "X", "role": "agent"}, "already exists"),
        ({"email": "x@example.org", "name": "X", "role": "customer"}, "Invite an agent or an administrator"),
        ({"email": "x@example.org", "name": "", "role": "agent"}, "Enter your name"),
    ]:
        response = await browser.post("/back/users/invite", form)
        assert response.status_code == 422 and message in response.text
    assert await user_row("x@example.org") is None


async def test_role_change_takes_effect_at_once(browser, make_browser, make_user):
    await _admin(make_user, browser)
    bob_id = await make_user("bob@example.org", "agent")
    bob = await make_browser()
    await bob.login("bob@example.org")
    assert (await bob.get("/back")).status_code == 200

    assert (await browser.post(f"/back/users/{bob_id}/role", {"role": "customer"})).status_code == 303
    assert (await user_row("bob@example.org"))["role"] == "customer"
    assert (await bob.get("/back")).status_code == 303  # session ended: back to the login page
    await bob.login("bob@example.org")
    assert (await bob.get("/back")).status_code == 403
    event = await AuditEvent.select().where(AuditEvent.action == "user.role_changed").first()
    assert event["subject"] == "bob@example.org"

    bad = await browser.post(f"/back/users/{bob_id}/role", {"role": "emperor"})
    assert bad.status_code == 422


async def test_deactivation_ends_sessions_and_blocks_login(browser, make_browser, make_user):
    await _admin(make_user, browser)
    ann_id = await make_user("ann@example.org")
    ann = await make_browser()
    await ann.login("ann@example.org")
    assert (await browser.post(f"/back/users/{ann_id}/active", {"active": "0"})).status_code == 303
    assert (await ann.get("/account")).status_code == 303
    refused = await ann.post("/login", {"email": "ann@example.org", "password": PASSWORD})
    assert refused.status_code == 422
    assert "Deactivated" in (await browser.get("/back/users")).text

    assert (await browser.post(f"/back/users/{ann_id}/active", {"active": "1"})).status_code == 303
    await ann.login("ann@example.org")


async def test_admin_cannot_demote_or_deactivate_themselves(browser, make_user):
    await _admin(make_user, browser)
    me = await user_row("admin@example.org")
    for url, form in (
        (f"/back/users/{me['id']}/role", {"role": "customer"}),
        (f"/back/users/{me['id']}/active", {"active": "0"}),
    ):
        response = await browser.post(url, form)
        assert response.status_code == 403 and "yourself" in response.text
    row = await user_row("admin@example.org")
    assert row["role"] == "admin" and row["is_active"]


async def test_unknown_user_ids_answer_404(browser, make_user):
    await _admin(make_user, browser)
    assert (await browser.post("/back/users/999999/role", {"role": "agent"})).status_code == 404
    assert (await browser.post("/back/users/999999/active", {"active": "0"})).status_code == 404
    assert (await browser.get("/back/outbox/999999")).status_code == 404
    assert (await browser.get("/back/outbox?before=abc")).status_code == 400


async def test_user_list_search_filter_and_pages(browser, make_user):
    await _admin(make_user, browser)
    for i in range(55):
        await make_user(f"c{i:02d}@example.org", name=f"Customer {i:02d}")
    page = await browser.get("/back/users?role=customer")
    assert page.text.count("@example.org</td>") == 50 and "Next page" in page.text
    assert "c49@example.org" in page.text and "c50@example.org" not in page.text
    second = await browser.get("/back/users?role=customer&after=c49@example.org")
    assert "c50@example.org" in second.text and "c54@example.org" in second.text
    assert "Next page" not in second.text
    found = await browser.get("/back/users?q=customer 07", headers={"HX-Request": "true"})
    assert found.text.lstrip().startswith('<div id="users-table">')
    assert "c07@example.org" in found.text and "c08@example.org" not in found.text


async def test_outbox_lists_and_shows_messages(browser, make_user, outbox):
    await _admin(make_user, browser)
    other = await make_user("ann@example.org")
    assert other
    await browser.post("/password/forgot", {"email": "ann@example.org"})
    await drain()
    mail = (await outbox("ann@example.org"))[-1]
    listing = await browser.get("/back/outbox")
    assert "Choose a new password for Front Desk" in listing.text and "ann@example.org" in listing.text
    filtered = await browser.get("/back/outbox?to=nobody@example.org")
    assert "ann@example.org" not in filtered.text
    page = await browser.get(f"/back/outbox/{mail['id']}")
    assert page.status_code == 200 and "/password/reset/" in page.text


# --- one user's page ----------------------------------------------------------------------------


async def test_user_page_edits_name_and_email_and_ends_their_sessions(browser, make_browser, make_user, outbox):
    await _admin(make_user, browser)
    ann_id = await make_user("ann@example.org", name="Ann Old")
    await make_user("taken@example.org")
    ann = await make_browser()
    await ann.login("ann@example.org")
    listing = await browser.get("/back/users")
    assert f'href="/back/users/{ann_id}"' in listing.text
    page = await browser.get(f"/back/users/{ann_id}")
    assert page.status_code == 200 and "Ann Old" in page.text and "Send a password reset link" in page.text

    for form, message in [
        ({"name": "Ann", "email": "taken@example.org"}, "Another account already uses this address"),
        ({"name": "Ann", "email": "nope"}, "Enter an email address like"),
        ({"name": "", "email": "ann@example.org"}, "Enter your name"),
    ]:
        response = await browser.post(f"/back/users/{ann_id}", form)
        assert response.status_code == 422 and message in response.text
    assert (await user_row("ann@example.org"))["name"] == "Ann Old"

    # A name alone: saved, her session goes on.
    assert (
        await browser.post(f"/back/users/{ann_id}", {"name": "Ann New", "email": "ann@example.org"})
    ).status_code == 303
    assert (await ann.get("/account")).status_code == 200
    # A new address: her sessions end, the old address is told, she must confirm the new one.
    response = await browser.post(f"/back/users/{ann_id}", {"name": "Ann New", "email": "Ann.New@Example.org"})
    assert response.status_code == 303
    row = await user_row("ann.new@example.org")
    assert row["id"] == ann_id and row["name"] == "Ann New" and row["email_verified_at"] is None
    assert (await ann.get("/account")).status_code == 303
    notice = (await outbox("ann@example.org"))[-1]
    assert "ann.new@example.org" in notice["body_text"] and "changed" in notice["subject"]
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "user.updated")
        .order_by(AuditEvent.id, ascending=False)
        .first()
    )
    assert event["subject"] == "ann.new@example.org" and '"from": "ann@example.org"' in event["data"]


async def test_user_page_sends_a_reset_through_the_reset_job(browser, make_browser, make_user, outbox):
    await _admin(make_user, browser)
    bob_id = await make_user("bob@example.org", "agent")
    assert (await browser.post(f"/back/users/{bob_id}/reset")).status_code == 303
    assert "A password reset link is on its way to bob@example.org" in (await browser.get(f"/back/users/{bob_id}")).text
    await drain()
    link = link_in((await outbox("bob@example.org"))[-1]["body_text"], "/password/reset/")
    bob = await make_browser()
    assert (await bob.post(link, {"password": "brisk walrus lantern"})).status_code == 303
    assert await AuditEvent.exists().where(AuditEvent.action == "user.reset_sent")


async def test_user_page_is_for_admins_only(browser, make_browser, make_user):
    await _admin(make_user, browser)
    ann_id = await make_user("ann@example.org", name="Ann")
    await make_user("bob@example.org", "agent")
    bob = await make_browser()
    await bob.login("bob@example.org")
    assert (await bob.get(f"/back/users/{ann_id}")).status_code == 403
    assert (await bob.post(f"/back/users/{ann_id}", {"name": "X", "email": "bob2@example.org"})).status_code == 403
    assert (await bob.post(f"/back/users/{ann_id}/reset")).status_code == 403
    assert (await user_row("ann@example.org"))["name"] == "Ann"
    assert (await browser.get("/back/users/999999")).status_code == 404
    assert (await browser.post("/back/users/999999", {"name": "X", "email": "x@example.org"})).status_code == 404
    assert (await browser.post("/back/users/999999/reset")).status_code == 404
    me = await user_row("admin@example.org")
    own = await browser.get(f"/back/users/{me['id']}")
    assert own.status_code == 200 and "your account page" in own.text and 'id="user-form"' not in own.text
    refused = await browser.post(f"/back/users/{me['id']}", {"name": "X", "email": "x@example.org"})
    assert refused.status_code == 403


def _actor(user_id: int, email: str, role: str = "customer") -> Actor:
    return Actor(id=user_id, email=email, name=email, role=role, timezone="UTC", session_version=0)


async def test_user_page_lists_their_tickets_filed_and_assigned(browser, make_user):
    await _admin(make_user, browser)
    ann_id = await make_user("ann@example.org", name="Ann")
    bob_id = await make_user("bob@example.org", "agent", name="Bob")
    cid_id = await make_user("cid@example.org")
    filed = write.NewTicket(subject="Printer on fire", body="Please help.")
    ticket = await write.open_ticket(_actor(ann_id, "ann@example.org"), filed, ip="127.0.0.1", throttle=NoThrottle())
    other = write.NewTicket(subject="Someone else's", body="Hi.")
    await write.open_ticket(_actor(cid_id, "cid@example.org"), other, ip="127.0.0.1", throttle=NoThrottle())
    admin = _actor((await user_row("admin@example.org"))["id"], "admin@example.org", "admin")
    await write.change(await access.for_staff(admin), ticket["number"], write.Change(assignee=bob_id))

    page = await browser.get(f"/back/users/{ann_id}")
    assert f'href="/back/tickets/{ticket["number"]}"' in page.text and "Printer on fire" in page.text
    assert "Someone else" not in page.text and "Open tickets assigned to them" not in page.text
    staff_page = await browser.get(f"/back/users/{bob_id}")
    assert "Open tickets assigned to them" in staff_page.text and "Printer on fire" in staff_page.text
    assert f"assignee={bob_id}" in staff_page.text
    assert "Tickets they filed" in staff_page.text and "Appointments with them as staff" in staff_page.text
