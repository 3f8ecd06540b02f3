"""An email address is trusted only after its owner proves it.

Anyone can type an address into the guest ticket form, the booking form or the sign-up form. What
reaches that mailbox (a guest link, a manage link, a verification link) is the proof: nothing joins
an account, and no private link is shown, before it is used.
"""

from __future__ import annotations

import re

import pytest

from portal.accounts.rules import Actor
from portal.accounts.tables import AuthToken, User
from portal.booking.tables import Appointment
from portal.db import write_transaction
from portal.jobs.tables import Job
from portal.tickets import access, write
from portal.tickets.tables import Message, Ticket, TicketToken
from tests.conftest import link_in
from tests.factories import PASSWORD, user_row
from tests.integration.test_booking import booking_form, desk, tomorrow_at  # noqa: F401 (fixture)
from tests.integration.test_console import NoThrottle

SIGN_UP = {"name": "Vic Tim", "email": "vic@example.org", "password": "purple otter canoe", "timezone": "UTC"}


async def guest_ticket(subject: str, email: str, body: str = "Please help.") -> dict:
    form = write.NewTicket(subject=subject, body=body, name="Someone", email=email)
    return await write.open_ticket(None, form, ip="127.0.0.1", throttle=NoThrottle())


async def last_link(outbox, email: str, prefix: str) -> str:
    return link_in((await outbox(email))[-1]["body_text"], prefix)


# --- merges ------------------------------------------------------------------------------------------


async def test_merge_into_a_customers_ticket_revokes_the_strangers_link(make_browser, make_user, outbox):
    ann_id = await make_user("ann@example.org", name="Ann Lee")
    ann = Actor(id=ann_id, email="ann@example.org", name="Ann Lee", role="customer")
    target = await write.open_ticket(
        ann,
        write.NewTicket(subject="My bank details", body="IBAN FR76 secret"),
        ip="127.0.0.1",
        throttle=NoThrottle(),
    )
    assert target["requester"] is not None
    # A stranger files with Ann's address. Even holding that ticket's guest link (here: from the mail)…
    source = await guest_ticket("Same problem", "ann@example.org", body="stranger's text")
    source_link = await last_link(outbox, "ann@example.org", "/t/")
    await make_user("ben@example.org", "agent", name="Ben Agent")
    ben = await make_browser()
    await ben.login("ben@example.org", PASSWORD)
    merged = await ben.post(f"/back/tickets/{source['number']}/merge", {"into": str(target["number"])})
    assert merged.status_code == 303

    # …after the routine merge, the link opens nothing: it was revoked, not moved to Ann's ticket.
    stranger = await make_browser()
    refused = await stranger.get(source_link)
    assert refused.status_code == 404 and "IBAN" not in refused.text
    assert await TicketToken.count().where(TicketToken.ticket == target["id"]) == 0
    assert await TicketToken.count().where((TicketToken.ticket == source["id"]) & TicketToken.revoked_at.is_null()) == 0
    mail = [m for m in await outbox("ann@example.org") if m["template"] == "ticket_merged"][-1]
    assert f"http://testserver/tickets/{target['number']}" in mail["body_text"] and "/t/" not in mail["body_text"]


async def test_merge_of_guest_tickets_mails_a_fresh_link_for_the_target(make_browser, make_user, outbox):
    target = await guest_ticket("Wifi down", "gwen@example.org", body="Since Monday.")
    target_link = await last_link(outbox, "gwen@example.org", "/t/")
    source = await guest_ticket("Wifi still down", "gwen@example.org", body="Any news?")
    source_link = await last_link(outbox, "gwen@example.org", "/t/")
    await make_user("ben@example.org", "agent", name="Ben Agent")
    ben = await make_browser()
    await ben.login("ben@example.org", PASSWORD)
    assert (
        await ben.post(f"/back/tickets/{source['number']}/merge", {"into": str(target["number"])})
    ).status_code == 303

    guest = await make_browser()
    assert (await guest.get(source_link)).status_code == 404
    mail = [m for m in await outbox("gwen@example.org") if m["template"] == "ticket_merged"][-1]
    fresh = link_in(mail["body_text"], "/t/")
    assert fresh not in (source_link, target_link)
    page = await guest.get(fresh)
    assert page.status_code == 200 and "Since Monday." in page.text and "Any news?" in page.text
    assert (await guest.get(target_link)).status_code == 200  # the target's own links still work
    assert await Message.count().where(Message.ticket == target["id"]) >= 2


