"""Email as a channel, end to end through the real listener (SMTP on a socket), the parse job and
the tickets kernel: new mail, threaded replies, forged and strangers' replies, automatic mail,
loops, bounces, CCs and agents answering by mail."""

from __future__ import annotations

import asyncio
import smtplib
import socket

import pytest

from portal.db import fetch
from portal.jobs.worker import drain
from portal.mail.jobs import build_message
from portal.mailin.intake import receive
from portal.settings import get_settings, use_settings
from portal.tickets import write
from portal.tickets.access import for_actor
from tests.mail_helpers import (
    DESK,
    Listener,
    deliver,
    inbound,
    make_mailbox,
    new_mail,
    parsed,
    reply_to,
    sent_to,
)

ANN = "ann@customer.example"


async def tickets() -> list[dict]:
    return await fetch(
        "SELECT id, number, subject, status, requester_email, team, mailbox, via FROM ticket ORDER BY id"
    )


async def messages(number: int) -> list[dict]:
    return await fetch(
        "SELECT m.author_name, m.author_is_staff, m.kind, m.via, m.body_source, m.body_html, m.source_mail "
        "FROM message m JOIN ticket t ON t.id = m.ticket WHERE t.number = {} ORDER BY m.id",
        number,
    )


@pytest.fixture
async def desk(app):
    await make_mailbox()
    async with Listener() as listening:
        yield listening


async def test_a_new_mail_makes_a_ticket_and_one_threaded_acknowledgement(desk):
    await deliver(desk, new_mail())

    [ticket] = await tickets()
    assert ticket["subject"] == "Printer on fire" and ticket["via"] == "email"
    assert ticket["requester_email"] == ANN and ticket["mailbox"] is not None
    [first] = await messages(ticket["number"])
    assert first["author_name"] == "Ann Customer" and first["via"] == "email"
    assert "room 4 is on fire" in first["body_source"] and first["source_mail"] is not None
    [ack] = await sent_to(ANN)
    headers = parsed(ack)
    assert ack["template"] == "ticket_received" and ack["subject"].startswith(f"[#{ticket['number']}]")
    assert ack["from_address"] == f"Example Support <{DESK}>"
    assert headers["Auto-Submitted"] == "auto-replied"
    assert f"support+t.{ticket['number']}." in headers["Reply-To"]
    assert ack["message_id"].startswith(f"t.{ticket['number']}.") and ack["message_id"].endswith("@desk.example")
    assert headers["In-Reply-To"].startswith("<") and "customer.example" in headers["In-Reply-To"]
    assert "reply to this mail" in ack["body_text"].lower()
    built = build_message(ack, get_settings().mail_from)
    assert built["X-Loop"] == DESK and built["Reply-To"] == headers["Reply-To"]
    assert [row["status"] for row in await inbound()] == ["done"]


async def test_the_same_mail_delivered_twice_makes_one_ticket(desk):
    mail = new_mail(message_id="<once@customer.example>")
    await deliver(desk, mail)
    mail["Received"] = "from relay2.example by mx.desk.example; Mon, 7 Dec 2026 10:00:00 +0000"
    await deliver(desk, mail)
    assert len(await tickets()) == 1
    assert [row["status"] for row in await inbound()] == ["done", "ignored"]
    assert len(await sent_to(ANN)) == 1


async def test_a_reply_from_the_mail_client_joins_the_thread_without_the_quote(desk):
    await deliver(desk, new_mail())
    [ticket] = await tickets()
    [ack] = await sent_to(ANN)
    await deliver(desk, reply_to(ack, "It is out now, thanks.", sender=ANN))

    assert len(await tickets()) == 1
    thread = await messages(ticket["number"])
    assert len(thread) == 2 and thread[1]["body_source"] == "It is out now, thanks."
    assert "wrote:" not in thread[1]["body_html"] and thread[1]["via"] == "email"
    assert len(await sent_to(ANN)) == 1  # a reply is not acknowledged


