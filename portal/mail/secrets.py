"""Secrets the portal must use again (an IMAP password or token), kept encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from PORTAL_SECRET_KEY: a copy of the
database alone does not reveal the mailbox passwords.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet

from portal.settings import get_settings

_PURPOSE = b"portal.mail.secrets\x00"


def _fernet() -> Fernet:
    digest = hashlib.sha256(_PURPOSE + get_settings().secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode("ascii")).decode()
