"""Every route is in the one access-policy table, and every role below the required one is refused."""

from __future__ import annotations

import re

import pytest

from portal.accounts.rules import ROLE_RANK
from portal.web.access import POLICY, PUBLIC

SAMPLE_PARAMS = {
    "file_path": "css/portal.css",
    "token": "not-a-token",
    "user_id": "1",
    "mail_id": "1",
    "number": "1",
    "attachment_id": "1",
    "slug": "no-such-service",
    "appointment_id": "1",
    "view_id": "1",
    "reply_id": "1",
    "team_id": "1",
    "category_id": "1",
    "calendar_id": "1",
    "policy_id": "1",
    "service_id": "1",
    "time_off_id": "1",
    "holiday_id": "1",
    "mailbox_id": "1",
    "inbound_id": "1",
    "message_id": "1",
}
ROLES_BELOW = {
    "customer": [None],
    "agent": [None, "customer"],
    "admin": [None, "customer", "agent"],
}


def _endpoints(app):
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", [])):
                if method not in {"HEAD", "OPTIONS"}:
                    yield route.path_format, method


def _url(path_format: str) -> str:
    # The SSE stream never ends; for a ticket that does not exist it answers 404 after the guard.
    query = "?ticket=999999" if path_format == "/events" else ""
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PARAMS[m.group(1)], path_format) + query


async def test_every_route_is_in_the_policy_and_nothing_else(app):
    paths = {path for path, _ in _endpoints(app)}
    assert paths - POLICY.keys() == set(), "routes missing from portal/web/access.py POLICY"
    assert POLICY.keys() - paths == set(), "POLICY lists routes that do not exist"


async def _as(make_browser, make_user, role: str | None):
    browser = await make_browser()
    if role:
        await make_user(f"{role}@example.org", role)
        await browser.login(f"{role}@example.org")
    return browser


async def test_roles_below_the_required_one_are_refused(app, make_browser, make_user):
    browsers = {role: await _as(make_browser, make_user, role) for role in (None, "customer", "agent")}
    checked = 0
    for path, method in _endpoints(app):
        level = POLICY[path]
        if level == PUBLIC:
            continue
        url = _url(path)
        for role in ROLES_BELOW[level]:
            browser = browsers[role]
            response = await (browser.get(url) if method == "GET" else browser.post(url, {}))
            if role is None:
                assert response.status_code == 303, (method, url)
                assert response.headers["location"].startswith("/login?next="), (method, url)
            else:
                assert response.status_code == 403, (role, method, url, response.status_code)
                assert "Not allowed" in response.text
            checked += 1
    assert checked >= 15


@pytest.mark.parametrize("role", ["customer", "agent", "admin"])
async def test_the_required_role_and_above_get_through(app, make_browser, make_user, role):
    browser = await _as(make_browser, make_user, role)
    for path, method in _endpoints(app):
        level = POLICY[path]
        if method != "GET" or ROLE_RANK.get(level, 0) > ROLE_RANK[role]:
            continue
        response = await browser.get(_url(path))
        assert response.status_code not in (401, 403), (role, path, response.status_code)
        if response.status_code == 303:
            assert not response.headers["location"].startswith("/login"), (role, path)


async def test_htmx_request_after_login_expiry_gets_hx_redirect(browser):
    response = await browser.get("/back/users?q=x", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=/back/users%3Fq%3Dx"
