"""Flash messages (Litestar's flash plugin on our server-side session) and the htmx answers to a
POST: the message shows on the next full page, once."""

from __future__ import annotations

import re

from portal.accounts import tokens
from portal.web.templating import TEMPLATES

SAVED = "The canned reply is saved."


def messages(page: str) -> str:
    return page.split('id="messages"', 1)[1].split("</div>", 1)[0]


async def agent(make_user, browser):
    await make_user("ben@example.org", role="agent", name="Ben")
    await browser.login("ben@example.org")
    assert "Welcome back, Ben." in messages((await browser.get("/back")).text)


async def test_a_flash_shows_once_after_the_redirect(browser, make_user):
    await agent(make_user, browser)
    assert "Welcome back" not in (await browser.get("/back")).text
    response = await browser.post("/back/canned", {"title": "Thanks", "body": "Thank you!"})
    assert response.status_code == 303 and response.headers["location"] == "/back/canned"
    assert response.headers["vary"] == "HX-Request"
    page = (await browser.get("/back/canned")).text
    assert f'<p class="flash flash-success">{SAVED}</p>' in messages(page)
    assert SAVED not in (await browser.get("/back/canned")).text


async def test_htmx_posts_get_a_refresh_or_a_client_redirect_and_the_flash_follows(browser, make_user):
    await agent(make_user, browser)
    here = {"HX-Request": "true", "HX-Current-URL": "http://testserver/back/canned"}
    same_page = await browser.post("/back/canned", {"title": "One", "body": "1"}, headers=here)
    assert (same_page.status_code, same_page.content, same_page.headers["hx-refresh"]) == (200, b"", "true")
    assert same_page.headers["vary"] == "HX-Request" and "hx-redirect" not in same_page.headers
    there = {**here, "HX-Current-URL": "http://testserver/back"}
    other_page = await browser.post("/back/canned", {"title": "Two", "body": "2"}, headers=there)
    assert (other_page.status_code, other_page.content) == (200, b"")
    assert other_page.headers["hx-redirect"] == "/back/canned" and "hx-refresh" not in other_page.headers
    assert other_page.headers["vary"] == "HX-Request"
    assert messages((await browser.get("/back/canned")).text).count(SAVED) == 2
    assert SAVED not in (await browser.get("/back/canned")).text


async def test_a_flash_after_sign_out_reaches_the_login_page(browser, make_user):
    """Setting a new password ends the session, then flashes: the message needs a fresh session."""
    user_id = await make_user("bob@example.org")
    await browser.login("bob@example.org")
    link = f"/password/reset/{await tokens.issue(user_id, 'reset')}"
    response = await browser.post(link, {"password": "new purple otter"})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "Your password is set. Log in with it now." in messages((await browser.get("/login")).text)
    assert "Your password is set" not in (await browser.get("/login")).text


async def test_pages_without_a_session_still_render(browser):
    """Static files skip the session middleware; their error page has no flashes to read."""
    response = await browser.get("/static/no-such-file.css")
    assert response.status_code == 404 and "Page not found" in response.text
    assert re.search(r'<div id="messages"[^>]*>\s*</div>', response.text)


async def test_every_route_name_used_by_templates_and_controllers_exists(app):
    from portal.settings import REPO_ROOT

    names = set()
    for path in TEMPLATES.rglob("*.html"):
        names |= set(re.findall(r"""url_for\(\s*['"]([^'"]+)['"]""", path.read_text()))
    for path in (REPO_ROOT / "portal").rglob("*.py"):
        names |= set(re.findall(r"""route_reverse\(\s*['"]([^'"]+)['"]""", path.read_text()))
    assert len(names) > 50
    assert sorted(name for name in names if app.get_handler_index_by_name(name) is None) == []
