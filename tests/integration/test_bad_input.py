"""Hostile or odd input on every route: always an answer with a message (4xx or the page with its
errors), never a 500 — ids no row can have, non-ASCII digits, NUL bytes, far dates, huge or
non-finite numbers, control characters, invalid UTF-8. The crawler test derives its routes from the
app's route table and its fields from the forms and links the pages render, for every role."""

from __future__ import annotations

import re
from datetime import UTC

from tests.integration.test_access_policy import _endpoints
from tests.integration.test_console import agent, desk, file_ticket  # noqa: F401  (fixtures)

ODD = [
    "",
    "\x00",
    "a\x00b",
    "abc",
    "-1",
    "²",
    "99999999999999999999999",
    "3000000000",
    "%00",
    "'; DROP TABLE ticket;--",
    "<script>",
    "1.5",
    "#",
    "saved-²",
    "saved-999",
]


async def test_odd_query_and_form_values_never_fail(desk, make_browser):
    number = (await file_ticket("Odd input", desk.tech))["number"]
    admin = await agent(make_browser, "ada@example.org")
    failures = []
    for v in ODD:
        if "\x00" not in v:  # a raw NUL cannot even be put in a URL
            for url in [
                f"/back/tickets?view={v}",
                f"/back/tickets?after={v}",
                f"/back/tickets?sort={v}&after={v}",
                f"/back/tickets?team={v}&assignee={v}&category={v}&tag={v}&requester={v}&sla={v}"
                f"&status={v}&priority={v}&created_from={v}&updated_to={v}",
                f"/back/tickets?q={v}",
                f"/back/tickets?view=open&sort=due&after={v}",
                f"/back/tickets/counts?view={v}",
                f"/back/tickets/{number}?canned={v}",
                f"/events?ticket={v}",
                f"/back/reports?from={v}&to={v}&team={v}&agent={v}&category={v}&channel={v}&by={v}&tab={v}",
                f"/back/reports/export?table={v}",
                f"/back/canned?edit={v}",
                f"/back/outbox?before={v}",
            ]:
                response = await admin.get(url)
                if response.status_code >= 500:
                    failures.append(("GET", url, response.status_code))
        for url, data in [
            (f"/back/tickets/{number}/fields", {"status": v, "priority": v, "team": v, "assignee": v, "category": v}),
            (f"/back/tickets/{number}/tags", {"tags": v}),
            (f"/back/tickets/{number}/merge", {"into": v}),
            (f"/back/tickets/{number}/reply", {"body": v, "kind": v, "status": v}),
            (
                "/back/tickets/bulk",
                {"number": [v, str(number)], "status": v, "assignee": v, "team": v, "add_tag": v, "next": v},
            ),
            ("/back/tickets/views", {"name": v, "query": v, "team": v}),
            ("/back/canned", {"title": v, "body": v, "shared": v}),
            ("/back/teams", {"name": v}),
            (f"/back/teams/{desk.support}/members", {"user": v}),
            ("/back/categories", {"name": v, "team": v}),
            (f"/back/users/{desk.ben}/agent", {"available": v, "cap": v, "limited": v}),
            ("/back/availability", {"available": v, "next": v}),
            (
                "/back/sla/policies",
                {"name": v, "priority": v, "category": v, "calendar": v, "first_response": v, "resolution": v},
            ),
            ("/back/sla/calendars", {"name": v, "timezone": v, "day0": v, "day1": v}),
        ]:
            response = await admin.post(url, data)
            if response.status_code >= 500:
                failures.append(("POST", url, repr(v), response.status_code))
    assert not failures, failures


async def test_nul_bytes_get_a_clear_400(desk, make_browser):
    admin = await agent(make_browser, "ada@example.org")
    response = await admin.get("/back/tickets?requester=%00")
    assert response.status_code == 400 and "NUL byte" in response.text
    response = await admin.post("/back/teams", {"name": "Night\x00shift"})
    assert response.status_code == 400 and "NUL byte" in response.text


