"""Sign-up, verification, login, logout, password reset and profile, as a visitor sees them."""

from __future__ import annotations

from datetime import timedelta

from portal.accounts.tables import AuditEvent, AuthToken, User
from portal.clock import utcnow
from portal.db import write_transaction
from portal.jobs.worker import drain
from tests.conftest import link_in
from tests.factories import PASSWORD, user_row

GOOD = {"name": "Ann Lee", "email": "Ann@Example.org", "password": "purple otter canoe", "timezone": "Europe/Paris"}


async def test_sign_up_verify_and_log_in(browser, outbox):
    response = await browser.post("/signup", GOOD)
    assert response.status_code == 201
    assert "Check your email" in response.text and "ann@example.org" in response.text
    user = await user_row("ann@example.org")
    assert user["role"] == "customer" and user["timezone"] == "Europe/Paris"
    assert user["email_verified_at"] is None
    assert user["password_hash"].startswith("$argon2id$")

    mails = await outbox("ann@example.org")
    assert [m["subject"] for m in mails] == ["Confirm your email address for Front Desk"]
    link = link_in(mails[0]["body_text"], "/verify/")
    assert link in mails[0]["body_html"]

    # Before verification, the right password gets a clear message (and a new link), not a session.
    response = await browser.post("/login", {"email": "ann@example.org", "password": GOOD["password"]})
    assert response.status_code == 422 and "confirm your email" in response.text
    assert len(await outbox("ann@example.org")) == 2

    link = link_in((await outbox("ann@example.org"))[-1]["body_text"], "/verify/")
    signed_up_session = browser.cookies.get("session")
    response = await browser.get(link)
    # Opened in the session that signed up: verified, signed in with a fresh session id, sent home.
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert browser.cookies.get("session") not in (None, signed_up_session)
    assert (await user_row("ann@example.org"))["email_verified_at"] is not None
    home = (await browser.get("/")).text
    assert "Your email address is confirmed and you are signed in" in home and "Ann Lee" in home
    # The landing page leads to the customer's tickets and appointments (besides the header's links).
    main = home.split("<main", 1)[1]
    assert 'href="/tickets">My tickets</a>' in main and 'href="/appointments">My appointments</a>' in main
    assert (await browser.get("/account")).status_code == 200

    assert (await browser.post("/logout")).status_code == 303
    response = await browser.post("/login", {"email": "ANN@example.org ", "password": GOOD["password"]})
    assert response.status_code == 303 and response.headers["location"] == "/"
    page = await browser.get("/")
    assert "Ann Lee" in page.text and "Log out" in page.text and "Welcome back" in page.text

    # The link works once.
    again = await browser.get(link)
    assert again.status_code == 400 and "invalid or has expired" in again.text


async def test_sign_up_refuses_bad_input_and_writes_nothing(browser, make_user):
    await make_user("taken@example.org")
    cases = [
        ({**GOOD, "email": "not-an-email"}, "Enter an email address like"),
        ({**GOOD, "password": "short"}, "at least 10 characters"),
        ({**GOOD, "password": "password123"}, "too easy to guess"),
        ({**GOOD, "password": "x" * 64 + "y" * 65}, "at most 128 characters"),
        ({**GOOD, "name": "n" * 500}, "at most 120 characters"),
        ({**GOOD, "name": ""}, "Enter your name"),
        ({**GOOD, "email": "a" * 300 + "@example.org"}, "at most 254 characters"),
        ({}, "Enter your name"),
    ]
    for form, message in cases:
        response = await browser.post("/signup", form)
        assert response.status_code == 422, form
        assert message in response.text, (form, response.text[:2000])
        assert 'aria-invalid="true"' in response.text
    assert await User.count() == 1


async def test_unknown_browser_time_zone_falls_back_to_utc(browser):
    response = await browser.post("/signup", {**GOOD, "timezone": "Mars/Olympus"})
    assert response.status_code == 201
    assert (await user_row("ann@example.org"))["timezone"] == "UTC"


