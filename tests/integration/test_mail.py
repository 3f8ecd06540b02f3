"""Mail delivery end to end: templates → outbox row + job → drain → a real local SMTP server
(aiosmtpd), or ``stored`` without SMTP; retries, giving up, and no double sending."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from portal.clock import utcnow
from portal.db import write_transaction
from portal.jobs.tables import Job
from portal.jobs.worker import drain
from portal.mail.jobs import smtp_options
from portal.mail.services import OUTBOX_PAGE, outbox_page, queue_mail
from portal.mail.tables import OutboundMail
from portal.settings import get_settings, use_settings

LINK = "http://testserver/verify/tok-3f9a_XYZ"
SUBJECT = "Confirm your email address for Front Desk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """aiosmtpd handler that keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(app, settings):
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    use_settings(settings.with_(smtp_url=f"smtp://127.0.0.1:{controller.port}"))
    try:
        yield collector
    finally:
        use_settings(settings)
        controller.stop()


@pytest.fixture
def smtp_down(app, settings):
    use_settings(settings.with_(smtp_url=f"smtp://127.0.0.1:{free_port()}"))  # nothing listens there
    yield
    use_settings(settings)


async def queue_verify_mail(to: str = "ann@example.org") -> int:
    async with write_transaction():
        return await queue_mail(to, "verify_email", {"name": "Ann Lee", "link": LINK})


async def mail_row(mail_id: int) -> dict:
    return await OutboundMail.select().where(OutboundMail.id == mail_id).first()


async def send_job(mail_id: int) -> dict:
    rows = await Job.select().where(Job.kind == "mail.send")
    rows = [row for row in rows if json.loads(row["payload"]) == {"mail_id": mail_id}]
    assert len(rows) == 1, rows
    return rows[0]


async def make_due(job_id: int) -> None:
    async with write_transaction():
        await Job.update({Job.run_at: utcnow() - timedelta(seconds=1)}).where(Job.id == job_id).run()


async def test_without_smtp_mail_is_rendered_queued_then_stored(app):
    assert not get_settings().smtp_url
    mail_id = await queue_verify_mail()
    row = await mail_row(mail_id)
    assert row["status"] == "queued" and row["sent_at"] is None and row["template"] == "verify_email"
    assert row["to_address"] == "ann@example.org"
    assert row["subject"] == SUBJECT
    assert "Hello Ann Lee," in row["body_text"] and LINK in row["body_text"]
    assert not row["body_text"].startswith(SUBJECT)  # the subject line is not repeated in the body
    assert LINK in row["body_html"] and "<title>" + SUBJECT + "</title>" in row["body_html"]
    job = await send_job(mail_id)
    assert job["done_at"] is None

    assert await drain("test-worker") == 1
    row = await mail_row(mail_id)
    assert row["status"] == "stored" and row["sent_at"] is not None and row["error"] == ""
    assert (await send_job(mail_id))["done_at"] is not None


async def test_rolled_back_change_queues_no_mail(app):
    with pytest.raises(ZeroDivisionError):
        async with write_transaction():
            await queue_mail("ann@example.org", "verify_email", {"name": "Ann", "link": LINK})
            1 / 0  # noqa: B018 - the error rolls the transaction back
    assert await OutboundMail.count() == 0 and await Job.count() == 0


async def test_html_body_escapes_the_context(app):
    async with write_transaction():
        mail_id = await queue_mail(
            "ann@example.org", "verify_email", {"name": "<script>alert(1)</script>", "link": LINK}
        )
    row = await mail_row(mail_id)
    assert "<script>" not in row["body_html"] and "&lt;script&gt;" in row["body_html"]


async def test_mail_is_delivered_over_smtp(smtp_server, settings):
    mail_id = await queue_verify_mail()
    assert await drain("test-worker") == 1

    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["ann@example.org"]
    assert envelope.mail_from == "desk@localhost"
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == SUBJECT
    assert message["To"] == "ann@example.org"
    assert message["From"] == settings.mail_from
    assert message["Message-ID"] and message["Date"]
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None and plain is not html
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert LINK in plain.get_content() and "Hello Ann Lee," in plain.get_content()
    assert LINK in html.get_content() and "<a href=" in html.get_content()

    row = await mail_row(mail_id)
    assert row["status"] == "sent" and row["sent_at"] is not None and row["error"] == ""
    assert (await send_job(mail_id))["done_at"] is not None


async def test_non_ascii_subject_and_body_survive_smtp(smtp_server):
    use_settings(get_settings().with_(site_name="Café Zoë"))  # the fixture restores the settings
    async with write_transaction():
        await queue_mail("zoe@example.org", "verify_email", {"name": "Zoë Ångström", "link": LINK})
    assert await drain("test-worker") == 1
    [envelope] = smtp_server.envelopes
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == "Confirm your email address for Café Zoë"
    assert "Hello Zoë Ångström," in message.get_body(preferencelist=("plain",)).get_content()
    assert "Zoë Ångström" in message.get_body(preferencelist=("html",)).get_content()