async def test_ids_no_row_can_have_answer_404_on_every_route(desk, make_browser, app):
    admin = await agent(make_browser, "ada@example.org")
    failures = []
    for big in ("99999999999999999999999", "3000000000"):
        for path, method in _endpoints(app):
            if "{" not in path or path.startswith("/static") or path == "/events":
                continue
            url = re.sub(r"\{(\w+)\}", lambda m: "x" if m.group(1) in ("token", "slug", "file_path") else big, path)  # noqa: B023
            response = await (admin.get(url) if method == "GET" else admin.post(url, {}))
            if response.status_code >= 500:
                failures.append((method, url, response.status_code))
    assert not failures, failures
    assert (await admin.get("/back/tickets/99999999999999999999999")).status_code == 404


# --- every page's forms and links, with hostile values of each class --------------------------------

FAR_DATES = [
    "9999-12-31",
    "0001-01-01",
    "9999-12",
    "0001-01",
    "0001-01-01T00:00+14:00",
    "9999-12-31T23:59-14:00",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
]
HUGE_NUMBERS = [
    "9" * 4400,
    "99999999999999999999999",
    "-99999999999999999999999",
    "1e400",
    "1e400h",
    "infd",
    "nan",
    "-inf",
    "-5",
]
CONTROL = ["a\x01b\x1f", "x\x1b[31m\x7f", "a\u2028b\x85"]
HOSTILE = FAR_DATES + HUGE_NUMBERS + CONTROL
# One of each shape, sent to each field alone (the others keep the page's values, so that the
# form's other checks pass and the odd value reaches its parser); the full list goes to all fields at once.
EACH_FIELD = ["9999-12-31", "0001-01-01T00:00+14:00", "9999-12", "9" * 4400, "1e400h", "infd", "a\x01b\x7f"]


async def _world(desk, make_browser) -> tuple[dict[str, str], dict[str, object]]:
    """Real rows behind every kind of path parameter, and a browser per role (admin, agent,
    customer, anonymous), so that pages render their forms."""
    import json
    from datetime import timedelta

    from portal.booking.tables import Appointment, Service, ServiceStaff, WeeklyHours
    from portal.clock import utcnow
    from portal.db import write_transaction
    from portal.mail.tables import Mailbox
    from portal.mailin.tables import InboundMail
    from portal.tickets.tables import Ticket

    number = (await file_ticket("Crawl me", desk.tech, email="ann@example.org"))["number"]
    now = utcnow()
    async with write_transaction():
        # Ann's own ticket (a guest ticket joins her account only once its mailed link is used).
        await Ticket.update({Ticket.requester: desk.ann}).where(Ticket.number == number).run()
        service = (
            await Service.insert(
                Service(
                    slug="advice",
                    name="Advice",
                    created_at=now,
                    min_notice_minutes=0,
                    intake_questions=json.dumps([{"id": "topic", "label": "Topic", "kind": "text", "required": False}]),
                )
            ).run()
        )[0]["id"]
        await ServiceStaff.insert(ServiceStaff(service=service, staff=desk.ben)).run()
        for weekday in range(7):
            await WeeklyHours.insert(
                WeeklyHours(staff=desk.ben, weekday=weekday, start_minute=0, end_minute=1440)
            ).run()
        start = now + timedelta(days=2)
        appointment = (
            await Appointment.insert(
                Appointment(
                    service=service,
                    staff=desk.ben,
                    customer=desk.ann,
                    customer_name="Ann",
                    customer_email="ann@example.org",
                    start_at=start,
                    end_at=start + timedelta(minutes=30),
                    uid="u-crawl",
                    manage_token_hash="h" * 64,
                    created_at=now,
                    updated_at=now,
                )
            ).run()
        )[0]["id"]
        mailbox = (await Mailbox.insert(Mailbox(address="support@example.org", created_at=now)).run())[0]["id"]
        raw = b"From: Gwen <gwen@example.org>\r\nSubject: Help\r\n\r\nPlease help.\r\n"
        inbound = (
            await InboundMail.insert(
                InboundMail(raw_message=raw, size=len(raw), sha256="0" * 64, received_at=now, status="failed")
            ).run()
        )[0]["id"]
    params = {
        "number": str(number),
        "mailbox_id": str(mailbox),
        "inbound_id": str(inbound),
        "user_id": str(desk.ben),
        "team_id": str(desk.support),
        "category_id": str(desk.tech),
        "service_id": str(service),
        "slug": "advice",
        "appointment_id": str(appointment),
        "file_path": "css/portal.css",
        "token": "not-a-token",
    }
    browsers = {
        "admin": await agent(make_browser, "ada@example.org"),
        "agent": await agent(make_browser, "ben@example.org"),
        "customer": await agent(make_browser, "ann@example.org"),
        "anonymous": await make_browser(),
    }
    return params, browsers


