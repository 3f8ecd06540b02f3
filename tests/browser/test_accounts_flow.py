"""Accounts as a person meets them in Chromium: sign-up, the mailed link, login, logout, access."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_NAME, PASSWORD

pytestmark = pytest.mark.browser

LOGIN_FAILED = "Email or password is incorrect."
CONFIRMED = "Your email address is confirmed and you are signed in."
VERIFY_SUBJECT = "Confirm your email address for Front Desk"


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


def header(page: Page):
    """The site header's navigation: the front office's "Main" or the back office's own."""
    return page.locator("header.site-header nav")


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    form = page.locator("#login-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()


def expect_signed_in_as(page: Page, name: str) -> None:
    nav = header(page)
    expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(nav.get_by_role("button", name="Log out")).to_be_visible()
    expect(nav.get_by_role("link", name="Log in")).to_have_count(0)


def expect_signed_out(page: Page) -> None:
    nav = header(page)
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    expect(nav.get_by_role("button", name="Log out")).to_have_count(0)


def read_mail_link(admin: Page, to: str, subject: str, path_prefix: str, timeout: float = 15.0) -> str:
    """As a signed-in admin: find the newest mail to ``to`` with ``subject`` in the outbox, open it
    and return the first link in its text body whose path starts with ``path_prefix``."""
    deadline = time.monotonic() + timeout
    while True:
        admin.goto(f"/back/outbox?to={quote(to)}")
        link = admin.locator("#outbox-table tbody tr").filter(has_text=to).get_by_role("link", name=subject)
        if link.count():
            break
        assert time.monotonic() < deadline, f"no mail {subject!r} to {to} in the outbox after {timeout} s"
        time.sleep(0.25)  # the row is written with the sign-up; poll only in case of a slow commit
    link.first.click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(subject)
    assert_accessible(admin)
    text = admin.locator("#mail-text").inner_text()
    origin = re.escape(admin.url.split("/back/")[0])
    match = re.search(origin + re.escape(path_prefix) + r"[^\s\"<>]+", text)
    assert match, f"no {path_prefix} link in the mail text:\n{text}"
    return match.group(0)


def test_sign_up_confirm_log_in_and_out(new_page, base_url):
    customer = new_page()
    name, email = "Carla Customer", unique_email("carla")

    customer.goto("/signup")
    expect(customer.get_by_role("heading", name="Create an account")).to_be_visible()
    assert_accessible(customer)
    customer.get_by_label("Your name").fill(name)
    customer.get_by_label("Email").fill(email)
    customer.get_by_label("Password").fill(PASSWORD)
    customer.get_by_role("button", name="Create account").click()
    expect(customer.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(customer.locator("main")).to_contain_text(email)
    assert_accessible(customer)

    admin = new_page()
    log_in(admin, ADMIN_EMAIL)
    admin.wait_for_url(f"{base_url}/back")
    link = read_mail_link(admin, email, VERIFY_SUBJECT, "/verify/")
    expect(admin.locator("#mail-text")).to_contain_text(f"Hello {name},")
    # Without SMTP the in-process worker keeps the message: "queued" becomes "stored" within seconds.
    deadline = time.monotonic() + 15
    while "stored" not in admin.locator("dl.meta").inner_text():
        assert time.monotonic() < deadline, "the verification mail was never processed by the worker"
        time.sleep(0.5)
        admin.reload()

    # Opened in the browser that signed up, the link confirms the address and signs the person in.
    customer.goto(link)
    customer.wait_for_url(f"{base_url}/")
    expect(customer.locator("#messages")).to_contain_text(CONFIRMED)
    expect_signed_in_as(customer, name)
    expect(customer.locator("main").get_by_role("link", name="My tickets")).to_be_visible()
    expect(customer.locator("main").get_by_role("link", name="My appointments")).to_be_visible()
    assert_accessible(customer)

    # The session survives a fresh page load (it is a cookie, not page state).
    customer.reload()
    expect_signed_in_as(customer, name)

    header(customer).get_by_role("button", name="Log out").click()
    customer.wait_for_url(f"{base_url}/")
    expect_signed_out(customer)
    expect(header(customer).get_by_role("link", name=name)).to_have_count(0)

    log_in(customer, email)
    customer.wait_for_url(f"{base_url}/")
    expect(customer.locator("#messages")).to_contain_text(f"Welcome back, {name}.")
    expect_signed_in_as(customer, name)
    header(customer).get_by_role("button", name="Log out").click()
    customer.wait_for_url(f"{base_url}/")
    expect_signed_out(customer)

    # The used link does not work a second time.
    response = customer.goto(link)
    assert response is not None and response.status == 400
    expect(customer.get_by_role("link", name="Log in").first).to_be_visible()
    assert_accessible(customer)


def test_wrong_password_shows_one_message_and_keeps_the_visitor_out(page, portal_server, base_url):
    email = unique_email("wrong")
    portal_server.create_user(email, "Walter Wrong")

    page.goto("/login")
    form = page.locator("#login-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill("not the right password")
    with page.expect_response(lambda r: r.url == f"{base_url}/login" and r.request.method == "POST") as answer:
        form.get_by_role("button", name="Log in").click()
    assert answer.value.status == 422
    assert answer.value.request.headers.get("hx-request") == "true", "htmx did not send the form"

    alert = page.locator("#login-form").get_by_role("alert")
    expect(alert).to_have_text(LOGIN_FAILED)
    assert_accessible(page)
    expect(page).to_have_url(f"{base_url}/login")
    # The email stays filled in, the password does not; the form can be sent again.
    expect(page.locator("#login-form").get_by_label("Email")).to_have_value(email)
    expect(page.locator("#login-form").get_by_label("Password")).to_have_value("")
    expect_signed_out(page)

    # Not signed in on the next page either.
    page.goto("/account")
    page.wait_for_url(re.compile(re.escape(f"{base_url}/login") + r"\?next=/account$"))
    expect_signed_out(page)


def test_admin_lands_in_back_office_and_customer_is_refused(new_page, portal_server, base_url):
    admin = new_page()
    log_in(admin, ADMIN_EMAIL)
    admin.wait_for_url(f"{base_url}/back")
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Good to see you, {ADMIN_NAME}")
    assert_accessible(admin)
    sections = admin.get_by_role("navigation", name="Sections")
    expect(sections.get_by_role("link", name="Users")).to_be_visible()
    expect(sections.get_by_role("link", name="Outbox")).to_be_visible()
    sections.get_by_role("link", name="Users").click()
    admin.wait_for_url(f"{base_url}/back/users")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Users")
    assert_accessible(admin)

    email, name = unique_email("cora"), "Cora Customer"
    portal_server.create_user(email, name)
    customer = new_page()
    log_in(customer, email)
    customer.wait_for_url(f"{base_url}/")
    expect_signed_in_as(customer, name)
    expect(header(customer).get_by_role("link", name="Back office")).to_have_count(0)

    response = customer.goto("/back")
    assert response is not None and response.status == 403
    expect(customer.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(customer.get_by_role("navigation", name="Sections")).to_have_count(0)
    assert_accessible(customer)
    response = customer.goto("/back/outbox")
    assert response is not None and response.status == 403
    expect(customer.get_by_role("heading", level=1)).to_have_text("Not allowed")


def test_log_in_and_out_without_javascript(new_page, portal_server, base_url):
    email, name = unique_email("nojs"), "Noah Nojs"
    portal_server.create_user(email, name)
    page = new_page(java_script_enabled=False)

    # A wrong password: the whole page comes back with the message, still at /login.
    page.goto("/login")
    form = page.locator("#login-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill("not the right password")
    with page.expect_navigation() as navigation:
        form.get_by_role("button", name="Log in").click()
    assert navigation.value is not None and navigation.value.status == 422
    expect(page).to_have_url(f"{base_url}/login")
    expect(page.locator("#login-form").get_by_role("alert")).to_have_text(LOGIN_FAILED)
    expect_signed_out(page)
    assert_accessible(page)

    form = page.locator("#login-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")
    expect(page.locator("#messages")).to_contain_text(f"Welcome back, {name}.")
    expect_signed_in_as(page, name)

    header(page).get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base_url}/")
    expect_signed_out(page)


def test_back_button_after_logout_does_not_show_the_account(new_page, portal_server, base_url):
    email, name = unique_email("shared"), "Sam Shared"
    portal_server.create_user(email, name)
    page = new_page()
    log_in(page, email)
    page.wait_for_url(f"{base_url}/")
    page.goto("/account")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.locator("main")).to_contain_text(email)
    assert_accessible(page)

    header(page).get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base_url}/")
    expect_signed_out(page)

    # Someone else at the same computer presses Back.
    page.go_back()
    expect(page.get_by_text(email)).to_have_count(0, timeout=2000)
    expect(header(page).get_by_role("link", name=name)).to_have_count(0, timeout=1000)
