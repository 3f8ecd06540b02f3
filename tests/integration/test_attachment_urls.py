"""Inline attachments in messages: stored as references, resolved for whoever reads the page.

The customer's page, a guest link and the console each have their own attachment route; an
inline image must point every viewer at theirs, also after a merge (the number changes) and for
messages stored before references (with the customer-page URL baked in)."""

from __future__ import annotations

import re

from portal.clock import utcnow
from portal.tickets.tables import Attachment, Category, Message, Ticket
from tests.conftest import Browser, link_in

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


async def _guest_ticket(browser: Browser, outbox, category: int, subject: str, files: list | None = None) -> str:
    """A ticket filed through the guest form by gwen@example.org; returns its guest link."""
    await browser.get("/tickets/new")
    response = await browser.client.post(
        "/tickets/new",
        files=files or [],
        data={
            "name": "Gwen Guest",
            "email": "gwen@example.org",
            "subject": subject,
            "body": "Look.",
            "category": str(category),
            "website": "",
            "_csrf_token": browser.cookies.get("csrftoken"),
        },
    )
    assert response.status_code == 201, response.text
    return link_in((await outbox("gwen@example.org"))[-1]["body_text"], "/t/")


async def _viewers(make_browser, make_user) -> tuple[Browser, Browser]:
    """Gwen signed in (her verified account claims the guest tickets whose link she used) and an agent."""
    await make_user("gwen@example.org", name="Gwen Guest")
    await make_user("agent@example.org", "agent", name="Ben Agent")
    customer, agent = await make_browser(), await make_browser()
    await customer.login("gwen@example.org")
    await agent.login("agent@example.org")
    return customer, agent


def _image_sources(page: str) -> list[str]:
    return re.findall(r'<img src="([^"]*)"', page)


async def _assert_image_for_each_viewer(views: list[tuple[Browser, str, str]]) -> None:
    """Each viewer's page shows the inline image at their own attachment route, and it loads."""
    for client, page_path, expected_src in views:
        page = await client.get(page_path)
        assert page.status_code == 200, page_path
        assert _image_sources(page.text) == [expected_src], (page_path, _image_sources(page.text))
        image = await client.get(expected_src)
        assert image.status_code == 200 and image.content == PNG, expected_src


async def test_inline_image_resolves_for_customer_guest_link_and_agent(make_browser, make_user, outbox):
    category = (await Category.insert(Category(name="Technical problem", position=1)).run())[0]["id"]
    customer, agent = await _viewers(make_browser, make_user)
    guest = await make_browser()
    link = await _guest_ticket(guest, outbox, category, "Screenshot", [("files", ("shot.png", PNG, "image/png"))])
    number = (await Ticket.select(Ticket.number).first())["number"]
    shot = (await Attachment.select(Attachment.id).first())["id"]

    reply = await guest.post(f"{link}/reply", {"body": f"Here: ![the error](/tickets/{number}/attachments/{shot})"})
    assert reply.status_code == 303
    stored = (await Message.select(Message.body_html).order_by(Message.id, ascending=False).first())["body_html"]
    assert f'src="attachment:{shot}"' in stored and "/tickets/" not in stored  # no viewer's URL stored

    await _assert_image_for_each_viewer(
        [
            (guest, link, f"{link}/attachments/{shot}"),
            (customer, f"/tickets/{number}", f"/tickets/{number}/attachments/{shot}"),
            (agent, f"/back/tickets/{number}", f"/back/tickets/{number}/attachments/{shot}"),
        ]
    )
    # The guest link's thread fragment (polled by htmx) resolves for the link as well.
    status = (await Ticket.select(Ticket.status).first())["status"]
    fragment = await guest.get(f"{link}/thread?v={status}-0", headers={"HX-Request": "true"})
    assert _image_sources(fragment.text) == [f"{link}/attachments/{shot}"]

    # A message stored before references, with the customer-page URL baked in, works for all too.
    legacy = f'<p><img src="/tickets/{number}/attachments/{shot}" alt="old"></p>'
    await Message.update({Message.body_html: legacy}).where(Message.body_html == stored).run()
    await _assert_image_for_each_viewer(
        [
            (guest, link, f"{link}/attachments/{shot}"),
            (customer, f"/tickets/{number}", f"/tickets/{number}/attachments/{shot}"),
            (agent, f"/back/tickets/{number}", f"/back/tickets/{number}/attachments/{shot}"),
        ]
    )