def _declared_query_params(app) -> dict[str, set[str]]:
    """{path format: query parameters its GET handler declares} (cursors included: no page of a
    test desk is long enough to link to a second page)."""
    declared = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "GET" in getattr(handler, "http_methods", []):
                declared[route.path_format] = {
                    name
                    for name in handler.parsed_fn_signature.parameters
                    if name not in ("self", "request", "data") and "{" + name not in route.path_format
                }
    return declared


def _fill(path_format: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: params.get(m.group(1), "1"), path_format)


async def _send(browser, method: str, url: str, fields: dict[str, str], multipart: bool = False):
    if method == "GET":
        return await browser.client.get(url, params=fields)
    if "csrftoken" not in browser.cookies:
        await browser.client.get("/")
    token = browser.cookies.get("csrftoken")
    if multipart:
        parts = {name: (None, value if isinstance(value, bytes) else value.encode()) for name, value in fields.items()}
        return await browser.client.post(url, files={**parts, "_csrf_token": (None, token.encode())})
    return await browser.client.post(url, data={**fields, "_csrf_token": token})


async def _crawl(app, params, browsers) -> list[tuple]:
    """Every form of every page each role can see, and every query parameter their links use."""
    from tests.integration.crawl_forms import read_page

    forms, queries = {}, {}
    declared = _declared_query_params(app)
    for role, browser in browsers.items():
        for path_format, method in _endpoints(app):
            if method != "GET" or path_format.startswith(("/static", "/events", "/feeds")) or "logout" in path_format:
                continue
            url = _fill(path_format, params)
            response = await browser.get(url)
            if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
                continue
            page_forms, page_queries = read_page(url, response.text)
            for form in page_forms:
                if form.action.startswith("/") and "logout" not in form.action:
                    forms.setdefault(form.key, (role, form))  # the first role that sees a form sends it
            for path, names in [*page_queries.items(), (url, declared.get(path_format, set()))]:
                queries.setdefault(path, (role, set()))[1].update(names)
    return [*forms.values()], queries


async def test_every_field_of_every_form_and_link_survives_hostile_values(desk, make_browser, app):
    """Far dates, huge or non-finite numbers and control characters in every field of every form a
    page offers (as urlencoded and multipart), and in every query parameter its links use: never a
    5xx. Invalid UTF-8 and NUL bytes in any multipart field: 400 with a message."""
    params, browsers = await _world(desk, make_browser)
    forms, queries = await _crawl(app, params, browsers)
    assert len(forms) > 40 and len(queries) > 40, (len(forms), len(queries))
    failures = []

    async def check(role, method, url, fields, multipart=False, expect=None):
        response = await _send(browsers[role], method, url, fields, multipart)
        if response.status_code >= 500 or (expect and response.status_code != expect):
            failures.append(
                (role, method, url, {k: str(v)[:40] for k, v in fields.items()}, multipart, response.status_code)
            )
        return response

    for path, (role, names) in queries.items():
        for value in HOSTILE:
            if len(value) * len(names) < 30_000:  # a longer query string is refused by the client itself
                await check(role, "GET", path, dict.fromkeys(names, value))
        for value in EACH_FIELD:
            for name in names:
                await check(role, "GET", path, {name: value})
    for role, form in forms:
        for value in HOSTILE:
            await check(role, form.method, form.action, dict.fromkeys(form.fields, value), form.multipart)
        for value in EACH_FIELD:
            for name in form.fields:
                await check(role, form.method, form.action, {**form.fields, name: value}, form.multipart)
        if form.method == "POST" and form.fields:
            for bad, needle in ((b"caf\xe9 \xff", "UTF-8"), (b"a\x00b", "NUL byte")):
                response = await check(
                    role,
                    "POST",
                    form.action,
                    {**form.fields, **dict.fromkeys(form.fields, bad)},
                    multipart=True,
                    expect=400,
                )
                if needle not in response.text:
                    failures.append((role, form.action, needle, "no message"))
    assert not failures, "\n".join(map(repr, failures[:60])) + f"\n… {len(failures)} in all"


