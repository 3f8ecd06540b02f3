"""Ticket rows read by raw SQL, made uniform across engines."""

from __future__ import annotations

from typing import Any, TypeAlias

from portal.clock import instant

# A row as Piccolo's ``select``/``raw`` return it (column name to value), for tickets and the rows
# around them. The columns vary by query, so a dict, not a dataclass.
Row: TypeAlias = dict[str, Any]


def aware_row(row: Row) -> Row:
    for key in (
        "created_at",
        "updated_at",
        "staff_replied_at",
        "first_response_at",
        "next_due_at",
        "solved_at",
        "first_response_due_at",
        "resolution_due_at",
        "sla_paused_at",
        "closed_at",
        "customer_replied_at",
        "seen_at",
    ):
        if key in row:
            row[key] = instant(row[key])
    return row


def first_id(rows: list[Row]) -> int:
    """The ``id`` of the first of ``rows`` (an insert's answer, a ``SELECT id``): Piccolo and ``fetch``
    type row values as ``Any``, this says what the id is."""
    new_id: int = rows[0]["id"]
    return new_id
