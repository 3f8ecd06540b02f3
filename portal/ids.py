"""Ids from requests: numbers that no row can have are refused before they reach the database
(PostgreSQL rejects a 3,000,000,000 for an integer column, SQLite anything above 2**63)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

MAX_ID = 2**31 - 1  # serial primary keys
MAX_NUMBER = 2**62  # ticket numbers (bigint: imports may bring big ones)

# A query parameter holding an id: out of range answers 400 with a message, like any bad parameter.
QueryId = Annotated[int, Parameter(ge=0, le=MAX_ID)]


def parse_id(text: str) -> int | None:
    """An id typed in a form or query string, or None when it cannot be one."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def parse_int(text: str, low: int, high: int) -> int | None:
    """A whole number typed in a form, a query string or a cursor, within ``low``..``high``; None
    otherwise. The length is checked before ``int()``: a 5,000-digit string never reaches it (Python
    refuses over 4,300 digits with a ValueError, and no column holds more than 19)."""
    text = (text or "").strip()
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdecimal()) or len(digits) > 19:
        return None
    value = int(text)
    return value if low <= value <= high else None


def in_range(name: str, value: int) -> bool:
    """Whether a path parameter's number can name a row (``number`` is a ticket number)."""
    return 0 <= value <= (MAX_NUMBER if name == "number" else MAX_ID)
