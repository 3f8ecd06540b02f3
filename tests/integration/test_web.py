"""The web kernel: error pages and fragments, security headers, static files, health."""

from __future__ import annotations

import hashlib

from portal.web.templating import STATIC


async def test_404_page_and_htmx_fragment(browser):
    page = await browser.get("/no/such/page")
    assert page.status_code == 404 and "<html" in page.text and "Page not found" in page.text
    fragment = await browser.get("/no/such/page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and "<html" not in fragment.text
    assert "Page not found" in fragment.text
    assert fragment.headers["hx-retarget"] == "#messages"
    assert fragment.headers["vary"] == "HX-Request"


async def test_405_and_bad_query_are_pages_not_json(browser):
    response = await browser.client.put("/login")
    assert response.status_code in (403, 405)  # CSRF refuses unsafe methods first
    response = await browser.get("/logout")
    assert response.status_code == 405 and "text/html" in response.headers["content-type"]


async def test_security_headers_on_pages(browser):
    response = await browser.get("/")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in headers  # only when served over https


async def test_pages_carry_csrf_header_for_htmx_and_no_inline_script(browser):
    page = await browser.get("/login")
    assert 'hx-headers=\'{"X-CSRFToken": "' in page.text
    assert "<script>" not in page.text and "<script " in page.text  # external scripts only
    assert '"historyRestoreAsHxRequest": false' in page.text


async def test_htmx_post_with_header_token_is_accepted(browser, make_user):
    await make_user("bob@example.org")
    await browser.get("/login")
    response = await browser.client.post(
        "/login",
        data={"email": "bob@example.org", "password": "a long s3cret phrase"},
        headers={"HX-Request": "true", "X-CSRFToken": browser.cookies.get("csrftoken")},
    )
    assert response.status_code == 200 and response.headers["hx-redirect"] == "/"


async def test_vendored_htmx_is_served_and_matches_its_checksum(browser):
    sums = dict(line.split("  ")[::-1] for line in (STATIC / "vendor/SHA256SUMS").read_text().splitlines())
    response = await browser.get("/static/vendor/htmx/htmx-2.0.11.min.js")
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == sums["htmx/htmx-2.0.11.min.js"]
    assert "max-age=31536000" in response.headers["cache-control"]
    assert (await browser.get("/static/../portal/settings.py")).status_code == 404


async def test_healthz_checks_the_database(browser):
    response = await browser.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_home_offers_both_entry_points(browser):
    page = await browser.get("/")
    assert "Get help" in page.text and "Book an appointment" in page.text and "Log in" in page.text


async def test_unexpected_error_gives_a_500_page_without_details(app, browser, monkeypatch):
    from litestar import get

    from portal.web import access

    @get("/boom", name="test:boom")
    async def boom() -> str:
        raise RuntimeError("secret internals")

    app.register(boom)
    monkeypatch.setitem(access.POLICY, "/boom", access.PUBLIC)
    page = await browser.get("/boom")
    assert page.status_code == 500 and "Something went wrong on our side" in page.text
    assert "secret internals" not in page.text and "Traceback" not in page.text
    fragment = await browser.get("/boom", headers={"HX-Request": "true"})
    assert fragment.status_code == 500 and "<html" not in fragment.text


async def test_oversized_request_is_refused_with_a_page(browser):
    response = await browser.post(
        "/signup", {"name": "x" * (2 * 1024 * 1024), "email": "a@example.org", "password": "purple otter canoe"}
    )
    assert response.status_code == 413 and "too large" in response.text


async def test_sign_ups_are_throttled_per_ip(browser):
    for i in range(20):
        response = await browser.post(
            "/signup", {"name": "Spam", "email": f"victim{i}@example.org", "password": "purple otter canoe"}
        )
        assert response.status_code == 201
    response = await browser.post(
        "/signup", {"name": "Spam", "email": "victim99@example.org", "password": "purple otter canoe"}
    )
    assert response.status_code == 429 and "Too many sign-ups" in response.text


async def test_pages_are_not_cached_but_static_files_are(browser, make_user):
    await make_user("bob@example.org")
    await browser.login("bob@example.org")
    assert (await browser.get("/account")).headers["cache-control"] == "no-store"
    assert "max-age=31536000" in (await browser.get("/static/css/portal.css")).headers["cache-control"]
