"""A received mail as an admin inspects it: its headers and its source, as plain text.

Only the header block is parsed (``BytesHeaderParser``, the email package's modern policy), so a
mail that broke the real parser still opens here. Nothing is rendered as HTML: the page shows these
strings escaped, and the whole message is a download, never a page of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default

# The headers that say where a mail came from and what it answers, in this order.
SUMMARY = (
    "From",
    "Reply-To",
    "To",
    "Cc",
    "Delivered-To",
    "Date",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "Precedence",
    "X-Loop",
    "Return-Path",
    "Content-Type",
)
HEADERS_MAX = 300  # headers listed in full
VALUE_MAX = 2000
SOURCE_MAX = 100_000  # characters of the source shown; the download has everything


@dataclass(frozen=True)
class MailView:
    summary: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    source: str
    source_cut: bool


def _value(message: EmailMessage, name: str, raw: str) -> str:
    """A header's decoded value (encoded words read); the raw text when decoding fails."""
    try:
        text = str(message.policy.header_fetch_parse(name, raw))
    except Exception:  # noqa: BLE001 - a malformed header is shown as it came
        text = raw
    return " ".join(text.split())[:VALUE_MAX]


def view(raw: bytes) -> MailView:
    message = BytesHeaderParser(policy=default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    items = message.raw_items()
    headers = [(str(name), _value(message, str(name), str(value))) for name, value in items][:HEADERS_MAX]
    by_name: dict[str, str] = {}
    for name, value in headers:
        by_name.setdefault(name.lower(), value)
    summary = [(name, by_name[name.lower()]) for name in SUMMARY if name.lower() in by_name]
    text = raw.decode("utf-8", errors="replace")
    return MailView(summary, headers, text[:SOURCE_MAX], len(text) > SOURCE_MAX)
