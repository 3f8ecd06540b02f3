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
