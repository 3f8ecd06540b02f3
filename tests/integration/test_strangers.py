"""What the server tells strangers: the answer to an existing address and to an unknown one take the
same work, the outbox does not hand out working links, the public preview is bounded, and a demoted
staff member's calendar feed stops."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.booking.tables import StaffFeed
from portal.clock import utcnow
from portal.db import count_queries, write_transaction
from portal.jobs.worker import SCHEDULES, drain
from portal.mail import services as mail_services
from portal.mail.services import redact_delivered_mail
from portal.mail.tables import OutboundMail
from portal.settings import use_settings
from portal.tickets.rules import GUEST_PREVIEWS_PER_IP as PREVIEWS_PER_IP
from tests.conftest import link_in
from tests.integration.test_tickets_front import category, guest_form, post_ticket  # noqa: F401


async def _counted_post(browser, url: str, data: dict) -> tuple[int, str, int]:
    await browser.get(url)  # the CSRF cookie first, so only the POST is counted
    with count_queries() as queries:
        response = await browser.post(url, data)
    return response.status_code, response.text, queries[0]


async def test_password_reset_does_the_same_work_for_known_and_unknown_addresses(
    browser, make_browser, make_user, outbox
):
    await make_user("bob@example.org")
    known = await _counted_post(browser, "/password/forgot", {"email": "bob@example.org"})
    unknown = await _counted_post(browser, "/password/forgot", {"email": "nobody@example.org"})
    assert known[0] == unknown[0] == 200
    assert known[1].replace("bob@", "x@") == unknown[1].replace("nobody@", "x@")
    assert known[2] == unknown[2], (known[2], unknown[2])
    assert await outbox("bob@example.org") == []  # nothing is mailed inside the request

    await drain()
    link = link_in((await outbox("bob@example.org"))[-1]["body_text"], "/password/reset/")
    assert "Choose a new password" in (await (await make_browser()).get(link)).text
    assert await outbox("nobody@example.org") == []


async def test_find_my_ticket_does_the_same_work_for_right_and_wrong_addresses(
    browser,
    make_browser,
    category,  # noqa: F811
    outbox,
):
    await post_ticket(await make_browser(), guest_form(category))
    await drain()
    number = (await outbox("gwen@example.org"))[-1]["subject"].split("]")[0].lstrip("[#")
    right = await _counted_post(browser, "/tickets/find", {"number": number, "email": "gwen@example.org"})
    wrong = await _counted_post(browser, "/tickets/find", {"number": number, "email": "eve@example.org"})
    assert right[0] == wrong[0] == 200
    assert right[1].replace("gwen@", "x@") == wrong[1].replace("eve@", "x@")
    assert right[2] == wrong[2], (right[2], wrong[2])
    before = len(await outbox("gwen@example.org"))

    await drain()
    mails = await outbox("gwen@example.org")
    assert len(mails) == before + 1 and "Your link" in mails[-1]["subject"]
    assert await outbox("eve@example.org") == []


# --- a staff member who stops being staff loses the calendar feed --------------------------------


async def _feed_path(staff) -> str:
    created = await staff.post("/back/calendar/feed", {})
    return re.search(r'value="http://testserver(/feeds/staff/[A-Za-z0-9_-]+\.ics)"', created.text).group(1)


@pytest.mark.parametrize("change", ["demote", "deactivate"])
async def test_staff_who_stops_being_staff_loses_the_calendar_feed(make_browser, make_user, change):
    await make_user("root@example.org", "admin")
    sam_id = await make_user("sam@example.org", "agent")
    admin, sam, anonymous = await make_browser(), await make_browser(), await make_browser()
    await admin.login("root@example.org")
    await sam.login("sam@example.org")
    path = await _feed_path(sam)
    assert (await anonymous.get(path)).status_code == 200

    if change == "demote":
        assert (await admin.post(f"/back/users/{sam_id}/role", {"role": "customer"})).status_code == 303
    else:
        assert (await admin.post(f"/back/users/{sam_id}/active", {"active": "0"})).status_code == 303
    assert (await anonymous.get(path)).status_code == 404

    # Made staff again, they start without a feed: the old address stays dead.
    if change == "demote":
        await admin.post(f"/back/users/{sam_id}/role", {"role": "agent"})
    else:
        await admin.post(f"/back/users/{sam_id}/active", {"active": "1"})
    assert (await anonymous.get(path)).status_code == 404
    assert await StaffFeed.count().where(StaffFeed.staff == sam_id) == 0


# --- the public Markdown preview -----------------------------------------------------------------


async def test_anonymous_preview_is_size_capped_but_signed_in_people_keep_the_full_length(make_browser, make_user):
    long_text = "word " * 5_000  # 25 KB: over the visitor cap, under the ticket body limit
    anonymous = await make_browser()
    refused = await anonymous.post("/tickets/preview", {"body": long_text})
    assert refused.status_code == 413 and "20 KB" in refused.text
    assert (await anonymous.post("/tickets/preview", {"body": "**bold**"})).text.count("<strong>bold</strong>") == 1

    await make_user("ann@example.org")
    ann = await make_browser()
    await ann.login("ann@example.org")
    shown = await ann.post("/tickets/preview", {"body": long_text})
    assert shown.status_code == 200 and shown.text.count("word") >= 4_000


async def test_anonymous_preview_is_throttled_per_address(make_browser, make_user):
    anonymous = await make_browser()
    for _ in range(PREVIEWS_PER_IP):
        assert (await anonymous.post("/tickets/preview", {"body": "hello"})).status_code == 200
    throttled = await anonymous.post("/tickets/preview", {"body": "hello"})
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert "Too many previews" in throttled.text
    await make_user("ann@example.org")
    ann = await make_browser()
    await ann.login("ann@example.org")
    assert (await ann.post("/tickets/preview", {"body": "hello"})).status_code == 200  # signed in: not throttled


# --- the outbox does not hand out working links ------------------------------------------------


async def _admin_and_reset_mail(make_browser, make_user) -> tuple:
    await make_user("root@example.org", "admin")
    await make_user("bob@example.org")
    admin = await make_browser()
    await admin.login("root@example.org")
    await admin.post("/password/forgot", {"email": "bob@example.org"})
    await drain()
    mail = (await OutboundMail.select().where(OutboundMail.to_address == "bob@example.org"))[-1]
    return admin, mail, link_in(mail["body_text"], "/password/reset/")


async def test_outbox_masks_links_of_mail_delivered_to_a_mailbox(make_browser, make_user):
    admin, mail, link = await _admin_and_reset_mail(make_browser, make_user)
    async with write_transaction():  # as if delivered over SMTP
        await OutboundMail.update({OutboundMail.status: "sent"}).where(OutboundMail.id == mail["id"]).run()
    token = link.rsplit("/", 1)[-1]
    page = await admin.get(f"/back/outbox/{mail['id']}")
    assert page.status_code == 200 and "Choose a new password" in page.text
    assert token not in page.text and "/password/reset/…" in page.text


async def test_outbox_without_smtp_is_the_mailbox_and_shows_links(make_browser, make_user):
    admin, mail, link = await _admin_and_reset_mail(make_browser, make_user)
    assert mail["status"] == "stored"  # no SMTP: the outbox is where the mail is read
    assert link in (await admin.get(f"/back/outbox/{mail['id']}")).text


@pytest.mark.parametrize("kind", ["verify", "guest", "manage", "feed"])
def test_every_secret_link_kind_is_masked(kind):
    token = "AbC_dEf-0123456789" * 2
    path = {"verify": "/verify/", "guest": "/t/", "manage": "/appointments/manage/", "feed": "/feeds/staff/"}[kind]
    text = f'Open <a href="http://desk.example.org{path}{token}/rate?r=good">this</a>'
    masked = mail_services.mask_secret_links(text)
    assert token not in masked and f"{path}…/rate?r=good" in masked
    assert mail_services.mask_secret_links("see /tickets/1234 and /t/short") == "see /tickets/1234 and /t/short"


async def test_delivered_mail_bodies_are_redacted_after_the_retention(make_browser, make_user, settings):
    admin, mail, link = await _admin_and_reset_mail(make_browser, make_user)
    token = link.rsplit("/", 1)[-1]
    async with write_transaction():  # one more, never delivered: it keeps its body
        await OutboundMail.insert(
            OutboundMail(
                to_address="carl@example.org",
                subject="Pending",
                body_text=link,
                body_html=link,
                status="failed",
                created_at=utcnow(),
            )
        ).run()
    await redact_delivered_mail()
    assert token in (await OutboundMail.select().where(OutboundMail.id == mail["id"]).first())["body_text"]

    await redact_delivered_mail(now=utcnow() + timedelta(days=settings.outbox_retention_days, minutes=1))
    redacted = await OutboundMail.select().where(OutboundMail.id == mail["id"]).first()
    assert token not in redacted["body_text"] and token not in redacted["body_html"]
    assert "/password/reset/…" in redacted["body_text"] and "Choose a new one here" in redacted["body_text"]
    assert redacted["redacted_at"] is not None
    pending = await OutboundMail.select().where(OutboundMail.to_address == "carl@example.org").first()
    assert pending["body_text"] == link and pending["redacted_at"] is None
    assert token not in (await admin.get(f"/back/outbox/{mail['id']}")).text
    assert "mail.redact_delivered" in {schedule.kind for schedule in SCHEDULES}


async def test_retention_zero_redacts_at_delivery(make_browser, make_user, settings):
    use_settings(settings.with_(outbox_retention_days=0))
    _, mail, _ = await _admin_and_reset_mail(make_browser, make_user)
    assert "/password/reset/…" in mail["body_text"] and mail["redacted_at"] is not None