# --- bookings ----------------------------------------------------------------------------------------


async def test_strangers_guest_booking_with_a_customers_address_stays_out_of_their_account(
    make_browser, make_user, desk, outbox
):  # noqa: F811
    await make_user("ann@example.org", name="Ann Lee")
    stranger = await make_browser()
    response = await stranger.post(
        "/book/consultation", booking_form(tomorrow_at(10), email="ann@example.org", note="stranger's note")
    )
    assert response.status_code == 201
    assert "/appointments/manage/" not in response.text and "sent a confirmation" in response.text
    appointment = await Appointment.select().first()
    assert appointment["customer"] is None

    ann = await make_browser()
    await ann.login("ann@example.org")
    assert "Consultation" not in (await ann.get("/appointments")).text
    assert (await ann.get(f"/appointments/{appointment['id']}")).status_code == 404
    assert (await ann.post(f"/appointments/{appointment['id']}/cancel", {})).status_code == 404

    # Ann opens the manage link from her mail: the address is proven, the booking joins her account.
    manage = await last_link(outbox, "ann@example.org", "/appointments/manage/")
    assert (await ann.get(manage)).status_code == 200
    row = await Appointment.select().first()
    assert row["customer_email_proven_at"] is not None and row["customer"] == (await user_row("ann@example.org"))["id"]
    assert "Consultation" in (await ann.get("/appointments")).text


async def test_verified_sign_up_claims_only_proven_guest_bookings(browser, make_browser, desk, outbox):  # noqa: F811
    assert (
        await browser.post("/book/consultation", booking_form(tomorrow_at(10), email="vic@example.org"))
    ).status_code == 201
    proven = await last_link(outbox, "vic@example.org", "/appointments/manage/")
    assert (
        await browser.post("/book/consultation", booking_form(tomorrow_at(14), email="vic@example.org"))
    ).status_code == 201
    assert (await browser.get(proven)).status_code == 200  # no account yet: proven, joins nothing

    vic = await make_browser()
    assert (await vic.post("/signup", SIGN_UP)).status_code == 201
    assert (await vic.get(await last_link(outbox, "vic@example.org", "/verify/"))).status_code == 303
    vic_id = (await user_row("vic@example.org"))["id"]
    owners = {r["start_at"]: r["customer"] for r in await Appointment.select()}
    assert owners == {tomorrow_at(10): vic_id, tomorrow_at(14): None}


# --- account pre-hijacking -------------------------------------------------------------------------------


async def test_verification_from_another_session_makes_the_owner_choose_the_password(make_browser, outbox):
    attacker = await make_browser()
    assert (await attacker.post("/signup", {**SIGN_UP, "password": "attacker knows this"})).status_code == 201
    link = await last_link(outbox, "vic@example.org", "/verify/")

    victim = await make_browser()
    form = await victim.get(link)
    assert form.status_code == 200 and "choose the password" in form.text and f'action="{link}"' in form.text
    assert (await user_row("vic@example.org"))["email_verified_at"] is None  # nothing happened yet
    weak = await victim.post(link, {"password": "short"})
    assert weak.status_code == 422 and "at least 10 characters" in weak.text
    saved = await victim.post(link, {"password": "lantern walrus 42 ok"})
    assert saved.status_code == 303 and saved.headers["location"] == "/"
    assert "Vic Tim" in (await victim.get("/")).text  # signed in
    assert (await user_row("vic@example.org"))["email_verified_at"] is not None

    refused = await attacker.post("/login", {"email": "vic@example.org", "password": "attacker knows this"})
    assert refused.status_code == 422
    elsewhere = await make_browser()
    response = await elsewhere.post("/login", {"email": "vic@example.org", "password": "lantern walrus 42 ok"})
    assert response.status_code == 303, response.text[-3000:]
    assert (await victim.get(link)).status_code == 400  # used up


