"""Pure account rules: roles, email and password checks. No I/O (time zones are in portal.clock)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ROLES = ("customer", "agent", "admin")
ROLE_RANK = {"customer": 1, "agent": 2, "admin": 3}

EMAIL_MAX = 254
NAME_MAX = 120
PASSWORD_MIN = 10
PASSWORD_MAX = 128  # argon2 cost grows with input; refuse novels

_EMAIL_RE = re.compile(
    r"^[^@\s<>\"',;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)

COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password12",
        "password123",
        "passw0rd",
        "123456",
        "12345678",
        "123456789",
        "1234567890",
        "qwerty",
        "qwertyuiop",
        "qwerty123",
        "letmein",
        "welcome",
        "welcome1",
        "iloveyou",
        "admin",
        "admin123",
        "abc123",
        "abcdefghij",
        "monkey",
        "dragon",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "trustno1",
        "changeme",
        "1q2w3e4r5t",
        "0987654321",
        "1111111111",
        "aaaaaaaaaa",
        "zaq12wsxcde",
        "correcthorse",
    }
)


@dataclass(frozen=True)
class Actor:
    """Who is asking: the signed-in user as services see them."""

    id: int
    email: str
    name: str
    role: str
    timezone: str = "UTC"
    session_version: int = 1

    @property
    def is_staff(self) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK["agent"]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def normalize_email(raw: str) -> str:
    return (raw or "").strip().lower()


def email_problem(email: str) -> str | None:
    if not email:
        return "Enter your email address."
    if len(email) > EMAIL_MAX:
        return f"An email address has at most {EMAIL_MAX} characters."
    if has_control_characters(email, invisible=True):
        return "An email address cannot contain control or invisible characters."
    if not _EMAIL_RE.match(email):
        return "Enter an email address like name@example.org."
    return None


def has_control_characters(text: str, *, invisible: bool = False) -> bool:
    """Control characters (C0, DEL, C1), and with ``invisible`` the format characters too
    (zero-width, bidi overrides): nobody types them in an address, and they spoof what a reader sees.
    Names keep format characters: Persian and Indic names use zero-width (non-)joiners."""
    kinds = ("Cc", "Cf") if invisible else ("Cc",)
    return any(unicodedata.category(c) in kinds for c in text)


def name_problem(name: str) -> str | None:
    if not name.strip():
        return "Enter your name."
    if len(name) > NAME_MAX:
        return f"A name has at most {NAME_MAX} characters."
    if has_control_characters(name):
        return "A name cannot contain control characters."
    return None


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        return "This password is too easy to guess. Try a few unrelated words."
    local = email.split("@")[0].lower()
    compact_name = "".join(name.lower().split())
    if any(len(part) >= 4 and part in lowered for part in (local, compact_name)):
        return "Don't use your email or name in your password."
    return None


def can_manage_user(actor: Actor, target_id: int, target_role: str) -> bool:
    """Admins manage everyone but themselves (no self-demotion or self-lockout)."""
    return actor.is_admin and actor.id != target_id and target_role in ROLE_RANK
