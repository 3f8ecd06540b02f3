"""Hostile or odd input on every console, admin and booking route: always an answer with a message
(4xx or the page with its errors), never a 500 — ids no row can have, non-ASCII digits, NUL bytes."""

from __future__ import annotations

import re

from tests.integration.test_access_policy import _endpoints
from tests.integration.test_console import agent, desk, file_ticket  # noqa: F401  (fixtures)

ODD = ["", "\x00", "a\x00b", "abc", "-1", "²", "99999999999999999999999", "3000000000", "%00",
       "'; DROP TABLE ticket;--", "<script>", "1.5", "#", "saved-²", "saved-999"]


async def test_odd_query_and_form_values_never_fail(desk, make_browser):
    number = (await file_ticket("Odd input", desk.tech))["number"]
    admin = await agent(make_browser, "ada@example.org")
    failures = []
    for v in ODD:
        if "\x00" not in v:  # a raw NUL cannot even be put in a URL
            for url in [f"/back/tickets?view={v}", f"/back/tickets?after={v}", f"/back/tickets?sort={v}&after={v}",
                        f"/back/tickets?team={v}&assignee={v}&category={v}&tag={v}&requester={v}&sla={v}"
                        f"&status={v}&priority={v}&created_from={v}&updated_to={v}",
                        f"/back/tickets?q={v}", f"/back/tickets?view=open&sort=due&after={v}",
                        f"/back/tickets/counts?view={v}", f"/back/tickets/{number}?canned={v}", f"/events?ticket={v}",
                        f"/back/reports?from={v}&to={v}&team={v}&agent={v}&category={v}&channel={v}&by={v}&tab={v}",
                        f"/back/reports/export?table={v}", f"/back/canned?edit={v}", f"/back/outbox?before={v}"]:
                response = await admin.get(url)
                if response.status_code >= 500:
                    failures.append(("GET", url, response.status_code))
        for url, data in [
                (f"/back/tickets/{number}/fields", {"status": v, "priority": v, "team": v, "assignee": v, "category": v}),
                (f"/back/tickets/{number}/tags", {"tags": v}), (f"/back/tickets/{number}/merge", {"into": v}),
                (f"/back/tickets/{number}/reply", {"body": v, "kind": v, "status": v}),
                ("/back/tickets/bulk", {"number": [v, str(number)], "status": v, "assignee": v, "team": v,
                                        "add_tag": v, "next": v}),
                ("/back/tickets/views", {"name": v, "query": v, "team": v}),
                ("/back/canned", {"title": v, "body": v, "shared": v}),
                ("/back/teams", {"name": v}), (f"/back/teams/{desk.support}/members", {"user": v}),
                ("/back/categories", {"name": v, "team": v}),
                (f"/back/users/{desk.ben}/agent", {"available": v, "cap": v, "limited": v}),
                ("/back/availability", {"available": v, "next": v}),
                ("/back/sla/policies", {"name": v, "priority": v, "category": v, "calendar": v,
                                        "first_response": v, "resolution": v}),
                ("/back/sla/calendars", {"name": v, "timezone": v, "day0": v, "day1": v})]:
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
            url = re.sub(r"\{(\w+)\}", lambda m: "x" if m.group(1) in ("token", "slug", "file_path") else big, path)
            response = await (admin.get(url) if method == "GET" else admin.post(url, {}))
            if response.status_code >= 500:
                failures.append((method, url, response.status_code))
    assert not failures, failures
    assert (await admin.get("/back/tickets/99999999999999999999999")).status_code == 404


# --- every page's forms and links, with hostile values of each class --------------------------------

FAR_DATES = ["9999-12-31", "0001-01-01", "9999-12", "0001-01", "0001-01-01T00:00+14:00",
             "9999-12-31T23:59-14:00", "9999-12-31T23:59", "0001-01-01T00:00"]
HUGE_NUMBERS = ["9" * 4400, "99999999999999999999999", "-99999999999999999999999", "1e400", "1e400h", "infd",
                "nan", "-inf", "-5"]
CONTROL = ["a\x01b\x1f", "x\x1b[31m\x7f", "a\u2028b\x85"]
HOSTILE = FAR_DATES + HUGE_NUMBERS + CONTROL


async def _world(desk, make_browser) -> tuple[dict[str, str], dict[str, object]]:
    """Real rows behind every kind of path parameter, and a browser per role (admin, agent,
    customer, anonymous), so that pages render their forms."""
    import json
    from datetime import timedelta

    from portal.booking.tables import Appointment, Service, ServiceStaff, WeeklyHours
    from portal.clock import utcnow
    from portal.db import write_transaction

    number = (await file_ticket("Crawl me", desk.tech, email="ann@example.org"))["number"]
    now = utcnow()
    async with write_transaction():
        service = (await Service.insert(Service(
            slug="advice", name="Advice", created_at=now, min_notice_minutes=0, intake_questions=json.dumps([
                {"id": "topic", "label": "Topic", "kind": "text", "required": False}]))).run())[0]["id"]
        await ServiceStaff.insert(ServiceStaff(service=service, staff=desk.ben)).run()
        for weekday in range(7):
            await WeeklyHours.insert(WeeklyHours(staff=desk.ben, weekday=weekday, start_minute=0,
                                                 end_minute=1440)).run()
        start = now + timedelta(days=2)
        appointment = (await Appointment.insert(Appointment(
            service=service, staff=desk.ben, customer=desk.ann, customer_name="Ann", customer_email="ann@example.org",
            start_at=start, end_at=start + timedelta(minutes=30), uid="u-crawl", manage_token_hash="h" * 64,
            created_at=now, updated_at=now)).run())[0]["id"]
    params = {"number": str(number), "user_id": str(desk.ben), "team_id": str(desk.support),
              "category_id": str(desk.tech), "service_id": str(service), "slug": "advice",
              "appointment_id": str(appointment), "file_path": "css/portal.css", "token": "not-a-token"}
    browsers = {"admin": await agent(make_browser, "ada@example.org"), "agent": await agent(make_browser, "ben@example.org"),
                "customer": await agent(make_browser, "ann@example.org"), "anonymous": await make_browser()}
    return params, browsers


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
                    forms.setdefault((role, *form.key), (role, form))
            for path, names in page_queries.items():
                queries.setdefault((role, path), set()).update(names)
            queries.setdefault((role, url), set())
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
            failures.append((role, method, url, {k: str(v)[:40] for k, v in fields.items()}, multipart,
                             response.status_code))
        return response

    for (role, path), names in queries.items():
        for value in HOSTILE:
            if len(value) * len(names) < 30_000:  # a longer query string is refused by the client itself
                await check(role, "GET", path, dict.fromkeys(names, value))
            for name in names:
                await check(role, "GET", path, {name: value})
    for role, form in forms:
        for value in HOSTILE:
            await check(role, form.method, form.action, dict.fromkeys(form.fields, value), form.multipart)
            for name in form.fields:
                await check(role, form.method, form.action, {**form.fields, name: value}, form.multipart)
        if form.method == "POST" and form.fields:
            for bad, needle in ((b"caf\xe9 \xff", "UTF-8"), (b"a\x00b", "NUL byte")):
                response = await check(role, "POST", form.action, {**form.fields, **dict.fromkeys(form.fields, bad)},
                                       multipart=True, expect=400)
                if needle not in response.text:
                    failures.append((role, form.action, needle, "no message"))
    assert not failures, "\n".join(map(repr, failures[:60])) + f"\n… {len(failures)} in all"
