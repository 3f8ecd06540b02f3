"""The mailbox form as an admin fills it, checked without a database: every field's rule and the
message shown beside it. ``admin.py`` adds what needs the database (the team exists, the address
is free) and stores the result."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, fields
from typing import Any

from portal.accounts.rules import EMAIL_MAX, email_problem, has_control_characters, normalize_email
from portal.ids import parse_id, parse_int
from portal.mail import threads

INTAKES = ("listener", "imap")
SECURITIES = ("ssl", "starttls", "none")
AUTHS = ("password", "xoauth2")
AFTERS = ("seen", "delete", "move")
PLACEHOLDERS = ("name", "number", "subject", "link")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}

NAME_MAX = 120
SIGNATURE_MAX = 2000
ACK_TEXT_MAX = 5000
HOST_MAX = 255
FOLDER_MAX = 200
SECRET_MAX = 4000  # an OAuth 2 access token can be long; a password never is
ENV_MAX = 100

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_HOST_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_PLACEHOLDER = re.compile(r"\{([^{}\s]{0,40})\}")


@dataclass
class MailboxForm:
    """What the form posts, as typed (a checkbox left unticked is not sent: "")."""

    address: str = ""
    name: str = ""
    team: str = ""
    signature: str = ""
    acknowledge: str = ""
    ack_text: str = ""
    is_active: str = ""
    intake: str = "listener"
    imap_host: str = ""
    imap_port: str = ""
    imap_security: str = "ssl"
    imap_user: str = ""
    imap_auth: str = "password"
    imap_secret: str = ""
    imap_secret_env: str = ""
    imap_folder: str = "INBOX"
    imap_after: str = "seen"
    imap_move_to: str = ""

    @classmethod
    def blank(cls) -> MailboxForm:
        """A new mailbox: active, acknowledging new tickets, received by the listener."""
        return cls(acknowledge="1", is_active="1", imap_port="993")

    @classmethod
    def from_row(cls, row: dict[str, object]) -> MailboxForm:
        """A stored mailbox as its form shows it; the secret is never put back in a form."""
        values = {f.name: row.get(f.name) for f in fields(cls) if f.name in row}
        form = cls(**{name: "" if value is None else str(value) for name, value in values.items()})
        form.team = str(row["team"]) if row.get("team") else ""
        form.acknowledge = "1" if row.get("acknowledge") else ""
        form.is_active = "1" if row.get("is_active") else ""
        form.imap_secret = ""
        return form


@dataclass(frozen=True)
class MailboxInput:
    """A checked form: what is stored (``imap_secret`` is the newly typed secret; "" keeps the
    stored one, unless ``clear_secret`` says the environment variable now holds it)."""

    address: str
    name: str
    team: int | None
    signature: str
    acknowledge: bool
    ack_text: str
    is_active: bool
    intake: str
    imap_host: str
    imap_port: int
    imap_security: str
    imap_user: str
    imap_auth: str
    imap_secret: str
    imap_secret_env: str
    imap_folder: str
    imap_after: str
    imap_move_to: str

    @property
    def clear_secret(self) -> bool:
        return bool(self.imap_secret_env)


def _text_problem(value: str, label: str, maximum: int, *, lines: bool = False) -> str | None:
    if len(value) > maximum:
        return f"{label} can have at most {maximum:,} characters."
    checked = value.replace("\n", "").replace("\r", "").replace("\t", "") if lines else value
    if has_control_characters(checked):
        return f"{label} cannot contain control characters."
    return None


def address_problem(address: str) -> str | None:
    if not address:
        return "Enter the address mail is sent to, like support@example.org."
    if problem := email_problem(address):
        return problem
    if threads.base_address(address) != address:
        return "This is one of our reply addresses (…+t.…@): enter the mailbox's own address."
    return None


def host_problem(host: str) -> str | None:
    if not host:
        return "Enter the IMAP server's name, like imap.example.org."
    if len(host) > HOST_MAX:
        return f"A server name can have at most {HOST_MAX} characters."
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")
    if not all(_HOST_LABEL.match(label) for label in labels):
        return "Enter a server name like imap.example.org (letters, digits, dots and hyphens) or an IP address."
    return None


def env_problem(name: str) -> str | None:
    if len(name) > ENV_MAX:
        return f"A variable name can have at most {ENV_MAX} characters."
    if not _ENV_NAME.match(name):
        return "Use capital letters, digits and underscores, not starting with a digit, like SUPPORT_IMAP_PASSWORD."
    return None


def placeholder_problem(text: str) -> str | None:
    unknown = [f"{{{key}}}" for key in _PLACEHOLDER.findall(text) if key not in PLACEHOLDERS]
    if unknown:
        known = ", ".join(f"{{{key}}}" for key in PLACEHOLDERS)
        return f"Unknown placeholder {unknown[0]}: the text can use {known}."
    return None


def _choice(value: str, choices: tuple[str, ...]) -> str | None:
    return value if value in choices else None


def _port(text: str, security: str) -> tuple[int, str | None]:
    if not text.strip():
        return DEFAULT_PORTS.get(security, 993), None
    port = parse_int(text, 1, 65535)
    if port is None:
        return 0, "Enter a port from 1 to 65535 (993 for SSL/TLS, 143 for STARTTLS), or leave it empty."
    return port, None


def _check_identity(form: MailboxForm, errors: dict[str, str]) -> tuple[str, str, int | None]:
    address = normalize_email(form.address)
    if problem := address_problem(address):
        errors["address"] = problem
    name = " ".join(form.name.split())
    if problem := _text_problem(name, "The From name", NAME_MAX):
        errors["name"] = problem
    team = parse_id(form.team) if form.team.strip() else None
    if form.team.strip() and team is None:
        errors["team"] = "Choose a team from the list."
    return address, name, team


def _check_texts(form: MailboxForm, errors: dict[str, str]) -> tuple[str, str]:
    signature, ack_text = form.signature.strip(), form.ack_text.strip()
    if problem := _text_problem(signature, "The signature", SIGNATURE_MAX, lines=True):
        errors["signature"] = problem
    problem = _text_problem(ack_text, "The acknowledgement", ACK_TEXT_MAX, lines=True) or placeholder_problem(ack_text)
    if problem:
        errors["ack_text"] = problem
    return signature, ack_text


def _check_secret(form: MailboxForm, imap: bool, has_secret: bool, errors: dict[str, str]) -> tuple[str, str]:
    secret, env = form.imap_secret, form.imap_secret_env.strip()
    if env and (problem := env_problem(env)):
        errors["imap_secret_env"] = problem
    if len(secret) > SECRET_MAX or has_control_characters(secret):
        errors["imap_secret"] = f"Enter the password or token as given (at most {SECRET_MAX:,} characters)."
    elif secret and env:
        errors["imap_secret"] = "Enter a password or the name of an environment variable, not both."
    elif imap and not (secret or env or has_secret):
        errors["imap_secret"] = "Enter the password (or access token), or the environment variable that holds it."
    return secret, env


def _check_imap(form: MailboxForm, has_secret: bool, errors: dict[str, str]) -> dict[str, Any]:
    """The IMAP fields: checked whenever filled in, required only when IMAP is the intake."""
    imap = form.intake == "imap"
    security = _choice(form.imap_security, SECURITIES) or "ssl"
    if form.imap_security not in SECURITIES:
        errors["imap_security"] = "Choose SSL/TLS, STARTTLS or no encryption."
    host = form.imap_host.strip().lower()
    if (imap or host) and (problem := host_problem(host)):
        errors["imap_host"] = problem
    port, problem = _port(form.imap_port, security)
    if problem:
        errors["imap_port"] = problem
    user = form.imap_user.strip()
    if imap and not user:
        errors["imap_user"] = "Enter the IMAP user name (often the mailbox's address)."
    elif problem := _text_problem(user, "The user name", EMAIL_MAX):
        errors["imap_user"] = problem
    if form.imap_auth not in AUTHS:
        errors["imap_auth"] = "Choose a password or OAuth 2 (XOAUTH2)."
    secret, env = _check_secret(form, imap, has_secret, errors)
    folder = form.imap_folder.strip() or "INBOX"
    if problem := _text_problem(folder, "The folder", FOLDER_MAX):
        errors["imap_folder"] = problem
    after = _choice(form.imap_after, AFTERS)
    if after is None:
        errors["imap_after"] = "Choose what happens to a fetched mail: marked read, deleted or moved."
    move_to = form.imap_move_to.strip()
    if after == "move" and not move_to:
        errors["imap_move_to"] = "Enter the folder to move fetched mail to, like Archive."
    elif problem := _text_problem(move_to, "The folder", FOLDER_MAX):
        errors["imap_move_to"] = problem
    elif after == "move" and move_to == folder:
        errors["imap_move_to"] = "Moving mail into the folder it is fetched from would fetch it again: choose another."
    return {
        "imap_host": host,
        "imap_port": port,
        "imap_security": security,
        "imap_user": user,
        "imap_auth": _choice(form.imap_auth, AUTHS) or "password",
        "imap_secret": secret,
        "imap_secret_env": env,
        "imap_folder": folder,
        "imap_after": after or "seen",
        "imap_move_to": move_to,
    }


def check_mailbox(form: MailboxForm, *, has_secret: bool = False) -> tuple[MailboxInput, dict[str, str]]:
    """The checked values and the messages by field (empty when all is well). ``has_secret``: a
    secret is stored already (on edit, an empty password field keeps it)."""
    errors: dict[str, str] = {}
    address, name, team = _check_identity(form, errors)
    signature, ack_text = _check_texts(form, errors)
    if form.intake not in INTAKES:
        errors["intake"] = "Choose how mail arrives: handed over by a mail server, or fetched by IMAP."
    imap = _check_imap(form, has_secret, errors)
    data = MailboxInput(
        address=address,
        name=name,
        team=team,
        signature=signature,
        acknowledge=form.acknowledge == "1",
        ack_text=ack_text,
        is_active=form.is_active == "1",
        intake=_choice(form.intake, INTAKES) or "listener",
        **imap,
    )
    return data, errors