async def test_a_reply_to_the_agents_answer_reopens_nothing_it_should_not(desk, make_user):
    agent = await make_user("agent@desk.example", "agent")
    await deliver(desk, new_mail())
    [ticket] = await tickets()
    viewer = await for_actor(await _actor(agent))
    await write.reply(viewer, ticket["number"], "Try turning it off.", [], status="pending")
    answer = (await sent_to(ANN, "ticket_reply"))[-1]
    headers = parsed(answer)
    assert "Auto-Submitted" not in headers  # a person's words
    assert "Try turning it off." in answer["body_text"] and "reply above this line" in answer["body_text"]
    assert headers["References"].count("<") >= 2  # the customer's mail and our acknowledgement

    await deliver(desk, reply_to(answer, "Done, it works.", sender=ANN))
    [row] = await tickets()
    assert row["status"] == "open"  # pending → open: the customer answered
    assert (await messages(ticket["number"]))[-1]["body_source"] == "Done, it works."


async def test_a_forged_key_makes_a_new_linked_ticket(desk):
    await deliver(desk, new_mail())
    [first] = await tickets()
    forged = new_mail(subject="Re: Printer", to=f"support+t.{first['number']}.aaaaaaaaaaaaaaaa@desk.example")
    await deliver(desk, forged)

    assert len(await tickets()) == 2
    assert len(await messages(first["number"])) == 1
    second = (await tickets())[1]
    notes = [m for m in await messages(second["number"]) if m["kind"] == "internal"]
    assert notes and f"#{first['number']}" in notes[0]["body_source"] and "new address" in notes[0]["body_source"]


async def test_a_strangers_mail_with_a_real_key_does_not_join(desk):
    await deliver(desk, new_mail())
    [first] = await tickets()
    [ack] = await sent_to(ANN)
    await deliver(desk, reply_to(ack, "I am not Ann but I write here.", sender="mallory@evil.example", name="Mallory"))

    assert len(await messages(first["number"])) == 1
    assert len(await tickets()) == 2
    second = (await tickets())[1]
    assert second["requester_email"] == "mallory@evil.example"


async def test_a_subject_number_alone_attaches_nothing(desk):
    await deliver(desk, new_mail())
    [first] = await tickets()
    await deliver(desk, new_mail("bob@other.example", f"Re: [#{first['number']}] Printer on fire", "me too"))
    assert len(await tickets()) == 2
    assert len(await messages(first["number"])) == 1
    second = (await tickets())[1]
    assert not [m for m in await messages(second["number"]) if m["kind"] == "internal"]


async def test_an_out_of_office_is_never_answered(desk):
    ooo = new_mail(
        "away@customer.example",
        "Automatic reply: hello",
        "I am out of the office until Monday.",
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )
    await deliver(desk, ooo)
    assert await sent_to("away@customer.example") == []


async def test_an_out_of_office_in_a_thread_is_a_note_and_changes_nothing(desk):
    await deliver(desk, new_mail())
    [ticket] = await tickets()
    [ack] = await sent_to(ANN)
    away = reply_to(ack, "I am away until Monday.", sender=ANN)
    away["Auto-Submitted"] = "auto-replied"
    await deliver(desk, away)
    thread = await messages(ticket["number"])
    assert thread[-1]["kind"] == "internal" and "away until Monday" in thread[-1]["body_source"]
    assert (await tickets())[0]["status"] == "new"
    assert len(await sent_to(ANN)) == 1


async def test_one_acknowledgement_per_address_a_day(desk):
    await deliver(desk, new_mail(subject="First"))
    await deliver(desk, new_mail(subject="Second"))
    assert len(await tickets()) == 2
    assert len(await sent_to(ANN, "ticket_received")) == 1


