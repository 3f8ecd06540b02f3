"""The mailbox form's rules, a received mail's header view and a mailbox's health: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.mailin.admin import health, view_of
from portal.mailin.admin_forms import MailboxForm, check_mailbox, env_problem, host_problem, placeholder_problem
from portal.mailin.raw_view import SOURCE_MAX, view

IMAP = MailboxForm(
    address=" Support@Example.org ",
    name="  Example   Support ",
    team="3",
    acknowledge="1",
    is_active="1",
    intake="imap",
    imap_host="IMAP.example.org",
    imap_port="",
    imap_security="starttls",
    imap_user="support@example.org",
    imap_secret="s3cret",
    imap_folder="",
    imap_after="seen",
)


def test_a_good_form_is_normalized():
    data, errors = check_mailbox(IMAP)
    assert errors == {}
    assert (data.address, data.name, data.team) == ("support@example.org", "Example Support", 3)
    assert (data.imap_host, data.imap_port, data.imap_folder) == ("imap.example.org", 143, "INBOX")
    assert data.acknowledge and data.is_active and data.imap_secret == "s3cret" and not data.clear_secret


def test_a_listener_mailbox_needs_no_imap_fields_but_filled_ones_are_checked():
    listener = MailboxForm(address="help@example.org", intake="listener")
    assert check_mailbox(listener)[1] == {}
    _, errors = check_mailbox(MailboxForm(address="help@example.org", intake="listener", imap_port="0"))
    assert set(errors) == {"imap_port"}


def test_the_stored_secret_counts_on_edit_and_an_environment_variable_clears_it():
    no_secret = MailboxForm(**{**IMAP.__dict__, "imap_secret": ""})
    assert "imap_secret" in check_mailbox(no_secret)[1]
    assert check_mailbox(no_secret, has_secret=True)[1] == {}
    data, errors = check_mailbox(MailboxForm(**{**no_secret.__dict__, "imap_secret_env": "SUPPORT_IMAP"}))
    assert errors == {} and data.clear_secret


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("imap.example.org", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("mail-1.example.org.", True),
        ("", False),
        ("imap example.org", False),
        ("-bad.example.org", False),
        ("a..b", False),
        ("x" * 256, False),
        ("imap.example.org/evil", False),
    ],
)
def test_host_names(host, ok):
    assert (host_problem(host) is None) is ok


@pytest.mark.parametrize(("name", "ok"), [("IMAP_PASSWORD", True), ("_X1", True), ("imap", False), ("1X", False)])
def test_environment_variable_names(name, ok):
    assert (env_problem(name) is None) is ok


def test_placeholders():
    assert placeholder_problem("Hi {name}, #{number} {subject} {link}") is None
    assert (
        placeholder_problem("{ticket}")
        == "Unknown placeholder {ticket}: the text can use {name}, {number}, {subject}, {link}."
    )
    assert (
        placeholder_problem("a { b } {} c")
        == "Unknown placeholder {}: the text can use {name}, {number}, {subject}, {link}."
    )


def test_from_row_never_puts_the_secret_back():
    form = MailboxForm.from_row({"address": "a@example.org", "team": None, "imap_secret": "gAAAA…", "imap_port": 993})
    assert form.imap_secret == "" and form.team == "" and form.imap_port == "993"


def test_health():
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert health({"last_success_at": None, "last_error": "", "last_error_at": None}) == "unknown"
    assert health({"last_success_at": now, "last_error": "", "last_error_at": None}) == "ok"
    failing = {"last_success_at": now - timedelta(hours=1), "last_error": "refused", "last_error_at": now}
    assert health(failing) == "failing"
    assert health({**failing, "last_success_at": now + timedelta(minutes=1)}) == "ok"
    assert view_of("held") == "held" and view_of("<x>") == "attention"


def test_headers_are_decoded_and_the_source_is_cut():
    raw = b"From: =?utf-8?q?Caf=C3=A9?= <a@example.org>\r\nSubject: Hello\r\n world\r\nX-Other: 1\r\n\r\n" + b"x" * (
        SOURCE_MAX + 10
    )
    mail = view(raw)
    assert mail.summary == [("From", "Café <a@example.org>"), ("Subject", "Hello world")]
    assert [name for name, _ in mail.headers] == ["From", "Subject", "X-Other"]
    assert len(mail.source) == SOURCE_MAX and mail.source_cut


def test_garbage_still_gives_a_view():
    mail = view(b"\xff\xfe no headers at all\r\n\r\nbody")
    assert "body" in mail.source and not mail.source_cut
