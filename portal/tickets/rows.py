"""Ticket rows read by raw SQL, made uniform across engines."""

from __future__ import annotations

from portal.clock import instant


def aware_row(row: dict) -> dict:
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
    ):
        if key in row:
            row[key] = instant(row[key])
    return row