# --- the classes one by one, with the message a person sees ------------------------------------------

WINDOW = "between 1970 and 2199"


async def test_far_dates_answer_422_with_a_message_everywhere(desk, make_browser, app):
    params, browsers = await _world(desk, make_browser)
    admin, anonymous = browsers["admin"], browsers["anonymous"]
    for url in (
        "/book/advice?month=9999-12",
        "/book/advice?month=0001-01",
        "/book/advice?day=0001-01-01",
        "/book/advice?day=9999-12-31",
        "/book/advice/details?start=0001-01-01T00:00%2B14:00",
        "/book/advice/details?start=9999-12-31T23:59-14:00",
    ):
        response = await anonymous.get(url)
        assert response.status_code == 422 and WINDOW in response.text, url
    for url in (
        "/back/calendar?date=9999-12-31",
        "/back/calendar?view=week&date=0001-01-01",
        f"/back/calendar/appointments/{params['appointment_id']}/reschedule?date=9999-12-31",
        "/back/calendar/book?date=0001-01-01",
    ):
        response = await admin.get(url)
        assert response.status_code == 422 and WINDOW in response.text, url
    for url in (
        "/back/reports?from=2026-01-01&to=9999-12-31",
        "/back/reports/export?to=9999-12-31&table=x",
        "/back/tickets?created_from=0001-01-01&updated_to=9999-12-31",
    ):
        response = await admin.get(url)
        assert response.status_code < 500 and (WINDOW in response.text or "export" in url), url
    staff = params["user_id"]
    for url, form in (
        (f"/back/schedules/{staff}/overrides", {"day": "9999-12-31", "kind": "closed"}),
        (f"/back/schedules/{staff}/time-off", {"start_day": "9999-12-30", "end_day": "9999-12-31"}),
        (f"/back/schedules/{staff}/time-off", {"start_day": "2026-01-01", "end_day": "9999-12-31"}),
        ("/back/holidays", {"day": "9999-12-31", "name": "End of time"}),
        (
            "/back/availability/why",
            {
                "service": params["service_id"],
                "staff": staff,
                "date": "9999-12-31",
                "time": "23:59",
                "tz": "Pacific/Kiritimati",
            },
        ),
    ):
        response = await (admin.post(url, form) if "why" not in url else admin.get(url, params=form))
        assert response.status_code == 422 and WINDOW in response.text, url


async def test_ics_import_skips_events_outside_the_window(desk, make_browser):
    from datetime import date

    from portal.booking.tables import Holiday

    admin = await agent(make_browser, "ada@example.org")
    await admin.get("/")
    events = b"".join(
        b"BEGIN:VEVENT\r\nUID:%d@x\r\nSUMMARY:%s\r\nDTSTART;VALUE=DATE:%s\r\n%sEND:VEVENT\r\n" % (i, name, start, end)
        for i, (name, start, end) in enumerate(
            [
                (b"Last day", b"99991231", b""),
                (b"First day", b"00010101", b"DTEND;VALUE=DATE:00010102\r\n"),
                (b"Long", b"21991230", b"DTEND;VALUE=DATE:99991231\r\n"),
                (b"Fair", b"21500601", b""),
            ]
        )
    )
    content = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + events + b"END:VCALENDAR\r\n"
    response = await admin.client.post(
        "/back/holidays/import",
        data={"_csrf_token": admin.cookies.get("csrftoken")},
        files={"file": ("h.ics", content, "text/calendar")},
    )
    assert response.status_code == 303, response.text[:2000]
    assert {r["day"] for r in await Holiday.select()} == {date(2199, 12, 30), date(2150, 6, 1)}
    only_far = content.replace(b"21991230", b"99990101").replace(b"21500601", b"00020202")
    response = await admin.client.post(
        "/back/holidays/import",
        data={"_csrf_token": admin.cookies.get("csrftoken")},
        files={"file": ("h.ics", only_far, "text/calendar")},
    )
    assert response.status_code == 422 and WINDOW in response.text


