"""Mailbox secrets (IMAP passwords, OAuth2 tokens) at rest: encrypted, or named by a variable.

A secret typed in the back office is stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under
a key derived from PORTAL_SECRET_KEY for this one purpose, so a database dump or backup alone does
not give the mailbox away. Deployments that keep secrets out of the database name an environment
variable instead (``imap_secret_env``); that variable wins when set.

Changing PORTAL_SECRET_KEY makes the stored secrets unreadable: ``decrypt`` then raises
``SecretError`` saying so, and the mailbox's health shows it until an admin enters the secret again.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portal.settings import get_settings

PURPOSE = b"front-desk mailbox secrets v1"


class SecretError(Exception):
    """A mailbox secret that cannot be had; the message says why, for an admin, without the secret."""


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(text: str) -> str:
    """The value to store in ``mailbox.imap_secret`` (ASCII; a new random IV every time)."""
    return _fernet(get_settings().secret_key).encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The secret ``encrypt`` stored; ``SecretError`` when the key changed or the value is damaged."""
    try:
        return _fernet(get_settings().secret_key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as error:
        raise SecretError(
            "The stored secret cannot be decrypted: PORTAL_SECRET_KEY changed since it was saved, "
            "or the stored value is damaged. Enter the secret again."
        ) from error


def mailbox_secret(row: Mapping[str, Any]) -> str:
    """The mailbox's password or token: from the variable ``imap_secret_env`` names when one is
    named, else the decrypted ``imap_secret``."""
    variable = str(row.get("imap_secret_env") or "").strip()
    if variable:
        value = os.environ.get(variable, "")
        if not value:
            raise SecretError(
                f"The environment variable {variable}, which should hold this mailbox's secret, is not set."
            )
        return value
    stored = str(row.get("imap_secret") or "")
    if not stored:
        raise SecretError("No secret is stored for this mailbox: enter its password or token.")
    return decrypt(stored)
