"""Mailbox secrets: encrypted at rest under a key derived from PORTAL_SECRET_KEY, or named by a variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal import settings as settings_module
from portal.mail import secrets
from portal.mail.secrets import SecretError
from portal.settings import Settings


def use_key(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setattr(
        settings_module, "_active", Settings(database_url="sqlite://", var_dir=Path("."), secret_key=key)
    )


def test_a_secret_comes_back_as_it_went_in(monkeypatch):
    use_key(monkeypatch, "one key")
    token = secrets.encrypt("pässwörd with spaces ✓")
    assert "pässwörd" not in token and token.isascii()
    assert secrets.decrypt(token) == "pässwörd with spaces ✓"


def test_every_encryption_differs(monkeypatch):
    use_key(monkeypatch, "one key")
    assert secrets.encrypt("same") != secrets.encrypt("same")


def test_another_secret_key_cannot_decrypt(monkeypatch):
    use_key(monkeypatch, "one key")
    token = secrets.encrypt("desk-pass")
    use_key(monkeypatch, "another key")
    with pytest.raises(SecretError, match="PORTAL_SECRET_KEY changed"):
        secrets.decrypt(token)


@pytest.mark.parametrize("damaged", ["", "not a token", "gAAAAA" + "x" * 40, "ünïcode"])
def test_a_damaged_value_says_so(monkeypatch, damaged):
    use_key(monkeypatch, "one key")
    with pytest.raises(SecretError, match="damaged"):
        secrets.decrypt(damaged)


def test_mailbox_secret_prefers_the_named_variable(monkeypatch):
    use_key(monkeypatch, "one key")
    monkeypatch.setenv("DESK_IMAP_PASSWORD", "from-the-environment")
    row = {"imap_secret": secrets.encrypt("from-the-database"), "imap_secret_env": "DESK_IMAP_PASSWORD"}
    assert secrets.mailbox_secret(row) == "from-the-environment"
    assert secrets.mailbox_secret({**row, "imap_secret_env": ""}) == "from-the-database"


def test_an_unset_variable_is_named_in_the_error(monkeypatch):
    monkeypatch.delenv("DESK_IMAP_PASSWORD", raising=False)
    with pytest.raises(SecretError, match="DESK_IMAP_PASSWORD") as caught:
        secrets.mailbox_secret({"imap_secret": "", "imap_secret_env": "DESK_IMAP_PASSWORD"})
    assert "not set" in str(caught.value)


def test_no_secret_at_all(monkeypatch):
    with pytest.raises(SecretError, match="No secret is stored"):
        secrets.mailbox_secret({"imap_secret": "", "imap_secret_env": ""})