async def _multipart(browser, url: str, fields: dict[str, bytes | str], files: dict | None = None):
    await browser.get("/")
    parts = {k: (None, v if isinstance(v, bytes) else v.encode()) for k, v in fields.items()}
    return await browser.client.post(
        url, files={**parts, **(files or {}), "_csrf_token": (None, browser.cookies.get("csrftoken").encode())}
    )


async def test_multipart_text_fields_refuse_nul_and_invalid_utf8_but_files_keep_their_bytes(desk, make_browser):
    from portal.tickets.tables import Attachment, Ticket
    from tests.integration.test_tickets_front import PNG

    assert b"\x00" in PNG
    guest = await make_browser()
    form = {
        "name": "Gwen Guest",
        "subject": "Printer",
        "body": "It burns.",
        "category": str(desk.tech),
        "website": "",
        "email": "gwen@example.org",
    }
    response = await _multipart(guest, "/tickets/new", {**form, "email": "gwen\x00@example.org"})
    assert response.status_code == 400 and "NUL byte" in response.text
    response = await _multipart(guest, "/tickets/new", {**form, "subject": b"Caf\xe9 \xff"})
    assert response.status_code == 400 and "not valid UTF-8" in response.text
    response = await _multipart(guest, "/tickets/new", {**form, "subject": "Caf\u00e9".encode("latin-1")})
    assert response.status_code == 400
    assert await Ticket.count() == 0
    response = await _multipart(
        guest, "/tickets/new", form, files={"files": ("shot.png", PNG, "image/png")}
    )  # a PNG holds NUL bytes
    assert response.status_code in (201, 303), response.text[:2000]
    assert await Ticket.count() == 1 and await Attachment.count() == 1


async def test_nul_in_the_path_is_never_a_500(desk, make_browser):
    admin = await agent(make_browser, "ada@example.org")
    for url in ("/static/%00", "/static/css/%00.css", "/back/tickets/%00", "/book/%00", "/t/%00", "/%00"):
        response = await admin.get(url)
        assert response.status_code in (400, 404), (url, response.status_code)