async def test_smtp_down_retries_then_marks_the_mail_failed(smtp_down):
    mail_id = await queue_verify_mail()
    assert await drain("test-worker") == 1  # one attempt, then the retry is not due yet

    job = await send_job(mail_id)
    assert job["done_at"] is None and job["failed_at"] is None
    assert job["attempts"] == 1 and job["run_at"] > utcnow() and job["last_error"]
    row = await mail_row(mail_id)
    assert row["status"] == "queued" and row["sent_at"] is None and row["error"]

    # Last attempt: the give-up hook marks the message failed.
    async with write_transaction():
        await Job.update({Job.max_attempts: 2}).where(Job.id == job["id"]).run()
    await make_due(job["id"])
    assert await drain("test-worker") == 1
    job = await send_job(mail_id)
    assert job["attempts"] == 2 and job["failed_at"] is not None and job["done_at"] is None
    row = await mail_row(mail_id)
    assert row["status"] == "failed" and row["sent_at"] is None and row["error"]
    assert await drain("test-worker") == 0


async def test_retried_job_for_a_sent_mail_does_not_send_twice(smtp_server):
    mail_id = await queue_verify_mail()
    assert await drain("test-worker") == 1
    assert len(smtp_server.envelopes) == 1
    sent_at = (await mail_row(mail_id))["sent_at"]

    # The job runs again (its lease ran out before it was marked done, or it was enqueued twice).
    job = await send_job(mail_id)
    async with write_transaction():
        await (
            Job.update({Job.done_at: None, Job.locked_until: None, Job.run_at: utcnow() - timedelta(seconds=1)})
            .where(Job.id == job["id"])
            .run()
        )
    assert await drain("test-worker") == 1
    assert len(smtp_server.envelopes) == 1
    row = await mail_row(mail_id)
    assert row["status"] == "sent" and row["sent_at"] == sent_at
    assert (await send_job(mail_id))["done_at"] is not None


async def test_stored_mail_is_not_sent_when_smtp_is_configured_later(app, settings):
    mail_id = await queue_verify_mail()
    assert await drain("test-worker") == 1
    assert (await mail_row(mail_id))["status"] == "stored"

    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    use_settings(settings.with_(smtp_url=f"smtp://127.0.0.1:{controller.port}"))
    try:
        job = await send_job(mail_id)
        async with write_transaction():
            await (
                Job.update({Job.done_at: None, Job.run_at: utcnow() - timedelta(seconds=1)})
                .where(Job.id == job["id"])
                .run()
            )
        assert await drain("test-worker") == 1
        assert collector.envelopes == []
    finally:
        use_settings(settings)
        controller.stop()


async def test_outbox_page_is_newest_first_and_keyset_paginated(app):
    async with write_transaction():
        ids = [
            await queue_mail(f"user{n}@example.org", "verify_email", {"name": "U", "link": LINK})
            for n in range(OUTBOX_PAGE + 3)
        ]
        await queue_mail("ann@example.org", "verify_email", {"name": "Ann", "link": LINK})
    first, cursor = await outbox_page()
    assert len(first) == OUTBOX_PAGE and first[0].to_address == "ann@example.org"
    assert [row.id for row in first] == sorted((row.id for row in first), reverse=True)
    assert cursor == first[-1].id
    second, cursor2 = await outbox_page(before_id=cursor)
    assert cursor2 is None
    assert {row.id for row in first}.isdisjoint(row.id for row in second)
    assert len(first) + len(second) == len(ids) + 1
    only, none = await outbox_page(to=" Ann@Example.org ")
    assert [row.to_address for row in only] == ["ann@example.org"] and none is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://u:p@h:25",
            {"hostname": "h", "port": 25, "use_tls": False, "start_tls": False, "username": "u", "password": "p"},
        ),
        ("smtp://mail.example.org", {"hostname": "mail.example.org", "port": 25, "use_tls": False, "start_tls": False}),
        ("smtp+starttls://h", {"hostname": "h", "port": 587, "use_tls": False, "start_tls": True}),
        (
            "smtp+starttls://u:p@h:2525",
            {"hostname": "h", "port": 2525, "use_tls": False, "start_tls": True, "username": "u", "password": "p"},
        ),
        ("smtps://h", {"hostname": "h", "port": 465, "use_tls": True, "start_tls": False}),
        (
            "smtps://desk%40example.org:p%3As%2Fw@h",
            {
                "hostname": "h",
                "port": 465,
                "use_tls": True,
                "start_tls": False,
                "username": "desk@example.org",
                "password": "p:s/w",
            },
        ),
    ],
)
def test_smtp_options(url, expected):
    options = smtp_options(url)
    assert {key: value for key, value in options.items() if key != "timeout"} == expected
    assert options["timeout"] > 0