async def test_verification_link_from_another_session_stays_valid_until_the_form_is_sent(make_browser, outbox):
    signer = await make_browser()
    await signer.post("/signup", SIGN_UP)
    link = await last_link(outbox, "vic@example.org", "/verify/")
    assert (await (await make_browser()).get(link)).status_code == 200  # a mail scanner opens it
    assert await AuthToken.count().where(AuthToken.used_at.is_null() & (AuthToken.purpose == "verify")) == 1
    # The session that signed up then verifies as before, keeping its password, and is signed in.
    assert (await signer.get(link)).status_code == 303
    assert (await signer.get("/account")).status_code == 200
    await (await make_browser()).login("vic@example.org", SIGN_UP["password"])


# --- sign-up with an address that already has an account --------------------------------------------------


def _page(html: str, email: str) -> str:
    """The page without what differs between any two visitors (the address typed, the CSRF token)."""
    return re.sub(r'"X-CSRFToken": "[^"]*"|name="_csrf_token" value="[^"]*"', "", html.replace(email, "x"))


def _cookie_names(response) -> list[str]:
    return sorted(c.split("=", 1)[0] for c in response.headers.get_list("set-cookie"))


@pytest.mark.parametrize("owner_verified", [True, False])
async def test_sign_up_with_a_registered_address_answers_the_same_and_mails_the_owner(
    make_browser, make_user, outbox, owner_verified
):
    await make_user("vic@example.org", name="Vic Owner")
    if not owner_verified:
        async with write_transaction():
            await User.update({User.email_verified_at: None}).where(User.email == "vic@example.org").run()
    before = await User.select(User.password_hash).where(User.email == "vic@example.org").first()

    fresh_signer = await make_browser()
    new = await fresh_signer.post("/signup", {**SIGN_UP, "email": "new@example.org"})
    jobs_after_new = await Job.count()
    other_signer = await make_browser()
    existing = await other_signer.post("/signup", {**SIGN_UP, "password": "attacker knows this"})

    assert existing.status_code == new.status_code == 201
    assert _page(existing.text, "vic@example.org") == _page(new.text, "new@example.org")
    assert _cookie_names(existing) == _cookie_names(new)
    assert await Job.count() - jobs_after_new == 1  # one mail job queued, as for a new address
    assert await User.count().where(User.email == "vic@example.org") == 1
    assert (await User.select(User.password_hash).where(User.email == "vic@example.org").first()) == before

    mail = (await outbox("vic@example.org"))[-1]
    if owner_verified:
        assert mail["template"] == "signup_existing" and "tried to sign up" in mail["subject"]
        assert "http://testserver/login" in mail["body_text"]
        assert (await (await make_browser()).get(link_in(mail["body_text"], "/password/reset/"))).status_code == 200
    else:
        assert mail["template"] == "verify_email"
        link = link_in(mail["body_text"], "/verify/")
        # The second signer's session is not marked: opened there, the link asks for a password too.
        opened = await other_signer.get(link)
        assert opened.status_code == 200 and "choose the password" in opened.text
        assert (await user_row("vic@example.org"))["email_verified_at"] is None
    refused = await other_signer.post("/login", {"email": "vic@example.org", "password": "attacker knows this"})
    assert refused.status_code == 422


# --- rating links -------------------------------------------------------------------------------------------


async def test_opening_a_mailed_rating_link_does_not_rate(make_browser, make_user, outbox):
    ticket = await guest_ticket("Help", "gwen@example.org")
    agent_id = await make_user("ben@example.org", "agent", name="Ben Agent")
    ben = await access.for_actor(Actor(id=agent_id, email="ben@example.org", name="Ben Agent", role="agent"))
    assert await write.change(ben, ticket["number"], write.Change(status="solved")) == ["status"]
    mail = [m for m in await outbox("gwen@example.org") if m["template"] == "ticket_solved"][-1]
    good = link_in(mail["body_text"], "/t/")
    assert good.endswith("/rate?r=good")
    guest = await make_browser()
    page = await guest.get(good)
    assert page.status_code == 200 and 'value="good" checked' in page.text and "Confirm my rating" in page.text
    assert 'hx-trigger="load' not in page.text
    assert (await Ticket.select().first())["csat_rating"] is None
    base = good.removesuffix("/rate?r=good")
    assert (await guest.post(f"{base}/rating", {"rating": "good"})).status_code == 303
    assert (await Ticket.select().first())["csat_rating"] == "good"
