"""The IMAP intake's pure rules: what a mailbox row must say, how fetches are grouped, how an
IMAP answer is read, how long to wait before reconnecting, and what the health line says."""

from __future__ import annotations

import imaplib
import socket
import ssl

import pytest
from imap_tools.errors import MailboxLoginError

from portal.mail.secrets import SecretError
from portal.mailin import oauth
from portal.mailin.imap_client import (
    Account,
    ConfigError,
    backoff_seconds,
    describe,
    messages_in,
    plan_batches,
    return_path,
)

ROW = {
    "id": 3,
    "address": "help@example.org",
    "imap_host": "imap.example.org",
    "imap_port": 993,
    "imap_security": "ssl",
    "imap_user": "",
    "imap_auth": "password",
    "imap_folder": "",
    "imap_after": "seen",
    "imap_move_to": "",
}


def test_a_row_becomes_an_account_with_defaults():
    account = Account.from_row(ROW)
    assert account.user == "help@example.org"  # no user: the address
    assert account.folder == "INBOX"
    assert account.server == "imap.example.org:993"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"imap_host": " "}, "No IMAP server"),
        ({"imap_port": 70000}, "not a port"),
        ({"imap_security": "tls"}, "Unknown IMAP security 'tls'"),
        ({"imap_auth": "cram-md5"}, "sign-in method"),
        ({"imap_after": "archive"}, "action after"),
        ({"imap_after": "move"}, "Choose the folder"),
        ({"imap_after": "move", "imap_move_to": "INBOX"}, "cannot move to the folder they are taken from"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_a_reason(change, message):
    with pytest.raises(ConfigError, match=message):
        Account.from_row({**ROW, **change})


def test_batches_keep_order_and_stay_within_the_budget():
    pending = [("1", 400), ("2", 400), ("3", 300), ("4", 900), ("5", 100)]
    assert plan_batches(pending, limit=1000, budget=1000) == ([["1", "2"], ["3"], ["4", "5"]], [])


def test_a_message_over_the_budget_goes_alone_and_over_the_limit_not_at_all():
    pending = [("1", 10), ("2", 5000), ("3", 10), ("4", 20_000), ("5", 10)]
    batches, too_large = plan_batches(pending, limit=10_000, budget=100)
    assert batches == [["1"], ["2"], ["3", "5"]]
    assert too_large == ["4"]


def test_nothing_pending_nothing_to_fetch():
    assert plan_batches([], limit=10, budget=10) == ([], [])


def test_backoff_doubles_up_to_a_cap():
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert backoff_seconds(7) == 300
    assert backoff_seconds(10_000) == 300


def test_raw_messages_are_read_whatever_the_uid_position():
    answer = [
        (b"1 (UID 7 BODY[] {5}", b"first"),
        b")",
        (b"2 (BODY[] {6}", b"second"),
        b" UID 9 FLAGS (\\Recent))",
        (b"3 (UID 11 BODY[] {5}", b"other"),  # not asked for
        b")",
    ]
    assert messages_in(answer, wanted={"7", "9"}) == [("7", b"first"), ("9", b"second")]


def test_return_path():
    assert return_path(b"Return-Path: <ann@example.org>\r\nFrom: x\r\n\r\nbody") == "ann@example.org"
    assert return_path(b"Return-Path: <>\r\n\r\nbounce") == "<>"
    assert return_path(b"From: ann@example.org\r\n\r\nbody") == ""
    # The delivering server puts its Return-Path on top; a forged one further down does not count.
    assert return_path(b"Return-Path: <a@x.org>\r\nReturn-Path: <b@y.org>\r\n\r\n") == "a@x.org"


def test_health_sentences_name_the_problem_not_the_secret():
    account = Account.from_row(ROW)
    login = MailboxLoginError(("NO", [b"[AUTHENTICATIONFAILED] Authentication failed."]), "OK")
    assert "[AUTHENTICATIONFAILED]" in describe(login, account)
    assert describe(ConnectionRefusedError(111, "Connection refused"), account).startswith(
        "imap.example.org:993 refused the connection"
    )
    assert "cannot be found" in describe(socket.gaierror(-2, "Name or service not known"), account)
    assert "did not answer in time" in describe(TimeoutError("timed out"), account)
    assert "TLS with imap.example.org:993 failed" in describe(ssl.SSLError(1, "wrong version number"), account)
    assert "closed the connection" in describe(imaplib.IMAP4.abort("socket error: EOF"), account)
    assert describe(SecretError("The variable X is not set."), account) == "The variable X is not set."
    assert describe(KeyError("imap_secret=hunter2"), account) == "Unexpected error (KeyError); see the server log."
    assert len(describe(imaplib.IMAP4.error("x" * 1000), account)) <= 300


GRANT = {
    "token_url": "https://login.example.com/token",
    "client_id": "app",
    "client_secret": "s3cret",
    "refresh_token": "r1",
}


def test_an_oauth_secret_is_a_token_or_a_refresh_grant():
    assert oauth.parse_grant("ya29.an-access-token") is None
    grant = oauth.parse_grant(oauth.RefreshGrant(**GRANT, scope="imap offline_access").as_json())
    assert grant == oauth.RefreshGrant(**GRANT, scope="imap offline_access")
    assert "s3cret" not in repr(grant) and "r1" not in repr(grant)  # logs never show them


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "cannot be read as JSON"),
        ('{"token_url": "https://x/t", "client_id": "a"}', "lacks client_secret, refresh_token"),
        (
            '{"token_url": "http://login.example.com/t", "client_id": "a", "client_secret": "b", "refresh_token": "c"}',
            "https",
        ),
    ],
)
def test_a_broken_refresh_grant_says_what_is_wrong(text, message):
    with pytest.raises(SecretError, match=message):
        oauth.parse_grant(text)


def test_plain_http_token_endpoints_only_on_this_machine():
    grant = oauth.parse_grant(
        '{"token_url": "http://127.0.0.1:8080/t", "client_id": "a", "client_secret": "b", "refresh_token": "c"}'
    )
    assert grant is not None and grant.token_url == "http://127.0.0.1:8080/t"
