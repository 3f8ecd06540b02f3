"""Header values of a parsed mail, read from the raw source so that no header can make parsing fail.

The ``email`` package's header objects (``msg["From"]``) run its header parser, which in CPython 3.11 still
raises IndexError, AttributeError or TypeError on some malformed values (``From: "`` is enough). So values
are read with ``raw_items()`` (what the generator uses) and decoded here; addresses go through the header
registry's parser when it copes, and through the older, lenient ``getaddresses`` when it does not. The
message itself is parsed with ``POLICY``: ``policy.default`` made tolerant of those same bugs.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from email.message import Message
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from portal.mailin.charsets import decode_header, one_line, repair_surrogates

if TYPE_CHECKING:
    from email.message import EmailMessage

    _EmailPolicy = EmailPolicy[EmailMessage]
else:
    _EmailPolicy = EmailPolicy

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_NEWLINES = re.compile(r"[\r\n]")
_BRACKETED_ID = re.compile(r"<([^<>\s]+)>")
_LOOSE_ID = re.compile(r"<?[^<>@\s]+@[^<>@\s]+>?$")  # an id without its brackets (or with one missing)
MAX_IDS = 100
_MAX_ID_CHARS = 998


class _TolerantPolicy(_EmailPolicy):
    """``policy.default`` whose header objects fall back to the raw text when the parser trips over a
    malformed value (``Content-Type: a/b; x*`` raises IndexError in CPython 3.11, from inside the message
    parser, which asks for the Content-Type of every part). Plain strings are what ``Message`` had before header
    objects existed, so its methods (get_content_type, get_param, get_filename...) work with them."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        return _fetch_parse(self, name, value)


@functools.lru_cache(maxsize=4096)
def _fetch_parse(policy: _TolerantPolicy, name: str, value: str) -> Any:
    """The header object of one value. Header objects are immutable, and parsing one costs ~0.1 ms
    (a part's Content-Type is asked for a dozen times per mail): each distinct value is parsed once."""
    try:
        return EmailPolicy.header_fetch_parse(policy, name, value)
    except Exception:  # the stdlib header parser's own bugs, see above
        return _unfold(value)


POLICY = _TolerantPolicy()


def raw_values(msg: Message, name: str) -> list[str]:
    """Every value of header ``name``, unfolded, as sent (8-bit bytes kept as surrogate escapes)."""
    wanted = name.lower()
    return [_unfold(str(value)) for key, value in msg.raw_items() if key.lower() == wanted]


def first_value(msg: Message, name: str) -> str:
    values = raw_values(msg, name)
    return values[0] if values else ""


def _unfold(value: str) -> str:
    return _NEWLINES.sub("", _FOLD.sub("", value)).strip()


def text_value(msg: Message, name: str) -> str:
    """A header as one line of decoded text ("" when absent)."""
    return decode_header(first_value(msg, name))


def addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) of every valid address in every ``name`` header."""
    found: list[tuple[str, str]] = []
    for value in raw_values(msg, name):
        for display, address in _parse_addresses(value):
            address = _clean_address(address)
            if address:
                found.append((decode_header(repair_surrogates(display)), address))
    return found


def _parse_addresses(value: str) -> list[tuple[str, str]]:
    try:
        header = POLICY.header_factory("to", value)
        found = [(address.display_name, address.addr_spec) for address in header.addresses]
    except Exception:  # the stdlib header parser's own bugs (see above): the lenient parser takes over
        return getaddresses([value])
    if len(found) == 1 and not found[0][0] and "(" in value:  # old style: "daemon@example.com (Mail System)"
        lenient = getaddresses([value])
        if len(lenient) == 1 and lenient[0][1].lower() == found[0][1].lower():
            return lenient
    return found


def _clean_address(address: str) -> str:
    address = one_line(repair_surrogates(address)).strip("<>").lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or " " in domain or len(address) > 320:
        return ""
    return address


def address_list(msg: Message, *names: str) -> tuple[str, ...]:
    """Addresses of the given headers, lower-cased, in order, each once."""
    return tuple(dict.fromkeys(address for name in names for _, address in addresses(msg, name)))


def message_ids(msg: Message, name: str) -> tuple[str, ...]:
    """Message ids (without <>) in the ``name`` headers; long lists keep the first and the latest."""
    ids: list[str] = []
    for value in raw_values(msg, name):
        found = _BRACKETED_ID.findall(value) or [token.strip("<>") for token in value.split() if _LOOSE_ID.match(token)]
        ids.extend(one_line(repair_surrogates(found_id))[:_MAX_ID_CHARS] for found_id in found)
    unique = list(dict.fromkeys(found_id for found_id in ids if found_id))
    if len(unique) > MAX_IDS:
        unique = unique[:1] + unique[-(MAX_IDS - 1) :]
    return tuple(unique)


def message_id(msg: Message) -> str:
    value = first_value(msg, "message-id")
    found = _BRACKETED_ID.findall(value) or value.split()[:1]
    return one_line(repair_surrogates(found[0].strip("<>")))[:_MAX_ID_CHARS] if found else ""


def date(msg: Message) -> datetime | None:
    """The Date header as an aware UTC instant; a date without zone is taken as UTC."""
    value = first_value(msg, "date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(repair_surrogates(value))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