async def test_inline_image_of_an_agent_reply_written_from_the_console(make_browser, make_user, outbox):
    category = (await Category.insert(Category(name="Technical problem", position=1)).run())[0]["id"]
    customer, agent = await _viewers(make_browser, make_user)
    guest = await make_browser()
    link = await _guest_ticket(guest, outbox, category, "Screenshot", [("files", ("shot.png", PNG, "image/png"))])
    number = (await Ticket.select(Ticket.number).first())["number"]
    shot = (await Attachment.select(Attachment.id).first())["id"]

    # The agent copies the file's address from the console.
    body = f"Is it this? ![yours](/back/tickets/{number}/attachments/{shot})"
    reply = await agent.post(f"/back/tickets/{number}/reply", {"body": body, "kind": "public"})
    assert reply.status_code == 303, reply.text
    await _assert_image_for_each_viewer(
        [
            (guest, link, f"{link}/attachments/{shot}"),
            (customer, f"/tickets/{number}", f"/tickets/{number}/attachments/{shot}"),
            (agent, f"/back/tickets/{number}", f"/back/tickets/{number}/attachments/{shot}"),
        ]
    )


async def test_inline_image_of_an_internal_note_file_stays_hidden_from_customers(make_browser, make_user, outbox):
    category = (await Category.insert(Category(name="Technical problem", position=1)).run())[0]["id"]
    customer, agent = await _viewers(make_browser, make_user)
    guest = await make_browser()
    link = await _guest_ticket(guest, outbox, category, "Screenshot")
    number = (await Ticket.select(Ticket.number).first())["number"]
    await guest.get(link)  # the address is proven: the ticket joins Gwen's account

    await agent.get(f"/back/tickets/{number}")
    note = await agent.client.post(
        f"/back/tickets/{number}/reply",
        data={"body": "Server side.", "kind": "internal", "_csrf_token": agent.cookies.get("csrftoken")},
        files=[("files", ("internal.png", PNG, "image/png"))],
    )
    assert note.status_code == 303, note.text
    internal = (await Attachment.select(Attachment.id).first())["id"]
    reply = await guest.post(f"{link}/reply", {"body": f"![guess](/tickets/{number}/attachments/{internal})"})
    assert reply.status_code == 303

    for client, page_path, src in (
        (guest, link, f"{link}/attachments/{internal}"),
        (customer, f"/tickets/{number}", f"/tickets/{number}/attachments/{internal}"),
    ):
        page = await client.get(page_path)
        assert _image_sources(page.text) == [src]
        assert (await client.get(src)).status_code == 404, src
    agent_src = f"/back/tickets/{number}/attachments/{internal}"
    assert _image_sources((await agent.get(f"/back/tickets/{number}")).text) == [agent_src]
    assert (await agent.get(agent_src)).status_code == 200


async def test_inline_images_follow_a_merge(make_browser, make_user, outbox):
    category = (await Category.insert(Category(name="Technical problem", position=1)).run())[0]["id"]
    customer, agent = await _viewers(make_browser, make_user)
    guest = await make_browser()
    target_link = await _guest_ticket(guest, outbox, category, "Printer")
    duplicate_link = await _guest_ticket(
        guest, outbox, category, "Printer again", [("files", ("shot.png", PNG, "image/png"))]
    )
    await guest.get(target_link)  # both join Gwen's account
    await guest.get(duplicate_link)
    target, duplicate = [row["number"] for row in await Ticket.select(Ticket.number).order_by(Ticket.id)]
    shot = (await Attachment.select(Attachment.id).first())["id"]
    reply = await guest.post(f"{duplicate_link}/reply", {"body": f"![jam](/tickets/{duplicate}/attachments/{shot})"})
    assert reply.status_code == 303
    # One more message the old way (stored before references) with the duplicate's number baked in.
    await Message.insert(
        Message(
            ticket=(await Ticket.select(Ticket.id).where(Ticket.number == duplicate).first())["id"],
            author_name="Gwen Guest",
            kind="public",
            body_source="old",
            body_html=f'<p><img src="/tickets/{duplicate}/attachments/{shot}" alt="old"></p>',
            created_at=utcnow(),
        )
    ).run()

    merged = await agent.post(f"/back/tickets/{duplicate}/merge", {"into": str(target)})
    assert merged.status_code == 303, merged.text

    for client, page_path, src in (
        (guest, target_link, f"{target_link}/attachments/{shot}"),
        (customer, f"/tickets/{target}", f"/tickets/{target}/attachments/{shot}"),
        (agent, f"/back/tickets/{target}", f"/back/tickets/{target}/attachments/{shot}"),
    ):
        page = await client.get(page_path)
        assert page.status_code == 200, page_path
        assert _image_sources(page.text) == [src, src], (page_path, _image_sources(page.text))
        image = await client.get(src)
        assert image.status_code == 200 and image.content == PNG, src