async def test_a_loop_with_a_silent_auto_responder_stops_within_the_budget(desk, make_user):
    """200 rounds with an auto-responder that marks nothing as automatic and answers every mail
    of ours with a new mail: one acknowledgement, then the breaker holds it; admins hear once."""
    await make_user("admin@desk.example", "admin")
    bot = "robot@loop.example"
    limit = get_settings().mail_sender_hourly_limit
    for round_number in range(200):
        await desk.send(new_mail(bot, f"Your message {round_number}", "Thank you for your mail!", name="Robot"))
    await drain()

    assert len(await sent_to(bot)) == 1
    statuses = [row["status"] for row in await inbound()]
    assert statuses.count("done") == limit and statuses.count("held") == 200 - limit
    assert len(await tickets()) == limit
    assert len(await sent_to("admin@desk.example", "mail_held")) == 1


async def test_mail_from_our_own_address_is_never_processed_as_a_customer(desk):
    await deliver(desk, new_mail(DESK, "Looping back", "ours"))
    assert await tickets() == []
    assert [row["status"] for row in await inbound()] == ["ignored"]


async def test_a_bounce_marks_the_mail_and_the_address_and_is_not_answered(desk):
    await deliver(desk, new_mail())
    [ticket] = await tickets()
    [ack] = await sent_to(ANN)
    bounce = _dsn(ANN, ack["message_id"])
    await deliver(desk, bounce, sender="", recipients=[DESK])

    [marked] = await sent_to(ANN)
    assert marked["bounced_at"] is not None
    assert await fetch("SELECT email FROM bounced_address") == [{"email": ANN}]
    notes = [m for m in await messages(ticket["number"]) if m["kind"] == "system"]
    assert notes and "could not be delivered" in notes[0]["body_source"]
    assert len(await sent_to(ANN)) == 1 and len(await tickets()) == 1


async def test_ccs_get_the_reply_and_may_answer_under_their_own_name(desk, make_user):
    agent = await make_user("agent@desk.example", "agent")
    await deliver(desk, new_mail(cc="Bob Colleague <bob@customer.example>, Support <support@desk.example>"))
    [ticket] = await tickets()
    [cc] = await fetch("SELECT email FROM ticket_participant")
    assert cc["email"] == "bob@customer.example"  # not our own address

    await write.reply(await for_actor(await _actor(agent)), ticket["number"], "We are on it.", [])
    [to_bob] = await sent_to("bob@customer.example", "ticket_reply")
    assert "support+t." in parsed(to_bob)["Reply-To"]
    assert parsed(to_bob)["Reply-To"] != parsed((await sent_to(ANN, "ticket_reply"))[0])["Reply-To"]
    await deliver(desk, reply_to(to_bob, "Thanks from Bob.", sender="bob@customer.example", name="Bob Colleague"))
    last = (await messages(ticket["number"]))[-1]
    assert last["author_name"] == "Bob Colleague" and last["body_source"] == "Thanks from Bob."


async def test_an_agent_answers_a_notification_by_mail(desk, make_user):
    agent_id = await make_user("agent@desk.example", "agent", name="Alex Agent")
    await deliver(desk, new_mail())
    [ticket] = await tickets()
    viewer = await for_actor(await _actor(agent_id))
    await write.take(viewer, ticket["number"])
    [ack] = await sent_to(ANN)
    await deliver(desk, reply_to(ack, "Any news?", sender=ANN))
    [notice] = await sent_to("agent@desk.example", "ticket_customer_replied")
    assert "Any news?" in notice["body_text"]

    await deliver(desk, reply_to(notice, "Yes: a technician comes at 3 pm.", sender="agent@desk.example", name="Alex"))
    last = (await messages(ticket["number"]))[-1]
    assert last["author_is_staff"] and last["kind"] == "public" and last["author_name"] == "Alex Agent"
    answer = (await sent_to(ANN, "ticket_reply"))[-1]
    assert "technician comes at 3 pm" in answer["body_text"]