async def test_sign_up_form_fragment_for_htmx(browser):
    response = await browser.post("/signup", {**GOOD, "password": "short"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert response.text.lstrip().startswith("<form")  # the fragment, not a page
    assert "<html" not in response.text
    assert response.headers["vary"] == "HX-Request"


async def test_script_in_name_is_inert(browser, outbox, make_user):
    form = {**GOOD, "name": "<script>alert(1)</script><img src=x onerror=alert(2)>"}
    assert (await browser.post("/signup", form)).status_code == 201
    await make_user("admin@example.org", "admin")
    await browser.login("admin@example.org")
    page = await browser.get("/back/users")
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    mail = (await outbox("ann@example.org"))[0]
    assert "<script>" not in mail["body_html"]


async def test_login_failures_answer_alike(browser, make_user):
    await make_user("bob@example.org")
    wrong_password = await browser.post("/login", {"email": "bob@example.org", "password": "nope nope nope"})
    unknown = await browser.post("/login", {"email": "nobody@example.org", "password": "nope nope nope"})
    assert wrong_password.status_code == unknown.status_code == 422
    assert "Email or password is incorrect." in wrong_password.text
    assert wrong_password.text == unknown.text.replace("nobody@example.org", "bob@example.org")


async def test_deactivated_user_cannot_log_in(browser, make_user):
    await make_user("gone@example.org", active=False)
    response = await browser.post("/login", {"email": "gone@example.org", "password": PASSWORD})
    assert response.status_code == 422 and "Email or password is incorrect." in response.text


async def test_login_is_throttled_per_account(browser, make_user, make_browser):
    await make_user("bob@example.org")
    for _ in range(5):
        assert (
            await browser.post("/login", {"email": "bob@example.org", "password": "wrong guess!"})
        ).status_code == 422
    response = await browser.post("/login", {"email": "bob@example.org", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many login attempts" in response.text
    assert int(response.headers["retry-after"]) > 0
    # Another account from the same address is not locked by Bob's failures.
    await make_user("cat@example.org")
    other = await make_browser()
    assert (await other.post("/login", {"email": "cat@example.org", "password": PASSWORD})).status_code == 303


async def test_login_is_throttled_per_ip(browser, make_user):
    await make_user("bob@example.org")
    for i in range(20):
        await browser.post("/login", {"email": f"user{i}@example.org", "password": "wrong guess!"})
    response = await browser.post("/login", {"email": "bob@example.org", "password": PASSWORD})
    assert response.status_code == 429 and "Try again in" in response.text


async def test_session_cookie_is_rotated_and_flagged(browser, make_user):
    await make_user("bob@example.org")
    home = await browser.get("/")
    assert "session=" not in home.headers.get("set-cookie", "")  # anonymous: no session written
    browser.cookies.set("session", "attacker-chosen-id")
    response = await browser.login("bob@example.org")
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("session=")][0]
    assert "attacker-chosen-id" not in cookie
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie


async def test_logout_needs_post_and_ends_the_session(browser, make_user):
    await make_user("bob@example.org")
    await browser.login("bob@example.org")
    assert (await browser.get("/logout")).status_code == 405
    response = await browser.post("/logout")
    assert response.status_code == 303
    assert (await browser.get("/account")).status_code == 303


async def test_next_parameter_stays_on_site(browser, make_user):
    await make_user("bob@example.org")
    response = await browser.post(
        "/login", {"email": "bob@example.org", "password": PASSWORD, "next": "//evil.example/steal"}
    )
    assert response.headers["location"] == "/"
    await browser.post("/logout")
    response = await browser.post("/login", {"email": "bob@example.org", "password": PASSWORD, "next": "/account"})
    assert response.headers["location"] == "/account"


async def test_missing_csrf_token_is_refused_and_nothing_written(browser):
    response = await browser.post("/signup", GOOD, csrf=False)
    assert response.status_code == 403
    assert "Reload the page" in response.text
    assert await User.count() == 0


async def test_password_reset_flow(browser, make_browser, make_user, outbox):
    await make_user("bob@example.org")
    elsewhere = await make_browser()
    await elsewhere.login("bob@example.org")

    known = await browser.post("/password/forgot", {"email": "bob@example.org"})
    unknown = await browser.post("/password/forgot", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("bob@", "x@") == unknown.text.replace("nobody@", "x@")
    assert "If an account exists" in known.text
    await drain()  # the request only queued the work
    assert await outbox("nobody@example.org") == []
    link = link_in((await outbox("bob@example.org"))[-1]["body_text"], "/password/reset/")

    page = await browser.get(link)
    assert page.status_code == 200 and "Choose a new password" in page.text
    weak = await browser.post(link, {"password": "short"})
    assert weak.status_code == 422 and "at least 10 characters" in weak.text
    response = await browser.post(link, {"password": "new purple otter"})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    await browser.login("bob@example.org", "new purple otter")
    # The link is single use, and the other session has ended.
    assert (await browser.get(link)).status_code == 400
    assert (await elsewhere.get("/account")).status_code == 303


async def test_expired_and_unknown_reset_links_are_refused(browser, make_user, outbox):
    await make_user("bob@example.org")
    await browser.post("/password/forgot", {"email": "bob@example.org"})
    await drain()
    link = link_in((await outbox("bob@example.org"))[-1]["body_text"], "/password/reset/")
    async with write_transaction():
        await (
            AuthToken.update({AuthToken.expires_at: utcnow() - timedelta(seconds=1)})
            .where(AuthToken.purpose == "reset")
            .run()
        )
    for url in (link, "/password/reset/not-a-real-token", "/password/reset/" + "x" * 500):
        response = await browser.get(url)
        assert response.status_code == 400 and "invalid or has expired" in response.text
        response = await browser.post(url, {"password": "new purple otter"})
        assert response.status_code == 400
    row = await user_row("bob@example.org")
    assert row["session_version"] == 1


async def test_a_deactivated_accounts_links_change_nothing(browser, make_user):
    """A reset or verification link of a deactivated account is refused before anything is written
    (it used to set the new password, then refuse)."""
    from portal.accounts import tokens

    user_id = await make_user("bob@example.org", active=False, verified=False)
    before = await user_row("bob@example.org")
    reset, verify = await tokens.issue(user_id, "reset"), await tokens.issue(user_id, "verify")
    for url in (f"/password/reset/{reset}", f"/verify/{verify}"):
        response = await browser.post(url, {"password": "new purple otter"})
        assert response.status_code == 400 and "invalid or has expired" in response.text
    after = await user_row("bob@example.org")
    assert (after["password_hash"], after["session_version"], after["email_verified_at"]) == (
        before["password_hash"],
        before["session_version"],
        None,
    )


async def test_profile_update_and_password_change(browser, make_browser, make_user):
    await make_user("bob@example.org", name="Bob")
    await browser.login("bob@example.org")
    other = await make_browser()
    await other.login("bob@example.org")

    page = await browser.get("/account")
    assert page.status_code == 200 and "bob@example.org" in page.text
    bad = await browser.post("/account", {"name": "Bob B", "timezone": "Nowhere/Special"})
    assert bad.status_code == 422 and "Choose a time zone" in bad.text
    ok = await browser.post("/account", {"name": "Robert", "timezone": "America/New_York"})
    assert ok.status_code == 303
    row = await user_row("bob@example.org")
    assert (row["name"], row["timezone"]) == ("Robert", "America/New_York")

    wrong = await browser.post(
        "/account/password", {"current_password": "not it at all", "new_password": "green lemur kayak"}
    )
    assert wrong.status_code == 422 and "not your current password" in wrong.text
    changed = await browser.post(
        "/account/password", {"current_password": PASSWORD, "new_password": "green lemur kayak"}
    )
    assert changed.status_code == 303
    assert (await browser.get("/account")).status_code == 200  # this session goes on
    assert (await other.get("/account")).status_code == 303  # every other one has ended
    assert await AuditEvent.count().where(AuditEvent.action == "account.password_changed") == 1
