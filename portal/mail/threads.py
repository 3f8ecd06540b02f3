"""Signed thread keys: how a mailed reply proves which ticket it answers, and to whom we wrote.

Every ticket mail goes to one recipient and carries, in its reply address and in its Message-ID,
the ticket number and a signature: an HMAC over the number and that recipient's address, with the
current mail key. A reply joins the ticket only when a key it carries verifies for the address it
comes from (and that address still takes part in the ticket: the intake checks that). A forwarded
mail answered by someone else, a guessed number or a subject line "[#12]" proves nothing.

Keys rotate: PORTAL_MAIL_KEYS lists them, the first signs and every one verifies, so mail sent
before a rotation can still be answered. Without it, one key is derived from the secret key.

    support+t.12.k3x9q2m4v7b1c8d5@example.org          (reply address)
    <t.12.5f2a9c01.k3x9q2m4v7b1c8d5@example.org>        (Message-ID)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from email.utils import parseaddr

# The first line of a ticket mail: what a customer writes above it is their reply, the rest is quoted.
REPLY_MARKER = "##- Please type your reply above this line -##"
SIGNATURE_LENGTH = 16  # base32 characters: 80 bits
_KEY_PART = r"t\.(\d{1,18})\.([a-z2-7]{16})"
_REPLY_LOCAL = re.compile(rf"^(?P<base>[^+@]+)\+{_KEY_PART}$")
_MESSAGE_ID = re.compile(r"^t\.(\d{1,18})\.[0-9a-f]{8}\.([a-z2-7]{16})$")


def derive_keys(configured: str, secret_key: str) -> tuple[bytes, ...]:
    """The mail keys, newest first: PORTAL_MAIL_KEYS, else one derived from the secret key."""
    keys = tuple(key.strip().encode() for key in configured.split(",") if key.strip())
    if keys:
        return keys
    return (hmac.new(secret_key.encode(), b"front-desk mail reply keys v1", hashlib.sha256).digest(),)


def sign(number: int, recipient: str, key: bytes) -> str:
    digest = hmac.new(key, f"{number}\n{recipient.strip().lower()}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:SIGNATURE_LENGTH]


def verifies(claim: Claim, sender: str, keys: tuple[bytes, ...]) -> bool:
    """Whether ``claim`` was signed, with any of ``keys``, for the ticket it names and ``sender``."""
    return any(hmac.compare_digest(sign(claim.number, sender, key), claim.signature) for key in keys)


@dataclass(frozen=True)
class Claim:
    """A ticket a mail says it answers, and the signature that should prove it."""

    number: int
    signature: str


def split_address(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().lower().rpartition("@")
    return local, domain


def reply_address(mailbox_address: str, number: int, recipient: str, key: bytes) -> str:
    """The mailbox's address with the signed key of ``number`` for ``recipient``."""
    local, domain = split_address(mailbox_address)
    return f"{local}+t.{number}.{sign(number, recipient, key)}@{domain}"


def message_id(mailbox_address: str, number: int, recipient: str, key: bytes) -> str:
    """A new Message-ID (without <>) for a mail about ``number`` to ``recipient``."""
    _, domain = split_address(mailbox_address)
    return f"t.{number}.{secrets.token_hex(4)}.{sign(number, recipient, key)}@{domain or 'localhost'}"


def base_address(address: str) -> str:
    """``support+t.12.sig@example.org`` → ``support@example.org`` (other addresses unchanged)."""
    local, domain = split_address(address)
    found = _REPLY_LOCAL.match(local)
    return f"{found.group('base')}@{domain}" if found else f"{local}@{domain}"


def claim_of_address(address: str) -> Claim | None:
    found = _REPLY_LOCAL.match(split_address(parseaddr(address)[1] or address)[0])
    return Claim(int(found.group(2)), found.group(3)) if found else None


def claim_of_message_id(value: str) -> Claim | None:
    local, _ = split_address(value.strip().strip("<>"))
    found = _MESSAGE_ID.match(local)
    return Claim(int(found.group(1)), found.group(2)) if found else None


def claims(addresses: list[str] | tuple[str, ...], message_ids: list[str] | tuple[str, ...]) -> list[Claim]:
    """Every ticket key a mail carries: in the addresses it was sent to (To, Cc, Delivered-To) and
    in the Message-IDs it answers (In-Reply-To, References), without repeats, in that order."""
    found = [claim_of_address(a) for a in addresses] + [claim_of_message_id(m) for m in message_ids]
    return list(dict.fromkeys(claim for claim in found if claim is not None))