async def test_an_agent_using_the_customers_key_is_not_taken_for_staff(desk, make_user):
    await make_user("agent@desk.example", "agent")
    await deliver(desk, new_mail())
    [ack] = await sent_to(ANN)
    await deliver(desk, reply_to(ack, "sneaky", sender="agent@desk.example"))
    [first, second] = await tickets()
    assert len(await messages(first["number"])) == 1 and second["requester_email"] == "agent@desk.example"


async def test_nothing_is_lost_between_receipt_and_parsing(desk):
    """The listener answered 250 once the raw mail was committed; the worker was down. The mail
    and its job wait; when a worker runs, the ticket appears."""
    await desk.send(new_mail())
    [row] = await inbound()
    assert row["status"] == "received" and await tickets() == []
    [job] = await fetch("SELECT kind, done_at FROM job WHERE kind = 'mailin.process'")
    assert job["done_at"] is None
    await drain()
    assert len(await tickets()) == 1


async def test_a_mail_the_parser_refuses_stays_visible_as_failed(app):
    await make_mailbox()
    huge_headers = b"".join(b"X-H%d: v\r\n" % i for i in range(2000)) + b"From: a@b.example\r\n\r\nbody\r\n"
    await receive(huge_headers, source="smtp", envelope_from="a@b.example", envelope_to=[DESK])
    await drain()
    [row] = await inbound()
    assert row["status"] == "failed" and row["error"]


async def test_the_listener_refuses_strangers_addresses_and_oversized_mail(app):
    await make_mailbox()
    use_settings(get_settings().with_(mail_max_bytes=5000))
    async with Listener() as listening:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            await listening.send(new_mail(to="someone@elsewhere.example"))
        with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused, smtplib.SMTPServerDisconnected)):
            await listening.send(new_mail(body="y" * 6000))
        await listening.send(new_mail(body="small enough"))
    assert len(await inbound()) == 1


async def test_smtp_smuggling_does_not_slip_a_second_message_in(desk):
    """A bare-LF end of data followed by a second transaction (CVE-2023-51764 style): the listener
    must store at most one message, and never one from the smuggled sender."""
    payload = (
        f"From: ann@customer.example\r\nTo: {DESK}\r\nSubject: first\r\n\r\nhello\n.\n"
        f"MAIL FROM:<admin@desk.example>\r\nRCPT TO:<{DESK}>\r\nDATA\r\n"
        f"From: admin@desk.example\r\nTo: {DESK}\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n"
    ).encode()

    def talk() -> None:
        with socket.create_connection(("127.0.0.1", desk.port), timeout=10) as conn:
            stream = conn.makefile("rwb")
            stream.readline()
            for line in (b"EHLO x", b"MAIL FROM:<ann@customer.example>", f"RCPT TO:<{DESK}>".encode(), b"DATA"):
                stream.write(line + b"\r\n")
                stream.flush()
                while True:
                    answer = stream.readline()
                    if answer[3:4] != b"-":
                        break
            stream.write(payload + b"QUIT\r\n")
            stream.flush()
            try:
                stream.read()
            except OSError:
                pass

    await asyncio.to_thread(talk)
    await drain()
    subjects = [row["subject"] for row in await fetch("SELECT subject FROM inbound_mail")]
    assert "smuggled" not in subjects and len(subjects) <= 1


async def _actor(user_id: int):
    from portal.accounts.services import actor_for_session

    rows = await fetch("SELECT session_version FROM portal_user WHERE id = {}", user_id)
    return await actor_for_session(user_id, rows[0]["session_version"])


def _dsn(recipient: str, original_message_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)\r\n"
        f"To: {DESK}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could not be delivered.\r\n"
        "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: Example Support <{DESK}>\r\nTo: {recipient}\r\nMessage-ID: <{original_message_id}>\r\n"
        "Subject: [#1] We received your request\r\n"
        "\r\n--B--\r\n"
    ).encode()