def _cursor(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def test_huge_numbers_in_cursors_and_fields_answer_with_a_message(desk, make_browser):
    admin = await agent(make_browser, "ada@example.org")
    huge = "9" * 5000
    for after in (
        _cursor(f"2026-01-01T00:00:00+00:00|{huge}"),
        _cursor("2026-01-01T00:00:00+00:00|99999999999999999999"),
        _cursor("9999-12-31T23:59:59-14:00|1"),
        _cursor(f"{huge}|2026-01-01T00:00:00+00:00|1"),
    ):
        for sort in ("updated", "priority", "due"):
            response = await admin.get(f"/back/tickets?sort={sort}&after={after}")
            assert response.status_code == 200, (sort, response.status_code)
    for url in (f"/back/users?after={huge}", f"/back/outbox?before={huge}", f"/back/tickets?q=%23{huge}"):
        assert (await admin.get(url)).status_code < 500, url
    customer = await agent(make_browser, "ann@example.org")
    for cursor in (f"2026-01-01T00:00:00|{huge}", "0001-01-01T00:00:00+14:00|1", f"2026-01-01T00:00:00|{2**70}"):
        response = await customer.get("/tickets", params={"cursor": cursor})
        assert response.status_code == 422 and "page link is broken" in response.text
    assert (await customer.get("/tickets", params={"q": "#" + huge})).status_code == 200
    response = await admin.post("/back/tickets/bulk", {"number": [huge, "99999999999999999999"], "status": "open"})
    assert response.status_code < 500
    response = await admin.post(f"/back/users/{desk.ben}/agent", {"available": "1", "cap": huge})
    assert response.status_code == 422 and "Enter a number of tickets" in response.text


async def test_durations_must_be_finite_positive_and_readable(desk, make_browser):
    from portal.tickets.tables import SlaPolicy

    admin = await agent(make_browser, "ada@example.org")
    await admin.get("/back/sla")
    calendar = (await SlaPolicy.raw("SELECT id FROM business_calendar LIMIT 1"))[0]["id"]
    before = await SlaPolicy.count()
    for value in ("infd", "1e400h", "nan", "-5", "inf", "9" * 5000, "1e400", "NaNh"):
        response = await admin.post(
            "/back/sla/policies",
            {"name": "Odd", "priority": "high", "calendar": str(calendar), "first_response": value, "resolution": "8h"},
        )
        assert response.status_code == 422 and "is not a duration" in response.text, value
    for value in ("999999h", "9999d"):
        response = await admin.post(
            "/back/sla/policies",
            {"name": "Odd", "priority": "high", "calendar": str(calendar), "first_response": value},
        )
        assert response.status_code == 422 and "between 1 minute and a year" in response.text, value
    assert await SlaPolicy.count() == before


async def test_emails_with_control_characters_are_refused_everywhere(desk, make_browser, outbox):
    from datetime import date, datetime, time, timedelta

    from portal.accounts.tables import User
    from portal.booking.tables import Appointment
    from portal.tickets.tables import Ticket

    params, browsers = await _world(desk, make_browser)
    anonymous, admin = browsers["anonymous"], browsers["admin"]
    users, tickets, appointments = await User.count(), await Ticket.count(), await Appointment.count()
    for bad in (
        "gwen\x01@example.org",
        "gw\x7fen@example.org",
        "gwen\u200b@example.org",
        "gwen\x85@example.org",
        "gwen@exam\x1bple.org",
    ):
        signup = await anonymous.post(
            "/signup", {"name": "Gwen", "email": bad, "password": "purple otter canoe", "timezone": "UTC"}
        )
        assert signup.status_code == 422 and "control or invisible characters" in signup.text, repr(bad)
        ticket = await _multipart(
            anonymous,
            "/tickets/new",
            {"name": "Gwen", "email": bad, "subject": "Hi", "body": "Hi", "category": str(desk.tech), "website": ""},
        )
        assert ticket.status_code == 422 and "control or invisible characters" in ticket.text, repr(bad)
        find = await anonymous.post("/tickets/find", {"number": params["number"], "email": bad})
        assert find.status_code == 422, repr(bad)
        invite = await admin.post("/back/users/invite", {"email": bad, "name": "Gwen", "role": "agent"})
        assert invite.status_code == 422 and "control or invisible characters" in invite.text, repr(bad)
        slot = datetime.combine(date.today() + timedelta(days=3), time(10), UTC).isoformat()
        book = await anonymous.post(
            "/book/advice", {"start": slot, "staff": "any", "name": "Gwen", "email": bad, "timezone": "UTC"}
        )
        assert book.status_code == 422 and "control or invisible characters" in book.text, repr(bad)
        phone = await admin.post(
            "/back/calendar/book",
            {"service": params["service_id"], "staff": str(desk.ben), "start": slot, "name": "Gwen", "email": bad},
        )
        assert phone.status_code == 422 and "control or invisible characters" in phone.text, repr(bad)
        for url in ("/password/forgot", "/login"):
            assert (await anonymous.post(url, {"email": bad, "password": "x"})).status_code < 500
    assert (await User.count(), await Ticket.count(), await Appointment.count()) == (users, tickets, appointments)
    assert not [m for m in await outbox() if "gwen" in m["to_address"]]
