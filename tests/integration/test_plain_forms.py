"""Forms as a browser without JavaScript sends them: a multipart submit with an untouched file input
(an empty part named ``files`` with ``filename=""``), and bulk actions with nothing ticked."""

from __future__ import annotations

from portal.tickets.tables import Message, Ticket
from tests.conftest import link_in
from tests.integration.test_console import agent, desk, file_ticket  # noqa: F401  (fixtures)

BOUNDARY = "----WebKitFormBoundaryq7a9HcJv3pT2xLmE"


def browser_multipart(fields: dict[str, str], file_inputs: tuple[str, ...] = ("files",)) -> tuple[bytes, dict]:
    """The body Chromium and Firefox send for a form whose file inputs were left empty."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts += [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename=""\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n\r\n".encode()
        for name in file_inputs
    ]
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def send_plain_form(browser, url: str, fields: dict[str, str], file_inputs: tuple[str, ...] = ("files",)):
    if "csrftoken" not in browser.cookies:
        await browser.get("/")
    body, headers = browser_multipart({**fields, "_csrf_token": browser.cookies.get("csrftoken")}, file_inputs)
    return await browser.client.post(url, content=body, headers=headers)


def new_ticket(category: int, **overrides) -> dict[str, str]:
    return {
        "name": "Gwen Guest",
        "email": "gwen@example.org",
        "category": str(category),
        "subject": "No file",
        "body": "Nothing attached.",
        "website": "",
        **overrides,
    }


async def test_a_ticket_filed_without_javascript_or_attachment_is_created(desk, make_browser):
    guest = await make_browser()
    response = await send_plain_form(guest, "/tickets/new", new_ticket(desk.tech))
    assert response.status_code == 201, response.text[:2000]
    assert await Ticket.count() == 1


async def test_an_empty_plain_submit_shows_the_validation_errors(desk, make_browser):
    guest = await make_browser()
    response = await send_plain_form(guest, "/tickets/new", dict.fromkeys(new_ticket(desk.tech), ""))
    assert response.status_code == 422, response.text[:2000]
    assert "could not be read" not in response.text
    assert 'aria-invalid="true"' in response.text
    assert await Ticket.count() == 0


async def test_replies_without_javascript_or_attachment_are_added(desk, make_browser, outbox):
    guest = await make_browser()
    await send_plain_form(guest, "/tickets/new", new_ticket(desk.tech, email="ann@example.org"))
    ticket = await Ticket.select().first()
    link = link_in((await outbox("ann@example.org"))[-1]["body_text"], "/t/")
    by_link = await send_plain_form(guest, f"{link}/reply", {"body": "From my link."})
    assert by_link.status_code == 303, by_link.text[:2000]
    customer = await agent(make_browser, "ann@example.org")
    await Ticket.update({Ticket.requester: desk.ann}).where(Ticket.id == ticket["id"]).run()
    signed_in = await send_plain_form(customer, f"/tickets/{ticket['number']}/reply", {"body": "Signed in."})
    assert signed_in.status_code == 303, signed_in.text[:2000]
    ben = await agent(make_browser, "ben@example.org")
    for kind, text in (("public", "An answer."), ("internal", "A note.")):
        response = await send_plain_form(
            ben, f"/back/tickets/{ticket['number']}/reply", {"body": text, "kind": kind, "status": ""}
        )
        assert response.status_code == 303, response.text[:2000]
    bodies = [m["body_source"] for m in await Message.select(Message.body_source).order_by(Message.id)]
    assert bodies[1:] == ["From my link.", "Signed in.", "An answer.", "A note."]


async def test_empty_plain_replies_show_the_message_not_a_400(desk, make_browser):
    ticket = await file_ticket("Empty replies", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    response = await send_plain_form(
        ben, f"/back/tickets/{ticket['number']}/reply", {"body": "", "kind": "public", "status": ""}
    )
    assert response.status_code == 422 and "could not be read" not in response.text
    assert await Message.count() == 1


async def test_every_upload_form_accepts_an_untouched_file_input(desk, make_browser, app):
    """Every multipart form any role is shown, sent as the page filled it with its file inputs left
    empty: an answer about the form (a redirect, the result, or the form with its messages), never
    the 400 of a request that could not be read."""
    from tests.integration.test_bad_input import _crawl, _world

    params, browsers = await _world(desk, make_browser)
    forms, _ = await _crawl(app, params, browsers)
    uploads = [(role, form) for role, form in forms if form.multipart]
    assert {form.action.rsplit("/", 1)[-1] for _, form in uploads} >= {"new", "reply", "import"}
    for role, form in uploads:
        file_inputs = tuple(name for name, kind in form.types.items() if kind == "file")
        fields = {name: value for name, value in form.fields.items() if name not in file_inputs}
        response = await send_plain_form(browsers[role], form.action, fields, file_inputs)
        assert response.status_code not in (400, 500), (role, form.action, response.text[:1500])


async def test_bulk_apply_with_nothing_ticked_says_so(desk, make_browser):
    """The bulk bar sent with no ticket ticked has no ``number`` field at all."""
    await file_ticket("Left alone", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    plain = await ben.post(
        "/back/tickets/bulk",
        {
            "next": "/back/tickets?view=open",
            "status": "solved",
            "priority": "",
            "assignee": "",
            "team": "",
            "add_tag": "",
        },
    )
    assert plain.status_code == 303 and plain.headers["location"] == "/back/tickets?view=open"
    assert "Select at least one ticket" in (await ben.get("/back/tickets?view=open")).text
    htmx = await ben.post(
        "/back/tickets/bulk",
        {"next": "/back/tickets", "status": "solved"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/back/tickets"},
    )
    assert htmx.status_code == 200 and htmx.headers.get("HX-Refresh") == "true"
    assert "Select at least one ticket" in (await ben.get("/back/tickets")).text
    assert (await Ticket.select(Ticket.status).first())["status"] == "new"


async def test_schedule_copy_can_target_monday(desk, make_browser):
    from portal.booking.tables import WeeklyHours

    await WeeklyHours.insert(WeeklyHours(staff=desk.ben, weekday=1, start_minute=540, end_minute=1020)).run()
    admin = await agent(make_browser, "ada@example.org")
    response = await admin.post(f"/back/schedules/{desk.ben}/copy", {"source": "1", "targets": ["0"]})
    assert response.status_code == 303, response.text[:2000]
    rows = await WeeklyHours.select(WeeklyHours.weekday).where(WeeklyHours.staff == desk.ben)
    assert sorted(r["weekday"] for r in rows) == [0, 1]
